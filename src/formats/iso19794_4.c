/*
 * iso19794_4.c - ISO/IEC 19794-4:2011 finger image data records (read).
 *
 * Contract: huella_fir_record_read accepts a whole record whose lengths are
 * consistent (record length = bytes given, the representation lengths add
 * up to it, image length fits its representation) and refuses anything else
 * with a message naming the representation and the field.  Bytes after the
 * image inside a representation are kept as extended data.
 *
 * Layout (ISO/IEC 19794-4:2011 §8, all integers big-endian):
 *   general header, 16 bytes: "FIR\0", version "020\0", record length (4),
 *     number of representations (2), certification flag (1), number of
 *     distinct fingers/palms (1);
 *   each representation: length (4, whole representation), capture date
 *     and time (9: year 2, month, day, hour, minute, second, millisecond
 *     2), capture device technology (1), vendor (2), type (2), number of
 *     quality blocks (1) and blocks (5 each), when the certification flag
 *     is 1 the number of certification blocks (1) and blocks (3 each),
 *     finger/palm position (1), representation number (1), scale units
 *     (1), capture sampling rate horizontal, vertical (2 each), image
 *     sampling rate horizontal, vertical (2 each), bit depth (1), image
 *     compression (1), impression type (1), width (2), height (2), image
 *     length (4), image data.
 * Checked against MOSIP's records (../shared/data/interchange/iso19794-mosip).
 */
#include "huella/record.h"

#include "formats/iso_header.h"

#include <stdlib.h>
#include <string.h>

#define FIR_HEADER 16

void huella_fir_record_free(huella_fir_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->views);
    free(rec->data);
    free(rec);
}

const char *huella_fir_compression_name(unsigned code)
{
    switch (code) {
    case HUELLA_FIR_RAW:
        return "uncompressed";
    case HUELLA_FIR_RAW_PACKED:
        return "uncompressed, bit-packed";
    case HUELLA_FIR_WSQ:
        return "WSQ";
    case HUELLA_FIR_JPEG:
        return "JPEG";
    case HUELLA_FIR_JPEG2000:
        return "JPEG 2000";
    case HUELLA_FIR_JPEG2000_LOSSLESS:
        return "JPEG 2000 lossless";
    case HUELLA_FIR_PNG:
        return "PNG";
    default:
        return "unknown";
    }
}

#define FAIL(...) huella_error_set(err, HUELLA_E_INPUT, __VA_ARGS__)

static huella_status read_view(huella_reader *r, uint8_t cert_flag, size_t index,
                               huella_fir_view *v, huella_error *err)
{
    huella_reader rr;
    huella_status st = iso_representation_begin(r, "finger record", index, &rr, &v->capture, err);
    if (st != HUELLA_OK)
        return st;
    if (cert_flag) {
        uint8_t nc;
        if (!huella_read_u8(&rr, &nc))
            return FAIL("finger record: representation %zu: certification blocks: the "
                        "representation ends early",
                        index);
        v->n_certification = nc;
        v->certification = rr.data + rr.pos;
        if (!huella_read_skip(&rr, (size_t)nc * 3))
            return FAIL("finger record: representation %zu: %u certification blocks do not fit",
                        index, nc);
    }
    uint32_t image_len = 0;
    bool ok = huella_read_u8(&rr, &v->position) && huella_read_u8(&rr, &v->number) &&
              huella_read_u8(&rr, &v->scale_units) && huella_read_u16be(&rr, &v->capture_ppi_h) &&
              huella_read_u16be(&rr, &v->capture_ppi_v) &&
              huella_read_u16be(&rr, &v->image_ppi_h) && huella_read_u16be(&rr, &v->image_ppi_v) &&
              huella_read_u8(&rr, &v->bit_depth) && huella_read_u8(&rr, &v->compression) &&
              huella_read_u8(&rr, &v->impression) && huella_read_u16be(&rr, &v->width) &&
              huella_read_u16be(&rr, &v->height) && huella_read_u32be(&rr, &image_len);
    if (!ok)
        return FAIL("finger record: representation %zu: image header: the representation ends "
                    "early",
                    index);
    if (v->compression > HUELLA_FIR_PNG)
        return FAIL("finger record: representation %zu: image compression %u is not 0-6", index,
                    v->compression);
    if (v->scale_units != 1 && v->scale_units != 2)
        return FAIL("finger record: representation %zu: scale units %u is not 1 (inch) or 2 (cm)",
                    index, v->scale_units);
    if (v->bit_depth < 1 || v->bit_depth > 16)
        return FAIL("finger record: representation %zu: bit depth %u is not 1-16", index,
                    v->bit_depth);
    if (v->width == 0 || v->height == 0)
        return FAIL("finger record: representation %zu: image size %u x %u", index, v->width,
                    v->height);
    if (image_len > huella_reader_left(&rr))
        return FAIL("finger record: representation %zu: image length %u exceeds the %zu bytes "
                    "left in the representation",
                    index, image_len, huella_reader_left(&rr));
    v->image = rr.data + rr.pos;
    v->image_len = image_len;
    huella_read_skip(&rr, image_len);
    v->extended = rr.data + rr.pos;
    v->extended_len = huella_reader_left(&rr);
    return HUELLA_OK;
}

huella_status huella_fir_record_read(const uint8_t *data, size_t len, huella_fir_record **out,
                                     huella_error *err)
{
    *out = NULL;
    static const iso_header_spec spec = {"finger record", "FIR", "020", "19794-4:2011", FIR_HEADER};
    uint16_t n;
    huella_status hst = iso_header_check(data, len, &spec, &n, err);
    if (hst != HUELLA_OK)
        return hst;
    huella_fir_record *rec = calloc(1, sizeof(*rec));
    if (rec == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "finger record: out of memory");
    rec->data = malloc(len);
    rec->views = calloc(n, sizeof(*rec->views));
    if (rec->data == NULL || rec->views == NULL) {
        huella_fir_record_free(rec);
        return huella_error_set(err, HUELLA_E_NOMEM, "finger record: out of memory");
    }
    memcpy(rec->data, data, len);
    rec->len = len;
    rec->n_views = n;
    rec->certification_flag = data[14];
    rec->n_fingers = data[15];
    if (rec->certification_flag > 1) {
        huella_fir_record_free(rec);
        return FAIL("finger record: certification flag %u is not 0 or 1", data[14]);
    }
    huella_reader r;
    huella_reader_init(&r, rec->data, len);
    huella_read_skip(&r, FIR_HEADER);
    for (size_t i = 0; i < n; i++) {
        huella_status st = read_view(&r, rec->certification_flag, i + 1, &rec->views[i], err);
        if (st != HUELLA_OK) {
            huella_fir_record_free(rec);
            return st;
        }
    }
    if (huella_reader_left(&r) != 0) {
        size_t left = huella_reader_left(&r);
        huella_fir_record_free(rec);
        return FAIL("finger record: %zu bytes after the last representation", left);
    }
    *out = rec;
    return HUELLA_OK;
}

double huella_fir_view_ppi(const huella_fir_view *v)
{
    if (v->scale_units == 1)
        return v->image_ppi_h;
    if (v->scale_units == 2)
        return v->image_ppi_h * 2.54;
    return 0;
}

huella_status huella_fir_view_image(const huella_fir_view *v, huella_image **out, huella_error *err)
{
    *out = NULL;
    huella_status st;
    if (v->compression == HUELLA_FIR_RAW && v->bit_depth == 8)
        st = huella_image_decode_raw(v->image, v->image_len, v->width, v->height, NULL, out, err);
    else if (v->compression == HUELLA_FIR_RAW || v->compression == HUELLA_FIR_RAW_PACKED)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "finger record: uncompressed %u-bit images are not supported",
                                v->bit_depth);
    else
        st = huella_image_decode(v->image, v->image_len, NULL, out, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(
            err, "finger record: %s image: ", huella_fir_compression_name(v->compression));
        return st;
    }
    double ppi = huella_fir_view_ppi(v);
    if (ppi > 0) {
        (*out)->ppi_x = ppi;
        (*out)->ppi_y = v->scale_units == 1 ? v->image_ppi_v : v->image_ppi_v * 2.54;
    }
    return HUELLA_OK;
}
