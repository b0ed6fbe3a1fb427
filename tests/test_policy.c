/*
 * test_policy.c - access decisions and the access database.
 *
 * The decision is checked exhaustively: every role (and an unknown one)
 * x every operation of the default policy (and an unknown one) x every
 * purpose (and an undeclared and a missing one) x a legal basis that is
 * allowed, one that is not and none x six ownership situations (own
 * record, no record, another agency's with no agreement, with one in
 * force, expired, revoked, or for another purpose), against an oracle
 * written from the policy document, plus the cases that matter spelt out.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "huella/policy.h"
#include "support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef HUELLA_SOURCE_DIR
#define HUELLA_SOURCE_DIR "."
#endif

static huella_policy *load_default(json_t **doc)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/data/policy.json", HUELLA_SOURCE_DIR);
    huella_policy *p = NULL;
    huella_error err;
    if (huella_policy_load(path, &p, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    *doc = json_load_file(path, 0, NULL);
    assert_non_null(*doc);
    return p;
}

static bool in(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (s && strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

enum {
    OWN,
    NO_RECORD,
    OTHER_NONE,
    OTHER_VALID,
    OTHER_EXPIRED,
    OTHER_REVOKED,
    OTHER_WRONG_PURPOSE,
    N_SITUATIONS
};

static void test_exhaustive(void **state)
{
    (void)state;
    json_t *doc;
    huella_policy *p = load_default(&doc);
    json_t *purposes = json_object_get(doc, "purposes"), *roles = json_object_get(doc, "roles");
    json_t *shareable = json_object_get(doc, "shareable");

    const char *role_list[] = {"operator", "examiner",      "supervisor", "auditor",
                               "dpo",      "administrator", "janitor"};
    /* Every operation named anywhere in the policy, and one nobody has. */
    json_t *ops = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(roles, k, v)
    {
        const char *op;
        json_t *x;
        json_object_foreach(v, op, x) if (!in(ops, op)) json_array_append_new(ops, json_string(op));
    }
    json_array_append_new(ops, json_string("person.teleport"));
    json_t *purpose_list = json_array();
    json_object_foreach(purposes, k, v) json_array_append_new(purpose_list, json_string(k));
    json_array_append_new(purpose_list, json_string("curiosity"));
    json_array_append_new(purpose_list, json_null());

    const char *now = "2026-06-01T12:00:00Z";
    size_t counts[HUELLA_DENY_SHARING_EXPIRED + 1] = {0};
    size_t total = 0;
    for (size_t ri = 0; ri < sizeof(role_list) / sizeof(role_list[0]); ri++) {
        size_t oi;
        json_t *opv;
        json_array_foreach(ops, oi, opv)
        {
            const char *op = json_string_value(opv);
            size_t pi;
            json_t *pv;
            json_array_foreach(purpose_list, pi, pv)
            {
                const char *purpose = json_string_value(pv);
                json_t *bases = purpose ? json_object_get(purposes, purpose) : NULL;
                const char *basis_list[3] = {bases ? json_string_value(json_array_get(bases, 0))
                                                   : "national-law",
                                             "whim", NULL};
                for (int bi = 0; bi < 3; bi++) {
                    const char *basis = basis_list[bi];
                    for (int sit = 0; sit < N_SITUATIONS; sit++) {
                        huella_sharing sh = {0};
                        snprintf(sh.owner, sizeof(sh.owner), "police");
                        snprintf(sh.partner, sizeof(sh.partner), "border");
                        snprintf(sh.purpose, sizeof(sh.purpose), "%s",
                                 sit == OTHER_WRONG_PURPOSE ? "audit" : (purpose ? purpose : "x"));
                        snprintf(sh.legal_basis, sizeof(sh.legal_basis), "%s", basis ? basis : "x");
                        snprintf(sh.expires, sizeof(sh.expires), "%s",
                                 sit == OTHER_EXPIRED ? "2026-05-31T00:00:00Z"
                                                      : "2026-12-31T00:00:00Z");
                        sh.revoked = sit == OTHER_REVOKED;
                        bool has_agreement = sit >= OTHER_VALID;
                        huella_access_request r = {.role = role_list[ri],
                                                   .operation = op,
                                                   .purpose = purpose,
                                                   .legal_basis = basis,
                                                   .user_agency = "border",
                                                   .record_agency = sit == OWN         ? "border"
                                                                    : sit == NO_RECORD ? NULL
                                                                                       : "police",
                                                   .sharing = has_agreement ? &sh : NULL,
                                                   .n_sharing = has_agreement ? 1 : 0,
                                                   .now = now};
                        /* The oracle, from the document. */
                        json_t *role = json_object_get(roles, role_list[ri]);
                        huella_decision want;
                        if (role == NULL)
                            want = HUELLA_DENY_ROLE;
                        else if (purpose == NULL)
                            want = HUELLA_DENY_PURPOSE_MISSING;
                        else if (bases == NULL)
                            want = HUELLA_DENY_PURPOSE_UNKNOWN;
                        else if (basis == NULL)
                            want = HUELLA_DENY_BASIS_MISSING;
                        else if (!in(bases, basis))
                            want = HUELLA_DENY_BASIS_NOT_ALLOWED;
                        else if (json_object_get(role, op) == NULL)
                            want = HUELLA_DENY_OPERATION;
                        else if (!in(json_object_get(role, op), purpose))
                            want = HUELLA_DENY_PURPOSE_NOT_ALLOWED;
                        else if (sit == OWN || sit == NO_RECORD)
                            want = HUELLA_ALLOW;
                        else if (!in(shareable, op))
                            want = HUELLA_DENY_AGENCY;
                        else if (sit == OTHER_VALID)
                            want = HUELLA_ALLOW;
                        else if (sit == OTHER_EXPIRED)
                            want = HUELLA_DENY_SHARING_EXPIRED;
                        else
                            want = HUELLA_DENY_AGENCY;
                        huella_decision got = huella_policy_decide(p, &r);
                        if (got != want)
                            fail_msg("%s %s purpose=%s basis=%s situation=%d: got %s, want %s",
                                     role_list[ri], op, purpose ? purpose : "(none)",
                                     basis ? basis : "(none)", sit, huella_decision_code(got),
                                     huella_decision_code(want));
                        counts[got]++;
                        total++;
                    }
                }
            }
        }
    }
    printf("# %zu decisions checked against the oracle\n", total);
    for (int d = 0; d <= HUELLA_DENY_SHARING_EXPIRED; d++) {
        printf("#   %-30s %zu\n", huella_decision_code((huella_decision)d), counts[d]);
        assert_true(counts[d] > 0); /* every outcome is reached */
    }
    json_decref(ops);
    json_decref(purpose_list);
    json_decref(doc);
    huella_policy_free(p);
}

static huella_decision decide(huella_policy *p, const char *role, const char *op,
                              const char *purpose, const char *basis, const char *record_agency,
                              const huella_sharing *sh)
{
    huella_access_request r = {
        role, op, purpose, basis, "border", record_agency, sh, sh ? 1 : 0, "2026-06-01T12:00:00Z"};
    return huella_policy_decide(p, &r);
}

static void test_cases_that_matter(void **state)
{
    (void)state;
    json_t *doc;
    huella_policy *p = load_default(&doc);
    json_decref(doc);
    /* Subject access, rectification, erasure need the data-protection role. */
    assert_int_equal(
        decide(p, "dpo", "person.export", "subject-access", "gdpr-art-15", "border", NULL),
        HUELLA_ALLOW);
    assert_int_equal(
        decide(p, "supervisor", "person.export", "subject-access", "gdpr-art-15", "border", NULL),
        HUELLA_DENY_OPERATION);
    assert_int_equal(
        decide(p, "administrator", "person.erase", "erasure", "gdpr-art-17", "border", NULL),
        HUELLA_DENY_OPERATION);
    assert_int_equal(
        decide(p, "dpo", "person.erase", "subject-access", "gdpr-art-15", "border", NULL),
        HUELLA_DENY_PURPOSE_NOT_ALLOWED);
    /* A purpose must rest on one of its legal bases. */
    assert_int_equal(
        decide(p, "operator", "person.read", "border-control", "gdpr-art-15", "border", NULL),
        HUELLA_DENY_BASIS_NOT_ALLOWED);
    /* Sharing covers reads, never erasure of another agency's record. */
    huella_sharing sh = {1,    "police", "border", "erasure", "gdpr-art-17", "2027-01-01T00:00:00Z",
                         false};
    assert_int_equal(decide(p, "dpo", "person.erase", "erasure", "gdpr-art-17", "police", &sh),
                     HUELLA_DENY_AGENCY);
    huella_sharing rd = {
        2, "police", "border", "border-control", "national-law", "2027-01-01T00:00:00Z", false};
    assert_int_equal(
        decide(p, "operator", "person.read", "border-control", "national-law", "police", &rd),
        HUELLA_ALLOW);
    /* ... only for the agreed legal basis, and only until it expires. */
    assert_int_equal(decide(p, "operator", "person.read", "border-control", "schengen-borders-code",
                            "police", &rd),
                     HUELLA_DENY_AGENCY);
    snprintf(rd.expires, sizeof(rd.expires), "2026-06-01T12:00:00Z");
    assert_int_equal(
        decide(p, "operator", "person.read", "border-control", "national-law", "police", &rd),
        HUELLA_DENY_SHARING_EXPIRED);
    /* An agreement in the other direction does not count. */
    huella_sharing back = {
        3, "border", "police", "border-control", "national-law", "2027-01-01T00:00:00Z", false};
    assert_int_equal(
        decide(p, "operator", "person.read", "border-control", "national-law", "police", &back),
        HUELLA_DENY_AGENCY);
    for (int d = 0; d <= HUELLA_DENY_SHARING_EXPIRED; d++)
        assert_true(strlen(huella_decision_reason((huella_decision)d)) > 10);
    huella_policy_free(p);
}

static void test_policy_file_errors(void **state)
{
    (void)state;
    huella_policy *p = NULL;
    huella_error err;
    const char *bad[] = {
        "{",
        "{\"format\":2,\"purposes\":{},\"roles\":{}}",
        "{\"format\":1,\"purposes\":{\"a\":[\"b\"]},\"roles\":{\"janitor\":{}}}",
        "{\"format\":1,\"purposes\":{\"a\":[\"b\"]},\"roles\":{\"dpo\":{\"x\":[\"zz\"]}}}",
        "{\"format\":1,\"purposes\":{\"a\":[]},\"roles\":{}}",
        "{\"format\":1,\"purposes\":{\"A B\":[\"b\"]},\"roles\":{}}",
        "{\"format\":1,\"purposes\":{\"a\":[\"b\"]},\"roles\":{},\"shareable\":3}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(huella_policy_parse(bad[i], strlen(bad[i]), "t", &p, &err), HUELLA_OK);
        assert_null(p);
        assert_true(strlen(err.message) > 3);
    }
    const char *good =
        "{\"format\":1,\"purposes\":{\"a\":[\"b\"]},\"roles\":{\"dpo\":{\"x\":[\"a\"]}}}";
    assert_int_equal(huella_policy_parse(good, strlen(good), "t", &p, &err), HUELLA_OK);
    assert_true(huella_policy_has_purpose(p, "a"));
    assert_false(huella_policy_has_purpose(p, "b"));
    huella_policy_free(p);
    huella_policy_free(NULL);
}

static void test_access_database(void **state)
{
    (void)state;
    const char *dir = test_tmpfile("access");
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
    huella_access *a;
    huella_error err;
    assert_int_equal(huella_access_open(dir, &a, &err), HUELLA_OK);
    assert_int_equal(huella_access_agency_add(a, "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_agency_add(a, "border", &err), HUELLA_E_INPUT);
    assert_int_equal(huella_access_agency_add(a, "Bad Name", &err), HUELLA_E_INPUT);
    assert_int_equal(huella_access_user_add(a, "ana", "examiner", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "bo", "king", "border", &err), HUELLA_E_INPUT);
    assert_int_equal(huella_access_user_add(a, "bo", "dpo", "nowhere", &err), HUELLA_E_NOTFOUND);
    char tok[HUELLA_TOKEN_CHARS], old[HUELLA_TOKEN_CHARS];
    assert_int_equal(huella_access_token_new(a, "ana", NULL, tok, &err), HUELLA_OK);
    assert_int_equal(strlen(tok), 43);
    assert_int_equal(huella_access_token_new(a, "ana", "2020-01-01T00:00:00Z", old, &err),
                     HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "nobody", NULL, old, &err), HUELLA_E_NOTFOUND);
    huella_principal who;
    const char *now = "2026-06-01T12:00:00Z";
    assert_int_equal(huella_access_authenticate(a, tok, now, &who, &err), HUELLA_OK);
    assert_string_equal(who.user, "ana");
    assert_string_equal(who.role, "examiner");
    assert_string_equal(who.agency, "border");
    assert_int_equal(huella_access_authenticate(a, old, now, &who, &err), HUELLA_E_DENIED);
    assert_non_null(strstr(err.message, "expired"));
    char wrong[HUELLA_TOKEN_CHARS];
    memcpy(wrong, tok, sizeof(wrong));
    wrong[5] = wrong[5] == 'A' ? 'B' : 'A';
    assert_int_equal(huella_access_authenticate(a, wrong, now, &who, &err), HUELLA_E_DENIED);
    assert_non_null(strstr(err.message, "unknown"));
    assert_int_equal(huella_access_authenticate(a, "short", now, &who, &err), HUELLA_E_DENIED);
    assert_int_equal(huella_access_authenticate(a, NULL, now, &who, &err), HUELLA_E_DENIED);
    /* Agreements: add, list, revoke. */
    assert_int_equal(huella_access_agency_add(a, "police", &err), HUELLA_OK);
    huella_sharing s = {0, "police", "border", "border-control", "national-law", "30d", false};
    int64_t id;
    assert_int_equal(huella_access_sharing_add(a, &s, &id, &err), HUELLA_OK);
    huella_sharing self = {0, "police", "police", "border-control", "national-law", "30d", false};
    assert_int_equal(huella_access_sharing_add(a, &self, NULL, &err), HUELLA_E_INPUT);
    huella_sharing *list;
    size_t n;
    assert_int_equal(huella_access_sharings(a, "police", "border", &list, &n, &err), HUELLA_OK);
    assert_int_equal(n, 1);
    assert_false(list[0].revoked);
    free(list);
    assert_int_equal(huella_access_sharing_revoke(a, id, &err), HUELLA_OK);
    assert_int_equal(huella_access_sharing_revoke(a, id, &err), HUELLA_E_NOTFOUND);
    assert_int_equal(huella_access_sharings(a, NULL, NULL, &list, &n, &err), HUELLA_OK);
    assert_int_equal(n, 1);
    assert_true(list[0].revoked);
    free(list);
    huella_access_close(a);
    /* The token is nowhere in the database files. */
    char path[1200];
    snprintf(path, sizeof(path), "%s/access.db", dir);
    size_t len;
    uint8_t *bytes = test_read_file(path, &len);
    assert_non_null(bytes);
    assert_null(memmem(bytes, len, tok, strlen(tok)));
    free(bytes);
    /* The token key must be private. */
    snprintf(path, sizeof(path), "%s/access.key", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(huella_access_open(dir, &a, &err), HUELLA_E_DENIED);
    assert_int_equal(chmod(path, 0600), 0);
}

static void test_time(void **state)
{
    (void)state;
    char out[32], now[32];
    huella_utc_now(now);
    assert_true(huella_utc_parse("2027-01-31T00:00:00Z", out));
    assert_string_equal(out, "2027-01-31T00:00:00Z");
    assert_true(huella_utc_parse("1d", out));
    assert_true(strcmp(out, now) > 0);
    assert_false(huella_utc_parse("1y", out));
    assert_false(huella_utc_parse("-3d", out));
    assert_false(huella_utc_parse("2027-01-31 00:00:00", out));
    assert_false(huella_utc_parse("99999d", out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustive),
        cmocka_unit_test(test_cases_that_matter),
        cmocka_unit_test(test_policy_file_errors),
        cmocka_unit_test(test_access_database),
        cmocka_unit_test(test_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
