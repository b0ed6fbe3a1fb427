/*
 * normalize.c - Daugman's rubber sheet: the iris between its two
 * boundaries resampled onto a fixed polar strip.
 *
 * Contract: iris_unwrap samples IRIS_STRIP_ROWS radial positions (from the
 * pupil boundary, row 0, to IRIS_SHEET_OUTER of the way to the limbus: the
 * outermost part is the least reliable, soft edge and often shadowed or
 * occluded) by IRIS_STRIP_COLS angles (column j
 * at 2 pi j / IRIS_STRIP_COLS from +x towards +y) of the image, bilinearly,
 * at x = (1 - t) x_pupil(theta) + t x_limbus(theta),
 * t = IRIS_SHEET_OUTER (i + 0.5) / rows,
 * so that pupil dilation and the offset between the two boundaries are
 * undone (J. Daugman, "How iris recognition works", IEEE Trans. CSVT 14(1),
 * 2004, section 3; L. Masek, "Recognition of human iris patterns for
 * biometric identification", University of Western Australia, 2003).
 * A sample is valid when it lies inside the image, below the eyelid limit
 * of its angle and on a pixel that the segmentation left clear (no
 * reflection, no lash).  Pure function; thread-safe.
 */
#include "iris/iris_internal.h"

#include <math.h>

/* Bilinear interpolation, clamped to the image. */
static double bilinear(const huella_image *img, double x, double y)
{
    int w = (int)img->width, h = (int)img->height;
    x = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
    y = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    const uint8_t *r0 = img->pixels + (size_t)y0 * (size_t)w;
    const uint8_t *r1 = img->pixels + (size_t)y1 * (size_t)w;
    return (r0[x0] * (1 - fx) + r0[x1] * fx) * (1 - fy) + (r1[x0] * (1 - fx) + r1[x1] * fx) * fy;
}

void iris_unwrap(const huella_image *img, const iris_segmentation *seg, iris_strip *strip)
{
    int w = (int)img->width, h = (int)img->height;
    for (int j = 0; j < IRIS_STRIP_COLS; j++) {
        double theta = 2 * IRIS_PI * j / IRIS_STRIP_COLS;
        double lid = iris_eyelid_at(seg, theta);
        double c = cos(theta), s = sin(theta);
        double rp = iris_boundary_radius(&seg->pupil, theta);
        double rl = iris_boundary_radius(&seg->limbus, theta);
        double px = seg->pupil.cx + rp * c, py = seg->pupil.cy + rp * s;
        double lx = seg->limbus.cx + rl * c, ly = seg->limbus.cy + rl * s;
        for (int i = 0; i < IRIS_STRIP_ROWS; i++) {
            double t = IRIS_SHEET_OUTER * (i + 0.5) / IRIS_STRIP_ROWS;
            double x = (1 - t) * px + t * lx, y = (1 - t) * py + t * ly;
            size_t k = (size_t)i * IRIS_STRIP_COLS + (size_t)j;
            if (!(x >= 0 && y >= 0 && x <= w - 1 && y <= h - 1)) {
                strip->value[k] = 0;
                strip->valid[k] = 0;
                continue;
            }
            strip->value[k] = (float)bilinear(img, x, y);
            int xi = (int)lround(x), yi = (int)lround(y);
            strip->valid[k] =
                t <= lid && seg->pixels[(size_t)yi * (size_t)w + (size_t)xi] == IRIS_PIX_CLEAR;
        }
    }
}
