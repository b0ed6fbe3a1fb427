/*
 * tiff.c - TIFF decoding through libtiff 4.5, from memory.
 *
 * Contract: huella_image_decode_tiff decodes the first image (IFD) of a
 * classic or BigTIFF file (TIFF 6.0, with whatever compressions libtiff
 * was built with) into 8-bit grey.  8- and 16-bit single-sample greyscale
 * in strips (the usual scanner output) is read line by line and taken as
 * it is (MinIsWhite inverted, 16 bits rounded as (v * 255 + 32767) /
 * 65535); everything else - bilevel, palette, RGB, YCbCr, CMYK, tiles,
 * alpha - goes through libtiff's RGBA interface and huella_luma(), alpha
 * composited over white.  The resolution is XResolution/YResolution in
 * the unit of ResolutionUnit (2 inch, the default; 3 centimetre; 1 none,
 * which gives ppi 0).
 *
 * Errors and warnings from libtiff go to handlers given to this one TIFF
 * handle through TIFFOpenOptions (libtiff >= 4.5), never to the
 * process-wide handlers, so concurrent decodes do not mix their messages;
 * the first error is the one reported.  Warnings are ignored except
 * libtiff's "IO error during reading of <tag>", which is how a file cut
 * inside its tag data shows, and which is therefore an error here.  The
 * data is handed to libtiff as a read-only memory map.  libtiff's largest
 * single allocation is capped from the caller's pixel limit, and the image
 * size is checked before any pixel buffer exists.
 */
#include "image/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

typedef struct tiff_ctx {
    const uint8_t *data;
    size_t len;
    uint64_t pos;
    char message[256]; /* the first error libtiff reported */
    bool failed;
    TIFF *tif;
    huella_image *img;
    uint8_t *line;
    uint32_t *raster;
} tiff_ctx;

HUELLA_PRINTF(4, 0)
static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif;
    (void)module;
    tiff_ctx *c = user;
    if (!c->failed) {
        vsnprintf(c->message, sizeof(c->message), fmt, ap);
        c->failed = true;
    }
    return 1; /* handled: do not call the global handler */
}

HUELLA_PRINTF(4, 0)
static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    /* Unknown tags and similar oddities leave the image readable and are
     * ignored.  But libtiff only warns ("IO error during reading of
     * "DocumentName"; tag ignored") when a tag's value lies past the end of
     * the data, which is how a truncated file shows: that is an error. */
    (void)tif;
    (void)module;
    tiff_ctx *c = user;
    char msg[200]; /* leaves room for the prefix below */
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!c->failed && strstr(msg, "IO error") != NULL) {
        snprintf(c->message, sizeof(c->message), "truncated data: %s", msg);
        c->failed = true;
    }
    return 1;
}

static tmsize_t on_read(thandle_t h, void *buf, tmsize_t n)
{
    tiff_ctx *c = (tiff_ctx *)h;
    if (n <= 0 || c->pos >= c->len)
        return 0;
    uint64_t left = c->len - c->pos;
    uint64_t take = (uint64_t)n < left ? (uint64_t)n : left;
    memcpy(buf, c->data + c->pos, (size_t)take);
    c->pos += take;
    return (tmsize_t)take;
}

static tmsize_t on_write(thandle_t h, void *buf, tmsize_t n)
{
    (void)h;
    (void)buf;
    (void)n;
    return 0; /* read only */
}

static toff_t on_seek(thandle_t h, toff_t off, int whence)
{
    tiff_ctx *c = (tiff_ctx *)h;
    uint64_t base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = c->pos;
        break;
    case SEEK_END:
        base = c->len;
        break;
    default:
        return (toff_t)-1;
    }
    if (off > UINT64_MAX / 2 || base + off > (uint64_t)INT64_MAX)
        return (toff_t)-1;
    c->pos = base + off; /* past the end is allowed; reads there return 0 */
    return c->pos;
}

static int on_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t on_size(thandle_t h)
{
    return ((tiff_ctx *)h)->len;
}

/* The data is already in memory: hand it to libtiff as a mapped file, so
 * that it reads strips in place.  libtiff never writes through a map (the
 * maps it makes itself are read-only), so passing const data is sound.
 * This also avoids a libtiff 4.5.0 bug where small uncompressed tiles read
 * through on_read are refused ("Invalid tile byte count") because the
 * read buffer was rounded up to 1 KiB. */
static int on_map(thandle_t h, void **base, toff_t *size)
{
    tiff_ctx *c = (tiff_ctx *)h;
    *base = (void *)(uintptr_t)c->data;
    *size = c->len;
    return 1;
}

static void on_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

static huella_status tiff_failure(const tiff_ctx *c, const char *what, huella_error *err)
{
    if (c->failed)
        return huella_error_set(err, HUELLA_E_INPUT, "TIFF: %s", c->message);
    return huella_error_set(err, HUELLA_E_INPUT, "TIFF: %s", what);
}

static double resolution(TIFF *tif, ttag_t tag, uint16_t unit)
{
    float value = 0;
    if (!TIFFGetField(tif, tag, &value) || !isfinite(value) || value <= 0)
        return 0;
    if (unit == RESUNIT_INCH)
        return value;
    if (unit == RESUNIT_CENTIMETER)
        return value * 2.54;
    return 0; /* RESUNIT_NONE: only an aspect ratio */
}

/* Single-sample 8- or 16-bit grey in strips, one scanline at a time. */
static huella_status read_grey_lines(tiff_ctx *c, uint16_t bits, bool min_is_white,
                                     huella_error *err)
{
    size_t width = c->img->width;
    size_t expect = width * (bits / 8);
    tmsize_t size = TIFFScanlineSize(c->tif);
    if (size <= 0 || (uint64_t)size != expect)
        return tiff_failure(c, "unexpected scanline size", err);
    c->line = malloc(expect);
    if (c->line == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "TIFF: out of memory");
    for (uint32_t y = 0; y < c->img->height; y++) {
        if (TIFFReadScanline(c->tif, c->line, y, 0) < 0 || c->failed) {
            char what[64];
            snprintf(what, sizeof(what), "cannot read line %u", (unsigned)y);
            return tiff_failure(c, what, err);
        }
        uint8_t *dst = c->img->pixels + (size_t)y * width;
        if (bits == 8) {
            memcpy(dst, c->line, width);
        } else {
            for (size_t x = 0; x < width; x++) {
                uint16_t v;
                memcpy(&v, c->line + 2 * x, 2); /* libtiff gives host order */
                dst[x] = huella_image_from16(v);
            }
        }
        if (min_is_white)
            for (size_t x = 0; x < width; x++)
                dst[x] = (uint8_t)(255 - dst[x]);
    }
    return HUELLA_OK;
}

/* Everything else through libtiff's RGBA conversion.  libtiff returns
 * colour with premultiplied alpha, except for grey with unassociated alpha,
 * which it passes through straight. */
static huella_status read_rgba(tiff_ctx *c, bool straight_alpha, huella_error *err)
{
    char emsg[1024] = "";
    if (!TIFFRGBAImageOK(c->tif, emsg))
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "TIFF: %s",
                                emsg[0] ? emsg : "cannot convert this image to RGB");
    size_t width = c->img->width, height = c->img->height;
    size_t n = width * height; /* checked against the limits already */
    size_t bytes;
    if (!huella_size_mul(n, sizeof(uint32_t), &bytes))
        return huella_error_set(err, HUELLA_E_INPUT, "TIFF: image too large");
    c->raster = malloc(bytes);
    if (c->raster == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "TIFF: cannot allocate %zu bytes", bytes);
    if (!TIFFReadRGBAImageOriented(c->tif, (uint32_t)width, (uint32_t)height, c->raster,
                                   ORIENTATION_TOPLEFT, 1) ||
        c->failed)
        return tiff_failure(c, "cannot read the image data", err);
    for (size_t i = 0; i < n; i++) {
        uint32_t p = c->raster[i];
        unsigned r = TIFFGetR(p), g = TIFFGetG(p), b = TIFFGetB(p), a = TIFFGetA(p);
        if (straight_alpha) {
            r = huella_image_over_white(r, a);
            g = huella_image_over_white(g, a);
            b = huella_image_over_white(b, a);
        } else {
            /* Premultiplied: over white adds the uncovered part. */
            r = r + 255 - a > 255 ? 255 : r + 255 - a;
            g = g + 255 - a > 255 ? 255 : g + 255 - a;
            b = b + 255 - a > 255 ? 255 : b + 255 - a;
        }
        c->img->pixels[i] = huella_luma(r, g, b);
    }
    return HUELLA_OK;
}

static huella_status decode(tiff_ctx *c, const huella_image_limits *limits, huella_error *err)
{
    /* libtiff's largest single allocation (a strip, a tile): the pixel
     * limit at 8 bytes a pixel (16-bit RGBA) and some room for tags. */
    uint64_t px =
        limits != NULL && limits->max_pixels ? limits->max_pixels : HUELLA_IMAGE_MAX_PIXELS;
    uint64_t cap = px * 8 + 16u * 1024u * 1024u;
    if (px > (uint64_t)1 << 50 || cap > (uint64_t)INT64_MAX / 2)
        cap = (uint64_t)INT64_MAX / 2;

    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (opts == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "TIFF: out of memory");
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, c);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, c);
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t)cap);
    c->tif = TIFFClientOpenExt("TIFF", "r", (thandle_t)c, on_read, on_write, on_seek, on_close,
                               on_size, on_map, on_unmap, opts);
    TIFFOpenOptionsFree(opts);
    if (c->tif == NULL || c->failed)
        return tiff_failure(c, "cannot read the header", err);

    uint32_t width = 0, height = 0;
    if (!TIFFGetField(c->tif, TIFFTAG_IMAGEWIDTH, &width) ||
        !TIFFGetField(c->tif, TIFFTAG_IMAGELENGTH, &height))
        return huella_error_set(err, HUELLA_E_INPUT, "TIFF: no ImageWidth or ImageLength tag");
    huella_status st = huella_image_alloc(width, height, limits, HUELLA_IMAGE_TIFF, &c->img, err);
    if (st != HUELLA_OK)
        return st;

    uint16_t spp = 1, bits = 1, format = SAMPLEFORMAT_UINT, unit = RESUNIT_INCH;
    uint16_t photometric = PHOTOMETRIC_MINISBLACK;
    TIFFGetFieldDefaulted(c->tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(c->tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(c->tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(c->tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    bool have_photometric = TIFFGetField(c->tif, TIFFTAG_PHOTOMETRIC, &photometric) != 0;
    uint16_t extra_count = 0;
    uint16_t *extra = NULL;
    TIFFGetFieldDefaulted(c->tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
    bool alpha = extra_count > 0 && extra != NULL &&
                 (extra[0] == EXTRASAMPLE_ASSOCALPHA || extra[0] == EXTRASAMPLE_UNASSALPHA);
    bool grey = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;

    c->img->source_bits = bits;
    c->img->source_channels = (grey ? 1u : 3u) + (alpha ? 1u : 0u);
    c->img->ppi_x = resolution(c->tif, TIFFTAG_XRESOLUTION, unit);
    c->img->ppi_y = resolution(c->tif, TIFFTAG_YRESOLUTION, unit);

    if (have_photometric && grey && spp == 1 && (bits == 8 || bits == 16) &&
        format == SAMPLEFORMAT_UINT && !TIFFIsTiled(c->tif))
        return read_grey_lines(c, bits, photometric == PHOTOMETRIC_MINISWHITE, err);
    bool straight = grey && alpha && extra[0] == EXTRASAMPLE_UNASSALPHA;
    return read_rgba(c, straight, err);
}

huella_status huella_image_decode_tiff(const uint8_t *data, size_t len,
                                       const huella_image_limits *limits, huella_image **out,
                                       huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "TIFF: no output pointer");
    *out = NULL;
    if (data == NULL || huella_image_detect(data, len) != HUELLA_IMAGE_TIFF)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "TIFF: not a TIFF file (no II*/MM* byte-order header)");
    tiff_ctx c;
    memset(&c, 0, sizeof(c));
    c.data = data;
    c.len = len;
    huella_status st = decode(&c, limits, err);
    if (c.tif != NULL)
        TIFFClose(c.tif);
    free(c.line);
    free(c.raster);
    if (st != HUELLA_OK) {
        huella_image_free(c.img);
        return st;
    }
    *out = c.img;
    return HUELLA_OK;
}
