/*
 * test_iso19794_image.c - ISO/IEC 19794-4:2011 finger and 19794-5:2011 face
 * image records (src/formats/iso19794_4.c, iso19794_5.c): MOSIP's records
 * parse with the fields their capture devices wrote, their JPEG 2000 images
 * decode to the declared size, WSQ images decode after the WSQ merge (until
 * then they fail cleanly as unsupported), and truncated or corrupted
 * records are refused with a message naming the field.
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
#include "huella/record.h"
#include "support.h"

static const char *const fingers[] = {"Left_Index", "Left_Little", "Left_Middle",  "Left_Ring",
                                      "Left_Thumb", "Right_Index", "Right_Little", "Right_Middle",
                                      "Right_Ring", "Right_Thumb"};
/* ISO/IEC 19794-4 Table 5 finger positions of those names. */
static const unsigned positions[] = {7, 10, 8, 9, 6, 2, 5, 3, 4, 1};

static uint8_t *load(const char *rel, size_t *len)
{
    uint8_t *data = test_read_file(test_data(rel), len);
    if (data == NULL)
        fail_msg("cannot read %s", rel);
    return data;
}

static void check_finger(const char *rel, unsigned position, unsigned compression)
{
    size_t len;
    uint8_t *data = load(rel, &len);
    huella_fir_record *rec = NULL;
    huella_error err;
    if (huella_fir_record_read(data, len, &rec, &err) != HUELLA_OK)
        fail_msg("%s: %s", rel, err.message);
    assert_int_equal(rec->n_views, 1);
    const huella_fir_view *v = &rec->views[0];
    assert_int_equal(v->position, position);
    assert_int_equal(v->compression, compression);
    assert_int_equal(v->bit_depth, 8);
    assert_int_equal(v->scale_units, 1);
    assert_double_equal(huella_fir_view_ppi(v), 500, 0);
    assert_int_equal(v->capture.n_quality, 1);
    /* The registration records carry 60-61 bytes of extended data (a
     * comment block) after the image; the authentication ones none. */
    if (strstr(rel, "Registration/") != NULL)
        assert_true(v->extended_len >= 60);
    else
        assert_int_equal(v->extended_len, 0);
    huella_image *img = NULL;
    huella_status st = huella_fir_view_image(v, &img, &err);
    if (compression == HUELLA_FIR_WSQ) {
        assert_int_equal(huella_image_detect(v->image, v->image_len), HUELLA_IMAGE_WSQ);
        /* After the WSQ merge the image must decode to the declared size. */
        if (st == HUELLA_E_UNSUPPORTED) {
            assert_non_null(strstr(err.message, "WSQ"));
            goto done;
        }
    }
    if (st != HUELLA_OK)
        fail_msg("%s: %s", rel, err.message);
    assert_int_equal(img->width, v->width);
    assert_int_equal(img->height, v->height);
    assert_double_equal(img->ppi_x, 500, 0);
done:
    huella_image_free(img);
    huella_fir_record_free(rec);
    free(data);
}

static void mosip_finger_records(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char rel[256];
    for (size_t i = 0; i < 10; i++) {
        snprintf(rel, sizeof(rel), "interchange/iso19794-mosip/Auth/%s.iso", fingers[i]);
        check_finger(rel, positions[i], HUELLA_FIR_JPEG2000);
        snprintf(rel, sizeof(rel), "interchange/iso19794-mosip/Registration/%s.iso", fingers[i]);
        check_finger(rel, positions[i], HUELLA_FIR_JPEG2000_LOSSLESS);
    }
    check_finger("interchange/iso19794-mosip/Auth/Finger_UKNOWN.iso", 0, HUELLA_FIR_JPEG2000);
}

static void mosip_wsq_finger_records(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char rel[256];
    for (size_t i = 0; i < 10; i++) {
        snprintf(rel, sizeof(rel), "interchange/iso19794-mosip/Auth/%s_wsq.iso", fingers[i]);
        check_finger(rel, positions[i], HUELLA_FIR_WSQ);
    }
    check_finger("interchange/iso19794-mosip/Auth/Finger_UKNOWN_wsq.iso", 0, HUELLA_FIR_WSQ);
}

static void mosip_face_records(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    static const char *const faces[] = {
        "interchange/iso19794-mosip/Auth/Face.iso",
        "interchange/iso19794-mosip/Registration/Face.iso",
        "interchange/iso19794-mosip/Registration/Exception_Photo.iso"};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        uint8_t *data = load(faces[i], &len);
        huella_fac_record *rec = NULL;
        huella_error err;
        if (huella_fac_record_read(data, len, &rec, &err) != HUELLA_OK)
            fail_msg("%s: %s", faces[i], err.message);
        assert_int_equal(rec->n_images, 1);
        const huella_fac_image *f = &rec->images[0];
        assert_int_equal(f->face_image_type, 1); /* full frontal */
        assert_int_equal(f->image_data_type,
                         i == 0 ? HUELLA_FAC_JPEG2000 : HUELLA_FAC_JPEG2000_LOSSLESS);
        assert_int_equal(f->capture.year, 2022);
        huella_image *img = NULL;
        if (huella_fac_image_decode(f, &img, &err) != HUELLA_OK)
            fail_msg("%s: %s", faces[i], err.message);
        assert_int_equal(img->width, f->width);
        assert_int_equal(img->height, f->height);
        huella_image_free(img);
        huella_fac_record_free(rec);
        free(data);
    }
}

static void truncated_and_corrupted_records(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *data = load("interchange/iso19794-mosip/Auth/Left_Index.iso", &len);
    huella_error err;
    for (size_t cut = 0; cut < len; cut += cut < 80 ? 1 : 511) {
        huella_fir_record *rec = NULL;
        huella_store_u32be(data + 8, (uint32_t)cut); /* consistent record length */
        if (huella_fir_record_read(data, cut, &rec, &err) == HUELLA_OK)
            fail_msg("cut at %zu accepted", cut);
        assert_null(rec);
    }
    huella_store_u32be(data + 8, (uint32_t)len);
    huella_fir_record *rec = NULL;
    assert_int_equal(huella_fir_record_read(data, len, &rec, NULL), HUELLA_OK);
    huella_fir_record_free(rec);
    /* Image length beyond the representation. */
    data[0x3b] ^= 0x40;
    assert_int_equal(huella_fir_record_read(data, len, &rec, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "representation 1: image length"));
    data[0x3b] ^= 0x40;
    data[0x34] = 9; /* compression */
    assert_int_equal(huella_fir_record_read(data, len, &rec, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "image compression 9"));
    free(data);

    data = load("interchange/iso19794-mosip/Auth/Face.iso", &len);
    huella_fac_record *face = NULL;
    assert_int_equal(huella_fac_record_read(data, len - 1, &face, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "record length"));
    data[0x29] = 0x7f; /* landmark count */
    assert_int_equal(huella_fac_record_read(data, len, &face, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "landmark points"));
    assert_null(face);
    memcpy(data, "FIR", 3);
    assert_int_equal(huella_fac_record_read(data, len, &face, &err), HUELLA_E_INPUT);
    free(data);
}

static void cli_record_dump_and_extract(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *out = NULL, *err = NULL;
    const char *dump[] = {"record", "dump", "--json",
                          test_data("interchange/iso19794-mosip/Registration/Right_Thumb.iso"),
                          NULL};
    assert_int_equal(test_run_huella(dump, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "\"compression\": \"JPEG 2000 lossless\""));
    assert_non_null(strstr(out, "\"position\": 1"));
    free(out);
    free(err);
    const char *dir = test_tmpfile("iris");
    const char *ex[] = {
        "record", "extract", test_data("interchange/iso19794-mosip/Auth/Left_Iris.iso"),
        "--out",  dir,       NULL};
    assert_int_equal(test_run_huella(ex, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "1 decoded"));
    free(out);
    free(err);
    const char *junk[] = {"record", "dump", test_data("interchange/an2k/type-17-iris.an2"), NULL};
    assert_int_equal(test_run_huella(junk, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "not an ISO/IEC 19794"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mosip_finger_records),
        cmocka_unit_test(mosip_wsq_finger_records),
        cmocka_unit_test(mosip_face_records),
        cmocka_unit_test(truncated_and_corrupted_records),
        cmocka_unit_test(cli_record_dump_and_extract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
