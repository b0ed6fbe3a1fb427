/*
 * draw.c - the pictures of the face engine (`huella face show`,
 * `huella face compare --explain`), on the shared page helper.
 */
#include "face/face_internal.h"
#include "image/picture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MARGIN 16.0
#define LINE   16.0
#define PI     3.14159265358979323846

/* Paint an RGB image at (x, y) scaled by s. */
static huella_status paint_rgb(cairo_t *cr, const huella_face_rgb *img, double x, double y,
                               double s, huella_error *err)
{
    cairo_surface_t *surf =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)img->width, (int)img->height);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot draw the image");
    }
    cairo_surface_flush(surf);
    unsigned char *data = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    for (uint32_t r = 0; r < img->height; r++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)r * (size_t)stride);
        for (uint32_t c = 0; c < img->width; c++) {
            const uint8_t *p = img->pixels + ((size_t)r * img->width + c) * 3;
            row[c] = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
        }
    }
    cairo_surface_mark_dirty(surf);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, s, s);
    cairo_set_source_surface(cr, surf, 0, 0);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(surf);
    return HUELLA_OK;
}

huella_status huella_face_draw_show(const huella_face_rgb *img, const huella_face *faces, size_t n,
                                    const huella_face_rgb *chip, const huella_face_quality *q,
                                    const char *path, huella_error *err)
{
    double s = 640.0 / fmax(img->width, img->height);
    if (s > 4)
        s = 4;
    double iw = img->width * s, ih = img->height * s;
    double chip_s = 2.0;
    double width = MARGIN * 3 + iw + (chip ? HUELLA_FACE_CHIP * chip_s : 0);
    double height = MARGIN * 2 + fmax(ih, chip ? HUELLA_FACE_CHIP * chip_s : 0) + LINE * 9;
    huella_picture page;
    huella_status st = huella_picture_open(&page, path, width, height, err);
    if (st != HUELLA_OK)
        return st;
    cairo_t *cr = page.cr;
    if ((st = paint_rgb(cr, img, MARGIN, MARGIN, s, err)) != HUELLA_OK) {
        huella_picture_close(&page, path, NULL);
        return st;
    }
    char line[256];
    for (size_t i = 0; i < n; i++) {
        const huella_face *f = &faces[i];
        cairo_set_source_rgb(cr, i == 0 ? 0.1 : 0.9, i == 0 ? 0.8 : 0.6, 0.1);
        cairo_set_line_width(cr, 2);
        cairo_rectangle(cr, MARGIN + f->x * s, MARGIN + f->y * s, f->width * s, f->height * s);
        cairo_stroke(cr);
        for (int p = 0; p < HUELLA_FACE_LANDMARKS; p++) {
            cairo_arc(cr, MARGIN + f->landmarks[p].x * s, MARGIN + f->landmarks[p].y * s, 1.8, 0,
                      2 * PI);
            cairo_fill(cr);
        }
        snprintf(line, sizeof line, "%zu: %.2f", i + 1, f->score);
        huella_picture_text(cr, MARGIN + f->x * s + 2, MARGIN + f->y * s - 4, 12, line);
    }
    double ty = MARGIN + fmax(ih, chip ? HUELLA_FACE_CHIP * chip_s : 0) + LINE * 1.5;
    if (chip != NULL) {
        double cx = MARGIN * 2 + iw;
        if ((st = paint_rgb(cr, chip, cx, MARGIN, chip_s, err)) != HUELLA_OK) {
            huella_picture_close(&page, path, NULL);
            return st;
        }
        huella_picture_text(cr, cx, MARGIN + HUELLA_FACE_CHIP * chip_s + 14, 11,
                            "aligned chip (150 x 150)");
    }
    snprintf(line, sizeof line, "%zu face%s found", n, n == 1 ? "" : "s");
    huella_picture_text(cr, MARGIN, ty, 13, line);
    if (q != NULL) {
        snprintf(line, sizeof line,
                 "quality %d/100: eyes %.0f px apart, yaw %.0f, pitch %.0f, roll %.0f degrees, "
                 "sharpness %.1f, brightness %.0f, contrast %.0f",
                 q->score, q->inter_eye, q->yaw, q->pitch, q->roll, q->sharpness, q->brightness,
                 q->contrast);
        huella_picture_text(cr, MARGIN, ty + LINE, 11, line);
        int k = 2;
        for (unsigned f = 1; f <= HUELLA_FACE_Q_DETECTION; f <<= 1)
            if (q->reasons & f)
                huella_picture_text(cr, MARGIN + 10, ty + LINE * k++, 11,
                                    huella_face_quality_reason(f));
        if (q->reasons == 0)
            huella_picture_text(cr, MARGIN + 10, ty + LINE * k, 11, "no quality problem found");
    }
    return huella_picture_close(&page, path, err);
}

huella_status huella_face_draw_compare(const huella_face_rgb *a, const huella_face_rgb *b,
                                       double distance, const char *path, huella_error *err)
{
    double s = 2.0, cw = HUELLA_FACE_CHIP * s;
    double width = MARGIN * 3 + cw * 2, height = MARGIN * 2 + cw + LINE * 7;
    huella_picture page;
    huella_status st = huella_picture_open(&page, path, width, height, err);
    if (st != HUELLA_OK)
        return st;
    cairo_t *cr = page.cr;
    if ((st = paint_rgb(cr, a, MARGIN, MARGIN, s, err)) != HUELLA_OK ||
        (st = paint_rgb(cr, b, MARGIN * 2 + cw, MARGIN, s, err)) != HUELLA_OK) {
        huella_picture_close(&page, path, NULL);
        return st;
    }
    char line[256];
    double y = MARGIN + cw + LINE * 1.5;
    double t2 = huella_face_threshold(0.01), t3 = huella_face_threshold(0.001),
           t4 = huella_face_threshold(0.0001);
    const char *verdict = distance <= t4   ? "match at FMR 0.01 %"
                          : distance <= t3 ? "match at FMR 0.1 %"
                          : distance <= t2 ? "match at FMR 1 % only"
                                           : "no match at any documented operating point";
    snprintf(line, sizeof line, "distance %.3f, score %.2f: %s", distance,
             huella_face_score(distance), verdict);
    huella_picture_text(cr, MARGIN, y, 13, line);
    snprintf(line, sizeof line,
             "thresholds (distance at most): FMR 1 %% %.3f, FMR 0.1 %% %.3f, FMR 0.01 %% %.3f", t2,
             t3, t4);
    huella_picture_text(cr, MARGIN, y + LINE, 11, line);
    /* A bar: where the distance falls against the thresholds. */
    double bx = MARGIN, bw = width - 2 * MARGIN, by = y + LINE * 2, scale = bw / 1.2;
    cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
    cairo_rectangle(cr, bx, by, bw, 12);
    cairo_fill(cr);
    double th[3] = {t2, t3, t4};
    for (int i = 0; i < 3; i++) {
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.7);
        cairo_rectangle(cr, bx + th[i] * scale - 1, by - 3, 2, 18);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, distance <= t2 ? 0.1 : 0.8, distance <= t2 ? 0.6 : 0.1, 0.1);
    cairo_arc(cr, bx + fmin(distance, 1.2) * scale, by + 6, 6, 0, 2 * PI);
    cairo_fill(cr);
    huella_picture_text(cr, MARGIN, by + LINE * 2, 10,
                        "0 = identical; the dot is this pair, the bars the thresholds");
    return huella_picture_close(&page, path, err);
}
