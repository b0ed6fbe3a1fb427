/*
 * gallery_form.c - the gallery form of a person: everything the in-memory
 * gallery needs of them, in the form it keeps, sealed in one blob.
 *
 * Contract: a person's gallery form (table gallery_form, one row per
 * person, sealed under the person's key with associated data
 * "huella/1/gallery/" person person) holds, for every sample of the person
 * with a searchable template, the gallery's own form of it: a finger as
 * its compact prepared template (huella_finger_prepared_serialize), an
 * iris as its 512-byte code and mask, a face as its 137-byte template.
 * Loading a person is then one key unwrap, one decryption and copies
 * (src/store/gallery_load.c), rather than a decryption per sample, a
 * decode per template and the matcher's preparation of every finger.
 *
 * The form is a cache of what the samples say, never the truth:
 *   - triggers (schema migration 5) delete a person's row whenever one of
 *     their samples is inserted, deleted, moved or re-sealed, so a stale
 *     form cannot survive a change of the samples (links, unlinks,
 *     erasure, expiry, all of them, whatever the code path);
 *   - huella_enrol_commit writes the row again in the enrolment's
 *     transaction, so the common path keeps every person current;
 *   - the row's `format` names the form's layout, the finger prepared
 *     format (HUELLA_FINGER_PREPARED_FORMAT) and a digest of what this
 *     build's preparation gives for a fixed synthetic template, so a
 *     change of the matcher's preparation makes every row stale even if
 *     nobody bumped a version; stale or missing rows are rebuilt from the
 *     templates at load (slowly, counted in the load's statistics) and
 *     written again by huella_store_gallery_refresh (`huella db
 *     gallery-refresh`).
 *
 * Plaintext layout (big-endian): u8 STORE_FORM_VERSION, u8 finger
 * prepared format, u16 count, then per entry u64 sample id, u8 slot
 * (gallery slot: 0..9 finger position - 1, 10 right iris, 11 left iris,
 * 12 face), u32 length, bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include "gallery_form.h"

#include "huella/face.h"
#include "huella/finger.h"
#include "huella/iris.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define STORE_FORM_VERSION 1u
#define IRIS_FORM_BYTES    (2u * HUELLA_IRIS_CODE_BYTES)

/* A deterministic synthetic template (no biometric data): 48 minutiae
 * spread over a 400 x 480 print by a linear congruential generator. */
static void canonical_template(huella_finger_template *t, huella_minutia *m, size_t n)
{
    memset(t, 0, sizeof(*t));
    t->width = 400;
    t->height = 480;
    uint32_t r = 12345u;
    for (size_t i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        m[i].x = (float)(20 + (r >> 8) % 360);
        r = r * 1103515245u + 12345u;
        m[i].y = (float)(20 + (r >> 8) % 440);
        r = r * 1103515245u + 12345u;
        m[i].direction = (float)((r >> 8) % 6283) / 1000.0f;
        m[i].type = (uint8_t)(1 + (i & 1));
        m[i].quality = (uint8_t)(40 + i % 60);
    }
    t->minutiae = m;
    t->n_minutiae = n;
    t->cap_minutiae = n;
}

static uint64_t compute_format(void)
{
    huella_minutia m[48];
    huella_finger_template t;
    canonical_template(&t, m, 48);
    huella_finger_prepared *p = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    uint32_t digest = 0;
    if (huella_finger_prepare_compact(&t, &p, NULL) == HUELLA_OK &&
        huella_finger_prepared_serialize(p, &bytes, &len, NULL) == HUELLA_OK) {
        uint8_t h[16];
        crypto_generichash(h, sizeof(h), bytes, len, NULL, 0);
        digest = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    }
    free(bytes);
    huella_finger_prepared_free(p);
    if (digest == 0)
        digest = 1; /* never 0: 0 would look like "no format" */
    return (uint64_t)STORE_FORM_VERSION << 40 | (uint64_t)HUELLA_FINGER_PREPARED_FORMAT << 32 |
           digest;
}

uint64_t store_form_format(huella_store *s)
{
    if (s->form_format == 0)
        s->form_format = compute_format();
    return s->form_format;
}

void store_form_init(store_form *f)
{
    huella_buf_init(&f->b);
    huella_buf_append_u8(&f->b, STORE_FORM_VERSION);
    huella_buf_append_u8(&f->b, HUELLA_FINGER_PREPARED_FORMAT);
    huella_buf_append_u16be(&f->b, 0);
    f->count = 0;
}

void store_form_free(store_form *f)
{
    if (f->b.data != NULL)
        sodium_memzero(f->b.data, f->b.cap);
    huella_buf_free(&f->b);
}

static huella_status put_entry(store_form *f, int64_t sample, unsigned slot, const uint8_t *data,
                               size_t len, huella_error *err)
{
    if (f->count == UINT16_MAX)
        return huella_error_set(err, HUELLA_E_INPUT, "gallery form: more than %u templates",
                                UINT16_MAX);
    huella_buf_append_u32be(&f->b, (uint32_t)((uint64_t)sample >> 32));
    huella_buf_append_u32be(&f->b, (uint32_t)sample);
    huella_buf_append_u8(&f->b, (uint8_t)slot);
    huella_buf_append_u32be(&f->b, (uint32_t)len);
    huella_buf_append(&f->b, data, len);
    if (!f->b.ok)
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery form: out of memory");
    f->count++;
    f->b.data[2] = (uint8_t)(f->count >> 8);
    f->b.data[3] = (uint8_t)f->count;
    return HUELLA_OK;
}

huella_status store_form_add_sample(store_form *f, int64_t sample, int modality, unsigned position,
                                    const uint8_t *plain, size_t len, huella_error *err)
{
    huella_store_template t[HUELLA_STORE_MAX_TEMPLATES];
    size_t nt = 0;
    huella_status st = store_templates_parse(plain, len, t, &nt, err);
    for (size_t i = 0; i < nt && st == HUELLA_OK; i++) {
        if (modality == HUELLA_STORE_FINGER && t[i].type == HUELLA_STORE_TEMPLATE_FINGER) {
            if (position < 1 || position > HUELLA_GALLERY_FINGERS)
                return huella_error_set(err, HUELLA_E_INPUT, "finger position %u is not 1..10",
                                        position);
            huella_finger_template *ft = NULL;
            huella_finger_prepared *p = NULL;
            uint8_t *bytes = NULL;
            size_t blen = 0;
            st = huella_finger_template_load(t[i].data, t[i].len, &ft, err);
            if (st == HUELLA_OK)
                st = huella_finger_prepare_compact(ft, &p, err);
            if (st == HUELLA_OK)
                st = huella_finger_prepared_serialize(p, &bytes, &blen, err);
            if (st == HUELLA_OK)
                st = put_entry(f, sample, position - 1, bytes, blen, err);
            if (bytes != NULL)
                sodium_memzero(bytes, blen);
            free(bytes);
            huella_finger_prepared_free(p);
            huella_finger_template_free(ft);
        } else if (modality == HUELLA_STORE_IRIS && t[i].type == HUELLA_STORE_TEMPLATE_IRIS) {
            if (position != HUELLA_IRIS_EYE_RIGHT && position != HUELLA_IRIS_EYE_LEFT)
                return huella_error_set(err, HUELLA_E_INPUT, "iris position %u is not an eye",
                                        position);
            huella_iris_template *it = NULL;
            st = huella_iris_template_decode(t[i].data, t[i].len, &it, err);
            if (st == HUELLA_OK) {
                uint8_t code[IRIS_FORM_BYTES];
                memcpy(code, it->code.code, HUELLA_IRIS_CODE_BYTES);
                memcpy(code + HUELLA_IRIS_CODE_BYTES, it->code.mask, HUELLA_IRIS_CODE_BYTES);
                st = put_entry(f, sample,
                               position == HUELLA_IRIS_EYE_RIGHT ? HUELLA_GALLERY_SLOT_RIGHT
                                                                 : HUELLA_GALLERY_SLOT_LEFT,
                               code, sizeof(code), err);
                sodium_memzero(code, sizeof(code));
            }
            huella_iris_template_free(it);
        } else if (modality == HUELLA_STORE_FACE && t[i].type == HUELLA_STORE_TEMPLATE_FACE) {
            huella_face_template ft;
            st = huella_face_template_decode(t[i].data, t[i].len, &ft, err);
            if (st == HUELLA_OK)
                st = put_entry(f, sample, HUELLA_GALLERY_SLOT_FACE, t[i].data, t[i].len, err);
        }
    }
    return st;
}

huella_status store_form_apply(const uint8_t *plain, size_t len, huella_gallery *g, int64_t person,
                               size_t counts[HUELLA_GALLERY_MODALITIES], huella_error *err)
{
    huella_reader r;
    huella_reader_init(&r, plain, len);
    uint8_t version, finger_format;
    uint16_t count;
    if (!huella_read_u8(&r, &version) || !huella_read_u8(&r, &finger_format) ||
        !huella_read_u16be(&r, &count))
        return huella_error_set(err, HUELLA_E_INPUT, "gallery form: truncated header");
    if (version != STORE_FORM_VERSION || finger_format != HUELLA_FINGER_PREPARED_FORMAT)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "gallery form: version %u with finger format %u, this build "
                                "reads %u with %u",
                                version, finger_format, STORE_FORM_VERSION,
                                HUELLA_FINGER_PREPARED_FORMAT);
    huella_status st = HUELLA_OK;
    /* The fingers go in together at the end (one lock, one piece of the
     * gallery's memory); irises and faces as they come. */
    huella_gallery_finger_bytes fingers[HUELLA_GALLERY_FINGERS * 4];
    size_t n_fingers = 0;
    for (unsigned k = 0; k < count && st == HUELLA_OK; k++) {
        uint32_t hi, lo, n;
        uint8_t slot;
        if (!huella_read_u32be(&r, &hi) || !huella_read_u32be(&r, &lo) ||
            !huella_read_u8(&r, &slot) || !huella_read_u32be(&r, &n) || huella_reader_left(&r) < n)
            return huella_error_set(err, HUELLA_E_INPUT, "gallery form: entry %u is truncated", k);
        const uint8_t *data = plain + (len - huella_reader_left(&r));
        huella_read_skip(&r, n);
        uint64_t sample = (uint64_t)hi << 32 | lo;
        if (slot < HUELLA_GALLERY_FINGERS) {
            if (n_fingers == sizeof(fingers) / sizeof(fingers[0]))
                return huella_error_set(err, HUELLA_E_INPUT, "gallery form: more than %zu fingers",
                                        n_fingers);
            fingers[n_fingers++] = (huella_gallery_finger_bytes){sample, slot + 1u, data, n};
        } else if (slot == HUELLA_GALLERY_SLOT_RIGHT || slot == HUELLA_GALLERY_SLOT_LEFT) {
            if (n != IRIS_FORM_BYTES)
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "gallery form: iris entry of %" PRIu32 " bytes", n);
            huella_iris_code code;
            memcpy(code.code, data, HUELLA_IRIS_CODE_BYTES);
            memcpy(code.mask, data + HUELLA_IRIS_CODE_BYTES, HUELLA_IRIS_CODE_BYTES);
            st = huella_gallery_add_iris(g, (uint64_t)person, sample,
                                         slot == HUELLA_GALLERY_SLOT_RIGHT ? HUELLA_IRIS_EYE_RIGHT
                                                                           : HUELLA_IRIS_EYE_LEFT,
                                         &code, err);
            sodium_memzero(&code, sizeof(code));
            counts[HUELLA_GALLERY_IRIS] += st == HUELLA_OK;
        } else if (slot == HUELLA_GALLERY_SLOT_FACE) {
            huella_face_template ft;
            st = huella_face_template_decode(data, n, &ft, err);
            if (st == HUELLA_OK)
                st = huella_gallery_add_face(g, (uint64_t)person, sample, &ft, err);
            counts[HUELLA_GALLERY_FACE] += st == HUELLA_OK;
        } else {
            return huella_error_set(err, HUELLA_E_INPUT, "gallery form: unknown slot %u", slot);
        }
        if (st != HUELLA_OK)
            huella_error_prefix(err, "gallery form, sample %" PRIu64 ": ", sample);
    }
    if (st == HUELLA_OK && huella_reader_left(&r) != 0)
        st = huella_error_set(err, HUELLA_E_INPUT, "gallery form: %zu bytes after the entries",
                              huella_reader_left(&r));
    if (st == HUELLA_OK) {
        st = huella_gallery_add_fingers_serialized(g, (uint64_t)person, n_fingers, fingers, err);
        if (st == HUELLA_OK)
            counts[HUELLA_GALLERY_FINGER] += n_fingers;
        else
            huella_error_prefix(err, "gallery form, fingers: ");
    }
    return st;
}

/* The plaintext form of a person from their samples (inside the caller's
 * transaction). */
huella_status store_form_build_person(huella_store *s, int64_t person, const uint8_t *key,
                                      store_form *f, huella_error *err)
{
    sqlite3_stmt *q = NULL;
    huella_status st0 = store_stmt(s, STMT_FORM_SAMPLES, &q, err);
    if (st0 != HUELLA_OK)
        return st0;
    sqlite3_bind_int64(q, 1, person);
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    huella_status st = HUELLA_OK;
    int rc;
    while (st == HUELLA_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t sample = sqlite3_column_int64(q, 0);
        store_ad ad;
        store_ad_make(&ad, "templates", person, sample);
        st = store_unseal(key, &ad, sqlite3_column_blob(q, 3), (size_t)sqlite3_column_bytes(q, 3),
                          &buf, &cap, &len, err);
        if (st == HUELLA_OK)
            st = store_form_add_sample(f, sample, sqlite3_column_int(q, 1),
                                       (unsigned)sqlite3_column_int(q, 2), buf, len, err);
        if (st != HUELLA_OK)
            huella_error_prefix(err, "sample %" PRId64 ": ", sample);
    }
    if (st == HUELLA_OK && rc != SQLITE_DONE)
        st = store_sql_error(s, err, "reading a person's samples");
    sqlite3_reset(q);
    store_wipe_free(buf, cap);
    return st;
}

huella_status store_gallery_form_write(huella_store *s, int64_t person, uint64_t format,
                                       huella_error *err)
{
    uint8_t key[STORE_KEY_BYTES];
    huella_status st = store_person_key(s, person, key, err);
    if (st != HUELLA_OK)
        return st;
    store_form f;
    store_form_init(&f);
    st = store_form_build_person(s, person, key, &f, err);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (st == HUELLA_OK) {
        store_ad ad;
        store_ad_make(&ad, "gallery", person, person);
        st = store_seal(key, &ad, f.b.data, f.b.len, &sealed, &sealed_len, err);
    }
    sodium_memzero(key, sizeof(key));
    store_form_free(&f);
    sqlite3_stmt *q = NULL;
    if (st == HUELLA_OK)
        st = store_stmt(s, STMT_FORM_WRITE, &q, err);
    if (st == HUELLA_OK) {
        sqlite3_bind_int64(q, 1, person);
        sqlite3_bind_int64(q, 2, (int64_t)format);
        sqlite3_bind_blob(q, 3, sealed, (int)sealed_len, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE)
            st = store_sql_error(s, err, "writing a gallery form");
        sqlite3_reset(q);
    }
    free(sealed);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "person %" PRId64 ": ", person);
    return st;
}

huella_status huella_store_gallery_update(huella_store *s, int64_t person, huella_error *err)
{
    huella_status st = store_save(s, err);
    if (st != HUELLA_OK)
        return st;
    st = store_gallery_form_write(s, person, store_form_format(s), err);
    if (st == HUELLA_OK)
        st = store_release(s, err);
    else
        store_undo(s);
    return st;
}

#define STALE_SQL                                                                                  \
    "SELECT p.id FROM person p WHERE NOT EXISTS (SELECT 1 FROM gallery_form f"                     \
    " WHERE f.person_id = p.id AND f.format = ?1) ORDER BY p.id"

huella_status huella_store_gallery_stale(huella_store *s, size_t *n, huella_error *err)
{
    int64_t *ids = NULL;
    huella_status st = store_list_ids(s, STALE_SQL, (int64_t)store_form_format(s), &ids, n, err);
    free(ids);
    return st;
}

huella_status huella_store_gallery_refresh(huella_store *s, size_t *written, huella_error *err)
{
    if (written != NULL)
        *written = 0;
    uint64_t format = store_form_format(s);
    int64_t *ids = NULL;
    size_t n = 0;
    huella_status st = store_list_ids(s, STALE_SQL, (int64_t)format, &ids, &n, err);
    /* Batches of 256 persons per durable transaction. */
    for (size_t i = 0; i < n && st == HUELLA_OK; i += 256) {
        st = huella_store_begin(s, err);
        for (size_t k = i; k < n && k < i + 256 && st == HUELLA_OK; k++)
            st = store_gallery_form_write(s, ids[k], format, err);
        if (st == HUELLA_OK)
            st = huella_store_commit(s, err);
        else
            huella_store_rollback(s);
        if (st == HUELLA_OK && written != NULL)
            *written = i + 256 < n ? i + 256 : n;
    }
    free(ids);
    return st;
}
