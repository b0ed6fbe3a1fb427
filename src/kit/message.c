/*
 * message.c - a capture kit's encounter as it travels: the JSON body of
 * POST /v1/encounters (images base64), or an ANSI/NIST-ITL transaction,
 * with its Idempotency-Key; and the byte form kept in the outbox.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/kit.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MESSAGE_MAGIC "HKM1"
#define MAX_FIELD     256
#define MAX_BODY      ((size_t)512 << 20)

void huella_kit_message_free(huella_kit_message *m)
{
    if (m == NULL)
        return;
    free(m->content_type);
    free(m->purpose);
    free(m->legal_basis);
    if (m->body != NULL)
        sodium_memzero(m->body, m->body_len);
    free(m->body);
    free(m);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static huella_status message_new(const char *content_type, const char *purpose,
                                 const char *legal_basis, huella_kit_message **out,
                                 huella_error *err)
{
    *out = NULL;
    if (purpose == NULL || legal_basis == NULL || purpose[0] == '\0' || legal_basis[0] == '\0')
        return huella_error_set(err, HUELLA_E_INPUT,
                                "encounter: purpose and legal basis are needed");
    if (strlen(purpose) > MAX_FIELD || strlen(legal_basis) > MAX_FIELD)
        return huella_error_set(err, HUELLA_E_INPUT, "encounter: purpose or legal basis too long");
    if (sodium_init() < 0)
        return huella_error_set(err, HUELLA_E_INTERNAL, "libsodium cannot start");
    huella_kit_message *m = calloc(1, sizeof *m);
    if (m == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "encounter: out of memory");
    uint8_t key[HUELLA_KIT_KEY_LEN / 2];
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(m->idempotency_key, sizeof m->idempotency_key, key, sizeof key);
    m->content_type = strdup(content_type);
    m->purpose = strdup(purpose);
    m->legal_basis = strdup(legal_basis);
    m->created_us = now_us();
    if (m->content_type == NULL || m->purpose == NULL || m->legal_basis == NULL) {
        huella_kit_message_free(m);
        return huella_error_set(err, HUELLA_E_NOMEM, "encounter: out of memory");
    }
    *out = m;
    return HUELLA_OK;
}

static json_t *base64_string(const uint8_t *data, size_t len)
{
    size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *b = malloc(n);
    if (b == NULL)
        return NULL;
    sodium_bin2base64(b, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_stringn_nocheck(b, n - 1);
    sodium_memzero(b, n);
    free(b);
    return s;
}

/* Append to array a new object {key: val, "image": base64} (val may be NULL). */
static bool add_image(json_t *array, const char *key, json_t *val, const huella_kit_image *img,
                      double ppi)
{
    json_t *o = json_object();
    json_t *b = base64_string(img->data, img->len);
    bool ok = o != NULL && b != NULL;
    if (ok)
        ok = json_object_set_new(o, "image", b) == 0; /* takes b, also on failure */
    else
        json_decref(b);
    if (ok && key != NULL)
        ok = json_object_set_new(o, key, val) == 0;
    else
        json_decref(val);
    if (ok && ppi > 0)
        ok = json_object_set_new(o, "ppi", json_real(ppi)) == 0;
    if (ok)
        return json_array_append_new(array, o) == 0;
    json_decref(o);
    return false;
}

huella_status huella_kit_message_json(const huella_kit_encounter *e, huella_kit_message **out,
                                      huella_error *err)
{
    *out = NULL;
    if (e->site == NULL || e->device == NULL || e->operator_id == NULL)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "encounter: site, device and operator are needed");
    if (e->n_fingers + e->n_irises + (e->face != NULL) + e->n_mrz == 0 && e->bio_json == NULL)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "encounter: nothing to send (no image, MRZ or biographic data)");
    for (size_t i = 0; i < e->n_fingers; i++)
        if (e->fingers[i].position < 1 || e->fingers[i].position > 10)
            return huella_error_set(err, HUELLA_E_INPUT, "finger position %u: want 1..10",
                                    e->fingers[i].position);
    for (size_t i = 0; i < e->n_irises; i++)
        if (e->irises[i].position != 1 && e->irises[i].position != 2)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "iris position %u: want 1 (right) or 2 (left)",
                                    e->irises[i].position);
    json_t *bio = NULL;
    if (e->bio_json != NULL) {
        json_error_t je;
        bio = json_loads(e->bio_json, JSON_REJECT_DUPLICATES, &je);
        if (bio == NULL || !json_is_object(bio)) {
            json_decref(bio);
            return huella_error_set(err, HUELLA_E_INPUT, "biographic data: not a JSON object (%s)",
                                    je.text);
        }
    }
    char when[32];
    if (e->captured_at == NULL) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    double ppi = e->ppi > 0 ? e->ppi : 500;
    json_t *root = json_pack("{s:{s:s, s:s, s:s, s:s}}", "encounter", "site", e->site, "device",
                             e->device, "operator", e->operator_id, "captured_at",
                             e->captured_at != NULL ? e->captured_at : when);
    bool ok = root != NULL;
    if (ok && e->n_fingers > 0) {
        json_t *a = json_array();
        ok = a != NULL && json_object_set_new(root, "fingers", a) == 0;
        for (size_t i = 0; ok && i < e->n_fingers; i++)
            ok =
                add_image(a, "position", json_integer(e->fingers[i].position), &e->fingers[i], ppi);
    }
    if (ok && e->n_irises > 0) {
        json_t *a = json_array();
        ok = a != NULL && json_object_set_new(root, "irises", a) == 0;
        for (size_t i = 0; ok && i < e->n_irises; i++)
            ok = add_image(a, "eye", json_string(e->irises[i].position == 1 ? "right" : "left"),
                           &e->irises[i], 0);
    }
    if (ok && e->face != NULL) {
        json_t *b = base64_string(e->face->data, e->face->len);
        ok = b != NULL && json_object_set_new(root, "face", json_pack("{s:o}", "image", b)) == 0;
    }
    if (ok && bio != NULL) {
        ok = json_object_set_new(root, "bio", bio) == 0;
        bio = NULL;
    }
    if (ok && e->n_mrz > 0) {
        json_t *a = json_array();
        ok = a != NULL && json_object_set_new(root, "mrz", a) == 0;
        for (size_t i = 0; ok && i < e->n_mrz; i++)
            ok = json_array_append_new(a, json_string(e->mrz[i])) == 0;
    }
    json_decref(bio);
    char *text = ok ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (text == NULL)
        return huella_error_set(
            err, HUELLA_E_INPUT,
            "encounter: cannot build the JSON body (a text field is not UTF-8, or out of memory)");
    huella_kit_message *m;
    huella_status st = message_new("application/json", e->purpose, e->legal_basis, &m, err);
    if (st != HUELLA_OK) {
        free(text);
        return st;
    }
    m->body = (uint8_t *)text;
    m->body_len = strlen(text);
    *out = m;
    return HUELLA_OK;
}

huella_status huella_kit_message_an2k(const uint8_t *data, size_t len, const char *purpose,
                                      const char *legal_basis, huella_kit_message **out,
                                      huella_error *err)
{
    *out = NULL;
    if (len == 0 || len > MAX_BODY)
        return huella_error_set(err, HUELLA_E_INPUT, "transaction: %zu bytes (want 1 to %zu)", len,
                                MAX_BODY);
    huella_kit_message *m;
    huella_status st = message_new("application/octet-stream", purpose, legal_basis, &m, err);
    if (st != HUELLA_OK)
        return st;
    m->body = malloc(len);
    if (m->body == NULL) {
        huella_kit_message_free(m);
        return huella_error_set(err, HUELLA_E_NOMEM, "transaction: out of memory");
    }
    memcpy(m->body, data, len);
    m->body_len = len;
    *out = m;
    return HUELLA_OK;
}

/* ---- Byte form: "HKM1", key (32 hex), then length-prefixed (u32 BE)
 * content type, purpose, legal basis, body; created_us as two u32 BE. */

static bool append_field(huella_buf *b, const void *p, size_t n)
{
    return huella_buf_append_u32be(b, (uint32_t)n) && huella_buf_append(b, p, n);
}

huella_status huella_kit_message_encode(const huella_kit_message *m, uint8_t **data, size_t *len,
                                        huella_error *err)
{
    *data = NULL;
    *len = 0;
    if (m->body_len > MAX_BODY)
        return huella_error_set(err, HUELLA_E_INPUT, "encounter: body too large");
    huella_buf b;
    huella_buf_init(&b);
    uint64_t c = (uint64_t)m->created_us;
    huella_buf_append(&b, MESSAGE_MAGIC, 4);
    huella_buf_append(&b, m->idempotency_key, HUELLA_KIT_KEY_LEN);
    huella_buf_append_u32be(&b, (uint32_t)(c >> 32));
    huella_buf_append_u32be(&b, (uint32_t)c);
    append_field(&b, m->content_type, strlen(m->content_type));
    append_field(&b, m->purpose, strlen(m->purpose));
    append_field(&b, m->legal_basis, strlen(m->legal_basis));
    append_field(&b, m->body, m->body_len);
    if (!b.ok) {
        huella_buf_free(&b);
        return huella_error_set(err, HUELLA_E_NOMEM, "encounter: out of memory");
    }
    *data = b.data;
    *len = b.len;
    return HUELLA_OK;
}

/* A length-prefixed text field: at most MAX_FIELD bytes, no NUL. */
static bool read_text(huella_reader *r, char **out)
{
    uint32_t n;
    if (!huella_read_u32be(r, &n) || n == 0 || n > MAX_FIELD || huella_reader_left(r) < n)
        return false;
    char *s = malloc((size_t)n + 1);
    if (s == NULL || !huella_read_bytes(r, s, n) || memchr(s, '\0', n) != NULL) {
        free(s);
        return false;
    }
    s[n] = '\0';
    *out = s;
    return true;
}

huella_status huella_kit_message_decode(const uint8_t *data, size_t len, huella_kit_message **out,
                                        huella_error *err)
{
    *out = NULL;
    huella_reader r;
    huella_reader_init(&r, data, len);
    char magic[4];
    huella_kit_message *m = calloc(1, sizeof *m);
    if (m == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "encounter: out of memory");
    uint32_t hi, lo, n;
    bool ok = huella_read_bytes(&r, magic, 4) && memcmp(magic, MESSAGE_MAGIC, 4) == 0 &&
              huella_read_bytes(&r, m->idempotency_key, HUELLA_KIT_KEY_LEN) &&
              huella_read_u32be(&r, &hi) && huella_read_u32be(&r, &lo);
    for (size_t i = 0; ok && i < HUELLA_KIT_KEY_LEN; i++) {
        char ch = m->idempotency_key[i];
        ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
    }
    m->idempotency_key[HUELLA_KIT_KEY_LEN] = '\0';
    ok = ok && read_text(&r, &m->content_type) && read_text(&r, &m->purpose) &&
         read_text(&r, &m->legal_basis) && huella_read_u32be(&r, &n) && n > 0 && n <= MAX_BODY &&
         huella_reader_left(&r) == n;
    if (ok && strcmp(m->content_type, "application/json") != 0 &&
        strcmp(m->content_type, "application/octet-stream") != 0)
        ok = false;
    if (ok) {
        m->body = malloc(n);
        ok = m->body != NULL && huella_read_bytes(&r, m->body, n);
        m->body_len = n;
    }
    if (!ok) {
        huella_kit_message_free(m);
        return huella_error_set(err, HUELLA_E_INPUT, "outbox message: malformed or truncated");
    }
    m->created_us = (int64_t)(((uint64_t)hi << 32) | lo);
    *out = m;
    return HUELLA_OK;
}
