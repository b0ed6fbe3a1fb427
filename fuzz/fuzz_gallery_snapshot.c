/*
 * fuzz_gallery_snapshot.c - the entries of DIR/gallery.snap as the gallery
 * loader reads them (src/store/gallery_snapshot.c, gallery_load.c).
 *
 * A store of four persons with gallery forms and a snapshot is made once;
 * each input replaces everything after the snapshot's (valid, current)
 * header, so that the entry parser, the merge with the store's persons
 * and the decryption see it.  An input whose first byte is odd is instead
 * a list of (u16 offset, byte) edits of the valid entries, which keeps
 * the fuzzer near the format.  Any input must give HUELLA_OK or an error
 * with a message, never a crash or a read out of bounds.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/dedup.h"
#include "huella/gallery.h"
#include "huella/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static huella_store *store;
static char path[256];
static uint8_t header[4096];
static uint8_t entries[4096];
static size_t n_entries_bytes;

static char dir[] = "/tmp/huella-fuzz-snapshot-XXXXXX";
static char sub[300];

/* The store is made per process: leave nothing behind in /tmp. */
static void cleanup(void)
{
    static const char *const names[] = {"gallery.snap",  "gallery.snap.tmp", "huella.db",
                                        "huella.db-wal", "huella.db-shm",    "master.key"};
    huella_store_close(store);
    store = NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[400];
        snprintf(p, sizeof(p), "%s/%s", sub, names[i]);
        unlink(p);
    }
    rmdir(sub);
    rmdir(dir);
}

static int setup(void)
{
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(sub, sizeof(sub), "%s/store", dir);
    atexit(cleanup);
    huella_error err;
    if (huella_store_init(sub, NULL, &err) != HUELLA_OK ||
        huella_store_open(sub, &store, &err) != HUELLA_OK)
        return -1;
    for (int k = 0; k < 4; k++) {
        int64_t p;
        if (huella_store_person_create(store, &p, &err) != HUELLA_OK ||
            huella_store_gallery_update(store, p, &err) != HUELLA_OK)
            return -1;
    }
    huella_gallery_snapshot_stats ss;
    if (huella_store_gallery_snapshot(store, &ss, &err) != HUELLA_OK || !ss.installed)
        return -1;
    snprintf(path, sizeof(path), "%s/gallery.snap", sub);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, header, sizeof(header));
    ssize_t m = read(fd, entries, sizeof(entries));
    close(fd);
    if (n != (ssize_t)sizeof(header) || m <= 0 || m == (ssize_t)sizeof(entries))
        return -1;
    n_entries_bytes = (size_t)m;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (store == NULL && setup() != 0)
        abort();
    uint8_t edited[sizeof(entries)];
    if (size > 0 && data[0] % 2 == 1) {
        memcpy(edited, entries, n_entries_bytes);
        for (size_t i = 1; i + 3 <= size; i += 3)
            edited[((size_t)data[i] << 8 | data[i + 1]) % n_entries_bytes] = data[i + 2];
        data = edited;
        size = n_entries_bytes;
    }
    int fd = open(path, O_WRONLY | O_TRUNC);
    if (fd < 0 || write(fd, header, sizeof(header)) != (ssize_t)sizeof(header) ||
        (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);
    huella_gallery *g = NULL;
    huella_error err;
    err.message[0] = '\0';
    if (huella_gallery_new(&g, &err) != HUELLA_OK)
        abort();
    huella_status st = huella_gallery_load_store(store, g, 1, NULL, &err);
    if (st != HUELLA_OK && err.message[0] == '\0')
        abort();
    huella_gallery_free(g);
    return 0;
}
