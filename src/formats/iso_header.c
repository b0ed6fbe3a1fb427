/*
 * iso_header.c - the general header of ISO/IEC 19794-x:2011 image records
 * (see iso_header.h).  Every check names the record kind so that a user
 * holding the wrong file learns what it is not.
 */
#include "formats/iso_header.h"

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
