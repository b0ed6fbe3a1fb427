/*
 * store.c - creating and opening a store, transactions, the statement
 * cache.
 *
 * Contract: huella_store_init makes DIR (0700), DIR/master.key (32 bytes
 * from libsodium's CSPRNG, 0600, written and fsync'd before the database
 * exists) and DIR/huella.db at the current schema.  huella_store_open
 * refuses a key file that group or others may read or write, then sets
 * the pragmas every connection needs (WAL, synchronous=FULL so that a
 * commit is on disk when it returns, foreign keys, secure_delete so that
 * freed pages are zeroed) and applies pending migrations in one
 * transaction.  The master key lives in sodium_malloc'd memory, wiped on
 * close.
 */
#define _POSIX_C_SOURCE 200809L
#include "gallery_snapshot.h"
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_PERSON_INSERT] = "INSERT INTO person(created, wrapped_key) VALUES (?1, zeroblob(?2))",
    [STMT_PERSON_SET_KEY] = "UPDATE person SET wrapped_key = ?2 WHERE id = ?1",
    [STMT_PERSON_KEY] = "SELECT wrapped_key FROM person WHERE id = ?1",
    [STMT_ENCOUNTER_INSERT] =
        "INSERT INTO encounter(person_id, captured, site, device, operator, purpose,"
        " legal_basis, juvenile, bio) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, x'')",
    [STMT_ENCOUNTER_SET_BIO] = "UPDATE encounter SET bio = ?2 WHERE id = ?1",
    [STMT_LINK_INSERT] = "INSERT INTO link_event(encounter_id, action, from_person, to_person,"
                         " who, at, why) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_SAMPLE_INSERT] = "INSERT INTO sample(encounter_id, person_id, modality, position,"
                           " quality, templates) VALUES (?1, ?2, ?3, ?4, ?5, x'')",
    [STMT_SAMPLE_SET_TEMPLATES] = "UPDATE sample SET templates = ?2 WHERE id = ?1",
    [STMT_IMAGE_INSERT] = "INSERT INTO image(sample_id, format, data) VALUES (?1, ?2, ?3)",
    [STMT_ENCOUNTER_PERSON] = "SELECT person_id FROM encounter WHERE id = ?1",
    [STMT_FORM_SAMPLES] = "SELECT id, modality, position, templates FROM sample INDEXED BY"
                          " sample_scan WHERE modality IN (1, 2, 3) AND person_id = ?1"
                          " ORDER BY id",
    [STMT_FORM_WRITE] = "INSERT OR REPLACE INTO gallery_form(person_id, format, form)"
                        " VALUES (?1, ?2, ?3)",
};

const char *huella_store_modality_name(huella_store_modality m)
{
    switch (m) {
    case HUELLA_STORE_FINGER:
        return "finger";
    case HUELLA_STORE_IRIS:
        return "iris";
    case HUELLA_STORE_FACE:
        return "face";
    case HUELLA_STORE_SMT:
        return "smt";
    }
    return NULL;
}

bool huella_store_modality_parse(const char *name, huella_store_modality *out)
{
    for (int m = HUELLA_STORE_FINGER; m <= HUELLA_STORE_SMT; m++)
        if (strcmp(name, huella_store_modality_name((huella_store_modality)m)) == 0) {
            *out = (huella_store_modality)m;
            return true;
        }
    return false;
}

int huella_store_schema_version(void)
{
    return store_n_migrations;
}

unsigned huella_store_juvenile_age(const huella_store *s)
{
    return s->juvenile_age;
}

huella_status store_sql_error(huella_store *s, huella_error *err, const char *what)
{
    int code = sqlite3_extended_errcode(s->db);
    huella_status st = HUELLA_E_INTERNAL;
    if ((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_FULL ||
        (code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_BUSY ||
        (code & 0xff) == SQLITE_READONLY)
        st = HUELLA_E_IO;
    else if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB)
        st = HUELLA_E_INPUT;
    else if ((code & 0xff) == SQLITE_NOMEM)
        st = HUELLA_E_NOMEM;
    return huella_error_set(err, st, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

huella_status store_exec(huella_store *s, const char *sql, huella_error *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "executing a statement");
    return HUELLA_OK;
}

huella_status store_stmt(huella_store *s, store_stmt_id id, sqlite3_stmt **out, huella_error *err)
{
    if (s->stmts[id] == NULL) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id],
                               NULL) != SQLITE_OK)
            return store_sql_error(s, err, "preparing a statement");
    } else {
        sqlite3_reset(s->stmts[id]);
        sqlite3_clear_bindings(s->stmts[id]);
    }
    *out = s->stmts[id];
    return HUELLA_OK;
}

huella_status store_save(huella_store *s, huella_error *err)
{
    huella_status st = store_exec(s, "SAVEPOINT huella_op", err);
    if (st == HUELLA_OK)
        s->savepoints++;
    return st;
}

huella_status store_release(huella_store *s, huella_error *err)
{
    huella_status st = store_exec(s, "RELEASE huella_op", err);
    if (st == HUELLA_OK)
        s->savepoints--;
    else
        store_undo(s);
    return st;
}

void store_undo(huella_store *s)
{
    if (s->savepoints <= 0)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        if (s->stmts[i] != NULL)
            sqlite3_reset(s->stmts[i]);
    sqlite3_exec(s->db, "ROLLBACK TO huella_op; RELEASE huella_op", NULL, NULL, NULL);
    s->savepoints--;
}

void store_now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

huella_status huella_store_begin(huella_store *s, huella_error *err)
{
    return store_exec(s, "BEGIN IMMEDIATE", err);
}

huella_status huella_store_commit(huella_store *s, huella_error *err)
{
    huella_status st = store_exec(s, "COMMIT", err);
    if (st != HUELLA_OK)
        huella_store_rollback(s);
    return st;
}

void huella_store_rollback(huella_store *s)
{
    for (int i = 0; i < STMT_COUNT; i++)
        if (s->stmts[i] != NULL)
            sqlite3_reset(s->stmts[i]);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->savepoints = 0;
}

/* ---- paths ---- */

huella_status store_path(const char *dir, const char *name, char **out, huella_error *err)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    *out = malloc(n);
    if (*out == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: out of memory", dir);
    snprintf(*out, n, "%s/%s", dir, name);
    return HUELLA_OK;
}

static huella_status sodium_ready(huella_error *err)
{
    if (sodium_init() < 0)
        return huella_error_set(err, HUELLA_E_INTERNAL, "store: libsodium failed to initialise");
    return HUELLA_OK;
}

/* Read the master key, refusing a file that others may read or write. */
static huella_status read_master_key(const char *path, uint8_t *key, huella_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return huella_error_set(err, errno == ENOENT ? HUELLA_E_NOTFOUND : HUELLA_E_IO,
                                "%s: cannot open the master key: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return huella_error_set(err, HUELLA_E_INPUT, "%s: the master key is not a regular file",
                                path);
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        close(fd);
        return huella_error_set(err, HUELLA_E_DENIED,
                                "%s: the master key is accessible to group or others (mode "
                                "%04o); refusing to use it: chmod 600 it",
                                path, (unsigned)(st.st_mode & 07777));
    }
    uint8_t buf[STORE_KEY_BYTES + 1];
    ssize_t n;
    do
        n = read(fd, buf, sizeof(buf));
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n != (ssize_t)STORE_KEY_BYTES) {
        sodium_memzero(buf, sizeof(buf));
        return huella_error_set(err, HUELLA_E_INPUT, "%s: the master key must be exactly %u bytes",
                                path, STORE_KEY_BYTES);
    }
    memcpy(key, buf, STORE_KEY_BYTES);
    sodium_memzero(buf, sizeof(buf));
    return HUELLA_OK;
}

/* Write 32 fresh random bytes to path (which must not exist), mode 0600,
 * fsync'd; a copy goes to out (may be NULL). */
static huella_status write_master_key(const char *path, uint8_t *out, huella_error *err)
{
    uint8_t key[STORE_KEY_BYTES];
    randombytes_buf(key, sizeof(key));
    if (out != NULL)
        memcpy(out, key, sizeof(key));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        sodium_memzero(key, sizeof(key));
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot create the master key: %s", path,
                                strerror(errno));
    }
    /* The umask may have removed bits, never added them; make it exact. */
    bool ok = fchmod(fd, 0600) == 0;
    size_t done = 0;
    while (ok && done < sizeof(key)) {
        ssize_t n = write(fd, key + done, sizeof(key) - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            ok = false;
        else
            done += (size_t)n;
    }
    sodium_memzero(key, sizeof(key));
    ok = ok && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot write the master key: %s", path,
                                strerror(e));
    }
    return HUELLA_OK;
}

static huella_status open_db(const char *dir, bool create, sqlite3 **db, huella_error *err)
{
    char *path;
    huella_status st = store_path(dir, STORE_DB_NAME, &path, err);
    if (st != HUELLA_OK)
        return st;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, db, flags, NULL);
    if (rc != SQLITE_OK) {
        st = huella_error_set(err, rc == SQLITE_CANTOPEN ? HUELLA_E_NOTFOUND : HUELLA_E_IO,
                              "%s: cannot open the database: %s", path,
                              *db != NULL ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
    }
    free(path);
    return st;
}

static huella_status apply_pragmas(huella_store *s, huella_error *err)
{
    /* journal_mode answers with a row: read it to be sure WAL took. */
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return store_sql_error(s, err, "setting WAL mode");
    }
    bool wal = strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0;
    sqlite3_finalize(q);
    if (!wal)
        return huella_error_set(err, HUELLA_E_IO, "store: the database refused WAL mode");
    sqlite3_busy_timeout(s->db, 5000);
    return store_exec(s,
                      "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
                      " PRAGMA cell_size_check=ON; PRAGMA mmap_size=268435456;"
                      " PRAGMA cache_size=-65536;",
                      err);
}

static huella_status user_version(huella_store *s, int *v, huella_error *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return store_sql_error(s, err, "reading the schema version");
    }
    *v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return HUELLA_OK;
}

static huella_status migrate(huella_store *s, huella_error *err)
{
    huella_status st = store_exec(s, "BEGIN IMMEDIATE", err);
    if (st != HUELLA_OK)
        return st;
    int v = 0;
    st = user_version(s, &v, err);
    if (st == HUELLA_OK && v > store_n_migrations)
        st = huella_error_set(err, HUELLA_E_UNSUPPORTED,
                              "store: the database has schema version %d, newer than this "
                              "huella (%d)",
                              v, store_n_migrations);
    for (; st == HUELLA_OK && v < store_n_migrations; v++) {
        if (sqlite3_exec(s->db, store_migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            st = store_sql_error(s, err, "migrating the schema");
            break;
        }
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v + 1);
        st = store_exec(s, sql, err);
    }
    if (st != HUELLA_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    return store_exec(s, "COMMIT", err);
}

static huella_status read_config(huella_store *s, huella_error *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM config WHERE key = 'juvenile_age'", -1, &q,
                           NULL) != SQLITE_OK)
        return store_sql_error(s, err, "reading the configuration");
    s->juvenile_age = HUELLA_STORE_DEFAULT_JUVENILE_AGE;
    if (sqlite3_step(q) == SQLITE_ROW) {
        int v = atoi((const char *)sqlite3_column_text(q, 0));
        if (v >= 1 && v <= 25)
            s->juvenile_age = (unsigned)v;
    }
    sqlite3_finalize(q);
    return HUELLA_OK;
}

huella_status store_sync_dir(const char *dir, huella_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot sync the directory: %s", dir,
                                strerror(e));
    }
    close(fd);
    return HUELLA_OK;
}

static huella_status set_key_check(huella_store *s, const uint8_t *master, huella_error *err)
{
    char hex[2 * STORE_KEY_BYTES + 1];
    store_key_check(master, hex);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO config(key, value) VALUES ('key_check', ?1)", -1,
                           &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "recording the key check");
    sqlite3_bind_text(q, 1, hex, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HUELLA_OK : store_sql_error(s, err, "recording the key check");
}

/*
 * Is s->master the key of this database?  config.key_check holds a keyed
 * hash of the right key (written at the first open).  A mismatch is
 * refused, unless an interrupted huella_store_rekey left the new key in
 * master.key.new after its commit: then the rename is finished here.  A
 * master.key.new beside a matching master.key is a rekey that did not
 * commit, and is removed.
 */
static huella_status verify_key(huella_store *s, const char *dir, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM config WHERE key = 'key_check'", -1, &q,
                           NULL) != SQLITE_OK)
        return store_sql_error(s, err, "reading the key check");
    char stored[2 * STORE_KEY_BYTES + 1] = "";
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL)
        snprintf(stored, sizeof(stored), "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    char *new_path = NULL, *key_path = NULL;
    huella_status st = store_path(dir, STORE_NEW_KEY_NAME, &new_path, err);
    if (st == HUELLA_OK)
        st = store_path(dir, STORE_KEY_NAME, &key_path, err);
    char mine[2 * STORE_KEY_BYTES + 1];
    store_key_check(s->master, mine);
    if (st != HUELLA_OK) {
        /* nothing */
    } else if (stored[0] == '\0') {
        st = set_key_check(s, s->master, err);
    } else if (sodium_memcmp(stored, mine, sizeof(mine)) == 0) {
        unlink(new_path); /* a rekey that did not commit, if any */
    } else {
        uint8_t *fresh = sodium_malloc(STORE_KEY_BYTES);
        huella_error sub;
        char other[2 * STORE_KEY_BYTES + 1] = "";
        if (fresh != NULL && read_master_key(new_path, fresh, &sub) == HUELLA_OK)
            store_key_check(fresh, other);
        if (fresh != NULL && sodium_memcmp(stored, other, sizeof(other)) == 0) {
            if (rename(new_path, key_path) != 0)
                st = huella_error_set(err, HUELLA_E_IO, "%s: cannot finish a key rotation: %s",
                                      new_path, strerror(errno));
            else
                st = store_sync_dir(dir, err);
            if (st == HUELLA_OK)
                memcpy(s->master, fresh, STORE_KEY_BYTES);
        } else {
            st = huella_error_set(err, HUELLA_E_DENIED,
                                  "%s: this master key is not the key of the store in %s", key_path,
                                  dir);
        }
        sodium_free(fresh);
    }
    free(new_path);
    free(key_path);
    return st;
}

huella_status huella_store_rekey(const char *dir, huella_error *err)
{
    huella_store *s = NULL;
    huella_status st = huella_store_open(dir, &s, err);
    if (st != HUELLA_OK)
        return st;
    char *new_path = NULL;
    uint8_t *fresh = sodium_malloc(STORE_KEY_BYTES);
    if (fresh == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "store: cannot allocate key memory");
    if (st == HUELLA_OK)
        st = store_path(dir, STORE_NEW_KEY_NAME, &new_path, err);
    if (st == HUELLA_OK)
        st = write_master_key(new_path, fresh, err);
    bool wrote = st == HUELLA_OK;
    if (st == HUELLA_OK)
        st = store_exec(s, "BEGIN IMMEDIATE", err);
    sqlite3_stmt *q = NULL, *u = NULL;
    if (st == HUELLA_OK &&
        (sqlite3_prepare_v2(s->db, "SELECT id, wrapped_key FROM person", -1, &q, NULL) !=
             SQLITE_OK ||
         sqlite3_prepare_v2(s->db, "UPDATE person SET wrapped_key = ?2 WHERE id = ?1", -1, &u,
                            NULL) != SQLITE_OK))
        st = store_sql_error(s, err, "rotating the master key");
    while (st == HUELLA_OK && sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        uint8_t key[STORE_KEY_BYTES], wrapped[STORE_WRAPPED_KEY_BYTES];
        st = store_key_unwrap(s, id, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
                              key, err);
        if (st == HUELLA_OK)
            st = store_key_wrap(fresh, id, key, wrapped, err);
        sodium_memzero(key, sizeof(key));
        if (st == HUELLA_OK) {
            sqlite3_reset(u);
            sqlite3_bind_int64(u, 1, id);
            sqlite3_bind_blob(u, 2, wrapped, (int)sizeof(wrapped), SQLITE_TRANSIENT);
            if (sqlite3_step(u) != SQLITE_DONE)
                st = store_sql_error(s, err, "rotating the master key");
        }
    }
    sqlite3_finalize(q);
    sqlite3_finalize(u);
    if (st == HUELLA_OK)
        st = set_key_check(s, fresh, err);
    /* The snapshot's MAC is under the old key: loads would ignore it. */
    if (st == HUELLA_OK)
        st = store_snapshot_discard(s, err);
    if (st == HUELLA_OK)
        st = store_exec(s, "COMMIT", err);
    if (st != HUELLA_OK) {
        huella_store_rollback(s);
        if (wrote)
            unlink(new_path);
    } else {
        /* Committed: from here the new key is the store's; a crash before
         * the rename is finished by the next open (verify_key). */
        char *key_path = NULL;
        st = store_path(dir, STORE_KEY_NAME, &key_path, err);
        if (st == HUELLA_OK && rename(new_path, key_path) != 0)
            st = huella_error_set(err, HUELLA_E_IO,
                                  "%s: the store uses the new key, but it could not be renamed "
                                  "to master.key (%s); the next open finishes it",
                                  new_path, strerror(errno));
        if (st == HUELLA_OK)
            st = store_sync_dir(dir, err);
        free(key_path);
        /* The old wrapped keys must not survive in the log. */
        if (st == HUELLA_OK && sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                                         NULL, NULL) != SQLITE_OK)
            st = huella_error_set(err, HUELLA_E_IO,
                                  "store: the key was rotated but the log could not be "
                                  "truncated: %s",
                                  sqlite3_errmsg(s->db));
    }
    sodium_free(fresh);
    free(new_path);
    huella_store_close(s);
    return st;
}

void huella_store_interrupt(huella_store *s)
{
    if (s != NULL && s->db != NULL)
        sqlite3_interrupt(s->db);
}

void huella_store_close(huella_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    sodium_free(s->master);
    huella_names_free(s->names);
    free(s->dir);
    free(s);
}

static huella_status store_open(const char *dir, bool create, huella_store **out, huella_error *err)
{
    *out = NULL;
    huella_status st = sodium_ready(err);
    if (st != HUELLA_OK)
        return st;
    huella_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory");
    s->master = sodium_malloc(STORE_KEY_BYTES);
    if (s->master == NULL) {
        free(s);
        return huella_error_set(err, HUELLA_E_NOMEM, "store: cannot allocate key memory");
    }
    s->dir = strdup(dir);
    if (s->dir == NULL) {
        huella_store_close(s);
        return huella_error_set(err, HUELLA_E_NOMEM, "store: out of memory");
    }
    char *key_path = NULL;
    st = store_path(dir, STORE_KEY_NAME, &key_path, err);
    if (st == HUELLA_OK)
        st = read_master_key(key_path, s->master, err);
    free(key_path);
    if (st == HUELLA_OK)
        st = open_db(dir, create, &s->db, err);
    if (st == HUELLA_OK)
        st = apply_pragmas(s, err);
    if (st == HUELLA_OK)
        st = migrate(s, err);
    if (st == HUELLA_OK)
        st = read_config(s, err);
    if (st == HUELLA_OK)
        st = verify_key(s, dir, err);
    if (st != HUELLA_OK) {
        huella_store_close(s);
        return st;
    }
    *out = s;
    return HUELLA_OK;
}

huella_status huella_store_open(const char *dir, huella_store **out, huella_error *err)
{
    return store_open(dir, false, out, err);
}

huella_status huella_store_init(const char *dir, const huella_store_init_options *opt,
                                huella_error *err)
{
    unsigned age = opt != NULL && opt->juvenile_age != 0 ? opt->juvenile_age
                                                         : HUELLA_STORE_DEFAULT_JUVENILE_AGE;
    if (age > 25)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "store: juvenile age %u is out of range (1..25)", age);
    huella_status st = sodium_ready(err);
    if (st != HUELLA_OK)
        return st;
    if (mkdir(dir, 0700) != 0) {
        if (errno != EEXIST)
            return huella_error_set(err, HUELLA_E_IO, "%s: cannot create the directory: %s", dir,
                                    strerror(errno));
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return huella_error_set(err, HUELLA_E_INPUT, "%s: exists and is not a directory", dir);
    }
    chmod(dir, 0700);
    char *key_path = NULL, *db_path = NULL;
    st = store_path(dir, STORE_KEY_NAME, &key_path, err);
    if (st == HUELLA_OK)
        st = store_path(dir, STORE_DB_NAME, &db_path, err);
    if (st == HUELLA_OK) {
        struct stat sb;
        if (stat(key_path, &sb) == 0 || stat(db_path, &sb) == 0)
            st = huella_error_set(err, HUELLA_E_INPUT, "%s: already holds a store", dir);
    }
    bool wrote_key = false;
    if (st == HUELLA_OK) {
        st = write_master_key(key_path, NULL, err);
        wrote_key = st == HUELLA_OK;
    }
    huella_store *s = NULL;
    if (st == HUELLA_OK)
        st = store_open(dir, true, &s, err);
    if (st == HUELLA_OK) {
        char sql[96];
        snprintf(sql, sizeof(sql),
                 "INSERT OR REPLACE INTO config(key, value) VALUES ('juvenile_age', '%u')", age);
        st = store_exec(s, sql, err);
    }
    huella_store_close(s);
    if (st == HUELLA_OK) {
        chmod(db_path, 0600);
    } else if (wrote_key) {
        /* Leave no half-made store behind: a retry would find it. */
        unlink(db_path);
        unlink(key_path);
    }
    free(key_path);
    free(db_path);
    return st;
}
