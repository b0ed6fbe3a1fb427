/*
 * rectify.c - who owns a person (agency), and rectification of
 * biographic data with a history that keeps every old value.
 *
 * Contract: rectification works on the person's newest encounter (the
 * current biographic picture).  The patch members are validated and
 * derived exactly as at enrolment (store_bio_prepare, with the capture
 * time of that encounter), then replace the stored members; the old
 * document is sealed under the person's key (associated data "bio-history",
 * person, history row) in bio_history with who/when/why, in one savepoint
 * with the update.  Erasing the person removes the history with them (ON
 * DELETE CASCADE), so crypto-shredding covers old values too.  A history
 * row stays with the person it was made for: when the encounter is later
 * linked to another person the row is not moved (docs/server.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "store_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static bool valid_agency(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

huella_status huella_store_person_agency(huella_store *s, int64_t person_id, char agency[64],
                                         huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT agency FROM person WHERE id = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return store_sql_error(s, err, "reading the agency of a person");
    sqlite3_bind_int64(q, 1, person_id);
    huella_status st = HUELLA_OK;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        snprintf(agency, 64, "%s", v != NULL ? v : "");
    } else if (rc == SQLITE_DONE) {
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "person %" PRId64 ": no such person",
                              person_id);
    } else {
        st = store_sql_error(s, err, "reading the agency of a person");
    }
    sqlite3_finalize(q);
    return st;
}

huella_status huella_store_person_set_agency(huella_store *s, int64_t person_id, const char *agency,
                                             huella_error *err)
{
    if (agency == NULL || !valid_agency(agency))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "agency: want 1 to 63 of a-z 0-9 . _ - for an agency name");
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "UPDATE person SET agency = ?2 WHERE id = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return store_sql_error(s, err, "setting the agency of a person");
    sqlite3_bind_int64(q, 1, person_id);
    sqlite3_bind_text(q, 2, agency, -1, SQLITE_STATIC);
    huella_status st = HUELLA_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        st = store_sql_error(s, err, "setting the agency of a person");
    else if (sqlite3_changes(s->db) == 0)
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "person %" PRId64 ": no such person",
                              person_id);
    sqlite3_finalize(q);
    return st;
}

static const char *const patchable[] = {"names", "date_of_birth", "sex", "nationality",
                                        "documents"};

/* Check the patch and build the input document of its non-null members. */
static huella_status patch_input(json_t *patch, json_t **input, char *fields, size_t cap,
                                 huella_error *err)
{
    if (!json_is_object(patch) || json_object_size(patch) == 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "rectification: want a JSON object with at least one of names, "
                                "date_of_birth, sex, nationality, documents");
    *input = json_object();
    fields[0] = '\0';
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(patchable) / sizeof(patchable[0]); i++)
            known = known || strcmp(k, patchable[i]) == 0;
        if (!known) {
            json_decref(*input);
            *input = NULL;
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "rectification: member '%.40s' cannot be rectified", k);
        }
        if (strlen(fields) + strlen(k) + 2 < cap) {
            if (fields[0])
                strcat(fields, ",");
            strcat(fields, k);
        }
        if (!json_is_null(v))
            json_object_set(*input, k, v);
    }
    return HUELLA_OK;
}

static huella_status step_done(huella_store *s, sqlite3_stmt *q, const char *what,
                               huella_error *err)
{
    int rc = sqlite3_step(q);
    huella_status st = rc == SQLITE_DONE ? HUELLA_OK : store_sql_error(s, err, what);
    sqlite3_finalize(q);
    return st;
}

huella_status huella_store_person_rectify(huella_store *s, int64_t person_id,
                                          const char *patch_json, const char *who, const char *why,
                                          int64_t *encounter_id, huella_error *err)
{
    if (who == NULL || who[0] == '\0' || why == NULL || why[0] == '\0' || strlen(why) > 1024 ||
        strlen(who) > 256)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "rectification: who and why are required (why: 1 to 1024 bytes)");
    json_t *patch = json_loads(patch_json != NULL ? patch_json : "", 0, NULL);
    json_t *input = NULL, *old = NULL, *prepared_doc = NULL;
    char fields[128];
    huella_status st = patch != NULL ? patch_input(patch, &input, fields, sizeof(fields), err)
                                     : huella_error_set(err, HUELLA_E_INPUT,
                                                        "rectification: the patch is not JSON");
    uint8_t key[STORE_KEY_BYTES];
    uint8_t *buf = NULL, *sealed = NULL;
    size_t cap = 0, len = 0, sealed_len = 0;
    char *input_text = NULL, *prepared = NULL, *old_text = NULL, *new_text = NULL;
    int64_t enc = 0, hist = 0;
    bool juvenile = false, juvenile_before = false;
    char captured[40] = "";
    if (st != HUELLA_OK)
        goto done;
    st = store_save(s, err);
    if (st != HUELLA_OK)
        goto done;
    st = store_person_key(s, person_id, key, err);
    sqlite3_stmt *q = NULL;
    if (st == HUELLA_OK) {
        if (sqlite3_prepare_v2(s->db,
                               "SELECT id, captured, juvenile, bio FROM encounter WHERE"
                               " person_id = ?1 ORDER BY id DESC LIMIT 1",
                               -1, &q, NULL) != SQLITE_OK)
            st = store_sql_error(s, err, "reading the newest encounter");
    }
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, person_id);
        if (sqlite3_step(q) != SQLITE_ROW) {
            st = huella_error_set(err, HUELLA_E_NOTFOUND,
                                  "person %" PRId64 ": no encounter to rectify", person_id);
        } else {
            enc = sqlite3_column_int64(q, 0);
            snprintf(captured, sizeof(captured), "%s", (const char *)sqlite3_column_text(q, 1));
            juvenile_before = sqlite3_column_int(q, 2) != 0;
            store_ad ad;
            store_ad_make(&ad, "bio", person_id, enc);
            st = store_unseal(key, &ad, sqlite3_column_blob(q, 3),
                              (size_t)sqlite3_column_bytes(q, 3), &buf, &cap, &len, err);
        }
    }
    sqlite3_finalize(q);
    if (st == HUELLA_OK) {
        old = json_loadb((const char *)buf, len, 0, NULL);
        if (!json_is_object(old))
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "encounter %" PRId64 ": stored biographic data is not JSON", enc);
    }
    if (st == HUELLA_OK) {
        input_text = json_dumps(input, JSON_COMPACT);
        st = input_text != NULL
                 ? store_bio_prepare(s, input_text, captured, &prepared, &juvenile, err)
                 : huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    if (st == HUELLA_OK) {
        prepared_doc = json_loads(prepared, 0, NULL);
        old_text = json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *new_doc = json_deep_copy(old);
        const char *k;
        json_t *v;
        json_object_foreach(patch, k, v)
        {
            if (json_is_null(v))
                json_object_del(new_doc, k);
            else
                json_object_set(new_doc, k, json_object_get(prepared_doc, k));
            if (strcmp(k, "date_of_birth") == 0) {
                json_t *age = json_object_get(prepared_doc, "age_at_capture");
                if (age != NULL)
                    json_object_set(new_doc, "age_at_capture", age);
                else
                    json_object_del(new_doc, "age_at_capture");
            }
        }
        if (json_object_get(patch, "date_of_birth") == NULL)
            juvenile = juvenile_before;
        new_text = json_dumps(new_doc, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(new_doc);
        if (old_text == NULL || new_text == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    /* The history row first: the sealed old document names its id. */
    if (st == HUELLA_OK) {
        char now[32];
        store_now(now);
        if (sqlite3_prepare_v2(s->db,
                               "INSERT INTO bio_history(person_id, encounter_id, at, who, why,"
                               " fields, old) VALUES (?1, ?2, ?3, ?4, ?5, ?6, x'')",
                               -1, &q, NULL) != SQLITE_OK)
            st = store_sql_error(s, err, "recording the history");
        else {
            sqlite3_bind_int64(q, 1, person_id);
            sqlite3_bind_int64(q, 2, enc);
            sqlite3_bind_text(q, 3, now, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(q, 4, who, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 5, why, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 6, fields, -1, SQLITE_STATIC);
            st = step_done(s, q, "recording the history", err);
            hist = sqlite3_last_insert_rowid(s->db);
        }
    }
    if (st == HUELLA_OK) {
        store_ad ad;
        store_ad_make(&ad, "bio-history", person_id, hist);
        st = store_seal(key, &ad, (const uint8_t *)old_text, strlen(old_text), &sealed, &sealed_len,
                        err);
    }
    if (st == HUELLA_OK) {
        if (sqlite3_prepare_v2(s->db, "UPDATE bio_history SET old = ?2 WHERE id = ?1", -1, &q,
                               NULL) != SQLITE_OK)
            st = store_sql_error(s, err, "recording the history");
        else {
            sqlite3_bind_int64(q, 1, hist);
            sqlite3_bind_blob(q, 2, sealed, (int)sealed_len, SQLITE_STATIC);
            st = step_done(s, q, "recording the history", err);
        }
    }
    free(sealed);
    sealed = NULL;
    if (st == HUELLA_OK) {
        store_ad ad;
        store_ad_make(&ad, "bio", person_id, enc);
        st = store_seal(key, &ad, (const uint8_t *)new_text, strlen(new_text), &sealed, &sealed_len,
                        err);
    }
    if (st == HUELLA_OK) {
        if (sqlite3_prepare_v2(s->db, "UPDATE encounter SET bio = ?2, juvenile = ?3 WHERE id = ?1",
                               -1, &q, NULL) != SQLITE_OK)
            st = store_sql_error(s, err, "storing the rectified data");
        else {
            sqlite3_bind_int64(q, 1, enc);
            sqlite3_bind_blob(q, 2, sealed, (int)sealed_len, SQLITE_STATIC);
            sqlite3_bind_int(q, 3, juvenile ? 1 : 0);
            st = step_done(s, q, "storing the rectified data", err);
        }
    }
    if (st == HUELLA_OK)
        st = store_release(s, err);
    else
        store_undo(s);
done:
    sodium_memzero(key, sizeof(key));
    store_wipe_free(buf, cap);
    free(sealed);
    if (input_text != NULL) {
        sodium_memzero(input_text, strlen(input_text));
        free(input_text);
    }
    if (prepared != NULL) {
        sodium_memzero(prepared, strlen(prepared));
        free(prepared);
    }
    if (old_text != NULL) {
        sodium_memzero(old_text, strlen(old_text));
        free(old_text);
    }
    if (new_text != NULL) {
        sodium_memzero(new_text, strlen(new_text));
        free(new_text);
    }
    json_decref(patch);
    json_decref(input);
    json_decref(old);
    json_decref(prepared_doc);
    if (st == HUELLA_OK && encounter_id != NULL)
        *encounter_id = enc;
    return st;
}

huella_status huella_store_person_history(huella_store *s, int64_t person_id, char **json,
                                          huella_error *err)
{
    *json = NULL;
    uint8_t key[STORE_KEY_BYTES];
    huella_status st = store_person_key(s, person_id, key, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, encounter_id, at, who, why, fields, old FROM bio_history"
                           " WHERE person_id = ?1 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        sodium_memzero(key, sizeof(key));
        return store_sql_error(s, err, "reading the history");
    }
    sqlite3_bind_int64(q, 1, person_id);
    json_t *arr = json_array();
    uint8_t *buf = NULL;
    size_t cap = 0;
    while (st == HUELLA_OK && sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        store_ad ad;
        store_ad_make(&ad, "bio-history", person_id, id);
        size_t len = 0;
        st = store_unseal(key, &ad, sqlite3_column_blob(q, 6), (size_t)sqlite3_column_bytes(q, 6),
                          &buf, &cap, &len, err);
        if (st != HUELLA_OK)
            break;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(id));
        json_object_set_new(o, "encounter_id", json_integer(sqlite3_column_int64(q, 1)));
        static const char *const keys[4] = {"at", "who", "why", "fields"};
        for (int i = 0; i < 4; i++)
            json_object_set_new(o, keys[i],
                                json_string((const char *)sqlite3_column_text(q, 2 + i)));
        json_t *doc = json_loadb((const char *)buf, len, 0, NULL);
        json_object_set_new(o, "old", doc != NULL ? doc : json_null());
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(q);
    store_wipe_free(buf, cap);
    sodium_memzero(key, sizeof(key));
    if (st == HUELLA_OK) {
        *json = json_dumps(arr, JSON_COMPACT);
        if (*json == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    json_decref(arr);
    return st;
}
