/*
 * image_support.h - helpers shared by the image decoder tests
 * (test_image.c, test_png.c, test_jpeg.c, ...): loading development data,
 * damaging it, and the contract every decoder must keep on bad input:
 * a non-OK status, no image, and a message that names the format.
 *
 * Include after <cmocka.h>.  Functions are static inline so that a test
 * program that does not use one of them compiles without warnings.
 */
#ifndef HUELLA_TEST_IMAGE_SUPPORT_H
#define HUELLA_TEST_IMAGE_SUPPORT_H

#include "huella/image.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef huella_status (*image_decoder)(const uint8_t *data, size_t len,
                                       const huella_image_limits *limits, huella_image **out,
                                       huella_error *err);

#define REQUIRE_DATA()                                                                             \
    do {                                                                                           \
        if (!test_have_data())                                                                     \
            skip();                                                                                \
    } while (0)

/* A file of the development data; fails the test if it is missing. */
static inline uint8_t *load_data(const char *relative, size_t *len)
{
    uint8_t *d = test_read_file(test_data(relative), len);
    if (d == NULL)
        fail_msg("cannot read %s", test_data(relative));
    return d;
}

/* Decode and insist on success, with a readable failure. */
static inline huella_image *decode_ok(image_decoder decode, const uint8_t *data, size_t len)
{
    huella_image *img = NULL;
    huella_error err;
    huella_error_clear(&err);
    huella_status st = decode(data, len, NULL, &img, &err);
    if (st != HUELLA_OK)
        fail_msg("decode failed: %s", err.message);
    assert_non_null(img);
    assert_non_null(img->pixels);
    assert_true(img->width > 0 && img->height > 0);
    return img;
}

static inline huella_image *read_ok(const char *relative)
{
    huella_image *img = NULL;
    huella_error err;
    huella_error_clear(&err);
    if (huella_image_read(test_data(relative), NULL, &img, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    return img;
}

/* Decode a private copy of exactly len bytes (so that ASan sees any read
 * past the end) and insist on failure with a message naming the format.
 * Returns the status. */
static inline huella_status expect_reject(image_decoder decode, const uint8_t *data, size_t len,
                                          const char *format_name, huella_error *err_out)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    huella_image *img = (huella_image *)(uintptr_t)1; /* must be reset to NULL */
    huella_error err;
    huella_error_clear(&err);
    huella_status st = decode(copy, len, NULL, &img, &err);
    free(copy);
    if (st == HUELLA_OK) {
        huella_image_free(img);
        fail_msg("%s: %zu damaged bytes decoded without an error", format_name, len);
    }
    assert_null(img);
    assert_int_equal(err.status, st);
    if (err.message[0] == '\0' || strstr(err.message, format_name) == NULL)
        fail_msg("message \"%s\" does not name %s", err.message, format_name);
    if (err_out != NULL)
        *err_out = err;
    return st;
}

/* Decode a private copy and accept either outcome, but check the contract
 * of each: a consistent image, or no image and a message naming the
 * format.  Returns true when it decoded. */
static inline bool decode_any(image_decoder decode, const uint8_t *data, size_t len,
                              const char *format_name)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    huella_image *img = NULL;
    huella_error err;
    huella_error_clear(&err);
    huella_status st = decode(copy, len, NULL, &img, &err);
    free(copy);
    if (st == HUELLA_OK) {
        assert_non_null(img);
        assert_true(img->width > 0 && img->height > 0);
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)img->width * img->height; i++)
            sum += img->pixels[i];
        (void)sum;
        huella_image_free(img);
        return true;
    }
    assert_null(img);
    if (err.message[0] == '\0' || strstr(err.message, format_name) == NULL)
        fail_msg("message \"%s\" does not name %s", err.message, format_name);
    return false;
}

/* Every proper prefix of a sample of lengths must be rejected. */
static inline void check_truncations(image_decoder decode, const uint8_t *data, size_t len,
                                     const char *format_name)
{
    size_t cuts[] = {0,       1,       2,           3,         4,        8,       12,
                     16,      24,      32,          64,        100,      200,     1000,
                     len / 4, len / 2, 3 * len / 4, len - 100, len - 16, len - 2, len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        if (cuts[i] < len)
            expect_reject(decode, data, cuts[i], format_name, NULL);
}

/* Flip bytes in the first `header` bytes, one at a time, with several
 * patterns: the decoder may accept or refuse each copy but must keep the
 * contract.  Returns how many copies were refused. */
static inline unsigned check_flips(image_decoder decode, const uint8_t *data, size_t len,
                                   size_t header, const char *format_name)
{
    static const uint8_t patterns[] = {0xff, 0x01, 0x80, 0x55};
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    unsigned refused = 0;
    size_t n = header < len ? header : len;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof(patterns); k++) {
            memcpy(copy, data, len);
            copy[i] ^= patterns[k];
            if (!decode_any(decode, copy, len, format_name))
                refused++;
        }
    }
    free(copy);
    return refused;
}

/* Mean absolute difference of two images of the same size. */
static inline double mean_abs_diff(const huella_image *a, const huella_image *b)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    size_t n = (size_t)a->width * a->height;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += abs((int)a->pixels[i] - (int)b->pixels[i]);
    return sum / (double)n;
}

static inline int max_abs_diff(const huella_image *a, const huella_image *b)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    size_t n = (size_t)a->width * a->height;
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a->pixels[i] - (int)b->pixels[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* Offset of the JPEG 2000 stream in an ISO/IEC 19794 record: its JP2
 * signature box, else its SOC+SIZ markers; len if neither is there. */
static inline size_t find_jp2(const uint8_t *data, size_t len)
{
    static const uint8_t sig[8] = {0, 0, 0, 12, 'j', 'P', ' ', ' '};
    static const uint8_t soc[4] = {0xff, 0x4f, 0xff, 0x51};
    for (size_t i = 0; i + 8 <= len; i++)
        if (memcmp(data + i, sig, 8) == 0)
            return i;
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(data + i, soc, 4) == 0)
            return i;
    return len;
}

/* Deterministic pseudo-random bytes for synthetic images. */
static inline uint32_t test_rand(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

#endif
