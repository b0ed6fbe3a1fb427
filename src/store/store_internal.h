/*
 * store_internal.h - what the files of src/store share: the handle, the
 * prepared-statement cache, the sealing of blobs, the schema migrations.
 */
#ifndef HUELLA_STORE_INTERNAL_H
#define HUELLA_STORE_INTERNAL_H

#include "huella/names.h"
#include "huella/store.h"

#include <sqlite3.h>

#define STORE_KEY_BYTES   32u
#define STORE_NONCE_BYTES 24u /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define STORE_TAG_BYTES   16u /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
/* A sealed blob: nonce || ciphertext || tag. */
#define STORE_SEAL_OVERHEAD (STORE_NONCE_BYTES + STORE_TAG_BYTES)
/* A wrapped person key. */
#define STORE_WRAPPED_KEY_BYTES (STORE_KEY_BYTES + STORE_SEAL_OVERHEAD)

#define STORE_DB_NAME      "huella.db"
#define STORE_KEY_NAME     "master.key"
#define STORE_NEW_KEY_NAME "master.key.new" /* during huella_store_rekey */

/* The statements kept prepared for the life of the handle. */
typedef enum store_stmt_id {
    STMT_PERSON_INSERT,
    STMT_PERSON_SET_KEY,
    STMT_PERSON_KEY,
    STMT_ENCOUNTER_INSERT,
    STMT_ENCOUNTER_SET_BIO,
    STMT_LINK_INSERT,
    STMT_SAMPLE_INSERT,
    STMT_SAMPLE_SET_TEMPLATES,
    STMT_IMAGE_INSERT,
    STMT_ENCOUNTER_PERSON,
    STMT_FORM_SAMPLES,
    STMT_FORM_WRITE,
    STMT_COUNT
} store_stmt_id;

struct huella_store {
    sqlite3 *db;
    uint8_t *master; /* STORE_KEY_BYTES, sodium_malloc'd (guarded, locked) */
    unsigned juvenile_age;
    huella_names *names; /* opened on first use (needs the names data) */
    int savepoints;      /* depth of store_save nesting, for names */
    sqlite3_stmt *stmts[STMT_COUNT];
    uint64_t form_format; /* store_form_format() once computed, else 0 */
    char *dir;            /* the store's directory, as opened */
};

/* sqlite3 failure as a huella error naming what was being done. */
huella_status store_sql_error(huella_store *s, huella_error *err, const char *what);
/* Run SQL without results. */
huella_status store_exec(huella_store *s, const char *sql, huella_error *err);
/* The cached statement id, reset and with bindings cleared. */
huella_status store_stmt(huella_store *s, store_stmt_id id, sqlite3_stmt **out, huella_error *err);

/* Savepoints: every writing call is atomic on its own. */
huella_status store_save(huella_store *s, huella_error *err);
huella_status store_release(huella_store *s, huella_error *err);
void store_undo(huella_store *s);

/* "DIR/name" (malloc'd). */
huella_status store_path(const char *dir, const char *name, char **out, huella_error *err);
/* fsync a directory (after a rename in it). */
huella_status store_sync_dir(const char *dir, huella_error *err);

/* Current UTC time, "YYYY-MM-DDThh:mm:ssZ". */
void store_now(char out[32]);

/* ---- Sealing (src/store/crypto.c) ---- */

/* Associated data binding a ciphertext to its row: "huella/1/KIND/" then
 * PERSON and ROW as 8 bytes big-endian each. */
typedef struct store_ad {
    char text[64];
    size_t len;
    const char *kind; /* for messages */
    int64_t person, row;
} store_ad;
void store_ad_make(store_ad *ad, const char *kind, int64_t person, int64_t row);

/* Seal plaintext under key: *out (malloc'd) = nonce || ciphertext || tag. */
huella_status store_seal(const uint8_t *key, const store_ad *ad, const uint8_t *pt, size_t len,
                         uint8_t **out, size_t *out_len, huella_error *err);
/* Open a sealed blob into *buf (grown as needed, capacity *cap; wipe and
 * free it with store_wipe_free); *pt_len receives the plaintext length.
 * HUELLA_E_INPUT when it does not authenticate. */
huella_status store_unseal(const uint8_t *key, const store_ad *ad, const uint8_t *ct, size_t len,
                           uint8_t **buf, size_t *cap, size_t *pt_len, huella_error *err);
void store_wipe_free(uint8_t *buf, size_t cap);

/* A fresh person key wrapped by the master key for person id. */
huella_status store_key_new(const huella_store *s, int64_t person, uint8_t key[STORE_KEY_BYTES],
                            uint8_t wrapped[STORE_WRAPPED_KEY_BYTES], huella_error *err);
huella_status store_key_wrap(const uint8_t *master, int64_t person,
                             const uint8_t key[STORE_KEY_BYTES],
                             uint8_t wrapped[STORE_WRAPPED_KEY_BYTES], huella_error *err);
/* A keyed hash of the master key (BLAKE2b), kept in config.key_check so
 * that a wrong key file is refused at open, as hex. */
void store_key_check(const uint8_t *master, char hex[2 * STORE_KEY_BYTES + 1]);
huella_status store_key_unwrap(const huella_store *s, int64_t person, const uint8_t *wrapped,
                               size_t len, uint8_t key[STORE_KEY_BYTES], huella_error *err);
/* Read and unwrap the key of a person (HUELLA_E_NOTFOUND if no such person). */
huella_status store_person_key(huella_store *s, int64_t person, uint8_t key[STORE_KEY_BYTES],
                               huella_error *err);

/* ---- The templates of a sample, as one plaintext ---- */

/* Layout (big-endian): u8 format version (1), u8 count, then per template
 * u8 type, u16 version, u32 length, bytes. */
#define STORE_TEMPLATES_VERSION 1
huella_status store_templates_pack(const huella_store_template *t, size_t n, uint8_t **out,
                                   size_t *len, huella_error *err);
/* Parse a packed plaintext; pointers point into data. */
huella_status store_templates_parse(const uint8_t *data, size_t len, huella_store_template *t,
                                    size_t *n, huella_error *err);

/* ---- Biographic data (src/store/bio.c) ---- */

/* Validate bio_json, add Latin names and the age at capture; *out is the
 * document to seal (malloc'd), *juvenile the flag. */
huella_status store_bio_prepare(huella_store *s, const char *bio_json, const char *captured,
                                char **out, bool *juvenile, huella_error *err);
/* Check "YYYY-MM-DDThh:mm:ss[.fff]Z". */
bool store_valid_timestamp(const char *t);

/* ---- Shared between the files of src/store ---- */

/* The current person of an encounter (HUELLA_E_NOTFOUND if none). */
huella_status store_encounter_person(huella_store *s, int64_t encounter_id, int64_t *person,
                                     huella_error *err);
/* Ids from a one-column query with an optional ?1 (key 0: none bound). */
huella_status store_list_ids(huella_store *s, const char *sql, int64_t key, int64_t **ids,
                             size_t *n, huella_error *err);
struct json_t;
/* The link history of an encounter / a case as JSON (new references;
 * NULL on failure). */
struct json_t *store_link_history_json(huella_store *s, int64_t encounter_id);
struct json_t *store_case_to_json(huella_store *s, int64_t case_id);

/* ---- Schema (src/store/schema.c) ---- */

/* Migration k (1-based) takes the schema from user_version k-1 to k. */
extern const char *const store_migrations[];
extern const int store_n_migrations;

#endif
