/*
 * fuzz_watchlist_import.c - the watchlist file reader (CSV and JSON) on
 * arbitrary bytes.
 *
 * Each input is read twice, as CSV and as JSON, through the same parser
 * the importer uses (without a database).  Invariants: no crash, hang or
 * out-of-bounds access; every entry handed on passed its checks (a name
 * or a listed document, grades A-F and 1-6, a known category, full dates
 * for date_added and expiry_date with expiry not before today, counts
 * within their limits, strings terminated); a problem count matches the
 * problem lines listed.
 */
#include "store/watchlist_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool check(void *ctx, const huella_watchlist_entry *e, const char *where, huella_error *err)
{
    (void)err;
    const huella_partial_date *today = ctx;
    if (where == NULL || e->n_names > HUELLA_WL_MAX_NAMES || e->n_documents > HUELLA_WL_MAX_DOCS ||
        e->n_biometrics > HUELLA_WL_MAX_BIO || e->n_nationalities > HUELLA_WL_MAX_NAT)
        abort();
    if (e->n_names == 0 && !(e->category == HUELLA_WL_LOST_STOLEN_DOCUMENT && e->n_documents > 0))
        abort();
    if (e->source_grade < 'A' || e->source_grade > 'F' || e->info_grade < 1 || e->info_grade > 6)
        abort();
    if (strcmp(huella_watchlist_category_name(e->category), "unknown") == 0)
        abort();
    if (e->date_added.day == 0 || e->expiry_date.day == 0 ||
        wl_days(&e->expiry_date) < wl_days(today))
        abort();
    for (size_t i = 0; i < e->n_names; i++)
        if (!terminated(e->names[i], sizeof(e->names[i])) || e->names[i][0] == '\0')
            abort();
    for (size_t i = 0; i < e->n_documents; i++)
        if (!terminated(e->documents[i].number, sizeof(e->documents[i].number)))
            abort();
    if (!terminated(e->source_agency, sizeof(e->source_agency)) ||
        !terminated(e->source_ref, sizeof(e->source_ref)) || e->source_agency[0] == '\0')
        abort();
    return true;
}

static void one(const uint8_t *data, size_t size, wl_format format)
{
    huella_partial_date today = {2026, 1, 1};
    wl_problems problems = {0};
    huella_error err;
    huella_status st = wl_parse(data, size, format, &today, check, &today, &problems, &err);
    if (st != HUELLA_OK && st != HUELLA_E_NOMEM)
        abort();
    if (problems.n > 0 && !problems.nomem) {
        /* One line per problem, up to the listing limit. */
        size_t lines = 0;
        for (const char *p = problems.text; *p; p++)
            lines += *p == '\n';
        if (lines == 0 || lines > problems.n)
            abort();
    }
    wl_problems_free(&problems);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, WL_FORMAT_CSV);
    one(data, size, WL_FORMAT_JSON);
    return 0;
}
