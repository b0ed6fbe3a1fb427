/*
 * link.c - moving encounters between persons with history, possible-
 * duplicate cases, erasure.
 *
 * Contract: an encounter always belongs to exactly one person, and its
 * blobs are always sealed under that person's key.  Moving it (link,
 * unlink to a new person, relink to the previous one) re-seals its
 * biographic document, templates and images under the new person's key
 * with associated data naming the new person, in the same savepoint as
 * the link event that records who, when and why.  Events are never
 * edited or deleted, except with the encounter itself when its person is
 * erased.  Cases record a person's decision and never merge anything by
 * themselves; confirming "same" links the case's encounter to the chosen
 * candidate, which is an ordinary, undoable link.
 *
 * Erasure (crypto-shredding): the person row with its wrapped key goes,
 * and by ON DELETE CASCADE every encounter, sample, image and link event
 * of theirs; with secure_delete the freed cells and pages are zeroed;
 * then the WAL is checkpointed into the database and truncated to zero
 * bytes.  What a filesystem or a disk may still keep is in docs/store.md.
 */
#define _POSIX_C_SOURCE 200809L
#include "gallery_form.h"
#include "gallery_snapshot.h"
#include "store_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Re-seal one blob column of one row from person a's key to person b's. */
static huella_status reseal(huella_store *s, const char *select_sql, const char *update_sql,
                            const char *kind, int64_t row, int64_t from, const uint8_t *kfrom,
                            int64_t to, const uint8_t *kto, huella_error *err)
{
    sqlite3_stmt *q = NULL, *u = NULL;
    if (sqlite3_prepare_v2(s->db, select_sql, -1, &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, update_sql, -1, &u, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return store_sql_error(s, err, "re-sealing");
    }
    sqlite3_bind_int64(q, 1, row);
    huella_status st = HUELLA_OK;
    uint8_t *buf = NULL, *sealed = NULL;
    size_t cap = 0, len = 0, sealed_len = 0;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        store_ad ad;
        store_ad_make(&ad, kind, from, row);
        st = store_unseal(kfrom, &ad, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
                          &buf, &cap, &len, err);
        if (st == HUELLA_OK) {
            store_ad_make(&ad, kind, to, row);
            st = store_seal(kto, &ad, buf, len, &sealed, &sealed_len, err);
        }
        if (st == HUELLA_OK) {
            sqlite3_bind_int64(u, 1, row);
            sqlite3_bind_blob64(u, 2, sealed, sealed_len, SQLITE_STATIC);
            if (sqlite3_step(u) != SQLITE_DONE)
                st = store_sql_error(s, err, "re-sealing");
        }
    } else if (rc != SQLITE_DONE) {
        st = store_sql_error(s, err, "re-sealing");
    }
    store_wipe_free(buf, cap);
    free(sealed);
    sqlite3_finalize(q);
    sqlite3_finalize(u);
    return st;
}

static huella_status record_event(huella_store *s, int64_t encounter, const char *action,
                                  int64_t from, int64_t to, const char *who, const char *why,
                                  huella_error *err)
{
    sqlite3_stmt *q;
    huella_status st = store_stmt(s, STMT_LINK_INSERT, &q, err);
    if (st != HUELLA_OK)
        return st;
    char at[32];
    store_now(at);
    sqlite3_bind_int64(q, 1, encounter);
    sqlite3_bind_text(q, 2, action, -1, SQLITE_STATIC);
    if (from != 0)
        sqlite3_bind_int64(q, 3, from);
    sqlite3_bind_int64(q, 4, to);
    sqlite3_bind_text(q, 5, who, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 6, at, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 7, why, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? HUELLA_OK : store_sql_error(s, err, "recording a link event");
}

/* Move an encounter and everything under it to person `to` (in the
 * caller's savepoint). */
static huella_status move_encounter(huella_store *s, int64_t encounter, int64_t from, int64_t to,
                                    huella_error *err)
{
    uint8_t kfrom[STORE_KEY_BYTES], kto[STORE_KEY_BYTES];
    huella_status st = store_person_key(s, from, kfrom, err);
    if (st == HUELLA_OK)
        st = store_person_key(s, to, kto, err);
    if (st == HUELLA_OK)
        st = reseal(s, "SELECT bio FROM encounter WHERE id = ?1",
                    "UPDATE encounter SET bio = ?2 WHERE id = ?1", "bio", encounter, from, kfrom,
                    to, kto, err);
    int64_t *samples = NULL;
    size_t n = 0;
    if (st == HUELLA_OK)
        st = huella_store_encounter_samples(s, encounter, &samples, &n, err);
    for (size_t i = 0; st == HUELLA_OK && i < n; i++) {
        st = reseal(s, "SELECT templates FROM sample WHERE id = ?1",
                    "UPDATE sample SET templates = ?2 WHERE id = ?1", "templates", samples[i], from,
                    kfrom, to, kto, err);
        if (st == HUELLA_OK)
            st = reseal(s, "SELECT data FROM image WHERE sample_id = ?1",
                        "UPDATE image SET data = ?2 WHERE sample_id = ?1", "image", samples[i],
                        from, kfrom, to, kto, err);
    }
    free(samples);
    sodium_memzero(kfrom, sizeof(kfrom));
    sodium_memzero(kto, sizeof(kto));
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *u;
    if (sqlite3_prepare_v2(s->db, "UPDATE encounter SET person_id = ?2 WHERE id = ?1;", -1, &u,
                           NULL) != SQLITE_OK)
        return store_sql_error(s, err, "moving an encounter");
    sqlite3_bind_int64(u, 1, encounter);
    sqlite3_bind_int64(u, 2, to);
    int rc = sqlite3_step(u);
    sqlite3_finalize(u);
    if (rc != SQLITE_DONE)
        return store_sql_error(s, err, "moving an encounter");
    if (sqlite3_prepare_v2(s->db, "UPDATE sample SET person_id = ?2 WHERE encounter_id = ?1", -1,
                           &u, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "moving samples");
    sqlite3_bind_int64(u, 1, encounter);
    sqlite3_bind_int64(u, 2, to);
    rc = sqlite3_step(u);
    sqlite3_finalize(u);
    if (rc != SQLITE_DONE)
        return store_sql_error(s, err, "moving samples");
    /* Both persons' gallery forms, current again (the triggers dropped
     * them when the samples moved). */
    st = store_gallery_form_write(s, from, store_form_format(s), err);
    if (st == HUELLA_OK)
        st = store_gallery_form_write(s, to, store_form_format(s), err);
    return st;
}

static huella_status check_actor(const char *who, const char *why, huella_error *err)
{
    if (who == NULL || who[0] == '\0' || why == NULL || why[0] == '\0')
        return huella_error_set(err, HUELLA_E_INPUT, "link: who and why are required");
    return HUELLA_OK;
}

static huella_status link_to(huella_store *s, int64_t encounter, int64_t to, const char *action,
                             const char *who, const char *why, huella_error *err)
{
    int64_t from;
    huella_status st = store_encounter_person(s, encounter, &from, err);
    if (st != HUELLA_OK)
        return st;
    if (from == to)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "encounter %" PRId64 " already belongs to person %" PRId64,
                                encounter, to);
    st = move_encounter(s, encounter, from, to, err);
    if (st == HUELLA_OK)
        st = record_event(s, encounter, action, from, to, who, why, err);
    return st;
}

huella_status huella_store_encounter_link(huella_store *s, int64_t encounter_id, int64_t person_id,
                                          const char *who, const char *why, huella_error *err)
{
    huella_status st = check_actor(who, why, err);
    if (st == HUELLA_OK)
        st = store_save(s, err);
    if (st != HUELLA_OK)
        return st;
    st = link_to(s, encounter_id, person_id, "link", who, why, err);
    if (st != HUELLA_OK) {
        store_undo(s);
        return st;
    }
    return store_release(s, err);
}

huella_status huella_store_encounter_unlink(huella_store *s, int64_t encounter_id, const char *who,
                                            const char *why, int64_t *new_person, huella_error *err)
{
    huella_status st = check_actor(who, why, err);
    if (st == HUELLA_OK)
        st = store_save(s, err);
    if (st != HUELLA_OK)
        return st;
    int64_t person = 0, cur = 0;
    st = store_encounter_person(s, encounter_id, &cur, err);
    if (st == HUELLA_OK)
        st = huella_store_person_create(s, &person, err);
    if (st == HUELLA_OK)
        st = link_to(s, encounter_id, person, "unlink", who, why, err);
    if (st != HUELLA_OK) {
        store_undo(s);
        return st;
    }
    st = store_release(s, err);
    if (st == HUELLA_OK && new_person != NULL)
        *new_person = person;
    return st;
}

huella_status huella_store_encounter_relink(huella_store *s, int64_t encounter_id, const char *who,
                                            const char *why, huella_error *err)
{
    huella_status st = check_actor(who, why, err);
    if (st == HUELLA_OK)
        st = store_save(s, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT from_person FROM link_event WHERE encounter_id = ?1"
                           " ORDER BY id DESC LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK) {
        st = store_sql_error(s, err, "reading link history");
        store_undo(s);
        return st;
    }
    sqlite3_bind_int64(q, 1, encounter_id);
    int64_t prev = 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        prev = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (prev == 0)
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "encounter %" PRId64 ": no earlier link to go back to", encounter_id);
    else
        st = link_to(s, encounter_id, prev, "relink", who, why, err);
    if (st != HUELLA_OK) {
        store_undo(s);
        return st;
    }
    return store_release(s, err);
}

json_t *store_link_history_json(huella_store *s, int64_t encounter_id)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, action, from_person, to_person, who, at, why FROM link_event"
                           " WHERE encounter_id = ?1 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(q, 1, encounter_id);
    json_t *a = json_array();
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_t *e = json_object();
        json_object_set_new(e, "event", json_integer(sqlite3_column_int64(q, 0)));
        json_object_set_new(e, "action", json_string((const char *)sqlite3_column_text(q, 1)));
        json_object_set_new(e, "from_person",
                            sqlite3_column_type(q, 2) == SQLITE_NULL
                                ? json_null()
                                : json_integer(sqlite3_column_int64(q, 2)));
        json_object_set_new(e, "to_person", json_integer(sqlite3_column_int64(q, 3)));
        json_object_set_new(e, "who", json_string((const char *)sqlite3_column_text(q, 4)));
        json_object_set_new(e, "at", json_string((const char *)sqlite3_column_text(q, 5)));
        json_object_set_new(e, "why", json_string((const char *)sqlite3_column_text(q, 6)));
        json_array_append_new(a, e);
    }
    sqlite3_finalize(q);
    return a;
}

huella_status huella_store_link_history(huella_store *s, int64_t encounter_id, char **json,
                                        huella_error *err)
{
    *json = NULL;
    int64_t p;
    huella_status st = store_encounter_person(s, encounter_id, &p, err);
    if (st != HUELLA_OK)
        return st;
    json_t *a = store_link_history_json(s, encounter_id);
    *json = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return *json != NULL ? HUELLA_OK
                         : huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory");
}

/* ---- Cases ---- */

const char *huella_store_case_status_name(huella_store_case_status st)
{
    switch (st) {
    case HUELLA_CASE_OPEN:
        return "open";
    case HUELLA_CASE_CONFIRMED_SAME:
        return "confirmed-same";
    case HUELLA_CASE_CONFIRMED_DIFFERENT:
        return "confirmed-different";
    }
    return NULL;
}

/* Whether a person row exists (its key need not unwrap: a person whose
 * key is damaged can still be named in a case, and erased). */
static bool person_exists(huella_store *s, int64_t id)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM person WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(q, 1, id);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return found;
}

huella_status huella_store_case_open(huella_store *s, int64_t encounter_id,
                                     const huella_store_candidate *candidates, size_t n_candidates,
                                     const char *opened_by, int64_t *case_id, huella_error *err)
{
    if (n_candidates == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "case: at least one candidate is needed");
    if (opened_by == NULL || opened_by[0] == '\0')
        return huella_error_set(err, HUELLA_E_INPUT, "case: who opens it is required");
    int64_t owner;
    huella_status st = store_encounter_person(s, encounter_id, &owner, err);
    if (st != HUELLA_OK)
        return st;
    char **ev = calloc(n_candidates, sizeof(char *));
    if (ev == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "case: out of memory");
    for (size_t i = 0; st == HUELLA_OK && i < n_candidates; i++) {
        if (!person_exists(s, candidates[i].person_id)) {
            st = huella_error_set(err, HUELLA_E_NOTFOUND, "case: candidate %zu: no person %" PRId64,
                                  i, candidates[i].person_id);
            break;
        }
        if (candidates[i].person_id == owner) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "case: candidate %zu is the encounter's own person", i);
            break;
        }
        if (candidates[i].evidence_json != NULL) {
            json_error_t je;
            json_t *j = json_loads(candidates[i].evidence_json, JSON_DECODE_ANY, &je);
            if (j == NULL) {
                st = huella_error_set(err, HUELLA_E_INPUT,
                                      "case: candidate %zu: evidence is not JSON (%s)", i, je.text);
                break;
            }
            ev[i] = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
            json_decref(j);
        }
    }
    if (st == HUELLA_OK)
        st = store_save(s, err);
    if (st != HUELLA_OK)
        goto out;
    sqlite3_stmt *q;
    char now[32];
    store_now(now);
    int64_t id = 0;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO dup_case(encounter_id, status, opened_at, opened_by)"
                           " VALUES (?1, 'open', ?2, ?3)",
                           -1, &q, NULL) != SQLITE_OK) {
        st = store_sql_error(s, err, "opening a case");
    } else {
        sqlite3_bind_int64(q, 1, encounter_id);
        sqlite3_bind_text(q, 2, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 3, opened_by, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) != SQLITE_DONE)
            st = store_sql_error(s, err, "opening a case");
        sqlite3_finalize(q);
        id = sqlite3_last_insert_rowid(s->db);
    }
    if (st == HUELLA_OK &&
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO case_candidate(case_id, rank, person_id, evidence)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           -1, &q, NULL) != SQLITE_OK)
        st = store_sql_error(s, err, "adding candidates");
    else if (st == HUELLA_OK) {
        for (size_t i = 0; st == HUELLA_OK && i < n_candidates; i++) {
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, id);
            sqlite3_bind_int64(q, 2, (int64_t)i + 1);
            sqlite3_bind_int64(q, 3, candidates[i].person_id);
            if (ev[i] != NULL)
                sqlite3_bind_text(q, 4, ev[i], -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(q, 4);
            if (sqlite3_step(q) != SQLITE_DONE)
                st = store_sql_error(s, err, "adding candidates (each person once)");
        }
        sqlite3_finalize(q);
    }
    if (st == HUELLA_OK)
        st = store_release(s, err);
    else
        store_undo(s);
    if (st == HUELLA_OK)
        *case_id = id;
out:
    for (size_t i = 0; i < n_candidates; i++)
        free(ev[i]);
    free(ev);
    return st;
}

huella_status huella_store_case_resolve(huella_store *s, int64_t case_id,
                                        huella_store_case_status status, int64_t same_person,
                                        const char *decided_by, const char *note, huella_error *err)
{
    if (status != HUELLA_CASE_CONFIRMED_SAME && status != HUELLA_CASE_CONFIRMED_DIFFERENT)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "case: a decision is confirmed-same or confirmed-different");
    if (decided_by == NULL || decided_by[0] == '\0')
        return huella_error_set(err, HUELLA_E_INPUT, "case: who decides is required");
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT status, encounter_id FROM dup_case WHERE id = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return store_sql_error(s, err, "reading a case");
    sqlite3_bind_int64(q, 1, case_id);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return huella_error_set(err, HUELLA_E_NOTFOUND, "case %" PRId64 ": no such case", case_id);
    }
    bool open = strcmp((const char *)sqlite3_column_text(q, 0), "open") == 0;
    int64_t encounter = sqlite3_column_type(q, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 1);
    sqlite3_finalize(q);
    if (!open)
        return huella_error_set(err, HUELLA_E_INPUT, "case %" PRId64 ": already decided", case_id);
    if (status == HUELLA_CASE_CONFIRMED_SAME) {
        if (sqlite3_prepare_v2(s->db,
                               "SELECT erased FROM case_candidate WHERE case_id = ?1 AND"
                               " person_id = ?2",
                               -1, &q, NULL) != SQLITE_OK)
            return store_sql_error(s, err, "reading a case");
        sqlite3_bind_int64(q, 1, case_id);
        sqlite3_bind_int64(q, 2, same_person);
        int rc = sqlite3_step(q);
        bool erased = rc == SQLITE_ROW && sqlite3_column_int(q, 0) != 0;
        sqlite3_finalize(q);
        if (rc != SQLITE_ROW || erased)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "case %" PRId64 ": person %" PRId64
                                    " is not a (remaining) candidate",
                                    case_id, same_person);
        if (encounter == 0)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "case %" PRId64 ": its encounter was erased", case_id);
    }
    huella_status st = store_save(s, err);
    if (st != HUELLA_OK)
        return st;
    if (status == HUELLA_CASE_CONFIRMED_SAME) {
        int64_t cur;
        st = store_encounter_person(s, encounter, &cur, err);
        if (st == HUELLA_OK && cur != same_person) {
            char why[160];
            snprintf(why, sizeof(why), "case %" PRId64 " confirmed-same", case_id);
            st = link_to(s, encounter, same_person, "link", decided_by, why, err);
        }
    }
    char now[32];
    store_now(now);
    if (st == HUELLA_OK &&
        sqlite3_prepare_v2(s->db,
                           "UPDATE dup_case SET status = ?2, decided_at = ?3, decided_by = ?4,"
                           " decided_person = ?5, note = ?6 WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        st = store_sql_error(s, err, "deciding a case");
    else if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, case_id);
        sqlite3_bind_text(q, 2, huella_store_case_status_name(status), -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 4, decided_by, -1, SQLITE_TRANSIENT);
        if (status == HUELLA_CASE_CONFIRMED_SAME)
            sqlite3_bind_int64(q, 5, same_person);
        if (note != NULL)
            sqlite3_bind_text(q, 6, note, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) != SQLITE_DONE)
            st = store_sql_error(s, err, "deciding a case");
        sqlite3_finalize(q);
    }
    if (st != HUELLA_OK) {
        store_undo(s);
        return st;
    }
    return store_release(s, err);
}

json_t *store_case_to_json(huella_store *s, int64_t case_id)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT encounter_id, encounter_erased, status, opened_at, opened_by,"
                           " decided_at, decided_by, decided_person, note FROM dup_case"
                           " WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(q, 1, case_id);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return NULL;
    }
    json_t *o = json_object();
    json_object_set_new(o, "case_id", json_integer(case_id));
    static const char *const keys[9] = {"encounter_id", "encounter_erased", "status",
                                        "opened_at",    "opened_by",        "decided_at",
                                        "decided_by",   "decided_person",   "note"};
    for (int i = 0; i < 9; i++) {
        json_t *v;
        if (sqlite3_column_type(q, i) == SQLITE_NULL)
            v = json_null();
        else if (i == 1)
            v = json_boolean(sqlite3_column_int(q, i) != 0);
        else if (sqlite3_column_type(q, i) == SQLITE_INTEGER)
            v = json_integer(sqlite3_column_int64(q, i));
        else
            v = json_string((const char *)sqlite3_column_text(q, i));
        json_object_set_new(o, keys[i], v);
    }
    sqlite3_finalize(q);
    json_t *cands = json_array();
    if (sqlite3_prepare_v2(s->db,
                           "SELECT rank, person_id, evidence, erased FROM case_candidate"
                           " WHERE case_id = ?1 ORDER BY rank",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, case_id);
        while (sqlite3_step(q) == SQLITE_ROW) {
            json_t *c = json_object();
            json_object_set_new(c, "rank", json_integer(sqlite3_column_int64(q, 0)));
            json_object_set_new(c, "person_id", json_integer(sqlite3_column_int64(q, 1)));
            json_t *ev = NULL;
            if (sqlite3_column_type(q, 2) != SQLITE_NULL)
                ev = json_loads((const char *)sqlite3_column_text(q, 2), JSON_DECODE_ANY, NULL);
            json_object_set_new(c, "evidence", ev != NULL ? ev : json_null());
            json_object_set_new(c, "erased", json_boolean(sqlite3_column_int(q, 3) != 0));
            json_array_append_new(cands, c);
        }
        sqlite3_finalize(q);
    }
    json_object_set_new(o, "candidates", cands);
    return o;
}

huella_status huella_store_case_json(huella_store *s, int64_t case_id, char **json,
                                     huella_error *err)
{
    *json = NULL;
    json_t *o = store_case_to_json(s, case_id);
    if (o == NULL)
        return huella_error_set(err, HUELLA_E_NOTFOUND, "case %" PRId64 ": no such case", case_id);
    *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *json != NULL ? HUELLA_OK
                         : huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory");
}

huella_status huella_store_cases(huella_store *s, huella_store_case_status status, int64_t **ids,
                                 size_t *n, huella_error *err)
{
    /* Statuses are fixed names: pick the statement rather than bind text. */
    switch (status) {
    case HUELLA_CASE_OPEN:
        return store_list_ids(s, "SELECT id FROM dup_case WHERE status = 'open' ORDER BY id", 0,
                              ids, n, err);
    case HUELLA_CASE_CONFIRMED_SAME:
        return store_list_ids(s,
                              "SELECT id FROM dup_case WHERE status = 'confirmed-same' ORDER BY id",
                              0, ids, n, err);
    case HUELLA_CASE_CONFIRMED_DIFFERENT:
        return store_list_ids(
            s, "SELECT id FROM dup_case WHERE status = 'confirmed-different' ORDER BY id", 0, ids,
            n, err);
    }
    *ids = NULL;
    *n = 0;
    return huella_error_set(err, HUELLA_E_INPUT, "case: unknown status %d", (int)status);
}

/* ---- Erasure ---- */

static huella_status exec_bind(huella_store *s, const char *sql, int64_t a, const char *t1,
                               const char *t2, const char *t3, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "erasing");
    sqlite3_bind_int64(q, 1, a);
    if (t1 != NULL)
        sqlite3_bind_text(q, 2, t1, -1, SQLITE_TRANSIENT);
    if (t2 != NULL)
        sqlite3_bind_text(q, 3, t2, -1, SQLITE_TRANSIENT);
    if (t3 != NULL)
        sqlite3_bind_text(q, 4, t3, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HUELLA_OK : store_sql_error(s, err, "erasing");
}

huella_status huella_store_person_erase(huella_store *s, int64_t person_id, const char *who,
                                        const char *reason, huella_error *err)
{
    if (who == NULL || who[0] == '\0' || reason == NULL || reason[0] == '\0')
        return huella_error_set(err, HUELLA_E_INPUT, "erase: who and the reason are required");
    if (!sqlite3_get_autocommit(s->db))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "erase: not allowed inside a transaction (the WAL must be "
                                "truncated after the commit)");
    huella_status st = store_exec(s, "BEGIN IMMEDIATE", err);
    if (st != HUELLA_OK)
        return st;
    if (!person_exists(s, person_id))
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "person %" PRId64 ": no such person",
                              person_id);
    if (st == HUELLA_OK)
        st = exec_bind(s,
                       "UPDATE dup_case SET encounter_erased = 1, encounter_id = NULL WHERE"
                       " encounter_id IN (SELECT id FROM encounter WHERE person_id = ?1)",
                       person_id, NULL, NULL, NULL, err);
    if (st == HUELLA_OK)
        st = exec_bind(s,
                       "UPDATE case_candidate SET evidence = NULL, erased = 1 WHERE"
                       " person_id = ?1",
                       person_id, NULL, NULL, NULL, err);
    /* Samples and images first, explicitly, then the person (cascades
     * the encounters and their link events). */
    if (st == HUELLA_OK)
        st = exec_bind(s,
                       "DELETE FROM image WHERE sample_id IN (SELECT id FROM sample WHERE"
                       " person_id = ?1)",
                       person_id, NULL, NULL, NULL, err);
    if (st == HUELLA_OK)
        st = exec_bind(s, "DELETE FROM sample WHERE person_id = ?1", person_id, NULL, NULL, NULL,
                       err);
    if (st == HUELLA_OK)
        st = exec_bind(s, "DELETE FROM person WHERE id = ?1", person_id, NULL, NULL, NULL, err);
    char now[32];
    store_now(now);
    if (st == HUELLA_OK)
        st = exec_bind(s, "INSERT INTO erasure(person_id, at, who, reason) VALUES (?1, ?2, ?3, ?4)",
                       person_id, now, who, reason, err);
    if (st == HUELLA_OK)
        st = store_snapshot_discard(s, err);
    if (st != HUELLA_OK) {
        huella_store_rollback(s);
        return st;
    }
    st = store_exec(s, "COMMIT", err);
    if (st != HUELLA_OK) {
        huella_store_rollback(s);
        return st;
    }
    /* Statements kept prepared may hold a read snapshot: reset them so the
     * checkpoint can copy every frame and truncate the log. */
    for (int i = 0; i < STMT_COUNT; i++)
        if (s->stmts[i] != NULL)
            sqlite3_reset(s->stmts[i]);
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc != SQLITE_OK)
        return huella_error_set(err, HUELLA_E_IO,
                                "erase: person %" PRId64
                                " was erased, but the write-ahead log could not be truncated "
                                "(%s); run the erase of another person or close other "
                                "connections and check again",
                                person_id, sqlite3_errmsg(s->db));
    return HUELLA_OK;
}
