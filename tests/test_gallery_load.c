/*
 * test_gallery_load.c - loading the galleries from the store through the
 * sealed per-person gallery forms (src/store/gallery_form.c,
 * src/store/gallery_load.c) and the serialised compact finger form
 * (huella_finger_prepared_serialize / _load):
 *   - a loaded prepared finger compares exactly (bit for bit) as the one
 *     that was serialised, on real FVC2002 templates; damaged bytes and
 *     another format are refused;
 *   - a gallery loaded from the forms gives exactly the identification
 *     results of one rebuilt from the templates;
 *   - the forms follow the samples: a new sample, a link and an erasure
 *     drop the affected forms (triggers), a form of another format is
 *     stale and rebuilt, db check verifies forms and catches swapped ones;
 *   - faces: enrolment makes the face template, the load fills the face
 *     slot, and a face probe finds its person (ORL photos).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "huella/dedup.h"
#include "huella/finger.h"
#include "huella/gallery.h"
#include "huella/image.h"
#include "huella/iris.h"
#include "huella/store.h"
#include "support.h"

static const huella_store_encounter enc = {"2026-06-01T10:00:00Z", "Site-1", "Dev-1", "op-1",
                                           "registration",         "test",   NULL};

static huella_finger_template *iso(const char *db, int finger, int impression)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "finger/fvc2002/%s/%d_%d.iso", db, finger, impression);
    size_t n;
    uint8_t *raw = test_read_file(test_data(rel), &n);
    assert_non_null(raw);
    huella_finger_template *t = NULL;
    assert_int_equal(huella_finger_template_load(raw, n, &t, NULL), HUELLA_OK);
    free(raw);
    return t;
}

static uint8_t *encoded_finger(const char *db, int finger, int impression, size_t *len)
{
    huella_finger_template *t = iso(db, finger, impression);
    uint8_t *out = NULL;
    assert_int_equal(huella_finger_template_encode(t, &out, len, NULL), HUELLA_OK);
    huella_finger_template_free(t);
    return out;
}

static huella_iris_template *iris_of(int eye, const char *name)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "iris/casia-v1/%d/%03d_%s.jpg", eye, eye, name);
    huella_image *img = NULL;
    assert_int_equal(huella_image_read(test_data(rel), NULL, &img, NULL), HUELLA_OK);
    huella_iris_template *t = NULL;
    assert_int_equal(huella_iris_encode(img, NULL, &t, NULL), HUELLA_OK);
    huella_image_free(img);
    return t;
}

/* ---- the serialised compact finger form ---------------------------------- */

static void test_prepared_round_trip(void **state)
{
    (void)state;
    enum { N = 16 };
    huella_finger_prepared *compact[N], *loaded[N], *probe[N];
    huella_error err;
    for (int i = 0; i < N; i++) {
        huella_finger_template *a = iso("DB1_B", 101 + i / 2, 1 + i % 2);
        huella_finger_template *b = iso("DB1_B", 101 + i / 2, 3 + i % 2);
        assert_int_equal(huella_finger_prepare_compact(a, &compact[i], &err), HUELLA_OK);
        assert_int_equal(huella_finger_prepare(b, &probe[i], &err), HUELLA_OK);
        uint8_t *bytes = NULL;
        size_t len = 0;
        assert_int_equal(huella_finger_prepared_serialize(compact[i], &bytes, &len, &err),
                         HUELLA_OK);
        assert_true(len > 16 && len < huella_finger_prepared_size(compact[i]));
        assert_int_equal(huella_finger_prepared_load(bytes, len, &loaded[i], &err), HUELLA_OK);
        /* packed tighter than preparation lays it out, never larger */
        assert_true(huella_finger_prepared_size(loaded[i]) <=
                    huella_finger_prepared_size(compact[i]));
        if (i == 0) {
            /* damaged: truncated, another format, an edge naming no minutia */
            huella_finger_prepared *x = NULL;
            assert_int_equal(huella_finger_prepared_load(bytes, len - 1, &x, &err), HUELLA_E_INPUT);
            bytes[4] ^= 0x40;
            assert_int_equal(huella_finger_prepared_load(bytes, len, &x, &err),
                             HUELLA_E_UNSUPPORTED);
            bytes[4] ^= 0x40;
            /* the last edge's j: the j array is followed by the b2 array,
             * n_edges (the second u16 of the header) long */
            uint16_t counts[3];
            memcpy(counts, bytes + 6, sizeof(counts));
            size_t last_j = len - counts[1] - 1;
            uint8_t saved = bytes[last_j];
            bytes[last_j] = 250;
            assert_int_equal(huella_finger_prepared_load(bytes, len, &x, &err), HUELLA_E_INPUT);
            bytes[last_j] = saved;
            assert_null(x);
            /* an indexed template is not serialised */
            uint8_t *none = NULL;
            size_t nl = 0;
            assert_int_equal(huella_finger_prepared_serialize(probe[0], &none, &nl, &err),
                             HUELLA_E_INPUT);
            assert_null(none);
        }
        free(bytes);
        huella_finger_template_free(a);
        huella_finger_template_free(b);
    }
    /* Every comparison exactly the same, mated and non-mated, both ways. */
    size_t mated_high = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s1 = huella_finger_compare(compact[i], probe[j]);
            double s2 = huella_finger_compare(loaded[i], probe[j]);
            double s3 = huella_finger_compare(probe[j], loaded[i]);
            if (s1 != s2 || s1 != huella_finger_compare(probe[j], compact[i]) || s2 != s3)
                fail_msg("template %d against probe %d: %.17g prepared, %.17g loaded", i, j, s1,
                         s2);
            if (i / 2 == j / 2 && s1 > 30)
                mated_high++;
            assert_true(huella_finger_compare(compact[i], compact[j]) ==
                        huella_finger_compare(loaded[i], loaded[j]));
        }
    assert_true(mated_high >= N); /* the pairs matched at all (the test means something) */
    for (int i = 0; i < N; i++) {
        huella_finger_prepared_free(compact[i]);
        huella_finger_prepared_free(loaded[i]);
        huella_finger_prepared_free(probe[i]);
    }
}

/* ---- a store with forms --------------------------------------------------- */

#define PERSONS 8

typedef struct fixture {
    char dir[1024];
    huella_store *s;
    int64_t person[PERSONS], encounter[PERSONS];
    huella_iris_template *probe_iris[2];
} fixture;

/* Person k: FVC2002 DB2_B finger 101 + k (impression 1) at positions 2
 * and 7 (the second from DB3_B), and for k < 2 a right iris of CASIA eye
 * k + 1.  Added with the low-level API, which writes no form. */
static void build(fixture *f, const char *name)
{
    snprintf(f->dir, sizeof(f->dir), "%s", test_tmpfile(name));
    huella_error err;
    if (huella_store_init(f->dir, NULL, &err) != HUELLA_OK)
        fail_msg("init: %s", err.message);
    assert_int_equal(huella_store_open(f->dir, &f->s, &err), HUELLA_OK);
    for (int k = 0; k < PERSONS; k++) {
        assert_int_equal(huella_store_person_create(f->s, &f->person[k], &err), HUELLA_OK);
        assert_int_equal(
            huella_store_encounter_add(f->s, f->person[k], &enc, NULL, &f->encounter[k], &err),
            HUELLA_OK);
        for (int j = 0; j < 2; j++) {
            size_t len;
            uint8_t *t = encoded_finger(j == 0 ? "DB2_B" : "DB3_B", 101 + k, 1, &len);
            huella_store_template tt = {HUELLA_STORE_TEMPLATE_FINGER, 1, t, len};
            huella_store_sample smp = {
                HUELLA_STORE_FINGER, j == 0 ? 2u : 7u, 60, NULL, NULL, 0, &tt, 1};
            int64_t sid;
            assert_int_equal(huella_store_sample_add(f->s, f->encounter[k], &smp, &sid, &err),
                             HUELLA_OK);
            free(t);
        }
        if (k < 2) {
            huella_iris_template *it = iris_of(k + 1, "1_1");
            uint8_t *t = NULL;
            size_t len;
            assert_int_equal(huella_iris_template_encode(it, &t, &len, &err), HUELLA_OK);
            huella_store_template tt = {HUELLA_STORE_TEMPLATE_IRIS, HUELLA_IRIS_TEMPLATE_VERSION, t,
                                        len};
            huella_store_sample smp = {HUELLA_STORE_IRIS, 1, 80, NULL, NULL, 0, &tt, 1};
            int64_t sid;
            assert_int_equal(huella_store_sample_add(f->s, f->encounter[k], &smp, &sid, &err),
                             HUELLA_OK);
            free(t);
            huella_iris_template_free(it);
            f->probe_iris[k] = iris_of(k + 1, "2_1");
        }
    }
}

static void done(fixture *f)
{
    huella_store_close(f->s);
    for (int k = 0; k < 2; k++)
        huella_iris_template_free(f->probe_iris[k]);
}

static huella_gallery *load(huella_store *s, unsigned threads, huella_gallery_load_stats *ls)
{
    huella_gallery *g = NULL;
    huella_error err;
    assert_int_equal(huella_gallery_new(&g, &err), HUELLA_OK);
    huella_gallery_set_threads(g, 1);
    if (huella_gallery_load_store(s, g, threads, ls, &err) != HUELLA_OK)
        fail_msg("load: %s", err.message);
    return g;
}

static size_t stale(huella_store *s)
{
    size_t n = 0;
    huella_error err;
    assert_int_equal(huella_store_gallery_stale(s, &n, &err), HUELLA_OK);
    return n;
}

/* Identification of every person's other impressions (and the irises):
 * the candidates of g1 and g2, identical in every field that matters. */
static void same_results(huella_gallery *g1, huella_gallery *g2, const fixture *f, int persons)
{
    huella_error err;
    for (int k = 0; k < persons; k++) {
        huella_finger_template *a = iso("DB2_B", 101 + k, 4);
        huella_finger_template *b = iso("DB3_B", 101 + k, 5);
        huella_probe p = {0};
        p.finger[1] = a;
        p.finger[6] = b;
        if (k < 2)
            p.iris[0] = &f->probe_iris[k]->code;
        huella_identify_options o = {0};
        o.top_k = PERSONS;
        huella_identify_result *r1 = NULL, *r2 = NULL;
        assert_int_equal(huella_gallery_identify(g1, &p, &o, &r1, &err), HUELLA_OK);
        assert_int_equal(huella_gallery_identify(g2, &p, &o, &r2, &err), HUELLA_OK);
        assert_int_equal(r1->n, r2->n);
        assert_true(r1->n > 0);
        for (size_t i = 0; i < r1->n; i++) {
            const huella_candidate *c1 = &r1->candidates[i], *c2 = &r2->candidates[i];
            assert_int_equal(c1->person, c2->person);
            assert_true(c1->llr == c2->llr);
            for (int sl = 0; sl < HUELLA_GALLERY_SLOTS; sl++) {
                assert_int_equal(c1->slot[sl].present, c2->slot[sl].present);
                assert_true(c1->slot[sl].score == c2->slot[sl].score ||
                            (c1->slot[sl].score != c1->slot[sl].score &&
                             c2->slot[sl].score != c2->slot[sl].score));
                assert_int_equal(c1->slot[sl].sample, c2->slot[sl].sample);
            }
        }
        huella_identify_result_free(r1);
        huella_identify_result_free(r2);
        huella_finger_template_free(a);
        huella_finger_template_free(b);
    }
}

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

static long long raw_count(const char *dir, const char *sql)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/huella.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long long n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(raw);
    return n;
}

/* 32 bytes of the stored ciphertext of a person's gallery form. */
static void form_cipher(const char *dir, int64_t person, uint8_t out[32])
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/huella.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(
        sqlite3_prepare_v2(raw, "SELECT form FROM gallery_form WHERE person_id = ?1", -1, &q, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(q, 1, person);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_true(sqlite3_column_bytes(q, 0) >= 64);
    memcpy(out, (const uint8_t *)sqlite3_column_blob(q, 0) + 24, 32);
    sqlite3_finalize(q);
    sqlite3_close(raw);
}

/* Whether the database or its log holds these bytes. */
static bool files_contain(const char *dir, const uint8_t *needle, size_t m)
{
    static const char *const names[2] = {"huella.db", "huella.db-wal"};
    for (int f = 0; f < 2; f++) {
        char path[1100];
        snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
        size_t n = 0;
        uint8_t *hay = test_read_file(path, &n);
        bool found = false;
        for (size_t i = 0; hay != NULL && i + m <= n && !found; i++)
            found = memcmp(hay + i, needle, m) == 0;
        free(hay);
        if (found)
            return true;
    }
    return false;
}

static size_t check_problems(huella_store *s, const char *want)
{
    char *report = NULL;
    size_t n = 0;
    huella_error err;
    assert_int_equal(huella_store_check(s, &report, &n, &err), HUELLA_OK);
    if (want != NULL && strstr(report, want) == NULL)
        fail_msg("check does not mention '%s': %s", want, report);
    if (want == NULL && n != 0)
        fail_msg("check: %s", report);
    free(report);
    return n;
}

static void test_forms_load_like_templates(void **state)
{
    (void)state;
    fixture f = {0};
    build(&f, "forms");
    huella_error err;
    assert_int_equal(stale(f.s), PERSONS);
    huella_gallery_load_stats l1, l2;
    huella_gallery *g1 = load(f.s, 2, &l1);
    assert_int_equal(l1.persons_rebuilt, PERSONS);
    assert_int_equal(l1.persons_from_forms, 0);
    assert_int_equal(l1.finger_templates, 2 * PERSONS);
    assert_int_equal(l1.iris_templates, 2);
    size_t written = 0;
    assert_int_equal(huella_store_gallery_refresh(f.s, &written, &err), HUELLA_OK);
    assert_int_equal(written, PERSONS);
    assert_int_equal(stale(f.s), 0);
    huella_gallery *g2 = load(f.s, 2, &l2);
    assert_int_equal(l2.persons_from_forms, PERSONS);
    assert_int_equal(l2.persons_rebuilt, 0);
    assert_int_equal(l2.finger_templates, 2 * PERSONS);
    assert_int_equal(l2.iris_templates, 2);
    assert_int_equal(huella_gallery_bytes(g1), huella_gallery_bytes(g2));
    same_results(g1, g2, &f, PERSONS);
    check_problems(f.s, NULL);
    huella_gallery_free(g1);
    huella_gallery_free(g2);
    /* One thread gives the same. */
    huella_gallery *g3 = load(f.s, 1, NULL);
    huella_gallery *g4 = load(f.s, 4, NULL);
    same_results(g3, g4, &f, 3);
    huella_gallery_free(g3);
    huella_gallery_free(g4);
    done(&f);
}

static void test_forms_follow_samples(void **state)
{
    (void)state;
    fixture f = {0};
    build(&f, "follow");
    huella_error err;
    assert_int_equal(huella_store_gallery_refresh(f.s, NULL, &err), HUELLA_OK);
    assert_int_equal(stale(f.s), 0);
    /* A new sample of person 0 drops their form (and only theirs). */
    size_t len;
    uint8_t *t = encoded_finger("DB4_B", 101, 1, &len);
    huella_store_template tt = {HUELLA_STORE_TEMPLATE_FINGER, 1, t, len};
    huella_store_sample smp = {HUELLA_STORE_FINGER, 3, 60, NULL, NULL, 0, &tt, 1};
    int64_t sid;
    assert_int_equal(huella_store_sample_add(f.s, f.encounter[0], &smp, &sid, &err), HUELLA_OK);
    free(t);
    assert_int_equal(stale(f.s), 1);
    huella_gallery_load_stats ls;
    huella_gallery *g = load(f.s, 2, &ls);
    assert_int_equal(ls.persons_rebuilt, 1);
    assert_int_equal(ls.persons_from_forms, PERSONS - 1);
    assert_int_equal(huella_gallery_count_slot(g, 2), 1); /* the new finger is there */
    huella_gallery_free(g);
    assert_int_equal(huella_store_gallery_refresh(f.s, NULL, &err), HUELLA_OK);
    /* A link moves an encounter: both persons' forms are written again
     * in its transaction, and say what the samples say (db check). */
    assert_int_equal(
        huella_store_encounter_link(f.s, f.encounter[2], f.person[3], "op", "test", &err),
        HUELLA_OK);
    assert_int_equal(stale(f.s), 0);
    check_problems(f.s, NULL);
    g = load(f.s, 2, &ls);
    assert_int_equal(ls.persons_rebuilt, 0);
    assert_int_equal(ls.persons, PERSONS - 1); /* person 2 has no samples left */
    huella_gallery_free(g);
    /* Erasing the linked encounter (retention): person 3's form is written
     * again from what remains, and the old one, which held the erased
     * encounter's fingers, is gone from the files. */
    uint8_t old_form[32];
    form_cipher(f.dir, f.person[3], old_form);
    assert_true(files_contain(f.dir, old_form, sizeof(old_form)));
    assert_int_equal(huella_store_encounter_erase(f.s, f.encounter[2], &err), HUELLA_OK);
    assert_int_equal(stale(f.s), 0);
    check_problems(f.s, NULL);
    assert_false(files_contain(f.dir, old_form, sizeof(old_form)));
    /* A form dropped (as the triggers do) is stale until refreshed. */
    char sql[256];
    snprintf(sql, sizeof(sql), "DELETE FROM gallery_form WHERE person_id = %lld",
             (long long)f.person[3]);
    raw_exec(f.dir, sql);
    assert_int_equal(stale(f.s), 1);
    assert_int_equal(huella_store_gallery_refresh(f.s, NULL, &err), HUELLA_OK);
    assert_int_equal(stale(f.s), 0);
    /* Erasure takes the form with the person. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM gallery_form WHERE person_id = %lld",
             (long long)f.person[4]);
    assert_int_equal(raw_count(f.dir, sql), 1);
    assert_int_equal(huella_store_person_erase(f.s, f.person[4], "dpo", "test", &err), HUELLA_OK);
    assert_int_equal(raw_count(f.dir, sql), 0);
    /* A form of another format (another finger preparation) is stale and
     * rebuilt from the templates, with the same results. */
    huella_gallery *before = load(f.s, 2, NULL);
    snprintf(sql, sizeof(sql), "UPDATE gallery_form SET format = format + 1 WHERE person_id = %lld",
             (long long)f.person[5]);
    raw_exec(f.dir, sql);
    assert_int_equal(stale(f.s), 1);
    check_problems(f.s, NULL); /* stale is not a problem */
    huella_gallery *after = load(f.s, 2, &ls);
    assert_int_equal(ls.persons_rebuilt, 1);
    same_results(before, after, &f, 3);
    huella_gallery_free(before);
    huella_gallery_free(after);
    done(&f);
}

static void test_forms_tamper(void **state)
{
    (void)state;
    fixture f = {0};
    build(&f, "tamper");
    huella_error err;
    assert_int_equal(huella_store_gallery_refresh(f.s, NULL, &err), HUELLA_OK);
    huella_store_close(f.s);
    /* Person 0's form under person 1's row: it must not authenticate. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "UPDATE gallery_form SET form = (SELECT form FROM gallery_form WHERE person_id ="
             " %lld) WHERE person_id = %lld",
             (long long)f.person[0], (long long)f.person[1]);
    raw_exec(f.dir, sql);
    assert_int_equal(huella_store_open(f.dir, &f.s, &err), HUELLA_OK);
    assert_true(check_problems(f.s, "gallery form") >= 1);
    huella_gallery *g = NULL;
    assert_int_equal(huella_gallery_new(&g, &err), HUELLA_OK);
    assert_int_equal(huella_gallery_load_store(f.s, g, 2, NULL, &err), HUELLA_E_INPUT);
    char want[64];
    snprintf(want, sizeof(want), "person %lld", (long long)f.person[1]);
    assert_non_null(strstr(err.message, want));
    huella_gallery_free(g);
    done(&f);
}

/* ---- the gallery snapshot -------------------------------------------------- */

static huella_gallery_snapshot_stats snapshot(huella_store *s)
{
    huella_gallery_snapshot_stats st;
    huella_error err;
    if (huella_store_gallery_snapshot(s, &st, &err) != HUELLA_OK)
        fail_msg("snapshot: %s", err.message);
    return st;
}

static void snap_path(const fixture *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

/* A load with DIR/gallery.snap moved aside: from the database alone. */
static huella_gallery *load_without_snapshot(fixture *f, huella_gallery_load_stats *ls)
{
    char a[1100], b[1100];
    snap_path(f, "gallery.snap", a, sizeof(a));
    snap_path(f, "gallery.snap.aside", b, sizeof(b));
    assert_int_equal(rename(a, b), 0);
    huella_gallery *g = load(f->s, 2, ls);
    assert_int_equal(ls->persons_from_snapshot, 0);
    assert_int_equal(rename(b, a), 0);
    return g;
}

/* The file with bytes [at, at + n) replaced, or cut at `at` (n 0). */
static void edit_snapshot(const fixture *f, size_t at, const uint8_t *bytes, size_t n)
{
    char path[1100];
    snap_path(f, "gallery.snap", path, sizeof(path));
    size_t len = 0;
    uint8_t *data = test_read_file(path, &len);
    assert_non_null(data);
    assert_true(at + n <= len);
    if (n > 0)
        memcpy(data + at, bytes, n);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n > 0 ? len : at, fp), n > 0 ? len : at);
    fclose(fp);
    free(data);
}

static void test_snapshot_loads_like_database(void **state)
{
    (void)state;
    fixture f = {0};
    build(&f, "snap");
    huella_error err;
    assert_int_equal(huella_store_gallery_refresh(f.s, NULL, &err), HUELLA_OK);
    huella_gallery_load_stats l1, l2;
    huella_gallery *g1 = load(f.s, 2, &l1);
    assert_int_equal(l1.persons_from_snapshot, 0);
    assert_non_null(strstr(l1.snapshot, "none written"));
    huella_gallery_snapshot_stats ss = snapshot(f.s);
    assert_true(ss.installed);
    assert_int_equal(ss.persons, PERSONS);
    assert_int_equal(ss.forms, PERSONS);
    huella_gallery *g2 = load(f.s, 2, &l2);
    assert_string_equal(l2.snapshot, "used");
    assert_int_equal(l2.persons_from_snapshot, PERSONS);
    assert_int_equal(l2.persons_from_forms, PERSONS);
    assert_int_equal(l2.finger_templates, 2 * PERSONS);
    assert_int_equal(l2.iris_templates, 2);
    assert_int_equal(huella_gallery_bytes(g1), huella_gallery_bytes(g2));
    same_results(g1, g2, &f, PERSONS);
    huella_gallery_free(g1);
    huella_gallery_free(g2);

    /* Changes after the snapshot come from the database: a new sample of
     * person 0 (their form dropped, then written again), a new person, and
     * person 1's form dropped (stale: rebuilt from the templates). */
    size_t len;
    uint8_t *t = encoded_finger("DB4_B", 101, 1, &len);
    huella_store_template tt = {HUELLA_STORE_TEMPLATE_FINGER, 1, t, len};
    huella_store_sample smp = {HUELLA_STORE_FINGER, 3, 60, NULL, NULL, 0, &tt, 1};
    int64_t sid, extra, extra_enc;
    assert_int_equal(huella_store_sample_add(f.s, f.encounter[0], &smp, &sid, &err), HUELLA_OK);
    assert_int_equal(huella_store_person_create(f.s, &extra, &err), HUELLA_OK);
    assert_int_equal(huella_store_encounter_add(f.s, extra, &enc, NULL, &extra_enc, &err),
                     HUELLA_OK);
    assert_int_equal(huella_store_sample_add(f.s, extra_enc, &smp, &sid, &err), HUELLA_OK);
    free(t);
    assert_int_equal(huella_store_gallery_refresh(f.s, NULL, &err), HUELLA_OK);
    char sql[256];
    snprintf(sql, sizeof(sql), "DELETE FROM gallery_form WHERE person_id = %lld",
             (long long)f.person[1]);
    raw_exec(f.dir, sql);
    assert_int_equal(check_problems(f.s, "\"gallery_snapshot\": \"current\""), 0);
    huella_gallery *g3 = load(f.s, 2, &l1);
    assert_string_equal(l1.snapshot, "used");
    assert_int_equal(l1.persons, PERSONS + 1);
    assert_int_equal(l1.persons_from_snapshot, PERSONS - 2);
    assert_int_equal(l1.persons_rebuilt, 1);
    assert_int_equal(huella_gallery_count_slot(g3, 2), 2); /* the new fingers are there */
    huella_gallery *g4 = load_without_snapshot(&f, &l2);
    assert_int_equal(l2.persons, PERSONS + 1);
    assert_int_equal(huella_gallery_bytes(g3), huella_gallery_bytes(g4));
    same_results(g3, g4, &f, PERSONS);
    huella_gallery_free(g3);
    huella_gallery_free(g4);

    /* A newer snapshot takes them in and trims the change log; the one
     * before it is not the store's any more. */
    char path[1100], old_path[1100];
    snap_path(&f, "gallery.snap", path, sizeof(path));
    snap_path(&f, "gallery.snap.old", old_path, sizeof(old_path));
    size_t old_len = 0;
    uint8_t *old = test_read_file(path, &old_len);
    assert_true(snapshot(f.s).installed);
    assert_int_equal(raw_count(f.dir, "SELECT count(*) FROM gallery_change"), 0);
    g3 = load(f.s, 1, &l1);
    assert_int_equal(l1.persons_from_snapshot, PERSONS + 1 - 1); /* person 1: no form */
    huella_gallery_free(g3);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(old, 1, old_len, fp), old_len);
    fclose(fp);
    free(old);
    g3 = load(f.s, 2, &l1);
    assert_string_equal(l1.snapshot, "not the store's current snapshot");
    assert_int_equal(l1.persons, PERSONS + 1);
    huella_gallery_free(g3);
    assert_true(snapshot(f.s).installed);
    done(&f);
}

static void test_snapshot_tamper_and_erasure(void **state)
{
    (void)state;
    fixture f = {0};
    build(&f, "snaptamper");
    huella_error err;
    assert_int_equal(huella_store_gallery_refresh(f.s, NULL, &err), HUELLA_OK);
    assert_true(snapshot(f.s).installed);
    char path[1100];
    snap_path(&f, "gallery.snap", path, sizeof(path));
    size_t len = 0;
    uint8_t *older = test_read_file(path, &len);
    assert_non_null(older);
    /* Person 0's form written again (a fresh nonce, the same length), and
     * a snapshot with it. */
    assert_int_equal(huella_store_gallery_update(f.s, f.person[0], &err), HUELLA_OK);
    assert_true(snapshot(f.s).installed);
    uint8_t *good = test_read_file(path, &len);
    assert_non_null(good);
    uint32_t first = (uint32_t)good[4096 + 8] << 24 | (uint32_t)good[4096 + 9] << 16 |
                     (uint32_t)good[4096 + 10] << 8 | good[4096 + 11];
    assert_memory_not_equal(older + 4096 + 12, good + 4096 + 12, first);
    static const uint8_t flip = 0x5a, zero = 0, huge[4] = {0x7f, 0xff, 0xff, 0xff};
    struct {
        size_t at, n;
        const uint8_t *bytes;
        const char *want;
    } cases[] = {
        /* the first entry's tag: its form does not authenticate */
        {4096 + 12 + first - 1, 1, &flip, "person"},
        /* the first entry replaced by the person's older form, which
         * authenticates alone: the whole file does not */
        {4096 + 12, first, older + 4096 + 12, "does not authenticate"},
        /* a length beyond any form */
        {4096 + 8, 4, huge, "claims"},
        /* cut inside the last entry */
        {len - 10, 0, &zero, "ends inside entry"},
        /* cut after the first entry: fewer entries than the header says */
        {4096 + 12 + first, 0, &zero, "entries"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(good, 1, len, fp), len);
        fclose(fp);
        edit_snapshot(&f, cases[c].at, cases[c].bytes, cases[c].n);
        huella_gallery *g = NULL;
        assert_int_equal(huella_gallery_new(&g, &err), HUELLA_OK);
        assert_int_equal(huella_gallery_load_store(f.s, g, 2, NULL, &err), HUELLA_E_INPUT);
        if (strstr(err.message, cases[c].want) == NULL)
            fail_msg("case %zu: '%s' does not say '%s'", c, err.message, cases[c].want);
        huella_gallery_free(g);
        /* huella db check reads the file too */
        assert_true(check_problems(f.s, "gallery snapshot") >= 1);
    }
    /* A header that is not a snapshot's is ignored, not trusted. */
    edit_snapshot(&f, 0, (const uint8_t *)"garbage!", 8);
    huella_gallery_load_stats ls;
    huella_gallery *g = load(f.s, 2, &ls);
    assert_non_null(strstr(ls.snapshot, "is not a gallery snapshot"));
    assert_int_equal(ls.persons, PERSONS);
    huella_gallery_free(g);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(good, 1, len, fp), len);
    fclose(fp);
    free(good);
    free(older);
    /* Erasure removes the file, which holds the person's sealed form. */
    assert_int_equal(huella_store_person_erase(f.s, f.person[4], "dpo", "test", &err), HUELLA_OK);
    assert_int_not_equal(access(path, F_OK), 0);
    g = load(f.s, 2, &ls);
    assert_int_equal(ls.persons, PERSONS - 1);
    assert_int_equal(ls.persons_from_snapshot, 0);
    huella_gallery_free(g);
    assert_true(snapshot(f.s).installed);
    assert_int_equal(huella_store_encounter_erase(f.s, f.encounter[5], &err), HUELLA_OK);
    assert_int_not_equal(access(path, F_OK), 0);
    /* One writer at a time: while another holds the lock, nothing is
     * written and the note says why. */
    char lock_path[1100];
    snap_path(&f, "gallery.snap.lock", lock_path, sizeof(lock_path));
    int lock_fd = open(lock_path, O_RDWR | O_CREAT, 0600);
    assert_true(lock_fd >= 0);
    assert_int_equal(flock(lock_fd, LOCK_EX), 0);
    huella_gallery_snapshot_stats busy = snapshot(f.s);
    assert_false(busy.installed);
    assert_non_null(strstr(busy.note, "another process"));
    assert_int_not_equal(access(path, F_OK), 0);
    close(lock_fd);
    /* Due again; written, not due; a new master key (its MAC's) removes it. */
    bool due = false;
    size_t changes = 0;
    assert_int_equal(huella_store_gallery_snapshot_due(f.s, &due, &changes, &err), HUELLA_OK);
    assert_true(due);
    assert_true(snapshot(f.s).installed);
    assert_int_equal(huella_store_gallery_snapshot_due(f.s, &due, &changes, &err), HUELLA_OK);
    assert_false(due);
    assert_int_equal(changes, 0);
    huella_store_close(f.s);
    assert_int_equal(huella_store_rekey(f.dir, &err), HUELLA_OK);
    assert_int_equal(huella_store_open(f.dir, &f.s, &err), HUELLA_OK);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(huella_store_gallery_snapshot_due(f.s, &due, NULL, &err), HUELLA_OK);
    assert_true(due);
    done(&f);
}

/* ---- faces ---------------------------------------------------------------- */

static void test_face_enrol_load_identify(void **state)
{
    (void)state;
    const char *dir = test_tmpfile("faces");
    huella_error err;
    assert_int_equal(huella_store_init(dir, NULL, &err), HUELLA_OK);
    huella_store *s = NULL;
    assert_int_equal(huella_store_open(dir, &s, &err), HUELLA_OK);
    enum { FACES = 4 };
    int64_t person[FACES];
    for (int k = 0; k < FACES; k++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "face/orl/s%d/1.pgm", k + 1);
        size_t len;
        uint8_t *img = test_read_file(test_data(rel), &len);
        assert_non_null(img);
        huella_enrol_input in = {HUELLA_STORE_FACE, 0, rel, img, len};
        huella_enrol_request req = {&in, 1, 0, enc, NULL, NULL};
        huella_enrol_result *r = NULL;
        if (huella_enrol(s, &req, &r, &err) != HUELLA_OK)
            fail_msg("enrol %s: %s", rel, err.message);
        assert_int_equal(r->samples[0].tmpl_len, 137);
        person[k] = r->person_id;
        huella_enrol_result_free(r);
        free(img);
    }
    assert_int_equal(stale(s), 0); /* enrolment wrote the forms */
    check_problems(s, NULL);
    huella_gallery_load_stats ls;
    huella_gallery *g = load(s, 2, &ls);
    assert_int_equal(ls.face_templates, FACES);
    assert_int_equal(ls.persons_from_forms, FACES);
    assert_int_equal(huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_FACE), FACES);
    /* Another photo of each finds its person first, with face evidence. */
    size_t first = 0;
    for (int k = 0; k < FACES; k++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "face/orl/s%d/6.pgm", k + 1);
        size_t len;
        uint8_t *img = test_read_file(test_data(rel), &len);
        huella_enrol_input in = {HUELLA_STORE_FACE, 0, rel, img, len};
        huella_enrol_request req = {&in, 1, 0, enc, NULL, NULL};
        huella_enrol_result *r = NULL;
        assert_int_equal(huella_enrol_extract(&req, &r, &err), HUELLA_OK);
        huella_probe_set *p = NULL;
        assert_int_equal(huella_probe_from_enrol(r, &p, &err), HUELLA_OK);
        assert_non_null(p->probe.face);
        huella_identify_result *res = NULL;
        assert_int_equal(huella_gallery_identify(g, &p->probe, NULL, &res, &err), HUELLA_OK);
        assert_true(res->n == FACES);
        assert_true(res->candidates[0].slot[HUELLA_GALLERY_SLOT_FACE].present);
        first += res->candidates[0].person == (uint64_t)person[k];
        huella_identify_result_free(res);
        huella_probe_set_free(p);
        huella_enrol_result_free(r);
        free(img);
    }
    assert_int_equal(first, FACES);
    huella_gallery_free(g);
    huella_store_close(s);
}

int main(void)
{
    if (!test_have_data()) {
        fprintf(stderr, "no development data: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepared_round_trip),
        cmocka_unit_test(test_forms_load_like_templates),
        cmocka_unit_test(test_forms_follow_samples),
        cmocka_unit_test(test_forms_tamper),
        cmocka_unit_test(test_snapshot_loads_like_database),
        cmocka_unit_test(test_snapshot_tamper_and_erasure),
        cmocka_unit_test(test_face_enrol_load_identify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
