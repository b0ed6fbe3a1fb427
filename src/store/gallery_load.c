/*
 * gallery_load.c - fill a gallery from the store (huella_gallery_load_store).
 *
 * Contract: the calling thread reads, in one read transaction (one
 * consistent view), first every current gallery form in rowid
 * (person) order, with its person's wrapped key, then, for the persons
 * whose form is missing or stale (gallery_form.c), their sealed template
 * containers.  When the store's current gallery snapshot exists
 * (gallery_snapshot.c), the forms come from it instead: read in blocks
 * into the batches themselves, merged with the store's persons and their
 * keys, and every person it cannot give (changed since, not in it, no
 * form in it) read from the database afterwards; its MAC is checked
 * before the load returns.  It only copies ciphertext into batches; full batches go
 * through a bounded queue to worker threads that unwrap the person's key,
 * decrypt (one blob per person with a form, into a buffer each worker
 * reuses) and add to the gallery: a person's fingers are laid out in the
 * gallery's own chunks in one call (huella_gallery_add_fingers_serialized),
 * the iris codes and the face template copied; the gallery is sized for
 * the store's persons before the first is added; a stale person's
 * templates are decoded and prepared, which is the slow path the forms
 * exist to avoid.  Plaintext is wiped from the workers' buffers before
 * they are freed; batches hold ciphertext only.  The first error stops
 * the load and is returned.
 */
#define _POSIX_C_SOURCE 200809L
#include "../base/pages.h"
#include "gallery_form.h"
#include "gallery_snapshot.h"
#include "huella/dedup.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_PERSONS 256
#define BATCH_BYTES   (4u * 1024u * 1024u)

enum { ITEM_FORM, ITEM_TEMPLATES };

typedef struct item {
    int64_t person;
    int kind;
    size_t off, len;    /* into the batch's buffer */
    unsigned n_samples; /* ITEM_TEMPLATES */
    uint8_t wrapped_key[STORE_WRAPPED_KEY_BYTES];
} item;

/* An ITEM_TEMPLATES payload: n_samples of this header then the sealed
 * container. */
typedef struct sample_head {
    int64_t sample;
    int modality;
    unsigned position;
    size_t len;
} sample_head;

/* A batch's buffer is whole pages (page-aligned, as a direct read of the
 * snapshot needs); items grow for the snapshot's blocks. */
typedef struct batch {
    size_t n, items_cap, used, cap;
    item *items;
    uint8_t *buf;
} batch;

typedef struct loader {
    huella_store *s;
    huella_gallery *g;
    pthread_mutex_t mu;
    pthread_cond_t has_work, has_free;
    batch **work, **free_list;
    size_t n_batches, n_work, work_head, n_free;
    bool done, failed;
    huella_status st;
    huella_error err;
    batch *cur;
    size_t counts[HUELLA_GALLERY_MODALITIES];
    size_t from_forms, rebuilt, from_snapshot;
} loader;

static huella_status load_item(loader *L, const batch *b, const item *it, uint8_t **buf,
                               size_t *cap, size_t counts[HUELLA_GALLERY_MODALITIES],
                               huella_error *e)
{
    uint8_t key[STORE_KEY_BYTES];
    huella_status st =
        store_key_unwrap(L->s, it->person, it->wrapped_key, STORE_WRAPPED_KEY_BYTES, key, e);
    size_t len = 0;
    if (st == HUELLA_OK && it->kind == ITEM_FORM) {
        store_ad ad;
        store_ad_make(&ad, "gallery", it->person, it->person);
        st = store_unseal(key, &ad, b->buf + it->off, it->len, buf, cap, &len, e);
        if (st == HUELLA_OK)
            st = store_form_apply(*buf, len, L->g, it->person, counts, e);
    } else if (st == HUELLA_OK) {
        store_form f;
        store_form_init(&f);
        const uint8_t *p = b->buf + it->off;
        for (unsigned k = 0; k < it->n_samples && st == HUELLA_OK; k++) {
            sample_head h;
            memcpy(&h, p, sizeof(h));
            p += sizeof(h);
            store_ad ad;
            store_ad_make(&ad, "templates", it->person, h.sample);
            st = store_unseal(key, &ad, p, h.len, buf, cap, &len, e);
            if (st == HUELLA_OK)
                st = store_form_add_sample(&f, h.sample, h.modality, h.position, *buf, len, e);
            if (st != HUELLA_OK)
                huella_error_prefix(e, "sample %" PRId64 ": ", h.sample);
            p += h.len;
        }
        if (st == HUELLA_OK)
            st = store_form_apply(f.b.data, f.b.len, L->g, it->person, counts, e);
        store_form_free(&f);
    }
    sodium_memzero(key, sizeof(key));
    if (*buf != NULL && len > 0)
        sodium_memzero(*buf, len);
    if (st != HUELLA_OK)
        huella_error_prefix(e, "loading person %" PRId64 ": ", it->person);
    return st;
}

static void *worker(void *arg)
{
    loader *L = arg;
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (;;) {
        pthread_mutex_lock(&L->mu);
        while (L->n_work == 0 && !L->done)
            pthread_cond_wait(&L->has_work, &L->mu);
        if (L->n_work == 0) {
            pthread_mutex_unlock(&L->mu);
            break;
        }
        batch *b = L->work[L->work_head];
        L->work_head = (L->work_head + 1) % L->n_batches;
        L->n_work--;
        bool skip = L->failed;
        pthread_mutex_unlock(&L->mu);
        huella_error e;
        huella_status st = HUELLA_OK;
        size_t counts[HUELLA_GALLERY_MODALITIES] = {0}, forms = 0, rebuilt = 0;
        for (size_t i = 0; i < b->n && !skip && st == HUELLA_OK; i++) {
            st = load_item(L, b, &b->items[i], &buf, &cap, counts, &e);
            forms += b->items[i].kind == ITEM_FORM;
            rebuilt += b->items[i].kind == ITEM_TEMPLATES;
        }
        b->n = b->used = 0;
        pthread_mutex_lock(&L->mu);
        for (int m = 0; m < HUELLA_GALLERY_MODALITIES; m++)
            L->counts[m] += counts[m];
        L->from_forms += forms;
        L->rebuilt += rebuilt;
        if (st != HUELLA_OK && !L->failed) {
            L->failed = true;
            L->st = st;
            L->err = e;
        }
        L->free_list[L->n_free++] = b;
        pthread_cond_signal(&L->has_free);
        pthread_mutex_unlock(&L->mu);
    }
    store_wipe_free(buf, cap);
    return NULL;
}

/* Hand b (if it holds anything) to the workers. */
static void give_work(loader *L, batch *b)
{
    pthread_mutex_lock(&L->mu);
    if (b->n > 0) {
        L->work[(L->work_head + L->n_work) % L->n_batches] = b;
        L->n_work++;
        pthread_cond_signal(&L->has_work);
    } else {
        b->used = 0;
        L->free_list[L->n_free++] = b;
        pthread_cond_signal(&L->has_free);
    }
    pthread_mutex_unlock(&L->mu);
}

/* A free batch (waiting for the workers to return one); the first
 * worker's failure instead. */
static huella_status take_free(loader *L, batch **out)
{
    pthread_mutex_lock(&L->mu);
    while (L->n_free == 0)
        pthread_cond_wait(&L->has_free, &L->mu);
    *out = L->free_list[--L->n_free];
    huella_status st = L->failed ? L->st : HUELLA_OK;
    pthread_mutex_unlock(&L->mu);
    return st;
}

/* Hand the current batch to the workers and take a free one. */
static huella_status flush(loader *L)
{
    batch *b = L->cur;
    L->cur = NULL;
    if (b != NULL)
        give_work(L, b);
    return take_free(L, &L->cur);
}

/* A batch buffer of at least cap bytes, keeping its first `keep`. */
static huella_status batch_grow(batch *b, size_t cap, size_t keep, huella_error *err)
{
    if (b->cap >= cap)
        return HUELLA_OK;
    uint8_t *nb = huella_pages_alloc(cap);
    if (nb == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery load: out of memory");
    if (keep > 0)
        memcpy(nb, b->buf, keep);
    if (b->buf != NULL)
        huella_pages_free(b->buf, b->cap);
    b->buf = nb;
    b->cap = cap;
    return HUELLA_OK;
}

/* The next item of b, its person and wrapped key set. */
static huella_status batch_item(batch *b, int64_t person, const void *wrapped, int kind, item **out,
                                huella_error *err)
{
    if (b->n == b->items_cap) {
        size_t cap = b->items_cap ? 2 * b->items_cap : BATCH_PERSONS;
        item *ni = realloc(b->items, cap * sizeof(*ni));
        if (ni == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "gallery load: out of memory");
        b->items = ni;
        b->items_cap = cap;
    }
    item *it = &b->items[b->n++];
    it->person = person;
    it->kind = kind;
    it->off = b->used;
    it->len = 0;
    it->n_samples = 0;
    memcpy(it->wrapped_key, wrapped, STORE_WRAPPED_KEY_BYTES);
    *out = it;
    return HUELLA_OK;
}

/* Room for `need` more bytes in the current batch (flushing a full one). */
static huella_status reserve(loader *L, size_t need, huella_error *err)
{
    batch *b = L->cur;
    if (b->n == BATCH_PERSONS || (b->n > 0 && b->used + need > BATCH_BYTES)) {
        huella_status st = flush(L);
        if (st != HUELLA_OK)
            return st;
        b = L->cur;
    }
    size_t total;
    if (!huella_size_add(b->used, need, &total))
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery load: out of memory");
    size_t cap = b->cap ? b->cap : BATCH_BYTES;
    while (cap < total)
        cap *= 2;
    return batch_grow(b, cap, b->used, err);
}

static huella_status push(loader *L, const void *data, size_t len)
{
    batch *b = L->cur;
    memcpy(b->buf + b->used, data, len);
    b->used += len;
    return HUELLA_OK;
}

static huella_status check_key(const void *wrapped, int len, int64_t person, huella_error *err)
{
    if (wrapped == NULL || len != (int)STORE_WRAPPED_KEY_BYTES)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "person %" PRId64 ": the wrapped key has %d bytes", person, len);
    return HUELLA_OK;
}

/* A person's sealed form as an item of the current batch. */
static huella_status queue_form(loader *L, int64_t person, const void *wrapped, const void *form,
                                size_t len, huella_error *err)
{
    huella_status st = reserve(L, len, err);
    item *it = NULL;
    if (st == HUELLA_OK)
        st = batch_item(L->cur, person, wrapped, ITEM_FORM, &it, err);
    if (st == HUELLA_OK && len > 0) {
        it->len = len;
        push(L, form, len);
    }
    return st;
}

/* Every current form, in person order. */
static huella_status read_forms(loader *L, uint64_t format, huella_error *err)
{
    huella_store *s = L->s;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT f.person_id, p.wrapped_key, f.form FROM gallery_form f"
                           " JOIN person p ON p.id = f.person_id WHERE f.format = ?1"
                           " ORDER BY f.person_id",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "reading gallery forms");
    sqlite3_bind_int64(q, 1, (int64_t)format);
    huella_status st = HUELLA_OK;
    int rc;
    while (st == HUELLA_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t person = sqlite3_column_int64(q, 0);
        const void *wk = sqlite3_column_blob(q, 1);
        st = check_key(wk, sqlite3_column_bytes(q, 1), person, err);
        if (st == HUELLA_OK)
            st = queue_form(L, person, wk, sqlite3_column_blob(q, 2),
                            (size_t)sqlite3_column_bytes(q, 2), err);
    }
    if (st == HUELLA_OK && rc != SQLITE_DONE)
        st = store_sql_error(s, err, "reading gallery forms");
    sqlite3_finalize(q);
    return st;
}

#define SAMPLES_SQL                                                                                \
    "SELECT id, modality, position, templates FROM sample INDEXED BY "                             \
    "sample_scan WHERE modality IN (1, 2, 3) AND person_id = ?1 ORDER BY id"

/* A person's sealed templates (qs: SAMPLES_SQL) as an item of the current
 * batch. */
static huella_status queue_templates(loader *L, sqlite3_stmt *qs, int64_t person,
                                     const void *wrapped, huella_error *err)
{
    huella_store *s = L->s;
    /* Sizes first, so that the person's item fits in one batch. */
    size_t total = 0;
    huella_status st = HUELLA_OK;
    int rs;
    sqlite3_reset(qs);
    sqlite3_bind_int64(qs, 1, person);
    while (st == HUELLA_OK && (rs = sqlite3_step(qs)) == SQLITE_ROW)
        if (!huella_size_add(total, sizeof(sample_head) + (size_t)sqlite3_column_bytes(qs, 3),
                             &total))
            st = huella_error_set(err, HUELLA_E_NOMEM, "gallery load: out of memory");
    if (st == HUELLA_OK && rs != SQLITE_DONE)
        st = store_sql_error(s, err, "reading a person's samples");
    if (st == HUELLA_OK)
        st = reserve(L, total, err);
    item *it = NULL;
    if (st == HUELLA_OK)
        st = batch_item(L->cur, person, wrapped, ITEM_TEMPLATES, &it, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_reset(qs);
    sqlite3_bind_int64(qs, 1, person);
    while ((rs = sqlite3_step(qs)) == SQLITE_ROW) {
        sample_head h = {sqlite3_column_int64(qs, 0), sqlite3_column_int(qs, 1),
                         (unsigned)sqlite3_column_int(qs, 2), (size_t)sqlite3_column_bytes(qs, 3)};
        push(L, &h, sizeof(h));
        if (h.len > 0)
            push(L, sqlite3_column_blob(qs, 3), h.len);
        it->n_samples++;
    }
    it->len = L->cur->used - it->off;
    return rs == SQLITE_DONE ? HUELLA_OK : store_sql_error(s, err, "reading a person's samples");
}

/* The sealed templates of every person without a current form. */
static huella_status read_stale(loader *L, uint64_t format, huella_error *err)
{
    huella_store *s = L->s;
    sqlite3_stmt *q = NULL, *qs = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT p.id, p.wrapped_key FROM person p WHERE NOT EXISTS"
                           " (SELECT 1 FROM gallery_form f WHERE f.person_id = p.id"
                           " AND f.format = ?1) ORDER BY p.id",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, SAMPLES_SQL, -1, &qs, NULL) != SQLITE_OK) {
        huella_status st = store_sql_error(s, err, "reading persons without a gallery form");
        sqlite3_finalize(q);
        return st;
    }
    sqlite3_bind_int64(q, 1, (int64_t)format);
    huella_status st = HUELLA_OK;
    int rc;
    while (st == HUELLA_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t person = sqlite3_column_int64(q, 0);
        const void *wk = sqlite3_column_blob(q, 1);
        st = check_key(wk, sqlite3_column_bytes(q, 1), person, err);
        if (st == HUELLA_OK)
            st = queue_templates(L, qs, person, wk, err);
    }
    if (st == HUELLA_OK && rc != SQLITE_DONE)
        st = store_sql_error(s, err, "reading persons without a gallery form");
    sqlite3_finalize(q);
    sqlite3_finalize(qs);
    return st;
}

/* ---- From the snapshot ---- */

/* Persons the snapshot cannot give: read from the database afterwards. */
typedef struct pending {
    int64_t person;
    uint8_t wrapped_key[STORE_WRAPPED_KEY_BYTES];
} pending;

typedef struct pending_list {
    pending *v;
    size_t n, cap;
} pending_list;

static huella_status pending_add(pending_list *l, int64_t person, const void *wrapped,
                                 huella_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        pending *nv = realloc(l->v, cap * sizeof(*nv));
        if (nv == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "gallery load: out of memory");
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n].person = person;
    memcpy(l->v[l->n].wrapped_key, wrapped, STORE_WRAPPED_KEY_BYTES);
    l->n++;
    return HUELLA_OK;
}

/* Walks the snapshot's entries and the store's persons (both in person
 * order) together: an entry with a form of a person still in the store
 * and unchanged since the snapshot becomes an item pointing into the
 * block it was read into; every other person of the store is pending. */
typedef struct merge {
    loader *L;
    store_snapshot *snap;
    sqlite3_stmt *persons;
    int prc; /* the step that gave the current person */
    const int64_t *changed;
    size_t n_changed;
    pending_list *pending;
} merge;

/* Every person of the store before `limit` (the next entry's person), or
 * every one left (to_end, after the last entry), pending: the snapshot
 * has no entry for them. */
static huella_status pend_persons_before(merge *m, int64_t limit, bool to_end, huella_error *err)
{
    sqlite3_stmt *q = m->persons;
    huella_status st = HUELLA_OK;
    while (st == HUELLA_OK && m->prc == SQLITE_ROW &&
           (to_end || sqlite3_column_int64(q, 0) < limit)) {
        int64_t p = sqlite3_column_int64(q, 0);
        st = check_key(sqlite3_column_blob(q, 1), sqlite3_column_bytes(q, 1), p, err);
        if (st == HUELLA_OK)
            st = pending_add(m->pending, p, sqlite3_column_blob(q, 1), err);
        m->prc = sqlite3_step(q);
    }
    return st;
}

static huella_status merge_entry(merge *m, const uint8_t *head, const uint8_t *form,
                                 huella_error *err)
{
    int64_t person;
    uint32_t len;
    huella_status st = store_snapshot_take(m->snap, head, form, &person, &len, err);
    if (st != HUELLA_OK)
        return st;
    sqlite3_stmt *q = m->persons;
    st = pend_persons_before(m, person, false, err);
    if (st != HUELLA_OK || m->prc != SQLITE_ROW || sqlite3_column_int64(q, 0) != person)
        return st; /* not in the store any more: skipped */
    const void *wk = sqlite3_column_blob(q, 1);
    st = check_key(wk, sqlite3_column_bytes(q, 1), person, err);
    if (st == HUELLA_OK && len > 0 && !store_ids_contain(m->changed, m->n_changed, person)) {
        batch *b = m->L->cur;
        item *it = NULL;
        st = batch_item(b, person, wk, ITEM_FORM, &it, err);
        if (st == HUELLA_OK) {
            it->off = (size_t)(form - b->buf);
            it->len = len;
            m->L->from_snapshot++;
        }
    } else if (st == HUELLA_OK) {
        st = pending_add(m->pending, person, wk, err);
    }
    m->prc = sqlite3_step(q);
    return st;
}

/* Read the snapshot block by block into the batches themselves: the
 * workers decrypt the forms where they were read, and the few bytes of an
 * entry cut by a block's end are copied in front of the next block. */
static huella_status read_snapshot_blocks(merge *m, huella_error *err)
{
    loader *L = m->L;
    uint64_t offset = SNAP_HEADER_BYTES;
    size_t left = 0; /* bytes of a cut entry at the end of L->cur */
    const uint8_t *left_src = NULL;
    huella_status st = HUELLA_OK;
    for (bool eof = false; !eof && st == HUELLA_OK;) {
        batch *b = NULL;
        st = take_free(L, &b);
        size_t pre = (left + SNAP_ALIGN - 1) / SNAP_ALIGN * SNAP_ALIGN;
        if (st == HUELLA_OK)
            st = batch_grow(b, SNAP_MAX_ENTRY + SNAP_ENTRY_HEAD + SNAP_ALIGN + SNAP_BLOCK, 0, err);
        if (st != HUELLA_OK) {
            if (b != NULL)
                give_work(L, b);
            break;
        }
        if (left > 0)
            memcpy(b->buf + pre - left, left_src, left);
        if (L->cur != NULL)
            give_work(L, L->cur);
        L->cur = b;
        size_t got = 0;
        st = store_snapshot_read(m->snap, offset, b->buf + pre, SNAP_BLOCK, &got, err);
        offset += got;
        eof = got < SNAP_BLOCK;
        const uint8_t *p = b->buf + pre - left, *end = b->buf + pre + got;
        while (st == HUELLA_OK && (size_t)(end - p) >= SNAP_ENTRY_HEAD) {
            uint32_t len;
            st = store_snapshot_entry_len(m->snap, p, &len, err);
            if (st != HUELLA_OK || (size_t)(end - p) - SNAP_ENTRY_HEAD < len)
                break;
            st = merge_entry(m, p, p + SNAP_ENTRY_HEAD, err);
            p += SNAP_ENTRY_HEAD + len;
        }
        left = (size_t)(end - p);
        left_src = p;
        b->used = (size_t)(end - b->buf);
        if (st == HUELLA_OK && eof && left > 0)
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "%s: ends inside entry %" PRIu64 "; remove it or write it again",
                                  m->snap->path, m->snap->seen_entries);
    }
    if (L->cur != NULL) {
        give_work(L, L->cur);
        L->cur = NULL;
    }
    return st;
}

/* The persons the snapshot did not give, from the database: their
 * current form, else their templates. */
static huella_status read_pending(loader *L, const pending_list *l, uint64_t format,
                                  huella_error *err)
{
    huella_store *s = L->s;
    sqlite3_stmt *qf = NULL, *qs = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT form FROM gallery_form WHERE person_id = ?1 AND format = ?2", -1,
                           &qf, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, SAMPLES_SQL, -1, &qs, NULL) != SQLITE_OK) {
        huella_status st = store_sql_error(s, err, "reading persons changed since the snapshot");
        sqlite3_finalize(qf);
        return st;
    }
    huella_status st = take_free(L, &L->cur);
    for (size_t i = 0; i < l->n && st == HUELLA_OK; i++) {
        const pending *p = &l->v[i];
        sqlite3_reset(qf);
        sqlite3_bind_int64(qf, 1, p->person);
        sqlite3_bind_int64(qf, 2, (int64_t)format);
        int rc = sqlite3_step(qf);
        if (rc == SQLITE_ROW)
            st = queue_form(L, p->person, p->wrapped_key, sqlite3_column_blob(qf, 0),
                            (size_t)sqlite3_column_bytes(qf, 0), err);
        else if (rc == SQLITE_DONE)
            st = queue_templates(L, qs, p->person, p->wrapped_key, err);
        else
            st = store_sql_error(s, err, "reading persons changed since the snapshot");
    }
    sqlite3_finalize(qf);
    sqlite3_finalize(qs);
    return st;
}

static huella_status read_snapshot(loader *L, store_snapshot *snap, uint64_t format,
                                   huella_error *err)
{
    huella_store *s = L->s;
    pending_list pend = {0};
    merge m = {.L = L, .snap = snap, .pending = &pend};
    int64_t *changed = NULL;
    huella_status st = store_snapshot_changed(s, &changed, &m.n_changed, err);
    m.changed = changed;
    if (st == HUELLA_OK &&
        sqlite3_prepare_v2(s->db, "SELECT id, wrapped_key FROM person ORDER BY id", -1, &m.persons,
                           NULL) != SQLITE_OK)
        st = store_sql_error(s, err, "reading persons");
    if (st == HUELLA_OK) {
        m.prc = sqlite3_step(m.persons);
        /* The batch the copying path filled so far is handed on first. */
        if (L->cur != NULL) {
            give_work(L, L->cur);
            L->cur = NULL;
        }
        st = read_snapshot_blocks(&m, err);
    }
    if (st == HUELLA_OK)
        st = store_snapshot_verify(snap, err);
    if (st == HUELLA_OK)
        st = pend_persons_before(&m, 0, true, err);
    if (st == HUELLA_OK && m.prc != SQLITE_DONE)
        st = store_sql_error(s, err, "reading persons");
    sqlite3_finalize(m.persons);
    if (st == HUELLA_OK)
        st = read_pending(L, &pend, format, err);
    free(pend.v);
    free(changed);
    return st;
}

/* The gallery's arrays sized for the store's persons at once (not by
 * doubling while the workers add). */
static huella_status reserve_persons(huella_store *s, huella_gallery *g, huella_error *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM person", -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "counting persons");
    huella_status st = HUELLA_OK;
    if (sqlite3_step(q) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(q, 0);
        size_t have = huella_gallery_count(g);
        if (n > 0)
            st = huella_gallery_reserve(g, have + (size_t)n, err);
    } else {
        st = store_sql_error(s, err, "counting persons");
    }
    sqlite3_finalize(q);
    return st;
}

huella_status huella_gallery_load_store(huella_store *s, huella_gallery *g, unsigned threads,
                                        huella_gallery_load_stats *stats, huella_error *err)
{
    uint64_t t0 = huella_now_ns();
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (threads > 64)
        threads = 64;
    loader L;
    memset(&L, 0, sizeof(L));
    L.s = s;
    L.g = g;
    L.n_batches = 2 * (size_t)threads + 2;
    L.work = calloc(L.n_batches, sizeof(*L.work));
    L.free_list = calloc(L.n_batches, sizeof(*L.free_list));
    batch *batches = calloc(L.n_batches, sizeof(*batches));
    pthread_t *tid = calloc(threads, sizeof(*tid));
    if (L.work == NULL || L.free_list == NULL || batches == NULL || tid == NULL) {
        free(L.work);
        free(L.free_list);
        free(batches);
        free(tid);
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery load: out of memory");
    }
    for (size_t i = 0; i < L.n_batches; i++)
        L.free_list[L.n_free++] = &batches[i];
    L.cur = L.free_list[--L.n_free];
    pthread_mutex_init(&L.mu, NULL);
    pthread_cond_init(&L.has_work, NULL);
    pthread_cond_init(&L.has_free, NULL);
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &L) != 0)
            break;
    huella_status st = started > 0 ? HUELLA_OK
                                   : huella_error_set(err, HUELLA_E_INTERNAL,
                                                      "gallery load: cannot start a thread");
    uint64_t format = store_form_format(s);
    /* One read transaction: a consistent snapshot. */
    bool own_tx = sqlite3_get_autocommit(s->db) != 0;
    if (st == HUELLA_OK && own_tx)
        st = store_exec(s, "BEGIN", err);
    if (st == HUELLA_OK)
        st = reserve_persons(s, g, err);
    store_snapshot snap;
    bool use_snapshot = false;
    char why[128] = "";
    if (st == HUELLA_OK)
        st = store_snapshot_open(s, format, &snap, &use_snapshot, why, sizeof(why), err);
    if (st == HUELLA_OK && use_snapshot) {
        st = read_snapshot(&L, &snap, format, err);
        store_snapshot_close(&snap);
    } else {
        if (st == HUELLA_OK)
            st = read_forms(&L, format, err);
        if (st == HUELLA_OK)
            st = read_stale(&L, format, err);
    }
    if (own_tx)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (st == HUELLA_OK)
        st = flush(&L);
    pthread_mutex_lock(&L.mu);
    L.done = true;
    pthread_cond_broadcast(&L.has_work);
    pthread_mutex_unlock(&L.mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    if (L.failed) {
        /* the worker's message is the precise one */
        st = L.st;
        if (err != NULL)
            *err = L.err;
    }
    for (size_t i = 0; i < L.n_batches; i++) { /* ciphertext only */
        if (batches[i].buf != NULL)
            huella_pages_free(batches[i].buf, batches[i].cap);
        free(batches[i].items);
    }
    pthread_mutex_destroy(&L.mu);
    pthread_cond_destroy(&L.has_work);
    pthread_cond_destroy(&L.has_free);
    free(L.work);
    free(L.free_list);
    free(batches);
    free(tid);
    if (stats != NULL) {
        stats->finger_templates = L.counts[HUELLA_GALLERY_FINGER];
        stats->iris_templates = L.counts[HUELLA_GALLERY_IRIS];
        stats->face_templates = L.counts[HUELLA_GALLERY_FACE];
        stats->persons = huella_gallery_count(g);
        stats->persons_from_forms = L.from_forms;
        stats->persons_rebuilt = L.rebuilt;
        stats->persons_from_snapshot = L.from_snapshot;
        snprintf(stats->snapshot, sizeof(stats->snapshot), "%s", use_snapshot ? "used" : why);
        stats->seconds = (double)(huella_now_ns() - t0) / 1e9;
        stats->threads = started;
    }
    return st;
}

bool huella_gallery_modality_of(huella_store_modality m, int template_type,
                                huella_gallery_modality *out)
{
    if (m == HUELLA_STORE_FINGER && template_type == HUELLA_STORE_TEMPLATE_FINGER)
        *out = HUELLA_GALLERY_FINGER;
    else if (m == HUELLA_STORE_IRIS && template_type == HUELLA_STORE_TEMPLATE_IRIS)
        *out = HUELLA_GALLERY_IRIS;
    else if (m == HUELLA_STORE_FACE && template_type == HUELLA_STORE_TEMPLATE_FACE)
        *out = HUELLA_GALLERY_FACE;
    else
        return false;
    return true;
}

huella_status huella_gallery_load_person(huella_store *s, huella_gallery *g, int64_t person,
                                         huella_error *err)
{
    int64_t *enc = NULL;
    size_t ne = 0;
    huella_status st = huella_store_person_encounters(s, person, &enc, &ne, err);
    if (st == HUELLA_OK && ne == 0)
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "no person %lld", (long long)person);
    for (size_t e = 0; st == HUELLA_OK && e < ne; e++) {
        int64_t *smp = NULL;
        size_t ns = 0;
        st = huella_store_encounter_samples(s, enc[e], &smp, &ns, err);
        for (size_t k = 0; st == HUELLA_OK && k < ns; k++) {
            huella_store_sample_data *d = NULL;
            st = huella_store_sample_get(s, smp[k], &d, err);
            for (size_t t = 0; st == HUELLA_OK && t < d->n_templates; t++) {
                huella_gallery_modality gm;
                if (huella_gallery_modality_of(d->modality, d->template_type[t], &gm))
                    st = huella_gallery_add_encoded(g, (uint64_t)person, (uint64_t)d->id, gm,
                                                    d->position, d->template_data[t],
                                                    d->template_len[t], err);
            }
            huella_store_sample_data_free(d);
        }
        free(smp);
    }
    free(enc);
    return st;
}
