/*
 * bmp.c - Windows and OS/2 bitmap decoding, our own parser.
 *
 * Contract: huella_image_decode_bmp reads a BITMAPFILEHEADER followed by a
 * BITMAPCOREHEADER (OS/2 1.x, 12 bytes), BITMAPINFOHEADER (40) or one of
 * its extensions (V2 52, V3 56, OS/2 2.x 16/64, V4 108, V5 124), and
 * uncompressed pixels of 1, 4 or 8 bits through a palette, or 16, 24 or 32
 * bits direct, with BI_BITFIELDS / BI_ALPHABITFIELDS masks (16 and 32 bits
 * default to 5-5-5 and 8-8-8 without them).  Rows are padded to 4 bytes
 * and stored bottom-up unless the height is negative.  The resolution is
 * biXPelsPerMeter / biYPelsPerMeter.  Colour goes through huella_luma(),
 * alpha (only from an explicit alpha mask) is composited over white;
 * mask fields wider or narrower than 8 bits are rescaled with rounding.
 *
 * Rejected: RLE4/RLE8, embedded JPEG/PNG and OS/2 Huffman/RLE24 as
 * HUELLA_E_UNSUPPORTED; as HUELLA_E_INPUT, anything inconsistent - an
 * unknown header size, a bit count that does not go with the compression,
 * masks that overlap or are not contiguous, a palette index outside the
 * palette, and every offset or size that points past the end of the data
 * (all checked with overflow-safe arithmetic before reading).
 *
 * Relies on: huella_reader for the headers; the layout is Microsoft's
 * "Bitmap Storage" documentation (BITMAPINFOHEADER, BITMAPV5HEADER).
 */
#include "image/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    BI_RGB = 0,
    BI_RLE8 = 1,
    BI_RLE4 = 2,
    BI_BITFIELDS = 3,
    BI_JPEG = 4,
    BI_PNG = 5,
    BI_ALPHABITFIELDS = 6,
};

typedef struct channel_mask {
    uint32_t mask;
    unsigned shift;
    unsigned bits;
} channel_mask;

typedef struct bmp_header {
    uint32_t offset; /* of the pixel data */
    uint32_t header_size;
    int64_t width, height;
    uint16_t bits;
    uint32_t compression;
    uint32_t colours_used;
    int32_t x_ppm, y_ppm;
    bool core;  /* OS/2 1.x: 3-byte palette entries */
    bool os2v2; /* OS/2 2.x: compressions 3 and 4 mean other things */
    bool have_masks;
    uint32_t masks[4]; /* R, G, B, A */
} bmp_header;

static huella_status bad(huella_error *err, const char *what)
{
    return huella_error_set(err, HUELLA_E_INPUT, "BMP: %s", what);
}

static huella_status read_header(huella_reader *r, bmp_header *h, huella_error *err)
{
    uint8_t b, m;
    uint32_t file_size, reserved;
    if (!huella_read_u8(r, &b) || !huella_read_u8(r, &m) || b != 'B' || m != 'M')
        return bad(err, "not a BMP file (no BM signature)");
    if (!huella_read_u32le(r, &file_size) || !huella_read_u32le(r, &reserved) ||
        !huella_read_u32le(r, &h->offset) || !huella_read_u32le(r, &h->header_size))
        return bad(err, "truncated file header");
    (void)file_size; /* often wrong in the wild; the offsets are what matter */
    uint32_t hs = h->header_size;
    if (hs != 12 && hs != 16 && hs != 40 && hs != 52 && hs != 56 && hs != 64 && hs != 108 &&
        hs != 124)
        return huella_error_set(err, HUELLA_E_INPUT, "BMP: unknown DIB header size %u",
                                (unsigned)hs);
    if (huella_reader_left(r) < hs - 4)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "BMP: the %u-byte DIB header runs past the end of the %zu-byte "
                                "file",
                                (unsigned)hs, r->len);
    size_t start = r->pos; /* just after the size field */
    if (hs == 12) {
        uint16_t w, hh, planes;
        huella_read_u16le(r, &w);
        huella_read_u16le(r, &hh);
        huella_read_u16le(r, &planes);
        huella_read_u16le(r, &h->bits);
        h->width = w;
        h->height = hh;
        h->compression = BI_RGB;
        h->core = true;
        return HUELLA_OK;
    }
    uint32_t w, hh, image_size = 0;
    uint16_t planes;
    huella_read_u32le(r, &w);
    huella_read_u32le(r, &hh);
    huella_read_u16le(r, &planes);
    huella_read_u16le(r, &h->bits);
    h->width = (int32_t)w;
    h->height = (int32_t)hh;
    h->os2v2 = hs == 16 || hs == 64;
    if (hs >= 20)
        huella_read_u32le(r, &h->compression);
    if (hs >= 24)
        huella_read_u32le(r, &image_size);
    if (hs >= 32) {
        uint32_t x, y;
        huella_read_u32le(r, &x);
        huella_read_u32le(r, &y);
        h->x_ppm = (int32_t)x;
        h->y_ppm = (int32_t)y;
    }
    if (hs >= 36)
        huella_read_u32le(r, &h->colours_used);
    if (!h->os2v2 && hs >= 52) {
        r->pos = start + 36; /* after biClrImportant */
        for (int i = 0; i < (hs >= 56 ? 4 : 3); i++)
            huella_read_u32le(r, &h->masks[i]);
        h->have_masks = true;
    }
    r->pos = start + hs - 4;
    if (h->os2v2 && (h->compression == 3 || h->compression == 4))
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "BMP: OS/2 %s compression is not supported",
                                h->compression == 3 ? "Huffman 1D" : "RLE24");
    /* BITMAPINFOHEADER keeps the masks after the header. */
    if (hs == 40 && (h->compression == BI_BITFIELDS || h->compression == BI_ALPHABITFIELDS)) {
        int n = h->compression == BI_ALPHABITFIELDS ? 4 : 3;
        for (int i = 0; i < n; i++)
            if (!huella_read_u32le(r, &h->masks[i]))
                return bad(err, "the colour masks run past the end of the file");
        h->have_masks = true;
    }
    return HUELLA_OK;
}

static huella_status parse_mask(uint32_t mask, const char *name, channel_mask *out,
                                huella_error *err)
{
    out->mask = mask;
    out->shift = 0;
    out->bits = 0;
    if (mask == 0)
        return HUELLA_OK;
    while (((mask >> out->shift) & 1u) == 0)
        out->shift++;
    uint32_t m = mask >> out->shift;
    while (out->bits < 32 && ((m >> out->bits) & 1u) != 0)
        out->bits++;
    if (out->bits < 32 && (m >> out->bits) != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "BMP: the %s mask 0x%08x is not a contiguous run of bits", name,
                                (unsigned)mask);
    return HUELLA_OK;
}

static uint8_t masked(uint32_t v, const channel_mask *m)
{
    uint64_t max = m->bits >= 32 ? UINT32_MAX : ((uint64_t)1 << m->bits) - 1;
    return huella_image_rescale((v & m->mask) >> m->shift, max);
}

huella_status huella_image_decode_bmp(const uint8_t *data, size_t len,
                                      const huella_image_limits *limits, huella_image **out,
                                      huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "BMP: no output pointer");
    *out = NULL;
    huella_reader r;
    huella_reader_init(&r, data, len);
    bmp_header h;
    memset(&h, 0, sizeof(h));
    huella_status st = read_header(&r, &h, err);
    if (st != HUELLA_OK)
        return st;

    switch (h.compression) {
    case BI_RGB:
    case BI_BITFIELDS:
    case BI_ALPHABITFIELDS:
        break;
    case BI_RLE8:
    case BI_RLE4:
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "BMP: %s compression is not supported",
                                h.compression == BI_RLE8 ? "RLE8" : "RLE4");
    case BI_JPEG:
    case BI_PNG:
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "BMP: embedded %s data is not supported",
                                h.compression == BI_JPEG ? "JPEG" : "PNG");
    default:
        return huella_error_set(err, HUELLA_E_INPUT, "BMP: unknown compression %u",
                                (unsigned)h.compression);
    }
    bool palette = h.bits == 1 || h.bits == 4 || h.bits == 8;
    if (!palette && h.bits != 16 && h.bits != 24 && h.bits != 32)
        return huella_error_set(err, HUELLA_E_INPUT, "BMP: invalid bit count %u", (unsigned)h.bits);
    if (h.core && h.bits != 1 && h.bits != 4 && h.bits != 8 && h.bits != 24)
        return huella_error_set(err, HUELLA_E_INPUT, "BMP: invalid bit count %u for an OS/2 bitmap",
                                (unsigned)h.bits);
    if (h.compression != BI_RGB && h.bits != 16 && h.bits != 32)
        return huella_error_set(err, HUELLA_E_INPUT, "BMP: bit-field masks with %u bits per pixel",
                                (unsigned)h.bits);

    bool top_down = h.height < 0;
    uint64_t width = h.width < 0 ? 0 : (uint64_t)h.width;
    uint64_t height = top_down ? (uint64_t)(-h.height) : (uint64_t)h.height;
    if (h.width <= 0 || h.height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "BMP: invalid size %lld x %lld",
                                (long long)h.width, (long long)h.height);
    st = huella_image_check_size(width, height, limits, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "BMP: ");
        return st;
    }

    /* Colour masks for 16 and 32 bits. */
    channel_mask mask[4];
    memset(mask, 0, sizeof(mask));
    bool alpha = false;
    if (!palette && h.bits != 24) {
        uint32_t m[4] = {0, 0, 0, 0};
        if (h.compression == BI_RGB) {
            if (h.bits == 16) {
                m[0] = 0x7c00;
                m[1] = 0x03e0;
                m[2] = 0x001f;
            } else {
                m[0] = 0x00ff0000;
                m[1] = 0x0000ff00;
                m[2] = 0x000000ff; /* the fourth byte is unused in BI_RGB */
            }
        } else {
            if (!h.have_masks)
                return bad(err, "bit-field compression without colour masks");
            memcpy(m, h.masks, sizeof(m));
            if (h.compression == BI_BITFIELDS && h.header_size < 56)
                m[3] = 0;
        }
        static const char *const names[4] = {"red", "green", "blue", "alpha"};
        for (int i = 0; i < 4; i++) {
            if (h.bits == 16)
                m[i] &= 0xffff;
            st = parse_mask(m[i], names[i], &mask[i], err);
            if (st != HUELLA_OK)
                return st;
        }
        if (m[0] == 0 && m[1] == 0 && m[2] == 0)
            return bad(err, "all colour masks are zero");
        if ((m[0] & m[1]) || (m[0] & m[2]) || (m[1] & m[2]) || (m[3] & (m[0] | m[1] | m[2])))
            return bad(err, "the colour masks overlap");
        alpha = m[3] != 0;
    }

    /* Palette: right after the headers (and masks), before the pixels. */
    uint8_t pal[256][3];
    unsigned pal_count = 0;
    bool pal_grey = true;
    if (palette) {
        unsigned max_count = 1u << h.bits;
        pal_count = h.colours_used == 0 ? max_count : (unsigned)h.colours_used;
        if (h.colours_used > max_count)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "BMP: %u palette colours for %u bits per pixel",
                                    (unsigned)h.colours_used, (unsigned)h.bits);
        size_t entry = h.core ? 3 : 4;
        if (huella_reader_left(&r) < pal_count * entry)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "BMP: the %u-colour palette at offset %zu runs past the end "
                                    "of the %zu-byte file",
                                    pal_count, r.pos, len);
        for (unsigned i = 0; i < pal_count; i++) {
            const uint8_t *p = data + r.pos + i * entry;
            pal[i][0] = p[2];
            pal[i][1] = p[1];
            pal[i][2] = p[0];
            if (p[0] != p[1] || p[1] != p[2])
                pal_grey = false;
        }
    }

    size_t row_bytes = (size_t)((width * h.bits + 31) / 32 * 4);
    size_t pixel_bytes;
    if (!huella_size_mul(row_bytes, (size_t)height, &pixel_bytes) || h.offset > len ||
        pixel_bytes > len - h.offset)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "BMP: pixel data at offset %u + %llu bytes runs past the end of "
                                "the %zu-byte file",
                                (unsigned)h.offset,
                                (unsigned long long)((uint64_t)row_bytes * height), len);
    if (h.offset < 14 + h.header_size)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "BMP: pixel data offset %u overlaps the %u-byte headers",
                                (unsigned)h.offset, (unsigned)(14 + h.header_size));

    huella_image *img;
    st = huella_image_alloc(width, height, limits, HUELLA_IMAGE_BMP, &img, err);
    if (st != HUELLA_OK)
        return st;
    img->ppi_x = huella_image_ppi_from_ppm(h.x_ppm);
    img->ppi_y = huella_image_ppi_from_ppm(h.y_ppm);
    if (palette) {
        img->source_channels = pal_grey ? 1 : 3;
        img->source_bits = h.bits;
    } else if (h.bits == 24) {
        img->source_channels = 3;
        img->source_bits = 8;
    } else {
        img->source_channels = alpha ? 4 : 3;
        unsigned bits = 0;
        for (int i = 0; i < 3; i++)
            bits = mask[i].bits > bits ? mask[i].bits : bits;
        img->source_bits = bits;
    }

    for (size_t y = 0; y < height; y++) {
        const uint8_t *src = data + h.offset + (top_down ? y : height - 1 - y) * row_bytes;
        uint8_t *dst = img->pixels + y * width;
        for (size_t x = 0; x < width; x++) {
            unsigned rr, gg, bb, aa = 255;
            if (palette) {
                unsigned index;
                if (h.bits == 8)
                    index = src[x];
                else if (h.bits == 4)
                    index = (src[x / 2] >> (x % 2 ? 0 : 4)) & 0x0f;
                else
                    index = (src[x / 8] >> (7 - x % 8)) & 1;
                if (index >= pal_count) {
                    huella_image_free(img);
                    return huella_error_set(err, HUELLA_E_INPUT,
                                            "BMP: pixel (%zu, %zu) uses colour %u of a "
                                            "%u-colour palette",
                                            x, y, index, pal_count);
                }
                rr = pal[index][0];
                gg = pal[index][1];
                bb = pal[index][2];
            } else if (h.bits == 24) {
                bb = src[3 * x];
                gg = src[3 * x + 1];
                rr = src[3 * x + 2];
            } else {
                uint32_t v =
                    h.bits == 16 ? huella_load_u16le(src + 2 * x) : huella_load_u32le(src + 4 * x);
                rr = masked(v, &mask[0]);
                gg = masked(v, &mask[1]);
                bb = masked(v, &mask[2]);
                if (alpha)
                    aa = masked(v, &mask[3]);
            }
            if (aa != 255) {
                rr = huella_image_over_white(rr, aa);
                gg = huella_image_over_white(gg, aa);
                bb = huella_image_over_white(bb, aa);
            }
            dst[x] = huella_luma(rr, gg, bb);
        }
    }
    *out = img;
    return HUELLA_OK;
}
