/*
 * gallery_snapshot.c - DIR/gallery.snap: every person's sealed gallery
 * form copied, in person order, into a file of its own.
 *
 * Why: a million ten-finger persons have 15.5 GB of forms, and in the
 * database their pages lie between the pages of the other tables, so a
 * load read them 4 KB at a time and read 20 GB from disk; the file of a
 * million persons does not fit in the page cache beside their gallery.
 * This file is read in 8 MB blocks with O_DIRECT: long sequential reads
 * that neither copy through nor fill the page cache.
 *
 * Contract:
 *   - The forms stay sealed under each person's key (the file holds no
 *     key: the loader unwraps each person's key from the database, so an
 *     erased person's form in an old file cannot be opened).
 *   - A header (4096 bytes, big-endian): magic, form format, the change
 *     sequence it covers, a random id, a key id (a keyed hash of the
 *     master key), entry count, data bytes, and a MAC (BLAKE2b keyed by a
 *     key derived from the master key) over, for every entry, its person,
 *     length and the sealed form's tag, then the header before the MAC
 *     (last, since the counts are known at the end).  Each form
 *     authenticates under its person's key and id; the MAC adds that no
 *     entry was removed, reordered or replaced by an older form.
 *   - Current only when the database's gallery_snapshot row names its id
 *     (written in the transaction that renames the file into place), the
 *     format and key id match; otherwise the load ignores it.  Persons in
 *     gallery_change after its sequence are read from the database.
 *   - Erasure removes the file and counts a discard in that transaction;
 *     a snapshot written across a discard is not installed.
 */
#define _GNU_SOURCE
#include "gallery_snapshot.h"

#include "gallery_form.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAP_NAME      "gallery.snap"
#define SNAP_TMP_NAME  "gallery.snap.tmp"
#define SNAP_LOCK_NAME "gallery.snap.lock" /* one writer at a time (flock) */
#define SNAP_MAGIC     "huella-gsnap-v1\n" /* 16 bytes, without the NUL */
#define SNAP_MAC_BYTES 32u
/* Header fields: magic 16, format 8, seq 8, id 16, key id 16, entries 8,
 * data bytes 8, then the MAC. */
#define SNAP_MAC_OFFSET 80u

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void snapshot_keys(const uint8_t *master, uint8_t mac_key[32], uint8_t key_id[16])
{
    static const char mac_label[] = "huella/1/gallery-snapshot/mac";
    static const char id_label[] = "huella/1/gallery-snapshot/key-id";
    crypto_generichash(mac_key, 32, (const uint8_t *)mac_label, sizeof(mac_label) - 1, master,
                       STORE_KEY_BYTES);
    crypto_generichash(key_id, 16, (const uint8_t *)id_label, sizeof(id_label) - 1, master,
                       STORE_KEY_BYTES);
}

static void mac_start(const uint8_t *master, crypto_generichash_state *st)
{
    uint8_t mac_key[32], key_id[16];
    snapshot_keys(master, mac_key, key_id);
    crypto_generichash_init(st, mac_key, sizeof(mac_key), SNAP_MAC_BYTES);
    sodium_memzero(mac_key, sizeof(mac_key));
}

huella_status store_snapshot_entry_len(store_snapshot *snap, const uint8_t head[SNAP_ENTRY_HEAD],
                                       uint32_t *len, huella_error *err)
{
    *len = huella_load_u32be(head + 8);
    if (*len > SNAP_MAX_ENTRY)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: entry %" PRIu64 " claims %" PRIu32
                                " bytes; remove it or write it again",
                                snap->path, snap->seen_entries, *len);
    return HUELLA_OK;
}

huella_status store_snapshot_take(store_snapshot *snap, const uint8_t head[SNAP_ENTRY_HEAD],
                                  const uint8_t *form, int64_t *person, uint32_t *len,
                                  huella_error *err)
{
    huella_status st = store_snapshot_entry_len(snap, head, len, err);
    if (st != HUELLA_OK)
        return st;
    *person = (int64_t)get_u64(head);
    if (*person <= snap->last_person)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: entry %" PRIu64 " (person %" PRId64
                                ") is out of order; remove it or write it again",
                                snap->path, snap->seen_entries, *person);
    if (*len > 0 && *len < STORE_SEAL_OVERHEAD)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: entry %" PRIu64 " has a form of %" PRIu32
                                " bytes; remove it or write it again",
                                snap->path, snap->seen_entries, *len);
    snap->last_person = *person;
    crypto_generichash_update(&snap->mac_state, head, SNAP_ENTRY_HEAD);
    if (*len >= STORE_TAG_BYTES)
        crypto_generichash_update(&snap->mac_state, form + *len - STORE_TAG_BYTES, STORE_TAG_BYTES);
    snap->seen_entries++;
    snap->seen_bytes += SNAP_ENTRY_HEAD + *len;
    return HUELLA_OK;
}

/* The row naming the current snapshot. */
typedef struct snap_row {
    uint8_t id[16];
    bool has_id; /* false: none is current */
    uint64_t seq;
    int64_t discards;
} snap_row;

static huella_status current_row(huella_store *s, snap_row *r, huella_error *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT snap_id, seq, discards FROM gallery_snapshot WHERE id = 1", -1,
                           &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "reading the gallery snapshot's record");
    huella_status st = HUELLA_OK;
    memset(r, 0, sizeof(*r));
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(q, 0) == 16) {
            memcpy(r->id, sqlite3_column_blob(q, 0), 16);
            r->has_id = true;
        }
        r->seq = (uint64_t)sqlite3_column_int64(q, 1);
        r->discards = sqlite3_column_int64(q, 2);
    } else if (rc != SQLITE_DONE) {
        st = store_sql_error(s, err, "reading the gallery snapshot's record");
    }
    sqlite3_finalize(q);
    return st;
}

static void snap_reset(store_snapshot *snap)
{
    memset(snap, 0, sizeof(*snap));
    snap->fd = -1;
}

void store_snapshot_close(store_snapshot *snap)
{
    if (snap->fd >= 0)
        close(snap->fd);
    free(snap->path);
    snap_reset(snap);
}

huella_status store_snapshot_open(huella_store *s, uint64_t format, store_snapshot *snap,
                                  bool *usable, char *why, size_t why_size, huella_error *err)
{
    snap_reset(snap);
    *usable = false;
    huella_status st = store_path(s->dir, SNAP_NAME, &snap->path, err);
    if (st != HUELLA_OK)
        return st;
    snap_row row;
    st = current_row(s, &row, err);
    if (st != HUELLA_OK || !row.has_id) {
        snprintf(why, why_size, "none written (huella db gallery-snapshot writes it)");
        store_snapshot_close(snap);
        return st;
    }
    snap->fd = open(snap->path, O_RDONLY | O_CLOEXEC | O_DIRECT);
    snap->direct = snap->fd >= 0;
    if (snap->fd < 0 && errno == EINVAL) /* a file system without direct I/O */
        snap->fd = open(snap->path, O_RDONLY | O_CLOEXEC);
    if (snap->fd < 0) {
        int e = errno;
        snprintf(why, why_size, "%s: %s", SNAP_NAME, strerror(e));
        if (e != ENOENT)
            st = huella_error_set(err, HUELLA_E_IO, "%s: cannot open: %s", snap->path, strerror(e));
        store_snapshot_close(snap);
        return st;
    }
    if (!snap->direct)
        posix_fadvise(snap->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint8_t *h = aligned_alloc(SNAP_ALIGN, SNAP_HEADER_BYTES);
    if (h == NULL) {
        store_snapshot_close(snap);
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery snapshot: out of memory");
    }
    size_t got = 0;
    st = store_snapshot_read(snap, 0, h, SNAP_HEADER_BYTES, &got, err);
    uint8_t mac_key[32], key_id[16];
    snapshot_keys(s->master, mac_key, key_id);
    sodium_memzero(mac_key, sizeof(mac_key));
    if (st != HUELLA_OK) {
        /* reported below */
    } else if (got < SNAP_HEADER_BYTES || memcmp(h, SNAP_MAGIC, 16) != 0) {
        snprintf(why, why_size, "%s is not a gallery snapshot", SNAP_NAME);
    } else if (get_u64(h + 16) != format) {
        snprintf(why, why_size, "stale: written for gallery forms of another format");
    } else if (sodium_memcmp(h + 48, key_id, 16) != 0) {
        snprintf(why, why_size, "stale: written under another master key");
    } else if (sodium_memcmp(h + 32, row.id, 16) != 0 || get_u64(h + 24) != row.seq) {
        snprintf(why, why_size, "not the store's current snapshot");
    } else {
        snap->format = format;
        snap->seq = row.seq;
        memcpy(snap->id, h + 32, 16);
        snap->entries = get_u64(h + 64);
        snap->data_bytes = get_u64(h + 72);
        memcpy(snap->header, h, SNAP_MAC_OFFSET);
        memcpy(snap->mac, h + SNAP_MAC_OFFSET, SNAP_MAC_BYTES);
        mac_start(s->master, &snap->mac_state);
        *usable = true;
    }
    free(h);
    if (!*usable)
        store_snapshot_close(snap);
    return st;
}

huella_status store_snapshot_read(store_snapshot *snap, uint64_t offset, uint8_t *buf, size_t len,
                                  size_t *got, huella_error *err)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = pread(snap->fd, buf + *got, len - *got, (off_t)(offset + *got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return huella_error_set(err, HUELLA_E_IO, "%s: read failed at byte %" PRIu64 ": %s",
                                    snap->path, offset + *got, strerror(errno));
        if (n == 0)
            break;
        *got += (size_t)n;
        /* Direct reads come back whole blocks except at the end. */
        if (snap->direct && *got % SNAP_ALIGN != 0)
            break;
    }
    if (!snap->direct && *got > 0) /* what was read is not read again */
        posix_fadvise(snap->fd, (off_t)offset, (off_t)*got, POSIX_FADV_DONTNEED);
    return HUELLA_OK;
}

huella_status store_snapshot_verify(store_snapshot *snap, huella_error *err)
{
    uint8_t mac[SNAP_MAC_BYTES];
    crypto_generichash_update(&snap->mac_state, snap->header, SNAP_MAC_OFFSET);
    crypto_generichash_final(&snap->mac_state, mac, sizeof(mac));
    if (snap->seen_entries != snap->entries || snap->seen_bytes != snap->data_bytes)
        return huella_error_set(
            err, HUELLA_E_INPUT,
            "%s: holds %" PRIu64 " entries in %" PRIu64 " bytes, its header says %" PRIu64
            " in %" PRIu64 "; remove it or write it again (huella db gallery-snapshot)",
            snap->path, snap->seen_entries, snap->seen_bytes, snap->entries, snap->data_bytes);
    if (sodium_memcmp(mac, snap->mac, sizeof(mac)) != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: does not authenticate (entries removed, reordered or "
                                "replaced); remove it or write it again (huella db "
                                "gallery-snapshot)",
                                snap->path);
    return HUELLA_OK;
}

huella_status store_snapshot_each(store_snapshot *snap, store_snapshot_cb cb, void *ctx,
                                  huella_error *err)
{
    /* room for a cut entry, aligned, then a block (a multiple of the
     * alignment, as aligned_alloc wants) */
    size_t cap = SNAP_MAX_ENTRY + 2 * SNAP_ALIGN + SNAP_BLOCK;
    uint8_t *buf = aligned_alloc(SNAP_ALIGN, cap);
    if (buf == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery snapshot: out of memory");
    uint64_t offset = SNAP_HEADER_BYTES;
    size_t left = 0; /* bytes of a cut entry, moved in front of the next block */
    huella_status st = HUELLA_OK;
    for (bool eof = false; !eof && st == HUELLA_OK;) {
        size_t pre = (left + SNAP_ALIGN - 1) / SNAP_ALIGN * SNAP_ALIGN, got = 0;
        st = store_snapshot_read(snap, offset, buf + pre, SNAP_BLOCK, &got, err);
        offset += got;
        eof = got < SNAP_BLOCK;
        const uint8_t *p = buf + pre - left, *end = buf + pre + got;
        while (st == HUELLA_OK && (size_t)(end - p) >= SNAP_ENTRY_HEAD) {
            uint32_t len;
            int64_t person;
            st = store_snapshot_entry_len(snap, p, &len, err);
            if (st != HUELLA_OK || (size_t)(end - p) - SNAP_ENTRY_HEAD < len)
                break;
            st = store_snapshot_take(snap, p, p + SNAP_ENTRY_HEAD, &person, &len, err);
            if (st == HUELLA_OK)
                st = cb(ctx, person, p + SNAP_ENTRY_HEAD, len, err);
            p += SNAP_ENTRY_HEAD + len;
        }
        left = (size_t)(end - p);
        if (st == HUELLA_OK && eof && left > 0)
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "%s: ends inside entry %" PRIu64 "; remove it or write it again",
                                  snap->path, snap->seen_entries);
        if (st == HUELLA_OK && !eof) {
            size_t next_pre = (left + SNAP_ALIGN - 1) / SNAP_ALIGN * SNAP_ALIGN;
            memmove(buf + next_pre - left, p, left);
        }
    }
    free(buf);
    if (st == HUELLA_OK)
        st = store_snapshot_verify(snap, err);
    return st;
}

huella_status store_snapshot_changed(huella_store *s, int64_t **ids, size_t *n, huella_error *err)
{
    /* the recorded sequence: the open snapshot's (store_snapshot_open
     * checked them equal in the caller's transaction) */
    return store_list_ids(s,
                          "SELECT DISTINCT person_id FROM gallery_change WHERE seq >"
                          " (SELECT seq FROM gallery_snapshot WHERE id = 1) ORDER BY person_id",
                          0, ids, n, err);
}

bool store_ids_contain(const int64_t *ids, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == x;
}

huella_status store_snapshot_discard(huella_store *s, huella_error *err)
{
    huella_status st = store_exec(
        s, "UPDATE gallery_snapshot SET snap_id = NULL, discards = discards + 1 WHERE id = 1", err);
    /* The file, and one being written or left by a crash: a writer whose
     * file goes away here is not installed (the discard count moved). */
    static const char *const names[2] = {SNAP_NAME, SNAP_TMP_NAME};
    for (int i = 0; i < 2 && st == HUELLA_OK; i++) {
        char *path = NULL;
        st = store_path(s->dir, names[i], &path, err);
        if (st == HUELLA_OK && unlink(path) != 0 && errno != ENOENT)
            st = huella_error_set(err, HUELLA_E_IO,
                                  "%s: cannot remove the gallery snapshot, which holds sealed "
                                  "forms of the erased: %s",
                                  path, strerror(errno));
        free(path);
    }
    return st;
}

/* ---- writing ---- */

typedef struct writer {
    int fd;
    const char *path;
    uint8_t *buf;
    size_t used;
    uint64_t written; /* bytes handed to the file so far */
} writer;

/* n bytes at offset off of the file, whatever the partial writes. */
static huella_status write_at(const writer *w, const uint8_t *p, size_t n, uint64_t off,
                              huella_error *err)
{
    while (n > 0) {
        ssize_t k = pwrite(w->fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return huella_error_set(err, HUELLA_E_IO, "%s: write failed: %s", w->path,
                                    strerror(errno));
        p += k;
        off += (uint64_t)k;
        n -= (size_t)k;
    }
    return HUELLA_OK;
}

/* n bytes after what was written so far. */
static huella_status write_all(writer *w, const uint8_t *p, size_t n, huella_error *err)
{
    huella_status st = write_at(w, p, n, w->written, err);
    if (st == HUELLA_OK)
        w->written += n;
    return st;
}

static huella_status put(writer *w, const uint8_t *p, size_t n, huella_error *err)
{
    if (w->used + n > SNAP_BLOCK) {
        huella_status st = write_all(w, w->buf, w->used, err);
        w->used = 0;
        if (st != HUELLA_OK)
            return st;
    }
    if (n > SNAP_BLOCK)
        return write_all(w, p, n, err);
    memcpy(w->buf + w->used, p, n);
    w->used += n;
    return HUELLA_OK;
}

/* One read transaction: the change sequence, the discard count and every
 * person's entry, written after the placeholder header. */
static huella_status write_entries(huella_store *s, writer *w, uint64_t format, uint8_t *header,
                                   crypto_generichash_state *mac, int64_t *discards,
                                   huella_gallery_snapshot_stats *stats, huella_error *err)
{
    huella_status st = store_exec(s, "BEGIN", err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *q = NULL;
    uint64_t seq = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT seq FROM sqlite_sequence WHERE name = 'gallery_change'",
                           -1, &q, NULL) != SQLITE_OK)
        st = store_sql_error(s, err, "reading the gallery change sequence");
    else if (sqlite3_step(q) == SQLITE_ROW)
        seq = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    snap_row row = {0};
    if (st == HUELLA_OK)
        st = current_row(s, &row, err);
    *discards = row.discards;
    put_u64(header + 24, seq);
    if (st == HUELLA_OK &&
        sqlite3_prepare_v2(s->db,
                           "SELECT p.id, f.format, f.form FROM person p LEFT JOIN gallery_form f"
                           " ON f.person_id = p.id ORDER BY p.id",
                           -1, &q, NULL) != SQLITE_OK)
        st = store_sql_error(s, err, "reading gallery forms");
    int rc = SQLITE_DONE;
    if (st == HUELLA_OK) {
        uint8_t zero[SNAP_HEADER_BYTES] = {0};
        st = put(w, zero, sizeof(zero), err);
    }
    while (st == HUELLA_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t person = sqlite3_column_int64(q, 0);
        const uint8_t *form = sqlite3_column_blob(q, 2);
        size_t len = (size_t)sqlite3_column_bytes(q, 2);
        bool current = sqlite3_column_type(q, 1) == SQLITE_INTEGER &&
                       (uint64_t)sqlite3_column_int64(q, 1) == format &&
                       len >= STORE_SEAL_OVERHEAD && len <= SNAP_MAX_ENTRY;
        uint32_t n = current ? (uint32_t)len : 0;
        uint8_t head[SNAP_ENTRY_HEAD];
        put_u64(head, (uint64_t)person);
        huella_store_u32be(head + 8, n);
        crypto_generichash_update(mac, head, sizeof(head));
        if (n >= STORE_TAG_BYTES)
            crypto_generichash_update(mac, form + n - STORE_TAG_BYTES, STORE_TAG_BYTES);
        st = put(w, head, sizeof(head), err);
        if (st == HUELLA_OK && n > 0)
            st = put(w, form, n, err);
        stats->persons++;
        stats->forms += n > 0;
    }
    if (st == HUELLA_OK && rc != SQLITE_DONE)
        st = store_sql_error(s, err, "reading gallery forms");
    sqlite3_finalize(q);
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (st == HUELLA_OK && w->used > 0)
        st = write_all(w, w->buf, w->used, err);
    w->used = 0;
    return st;
}

/* In one write transaction: still the newest and no erasure since?  Then
 * name it, trim the change log and rename it into place. */
static huella_status install(huella_store *s, const char *tmp, const char *final,
                             const uint8_t *header, int64_t discards, bool *installed, char *note,
                             size_t note_size, huella_error *err)
{
    *installed = false;
    huella_status st = store_exec(s, "BEGIN IMMEDIATE", err);
    if (st != HUELLA_OK)
        return st;
    snap_row row;
    st = current_row(s, &row, err);
    uint64_t seq = get_u64(header + 24);
    bool current = st == HUELLA_OK && row.discards == discards && (!row.has_id || row.seq <= seq);
    if (st == HUELLA_OK && !current)
        snprintf(note, note_size, "%s",
                 row.discards != discards
                     ? "an erasure happened while it was written (it holds their form)"
                     : "a newer snapshot was installed meanwhile");
    sqlite3_stmt *q = NULL;
    if (current) {
        if (sqlite3_prepare_v2(s->db,
                               "UPDATE gallery_snapshot SET snap_id = ?1, seq = ?2 WHERE id = 1",
                               -1, &q, NULL) != SQLITE_OK)
            st = store_sql_error(s, err, "recording the gallery snapshot");
        if (st == HUELLA_OK) {
            sqlite3_bind_blob(q, 1, header + 32, 16, SQLITE_STATIC);
            sqlite3_bind_int64(q, 2, (int64_t)seq);
            if (sqlite3_step(q) != SQLITE_DONE)
                st = store_sql_error(s, err, "recording the gallery snapshot");
        }
        sqlite3_finalize(q);
        q = NULL;
        if (st == HUELLA_OK &&
            sqlite3_prepare_v2(s->db, "DELETE FROM gallery_change WHERE seq <= ?1", -1, &q, NULL) !=
                SQLITE_OK)
            st = store_sql_error(s, err, "trimming the gallery change log");
        if (st == HUELLA_OK) {
            sqlite3_bind_int64(q, 1, (int64_t)seq);
            if (sqlite3_step(q) != SQLITE_DONE)
                st = store_sql_error(s, err, "trimming the gallery change log");
        }
        sqlite3_finalize(q);
        if (st == HUELLA_OK && rename(tmp, final) != 0)
            st = huella_error_set(err, HUELLA_E_IO, "%s: cannot rename to %s: %s", tmp, final,
                                  strerror(errno));
        bool renamed = st == HUELLA_OK;
        if (st == HUELLA_OK)
            st = store_sync_dir(s->dir, err);
        if (st == HUELLA_OK)
            st = store_exec(s, "COMMIT", err);
        if (st != HUELLA_OK && renamed)
            unlink(final); /* not named by the database: never read; do not keep it */
        *installed = st == HUELLA_OK;
    } else if (st == HUELLA_OK) {
        st = store_exec(s, "COMMIT", err);
    }
    if (st != HUELLA_OK)
        huella_store_rollback(s);
    return st;
}

/* The header at offset 0, then the file's data on disk. */
static huella_status finish_file(writer *w, const uint8_t *header, huella_error *err)
{
    huella_status st = write_at(w, header, SNAP_HEADER_BYTES, 0, err);
    if (st != HUELLA_OK)
        return st;
    if (fdatasync(w->fd) != 0)
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot sync: %s", w->path, strerror(errno));
    /* Written and on disk: its pages need not stay in the cache. */
    posix_fadvise(w->fd, 0, 0, POSIX_FADV_DONTNEED);
    return HUELLA_OK;
}

huella_status huella_store_gallery_snapshot(huella_store *s, huella_gallery_snapshot_stats *stats,
                                            huella_error *err)
{
    huella_gallery_snapshot_stats local;
    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    uint64_t t0 = huella_now_ns();
    if (!sqlite3_get_autocommit(s->db))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "gallery snapshot: not allowed inside a transaction");
    uint64_t format = store_form_format(s);
    char *tmp = NULL, *final = NULL, *lock = NULL;
    huella_status st = store_path(s->dir, SNAP_TMP_NAME, &tmp, err);
    if (st == HUELLA_OK)
        st = store_path(s->dir, SNAP_NAME, &final, err);
    if (st == HUELLA_OK)
        st = store_path(s->dir, SNAP_LOCK_NAME, &lock, err);
    /* Two writers (huellad's timer, an operator) would share the
     * temporary file: the second one leaves it to the first.  The lock goes
     * with the process, also when it dies. */
    int lock_fd = -1;
    if (st == HUELLA_OK) {
        lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lock_fd < 0)
            st = huella_error_set(err, HUELLA_E_IO, "%s: cannot open: %s", lock, strerror(errno));
        else if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK)
                snprintf(stats->note, sizeof(stats->note),
                         "another process is writing the gallery snapshot");
            else
                st = huella_error_set(err, HUELLA_E_IO, "%s: cannot lock: %s", lock,
                                      strerror(errno));
            close(lock_fd);
            lock_fd = -1;
            free(tmp);
            free(final);
            free(lock);
            return st;
        }
    }
    writer w = {.fd = -1, .path = tmp};
    if (st == HUELLA_OK) {
        w.buf = malloc(SNAP_BLOCK);
        if (w.buf == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "gallery snapshot: out of memory");
    }
    if (st == HUELLA_OK) {
        w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (w.fd < 0)
            st = huella_error_set(err, HUELLA_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    uint8_t header[SNAP_HEADER_BYTES] = {0};
    memcpy(header, SNAP_MAGIC, 16);
    put_u64(header + 16, format);
    randombytes_buf(header + 32, 16);
    uint8_t mac_key[32];
    snapshot_keys(s->master, mac_key, header + 48);
    sodium_memzero(mac_key, sizeof(mac_key));
    crypto_generichash_state mac;
    mac_start(s->master, &mac);
    int64_t discards = 0;
    if (st == HUELLA_OK)
        st = write_entries(s, &w, format, header, &mac, &discards, stats, err);
    if (st == HUELLA_OK) {
        put_u64(header + 64, stats->persons);
        put_u64(header + 72, w.written - SNAP_HEADER_BYTES);
        crypto_generichash_update(&mac, header, SNAP_MAC_OFFSET);
        crypto_generichash_final(&mac, header + SNAP_MAC_OFFSET, SNAP_MAC_BYTES);
        stats->bytes = w.written;
        st = finish_file(&w, header, err);
    }
    free(w.buf);
    if (w.fd >= 0 && close(w.fd) != 0 && st == HUELLA_OK)
        st = huella_error_set(err, HUELLA_E_IO, "%s: cannot close: %s", tmp, strerror(errno));
    if (st == HUELLA_OK)
        st = install(s, tmp, final, header, discards, &stats->installed, stats->note,
                     sizeof(stats->note), err);
    if (w.fd >= 0 && !stats->installed)
        unlink(tmp);
    if (lock_fd >= 0)
        close(lock_fd); /* releases the lock */
    free(tmp);
    free(final);
    free(lock);
    stats->seconds = (double)(huella_now_ns() - t0) / 1e9;
    return st;
}

huella_status huella_store_gallery_snapshot_due(huella_store *s, bool *due, size_t *changes,
                                                huella_error *err)
{
    *due = false;
    if (changes != NULL)
        *changes = 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT count(*) FROM gallery_change),"
                           " EXISTS (SELECT 1 FROM person)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "reading the gallery change log");
    huella_status st = HUELLA_OK;
    int64_t n = 0;
    bool persons = false;
    if (sqlite3_step(q) == SQLITE_ROW) {
        n = sqlite3_column_int64(q, 0);
        persons = sqlite3_column_int(q, 1) != 0;
    } else {
        st = store_sql_error(s, err, "reading the gallery change log");
    }
    sqlite3_finalize(q);
    /* not used by a load (none, missing, another format or key, damaged
     * header): due as well */
    store_snapshot snap;
    bool usable = false;
    char why[128];
    if (st == HUELLA_OK)
        st = store_snapshot_open(s, store_form_format(s), &snap, &usable, why, sizeof(why), err);
    if (usable)
        store_snapshot_close(&snap);
    if (st == HUELLA_OK) {
        *due = persons && (!usable || n > 0);
        if (changes != NULL)
            *changes = (size_t)n;
    }
    return st;
}
