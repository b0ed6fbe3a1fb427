/*
 * test_iris_iso.c - ISO/IEC 19794-6:2011 iris image records
 * (src/iris/iso19794_6.c): the MOSIP records parse with sane fields and
 * their JPEG 2000 images decode, reading then writing gives back the same
 * bytes, and truncated or corrupted records are refused with a message
 * naming the field.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/image.h"
#include "huella/iris.h"
#include "support.h"

static const char *const records[] = {
    "interchange/iso19794-mosip/Auth/Left_Iris.iso",
    "interchange/iso19794-mosip/Auth/Right_Iris.iso",
    "interchange/iso19794-mosip/Auth/Iris_UNKNOWN.iso",
    "interchange/iso19794-mosip/Registration/Left_Iris.iso",
    "interchange/iso19794-mosip/Registration/Right_Iris.iso",
};
#define N_RECORDS (sizeof records / sizeof records[0])

static uint8_t *load(size_t i, size_t *len)
{
    uint8_t *data = test_read_file(test_data(records[i]), len);
    if (!data)
        fail_msg("cannot read %s", records[i]);
    return data;
}

static void mosip_records_parse(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    for (size_t i = 0; i < N_RECORDS; i++) {
        size_t len;
        uint8_t *data = load(i, &len);
        huella_iris_record *rec = NULL;
        huella_error err;
        huella_error_clear(&err);
        if (huella_iris_record_read(data, len, &rec, &err) != HUELLA_OK)
            fail_msg("%s: %s", records[i], err.message);
        assert_int_equal(rec->n_representations, 1);
        assert_int_equal(rec->eyes, 1);
        assert_int_equal(rec->certification, 0);
        const huella_iris_representation *rep = &rec->representations[0];
        bool auth = strstr(records[i], "Auth/") != NULL;
        /* Captured 2023-05-30 (authentication) and 2022-12-22 (registration). */
        assert_int_equal(rep->year, auth ? 2023 : 2022);
        assert_int_equal(rep->month, auth ? 5 : 12);
        assert_int_equal(rep->day, auth ? 30 : 22);
        assert_int_equal(rep->n_quality, 1);
        assert_true(rep->quality[0].score <= 100);
        assert_int_equal(rep->number, 1);
        int eye = strstr(records[i], "Left")    ? HUELLA_IRIS_EYE_LEFT
                  : strstr(records[i], "Right") ? HUELLA_IRIS_EYE_RIGHT
                                                : HUELLA_IRIS_EYE_UNDEFINED;
        assert_int_equal(rep->eye, eye);
        assert_int_equal(rep->image_type,
                         auth ? HUELLA_IRIS_IMAGE_CROPPED_AND_MASKED : HUELLA_IRIS_IMAGE_CROPPED);
        assert_int_equal(rep->image_format, HUELLA_IRIS_FORMAT_MONO_JPEG2000);
        assert_int_equal(rep->compression_history,
                         auth ? HUELLA_IRIS_COMPRESSION_LOSSY : HUELLA_IRIS_COMPRESSION_LOSSLESS);
        assert_int_equal(rep->bit_depth, 8);
        assert_int_equal(rep->roll_angle, 0xffff);
        assert_true(rep->width >= 300 && rep->width <= 700);
        assert_true(rep->height >= 200 && rep->height <= 500);
        assert_int_equal(rep->image_len + 16 + 57, len);
        /* The embedded image is JPEG 2000 of the declared size. */
        huella_image *img = NULL;
        if (huella_iris_representation_image(rep, &img, &err) != HUELLA_OK)
            fail_msg("%s: %s", records[i], err.message);
        assert_int_equal(img->width, rep->width);
        assert_int_equal(img->height, rep->height);
        assert_int_equal(img->format, HUELLA_IMAGE_JP2);
        huella_image_free(img);
        huella_iris_record_free(rec);
        free(data);
    }
}

static void round_trip_is_byte_exact(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    for (size_t i = 0; i < N_RECORDS; i++) {
        size_t len, out_len;
        uint8_t *data = load(i, &len), *out = NULL;
        huella_iris_record *rec;
        assert_int_equal(huella_iris_record_read(data, len, &rec, NULL), HUELLA_OK);
        assert_int_equal(huella_iris_record_write(rec, &out, &out_len, NULL), HUELLA_OK);
        assert_int_equal(out_len, len);
        assert_memory_equal(out, data, len);
        huella_iris_record_free(rec);
        free(out);
        free(data);
    }
}

static void two_eyes_in_one_record(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t l1, l2;
    uint8_t *left = load(0, &l1), *right = load(1, &l2);
    huella_iris_record *a, *b;
    assert_int_equal(huella_iris_record_read(left, l1, &a, NULL), HUELLA_OK);
    assert_int_equal(huella_iris_record_read(right, l2, &b, NULL), HUELLA_OK);
    huella_iris_representation reps[2] = {a->representations[0], b->representations[0]};
    reps[1].number = 2;
    huella_iris_record both = {0, 2, 2, reps};
    uint8_t *out;
    size_t len;
    assert_int_equal(huella_iris_record_write(&both, &out, &len, NULL), HUELLA_OK);
    assert_int_equal(len, l1 + l2 - 16);
    huella_iris_record *c;
    assert_int_equal(huella_iris_record_read(out, len, &c, NULL), HUELLA_OK);
    assert_int_equal(c->n_representations, 2);
    assert_int_equal(c->representations[0].eye, HUELLA_IRIS_EYE_LEFT);
    assert_int_equal(c->representations[1].eye, HUELLA_IRIS_EYE_RIGHT);
    assert_int_equal(c->representations[1].image_len, b->representations[0].image_len);
    huella_iris_record_free(c);
    free(out);
    huella_iris_record_free(a);
    huella_iris_record_free(b);
    free(left);
    free(right);
}

/* Read must fail with HUELLA_E_INPUT (or UNSUPPORTED) and a message
 * containing `words`. */
static void refused(const uint8_t *data, size_t len, const char *words)
{
    huella_iris_record *rec = (huella_iris_record *)(uintptr_t)1;
    huella_error err;
    huella_error_clear(&err);
    huella_status st = huella_iris_record_read(data, len, &rec, &err);
    if (st == HUELLA_OK)
        fail_msg("accepted a bad record (expected \"%s\")", words);
    assert_null(rec);
    if (!strstr(err.message, words))
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, words);
}

static void truncated_records_are_refused(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *data = load(0, &len);
    /* Every prefix is refused, never read past. */
    for (size_t n = 0; n < len; n += (n < 100 ? 1 : 397)) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, data, n);
        huella_iris_record *rec;
        huella_error err;
        huella_error_clear(&err);
        assert_int_not_equal(huella_iris_record_read(copy, n, &rec, &err), HUELLA_OK);
        assert_true(err.message[0] != '\0');
        free(copy);
    }
    refused(data, 10, "general header");
    refused(data, 3, "too short");
    /* A truncated record whose lengths were fixed up still misses bytes. */
    uint8_t *cut = malloc(len);
    memcpy(cut, data, len);
    huella_store_u32be(cut + 8, 44);
    refused(cut, 44, "cannot fit");
    huella_store_u32be(cut + 8, 100);
    refused(cut, 100, "representation length 7067 does not fit");
    free(cut);
    free(data);
}

static void corrupted_fields_are_named(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *data = load(0, &len);
    uint8_t *b = malloc(len);
    static const struct {
        size_t offset;
        uint8_t value;
        const char *words;
    } cases[] = {
        {0, 'X', "format identifier"},
        {5, '1', "version"},
        {11, 0x00, "record length"},
        {13, 0x00, "number of representations is 0"},
        {14, 0x01, "certification flag"},
        {15, 0x03, "number of eyes"},
        {0x13, 0x00, "representation length"},
        {0x16, 13, "capture month"},
        {0x17, 0, "capture day"},
        {0x18, 24, "capture hour"},
        {0x1d, 7, "capture device technology"},
        {0x22, 60, "does not match representation length"},
        {0x23, 101, "score"},
        {0x2a, 3, "eye label"},
        {0x2b, 4, "image type"},
        {0x2c, 6, "image format"},
        {0x2d, 0x83, "horizontal orientation"},
        {0x2d, 0x8c, "vertical orientation"},
        {0x2d, 0xc0, "compression history"},
        {0x2d, 0x90, "reserved"},
        {0x2e, 0x00, "image size"},
        {0x32, 0, "bit depth"},
        {0x48, 0x61, "image length"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, data, len);
        if (cases[i].offset == 0x2e)
            b[0x2f] = 0; /* width 0 */
        b[cases[i].offset] = cases[i].value;
        refused(b, len, cases[i].words);
    }
    /* Trailing bytes after the last representation. */
    uint8_t *longer = malloc(len + 3);
    memcpy(longer, data, len);
    memset(longer + len, 0, 3);
    huella_store_u32be(longer + 8, (uint32_t)len + 3);
    refused(longer, len + 3, "after the last representation");
    /* A forged representation count cannot make us allocate much. */
    memcpy(b, data, len);
    huella_store_u16be(b + 12, 0xffff);
    refused(b, len, "cannot fit");
    free(longer);
    free(b);
    free(data);
}

static void writer_refuses_bad_fields(void **state)
{
    (void)state;
    uint8_t pixels[4] = {1, 2, 3, 4};
    huella_iris_representation rep;
    memset(&rep, 0, sizeof rep);
    rep.year = 2024;
    rep.month = 2;
    rep.day = 29;
    rep.millisecond = 0xffff;
    rep.eye = HUELLA_IRIS_EYE_RIGHT;
    rep.image_type = HUELLA_IRIS_IMAGE_VGA;
    rep.image_format = HUELLA_IRIS_FORMAT_MONO_RAW;
    rep.width = 2;
    rep.height = 2;
    rep.bit_depth = 8;
    rep.image = pixels;
    rep.image_len = 4;
    huella_iris_record rec = {0, 1, 1, &rep};
    uint8_t *out;
    size_t len;
    huella_error err;
    assert_int_equal(huella_iris_record_write(&rec, &out, &len, &err), HUELLA_OK);
    assert_int_equal(len, 16 + 52 + 4);
    huella_iris_record *back;
    assert_int_equal(huella_iris_record_read(out, len, &back, &err), HUELLA_OK);
    huella_image *img;
    assert_int_equal(huella_iris_representation_image(&back->representations[0], &img, &err),
                     HUELLA_OK);
    assert_int_equal(img->pixels[3], 4);
    huella_image_free(img);
    huella_iris_record_free(back);
    free(out);
    rep.eye = 9;
    assert_int_equal(huella_iris_record_write(&rec, &out, &len, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "eye label"));
    rep.eye = 1;
    rep.image_len = 0;
    assert_int_equal(huella_iris_record_write(&rec, &out, &len, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "image length"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mosip_records_parse),
        cmocka_unit_test(round_trip_is_byte_exact),
        cmocka_unit_test(two_eyes_in_one_record),
        cmocka_unit_test(truncated_records_are_refused),
        cmocka_unit_test(corrupted_fields_are_named),
        cmocka_unit_test(writer_refuses_bad_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
