/*
 * iso19794_5.c - ISO/IEC 19794-5:2011 face image data records (read, 2D).
 *
 * Contract: huella_fac_record_read accepts a whole record whose lengths are
 * consistent and every byte accounted for, and refuses anything else with a
 * message naming the representation and the field; 3D representations
 * (face image type 0x80 and above) are refused as unsupported.
 *
 * Layout (ISO/IEC 19794-5:2011 §5.4-5.8, all integers big-endian):
 *   general header, 17 bytes: "FAC\0", version "030\0", record length (4),
 *     number of representations (2), certification flag (1), temporal
 *     semantics (2);
 *   each representation: length (4, whole representation), capture date
 *     and time (9), capture device technology (1), vendor (2), type (2),
 *     number of quality blocks (1) and blocks (5 each);
 *     facial information, 17 bytes: number of landmark points (2), gender
 *     (1), eye colour (1), hair colour (1), subject height (1), property
 *     mask (3), expression (2), pose angles yaw/pitch/roll (3), their
 *     uncertainties (3); landmark points (8 each: type, code, x, y, z);
 *     image information, 11 bytes: face image type (1), image data type
 *     (1), width (2), height (2), spatial sampling rate level (1),
 *     post-acquisition processing (2), cross reference (1), colour space
 *     (1); image length (4) and image data.
 * Checked against MOSIP's records (../shared/data/interchange/iso19794-mosip).
 */
#include "huella/record.h"

#include "formats/iso_header.h"

#include <stdlib.h>
#include <string.h>

#define FAC_HEADER 17

void huella_fac_record_free(huella_fac_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->images);
    free(rec->data);
    free(rec);
}

const char *huella_fac_data_type_name(unsigned code)
{
    switch (code) {
    case HUELLA_FAC_JPEG:
        return "JPEG";
    case HUELLA_FAC_JPEG2000:
        return "JPEG 2000";
    case HUELLA_FAC_JPEG2000_LOSSLESS:
        return "JPEG 2000 lossless";
    case HUELLA_FAC_PNG:
        return "PNG";
    default:
        return "unknown";
    }
}

#define FAIL(...) huella_error_set(err, HUELLA_E_INPUT, __VA_ARGS__)

static huella_status read_image(huella_reader *r, size_t index, huella_fac_image *f,
                                huella_error *err)
{
    huella_reader rr;
    huella_status st = iso_representation_begin(r, "face record", index, &rr, &f->capture, err);
    if (st != HUELLA_OK)
        return st;
    uint8_t mask[3];
    bool ok = huella_read_u16be(&rr, &f->n_landmarks) && huella_read_u8(&rr, &f->gender) &&
              huella_read_u8(&rr, &f->eye_colour) && huella_read_u8(&rr, &f->hair_colour) &&
              huella_read_u8(&rr, &f->subject_height) && huella_read_bytes(&rr, mask, 3) &&
              huella_read_u16be(&rr, &f->expression) && huella_read_bytes(&rr, f->pose, 3) &&
              huella_read_bytes(&rr, f->pose_uncertainty, 3);
    if (!ok)
        return FAIL("face record: representation %zu: facial information: the representation "
                    "ends early",
                    index);
    f->property_mask = (uint32_t)mask[0] << 16 | (uint32_t)mask[1] << 8 | mask[2];
    f->landmarks = rr.data + rr.pos;
    if (!huella_read_skip(&rr, (size_t)f->n_landmarks * 8))
        return FAIL("face record: representation %zu: %u landmark points do not fit", index,
                    f->n_landmarks);
    uint32_t image_len;
    ok = huella_read_u8(&rr, &f->face_image_type) && huella_read_u8(&rr, &f->image_data_type) &&
         huella_read_u16be(&rr, &f->width) && huella_read_u16be(&rr, &f->height) &&
         huella_read_u8(&rr, &f->spatial_sampling_rate) &&
         huella_read_u16be(&rr, &f->post_acquisition) && huella_read_u8(&rr, &f->cross_reference) &&
         huella_read_u8(&rr, &f->colour_space);
    if (!ok)
        return FAIL("face record: representation %zu: image information: the representation "
                    "ends early",
                    index);
    if (f->face_image_type >= 0x80)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "face record: representation %zu: 3D face image type 0x%02x is "
                                "not supported",
                                index, f->face_image_type);
    if (f->image_data_type > HUELLA_FAC_PNG)
        return FAIL("face record: representation %zu: image data type %u is not 0-3", index,
                    f->image_data_type);
    if (!huella_read_u32be(&rr, &image_len))
        return FAIL("face record: representation %zu: image length: the representation ends "
                    "early",
                    index);
    if (image_len != huella_reader_left(&rr))
        return FAIL("face record: representation %zu: image length %u but %zu bytes remain in "
                    "the representation",
                    index, image_len, huella_reader_left(&rr));
    f->image = rr.data + rr.pos;
    f->image_len = image_len;
    return HUELLA_OK;
}

huella_status huella_fac_record_read(const uint8_t *data, size_t len, huella_fac_record **out,
                                     huella_error *err)
{
    *out = NULL;
    static const iso_header_spec spec = {"face record", "FAC", "030", "19794-5:2011", FAC_HEADER};
    uint16_t n;
    huella_status hst = iso_header_check(data, len, &spec, &n, err);
    if (hst != HUELLA_OK)
        return hst;
    if (data[14] != 0)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "face record: certification flag %u: certified records are not "
                                "supported",
                                data[14]);
    huella_fac_record *rec = calloc(1, sizeof(*rec));
    if (rec == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "face record: out of memory");
    rec->data = malloc(len);
    rec->images = calloc(n, sizeof(*rec->images));
    if (rec->data == NULL || rec->images == NULL) {
        huella_fac_record_free(rec);
        return huella_error_set(err, HUELLA_E_NOMEM, "face record: out of memory");
    }
    memcpy(rec->data, data, len);
    rec->len = len;
    rec->n_images = n;
    rec->certification_flag = data[14];
    rec->temporal_semantics = huella_load_u16be(data + 15);
    huella_reader r;
    huella_reader_init(&r, rec->data, len);
    huella_read_skip(&r, FAC_HEADER);
    for (size_t i = 0; i < n; i++) {
        huella_status st = read_image(&r, i + 1, &rec->images[i], err);
        if (st != HUELLA_OK) {
            huella_fac_record_free(rec);
            return st;
        }
    }
    if (huella_reader_left(&r) != 0) {
        size_t left = huella_reader_left(&r);
        huella_fac_record_free(rec);
        return FAIL("face record: %zu bytes after the last representation", left);
    }
    *out = rec;
    return HUELLA_OK;
}

huella_status huella_fac_image_decode(const huella_fac_image *f, huella_image **out,
                                      huella_error *err)
{
    huella_status st = huella_image_decode(f->image, f->image_len, NULL, out, err);
    if (st != HUELLA_OK)
        huella_error_prefix(
            err, "face record: %s image: ", huella_fac_data_type_name(f->image_data_type));
    return st;
}
