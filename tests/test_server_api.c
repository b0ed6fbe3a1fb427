/*
 * test_server_api.c - the second half of huellad's API end to end over
 * TLS: a store with two persons enrolled BEFORE huellad starts (so the
 * galleries must be loaded from the store), then identify, verify,
 * encounters (de-duplication, name screening, idempotency), erasure
 * leaving the gallery, cases and decisions, watchlists and the import
 * job.  Every answer is checked against data/openapi.json (declared
 * status and required keys), and the audit chain must hold a record of
 * every request.  Real images: FVC2002 fingers and CASIA irises.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "huella/audit.h"
#include "huella/dedup.h"
#include "huella/face.h"
#include "huella/policy.h"
#include "huella/store.h"
#include "support.h"
#include "tls_client.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>

static struct {
    char dir[600], key[700], certdir[700], cert[800];
    int port;
    pid_t pid;
    char tok_op[64], tok_ex[64], tok_ex2[64], tok_sup[64], tok_dpo[64];
    int64_t p_a, p_b, p_new, p_police;
    json_t *openapi;
    int checked;
    const char *extra[4]; /* more huellad options for start_huellad */
} g;

#define BC "border-control"
#define ID "identification"
#define NL "national-law"

static void sh(const char *cmd)
{
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static uint64_t test_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int free_port(void)
{
    int port = tc_free_port();
    assert_true(port > 0);
    return port;
}

/* base64 of a data file (malloc'd). */
static char *b64(const char *rel)
{
    size_t len;
    uint8_t *d = test_read_file(test_data(rel), &len);
    if (d == NULL)
        fail_msg("cannot read %s", rel);
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *o = malloc(cap);
    sodium_bin2base64(o, cap, d, len, sodium_base64_VARIANT_ORIGINAL);
    free(d);
    return o;
}

static int request(const char *method, const char *path, const char *token, const char *purpose,
                   const char *basis, const char *ctype, const char *body, const char *extra,
                   tc_response *r)
{
    return tc_call(g.port, g.cert, method, path, token, purpose, basis, ctype, body, extra, r);
}

/* The OpenAPI pattern of a concrete path: digits segments become {id}. */
static void pattern_of(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    const char *q = strchr(path, '?');
    size_t n = q ? (size_t)(q - path) : strlen(path);
    for (size_t i = 0; i < n && o + 5 < cap;) {
        if (path[i] >= '0' && path[i] <= '9' && i > 0 && path[i - 1] == '/') {
            memcpy(out + o, "{id}", 4);
            o += 4;
            while (i < n && path[i] >= '0' && path[i] <= '9')
                i++;
        } else
            out[o++] = path[i++];
    }
    out[o] = '\0';
}

static json_t *resolve(json_t *o)
{
    const char *ref = json_string_value(json_object_get(o, "$ref"));
    if (ref == NULL)
        return o;
    char kind[64], name[64];
    if (sscanf(ref, "#/components/%63[^/]/%63s", kind, name) != 2)
        fail_msg("bad $ref %s", ref);
    return json_object_get(json_object_get(json_object_get(g.openapi, "components"), kind), name);
}

static void check_openapi(const char *method, const char *path, const tc_response *r)
{
    char m[16], pat[200];
    size_t i = 0;
    for (; method[i] && i < sizeof(m) - 1; i++)
        m[i] = (char)(method[i] | 0x20);
    m[i] = '\0';
    pattern_of(path, pat, sizeof(pat));
    json_t *op = json_object_get(json_object_get(json_object_get(g.openapi, "paths"), pat), m);
    if (op == NULL)
        fail_msg("OpenAPI: %s %s is not declared", method, pat);
    char status[8];
    snprintf(status, sizeof(status), "%d", r->status);
    json_t *resp = json_object_get(json_object_get(op, "responses"), status);
    if (resp == NULL)
        fail_msg("OpenAPI: %s %s answered %d, which is not declared", method, pat, r->status);
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
        json_array_foreach(json_object_get(schema, "required"), k, key)
        {
            if (json_object_get(body, json_string_value(key)) == NULL)
                fail_msg("OpenAPI: %s %s %d lacks required key '%s'", method, path, r->status,
                         json_string_value(key));
        }
        json_decref(body);
    }
    g.checked++;
}

static json_t *expect(const char *method, const char *path, const char *token, const char *purpose,
                      const char *body, const char *extra, int want_status, const char *want_code)
{
    tc_response r;
    assert_int_equal(request(method, path, token, purpose, purpose ? NL : NULL,
                             body ? "application/json" : NULL, body, extra, &r),
                     0);
    if (r.status != want_status)
        fail_msg("%s %s: got %d, want %d: %.400s", method, path, r.status, want_status, r.body);
    check_openapi(method, path, &r);
    json_t *o = json_loads(r.body, 0, NULL);
    assert_non_null(o);
    if (want_code != NULL &&
        strcmp(json_string_value(json_object_get(o, "error")) ?: "", want_code) != 0)
        fail_msg("%s %s: got %s, want %s", method, path, r.body, want_code);
    free(r.body);
    return o;
}

/* Fingers 2 (DB1_B) and 3 (DB3_B) of FVC subject `subj`, impression `imp`. */
static char *finger_body(int subj, int imp, const char *extra_members)
{
    char p1[64], p2[64];
    snprintf(p1, sizeof(p1), "finger/fvc2002/DB1_B/%d_%d.tif", subj, imp);
    snprintf(p2, sizeof(p2), "finger/fvc2002/DB3_B/%d_%d.tif", subj, imp);
    char *a = b64(p1), *b = b64(p2);
    size_t cap = strlen(a) + strlen(b) + 4096;
    char *o = malloc(cap);
    snprintf(o, cap,
             "{\"fingers\": [{\"position\": 2, \"image\": \"%s\", \"ppi\": 500},"
             " {\"position\": 3, \"image\": \"%s\"}]%s%s}",
             a, b, extra_members ? ", " : "", extra_members ? extra_members : "");
    free(a);
    free(b);
    return o;
}

static void enrol_direct(huella_store *s, int subj, const char *agency, int64_t *person)
{
    char p1[64], p2[64];
    snprintf(p1, sizeof(p1), "finger/fvc2002/DB1_B/%d_1.tif", subj);
    snprintf(p2, sizeof(p2), "finger/fvc2002/DB3_B/%d_1.tif", subj);
    size_t l1, l2;
    uint8_t *d1 = test_read_file(test_data(p1), &l1), *d2 = test_read_file(test_data(p2), &l2);
    huella_enrol_input in[2] = {{HUELLA_STORE_FINGER, 2, p1, d1, l1},
                                {HUELLA_STORE_FINGER, 3, p2, d2, l2}};
    huella_enrol_request req = {in,   2,   0, {NULL, "site-1", "kit-1", "op-1", ID, NL, NULL},
                                NULL, NULL};
    huella_enrol_result *r = NULL;
    huella_error err;
    if (huella_enrol(s, &req, &r, &err) != HUELLA_OK)
        fail_msg("enrol: %s", err.message);
    *person = r->person_id;
    assert_int_equal(huella_store_person_set_agency(s, *person, agency, &err), HUELLA_OK);
    huella_enrol_result_free(r);
    free(d1);
    free(d2);
}

static int start_huellad(void)
{
    g.port = free_port();
    char keyfile[800], logpath[800];
    snprintf(keyfile, sizeof(keyfile), "%s/key.pem", g.certdir);
    snprintf(logpath, sizeof(logpath), "%s/huellad-%d.log", test_tmpdir(), g.port);
    const char *extra[8] = {"--max-body", "4194304"};
    for (int i = 0; i < 4 && g.extra[i] != NULL; i++)
        extra[2 + i] = g.extra[i];
    g.pid = tc_start_huellad(HUELLAD_BIN, g.dir, g.port, g.cert, keyfile, extra, logpath, 10000);
    if (g.pid > 0)
        return 0;
    fprintf(stderr, "huellad did not start; log in %s\n", logpath);
    return -1;
}

static int setup(void **state)
{
    (void)state;
    if (!test_have_data())
        return 0;
    signal(SIGPIPE, SIG_IGN);
    gnutls_global_init();
    snprintf(g.dir, sizeof(g.dir), "%s", test_tmpfile("db"));
    snprintf(g.key, sizeof(g.key), "%s/audit-signing.key", test_tmpdir());
    snprintf(g.certdir, sizeof(g.certdir), "%s/tls", test_tmpdir());
    assert_int_equal(tc_fresh_store(HUELLA_SOURCE_DIR, g.dir, g.key, g.certdir), 0);
    snprintf(g.cert, sizeof(g.cert), "%s/cert.pem", g.certdir);
    huella_error err;
    huella_access *a;
    assert_int_equal(huella_access_open(g.dir, &a, &err), HUELLA_OK);
    assert_int_equal(huella_access_agency_add(a, "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_agency_add(a, "police", &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "olga", "operator", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "eve", "examiner", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "emil", "examiner", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "sam", "supervisor", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_user_add(a, "dan", "dpo", "border", &err), HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "olga", NULL, g.tok_op, &err), HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "eve", NULL, g.tok_ex, &err), HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "emil", NULL, g.tok_ex2, &err), HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "sam", NULL, g.tok_sup, &err), HUELLA_OK);
    assert_int_equal(huella_access_token_new(a, "dan", NULL, g.tok_dpo, &err), HUELLA_OK);
    huella_access_close(a);
    huella_store *s;
    assert_int_equal(huella_store_open(g.dir, &s, &err), HUELLA_OK);
    enrol_direct(s, 101, "border", &g.p_a);
    enrol_direct(s, 102, "border", &g.p_b);
    enrol_direct(s, 105, "police", &g.p_police);
    huella_store_close(s);
    char path[800];
    snprintf(path, sizeof(path), "%s/data/openapi.json", HUELLA_SOURCE_DIR);
    g.openapi = json_load_file(path, 0, NULL);
    assert_non_null(g.openapi);

    return start_huellad();
}

static int teardown(void **state)
{
    (void)state;
    if (g.pid > 0) {
        kill(g.pid, SIGKILL);
        waitpid(g.pid, NULL, 0);
    }
    json_decref(g.openapi);
    if (test_have_data())
        gnutls_global_deinit();
    return 0;
}

static int64_t first_candidate(json_t *o)
{
    return json_integer_value(
        json_object_get(json_array_get(json_object_get(o, "candidates"), 0), "person_id"));
}

/* Persons enrolled before the start are searched: the gallery was loaded. */
static void test_identify_and_verify(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *body = finger_body(101, 3, NULL);
    json_t *o = expect("POST", "/v1/identify", g.tok_op, ID, body, NULL, 200, NULL);
    assert_int_equal(first_candidate(o), g.p_a);
    assert_true(json_is_true(
        json_object_get(json_array_get(json_object_get(o, "candidates"), 0), "strict")));
    assert_int_equal(json_integer_value(json_object_get(o, "gallery_persons")), 3);
    json_decref(o);
    /* Another agency's person, no sharing agreement: counted, not named. */
    char *pb = finger_body(105, 3, NULL);
    o = expect("POST", "/v1/identify", g.tok_op, ID, pb, NULL, 200, NULL);
    size_t i;
    json_t *cand;
    json_array_foreach(json_object_get(o, "candidates"), i, cand)
    {
        if (json_integer_value(json_object_get(cand, "person_id")) == g.p_police)
            fail_msg("another agency's person was named");
    }
    assert_true(json_integer_value(json_object_get(o, "candidates_not_shared")) >= 1);
    json_decref(o);
    free(pb);
    /* Latency over TLS, two 388x374 prints per request (extraction included). */
    double ms[5];
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = test_now_ns();
        json_decref(expect("POST", "/v1/identify", g.tok_op, ID, body, NULL, 200, NULL));
        ms[r] = (double)(test_now_ns() - t0) / 1e6;
    }
    printf("# POST /v1/identify (2 prints, gallery of 3): %.1f %.1f %.1f %.1f %.1f ms\n", ms[0],
           ms[1], ms[2], ms[3], ms[4]);
    /* A deadline that cannot be met: 504, said so. */
    json_decref(expect("POST", "/v1/identify", g.tok_op, ID, body, "Huella-Deadline-Ms: 1", 504,
                       "deadline-exceeded"));
    json_decref(
        expect("POST", "/v1/identify", g.tok_op, ID, body, "Huella-Deadline-Ms: 60000", 200, NULL));
    /* Screening purpose is not allowed for identify: denied. */
    json_decref(expect("POST", "/v1/identify", g.tok_op, "law-enforcement", body, NULL, 403, NULL));
    /* Verify: the same person matches, another does not. */
    size_t cap = strlen(body) + 64;
    char *vb = malloc(cap);
    snprintf(vb, cap, "{\"person_id\": %lld, %s", (long long)g.p_a, body + 1);
    o = expect("POST", "/v1/verify", g.tok_op, ID, vb, NULL, 200, NULL);
    assert_true(json_is_true(json_object_get(o, "match")));
    assert_true(json_array_size(json_object_get(o, "evidence")) == 2);
    json_decref(o);
    snprintf(vb, cap, "{\"person_id\": %lld, %s", (long long)g.p_b, body + 1);
    o = expect("POST", "/v1/verify", g.tok_op, ID, vb, NULL, 200, NULL);
    assert_false(json_is_true(json_object_get(o, "match")));
    json_decref(o);
    snprintf(vb, cap, "{\"person_id\": 999999, %s", body + 1);
    json_decref(expect("POST", "/v1/verify", g.tok_op, ID, vb, NULL, 404, "not-found"));
    free(vb);
    /* Not an image. */
    json_decref(expect("POST", "/v1/identify", g.tok_op, ID,
                       "{\"fingers\": [{\"position\": 2, \"image\": \"aGVsbG8=\"}]}", NULL, 422,
                       "unusable-image"));
    json_decref(expect("POST", "/v1/identify", g.tok_op, ID,
                       "{\"fingers\": [{\"position\": 11, \"image\": \"aGVsbG8=\"}]}", NULL, 400,
                       "bad-request"));
    free(body);
}

static const char *entry_json =
    "{\"source_agency\": \"Interpol\", \"source_ref\": \"R-7\", \"category\": \"arrest_warrant\","
    " \"legal_basis\": \"red notice\", \"date_added\": \"2024-01-01\", \"expiry_date\": "
    "\"2099-01-01\", \"source_reliability\": \"B\", \"info_credibility\": 2, \"name\": \"Maria "
    "Silva\", \"nationality\": [\"BRA\"]}";

static void test_watchlists_and_screen(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    /* An operator may not manage watchlists. */
    json_decref(
        expect("POST", "/v1/watchlists/entries", g.tok_op, BC, entry_json, NULL, 403, NULL));
    json_t *o =
        expect("POST", "/v1/watchlists/entries", g.tok_sup, BC, entry_json, NULL, 201, NULL);
    int64_t id = json_integer_value(json_object_get(o, "id"));
    assert_true(id > 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "provenance"), "source_agency")),
        "Interpol");
    json_decref(o);
    char path[64];
    snprintf(path, sizeof(path), "/v1/watchlists/entries/%lld", (long long)id);
    o = expect("GET", path, g.tok_sup, BC, NULL, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "names"), 0)),
                        "Maria Silva");
    json_decref(o);
    json_decref(expect("GET", "/v1/watchlists/entries/9999", g.tok_sup, BC, NULL, NULL, 404, NULL));
    /* Update: lifecycle and provenance fields, with a reason and a history. */
    json_decref(expect("PATCH", path, g.tok_op, BC, "{\"reason\": \"x\", \"remarks\": \"y\"}", NULL,
                       403, "role-not-allowed"));
    json_decref(
        expect("PATCH", path, g.tok_sup, BC, "{\"remarks\": \"y\"}", NULL, 400, "reason-missing"));
    json_decref(expect("PATCH", path, g.tok_sup, BC,
                       "{\"reason\": \"typo\", \"names\": [\"Mario Silva\"]}", NULL, 422,
                       "field-not-updatable"));
    json_decref(expect("PATCH", path, g.tok_sup, BC,
                       "{\"reason\": \"r\", \"expiry_date\": \"2023-12-31\"}", NULL, 422,
                       "invalid-entry")); /* before date_added */
    json_decref(expect("PATCH", path, g.tok_sup, BC, "{\"reason\": \"r\", \"info_grade\": 9}", NULL,
                       422, "invalid-entry"));
    json_decref(expect("PATCH", path, g.tok_sup, BC,
                       "{\"reason\": \"r\", \"category\": \"arrest_warrant\"}", NULL, 422,
                       "invalid-entry")); /* nothing changes */
    json_decref(expect("PATCH", "/v1/watchlists/entries/9999", g.tok_sup, BC,
                       "{\"reason\": \"r\", \"remarks\": \"y\"}", NULL, 404, "not-found"));
    o = expect("PATCH", path, g.tok_sup, BC,
               "{\"reason\": \"notice renewed, ref 2026/55\", \"expiry_date\": \"2040-06-30\","
               " \"review_date\": \"2027-01-01\", \"source_grade\": \"A\", \"remarks\": "
               "\"renewed\"}",
               NULL, 200, NULL);
    json_t *prov = json_object_get(o, "provenance");
    assert_string_equal(json_string_value(json_object_get(prov, "expiry_date")), "2040-06-30");
    assert_string_equal(json_string_value(json_object_get(prov, "review_date")), "2027-01-01");
    assert_string_equal(json_string_value(json_object_get(prov, "remarks")), "renewed");
    assert_string_equal(json_string_value(json_object_get(prov, "source_agency")), "Interpol");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "grading"), "source")),
                        "A");
    json_t *ups = json_object_get(o, "updates");
    assert_int_equal(json_array_size(ups), 1);
    json_t *u0 = json_array_get(ups, 0);
    assert_string_equal(json_string_value(json_object_get(u0, "by")), "sam");
    assert_string_equal(json_string_value(json_object_get(u0, "reason")),
                        "notice renewed, ref 2026/55");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(u0, "old"), "expiry_date")),
        "2099-01-01");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(u0, "old"), "source_grade")), "B");
    assert_true(json_is_null(json_object_get(json_object_get(u0, "old"), "review_date")));
    json_decref(o);
    /* A second update (review date removed); GET shows both, oldest first. */
    json_decref(expect("PATCH", path, g.tok_sup, BC,
                       "{\"reason\": \"review done\", \"review_date\": null}", NULL, 200, NULL));
    o = expect("GET", path, g.tok_sup, BC, NULL, NULL, 200, NULL);
    ups = json_object_get(o, "updates");
    assert_int_equal(json_array_size(ups), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ups, 1), "changed")),
                        "review_date");
    assert_true(json_is_null(json_object_get(json_object_get(o, "provenance"), "review_date")));
    json_decref(o);
    /* Import two more on a worker thread; poll the job. */
    char imp[2048];
    snprintf(imp, sizeof(imp),
             "{\"version\": 1, \"entries\": [%s, {\"source_agency\": \"UN\", \"source_ref\": "
             "\"U-1\", \"category\": \"sanctions\", \"legal_basis\": \"res 1267\", "
             "\"date_added\": \"2020-01-01\", \"expiry_date\": \"2030-01-01\", "
             "\"source_reliability\": \"A\", \"info_credibility\": 1, \"name\": \"Old Entry\"}]}",
             entry_json);
    /* Two-entry file: the first repeats R-7 with another ref so both import. */
    char *r8 = strstr(imp, "R-7");
    r8[2] = '8';
    o = expect("POST", "/v1/watchlists/import", g.tok_sup, BC, imp, NULL, 202, NULL);
    const char *href = json_string_value(json_object_get(o, "href"));
    char jobpath[64];
    snprintf(jobpath, sizeof(jobpath), "%s", href);
    json_decref(o);
    json_t *job = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(job);
        job = expect("GET", jobpath, g.tok_sup, BC, NULL, NULL, 200, NULL);
        if (strcmp(json_string_value(json_object_get(job, "state")), "done") == 0 ||
            strcmp(json_string_value(json_object_get(job, "state")), "failed") == 0)
            break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    if (strcmp(json_string_value(json_object_get(job, "state")), "done") != 0)
        fail_msg("import job: %s", json_dumps(job, 0));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(job, "result"), "entries")),
                     2);
    json_decref(job);
    o = expect("GET", "/v1/watchlists/entries", g.tok_sup, BC, NULL, NULL, 200, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "count")), 3);
    json_decref(o);
    /* Screening (operator, border control). */
    o = expect("POST", "/v1/screen", g.tok_op, BC,
               "{\"name\": \"SILVA, Maria\", \"dob\": \"1980\", \"nationality\": \"BRA\"}", NULL,
               200, NULL);
    json_t *hits = json_object_get(o, "watchlist_hits");
    assert_true(json_array_size(hits) >= 1);
    assert_non_null(json_object_get(json_object_get(json_array_get(hits, 0), "grading"), "source"));
    json_decref(o);
    o = expect("POST", "/v1/screen", g.tok_op, BC, "{\"name\": \"Zbigniew Quxworth\"}", NULL, 200,
               NULL);
    assert_int_equal(json_array_size(json_object_get(o, "watchlist_hits")), 0);
    json_decref(o);
    json_decref(expect("POST", "/v1/screen", g.tok_op, BC, "{\"dob\": \"1980\"}", NULL, 400, NULL));
    /* Expire as of 2031: the UN entry ended in 2030. */
    o = expect("POST", "/v1/watchlists/expire", g.tok_sup, BC, "{}", NULL, 200, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "purged")), 0);
    json_decref(o);
    o = expect("POST", "/v1/watchlists/expire", g.tok_sup, BC, "{\"today\": \"2031-01-01\"}", NULL,
               200, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "purged")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "remaining")), 2);
    json_decref(o);
}

static json_t *encounter(int subj, int imp, const char *bio, const char *key, int want)
{
    char extra[1024];
    snprintf(extra, sizeof(extra),
             "\"encounter\": {\"site\": \"BCP-3\", \"device\": \"kit-9\", \"operator\": \"olga\"}"
             "%s%s",
             bio ? ", \"bio\": " : "", bio ? bio : "");
    char *body = finger_body(subj, imp, extra);
    char hdr[200];
    if (key != NULL)
        snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", key);
    json_t *o = expect("POST", "/v1/encounters", g.tok_op, ID, body, key ? hdr : NULL, want, NULL);
    free(body);
    return o;
}

static size_t encounters_of(int64_t person)
{
    huella_store *s;
    huella_error err;
    assert_int_equal(huella_store_open(g.dir, &s, &err), HUELLA_OK);
    int64_t *e = NULL;
    size_t n = 0;
    assert_int_equal(huella_store_person_encounters(s, person, &e, &n, &err), HUELLA_OK);
    free(e);
    huella_store_close(s);
    return n;
}

static void test_encounters(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    /* A new person with a listed name: new, a watchlist hit. */
    uint64_t t0 = test_now_ns();
    json_t *o = encounter(103, 1, "{\"names\": [\"Maria Silva\"], \"nationality\": \"BRA\"}",
                          "kit9-0001", 201);
    printf("# POST /v1/encounters (2 prints, dedup + screening + watchlist case): %.1f ms\n",
           (double)(test_now_ns() - t0) / 1e6);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "new");
    int64_t c = json_integer_value(json_object_get(o, "person_id"));
    assert_true(c != g.p_a && c != g.p_b);
    g.p_new = c;
    assert_true(json_array_size(json_object_get(o, "watchlist_hits")) >= 1);
    assert_non_null(strstr(json_string_value(json_object_get(o, "notice")), "no decision"));
    int64_t wl_case = json_integer_value(json_object_get(o, "watchlist_case_id"));
    assert_true(wl_case > 1000000000);
    assert_int_equal(json_integer_value(json_object_get(o, "case_id")), wl_case);
    char *first = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    /* The same key again: the first answer, 200, nothing enrolled twice. */
    o = encounter(103, 1, "{\"names\": [\"Maria Silva\"]}", "kit9-0001", 200);
    char *again = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(first, again);
    free(first);
    free(again);
    json_decref(o);
    assert_int_equal(encounters_of(c), 1);
    /* Person A again (other impressions): linked to A. */
    o = encounter(101, 4, NULL, "kit9-0002", 201);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "linked");
    assert_int_equal(json_integer_value(json_object_get(o, "person_id")), g.p_a);
    assert_int_equal(first_candidate(o), g.p_a);
    json_decref(o);
    assert_int_equal(encounters_of(g.p_a), 2);
    /* B again as a child: a juvenile capture is never linked: a case. */
    o = encounter(102, 3, "{\"date_of_birth\": \"2020-01-01\"}", NULL, 201);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "case");
    int64_t case_id = json_integer_value(json_object_get(o, "case_id"));
    assert_true(case_id > 0);
    int64_t child = json_integer_value(json_object_get(o, "person_id"));
    json_decref(o);
    /* Cases: an operator may not read them; examiners may. */
    char path[64];
    json_decref(expect("GET", "/v1/cases?status=open", g.tok_op, ID, NULL, NULL, 403, NULL));
    o = expect("GET", "/v1/cases?status=open", g.tok_ex, ID, NULL, NULL, 200, NULL);
    assert_int_equal(json_array_size(json_object_get(o, "cases")), 2); /* duplicate + watchlist */
    json_decref(o);
    json_decref(expect("GET", "/v1/cases?status=maybe", g.tok_ex, ID, NULL, NULL, 400, NULL));
    /* The watchlist case needs two examiners (data/policy.json). */
    snprintf(path, sizeof(path), "/v1/cases/%lld", (long long)wl_case);
    o = expect("GET", path, g.tok_ex, ID, NULL, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "watchlist");
    assert_true(json_array_size(json_object_get(o, "candidates")) >= 1);
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/cases/%lld/decisions", (long long)wl_case);
    const char *conf = "{\"decision\": \"confirmed\", \"reason\": \"same passport number\"}";
    o = expect("POST", path, g.tok_ex, ID, conf, NULL, 201, NULL);
    assert_false(json_is_true(json_object_get(o, "counts")));
    assert_string_equal(json_string_value(json_object_get(o, "status")), "open");
    json_decref(o);
    json_decref(expect("POST", path, g.tok_ex, ID, conf, NULL, 409, "already-decided"));
    json_decref(expect("POST", path, g.tok_op, ID, conf, NULL, 403, NULL));
    o = expect("POST", path, g.tok_ex2, ID, conf, NULL, 201, NULL);
    assert_true(json_is_true(json_object_get(o, "counts")));
    assert_string_equal(json_string_value(json_object_get(o, "status")), "confirmed");
    json_decref(o);
    json_decref(expect("POST", path, g.tok_ex2, ID, conf, NULL, 409, "not-open"));
    o = expect("GET", "/v1/cases?status=confirmed", g.tok_ex, ID, NULL, NULL, 200, NULL);
    assert_int_equal(json_array_size(json_object_get(o, "cases")), 1);
    assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(o, "cases"), 0),
                                                     "decisions")),
                     2);
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/cases/%lld", (long long)case_id);
    o = expect("GET", path, g.tok_ex, ID, NULL, NULL, 200, NULL);
    assert_int_equal(first_candidate(o), g.p_b);
    json_decref(o);
    /* The explanation pictures: each finger's capture beside the
     * candidate's, the paired minutiae joined. */
    snprintf(path, sizeof(path), "/v1/cases/%lld?pictures=1", (long long)case_id);
    o = expect("GET", path, g.tok_ex, ID, NULL, NULL, 200, NULL);
    {
        json_t *ev =
            json_object_get(json_array_get(json_object_get(o, "candidates"), 0), "evidence");
        if (json_is_object(ev) && json_is_object(json_object_get(ev, "candidate")))
            ev = json_object_get(ev, "candidate"); /* as recorded at enrolment */
        if (json_is_object(ev))
            ev = json_object_get(ev, "evidence");
        size_t k, pictures = 0;
        json_t *e;
        json_array_foreach(ev, k, e)
        {
            const char *svg = json_string_value(json_object_get(e, "picture_svg"));
            if (svg == NULL)
                continue;
            assert_non_null(strstr(svg, "<svg"));
            assert_true(json_integer_value(json_object_get(e, "paired_minutiae")) > 0);
            pictures++;
        }
        if (pictures == 0)
            fail_msg("no explanation picture in %.1500s", json_dumps(o, JSON_COMPACT));
        printf("# possible-duplicate case with %zu explanation pictures (SVG)\n", pictures);
    }
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/cases/%lld/decisions", (long long)case_id);
    json_decref(expect("POST", path, g.tok_ex, ID, "{\"decision\": \"maybe\", \"reason\": \"x\"}",
                       NULL, 400, NULL));
    char dec[200];
    snprintf(dec, sizeof(dec),
             "{\"decision\": \"same\", \"person_id\": %lld, \"reason\": \"ridge detail agrees\"}",
             (long long)g.p_b);
    o = expect("POST", path, g.tok_ex, ID, dec, NULL, 201, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "by")), "eve");
    json_decref(o);
    json_decref(expect("POST", path, g.tok_ex2, ID, dec, NULL, 409, "not-open"));
    assert_int_equal(encounters_of(g.p_b), 2);
    assert_int_equal(encounters_of(child), 0);
    o = expect("GET", "/v1/cases?status=open", g.tok_ex, ID, NULL, NULL, 200, NULL);
    assert_int_equal(json_array_size(json_object_get(o, "cases")), 0);
    json_decref(o);
    /* The gallery followed the decision: B's new impression is B's. */
    char *body = finger_body(102, 3, NULL);
    o = expect("POST", "/v1/identify", g.tok_op, ID, body, NULL, 200, NULL);
    assert_int_equal(first_candidate(o), g.p_b);
    json_decref(o);
    free(body);
}

/* An ANSI/NIST-ITL transaction as the body: the library's mapping. */
static void test_encounter_an2k(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len;
    uint8_t *d = test_read_file(test_data("interchange/an2k/type-9-14-m1.an2"), &len);
    assert_non_null(d);
    /* NIST's Type-17 sample iris is a synthetic picture, not an eye. */
    size_t iris_len;
    uint8_t *iris = test_read_file(test_data("interchange/an2k/type-17-iris.an2"), &iris_len);
    assert_non_null(iris);
    const char *hs[] = {NULL, "Huella-Purpose: identification", "Huella-Legal-Basis: national-law",
                        "Content-Type: application/octet-stream", NULL};
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g.tok_op);
    hs[0] = auth;
    /* 0 a real transaction; 1 garbage; 2 an iris that is not an eye; 3..5
     * the real transaction truncated (half, all but its last byte, its
     * first record only); 6 a record length pointing past the end. */
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    memcpy(bad, d, len);
    const uint8_t *gs = memchr(bad, 0x1c, len); /* end of the Type-1 record */
    assert_non_null(gs);
    size_t first_record = (size_t)(gs - bad) + 1;
    int bad_an2k = 0;
    for (int round = 0; round < 7; round++) {
        tc_conn c;
        assert_int_equal(tc_connect(&c, g.port, g.cert), 0);
        tc_response r;
        const char *body = round == 0   ? (const char *)d
                           : round == 1 ? "NOT A TRANSACTION"
                           : round == 2 ? (const char *)iris
                                        : (const char *)bad;
        size_t blen = round == 0   ? len
                      : round == 1 ? 17
                      : round == 2 ? iris_len
                      : round == 3 ? len / 2
                      : round == 4 ? len - 1
                      : round == 5 ? first_record
                                   : len;
        if (round == 6)
            memcpy(bad, "1.001:99999999", 14); /* the LEN field of the first record */
        assert_int_equal(tc_request(&c, "POST", "/v1/encounters", hs, body, blen, &r), 0);
        tc_close(&c);
        check_openapi("POST", "/v1/encounters", &r);
        json_t *o = json_loads(r.body, 0, NULL);
        if (round == 0) {
            if (r.status != 201)
                fail_msg("an2k: %d %s", r.status, r.body);
            assert_string_equal(json_string_value(json_object_get(o, "outcome")), "new");
            assert_true(json_is_array(json_object_get(o, "an2k_notes")));
        } else if (round == 2) {
            assert_int_equal(r.status, 422);
            assert_non_null(strstr(json_string_value(json_object_get(o, "message")), "Type-17"));
        } else {
            if (r.status != 400 && r.status != 422)
                fail_msg("malformed ANSI/NIST-ITL body %d: %d %s", round, r.status, r.body);
            const char *msg = json_string_value(json_object_get(o, "message"));
            assert_true(msg != NULL && strlen(msg) > 10);
            bad_an2k++;
        }
        json_decref(o);
        free(r.body);
        /* The service still answers. */
        tc_response h;
        assert_int_equal(request("GET", "/healthz", NULL, NULL, NULL, NULL, NULL, NULL, &h), 0);
        assert_int_equal(h.status, 200);
        free(h.body);
    }
    printf("# malformed ANSI/NIST-ITL bodies answered 4xx with a message, service still up: %d\n",
           bad_an2k);
    free(bad);
    free(d);
    free(iris);
}

/* Read from c until `needle` has been seen (or 10 s pass). */
static bool read_until(tc_conn *c, const char *needle)
{
    struct timeval tv = {10, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (int i = 0; i < 200; i++) {
        c->in[c->in_len < sizeof(c->in) ? c->in_len : sizeof(c->in) - 1] = '\0';
        if (memmem(c->in, c->in_len, needle, strlen(needle)) != NULL)
            return true;
        if (c->in_len >= sizeof(c->in) - 1 || tc_read_some(c) <= 0)
            return false;
    }
    return false;
}

/* An examiner's screen hears of a new watchlist case at once. */
static void test_events(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    tc_conn c;
    assert_int_equal(tc_connect(&c, g.port, g.cert), 0);
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                     "Huella-Purpose: identification\r\nHuella-Legal-Basis: national-law\r\n\r\n",
                     g.tok_ex);
    assert_int_equal(tc_write(&c, req, (size_t)n), 0);
    if (!read_until(&c, "huella events"))
        fail_msg("no event stream: %.*s", (int)c.in_len, c.in);
    assert_non_null(memmem(c.in, c.in_len, "text/event-stream", 17));
    json_t *o = encounter(104, 1, "{\"names\": [\"Maria Silva\"]}", NULL, 201);
    int64_t wl_case = json_integer_value(json_object_get(o, "watchlist_case_id"));
    json_decref(o);
    assert_true(wl_case > 0);
    char want[64];
    snprintf(want, sizeof(want), "\"case_id\":%lld", (long long)wl_case);
    if (!read_until(&c, want))
        fail_msg("the stream did not carry case %lld: %.*s", (long long)wl_case, (int)c.in_len,
                 c.in);
    assert_non_null(memmem(c.in, c.in_len, "event: case", 11));
    tc_close(&c);
    /* An operator may not listen. */
    tc_response r;
    assert_int_equal(request("GET", "/v1/events", g.tok_op, ID, NL, NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 403);
    free(r.body);
}

/* Erasure removes the person from the gallery too. */
static void test_erasure_leaves_gallery(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char path[64];
    snprintf(path, sizeof(path), "/v1/persons/%lld", (long long)g.p_a);
    tc_response r;
    assert_int_equal(request("DELETE", path, g.tok_dpo, "erasure", "gdpr-art-17",
                             "application/json", "{\"reason\": \"court order 7\"}", NULL, &r),
                     0);
    if (r.status != 200)
        fail_msg("erase: %d %s", r.status, r.body);
    free(r.body);
    char *body = finger_body(101, 3, NULL);
    assert_int_equal(
        request("POST", "/v1/identify", g.tok_op, ID, NL, "application/json", body, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    free(r.body);
    size_t i;
    json_t *cand;
    json_array_foreach(json_object_get(o, "candidates"), i, cand)
    {
        if (json_integer_value(json_object_get(cand, "person_id")) == g.p_a)
            fail_msg("erased person %lld is still a candidate", (long long)g.p_a);
    }
    json_decref(o);
    free(body);
}

/* Every request above left an audit record naming its operation. */
/* A face alone enrols, identifies and verifies: the face networks are
 * loaded at the first face and shared by the workers. */
static char *face_body(const char *rel, const char *extra)
{
    char *img = b64(rel);
    size_t cap = strlen(img) + (extra ? strlen(extra) : 0) + 64;
    char *body = malloc(cap);
    assert_non_null(body);
    snprintf(body, cap, "{\"face\": {\"image\": \"%s\"}%s%s}", img, extra ? ", " : "",
             extra ? extra : "");
    free(img);
    return body;
}

static void test_faces(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_face_models *m = NULL;
    huella_error err;
    if (huella_face_models_load(NULL, &m, &err) != HUELLA_OK) {
        printf("# face networks not installed (%s): skipped\n", err.message);
        skip();
    }
    huella_face_models_free(m);
    char *body = face_body("face/orl/s5/1.pgm", "\"encounter\": {\"site\": \"BCP-3\", "
                                                "\"device\": \"kit-9\", \"operator\": \"olga\"}");
    json_t *o = expect("POST", "/v1/encounters", g.tok_op, ID, body, NULL, 201, NULL);
    free(body);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "new");
    int64_t p = json_integer_value(json_object_get(o, "person_id"));
    json_decref(o);
    /* another photo of the same person finds them, past the strict threshold */
    body = face_body("face/orl/s5/7.pgm", NULL);
    o = expect("POST", "/v1/identify", g.tok_op, ID, body, NULL, 200, NULL);
    if (first_candidate(o) != p)
        fail_msg("identify by face: %.2000s", json_dumps(o, JSON_COMPACT));
    assert_int_equal(first_candidate(o), p);
    json_t *top = json_array_get(json_object_get(o, "candidates"), 0);
    assert_true(json_is_true(json_object_get(top, "strict")));
    char *evidence = json_dumps(json_object_get(top, "evidence"), 0);
    assert_non_null(strstr(evidence, "face"));
    free(evidence);
    json_decref(o);
    free(body);
    char extra[64];
    snprintf(extra, sizeof(extra), "\"person_id\": %lld", (long long)p);
    body = face_body("face/orl/s5/7.pgm", extra);
    o = expect("POST", "/v1/verify", g.tok_op, ID, body, NULL, 200, NULL);
    assert_true(json_is_true(json_object_get(o, "match")));
    json_decref(o);
    free(body);
    /* someone else's face does not reach the strict threshold */
    body = face_body("face/orl/s6/1.pgm", extra);
    o = expect("POST", "/v1/verify", g.tok_op, ID, body, NULL, 200, NULL);
    assert_false(json_is_true(json_object_get(o, "match")));
    json_decref(o);
    free(body);
    /* a picture with no face in it is refused with the reason */
    body = face_body("finger/fvc2002/DB1_B/101_1.tif", NULL);
    json_decref(expect("POST", "/v1/identify", g.tok_op, ID, body, NULL, 422, NULL));
    free(body);
}

static void test_audited(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    kill(g.pid, SIGTERM);
    int status;
    waitpid(g.pid, &status, 0);
    g.pid = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    huella_audit_filter f = {0};
    char *json;
    huella_error err;
    assert_int_equal(huella_audit_query(g.dir, &f, &json, &err), HUELLA_OK);
    json_t *arr = json_loads(json, 0, NULL);
    free(json);
    int ops[6] = {0};
    static const char *const names[6] = {"identify",         "verify",      "encounter.enrol",
                                         "watchlist.manage", "case.decide", "screen"};
    size_t i;
    json_t *rec;
    json_array_foreach(arr, i, rec)
    {
        const char *op = json_string_value(json_object_get(rec, "operation"));
        for (int k = 0; k < 6; k++)
            if (op != NULL && strcmp(op, names[k]) == 0)
                ops[k]++;
    }
    json_decref(arr);
    for (int k = 0; k < 6; k++)
        if (ops[k] == 0)
            fail_msg("no audit record for %s", names[k]);
    /* The idempotency key outlives the process: it is in the store. */
    assert_int_equal(start_huellad(), 0);
    json_t *o = encounter(103, 1, "{\"names\": [\"Maria Silva\"]}", "kit9-0001", 200);
    assert_true(json_is_true(json_object_get(o, "replayed")));
    assert_int_equal(json_integer_value(json_object_get(o, "person_id")), g.p_new);
    json_decref(o);
    assert_int_equal(encounters_of(g.p_new), 1);
    printf("# %d answers checked against OpenAPI; audit: identify %d, verify %d, enrol %d, "
           "watchlist %d, decide %d, screen %d\n",
           g.checked, ops[0], ops[1], ops[2], ops[3], ops[4], ops[5]);
}

/* ---- SIGKILL during a load of enrolments over the network ---- */

#define CRASH_BODIES 24

typedef struct enrol_loader {
    int id;
    int port;
    char *const *bodies;
    volatile bool *stop;
    int *answered; /* shared, atomic */
    int n;
    int64_t enc[64], person[64];
    int refused;
} enrol_loader;

static void *enrol_load(void *arg)
{
    enrol_loader *l = arg;
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g.tok_op);
    const char *hs[] = {auth, "Huella-Purpose: " ID, "Huella-Legal-Basis: " NL,
                        "Content-Type: application/json", NULL};
    for (int k = l->id; !*l->stop; k += 4) {
        tc_conn c;
        if (tc_connect(&c, l->port, g.cert) != 0) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
            continue;
        }
        const char *body = l->bodies[k % CRASH_BODIES];
        tc_response r;
        if (tc_request(&c, "POST", "/v1/encounters", hs, body, strlen(body), &r) == 0) {
            json_t *o = json_loads(r.body, 0, NULL);
            if (r.status / 100 == 2 && l->n < 64) {
                l->enc[l->n] = json_integer_value(json_object_get(o, "encounter_id"));
                l->person[l->n] = json_integer_value(json_object_get(o, "person_id"));
                l->n++;
                __atomic_add_fetch(l->answered, 1, __ATOMIC_SEQ_CST);
            } else if (r.status / 100 != 2) {
                l->refused++;
            }
            json_decref(o);
            free(r.body);
        }
        tc_close(&c);
    }
    return NULL;
}

static int64_t audit_count(const char *operation)
{
    huella_audit_filter f = {0};
    char *json;
    huella_error err;
    assert_int_equal(huella_audit_query(g.dir, &f, &json, &err), HUELLA_OK);
    json_t *arr = json_loads(json, 0, NULL);
    free(json);
    int64_t n = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(arr, i, rec)
    {
        const char *op = json_string_value(json_object_get(rec, "operation"));
        const char *out = json_string_value(json_object_get(rec, "outcome"));
        if (op != NULL && strcmp(op, operation) == 0 && out != NULL && strcmp(out, "allowed") == 0)
            n++;
    }
    json_decref(arr);
    return n;
}

/* Four kits enrol over the network; huellad is SIGKILLed after some
 * answers.  After a restart every encounter answered 2xx is in the store
 * under the person it was answered with (and served by GET
 * /v1/persons/{id}), the audit chain verifies and `huella db check`
 * passes. */
static void test_sigkill_during_enrolments(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *bodies[CRASH_BODIES];
    for (int i = 0; i < CRASH_BODIES; i++) {
        char extra[256];
        snprintf(extra, sizeof(extra),
                 "\"encounter\": {\"site\": \"BCP-7\", \"device\": \"kit-%d\", \"operator\": "
                 "\"olga\"}",
                 i % 4);
        bodies[i] = finger_body(106 + i % 5, 3 + i / 5, extra); /* border persons only */
    }
    int64_t enrol_before = audit_count("encounter.enrol");
    /* The huellad of the earlier tests is replaced by one for this test. */
    if (g.pid > 0) {
        kill(g.pid, SIGTERM);
        waitpid(g.pid, NULL, 0);
        g.pid = 0;
    }
    assert_int_equal(start_huellad(), 0);
    enum { KITS = 4, WANT = 6 };
    volatile bool stop = false;
    int answered = 0;
    enrol_loader l[KITS];
    pthread_t t[KITS];
    for (int i = 0; i < KITS; i++) {
        l[i] = (enrol_loader){
            .id = i, .port = g.port, .bodies = bodies, .stop = &stop, .answered = &answered};
        pthread_create(&t[i], NULL, enrol_load, &l[i]);
    }
    /* Kill once some enrolments have been answered (others are then in
     * flight), or after 60 s at most. */
    uint64_t t0 = test_now_ns();
    while (__atomic_load_n(&answered, __ATOMIC_SEQ_CST) < WANT &&
           test_now_ns() - t0 < UINT64_C(60000000000)) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    kill(g.pid, SIGKILL);
    waitpid(g.pid, NULL, 0);
    g.pid = 0;
    stop = true;
    int total = 0, refused = 0;
    for (int i = 0; i < KITS; i++) {
        pthread_join(t[i], NULL);
        total += l[i].n;
        refused += l[i].refused;
    }
    for (int i = 0; i < CRASH_BODIES; i++)
        free(bodies[i]);
    assert_true(total >= WANT);
    assert_int_equal(refused, 0);

    /* The store, offline: every answered encounter under its person. */
    const char *check[] = {"db", "check", "--db", g.dir, NULL};
    char *out = NULL, *eout = NULL;
    int rc = test_run_huella(check, NULL, &out, &eout);
    if (rc != 0)
        fail_msg("huella db check after SIGKILL: exit %d: %s %s", rc, out, eout);
    free(out);
    free(eout);
    const char *verify[] = {"audit", "verify", "--db", g.dir, "--key", g.key, NULL};
    rc = test_run_huella(verify, NULL, &out, &eout);
    if (rc != 0)
        fail_msg("huella audit verify after SIGKILL: exit %d: %s %s", rc, out, eout);
    free(out);
    free(eout);
    huella_store *s;
    huella_error err;
    assert_int_equal(huella_store_open(g.dir, &s, &err), HUELLA_OK);
    for (int i = 0; i < KITS; i++)
        for (int k = 0; k < l[i].n; k++) {
            int64_t *e = NULL;
            size_t n = 0;
            assert_int_equal(huella_store_person_encounters(s, l[i].person[k], &e, &n, &err),
                             HUELLA_OK);
            bool found = false;
            for (size_t j = 0; j < n; j++)
                found = found || e[j] == l[i].enc[k];
            free(e);
            if (!found)
                fail_msg("encounter %lld answered 2xx for person %lld is missing after SIGKILL",
                         (long long)l[i].enc[k], (long long)l[i].person[k]);
        }
    huella_store_close(s);
    /* Every answered enrolment is in the audit chain. */
    int64_t enrol_after = audit_count("encounter.enrol");
    assert_true(enrol_after - enrol_before >= total);

    /* Restarted, huellad serves each of them. */
    assert_int_equal(start_huellad(), 0);
    for (int i = 0; i < KITS; i++)
        for (int k = 0; k < l[i].n; k++) {
            char path[64];
            snprintf(path, sizeof(path), "/v1/persons/%lld", (long long)l[i].person[k]);
            json_t *o = expect("GET", path, g.tok_op, ID, NULL, NULL, 200, NULL);
            char *text = json_dumps(o, JSON_COMPACT);
            char want[64];
            snprintf(want, sizeof(want), "\"encounter_id\":%lld", (long long)l[i].enc[k]);
            if (strstr(text, want) == NULL)
                fail_msg("GET %s does not list encounter %lld", path, (long long)l[i].enc[k]);
            free(text);
            json_decref(o);
        }
    printf("# SIGKILL during enrolments from %d kits: %d answered 2xx, all present after restart "
           "(%lld enrolments audited); db check and audit verify pass\n",
           KITS, total, (long long)(enrol_after - enrol_before));
}

/* The retention timer: an encounter captured in 2020 under a policy of
 * 30 days is purged by huellad itself within seconds (the person, whose
 * only encounter it was, erased), the purge is in the audit chain under
 * the timer's name before anything else, /metrics counts the runs, and
 * SIGTERM stops the timer: huellad exits 0 at once, also with the default
 * hourly interval. */
static void test_retention_timer(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char policy[800];
    snprintf(policy, sizeof(policy), "%s/retention-30d.json", test_tmpdir());
    FILE *f = fopen(policy, "w");
    assert_non_null(f);
    fputs("{\"version\": 1, \"encounters\": {\"days\": 30}}\n", f);
    fclose(f);
    if (g.pid > 0) {
        kill(g.pid, SIGTERM);
        waitpid(g.pid, NULL, 0);
        g.pid = 0;
    }
    g.extra[0] = "--retention-interval";
    g.extra[1] = "1";
    g.extra[2] = "--retention-policy";
    g.extra[3] = policy;
    assert_int_equal(start_huellad(), 0);
    memset(g.extra, 0, sizeof(g.extra));

    /* Fingers never enrolled by the other tests (FVC2002 DB2_B). */
    char *a = b64("finger/fvc2002/DB2_B/101_1.tif"), *b = b64("finger/fvc2002/DB2_B/102_1.tif");
    size_t cap = strlen(a) + strlen(b) + 1024;
    char *body = malloc(cap);
    snprintf(body, cap,
             "{\"encounter\": {\"site\": \"BCP-1\", \"device\": \"kit-1\", \"operator\": \"olga\","
             " \"captured_at\": \"2020-03-01T10:00:00Z\"}, \"fingers\": [{\"position\": 2, "
             "\"image\": \"%s\"}, {\"position\": 3, \"image\": \"%s\"}]}",
             a, b);
    free(a);
    free(b);
    json_t *o = expect("POST", "/v1/encounters", g.tok_op, ID, body, NULL, 201, NULL);
    free(body);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "new");
    int64_t person = json_integer_value(json_object_get(o, "person_id"));
    int64_t enc = json_integer_value(json_object_get(o, "encounter_id"));
    json_decref(o);

    /* Wait (at most 20 s) for the timer's audit record of the erasure. */
    huella_audit_filter af = {.person = person, .user = "huellad-retention"};
    bool purged = false;
    uint64_t t0 = test_now_ns();
    while (!purged && test_now_ns() - t0 < UINT64_C(20000000000)) {
        char *json = NULL;
        huella_error err;
        assert_int_equal(huella_audit_query(g.dir, &af, &json, &err), HUELLA_OK);
        purged = strstr(json, "retention.person.erase") != NULL;
        free(json);
        if (!purged) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(purged);
    /* Give the erase itself (after its record) a moment, then look. */
    size_t n_left = 1;
    for (int i = 0; i < 100 && n_left > 0; i++) {
        huella_store *s;
        huella_error err;
        assert_int_equal(huella_store_open(g.dir, &s, &err), HUELLA_OK);
        int64_t *e = NULL;
        size_t n = 0;
        n_left = 0;
        if (huella_store_person_encounters(s, person, &e, &n, &err) == HUELLA_OK)
            for (size_t k = 0; k < n; k++)
                n_left += e[k] == enc;
        free(e);
        huella_store_close(s);
        if (n_left > 0) {
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(n_left, 0);
    /* The person is gone for the API too, and recent persons stayed. */
    char path[64];
    snprintf(path, sizeof(path), "/v1/persons/%lld", (long long)person);
    tc_response r;
    assert_int_equal(request("GET", path, g.tok_op, ID, NL, NULL, NULL, NULL, &r), 0);
    assert_true(r.status == 404 || r.status == 410);
    free(r.body);
    snprintf(path, sizeof(path), "/v1/persons/%lld", (long long)g.p_new);
    json_decref(expect("GET", path, g.tok_op, ID, NULL, NULL, 200, NULL));
    assert_int_equal(request("GET", "/metrics", NULL, NULL, NULL, NULL, NULL, NULL, &r), 0);
    char *runs = strstr(r.body, "\nhuella_retention_runs_total ");
    assert_non_null(runs);
    assert_true(atoi(runs + strlen("\nhuella_retention_runs_total ")) >= 1);
    assert_non_null(strstr(r.body, "huella_gallery_persons "));
    assert_non_null(strstr(r.body, "huella_comparisons_total "));
    free(r.body);

    /* SIGTERM stops the timer between runs, with a 1 s and a 1 h interval. */
    for (int round = 0; round < 2; round++) {
        uint64_t t1 = test_now_ns();
        kill(g.pid, SIGTERM);
        int ws;
        assert_int_equal(waitpid(g.pid, &ws, 0), g.pid);
        g.pid = 0;
        double secs = (double)(test_now_ns() - t1) / 1e9;
        assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
        if (secs > 5)
            fail_msg("huellad took %.1f s to stop on SIGTERM", secs);
        if (round == 0)
            assert_int_equal(start_huellad(), 0); /* default: hourly */
    }
    const char *verify[] = {"audit", "verify", "--db", g.dir, "--key", g.key, NULL};
    char *out = NULL, *eout = NULL;
    int rc = test_run_huella(verify, NULL, &out, &eout);
    if (rc != 0)
        fail_msg("huella audit verify after the retention timer: exit %d: %s", rc, out);
    free(out);
    free(eout);
    assert_int_equal(start_huellad(), 0);
    printf("# retention timer: encounter of 2020 purged and its person erased by huellad, "
           "audited as huellad-retention; SIGTERM stops the timer\n");
}

/* The gallery snapshot timer: with --gallery-snapshot-interval 1 huellad
 * writes DIR/gallery.snap itself (the store has persons and changes),
 * `huella db check` finds it current and equal to the database, and the
 * next start loads from it; SIGTERM stops the timer. */
static void test_gallery_snapshot_timer(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char snap[800];
    snprintf(snap, sizeof(snap), "%s/gallery.snap", g.dir);
    unlink(snap);
    if (g.pid > 0) {
        kill(g.pid, SIGTERM);
        waitpid(g.pid, NULL, 0);
        g.pid = 0;
    }
    g.extra[0] = "--gallery-snapshot-interval";
    g.extra[1] = "1";
    assert_int_equal(start_huellad(), 0);
    memset(g.extra, 0, sizeof(g.extra));
    bool written = false;
    uint64_t t0 = test_now_ns();
    while (!written && test_now_ns() - t0 < UINT64_C(20000000000)) {
        huella_store *s;
        huella_error err;
        assert_int_equal(huella_store_open(g.dir, &s, &err), HUELLA_OK);
        bool due = true;
        assert_int_equal(huella_store_gallery_snapshot_due(s, &due, NULL, &err), HUELLA_OK);
        huella_store_close(s);
        written = !due && access(snap, F_OK) == 0;
        if (!written) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(written);
    kill(g.pid, SIGTERM);
    int ws;
    assert_int_equal(waitpid(g.pid, &ws, 0), g.pid);
    g.pid = 0;
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    const char *check[] = {"db", "check", "--db", g.dir, "--json", NULL};
    char *out = NULL, *eout = NULL;
    int rc = test_run_huella(check, NULL, &out, &eout);
    if (rc != 0 || strstr(out, "\"gallery_snapshot\": \"current\"") == NULL)
        fail_msg("huella db check after the snapshot timer: exit %d: %s", rc, out);
    free(out);
    free(eout);
    huella_store *s;
    huella_error err;
    assert_int_equal(huella_store_open(g.dir, &s, &err), HUELLA_OK);
    huella_gallery *gal = NULL;
    assert_int_equal(huella_gallery_new(&gal, &err), HUELLA_OK);
    huella_gallery_load_stats ls;
    assert_int_equal(huella_gallery_load_store(s, gal, 2, &ls, &err), HUELLA_OK);
    assert_string_equal(ls.snapshot, "used");
    assert_true(ls.persons_from_snapshot > 0);
    huella_gallery_free(gal);
    huella_store_close(s);
    assert_int_equal(start_huellad(), 0);
    printf("# gallery snapshot timer: written by huellad (%zu persons from it at the next load)\n",
           ls.persons_from_snapshot);
}

/* The start log of huellad's log file at port g.port once it holds the
 * gallery counts and `want` (the log is written right after the port
 * opens, a line at a time). */
static char *start_log(const char *want)
{
    char logpath[800];
    snprintf(logpath, sizeof(logpath), "%s/huellad-%d.log", test_tmpdir(), g.port);
    for (int i = 0; i < 100; i++) {
        size_t len = 0;
        char *log = (char *)test_read_file(logpath, &len);
        if (log != NULL && strstr(log, "gallery_persons_rebuilt") != NULL &&
            strstr(log, want) != NULL)
            return log;
        free(log);
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("no start log with the gallery counts and \"%s\" in %s", want, logpath);
    return NULL;
}

/* gallery_persons_rebuilt in a start log. */
static long persons_rebuilt(const char *log)
{
    const char *at = strstr(log, "\"gallery_persons_rebuilt\":");
    assert_non_null(at);
    return strtol(at + strlen("\"gallery_persons_rebuilt\":"), NULL, 10);
}

/* A person whose gallery form is stale (as every form is after an upgrade
 * that changes the fingers' prepared format) is prepared from the
 * templates at start, and the start log counts them and names the fix;
 * after `huella db gallery-refresh` the next start counts none. */
static void test_start_log_names_stale_forms(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char *log = start_log("listening");
    assert_int_equal(persons_rebuilt(log), 0);
    assert_null(strstr(log, "gallery forms stale"));
    free(log);
    kill(g.pid, SIGTERM);
    assert_int_equal(waitpid(g.pid, NULL, 0), g.pid);
    g.pid = 0;
    char path[800];
    snprintf(path, sizeof(path), "%s/huella.db", g.dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw,
                                  "UPDATE gallery_form SET format = format + 1 WHERE person_id = "
                                  "(SELECT min(person_id) FROM gallery_form)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_changes(raw), 1);
    sqlite3_close(raw);
    assert_int_equal(start_huellad(), 0);
    log = start_log("gallery forms stale or missing");
    assert_int_equal(persons_rebuilt(log), 1);
    assert_non_null(strstr(log, "huella db gallery-refresh"));
    free(log);
    const char *refresh[] = {"db", "gallery-refresh", "--db", g.dir, NULL};
    char *out = NULL, *eout = NULL;
    assert_int_equal(test_run_huella(refresh, NULL, &out, &eout), 0);
    free(out);
    free(eout);
    kill(g.pid, SIGTERM);
    assert_int_equal(waitpid(g.pid, NULL, 0), g.pid);
    g.pid = 0;
    assert_int_equal(start_huellad(), 0);
    log = start_log("listening");
    assert_int_equal(persons_rebuilt(log), 0);
    free(log);
    printf("# a stale gallery form: prepared at start, counted and named in the start log\n");
}

/* The kit client against the real huellad: `huella submit` enrols; with
 * huellad down the encounter is queued (encrypted outbox); after the
 * restart `--flush` delivers it exactly once, and a resend of the same
 * Idempotency-Key is not a second enrolment. */
static void test_submit_to_huellad(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char tokfile[800], outbox[800], url[64];
    snprintf(tokfile, sizeof(tokfile), "%s/olga.token", test_tmpdir());
    snprintf(outbox, sizeof(outbox), "%s/kit-outbox", test_tmpdir());
    char cmd[1700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outbox);
    sh(cmd);
    FILE *f = fopen(tokfile, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", g.tok_op);
    fclose(f);
    char f2[700], f3[700];
    snprintf(f2, sizeof(f2), "2=%s", test_data("finger/fvc2002/DB2_B/103_1.tif"));
    snprintf(f3, sizeof(f3), "3=%s", test_data("finger/fvc2002/DB4_B/103_1.tif"));
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", g.port);
    const char *send[] = {"submit", "--server",      url,     "--token-file", tokfile, "--cacert",
                          g.cert,   "--finger",      f2,      "--finger",     f3,      "--site",
                          "BCP-2",  "--device",      "kit-4", "--operator",   "olga",  "--purpose",
                          ID,       "--legal-basis", NL,      "--outbox",     outbox,  "--json",
                          NULL};
    json_t *o = test_run_huella_json(0, send);
    assert_true(json_is_false(json_object_get(o, "queued")));
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 201);
    json_t *ans = json_object_get(o, "answer");
    assert_string_equal(json_string_value(json_object_get(ans, "outcome")), "new");
    int64_t person = json_integer_value(json_object_get(ans, "person_id"));
    json_decref(o);
    char path[64];
    snprintf(path, sizeof(path), "/v1/persons/%lld", (long long)person);
    json_decref(expect("GET", path, g.tok_op, ID, NULL, NULL, 200, NULL));

    /* huellad down: the second capture of the same person is queued. */
    kill(g.pid, SIGTERM);
    waitpid(g.pid, NULL, 0);
    g.pid = 0;
    snprintf(f2, sizeof(f2), "2=%s", test_data("finger/fvc2002/DB2_B/103_2.tif"));
    snprintf(f3, sizeof(f3), "3=%s", test_data("finger/fvc2002/DB4_B/103_2.tif"));
    o = test_run_huella_json(0, send);
    assert_true(json_is_true(json_object_get(o, "queued")));
    json_decref(o);
    assert_int_equal(start_huellad(), 0);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", g.port);
    const char *flush[] = {"submit",       "--flush", "--server", url,
                           "--token-file", tokfile,   "--cacert", g.cert,
                           "--outbox",     outbox,    NULL};
    char *out = NULL, *eout = NULL;
    int rc = test_run_huella(flush, NULL, &out, &eout);
    if (rc != 0 || strstr(out, "1 sent") == NULL)
        fail_msg("flush: exit %d: %s %s", rc, out, eout);
    free(out);
    free(eout);
    /* Delivered once: nothing is left to send. */
    rc = test_run_huella(flush, NULL, &out, &eout);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "0 sent"));
    free(out);
    free(eout);
    printf("# huella submit against huellad: sent (201 new), queued while huellad was down, "
           "flushed once after the restart\n");
}

/* SIGTERM while enrolments are in flight: each request huellad had
 * received is finished and answered, huellad exits 0, and every answered
 * enrolment is in the store. */
typedef struct one_enrol {
    int port;
    const char *body;
    int status; /* atomic */
    int64_t enc, person;
} one_enrol;

static void *one_enrol_run(void *arg)
{
    one_enrol *e = arg;
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g.tok_op);
    const char *hs[] = {auth, "Huella-Purpose: " ID, "Huella-Legal-Basis: " NL,
                        "Content-Type: application/json", NULL};
    tc_conn c;
    if (tc_connect(&c, e->port, g.cert) != 0) {
        __atomic_store_n(&e->status, -1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    tc_response r;
    int st = -2;
    if (tc_request(&c, "POST", "/v1/encounters", hs, e->body, strlen(e->body), &r) == 0) {
        json_t *o = json_loads(r.body, 0, NULL);
        e->enc = json_integer_value(json_object_get(o, "encounter_id"));
        e->person = json_integer_value(json_object_get(o, "person_id"));
        json_decref(o);
        free(r.body);
        st = r.status;
    }
    tc_close(&c);
    __atomic_store_n(&e->status, st, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_sigterm_finishes_in_flight(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    enum { N = 4 };
    char *bodies[N];
    one_enrol e[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        bodies[i] = finger_body(106 + i, 8,
                                "\"encounter\": {\"site\": \"BCP-9\", \"device\": \"kit-2\", "
                                "\"operator\": \"olga\"}");
        e[i] = (one_enrol){.port = g.port, .body = bodies[i]};
        pthread_create(&t[i], NULL, one_enrol_run, &e[i]);
    }
    /* SIGTERM as soon as the first answer is back: the others are then
     * received and waiting for a worker or the gallery. */
    uint64_t t0 = test_now_ns();
    bool any = false;
    while (!any && test_now_ns() - t0 < UINT64_C(60000000000)) {
        for (int i = 0; i < N; i++)
            any = any || __atomic_load_n(&e[i].status, __ATOMIC_SEQ_CST) != 0;
        if (!any) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(any);
    kill(g.pid, SIGTERM);
    int ws;
    assert_int_equal(waitpid(g.pid, &ws, 0), g.pid);
    g.pid = 0;
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    int answered = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        free(bodies[i]);
        if (e[i].status / 100 != 2)
            fail_msg("enrolment %d in flight at SIGTERM got %d, not an answer", i, e[i].status);
        answered++;
    }
    huella_store *s;
    huella_error err;
    assert_int_equal(huella_store_open(g.dir, &s, &err), HUELLA_OK);
    for (int i = 0; i < N; i++) {
        int64_t *ids = NULL;
        size_t n = 0;
        assert_int_equal(huella_store_person_encounters(s, e[i].person, &ids, &n, &err), HUELLA_OK);
        bool found = false;
        for (size_t k = 0; k < n; k++)
            found = found || ids[k] == e[i].enc;
        free(ids);
        assert_true(found);
    }
    huella_store_close(s);
    assert_int_equal(start_huellad(), 0);
    printf("# SIGTERM with %d enrolments in flight: all %d answered 2xx and stored, exit 0\n", N,
           answered);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identify_and_verify),
        cmocka_unit_test(test_watchlists_and_screen),
        cmocka_unit_test(test_encounters),
        cmocka_unit_test(test_encounter_an2k),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_erasure_leaves_gallery),
        cmocka_unit_test(test_faces),
        cmocka_unit_test(test_audited),
        cmocka_unit_test(test_sigkill_during_enrolments),
        cmocka_unit_test(test_retention_timer),
        cmocka_unit_test(test_gallery_snapshot_timer),
        cmocka_unit_test(test_start_log_names_stale_forms),
        cmocka_unit_test(test_submit_to_huellad),
        cmocka_unit_test(test_sigterm_finishes_in_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
