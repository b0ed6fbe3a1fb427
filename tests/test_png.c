/*
 * test_png.c - specification of the PNG decoder and encoder (src/image/png.c).
 *
 * Every colour type and bit depth of ISO/IEC 15948 decodes to the grey the
 * conventions of huella/image.h promise (BT.601 luma, alpha over white,
 * 16 bits rounded); pHYs in metres becomes ppi; the encoder round-trips
 * pixels and resolution; oversized, truncated and damaged files are refused
 * with a message that names PNG.  Fixtures are built here with libpng; real
 * files come from the development data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

#include <png.h>

/* ---- Building PNG files with libpng ---------------------------------- */

typedef struct membuf {
    uint8_t *data;
    size_t len, cap;
} membuf;

static void mem_write(png_structp png, png_bytep data, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        size_t cap = (m->len + n) * 2;
        uint8_t *p = realloc(m->data, cap);
        if (p == NULL)
            png_error(png, "out of memory");
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

typedef struct png_spec {
    uint32_t width, height;
    int color, depth;
    bool interlace;
    const uint8_t *rows; /* packed rows as PNG stores them */
    const png_color *palette;
    int palette_len;
    const png_byte *trns; /* palette alpha */
    int trns_len;
    const png_color_16 *trns_colour; /* grey or RGB transparent colour */
    bool phys;
    uint32_t phys_x, phys_y;
    int phys_unit;
} png_spec;

static size_t row_bytes(const png_spec *s)
{
    int channels = s->color == PNG_COLOR_TYPE_GRAY || s->color == PNG_COLOR_TYPE_PALETTE ? 1
                   : s->color == PNG_COLOR_TYPE_GRAY_ALPHA                               ? 2
                   : s->color == PNG_COLOR_TYPE_RGB                                      ? 3
                                                                                         : 4;
    return ((size_t)s->width * (size_t)channels * (size_t)s->depth + 7) / 8;
}

static uint8_t *make_png(const png_spec *s, size_t *len)
{
    membuf m = {NULL, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng could not write the fixture");
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, s->width, s->height, s->depth, s->color,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette != NULL)
        png_set_PLTE(png, info, s->palette, s->palette_len);
    if (s->trns != NULL || s->trns_colour != NULL)
        png_set_tRNS(png, info, s->trns, s->trns_len, s->trns_colour);
    if (s->phys)
        png_set_pHYs(png, info, s->phys_x, s->phys_y, s->phys_unit);
    png_write_info(png, info);
    size_t rb = row_bytes(s);
    png_bytep *rows = malloc(s->height * sizeof(png_bytep));
    assert_non_null(rows);
    for (uint32_t y = 0; y < s->height; y++)
        rows[y] = (png_bytep)(s->rows + y * rb);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *len = m.len;
    return m.data;
}

static huella_image *decode_fixture(const png_spec *s)
{
    size_t len;
    uint8_t *data = make_png(s, &len);
    huella_image *img = decode_ok(huella_image_decode_png, data, len);
    free(data);
    assert_int_equal(img->width, s->width);
    assert_int_equal(img->height, s->height);
    assert_int_equal(img->format, HUELLA_IMAGE_PNG);
    return img;
}

static uint8_t *random_bytes(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)test_rand(&seed);
    return p;
}

static uint8_t over_white(unsigned v, unsigned a)
{
    return (uint8_t)((v * a + 255 * (255 - a) + 127) / 255);
}

static uint8_t from16(unsigned v)
{
    return (uint8_t)((v * 255 + 32767) / 65535);
}

/* ---- Colour types and bit depths -------------------------------------- */

static void test_grey_8_and_16(void **state)
{
    (void)state;
    const uint32_t w = 37, h = 11;
    for (int depth = 8; depth <= 16; depth += 8) {
        png_spec s = {.width = w, .height = h, .color = PNG_COLOR_TYPE_GRAY, .depth = depth};
        uint8_t *rows = random_bytes(row_bytes(&s) * h, 1u + (unsigned)depth);
        s.rows = rows;
        huella_image *img = decode_fixture(&s);
        assert_int_equal(img->source_channels, 1);
        assert_int_equal(img->source_bits, depth);
        for (size_t i = 0; i < (size_t)w * h; i++) {
            unsigned expect =
                depth == 8 ? rows[i] : from16((unsigned)rows[2 * i] << 8 | rows[2 * i + 1]);
            assert_int_equal(img->pixels[i], expect);
        }
        huella_image_free(img);
        free(rows);
    }
}

static void test_grey_low_depths_expand(void **state)
{
    (void)state;
    /* 1, 2 and 4-bit grey scale to the full range: v * 255 / (2^d - 1). */
    const uint32_t w = 13, h = 5; /* odd width: the last byte of a row is partial */
    for (int depth = 1; depth <= 4; depth *= 2) {
        png_spec s = {.width = w, .height = h, .color = PNG_COLOR_TYPE_GRAY, .depth = depth};
        size_t rb = row_bytes(&s);
        uint8_t *rows = random_bytes(rb * h, 7u * (unsigned)depth);
        s.rows = rows;
        huella_image *img = decode_fixture(&s);
        assert_int_equal(img->source_bits, depth);
        unsigned max = (1u << depth) - 1;
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                size_t bit = (size_t)x * (size_t)depth;
                unsigned v = (rows[y * rb + bit / 8] >> (8 - depth - bit % 8)) & max;
                assert_int_equal(img->pixels[y * w + x], v * 255 / max);
            }
        huella_image_free(img);
        free(rows);
    }
}

static void test_grey_alpha_over_white(void **state)
{
    (void)state;
    const uint32_t w = 16, h = 16;
    for (int depth = 8; depth <= 16; depth += 8) {
        png_spec s = {.width = w, .height = h, .color = PNG_COLOR_TYPE_GRAY_ALPHA, .depth = depth};
        uint8_t *rows = random_bytes(row_bytes(&s) * h, 99u + (unsigned)depth);
        s.rows = rows;
        huella_image *img = decode_fixture(&s);
        assert_int_equal(img->source_channels, 2);
        for (size_t i = 0; i < (size_t)w * h; i++) {
            unsigned g, a;
            if (depth == 8) {
                g = rows[2 * i];
                a = rows[2 * i + 1];
            } else {
                g = from16((unsigned)rows[4 * i] << 8 | rows[4 * i + 1]);
                a = from16((unsigned)rows[4 * i + 2] << 8 | rows[4 * i + 3]);
            }
            assert_int_equal(img->pixels[i], over_white(g, a));
        }
        huella_image_free(img);
        free(rows);
    }
}

static void test_rgb_and_rgba_use_bt601_luma(void **state)
{
    (void)state;
    const uint32_t w = 19, h = 7;
    for (int alpha = 0; alpha <= 1; alpha++) {
        for (int depth = 8; depth <= 16; depth += 8) {
            png_spec s = {.width = w,
                          .height = h,
                          .color = alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                          .depth = depth};
            uint8_t *rows = random_bytes(row_bytes(&s) * h, 5u + (unsigned)(depth + alpha));
            s.rows = rows;
            huella_image *img = decode_fixture(&s);
            unsigned ch = alpha ? 4 : 3;
            assert_int_equal(img->source_channels, ch);
            for (size_t i = 0; i < (size_t)w * h; i++) {
                unsigned v[4];
                for (unsigned c = 0; c < ch; c++) {
                    size_t k = i * ch + c;
                    v[c] =
                        depth == 8 ? rows[k] : from16((unsigned)rows[2 * k] << 8 | rows[2 * k + 1]);
                }
                if (alpha)
                    for (int c = 0; c < 3; c++)
                        v[c] = over_white(v[c], v[3]);
                assert_int_equal(img->pixels[i], huella_luma(v[0], v[1], v[2]));
            }
            huella_image_free(img);
            free(rows);
        }
    }
}

static void test_palette_with_and_without_trns(void **state)
{
    (void)state;
    png_color pal[16];
    png_byte trns[16];
    uint32_t seed = 42;
    for (int i = 0; i < 16; i++) {
        pal[i].red = (png_byte)test_rand(&seed);
        pal[i].green = (png_byte)test_rand(&seed);
        pal[i].blue = (png_byte)test_rand(&seed);
        trns[i] = (png_byte)(i * 17);
    }
    const uint32_t w = 9, h = 4;
    for (int with_trns = 0; with_trns <= 1; with_trns++) {
        png_spec s = {.width = w,
                      .height = h,
                      .color = PNG_COLOR_TYPE_PALETTE,
                      .depth = 4,
                      .palette = pal,
                      .palette_len = 16};
        if (with_trns) {
            s.trns = trns;
            s.trns_len = 16;
        }
        size_t rb = row_bytes(&s);
        uint8_t *rows = random_bytes(rb * h, 3);
        s.rows = rows;
        huella_image *img = decode_fixture(&s);
        assert_int_equal(img->source_channels, with_trns ? 4 : 3);
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                unsigned idx = (rows[y * rb + x / 2] >> (x % 2 ? 0 : 4)) & 15;
                unsigned r = pal[idx].red, g = pal[idx].green, b = pal[idx].blue;
                if (with_trns) {
                    r = over_white(r, trns[idx]);
                    g = over_white(g, trns[idx]);
                    b = over_white(b, trns[idx]);
                }
                assert_int_equal(img->pixels[y * w + x], huella_luma(r, g, b));
            }
        huella_image_free(img);
        free(rows);
    }
}

static void test_grey_trns_colour_is_transparent(void **state)
{
    (void)state;
    /* A tRNS grey value makes exactly those pixels transparent: white. */
    uint8_t rows[4] = {10, 20, 10, 30};
    png_color_16 key = {.gray = 10};
    png_spec s = {.width = 4,
                  .height = 1,
                  .color = PNG_COLOR_TYPE_GRAY,
                  .depth = 8,
                  .rows = rows,
                  .trns_colour = &key};
    huella_image *img = decode_fixture(&s);
    assert_int_equal(img->source_channels, 2);
    assert_int_equal(img->pixels[0], 255);
    assert_int_equal(img->pixels[1], 20);
    assert_int_equal(img->pixels[2], 255);
    assert_int_equal(img->pixels[3], 30);
    huella_image_free(img);
}

static void test_interlaced_equals_progressive(void **state)
{
    (void)state;
    const uint32_t w = 41, h = 29;
    for (int color = 0; color <= 1; color++) {
        png_spec s = {.width = w,
                      .height = h,
                      .color = color ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                      .depth = 16};
        uint8_t *rows = random_bytes(row_bytes(&s) * h, 11);
        s.rows = rows;
        huella_image *plain = decode_fixture(&s);
        s.interlace = true;
        huella_image *adam7 = decode_fixture(&s);
        assert_memory_equal(plain->pixels, adam7->pixels, (size_t)w * h);
        huella_image_free(plain);
        huella_image_free(adam7);
        free(rows);
    }
}

/* ---- Resolution -------------------------------------------------------- */

static void test_phys_metres_give_ppi(void **state)
{
    (void)state;
    uint8_t rows[4] = {1, 2, 3, 4};
    png_spec s = {.width = 2,
                  .height = 2,
                  .color = PNG_COLOR_TYPE_GRAY,
                  .depth = 8,
                  .rows = rows,
                  .phys = true,
                  .phys_unit = PNG_RESOLUTION_METER};
    /* 19685 px/m is 499.999 ppi: the writer meant 500. */
    s.phys_x = 19685;
    s.phys_y = 19685;
    huella_image *img = decode_fixture(&s);
    assert_true(img->ppi_x == 500.0 && img->ppi_y == 500.0);
    huella_image_free(img);
    /* Different axes, and a value that is no whole ppi. */
    s.phys_x = 39370; /* 1000 ppi */
    s.phys_y = 20000; /* 508 ppi */
    img = decode_fixture(&s);
    assert_true(img->ppi_x == 1000.0);
    assert_float_equal(img->ppi_y, 508.0, 1e-9);
    huella_image_free(img);
    /* Unit unknown: an aspect ratio, not a resolution. */
    s.phys_unit = PNG_RESOLUTION_UNKNOWN;
    img = decode_fixture(&s);
    assert_true(img->ppi_x == 0 && img->ppi_y == 0);
    huella_image_free(img);
    /* No pHYs at all. */
    s.phys = false;
    img = decode_fixture(&s);
    assert_true(img->ppi_x == 0 && img->ppi_y == 0);
    huella_image_free(img);
}

/* ---- Encoder ----------------------------------------------------------- */

static void test_encode_round_trip(void **state)
{
    (void)state;
    huella_image *img;
    huella_error err;
    assert_int_equal(huella_image_new(123, 45, &img, &err), HUELLA_OK);
    uint32_t seed = 9;
    for (size_t i = 0; i < 123 * 45; i++)
        img->pixels[i] = (uint8_t)test_rand(&seed);
    const double ppis[][2] = {{500, 500}, {1000, 1000}, {569, 569}, {300, 600}, {0, 0}};
    for (size_t k = 0; k < sizeof(ppis) / sizeof(ppis[0]); k++) {
        img->ppi_x = ppis[k][0];
        img->ppi_y = ppis[k][1];
        uint8_t *data;
        size_t len;
        assert_int_equal(huella_image_encode_png(img, &data, &len, &err), HUELLA_OK);
        assert_int_equal(huella_image_detect(data, len), HUELLA_IMAGE_PNG);
        huella_image *back = decode_ok(huella_image_decode_png, data, len);
        assert_int_equal(back->width, 123);
        assert_int_equal(back->height, 45);
        assert_memory_equal(back->pixels, img->pixels, 123 * 45);
        /* Whole ppi survive the px/m rounding exactly. */
        assert_true(back->ppi_x == ppis[k][0]);
        assert_true(back->ppi_y == ppis[k][1]);
        assert_int_equal(back->source_channels, 1);
        assert_int_equal(back->source_bits, 8);
        free(data);
        huella_image_free(back);
    }
    huella_image_free(img);
}

static void test_encode_rejects_bad_images(void **state)
{
    (void)state;
    uint8_t *data = (uint8_t *)"x";
    size_t len = 7;
    huella_error err;
    assert_int_equal(huella_image_encode_png(NULL, &data, &len, &err), HUELLA_E_INPUT);
    assert_null(data);
    assert_int_equal(len, 0);
    huella_image empty = {0};
    assert_int_equal(huella_image_encode_png(&empty, &data, &len, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "PNG"));
}

/* ---- Real files --------------------------------------------------------- */

static void test_real_files(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_image *img = read_ok("finger/sourceafis-samples/probe.png");
    assert_int_equal(img->width, 388);
    assert_int_equal(img->height, 374);
    assert_int_equal(img->source_channels, 4);
    assert_int_equal(img->source_bits, 8);
    assert_true(img->ppi_x == 0 && img->ppi_y == 0);
    huella_image_free(img);

    img = read_ok("face/faceapi-reference/face1.png");
    assert_int_equal(img->width, 150);
    assert_int_equal(img->height, 150);
    assert_int_equal(img->source_channels, 1);
    huella_image_free(img);

    /* 3779 px/m: a 96 dpi writer that truncated instead of rounding. */
    img = read_ok("face/faceapi-reference/face_rectangular.png");
    assert_int_equal(img->width, 122);
    assert_int_equal(img->height, 178);
    assert_int_equal(img->source_channels, 3);
    assert_true(img->ppi_x == 96.0 && img->ppi_y == 96.0);
    huella_image_free(img);

    /* Palette image. */
    img = read_ok("finger/sourceafis-samples/wsq-converted.png");
    assert_int_equal(img->width, 832);
    assert_int_equal(img->height, 768);
    assert_int_equal(img->source_channels, 3);
    huella_image_free(img);
}

static void test_wsq_reference_pngs_are_grey_in_rgb(void **state)
{
    (void)state;
    REQUIRE_DATA();
    /* The NIST decoder's PNGs store grey as R = G = B; luma of a grey
     * triple is that grey, so the result must equal the red channel,
     * which we read here with libpng's simplified API. */
    const char *names[] = {"fp-1", "fp-4", "fp-10", "sample"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "interchange/wsq/%s.png", names[k]);
        huella_image *img = read_ok(rel);
        assert_int_equal(img->source_channels, 3);
        png_image ref;
        memset(&ref, 0, sizeof(ref));
        ref.version = PNG_IMAGE_VERSION;
        assert_true(png_image_begin_read_from_file(&ref, test_data(rel)));
        ref.format = PNG_FORMAT_RGB;
        uint8_t *rgb = malloc(PNG_IMAGE_SIZE(ref));
        assert_non_null(rgb);
        assert_true(png_image_finish_read(&ref, NULL, rgb, 0, NULL));
        assert_int_equal(ref.width, img->width);
        for (size_t i = 0; i < (size_t)img->width * img->height; i++) {
            assert_int_equal(rgb[3 * i], rgb[3 * i + 1]);
            assert_int_equal(img->pixels[i], rgb[3 * i]);
        }
        free(rgb);
        huella_image_free(img);
    }
}

/* ---- Limits and damage --------------------------------------------------- */

static void test_size_limits_checked_before_decoding(void **state)
{
    (void)state;
    /* A valid header claiming 100000 x 100000 and nothing else: refused
     * from IHDR alone, with the limit in the message. */
    uint8_t rows[1] = {0};
    png_spec s = {.width = 1, .height = 1, .color = PNG_COLOR_TYPE_GRAY, .depth = 8, .rows = rows};
    size_t len;
    uint8_t *data = make_png(&s, &len);
    huella_store_u32be(data + 16, 100000);
    huella_store_u32be(data + 20, 100000);
    huella_error err;
    assert_int_equal(expect_reject(huella_image_decode_png, data, len, "PNG", &err),
                     HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "100000 x 100000 exceeds the limit of 32768"));

    /* Caller's limits: per side and in total. */
    huella_store_u32be(data + 16, 1);
    huella_store_u32be(data + 20, 1);
    free(data);
    s.width = 300;
    s.height = 200;
    uint8_t *big = calloc(300, 200);
    s.rows = big;
    data = make_png(&s, &len);
    huella_image *img = NULL;
    huella_image_limits side = {.max_width = 299};
    assert_int_equal(huella_image_decode_png(data, len, &side, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    assert_non_null(strstr(err.message, "PNG: image 300 x 200 exceeds"));
    huella_image_limits total = {.max_pixels = 59999};
    assert_int_equal(huella_image_decode_png(data, len, &total, &img, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "60000 pixels"));
    huella_image_limits enough = {.max_width = 300, .max_height = 200, .max_pixels = 60000};
    assert_int_equal(huella_image_decode_png(data, len, &enough, &img, &err), HUELLA_OK);
    huella_image_free(img);
    free(data);
    free(big);
}

/* Bytes up to the end of IEND. */
static size_t png_length(const uint8_t *d, size_t len)
{
    size_t pos = 8;
    while (pos + 12 <= len) {
        size_t chunk = 12 + (size_t)huella_load_u32be(d + pos);
        if (memcmp(d + pos + 4, "IEND", 4) == 0)
            return pos + 12;
        pos += chunk;
    }
    fail_msg("no IEND");
    return len;
}

static void test_truncated_files_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const char *files[] = {"finger/sourceafis-samples/probe.png",
                           "face/faceapi-reference/face1.png",
                           "finger/sourceafis-samples/wsq-converted.png"};
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        size_t len;
        uint8_t *data = load_data(files[k], &len);
        /* wsq-converted.png carries junk after IEND: the PNG is what
         * precedes it. */
        len = png_length(data, len);
        check_truncations(huella_image_decode_png, data, len, "PNG");
        /* A cut in the middle names the chunk that was cut. */
        huella_error err;
        expect_reject(huella_image_decode_png, data, len / 2, "PNG", &err);
        assert_non_null(strstr(err.message, "PNG: truncated data in IDAT"));
        /* A cut inside IEND is caught too: the decoder reads to the end. */
        expect_reject(huella_image_decode_png, data, len - 4, "PNG", &err);
        free(data);
    }
}

static void test_damaged_files_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("face/faceapi-reference/face1.png", &len);
    uint8_t *copy = malloc(len);
    huella_error err;
    /* Every byte of the signature matters. */
    for (size_t i = 0; i < 8; i++) {
        memcpy(copy, data, len);
        copy[i] ^= 0x20;
        expect_reject(huella_image_decode_png, copy, len, "PNG", &err);
    }
    /* A flipped bit in IHDR breaks its CRC; so does one in IDAT. */
    memcpy(copy, data, len);
    copy[17] ^= 0x01;
    expect_reject(huella_image_decode_png, copy, len, "PNG", &err);
    memcpy(copy, data, len);
    copy[len / 2] ^= 0x01;
    expect_reject(huella_image_decode_png, copy, len, "PNG", &err);
    /* Any flip in the first 64 bytes: refused or decoded, never worse.
     * Nearly all must be refused (CRC). */
    unsigned refused = check_flips(huella_image_decode_png, data, len, 64, "PNG");
    assert_true(refused >= 4 * 60);
    free(copy);
    free(data);
}

static void test_other_formats_rejected(void **state)
{
    (void)state;
    static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0};
    huella_error err;
    expect_reject(huella_image_decode_png, jpeg, sizeof(jpeg), "PNG", &err);
    assert_non_null(strstr(err.message, "not a PNG"));
    expect_reject(huella_image_decode_png, (const uint8_t *)"", 0, "PNG", &err);
    huella_image *img;
    assert_int_equal(huella_image_decode_png(NULL, 10, NULL, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    assert_int_equal(huella_image_decode_png(jpeg, sizeof(jpeg), NULL, NULL, NULL), HUELLA_E_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grey_8_and_16),
        cmocka_unit_test(test_grey_low_depths_expand),
        cmocka_unit_test(test_grey_alpha_over_white),
        cmocka_unit_test(test_rgb_and_rgba_use_bt601_luma),
        cmocka_unit_test(test_palette_with_and_without_trns),
        cmocka_unit_test(test_grey_trns_colour_is_transparent),
        cmocka_unit_test(test_interlaced_equals_progressive),
        cmocka_unit_test(test_phys_metres_give_ppi),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_encode_rejects_bad_images),
        cmocka_unit_test(test_real_files),
        cmocka_unit_test(test_wsq_reference_pngs_are_grey_in_rgb),
        cmocka_unit_test(test_size_limits_checked_before_decoding),
        cmocka_unit_test(test_truncated_files_rejected),
        cmocka_unit_test(test_damaged_files_rejected),
        cmocka_unit_test(test_other_formats_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
