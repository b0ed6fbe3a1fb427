/*
 * bench_screen.c - screening one name against a large watchlist.
 *
 * Builds a synthetic watchlist of N entries (default 1,000,000) from real
 * names in ../shared/data/names, never copied into the repository: given
 * names, middle names and surnames of unlisted-people.csv and the first
 * and last tokens of the listed names of un-pairs.tsv and
 * opensanctions-cases.tsv, combined within one script (the Unicode block
 * of the first letter) so that a Thai given name is not put before a
 * Polish surname.  A fifth of the entries get an alias, the name written
 * SURNAME Given.  Every name of both pairs files is added as an entry too.
 * The list goes through the real path: a CSV file, huella_watchlist_import,
 * the candidate index built on the first screening.
 *
 * Prints one JSON object per line:
 *  - build: import and index build times;
 *  - screen: median and p99 milliseconds per query (one core) over names
 *    drawn from the list and real names of the pairs files, with the
 *    median of a full scan (every name compared) on a few of them and the
 *    ratio;
 *  - recall: of the labelled pairs (a, b) of each pairs file whose full
 *    name comparison reaches the threshold, the share for which screening
 *    a finds b's entry through the index, at this list size.
 *
 * usage: bench_screen [N] [QUERIES] [FULL_SCANS] [KEEP_DIR [v]]
 * KEEP_DIR keeps the list and its database there and reuses them on the
 * next run with the same N; "v" lists on stderr the pairs the index
 * missed.  The environment variable HUELLA_BENCH_THRESHOLD (default the
 * names threshold) sets the score at which a pair counts for recall and
 * the minimum score of its screening.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/names.h"
#include "huella/watchlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef HUELLA_DATA_DIR
#define HUELLA_DATA_DIR "../shared/data"
#endif

typedef struct pool {
    char **s;
    size_t n, cap;
} pool;

static void pool_add(pool *p, const char *s, size_t len)
{
    if (len == 0 || len > 60)
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->s = realloc(p->s, p->cap * sizeof(char *));
        if (p->s == NULL)
            exit(3);
    }
    char *c = malloc(len + 1);
    if (c == NULL)
        exit(3);
    memcpy(c, s, len);
    c[len] = '\0';
    p->s[p->n++] = c;
}

/* Script bucket: the Unicode block (high byte) of the first code point,
 * every Latin letter in bucket 0. */
enum { BUCKETS = 256 };
static unsigned bucket_of(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned cp;
    if (p[0] < 0x80)
        cp = p[0];
    else if ((p[0] & 0xe0) == 0xc0)
        cp = ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu);
    else if ((p[0] & 0xf0) == 0xe0)
        cp = ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
    else
        cp = 0x10000;
    if (cp < 0x250 || (cp >= 0x1e00 && cp < 0x1f00))
        return 0;
    if (cp >= 0xac00 && cp < 0xd800)
        return 0xac;
    return (cp >> 8) & 0xff;
}

typedef struct pools {
    pool given[BUCKETS], middle[BUCKETS], sur[BUCKETS];
} pools;

static char *read_text(const char *path)
{
    uint8_t *data;
    size_t len;
    huella_error err;
    if (huella_file_read(path, 0, &data, &len, &err) != HUELLA_OK) {
        fprintf(stderr, "bench_screen: %s\n", err.message);
        exit(2);
    }
    data[len] = '\0';
    return (char *)data;
}

/* Split a CSV line without quotes (unlisted-people.csv has none). */
static size_t split(char *line, char sep, char **f, size_t max)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == sep) {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static void name_tokens_to_pools(pools *P, const char *name)
{
    /* First token a given name, last token a surname (names written
     * "Given ... Surname"; a "SURNAME, Given" form is skipped). */
    if (strchr(name, ',') != NULL)
        return;
    const char *first_end = strchr(name, ' ');
    const char *last = strrchr(name, ' ');
    if (first_end == NULL || last == NULL)
        return;
    unsigned b = bucket_of(name);
    pool_add(&P->given[b], name, (size_t)(first_end - name));
    pool_add(&P->sur[b], last + 1, strlen(last + 1));
}

typedef struct pairs {
    char **a, **b;
    bool *same;
    size_t n, cap;
} pairs;

static void read_pairs(const char *path, pairs *out, pools *P)
{
    char *text = read_text(path);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *f[5];
        if (split(line, '\t', f, 5) < 3)
            continue;
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 1024;
            out->a = realloc(out->a, out->cap * sizeof(char *));
            out->b = realloc(out->b, out->cap * sizeof(char *));
            out->same = realloc(out->same, out->cap * sizeof(bool));
            if (!out->a || !out->b || !out->same)
                exit(3);
        }
        out->a[out->n] = strdup(f[0]);
        out->b[out->n] = strdup(f[1]);
        out->same[out->n] = strcmp(f[2], "same") == 0;
        out->n++;
        name_tokens_to_pools(P, f[0]);
    }
    free(text);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    /* xorshift64*: reproducible, fast. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* CPU time of this thread: the machine is shared, and the target is for
 * one core. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(double), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv)
{
    size_t n_entries = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    size_t n_queries = argc > 2 ? strtoull(argv[2], NULL, 10) : 200;
    size_t n_full = argc > 3 ? strtoull(argv[3], NULL, 10) : 3;
    const char *files[] = {HUELLA_DATA_DIR "/names/un-pairs.tsv",
                           HUELLA_DATA_DIR "/names/opensanctions-cases.tsv"};
    pools *P = calloc(1, sizeof(*P));
    pairs pr[2] = {{0}};
    if (P == NULL)
        return 3;
    for (size_t i = 0; i < 2; i++)
        read_pairs(files[i], &pr[i], P);
    char *people = read_text(HUELLA_DATA_DIR "/names/unlisted-people.csv");
    char *save = NULL;
    for (char *line = strtok_r(people, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[8];
        if (line[0] == '#' || strncmp(line, "full_name,", 10) == 0 || split(line, ',', f, 8) < 4)
            continue;
        unsigned b = bucket_of(f[0]);
        pool_add(&P->given[b], f[1], strlen(f[1]));
        pool_add(&P->middle[b], f[2], strlen(f[2]));
        pool_add(&P->sur[b], f[3], strlen(f[3]));
    }
    free(people);
    /* Tokens that huella cannot normalise (Khmer, for one) leave the pools:
     * the import would refuse names made of them. */
    {
        huella_names *nn = NULL;
        huella_name *tmp = malloc(sizeof(*tmp));
        if (tmp == NULL || huella_names_new(NULL, &nn, NULL) != HUELLA_OK)
            return 3;
        pool *all[] = {P->given, P->middle, P->sur};
        for (size_t k = 0; k < 3; k++)
            for (unsigned b = 0; b < BUCKETS; b++) {
                pool *p = &all[k][b];
                size_t w = 0;
                for (size_t i = 0; i < p->n; i++) {
                    if (huella_names_normalize(nn, p->s[i], tmp, NULL) == HUELLA_OK)
                        p->s[w++] = p->s[i];
                    else
                        free(p->s[i]);
                }
                p->n = w;
            }
        huella_names_free(nn);
        free(tmp);
    }
    unsigned usable[BUCKETS];
    size_t n_usable = 0, weight = 0;
    for (unsigned b = 0; b < BUCKETS; b++)
        if (P->given[b].n > 0 && P->sur[b].n > 0) {
            usable[n_usable++] = b;
            weight += P->given[b].n;
        }

    const char *keep = argc > 4 ? argv[4] : NULL;
    bool verbose = argc > 5 && strcmp(argv[5], "v") == 0;
    char dir[256] = "/tmp/bench_screen_XXXXXX";
    if (keep != NULL) {
        snprintf(dir, sizeof(dir), "%s", keep);
        mkdir(dir, 0700);
    } else if (mkdtemp(dir) == NULL) {
        return 3;
    }
    char csv_path[300], db_dir[300], db_file[320];
    snprintf(csv_path, sizeof(csv_path), "%s/list.csv", dir);
    snprintf(db_dir, sizeof(db_dir), "%s/db", dir);
    snprintf(db_file, sizeof(db_file), "%s/watchlist.db", db_dir);
    struct stat sb;
    bool reuse = keep != NULL && stat(db_file, &sb) == 0;
    /* The list is generated in any case (the queries drawn from it are
     * needed), but written only when it is to be imported. */
    FILE *f = fopen(reuse ? "/dev/null" : csv_path, "w");
    if (f == NULL)
        return 3;
    fputs("source_agency,source_ref,category,legal_basis,date_added,expiry_date,"
          "source_reliability,info_credibility,name,aliases,birth_date\n",
          f);
    char **list_names = calloc(n_queries + 1, sizeof(char *));
    size_t id = 0;
    huella_error err;
    huella_names *names = NULL;
    if (huella_names_new(NULL, &names, &err) != HUELLA_OK) {
        fprintf(stderr, "bench_screen: %s\n", err.message);
        return 3;
    }
    huella_name *nm = malloc(sizeof(*nm));
    if (nm == NULL)
        return 3;
    /* Real names of both pairs files, each an entry (but for the few that
     * huella cannot normalise, e.g. Khmer, which the import would refuse). */
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < pr[k].n; i++)
            for (int side = 0; side < 2; side++) {
                if (huella_names_normalize(names, side ? pr[k].b[i] : pr[k].a[i], nm, NULL) !=
                    HUELLA_OK)
                    continue;
                fprintf(f, "bench,R%zu,sanctions,bench,2025-01-01,2099-12-31,C,3,", id++);
                csv_field(f, side ? pr[k].b[i] : pr[k].a[i]);
                fputs(",,\n", f);
            }
    for (size_t i = 0; i < n_entries; i++) {
        size_t r = next() % weight;
        unsigned b = usable[0];
        for (size_t u = 0; u < n_usable; u++) {
            if (r < P->given[usable[u]].n) {
                b = usable[u];
                break;
            }
            r -= P->given[usable[u]].n;
        }
        const char *g = P->given[b].s[next() % P->given[b].n];
        const char *s = P->sur[b].s[next() % P->sur[b].n];
        const char *m =
            P->middle[b].n > 0 && next() % 10 < 3 ? P->middle[b].s[next() % P->middle[b].n] : NULL;
        char name[256], alias[256] = "";
        snprintf(name, sizeof(name), "%s%s%s %s", g, m ? " " : "", m ? m : "", s);
        if (next() % 5 == 0)
            snprintf(alias, sizeof(alias), "%s %s", s, g);
        fprintf(f, "bench,S%zu,arrest_warrant,bench,2025-01-01,2099-12-31,B,2,", i);
        csv_field(f, name);
        fputc(',', f);
        csv_field(f, alias);
        fprintf(f, ",%d-%02d-%02d\n", 1940 + (int)(next() % 65), 1 + (int)(next() % 12),
                1 + (int)(next() % 28));
        if (i % (n_entries / n_queries + 1) == 0) {
            for (size_t q = 0; q < n_queries; q++)
                if (list_names[q] == NULL) {
                    list_names[q] = strdup(name);
                    break;
                }
        }
    }
    fclose(f);

    free(nm);
    huella_watchlist *wl = NULL;
    if (huella_watchlist_open(db_dir, names, &wl, &err) != HUELLA_OK) {
        fprintf(stderr, "bench_screen: %s\n", err.message);
        return 3;
    }
    uint64_t t0 = huella_now_ns();
    size_t imported = 0;
    if (!reuse) {
        huella_watchlist_import_result res;
        if (huella_watchlist_import(wl, csv_path, "2026-01-01", &res, &err) != HUELLA_OK) {
            fprintf(stderr, "bench_screen: %s\n", err.message);
            return 3;
        }
        imported = res.entries;
        huella_watchlist_import_result_clear(&res);
    } else if (huella_watchlist_count(wl, &imported, &err) != HUELLA_OK) {
        return 3;
    }
    double import_s = reuse ? 0 : (double)(huella_now_ns() - t0) / 1e9;
    /* The first screening builds the index. */
    huella_screen_query q = {.name = "Maria Garcia", .today = "2026-01-01", .top = 10};
    huella_screen_result out;
    t0 = huella_now_ns();
    if (huella_watchlist_screen(wl, &q, &out, &err) != HUELLA_OK) {
        fprintf(stderr, "bench_screen: %s\n", err.message);
        return 3;
    }
    double index_s = (double)(huella_now_ns() - t0) / 1e9;
    huella_screen_result_clear(&out);
    printf("{\"bench\":\"screen_build\",\"entries\":%zu,\"import_s\":%.2f,\"index_s\":%.2f}\n",
           imported, import_s, index_s);
    fflush(stdout);

    /* Timing: half the queries are names of the list, half real names of
     * the pairs files (mostly not listed under that spelling). */
    double *ms = calloc(2 * n_queries + 1, sizeof(double));
    double *wall = calloc(2 * n_queries + 1, sizeof(double));
    size_t n_ms = 0, cands = 0, compared = 0;
    const char **queries = calloc(2 * n_queries + 1, sizeof(char *));
    size_t n_q = 0;
    for (size_t i = 0; i < n_queries && list_names[i]; i++)
        queries[n_q++] = list_names[i];
    for (size_t i = 0; i < n_queries; i++)
        queries[n_q++] = pr[0].a[(i * 7919) % pr[0].n];
    for (size_t i = 0; i < n_q; i++) {
        q.name = queries[i];
        t0 = cpu_ns();
        uint64_t w0 = huella_now_ns();
        if (huella_watchlist_screen(wl, &q, &out, &err) != HUELLA_OK)
            continue;
        wall[n_ms] = (double)(huella_now_ns() - w0) / 1e6;
        ms[n_ms++] = (double)(cpu_ns() - t0) / 1e6;
        cands += out.candidates;
        compared += out.names_compared;
        huella_screen_result_clear(&out);
    }
    double *full = calloc(n_full + 1, sizeof(double));
    double *same_q = calloc(n_full + 1, sizeof(double));
    size_t n_fs = 0;
    for (size_t i = 0; i < n_full && i < n_q; i++) {
        q.name = queries[(i * 37) % n_q];
        q.full_scan = true;
        t0 = cpu_ns();
        if (huella_watchlist_screen(wl, &q, &out, &err) == HUELLA_OK) {
            full[n_fs] = (double)(cpu_ns() - t0) / 1e6;
            huella_screen_result_clear(&out);
            q.full_scan = false;
            t0 = cpu_ns();
            if (huella_watchlist_screen(wl, &q, &out, &err) == HUELLA_OK)
                huella_screen_result_clear(&out);
            same_q[n_fs++] = (double)(cpu_ns() - t0) / 1e6;
        }
        q.full_scan = false;
    }
    double med = percentile(ms, n_ms, 0.5), p99 = percentile(ms, n_ms, 0.99);
    double wall_med = percentile(wall, n_ms, 0.5), wall_p99 = percentile(wall, n_ms, 0.99);
    double full_med = n_fs ? percentile(full, n_fs, 0.5) : 0;
    double same_med = n_fs ? percentile(same_q, n_fs, 0.5) : 0;
    printf("{\"bench\":\"screen\",\"entries\":%zu,\"queries\":%zu,\"cpu_median_ms\":%.2f,"
           "\"cpu_p99_ms\":%.2f,\"cpu_max_ms\":%.2f,\"wall_median_ms\":%.2f,\"wall_p99_ms\":%.2f,"
           "\"mean_candidates\":%.0f,\"mean_compared\":%.0f,"
           "\"full_scan_queries\":%zu,\"full_scan_cpu_median_ms\":%.1f,"
           "\"indexed_cpu_median_ms_same_queries\":%.2f,\"speedup_vs_full_scan\":%.1f}\n",
           imported, n_ms, med, p99, ms[n_ms - 1], wall_med, wall_p99, (double)cands / (double)n_ms,
           (double)compared / (double)n_ms, n_fs, full_med, same_med,
           same_med > 0 ? full_med / same_med : 0);

    /* Recall of the index at this size, on the labelled pairs. */
    huella_name_comparison *c = malloc(sizeof(*c));
    const char *th_env = getenv("HUELLA_BENCH_THRESHOLD");
    double threshold = th_env != NULL ? atof(th_env) : HUELLA_NAMES_THRESHOLD;
    if (threshold <= 0 || threshold > 1)
        threshold = HUELLA_NAMES_THRESHOLD;
    for (size_t k = 0; k < 2; k++) {
        size_t eligible = 0, found = 0, same_eligible = 0, same_found = 0;
        for (size_t i = 0; i < pr[k].n; i++) {
            /* A field of several ';'-separated spellings is compared
             * alternative by alternative; on a list those are aliases,
             * each a name of its own, so such pairs say nothing here. */
            if (strchr(pr[k].a[i], ';') != NULL || strchr(pr[k].b[i], ';') != NULL)
                continue;
            if (huella_names_compare(names, pr[k].a[i], pr[k].b[i], c, NULL) != HUELLA_OK ||
                c->score < threshold)
                continue;
            eligible++;
            same_eligible += pr[k].same[i];
            huella_screen_query rq = {
                .name = pr[k].a[i], .today = "2026-01-01", .top = 1000, .min_score = threshold};
            if (huella_watchlist_screen(wl, &rq, &out, &err) != HUELLA_OK)
                continue;
            bool hit = false;
            for (size_t h = 0; h < out.n_hits && !hit; h++)
                hit = strcmp(out.hits[h].entry.names[0], pr[k].b[i]) == 0;
            found += hit;
            same_found += hit && pr[k].same[i];
            if (!hit && verbose)
                fprintf(stderr, "missed %.3f (%zu candidates, %zu compared): %s | %s\n", c->score,
                        out.candidates, out.names_compared, pr[k].a[i], pr[k].b[i]);
            huella_screen_result_clear(&out);
        }
        printf("{\"bench\":\"screen_recall\",\"pairs\":\"%s\",\"entries\":%zu,"
               "\"pairs_at_threshold\":%zu,\"found_by_index\":%zu,\"recall\":%.4f,"
               "\"same_pairs_at_threshold\":%zu,\"same_found\":%zu,\"threshold\":%.2f}\n",
               strrchr(files[k], '/') + 1, imported, eligible, found,
               eligible ? (double)found / (double)eligible : 1.0, same_eligible, same_found,
               threshold);
        fflush(stdout);
    }
    free(c);
    huella_watchlist_close(wl);
    huella_names_free(names);
    if (keep != NULL)
        return 0;
    /* Remove the scratch files. */
    char path[128];
    const char *leftovers[] = {"list.csv", "db/watchlist.db", "db/watchlist.db-wal",
                               "db/watchlist.db-shm"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, leftovers[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/db", dir);
    rmdir(path);
    rmdir(dir);
    return 0;
}
