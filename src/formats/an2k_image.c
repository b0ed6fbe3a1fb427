/*
 * an2k_image.c - the images inside ANSI/NIST-ITL records: what a record
 * says about its image, and decoding the payload.
 *
 * Contract: huella_an2k_image_info_get describes the image of any record
 * type that holds one (binary Types 3-8, tagged Types 10, 13-17) from the
 * record alone, pointing into the record's payload; huella_an2k_image_decode
 * decodes it through huella_image_decode (every compressed payload:
 * WSQ, JPEG, lossless JPEG, JPEG 2000, PNG) or huella_image_decode_raw
 * (uncompressed 8-bit), and sets the resolution from the record, which
 * takes precedence over what the payload declares.
 *
 * Resolution (ANSI/NIST-ITL 1-2011 §7.7.8, §8.4): tagged records give SLC
 * (0 aspect ratio only, 1 pixels per inch, 2 pixels per centimetre) and
 * THPS/TVPS; binary records give ISR, 0 for the minimum scanning
 * resolution 1.011 NSR and 1 for the native one, 1.012 NTR, both in pixels
 * per millimetre (19.69 is the standard's 500 ppi, so the result is
 * rounded to a whole ppi).  Type-3 and 5 are low-resolution records: their
 * ISR 0 means the nominal transmitting resolution 1.012.
 * Type-4 GCA codes (Table 15): 0 none, 1 WSQ, 2 JPEGB, 3 JPEGL, 4 JP2,
 * 5 JP2L, 6 PNG.
 */
#include "formats/an2k_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

huella_status huella_an2k_binary_header_read(const huella_an2k_record *rec,
                                             huella_an2k_binary_header *h, huella_error *err)
{
    memset(h, 0, sizeof(*h));
    if (rec->tagged || !an2k_type_is_binary(rec->type))
        return huella_error_set(err, HUELLA_E_INPUT, "ANSI/NIST: Type-%u is not a binary record",
                                rec->type);
    size_t need = rec->type == 7 ? 5 : rec->type == 8 ? 12 : 18;
    if (rec->raw_len < need)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "ANSI/NIST: Type-%u record of %zu bytes is shorter than its "
                                "%zu-byte header",
                                rec->type, rec->raw_len, need);
    const uint8_t *p = rec->raw;
    h->len = huella_load_u32be(p);
    h->idc = p[4];
    h->header_bytes = need;
    if (rec->type == 7)
        return HUELLA_OK;
    if (rec->type == 8) {
        h->imp = p[5]; /* SIG */
        h->gca = p[6]; /* SRT */
        h->isr = p[7];
        h->hll = huella_load_u16be(p + 8);
        h->vll = huella_load_u16be(p + 10);
        return HUELLA_OK;
    }
    h->imp = p[5];
    memcpy(h->fgp, p + 6, 6);
    h->isr = p[12];
    h->hll = huella_load_u16be(p + 13);
    h->vll = huella_load_u16be(p + 15);
    h->gca = p[17];
    return HUELLA_OK;
}

/* Pixels per inch from a Type-1 resolution field (pixels per mm). */
static double type1_ppi(const huella_an2k *txn, unsigned number)
{
    char buf[32];
    if (txn->n_records == 0 ||
        !huella_an2k_item_text(&txn->records[0], number, 0, 0, buf, sizeof(buf)))
        return 0;
    char *end;
    double ppmm = strtod(buf, &end);
    if (end == buf || !(ppmm > 0) || ppmm > 1000)
        return 0;
    return round(ppmm * 25.4);
}

static const char *type4_compression(unsigned gca)
{
    static const char *const names[] = {"NONE", "WSQ20", "JPEGB", "JPEGL", "JP2", "JP2L", "PNG"};
    return gca < sizeof(names) / sizeof(names[0]) ? names[gca] : NULL;
}

static huella_status binary_info(const huella_an2k *txn, const huella_an2k_record *rec,
                                 huella_an2k_image_info *info, huella_error *err)
{
    huella_an2k_binary_header h;
    huella_status st = huella_an2k_binary_header_read(rec, &h, err);
    if (st != HUELLA_OK)
        return st;
    info->idc = h.idc;
    info->data = rec->raw + h.header_bytes;
    info->len = rec->raw_len - h.header_bytes;
    if (rec->type == 7) {
        snprintf(info->compression, sizeof(info->compression), "USER");
        return HUELLA_OK;
    }
    info->width = h.hll;
    info->height = h.vll;
    bool low = rec->type == 3 || rec->type == 5;
    info->ppi = type1_ppi(txn, h.isr == 0 && !low ? 11 : 12);
    if (rec->type == 8) {
        info->impression = -1;
        info->bits_per_pixel = 8;
        snprintf(info->compression, sizeof(info->compression), "%s",
                 h.gca == 0   ? "NONE"
                 : h.gca == 1 ? "FAX"
                 : h.gca == 2 ? "VECTOR"
                              : "UNKNOWN");
        return HUELLA_OK;
    }
    info->impression = h.imp;
    for (size_t i = 0; i < 6; i++)
        if (h.fgp[i] != 255)
            info->positions[info->n_positions++] = h.fgp[i];
    if (rec->type == 5 || rec->type == 6) {
        info->bits_per_pixel = 1;
        snprintf(info->compression, sizeof(info->compression), "%s",
                 h.gca == 0 ? "NONE" : "BINARY");
        return HUELLA_OK;
    }
    info->bits_per_pixel = 8;
    const char *name = type4_compression(h.gca);
    snprintf(info->compression, sizeof(info->compression), "%s", name ? name : "UNKNOWN");
    return HUELLA_OK;
}

static huella_status tagged_info(const huella_an2k_record *rec, size_t r,
                                 huella_an2k_image_info *info, huella_error *err)
{
    unsigned t = rec->type;
    /* The image is the binary 999 field (text fields tagged 999 may come
     * before it: see an2k.c). */
    const huella_an2k_field *data = NULL;
    for (size_t i = 0; i < rec->n_fields; i++)
        if (rec->fields[i].number == 999 && rec->fields[i].binary)
            data = &rec->fields[i];
    if (data == NULL)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "record %zu (Type-%u) field %u.999 DATA: missing", r + 1, t, t);
    info->data = data->subfields[0].items[0].data;
    info->len = data->subfields[0].items[0].len;
    unsigned long v;
    if (an2k_item_uint(rec, 2, 0, 0, &v))
        info->idc = (unsigned)v;
    unsigned long w, h;
    if (!an2k_item_uint(rec, 6, 0, 0, &w) || !an2k_item_uint(rec, 7, 0, 0, &h))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "record %zu (Type-%u) field %u.006 HLL / %u.007 VLL: missing or "
                                "not a number",
                                r + 1, t, t, t);
    info->width = (unsigned)w;
    info->height = (unsigned)h;
    if (!huella_an2k_item_text(rec, 11, 0, 0, info->compression, sizeof(info->compression)))
        snprintf(info->compression, sizeof(info->compression), "NONE");
    if (strcmp(info->compression, "WSQ") == 0) /* the 0300 name of WSQ20 */
        snprintf(info->compression, sizeof(info->compression), "WSQ20");
    unsigned long slc = 0, th = 0;
    if (an2k_item_uint(rec, 8, 0, 0, &slc) && an2k_item_uint(rec, 9, 0, 0, &th) && th > 0)
        info->ppi = slc == 1 ? (double)th : slc == 2 ? round((double)th * 2.54) : 0;
    info->impression = -1;
    if (t == 10) {
        char csp[16] = "";
        huella_an2k_item_text(rec, 12, 0, 0, csp, sizeof(csp));
        info->bits_per_pixel = csp[0] == '\0' || strcmp(csp, "GRAY") == 0 ? 8 : 24;
        huella_an2k_item_text(rec, 3, 0, 0, info->image_type, sizeof(info->image_type));
        return HUELLA_OK;
    }
    unsigned long bpx = 8;
    if (an2k_item_uint(rec, 12, 0, 0, &bpx))
        info->bits_per_pixel = (unsigned)bpx;
    else
        info->bits_per_pixel = 8;
    if (t == 16) {
        huella_an2k_item_text(rec, 3, 0, 0, info->image_type, sizeof(info->image_type));
        return HUELLA_OK;
    }
    if (an2k_item_uint(rec, 3, 0, 0, &v)) {
        if (t == 17)
            info->positions[info->n_positions++] = (unsigned)v; /* eye label */
        else
            info->impression = (int)v;
    }
    if (t != 17) {
        const huella_an2k_field *fgp = huella_an2k_find_field(rec, 13);
        for (size_t s = 0; fgp != NULL && s < fgp->n_subfields && info->n_positions < 6; s++) {
            const huella_an2k_item *it = &fgp->subfields[s].items[0];
            if (an2k_parse_uint(it->data, it->len, &v))
                info->positions[info->n_positions++] = (unsigned)v;
        }
    }
    return HUELLA_OK;
}

huella_status huella_an2k_image_info_get(const huella_an2k *txn, size_t r,
                                         huella_an2k_image_info *info, huella_error *err)
{
    memset(info, 0, sizeof(*info));
    if (r >= txn->n_records)
        return huella_error_set(err, HUELLA_E_NOTFOUND, "ANSI/NIST: no record %zu", r + 1);
    const huella_an2k_record *rec = &txn->records[r];
    info->record = r;
    info->type = rec->type;
    info->impression = -1;
    huella_status st;
    if (!rec->tagged && an2k_type_is_binary(rec->type))
        st = binary_info(txn, rec, info, err);
    else if (rec->tagged && (rec->type == 10 || (rec->type >= 13 && rec->type <= 17)))
        st = tagged_info(rec, r, info, err);
    else
        return huella_error_set(err, HUELLA_E_NOTFOUND, "record %zu (Type-%u) holds no image",
                                r + 1, rec->type);
    if (st != HUELLA_OK && !rec->tagged)
        huella_error_prefix(err, "record %zu: ", r + 1);
    return st;
}

/* 24-bit RGB, row-major, to 8-bit grey. */
static huella_status decode_rgb(const huella_an2k_image_info *info, huella_image **out,
                                huella_error *err)
{
    size_t px, bytes;
    if (!huella_size_mul(info->width, info->height, &px) || !huella_size_mul(px, 3, &bytes) ||
        bytes != info->len)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "record %zu (Type-%u): %zu bytes of uncompressed RGB data do not "
                                "fit %u x %u pixels",
                                info->record + 1, info->type, info->len, info->width, info->height);
    huella_status st = huella_image_new(info->width, info->height, out, err);
    if (st != HUELLA_OK)
        return st;
    for (size_t i = 0; i < px; i++)
        (*out)->pixels[i] =
            huella_luma(info->data[3 * i], info->data[3 * i + 1], info->data[3 * i + 2]);
    (*out)->source_channels = 3;
    (*out)->source_bits = 8;
    (*out)->format = HUELLA_IMAGE_RAW;
    return HUELLA_OK;
}

/* 1 bit per pixel, rows padded to a byte, 1 black (ANSI/NIST-ITL binary
 * images: Type-5, 6 and scanned Type-8). */
static huella_status decode_bits(const huella_an2k_image_info *info, huella_image **out,
                                 huella_error *err)
{
    size_t row = (info->width + 7u) / 8u, bytes;
    if (!huella_size_mul(row, info->height, &bytes) || bytes != info->len)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "record %zu (Type-%u): %zu bytes of 1-bit data do not fit %u x %u "
                                "pixels",
                                info->record + 1, info->type, info->len, info->width, info->height);
    huella_status st = huella_image_new(info->width, info->height, out, err);
    if (st != HUELLA_OK)
        return st;
    for (size_t y = 0; y < info->height; y++)
        for (size_t x = 0; x < info->width; x++) {
            unsigned bit = info->data[y * row + x / 8] >> (7 - x % 8) & 1u;
            (*out)->pixels[y * info->width + x] = bit ? 0 : 255;
        }
    (*out)->source_channels = 1;
    (*out)->source_bits = 1;
    (*out)->format = HUELLA_IMAGE_RAW;
    return HUELLA_OK;
}

huella_status huella_an2k_image_decode(const huella_an2k_image_info *info, huella_image **out,
                                       huella_error *err)
{
    *out = NULL;
    huella_status st;
    const char *c = info->compression;
    if (strcmp(c, "NONE") == 0) {
        unsigned bpp = info->bits_per_pixel;
        size_t px = (size_t)info->width * info->height;
        if (info->type == 8) /* the depth of a Type-8 scan shows only in its size */
            bpp = info->len == px ? 8 : info->len / 3 == px && info->len % 3 == 0 ? 24 : 1;
        if (bpp == 1)
            st = decode_bits(info, out, err);
        else if (bpp == 8)
            st = huella_image_decode_raw(info->data, info->len, info->width, info->height, NULL,
                                         out, err);
        else if (bpp == 24)
            st = decode_rgb(info, out, err);
        else
            return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                    "record %zu (Type-%u): uncompressed %u-bit images are not "
                                    "supported",
                                    info->record + 1, info->type, info->bits_per_pixel);
    } else if (strcmp(c, "USER") == 0 || strcmp(c, "VECTOR") == 0 || strcmp(c, "FAX") == 0 ||
               strcmp(c, "BINARY") == 0 || strcmp(c, "UNKNOWN") == 0) {
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "record %zu (Type-%u): %s image data cannot be decoded",
                                info->record + 1, info->type, c);
    } else {
        st = huella_image_decode(info->data, info->len, NULL, out, err);
    }
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "record %zu (Type-%u) image data (%s): ", info->record + 1,
                            info->type, c);
        return st;
    }
    if (info->ppi > 0) {
        (*out)->ppi_x = info->ppi;
        (*out)->ppi_y = info->ppi;
    }
    return HUELLA_OK;
}
