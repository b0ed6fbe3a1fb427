/*
 * access.c - the access database: agencies, users, API tokens, sharing
 * agreements (DIR/access.db beside the store).
 *
 * Contract: a token is 32 bytes from libsodium's CSPRNG, shown once as
 * unpadded base64url (43 characters); only BLAKE2b-256 of the 32 bytes,
 * keyed with DIR/access.key, is stored, so a copy of the database alone
 * neither reveals tokens nor lets one test guesses offline.  Lookup is by
 * that hash (unique index); expiry is checked against the caller's clock.
 * WAL and synchronous=FULL as for the store.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACCESS_DB_NAME  "access.db"
#define ACCESS_KEY_NAME "access.key"
#define TOKEN_BYTES     32

struct huella_access {
    sqlite3 *db;
    uint8_t *key; /* 32 bytes, sodium_malloc'd */
    sqlite3_stmt *auth;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS agency(name TEXT PRIMARY KEY, created TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS user(name TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " agency TEXT NOT NULL REFERENCES agency(name), created TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS token(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user TEXT NOT NULL REFERENCES user(name), hash BLOB NOT NULL UNIQUE,"
    " created TEXT NOT NULL, expires TEXT);"
    "CREATE TABLE IF NOT EXISTS sharing(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " owner TEXT NOT NULL REFERENCES agency(name), partner TEXT NOT NULL REFERENCES agency(name),"
    " purpose TEXT NOT NULL, legal_basis TEXT NOT NULL, expires TEXT NOT NULL,"
    " created TEXT NOT NULL, revoked TEXT);"
    "INSERT OR IGNORE INTO agency(name, created) VALUES ('default', datetime('now'));";

static huella_status sql_error(huella_access *a, huella_error *err, const char *what)
{
    int code = sqlite3_errcode(a->db) & 0xff;
    return huella_error_set(err,
                            code == SQLITE_CONSTRAINT                     ? HUELLA_E_INPUT
                            : code == SQLITE_BUSY || code == SQLITE_IOERR ? HUELLA_E_IO
                                                                          : HUELLA_E_INTERNAL,
                            "access: %s: %s", what, sqlite3_errmsg(a->db));
}

static huella_status load_or_make_key(const char *path, uint8_t *key, huella_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        randombytes_buf(key, 32);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return huella_error_set(err, HUELLA_E_IO, "%s: cannot create: %s", path,
                                    strerror(errno));
        bool ok = write(fd, key, 32) == 32 && fsync(fd) == 0;
        close(fd);
        return ok ? HUELLA_OK
                  : huella_error_set(err, HUELLA_E_IO, "%s: cannot write: %s", path,
                                     strerror(errno));
    }
    if (fd < 0)
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    huella_status st = HUELLA_OK;
    if (fstat(fd, &sb) != 0 || (sb.st_mode & 077) != 0)
        st = huella_error_set(err, HUELLA_E_DENIED,
                              "%s: group or others may read the token key (chmod 600 it)", path);
    else if (sb.st_size != 32 || read(fd, key, 32) != 32)
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: want 32 bytes", path);
    close(fd);
    return st;
}

huella_status huella_access_open(const char *dir, huella_access **out, huella_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return huella_error_set(err, HUELLA_E_INTERNAL, "access: libsodium failed to initialise");
    huella_access *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "access: out of memory");
    char path[4096];
    huella_status st = HUELLA_OK;
    a->key = sodium_malloc(32);
    if (a->key == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "access: out of memory");
    struct stat sb;
    if (st == HUELLA_OK && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "%s: no such directory", dir);
    if (st == HUELLA_OK) {
        snprintf(path, sizeof(path), "%s/%s", dir, ACCESS_KEY_NAME);
        st = load_or_make_key(path, a->key, err);
    }
    if (st == HUELLA_OK) {
        snprintf(path, sizeof(path), "%s/%s", dir, ACCESS_DB_NAME);
        if (sqlite3_open_v2(path, &a->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK)
            st = huella_error_set(err, HUELLA_E_IO, "%s: cannot open: %s", path,
                                  a->db ? sqlite3_errmsg(a->db) : "out of memory");
    }
    if (st == HUELLA_OK) {
        sqlite3_busy_timeout(a->db, 10000);
        if (sqlite3_exec(a->db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         " PRAGMA foreign_keys=ON;",
                         NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(a->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
            st = sql_error(a, err, "preparing the database");
    }
    if (st == HUELLA_OK &&
        sqlite3_prepare_v3(a->db,
                           "SELECT t.expires, u.name, u.role, u.agency FROM token t"
                           " JOIN user u ON u.name = t.user WHERE t.hash = ?1",
                           -1, SQLITE_PREPARE_PERSISTENT, &a->auth, NULL) != SQLITE_OK)
        st = sql_error(a, err, "preparing a statement");
    if (st != HUELLA_OK) {
        huella_access_close(a);
        return st;
    }
    *out = a;
    return HUELLA_OK;
}

void huella_access_close(huella_access *a)
{
    if (a == NULL)
        return;
    sqlite3_finalize(a->auth);
    sqlite3_close(a->db);
    sodium_free(a->key);
    free(a);
}

static huella_status exec_texts(huella_access *a, const char *sql, const char *const *args, int n,
                                const char *what, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(a->db, sql, -1, &q, NULL) != SQLITE_OK)
        return sql_error(a, err, what);
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(q, i + 1, args[i], -1, SQLITE_STATIC);
    huella_status st = sqlite3_step(q) == SQLITE_DONE ? HUELLA_OK : sql_error(a, err, what);
    sqlite3_finalize(q);
    return st;
}

huella_status huella_access_agency_add(huella_access *a, const char *agency, huella_error *err)
{
    if (!huella_name_valid(agency))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "agency: want 1 to 63 of a-z 0-9 . _ - for a name");
    char now[32];
    huella_utc_now(now);
    const char *args[2] = {agency, now};
    return exec_texts(a, "INSERT INTO agency(name, created) VALUES (?1, ?2)", args, 2,
                      "adding an agency (does it exist already?)", err);
}

static bool exists(huella_access *a, const char *sql, const char *name)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(a->db, sql, -1, &q, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return found;
}

huella_status huella_access_user_add(huella_access *a, const char *user, const char *role,
                                     const char *agency, huella_error *err)
{
    if (!huella_name_valid(user))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "user: want 1 to 63 of a-z 0-9 . _ - for a user name");
    if (!huella_role_valid(role))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "user %s: '%.63s' is not a role (operator, examiner, supervisor,"
                                " auditor, dpo, administrator)",
                                user, role != NULL ? role : "");
    if (!huella_name_valid(agency) || !exists(a, "SELECT 1 FROM agency WHERE name = ?1", agency))
        return huella_error_set(err, HUELLA_E_NOTFOUND,
                                "user %s: no agency '%.63s' (add it with 'huella agency add')",
                                user, agency != NULL ? agency : "");
    char now[32];
    huella_utc_now(now);
    const char *args[4] = {user, role, agency, now};
    return exec_texts(a, "INSERT INTO user(name, role, agency, created) VALUES (?1, ?2, ?3, ?4)",
                      args, 4, "adding a user (does it exist already?)", err);
}

static void token_hash(const huella_access *a, const uint8_t *raw, uint8_t hash[32])
{
    crypto_generichash(hash, 32, raw, TOKEN_BYTES, a->key, 32);
}

huella_status huella_access_token_new(huella_access *a, const char *user, const char *expires,
                                      char token[HUELLA_TOKEN_CHARS], huella_error *err)
{
    if (!huella_name_valid(user) || !exists(a, "SELECT 1 FROM user WHERE name = ?1", user))
        return huella_error_set(err, HUELLA_E_NOTFOUND, "token: no user '%.63s'",
                                user != NULL ? user : "");
    char exp[32];
    if (expires != NULL && !huella_utc_parse(expires, exp))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "token: the expiry wants YYYY-MM-DDThh:mm:ssZ or 30d/12h/...");
    uint8_t raw[TOKEN_BYTES], hash[32];
    randombytes_buf(raw, sizeof(raw));
    token_hash(a, raw, hash);
    char now[32];
    huella_utc_now(now);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO token(user, hash, created, expires) VALUES (?1, ?2, ?3,"
                           " ?4)",
                           -1, &q, NULL) != SQLITE_OK) {
        sodium_memzero(raw, sizeof(raw));
        return sql_error(a, err, "adding a token");
    }
    sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, hash, sizeof(hash), SQLITE_STATIC);
    sqlite3_bind_text(q, 3, now, -1, SQLITE_STATIC);
    if (expires != NULL)
        sqlite3_bind_text(q, 4, exp, -1, SQLITE_STATIC);
    huella_status st =
        sqlite3_step(q) == SQLITE_DONE ? HUELLA_OK : sql_error(a, err, "adding a token");
    sqlite3_finalize(q);
    if (st == HUELLA_OK)
        sodium_bin2base64(token, HUELLA_TOKEN_CHARS, raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return st;
}

huella_status huella_access_authenticate(huella_access *a, const char *token, const char *now,
                                         huella_principal *who, huella_error *err)
{
    uint8_t raw[TOKEN_BYTES], hash[32];
    size_t n = 0;
    if (token == NULL || strlen(token) != HUELLA_TOKEN_CHARS - 1 ||
        sodium_base642bin(raw, sizeof(raw), token, strlen(token), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != TOKEN_BYTES)
        return huella_error_set(err, HUELLA_E_DENIED, "unknown token");
    token_hash(a, raw, hash);
    sodium_memzero(raw, sizeof(raw));
    sqlite3_stmt *q = a->auth;
    sqlite3_reset(q);
    sqlite3_bind_blob(q, 1, hash, sizeof(hash), SQLITE_STATIC);
    int rc = sqlite3_step(q);
    huella_status st = HUELLA_OK;
    if (rc == SQLITE_DONE) {
        st = huella_error_set(err, HUELLA_E_DENIED, "unknown token");
    } else if (rc != SQLITE_ROW) {
        st = sql_error(a, err, "checking a token");
    } else {
        const char *exp = (const char *)sqlite3_column_text(q, 0);
        snprintf(who->user, sizeof(who->user), "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(who->role, sizeof(who->role), "%s", (const char *)sqlite3_column_text(q, 2));
        snprintf(who->agency, sizeof(who->agency), "%s", (const char *)sqlite3_column_text(q, 3));
        if (exp != NULL && strcmp(exp, now) <= 0)
            st = huella_error_set(err, HUELLA_E_DENIED, "expired token (user %s)", who->user);
    }
    sqlite3_reset(q);
    return st;
}

huella_status huella_access_sharing_add(huella_access *a, const huella_sharing *s, int64_t *id,
                                        huella_error *err)
{
    const char *names[4] = {s->owner, s->partner, s->purpose, s->legal_basis};
    for (int i = 0; i < 4; i++)
        if (!huella_name_valid(names[i]))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "sharing: owner, partner, purpose and legal basis want 1 to "
                                    "63 of a-z 0-9 . _ -");
    char exp[32];
    if (!huella_utc_parse(s->expires, exp))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "sharing: the expiry wants YYYY-MM-DDThh:mm:ssZ or 30d/12h/...");
    for (int i = 0; i < 2; i++)
        if (!exists(a, "SELECT 1 FROM agency WHERE name = ?1", names[i]))
            return huella_error_set(err, HUELLA_E_NOTFOUND, "sharing: no agency '%s'", names[i]);
    if (strcmp(s->owner, s->partner) == 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "sharing: an agency needs no agreement with "
                                "itself");
    char now[32];
    huella_utc_now(now);
    const char *args[6] = {s->owner, s->partner, s->purpose, s->legal_basis, exp, now};
    huella_status st = exec_texts(a,
                                  "INSERT INTO sharing(owner, partner, purpose, legal_basis,"
                                  " expires, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                  args, 6, "adding an agreement", err);
    if (st == HUELLA_OK && id != NULL)
        *id = sqlite3_last_insert_rowid(a->db);
    return st;
}

huella_status huella_access_sharing_revoke(huella_access *a, int64_t id, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(a->db,
                           "UPDATE sharing SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL", -1,
                           &q, NULL) != SQLITE_OK)
        return sql_error(a, err, "revoking an agreement");
    char now[32];
    huella_utc_now(now);
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, now, -1, SQLITE_STATIC);
    huella_status st = HUELLA_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        st = sql_error(a, err, "revoking an agreement");
    else if (sqlite3_changes(a->db) == 0)
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "sharing %lld: no such agreement in force",
                              (long long)id);
    sqlite3_finalize(q);
    return st;
}

huella_status huella_access_sharings(huella_access *a, const char *owner, const char *partner,
                                     huella_sharing **out, size_t *n, huella_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT id, owner, partner, purpose, legal_basis, expires,"
                           " revoked IS NOT NULL FROM sharing WHERE (?1 IS NULL OR owner = ?1)"
                           " AND (?2 IS NULL OR partner = ?2) ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return sql_error(a, err, "listing agreements");
    if (owner != NULL)
        sqlite3_bind_text(q, 1, owner, -1, SQLITE_STATIC);
    if (partner != NULL)
        sqlite3_bind_text(q, 2, partner, -1, SQLITE_STATIC);
    size_t cap = 0;
    huella_status st = HUELLA_OK;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            huella_sharing *nb = realloc(*out, ncap * sizeof(**out));
            if (nb == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "access: out of memory");
                break;
            }
            *out = nb;
            cap = ncap;
        }
        huella_sharing *s = &(*out)[(*n)++];
        memset(s, 0, sizeof(*s));
        s->id = sqlite3_column_int64(q, 0);
        snprintf(s->owner, sizeof(s->owner), "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(s->partner, sizeof(s->partner), "%s", (const char *)sqlite3_column_text(q, 2));
        snprintf(s->purpose, sizeof(s->purpose), "%s", (const char *)sqlite3_column_text(q, 3));
        snprintf(s->legal_basis, sizeof(s->legal_basis), "%s",
                 (const char *)sqlite3_column_text(q, 4));
        snprintf(s->expires, sizeof(s->expires), "%s", (const char *)sqlite3_column_text(q, 5));
        s->revoked = sqlite3_column_int(q, 6) != 0;
    }
    sqlite3_finalize(q);
    if (st != HUELLA_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}

huella_status huella_access_users_json(huella_access *a, char **json, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(a->db, "SELECT name, role, agency, created FROM user ORDER BY name", -1,
                           &q, NULL) != SQLITE_OK)
        return sql_error(a, err, "listing users");
    json_t *arr = json_array();
    while (sqlite3_step(q) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name",
                                             (const char *)sqlite3_column_text(q, 0), "role",
                                             (const char *)sqlite3_column_text(q, 1), "agency",
                                             (const char *)sqlite3_column_text(q, 2), "created",
                                             (const char *)sqlite3_column_text(q, 3)));
    sqlite3_finalize(q);
    *json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return *json != NULL ? HUELLA_OK : huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
}
