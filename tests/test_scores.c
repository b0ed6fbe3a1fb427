/*
 * test_scores.c - the scores-file format of `huella eval scores`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/eval.h"
#include "support.h"

static huella_status parse(const char *text, huella_error *err, size_t *ng, size_t *ni, double **g,
                           double **i)
{
    return huella_eval_scores_parse(text, strlen(text), g, ng, i, ni, err);
}

static void valid_lines_with_comments_tabs_and_crlf(void **state)
{
    (void)state;
    const char *text = "# a comment\n"
                       "g 0.9\r\n"
                       "\n"
                       "  i\t-1.5e-3  \n"
                       "g\t42\n"
                       "   # indented comment\n"
                       "i 7"; /* no final newline */
    double *g, *i;
    size_t ng, ni;
    huella_error err;
    assert_int_equal(parse(text, &err, &ng, &ni, &g, &i), HUELLA_OK);
    assert_int_equal(ng, 2);
    assert_int_equal(ni, 2);
    assert_double_equal(g[0], 0.9, 0);
    assert_double_equal(g[1], 42, 0);
    assert_double_equal(i[0], -1.5e-3, 0);
    assert_double_equal(i[1], 7, 0);
    free(g);
    free(i);
}

static void expect_error(const char *text, const char *fragment)
{
    double *g = NULL, *i = NULL;
    size_t ng, ni;
    huella_error err;
    assert_int_equal(parse(text, &err, &ng, &ni, &g, &i), HUELLA_E_INPUT);
    assert_null(g);
    assert_null(i);
    if (strstr(err.message, fragment) == NULL)
        fail_msg("message '%s' lacks '%s'", err.message, fragment);
}

static void errors_name_the_line_and_the_problem(void **state)
{
    (void)state;
    expect_error("g 1\nx 2\n", "line 2: label 'x' is not g (genuine) or i (impostor)");
    expect_error("g 1\ni\n", "line 2: missing score");
    expect_error("i abc\n", "line 1: score 'abc' is not a number");
    expect_error("g 1\n\ng nan\n", "line 3: score 'nan' is not finite");
    expect_error("g inf\n", "line 1: score 'inf' is not finite");
    expect_error("g 1e999\n", "line 1: score '1e999' is not finite");
    expect_error("g 1 2\n", "line 1: unexpected text '2'");
    expect_error("genuine 1\n", "line 1: label 'genuine'");
    expect_error("", "no scores");
    expect_error("# only a comment\n", "no scores");
}

static void nul_bytes_are_rejected(void **state)
{
    (void)state;
    const char text[] = "g 1\ni 2\0x\n";
    double *g, *i;
    size_t ng, ni;
    huella_error err;
    assert_int_equal(huella_eval_scores_parse(text, sizeof(text) - 1, &g, &ng, &i, &ni, &err),
                     HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "line 2"));
}

static void overlong_lines_are_rejected(void **state)
{
    (void)state;
    char text[600];
    memset(text, ' ', sizeof(text));
    memcpy(text + 500, "g 1", 3);
    text[599] = '\0';
    double *g, *i;
    size_t ng, ni;
    huella_error err;
    assert_int_equal(huella_eval_scores_parse(text, strlen(text), &g, &ng, &i, &ni, &err),
                     HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "line 1: longer than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_lines_with_comments_tabs_and_crlf),
        cmocka_unit_test(errors_name_the_line_and_the_problem),
        cmocka_unit_test(nul_bytes_are_rejected),
        cmocka_unit_test(overlong_lines_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
