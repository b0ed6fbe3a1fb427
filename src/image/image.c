/*
 * image.c - the image object, size limits, format detection and dispatch.
 *
 * Contract: an image owns width * height bytes of 8-bit grey (0 black),
 * top row first.  No pixel buffer is allocated before its dimensions have
 * passed huella_image_check_size, so a hostile header cannot make huella
 * allocate more than the caller's limits allow.  huella_image_decode picks
 * the decoder from the content (magic numbers, never the file name);
 * huella_image_read prefixes every message with the path; huella_image_write
 * picks PNG or PGM from the extension.
 *
 * Relies on: src/base (errors, files), the per-format decoders in this
 * directory.  Colour conversion is ITU-R BT.601 luma (huella_luma), alpha
 * is composited over white.
 */
#include "image/internal.h"

#include "huella/wsq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

huella_status huella_image_check_size(uint64_t width, uint64_t height,
                                      const huella_image_limits *limits, huella_error *err)
{
    uint64_t max_w = HUELLA_IMAGE_MAX_DIM, max_h = HUELLA_IMAGE_MAX_DIM;
    uint64_t max_px = HUELLA_IMAGE_MAX_PIXELS;
    if (limits != NULL) {
        if (limits->max_width != 0)
            max_w = limits->max_width;
        if (limits->max_height != 0)
            max_h = limits->max_height;
        if (limits->max_pixels != 0)
            max_px = limits->max_pixels;
    }
    if (width == 0 || height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "image %llu x %llu is empty",
                                (unsigned long long)width, (unsigned long long)height);
    if (width > max_w || height > max_h) {
        if (max_w == max_h)
            return huella_error_set(
                err, HUELLA_E_INPUT, "image %llu x %llu exceeds the limit of %llu pixels per side",
                (unsigned long long)width, (unsigned long long)height, (unsigned long long)max_w);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "image %llu x %llu exceeds the limit of %llu x %llu pixels",
                                (unsigned long long)width, (unsigned long long)height,
                                (unsigned long long)max_w, (unsigned long long)max_h);
    }
    /* Both sides are at most 2^32 - 1 here, so the product fits 64 bits. */
    uint64_t pixels = width * height;
    if (pixels > max_px || pixels > SIZE_MAX)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "image %llu x %llu has %llu pixels, more than the limit of %llu",
                                (unsigned long long)width, (unsigned long long)height,
                                (unsigned long long)pixels, (unsigned long long)max_px);
    return HUELLA_OK;
}

huella_status huella_image_alloc(uint64_t width, uint64_t height, const huella_image_limits *limits,
                                 huella_image_format format, huella_image **out, huella_error *err)
{
    *out = NULL;
    huella_status st = huella_image_check_size(width, height, limits, err);
    if (st != HUELLA_OK) {
        if (format != HUELLA_IMAGE_UNKNOWN)
            huella_error_prefix(err, "%s: ", huella_image_format_name(format));
        return st;
    }
    huella_image *img = calloc(1, sizeof(*img));
    if (img == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: out of memory",
                                huella_image_format_name(format));
    img->pixels = calloc((size_t)(width * height), 1);
    if (img->pixels == NULL) {
        free(img);
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: cannot allocate %llu x %llu pixels",
                                huella_image_format_name(format), (unsigned long long)width,
                                (unsigned long long)height);
    }
    img->width = (uint32_t)width;
    img->height = (uint32_t)height;
    img->format = format;
    img->source_channels = 1;
    img->source_bits = 8;
    *out = img;
    return HUELLA_OK;
}

huella_status huella_image_new(uint32_t width, uint32_t height, huella_image **out,
                               huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "huella_image_new: no output pointer");
    return huella_image_alloc(width, height, NULL, HUELLA_IMAGE_UNKNOWN, out, err);
}

void huella_image_free(huella_image *img)
{
    if (img == NULL)
        return;
    free(img->pixels);
    free(img);
}

/* An image that a caller built by hand may be inconsistent; every public
 * function that reads one checks it first. */
static huella_status check_image(const huella_image *img, const char *who, huella_error *err)
{
    if (img == NULL || img->pixels == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: no image", who);
    if (img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: image %u x %u is empty", who,
                                (unsigned)img->width, (unsigned)img->height);
    return HUELLA_OK;
}

huella_status huella_image_clone(const huella_image *img, huella_image **out, huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "huella_image_clone: no output pointer");
    *out = NULL;
    huella_status st = check_image(img, "huella_image_clone", err);
    if (st != HUELLA_OK)
        return st;
    size_t n;
    if (!huella_size_mul(img->width, img->height, &n))
        return huella_error_set(err, HUELLA_E_INPUT, "huella_image_clone: image too large");
    huella_image *copy = malloc(sizeof(*copy));
    if (copy == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "huella_image_clone: out of memory");
    *copy = *img;
    copy->pixels = malloc(n);
    if (copy->pixels == NULL) {
        free(copy);
        return huella_error_set(err, HUELLA_E_NOMEM, "huella_image_clone: out of memory");
    }
    memcpy(copy->pixels, img->pixels, n);
    *out = copy;
    return HUELLA_OK;
}

double huella_image_ppi_from_ppm(double pixels_per_metre)
{
    if (!isfinite(pixels_per_metre) || pixels_per_metre <= 0)
        return 0;
    double ppi = pixels_per_metre * HUELLA_METRES_PER_INCH;
    double whole = round(ppi);
    if (whole > 0 && fabs(whole / HUELLA_METRES_PER_INCH - pixels_per_metre) < 1.0)
        return whole;
    return ppi;
}

void huella_image_row_to_grey(const uint8_t *src, unsigned channels, size_t width, uint8_t *dst)
{
    switch (channels) {
    case 1:
        memcpy(dst, src, width);
        break;
    case 2:
        for (size_t x = 0; x < width; x++, src += 2)
            dst[x] = huella_image_over_white(src[0], src[1]);
        break;
    case 3:
        for (size_t x = 0; x < width; x++, src += 3)
            dst[x] = huella_luma(src[0], src[1], src[2]);
        break;
    default:
        for (size_t x = 0; x < width; x++, src += 4) {
            unsigned a = src[3];
            dst[x] =
                huella_luma(huella_image_over_white(src[0], a), huella_image_over_white(src[1], a),
                            huella_image_over_white(src[2], a));
        }
        break;
    }
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

huella_image_format huella_image_detect(const uint8_t *data, size_t len)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jp2[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'};
    if (data == NULL)
        return HUELLA_IMAGE_UNKNOWN;
    if (len >= 8 && memcmp(data, png, 8) == 0)
        return HUELLA_IMAGE_PNG;
    if (len >= 12 && memcmp(data, jp2, 12) == 0)
        return HUELLA_IMAGE_JP2;
    if (len >= 4 && data[0] == 0xff && data[1] == 0x4f && data[2] == 0xff && data[3] == 0x51)
        return HUELLA_IMAGE_JP2;
    /* WSQ (FBI IAFIS-IC-0110): SOI FFA0 followed by another FFAx marker. */
    if (len >= 4 && data[0] == 0xff && data[1] == 0xa0 && data[2] == 0xff && data[3] >= 0xa2 &&
        data[3] <= 0xa8)
        return HUELLA_IMAGE_WSQ;
    if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return HUELLA_IMAGE_JPEG;
    if (len >= 4 &&
        ((data[0] == 'I' && data[1] == 'I' && (data[2] == 42 || data[2] == 43) && data[3] == 0) ||
         (data[0] == 'M' && data[1] == 'M' && data[2] == 0 && (data[3] == 42 || data[3] == 43))))
        return HUELLA_IMAGE_TIFF;
    /* "BM" alone is too weak a signature: also ask for a known DIB header
     * size at offset 14. */
    if (len >= 18 && data[0] == 'B' && data[1] == 'M') {
        uint32_t h = huella_load_u32le(data + 14);
        if (h == 12 || h == 16 || h == 40 || h == 52 || h == 56 || h == 64 || h == 108 || h == 124)
            return HUELLA_IMAGE_BMP;
    }
    if (len >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '6' &&
        (is_space(data[2]) || data[2] == '#'))
        return HUELLA_IMAGE_PNM;
    return HUELLA_IMAGE_UNKNOWN;
}

const char *huella_image_format_name(huella_image_format format)
{
    switch (format) {
    case HUELLA_IMAGE_PNG:
        return "PNG";
    case HUELLA_IMAGE_JPEG:
        return "JPEG";
    case HUELLA_IMAGE_TIFF:
        return "TIFF";
    case HUELLA_IMAGE_JP2:
        return "JPEG 2000";
    case HUELLA_IMAGE_BMP:
        return "BMP";
    case HUELLA_IMAGE_PNM:
        return "PNM";
    case HUELLA_IMAGE_WSQ:
        return "WSQ";
    case HUELLA_IMAGE_RAW:
        return "raw";
    case HUELLA_IMAGE_UNKNOWN:
        break;
    }
    return "unknown";
}

/* The first (up to) 8 bytes in hex, for messages about unknown data. */
static void hex_prefix(const uint8_t *data, size_t len, char out[3 * 8 + 1])
{
    static const char digits[] = "0123456789abcdef";
    char *p = out;
    for (size_t i = 0; i < 8 && i < len; i++) {
        if (i > 0)
            *p++ = ' ';
        *p++ = digits[data[i] >> 4];
        *p++ = digits[data[i] & 15];
    }
    *p = '\0';
}

huella_status huella_image_decode(const uint8_t *data, size_t len,
                                  const huella_image_limits *limits, huella_image **out,
                                  huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "huella_image_decode: no output pointer");
    *out = NULL;
    if (data == NULL || len == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "image: empty input");
    switch (huella_image_detect(data, len)) {
    case HUELLA_IMAGE_PNG:
        return huella_image_decode_png(data, len, limits, out, err);
    case HUELLA_IMAGE_JPEG:
        /* libjpeg-turbo cannot decode lossless JPEG (SOF3): our own does. */
        if (huella_jpeg_is_lossless(data, len))
            return huella_image_decode_jpegl(data, len, limits, out, err);
        return huella_image_decode_jpeg(data, len, limits, out, err);
    case HUELLA_IMAGE_TIFF:
        return huella_image_decode_tiff(data, len, limits, out, err);
    case HUELLA_IMAGE_JP2:
        return huella_image_decode_jp2(data, len, limits, out, err);
    case HUELLA_IMAGE_BMP:
        return huella_image_decode_bmp(data, len, limits, out, err);
    case HUELLA_IMAGE_PNM:
        return huella_image_decode_pnm(data, len, limits, out, err);
    case HUELLA_IMAGE_WSQ:
        return huella_image_decode_wsq(data, len, limits, out, err);
    case HUELLA_IMAGE_RAW:
    case HUELLA_IMAGE_UNKNOWN:
        break;
    }
    char hex[3 * 8 + 1];
    hex_prefix(data, len, hex);
    return huella_error_set(err, HUELLA_E_INPUT,
                            "image: unrecognised format (first bytes %s); expected PNG, JPEG, "
                            "TIFF, JPEG 2000, BMP, PNM or WSQ",
                            hex);
}

huella_status huella_image_decode_raw(const uint8_t *data, size_t len, uint32_t width,
                                      uint32_t height, const huella_image_limits *limits,
                                      huella_image **out, huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "raw: no output pointer");
    *out = NULL;
    huella_status st = huella_image_check_size(width, height, limits, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "raw: ");
        return st;
    }
    uint64_t need = (uint64_t)width * height;
    if (data == NULL || (uint64_t)len != need)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "raw: %zu bytes of data for a %u x %u image, which needs %llu",
                                data == NULL ? (size_t)0 : len, (unsigned)width, (unsigned)height,
                                (unsigned long long)need);
    huella_image *img;
    st = huella_image_alloc(width, height, limits, HUELLA_IMAGE_RAW, &img, err);
    if (st != HUELLA_OK)
        return st;
    memcpy(img->pixels, data, len);
    *out = img;
    return HUELLA_OK;
}

huella_status huella_image_read(const char *path, const huella_image_limits *limits,
                                huella_image **out, huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "huella_image_read: no output pointer");
    *out = NULL;
    if (path == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "huella_image_read: no path");
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 0, &data, &len, err);
    if (st != HUELLA_OK)
        return st; /* huella_file_read already names the path */
    st = huella_image_decode(data, len, limits, out, err);
    free(data);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s: ", path);
    return st;
}

huella_status huella_image_encode_pgm(const huella_image *img, uint8_t **data, size_t *len,
                                      huella_error *err)
{
    if (data == NULL || len == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "PGM: no output pointer");
    *data = NULL;
    *len = 0;
    huella_status st = check_image(img, "PGM", err);
    if (st != HUELLA_OK)
        return st;
    size_t n;
    if (!huella_size_mul(img->width, img->height, &n))
        return huella_error_set(err, HUELLA_E_INPUT, "PGM: image too large");
    char header[64];
    int h = snprintf(header, sizeof(header), "P5\n%u %u\n255\n", (unsigned)img->width,
                     (unsigned)img->height);
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append(&b, header, (size_t)h);
    huella_buf_append(&b, img->pixels, n);
    if (!b.ok) {
        huella_buf_free(&b);
        return huella_error_set(err, HUELLA_E_NOMEM, "PGM: out of memory");
    }
    *data = b.data;
    *len = b.len;
    return HUELLA_OK;
}

/* ext is lower case; the comparison ignores the case of path (ASCII). */
static bool has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    if (n <= e)
        return false;
    for (size_t i = 0; i < e; i++) {
        char c = path[n - e + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != ext[i])
            return false;
    }
    return true;
}

huella_status huella_image_write(const huella_image *img, const char *path, huella_error *err)
{
    if (path == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "huella_image_write: no path");
    uint8_t *data = NULL;
    size_t len = 0;
    huella_status st;
    if (has_extension(path, ".png"))
        st = huella_image_encode_png(img, &data, &len, err);
    else if (has_extension(path, ".pgm"))
        st = huella_image_encode_pgm(img, &data, &len, err);
    else
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: cannot tell the image format from the name (use .png or "
                                ".pgm)",
                                path);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s: ", path);
        return st;
    }
    st = huella_file_write(path, data, len, err);
    free(data);
    return st;
}
