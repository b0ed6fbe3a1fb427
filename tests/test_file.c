/*
 * test_file.c - bounded whole-file reads, atomic writes, directories.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "huella/base.h"
#include "support.h"

static void write_then_read_gives_the_same_bytes(void **state)
{
    (void)state;
    const char *path = test_tmpfile("roundtrip.bin");
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    huella_error err;
    assert_int_equal(huella_file_write(path, data, sizeof(data), &err), HUELLA_OK);
    uint8_t *back;
    size_t len;
    assert_int_equal(huella_file_read(path, 0, &back, &len, &err), HUELLA_OK);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(back, data, sizeof(data));
    assert_int_equal(back[len], 0); /* terminating NUL for text parsers */
    free(back);
    /* No temporary file is left behind. */
    size_t tlen;
    assert_null(test_read_file(test_tmpfile("roundtrip.bin.tmp"), &tlen));
}

static void size_limit_is_enforced_before_reading(void **state)
{
    (void)state;
    const char *path = test_tmpfile("big.bin");
    char data[100] = {0};
    huella_error err;
    assert_int_equal(huella_file_write(path, data, sizeof(data), &err), HUELLA_OK);
    uint8_t *back = (uint8_t *)"sentinel";
    size_t len = 1;
    assert_int_equal(huella_file_read(path, 99, &back, &len, &err), HUELLA_E_INPUT);
    assert_null(back);
    assert_non_null(strstr(err.message, "big.bin"));
    assert_non_null(strstr(err.message, "limit of 99"));
}

static void missing_files_and_directories_are_named(void **state)
{
    (void)state;
    uint8_t *back;
    size_t len;
    huella_error err;
    assert_int_equal(huella_file_read(test_tmpfile("nope"), 0, &back, &len, &err),
                     HUELLA_E_NOTFOUND);
    assert_non_null(strstr(err.message, "nope: cannot open"));
    assert_int_equal(huella_file_read(test_tmpdir(), 0, &back, &len, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_int_equal(huella_file_write(test_tmpfile("no/such/dir/x"), "x", 1, &err), HUELLA_E_IO);
    assert_non_null(strstr(err.message, "cannot create"));
}

static void directories_are_made_with_their_parents(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/a/b/c", test_tmpfile("dirs"));
    huella_error err;
    assert_int_equal(huella_dir_make(dir, 0700, &err), HUELLA_OK);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* existing directories are fine */
    assert_int_equal(huella_dir_make(dir, 0700, &err), HUELLA_OK);
    /* a file in the way is named with the reason */
    char file[700], below[760];
    snprintf(file, sizeof(file), "%s/f", dir);
    assert_int_equal(huella_file_write(file, "x", 1, &err), HUELLA_OK);
    snprintf(below, sizeof(below), "%s/g", file);
    assert_int_equal(huella_dir_make(below, 0700, &err), HUELLA_E_IO);
    assert_non_null(strstr(err.message, below));
    assert_non_null(strstr(err.message, "cannot create directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_then_read_gives_the_same_bytes),
        cmocka_unit_test(size_limit_is_enforced_before_reading),
        cmocka_unit_test(missing_files_and_directories_are_named),
        cmocka_unit_test(directories_are_made_with_their_parents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
