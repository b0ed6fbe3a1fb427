/*
 * bench_store_load.c - how fast the galleries can be loaded from the
 * encrypted store (target: one million persons within 30 s).
 *
 * Builds a store of N persons, each with one encounter (biographic data
 * with a name and a date of birth), ten fingers and two irises, without
 * images (images are never read by the bulk load; they only add disk).
 * The templates are derived from real ones, never copied: the finger
 * templates are the SecuGen ISO records of the FVC2002 B sets (320 real
 * prints) in huella's template format, each gallery template rotated
 * (+-20 deg), translated (+-20 px), with 0-15 % of its minutiae dropped and
 * the rest jittered (+-2 px, +-0.1 rad); the iris templates are
 * huella_iris_encode of the first image of CASIA-v1 eyes, each gallery
 * template rotated by -8..+8 positions with 2-12 % of its code bits
 * flipped.
 *
 * Then it reopens the store and times huella_store_foreach_template for
 * fingers and irises: the scan alone, and the scan with every template
 * decoded (huella_finger_template_decode / huella_iris_template_decode,
 * what a gallery loader does first).  Baseline: the same rows read with a
 * plain SQL scan and no decryption, so the ratio is the cost of the
 * encryption and of the store's bookkeeping.  Reports persons per second,
 * the time extrapolated to one million persons (linear: the scan is one
 * ordered pass), disk bytes per person, and template bytes per person
 * (what the decoded templates occupy before a gallery packs them).
 * The page cache is warm (the store was just written); a cold start adds
 * reading the file (about 5 KB per person here) from disk.
 *
 * End to end (store -> gallery): huella_gallery_load_store fills a
 * gallery from the store with 1 thread and then with one per core, which
 * is what `huella identify` and `huella enrol` do at start; reported with
 * persons per second, the extrapolation to one million persons and the
 * gallery's bytes per person (huella_gallery_bytes_per_person) and the
 * growth of the resident set per person.  The 1-thread load is the
 * baseline of the ratio.
 *
 * Since the gallery forms (src/store/gallery_form.c): after building,
 * the bench writes every person's form (huella_store_gallery_refresh,
 * timed: the one-off migration of a store made before them) and times
 * the load from the forms with 1 thread and with one per core.  With
 * --baseline it first times the load without forms (every template
 * decrypted, decoded and prepared: the previous path), the baseline of
 * the ratio; --scan adds the bare template scans above.
 *
 * Then the gallery snapshot (src/store/gallery_snapshot.c): written
 * (timed) unless the store has one, and the load from it with one thread
 * per core, whose baseline is the load from the database's forms with as
 * many threads (a snapshot of a reused store is moved aside for those).
 *
 * --forms-at-build writes each person's form as it is built
 * (huella_store_gallery_update, as enrolment does), instead of the
 * separate pass; --irises-only builds persons with two irises and no
 * fingers (the two-iris gallery of a million persons fits in memory here,
 * the ten-finger one does not: 37 KB per person).
 *
 * --load-only THREADS (0 = one per core) is the honest measurement: the
 * existing store in DIR is loaded once, with THREADS workers, in this
 * fresh process (a cold heap: nothing was allocated and freed before, so
 * every page of the gallery is a first touch), and nothing else runs;
 * the line reports wall, user and system CPU seconds of the load
 * (getrusage), the page faults it took, the process's peak resident set
 * (ru_maxrss, which here is the load's; the resident set before the load
 * is given beside it, and after it the anonymous part per person and the
 * file pages, SQLite's memory map of the database, from /proc/self/status) and the gallery's bytes
 * per person, with the part the templates of each modality hold (huella_gallery_bytes_modality).
 * The seconds per million persons are extrapolated linearly from the store's size and say so
 * ("extrapolated": true).  Run it in separate processes for 1 and 2 threads, alternating, and take
 * medians. Whether the store's file is in the page cache is the caller's matter (the line says how
 * many bytes were read from disk: ru_inblock).
 *
 * usage: bench_store_load [PERSONS [DIR]] [--scan] [--baseline]
 *                         [--forms-at-build] [--irises-only]
 *        bench_store_load --load-only THREADS DIR [--drop-page-cache]
 *        (default 10000, a temp dir, removed afterwards unless DIR is
 *        given; an existing store in DIR is reused)
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/dedup.h"
#include "huella/finger.h"
#include "huella/gallery.h"
#include "huella/image.h"
#include "huella/iris.h"
#include "huella/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FINGER_BASE 400
#define MAX_IRIS_BASE   40
#define PI              3.14159265358979323846

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next(s) >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
    return (double)huella_now_ns() / 1e9;
}

/* CPU time of this process: the fair measure on a machine shared with
 * other jobs (wall time is reported too). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t load_fingers(huella_finger_template **base)
{
    static const char *const dbs[4] = {"DB1_B", "DB2_B", "DB3_B", "DB4_B"};
    size_t n = 0;
    for (int d = 0; d < 4; d++)
        for (int f = 101; f <= 110; f++)
            for (int i = 1; i <= 8 && n < MAX_FINGER_BASE; i++) {
                char path[512];
                snprintf(path, sizeof(path), "%s/finger/fvc2002/%s/%d_%d.iso", HUELLA_DATA_DIR,
                         dbs[d], f, i);
                uint8_t *data;
                size_t len;
                if (huella_file_read(path, 0, &data, &len, NULL) != HUELLA_OK)
                    continue;
                if (huella_finger_template_load(data, len, &base[n], NULL) == HUELLA_OK &&
                    base[n]->n_minutiae >= 8)
                    n++;
                else
                    huella_finger_template_free(base[n]);
                free(data);
            }
    return n;
}

static size_t load_irises(huella_iris_template **base)
{
    size_t n = 0;
    for (int e = 1; e <= 108 && n < MAX_IRIS_BASE; e++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/iris/casia-v1/%d/%03d_1_1.jpg", HUELLA_DATA_DIR, e, e);
        huella_image *img = NULL;
        if (huella_image_read(path, NULL, &img, NULL) == HUELLA_OK &&
            huella_iris_encode(img, NULL, &base[n], NULL) == HUELLA_OK)
            n++;
        huella_image_free(img);
    }
    return n;
}

/* A new finger template: base rotated, translated, thinned, jittered. */
static uint8_t *perturb_finger(const huella_finger_template *b, unsigned position, uint64_t *s,
                               size_t *len)
{
    huella_finger_template *t = NULL;
    if (huella_finger_template_new(&t, NULL) != HUELLA_OK)
        return NULL;
    t->width = b->width;
    t->height = b->height;
    t->resolution_x = b->resolution_x;
    t->resolution_y = b->resolution_y;
    t->finger_position = (uint8_t)position;
    t->finger_quality = b->finger_quality;
    double a = uniform(s, -0.35, 0.35), dx = uniform(s, -20, 20), dy = uniform(s, -20, 20);
    double drop = uniform(s, 0, 0.15);
    double cx = b->width / 2.0, cy = b->height / 2.0;
    for (size_t i = 0; i < b->n_minutiae; i++) {
        if (uniform(s, 0, 1) < drop)
            continue;
        const huella_minutia *m = &b->minutiae[i];
        double x = m->x - cx, y = m->y - cy;
        /* y grows downward: a counterclockwise turn as seen is -a in these axes. */
        double xr = cos(a) * x + sin(a) * y + cx + dx + uniform(s, -2, 2);
        double yr = -sin(a) * x + cos(a) * y + cy + dy + uniform(s, -2, 2);
        double dir = fmod(m->direction + a + uniform(s, -0.1, 0.1) + 4 * PI, 2 * PI);
        if (xr < 0 || yr < 0 || xr >= b->width || yr >= b->height)
            continue;
        if (!(dir >= 0 && dir < 2 * PI))
            dir = 0;
        huella_minutia nm = {(float)xr, (float)yr, (float)dir, m->type, m->quality};
        if (nm.direction >= (float)(2 * PI))
            nm.direction = 0;
        huella_finger_template_add(t, &nm, NULL);
    }
    uint8_t *out = NULL;
    huella_status st = huella_finger_template_encode(t, &out, len, NULL);
    huella_finger_template_free(t);
    return st == HUELLA_OK ? out : NULL;
}

static unsigned get_bit(const uint8_t *p, unsigned k)
{
    return (p[k / 8] >> (k % 8)) & 1u;
}

static void set_bit(uint8_t *p, unsigned k, unsigned v)
{
    p[k / 8] = (uint8_t)((p[k / 8] & ~(1u << (k % 8))) | (v << (k % 8)));
}

static uint8_t *perturb_iris(const huella_iris_template *b, uint64_t *s, size_t *len)
{
    huella_iris_template t = *b;
    int shift = (int)(next(s) % 17) - 8;
    for (unsigned r = 0; r < HUELLA_IRIS_ROWS; r++)
        for (unsigned c = 0; c < HUELLA_IRIS_COLS; c++)
            for (unsigned k = 0; k < 2; k++) {
                unsigned from = r * 256 + 2 * ((c + (unsigned)(shift + 128)) % 128) + k;
                unsigned to = r * 256 + 2 * c + k;
                set_bit(t.code.code, to, get_bit(b->code.code, from));
                set_bit(t.code.mask, to, get_bit(b->code.mask, from));
            }
    double p = uniform(s, 0.02, 0.12);
    for (unsigned k = 0; k < HUELLA_IRIS_CODE_BITS; k++)
        if (uniform(s, 0, 1) < p)
            set_bit(t.code.code, k, get_bit(t.code.code, k) ^ 1u);
    uint8_t *out = NULL;
    return huella_iris_template_encode(&t, &out, len, NULL) == HUELLA_OK ? out : NULL;
}

static const char *const given[] = {"Ana",   "Omar",  "Li",    "Fatima", "Ivan", "Maria",
                                    "Kwame", "Sofia", "Yusuf", "Elena",  "Chen", "Amina"};
static const char *const family[] = {"Garcia",    "Haddad", "Wang",   "Okafor", "Petrov",
                                     "Rodriguez", "Nguyen", "Mensah", "Kaya",   "Silva"};

static int build(const char *dir, long persons, huella_finger_template **fb, size_t nf,
                 huella_iris_template **ib, size_t ni, unsigned fingers, bool forms)
{
    huella_error err;
    huella_store *s = NULL;
    if (huella_store_open(dir, &s, &err) != HUELLA_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    uint64_t seed = 42;
    double t0 = now_s();
    huella_status st = HUELLA_OK;
    for (long p = 0; p < persons && st == HUELLA_OK; p++) {
        if (p % 500 == 0)
            st = huella_store_begin(s, &err);
        int64_t pid = 0, eid = 0, sid = 0;
        if (st == HUELLA_OK)
            st = huella_store_person_create(s, &pid, &err);
        char bio[160];
        snprintf(bio, sizeof(bio),
                 "{\"names\":[\"%s %s\"],\"date_of_birth\":\"%d\",\"sex\":\"%s\"}",
                 given[next(&seed) % 12], family[next(&seed) % 10], 1950 + (int)(next(&seed) % 60),
                 next(&seed) % 2 ? "F" : "M");
        huella_store_encounter enc = {
            "2026-01-01T00:00:00Z", "bench", "dev", "op", "bench", "bench", NULL};
        if (st == HUELLA_OK)
            st = huella_store_encounter_add(s, pid, &enc, bio, &eid, &err);
        for (unsigned f = 1; f <= fingers && st == HUELLA_OK; f++) {
            size_t len;
            uint8_t *t = perturb_finger(fb[next(&seed) % nf], f, &seed, &len);
            huella_store_template tt = {HUELLA_STORE_TEMPLATE_FINGER, 1, t, len};
            huella_store_sample smp = {HUELLA_STORE_FINGER, f, 60, NULL, NULL, 0, &tt, 1};
            st = t != NULL ? huella_store_sample_add(s, eid, &smp, &sid, &err) : HUELLA_E_INTERNAL;
            free(t);
        }
        for (unsigned e = 1; e <= 2 && st == HUELLA_OK; e++) {
            size_t len;
            uint8_t *t = perturb_iris(ib[next(&seed) % ni], &seed, &len);
            huella_store_template tt = {HUELLA_STORE_TEMPLATE_IRIS, 1, t, len};
            huella_store_sample smp = {HUELLA_STORE_IRIS, e, 80, NULL, NULL, 0, &tt, 1};
            st = t != NULL ? huella_store_sample_add(s, eid, &smp, &sid, &err) : HUELLA_E_INTERNAL;
            free(t);
        }
        if (st == HUELLA_OK && forms)
            st = huella_store_gallery_update(s, pid, &err);
        if (st == HUELLA_OK && (p % 500 == 499 || p == persons - 1))
            st = huella_store_commit(s, &err);
    }
    double t1 = now_s();
    huella_store_close(s);
    if (st != HUELLA_OK) {
        fprintf(stderr, "build: %s\n", err.message);
        return 1;
    }
    printf("{\"bench\":\"store_build\",\"persons\":%ld,\"fingers\":%u,\"irises\":2,"
           "\"forms_written\":%s,\"seconds\":%.2f,\"persons_per_s\":%.0f}\n",
           persons, fingers, forms ? "true" : "false", t1 - t0, persons / (t1 - t0));
    fflush(stdout);
    return 0;
}

typedef struct load_ctx {
    bool decode;
    size_t templates, bytes;
    int64_t last_person;
    size_t persons;
    huella_status st;
} load_ctx;

static huella_status on_finger(void *ctx, int64_t person, int64_t sample, unsigned position,
                               const uint8_t *t, size_t len)
{
    (void)sample;
    (void)position;
    load_ctx *c = ctx;
    c->templates++;
    c->bytes += len;
    if (person != c->last_person) {
        c->persons++;
        c->last_person = person;
    }
    if (c->decode) {
        huella_finger_template *f = NULL;
        huella_status st = huella_finger_template_decode(t, len, &f, NULL);
        huella_finger_template_free(f);
        return st;
    }
    return HUELLA_OK;
}

static huella_status on_iris(void *ctx, int64_t person, int64_t sample, unsigned position,
                             const uint8_t *t, size_t len)
{
    (void)sample;
    (void)position;
    load_ctx *c = ctx;
    c->templates++;
    c->bytes += len;
    if (person != c->last_person) {
        c->persons++;
        c->last_person = person;
    }
    if (c->decode) {
        huella_iris_template *r = NULL;
        huella_status st = huella_iris_template_decode(t, len, &r, NULL);
        huella_iris_template_free(r);
        return st;
    }
    return HUELLA_OK;
}

/* Baseline: the same rows through plain SQL, no decryption. */
static double raw_scan(const char *dir, int modality, size_t *rows)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/huella.db", dir);
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db,
                       "SELECT person_id, id, position, templates FROM sample INDEXED BY"
                       " sample_scan WHERE modality = ?1 ORDER BY person_id, id",
                       -1, &q, NULL);
    sqlite3_bind_int(q, 1, modality);
    double t0 = now_s();
    size_t n = 0, sum = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        n++;
        sum += (size_t)sqlite3_column_bytes(q, 3);
    }
    double t = now_s() - t0;
    sqlite3_finalize(q);
    sqlite3_close(db);
    *rows = n + (sum == 0);
    return t;
}

static off_t file_size(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : 0;
}

static void remove_store(const char *dir)
{
    static const char *const names[4] = {"huella.db", "huella.db-wal", "huella.db-shm",
                                         "master.key"};
    for (int i = 0; i < 4; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* store -> gallery with `threads` workers; prints one line and returns
 * the wall seconds (negative on failure).  Every load after the first in
 * a process runs on a heap the earlier ones grew and freed, so it pays
 * few of the page faults a fresh process pays: its line says
 * "heap":"reused", and it is not a measure of a start (--load-only is). */
static int loads_in_process;

static double load_once(const char *dir, unsigned threads, const char *what, double base_s,
                        size_t *persons_out)
{
    huella_error err;
    huella_store *s = NULL;
    if (huella_store_open(dir, &s, &err) != HUELLA_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    huella_gallery *g = NULL;
    if (huella_gallery_new(&g, &err) != HUELLA_OK) {
        huella_store_close(s);
        return -1;
    }
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    huella_gallery_load_stats ls;
    double ca = cpu_s();
    huella_status st = huella_gallery_load_store(s, g, threads, &ls, &err);
    double ct = cpu_s() - ca;
    getrusage(RUSAGE_SELF, &r1);
    if (st != HUELLA_OK) {
        fprintf(stderr, "gallery load: %s\n", err.message);
        huella_gallery_free(g);
        huella_store_close(s);
        return -1;
    }
    double n = ls.persons > 0 ? (double)ls.persons : 1.0;
    printf("{\"bench\":\"store_to_gallery\",\"path\":\"%s\",\"heap\":\"%s\",\"threads\":%u,"
           "\"persons\":%zu,"
           "\"persons_from_forms\":%zu,\"persons_rebuilt\":%zu,"
           "\"persons_from_snapshot\":%zu,\"snapshot\":\"%s\","
           "\"finger_templates\":%zu,\"iris_templates\":%zu,\"face_templates\":%zu,"
           "\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"persons_per_s\":%.0f,"
           "\"seconds_for_1M_persons\":%.1f,\"cpu_seconds_for_1M_persons\":%.1f,"
           "\"target_seconds_for_1M\":30,\"gallery_bytes_per_person\":%.0f,"
           "\"ratio_to_baseline\":%.3f,\"max_rss_kb\":%ld}\n",
           what, loads_in_process++ == 0 ? "fresh" : "reused", ls.threads, ls.persons,
           ls.persons_from_forms, ls.persons_rebuilt, ls.persons_from_snapshot, ls.snapshot,
           ls.finger_templates, ls.iris_templates, ls.face_templates, ls.seconds, ct,
           n / ls.seconds, ls.seconds * 1e6 / n, ct * 1e6 / n, huella_gallery_bytes_per_person(g),
           base_s > 0 ? ls.seconds / base_s : 1.0, r1.ru_maxrss);
    fflush(stdout);
    if (persons_out != NULL)
        *persons_out = ls.persons;
    huella_gallery_free(g);
    huella_store_close(s);
    return ls.seconds;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Ask the kernel to forget the cached pages of the store's files (clean
 * pages only: nothing is written), so that the load reads them from disk
 * as it does after a reboot. */
static void drop_page_cache(const char *dir)
{
    static const char *const names[2] = {"huella.db", "huella.db-wal"};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

/* A "Name:   N kB" line of /proc/self/status in bytes (Linux; -1
 * elsewhere). */
static double proc_status_bytes(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    double v = -1;
    size_t n = strlen(name);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            v = atof(line + n + 1) * 1024.0;
            break;
        }
    fclose(f);
    return v;
}

/* One load in this fresh process, nothing before it (see the header). */
static int load_only(const char *dir, unsigned threads, bool cold_cache)
{
    huella_error err;
    if (cold_cache)
        drop_page_cache(dir);
    huella_store *s = NULL;
    if (huella_store_open(dir, &s, &err) != HUELLA_OK) {
        fprintf(stderr, "%s: %s\n", dir, err.message);
        return 1;
    }
    huella_gallery *g = NULL;
    if (huella_gallery_new(&g, &err) != HUELLA_OK) {
        fprintf(stderr, "%s\n", err.message);
        huella_store_close(s);
        return 1;
    }
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    huella_gallery_load_stats ls;
    huella_status st = huella_gallery_load_store(s, g, threads, &ls, &err);
    getrusage(RUSAGE_SELF, &r1);
    if (st != HUELLA_OK) {
        fprintf(stderr, "gallery load: %s\n", err.message);
        huella_gallery_free(g);
        huella_store_close(s);
        return 1;
    }
    /* The resident set splits into anonymous memory (the gallery, the
     * heap) and file pages (SQLite maps the first 256 MiB of the database
     * file: page cache, counted by ru_maxrss but not the gallery's). */
    double rss_anon = proc_status_bytes("RssAnon"), rss_file = proc_status_bytes("RssFile");
    double user = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
    double sys = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
    double n = ls.persons > 0 ? (double)ls.persons : 1.0, per_m = 1e6 / n;
    printf("{\"bench\":\"store_load_cold\",\"page_cache\":\"%s\",\"threads\":%u,"
           "\"persons\":%zu,"
           "\"persons_from_forms\":%zu,\"persons_rebuilt\":%zu,"
           "\"persons_from_snapshot\":%zu,\"snapshot\":\"%s\","
           "\"finger_templates\":%zu,\"iris_templates\":%zu,\"face_templates\":%zu,"
           "\"wall_s\":%.3f,\"user_s\":%.3f,\"sys_s\":%.3f,\"cpu_s\":%.3f,"
           "\"minor_faults\":%ld,\"major_faults\":%ld,\"disk_read_bytes\":%.0f,"
           "\"peak_rss_bytes\":%.0f,\"peak_rss_bytes_per_person\":%.0f,"
           "\"rss_before_load_bytes\":%.0f,\"rss_anon_after_bytes_per_person\":%.0f,"
           "\"rss_file_after_bytes\":%.0f,"
           "\"gallery_bytes_per_person\":%.0f,\"finger_template_bytes_per_person\":%.0f,"
           "\"iris_template_bytes_per_person\":%.0f,\"face_template_bytes_per_person\":%.0f,"
           "\"extrapolated\":true,\"wall_s_per_1M_persons\":%.1f,"
           "\"cpu_s_per_1M_persons\":%.1f,\"gallery_gb_for_1M_persons\":%.1f,"
           "\"target_wall_s_for_1M\":30}\n",
           cold_cache ? "dropped" : "as found", ls.threads, ls.persons, ls.persons_from_forms,
           ls.persons_rebuilt, ls.persons_from_snapshot, ls.snapshot, ls.finger_templates,
           ls.iris_templates, ls.face_templates, ls.seconds, user, sys, user + sys,
           r1.ru_minflt - r0.ru_minflt, r1.ru_majflt - r0.ru_majflt,
           (double)(r1.ru_inblock - r0.ru_inblock) * 512.0, (double)r1.ru_maxrss * 1024.0,
           (double)r1.ru_maxrss * 1024.0 / n, (double)r0.ru_maxrss * 1024.0, rss_anon / n, rss_file,
           huella_gallery_bytes_per_person(g),
           (double)huella_gallery_bytes_modality(g, HUELLA_GALLERY_FINGER) / n,
           (double)huella_gallery_bytes_modality(g, HUELLA_GALLERY_IRIS) / n,
           (double)huella_gallery_bytes_modality(g, HUELLA_GALLERY_FACE) / n, ls.seconds * per_m,
           (user + sys) * per_m, huella_gallery_bytes_per_person(g) * 1e6 / 1e9);
    fflush(stdout);
    huella_gallery_free(g);
    huella_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--load-only") == 0) {
        bool drop = argc == 5 && strcmp(argv[4], "--drop-page-cache") == 0;
        if (argc != 4 && !drop) {
            fprintf(stderr,
                    "usage: bench_store_load --load-only THREADS DIR [--drop-page-cache]\n");
            return 1;
        }
        return load_only(argv[3], (unsigned)atoi(argv[2]), drop);
    }
    long persons = 10000;
    const char *dir = NULL;
    bool scan = false, baseline = false, forms = false;
    unsigned fingers = 10;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--scan") == 0)
            scan = true;
        else if (strcmp(argv[i], "--baseline") == 0)
            baseline = true;
        else if (strcmp(argv[i], "--forms-at-build") == 0)
            forms = true;
        else if (strcmp(argv[i], "--irises-only") == 0)
            fingers = 0;
        else if (positional == 0 && ++positional)
            persons = atol(argv[i]);
        else if (positional == 1 && ++positional)
            dir = argv[i];
        else
            persons = 0;
    }
    if (persons <= 0) {
        fprintf(stderr, "usage: bench_store_load [PERSONS [DIR]] [--scan] [--baseline]"
                        " [--forms-at-build] [--irises-only]\n");
        return 1;
    }
    char tmp[256];
    bool temporary = dir == NULL;
    if (temporary) {
        snprintf(tmp, sizeof(tmp), "/tmp/huella-bench-store-%ld", (long)getpid());
        dir = tmp;
    }
    huella_error err;
    char keypath[1024];
    snprintf(keypath, sizeof(keypath), "%s/master.key", dir);
    bool exists = access(keypath, F_OK) == 0;
    if (!exists) {
        if (huella_store_init(dir, NULL, &err) != HUELLA_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        static huella_finger_template *fb[MAX_FINGER_BASE];
        static huella_iris_template *ib[MAX_IRIS_BASE];
        size_t nf = load_fingers(fb), ni = load_irises(ib);
        if (nf == 0 || ni == 0) {
            fprintf(stderr, "no base templates under %s\n", HUELLA_DATA_DIR);
            return 1;
        }
        size_t minutiae = 0;
        for (size_t i = 0; i < nf; i++)
            minutiae += fb[i]->n_minutiae;
        printf("{\"bench\":\"store_base\",\"finger_templates\":%zu,\"mean_minutiae\":%.1f,"
               "\"iris_templates\":%zu}\n",
               nf, (double)minutiae / nf, ni);
        int rc = build(dir, persons, fb, nf, ib, ni, fingers, forms && !baseline);
        for (size_t i = 0; i < nf; i++)
            huella_finger_template_free(fb[i]);
        for (size_t i = 0; i < ni; i++)
            huella_iris_template_free(ib[i]);
        if (rc != 0)
            return rc;
    }

    huella_store *s = NULL;
    double t0 = now_s();
    if (huella_store_open(dir, &s, &err) != HUELLA_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double t_open = now_s() - t0;
    size_t n_persons = 0;
    if (scan) {
        static const struct {
            const char *name;
            huella_store_modality m;
            huella_store_template_cb cb;
        } mods[2] = {{"finger", HUELLA_STORE_FINGER, on_finger},
                     {"iris", HUELLA_STORE_IRIS, on_iris}};
        double total_scan = 0, total_decode = 0, total_scan_cpu = 0, total_decode_cpu = 0;
        size_t bytes_per_person = 0;
        for (int m = 0; m < 2; m++) {
            size_t raw_rows = 0;
            double t_raw = raw_scan(dir, (int)mods[m].m, &raw_rows);
            for (int decode = 0; decode <= 1; decode++) {
                load_ctx c = {decode == 1, 0, 0, 0, 0, HUELLA_OK};
                double a = now_s(), ca = cpu_s();
                huella_status st =
                    huella_store_foreach_template(s, mods[m].m, mods[m].cb, &c, &err);
                double t = now_s() - a, ct = cpu_s() - ca;
                if (st != HUELLA_OK) {
                    fprintf(stderr, "scan: %s\n", err.message);
                    return 1;
                }
                if (decode) {
                    total_decode += t;
                    total_decode_cpu += ct;
                } else {
                    total_scan += t;
                    total_scan_cpu += ct;
                    bytes_per_person += c.persons ? c.bytes / c.persons : 0;
                }
                n_persons = c.persons;
                printf("{\"bench\":\"store_load\",\"modality\":\"%s\",\"decode\":%s,"
                       "\"persons\":%zu,\"templates\":%zu,\"seconds\":%.3f,"
                       "\"cpu_seconds\":%.3f,\"persons_per_s\":%.0f,"
                       "\"templates_per_s\":%.0f,\"seconds_for_1M_persons\":%.1f,"
                       "\"baseline_plain_sql_seconds\":%.3f,\"ratio_to_plain_sql\":%.2f}\n",
                       mods[m].name, decode ? "true" : "false", c.persons, c.templates, t, ct,
                       c.persons / t, c.templates / t, t * 1e6 / (double)c.persons, t_raw,
                       t_raw > 0 ? t / t_raw : 0.0);
            }
        }
        struct rusage ru1;
        getrusage(RUSAGE_SELF, &ru1);
        printf("{\"bench\":\"store_load_total\",\"persons\":%zu,\"open_seconds\":%.3f,"
               "\"scan_seconds\":%.3f,\"scan_decode_seconds\":%.3f,"
               "\"seconds_for_1M_persons\":%.1f,\"seconds_for_1M_persons_with_decode\":%.1f,"
               "\"cpu_seconds_for_1M_persons\":%.1f,"
               "\"cpu_seconds_for_1M_persons_with_decode\":%.1f,"
               "\"template_bytes_per_person\":%zu,\"max_rss_kb\":%ld}\n",
               n_persons, t_open, total_scan, total_decode, total_scan * 1e6 / (double)n_persons,
               total_decode * 1e6 / (double)n_persons, total_scan_cpu * 1e6 / (double)n_persons,
               total_decode_cpu * 1e6 / (double)n_persons, bytes_per_person, ru1.ru_maxrss);
    }
    size_t stale = 0;
    if (huella_store_gallery_stale(s, &stale, &err) != HUELLA_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    huella_store_close(s);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned all = cores > 1 ? (unsigned)cores : 2;
    /* Baseline: the path without gallery forms (decrypt every template,
     * decode, prepare every finger), which is what loading did before the
     * forms existed; only possible while the forms are not written. */
    double base_s = 0;
    if (baseline && stale > 0) {
        base_s = load_once(dir, all, "templates (no forms), baseline", 0, NULL);
        if (base_s < 0)
            return 1;
    }
    if (stale > 0) {
        /* The one-off migration: write every person's form. */
        if (huella_store_open(dir, &s, &err) != HUELLA_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        size_t written = 0;
        double a = now_s(), ca = cpu_s();
        huella_status st = huella_store_gallery_refresh(s, &written, &err);
        double t = now_s() - a, ct = cpu_s() - ca;
        huella_store_close(s);
        if (st != HUELLA_OK) {
            fprintf(stderr, "refresh: %s\n", err.message);
            return 1;
        }
        printf("{\"bench\":\"gallery_forms_write\",\"persons\":%zu,\"seconds\":%.2f,"
               "\"cpu_seconds\":%.2f,\"cpu_seconds_for_1M_persons\":%.1f}\n",
               written, t, ct, written ? ct * 1e6 / (double)written : 0.0);
        fflush(stdout);
    }
    off_t disk = file_size(dir, "huella.db") + file_size(dir, "huella.db-wal");
    /* The forms from the database: a snapshot of a reused store is moved
     * aside meanwhile. */
    char snap[1100], aside[1100];
    snprintf(snap, sizeof(snap), "%s/gallery.snap", dir);
    snprintf(aside, sizeof(aside), "%s/gallery.snap.aside", dir);
    bool had_snapshot = rename(snap, aside) == 0;
    size_t loaded = 0;
    double one = load_once(dir, 1, "forms", base_s, &loaded);
    double two = one < 0 ? -1 : load_once(dir, all, "forms", base_s > 0 ? base_s : one, NULL);
    if (had_snapshot && rename(aside, snap) != 0) {
        perror(aside);
        return 1;
    }
    if (two < 0)
        return 1;
    /* The same forms from the snapshot file (written now unless the store
     * had one), the forms' load with all threads as the baseline. */
    if (!had_snapshot) {
        if (huella_store_open(dir, &s, &err) != HUELLA_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        huella_gallery_snapshot_stats ss;
        double ca = cpu_s();
        huella_status st = huella_store_gallery_snapshot(s, &ss, &err);
        double ct = cpu_s() - ca;
        huella_store_close(s);
        if (st != HUELLA_OK) {
            fprintf(stderr, "snapshot: %s\n", err.message);
            return 1;
        }
        printf("{\"bench\":\"gallery_snapshot_write\",\"persons\":%zu,\"forms\":%zu,"
               "\"bytes\":%llu,\"seconds\":%.2f,\"cpu_seconds\":%.2f}\n",
               ss.persons, ss.forms, (unsigned long long)ss.bytes, ss.seconds, ct);
        fflush(stdout);
    }
    if (load_once(dir, all, "snapshot", two, NULL) < 0)
        return 1;
    printf("{\"bench\":\"store_disk\",\"persons\":%zu,\"disk_bytes_per_person\":%.0f}\n", loaded,
           loaded ? (double)disk / (double)loaded : 0.0);
    if (temporary)
        remove_store(dir);
    return 0;
}
