/*
 * policy.c - the policy file and the access decision.
 *
 * Contract: huella_policy_decide is pure (the clock comes in the request)
 * and total: every combination of role, operation, purpose, legal basis,
 * agencies and agreements gives exactly one huella_decision, checked in
 * the order documented in huella/policy.h, so that the reason a client
 * sees is the first thing wrong with the request.
 *
 * Policy document, format 1 (docs/server.md):
 *   {"format": 1,
 *    "purposes": {"PURPOSE": ["LEGAL-BASIS", ...], ...},
 *    "roles": {"ROLE": {"OPERATION": ["PURPOSE", ...], ...}, ...},
 *    "shareable": ["OPERATION", ...]}
 * Roles must be among the six; purposes named by a role must be declared.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/policy.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct huella_policy {
    json_t *doc; /* validated */
};

static bool decisions_ok(json_t *o)
{
    if (!json_is_object(o))
        return false;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
            return false;
    }
    return true;
}

unsigned huella_policy_decisions_needed(const huella_policy *p, const char *case_kind)
{
    json_t *v = json_object_get(json_object_get(p->doc, "decisions_needed"), case_kind);
    if (json_is_integer(v))
        return (unsigned)json_integer_value(v);
    return strcmp(case_kind, "watchlist") == 0 ? 2 : 1;
}

static const char *const roles[] = {HUELLA_ROLE_OPERATOR,   HUELLA_ROLE_EXAMINER,
                                    HUELLA_ROLE_SUPERVISOR, HUELLA_ROLE_AUDITOR,
                                    HUELLA_ROLE_DPO,        HUELLA_ROLE_ADMINISTRATOR};

bool huella_role_valid(const char *role)
{
    for (size_t i = 0; role != NULL && i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

bool huella_name_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n >= HUELLA_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool string_array_of_names(json_t *a)
{
    if (!json_is_array(a))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!huella_name_valid(json_string_value(v))) return false;
    return true;
}

static bool array_has(json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *x = json_string_value(v);
        if (x != NULL && strcmp(x, s) == 0)
            return true;
    }
    return false;
}

huella_status huella_policy_parse(const char *json, size_t len, const char *label,
                                  huella_policy **out, huella_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: not JSON: %s (line %d)", label, je.text,
                                je.line);
    huella_status st = HUELLA_OK;
    json_t *purposes = json_object_get(doc, "purposes");
    json_t *rl = json_object_get(doc, "roles");
    json_t *share = json_object_get(doc, "shareable");
    if (json_integer_value(json_object_get(doc, "format")) != 1)
        st = huella_error_set(err, HUELLA_E_UNSUPPORTED, "%s: want \"format\": 1", label);
    else if (!json_is_object(purposes) || !json_is_object(rl))
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: want \"purposes\" and \"roles\" objects",
                              label);
    else if (json_object_get(doc, "decisions_needed") != NULL &&
             !decisions_ok(json_object_get(doc, "decisions_needed")))
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "%s: \"decisions_needed\" wants {\"CASE KIND\": 1 to 5}", label);
    else if (share != NULL && !string_array_of_names(share))
        st =
            huella_error_set(err, HUELLA_E_INPUT, "%s: \"shareable\" wants operation names", label);
    const char *k;
    json_t *v;
    if (st == HUELLA_OK)
        json_object_foreach(purposes, k, v)
        {
            if (!huella_name_valid(k) || !string_array_of_names(v) || json_array_size(v) == 0) {
                st = huella_error_set(err, HUELLA_E_INPUT,
                                      "%s: purpose '%.63s' wants a list of legal bases", label, k);
                break;
            }
        }
    if (st == HUELLA_OK)
        json_object_foreach(rl, k, v)
        {
            if (!huella_role_valid(k)) {
                st = huella_error_set(err, HUELLA_E_INPUT,
                                      "%s: '%.63s' is not a role (operator, examiner, supervisor,"
                                      " auditor, dpo, administrator)",
                                      label, k);
                break;
            }
            if (!json_is_object(v)) {
                st = huella_error_set(err, HUELLA_E_INPUT, "%s: role '%s' wants an object", label,
                                      k);
                break;
            }
            const char *op;
            json_t *ps;
            json_object_foreach(v, op, ps)
            {
                if (!huella_name_valid(op) || !string_array_of_names(ps)) {
                    st = huella_error_set(err, HUELLA_E_INPUT,
                                          "%s: role '%s' operation '%.63s' wants a list of "
                                          "purposes",
                                          label, k, op);
                    break;
                }
                size_t i;
                json_t *p;
                json_array_foreach(ps, i,
                                   p) if (json_object_get(purposes, json_string_value(p)) == NULL)
                {
                    st = huella_error_set(err, HUELLA_E_INPUT,
                                          "%s: role '%s' operation '%s' names purpose '%s', "
                                          "which is not declared",
                                          label, k, op, json_string_value(p));
                    break;
                }
                if (st != HUELLA_OK)
                    break;
            }
            if (st != HUELLA_OK)
                break;
        }
    if (st != HUELLA_OK) {
        json_decref(doc);
        return st;
    }
    huella_policy *p = malloc(sizeof(*p));
    if (p == NULL) {
        json_decref(doc);
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: out of memory", label);
    }
    p->doc = doc;
    *out = p;
    return HUELLA_OK;
}

huella_status huella_policy_load(const char *path, huella_policy **out, huella_error *err)
{
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 4u << 20, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_policy_parse((const char *)data, len, path, out, err);
    free(data);
    return st;
}

void huella_policy_free(huella_policy *p)
{
    if (p == NULL)
        return;
    json_decref(p->doc);
    free(p);
}

bool huella_policy_has_purpose(const huella_policy *p, const char *purpose)
{
    return purpose != NULL && json_object_get(json_object_get(p->doc, "purposes"), purpose) != NULL;
}

huella_decision huella_policy_decide(const huella_policy *p, const huella_access_request *r)
{
    json_t *role = r->role != NULL && huella_role_valid(r->role)
                       ? json_object_get(json_object_get(p->doc, "roles"), r->role)
                       : NULL;
    if (role == NULL)
        return HUELLA_DENY_ROLE;
    if (r->purpose == NULL || r->purpose[0] == '\0')
        return HUELLA_DENY_PURPOSE_MISSING;
    json_t *bases = json_object_get(json_object_get(p->doc, "purposes"), r->purpose);
    if (bases == NULL)
        return HUELLA_DENY_PURPOSE_UNKNOWN;
    if (r->legal_basis == NULL || r->legal_basis[0] == '\0')
        return HUELLA_DENY_BASIS_MISSING;
    if (!array_has(bases, r->legal_basis))
        return HUELLA_DENY_BASIS_NOT_ALLOWED;
    json_t *purposes = r->operation != NULL ? json_object_get(role, r->operation) : NULL;
    if (purposes == NULL)
        return HUELLA_DENY_OPERATION;
    if (!array_has(purposes, r->purpose))
        return HUELLA_DENY_PURPOSE_NOT_ALLOWED;
    if (r->record_agency == NULL ||
        (r->user_agency != NULL && strcmp(r->record_agency, r->user_agency) == 0))
        return HUELLA_ALLOW;
    if (r->user_agency == NULL || !array_has(json_object_get(p->doc, "shareable"), r->operation))
        return HUELLA_DENY_AGENCY;
    bool expired = false;
    for (size_t i = 0; i < r->n_sharing; i++) {
        const huella_sharing *s = &r->sharing[i];
        if (s->revoked || strcmp(s->owner, r->record_agency) != 0 ||
            strcmp(s->partner, r->user_agency) != 0 || strcmp(s->purpose, r->purpose) != 0 ||
            strcmp(s->legal_basis, r->legal_basis) != 0)
            continue;
        if (r->now != NULL && strcmp(s->expires, r->now) > 0)
            return HUELLA_ALLOW;
        expired = true;
    }
    return expired ? HUELLA_DENY_SHARING_EXPIRED : HUELLA_DENY_AGENCY;
}

const char *huella_decision_code(huella_decision d)
{
    switch (d) {
    case HUELLA_ALLOW:
        return "allow";
    case HUELLA_DENY_ROLE:
        return "unknown-role";
    case HUELLA_DENY_PURPOSE_MISSING:
        return "purpose-missing";
    case HUELLA_DENY_PURPOSE_UNKNOWN:
        return "purpose-undeclared";
    case HUELLA_DENY_BASIS_MISSING:
        return "legal-basis-missing";
    case HUELLA_DENY_BASIS_NOT_ALLOWED:
        return "legal-basis-not-allowed";
    case HUELLA_DENY_OPERATION:
        return "role-not-allowed";
    case HUELLA_DENY_PURPOSE_NOT_ALLOWED:
        return "purpose-not-allowed-for-role";
    case HUELLA_DENY_AGENCY:
        return "other-agency";
    case HUELLA_DENY_SHARING_EXPIRED:
        return "sharing-expired";
    }
    return "denied";
}

const char *huella_decision_reason(huella_decision d)
{
    switch (d) {
    case HUELLA_ALLOW:
        return "allowed by the policy";
    case HUELLA_DENY_ROLE:
        return "the user's role is not in the policy";
    case HUELLA_DENY_PURPOSE_MISSING:
        return "no purpose declared (Huella-Purpose header)";
    case HUELLA_DENY_PURPOSE_UNKNOWN:
        return "the declared purpose is not one the policy declares";
    case HUELLA_DENY_BASIS_MISSING:
        return "no legal basis declared (Huella-Legal-Basis header)";
    case HUELLA_DENY_BASIS_NOT_ALLOWED:
        return "the declared legal basis does not support that purpose";
    case HUELLA_DENY_OPERATION:
        return "the user's role may not perform this operation";
    case HUELLA_DENY_PURPOSE_NOT_ALLOWED:
        return "the user's role may not perform this operation for that purpose";
    case HUELLA_DENY_AGENCY:
        return "the record belongs to another agency and no sharing agreement covers this use";
    case HUELLA_DENY_SHARING_EXPIRED:
        return "the sharing agreement that covered this use has expired";
    }
    return "denied";
}

/* ---- time ---- */

void huella_utc_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool huella_utc_parse(const char *text, char out[32])
{
    size_t n = text != NULL ? strlen(text) : 0;
    if (n == 20 && text[4] == '-' && text[7] == '-' && text[10] == 'T' && text[13] == ':' &&
        text[16] == ':' && text[19] == 'Z') {
        for (size_t i = 0; i < 19; i++)
            if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 &&
                (text[i] < '0' || text[i] > '9'))
                return false;
        memcpy(out, text, 21);
        return true;
    }
    if (n < 2 || n > 8)
        return false;
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || v <= 0 || end[1] != '\0')
        return false;
    long unit = *end == 'd' ? 86400 : *end == 'h' ? 3600 : *end == 'm' ? 60 : *end == 's' ? 1 : 0;
    if (unit == 0 || v > 3660L * 86400 / unit)
        return false;
    time_t t = time(NULL) + (time_t)(v * unit);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return true;
}
