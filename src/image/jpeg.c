/*
 * jpeg.c - JPEG decoding through libjpeg(-turbo).
 *
 * Contract: huella_image_decode_jpeg decodes baseline, extended (8-bit),
 * progressive and arithmetic-coded JPEG (ITU-T T.81 | ISO/IEC 10918-1) in
 * JFIF or Adobe/EXIF wrappers into 8-bit grey.  Greyscale files are taken
 * as they are; colour files are decoded to RGB and converted with
 * huella_luma() (BT.601, rounded) rather than with libjpeg's own
 * JCS_GRAYSCALE output, so that a colour JPEG and the same pixels in PNG
 * or BMP give the same grey.  CMYK/YCCK files are converted to RGB first
 * (Adobe files store CMYK inverted).  Resolution comes from the JFIF APP0
 * density: unit 1 is dots per inch, 2 dots per centimetre, 0 only an
 * aspect ratio (ppi 0).
 *
 * Rejected: 12-bit and lossless JPEG (HUELLA_E_UNSUPPORTED), and every
 * file on which libjpeg would only warn - premature end of data, corrupt
 * Huffman data, extraneous bytes - since libjpeg would otherwise fill the
 * missing part with grey and report success.  The size is checked after
 * jpeg_read_header and before any pixel memory is allocated; libjpeg's own
 * memory is capped through mem->max_memory_to_use, and progressive files
 * may not hold more than JPEG_MAX_SCANS scans (each scan is a pass over the
 * whole image, so a tiny file of empty scans could otherwise take minutes).
 *
 * Errors leave libjpeg by longjmp into decode(), which keeps no state of
 * its own; the caller owns and frees everything.
 */
#include "image/internal.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/* libjpeg-turbo suggests 500 as a limit on progressive scans (djpeg
 * -maxscans, TJPARAM_SCANLIMIT); real files have about ten. */
#define JPEG_MAX_SCANS 500

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub; /* first, so that cinfo->err points at us */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64];
    int code; /* libjpeg message code of the error, -1 for our own */
    struct jpeg_decompress_struct cinfo;
    bool created;
    huella_image *img;
    uint8_t *row;
} jpeg_ctx;

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_ctx *c = (jpeg_ctx *)(void *)cinfo->err;
    c->code = cinfo->err->msg_code;
    (*cinfo->err->format_message)(cinfo, c->message);
    longjmp(c->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return; /* trace messages */
    /* A warning.  An unknown JFIF minor version does not touch the pixels;
     * every other warning means the data is damaged, so it is an error. */
    if (cinfo->err->msg_code == JWRN_JFIF_MAJOR)
        return;
    on_error_exit(cinfo);
}

static void on_output_message(j_common_ptr cinfo)
{
    (void)cinfo; /* never print */
}

static void on_progress(j_common_ptr cinfo)
{
    if (!cinfo->is_decompressor)
        return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_ctx *c = (jpeg_ctx *)(void *)cinfo->err;
        c->code = -1;
        snprintf(c->message, sizeof(c->message), "more than %d scans", JPEG_MAX_SCANS);
        longjmp(c->jump, 1);
    }
}

/* Memory libjpeg may use for itself: a progressive file keeps all its DCT
 * coefficients (2 bytes per sample, up to 4 components at full resolution)
 * plus a margin for tables and MCU padding. */
static long memory_cap(const huella_image_limits *limits)
{
    uint64_t px =
        limits != NULL && limits->max_pixels ? limits->max_pixels : HUELLA_IMAGE_MAX_PIXELS;
    uint64_t cap = px * 4 * 2 * 2 + 64u * 1024u * 1024u;
    if (px > (uint64_t)1 << 40 || cap > (uint64_t)LONG_MAX)
        return LONG_MAX;
    return (long)cap;
}

static huella_status decode(jpeg_ctx *c, const uint8_t *data, size_t len,
                            const huella_image_limits *limits, huella_error *err)
{
    j_decompress_ptr cinfo = &c->cinfo;
    if (setjmp(c->jump)) {
        huella_status st = HUELLA_E_INPUT;
        if (c->code == JERR_BAD_PRECISION || c->code == JERR_SOF_UNSUPPORTED ||
            c->code == JERR_NOT_COMPILED || c->code == JERR_CONVERSION_NOTIMPL)
            st = HUELLA_E_UNSUPPORTED;
        else if (c->code == JERR_OUT_OF_MEMORY || c->code == JERR_NO_BACKING_STORE)
            st = HUELLA_E_NOMEM;
        return huella_error_set(err, st, "JPEG: %s", c->message);
    }

    /* Set first: a failure inside jpeg_create_decompress leaves mem NULL,
     * which jpeg_destroy_decompress accepts. */
    c->created = true;
    jpeg_create_decompress(cinfo);
    cinfo->mem->max_memory_to_use = memory_cap(limits);
    cinfo->progress = &c->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)len);
    jpeg_read_header(cinfo, TRUE);

    huella_status st = huella_image_alloc(cinfo->image_width, cinfo->image_height, limits,
                                          HUELLA_IMAGE_JPEG, &c->img, err);
    if (st != HUELLA_OK)
        return st;
    c->img->source_bits = (unsigned)cinfo->data_precision;

    unsigned channels;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        channels = 1;
        c->img->source_channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        channels = 3;
        c->img->source_channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        channels = 4;
        c->img->source_channels = 3; /* colour, no alpha */
        break;
    default:
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "JPEG: %d components in an unknown colour space",
                                cinfo->num_components);
    }

    if (cinfo->saw_JFIF_marker && cinfo->X_density > 0 && cinfo->Y_density > 0) {
        if (cinfo->density_unit == 1) {
            c->img->ppi_x = cinfo->X_density;
            c->img->ppi_y = cinfo->Y_density;
        } else if (cinfo->density_unit == 2) {
            c->img->ppi_x = cinfo->X_density * 2.54;
            c->img->ppi_y = cinfo->Y_density * 2.54;
        }
    }

    jpeg_start_decompress(cinfo);
    size_t width = c->img->width;
    if (cinfo->output_width != width || cinfo->output_height != c->img->height ||
        (unsigned)cinfo->output_components != channels)
        return huella_error_set(
            err, HUELLA_E_INTERNAL, "JPEG: libjpeg produces %u x %u x %d, expected %zu x %u x %u",
            (unsigned)cinfo->output_width, (unsigned)cinfo->output_height, cinfo->output_components,
            width, (unsigned)c->img->height, channels);
    c->row = malloc(width * channels);
    if (c->row == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "JPEG: out of memory");
    bool inverted = cinfo->saw_Adobe_marker;
    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t *dst = c->img->pixels + (size_t)cinfo->output_scanline * width;
        JSAMPROW rows[1] = {c->row};
        if (jpeg_read_scanlines(cinfo, rows, 1) != 1)
            return huella_error_set(err, HUELLA_E_INPUT, "JPEG: truncated data");
        if (channels != 4) {
            huella_image_row_to_grey(c->row, channels, width, dst);
            continue;
        }
        for (size_t x = 0; x < width; x++) {
            const uint8_t *p = c->row + 4 * x;
            unsigned cc = p[0], m = p[1], y = p[2], k = p[3];
            if (!inverted) {
                cc = 255 - cc;
                m = 255 - m;
                y = 255 - y;
                k = 255 - k;
            }
            /* Inverted CMYK: each value is 255 - ink, so R = C * K / 255. */
            dst[x] = huella_luma((cc * k + 127) / 255, (m * k + 127) / 255, (y * k + 127) / 255);
        }
    }
    /* Reads through EOI, so a file cut after the last scan is rejected. */
    jpeg_finish_decompress(cinfo);
    return HUELLA_OK;
}

huella_status huella_image_decode_jpeg(const uint8_t *data, size_t len,
                                       const huella_image_limits *limits, huella_image **out,
                                       huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG: no output pointer");
    *out = NULL;
    if (data == NULL || len < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff)
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG: not a JPEG file (no SOI marker)");
    if ((uint64_t)len > (uint64_t)ULONG_MAX)
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG: file too large");

    jpeg_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "JPEG: out of memory");
    c->cinfo.err = jpeg_std_error(&c->pub);
    c->pub.error_exit = on_error_exit;
    c->pub.emit_message = on_emit_message;
    c->pub.output_message = on_output_message;
    c->progress.progress_monitor = on_progress;

    huella_status st = decode(c, data, len, limits, err);

    if (c->created)
        jpeg_destroy_decompress(&c->cinfo);
    free(c->row);
    if (st != HUELLA_OK)
        huella_image_free(c->img);
    else
        *out = c->img;
    free(c);
    return st;
}
