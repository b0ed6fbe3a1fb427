/*
 * test_metrics.c - error rates on score sets whose answers are known exactly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/eval.h"
#include "support.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static huella_eval_metrics compute(const double *g, size_t ng, const double *i, size_t ni,
                                   huella_score_kind kind)
{
    huella_eval_metrics m;
    huella_error err;
    assert_int_equal(huella_eval_metrics_compute(g, ng, i, ni, kind, &m, &err), HUELLA_OK);
    return m;
}

/* One impostor above one genuine: FMR = FNMR = 1/4 at threshold 0.65. */
static void overlap_of_one_gives_eer_one_quarter(void **state)
{
    (void)state;
    const double g[] = {0.6, 0.7, 0.8, 0.9}, i[] = {0.1, 0.2, 0.3, 0.65};
    huella_eval_metrics m = compute(g, N(g), i, N(i), HUELLA_SCORE_SIMILARITY);
    assert_double_equal(m.eer, 0.25, 1e-15);
    assert_double_equal(m.eer_low, 0.25, 1e-15);
    assert_double_equal(m.eer_high, 0.25, 1e-15);
    assert_double_equal(m.eer_threshold, 0.65, 1e-15);
    /* FMR 1 % with 4 impostors means no false match at all: threshold 0.7. */
    assert_double_equal(m.fmr100, 0.25, 1e-15);
    assert_double_equal(m.zero_fmr, 0.25, 1e-15);
    assert_double_equal(m.threshold_zero_fmr, 0.7, 1e-15);
    assert_int_equal(m.genuine, 4);
    assert_int_equal(m.impostor, 4);
}

static void separated_sets_give_zero_error(void **state)
{
    (void)state;
    const double g[] = {0.8, 0.9, 0.95}, i[] = {0.1, 0.2, 0.3, 0.4};
    huella_eval_metrics m = compute(g, N(g), i, N(i), HUELLA_SCORE_SIMILARITY);
    assert_double_equal(m.eer, 0.0, 0);
    assert_double_equal(m.fmr100, 0.0, 0);
    assert_double_equal(m.fmr1000, 0.0, 0);
    assert_double_equal(m.fmr10000, 0.0, 0);
    assert_double_equal(m.zero_fmr, 0.0, 0);
    /* The lowest threshold that rejects every impostor is the lowest genuine. */
    assert_double_equal(m.threshold_zero_fmr, 0.8, 0);
}

/* Identical sets carry no information: EER is exactly one half. */
static void identical_sets_give_eer_one_half(void **state)
{
    (void)state;
    const double g[] = {0.5, 0.5}, i[] = {0.5, 0.5};
    huella_eval_metrics m = compute(g, N(g), i, N(i), HUELLA_SCORE_SIMILARITY);
    assert_double_equal(m.eer_low, 0.0, 0);
    assert_double_equal(m.eer_high, 1.0, 0);
    assert_double_equal(m.eer, 0.5, 0);
    assert_double_equal(m.zero_fmr, 1.0, 0);
}

/* Reversed scores (every impostor above every genuine): EER 1. */
static void reversed_sets_give_eer_one(void **state)
{
    (void)state;
    const double g[] = {0.1, 0.2}, i[] = {0.8, 0.9};
    huella_eval_metrics m = compute(g, N(g), i, N(i), HUELLA_SCORE_SIMILARITY);
    assert_double_equal(m.eer, 1.0, 0);
}

/* Distances are the mirror image of similarities, thresholds in distance units. */
static void distances_are_handled_in_their_own_units(void **state)
{
    (void)state;
    const double g[] = {0.4, 0.3, 0.2, 0.1}, i[] = {0.9, 0.8, 0.7, 0.35};
    huella_eval_metrics m = compute(g, N(g), i, N(i), HUELLA_SCORE_DISTANCE);
    assert_double_equal(m.eer, 0.25, 1e-15);
    assert_double_equal(m.eer_threshold, 0.35, 1e-15);
    assert_double_equal(m.threshold_zero_fmr, 0.3, 1e-15);
    double fmr, fnmr;
    huella_eval_rates_at(g, N(g), i, N(i), HUELLA_SCORE_DISTANCE, 0.35, &fmr, &fnmr);
    assert_double_equal(fmr, 0.25, 0);
    assert_double_equal(fnmr, 0.25, 0);
}

/* A failed comparison (NaN) is a non-match at every threshold. */
static void failures_count_as_non_matches(void **state)
{
    (void)state;
    const double g[] = {0.9, NAN, 0.8, 0.7}, i[] = {0.1, NAN, 0.2, 0.3};
    huella_eval_metrics m = compute(g, N(g), i, N(i), HUELLA_SCORE_SIMILARITY);
    assert_int_equal(m.genuine_failed, 1);
    assert_int_equal(m.impostor_failed, 1);
    assert_int_equal(m.genuine, 4);
    /* No threshold can bring FNMR below the failed quarter. */
    assert_double_equal(m.zero_fmr, 0.25, 0);
    assert_double_equal(m.fmr100, 0.25, 0);
    double fmr, fnmr;
    huella_eval_rates_at(g, N(g), i, N(i), HUELLA_SCORE_SIMILARITY, -1e300, &fmr, &fnmr);
    assert_double_equal(fnmr, 0.25, 0);
    assert_double_equal(fmr, 0.75, 0);
}

/* 10,000 impostors 0..9999 and genuine scores 9990..10089: FMR 0.1 % lets
 * exactly 10 impostors through. */
static void fmr_targets_allow_exactly_the_permitted_false_matches(void **state)
{
    (void)state;
    enum { NI = 10000, NG = 100 };
    double *i = malloc(NI * sizeof(double)), *g = malloc(NG * sizeof(double));
    assert_non_null(i);
    assert_non_null(g);
    for (int k = 0; k < NI; k++)
        i[k] = k;
    for (int k = 0; k < NG; k++)
        g[k] = 9990 + k;
    huella_eval_metrics m = compute(g, NG, i, NI, HUELLA_SCORE_SIMILARITY);
    /* FMR <= 1 %: 100 false matches allowed, threshold 9900, no genuine lost. */
    assert_double_equal(m.threshold_fmr100, 9900, 0);
    assert_double_equal(m.fmr100, 0.0, 0);
    /* FMR <= 0.1 %: threshold 9990 (impostors 9990..9999 pass), FNMR 0. */
    assert_double_equal(m.threshold_fmr1000, 9990, 0);
    assert_double_equal(m.fmr1000, 0.0, 0);
    /* FMR <= 0.01 %: one false match allowed, threshold 9999, FNMR 9/100. */
    assert_double_equal(m.threshold_fmr10000, 9999, 0);
    assert_double_equal(m.fmr10000, 0.09, 1e-15);
    /* FMR 0: threshold just above 9999, FNMR 10/100. */
    assert_double_equal(m.threshold_zero_fmr, 10000, 0);
    assert_double_equal(m.zero_fmr, 0.10, 1e-15);
    double fmr, fnmr;
    huella_eval_rates_at(g, NG, i, NI, HUELLA_SCORE_SIMILARITY, m.threshold_fmr1000, &fmr, &fnmr);
    assert_true(fmr <= 0.001);
    free(i);
    free(g);
}

/* The FVC2000 interval: FNMR and FMR never equal, EER between them. */
static void eer_interval_when_curves_cross_between_thresholds(void **state)
{
    (void)state;
    /* t=0.5: FNMR 1/3, FMR 1/2 (t1); t=0.55: FNMR 1/3, FMR 0 (t2).
     * 1/3 + 1/2 > 0 + 1/3, so [EERlow, EERhigh] = [FMR(t2), FNMR(t2)]. */
    const double g[] = {0.4, 0.55, 0.7}, i[] = {0.3, 0.5};
    huella_eval_metrics m = compute(g, N(g), i, N(i), HUELLA_SCORE_SIMILARITY);
    assert_double_equal(m.eer_low, 0.0, 1e-15);
    assert_double_equal(m.eer_high, 1.0 / 3.0, 1e-15);
    assert_double_equal(m.eer, 1.0 / 6.0, 1e-15);
    assert_double_equal(m.eer_threshold, 0.55, 0);
}

static void empty_sets_are_refused(void **state)
{
    (void)state;
    const double g[] = {0.5};
    huella_eval_metrics m;
    huella_error err;
    assert_int_equal(huella_eval_metrics_compute(g, 1, NULL, 0, HUELLA_SCORE_SIMILARITY, &m, &err),
                     HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "impostor"));
    assert_int_equal(huella_eval_metrics_compute(NULL, 0, g, 1, HUELLA_SCORE_SIMILARITY, &m, &err),
                     HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "genuine"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(overlap_of_one_gives_eer_one_quarter),
        cmocka_unit_test(separated_sets_give_zero_error),
        cmocka_unit_test(identical_sets_give_eer_one_half),
        cmocka_unit_test(reversed_sets_give_eer_one),
        cmocka_unit_test(distances_are_handled_in_their_own_units),
        cmocka_unit_test(failures_count_as_non_matches),
        cmocka_unit_test(fmr_targets_allow_exactly_the_permitted_false_matches),
        cmocka_unit_test(eer_interval_when_curves_cross_between_thresholds),
        cmocka_unit_test(empty_sets_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
