/*
 * jp2.c - JPEG 2000 decoding through OpenJPEG 2.5, from memory.
 *
 * Contract: huella_image_decode_jp2 accepts a JP2 file (ISO/IEC 15444-1
 * Annex I, starting with the signature box 0000000C 6A502020 0D0A870A) or a
 * raw codestream (Annex A, starting with SOC FF4F and SIZ FF51), as found
 * inside ISO/IEC 19794-4/-5/-6 records, and gives 8-bit grey:
 *   - one component is grey; two are grey and alpha when the cdef box says
 *     so; three or more are R, G, B (after OpenJPEG's inverse component
 *     transform) converted with huella_luma(), or Y, Cb, Cr when the colr
 *     box says sYCC/e-YCC, in which case Y is the grey already;
 *   - any precision (1 to 31 bits, signed or not) is rescaled to 8 bits
 *     with rounding; signed samples are shifted by 2^(prec-1) first;
 *   - components subsampled with respect to the first one (XRsiz/YRsiz)
 *     are upsampled to it by nearest neighbour;
 *   - alpha is composited over white.
 * The resolution comes from the jp2h/res box, capture resolution (resc)
 * in preference to default display resolution (resd), each storing
 * pixels per metre as N / D * 10^E (Annex I.5.3.7); a raw codestream has
 * none (ppi 0).
 *
 * Before OpenJPEG sees the data we walk the JP2 boxes ourselves (bounded:
 * every box must fit in its parent) and read the SIZ marker, so the image
 * size, the number of components (at most 4) and the number of tiles (at
 * most 65535, the limit of Isot) are checked before OpenJPEG allocates
 * anything.  OpenJPEG runs in strict mode, so a codestream cut short is an
 * error rather than a blurred image, and its messages go to handlers set on
 * this one codec (not process-wide).
 */
#include "image/internal.h"

#include <math.h>
#include <openjpeg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define J2K_MAX_TILES      65535u
#define J2K_MAX_COMPONENTS 4u

typedef struct jp2_ctx {
    const uint8_t *data;
    size_t len;
    size_t pos;
    char message[256]; /* the first error OpenJPEG reported */
    bool failed;
    opj_codec_t *codec;
    opj_stream_t *stream;
    opj_image_t *image;
    huella_image *img;
    uint32_t *index; /* column and row maps for subsampled components */
} jp2_ctx;

/* What our own reading of the file found. */
typedef struct jp2_info {
    bool is_jp2;           /* JP2 file, not a raw codestream */
    size_t cs_off, cs_len; /* the codestream */
    double ppi_x, ppi_y;
    uint64_t width, height; /* of the first component */
    unsigned components;
} jp2_info;

/* ---- Callbacks ------------------------------------------------------ */

static void on_error(const char *msg, void *user)
{
    jp2_ctx *c = user;
    if (c->failed || msg == NULL)
        return;
    snprintf(c->message, sizeof(c->message), "%s", msg);
    size_t n = strlen(c->message);
    while (n > 0 && (c->message[n - 1] == '\n' || c->message[n - 1] == '\r'))
        c->message[--n] = '\0';
    c->failed = true;
}

static void on_quiet(const char *msg, void *user)
{
    (void)msg;
    (void)user;
}

static OPJ_SIZE_T on_read(void *buf, OPJ_SIZE_T n, void *user)
{
    jp2_ctx *c = user;
    if (c->pos >= c->len)
        return (OPJ_SIZE_T)-1;
    size_t take = n < c->len - c->pos ? n : c->len - c->pos;
    memcpy(buf, c->data + c->pos, take);
    c->pos += take;
    return take;
}

static OPJ_OFF_T on_skip(OPJ_OFF_T n, void *user)
{
    jp2_ctx *c = user;
    if (n < 0) {
        uint64_t back = (uint64_t)(-(n + 1)) + 1; /* |n|, even for INT64_MIN */
        if (back > c->pos)
            return -1;
        c->pos -= (size_t)back;
        return n;
    }
    size_t left = c->len - c->pos;
    size_t take = (uint64_t)n < left ? (size_t)n : left;
    if (take == 0 && n > 0)
        return -1;
    c->pos += take;
    return (OPJ_OFF_T)take;
}

static OPJ_BOOL on_seek(OPJ_OFF_T off, void *user)
{
    jp2_ctx *c = user;
    if (off < 0 || (uint64_t)off > c->len)
        return OPJ_FALSE;
    c->pos = (size_t)off;
    return OPJ_TRUE;
}

/* ---- Our own reading: boxes, resolution, SIZ ------------------------ */

typedef struct box {
    char type[5];
    size_t off;      /* of the box header */
    size_t body;     /* of the contents */
    size_t body_len; /* contents, without the header */
} box;

static void box_name(const uint8_t *p, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = (char)(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?');
    out[4] = '\0';
}

/* The box at *pos inside [.., end); advances *pos past it.  false with a
 * message when the box does not fit. */
static huella_status next_box(const uint8_t *data, size_t *pos, size_t end, box *b,
                              huella_error *err)
{
    size_t p = *pos;
    if (end - p < 8) {
        return huella_error_set(
            err, HUELLA_E_INPUT,
            "JPEG 2000: %zu stray bytes at offset %zu where a box header should be", end - p, p);
    }
    uint64_t length = huella_load_u32be(data + p);
    box_name(data + p + 4, b->type);
    size_t header = 8;
    if (length == 1) {
        if (end - p < 16) {
            return huella_error_set(
                err, HUELLA_E_INPUT,
                "JPEG 2000: box '%s' at offset %zu is cut in its extended length", b->type, p);
        }
        length = (uint64_t)huella_load_u32be(data + p + 8) << 32 | huella_load_u32be(data + p + 12);
        header = 16;
    } else if (length == 0) {
        length = end - p; /* the box runs to the end of its container */
    }
    if (length < header) {
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: box '%s' at offset %zu has an invalid length %llu",
                                b->type, p, (unsigned long long)length);
    }
    if (length > end - p) {
        return huella_error_set(
            err, HUELLA_E_INPUT,
            "JPEG 2000: box '%s' at offset %zu declares %llu bytes but only %zu "
            "remain (truncated file?)",
            b->type, p, (unsigned long long)length, end - p);
    }
    b->off = p;
    b->body = p + header;
    b->body_len = (size_t)length - header;
    *pos = p + (size_t)length;
    return HUELLA_OK;
}

/* resc/resd: VR_N, VR_D, HR_N, HR_D (u16), VR_E, HR_E (s8), pixels per
 * metre = N / D * 10^E (ISO/IEC 15444-1 I.5.3.7.1). */
static huella_status read_resolution(const uint8_t *data, const box *b, jp2_info *info,
                                     huella_error *err)
{
    if (b->body_len < 10) {
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: resolution box '%s' holds %zu bytes, expected 10",
                                b->type, b->body_len);
    }
    const uint8_t *p = data + b->body;
    unsigned vn = huella_load_u16be(p), vd = huella_load_u16be(p + 2);
    unsigned hn = huella_load_u16be(p + 4), hd = huella_load_u16be(p + 6);
    int ve = (int8_t)p[8], he = (int8_t)p[9];
    if (vd == 0 || hd == 0) {
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: resolution box '%s' has a zero denominator", b->type);
    }
    info->ppi_y = huella_image_ppi_from_ppm((double)vn / vd * pow(10.0, ve));
    info->ppi_x = huella_image_ppi_from_ppm((double)hn / hd * pow(10.0, he));
    return HUELLA_OK;
}

static huella_status read_jp2h(const uint8_t *data, const box *jp2h, jp2_info *info,
                               huella_error *err)
{
    size_t pos = jp2h->body, end = jp2h->body + jp2h->body_len;
    while (pos < end) {
        box b;
        huella_status st = next_box(data, &pos, end, &b, err);
        if (st != HUELLA_OK)
            return st;
        if (strcmp(b.type, "res ") != 0)
            continue;
        size_t rpos = b.body, rend = b.body + b.body_len;
        box capture = {.type = ""}, display = {.type = ""};
        while (rpos < rend) {
            box r;
            st = next_box(data, &rpos, rend, &r, err);
            if (st != HUELLA_OK)
                return st;
            if (strcmp(r.type, "resc") == 0 && capture.type[0] == '\0')
                capture = r;
            else if (strcmp(r.type, "resd") == 0 && display.type[0] == '\0')
                display = r;
        }
        if (capture.type[0] != '\0')
            return read_resolution(data, &capture, info, err);
        if (display.type[0] != '\0')
            return read_resolution(data, &display, info, err);
    }
    return HUELLA_OK;
}

/* Find the codestream of a JP2 file and the resolution in its header. */
static huella_status read_boxes(const uint8_t *data, size_t len, jp2_info *info, huella_error *err)
{
    size_t pos = 0;
    bool first = true, have_jp2h = false;
    while (pos < len) {
        box b;
        huella_status st = next_box(data, &pos, len, &b, err);
        if (st != HUELLA_OK)
            return st;
        if (first && strcmp(b.type, "jP  ") != 0) {
            return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: no signature box");
        }
        first = false;
        if (strcmp(b.type, "jp2h") == 0 && !have_jp2h) {
            have_jp2h = true;
            st = read_jp2h(data, &b, info, err);
            if (st != HUELLA_OK)
                return st;
        } else if (strcmp(b.type, "jp2c") == 0) {
            if (!have_jp2h) {
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "JPEG 2000: codestream box before the header box (jp2h)");
            }
            info->cs_off = b.body;
            info->cs_len = b.body_len;
            return HUELLA_OK;
        }
    }
    return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: no codestream box (jp2c)");
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* SOC and SIZ (ISO/IEC 15444-1 A.5.1): sizes, components, tiles. */
static huella_status read_siz(const uint8_t *data, jp2_info *info,
                              const huella_image_limits *limits, huella_error *err)
{
    huella_reader r;
    huella_reader_init(&r, data + info->cs_off, info->cs_len);
    uint16_t soc, siz, lsiz, rsiz, csiz;
    uint32_t xsiz, ysiz, xo, yo, xt, yt, xto, yto;
    if (!huella_read_u16be(&r, &soc) || !huella_read_u16be(&r, &siz) || soc != 0xff4f ||
        siz != 0xff51) {
        return huella_error_set(
            err, HUELLA_E_INPUT,
            "JPEG 2000: the codestream does not start with SOC and SIZ markers");
    }
    if (!huella_read_u16be(&r, &lsiz) || !huella_read_u16be(&r, &rsiz) ||
        !huella_read_u32be(&r, &xsiz) || !huella_read_u32be(&r, &ysiz) ||
        !huella_read_u32be(&r, &xo) || !huella_read_u32be(&r, &yo) || !huella_read_u32be(&r, &xt) ||
        !huella_read_u32be(&r, &yt) || !huella_read_u32be(&r, &xto) ||
        !huella_read_u32be(&r, &yto) || !huella_read_u16be(&r, &csiz)) {
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: truncated SIZ marker segment");
    }
    if (xsiz <= xo || ysiz <= yo) {
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: SIZ gives an empty image (grid %u x %u, offset %u, %u)",
                                (unsigned)xsiz, (unsigned)ysiz, (unsigned)xo, (unsigned)yo);
    }
    if (csiz == 0 || lsiz != 38 + 3u * csiz) {
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: SIZ declares %u components in a %u-byte segment",
                                (unsigned)csiz, (unsigned)lsiz);
    }
    if (csiz > J2K_MAX_COMPONENTS) {
        return huella_error_set(
            err, HUELLA_E_UNSUPPORTED,
            "JPEG 2000: %u components; at most %u (colour and alpha) are supported", (unsigned)csiz,
            J2K_MAX_COMPONENTS);
    }
    uint8_t ssiz, dx, dy;
    if (!huella_read_u8(&r, &ssiz) || !huella_read_u8(&r, &dx) || !huella_read_u8(&r, &dy)) {
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: truncated SIZ marker segment");
    }
    if (dx == 0 || dy == 0) {
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: component 0 has a zero subsampling");
    }
    info->components = csiz;
    info->width = ceil_div(xsiz, dx) - ceil_div(xo, dx);
    info->height = ceil_div(ysiz, dy) - ceil_div(yo, dy);
    if (!(info->width > 0 && info->height > 0)) {
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: component 0 is empty");
    }
    huella_status st = huella_image_check_size(info->width, info->height, limits, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "JPEG 2000: ");
        return st;
    }
    if (xt == 0 || yt == 0 || xto > xo || yto > yo || (uint64_t)xto + xt <= xo ||
        (uint64_t)yto + yt <= yo) {
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: invalid tile grid in SIZ");
    }
    uint64_t tiles = ceil_div((uint64_t)xsiz - xto, xt) * ceil_div((uint64_t)ysiz - yto, yt);
    if (tiles > J2K_MAX_TILES) {
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: %llu tiles, more than the %u the standard allows",
                                (unsigned long long)tiles, J2K_MAX_TILES);
    }
    return HUELLA_OK;
}

/* ---- Samples to grey ------------------------------------------------ */

typedef struct plane {
    const opj_image_comp_t *comp;
    int64_t offset;            /* added to make signed samples unsigned */
    uint64_t max;              /* 2^prec - 1 */
    const uint32_t *col, *row; /* maps from output pixels to samples; NULL if 1:1 */
} plane;

static uint8_t sample(const plane *p, size_t x, size_t y)
{
    size_t sx = p->col != NULL ? p->col[x] : x;
    size_t sy = p->row != NULL ? p->row[y] : y;
    int64_t v = (int64_t)p->comp->data[sy * p->comp->w + sx] + p->offset;
    if (v < 0)
        v = 0;
    return huella_image_rescale((uint64_t)v, p->max);
}

/* Map component c onto the grid of component 0, through the reference
 * grid: output column x is reference column (x0_0 + x) * dx_0. */
static huella_status make_plane(jp2_ctx *c, unsigned i, uint32_t *maps, plane *p, huella_error *err)
{
    const opj_image_comp_t *c0 = &c->image->comps[0];
    const opj_image_comp_t *ci = &c->image->comps[i];
    if (ci->data == NULL || ci->w == 0 || ci->h == 0 || ci->dx == 0 || ci->dy == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: component %u has no data", i);
    if (ci->prec < 1 || ci->prec > 31)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "JPEG 2000: component %u has %u-bit samples", i,
                                (unsigned)ci->prec);
    p->comp = ci;
    p->max = ((uint64_t)1 << ci->prec) - 1;
    p->offset = ci->sgnd ? (int64_t)1 << (ci->prec - 1) : 0;
    p->col = p->row = NULL;
    if (ci->dx == c0->dx && ci->dy == c0->dy && ci->w == c0->w && ci->h == c0->h &&
        ci->x0 == c0->x0 && ci->y0 == c0->y0)
        return HUELLA_OK;
    uint32_t *col = maps, *row = maps + c0->w;
    for (uint32_t x = 0; x < c0->w; x++) {
        uint64_t ref = ((uint64_t)c0->x0 + x) * c0->dx;
        uint64_t s = ref / ci->dx;
        s = s > ci->x0 ? s - ci->x0 : 0;
        col[x] = (uint32_t)(s < ci->w ? s : ci->w - 1);
    }
    for (uint32_t y = 0; y < c0->h; y++) {
        uint64_t ref = ((uint64_t)c0->y0 + y) * c0->dy;
        uint64_t s = ref / ci->dy;
        s = s > ci->y0 ? s - ci->y0 : 0;
        row[y] = (uint32_t)(s < ci->h ? s : ci->h - 1);
    }
    p->col = col;
    p->row = row;
    return HUELLA_OK;
}

static huella_status to_grey(jp2_ctx *c, const huella_image_limits *limits, huella_error *err)
{
    opj_image_t *im = c->image;
    if (im->numcomps < 1 || im->comps == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: no components");
    const opj_image_comp_t *c0 = &im->comps[0];
    huella_status st = huella_image_alloc(c0->w, c0->h, limits, HUELLA_IMAGE_JP2, &c->img, err);
    if (st != HUELLA_OK)
        return st;

    /* Which components to use. */
    unsigned colour[3] = {0, 0, 0}, ncolour = 1;
    int alpha = -1;
    bool cmyk = false;
    if (im->numcomps >= 3 && im->color_space != OPJ_CLRSPC_GRAY) {
        if (im->color_space == OPJ_CLRSPC_SYCC || im->color_space == OPJ_CLRSPC_EYCC) {
            ncolour = 1; /* Y is the luma */
        } else {
            ncolour = 3;
            colour[1] = 1;
            colour[2] = 2;
            cmyk = im->color_space == OPJ_CLRSPC_CMYK && im->numcomps >= 4;
        }
        if (!cmyk && im->numcomps >= 4 && im->comps[3].alpha)
            alpha = 3;
        c->img->source_channels = 3;
    } else {
        if (im->numcomps >= 2 && im->comps[1].alpha)
            alpha = 1;
        c->img->source_channels = 1;
    }
    if (alpha >= 0)
        c->img->source_channels++;
    c->img->source_bits = c0->prec;

    size_t maps_per_plane = (size_t)c0->w + c0->h;
    c->index = malloc(maps_per_plane * 5 * sizeof(uint32_t));
    if (c->index == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "JPEG 2000: out of memory");
    plane planes[5];
    unsigned nplanes = 0, want[5];
    for (unsigned i = 0; i < ncolour; i++)
        want[nplanes++] = colour[i];
    if (cmyk)
        want[nplanes++] = 3;
    if (alpha >= 0)
        want[nplanes++] = (unsigned)alpha;
    for (unsigned i = 0; i < nplanes; i++) {
        st = make_plane(c, want[i], c->index + i * maps_per_plane, &planes[i], err);
        if (st != HUELLA_OK)
            return st;
    }

    size_t w = c0->w, h = c0->h;
    for (size_t y = 0; y < h; y++) {
        uint8_t *dst = c->img->pixels + y * w;
        for (size_t x = 0; x < w; x++) {
            unsigned v[4];
            for (unsigned i = 0; i < nplanes; i++)
                v[i] = sample(&planes[i], x, y);
            uint8_t g;
            if (cmyk) {
                unsigned k = 255 - v[3];
                g = huella_luma((255 - v[0]) * k / 255, (255 - v[1]) * k / 255,
                                (255 - v[2]) * k / 255);
            } else if (ncolour == 3) {
                if (alpha >= 0)
                    for (unsigned i = 0; i < 3; i++)
                        v[i] = huella_image_over_white(v[i], v[3]);
                g = huella_luma(v[0], v[1], v[2]);
            } else {
                g = alpha >= 0 ? huella_image_over_white(v[0], v[1]) : (uint8_t)v[0];
            }
            dst[x] = g;
        }
    }
    return HUELLA_OK;
}

/* ---- Decoding ------------------------------------------------------- */

static huella_status openjpeg_failure(const jp2_ctx *c, const char *what, huella_error *err)
{
    if (c->failed)
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: %s (%s)", what, c->message);
    return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: %s", what);
}

static huella_status decode(jp2_ctx *c, const jp2_info *info, const huella_image_limits *limits,
                            huella_error *err)
{
    c->codec = opj_create_decompress(info->is_jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    if (c->codec == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "JPEG 2000: cannot create a decoder");
    opj_set_error_handler(c->codec, on_error, c);
    opj_set_warning_handler(c->codec, on_quiet, c);
    opj_set_info_handler(c->codec, on_quiet, c);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    if (!opj_setup_decoder(c->codec, &params) || !opj_decoder_set_strict_mode(c->codec, OPJ_TRUE))
        return openjpeg_failure(c, "cannot set up the decoder", err);

    c->stream = opj_stream_create(64 * 1024, OPJ_TRUE);
    if (c->stream == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "JPEG 2000: cannot create a stream");
    opj_stream_set_read_function(c->stream, on_read);
    opj_stream_set_skip_function(c->stream, on_skip);
    opj_stream_set_seek_function(c->stream, on_seek);
    opj_stream_set_user_data(c->stream, c, NULL);
    opj_stream_set_user_data_length(c->stream, c->len);

    if (!opj_read_header(c->stream, c->codec, &c->image) || c->image == NULL)
        return openjpeg_failure(c, "cannot read the header", err);
    /* OpenJPEG read the same SIZ as we did; check its view anyway. */
    if (c->image->numcomps < 1 || c->image->numcomps > J2K_MAX_COMPONENTS ||
        c->image->x1 <= c->image->x0 || c->image->y1 <= c->image->y0 ||
        c->image->comps[0].w != info->width || c->image->comps[0].h != info->height)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: the header does not match the SIZ marker");
    if (!opj_decode(c->codec, c->stream, c->image))
        return openjpeg_failure(c, "cannot decode the image data", err);
    if (!opj_end_decompress(c->codec, c->stream))
        return openjpeg_failure(c, "cannot finish decoding", err);

    huella_status st = to_grey(c, limits, err);
    if (st != HUELLA_OK)
        return st;
    c->img->ppi_x = info->ppi_x;
    c->img->ppi_y = info->ppi_y;
    return HUELLA_OK;
}

huella_status huella_image_decode_jp2(const uint8_t *data, size_t len,
                                      const huella_image_limits *limits, huella_image **out,
                                      huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG 2000: no output pointer");
    *out = NULL;
    if (data == NULL || huella_image_detect(data, len) != HUELLA_IMAGE_JP2)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "JPEG 2000: neither a JP2 signature box nor a codestream (SOC, "
                                "SIZ)");
    jp2_info info;
    memset(&info, 0, sizeof(info));
    info.is_jp2 = data[0] != 0xff;
    huella_status st = HUELLA_OK;
    if (info.is_jp2) {
        st = read_boxes(data, len, &info, err);
    } else {
        info.cs_off = 0;
        info.cs_len = len;
    }
    if (st == HUELLA_OK)
        st = read_siz(data, &info, limits, err);
    if (st != HUELLA_OK)
        return st;

    jp2_ctx c;
    memset(&c, 0, sizeof(c));
    c.data = data;
    c.len = len;
    st = decode(&c, &info, limits, err);
    if (c.stream != NULL)
        opj_stream_destroy(c.stream);
    if (c.codec != NULL)
        opj_destroy_codec(c.codec);
    if (c.image != NULL)
        opj_image_destroy(c.image);
    free(c.index);
    if (st != HUELLA_OK) {
        huella_image_free(c.img);
        return st;
    }
    *out = c.img;
    return HUELLA_OK;
}
