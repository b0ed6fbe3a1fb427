/*
 * watchlist.c - the watchlist database: schema, import, reading, expiry.
 *
 * Contract: one SQLite database, DIR/watchlist.db, in write-ahead-log mode
 * with synchronous=FULL (a committed import survives a power cut), its
 * schema versioned by PRAGMA user_version and migrated forward on open.
 * An import is one transaction: the file's SHA-256, name and time make an
 * import batch; every entry points at its batch and carries its source's
 * own reference, so each can be traced back to the line it came from.
 * Expiry deletes entries whose expiry date has passed and records the
 * purge (when, as of which date, how many) in the purges table.
 * Normalised names are kept beside the names as written; when they were
 * written by another version of the normaliser
 * (HUELLA_NAMES_NORMALIZE_VERSION), opening rewrites them, in one
 * transaction, before any screening reads them.
 *
 * Relies on: SQLite 3 (foreign keys enforced, ON DELETE CASCADE for the
 * names, documents and biometric references of an entry), libsodium for
 * SHA-256 (FIPS 180-4), watchlist_import.c for reading files and
 * watchlist_screen.c for the stored form of normalised names.
 */
#define _POSIX_C_SOURCE 200809L
#include "watchlist_internal.h"

#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SCHEMA_VERSION 2

/* Migration k takes the schema from version k to k + 1. */
static const char *const migrations[] = {
    "CREATE TABLE batches ("
    "  id INTEGER PRIMARY KEY,"
    "  file_name TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  format TEXT NOT NULL,"
    "  imported_at TEXT NOT NULL,"
    "  entries INTEGER NOT NULL);"
    "CREATE TABLE entries ("
    "  id INTEGER PRIMARY KEY,"
    "  batch_id INTEGER NOT NULL REFERENCES batches(id),"
    "  category TEXT NOT NULL,"
    "  source_agency TEXT NOT NULL,"
    "  source_ref TEXT NOT NULL,"
    "  legal_basis TEXT NOT NULL,"
    "  date_added TEXT NOT NULL,"
    "  review_date TEXT,"
    "  expiry_date TEXT NOT NULL,"
    "  source_grade TEXT NOT NULL CHECK (source_grade BETWEEN 'A' AND 'F'),"
    "  info_grade INTEGER NOT NULL CHECK (info_grade BETWEEN 1 AND 6),"
    "  birth_date TEXT,"
    "  nationality TEXT,"
    "  sex TEXT,"
    "  remarks TEXT,"
    "  UNIQUE (source_agency, source_ref));"
    "CREATE INDEX entries_expiry ON entries(expiry_date);"
    "CREATE TABLE names ("
    "  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  ord INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  norm TEXT NOT NULL,"
    "  PRIMARY KEY (entry_id, ord)) WITHOUT ROWID;"
    "CREATE TABLE documents ("
    "  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  ord INTEGER NOT NULL,"
    "  number TEXT NOT NULL,"
    "  number_key TEXT NOT NULL,"
    "  issuing_state TEXT NOT NULL,"
    "  PRIMARY KEY (entry_id, ord)) WITHOUT ROWID;"
    "CREATE INDEX documents_key ON documents(number_key);"
    "CREATE TABLE biometrics ("
    "  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  ord INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  ref TEXT NOT NULL,"
    "  PRIMARY KEY (entry_id, ord)) WITHOUT ROWID;"
    "CREATE TABLE purges ("
    "  id INTEGER PRIMARY KEY,"
    "  purged_at TEXT NOT NULL,"
    "  as_of TEXT NOT NULL,"
    "  entries INTEGER NOT NULL);",
    /* Which normaliser wrote names.norm; forms written before this table
     * came from version 1. */
    "CREATE TABLE normaliser (version INTEGER NOT NULL);"
    "INSERT INTO normaliser VALUES (1);",
};

static huella_status db_error(huella_watchlist *wl, huella_error *err, const char *what)
{
    return huella_error_set(err, HUELLA_E_IO, "%s/watchlist.db: %s: %s", wl->dir, what,
                            sqlite3_errmsg(wl->db));
}

static huella_status exec(huella_watchlist *wl, const char *sql, huella_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(wl->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        huella_status st = huella_error_set(err, HUELLA_E_IO, "%s/watchlist.db: %s", wl->dir,
                                            msg != NULL ? msg : "SQLite error");
        sqlite3_free(msg);
        return st;
    }
    return HUELLA_OK;
}

static huella_status migrate(huella_watchlist *wl, huella_error *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(wl->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return db_error(wl, err, "reading the schema version");
    int version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    if (version > SCHEMA_VERSION)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "%s/watchlist.db: schema version %d is newer than this huella "
                                "(%d)",
                                wl->dir, version, SCHEMA_VERSION);
    for (; version < SCHEMA_VERSION; version++) {
        huella_status st = exec(wl, "BEGIN IMMEDIATE", err);
        if (st != HUELLA_OK)
            return st;
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version + 1);
        st = exec(wl, migrations[version], err);
        if (st == HUELLA_OK)
            st = exec(wl, pragma, err);
        if (st == HUELLA_OK)
            st = exec(wl, "COMMIT", err);
        if (st != HUELLA_OK) {
            sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
            return st;
        }
    }
    return HUELLA_OK;
}

static huella_status normaliser_version(huella_watchlist *wl, int *version, huella_error *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(wl->db, "SELECT version FROM normaliser", -1, &s, NULL) != SQLITE_OK)
        return db_error(wl, err, "reading the normaliser version");
    bool found = sqlite3_step(s) == SQLITE_ROW;
    *version = found ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return found ? HUELLA_OK : db_error(wl, err, "reading the normaliser version");
}

static bool step_done(sqlite3_stmt *s);

/* Rewrite every stored normalised name with this huella's normaliser.  A
 * name it can no longer normalise keeps the form it had: still a valid
 * form, where dropping it would drop an entry's name from screening. */
static huella_status renormalise(huella_watchlist *wl, huella_error *err)
{
    int version = 0;
    huella_status st = normaliser_version(wl, &version, err);
    if (st != HUELLA_OK || version == HUELLA_NAMES_NORMALIZE_VERSION)
        return st;
    st = exec(wl, "BEGIN IMMEDIATE", err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    huella_name *nm = malloc(sizeof(*nm));
    char *norm = malloc(1024);
    /* Another process may have rewritten them while this one waited. */
    st = normaliser_version(wl, &version, err);
    if (st != HUELLA_OK || version == HUELLA_NAMES_NORMALIZE_VERSION)
        goto done;
    if (nm == NULL || norm == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    /* Changes are written after the scan, not during it: SQLite leaves
     * undefined what a pending SELECT sees of rows updated under it. */
    if (sqlite3_prepare_v2(wl->db, "SELECT entry_id, ord, name, norm FROM names", -1, &sel, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(wl->db,
                           "CREATE TEMP TABLE renormalised (entry_id INTEGER, ord INTEGER, "
                           "norm TEXT, PRIMARY KEY (entry_id, ord)) WITHOUT ROWID",
                           -1, &upd, NULL) != SQLITE_OK ||
        sqlite3_step(upd) != SQLITE_DONE) {
        st = db_error(wl, err, "rewriting normalised names");
        goto done;
    }
    sqlite3_finalize(upd);
    upd = NULL;
    if (sqlite3_prepare_v2(wl->db, "INSERT INTO renormalised VALUES (?1, ?2, ?3)", -1, &upd,
                           NULL) != SQLITE_OK) {
        st = db_error(wl, err, "rewriting normalised names");
        goto done;
    }
    int rc;
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(sel, 2);
        const char *old = (const char *)sqlite3_column_text(sel, 3);
        huella_error sub = {0};
        if (name == NULL || huella_names_normalize(wl->names, name, nm, &sub) != HUELLA_OK ||
            !wl_norm_encode(nm, norm, 1024))
            continue;
        if (old != NULL && strcmp(old, norm) == 0)
            continue;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 1));
        sqlite3_bind_text(upd, 3, norm, -1, SQLITE_TRANSIENT);
        if (!step_done(upd)) {
            st = db_error(wl, err, "rewriting normalised names");
            goto done;
        }
    }
    if (rc != SQLITE_DONE) {
        st = db_error(wl, err, "reading normalised names");
        goto done;
    }
    st = exec(wl,
              "UPDATE names SET norm = (SELECT r.norm FROM renormalised r WHERE r.entry_id = "
              "names.entry_id AND r.ord = names.ord) WHERE (entry_id, ord) IN (SELECT entry_id, "
              "ord FROM renormalised)",
              err);
    char sql[64];
    if (st == HUELLA_OK)
        st = exec(wl, "DROP TABLE renormalised", err);
    if (st == HUELLA_OK) {
        snprintf(sql, sizeof(sql), "UPDATE normaliser SET version = %d",
                 HUELLA_NAMES_NORMALIZE_VERSION);
        st = exec(wl, sql, err);
    }
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    free(norm);
    free(nm);
    if (st == HUELLA_OK)
        return exec(wl, "COMMIT", err);
    sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

huella_status huella_watchlist_open(const char *dir, huella_names *names, huella_watchlist **out,
                                    huella_error *err)
{
    *out = NULL;
    if (strlen(dir) + sizeof("/watchlist.db") > sizeof(((huella_watchlist *)0)->dir))
        return huella_error_set(err, HUELLA_E_INPUT, "%.80s...: directory name too long", dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot create: %s", dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return huella_error_set(err, HUELLA_E_INPUT, "%s: not a directory", dir);
    huella_watchlist *wl = calloc(1, sizeof(*wl));
    if (wl == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    snprintf(wl->dir, sizeof(wl->dir), "%s", dir);
    huella_status st = HUELLA_OK;
    if (names == NULL) {
        st = huella_names_new(NULL, &wl->names, err);
        wl->own_names = true;
    } else {
        wl->names = names;
    }
    char path[sizeof(wl->dir) + 16];
    snprintf(path, sizeof(path), "%s/watchlist.db", dir);
    if (st == HUELLA_OK &&
        sqlite3_open_v2(path, &wl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK)
        st = huella_error_set(err, HUELLA_E_IO, "%s: cannot open: %s", path,
                              wl->db ? sqlite3_errmsg(wl->db) : "out of memory");
    if (st == HUELLA_OK) {
        /* The database holds personal data: readable by its owner only. */
        chmod(path, 0600);
        sqlite3_busy_timeout(wl->db, 5000);
        st = exec(wl,
                  "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                  "PRAGMA foreign_keys = ON;",
                  err);
    }
    if (st == HUELLA_OK)
        st = migrate(wl, err);
    if (st == HUELLA_OK)
        st = renormalise(wl, err);
    if (st != HUELLA_OK) {
        huella_watchlist_close(wl);
        return st;
    }
    *out = wl;
    return HUELLA_OK;
}

void huella_watchlist_close(huella_watchlist *wl)
{
    if (wl == NULL)
        return;
    wl_index_free(wl->index);
    sqlite3_close(wl->db);
    if (wl->own_names)
        huella_names_free(wl->names);
    free(wl);
}

/* ---- Import ------------------------------------------------------------------ */

void huella_watchlist_import_result_clear(huella_watchlist_import_result *r)
{
    if (r == NULL)
        return;
    free(r->problems);
    memset(r, 0, sizeof(*r));
}

typedef struct import_ctx {
    huella_watchlist *wl;
    wl_problems *problems;
    int64_t batch_id;
    size_t entries;
    sqlite3_stmt *entry, *name, *doc, *bio;
    huella_name *nm;
} import_ctx;

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL || v[0] == '\0')
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static bool step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE;
}

static bool insert_entry(void *vctx, const huella_watchlist_entry *e, const char *where,
                         huella_error *err)
{
    import_ctx *c = vctx;
    huella_watchlist *wl = c->wl;
    /* Normalise every name first: a name that cannot be normalised is a
     * problem of the file, reported like any other. */
    char norms[HUELLA_WL_MAX_NAMES][1024];
    bool ok = true;
    for (size_t i = 0; i < e->n_names; i++) {
        huella_error ne;
        if (huella_names_normalize(wl->names, e->names[i], c->nm, &ne) != HUELLA_OK) {
            wl_problem(c->problems, "%s, field '%s': %s", where, i == 0 ? "name" : "aliases",
                       ne.message);
            ok = false;
        } else if (!wl_norm_encode(c->nm, norms[i], sizeof(norms[i]))) {
            wl_problem(c->problems, "%s, field '%s': name too long once normalised", where,
                       i == 0 ? "name" : "aliases");
            ok = false;
        }
    }
    if (!ok || c->problems->n > 0)
        return true; /* nothing will be committed: checking goes on */
    char buf[16], dob[16] = "", added[16], review[16] = "", expiry[16], nat[16] = "";
    huella_partial_date_format(&e->date_added, added, sizeof(added));
    huella_partial_date_format(&e->expiry_date, expiry, sizeof(expiry));
    if (e->has_review_date)
        huella_partial_date_format(&e->review_date, review, sizeof(review));
    if (e->has_birth_date)
        huella_partial_date_format(&e->birth_date, dob, sizeof(dob));
    for (size_t i = 0; i < e->n_nationalities; i++) {
        size_t len = strlen(nat);
        snprintf(nat + len, sizeof(nat) - len, "%s%s", i ? "|" : "", e->nationalities[i]);
    }
    sqlite3_stmt *s = c->entry;
    sqlite3_bind_int64(s, 1, c->batch_id);
    bind_text(s, 2, huella_watchlist_category_name(e->category));
    bind_text(s, 3, e->source_agency);
    bind_text(s, 4, e->source_ref);
    bind_text(s, 5, e->legal_basis);
    bind_text(s, 6, added);
    bind_text(s, 7, review);
    bind_text(s, 8, expiry);
    snprintf(buf, sizeof(buf), "%c", e->source_grade);
    bind_text(s, 9, buf);
    sqlite3_bind_int(s, 10, e->info_grade);
    bind_text(s, 11, dob);
    bind_text(s, 12, nat);
    snprintf(buf, sizeof(buf), "%c", e->sex);
    bind_text(s, 13, e->sex ? buf : NULL);
    bind_text(s, 14, e->remarks);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT) {
        wl_problem(c->problems, "%s, field 'source_ref': '%s' of '%s' is already listed", where,
                   e->source_ref, e->source_agency);
        return true;
    }
    if (rc != SQLITE_DONE) {
        db_error(wl, err, "adding an entry");
        return false;
    }
    int64_t id = sqlite3_last_insert_rowid(wl->db);
    for (size_t i = 0; i < e->n_names; i++) {
        sqlite3_bind_int64(c->name, 1, id);
        sqlite3_bind_int(c->name, 2, (int)i);
        bind_text(c->name, 3, e->names[i]);
        bind_text(c->name, 4, norms[i]);
        if (!step_done(c->name)) {
            db_error(wl, err, "adding a name");
            return false;
        }
    }
    for (size_t i = 0; i < e->n_documents; i++) {
        char key[HUELLA_WL_MAX_DOC_NUM];
        wl_document_key(e->documents[i].number, key, sizeof(key));
        sqlite3_bind_int64(c->doc, 1, id);
        sqlite3_bind_int(c->doc, 2, (int)i);
        bind_text(c->doc, 3, e->documents[i].number);
        bind_text(c->doc, 4, key);
        sqlite3_bind_text(c->doc, 5, e->documents[i].issuing_state, -1, SQLITE_TRANSIENT);
        if (!step_done(c->doc)) {
            db_error(wl, err, "adding a document");
            return false;
        }
    }
    for (size_t i = 0; i < e->n_biometrics; i++) {
        sqlite3_bind_int64(c->bio, 1, id);
        sqlite3_bind_int(c->bio, 2, (int)i);
        bind_text(c->bio, 3, e->biometrics[i].kind);
        bind_text(c->bio, 4, e->biometrics[i].ref);
        if (!step_done(c->bio)) {
            db_error(wl, err, "adding a biometric reference");
            return false;
        }
    }
    c->entries++;
    return true;
}

static void utc_now(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "unknown");
}

static wl_format guess_format(const char *path, const uint8_t *data, size_t len)
{
    size_t pl = strlen(path);
    if (pl >= 5 && strcmp(path + pl - 5, ".json") == 0)
        return WL_FORMAT_JSON;
    if (pl >= 4 && strcmp(path + pl - 4, ".csv") == 0)
        return WL_FORMAT_CSV;
    for (size_t i = 0; i < len; i++)
        if (data[i] != ' ' && data[i] != '\n' && data[i] != '\r' && data[i] != '\t')
            return data[i] == '{' || data[i] == '[' ? WL_FORMAT_JSON : WL_FORMAT_CSV;
    return WL_FORMAT_CSV;
}

huella_status huella_watchlist_import(huella_watchlist *wl, const char *path, const char *today,
                                      huella_watchlist_import_result *res, huella_error *err)
{
    memset(res, 0, sizeof(*res));
    huella_partial_date day;
    huella_status st = wl_today(today, &day, err);
    if (st != HUELLA_OK)
        return st;
    uint8_t *data = NULL;
    size_t len = 0;
    st = huella_file_read(path, 0, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    if (sodium_init() < 0) {
        free(data);
        return huella_error_set(err, HUELLA_E_INTERNAL, "libsodium cannot start");
    }
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, data, len);
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    wl_format format = guess_format(path, data, len);
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    char now[32];
    utc_now(now, sizeof(now));

    wl_problems problems = {0};
    import_ctx c = {.wl = wl, .problems = &problems};
    c.nm = malloc(sizeof(*c.nm));
    if (c.nm == NULL) {
        free(data);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    st = exec(wl, "BEGIN IMMEDIATE", err);
    sqlite3_stmt *batch = NULL;
    if (st == HUELLA_OK &&
        (sqlite3_prepare_v2(wl->db,
                            "INSERT INTO batches (file_name, sha256, format, imported_at, entries)"
                            " VALUES (?, ?, ?, ?, 0)",
                            -1, &batch, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(wl->db,
                            "INSERT INTO entries (batch_id, category, source_agency, source_ref,"
                            " legal_basis, date_added, review_date, expiry_date, source_grade,"
                            " info_grade, birth_date, nationality, sex, remarks)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            -1, &c.entry, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(wl->db, "INSERT INTO names VALUES (?, ?, ?, ?)", -1, &c.name, NULL) !=
             SQLITE_OK ||
         sqlite3_prepare_v2(wl->db, "INSERT INTO documents VALUES (?, ?, ?, ?, ?)", -1, &c.doc,
                            NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(wl->db, "INSERT INTO biometrics VALUES (?, ?, ?, ?)", -1, &c.bio,
                            NULL) != SQLITE_OK))
        st = db_error(wl, err, "preparing the import");
    if (st == HUELLA_OK) {
        bind_text(batch, 1, base);
        bind_text(batch, 2, hex);
        bind_text(batch, 3, format == WL_FORMAT_JSON ? "json" : "csv");
        bind_text(batch, 4, now);
        if (!step_done(batch))
            st = db_error(wl, err, "recording the import batch");
        c.batch_id = sqlite3_last_insert_rowid(wl->db);
    }
    if (st == HUELLA_OK)
        st = wl_parse(data, len, format, &day, insert_entry, &c, &problems, err);
    if (st == HUELLA_OK && problems.n == 0 && c.entries == 0)
        wl_problem(&problems, "%s: no entries to import", base);
    if (st == HUELLA_OK && problems.n == 0) {
        char sql[96];
        snprintf(sql, sizeof(sql), "UPDATE batches SET entries = %zu WHERE id = %lld", c.entries,
                 (long long)c.batch_id);
        st = exec(wl, sql, err);
        if (st == HUELLA_OK)
            st = exec(wl, "COMMIT", err);
    }
    sqlite3_finalize(batch);
    sqlite3_finalize(c.entry);
    sqlite3_finalize(c.name);
    sqlite3_finalize(c.doc);
    sqlite3_finalize(c.bio);
    free(c.nm);
    free(data);
    if (st != HUELLA_OK || problems.n > 0)
        sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
    if (st != HUELLA_OK) {
        wl_problems_free(&problems);
        return st;
    }
    wl_index_free(wl->index);
    wl->index = NULL;
    res->n_problems = problems.n;
    res->problems = problems.text;
    if (problems.n > 0)
        return huella_error_set(
            err, HUELLA_E_INPUT, "%s: %zu problem%s, nothing imported; first: %.300s", path,
            problems.n, problems.n == 1 ? "" : "s", problems.text != NULL ? problems.text : "");
    res->batch_id = c.batch_id;
    res->entries = c.entries;
    return HUELLA_OK;
}

/* ---- Reading ------------------------------------------------------------------ */

huella_status huella_watchlist_count(huella_watchlist *wl, size_t *count, huella_error *err)
{
    sqlite3_stmt *s = NULL;
    *count = 0;
    if (sqlite3_prepare_v2(wl->db, "SELECT count(*) FROM entries", -1, &s, NULL) != SQLITE_OK)
        return db_error(wl, err, "counting entries");
    if (sqlite3_step(s) == SQLITE_ROW)
        *count = (size_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return HUELLA_OK;
}

huella_status huella_watchlist_ids(huella_watchlist *wl, int64_t **ids, size_t *n,
                                   huella_error *err)
{
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(wl->db, "SELECT id FROM entries ORDER BY id", -1, &s, NULL) != SQLITE_OK)
        return db_error(wl, err, "listing entries");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *t = realloc(*ids, cap * sizeof(*t));
            if (t == NULL) {
                sqlite3_finalize(s);
                free(*ids);
                *ids = NULL;
                *n = 0;
                return huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing entries");
            }
            *ids = t;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(*ids);
        *ids = NULL;
        *n = 0;
        return db_error(wl, err, "listing entries");
    }
    return HUELLA_OK;
}

static void column_copy(sqlite3_stmt *s, int i, char *dst, size_t size)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    snprintf(dst, size, "%s", v != NULL ? (const char *)v : "");
}

static void column_date(sqlite3_stmt *s, int i, huella_partial_date *d, bool *has)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    memset(d, 0, sizeof(*d));
    bool ok = v != NULL && huella_partial_date_parse((const char *)v, d, NULL) == HUELLA_OK;
    if (has != NULL)
        *has = ok;
}

huella_status huella_watchlist_get(huella_watchlist *wl, int64_t id, huella_watchlist_entry *e,
                                   huella_error *err)
{
    memset(e, 0, sizeof(*e));
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(wl->db,
                           "SELECT e.category, e.source_agency, e.source_ref, e.legal_basis,"
                           " e.date_added, e.review_date, e.expiry_date, e.source_grade,"
                           " e.info_grade, e.birth_date, e.nationality, e.sex, e.remarks,"
                           " b.id, b.file_name, b.sha256, b.format, b.imported_at, b.entries"
                           " FROM entries e JOIN batches b ON b.id = e.batch_id WHERE e.id = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return db_error(wl, err, "reading an entry");
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        if (rc == SQLITE_DONE)
            return huella_error_set(err, HUELLA_E_NOTFOUND, "%s/watchlist.db: no entry %lld",
                                    wl->dir, (long long)id);
        return db_error(wl, err, "reading an entry");
    }
    e->id = id;
    const unsigned char *cat = sqlite3_column_text(s, 0);
    e->category = cat != NULL ? huella_watchlist_category_parse((const char *)cat) : 0;
    column_copy(s, 1, e->source_agency, sizeof(e->source_agency));
    column_copy(s, 2, e->source_ref, sizeof(e->source_ref));
    column_copy(s, 3, e->legal_basis, sizeof(e->legal_basis));
    column_date(s, 4, &e->date_added, NULL);
    column_date(s, 5, &e->review_date, &e->has_review_date);
    column_date(s, 6, &e->expiry_date, NULL);
    const unsigned char *g = sqlite3_column_text(s, 7);
    e->source_grade = g != NULL ? (char)g[0] : '?';
    e->info_grade = sqlite3_column_int(s, 8);
    column_date(s, 9, &e->birth_date, &e->has_birth_date);
    char nat[32];
    column_copy(s, 10, nat, sizeof(nat));
    for (char *p = nat; *p != '\0' && e->n_nationalities < HUELLA_WL_MAX_NAT;) {
        size_t l = strcspn(p, "|");
        if (l == 3) {
            memcpy(e->nationalities[e->n_nationalities], p, 3);
            e->nationalities[e->n_nationalities++][3] = '\0';
        }
        p += l;
        if (*p == '|')
            p++;
    }
    const unsigned char *sex = sqlite3_column_text(s, 11);
    e->sex = sex != NULL ? (char)sex[0] : 0;
    column_copy(s, 12, e->remarks, sizeof(e->remarks));
    e->batch.id = sqlite3_column_int64(s, 13);
    column_copy(s, 14, e->batch.file_name, sizeof(e->batch.file_name));
    column_copy(s, 15, e->batch.sha256, sizeof(e->batch.sha256));
    column_copy(s, 16, e->batch.format, sizeof(e->batch.format));
    column_copy(s, 17, e->batch.imported_at, sizeof(e->batch.imported_at));
    e->batch.entries = sqlite3_column_int64(s, 18);
    sqlite3_finalize(s);

    static const char *const lists[] = {
        "SELECT name, NULL FROM names WHERE entry_id = ? ORDER BY ord",
        "SELECT number, issuing_state FROM documents WHERE entry_id = ? ORDER BY ord",
        "SELECT kind, ref FROM biometrics WHERE entry_id = ? ORDER BY ord"};
    for (size_t l = 0; l < 3; l++) {
        if (sqlite3_prepare_v2(wl->db, lists[l], -1, &s, NULL) != SQLITE_OK)
            return db_error(wl, err, "reading an entry");
        sqlite3_bind_int64(s, 1, id);
        while (sqlite3_step(s) == SQLITE_ROW) {
            if (l == 0 && e->n_names < HUELLA_WL_MAX_NAMES)
                column_copy(s, 0, e->names[e->n_names++], HUELLA_WL_MAX_NAME);
            if (l == 1 && e->n_documents < HUELLA_WL_MAX_DOCS) {
                huella_watchlist_document *d = &e->documents[e->n_documents++];
                column_copy(s, 0, d->number, sizeof(d->number));
                column_copy(s, 1, d->issuing_state, sizeof(d->issuing_state));
            }
            if (l == 2 && e->n_biometrics < HUELLA_WL_MAX_BIO) {
                huella_watchlist_biometric *b = &e->biometrics[e->n_biometrics++];
                column_copy(s, 0, b->kind, sizeof(b->kind));
                column_copy(s, 1, b->ref, sizeof(b->ref));
            }
        }
        sqlite3_finalize(s);
    }
    return HUELLA_OK;
}

/* ---- Expiry ---------------------------------------------------------------------- */

huella_status huella_watchlist_expire(huella_watchlist *wl, const char *today, size_t *purged,
                                      huella_error *err)
{
    *purged = 0;
    huella_partial_date day;
    huella_status st = wl_today(today, &day, err);
    if (st != HUELLA_OK)
        return st;
    char as_of[16], now[32];
    huella_partial_date_format(&day, as_of, sizeof(as_of));
    utc_now(now, sizeof(now));
    st = exec(wl, "BEGIN IMMEDIATE", err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *s = NULL;
    /* ISO dates compare as text: an entry is valid through its expiry day. */
    if (sqlite3_prepare_v2(wl->db, "DELETE FROM entries WHERE expiry_date < ?", -1, &s, NULL) !=
        SQLITE_OK) {
        sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
        return db_error(wl, err, "purging expired entries");
    }
    sqlite3_bind_text(s, 1, as_of, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        st = db_error(wl, err, "purging expired entries");
        sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    *purged = (size_t)sqlite3_changes(wl->db);
    if (sqlite3_prepare_v2(wl->db, "INSERT INTO purges (purged_at, as_of, entries) VALUES (?,?,?)",
                           -1, &s, NULL) != SQLITE_OK) {
        sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
        return db_error(wl, err, "recording the purge");
    }
    sqlite3_bind_text(s, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, as_of, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)*purged);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        st = db_error(wl, err, "recording the purge");
        sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    st = exec(wl, "COMMIT", err);
    if (st != HUELLA_OK) {
        sqlite3_exec(wl->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    wl_index_free(wl->index);
    wl->index = NULL;
    return HUELLA_OK;
}
