/*
 * gallery_load.c - fill a gallery from the store (huella_gallery_load_store).
 *
 * Contract: the calling thread runs the store scan
 * (huella_store_foreach_template, fingers then irises: it decrypts one
 * blob per sample) and copies each template into a batch; full batches go
 * through a bounded queue to worker threads that decode and add them
 * (huella_gallery_add_encoded: decoding and the finger preparation run
 * outside the gallery's write lock, so they spread over the workers).
 * Decoding dominates the load (docs/store.md: the iris decoder alone is
 * about 15 us per template), which is why it is the part spread out.
 * Template bytes are wiped from the batch buffers before they are freed.
 * The first error stops the scan and is returned.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/dedup.h"
#include "store_internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_TEMPLATES 512

typedef struct batch {
    size_t n, used, cap;
    int64_t person[BATCH_TEMPLATES], sample[BATCH_TEMPLATES];
    unsigned position[BATCH_TEMPLATES];
    size_t off[BATCH_TEMPLATES], len[BATCH_TEMPLATES];
    huella_gallery_modality modality;
    uint8_t *buf;
} batch;

typedef struct loader {
    huella_gallery *g;
    pthread_mutex_t mu;
    pthread_cond_t has_work, has_free;
    batch **work, **free_list; /* stacks/rings of at most n_batches */
    size_t n_batches, n_work, work_head, n_free;
    bool done, failed;
    huella_status st;
    huella_error err;
    batch *cur;
    huella_gallery_modality modality;
    size_t counts[2];
} loader;

static void *worker(void *arg)
{
    loader *L = arg;
    for (;;) {
        pthread_mutex_lock(&L->mu);
        while (L->n_work == 0 && !L->done)
            pthread_cond_wait(&L->has_work, &L->mu);
        if (L->n_work == 0) {
            pthread_mutex_unlock(&L->mu);
            return NULL;
        }
        batch *b = L->work[L->work_head];
        L->work_head = (L->work_head + 1) % L->n_batches;
        L->n_work--;
        bool skip = L->failed;
        pthread_mutex_unlock(&L->mu);
        huella_error e;
        huella_status st = HUELLA_OK;
        for (size_t i = 0; i < b->n && !skip && st == HUELLA_OK; i++) {
            st = huella_gallery_add_encoded(L->g, (uint64_t)b->person[i], (uint64_t)b->sample[i],
                                            b->modality, b->position[i], b->buf + b->off[i],
                                            b->len[i], &e);
            if (st != HUELLA_OK)
                huella_error_prefix(&e,
                                    "loading sample %lld of person %lld: ", (long long)b->sample[i],
                                    (long long)b->person[i]);
        }
        sodium_memzero(b->buf, b->used);
        b->n = b->used = 0;
        pthread_mutex_lock(&L->mu);
        if (st != HUELLA_OK && !L->failed) {
            L->failed = true;
            L->st = st;
            L->err = e;
        }
        L->free_list[L->n_free++] = b;
        pthread_cond_signal(&L->has_free);
        pthread_mutex_unlock(&L->mu);
    }
}

/* Hand the current batch to the workers and take a free one. */
static huella_status flush(loader *L)
{
    pthread_mutex_lock(&L->mu);
    if (L->cur != NULL && L->cur->n > 0) {
        L->work[(L->work_head + L->n_work) % L->n_batches] = L->cur;
        L->n_work++;
        L->cur = NULL;
        pthread_cond_signal(&L->has_work);
    }
    if (L->cur == NULL) {
        while (L->n_free == 0)
            pthread_cond_wait(&L->has_free, &L->mu);
        L->cur = L->free_list[--L->n_free];
    }
    huella_status st = L->failed ? L->st : HUELLA_OK;
    pthread_mutex_unlock(&L->mu);
    return st;
}

static huella_status on_template(void *ctx, int64_t person, int64_t sample, unsigned position,
                                 const uint8_t *tmpl, size_t len)
{
    loader *L = ctx;
    batch *b = L->cur;
    if (b->n == BATCH_TEMPLATES || (b->n > 0 && b->modality != L->modality)) {
        huella_status st = flush(L);
        if (st != HUELLA_OK)
            return st;
        b = L->cur;
    }
    size_t need;
    if (!huella_size_add(b->used, len, &need))
        return HUELLA_E_NOMEM;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = malloc(cap);
        if (nb == NULL)
            return HUELLA_E_NOMEM;
        if (b->used > 0)
            memcpy(nb, b->buf, b->used);
        store_wipe_free(b->buf, b->cap);
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->used, tmpl, len);
    b->modality = L->modality;
    b->person[b->n] = person;
    b->sample[b->n] = sample;
    b->position[b->n] = position;
    b->off[b->n] = b->used;
    b->len[b->n] = len;
    b->n++;
    b->used = need;
    L->counts[L->modality]++;
    return HUELLA_OK;
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
    static const struct {
        huella_store_modality store;
        huella_gallery_modality gallery;
    } mods[2] = {{HUELLA_STORE_FINGER, HUELLA_GALLERY_FINGER},
                 {HUELLA_STORE_IRIS, HUELLA_GALLERY_IRIS}};
    for (int m = 0; m < 2 && st == HUELLA_OK; m++) {
        L.modality = mods[m].gallery;
        st = huella_store_foreach_template(s, mods[m].store, on_template, &L, err);
    }
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
    } else if (st == HUELLA_E_NOMEM) {
        huella_error_set(err, st, "gallery load: out of memory");
    }
    for (size_t i = 0; i < L.n_batches; i++)
        store_wipe_free(batches[i].buf, batches[i].cap);
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
        stats->persons = huella_gallery_count(g);
        stats->seconds = (double)(huella_now_ns() - t0) / 1e9;
        stats->threads = started;
    }
    return st;
}
