/*
 * quality.c - how usable a fingerprint image is, 0-100, with the reasons.
 *
 * In the spirit of NFIQ 2 (ISO/IEC 29794-4), but transparent rather than
 * learnt: three measures that the literature ties to matching accuracy,
 * each mapped linearly between a floor (useless) and a level beyond which
 * it no longer limits accuracy, then combined as a weighted geometric mean
 * so that one bad measure cannot be hidden by two good ones.
 *
 *  - area: the foreground (ridge texture) in mm2 at 500 ppi.  Floor 20 mm2
 *    (a fingertip fragment), saturating at 120 mm2 (about a plain
 *    impression of the finger's central area on a small sensor).  Weight 0.3.
 *  - contrast: the standard deviation of grey inside the foreground.
 *    Floor 6 grey levels, saturating at 35.  Weight 0.2.
 *  - ridge clarity: the mean coherence of the gradient tensor inside the
 *    foreground (Bazen & Gerez 2002), the share of gradient energy that
 *    agrees with one orientation: clear parallel ridges approach 1, noise,
 *    scars and smudges approach 0.  Floor 0.2, saturating at 0.6.
 *    Weight 0.5, because clarity is what minutiae detection depends on.
 * The anchors are physical and perceptual levels, not fitted to a dataset.
 * The reasons list every measure below 70 % of its range, worst first.
 */
#define _POSIX_C_SOURCE 200809L
#include "finger/extract_internal.h"
#include "huella/finger.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MM_PER_PIXEL (25.4 / 500.0)

typedef struct measure {
    const char *name;
    double value, floor, full, weight, level;
} measure;

static double ramp(double v, double lo, double hi)
{
    double t = (v - lo) / (hi - lo);
    return t < 0 ? 0 : t > 1 ? 1 : t;
}

static void add_reason(huella_finger_quality *q, const measure *m)
{
    if (q->n_reasons >= HUELLA_FINGER_QUALITY_REASONS)
        return;
    char *r = q->reasons[q->n_reasons++];
    size_t n = sizeof(q->reasons[0]);
    if (strcmp(m->name, "area") == 0)
        snprintf(r, n, "small fingerprint area: %.0f mm2 of ridges (%.0f mm2 or more is good)",
                 m->value, m->full);
    else if (strcmp(m->name, "contrast") == 0)
        snprintf(r, n, "low contrast: grey levels vary by %.1f (%.0f or more is good)", m->value,
                 m->full);
    else
        snprintf(r, n, "unclear ridges: coherence %.2f (%.2f or more is good)", m->value, m->full);
}

static int by_level(const void *a, const void *b)
{
    const measure *x = a, *y = b;
    return (x->level > y->level) - (x->level < y->level);
}

void fx_quality(const fx_field *f, const uint8_t *pixels, huella_finger_quality *out)
{
    memset(out, 0, sizeof(*out));
    double sum = 0, sum2 = 0, coh = 0;
    size_t n = 0;
    for (size_t i = 0; i < (size_t)f->w * (size_t)f->h; i++) {
        if (!f->fg[i])
            continue;
        double g = pixels[i];
        sum += g;
        sum2 += g * g;
        coh += f->coh[i];
        n++;
    }
    out->area_mm2 = (double)n * MM_PER_PIXEL * MM_PER_PIXEL;
    if (n > 0) {
        double mean = sum / (double)n;
        out->contrast = sqrt(fmax(0.0, sum2 / (double)n - mean * mean));
        out->clarity = coh / (double)n;
    }
    measure m[3] = {
        {"area", out->area_mm2, 20.0, 120.0, 0.3, 0},
        {"contrast", out->contrast, 6.0, 35.0, 0.2, 0},
        {"clarity", out->clarity, 0.2, 0.6, 0.5, 0},
    };
    double score = 1.0;
    for (size_t i = 0; i < 3; i++) {
        m[i].level = ramp(m[i].value, m[i].floor, m[i].full);
        score *= pow(m[i].level, m[i].weight);
    }
    out->score = (unsigned)lround(100.0 * score);
    qsort(m, 3, sizeof(measure), by_level);
    for (size_t i = 0; i < 3; i++)
        if (m[i].level < 0.7)
            add_reason(out, &m[i]);
}

huella_status huella_finger_quality_measure(const huella_image *img, double ppi,
                                            huella_finger_quality *out, huella_error *err)
{
    memset(out, 0, sizeof(*out));
    huella_image *im;
    huella_status st = huella_finger_image_500(img, ppi, &im, err);
    if (st != HUELLA_OK)
        return st;
    int w = (int)im->width, h = (int)im->height;
    if (w < 64 || h < 64) {
        huella_image_free(im);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "finger quality: image of %d x %d pixels at 500 ppi is too small",
                                w, h);
    }
    fx_field f;
    if (!fx_field_compute(im->pixels, w, h, &f)) {
        huella_image_free(im);
        return huella_error_set(err, HUELLA_E_NOMEM, "finger quality: out of memory");
    }
    fx_quality(&f, im->pixels, out);
    fx_field_free(&f);
    huella_image_free(im);
    return HUELLA_OK;
}
