/*
 * test_error.c - error messages: set, prefix, truncation, NULL tolerance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "huella/base.h"

static void set_returns_the_status_and_formats_the_message(void **state)
{
    (void)state;
    huella_error err;
    assert_int_equal(huella_error_set(&err, HUELLA_E_INPUT, "record %d: %s", 3, "bad"),
                     HUELLA_E_INPUT);
    assert_int_equal(err.status, HUELLA_E_INPUT);
    assert_string_equal(err.message, "record 3: bad");
    assert_int_equal(huella_error_set(NULL, HUELLA_E_IO, "ignored"), HUELLA_E_IO);
    huella_error_clear(&err);
    assert_int_equal(err.status, HUELLA_OK);
    assert_string_equal(err.message, "");
}

static void prefix_puts_context_in_front(void **state)
{
    (void)state;
    huella_error err;
    huella_error_set(&err, HUELLA_E_INPUT, "PNG: truncated");
    huella_error_prefix(&err, "%s: ", "scan.png");
    assert_string_equal(err.message, "scan.png: PNG: truncated");
    huella_error_prefix(NULL, "x");
}

static void long_messages_are_cut_not_overflowed(void **state)
{
    (void)state;
    huella_error err;
    char big[2000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    huella_error_set(&err, HUELLA_E_INPUT, "%s", big);
    assert_int_equal(strlen(err.message), HUELLA_ERROR_MAX - 1);
    huella_error_prefix(&err, "%s", big);
    assert_int_equal(strlen(err.message), HUELLA_ERROR_MAX - 1);
    huella_error_set(&err, HUELLA_E_INPUT, "tail");
    huella_error_prefix(&err, "%.*s", HUELLA_ERROR_MAX - 3, big);
    assert_int_equal(strlen(err.message), HUELLA_ERROR_MAX - 1);
    assert_memory_equal(err.message + HUELLA_ERROR_MAX - 3, "ta", 2);
}

static void every_status_has_a_name(void **state)
{
    (void)state;
    for (int s = HUELLA_OK; s <= HUELLA_E_INTERNAL; s++)
        assert_string_not_equal(huella_status_name((huella_status)s), "unknown status");
    assert_string_equal(huella_status_name(HUELLA_E_INPUT), "bad input");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_returns_the_status_and_formats_the_message),
        cmocka_unit_test(prefix_puts_context_in_front),
        cmocka_unit_test(long_messages_are_cut_not_overflowed),
        cmocka_unit_test(every_status_has_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
