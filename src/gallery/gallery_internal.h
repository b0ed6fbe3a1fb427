/*
 * gallery_internal.h - the layout of a gallery, shared by gallery.c (the
 * store: add, remove, count) and identify.c (the search).  Internal.
 *
 * Persons live in a dense array (index = "person index", reused after a
 * removal through a free list) found by id through an open-addressing
 * hash table.  Each slot keeps its templates in parallel arrays indexed
 * by "entry"; the entries of one person in one slot are chained through
 * next[] from person.first[slot] (-1 ends a chain).  Finger entries hold
 * compact prepared templates; iris entries live packed in a
 * huella_iris_gallery, whose ids map back to entries through by_id[].
 * Face entries are the packed huella_face_gallery of the face slot,
 * entry e at index e (both move the last into a hole on removal).
 */
#ifndef HUELLA_GALLERY_INTERNAL_H
#define HUELLA_GALLERY_INTERNAL_H

#include "huella/gallery.h"

#include <pthread.h>

#define NO_ENTRY (-1)
#define NO_CHUNK UINT32_MAX

/* The largest laid-out finger a gallery accepts, and the scratch a
 * search lays one out in (on its stack). */
#define GALLERY_FINGER_SCRATCH ((size_t)16 << 10)

/*
 * Fingers are kept as their serialised prepared form
 * (huella_finger_prepared_serialize, about 1.1 KB with 36 minutiae),
 * not laid out for comparison (about 2.6 KB): a search lays each
 * candidate out in a scratch buffer of its thread
 * (gallery_finger_expand, about half a microsecond, a tenth of a
 * comparison), which saves 40 % of a ten-finger person's memory, what
 * decides how many persons one machine holds (docs/store.md,
 * "Fingers kept serialised").  Each is checked when added, so that
 * laying it out again cannot fail.
 *
 * Slabs: the serialised fingers live in chunks of GALLERY_CHUNK_BYTES
 * the gallery owns, one person's fingers next to each other, each
 * starting on HUELLA_FINGER_PREPARED_ALIGN bytes, carved by a bump
 * pointer under slab_mu: no allocation per finger (the first chunks are
 * smaller, see GALLERY_CHUNK_DOUBLINGS; every chunk is whole pages,
 * huge ones from 2 MB, base/pages.h).  A removed finger's
 * bytes are wiped at once and counted dead in their chunk; a chunk whose
 * every byte is dead (and that is not the one being filled) is released.
 * Holes are not reused: a gallery that erases much holds at most the
 * wiped holes of chunks that still have live fingers.
 */
#define GALLERY_CHUNK_BYTES ((size_t)8 << 20)
/* Chunk k < GALLERY_CHUNK_DOUBLINGS has GALLERY_CHUNK_BYTES >>
 * (GALLERY_CHUNK_DOUBLINGS - k) bytes: 64 KB, 128 KB, ..., then 8 MB. */
#define GALLERY_CHUNK_DOUBLINGS 7
typedef struct gallery_chunk {
    uint8_t *mem;           /* NULL once released */
    size_t cap, used, live; /* mem from huella_pages_alloc(cap) */
} gallery_chunk;

typedef struct gallery_person {
    uint64_t id;
    int32_t first[HUELLA_GALLERY_SLOTS];
    uint32_t n_entries; /* 0 = the index is free */
} gallery_person;

typedef struct gallery_slot {
    size_t n, cap;
    uint32_t *owner; /* person index */
    uint64_t *sample;
    int32_t *next;
    uint8_t **finger;     /* finger slots: the serialised form, in chunk[e] */
    uint32_t *finger_len; /* its length in bytes */
    uint32_t *chunk;      /* its slab chunk */
    uint64_t *iris_id;    /* iris slots: id in iris */
    huella_iris_gallery *iris;
    uint32_t *by_id; /* iris id - 1 -> entry, UINT32_MAX when removed */
    size_t n_by_id, cap_by_id;
    huella_face_gallery *face; /* the face slot: entry e is face index e */
} gallery_slot;

struct huella_gallery {
    pthread_rwlock_t lock;
    unsigned threads;
    huella_calibration cal[HUELLA_GALLERY_MODALITIES]; /* by huella_gallery_modality */
    gallery_person *persons;
    size_t n_persons_slots, cap_persons; /* indexes in use or free */
    size_t n_persons;                    /* with at least one entry */
    uint32_t *free_list;
    size_t n_free, cap_free;
    uint32_t *hash;  /* person index + 1, 0 = empty */
    size_t hash_cap; /* a power of two */
    gallery_slot slot[HUELLA_GALLERY_SLOTS];
    pthread_mutex_t slab_mu; /* the chunks (taken without, or inside, lock) */
    gallery_chunk *chunks;
    size_t n_chunks, cap_chunks, chunk_bytes; /* chunk_bytes: held by live chunks */
};

/* The person index of id, or -1. */
int64_t gallery_find(const huella_gallery *g, uint64_t id);

/* Run fn(ctx, begin, end) over [0, n) in chunks on up to `threads`
 * threads (the caller's included); chunks are taken dynamically. */
typedef void (*gallery_range_fn)(void *ctx, size_t begin, size_t end);
void gallery_parallel(unsigned threads, size_t n, size_t chunk, gallery_range_fn fn, void *ctx);

/* Where a thread lays serialised fingers out for comparison (on its
 * stack), and how many of its bytes have been written, so that wiping it
 * costs what was written rather than all of it. */
typedef struct gallery_scratch {
    _Alignas(64) uint8_t buf[GALLERY_FINGER_SCRATCH];
    size_t used;
} gallery_scratch;

/* Lay serialised finger bytes out in s (huella_finger_prepared_load_into,
 * which checks them); *out points into s. */
huella_status gallery_scratch_layout(gallery_scratch *s, const uint8_t *data, size_t len,
                                     huella_finger_prepared **out, huella_error *err);

/* Wipe what was written to s. */
void gallery_scratch_wipe(gallery_scratch *s);

/* Finger entry e of slot sl laid out for comparison in s; NULL only if
 * the gallery's memory was corrupted (checked when added). */
const huella_finger_prepared *gallery_finger_expand(const gallery_slot *sl, size_t e,
                                                    gallery_scratch *s);

/* The calibration index of slot k (by huella_gallery_modality). */
static inline int gallery_slot_modality(unsigned k)
{
    return k < HUELLA_GALLERY_FINGERS                           ? HUELLA_GALLERY_FINGER
           : k < HUELLA_GALLERY_FINGERS + HUELLA_GALLERY_IRISES ? HUELLA_GALLERY_IRIS
                                                                : HUELLA_GALLERY_FACE;
}

#endif
