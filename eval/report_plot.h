/*
 * eval/report_plot.h - internal to the evaluation report: the DET curve
 * and the score histograms, drawn with cairo into SVG and PNG bytes.
 *
 * Not part of the public API; report.c and tests/test_report.c use it.
 */
#ifndef HUELLA_EVAL_REPORT_PLOT_H
#define HUELLA_EVAL_REPORT_PLOT_H

#include "huella/eval.h"

/* Figure sizes in CSS pixels (the SVG's size); the PNG is drawn at
 * HUELLA_REPORT_PNG_SCALE times that size so that it stays sharp on
 * high-density screens and in printed documents. */
#define HUELLA_REPORT_DET_WIDTH     880
#define HUELLA_REPORT_DET_HEIGHT    680
#define HUELLA_REPORT_SCORES_WIDTH  880
#define HUELLA_REPORT_SCORES_HEIGHT 560
#define HUELLA_REPORT_PNG_SCALE     2

/*
 * The DET curve as operating points, one per candidate threshold in
 * ascending order (the smallest score, every further distinct score, then
 * +inf): FMR falls from the fraction of impostors that have a score to 0,
 * FNMR rises from the fraction of genuine comparisons without one to 1.
 * Rates follow eval.h: NaN scores never match.
 */
typedef struct huella_det_curve {
    double *fmr;
    double *fnmr;
    size_t n;
} huella_det_curve;

/* Sort, sweep: O(n log n).  n_genuine and n_impostor must be non-zero. */
huella_status huella_report_det_curve(const double *genuine, size_t n_genuine,
                                      const double *impostor, size_t n_impostor,
                                      huella_score_kind kind, huella_det_curve *out,
                                      huella_error *err);
void huella_report_det_curve_free(huella_det_curve *c);

/* A rate as a percentage with three significant figures ("2.35%",
 * "0.0202%", "12.3%", "0%", "100%"), an em dash for NaN. */
void huella_report_percent(char *buf, size_t size, double rate);

/*
 * Draw the DET curve / the score histograms of r, once into an SVG and
 * once into a PNG (same drawing code for both).  The bytes are appended
 * to *svg and *png; the caller writes them out.
 */
huella_status huella_report_det_draw(const huella_eval_result *r, huella_buf *svg, huella_buf *png,
                                     huella_error *err);
huella_status huella_report_scores_draw(const huella_eval_result *r, huella_buf *svg,
                                        huella_buf *png, huella_error *err);

#endif
