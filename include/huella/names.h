/*
 * huella/names.h - fuzzy matching of person names across scripts.
 *
 * A comparator object (huella_names_new) holds the naming-convention data
 * (particles, titles, given-name equivalents) read from a directory and the
 * ICU transliterators it opens as it meets new scripts.  Normalising a name
 * gives its dominant script, a Latin-ASCII transliteration and its tokens
 * with their roles; comparing two names gives a score in [0, 1] and an
 * explanation: which tokens were aligned, how alike and why, and which
 * were left over.
 *
 * Threads: a comparator object keeps ICU transliterators, which are not
 * safe to share; use one object per thread.  The original text is never
 * altered: every normalised form is a copy.
 */
#ifndef HUELLA_NAMES_H
#define HUELLA_NAMES_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct huella_names huella_names;

#define HUELLA_NAMES_MAX_INPUT  1024 /* bytes of UTF-8 in one name */
#define HUELLA_NAMES_MAX_TOKENS 16   /* tokens kept from one name */
#define HUELLA_NAMES_MAX_TOKEN  48   /* bytes of one token, NUL included */

typedef enum huella_name_role {
    HUELLA_NAME_WORD = 0,        /* a given name or surname */
    HUELLA_NAME_INITIAL = 1,     /* a single letter */
    HUELLA_NAME_PARTICLE = 2,    /* de, van der, bin, al-, ... */
    HUELLA_NAME_TITLE = 3,       /* honorifics and ranks: Colonel, Shaikh, Dr */
    HUELLA_NAME_CONJUNCTION = 4, /* the "y" of Ortega y Gasset, Portuguese "e" */
    HUELLA_NAME_SUFFIX = 5       /* Jr, Sr, II, III */
} huella_name_role;

typedef struct huella_name_token {
    char text[HUELLA_NAMES_MAX_TOKEN]; /* lower-case ASCII, diacritics removed */
    char key[HUELLA_NAMES_MAX_TOKEN];  /* phonetic key (huella_names_phonetic_key) */
    huella_name_role role;
    bool hyphenated; /* joined to the next token by a hyphen in the original */
} huella_name_token;

typedef struct huella_name {
    char original[HUELLA_NAMES_MAX_INPUT + 1]; /* the input, unchanged */
    char script[24];                           /* dominant script ("Latin", "Cyrillic", ...) */
    char latin[4 * HUELLA_NAMES_MAX_INPUT];    /* NFKC, case-folded, Latin-ASCII */
    huella_name_token tokens[HUELLA_NAMES_MAX_TOKENS];
    size_t n_tokens;
    bool truncated; /* more tokens than HUELLA_NAMES_MAX_TOKENS were dropped */
} huella_name;

typedef enum huella_name_match {
    HUELLA_MATCH_EXACT = 0,      /* identical after normalisation */
    HUELLA_MATCH_EQUIVALENT = 1, /* given-name equivalents (Jose ~ Pepe) */
    HUELLA_MATCH_PHONETIC = 2,   /* same phonetic key */
    HUELLA_MATCH_EDIT = 3,       /* Jaro-Winkler similarity of the spellings */
    HUELLA_MATCH_INITIAL = 4,    /* a letter against a word that starts with it */
    HUELLA_MATCH_JOINED = 5      /* two tokens written as one (Abdul Rahman ~ Abdulrahman) */
} huella_name_match;

typedef struct huella_name_alignment {
    size_t a, b;       /* token indexes in the two names */
    size_t a2, b2;     /* JOINED: tokens a..a2 (b..b2) written as one; else SIZE_MAX */
    double similarity; /* in [0, 1] */
    huella_name_match how;
} huella_name_alignment;

typedef struct huella_name_comparison {
    double score; /* in [0, 1]; same person when >= HUELLA_NAMES_THRESHOLD */
    huella_name a, b;
    huella_name_alignment aligned[HUELLA_NAMES_MAX_TOKENS];
    size_t n_aligned;
    size_t left_a[HUELLA_NAMES_MAX_TOKENS]; /* word tokens of a not aligned */
    size_t n_left_a;
    size_t left_b[HUELLA_NAMES_MAX_TOKENS];
    size_t n_left_b;
} huella_name_comparison;

/* The default decision threshold, chosen on data/names/dev-pairs.tsv
 * (docs/names.md gives the sweep). */
#define HUELLA_NAMES_THRESHOLD 0.82

/* The version of what huella_names_normalize writes.  It goes up whenever
 * a name may normalise to other tokens (version 2, 2026-11-27: kana
 * epenthesis and small kana vowels), so that a store keeping normalised
 * forms knows to rebuild them from the names as written. */
#define HUELLA_NAMES_NORMALIZE_VERSION 2

/*
 * Load particles.tsv and given-name-equivalents.tsv from data_dir (NULL:
 * the HUELLA_NAMES_DATA environment variable if set, else the directory
 * compiled in as HUELLA_NAMES_DATA_DIR).  Errors name the file and line.
 */
HUELLA_API huella_status huella_names_new(const char *data_dir, huella_names **out,
                                          huella_error *err);
HUELLA_API void huella_names_free(huella_names *n);

/* Normalise one name (NUL-terminated UTF-8).  Invalid UTF-8, a name with
 * no letter or digit, or one longer than HUELLA_NAMES_MAX_INPUT bytes is
 * HUELLA_E_INPUT. */
HUELLA_API huella_status huella_names_normalize(huella_names *n, const char *name, huella_name *out,
                                                huella_error *err);

/* Compare two names; see huella_name_comparison.  `out` is large (tens of
 * kilobytes): allocate it, do not put it on a small stack. */
HUELLA_API huella_status huella_names_compare(huella_names *n, const char *a, const char *b,
                                              huella_name_comparison *out, huella_error *err);

/* Compare two names already normalised by huella_names_normalize (or
 * rebuilt from their tokens, texts, roles and script): the same result as
 * huella_names_compare without normalising again, for screening many
 * names against one. */
HUELLA_API huella_status huella_names_compare_normalized(huella_names *n, const huella_name *a,
                                                         const huella_name *b,
                                                         huella_name_comparison *out,
                                                         huella_error *err);

/* Phonetic key of one lower-case ASCII token, tuned for Spanish and
 * English spellings of names (b/v, c/s/z, ll/y, silent h, j/g/x, ph/f). */
HUELLA_API void huella_names_phonetic_key(const char *token, char *key, size_t key_size);

/* Jaro-Winkler similarity of two byte strings, in [0, 1]. */
HUELLA_API double huella_names_jaro_winkler(const char *a, const char *b);

HUELLA_API const char *huella_name_role_name(huella_name_role role);
HUELLA_API const char *huella_name_match_name(huella_name_match how);

/*
 * Evaluate on a pairs file (name_a TAB name_b TAB same|different [TAB kind],
 * '#' comments): a JSON object with precision, recall, f1 and fpr at
 * threshold, a threshold sweep, and the ISO/IEC 19795-1 metrics of
 * huella_eval_metrics_compute.  report_dir (may be NULL) receives the DET
 * report of huella_eval_report_write.  *json is freed with free().
 */
HUELLA_API huella_status huella_names_eval_pairs(huella_names *n, const char *pairs_path,
                                                 double threshold, const char *report_dir,
                                                 char **json, huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
