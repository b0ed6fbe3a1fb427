/*
 * pages.c - see pages.h.
 *
 * Alignment: mmap gives page alignment only, and a huge page must start
 * on a multiple of its size, so a large request maps one huge page more
 * than it needs and unmaps the unaligned head and tail.
 */
#define _DEFAULT_SOURCE
#include "base/pages.h"

#include <stdint.h>
#include <sys/mman.h>

static size_t round_up(size_t v, size_t to)
{
    return (v + to - 1) & ~(to - 1);
}

void *huella_pages_alloc(size_t size)
{
    if (size == 0 || size > SIZE_MAX - 2 * HUELLA_HUGE_PAGE_BYTES)
        return NULL;
    const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (size < HUELLA_HUGE_PAGE_BYTES) {
        void *p = mmap(NULL, size, prot, flags, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    size_t len = round_up(size, HUELLA_HUGE_PAGE_BYTES);
    uint8_t *raw = mmap(NULL, len + HUELLA_HUGE_PAGE_BYTES, prot, flags, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uint8_t *p = (uint8_t *)round_up((uintptr_t)raw, HUELLA_HUGE_PAGE_BYTES);
    size_t head = (size_t)(p - raw), tail = HUELLA_HUGE_PAGE_BYTES - head;
    if (head > 0)
        munmap(raw, head);
    if (tail > 0)
        munmap(p + len, tail);
#ifdef MADV_HUGEPAGE
    /* advice only: without it (or without THP) the pages are 4 KB */
    madvise(p, len, MADV_HUGEPAGE);
#endif
    return p;
}

void huella_pages_free(void *p, size_t size)
{
    if (p == NULL || size == 0)
        return;
    munmap(p, size < HUELLA_HUGE_PAGE_BYTES ? size : round_up(size, HUELLA_HUGE_PAGE_BYTES));
}
