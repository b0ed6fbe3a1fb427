/*
 * test_run.c - the evaluation runner with a modality whose answers are known.
 *
 * The "number" modality reads one number per sample file and scores two
 * samples by minus their absolute difference; a file holding "fail"
 * cannot be enrolled.  That makes every score, the failure to enrol and
 * the resulting rates computable by hand.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "huella/eval.h"
#include "support.h"

static huella_status number_make(const huella_modality *m, const char *path,
                                 const huella_sample_options *opt, void **tmpl, huella_error *err)
{
    (void)m;
    (void)opt;
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 100, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    char *end;
    double v = strtod((const char *)data, &end);
    bool ok = end != (char *)data;
    free(data);
    if (!ok)
        return huella_error_set(err, HUELLA_E_INPUT, "no number in the file");
    double *t = malloc(sizeof(double));
    if (t == NULL)
        return HUELLA_E_NOMEM;
    *t = v;
    *tmpl = t;
    return HUELLA_OK;
}

static huella_status number_compare(const huella_modality *m, const void *a, const void *b,
                                    double *score, huella_error *err)
{
    (void)m;
    (void)err;
    *score = -fabs(*(const double *)a - *(const double *)b);
    return HUELLA_OK;
}

static const char *const number_ext[] = {"num", NULL};

static const huella_modality number_modality = {
    .name = "number",
    .score_kind = HUELLA_SCORE_SIMILARITY,
    .score_meaning = "minus the absolute difference of two numbers",
    .image_extensions = number_ext,
    .template_extensions = NULL,
    .make_template = number_make,
    .compare = number_compare,
    .free_template = free,
};

static const char *make_fixture(void)
{
    const char *d = test_tmpfile("numbers");
    mkdir(d, 0700);
    const char *files[][2] = {{"1_1.num", "1.0"}, {"1_2.num", "1.1"},  {"1_3.num", "1.2"},
                              {"2_1.num", "5.0"}, {"2_2.num", "5.1"},  {"2_3.num", "fail"},
                              {"3_1.num", "9.0"}, {"3_2.num", "9.05"}, {"3_3.num", "9.1"}};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", d, files[i][0]);
        assert_true(test_write_file(path, files[i][1], strlen(files[i][1])));
    }
    return d;
}

static huella_eval_result *run(huella_protocol protocol, unsigned threads)
{
    huella_dataset *ds;
    huella_error err;
    assert_int_equal(huella_dataset_scan(make_fixture(), number_ext, &ds, &err), HUELLA_OK);
    huella_eval_options opt = {.protocol = protocol, .threads = threads};
    huella_eval_result *r = NULL;
    assert_int_equal(huella_eval_run(&number_modality, ds, &opt, &r, &err), HUELLA_OK);
    huella_dataset_free(ds);
    return r;
}

static void failure_to_enrol_is_counted_never_dropped(void **state)
{
    (void)state;
    huella_eval_result *r = run(HUELLA_PROTOCOL_FVC, 2);
    assert_int_equal(r->samples, 9);
    assert_int_equal(r->classes, 3);
    assert_int_equal(r->fte, 1);
    assert_non_null(strstr(r->fte_names[0], "2_3.num: no number in the file"));
    assert_int_equal(r->n_genuine, 9);
    assert_int_equal(r->n_impostor, 3);
    assert_int_equal(r->metrics.genuine_failed, 2);
    assert_int_equal(r->metrics.impostor_failed, 0);
    /* Genuine scores: -0.1 -0.2 -0.1 | -0.1 NaN NaN | -0.05 -0.1 -0.05;
     * impostors -4 -8 -4.  FNMR can never fall below 2/9, FMR reaches 0
     * at -0.2: EER interval [0, 2/9]. */
    assert_double_equal(r->metrics.zero_fmr, 2.0 / 9.0, 1e-12);
    assert_double_equal(r->metrics.eer, 1.0 / 9.0, 1e-12);
    assert_true(isnan(r->genuine_scores[4]) && isnan(r->genuine_scores[5]));
    assert_double_equal(r->genuine_scores[1], -0.2, 1e-12);
    assert_double_equal(r->impostor_scores[1], -8.0, 1e-12);
    assert_true(r->extract_ms_median >= 0);
    assert_true(r->compare_us_median >= 0);
    huella_eval_result_free(r);
}

static void results_do_not_depend_on_thread_count(void **state)
{
    (void)state;
    huella_eval_result *a = run(HUELLA_PROTOCOL_ALL, 1);
    huella_eval_result *b = run(HUELLA_PROTOCOL_ALL, 3);
    assert_int_equal(a->n_impostor, 9 * 6 / 2);
    assert_int_equal(a->n_impostor, b->n_impostor);
    for (size_t i = 0; i < a->n_impostor; i++) {
        if (isnan(a->impostor_scores[i]))
            assert_true(isnan(b->impostor_scores[i]));
        else
            assert_double_equal(a->impostor_scores[i], b->impostor_scores[i], 0);
    }
    /* 6 impostor comparisons involve the failed sample. */
    assert_int_equal(a->metrics.impostor_failed, 6);
    assert_double_equal(a->metrics.eer, b->metrics.eer, 0);
    huella_eval_result_free(a);
    huella_eval_result_free(b);
}

static void json_carries_the_contract_keys(void **state)
{
    (void)state;
    huella_eval_result *r = run(HUELLA_PROTOCOL_FVC, 2);
    char *s = huella_eval_result_json(r);
    assert_non_null(s);
    json_error_t jerr;
    json_t *o = json_loads(s, 0, &jerr);
    assert_non_null(o);
    const char *keys[] = {"modality", "dataset",           "protocol",
                          "samples",  "classes",           "fte",
                          "genuine",  "impostor",          "eer",
                          "fmr100",   "fmr1000",           "fmr10000",
                          "zero_fmr", "extract_ms_median", "compare_us_median"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(o, keys[i]) == NULL)
            fail_msg("key %s missing from %s", keys[i], s);
    assert_string_equal(json_string_value(json_object_get(o, "modality")), "number");
    assert_string_equal(json_string_value(json_object_get(o, "protocol")), "fvc");
    assert_int_equal(json_integer_value(json_object_get(o, "samples")), 9);
    assert_int_equal(json_integer_value(json_object_get(o, "genuine")), 9);
    assert_double_equal(json_number_value(json_object_get(o, "fte")), 1.0 / 9.0, 1e-9);
    assert_double_equal(json_number_value(json_object_get(o, "eer")), 1.0 / 9.0, 1e-9);
    json_decref(o);
    free(s);
    huella_eval_result_free(r);
}

/* The fixture and a second, small dataset whose numbers are far from the
 * fixture's: pooled, the counts add up, no comparison crosses the two,
 * and each dataset keeps its own metrics beside the pooled ones. */
static void pooled_datasets_add_counts_and_keep_each_result(void **state)
{
    (void)state;
    huella_dataset *ds[2];
    huella_error err;
    assert_int_equal(huella_dataset_scan(make_fixture(), number_ext, &ds[0], &err), HUELLA_OK);
    const char *d2 = test_tmpfile("numbers2");
    mkdir(d2, 0700);
    /* One class far from the others: every impostor score below -40. */
    const char *files[][2] = {{"7_1.num", "50.0"}, {"7_2.num", "50.3"}, {"8_1.num", "100.0"}};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", d2, files[i][0]);
        assert_true(test_write_file(path, files[i][1], strlen(files[i][1])));
    }
    assert_int_equal(huella_dataset_scan(d2, number_ext, &ds[1], &err), HUELLA_OK);
    huella_eval_options opt = {.protocol = HUELLA_PROTOCOL_ALL, .threads = 2};
    const double ppi[2] = {0, 600};
    huella_eval_result *r = NULL;
    assert_int_equal(huella_eval_run_pooled(&number_modality, (const huella_dataset *const *)ds,
                                            ppi, 2, &opt, &r, &err),
                     HUELLA_OK);
    assert_int_equal(r->n_datasets, 2);
    assert_int_equal(r->samples, 9 + 3);
    assert_int_equal(r->classes, 3 + 2);
    assert_int_equal(r->fte, 1);
    assert_non_null(strstr(r->fte_names[0], "numbers/2_3.num: no number in the file"));
    /* Comparisons stay within each dataset: 9 + 1 genuine, 27 + 2 impostor
     * (never 50 against 9). */
    assert_int_equal(r->n_genuine, 9 + 1);
    assert_int_equal(r->n_impostor, 27 + 2);
    assert_int_equal(r->datasets[0]->n_impostor, 27);
    assert_int_equal(r->datasets[1]->n_impostor, 2);
    /* The second dataset's impostor scores come last: |50 - 100|, |50.3 - 100|. */
    assert_double_equal(r->impostor_scores[27], -50.0, 1e-12);
    assert_double_equal(r->impostor_scores[28], -49.7, 1e-12);
    /* Pooled genuine scores: the first dataset's 7 scores and 2 NaN, and
     * -0.3: FNMR at zero FMR is 2/10 (the NaN); each dataset keeps its own. */
    assert_double_equal(r->metrics.zero_fmr, 2.0 / 10.0, 1e-12);
    assert_double_equal(r->datasets[0]->metrics.zero_fmr, 2.0 / 9.0, 1e-12);
    assert_double_equal(r->datasets[1]->metrics.zero_fmr, 0.0, 1e-12);
    assert_true(r->compare_us_median >= 0);

    char *s = huella_eval_result_json(r);
    json_error_t jerr;
    json_t *o = json_loads(s, 0, &jerr);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "samples")), 12);
    json_t *parts = json_object_get(o, "datasets");
    assert_true(json_is_array(parts));
    assert_int_equal(json_array_size(parts), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(parts, 1), "genuine")), 1);
    assert_non_null(json_object_get(json_array_get(parts, 0), "eer"));
    json_decref(o);
    free(s);
    huella_eval_result_free(r);
    huella_dataset_free(ds[0]);
    huella_dataset_free(ds[1]);
}

static void a_single_result_has_no_datasets_array(void **state)
{
    (void)state;
    huella_eval_result *r = run(HUELLA_PROTOCOL_FVC, 1);
    char *s = huella_eval_result_json(r);
    assert_null(strstr(s, "\"datasets\""));
    free(s);
    huella_eval_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failure_to_enrol_is_counted_never_dropped),
        cmocka_unit_test(results_do_not_depend_on_thread_count),
        cmocka_unit_test(json_carries_the_contract_keys),
        cmocka_unit_test(pooled_datasets_add_counts_and_keep_each_result),
        cmocka_unit_test(a_single_result_has_no_datasets_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
