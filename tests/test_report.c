/*
 * test_report.c - the evaluation report: the probit behind the DET axes,
 * the DET operating points, and the directory huella_eval_report_write
 * leaves behind (six files, valid images, an HTML page that escapes what
 * it shows and says what failed).
 */
#define _POSIX_C_SOURCE 200809L
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

#include "eval/report_plot.h"
#include "huella/eval.h"
#include "support.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* |actual - expected| <= tolerance, with both numbers in full on failure
 * (cmocka 1.1.5 has no assert_double_equal). */
#define assert_near(actual, expected, tolerance)                                                   \
    near_at((actual), (expected), (tolerance), #actual, __FILE__, __LINE__)

static void near_at(double actual, double expected, double tolerance, const char *what,
                    const char *file, int line)
{
    if (!(fabs(actual - expected) <= tolerance))
        fail_msg("%s:%d: %s = %.17g, expected %.17g (tolerance %g)", file, line, what, actual,
                 expected, tolerance);
}

static double phi(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

/* ---- probit -------------------------------------------------------------- */

static void probit_matches_known_quantiles(void **state)
{
    (void)state;
    assert_true(huella_probit(0.5) == 0.0);
    assert_near(huella_probit(0.975), 1.959963984540054, 1e-14);
    assert_near(huella_probit(0.025), -1.959963984540054, 1e-14);
    assert_near(huella_probit(0.001), -3.090232306167813, 1e-14);
    assert_near(huella_probit(0.8413447460685429), 1.0, 1e-14);
    assert_near(huella_probit(1e-10), -6.361340902404056, 1e-13);
    /* The approximation switches formulas at 0.02425: no seam there. */
    assert_near(huella_probit(0.02425), -1.9729610513118845, 1e-14);
}

static void probit_outside_the_unit_interval(void **state)
{
    (void)state;
    assert_true(isinf(huella_probit(0.0)) && huella_probit(0.0) < 0);
    assert_true(isinf(huella_probit(1.0)) && huella_probit(1.0) > 0);
    assert_true(isnan(huella_probit(-0.1)));
    assert_true(isnan(huella_probit(1.5)));
    assert_true(isnan(huella_probit(NAN)));
    assert_true(isnan(huella_probit(-INFINITY)));
}

static void probit_is_odd_about_one_half(void **state)
{
    (void)state;
    /* Dyadic p: 1 - p is exact, so the symmetry is exact too. */
    for (int k = 1; k < 1024; k++) {
        double p = k / 1024.0;
        assert_true(huella_probit(1.0 - p) == -huella_probit(p));
    }
    /* Any p above one half: its complement is exact, and so is the symmetry. */
    for (int i = 0; i <= 240; i++) {
        double p = 0.5 * pow(10.0, -i / 20.0);
        double upper = 1.0 - p;          /* rounded */
        double complement = 1.0 - upper; /* exact (Sterbenz) */
        assert_true(huella_probit(upper) == -huella_probit(complement));
    }
}

/* Phi(probit(p)) = p to 1e-12 relative, measured in the tail that holds
 * the precision (1 - p above one half), ten points a decade from one half
 * down to 5e-301, and to subnormal p. */
static void probit_round_trips_through_erfc(void **state)
{
    (void)state;
    for (int i = 0; i <= 3000; i++) {
        double p = 0.5 * pow(10.0, -i / 10.0);
        double x = huella_probit(p);
        assert_true(fabs(phi(x) - p) <= 1e-12 * p);
    }
    for (int i = 0; i <= 150; i++) {
        double q = 0.5 * pow(10.0, -i / 10.0);
        double p = 1.0 - q;
        double x = huella_probit(p);
        double exact_q = 1.0 - p; /* what p really is, after rounding */
        assert_true(fabs(0.5 * erfc(x / sqrt(2.0)) - exact_q) <= 1e-12 * exact_q);
    }
    assert_true(isfinite(huella_probit(4.9e-324)));
    assert_true(huella_probit(4.9e-324) < -38.0);
}

/* ---- DET operating points -------------------------------------------------- */

static void det_curve_counts_failures_as_non_matches(void **state)
{
    (void)state;
    const double g[] = {0.9, 0.8, NAN, 0.4}, i[] = {0.1, 0.5, 0.3};
    huella_det_curve c;
    huella_error err;
    assert_int_equal(huella_report_det_curve(g, N(g), i, N(i), HUELLA_SCORE_SIMILARITY, &c, &err),
                     HUELLA_OK);
    /* Thresholds 0.1 0.3 0.4 0.5 0.8 0.9 +inf. */
    const double fmr[] = {1, 2.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 0};
    const double fnmr[] = {0.25, 0.25, 0.25, 0.5, 0.5, 0.75, 1};
    assert_int_equal(c.n, N(fmr));
    for (size_t k = 0; k < c.n; k++) {
        assert_near(c.fmr[k], fmr[k], 1e-15);
        assert_near(c.fnmr[k], fnmr[k], 1e-15);
    }
    huella_report_det_curve_free(&c);

    /* The same comparisons as distances give the same curve. */
    const double gd[] = {0.1, 0.2, NAN, 0.6}, id[] = {0.9, 0.5, 0.7};
    assert_int_equal(huella_report_det_curve(gd, N(gd), id, N(id), HUELLA_SCORE_DISTANCE, &c, &err),
                     HUELLA_OK);
    assert_int_equal(c.n, N(fmr));
    for (size_t k = 0; k < c.n; k++) {
        assert_near(c.fmr[k], fmr[k], 1e-15);
        assert_near(c.fnmr[k], fnmr[k], 1e-15);
    }
    huella_report_det_curve_free(&c);

    assert_int_equal(huella_report_det_curve(g, N(g), i, 0, HUELLA_SCORE_SIMILARITY, &c, &err),
                     HUELLA_E_INPUT);
}

/* ---- Score sets for the reports ------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static double uniform(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return ((double)(r->s >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(rng *r, double mean, double sd)
{
    double u = uniform(r), v = uniform(r);
    return mean + sd * sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

/* Two overlapping normal distributions, a few comparisons without a score. */
static void make_scores(double *g, size_t ng, double *im, size_t ni, bool distance)
{
    rng r = {0x9e3779b97f4a7c15u};
    for (size_t k = 0; k < ng; k++)
        g[k] = normal(&r, 0.62, 0.09);
    for (size_t k = 0; k < ni; k++)
        im[k] = normal(&r, 0.31, 0.07);
    for (size_t k = 0; k < ng; k += 140)
        g[k] = NAN;
    for (size_t k = 0; k < ni; k += 165)
        im[k] = NAN;
    if (distance) {
        for (size_t k = 0; k < ng; k++)
            g[k] = 1.0 - g[k];
        for (size_t k = 0; k < ni; k++)
            im[k] = 1.0 - im[k];
    }
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    assert_non_null(c);
    memcpy(c, s, n);
    return c;
}

/* A result such as `huella eval` makes, dressed with names that need
 * escaping and two failures to enrol. */
static huella_eval_result *make_result(huella_score_kind kind, size_t ng, size_t ni)
{
    double *g = malloc(ng * sizeof(double)), *im = malloc(ni * sizeof(double));
    assert_non_null(g);
    assert_non_null(im);
    make_scores(g, ng, im, ni, kind == HUELLA_SCORE_DISTANCE);
    huella_eval_result *r = NULL;
    huella_error err;
    assert_int_equal(huella_eval_result_from_scores("finger-test", g, ng, im, ni, kind, &r, &err),
                     HUELLA_OK);
    free(g);
    free(im);
    r->from_scores = false;
    r->dataset = xstrdup("/data/<script>alert('x')</script> & \"FVC\"");
    r->score_meaning = xstrdup("Fraction of minutiae paired <within tolerance>.");
    r->protocol = HUELLA_PROTOCOL_ALL;
    r->samples = 800;
    r->classes = 100;
    r->fte = 2;
    r->fte_names = calloc(2, sizeof(char *));
    assert_non_null(r->fte_names);
    r->fte_names[0] = xstrdup("101_3.tif: no ridges found");
    r->fte_names[1] = xstrdup("<b>bad</b>.tif: image too dark");
    r->extract_ms_median = 41.5;
    r->compare_us_median = 12.25;
    r->threads = 2;
    r->wall_seconds = 3.75;
    return r;
}

/* ---- Checking the files --------------------------------------------------- */

static char *read_text(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    size_t len;
    char *s = (char *)test_read_file(path, &len);
    if (s == NULL) {
        fail_msg("%s was not written", path);
        return NULL;
    }
    assert_int_equal(strlen(s), len);
    return s;
}

static void assert_png(const char *dir, const char *name, uint32_t width, uint32_t height)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    size_t len;
    uint8_t *p = test_read_file(path, &len);
    if (p == NULL) {
        fail_msg("%s was not written", path);
        return;
    }
    assert_true(len > 33);
    assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(p + 8, "\0\0\0\x0dIHDR", 8);
    uint32_t w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
    uint32_t h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
    assert_int_equal(w, width);
    assert_int_equal(h, height);
    /* A real image, not a blank canvas: it compresses to more than 10 kB. */
    assert_true(len > 10000);
    free(p);
}

static void assert_svg(const char *dir, const char *name)
{
    char *s = read_text(dir, name);
    assert_non_null(strstr(s, "<svg"));
    assert_non_null(strstr(s, "</svg>"));
    free(s);
}

static void assert_all_files(const char *dir)
{
    const int s = HUELLA_REPORT_PNG_SCALE;
    assert_png(dir, "det.png", HUELLA_REPORT_DET_WIDTH * s, HUELLA_REPORT_DET_HEIGHT * s);
    assert_png(dir, "scores.png", HUELLA_REPORT_SCORES_WIDTH * s, HUELLA_REPORT_SCORES_HEIGHT * s);
    assert_svg(dir, "det.svg");
    assert_svg(dir, "scores.svg");
    char *json = read_text(dir, "result.json");
    assert_non_null(strstr(json, "\"modality\": \"finger-test\""));
    free(json);
    char *html = read_text(dir, "index.html");
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "</html>"));
    assert_non_null(strstr(html, "<img src=\"det.svg\""));
    assert_non_null(strstr(html, "<img src=\"scores.svg\""));
    assert_non_null(strstr(html, "href=\"det.png\""));
    assert_non_null(strstr(html, "href=\"scores.png\""));
    assert_non_null(strstr(html, HUELLA_VERSION));
    /* Self-contained: nothing fetched, nothing run. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "http:"));
    assert_null(strstr(html, "https:"));
    assert_null(strstr(html, "<link"));
    free(html);
}

/* ---- Reports ---------------------------------------------------------------- */

static void report_of_a_similarity_run(void **state)
{
    (void)state;
    huella_eval_result *r = make_result(HUELLA_SCORE_SIMILARITY, 2800, 4950);
    const char *dir = test_tmpfile("report-similarity");
    huella_error err;
    huella_status st = huella_eval_report_write(r, dir, &err);
    if (st != HUELLA_OK)
        fail_msg("%s", err.message);
    assert_all_files(dir);

    char *html = read_text(dir, "index.html");
    assert_non_null(strstr(html, "<title>huella evaluation: finger-test on /data/&lt;script&gt;"
                                 "alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;FVC&quot;"
                                 "</title>"));
    assert_non_null(strstr(html, "&lt;within tolerance&gt;"));
    assert_non_null(strstr(html, "101_3.tif: no ridges found"));
    assert_non_null(strstr(html, "&lt;b&gt;bad&lt;/b&gt;.tif: image too dark"));
    assert_non_null(strstr(html, ">all"));
    assert_non_null(strstr(html, "41.5 ms"));
    /* The EER as the table prints it. */
    char eer[64], line[128];
    huella_report_percent(eer, sizeof(eer), r->metrics.eer);
    snprintf(line, sizeof(line), "<td class=\"num\">%s</td>", eer);
    assert_non_null(strstr(html, line));
    /* 4950 impostors resolve FMR 0.1 % but not 0.01 %. */
    assert_non_null(strstr(html, "(FMR10000) <sup>&dagger;</sup>"));
    assert_null(strstr(html, "(FMR1000) <sup>"));
    free(html);

    /* Writing again over an existing report replaces it. */
    assert_int_equal(huella_eval_report_write(r, dir, &err), HUELLA_OK);
    huella_eval_result_free(r);
}

/* A distance result straight from a scores file: no dataset, no meaning,
 * no timing, and a directory several levels deep. */
static void report_of_distance_scores(void **state)
{
    (void)state;
    double g[300], im[450];
    make_scores(g, N(g), im, N(im), true);
    huella_eval_result *r = NULL;
    huella_error err;
    assert_int_equal(huella_eval_result_from_scores("finger-test", g, N(g), im, N(im),
                                                    HUELLA_SCORE_DISTANCE, &r, &err),
                     HUELLA_OK);
    /* Distances: the EER threshold lies between the two means. */
    assert_true(r->metrics.eer_threshold > 0.38 && r->metrics.eer_threshold < 0.69);
    const char *dir = test_tmpfile("deeper/and/deeper/report-distance/");
    huella_status st = huella_eval_report_write(r, dir, &err);
    if (st != HUELLA_OK)
        fail_msg("%s", err.message);
    assert_all_files(dir);
    char *html = read_text(dir, "index.html");
    assert_non_null(strstr(html, "<title>huella evaluation: finger-test</title>"));
    assert_non_null(strstr(html, "distance: lower means more alike"));
    assert_non_null(strstr(html, "<th>Dataset</th><td>\xe2\x80\x94"));
    assert_non_null(strstr(html, "Not measured"));
    assert_null(strstr(html, "Failures to enrol</h2>"));
    free(html);
    huella_eval_result_free(r);
}

/* FVC2002-sized: 45 impostors, so no non-zero FMR is below 2.2 %. */
static void report_of_a_small_test(void **state)
{
    (void)state;
    huella_eval_result *r = make_result(HUELLA_SCORE_SIMILARITY, 280, 45);
    const char *dir = test_tmpfile("report-small");
    huella_error err;
    huella_status st = huella_eval_report_write(r, dir, &err);
    if (st != HUELLA_OK)
        fail_msg("%s", err.message);
    assert_all_files(dir);
    char *html = read_text(dir, "index.html");
    assert_non_null(strstr(html, "(FMR100) <sup>&dagger;</sup>"));
    free(html);
    huella_eval_result_free(r);
}

/* A matcher may call identical templates infinitely alike: such scores
 * take part in the curve and sit in the histograms' edge bins. */
static void report_with_infinite_scores(void **state)
{
    (void)state;
    double g[100], im[100];
    make_scores(g, N(g), im, N(im), false);
    g[1] = INFINITY;
    im[1] = -INFINITY;
    huella_eval_result *r = NULL;
    huella_error err;
    assert_int_equal(huella_eval_result_from_scores("finger-test", g, N(g), im, N(im),
                                                    HUELLA_SCORE_SIMILARITY, &r, &err),
                     HUELLA_OK);
    const char *dir = test_tmpfile("report-infinite");
    huella_status st = huella_eval_report_write(r, dir, &err);
    if (st != HUELLA_OK)
        fail_msg("%s", err.message);
    assert_all_files(dir);
    huella_eval_result_free(r);
}

static void report_into_a_file_fails_naming_the_path(void **state)
{
    (void)state;
    const char *plain = test_tmpfile("plain-file");
    assert_true(test_write_file(plain, "x", 1));
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/report", plain);
    huella_eval_result *r = make_result(HUELLA_SCORE_SIMILARITY, 280, 45);
    huella_error err;
    huella_status st = huella_eval_report_write(r, dir, &err);
    assert_int_not_equal(st, HUELLA_OK);
    assert_int_equal(err.status, st);
    assert_non_null(strstr(err.message, dir));
    assert_non_null(strstr(err.message, "not a directory"));

    /* And a result without impostors cannot make a DET curve. */
    size_t ni = r->n_impostor;
    r->n_impostor = 0;
    st = huella_eval_report_write(r, test_tmpfile("report-empty"), &err);
    assert_int_equal(st, HUELLA_E_INPUT);
    r->n_impostor = ni;
    huella_eval_result_free(r);
}

static void percentages_have_three_significant_figures(void **state)
{
    (void)state;
    char s[64];
    huella_report_percent(s, sizeof(s), 0.0235);
    assert_string_equal(s, "2.35%");
    huella_report_percent(s, sizeof(s), 0.123);
    assert_string_equal(s, "12.3%");
    huella_report_percent(s, sizeof(s), 1.0 / 4950);
    assert_string_equal(s, "0.0202%");
    huella_report_percent(s, sizeof(s), 0.0);
    assert_string_equal(s, "0%");
    huella_report_percent(s, sizeof(s), 1.0);
    assert_string_equal(s, "100%");
    huella_report_percent(s, sizeof(s), 0.5);
    assert_string_equal(s, "50.0%");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probit_matches_known_quantiles),
        cmocka_unit_test(probit_outside_the_unit_interval),
        cmocka_unit_test(probit_is_odd_about_one_half),
        cmocka_unit_test(probit_round_trips_through_erfc),
        cmocka_unit_test(det_curve_counts_failures_as_non_matches),
        cmocka_unit_test(percentages_have_three_significant_figures),
        cmocka_unit_test(report_of_a_similarity_run),
        cmocka_unit_test(report_of_distance_scores),
        cmocka_unit_test(report_of_a_small_test),
        cmocka_unit_test(report_with_infinite_scores),
        cmocka_unit_test(report_into_a_file_fails_naming_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
