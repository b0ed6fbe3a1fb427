/*
 * test_retention.c - retention periods and the audited purge
 * (include/huella/retention.h, src/policy/retention.c): expired encounters
 * go with everything they hold, a person whose last encounter expires is
 * erased, an open case holds its encounter, decided cases and expired
 * watchlist entries go, every purge is in the audit chain, and the audit
 * chain pruned behind a signed anchor still verifies and still detects
 * tampering.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "huella/audit.h"
#include "huella/retention.h"
#include "huella/store.h"
#include "huella/watchlist.h"
#include "support.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char policy_10y[] =
    "{\"version\": 1, \"encounters\": {\"days\": 3650},"
    " \"watchlist_entries\": {\"purge_expired\": true, \"days_after_expiry\": 0},"
    " \"cases\": {\"days_after_decision\": 30}, \"audit\": {\"prune\": false, \"days\": 3650}}";
static const char policy_prune[] =
    "{\"version\": 1, \"encounters\": {\"days\": 3650},"
    " \"watchlist_entries\": {\"purge_expired\": true},"
    " \"cases\": {\"days_after_decision\": 30}, \"audit\": {\"prune\": true, \"days\": 365}}";

typedef struct fixture {
    char dir[400], key[450];
    huella_store *s;
    huella_audit *a;
    int64_t pa, pb, pc, pd;       /* persons */
    int64_t ea1, ea2, eb, ec, ed; /* encounters */
    int64_t sample_a1, sample_a2;
    int64_t case_open, case_closed;
} fixture;

static int64_t encounter(huella_store *s, int64_t person, const char *when)
{
    huella_store_encounter e = {when, "site-1", "kit-2", "op-3", "registration", "art-6-1-e", NULL};
    int64_t id;
    huella_error err;
    if (huella_store_encounter_add(s, person, &e, "{\"sex\": \"F\"}", &id, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    return id;
}

static int64_t sample(huella_store *s, int64_t enc)
{
    uint8_t img[200];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 13 + 1);
    huella_store_sample smp = {HUELLA_STORE_FACE, 0, 50, "png", img, sizeof img, NULL, 0};
    int64_t id;
    huella_error err;
    if (huella_store_sample_add(s, enc, &smp, &id, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    return id;
}

static int64_t person(huella_store *s)
{
    int64_t id;
    assert_int_equal(huella_store_person_create(s, &id, NULL), HUELLA_OK);
    return id;
}

static void watchlist(const char *dir)
{
    const char *text =
        "{\"version\": 1, \"entries\": ["
        "{\"source_agency\": \"X\", \"source_ref\": \"1\", \"category\": \"sanctions\","
        " \"legal_basis\": \"l\", \"date_added\": \"2024-01-01\", \"expiry_date\": \"2026-01-01\","
        " \"source_reliability\": \"A\", \"info_credibility\": 1, \"name\": \"Maria Silva\"},"
        "{\"source_agency\": \"X\", \"source_ref\": \"2\", \"category\": \"sanctions\","
        " \"legal_basis\": \"l\", \"date_added\": \"2024-01-01\", \"expiry_date\": \"2030-01-01\","
        " \"source_reliability\": \"A\", \"info_credibility\": 1, \"name\": \"Rui Lima\"}]}";
    const char *path = test_tmpfile("wl.json");
    assert_true(test_write_file(path, text, strlen(text)));
    huella_watchlist *wl;
    huella_error err;
    assert_int_equal(huella_watchlist_open(dir, NULL, &wl, &err), HUELLA_OK);
    huella_watchlist_import_result r;
    if (huella_watchlist_import(wl, path, "2025-06-01", &r, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    huella_watchlist_import_result_clear(&r);
    huella_watchlist_close(wl);
}

static size_t watchlist_count(const char *dir)
{
    huella_watchlist *wl;
    size_t n = 0;
    assert_int_equal(huella_watchlist_open(dir, NULL, &wl, NULL), HUELLA_OK);
    assert_int_equal(huella_watchlist_count(wl, &n, NULL), HUELLA_OK);
    huella_watchlist_close(wl);
    return n;
}

static void make(fixture *f, const char *name)
{
    snprintf(f->dir, sizeof f->dir, "%s", test_tmpfile(name));
    snprintf(f->key, sizeof f->key, "%s.audit-key", f->dir);
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s.pub' '%s.head'", f->dir, f->key, f->key,
             f->key);
    assert_int_equal(system(cmd), 0);
    huella_store_init_options o = {0};
    huella_error err;
    if (huella_store_init(f->dir, &o, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    assert_int_equal(huella_store_open(f->dir, &f->s, &err), HUELLA_OK);
    assert_int_equal(huella_audit_init(f->dir, f->key, &err), HUELLA_OK);
    assert_int_equal(huella_audit_open(f->dir, f->key, &f->a, &err), HUELLA_OK);
    f->pa = person(f->s);
    f->ea1 = encounter(f->s, f->pa, "2010-01-01T08:00:00Z");
    f->sample_a1 = sample(f->s, f->ea1);
    f->ea2 = encounter(f->s, f->pa, "2025-01-01T08:00:00Z");
    f->sample_a2 = sample(f->s, f->ea2);
    f->pb = person(f->s);
    f->eb = encounter(f->s, f->pb, "2012-03-04T05:06:07Z");
    sample(f->s, f->eb);
    f->pc = person(f->s);
    f->ec = encounter(f->s, f->pc, "2011-01-01T00:00:00Z");
    f->pd = person(f->s);
    f->ed = encounter(f->s, f->pd, "2024-01-01T00:00:00Z");
    huella_store_candidate cand = {f->pa, "{\"fused\": 0.5}"};
    assert_int_equal(huella_store_case_open(f->s, f->ec, &cand, 1, "dedup", &f->case_open, &err),
                     HUELLA_OK);
    assert_int_equal(huella_store_case_open(f->s, f->ed, &cand, 1, "dedup", &f->case_closed, &err),
                     HUELLA_OK);
    assert_int_equal(huella_store_case_resolve(f->s, f->case_closed,
                                               HUELLA_CASE_CONFIRMED_DIFFERENT, 0, "examiner-1",
                                               "different faces", &err),
                     HUELLA_OK);
    watchlist(f->dir);
}

static void unmake(fixture *f)
{
    huella_audit_close(f->a);
    huella_store_close(f->s);
}

static json_t *run(fixture *f, const char *policy, const char *now, bool dry)
{
    huella_retention_policy p;
    huella_error err;
    if (huella_retention_parse(policy, strlen(policy), &p, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    huella_retention_options o = {now, dry, "retention-test"};
    char *report;
    if (huella_retention_run(f->s, f->dir, f->a, &p, &o, &report, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    json_error_t je;
    json_t *r = json_loads(report, 0, &je);
    free(report);
    assert_non_null(r);
    return r;
}

static size_t n_encounters(huella_store *s, int64_t person)
{
    int64_t *ids;
    size_t n;
    huella_status st = huella_store_person_encounters(s, person, &ids, &n, NULL);
    free(ids);
    return st == HUELLA_OK ? n : 0;
}

static bool person_exists(huella_store *s, int64_t id)
{
    char *json = NULL;
    huella_status st = huella_store_person_json(s, id, false, &json, NULL);
    free(json);
    return st == HUELLA_OK;
}

/* Number of audit records with purpose "retention" and this operation. */
static size_t audited(const char *dir, const char *operation)
{
    huella_audit_filter flt = {0};
    flt.purpose = "retention";
    char *json;
    assert_int_equal(huella_audit_query(dir, &flt, &json, NULL), HUELLA_OK);
    json_error_t je;
    json_t *arr = json_loads(json, 0, &je);
    free(json);
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(arr, i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "operation")), operation) == 0)
            n++;
    }
    json_decref(arr);
    return n;
}

static int64_t verify(fixture *f, json_t **report)
{
    char *text;
    int64_t first;
    huella_error err;
    assert_int_equal(huella_audit_verify(f->dir, f->key, &text, &first, &err), HUELLA_OK);
    json_error_t je;
    *report = json_loads(text, 0, &je);
    free(text);
    return first;
}

static void test_policy_file(void **state)
{
    (void)state;
    huella_retention_policy p;
    huella_error err;
    char path[600];
    snprintf(path, sizeof path, "%s/data/retention.json", HUELLA_SOURCE_DIR);
    assert_int_equal(huella_retention_load(path, &p, &err), HUELLA_OK);
    assert_int_equal(p.encounter_days, 3650);
    assert_true(p.watchlist_purge);
    assert_false(p.audit_prune);
    static const char *const bad[] = {
        "{\"version\": 1, \"encounter\": {\"days\": 1}}",    /* typo */
        "{\"version\": 2}",                                  /* version */
        "{\"version\": 1, \"encounters\": {\"days\": -1}}",  /* negative */
        "{\"version\": 1, \"encounters\": {\"days\": 1.5}}", /* not whole */
        "{\"version\": 1, \"audit\": {\"prune\": true}}",    /* prune without days */
        "{\"version\": 1, \"cases\": {\"days_after_decision\": 1, \"x\": 2}}",
        "[1]",
        "{\"version\": 1,",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(huella_retention_parse(bad[i], strlen(bad[i]), &p, &err), HUELLA_E_INPUT);
}

static void test_purge(void **state)
{
    (void)state;
    fixture f;
    make(&f, "ret-purge");
    int64_t before = huella_audit_length(f.a);

    /* Dry run: the list, and nothing changes. */
    json_t *r = run(&f, policy_10y, "2026-06-01T00:00:00Z", true);
    json_t *enc = json_object_get(r, "encounters");
    assert_int_equal(json_array_size(enc), 2); /* A's old one and B's; C is held */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(enc, 0), "encounter_id")),
                     f.ea1);
    assert_false(json_is_true(json_object_get(json_array_get(enc, 0), "person_erased")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(enc, 1), "encounter_id")),
                     f.eb);
    assert_true(json_is_true(json_object_get(json_array_get(enc, 1), "person_erased")));
    assert_int_equal(json_integer_value(json_object_get(r, "watchlist_entries")), 1);
    json_decref(r);
    assert_int_equal(n_encounters(f.s, f.pa), 2);
    assert_true(person_exists(f.s, f.pb));
    assert_int_equal(watchlist_count(f.dir), 2);
    assert_int_equal(huella_audit_length(f.a), before);

    /* The purge. */
    r = run(&f, policy_10y, "2026-06-01T00:00:00Z", false);
    assert_int_equal(json_integer_value(json_object_get(r, "audit_records")), 3);
    json_decref(r);
    assert_int_equal(n_encounters(f.s, f.pa), 1); /* the 2025 one stays */
    huella_store_sample_data *d = NULL;
    assert_int_equal(huella_store_sample_get(f.s, f.sample_a1, &d, NULL), HUELLA_E_NOTFOUND);
    assert_int_equal(huella_store_sample_get(f.s, f.sample_a2, &d, NULL), HUELLA_OK);
    huella_store_sample_data_free(d);
    assert_false(person_exists(f.s, f.pb));       /* erased with their last encounter */
    assert_int_equal(n_encounters(f.s, f.pc), 1); /* held by the open case */
    assert_int_equal(n_encounters(f.s, f.pd), 1); /* recent */
    assert_int_equal(watchlist_count(f.dir), 1);
    char *cj = NULL;
    assert_int_equal(huella_store_case_json(f.s, f.case_closed, &cj, NULL), HUELLA_OK);
    free(cj); /* decided after --now: not yet past its period */
    assert_int_equal(audited(f.dir, "retention.encounter.erase"), 1);
    assert_int_equal(audited(f.dir, "retention.person.erase"), 1);
    assert_int_equal(audited(f.dir, "retention.watchlist.expire"), 1);
    char *report;
    size_t problems = 99;
    assert_int_equal(huella_store_check(f.s, &report, &problems, NULL), HUELLA_OK);
    free(report);
    assert_int_equal(problems, 0);
    json_t *v;
    assert_int_equal(verify(&f, &v), 0);
    json_decref(v);

    /* Again: nothing more to do, nothing more audited. */
    int64_t len = huella_audit_length(f.a);
    r = run(&f, policy_10y, "2026-06-01T00:00:00Z", false);
    assert_int_equal(json_array_size(json_object_get(r, "encounters")), 0);
    json_decref(r);
    assert_int_equal(huella_audit_length(f.a), len);
    unmake(&f);
}

static void test_audit_prune(void **state)
{
    (void)state;
    fixture f;
    make(&f, "ret-prune");
    /* Some ordinary records first. */
    for (int i = 0; i < 5; i++) {
        huella_audit_event ev = {"u",           "operator", "default", "registration", "l",
                                 "person.read", &f.pa,      1,         "allowed",      NULL};
        assert_int_equal(huella_audit_append(f.a, &ev, NULL, NULL), HUELLA_OK);
    }
    json_t *r = run(&f, policy_prune, "2040-01-01T00:00:00Z", false);
    json_t *au = json_object_get(r, "audit");
    int64_t through = json_integer_value(json_object_get(au, "through"));
    assert_true(through >= 5);
    assert_int_equal(json_integer_value(json_object_get(au, "pruned")), through);
    assert_int_equal(strlen(json_string_value(json_object_get(au, "anchor"))), 64);
    assert_int_equal(json_array_size(json_object_get(r, "cases")), 1); /* the decided one */
    json_decref(r);
    assert_false(person_exists(f.s, f.pa));
    assert_int_equal(n_encounters(f.s, f.pc), 1); /* still held: its case is open */
    assert_int_equal(huella_store_case_json(f.s, f.case_closed, &(char *){NULL}, NULL),
                     HUELLA_E_NOTFOUND);
    /* The chain verifies from the signed anchor and ends with the prune record. */
    json_t *v;
    assert_int_equal(verify(&f, &v), 0);
    assert_int_equal(json_integer_value(json_object_get(v, "pruned_through")), through);
    json_decref(v);
    assert_int_equal(audited(f.dir, "audit.prune"), 1);

    /* Deleting the record after the anchor is detected. */
    huella_audit_close(f.a);
    f.a = NULL;
    char path[700];
    snprintf(path, sizeof path, "%s/audit.db", f.dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[200];
    snprintf(sql, sizeof sql,
             "CREATE TABLE saved AS SELECT * FROM record WHERE seq = %lld;"
             "DELETE FROM record WHERE seq = %lld",
             (long long)through + 1, (long long)through + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    int64_t first = verify(&f, &v);
    json_decref(v);
    assert_int_equal(first, through + 1);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO record SELECT * FROM saved; DROP TABLE saved",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(verify(&f, &v), 0);
    json_decref(v);
    /* A forged anchor (the signature of another hash) is detected. */
    assert_int_equal(
        sqlite3_exec(db, "UPDATE prune_anchor SET hash = zeroblob(32)", NULL, NULL, NULL),
        SQLITE_OK);
    first = verify(&f, &v);
    json_decref(v);
    assert_true(first > 0);
    /* Without any anchor, the missing leading records are detected. */
    assert_int_equal(sqlite3_exec(db, "DELETE FROM prune_anchor", NULL, NULL, NULL), SQLITE_OK);
    first = verify(&f, &v);
    json_decref(v);
    assert_int_equal(first, 1);
    sqlite3_close(db);
    unmake(&f);
}

static void test_cli(void **state)
{
    (void)state;
    fixture f;
    make(&f, "ret-cli");
    unmake(&f);
    const char *policy = test_tmpfile("policy.json");
    assert_true(test_write_file(policy, policy_10y, strlen(policy_10y)));
    char *out, *err;
    const char *dry[] = {"retention", "run",  "--db",  f.dir,
                         "--policy",  policy, "--now", "2026-06-01T00:00:00Z",
                         "--dry-run", NULL};
    assert_int_equal(test_run_huella(dry, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "dry run: nothing changed"));
    assert_non_null(strstr(out, "encounters:        would purge 2 (1 persons erased"));
    free(out);
    free(err);
    const char *real[] = {"retention",   "run",  "--db",   f.dir,
                          "--policy",    policy, "--now",  "2026-06-01T00:00:00Z",
                          "--audit-key", f.key,  "--json", NULL};
    assert_int_equal(test_run_huella(real, NULL, &out, &err), 0);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "encounters")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "audit_records")), 3);
    json_decref(o);
    free(out);
    free(err);
    /* A dry run of audit pruning needs no key and prunes nothing. */
    const char *prune = test_tmpfile("prune.json");
    assert_true(test_write_file(prune, policy_prune, strlen(policy_prune)));
    const char *dry_prune[] = {"retention", "run",    "--db",  f.dir,
                               "--policy",  prune,    "--now", "2040-01-01T00:00:00Z",
                               "--dry-run", "--json", NULL};
    assert_int_equal(test_run_huella(dry_prune, NULL, &out, &err), 0);
    o = json_loads(out, 0, &je);
    assert_non_null(o);
    json_int_t would = json_integer_value(json_object_get(json_object_get(o, "audit"), "pruned"));
    assert_true(would >= 2);
    json_decref(o);
    free(out);
    free(err);
    char *vr;
    int64_t first;
    assert_int_equal(huella_audit_verify(f.dir, f.key, &vr, &first, NULL), HUELLA_OK);
    o = json_loads(vr, 0, &je);
    free(vr);
    assert_int_equal(first, 0);
    assert_int_equal(json_integer_value(json_object_get(o, "pruned_through")), 0);
    json_decref(o);
    const char *bad_policy = test_tmpfile("bad-policy.json");
    assert_true(test_write_file(bad_policy, "{\"version\": 1, \"encounter\": {}}", 31));
    const char *bad[] = {"retention", "run", "--db", f.dir, "--policy", bad_policy, NULL};
    assert_int_equal(test_run_huella(bad, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "unknown member \"encounter\""));
    free(out);
    free(err);
    const char *bad_now[] = {"retention", "run",   "--db",      f.dir,       "--policy",
                             policy,      "--now", "yesterday", "--dry-run", NULL};
    assert_int_equal(test_run_huella(bad_now, NULL, &out, &err), 2);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_file),
        cmocka_unit_test(test_purge),
        cmocka_unit_test(test_audit_prune),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
