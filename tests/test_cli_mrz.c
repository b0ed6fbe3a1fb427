/*
 * test_cli_mrz.c - `huella mrz parse` as scripts use it: JSON fields,
 * exit status 0 for a valid zone and 2 otherwise, lines from stdin.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static const char *L1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
static const char *L2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

static json_t *run(const char *const *argv, const char *in, int want_status)
{
    char *out, *err;
    int status = test_run_huella(argv, in, &out, &err);
    if (status != want_status)
        fail_msg("exit %d (wanted %d): %s", status, want_status, err);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    if (o == NULL && want_status != 2)
        fail_msg("not JSON: %s", out);
    free(out);
    free(err);
    return o;
}

static void valid_zone_from_arguments(void **state)
{
    (void)state;
    json_t *o =
        run((const char *const[]){"mrz", "parse", L1, L2, "--capture-date", "2026-11-26", NULL},
            NULL, 0);
    assert_string_equal(json_string_value(json_object_get(o, "format")), "TD3");
    assert_string_equal(json_string_value(json_object_get(o, "document_number")), "L898902C3");
    assert_string_equal(json_string_value(json_object_get(o, "birth_date")), "740812");
    assert_string_equal(json_string_value(json_object_get(o, "birth_date_resolved")), "1974-08-12");
    assert_string_equal(json_string_value(json_object_get(o, "given_names")), "ANNA MARIA");
    assert_true(json_is_true(json_object_get(json_object_get(o, "checks"), "composite")));
    assert_true(json_is_true(json_object_get(o, "valid")));
    json_decref(o);
}

static void invalid_zone_from_stdin_names_the_failed_check(void **state)
{
    (void)state;
    /* birth date 740812 -> 740813: its check digit and the composite fail */
    char in[200];
    snprintf(in, sizeof(in), "\n%s\n%s\n", L1, "L898902C36UTO7408132F1204159ZE184226B<<<<<10");
    json_t *o = run((const char *const[]){"mrz", "parse", NULL}, in, 2);
    json_t *checks = json_object_get(o, "checks");
    assert_true(json_is_false(json_object_get(checks, "birth_date")));
    assert_true(json_is_true(json_object_get(checks, "document_number")));
    assert_true(json_is_false(json_object_get(checks, "composite")));
    assert_true(json_is_false(json_object_get(o, "valid")));
    json_decref(o);
}

static void garbage_is_refused_with_a_message(void **state)
{
    (void)state;
    char *out, *err;
    int status = test_run_huella((const char *const[]){"mrz", "parse", "hello", "world", NULL},
                                 NULL, &out, &err);
    assert_int_equal(status, 2);
    assert_non_null(strstr(err, "MRZ line 1, position 1"));
    free(out);
    free(err);
    status = test_run_huella(
        (const char *const[]){"mrz", "parse", "--capture-date", "tomorrow", L1, L2, NULL}, NULL,
        &out, &err);
    assert_int_equal(status, 1);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_zone_from_arguments),
        cmocka_unit_test(invalid_zone_from_stdin_names_the_failed_check),
        cmocka_unit_test(garbage_is_refused_with_a_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
