/*
 * test_iris_modality.c - the "iris" modality of the evaluation harness
 * (src/iris/modality.c) and an accuracy regression: the first 20 eyes of
 * CASIA V1, every pair, must keep their error rates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/eval.h"
#include "huella/iris.h"
#include "support.h"

#define REQUIRE_DATA()                                                                             \
    do {                                                                                           \
        if (!test_have_data())                                                                     \
            skip();                                                                                \
    } while (0)

/* Measured when this test was written (docs/iris.md): 420 genuine and
 * 9310 impostor comparisons, EER 1.2 %, FNMR at FMR 0.1 % 1.9 % (threshold
 * 0.304), no failure to enrol.  Re-measured after the issue 5 accuracy
 * work (lash model, pupil candidates, narrower bands, wavelength 32): EER
 * 0.95 %, FNMR at FMR 0.1 % 1.43 % (threshold 0.351).  After the eyelid
 * parabolas and the two-scale code (template version 3): EER 0.47 %,
 * FNMR at FMR 0.1 % 0.95 % (threshold 0.376).  After the pupil's
 * dark-run refinement (sixth round): EER 0.47 %, FNMR at FMR 0.1 % 0.71 %
 * (threshold 0.379).  The bounds leave room for a comparison or two (one
 * genuine pair is 0.24 %), not for a regression; tighten them as the
 * engine improves. */
#define MAX_EER   0.008
#define MAX_FNMR3 0.012
#define EYES      20
#define PER_EYE   7

static const huella_modality *iris(void)
{
    const huella_modality *m = huella_eval_modality_find("iris");
    assert_non_null(m);
    return m;
}

static void the_modality_is_registered_and_describes_itself(void **state)
{
    (void)state;
    const huella_modality *m = iris();
    assert_string_equal(m->name, "iris");
    assert_int_equal(m->score_kind, HUELLA_SCORE_DISTANCE);
    assert_non_null(m->score_meaning);
    bool jpg = false, bmp = false;
    for (const char *const *e = m->image_extensions; *e != NULL; e++) {
        jpg |= strcmp(*e, "jpg") == 0;
        bmp |= strcmp(*e, "bmp") == 0;
    }
    assert_true(jpg && bmp);
    assert_string_equal(m->template_extensions[0], "iris");
}

static void templates_from_files_compare_like_images(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const huella_modality *m = iris();
    huella_sample_options img_opt = {.input = HUELLA_INPUT_IMAGES};
    huella_sample_options tpl_opt = {.input = HUELLA_INPUT_TEMPLATES};
    void *a = NULL, *b = NULL, *c = NULL;
    huella_error err;
    const char *pa = test_data("iris/casia-v1/5/005_1_1.jpg");
    const char *pb = test_data("iris/casia-v1/5/005_2_2.jpg");
    assert_int_equal(m->make_template(m, pa, &img_opt, &a, &err), HUELLA_OK);
    assert_int_equal(m->make_template(m, pb, &img_opt, &b, &err), HUELLA_OK);
    /* Write b as a .iris file and read it back through the modality. */
    uint8_t *bytes;
    size_t len;
    assert_int_equal(huella_iris_template_encode(b, &bytes, &len, NULL), HUELLA_OK);
    const char *path = test_tmpfile("005_2_2.iris");
    assert_true(test_write_file(path, bytes, len));
    free(bytes);
    assert_int_equal(m->make_template(m, path, &tpl_opt, &c, &err), HUELLA_OK);
    double s1, s2;
    assert_int_equal(m->compare(m, a, b, &s1, &err), HUELLA_OK);
    assert_int_equal(m->compare(m, a, c, &s2, &err), HUELLA_OK);
    assert_double_equal(s1, s2, 1e-12);
    /* A missing file and an image read as a template both fail cleanly. */
    void *x = NULL;
    assert_int_not_equal(m->make_template(m, test_tmpfile("none.iris"), &tpl_opt, &x, &err),
                         HUELLA_OK);
    assert_null(x);
    assert_int_not_equal(m->make_template(m, pa, &tpl_opt, &x, &err), HUELLA_OK);
    assert_null(x);
    m->free_template(a);
    m->free_template(b);
    m->free_template(c);
}

static void accuracy_on_the_first_20_casia_eyes_does_not_regress(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const huella_modality *m = iris();
    huella_sample_options opt = {.input = HUELLA_INPUT_IMAGES};
    enum { N = EYES * PER_EYE };
    void **t = calloc(N, sizeof(*t));
    assert_non_null(t);
    size_t fte = 0;
    for (int e = 0; e < EYES; e++) {
        static const char *const sessions[PER_EYE] = {"1_1", "1_2", "1_3", "2_1",
                                                      "2_2", "2_3", "2_4"};
        for (int k = 0; k < PER_EYE; k++) {
            char rel[80];
            snprintf(rel, sizeof(rel), "iris/casia-v1/%d/%03d_%s.jpg", e + 1, e + 1, sessions[k]);
            huella_error err;
            if (m->make_template(m, test_data(rel), &opt, &t[e * PER_EYE + k], &err) != HUELLA_OK)
                fte++;
        }
    }
    double *gen = malloc(sizeof(double) * N * PER_EYE);
    double *imp = malloc(sizeof(double) * N * N / 2);
    assert_non_null(gen);
    assert_non_null(imp);
    size_t ng = 0, ni = 0;
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++) {
            double s = 1.0; /* no template: the worst distance, a non-match */
            if (t[a] != NULL && t[b] != NULL)
                assert_int_equal(m->compare(m, t[a], t[b], &s, NULL), HUELLA_OK);
            if (a / PER_EYE == b / PER_EYE)
                gen[ng++] = s;
            else
                imp[ni++] = s;
        }
    huella_eval_metrics mt;
    assert_int_equal(
        huella_eval_metrics_compute(gen, ng, imp, ni, HUELLA_SCORE_DISTANCE, &mt, NULL), HUELLA_OK);
    print_message("iris, CASIA V1 eyes 1-%d: %zu genuine, %zu impostor, EER %.4f, "
                  "FNMR@FMR0.1%% %.4f (threshold %.4f), fte %zu\n",
                  EYES, ng, ni, mt.eer, mt.fmr1000, mt.threshold_fmr1000, fte);
    assert_true(fte <= 1);
    assert_true(mt.eer <= MAX_EER);
    assert_true(mt.fmr1000 <= MAX_FNMR3);
    for (int i = 0; i < N; i++)
        if (t[i] != NULL)
            m->free_template(t[i]);
    free(t);
    free(gen);
    free(imp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_modality_is_registered_and_describes_itself),
        cmocka_unit_test(templates_from_files_compare_like_images),
        cmocka_unit_test(accuracy_on_the_first_20_casia_eyes_does_not_regress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
