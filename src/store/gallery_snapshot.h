/*
 * gallery_snapshot.h - the gallery snapshot file (gallery_snapshot.c),
 * shared with the gallery loader (gallery_load.c) and erasure.  Internal
 * to src/store.
 */
#ifndef HUELLA_STORE_GALLERY_SNAPSHOT_H
#define HUELLA_STORE_GALLERY_SNAPSHOT_H

#include "store_internal.h"

#include <sodium.h>

#define SNAP_HEADER_BYTES 4096u
/* An entry: u64 person, u32 length (big-endian), then the sealed form;
 * length 0: load this person from the database. */
#define SNAP_ENTRY_HEAD 12u
/* Larger forms are left to the database (a marker entry), so that an
 * entry always fits in a read block beside the rest of the one before. */
#define SNAP_MAX_ENTRY (4u << 20)
/* The loader reads the file in blocks of this size (a multiple of any
 * device's logical block, for O_DIRECT). */
#define SNAP_BLOCK (8u << 20)
#define SNAP_ALIGN 4096u

typedef struct store_snapshot {
    int fd;
    bool direct; /* opened with O_DIRECT: reads must be SNAP_ALIGN-aligned */
    char *path;
    uint64_t format, seq, entries, data_bytes;
    uint8_t id[16], mac[32];
    uint8_t header[80];                /* the fields the MAC ends with */
    uint64_t seen_entries, seen_bytes; /* taken so far */
    int64_t last_person;
    crypto_generichash_state mac_state;
} store_snapshot;

/*
 * Open DIR/gallery.snap for a load of forms of `format`, inside the
 * caller's read transaction.  *usable is false, with the reason in why,
 * when there is none or it is not the store's current one (another
 * format, another master key, not the snapshot the database names): the
 * caller then loads from the database.  An error only when the file
 * exists and cannot be read.
 */
huella_status store_snapshot_open(huella_store *s, uint64_t format, store_snapshot *snap,
                                  bool *usable, char *why, size_t why_size, huella_error *err);
/* Read up to len bytes at offset (aligned for O_DIRECT); *got < len only
 * at the end of the file. */
huella_status store_snapshot_read(store_snapshot *snap, uint64_t offset, uint8_t *buf, size_t len,
                                  size_t *got, huella_error *err);
/* The length of the entry whose head is at `head` (refused beyond
 * SNAP_MAX_ENTRY: the file is damaged). */
huella_status store_snapshot_entry_len(store_snapshot *snap, const uint8_t head[SNAP_ENTRY_HEAD],
                                       uint32_t *len, huella_error *err);
/* Take a whole entry (head, then its len bytes at form): checks its order
 * and length, feeds the whole-file MAC, counts it. */
huella_status store_snapshot_take(store_snapshot *snap, const uint8_t head[SNAP_ENTRY_HEAD],
                                  const uint8_t *form, int64_t *person, uint32_t *len,
                                  huella_error *err);
/* After the last entry: the counts and the MAC agree with the header. */
huella_status store_snapshot_verify(store_snapshot *snap, huella_error *err);
/* Every entry in order, then the verification (huella db check). */
typedef huella_status (*store_snapshot_cb)(void *ctx, int64_t person, const uint8_t *form,
                                           uint32_t len, huella_error *err);
huella_status store_snapshot_each(store_snapshot *snap, store_snapshot_cb cb, void *ctx,
                                  huella_error *err);
void store_snapshot_close(store_snapshot *snap);

/* The persons changed since the snapshot (the change log after its
 * sequence), ascending and distinct; and whether x is among them. */
huella_status store_snapshot_changed(huella_store *s, int64_t **ids, size_t *n, huella_error *err);
bool store_ids_contain(const int64_t *ids, size_t n, int64_t x);

/* Erasure: remove the snapshot (it holds sealed forms of the erased) and
 * count the discard, inside the erasure's write transaction. */
huella_status store_snapshot_discard(huella_store *s, huella_error *err);

#endif
