/*
 * gallery.c - the in-memory gallery: persons, their templates per slot,
 * add, remove, count, memory; and the small thread pool the searches use.
 *
 * Contract (huella/gallery.h): a gallery owns prepared copies of what it
 * is given; every change takes the write lock, every query the read lock
 * (pthread rwlock: many searches at once, enrolments in between).
 * Removal moves the last entry of the slot into the hole, so that the
 * arrays the 1:N loops run over stay dense; the moved entry's chain is
 * re-linked.  Fingers are kept serialised in chunks the gallery owns,
 * wiped in place when removed (gallery_internal.h, "Slabs").
 * Layout: gallery_internal.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "gallery/gallery_internal.h"
#include "base/pages.h"

#include <math.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 64

static void chunk_free(gallery_chunk *c);

/* ---- the thread pool ---------------------------------------------------- */

typedef struct range_job {
    gallery_range_fn fn;
    void *ctx;
    size_t n, chunk;
    atomic_size_t next;
} range_job;

static void *range_worker(void *arg)
{
    range_job *j = arg;
    for (;;) {
        size_t b = atomic_fetch_add(&j->next, j->chunk);
        if (b >= j->n)
            return NULL;
        size_t e = b + j->chunk < j->n ? b + j->chunk : j->n;
        j->fn(j->ctx, b, e);
    }
}

void gallery_parallel(unsigned threads, size_t n, size_t chunk, gallery_range_fn fn, void *ctx)
{
    if (n == 0)
        return;
    if (chunk == 0)
        chunk = 1;
    size_t chunks = (n + chunk - 1) / chunk;
    if (threads > chunks)
        threads = (unsigned)chunks;
    if (threads <= 1) {
        fn(ctx, 0, n);
        return;
    }
    range_job j = {.fn = fn, .ctx = ctx, .n = n, .chunk = chunk};
    atomic_init(&j.next, 0);
    pthread_t tid[MAX_THREADS];
    unsigned started = 0;
    /* A thread that cannot be started only means less parallelism: the
     * calling thread always works through whatever is left. */
    for (unsigned i = 1; i < threads; i++)
        if (pthread_create(&tid[started], NULL, range_worker, &j) == 0)
            started++;
    range_worker(&j);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
}

/* ---- persons ---------------------------------------------------------- */

static size_t hash_of(uint64_t id, size_t cap)
{
    /* splitmix64 finaliser: ids are often sequential */
    id ^= id >> 30;
    id *= 0xbf58476d1ce4e5b9ULL;
    id ^= id >> 27;
    id *= 0x94d049bb133111ebULL;
    id ^= id >> 31;
    return (size_t)id & (cap - 1);
}

int64_t gallery_find(const huella_gallery *g, uint64_t id)
{
    if (g->hash_cap == 0)
        return -1;
    for (size_t h = hash_of(id, g->hash_cap);; h = (h + 1) & (g->hash_cap - 1)) {
        uint32_t v = g->hash[h];
        if (v == 0)
            return -1;
        if (g->persons[v - 1].id == id)
            return (int64_t)(v - 1);
    }
}

static void hash_insert(huella_gallery *g, uint32_t index)
{
    size_t h = hash_of(g->persons[index].id, g->hash_cap);
    while (g->hash[h] != 0)
        h = (h + 1) & (g->hash_cap - 1);
    g->hash[h] = index + 1;
}

/* Backward-shift deletion keeps linear probing free of tombstones. */
static void hash_delete(huella_gallery *g, uint64_t id)
{
    size_t mask = g->hash_cap - 1;
    size_t h = hash_of(id, g->hash_cap);
    while (g->persons[g->hash[h] - 1].id != id)
        h = (h + 1) & mask;
    size_t hole = h;
    for (size_t j = (hole + 1) & mask; g->hash[j] != 0; j = (j + 1) & mask) {
        size_t home = hash_of(g->persons[g->hash[j] - 1].id, g->hash_cap);
        /* move j into the hole unless its home lies cyclically in (hole, j] */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            g->hash[hole] = g->hash[j];
            hole = j;
        }
    }
    g->hash[hole] = 0;
}

static huella_status hash_grow_to(huella_gallery *g, size_t cap, huella_error *err);

static huella_status hash_grow(huella_gallery *g, huella_error *err)
{
    size_t used = g->n_persons_slots - g->n_free;
    if (g->hash_cap != 0 && (used + 1) * 2 <= g->hash_cap)
        return HUELLA_OK;
    return hash_grow_to(g, g->hash_cap ? g->hash_cap * 2 : 1024, err);
}

/* The index rebuilt with cap (a power of two) places. */
static huella_status hash_grow_to(huella_gallery *g, size_t cap, huella_error *err)
{
    uint32_t *h = calloc(cap, sizeof(uint32_t));
    if (h == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery: cannot grow the person index");
    free(g->hash);
    g->hash = h;
    g->hash_cap = cap;
    for (size_t i = 0; i < g->n_persons_slots; i++)
        if (g->persons[i].n_entries != 0)
            hash_insert(g, (uint32_t)i);
    return HUELLA_OK;
}

static huella_status grow_array(void **p, size_t *cap, size_t need, size_t size, huella_error *err)
{
    if (need <= *cap)
        return HUELLA_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        if (!huella_size_mul(c, 2, &c))
            return huella_error_set(err, HUELLA_E_NOMEM, "gallery: too many entries");
    size_t bytes;
    if (!huella_size_mul(c, size, &bytes))
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery: too many entries");
    void *q = realloc(*p, bytes);
    if (q == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery: out of memory");
    *p = q;
    *cap = c;
    return HUELLA_OK;
}

/* The index of person id, made when missing (with no entries yet). */
static huella_status person_get(huella_gallery *g, uint64_t id, uint32_t *index, huella_error *err)
{
    int64_t f = gallery_find(g, id);
    if (f >= 0) {
        *index = (uint32_t)f;
        return HUELLA_OK;
    }
    huella_status st = hash_grow(g, err);
    if (st != HUELLA_OK)
        return st;
    uint32_t i;
    if (g->n_free > 0) {
        i = g->free_list[--g->n_free];
    } else {
        if (g->n_persons_slots >= UINT32_MAX - 1)
            return huella_error_set(err, HUELLA_E_NOMEM, "gallery: too many persons");
        st = grow_array((void **)&g->persons, &g->cap_persons, g->n_persons_slots + 1,
                        sizeof(gallery_person), err);
        if (st != HUELLA_OK)
            return st;
        i = (uint32_t)g->n_persons_slots++;
    }
    gallery_person *p = &g->persons[i];
    p->id = id;
    p->n_entries = 0;
    for (int s = 0; s < HUELLA_GALLERY_SLOTS; s++)
        p->first[s] = NO_ENTRY;
    hash_insert(g, i);
    *index = i;
    return HUELLA_OK;
}

/* Forget a person index that ended up with no entries. */
static void person_release(huella_gallery *g, uint32_t i)
{
    hash_delete(g, g->persons[i].id);
    g->persons[i].n_entries = 0;
    /* the free list has room: it never holds more than the indexes made */
    g->free_list[g->n_free++] = i;
}

/* ---- the gallery ---------------------------------------------------------- */

huella_status huella_gallery_new(huella_gallery **out, huella_error *err)
{
    *out = NULL;
    huella_gallery *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "gallery: out of memory");
    if (pthread_rwlock_init(&g->lock, NULL) != 0) {
        free(g);
        return huella_error_set(err, HUELLA_E_INTERNAL, "gallery: cannot make its lock");
    }
    if (pthread_mutex_init(&g->slab_mu, NULL) != 0) {
        pthread_rwlock_destroy(&g->lock);
        free(g);
        return huella_error_set(err, HUELLA_E_INTERNAL, "gallery: cannot make its lock");
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    g->threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
    g->cal[HUELLA_GALLERY_FINGER] = *huella_calibration_default(HUELLA_GALLERY_FINGER);
    g->cal[HUELLA_GALLERY_IRIS] = *huella_calibration_default(HUELLA_GALLERY_IRIS);
    g->cal[HUELLA_GALLERY_FACE] = *huella_calibration_default(HUELLA_GALLERY_FACE);
    for (int s = HUELLA_GALLERY_FINGERS; s < HUELLA_GALLERY_FINGERS + HUELLA_GALLERY_IRISES; s++) {
        huella_status st = huella_iris_gallery_new(&g->slot[s].iris, err);
        if (st != HUELLA_OK) {
            huella_gallery_free(g);
            return st;
        }
    }
    huella_status fst = huella_face_gallery_new(0, &g->slot[HUELLA_GALLERY_SLOT_FACE].face, err);
    if (fst != HUELLA_OK) {
        huella_gallery_free(g);
        return fst;
    }
    *out = g;
    return HUELLA_OK;
}

void huella_gallery_free(huella_gallery *g)
{
    if (g == NULL)
        return;
    for (int s = 0; s < HUELLA_GALLERY_SLOTS; s++) {
        gallery_slot *sl = &g->slot[s];
        free(sl->finger);
        free(sl->finger_len);
        free(sl->chunk);
        free(sl->owner);
        free(sl->sample);
        free(sl->next);
        free(sl->iris_id);
        free(sl->by_id);
        huella_iris_gallery_free(sl->iris);
        huella_face_gallery_free(sl->face);
    }
    free(g->persons);
    free(g->free_list);
    free(g->hash);
    for (size_t c = 0; c < g->n_chunks; c++)
        chunk_free(&g->chunks[c]);
    free(g->chunks);
    pthread_mutex_destroy(&g->slab_mu);
    pthread_rwlock_destroy(&g->lock);
    free(g);
}

void huella_gallery_set_threads(huella_gallery *g, unsigned threads)
{
    pthread_rwlock_wrlock(&g->lock);
    g->threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    pthread_rwlock_unlock(&g->lock);
}

void huella_gallery_set_calibration(huella_gallery *g, const huella_calibration *c)
{
    pthread_rwlock_wrlock(&g->lock);
    if ((unsigned)c->modality < HUELLA_GALLERY_MODALITIES)
        g->cal[c->modality] = *c;
    pthread_rwlock_unlock(&g->lock);
}

/* Room for one more entry in slot s. */
/* Room in every array of sl for `need` entries. */
static huella_status slot_reserve_for(gallery_slot *sl, bool finger, size_t need, huella_error *err)
{
    if (need <= sl->cap)
        return HUELLA_OK;
    size_t cap = sl->cap, c2 = sl->cap, c3 = sl->cap, c4 = sl->cap, c5 = sl->cap, c6 = sl->cap;
    huella_status st = grow_array((void **)&sl->owner, &cap, need, sizeof(uint32_t), err);
    if (st == HUELLA_OK)
        st = grow_array((void **)&sl->sample, &c2, need, sizeof(uint64_t), err);
    if (st == HUELLA_OK)
        st = grow_array((void **)&sl->next, &c3, need, sizeof(int32_t), err);
    if (st == HUELLA_OK && finger)
        st = grow_array((void **)&sl->finger, &c4, need, sizeof(void *), err);
    if (st == HUELLA_OK && finger)
        st = grow_array((void **)&sl->chunk, &c5, need, sizeof(uint32_t), err);
    if (st == HUELLA_OK && finger)
        st = grow_array((void **)&sl->finger_len, &c6, need, sizeof(uint32_t), err);
    if (st == HUELLA_OK && !finger && sl->iris != NULL)
        st = grow_array((void **)&sl->iris_id, &c4, need, sizeof(uint64_t), err);
    if (st != HUELLA_OK)
        return st;
    sl->cap = cap; /* every array has at least this much now */
    return HUELLA_OK;
}

static huella_status slot_reserve(gallery_slot *sl, bool finger, huella_error *err)
{
    return slot_reserve_for(sl, finger, sl->n + 1, err);
}

static huella_status free_list_reserve(huella_gallery *g, huella_error *err)
{
    return grow_array((void **)&g->free_list, &g->cap_free, g->n_persons_slots + 1,
                      sizeof(uint32_t), err);
}

/* Link a new entry e of slot s to person i (pushed on the chain's head). */
static void link_entry(huella_gallery *g, unsigned s, size_t e, uint32_t i, uint64_t sample)
{
    gallery_slot *sl = &g->slot[s];
    sl->owner[e] = i;
    sl->sample[e] = sample;
    sl->next[e] = g->persons[i].first[s];
    g->persons[i].first[s] = (int32_t)e;
    if (g->persons[i].n_entries++ == 0)
        g->n_persons++;
}

huella_status huella_gallery_add_finger(huella_gallery *g, uint64_t person, uint64_t sample,
                                        unsigned position, const huella_finger_template *t,
                                        huella_error *err)
{
    if (position < 1 || position > HUELLA_GALLERY_FINGERS)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "gallery: finger position %u is not 1..10 (ANSI/NIST-ITL)",
                                position);
    huella_finger_prepared *p;
    huella_status st = huella_finger_prepare_compact(t, &p, err);
    if (st != HUELLA_OK)
        return st;
    return huella_gallery_add_finger_prepared(g, person, sample, position, p, err);
}

huella_status huella_gallery_add_finger_prepared(huella_gallery *g, uint64_t person,
                                                 uint64_t sample, unsigned position,
                                                 huella_finger_prepared *p, huella_error *err)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    huella_status st = huella_finger_prepared_serialize(p, &bytes, &len, err);
    huella_finger_prepared_free(p);
    if (st != HUELLA_OK)
        return st;
    huella_gallery_finger_bytes f = {sample, position, bytes, len};
    st = huella_gallery_add_fingers_serialized(g, person, 1, &f, err);
    sodium_memzero(bytes, len); /* a template in plaintext, as every copy the gallery drops */
    free(bytes);
    return st;
}

huella_status huella_gallery_add_iris(huella_gallery *g, uint64_t person, uint64_t sample,
                                      unsigned eye, const huella_iris_code *code, huella_error *err)
{
    if (eye != HUELLA_IRIS_EYE_RIGHT && eye != HUELLA_IRIS_EYE_LEFT)
        return huella_error_set(err, HUELLA_E_INPUT, "gallery: eye %u is not right (1) or left (2)",
                                eye);
    unsigned s =
        eye == HUELLA_IRIS_EYE_RIGHT ? HUELLA_GALLERY_SLOT_RIGHT : HUELLA_GALLERY_SLOT_LEFT;
    pthread_rwlock_wrlock(&g->lock);
    gallery_slot *sl = &g->slot[s];
    uint32_t i = 0;
    uint64_t id = 0;
    huella_status st = sl->n >= INT32_MAX
                           ? huella_error_set(err, HUELLA_E_NOMEM, "gallery: slot full")
                           : slot_reserve(sl, false, err);
    if (st == HUELLA_OK)
        st = free_list_reserve(g, err);
    if (st == HUELLA_OK)
        st =
            grow_array((void **)&sl->by_id, &sl->cap_by_id, sl->n_by_id + 1, sizeof(uint32_t), err);
    if (st == HUELLA_OK)
        st = person_get(g, person, &i, err);
    if (st == HUELLA_OK) {
        st = huella_iris_gallery_add(sl->iris, code, &id, err);
        if (st != HUELLA_OK && g->persons[i].n_entries == 0)
            person_release(g, i);
    }
    if (st == HUELLA_OK) {
        /* ids are 1, 2, 3, ... in order of addition */
        size_t e = sl->n++;
        sl->iris_id[e] = id;
        while (sl->n_by_id < id)
            sl->by_id[sl->n_by_id++] = UINT32_MAX;
        sl->by_id[id - 1] = (uint32_t)e;
        link_entry(g, s, e, i, sample);
    }
    pthread_rwlock_unlock(&g->lock);
    return st;
}

huella_status huella_gallery_add_face(huella_gallery *g, uint64_t person, uint64_t sample,
                                      const huella_face_template *t, huella_error *err)
{
    if (!(isfinite(t->scale) && isfinite(t->norm2)))
        return huella_error_set(err, HUELLA_E_INPUT, "gallery: the face template is not finite");
    unsigned s = HUELLA_GALLERY_SLOT_FACE;
    pthread_rwlock_wrlock(&g->lock);
    gallery_slot *sl = &g->slot[s];
    uint32_t i = 0;
    huella_status st = sl->n >= INT32_MAX
                           ? huella_error_set(err, HUELLA_E_NOMEM, "gallery: slot full")
                           : slot_reserve(sl, false, err);
    if (st == HUELLA_OK)
        st = free_list_reserve(g, err);
    if (st == HUELLA_OK)
        st = person_get(g, person, &i, err);
    if (st == HUELLA_OK) {
        st = huella_face_gallery_add(sl->face, t, err);
        if (st != HUELLA_OK && g->persons[i].n_entries == 0)
            person_release(g, i);
    }
    if (st == HUELLA_OK) {
        size_t e = sl->n++; /* = the face index: both grow in step */
        link_entry(g, s, e, i, sample);
    }
    pthread_rwlock_unlock(&g->lock);
    return st;
}

huella_status huella_gallery_add_encoded(huella_gallery *g, uint64_t person, uint64_t sample,
                                         huella_gallery_modality m, unsigned position,
                                         const uint8_t *data, size_t len, huella_error *err)
{
    huella_status st;
    if (m == HUELLA_GALLERY_FACE) {
        if (position != 0)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "gallery: a face has no position (got %u, expected 0)",
                                    position);
        huella_face_template ft;
        st = huella_face_template_decode(data, len, &ft, err);
        if (st != HUELLA_OK)
            return st;
        return huella_gallery_add_face(g, person, sample, &ft, err);
    }
    if (m == HUELLA_GALLERY_IRIS) {
        huella_iris_template *t;
        st = huella_iris_template_decode(data, len, &t, err);
        if (st != HUELLA_OK)
            return st;
        st = huella_gallery_add_iris(g, person, sample, position, &t->code, err);
        huella_iris_template_free(t);
        return st;
    }
    huella_finger_template *t;
    st = huella_finger_template_load(data, len, &t, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_gallery_add_finger(g, person, sample, position, t, err);
    huella_finger_template_free(t);
    return st;
}

/* ---- fingers, serialised (gallery_internal.h) ---------------------------- */

/* The bytes a serialised finger of len bytes takes in a chunk. */
static size_t finger_room(size_t len)
{
    return (len + HUELLA_FINGER_PREPARED_ALIGN - 1) & ~(size_t)(HUELLA_FINGER_PREPARED_ALIGN - 1);
}

huella_status gallery_scratch_layout(gallery_scratch *s, const uint8_t *data, size_t len,
                                     huella_finger_prepared **out, huella_error *err)
{
    huella_status st =
        huella_finger_prepared_load_into(data, len, s->buf, sizeof(s->buf), out, err);
    /* on failure the layout may have written anywhere in the buffer */
    size_t written = st == HUELLA_OK ? huella_finger_prepared_size(*out) : sizeof(s->buf);
    if (written > s->used)
        s->used = written;
    return st;
}

void gallery_scratch_wipe(gallery_scratch *s)
{
    sodium_memzero(s->buf, s->used);
    s->used = 0;
}

const huella_finger_prepared *gallery_finger_expand(const gallery_slot *sl, size_t e,
                                                    gallery_scratch *s)
{
    huella_finger_prepared *p = NULL;
    if (gallery_scratch_layout(s, sl->finger[e], sl->finger_len[e], &p, NULL) != HUELLA_OK)
        return NULL;
    return p;
}

/* ---- slabs (gallery_internal.h) ------------------------------------------- */

static void chunk_free(gallery_chunk *c)
{
    huella_pages_free(c->mem, c->cap);
    c->mem = NULL;
}

/* `size` bytes (a multiple of HUELLA_FINGER_PREPARED_ALIGN) in a chunk:
 * *chunk and *mem; under slab_mu. */
static huella_status slab_take(huella_gallery *g, size_t size, uint32_t *chunk, uint8_t **mem,
                               huella_error *err)
{
    huella_status st = HUELLA_OK;
    pthread_mutex_lock(&g->slab_mu);
    gallery_chunk *c = g->n_chunks > 0 ? &g->chunks[g->n_chunks - 1] : NULL;
    if (c == NULL || c->mem == NULL || c->cap - c->used < size) {
        /* a new chunk; the previous one, when all dead already, goes */
        if (c != NULL && c->mem != NULL && c->live == 0) {
            g->chunk_bytes -= c->cap;
            chunk_free(c);
        }
        st = g->n_chunks >= NO_CHUNK - 1
                 ? huella_error_set(err, HUELLA_E_NOMEM, "gallery: too many chunks")
                 : grow_array((void **)&g->chunks, &g->cap_chunks, g->n_chunks + 1,
                              sizeof(gallery_chunk), err);
        /* The first chunks small and each twice the one before, up to
         * GALLERY_CHUNK_BYTES, so that a small gallery's memory is about
         * what it holds; whole pages (huge ones from 2 MB, base/pages.h),
         * so every chunk starts on any alignment a finger wants. */
        size_t want = GALLERY_CHUNK_BYTES;
        if (g->n_chunks < GALLERY_CHUNK_DOUBLINGS)
            want = GALLERY_CHUNK_BYTES >> (GALLERY_CHUNK_DOUBLINGS - g->n_chunks);
        size_t cap = size > want ? (size + 63) & ~(size_t)63 : want;
        uint8_t *m = st == HUELLA_OK ? huella_pages_alloc(cap) : NULL;
        if (st == HUELLA_OK && m == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "gallery: out of memory");
        if (st == HUELLA_OK) {
            c = &g->chunks[g->n_chunks++];
            *c = (gallery_chunk){m, cap, 0, 0};
            g->chunk_bytes += cap;
        }
    }
    if (st == HUELLA_OK) {
        *chunk = (uint32_t)(c - g->chunks);
        *mem = c->mem + c->used;
        c->used += size;
        c->live += size;
    }
    pthread_mutex_unlock(&g->slab_mu);
    return st;
}

/* Give back `size` bytes at mem of chunk k: wiped, counted dead, and the
 * chunk released when nothing of it is live and it is not being filled. */
static void slab_release(huella_gallery *g, uint32_t k, void *mem, size_t size)
{
    sodium_memzero(mem, size);
    pthread_mutex_lock(&g->slab_mu);
    gallery_chunk *c = &g->chunks[k];
    c->live -= size;
    if (c->live == 0 && k + 1 != g->n_chunks) {
        g->chunk_bytes -= c->cap;
        chunk_free(c);
    }
    pthread_mutex_unlock(&g->slab_mu);
}

huella_status huella_gallery_add_fingers_serialized(huella_gallery *g, uint64_t person, size_t n,
                                                    const huella_gallery_finger_bytes *f,
                                                    huella_error *err)
{
    if (n == 0)
        return HUELLA_OK;
    if (n > HUELLA_GALLERY_FINGERS * 64)
        return huella_error_set(err, HUELLA_E_INPUT, "gallery: %zu fingers for one person", n);
    /* Each checked once (huella_finger_prepared_check: a search's layout
     * of it cannot fail, and fits the scratch buffer), then copied, the
     * person's fingers in one piece of a chunk, each on the alignment a
     * layout wants. */
    size_t at[HUELLA_GALLERY_FINGERS * 64], total = 0;
    for (size_t k = 0; k < n; k++) {
        if (f[k].position < 1 || f[k].position > HUELLA_GALLERY_FINGERS)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "gallery: finger position %u is not 1..10 (ANSI/NIST-ITL)",
                                    f[k].position);
        size_t size = 0;
        huella_status st = huella_finger_prepared_load_size(f[k].data, f[k].len, &size, err);
        if (st == HUELLA_OK && (size > GALLERY_FINGER_SCRATCH || f[k].len > UINT32_MAX))
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "gallery: a finger of %zu bytes (%zu laid out) is more than "
                                  "a gallery takes (%zu)",
                                  f[k].len, size, (size_t)GALLERY_FINGER_SCRATCH);
        if (st == HUELLA_OK)
            st = huella_finger_prepared_check(f[k].data, f[k].len, err);
        if (st != HUELLA_OK)
            return st;
        at[k] = total;
        total += finger_room(f[k].len);
    }
    uint32_t chunk;
    uint8_t *mem;
    huella_status st = slab_take(g, total, &chunk, &mem, err);
    if (st != HUELLA_OK)
        return st;
    for (size_t k = 0; k < n; k++) {
        size_t room = (k + 1 < n ? at[k + 1] : total) - at[k];
        memcpy(mem + at[k], f[k].data, f[k].len);
        memset(mem + at[k] + f[k].len, 0, room - f[k].len);
    }
    pthread_rwlock_wrlock(&g->lock);
    uint32_t i = 0;
    size_t per_slot[HUELLA_GALLERY_FINGERS] = {0};
    for (size_t k = 0; k < n; k++)
        per_slot[f[k].position - 1]++;
    /* every array made room for first, so that nothing fails once the
     * fingers are being linked in: all or none */
    st = free_list_reserve(g, err);
    for (unsigned s = 0; s < HUELLA_GALLERY_FINGERS && st == HUELLA_OK; s++) {
        gallery_slot *sl = &g->slot[s];
        st = sl->n + per_slot[s] > INT32_MAX
                 ? huella_error_set(err, HUELLA_E_NOMEM, "gallery: slot full")
                 : slot_reserve_for(sl, true, sl->n + per_slot[s], err);
    }
    if (st == HUELLA_OK)
        st = person_get(g, person, &i, err);
    for (size_t k = 0; k < n && st == HUELLA_OK; k++) {
        gallery_slot *sl = &g->slot[f[k].position - 1];
        size_t e = sl->n++;
        sl->finger[e] = mem + at[k];
        sl->finger_len[e] = (uint32_t)f[k].len;
        sl->chunk[e] = chunk;
        link_entry(g, f[k].position - 1, e, i, f[k].sample);
    }
    pthread_rwlock_unlock(&g->lock);
    if (st != HUELLA_OK) /* then none was linked in */
        slab_release(g, chunk, mem, total);
    return st;
}

huella_status huella_gallery_reserve(huella_gallery *g, size_t persons, huella_error *err)
{
    pthread_rwlock_wrlock(&g->lock);
    huella_status st =
        grow_array((void **)&g->persons, &g->cap_persons, persons, sizeof(gallery_person), err);
    if (st == HUELLA_OK)
        st = grow_array((void **)&g->free_list, &g->cap_free, persons, sizeof(uint32_t), err);
    while (st == HUELLA_OK && g->hash_cap < 2 * persons)
        st = hash_grow_to(g, g->hash_cap ? 2 * g->hash_cap : 64, err);
    for (unsigned s = 0; s < HUELLA_GALLERY_FINGERS && st == HUELLA_OK; s++)
        st = slot_reserve_for(&g->slot[s], true, persons, err);
    /* One iris per person and eye is the common case; memory reserved and
     * never written is only address space. */
    for (unsigned s = HUELLA_GALLERY_FINGERS;
         s < HUELLA_GALLERY_FINGERS + HUELLA_GALLERY_IRISES && st == HUELLA_OK; s++) {
        st = slot_reserve_for(&g->slot[s], false, persons, err);
        if (st == HUELLA_OK)
            st = huella_iris_gallery_reserve(g->slot[s].iris, persons, err);
    }
    pthread_rwlock_unlock(&g->lock);
    return st;
}

/* Drop entry e of slot s (its person's chain no longer holds it): the
 * last entry moves into its place. */
static huella_status drop_entry(huella_gallery *g, unsigned s, size_t e, huella_error *err)
{
    gallery_slot *sl = &g->slot[s];
    if (sl->finger != NULL && s < HUELLA_GALLERY_FINGERS) {
        slab_release(g, sl->chunk[e], sl->finger[e], finger_room(sl->finger_len[e]));
    } else if (s == HUELLA_GALLERY_SLOT_FACE) {
        huella_status st = huella_face_gallery_remove(sl->face, e, err);
        if (st != HUELLA_OK)
            return st;
    } else {
        huella_status st = huella_iris_gallery_remove(sl->iris, sl->iris_id[e], err);
        if (st != HUELLA_OK)
            return st;
        sl->by_id[sl->iris_id[e] - 1] = UINT32_MAX;
    }
    size_t last = --sl->n;
    if (e != last) {
        /* re-point whoever pointed at `last` */
        int32_t *link = &g->persons[sl->owner[last]].first[s];
        while (*link != (int32_t)last)
            link = &sl->next[*link];
        *link = (int32_t)e;
        sl->owner[e] = sl->owner[last];
        sl->sample[e] = sl->sample[last];
        sl->next[e] = sl->next[last];
        if (s < HUELLA_GALLERY_FINGERS) {
            sl->finger[e] = sl->finger[last];
            sl->finger_len[e] = sl->finger_len[last];
            sl->chunk[e] = sl->chunk[last];
        } else if (s == HUELLA_GALLERY_SLOT_FACE) {
            /* huella_face_gallery_remove moved the face the same way */
        } else {
            sl->iris_id[e] = sl->iris_id[last];
            sl->by_id[sl->iris_id[e] - 1] = (uint32_t)e;
        }
    }
    return HUELLA_OK;
}

huella_status huella_gallery_remove_person(huella_gallery *g, uint64_t person, huella_error *err)
{
    pthread_rwlock_wrlock(&g->lock);
    int64_t f = gallery_find(g, person);
    huella_status st = HUELLA_OK;
    if (f < 0) {
        st = huella_error_set(err, HUELLA_E_NOTFOUND, "gallery: no person %llu",
                              (unsigned long long)person);
    } else {
        gallery_person *p = &g->persons[f];
        for (unsigned s = 0; s < HUELLA_GALLERY_SLOTS && st == HUELLA_OK; s++) {
            while (p->first[s] != NO_ENTRY && st == HUELLA_OK) {
                int32_t e = p->first[s];
                p->first[s] = g->slot[s].next[e];
                st = drop_entry(g, s, (size_t)e, err);
                p->n_entries--;
            }
        }
        if (p->n_entries == 0) {
            g->n_persons--;
            person_release(g, (uint32_t)f);
        }
    }
    pthread_rwlock_unlock(&g->lock);
    return st;
}

size_t huella_gallery_count(huella_gallery *g)
{
    pthread_rwlock_rdlock(&g->lock);
    size_t n = g->n_persons;
    pthread_rwlock_unlock(&g->lock);
    return n;
}

size_t huella_gallery_count_slot(huella_gallery *g, unsigned slot)
{
    if (slot >= HUELLA_GALLERY_SLOTS)
        return 0;
    pthread_rwlock_rdlock(&g->lock);
    size_t n = g->slot[slot].n;
    pthread_rwlock_unlock(&g->lock);
    return n;
}

/* Bytes held, by part: [m] the templates of modality m, [MODALITIES]
 * everything else (the per-entry arrays, persons, index); the caller holds
 * the lock. */
static void bytes_by_part(huella_gallery *g, size_t part[HUELLA_GALLERY_MODALITIES + 1])
{
    memset(part, 0, (HUELLA_GALLERY_MODALITIES + 1) * sizeof(size_t));
    size_t *other = &part[HUELLA_GALLERY_MODALITIES];
    *other = sizeof(*g) + g->cap_persons * sizeof(gallery_person) + g->cap_free * sizeof(uint32_t) +
             g->hash_cap * sizeof(uint32_t);
    /* the chunks whole: live fingers, wiped holes and the unused end
     * (slab_mu: a load takes chunks without the gallery's lock) */
    pthread_mutex_lock(&g->slab_mu);
    part[HUELLA_GALLERY_FINGER] += g->chunk_bytes;
    *other += g->cap_chunks * sizeof(gallery_chunk);
    pthread_mutex_unlock(&g->slab_mu);
    for (int s = 0; s < HUELLA_GALLERY_SLOTS; s++) {
        const gallery_slot *sl = &g->slot[s];
        *other += sl->cap * (sizeof(uint32_t) + sizeof(uint64_t) + sizeof(int32_t));
        if (s < HUELLA_GALLERY_FINGERS) {
            *other += sl->cap * (sizeof(void *) + 2 * sizeof(uint32_t));
        } else if (s == HUELLA_GALLERY_SLOT_FACE) {
            part[HUELLA_GALLERY_FACE] += sl->n * (HUELLA_FACE_DIM + 2 * sizeof(float));
        } else {
            *other += sl->cap * sizeof(uint64_t) + sl->cap_by_id * sizeof(uint32_t);
            part[HUELLA_GALLERY_IRIS] += sl->n * huella_iris_gallery_bytes_per_template();
        }
    }
}

size_t huella_gallery_bytes(huella_gallery *g)
{
    size_t part[HUELLA_GALLERY_MODALITIES + 1];
    pthread_rwlock_rdlock(&g->lock);
    bytes_by_part(g, part);
    pthread_rwlock_unlock(&g->lock);
    size_t b = 0;
    for (int k = 0; k <= HUELLA_GALLERY_MODALITIES; k++)
        b += part[k];
    return b;
}

size_t huella_gallery_bytes_modality(huella_gallery *g, huella_gallery_modality m)
{
    if ((unsigned)m >= HUELLA_GALLERY_MODALITIES)
        return 0;
    size_t part[HUELLA_GALLERY_MODALITIES + 1];
    pthread_rwlock_rdlock(&g->lock);
    bytes_by_part(g, part);
    pthread_rwlock_unlock(&g->lock);
    return part[m];
}

double huella_gallery_bytes_per_person(huella_gallery *g)
{
    size_t n = huella_gallery_count(g);
    return n == 0 ? 0.0 : (double)huella_gallery_bytes(g) / (double)n;
}
