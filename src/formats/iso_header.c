/*
 * iso_header.c - the general header of ISO/IEC 19794-x:2011 image records
 * (see iso_header.h).  Every check names the record kind so that a user
 * holding the wrong file learns what it is not.
 */
#include "formats/iso_header.h"

#include <stdbool.h>
#include <string.h>

huella_status iso_header_check(const uint8_t *data, size_t len, const iso_header_spec *spec,
                               uint16_t *count, huella_error *err)
{
    *count = 0;
    if (len < spec->header_len || memcmp(data, spec->identifier, 4) != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: not an ISO/IEC %s record (no '%s' identifier)", spec->what,
                                spec->standard, spec->identifier);
    if (memcmp(data + 4, spec->version, 4) != 0)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "%s: version '%.3s' is not %s (%s)",
                                spec->what, (const char *)data + 4, spec->version, spec->standard);
    uint32_t rec_len = huella_load_u32be(data + 8);
    if (rec_len != len)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: record length %u but %zu bytes given",
                                spec->what, rec_len, len);
    uint16_t n = huella_load_u16be(data + 12);
    if (n == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: no representations", spec->what);
    *count = n;
    return HUELLA_OK;
}

huella_status iso_representation_begin(huella_reader *r, const char *what, size_t index,
                                       huella_reader *rr, huella_iso_capture *c, huella_error *err)
{
    uint32_t len;
    if (!huella_read_u32be(r, &len))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: representation %zu: length: the record ends early", what,
                                index);
    if (len < 4 || len - 4 > huella_reader_left(r))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: representation %zu: length %u does not fit the %zu bytes left",
                                what, index, len, huella_reader_left(r) + 4);
    huella_reader_init(rr, r->data + r->pos, len - 4);
    huella_read_skip(r, len - 4);
    uint8_t nq = 0;
    bool ok = huella_read_u16be(rr, &c->year) && huella_read_u8(rr, &c->month) &&
              huella_read_u8(rr, &c->day) && huella_read_u8(rr, &c->hour) &&
              huella_read_u8(rr, &c->minute) && huella_read_u8(rr, &c->second) &&
              huella_read_u16be(rr, &c->millisecond) && huella_read_u8(rr, &c->technology) &&
              huella_read_u16be(rr, &c->vendor) && huella_read_u16be(rr, &c->device_type) &&
              huella_read_u8(rr, &nq);
    if (!ok)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: representation %zu: capture information: the "
                                "representation ends early",
                                what, index);
    c->n_quality = nq;
    c->quality = rr->data + rr->pos;
    if (!huella_read_skip(rr, (size_t)nq * 5))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: representation %zu: %u quality blocks do not fit", what, index,
                                nq);
    return HUELLA_OK;
}
