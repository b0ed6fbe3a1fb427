/*
 * test_watchlist.c - watchlist entries: import (CSV and JSON, every
 * problem with its line or entry index and field, all or nothing),
 * provenance and grading kept, expiry (expired entries never match and
 * are purged), partial dates and swapped day/month, nationality and sex
 * as evidence and never as filters, the database's shape, stored
 * normalised names rewritten when the normaliser changed.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "huella/names.h"
#include "huella/watchlist.h"
#include "support.h"

static const char header[] =
    "source_agency,source_ref,category,legal_basis,date_added,review_date,expiry_date,"
    "source_reliability,info_credibility,name,aliases,birth_date,nationality,sex,documents,"
    "biometrics,remarks\n";

/* A fresh database directory per test. */
static const char *fresh_dir(const char *name)
{
    return test_tmpfile(name);
}

static const char *write_file(const char *name, const char *text)
{
    const char *path = test_tmpfile(name);
    assert_true(test_write_file(path, text, strlen(text)));
    return path;
}

static huella_watchlist *open_wl(const char *dir)
{
    huella_watchlist *wl = NULL;
    huella_error err;
    huella_status st = huella_watchlist_open(dir, NULL, &wl, &err);
    if (st != HUELLA_OK)
        fail_msg("%s", err.message);
    return wl;
}

static size_t count(huella_watchlist *wl)
{
    size_t n = 99;
    assert_int_equal(huella_watchlist_count(wl, &n, NULL), HUELLA_OK);
    return n;
}

static void import_ok(huella_watchlist *wl, const char *path, const char *today, size_t want)
{
    huella_watchlist_import_result r;
    huella_error err;
    huella_status st = huella_watchlist_import(wl, path, today, &r, &err);
    if (st != HUELLA_OK)
        fail_msg("%s", err.message);
    assert_int_equal(r.entries, want);
    huella_watchlist_import_result_clear(&r);
}

/* Import a file that must fail; returns its problems (caller frees). */
static char *import_fails(huella_watchlist *wl, const char *path, size_t want_problems)
{
    huella_watchlist_import_result r;
    huella_error err;
    assert_int_equal(huella_watchlist_import(wl, path, "2026-11-26", &r, &err), HUELLA_E_INPUT);
    assert_int_equal(r.n_problems, want_problems);
    char *p = strdup(r.problems);
    huella_watchlist_import_result_clear(&r);
    return p;
}

static void csv_import_keeps_every_field_and_its_provenance(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof(text),
             "%s"
             "Interpol,A-1/2024,arrest_warrant,Red notice; art. 5,2024-01-10,2025-01-10,2030-01-10,"
             "B,2,Juan Carlos Pérez Gómez,\"Juancho Perez|Хуан Перес\",1970-03,ESP|MEX,M,"
             "ESP:PA1234567|X99 123,finger:sha256:abcd,\"armed, \"\"dangerous\"\"\"\n",
             header);
    const char *path = write_file("full.csv", text);
    huella_watchlist *wl = open_wl(fresh_dir("db-full"));
    import_ok(wl, path, "2026-11-26", 1);
    huella_watchlist_entry *e = malloc(sizeof(*e));
    assert_int_equal(huella_watchlist_get(wl, 1, e, NULL), HUELLA_OK);
    assert_int_equal(e->category, HUELLA_WL_ARREST_WARRANT);
    assert_int_equal(e->n_names, 3);
    assert_string_equal(e->names[0], "Juan Carlos Pérez Gómez");
    assert_string_equal(e->names[2], "Хуан Перес");
    assert_true(e->has_birth_date);
    assert_int_equal(e->birth_date.year, 1970);
    assert_int_equal(e->birth_date.month, 3);
    assert_int_equal(e->birth_date.day, 0);
    assert_int_equal(e->n_nationalities, 2);
    assert_string_equal(e->nationalities[1], "MEX");
    assert_int_equal(e->sex, 'M');
    assert_int_equal(e->n_documents, 2);
    assert_string_equal(e->documents[0].issuing_state, "ESP");
    assert_string_equal(e->documents[0].number, "PA1234567");
    assert_string_equal(e->documents[1].issuing_state, "");
    assert_string_equal(e->biometrics[0].kind, "finger");
    assert_string_equal(e->biometrics[0].ref, "sha256:abcd");
    assert_string_equal(e->remarks, "armed, \"dangerous\"");
    assert_string_equal(e->source_agency, "Interpol");
    assert_string_equal(e->source_ref, "A-1/2024");
    assert_string_equal(e->legal_basis, "Red notice; art. 5");
    assert_int_equal(e->source_grade, 'B');
    assert_int_equal(e->info_grade, 2);
    assert_int_equal(e->expiry_date.year, 2030);
    assert_true(e->has_review_date);
    /* The batch: file name and the SHA-256 of its bytes. */
    assert_string_equal(e->batch.file_name, "full.csv");
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[65];
    assert_true(sodium_init() >= 0);
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    assert_string_equal(e->batch.sha256, hex);
    assert_int_equal(e->batch.entries, 1);
    assert_string_equal(huella_watchlist_source_grade_meaning('B'), "usually reliable");
    assert_string_equal(huella_watchlist_info_grade_meaning(2), "probably true");
    assert_int_equal(huella_watchlist_get(wl, 2, e, NULL), HUELLA_E_NOTFOUND);
    free(e);
    huella_watchlist_close(wl);
}

static void csv_problems_are_listed_with_line_and_field(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof(text),
             "%s"
             "P,1,arrest_warrant,l,2024-01-10,,2030-01-10,B,2,Ana Lopez,,1970-02-30,ES,M,,,\n"
             "P,2,warrant,l,2024-01-10,,2020-01-10,G,7,Ana Lopez,,,,,,,\n"
             "\n"
             "P,3,arrest_warrant,l,2024-01-10,,2030-01-10,B,2,\"Pedro\n"
             "Ruiz\",,,,Z,,,\n"
             "P,4,arrest_warrant,l,2024-01-10,,2030-01-10,B,2,Ok Name,,,,,,\n"
             "P,5,lost_stolen_document,l,2024-01-10,,2030-01-10,A,1,,,,,,,,\n",
             header);
    const char *path = write_file("bad.csv", text);
    huella_watchlist *wl = open_wl(fresh_dir("db-bad"));
    char *p = import_fails(wl, path, 12);
    assert_non_null(strstr(p, "line 2, field 'birth_date': '1970-02-30'"));
    assert_non_null(strstr(p, "line 2, field 'nationality'"));
    assert_non_null(strstr(p, "line 3, field 'category': 'warrant'"));
    assert_non_null(strstr(p, "line 3, field 'source_reliability'"));
    assert_non_null(strstr(p, "line 3, field 'info_credibility'"));
    assert_non_null(strstr(p, "line 3, field 'expiry_date': already passed"));
    /* A quoted field over two lines: the record starts on line 5. */
    assert_non_null(strstr(p, "line 5, field 'name': not valid UTF-8 text"));
    assert_non_null(strstr(p, "line 5, field 'sex': 'Z'"));
    assert_non_null(strstr(p, "line 5, field 'name': missing"));
    assert_non_null(strstr(p, "line 7: 16 fields, but the header names 17"));
    assert_non_null(strstr(p, "line 8, field 'name': missing"));
    assert_non_null(strstr(p, "line 8, field 'documents'"));
    free(p);
    /* Nothing at all was imported, not even the good line. */
    assert_int_equal(count(wl), 0);
    huella_watchlist_close(wl);
}

static void header_problems_are_reported(void **state)
{
    (void)state;
    const char *path = write_file("hdr.csv", "source_agency,source_ref,nmae\nX,1,Ana\n");
    huella_watchlist *wl = open_wl(fresh_dir("db-hdr"));
    char *p = import_fails(wl, path, 7);
    assert_non_null(strstr(p, "line 1: unknown column 'nmae'"));
    assert_non_null(strstr(p, "line 1: required column 'category' is missing"));
    free(p);
    const char *quote = write_file("q.csv", "\"source_agency");
    p = import_fails(wl, quote, 1);
    assert_non_null(strstr(p, "line 1: quoted field not closed"));
    free(p);
    huella_watchlist_close(wl);
}

static void import_is_all_or_nothing(void **state)
{
    (void)state;
    char good[1024], mixed[1024];
    snprintf(good, sizeof(good),
             "%sP,1,missing_person,l,2024-01-10,,2030-01-10,C,3,Maria Silva,,,,F,,,\n"
             "P,2,missing_person,l,2024-01-10,,2030-01-10,C,3,Joao Souza,,,,M,,,\n",
             header);
    /* The third entry repeats a reference already imported. */
    snprintf(mixed, sizeof(mixed),
             "%sP,3,missing_person,l,2024-01-10,,2030-01-10,C,3,Ana Costa,,,,F,,,\n"
             "P,4,missing_person,l,2024-01-10,,2030-01-10,C,3,Rui Lima,,,,M,,,\n"
             "P,1,missing_person,l,2024-01-10,,2030-01-10,C,3,Maria Silva,,,,F,,,\n",
             header);
    huella_watchlist *wl = open_wl(fresh_dir("db-aon"));
    import_ok(wl, write_file("good.csv", good), "2026-11-26", 2);
    char *p = import_fails(wl, write_file("mixed.csv", mixed), 1);
    assert_non_null(strstr(p, "line 4, field 'source_ref': '1' of 'P' is already listed"));
    free(p);
    assert_int_equal(count(wl), 2);
    /* The same file again is refused as a whole. */
    p = import_fails(wl, test_tmpfile("good.csv"), 1);
    free(p);
    assert_int_equal(count(wl), 2);
    huella_watchlist_close(wl);
}

static void json_problems_name_the_entry_index(void **state)
{
    (void)state;
    const char *text =
        "{\"version\": 1, \"entries\": ["
        "{\"source_agency\": \"X\", \"source_ref\": \"1\", \"category\": \"sanctions\","
        " \"legal_basis\": \"l\", \"date_added\": \"2024-01-01\", \"expiry_date\": \"2030-01-01\","
        " \"source_reliability\": \"A\", \"info_credibility\": 1, \"name\": \"Maria Silva\","
        " \"aliases\": [\"M. Silva\"], \"nationality\": [\"BRA\"],"
        " \"documents\": [{\"number\": \"CA123456\", \"issuing_state\": \"BRA\"}],"
        " \"biometrics\": [{\"kind\": \"face\", \"ref\": \"img-7\"}]},"
        "{\"source_agency\": \"X\", \"source_ref\": \"2\", \"category\": \"sanctions\","
        " \"legal_basis\": \"l\", \"date_added\": \"2024-01-01\", \"expiry_date\": \"2030-01-01\","
        " \"source_reliability\": \"A\", \"info_credibility\": 9, \"name\": \"Rui Lima\","
        " \"expiry\": \"x\", \"documents\": [{\"issuing_state\": \"BRA\"}]}]}";
    huella_watchlist *wl = open_wl(fresh_dir("db-json"));
    char *p = import_fails(wl, write_file("bad.json", text), 3);
    assert_non_null(strstr(p, "entries[1], field 'info_credibility': '9'"));
    assert_non_null(strstr(p, "entries[1]: unknown field 'expiry'"));
    assert_non_null(strstr(p, "entries[1], field 'documents': [0]"));
    assert_null(strstr(p, "entries[0]"));
    free(p);
    assert_int_equal(count(wl), 0);
    /* Without the second entry the file imports. */
    char good[2048];
    const char *cut = strstr(text, ",{\"source_agency\": \"X\", \"source_ref\": \"2\"");
    assert_non_null(cut);
    snprintf(good, sizeof(good), "%.*s]}", (int)(cut - text), text);
    import_ok(wl, write_file("good.json", good), "2026-11-26", 1);
    huella_watchlist_entry *e = malloc(sizeof(*e));
    assert_int_equal(huella_watchlist_get(wl, 1, e, NULL), HUELLA_OK);
    assert_string_equal(e->names[1], "M. Silva");
    assert_string_equal(e->documents[0].number, "CA123456");
    assert_string_equal(e->biometrics[0].ref, "img-7");
    assert_string_equal(e->batch.format, "json");
    free(e);
    huella_watchlist_close(wl);
}

static void partial_dates_parse_and_compare(void **state)
{
    (void)state;
    huella_partial_date a, b;
    huella_error err;
    assert_int_equal(huella_partial_date_parse("1980", &a, &err), HUELLA_OK);
    assert_int_equal(a.month, 0);
    assert_int_equal(huella_partial_date_parse("2024-02-29", &a, &err), HUELLA_OK);
    assert_int_equal(huella_partial_date_parse("2023-02-29", &a, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_partial_date_parse("1980-13", &a, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_partial_date_parse("80-01-01", &a, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_partial_date_parse("1980-1-1", &a, &err), HUELLA_E_INPUT);

    struct {
        const char *x, *y;
        huella_date_evidence want;
    } cases[] = {
        {"1970-03-04", "1970-03-04", HUELLA_DATE_EXACT},
        {"1970-03-04", "1970-04-03", HUELLA_DATE_SWAPPED},
        {"1970-03-04", "1970", HUELLA_DATE_COMPATIBLE},
        {"1970-03", "1970-03-04", HUELLA_DATE_COMPATIBLE},
        {"1970-03-04", "1971-03-04", HUELLA_DATE_NEAR},
        {"1970-03-04", "1970-05-04", HUELLA_DATE_CONFLICT},
        {"1970-03", "1970-04", HUELLA_DATE_CONFLICT},
        {"1970", "1972", HUELLA_DATE_CONFLICT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(huella_partial_date_parse(cases[i].x, &a, NULL), HUELLA_OK);
        assert_int_equal(huella_partial_date_parse(cases[i].y, &b, NULL), HUELLA_OK);
        double adj_ab, adj_ba;
        assert_int_equal(huella_partial_date_compare(&a, &b, &adj_ab), cases[i].want);
        assert_int_equal(huella_partial_date_compare(&b, &a, &adj_ba), cases[i].want);
        assert_double_equal(adj_ab, adj_ba, 1e-12);
    }
    /* Evidence is ordered: exact > swapped > compatible > near > conflict. */
    double e1, e2, e3, e4, e5;
    huella_partial_date_parse("1970-03-04", &a, NULL);
    huella_partial_date_parse("1970-03-04", &b, NULL);
    huella_partial_date_compare(&a, &b, &e1);
    huella_partial_date_parse("1970-04-03", &b, NULL);
    huella_partial_date_compare(&a, &b, &e2);
    huella_partial_date_parse("1970-03", &b, NULL);
    huella_partial_date_compare(&a, &b, &e3);
    huella_partial_date_parse("1971-03-04", &b, NULL);
    huella_partial_date_compare(&a, &b, &e4);
    huella_partial_date_parse("1960", &b, NULL);
    huella_partial_date_compare(&a, &b, &e5);
    assert_true(e1 > e2 && e2 > e3 && e3 > e4 && e4 > e5 && e5 < 0);
    huella_partial_date none = {0, 0, 0};
    assert_int_equal(huella_partial_date_compare(&a, &none, &e1), HUELLA_DATE_UNKNOWN);
    assert_double_equal(e1, 0, 0);
}

static const char people[] =
    "P,1,arrest_warrant,l,2024-01-10,,2030-01-10,B,2,Carlos Alberto Ramirez,,1975-06-15,COL,M,,,\n"
    "P,2,arrest_warrant,l,2024-01-10,,2030-01-10,B,2,Carlos Alberto Ramirez,,1975-06-15,VEN,M,,,\n"
    "P,3,missing_person,l,2024-01-10,,2026-06-30,A,1,Lucia Fernandez Ortega,,1990-11-05,ARG,F,,,\n"
    "P,4,arrest_warrant,l,2024-01-10,,2030-01-10,D,4,Lucia Fernandez Ortega,,1990-05-11,URY,F,,,"
    "\n";

static huella_watchlist *people_list(const char *name)
{
    char text[2048];
    snprintf(text, sizeof(text), "%s%s", header, people);
    huella_watchlist *wl = open_wl(fresh_dir(name));
    import_ok(wl, write_file("people.csv", text), "2026-01-01", 4);
    return wl;
}

static const huella_screen_hit *hit_for(const huella_screen_result *r, int64_t id)
{
    for (size_t i = 0; i < r->n_hits; i++)
        if (r->hits[i].entry.id == id)
            return &r->hits[i];
    return NULL;
}

static void nationality_and_sex_are_evidence_not_filters(void **state)
{
    (void)state;
    huella_watchlist *wl = people_list("db-nat");
    huella_screen_result r;
    huella_screen_query q = {.name = "RAMIREZ, Carlos Alberto",
                             .nationality = "VEN",
                             .today = "2026-01-01",
                             .min_score = 0.5};
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    const huella_screen_hit *col = hit_for(&r, 1), *ven = hit_for(&r, 2);
    assert_non_null(col);
    assert_non_null(ven);
    assert_int_equal(r.hits[0].entry.id, 2); /* the matching nationality first */
    assert_int_equal(ven->nationality, 1);
    assert_int_equal(col->nationality, -1);
    assert_double_equal(ven->nationality_adjustment, HUELLA_SCREEN_NATIONALITY_MATCH, 1e-12);
    assert_double_equal(col->nationality_adjustment, HUELLA_SCREEN_NATIONALITY_MISMATCH, 1e-12);
    assert_double_equal(ven->name_score, col->name_score, 1e-12);
    assert_true(ven->score > col->score);
    huella_screen_result_clear(&r);
    /* A listed man screened as a woman: lower, still there. */
    q.nationality = NULL;
    q.sex = 'F';
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    assert_non_null(hit_for(&r, 1));
    assert_int_equal(hit_for(&r, 1)->sex, -1);
    assert_double_equal(hit_for(&r, 1)->sex_adjustment, HUELLA_SCREEN_SEX_MISMATCH, 1e-12);
    huella_screen_result_clear(&r);
    huella_watchlist_close(wl);
}

static void swapped_day_and_month_still_raise_the_score(void **state)
{
    (void)state;
    huella_watchlist *wl = people_list("db-dob");
    huella_screen_result r;
    /* 11 May 1990 written as 1990-11-05 by one side: entry 3 has it as
     * 1990-11-05, entry 4 as 1990-05-11. */
    huella_screen_query q = {.name = "Lucia Fernandez",
                             .has_birth_date = true,
                             .birth_date = {1990, 5, 11},
                             .today = "2026-01-01",
                             .min_score = 0.5};
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    assert_int_equal(r.n_hits, 2);
    assert_int_equal(r.hits[0].entry.id, 4);
    assert_int_equal(r.hits[0].birth_date, HUELLA_DATE_EXACT);
    assert_int_equal(r.hits[1].birth_date, HUELLA_DATE_SWAPPED);
    assert_true(r.hits[1].birth_date_adjustment > 0);
    huella_screen_result_clear(&r);
    /* A year alone is compatible with both. */
    q.birth_date = (huella_partial_date){1990, 0, 0};
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    assert_int_equal(r.n_hits, 2);
    assert_int_equal(r.hits[0].birth_date, HUELLA_DATE_COMPATIBLE);
    assert_int_equal(r.hits[1].birth_date, HUELLA_DATE_COMPATIBLE);
    huella_screen_result_clear(&r);
    huella_watchlist_close(wl);
}

static void expired_entries_never_match_and_are_purged(void **state)
{
    (void)state;
    huella_watchlist *wl = people_list("db-exp");
    huella_screen_result r;
    huella_screen_query q = {.name = "Lucia Fernandez Ortega", .today = "2026-06-30"};
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    assert_non_null(hit_for(&r, 3)); /* valid through its expiry day */
    huella_screen_result_clear(&r);
    q.today = "2026-07-01";
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    assert_null(hit_for(&r, 3)); /* an exact name, but expired */
    assert_non_null(hit_for(&r, 4));
    assert_int_equal(r.active_entries, 3);
    huella_screen_result_clear(&r);
    q.full_scan = true;
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    assert_null(hit_for(&r, 3));
    huella_screen_result_clear(&r);
    size_t purged = 0;
    assert_int_equal(huella_watchlist_expire(wl, "2026-06-30", &purged, NULL), HUELLA_OK);
    assert_int_equal(purged, 0);
    assert_int_equal(huella_watchlist_expire(wl, "2026-07-01", &purged, NULL), HUELLA_OK);
    assert_int_equal(purged, 1);
    assert_int_equal(count(wl), 3);
    huella_watchlist_entry *e = malloc(sizeof(*e));
    assert_int_equal(huella_watchlist_get(wl, 3, e, NULL), HUELLA_E_NOTFOUND);
    free(e);
    huella_watchlist_close(wl);
    /* The purge is recorded, and the names went with the entry. */
    sqlite3 *db;
    char path[700];
    snprintf(path, sizeof(path), "%s/watchlist.db", test_tmpfile("db-exp"));
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT entries FROM purges ORDER BY id DESC),"
                                        " (SELECT count(*) FROM names WHERE entry_id = 3)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    assert_int_equal(sqlite3_column_int(s, 1), 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void database_is_private_versioned_and_in_wal_mode(void **state)
{
    (void)state;
    const char *dir = fresh_dir("db-shape/sub");
    huella_watchlist *wl = NULL;
    /* The parent does not exist: opening must not create a tree. */
    assert_int_not_equal(huella_watchlist_open(dir, NULL, &wl, NULL), HUELLA_OK);
    char shape[600];
    snprintf(shape, sizeof(shape), "%s", fresh_dir("db-shape"));
    dir = shape;
    wl = open_wl(dir);
    huella_watchlist_close(wl);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    char path[700];
    snprintf(path, sizeof(path), "%s/watchlist.db", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0077, 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 2);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    /* A newer schema is refused, not misread. */
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    huella_error err;
    assert_int_equal(huella_watchlist_open(dir, NULL, &wl, &err), HUELLA_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "schema version 99"));
}

static char *sql_text(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const unsigned char *v = sqlite3_column_text(s, 0);
    assert_non_null(v);
    char *copy = strdup((const char *)v);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return copy;
}

static void normalised_names_of_an_older_normaliser_are_rewritten_on_open(void **state)
{
    (void)state;
    char dir[600], path[700], text[2048];
    snprintf(dir, sizeof(dir), "%s", fresh_dir("db-renorm"));
    snprintf(path, sizeof(path), "%s/watchlist.db", dir);
    snprintf(text, sizeof(text), "%s%s", header, people);
    huella_watchlist *wl = open_wl(dir);
    import_ok(wl, write_file("renorm.csv", text), "2026-01-01", 4);
    huella_watchlist_close(wl);
    const char *all = "SELECT group_concat(norm, '|') FROM (SELECT norm FROM names ORDER BY "
                      "entry_id, ord)";
    char *want = sql_text(path, all);
    /* As a store written by an older normaliser would hold them. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE names SET norm = 'Latin w:zzzz'; "
                                  "UPDATE normaliser SET version = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    wl = open_wl(dir);
    char *got = sql_text(path, all);
    assert_string_equal(got, want);
    char *version = sql_text(path, "SELECT version FROM normaliser");
    assert_int_equal(atoi(version), HUELLA_NAMES_NORMALIZE_VERSION);
    huella_screen_result r;
    huella_screen_query q = {
        .name = "Lucia Fernandez Ortega", .today = "2026-01-01", .min_score = 0.5};
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    assert_int_equal(r.n_hits, 2);
    huella_screen_result_clear(&r);
    huella_watchlist_close(wl);
    free(version);
    free(got);
    free(want);
}

static void cli_import_list_show_expire(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof(text), "%s%s", header, people);
    const char *csv = write_file("cli.csv", text);
    char dir[600];
    snprintf(dir, sizeof(dir), "%s", fresh_dir("db-cli"));
    char *out, *err;
    int st = test_run_huella((const char *const[]){"watchlist", "import", csv, "--db", dir,
                                                   "--today", "2026-01-01", "--json", NULL},
                             NULL, &out, &err);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"entries\": 4"));
    free(out);
    free(err);
    const char *bad = write_file("cli-bad.csv", "source_agency\nX\n");
    st = test_run_huella((const char *const[]){"watchlist", "import", bad, "--db", dir, NULL}, NULL,
                         &out, &err);
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "line 1: required column 'source_ref' is missing"));
    assert_non_null(strstr(err, "nothing imported"));
    free(out);
    free(err);
    st = test_run_huella((const char *const[]){"watchlist", "list", "--db", dir, "--json", NULL},
                         NULL, &out, &err);
    assert_int_equal(st, 0);
    json_t *list = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(list), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "grading")),
                        "A1");
    json_decref(list);
    free(out);
    free(err);
    st = test_run_huella(
        (const char *const[]){"watchlist", "show", "4", "--db", dir, "--json", NULL}, NULL, &out,
        &err);
    assert_int_equal(st, 0);
    json_t *e = json_loads(out, 0, NULL);
    json_t *prov = json_object_get(e, "provenance");
    assert_string_equal(json_string_value(json_object_get(prov, "source_ref")), "4");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(prov, "batch"), "file_name")), "cli.csv");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "grading"),
                                                          "source_reliability_meaning")),
                        "not usually reliable");
    json_decref(e);
    free(out);
    free(err);
    st = test_run_huella((const char *const[]){"watchlist", "show", "40", "--db", dir, NULL}, NULL,
                         &out, &err);
    assert_int_equal(st, 2);
    free(out);
    free(err);
    st = test_run_huella(
        (const char *const[]){"watchlist", "expire", "--db", dir, "--now", "2027-01-01", NULL},
        NULL, &out, &err);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "purged 1 expired entry, 3 remain"));
    free(out);
    free(err);
    st = test_run_huella((const char *const[]){"watchlist", "list", NULL}, NULL, &out, &err);
    assert_int_equal(st, 1);
    free(out);
    free(err);
    st = test_run_huella((const char *const[]){"watchlist", "import", "--help", NULL}, NULL, &out,
                         &err);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "All or nothing"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_import_keeps_every_field_and_its_provenance),
        cmocka_unit_test(csv_problems_are_listed_with_line_and_field),
        cmocka_unit_test(header_problems_are_reported),
        cmocka_unit_test(import_is_all_or_nothing),
        cmocka_unit_test(json_problems_name_the_entry_index),
        cmocka_unit_test(partial_dates_parse_and_compare),
        cmocka_unit_test(nationality_and_sex_are_evidence_not_filters),
        cmocka_unit_test(swapped_day_and_month_still_raise_the_score),
        cmocka_unit_test(expired_entries_never_match_and_are_purged),
        cmocka_unit_test(database_is_private_versioned_and_in_wal_mode),
        cmocka_unit_test(normalised_names_of_an_older_normaliser_are_rewritten_on_open),
        cmocka_unit_test(cli_import_list_show_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
