/*
 * test_identify.c - `huella eval identify` and `huella eval calibrate` on
 * small real subsets: 20 FVC2002 fingers (the ISO records of DB1_B and
 * DB3_B) and the first 20 CASIA-v1 eyes.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("no number \"%s\"", key);
    return json_number_value(v);
}

static void fingers_are_identified(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char db1[1024], db3[1024];
    snprintf(db1, sizeof db1, "%s", test_data("finger/fvc2002/DB1_B"));
    snprintf(db3, sizeof db3, "%s", test_data("finger/fvc2002/DB3_B"));
    /* the SecuGen ISO records of the FVC prints: real minutiae, no
     * extraction (which tests/test_finger_extract.c covers), so that this
     * stays fast in the sanitizer build */
    json_t *o = test_run_huella_json(0, (const char *const[]){"eval", "identify", "--input",
                                                              "templates", "--dataset", db1,
                                                              "--dataset", db3, "--json", NULL});
    /* the contract: fractions and counts under these names */
    assert_int_equal((int)num(o, "classes"), 20);
    assert_int_equal((int)num(o, "enrolled"), 20);
    assert_int_equal((int)num(o, "mated_searches"), 140);
    assert_int_equal((int)num(o, "nonmated_searches"), 140);
    double rank1 = num(o, "rank1");
    assert_true(rank1 >= 0.95 && rank1 <= 1.0);
    assert_true(num(o, "rank1_hits") == rank1 * 140);
    double f100 = num(o, "fnir_fpir100"), f1000 = num(o, "fnir_fpir1000");
    assert_true(f100 >= 0 && f100 <= 0.2);
    assert_true(f1000 >= f100 && f1000 <= 1);
    assert_true(json_is_object(json_object_get(o, "thresholds")));
    const json_t *an = json_object_get(o, "gallery_thresholds");
    assert_true(json_is_object(an));
    /* the analytic threshold ln(N / FPIR) keeps to its FPIR */
    assert_true(num(an, "fpir_at_threshold100") <= 0.01);
    assert_string_equal(json_string_value(json_object_get(o, "modality")), "finger");
    json_decref(o);
}

static void irises_are_identified(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    json_t *o = test_run_huella_json(
        0, (const char *const[]){"eval", "identify", "--modality", "iris", "--dataset",
                                 test_data("iris/casia-v1"), "--classes", "20", "--json", NULL});
    assert_int_equal((int)num(o, "classes"), 20);
    assert_int_equal((int)num(o, "fte"), 0);
    assert_int_equal((int)num(o, "mated_searches"), 120);
    assert_true(num(o, "rank1") >= 0.97);
    assert_true(num(o, "fnir_fpir100") <= 0.1);
    json_decref(o);
}

static void report_and_usage(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(test_run_huella((const char *const[]){"eval", "identify", "--help", NULL},
                                     NULL, &out, &err),
                     0);
    assert_non_null(strstr(out, "leaving its own class out"));
    free(out);
    free(err);
    assert_int_equal(
        test_run_huella((const char *const[]){"eval", "identify", NULL}, NULL, &out, &err), 1);
    assert_non_null(strstr(err, "--dataset"));
    free(out);
    free(err);
    assert_int_equal(test_run_huella((const char *const[]){"eval", "identify", "--modality", "nose",
                                                           "--dataset", "/tmp", NULL},
                                     NULL, &out, &err),
                     1);
    free(out);
    free(err);
    if (!test_have_data())
        return;
    const char *dir = test_tmpfile("identify-report");
    json_t *o = test_run_huella_json(
        0, (const char *const[]){"eval", "identify", "--input", "templates", "--dataset",
                                 test_data("finger/fvc2002/DB2_B"), "--report", dir, NULL});
    assert_true(num(o, "rank1") > 0.9);
    json_decref(o);
    char path[1200];
    snprintf(path, sizeof path, "%s/det.svg", dir);
    size_t len;
    uint8_t *svg = test_read_file(path, &len);
    assert_non_null(svg);
    assert_true(len > 1000);
    free(svg);
}

static void calibrate_fits_a_monotone_model(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    json_t *o = test_run_huella_json(
        0, (const char *const[]){"eval", "calibrate", "finger", "--input", "templates", "--dataset",
                                 test_data("finger/fvc2002/DB1_B"), NULL});
    assert_true(num(o, "b") > 0);
    assert_int_equal((int)num(o, "genuine"), 280);
    assert_int_equal((int)num(o, "impostor"), 2880);
    double s0 = num(o, "score_llr0");
    assert_true(s0 > 5 && s0 < 50);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fingers_are_identified),
        cmocka_unit_test(irises_are_identified),
        cmocka_unit_test(report_and_usage),
        cmocka_unit_test(calibrate_fits_a_monotone_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
