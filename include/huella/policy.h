/*
 * huella/policy.h - access control: who may do what with whose data, for
 * which purpose, on which legal basis.
 *
 * Two halves:
 *   - the policy (a JSON file, docs/server.md, data/policy.json): the
 *     declared purposes with the legal bases each may rest on, and for
 *     every role the operations it may perform and for which purposes.
 *     huella_policy_decide is a pure function of the policy and one
 *     request: no clock, no database;
 *   - the access database DIR/access.db beside the store: agencies,
 *     users (one role, one agency each), API tokens (32 random bytes,
 *     shown once as base64url, stored only as a BLAKE2b hash keyed with
 *     DIR/access.key) with expiry, and sharing agreements between
 *     agencies (owner, partner, purpose, legal basis, expiry).
 *
 * Names of agencies, users, roles, purposes and legal bases: 1 to 63
 * bytes of a-z, 0-9, '.', '_', '-'.
 *
 * Threads: a huella_access handle is used by one thread at a time; a
 * huella_policy may be shared read-only.
 */
#ifndef HUELLA_POLICY_H
#define HUELLA_POLICY_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HUELLA_NAME_MAX 64 /* buffer size for a name, with the NUL */

/* The six roles. */
#define HUELLA_ROLE_OPERATOR      "operator"
#define HUELLA_ROLE_EXAMINER      "examiner"
#define HUELLA_ROLE_SUPERVISOR    "supervisor"
#define HUELLA_ROLE_AUDITOR       "auditor"
#define HUELLA_ROLE_DPO           "dpo"
#define HUELLA_ROLE_ADMINISTRATOR "administrator"

/* True for one of the six role names. */
HUELLA_API bool huella_role_valid(const char *role);
/* True for a well-formed name (see above). */
HUELLA_API bool huella_name_valid(const char *name);

/* ---- The policy ---------------------------------------------------------- */

typedef struct huella_policy huella_policy;

/* Parse a policy document (label names it in messages). */
HUELLA_API huella_status huella_policy_parse(const char *json, size_t len, const char *label,
                                             huella_policy **out, huella_error *err);
HUELLA_API huella_status huella_policy_load(const char *path, huella_policy **out,
                                            huella_error *err);
HUELLA_API void huella_policy_free(huella_policy *p);
/* Whether the purpose is declared in the policy. */
HUELLA_API bool huella_policy_has_purpose(const huella_policy *p, const char *purpose);
/* How many agreeing decisions by different examiners a case of this kind
 * ("watchlist", "possible-duplicate") needs before it counts: the policy
 * file's "decisions_needed" object, else 2 for watchlist, 1 otherwise. */
HUELLA_API unsigned huella_policy_decisions_needed(const huella_policy *p, const char *case_kind);

/* A sharing agreement: records of `owner` may be used by users of
 * `partner` for `purpose` on `legal_basis` until `expires` (UTC ISO 8601). */
typedef struct huella_sharing {
    int64_t id;
    char owner[HUELLA_NAME_MAX];
    char partner[HUELLA_NAME_MAX];
    char purpose[HUELLA_NAME_MAX];
    char legal_basis[HUELLA_NAME_MAX];
    char expires[32];
    bool revoked;
} huella_sharing;

typedef struct huella_access_request {
    const char *role;
    const char *operation;   /* "person.read", ... */
    const char *purpose;     /* as declared (Huella-Purpose); NULL = missing */
    const char *legal_basis; /* as declared (Huella-Legal-Basis); NULL = missing */
    const char *user_agency;
    const char *record_agency;     /* owner of the record touched; NULL: none */
    const huella_sharing *sharing; /* agreements to consider (any owner/partner) */
    size_t n_sharing;
    const char *now; /* UTC ISO 8601, compared with the expiries */
} huella_access_request;

typedef enum huella_decision {
    HUELLA_ALLOW = 0,
    HUELLA_DENY_ROLE,                /* not one of the roles of the policy */
    HUELLA_DENY_PURPOSE_MISSING,     /* no purpose declared */
    HUELLA_DENY_PURPOSE_UNKNOWN,     /* a purpose the policy does not declare */
    HUELLA_DENY_BASIS_MISSING,       /* no legal basis declared */
    HUELLA_DENY_BASIS_NOT_ALLOWED,   /* not a legal basis of that purpose */
    HUELLA_DENY_OPERATION,           /* the role may not do the operation at all */
    HUELLA_DENY_PURPOSE_NOT_ALLOWED, /* the role may not do it for that purpose */
    HUELLA_DENY_AGENCY,              /* another agency's record, no agreement */
    HUELLA_DENY_SHARING_EXPIRED      /* an agreement that would cover it has expired */
} huella_decision;

/*
 * The decision for one request, checked in this order: role, purpose
 * declared and known, legal basis declared and allowed for the purpose,
 * operation and purpose allowed for the role, then ownership: a record of
 * another agency needs an operation the policy marks shareable and an
 * unrevoked agreement (owner = record agency, partner = user agency, same
 * purpose and legal basis) that has not expired.
 */
HUELLA_API huella_decision huella_policy_decide(const huella_policy *p,
                                                const huella_access_request *r);
/* "allow", "unknown-role", "purpose-missing", ... (stable, for clients). */
HUELLA_API const char *huella_decision_code(huella_decision d);
/* One sentence for people. */
HUELLA_API const char *huella_decision_reason(huella_decision d);

/* ---- The access database -------------------------------------------------- */

typedef struct huella_access huella_access;

/* Open DIR/access.db, creating it and DIR/access.key (32 random bytes,
 * 0600) on first use; refuses a key file group or others may read. */
HUELLA_API huella_status huella_access_open(const char *dir, huella_access **out,
                                            huella_error *err);
HUELLA_API void huella_access_close(huella_access *a);

HUELLA_API huella_status huella_access_agency_add(huella_access *a, const char *agency,
                                                  huella_error *err);
/* The agency must exist; the role must be one of the six. */
HUELLA_API huella_status huella_access_user_add(huella_access *a, const char *user,
                                                const char *role, const char *agency,
                                                huella_error *err);

/* A new token for user (expires: as huella_utc_parse takes it, or NULL
 * for none): token
 * receives the only copy, 43 characters of base64url and a NUL. */
#define HUELLA_TOKEN_CHARS 44
HUELLA_API huella_status huella_access_token_new(huella_access *a, const char *user,
                                                 const char *expires,
                                                 char token[HUELLA_TOKEN_CHARS], huella_error *err);

typedef struct huella_principal {
    char user[HUELLA_NAME_MAX];
    char role[HUELLA_NAME_MAX];
    char agency[HUELLA_NAME_MAX];
} huella_principal;

/* Who holds this token at time now: HUELLA_E_DENIED with "unknown token"
 * or "expired token" in the message otherwise. */
HUELLA_API huella_status huella_access_authenticate(huella_access *a, const char *token,
                                                    const char *now, huella_principal *who,
                                                    huella_error *err);

HUELLA_API huella_status huella_access_sharing_add(huella_access *a, const huella_sharing *s,
                                                   int64_t *id, huella_error *err);
HUELLA_API huella_status huella_access_sharing_revoke(huella_access *a, int64_t id,
                                                      huella_error *err);
/* Agreements from owner to partner (NULL: any), revoked ones included;
 * *out (free()) is NULL when *n is 0. */
HUELLA_API huella_status huella_access_sharings(huella_access *a, const char *owner,
                                                const char *partner, huella_sharing **out,
                                                size_t *n, huella_error *err);

/* Users as a JSON array [{name, role, agency, created}] (free()). */
HUELLA_API huella_status huella_access_users_json(huella_access *a, char **json, huella_error *err);

/* Current UTC time "YYYY-MM-DDThh:mm:ssZ". */
HUELLA_API void huella_utc_now(char out[32]);
/* "2026-12-31T00:00:00Z" as is, or NOW plus "30d", "12h", "45m", "90s"
 * (at most ten years); false on anything else. */
HUELLA_API bool huella_utc_parse(const char *text, char out[32]);

#ifdef __cplusplus
}
#endif

#endif
