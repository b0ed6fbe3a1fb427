/*
 * expire.c - what the retention policy (src/policy/retention.c) needs from
 * the store: encounters past a cut-off, erasing one encounter, closed
 * cases past a cut-off and deleting them.  Design: docs/retention.md.
 */
#define _POSIX_C_SOURCE 200809L
#include "gallery_form.h"
#include "gallery_snapshot.h"
#include "store_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static huella_status exec_id(huella_store *s, const char *sql, int64_t id, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "retention");
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HUELLA_OK : store_sql_error(s, err, "retention");
}

huella_status huella_store_expired_encounters(huella_store *s, const char *before,
                                              huella_store_expired **out, size_t *n,
                                              huella_error *err)
{
    *out = NULL;
    *n = 0;
    if (before == NULL || !store_valid_timestamp(before))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "retention: cut-off %s is not YYYY-MM-DDThh:mm:ssZ",
                                before != NULL ? before : "(none)");
    /* An encounter stays when it is recent or its case is open; the
     * person's last encounter is the one with no staying sibling. */
    static const char sql[] =
        "WITH held AS (SELECT encounter_id AS id FROM dup_case WHERE status = 'open'"
        " AND encounter_id IS NOT NULL),"
        " stays AS (SELECT id, person_id FROM encounter WHERE captured >= ?1"
        " OR id IN (SELECT id FROM held))"
        " SELECT e.id, e.person_id, e.captured,"
        " NOT EXISTS (SELECT 1 FROM stays WHERE stays.person_id = e.person_id)"
        " FROM encounter e WHERE e.captured < ?1 AND e.id NOT IN (SELECT id FROM held)"
        " ORDER BY e.person_id, e.id";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "retention: finding expired encounters");
    sqlite3_bind_text(q, 1, before, -1, SQLITE_TRANSIENT);
    huella_store_expired *v = NULL;
    size_t count = 0, cap = 0;
    huella_status st = HUELLA_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 64, bytes;
            huella_store_expired *nv =
                huella_size_mul(ncap, sizeof *v, &bytes) ? realloc(v, bytes) : NULL;
            if (nv == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "retention: out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        huella_store_expired *e = &v[count++];
        memset(e, 0, sizeof *e);
        e->encounter_id = sqlite3_column_int64(q, 0);
        e->person_id = sqlite3_column_int64(q, 1);
        const char *c = (const char *)sqlite3_column_text(q, 2);
        snprintf(e->captured, sizeof e->captured, "%s", c != NULL ? c : "");
        e->last = sqlite3_column_int(q, 3) != 0;
    }
    if (st == HUELLA_OK && rc != SQLITE_DONE)
        st = store_sql_error(s, err, "retention: finding expired encounters");
    sqlite3_finalize(q);
    if (st != HUELLA_OK) {
        free(v);
        return st;
    }
    *out = v;
    *n = count;
    return HUELLA_OK;
}

huella_status huella_store_encounter_erase(huella_store *s, int64_t encounter_id, huella_error *err)
{
    if (!sqlite3_get_autocommit(s->db))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "erase encounter: not allowed inside a transaction (the WAL "
                                "must be truncated after the commit)");
    huella_status st = store_exec(s, "BEGIN IMMEDIATE", err);
    if (st != HUELLA_OK)
        return st;
    int64_t person = 0;
    st = huella_store_encounter_person(s, encounter_id, &person, err);
    if (st == HUELLA_OK)
        st = exec_id(s,
                     "UPDATE dup_case SET encounter_erased = 1, encounter_id = NULL"
                     " WHERE encounter_id = ?1",
                     encounter_id, err);
    if (st == HUELLA_OK)
        st = exec_id(s,
                     "DELETE FROM image WHERE sample_id IN (SELECT id FROM sample WHERE"
                     " encounter_id = ?1)",
                     encounter_id, err);
    if (st == HUELLA_OK)
        st = exec_id(s, "DELETE FROM sample WHERE encounter_id = ?1", encounter_id, err);
    if (st == HUELLA_OK)
        st = exec_id(s, "DELETE FROM bio_history WHERE encounter_id = ?1", encounter_id, err);
    if (st == HUELLA_OK)
        st = exec_id(s, "DELETE FROM link_event WHERE encounter_id = ?1", encounter_id, err);
    if (st == HUELLA_OK)
        st = exec_id(s, "DELETE FROM encounter WHERE id = ?1", encounter_id, err);
    /* The person's gallery form went with the samples (trigger, zeroed by
     * secure_delete); write it again from what remains. */
    if (st == HUELLA_OK)
        st = store_gallery_form_write(s, person, store_form_format(s), err);
    if (st == HUELLA_OK)
        st = store_snapshot_discard(s, err);
    if (st == HUELLA_OK)
        st = store_exec(s, "COMMIT", err);
    if (st != HUELLA_OK) {
        huella_store_rollback(s);
        return st;
    }
    for (int i = 0; i < STMT_COUNT; i++)
        if (s->stmts[i] != NULL)
            sqlite3_reset(s->stmts[i]);
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done) !=
        SQLITE_OK)
        return huella_error_set(err, HUELLA_E_IO,
                                "erase: encounter %" PRId64
                                " was erased, but the write-ahead log could not be truncated (%s)",
                                encounter_id, sqlite3_errmsg(s->db));
    return HUELLA_OK;
}

huella_status huella_store_closed_cases(huella_store *s, const char *before, int64_t **ids,
                                        size_t *n, huella_error *err)
{
    *ids = NULL;
    *n = 0;
    if (before == NULL || !store_valid_timestamp(before))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "retention: cut-off %s is not YYYY-MM-DDThh:mm:ssZ",
                                before != NULL ? before : "(none)");
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id FROM dup_case WHERE status <> 'open' AND decided_at IS NOT"
                           " NULL AND decided_at < ?1 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "retention: finding closed cases");
    sqlite3_bind_text(q, 1, before, -1, SQLITE_TRANSIENT);
    int64_t *v = NULL;
    size_t count = 0, cap = 0;
    huella_status st = HUELLA_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 64, bytes;
            int64_t *nv = huella_size_mul(ncap, sizeof *v, &bytes) ? realloc(v, bytes) : NULL;
            if (nv == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "retention: out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[count++] = sqlite3_column_int64(q, 0);
    }
    if (st == HUELLA_OK && rc != SQLITE_DONE)
        st = store_sql_error(s, err, "retention: finding closed cases");
    sqlite3_finalize(q);
    if (st != HUELLA_OK) {
        free(v);
        return st;
    }
    *ids = v;
    *n = count;
    return HUELLA_OK;
}

huella_status huella_store_case_delete(huella_store *s, int64_t case_id, huella_error *err)
{
    huella_status st = store_save(s, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT status FROM dup_case WHERE id = ?1", -1, &q, NULL) !=
        SQLITE_OK) {
        store_undo(s);
        return store_sql_error(s, err, "deleting a case");
    }
    sqlite3_bind_int64(q, 1, case_id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW)
        st = rc == SQLITE_DONE ? huella_error_set(err, HUELLA_E_NOTFOUND,
                                                  "case %" PRId64 ": no such case", case_id)
                               : store_sql_error(s, err, "deleting a case");
    else if (strcmp((const char *)sqlite3_column_text(q, 0), "open") == 0)
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "case %" PRId64 ": still open; only decided cases are purged",
                              case_id);
    sqlite3_finalize(q);
    if (st == HUELLA_OK)
        st = exec_id(s, "DELETE FROM case_candidate WHERE case_id = ?1", case_id, err);
    if (st == HUELLA_OK)
        st = exec_id(s, "DELETE FROM dup_case WHERE id = ?1", case_id, err);
    if (st != HUELLA_OK) {
        store_undo(s);
        return st;
    }
    return store_release(s, err);
}
