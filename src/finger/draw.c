/*
 * draw.c - pictures that explain the fingerprint engine to an examiner.
 *
 * Contract: huella_finger_draw writes the print with its minutiae (ridge
 * endings as circles, bifurcations as squares, each with a tick along its
 * direction, quality as opacity), cores and deltas; huella_finger_draw_pair
 * puts two prints side by side and joins the minutiae the matcher paired.
 * The output format follows the file name: .svg for a vector picture
 * (the print embedded as PNG), anything else PNG.  Coordinates are the
 * template's 500-ppi frame, so the image must be at 500 ppi too (callers
 * resample with huella_image_scale).  Nothing here affects a decision:
 * these are views of what the engine computed.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/finger.h"
#include "image/picture.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* A cairo image surface holding the grey pixels (as RGB24). */
static cairo_surface_t *grey_surface(const huella_image *img)
{
    cairo_surface_t *s =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)img->width, (int)img->height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (uint32_t y = 0; y < img->height; y++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
        const uint8_t *src = img->pixels + (size_t)y * img->width;
        for (uint32_t x = 0; x < img->width; x++)
            row[x] = 0xff000000u | (uint32_t)src[x] << 16 | (uint32_t)src[x] << 8 | src[x];
    }
    cairo_surface_mark_dirty(s);
    return s;
}

static void draw_minutiae(cairo_t *cr, const huella_finger_template *t, double ox, double oy)
{
    cairo_set_line_width(cr, 1.6);
    for (size_t i = 0; i < t->n_minutiae; i++) {
        const huella_minutia *m = &t->minutiae[i];
        double x = ox + m->x, y = oy + m->y;
        double alpha = m->quality > 0 ? 0.45 + 0.55 * m->quality / 100.0 : 1.0;
        if (m->type == HUELLA_MINUTIA_BIFURCATION) {
            cairo_set_source_rgba(cr, 0.10, 0.45, 0.95, alpha);
            cairo_rectangle(cr, x - 4, y - 4, 8, 8);
        } else {
            cairo_set_source_rgba(cr, 0.90, 0.15, 0.10, alpha);
            cairo_new_sub_path(cr);
            cairo_arc(cr, x, y, 4.5, 0, 2 * PI);
        }
        /* Directions are counterclockwise from +x with y pointing down. */
        cairo_move_to(cr, x + 4.5 * cos(m->direction), y - 4.5 * sin(m->direction));
        cairo_line_to(cr, x + 14 * cos(m->direction), y - 14 * sin(m->direction));
        cairo_stroke(cr);
    }
    cairo_set_line_width(cr, 2.0);
    for (size_t i = 0; i < t->n_cores; i++) {
        cairo_set_source_rgba(cr, 0.0, 0.65, 0.25, 0.95);
        cairo_new_sub_path(cr);
        cairo_arc(cr, ox + t->cores[i].x, oy + t->cores[i].y, 9, 0, 2 * PI);
        cairo_stroke(cr);
    }
    for (size_t i = 0; i < t->n_deltas; i++) {
        double x = ox + t->deltas[i].x, y = oy + t->deltas[i].y;
        cairo_set_source_rgba(cr, 0.85, 0.55, 0.0, 0.95);
        cairo_move_to(cr, x, y - 10);
        cairo_line_to(cr, x + 9, y + 6);
        cairo_line_to(cr, x - 9, y + 6);
        cairo_close_path(cr);
        cairo_stroke(cr);
    }
}

static void paint_print(cairo_t *cr, const huella_image *img, double ox, double oy)
{
    cairo_surface_t *s = grey_surface(img);
    cairo_set_source_surface(cr, s, ox, oy);
    cairo_paint(cr);
    cairo_surface_destroy(s);
}

#define MARGIN  10.0
#define CAPTION 24.0

huella_status huella_finger_draw(const huella_image *img, const huella_finger_template *t,
                                 const char *path, huella_error *err)
{
    if (img == NULL || t == NULL || img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: nothing to draw", path);
    huella_picture c;
    huella_status st = huella_picture_open(&c, path, img->width + 2 * MARGIN,
                                           img->height + 2 * MARGIN + CAPTION, err);
    if (st != HUELLA_OK)
        return st;
    paint_print(c.cr, img, MARGIN, MARGIN);
    draw_minutiae(c.cr, t, MARGIN, MARGIN);
    char caption[160];
    size_t endings = 0, bifurcations = 0;
    for (size_t i = 0; i < t->n_minutiae; i++) {
        endings += t->minutiae[i].type == HUELLA_MINUTIA_ENDING;
        bifurcations += t->minutiae[i].type == HUELLA_MINUTIA_BIFURCATION;
    }
    snprintf(caption, sizeof(caption),
             "%zu minutiae: %zu endings (o), %zu bifurcations ([]); "
             "quality %u",
             t->n_minutiae, endings, bifurcations, t->finger_quality);
    huella_picture_text(c.cr, MARGIN, img->height + MARGIN + 18, 13, caption);
    return huella_picture_close(&c, path, err);
}

huella_status huella_finger_draw_pair(const huella_image *img_a, const huella_finger_template *a,
                                      const huella_image *img_b, const huella_finger_template *b,
                                      const huella_finger_pairing *pairs, size_t n_pairs,
                                      double score, const char *path, huella_error *err)
{
    if (img_a == NULL || img_b == NULL || a == NULL || b == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: nothing to draw", path);
    double h = fmax(img_a->height, img_b->height);
    double bx = img_a->width + 3 * MARGIN;
    huella_picture c;
    huella_status st =
        huella_picture_open(&c, path, bx + img_b->width + MARGIN, h + 2 * MARGIN + CAPTION, err);
    if (st != HUELLA_OK)
        return st;
    paint_print(c.cr, img_a, MARGIN, MARGIN);
    paint_print(c.cr, img_b, bx, MARGIN);
    draw_minutiae(c.cr, a, MARGIN, MARGIN);
    draw_minutiae(c.cr, b, bx, MARGIN);
    cairo_set_line_width(c.cr, 1.3);
    for (size_t i = 0; i < n_pairs; i++) {
        if (pairs[i].a >= a->n_minutiae || pairs[i].b >= b->n_minutiae)
            continue;
        const huella_minutia *ma = &a->minutiae[pairs[i].a];
        const huella_minutia *mb = &b->minutiae[pairs[i].b];
        /* Hue runs along the pairs so that crossing lines stay apart. */
        double hue = (double)i / (double)(n_pairs > 1 ? n_pairs : 1);
        cairo_set_source_rgba(c.cr, 0.2 + 0.7 * hue, 0.75 - 0.5 * hue, 0.25 + 0.5 * (1 - hue),
                              0.85);
        cairo_move_to(c.cr, MARGIN + ma->x, MARGIN + ma->y);
        cairo_line_to(c.cr, bx + mb->x, MARGIN + mb->y);
        cairo_stroke(c.cr);
    }
    char caption[200];
    snprintf(caption, sizeof(caption),
             "score %.1f: %zu paired minutiae (lines) of %zu and %zu; thresholds FMR 1%% %.0f, "
             "0.1%% %.0f, 0.01%% %.0f",
             score, n_pairs, a->n_minutiae, b->n_minutiae, HUELLA_FINGER_THRESHOLD_FMR100,
             HUELLA_FINGER_THRESHOLD_FMR1000, HUELLA_FINGER_THRESHOLD_FMR10000);
    huella_picture_text(c.cr, MARGIN, h + MARGIN + 18, 13, caption);
    return huella_picture_close(&c, path, err);
}
