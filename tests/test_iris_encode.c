/*
 * test_iris_encode.c - from eye image to iris template and back
 * (src/iris/normalize.c, encode.c, template.c): encoding is a pure
 * function, templates survive their byte format exactly, and damaged or
 * forged bytes are refused with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/iris.h"
#include "support.h"

#define REQUIRE_DATA()                                                                             \
    do {                                                                                           \
        if (!test_have_data())                                                                     \
            skip();                                                                                \
    } while (0)

static huella_iris_template *encode_file(const char *relative)
{
    huella_image *img = NULL;
    huella_error err;
    if (huella_image_read(test_data(relative), NULL, &img, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    huella_iris_template *t = NULL;
    if (huella_iris_encode(img, NULL, &t, &err) != HUELLA_OK)
        fail_msg("%s: %s", relative, err.message);
    huella_image_free(img);
    return t;
}

static unsigned popcount(const uint8_t *p, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 8; k++)
            c += (p[i] >> k) & 1u;
    return c;
}

static void encoding_is_deterministic(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_iris_template *a = encode_file("iris/casia-v1/3/003_1_1.jpg");
    huella_iris_template *b = encode_file("iris/casia-v1/3/003_1_1.jpg");
    assert_memory_equal(&a->code, &b->code, sizeof(a->code));
    assert_memory_equal(&a->pupil, &b->pupil, sizeof(a->pupil));
    assert_memory_equal(&a->limbus, &b->limbus, sizeof(a->limbus));
    assert_int_equal(a->quality.score, b->quality.score);
    /* A real eye gives a real code: many valid bits, about half of them 1. */
    unsigned valid = popcount(a->code.mask, HUELLA_IRIS_CODE_BYTES);
    assert_in_range(valid, 600, HUELLA_IRIS_CODE_BITS);
    unsigned ones = 0;
    for (size_t i = 0; i < HUELLA_IRIS_CODE_BYTES; i++)
        ones += popcount((uint8_t[]){(uint8_t)(a->code.code[i] & a->code.mask[i])}, 1);
    assert_in_range(ones, valid / 4, valid * 3 / 4);
    /* Compared with itself: distance below any threshold, no rotation. */
    int shift = 99;
    double d =
        huella_iris_distance(&a->code, &b->code, HUELLA_IRIS_DEFAULT_MAX_SHIFT, &shift, NULL);
    assert_true(d < HUELLA_IRIS_THRESHOLD_FMR1000000);
    assert_int_equal(shift, 0);
    assert_in_range(a->quality.score, 1, 100);
    assert_true(a->quality.usable > 0 && a->quality.usable <= 1);
    huella_iris_template_free(a);
    huella_iris_template_free(b);
}

static void template_bytes_round_trip(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_iris_template *t = encode_file("iris/mmu1/2/left/bryanl1.bmp");
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(huella_iris_template_encode(t, &bytes, &len, NULL), HUELLA_OK);
    assert_int_equal(len, HUELLA_IRIS_TEMPLATE_BYTES);
    assert_memory_equal(bytes, "HIRS", 4);
    assert_int_equal(bytes[4] << 8 | bytes[5], HUELLA_IRIS_TEMPLATE_VERSION);
    huella_iris_template *u = NULL;
    huella_error err;
    if (huella_iris_template_decode(bytes, len, &u, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    assert_memory_equal(&t->code, &u->code, sizeof(t->code));
    assert_memory_equal(t->eyelid, u->eyelid, sizeof(t->eyelid));
    assert_int_equal(t->width, u->width);
    assert_int_equal(t->height, u->height);
    assert_int_equal(t->quality.score, u->quality.score);
    for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++) {
        assert_double_equal(t->pupil.radius[i], u->pupil.radius[i], 1.0 / 32);
        assert_double_equal(t->limbus.radius[i], u->limbus.radius[i], 1.0 / 32);
    }
    assert_double_equal(t->limbus.cx, u->limbus.cx, 1.0 / 512);
    /* What was read writes the same bytes again. */
    uint8_t *again = NULL;
    size_t len2 = 0;
    assert_int_equal(huella_iris_template_encode(u, &again, &len2, NULL), HUELLA_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(again, bytes, len);
    free(again);
    free(bytes);
    huella_iris_template_free(t);
    huella_iris_template_free(u);
}

/* Decode a private copy of exactly len bytes and insist on refusal with a
 * message that contains want. */
static void expect_refused(const uint8_t *data, size_t len, const char *want)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    huella_iris_template *t = (huella_iris_template *)(uintptr_t)1;
    huella_error err;
    huella_error_clear(&err);
    assert_int_not_equal(huella_iris_template_decode(copy, len, &t, &err), HUELLA_OK);
    assert_null(t);
    if (strstr(err.message, want) == NULL)
        fail_msg("message '%s' does not say '%s'", err.message, want);
    free(copy);
}

/* Recompute the trailing CRC-32 after a deliberate change, so that the
 * field checks (not the checksum) must catch it. */
static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void reseal(uint8_t *b, size_t len)
{
    uint32_t c = crc32(b, len - 4);
    b[len - 4] = (uint8_t)(c >> 24);
    b[len - 3] = (uint8_t)(c >> 16);
    b[len - 2] = (uint8_t)(c >> 8);
    b[len - 1] = (uint8_t)c;
}

static void corrupt_template_bytes_are_refused(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_iris_template *t = encode_file("iris/casia-v1/4/004_2_1.jpg");
    uint8_t *good = NULL;
    size_t len = 0;
    assert_int_equal(huella_iris_template_encode(t, &good, &len, NULL), HUELLA_OK);
    huella_iris_template_free(t);
    uint8_t *b = malloc(len);
    assert_non_null(b);

    expect_refused(good, 0, "magic");
    expect_refused((const uint8_t *)"GIF89a", 6, "magic");
    expect_refused(good, len - 1, "bytes");
    expect_refused(good, 100, "bytes");
    /* One flipped code bit: the checksum catches it. */
    memcpy(b, good, len);
    b[400] ^= 0x10;
    expect_refused(b, len, "checksum");
    /* A newer version is unsupported, not malformed. */
    memcpy(b, good, len);
    b[5] = HUELLA_IRIS_TEMPLATE_VERSION + 1;
    expect_refused(b, len, "version 4");
    memcpy(b, good, len);
    b[5] = 0;
    expect_refused(b, len, "version 0");
    /* Versions 1 and 2 (same bytes, single-scale encoders) are refused
     * with a message that says to encode again, not compared wrongly. */
    for (int v = 1; v <= 2; v++) {
        memcpy(b, good, len);
        b[5] = (uint8_t)v;
        reseal(b, len);
        expect_refused(b, len, "encode the image again");
    }
    /* Forged fields with a valid checksum. */
    memcpy(b, good, len);
    b[10] = 101;
    reseal(b, len);
    expect_refused(b, len, "quality");
    memcpy(b, good, len);
    b[11] = 1;
    reseal(b, len);
    expect_refused(b, len, "reserved");
    memcpy(b, good, len);
    b[6] = b[7] = 0;
    reseal(b, len);
    expect_refused(b, len, "image size");
    memcpy(b, good, len);
    memset(b + 20, 0xff, 4); /* pupil centre x far outside */
    reseal(b, len);
    expect_refused(b, len, "centre");
    memcpy(b, good, len);
    memset(b + 28, 0, 2); /* first pupil radius 0 */
    reseal(b, len);
    expect_refused(b, len, "radius");
    memcpy(b, good, len);
    for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++) { /* pupil larger than limbus */
        b[28 + 2 * i] = 0x7f;
        b[29 + 2 * i] = 0xff;
    }
    reseal(b, len);
    expect_refused(b, len, "pupil");
    /* Extra bytes after a valid record. */
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, good, len);
    longer[len] = 0;
    expect_refused(longer, len + 1, "bytes");
    free(longer);
    free(b);
    free(good);
}

static void blank_images_fail_to_enrol(void **state)
{
    (void)state;
    huella_image *img = NULL;
    assert_int_equal(huella_image_new(320, 240, &img, NULL), HUELLA_OK);
    memset(img->pixels, 200, 320 * 240);
    huella_iris_template *t = (huella_iris_template *)(uintptr_t)1;
    huella_error err;
    huella_error_clear(&err);
    assert_int_equal(huella_iris_encode(img, NULL, &t, &err), HUELLA_E_INPUT);
    assert_null(t);
    assert_true(err.message[0] != '\0');
    huella_image_free(img);
    huella_iris_template_free(NULL); /* a no-op */
}

static void asking_for_more_clear_iris_refuses_occluded_eyes(void **state)
{
    (void)state;
    REQUIRE_DATA();
    huella_image *img = NULL;
    assert_int_equal(huella_image_read(test_data("iris/casia-v1/42/042_2_1.jpg"), NULL, &img, NULL),
                     HUELLA_OK);
    huella_iris_options strict = {.min_usable = 0.99};
    huella_iris_template *t = NULL;
    huella_error err;
    assert_int_equal(huella_iris_encode(img, &strict, &t, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "clear"));
    assert_int_equal(huella_iris_encode(img, NULL, &t, &err), HUELLA_OK);
    assert_true(t->quality.usable < 0.99);
    huella_iris_template_free(t);
    huella_image_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encoding_is_deterministic),
        cmocka_unit_test(template_bytes_round_trip),
        cmocka_unit_test(corrupt_template_bytes_are_refused),
        cmocka_unit_test(blank_images_fail_to_enrol),
        cmocka_unit_test(asking_for_more_clear_iris_refuses_occluded_eyes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
