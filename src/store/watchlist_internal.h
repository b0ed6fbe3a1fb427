/*
 * watchlist_internal.h - what the watchlist files share: the handle, the
 * file parser (used by the importer and the fuzz target), the stored form
 * of normalised names and the candidate index.
 */
#ifndef HUELLA_WATCHLIST_INTERNAL_H
#define HUELLA_WATCHLIST_INTERNAL_H

#include "huella/watchlist.h"

#include <sqlite3.h>

typedef struct wl_index wl_index;

struct huella_watchlist {
    sqlite3 *db;
    huella_names *names;
    bool own_names;
    wl_index *index; /* built on the first screening, dropped on every change */
    char dir[4096];
};

/* ---- Parsing import files (watchlist_import.c) ---------------------------- */

typedef enum wl_format { WL_FORMAT_CSV = 1, WL_FORMAT_JSON = 2 } wl_format;

/* Problems found while reading a file: one line each. */
typedef struct wl_problems {
    char *text;
    size_t len, cap;
    size_t n;
    bool nomem;
} wl_problems;

void wl_problem(wl_problems *p, const char *fmt, ...) HUELLA_PRINTF(2, 3);
void wl_problems_free(wl_problems *p);

/* Called for each entry that passed every check; where is "line 7" or
 * "entries[3]".  Returns false to stop with a fatal error already in err. */
typedef bool (*wl_entry_fn)(void *ctx, const huella_watchlist_entry *e, const char *where,
                            huella_error *err);

/*
 * Parse a whole file of the given format, checking every field (today is
 * the date before which expiry dates count as passed).  Every problem goes
 * to *problems; valid entries go to fn (NULL: only check).  Returns
 * HUELLA_OK when the file could be read through, whatever the problems;
 * an error only for out of memory or when fn fails.
 */
huella_status wl_parse(const uint8_t *data, size_t len, wl_format format,
                       const huella_partial_date *today, wl_entry_fn fn, void *ctx,
                       wl_problems *problems, huella_error *err);

/* Days since 1970-01-01 of a full date (proleptic Gregorian). */
long wl_days(const huella_partial_date *d);
/* Today's UTC date, or the date in s when it is not NULL. */
huella_status wl_today(const char *s, huella_partial_date *out, huella_error *err);
/* Upper-case letters and digits only: how document numbers are compared
 * (spaces, dashes and MRZ fillers are not part of a number). */
void wl_document_key(const char *number, char *key, size_t size);

/* ---- Normalised names as stored (watchlist_screen.c) --------------------- */

/* "Script w:juan w:carlos p:de w-garcia" : roles w i p t c s, '-' for a
 * token hyphenated to the next.  Fails only when the buffer is too small. */
bool wl_norm_encode(const huella_name *nm, char *buf, size_t size);
/* Back to tokens (texts, roles, keys, script); false on a malformed text. */
bool wl_norm_decode(const char *text, huella_name *out);

void wl_index_free(wl_index *ix);

#endif
