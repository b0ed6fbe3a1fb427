/*
 * huella/audit.h - the tamper-evident audit chain: an append-only log of
 * who did what with whose data, for which purpose and on which legal basis.
 *
 * Every record holds the BLAKE2b-256 hash (libsodium crypto_generichash)
 * of the previous record's canonical bytes, so editing, deleting,
 * inserting or reordering records breaks the chain.  Every commit also
 * stores a checkpoint (sequence number and hash of the newest record)
 * signed with Ed25519 (crypto_sign) under a signing key kept in a file
 * apart from the database, and the newest checkpoint is also written to
 * KEYFILE.head, so truncating the log is detected too.  Records never
 * hold biometric data or names: only ids.  Design: docs/server.md.
 *
 * The log is its own SQLite database, DIR/audit.db (WAL,
 * synchronous=FULL) beside the store.  Appends are group-committed: a
 * committer thread owned by the handle takes every record queued since
 * its last commit and writes them in one transaction, so concurrent
 * requests share one fsync.  An append returns (or its callback runs)
 * only once the record is durable.
 *
 * Threads: huella_audit_append and huella_audit_submit may be called from
 * any number of threads at once; everything else on one thread.
 */
#ifndef HUELLA_AUDIT_H
#define HUELLA_AUDIT_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HUELLA_AUDIT_DB_NAME   "audit.db"
#define HUELLA_AUDIT_MAX_IDS   64  /* ids in one record */
#define HUELLA_AUDIT_MAX_FIELD 256 /* bytes in one text field */

typedef struct huella_audit huella_audit;

/* One record as the caller gives it.  Text fields may be NULL (stored as
 * ""); none may hold names or biometric data. */
typedef struct huella_audit_event {
    const char *user;
    const char *role;
    const char *agency;
    const char *purpose;
    const char *legal_basis;
    const char *operation;  /* "person.read", "person.erase", "auth", ... */
    const int64_t *persons; /* the person ids involved */
    size_t n_persons;
    const char *outcome; /* "allowed", "denied", "not-found", "error", ... */
    const char *detail;  /* the reason of a denial, a status; never personal data */
} huella_audit_event;

/*
 * Create the signing key file KEY_PATH (Ed25519 secret key, 64 bytes,
 * mode 0600; refused if it exists) and its public key KEY_PATH.pub, and
 * create DIR/audit.db recording the public key and the key path.
 */
HUELLA_API huella_status huella_audit_init(const char *dir, const char *key_path,
                                           huella_error *err);

/*
 * Open the log of DIR for appending, signing with the key file
 * (key_path NULL: the path recorded at init).  Refuses a key file that
 * group or others may read, or whose public key differs from the one
 * recorded.  Starts the committer thread.
 */
HUELLA_API huella_status huella_audit_open(const char *dir, const char *key_path,
                                           huella_audit **out, huella_error *err);
/* Commit what is queued, stop the committer, close.  NULL is a no-op. */
HUELLA_API void huella_audit_close(huella_audit *a);

/* Append one record and wait until it is durable; *seq (may be NULL)
 * receives its sequence number. */
HUELLA_API huella_status huella_audit_append(huella_audit *a, const huella_audit_event *ev,
                                             int64_t *seq, huella_error *err);

/*
 * Queue one record and return at once; done(ctx, status, seq) is called
 * from the committer thread once the record is durable (HUELLA_OK) or
 * failed.  The event is copied: the caller's strings need not outlive
 * the call.  A refused event (too long) returns its status and done is
 * never called.
 */
typedef void (*huella_audit_done_cb)(void *ctx, huella_status status, int64_t seq);
HUELLA_API huella_status huella_audit_submit(huella_audit *a, const huella_audit_event *ev,
                                             huella_audit_done_cb done, void *ctx,
                                             huella_error *err);

/* Number of records committed so far (the chain length). */
HUELLA_API int64_t huella_audit_length(huella_audit *a);

/*
 * Check the whole chain of DIR: sequence numbers contiguous from 1,
 * each record's stored previous hash equal to the hash of the one
 * before, its own hash equal to the hash of its canonical bytes, every
 * checkpoint's signature valid and its hash equal to its record's, the
 * newest record covered by a checkpoint, and the chain not shorter than
 * the head file.  Signatures are checked against the public key of
 * key_path (the secret key file or its .pub) when given, else against
 * the one recorded in the database (weaker: say so).
 * *report (JSON, free()) is {"ok", "records", "checkpoints",
 * "first_broken" (seq or null), "problem" (text or null), "key"};
 * *first_broken is 0 when the chain verifies.
 */
HUELLA_API huella_status huella_audit_verify(const char *dir, const char *key_path, char **report,
                                             int64_t *first_broken, huella_error *err);

/* Filters for huella_audit_query; zero / NULL members do not filter. */
typedef struct huella_audit_filter {
    int64_t person;
    const char *user;
    const char *purpose;
    const char *since; /* UTC ISO 8601, inclusive */
    const char *until; /* exclusive */
    size_t limit;      /* 0 = no limit */
} huella_audit_filter;

/* Matching records of DIR, oldest first, as a JSON array (free()). */
HUELLA_API huella_status huella_audit_query(const char *dir, const huella_audit_filter *f,
                                            char **json, huella_error *err);

/*
 * Retention of the chain itself (docs/retention.md).  Prune the records
 * older than `before` (UTC ISO 8601), always keeping the newest record:
 * the records 1..K go, and a prune anchor (K, hash of record K, time)
 * signed with the handle's key is stored in their place, so that
 * huella_audit_verify starts the chain at K+1 from that signed hash and
 * still detects any edit, deletion or insertion after K, and a deletion
 * of leading records without the key.  The caller then appends an
 * "audit.prune" record naming K and the hash (huella_retention_run
 * does).  dry_run: count only (a may then be NULL).  *through receives K (0: nothing to
 * prune), *pruned the number of records removed.  Uses its own
 * connection to DIR/audit.db: safe beside the handle's committer.
 */
HUELLA_API huella_status huella_audit_prune(huella_audit *a, const char *dir, const char *before,
                                            bool dry_run, int64_t *through, int64_t *pruned,
                                            uint8_t anchor_hash[32], huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
