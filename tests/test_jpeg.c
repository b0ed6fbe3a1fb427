/*
 * test_jpeg.c - specification of the JPEG decoder (src/image/jpeg.c).
 *
 * Grey JPEGs decode to exactly what libjpeg produces; colour JPEGs to the
 * BT.601 luma of libjpeg's RGB output (not libjpeg's own grey conversion),
 * so that they agree with the other decoders; JFIF density units give ppi;
 * CMYK is handled; 12-bit and lossless files are refused as unsupported;
 * oversized, truncated and damaged files are refused with a message naming
 * JPEG.  Fixtures are written here with libjpeg.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

#include <jpeglib.h>

/* ---- Writing and reading fixtures with libjpeg directly --------------- */

typedef struct jpeg_spec {
    uint32_t width, height;
    int components;
    J_COLOR_SPACE in_space;
    const uint8_t *pixels; /* interleaved */
    int quality;
    bool progressive;
    int density_unit; /* -1: no JFIF marker */
    int x_density, y_density;
} jpeg_spec;

static uint8_t *make_jpeg(const jpeg_spec *s, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long out_len = 0;
    jpeg_mem_dest(&c, &out, &out_len);
    c.image_width = s->width;
    c.image_height = s->height;
    c.input_components = s->components;
    c.in_color_space = s->in_space;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, s->quality, TRUE);
    if (s->progressive)
        jpeg_simple_progression(&c);
    if (s->density_unit < 0) {
        c.write_JFIF_header = FALSE;
    } else {
        c.density_unit = (UINT8)s->density_unit;
        c.X_density = (UINT16)s->x_density;
        c.Y_density = (UINT16)s->y_density;
    }
    jpeg_start_compress(&c, TRUE);
    size_t stride = (size_t)s->width * (size_t)s->components;
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(s->pixels + c.next_scanline * stride);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = out_len;
    return out;
}

/* libjpeg's own decoding to the given output colour space. */
static uint8_t *reference_decode(const uint8_t *data, size_t len, J_COLOR_SPACE space,
                                 int *components)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr jerr;
    d.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, data, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = space;
    jpeg_start_decompress(&d);
    size_t stride = (size_t)d.output_width * (size_t)d.output_components;
    uint8_t *px = malloc(stride * d.output_height);
    assert_non_null(px);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = px + d.output_scanline * stride;
        jpeg_read_scanlines(&d, &row, 1);
    }
    *components = d.output_components;
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return px;
}

/* A smooth colour test card: gradients and a few sharp edges. */
static uint8_t *colour_card(uint32_t w, uint32_t h)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    assert_non_null(p);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *q = p + 3 * ((size_t)y * w + x);
            q[0] = (uint8_t)(x * 255 / w);
            q[1] = (uint8_t)(y * 255 / h);
            q[2] = (uint8_t)((x / 8 + y / 8) % 2 ? 200 : 40);
        }
    return p;
}

static size_t find_sof(const uint8_t *d, size_t len)
{
    size_t pos = 2;
    while (pos + 4 <= len && d[pos] == 0xff) {
        uint8_t m = d[pos + 1];
        if (m >= 0xc0 && m <= 0xc3)
            return pos;
        pos += 2 + huella_load_u16be(d + pos + 2);
    }
    fail_msg("no SOF marker");
    return 0;
}

/* ---- Pixels -------------------------------------------------------------- */

static void test_grey_matches_libjpeg(void **state)
{
    (void)state;
    const uint32_t w = 67, h = 45;
    uint8_t *px = malloc(w * h);
    for (size_t i = 0; i < w * h; i++)
        px[i] = (uint8_t)((i * 7) ^ (i / w * 13));
    for (int progressive = 0; progressive <= 1; progressive++) {
        jpeg_spec s = {w, h, 1, JCS_GRAYSCALE, px, 90, progressive != 0, 0, 1, 1};
        size_t len;
        uint8_t *data = make_jpeg(&s, &len);
        huella_image *img = decode_ok(huella_image_decode_jpeg, data, len);
        assert_int_equal(img->width, w);
        assert_int_equal(img->height, h);
        assert_int_equal(img->format, HUELLA_IMAGE_JPEG);
        assert_int_equal(img->source_channels, 1);
        assert_int_equal(img->source_bits, 8);
        int comps;
        uint8_t *ref = reference_decode(data, len, JCS_GRAYSCALE, &comps);
        assert_int_equal(comps, 1);
        assert_memory_equal(img->pixels, ref, w * h);
        free(ref);
        free(data);
        huella_image_free(img);
    }
    free(px);
}

static void test_colour_is_bt601_luma_of_rgb(void **state)
{
    (void)state;
    const uint32_t w = 80, h = 48;
    uint8_t *px = colour_card(w, h);
    for (int progressive = 0; progressive <= 1; progressive++) {
        jpeg_spec s = {w, h, 3, JCS_RGB, px, 85, progressive != 0, 1, 72, 72};
        size_t len;
        uint8_t *data = make_jpeg(&s, &len);
        huella_image *img = decode_ok(huella_image_decode_jpeg, data, len);
        assert_int_equal(img->source_channels, 3);
        int comps;
        uint8_t *rgb = reference_decode(data, len, JCS_RGB, &comps);
        assert_int_equal(comps, 3);
        for (size_t i = 0; i < (size_t)w * h; i++)
            assert_int_equal(img->pixels[i],
                             huella_luma(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]));
        free(rgb);
        free(data);
        huella_image_free(img);
    }
    free(px);
}

static void test_uniform_colour_gives_its_luma(void **state)
{
    (void)state;
    /* A flat colour survives JPEG nearly exactly; its grey is its luma. */
    const uint32_t w = 32, h = 32;
    uint8_t *px = malloc(w * h * 3);
    for (size_t i = 0; i < w * h; i++) {
        px[3 * i] = 200;
        px[3 * i + 1] = 100;
        px[3 * i + 2] = 50;
    }
    jpeg_spec s = {w, h, 3, JCS_RGB, px, 100, false, 0, 1, 1};
    size_t len;
    uint8_t *data = make_jpeg(&s, &len);
    huella_image *img = decode_ok(huella_image_decode_jpeg, data, len);
    unsigned expect = huella_luma(200, 100, 50); /* 124 */
    for (size_t i = 0; i < w * h; i++)
        assert_true(abs((int)img->pixels[i] - (int)expect) <= 1);
    huella_image_free(img);
    free(data);
    free(px);
}

static void test_cmyk_adobe(void **state)
{
    (void)state;
    /* libjpeg writes CMYK with an Adobe marker and stores what it is
     * given; by Adobe's convention the stored values are 255 - ink, so
     * red = C * K / 255 of the stored values. */
    const uint32_t w = 16, h = 16;
    uint8_t *px = malloc(w * h * 4);
    for (size_t i = 0; i < w * h; i++) {
        px[4 * i] = 250;
        px[4 * i + 1] = 128;
        px[4 * i + 2] = 60;
        px[4 * i + 3] = 200;
    }
    jpeg_spec s = {w, h, 4, JCS_CMYK, px, 100, false, -1, 0, 0};
    size_t len;
    uint8_t *data = make_jpeg(&s, &len);
    huella_image *img = decode_ok(huella_image_decode_jpeg, data, len);
    unsigned expect = huella_luma(250 * 200 / 255, 128 * 200 / 255, 60 * 200 / 255);
    for (size_t i = 0; i < w * h; i++)
        assert_true(abs((int)img->pixels[i] - (int)expect) <= 2);
    assert_int_equal(img->source_channels, 3);
    huella_image_free(img);
    free(data);
    free(px);
}

/* ---- Resolution ---------------------------------------------------------- */

static void test_jfif_density(void **state)
{
    (void)state;
    uint8_t px[64];
    memset(px, 128, sizeof(px));
    struct {
        int unit, x, y;
        double ppi_x, ppi_y;
    } cases[] = {
        {1, 500, 500, 500, 500},       /* dots per inch */
        {1, 300, 600, 300, 600},       /* different axes */
        {2, 197, 197, 500.38, 500.38}, /* dots per cm, reported exactly */
        {0, 1, 1, 0, 0},               /* aspect ratio only */
        {0, 2, 1, 0, 0},               /* aspect ratio only */
        {-1, 0, 0, 0, 0},              /* no JFIF marker */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        jpeg_spec s = {8,          8,         1, JCS_GRAYSCALE, px, 90, false, cases[k].unit,
                       cases[k].x, cases[k].y};
        size_t len;
        uint8_t *data = make_jpeg(&s, &len);
        huella_image *img = decode_ok(huella_image_decode_jpeg, data, len);
        assert_float_equal(img->ppi_x, cases[k].ppi_x, 1e-9);
        assert_float_equal(img->ppi_y, cases[k].ppi_y, 1e-9);
        huella_image_free(img);
        free(data);
    }
}

/* ---- Real files ---------------------------------------------------------- */

static void test_real_files(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_image *img = read_ok("iris/casia-v1/1/001_1_1.jpg");
    assert_int_equal(img->width, 320);
    assert_int_equal(img->height, 280);
    assert_int_equal(img->source_channels, 1);
    assert_int_equal(img->format, HUELLA_IMAGE_JPEG);
    huella_image_free(img);

    img = read_ok("face/lfw-dev/Abel_Pacheco/Abel_Pacheco_0001.jpg");
    assert_int_equal(img->width, 150);
    assert_int_equal(img->height, 150);
    assert_int_equal(img->source_channels, 3);
    huella_image_free(img);

    img = read_ok("face/faceapi-reference/faces.jpg");
    assert_int_equal(img->width, 710);
    assert_int_equal(img->height, 473);
    assert_true(img->ppi_x == 200 && img->ppi_y == 200);
    huella_image_free(img);

    /* The probe fingerprint in JPEG is close to its lossless PNG. */
    huella_image *jpg = read_ok("finger/sourceafis-samples/probe.jpeg");
    huella_image *png = read_ok("finger/sourceafis-samples/probe.png");
    assert_true(jpg->ppi_x == 0); /* JFIF unit 0, aspect 1:1 */
    double mad = mean_abs_diff(jpg, png);
    print_message("probe.jpeg vs probe.png: mean abs diff %.3f\n", mad);
    assert_true(mad < 3.0);
    huella_image_free(jpg);
    huella_image_free(png);
}

static void test_all_casia_images(void **state)
{
    (void)state;
    REQUIRE_DATA();
    /* 108 eyes x 7 images, all 320 x 280 grey. */
    unsigned n = 0;
    for (int eye = 1; eye <= 108; eye++)
        for (int session = 1; session <= 2; session++)
            for (int i = 1; i <= (session == 1 ? 3 : 4); i++) {
                char rel[64];
                snprintf(rel, sizeof(rel), "iris/casia-v1/%d/%03d_%d_%d.jpg", eye, eye, session, i);
                huella_image *img = read_ok(rel);
                assert_int_equal(img->width, 320);
                assert_int_equal(img->height, 280);
                assert_int_equal(img->source_channels, 1);
                huella_image_free(img);
                n++;
            }
    assert_int_equal(n, 756);
}

/* ---- Limits, unsupported, damage ----------------------------------------- */

static void test_size_limits_checked_after_header(void **state)
{
    (void)state;
    uint8_t px[64];
    memset(px, 0, sizeof(px));
    jpeg_spec s = {8, 8, 1, JCS_GRAYSCALE, px, 90, false, 0, 1, 1};
    size_t len;
    uint8_t *data = make_jpeg(&s, &len);
    size_t sof = find_sof(data, len);
    /* SOF: length(2) precision(1) height(2) width(2). */
    huella_store_u16be(data + sof + 5, 300);
    huella_store_u16be(data + sof + 7, 40000);
    huella_error err;
    assert_int_equal(expect_reject(huella_image_decode_jpeg, data, len, "JPEG", &err),
                     HUELLA_E_INPUT);
    assert_string_equal(err.message,
                        "JPEG: image 40000 x 300 exceeds the limit of 32768 pixels per side");
    /* 60000 x 60000 fits SOF and libjpeg's own maximum (65500). */
    huella_store_u16be(data + sof + 5, 60000);
    huella_store_u16be(data + sof + 7, 60000);
    expect_reject(huella_image_decode_jpeg, data, len, "JPEG", &err);
    assert_non_null(strstr(err.message, "exceeds"));
    free(data);

    /* Caller's limits. */
    data = make_jpeg(&s, &len);
    huella_image_limits lim = {.max_width = 4, .max_height = 4};
    huella_image *img;
    assert_int_equal(huella_image_decode_jpeg(data, len, &lim, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    assert_string_equal(err.message, "JPEG: image 8 x 8 exceeds the limit of 4 pixels per side");
    free(data);
}

static void test_unsupported_processes(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("iris/casia-v1/1/001_1_1.jpg", &len);
    size_t sof = find_sof(data, len);
    huella_error err;
    /* 12-bit precision: valid JPEG, not for an 8-bit libjpeg. */
    data[sof + 4] = 12;
    assert_int_equal(expect_reject(huella_image_decode_jpeg, data, len, "JPEG", &err),
                     HUELLA_E_UNSUPPORTED);
    data[sof + 4] = 8;
    /* Lossless (SOF3). */
    uint8_t marker = data[sof + 1];
    data[sof + 1] = 0xc3;
    assert_int_equal(expect_reject(huella_image_decode_jpeg, data, len, "JPEG", &err),
                     HUELLA_E_UNSUPPORTED);
    data[sof + 1] = marker;
    huella_image *img = decode_ok(huella_image_decode_jpeg, data, len);
    huella_image_free(img);
    free(data);
}

static void test_truncated_files_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const char *files[] = {"iris/casia-v1/1/001_1_1.jpg",
                           "face/lfw-dev/Abel_Pacheco/Abel_Pacheco_0001.jpg",
                           "finger/sourceafis-samples/probe.jpeg"};
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        size_t len;
        uint8_t *data = load_data(files[k], &len);
        check_truncations(huella_image_decode_jpeg, data, len, "JPEG");
        /* libjpeg would only warn and pad with grey; we refuse. */
        huella_error err;
        expect_reject(huella_image_decode_jpeg, data, len / 2, "JPEG", &err);
        assert_non_null(strstr(err.message, "Premature end of JPEG file"));
        free(data);
    }
}

static void test_damaged_files_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("iris/casia-v1/1/001_1_1.jpg", &len);
    huella_error err;
    uint8_t *copy = malloc(len);
    /* SOI. */
    for (size_t i = 0; i < 3; i++) {
        memcpy(copy, data, len);
        copy[i] ^= 0x10;
        expect_reject(huella_image_decode_jpeg, copy, len, "JPEG", &err);
    }
    /* Garbage over the entropy-coded data: caught as corrupt data (a
     * warning in libjpeg, an error here). */
    memcpy(copy, data, len);
    memset(copy + len / 2, 0xff, 64);
    expect_reject(huella_image_decode_jpeg, copy, len, "JPEG", &err);
    free(copy);
    /* Any flip in the headers: refused or decoded, never worse. */
    check_flips(huella_image_decode_jpeg, data, len, 700, "JPEG");
    free(data);
}

static void test_other_formats_rejected(void **state)
{
    (void)state;
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
    huella_error err;
    expect_reject(huella_image_decode_jpeg, png, sizeof(png), "JPEG", &err);
    assert_non_null(strstr(err.message, "not a JPEG"));
    static const uint8_t soi_only[] = {0xff, 0xd8, 0xff};
    expect_reject(huella_image_decode_jpeg, soi_only, sizeof(soi_only), "JPEG", &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grey_matches_libjpeg),
        cmocka_unit_test(test_colour_is_bt601_luma_of_rgb),
        cmocka_unit_test(test_uniform_colour_gives_its_luma),
        cmocka_unit_test(test_cmyk_adobe),
        cmocka_unit_test(test_jfif_density),
        cmocka_unit_test(test_real_files),
        cmocka_unit_test(test_all_casia_images),
        cmocka_unit_test(test_size_limits_checked_after_header),
        cmocka_unit_test(test_unsupported_processes),
        cmocka_unit_test(test_truncated_files_rejected),
        cmocka_unit_test(test_damaged_files_rejected),
        cmocka_unit_test(test_other_formats_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
