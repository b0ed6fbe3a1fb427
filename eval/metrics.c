/*
 * metrics.c - verification error rates from genuine and impostor scores.
 *
 * Implements the rates of ISO/IEC 19795-1 with the generalised treatment
 * of failures: a comparison without a score (NaN) is a non-match at every
 * threshold, so it raises FNMR when genuine and never raises FMR.
 *
 * Decision rule, on similarity scores s: match  <=>  s >= t.
 *   FMR(t)  = #{impostor s >= t} / N_impostor
 *   FNMR(t) = (#{genuine s < t} + #genuine failed) / N_genuine
 * Candidate thresholds are the distinct scores themselves plus -inf
 * (everything with a score matches) and +inf (nothing matches).
 *
 * EER follows the FVC2000 definition (Maio et al., IEEE PAMI 24(3), 2002):
 *   t1 = max{t : FNMR(t) <= FMR(t)},  t2 = min{t : FNMR(t) >= FMR(t)},
 *   [EERlow, EERhigh] = [FNMR(t1), FMR(t1)] if FNMR(t1)+FMR(t1) <=
 *   FMR(t2)+FNMR(t2), else [FMR(t2), FNMR(t2)];  EER = (EERlow+EERhigh)/2.
 * "FNMR at FMR x" is the FNMR at the lowest threshold whose FMR <= x,
 * which is the lowest FNMR any threshold meeting that FMR can give.
 */
#include "huella/eval.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Scores turned into similarities with failures removed, sorted ascending. */
typedef struct sorted_scores {
    double *v;
    size_t n;      /* valid scores */
    size_t failed; /* NaN entries */
    size_t total;
} sorted_scores;

static huella_status sort_scores(const double *in, size_t n, huella_score_kind kind,
                                 sorted_scores *out, huella_error *err)
{
    out->v = malloc((n ? n : 1) * sizeof(double));
    if (out->v == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate %zu scores", n);
    out->n = 0;
    out->failed = 0;
    out->total = n;
    for (size_t i = 0; i < n; i++) {
        if (isnan(in[i])) {
            out->failed++;
            continue;
        }
        out->v[out->n++] = kind == HUELLA_SCORE_DISTANCE ? -in[i] : in[i];
    }
    qsort(out->v, out->n, sizeof(double), cmp_double);
    return HUELLA_OK;
}

/* Number of elements of sorted v that are < t. */
static size_t count_below(const double *v, size_t n, double t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Number of elements of sorted v that are <= t. */
static size_t count_at_most(const double *v, size_t n, double t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double fmr_at(const sorted_scores *imp, double t)
{
    return (double)(imp->n - count_below(imp->v, imp->n, t)) / (double)imp->total;
}

static double fnmr_at(const sorted_scores *gen, double t)
{
    return (double)(gen->failed + count_below(gen->v, gen->n, t)) / (double)gen->total;
}

/* The smallest score value in either set that is strictly greater than x,
 * or +inf when there is none. */
static double next_candidate(const sorted_scores *gen, const sorted_scores *imp, double x)
{
    double best = INFINITY;
    size_t g = count_at_most(gen->v, gen->n, x);
    if (g < gen->n)
        best = gen->v[g];
    size_t i = count_at_most(imp->v, imp->n, x);
    if (i < imp->n && imp->v[i] < best)
        best = imp->v[i];
    return best;
}

/* Lowest threshold whose FMR <= target; its FNMR goes to *fnmr. */
static double threshold_for_fmr(const sorted_scores *gen, const sorted_scores *imp, double target,
                                double *fnmr)
{
    /* Allowed false matches; the small slack keeps 0.001 * 1000 from
     * rounding down to 0 through binary floating point. */
    double allowed_d = floor(target * (double)imp->total + 1e-9);
    size_t allowed = allowed_d < 0 ? 0 : (size_t)allowed_d;
    double t;
    if (allowed >= imp->n) {
        t = -INFINITY;
    } else {
        /* Every impostor at or below v[n-1-allowed] must be rejected. */
        t = next_candidate(gen, imp, imp->v[imp->n - 1 - allowed]);
    }
    *fnmr = fnmr_at(gen, t);
    return t;
}

static double to_units(double t, huella_score_kind kind)
{
    return kind == HUELLA_SCORE_DISTANCE ? -t : t;
}

huella_status huella_eval_metrics_compute(const double *genuine, size_t n_genuine,
                                          const double *impostor, size_t n_impostor,
                                          huella_score_kind kind, huella_eval_metrics *out,
                                          huella_error *err)
{
    if (n_genuine == 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "no genuine comparisons: cannot compute "
                                "error rates");
    if (n_impostor == 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "no impostor comparisons: cannot compute "
                                "error rates");
    sorted_scores gen, imp;
    huella_status st = sort_scores(genuine, n_genuine, kind, &gen, err);
    if (st != HUELLA_OK)
        return st;
    st = sort_scores(impostor, n_impostor, kind, &imp, err);
    if (st != HUELLA_OK) {
        free(gen.v);
        return st;
    }

    /* Candidate thresholds in ascending order: -inf, the distinct scores of
     * both sets (merged), +inf.  FNMR - FMR is non-decreasing along them,
     * so t1 is the last candidate with FNMR <= FMR and t2 the first with
     * FNMR >= FMR. */
    double t1 = -INFINITY, t2 = INFINITY;
    bool have_t1 = false, have_t2 = false;
    size_t gi = 0, ii = 0;
    double t = -INFINITY;
    for (;;) {
        double fn = fnmr_at(&gen, t), fm = fmr_at(&imp, t);
        if (fn <= fm) {
            t1 = t;
            have_t1 = true;
        }
        if (fn >= fm && !have_t2) {
            t2 = t;
            have_t2 = true;
        }
        if (isinf(t) && t > 0)
            break;
        /* Advance to the next distinct candidate. */
        while (gi < gen.n && gen.v[gi] <= t)
            gi++;
        while (ii < imp.n && imp.v[ii] <= t)
            ii++;
        double next = INFINITY;
        if (gi < gen.n)
            next = gen.v[gi];
        if (ii < imp.n && imp.v[ii] < next)
            next = imp.v[ii];
        t = next;
    }
    (void)have_t2; /* +inf always qualifies: FNMR = 1 >= FMR = 0 */

    double low, high, eer_t;
    if (have_t1 && fnmr_at(&gen, t1) + fmr_at(&imp, t1) <= fmr_at(&imp, t2) + fnmr_at(&gen, t2)) {
        low = fnmr_at(&gen, t1);
        high = fmr_at(&imp, t1);
        eer_t = t1;
    } else {
        low = fmr_at(&imp, t2);
        high = fnmr_at(&gen, t2);
        eer_t = t2;
    }

    out->genuine = n_genuine;
    out->impostor = n_impostor;
    out->genuine_failed = gen.failed;
    out->impostor_failed = imp.failed;
    out->eer_low = low;
    out->eer_high = high;
    out->eer = (low + high) / 2.0;
    out->eer_threshold = to_units(eer_t, kind);
    out->threshold_fmr100 = to_units(threshold_for_fmr(&gen, &imp, 0.01, &out->fmr100), kind);
    out->threshold_fmr1000 = to_units(threshold_for_fmr(&gen, &imp, 0.001, &out->fmr1000), kind);
    out->threshold_fmr10000 = to_units(threshold_for_fmr(&gen, &imp, 0.0001, &out->fmr10000), kind);
    out->threshold_zero_fmr = to_units(threshold_for_fmr(&gen, &imp, 0.0, &out->zero_fmr), kind);
    free(gen.v);
    free(imp.v);
    return HUELLA_OK;
}

void huella_eval_rates_at(const double *genuine, size_t n_genuine, const double *impostor,
                          size_t n_impostor, huella_score_kind kind, double threshold, double *fmr,
                          double *fnmr)
{
    size_t false_non_match = 0, false_match = 0;
    for (size_t i = 0; i < n_genuine; i++) {
        double s = genuine[i];
        bool match = !isnan(s) && (kind == HUELLA_SCORE_DISTANCE ? s <= threshold : s >= threshold);
        false_non_match += !match;
    }
    for (size_t i = 0; i < n_impostor; i++) {
        double s = impostor[i];
        bool match = !isnan(s) && (kind == HUELLA_SCORE_DISTANCE ? s <= threshold : s >= threshold);
        false_match += match;
    }
    *fnmr = n_genuine ? (double)false_non_match / (double)n_genuine : 0.0;
    *fmr = n_impostor ? (double)false_match / (double)n_impostor : 0.0;
}
