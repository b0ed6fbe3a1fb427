/*
 * mrz.c - machine-readable zones of travel documents.
 *
 * Implements ICAO Doc 9303 (8th edition, 2021): Part 3 section 4.9 (check
 * digits: weights 7, 3, 1 repeating; 0-9 their value, A-Z 10-35, '<' 0;
 * sum modulo 10), Part 4 (TD3 and machine-readable passports), Part 5
 * (TD1, including the long-document-number rule: when the number has
 * more than nine characters, the check-digit position holds '<' and the
 * rest of the number, then its check digit, open the optional data
 * field), Part 6 (TD2, with the same rule) and Part 7 (MRV-A and MRV-B
 * visas, which have no composite check digit).
 *
 * Contract: huella_mrz_parse accepts only lines of A-Z, 0-9 and '<' of one
 * of the five shapes, and fails with HUELLA_E_INPUT otherwise.  Within a
 * well-shaped zone nothing is corrected: every check digit is recomputed
 * and reported, dates and sex are validated, and characters that OCR
 * confuses (O/0, I/1, B/8, S/5, and the like) standing in a field of the
 * other kind are reported as problems.  `valid` is true only when every
 * check digit agrees and there is no problem.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/mrz.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_LINE 44

typedef struct zone {
    char line[3][MAX_LINE + 1];
    size_t n_lines, width;
} zone;

const char *huella_mrz_format_name(huella_mrz_format format)
{
    switch (format) {
    case HUELLA_MRZ_TD1:
        return "TD1";
    case HUELLA_MRZ_TD2:
        return "TD2";
    case HUELLA_MRZ_TD3:
        return "TD3";
    case HUELLA_MRZ_MRV_A:
        return "MRV-A";
    case HUELLA_MRZ_MRV_B:
        return "MRV-B";
    }
    return "unknown";
}

static int char_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    if (c == '<')
        return 0;
    return -1;
}

char huella_mrz_check_digit(const char *field, size_t len)
{
    static const int weight[3] = {7, 3, 1};
    int sum = 0;
    for (size_t i = 0; i < len; i++) {
        int v = char_value(field[i]);
        if (v < 0)
            return '?';
        sum += v * weight[i % 3];
    }
    return (char)('0' + sum % 10);
}

static void add_problem(huella_mrz *m, const char *fmt, ...) HUELLA_PRINTF(2, 3);

static void add_problem(huella_mrz *m, const char *fmt, ...)
{
    if (m->n_problems >= HUELLA_MRZ_MAX_PROBLEM)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->problems[m->n_problems++], sizeof(m->problems[0]), fmt, ap);
    va_end(ap);
}

/* Letters that OCR reads for digits and the digit each stands for. */
static char digit_lookalike(char c)
{
    switch (c) {
    case 'O':
    case 'D':
    case 'Q':
        return '0';
    case 'I':
    case 'L':
        return '1';
    case 'Z':
        return '2';
    case 'S':
        return '5';
    case 'G':
        return '6';
    case 'B':
        return '8';
    default:
        return 0;
    }
}

/* Digits that OCR reads for letters and the letter each stands for. */
static char letter_lookalike(char c)
{
    switch (c) {
    case '0':
        return 'O';
    case '1':
        return 'I';
    case '2':
        return 'Z';
    case '5':
        return 'S';
    case '6':
        return 'G';
    case '8':
        return 'B';
    default:
        return 0;
    }
}

/* A field that must hold digits (or fillers where allow_filler). */
static void check_numeric(huella_mrz *m, const char *field, const char *s, size_t len,
                          bool allow_filler)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (isdigit((unsigned char)c) || (allow_filler && c == '<'))
            continue;
        char d = digit_lookalike(c);
        char hint[32];
        if (d)
            snprintf(hint, sizeof(hint), " (OCR confusion for %c?)", d);
        else
            hint[0] = '\0';
        add_problem(m, "%s: '%c' at position %zu where a digit is expected%s", field, c, i + 1,
                    hint);
    }
}

/* A field that must hold letters and fillers. */
static void check_alpha(huella_mrz *m, const char *field, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if ((c >= 'A' && c <= 'Z') || c == '<')
            continue;
        char l = letter_lookalike(c);
        char hint[32];
        if (l)
            snprintf(hint, sizeof(hint), " (OCR confusion for %c?)", l);
        else
            hint[0] = '\0';
        add_problem(m, "%s: '%c' at position %zu where a letter is expected%s", field, c, i + 1,
                    hint);
    }
}

/* Copy a field without its trailing fillers; inner fillers stay. */
static void copy_trimmed(char *dst, size_t cap, const char *src, size_t len)
{
    while (len > 0 && src[len - 1] == '<')
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Fillers removed entirely (document code, state codes). */
static void copy_letters(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap; i++)
        if (src[i] != '<')
            dst[n++] = src[i];
    dst[n] = '\0';
}

/* Runs of fillers become one space; leading and trailing ones vanish. */
static void copy_name_part(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;
    bool gap = false;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '<') {
            gap = n > 0;
            continue;
        }
        if (gap && n + 1 < cap)
            dst[n++] = ' ';
        gap = false;
        if (n + 1 < cap)
            dst[n++] = src[i];
    }
    dst[n] = '\0';
}

static void parse_name(huella_mrz *m, const char *s, size_t len)
{
    check_alpha(m, "name", s, len);
    const char *sep = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '<' && s[i + 1] == '<') {
            sep = s + i;
            break;
        }
    if (sep == NULL) {
        copy_name_part(m->surname, sizeof(m->surname), s, len);
        m->given_names[0] = '\0';
        return;
    }
    copy_name_part(m->surname, sizeof(m->surname), s, (size_t)(sep - s));
    copy_name_part(m->given_names, sizeof(m->given_names), sep + 2, len - (size_t)(sep - s) - 2);
}

static void add_check(huella_mrz *m, const char *field, const char *data, size_t len, char printed,
                      bool filler_allowed_when_empty)
{
    if (m->n_checks >= HUELLA_MRZ_MAX_CHECKS)
        return;
    huella_mrz_check *c = &m->checks[m->n_checks++];
    c->field = field;
    c->printed = printed;
    c->computed = huella_mrz_check_digit(data, len);
    bool empty = true;
    for (size_t i = 0; i < len; i++)
        empty = empty && data[i] == '<';
    c->ok = printed == c->computed || (filler_allowed_when_empty && empty && printed == '<');
    if (!isdigit((unsigned char)printed) && printed != '<') {
        char d = digit_lookalike(printed);
        char hint[32];
        if (d)
            snprintf(hint, sizeof(hint), " (OCR confusion for %c?)", d);
        else
            hint[0] = '\0';
        add_problem(m, "%s check digit: '%c' is not a digit%s", field, printed, hint);
    }
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int mth)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mth == 2 && (y == 0 || is_leap(y)) ? 29 : days[mth - 1];
}

static int two_digits(const char *s)
{
    if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]))
        return (s[0] - '0') * 10 + (s[1] - '0');
    if (s[0] == '<' && s[1] == '<')
        return -1; /* unknown */
    return -2;     /* neither */
}

typedef struct capture_date {
    int year, month, day;
} capture_date;

/* Resolve YYMMDD.  Birth dates are never after the capture date; other
 * dates lie within 50 years of it either way. */
static void parse_date(huella_mrz *m, const char *field, const char *s, bool birth,
                       const capture_date *cap, huella_mrz_date *d)
{
    memcpy(d->printed, s, 6);
    d->printed[6] = '\0';
    check_numeric(m, field, s, 6, true);
    int yy = two_digits(s), mm = two_digits(s + 2), dd = two_digits(s + 4);
    d->year = d->month = d->day = 0;
    d->valid = false;
    if (yy == -2 || mm == -2 || dd == -2) {
        add_problem(m, "%s: %.6s is not a date (YYMMDD, '<' for unknown parts)", field, s);
        return;
    }
    if (yy >= 0) {
        int year = (cap->year / 100) * 100 + yy;
        if (birth) {
            if (year > cap->year || (year == cap->year && mm > 0 &&
                                     (mm > cap->month || (mm == cap->month && dd > cap->day))))
                year -= 100;
        } else {
            if (year > cap->year + 50)
                year -= 100;
            else if (year < cap->year - 50)
                year += 100;
        }
        d->year = year;
    }
    if (mm == 0 || mm > 12) {
        add_problem(m, "%s: month %.2s is not 01 to 12", field, s + 2);
        return;
    }
    if (dd == 0 || (dd > 0 && mm > 0 && dd > days_in_month(d->year, mm)) || dd > 31) {
        add_problem(m, "%s: day %.2s does not exist in month %.2s", field, s + 4, s + 2);
        return;
    }
    if (mm < 0 && dd > 0) {
        add_problem(m, "%s: a day is given without a month", field);
        return;
    }
    d->month = mm > 0 ? mm : 0;
    d->day = dd > 0 ? dd : 0;
    d->valid = true;
}

static void parse_sex(huella_mrz *m, char c)
{
    if (c == 'M' || c == 'F' || c == 'X')
        m->sex = c;
    else if (c == '<')
        m->sex = 'X';
    else {
        m->sex = '?';
        add_problem(m, "sex: '%c' is not M, F, X or <", c);
    }
}

/* The document number field (9 characters + check digit) with the
 * overflow rule: a '<' check digit after a full field means that the
 * number continues in `overflow`, ending with its check digit before the
 * first filler. */
static void parse_document_number(huella_mrz *m, const char *field9, char check,
                                  const char *overflow, size_t overflow_len)
{
    char number[40];
    size_t n = 0;
    memcpy(number, field9, 9);
    n = 9;
    char printed = check;
    if (check == '<' && field9[8] != '<' && overflow_len > 0 && overflow[0] != '<') {
        size_t k = 0;
        while (k < overflow_len && overflow[k] != '<')
            k++;
        /* overflow[0..k-1]: the rest of the number, then its check digit */
        if (k >= 2 && n + k - 1 < sizeof(number)) {
            memcpy(number + n, overflow, k - 1);
            n += k - 1;
            printed = overflow[k - 1];
        }
    }
    add_check(m, "document_number", number, n, printed, false);
    copy_trimmed(m->document_number, sizeof(m->document_number), number, n);
}

static void add_optional(huella_mrz *m, const char *s, size_t len)
{
    if (m->n_optional >= 2)
        return;
    copy_trimmed(m->optional_data[m->n_optional], sizeof(m->optional_data[0]), s, len);
    /* leading fillers too */
    char *o = m->optional_data[m->n_optional];
    size_t lead = strspn(o, "<");
    memmove(o, o + lead, strlen(o + lead) + 1);
    if (o[0] != '\0')
        m->n_optional++;
}

/* Fields shared by line 1 of every format. */
static void parse_header(huella_mrz *m, const char *l1)
{
    check_alpha(m, "document_code", l1, 2);
    copy_letters(m->document_code, sizeof(m->document_code), l1, 2);
    check_alpha(m, "issuing_state", l1 + 2, 3);
    copy_letters(m->issuing_state, sizeof(m->issuing_state), l1 + 2, 3);
}

/* Dates, sex and nationality in the order TD2, TD3 and visas use:
 * nationality(3) dob(6) check sex expiry(6) check, starting at l2 + 10. */
static void parse_middle(huella_mrz *m, const char *l2, const capture_date *cap)
{
    check_alpha(m, "nationality", l2 + 10, 3);
    copy_letters(m->nationality, sizeof(m->nationality), l2 + 10, 3);
    parse_date(m, "birth_date", l2 + 13, true, cap, &m->birth_date);
    add_check(m, "birth_date", l2 + 13, 6, l2[19], true);
    parse_sex(m, l2[20]);
    parse_date(m, "expiry_date", l2 + 21, false, cap, &m->expiry_date);
    add_check(m, "expiry_date", l2 + 21, 6, l2[27], true);
}

static void parse_td1(huella_mrz *m, const zone *z, const capture_date *cap)
{
    const char *l1 = z->line[0], *l2 = z->line[1];
    parse_header(m, l1);
    parse_document_number(m, l1 + 5, l1[14], l1 + 15, 15);
    add_optional(m, l1 + 15, 15);
    parse_date(m, "birth_date", l2, true, cap, &m->birth_date);
    add_check(m, "birth_date", l2, 6, l2[6], true);
    parse_sex(m, l2[7]);
    parse_date(m, "expiry_date", l2 + 8, false, cap, &m->expiry_date);
    add_check(m, "expiry_date", l2 + 8, 6, l2[14], true);
    check_alpha(m, "nationality", l2 + 15, 3);
    copy_letters(m->nationality, sizeof(m->nationality), l2 + 15, 3);
    add_optional(m, l2 + 18, 11);
    char composite[60];
    memcpy(composite, l1 + 5, 25);
    memcpy(composite + 25, l2, 7);
    memcpy(composite + 32, l2 + 8, 7);
    memcpy(composite + 39, l2 + 18, 11);
    add_check(m, "composite", composite, 50, l2[29], false);
    parse_name(m, z->line[2], 30);
}

static void parse_two_line(huella_mrz *m, const zone *z, const capture_date *cap)
{
    const char *l1 = z->line[0], *l2 = z->line[1];
    size_t w = z->width;
    parse_header(m, l1);
    parse_name(m, l1 + 5, w - 5);
    bool long_number = m->format == HUELLA_MRZ_TD2;
    parse_document_number(m, l2, l2[9], long_number ? l2 + 28 : "", long_number ? 7 : 0);
    parse_middle(m, l2, cap);
    switch (m->format) {
    case HUELLA_MRZ_TD2:
        add_optional(m, l2 + 28, 7);
        break;
    case HUELLA_MRZ_TD3:
        add_optional(m, l2 + 28, 14);
        add_check(m, "personal_number", l2 + 28, 14, l2[42], true);
        break;
    case HUELLA_MRZ_MRV_A:
        add_optional(m, l2 + 28, 16);
        break;
    default:
        add_optional(m, l2 + 28, 8);
        break;
    }
    if (m->format == HUELLA_MRZ_TD2 || m->format == HUELLA_MRZ_TD3) {
        char composite[60];
        size_t tail = w - 1 - 21; /* expiry, its check and the optional data */
        memcpy(composite, l2, 10);
        memcpy(composite + 10, l2 + 13, 7);
        memcpy(composite + 17, l2 + 21, tail);
        add_check(m, "composite", composite, 17 + tail, l2[w - 1], false);
    }
}

static huella_status read_lines(const char *const *lines, size_t n, zone *z, huella_error *err)
{
    if (n < 2 || n > 3)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "MRZ: %zu lines; a zone has 2 (TD2, TD3, visas) or 3 (TD1)", n);
    z->n_lines = n;
    for (size_t i = 0; i < n; i++) {
        const char *s = lines[i];
        size_t len = strlen(s);
        while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        while (len > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        if (len > MAX_LINE)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "MRZ line %zu: %zu characters; lines have 30, 36 or 44", i + 1,
                                    len);
        for (size_t k = 0; k < len; k++) {
            char c = s[k];
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '<'))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "MRZ line %zu, position %zu: character 0x%02x is not A-Z, "
                                        "0-9 or <",
                                        i + 1, k + 1, (unsigned char)c);
        }
        memcpy(z->line[i], s, len);
        z->line[i][len] = '\0';
        if (i == 0)
            z->width = len;
        else if (len != z->width)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "MRZ line %zu: %zu characters where line 1 has %zu", i + 1, len,
                                    z->width);
    }
    if (!((n == 3 && z->width == 30) || (n == 2 && (z->width == 36 || z->width == 44))))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "MRZ: %zu lines of %zu characters is no ICAO 9303 format "
                                "(TD1 3 x 30, TD2 and MRV-B 2 x 36, TD3 and MRV-A 2 x 44)",
                                n, z->width);
    return HUELLA_OK;
}

huella_status huella_mrz_parse(const char *const *lines, size_t n_lines, int capture_year,
                               int capture_month, int capture_day, huella_mrz *out,
                               huella_error *err)
{
    memset(out, 0, sizeof(*out));
    zone z;
    huella_status st = read_lines(lines, n_lines, &z, err);
    if (st != HUELLA_OK)
        return st;
    capture_date cap = {capture_year, capture_month, capture_day};
    if (cap.year <= 0) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        cap.year = tm.tm_year + 1900;
        cap.month = tm.tm_mon + 1;
        cap.day = tm.tm_mday;
    }
    bool visa = z.line[0][0] == 'V';
    if (z.n_lines == 3)
        out->format = HUELLA_MRZ_TD1;
    else if (z.width == 36)
        out->format = visa ? HUELLA_MRZ_MRV_B : HUELLA_MRZ_TD2;
    else
        out->format = visa ? HUELLA_MRZ_MRV_A : HUELLA_MRZ_TD3;
    if (out->format == HUELLA_MRZ_TD1)
        parse_td1(out, &z, &cap);
    else
        parse_two_line(out, &z, &cap);
    out->valid = out->n_problems == 0;
    for (size_t i = 0; i < out->n_checks; i++)
        out->valid = out->valid && out->checks[i].ok;
    return HUELLA_OK;
}
