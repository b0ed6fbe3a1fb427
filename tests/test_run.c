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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failure_to_enrol_is_counted_never_dropped),
        cmocka_unit_test(results_do_not_depend_on_thread_count),
        cmocka_unit_test(json_carries_the_contract_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
