/*
 * draw.c - a picture of what the iris engine saw in one eye image.
 *
 * Contract: huella_iris_draw writes (PNG, or SVG when the path ends in
 * .svg) the eye with the pupil boundary (green), the limbus (blue), the
 * eyelid limits (orange) and the masked pixels inside the iris (lashes
 * red, reflections magenta), and below it the normalised strip (pupil side
 * on top, angle 0 at the left, occluded samples tinted) and the iris code
 * (8 rows, 2 bits per angular position; black/white bits, masked bits
 * grey), with a caption giving the quality and its reasons.  A view of
 * what the engine computed; nothing here takes part in a decision.
 */
#define _POSIX_C_SOURCE 200809L
#include "image/picture.h"
#include "iris/iris_internal.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARGIN  10.0
#define LINE    16.0
#define CODE_CW 2 /* pixels per code bit, across */
#define CODE_CH 4 /* pixels per code row, down */

/* An RGB24 surface of w x h filled by a callback-free loop over ARGB. */
static cairo_surface_t *rgb_surface(int w, int h, unsigned char **data, int *stride)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    *data = cairo_image_surface_get_data(s);
    *stride = cairo_image_surface_get_stride(s);
    return s;
}

static uint32_t grey(unsigned v)
{
    v = v > 255 ? 255 : v;
    return 0xff000000u | v << 16 | v << 8 | v;
}

static uint32_t tint(unsigned v, unsigned r, unsigned g, unsigned b)
{
    v = v > 255 ? 255 : v;
    return 0xff000000u | ((v + r) / 2) << 16 | ((v + g) / 2) << 8 | ((v + b) / 2);
}

static void paint_eye(cairo_t *cr, const huella_image *img, const iris_segmentation *seg, double ox,
                      double oy)
{
    int w = (int)img->width, h = (int)img->height, stride = 0;
    unsigned char *data = NULL;
    cairo_surface_t *s = rgb_surface(w, h, &data, &stride);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return;
    }
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++)
            row[x] = grey(img->pixels[(size_t)y * (size_t)w + (size_t)x]);
    }
    /* Masked pixels inside the iris, found by walking the rubber sheet
     * finely enough to reach every pixel of the annulus. */
    int nt = 4 * IRIS_STRIP_COLS, nr = 2 * IRIS_STRIP_ROWS;
    for (int i = 0; i < nt; i++) {
        double theta = 2 * IRIS_PI * i / nt, lid = iris_eyelid_at(seg, theta);
        for (int j = 0; j < nr; j++) {
            double t = (j + 0.5) / nr, x, y;
            iris_sheet_point(&seg->pupil, &seg->limbus, theta, t, &x, &y);
            int xi = (int)lround(x), yi = (int)lround(y);
            if (xi < 0 || yi < 0 || xi >= w || yi >= h)
                continue;
            unsigned v = img->pixels[(size_t)yi * (size_t)w + (size_t)xi];
            uint8_t c = seg->pixels[(size_t)yi * (size_t)w + (size_t)xi];
            uint32_t *px = (uint32_t *)(void *)(data + (size_t)yi * (size_t)stride) + xi;
            if (t > lid)
                *px = tint(v, 255, 160, 0);
            else if (c == IRIS_PIX_LASH)
                *px = tint(v, 255, 0, 0);
            else if (c == IRIS_PIX_REFLECTION)
                *px = tint(v, 255, 0, 255);
        }
    }
    cairo_surface_mark_dirty(s);
    cairo_set_source_surface(cr, s, ox, oy);
    cairo_paint(cr);
    cairo_surface_destroy(s);
}

static void stroke_boundary(cairo_t *cr, const huella_iris_boundary *b, double ox, double oy)
{
    for (int i = 0; i <= HUELLA_IRIS_CONTOUR_POINTS * 2; i++) {
        double t = 2 * IRIS_PI * i / (HUELLA_IRIS_CONTOUR_POINTS * 2);
        double r = iris_boundary_radius(b, t);
        double x = ox + b->cx + r * cos(t), y = oy + b->cy + r * sin(t);
        if (i == 0)
            cairo_move_to(cr, x, y);
        else
            cairo_line_to(cr, x, y);
    }
    cairo_stroke(cr);
}

static void stroke_eyelids(cairo_t *cr, const iris_segmentation *seg, double ox, double oy)
{
    bool down = false;
    for (int i = 0; i <= 256; i++) {
        double theta = 2 * IRIS_PI * i / 256, lid = iris_eyelid_at(seg, theta);
        if (lid >= 0.999) {
            if (down)
                cairo_stroke(cr);
            down = false;
            continue;
        }
        double x, y;
        iris_sheet_point(&seg->pupil, &seg->limbus, theta, lid, &x, &y);
        if (!down)
            cairo_move_to(cr, ox + x, oy + y);
        else
            cairo_line_to(cr, ox + x, oy + y);
        down = true;
    }
    if (down)
        cairo_stroke(cr);
}

static void paint_strip(cairo_t *cr, const iris_strip *strip, double ox, double oy)
{
    int stride = 0;
    unsigned char *data = NULL;
    cairo_surface_t *s = rgb_surface(IRIS_STRIP_COLS, IRIS_STRIP_ROWS, &data, &stride);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        for (int i = 0; i < IRIS_STRIP_ROWS; i++) {
            uint32_t *row = (uint32_t *)(void *)(data + (size_t)i * (size_t)stride);
            for (int j = 0; j < IRIS_STRIP_COLS; j++) {
                size_t k = (size_t)i * IRIS_STRIP_COLS + (size_t)j;
                unsigned v = (unsigned)lround(strip->value[k]);
                row[j] = strip->valid[k] ? grey(v) : tint(v, 255, 160, 0);
            }
        }
        cairo_surface_mark_dirty(s);
        cairo_set_source_surface(cr, s, ox, oy);
        cairo_paint(cr);
    }
    cairo_surface_destroy(s);
}

static void paint_code(cairo_t *cr, const huella_iris_code *code, double ox, double oy)
{
    int W = 2 * HUELLA_IRIS_COLS * CODE_CW, H = HUELLA_IRIS_ROWS * CODE_CH, stride = 0;
    unsigned char *data = NULL;
    cairo_surface_t *s = rgb_surface(W, H, &data, &stride);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        for (int y = 0; y < H; y++) {
            uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
            int r = y / CODE_CH;
            for (int x = 0; x < W; x++) {
                unsigned k = (unsigned)(x / CODE_CW);
                size_t byte = (size_t)r * HUELLA_IRIS_ROW_BYTES + k / 8;
                bool bit = (code->code[byte] >> (k % 8)) & 1u;
                bool ok = (code->mask[byte] >> (k % 8)) & 1u;
                row[x] = !ok ? 0xffb0b0b0u : bit ? 0xffffffffu : 0xff000000u;
            }
        }
        cairo_surface_mark_dirty(s);
        cairo_set_source_surface(cr, s, ox, oy);
        cairo_paint(cr);
    }
    cairo_surface_destroy(s);
}

static huella_status render(const huella_image *img, const iris_analysis *a, const char *path,
                            huella_error *err)
{
    const huella_iris_quality *q = &a->tmpl.quality;
    double width = fmax(img->width, 2 * HUELLA_IRIS_COLS * CODE_CW) + 2 * MARGIN;
    double strip_y = img->height + 2 * MARGIN;
    double code_y = strip_y + IRIS_STRIP_ROWS + MARGIN;
    double text_y = code_y + HUELLA_IRIS_ROWS * CODE_CH + MARGIN + LINE;
    double height = text_y + LINE * (1 + q->n_reasons) + MARGIN;
    huella_picture page;
    huella_status st = huella_picture_open(&page, path, width, height, err);
    if (st != HUELLA_OK)
        return st;
    cairo_t *cr = page.cr;
    paint_eye(cr, img, &a->seg, MARGIN, MARGIN);
    cairo_set_line_width(cr, 1.2);
    cairo_set_source_rgba(cr, 0.0, 0.85, 0.2, 0.9);
    stroke_boundary(cr, &a->seg.pupil, MARGIN, MARGIN);
    cairo_set_source_rgba(cr, 0.1, 0.4, 1.0, 0.9);
    stroke_boundary(cr, &a->seg.limbus, MARGIN, MARGIN);
    cairo_set_source_rgba(cr, 1.0, 0.55, 0.0, 0.95);
    stroke_eyelids(cr, &a->seg, MARGIN, MARGIN);
    paint_strip(cr, &a->strip, MARGIN, strip_y);
    paint_code(cr, &a->tmpl.code, MARGIN, code_y);
    char line[200];
    snprintf(line, sizeof(line),
             "quality %u: %.0f %% clear, sharpness %.1f, pupil/iris %.2f, iris %.0f px across",
             q->score, 100 * q->usable, q->sharpness, q->dilation, 2 * q->iris_radius);
    huella_picture_text(cr, MARGIN, text_y, 11, line);
    for (unsigned i = 0; i < q->n_reasons; i++)
        huella_picture_text(cr, MARGIN + 10, text_y + LINE * (i + 1), 11, q->reasons[i]);
    return huella_picture_close(&page, path, err);
}

huella_status huella_iris_draw(const huella_image *img, const huella_iris_options *opt,
                               const char *path, huella_error *err)
{
    if (img == NULL || path == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "nothing to draw");
    iris_analysis *a = malloc(sizeof(*a));
    if (a == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory drawing an iris");
    /* Draw even what would fail to enrol for lack of clear iris: that is
     * when a picture helps most.  Only a failed segmentation stops us. */
    huella_iris_options o = {.min_usable = 1e-9};
    (void)opt;
    huella_status st = iris_analyse(img, &o, a, err);
    if (st == HUELLA_OK) {
        st = render(img, a, path, err);
        iris_segmentation_release(&a->seg);
    }
    free(a);
    return st;
}
