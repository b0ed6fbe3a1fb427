/*
 * test_wsq.c - specification of the WSQ codec (src/formats/wsq_common.c,
 * wsq_decode.c, wsq_encode.c).
 *
 * The decoder reproduces the NIST reference decoder pixel for pixel: every
 * WSQ file in interchange/wsq decodes to exactly the PNG the reference
 * made of it, and so does SourceAFIS's sample.  It reports the PPI the NISTCOM
 * comment declares (even a wrong one).  The encoder writes files that
 * decode, at the compression and quality WSQ is known for on real
 * fingerprints, and at a size close to the reference encoder's for the
 * same pixels.  Damaged files are refused with HUELLA_E_INPUT and a
 * message that names the segment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

#include "huella/wsq.h"

#include <math.h>

/* The sanitizer build runs unoptimised code about 50 times slower; there
 * the test of the AN2K images decodes one image per file (and still reads
 * the headers of all). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

static const char *const shared_files[] = {"fp-1", "fp-2", "fp-3", "fp-4",  "fp-5",  "fp-6",
                                           "fp-7", "fp-8", "fp-9", "fp-10", "sample"};
#define N_SHARED (sizeof(shared_files) / sizeof(shared_files[0]))

static uint8_t *load_wsq(const char *name, size_t *len)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "interchange/wsq/%s.wsq", name);
    return load_data(rel, len);
}

static void assert_same_pixels(const huella_image *a, const huella_image *b, const char *what)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    size_t n = (size_t)a->width * a->height, differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += a->pixels[i] != b->pixels[i];
    if (differ != 0)
        fail_msg("%s: %zu of %zu pixels differ from the reference", what, differ, n);
}

static void test_shared_files_pixel_exact(void **state)
{
    (void)state;
    REQUIRE_DATA();
    for (size_t f = 0; f < N_SHARED; f++) {
        size_t len;
        uint8_t *data = load_wsq(shared_files[f], &len);
        huella_image *img = decode_ok(huella_image_decode_wsq, data, len);
        char rel[128];
        snprintf(rel, sizeof(rel), "interchange/wsq/%s.png", shared_files[f]);
        huella_image *ref = read_ok(rel);
        assert_same_pixels(img, ref, shared_files[f]);
        assert_int_equal(img->format, HUELLA_IMAGE_WSQ);
        huella_image_free(ref);
        huella_image_free(img);
        free(data);
    }
}

static void test_sourceafis_sample_pixel_exact(void **state)
{
    (void)state;
    REQUIRE_DATA();
    /* Through the generic entry point and from a file. */
    huella_image *img = read_ok("finger/sourceafis-samples/wsq-original.wsq");
    huella_image *ref = read_ok("finger/sourceafis-samples/wsq-converted.png");
    assert_same_pixels(img, ref, "wsq-original");
    huella_image_free(ref);
    huella_image_free(img);
}

/* Every WSQ image inside the shared ANSI/NIST-ITL transactions (Type-4,
 * -13 and -14 records, from several encoders) decodes, to the size its
 * frame header states, with the spread of a fingerprint.  One of them pads
 * its last block with a whole 0xff byte. */
static void test_wsq_in_an2k_transactions(void **state)
{
    (void)state;
    REQUIRE_DATA();
    static const struct {
        const char *file;
        int images;
    } files[] = {{"interchange/an2k/sample-nist-type4.an2", 14},
                 {"interchange/an2k/type-13-tip-eji-wsq.an2", 5},
                 {"interchange/an2k/type-14-tip-eji-wsq.an2", 5},
                 {"interchange/an2k/type-14-tpcard-nqm.an2", 14},
                 {"interchange/an2k/type-4-14-slaps.an2", 3},
                 {"interchange/an2k/type-4-slaps.an2", 4},
                 {"interchange/an2k/type-4-tpcard.an2", 14},
                 {"interchange/an2k-nbis/valid1.1.an2", 1},
                 {"interchange/an2k-nbis/valid1.11.an2", 2},
                 {"interchange/an2k-nbis/valid1.14.an2", 1},
                 {"interchange/an2k-nbis/valid1.16.an2", 2},
                 {"interchange/an2k-nbis/valid1.2.an2", 1},
                 {"interchange/an2k-nbis/valid1.8.an2", 3},
                 {"interchange/an2k-nbis/valid1.9.an2", 2}};
    int total = 0;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        size_t len;
        uint8_t *data = load_data(files[f].file, &len);
        int found = 0;
        for (size_t i = 0; i + 4 < len; i++) {
            if (!(data[i] == 0xff && data[i + 1] == 0xa0 && data[i + 2] == 0xff &&
                  data[i + 3] >= 0xa2 && data[i + 3] <= 0xa8))
                continue;
            /* The image runs to its EOI; the records' own lengths are the
             * ANSI/NIST-ITL parser's business. */
            size_t end = i + 2;
            while (end + 1 < len && !(data[end] == 0xff && data[end + 1] == 0xa1))
                end++;
            assert_true(end + 1 < len);
            size_t n = end + 2 - i;
            huella_wsq_info info;
            huella_error err;
            if (huella_wsq_read_info(data + i, n, &info, &err) != HUELLA_OK)
                fail_msg("%s at %zu: %s", files[f].file, i, err.message);
            if (UNDER_SANITIZER && found > 0) {
                found++;
                i = end;
                continue;
            }
            huella_image *img = NULL;
            if (huella_image_decode(data + i, n, NULL, &img, &err) != HUELLA_OK)
                fail_msg("%s at %zu: %s", files[f].file, i, err.message);
            assert_int_equal(img->width, info.width);
            assert_int_equal(img->height, info.height);
            size_t np = (size_t)img->width * img->height;
            double sum = 0, ssq = 0;
            for (size_t k = 0; k < np; k++) {
                sum += img->pixels[k];
                ssq += (double)img->pixels[k] * img->pixels[k];
            }
            double mean = sum / (double)np;
            if (sqrt(ssq / (double)np - mean * mean) < 10)
                fail_msg("%s at %zu: a flat image", files[f].file, i);
            huella_image_free(img);
            found++;
            i = end;
        }
        if (found != files[f].images)
            fail_msg("%s: %d WSQ images, expected %d", files[f].file, found, files[f].images);
        total += found;
        free(data);
    }
    assert_int_equal(total, 71);
}

static void test_ppi_is_what_the_file_says(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_wsq("fp-1", &len);
    huella_image *img = decode_ok(huella_image_decode_wsq, data, len);
    assert_double_equal(img->ppi_x, 500, 0);
    assert_double_equal(img->ppi_y, 500, 0);
    huella_image_free(img);
    free(data);
    /* fp-8 declares 255 although its pixels are 500 ppi: reported as is. */
    data = load_wsq("fp-8", &len);
    img = decode_ok(huella_image_decode_wsq, data, len);
    assert_double_equal(img->ppi_x, 255, 0);
    huella_image_free(img);
    free(data);
}

static const char *field(const huella_wsq_info *info, const char *name)
{
    for (unsigned i = 0; i < info->field_count; i++)
        if (strcmp(info->field_name[i], name) == 0)
            return info->field_value[i];
    return NULL;
}

static void test_info(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_wsq("fp-1", &len);
    huella_wsq_info info;
    huella_error err;
    assert_int_equal(huella_wsq_read_info(data, len, &info, &err), HUELLA_OK);
    assert_int_equal(info.width, 804);
    assert_int_equal(info.height, 752);
    assert_int_equal(info.ppi, 500);
    assert_int_equal(info.black, 0);
    assert_int_equal(info.white, 255);
    assert_int_equal(info.blocks, 3);
    assert_int_equal(info.filter_lo, 9);
    assert_int_equal(info.filter_hi, 7);
    assert_double_equal(info.bin_center, 0.44, 1e-6);
    assert_double_equal(info.m_shift, 183.93, 1e-4); /* 18393 * 10^-2 */
    assert_double_equal(info.r_scale, 1.437, 1e-5);
    assert_int_equal(info.field_count, 12);
    assert_string_equal(info.field_name[0], "NIST_COM");
    assert_string_equal(field(&info, "PIX_WIDTH"), "804");
    assert_string_equal(field(&info, "COMPRESSION"), "WSQ");
    assert_string_equal(field(&info, "WSQ_BITRATE"), "0.750000");
    assert_int_equal(info.file_size, len);
    free(data);
}

/* ---- encoder ------------------------------------------------------------ */

static double psnr(const huella_image *a, const huella_image *b)
{
    size_t n = (size_t)a->width * a->height;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a->pixels[i] - b->pixels[i];
        se += d * d;
    }
    return se == 0 ? 99 : 10 * log10(255.0 * 255.0 * (double)n / se);
}

typedef struct round_trip {
    size_t bytes;
    double bpp, psnr;
} round_trip;

static round_trip encode_decode(const huella_image *img, double rate, int ppi)
{
    uint8_t *wsq = NULL;
    size_t len = 0;
    huella_error err;
    if (huella_wsq_encode(img, rate, ppi, &wsq, &len, &err) != HUELLA_OK)
        fail_msg("encode: %s", err.message);
    huella_image *back = decode_ok(huella_image_decode_wsq, wsq, len);
    assert_int_equal(back->width, img->width);
    assert_int_equal(back->height, img->height);
    if (ppi > 0)
        assert_double_equal(back->ppi_x, ppi, 0);
    round_trip r = {len, 8.0 * (double)len / ((double)img->width * img->height), psnr(img, back)};
    huella_image_free(back);
    free(wsq);
    return r;
}

static void test_encoder_round_trip_on_fingerprints(void **state)
{
    (void)state;
    REQUIRE_DATA();
    static const char *const files[] = {
        "finger/fvc2002/DB1_B/101_1.tif", "finger/fvc2002/DB1_B/102_1.tif",
        "finger/fvc2002/DB2_B/103_2.tif", "finger/fvc2002/DB3_B/104_3.tif",
        "finger/fvc2002/DB4_B/105_4.tif"};
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        huella_image *img = read_ok(files[f]);
        round_trip r = encode_decode(img, 0.75, 500);
        /* WSQ's allocation aims at the entropy of the quantised bands; as
         * with the reference encoder, files come out below the target
         * (0.5-0.56 bpp for 0.75 on these), about 15:1, near 30 dB. */
        if (r.bpp < 0.35 || r.bpp > 0.80 || r.psnr < 28.0)
            fail_msg("%s: %.3f bpp, %.2f dB", files[f], r.bpp, r.psnr);
        round_trip hi = encode_decode(img, 2.0, 500);
        if (!(hi.bpp > r.bpp * 1.5 && hi.psnr > r.psnr + 4.0))
            fail_msg("%s: rate 2.0 gives %.3f bpp %.2f dB, rate 0.75 %.3f bpp %.2f dB", files[f],
                     hi.bpp, hi.psnr, r.bpp, r.psnr);
        huella_image_free(img);
    }
}

static void test_encoder_close_to_reference_size(void **state)
{
    (void)state;
    REQUIRE_DATA();
    /* Re-encoding what the reference decoder made of a reference file, at
     * the same 0.75 bpp, gives nearly the reference's size. */
    for (size_t f = 0; f < N_SHARED; f += 5) {
        size_t len;
        uint8_t *data = load_wsq(shared_files[f], &len);
        huella_image *img = decode_ok(huella_image_decode_wsq, data, len);
        round_trip r = encode_decode(img, 0.75, 0);
        double rel = (double)r.bytes / (double)len;
        if (rel < 0.95 || rel > 1.05 || r.psnr < 40)
            fail_msg("%s: %zu bytes against the reference's %zu, %.2f dB", shared_files[f], r.bytes,
                     len, r.psnr);
        huella_image_free(img);
        free(data);
    }
}

static void test_encoder_writes_standard_segments(void **state)
{
    (void)state;
    huella_image *img;
    huella_error err;
    assert_int_equal(huella_image_new(200, 150, &img, &err), HUELLA_OK);
    uint32_t seed = 7;
    for (size_t i = 0; i < 200u * 150u; i++)
        img->pixels[i] =
            (uint8_t)(128 + 60 * sin((double)(i % 200) * 0.5) + (double)(test_rand(&seed) % 20));
    img->ppi_x = img->ppi_y = 1000;
    uint8_t *wsq;
    size_t len;
    assert_int_equal(huella_wsq_encode(img, 0, 0, &wsq, &len, &err), HUELLA_OK);
    assert_int_equal(huella_image_detect(wsq, len), HUELLA_IMAGE_WSQ);
    huella_wsq_info info;
    assert_int_equal(huella_wsq_read_info(wsq, len, &info, &err), HUELLA_OK);
    assert_int_equal(info.width, 200);
    assert_int_equal(info.height, 150);
    assert_int_equal(info.ppi, 1000);
    assert_int_equal(info.blocks, 3);
    assert_int_equal(info.filter_lo, 9);
    assert_int_equal(info.filter_hi, 7);
    assert_double_equal(info.bin_center, 0.44, 1e-6);
    assert_string_equal(field(&info, "WSQ_BITRATE"), "0.750000");
    assert_string_equal(field(&info, "PIX_DEPTH"), "8");
    /* The transform table holds the standard 9/7 filters. */
    const uint8_t dtt[] = {0xff, 0xa4, 0x00, 0x3a, 9, 7};
    bool found = false;
    for (size_t i = 0; i + sizeof(dtt) <= len && !found; i++)
        found = memcmp(wsq + i, dtt, sizeof(dtt)) == 0;
    assert_true(found);
    free(wsq);
    /* Unknown resolution is written as -1 and read back as unknown. */
    img->ppi_x = img->ppi_y = 0;
    assert_int_equal(huella_wsq_encode(img, 1.0, 0, &wsq, &len, &err), HUELLA_OK);
    huella_image *back = decode_ok(huella_image_decode_wsq, wsq, len);
    assert_double_equal(back->ppi_x, 0, 0);
    huella_image_free(back);
    free(wsq);
    /* A flat image has no detail at all and still round-trips. */
    memset(img->pixels, 77, 200u * 150u);
    assert_int_equal(huella_wsq_encode(img, 0.75, 500, &wsq, &len, &err), HUELLA_OK);
    back = decode_ok(huella_image_decode_wsq, wsq, len);
    assert_int_equal(max_abs_diff(img, back), 0);
    huella_image_free(back);
    free(wsq);
    huella_image_free(img);
}

static void test_encoder_refuses_bad_arguments(void **state)
{
    (void)state;
    huella_image *img;
    huella_error err;
    uint8_t *wsq = (uint8_t *)(uintptr_t)1;
    size_t len = 1;
    assert_int_equal(huella_image_new(16, 16, &img, &err), HUELLA_OK);
    assert_int_equal(huella_wsq_encode(img, 0.75, 500, &wsq, &len, &err), HUELLA_E_UNSUPPORTED);
    assert_null(wsq);
    assert_non_null(strstr(err.message, "too small"));
    huella_image_free(img);
    assert_int_equal(huella_image_new(100, 100, &img, &err), HUELLA_OK);
    assert_int_equal(huella_wsq_encode(img, -1, 500, &wsq, &len, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_wsq_encode(img, 9, 500, &wsq, &len, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_wsq_encode(NULL, 1, 500, &wsq, &len, &err), HUELLA_E_INPUT);
    huella_image_free(img);
}

/* ---- damaged input ---------------------------------------------------- */

/* A small WSQ file of a generated ridge pattern, made by our encoder, for
 * the damage tests that decode many copies. */
static uint8_t *small_wsq(size_t *len)
{
    huella_image *img;
    huella_error err;
    assert_int_equal(huella_image_new(96, 80, &img, &err), HUELLA_OK);
    for (uint32_t y = 0; y < 80; y++)
        for (uint32_t x = 0; x < 96; x++)
            img->pixels[y * 96 + x] = (uint8_t)(128 + 100 * sin(0.05 * (x * x + y * y) / 8.0));
    uint8_t *wsq;
    assert_int_equal(huella_wsq_encode(img, 1.0, 500, &wsq, len, &err), HUELLA_OK);
    huella_image_free(img);
    return wsq;
}

static size_t find_marker(const uint8_t *data, size_t len, uint8_t second)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (data[i] == 0xff && data[i + 1] == second)
            return i;
    fail_msg("marker ff%02x not found", second);
    return 0;
}

static void expect_message(const uint8_t *data, size_t len, const char *words)
{
    huella_error err;
    expect_reject(huella_image_decode_wsq, data, len, "WSQ", &err);
    assert_int_equal(err.status, HUELLA_E_INPUT);
    if (strstr(err.message, words) == NULL)
        fail_msg("message \"%s\" does not say \"%s\"", err.message, words);
}

static void test_truncated_files_name_the_segment(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_wsq("sample", &len);
    check_truncations(huella_image_decode_wsq, data, len, "WSQ");
    expect_message(data, find_marker(data, len, 0xa5) + 100, "DQT");
    expect_message(data, find_marker(data, len, 0xa4) + 20, "DTT");
    expect_message(data, find_marker(data, len, 0xa2) + 10, "SOF");
    expect_message(data, find_marker(data, len, 0xa6) + 30, "DHT");
    expect_message(data, len - 2, "SOB block 3");
    expect_message(data, len / 2, "SOB block");
    free(data);
    /* Every cut of the tables of a small file, and every 7th byte of its
     * coded data. */
    data = small_wsq(&len);
    for (size_t cut = 0; cut < len; cut += cut < 700 ? 1 : 7)
        expect_reject(huella_image_decode_wsq, data, cut, "WSQ", NULL);
    free(data);
}

static void test_corrupted_markers_name_the_segment(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_wsq("sample", &len);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);

    memcpy(copy, data, len);
    copy[1] = 0xd8; /* a JPEG SOI */
    expect_message(copy, len, "SOI");

    memcpy(copy, data, len);
    size_t dqt = find_marker(copy, len, 0xa5);
    copy[dqt + 1] = 0x55; /* not a marker any more */
    expect_message(copy, len, "expected a marker");

    memcpy(copy, data, len);
    size_t dht = find_marker(copy, len, 0xa6);
    copy[dht + 4] = 9; /* table id out of range */
    expect_message(copy, len, "DHT");

    memcpy(copy, data, len);
    size_t sob = find_marker(copy, len, 0xa3);
    copy[sob + 4] = 5; /* a table no DHT defined */
    expect_message(copy, len, "Huffman table 5");

    memcpy(copy, data, len);
    size_t sof = find_marker(copy, len, 0xa2);
    copy[sof + 3] = 40; /* SOF length beyond the file's segments */
    huella_error err;
    expect_reject(huella_image_decode_wsq, copy, len, "WSQ", &err);

    /* Garbage in the middle of block 1: more or fewer coefficients than
     * the subbands hold, or invalid codes, but never an image. */
    memcpy(copy, data, len);
    for (size_t i = sob + 100; i < sob + 140; i++)
        copy[i] = copy[i] == 0xff ? 0x00 : (uint8_t)(copy[i] ^ 0x5a);
    expect_message(copy, len, "SOB block 1");

    free(copy);
    free(data);
    /* Damage in the transform table, frame header, Huffman table and
     * block header of a small file keeps the contract. */
    data = small_wsq(&len);
    copy = malloc(len);
    assert_non_null(copy);
    static const uint8_t seg[][2] = {{0xa4, 60}, {0xa2, 19}, {0xa6, 40}, {0xa3, 5}};
    for (size_t k = 0; k < sizeof(seg) / sizeof(seg[0]); k++) {
        size_t at = find_marker(data, len, seg[k][0]);
        for (size_t i = at; i < at + seg[k][1] && i < len; i++)
            for (int pattern = 0; pattern < 2; pattern++) {
                memcpy(copy, data, len);
                copy[i] ^= pattern == 0 ? 0xff : 0x01;
                decode_any(huella_image_decode_wsq, copy, len, "WSQ");
            }
    }
    free(copy);
    free(data);
}

static void test_generic_decoder_and_garbage(void **state)
{
    (void)state;
    const uint8_t soi_only[] = {0xff, 0xa0, 0xff, 0xa8, 0x00, 0x04, 'h', 'i'};
    expect_message(soi_only, sizeof(soi_only), "no EOI");
    huella_image *img = NULL;
    huella_error err;
    assert_int_equal(huella_image_decode(soi_only, sizeof(soi_only), NULL, &img, &err),
                     HUELLA_E_INPUT);
    assert_null(img);
    uint8_t junk[4096];
    uint32_t seed = 1;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)test_rand(&seed);
        junk[0] = 0xff;
        junk[1] = 0xa0;
        decode_any(huella_image_decode_wsq, junk, sizeof(junk), "WSQ");
    }
    /* Limits are checked before any pixel memory. */
    if (test_have_data()) {
        size_t len;
        uint8_t *data = load_wsq("fp-1", &len);
        huella_image_limits small = {512, 512, 0};
        assert_int_equal(huella_image_decode_wsq(data, len, &small, &img, &err), HUELLA_E_INPUT);
        assert_non_null(strstr(err.message, "WSQ"));
        free(data);
    }
}

/* ---- the command -------------------------------------------------- */

#define RUN(out, err, ...) test_run_huella((const char *const[]){__VA_ARGS__, NULL}, NULL, out, err)

static void contains(const char *haystack, const char *needle)
{
    if (haystack == NULL || strstr(haystack, needle) == NULL)
        fail_msg("expected '%s' in:\n%s", needle, haystack ? haystack : "(null)");
}

static void test_cli(void **state)
{
    (void)state;
    REQUIRE_DATA();
    char *out, *err;
    const char *fp8 = test_data("interchange/wsq/fp-8.wsq");
    assert_int_equal(RUN(&out, &err, "wsq", "info", "--json", fp8), 0);
    contains(out, "\"width\":804,\"height\":748,\"ppi\":255");
    contains(out, "\"nistcom\":{\"NIST_COM\":\"9\"");
    free(out);
    free(err);
    /* --ppi overrides the 255 the file declares. */
    const char *png = test_tmpfile("fp-8.png");
    assert_int_equal(RUN(&out, &err, "wsq", "decode", fp8, "-o", png, "--ppi", "500"), 0);
    free(out);
    free(err);
    huella_image *img = NULL, *ref = read_ok("interchange/wsq/fp-8.png");
    huella_error e;
    assert_int_equal(huella_image_read(png, NULL, &img, &e), HUELLA_OK);
    assert_same_pixels(img, ref, "huella wsq decode");
    assert_double_equal(img->ppi_x, 500, 0);
    huella_image_free(img);
    huella_image_free(ref);
    const char *wsq = test_tmpfile("101_1.wsq");
    assert_int_equal(RUN(&out, &err, "wsq", "encode", test_data("finger/fvc2002/DB1_B/101_1.tif"),
                         "-o", wsq, "--bitrate", "1.5", "--ppi", "500", "--json"),
                     0);
    contains(out, "\"width\":388,\"height\":374");
    contains(out, "\"bitrate_target\":1.5");
    contains(out, "\"psnr_db\":");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "wsq", "info", wsq), 0);
    contains(out, "388 x 374, 500 ppi");
    contains(out, "WSQ_BITRATE 1.500000");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "wsq", "info", test_data("interchange/wsq/fp-8.png")), 2);
    contains(err, "SOI");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "wsq", "encode", fp8, "-o", wsq, "--bitrate", "0"), 1);
    contains(err, "--bitrate");
    free(out);
    free(err);
    assert_int_equal(RUN(&out, &err, "wsq", "decode", "--help"), 0);
    contains(out, "usage: huella wsq decode");
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_files_pixel_exact),
        cmocka_unit_test(test_sourceafis_sample_pixel_exact),
        cmocka_unit_test(test_wsq_in_an2k_transactions),
        cmocka_unit_test(test_ppi_is_what_the_file_says),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_encoder_round_trip_on_fingerprints),
        cmocka_unit_test(test_encoder_close_to_reference_size),
        cmocka_unit_test(test_encoder_writes_standard_segments),
        cmocka_unit_test(test_encoder_refuses_bad_arguments),
        cmocka_unit_test(test_truncated_files_name_the_segment),
        cmocka_unit_test(test_corrupted_markers_name_the_segment),
        cmocka_unit_test(test_generic_decoder_and_garbage),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
