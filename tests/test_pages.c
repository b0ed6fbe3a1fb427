/*
 * test_pages.c - whole-page arrays (src/base/pages.c): zeroed, writable
 * to the last byte, huge-page aligned when large, given back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/pages.h"

static void check_region(size_t size)
{
    uint8_t *p = huella_pages_alloc(size);
    assert_non_null(p);
    if (size >= HUELLA_HUGE_PAGE_BYTES)
        assert_int_equal((uintptr_t)p % HUELLA_HUGE_PAGE_BYTES, 0);
    else
        assert_int_equal((uintptr_t)p % 4096, 0);
    /* zeroed at both ends and in the middle, writable to the last byte */
    assert_int_equal(p[0] | p[size / 2] | p[size - 1], 0);
    memset(p, 0xA5, size);
    assert_int_equal(p[size - 1], 0xA5);
    huella_pages_free(p, size);
}

static void small_and_large_sizes_are_zeroed_and_writable(void **state)
{
    (void)state;
    const size_t sizes[] = {1,
                            4095,
                            4096,
                            HUELLA_HUGE_PAGE_BYTES - 1,
                            HUELLA_HUGE_PAGE_BYTES,
                            HUELLA_HUGE_PAGE_BYTES + 1,
                            (size_t)8 << 20,
                            ((size_t)8 << 20) + 12345};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_region(sizes[i]);
}

static void zero_and_absurd_sizes_are_refused(void **state)
{
    (void)state;
    assert_null(huella_pages_alloc(0));
    assert_null(huella_pages_alloc(SIZE_MAX));
    assert_null(huella_pages_alloc(SIZE_MAX / 2)); /* more than any address space */
    huella_pages_free(NULL, 4096);                 /* nothing to give back: no effect */
}

static void many_regions_do_not_overlap(void **state)
{
    (void)state;
    enum { N = 16 };
    uint8_t *p[N];
    const size_t size = HUELLA_HUGE_PAGE_BYTES + 4096;
    for (int i = 0; i < N; i++) {
        p[i] = huella_pages_alloc(size);
        assert_non_null(p[i]);
        memset(p[i], i + 1, size);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(p[i][0], i + 1);
        assert_int_equal(p[i][size - 1], i + 1);
        huella_pages_free(p[i], size);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_and_large_sizes_are_zeroed_and_writable),
        cmocka_unit_test(zero_and_absurd_sizes_are_refused),
        cmocka_unit_test(many_regions_do_not_overlap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
