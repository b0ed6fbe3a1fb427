/*
 * cases.c - huellad's case book: watchlist-hit cases and the examiners'
 * decisions on every case, in DIR/cases.db (SQLite, WAL, synchronous
 * FULL).
 *
 * Possible-duplicate cases live in the store (dup_case); their decisions
 * are recorded here too, and the store's case is resolved only when the
 * policy's number of agreeing decisions by different examiners is
 * reached.  Watchlist-hit cases (opened by POST /v1/encounters when the
 * name screening has hits) live here; their ids start at
 * SERVER_WL_CASE_BASE + 1 so that one /v1/cases/{id} space holds both.
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct server_cases {
    sqlite3 *db;
    pthread_mutex_t mu;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS wl_case(id INTEGER PRIMARY KEY, encounter_id INTEGER NOT NULL,"
    " person_id INTEGER NOT NULL, status TEXT NOT NULL, opened_at TEXT NOT NULL,"
    " opened_by TEXT NOT NULL, hits TEXT NOT NULL, decided_at TEXT);"
    "CREATE TABLE IF NOT EXISTS decision(id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL,"
    " examiner TEXT NOT NULL, decision TEXT NOT NULL, person_id INTEGER, reason TEXT NOT NULL,"
    " at TEXT NOT NULL, UNIQUE(case_id, examiner));";

huella_status server_cases_open(const char *dir, server_cases **out, huella_error *err)
{
    *out = NULL;
    char path[4200];
    snprintf(path, sizeof(path), "%s/cases.db", dir);
    server_cases *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    if (sqlite3_open_v2(path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        huella_error_set(err, HUELLA_E_IO, "%s: %s", path,
                         c->db ? sqlite3_errmsg(c->db) : "cannot open");
        sqlite3_close(c->db);
        free(c);
        return HUELLA_E_IO;
    }
    sqlite3_busy_timeout(c->db, 5000);
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return HUELLA_OK;
}

void server_cases_close(server_cases *c)
{
    if (c == NULL)
        return;
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int64_t server_cases_open_watchlist(server_cases *c, int64_t encounter, int64_t person,
                                    const char *by, const char *hits_json)
{
    char now[32];
    huella_utc_now(now);
    sqlite3_stmt *q = NULL;
    int64_t id = 0;
    pthread_mutex_lock(&c->mu);
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO wl_case(id, encounter_id, person_id, status, opened_at,"
                           " opened_by, hits) VALUES (coalesce((SELECT max(id) FROM wl_case),"
                           " ?6) + 1, ?1, ?2, 'open', ?3, ?4, ?5)",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, encounter);
        sqlite3_bind_int64(q, 2, person);
        sqlite3_bind_text(q, 3, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, by, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, hits_json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 6, SERVER_WL_CASE_BASE);
        if (sqlite3_step(q) == SQLITE_DONE)
            id = sqlite3_last_insert_rowid(c->db);
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    return id;
}

static json_t *decisions_json(server_cases *c, int64_t id)
{
    json_t *arr = json_array();
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT examiner, decision, person_id, reason, at FROM decision"
                           " WHERE case_id = ?1 ORDER BY id",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, id);
        while (sqlite3_step(q) == SQLITE_ROW) {
            json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "examiner",
                                  (const char *)sqlite3_column_text(q, 0), "decision",
                                  (const char *)sqlite3_column_text(q, 1), "reason",
                                  (const char *)sqlite3_column_text(q, 3), "at",
                                  (const char *)sqlite3_column_text(q, 4));
            if (sqlite3_column_type(q, 2) == SQLITE_INTEGER)
                json_object_set_new(d, "person_id", json_integer(sqlite3_column_int64(q, 2)));
            json_array_append_new(arr, d);
        }
    }
    sqlite3_finalize(q);
    return arr;
}

json_t *server_cases_decisions(server_cases *c, int64_t id)
{
    pthread_mutex_lock(&c->mu);
    json_t *o = decisions_json(c, id);
    pthread_mutex_unlock(&c->mu);
    return o;
}

static json_t *wl_row(server_cases *c, sqlite3_stmt *q)
{
    int64_t id = sqlite3_column_int64(q, 0);
    json_t *hits = json_loads((const char *)sqlite3_column_text(q, 6), 0, NULL);
    json_t *o = json_pack(
        "{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:o, s:o}", "case_id", (json_int_t)id, "kind",
        "watchlist", "encounter_id", (json_int_t)sqlite3_column_int64(q, 1), "person_id",
        (json_int_t)sqlite3_column_int64(q, 2), "status", (const char *)sqlite3_column_text(q, 3),
        "opened_at", (const char *)sqlite3_column_text(q, 4), "opened_by",
        (const char *)sqlite3_column_text(q, 5), "candidates", hits ? hits : json_array(),
        "decisions", decisions_json(c, id));
    return o;
}

json_t *server_cases_watchlist_get(server_cases *c, int64_t id)
{
    sqlite3_stmt *q = NULL;
    json_t *o = NULL;
    pthread_mutex_lock(&c->mu);
    if (sqlite3_prepare_v2(c->db,
                           "SELECT id, encounter_id, person_id, status, opened_at, opened_by, hits"
                           " FROM wl_case WHERE id = ?1",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, id);
        if (sqlite3_step(q) == SQLITE_ROW)
            o = wl_row(c, q);
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    return o;
}

json_t *server_cases_watchlist_list(server_cases *c, const char *status)
{
    sqlite3_stmt *q = NULL;
    json_t *arr = json_array();
    pthread_mutex_lock(&c->mu);
    if (sqlite3_prepare_v2(c->db,
                           "SELECT id, encounter_id, person_id, status, opened_at, opened_by, hits"
                           " FROM wl_case WHERE status = ?1 ORDER BY id",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, status, -1, SQLITE_STATIC);
        while (sqlite3_step(q) == SQLITE_ROW)
            json_array_append_new(arr, wl_row(c, q));
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    return arr;
}

int server_cases_decide(server_cases *c, int64_t id, const char *examiner, const char *decision,
                        int64_t person, const char *reason, unsigned *agreeing)
{
    char now[32];
    huella_utc_now(now);
    sqlite3_stmt *q = NULL;
    int rc = -1;
    *agreeing = 0;
    pthread_mutex_lock(&c->mu);
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO decision(case_id, examiner, decision, person_id, reason,"
                           " at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_text(q, 2, examiner, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, decision, -1, SQLITE_STATIC);
        if (person > 0)
            sqlite3_bind_int64(q, 4, person);
        sqlite3_bind_text(q, 5, reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, now, -1, SQLITE_STATIC);
        int s = sqlite3_step(q);
        rc = s == SQLITE_DONE ? 0 : s == SQLITE_CONSTRAINT ? 1 : -1;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (rc == 0 && sqlite3_prepare_v2(c->db,
                                      "SELECT count(DISTINCT examiner) FROM decision WHERE"
                                      " case_id = ?1 AND decision = ?2 AND"
                                      " coalesce(person_id, 0) = ?3",
                                      -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_text(q, 2, decision, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, person > 0 ? person : 0);
        if (sqlite3_step(q) == SQLITE_ROW)
            *agreeing = (unsigned)sqlite3_column_int(q, 0);
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

bool server_cases_watchlist_close(server_cases *c, int64_t id, const char *status)
{
    char now[32];
    huella_utc_now(now);
    sqlite3_stmt *q = NULL;
    bool ok = false;
    pthread_mutex_lock(&c->mu);
    if (sqlite3_prepare_v2(c->db,
                           "UPDATE wl_case SET status = ?2, decided_at = ?3 WHERE id = ?1 AND"
                           " status = 'open'",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, now, -1, SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE && sqlite3_changes(c->db) == 1;
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    return ok;
}
