/*
 * finger/extract_internal.h - the stages of minutiae extraction, shared
 * between src/finger/field.c (normalisation, segmentation, orientation,
 * ridge frequency), src/finger/enhance.c (Gabor enhancement, binarisation,
 * thinning) and src/finger/extract.c (minutiae, post-processing, the
 * public entry point).  Internal to libhuella.
 *
 * Every map is row-major, w * h (pixels) or bw * bh (blocks of
 * FX_BLOCK pixels), on an image already resampled to 500 ppi.  Angles
 * here are in image coordinates (x right, y down, atan2(dy, dx)); only
 * extract.c converts them to the template convention.
 */
#ifndef HUELLA_FINGER_EXTRACT_INTERNAL_H
#define HUELLA_FINGER_EXTRACT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FX_PI     3.14159265358979323846
#define FX_BLOCK  8    /* block side for segmentation and frequency, pixels */
#define FX_PERIOD 9.0f /* typical ridge period at 500 ppi, the fallback */

typedef struct fx_field {
    int w, h;      /* pixels */
    int bw, bh;    /* blocks */
    float *norm;   /* locally normalised grey, zero mean, unit variance; ridges < 0 */
    float *orient; /* ridge orientation in [0, pi), per pixel */
    float *coh;    /* coherence of the gradient tensor in [0, 1], per pixel */
    uint8_t *fg;   /* 1 = foreground, per pixel */
    float *period; /* ridge period in pixels, per block (foreground blocks) */
    float *border; /* distance to the background in pixels (chamfer), per pixel */
    size_t fg_pixels;
} fx_field;

/* Fill f from w * h grey pixels (w, h >= MIN_SIDE of extract.c, 64).
 * Returns false only when out of memory. */
bool fx_field_compute(const uint8_t *pixels, int w, int h, fx_field *f);
void fx_field_free(fx_field *f);

/* Contextual Gabor filtering of f->norm, thresholded to a ridge map
 * (1 = ridge) restricted to the foreground, with small specks and holes
 * removed.  ridge is w * h bytes.  clarity, when not NULL, receives
 * bw * bh floats: the mean magnitude of the filter response over the
 * foreground pixels of each block (0 for background blocks); about 0.9
 * for a clean ridge pattern.  False only when out of memory. */
bool fx_enhance_binarise(const fx_field *f, uint8_t *ridge, float *clarity);

/* Thin a ridge map in place to an 8-connected skeleton one pixel wide
 * (Zhang & Suen 1984, then removal of staircase corners).  The outermost
 * rows and columns are cleared.  False only when out of memory. */
bool fx_thin(uint8_t *img, int w, int h);

/* The image quality of src/finger/quality.c from a computed field and the
 * 500-ppi pixels it was computed from.  (Declared with the public struct.) */
struct huella_finger_quality;
struct huella_finger_template;
void fx_quality(const fx_field *f, const uint8_t *pixels, struct huella_finger_quality *out);

/* Cores and deltas by the Poincare index (src/finger/singular.c). */
void fx_singular(const fx_field *f, struct huella_finger_template *t);

#endif
