/*
 * test_pnm.c - specification of the Netpbm decoder (src/image/pnm.c) and
 * the PGM encoder (src/image/image.c).
 *
 * P1 to P6 decode, with comments anywhere in the header, maxval from 1 to
 * 65535 rescaled to 8 bits with rounding, 1 = black in bitmaps, colour to
 * BT.601 luma, no resolution; a PGM written by huella reads back
 * identically; malformed, truncated and oversized files are refused with a
 * message naming PNM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

static huella_image *decode_text(const char *text)
{
    return decode_ok(huella_image_decode_pnm, (const uint8_t *)text, strlen(text));
}

static huella_status reject_text(const char *text, huella_error *err)
{
    return expect_reject(huella_image_decode_pnm, (const uint8_t *)text, strlen(text), "PNM", err);
}

static uint8_t rescale(unsigned v, unsigned max)
{
    return (uint8_t)((v * 255u + max / 2) / max);
}

/* ---- ASCII formats ------------------------------------------------------- */

static void test_p1_bitmap(void **state)
{
    (void)state;
    /* 1 is black; whitespace between bits is optional. */
    huella_image *img = decode_text("P1\n# a comment\n4 2\n1 0 1 0\n0110\n");
    assert_int_equal(img->width, 4);
    assert_int_equal(img->height, 2);
    assert_int_equal(img->format, HUELLA_IMAGE_PNM);
    assert_int_equal(img->source_channels, 1);
    assert_int_equal(img->source_bits, 1);
    const uint8_t expect[8] = {0, 255, 0, 255, 255, 0, 0, 255};
    assert_memory_equal(img->pixels, expect, 8);
    assert_true(img->ppi_x == 0 && img->ppi_y == 0);
    huella_image_free(img);
}

static void test_p2_grey_with_comments_and_maxval(void **state)
{
    (void)state;
    huella_image *img = decode_text("P2 # comment after the magic\n3#comment touching\n2\n"
                                    "# before maxval\n15\n0 7 15\n8\n1 14\n");
    assert_int_equal(img->width, 3);
    assert_int_equal(img->height, 2);
    assert_int_equal(img->source_bits, 4);
    const unsigned v[6] = {0, 7, 15, 8, 1, 14};
    for (int i = 0; i < 6; i++)
        assert_int_equal(img->pixels[i], rescale(v[i], 15));
    assert_int_equal(img->pixels[1], 119); /* 7 * 255 / 15 = 119 */
    huella_image_free(img);
}

static void test_p3_colour(void **state)
{
    (void)state;
    huella_image *img = decode_text("P3\n2 1\n1000\n1000 0 0   0 500 1000\n");
    assert_int_equal(img->source_channels, 3);
    assert_int_equal(img->source_bits, 10);
    assert_int_equal(img->pixels[0], huella_luma(255, 0, 0));
    assert_int_equal(img->pixels[1], huella_luma(0, rescale(500, 1000), 255));
    huella_image_free(img);
}

/* ---- Binary formats ---------------------------------------------------- */

static void test_p4_packed_bits_padded_rows(void **state)
{
    (void)state;
    /* 10 pixels a row: two bytes, the last 6 bits padding. */
    const uint8_t data[] = {'P', '4', '\n', '1', '0', ' ', '2', '\n', 0xa5, 0xc0, 0x00, 0x40};
    huella_image *img = decode_ok(huella_image_decode_pnm, data, sizeof(data));
    const uint8_t expect[20] = {0,   255, 0,   255, 255, 0,   255, 0,   0,   0,
                                255, 255, 255, 255, 255, 255, 255, 255, 255, 0};
    assert_memory_equal(img->pixels, expect, 20);
    huella_image_free(img);
}

static void test_p5_8_and_16_bit(void **state)
{
    (void)state;
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append(&b, "P5 3 2 255\n", 11);
    const uint8_t px[6] = {0, 1, 127, 128, 254, 255};
    huella_buf_append(&b, px, 6);
    huella_image *img = decode_ok(huella_image_decode_pnm, b.data, b.len);
    assert_memory_equal(img->pixels, px, 6);
    assert_int_equal(img->source_bits, 8);
    huella_image_free(img);
    huella_buf_free(&b);

    /* maxval 65535: two bytes, big-endian, (v * 255 + 32767) / 65535. */
    huella_buf_init(&b);
    huella_buf_append(&b, "P5\n4 1\n65535\n", 13);
    const uint16_t v[4] = {0, 128, 129, 65535};
    for (int i = 0; i < 4; i++)
        huella_buf_append_u16be(&b, v[i]);
    img = decode_ok(huella_image_decode_pnm, b.data, b.len);
    assert_int_equal(img->source_bits, 16);
    const uint8_t expect[4] = {0, 0, 1, 255};
    assert_memory_equal(img->pixels, expect, 4);
    huella_image_free(img);
    huella_buf_free(&b);

    /* maxval 1000 (two bytes) and 1 (one byte, 0 or 255). */
    huella_buf_init(&b);
    huella_buf_append(&b, "P5 2 1 1000\n", 12);
    huella_buf_append_u16be(&b, 500);
    huella_buf_append_u16be(&b, 1000);
    img = decode_ok(huella_image_decode_pnm, b.data, b.len);
    assert_int_equal(img->pixels[0], rescale(500, 1000));
    assert_int_equal(img->pixels[1], 255);
    huella_image_free(img);
    huella_buf_free(&b);
    img = decode_ok(huella_image_decode_pnm, (const uint8_t *)"P5 2 1 1\n\x00\x01", 11);
    assert_int_equal(img->pixels[0], 0);
    assert_int_equal(img->pixels[1], 255);
    huella_image_free(img);
}

static void test_p6_colour_and_trailing_data(void **state)
{
    (void)state;
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append(&b, "P6\n2 1\n255\n", 11);
    const uint8_t px[6] = {200, 100, 50, 10, 20, 30};
    huella_buf_append(&b, px, 6);
    /* A second image after the first is ignored. */
    huella_buf_append(&b, "P5 1 1 255\n\x07", 12);
    huella_image *img = decode_ok(huella_image_decode_pnm, b.data, b.len);
    assert_int_equal(img->width, 2);
    assert_int_equal(img->source_channels, 3);
    assert_int_equal(img->pixels[0], huella_luma(200, 100, 50));
    assert_int_equal(img->pixels[1], huella_luma(10, 20, 30));
    huella_image_free(img);
    huella_buf_free(&b);
}

/* ---- PGM encoder ------------------------------------------------------- */

static void test_pgm_round_trip(void **state)
{
    (void)state;
    huella_image *img;
    huella_error err;
    assert_int_equal(huella_image_new(37, 11, &img, &err), HUELLA_OK);
    uint32_t seed = 4;
    for (size_t i = 0; i < 37 * 11; i++)
        img->pixels[i] = (uint8_t)test_rand(&seed);
    uint8_t *data;
    size_t len;
    assert_int_equal(huella_image_encode_pgm(img, &data, &len, &err), HUELLA_OK);
    assert_int_equal(len, strlen("P5\n37 11\n255\n") + 37 * 11);
    assert_memory_equal(data, "P5\n37 11\n255\n", 13);
    huella_image *back = decode_ok(huella_image_decode_pnm, data, len);
    assert_int_equal(back->width, 37);
    assert_int_equal(back->height, 11);
    assert_memory_equal(back->pixels, img->pixels, 37 * 11);
    free(data);
    huella_image_free(back);

    /* Through a file. */
    const char *path = test_tmpfile("round.pgm");
    assert_int_equal(huella_image_write(img, path, &err), HUELLA_OK);
    assert_int_equal(huella_image_read(path, NULL, &back, &err), HUELLA_OK);
    assert_memory_equal(back->pixels, img->pixels, 37 * 11);
    huella_image_free(back);
    huella_image_free(img);
    assert_int_equal(huella_image_encode_pgm(NULL, &data, &len, &err), HUELLA_E_INPUT);
}

/* ---- Refusals ------------------------------------------------------------ */

static void test_malformed_headers_rejected(void **state)
{
    (void)state;
    huella_error err;
    reject_text("P7\n1 1\n255\n\n", &err);
    assert_non_null(strstr(err.message, "not a PBM/PGM/PPM"));
    reject_text("P5x 1 1 255\n\x01", &err);
    reject_text("P5 1 1 0\n\x01", &err);
    assert_non_null(strstr(err.message, "maxval is 0"));
    reject_text("P5 1 1 65536\n\x01", &err);
    assert_non_null(strstr(err.message, "maxval"));
    reject_text("P5 x 1 255\n\x01", &err);
    assert_non_null(strstr(err.message, "the width"));
    reject_text("P5 1", &err);
    assert_non_null(strstr(err.message, "the height missing"));
    reject_text("P2 99999999999 1 255\n0", &err);
    assert_non_null(strstr(err.message, "larger than"));
    reject_text("P5 0 1 255\n", &err);
    assert_non_null(strstr(err.message, "empty"));
    reject_text("P5 1 1 255", &err);
    assert_non_null(strstr(err.message, "no whitespace after the header"));
}

static void test_bad_samples_rejected(void **state)
{
    (void)state;
    huella_error err;
    reject_text("P2 2 1 100\n50 101\n", &err);
    assert_non_null(strstr(err.message, "above maxval 100"));
    reject_text("P2 2 1 100\n50 x\n", &err);
    reject_text("P1 2 1\n0 2\n", &err);
    assert_non_null(strstr(err.message, "invalid bitmap character"));
    /* Binary 16-bit sample above maxval. */
    const uint8_t data[] = {'P', '5', ' ', '1', ' ',  '1',  ' ',
                            '1', '0', '0', '0', '\n', 0x03, 0xe9};
    expect_reject(huella_image_decode_pnm, data, sizeof(data), "PNM", &err);
    assert_non_null(strstr(err.message, "above maxval 1000"));
}

static void test_truncated_data_rejected(void **state)
{
    (void)state;
    huella_error err;
    reject_text("P2 3 1 255\n1 2", &err);
    assert_non_null(strstr(err.message, "truncated"));
    reject_text("P5 3 1 255\n\x01\x02", &err);
    assert_non_null(strstr(err.message, "truncated"));
    /* A header that claims more ASCII samples than the file could hold is
     * refused before the image is allocated. */
    reject_text("P2 10000 10000 255\n1 2 3\n", &err);
    assert_non_null(strstr(err.message, "cannot fit"));
}

static void test_size_limits(void **state)
{
    (void)state;
    huella_error err;
    reject_text("P5 100000 100000 255\n", &err);
    assert_string_equal(err.message,
                        "PNM: image 100000 x 100000 exceeds the limit of 32768 pixels per side");
    huella_image *img;
    huella_image_limits lim = {.max_pixels = 5};
    const char *text = "P5 3 2 255\n\x01\x02\x03\x04\x05\x06";
    assert_int_equal(huella_image_decode_pnm((const uint8_t *)text, 17, &lim, &img, &err),
                     HUELLA_E_INPUT);
    assert_null(img);
    assert_non_null(strstr(err.message, "PNM: image 3 x 2 has 6 pixels, more than the limit of 5"));
}

/* ---- Real files ---------------------------------------------------------- */

static void test_orl_faces(void **state)
{
    (void)state;
    REQUIRE_DATA();
    /* Every face present must decode; a shared copy of the data set lost one
     * file once, so a few absent files are tolerated but not more. */
    unsigned n = 0;
    for (int person = 1; person <= 40; person++)
        for (int k = 1; k <= 10; k++) {
            char rel[64];
            snprintf(rel, sizeof(rel), "face/orl/s%d/%d.pgm", person, k);
            FILE *probe = fopen(test_data(rel), "rb");
            if (probe == NULL)
                continue;
            fclose(probe);
            huella_image *img = read_ok(rel);
            assert_int_equal(img->width, 92);
            assert_int_equal(img->height, 112);
            assert_int_equal(img->source_channels, 1);
            assert_int_equal(img->source_bits, 8);
            huella_image_free(img);
            n++;
        }
    assert_true(n >= 395);
}

static void test_fjfx_fingerprints(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const struct {
        const char *name;
        uint32_t w, h;
    } cases[] = {{"a001_03p", 364, 536}, {"a001_04p", 332, 484}, {"a001_05p", 304, 410},
                 {"a001_06p", 408, 600}, {"a001_07p", 310, 500}, {"a004_05p", 358, 424},
                 {"a999_01p", 500, 500}, {"b001_04p", 320, 430}, {"b001_06p", 368, 600},
                 {"b001_08p", 308, 278}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char rel[96];
        snprintf(rel, sizeof(rel), "finger/fjfx-samples/images-pgm/%s.pgm", cases[k].name);
        huella_image *img = read_ok(rel);
        assert_int_equal(img->width, cases[k].w);
        assert_int_equal(img->height, cases[k].h);
        huella_image_free(img);
    }
}

static void test_real_files_damaged(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("face/orl/s1/1.pgm", &len);
    check_truncations(huella_image_decode_pnm, data, len, "PNM");
    huella_error err;
    uint8_t *copy = malloc(len);
    memcpy(copy, data, len);
    copy[0] = 'Q';
    expect_reject(huella_image_decode_pnm, copy, len, "PNM", &err);
    free(copy);
    check_flips(huella_image_decode_pnm, data, len, 20, "PNM");
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p1_bitmap),
        cmocka_unit_test(test_p2_grey_with_comments_and_maxval),
        cmocka_unit_test(test_p3_colour),
        cmocka_unit_test(test_p4_packed_bits_padded_rows),
        cmocka_unit_test(test_p5_8_and_16_bit),
        cmocka_unit_test(test_p6_colour_and_trailing_data),
        cmocka_unit_test(test_pgm_round_trip),
        cmocka_unit_test(test_malformed_headers_rejected),
        cmocka_unit_test(test_bad_samples_rejected),
        cmocka_unit_test(test_truncated_data_rejected),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_orl_faces),
        cmocka_unit_test(test_fjfx_fingerprints),
        cmocka_unit_test(test_real_files_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
