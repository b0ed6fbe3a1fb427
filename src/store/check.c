/*
 * check.c - huella db check: is every byte of the store what it should be?
 *
 * Contract: reports, never repairs.  It runs SQLite's integrity_check and
 * foreign_key_check, then walks every person (the wrapped key unwraps
 * under the master key), encounter (the biographic document opens and is
 * JSON), sample (the templates open, parse, and each decodes with its
 * engine's decoder; the image opens), and checks that rows agree: a
 * sample's person is its encounter's person, the last link event of an
 * encounter names its current person, case candidates that are not marked
 * erased exist.  Each problem is one line in the report.
 */
#define _POSIX_C_SOURCE 200809L
#include "gallery_form.h"
#include "gallery_snapshot.h"
#include "store_internal.h"

#include "huella/face.h"
#include "huella/finger.h"
#include "huella/iris.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct checker {
    huella_store *s;
    json_t *problems;
    uint8_t *buf;
    size_t cap;
} checker;

static void problem(checker *c, const char *fmt, ...) HUELLA_PRINTF(2, 3);
static void problem(checker *c, const char *fmt, ...)
{
    char msg[HUELLA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(c->problems, json_string(msg));
}

static void pragma_rows(checker *c, const char *sql, bool ok_is_row)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        problem(c, "%s: %s", sql, sqlite3_errmsg(c->s->db));
        return;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (ok_is_row) {
            const char *t = (const char *)sqlite3_column_text(q, 0);
            if (t != NULL && strcmp(t, "ok") != 0)
                problem(c, "integrity_check: %s", t);
        } else {
            problem(c, "foreign_key_check: table %s row %lld references missing %s",
                    (const char *)sqlite3_column_text(q, 0), (long long)sqlite3_column_int64(q, 1),
                    (const char *)sqlite3_column_text(q, 2));
        }
    }
    if (rc != SQLITE_DONE)
        problem(c, "%s: %s", sql, sqlite3_errmsg(c->s->db));
    sqlite3_finalize(q);
}

static void check_templates(checker *c, int64_t sample, int modality, const uint8_t *pt, size_t len)
{
    huella_store_template t[HUELLA_STORE_MAX_TEMPLATES];
    size_t n;
    huella_error e;
    if (store_templates_parse(pt, len, t, &n, &e) != HUELLA_OK) {
        problem(c, "sample %" PRId64 ": %s", sample, e.message);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (t[i].type == HUELLA_STORE_TEMPLATE_FINGER) {
            huella_finger_template *f = NULL;
            if (modality != HUELLA_STORE_FINGER)
                problem(c, "sample %" PRId64 ": finger template in a non-finger sample", sample);
            else if (huella_finger_template_decode(t[i].data, t[i].len, &f, &e) != HUELLA_OK)
                problem(c, "sample %" PRId64 ": template %zu does not decode: %s", sample, i,
                        e.message);
            huella_finger_template_free(f);
        } else if (t[i].type == HUELLA_STORE_TEMPLATE_IRIS) {
            huella_iris_template *r = NULL;
            if (modality != HUELLA_STORE_IRIS)
                problem(c, "sample %" PRId64 ": iris template in a non-iris sample", sample);
            else if (huella_iris_template_decode(t[i].data, t[i].len, &r, &e) != HUELLA_OK)
                problem(c, "sample %" PRId64 ": template %zu does not decode: %s", sample, i,
                        e.message);
            huella_iris_template_free(r);
        } else if (t[i].type == HUELLA_STORE_TEMPLATE_FACE) {
            huella_face_template ft;
            if (modality != HUELLA_STORE_FACE)
                problem(c, "sample %" PRId64 ": face template in a non-face sample", sample);
            else if (huella_face_template_decode(t[i].data, t[i].len, &ft, &e) != HUELLA_OK)
                problem(c, "sample %" PRId64 ": template %zu does not decode: %s", sample, i,
                        e.message);
        } else {
            problem(c, "sample %" PRId64 ": template %zu has unknown type %u", sample, i,
                    t[i].type);
        }
    }
}

static void check_person(checker *c, int64_t person, const uint8_t *wrapped, size_t wlen,
                         json_int_t *n_enc, json_int_t *n_smp)
{
    uint8_t key[STORE_KEY_BYTES];
    huella_error e;
    if (store_key_unwrap(c->s, person, wrapped, wlen, key, &e) != HUELLA_OK) {
        problem(c, "%s", e.message);
        return;
    }
    sqlite3_stmt *q;
    sqlite3_prepare_v2(c->s->db,
                       "SELECT id, bio, (SELECT to_person FROM link_event l WHERE"
                       " l.encounter_id = e.id ORDER BY l.id DESC LIMIT 1)"
                       " FROM encounter e WHERE person_id = ?1 ORDER BY id",
                       -1, &q, NULL);
    sqlite3_bind_int64(q, 1, person);
    while (sqlite3_step(q) == SQLITE_ROW) {
        (*n_enc)++;
        int64_t id = sqlite3_column_int64(q, 0);
        store_ad ad;
        store_ad_make(&ad, "bio", person, id);
        size_t len;
        if (store_unseal(key, &ad, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
                         &c->buf, &c->cap, &len, &e) != HUELLA_OK) {
            problem(c, "encounter %" PRId64 ": biographic data: %s", id, e.message);
        } else {
            json_t *j = json_loadb((const char *)c->buf, len, 0, NULL);
            if (!json_is_object(j))
                problem(c, "encounter %" PRId64 ": biographic data is not a JSON object", id);
            json_decref(j);
        }
        if (sqlite3_column_type(q, 2) == SQLITE_NULL)
            problem(c, "encounter %" PRId64 ": no link event", id);
        else if (sqlite3_column_int64(q, 2) != person)
            problem(c,
                    "encounter %" PRId64 ": belongs to person %" PRId64
                    " but its last link event says %" PRId64,
                    id, person, (int64_t)sqlite3_column_int64(q, 2));
    }
    sqlite3_finalize(q);
    sqlite3_prepare_v2(c->s->db,
                       "SELECT s.id, s.modality, s.templates, e.person_id, i.data FROM sample s"
                       " LEFT JOIN encounter e ON e.id = s.encounter_id"
                       " LEFT JOIN image i ON i.sample_id = s.id WHERE s.person_id = ?1"
                       " ORDER BY s.id",
                       -1, &q, NULL);
    sqlite3_bind_int64(q, 1, person);
    while (sqlite3_step(q) == SQLITE_ROW) {
        (*n_smp)++;
        int64_t id = sqlite3_column_int64(q, 0);
        if (sqlite3_column_type(q, 3) == SQLITE_NULL || sqlite3_column_int64(q, 3) != person)
            problem(c, "sample %" PRId64 ": its person (%" PRId64 ") is not its encounter's", id,
                    person);
        store_ad ad;
        store_ad_make(&ad, "templates", person, id);
        size_t len;
        if (store_unseal(key, &ad, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2),
                         &c->buf, &c->cap, &len, &e) != HUELLA_OK)
            problem(c, "sample %" PRId64 ": templates: %s", id, e.message);
        else
            check_templates(c, id, sqlite3_column_int(q, 1), c->buf, len);
        if (sqlite3_column_type(q, 4) != SQLITE_NULL) {
            store_ad_make(&ad, "image", person, id);
            if (store_unseal(key, &ad, sqlite3_column_blob(q, 4),
                             (size_t)sqlite3_column_bytes(q, 4), &c->buf, &c->cap, &len,
                             &e) != HUELLA_OK)
                problem(c, "sample %" PRId64 ": image: %s", id, e.message);
        }
    }
    sqlite3_finalize(q);
    sodium_memzero(key, sizeof(key));
}

static void check_refs(checker *c)
{
    static const char *const queries[][2] = {
        {"SELECT c.case_id, c.person_id FROM case_candidate c WHERE c.erased = 0 AND NOT EXISTS"
         " (SELECT 1 FROM person p WHERE p.id = c.person_id)",
         "case candidate person does not exist and is not marked erased (case, person)"},
        {"SELECT c.case_id, c.person_id FROM case_candidate c WHERE c.erased = 1 AND"
         " (c.evidence IS NOT NULL OR EXISTS (SELECT 1 FROM person p WHERE p.id = c.person_id))",
         "case candidate marked erased still has data (case, person)"},
        {"SELECT id, encounter_id FROM dup_case WHERE encounter_id IS NULL AND"
         " encounter_erased = 0",
         "case has no encounter and is not marked erased (case, -)"},
        {"SELECT person_id, 0 FROM erasure e WHERE EXISTS (SELECT 1 FROM person p WHERE"
         " p.id = e.person_id)",
         "person erased but still present (person, -)"},
        {"SELECT id, person_id FROM sample s WHERE NOT EXISTS (SELECT 1 FROM person p WHERE"
         " p.id = s.person_id)",
         "sample of a person that does not exist (sample, person)"},
    };
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(c->s->db, queries[i][0], -1, &q, NULL) != SQLITE_OK) {
            problem(c, "consistency query failed: %s", sqlite3_errmsg(c->s->db));
            continue;
        }
        while (sqlite3_step(q) == SQLITE_ROW)
            problem(c, "%s: %lld, %lld", queries[i][1], (long long)sqlite3_column_int64(q, 0),
                    (long long)sqlite3_column_int64(q, 1));
        sqlite3_finalize(q);
    }
}

/* The gallery snapshot, when the database names one: it authenticates
 * and every entry of a person unchanged since is the database's form
 * byte for byte (a snapshot that is missing, stale or of another key is
 * only ignored by loads: reported, not a problem). */
typedef struct snap_checker {
    checker *c;
    sqlite3_stmt *form;
    const int64_t *changed;
    size_t n_changed;
    uint64_t format;
} snap_checker;

static huella_status check_snapshot_entry(void *ctx, int64_t person, const uint8_t *form,
                                          uint32_t len, huella_error *err)
{
    (void)err;
    snap_checker *k = ctx;
    if (store_ids_contain(k->changed, k->n_changed, person))
        return HUELLA_OK;
    sqlite3_reset(k->form);
    sqlite3_bind_int64(k->form, 1, person);
    int rc = sqlite3_step(k->form);
    bool has = rc == SQLITE_ROW && (uint64_t)sqlite3_column_int64(k->form, 0) == k->format &&
               sqlite3_column_bytes(k->form, 1) <= (int)SNAP_MAX_ENTRY;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        problem(k->c, "gallery snapshot: person %" PRId64 ": %s", person,
                sqlite3_errmsg(k->c->s->db));
    else if (len > 0 && (!has || (uint32_t)sqlite3_column_bytes(k->form, 1) != len ||
                         memcmp(sqlite3_column_blob(k->form, 1), form, len) != 0))
        problem(k->c,
                "gallery snapshot: the entry of person %" PRId64
                " is not the database's gallery form",
                person);
    else if (len == 0 && has)
        problem(k->c,
                "gallery snapshot: person %" PRId64
                " has a current gallery form the snapshot does not",
                person);
    return HUELLA_OK;
}

static void check_snapshot(checker *c, const char **state, json_int_t *entries)
{
    *state = "none";
    store_snapshot snap;
    bool usable = false;
    char why[128] = "";
    huella_error e;
    uint64_t format = store_form_format(c->s);
    if (store_snapshot_open(c->s, format, &snap, &usable, why, sizeof(why), &e) != HUELLA_OK) {
        problem(c, "gallery snapshot: %s", e.message);
        return;
    }
    if (!usable) {
        *state = strstr(why, "none written") != NULL ? "none" : "not used by loads";
        return;
    }
    *state = "current";
    snap_checker k = {c, NULL, NULL, 0, format};
    int64_t *changed = NULL;
    size_t n_changed = 0;
    huella_status st = store_snapshot_changed(c->s, &changed, &n_changed, &e);
    k.changed = changed;
    k.n_changed = n_changed;
    if (st == HUELLA_OK &&
        sqlite3_prepare_v2(c->s->db, "SELECT format, form FROM gallery_form WHERE person_id = ?1",
                           -1, &k.form, NULL) != SQLITE_OK)
        st = huella_error_set(&e, HUELLA_E_IO, "%s", sqlite3_errmsg(c->s->db));
    if (st == HUELLA_OK)
        st = store_snapshot_each(&snap, check_snapshot_entry, &k, &e);
    if (st != HUELLA_OK)
        problem(c, "gallery snapshot: %s", e.message);
    *entries = (json_int_t)snap.seen_entries;
    sqlite3_finalize(k.form);
    free(changed);
    store_snapshot_close(&snap);
}

/* Every current gallery form authenticates and is exactly what the
 * person's samples give today (forms of another format are stale, not a
 * problem: counted). */
static void check_forms(checker *c, json_int_t *current, json_int_t *stale)
{
    uint64_t format = store_form_format(c->s);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->s->db,
                           "SELECT person_id, format, form FROM gallery_form ORDER BY"
                           " person_id",
                           -1, &q, NULL) != SQLITE_OK) {
        problem(c, "cannot list gallery forms: %s", sqlite3_errmsg(c->s->db));
        return;
    }
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t person = sqlite3_column_int64(q, 0);
        if ((uint64_t)sqlite3_column_int64(q, 1) != format) {
            (*stale)++;
            continue;
        }
        (*current)++;
        uint8_t key[STORE_KEY_BYTES];
        huella_error e;
        store_form f;
        store_form_init(&f);
        store_ad ad;
        store_ad_make(&ad, "gallery", person, person);
        huella_status st = store_person_key(c->s, person, key, &e);
        if (st == HUELLA_OK)
            st = store_unseal(key, &ad, sqlite3_column_blob(q, 2),
                              (size_t)sqlite3_column_bytes(q, 2), &buf, &cap, &len, &e);
        if (st == HUELLA_OK)
            st = store_form_build_person(c->s, person, key, &f, &e);
        sodium_memzero(key, sizeof(key));
        if (st != HUELLA_OK)
            problem(c, "person %" PRId64 ": gallery form: %s", person, e.message);
        else if (f.b.len != len || memcmp(f.b.data, buf, len) != 0)
            problem(c, "person %" PRId64 ": the gallery form is not what the samples give", person);
        store_form_free(&f);
    }
    sqlite3_finalize(q);
    store_wipe_free(buf, cap);
}

huella_status huella_store_check(huella_store *s, char **report, size_t *n_problems,
                                 huella_error *err)
{
    *report = NULL;
    *n_problems = 0;
    checker c = {s, json_array(), NULL, 0};
    bool own_tx = sqlite3_get_autocommit(s->db) != 0;
    if (own_tx)
        sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    pragma_rows(&c, "PRAGMA integrity_check", true);
    pragma_rows(&c, "PRAGMA foreign_key_check", false);
    json_int_t n_person = 0, n_enc = 0, n_smp = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT id, wrapped_key FROM person ORDER BY id", -1, &q, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(q) == SQLITE_ROW) {
            n_person++;
            check_person(&c, sqlite3_column_int64(q, 0), sqlite3_column_blob(q, 1),
                         (size_t)sqlite3_column_bytes(q, 1), &n_enc, &n_smp);
        }
        sqlite3_finalize(q);
    } else {
        problem(&c, "cannot list persons: %s", sqlite3_errmsg(s->db));
    }
    check_refs(&c);
    json_int_t n_form = 0, n_stale = 0;
    check_forms(&c, &n_form, &n_stale);
    const char *snap_state = "none";
    json_int_t n_snap = 0;
    check_snapshot(&c, &snap_state, &n_snap);
    json_int_t n_changes = 0;
    sqlite3_stmt *qc = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM gallery_change", -1, &qc, NULL) ==
            SQLITE_OK &&
        sqlite3_step(qc) == SQLITE_ROW)
        n_changes = sqlite3_column_int64(qc, 0);
    sqlite3_finalize(qc);
    if (own_tx)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    store_wipe_free(c.buf, c.cap);
    *n_problems = json_array_size(c.problems);
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(*n_problems == 0));
    json_object_set_new(o, "schema_version", json_integer(store_n_migrations));
    json_t *counts = json_object();
    json_object_set_new(counts, "persons", json_integer(n_person));
    json_object_set_new(counts, "encounters", json_integer(n_enc));
    json_object_set_new(counts, "samples", json_integer(n_smp));
    json_object_set_new(counts, "gallery_forms", json_integer(n_form));
    json_object_set_new(counts, "gallery_forms_stale", json_integer(n_stale));
    json_object_set_new(counts, "gallery_snapshot_entries", json_integer(n_snap));
    json_object_set_new(counts, "gallery_changes_logged", json_integer(n_changes));
    json_object_set_new(o, "gallery_snapshot", json_string(snap_state));
    json_object_set_new(o, "counts", counts);
    json_object_set_new(o, "problems", c.problems);
    *report = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    return *report != NULL ? HUELLA_OK
                           : huella_error_set(err, HUELLA_E_NOMEM, "check: out of memory");
}
