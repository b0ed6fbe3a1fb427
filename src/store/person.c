/*
 * person.c - writing and reading persons, encounters and samples; the
 * bulk template scan for the galleries.
 *
 * Contract: every writing call runs in a savepoint (atomic alone, or part
 * of the caller's begin/commit).  Rows that hold sealed blobs are
 * inserted first and sealed second, because the associated data names the
 * row id.  Plaintext copies of biographic data, images and templates are
 * wiped before they are freed.  The bulk template scan is in scan.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "store_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static huella_status step_done(huella_store *s, sqlite3_stmt *q, const char *what,
                               huella_error *err)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return store_sql_error(s, err, what);
    return HUELLA_OK;
}

huella_status huella_store_person_create(huella_store *s, int64_t *person_id, huella_error *err)
{
    huella_status st = store_save(s, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *q;
    char now[32];
    store_now(now);
    uint8_t key[STORE_KEY_BYTES], wrapped[STORE_WRAPPED_KEY_BYTES];
    int64_t id = 0;
    st = store_stmt(s, STMT_PERSON_INSERT, &q, err);
    if (st == HUELLA_OK) {
        sqlite3_bind_text(q, 1, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(q, 2, (int)STORE_WRAPPED_KEY_BYTES);
        st = step_done(s, q, "creating a person", err);
        id = sqlite3_last_insert_rowid(s->db);
    }
    if (st == HUELLA_OK)
        st = store_key_new(s, id, key, wrapped, err);
    sodium_memzero(key, sizeof(key));
    if (st == HUELLA_OK)
        st = store_stmt(s, STMT_PERSON_SET_KEY, &q, err);
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_blob(q, 2, wrapped, (int)sizeof(wrapped), SQLITE_TRANSIENT);
        st = step_done(s, q, "storing a person key", err);
    }
    if (st != HUELLA_OK) {
        store_undo(s);
        return st;
    }
    st = store_release(s, err);
    if (st == HUELLA_OK)
        *person_id = id;
    return st;
}

static bool nonempty(const char *x)
{
    return x != NULL && x[0] != '\0' && strlen(x) <= 1024;
}

huella_status huella_store_encounter_add(huella_store *s, int64_t person_id,
                                         const huella_store_encounter *enc, const char *bio_json,
                                         int64_t *encounter_id, huella_error *err)
{
    char now[32];
    const char *captured = enc->captured;
    if (captured == NULL) {
        store_now(now);
        captured = now;
    }
    if (!store_valid_timestamp(captured))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "encounter: capture time '%s' is not UTC ISO 8601 "
                                "(YYYY-MM-DDThh:mm:ssZ)",
                                captured);
    const char *fields[5] = {enc->site, enc->device, enc->operator_id, enc->purpose,
                             enc->legal_basis};
    static const char *const names[5] = {"site", "device", "operator", "purpose", "legal basis"};
    for (int i = 0; i < 5; i++)
        if (!nonempty(fields[i]))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "encounter: the %s is required (1 to 1024 bytes)", names[i]);
    char *doc = NULL;
    bool juvenile = false;
    huella_status st = store_bio_prepare(s, bio_json, captured, &doc, &juvenile, err);
    if (st != HUELLA_OK)
        return st;
    size_t doc_len = strlen(doc);
    uint8_t key[STORE_KEY_BYTES];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    int64_t id = 0;
    sqlite3_stmt *q;
    st = store_save(s, err);
    if (st != HUELLA_OK)
        goto out;
    st = store_person_key(s, person_id, key, err);
    if (st == HUELLA_OK)
        st = store_stmt(s, STMT_ENCOUNTER_INSERT, &q, err);
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, person_id);
        sqlite3_bind_text(q, 2, captured, -1, SQLITE_TRANSIENT);
        for (int i = 0; i < 5; i++)
            sqlite3_bind_text(q, 3 + i, fields[i], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(q, 8, juvenile ? 1 : 0);
        st = step_done(s, q, "adding an encounter", err);
        id = sqlite3_last_insert_rowid(s->db);
    }
    if (st == HUELLA_OK) {
        store_ad ad;
        store_ad_make(&ad, "bio", person_id, id);
        st = store_seal(key, &ad, (const uint8_t *)doc, doc_len, &sealed, &sealed_len, err);
    }
    if (st == HUELLA_OK)
        st = store_stmt(s, STMT_ENCOUNTER_SET_BIO, &q, err);
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_blob(q, 2, sealed, (int)sealed_len, SQLITE_STATIC);
        st = step_done(s, q, "storing biographic data", err);
    }
    if (st == HUELLA_OK)
        st = store_stmt(s, STMT_LINK_INSERT, &q, err);
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_text(q, 2, enc->link_reason != NULL ? "link" : "enrol", -1, SQLITE_STATIC);
        sqlite3_bind_null(q, 3);
        sqlite3_bind_int64(q, 4, person_id);
        sqlite3_bind_text(q, 5, enc->operator_id, -1, SQLITE_TRANSIENT);
        char at[32];
        store_now(at);
        sqlite3_bind_text(q, 6, at, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 7, enc->link_reason != NULL ? enc->link_reason : "enrolment", -1,
                          SQLITE_TRANSIENT);
        st = step_done(s, q, "recording the link", err);
    }
    if (st == HUELLA_OK)
        st = store_release(s, err);
    else
        store_undo(s);
out:
    sodium_memzero(key, sizeof(key));
    sodium_memzero(doc, doc_len);
    free(doc);
    free(sealed);
    if (st == HUELLA_OK)
        *encounter_id = id;
    return st;
}

huella_status store_encounter_person(huella_store *s, int64_t encounter_id, int64_t *person,
                                     huella_error *err)
{
    sqlite3_stmt *q;
    huella_status st = store_stmt(s, STMT_ENCOUNTER_PERSON, &q, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_bind_int64(q, 1, encounter_id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *person = sqlite3_column_int64(q, 0);
    else if (rc == SQLITE_DONE)
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "encounter %" PRId64 ": no such encounter",
                              encounter_id);
    else
        st = store_sql_error(s, err, "reading an encounter");
    sqlite3_reset(q);
    return st;
}

huella_status huella_store_encounter_person(huella_store *s, int64_t encounter_id,
                                            int64_t *person_id, huella_error *err)
{
    return store_encounter_person(s, encounter_id, person_id, err);
}

static bool valid_position(huella_store_modality m, unsigned p)
{
    switch (m) {
    case HUELLA_STORE_FINGER:
        return p >= 1 && p <= 10;
    case HUELLA_STORE_IRIS:
        return p == 1 || p == 2;
    case HUELLA_STORE_FACE:
    case HUELLA_STORE_SMT:
        return p == 0;
    }
    return false;
}

huella_status huella_store_sample_add(huella_store *s, int64_t encounter_id,
                                      const huella_store_sample *smp, int64_t *sample_id,
                                      huella_error *err)
{
    if (huella_store_modality_name(smp->modality) == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "sample: unknown modality %d",
                                (int)smp->modality);
    if (!valid_position(smp->modality, smp->position))
        return huella_error_set(err, HUELLA_E_INPUT, "sample: position %u is not valid for %s",
                                smp->position, huella_store_modality_name(smp->modality));
    if (smp->quality < -1 || smp->quality > 100)
        return huella_error_set(err, HUELLA_E_INPUT, "sample: quality %d is not in 0..100 or -1",
                                smp->quality);
    if (smp->image != NULL &&
        (smp->image_len == 0 || smp->image_len > HUELLA_STORE_MAX_IMAGE ||
         smp->image_format == NULL || smp->image_format[0] == '\0' ||
         strlen(smp->image_format) >= sizeof(((huella_store_sample_data *)0)->image_format)))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "sample: the image needs 1 to %u bytes and a format name",
                                HUELLA_STORE_MAX_IMAGE);
    uint8_t *packed = NULL, *sealed = NULL, *sealed_img = NULL;
    size_t packed_len = 0, sealed_len = 0, sealed_img_len = 0;
    huella_status st =
        store_templates_pack(smp->templates, smp->n_templates, &packed, &packed_len, err);
    if (st != HUELLA_OK)
        return st;
    uint8_t key[STORE_KEY_BYTES];
    int64_t person = 0, id = 0;
    sqlite3_stmt *q;
    st = store_save(s, err);
    if (st != HUELLA_OK)
        goto out;
    st = store_encounter_person(s, encounter_id, &person, err);
    if (st == HUELLA_OK)
        st = store_person_key(s, person, key, err);
    if (st == HUELLA_OK)
        st = store_stmt(s, STMT_SAMPLE_INSERT, &q, err);
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, encounter_id);
        sqlite3_bind_int64(q, 2, person);
        sqlite3_bind_int(q, 3, (int)smp->modality);
        sqlite3_bind_int(q, 4, (int)smp->position);
        if (smp->quality >= 0)
            sqlite3_bind_int(q, 5, smp->quality);
        st = step_done(s, q, "adding a sample", err);
        id = sqlite3_last_insert_rowid(s->db);
    }
    store_ad ad;
    if (st == HUELLA_OK) {
        store_ad_make(&ad, "templates", person, id);
        st = store_seal(key, &ad, packed, packed_len, &sealed, &sealed_len, err);
    }
    if (st == HUELLA_OK)
        st = store_stmt(s, STMT_SAMPLE_SET_TEMPLATES, &q, err);
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_blob(q, 2, sealed, (int)sealed_len, SQLITE_STATIC);
        st = step_done(s, q, "storing templates", err);
    }
    if (st == HUELLA_OK && smp->image != NULL) {
        store_ad_make(&ad, "image", person, id);
        st = store_seal(key, &ad, smp->image, smp->image_len, &sealed_img, &sealed_img_len, err);
        if (st == HUELLA_OK)
            st = store_stmt(s, STMT_IMAGE_INSERT, &q, err);
        if (st == HUELLA_OK) {
            sqlite3_bind_int64(q, 1, id);
            sqlite3_bind_text(q, 2, smp->image_format, -1, SQLITE_TRANSIENT);
            sqlite3_bind_blob64(q, 3, sealed_img, sealed_img_len, SQLITE_STATIC);
            st = step_done(s, q, "storing an image", err);
        }
    }
    if (st == HUELLA_OK)
        st = store_release(s, err);
    else
        store_undo(s);
out:
    sodium_memzero(key, sizeof(key));
    store_wipe_free(packed, packed_len);
    free(sealed);
    free(sealed_img);
    if (st == HUELLA_OK)
        *sample_id = id;
    return st;
}

/* ---- Reading ---- */

static huella_status list_ids(huella_store *s, const char *sql, int64_t key, int64_t **ids,
                              size_t *n, huella_error *err)
{
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "listing");
    if (key != 0)
        sqlite3_bind_int64(q, 1, key);
    size_t cap = 0;
    huella_status st = HUELLA_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            int64_t *nb = realloc(*ids, ncap * sizeof(int64_t));
            if (nb == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory listing");
                break;
            }
            *ids = nb;
            cap = ncap;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(q, 0);
    }
    if (st == HUELLA_OK && rc != SQLITE_DONE)
        st = store_sql_error(s, err, "listing");
    sqlite3_finalize(q);
    if (st != HUELLA_OK) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return st;
}

huella_status huella_store_person_encounters(huella_store *s, int64_t person_id, int64_t **ids,
                                             size_t *n, huella_error *err)
{
    return list_ids(s, "SELECT id FROM encounter WHERE person_id = ?1 ORDER BY id", person_id, ids,
                    n, err);
}

huella_status huella_store_encounter_samples(huella_store *s, int64_t encounter_id, int64_t **ids,
                                             size_t *n, huella_error *err)
{
    return list_ids(s, "SELECT id FROM sample WHERE encounter_id = ?1 ORDER BY id", encounter_id,
                    ids, n, err);
}

huella_status store_list_ids(huella_store *s, const char *sql, int64_t key, int64_t **ids,
                             size_t *n, huella_error *err)
{
    return list_ids(s, sql, key, ids, n, err);
}

huella_status huella_store_person_juvenile(huella_store *s, int64_t person_id, bool *juvenile,
                                           huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT 1 FROM person WHERE id = ?1), coalesce((SELECT"
                           " max(juvenile) FROM encounter WHERE person_id = ?1), 0)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "reading the juvenile flag");
    sqlite3_bind_int64(q, 1, person_id);
    huella_status st = HUELLA_OK;
    if (sqlite3_step(q) != SQLITE_ROW)
        st = store_sql_error(s, err, "reading the juvenile flag");
    else if (sqlite3_column_type(q, 0) == SQLITE_NULL)
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "person %" PRId64 ": no such person",
                              person_id);
    else
        *juvenile = sqlite3_column_int(q, 1) != 0;
    sqlite3_finalize(q);
    return st;
}

huella_status huella_store_persons(huella_store *s, int64_t **ids, size_t *n, huella_error *err)
{
    return list_ids(s, "SELECT id FROM person ORDER BY id", 0, ids, n, err);
}

void huella_store_sample_data_free(huella_store_sample_data *d)
{
    if (d == NULL)
        return;
    store_wipe_free(d->image, d->image_len);
    for (size_t i = 0; i < d->n_templates; i++)
        store_wipe_free(d->template_data[i], d->template_len[i]);
    free(d);
}

huella_status huella_store_sample_get(huella_store *s, int64_t sample_id,
                                      huella_store_sample_data **out, huella_error *err)
{
    *out = NULL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT s.encounter_id, s.person_id, s.modality, s.position,"
                           " s.quality, s.templates, i.format, i.data FROM sample s"
                           " LEFT JOIN image i ON i.sample_id = s.id WHERE s.id = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "reading a sample");
    sqlite3_bind_int64(q, 1, sample_id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        huella_status st = rc == SQLITE_DONE
                               ? huella_error_set(err, HUELLA_E_NOTFOUND,
                                                  "sample %" PRId64 ": no such sample", sample_id)
                               : store_sql_error(s, err, "reading a sample");
        sqlite3_finalize(q);
        return st;
    }
    huella_store_sample_data *d = calloc(1, sizeof(*d));
    uint8_t key[STORE_KEY_BYTES];
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    huella_status st =
        d != NULL ? HUELLA_OK : huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory");
    if (st == HUELLA_OK) {
        d->id = sample_id;
        d->encounter_id = sqlite3_column_int64(q, 0);
        d->person_id = sqlite3_column_int64(q, 1);
        d->modality = (huella_store_modality)sqlite3_column_int(q, 2);
        d->position = (unsigned)sqlite3_column_int(q, 3);
        d->quality = sqlite3_column_type(q, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 4);
        st = store_person_key(s, d->person_id, key, err);
    }
    store_ad ad;
    if (st == HUELLA_OK) {
        store_ad_make(&ad, "templates", d->person_id, sample_id);
        st = store_unseal(key, &ad, sqlite3_column_blob(q, 5), (size_t)sqlite3_column_bytes(q, 5),
                          &buf, &cap, &len, err);
    }
    huella_store_template t[HUELLA_STORE_MAX_TEMPLATES];
    size_t nt = 0;
    if (st == HUELLA_OK)
        st = store_templates_parse(buf, len, t, &nt, err);
    for (size_t i = 0; st == HUELLA_OK && i < nt; i++) {
        d->template_data[i] = malloc(t[i].len ? t[i].len : 1);
        if (d->template_data[i] == NULL) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory");
            break;
        }
        memcpy(d->template_data[i], t[i].data, t[i].len);
        d->template_len[i] = t[i].len;
        d->template_type[i] = t[i].type;
        d->template_version[i] = t[i].version;
        d->n_templates = i + 1;
    }
    if (st == HUELLA_OK && sqlite3_column_type(q, 7) != SQLITE_NULL) {
        const char *fmt = (const char *)sqlite3_column_text(q, 6);
        snprintf(d->image_format, sizeof(d->image_format), "%s", fmt != NULL ? fmt : "");
        store_ad_make(&ad, "image", d->person_id, sample_id);
        uint8_t *img = NULL;
        size_t img_cap = 0;
        st = store_unseal(key, &ad, sqlite3_column_blob(q, 7), (size_t)sqlite3_column_bytes(q, 7),
                          &img, &img_cap, &d->image_len, err);
        d->image = img;
        if (st != HUELLA_OK)
            store_wipe_free(img, img_cap), d->image = NULL, d->image_len = 0;
    }
    sodium_memzero(key, sizeof(key));
    store_wipe_free(buf, cap);
    sqlite3_finalize(q);
    if (st != HUELLA_OK) {
        huella_store_sample_data_free(d);
        return st;
    }
    *out = d;
    return HUELLA_OK;
}
