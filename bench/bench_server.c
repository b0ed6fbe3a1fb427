/*
 * bench_server.c - audited reads over HTTPS: GET /v1/persons/{id} with a
 * declared purpose and legal basis from C concurrent keep-alive TLS
 * clients against huellad, then a check that every request is in the
 * audit chain and that the chain verifies.  Baseline in the same run: the
 * same reads and audit appends made in-process by C threads (store read +
 * durable audit append, no HTTP, no TLS).
 *
 *   bench_server [SECONDS (default 10)] [CLIENTS (default 32)] [PERSONS (default 2000)]
 *
 * Prints one JSON object per line.  Scratch data goes to a fresh
 * directory under $TMPDIR (default /tmp) and is removed at the end.
 */
#define _GNU_SOURCE
#include "huella/audit.h"
#include "huella/policy.h"
#include "huella/store.h"
#include "tls_client.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[512], cert[600], keyfile[600], audit_key[600], token[64];
static int port, n_persons;
static double seconds;
static atomic_bool stop;

typedef struct worker {
    int id;
    uint64_t ok, errors;
    uint64_t *lat_us; /* one per request */
    size_t n_lat, cap_lat;
    huella_store *store;
    huella_audit *audit;
} worker;

static void record(worker *w, uint64_t us)
{
    if (w->n_lat == w->cap_lat) {
        size_t cap = w->cap_lat ? 2 * w->cap_lat : 4096;
        uint64_t *nb = realloc(w->lat_us, cap * sizeof(uint64_t));
        if (nb == NULL)
            return;
        w->lat_us = nb;
        w->cap_lat = cap;
    }
    w->lat_us[w->n_lat++] = us;
}

static void *https_client(void *arg)
{
    worker *w = arg;
    tc_conn c;
    bool connected = false;
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    const char *hs[] = {auth, "Huella-Purpose: identification", "Huella-Legal-Basis: national-law",
                        NULL};
    unsigned seed = (unsigned)w->id * 7919u + 1;
    while (!atomic_load(&stop)) {
        if (!connected) {
            if (tc_connect(&c, port, cert) != 0) {
                w->errors++;
                continue;
            }
            connected = true;
        }
        char path[64];
        snprintf(path, sizeof(path), "/v1/persons/%d",
                 1 + (int)(rand_r(&seed) % (unsigned)n_persons));
        uint64_t t0 = huella_now_ns();
        tc_response r;
        if (tc_request(&c, "GET", path, hs, NULL, 0, &r) != 0) {
            w->errors++;
            tc_close(&c);
            connected = false;
            continue;
        }
        record(w, (huella_now_ns() - t0) / 1000);
        if (r.status == 200) {
            w->ok++;
        } else {
            if (w->errors++ == 0 && w->id == 0)
                fprintf(stderr, "bench_server: first error: %d %s\n", r.status, r.body);
        }
        free(r.body);
    }
    if (connected)
        tc_close(&c);
    return NULL;
}

static void *inprocess_client(void *arg)
{
    worker *w = arg;
    unsigned seed = (unsigned)w->id * 7919u + 1;
    while (!atomic_load(&stop)) {
        int64_t id = 1 + (int64_t)(rand_r(&seed) % (unsigned)n_persons);
        uint64_t t0 = huella_now_ns();
        char *json = NULL;
        huella_error err;
        huella_status st = huella_store_person_json(w->store, id, false, &json, &err);
        free(json);
        huella_audit_event ev = {
            "bench",       "operator", "bench", "identification", "national-law",
            "person.read", &id,        1,       "allowed",        ""};
        if (st == HUELLA_OK)
            st = huella_audit_append(w->audit, &ev, NULL, &err);
        record(w, (huella_now_ns() - t0) / 1000);
        if (st == HUELLA_OK)
            w->ok++;
        else
            w->errors++;
    }
    return NULL;
}

typedef struct result {
    double rps;
    uint64_t ok, errors;
    double p50_ms, p99_ms;
} result;

static result run(void *(*fn)(void *), int clients, huella_audit *audit)
{
    worker *w = calloc((size_t)clients, sizeof(worker));
    pthread_t *t = calloc((size_t)clients, sizeof(pthread_t));
    huella_error err;
    for (int i = 0; i < clients; i++) {
        w[i].id = i;
        w[i].audit = audit;
        if (fn == inprocess_client && huella_store_open(dir, &w[i].store, &err) != HUELLA_OK) {
            fprintf(stderr, "bench_server: %s\n", err.message);
            exit(3);
        }
    }
    atomic_store(&stop, false);
    uint64_t t0 = huella_now_ns();
    for (int i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, fn, &w[i]);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    double elapsed = (double)(huella_now_ns() - t0) / 1e9;
    result r = {0};
    size_t n = 0;
    for (int i = 0; i < clients; i++) {
        r.ok += w[i].ok;
        r.errors += w[i].errors;
        n += w[i].n_lat;
    }
    uint64_t *all = malloc((n ? n : 1) * sizeof(uint64_t));
    size_t k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, w[i].lat_us, w[i].n_lat * sizeof(uint64_t));
        k += w[i].n_lat;
        free(w[i].lat_us);
        huella_store_close(w[i].store);
    }
    tc_latency_quantiles(all, n, &r.p50_ms, &r.p99_ms);
    r.rps = (double)r.ok / elapsed;
    free(all);
    free(w);
    free(t);
    return r;
}

static void sh(const char *cmd)
{
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_server: failed: %s\n", cmd);
        exit(3);
    }
}

int main(int argc, char **argv)
{
    seconds = argc > 1 ? atof(argv[1]) : 10.0;
    int clients = argc > 2 ? atoi(argv[2]) : 32;
    n_persons = argc > 3 ? atoi(argv[3]) : 2000;
    if (seconds <= 0 || seconds > 120 || clients < 1 || clients > 256 || n_persons < 1) {
        fprintf(stderr, "usage: bench_server [SECONDS<=120] [CLIENTS<=256] [PERSONS]\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    gnutls_global_init();
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char base[400];
    snprintf(base, sizeof(base), "%s/bench_server.XXXXXX", tmp);
    if (mkdtemp(base) == NULL)
        return 3;
    snprintf(dir, sizeof(dir), "%s/db", base);
    snprintf(audit_key, sizeof(audit_key), "%s/audit.key", base);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s/scripts/make-cert' '%s/tls' >/dev/null", HUELLA_SOURCE_DIR,
             base);
    sh(cmd);
    snprintf(cert, sizeof(cert), "%s/tls/cert.pem", base);
    snprintf(keyfile, sizeof(keyfile), "%s/tls/key.pem", base);

    huella_error err;
    huella_store *s;
    huella_access *a;
    if (huella_store_init(dir, NULL, &err) != HUELLA_OK ||
        huella_audit_init(dir, audit_key, &err) != HUELLA_OK ||
        huella_access_open(dir, &a, &err) != HUELLA_OK ||
        huella_access_agency_add(a, "border", &err) != HUELLA_OK ||
        huella_access_user_add(a, "bench", "operator", "border", &err) != HUELLA_OK ||
        huella_access_token_new(a, "bench", "1d", token, &err) != HUELLA_OK ||
        huella_store_open(dir, &s, &err) != HUELLA_OK) {
        fprintf(stderr, "bench_server: %s\n", err.message);
        return 3;
    }
    huella_access_close(a);
    huella_store_begin(s, &err);
    huella_store_encounter enc = {NULL,           "site", "kit", "op", "identification",
                                  "national-law", NULL};
    for (int i = 0; i < n_persons; i++) {
        int64_t p, e;
        char bio[128];
        snprintf(bio, sizeof(bio), "{\"names\":[\"Person %d\"],\"date_of_birth\":\"19%02d\"}", i,
                 50 + i % 50);
        if (huella_store_person_create(s, &p, &err) != HUELLA_OK ||
            huella_store_person_set_agency(s, p, "border", &err) != HUELLA_OK ||
            huella_store_encounter_add(s, p, &enc, bio, &e, &err) != HUELLA_OK) {
            fprintf(stderr, "bench_server: %s\n", err.message);
            return 3;
        }
    }
    huella_store_commit(s, &err);
    huella_store_close(s);

    /* Baseline: in-process reads with durable audit appends. */
    huella_audit *audit;
    if (huella_audit_open(dir, NULL, &audit, &err) != HUELLA_OK) {
        fprintf(stderr, "bench_server: %s\n", err.message);
        return 3;
    }
    result base_r = run(inprocess_client, clients, audit);
    int64_t after_baseline = huella_audit_length(audit);
    huella_audit_close(audit);

    /* huellad over HTTPS. */
    port = tc_free_port();
    static const char *const quiet[] = {"--quiet", NULL};
    pid_t pid = tc_start_huellad(HUELLAD_BIN, dir, port, cert, keyfile, quiet, NULL, 10000);
    if (pid < 0) {
        fprintf(stderr, "bench_server: huellad did not start\n");
        return 3;
    }
    result r = run(https_client, clients, NULL);
    kill(pid, SIGTERM);
    int ws;
    waitpid(pid, &ws, 0);

    char *report = NULL;
    int64_t first = -1;
    int64_t records = -1;
    if (huella_audit_verify(dir, audit_key, &report, &first, &err) == HUELLA_OK) {
        json_t *o = json_loads(report, 0, NULL);
        records = json_integer_value(json_object_get(o, "records"));
        json_decref(o);
        free(report);
    }
    int64_t https_records = records - after_baseline;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("{\"bench\":\"server_inprocess_audited_reads\",\"clients\":%d,\"persons\":%d,"
           "\"seconds\":%.1f,\"ok\":%llu,\"errors\":%llu,\"per_second\":%.0f,\"p50_ms\":%.2f,"
           "\"p99_ms\":%.2f}\n",
           clients, n_persons, seconds, (unsigned long long)base_r.ok,
           (unsigned long long)base_r.errors, base_r.rps, base_r.p50_ms, base_r.p99_ms);
    printf("{\"bench\":\"server_https_audited_reads\",\"clients\":%d,\"persons\":%d,"
           "\"cores\":%ld,\"seconds\":%.1f,\"ok\":%llu,\"errors\":%llu,\"per_second\":%.0f,"
           "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"ratio_to_inprocess\":%.2f,"
           "\"audit_records_for_https\":%lld,\"every_request_audited\":%s,"
           "\"chain_verifies\":%s,\"huellad_exit\":%d}\n",
           clients, n_persons, cores, seconds, (unsigned long long)r.ok,
           (unsigned long long)r.errors, r.rps, r.p50_ms, r.p99_ms,
           base_r.rps > 0 ? r.rps / base_r.rps : 0.0, (long long)https_records,
           https_records >= (int64_t)(r.ok + 0) ? "true" : "false", first == 0 ? "true" : "false",
           WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    sh(cmd);
    gnutls_global_deinit();
    return 0;
}
