/*
 * test_finger_extract.c - minutiae extraction from images
 * (src/finger/extract.c, field.c, enhance.c): plausible minutiae on real
 * prints, determinism, resolution handling, refusal of images without a
 * print, the direction convention shared with ISO records, and mates
 * scoring above non-mates.
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

#include <cmocka.h>

#include "huella/finger.h"
#include "huella/image.h"

#include "support.h"

#define TEST_PI 3.14159265358979323846

static huella_image *read_image(const char *rel)
{
    huella_image *img;
    huella_error err;
    if (huella_image_read(test_data(rel), NULL, &img, &err) != HUELLA_OK)
        fail_msg("%s: %s", rel, err.message);
    return img;
}

static huella_finger_template *extract(const char *rel, double ppi)
{
    huella_image *img = read_image(rel);
    huella_finger_template *t;
    huella_error err;
    if (huella_finger_extract(img, ppi, NULL, &t, &err) != HUELLA_OK)
        fail_msg("%s: %s", rel, err.message);
    huella_image_free(img);
    return t;
}

static void every_minutia_is_valid(const huella_finger_template *t)
{
    for (size_t i = 0; i < t->n_minutiae; i++) {
        const huella_minutia *m = &t->minutiae[i];
        assert_true(m->x >= 0 && m->x < t->width);
        assert_true(m->y >= 0 && m->y < t->height);
        assert_true(m->direction >= 0 && m->direction < 2 * TEST_PI);
        assert_true(m->type == HUELLA_MINUTIA_ENDING || m->type == HUELLA_MINUTIA_BIFURCATION);
        assert_true(m->quality >= 1 && m->quality <= 100);
    }
}

static void real_prints_give_a_plausible_number_of_minutiae(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const struct {
        const char *rel;
        double ppi;
    } prints[] = {
        {"finger/fvc2002/DB1_B/101_1.tif", 500},      {"finger/fvc2002/DB2_B/101_1.tif", 569},
        {"finger/fvc2002/DB3_B/101_1.tif", 500},      {"finger/fvc2002/DB4_B/101_1.tif", 500},
        {"finger/sourceafis-samples/probe.png", 500},
    };
    for (size_t k = 0; k < sizeof(prints) / sizeof(prints[0]); k++) {
        huella_finger_template *t = extract(prints[k].rel, prints[k].ppi);
        printf("# %s: %zu minutiae\n", prints[k].rel, t->n_minutiae);
        if (t->n_minutiae < 15 || t->n_minutiae > 120)
            fail_msg("%s: %zu minutiae, expected 15..120", prints[k].rel, t->n_minutiae);
        every_minutia_is_valid(t);
        assert_int_equal(t->resolution_x, (uint16_t)lround(prints[k].ppi / 2.54));
        huella_finger_template_free(t);
    }
}

static void the_same_image_gives_the_same_template(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    uint8_t *a, *b;
    size_t la, lb;
    huella_error err;
    huella_finger_template *t1 = extract("finger/fvc2002/DB1_B/102_3.tif", 500);
    huella_finger_template *t2 = extract("finger/fvc2002/DB1_B/102_3.tif", 500);
    assert_int_equal(huella_finger_template_encode(t1, &a, &la, &err), HUELLA_OK);
    assert_int_equal(huella_finger_template_encode(t2, &b, &lb, &err), HUELLA_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    huella_finger_template_free(t1);
    huella_finger_template_free(t2);
}

/* The same pixels in PNG, BMP and TIFF (the TIFF declaring 72 ppi, a
 * tool's default) give the same template. */
static void lossless_formats_give_the_same_template(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *files[] = {"finger/sourceafis-samples/probe.png",
                           "finger/sourceafis-samples/probe.bmp",
                           "finger/sourceafis-samples/probe.tiff"};
    uint8_t *first = NULL;
    size_t first_len = 0;
    for (int k = 0; k < 3; k++) {
        huella_finger_template *t = extract(files[k], 500);
        uint8_t *enc;
        size_t len;
        huella_error err;
        assert_int_equal(huella_finger_template_encode(t, &enc, &len, &err), HUELLA_OK);
        if (first == NULL) {
            first = enc;
            first_len = len;
        } else {
            assert_int_equal(len, first_len);
            assert_memory_equal(enc, first, len);
            free(enc);
        }
        huella_finger_template_free(t);
    }
    free(first);
}

/* DB2 is scanned at 569 ppi: the template is in the 500-ppi frame, its
 * size the image's scaled by 500/569, and a plausible resolution
 * declared by the file wins over the caller's. */
static void other_resolutions_are_resampled_to_500_ppi(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_image *img = read_image("finger/fvc2002/DB2_B/101_1.tif");
    huella_finger_template *t;
    huella_error err;
    assert_int_equal(huella_finger_extract(img, 569, NULL, &t, &err), HUELLA_OK);
    assert_int_equal(t->width, (uint16_t)lround(img->width * 500.0 / 569.0));
    assert_int_equal(t->height, (uint16_t)lround(img->height * 500.0 / 569.0));
    assert_int_equal(t->resolution_x, 224); /* 569 ppi in pixels per cm */
    assert_true(t->n_minutiae > 0);
    every_minutia_is_valid(t);
    huella_finger_template_free(t);
    /* Declared resolution first. */
    img->ppi_x = img->ppi_y = 569;
    assert_int_equal(huella_finger_extract(img, 1000, NULL, &t, &err), HUELLA_OK);
    assert_int_equal(t->width, (uint16_t)lround(img->width * 500.0 / 569.0));
    huella_finger_template_free(t);
    /* A screen resolution, what image tools write when they know none,
     * is no declaration. */
    img->ppi_x = img->ppi_y = 72;
    assert_int_equal(huella_finger_extract(img, 569, NULL, &t, &err), HUELLA_OK);
    assert_int_equal(t->width, (uint16_t)lround(img->width * 500.0 / 569.0));
    huella_finger_template_free(t);
    /* Nonsense resolutions are refused, not guessed. */
    img->ppi_x = img->ppi_y = 0;
    assert_int_equal(huella_finger_extract(img, 20, NULL, &t, &err), HUELLA_E_INPUT);
    assert_null(t);
    huella_image_free(img);
}

static void images_without_a_print_are_refused_or_nearly_empty(void **state)
{
    (void)state;
    huella_image *img;
    huella_finger_template *t;
    huella_error err;
    /* Blank. */
    assert_int_equal(huella_image_new(300, 300, &img, NULL), HUELLA_OK);
    memset(img->pixels, 200, (size_t)300 * 300);
    assert_int_equal(huella_finger_extract(img, 500, NULL, &t, &err), HUELLA_E_INPUT);
    assert_null(t);
    assert_non_null(strstr(err.message, "no fingerprint"));
    /* White noise (a fixed linear congruential sequence). */
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)300 * 300; i++) {
        s = s * 1103515245u + 12345u;
        img->pixels[i] = (uint8_t)(s >> 24);
    }
    huella_status st = huella_finger_extract(img, 500, NULL, &t, &err);
    if (st == HUELLA_OK) {
        assert_true(t->n_minutiae <= 5);
        huella_finger_template_free(t);
    } else {
        assert_int_equal(st, HUELLA_E_INPUT);
    }
    huella_image_free(img);
    /* Too small to hold a print. */
    assert_int_equal(huella_image_new(40, 300, &img, NULL), HUELLA_OK);
    assert_int_equal(huella_finger_extract(img, 500, NULL, &t, &err), HUELLA_E_INPUT);
    huella_image_free(img);
    /* A real blank capture (FingerJetFX made no template of it either). */
    if (test_have_data()) {
        img = read_image("finger/fjfx-samples/images-pgm/a999_01p.pgm");
        assert_int_equal(huella_finger_extract(img, 500, NULL, &t, &err), HUELLA_E_INPUT);
        huella_image_free(img);
    }
    /* No image at all. */
    assert_int_equal(huella_finger_extract(NULL, 500, NULL, &t, &err), HUELLA_E_INPUT);
}

static void max_minutiae_keeps_the_best(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_image *img = read_image("finger/fvc2002/DB1_B/101_1.tif");
    huella_finger_extract_options opt = {10};
    huella_finger_template *t, *all;
    huella_error err;
    assert_int_equal(huella_finger_extract(img, 500, &opt, &t, &err), HUELLA_OK);
    assert_int_equal(huella_finger_extract(img, 500, NULL, &all, &err), HUELLA_OK);
    assert_int_equal(t->n_minutiae, 10);
    /* Every kept minutia is at least as good as every dropped one. */
    unsigned worst_kept = 100;
    for (size_t i = 0; i < t->n_minutiae; i++)
        if (t->minutiae[i].quality < worst_kept)
            worst_kept = t->minutiae[i].quality;
    size_t better = 0;
    for (size_t i = 0; i < all->n_minutiae; i++)
        better += all->minutiae[i].quality > worst_kept;
    assert_true(better <= 10);
    huella_finger_template_free(t);
    huella_finger_template_free(all);
    huella_image_free(img);
}

/* The extractor's directions agree with the ISO records of the same
 * images made by FingerJetFX: for minutiae found at the same place by
 * both, the directions mostly agree and are almost never opposite, for
 * endings and bifurcations alike. */
static void directions_follow_the_iso_convention(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_finger_template *t = extract("finger/fjfx-samples/images-pgm/a001_04p.pgm", 500);
    size_t len;
    uint8_t *data =
        test_read_file(test_data("finger/fjfx-samples/templates-iso/a001_04p.ist"), &len);
    assert_non_null(data);
    huella_finger_template *r;
    huella_error err;
    assert_int_equal(huella_finger_template_load(data, len, &r, &err), HUELLA_OK);
    free(data);
    int agree = 0, opposite = 0;
    for (size_t i = 0; i < r->n_minutiae; i++) {
        const huella_minutia *a = &r->minutiae[i], *best = NULL;
        double bd = 6.0;
        for (size_t j = 0; j < t->n_minutiae; j++) {
            double d = hypot(a->x - t->minutiae[j].x, a->y - t->minutiae[j].y);
            if (d < bd) {
                bd = d;
                best = &t->minutiae[j];
            }
        }
        if (best == NULL)
            continue;
        double dd = fabs(fmod((double)a->direction - best->direction + 4 * TEST_PI, 2 * TEST_PI));
        if (dd > TEST_PI)
            dd = 2 * TEST_PI - dd;
        agree += dd < TEST_PI / 4;
        opposite += dd > 3 * TEST_PI / 4;
    }
    printf("# a001_04p: %d directions agree with FingerJetFX, %d opposite\n", agree, opposite);
    assert_true(agree >= 15);
    assert_true(opposite * 10 <= agree);
    huella_finger_template_free(t);
    huella_finger_template_free(r);
}

/* Impressions of one finger score above impressions of others. */
static void mates_score_above_non_mates(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *names[] = {"101_1", "101_2", "101_3", "102_1", "103_1", "104_1"};
    huella_finger_prepared *p[6];
    huella_error err;
    for (int k = 0; k < 6; k++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "finger/fvc2002/DB1_B/%s.tif", names[k]);
        huella_finger_template *t = extract(rel, 500);
        assert_int_equal(huella_finger_prepare(t, &p[k], &err), HUELLA_OK);
        huella_finger_template_free(t);
    }
    double worst_mate = 100, best_non_mate = 0;
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            double s = huella_finger_compare(p[a], p[b]);
            worst_mate = s < worst_mate ? s : worst_mate;
        }
    for (int a = 0; a < 3; a++)
        for (int b = 3; b < 6; b++) {
            double s = huella_finger_compare(p[a], p[b]);
            best_non_mate = s > best_non_mate ? s : best_non_mate;
        }
    printf("# DB1_B 101: worst mate %.1f, best non-mate %.1f\n", worst_mate, best_non_mate);
    assert_true(worst_mate > best_non_mate);
    for (int k = 0; k < 6; k++)
        huella_finger_prepared_free(p[k]);
}

/* Loops have a core near the middle of a plain impression; the Poincare
 * index finds it, and finds no singular point on a blank page. */
static void cores_are_found_near_the_centre_of_loops(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t with_core = 0;
    for (int finger = 101; finger <= 110; finger++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "finger/fvc2002/DB1_B/%d_1.tif", finger);
        huella_finger_template *t = extract(rel, 500);
        assert_true(t->n_cores <= 4 && t->n_deltas <= 4);
        for (size_t i = 0; i < t->n_cores; i++) {
            assert_in_range(t->cores[i].x, 0, t->width - 1);
            assert_in_range(t->cores[i].y, 0, t->height - 1);
        }
        if (t->n_cores >= 1 && fabs(t->cores[0].x - t->width / 2.0) < t->width / 3.0 &&
            fabs(t->cores[0].y - t->height / 2.0) < t->height / 3.0)
            with_core++;
        huella_finger_template_free(t);
    }
    /* Every first impression of DB1_B shows its core well inside the print. */
    assert_true(with_core >= 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_prints_give_a_plausible_number_of_minutiae),
        cmocka_unit_test(the_same_image_gives_the_same_template),
        cmocka_unit_test(lossless_formats_give_the_same_template),
        cmocka_unit_test(other_resolutions_are_resampled_to_500_ppi),
        cmocka_unit_test(images_without_a_print_are_refused_or_nearly_empty),
        cmocka_unit_test(max_minutiae_keeps_the_best),
        cmocka_unit_test(directions_follow_the_iso_convention),
        cmocka_unit_test(mates_score_above_non_mates),
        cmocka_unit_test(cores_are_found_near_the_centre_of_loops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
