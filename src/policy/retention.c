/*
 * retention.c - retention periods per category and the purge that applies
 * them (include/huella/retention.h, docs/retention.md).  Policy layer: it
 * decides what has expired and asks the store, the watchlist and the
 * audit chain to delete it, recording every purge in the chain first.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/retention.h"
#include "huella/watchlist.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_DAYS 36600 /* a century */

/* ---- The policy file ---- */

static huella_status member_days(json_t *o, const char *what, const char *key, int64_t *out,
                                 huella_error *err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return HUELLA_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_DAYS)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "retention policy: %s.%s: want whole days 0..%d (0 keeps forever)",
                                what, key, MAX_DAYS);
    *out = json_integer_value(v);
    return HUELLA_OK;
}

static huella_status member_bool(json_t *o, const char *what, const char *key, bool *out,
                                 huella_error *err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return HUELLA_OK;
    if (!json_is_boolean(v))
        return huella_error_set(err, HUELLA_E_INPUT, "retention policy: %s.%s: want true or false",
                                what, key);
    *out = json_is_true(v);
    return HUELLA_OK;
}

/* The members of o must all be in allowed (NULL-terminated). */
static huella_status only_members(json_t *o, const char *what, const char *const *allowed,
                                  huella_error *err)
{
    if (!json_is_object(o))
        return huella_error_set(err, HUELLA_E_INPUT, "retention policy: %s: want an object", what);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        (void)v;
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "retention policy: %s: unknown member \"%s\"", what, key);
    }
    return HUELLA_OK;
}

huella_status huella_retention_parse(const char *text, size_t len, huella_retention_policy *out,
                                     huella_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "retention policy: line %d: %s", je.line,
                                je.text);
    static const char *const top[] = {
        "version", "encounters", "watchlist_entries", "cases", "audit", "comment", NULL};
    static const char *const enc[] = {"days", NULL};
    static const char *const wl[] = {"purge_expired", "days_after_expiry", NULL};
    static const char *const cases[] = {"days_after_decision", NULL};
    static const char *const audit[] = {"prune", "days", NULL};
    huella_status st = only_members(root, "(top level)", top, err);
    json_t *v = json_object_get(root, "version");
    if (st == HUELLA_OK && (!json_is_integer(v) || json_integer_value(v) != 1))
        st = huella_error_set(err, HUELLA_E_INPUT, "retention policy: want \"version\": 1");
    json_t *e = json_object_get(root, "encounters"),
           *w = json_object_get(root, "watchlist_entries"), *c = json_object_get(root, "cases"),
           *a = json_object_get(root, "audit");
    if (st == HUELLA_OK && e != NULL && (st = only_members(e, "encounters", enc, err)) == HUELLA_OK)
        st = member_days(e, "encounters", "days", &out->encounter_days, err);
    if (st == HUELLA_OK && w != NULL &&
        (st = only_members(w, "watchlist_entries", wl, err)) == HUELLA_OK) {
        st = member_bool(w, "watchlist_entries", "purge_expired", &out->watchlist_purge, err);
        if (st == HUELLA_OK)
            st = member_days(w, "watchlist_entries", "days_after_expiry",
                             &out->watchlist_grace_days, err);
    }
    if (st == HUELLA_OK && c != NULL && (st = only_members(c, "cases", cases, err)) == HUELLA_OK)
        st = member_days(c, "cases", "days_after_decision", &out->case_days, err);
    if (st == HUELLA_OK && a != NULL && (st = only_members(a, "audit", audit, err)) == HUELLA_OK) {
        st = member_bool(a, "audit", "prune", &out->audit_prune, err);
        if (st == HUELLA_OK)
            st = member_days(a, "audit", "days", &out->audit_days, err);
        if (st == HUELLA_OK && out->audit_prune && out->audit_days == 0)
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "retention policy: audit.prune needs audit.days > 0");
    }
    json_decref(root);
    if (st != HUELLA_OK)
        memset(out, 0, sizeof *out);
    return st;
}

huella_status huella_retention_load(const char *path, huella_retention_policy *out,
                                    huella_error *err)
{
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 1u << 20, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_retention_parse((const char *)data, len, out, err);
    free(data);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s: ", path);
    return st;
}

/* ---- Time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * published days_from_civil algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

/* "YYYY-MM-DDThh:mm:ssZ" -> seconds since the epoch. */
static bool parse_time(const char *t, int64_t *secs)
{
    int y, mo, d, h, mi, s;
    char z;
    if (strlen(t) != 20 ||
        sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 || z != 'Z' ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1900)
        return false;
    *secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

static void format_time(int64_t secs, char out[32])
{
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
}

/* ---- Auditing ---- */

static huella_status record(huella_audit *a, const char *who, const char *operation,
                            const int64_t *persons, size_t n_persons, const char *outcome,
                            const char *detail, huella_error *err)
{
    huella_audit_event ev = {.user = who,
                             .role = "system",
                             .agency = "",
                             .purpose = "retention",
                             .legal_basis = "retention-policy",
                             .operation = operation,
                             .persons = persons,
                             .n_persons = n_persons,
                             .outcome = outcome,
                             .detail = detail};
    return huella_audit_append(a, &ev, NULL, err);
}

/* ---- The run ---- */

typedef struct run_ctx {
    huella_audit *a;
    const char *who;
    bool dry;
    int64_t audited;
} run_ctx;

/* Audit before doing (a dry run audits nothing). */
static huella_status audited(run_ctx *r, const char *operation, const int64_t *persons,
                             size_t n_persons, const char *detail, huella_error *err)
{
    if (r->dry)
        return HUELLA_OK;
    huella_status st = record(r->a, r->who, operation, persons, n_persons, "allowed", detail, err);
    if (st == HUELLA_OK)
        r->audited++;
    return st;
}

static void audit_failure(run_ctx *r, const char *operation, const int64_t *persons, size_t n,
                          const huella_error *why)
{
    if (r->dry)
        return;
    huella_error ignored;
    char detail[HUELLA_AUDIT_MAX_FIELD];
    snprintf(detail, sizeof detail, "failed: %.200s", why->message);
    if (record(r->a, r->who, operation, persons, n, "error", detail, &ignored) == HUELLA_OK)
        r->audited++;
}

static huella_status purge_encounters(run_ctx *r, huella_store *s, const char *cutoff, int64_t days,
                                      json_t *out, huella_error *err)
{
    huella_store_expired *v;
    size_t n;
    huella_status st = huella_store_expired_encounters(s, cutoff, &v, &n, err);
    if (st != HUELLA_OK)
        return st;
    for (size_t i = 0; st == HUELLA_OK && i < n; i++) {
        const huella_store_expired *e = &v[i];
        /* A person's other expired encounters went with the person. */
        bool with_person = e->last && i > 0 && v[i - 1].person_id == e->person_id;
        if (with_person) {
            json_array_append_new(out, json_pack("{s:I, s:I, s:s, s:b}", "encounter_id",
                                                 (json_int_t)e->encounter_id, "person_id",
                                                 (json_int_t)e->person_id, "captured", e->captured,
                                                 "person_erased", true));
            continue;
        }
        char detail[HUELLA_AUDIT_MAX_FIELD];
        snprintf(detail, sizeof detail,
                 "encounter %" PRId64 " captured %s, retention %" PRId64 " days%s", e->encounter_id,
                 e->captured, days, e->last ? "; the person's last encounter: person erased" : "");
        const char *op = e->last ? "retention.person.erase" : "retention.encounter.erase";
        st = audited(r, op, &e->person_id, 1, detail, err);
        if (st == HUELLA_OK && !r->dry) {
            st = e->last ? huella_store_person_erase(s, e->person_id, r->who,
                                                     "retention period expired", err)
                         : huella_store_encounter_erase(s, e->encounter_id, err);
            if (st != HUELLA_OK)
                audit_failure(r, op, &e->person_id, 1, err);
        }
        if (st == HUELLA_OK)
            json_array_append_new(out, json_pack("{s:I, s:I, s:s, s:b}", "encounter_id",
                                                 (json_int_t)e->encounter_id, "person_id",
                                                 (json_int_t)e->person_id, "captured", e->captured,
                                                 "person_erased", e->last));
    }
    free(v);
    return st;
}

static huella_status purge_watchlist(run_ctx *r, const char *dir, const char *today, json_t *report,
                                     huella_error *err)
{
    char *path = NULL;
    size_t plen = strlen(dir) + sizeof "/watchlist.db";
    struct stat sb;
    if ((path = malloc(plen)) == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "retention: out of memory");
    snprintf(path, plen, "%s/watchlist.db", dir);
    bool exists = stat(path, &sb) == 0;
    free(path);
    if (!exists) {
        json_object_set_new(report, "watchlist_entries", json_integer(0));
        return HUELLA_OK;
    }
    huella_watchlist *wl;
    huella_status st = huella_watchlist_open(dir, NULL, &wl, err);
    if (st != HUELLA_OK)
        return st;
    /* Count first (the dry run's answer, and the audit record's). */
    int64_t *ids = NULL;
    size_t n = 0, expired = 0;
    st = huella_watchlist_ids(wl, &ids, &n, err);
    huella_watchlist_entry *e = malloc(sizeof *e);
    if (st == HUELLA_OK && e == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "retention: out of memory");
    for (size_t i = 0; st == HUELLA_OK && i < n; i++) {
        st = huella_watchlist_get(wl, ids[i], e, err);
        char d[16];
        huella_partial_date_format(&e->expiry_date, d, sizeof d);
        if (st == HUELLA_OK && strcmp(d, today) < 0)
            expired++;
    }
    free(e);
    free(ids);
    if (st == HUELLA_OK && expired > 0) {
        char detail[HUELLA_AUDIT_MAX_FIELD];
        snprintf(detail, sizeof detail, "%zu watchlist entries with an expiry date before %s",
                 expired, today);
        st = audited(r, "retention.watchlist.expire", NULL, 0, detail, err);
        size_t purged = 0;
        if (st == HUELLA_OK && !r->dry) {
            st = huella_watchlist_expire(wl, today, &purged, err);
            if (st != HUELLA_OK)
                audit_failure(r, "retention.watchlist.expire", NULL, 0, err);
            else
                expired = purged;
        }
    }
    huella_watchlist_close(wl);
    if (st == HUELLA_OK)
        json_object_set_new(report, "watchlist_entries", json_integer((json_int_t)expired));
    return st;
}

static huella_status purge_cases(run_ctx *r, huella_store *s, const char *cutoff, int64_t days,
                                 json_t *out, huella_error *err)
{
    int64_t *ids;
    size_t n;
    huella_status st = huella_store_closed_cases(s, cutoff, &ids, &n, err);
    for (size_t i = 0; st == HUELLA_OK && i < n; i++) {
        char detail[HUELLA_AUDIT_MAX_FIELD];
        snprintf(detail, sizeof detail,
                 "case %" PRId64 " decided before %s, retention %" PRId64 " days", ids[i], cutoff,
                 days);
        st = audited(r, "retention.case.delete", NULL, 0, detail, err);
        if (st == HUELLA_OK && !r->dry) {
            st = huella_store_case_delete(s, ids[i], err);
            if (st != HUELLA_OK)
                audit_failure(r, "retention.case.delete", NULL, 0, err);
        }
        if (st == HUELLA_OK)
            json_array_append_new(out, json_integer(ids[i]));
    }
    free(ids);
    return st;
}

static huella_status prune_audit(run_ctx *r, const char *dir, const char *cutoff, json_t *report,
                                 huella_error *err)
{
    int64_t through = 0, pruned = 0;
    uint8_t hash[32];
    huella_status st = huella_audit_prune(r->a, dir, cutoff, r->dry, &through, &pruned, hash, err);
    char hex[65] = "";
    if (st == HUELLA_OK && through > 0) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < 32; i++) {
            hex[2 * i] = digits[hash[i] >> 4];
            hex[2 * i + 1] = digits[hash[i] & 15];
        }
        hex[64] = '\0';
        if (!r->dry) {
            /* After the prune: the record names the signed anchor it rests on. */
            char detail[HUELLA_AUDIT_MAX_FIELD];
            snprintf(detail, sizeof detail,
                     "records up to %" PRId64 " (%" PRId64 " records, before %s) pruned; "
                     "signed anchor hash %s",
                     through, pruned, cutoff, hex);
            st = record(r->a, r->who, "audit.prune", NULL, 0, "allowed", detail, err);
            if (st == HUELLA_OK)
                r->audited++;
        }
    }
    if (st == HUELLA_OK)
        json_object_set_new(report, "audit",
                            json_pack("{s:I, s:I, s:s?}", "pruned", (json_int_t)pruned, "through",
                                      (json_int_t)through, "anchor", through > 0 ? hex : NULL));
    return st;
}

huella_status huella_retention_run(huella_store *s, const char *dir, huella_audit *a,
                                   const huella_retention_policy *p,
                                   const huella_retention_options *o, char **report,
                                   huella_error *err)
{
    *report = NULL;
    if (a == NULL && !o->dry_run)
        return huella_error_set(err, HUELLA_E_DENIED,
                                "retention: every purge is audited; open the audit log first "
                                "(huella audit init)");
    int64_t now;
    char now_text[32];
    if (o->now != NULL) {
        if (!parse_time(o->now, &now))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "retention: --now %s: want YYYY-MM-DDThh:mm:ssZ", o->now);
    } else {
        now = (int64_t)time(NULL);
    }
    format_time(now, now_text);
    run_ctx r = {a, o->who != NULL ? o->who : "retention", o->dry_run, 0};
    json_t *rep = json_pack("{s:s, s:b, s:[], s:[]}", "now", now_text, "dry_run", o->dry_run,
                            "encounters", "cases");
    if (rep == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "retention: out of memory");
    huella_status st = HUELLA_OK;
    char cutoff[32];
    if (p->encounter_days > 0) {
        format_time(now - p->encounter_days * 86400, cutoff);
        st = purge_encounters(&r, s, cutoff, p->encounter_days, json_object_get(rep, "encounters"),
                              err);
    }
    if (st == HUELLA_OK && p->watchlist_purge) {
        format_time(now - p->watchlist_grace_days * 86400, cutoff);
        cutoff[10] = '\0'; /* the date */
        st = purge_watchlist(&r, dir, cutoff, rep, err);
    } else if (st == HUELLA_OK) {
        json_object_set_new(rep, "watchlist_entries", json_integer(0));
    }
    if (st == HUELLA_OK && p->case_days > 0) {
        format_time(now - p->case_days * 86400, cutoff);
        st = purge_cases(&r, s, cutoff, p->case_days, json_object_get(rep, "cases"), err);
    }
    if (st == HUELLA_OK && p->audit_prune && p->audit_days > 0) {
        format_time(now - p->audit_days * 86400, cutoff);
        st = prune_audit(&r, dir, cutoff, rep, err);
    } else if (st == HUELLA_OK) {
        json_object_set_new(rep, "audit",
                            json_pack("{s:I, s:I, s:n}", "pruned", (json_int_t)0, "through",
                                      (json_int_t)0, "anchor"));
    }
    if (st == HUELLA_OK)
        json_object_set_new(rep, "audit_records", json_integer(r.audited));
    if (st == HUELLA_OK && (*report = json_dumps(rep, JSON_INDENT(2))) == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "retention: out of memory");
    json_decref(rep);
    return st;
}
