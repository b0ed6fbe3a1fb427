/*
 * huella/mrz.h - machine-readable zones of travel documents (ICAO Doc 9303).
 *
 * Parses and validates the TD1 (3 x 30), TD2 (2 x 36), TD3 (2 x 44),
 * MRV-A (2 x 44) and MRV-B (2 x 36) zones: every field, every check digit
 * (composite included where the format has one), the long-document-number
 * rule, fillers, sex, dates with their century resolved against a capture
 * date, and 1- to 3-letter state codes.  Characters that OCR commonly
 * confuses (O/0, I/1, B/8, S/5) in a field of the other kind are reported,
 * never silently corrected.
 */
#ifndef HUELLA_MRZ_H
#define HUELLA_MRZ_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum huella_mrz_format {
    HUELLA_MRZ_TD1 = 1,
    HUELLA_MRZ_TD2 = 2,
    HUELLA_MRZ_TD3 = 3,
    HUELLA_MRZ_MRV_A = 4,
    HUELLA_MRZ_MRV_B = 5
} huella_mrz_format;

/* One check digit: which field it protects, what was printed and what the
 * data gives.  `ok` is true when they agree (a filler check digit over an
 * all-filler field counts as agreeing, as Doc 9303 allows). */
typedef struct huella_mrz_check {
    const char *field; /* "document_number", "birth_date", "expiry_date",
                          "personal_number", "optional_data", "composite" */
    char printed;
    char computed;
    bool ok;
} huella_mrz_check;

/* A date as printed (YYMMDD, '<' for unknown parts) and resolved. */
typedef struct huella_mrz_date {
    char printed[7];
    int year;  /* four digits; 0 when unknown or invalid */
    int month; /* 1..12; 0 when unknown */
    int day;   /* 1..31; 0 when unknown */
    bool valid;
} huella_mrz_date;

#define HUELLA_MRZ_MAX_CHECKS  6
#define HUELLA_MRZ_MAX_PROBLEM 12

typedef struct huella_mrz {
    huella_mrz_format format;
    char document_code[3];    /* e.g. "P", "I", "V", "AC" (fillers removed) */
    char issuing_state[4];    /* 1 to 3 letters, fillers removed */
    char document_number[40]; /* with the TD1/TD2 long-number overflow joined */
    char nationality[4];
    huella_mrz_date birth_date;
    huella_mrz_date expiry_date;
    char sex;                  /* 'M', 'F' or 'X' (printed '<' = unspecified) */
    char surname[48];          /* primary identifier, fillers as single spaces */
    char given_names[48];      /* secondary identifier, fillers as single spaces */
    char optional_data[2][32]; /* raw optional fields, fillers stripped ("" if none) */
    size_t n_optional;         /* how many of optional_data are present (non-empty) */
    huella_mrz_check checks[HUELLA_MRZ_MAX_CHECKS];
    size_t n_checks;
    /* Problems other than check digits: bad characters, invalid dates or
     * sex, OCR-confusable characters.  Each names the field. */
    char problems[HUELLA_MRZ_MAX_PROBLEM][120];
    size_t n_problems;
    bool valid; /* every check digit agrees and no problem was found */
} huella_mrz;

/*
 * Parse a zone given as its lines (NUL-terminated; surrounding spaces and
 * a trailing carriage return are ignored).  capture_year, capture_month
 * and capture_day resolve two-digit years: birth dates are never in the
 * future, expiry dates lie within 50 years either side.  Pass 0 for all
 * three to use today's date.  Returns HUELLA_E_INPUT only when the lines
 * are not an MRZ at all (wrong count or lengths, characters outside
 * A-Z 0-9 <); a zone with wrong check digits parses with valid = false.
 */
HUELLA_API huella_status huella_mrz_parse(const char *const *lines, size_t n_lines,
                                          int capture_year, int capture_month, int capture_day,
                                          huella_mrz *out, huella_error *err);

/* The check digit of a field (weights 7, 3, 1; A-Z = 10-35; '<' = 0).
 * Returns '?' when the field holds a character outside A-Z 0-9 <. */
HUELLA_API char huella_mrz_check_digit(const char *field, size_t len);

HUELLA_API const char *huella_mrz_format_name(huella_mrz_format format);

#ifdef __cplusplus
}
#endif

#endif
