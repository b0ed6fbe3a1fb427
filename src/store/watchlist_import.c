/*
 * watchlist_import.c - reading watchlist files: CSV (RFC 4180) and JSON.
 *
 * Contract: wl_parse reads a whole file, checks every field of every entry
 * against the schema of docs/watchlists.md and reports every problem with
 * where it is (the CSV line on which the record starts, or the JSON entry
 * index) and which field; entries that pass go to a callback.  It never
 * stops at the first problem, so that one import run lists everything a
 * data owner has to fix.  It does not touch the database: the importer in
 * watchlist.c calls it inside one transaction and rolls back on any
 * problem (all or nothing).
 *
 * Relies on: jansson for JSON.  Dates are ISO 8601 calendar dates; the
 * grading is the Admiralty code of NATO STANAG 2511 (source reliability
 * A-F, information credibility 1-6).
 */
#define _POSIX_C_SOURCE 200809L
#include "watchlist_internal.h"

#include <jansson.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Problems --------------------------------------------------------------- */

#define MAX_PROBLEMS 1000 /* beyond this, one line says how many more */

void wl_problem(wl_problems *p, const char *fmt, ...)
{
    p->n++;
    if (p->nomem || p->n > MAX_PROBLEMS + 1)
        return;
    char line[600];
    if (p->n == MAX_PROBLEMS + 1) {
        snprintf(line, sizeof(line), "(further problems not listed)");
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
    }
    /* A message may quote the file (a column name, a value): control
     * characters in it would break the one-problem-per-line listing. */
    for (char *c = line; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    size_t need = strlen(line) + 2;
    if (p->len + need > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        while (cap < p->len + need)
            cap *= 2;
        char *t = realloc(p->text, cap);
        if (t == NULL) {
            p->nomem = true;
            return;
        }
        p->text = t;
        p->cap = cap;
    }
    memcpy(p->text + p->len, line, need - 2);
    p->len += need - 2;
    p->text[p->len++] = '\n';
    p->text[p->len] = '\0';
}

void wl_problems_free(wl_problems *p)
{
    free(p->text);
    memset(p, 0, sizeof(*p));
}

/* ---- Dates -------------------------------------------------------------------- */

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

huella_status huella_partial_date_parse(const char *s, huella_partial_date *out, huella_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(s);
    if (!(len == 4 || len == 7 || len == 10) || !digits(s, 4) ||
        (len >= 7 && (s[4] != '-' || !digits(s + 5, 2))) ||
        (len == 10 && (s[7] != '-' || !digits(s + 8, 2))))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "'%.40s' is not a date: want YYYY, YYYY-MM or YYYY-MM-DD", s);
    int y = atoi(s);
    int m = len >= 7 ? (s[5] - '0') * 10 + (s[6] - '0') : 0;
    int d = len == 10 ? (s[8] - '0') * 10 + (s[9] - '0') : 0;
    if (y < 1800 || y > 2200)
        return huella_error_set(err, HUELLA_E_INPUT, "'%s': year %d out of range 1800..2200", s, y);
    if (len >= 7 && (m < 1 || m > 12))
        return huella_error_set(err, HUELLA_E_INPUT, "'%s': month %d is not 01..12", s, m);
    if (len == 10 && (d < 1 || d > days_in_month(y, m)))
        return huella_error_set(err, HUELLA_E_INPUT, "'%s': %04d-%02d has no day %d", s, y, m, d);
    out->year = y;
    out->month = m;
    out->day = d;
    return HUELLA_OK;
}

void huella_partial_date_format(const huella_partial_date *d, char *buf, size_t size)
{
    if (d->month == 0)
        snprintf(buf, size, "%04d", d->year);
    else if (d->day == 0)
        snprintf(buf, size, "%04d-%02d", d->year, d->month);
    else
        snprintf(buf, size, "%04d-%02d-%02d", d->year, d->month, d->day);
}

long wl_days(const huella_partial_date *d)
{
    /* Days from civil (Howard Hinnant's algorithm for the proleptic
     * Gregorian calendar). */
    long y = d->year - (d->month <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long mp = (d->month + 9) % 12;
    long doy = (153 * mp + 2) / 5 + d->day - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

huella_status wl_today(const char *s, huella_partial_date *out, huella_error *err)
{
    if (s != NULL) {
        huella_status st = huella_partial_date_parse(s, out, err);
        if (st == HUELLA_OK && out->day == 0)
            st = huella_error_set(err, HUELLA_E_INPUT, "'%s': today must be a full date", s);
        return st;
    }
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL)
        return huella_error_set(err, HUELLA_E_INTERNAL, "cannot read the clock");
    out->year = tm.tm_year + 1900;
    out->month = tm.tm_mon + 1;
    out->day = tm.tm_mday;
    return HUELLA_OK;
}

void wl_document_key(const char *number, char *key, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; number[i] != '\0' && o + 1 < size; i++) {
        unsigned char c = (unsigned char)number[i];
        if (isalnum(c) && c < 128)
            key[o++] = (char)toupper(c);
    }
    key[o] = '\0';
}

/* ---- Categories and grading ---------------------------------------------- */

static const char *const category_names[] = {
    NULL,        "arrest_warrant",   "missing_person", "lost_stolen_document",
    "sanctions", "refusal_of_entry", "discreet_check", "judicial_procedure"};
#define N_CATEGORIES (sizeof(category_names) / sizeof(category_names[0]))

const char *huella_watchlist_category_name(huella_watchlist_category c)
{
    return (size_t)c > 0 && (size_t)c < N_CATEGORIES ? category_names[c] : "unknown";
}

huella_watchlist_category huella_watchlist_category_parse(const char *s)
{
    for (size_t i = 1; i < N_CATEGORIES; i++)
        if (strcmp(s, category_names[i]) == 0)
            return (huella_watchlist_category)i;
    return 0;
}

const char *huella_watchlist_source_grade_meaning(char grade)
{
    switch (grade) {
    case 'A':
        return "completely reliable";
    case 'B':
        return "usually reliable";
    case 'C':
        return "fairly reliable";
    case 'D':
        return "not usually reliable";
    case 'E':
        return "unreliable";
    case 'F':
        return "reliability cannot be judged";
    }
    return "unknown";
}

const char *huella_watchlist_info_grade_meaning(int grade)
{
    switch (grade) {
    case 1:
        return "confirmed by other sources";
    case 2:
        return "probably true";
    case 3:
        return "possibly true";
    case 4:
        return "doubtful";
    case 5:
        return "improbable";
    case 6:
        return "truth cannot be judged";
    }
    return "unknown";
}

/* ---- Fields ------------------------------------------------------------------ */

enum field {
    F_SOURCE_AGENCY,
    F_SOURCE_REF,
    F_CATEGORY,
    F_LEGAL_BASIS,
    F_DATE_ADDED,
    F_REVIEW_DATE,
    F_EXPIRY_DATE,
    F_SOURCE_RELIABILITY,
    F_INFO_CREDIBILITY,
    F_NAME,
    F_ALIASES,
    F_BIRTH_DATE,
    F_NATIONALITY,
    F_SEX,
    F_DOCUMENTS,
    F_BIOMETRICS,
    F_REMARKS,
    N_FIELDS
};

static const char *const field_names[N_FIELDS] = {
    "source_agency",    "source_ref",  "category",    "legal_basis",
    "date_added",       "review_date", "expiry_date", "source_reliability",
    "info_credibility", "name",        "aliases",     "birth_date",
    "nationality",      "sex",         "documents",   "biometrics",
    "remarks"};

static const bool field_required[N_FIELDS] = {
    [F_SOURCE_AGENCY] = true,      [F_SOURCE_REF] = true,      [F_CATEGORY] = true,
    [F_LEGAL_BASIS] = true,        [F_DATE_ADDED] = true,      [F_EXPIRY_DATE] = true,
    [F_SOURCE_RELIABILITY] = true, [F_INFO_CREDIBILITY] = true};

static int field_find(const char *name)
{
    for (int i = 0; i < N_FIELDS; i++)
        if (strcmp(name, field_names[i]) == 0)
            return i;
    return -1;
}

/* Well-formed UTF-8 without control characters (RFC 3629). */
static bool text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* One entry being read: values per field, as strings (lists joined with
 * '|' for CSV, or given as arrays in JSON and handled there). */
typedef struct reader {
    const char *where;
    wl_problems *problems;
    huella_watchlist_entry *e;
    const huella_partial_date *today;
    size_t before; /* problems count when the entry started */
} reader;

static void bad(reader *r, int f, const char *fmt, ...) HUELLA_PRINTF(3, 4);
static void bad(reader *r, int f, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wl_problem(r->problems, "%s, field '%s': %s", r->where, field_names[f], msg);
}

static bool copy_text(reader *r, int f, const char *v, char *dst, size_t size)
{
    if (!text_ok(v)) {
        bad(r, f, "not valid UTF-8 text (or holds control characters)");
        return false;
    }
    size_t len = strlen(v);
    if (len >= size) {
        bad(r, f, "%zu bytes, more than the limit of %zu", len, size - 1);
        return false;
    }
    memcpy(dst, v, len + 1);
    return true;
}

static void trim(char *s)
{
    size_t len = strlen(s), start = 0;
    while (start < len && (s[start] == ' ' || s[start] == '\t'))
        start++;
    while (len > start && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    memmove(s, s + start, len - start);
    s[len - start] = '\0';
}

static void full_date(reader *r, int f, const char *v, huella_partial_date *out)
{
    huella_error err;
    if (huella_partial_date_parse(v, out, &err) != HUELLA_OK)
        bad(r, f, "%s", err.message);
    else if (out->day == 0)
        bad(r, f, "'%s' must be a full date YYYY-MM-DD", v);
}

static void add_name(reader *r, int f, const char *v)
{
    huella_watchlist_entry *e = r->e;
    if (v[0] == '\0')
        return;
    if (e->n_names == HUELLA_WL_MAX_NAMES) {
        bad(r, f, "more than %d names and aliases", HUELLA_WL_MAX_NAMES);
        return;
    }
    if (copy_text(r, f, v, e->names[e->n_names], HUELLA_WL_MAX_NAME)) {
        trim(e->names[e->n_names]);
        if (e->names[e->n_names][0] != '\0')
            e->n_names++;
    }
}

static bool state_code(const char *s)
{
    size_t len = strlen(s);
    if (len < 1 || len > 3)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    return true;
}

static void add_nationality(reader *r, const char *v)
{
    huella_watchlist_entry *e = r->e;
    if (v[0] == '\0')
        return;
    if (strlen(v) != 3 || !state_code(v)) {
        bad(r, F_NATIONALITY, "'%.20s' is not a three-letter code (ISO 3166-1 alpha-3)", v);
        return;
    }
    if (e->n_nationalities == HUELLA_WL_MAX_NAT) {
        bad(r, F_NATIONALITY, "more than %d nationalities", HUELLA_WL_MAX_NAT);
        return;
    }
    memcpy(e->nationalities[e->n_nationalities++], v, 4);
}

static void add_document(reader *r, const char *number, const char *state)
{
    huella_watchlist_entry *e = r->e;
    if (e->n_documents == HUELLA_WL_MAX_DOCS) {
        bad(r, F_DOCUMENTS, "more than %d documents", HUELLA_WL_MAX_DOCS);
        return;
    }
    huella_watchlist_document *d = &e->documents[e->n_documents];
    memset(d, 0, sizeof(*d));
    if (state != NULL && state[0] != '\0') {
        if (!state_code(state)) {
            bad(r, F_DOCUMENTS, "issuing state '%.20s' is not 1 to 3 capital letters", state);
            return;
        }
        memcpy(d->issuing_state, state, strlen(state) + 1);
    }
    if (!copy_text(r, F_DOCUMENTS, number, d->number, sizeof(d->number)))
        return;
    char key[HUELLA_WL_MAX_DOC_NUM];
    wl_document_key(d->number, key, sizeof(key));
    if (strlen(key) < 3) {
        bad(r, F_DOCUMENTS, "document number '%s' has fewer than 3 letters or digits", d->number);
        return;
    }
    e->n_documents++;
}

/* "STATE:NUMBER" or "NUMBER" */
static void add_document_text(reader *r, char *v)
{
    trim(v);
    if (v[0] == '\0')
        return;
    char *colon = strchr(v, ':');
    if (colon != NULL) {
        *colon = '\0';
        add_document(r, colon + 1, v);
    } else {
        add_document(r, v, NULL);
    }
}

static void add_biometric(reader *r, const char *kind, const char *ref)
{
    huella_watchlist_entry *e = r->e;
    if (e->n_biometrics == HUELLA_WL_MAX_BIO) {
        bad(r, F_BIOMETRICS, "more than %d biometric references", HUELLA_WL_MAX_BIO);
        return;
    }
    huella_watchlist_biometric *b = &e->biometrics[e->n_biometrics];
    memset(b, 0, sizeof(*b));
    if (kind[0] == '\0' || ref[0] == '\0') {
        bad(r, F_BIOMETRICS, "want KIND:REFERENCE (e.g. finger:sha256:...)");
        return;
    }
    if (copy_text(r, F_BIOMETRICS, kind, b->kind, sizeof(b->kind)) &&
        copy_text(r, F_BIOMETRICS, ref, b->ref, sizeof(b->ref)))
        e->n_biometrics++;
}

static void add_biometric_text(reader *r, char *v)
{
    trim(v);
    if (v[0] == '\0')
        return;
    char *colon = strchr(v, ':');
    if (colon == NULL) {
        bad(r, F_BIOMETRICS, "'%.40s': want KIND:REFERENCE", v);
        return;
    }
    *colon = '\0';
    add_biometric(r, v, colon + 1);
}

/* Split v at '|' and hand each part to fn. */
static void each_part(reader *r, char *v, void (*fn)(reader *, char *))
{
    char *p = v;
    for (;;) {
        char *bar = strchr(p, '|');
        if (bar != NULL)
            *bar = '\0';
        fn(r, p);
        if (bar == NULL)
            break;
        p = bar + 1;
    }
}

static void part_alias(reader *r, char *v)
{
    add_name(r, F_ALIASES, v);
}

static void part_nationality(reader *r, char *v)
{
    trim(v);
    add_nationality(r, v);
}

/* Set a scalar field from its text (both formats).  Lists given as text
 * ('|'-separated) are split here; v may be modified. */
static void set_field(reader *r, int f, char *v)
{
    huella_watchlist_entry *e = r->e;
    if (f != F_NAME && f != F_ALIASES && f != F_REMARKS)
        trim(v);
    switch (f) {
    case F_SOURCE_AGENCY:
        copy_text(r, f, v, e->source_agency, sizeof(e->source_agency));
        break;
    case F_SOURCE_REF:
        copy_text(r, f, v, e->source_ref, sizeof(e->source_ref));
        break;
    case F_LEGAL_BASIS:
        copy_text(r, f, v, e->legal_basis, sizeof(e->legal_basis));
        break;
    case F_REMARKS:
        copy_text(r, f, v, e->remarks, sizeof(e->remarks));
        break;
    case F_CATEGORY:
        e->category = huella_watchlist_category_parse(v);
        if (e->category == 0)
            bad(r, f,
                "'%.40s' is not one of arrest_warrant, missing_person, lost_stolen_document, "
                "sanctions, refusal_of_entry, discreet_check, judicial_procedure",
                v);
        break;
    case F_DATE_ADDED:
        full_date(r, f, v, &e->date_added);
        break;
    case F_REVIEW_DATE:
        if (v[0] != '\0') {
            full_date(r, f, v, &e->review_date);
            e->has_review_date = true;
        }
        break;
    case F_EXPIRY_DATE:
        full_date(r, f, v, &e->expiry_date);
        break;
    case F_SOURCE_RELIABILITY:
        if (strlen(v) != 1 || v[0] < 'A' || v[0] > 'F')
            bad(r, f, "'%.20s' is not a source grade A to F", v);
        else
            e->source_grade = v[0];
        break;
    case F_INFO_CREDIBILITY:
        if (strlen(v) != 1 || v[0] < '1' || v[0] > '6')
            bad(r, f, "'%.20s' is not an information grade 1 to 6", v);
        else
            e->info_grade = v[0] - '0';
        break;
    case F_NAME:
        if (e->n_names > 0) {
            bad(r, f, "given twice");
            break;
        }
        add_name(r, f, v);
        break;
    case F_ALIASES:
        each_part(r, v, part_alias);
        break;
    case F_BIRTH_DATE:
        if (v[0] != '\0') {
            huella_error err;
            if (huella_partial_date_parse(v, &e->birth_date, &err) != HUELLA_OK)
                bad(r, f, "%s", err.message);
            else
                e->has_birth_date = true;
        }
        break;
    case F_NATIONALITY:
        each_part(r, v, part_nationality);
        break;
    case F_SEX:
        if (v[0] == '\0')
            break;
        if (strlen(v) != 1 || strchr("MFX", v[0]) == NULL)
            bad(r, f, "'%.20s' is not M, F or X", v);
        else
            e->sex = v[0];
        break;
    case F_DOCUMENTS:
        each_part(r, v, add_document_text);
        break;
    case F_BIOMETRICS:
        each_part(r, v, add_biometric_text);
        break;
    default:
        break;
    }
}

/* Checks across fields, once every field is read. */
static void check_entry(reader *r, const bool *present)
{
    huella_watchlist_entry *e = r->e;
    for (int f = 0; f < N_FIELDS; f++)
        if (field_required[f] && !present[f])
            bad(r, f, "missing (required)");
    if (e->n_names > 0 && !present[F_NAME])
        bad(r, F_NAME, "aliases given without a name");
    if (e->n_names == 0 && !(e->category == HUELLA_WL_LOST_STOLEN_DOCUMENT && e->n_documents > 0))
        bad(r, F_NAME,
            "missing: every entry needs a name, except a lost or stolen document listed by number");
    if (e->category == HUELLA_WL_LOST_STOLEN_DOCUMENT && e->n_documents == 0)
        bad(r, F_DOCUMENTS, "a lost or stolen document entry needs the document number");
    /* Dates in order: an entry cannot be added in the future, nor expire
     * before it was added; one already expired is refused, since it could
     * never match and would only be purged. */
    if (present[F_DATE_ADDED] && e->date_added.day != 0 &&
        wl_days(&e->date_added) > wl_days(r->today))
        bad(r, F_DATE_ADDED, "in the future");
    if (present[F_EXPIRY_DATE] && e->expiry_date.day != 0) {
        if (wl_days(&e->expiry_date) < wl_days(r->today))
            bad(r, F_EXPIRY_DATE, "already passed: the entry has expired");
        else if (e->date_added.day != 0 && wl_days(&e->expiry_date) < wl_days(&e->date_added))
            bad(r, F_EXPIRY_DATE, "before date_added");
    }
    if (e->has_review_date && e->review_date.day != 0 && e->date_added.day != 0 &&
        wl_days(&e->review_date) < wl_days(&e->date_added))
        bad(r, F_REVIEW_DATE, "before date_added");
    if (e->has_birth_date && e->birth_date.year > r->today->year)
        bad(r, F_BIRTH_DATE, "in the future");
}

/* ---- CSV ------------------------------------------------------------------------ */

typedef struct csv {
    const char *p, *end;
    size_t line; /* physical line of p */
    char *field;
    size_t flen, fcap;
    bool nomem;
} csv;

static bool field_push(csv *c, char ch)
{
    if (c->flen + 1 >= c->fcap) {
        size_t cap = c->fcap ? c->fcap * 2 : 256;
        char *t = realloc(c->field, cap);
        if (t == NULL) {
            c->nomem = true;
            return false;
        }
        c->field = t;
        c->fcap = cap;
    }
    c->field[c->flen++] = ch;
    c->field[c->flen] = '\0';
    return true;
}

/* Read one field into c->field.  *last is set at the end of the record.
 * Returns false (with a problem recorded) on a malformed field. */
static bool csv_field(csv *c, bool *last, wl_problems *pr, size_t record_line, bool *nul)
{
    c->flen = 0;
    if (!field_push(c, 'x'))
        return false;
    c->flen = 0;
    c->field[0] = '\0';
    *last = false;
    if (c->p < c->end && *c->p == '"') {
        c->p++;
        for (;;) {
            if (c->p >= c->end) {
                wl_problem(pr, "line %zu: quoted field not closed before the end of the file",
                           record_line);
                return false;
            }
            char ch = *c->p++;
            if (ch == '"') {
                if (c->p < c->end && *c->p == '"') {
                    c->p++;
                    if (!field_push(c, '"'))
                        return false;
                    continue;
                }
                break;
            }
            if (ch == '\n')
                c->line++;
            if (ch == '\0')
                *nul = true;
            if (!field_push(c, ch))
                return false;
        }
        /* After the closing quote: a separator, the end of the record, or
         * the end of the file. */
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p >= c->end || *c->p == '\n') {
            if (c->p < c->end) {
                c->p++;
                c->line++;
            }
            *last = true;
            return true;
        }
        if (*c->p == ',') {
            c->p++;
            return true;
        }
        wl_problem(pr,
                   "line %zu: text after a closing quote (a quote inside a field is written \"\")",
                   c->line);
        /* Skip to the end of the record so the next one can be read. */
        while (c->p < c->end && *c->p != '\n')
            c->p++;
        if (c->p < c->end) {
            c->p++;
            c->line++;
        }
        *last = true;
        return false;
    }
    while (c->p < c->end) {
        char ch = *c->p++;
        if (ch == ',')
            return true;
        if (ch == '\n') {
            c->line++;
            if (c->flen > 0 && c->field[c->flen - 1] == '\r')
                c->field[--c->flen] = '\0';
            *last = true;
            return true;
        }
        if (ch == '"') {
            wl_problem(pr, "line %zu: a quote inside an unquoted field (quote the whole field)",
                       c->line);
            while (c->p < c->end && *c->p != '\n')
                c->p++;
            if (c->p < c->end) {
                c->p++;
                c->line++;
            }
            *last = true;
            return false;
        }
        if (ch == '\0')
            *nul = true;
        if (!field_push(c, ch))
            return false;
    }
    if (c->flen > 0 && c->field[c->flen - 1] == '\r')
        c->field[--c->flen] = '\0';
    *last = true;
    return true;
}

/* Read one record as an array of strings (owned by *cells). */
typedef struct row {
    char **cells;
    size_t n, cap;
} row;

static void row_clear(row *rw)
{
    for (size_t i = 0; i < rw->n; i++)
        free(rw->cells[i]);
    rw->n = 0;
}

static bool row_push(row *rw, const char *s)
{
    if (rw->n == rw->cap) {
        size_t cap = rw->cap ? rw->cap * 2 : 32;
        char **t = realloc(rw->cells, cap * sizeof(*t));
        if (t == NULL)
            return false;
        rw->cells = t;
        rw->cap = cap;
    }
    rw->cells[rw->n] = strdup(s);
    if (rw->cells[rw->n] == NULL)
        return false;
    rw->n++;
    return true;
}

/* 1: a record in rw, 0: end of file, -1: malformed (problem recorded, go
 * on), -2: out of memory. */
static int csv_record(csv *c, row *rw, wl_problems *pr, size_t *record_line)
{
    row_clear(rw);
    /* Blank lines between records are skipped. */
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
        if (*c->p == '\n')
            c->line++;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    *record_line = c->line;
    bool last = false, ok = true, nul = false;
    while (!last) {
        if (rw->n >= 64) {
            wl_problem(pr, "line %zu: more than 64 fields", *record_line);
            while (c->p < c->end && *c->p != '\n')
                c->p++;
            return -1;
        }
        if (!csv_field(c, &last, pr, *record_line, &nul)) {
            if (c->nomem)
                return -2;
            ok = false;
            break;
        }
        if (!row_push(rw, c->field))
            return -2;
    }
    if (nul) {
        wl_problem(pr, "line %zu: a NUL byte in the record", *record_line);
        ok = false;
    }
    return ok ? 1 : -1;
}

static huella_status parse_csv(const uint8_t *data, size_t len, const huella_partial_date *today,
                               wl_entry_fn fn, void *ctx, wl_problems *pr, huella_error *err)
{
    csv c = {.p = (const char *)data, .end = (const char *)data + len, .line = 1};
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        c.p += 3; /* UTF-8 byte order mark */
    row rw = {0};
    huella_status st = HUELLA_OK;
    int column[64];
    size_t n_columns = 0;
    size_t record_line = 1;
    int r = csv_record(&c, &rw, pr, &record_line);
    if (r == -2)
        goto nomem;
    if (r == 0) {
        wl_problem(pr, "line 1: the file is empty (want a header line naming the columns)");
        goto done;
    }
    if (r < 0)
        goto done; /* a header that cannot be read: nothing else can be */
    {
        bool seen[N_FIELDS] = {false};
        bool header_ok = true;
        n_columns = rw.n;
        for (size_t i = 0; i < rw.n; i++) {
            trim(rw.cells[i]);
            column[i] = field_find(rw.cells[i]);
            if (column[i] < 0) {
                wl_problem(pr, "line %zu: unknown column '%.60s' (docs/watchlists.md lists them)",
                           record_line, rw.cells[i]);
                header_ok = false;
            } else if (seen[column[i]]) {
                wl_problem(pr, "line %zu: column '%s' given twice", record_line, rw.cells[i]);
                header_ok = false;
            } else {
                seen[column[i]] = true;
            }
        }
        for (int f = 0; f < N_FIELDS; f++)
            if (field_required[f] && !seen[f]) {
                wl_problem(pr, "line %zu: required column '%s' is missing", record_line,
                           field_names[f]);
                header_ok = false;
            }
        if (!header_ok)
            goto done;
    }
    huella_watchlist_entry *e = malloc(sizeof(*e));
    if (e == NULL)
        goto nomem;
    for (;;) {
        r = csv_record(&c, &rw, pr, &record_line);
        if (r == 0)
            break;
        if (r == -2) {
            free(e);
            goto nomem;
        }
        if (r < 0)
            continue;
        char where[48];
        snprintf(where, sizeof(where), "line %zu", record_line);
        if (rw.n != n_columns) {
            wl_problem(pr, "%s: %zu fields, but the header names %zu", where, rw.n, n_columns);
            continue;
        }
        memset(e, 0, sizeof(*e));
        reader rd = {.where = where, .problems = pr, .e = e, .today = today, .before = pr->n};
        bool present[N_FIELDS] = {false};
        for (size_t i = 0; i < rw.n; i++) {
            char *v = rw.cells[i];
            if (v[0] == '\0')
                continue; /* an empty cell is a field not given */
            present[column[i]] = true;
            set_field(&rd, column[i], v);
        }
        check_entry(&rd, present);
        if (pr->n == rd.before && fn != NULL && !fn(ctx, e, where, err)) {
            st = err != NULL && err->status != HUELLA_OK ? err->status : HUELLA_E_INTERNAL;
            break;
        }
    }
    free(e);
done:
    row_clear(&rw);
    free(rw.cells);
    free(c.field);
    if (st == HUELLA_OK && pr->nomem)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing problems");
    return st;
nomem:
    row_clear(&rw);
    free(rw.cells);
    free(c.field);
    return huella_error_set(err, HUELLA_E_NOMEM, "out of memory reading CSV");
}

/* ---- JSON --------------------------------------------------------------------- */

/* A JSON scalar as text for set_field: strings as they are, integers (the
 * information grade) in decimal. */
static bool json_text(json_t *v, char *buf, size_t size)
{
    if (json_is_string(v)) {
        size_t len = json_string_length(v);
        if (len >= size || strlen(json_string_value(v)) != len)
            return false; /* too long, or an embedded NUL */
        memcpy(buf, json_string_value(v), len + 1);
        return true;
    }
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return true;
    }
    return false;
}

static void json_list(reader *r, int f, json_t *v)
{
    char buf[1024];
    if (json_is_string(v)) {
        /* A single string: the same '|'-separated text as in CSV. */
        if (!json_text(v, buf, sizeof(buf))) {
            bad(r, f, "too long or holds a NUL");
            return;
        }
        set_field(r, f, buf);
        return;
    }
    if (!json_is_array(v)) {
        bad(r, f, "want a string or an array");
        return;
    }
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (f == F_DOCUMENTS && json_is_object(x)) {
            json_t *num = json_object_get(x, "number"),
                   *state = json_object_get(x, "issuing_state");
            char nb[HUELLA_WL_MAX_DOC_NUM + 8], sb[8] = "";
            if (!json_is_string(num) || !json_text(num, nb, sizeof(nb)) ||
                (state != NULL && !json_is_null(state) && !json_text(state, sb, sizeof(sb)))) {
                bad(r, f, "[%zu]: want {\"number\": \"...\", \"issuing_state\": \"ABC\"}", i);
                continue;
            }
            trim(nb);
            add_document(r, nb, sb);
            continue;
        }
        if (f == F_BIOMETRICS && json_is_object(x)) {
            json_t *kind = json_object_get(x, "kind"), *ref = json_object_get(x, "ref");
            char kb[64], rb[256];
            if (!json_is_string(kind) || !json_is_string(ref) || !json_text(kind, kb, sizeof(kb)) ||
                !json_text(ref, rb, sizeof(rb))) {
                bad(r, f, "[%zu]: want {\"kind\": \"...\", \"ref\": \"...\"}", i);
                continue;
            }
            add_biometric(r, kb, rb);
            continue;
        }
        if (!json_is_string(x) || !json_text(x, buf, sizeof(buf))) {
            bad(r, f, "[%zu]: want a string", i);
            continue;
        }
        if (f == F_ALIASES) {
            add_name(r, f, buf);
        } else if (f == F_NATIONALITY) {
            trim(buf);
            add_nationality(r, buf);
        } else if (f == F_DOCUMENTS) {
            add_document_text(r, buf);
        } else {
            add_biometric_text(r, buf);
        }
    }
}

static huella_status parse_json(const uint8_t *data, size_t len, const huella_partial_date *today,
                                wl_entry_fn fn, void *ctx, wl_problems *pr, huella_error *err)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        wl_problem(pr, "line %d, column %d: not JSON: %s", je.line, je.column, je.text);
        return HUELLA_OK;
    }
    json_t *entries = json_is_array(root) ? root : json_object_get(root, "entries");
    if (json_is_object(root)) {
        json_t *version = json_object_get(root, "version");
        if (version != NULL && !(json_is_integer(version) && json_integer_value(version) == 1))
            wl_problem(pr, "'version': this huella reads version 1 of the watchlist format");
        const char *k;
        json_t *v;
        json_object_foreach(root, k, v)
        {
            if (strcmp(k, "entries") != 0 && strcmp(k, "version") != 0 && strcmp(k, "format") != 0)
                wl_problem(pr, "unknown top-level key '%.60s'", k);
        }
    }
    if (!json_is_array(entries)) {
        wl_problem(pr, "want an array of entries, or an object with an \"entries\" array");
        json_decref(root);
        return HUELLA_OK;
    }
    huella_watchlist_entry *e = malloc(sizeof(*e));
    if (e == NULL) {
        json_decref(root);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory reading JSON");
    }
    huella_status st = HUELLA_OK;
    size_t i;
    json_t *x;
    json_array_foreach(entries, i, x)
    {
        char where[48];
        snprintf(where, sizeof(where), "entries[%zu]", i);
        if (!json_is_object(x)) {
            wl_problem(pr, "%s: not an object", where);
            continue;
        }
        memset(e, 0, sizeof(*e));
        reader rd = {.where = where, .problems = pr, .e = e, .today = today, .before = pr->n};
        bool present[N_FIELDS] = {false};
        const char *k;
        json_t *v;
        json_object_foreach(x, k, v)
        {
            int f = field_find(k);
            if (f < 0) {
                wl_problem(pr, "%s: unknown field '%.60s'", where, k);
                continue;
            }
            if (json_is_null(v))
                continue;
            present[f] = true;
            if (f == F_ALIASES || f == F_NATIONALITY || f == F_DOCUMENTS || f == F_BIOMETRICS) {
                json_list(&rd, f, v);
                continue;
            }
            char buf[HUELLA_WL_MAX_NAME * 2];
            if (!json_text(v, buf, sizeof(buf))) {
                bad(&rd, f, "want a string (too long, or holds a NUL)");
                continue;
            }
            if (buf[0] == '\0') {
                present[f] = false;
                continue;
            }
            set_field(&rd, f, buf);
        }
        check_entry(&rd, present);
        if (pr->n == rd.before && fn != NULL && !fn(ctx, e, where, err)) {
            st = err != NULL && err->status != HUELLA_OK ? err->status : HUELLA_E_INTERNAL;
            break;
        }
    }
    if (st == HUELLA_OK && json_array_size(entries) == 0)
        wl_problem(pr, "the file lists no entries");
    free(e);
    json_decref(root);
    if (st == HUELLA_OK && pr->nomem)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing problems");
    return st;
}

huella_status wl_parse(const uint8_t *data, size_t len, wl_format format,
                       const huella_partial_date *today, wl_entry_fn fn, void *ctx,
                       wl_problems *problems, huella_error *err)
{
    if (format == WL_FORMAT_JSON)
        return parse_json(data, len, today, fn, ctx, problems, err);
    return parse_csv(data, len, today, fn, ctx, problems, err);
}
