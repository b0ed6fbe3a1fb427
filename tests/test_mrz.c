/*
 * test_mrz.c - ICAO Doc 9303 machine-readable zones: every specimen of the
 * development data parses to its expected fields, and corruptions are caught.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/mrz.h"
#include "support.h"

#define CAPTURE 2026, 11, 26

/* The value of key='...' in an EXPECT line, or NULL. */
static bool spec_field(const char *line, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof(pat), " %s='", key);
    const char *p = strstr(line, pat);
    if (p == NULL)
        return false;
    p += strlen(pat);
    const char *e = strchr(p, '\'');
    if (e == NULL || (size_t)(e - p) >= cap)
        return false;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return true;
}

static void compare_with_spec(const huella_mrz *m, const char *expect, const char *name)
{
    static const struct {
        const char *key;
        size_t offset;
    } fields[] = {
        {"doc", offsetof(huella_mrz, document_code)},
        {"state", offsetof(huella_mrz, issuing_state)},
        {"docno", offsetof(huella_mrz, document_number)},
        {"nat", offsetof(huella_mrz, nationality)},
        {"sur", offsetof(huella_mrz, surname)},
        {"given", offsetof(huella_mrz, given_names)},
    };
    char want[64];
    assert_true(spec_field(expect, "fmt", want, sizeof(want)));
    if (strcmp(want, huella_mrz_format_name(m->format)) != 0)
        fail_msg("%s: format %s, expected %s", name, huella_mrz_format_name(m->format), want);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        assert_true(spec_field(expect, fields[i].key, want, sizeof(want)));
        const char *got = (const char *)m + fields[i].offset;
        if (strcmp(got, want) != 0)
            fail_msg("%s: %s is '%s', expected '%s'", name, fields[i].key, got, want);
    }
    assert_true(spec_field(expect, "dob", want, sizeof(want)));
    assert_string_equal(m->birth_date.printed, want);
    assert_true(spec_field(expect, "exp", want, sizeof(want)));
    assert_string_equal(m->expiry_date.printed, want);
    assert_true(spec_field(expect, "sex", want, sizeof(want)));
    assert_int_equal(m->sex, want[0]);
    /* optional=['A', 'B'] or [] */
    const char *opt = strstr(expect, "optional=[");
    assert_non_null(opt);
    opt += strlen("optional=[");
    size_t k = 0;
    while (*opt == '\'') {
        const char *e = strchr(opt + 1, '\'');
        assert_non_null(e);
        assert_true(k < m->n_optional);
        if (strncmp(m->optional_data[k], opt + 1, (size_t)(e - opt - 1)) != 0 ||
            strlen(m->optional_data[k]) != (size_t)(e - opt - 1))
            fail_msg("%s: optional data %zu is '%s'", name, k, m->optional_data[k]);
        k++;
        opt = e + 1;
        while (*opt == ',' || *opt == ' ')
            opt++;
    }
    assert_int_equal(k, m->n_optional);
    if (strstr(expect, "checkdigits=ALL_VALID") != NULL && !m->valid)
        fail_msg("%s: not valid (%zu problems; first: %s)", name, m->n_problems,
                 m->n_problems ? m->problems[0] : "check digit");
}

typedef struct specimen {
    char name[96];
    char lines[3][64];
    size_t n;
    char expect[512];
} specimen;

static size_t load_specimens(specimen *out, size_t cap)
{
    size_t len;
    char *text = (char *)test_read_file(test_data("documents/mrz-specimens.txt"), &len);
    assert_non_null(text);
    size_t n = 0;
    specimen cur = {0};
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# [", 3) == 0) {
            memset(&cur, 0, sizeof(cur));
            snprintf(cur.name, sizeof(cur.name), "%.90s", line + 2);
        } else if (strncmp(line, "MRZ: ", 5) == 0 && cur.n < 3) {
            snprintf(cur.lines[cur.n++], sizeof(cur.lines[0]), "%s", line + 5);
        } else if (strncmp(line, "EXPECT: ", 8) == 0 && n < cap) {
            snprintf(cur.expect, sizeof(cur.expect), " %s", line + 8);
            out[n++] = cur;
        }
    }
    free(text);
    return n;
}

static huella_mrz parse_specimen(const specimen *s)
{
    const char *lines[3] = {s->lines[0], s->lines[1], s->lines[2]};
    huella_mrz m;
    huella_error err;
    if (huella_mrz_parse(lines, s->n, CAPTURE, &m, &err) != HUELLA_OK)
        fail_msg("%s: %s", s->name, err.message);
    return m;
}

static void every_specimen_parses_to_its_expected_fields(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    specimen sp[32];
    size_t n = load_specimens(sp, 32);
    assert_true(n >= 8);
    bool seen[6] = {false};
    for (size_t i = 0; i < n; i++) {
        huella_mrz m = parse_specimen(&sp[i]);
        compare_with_spec(&m, sp[i].expect, sp[i].name);
        seen[m.format] = true;
    }
    for (int f = HUELLA_MRZ_TD1; f <= HUELLA_MRZ_MRV_B; f++)
        if (!seen[f])
            fail_msg("no specimen of %s", huella_mrz_format_name((huella_mrz_format)f));
}

/* Positions covered by check digits, per line: [start, end) pairs. */
static size_t protected_spans(const huella_mrz *m, size_t line, size_t spans[][2])
{
    switch (m->format) {
    case HUELLA_MRZ_TD1:
        if (line == 0) {
            spans[0][0] = 5, spans[0][1] = 30;
            return 1;
        }
        if (line == 1) { /* the sex, position 8, has no check digit */
            spans[0][0] = 0, spans[0][1] = 7;
            spans[1][0] = 8, spans[1][1] = 15;
            spans[2][0] = 18, spans[2][1] = 30;
            return 3;
        }
        return 0;
    case HUELLA_MRZ_TD2:
    case HUELLA_MRZ_TD3:
        if (line != 1)
            return 0;
        spans[0][0] = 0, spans[0][1] = 10;
        spans[1][0] = 13, spans[1][1] = 20;
        spans[2][0] = 21, spans[2][1] = m->format == HUELLA_MRZ_TD3 ? 44 : 36;
        return 3;
    default:
        if (line != 1)
            return 0;
        spans[0][0] = 0, spans[0][1] = 10;
        spans[1][0] = 13, spans[1][1] = 20;
        spans[2][0] = 21, spans[2][1] = 28;
        return 3;
    }
}

/*
 * Change one character of a protected field to every other character:
 * the zone must come out invalid.  The ICAO check digit is a weighted sum
 * modulo 10, so it cannot see a change by a multiple of 10 in value (0,
 * A, K, U and '<' all weigh 0 or 10): those substitutions are skipped
 * where both characters are legal in the field (document number and
 * optional data); in numeric fields a letter is reported as a problem.
 */
static void single_character_corruptions_are_caught(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";
    specimen sp[32];
    size_t n = load_specimens(sp, 32);
    size_t tried = 0;
    for (size_t i = 0; i < n; i++) {
        huella_mrz clean = parse_specimen(&sp[i]);
        for (size_t line = 0; line < sp[i].n; line++) {
            size_t spans[3][2];
            size_t ns = protected_spans(&clean, line, spans);
            for (size_t s = 0; s < ns; s++)
                for (size_t pos = spans[s][0]; pos < spans[s][1]; pos++) {
                    char orig = sp[i].lines[line][pos];
                    for (const char *a = alphabet; *a; a++) {
                        int vo = orig == '<' ? 0 : orig <= '9' ? orig - '0' : orig - 'A' + 10;
                        int va = *a == '<' ? 0 : *a <= '9' ? *a - '0' : *a - 'A' + 10;
                        if (*a == orig || (vo - va) % 10 == 0)
                            continue;
                        specimen bad = sp[i];
                        bad.lines[line][pos] = *a;
                        huella_mrz m = parse_specimen(&bad);
                        tried++;
                        if (m.valid)
                            fail_msg("%s: line %zu position %zu '%c' -> '%c' went unnoticed",
                                     sp[i].name, line + 1, pos + 1, orig, *a);
                    }
                }
        }
    }
    assert_true(tried > 10000);
}

static void dates_get_their_century_from_the_capture_date(void **state)
{
    (void)state;
    const char *td3[] = {"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                         "L898902C36UTO7408122F1204159ZE184226B<<<<<10"};
    huella_mrz m;
    huella_error err;
    assert_int_equal(huella_mrz_parse(td3, 2, 2026, 11, 26, &m, &err), HUELLA_OK);
    assert_int_equal(m.birth_date.year, 1974);
    assert_int_equal(m.expiry_date.year, 2012);
    /* A birth in "12" seen in 2011 is 1912; seen in 2013 it is 2012. */
    const char *young[] = {"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                           "L898902C36UTO1204159F1204159ZE184226B<<<<<<0"};
    assert_int_equal(huella_mrz_parse(young, 2, 2011, 1, 1, &m, &err), HUELLA_OK);
    assert_int_equal(m.birth_date.year, 1912);
    assert_int_equal(huella_mrz_parse(young, 2, 2013, 1, 1, &m, &err), HUELLA_OK);
    assert_int_equal(m.birth_date.year, 2012);
    assert_int_equal(m.birth_date.month, 4);
    assert_int_equal(m.birth_date.day, 15);
}

static void ocr_confusions_are_reported_not_corrected(void **state)
{
    (void)state;
    /* O for 0 in the birth date, and 0 for O in the surname. */
    const char *td3[] = {"P<UTOERIKSS0N<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                         "L898902C36UTO74O8122F1204159ZE184226B<<<<<10"};
    huella_mrz m;
    huella_error err;
    assert_int_equal(huella_mrz_parse(td3, 2, CAPTURE, &m, &err), HUELLA_OK);
    assert_false(m.valid);
    assert_string_equal(m.surname, "ERIKSS0N"); /* kept as printed */
    bool date = false, name = false;
    for (size_t i = 0; i < m.n_problems; i++) {
        date = date || (strstr(m.problems[i], "birth_date: 'O'") != NULL &&
                        strstr(m.problems[i], "OCR confusion for 0") != NULL);
        name = name || (strstr(m.problems[i], "name: '0'") != NULL &&
                        strstr(m.problems[i], "OCR confusion for O") != NULL);
    }
    assert_true(date);
    assert_true(name);
    assert_false(m.checks[1].ok); /* birth_date */
    assert_string_equal(m.checks[1].field, "birth_date");
}

static void malformed_zones_are_refused_with_a_reason(void **state)
{
    (void)state;
    huella_mrz m;
    huella_error err;
    const char *one[] = {"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"};
    assert_int_equal(huella_mrz_parse(one, 1, CAPTURE, &m, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "1 lines"));
    const char *uneven[] = {"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO"};
    assert_int_equal(huella_mrz_parse(uneven, 2, CAPTURE, &m, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "line 2: 13 characters"));
    const char *lower[] = {"P<UTOEriksson<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                           "L898902C36UTO7408122F1204159ZE184226B<<<<<10"};
    assert_int_equal(huella_mrz_parse(lower, 2, CAPTURE, &m, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "line 1, position 7"));
    const char *shape[] = {"ABC", "DEF", "GHI"};
    assert_int_equal(huella_mrz_parse(shape, 3, CAPTURE, &m, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "no ICAO 9303 format"));
}

static void check_digit_follows_doc_9303(void **state)
{
    (void)state;
    /* Doc 9303 Part 3 worked example: 520727 -> 3; L898902C3 -> 6. */
    assert_int_equal(huella_mrz_check_digit("520727", 6), '3');
    assert_int_equal(huella_mrz_check_digit("L898902C3", 9), '6');
    assert_int_equal(huella_mrz_check_digit("<<<<<<", 6), '0');
    assert_int_equal(huella_mrz_check_digit("ab", 2), '?');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_specimen_parses_to_its_expected_fields),
        cmocka_unit_test(single_character_corruptions_are_caught),
        cmocka_unit_test(dates_get_their_century_from_the_capture_date),
        cmocka_unit_test(ocr_confusions_are_reported_not_corrected),
        cmocka_unit_test(malformed_zones_are_refused_with_a_reason),
        cmocka_unit_test(check_digit_follows_doc_9303),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
