/*
 * template.c - iris templates: making one from an image, and the versioned
 * byte format that stores it.
 *
 * Contract: huella_iris_encode runs segmentation (segment.c), the rubber
 * sheet (normalize.c), encoding and quality (encode.c) and keeps what a
 * comparison and a picture need.  huella_iris_template_encode/_decode
 * write and read the byte format documented in include/huella/iris.h,
 * field by field, big-endian, with a CRC-32 over the whole record; the
 * decoder never reads past len and refuses any field out of range, naming
 * it.  Thread-safe; no global state.
 */
#include "iris/iris_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "HIRS"

huella_status iris_analyse(const huella_image *img, const huella_iris_options *opt,
                           iris_analysis *a, huella_error *err)
{
    memset(a, 0, sizeof(*a));
    huella_status st = iris_segment(img, &a->seg, err);
    if (st != HUELLA_OK)
        return st;
    iris_unwrap(img, &a->seg, &a->strip);
    huella_iris_template *t = &a->tmpl;
    iris_encode_strip(&a->strip, &t->code);
    t->width = img->width;
    t->height = img->height;
    t->pupil = a->seg.pupil;
    t->limbus = a->seg.limbus;
    for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++)
        t->eyelid[i] = (uint8_t)lround(255 * a->seg.eyelid[i]);
    iris_quality_measure(img, &a->seg, &t->quality);
    double min_usable =
        opt != NULL && opt->min_usable > 0 ? opt->min_usable : HUELLA_IRIS_MIN_USABLE;
    if (a->seg.usable < min_usable) {
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "only %.0f %% of the iris is clear (at least %.0f %% needed)",
                              100 * a->seg.usable, 100 * min_usable);
        iris_segmentation_release(&a->seg);
    }
    return st;
}

huella_status huella_iris_encode(const huella_image *img, const huella_iris_options *opt,
                                 huella_iris_template **out, huella_error *err)
{
    *out = NULL;
    iris_analysis *a = malloc(sizeof(*a));
    if (a == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory encoding an iris");
    huella_status st = iris_analyse(img, opt, a, err);
    if (st == HUELLA_OK) {
        iris_segmentation_release(&a->seg);
        *out = malloc(sizeof(**out));
        if (*out == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory encoding an iris");
        else
            **out = a->tmpl;
    }
    free(a);
    return st;
}

void huella_iris_template_free(huella_iris_template *t)
{
    free(t);
}

/* ---- bytes -------------------------------------------------------------- */

static uint32_t crc32_iso_hdlc(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static uint16_t fixed16(double v, double scale)
{
    double s = round(v * scale);
    return (uint16_t)(s < 0 ? 0 : s > 65535 ? 65535 : s);
}

static uint32_t fixed32(double v, double scale)
{
    double s = round(v * scale);
    return (uint32_t)(s < 0 ? 0 : s > 4294967295.0 ? 4294967295.0 : s);
}

static void put_boundary(huella_buf *b, const huella_iris_boundary *c)
{
    huella_buf_append_u32be(b, fixed32(c->cx, 256));
    huella_buf_append_u32be(b, fixed32(c->cy, 256));
    for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++)
        huella_buf_append_u16be(b, fixed16(c->radius[i], 16));
}

huella_status huella_iris_template_encode(const huella_iris_template *t, uint8_t **data,
                                          size_t *len, huella_error *err)
{
    *data = NULL;
    *len = 0;
    if (t == NULL || t->width == 0 || t->height == 0 || t->width > 65535 || t->height > 65535)
        return huella_error_set(err, HUELLA_E_INPUT, "iris template: image size out of range");
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append(&b, MAGIC, 4);
    huella_buf_append_u16be(&b, HUELLA_IRIS_TEMPLATE_VERSION);
    huella_buf_append_u16be(&b, (uint16_t)t->width);
    huella_buf_append_u16be(&b, (uint16_t)t->height);
    huella_buf_append_u8(&b, (uint8_t)(t->quality.score > 100 ? 100 : t->quality.score));
    huella_buf_append_u8(&b, 0);
    huella_buf_append_u16be(&b, fixed16(t->quality.usable, 1000));
    huella_buf_append_u16be(&b, fixed16(t->quality.sharpness, 100));
    huella_buf_append_u16be(&b, fixed16(t->quality.dilation, 1000));
    huella_buf_append_u16be(&b, fixed16(t->quality.iris_radius, 16));
    put_boundary(&b, &t->pupil);
    put_boundary(&b, &t->limbus);
    huella_buf_append(&b, t->eyelid, HUELLA_IRIS_CONTOUR_POINTS);
    huella_buf_append(&b, t->code.code, HUELLA_IRIS_CODE_BYTES);
    huella_buf_append(&b, t->code.mask, HUELLA_IRIS_CODE_BYTES);
    if (b.ok)
        huella_buf_append_u32be(&b, crc32_iso_hdlc(b.data, b.len));
    if (!b.ok) {
        huella_buf_free(&b);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory writing an iris template");
    }
    *data = b.data;
    *len = b.len;
    return HUELLA_OK;
}

static bool get_boundary(huella_reader *r, huella_iris_boundary *c)
{
    uint32_t x, y;
    if (!huella_read_u32be(r, &x) || !huella_read_u32be(r, &y))
        return false;
    c->cx = (float)(x / 256.0);
    c->cy = (float)(y / 256.0);
    for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++) {
        uint16_t v;
        if (!huella_read_u16be(r, &v))
            return false;
        c->radius[i] = (float)(v / 16.0);
    }
    return true;
}

static huella_status bad(huella_error *err, const char *what)
{
    return huella_error_set(err, HUELLA_E_INPUT, "iris template: %s", what);
}

huella_status huella_iris_template_decode(const uint8_t *data, size_t len,
                                          huella_iris_template **out, huella_error *err)
{
    *out = NULL;
    if (data == NULL || len < 6 || memcmp(data, MAGIC, 4) != 0)
        return bad(err, "not an iris template (no HIRS magic)");
    uint16_t version = huella_load_u16be(data + 4);
    /* Versions 1 and 2 have the same bytes, but their codes came from
     * single-scale encoders: compared with this encoder's two-scale codes
     * half of their rows would be noise, so they are refused, not
     * compared wrongly. */
    if (version == 1 || version == 2)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "iris template: version %u was made by an earlier encoder whose "
                                "codes cannot be compared with version %u codes; encode the image "
                                "again",
                                version, HUELLA_IRIS_TEMPLATE_VERSION);
    if (version != HUELLA_IRIS_TEMPLATE_VERSION)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "iris template: version %u is not supported (want %u)", version,
                                HUELLA_IRIS_TEMPLATE_VERSION);
    if (len != HUELLA_IRIS_TEMPLATE_BYTES)
        return huella_error_set(err, HUELLA_E_INPUT, "iris template: %zu bytes, want %u", len,
                                HUELLA_IRIS_TEMPLATE_BYTES);
    if (crc32_iso_hdlc(data, len - 4) != huella_load_u32be(data + len - 4))
        return bad(err, "checksum mismatch (damaged bytes)");
    huella_iris_template *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory reading an iris template");
    huella_reader r;
    huella_reader_init(&r, data, len - 4);
    huella_read_skip(&r, 6);
    uint16_t w, h, u, s, d, ir;
    uint8_t q, zero;
    huella_status st = HUELLA_OK;
    if (!huella_read_u16be(&r, &w) || !huella_read_u16be(&r, &h) || !huella_read_u8(&r, &q) ||
        !huella_read_u8(&r, &zero) || !huella_read_u16be(&r, &u) || !huella_read_u16be(&r, &s) ||
        !huella_read_u16be(&r, &d) || !huella_read_u16be(&r, &ir) || !get_boundary(&r, &t->pupil) ||
        !get_boundary(&r, &t->limbus) ||
        !huella_read_bytes(&r, t->eyelid, HUELLA_IRIS_CONTOUR_POINTS) ||
        !huella_read_bytes(&r, t->code.code, HUELLA_IRIS_CODE_BYTES) ||
        !huella_read_bytes(&r, t->code.mask, HUELLA_IRIS_CODE_BYTES) || huella_reader_left(&r))
        st = bad(err, "truncated");
    else if (w == 0 || h == 0)
        st = bad(err, "image size is zero");
    else if (q > 100)
        st = bad(err, "quality above 100");
    else if (zero != 0)
        st = bad(err, "reserved byte 11 is not zero");
    else if (u > 1000 || d > 1000)
        st = bad(err, "usable area or dilation above 1");
    else if (t->pupil.cx > w || t->pupil.cy > h || t->limbus.cx > w || t->limbus.cy > h)
        st = bad(err, "boundary centre outside the image");
    if (st == HUELLA_OK) {
        for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS && st == HUELLA_OK; i++) {
            double a = 2 * IRIS_PI * i / HUELLA_IRIS_CONTOUR_POINTS, x, y;
            if (!(t->pupil.radius[i] > 0) || !(t->limbus.radius[i] > 0)) {
                st = bad(err, "boundary radius is zero");
                break;
            }
            iris_sheet_point(&t->pupil, &t->limbus, a, 0, &x, &y);
            double dx = x - t->limbus.cx, dy = y - t->limbus.cy;
            if (sqrt(dx * dx + dy * dy) >= iris_boundary_radius(&t->limbus, a))
                st = bad(err, "pupil boundary outside the limbus");
        }
    }
    if (st != HUELLA_OK) {
        free(t);
        return st;
    }
    t->width = w;
    t->height = h;
    t->quality.score = q;
    t->quality.usable = u / 1000.0;
    t->quality.sharpness = s / 100.0;
    t->quality.dilation = d / 1000.0;
    t->quality.iris_radius = ir / 16.0;
    iris_quality_score(&t->quality);
    t->quality.score = q; /* as recorded, whatever today's formula says */
    *out = t;
    return HUELLA_OK;
}
