/*
 * support.h - helpers shared by the unit tests: where the development data
 * is, a scratch directory per test program, running the huella command.
 */
#ifndef HUELLA_TEST_SUPPORT_H
#define HUELLA_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Full path of a file under ../shared/data (HUELLA_DATA_DIR); static buffer
 * rotated over 8 slots so that a few may be used in one expression. */
const char *test_data(const char *relative);
/* True when the development data is present. */
bool test_have_data(void);
/* A scratch directory for this test program, created empty on first use. */
const char *test_tmpdir(void);
/* Full path of a file in the scratch directory (rotating static buffers). */
const char *test_tmpfile(const char *name);

/* Run the huella command with the given arguments (NULL-terminated) and
 * optional standard input; capture stdout and stderr (caller frees) and
 * return the exit status, or -1 if it could not be run or was killed. */
int test_run_huella(const char *const *argv, const char *stdin_text, char **out, char **err);

/* Run the huella command, fail the test unless it exits with `want`, and
 * return its standard output parsed as JSON (caller json_decref()s). */
struct json_t;
struct json_t *test_run_huella_json(int want, const char *const *argv);

/* Read a whole file; caller frees. */
uint8_t *test_read_file(const char *path, size_t *len);
/* Write a whole file; false on failure. */
bool test_write_file(const char *path, const void *data, size_t len);

/* |a - b| <= eps for doubles (cmocka 1.1.5 only compares floats). */
void test_assert_near(double a, double b, double eps, const char *a_text, const char *b_text,
                      const char *file, int line);
#ifndef assert_double_equal
#define assert_double_equal(a, b, eps)                                                             \
    test_assert_near((double)(a), (double)(b), (double)(eps), #a, #b, __FILE__, __LINE__)
#endif

#endif
