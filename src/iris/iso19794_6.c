/*
 * iso19794_6.c - ISO/IEC 19794-6:2011 iris image data records.
 *
 * Contract: huella_iris_record_read parses a whole record (every byte
 * accounted for, every length consistent, every coded field within the
 * values the standard defines) into huella_iris_record, or refuses it with
 * a message naming the representation and the field; huella_iris_record_write
 * writes the fields back in the same order, so that reading then writing
 * gives the same bytes.  huella_iris_representation_image decodes the
 * embedded image (JPEG 2000 and PNG through huella_image_decode; raw 8-bit
 * from width and height).
 *
 * Layout (ISO/IEC 19794-6:2011 §8, Tables 2-4; all integers big-endian):
 *   general header, 16 bytes: format identifier "IIR\0", version "020\0",
 *     record length (4), number of representations (2), certification
 *     flag (1, 0: the 2011 edition defines no certification blocks),
 *     number of eyes represented (1: 0, 1 or 2);
 *   each representation: representation length (4, this header and the
 *     image), capture date and time (9: year 2, month, day, hour, minute,
 *     second, millisecond 2), capture device technology (1), vendor (2),
 *     type (2), number of quality blocks (1) and each block (5: score,
 *     algorithm vendor 2, algorithm 2), representation number (2), eye
 *     label (1), image type (1), image format (1), image properties (1:
 *     bits 1-2 horizontal orientation, 3-4 vertical orientation, 5-6
 *     reserved, 7-8 compression history), width (2), height (2), bit depth
 *     (1), range (2), roll angle (2), roll angle uncertainty (2), iris
 *     centre smallest X, largest X, smallest Y, largest Y (2 each), iris
 *     diameter smallest, largest (2 each), image length (4), image data.
 * Checked against the records of MOSIP's mock capture devices
 * (../shared/data/interchange/iso19794-mosip).
 */
#include "huella/iris.h"

#include <stdlib.h>
#include <string.h>

#define GENERAL_HEADER_BYTES 16
/* Representation header without quality blocks: 4 + 9 + 5 + 1 + 2 + 27 + 4. */
#define REP_FIXED_BYTES     52
#define QUALITY_BLOCK_BYTES 5

void huella_iris_record_free(huella_iris_record *rec)
{
    if (!rec)
        return;
    for (size_t i = 0; i < rec->n_representations; i++)
        free(rec->representations[i].image);
    free(rec->representations);
    free(rec);
}

static bool known_image_type(unsigned t)
{
    return t == HUELLA_IRIS_IMAGE_UNCROPPED || t == HUELLA_IRIS_IMAGE_VGA ||
           t == HUELLA_IRIS_IMAGE_CROPPED || t == HUELLA_IRIS_IMAGE_CROPPED_AND_MASKED;
}

static bool known_image_format(unsigned f)
{
    return f == HUELLA_IRIS_FORMAT_MONO_RAW || f == HUELLA_IRIS_FORMAT_MONO_JPEG2000 ||
           f == HUELLA_IRIS_FORMAT_MONO_PNG;
}

/* The coded fields of one representation, checked for both reading and
 * writing so that the writer never produces a record the reader refuses. */
static huella_status check_representation(const huella_iris_representation *rep, size_t index,
                                          huella_error *err)
{
#define BAD(...) huella_error_set(err, HUELLA_E_INPUT, __VA_ARGS__)
    if ((rep->month < 1 || rep->month > 12) && rep->month != 0xff)
        return BAD("iris record: representation %zu: capture month %u is not 1-12", index,
                   rep->month);
    if ((rep->day < 1 || rep->day > 31) && rep->day != 0xff)
        return BAD("iris record: representation %zu: capture day %u is not 1-31", index, rep->day);
    if (rep->hour > 23 && rep->hour != 0xff)
        return BAD("iris record: representation %zu: capture hour %u is not 0-23", index,
                   rep->hour);
    if (rep->minute > 59 && rep->minute != 0xff)
        return BAD("iris record: representation %zu: capture minute %u is not 0-59", index,
                   rep->minute);
    if (rep->second > 59 && rep->second != 0xff)
        return BAD("iris record: representation %zu: capture second %u is not 0-59", index,
                   rep->second);
    if (rep->millisecond > 999 && rep->millisecond != 0xffff)
        return BAD("iris record: representation %zu: capture millisecond %u is not 0-999", index,
                   rep->millisecond);
    if (rep->device_technology > 1)
        return BAD("iris record: representation %zu: capture device technology %u is not 0 "
                   "(unknown) or 1 (CMOS/CCD)",
                   index, rep->device_technology);
    if (rep->n_quality > HUELLA_IRIS_MAX_QUALITY_BLOCKS)
        return BAD("iris record: representation %zu: %zu quality blocks (at most 255)", index,
                   rep->n_quality);
    for (size_t q = 0; q < rep->n_quality; q++)
        if (rep->quality[q].score > 100 && rep->quality[q].score != 255)
            return BAD("iris record: representation %zu: quality block %zu: score %u is not "
                       "0-100 or 255",
                       index, q, rep->quality[q].score);
    if (rep->eye > HUELLA_IRIS_EYE_LEFT)
        return BAD("iris record: representation %zu: eye label %u is not 0 (undefined), 1 "
                   "(right) or 2 (left)",
                   index, rep->eye);
    if (!known_image_type(rep->image_type))
        return BAD("iris record: representation %zu: image type %u is not 1 (uncropped), 2 "
                   "(VGA), 3 (cropped) or 7 (cropped and masked)",
                   index, rep->image_type);
    if (!known_image_format(rep->image_format))
        return BAD("iris record: representation %zu: image format %u is not 2 (raw), 10 (JPEG "
                   "2000) or 14 (PNG)",
                   index, rep->image_format);
    if (rep->horizontal_orientation > 2)
        return BAD("iris record: representation %zu: horizontal orientation %u is not 0-2", index,
                   rep->horizontal_orientation);
    if (rep->vertical_orientation > 2)
        return BAD("iris record: representation %zu: vertical orientation %u is not 0-2", index,
                   rep->vertical_orientation);
    if (rep->compression_history > 2)
        return BAD("iris record: representation %zu: compression history %u is not 0-2", index,
                   rep->compression_history);
    if (rep->width == 0 || rep->height == 0)
        return BAD("iris record: representation %zu: image size %ux%u is empty", index, rep->width,
                   rep->height);
    if (rep->bit_depth < 1 || rep->bit_depth > 16)
        return BAD("iris record: representation %zu: bit depth %u is not 1-16", index,
                   rep->bit_depth);
    if (rep->centre_x_min > rep->centre_x_max || rep->centre_y_min > rep->centre_y_max)
        return BAD("iris record: representation %zu: iris centre smallest exceeds largest", index);
    if (rep->diameter_min > rep->diameter_max)
        return BAD("iris record: representation %zu: iris diameter smallest %u exceeds largest "
                   "%u",
                   index, rep->diameter_min, rep->diameter_max);
    if (rep->image_len == 0 || !rep->image)
        return BAD("iris record: representation %zu: image length is 0", index);
    return HUELLA_OK;
#undef BAD
}

static huella_status truncated(huella_error *err, size_t index, const char *field)
{
    return huella_error_set(err, HUELLA_E_INPUT,
                            "iris record: representation %zu: truncated in the %s", index, field);
}

static huella_status read_representation(huella_reader *r, size_t index,
                                         huella_iris_representation *rep, huella_error *err)
{
    size_t start = r->pos;
    uint32_t rep_len;
    if (!huella_read_u32be(r, &rep_len))
        return truncated(err, index, "representation length");
    if (rep_len < REP_FIXED_BYTES || rep_len - 4 > huella_reader_left(r))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: representation %zu: representation length %u "
                                "does not fit the record (%zu bytes left)",
                                index, rep_len, huella_reader_left(r) + 4);
    uint8_t nq = 0;
    if (!huella_read_u16be(r, &rep->year) || !huella_read_u8(r, &rep->month) ||
        !huella_read_u8(r, &rep->day) || !huella_read_u8(r, &rep->hour) ||
        !huella_read_u8(r, &rep->minute) || !huella_read_u8(r, &rep->second) ||
        !huella_read_u16be(r, &rep->millisecond))
        return truncated(err, index, "capture date and time");
    if (!huella_read_u8(r, &rep->device_technology) || !huella_read_u16be(r, &rep->device_vendor) ||
        !huella_read_u16be(r, &rep->device_type))
        return truncated(err, index, "capture device identifiers");
    if (!huella_read_u8(r, &nq))
        return truncated(err, index, "number of quality blocks");
    if ((size_t)rep_len < REP_FIXED_BYTES + (size_t)nq * QUALITY_BLOCK_BYTES)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: representation %zu: representation length %u is "
                                "too short for %u quality blocks",
                                index, rep_len, nq);
    rep->n_quality = nq;
    for (size_t q = 0; q < nq; q++)
        if (!huella_read_u8(r, &rep->quality[q].score) ||
            !huella_read_u16be(r, &rep->quality[q].vendor) ||
            !huella_read_u16be(r, &rep->quality[q].algorithm))
            return truncated(err, index, "quality blocks");
    uint8_t props = 0;
    if (!huella_read_u16be(r, &rep->number))
        return truncated(err, index, "representation number");
    if (!huella_read_u8(r, &rep->eye) || !huella_read_u8(r, &rep->image_type) ||
        !huella_read_u8(r, &rep->image_format) || !huella_read_u8(r, &props))
        return truncated(err, index, "eye label, image type, format and properties");
    if (props & 0x30)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: representation %zu: image properties 0x%02x set "
                                "the reserved bits 5-6",
                                index, props);
    rep->horizontal_orientation = props & 0x03;
    rep->vertical_orientation = (props >> 2) & 0x03;
    rep->compression_history = (props >> 6) & 0x03;
    if (!huella_read_u16be(r, &rep->width) || !huella_read_u16be(r, &rep->height) ||
        !huella_read_u8(r, &rep->bit_depth) || !huella_read_u16be(r, &rep->range) ||
        !huella_read_u16be(r, &rep->roll_angle) || !huella_read_u16be(r, &rep->roll_uncertainty))
        return truncated(err, index, "image size, depth, range and roll angle");
    if (!huella_read_u16be(r, &rep->centre_x_min) || !huella_read_u16be(r, &rep->centre_x_max) ||
        !huella_read_u16be(r, &rep->centre_y_min) || !huella_read_u16be(r, &rep->centre_y_max) ||
        !huella_read_u16be(r, &rep->diameter_min) || !huella_read_u16be(r, &rep->diameter_max))
        return truncated(err, index, "iris centre and diameter");
    uint32_t image_len;
    if (!huella_read_u32be(r, &image_len))
        return truncated(err, index, "image length");
    size_t header = r->pos - start;
    if ((size_t)image_len != (size_t)rep_len - header)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: representation %zu: image length %u does not "
                                "match representation length %u (header %zu bytes)",
                                index, image_len, rep_len, header);
    if (image_len == 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: representation %zu: image length is 0", index);
    rep->image = malloc(image_len);
    if (!rep->image)
        return huella_error_set(err, HUELLA_E_NOMEM,
                                "iris record: out of memory for an image "
                                "of %u bytes",
                                image_len);
    rep->image_len = image_len;
    if (!huella_read_bytes(r, rep->image, image_len))
        return truncated(err, index, "image data");
    return check_representation(rep, index, err);
}

huella_status huella_iris_record_read(const uint8_t *data, size_t len, huella_iris_record **out,
                                      huella_error *err)
{
    if (!out)
        return huella_error_set(err, HUELLA_E_INPUT, "iris record: no output pointer");
    *out = NULL;
    if (!data && len)
        return huella_error_set(err, HUELLA_E_INPUT, "iris record: no data");
    huella_reader r;
    huella_reader_init(&r, data, len);
    uint8_t magic[4], version[4], cert, eyes;
    uint32_t rec_len;
    uint16_t nrep;
    if (!huella_read_bytes(&r, magic, 4))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: %zu bytes, too short for a format identifier", len);
    if (memcmp(magic, "IIR\0", 4) != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: format identifier is not \"IIR\" (ISO/IEC 19794-6)");
    if (!huella_read_bytes(&r, version, 4))
        return huella_error_set(err, HUELLA_E_INPUT, "iris record: truncated in the version");
    if (memcmp(version, "020\0", 4) != 0)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "iris record: version \"%.3s\" is not \"020\" (the 2011 edition)",
                                (const char *)version);
    if (!huella_read_u32be(&r, &rec_len) || !huella_read_u16be(&r, &nrep) ||
        !huella_read_u8(&r, &cert) || !huella_read_u8(&r, &eyes))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: truncated in the general header (%zu bytes)", len);
    if (rec_len != len)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: record length %u does not match the %zu bytes given",
                                rec_len, len);
    if (nrep == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "iris record: number of representations is 0");
    if (cert != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "iris record: certification flag %u is not 0",
                                cert);
    if (eyes > 2)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: number of eyes represented %u is not 0-2", eyes);
    /* Each representation needs at least REP_FIXED_BYTES: bound nrep before
     * allocating so that a forged count cannot ask for much memory. */
    if ((size_t)nrep > huella_reader_left(&r) / REP_FIXED_BYTES)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: %u representations cannot fit in %zu bytes", nrep,
                                huella_reader_left(&r));
    huella_iris_record *rec = calloc(1, sizeof *rec);
    if (!rec || !(rec->representations = calloc(nrep, sizeof *rec->representations))) {
        free(rec);
        return huella_error_set(err, HUELLA_E_NOMEM, "iris record: out of memory");
    }
    rec->certification = cert;
    rec->eyes = eyes;
    rec->n_representations = nrep;
    for (size_t i = 0; i < nrep; i++) {
        huella_status st = read_representation(&r, i, &rec->representations[i], err);
        if (st != HUELLA_OK) {
            huella_iris_record_free(rec);
            return st;
        }
    }
    if (huella_reader_left(&r) != 0) {
        size_t left = huella_reader_left(&r);
        huella_iris_record_free(rec);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record: %zu bytes after the last representation", left);
    }
    *out = rec;
    return HUELLA_OK;
}

static size_t representation_bytes(const huella_iris_representation *rep)
{
    return REP_FIXED_BYTES + rep->n_quality * QUALITY_BLOCK_BYTES + rep->image_len;
}

huella_status huella_iris_record_write(const huella_iris_record *rec, uint8_t **out, size_t *len,
                                       huella_error *err)
{
    if (!out || !len || !rec)
        return huella_error_set(err, HUELLA_E_INPUT, "iris record write: missing argument");
    *out = NULL;
    *len = 0;
    if (rec->n_representations == 0 || rec->n_representations > 0xffff)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record write: %zu representations (1-65535)",
                                rec->n_representations);
    if (rec->certification != 0 || rec->eyes > 2)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record write: certification flag %u "
                                "or number of eyes %u out of range",
                                rec->certification, rec->eyes);
    size_t total = GENERAL_HEADER_BYTES;
    for (size_t i = 0; i < rec->n_representations; i++) {
        const huella_iris_representation *rep = &rec->representations[i];
        huella_status st = check_representation(rep, i, err);
        if (st != HUELLA_OK)
            return st;
        if (rep->image_len > 0xffffffffu - REP_FIXED_BYTES - 255 * QUALITY_BLOCK_BYTES ||
            !huella_size_add(total, representation_bytes(rep), &total) || total > 0xffffffffu)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "iris record write: the record exceeds 4 GiB");
    }
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append(&b, "IIR\0", 4);
    huella_buf_append(&b, "020\0", 4);
    huella_buf_append_u32be(&b, (uint32_t)total);
    huella_buf_append_u16be(&b, (uint16_t)rec->n_representations);
    huella_buf_append_u8(&b, rec->certification);
    huella_buf_append_u8(&b, rec->eyes);
    for (size_t i = 0; i < rec->n_representations; i++) {
        const huella_iris_representation *rep = &rec->representations[i];
        huella_buf_append_u32be(&b, (uint32_t)representation_bytes(rep));
        huella_buf_append_u16be(&b, rep->year);
        huella_buf_append_u8(&b, rep->month);
        huella_buf_append_u8(&b, rep->day);
        huella_buf_append_u8(&b, rep->hour);
        huella_buf_append_u8(&b, rep->minute);
        huella_buf_append_u8(&b, rep->second);
        huella_buf_append_u16be(&b, rep->millisecond);
        huella_buf_append_u8(&b, rep->device_technology);
        huella_buf_append_u16be(&b, rep->device_vendor);
        huella_buf_append_u16be(&b, rep->device_type);
        huella_buf_append_u8(&b, (uint8_t)rep->n_quality);
        for (size_t q = 0; q < rep->n_quality; q++) {
            huella_buf_append_u8(&b, rep->quality[q].score);
            huella_buf_append_u16be(&b, rep->quality[q].vendor);
            huella_buf_append_u16be(&b, rep->quality[q].algorithm);
        }
        huella_buf_append_u16be(&b, rep->number);
        huella_buf_append_u8(&b, rep->eye);
        huella_buf_append_u8(&b, rep->image_type);
        huella_buf_append_u8(&b, rep->image_format);
        huella_buf_append_u8(&b, (uint8_t)(rep->horizontal_orientation |
                                           rep->vertical_orientation << 2 |
                                           rep->compression_history << 6));
        huella_buf_append_u16be(&b, rep->width);
        huella_buf_append_u16be(&b, rep->height);
        huella_buf_append_u8(&b, rep->bit_depth);
        huella_buf_append_u16be(&b, rep->range);
        huella_buf_append_u16be(&b, rep->roll_angle);
        huella_buf_append_u16be(&b, rep->roll_uncertainty);
        huella_buf_append_u16be(&b, rep->centre_x_min);
        huella_buf_append_u16be(&b, rep->centre_x_max);
        huella_buf_append_u16be(&b, rep->centre_y_min);
        huella_buf_append_u16be(&b, rep->centre_y_max);
        huella_buf_append_u16be(&b, rep->diameter_min);
        huella_buf_append_u16be(&b, rep->diameter_max);
        huella_buf_append_u32be(&b, (uint32_t)rep->image_len);
        huella_buf_append(&b, rep->image, rep->image_len);
    }
    if (!b.ok) {
        huella_buf_free(&b);
        return huella_error_set(err, HUELLA_E_NOMEM, "iris record write: out of memory");
    }
    *out = b.data;
    *len = b.len;
    return HUELLA_OK;
}

huella_status huella_iris_representation_image(const huella_iris_representation *rep,
                                               huella_image **out, huella_error *err)
{
    if (!rep || !out)
        return huella_error_set(err, HUELLA_E_INPUT, "iris record image: missing argument");
    *out = NULL;
    if (rep->image_format != HUELLA_IRIS_FORMAT_MONO_RAW) {
        huella_status st = huella_image_decode(rep->image, rep->image_len, NULL, out, err);
        if (st != HUELLA_OK)
            huella_error_prefix(err, "iris record image: ");
        return st;
    }
    if (rep->bit_depth != 8)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "iris record image: raw image of bit depth %u (only 8 is "
                                "supported)",
                                rep->bit_depth);
    if ((size_t)rep->width * rep->height != rep->image_len)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris record image: raw image of %zu bytes is not %ux%u",
                                rep->image_len, rep->width, rep->height);
    huella_status st = huella_image_new(rep->width, rep->height, out, err);
    if (st != HUELLA_OK)
        return st;
    memcpy((*out)->pixels, rep->image, rep->image_len);
    return HUELLA_OK;
}
