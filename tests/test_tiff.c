/*
 * test_tiff.c - specification of the TIFF decoder (src/image/tiff.c).
 *
 * Greyscale scanner output (8 or 16 bits, MinIsBlack or MinIsWhite, any
 * compression) is taken as it is; bilevel, palette, RGB, alpha and tiled
 * images go through libtiff's RGBA path and BT.601 luma; the resolution
 * follows ResolutionUnit; only the first page is read; oversized, truncated
 * and damaged files are refused with a message naming TIFF, and libtiff's
 * messages stay with the decode that caused them even across threads.
 * Fixtures are written here with libtiff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

#include <pthread.h>
#include <tiffio.h>

/* ---- Writing fixtures with libtiff ----------------------------------- */

typedef struct tiff_spec {
    uint32_t width, height;
    uint16_t spp, bits, photometric, compression;
    uint16_t planar;       /* 0: contiguous */
    uint16_t extra;        /* 0 none, else EXTRASAMPLE_* for the last sample */
    uint16_t sampleformat; /* 0: unsigned */
    uint32_t rows_per_strip;
    uint32_t tile;        /* 0: strips */
    const uint16_t *cmap; /* 3 * 2^bits entries */
    int res_unit;         /* 0: no resolution tags */
    float xres, yres;
    const uint8_t *pixels; /* packed rows, contiguous samples (or planes) */
    bool second_page;      /* append a 1 x 1 page */
} tiff_spec;

static size_t tiff_row_bytes(const tiff_spec *s)
{
    unsigned spp = s->planar == PLANARCONFIG_SEPARATE ? 1 : s->spp;
    return ((size_t)s->width * spp * s->bits + 7) / 8;
}

static void write_page(TIFF *t, const tiff_spec *s)
{
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, s->width);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, s->height);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, s->spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, s->bits);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s->photometric);
    TIFFSetField(t, TIFFTAG_COMPRESSION, s->compression ? s->compression : COMPRESSION_NONE);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, s->planar ? s->planar : PLANARCONFIG_CONTIG);
    if (s->sampleformat)
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, s->sampleformat);
    if (s->extra) {
        uint16_t e[1] = {s->extra};
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, e);
    }
    if (s->cmap != NULL) {
        size_t n = (size_t)1 << s->bits;
        TIFFSetField(t, TIFFTAG_COLORMAP, s->cmap, s->cmap + n, s->cmap + 2 * n);
    }
    if (s->res_unit) {
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, (uint16_t)s->res_unit);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, s->xres);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, s->yres);
    }
    size_t rb = tiff_row_bytes(s);
    unsigned planes = s->planar == PLANARCONFIG_SEPARATE ? s->spp : 1;
    if (s->tile) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, s->tile);
        TIFFSetField(t, TIFFTAG_TILELENGTH, s->tile);
        size_t bpp = (size_t)s->spp * s->bits / 8;
        uint8_t *tile = malloc((size_t)s->tile * s->tile * bpp);
        assert_non_null(tile);
        for (uint32_t ty = 0; ty < s->height; ty += s->tile)
            for (uint32_t tx = 0; tx < s->width; tx += s->tile) {
                memset(tile, 0, (size_t)s->tile * s->tile * bpp);
                for (uint32_t y = 0; y < s->tile && ty + y < s->height; y++)
                    for (uint32_t x = 0; x < s->tile && tx + x < s->width; x++)
                        memcpy(tile + ((size_t)y * s->tile + x) * bpp,
                               s->pixels + (ty + y) * rb + (tx + x) * bpp, bpp);
                assert_true(TIFFWriteTile(t, tile, tx, ty, 0, 0) > 0);
            }
        free(tile);
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s->rows_per_strip ? s->rows_per_strip : 3);
        for (unsigned p = 0; p < planes; p++)
            for (uint32_t y = 0; y < s->height; y++)
                assert_true(
                    TIFFWriteScanline(t, (void *)(s->pixels + ((size_t)p * s->height + y) * rb), y,
                                      (uint16_t)p) >= 0);
    }
    assert_true(TIFFWriteDirectory(t));
}

static uint8_t *make_tiff(const tiff_spec *s, size_t *len)
{
    const char *path = test_tmpfile("fixture.tif");
    TIFF *t = TIFFOpen(path, "w");
    assert_non_null(t);
    write_page(t, s);
    if (s->second_page) {
        uint8_t one = 7;
        tiff_spec p = {.width = 1,
                       .height = 1,
                       .spp = 1,
                       .bits = 8,
                       .photometric = PHOTOMETRIC_MINISBLACK,
                       .pixels = &one};
        write_page(t, &p);
    }
    TIFFClose(t);
    uint8_t *data = test_read_file(path, len);
    assert_non_null(data);
    return data;
}

static huella_image *decode_fixture(const tiff_spec *s)
{
    size_t len;
    uint8_t *data = make_tiff(s, &len);
    huella_image *img = decode_ok(huella_image_decode_tiff, data, len);
    free(data);
    assert_int_equal(img->width, s->width);
    assert_int_equal(img->height, s->height);
    assert_int_equal(img->format, HUELLA_IMAGE_TIFF);
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

static uint8_t from16(unsigned v)
{
    return (uint8_t)((v * 255 + 32767) / 65535);
}

static uint8_t over_white(unsigned v, unsigned a)
{
    return (uint8_t)((v * a + 255 * (255 - a) + 127) / 255);
}

/* ---- Greyscale scanner output ------------------------------------------ */

static void test_grey_8_bit_any_compression(void **state)
{
    (void)state;
    const uint32_t w = 45, h = 31;
    uint8_t *px = random_bytes(w * h, 1);
    const uint16_t compressions[] = {COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE,
                                     COMPRESSION_PACKBITS};
    for (size_t k = 0; k < 4; k++) {
        for (int white = 0; white <= 1; white++) {
            tiff_spec s = {.width = w,
                           .height = h,
                           .spp = 1,
                           .bits = 8,
                           .photometric = white ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK,
                           .compression = compressions[k],
                           .pixels = px};
            huella_image *img = decode_fixture(&s);
            assert_int_equal(img->source_channels, 1);
            assert_int_equal(img->source_bits, 8);
            for (size_t i = 0; i < w * h; i++)
                assert_int_equal(img->pixels[i], white ? 255 - px[i] : px[i]);
            huella_image_free(img);
        }
    }
    free(px);
}

static void test_grey_16_bit_rounds(void **state)
{
    (void)state;
    const uint32_t w = 21, h = 9;
    uint16_t *px = malloc(w * h * 2);
    uint32_t seed = 5;
    for (size_t i = 0; i < w * h; i++)
        px[i] = (uint16_t)test_rand(&seed);
    px[0] = 0;
    px[1] = 65535;
    px[2] = 128; /* rounds to 0 */
    px[3] = 129; /* rounds to 1 */
    for (int white = 0; white <= 1; white++) {
        tiff_spec s = {.width = w,
                       .height = h,
                       .spp = 1,
                       .bits = 16,
                       .photometric = white ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK,
                       .compression = COMPRESSION_LZW,
                       .pixels = (const uint8_t *)px};
        huella_image *img = decode_fixture(&s);
        assert_int_equal(img->source_bits, 16);
        for (size_t i = 0; i < w * h; i++)
            assert_int_equal(img->pixels[i], white ? 255 - from16(px[i]) : from16(px[i]));
        if (!white) {
            assert_int_equal(img->pixels[2], 0);
            assert_int_equal(img->pixels[3], 1);
        }
        huella_image_free(img);
    }
    free(px);
}

static void test_grey_tiled(void **state)
{
    (void)state;
    const uint32_t w = 37, h = 20; /* not multiples of the 16-pixel tile */
    uint8_t *px = random_bytes(w * h, 3);
    tiff_spec s = {.width = w,
                   .height = h,
                   .spp = 1,
                   .bits = 8,
                   .photometric = PHOTOMETRIC_MINISBLACK,
                   .tile = 16,
                   .pixels = px};
    huella_image *img = decode_fixture(&s);
    assert_memory_equal(img->pixels, px, w * h);
    huella_image_free(img);
    free(px);
}

/* ---- The RGBA path ----------------------------------------------------- */

static void test_bilevel(void **state)
{
    (void)state;
    const uint32_t w = 13, h = 6;
    tiff_spec s = {.width = w, .height = h, .spp = 1, .bits = 1};
    size_t rb = tiff_row_bytes(&s);
    uint8_t *px = random_bytes(rb * h, 8);
    s.pixels = px;
    for (int white = 0; white <= 1; white++) {
        s.photometric = white ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK;
        s.compression = white ? COMPRESSION_CCITTFAX4 : COMPRESSION_NONE;
        huella_image *img = decode_fixture(&s);
        assert_int_equal(img->source_bits, 1);
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                unsigned bit = (px[y * rb + x / 8] >> (7 - x % 8)) & 1;
                unsigned expect = (bit ^ (unsigned)white) ? 255 : 0;
                assert_int_equal(img->pixels[y * w + x], expect);
            }
        huella_image_free(img);
    }
    free(px);
}

static void test_palette(void **state)
{
    (void)state;
    uint16_t cmap[3 * 256];
    uint32_t seed = 17;
    for (int i = 0; i < 3 * 256; i++)
        cmap[i] = (uint16_t)((test_rand(&seed) & 255) * 257);
    const uint32_t w = 19, h = 8;
    uint8_t *px = random_bytes(w * h, 4);
    tiff_spec s = {.width = w,
                   .height = h,
                   .spp = 1,
                   .bits = 8,
                   .photometric = PHOTOMETRIC_PALETTE,
                   .cmap = cmap,
                   .pixels = px};
    huella_image *img = decode_fixture(&s);
    assert_int_equal(img->source_channels, 3);
    for (size_t i = 0; i < w * h; i++) {
        unsigned k = px[i];
        assert_int_equal(img->pixels[i],
                         huella_luma(cmap[k] >> 8, cmap[256 + k] >> 8, cmap[512 + k] >> 8));
    }
    huella_image_free(img);
    free(px);
}

static void test_rgb_contiguous_and_planar(void **state)
{
    (void)state;
    const uint32_t w = 23, h = 10;
    uint8_t *px = random_bytes(w * h * 3, 12);
    /* The same pixels as three planes. */
    uint8_t *planes = malloc(w * h * 3);
    for (size_t i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++)
            planes[c * w * h + i] = px[3 * i + c];
    for (int planar = 0; planar <= 1; planar++) {
        tiff_spec s = {.width = w,
                       .height = h,
                       .spp = 3,
                       .bits = 8,
                       .photometric = PHOTOMETRIC_RGB,
                       .compression = COMPRESSION_LZW,
                       .planar = planar ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG,
                       .pixels = planar ? planes : px};
        huella_image *img = decode_fixture(&s);
        assert_int_equal(img->source_channels, 3);
        for (size_t i = 0; i < w * h; i++)
            assert_int_equal(img->pixels[i], huella_luma(px[3 * i], px[3 * i + 1], px[3 * i + 2]));
        huella_image_free(img);
    }
    free(planes);
    free(px);
}

static void test_rgb_16_bit(void **state)
{
    (void)state;
    const uint32_t w = 11, h = 5;
    uint16_t *px = malloc(w * h * 3 * 2);
    uint32_t seed = 77;
    for (size_t i = 0; i < w * h * 3; i++)
        px[i] = (uint16_t)test_rand(&seed);
    tiff_spec s = {.width = w,
                   .height = h,
                   .spp = 3,
                   .bits = 16,
                   .photometric = PHOTOMETRIC_RGB,
                   .pixels = (const uint8_t *)px};
    huella_image *img = decode_fixture(&s);
    assert_int_equal(img->source_bits, 16);
    for (size_t i = 0; i < w * h; i++)
        assert_int_equal(img->pixels[i], huella_luma(from16(px[3 * i]), from16(px[3 * i + 1]),
                                                     from16(px[3 * i + 2])));
    huella_image_free(img);
    free(px);
}

static void test_alpha_over_white(void **state)
{
    (void)state;
    const uint32_t w = 16, h = 16;
    /* RGBA, unassociated alpha. */
    uint8_t *rgba = random_bytes(w * h * 4, 21);
    tiff_spec s = {.width = w,
                   .height = h,
                   .spp = 4,
                   .bits = 8,
                   .photometric = PHOTOMETRIC_RGB,
                   .extra = EXTRASAMPLE_UNASSALPHA,
                   .pixels = rgba};
    huella_image *img = decode_fixture(&s);
    assert_int_equal(img->source_channels, 4);
    for (size_t i = 0; i < w * h; i++) {
        const uint8_t *p = rgba + 4 * i;
        assert_int_equal(img->pixels[i], huella_luma(over_white(p[0], p[3]), over_white(p[1], p[3]),
                                                     over_white(p[2], p[3])));
    }
    huella_image_free(img);
    free(rgba);

    /* Grey and unassociated alpha. */
    uint8_t *ga = random_bytes(w * h * 2, 22);
    tiff_spec g = {.width = w,
                   .height = h,
                   .spp = 2,
                   .bits = 8,
                   .photometric = PHOTOMETRIC_MINISBLACK,
                   .extra = EXTRASAMPLE_UNASSALPHA,
                   .pixels = ga};
    img = decode_fixture(&g);
    assert_int_equal(img->source_channels, 2);
    for (size_t i = 0; i < w * h; i++)
        assert_int_equal(img->pixels[i], over_white(ga[2 * i], ga[2 * i + 1]));
    huella_image_free(img);
    free(ga);
}

static void test_float_samples_unsupported(void **state)
{
    (void)state;
    float px[4] = {0.0f, 0.25f, 0.5f, 1.0f};
    tiff_spec s = {.width = 2,
                   .height = 2,
                   .spp = 1,
                   .bits = 32,
                   .photometric = PHOTOMETRIC_MINISBLACK,
                   .sampleformat = SAMPLEFORMAT_IEEEFP,
                   .pixels = (const uint8_t *)px};
    size_t len;
    uint8_t *data = make_tiff(&s, &len);
    huella_error err;
    assert_int_equal(expect_reject(huella_image_decode_tiff, data, len, "TIFF", &err),
                     HUELLA_E_UNSUPPORTED);
    free(data);
}

/* ---- Resolution and pages ---------------------------------------------- */

static void test_resolution_units(void **state)
{
    (void)state;
    uint8_t px[4] = {1, 2, 3, 4};
    struct {
        int unit;
        float x, y;
        double ppi_x, ppi_y;
    } cases[] = {
        {RESUNIT_INCH, 500, 500, 500, 500},
        {RESUNIT_INCH, 1000, 500, 1000, 500},
        {RESUNIT_CENTIMETER, 200, 100, 508, 254},
        {RESUNIT_NONE, 1, 1, 0, 0},
        {0, 0, 0, 0, 0}, /* no tags */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        tiff_spec s = {.width = 2,
                       .height = 2,
                       .spp = 1,
                       .bits = 8,
                       .photometric = PHOTOMETRIC_MINISBLACK,
                       .pixels = px,
                       .res_unit = cases[k].unit,
                       .xres = cases[k].x,
                       .yres = cases[k].y};
        huella_image *img = decode_fixture(&s);
        assert_float_equal(img->ppi_x, cases[k].ppi_x, 1e-3);
        assert_float_equal(img->ppi_y, cases[k].ppi_y, 1e-3);
        huella_image_free(img);
    }
}

static void test_first_page_only(void **state)
{
    (void)state;
    uint8_t px[6] = {10, 20, 30, 40, 50, 60};
    tiff_spec s = {.width = 3,
                   .height = 2,
                   .spp = 1,
                   .bits = 8,
                   .photometric = PHOTOMETRIC_MINISBLACK,
                   .pixels = px,
                   .second_page = true};
    huella_image *img = decode_fixture(&s);
    assert_memory_equal(img->pixels, px, 6);
    huella_image_free(img);
}

/* ---- Real files -------------------------------------------------------- */

static void test_fvc2002_all_databases(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const struct {
        const char *db;
        uint32_t w, h;
    } dbs[] = {{"DB1_B", 388, 374}, {"DB2_B", 296, 560}, {"DB3_B", 300, 300}, {"DB4_B", 288, 384}};
    unsigned n = 0;
    for (size_t d = 0; d < 4; d++)
        for (int finger = 101; finger <= 110; finger++)
            for (int imp = 1; imp <= 8; imp++) {
                char rel[64];
                snprintf(rel, sizeof(rel), "finger/fvc2002/%s/%d_%d.tif", dbs[d].db, finger, imp);
                huella_image *img = read_ok(rel);
                assert_int_equal(img->width, dbs[d].w);
                assert_int_equal(img->height, dbs[d].h);
                assert_int_equal(img->source_channels, 1);
                assert_int_equal(img->source_bits, 8);
                assert_true(img->ppi_x == 0 && img->ppi_y == 0); /* no resolution tag */
                huella_image_free(img);
                n++;
            }
    assert_int_equal(n, 320);
}

static void test_probe_tiff_matches_png(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_image *tif = read_ok("finger/sourceafis-samples/probe.tiff");
    huella_image *png = read_ok("finger/sourceafis-samples/probe.png");
    assert_int_equal(tif->width, 388);
    assert_int_equal(tif->height, 374);
    assert_true(tif->ppi_x == 72 && tif->ppi_y == 72);
    assert_int_equal(max_abs_diff(tif, png), 0); /* both lossless */
    huella_image_free(tif);
    huella_image_free(png);
}

/* ---- Limits and damage --------------------------------------------------- */

static void test_size_limits_checked_before_allocating(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("finger/fvc2002/DB1_B/101_1.tif", &len);
    /* IFD at 8: count, then 12-byte entries; ImageWidth and ImageLength
     * are the second and third, LONG values at +8. */
    assert_int_equal(huella_load_u16le(data + 10 + 12), 256);
    assert_int_equal(huella_load_u16le(data + 10 + 24), 257);
    huella_store_u32le(data + 10 + 12 + 8, 100000);
    huella_store_u32le(data + 10 + 24 + 8, 100000);
    huella_error err;
    expect_reject(huella_image_decode_tiff, data, len, "TIFF", &err);
    assert_non_null(strstr(err.message, "TIFF: image 100000 x 100000 exceeds the limit"));
    free(data);

    data = load_data("finger/fvc2002/DB1_B/101_1.tif", &len);
    huella_image_limits lim = {.max_pixels = 100000};
    huella_image *img;
    assert_int_equal(huella_image_decode_tiff(data, len, &lim, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    assert_non_null(strstr(err.message, "TIFF: image 388 x 374 has 145112 pixels"));
    free(data);
}

static void test_truncated_files_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const char *files[] = {"finger/fvc2002/DB1_B/101_1.tif", "finger/fvc2002/DB3_B/105_2.tif",
                           "finger/sourceafis-samples/probe.tiff"};
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        size_t len;
        uint8_t *data = load_data(files[k], &len);
        check_truncations(huella_image_decode_tiff, data, len, "TIFF");
        free(data);
    }
}

static void test_damaged_files_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("finger/fvc2002/DB1_B/101_1.tif", &len);
    uint8_t *copy = malloc(len);
    huella_error err;
    for (size_t i = 0; i < 4; i++) {
        memcpy(copy, data, len);
        copy[i] ^= 0x40;
        expect_reject(huella_image_decode_tiff, copy, len, "TIFF", &err);
    }
    /* The strip offset pointing past the end. */
    memcpy(copy, data, len);
    assert_int_equal(huella_load_u16le(copy + 10 + 6 * 12), 273);
    huella_store_u32le(copy + 10 + 6 * 12 + 8, (uint32_t)len);
    expect_reject(huella_image_decode_tiff, copy, len, "TIFF", &err);
    free(copy);
    /* Flips over the header and the whole IFD. */
    check_flips(huella_image_decode_tiff, data, len, 160, "TIFF");
    free(data);

    data = load_data("finger/sourceafis-samples/probe.tiff", &len);
    check_flips(huella_image_decode_tiff, data, len, 16, "TIFF");
    free(data);
}

/* Each thread decodes a damaged file and must get its own message back:
 * libtiff's handlers are per handle, not process-wide. */
typedef struct thread_job {
    const uint8_t *data;
    size_t len;
    bool ok;
    char message[HUELLA_ERROR_MAX];
} thread_job;

static void *decode_repeatedly(void *arg)
{
    thread_job *job = arg;
    job->ok = true;
    for (int i = 0; i < 50; i++) {
        huella_image *img = NULL;
        huella_error err;
        huella_error_clear(&err);
        if (huella_image_decode_tiff(job->data, job->len, NULL, &img, &err) == HUELLA_OK) {
            huella_image_free(img);
            job->ok = false;
            continue;
        }
        if (i == 0)
            memcpy(job->message, err.message, sizeof(err.message));
        else if (strcmp(job->message, err.message) != 0)
            job->ok = false;
    }
    return NULL;
}

static void test_messages_stay_with_their_thread(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("finger/fvc2002/DB1_B/101_1.tif", &len);
    thread_job jobs[4];
    pthread_t threads[4];
    size_t cuts[4] = {len - 1, len / 2, 300, 1000};
    for (int t = 0; t < 4; t++) {
        memset(&jobs[t], 0, sizeof(jobs[t]));
        jobs[t].data = data;
        jobs[t].len = cuts[t];
        assert_int_equal(pthread_create(&threads[t], NULL, decode_repeatedly, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_true(jobs[t].ok);
        assert_non_null(strstr(jobs[t].message, "TIFF: "));
    }
    free(data);
}

static void test_other_formats_rejected(void **state)
{
    (void)state;
    static const uint8_t bmp[] = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0};
    huella_error err;
    expect_reject(huella_image_decode_tiff, bmp, sizeof(bmp), "TIFF", &err);
    assert_non_null(strstr(err.message, "not a TIFF"));
    static const uint8_t header_only[] = {'I', 'I', 42, 0, 8, 0, 0, 0};
    expect_reject(huella_image_decode_tiff, header_only, sizeof(header_only), "TIFF", &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grey_8_bit_any_compression),
        cmocka_unit_test(test_grey_16_bit_rounds),
        cmocka_unit_test(test_grey_tiled),
        cmocka_unit_test(test_bilevel),
        cmocka_unit_test(test_palette),
        cmocka_unit_test(test_rgb_contiguous_and_planar),
        cmocka_unit_test(test_rgb_16_bit),
        cmocka_unit_test(test_alpha_over_white),
        cmocka_unit_test(test_float_samples_unsupported),
        cmocka_unit_test(test_resolution_units),
        cmocka_unit_test(test_first_page_only),
        cmocka_unit_test(test_fvc2002_all_databases),
        cmocka_unit_test(test_probe_tiff_matches_png),
        cmocka_unit_test(test_size_limits_checked_before_allocating),
        cmocka_unit_test(test_truncated_files_rejected),
        cmocka_unit_test(test_damaged_files_rejected),
        cmocka_unit_test(test_messages_stay_with_their_thread),
        cmocka_unit_test(test_other_formats_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
