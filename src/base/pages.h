/*
 * pages.h - large, long-lived arrays straight from the kernel.
 *
 * A gallery of a million persons is 15 GB written once at load.  The
 * first write of every 4 KB page of it is a fault, and on the virtual
 * machines huella is measured on the faults were most of a load's time
 * (docs/store.md, "Gallery memory in huge pages"); a 2 MB transparent
 * huge page takes one fault for 512 of them.
 * huella_pages_alloc maps `size` bytes, zeroed, and for sizes of at least
 * a huge page aligns them to one and asks for huge pages (madvise: the
 * system's policy decides); smaller sizes are plain anonymous maps.
 * The memory is given back with huella_pages_free and the same size.
 */
#ifndef HUELLA_BASE_PAGES_H
#define HUELLA_BASE_PAGES_H

#include <stddef.h>

#define HUELLA_HUGE_PAGE_BYTES ((size_t)2 << 20)

/* NULL when the kernel refuses (or size is 0). */
void *huella_pages_alloc(size_t size);
void huella_pages_free(void *p, size_t size);

#endif
