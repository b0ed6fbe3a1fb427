/*
 * test_bmp.c - specification of the BMP decoder (src/image/bmp.c).
 *
 * Every supported layout - 1, 4 and 8-bit palettes, 16, 24 and 32-bit
 * direct colour with default or explicit masks, alpha, OS/2 and V4/V5
 * headers, bottom-up and top-down, rows padded to 4 bytes - decodes to the
 * pixels it was built from; pels per metre become ppi; compressions we do
 * not implement are refused as unsupported and every inconsistent header
 * or out-of-range offset as bad input, with a message naming BMP.  The
 * fixtures are built byte by byte here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

/* ---- Building BMP files ----------------------------------------------- */

typedef struct bmp_spec {
    uint32_t header_size;  /* 12, 40, 108 or 124 */
    int32_t width, height; /* negative height: top-down */
    uint16_t bits;
    uint32_t compression;
    uint32_t masks[4];           /* written for V4/V5, or after a 40-byte header */
    unsigned masks_after;        /* 0, 3 or 4 masks after a 40-byte header */
    const uint8_t (*palette)[3]; /* R, G, B */
    unsigned palette_len;
    uint32_t colours_used;
    int32_t xppm, yppm;
    const uint32_t *values; /* one per pixel, top row first: index, 0xRRGGBB or raw */
} bmp_spec;

static uint8_t *make_bmp(const bmp_spec *s, size_t *len)
{
    huella_buf b;
    huella_buf_init(&b);
    bool core = s->header_size == 12;
    uint32_t w = (uint32_t)s->width;
    uint32_t h = (uint32_t)(s->height < 0 ? -s->height : s->height);
    size_t row = ((size_t)w * s->bits + 31) / 32 * 4;
    size_t pal_bytes = (size_t)s->palette_len * (core ? 3 : 4);
    uint32_t offset = (uint32_t)(14 + s->header_size + 4 * s->masks_after + pal_bytes);
    /* BITMAPFILEHEADER */
    huella_buf_append(&b, "BM", 2);
    huella_buf_append_u32le(&b, (uint32_t)(offset + row * h));
    huella_buf_append_u32le(&b, 0);
    huella_buf_append_u32le(&b, offset);
    /* DIB header */
    huella_buf_append_u32le(&b, s->header_size);
    if (core) {
        huella_buf_append_u16le(&b, (uint16_t)w);
        huella_buf_append_u16le(&b, (uint16_t)h);
        huella_buf_append_u16le(&b, 1);
        huella_buf_append_u16le(&b, s->bits);
    } else {
        huella_buf_append_u32le(&b, (uint32_t)s->width);
        huella_buf_append_u32le(&b, (uint32_t)s->height);
        huella_buf_append_u16le(&b, 1);
        huella_buf_append_u16le(&b, s->bits);
        huella_buf_append_u32le(&b, s->compression);
        huella_buf_append_u32le(&b, (uint32_t)(row * h));
        huella_buf_append_u32le(&b, (uint32_t)s->xppm);
        huella_buf_append_u32le(&b, (uint32_t)s->yppm);
        huella_buf_append_u32le(&b, s->colours_used);
        huella_buf_append_u32le(&b, 0);
        for (uint32_t i = 40; i < s->header_size; i += 4)
            huella_buf_append_u32le(&b, i < 56 ? s->masks[(i - 40) / 4] : 0);
        for (unsigned i = 0; i < s->masks_after; i++)
            huella_buf_append_u32le(&b, s->masks[i]);
    }
    for (unsigned i = 0; i < s->palette_len; i++) {
        uint8_t e[4] = {s->palette[i][2], s->palette[i][1], s->palette[i][0], 0};
        huella_buf_append(&b, e, core ? 3 : 4);
    }
    assert_int_equal(b.len, offset);
    uint8_t *rowbuf = calloc(1, row);
    for (uint32_t k = 0; k < h; k++) {
        /* Bottom-up files store the bottom row first. */
        uint32_t y = s->height < 0 ? k : h - 1 - k;
        memset(rowbuf, 0, row);
        for (uint32_t x = 0; x < w; x++) {
            uint32_t v = s->values[(size_t)y * w + x];
            switch (s->bits) {
            case 1:
            case 4:
            case 8: {
                size_t bit = (size_t)x * s->bits;
                rowbuf[bit / 8] |= (uint8_t)(v << (8 - s->bits - bit % 8));
                break;
            }
            case 16:
                huella_store_u16le(rowbuf + 2 * x, (uint16_t)v);
                break;
            case 24:
                rowbuf[3 * x] = (uint8_t)v;
                rowbuf[3 * x + 1] = (uint8_t)(v >> 8);
                rowbuf[3 * x + 2] = (uint8_t)(v >> 16);
                break;
            case 32:
                huella_store_u32le(rowbuf + 4 * x, v);
                break;
            default: /* invalid depths: leave the row blank */
                break;
            }
        }
        huella_buf_append(&b, rowbuf, row);
    }
    free(rowbuf);
    assert_true(b.ok);
    *len = b.len;
    return b.data;
}

static huella_image *decode_spec(const bmp_spec *s)
{
    size_t len;
    uint8_t *data = make_bmp(s, &len);
    assert_int_equal(huella_image_detect(data, len), HUELLA_IMAGE_BMP);
    huella_image *img = decode_ok(huella_image_decode_bmp, data, len);
    free(data);
    assert_int_equal(img->width, (uint32_t)s->width);
    assert_int_equal(img->height, (uint32_t)(s->height < 0 ? -s->height : s->height));
    assert_int_equal(img->format, HUELLA_IMAGE_BMP);
    return img;
}

static huella_status reject_spec(const bmp_spec *s, huella_error *err)
{
    size_t len;
    uint8_t *data = make_bmp(s, &len);
    huella_status st = expect_reject(huella_image_decode_bmp, data, len, "BMP", err);
    free(data);
    return st;
}

static uint32_t *random_values(size_t n, uint32_t mask, uint32_t seed)
{
    uint32_t *v = malloc(n * sizeof(uint32_t));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (test_rand(&seed) ^ (test_rand(&seed) << 16)) & mask;
    return v;
}

/* A field of a mask, rescaled to 8 bits with rounding. */
static unsigned field(uint32_t v, uint32_t mask)
{
    if (mask == 0)
        return 0;
    unsigned shift = 0;
    while (!((mask >> shift) & 1))
        shift++;
    uint64_t max = mask >> shift;
    return (unsigned)((((v & mask) >> shift) * 255 + max / 2) / max);
}

static uint8_t over_white(unsigned v, unsigned a)
{
    return (uint8_t)((v * a + 255 * (255 - a) + 127) / 255);
}

/* ---- Palettes ---------------------------------------------------------- */

static void test_palette_depths_both_orientations(void **state)
{
    (void)state;
    uint8_t pal[256][3];
    uint32_t seed = 3;
    for (int i = 0; i < 256; i++)
        for (int c = 0; c < 3; c++)
            pal[i][c] = (uint8_t)test_rand(&seed);
    const uint16_t depths[] = {1, 4, 8};
    const int32_t widths[] = {1, 7, 13, 32};
    for (size_t d = 0; d < 3; d++)
        for (size_t wi = 0; wi < 4; wi++)
            for (int top_down = 0; top_down <= 1; top_down++) {
                int32_t w = widths[wi], h = 5;
                unsigned colours = 1u << depths[d];
                uint32_t *v = random_values((size_t)w * h, colours - 1, (uint32_t)(w + d));
                bmp_spec s = {.header_size = 40,
                              .width = w,
                              .height = top_down ? -h : h,
                              .bits = depths[d],
                              .palette = (const uint8_t(*)[3])pal,
                              .palette_len = colours,
                              .values = v};
                huella_image *img = decode_spec(&s);
                assert_int_equal(img->source_channels, 3);
                assert_int_equal(img->source_bits, depths[d]);
                for (size_t i = 0; i < (size_t)w * h; i++)
                    assert_int_equal(img->pixels[i],
                                     huella_luma(pal[v[i]][0], pal[v[i]][1], pal[v[i]][2]));
                huella_image_free(img);
                free(v);
            }
}

static void test_grey_palette_and_colours_used(void **state)
{
    (void)state;
    /* 20 grey entries declared with biClrUsed: a grey source. */
    uint8_t pal[20][3];
    for (int i = 0; i < 20; i++)
        pal[i][0] = pal[i][1] = pal[i][2] = (uint8_t)(i * 13);
    uint32_t *v = random_values(6 * 4, 0xff, 5);
    for (int i = 0; i < 24; i++)
        v[i] %= 20;
    bmp_spec s = {.header_size = 40,
                  .width = 6,
                  .height = 4,
                  .bits = 8,
                  .palette = (const uint8_t(*)[3])pal,
                  .palette_len = 20,
                  .colours_used = 20,
                  .values = v};
    huella_image *img = decode_spec(&s);
    assert_int_equal(img->source_channels, 1);
    for (int i = 0; i < 24; i++)
        assert_int_equal(img->pixels[i], v[i] * 13);
    huella_image_free(img);

    /* An index past the declared palette is an error. */
    v[5] = 20;
    huella_error err;
    assert_int_equal(reject_spec(&s, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "uses colour 20 of a 20-colour palette"));
    /* More colours than the depth allows. */
    v[5] = 0;
    s.colours_used = 300;
    assert_int_equal(reject_spec(&s, &err), HUELLA_E_INPUT);
    free(v);
}

static void test_os2_core_header(void **state)
{
    (void)state;
    uint8_t pal[256][3];
    for (int i = 0; i < 256; i++) {
        pal[i][0] = (uint8_t)i;
        pal[i][1] = (uint8_t)(255 - i);
        pal[i][2] = (uint8_t)(i / 2);
    }
    uint32_t *v = random_values(9 * 3, 0xff, 8);
    bmp_spec s = {.header_size = 12,
                  .width = 9,
                  .height = 3,
                  .bits = 8,
                  .palette = (const uint8_t(*)[3])pal,
                  .palette_len = 256,
                  .values = v};
    huella_image *img = decode_spec(&s);
    for (int i = 0; i < 27; i++)
        assert_int_equal(img->pixels[i], huella_luma(pal[v[i]][0], pal[v[i]][1], pal[v[i]][2]));
    assert_true(img->ppi_x == 0);
    huella_image_free(img);
    free(v);

    v = random_values(9 * 3, 0xffffff, 9);
    bmp_spec t = {.header_size = 12, .width = 9, .height = 3, .bits = 24, .values = v};
    img = decode_spec(&t);
    for (int i = 0; i < 27; i++)
        assert_int_equal(img->pixels[i], huella_luma(v[i] >> 16, (v[i] >> 8) & 255, v[i] & 255));
    huella_image_free(img);
    free(v);
}

/* ---- Direct colour ------------------------------------------------------ */

static void test_24_bit_with_padding(void **state)
{
    (void)state;
    const uint32_t header_sizes[] = {40, 108, 124};
    for (size_t k = 0; k < 3; k++)
        for (int top_down = 0; top_down <= 1; top_down++) {
            int32_t w = 5, h = 7; /* 15 bytes a row, padded to 16 */
            uint32_t *v = random_values((size_t)w * h, 0xffffff, 10u + (uint32_t)k);
            bmp_spec s = {.header_size = header_sizes[k],
                          .width = w,
                          .height = top_down ? -h : h,
                          .bits = 24,
                          .values = v};
            huella_image *img = decode_spec(&s);
            assert_int_equal(img->source_channels, 3);
            assert_int_equal(img->source_bits, 8);
            for (int i = 0; i < w * h; i++)
                assert_int_equal(img->pixels[i],
                                 huella_luma(v[i] >> 16, (v[i] >> 8) & 255, v[i] & 255));
            huella_image_free(img);
            free(v);
        }
}

static void test_16_bit_default_and_bitfields(void **state)
{
    (void)state;
    int32_t w = 7, h = 3;
    uint32_t *v = random_values((size_t)w * h, 0xffff, 11);
    /* BI_RGB: 5-5-5, the top bit unused. */
    bmp_spec s = {.header_size = 40, .width = w, .height = h, .bits = 16, .values = v};
    huella_image *img = decode_spec(&s);
    assert_int_equal(img->source_bits, 5);
    for (int i = 0; i < w * h; i++)
        assert_int_equal(img->pixels[i], huella_luma(field(v[i], 0x7c00), field(v[i], 0x03e0),
                                                     field(v[i], 0x001f)));
    huella_image_free(img);
    /* BI_BITFIELDS 5-6-5, masks after a 40-byte header. */
    bmp_spec t = {.header_size = 40,
                  .width = w,
                  .height = -h,
                  .bits = 16,
                  .compression = 3,
                  .masks = {0xf800, 0x07e0, 0x001f},
                  .masks_after = 3,
                  .values = v};
    img = decode_spec(&t);
    assert_int_equal(img->source_bits, 6);
    for (int i = 0; i < w * h; i++)
        assert_int_equal(img->pixels[i], huella_luma(field(v[i], 0xf800), field(v[i], 0x07e0),
                                                     field(v[i], 0x001f)));
    huella_image_free(img);
    free(v);
}

static void test_32_bit_variants(void **state)
{
    (void)state;
    int32_t w = 6, h = 4;
    uint32_t *v = random_values((size_t)w * h, 0xffffffff, 12);
    /* BI_RGB: B, G, R, and an unused byte that must be ignored. */
    bmp_spec s = {.header_size = 40, .width = w, .height = h, .bits = 32, .values = v};
    huella_image *img = decode_spec(&s);
    assert_int_equal(img->source_channels, 3);
    for (int i = 0; i < w * h; i++)
        assert_int_equal(img->pixels[i],
                         huella_luma((v[i] >> 16) & 255, (v[i] >> 8) & 255, v[i] & 255));
    huella_image_free(img);

    /* V5 with an alpha mask: composited over white. */
    bmp_spec a = {.header_size = 124,
                  .width = w,
                  .height = h,
                  .bits = 32,
                  .compression = 3,
                  .masks = {0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000},
                  .values = v};
    img = decode_spec(&a);
    assert_int_equal(img->source_channels, 4);
    for (int i = 0; i < w * h; i++) {
        unsigned al = v[i] >> 24;
        assert_int_equal(img->pixels[i], huella_luma(over_white((v[i] >> 16) & 255, al),
                                                     over_white((v[i] >> 8) & 255, al),
                                                     over_white(v[i] & 255, al)));
    }
    huella_image_free(img);

    /* 10-10-10 masks: wider fields rescaled with rounding. */
    bmp_spec t = {.header_size = 40,
                  .width = w,
                  .height = h,
                  .bits = 32,
                  .compression = 3,
                  .masks = {0x3ff00000, 0x000ffc00, 0x000003ff},
                  .masks_after = 3,
                  .values = v};
    img = decode_spec(&t);
    assert_int_equal(img->source_bits, 10);
    for (int i = 0; i < w * h; i++)
        assert_int_equal(
            img->pixels[i],
            huella_luma(field(v[i], 0x3ff00000), field(v[i], 0x000ffc00), field(v[i], 0x000003ff)));
    huella_image_free(img);
    free(v);
}

static void test_pels_per_metre(void **state)
{
    (void)state;
    uint32_t v[4] = {0, 0xffffff, 0x808080, 0x102030};
    const struct {
        int32_t x, y;
        double ppi_x, ppi_y;
    } cases[] = {{4724, 4724, 120, 120}, {19685, 19685, 500, 500}, {39370, 19685, 1000, 500},
                 {0, 0, 0, 0},           {-100, 5000, 0, 127},     {10000, 10000, 254, 254}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        bmp_spec s = {.header_size = 40,
                      .width = 2,
                      .height = 2,
                      .bits = 24,
                      .values = v,
                      .xppm = cases[k].x,
                      .yppm = cases[k].y};
        huella_image *img = decode_spec(&s);
        assert_float_equal(img->ppi_x, cases[k].ppi_x, 1e-9);
        assert_float_equal(img->ppi_y, cases[k].ppi_y, 1e-9);
        huella_image_free(img);
    }
}

/* ---- Refusals ------------------------------------------------------------ */

static void test_compressions_unsupported(void **state)
{
    (void)state;
    uint32_t v[4] = {0, 1, 2, 3};
    uint8_t pal[4][3] = {{0, 0, 0}, {1, 1, 1}, {2, 2, 2}, {3, 3, 3}};
    const struct {
        uint16_t bits;
        uint32_t compression;
        const char *name;
    } cases[] = {{8, 1, "RLE8"}, {4, 2, "RLE4"}, {24, 4, "JPEG"}, {24, 5, "PNG"}};
    for (size_t k = 0; k < 4; k++) {
        bmp_spec s = {.header_size = 40,
                      .width = 2,
                      .height = 2,
                      .bits = cases[k].bits,
                      .compression = cases[k].compression,
                      .values = v,
                      .palette = (const uint8_t(*)[3])pal,
                      .palette_len = 4};
        huella_error err;
        assert_int_equal(reject_spec(&s, &err), HUELLA_E_UNSUPPORTED);
        assert_non_null(strstr(err.message, cases[k].name));
        assert_non_null(strstr(err.message, "not supported"));
    }
}

static void test_inconsistent_headers_rejected(void **state)
{
    (void)state;
    uint32_t v[4] = {0, 1, 2, 3};
    huella_error err;
    bmp_spec bad_bits = {.header_size = 40, .width = 2, .height = 2, .bits = 7, .values = v};
    assert_int_equal(reject_spec(&bad_bits, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "bit count 7"));

    bmp_spec fields_24 = {.header_size = 40,
                          .width = 2,
                          .height = 2,
                          .bits = 24,
                          .compression = 3,
                          .masks_after = 3,
                          .masks = {0xff0000, 0xff00, 0xff},
                          .values = v};
    assert_int_equal(reject_spec(&fields_24, &err), HUELLA_E_INPUT);

    bmp_spec gappy = {.header_size = 40,
                      .width = 2,
                      .height = 2,
                      .bits = 16,
                      .compression = 3,
                      .masks_after = 3,
                      .masks = {0xf0f0, 0x0f00, 0x000f},
                      .values = v};
    assert_int_equal(reject_spec(&gappy, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "contiguous"));

    bmp_spec overlap = {.header_size = 40,
                        .width = 2,
                        .height = 2,
                        .bits = 16,
                        .compression = 3,
                        .masks_after = 3,
                        .masks = {0xff00, 0x0ff0, 0x000f},
                        .values = v};
    assert_int_equal(reject_spec(&overlap, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "overlap"));

    bmp_spec zero_width = {.header_size = 40, .width = 0, .height = 2, .bits = 24, .values = v};
    assert_int_equal(reject_spec(&zero_width, &err), HUELLA_E_INPUT);

    /* Unknown header size. */
    bmp_spec ok = {.header_size = 40, .width = 2, .height = 2, .bits = 24, .values = v};
    size_t len;
    uint8_t *data = make_bmp(&ok, &len);
    huella_store_u32le(data + 14, 41);
    expect_reject(huella_image_decode_bmp, data, len, "BMP", &err);
    assert_non_null(strstr(err.message, "DIB header size 41"));
    /* Pixel offset inside the headers, and past the end. */
    huella_store_u32le(data + 14, 40);
    huella_store_u32le(data + 10, 20);
    expect_reject(huella_image_decode_bmp, data, len, "BMP", &err);
    huella_store_u32le(data + 10, 0xfffffff0u);
    expect_reject(huella_image_decode_bmp, data, len, "BMP", &err);
    assert_non_null(strstr(err.message, "runs past the end"));
    /* Negative width. */
    huella_store_u32le(data + 10, 54);
    huella_store_u32le(data + 18, (uint32_t)-2);
    expect_reject(huella_image_decode_bmp, data, len, "BMP", &err);
    free(data);
}

static void test_size_limit_before_allocation(void **state)
{
    (void)state;
    /* A 54-byte file claiming 100000 x 100000: refused by the limit, which
     * is checked before the pixel data is even looked for. */
    uint32_t v[1] = {0};
    bmp_spec s = {.header_size = 40, .width = 1, .height = 1, .bits = 24, .values = v};
    size_t len;
    uint8_t *data = make_bmp(&s, &len);
    huella_store_u32le(data + 18, 100000);
    huella_store_u32le(data + 22, (uint32_t)-100000); /* top-down */
    huella_error err;
    expect_reject(huella_image_decode_bmp, data, len, "BMP", &err);
    assert_string_equal(err.message,
                        "BMP: image 100000 x 100000 exceeds the limit of 32768 pixels per side");
    /* Within the limits but far more pixels than the data holds. */
    huella_store_u32le(data + 18, 30000);
    huella_store_u32le(data + 22, 3000);
    expect_reject(huella_image_decode_bmp, data, len, "BMP", &err);
    assert_non_null(strstr(err.message, "runs past the end of the 58-byte file"));
    free(data);
}

/* ---- Real files ---------------------------------------------------------- */

static void test_probe_bmp_matches_png(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_image *bmp = read_ok("finger/sourceafis-samples/probe.bmp");
    huella_image *png = read_ok("finger/sourceafis-samples/probe.png");
    assert_int_equal(bmp->width, 388);
    assert_int_equal(bmp->height, 374);
    assert_int_equal(bmp->source_channels, 3);
    assert_int_equal(max_abs_diff(bmp, png), 0);
    huella_image_free(bmp);
    huella_image_free(png);
}

static void test_mmu1_irises(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_image *img = read_ok("iris/mmu1/1/left/aeval1.bmp");
    assert_int_equal(img->width, 320);
    assert_int_equal(img->height, 240);
    assert_int_equal(img->source_channels, 3);
    assert_true(img->ppi_x == 120 && img->ppi_y == 120); /* 4724 px/m */
    huella_image_free(img);
    img = read_ok("iris/mmu1/1/left/aeval2.bmp");
    assert_true(img->ppi_x == 0 && img->ppi_y == 0); /* 0 px/m: undeclared */
    huella_image_free(img);
}

static void test_truncated_files_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("finger/sourceafis-samples/probe.bmp", &len);
    check_truncations(huella_image_decode_bmp, data, len, "BMP");
    huella_error err;
    expect_reject(huella_image_decode_bmp, data, 1000, "BMP", &err);
    assert_string_equal(err.message, "BMP: pixel data at offset 54 + 435336 bytes runs past the "
                                     "end of the 1000-byte file");
    free(data);
    data = load_data("iris/mmu1/1/left/aeval1.bmp", &len);
    check_truncations(huella_image_decode_bmp, data, len, "BMP");
    free(data);
}

static void test_damaged_headers(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("iris/mmu1/1/left/aeval1.bmp", &len);
    huella_error err;
    uint8_t *copy = malloc(len);
    for (size_t i = 0; i < 2; i++) {
        memcpy(copy, data, len);
        copy[i] ^= 0x01;
        expect_reject(huella_image_decode_bmp, copy, len, "BMP", &err);
    }
    free(copy);
    check_flips(huella_image_decode_bmp, data, len, 54, "BMP");
    free(data);
}

static void test_other_formats_rejected(void **state)
{
    (void)state;
    static const uint8_t pgm[] = "P5 1 1 255\n\x10";
    huella_error err;
    expect_reject(huella_image_decode_bmp, pgm, sizeof(pgm) - 1, "BMP", &err);
    assert_non_null(strstr(err.message, "not a BMP"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_palette_depths_both_orientations),
        cmocka_unit_test(test_grey_palette_and_colours_used),
        cmocka_unit_test(test_os2_core_header),
        cmocka_unit_test(test_24_bit_with_padding),
        cmocka_unit_test(test_16_bit_default_and_bitfields),
        cmocka_unit_test(test_32_bit_variants),
        cmocka_unit_test(test_pels_per_metre),
        cmocka_unit_test(test_compressions_unsupported),
        cmocka_unit_test(test_inconsistent_headers_rejected),
        cmocka_unit_test(test_size_limit_before_allocation),
        cmocka_unit_test(test_probe_bmp_matches_png),
        cmocka_unit_test(test_mmu1_irises),
        cmocka_unit_test(test_truncated_files_rejected),
        cmocka_unit_test(test_damaged_headers),
        cmocka_unit_test(test_other_formats_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
