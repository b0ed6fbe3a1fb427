/*
 * test_cli_finger.c - `huella finger extract|compare|show|quality` as
 * examiners and scripts use them, on real FVC2002 prints.
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

#define RUN(out, err, ...) test_run_huella((const char *const[]){__VA_ARGS__, NULL}, NULL, out, err)

static void extract_writes_records_that_compare_like_the_image(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *img = test_data("finger/fvc2002/DB1_B/101_1.tif");
    const char *iso = test_tmpfile("101_1.iso");
    const char *ansi = test_tmpfile("101_1.ansi");
    char *out, *err;
    assert_int_equal(RUN(&out, &err, "finger", "extract", img, "--ppi", "500", "-o", iso), 0);
    free(out);
    free(err);
    assert_int_equal(
        RUN(&out, &err, "finger", "extract", img, "--ppi", "500", "-o", ansi, "--format", "ansi"),
        0);
    free(out);
    free(err);
    json_t *t = test_run_huella_json(
        0, (const char *const[]){"finger", "extract", img, "--ppi", "500", "--json", NULL});
    size_t n = json_array_size(json_object_get(t, "minutiae"));
    assert_in_range(n, 15, 120);
    json_decref(t);
    /* A record and the image it came from are the same print.  Not 100:
     * ANSI/INCITS 378 keeps directions in 2-degree steps and ISO/IEC
     * 19794-2 in 1.4-degree ones, and the matcher weighs each pair by how
     * well the directions agree (96.9 measured). */
    json_t *c = test_run_huella_json(
        0, (const char *const[]){"finger", "compare", iso, ansi, "--json", NULL});
    assert_true(json_number_value(json_object_get(c, "score")) >= 95.0);
    assert_int_equal(json_integer_value(json_object_get(c, "paired")), n);
    json_decref(c);
}

static void compare_ranks_mates_above_non_mates_and_explains(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *a = test_data("finger/fvc2002/DB1_B/101_1.tif");
    const char *mate = test_data("finger/fvc2002/DB1_B/101_2.tif");
    const char *other = test_data("finger/fvc2002/DB1_B/102_1.tif");
    const char *svg = test_tmpfile("explain.svg");
    json_t *g =
        test_run_huella_json(0, (const char *const[]){"finger", "compare", a, mate, "--ppi", "500",
                                                      "--json", "--explain", svg, NULL});
    json_t *i = test_run_huella_json(
        0, (const char *const[]){"finger", "compare", a, other, "--ppi", "500", "--json", NULL});
    double gs = json_number_value(json_object_get(g, "score"));
    double is = json_number_value(json_object_get(i, "score"));
    assert_true(gs > is);
    assert_true(json_number_value(json_object_get(i, "fmr_at_most")) == 1.0);
    assert_true(json_integer_value(json_object_get(g, "paired")) >= 6);
    assert_non_null(json_object_get(json_object_get(g, "thresholds"), "fmr1000"));
    json_decref(g);
    json_decref(i);
    size_t len;
    char *text = (char *)test_read_file(svg, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "<svg"));
    free(text);
}

static void show_draws_the_print_at_500_ppi(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *png = test_tmpfile("show.png");
    char *out, *err;
    /* DB2 is 296 x 560 at 569 ppi: 260 x 492 at 500 ppi, plus the margins
     * (10 each side) and the caption (24). */
    assert_int_equal(RUN(&out, &err, "finger", "show", test_data("finger/fvc2002/DB2_B/101_1.tif"),
                         "--ppi", "569", "--out", png),
                     0);
    free(out);
    free(err);
    size_t len;
    uint8_t *p = test_read_file(png, &len);
    assert_non_null(p);
    assert_true(len > 24 && memcmp(p + 1, "PNG", 3) == 0);
    uint32_t w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
    uint32_t h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
    assert_int_equal(w, 260 + 20);
    assert_int_equal(h, 492 + 20 + 24);
    free(p);
}

static void quality_gives_a_score_and_reasons(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    json_t *good = test_run_huella_json(
        0, (const char *const[]){"finger", "quality", test_data("finger/fvc2002/DB1_B/101_1.tif"),
                                 "--json", NULL});
    json_int_t q = json_integer_value(json_object_get(good, "quality"));
    assert_in_range(q, 60, 100);
    assert_true(json_number_value(json_object_get(good, "area_mm2")) > 100);
    json_decref(good);
    /* a999_01p.pgm is a capture with no finger on the sensor. */
    json_t *blank = test_run_huella_json(
        0, (const char *const[]){"finger", "quality",
                                 test_data("finger/fjfx-samples/images-pgm/a999_01p.pgm"), "--json",
                                 NULL});
    assert_int_equal(json_integer_value(json_object_get(blank, "quality")), 0);
    json_t *reasons = json_object_get(blank, "reasons");
    assert_true(json_array_size(reasons) >= 1);
    assert_non_null(strstr(json_string_value(json_array_get(reasons, 0)), "area"));
    json_decref(blank);
}

/* Several datasets evaluated as one: the pooled report and each
 * database's own (DET curve, histograms, result), in OUTDIR/K-NAME. */
static void pooled_eval_reports_every_database(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *dir = test_tmpfile("pooled-report");
    json_t *r = test_run_huella_json(
        0, (const char *const[]){"eval", "finger", "--protocol", "all", "--input", "templates",
                                 "--dataset", test_data("finger/fvc2002/DB1_B"), "--dataset",
                                 test_data("finger/fvc2002/DB3_B"), "--report", dir, NULL});
    json_t *sets = json_object_get(r, "datasets");
    assert_int_equal(json_array_size(sets), 2);
    const char *names[] = {"1-DB1_B", "2-DB3_B"};
    for (size_t k = 0; k < 2; k++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s/det.svg", dir, names[k]);
        size_t len;
        uint8_t *svg = test_read_file(path, &len);
        if (svg == NULL)
            fail_msg("%s was not written", path);
        free(svg);
        snprintf(path, sizeof(path), "%s/%s/result.json", dir, names[k]);
        json_t *own = json_load_file(path, 0, NULL);
        assert_non_null(own);
        /* The database's own figures, as in the pooled result's array. */
        assert_double_equal(json_number_value(json_object_get(own, "eer")),
                            json_number_value(json_object_get(json_array_get(sets, k), "eer")),
                            1e-9);
        json_decref(own);
    }
    json_decref(r);
}

static void bad_inputs_exit_2_with_a_reason(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *out, *err;
    assert_int_equal(RUN(&out, &err, "finger", "compare",
                         test_data("finger/invalid-templates/101_1_truncate_1_byte.iso"),
                         test_data("finger/fvc2002/DB1_B/101_1.iso")),
                     2);
    assert_non_null(strstr(err, "101_1_truncate_1_byte.iso"));
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "finger", "extract",
                         test_data("finger/fjfx-samples/images-pgm/a999_01p.pgm")),
                     2);
    assert_non_null(strstr(err, "a999_01p.pgm"));
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "finger", "show", test_tmpfile("nothing.tif"), "--out",
                         test_tmpfile("x.png")),
                     2);
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "finger", "extract"), 1);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(extract_writes_records_that_compare_like_the_image),
        cmocka_unit_test(compare_ranks_mates_above_non_mates_and_explains),
        cmocka_unit_test(show_draws_the_print_at_500_ppi),
        cmocka_unit_test(quality_gives_a_score_and_reasons),
        cmocka_unit_test(bad_inputs_exit_2_with_a_reason),
        cmocka_unit_test(pooled_eval_reports_every_database),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
