/*
 * chain.c - the canonical bytes of an audit record, the verifier and the
 * query behind `huella audit show` and the subject-access export.
 *
 * Contract: audit_hash_record defines the chain (format 1, described in
 * audit_internal.h); a released format is never changed, a new one gets a
 * new version byte.  huella_audit_verify reads the log read-only and
 * names the first record that does not verify, with the reason:
 *   - a gap in the sequence numbers: a record deleted;
 *   - a record whose hash is not the hash of its bytes: edited (or moved:
 *     the sequence number is part of the bytes);
 *   - a record whose previous hash is not the hash of the one before:
 *     inserted, or the one before edited and re-hashed;
 *   - a checkpoint whose signature fails, or whose hash is not its
 *     record's, or records after the newest checkpoint: forged or edited;
 *   - a chain shorter than the signed head file: truncated.
 */
#define _POSIX_C_SOURCE 200809L
#include "audit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const audit_field_names[AUDIT_NFIELDS] = {
    "user", "role", "agency", "purpose", "legal_basis", "operation", "outcome", "detail"};

static bool put_text(huella_buf *b, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n > UINT32_MAX)
        return false;
    return huella_buf_append_u32be(b, (uint32_t)n) && huella_buf_append(b, s, n);
}

huella_status audit_hash_record(const audit_record *r, huella_buf *canon,
                                uint8_t hash[AUDIT_HASH_BYTES], huella_error *err)
{
    uint64_t seq = (uint64_t)r->seq;
    bool ok = huella_buf_append_u8(canon, 1) &&
              huella_buf_append_u32be(canon, (uint32_t)(seq >> 32)) &&
              huella_buf_append_u32be(canon, (uint32_t)seq) && put_text(canon, r->at);
    for (int i = 0; ok && i < AUDIT_NFIELDS; i++)
        ok = put_text(canon, r->f[i]);
    ok = ok && put_text(canon, r->persons) && huella_buf_append(canon, r->prev, AUDIT_HASH_BYTES);
    if (!ok || !canon->ok)
        return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory hashing a record");
    crypto_generichash(hash, AUDIT_HASH_BYTES, canon->data, canon->len, NULL, 0);
    return HUELLA_OK;
}

void audit_checkpoint_message(int64_t seq, const uint8_t hash[AUDIT_HASH_BYTES],
                              uint8_t msg[AUDIT_CHECKPOINT_MSG_BYTES])
{
    size_t t = sizeof(AUDIT_CHECKPOINT_TAG) - 1;
    memcpy(msg, AUDIT_CHECKPOINT_TAG, t);
    huella_store_u32be(msg + t, (uint32_t)((uint64_t)seq >> 32));
    huella_store_u32be(msg + t + 4, (uint32_t)seq);
    memcpy(msg + t + 8, hash, AUDIT_HASH_BYTES);
}

void audit_prune_message(int64_t through, const uint8_t hash[AUDIT_HASH_BYTES],
                         uint8_t msg[AUDIT_PRUNE_MSG_BYTES])
{
    size_t t = sizeof(AUDIT_PRUNE_TAG) - 1;
    memcpy(msg, AUDIT_PRUNE_TAG, t);
    huella_store_u32be(msg + t, (uint32_t)((uint64_t)through >> 32));
    huella_store_u32be(msg + t + 4, (uint32_t)through);
    memcpy(msg + t + 8, hash, AUDIT_HASH_BYTES);
}

void audit_persons_text(const int64_t *ids, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len + 24 < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%" PRId64 ",", i == 0 ? "," : "", ids[i]);
}

void audit_now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)(ts.tv_nsec / 1000000));
}

/* ---- verification ---- */

typedef struct verdict {
    int64_t first; /* 0: none yet */
    char problem[256];
} verdict;

static void broken(verdict *v, int64_t seq, const char *fmt, ...) HUELLA_PRINTF(3, 4);
static void broken(verdict *v, int64_t seq, const char *fmt, ...)
{
    if (v->first != 0 && v->first <= seq)
        return;
    v->first = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
    va_end(ap);
}

/* KEY.head of a key path (KEY or KEY.pub). */
static huella_status head_path(const char *key_path, char **out, huella_error *err)
{
    size_t n = strlen(key_path);
    char *base = strdup(key_path);
    if (base == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    if (n > 4 && strcmp(base + n - 4, ".pub") == 0)
        base[n - 4] = '\0';
    huella_status st = audit_path(base, ".head", out, err);
    free(base);
    return st;
}

/* Read a head file: false when absent or malformed. */
static bool read_head(const char *path, int64_t *seq, uint8_t *hash, uint8_t *sig)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    uint8_t buf[AUDIT_HEAD_BYTES];
    bool ok = read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
    close(fd);
    if (!ok)
        return false;
    *seq = (int64_t)(((uint64_t)huella_load_u32be(buf) << 32) | huella_load_u32be(buf + 4));
    memcpy(hash, buf + 8, AUDIT_HASH_BYTES);
    memcpy(sig, buf + 8 + AUDIT_HASH_BYTES, crypto_sign_BYTES);
    return true;
}

/*
 * The newest prune anchor (retention): the chain restarts after record
 * *through from the signed hash.  A bad signature is a break (the chain
 * then starts at 1, so the missing records are reported as well).
 */
static huella_status read_anchor(sqlite3 *db, const uint8_t *pk, verdict *v, int64_t *through,
                                 uint8_t hash[AUDIT_HASH_BYTES], huella_error *err)
{
    *through = 0;
    memset(hash, 0, AUDIT_HASH_BYTES);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND"
                           " name = 'prune_anchor'",
                           -1, &q, NULL) != SQLITE_OK)
        return audit_sql_error(db, err, "reading the prune anchor");
    bool exists = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (!exists)
        return HUELLA_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT through, hash, sig FROM prune_anchor ORDER BY through DESC"
                           " LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        return audit_sql_error(db, err, "reading the prune anchor");
    if (sqlite3_step(q) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(q, 0);
        uint8_t msg[AUDIT_PRUNE_MSG_BYTES];
        if (t < 1 || sqlite3_column_bytes(q, 1) != AUDIT_HASH_BYTES ||
            sqlite3_column_bytes(q, 2) != crypto_sign_BYTES) {
            broken(v, t > 0 ? t : 1, "the prune anchor at record %" PRId64 " is malformed", t);
        } else {
            audit_prune_message(t, sqlite3_column_blob(q, 1), msg);
            if (crypto_sign_verify_detached(sqlite3_column_blob(q, 2), msg, sizeof(msg), pk) != 0)
                broken(v, t, "the prune anchor at record %" PRId64 " has a bad signature: forged",
                       t);
            else {
                *through = t;
                memcpy(hash, sqlite3_column_blob(q, 1), AUDIT_HASH_BYTES);
            }
        }
    }
    sqlite3_finalize(q);
    return HUELLA_OK;
}

static huella_status check_records(sqlite3 *db, verdict *v, int64_t pruned_through,
                                   const uint8_t anchor[AUDIT_HASH_BYTES], int64_t *n_records,
                                   int64_t *last, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, at, user, role, agency, purpose, legal_basis, operation,"
                           " outcome, detail, persons, prev, hash FROM record ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return audit_sql_error(db, err, "reading records");
    uint8_t chain[AUDIT_HASH_BYTES];
    memcpy(chain, anchor, AUDIT_HASH_BYTES);
    int64_t expected = pruned_through + 1;
    huella_buf canon;
    huella_buf_init(&canon);
    huella_status st = HUELLA_OK;
    int rc;
    *n_records = 0;
    *last = pruned_through;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        audit_record r;
        r.seq = sqlite3_column_int64(q, 0);
        r.at = (const char *)sqlite3_column_text(q, 1);
        for (int i = 0; i < AUDIT_NFIELDS; i++)
            r.f[i] = (const char *)sqlite3_column_text(q, 2 + i);
        r.persons = (const char *)sqlite3_column_text(q, 10);
        (*n_records)++;
        *last = r.seq;
        if (r.seq != expected)
            broken(v, expected,
                   "record %" PRId64 " is missing: deleted (the next one is %" PRId64 ")", expected,
                   r.seq);
        expected = r.seq + 1;
        if (sqlite3_column_bytes(q, 11) != AUDIT_HASH_BYTES ||
            sqlite3_column_bytes(q, 12) != AUDIT_HASH_BYTES) {
            broken(v, r.seq, "record %" PRId64 " has a malformed hash", r.seq);
            memset(chain, 0xff, sizeof(chain));
            continue;
        }
        memcpy(r.prev, sqlite3_column_blob(q, 11), AUDIT_HASH_BYTES);
        uint8_t hash[AUDIT_HASH_BYTES];
        canon.len = 0;
        st = audit_hash_record(&r, &canon, hash, err);
        if (st != HUELLA_OK)
            break;
        if (sodium_memcmp(hash, sqlite3_column_blob(q, 12), AUDIT_HASH_BYTES) != 0)
            broken(v, r.seq,
                   "record %" PRId64 " does not match its hash: edited, or moved from "
                   "another position",
                   r.seq);
        else if (sodium_memcmp(r.prev, chain, AUDIT_HASH_BYTES) != 0)
            broken(v, r.seq,
                   "record %" PRId64 " does not follow the record before it: inserted, "
                   "or the one before was edited and re-hashed",
                   r.seq);
        memcpy(chain, sqlite3_column_blob(q, 12), AUDIT_HASH_BYTES);
    }
    if (st == HUELLA_OK && rc != SQLITE_DONE)
        st = audit_sql_error(db, err, "reading records");
    huella_buf_free(&canon);
    sqlite3_finalize(q);
    return st;
}

static huella_status check_checkpoints(sqlite3 *db, const uint8_t *pk, int64_t last, verdict *v,
                                       int64_t *n_checkpoints, huella_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT c.seq, c.hash, c.sig, r.hash FROM checkpoint c"
                           " LEFT JOIN record r ON r.seq = c.seq ORDER BY c.seq",
                           -1, &q, NULL) != SQLITE_OK)
        return audit_sql_error(db, err, "reading checkpoints");
    int64_t newest = 0;
    *n_checkpoints = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(q, 0);
        (*n_checkpoints)++;
        newest = seq;
        if (sqlite3_column_bytes(q, 1) != AUDIT_HASH_BYTES ||
            sqlite3_column_bytes(q, 2) != crypto_sign_BYTES) {
            broken(v, seq, "checkpoint at record %" PRId64 " is malformed", seq);
            continue;
        }
        uint8_t msg[AUDIT_CHECKPOINT_MSG_BYTES];
        audit_checkpoint_message(seq, sqlite3_column_blob(q, 1), msg);
        if (crypto_sign_verify_detached(sqlite3_column_blob(q, 2), msg, sizeof(msg), pk) != 0)
            broken(v, seq, "checkpoint at record %" PRId64 " has a bad signature: forged", seq);
        else if (sqlite3_column_type(q, 3) == SQLITE_NULL)
            broken(v, seq, "record %" PRId64 " is missing: deleted (a signed checkpoint names it)",
                   seq);
        else if (sqlite3_column_bytes(q, 3) != AUDIT_HASH_BYTES ||
                 sodium_memcmp(sqlite3_column_blob(q, 3), sqlite3_column_blob(q, 1),
                               AUDIT_HASH_BYTES) != 0)
            broken(v, seq,
                   "record %" PRId64 " differs from its signed checkpoint: edited or replaced",
                   seq);
    }
    huella_status st = HUELLA_OK;
    if (rc != SQLITE_DONE)
        st = audit_sql_error(db, err, "reading checkpoints");
    sqlite3_finalize(q);
    if (st == HUELLA_OK && last > newest)
        broken(v, newest + 1,
               "record %" PRId64 " and later are not covered by a signed checkpoint: added "
               "without the signing key",
               newest + 1);
    return st;
}

huella_status huella_audit_verify(const char *dir, const char *key_path, char **report,
                                  int64_t *first_broken, huella_error *err)
{
    *report = NULL;
    *first_broken = 0;
    if (sodium_init() < 0)
        return huella_error_set(err, HUELLA_E_INTERNAL, "audit: libsodium failed to initialise");
    sqlite3 *db;
    huella_status st = audit_db_open(dir, false, &db, err);
    if (st != HUELLA_OK)
        return st;
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    char recorded[4096];
    const char *key_source = "the key file";
    if (key_path == NULL &&
        audit_config_get(db, "key_path", recorded, sizeof(recorded), NULL) == HUELLA_OK &&
        audit_read_public_key(recorded, pk, NULL) == HUELLA_OK) {
        key_path = recorded;
        key_source = "the key file recorded at init";
    }
    if (key_path != NULL) {
        st = audit_read_public_key(key_path, pk, err);
    } else {
        char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
        size_t n = 0;
        st = audit_config_get(db, "public_key", hex, sizeof(hex), err);
        if (st == HUELLA_OK &&
            (sodium_hex2bin(pk, sizeof(pk), hex, strlen(hex), NULL, &n, NULL) != 0 ||
             n != sizeof(pk)))
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "audit: the recorded public key is malformed");
        key_source = "the public key recorded in the database (weaker: give --key)";
    }
    verdict v = {0, ""};
    int64_t n_records = 0, last = 0, n_checkpoints = 0;
    /* The head file first, then one read transaction over the database:
     * the head is written after each commit, so read in this order it is
     * never ahead of what we see, also while huellad is appending. */
    char *hp = NULL;
    bool have_head = false;
    int64_t hseq = 0;
    uint8_t hhash[AUDIT_HASH_BYTES], hsig[crypto_sign_BYTES];
    if (st == HUELLA_OK && key_path != NULL) {
        st = head_path(key_path, &hp, err);
        have_head = st == HUELLA_OK && read_head(hp, &hseq, hhash, hsig);
    }
    if (st == HUELLA_OK && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        st = audit_sql_error(db, err, "starting a read");
    int64_t pruned_through = 0;
    uint8_t anchor[AUDIT_HASH_BYTES];
    if (st == HUELLA_OK)
        st = read_anchor(db, pk, &v, &pruned_through, anchor, err);
    if (st == HUELLA_OK)
        st = check_records(db, &v, pruned_through, anchor, &n_records, &last, err);
    if (st == HUELLA_OK)
        st = check_checkpoints(db, pk, last, &v, &n_checkpoints, err);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    bool head_checked = false;
    if (st == HUELLA_OK && key_path != NULL) {
        if (have_head) {
            uint8_t msg[AUDIT_CHECKPOINT_MSG_BYTES];
            audit_checkpoint_message(hseq, hhash, msg);
            head_checked = true;
            if (crypto_sign_verify_detached(hsig, msg, sizeof(msg), pk) != 0)
                broken(&v, hseq > 0 ? hseq : 1, "the head file %s has a bad signature", hp);
            else if (hseq > last)
                broken(&v, last + 1,
                       "the log ends at record %" PRId64 " but the signed head says %" PRId64
                       ": truncated",
                       last, hseq);
        }
    }
    free(hp);
    sqlite3_close(db);
    if (st != HUELLA_OK)
        return st;
    json_t *o =
        json_pack("{s:b, s:I, s:I, s:o, s:o, s:s, s:b, s:I}", "ok", v.first == 0, "records",
                  (json_int_t)n_records, "checkpoints", (json_int_t)n_checkpoints, "first_broken",
                  v.first ? json_integer(v.first) : json_null(), "problem",
                  v.first ? json_string(v.problem) : json_null(), "key", key_source, "head_checked",
                  head_checked, "pruned_through", (json_int_t)pruned_through);
    *report = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (*report == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    *first_broken = v.first;
    return HUELLA_OK;
}

/* ---- query ---- */

static json_t *persons_json(const char *text)
{
    json_t *a = json_array();
    const char *p = text;
    while (p != NULL && *p != '\0') {
        if (*p == ',') {
            p++;
            continue;
        }
        char *end;
        long long id = strtoll(p, &end, 10);
        if (end == p)
            break;
        json_array_append_new(a, json_integer(id));
        p = end;
    }
    return a;
}

huella_status huella_audit_query(const char *dir, const huella_audit_filter *f, char **json,
                                 huella_error *err)
{
    *json = NULL;
    sqlite3 *db;
    huella_status st = audit_db_open(dir, false, &db, err);
    if (st != HUELLA_OK)
        return st;
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT r.seq, r.at, r.user, r.role, r.agency, r.purpose, r.legal_basis,"
             " r.operation, r.outcome, r.detail, r.persons FROM record r%s WHERE 1"
             "%s%s%s%s ORDER BY r.seq%s",
             f->person ? " JOIN record_person p ON p.seq = r.seq AND p.person = ?1" : "",
             f->user ? " AND r.user = ?2" : "", f->purpose ? " AND r.purpose = ?3" : "",
             f->since ? " AND r.at >= ?4" : "", f->until ? " AND r.at < ?5" : "",
             f->limit ? " LIMIT ?6" : "");
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        st = audit_sql_error(db, err, "querying");
        sqlite3_close(db);
        return st;
    }
    if (f->person)
        sqlite3_bind_int64(q, 1, f->person);
    if (f->user)
        sqlite3_bind_text(q, 2, f->user, -1, SQLITE_STATIC);
    if (f->purpose)
        sqlite3_bind_text(q, 3, f->purpose, -1, SQLITE_STATIC);
    if (f->since)
        sqlite3_bind_text(q, 4, f->since, -1, SQLITE_STATIC);
    if (f->until)
        sqlite3_bind_text(q, 5, f->until, -1, SQLITE_STATIC);
    if (f->limit)
        sqlite3_bind_int64(q, 6, (sqlite3_int64)f->limit);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "seq", json_integer(sqlite3_column_int64(q, 0)));
        json_object_set_new(o, "at", json_string((const char *)sqlite3_column_text(q, 1)));
        for (int i = 0; i < AUDIT_NFIELDS; i++)
            json_object_set_new(o, audit_field_names[i],
                                json_string((const char *)sqlite3_column_text(q, 2 + i)));
        json_object_set_new(o, "persons", persons_json((const char *)sqlite3_column_text(q, 10)));
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE)
        st = audit_sql_error(db, err, "querying");
    sqlite3_finalize(q);
    sqlite3_close(db);
    if (st == HUELLA_OK) {
        *json = json_dumps(arr, JSON_COMPACT);
        if (*json == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "audit: out of memory");
    }
    json_decref(arr);
    return st;
}
