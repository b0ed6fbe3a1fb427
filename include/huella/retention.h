/*
 * huella/retention.h - retention periods per category and the purge that
 * applies them (src/policy/retention.c), for `huella retention run` and a
 * timer in huellad.  Design and the file format: docs/retention.md.
 *
 * Categories: encounters (from their capture time; a person whose last
 * encounter expires is erased with the store's crypto-shredding erase),
 * watchlist entries (after their own expiry date, through the watchlist
 * expiry), decided cases (from their decision), and the audit chain
 * (never pruned unless the policy says so; then only before a signed
 * anchor).  Every purge is recorded in the audit chain before it is done.
 */
#ifndef HUELLA_RETENTION_H
#define HUELLA_RETENTION_H

#include "huella/audit.h"
#include "huella/base.h"
#include "huella/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Periods in days; 0 keeps forever. */
typedef struct huella_retention_policy {
    int64_t encounter_days;
    bool watchlist_purge;         /* purge watchlist entries past their expiry */
    int64_t watchlist_grace_days; /* ... this many days after it */
    int64_t case_days;            /* decided cases, from the decision */
    int64_t audit_days;           /* audit records; only with audit_prune */
    bool audit_prune;             /* false: audit records are never deleted */
} huella_retention_policy;

/* Read and check a policy file (JSON, docs/retention.md); unknown members
 * are refused so that a typo does not silently keep data forever. */
HUELLA_API huella_status huella_retention_load(const char *path, huella_retention_policy *out,
                                               huella_error *err);
/* The same from a JSON text (also the fuzz target). */
HUELLA_API huella_status huella_retention_parse(const char *json, size_t len,
                                                huella_retention_policy *out, huella_error *err);

typedef struct huella_retention_options {
    const char *now; /* UTC ISO 8601 "YYYY-MM-DDThh:mm:ssZ"; NULL: the clock */
    bool dry_run;    /* report what would go, change nothing, audit nothing */
    const char *who; /* recorded as the audit user; NULL: "retention" */
} huella_retention_options;

/*
 * Apply the policy to the store s of DIR (its watchlist DIR/watchlist.db
 * when present) and to the audit log DIR/audit.db through a (required
 * unless dry_run: every purge is appended to the chain before it is
 * done; a purge that then fails is appended again with outcome "error").
 * *report (JSON, free()) lists what was (or would be) purged:
 * {"now", "dry_run", "encounters": [{"encounter_id", "person_id",
 * "captured", "person_erased"}], "watchlist_entries", "cases": [ids],
 * "audit": {"pruned", "through", "anchor"}, "audit_records"}.
 */
HUELLA_API huella_status huella_retention_run(huella_store *s, const char *dir, huella_audit *a,
                                              const huella_retention_policy *p,
                                              const huella_retention_options *o, char **report,
                                              huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
