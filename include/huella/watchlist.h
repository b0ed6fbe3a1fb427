/*
 * huella/watchlist.h - watchlist entries with provenance, and name screening.
 *
 * A watchlist lives in its own SQLite database, DIR/watchlist.db, inside a
 * huella store directory.  Every entry records where it came from (source
 * agency, the source's own reference, the import batch with the file's
 * name, SHA-256 and time), its legal basis, the dates it was added, is to
 * be reviewed and expires, and the Admiralty (NATO STANAG 2511) grading of
 * its source (A-F) and of its information (1-6).  Expired entries never
 * match and are purged by huella_watchlist_expire.
 *
 * Screening compares a person (a name, optionally a date of birth,
 * nationality, sex and document number, e.g. from a machine-readable zone)
 * with every active entry through a candidate index, then with the full
 * name comparison of huella/names.h.  The result is a ranked list of
 * candidate hits, each with its explanation: a hit is a candidate for a
 * person to review, never a decision.
 *
 * Threads: a huella_watchlist handle keeps an SQLite connection and the
 * in-memory candidate index with its scratch space; use one handle per
 * thread.  docs/watchlists.md gives the file schema and the scoring.
 */
#ifndef HUELLA_WATCHLIST_H
#define HUELLA_WATCHLIST_H

#include "huella/base.h"
#include "huella/names.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct huella_watchlist huella_watchlist;

/* ---- Dates that may be partial ------------------------------------------ */

/* A calendar date; 0 in month or day means unknown (a year is required). */
typedef struct huella_partial_date {
    int year, month, day;
} huella_partial_date;

/* Parse "YYYY", "YYYY-MM" or "YYYY-MM-DD" (day checked against the month,
 * leap years included).  HUELLA_E_INPUT names the problem. */
HUELLA_API huella_status huella_partial_date_parse(const char *s, huella_partial_date *out,
                                                   huella_error *err);
/* "YYYY", "YYYY-MM" or "YYYY-MM-DD"; buf needs 11 bytes. */
HUELLA_API void huella_partial_date_format(const huella_partial_date *d, char *buf, size_t size);

/* What two dates of birth say about one person (docs/watchlists.md). */
typedef enum huella_date_evidence {
    HUELLA_DATE_UNKNOWN = 0,    /* one side has no date: no evidence */
    HUELLA_DATE_EXACT = 1,      /* full dates, equal */
    HUELLA_DATE_SWAPPED = 2,    /* equal once day and month are exchanged */
    HUELLA_DATE_COMPATIBLE = 3, /* equal on every part both know (partial dates) */
    HUELLA_DATE_NEAR = 4,       /* same day and month, year one apart (a typing slip) */
    HUELLA_DATE_CONFLICT = 5    /* the dates disagree */
} huella_date_evidence;

/* Compare two dates; *adjustment (may be NULL) receives the change that
 * this evidence makes to a screening score. */
HUELLA_API huella_date_evidence huella_partial_date_compare(const huella_partial_date *a,
                                                            const huella_partial_date *b,
                                                            double *adjustment);
HUELLA_API const char *huella_date_evidence_name(huella_date_evidence e);

/* Score changes for nationality and sex: evidence, never filters. */
#define HUELLA_SCREEN_NATIONALITY_MATCH    0.03
#define HUELLA_SCREEN_NATIONALITY_MISMATCH (-0.03)
#define HUELLA_SCREEN_SEX_MATCH            0.01
#define HUELLA_SCREEN_SEX_MISMATCH         (-0.05)

/* ---- Entries -------------------------------------------------------------- */

typedef enum huella_watchlist_category {
    HUELLA_WL_ARREST_WARRANT = 1,       /* "arrest_warrant" */
    HUELLA_WL_MISSING_PERSON = 2,       /* "missing_person" */
    HUELLA_WL_LOST_STOLEN_DOCUMENT = 3, /* "lost_stolen_document" */
    HUELLA_WL_SANCTIONS = 4,            /* "sanctions": asset freeze or travel ban */
    HUELLA_WL_REFUSAL_OF_ENTRY = 5,     /* "refusal_of_entry" */
    HUELLA_WL_DISCREET_CHECK = 6,       /* "discreet_check" */
    HUELLA_WL_JUDICIAL_PROCEDURE = 7    /* "judicial_procedure": sought as a witness, to appear */
} huella_watchlist_category;

HUELLA_API const char *huella_watchlist_category_name(huella_watchlist_category c);
/* 0 when s is not one of the names above. */
HUELLA_API huella_watchlist_category huella_watchlist_category_parse(const char *s);

/* Admiralty grading: what a source letter and an information digit mean. */
HUELLA_API const char *huella_watchlist_source_grade_meaning(char grade);
HUELLA_API const char *huella_watchlist_info_grade_meaning(int grade);

#define HUELLA_WL_MAX_NAMES   16  /* primary name plus aliases */
#define HUELLA_WL_MAX_NAME    256 /* bytes of one name as written, NUL included */
#define HUELLA_WL_MAX_NAT     4   /* nationalities */
#define HUELLA_WL_MAX_DOCS    8   /* document numbers */
#define HUELLA_WL_MAX_BIO     4   /* biometric references */
#define HUELLA_WL_MAX_TEXT    256 /* agency, reference, legal basis, remarks */
#define HUELLA_WL_MAX_DOC_NUM 40

typedef struct huella_watchlist_document {
    char number[HUELLA_WL_MAX_DOC_NUM]; /* as written */
    char issuing_state[4];              /* ISO 3166-1 alpha-3 or ICAO code; "" if unknown */
} huella_watchlist_document;

typedef struct huella_watchlist_biometric {
    char kind[16]; /* "finger", "iris", "face", ... */
    char ref[128]; /* opaque identifier or hash in another system */
} huella_watchlist_biometric;

typedef struct huella_watchlist_batch {
    int64_t id;
    char file_name[HUELLA_WL_MAX_TEXT];
    char sha256[65];      /* of the file's bytes, lower-case hex */
    char format[8];       /* "csv" or "json" */
    char imported_at[32]; /* UTC, ISO 8601 */
    int64_t entries;
} huella_watchlist_batch;

typedef struct huella_watchlist_entry {
    int64_t id; /* assigned by the database */
    huella_watchlist_category category;
    size_t n_names; /* names[0] is the primary name, the rest aliases */
    char names[HUELLA_WL_MAX_NAMES][HUELLA_WL_MAX_NAME];
    bool has_birth_date;
    huella_partial_date birth_date;
    size_t n_nationalities;
    char nationalities[HUELLA_WL_MAX_NAT][4];
    char sex; /* 'M', 'F', 'X' or 0 when not given */
    size_t n_documents;
    huella_watchlist_document documents[HUELLA_WL_MAX_DOCS];
    size_t n_biometrics;
    huella_watchlist_biometric biometrics[HUELLA_WL_MAX_BIO];
    /* Provenance. */
    char source_agency[HUELLA_WL_MAX_TEXT];
    char source_ref[HUELLA_WL_MAX_TEXT]; /* the source's own identifier */
    char legal_basis[HUELLA_WL_MAX_TEXT];
    huella_partial_date date_added; /* full dates */
    bool has_review_date;
    huella_partial_date review_date;
    huella_partial_date expiry_date; /* last day on which the entry is valid */
    char source_grade;               /* 'A'..'F' */
    int info_grade;                  /* 1..6 */
    char remarks[HUELLA_WL_MAX_TEXT];
    huella_watchlist_batch batch; /* filled by huella_watchlist_get */
} huella_watchlist_entry;

/* ---- The database --------------------------------------------------------- */

/* Open DIR/watchlist.db, creating DIR (mode 0700) and the database when
 * missing and migrating an older schema (PRAGMA user_version).  names is
 * the comparator used to normalise names (borrowed, must outlive the
 * handle); NULL makes the handle open its own from the default data. */
HUELLA_API huella_status huella_watchlist_open(const char *dir, huella_names *names,
                                               huella_watchlist **out, huella_error *err);
HUELLA_API void huella_watchlist_close(huella_watchlist *wl);

/* What an import did.  problems holds one line per problem ("line 7,
 * field 'birth_date': ..."), NUL-terminated, owned by the result; free
 * with huella_watchlist_import_result_clear. */
typedef struct huella_watchlist_import_result {
    int64_t batch_id;
    size_t entries;
    size_t n_problems;
    char *problems;
} huella_watchlist_import_result;

HUELLA_API void huella_watchlist_import_result_clear(huella_watchlist_import_result *r);

/*
 * Import a CSV (.csv) or JSON (.json) file, told apart by the extension or,
 * failing that, the first non-blank byte.  All or nothing: the whole file
 * is checked and written in one transaction; any problem (reported with
 * its CSV line or JSON entry index and field) imports nothing and returns
 * HUELLA_E_INPUT.  today ("YYYY-MM-DD", NULL for the current UTC date)
 * decides which expiry dates have already passed.
 */
HUELLA_API huella_status huella_watchlist_import(huella_watchlist *wl, const char *path,
                                                 const char *today,
                                                 huella_watchlist_import_result *res,
                                                 huella_error *err);

HUELLA_API huella_status huella_watchlist_count(huella_watchlist *wl, size_t *count,
                                                huella_error *err);
/* Entry ids in ascending order; *ids is freed with free(). */
HUELLA_API huella_status huella_watchlist_ids(huella_watchlist *wl, int64_t **ids, size_t *n,
                                              huella_error *err);
/* One entry with its batch; HUELLA_E_NOTFOUND when there is none. */
HUELLA_API huella_status huella_watchlist_get(huella_watchlist *wl, int64_t id,
                                              huella_watchlist_entry *out, huella_error *err);

/* Delete every entry whose expiry date is before today (NULL: the current
 * UTC date), recording the purge; *purged receives the count. */
HUELLA_API huella_status huella_watchlist_expire(huella_watchlist *wl, const char *today,
                                                 size_t *purged, huella_error *err);

/* ---- Updates (src/store/watchlist_update.c) ----------------------------- */

/* What an update may change; NULL or 0 leaves a member as it is.  The
 * identity data (names, dates of birth, documents, ...) are not among
 * them: a correction of those is a new import by the source agency. */
typedef struct huella_watchlist_change {
    const char *category;    /* a category name */
    const char *expiry_date; /* YYYY-MM-DD, not before date_added */
    const char *review_date; /* YYYY-MM-DD; "" removes it */
    const char *legal_basis;
    const char *remarks; /* "" empties them */
    char source_grade;   /* 'A'..'F' */
    int info_grade;      /* 1..6 */
    const char *by;      /* who makes the change (required) */
    const char *reason;  /* why (required) */
} huella_watchlist_change;

/*
 * Change entry id in one transaction with a history row (who, when, why,
 * the changed members with their old and new values).  changed receives
 * the changed members' names, comma-separated (may be NULL).
 * HUELLA_E_NOTFOUND: no such entry; HUELLA_E_INPUT: an invalid value,
 * no reason, or nothing that would change.
 */
HUELLA_API huella_status huella_watchlist_update(huella_watchlist *wl, int64_t id,
                                                 const huella_watchlist_change *c, char *changed,
                                                 size_t changed_size, huella_error *err);
/* The update history of an entry, oldest first, as a JSON array (free()):
 * [{"at", "by", "reason", "changed", "old": {...}, "new": {...}}]. */
HUELLA_API huella_status huella_watchlist_updates(huella_watchlist *wl, int64_t id, char **json,
                                                  huella_error *err);

/* ---- Screening ---------------------------------------------------------- */

typedef struct huella_screen_query {
    const char *name; /* as given; NULL or "" when only a document is screened */
    bool has_birth_date;
    huella_partial_date birth_date;
    const char *nationality;     /* 3 letters or NULL */
    char sex;                    /* 'M', 'F', 'X' or 0 */
    const char *document_number; /* NULL or "" for none */
    const char *issuing_state;   /* of that document, or NULL */
    const char *today;           /* "YYYY-MM-DD"; NULL for the current UTC date */
    size_t top;                  /* at most this many hits (0: 10) */
    double min_score;            /* combined score to report (0: HUELLA_NAMES_THRESHOLD) */
    bool full_scan;              /* compare with every entry (measurement only) */
} huella_screen_query;

/* One candidate hit: the entry, the name of it that matched best and why,
 * and the evidence of the other attributes. */
typedef struct huella_screen_hit {
    huella_watchlist_entry entry;
    double score;                      /* combined, in [0, 1] */
    double name_score;                 /* the name comparison alone */
    size_t name_index;                 /* which of entry.names matched (SIZE_MAX: none) */
    huella_name_comparison comparison; /* query (a) against that name (b) */
    huella_date_evidence birth_date;
    double birth_date_adjustment;
    int nationality; /* +1 match, -1 mismatch, 0 unknown */
    double nationality_adjustment;
    int sex; /* +1 match, -1 mismatch, 0 unknown */
    double sex_adjustment;
    bool document_match;   /* the query's document number is listed in the entry */
    size_t document_index; /* which document (when document_match) */
} huella_screen_hit;

typedef struct huella_screen_result {
    huella_screen_hit *hits; /* ranked, best first */
    size_t n_hits;
    size_t candidates;     /* names the candidate index let through to full comparison */
    size_t names_compared; /* full name comparisons made */
    size_t active_entries; /* entries not expired */
} huella_screen_result;

HUELLA_API huella_status huella_watchlist_screen(huella_watchlist *wl, const huella_screen_query *q,
                                                 huella_screen_result *out, huella_error *err);
HUELLA_API void huella_screen_result_clear(huella_screen_result *r);

#ifdef __cplusplus
}
#endif

#endif
