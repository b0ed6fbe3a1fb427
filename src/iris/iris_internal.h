/*
 * iris/iris_internal.h - the image side of the iris engine, between its
 * files: segmentation (segment.c), rubber-sheet normalisation
 * (normalize.c), encoding and quality (encode.c), pictures (draw.c).
 * Internal to libhuella; the public face is include/huella/iris.h.
 */
#ifndef HUELLA_IRIS_INTERNAL_H
#define HUELLA_IRIS_INTERNAL_H

#include "huella/iris.h"

#define IRIS_PI 3.14159265358979323846

/* The normalised strip: rows run from the pupil (row 0) outwards to the
 * limbus; column j is the angle 2 pi j / IRIS_STRIP_COLS measured from +x
 * towards +y (image y points down, so clockwise on screen), the angle
 * convention of huella_iris_boundary. */
#define IRIS_STRIP_ROWS 64
#define IRIS_STRIP_COLS 512
/* The strip's last row lies this far from the pupil to the limbus. */
#define IRIS_SHEET_OUTER 0.85

/* Classes of the per-pixel mask of a segmentation. */
enum { IRIS_PIX_CLEAR = 0, IRIS_PIX_LASH = 3, IRIS_PIX_REFLECTION = 4 };

typedef struct iris_segmentation {
    uint32_t width, height;
    huella_iris_boundary pupil;
    huella_iris_boundary limbus;
    /* Per contour angle (about the pupil centre, along the rubber-sheet
     * ray): the fraction of the way from pupil to limbus where eyelid
     * occlusion starts, 1 when the ray is not occluded. */
    float eyelid[HUELLA_IRIS_CONTOUR_POINTS];
    uint8_t *pixels;    /* width * height classes (IRIS_PIX_*) */
    double iris_median; /* robust grey level of the clear iris */
    double iris_spread; /* robust spread (scaled MAD) of that grey level */
    double usable;      /* fraction of the rubber sheet that is clear */
} iris_segmentation;

huella_status iris_segment(const huella_image *img, iris_segmentation *seg, huella_error *err);
void iris_segmentation_release(iris_segmentation *seg);

/* Radius of a boundary at angle theta (radians, any value), interpolated
 * linearly between contour points. */
double iris_boundary_radius(const huella_iris_boundary *b, double theta);
/* The eyelid fraction at angle theta, interpolated. */
double iris_eyelid_at(const iris_segmentation *seg, double theta);
/* The image point of the rubber sheet at angle theta and radial fraction
 * t in [0, 1] (0 = pupil boundary, 1 = limbus): Daugman's
 * x = (1 - t) x_pupil(theta) + t x_limbus(theta). */
void iris_sheet_point(const huella_iris_boundary *pupil, const huella_iris_boundary *limbus,
                      double theta, double t, double *x, double *y);

typedef struct iris_strip {
    float value[IRIS_STRIP_ROWS * IRIS_STRIP_COLS];
    uint8_t valid[IRIS_STRIP_ROWS * IRIS_STRIP_COLS]; /* 1 = clear iris */
} iris_strip;

/* Sample the image on the rubber sheet of seg (bilinear), with validity
 * from the eyelids and the pixel mask. */
void iris_unwrap(const huella_image *img, const iris_segmentation *seg, iris_strip *strip);

/* The code of a strip (log-Gabor phase, masks for occlusion and fragile
 * bits). */
void iris_encode_strip(const iris_strip *strip, huella_iris_code *code);

/* Quality of a segmentation and its strip; fills reasons. */
void iris_quality_measure(const huella_image *img, const iris_segmentation *seg,
                          huella_iris_quality *q);
/* Score and reasons from the measures already in q. */
void iris_quality_score(huella_iris_quality *q);

/* Everything the image side computes for one image, for pictures. */
typedef struct iris_analysis {
    iris_segmentation seg;
    iris_strip strip;
    huella_iris_template tmpl;
} iris_analysis;

huella_status iris_analyse(const huella_image *img, const huella_iris_options *opt,
                           iris_analysis *a, huella_error *err);

#endif
