/*
 * test_scale.c - specification of huella_image_scale (src/image/scale.c).
 *
 * Shrinking averages exactly the area each new pixel covers; enlarging
 * interpolates bilinearly between pixel centres; an unchanged size is a
 * copy; the resolution follows the actual size ratio; nonsense factors and
 * results beyond the limits are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "image_support.h"

static huella_image *make(uint32_t w, uint32_t h, const uint8_t *px)
{
    huella_image *img;
    huella_error err;
    assert_int_equal(huella_image_new(w, h, &img, &err), HUELLA_OK);
    if (px != NULL)
        memcpy(img->pixels, px, (size_t)w * h);
    return img;
}

static huella_image *scale_ok(const huella_image *img, double s)
{
    huella_image *out = NULL;
    huella_error err;
    if (huella_image_scale(img, s, &out, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    return out;
}

static void test_identity_is_a_copy(void **state)
{
    (void)state;
    uint8_t px[12];
    for (int i = 0; i < 12; i++)
        px[i] = (uint8_t)(i * 20);
    huella_image *img = make(4, 3, px);
    img->ppi_x = 500;
    img->ppi_y = 500;
    img->format = HUELLA_IMAGE_TIFF;
    huella_image *out = scale_ok(img, 1.0);
    assert_int_equal(out->width, 4);
    assert_int_equal(out->height, 3);
    assert_memory_equal(out->pixels, px, 12);
    assert_true(out->ppi_x == 500 && out->ppi_y == 500);
    assert_int_equal(out->format, HUELLA_IMAGE_TIFF);
    assert_ptr_not_equal(out->pixels, img->pixels);
    huella_image_free(out);
    huella_image_free(img);
}

static void test_halving_averages_blocks(void **state)
{
    (void)state;
    const uint8_t px[16] = {10, 20, 0, 0, /**/ 30, 40, 0, 4, 255, 255, 1, 2, /**/ 255, 255, 3, 5};
    huella_image *img = make(4, 4, px);
    huella_image *out = scale_ok(img, 0.5);
    assert_int_equal(out->width, 2);
    assert_int_equal(out->height, 2);
    assert_int_equal(out->pixels[0], 25); /* (10 + 20 + 30 + 40) / 4 */
    assert_int_equal(out->pixels[1], 1);  /* (0 + 0 + 0 + 4) / 4 */
    assert_int_equal(out->pixels[2], 255);
    assert_int_equal(out->pixels[3], 3); /* (1 + 2 + 3 + 5) / 4 = 2.75 */
    huella_image_free(out);
    huella_image_free(img);
}

static void test_third_averages_3x3_blocks(void **state)
{
    (void)state;
    uint8_t px[36];
    for (int i = 0; i < 36; i++)
        px[i] = (uint8_t)(i * 7);
    huella_image *img = make(6, 6, px);
    huella_image *out = scale_ok(img, 1.0 / 3.0);
    assert_int_equal(out->width, 2);
    assert_int_equal(out->height, 2);
    for (int by = 0; by < 2; by++)
        for (int bx = 0; bx < 2; bx++) {
            unsigned sum = 0;
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++)
                    sum += px[(by * 3 + y) * 6 + bx * 3 + x];
            assert_int_equal(out->pixels[by * 2 + bx], (sum + 4) / 9);
        }
    huella_image_free(out);
    huella_image_free(img);
}

static void test_fractional_shrink_weights_partial_pixels(void **state)
{
    (void)state;
    /* 4 -> 3: each new pixel covers 4/3 old ones. */
    const uint8_t px[4] = {0, 100, 200, 255};
    huella_image *img = make(4, 1, px);
    huella_image *out = scale_ok(img, 0.75);
    assert_int_equal(out->width, 3);
    assert_int_equal(out->height, 1);
    assert_int_equal(out->pixels[0], 25);  /* (0 * 1 + 100 / 3) / (4/3) */
    assert_int_equal(out->pixels[1], 150); /* (100 * 2/3 + 200 * 2/3) / (4/3) */
    assert_int_equal(out->pixels[2], 241); /* (200 / 3 + 255) / (4/3) = 241.25 */
    huella_image_free(out);
    huella_image_free(img);
}

static void test_enlarging_is_bilinear(void **state)
{
    (void)state;
    const uint8_t px[2] = {0, 100};
    huella_image *img = make(2, 1, px);
    huella_image *out = scale_ok(img, 2.0);
    assert_int_equal(out->width, 4);
    assert_int_equal(out->height, 2);
    /* New centres at -0.25, 0.25, 0.75, 1.25 in old pixels, clamped. */
    const uint8_t row[4] = {0, 25, 75, 100};
    assert_memory_equal(out->pixels, row, 4);
    assert_memory_equal(out->pixels + 4, row, 4);
    huella_image_free(out);
    huella_image_free(img);
}

static void test_constant_stays_constant(void **state)
{
    (void)state;
    huella_image *img = make(97, 61, NULL);
    memset(img->pixels, 173, 97 * 61);
    const double factors[] = {0.1, 0.37, 0.5, 0.9, 0.999, 1.001, 1.5, 2.0, 3.3};
    for (size_t k = 0; k < sizeof(factors) / sizeof(factors[0]); k++) {
        huella_image *out = scale_ok(img, factors[k]);
        assert_int_equal(out->width, (uint32_t)lround(97 * factors[k]));
        assert_int_equal(out->height, (uint32_t)lround(61 * factors[k]));
        for (size_t i = 0; i < (size_t)out->width * out->height; i++)
            assert_int_equal(out->pixels[i], 173);
        huella_image_free(out);
    }
    huella_image_free(img);
}

static void test_resolution_follows_the_size(void **state)
{
    (void)state;
    huella_image *img = make(400, 300, NULL);
    img->ppi_x = 500;
    img->ppi_y = 1000;
    huella_image *out = scale_ok(img, 0.5);
    assert_true(out->ppi_x == 250 && out->ppi_y == 500);
    huella_image_free(out);
    out = scale_ok(img, 1.2);
    assert_float_equal(out->ppi_x, 600, 1e-9);
    assert_float_equal(out->ppi_y, 1200, 1e-9);
    huella_image_free(out);
    /* 400 * 0.333 = 133.2 -> 133 pixels: the ppi follows the real ratio. */
    out = scale_ok(img, 0.333);
    assert_int_equal(out->width, 133);
    assert_float_equal(out->ppi_x, 500.0 * 133 / 400, 1e-9);
    huella_image_free(out);
    /* Undeclared stays undeclared. */
    img->ppi_x = img->ppi_y = 0;
    out = scale_ok(img, 0.7);
    assert_true(out->ppi_x == 0 && out->ppi_y == 0);
    huella_image_free(out);
    huella_image_free(img);
}

static void test_tiny_factor_gives_the_mean(void **state)
{
    (void)state;
    uint8_t px[16];
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) {
        px[i] = (uint8_t)(i * 16);
        sum += px[i];
    }
    huella_image *img = make(4, 4, px);
    huella_image *out = scale_ok(img, 1e-6);
    assert_int_equal(out->width, 1);
    assert_int_equal(out->height, 1);
    assert_int_equal(out->pixels[0], (sum + 8) / 16);
    huella_image_free(out);
    huella_image_free(img);
}

static void test_bad_arguments_rejected(void **state)
{
    (void)state;
    huella_image *img = make(10, 10, NULL);
    huella_image *out = (huella_image *)(uintptr_t)1;
    huella_error err;
    const double bad[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        assert_int_equal(huella_image_scale(img, bad[k], &out, &err), HUELLA_E_INPUT);
        assert_null(out);
        assert_non_null(strstr(err.message, "scale"));
    }
    assert_int_equal(huella_image_scale(img, 5000.0, &out, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "exceeds the limit"));
    assert_int_equal(huella_image_scale(img, 1e300, &out, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_image_scale(NULL, 0.5, &out, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_image_scale(img, 0.5, NULL, &err), HUELLA_E_INPUT);
    huella_image_free(img);
}

static void test_real_fingerprint(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_image *img = read_ok("finger/fvc2002/DB2_B/101_1.tif");
    /* 569 ppi to 500 ppi, the usual normalisation. */
    img->ppi_x = img->ppi_y = 569;
    huella_image *out = scale_ok(img, 500.0 / 569.0);
    assert_int_equal(out->width, 260);  /* 296 * 0.8787 = 260.1 */
    assert_int_equal(out->height, 492); /* 560 * 0.8787 = 492.1 */
    assert_float_equal(out->ppi_x, 569.0 * 260 / 296, 1e-9);
    double m0 = 0, m1 = 0;
    for (size_t i = 0; i < (size_t)img->width * img->height; i++)
        m0 += img->pixels[i];
    for (size_t i = 0; i < (size_t)out->width * out->height; i++)
        m1 += out->pixels[i];
    m0 /= (double)img->width * img->height;
    m1 /= (double)out->width * out->height;
    print_message("mean brightness %.2f -> %.2f\n", m0, m1);
    assert_true(fabs(m0 - m1) < 1.0);

    /* Up and back down: close to the original. */
    huella_image *up = scale_ok(img, 2.0);
    huella_image *back = scale_ok(up, 0.5);
    double mad = mean_abs_diff(img, back);
    print_message("2x then 0.5x: mean abs diff %.3f\n", mad);
    assert_true(mad < 4.0);
    huella_image_free(back);
    huella_image_free(up);
    huella_image_free(out);
    huella_image_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_is_a_copy),
        cmocka_unit_test(test_halving_averages_blocks),
        cmocka_unit_test(test_third_averages_3x3_blocks),
        cmocka_unit_test(test_fractional_shrink_weights_partial_pixels),
        cmocka_unit_test(test_enlarging_is_bilinear),
        cmocka_unit_test(test_constant_stays_constant),
        cmocka_unit_test(test_resolution_follows_the_size),
        cmocka_unit_test(test_tiny_factor_gives_the_mean),
        cmocka_unit_test(test_bad_arguments_rejected),
        cmocka_unit_test(test_real_fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
