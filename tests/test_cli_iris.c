/*
 * test_cli_iris.c - `huella iris encode|compare|show` as examiners and
 * scripts use them, on real CASIA V1 and MMU1 eyes.
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

#include "huella/iris.h"
#include "support.h"

#define RUN(out, err, ...) test_run_huella((const char *const[]){__VA_ARGS__, NULL}, NULL, out, err)

static void encode_writes_a_template_and_describes_the_eye(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *img = test_data("iris/casia-v1/7/007_1_1.jpg");
    const char *tpl = test_tmpfile("007_1_1.iris");
    char *out, *err;
    assert_int_equal(RUN(&out, &err, "iris", "encode", img, "-o", tpl), 0);
    free(out);
    free(err);
    size_t len;
    uint8_t *bytes = test_read_file(tpl, &len);
    assert_non_null(bytes);
    assert_int_equal(len, HUELLA_IRIS_TEMPLATE_BYTES);
    assert_memory_equal(bytes, "HIRS", 4);
    free(bytes);
    json_t *o =
        test_run_huella_json(0, (const char *const[]){"iris", "encode", img, "--json", NULL});
    double rp = json_number_value(json_object_get(json_object_get(o, "pupil"), "radius"));
    double rl = json_number_value(json_object_get(json_object_get(o, "limbus"), "radius"));
    assert_true(rp > 20 && rp < 70);
    assert_true(rl > 80 && rl < 140);
    json_t *q = json_object_get(o, "quality");
    assert_true(json_integer_value(json_object_get(q, "score")) <= 100);
    assert_true(json_is_array(json_object_get(q, "reasons")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "pupil"), "contour")),
                     HUELLA_IRIS_CONTOUR_POINTS);
    json_decref(o);
    /* The plain summary names the file. */
    assert_int_equal(RUN(&out, &err, "iris", "encode", img), 0);
    assert_non_null(strstr(out, "007_1_1.jpg"));
    free(out);
    free(err);
}

static void compare_tells_mates_from_strangers(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *a = test_data("iris/casia-v1/7/007_1_1.jpg");
    const char *mate = test_data("iris/casia-v1/7/007_1_2.jpg");
    const char *other = test_data("iris/casia-v1/8/008_1_1.jpg");
    const char *tpl = test_tmpfile("007_1_2.iris");
    char *out, *err;
    assert_int_equal(RUN(&out, &err, "iris", "encode", mate, "-o", tpl), 0);
    free(out);
    free(err);
    /* An image against a template of its mate. */
    json_t *g =
        test_run_huella_json(0, (const char *const[]){"iris", "compare", a, tpl, "--json", NULL});
    json_t *i =
        test_run_huella_json(0, (const char *const[]){"iris", "compare", a, other, "--json", NULL});
    double gd = json_number_value(json_object_get(g, "distance"));
    double id = json_number_value(json_object_get(i, "distance"));
    assert_true(gd < id);
    assert_true(id > HUELLA_IRIS_THRESHOLD_FMR1000);
    assert_true(json_number_value(json_object_get(i, "fmr_at_most")) == 1.0);
    assert_true(json_integer_value(json_object_get(g, "valid_bits")) > 0);
    assert_non_null(json_object_get(json_object_get(g, "thresholds"), "fmr1000"));
    json_decref(g);
    json_decref(i);
    assert_int_equal(RUN(&out, &err, "iris", "compare", a, other), 0);
    assert_non_null(strstr(out, "distance"));
    assert_non_null(strstr(out, "FMR"));
    free(out);
    free(err);
}

static void show_draws_eye_strip_and_code(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *png = test_tmpfile("show.png");
    char *out, *err;
    assert_int_equal(
        RUN(&out, &err, "iris", "show", test_data("iris/mmu1/3/left/chingycl1.bmp"), "--out", png),
        0);
    free(out);
    free(err);
    size_t len;
    uint8_t *p = test_read_file(png, &len);
    assert_non_null(p);
    assert_true(len > 24 && memcmp(p + 1, "PNG", 3) == 0);
    uint32_t w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
    uint32_t h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
    /* 512-sample strip and code under a 320 x 240 eye, with margins. */
    assert_int_equal(w, 512 + 20);
    assert_true(h > 240 + 64 + 32);
    free(p);
}

static void bad_input_and_usage_give_the_documented_exit_status(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(RUN(&out, &err, "iris", "compare", "only-one"), 1);
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "iris", "show", "x.png"), 1); /* no --out */
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "iris", "encode", "--help"), 0);
    assert_non_null(strstr(out, "usage: huella iris encode"));
    free(out);
    free(err);
    const char *junk = test_tmpfile("junk.iris");
    assert_true(test_write_file(junk, "HIRS\0\1garbage", 13));
    assert_int_equal(RUN(&out, &err, "iris", "encode", junk), 2);
    assert_non_null(strstr(err, "junk.iris"));
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "iris", "encode", test_tmpfile("missing.jpg")), 2);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_writes_a_template_and_describes_the_eye),
        cmocka_unit_test(compare_tells_mates_from_strangers),
        cmocka_unit_test(show_draws_eye_strip_and_code),
        cmocka_unit_test(bad_input_and_usage_give_the_documented_exit_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
