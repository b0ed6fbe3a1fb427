/*
 * test_finger_template.c - the minutiae template model and the internal
 * "huella" template format (src/finger/template.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/finger.h"

static huella_finger_template *sample_template(void)
{
    huella_finger_template *t;
    assert_int_equal(huella_finger_template_new(&t, NULL), HUELLA_OK);
    t->width = 388;
    t->height = 374;
    t->finger_position = 2;
    t->finger_quality = 80;
    for (int i = 0; i < 40; i++) {
        huella_minutia m = {(float)(10 + i * 7) + 0.25f, (float)(300 - i * 5) + 0.5f,
                            (float)i * 0.15f, (uint8_t)(i % 3), (uint8_t)(i * 2)};
        assert_int_equal(huella_finger_template_add(t, &m, NULL), HUELLA_OK);
    }
    t->n_cores = 1;
    t->cores[0] = (huella_finger_singular){150.0f, 160.0f, 1, {1.0f, 0, 0}};
    t->n_deltas = 1;
    t->deltas[0] = (huella_finger_singular){100.0f, 250.0f, 3, {0.5f, 2.5f, 4.5f}};
    return t;
}

static void encode_then_decode_gives_the_same_template(void **state)
{
    (void)state;
    huella_finger_template *t = sample_template();
    uint8_t *bytes;
    size_t len;
    assert_int_equal(huella_finger_template_encode(t, &bytes, &len, NULL), HUELLA_OK);
    /* 20-byte header, 8 bytes per minutia, 2 counts, core 7, delta 11. */
    assert_int_equal(len, 20 + 40 * 8 + 2 + 7 + 11);
    assert_memory_equal(bytes, "HFT\0\1", 5);
    huella_finger_template *d;
    assert_int_equal(huella_finger_template_decode(bytes, len, &d, NULL), HUELLA_OK);
    assert_int_equal(d->n_minutiae, 40);
    assert_int_equal(d->width, 388);
    assert_int_equal(d->height, 374);
    assert_int_equal(d->resolution_x, HUELLA_FINGER_PPCM_500);
    assert_int_equal(d->finger_position, 2);
    for (size_t i = 0; i < 40; i++) {
        assert_float_equal(d->minutiae[i].x, t->minutiae[i].x, 0.125);
        assert_float_equal(d->minutiae[i].y, t->minutiae[i].y, 0.125);
        assert_float_equal(d->minutiae[i].direction, t->minutiae[i].direction, 1e-4);
        assert_int_equal(d->minutiae[i].type, t->minutiae[i].type);
        assert_int_equal(d->minutiae[i].quality, t->minutiae[i].quality);
    }
    assert_int_equal(d->n_cores, 1);
    assert_int_equal(d->n_deltas, 1);
    assert_int_equal(d->deltas[0].n_angles, 3);
    assert_float_equal(d->deltas[0].angles[2], 4.5, 1e-4);
    /* Encoding the decoded template gives the same bytes. */
    uint8_t *again;
    size_t len2;
    assert_int_equal(huella_finger_template_encode(d, &again, &len2, NULL), HUELLA_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(again, bytes, len);
    free(again);
    free(bytes);
    huella_finger_template_free(d);
    huella_finger_template_free(t);
}

static void expect_decode_error(const uint8_t *data, size_t len, const char *needle)
{
    huella_finger_template *d = (huella_finger_template *)1;
    huella_error err;
    huella_error_clear(&err);
    huella_status st = huella_finger_template_decode(data, len, &d, &err);
    assert_int_not_equal(st, HUELLA_OK);
    assert_null(d);
    if (strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, needle);
}

static void malformed_encodings_are_refused_with_the_field_named(void **state)
{
    (void)state;
    huella_finger_template *t = sample_template();
    uint8_t *bytes;
    size_t len;
    assert_int_equal(huella_finger_template_encode(t, &bytes, &len, NULL), HUELLA_OK);
    uint8_t *copy = malloc(len + 1);
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < len; cut++)
        expect_decode_error(bytes, cut, "huella template");
    /* Trailing bytes. */
    memcpy(copy, bytes, len);
    copy[len] = 0;
    expect_decode_error(copy, len + 1, "unexpected bytes");
    /* Magic, version, flags. */
    memcpy(copy, bytes, len);
    copy[0] = 'X';
    expect_decode_error(copy, len, "magic");
    memcpy(copy, bytes, len);
    copy[4] = 2;
    expect_decode_error(copy, len, "version 2");
    memcpy(copy, bytes, len);
    copy[5] = 1;
    expect_decode_error(copy, len, "reserved flags");
    /* A minutia count larger than the data. */
    memcpy(copy, bytes, len);
    copy[18] = 0;
    copy[19] = 200;
    expect_decode_error(copy, len, "200 minutiae declared");
    copy[18] = 1;
    expect_decode_error(copy, len, "at most 255");
    /* An unknown minutia type and a quality above 100. */
    memcpy(copy, bytes, len);
    copy[20 + 6] = 3;
    expect_decode_error(copy, len, "unknown type 3");
    memcpy(copy, bytes, len);
    copy[20 + 7] = 101;
    expect_decode_error(copy, len, "quality 101");
    free(copy);
    free(bytes);
    huella_finger_template_free(t);
}

static void add_refuses_values_the_formats_cannot_carry(void **state)
{
    (void)state;
    huella_finger_template *t;
    assert_int_equal(huella_finger_template_new(&t, NULL), HUELLA_OK);
    huella_error err;
    huella_minutia bad[] = {
        {-1.0f, 10.0f, 0.0f, 1, 50},  {10.0f, 16384.0f, 0.0f, 1, 50}, {NAN, 10.0f, 0.0f, 1, 50},
        {10.0f, 10.0f, 6.3f, 1, 50},  {10.0f, 10.0f, -0.1f, 1, 50},   {10.0f, 10.0f, 1.0f, 3, 50},
        {10.0f, 10.0f, 1.0f, 1, 101},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(huella_finger_template_add(t, &bad[i], &err), HUELLA_E_INPUT);
        assert_non_null(strstr(err.message, "minutia 0"));
    }
    huella_minutia ok = {1.0f, 1.0f, 1.0f, HUELLA_MINUTIA_ENDING, 0};
    for (int i = 0; i < HUELLA_FINGER_MAX_MINUTIAE; i++)
        assert_int_equal(huella_finger_template_add(t, &ok, NULL), HUELLA_OK);
    assert_int_equal(huella_finger_template_add(t, &ok, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "at most 255"));
    huella_finger_template *c;
    assert_int_equal(huella_finger_template_copy(t, &c, NULL), HUELLA_OK);
    assert_int_equal(c->n_minutiae, 255);
    assert_ptr_not_equal(c->minutiae, t->minutiae);
    huella_finger_template_free(c);
    huella_finger_template_free(t);
    huella_finger_template_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_then_decode_gives_the_same_template),
        cmocka_unit_test(malformed_encodings_are_refused_with_the_field_named),
        cmocka_unit_test(add_refuses_values_the_formats_cannot_carry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
