/*
 * test_finger_iso.c - ISO/IEC 19794-2:2005 and ANSI INCITS 378-2004
 * finger minutiae records (src/finger/iso.c): the shared records parse
 * with sane fields, writing then reading gives the same minutiae, and
 * every malformed record is refused with a message naming the field.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/finger.h"

#define TEST_PI 3.14159265358979323846
#include "support.h"

typedef void (*file_fn)(const char *path, const uint8_t *data, size_t len, void *ctx);

/* Call fn for each file in data directory REL whose name ends with SUFFIX
 * (and starts with PREFIX); returns how many. */
static int each_file(const char *rel, const char *prefix, const char *suffix, file_fn fn, void *ctx)
{
    const char *dir = test_data(rel);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), ls = strlen(suffix);
        if (l < ls || strcmp(e->d_name + l - ls, suffix) != 0 ||
            strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *data = test_read_file(path, &len);
        assert_non_null(data);
        fn(path, data, len, ctx);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

static huella_finger_record *must_read(const char *path, const uint8_t *data, size_t len,
                                       huella_finger_format fmt)
{
    huella_finger_record *rec;
    huella_error err;
    huella_error_clear(&err);
    if (huella_finger_record_read(data, len, fmt, &rec, &err) != HUELLA_OK)
        fail_msg("%s: %s", path, err.message);
    return rec;
}

static void check_fvc(const char *path, const uint8_t *data, size_t len, void *ctx)
{
    (void)ctx;
    huella_finger_record *rec = must_read(path, data, len, HUELLA_FINGER_FORMAT_AUTO);
    assert_int_equal(rec->format, HUELLA_FINGER_FORMAT_ISO_2005);
    assert_int_equal(rec->n_views, 1);
    assert_int_equal(rec->trailing_bytes, 0);
    const huella_finger_template *t = rec->views[0];
    /* The README: 300 x 400 px at 197 px/cm for every database. */
    assert_int_equal(t->resolution_x, 197);
    assert_int_equal(t->resolution_y, 197);
    assert_in_range(t->width, 299, 300);
    assert_in_range(t->height, 399, 400);
    assert_in_range(t->n_minutiae, 5, 120);
    for (size_t i = 0; i < t->n_minutiae; i++) {
        assert_true(t->minutiae[i].x >= 0 && t->minutiae[i].x < 1000);
        assert_true(t->minutiae[i].direction >= 0 && t->minutiae[i].direction < 6.2832f);
    }
    /* Writing it again gives the very same bytes. */
    uint8_t *out;
    size_t out_len;
    const huella_finger_template *views[] = {t};
    assert_int_equal(
        huella_finger_record_write(views, 1, HUELLA_FINGER_FORMAT_ISO_2005, &out, &out_len, NULL),
        HUELLA_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, data, len);
    free(out);
    huella_finger_record_free(rec);
}

static void fvc2002_records_parse_and_write_back_identically(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *dbs[] = {"finger/fvc2002/DB1_B", "finger/fvc2002/DB2_B", "finger/fvc2002/DB3_B",
                         "finger/fvc2002/DB4_B"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(each_file(dbs[i], "", ".iso", check_fvc, NULL), 80);
}

static void check_other(const char *path, const uint8_t *data, size_t len, void *ctx)
{
    bool padded = ctx != NULL;
    huella_finger_record *rec = must_read(path, data, len, HUELLA_FINGER_FORMAT_AUTO);
    assert_int_equal(rec->format, HUELLA_FINGER_FORMAT_ISO_2005);
    assert_true(rec->n_views >= 1);
    assert_in_range(rec->views[0]->n_minutiae, 5, 150);
    if (padded)
        assert_true(rec->trailing_bytes > 0 && rec->declared_length + rec->trailing_bytes == len);
    else
        assert_int_equal(rec->trailing_bytes, 0);
    huella_finger_record_free(rec);
}

static void fingerjet_and_sourceafis_records_parse(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    assert_int_equal(each_file("finger/fjfx-samples/templates-iso", "", ".ist", check_other, NULL),
                     9);
    /* SourceAFIS' files are padded after the declared length: accepted. */
    int padded = 1;
    assert_int_equal(each_file("finger/sourceafis-samples", "iso-", ".dat", check_other, &padded),
                     3);
}

static void check_invalid(const char *path, const uint8_t *data, size_t len, void *ctx)
{
    (void)ctx;
    huella_finger_record *rec = (huella_finger_record *)1;
    huella_error err;
    huella_error_clear(&err);
    assert_int_equal(huella_finger_record_read(data, len, HUELLA_FINGER_FORMAT_AUTO, &rec, &err),
                     HUELLA_E_INPUT);
    assert_null(rec);
    if (strstr(err.message, "record length") == NULL)
        fail_msg("%s: unclear message \"%s\"", path, err.message);
    huella_finger_template *t = (huella_finger_template *)1;
    assert_int_not_equal(huella_finger_template_load(data, len, &t, NULL), HUELLA_OK);
    assert_null(t);
}

static void every_invalid_template_is_refused(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    assert_int_equal(each_file("finger/invalid-templates", "", ".iso", check_invalid, NULL), 3);
}

static uint8_t *load(const char *rel, size_t *len)
{
    uint8_t *data = test_read_file(test_data(rel), len);
    assert_non_null(data);
    return data;
}

static void same_minutiae(const huella_finger_template *a, const huella_finger_template *b,
                          double angle_tol)
{
    assert_int_equal(a->n_minutiae, b->n_minutiae);
    for (size_t i = 0; i < a->n_minutiae; i++) {
        assert_float_equal(a->minutiae[i].x, b->minutiae[i].x, 0.01);
        assert_float_equal(a->minutiae[i].y, b->minutiae[i].y, 0.01);
        double d = fabs(a->minutiae[i].direction - b->minutiae[i].direction);
        if (d > TEST_PI)
            d = 2 * TEST_PI - d;
        assert_true(d <= angle_tol);
        assert_int_equal(a->minutiae[i].type, b->minutiae[i].type);
        assert_int_equal(a->minutiae[i].quality, b->minutiae[i].quality);
    }
}

static void iso_to_ansi_to_iso_keeps_the_minutiae(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *data = load("finger/fvc2002/DB1_B/101_1.iso", &len);
    huella_finger_template *iso;
    assert_int_equal(huella_finger_template_load(data, len, &iso, NULL), HUELLA_OK);
    const huella_finger_template *v[] = {iso};
    uint8_t *ansi_bytes;
    size_t ansi_len;
    assert_int_equal(huella_finger_record_write(v, 1, HUELLA_FINGER_FORMAT_ANSI_2004, &ansi_bytes,
                                                &ansi_len, NULL),
                     HUELLA_OK);
    /* ANSI: 2-byte length and a CBEFF product id: 26-byte header. */
    assert_int_equal(ansi_len, len + 2);
    assert_int_equal(huella_load_u16be(ansi_bytes + 8), ansi_len);
    huella_finger_record *rec = must_read("ansi", ansi_bytes, ansi_len, HUELLA_FINGER_FORMAT_AUTO);
    assert_int_equal(rec->format, HUELLA_FINGER_FORMAT_ANSI_2004);
    /* ANSI angles are in 2 degree units: within 1 degree. */
    same_minutiae(iso, rec->views[0], TEST_PI / 180.0 + 1e-6);
    const huella_finger_template *v2[] = {rec->views[0]};
    uint8_t *iso_bytes;
    size_t iso_len;
    assert_int_equal(huella_finger_record_write(v2, 1, HUELLA_FINGER_FORMAT_ISO_2005, &iso_bytes,
                                                &iso_len, NULL),
                     HUELLA_OK);
    huella_finger_template *back;
    assert_int_equal(huella_finger_template_load(iso_bytes, iso_len, &back, NULL), HUELLA_OK);
    /* Two roundings of the angle: within 1 + 0.7 degrees. */
    same_minutiae(iso, back, 1.71 * TEST_PI / 180.0);

    /* The 6-byte ANSI length form reads the same. */
    uint8_t *six = malloc(ansi_len + 4);
    memcpy(six, ansi_bytes, 8);
    huella_store_u16be(six + 8, 0);
    huella_store_u32be(six + 10, (uint32_t)(ansi_len + 4));
    memcpy(six + 14, ansi_bytes + 10, ansi_len - 10);
    huella_finger_record *rec6 = must_read("ansi6", six, ansi_len + 4, HUELLA_FINGER_FORMAT_AUTO);
    assert_int_equal(rec6->format, HUELLA_FINGER_FORMAT_ANSI_2004);
    same_minutiae(rec->views[0], rec6->views[0], 1e-6);
    huella_finger_record_free(rec6);
    free(six);
    huella_finger_template_free(back);
    free(iso_bytes);
    huella_finger_record_free(rec);
    free(ansi_bytes);
    huella_finger_template_free(iso);
    free(data);
}

static void multi_view_records_expose_every_view(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_finger_template *t[3];
    const char *files[] = {"finger/fvc2002/DB1_B/101_1.iso", "finger/fvc2002/DB1_B/102_1.iso",
                           "finger/fvc2002/DB1_B/103_1.iso"};
    for (int i = 0; i < 3; i++) {
        size_t len;
        uint8_t *data = load(files[i], &len);
        assert_int_equal(huella_finger_template_load(data, len, &t[i], NULL), HUELLA_OK);
        t[i]->finger_position = (uint8_t)(i + 1);
        t[i]->view_number = (uint8_t)i;
        free(data);
    }
    /* A core and a delta on the second view travel through the extended data. */
    t[1]->n_cores = 1;
    t[1]->cores[0] = (huella_finger_singular){120.0f, 140.0f, 1, {1.5f, 0, 0}};
    t[1]->n_deltas = 1;
    t[1]->deltas[0] = (huella_finger_singular){80.0f, 240.0f, 0, {0, 0, 0}};
    const huella_finger_template *v[] = {t[0], t[1], t[2]};
    for (int f = HUELLA_FINGER_FORMAT_ISO_2005; f <= HUELLA_FINGER_FORMAT_ANSI_2004; f++) {
        uint8_t *bytes;
        size_t len;
        assert_int_equal(
            huella_finger_record_write(v, 3, (huella_finger_format)f, &bytes, &len, NULL),
            HUELLA_OK);
        huella_finger_record *rec = must_read("multi", bytes, len, HUELLA_FINGER_FORMAT_AUTO);
        assert_int_equal(rec->format, f);
        assert_int_equal(rec->n_views, 3);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(rec->views[i]->finger_position, i + 1);
            assert_int_equal(rec->views[i]->view_number, i);
            same_minutiae(t[i], rec->views[i], TEST_PI / 180.0 + 1e-6);
        }
        assert_int_equal(rec->views[1]->n_cores, 1);
        assert_int_equal(rec->views[1]->n_deltas, 1);
        assert_float_equal(rec->views[1]->cores[0].x, 120.0, 0.5);
        assert_float_equal(rec->views[1]->deltas[0].y, 240.0, 0.5);
        assert_int_equal(rec->views[1]->cores[0].n_angles, 1);
        assert_int_equal(rec->views[1]->deltas[0].n_angles, 0);
        /* The first view is the default. */
        huella_finger_template *first;
        assert_int_equal(huella_finger_template_load(bytes, len, &first, NULL), HUELLA_OK);
        assert_int_equal(first->finger_position, 1);
        huella_finger_template_free(first);
        huella_finger_record_free(rec);
        free(bytes);
    }
    for (int i = 0; i < 3; i++)
        huella_finger_template_free(t[i]);
}

static void expect_refused(const uint8_t *data, size_t len, const char *needle)
{
    huella_finger_record *rec = (huella_finger_record *)1;
    huella_error err;
    huella_error_clear(&err);
    assert_int_not_equal(
        huella_finger_record_read(data, len, HUELLA_FINGER_FORMAT_AUTO, &rec, &err), HUELLA_OK);
    assert_null(rec);
    if (strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, needle);
}

static void crafted_corruptions_are_refused_with_the_field_named(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *orig = load("finger/fvc2002/DB1_B/101_1.iso", &len);
    uint8_t *c = malloc(len + 16);
    /* Wrong magic, wrong version. */
    memcpy(c, orig, len);
    c[0] = 'X';
    expect_refused(c, len, "neither \"FMR");
    memcpy(c, orig, len);
    c[5] = '3';
    expect_refused(c, len, "version");
    /* Record length larger than the data, and smaller than the views. */
    memcpy(c, orig, len);
    huella_store_u32be(c + 8, (uint32_t)len + 1);
    expect_refused(c, len, "record length");
    huella_store_u32be(c + 8, (uint32_t)len - 6);
    expect_refused(c, len, "remain");
    huella_store_u32be(c + 8, 20);
    expect_refused(c, len, "smaller than the 24-byte header");
    /* Bytes inside the declared length that no view accounts for. */
    memcpy(c, orig, len);
    c[len] = 0;
    huella_store_u32be(c + 8, (uint32_t)len + 1);
    expect_refused(c, len + 1, "no field accounts for");
    /* A minutia count that overflows the record. */
    memcpy(c, orig, len);
    c[27] = (uint8_t)(c[27] + 1);
    expect_refused(c, len, "view 1 declares");
    c[27] = 255;
    expect_refused(c, len, "255 minutiae (1530 bytes)");
    /* No views. */
    memcpy(c, orig, len);
    c[22] = 0;
    expect_refused(c, len, "number of finger views is 0");
    /* Two views declared, one present. */
    c[22] = 2;
    expect_refused(c, len, "view 2");
    /* Reserved codes. */
    memcpy(c, orig, len);
    c[28] |= 0xC0;
    expect_refused(c, len, "type code 11 is reserved");
    memcpy(c, orig, len);
    c[30] |= 0x40;
    expect_refused(c, len, "reserved bits");
    memcpy(c, orig, len);
    c[24] = 11;
    expect_refused(c, len, "finger position 11");
    memcpy(c, orig, len);
    c[26] = 101;
    expect_refused(c, len, "finger quality 101");
    memcpy(c, orig, len);
    c[33] = 101;
    expect_refused(c, len, "quality 101");
    /* Extended data longer than what remains. */
    memcpy(c, orig, len);
    huella_store_u16be(c + len - 2, 4);
    expect_refused(c, len, "extended data");
    /* Every truncation. */
    for (size_t cut = 0; cut < len; cut++) {
        huella_finger_record *rec = (huella_finger_record *)1;
        assert_int_not_equal(
            huella_finger_record_read(orig, cut, HUELLA_FINGER_FORMAT_AUTO, &rec, NULL), HUELLA_OK);
        assert_null(rec);
    }
    /* ANSI angles stop at 179. */
    huella_finger_template *t;
    assert_int_equal(huella_finger_template_load(orig, len, &t, NULL), HUELLA_OK);
    const huella_finger_template *v[] = {t};
    uint8_t *ansi;
    size_t alen;
    assert_int_equal(
        huella_finger_record_write(v, 1, HUELLA_FINGER_FORMAT_ANSI_2004, &ansi, &alen, NULL),
        HUELLA_OK);
    ansi[26 + 4 + 4] = 180;
    expect_refused(ansi, alen, "angle 180 is out of range (0..179)");
    free(ansi);
    huella_finger_template_free(t);
    free(c);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fvc2002_records_parse_and_write_back_identically),
        cmocka_unit_test(fingerjet_and_sourceafis_records_parse),
        cmocka_unit_test(every_invalid_template_is_refused),
        cmocka_unit_test(iso_to_ansi_to_iso_keeps_the_minutiae),
        cmocka_unit_test(multi_view_records_expose_every_view),
        cmocka_unit_test(crafted_corruptions_are_refused_with_the_field_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
