/*
 * pnm.c - Netpbm PBM, PGM and PPM decoding (P1 to P6), our own parser.
 *
 * Contract: huella_image_decode_pnm reads the first image of a Netpbm file
 * (netpbm.sourceforge.net/doc/pbm.html, pgm.html, ppm.html): the magic
 * number, then width, height and - except for bitmaps - maxval as decimal
 * numbers separated by whitespace and '#' comments to the end of the line.
 *   P1/P4: bitmap, ASCII or packed bits (rows padded to a byte), 1 = black;
 *   P2/P5: grey, ASCII or binary;  P3/P6: RGB, ASCII or binary.
 * maxval may be 1 to 65535; binary samples are one byte when maxval < 256
 * and two bytes big-endian otherwise.  Samples are rescaled to 8 bits with
 * rounding ((v * 255 + maxval / 2) / maxval, which for 65535 is the usual
 * (v * 255 + 32767) / 65535) and colour goes through huella_luma().  The
 * format has no resolution (ppi 0).  Data after the first image is
 * ignored.
 *
 * Rejected (HUELLA_E_INPUT): bad magic, numbers that overflow or are
 * missing, maxval 0 or above 65535, samples above maxval, and raster data
 * shorter than the header promises.  The size is checked against the
 * limits before any pixel is allocated.
 */
#include "image/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pnm_parser {
    const uint8_t *data;
    size_t len;
    size_t pos;
} pnm_parser;

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skip whitespace and comments; false at the end of the data. */
static bool skip_space(pnm_parser *p)
{
    while (p->pos < p->len) {
        uint8_t c = p->data[p->pos];
        if (c == '#') {
            while (p->pos < p->len && p->data[p->pos] != '\n' && p->data[p->pos] != '\r')
                p->pos++;
        } else if (is_space(c)) {
            p->pos++;
        } else {
            return true;
        }
    }
    return false;
}

/* A decimal number no larger than max. */
static huella_status read_number(pnm_parser *p, const char *what, uint32_t max, uint32_t *out,
                                 huella_error *err)
{
    if (!skip_space(p))
        return huella_error_set(err, HUELLA_E_INPUT, "PNM: truncated data: %s missing", what);
    uint8_t c = p->data[p->pos];
    if (c < '0' || c > '9')
        return huella_error_set(err, HUELLA_E_INPUT,
                                "PNM: expected a number for %s at offset %zu, found 0x%02x", what,
                                p->pos, c);
    uint64_t v = 0;
    while (p->pos < p->len && p->data[p->pos] >= '0' && p->data[p->pos] <= '9') {
        v = v * 10 + (uint64_t)(p->data[p->pos] - '0');
        if (v > max)
            return huella_error_set(err, HUELLA_E_INPUT, "PNM: %s is larger than %u", what,
                                    (unsigned)max);
        p->pos++;
    }
    *out = (uint32_t)v;
    return HUELLA_OK;
}

static unsigned bits_for(uint32_t maxval)
{
    unsigned bits = 0;
    while (bits < 32 && (maxval >> bits) != 0)
        bits++;
    return bits;
}

static huella_status read_ascii(pnm_parser *p, huella_image *img, unsigned channels, bool bitmap,
                                uint32_t maxval, huella_error *err)
{
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++) {
        unsigned v[3] = {0, 0, 0};
        for (unsigned ch = 0; ch < channels; ch++) {
            if (bitmap) {
                /* Plain PBM: one digit per pixel, whitespace optional. */
                if (!skip_space(p))
                    return huella_error_set(err, HUELLA_E_INPUT,
                                            "PNM: truncated data: %zu of %zu pixels", i, n);
                uint8_t c = p->data[p->pos++];
                if (c != '0' && c != '1')
                    return huella_error_set(err, HUELLA_E_INPUT,
                                            "PNM: invalid bitmap character 0x%02x at offset %zu", c,
                                            p->pos - 1);
                v[ch] = c == '1' ? 0 : 255;
                continue;
            }
            uint32_t s;
            if (!skip_space(p))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "PNM: truncated data: %zu of %zu pixels", i, n);
            huella_status st = read_number(p, "a sample", UINT32_MAX, &s, err);
            if (st != HUELLA_OK)
                return st;
            if (s > maxval)
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "PNM: sample %u of pixel %zu is above maxval %u",
                                        (unsigned)s, i, (unsigned)maxval);
            v[ch] = huella_image_rescale(s, maxval);
        }
        img->pixels[i] = channels == 3 ? huella_luma(v[0], v[1], v[2]) : (uint8_t)v[0];
    }
    return HUELLA_OK;
}

static huella_status read_binary(pnm_parser *p, huella_image *img, unsigned channels, bool bitmap,
                                 uint32_t maxval, huella_error *err)
{
    size_t width = img->width, height = img->height;
    size_t sample_bytes = maxval > 255 ? 2 : 1;
    size_t row_bytes;
    if (bitmap)
        row_bytes = (width + 7) / 8;
    else if (!huella_size_mul(width, channels * sample_bytes, &row_bytes))
        return huella_error_set(err, HUELLA_E_INPUT, "PNM: image too large");
    size_t need;
    if (!huella_size_mul(row_bytes, height, &need) || need > p->len - p->pos)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "PNM: truncated data: %llu bytes of pixels expected at offset "
                                "%zu, the file has %zu",
                                (unsigned long long)row_bytes * height, p->pos, p->len - p->pos);
    for (size_t y = 0; y < height; y++) {
        const uint8_t *src = p->data + p->pos + y * row_bytes;
        uint8_t *dst = img->pixels + y * width;
        for (size_t x = 0; x < width; x++) {
            if (bitmap) {
                dst[x] = ((src[x / 8] >> (7 - x % 8)) & 1) ? 0 : 255;
                continue;
            }
            unsigned v[3] = {0, 0, 0};
            for (unsigned ch = 0; ch < channels; ch++) {
                size_t i = x * channels + ch;
                uint32_t s = sample_bytes == 2 ? huella_load_u16be(src + 2 * i) : src[i];
                if (s > maxval)
                    return huella_error_set(err, HUELLA_E_INPUT,
                                            "PNM: sample %u at pixel (%zu, %zu) is above "
                                            "maxval %u",
                                            (unsigned)s, x, y, (unsigned)maxval);
                v[ch] = huella_image_rescale(s, maxval);
            }
            dst[x] = channels == 3 ? huella_luma(v[0], v[1], v[2]) : (uint8_t)v[0];
        }
    }
    return HUELLA_OK;
}

huella_status huella_image_decode_pnm(const uint8_t *data, size_t len,
                                      const huella_image_limits *limits, huella_image **out,
                                      huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "PNM: no output pointer");
    *out = NULL;
    if (data == NULL || len < 2 || data[0] != 'P' || data[1] < '1' || data[1] > '6')
        return huella_error_set(err, HUELLA_E_INPUT,
                                "PNM: not a PBM/PGM/PPM file (no P1-P6 magic)");
    int kind = data[1] - '0';
    bool ascii = kind <= 3;
    bool bitmap = kind == 1 || kind == 4;
    unsigned channels = (kind == 3 || kind == 6) ? 3 : 1;
    pnm_parser p = {data, len, 2};
    if (p.pos < len && !is_space(data[p.pos]) && data[p.pos] != '#')
        return huella_error_set(err, HUELLA_E_INPUT, "PNM: no whitespace after the magic number");

    uint32_t width, height, maxval = 1;
    huella_status st = read_number(&p, "the width", UINT32_MAX, &width, err);
    if (st == HUELLA_OK)
        st = read_number(&p, "the height", UINT32_MAX, &height, err);
    if (st == HUELLA_OK && !bitmap)
        st = read_number(&p, "maxval", 65535, &maxval, err);
    if (st != HUELLA_OK)
        return st;
    if (maxval == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "PNM: maxval is 0");
    st = huella_image_check_size(width, height, limits, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "PNM: ");
        return st;
    }
    /* Exactly one whitespace character separates the header from binary
     * data; ASCII data is free-form. */
    if (!ascii) {
        if (p.pos >= len || !is_space(data[p.pos]))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "PNM: truncated data: no whitespace after the header");
        p.pos++;
    }

    /* ASCII samples take at least one character each (and one separator
     * outside bitmaps): refuse a short file before allocating its image. */
    if (ascii) {
        uint64_t samples = (uint64_t)width * height * channels;
        uint64_t least = bitmap ? samples : 2 * samples - 1;
        if (least > len - p.pos)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "PNM: truncated data: %llu ASCII samples cannot fit in the "
                                    "%zu bytes left",
                                    (unsigned long long)samples, len - p.pos);
    }

    huella_image *img;
    st = huella_image_alloc(width, height, limits, HUELLA_IMAGE_PNM, &img, err);
    if (st != HUELLA_OK)
        return st;
    img->source_channels = channels;
    img->source_bits = bitmap ? 1 : bits_for(maxval);
    st = ascii ? read_ascii(&p, img, channels, bitmap, maxval, err)
               : read_binary(&p, img, channels, bitmap, maxval, err);
    if (st != HUELLA_OK) {
        huella_image_free(img);
        return st;
    }
    *out = img;
    return HUELLA_OK;
}
