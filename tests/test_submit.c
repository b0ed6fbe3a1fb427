/*
 * test_submit.c - the capture kit client (include/huella/kit.h, `huella
 * submit`) against a small fake huellad: a plain-HTTP loopback listener
 * built with libmicrohttpd that answers POST /v1/encounters with canned
 * answers, remembers every Idempotency-Key it saw (a key seen before gets
 * the first answer again with 200, as the real server promises) and can
 * be switched to answer 503 or 422.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "huella/kit.h"
#include "support.h"

#include <dirent.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define MAX_SEEN 64

/* ---- The fake server ---- */

static struct fake {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    int answer;                  /* 0: enrol; else this status */
    size_t n_seen;               /* requests, in order */
    char seen[MAX_SEEN][64];     /* their Idempotency-Keys */
    char enrolled[MAX_SEEN][64]; /* distinct keys = enrolments */
    size_t n_enrolled;
    char auth[128], purpose[64], legal[64], ctype[64], deadline[32];
    char *last_body;
    size_t last_len;
} fake;

typedef struct upload {
    huella_buf body;
} upload;

static void request_done(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    upload *u = *req_cls;
    if (u != NULL) {
        huella_buf_free(&u->body);
        free(u);
        *req_cls = NULL;
    }
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t cap)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(out, cap, "%s", v != NULL ? v : "");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **req_cls)
{
    (void)cls;
    (void)version;
    upload *u = *req_cls;
    if (u == NULL) {
        u = calloc(1, sizeof *u);
        huella_buf_init(&u->body);
        *req_cls = u;
        return MHD_YES;
    }
    if (*size > 0) {
        huella_buf_append(&u->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    int status = 404;
    char body[512] = "{\"error\":\"not-found\",\"message\":\"no such route\"}";
    pthread_mutex_lock(&fake.mu);
    if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/encounters") == 0) {
        char key[64];
        copy_header(c, "Idempotency-Key", key, sizeof key);
        copy_header(c, "Authorization", fake.auth, sizeof fake.auth);
        copy_header(c, "Huella-Purpose", fake.purpose, sizeof fake.purpose);
        copy_header(c, "Huella-Legal-Basis", fake.legal, sizeof fake.legal);
        copy_header(c, "Content-Type", fake.ctype, sizeof fake.ctype);
        copy_header(c, "Huella-Deadline-Ms", fake.deadline, sizeof fake.deadline);
        if (fake.n_seen < MAX_SEEN)
            snprintf(fake.seen[fake.n_seen++], 64, "%s", key);
        free(fake.last_body);
        fake.last_body = malloc(u->body.len + 1);
        memcpy(fake.last_body, u->body.data, u->body.len);
        fake.last_body[u->body.len] = '\0';
        fake.last_len = u->body.len;
        if (fake.answer != 0) {
            status = fake.answer;
            snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"canned %d\"}",
                     status == 422 ? "unprocessable" : "unavailable", status);
        } else {
            size_t i = 0;
            while (i < fake.n_enrolled && strcmp(fake.enrolled[i], key) != 0)
                i++;
            status = i < fake.n_enrolled ? 200 : 201;
            if (i == fake.n_enrolled && i < MAX_SEEN)
                snprintf(fake.enrolled[fake.n_enrolled++], 64, "%s", key);
            /* Encounter i+1 of person 100+i; the second one links, the
             * third opens a case with a candidate and a watchlist hit. */
            const char *outcome = i % 3 == 0 ? "new" : i % 3 == 1 ? "linked" : "case";
            snprintf(body, sizeof body,
                     "{\"encounter_id\":%zu,\"person_id\":%zu,\"outcome\":\"%s\",\"case_id\":%s,"
                     "\"candidates\":[%s],\"watchlist_hits\":[%s],"
                     "\"notice\":\"decisions are made by examiners\"}",
                     i + 1, 100 + i, outcome, i % 3 == 2 ? "7" : "null",
                     i % 3 == 2 ? "{\"person_id\":42,\"score\":0.61}" : "",
                     i % 3 == 2 ? "{\"entry_id\":9,\"category\":\"wanted\",\"score\":0.9}" : "");
        }
    }
    pthread_mutex_unlock(&fake.mu);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void fake_reset(int answer)
{
    pthread_mutex_lock(&fake.mu);
    fake.answer = answer;
    fake.n_seen = 0;
    fake.n_enrolled = 0;
    free(fake.last_body);
    fake.last_body = NULL;
    pthread_mutex_unlock(&fake.mu);
}

static int setup(void **state)
{
    (void)state;
    pthread_mutex_init(&fake.mu, NULL);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fake.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (fake.d == NULL)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(fake.d, MHD_DAEMON_INFO_BIND_PORT);
    fake.port = info != NULL ? info->port : 0;
    return fake.port != 0 && sodium_init() >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(fake.d);
    free(fake.last_body);
    return 0;
}

/* ---- Helpers ---- */

static char url[64], dead_url[64];

static const char *token_file(void)
{
    const char *p = test_tmpfile("token");
    assert_true(test_write_file(p, "hu_testtoken\n", 13));
    return p;
}

/* A fresh, empty outbox directory. */
static const char *outbox(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s", test_tmpfile(name));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
    return path;
}

static size_t queued(const char *dir)
{
    char **names;
    size_t n;
    huella_error err;
    assert_int_equal(huella_kit_outbox_list(dir, &names, &n, &err), HUELLA_OK);
    huella_kit_outbox_list_free(names, n);
    return n;
}

static const char *IRIS = "iris/casia-v1/1/001_2_2.jpg";
static const char *FINGER = "finger/fvc2002/DB1_B/101_1.tif";

static int submit(const char *server, const char *box, char **out, char **err_text)
{
    char finger[600], iris[600];
    snprintf(finger, sizeof finger, "2=%s", test_data(FINGER));
    snprintf(iris, sizeof iris, "left=%s", test_data(IRIS));
    const char *argv[] = {"submit",
                          "--server",
                          server,
                          "--token-file",
                          token_file(),
                          "--outbox",
                          box,
                          "--finger",
                          finger,
                          "--iris",
                          iris,
                          "--mrz",
                          "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                          "--mrz",
                          "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
                          "--site",
                          "border-post-3",
                          "--device",
                          "kit-17",
                          "--operator",
                          "op-5",
                          "--purpose",
                          "border-control",
                          "--legal-basis",
                          "reg-2017-2226",
                          "--timeout",
                          "5",
                          NULL};
    return test_run_huella(argv, NULL, out, err_text);
}

static void set_urls(void)
{
    snprintf(url, sizeof url, "http://127.0.0.1:%u", fake.port);
    /* Port 1 on loopback: nothing listens, the connection is refused. */
    snprintf(dead_url, sizeof dead_url, "http://127.0.0.1:1");
}

/* ---- Tests ---- */

static void test_success_printed(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    set_urls();
    fake_reset(0);
    const char *box = outbox("box-success");
    char *out, *err;
    int rc = submit(url, box, &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "huellad answered 201"));
    assert_non_null(strstr(out, "encounter 1, person 100"));
    assert_non_null(strstr(out, "outcome: new - nobody in the store matched"));
    assert_non_null(strstr(out, "notice: decisions are made by examiners"));
    assert_int_equal(queued(box), 0); /* left the outbox after the 2xx */
    /* What the server got: the headers and the JSON contract. */
    assert_int_equal(fake.n_seen, 1);
    assert_int_equal(strlen(fake.seen[0]), HUELLA_KIT_KEY_LEN);
    assert_string_equal(fake.auth, "Bearer hu_testtoken");
    assert_string_equal(fake.purpose, "border-control");
    assert_string_equal(fake.legal, "reg-2017-2226");
    assert_string_equal(fake.ctype, "application/json");
    assert_string_equal(fake.deadline, "5000"); /* the test's --timeout 5 */
    json_error_t je;
    json_t *b = json_loads(fake.last_body, 0, &je);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "encounter"), "site")),
                        "border-post-3");
    assert_non_null(json_object_get(json_object_get(b, "encounter"), "captured_at"));
    json_t *f = json_array_get(json_object_get(b, "fingers"), 0);
    assert_int_equal(json_integer_value(json_object_get(f, "position")), 2);
    assert_int_equal((int)json_number_value(json_object_get(f, "ppi")), 500);
    json_t *ir = json_array_get(json_object_get(b, "irises"), 0);
    assert_string_equal(json_string_value(json_object_get(ir, "eye")), "left");
    assert_int_equal(json_array_size(json_object_get(b, "mrz")), 2);
    /* The image arrives byte for byte. */
    size_t ilen;
    uint8_t *img = test_read_file(test_data(IRIS), &ilen);
    const char *b64 = json_string_value(json_object_get(ir, "image"));
    uint8_t *dec = malloc(ilen + 16);
    size_t dlen = 0;
    assert_int_equal(sodium_base642bin(dec, ilen + 16, b64, strlen(b64), NULL, &dlen, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(dlen, ilen);
    assert_memory_equal(dec, img, ilen);
    free(dec);
    free(img);
    json_decref(b);
    free(out);
    free(err);

    /* A case with a candidate and a watchlist hit is explained. */
    fake_reset(0);
    pthread_mutex_lock(&fake.mu);
    fake.n_enrolled = 2;
    snprintf(fake.enrolled[0], 64, "x");
    snprintf(fake.enrolled[1], 64, "y");
    pthread_mutex_unlock(&fake.mu);
    rc = submit(url, box, &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "outcome: case - a possible duplicate"));
    assert_non_null(strstr(out, "case 7"));
    assert_non_null(strstr(out, "person_id 42"));
    assert_non_null(strstr(out, "watchlist hits (1)"));
    assert_non_null(strstr(out, "not decisions"));
    free(out);
    free(err);
}

/* Every 64-byte window of the image and of its base64 is absent. */
static void assert_no_plaintext(const uint8_t *file, size_t flen, const uint8_t *img, size_t ilen)
{
    for (size_t off = 0; off + 64 <= ilen; off += 257)
        assert_null(memmem(file, flen, img + off, 64));
    size_t n = sodium_base64_encoded_len(ilen, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(n);
    sodium_bin2base64(b64, n, img, ilen, sodium_base64_VARIANT_ORIGINAL);
    for (size_t off = 0; off + 64 <= n - 1; off += 256)
        assert_null(memmem(file, flen, b64 + off, 64));
    free(b64);
}

static void test_unreachable_goes_to_outbox(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    set_urls();
    const char *box = outbox("box-dead");
    char *out, *err;
    int rc = submit(dead_url, box, &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "cannot be reached"));
    assert_non_null(strstr(out, "huella submit --flush"));
    assert_int_equal(queued(box), 1);
    free(out);
    free(err);
    /* The outbox file holds no image bytes, no base64 of them, no token. */
    char **names;
    size_t n;
    huella_error e;
    assert_int_equal(huella_kit_outbox_list(box, &names, &n, &e), HUELLA_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", box, names[0]);
    size_t flen, ilen;
    uint8_t *file = test_read_file(path, &flen);
    uint8_t *img = test_read_file(test_data(IRIS), &ilen);
    assert_true(flen > ilen);
    assert_no_plaintext(file, flen, img, ilen);
    assert_null(memmem(file, flen, "ERIKSSON", 8));
    assert_null(memmem(file, flen, "border-control", 14));
    free(img);
    /* The key file is 0600 and the outbox 0700. */
    snprintf(path, sizeof path, "%s/" HUELLA_KIT_OUTBOX_KEY, box);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(box, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    /* A flipped byte does not authenticate; a renamed file neither. */
    huella_kit_message *m;
    assert_int_equal(huella_kit_outbox_get(box, names[0], &m, &e), HUELLA_OK);
    huella_kit_message_free(m);
    snprintf(path, sizeof path, "%s/%s", box, names[0]);
    file[flen / 2] ^= 1;
    assert_true(test_write_file(path, file, flen));
    assert_int_equal(huella_kit_outbox_get(box, names[0], &m, &e), HUELLA_E_INPUT);
    file[flen / 2] ^= 1;
    assert_true(test_write_file(path, file, flen));
    free(file);
    huella_kit_outbox_list_free(names, n);
}

static void test_flush_in_order_once(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    set_urls();
    const char *box = outbox("box-flush");
    char *out, *err;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(submit(dead_url, box, &out, &err), 0);
        free(out);
        free(err);
    }
    char **names;
    size_t n;
    huella_error e;
    assert_int_equal(huella_kit_outbox_list(box, &names, &n, &e), HUELLA_OK);
    assert_int_equal(n, 3);

    /* 5xx: everything stays, in order; the first was tried. */
    fake_reset(503);
    const char *flush[] = {"submit",     "--flush",  "--server", url, "--token-file",
                           token_file(), "--outbox", box,        NULL};
    int rc = test_run_huella(flush, NULL, &out, &err);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "a server error"));
    assert_non_null(strstr(out, "3 still queued"));
    assert_int_equal(queued(box), 3);
    assert_int_equal(fake.n_seen, 1);
    char first_try[64];
    snprintf(first_try, sizeof first_try, "%s", fake.seen[0]);
    free(out);
    free(err);

    /* The server is back: sent oldest first, each with its own key. */
    fake_reset(0);
    rc = test_run_huella(flush, NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "3 sent, 0 refused, 0 still queued"));
    assert_int_equal(queued(box), 0);
    assert_int_equal(fake.n_seen, 3);
    for (size_t i = 0; i < 3; i++)
        assert_memory_equal(fake.seen[i], names[i] + 21, HUELLA_KIT_KEY_LEN);
    assert_string_equal(fake.seen[0], first_try); /* resend = same key */
    assert_string_not_equal(fake.seen[0], fake.seen[1]);
    free(out);
    free(err);
    /* Nothing left: another flush sends nothing. */
    rc = test_run_huella(flush, NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(fake.n_seen, 3);
    free(out);
    free(err);
    huella_kit_outbox_list_free(names, n);
}

/* A crash after the send and before the removal: the next flush sends the
 * same key, the server answers with the first result, nothing enrols twice. */
static void test_crash_between_send_and_remove(void **state)
{
    (void)state;
    set_urls();
    fake_reset(0);
    const char *box = outbox("box-crash");
    static const char line1[] = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const char *mrz[] = {line1};
    uint8_t pixels[300];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 7 + 3);
    huella_kit_image face = {0, pixels, sizeof pixels};
    huella_kit_encounter enc = {.site = "s",
                                .device = "d",
                                .operator_id = "o",
                                .purpose = "border-control",
                                .legal_basis = "reg",
                                .face = &face,
                                .mrz = mrz,
                                .n_mrz = 1};
    huella_kit_message *m;
    huella_error e;
    assert_int_equal(huella_kit_message_json(&enc, &m, &e), HUELLA_OK);
    char *name;
    assert_int_equal(huella_kit_outbox_put(box, m, &name, &e), HUELLA_OK);
    huella_kit_server srv = {.url = url, .token = "hu_testtoken", .timeout_s = 5};
    huella_kit_reply r;
    assert_int_equal(huella_kit_send(&srv, m, &r, &e), HUELLA_OK);
    assert_true(r.reached);
    assert_int_equal(r.status, 201);
    assert_false(huella_kit_reply_retry(&r));
    huella_kit_reply_clear(&r);
    /* "crash": the file is not removed. */
    char *out, *err;
    const char *flush[] = {"submit",     "--flush",  "--server", url,      "--token-file",
                           token_file(), "--outbox", box,        "--json", NULL};
    int rc = test_run_huella(flush, NULL, &out, &err);
    assert_int_equal(rc, 0);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    assert_non_null(o);
    json_t *att = json_array_get(json_object_get(o, "attempts"), 0);
    assert_int_equal(json_integer_value(json_object_get(att, "status")), 200);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(att, "answer"), "encounter_id")), 1);
    json_decref(o);
    assert_int_equal(fake.n_seen, 2);
    assert_string_equal(fake.seen[0], fake.seen[1]);
    assert_string_equal(fake.seen[0], m->idempotency_key);
    assert_int_equal(fake.n_enrolled, 1);
    assert_int_equal(queued(box), 0);
    free(out);
    free(err);
    free(name);
    huella_kit_message_free(m);
}

static void test_refused_and_unsafe(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    set_urls();
    fake_reset(422);
    const char *box = outbox("box-422");
    char *out, *err;
    int rc = submit(url, box, &out, &err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "refused the encounter: 422 unprocessable: canned 422"));
    assert_non_null(strstr(out, "/rejected/"));
    assert_int_equal(queued(box), 0);
    char rejected[600];
    snprintf(rejected, sizeof rejected, "%s/rejected", box);
    assert_int_equal(queued(rejected), 1); /* out of the queue, not out of the kit */
    free(out);
    free(err);
    /* 401 (a token to renew): the encounter is not at fault and stays queued. */
    fake_reset(401);
    rc = submit(url, box, &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "the token is not accepted"));
    assert_int_equal(queued(box), 1);
    free(out);
    free(err);
    /* Plain http to another host is refused before anything is sent. */
    huella_kit_message *m;
    huella_error e;
    const uint8_t txn[] = "1.001:...";
    assert_int_equal(huella_kit_message_an2k(txn, sizeof txn, "p", "l", &m, &e), HUELLA_OK);
    assert_string_equal(m->content_type, "application/octet-stream");
    huella_kit_server srv = {.url = "http://192.0.2.1:8080", .token = "t"};
    huella_kit_reply r;
    assert_int_equal(huella_kit_send(&srv, m, &r, &e), HUELLA_E_INPUT);
    /* Byte form round trip; truncations are refused. */
    uint8_t *bytes;
    size_t len;
    assert_int_equal(huella_kit_message_encode(m, &bytes, &len, &e), HUELLA_OK);
    for (size_t cut = 0; cut < len; cut++) {
        huella_kit_message *back;
        assert_int_equal(huella_kit_message_decode(bytes, cut, &back, &e), HUELLA_E_INPUT);
    }
    huella_kit_message *back;
    assert_int_equal(huella_kit_message_decode(bytes, len, &back, &e), HUELLA_OK);
    assert_string_equal(back->idempotency_key, m->idempotency_key);
    assert_int_equal(back->body_len, sizeof txn);
    huella_kit_message_free(back);
    free(bytes);
    huella_kit_message_free(m);
    /* Usage errors. */
    const char *bad[] = {"submit",     "--server", url, "--token-file",
                         token_file(), "--outbox", box, NULL};
    assert_int_equal(test_run_huella(bad, NULL, &out, &err), 1);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_printed),
        cmocka_unit_test(test_unreachable_goes_to_outbox),
        cmocka_unit_test(test_flush_in_order_once),
        cmocka_unit_test(test_crash_between_send_and_remove),
        cmocka_unit_test(test_refused_and_unsafe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
