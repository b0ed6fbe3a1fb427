/*
 * audit_internal.h - what the files of src/audit share: the canonical
 * bytes of a record, the checkpoint message, the database.
 */
#ifndef HUELLA_AUDIT_INTERNAL_H
#define HUELLA_AUDIT_INTERNAL_H

#include "huella/audit.h"

#include <sodium.h>
#include <sqlite3.h>

#define AUDIT_HASH_BYTES 32u /* BLAKE2b-256 */
/* Text fields after `at`, in canonical order (columns 3.. of record). */
#define AUDIT_NFIELDS 8
extern const char *const audit_field_names[AUDIT_NFIELDS];

/* "huella-audit-checkpoint/1" || seq u64be || hash */
#define AUDIT_CHECKPOINT_TAG       "huella-audit-checkpoint/1"
#define AUDIT_CHECKPOINT_MSG_BYTES (sizeof(AUDIT_CHECKPOINT_TAG) - 1 + 8 + AUDIT_HASH_BYTES)
/* "huella-audit-prune/1" || through u64be || hash of record `through` */
#define AUDIT_PRUNE_TAG       "huella-audit-prune/1"
#define AUDIT_PRUNE_MSG_BYTES (sizeof(AUDIT_PRUNE_TAG) - 1 + 8 + AUDIT_HASH_BYTES)
void audit_prune_message(int64_t through, const uint8_t hash[AUDIT_HASH_BYTES],
                         uint8_t msg[AUDIT_PRUNE_MSG_BYTES]);
#define AUDIT_PRUNE_SCHEMA                                                                         \
    "CREATE TABLE IF NOT EXISTS prune_anchor(through INTEGER PRIMARY KEY, hash BLOB NOT NULL,"     \
    " at TEXT NOT NULL, sig BLOB NOT NULL);"
/* Head file: seq u64be || hash || signature. */
#define AUDIT_HEAD_BYTES (8 + AUDIT_HASH_BYTES + crypto_sign_BYTES)

typedef struct audit_record {
    int64_t seq;
    const char *at;
    const char
        *f[AUDIT_NFIELDS]; /* user role agency purpose legal_basis operation outcome detail */
    const char *persons;   /* ",1,2," or "" */
    uint8_t prev[AUDIT_HASH_BYTES];
} audit_record;

/*
 * Canonical bytes, format 1 (big-endian): u8 1, u64 seq, then at, the
 * eight fields and persons each as u32 length + bytes, then prev (32).
 * The hash of the record is BLAKE2b-256 of these bytes.  canon is a
 * scratch buffer (reset by the caller).
 */
huella_status audit_hash_record(const audit_record *r, huella_buf *canon,
                                uint8_t hash[AUDIT_HASH_BYTES], huella_error *err);
void audit_checkpoint_message(int64_t seq, const uint8_t hash[AUDIT_HASH_BYTES],
                              uint8_t msg[AUDIT_CHECKPOINT_MSG_BYTES]);
/* ",1,2," (or "" for none). */
void audit_persons_text(const int64_t *ids, size_t n, char *out, size_t cap);
/* "YYYY-MM-DDThh:mm:ss.mmmZ" */
void audit_now(char out[32]);

huella_status audit_sql_error(sqlite3 *db, huella_error *err, const char *what);
huella_status audit_path(const char *dir, const char *name, char **out, huella_error *err);
huella_status audit_db_open(const char *dir, bool write, sqlite3 **out, huella_error *err);
huella_status audit_config_get(sqlite3 *db, const char *key, char *out, size_t cap,
                               huella_error *err);
/* The public key of a secret key file, or of a .pub file. */
huella_status audit_read_public_key(const char *key_path, uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                                    huella_error *err);

#endif
