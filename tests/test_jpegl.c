/*
 * test_jpegl.c - specification of the lossless JPEG decoder
 * (src/formats/jpegl.c, ITU-T T.81 process 14).
 *
 * There is no reference rendering of the lossless JPEG images in the
 * development data, so the decoder is held to checks that can fail:
 *
 *   - the SOF3 images inside an ANSI/NIST-ITL transaction decode, through
 *     huella_image_decode, to the size their Type-14 record declares, with
 *     the statistics of a fingerprint, and the coded data must end exactly
 *     at EOI (one stray byte before it is an error);
 *   - a small lossless JPEG encoder written here (T.81 H.1: predictors
 *     1-7, point transform, restart intervals, 2-16 bits, 1 or 3
 *     components, interleaved or not) makes files of generated images, and
 *     the decoder must give back exactly their samples (rescaled to 8 bits
 *     as documented);
 *   - damaged files are refused with a message naming lossless JPEG.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

#include "huella/wsq.h"

#include <math.h>

/* ---- spans of SOF3 images in a byte string ---------------------------- */

/* Walk the JPEG at data[at..]: segments by their lengths, coded data up
 * to the next marker that is not RSTn; returns the offset just past EOI,
 * 0 when the structure is broken.  *sof gets the first frame marker. */
static size_t jpeg_span(const uint8_t *data, size_t len, size_t at, unsigned *sof)
{
    size_t p = at + 2;
    *sof = 0;
    while (p + 2 <= len) {
        if (data[p] != 0xff)
            return 0;
        unsigned m = data[p + 1];
        if (m == 0xd9)
            return p + 2;
        if (p + 4 > len)
            return 0;
        size_t n = ((size_t)data[p + 2] << 8) | data[p + 3];
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc && *sof == 0)
            *sof = m;
        p += 2 + n;
        if (m == 0xda) {
            while (p + 1 < len && !(data[p] == 0xff && data[p + 1] != 0 &&
                                    !(data[p + 1] >= 0xd0 && data[p + 1] <= 0xd7)))
                p++;
        }
    }
    return 0;
}

/* The integer after the last "14.0NN:" before `before`. */
static long field_before(const uint8_t *data, size_t before, const char *tag)
{
    size_t n = strlen(tag);
    for (size_t i = before; i-- > n;)
        if (memcmp(data + i - n, tag, n) == 0)
            return strtol((const char *)data + i, NULL, 10);
    return -1;
}

static void test_an2k_lossless_images(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("interchange/an2k/type-10-14-17-piv-index-iris.an2", &len);
    int found = 0;
    for (size_t i = 0; i + 4 < len; i++) {
        if (!(data[i] == 0xff && data[i + 1] == 0xd8 && data[i + 2] == 0xff))
            continue;
        unsigned sof;
        size_t end = jpeg_span(data, len, i, &sof);
        if (end == 0 || sof != 0xc3)
            continue;
        found++;
        size_t n = end - i;
        assert_true(huella_jpeg_is_lossless(data + i, n));
        huella_image *img = decode_ok(huella_image_decode, data + i, n);
        /* The size the Type-14 record declares (14.006 HLL, 14.007 VLL). */
        long hll = field_before(data, i, "14.006:"), vll = field_before(data, i, "14.007:");
        assert_int_equal(img->width, hll);
        assert_int_equal(img->height, vll);
        assert_int_equal(img->source_bits, 8);
        assert_int_equal(img->source_channels, 1);
        assert_double_equal(img->ppi_x, 500, 0); /* JFIF density */
        /* A fingerprint: light background, dark ridges, many grey levels. */
        size_t np = (size_t)img->width * img->height;
        double sum = 0, ssq = 0;
        unsigned hist[256] = {0};
        for (size_t k = 0; k < np; k++) {
            sum += img->pixels[k];
            ssq += (double)img->pixels[k] * img->pixels[k];
            hist[img->pixels[k]]++;
        }
        double mean = sum / (double)np, sd = sqrt(ssq / (double)np - mean * mean);
        int levels = 0;
        for (int v = 0; v < 256; v++)
            levels += hist[v] > 0;
        if (mean < 80 || mean > 240 || sd < 25 || levels < 100)
            fail_msg("image at %zu: mean %.1f, sd %.1f, %d levels", i, mean, sd, levels);
        /* Neighbouring rows agree far more than random rows would. */
        double dv = 0;
        for (size_t y = 1; y < img->height; y++)
            for (size_t x = 0; x < img->width; x++)
                dv += fabs((double)img->pixels[y * img->width + x] -
                           img->pixels[(y - 1) * img->width + x]);
        dv /= (double)(img->height - 1) * img->width;
        assert_true(dv < sd);
        huella_image_free(img);

        /* The coded data ends exactly at EOI: a byte more is refused ... */
        uint8_t *more = malloc(n + 1);
        assert_non_null(more);
        memcpy(more, data + i, n - 2);
        more[n - 2] = 0x00;
        memcpy(more + n - 1, data + end - 2, 2);
        huella_error err;
        expect_reject(huella_image_decode_jpegl, more, n + 1, "lossless JPEG", &err);
        assert_non_null(strstr(err.message, "left over"));
        /* ... and so is every cut. */
        check_truncations(huella_image_decode_jpegl, data + i, n, "lossless JPEG");
        free(more);
        i = end - 1;
    }
    assert_int_equal(found, 2);
    free(data);
}

/* ---- a lossless JPEG encoder for the round trips ----------------------- */

typedef struct jenc {
    huella_buf b;
    uint32_t acc;
    int n;
} jenc;

/* One table for all categories 0-16: seven 3-bit codes, then one code
 * each of 4 to 13 bits. */
static const uint8_t table_bits[17] = {0, 0, 0, 7, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};

static void put_bits(jenc *e, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        e->acc = (e->acc << 1) | ((v >> i) & 1u);
        if (++e->n == 8) {
            huella_buf_append_u8(&e->b, (uint8_t)e->acc);
            if ((e->acc & 0xff) == 0xff)
                huella_buf_append_u8(&e->b, 0);
            e->acc = 0;
            e->n = 0;
        }
    }
}

static void flush_bits(jenc *e)
{
    while (e->n != 0)
        put_bits(e, 1, 1);
}

typedef struct jl_case {
    unsigned width, height, precision, ncomp, pred, pt, restart;
    bool interleaved;
} jl_case;

static int32_t predict(const uint16_t *pl, size_t i, size_t w, unsigned pred, bool first_sample,
                       bool first_line, int32_t initial)
{
    if (first_sample)
        return initial;
    if (first_line)
        return pl[i - 1];
    if (i % w == 0)
        return pl[i - w];
    int32_t a = pl[i - 1], b = pl[i - w], c = pl[i - w - 1];
    switch (pred) {
    case 1:
        return a;
    case 2:
        return b;
    case 3:
        return c;
    case 4:
        return a + b - c;
    case 5:
        return a + ((b - c) >> 1);
    case 6:
        return b + ((a - c) >> 1);
    default:
        return (a + b) >> 1;
    }
}

/* planes hold the samples already shifted right by the point transform. */
static uint8_t *encode(const jl_case *t, uint16_t *const *planes, size_t *len)
{
    uint16_t codes[17];
    uint8_t sizes[17];
    int code = 0, s = 0;
    for (int l = 1; l <= 16; l++) {
        for (int k = 0; k < table_bits[l]; k++, s++) {
            codes[s] = (uint16_t)code++;
            sizes[s] = (uint8_t)l;
        }
        code <<= 1;
    }
    jenc e = {{0}, 0, 0};
    huella_buf_init(&e.b);
    huella_buf *b = &e.b;
    huella_buf_append_u16be(b, 0xffd8);
    huella_buf_append_u16be(b, 0xffc4);
    huella_buf_append_u16be(b, 2 + 1 + 16 + 17);
    huella_buf_append_u8(b, 0x00);
    huella_buf_append(b, table_bits + 1, 16);
    for (uint8_t v = 0; v <= 16; v++)
        huella_buf_append_u8(b, v);
    huella_buf_append_u16be(b, 0xffc3);
    huella_buf_append_u16be(b, (uint16_t)(8 + 3 * t->ncomp));
    huella_buf_append_u8(b, (uint8_t)t->precision);
    huella_buf_append_u16be(b, (uint16_t)t->height);
    huella_buf_append_u16be(b, (uint16_t)t->width);
    huella_buf_append_u8(b, (uint8_t)t->ncomp);
    for (unsigned c = 0; c < t->ncomp; c++) {
        huella_buf_append_u8(b, (uint8_t)(c + 1));
        huella_buf_append_u8(b, 0x11);
        huella_buf_append_u8(b, 0);
    }
    if (t->restart) {
        huella_buf_append_u16be(b, 0xffdd);
        huella_buf_append_u16be(b, 4);
        huella_buf_append_u16be(b, (uint16_t)t->restart);
    }
    unsigned scans = t->interleaved ? 1 : t->ncomp;
    size_t w = t->width, total = (size_t)t->width * t->height;
    int32_t initial = 1 << (t->precision - t->pt - 1);
    for (unsigned sc = 0; sc < scans; sc++) {
        unsigned c0 = t->interleaved ? 0 : sc, nc = t->interleaved ? t->ncomp : 1;
        huella_buf_append_u16be(b, 0xffda);
        huella_buf_append_u16be(b, (uint16_t)(6 + 2 * nc));
        huella_buf_append_u8(b, (uint8_t)nc);
        for (unsigned c = 0; c < nc; c++) {
            huella_buf_append_u8(b, (uint8_t)(c0 + c + 1));
            huella_buf_append_u8(b, 0x00);
        }
        huella_buf_append_u8(b, (uint8_t)t->pred);
        huella_buf_append_u8(b, 0);
        huella_buf_append_u8(b, (uint8_t)t->pt);
        size_t first_line_end = w, restarts = 0;
        bool first = true;
        for (size_t i = 0; i < total; i++) {
            if (t->restart && i > 0 && i % t->restart == 0) {
                flush_bits(&e);
                huella_buf_append_u8(b, 0xff);
                huella_buf_append_u8(b, (uint8_t)(0xd0 + (restarts++ & 7)));
                first = true;
            }
            if (first)
                first_line_end = (i / w + 1) * w;
            for (unsigned c = 0; c < nc; c++) {
                const uint16_t *pl = planes[c0 + c];
                int32_t px = predict(pl, i, w, t->pred, first, i < first_line_end, initial);
                int32_t diff = (int32_t)((pl[i] - px) & 0xffff);
                if (diff >= 32768)
                    diff -= 65536;
                int ssss = 0;
                for (int32_t m = diff < 0 ? -diff : diff; m > 0; m >>= 1)
                    ssss++;
                put_bits(&e, codes[ssss], sizes[ssss]);
                if (ssss > 0 && ssss < 16)
                    put_bits(&e, (uint32_t)(diff < 0 ? diff - 1 : diff) & ((1u << ssss) - 1), ssss);
            }
            first = false;
        }
        flush_bits(&e);
    }
    huella_buf_append_u16be(b, 0xffd9);
    assert_true(b->ok);
    *len = b->len;
    return b->data;
}

static void round_trip(const jl_case *t, uint32_t seed)
{
    size_t n = (size_t)t->width * t->height;
    uint16_t *planes[3] = {NULL, NULL, NULL};
    uint32_t max = (1u << t->precision) - 1;
    for (unsigned c = 0; c < t->ncomp; c++) {
        planes[c] = malloc(n * sizeof(uint16_t));
        assert_non_null(planes[c]);
        for (size_t i = 0; i < n; i++) {
            double x = (double)(i % t->width), y = (double)(i / t->width);
            double v = (0.5 + 0.35 * sin(x * 0.21 + c) * cos(y * 0.13)) * max;
            v += (double)(test_rand(&seed) % (max / 16 + 1)) - (double)max / 32;
            if (i % 97 == 0) /* jumps across the whole range */
                v = (test_rand(&seed) & 1) ? max : 0;
            v = v < 0 ? 0 : v > max ? max : v;
            planes[c][i] = (uint16_t)((uint32_t)v >> t->pt);
        }
    }
    size_t len;
    uint8_t *file = encode(t, planes, &len);
    assert_true(huella_jpeg_is_lossless(file, len));
    huella_image *img = decode_ok(huella_image_decode, file, len);
    assert_int_equal(img->width, t->width);
    assert_int_equal(img->height, t->height);
    assert_int_equal(img->source_bits, t->precision);
    assert_int_equal(img->source_channels, t->ncomp);
    for (size_t i = 0; i < n; i++) {
        unsigned v[3];
        for (unsigned c = 0; c < t->ncomp; c++) {
            uint32_t s = (uint32_t)planes[c][i] << t->pt;
            v[c] = max == 255 ? s : (unsigned)(((uint64_t)s * 255 + max / 2) / max);
        }
        unsigned want = t->ncomp == 1 ? v[0] : huella_luma(v[0], v[1], v[2]);
        if (img->pixels[i] != want)
            fail_msg("%u-bit, %u components, predictor %u, pt %u, restart %u: pixel %zu is %u, "
                     "want %u",
                     t->precision, t->ncomp, t->pred, t->pt, t->restart, i, img->pixels[i], want);
    }
    huella_image_free(img);
    /* Cut anywhere, the file is refused. */
    check_truncations(huella_image_decode_jpegl, file, len, "lossless JPEG");
    free(file);
    for (unsigned c = 0; c < t->ncomp; c++)
        free(planes[c]);
}

static void test_round_trip_predictors(void **state)
{
    (void)state;
    for (unsigned pred = 1; pred <= 7; pred++) {
        jl_case t = {67, 41, 8, 1, pred, 0, 0, true};
        round_trip(&t, pred);
    }
}

static void test_round_trip_precisions_and_point_transform(void **state)
{
    (void)state;
    static const jl_case cases[] = {
        {50, 30, 2, 1, 1, 0, 0, true},  {50, 30, 12, 1, 6, 0, 0, true},
        {50, 30, 12, 1, 4, 2, 0, true}, {64, 33, 16, 1, 4, 0, 0, true},
        {64, 33, 16, 1, 7, 3, 0, true}, {31, 17, 10, 1, 5, 1, 0, true},
        {40, 25, 8, 1, 2, 1, 0, true},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        round_trip(&cases[k], (uint32_t)k + 11);
}

static void test_round_trip_restarts_and_components(void **state)
{
    (void)state;
    static const jl_case cases[] = {
        {45, 20, 8, 1, 1, 0, 45, true},  /* a restart every row */
        {45, 20, 8, 1, 7, 0, 37, true},  /* restarts in mid-row */
        {45, 20, 16, 1, 6, 0, 90, true}, /* every two rows, 16-bit */
        {30, 22, 8, 3, 7, 0, 0, true},   /* colour, interleaved */
        {30, 22, 10, 3, 5, 0, 0, false}, /* colour, a scan per component */
        {30, 22, 8, 3, 4, 0, 30, true},  /* colour with restarts */
        {1, 1, 8, 1, 1, 0, 0, true},     /* a single sample */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        round_trip(&cases[k], (uint32_t)k + 101);
}

static void test_refusals(void **state)
{
    (void)state;
    jl_case t = {20, 10, 8, 1, 1, 0, 0, true};
    uint16_t *plane = calloc(200, sizeof(uint16_t));
    uint16_t *planes[1] = {plane};
    size_t len;
    uint8_t *file = encode(&t, planes, &len);
    huella_error err;
    /* Other frames go to libjpeg, not here. */
    uint8_t *copy = malloc(len);
    memcpy(copy, file, len);
    for (size_t i = 0; i + 1 < len; i++)
        if (copy[i] == 0xff && copy[i + 1] == 0xc3)
            copy[i + 1] = 0xc0;
    assert_false(huella_jpeg_is_lossless(copy, len));
    expect_reject(huella_image_decode_jpegl, copy, len, "lossless JPEG", &err);
    assert_int_equal(err.status, HUELLA_E_UNSUPPORTED);
    /* A predictor out of range. */
    memcpy(copy, file, len);
    for (size_t i = 0; i + 1 < len; i++)
        if (copy[i] == 0xff && copy[i + 1] == 0xda)
            copy[i + 7] = 9;
    expect_reject(huella_image_decode_jpegl, copy, len, "lossless JPEG", &err);
    assert_non_null(strstr(err.message, "predictor 9"));
    /* Limits come before memory. */
    huella_image_limits small = {10, 10, 0};
    huella_image *img = NULL;
    assert_int_equal(huella_image_decode_jpegl(file, len, &small, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    /* Flips in the header keep the contract. */
    check_flips(huella_image_decode_jpegl, file, len, len, "lossless JPEG");
    free(copy);
    free(file);
    free(plane);
    assert_false(huella_jpeg_is_lossless((const uint8_t *)"\xff\xd8\xff", 3));
    assert_false(huella_jpeg_is_lossless(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an2k_lossless_images),
        cmocka_unit_test(test_round_trip_predictors),
        cmocka_unit_test(test_round_trip_precisions_and_point_transform),
        cmocka_unit_test(test_round_trip_restarts_and_components),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
