/*
 * test_an2k.c - ANSI/NIST-ITL 1-2011 transactions (src/formats/an2k*.c):
 * every shared transaction reads and writes back byte for byte; each record
 * type gives the fields and images the files hold; the valid files
 * validate clean and the known-bad ones give their problems; damaged
 * copies (truncated, wrong LEN, wrong content list, missing fields, wrong
 * image sizes) are refused or reported with the record and field; a
 * transaction built from a JSON spec reads back with the same pixels.
 *
 * Tests marked "after the WSQ merge" check WSQ and lossless JPEG payloads
 * only when this build decodes them (huella_image_decode does not answer
 * HUELLA_E_UNSUPPORTED); until then they check that the payload is kept
 * and the failure is the clean "unsupported" one.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/an2k.h"
#include "huella/image.h"
#include "support.h"

#define MAX_FILES 128

/* Every .an2 file of the two shared directories (paths owned by the caller). */
static size_t list_files(char **paths)
{
    static const char *const dirs[] = {"interchange/an2k", "interchange/an2k-nbis"};
    size_t n = 0;
    for (size_t d = 0; d < 2; d++) {
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s", test_data(dirs[d]));
        DIR *dp = opendir(dir);
        if (dp == NULL)
            fail_msg("cannot open %s", dir);
        struct dirent *e;
        while ((e = readdir(dp)) != NULL && n < MAX_FILES) {
            size_t len = strlen(e->d_name);
            if (len < 4 || strcmp(e->d_name + len - 4, ".an2") != 0)
                continue;
            paths[n] = malloc(strlen(dir) + len + 2);
            sprintf(paths[n], "%s/%s", dir, e->d_name);
            n++;
        }
        closedir(dp);
    }
    return n;
}

static huella_an2k *load(const char *rel)
{
    size_t len;
    uint8_t *data = test_read_file(test_data(rel), &len);
    if (data == NULL)
        fail_msg("cannot read %s", rel);
    huella_an2k *txn = NULL;
    huella_error err;
    if (huella_an2k_read(data, len, &txn, &err) != HUELLA_OK)
        fail_msg("%s: %s", rel, err.message);
    free(data);
    return txn;
}

static size_t count_problems(const huella_an2k *txn, const char *needle)
{
    huella_an2k_problem *p;
    size_t n, hits = 0;
    assert_int_equal(huella_an2k_validate(txn, &p, &n, NULL), HUELLA_OK);
    for (size_t i = 0; i < n; i++) {
        char line[400];
        snprintf(line, sizeof(line), "record %zu (Type-%u) field %s: %s", p[i].record, p[i].type,
                 p[i].tag, p[i].message);
        if (needle == NULL || strstr(line, needle) != NULL)
            hits++;
        if (needle == NULL)
            print_message("  %s\n", line);
    }
    free(p);
    return hits;
}

/* True when this build decodes the payload's format (WSQ and lossless JPEG
 * arrive with the WSQ merge). */
static bool decodes(const uint8_t *data, size_t len)
{
    huella_image *img = NULL;
    huella_status st = huella_image_decode(data, len, NULL, &img, NULL);
    huella_image_free(img);
    return st != HUELLA_E_UNSUPPORTED;
}

static void every_file_round_trips_byte_exact(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *paths[MAX_FILES];
    size_t n = list_files(paths);
    assert_true(n >= 48);
    for (size_t i = 0; i < n; i++) {
        size_t len, out_len;
        uint8_t *data = test_read_file(paths[i], &len);
        huella_an2k *txn = NULL;
        huella_error err;
        if (huella_an2k_read(data, len, &txn, &err) != HUELLA_OK)
            fail_msg("%s: %s", paths[i], err.message);
        uint8_t *out;
        assert_int_equal(huella_an2k_write(txn, &out, &out_len, &err), HUELLA_OK);
        assert_int_equal(out_len, len);
        if (memcmp(out, data, len) != 0)
            fail_msg("%s: written bytes differ", paths[i]);
        free(out);
        /* Recomputing LEN and CNT of an unchanged transaction finds the
         * values the file holds (every shared file writes CNT IDCs as two
         * digits). */
        assert_int_equal(huella_an2k_update_lengths(txn, &err), HUELLA_OK);
        assert_int_equal(huella_an2k_write(txn, &out, &out_len, &err), HUELLA_OK);
        if (out_len != len || memcmp(out, data, len) != 0)
            fail_msg("%s: recomputed lengths differ from the file's", paths[i]);
        huella_an2k_free(txn);
        free(out);
        free(data);
        free(paths[i]);
    }
}

/* The shared files that break the standard, and why (docs/interchange.md).
 * wsq: a problem that shows only once WSQ payloads decode (after the WSQ
 * merge): valid1.8's WSQ images are smaller than its HLL x VLL. */
static const struct {
    const char *file;
    const char *problem;
    bool wsq;
} known_bad[] = {
    {"rec01_rec02_rec16.nst.an2", "1.002: VER: '0' is not a version", false},
    {"rec01_rec02_rec16.nst.an2", "16.005: UTD: not a date", false},
    {"rec01_rec02_rec16.nst.an2", "is 243 x 208 pixels but HLL x VLL says 243 x 24", false},
    {"type_5_wvu.an2", "payload is a TIFF file", false},
    {"valid1.2.an2", "(Type-6)", false},
    {"valid1.11.an2", "14.999: field 999 appears 4 times", false},
    {"valid1.11.an2", "15.013: FGP: subfield 1 is not a palm position", false},
    {"valid1.16.an2", "10.999: field 999 appears 2 times", false},
    {"valid1.5.an2", "13.999: field 999 appears 2 times", false},
    {"valid1.6.an2", "13.999: field 999 appears 2 times", false},
    {"valid1.7.an2", "14.999: field 999 appears 2 times", false},
    {"valid1.8.an2",
     "(Type-14) field 14.999: the WSQ20 image is 1600 x 976 pixels but HLL x VLL "
     "says 1800 x 1000",
     true},
    {"valid1.8.an2", "the WSQ20 image is 1600 x 800 pixels but HLL x VLL says 1800 x 900", true},
};
#define N_KNOWN_BAD (sizeof known_bad / sizeof known_bad[0])

static void valid_files_validate_clean(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t wsq_len;
    uint8_t *wsq = test_read_file(test_data("interchange/wsq/fp-1.wsq"), &wsq_len);
    assert_non_null(wsq);
    bool have_wsq = decodes(wsq, wsq_len);
    free(wsq);
    char *paths[MAX_FILES];
    size_t n = list_files(paths);
    size_t clean = 0;
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/') + 1;
        bool bad = false;
        for (size_t k = 0; k < N_KNOWN_BAD; k++)
            bad |= strcmp(base, known_bad[k].file) == 0 && (have_wsq || !known_bad[k].wsq);
        size_t len;
        uint8_t *data = test_read_file(paths[i], &len);
        huella_an2k *txn = NULL;
        assert_int_equal(huella_an2k_read(data, len, &txn, NULL), HUELLA_OK);
        if (!bad) {
            if (count_problems(txn, "") != 0) {
                count_problems(txn, NULL);
                fail_msg("%s should validate clean", base);
            }
            clean++;
        } else {
            for (size_t k = 0; k < N_KNOWN_BAD; k++)
                if (strcmp(base, known_bad[k].file) == 0 && (have_wsq || !known_bad[k].wsq) &&
                    count_problems(txn, known_bad[k].problem) == 0) {
                    count_problems(txn, NULL);
                    fail_msg("%s: expected a problem '%s'", base, known_bad[k].problem);
                }
        }
        huella_an2k_free(txn);
        free(data);
        free(paths[i]);
    }
    assert_true(clean >= 39);
}

static void type1_and_type2_fields(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_an2k *txn = load("interchange/an2k/type-4-tpcard.an2");
    assert_int_equal(txn->n_records, 16);
    char buf[64];
    assert_true(huella_an2k_item_text(&txn->records[0], 2, 0, 0, buf, sizeof(buf)));
    assert_string_equal(buf, "0400");
    const huella_an2k_field *cnt = huella_an2k_find_field(&txn->records[0], 3);
    assert_non_null(cnt);
    assert_int_equal(cnt->n_subfields, 16);
    assert_true(huella_an2k_item_text(&txn->records[0], 3, 15, 1, buf, sizeof(buf)));
    assert_string_equal(buf, "14");
    assert_int_equal(txn->records[1].type, 2);
    assert_true(huella_an2k_item_text(&txn->records[1], 3, 0, 0, buf, sizeof(buf)));
    assert_string_equal(buf, "domain defined text place holder");
    assert_string_equal(huella_an2k_field_mnemonic(1, 3), "CNT");
    huella_an2k_free(txn);

    /* Version 0201 writers: two-digit tags, kept as written. */
    txn = load("interchange/an2k-nbis/valid1.15.an2");
    assert_string_equal(txn->records[0].fields[0].tag, "1.01");
    assert_int_equal(txn->records[0].fields[0].number, 1);
    assert_true(huella_an2k_item_text(&txn->records[0], 4, 0, 0, buf, sizeof(buf)));
    assert_string_equal(buf, "TPIS");
    assert_int_equal(txn->records[2].type, 9);
    huella_an2k_free(txn);
}

static void type4_tenprint_card(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_an2k *txn = load("interchange/an2k/type-4-tpcard.an2");
    for (size_t r = 2; r < 16; r++) {
        const huella_an2k_record *rec = &txn->records[r];
        assert_int_equal(rec->type, 4);
        assert_false(rec->tagged);
        huella_an2k_binary_header h;
        assert_int_equal(huella_an2k_binary_header_read(rec, &h, NULL), HUELLA_OK);
        assert_int_equal(h.idc, r - 1);
        assert_int_equal(h.gca, 1);
        huella_an2k_image_info info;
        assert_int_equal(huella_an2k_image_info_get(txn, r, &info, NULL), HUELLA_OK);
        assert_string_equal(info.compression, "WSQ20");
        assert_double_equal(info.ppi, 500, 0); /* 1.011 NSR 19.69 ppmm */
        assert_int_equal(info.n_positions, 1);
        assert_int_equal(info.positions[0], h.fgp[0]);
        assert_int_equal(info.len, rec->raw_len - 18);
        assert_int_equal(huella_image_detect(info.data, info.len), HUELLA_IMAGE_WSQ);
        /* After the WSQ merge: the image decodes to HLL x VLL. */
        huella_image *img = NULL;
        huella_error err;
        huella_status st = huella_an2k_image_decode(&info, &img, &err);
        if (decodes(info.data, info.len)) {
            if (st != HUELLA_OK)
                fail_msg("record %zu: %s", r + 1, err.message);
            assert_int_equal(img->width, h.hll);
            assert_int_equal(img->height, h.vll);
        } else {
            assert_int_equal(st, HUELLA_E_UNSUPPORTED);
            assert_non_null(strstr(err.message, "record"));
        }
        huella_image_free(img);
    }
    huella_an2k_free(txn);
}

static void type10_face_and_smt(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_an2k *txn = load("interchange/an2k/type-10-branded-tattoo-mark.an2");
    huella_an2k_image_info info;
    assert_int_equal(huella_an2k_image_info_get(txn, 2, &info, NULL), HUELLA_OK);
    assert_string_equal(info.image_type, "TATTOO");
    assert_string_equal(info.compression, "JPEGB");
    char buf[128];
    assert_true(huella_an2k_item_text(&txn->records[2], 42, 0, 0, buf, sizeof(buf)));
    assert_string_equal(buf, "BRANDED");
    assert_true(huella_an2k_item_text(&txn->records[2], 40, 0, 0, buf, sizeof(buf)));
    assert_string_equal(buf, "TAT UL ARM");
    huella_image *img = NULL;
    assert_int_equal(huella_an2k_image_decode(&info, &img, NULL), HUELLA_OK);
    assert_int_equal(img->width, info.width);
    assert_int_equal(img->height, info.height);
    huella_image_free(img);
    assert_int_equal(huella_an2k_image_info_get(txn, 3, &info, NULL), HUELLA_OK);
    assert_string_equal(info.image_type, "MARK");
    huella_an2k_free(txn);

    txn = load("interchange/an2k/type-10-sap10.an2");
    assert_int_equal(huella_an2k_image_info_get(txn, 2, &info, NULL), HUELLA_OK);
    assert_string_equal(info.image_type, "FACE");
    assert_int_equal(info.width, 1181);
    assert_int_equal(info.height, 1575);
    assert_int_equal(huella_an2k_image_decode(&info, &img, NULL), HUELLA_OK);
    assert_int_equal(img->width, 1181);
    assert_int_equal(img->source_channels, 3);
    huella_image_free(img);
    huella_an2k_free(txn);
}

static void type13_14_raw_latent_and_print(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_an2k *txn = load("interchange/an2k/type-13-14-latent-match.an2");
    for (size_t r = 2; r < 4; r++) {
        huella_an2k_image_info info;
        assert_int_equal(huella_an2k_image_info_get(txn, r, &info, NULL), HUELLA_OK);
        assert_int_equal(info.type, r == 2 ? 13 : 14);
        assert_string_equal(info.compression, "NONE");
        assert_int_equal(info.width, 800);
        assert_int_equal(info.height, 768);
        assert_int_equal(info.len, 800 * 768);
        assert_double_equal(info.ppi, 500, 0);
        assert_int_equal(info.impression, r == 2 ? 6 : 3);
        huella_image *img = NULL;
        assert_int_equal(huella_an2k_image_decode(&info, &img, NULL), HUELLA_OK);
        assert_memory_equal(img->pixels, info.data, info.len);
        assert_double_equal(img->ppi_x, 500, 0);
        huella_image_free(img);
    }
    huella_an2k_free(txn);
}

static void type14_jpegl_and_type17_png(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_an2k *txn = load("interchange/an2k/type-10-14-17-piv-index-iris.an2");
    huella_an2k_image_info info;
    huella_image *img = NULL;
    assert_int_equal(huella_an2k_image_info_get(txn, 3, &info, NULL), HUELLA_OK);
    assert_int_equal(info.type, 17);
    assert_string_equal(info.compression, "PNG");
    assert_int_equal(info.positions[0], 2); /* eye label */
    assert_double_equal(info.ppi, 1000, 0);
    assert_int_equal(huella_an2k_image_decode(&info, &img, NULL), HUELLA_OK);
    assert_int_equal(img->width, 449);
    assert_int_equal(img->height, 312);
    huella_image_free(img);
    /* Lossless JPEG (after the merge: decodes to HLL x VLL). */
    for (size_t r = 4; r < 6; r++) {
        assert_int_equal(huella_an2k_image_info_get(txn, r, &info, NULL), HUELLA_OK);
        assert_string_equal(info.compression, "JPEGL");
        huella_error err;
        huella_status st = huella_an2k_image_decode(&info, &img, &err);
        if (decodes(info.data, info.len)) {
            if (st != HUELLA_OK)
                fail_msg("%s", err.message);
            assert_int_equal(img->width, info.width);
            assert_int_equal(img->height, info.height);
        } else {
            assert_int_equal(st, HUELLA_E_UNSUPPORTED);
        }
        huella_image_free(img);
        img = NULL;
    }
    huella_an2k_free(txn);
}

static void type15_palm_and_type16(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_an2k *txn = load("interchange/an2k-nbis/valid1.16.an2");
    huella_an2k_image_info info;
    assert_int_equal(huella_an2k_image_info_get(txn, 6, &info, NULL), HUELLA_OK);
    assert_int_equal(info.type, 15);
    assert_int_equal(info.idc, 5);
    assert_int_equal(info.impression, 29);
    assert_int_equal(info.n_positions, 1);
    assert_int_equal(info.positions[0], 20);
    assert_double_equal(info.ppi, 500, 0);
    huella_image *img = NULL;
    assert_int_equal(huella_an2k_image_decode(&info, &img, NULL), HUELLA_OK);
    assert_int_equal(img->width, 1600);
    assert_int_equal(img->height, 976);
    huella_image_free(img);
    assert_int_equal(huella_an2k_image_info_get(txn, 7, &info, NULL), HUELLA_OK);
    assert_int_equal(info.type, 16);
    assert_string_equal(info.image_type, "THUMB");
    assert_int_equal(huella_an2k_image_decode(&info, &img, NULL), HUELLA_OK);
    assert_int_equal(img->width, info.width);
    huella_image_free(img);
    /* The text fields tagged 14.999 before the WSQ image are kept as text. */
    const huella_an2k_record *rec = &txn->records[5];
    size_t n999 = 0;
    for (size_t i = 0; i < rec->n_fields; i++)
        if (rec->fields[i].number == 999)
            n999 += rec->fields[i].binary ? 100 : 1;
    assert_int_equal(n999, 103);
    assert_int_equal(huella_an2k_image_info_get(txn, 5, &info, NULL), HUELLA_OK);
    assert_int_equal(huella_image_detect(info.data, info.len), HUELLA_IMAGE_WSQ);
    huella_an2k_free(txn);
}

static void type9_minutiae_and_m1(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_an2k *txn = load("interchange/an2k/type-9-14-m1.an2");
    const huella_an2k_record *rec = &txn->records[2];
    assert_int_equal(rec->type, 9);
    assert_non_null(huella_an2k_find_field(rec, 4));
    const huella_an2k_field *fmd = huella_an2k_find_field(rec, 137);
    assert_non_null(fmd);
    assert_true(fmd->n_subfields > 10); /* one subfield per minutia */
    assert_true(fmd->subfields[0].n_items >= 4);
    huella_an2k_image_info info;
    assert_int_equal(huella_an2k_image_info_get(txn, 2, &info, NULL), HUELLA_E_NOTFOUND);
    huella_an2k_free(txn);
}

static void binary_types_3_5_6_7_8(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    static const struct {
        const char *file;
        unsigned type, width, height;
        const char *compression;
    } cases[] = {
        {"interchange/an2k/type-3.an2", 3, 0, 0, "NONE"},
        {"interchange/an2k/type-5.an2", 5, 402, 376, "NONE"},
        {"interchange/an2k/type-6.an2", 6, 804, 752, "NONE"},
        {"interchange/an2k/type-7-latent.an2", 7, 0, 0, "USER"},
        {"interchange/an2k/type-8-sig.an2", 8, 1968, 197, "NONE"},
        {"interchange/an2k-nbis/sign_vec.an2", 8, 0, 0, "VECTOR"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        huella_an2k *txn = load(cases[i].file);
        size_t r = txn->n_records - 1;
        assert_int_equal(txn->records[r].type, cases[i].type);
        huella_an2k_image_info info;
        assert_int_equal(huella_an2k_image_info_get(txn, r, &info, NULL), HUELLA_OK);
        assert_string_equal(info.compression, cases[i].compression);
        if (cases[i].width) {
            assert_int_equal(info.width, cases[i].width);
            assert_int_equal(info.height, cases[i].height);
            huella_image *img = NULL;
            assert_int_equal(huella_an2k_image_decode(&info, &img, NULL), HUELLA_OK);
            assert_int_equal(img->width, cases[i].width);
            huella_image_free(img);
        }
        huella_an2k_free(txn);
    }
}

/* ---- damaged copies ------------------------------------------------------ */

static uint8_t *copy_file(const char *rel, size_t *len)
{
    uint8_t *data = test_read_file(test_data(rel), len);
    if (data == NULL)
        fail_msg("cannot read %s", rel);
    return data;
}

/* Replace the first occurrence of from by to (same length). */
static void patch(uint8_t *data, size_t len, const char *from, const char *to)
{
    size_t n = strlen(from);
    assert_int_equal(n, strlen(to));
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(data + i, from, n) == 0) {
            memcpy(data + i, to, n);
            return;
        }
    fail_msg("'%s' not found", from);
}

static void truncated_files_are_refused(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    static const char *const files[] = {"interchange/an2k/type-9-10-14.an2",
                                        "interchange/an2k/type-4-slaps.an2",
                                        "interchange/an2k-nbis/valid1.11.an2"};
    for (size_t f = 0; f < 3; f++) {
        size_t len;
        uint8_t *data = copy_file(files[f], &len);
        /* Every cut in the headers, then every 997th byte. */
        for (size_t cut = 0; cut < len; cut += cut < 600 ? 1 : 997) {
            huella_an2k *txn = NULL;
            huella_error err;
            huella_error_clear(&err);
            huella_status st = huella_an2k_read(data, cut, &txn, &err);
            if (st != HUELLA_E_INPUT)
                fail_msg("%s cut at %zu: status %d", files[f], cut, st);
            assert_null(txn);
            if (strstr(err.message, "record") == NULL)
                fail_msg("%s cut at %zu: message names no record: %s", files[f], cut, err.message);
        }
        free(data);
    }
}

static void wrong_len_is_named(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *data = copy_file("interchange/an2k/type-14-tip-eji-wsq.an2", &len);
    patch(data, len, "2.001:57", "2.001:58");
    huella_error err;
    huella_an2k *txn = NULL;
    assert_int_equal(huella_an2k_read(data, len, &txn, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "record 2 (Type-2) field 2.001 LEN"));
    free(data);

    data = copy_file("interchange/an2k/type-4-slaps.an2", &len);
    /* The first Type-4 record starts right after Type-1 (191) and Type-2 (57). */
    data[191 + 57] = 0x7f;
    assert_int_equal(huella_an2k_read(data, len, &txn, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "record 3 (Type-4) field LEN"));
    free(data);
}

static void content_list_problems(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *data = copy_file("interchange/an2k/type-13-14-latent-match.an2", &len);
    patch(data, len,
          "14\x1f"
          "02",
          "14\x1f"
          "07"); /* IDC in CNT */
    huella_an2k *txn = NULL;
    assert_int_equal(huella_an2k_read(data, len, &txn, NULL), HUELLA_OK);
    assert_int_equal(count_problems(txn, "field 1.003: CNT: subfield 4 gives IDC 7"), 1);
    huella_an2k_free(txn);
    patch(data, len,
          "14\x1f"
          "07",
          "13\x1f"
          "02"); /* type in CNT */
    assert_int_equal(huella_an2k_read(data, len, &txn, NULL), HUELLA_OK);
    /* The content list decides the record type; the tags then disagree. */
    assert_int_equal(count_problems(txn, "field 14.001: a field of Type-14 in a Type-13 record"),
                     1);
    huella_an2k_free(txn);
    patch(data, len,
          "1\x1f"
          "3\x1e",
          "1\x1f"
          "4\x1e"); /* count */
    assert_int_equal(huella_an2k_read(data, len, &txn, NULL), HUELLA_OK);
    assert_int_equal(count_problems(txn, "counts 4 records but 3 follow"), 1);
    huella_an2k_free(txn);
    free(data);

    /* CNT lists a record the file does not hold. */
    data = copy_file("interchange/an2k/type-17-iris.an2", &len);
    huella_error err;
    assert_int_equal(huella_an2k_read(data, len - 107132, &txn, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "record 3 (Type-17): missing"));
    free(data);
}

static void mandatory_fields_and_image_sizes(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *data = copy_file("interchange/an2k/type-13-14-latent-match.an2", &len);
    patch(data, len,
          "\x1d"
          "1.004:",
          "\x1d"
          "1.044:");
    patch(data, len,
          "\x1d"
          "14.013:",
          "\x1d"
          "14.093:");
    patch(data, len,
          "\x1d"
          "13.006:800",
          "\x1d"
          "13.006:801");
    patch(data, len,
          "\x1d"
          "14.011:NONE",
          "\x1d"
          "14.011:NOPE");
    patch(data, len,
          "\x1d"
          "13.005:1999",
          "\x1d"
          "13.005:XX99");
    huella_an2k *txn = NULL;
    assert_int_equal(huella_an2k_read(data, len, &txn, NULL), HUELLA_OK);
    assert_int_equal(count_problems(txn, "record 1 (Type-1) field 1.004: TOT: mandatory"), 1);
    assert_int_equal(count_problems(txn, "record 4 (Type-14) field 14.013: FGP: mandatory"), 1);
    assert_int_equal(count_problems(txn, "record 3 (Type-13) field 13.999: uncompressed image of "
                                         "801 x 768"),
                     1);
    assert_int_equal(count_problems(txn, "field 14.011: CGA: 'NOPE'"), 1);
    assert_int_equal(count_problems(txn, "field 13.005: LCD"), 0); /* named CD in the table */
    assert_int_equal(count_problems(txn, "field 13.005"), 1);
    assert_int_equal(count_problems(txn, NULL), 5);
    huella_an2k_free(txn);
    free(data);

    /* A tattoo without its NCIC code. */
    data = copy_file("interchange/an2k/type-10-branded-tattoo-mark.an2", &len);
    patch(data, len,
          "\x1d"
          "10.040:TAT",
          "\x1d"
          "10.049:TAT");
    assert_int_equal(huella_an2k_read(data, len, &txn, NULL), HUELLA_OK);
    assert_int_equal(count_problems(txn, "record 3 (Type-10) field 10.040: SMT: mandatory when "
                                         "IMT is TATTOO"),
                     1);
    assert_int_equal(count_problems(txn, ""), 1);
    huella_an2k_free(txn);
    free(data);

    /* Type-4 raw size. */
    data = copy_file("interchange/an2k/type-9-4-iafis.an2", &len);
    huella_an2k *t4 = NULL;
    assert_int_equal(huella_an2k_read(data, len, &t4, NULL), HUELLA_OK);
    huella_an2k_record *rec = &t4->records[3];
    assert_int_equal(rec->type, 4);
    huella_an2k_binary_header h;
    assert_int_equal(huella_an2k_binary_header_read(rec, &h, NULL), HUELLA_OK);
    assert_int_equal(h.gca, 0);
    huella_store_u16be(rec->raw + 13, (uint16_t)(h.hll + 1));
    rec->raw[6] = 99; /* FGP */
    assert_int_equal(count_problems(t4, "(Type-4) field : uncompressed image of"), 1);
    assert_int_equal(count_problems(t4, "FGP: first finger position 99"), 1);
    huella_an2k_free(t4);
    free(data);
}

static void modify_and_update_lengths(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_an2k *txn = load("interchange/an2k/type-17-iris.an2");
    assert_int_equal(huella_an2k_set_field(&txn->records[1], 3,
                                           "a longer text\x1e"
                                           "second subfield\x1f"
                                           "item",
                                           NULL),
                     HUELLA_OK);
    assert_true(count_problems(txn, "2.001: LEN: declares 57 bytes") == 1);
    assert_int_equal(huella_an2k_update_lengths(txn, NULL), HUELLA_OK);
    assert_int_equal(count_problems(txn, ""), 0);
    uint8_t *out;
    size_t len;
    assert_int_equal(huella_an2k_write(txn, &out, &len, NULL), HUELLA_OK);
    huella_an2k *back = NULL;
    assert_int_equal(huella_an2k_read(out, len, &back, NULL), HUELLA_OK);
    char buf[64];
    assert_true(huella_an2k_item_text(&back->records[1], 3, 1, 1, buf, sizeof(buf)));
    assert_string_equal(buf, "item");
    assert_int_equal(
        back->records[2].fields[back->records[2].n_fields - 1].subfields[0].items[0].len,
        txn->records[2].fields[txn->records[2].n_fields - 1].subfields[0].items[0].len);
    assert_int_equal(count_problems(back, ""), 0);
    huella_an2k_free(back);
    huella_an2k_free(txn);
    free(out);
    /* FS and GS are refused in values. */
    assert_int_equal(huella_an2k_set_field(&(huella_an2k_record){.type = 2, .tagged = true}, 3,
                                           "a\x1d"
                                           "b",
                                           NULL),
                     HUELLA_E_INPUT);
}

/* ---- build -------------------------------------------------------------- */

static void build_from_spec_reads_back(void **state)
{
    (void)state;
    huella_image *img = NULL;
    assert_int_equal(huella_image_new(96, 80, &img, NULL), HUELLA_OK);
    for (size_t i = 0; i < 96u * 80u; i++)
        img->pixels[i] = (uint8_t)((i * 7 + i / 96 * 13) & 0xff);
    img->ppi_x = img->ppi_y = 500;
    const char *png = test_tmpfile("finger.png");
    assert_int_equal(huella_image_write(img, png, NULL), HUELLA_OK);
    const char *spec =
        "{\n"
        " \"version\": \"0500\",\n"
        " \"type1\": {\"1.004\": \"CAR\", \"1.005\": \"20240115\",\n"
        "   \"1.007\": \"DAI000000\", \"1.008\": \"ORI000000\",\n"
        "   \"1.009\": \"TCN-1\", \"1.011\": \"19.69\", \"1.012\": \"19.69\"},\n"
        " \"type2\": {\"2.003\": \"free text\", \"2.018\": [[\"DOE\", \"J\"]]},\n"
        " \"records\": [\n"
        "  {\"type\": 14, \"image\": \"finger.png\", \"compression\": \"NONE\",\n"
        "   \"fields\": {\"14.003\": \"1\", \"14.013\": [\"2\"]}},\n"
        "  {\"type\": 14, \"image\": \"finger.png\",\n"
        "   \"fields\": {\"3\": 1, \"13\": \"7\"}},\n"
        "  {\"type\": 4, \"image\": \"finger.png\", \"compression\": \"NONE\",\n"
        "   \"imp\": 1, \"fgp\": [3]},\n"
        "  {\"type\": 10, \"image\": \"finger.png\", \"ppi\": 300,\n"
        "   \"fields\": {\"10.042\": [[\"TATTOO\", \"ANIMAL\", \"DOG\", \"a dog\"]]}}\n"
        " ]\n"
        "}\n";
    const char *spec_path = test_tmpfile("spec.json");
    assert_true(test_write_file(spec_path, spec, strlen(spec)));
    const char *out_path = test_tmpfile("built.an2");
    char *out = NULL, *err = NULL;
    const char *argv[] = {"an2k", "build", spec_path, "-o", out_path, NULL};
    int rc = test_run_huella(argv, NULL, &out, &err);
    if (rc != 0)
        fail_msg("build: exit %d: %s", rc, err);
    free(out);
    free(err);
    size_t len;
    uint8_t *data = test_read_file(out_path, &len);
    huella_an2k *txn = NULL;
    assert_int_equal(huella_an2k_read(data, len, &txn, NULL), HUELLA_OK);
    assert_int_equal(txn->n_records, 6);
    assert_int_equal(count_problems(txn, ""), 0);
    char buf[64];
    assert_true(huella_an2k_item_text(&txn->records[1], 18, 0, 1, buf, sizeof(buf)));
    assert_string_equal(buf, "J");
    for (size_t r = 2; r < 6; r++) {
        huella_an2k_image_info info;
        assert_int_equal(huella_an2k_image_info_get(txn, r, &info, NULL), HUELLA_OK);
        assert_int_equal(info.idc, r - 1);
        assert_int_equal(info.width, 96);
        assert_int_equal(info.height, 80);
        huella_image *back = NULL;
        assert_int_equal(huella_an2k_image_decode(&info, &back, NULL), HUELLA_OK);
        assert_memory_equal(back->pixels, img->pixels, 96u * 80u);
        assert_double_equal(back->ppi_x, r == 5 ? 300 : 500, 0);
        huella_image_free(back);
    }
    huella_an2k_image_info info;
    assert_int_equal(huella_an2k_image_info_get(txn, 3, &info, NULL), HUELLA_OK);
    assert_string_equal(info.compression, "PNG");
    assert_int_equal(info.positions[0], 7);
    assert_int_equal(huella_an2k_image_info_get(txn, 4, &info, NULL), HUELLA_OK);
    assert_int_equal(info.type, 4);
    assert_int_equal(info.positions[0], 3);
    /* Writing what was read gives the same bytes. */
    uint8_t *again;
    size_t again_len;
    assert_int_equal(huella_an2k_write(txn, &again, &again_len, NULL), HUELLA_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, data, len);
    free(again);
    huella_an2k_free(txn);
    free(data);
    huella_image_free(img);

    /* A spec without the mandatory Type-1 fields is refused, nothing written. */
    const char *bad = "{\"type1\": {\"1.004\": \"CAR\"}}";
    assert_true(test_write_file(spec_path, bad, strlen(bad)));
    const char *bad_out = test_tmpfile("bad.an2");
    const char *argv2[] = {"an2k", "build", spec_path, "-o", bad_out, NULL};
    rc = test_run_huella(argv2, NULL, &out, &err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "1.005"));
    free(out);
    free(err);
    assert_null(test_read_file(bad_out, &len));
}

static void cli_validate_and_dump(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *out = NULL, *err = NULL;
    const char *ok[] = {"an2k", "validate", test_data("interchange/an2k/type-9-10-14.an2"), NULL};
    assert_int_equal(test_run_huella(ok, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "valid"));
    free(out);
    free(err);
    const char *bad[] = {"an2k", "validate",
                         test_data("interchange/an2k/rec01_rec02_rec16.nst.an2"), NULL};
    assert_int_equal(test_run_huella(bad, NULL, &out, &err), 2);
    assert_non_null(strstr(out, "record 1 (Type-1) field 1.002"));
    assert_non_null(strstr(out, "3 problems"));
    free(out);
    free(err);
    const char *dump[] = {"an2k", "dump", "--json",
                          test_data("interchange/an2k/type-10-branded-tattoo-mark.an2"), NULL};
    assert_int_equal(test_run_huella(dump, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "\"mnemonic\": \"SMD\""));
    assert_non_null(strstr(out, "\"format\": \"JPEG\""));
    free(out);
    free(err);
    /* A truncated file: exit 2 and the record named. */
    size_t len;
    uint8_t *data = test_read_file(test_data("interchange/an2k/type-9-10-14.an2"), &len);
    const char *cut = test_tmpfile("cut.an2");
    assert_true(test_write_file(cut, data, 5000));
    free(data);
    const char *trunc[] = {"an2k", "validate", cut, NULL};
    assert_int_equal(test_run_huella(trunc, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "record 4 (Type-10) field 10.001 LEN"));
    free(out);
    free(err);
}

static void cli_extract_writes_sidecars(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *dir = test_tmpfile("extract");
    char *out = NULL, *err = NULL;
    const char *argv[] = {
        "an2k",  "extract", test_data("interchange/an2k/type-10-14-17-piv-index-iris.an2"),
        "--out", dir,       NULL};
    assert_int_equal(test_run_huella(argv, NULL, &out, &err), 0);
    free(out);
    free(err);
    char path[1200];
    snprintf(path, sizeof(path), "%s/r04-t17.json", dir);
    size_t len;
    char *json = (char *)test_read_file(path, &len);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"compression\": \"PNG\""));
    assert_non_null(strstr(json, "\"ppi\": 1000"));
    assert_non_null(strstr(json, "\"png\": \"r04-t17-decoded.png\""));
    free(json);
    snprintf(path, sizeof(path), "%s/r05-t14.jpg", dir);
    uint8_t *payload = test_read_file(path, &len);
    assert_non_null(payload);
    assert_int_equal(len, 110427);
    free(payload);
    snprintf(path, sizeof(path), "%s/r03-t10.json", dir);
    json = (char *)test_read_file(path, &len);
    assert_non_null(strstr(json, "\"smt\""));
    assert_non_null(strstr(json, "\"image_type\": \"FACE\""));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_file_round_trips_byte_exact),
        cmocka_unit_test(valid_files_validate_clean),
        cmocka_unit_test(type1_and_type2_fields),
        cmocka_unit_test(type4_tenprint_card),
        cmocka_unit_test(type10_face_and_smt),
        cmocka_unit_test(type13_14_raw_latent_and_print),
        cmocka_unit_test(type14_jpegl_and_type17_png),
        cmocka_unit_test(type15_palm_and_type16),
        cmocka_unit_test(type9_minutiae_and_m1),
        cmocka_unit_test(binary_types_3_5_6_7_8),
        cmocka_unit_test(truncated_files_are_refused),
        cmocka_unit_test(wrong_len_is_named),
        cmocka_unit_test(content_list_problems),
        cmocka_unit_test(mandatory_fields_and_image_sizes),
        cmocka_unit_test(modify_and_update_lengths),
        cmocka_unit_test(build_from_spec_reads_back),
        cmocka_unit_test(cli_validate_and_dump),
        cmocka_unit_test(cli_extract_writes_sidecars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
