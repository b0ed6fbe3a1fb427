/*
 * bench_server_identify.c - identification over HTTPS against the same
 * identifications made in-process, in the same run (issue 11 target: with
 * 10,000 enrolled persons, POST /v1/identify from 16 concurrent clients
 * reaches at least 90 % of the in-process throughput with 0 errors).
 *
 * The store.  Base templates: huella's own extraction of the 320 FVC2002
 * DB1_B..DB4_B images of the development data.  Ten mate persons hold the
 * first impression of FVC2002 subject 101..110 (finger 2 from DB1_B,
 * finger 3 from DB3_B), perturbed (rotation +-20 degrees, translation
 * +-20 px, up to 10 % of the minutiae dropped, the rest jittered).  Every
 * other person has two synthetic fingers: each of the four quadrants of a
 * finger takes the minutiae of a different random base impression,
 * rotated (+-30 degrees) and translated (+-20 px), then 10 % dropped and
 * the rest jittered, so no two gallery fingers are the same finger and
 * none is a copy of a real one.
 *
 * The probes: impressions 2..8 of those subjects, the image files as they
 * are (TIFF), the two fingers in one request: 70 mated searches, used
 * round robin by every client.
 *
 * HTTPS: huellad (its defaults: one thread per core, galleries loaded from
 * the store at start) with CLIENTS keep-alive TLS clients (verifying the
 * certificate), each POSTing {"fingers":[{position, image: base64}]} to
 * /v1/identify with a purpose and legal basis; each answer is audited.
 * In-process: CLIENTS threads doing the same work without HTTP, TLS, JSON,
 * base64 or audit: huella_enrol_extract on the same image bytes,
 * huella_probe_from_enrol, huella_gallery_identify on a gallery loaded
 * from the same store with huella_gallery_load_store, and the candidates
 * as JSON (huella_candidates_json).  The two phases alternate ROUNDS times
 * (the machine is shared); the medians and their ratio are reported, with
 * CPU time per identification (huellad's own user+sys from /proc for
 * HTTPS, this process's for in-process), which the load of other jobs
 * does not change.
 *
 *   bench_server_identify [SECONDS per phase (5)] [CLIENTS (16)] [PERSONS (10000)] [ROUNDS (3)]
 *
 * One JSON object per line.  Scratch data under $TMPDIR (default /tmp),
 * removed at the end.
 */
#define _GNU_SOURCE
#include "huella/audit.h"
#include "huella/dedup.h"
#include "huella/finger.h"
#include "huella/gallery.h"
#include "huella/policy.h"
#include "huella/store.h"
#include "tls_client.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PI       3.14159265358979323846
#define N_SUBJ   10
#define N_IMPR   8
#define N_PROBES (N_SUBJ * (N_IMPR - 1))

static char dir[512], cert[600], keyfile[600], audit_key[600], token[64];
static int port, n_persons;
static double seconds;
static atomic_bool stop;

/* Probe i: subject 101 + i / 7, impression 2 + i % 7. */
static uint8_t *probe_img[N_PROBES][2];
static size_t probe_len[N_PROBES][2];
static char *probe_body[N_PROBES];
static int64_t mate_person[N_SUBJ];
static huella_gallery *gallery;

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(rnd(s) >> 11) / 9007199254740992.0;
}

static _Noreturn void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_server_identify: %s: %s\n", what, msg);
    exit(3);
}

static double cpu_self(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* user + sys seconds of another process (/proc/PID/stat fields 14, 15). */
static double cpu_of(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    unsigned long long ut = 0, st = 0;
    /* after ")": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- templates ---- */

static huella_finger_template *extract_one(const char *rel, unsigned position)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", HUELLA_DATA_DIR, rel);
    uint8_t *d;
    size_t len;
    huella_error err;
    if (huella_file_read(path, 0, &d, &len, &err) != HUELLA_OK)
        die(rel, err.message);
    huella_enrol_input in = {HUELLA_STORE_FINGER, position, rel, d, len};
    huella_enrol_request req = {&in, 1, 500, {0}, NULL, NULL};
    huella_enrol_result *res = NULL;
    huella_finger_template *t = NULL;
    if (huella_enrol_extract(&req, &res, &err) != HUELLA_OK ||
        huella_finger_template_decode(res->samples[0].tmpl, res->samples[0].tmpl_len, &t, &err) !=
            HUELLA_OK)
        die(rel, err.message);
    huella_enrol_result_free(res);
    free(d);
    return t;
}

/* Add m of b moved by (ang, tx, ty) about the centre, jittered, to out
 * when it lands in quadrant q (-1: anywhere) and inside the image. */
static void add_moved(huella_finger_template *out, const huella_minutia *m, double ang, double tx,
                      double ty, int q, uint64_t *rs)
{
    double cx = out->width / 2.0, cy = out->height / 2.0;
    double c = cos(ang), s = sin(ang), dx = m->x - cx, dy = m->y - cy;
    double x = cx + c * dx + s * dy + tx + unif(rs, -2, 2);
    double y = cy - s * dx + c * dy + ty + unif(rs, -2, 2);
    if (q >= 0 && ((x >= cx) != (bool)(q & 1) || (y >= cy) != (bool)((q >> 1) & 1)))
        return;
    if (x < 0 || y < 0 || x >= out->width || y >= out->height)
        return;
    double ang_dir = fmod(m->direction + ang + unif(rs, -0.1, 0.1) + 4 * PI, 2 * PI);
    if (!(ang_dir >= 0 && ang_dir < 2 * PI))
        ang_dir = 0;
    huella_minutia n = {(float)x, (float)y, (float)ang_dir, m->type, m->quality};
    if (n.direction >= (float)(2 * PI))
        n.direction = 0;
    if (out->n_minutiae < HUELLA_FINGER_MAX_MINUTIAE)
        huella_finger_template_add(out, &n, NULL);
}

/* A gallery finger: the mate (one base, perturbed) or synthetic (four). */
static uint8_t *make_finger(huella_finger_template *const *bases, size_t n_bases, bool mate,
                            unsigned position, uint64_t *rs, size_t *len)
{
    const huella_finger_template *b0 = bases[0];
    huella_finger_template *t;
    if (huella_finger_template_new(&t, NULL) != HUELLA_OK)
        return NULL;
    t->width = b0->width;
    t->height = b0->height;
    t->resolution_x = b0->resolution_x;
    t->resolution_y = b0->resolution_y;
    t->finger_position = (uint8_t)position;
    t->finger_quality = b0->finger_quality;
    for (int q = mate ? -1 : 0; q < (mate ? 0 : 4); q++) {
        const huella_finger_template *b = mate ? b0 : bases[rnd(rs) % n_bases];
        double lim = mate ? 20 : 30;
        double ang = unif(rs, -lim, lim) * PI / 180, tx = unif(rs, -20, 20), ty = unif(rs, -20, 20);
        double drop = mate ? unif(rs, 0, 0.10) : 0.10;
        for (size_t i = 0; i < b->n_minutiae; i++)
            if (unif(rs, 0, 1) >= drop)
                add_moved(t, &b->minutiae[i], ang, tx, ty, q, rs);
    }
    uint8_t *out = NULL;
    huella_status st = huella_finger_template_encode(t, &out, len, NULL);
    huella_finger_template_free(t);
    return st == HUELLA_OK ? out : NULL;
}

static void add_person(huella_store *s, uint8_t *f2, size_t l2, uint8_t *f3, size_t l3,
                       int64_t *pid)
{
    huella_error err;
    int64_t eid, sid;
    huella_store_encounter enc = {"2026-01-01T00:00:00Z", "bench",        "kit", "op",
                                  "identification",       "national-law", NULL};
    if (f2 == NULL || f3 == NULL)
        die("template", "could not be encoded");
    huella_store_template t2 = {HUELLA_STORE_TEMPLATE_FINGER, 1, f2, l2},
                          t3 = {HUELLA_STORE_TEMPLATE_FINGER, 1, f3, l3};
    huella_store_sample s2 = {HUELLA_STORE_FINGER, 2, 60, NULL, NULL, 0, &t2, 1},
                        s3 = {HUELLA_STORE_FINGER, 3, 60, NULL, NULL, 0, &t3, 1};
    if (huella_store_person_create(s, pid, &err) != HUELLA_OK ||
        huella_store_person_set_agency(s, *pid, "border", &err) != HUELLA_OK ||
        huella_store_encounter_add(s, *pid, &enc, "{\"date_of_birth\":\"1980\"}", &eid, &err) !=
            HUELLA_OK ||
        huella_store_sample_add(s, eid, &s2, &sid, &err) != HUELLA_OK ||
        huella_store_sample_add(s, eid, &s3, &sid, &err) != HUELLA_OK)
        die("store", err.message);
    free(f2);
    free(f3);
}

static double build_store(void)
{
    static const char *const dbs[4] = {"DB1_B", "DB2_B", "DB3_B", "DB4_B"};
    static huella_finger_template *bases[4 * N_SUBJ * N_IMPR];
    size_t nb = 0;
    double t0 = (double)huella_now_ns() / 1e9;
    for (int d = 0; d < 4; d++)
        for (int f = 0; f < N_SUBJ; f++)
            for (int i = 1; i <= N_IMPR; i++) {
                char rel[128];
                snprintf(rel, sizeof(rel), "finger/fvc2002/%s/%d_%d.tif", dbs[d], 101 + f, i);
                bases[nb++] = extract_one(rel, 2);
            }
    huella_error err;
    huella_store *s;
    if (huella_store_open(dir, &s, &err) != HUELLA_OK)
        die(dir, err.message);
    uint64_t seed = 20261126;
    /* Mates first, then the others in batches of 500 per transaction. */
    huella_store_begin(s, &err);
    for (int f = 0; f < N_SUBJ; f++) {
        size_t l2, l3;
        huella_finger_template *b2 = bases[(0 * N_SUBJ + f) * N_IMPR],
                               *b3 = bases[(2 * N_SUBJ + f) * N_IMPR];
        uint8_t *f2 = make_finger(&b2, 1, true, 2, &seed, &l2);
        uint8_t *f3 = make_finger(&b3, 1, true, 3, &seed, &l3);
        add_person(s, f2, l2, f3, l3, &mate_person[f]);
    }
    for (int p = N_SUBJ; p < n_persons; p++) {
        size_t l2, l3;
        int64_t pid;
        uint8_t *f2 = make_finger(bases, nb, false, 2, &seed, &l2);
        uint8_t *f3 = make_finger(bases, nb, false, 3, &seed, &l3);
        add_person(s, f2, l2, f3, l3, &pid);
        if (p % 500 == 499) {
            if (huella_store_commit(s, &err) != HUELLA_OK ||
                huella_store_begin(s, &err) != HUELLA_OK)
                die("store", err.message);
        }
    }
    if (huella_store_commit(s, &err) != HUELLA_OK)
        die("store", err.message);
    huella_store_close(s);
    for (size_t i = 0; i < nb; i++)
        huella_finger_template_free(bases[i]);
    return (double)huella_now_ns() / 1e9 - t0;
}

static char *b64(const uint8_t *d, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *o = malloc(cap);
    if (o == NULL)
        die("base64", "out of memory");
    sodium_bin2base64(o, cap, d, len, sodium_base64_VARIANT_ORIGINAL);
    return o;
}

static void load_probes(void)
{
    for (int i = 0; i < N_PROBES; i++) {
        int subj = 101 + i / (N_IMPR - 1), imp = 2 + i % (N_IMPR - 1);
        const char *db[2] = {"DB1_B", "DB3_B"};
        char *enc[2];
        for (int k = 0; k < 2; k++) {
            char path[600];
            snprintf(path, sizeof(path), "%s/finger/fvc2002/%s/%d_%d.tif", HUELLA_DATA_DIR, db[k],
                     subj, imp);
            huella_error err;
            if (huella_file_read(path, 0, &probe_img[i][k], &probe_len[i][k], &err) != HUELLA_OK)
                die(path, err.message);
            enc[k] = b64(probe_img[i][k], probe_len[i][k]);
        }
        size_t cap = strlen(enc[0]) + strlen(enc[1]) + 256;
        probe_body[i] = malloc(cap);
        snprintf(probe_body[i], cap,
                 "{\"fingers\":[{\"position\":2,\"image\":\"%s\",\"ppi\":500},"
                 "{\"position\":3,\"image\":\"%s\",\"ppi\":500}]}",
                 enc[0], enc[1]);
        free(enc[0]);
        free(enc[1]);
    }
}

/* ---- the load ---- */

typedef struct worker {
    int id;
    uint64_t ok, errors, rank1, mated;
    uint64_t *lat_us;
    size_t n_lat, cap_lat;
    huella_store *store;
} worker;

static void record(worker *w, uint64_t us)
{
    if (w->n_lat == w->cap_lat) {
        size_t cap = w->cap_lat ? 2 * w->cap_lat : 1024;
        uint64_t *nb = realloc(w->lat_us, cap * sizeof(uint64_t));
        if (nb == NULL)
            return;
        w->lat_us = nb;
        w->cap_lat = cap;
    }
    w->lat_us[w->n_lat++] = us;
}

static void count_rank1(worker *w, int probe, int64_t top)
{
    w->mated++;
    if (top == mate_person[probe / (N_IMPR - 1)])
        w->rank1++;
}

static void *https_client(void *arg)
{
    worker *w = arg;
    tc_conn c;
    bool connected = false;
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    const char *hs[] = {auth, "Huella-Purpose: identification", "Huella-Legal-Basis: national-law",
                        "Content-Type: application/json", NULL};
    int i = w->id;
    while (!atomic_load(&stop)) {
        if (!connected) {
            if (tc_connect(&c, port, cert) != 0) {
                w->errors++;
                continue;
            }
            connected = true;
        }
        int probe = i++ % N_PROBES;
        uint64_t t0 = huella_now_ns();
        tc_response r;
        if (tc_request(&c, "POST", "/v1/identify", hs, probe_body[probe], strlen(probe_body[probe]),
                       &r) != 0) {
            w->errors++;
            tc_close(&c);
            connected = false;
            continue;
        }
        record(w, (huella_now_ns() - t0) / 1000);
        if (r.status == 200) {
            w->ok++;
            json_t *o = json_loads(r.body, 0, NULL);
            count_rank1(w, probe,
                        json_integer_value(json_object_get(
                            json_array_get(json_object_get(o, "candidates"), 0), "person_id")));
            json_decref(o);
        } else if (w->errors++ == 0) {
            fprintf(stderr, "bench_server_identify: first error: %d %.300s\n", r.status, r.body);
        }
        free(r.body);
    }
    if (connected)
        tc_close(&c);
    return NULL;
}

static pthread_rwlock_t gallery_lock = PTHREAD_RWLOCK_INITIALIZER;

static void *inprocess_client(void *arg)
{
    worker *w = arg;
    int i = w->id;
    while (!atomic_load(&stop)) {
        int probe = i++ % N_PROBES;
        uint64_t t0 = huella_now_ns();
        huella_enrol_input in[2] = {
            {HUELLA_STORE_FINGER, 2, "finger 2", probe_img[probe][0], probe_len[probe][0]},
            {HUELLA_STORE_FINGER, 3, "finger 3", probe_img[probe][1], probe_len[probe][1]}};
        huella_enrol_request req = {in, 2, 500, {0}, NULL, NULL};
        huella_enrol_result *res = NULL;
        huella_probe_set *ps = NULL;
        huella_identify_result *r = NULL;
        huella_identify_options io = {0};
        huella_error err;
        char *cj = NULL;
        huella_status st = huella_enrol_extract(&req, &res, &err);
        if (st == HUELLA_OK)
            st = huella_probe_from_enrol(res, &ps, &err);
        if (st == HUELLA_OK) {
            pthread_rwlock_rdlock(&gallery_lock);
            st = huella_gallery_identify(gallery, &ps->probe, &io, &r, &err);
            pthread_rwlock_unlock(&gallery_lock);
        }
        /* The store is read for each candidate's juvenile flag, as huellad does. */
        bool *juv = r != NULL ? calloc(r->n + 1, sizeof(bool)) : NULL;
        for (size_t k = 0; st == HUELLA_OK && juv != NULL && k < r->n; k++)
            if (huella_store_person_juvenile(w->store, (int64_t)r->candidates[k].person, &juv[k],
                                             NULL) != HUELLA_OK)
                juv[k] = false;
        if (st == HUELLA_OK)
            st = huella_candidates_json(r, juv, &cj, &err);
        record(w, (huella_now_ns() - t0) / 1000);
        if (st == HUELLA_OK) {
            w->ok++;
            count_rank1(w, probe, r->n > 0 ? (int64_t)r->candidates[0].person : 0);
        } else if (w->errors++ == 0) {
            fprintf(stderr, "bench_server_identify: in-process error: %s\n", err.message);
        }
        free(juv);
        free(cj);
        huella_identify_result_free(r);
        huella_probe_set_free(ps);
        huella_enrol_result_free(res);
    }
    return NULL;
}

typedef struct result {
    double rps, p50_ms, p99_ms, cpu_ms, client_cpu_ms;
    uint64_t ok, errors, rank1, mated;
} result;

static result run(void *(*fn)(void *), int clients, pid_t server)
{
    worker *w = calloc((size_t)clients, sizeof(worker));
    pthread_t *t = calloc((size_t)clients, sizeof(pthread_t));
    huella_error err;
    for (int i = 0; i < clients; i++) {
        w[i].id = i;
        if (fn == inprocess_client && huella_store_open(dir, &w[i].store, &err) != HUELLA_OK)
            die(dir, err.message);
    }
    atomic_store(&stop, false);
    double c0 = cpu_self(), s0 = server > 0 ? cpu_of(server) : 0;
    uint64_t t0 = huella_now_ns();
    for (int i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, fn, &w[i]);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    double elapsed = (double)(huella_now_ns() - t0) / 1e9;
    double c1 = cpu_self(), s1 = server > 0 ? cpu_of(server) : 0;
    result r = {0};
    size_t n = 0;
    for (int i = 0; i < clients; i++) {
        r.ok += w[i].ok;
        r.errors += w[i].errors;
        r.rank1 += w[i].rank1;
        r.mated += w[i].mated;
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
    double ok = r.ok ? (double)r.ok : 1;
    if (server > 0) {
        r.cpu_ms = (s1 - s0) * 1000 / ok;
        r.client_cpu_ms = (c1 - c0) * 1000 / ok;
    } else {
        r.cpu_ms = (c1 - c0) * 1000 / ok;
    }
    free(all);
    free(w);
    free(t);
    return r;
}

static void sh(const char *cmd)
{
    if (system(cmd) != 0)
        die("failed", cmd);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_phase(const char *name, int round, int clients, const result *r)
{
    printf("{\"bench\":\"%s\",\"round\":%d,\"clients\":%d,\"persons\":%d,\"seconds\":%.1f,"
           "\"ok\":%llu,\"errors\":%llu,\"per_second\":%.2f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,"
           "\"cpu_ms_per_identification\":%.1f",
           name, round, clients, n_persons, seconds, (unsigned long long)r->ok,
           (unsigned long long)r->errors, r->rps, r->p50_ms, r->p99_ms, r->cpu_ms);
    if (r->client_cpu_ms > 0)
        printf(",\"client_cpu_ms_per_request\":%.1f", r->client_cpu_ms);
    printf(",\"rank1\":%llu,\"mated_searches\":%llu}\n", (unsigned long long)r->rank1,
           (unsigned long long)r->mated);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    seconds = argc > 1 ? atof(argv[1]) : 5.0;
    int clients = argc > 2 ? atoi(argv[2]) : 16;
    n_persons = argc > 3 ? atoi(argv[3]) : 10000;
    int rounds = argc > 4 ? atoi(argv[4]) : 3;
    if (seconds <= 0 || seconds > 60 || clients < 1 || clients > 256 || n_persons < N_SUBJ ||
        n_persons > 200000 || rounds < 1 || rounds > 9) {
        fprintf(stderr, "usage: bench_server_identify [SECONDS<=60] [CLIENTS<=256] "
                        "[PERSONS 10..200000] [ROUNDS 1..9]\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    gnutls_global_init();
    if (sodium_init() < 0)
        return 3;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char base[400];
    snprintf(base, sizeof(base), "%s/bench_server_identify.XXXXXX", tmp);
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
    huella_access *a = NULL;
    if (huella_store_init(dir, NULL, &err) != HUELLA_OK ||
        huella_audit_init(dir, audit_key, &err) != HUELLA_OK ||
        huella_access_open(dir, &a, &err) != HUELLA_OK ||
        huella_access_agency_add(a, "border", &err) != HUELLA_OK ||
        huella_access_user_add(a, "bench", "operator", "border", &err) != HUELLA_OK ||
        huella_access_token_new(a, "bench", "1d", token, &err) != HUELLA_OK)
        die(dir, err.message);
    huella_access_close(a);
    double build_s = build_store();
    load_probes();

    /* The in-process gallery, loaded as huellad loads its own. */
    huella_store *s;
    huella_gallery_load_stats gls = {0};
    if (huella_store_open(dir, &s, &err) != HUELLA_OK ||
        huella_gallery_new(&gallery, &err) != HUELLA_OK ||
        huella_gallery_load_store(s, gallery, 0, &gls, &err) != HUELLA_OK)
        die("gallery", err.message);
    huella_store_close(s);
    printf("{\"bench\":\"server_identify_setup\",\"persons\":%d,\"gallery_persons\":%zu,"
           "\"build_s\":%.1f,\"gallery_load_s\":%.2f,\"probes\":%d}\n",
           n_persons, huella_gallery_count(gallery), build_s, gls.seconds, N_PROBES);
    fflush(stdout);

    int64_t chain0 = -1;
    {
        huella_audit *au;
        /* The chain's length before huellad starts. */
        if (huella_audit_open(dir, NULL, &au, &err) == HUELLA_OK) {
            chain0 = huella_audit_length(au);
            huella_audit_close(au);
        }
    }

    port = tc_free_port();
    static const char *const quiet[] = {"--quiet", NULL};
    pid_t pid = tc_start_huellad(HUELLAD_BIN, dir, port, cert, keyfile, quiet, NULL, 60000);
    if (pid < 0)
        die("huellad", "did not start");
    double rps_in[9], rps_https[9], ratios[9], cpu_in[9], cpu_https[9];
    result last_in = {0}, last_https = {0};
    uint64_t https_ok = 0, errors = 0;
    for (int k = 0; k < rounds; k++) {
        result ri = run(inprocess_client, clients, 0);
        print_phase("identify_inprocess", k + 1, clients, &ri);
        result rh = run(https_client, clients, pid);
        print_phase("identify_https", k + 1, clients, &rh);
        rps_in[k] = ri.rps;
        rps_https[k] = rh.rps;
        ratios[k] = ri.rps > 0 ? rh.rps / ri.rps : 0;
        cpu_in[k] = ri.cpu_ms;
        cpu_https[k] = rh.cpu_ms;
        https_ok += rh.ok;
        errors += ri.errors + rh.errors;
        last_in = ri;
        last_https = rh;
    }
    kill(pid, SIGTERM);
    int ws;
    waitpid(pid, &ws, 0);

    char *report = NULL;
    int64_t first = -1, records = -1;
    if (huella_audit_verify(dir, audit_key, &report, &first, &err) == HUELLA_OK) {
        json_t *o = json_loads(report, 0, NULL);
        records = json_integer_value(json_object_get(o, "records"));
        json_decref(o);
        free(report);
    }
    double m_in = median(rps_in, rounds), m_https = median(rps_https, rounds);
    double m_cpu_in = median(cpu_in, rounds), m_cpu_https = median(cpu_https, rounds);
    double m_ratio = median(ratios, rounds);
    printf("{\"bench\":\"server_identify\",\"persons\":%d,\"clients\":%d,\"rounds\":%d,"
           "\"seconds_per_phase\":%.1f,\"cores\":%ld,"
           "\"inprocess_per_second\":%.2f,\"https_per_second\":%.2f,"
           "\"ratio_of_medians\":%.3f,\"median_of_round_ratios\":%.3f,"
           "\"inprocess_p50_ms\":%.1f,\"inprocess_p99_ms\":%.1f,"
           "\"https_p50_ms\":%.1f,\"https_p99_ms\":%.1f,"
           "\"inprocess_cpu_ms\":%.1f,\"huellad_cpu_ms\":%.1f,\"cpu_ratio\":%.3f,"
           "\"errors\":%llu,\"audit_records_for_https\":%lld,\"every_request_audited\":%s,"
           "\"chain_verifies\":%s,\"huellad_exit\":%d}\n",
           n_persons, clients, rounds, seconds, sysconf(_SC_NPROCESSORS_ONLN), m_in, m_https,
           m_in > 0 ? m_https / m_in : 0.0, m_ratio, last_in.p50_ms, last_in.p99_ms,
           last_https.p50_ms, last_https.p99_ms, m_cpu_in, m_cpu_https,
           m_cpu_https > 0 ? m_cpu_in / m_cpu_https : 0.0, (unsigned long long)errors,
           (long long)(records - chain0), records - chain0 >= (int64_t)https_ok ? "true" : "false",
           first == 0 ? "true" : "false", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    for (int i = 0; i < N_PROBES; i++) {
        free(probe_img[i][0]);
        free(probe_img[i][1]);
        free(probe_body[i]);
    }
    huella_gallery_free(gallery);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    sh(cmd);
    gnutls_global_deinit();
    return 0;
}
