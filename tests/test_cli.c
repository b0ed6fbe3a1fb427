/*
 * test_cli.c - the huella command as users and scripts see it: exit
 * statuses, messages on stderr, JSON on stdout.
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
#include <sys/stat.h>

#include <cmocka.h>

#include "support.h"

#define RUN(out, err, stdin_text, ...)                                                             \
    test_run_huella((const char *const[]){__VA_ARGS__, NULL}, stdin_text, out, err)

static void contains(const char *haystack, const char *needle)
{
    if (haystack == NULL || strstr(haystack, needle) == NULL)
        fail_msg("expected '%s' in:\n%s", needle, haystack ? haystack : "(null)");
}

static void help_and_usage_errors(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(RUN(&out, &err, NULL, "--help"), 0);
    contains(out, "usage: huella");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, NULL, "image", "info", "--help"), 0);
    contains(out, "usage: huella image info");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, NULL, "frobnicate"), 1);
    contains(err, "unknown command 'frobnicate'");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, NULL, "image", "info"), 1);
    contains(err, "no file given");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, NULL, "image", "info", "--raw", "12", "x"), 1);
    contains(err, "--raw wants WIDTHxHEIGHT");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, NULL, "eval", "nosuchmodality", "--dataset", "."), 1);
    contains(err, "unknown modality 'nosuchmodality'");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, NULL, "--version"), 0);
    contains(out, "huella ");
    free(out);
    free(err);
}

static void image_info_reports_format_size_and_resolution(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *out, *err;
    assert_int_equal(RUN(&out, &err, NULL, "image", "info",
                         test_data("finger/fvc2002/DB1_B/101_1.tif"),
                         test_data("iris/mmu1/1/left/aeval1.bmp")),
                     0);
    contains(out, "101_1.tif: TIFF, 388 x 374, grey 8-bit, resolution not declared");
    contains(out, "aeval1.bmp: BMP, 320 x 240, colour 8-bit, 120 ppi");
    free(out);
    free(err);

    assert_int_equal(
        RUN(&out, &err, NULL, "image", "info", "--json", test_data("iris/casia-v1/1/001_1_1.jpg")),
        0);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "format")), "JPEG");
    assert_int_equal(json_integer_value(json_object_get(o, "width")), 320);
    assert_int_equal(json_integer_value(json_object_get(o, "height")), 280);
    assert_true(json_is_null(json_object_get(o, "ppi")) ||
                json_is_number(json_object_get(o, "ppi")));
    json_decref(o);
    free(out);
    free(err);
}

/* Damaged copies of real files: exit status 2, the file named on stderr. */
static void damaged_images_exit_2_with_the_file_named(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *sources[] = {"finger/fvc2002/DB1_B/101_1.tif",
                             "finger/sourceafis-samples/probe.png", "iris/casia-v1/1/001_1_1.jpg",
                             "iris/mmu1/1/left/aeval1.bmp", "face/orl/s1/1.pgm"};
    for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
        size_t len;
        uint8_t *data = test_read_file(test_data(sources[s]), &len);
        assert_non_null(data);
        const char *ext = strrchr(sources[s], '.');
        struct {
            const char *what;
            size_t keep;
            bool zero_header;
        } damage[] = {{"half", len / 2, false}, {"tiny", 60, false}, {"header", len, true}};
        for (size_t d = 0; d < 3; d++) {
            char name[64];
            snprintf(name, sizeof(name), "damaged-%zu-%s%s", s, damage[d].what, ext);
            const char *path = test_tmpfile(name);
            uint8_t *copy = malloc(len);
            memcpy(copy, data, len);
            if (damage[d].zero_header)
                memset(copy + 4, 0, 36);
            assert_true(test_write_file(path, copy, damage[d].keep));
            free(copy);
            char *out, *err;
            int status = RUN(&out, &err, NULL, "image", "info", path);
            if (status != 2)
                fail_msg("%s: exit status %d, stdout %s, stderr %s", name, status, out, err);
            contains(err, name);
            free(out);
            free(err);
        }
        free(data);
    }
    char *out, *err;
    assert_int_equal(RUN(&out, &err, NULL, "image", "info", test_tmpfile("missing.png")), 2);
    contains(err, "missing.png");
    free(out);
    free(err);
}

static void image_convert_writes_png_and_pgm(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *out, *err;
    const char *png = test_tmpfile("converted.png");
    const char *pgm = test_tmpfile("converted.pgm");
    assert_int_equal(RUN(&out, &err, NULL, "image", "convert",
                         test_data("finger/fvc2002/DB2_B/101_1.tif"), "-o", png, "--ppi", "569",
                         "--to-ppi", "500"),
                     0);
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, NULL, "image", "convert", png, "-o", pgm), 0);
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, NULL, "image", "info", png, pgm), 0);
    /* 296 x 560 at 569 ppi becomes 260 x 492; the whole pixels keep the
     * physical size, so the resolution is 569 * 260 / 296 by 569 * 492 / 560. */
    contains(out, "converted.png: PNG, 260 x 492, grey 8-bit, 499.8 x 499.9 ppi");
    contains(out, "converted.pgm: PNM, 260 x 492, grey 8-bit, resolution not declared");
    free(out);
    free(err);
}

static void eval_scores_reproduces_a_known_eer(void **state)
{
    (void)state;
    const char *scores = "# four genuine, four impostor\n"
                         "g 0.6\ng 0.7\ng 0.8\ng 0.9\n"
                         "i 0.1\ni 0.2\ni 0.3\ni 0.65\n";
    const char *path = test_tmpfile("scores.txt");
    assert_true(test_write_file(path, scores, strlen(scores)));
    const char *report = test_tmpfile("report");
    char *out, *err;
    assert_int_equal(RUN(&out, &err, NULL, "eval", "scores", path, "--report", report), 0);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    if (o == NULL)
        fail_msg("not JSON: %s (%s)", out, err);
    assert_double_equal(json_number_value(json_object_get(o, "eer")), 0.25, 1e-12);
    assert_double_equal(json_number_value(json_object_get(o, "zero_fmr")), 0.25, 1e-12);
    assert_int_equal(json_integer_value(json_object_get(o, "genuine")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "impostor")), 4);
    json_decref(o);
    free(out);
    free(err);
    const char *files[] = {"det.svg",    "det.png",     "scores.svg",
                           "scores.png", "result.json", "index.html"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", report, files[i]);
        struct stat st;
        if (stat(p, &st) != 0 || st.st_size == 0)
            fail_msg("report file %s missing or empty", p);
    }

    /* From standard input, as distances: the mirror image. */
    const char *dist = "g 0.4\ng 0.3\ng 0.2\ng 0.1\ni 0.9\ni 0.8\ni 0.7\ni 0.35\n";
    assert_int_equal(RUN(&out, &err, dist, "eval", "scores", "-", "--distance"), 0);
    o = json_loads(out, 0, &jerr);
    assert_non_null(o);
    assert_double_equal(json_number_value(json_object_get(o, "eer")), 0.25, 1e-12);
    assert_string_equal(json_string_value(json_object_get(o, "score_kind")), "distance");
    json_decref(o);
    free(out);
    free(err);
}

static void eval_scores_rejects_bad_files_with_the_line(void **state)
{
    (void)state;
    const char *path = test_tmpfile("bad-scores.txt");
    assert_true(test_write_file(path, "g 0.5\ni zero\n", 13));
    char *out, *err;
    assert_int_equal(RUN(&out, &err, NULL, "eval", "scores", path), 2);
    contains(err, "bad-scores.txt: line 2: score 'zero' is not a number");
    assert_string_equal(out, "");
    free(out);
    free(err);
    assert_true(test_write_file(path, "g 0.5\n", 6));
    assert_int_equal(RUN(&out, &err, NULL, "eval", "scores", path), 2);
    contains(err, "no impostor comparisons");
    free(out);
    free(err);
}

static void eval_pools_several_datasets(void **state)
{
    (void)state;
    char db1[4096], db2[4096];
    snprintf(db1, sizeof(db1), "%s", test_data("finger/fvc2002/DB1_B"));
    snprintf(db2, sizeof(db2), "%s:569", test_data("finger/fvc2002/DB2_B"));
    char *out, *err;
    assert_int_equal(RUN(&out, &err, NULL, "eval", "finger", "--dataset", db1, "--dataset", db2,
                         "--input", "templates", "--threads", "2"),
                     0);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    if (o == NULL)
        fail_msg("not JSON: %s (%s)", out, err);
    /* FVC protocol, 10 fingers x 8 impressions per database: 280 genuine
     * and 45 impostor comparisons each, pooled. */
    assert_int_equal(json_integer_value(json_object_get(o, "samples")), 160);
    assert_int_equal(json_integer_value(json_object_get(o, "genuine")), 560);
    assert_int_equal(json_integer_value(json_object_get(o, "impostor")), 90);
    assert_non_null(json_object_get(o, "eer"));
    json_t *parts = json_object_get(o, "datasets");
    assert_int_equal(json_array_size(parts), 2);
    /* The :569 was read as a resolution, not as part of the directory. */
    const char *second = json_string_value(json_object_get(json_array_get(parts, 1), "dataset"));
    assert_non_null(second);
    assert_null(strstr(second, ":569"));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(parts, 0), "genuine")), 280);
    json_decref(o);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_and_usage_errors),
        cmocka_unit_test(image_info_reports_format_size_and_resolution),
        cmocka_unit_test(damaged_images_exit_2_with_the_file_named),
        cmocka_unit_test(image_convert_writes_png_and_pgm),
        cmocka_unit_test(eval_scores_reproduces_a_known_eer),
        cmocka_unit_test(eval_scores_rejects_bad_files_with_the_line),
        cmocka_unit_test(eval_pools_several_datasets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
