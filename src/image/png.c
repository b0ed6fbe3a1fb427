/*
 * png.c - PNG decoding and encoding through libpng 1.6.
 *
 * Contract: huella_image_decode_png turns any PNG (ISO/IEC 15948:2004,
 * every colour type and bit depth, interlaced or not) into 8-bit grey:
 * palettes and low bit depths are expanded, colour becomes BT.601 luma,
 * transparency (alpha or tRNS) is composited over white and 16-bit samples
 * are rounded to 8 bits as (v * 255 + 32767) / 65535.  The resolution comes
 * from pHYs when its unit is the metre (§11.3.5.3); a unitless pHYs is only
 * an aspect ratio and gives ppi 0.  The whole file must be there: the
 * decoder reads through IEND, so a file cut anywhere is rejected, and the
 * message names the chunk that was cut.  The size in IHDR is checked
 * against the limits before libpng is even started.
 *
 * huella_image_encode_png writes 8-bit greyscale with a pHYs chunk when
 * both resolutions are known.
 *
 * libpng reports errors by longjmp.  The function that calls setjmp keeps
 * no state of its own: everything that must survive the jump (the image,
 * the row buffers) lives in a context owned by its caller, which frees it
 * whichever way decoding ends.
 */
#include "image/internal.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ancillary chunks may not make libpng allocate more than this, nor may a
 * file hold more than so many of them (text, sPLT, unknown). */
#define PNG_CHUNK_MALLOC_MAX (8u * 1024u * 1024u)
#define PNG_CHUNK_CACHE_MAX  1000u

typedef struct png_ctx {
    const uint8_t *data;
    size_t len;
    size_t pos;
    char message[256];
    bool nomem; /* the message is about memory, not the input */
    png_structp png;
    png_infop info;
    huella_image *img;
    uint8_t *rows;           /* one row, or the whole image when interlaced */
    png_bytep *row_pointers; /* interlaced only */
    uint8_t *row8;           /* a row narrowed from 16 to 8 bits */
    huella_buf out;          /* encoder output */
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->message, sizeof(c->message), "%s", msg != NULL ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    /* Warnings are about ancillary data that libpng has already dropped
     * (bad CRC in a text chunk, odd ICC profile); the pixels are sound. */
    (void)png;
    (void)msg;
}

static void chunk_name(const uint8_t *p, char out[5])
{
    for (int i = 0; i < 4; i++) {
        uint8_t ch = p[i];
        out[i] = (char)(((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')) ? ch : '?');
    }
    out[4] = '\0';
}

/* Walk the chunk headers to say which chunk the end of the data cut. */
static void describe_truncation(const png_ctx *c, char *buf, size_t size)
{
    size_t off = 8;
    char last[5] = "";
    while (off + 8 <= c->len) {
        uint32_t length = huella_load_u32be(c->data + off);
        char name[5];
        chunk_name(c->data + off + 4, name);
        if ((uint64_t)length + 12 > c->len - off) {
            snprintf(buf, size, "truncated data in %s", name);
            return;
        }
        memcpy(last, name, sizeof(last));
        off += (size_t)length + 12;
    }
    if (last[0] == '\0')
        snprintf(buf, size, "truncated data before the first chunk");
    else
        snprintf(buf, size, "truncated data after %s, before IEND", last);
}

static void on_read(png_structp png, png_bytep out, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) {
        char msg[128];
        describe_truncation(c, msg, sizeof(msg));
        png_error(png, msg);
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

/* One decoded row (after libpng's expansions: 1 to 4 channels of 8 or 16
 * bits) into a row of grey. */
static void convert_row(png_ctx *c, const uint8_t *row, unsigned channels, int depth, uint8_t *dst)
{
    size_t width = c->img->width;
    if (depth == 16) {
        size_t n = width * channels;
        for (size_t i = 0; i < n; i++)
            c->row8[i] = huella_image_from16((unsigned)row[2 * i] << 8 | row[2 * i + 1]);
        row = c->row8;
    }
    huella_image_row_to_grey(row, channels, width, dst);
}

/* The part of decoding that libpng may leave by longjmp. */
static huella_status decode(png_ctx *c, const huella_image_limits *limits, huella_error *err)
{
    if (setjmp(png_jmpbuf(c->png)))
        return huella_error_set(err, c->nomem ? HUELLA_E_NOMEM : HUELLA_E_INPUT, "PNG: %s",
                                c->message);

    png_read_info(c->png, c->info);
    png_uint_32 width, height;
    int depth, color, interlace;
    png_get_IHDR(c->png, c->info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    huella_status st = huella_image_alloc(width, height, limits, HUELLA_IMAGE_PNG, &c->img, err);
    if (st != HUELLA_OK)
        return st;

    bool trns = png_get_valid(c->png, c->info, PNG_INFO_tRNS) != 0;
    switch (color) {
    case PNG_COLOR_TYPE_GRAY:
        c->img->source_channels = trns ? 2 : 1;
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        c->img->source_channels = 2;
        break;
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_PALETTE:
        c->img->source_channels = trns ? 4 : 3;
        break;
    default:
        c->img->source_channels = 4;
        break;
    }
    c->img->source_bits = (unsigned)depth;

    png_uint_32 res_x, res_y;
    int unit;
    if (png_get_pHYs(c->png, c->info, &res_x, &res_y, &unit) && unit == PNG_RESOLUTION_METER) {
        c->img->ppi_x = huella_image_ppi_from_ppm(res_x);
        c->img->ppi_y = huella_image_ppi_from_ppm(res_y);
    }

    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(c->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(c->png);
    if (trns)
        png_set_tRNS_to_alpha(c->png);
    int passes = png_set_interlace_handling(c->png);
    png_read_update_info(c->png, c->info);

    unsigned channels = png_get_channels(c->png, c->info);
    int out_depth = png_get_bit_depth(c->png, c->info);
    size_t rowbytes = png_get_rowbytes(c->png, c->info);
    if (channels < 1 || channels > 4 || (out_depth != 8 && out_depth != 16) ||
        rowbytes != (size_t)width * channels * (size_t)(out_depth / 8))
        return huella_error_set(err, HUELLA_E_INTERNAL,
                                "PNG: unexpected row layout after expansion (%u channels of %d "
                                "bits, %zu bytes per row)",
                                channels, out_depth, rowbytes);
    if (out_depth == 16) {
        c->row8 = malloc((size_t)width * channels);
        if (c->row8 == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "PNG: out of memory");
    }

    if (passes == 1) {
        c->rows = malloc(rowbytes);
        if (c->rows == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "PNG: out of memory");
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(c->png, c->rows, NULL);
            convert_row(c, c->rows, channels, out_depth, c->img->pixels + (size_t)y * width);
        }
    } else {
        /* Adam7 needs the whole image at once.  Its size is bounded by the
         * pixel limit times 8 bytes (16-bit RGBA). */
        size_t total;
        if (!huella_size_mul(rowbytes, height, &total))
            return huella_error_set(err, HUELLA_E_INPUT, "PNG: image too large");
        c->rows = malloc(total);
        c->row_pointers = malloc((size_t)height * sizeof(png_bytep));
        if (c->rows == NULL || c->row_pointers == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "PNG: cannot allocate %zu bytes", total);
        for (png_uint_32 y = 0; y < height; y++)
            c->row_pointers[y] = c->rows + (size_t)y * rowbytes;
        png_read_image(c->png, c->row_pointers);
        for (png_uint_32 y = 0; y < height; y++)
            convert_row(c, c->row_pointers[y], channels, out_depth,
                        c->img->pixels + (size_t)y * width);
    }
    /* Through IEND: checks the CRCs of the trailing chunks and rejects a
     * file that was cut after the image data. */
    png_read_end(c->png, NULL);
    return HUELLA_OK;
}

huella_status huella_image_decode_png(const uint8_t *data, size_t len,
                                      const huella_image_limits *limits, huella_image **out,
                                      huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "PNG: no output pointer");
    *out = NULL;
    if (data == NULL || len < 8 || png_sig_cmp(data, 0, 8) != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "PNG: not a PNG file (bad signature)");
    /* IHDR must come first (§5.6): check its size before libpng allocates
     * anything, so the message is ours and names the limit. */
    if (len >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        huella_status st = huella_image_check_size(huella_load_u32be(data + 16),
                                                   huella_load_u32be(data + 20), limits, err);
        if (st != HUELLA_OK) {
            huella_error_prefix(err, "PNG: ");
            return st;
        }
    }

    png_ctx c;
    memset(&c, 0, sizeof(c));
    c.data = data;
    c.len = len;
    c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    if (c.png == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "PNG: out of memory");
    c.info = png_create_info_struct(c.png);
    if (c.info == NULL) {
        png_destroy_read_struct(&c.png, NULL, NULL);
        return huella_error_set(err, HUELLA_E_NOMEM, "PNG: out of memory");
    }
    png_set_read_fn(c.png, &c, on_read);
    uint32_t max_w = limits != NULL && limits->max_width ? limits->max_width : HUELLA_IMAGE_MAX_DIM;
    uint32_t max_h =
        limits != NULL && limits->max_height ? limits->max_height : HUELLA_IMAGE_MAX_DIM;
    png_set_user_limits(c.png, max_w > 0x7fffffffu ? 0x7fffffffu : max_w,
                        max_h > 0x7fffffffu ? 0x7fffffffu : max_h);
    png_set_chunk_malloc_max(c.png, PNG_CHUNK_MALLOC_MAX);
    png_set_chunk_cache_max(c.png, PNG_CHUNK_CACHE_MAX);
    png_set_keep_unknown_chunks(c.png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
    png_set_option(c.png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif

    huella_status st = decode(&c, limits, err);

    png_destroy_read_struct(&c.png, &c.info, NULL);
    free(c.rows);
    free(c.row_pointers);
    free(c.row8);
    if (st != HUELLA_OK) {
        huella_image_free(c.img);
        return st;
    }
    *out = c.img;
    return HUELLA_OK;
}

static void on_write(png_structp png, png_bytep data, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (!huella_buf_append(&c->out, data, n)) {
        c->nomem = true;
        png_error(png, "out of memory");
    }
}

static void on_flush(png_structp png)
{
    (void)png;
}

static huella_status encode(png_ctx *c, const huella_image *img, huella_error *err)
{
    if (setjmp(png_jmpbuf(c->png)))
        return huella_error_set(err, c->nomem ? HUELLA_E_NOMEM : HUELLA_E_INTERNAL, "PNG: %s",
                                c->message);
    png_set_write_fn(c->png, c, on_write, on_flush);
    png_set_IHDR(c->png, c->info, img->width, img->height, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (isfinite(img->ppi_x) && isfinite(img->ppi_y) && img->ppi_x > 0 && img->ppi_y > 0 &&
        img->ppi_x < 1e6 && img->ppi_y < 1e6) {
        png_uint_32 x = (png_uint_32)lround(img->ppi_x / HUELLA_METRES_PER_INCH);
        png_uint_32 y = (png_uint_32)lround(img->ppi_y / HUELLA_METRES_PER_INCH);
        if (x > 0 && y > 0)
            png_set_pHYs(c->png, c->info, x, y, PNG_RESOLUTION_METER);
    }
    png_write_info(c->png, c->info);
    for (uint32_t y = 0; y < img->height; y++)
        png_write_row(c->png, img->pixels + (size_t)y * img->width);
    png_write_end(c->png, NULL);
    return HUELLA_OK;
}

huella_status huella_image_encode_png(const huella_image *img, uint8_t **data, size_t *len,
                                      huella_error *err)
{
    if (data == NULL || len == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "PNG: no output pointer");
    *data = NULL;
    *len = 0;
    if (img == NULL || img->pixels == NULL || img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "PNG: no image to encode");
    if (img->width > 0x7fffffffu || img->height > 0x7fffffffu)
        return huella_error_set(err, HUELLA_E_INPUT, "PNG: image %u x %u is too large for PNG",
                                (unsigned)img->width, (unsigned)img->height);

    png_ctx c;
    memset(&c, 0, sizeof(c));
    huella_buf_init(&c.out);
    c.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    if (c.png == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "PNG: out of memory");
    c.info = png_create_info_struct(c.png);
    if (c.info == NULL) {
        png_destroy_write_struct(&c.png, NULL);
        return huella_error_set(err, HUELLA_E_NOMEM, "PNG: out of memory");
    }
    huella_status st = encode(&c, img, err);
    png_destroy_write_struct(&c.png, &c.info);
    if (st != HUELLA_OK) {
        huella_buf_free(&c.out);
        return st;
    }
    *data = c.out.data;
    *len = c.out.len;
    return HUELLA_OK;
}
