/*
 * test_server.c - huellad end to end: a store with persons of four
 * agencies, users of every kind, a self-signed certificate from
 * scripts/make-cert; huellad on a free loopback port with TLS; a GnuTLS
 * client that verifies the certificate.
 *
 * Counted in the output: every security case (no token, wrong token,
 * expired token, wrong role, missing or undeclared purpose, another
 * agency's record, expired sharing agreement) is denied with its reason
 * AND found in the audit chain; every malformed input (oversized,
 * truncated, malformed JSON and HTTP) gets a 4xx and the service still
 * answers.  Every response is checked against data/openapi.json (declared
 * status, required keys).  At the end SIGTERM stops huellad cleanly and
 * the audit chain verifies with one record per personal-data request.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "huella/audit.h"
#include "huella/policy.h"
#include "huella/store.h"
#include "support.h"
#include "tls_client.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static struct {
    char dir[600], key[700], certdir[700], cert[800];
    int port;
    pid_t pid;
    char tok_op[64], tok_op_old[64], tok_dpo[64], tok_aud[64];
    int64_t p_border, p_police, p_customs, p_navy, p_erase, p_empty;
    json_t *openapi;
    int security_cases, malformed_cases, openapi_checked;
    int personal_requests; /* each must leave one audit record */
} g;

static int64_t person(huella_store *s, huella_access *a, const char *agency, const char *bio)
{
    (void)a;
    int64_t p, e;
    huella_error err;
    huella_store_encounter enc = {NULL,           "site-1", "kit-7", "op-1", "identification",
                                  "national-law", NULL};
    assert_int_equal(huella_store_person_create(s, &p, &err), HUELLA_OK);
    assert_int_equal(huella_store_person_set_agency(s, p, agency, &err), HUELLA_OK);
    if (bio != NULL)
        assert_int_equal(huella_store_encounter_add(s, p, &enc, bio, &e, &err), HUELLA_OK);
    return p;
}

static int free_port(void)
{
    int port = tc_free_port();
    assert_true(port > 0);
    return port;
}

static int get(const char *path, const char *token, const char *purpose, const char *basis,
               tc_response *r);

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* writes to a killed huellad must fail, not kill us */
    gnutls_global_init();
    snprintf(g.dir, sizeof(g.dir), "%s", test_tmpfile("db"));
    snprintf(g.key, sizeof(g.key), "%s/audit-signing.key", test_tmpdir());
    snprintf(g.certdir, sizeof(g.certdir), "%s/tls", test_tmpdir());
    assert_int_equal(tc_fresh_store(HUELLA_SOURCE_DIR, g.dir, g.key, g.certdir), 0);
    snprintf(g.cert, sizeof(g.cert), "%s/cert.pem", g.certdir);
    huella_error err;
    huella_access *a;
    assert_int_equal(huella_access_open(g.dir, &a, &err), HUELLA_OK);
    const char *agencies[] = {"border", "police", "customs", "navy"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(huella_access_agency_add(a, agencies[i], &err), HUELLA_OK);
    huella_sharing ok = {0, "police", "border", "identification", "national-law", "30d", false};
    huella_sharing old = {
        0, "customs", "border", "identification", "national-law", "2020-01-01T00:00:00Z", false};
    assert_int_equal(huella_access_sharing_add(a, &ok, NULL, &err), HUELLA_OK);
    assert_int_equal(huella_access_sharing_add(a, &old, NULL, &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "olga", "operator", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "dan", "dpo", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "aud", "auditor", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "olga", "30d", g.tok_op, &err), HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "olga", "2021-01-01T00:00:00Z", g.tok_op_old, &err),
                     HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "dan", NULL, g.tok_dpo, &err), HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "aud", NULL, g.tok_aud, &err), HUELLA_OK);
    huella_store *s;
    assert_int_equal(huella_store_open(g.dir, &s, &err), HUELLA_OK);
    g.p_border = person(s, a, "border", "{\"names\":[\"Amal Haddad\"],\"date_of_birth\":\"1985\"}");
    g.p_police = person(s, a, "police", "{\"names\":[\"Ivan Petrov\"]}");
    g.p_customs = person(s, a, "customs", "{\"sex\":\"M\"}");
    g.p_navy = person(s, a, "navy", "{\"sex\":\"F\"}");
    g.p_erase = person(s, a, "border", "{\"names\":[\"To Be Erased\"]}");
    g.p_empty = person(s, a, "border", NULL);
    huella_store_close(s);
    huella_access_close(a);
    char path[800];
    snprintf(path, sizeof(path), "%s/data/openapi.json", HUELLA_SOURCE_DIR);
    g.openapi = json_load_file(path, 0, NULL);
    assert_non_null(g.openapi);

    g.port = free_port();
    char keyfile[800];
    snprintf(keyfile, sizeof(keyfile), "%s/key.pem", g.certdir);
    char logpath[800];
    snprintf(logpath, sizeof(logpath), "%s/huellad.log", test_tmpdir());
    static const char *const extra[] = {"--max-body", "65536", "--timeout", "3", NULL};
    g.pid = tc_start_huellad(HUELLAD_BIN, g.dir, g.port, g.cert, keyfile, extra, logpath, 10000);
    if (g.pid > 0)
        return 0;
    fprintf(stderr, "huellad did not start; log in %s\n", logpath);
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    if (g.pid > 0) {
        kill(g.pid, SIGKILL);
        waitpid(g.pid, NULL, 0);
    }
    json_decref(g.openapi);
    gnutls_global_deinit();
    return 0;
}

/* ---- requests ---- */

static int request(const char *method, const char *path, const char *token, const char *purpose,
                   const char *basis, const char *ctype, const char *body, const char *extra,
                   tc_response *r)
{
    return tc_call(g.port, g.cert, method, path, token, purpose, basis, ctype, body, extra, r);
}

static int get(const char *path, const char *token, const char *purpose, const char *basis,
               tc_response *r)
{
    return request("GET", path, token, purpose, basis, NULL, NULL, NULL, r);
}

/* The OpenAPI pattern of a concrete path. */
static const char *pattern_of(const char *path)
{
    if (strncmp(path, "/v1/persons/", 12) == 0)
        return strstr(path + 12, "/export") != NULL ? "/v1/persons/{id}/export"
                                                    : "/v1/persons/{id}";
    return path;
}

static json_t *resolve(json_t *o)
{
    const char *ref = json_string_value(json_object_get(o, "$ref"));
    if (ref == NULL)
        return o;
    /* "#/components/<kind>/<name>" */
    char kind[64], name[64];
    if (sscanf(ref, "#/components/%63[^/]/%63s", kind, name) != 2)
        fail_msg("bad $ref %s", ref);
    return json_object_get(json_object_get(json_object_get(g.openapi, "components"), kind), name);
}

/* The response must be declared, and a JSON body must have the required keys. */
static void check_openapi(const char *method, const char *path, const tc_response *r)
{
    char m[16];
    size_t i = 0;
    for (; method[i] && i < sizeof(m) - 1; i++)
        m[i] = (char)(method[i] | 0x20);
    m[i] = '\0';
    json_t *op =
        json_object_get(json_object_get(json_object_get(g.openapi, "paths"), pattern_of(path)), m);
    if (op == NULL)
        fail_msg("OpenAPI: %s %s is not declared", method, pattern_of(path));
    char status[8];
    snprintf(status, sizeof(status), "%d", r->status);
    json_t *resp = json_object_get(json_object_get(op, "responses"), status);
    if (resp == NULL)
        fail_msg("OpenAPI: %s %s answered %d, which is not declared", method, pattern_of(path),
                 r->status);
    resp = resolve(resp);
    json_t *schema = json_object_get(
        json_object_get(json_object_get(resp, "content"), "application/json"), "schema");
    if (schema != NULL) {
        schema = resolve(schema);
        json_t *body = json_loads(r->body, 0, NULL);
        if (body == NULL)
            fail_msg("OpenAPI: %s %s %d: body is not JSON", method, path, r->status);
        size_t k;
        json_t *key;
        json_array_foreach(json_object_get(schema, "required"), k,
                           key) if (json_object_get(body, json_string_value(key)) == NULL)
            fail_msg("OpenAPI: %s %s %d lacks required key '%s'", method, path, r->status,
                     json_string_value(key));
        json_decref(body);
    }
    g.openapi_checked++;
}

static json_t *expect(const char *method, const char *path, const char *token, const char *purpose,
                      const char *basis, const char *ctype, const char *body, const char *extra,
                      int want_status, const char *want_code)
{
    tc_response r;
    assert_int_equal(request(method, path, token, purpose, basis, ctype, body, extra, &r), 0);
    if (r.status != want_status)
        fail_msg("%s %s: got %d, want %d: %s", method, path, r.status, want_status, r.body);
    check_openapi(method, path, &r);
    json_t *o = json_loads(r.body, 0, NULL);
    if (want_code != NULL) {
        assert_non_null(o);
        if (strcmp(json_string_value(json_object_get(o, "error")), want_code) != 0)
            fail_msg("%s %s: got %s, want %s", method, path, r.body, want_code);
    }
    if (strncmp(path, "/v1/persons/", 12) == 0)
        g.personal_requests++;
    free(r.body);
    return o;
}

/* The newest audit record about person id. */
static json_t *last_audit(int64_t id)
{
    huella_audit_filter f = {.person = id};
    char *json;
    huella_error err;
    assert_int_equal(huella_audit_query(g.dir, &f, &json, &err), HUELLA_OK);
    json_t *arr = json_loads(json, 0, NULL);
    free(json);
    assert_true(json_array_size(arr) > 0);
    json_t *last = json_incref(json_array_get(arr, json_array_size(arr) - 1));
    json_decref(arr);
    return last;
}

static void assert_denied_and_audited(int64_t id, const char *code, const char *user)
{
    json_t *rec = last_audit(id);
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "denied");
    const char *detail = json_string_value(json_object_get(rec, "detail"));
    if (strncmp(detail, code, strlen(code)) != 0)
        fail_msg("audit detail '%s' does not start with '%s'", detail, code);
    assert_string_equal(json_string_value(json_object_get(rec, "user")), user);
    json_decref(rec);
    g.security_cases++;
    printf("# security case denied and audited: %s\n", code);
}

static void still_answers(void)
{
    tc_response r;
    assert_int_equal(get("/healthz", NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static char url[128];
static const char *purl(int64_t id, const char *suffix)
{
    snprintf(url, sizeof(url), "/v1/persons/%lld%s", (long long)id, suffix ? suffix : "");
    return url;
}

#define ID "identification"
#define NL "national-law"

static void test_public_endpoints(void **state)
{
    (void)state;
    json_t *o = expect("GET", "/healthz", NULL, NULL, NULL, NULL, NULL, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "ok");
    json_decref(o);
    o = expect("GET", "/v1/openapi.json", NULL, NULL, NULL, NULL, NULL, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "openapi")), "3.1.0");
    json_decref(o);
    tc_response r;
    assert_int_equal(get("/nowhere", NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 404);
    free(r.body);
}

static void test_security_cases(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof(p), "%s", purl(g.p_border, NULL));
    json_decref(expect("GET", p, NULL, ID, NL, NULL, NULL, NULL, 401, "token-missing"));
    assert_denied_and_audited(g.p_border, "token-missing", "");
    char wrong[64];
    snprintf(wrong, sizeof(wrong), "%s", g.tok_op);
    wrong[3] = wrong[3] == 'x' ? 'y' : 'x';
    json_decref(expect("GET", p, wrong, ID, NL, NULL, NULL, NULL, 401, "token-invalid"));
    assert_denied_and_audited(g.p_border, "token-invalid", "");
    json_decref(expect("GET", p, g.tok_op_old, ID, NL, NULL, NULL, NULL, 401, "token-expired"));
    assert_denied_and_audited(g.p_border, "token-expired", "olga");
    json_decref(expect("GET", p, g.tok_aud, "audit", "gdpr-art-5-2", NULL, NULL, NULL, 403,
                       "role-not-allowed"));
    assert_denied_and_audited(g.p_border, "role-not-allowed", "aud");
    json_decref(expect("GET", purl(g.p_border, "/export"), g.tok_op, ID, NL, NULL, NULL, NULL, 403,
                       "role-not-allowed"));
    assert_denied_and_audited(g.p_border, "role-not-allowed", "olga");
    json_decref(expect("GET", p, g.tok_op, NULL, NL, NULL, NULL, NULL, 403, "purpose-missing"));
    assert_denied_and_audited(g.p_border, "purpose-missing", "olga");
    json_decref(
        expect("GET", p, g.tok_op, "curiosity", NL, NULL, NULL, NULL, 403, "purpose-undeclared"));
    assert_denied_and_audited(g.p_border, "purpose-undeclared", "olga");
    json_decref(expect("GET", p, g.tok_op, "law-enforcement", "led-2016-680", NULL, NULL, NULL, 403,
                       "purpose-not-allowed-for-role"));
    assert_denied_and_audited(g.p_border, "purpose-not-allowed-for-role", "olga");
    json_decref(expect("GET", p, g.tok_op, ID, "gdpr-art-15", NULL, NULL, NULL, 403,
                       "legal-basis-not-allowed"));
    assert_denied_and_audited(g.p_border, "legal-basis-not-allowed", "olga");
    json_decref(expect("GET", purl(g.p_navy, NULL), g.tok_op, ID, NL, NULL, NULL, NULL, 403,
                       "other-agency"));
    assert_denied_and_audited(g.p_navy, "other-agency", "olga");
    json_decref(expect("GET", purl(g.p_customs, NULL), g.tok_op, ID, NL, NULL, NULL, NULL, 403,
                       "sharing-expired"));
    assert_denied_and_audited(g.p_customs, "sharing-expired", "olga");
    /* Shared for identification on national law: yes; on another basis: no. */
    json_t *o =
        expect("GET", purl(g.p_police, NULL), g.tok_op, ID, NL, NULL, NULL, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "agency")), "police");
    json_decref(o);
    json_decref(expect("GET", purl(g.p_police, NULL), g.tok_op, ID, "eurodac-reg-2024-1358", NULL,
                       NULL, NULL, 403, "other-agency"));
    assert_denied_and_audited(g.p_police, "other-agency", "olga");
    /* Rectification and erasure of another agency's record: never by sharing. */
    json_decref(expect("DELETE", purl(g.p_police, NULL), g.tok_dpo, "erasure", "gdpr-art-17", NULL,
                       NULL, "Huella-Reason: test", 403, "other-agency"));
    assert_denied_and_audited(g.p_police, "other-agency", "dan");
    printf("# security cases denied and audited: %d\n", g.security_cases);
    assert_int_equal(g.security_cases, 13);
}

static void test_persons(void **state)
{
    (void)state;
    json_t *o =
        expect("GET", purl(g.p_border, NULL), g.tok_op, ID, NL, NULL, NULL, NULL, 200, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "person_id")), g.p_border);
    char *text = json_dumps(o, 0);
    assert_non_null(strstr(text, "Amal Haddad"));
    free(text);
    json_decref(o);
    json_t *rec = last_audit(g.p_border);
    assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "allowed");
    assert_string_equal(json_string_value(json_object_get(rec, "purpose")), ID);
    assert_string_equal(json_string_value(json_object_get(rec, "legal_basis")), NL);
    text = json_dumps(rec, 0);
    assert_null(strstr(text, "Amal")); /* ids only */
    free(text);
    json_decref(rec);
    json_decref(
        expect("GET", purl(999999, NULL), g.tok_op, ID, NL, NULL, NULL, NULL, 404, "not-found"));

    /* Rectification by the data-protection officer, with a history. */
    const char *patch = "{\"reason\":\"passport shows 1986\",\"biographic\":"
                        "{\"date_of_birth\":\"1986-02-03\"}}";
    json_decref(expect("PATCH", purl(g.p_border, NULL), g.tok_op, "rectification", "gdpr-art-16",
                       "application/json", patch, NULL, 403, "role-not-allowed"));
    o = expect("PATCH", purl(g.p_border, NULL), g.tok_dpo, "rectification", "gdpr-art-16",
               "application/json", patch, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "rectified"), 0)),
                        "date_of_birth");
    json_decref(o);
    json_decref(expect("PATCH", purl(g.p_border, NULL), g.tok_dpo, "rectification", "gdpr-art-16",
                       "application/json", "{\"reason\":\"x\",\"biographic\":{\"sex\":\"Q\"}}",
                       NULL, 422, "invalid-biographic-data"));
    json_decref(expect("PATCH", purl(g.p_border, NULL), g.tok_dpo, "rectification", "gdpr-art-16",
                       "application/json", "{\"biographic\":{\"sex\":\"F\"}}", NULL, 400,
                       "reason-missing"));
    json_decref(expect("PATCH", purl(g.p_empty, NULL), g.tok_dpo, "rectification", "gdpr-art-16",
                       "application/json", "{\"reason\":\"x\",\"biographic\":{\"sex\":\"F\"}}",
                       NULL, 409, "nothing-to-rectify"));

    /* Subject access: everything, with the history and the audit trail. */
    o = expect("GET", purl(g.p_border, "/export"), g.tok_dpo, "subject-access", "gdpr-art-15", NULL,
               NULL, NULL, 200, NULL);
    text = json_dumps(o, 0);
    assert_non_null(strstr(text, "1986-02-03"));          /* the current value */
    assert_non_null(strstr(text, "passport shows 1986")); /* why it changed */
    free(text);
    json_t *hist = json_object_get(o, "rectifications");
    assert_int_equal(json_array_size(hist), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(hist, 0), "old"), "date_of_birth")),
                        "1985");
    json_t *trail = json_object_get(o, "audit");
    size_t denied = 0, i;
    json_t *r;
    json_array_foreach(trail, i, r) denied +=
        strcmp(json_string_value(json_object_get(r, "outcome")), "denied") == 0;
    assert_true(denied >= 9); /* every refused attempt on this person is there */
    assert_true(json_array_size(json_object_get(o, "provenance")) == 1);
    json_decref(o);

    /* Erasure: a reason is required; then the person is gone. */
    json_decref(expect("DELETE", purl(g.p_erase, NULL), g.tok_dpo, "erasure", "gdpr-art-17", NULL,
                       NULL, NULL, 400, "reason-missing"));
    o = expect("DELETE", purl(g.p_erase, NULL), g.tok_dpo, "erasure", "gdpr-art-17",
               "application/json", "{\"reason\":\"request of the person\"}", NULL, 200, NULL);
    assert_true(json_is_true(json_object_get(o, "erased")));
    json_decref(o);
    json_decref(expect("GET", purl(g.p_erase, NULL), g.tok_dpo, "erasure", "gdpr-art-17", NULL,
                       NULL, NULL, 404, "not-found"));
}

static void raw_exchange(const char *raw, size_t len, bool half_close, int *status)
{
    tc_conn c;
    assert_int_equal(tc_connect(&c, g.port, g.cert), 0);
    assert_int_equal(tc_write(&c, raw, len), 0);
    if (half_close)
        gnutls_bye(c.s, GNUTLS_SHUT_WR);
    tc_response r;
    *status = tc_read_response(&c, &r) == 0 ? r.status : -1;
    if (*status > 0)
        free(r.body);
    tc_close(&c);
}

static void test_malformed(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof(p), "%s", purl(g.p_border, NULL));
    /* Oversized (3 times the limit): read, dropped and refused with 413. */
    size_t big = 200000;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    body[big] = '\0';
    body[0] = '{';
    body[big - 1] = '}';
    tc_response r;
    assert_int_equal(request("PATCH", p, g.tok_dpo, "rectification", "gdpr-art-16",
                             "application/json", body, NULL, &r),
                     0);
    assert_int_equal(r.status, 413);
    check_openapi("PATCH", p, &r);
    free(r.body);
    free(body);
    still_answers();
    g.malformed_cases++;
    /* Malformed and truncated JSON, wrong type, not an object. */
    const char *bad[] = {"{\"reason\":\"x\",\"biographic\":{\"sex\":",
                         "{]",
                         "[1,2]",
                         "\"x\"",
                         "{\"reason\":\"x\",\"reason\":\"y\",\"biographic\":{}}",
                         "{\"reason\":17,\"biographic\":{}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_decref(expect("PATCH", p, g.tok_dpo, "rectification", "gdpr-art-16",
                           "application/json", bad[i], NULL, 400, "bad-request"));
        still_answers();
        g.malformed_cases++;
    }
    json_decref(expect("PATCH", p, g.tok_dpo, "rectification", "gdpr-art-16", "text/plain",
                       "{\"reason\":\"x\",\"biographic\":{}}", NULL, 415,
                       "unsupported-media-type"));
    still_answers();
    g.malformed_cases++;
    json_decref(expect("GET", p, g.tok_op, ID, NL, "application/json", "{}", NULL, 400,
                       "bad-request")); /* GET takes no body */
    g.malformed_cases++;
    /* Malformed HTTP: garbage request line, bad header, truncated request. */
    int status;
    const char garbage[] = "HELLO THERE\r\n\r\n";
    raw_exchange(garbage, sizeof(garbage) - 1, false, &status);
    assert_true(status >= 400 && status < 500);
    still_answers();
    g.malformed_cases++;
    const char badhdr[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n";
    raw_exchange(badhdr, sizeof(badhdr) - 1, false, &status);
    assert_true(status >= 400 && status < 500);
    still_answers();
    g.malformed_cases++;
    /* Truncated body: Content-Length 100, 10 bytes, then the client stops
     * writing.  The server gives up (timeout) and keeps serving others. */
    char trunc[512];
    int n = snprintf(trunc, sizeof(trunc),
                     "PATCH %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"reason\":",
                     p, g.tok_dpo);
    raw_exchange(trunc, (size_t)n, true, &status);
    assert_true(status == -1 || (status >= 400 && status < 500));
    still_answers();
    g.malformed_cases++;
    /* Bad ids never reach a handler. */
    const char *ids[] = {"/v1/persons/0", "/v1/persons/abc", "/v1/persons/-1",
                         "/v1/persons/99999999999999999999", "/v1/persons/1/../2"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        assert_int_equal(get(ids[i], g.tok_op, ID, NL, &r), 0);
        assert_int_equal(r.status, 404);
        free(r.body);
        g.malformed_cases++;
    }
    assert_int_equal(request("PUT", p, g.tok_op, ID, NL, NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    free(r.body);
    still_answers();
    printf("# malformed inputs answered 4xx, service still up: %d\n", g.malformed_cases);
}

static void test_metrics_and_shutdown(void **state)
{
    (void)state;
    tc_response r;
    assert_int_equal(get("/metrics", NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(
        strstr(r.body, "huella_http_requests_total{route=\"person.get\",status=\"403\"}"));
    assert_non_null(strstr(r.body, "huella_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    char *len = strstr(r.body, "huella_audit_chain_length ");
    assert_non_null(len);
    long long chain = strtoll(len + strlen("huella_audit_chain_length "), NULL, 10);
    free(r.body);
    /* Graceful stop, then the whole chain verifies and holds every request. */
    assert_int_equal(kill(g.pid, SIGTERM), 0);
    int wstatus;
    assert_int_equal(waitpid(g.pid, &wstatus, 0), g.pid);
    g.pid = 0;
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
    char *report;
    int64_t first;
    huella_error err;
    assert_int_equal(huella_audit_verify(g.dir, g.key, &report, &first, &err), HUELLA_OK);
    json_t *o = json_loads(report, 0, NULL);
    free(report);
    assert_int_equal(first, 0);
    long long records = json_integer_value(json_object_get(o, "records"));
    json_decref(o);
    printf("# audit chain: %lld records for %d personal-data requests; verifies\n", records,
           g.personal_requests);
    assert_true(records >= g.personal_requests);
    assert_true(records >= chain);
    printf("# responses checked against the OpenAPI document: %d\n", g.openapi_checked);
}

/* Plain HTTP: refused off loopback, served on loopback when asked for. */
static void test_plain_http_rules(void **state)
{
    (void)state;
    char listen[64];
    int port = free_port();
    snprintf(listen, sizeof(listen), "0.0.0.0:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *log = freopen("/dev/null", "w", stderr);
        (void)log;
        execl(HUELLAD_BIN, "huellad", "--db", g.dir, "--listen", listen, "--insecure-http",
              (char *)NULL);
        _exit(127);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 2);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    /* huellad's log kept, and shown if it does not end cleanly (the port
     * from free_port can be taken by another test between the two). */
    char log_path[700];
    snprintf(log_path, sizeof(log_path), "%s", test_tmpfile("plain-http-huellad.log"));
    pid = fork();
    if (pid == 0) {
        FILE *log = freopen(log_path, "w", stderr);
        (void)log;
        execl(HUELLAD_BIN, "huellad", "--db", g.dir, "--listen", listen, "--insecure-http",
              (char *)NULL);
        _exit(127);
    }
    bool answered = false;
    for (int i = 0; i < 100 && !answered; i++) {
        tc_conn c;
        tc_response r;
        if (tc_connect(&c, port, NULL) == 0 &&
            tc_request(&c, "GET", "/healthz", NULL, NULL, 0, &r) == 0) {
            answered = r.status == 200;
            free(r.body);
        }
        tc_close(&c);
        if (!answered) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) {
        printf("# huellad on port %d ended with %s %d; its log:\n", port,
               WIFEXITED(ws) ? "status" : "signal", WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
        FILE *f = fopen(log_path, "r");
        char line[512];
        while (f != NULL && fgets(line, sizeof(line), f) != NULL)
            printf("#   %s", line);
        if (f != NULL)
            fclose(f);
    }
    assert_true(answered);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

/* SIGKILL under load: every request that was answered is in the chain. */
typedef struct loader {
    int port;
    volatile bool *stop;
    int answered;
} loader;

static void *load(void *arg)
{
    loader *l = arg;
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g.tok_op);
    const char *hs[] = {auth, "Huella-Purpose: identification", "Huella-Legal-Basis: national-law",
                        NULL};
    char path[64];
    snprintf(path, sizeof(path), "/v1/persons/%lld", (long long)g.p_border);
    while (!*l->stop) {
        tc_conn c;
        if (tc_connect(&c, l->port, g.cert) != 0)
            break;
        tc_response r;
        while (!*l->stop && tc_request(&c, "GET", path, hs, NULL, 0, &r) == 0) {
            if (r.status == 200)
                __atomic_add_fetch(&l->answered, 1, __ATOMIC_SEQ_CST);
            free(r.body);
        }
        tc_close(&c);
    }
    return NULL;
}

static int64_t chain_length(void)
{
    char *report;
    int64_t first;
    huella_error err;
    assert_int_equal(huella_audit_verify(g.dir, g.key, &report, &first, &err), HUELLA_OK);
    json_t *o = json_loads(report, 0, NULL);
    free(report);
    if (first != 0)
        fail_msg("chain broken: %s", json_string_value(json_object_get(o, "problem")));
    int64_t n = json_integer_value(json_object_get(o, "records"));
    json_decref(o);
    return n;
}

static void test_sigkill_keeps_every_answer(void **state)
{
    (void)state;
    int64_t before = chain_length();
    int port = free_port();
    char listen[64], keyfile[800];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(keyfile, sizeof(keyfile), "%s/key.pem", g.certdir);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *log = freopen("/dev/null", "w", stderr);
        (void)log;
        execl(HUELLAD_BIN, "huellad", "--db", g.dir, "--listen", listen, "--tls-cert", g.cert,
              "--tls-key", keyfile, "--quiet", (char *)NULL);
        _exit(127);
    }
    bool up = false;
    for (int i = 0; i < 100 && !up; i++) {
        tc_conn c;
        if (tc_connect(&c, port, g.cert) == 0)
            up = true;
        tc_close(&c);
        if (!up) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(up);
    enum { CLIENTS = 8 };
    volatile bool stop = false;
    loader l = {port, &stop, 0};
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&t[i], NULL, load, &l);
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int ws;
    waitpid(pid, &ws, 0);
    stop = true;
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(t[i], NULL);
    int64_t after = chain_length();
    printf("# SIGKILL under load: %d answered, %lld new audit records, chain verifies\n",
           l.answered, (long long)(after - before));
    assert_true(l.answered > 0);
    assert_true(after - before >= l.answered);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_endpoints),
        cmocka_unit_test(test_security_cases),
        cmocka_unit_test(test_persons),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_metrics_and_shutdown),
        cmocka_unit_test(test_plain_http_rules),
        cmocka_unit_test(test_sigkill_keeps_every_answer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
