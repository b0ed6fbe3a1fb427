/*
 * idempotency.c - idempotency keys of enrolments (huellad's
 * POST /v1/encounters): the key and the ids of the first answer, in the
 * same transaction as the enrolment.
 */
#include "huella/policy.h" /* huella_utc_now */
#include "store_internal.h"

#include <stdio.h>
#include <string.h>

static bool key_ok(const char *key)
{
    size_t n = key != NULL ? strlen(key) : 0;
    if (n < 1 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key[i] <= 0x20 || key[i] >= 0x7f)
            return false;
    return true;
}

huella_status huella_store_idempotency_put(huella_store *s, const char *key, int64_t encounter_id,
                                           int64_t person_id, const char *outcome, int64_t case_id,
                                           huella_error *err)
{
    if (!key_ok(key) || outcome == NULL || strlen(outcome) > 15)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "idempotency key: 1 to 128 visible ASCII characters");
    char now[32];
    huella_utc_now(now);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO idempotency(key, encounter_id, person_id, outcome, case_id,"
                           " at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "idempotency key");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, encounter_id);
    sqlite3_bind_int64(q, 3, person_id);
    sqlite3_bind_text(q, 4, outcome, -1, SQLITE_STATIC);
    if (case_id > 0)
        sqlite3_bind_int64(q, 5, case_id);
    sqlite3_bind_text(q, 6, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc == SQLITE_CONSTRAINT)
        return huella_error_set(err, HUELLA_E_INPUT, "idempotency key: already used");
    return rc == SQLITE_DONE ? HUELLA_OK : store_sql_error(s, err, "idempotency key");
}

huella_status huella_store_idempotency_get(huella_store *s, const char *key, int64_t *encounter_id,
                                           int64_t *person_id, char outcome[16], int64_t *case_id,
                                           huella_error *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT encounter_id, person_id, outcome, coalesce(case_id, 0) FROM"
                           " idempotency WHERE key = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "idempotency key");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    huella_status st = HUELLA_OK;
    if (rc == SQLITE_ROW) {
        *encounter_id = sqlite3_column_int64(q, 0);
        *person_id = sqlite3_column_int64(q, 1);
        const unsigned char *o = sqlite3_column_text(q, 2);
        snprintf(outcome, 16, "%s", o != NULL ? (const char *)o : "");
        *case_id = sqlite3_column_int64(q, 3);
    } else if (rc == SQLITE_DONE) {
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "idempotency key: not found");
    } else {
        st = store_sql_error(s, err, "idempotency key");
    }
    sqlite3_finalize(q);
    return st;
}
