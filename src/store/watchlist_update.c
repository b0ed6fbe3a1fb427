/*
 * watchlist_update.c - changing a watchlist entry's lifecycle and
 * provenance fields with a history: who changed what, when and why, and
 * the old values (huella_watchlist_update, huella_watchlist_updates).
 *
 * Contract: only the fields that describe the entry's standing may change
 * (category, expiry and review dates, legal basis, Admiralty grading,
 * remarks).  The identity data (names, birth date, nationalities, sex,
 * documents, biometric references) come from the source agency with the
 * batch that imported them; a correction of those is a new import by the
 * source, and the old entry is expired, so the provenance of every name
 * stays the file it came from.  Each change is one transaction: the entry
 * row and one row of entry_updates.  The history table is created on the
 * first update (CREATE TABLE IF NOT EXISTS), so stores made before it
 * need no migration; its rows go with their entry (ON DELETE CASCADE).
 */
#define _POSIX_C_SOURCE 200809L
#include "watchlist_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char history_sql[] = "CREATE TABLE IF NOT EXISTS entry_updates ("
                                  "  id INTEGER PRIMARY KEY,"
                                  "  entry_id INTEGER NOT NULL REFERENCES entries(id)"
                                  "    ON DELETE CASCADE,"
                                  "  updated_at TEXT NOT NULL,"
                                  "  updated_by TEXT NOT NULL,"
                                  "  reason TEXT NOT NULL,"
                                  "  changed TEXT NOT NULL,"
                                  "  old TEXT NOT NULL,"
                                  "  new TEXT NOT NULL);"
                                  "CREATE INDEX IF NOT EXISTS entry_updates_entry"
                                  "  ON entry_updates(entry_id);";

static huella_status db_fail(huella_watchlist *wl, huella_error *err, const char *what)
{
    return huella_error_set(err, HUELLA_E_IO, "%s/watchlist.db: %s: %s", wl->dir, what,
                            sqlite3_errmsg(wl->db));
}

static huella_status full_date(const char *field, const char *s, huella_partial_date *d,
                               huella_error *err)
{
    huella_error e2;
    if (huella_partial_date_parse(s, d, &e2) != HUELLA_OK || d->month == 0 || d->day == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: want a full date YYYY-MM-DD, not '%.40s'",
                                field, s);
    return HUELLA_OK;
}

static bool text_ok(const char *s, bool may_be_empty)
{
    size_t n = strlen(s);
    if (n >= HUELLA_WL_MAX_TEXT || (!may_be_empty && n == 0))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return false;
    return true;
}

static void utc_now(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* old[member] = before, new[member] = after, and the member's name in changed. */
static void note(json_t *old, json_t *new_, char *changed, size_t size, const char *member,
                 json_t *before, json_t *after)
{
    json_object_set_new(old, member, before);
    json_object_set_new(new_, member, after);
    size_t n = strlen(changed);
    snprintf(changed + n, size - n, "%s%s", n ? "," : "", member);
}

static json_t *date_or_null(const huella_partial_date *d, bool has)
{
    if (!has)
        return json_null();
    char b[16];
    huella_partial_date_format(d, b, sizeof(b));
    return json_string(b);
}

huella_status huella_watchlist_update(huella_watchlist *wl, int64_t id,
                                      const huella_watchlist_change *c, char *changed,
                                      size_t changed_size, huella_error *err)
{
    char local[256];
    if (changed == NULL || changed_size == 0) {
        changed = local;
        changed_size = sizeof(local);
    }
    changed[0] = '\0';
    if (c->by == NULL || !text_ok(c->by, false))
        return huella_error_set(err, HUELLA_E_INPUT, "an update names who makes it");
    if (c->reason == NULL || !text_ok(c->reason, false))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "an update needs a reason (1 to %d bytes, one line)",
                                HUELLA_WL_MAX_TEXT - 1);
    huella_watchlist_category cat = 0;
    if (c->category != NULL && (cat = huella_watchlist_category_parse(c->category)) == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "category: unknown category '%.40s'",
                                c->category);
    huella_partial_date expiry = {0}, review = {0};
    huella_status st;
    if (c->expiry_date != NULL && (st = full_date("expiry_date", c->expiry_date, &expiry, err)))
        return st;
    if (c->review_date != NULL && c->review_date[0] != '\0' &&
        (st = full_date("review_date", c->review_date, &review, err)))
        return st;
    if (c->legal_basis != NULL && !text_ok(c->legal_basis, false))
        return huella_error_set(err, HUELLA_E_INPUT, "legal_basis: 1 to %d bytes, one line",
                                HUELLA_WL_MAX_TEXT - 1);
    if (c->remarks != NULL && !text_ok(c->remarks, true))
        return huella_error_set(err, HUELLA_E_INPUT, "remarks: at most %d bytes, one line",
                                HUELLA_WL_MAX_TEXT - 1);
    if (c->source_grade != 0 && (c->source_grade < 'A' || c->source_grade > 'F'))
        return huella_error_set(err, HUELLA_E_INPUT, "source_grade: A to F");
    if (c->info_grade != 0 && (c->info_grade < 1 || c->info_grade > 6))
        return huella_error_set(err, HUELLA_E_INPUT, "info_grade: 1 to 6");

    huella_watchlist_entry *e = malloc(sizeof(*e));
    if (e == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    st = huella_watchlist_get(wl, id, e, err);
    if (st != HUELLA_OK) {
        free(e);
        return st;
    }
    if (c->expiry_date != NULL && wl_days(&expiry) < wl_days(&e->date_added)) {
        free(e);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "expiry_date: %s is before the entry was added", c->expiry_date);
    }
    json_t *old = json_object(), *new_ = json_object();
    char sg_old[2] = {e->source_grade, '\0'}, sg_new[2] = {c->source_grade, '\0'};
    if (cat != 0 && cat != e->category)
        note(old, new_, changed, changed_size, "category",
             json_string(huella_watchlist_category_name(e->category)),
             json_string(huella_watchlist_category_name(cat)));
    if (c->expiry_date != NULL && wl_days(&expiry) != wl_days(&e->expiry_date))
        note(old, new_, changed, changed_size, "expiry_date", date_or_null(&e->expiry_date, true),
             date_or_null(&expiry, true));
    if (c->review_date != NULL) {
        bool has = c->review_date[0] != '\0';
        if (has != e->has_review_date || (has && wl_days(&review) != wl_days(&e->review_date)))
            note(old, new_, changed, changed_size, "review_date",
                 date_or_null(&e->review_date, e->has_review_date), date_or_null(&review, has));
    }
    if (c->legal_basis != NULL && strcmp(c->legal_basis, e->legal_basis) != 0)
        note(old, new_, changed, changed_size, "legal_basis", json_string(e->legal_basis),
             json_string(c->legal_basis));
    if (c->remarks != NULL && strcmp(c->remarks, e->remarks) != 0)
        note(old, new_, changed, changed_size, "remarks", json_string(e->remarks),
             json_string(c->remarks));
    if (c->source_grade != 0 && c->source_grade != e->source_grade)
        note(old, new_, changed, changed_size, "source_grade", json_string(sg_old),
             json_string(sg_new));
    if (c->info_grade != 0 && c->info_grade != e->info_grade)
        note(old, new_, changed, changed_size, "info_grade", json_integer(e->info_grade),
             json_integer(c->info_grade));
    free(e);
    if (changed[0] == '\0') {
        json_decref(old);
        json_decref(new_);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "nothing to change: the update repeats the entry's values or "
                                "names no field that may change");
    }
    char *old_text = json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS);
    char *new_text = json_dumps(new_, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(old);
    json_decref(new_);
    if (old_text == NULL || new_text == NULL) {
        free(old_text);
        free(new_text);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    char now[32], ebuf[16], rbuf[16], sg[2] = {c->source_grade, '\0'};
    utc_now(now, sizeof(now));
    huella_partial_date_format(&expiry, ebuf, sizeof(ebuf));
    huella_partial_date_format(&review, rbuf, sizeof(rbuf));
    st = HUELLA_OK;
    if (sqlite3_exec(wl->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        st = db_fail(wl, err, "starting the update");
    if (st == HUELLA_OK && sqlite3_exec(wl->db, history_sql, NULL, NULL, NULL) != SQLITE_OK)
        st = db_fail(wl, err, "creating the update history");
    sqlite3_stmt *u = NULL, *h = NULL;
    if (st == HUELLA_OK && sqlite3_prepare_v2(wl->db,
                                              "UPDATE entries SET"
                                              " category = COALESCE(?1, category),"
                                              " expiry_date = COALESCE(?2, expiry_date),"
                                              " review_date = CASE WHEN ?3 IS NULL THEN review_date"
                                              "   WHEN ?3 = '' THEN NULL ELSE ?3 END,"
                                              " legal_basis = COALESCE(?4, legal_basis),"
                                              " remarks = COALESCE(?5, remarks),"
                                              " source_grade = COALESCE(?6, source_grade),"
                                              " info_grade = COALESCE(?7, info_grade)"
                                              " WHERE id = ?8",
                                              -1, &u, NULL) != SQLITE_OK)
        st = db_fail(wl, err, "preparing the update");
    if (st == HUELLA_OK) {
        if (cat != 0)
            sqlite3_bind_text(u, 1, huella_watchlist_category_name(cat), -1, SQLITE_STATIC);
        if (c->expiry_date != NULL)
            sqlite3_bind_text(u, 2, ebuf, -1, SQLITE_STATIC);
        if (c->review_date != NULL)
            sqlite3_bind_text(u, 3, c->review_date[0] ? rbuf : "", -1, SQLITE_STATIC);
        if (c->legal_basis != NULL)
            sqlite3_bind_text(u, 4, c->legal_basis, -1, SQLITE_STATIC);
        if (c->remarks != NULL)
            sqlite3_bind_text(u, 5, c->remarks, -1, SQLITE_STATIC);
        if (c->source_grade != 0)
            sqlite3_bind_text(u, 6, sg, -1, SQLITE_STATIC);
        if (c->info_grade != 0)
            sqlite3_bind_int(u, 7, c->info_grade);
        sqlite3_bind_int64(u, 8, id);
        if (sqlite3_step(u) != SQLITE_DONE || sqlite3_changes(wl->db) != 1)
            st = db_fail(wl, err, "updating the entry");
    }
    if (st == HUELLA_OK &&
        sqlite3_prepare_v2(wl->db,
                           "INSERT INTO entry_updates (entry_id, updated_at, updated_by, reason,"
                           " changed, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &h, NULL) != SQLITE_OK)
        st = db_fail(wl, err, "preparing the history");
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(h, 1, id);
        sqlite3_bind_text(h, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(h, 3, c->by, -1, SQLITE_STATIC);
        sqlite3_bind_text(h, 4, c->reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(h, 5, changed, -1, SQLITE_STATIC);
        sqlite3_bind_text(h, 6, old_text, -1, SQLITE_STATIC);
        sqlite3_bind_text(h, 7, new_text, -1, SQLITE_STATIC);
        if (sqlite3_step(h) != SQLITE_DONE)
            st = db_fail(wl, err, "recording the history");
    }
    sqlite3_finalize(u);
    sqlite3_finalize(h);
    if (st == HUELLA_OK && sqlite3_exec(wl->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        st = db_fail(wl, err, "committing the update");
    if (st != HUELLA_OK)
        sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
    free(old_text);
    free(new_text);
    /* The screening index holds categories: rebuilt at the next screening. */
    wl_index_free(wl->index);
    wl->index = NULL;
    return st;
}

huella_status huella_watchlist_updates(huella_watchlist *wl, int64_t id, char **json,
                                       huella_error *err)
{
    *json = NULL;
    json_t *arr = json_array();
    if (arr == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(wl->db,
                                "SELECT updated_at, updated_by, reason, changed, old, new"
                                " FROM entry_updates WHERE entry_id = ? ORDER BY id",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, id);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            json_t *o = json_pack(
                "{s:s, s:s, s:s, s:s, s:o, s:o}", "at", (const char *)sqlite3_column_text(s, 0),
                "by", (const char *)sqlite3_column_text(s, 1), "reason",
                (const char *)sqlite3_column_text(s, 2), "changed",
                (const char *)sqlite3_column_text(s, 3), "old",
                json_loads((const char *)sqlite3_column_text(s, 4), 0, NULL), "new",
                json_loads((const char *)sqlite3_column_text(s, 5), 0, NULL));
            if (o != NULL)
                json_array_append_new(arr, o);
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) {
            json_decref(arr);
            return db_fail(wl, err, "reading the update history");
        }
    } else if (strstr(sqlite3_errmsg(wl->db), "no such table") == NULL) {
        json_decref(arr);
        return db_fail(wl, err, "reading the update history");
    }
    /* No table yet: no entry was ever updated. */
    *json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return *json != NULL ? HUELLA_OK : huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
}
