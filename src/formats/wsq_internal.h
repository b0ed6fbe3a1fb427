/*
 * formats/wsq_internal.h - what the WSQ decoder and encoder share: the
 * subband geometry, the synthesis plans, the marker codes.  Not public.
 */
#ifndef HUELLA_FORMATS_WSQ_INTERNAL_H
#define HUELLA_FORMATS_WSQ_INTERNAL_H

#include "huella/wsq.h"

/* Markers (IAFIS-IC-0110 v3 §3.2 table 1). */
enum {
    WSQ_SOI = 0xffa0,
    WSQ_EOI = 0xffa1,
    WSQ_SOF = 0xffa2,
    WSQ_SOB = 0xffa3,
    WSQ_DTT = 0xffa4,
    WSQ_DQT = 0xffa5,
    WSQ_DHT = 0xffa6,
    WSQ_DRT = 0xffa7,
    WSQ_COM = 0xffa8
};

#define WSQ_NODES       20 /* transform steps (spec figure A.1) */
#define WSQ_SUBBANDS    64 /* quantisation table entries */
#define WSQ_CODED_BANDS 60 /* subbands 60-63 are always zero */
#define WSQ_BLOCK2      19 /* first subband of block 2 */
#define WSQ_BLOCK3      52 /* first subband of block 3 */
#define WSQ_MAX_TAPS    31 /* longest filter accepted from a DTT segment */

typedef struct wsq_rect {
    int x, y, w, h;
} wsq_rect;

/* Where each transform step and each subband lies in the coefficient
 * plane of a width x height image.  inv_rw / inv_cl: the step stores the
 * highpass half first along rows / columns (spectral inversion). */
typedef struct wsq_geometry {
    wsq_rect node[WSQ_NODES];
    bool inv_rw[WSQ_NODES];
    bool inv_cl[WSQ_NODES];
    wsq_rect band[WSQ_SUBBANDS];
} wsq_geometry;

void wsq_build_geometry(int width, int height, wsq_geometry *g);

/* One-dimensional synthesis of a line of n samples (llen lowpass then hlen
 * highpass, or the reverse when inverted): each output sample j is the
 * sum, in this order, of terms coef[k] * in[src[k]] for k in
 * [first[j], first[j + 1]).  The order is the reference decoder's, so that
 * float sums round the same way. */
/* A run of outputs j0, j0 + ostride, ... (count of them) that share
 * their coefficients and whose sources move by sstride from one to the
 * next: the row pass computes such a run a term at a time across all its
 * outputs, which vectorises, in the same order of terms per output. */
typedef struct wsq_run {
    int j0, count, k0, terms;
} wsq_run;

typedef struct wsq_plan {
    int n;
    int *first; /* n + 1 */
    int *src;
    float *coef;
    int ostride, sstride; /* 2, 1 for synthesis; 1, 2 for analysis */
    int nruns;
    wsq_run *runs;
} wsq_plan;

/* lo and hi are the synthesis filters (odd lengths); NULL plan fields on
 * failure.  Returns HUELLA_E_UNSUPPORTED for lines too short for the
 * filters. */
huella_status wsq_plan_build(wsq_plan *p, int n, bool inv, const float *lo, int lsz,
                             const float *hi, int hsz, huella_error *err);
void wsq_plan_free(wsq_plan *p);

/* Analysis of a line of n samples with the 9/7 (or any odd, symmetric)
 * analysis filters lo (lsz taps) and hi: lowpass output m is centred on
 * sample 2m, highpass output m on 2m + 1, with whole-sample symmetric
 * extension at both ends; lowpass outputs first, or highpass first when
 * inv.  Same table form as the synthesis. */
huella_status wsq_plan_analysis(wsq_plan *p, int n, bool inv, const float *lo, int lsz,
                                const float *hi, int hsz, huella_error *err);

/* Apply a plan down the columns of a w x p->n region of plane (row pitch
 * `pitch`) into tmp (row pitch w), a row at a time; and along the rows of
 * a p->n x h region of tmp (row pitch p->n) back into plane. */
void wsq_apply_columns(const float *plane, size_t pitch, int w, const wsq_plan *p, float *tmp);
void wsq_apply_rows(const float *tmp, int h, const wsq_plan *p, float *plane, size_t pitch,
                    float *scratch /* p->n floats */);

/* Value * 10^-scale computed as the reference does: one float division by
 * ten at a time. */
float wsq_descale(uint32_t value, unsigned scale);

#endif
