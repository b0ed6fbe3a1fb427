/*
 * show.c - a person as JSON, decrypted for authorised display.
 *
 * Contract: the JSON holds biographic data and (on request) images in the
 * clear; it is for the operator's screen or a subject access request,
 * never for logs.  Templates are summarised (type, version, size), not
 * dumped.
 */
#define _POSIX_C_SOURCE 200809L
#include "store_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *template_type_name(uint8_t t)
{
    return t == HUELLA_STORE_TEMPLATE_FINGER ? "huella-finger"
           : t == HUELLA_STORE_TEMPLATE_IRIS ? "huella-iris"
                                             : "unknown";
}

static huella_status sample_json(huella_store *s, int64_t id, bool with_images, json_t **out,
                                 huella_error *err)
{
    huella_store_sample_data *d;
    huella_status st = huella_store_sample_get(s, id, &d, err);
    if (st != HUELLA_OK)
        return st;
    json_t *o = json_object();
    json_object_set_new(o, "sample_id", json_integer(id));
    json_object_set_new(o, "modality", json_string(huella_store_modality_name(d->modality)));
    if (d->modality == HUELLA_STORE_FINGER)
        json_object_set_new(o, "finger_position", json_integer(d->position));
    else if (d->modality == HUELLA_STORE_IRIS)
        json_object_set_new(o, "eye", json_string(d->position == 1 ? "right" : "left"));
    json_object_set_new(o, "quality", d->quality >= 0 ? json_integer(d->quality) : json_null());
    json_object_set_new(o, "image_format",
                        d->image_format[0] ? json_string(d->image_format) : json_null());
    json_object_set_new(o, "image_bytes", json_integer((json_int_t)d->image_len));
    json_t *ts = json_array();
    for (size_t i = 0; i < d->n_templates; i++) {
        json_t *t = json_object();
        json_object_set_new(t, "type", json_string(template_type_name(d->template_type[i])));
        json_object_set_new(t, "version", json_integer(d->template_version[i]));
        json_object_set_new(t, "bytes", json_integer((json_int_t)d->template_len[i]));
        json_array_append_new(ts, t);
    }
    json_object_set_new(o, "templates", ts);
    if (with_images && d->image != NULL) {
        size_t n = sodium_base64_encoded_len(d->image_len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(n);
        if (b64 != NULL) {
            sodium_bin2base64(b64, n, d->image, d->image_len, sodium_base64_VARIANT_ORIGINAL);
            json_object_set_new(o, "image_base64", json_string(b64));
            free(b64);
        }
    }
    huella_store_sample_data_free(d);
    *out = o;
    return HUELLA_OK;
}

static huella_status encounter_json(huella_store *s, int64_t person, sqlite3_stmt *row,
                                    const uint8_t *key, bool with_images, json_t **out,
                                    huella_error *err)
{
    int64_t id = sqlite3_column_int64(row, 0);
    json_t *o = json_object();
    json_object_set_new(o, "encounter_id", json_integer(id));
    static const char *const keys[6] = {"captured", "site",    "device",
                                        "operator", "purpose", "legal_basis"};
    for (int i = 0; i < 6; i++)
        json_object_set_new(o, keys[i], json_string((const char *)sqlite3_column_text(row, 1 + i)));
    json_object_set_new(o, "juvenile", json_boolean(sqlite3_column_int(row, 7) != 0));
    store_ad ad;
    store_ad_make(&ad, "bio", person, id);
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    huella_status st = store_unseal(key, &ad, sqlite3_column_blob(row, 8),
                                    (size_t)sqlite3_column_bytes(row, 8), &buf, &cap, &len, err);
    if (st == HUELLA_OK) {
        json_t *bio = json_loadb((const char *)buf, len, 0, NULL);
        json_object_set_new(o, "bio", bio != NULL ? bio : json_null());
    }
    store_wipe_free(buf, cap);
    json_t *hist = store_link_history_json(s, id);
    json_object_set_new(o, "links", hist != NULL ? hist : json_array());
    int64_t *samples = NULL;
    size_t n = 0;
    if (st == HUELLA_OK)
        st = huella_store_encounter_samples(s, id, &samples, &n, err);
    json_t *arr = json_array();
    for (size_t i = 0; st == HUELLA_OK && i < n; i++) {
        json_t *so;
        st = sample_json(s, samples[i], with_images, &so, err);
        if (st == HUELLA_OK)
            json_array_append_new(arr, so);
    }
    free(samples);
    json_object_set_new(o, "samples", arr);
    if (st != HUELLA_OK) {
        json_decref(o);
        return st;
    }
    *out = o;
    return HUELLA_OK;
}

huella_status huella_store_person_json(huella_store *s, int64_t person_id, bool with_images,
                                       char **json, huella_error *err)
{
    *json = NULL;
    uint8_t key[STORE_KEY_BYTES];
    huella_status st = store_person_key(s, person_id, key, err);
    if (st != HUELLA_OK)
        return st;
    json_t *o = json_object();
    json_object_set_new(o, "person_id", json_integer(person_id));
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT created FROM person WHERE id = ?1", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(q, 1, person_id);
        if (sqlite3_step(q) == SQLITE_ROW)
            json_object_set_new(o, "created", json_string((const char *)sqlite3_column_text(q, 0)));
        sqlite3_finalize(q);
    }
    json_t *encs = json_array();
    json_object_set_new(o, "encounters", encs);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, captured, site, device, operator, purpose, legal_basis,"
                           " juvenile, bio FROM encounter WHERE person_id = ?1 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        st = store_sql_error(s, err, "reading encounters");
    } else {
        sqlite3_bind_int64(q, 1, person_id);
        while (st == HUELLA_OK && sqlite3_step(q) == SQLITE_ROW) {
            json_t *e;
            st = encounter_json(s, person_id, q, key, with_images, &e, err);
            if (st == HUELLA_OK)
                json_array_append_new(encs, e);
        }
        sqlite3_finalize(q);
    }
    json_t *cases = json_array();
    json_object_set_new(o, "cases", cases);
    if (st == HUELLA_OK &&
        sqlite3_prepare_v2(s->db,
                           "SELECT DISTINCT id FROM dup_case WHERE encounter_id IN (SELECT id FROM"
                           " encounter WHERE person_id = ?1) UNION SELECT case_id FROM"
                           " case_candidate WHERE person_id = ?1 ORDER BY 1",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, person_id);
        while (sqlite3_step(q) == SQLITE_ROW) {
            json_t *c = store_case_to_json(s, sqlite3_column_int64(q, 0));
            if (c != NULL)
                json_array_append_new(cases, c);
        }
        sqlite3_finalize(q);
    }
    sodium_memzero(key, sizeof(key));
    if (st == HUELLA_OK) {
        *json = json_dumps(o, JSON_INDENT(2));
        if (*json == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory");
    }
    json_decref(o);
    return st;
}
