/*
 * bench_page_faults.c - what it costs to write fresh memory the first
 * time, the way a gallery load fills its finger chunks: MB megabytes in
 * 8 MB pieces, every 64-byte line written once, four ways:
 *   - "4k": plain anonymous maps, one fault per 4 KB page (the baseline
 *     of the ratio; what aligned_alloc gave the chunks before);
 *   - "populate": the same, populated by madvise(MADV_POPULATE_WRITE)
 *     before the writes (no fault, one call a piece);
 *   - "hugepage": madvise(MADV_HUGEPAGE) on 2 MB-aligned pieces, one fault
 *     per 2 MB when the system gives huge pages;
 *   - "pages": huella_pages_alloc, what the gallery's chunks use now.
 * Prints, per way, wall, user and system seconds (getrusage of this
 * process), minor faults and the wall ratio to "4k", ways alternated for
 * ROUNDS rounds.  Nothing is read back: the numbers are the first touch.
 * A way that follows another at once reuses the pages just given back,
 * which the host still backs: on the VMs measured here (free page
 * reporting, about 2 s after pages are freed) that made "pages", which
 * follows "hugepage", 6-20 times faster than a cold first touch.  So the
 * ways are SETTLE seconds apart (default 10), long enough for the freed
 * memory to go back to the host; 0 shows the warm reuse.
 * Run it once with the page cache empty and once right after reading a
 * file as large as memory (`cat STORE/huella.db > /dev/null`) to see the
 * cost under reclaim and compaction (docs/store.md, "Gallery memory in
 * huge pages").
 *
 * usage: bench_page_faults [MB [ROUNDS [SETTLE]]]   (default 1500 MB, 2 rounds, 10 s)
 */
#define _GNU_SOURCE
#include "base/pages.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define PIECE ((size_t)8 << 20)

enum { WAY_4K, WAY_POPULATE, WAY_HUGEPAGE, WAY_PAGES, WAYS };
static const char *const way_name[WAYS] = {"4k", "populate", "hugepage", "pages"};

typedef struct sample {
    double wall, user, sys;
    long faults;
} sample;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double tv_s(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

/* One piece of PIECE bytes the given way, or NULL. */
static uint8_t *piece_alloc(int way)
{
    if (way == WAY_PAGES)
        return huella_pages_alloc(PIECE);
    uint8_t *m = mmap(NULL, PIECE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (way == WAY_POPULATE && madvise(m, PIECE, MADV_POPULATE_WRITE) != 0)
        fprintf(stderr, "bench_page_faults: MADV_POPULATE_WRITE refused; faults instead\n");
    if (way == WAY_HUGEPAGE)
        madvise(m, PIECE, MADV_HUGEPAGE); /* huge where the kernel placed the map 2 MB-aligned */
    return m;
}

static void piece_free(int way, uint8_t *m)
{
    if (way == WAY_PAGES)
        huella_pages_free(m, PIECE);
    else
        munmap(m, PIECE);
}

/* Write every line of `pieces` fresh pieces, then give them back. */
static int run(int way, size_t pieces, sample *out)
{
    uint8_t **keep = calloc(pieces, sizeof(*keep));
    if (keep == NULL)
        return -1;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now_s();
    int failed = 0;
    for (size_t k = 0; k < pieces && !failed; k++) {
        uint8_t *m = piece_alloc(way);
        if (m == NULL) {
            failed = 1;
            break;
        }
        for (size_t i = 0; i < PIECE; i += 64)
            m[i] = (uint8_t)(i >> 6);
        keep[k] = m;
    }
    out->wall = now_s() - t0;
    getrusage(RUSAGE_SELF, &r1);
    out->user = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
    out->sys = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
    out->faults = r1.ru_minflt - r0.ru_minflt;
    for (size_t k = 0; k < pieces; k++)
        if (keep[k] != NULL)
            piece_free(way, keep[k]);
    free(keep);
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    long mb = argc > 1 ? strtol(argv[1], NULL, 10) : 1500;
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 2;
    long settle = argc > 3 ? strtol(argv[3], NULL, 10) : 10;
    if (mb < 8 || rounds < 1 || settle < 0) {
        fprintf(stderr, "usage: bench_page_faults [MB (>= 8) [ROUNDS (>= 1) [SETTLE (s)]]]\n");
        return 2;
    }
    size_t pieces = (size_t)mb / 8;
    for (long r = 0; r < rounds; r++) {
        sample s[WAYS];
        for (int w = 0; w < WAYS; w++) {
            struct timespec pause = {settle, 0};
            if ((r > 0 || w > 0) && settle > 0)
                nanosleep(&pause, NULL);
            if (run(w, pieces, &s[w]) != 0) {
                fprintf(stderr, "bench_page_faults: out of memory (%s)\n", way_name[w]);
                return 1;
            }
        }
        for (int w = 0; w < WAYS; w++)
            printf("{\"bench\":\"page_faults\",\"round\":%ld,\"way\":\"%s\",\"mb\":%zu,"
                   "\"settle_s\":%ld,"
                   "\"wall_s\":%.3f,\"user_s\":%.3f,\"sys_s\":%.3f,\"minor_faults\":%ld,"
                   "\"wall_ratio_to_4k\":%.3f}\n",
                   r + 1, way_name[w], pieces * 8, settle, s[w].wall, s[w].user, s[w].sys,
                   s[w].faults, s[WAY_4K].wall > 0 ? s[w].wall / s[WAY_4K].wall : 0.0);
    }
    return 0;
}
