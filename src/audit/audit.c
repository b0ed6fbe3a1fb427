/*
 * audit.c - the audit chain: appending with group commit, checkpoints
 * signed with Ed25519, the head file.
 *
 * Contract (include/huella/audit.h): a record is durable (committed with
 * synchronous=FULL) before huella_audit_append returns or the submit
 * callback runs.  The chain: record k's canonical bytes (audit_canonical,
 * chain.c) include the hash of record k-1; hash = BLAKE2b-256 of them.
 * Every transaction ends with a checkpoint of its newest record signed
 * under the key file; after the commit the same checkpoint is written to
 * KEYFILE.head (fixed 104 bytes, fdatasync'd), so the head file is never
 * ahead of the database and a database cut short is seen by the verifier.
 *
 * Group commit: appenders only queue; one committer thread owned by the
 * handle takes everything queued since its last commit and writes it in
 * one transaction (one fsync for the batch).  This is the one thread in
 * the library; it lives and dies with the handle.
 */
#define _XOPEN_SOURCE 700
#include "audit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUDIT_MAX_BATCH 2048

typedef struct audit_item {
    char *f[AUDIT_NFIELDS]; /* user .. detail (not at) */
    int64_t persons[HUELLA_AUDIT_MAX_IDS];
    size_t n_persons;
    huella_audit_done_cb done;
    void *ctx;
    struct audit_item *next;
} audit_item;

struct huella_audit {
    sqlite3 *db;
    sqlite3_stmt *ins_record, *ins_person, *ins_checkpoint;
    uint8_t *sk; /* crypto_sign_SECRETKEYBYTES, sodium_malloc'd */
    int head_fd;
    int64_t last_seq;
    uint8_t last_hash[AUDIT_HASH_BYTES];
    pthread_mutex_t mu;
    pthread_cond_t work;
    pthread_cond_t committed;
    audit_item *head, *tail;
    bool stopping;
    int64_t length; /* under mu */
    pthread_t thread;
    bool thread_started;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS config(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS record(seq INTEGER PRIMARY KEY, at TEXT NOT NULL,"
    " user TEXT NOT NULL, role TEXT NOT NULL, agency TEXT NOT NULL, purpose TEXT NOT NULL,"
    " legal_basis TEXT NOT NULL, operation TEXT NOT NULL, outcome TEXT NOT NULL,"
    " detail TEXT NOT NULL, persons TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS record_person(person INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (person, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS record_user ON record(user);"
    "CREATE TABLE IF NOT EXISTS checkpoint(seq INTEGER PRIMARY KEY, hash BLOB NOT NULL,"
    " at TEXT NOT NULL, sig BLOB NOT NULL);";

huella_status audit_sql_error(sqlite3 *db, huella_error *err, const char *what)
{
    int code = sqlite3_errcode(db) & 0xff;
    huella_status st = code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN ||
                               code == SQLITE_BUSY || code == SQLITE_READONLY
                           ? HUELLA_E_IO
                       : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? HUELLA_E_INPUT
                                                                         : HUELLA_E_INTERNAL;
    return huella_error_set(err, st, "audit: %s: %s", what, sqlite3_errmsg(db));
}

huella_status audit_path(const char *dir, const char *name, char **out, huella_error *err)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    *out = malloc(n);
    if (*out == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    snprintf(*out, n, "%s%s%s", dir, dir[0] && name[0] != '.' ? "/" : "", name);
    return HUELLA_OK;
}

huella_status audit_db_open(const char *dir, bool write, sqlite3 **out, huella_error *err)
{
    char *path;
    huella_status st = audit_path(dir, HUELLA_AUDIT_DB_NAME, &path, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3 *db = NULL;
    int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (!write) {
        struct stat sb;
        if (stat(path, &sb) != 0) {
            st = huella_error_set(err, HUELLA_E_NOTFOUND,
                                  "%s: no audit log (create it with 'huella audit init')", path);
            free(path);
            return st;
        }
    }
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        st = huella_error_set(err, HUELLA_E_IO, "%s: cannot open: %s", path,
                              db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        free(path);
        return st;
    }
    free(path);
    sqlite3_busy_timeout(db, 10000);
    if (write && (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                               NULL) != SQLITE_OK ||
                  sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)) {
        st = audit_sql_error(db, err, "preparing the log");
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return HUELLA_OK;
}

huella_status audit_config_get(sqlite3 *db, const char *key, char *out, size_t cap,
                               huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT value FROM config WHERE key = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return audit_sql_error(db, err, "reading the configuration");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    huella_status st = HUELLA_OK;
    if (sqlite3_step(q) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        if (v == NULL || strlen(v) >= cap)
            st = huella_error_set(err, HUELLA_E_INPUT, "audit: configuration '%s' is malformed",
                                  key);
        else
            memcpy(out, v, strlen(v) + 1);
    } else {
        st = huella_error_set(err, HUELLA_E_NOTFOUND,
                              "audit: the log has no '%s' (was it made by 'huella audit init'?)",
                              key);
    }
    sqlite3_finalize(q);
    return st;
}

/* Read the whole small file at path into buf (exactly n bytes). */
static huella_status read_exact(const char *path, uint8_t *buf, size_t n, bool private_file,
                                huella_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return huella_error_set(err, errno == ENOENT ? HUELLA_E_NOTFOUND : HUELLA_E_IO,
                                "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    huella_status st = HUELLA_OK;
    if (fstat(fd, &sb) != 0)
        st = huella_error_set(err, HUELLA_E_IO, "%s: %s", path, strerror(errno));
    else if (private_file && (sb.st_mode & 077) != 0)
        st = huella_error_set(err, HUELLA_E_DENIED,
                              "%s: the signing key may be read by group or others "
                              "(chmod 600 it)",
                              path);
    else if ((size_t)sb.st_size != n)
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: %lld bytes, want %zu", path,
                              (long long)sb.st_size, n);
    else if (read(fd, buf, n) != (ssize_t)n)
        st = huella_error_set(err, HUELLA_E_IO, "%s: short read", path);
    close(fd);
    return st;
}

huella_status audit_read_public_key(const char *key_path, uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                                    huella_error *err)
{
    size_t n = strlen(key_path);
    if (n > 4 && strcmp(key_path + n - 4, ".pub") == 0)
        return read_exact(key_path, pk, crypto_sign_PUBLICKEYBYTES, false, err);
    uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (sk == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    huella_status st = read_exact(key_path, sk, crypto_sign_SECRETKEYBYTES, true, err);
    if (st == HUELLA_OK)
        crypto_sign_ed25519_sk_to_pk(pk, sk);
    sodium_free(sk);
    return st;
}

static huella_status write_new_file(const char *path, const void *data, size_t n, mode_t mode,
                                    huella_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return huella_error_set(err, errno == EEXIST ? HUELLA_E_INPUT : HUELLA_E_IO,
                                "%s: cannot create: %s", path, strerror(errno));
    huella_status st = HUELLA_OK;
    if (write(fd, data, n) != (ssize_t)n || fsync(fd) != 0)
        st = huella_error_set(err, HUELLA_E_IO, "%s: cannot write: %s", path, strerror(errno));
    close(fd);
    return st;
}

huella_status huella_audit_init(const char *dir, const char *key_path, huella_error *err)
{
    if (sodium_init() < 0)
        return huella_error_set(err, HUELLA_E_INTERNAL, "audit: libsodium failed to initialise");
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return huella_error_set(err, HUELLA_E_NOTFOUND, "%s: no such directory", dir);
    char *db_path;
    huella_status st = audit_path(dir, HUELLA_AUDIT_DB_NAME, &db_path, err);
    if (st != HUELLA_OK)
        return st;
    bool exists = stat(db_path, &sb) == 0;
    free(db_path);
    if (exists)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: already has an audit log", dir);
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (sk == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    crypto_sign_keypair(pk, sk);
    st = write_new_file(key_path, sk, crypto_sign_SECRETKEYBYTES, 0600, err);
    sodium_free(sk);
    char *pub = NULL;
    if (st == HUELLA_OK)
        st = audit_path(key_path, ".pub", &pub, err);
    if (st == HUELLA_OK)
        st = write_new_file(pub, pk, sizeof(pk), 0644, err);
    free(pub);
    if (st != HUELLA_OK)
        return st;
    char *abs = realpath(key_path, NULL);
    sqlite3 *db;
    st = audit_db_open(dir, true, &db, err);
    if (st == HUELLA_OK) {
        char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
        sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO config(key, value) VALUES ('format', '1'),"
                               " ('public_key', ?1), ('key_path', ?2)",
                               -1, &q, NULL) != SQLITE_OK)
            st = audit_sql_error(db, err, "writing the configuration");
        else {
            sqlite3_bind_text(q, 1, hex, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, abs != NULL ? abs : key_path, -1, SQLITE_STATIC);
            if (sqlite3_step(q) != SQLITE_DONE)
                st = audit_sql_error(db, err, "writing the configuration");
            sqlite3_finalize(q);
        }
        sqlite3_close(db);
    }
    free(abs);
    return st;
}

/* ---- appending ---- */

static void item_free(audit_item *it)
{
    if (it == NULL)
        return;
    for (int i = 0; i < AUDIT_NFIELDS; i++)
        free(it->f[i]);
    free(it);
}

static huella_status write_head(huella_audit *a, int64_t seq, const uint8_t *hash,
                                const uint8_t *sig, huella_error *err)
{
    uint8_t buf[AUDIT_HEAD_BYTES];
    huella_store_u32be(buf, (uint32_t)((uint64_t)seq >> 32));
    huella_store_u32be(buf + 4, (uint32_t)seq);
    memcpy(buf + 8, hash, AUDIT_HASH_BYTES);
    memcpy(buf + 8 + AUDIT_HASH_BYTES, sig, crypto_sign_BYTES);
    if (pwrite(a->head_fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
        fdatasync(a->head_fd) != 0)
        return huella_error_set(err, HUELLA_E_IO, "audit: writing the head file: %s",
                                strerror(errno));
    return HUELLA_OK;
}

/* Write one batch in one transaction; on failure the chain state is as
 * before. */
static huella_status commit_batch(huella_audit *a, audit_item *batch, int64_t *first_seq,
                                  huella_error *err)
{
    int64_t seq = a->last_seq;
    uint8_t prev[AUDIT_HASH_BYTES];
    memcpy(prev, a->last_hash, sizeof(prev));
    char at[32];
    audit_now(at);
    huella_buf canon;
    huella_buf_init(&canon);
    huella_status st = HUELLA_OK;
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return audit_sql_error(a->db, err, "starting a commit");
    *first_seq = seq + 1;
    for (audit_item *it = batch; it != NULL && st == HUELLA_OK; it = it->next) {
        seq++;
        char persons[HUELLA_AUDIT_MAX_IDS * 21 + 2];
        audit_persons_text(it->persons, it->n_persons, persons, sizeof(persons));
        audit_record r = {.seq = seq, .at = at, .persons = persons};
        for (int i = 0; i < AUDIT_NFIELDS; i++)
            r.f[i] = it->f[i];
        memcpy(r.prev, prev, sizeof(prev));
        canon.len = 0;
        uint8_t hash[AUDIT_HASH_BYTES];
        st = audit_hash_record(&r, &canon, hash, err);
        if (st != HUELLA_OK)
            break;
        sqlite3_stmt *q = a->ins_record;
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, seq);
        sqlite3_bind_text(q, 2, at, -1, SQLITE_STATIC);
        for (int i = 0; i < AUDIT_NFIELDS; i++)
            sqlite3_bind_text(q, 3 + i, it->f[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3 + AUDIT_NFIELDS, persons, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 4 + AUDIT_NFIELDS, prev, AUDIT_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(q, 5 + AUDIT_NFIELDS, hash, AUDIT_HASH_BYTES, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE)
            st = audit_sql_error(a->db, err, "appending a record");
        sqlite3_reset(q);
        for (size_t k = 0; st == HUELLA_OK && k < it->n_persons; k++) {
            q = a->ins_person;
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, it->persons[k]);
            sqlite3_bind_int64(q, 2, seq);
            int rc = sqlite3_step(q);
            if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT)
                st = audit_sql_error(a->db, err, "indexing a record");
            sqlite3_reset(q);
        }
        memcpy(prev, hash, sizeof(prev));
    }
    huella_buf_free(&canon);
    uint8_t sig[crypto_sign_BYTES];
    if (st == HUELLA_OK) {
        uint8_t msg[AUDIT_CHECKPOINT_MSG_BYTES];
        audit_checkpoint_message(seq, prev, msg);
        crypto_sign_detached(sig, NULL, msg, sizeof(msg), a->sk);
        sqlite3_stmt *q = a->ins_checkpoint;
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, seq);
        sqlite3_bind_blob(q, 2, prev, AUDIT_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, at, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 4, sig, sizeof(sig), SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE)
            st = audit_sql_error(a->db, err, "writing a checkpoint");
        sqlite3_reset(q);
    }
    if (st == HUELLA_OK && sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        st = audit_sql_error(a->db, err, "committing");
    if (st != HUELLA_OK) {
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    a->last_seq = seq;
    memcpy(a->last_hash, prev, sizeof(prev));
    /* The records are durable; a failed head write only weakens the
     * truncation check until the next commit, so it is not the callers'
     * failure. */
    write_head(a, seq, prev, sig, NULL);
    return HUELLA_OK;
}

static void *committer(void *arg)
{
    huella_audit *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->head == NULL && !a->stopping)
            pthread_cond_wait(&a->work, &a->mu);
        if (a->head == NULL && a->stopping)
            break;
        audit_item *batch = a->head, *last = a->head;
        size_t n = 1;
        while (last->next != NULL && n < AUDIT_MAX_BATCH) {
            last = last->next;
            n++;
        }
        a->head = last->next;
        if (a->head == NULL)
            a->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&a->mu);

        huella_error err;
        int64_t seq = 0;
        huella_status st = commit_batch(a, batch, &seq, &err);
        pthread_mutex_lock(&a->mu);
        if (st == HUELLA_OK)
            a->length = a->last_seq;
        pthread_mutex_unlock(&a->mu);
        for (audit_item *it = batch; it != NULL;) {
            audit_item *next = it->next;
            if (it->done != NULL)
                it->done(it->ctx, st, st == HUELLA_OK ? seq : 0);
            if (st == HUELLA_OK)
                seq++;
            item_free(it);
            it = next;
        }
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static huella_status load_state(huella_audit *a, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(a->db, "SELECT seq, hash FROM record ORDER BY seq DESC LIMIT 1", -1, &q,
                           NULL) != SQLITE_OK)
        return audit_sql_error(a->db, err, "reading the newest record");
    a->last_seq = 0;
    memset(a->last_hash, 0, sizeof(a->last_hash));
    huella_status st = HUELLA_OK;
    if (sqlite3_step(q) == SQLITE_ROW) {
        a->last_seq = sqlite3_column_int64(q, 0);
        if (sqlite3_column_bytes(q, 1) != AUDIT_HASH_BYTES)
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "audit: record %" PRId64 " has a malformed hash (run "
                                  "'huella audit verify')",
                                  a->last_seq);
        else
            memcpy(a->last_hash, sqlite3_column_blob(q, 1), AUDIT_HASH_BYTES);
    }
    sqlite3_finalize(q);
    a->length = a->last_seq;
    return st;
}

huella_status huella_audit_open(const char *dir, const char *key_path, huella_audit **out,
                                huella_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return huella_error_set(err, HUELLA_E_INTERNAL, "audit: libsodium failed to initialise");
    huella_audit *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    a->head_fd = -1;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->work, NULL);
    pthread_cond_init(&a->committed, NULL);
    huella_status st = audit_db_open(dir, true, &a->db, err);
    char recorded_path[4096], pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
    if (st == HUELLA_OK)
        st = audit_config_get(a->db, "public_key", pk_hex, sizeof(pk_hex), err);
    if (st == HUELLA_OK && key_path == NULL) {
        st = audit_config_get(a->db, "key_path", recorded_path, sizeof(recorded_path), err);
        key_path = recorded_path;
    }
    if (st == HUELLA_OK) {
        a->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
        if (a->sk == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    }
    if (st == HUELLA_OK)
        st = read_exact(key_path, a->sk, crypto_sign_SECRETKEYBYTES, true, err);
    if (st == HUELLA_OK) {
        uint8_t pk[crypto_sign_PUBLICKEYBYTES];
        char hex[sizeof(pk_hex)];
        crypto_sign_ed25519_sk_to_pk(pk, a->sk);
        sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
        if (strcmp(hex, pk_hex) != 0)
            st = huella_error_set(err, HUELLA_E_DENIED,
                                  "%s: not the signing key of the audit log in %s", key_path, dir);
    }
    if (st == HUELLA_OK) {
        char *head;
        st = audit_path(key_path, ".head", &head, err);
        if (st == HUELLA_OK) {
            a->head_fd = open(head, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            if (a->head_fd < 0)
                st = huella_error_set(err, HUELLA_E_IO, "%s: cannot open: %s", head,
                                      strerror(errno));
            free(head);
        }
    }
    if (st == HUELLA_OK &&
        (sqlite3_prepare_v3(a->db,
                            "INSERT INTO record(seq, at, user, role, agency, purpose, legal_basis,"
                            " operation, outcome, detail, persons, prev, hash)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                            -1, SQLITE_PREPARE_PERSISTENT, &a->ins_record, NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(a->db, "INSERT INTO record_person(person, seq) VALUES (?1, ?2)", -1,
                            SQLITE_PREPARE_PERSISTENT, &a->ins_person, NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(a->db,
                            "INSERT INTO checkpoint(seq, hash, at, sig) VALUES (?1, ?2, ?3, ?4)",
                            -1, SQLITE_PREPARE_PERSISTENT, &a->ins_checkpoint, NULL) != SQLITE_OK))
        st = audit_sql_error(a->db, err, "preparing statements");
    if (st == HUELLA_OK)
        st = load_state(a, err);
    if (st == HUELLA_OK) {
        if (pthread_create(&a->thread, NULL, committer, a) != 0)
            st = huella_error_set(err, HUELLA_E_INTERNAL, "audit: cannot start the committer");
        else
            a->thread_started = true;
    }
    if (st != HUELLA_OK) {
        huella_audit_close(a);
        return st;
    }
    *out = a;
    return HUELLA_OK;
}

void huella_audit_close(huella_audit *a)
{
    if (a == NULL)
        return;
    if (a->thread_started) {
        pthread_mutex_lock(&a->mu);
        a->stopping = true;
        pthread_cond_broadcast(&a->work);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
    }
    sqlite3_finalize(a->ins_record);
    sqlite3_finalize(a->ins_person);
    sqlite3_finalize(a->ins_checkpoint);
    sqlite3_close(a->db);
    if (a->head_fd >= 0)
        close(a->head_fd);
    sodium_free(a->sk);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->committed);
    free(a);
}

huella_status huella_audit_submit(huella_audit *a, const huella_audit_event *ev,
                                  huella_audit_done_cb done, void *ctx, huella_error *err)
{
    if (ev->n_persons > HUELLA_AUDIT_MAX_IDS)
        return huella_error_set(err, HUELLA_E_INPUT, "audit: %zu ids in one record (at most %d)",
                                ev->n_persons, HUELLA_AUDIT_MAX_IDS);
    const char *src[AUDIT_NFIELDS] = {ev->user,        ev->role,      ev->agency,  ev->purpose,
                                      ev->legal_basis, ev->operation, ev->outcome, ev->detail};
    audit_item *it = calloc(1, sizeof(*it));
    if (it == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    for (int i = 0; i < AUDIT_NFIELDS; i++) {
        const char *v = src[i] != NULL ? src[i] : "";
        size_t n = strnlen(v, HUELLA_AUDIT_MAX_FIELD + 1);
        if (n > HUELLA_AUDIT_MAX_FIELD) {
            item_free(it);
            return huella_error_set(err, HUELLA_E_INPUT, "audit: field %s longer than %d bytes",
                                    audit_field_names[i], HUELLA_AUDIT_MAX_FIELD);
        }
        it->f[i] = malloc(n + 1);
        if (it->f[i] == NULL) {
            item_free(it);
            return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
        }
        memcpy(it->f[i], v, n);
        it->f[i][n] = '\0';
    }
    if (ev->n_persons > 0)
        memcpy(it->persons, ev->persons, ev->n_persons * sizeof(int64_t));
    it->n_persons = ev->n_persons;
    it->done = done;
    it->ctx = ctx;
    pthread_mutex_lock(&a->mu);
    if (a->tail != NULL)
        a->tail->next = it;
    else
        a->head = it;
    a->tail = it;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
    return HUELLA_OK;
}

typedef struct append_wait {
    huella_audit *a;
    bool done;
    huella_status st;
    int64_t seq;
} append_wait;

static void append_done(void *ctx, huella_status st, int64_t seq)
{
    append_wait *w = ctx;
    pthread_mutex_lock(&w->a->mu);
    w->done = true;
    w->st = st;
    w->seq = seq;
    pthread_cond_broadcast(&w->a->committed);
    pthread_mutex_unlock(&w->a->mu);
}

huella_status huella_audit_append(huella_audit *a, const huella_audit_event *ev, int64_t *seq,
                                  huella_error *err)
{
    append_wait w = {a, false, HUELLA_OK, 0};
    huella_status st = huella_audit_submit(a, ev, append_done, &w, err);
    if (st != HUELLA_OK)
        return st;
    pthread_mutex_lock(&a->mu);
    while (!w.done)
        pthread_cond_wait(&a->committed, &a->mu);
    pthread_mutex_unlock(&a->mu);
    if (w.st != HUELLA_OK)
        return huella_error_set(err, w.st, "audit: the record could not be committed");
    if (seq != NULL)
        *seq = w.seq;
    return HUELLA_OK;
}

int64_t huella_audit_length(huella_audit *a)
{
    pthread_mutex_lock(&a->mu);
    int64_t n = a->length;
    pthread_mutex_unlock(&a->mu);
    return n;
}

/* ---- Retention: pruning with a signed anchor (docs/retention.md) ---- */

static huella_status prune_exec(sqlite3 *db, const char *sql, int64_t v, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return audit_sql_error(db, err, "pruning");
    sqlite3_bind_int64(q, 1, v);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HUELLA_OK : audit_sql_error(db, err, "pruning");
}

huella_status huella_audit_prune(huella_audit *a, const char *dir, const char *before, bool dry_run,
                                 int64_t *through, int64_t *pruned, uint8_t anchor_hash[32],
                                 huella_error *err)
{
    *through = 0;
    *pruned = 0;
    memset(anchor_hash, 0, AUDIT_HASH_BYTES);
    if (before == NULL || strlen(before) < 10)
        return huella_error_set(err, HUELLA_E_INPUT, "audit prune: want a UTC ISO 8601 cut-off");
    if (a == NULL && !dry_run)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "audit prune: the anchor is signed: open the log with its key");
    sqlite3 *db;
    huella_status st = audit_db_open(dir, true, &db, err);
    if (st != HUELLA_OK)
        return st;
    if (sqlite3_exec(db, AUDIT_PRUNE_SCHEMA "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        st = audit_sql_error(db, err, "starting the prune");
    sqlite3_stmt *q = NULL;
    int64_t k = 0, done_through = 0;
    if (st == HUELLA_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT r.seq, r.hash, (SELECT count(*) FROM record WHERE seq <= r.seq),"
                           " (SELECT coalesce(max(through), 0) FROM prune_anchor)"
                           " FROM record r WHERE r.at < ?1 AND r.seq < (SELECT max(seq) FROM"
                           " record) ORDER BY r.seq DESC LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        st = audit_sql_error(db, err, "finding records to prune");
    if (st == HUELLA_OK) {
        sqlite3_bind_text(q, 1, before, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 1) == AUDIT_HASH_BYTES) {
            k = sqlite3_column_int64(q, 0);
            memcpy(anchor_hash, sqlite3_column_blob(q, 1), AUDIT_HASH_BYTES);
            *pruned = sqlite3_column_int64(q, 2);
            done_through = sqlite3_column_int64(q, 3);
        } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            st = audit_sql_error(db, err, "finding records to prune");
        }
    }
    sqlite3_finalize(q);
    if (k <= done_through) {
        k = 0;
        *pruned = 0;
        memset(anchor_hash, 0, AUDIT_HASH_BYTES);
    }
    if (st == HUELLA_OK && k > 0 && !dry_run) {
        uint8_t msg[AUDIT_PRUNE_MSG_BYTES], sig[crypto_sign_BYTES];
        audit_prune_message(k, anchor_hash, msg);
        crypto_sign_detached(sig, NULL, msg, sizeof(msg), a->sk);
        char now[32];
        audit_now(now);
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO prune_anchor(through, hash, at, sig) VALUES (?1, ?2,"
                               " ?3, ?4)",
                               -1, &q, NULL) != SQLITE_OK)
            st = audit_sql_error(db, err, "storing the prune anchor");
        if (st == HUELLA_OK) {
            sqlite3_bind_int64(q, 1, k);
            sqlite3_bind_blob(q, 2, anchor_hash, AUDIT_HASH_BYTES, SQLITE_TRANSIENT);
            sqlite3_bind_text(q, 3, now, -1, SQLITE_TRANSIENT);
            sqlite3_bind_blob(q, 4, sig, sizeof(sig), SQLITE_TRANSIENT);
            if (sqlite3_step(q) != SQLITE_DONE)
                st = audit_sql_error(db, err, "storing the prune anchor");
            sqlite3_finalize(q);
        }
        if (st == HUELLA_OK)
            st = prune_exec(db, "DELETE FROM record_person WHERE seq <= ?1", k, err);
        if (st == HUELLA_OK)
            st = prune_exec(db, "DELETE FROM checkpoint WHERE seq <= ?1", k, err);
        if (st == HUELLA_OK)
            st = prune_exec(db, "DELETE FROM record WHERE seq <= ?1", k, err);
        if (st == HUELLA_OK)
            st = prune_exec(db, "DELETE FROM prune_anchor WHERE through < ?1", k, err);
    }
    if (st == HUELLA_OK && k > 0 && !dry_run) {
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            st = audit_sql_error(db, err, "committing the prune");
    } else {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    if (st == HUELLA_OK)
        *through = k;
    else
        *pruned = 0;
    return st;
}
