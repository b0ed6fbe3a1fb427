/*
 * crypto.c - sealing the store's blobs and wrapping person keys
 * (libsodium crypto_aead_xchacha20poly1305_ietf).
 *
 * Contract: a sealed blob is nonce (24 random bytes) || ciphertext || tag
 * (16 bytes).  Random 192-bit nonces make reuse negligible without any
 * counter state.  The associated data "huella/1/KIND/" + PERSON + ROW
 * (each 8 bytes big-endian) binds
 * the ciphertext to the row it belongs in: a blob copied to another row,
 * another person, or another column does not authenticate.  Person keys
 * are 32 random bytes, sealed the same way under the master key with
 * KIND "key" and ROW = PERSON.  Plaintext buffers are wiped before they
 * are freed.
 */
#define _POSIX_C_SOURCE 200809L
#include "store_internal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_ad_make(store_ad *ad, const char *kind, int64_t person, int64_t row)
{
    /* "huella/1/" KIND "/" then person and row as 8 bytes big-endian each:
     * fixed-width fields, so no two (kind, person, row) share a string. */
    static const char prefix[] = "huella/1/";
    size_t k = strlen(kind);
    if (k > sizeof(ad->text) - sizeof(prefix) - 17)
        k = sizeof(ad->text) - sizeof(prefix) - 17;
    size_t n = sizeof(prefix) - 1;
    memcpy(ad->text, prefix, n);
    memcpy(ad->text + n, kind, k);
    n += k;
    ad->text[n++] = '/';
    for (int i = 7; i >= 0; i--)
        ad->text[n++] = (char)(uint8_t)((uint64_t)person >> (8 * i));
    for (int i = 7; i >= 0; i--)
        ad->text[n++] = (char)(uint8_t)((uint64_t)row >> (8 * i));
    ad->len = n;
    ad->person = person;
    ad->row = row;
    ad->kind = kind;
}

huella_status store_seal(const uint8_t *key, const store_ad *ad, const uint8_t *pt, size_t len,
                         uint8_t **out, size_t *out_len, huella_error *err)
{
    *out = NULL;
    *out_len = 0;
    size_t n;
    if (!huella_size_add(len, STORE_SEAL_OVERHEAD, &n) ||
        len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return huella_error_set(err, HUELLA_E_INPUT, "store: %zu bytes are too many to seal", len);
    uint8_t *buf = malloc(n);
    if (buf == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory sealing %zu bytes", len);
    randombytes_buf(buf, STORE_NONCE_BYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + STORE_NONCE_BYTES, &clen, pt, len,
                                               (const uint8_t *)ad->text, ad->len, NULL, buf, key);
    *out = buf;
    *out_len = STORE_NONCE_BYTES + (size_t)clen;
    return HUELLA_OK;
}

huella_status store_unseal(const uint8_t *key, const store_ad *ad, const uint8_t *ct, size_t len,
                           uint8_t **buf, size_t *cap, size_t *pt_len, huella_error *err)
{
    *pt_len = 0;
    if (ct == NULL || len < STORE_SEAL_OVERHEAD)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s of person %" PRId64 ", row %" PRId64
                                ": sealed blob too short (%zu bytes)",
                                ad->kind, ad->person, ad->row, len);
    size_t need = len - STORE_SEAL_OVERHEAD;
    if (need + 1 > *cap) {
        size_t ncap = need + 1 > 2 * *cap ? need + 1 : 2 * *cap;
        uint8_t *nb = malloc(ncap);
        if (nb == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "%s: out of memory", ad->kind);
        store_wipe_free(*buf, *cap);
        *buf = nb;
        *cap = ncap;
    }
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            *buf, &plen, NULL, ct + STORE_NONCE_BYTES, len - STORE_NONCE_BYTES,
            (const uint8_t *)ad->text, ad->len, ct, key) != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s of person %" PRId64 ", row %" PRId64
                                ": ciphertext does not authenticate (tampered, moved from "
                                "another row, or a wrong key)",
                                ad->kind, ad->person, ad->row);
    (*buf)[plen] = 0; /* text documents may rely on a terminating NUL */
    *pt_len = (size_t)plen;
    return HUELLA_OK;
}

void store_wipe_free(uint8_t *buf, size_t cap)
{
    if (buf == NULL)
        return;
    sodium_memzero(buf, cap);
    free(buf);
}

huella_status store_key_new(const huella_store *s, int64_t person, uint8_t key[STORE_KEY_BYTES],
                            uint8_t wrapped[STORE_WRAPPED_KEY_BYTES], huella_error *err)
{
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    return store_key_wrap(s->master, person, key, wrapped, err);
}

huella_status store_key_wrap(const uint8_t *master, int64_t person,
                             const uint8_t key[STORE_KEY_BYTES],
                             uint8_t wrapped[STORE_WRAPPED_KEY_BYTES], huella_error *err)
{
    store_ad ad;
    store_ad_make(&ad, "key", person, person);
    randombytes_buf(wrapped, STORE_NONCE_BYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + STORE_NONCE_BYTES, &clen, key,
                                               STORE_KEY_BYTES, (const uint8_t *)ad.text, ad.len,
                                               NULL, wrapped, master);
    if (clen != STORE_KEY_BYTES + STORE_TAG_BYTES)
        return huella_error_set(err, HUELLA_E_INTERNAL, "store: wrapping a key failed");
    return HUELLA_OK;
}

huella_status store_key_unwrap(const huella_store *s, int64_t person, const uint8_t *wrapped,
                               size_t len, uint8_t key[STORE_KEY_BYTES], huella_error *err)
{
    store_ad ad;
    store_ad_make(&ad, "key", person, person);
    unsigned long long plen = 0;
    if (wrapped == NULL || len != STORE_WRAPPED_KEY_BYTES ||
        crypto_aead_xchacha20poly1305_ietf_decrypt(
            key, &plen, NULL, wrapped + STORE_NONCE_BYTES, len - STORE_NONCE_BYTES,
            (const uint8_t *)ad.text, ad.len, wrapped, s->master) != 0 ||
        plen != STORE_KEY_BYTES) {
        sodium_memzero(key, STORE_KEY_BYTES);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "person %" PRId64 ": the wrapped data key does not unwrap with "
                                "this master key (tampered, or the wrong master.key)",
                                person);
    }
    return HUELLA_OK;
}

void store_key_check(const uint8_t *master, char hex[2 * STORE_KEY_BYTES + 1])
{
    static const char msg[] = "huella/1/key-check";
    uint8_t mac[STORE_KEY_BYTES];
    crypto_generichash(mac, sizeof(mac), (const uint8_t *)msg, sizeof(msg) - 1, master,
                       STORE_KEY_BYTES);
    sodium_bin2hex(hex, 2 * STORE_KEY_BYTES + 1, mac, sizeof(mac));
}

huella_status store_person_key(huella_store *s, int64_t person, uint8_t key[STORE_KEY_BYTES],
                               huella_error *err)
{
    sqlite3_stmt *q;
    huella_status st = store_stmt(s, STMT_PERSON_KEY, &q, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_bind_int64(q, 1, person);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_DONE)
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "person %" PRId64 ": no such person", person);
    else if (rc != SQLITE_ROW)
        st = store_sql_error(s, err, "reading a person key");
    else
        st = store_key_unwrap(s, person, sqlite3_column_blob(q, 0),
                              (size_t)sqlite3_column_bytes(q, 0), key, err);
    sqlite3_reset(q);
    return st;
}

huella_status store_templates_pack(const huella_store_template *t, size_t n, uint8_t **out,
                                   size_t *len, huella_error *err)
{
    *out = NULL;
    *len = 0;
    if (n > HUELLA_STORE_MAX_TEMPLATES)
        return huella_error_set(err, HUELLA_E_INPUT, "store: %zu templates in one sample (most %d)",
                                n, HUELLA_STORE_MAX_TEMPLATES);
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append_u8(&b, STORE_TEMPLATES_VERSION);
    huella_buf_append_u8(&b, (uint8_t)n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].len > HUELLA_STORE_MAX_TEMPLATE || (t[i].len > 0 && t[i].data == NULL)) {
            huella_buf_free(&b);
            return huella_error_set(err, HUELLA_E_INPUT, "store: template %zu: %zu bytes (most %u)",
                                    i, t[i].len, HUELLA_STORE_MAX_TEMPLATE);
        }
        huella_buf_append_u8(&b, t[i].type);
        huella_buf_append_u16be(&b, t[i].version);
        huella_buf_append_u32be(&b, (uint32_t)t[i].len);
        huella_buf_append(&b, t[i].data, t[i].len);
    }
    if (!b.ok) {
        huella_buf_free(&b);
        return huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory packing templates");
    }
    *out = b.data;
    *len = b.len;
    return HUELLA_OK;
}

huella_status store_templates_parse(const uint8_t *data, size_t len, huella_store_template *t,
                                    size_t *n, huella_error *err)
{
    huella_reader r;
    huella_reader_init(&r, data, len);
    uint8_t version, count;
    *n = 0;
    if (!huella_read_u8(&r, &version) || !huella_read_u8(&r, &count))
        return huella_error_set(err, HUELLA_E_INPUT, "templates: truncated header");
    if (version != STORE_TEMPLATES_VERSION)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "templates: unknown version %u",
                                version);
    if (count > HUELLA_STORE_MAX_TEMPLATES)
        return huella_error_set(err, HUELLA_E_INPUT, "templates: %u templates (most %d)", count,
                                HUELLA_STORE_MAX_TEMPLATES);
    for (unsigned i = 0; i < count; i++) {
        uint8_t type;
        uint16_t ver;
        uint32_t l;
        if (!huella_read_u8(&r, &type) || !huella_read_u16be(&r, &ver) ||
            !huella_read_u32be(&r, &l) || l > huella_reader_left(&r))
            return huella_error_set(err, HUELLA_E_INPUT, "templates: template %u truncated", i);
        t[i].type = type;
        t[i].version = ver;
        t[i].len = l;
        t[i].data = data + r.pos;
        huella_read_skip(&r, l);
    }
    if (huella_reader_left(&r) != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "templates: %zu trailing bytes",
                                huella_reader_left(&r));
    *n = count;
    return HUELLA_OK;
}
