/*
 * test_store.c - the encrypted store (src/store/): the data model round
 * trip, biographic data with partial dates and the juvenile flag, link
 * history, possible-duplicate cases, encryption at rest (no plaintext in
 * the database or its WAL), erasure (not even ciphertext left), tamper
 * detection by the check, key file permissions, schema migrations, and
 * the db / enrol / person commands.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "huella/finger.h"
#include "huella/image.h"
#include "huella/iris.h"
#include "huella/store.h"
#include "store/store_internal.h"
#include "support.h"

static const huella_store_encounter base_enc = {
    "2026-06-01T10:00:00Z", "Site-7", "Dev-3", "op-42", "registration", "Art. 6(1)(e)", NULL};

static huella_store *fresh(const char *name, unsigned juvenile_age)
{
    huella_store_init_options o = {juvenile_age};
    huella_error err;
    huella_status st = huella_store_init(test_tmpfile(name), &o, &err);
    if (st != HUELLA_OK)
        fail_msg("init %s: %s", name, err.message);
    huella_store *s = NULL;
    st = huella_store_open(test_tmpfile(name), &s, &err);
    if (st != HUELLA_OK)
        fail_msg("open %s: %s", name, err.message);
    return s;
}

/* A real finger template: the SecuGen record of an FVC2002 print. */
static uint8_t *finger_tmpl(const char *rel, size_t *len)
{
    size_t n;
    uint8_t *raw = test_read_file(test_data(rel), &n);
    assert_non_null(raw);
    huella_finger_template *t = NULL;
    assert_int_equal(huella_finger_template_load(raw, n, &t, NULL), HUELLA_OK);
    uint8_t *out = NULL;
    assert_int_equal(huella_finger_template_encode(t, &out, len, NULL), HUELLA_OK);
    huella_finger_template_free(t);
    free(raw);
    return out;
}

/* A real iris template of a CASIA eye. */
static uint8_t *iris_tmpl(const char *rel, size_t *len)
{
    huella_image *img = NULL;
    assert_int_equal(huella_image_read(test_data(rel), NULL, &img, NULL), HUELLA_OK);
    huella_iris_template *t = NULL;
    assert_int_equal(huella_iris_encode(img, NULL, &t, NULL), HUELLA_OK);
    uint8_t *out = NULL;
    assert_int_equal(huella_iris_template_encode(t, &out, len, NULL), HUELLA_OK);
    huella_iris_template_free(t);
    huella_image_free(img);
    return out;
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    if (m == 0 || n < m)
        return false;
    const uint8_t *nd = needle;
    for (size_t i = 0; i + m <= n; i++)
        if (hay[i] == nd[0] && memcmp(hay + i, nd, m) == 0)
            return true;
    return false;
}

/* Does DIR/huella.db or DIR/huella.db-wal hold these bytes? */
static bool store_files_contain(const char *dir, const void *needle, size_t m)
{
    static const char *const names[2] = {"huella.db", "huella.db-wal"};
    bool found = false;
    for (int i = 0; i < 2 && !found; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t n = 0;
        uint8_t *data = test_read_file(path, &n);
        if (data != NULL)
            found = contains(data, n, needle, m);
        free(data);
    }
    return found;
}

/* Deterministic pseudo-random bytes standing in for an image file. */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        p[i] = (uint8_t)(seed >> 56);
    }
}

static int64_t add_person(huella_store *s, const char *bio, const uint8_t *ftmpl, size_t flen,
                          const uint8_t *image, size_t ilen, int64_t *enc_out, int64_t *smp_out)
{
    huella_error err;
    int64_t p = 0, e = 0, sm = 0;
    assert_int_equal(huella_store_person_create(s, &p, &err), HUELLA_OK);
    if (huella_store_encounter_add(s, p, &base_enc, bio, &e, &err) != HUELLA_OK)
        fail_msg("encounter: %s", err.message);
    huella_store_template t = {HUELLA_STORE_TEMPLATE_FINGER, 1, ftmpl, flen};
    huella_store_sample smp = {HUELLA_STORE_FINGER, 2, 77, "png", image, ilen, &t, 1};
    if (huella_store_sample_add(s, e, &smp, &sm, &err) != HUELLA_OK)
        fail_msg("sample: %s", err.message);
    if (enc_out != NULL)
        *enc_out = e;
    if (smp_out != NULL)
        *smp_out = sm;
    return p;
}

/* ---- data model --------------------------------------------------------- */

typedef struct scan {
    size_t n;
    int64_t person[16], sample[16];
    unsigned position[16];
    size_t len[16];
    uint8_t first[16];
} scan;

static huella_status collect(void *ctx, int64_t person, int64_t sample, unsigned position,
                             const uint8_t *t, size_t len)
{
    scan *sc = ctx;
    if (sc->n == 16)
        return HUELLA_E_INTERNAL;
    sc->person[sc->n] = person;
    sc->sample[sc->n] = sample;
    sc->position[sc->n] = position;
    sc->len[sc->n] = len;
    sc->first[sc->n] = t[len / 2];
    sc->n++;
    return HUELLA_OK;
}

static void test_round_trip(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_store *s = fresh("roundtrip", 0);
    huella_error err;
    size_t f1n, f2n, irn;
    uint8_t *f1 = finger_tmpl("finger/fvc2002/DB1_B/101_1.iso", &f1n);
    uint8_t *f2 = finger_tmpl("finger/fvc2002/DB1_B/102_1.iso", &f2n);
    uint8_t *ir = iris_tmpl("iris/casia-v1/1/001_1_1.jpg", &irn);
    uint8_t img[3000];
    fill(img, sizeof(img), 1);

    assert_int_equal(huella_store_begin(s, &err), HUELLA_OK);
    int64_t e1, s1;
    int64_t p1 = add_person(s, "{\"names\":[\"Ana Gómez\"],\"date_of_birth\":\"1980-02-29\"}", f1,
                            f1n, img, sizeof(img), &e1, &s1);
    int64_t p2, e2, s2, s3;
    assert_int_equal(huella_store_person_create(s, &p2, &err), HUELLA_OK);
    assert_int_equal(huella_store_encounter_add(s, p2, &base_enc, NULL, &e2, &err), HUELLA_OK);
    huella_store_template ft = {HUELLA_STORE_TEMPLATE_FINGER, 1, f2, f2n};
    huella_store_sample fs = {HUELLA_STORE_FINGER, 7, -1, NULL, NULL, 0, &ft, 1};
    assert_int_equal(huella_store_sample_add(s, e2, &fs, &s2, &err), HUELLA_OK);
    huella_store_template it = {HUELLA_STORE_TEMPLATE_IRIS, 1, ir, irn};
    huella_store_sample is = {HUELLA_STORE_IRIS, 2, 90, "jpeg", img, 100, &it, 1};
    assert_int_equal(huella_store_sample_add(s, e2, &is, &s3, &err), HUELLA_OK);
    assert_int_equal(huella_store_commit(s, &err), HUELLA_OK);

    /* Bad samples are refused. */
    huella_store_sample bad = {HUELLA_STORE_FINGER, 11, 50, NULL, NULL, 0, &ft, 1};
    int64_t dummy;
    assert_int_equal(huella_store_sample_add(s, e2, &bad, &dummy, &err), HUELLA_E_INPUT);
    bad.position = 1;
    bad.quality = 101;
    assert_int_equal(huella_store_sample_add(s, e2, &bad, &dummy, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_store_sample_add(s, 999, &fs, &dummy, &err), HUELLA_E_NOTFOUND);

    int64_t *ids;
    size_t n;
    assert_int_equal(huella_store_person_encounters(s, p2, &ids, &n, &err), HUELLA_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], e2);
    free(ids);
    assert_int_equal(huella_store_encounter_samples(s, e2, &ids, &n, &err), HUELLA_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], s2);
    assert_int_equal(ids[1], s3);
    free(ids);

    huella_store_sample_data *d;
    assert_int_equal(huella_store_sample_get(s, s1, &d, &err), HUELLA_OK);
    assert_int_equal(d->person_id, p1);
    assert_int_equal(d->modality, HUELLA_STORE_FINGER);
    assert_int_equal(d->position, 2);
    assert_int_equal(d->quality, 77);
    assert_string_equal(d->image_format, "png");
    assert_int_equal(d->image_len, sizeof(img));
    assert_memory_equal(d->image, img, sizeof(img));
    assert_int_equal(d->n_templates, 1);
    assert_int_equal(d->template_len[0], f1n);
    assert_memory_equal(d->template_data[0], f1, f1n);
    huella_store_sample_data_free(d);
    assert_int_equal(huella_store_sample_get(s, s2, &d, &err), HUELLA_OK);
    assert_int_equal(d->quality, -1);
    assert_null(d->image);
    huella_store_sample_data_free(d);

    /* The bulk scan: fingers in (person, sample) order, irises apart. */
    scan sc = {0};
    assert_int_equal(huella_store_foreach_template(s, HUELLA_STORE_FINGER, collect, &sc, &err),
                     HUELLA_OK);
    assert_int_equal(sc.n, 2);
    assert_int_equal(sc.person[0], p1);
    assert_int_equal(sc.sample[0], s1);
    assert_int_equal(sc.position[0], 2);
    assert_int_equal(sc.len[0], f1n);
    assert_int_equal(sc.first[0], f1[f1n / 2]);
    assert_int_equal(sc.person[1], p2);
    assert_int_equal(sc.position[1], 7);
    assert_int_equal(sc.len[1], f2n);
    memset(&sc, 0, sizeof(sc));
    assert_int_equal(huella_store_foreach_template(s, HUELLA_STORE_IRIS, collect, &sc, &err),
                     HUELLA_OK);
    assert_int_equal(sc.n, 1);
    assert_int_equal(sc.sample[0], s3);
    assert_int_equal(sc.position[0], 2);
    assert_int_equal(sc.len[0], irn);
    assert_int_equal(sc.first[0], ir[irn / 2]);

    /* Person as JSON: decrypted names, the Latin form, the samples. */
    char *json;
    assert_int_equal(huella_store_person_json(s, p1, false, &json, &err), HUELLA_OK);
    json_t *o = json_loads(json, 0, NULL);
    free(json);
    json_t *enc = json_array_get(json_object_get(o, "encounters"), 0);
    json_t *name = json_array_get(json_object_get(json_object_get(enc, "bio"), "names"), 0);
    assert_string_equal(json_string_value(json_object_get(name, "written")), "Ana Gómez");
    assert_string_equal(json_string_value(json_object_get(name, "latin")), "ana gomez");
    assert_string_equal(json_string_value(json_object_get(enc, "site")), "Site-7");
    assert_int_equal(json_array_size(json_object_get(enc, "samples")), 1);
    json_decref(o);
    assert_int_equal(huella_store_person_json(s, 12345, false, &json, &err), HUELLA_E_NOTFOUND);

    /* A rolled-back transaction leaves nothing. */
    assert_int_equal(huella_store_begin(s, &err), HUELLA_OK);
    int64_t p3;
    assert_int_equal(huella_store_person_create(s, &p3, &err), HUELLA_OK);
    huella_store_rollback(s);
    assert_int_equal(huella_store_persons(s, &ids, &n, &err), HUELLA_OK);
    assert_int_equal(n, 2);
    free(ids);

    char *report;
    size_t problems;
    assert_int_equal(huella_store_check(s, &report, &problems, &err), HUELLA_OK);
    if (problems != 0)
        fail_msg("%s", report);
    free(report);
    huella_store_close(s);
    free(f1);
    free(f2);
    free(ir);
}

/* ---- biographic data ---------------------------------------------------- */

static json_t *bio_of(huella_store *s, const char *captured, const char *bio, bool *juvenile,
                      huella_status *st)
{
    huella_store_encounter e = base_enc;
    e.captured = captured;
    int64_t p, enc;
    huella_error err;
    assert_int_equal(huella_store_person_create(s, &p, &err), HUELLA_OK);
    *st = huella_store_encounter_add(s, p, &e, bio, &enc, &err);
    if (*st != HUELLA_OK)
        return NULL;
    char *json;
    assert_int_equal(huella_store_person_json(s, p, false, &json, &err), HUELLA_OK);
    json_t *o = json_loads(json, 0, NULL);
    free(json);
    json_t *en = json_array_get(json_object_get(o, "encounters"), 0);
    *juvenile = json_is_true(json_object_get(en, "juvenile"));
    json_t *b = json_incref(json_object_get(en, "bio"));
    json_decref(o);
    return b;
}

static void expect_age(huella_store *s, const char *captured, const char *dob, int min, int max,
                       bool juvenile)
{
    char bio[128];
    snprintf(bio, sizeof(bio), "{\"date_of_birth\":\"%s\"}", dob);
    bool juv;
    huella_status st;
    json_t *b = bio_of(s, captured, bio, &juv, &st);
    assert_int_equal(st, HUELLA_OK);
    json_t *age = json_object_get(b, "age_at_capture");
    assert_int_equal(json_integer_value(json_object_get(age, "min")), min);
    assert_int_equal(json_integer_value(json_object_get(age, "max")), max);
    assert_int_equal(juv, juvenile);
    assert_int_equal(json_is_true(json_object_get(b, "juvenile")), juvenile);
    json_decref(b);
}

static void test_bio_dates_and_juvenile(void **state)
{
    (void)state;
    huella_store *s = fresh("bio", 0);
    assert_int_equal(huella_store_juvenile_age(s), 14);
    const char *cap = "2026-06-01T10:00:00Z";
    expect_age(s, cap, "2000-05-31", 26, 26, false);
    expect_age(s, cap, "2000-06-02", 25, 25, false);
    expect_age(s, cap, "2012-06-01", 14, 14, false); /* 14th birthday: not under 14 */
    expect_age(s, cap, "2012-06-02", 13, 13, true);
    expect_age(s, cap, "2012", 13, 14, true); /* may still be 13: flagged */
    expect_age(s, cap, "2011", 14, 15, false);
    expect_age(s, cap, "2012-05", 14, 14, false);
    expect_age(s, cap, "2012-06", 13, 14, true);
    expect_age(s, "2024-02-28T00:00:00Z", "2020-02-29", 3, 3, true);
    /* The person-level flag the identification reports with candidates. */
    int64_t *all;
    size_t n_all;
    assert_int_equal(huella_store_persons(s, &all, &n_all, NULL), HUELLA_OK);
    bool j;
    assert_int_equal(huella_store_person_juvenile(s, all[0], &j, NULL), HUELLA_OK);
    assert_false(j); /* 2000-05-31 */
    assert_int_equal(huella_store_person_juvenile(s, all[3], &j, NULL), HUELLA_OK);
    assert_true(j); /* 2012-06-02 */
    assert_int_equal(huella_store_person_juvenile(s, 99999, &j, NULL), HUELLA_E_NOTFOUND);
    free(all);

    bool juv;
    huella_status st;
    json_t *b = bio_of(s, cap,
                       "{\"names\":[{\"written\":\"Мария Иванова\",\"latin\":\"MARIIA IVANOVA\"}],"
                       "\"sex\":\"F\",\"nationality\":\"UKR\",\"documents\":[{\"type\":"
                       "\"passport\",\"number\":\"FA123\",\"issuing_state\":\"UKR\","
                       "\"expiry\":\"2030-01-31\"}]}",
                       &juv, &st);
    assert_int_equal(st, HUELLA_OK);
    assert_false(juv); /* no date of birth: no flag */
    json_t *n0 = json_array_get(json_object_get(b, "names"), 0);
    assert_string_equal(json_string_value(json_object_get(n0, "latin")), "MARIIA IVANOVA");
    assert_string_equal(json_string_value(json_object_get(n0, "script")), "Cyrillic");
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "nationality"), 0)),
                        "UKR");
    json_decref(b);

    static const char *const bad[] = {
        "{\"date_of_birth\":\"2014-13\"}",
        "{\"date_of_birth\":\"2014-02-30\"}",
        "{\"date_of_birth\":\"2027\"}", /* after the capture */
        "{\"date_of_birth\":\"14-02-2014\"}",
        "{\"sex\":\"female\"}",
        "{\"nationality\":\"Spain\"}",
        "{\"documents\":[{\"type\":\"passport\"}]}",
        "{\"documents\":[{\"type\":\"id\",\"number\":\"1\",\"expiry\":\"2030\"}]}",
        "{\"names\":[{\"written\":\"\"}]}",
        "{\"names\":[\"---\"]}",
        "{\"favourite_colour\":\"blue\"}",
        "[1,2]",
        "{\"names\":",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = bio_of(s, cap, bad[i], &juv, &st);
        if (st != HUELLA_E_INPUT)
            fail_msg("accepted %s", bad[i]);
        assert_null(b);
    }
    /* Capture times are UTC ISO 8601. */
    assert_null(bio_of(s, "2026-06-01 10:00:00", NULL, &juv, &st));
    assert_int_equal(st, HUELLA_E_INPUT);
    assert_null(bio_of(s, "2026-06-01T10:00:00+02:00", NULL, &juv, &st));
    assert_int_equal(st, HUELLA_E_INPUT);
    b = bio_of(s, "2026-06-01T10:00:00.250Z", NULL, &juv, &st);
    assert_int_equal(st, HUELLA_OK);
    json_decref(b);
    huella_store_close(s);

    /* The limit is configuration. */
    s = fresh("bio12", 12);
    assert_int_equal(huella_store_juvenile_age(s), 12);
    expect_age(s, cap, "2012-06-02", 13, 13, false);
    expect_age(s, cap, "2014-06-02", 11, 11, true);
    huella_store_close(s);
    huella_store_init_options o = {30};
    assert_int_equal(huella_store_init(test_tmpfile("bio30"), &o, NULL), HUELLA_E_INPUT);
}

/* ---- links and cases ---------------------------------------------------- */

static int64_t person_of(huella_store *s, int64_t enc)
{
    int64_t p = 0;
    assert_int_equal(huella_store_encounter_person(s, enc, &p, NULL), HUELLA_OK);
    return p;
}

static size_t check_problems(huella_store *s)
{
    char *report;
    size_t n;
    assert_int_equal(huella_store_check(s, &report, &n, NULL), HUELLA_OK);
    if (n != 0)
        print_message("%s\n", report);
    free(report);
    return n;
}

static void test_links(void **state)
{
    (void)state;
    huella_store *s = fresh("links", 0);
    huella_error err;
    uint8_t tmpl[200], img[500];
    fill(tmpl, sizeof(tmpl), 5);
    fill(img, sizeof(img), 6);
    /* Opaque bytes are fine for the store; only db check decodes, so use
     * real-format templates there: build one from scratch. */
    huella_finger_template *ft;
    assert_int_equal(huella_finger_template_new(&ft, NULL), HUELLA_OK);
    ft->width = 300;
    ft->height = 400;
    for (int i = 0; i < 30; i++) {
        huella_minutia m = {(float)(10 + 9 * i), (float)(20 + 11 * i), (float)(0.2 * i), 1, 60};
        assert_int_equal(huella_finger_template_add(ft, &m, NULL), HUELLA_OK);
    }
    uint8_t *ftb;
    size_t ftn;
    assert_int_equal(huella_finger_template_encode(ft, &ftb, &ftn, NULL), HUELLA_OK);
    huella_finger_template_free(ft);

    int64_t ea, eb, sa;
    int64_t a =
        add_person(s, "{\"names\":[\"Alice Zorro\"]}", ftb, ftn, img, sizeof(img), &ea, &sa);
    int64_t b = add_person(s, NULL, ftb, ftn, img, sizeof(img), &eb, NULL);

    /* Link a's encounter to b: data moves (and is re-sealed) with it. */
    assert_int_equal(huella_store_encounter_link(s, ea, b, "examiner-1", "same prints", &err),
                     HUELLA_OK);
    assert_int_equal(person_of(s, ea), b);
    huella_store_sample_data *d;
    assert_int_equal(huella_store_sample_get(s, sa, &d, &err), HUELLA_OK);
    assert_int_equal(d->person_id, b);
    assert_memory_equal(d->image, img, sizeof(img));
    huella_store_sample_data_free(d);
    assert_int_equal(huella_store_encounter_link(s, ea, b, "x", "y", &err), HUELLA_E_INPUT);
    assert_int_equal(huella_store_encounter_link(s, ea, a, "", "y", &err), HUELLA_E_INPUT);
    assert_int_equal(huella_store_encounter_link(s, ea, 999, "x", "y", &err), HUELLA_E_NOTFOUND);
    assert_int_equal(person_of(s, ea), b); /* a failed link changed nothing */

    /* Unlink: to a new person of its own. */
    int64_t c = 0;
    assert_int_equal(huella_store_encounter_unlink(s, ea, "examiner-2", "wrong link", &c, &err),
                     HUELLA_OK);
    assert_true(c != a && c != b);
    assert_int_equal(person_of(s, ea), c);
    /* Relink: back to the person before (b). */
    assert_int_equal(huella_store_encounter_relink(s, ea, "examiner-3", "undo", &err), HUELLA_OK);
    assert_int_equal(person_of(s, ea), b);

    char *hist;
    assert_int_equal(huella_store_link_history(s, ea, &hist, &err), HUELLA_OK);
    json_t *h = json_loads(hist, 0, NULL);
    free(hist);
    assert_int_equal(json_array_size(h), 4);
    static const char *const actions[4] = {"enrol", "link", "unlink", "relink"};
    int64_t to[4] = {a, b, c, b};
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(h, i);
        assert_string_equal(json_string_value(json_object_get(e, "action")), actions[i]);
        assert_int_equal(json_integer_value(json_object_get(e, "to_person")), to[i]);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "who")),
                        "examiner-2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "why")),
                        "wrong link");
    json_decref(h);
    assert_int_equal(check_problems(s), 0);

    /* Cases: an encounter of a new person against two candidates. */
    int64_t ed;
    int64_t dperson = add_person(s, NULL, ftb, ftn, img, sizeof(img), &ed, NULL);
    huella_store_candidate cands[2] = {{a, "{\"fused\": 12.5, \"fingers\": {\"2\": 41.0}}"},
                                       {b, NULL}};
    int64_t k1, k2;
    assert_int_equal(huella_store_case_open(s, ed, cands, 2, "dedup", &k1, &err), HUELLA_OK);
    assert_int_equal(huella_store_case_open(s, ed, cands, 2, "dedup", &k2, &err), HUELLA_OK);
    huella_store_candidate self = {dperson, NULL};
    assert_int_equal(huella_store_case_open(s, ed, &self, 1, "dedup", &k2, &err), HUELLA_E_INPUT);
    huella_store_candidate badj = {a, "{not json"};
    assert_int_equal(huella_store_case_open(s, ed, &badj, 1, "dedup", &k2, &err), HUELLA_E_INPUT);
    /* Nothing merged by opening. */
    assert_int_equal(person_of(s, ed), dperson);
    int64_t *open_ids;
    size_t n_open;
    assert_int_equal(huella_store_cases(s, HUELLA_CASE_OPEN, &open_ids, &n_open, &err), HUELLA_OK);
    assert_int_equal(n_open, 2);
    assert_int_equal(open_ids[0], k1);
    free(open_ids);
    /* Confirmed different: links unchanged. */
    assert_int_equal(huella_store_case_resolve(s, k2, HUELLA_CASE_CONFIRMED_DIFFERENT, 0,
                                               "reviewer", "different scars", &err),
                     HUELLA_OK);
    assert_int_equal(person_of(s, ed), dperson);
    /* Confirmed same with a: the encounter joins a, with history. */
    assert_int_equal(
        huella_store_case_resolve(s, k1, HUELLA_CASE_CONFIRMED_SAME, c, "reviewer", NULL, &err),
        HUELLA_E_INPUT); /* c is no candidate */
    assert_int_equal(huella_store_case_resolve(s, k1, HUELLA_CASE_CONFIRMED_SAME, a, "reviewer",
                                               "same person", &err),
                     HUELLA_OK);
    assert_int_equal(person_of(s, ed), a);
    assert_int_equal(huella_store_case_resolve(s, k1, HUELLA_CASE_CONFIRMED_DIFFERENT, 0,
                                               "reviewer", NULL, &err),
                     HUELLA_E_INPUT); /* already decided */
    char *cj;
    assert_int_equal(huella_store_cases(s, HUELLA_CASE_OPEN, &open_ids, &n_open, &err), HUELLA_OK);
    assert_int_equal(n_open, 0);
    free(open_ids);
    assert_int_equal(huella_store_cases(s, HUELLA_CASE_CONFIRMED_SAME, &open_ids, &n_open, &err),
                     HUELLA_OK);
    assert_int_equal(n_open, 1);
    free(open_ids);
    assert_int_equal(huella_store_case_json(s, k1, &cj, &err), HUELLA_OK);
    json_t *co = json_loads(cj, 0, NULL);
    free(cj);
    assert_string_equal(json_string_value(json_object_get(co, "status")), "confirmed-same");
    assert_string_equal(json_string_value(json_object_get(co, "decided_by")), "reviewer");
    assert_int_equal(json_integer_value(json_object_get(co, "decided_person")), a);
    json_t *c0 = json_array_get(json_object_get(co, "candidates"), 0);
    assert_true(json_is_number(json_object_get(json_object_get(c0, "evidence"), "fused")));
    json_decref(co);
    assert_int_equal(check_problems(s), 0);

    /* Erasing a candidate: the case says so, without their evidence. */
    assert_int_equal(huella_store_person_erase(s, a, "dpo", "request 17", &err), HUELLA_OK);
    assert_int_equal(huella_store_case_json(s, k1, &cj, &err), HUELLA_OK);
    co = json_loads(cj, 0, NULL);
    free(cj);
    c0 = json_array_get(json_object_get(co, "candidates"), 0);
    assert_true(json_is_true(json_object_get(c0, "erased")));
    assert_true(json_is_null(json_object_get(c0, "evidence")));
    /* ed belonged to a: the case's encounter is gone too. */
    assert_true(json_is_true(json_object_get(co, "encounter_erased")));
    assert_true(json_is_null(json_object_get(co, "encounter_id")));
    json_decref(co);
    assert_int_equal(huella_store_encounter_person(s, ed, NULL, NULL), HUELLA_E_NOTFOUND);
    assert_int_equal(check_problems(s), 0);
    huella_store_close(s);
    free(ftb);
}

/* ---- encryption at rest and erasure --------------------------------------- */

static void test_encrypted_at_rest_and_erasure(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *dir = test_tmpfile("shred");
    huella_store *s = fresh("shred", 0);
    huella_error err;
    size_t f1n, f2n;
    uint8_t *f1 = finger_tmpl("finger/fvc2002/DB2_B/101_1.iso", &f1n);
    uint8_t *f2 = finger_tmpl("finger/fvc2002/DB3_B/105_1.iso", &f2n);
    size_t img_n;
    uint8_t *img = test_read_file(test_data("finger/fvc2002/DB1_B/103_1.tif"), &img_n);
    uint8_t img2[4096];
    fill(img2, sizeof(img2), 9);
    const char *name = "Xiomara Quetzalcoatl-Ybarra";
    char bio[256];
    snprintf(bio, sizeof(bio),
             "{\"names\":[\"%s\"],\"documents\":[{\"type\":\"passport\","
             "\"number\":\"ZQ9988776\"}]}",
             name);
    int64_t ex, sx, ky;
    int64_t x = add_person(s, bio, f1, f1n, img, img_n, &ex, &sx);
    int64_t y =
        add_person(s, "{\"names\":[\"Bob Keeper\"]}", f2, f2n, img2, sizeof(img2), NULL, NULL);
    huella_store_candidate cand = {x, "{\"score\": 50}"};
    /* y's encounter raised a case naming x. */
    int64_t *ids;
    size_t n;
    assert_int_equal(huella_store_person_encounters(s, y, &ids, &n, &err), HUELLA_OK);
    assert_int_equal(huella_store_case_open(s, ids[0], &cand, 1, "dedup", &ky, &err), HUELLA_OK);
    free(ids);

    /* Nothing in the clear, in the database or its log, while open. */
    assert_false(store_files_contain(dir, f1 + f1n / 2 - 16, 32));
    assert_false(store_files_contain(dir, f2 + f2n / 2 - 16, 32));
    assert_false(store_files_contain(dir, img + img_n / 2, 32));
    assert_false(store_files_contain(dir, img2 + 1000, 32));
    assert_false(store_files_contain(dir, name, strlen(name)));
    assert_false(store_files_contain(dir, "ZQ9988776", 9));
    assert_false(store_files_contain(dir, "Bob Keeper", 10));
    assert_false(store_files_contain(dir, "xiomara", 7));

    /* The gallery forms (prepared fingers, sealed per person) too. */
    size_t written = 0;
    assert_int_equal(huella_store_gallery_refresh(s, &written, &err), HUELLA_OK);
    assert_int_equal(written, 2);
    /* Collect x's ciphertexts as stored, and check they are in the files
     * (so that their absence later means something). */
    sqlite3 *raw;
    char path[1024];
    snprintf(path, sizeof(path), "%s/huella.db", dir);
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    static const char *const blob_sql[5] = {
        "SELECT wrapped_key FROM person WHERE id = ?1",
        "SELECT bio FROM encounter WHERE person_id = ?1",
        "SELECT templates FROM sample WHERE person_id = ?1",
        "SELECT i.data FROM image i JOIN sample s ON s.id = i.sample_id WHERE s.person_id = ?1",
        "SELECT form FROM gallery_form WHERE person_id = ?1",
    };
    uint8_t cipher[5][32];
    for (int i = 0; i < 5; i++) {
        sqlite3_stmt *q;
        assert_int_equal(sqlite3_prepare_v2(raw, blob_sql[i], -1, &q, NULL), SQLITE_OK);
        sqlite3_bind_int64(q, 1, x);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_true(sqlite3_column_bytes(q, 0) >= 64);
        memcpy(cipher[i], (const uint8_t *)sqlite3_column_blob(q, 0) + 24, 32);
        sqlite3_finalize(q);
    }
    sqlite3_close(raw);
    for (int i = 0; i < 5; i++)
        assert_true(store_files_contain(dir, cipher[i], 32));

    assert_int_equal(huella_store_person_erase(s, x, "dpo", "art. 17 request", &err), HUELLA_OK);
    assert_int_equal(huella_store_person_erase(s, x, "dpo", "again", &err), HUELLA_E_NOTFOUND);
    char *gone = NULL;
    assert_int_equal(huella_store_person_json(s, x, false, &gone, &err), HUELLA_E_NOTFOUND);
    assert_null(gone);
    /* Not a byte of x's ciphertext left, with the store still open. */
    for (int i = 0; i < 5; i++)
        if (store_files_contain(dir, cipher[i], 32))
            fail_msg("ciphertext %d of the erased person is still in the files", i);
    huella_store_close(s);
    for (int i = 0; i < 5; i++)
        assert_false(store_files_contain(dir, cipher[i], 32));
    assert_false(store_files_contain(dir, name, strlen(name)));

    /* y is intact; the case says a person was erased. */
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_OK);
    scan sc = {0};
    assert_int_equal(huella_store_foreach_template(s, HUELLA_STORE_FINGER, collect, &sc, &err),
                     HUELLA_OK);
    assert_int_equal(sc.n, 1);
    assert_int_equal(sc.person[0], y);
    char *cj;
    assert_int_equal(huella_store_case_json(s, ky, &cj, &err), HUELLA_OK);
    json_t *co = json_loads(cj, 0, NULL);
    free(cj);
    json_t *c0 = json_array_get(json_object_get(co, "candidates"), 0);
    assert_int_equal(json_integer_value(json_object_get(c0, "person_id")), x);
    assert_true(json_is_true(json_object_get(c0, "erased")));
    assert_true(json_is_null(json_object_get(c0, "evidence")));
    json_decref(co);
    assert_int_equal(check_problems(s), 0);
    /* Ids are never reused. */
    int64_t z;
    assert_int_equal(huella_store_person_create(s, &z, &err), HUELLA_OK);
    assert_true(z > y);
    huella_store_close(s);
    free(f1);
    free(f2);
    free(img);
}

/* ---- tampering ----------------------------------------------------------- */

static void raw_exec(const char *dir, const char *sql)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/huella.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(raw, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(raw);
}

static void test_tamper(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *dir = test_tmpfile("tamper");
    huella_store *s = fresh("tamper", 0);
    size_t f1n, f2n;
    uint8_t *f1 = finger_tmpl("finger/fvc2002/DB1_B/104_1.iso", &f1n);
    uint8_t *f2 = finger_tmpl("finger/fvc2002/DB1_B/105_1.iso", &f2n);
    uint8_t img[800];
    fill(img, sizeof(img), 3);
    int64_t s1, s2;
    add_person(s, "{\"names\":[\"Carla\"]}", f1, f1n, img, sizeof(img), NULL, &s1);
    add_person(s, "{\"names\":[\"Dario\"]}", f2, f2n, img, sizeof(img), NULL, &s2);
    assert_int_equal(check_problems(s), 0);
    huella_store_close(s);

    const char *argv[] = {"db", "check", "--db", dir, NULL};
    char *out = NULL, *errs = NULL;
    assert_int_equal(test_run_huella(argv, NULL, &out, &errs), 0);
    free(out);
    free(errs);

    /* Swap the template blobs of the two samples. */
    raw_exec(dir,
             "CREATE TEMP TABLE t AS SELECT id, templates FROM sample;"
             "UPDATE sample SET templates = (SELECT templates FROM t WHERE t.id != sample.id);");
    assert_int_equal(huella_store_open(dir, &s, NULL), HUELLA_OK);
    assert_true(check_problems(s) >= 2);
    scan sc = {0};
    huella_error err;
    assert_int_equal(huella_store_foreach_template(s, HUELLA_STORE_FINGER, collect, &sc, &err),
                     HUELLA_E_INPUT);
    huella_store_close(s);
    assert_int_equal(test_run_huella(argv, NULL, &out, &errs), 2);
    assert_non_null(strstr(out, "does not authenticate"));
    free(out);
    free(errs);
    /* Swap them back: clean again. */
    raw_exec(dir,
             "CREATE TEMP TABLE t AS SELECT id, templates FROM sample;"
             "UPDATE sample SET templates = (SELECT templates FROM t WHERE t.id != sample.id);");
    assert_int_equal(huella_store_open(dir, &s, NULL), HUELLA_OK);
    assert_int_equal(check_problems(s), 0);
    huella_store_close(s);

    /* Flip one byte of an image, of a biographic document, of a key. */
    static const char *const flips[3] = {
        "UPDATE image SET data = substr(data, 1, 100) || "
        "(CASE WHEN substr(data, 101, 1) = x'5A' THEN x'A5' ELSE x'5A' END) || substr(data, 102)"
        " WHERE sample_id = (SELECT min(sample_id) FROM image)",
        "UPDATE encounter SET bio = substr(bio, 1, 30) || "
        "(CASE WHEN substr(bio, 31, 1) = x'00' THEN x'01' ELSE x'00' END) || substr(bio, 32)"
        " WHERE id = (SELECT max(id) FROM encounter)",
        "UPDATE person SET wrapped_key = substr(wrapped_key, 1, 40) || "
        "(CASE WHEN substr(wrapped_key, 41, 1) = x'00' THEN x'01' ELSE x'00' END) ||"
        " substr(wrapped_key, 42) WHERE id = (SELECT min(id) FROM person)",
    };
    static const char *const expect[3] = {"image: ", "biographic data: ", "wrapped data key"};
    for (int i = 0; i < 3; i++) {
        raw_exec(dir, flips[i]);
        assert_int_equal(huella_store_open(dir, &s, NULL), HUELLA_OK);
        char *report;
        size_t n;
        assert_int_equal(huella_store_check(s, &report, &n, NULL), HUELLA_OK);
        assert_true(n >= 1);
        if (strstr(report, expect[i]) == NULL)
            fail_msg("flip %d not reported: %s", i, report);
        free(report);
        huella_store_close(s);
    }
    /* A person whose key no longer unwraps can still be erased. */
    assert_int_equal(huella_store_open(dir, &s, NULL), HUELLA_OK);
    int64_t *ids;
    size_t n;
    assert_int_equal(huella_store_persons(s, &ids, &n, NULL), HUELLA_OK);
    assert_int_equal(n, 2);
    huella_error err2;
    assert_int_equal(huella_store_person_erase(s, ids[0], "dpo", "damaged", &err2), HUELLA_OK);
    free(ids);
    char *report;
    assert_int_equal(huella_store_check(s, &report, &n, NULL), HUELLA_OK);
    assert_null(strstr(report, "wrapped data key"));
    free(report);
    huella_store_close(s);
    free(f1);
    free(f2);
}

/* ---- key file permissions -------------------------------------------------- */

static void test_key_permissions(void **state)
{
    (void)state;
    const char *dir = test_tmpfile("perm");
    huella_store *s = fresh("perm", 0);
    huella_store_close(s);
    char key[1024];
    snprintf(key, sizeof(key), "%s/master.key", dir);
    struct stat sb;
    assert_int_equal(stat(key, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    static const mode_t bad[4] = {0640, 0604, 0620, 0602};
    huella_error err;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(chmod(key, bad[i]), 0);
        assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_E_DENIED);
        assert_null(s);
        assert_non_null(strstr(err.message, "group or others"));
    }
    const char *argv[] = {"person", "show", "1", "--db", dir, NULL};
    char *out = NULL, *errs = NULL;
    assert_int_equal(test_run_huella(argv, NULL, &out, &errs), 2);
    assert_non_null(strstr(errs, "master key"));
    free(out);
    free(errs);
    assert_int_equal(chmod(key, 0400), 0);
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_OK);
    huella_store_close(s);
    /* A key of the wrong size, and a second init, are refused. */
    assert_int_equal(huella_store_init(dir, NULL, &err), HUELLA_E_INPUT);
    assert_int_equal(chmod(key, 0600), 0);
    assert_true(test_write_file(key, "short", 5));
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_E_INPUT);
    /* Another store's master key is refused at open, by name. */
    const char *dir2 = test_tmpfile("perm2");
    s = fresh("perm2", 0);
    int64_t p;
    assert_int_equal(huella_store_person_create(s, &p, &err), HUELLA_OK);
    huella_store_close(s);
    uint8_t other[32];
    fill(other, sizeof(other), 77);
    snprintf(key, sizeof(key), "%s/master.key", dir2);
    assert_true(test_write_file(key, other, sizeof(other)));
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(huella_store_open(dir2, &s, &err), HUELLA_E_DENIED);
    assert_non_null(strstr(err.message, "not the key of the store"));
}

/* ---- master key rotation ----------------------------------------------------- */

static void test_rekey(void **state)
{
    (void)state;
    const char *dir = test_tmpfile("rekey");
    huella_store *s = fresh("rekey", 0);
    huella_error err;
    uint8_t img[700];
    fill(img, sizeof(img), 11);
    huella_finger_template *ft;
    assert_int_equal(huella_finger_template_new(&ft, NULL), HUELLA_OK);
    ft->width = 300;
    ft->height = 300;
    for (int i = 0; i < 20; i++) {
        huella_minutia m = {(float)(12 * i), (float)(7 * i), (float)(0.3 * i), 2, 50};
        assert_int_equal(huella_finger_template_add(ft, &m, NULL), HUELLA_OK);
    }
    uint8_t *ftb;
    size_t ftn;
    assert_int_equal(huella_finger_template_encode(ft, &ftb, &ftn, NULL), HUELLA_OK);
    huella_finger_template_free(ft);
    int64_t sid;
    add_person(s, "{\"names\":[\"Iker Rekey\"]}", ftb, ftn, img, sizeof(img), NULL, &sid);
    huella_store_close(s);

    char key[1024], new_key[1024];
    snprintf(key, sizeof(key), "%s/master.key", dir);
    snprintf(new_key, sizeof(new_key), "%s/master.key.new", dir);
    size_t n;
    uint8_t *k1 = test_read_file(key, &n);
    assert_int_equal(n, 32);
    if (huella_store_rekey(dir, &err) != HUELLA_OK)
        fail_msg("rekey: %s", err.message);
    uint8_t *k2 = test_read_file(key, &n);
    assert_int_equal(n, 32);
    assert_true(memcmp(k1, k2, 32) != 0);
    struct stat sb;
    assert_int_equal(stat(key, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(new_key, &sb), -1);
    /* Everything still reads, under the new key. */
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_OK);
    huella_store_sample_data *d;
    assert_int_equal(huella_store_sample_get(s, sid, &d, &err), HUELLA_OK);
    assert_memory_equal(d->image, img, sizeof(img));
    huella_store_sample_data_free(d);
    assert_int_equal(check_problems(s), 0);
    huella_store_close(s);
    /* The old key opens nothing now. */
    assert_true(test_write_file(key, k1, 32));
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_E_DENIED);

    /* A crash after the commit, before the rename: the old key in
     * master.key, the new one in master.key.new.  Open finishes it. */
    assert_true(test_write_file(new_key, k2, 32));
    assert_int_equal(chmod(new_key, 0600), 0);
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_OK);
    huella_store_close(s);
    uint8_t *k3 = test_read_file(key, &n);
    assert_memory_equal(k3, k2, 32);
    assert_int_equal(stat(new_key, &sb), -1);
    /* A crash before the commit: a stray master.key.new is dropped. */
    assert_true(test_write_file(new_key, k1, 32));
    assert_int_equal(chmod(new_key, 0600), 0);
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_OK);
    assert_int_equal(check_problems(s), 0);
    huella_store_close(s);
    assert_int_equal(stat(new_key, &sb), -1);
    /* The command. */
    const char *argv[] = {"db", "rekey", "--db", dir, NULL};
    char *out = NULL, *errs = NULL;
    assert_int_equal(test_run_huella(argv, NULL, &out, &errs), 0);
    free(out);
    free(errs);
    uint8_t *k4 = test_read_file(key, &n);
    assert_true(memcmp(k4, k2, 32) != 0);
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_OK);
    assert_int_equal(check_problems(s), 0);
    huella_store_close(s);
    free(k1);
    free(k2);
    free(k3);
    free(k4);
    free(ftb);
}

/* ---- migrations ------------------------------------------------------------- */

static int user_version_of(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/huella.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(raw);
    return v;
}

static void test_migrations(void **state)
{
    (void)state;
    assert_true(huella_store_schema_version() >= 2);
    assert_int_equal(huella_store_schema_version(), store_n_migrations);
    /* A store as version 1 wrote it, with a person in it. */
    const char *dir = test_tmpfile("v1");
    huella_store *s = fresh("v1", 0);
    int64_t p, e;
    huella_error err;
    assert_int_equal(huella_store_person_create(s, &p, &err), HUELLA_OK);
    assert_int_equal(huella_store_encounter_add(s, p, &base_enc, "{\"names\":[\"Eva\"]}", &e, &err),
                     HUELLA_OK);
    huella_store_close(s);
    raw_exec(
        dir,
        "DROP TRIGGER gallery_change_form_insert; DROP TRIGGER gallery_change_form_update;"
        " DROP TRIGGER gallery_change_form_delete; DROP TRIGGER gallery_change_person_insert;"
        " DROP TRIGGER gallery_change_person_delete; DROP TABLE gallery_change;"
        " DROP TABLE gallery_snapshot;"
        " DROP TRIGGER gallery_form_sample_insert; DROP TRIGGER gallery_form_sample_delete;"
        " DROP TRIGGER gallery_form_sample_update; DROP TABLE gallery_form;"
        " DROP TABLE idempotency; DROP TABLE bio_history; ALTER TABLE person DROP COLUMN agency;"
        " DROP TABLE case_candidate; DROP TABLE dup_case; DROP TABLE erasure;"
        " PRAGMA user_version = 1;");
    assert_int_equal(user_version_of(dir), 1);
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_OK);
    assert_int_equal(user_version_of(dir), huella_store_schema_version());
    /* The new tables work and the old data is intact. */
    int64_t q, k;
    assert_int_equal(huella_store_person_create(s, &q, &err), HUELLA_OK);
    huella_store_candidate c = {q, NULL};
    assert_int_equal(huella_store_case_open(s, e, &c, 1, "t", &k, &err), HUELLA_OK);
    char *json;
    assert_int_equal(huella_store_person_json(s, p, false, &json, &err), HUELLA_OK);
    assert_non_null(strstr(json, "Eva"));
    free(json);
    char agency[64];
    assert_int_equal(huella_store_person_agency(s, p, agency, &err), HUELLA_OK);
    assert_string_equal(agency, "default"); /* migration 3: existing rows */
    assert_int_equal(check_problems(s), 0);
    huella_store_close(s);
    /* A newer schema than this library knows is refused, untouched. */
    raw_exec(dir, "PRAGMA user_version = 99;");
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_E_UNSUPPORTED);
    assert_int_equal(user_version_of(dir), 99);
    /* A migration that fails leaves the database as it was. */
    raw_exec(dir, "PRAGMA user_version = 1;");
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_E_INTERNAL); /* tables exist */
    assert_int_equal(user_version_of(dir), 1);
}

/* ---- ownership and rectification ------------------------------------------ */

static void test_rectify_history(void **state)
{
    (void)state;
    huella_store *s = fresh("rectify", 0);
    int64_t p, e, changed = 0;
    huella_error err;
    assert_int_equal(huella_store_person_create(s, &p, &err), HUELLA_OK);
    assert_int_equal(huella_store_person_set_agency(s, p, "border-es", &err), HUELLA_OK);
    char agency[64];
    assert_int_equal(huella_store_person_agency(s, p, agency, &err), HUELLA_OK);
    assert_string_equal(agency, "border-es");
    assert_int_equal(huella_store_person_set_agency(s, p, "Bad Agency", &err), HUELLA_E_INPUT);
    assert_int_equal(huella_store_encounter_add(s, p, &base_enc,
                                                "{\"names\":[\"Eva Ruiz\"],\"sex\":\"F\","
                                                "\"date_of_birth\":\"1990\"}",
                                                &e, &err),
                     HUELLA_OK);
    assert_int_equal(huella_store_person_rectify(s, p,
                                                 "{\"date_of_birth\":\"2020-01-02\","
                                                 "\"sex\":null}",
                                                 "dpo-ana", "request of the person", &changed,
                                                 &err),
                     HUELLA_OK);
    assert_int_equal(changed, e);
    bool juvenile = false;
    assert_int_equal(huella_store_person_juvenile(s, p, &juvenile, &err), HUELLA_OK);
    assert_true(juvenile); /* the rectified date of birth counts */
    char *json;
    assert_int_equal(huella_store_person_json(s, p, false, &json, &err), HUELLA_OK);
    assert_non_null(strstr(json, "2020-01-02"));
    assert_null(strstr(json, "\"sex\""));
    free(json);
    assert_int_equal(huella_store_person_history(s, p, &json, &err), HUELLA_OK);
    assert_non_null(strstr(json, "\"1990\""));
    assert_non_null(strstr(json, "dpo-ana"));
    assert_non_null(strstr(json, "date_of_birth,sex"));
    free(json);
    /* Refused: unknown member, malformed value, no reason; nothing changes. */
    assert_int_equal(huella_store_person_rectify(s, p, "{\"eyes\":\"blue\"}", "x", "y", NULL, &err),
                     HUELLA_E_INPUT);
    assert_int_equal(huella_store_person_rectify(s, p, "{\"sex\":\"Q\"}", "x", "y", NULL, &err),
                     HUELLA_E_INPUT);
    assert_int_equal(huella_store_person_rectify(s, p, "{\"sex\":\"M\"}", "x", "", NULL, &err),
                     HUELLA_E_INPUT);
    assert_int_equal(huella_store_person_history(s, p, &json, &err), HUELLA_OK);
    json_t *arr = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    free(json);
    assert_int_equal(check_problems(s), 0);
    /* Erasure takes the history with it. */
    assert_int_equal(huella_store_person_erase(s, p, "dpo-ana", "erasure request", &err),
                     HUELLA_OK);
    assert_int_equal(huella_store_person_history(s, p, &json, &err), HUELLA_E_NOTFOUND);
    huella_store_close(s);
    char path[1024];
    snprintf(path, sizeof(path), "%s/huella.db", test_tmpfile("rectify"));
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(raw, "SELECT count(*) FROM bio_history", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
    sqlite3_close(raw);
}

/* ---- enrolment in three steps ---------------------------------------------- */

typedef struct match_ctx {
    const uint8_t *want;
    size_t len;
    int64_t sample;
    bool found;
} match_ctx;

static huella_status find_tmpl(void *ctx, int64_t person, int64_t sample, unsigned position,
                               const uint8_t *t, size_t len)
{
    (void)person;
    (void)position;
    match_ctx *m = ctx;
    if (sample == m->sample && len == m->len && memcmp(t, m->want, len) == 0)
        m->found = true;
    return HUELLA_OK;
}

static void test_enrol_decisions(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_store *s = fresh("enrol", 0);
    huella_error err;
    size_t n1, n2, n3;
    uint8_t *a = test_read_file(test_data("finger/fvc2002/DB1_B/106_1.tif"), &n1);
    uint8_t *b = test_read_file(test_data("finger/fvc2002/DB1_B/106_2.tif"), &n2);
    uint8_t *eye = test_read_file(test_data("iris/casia-v1/2/002_1_1.jpg"), &n3);
    huella_enrol_input in[2] = {{HUELLA_STORE_FINGER, 2, "106_1.tif", a, n1},
                                {HUELLA_STORE_IRIS, 1, "002_1_1.jpg", eye, n3}};
    huella_enrol_request req = {in, 2, 0, base_enc, "{\"names\":[\"Rosa Parra\"]}", NULL};

    /* 1. new person */
    huella_enrol_result *r1 = NULL;
    if (huella_enrol(s, &req, &r1, &err) != HUELLA_OK)
        fail_msg("enrol: %s", err.message);
    assert_true(r1->person_id > 0 && r1->encounter_id > 0 && r1->case_id == 0);
    assert_int_equal(r1->n_samples, 2);
    assert_non_null(r1->samples[0].tmpl);
    assert_int_equal(r1->samples[1].tmpl_len, HUELLA_IRIS_TEMPLATE_BYTES);
    assert_in_range(r1->samples[0].quality, 0, 100);
    assert_string_equal(r1->samples[0].image_format, "tiff");
    match_ctx m = {r1->samples[0].tmpl, r1->samples[0].tmpl_len, r1->samples[0].sample_id, false};
    assert_int_equal(huella_store_foreach_template(s, HUELLA_STORE_FINGER, find_tmpl, &m, &err),
                     HUELLA_OK);
    assert_true(m.found);

    /* 2. extract, "identify", link to the person found */
    in[0] = (huella_enrol_input){HUELLA_STORE_FINGER, 2, "106_2.tif", b, n2};
    req.n_inputs = 1;
    huella_enrol_result *r2 = NULL;
    assert_int_equal(huella_enrol_extract(&req, &r2, &err), HUELLA_OK);
    huella_enrol_decision link = {HUELLA_ENROL_LINK, r1->person_id, "fused LR 1e9", NULL, 0};
    assert_int_equal(huella_enrol_commit(s, &req, &link, r2, &err), HUELLA_OK);
    assert_int_equal(r2->person_id, r1->person_id);
    int64_t *ids;
    size_t n;
    assert_int_equal(huella_store_person_encounters(s, r1->person_id, &ids, &n, &err), HUELLA_OK);
    assert_int_equal(n, 2);
    free(ids);
    char *hist;
    assert_int_equal(huella_store_link_history(s, r2->encounter_id, &hist, &err), HUELLA_OK);
    assert_non_null(strstr(hist, "fused LR 1e9"));
    assert_non_null(strstr(hist, "\"link\""));
    free(hist);

    /* 3. ambiguous: a new person and a case naming the candidate */
    huella_enrol_result *r3 = NULL;
    assert_int_equal(huella_enrol_extract(&req, &r3, &err), HUELLA_OK);
    huella_store_candidate cand = {r1->person_id, "{\"fused\": 3.2}"};
    huella_enrol_decision amb = {HUELLA_ENROL_CASE, 0, NULL, &cand, 1};
    assert_int_equal(huella_enrol_commit(s, &req, &amb, r3, &err), HUELLA_OK);
    assert_true(r3->person_id != r1->person_id);
    assert_true(r3->case_id > 0);
    char *cj;
    assert_int_equal(huella_store_case_json(s, r3->case_id, &cj, &err), HUELLA_OK);
    assert_non_null(strstr(cj, "\"open\""));
    free(cj);

    /* A failing commit leaves nothing: linking to a person that is not there. */
    huella_enrol_result *r4 = NULL;
    assert_int_equal(huella_enrol_extract(&req, &r4, &err), HUELLA_OK);
    link.link_person = 9999;
    assert_int_equal(huella_enrol_commit(s, &req, &link, r4, &err), HUELLA_E_NOTFOUND);
    assert_int_equal(huella_store_persons(s, &ids, &n, &err), HUELLA_OK);
    assert_int_equal(n, 2);
    free(ids);
    /* Bad inputs are refused before any work. */
    huella_enrol_input dup[2] = {{HUELLA_STORE_FINGER, 2, "x", a, n1},
                                 {HUELLA_STORE_FINGER, 2, "y", b, n2}};
    huella_enrol_request bad = {dup, 2, 0, base_enc, NULL, NULL};
    huella_enrol_result *r5 = NULL;
    assert_int_equal(huella_enrol_extract(&bad, &r5, &err), HUELLA_E_INPUT);
    dup[1] = (huella_enrol_input){HUELLA_STORE_IRIS, 3, "z", eye, n3};
    assert_int_equal(huella_enrol_extract(&bad, &r5, &err), HUELLA_E_INPUT);
    dup[1] = (huella_enrol_input){HUELLA_STORE_IRIS, 2, "z", (const uint8_t *)"not an image", 12};
    assert_int_equal(huella_enrol_extract(&bad, &r5, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "z"));
    assert_int_equal(check_problems(s), 0);
    huella_enrol_result_free(r1);
    huella_enrol_result_free(r2);
    huella_enrol_result_free(r3);
    huella_enrol_result_free(r4);
    huella_store_close(s);
    free(a);
    free(b);
    free(eye);
}

/* ---- commands ------------------------------------------------------------------ */

static void test_cli(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *dir = test_tmpfile("cli");
    const char *bio = test_tmpfile("cli-bio.json");
    const char *doc = "{\"names\":[{\"written\":\"Ольга Смирнова\"}],\"date_of_birth\":\"2015\"}";
    assert_true(test_write_file(bio, doc, strlen(doc)));
    char *out = NULL, *errs = NULL;
    const char *init[] = {"db", "init", dir, "--juvenile-age", "16", NULL};
    assert_int_equal(test_run_huella(init, NULL, &out, &errs), 0);
    free(out);
    free(errs);
    char f2[512], f3[512], il[512];
    snprintf(f2, sizeof(f2), "2=%s", test_data("finger/fvc2002/DB1_B/101_1.tif"));
    snprintf(f3, sizeof(f3), "3=%s", test_data("finger/fvc2002/DB1_B/101_2.tif"));
    snprintf(il, sizeof(il), "left=%s", test_data("iris/casia-v1/1/001_1_1.jpg"));
    const char *enrol[] = {
        "enrol",  "--db",       dir,     "--finger",  f2,       "--finger",      f3,
        "--iris", il,           "--bio", bio,         "--site", "Ceuta",         "--device",
        "scan-1", "--operator", "op-1",  "--purpose", "asylum", "--legal-basis", "EU 2024/1358",
        "--json", NULL};
    int rc = test_run_huella(enrol, NULL, &out, &errs);
    if (rc != 0)
        fail_msg("enrol: %s", errs);
    json_t *o = json_loads(out, 0, NULL);
    free(out);
    free(errs);
    assert_non_null(o);
    json_int_t person = json_integer_value(json_object_get(o, "person_id"));
    assert_true(person > 0);
    assert_true(json_integer_value(json_object_get(o, "encounter_id")) > 0);
    json_t *smp = json_object_get(o, "samples");
    assert_int_equal(json_array_size(smp), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *q = json_object_get(json_array_get(smp, i), "quality");
        assert_true(json_is_integer(q));
        assert_in_range(json_integer_value(q), 0, 100);
    }
    assert_int_equal(json_integer_value(json_object_get(json_array_get(smp, 2), "template_bytes")),
                     HUELLA_IRIS_TEMPLATE_BYTES);
    json_decref(o);

    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)person);
    const char *show[] = {"person", "show", id, "--db", dir, "--json", NULL};
    assert_int_equal(test_run_huella(show, NULL, &out, &errs), 0);
    o = json_loads(out, 0, NULL);
    free(out);
    free(errs);
    json_t *enc = json_array_get(json_object_get(o, "encounters"), 0);
    assert_true(json_is_true(json_object_get(enc, "juvenile"))); /* 10-11 years, limit 16 */
    assert_string_equal(json_string_value(json_object_get(enc, "legal_basis")), "EU 2024/1358");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(enc, "bio"), "names"), 0), "latin")),
        "olga smirnova");
    json_decref(o);

    /* Usage and input errors. */
    const char *no_ops[] = {"enrol", "--db", dir, "--finger", f2, NULL};
    assert_int_equal(test_run_huella(no_ops, NULL, &out, &errs), 1);
    free(out);
    free(errs);
    const char *bad_pos[] = {"enrol", "--db", dir, "--finger", "11=x.png", NULL};
    assert_int_equal(test_run_huella(bad_pos, NULL, &out, &errs), 1);
    free(out);
    free(errs);
    char notimg[512];
    snprintf(notimg, sizeof(notimg), "4=%s", bio);
    const char *bad_img[] = {"enrol", "--db",          dir, "--finger",   notimg, "--site",
                             "s",     "--device",      "d", "--operator", "o",    "--purpose",
                             "p",     "--legal-basis", "l", NULL};
    assert_int_equal(test_run_huella(bad_img, NULL, &out, &errs), 2);
    free(out);
    free(errs);

    const char *check[] = {"db", "check", dir, NULL};
    assert_int_equal(test_run_huella(check, NULL, &out, &errs), 0);
    assert_non_null(strstr(out, "1 persons"));
    free(out);
    free(errs);
    const char *erase_noreason[] = {"person", "erase", id, "--db", dir, NULL};
    assert_int_equal(test_run_huella(erase_noreason, NULL, &out, &errs), 1);
    free(out);
    free(errs);
    const char *erase[] = {"person", "erase", id, "--db", dir, "--reason", "test", NULL};
    assert_int_equal(test_run_huella(erase, NULL, &out, &errs), 0);
    free(out);
    free(errs);
    assert_int_equal(test_run_huella(show, NULL, &out, &errs), 2);
    free(out);
    free(errs);
    assert_false(store_files_contain(dir, "\xd0\x9e\xd0\xbb\xd1\x8c\xd0\xb3\xd0\xb0", 10));
    assert_int_equal(test_run_huella(check, NULL, &out, &errs), 0);
    free(out);
    free(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bio_dates_and_juvenile),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_encrypted_at_rest_and_erasure),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_key_permissions),
        cmocka_unit_test(test_rekey),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_rectify_history),
        cmocka_unit_test(test_enrol_decisions),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
