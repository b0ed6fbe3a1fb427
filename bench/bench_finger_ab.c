/*
 * bench_finger_ab.c - two builds of the fingerprint matcher, alternated in
 * one process.
 *
 * On a shared 2-core VM separate runs of bench_finger_match swing by 10-20
 * %, more than most changes to the matcher gain.  This benchmark loads two
 * builds of libhuella.so (A, the baseline, and B, the candidate) into one
 * process with dlopen, prepares every SecuGen ISO record (*.iso) of a
 * directory with each, and then alternates them round by round, each
 * round every template against every other, timed in thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID).  A and B take turns going first, so that
 * the load of the moment falls on both alike, and the ratio is taken
 * within each round.  It also checks that both builds give the same
 * score, bit for bit, for every pair.
 *
 * Prints one JSON object per directory: comparisons per second of A and
 * B (median and best round), "ratio" (the median over the rounds of A's
 * time over B's: above 1, B is faster) with its quartiles, and
 * "same_scores".
 *
 * usage: bench_finger_ab LIB_A LIB_B ROUNDS DIR...
 *   e.g. bench_finger_ab /tmp/base/build/libhuella.so build/libhuella.so 40 \
 *            ../shared/data/finger/fvc2002/DB2_B
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "huella/base.h"
#include "huella/finger.h"

#define MAX_TEMPLATES 512
#define MAX_ROUNDS    1000

typedef struct build {
    huella_status (*file_read)(const char *, size_t, uint8_t **, size_t *, huella_error *);
    huella_status (*template_load)(const void *, size_t, huella_finger_template **, huella_error *);
    void (*template_free)(huella_finger_template *);
    huella_status (*prepare)(const huella_finger_template *, huella_finger_prepared **,
                             huella_error *);
    void (*prepared_free)(huella_finger_prepared *);
    double (*compare)(const huella_finger_prepared *, const huella_finger_prepared *);
    huella_finger_prepared *p[MAX_TEMPLATES];
} build;

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dlsym returns an object pointer; POSIX guarantees it converts to a
 * function pointer, which ISO C does not, hence the copy through memory. */
static int symbol(void *lib, const char *name, void *fn, size_t size)
{
    void *s = dlsym(lib, name);
    if (s == NULL) {
        fprintf(stderr, "bench_finger_ab: %s\n", dlerror());
        return -1;
    }
    memcpy(fn, &s, size);
    return 0;
}

static int open_build(const char *path, build *b)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "bench_finger_ab: %s\n", dlerror());
        return -1;
    }
    return symbol(lib, "huella_file_read", &b->file_read, sizeof(b->file_read)) ||
                   symbol(lib, "huella_finger_template_load", &b->template_load,
                          sizeof(b->template_load)) ||
                   symbol(lib, "huella_finger_template_free", &b->template_free,
                          sizeof(b->template_free)) ||
                   symbol(lib, "huella_finger_prepare", &b->prepare, sizeof(b->prepare)) ||
                   symbol(lib, "huella_finger_prepared_free", &b->prepared_free,
                          sizeof(b->prepared_free)) ||
                   symbol(lib, "huella_finger_compare", &b->compare, sizeof(b->compare))
               ? -1
               : 0;
}

static int prepare_all(build *b, const char *dir, char **names, int n)
{
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        uint8_t *data = NULL;
        size_t len = 0;
        huella_finger_template *t = NULL;
        huella_error err;
        if (b->file_read(path, 1u << 20, &data, &len, &err) != HUELLA_OK ||
            b->template_load(data, len, &t, &err) != HUELLA_OK ||
            b->prepare(t, &b->p[i], &err) != HUELLA_OK) {
            fprintf(stderr, "bench_finger_ab: %s\n", err.message);
            free(data);
            b->template_free(t);
            return -1;
        }
        free(data);
        b->template_free(t);
    }
    return 0;
}

/* One round: every template against every other, the scores into
 * scores (in order, for the comparison of the builds); its CPU seconds. */
static double round_seconds(const build *b, int n, double *scores)
{
    double t0 = thread_cpu();
    for (int i = 0, k = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j)
                scores[k++] = b->compare(b->p[i], b->p[j]);
    return thread_cpu() - t0;
}

static int run_dir(build *ab, int rounds, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "bench_finger_ab: %s: cannot open\n", dir);
        return -1;
    }
    char *names[MAX_TEMPLATES];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_TEMPLATES) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".iso") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(char *), by_name);
    int rc = n < 2 ? -1 : 0;
    if (rc != 0)
        fprintf(stderr, "bench_finger_ab: %s: fewer than two *.iso records\n", dir);
    for (int k = 0; k < 2 && rc == 0; k++)
        rc = prepare_all(&ab[k], dir, names, n);
    size_t pairs = (size_t)n * (size_t)(n - 1);
    double *sa = rc == 0 ? malloc(pairs * sizeof(double)) : NULL;
    double *sb = rc == 0 ? malloc(pairs * sizeof(double)) : NULL;
    static double ta[MAX_ROUNDS], tb[MAX_ROUNDS], ratio[MAX_ROUNDS];
    bool same = true;
    if (rc == 0 && (sa == NULL || sb == NULL)) {
        fprintf(stderr, "bench_finger_ab: out of memory\n");
        rc = -1;
    }
    for (int r = 0; r < rounds && rc == 0; r++) {
        /* A first in even rounds, B first in odd ones */
        if (r % 2 == 0) {
            ta[r] = round_seconds(&ab[0], n, sa);
            tb[r] = round_seconds(&ab[1], n, sb);
        } else {
            tb[r] = round_seconds(&ab[1], n, sb);
            ta[r] = round_seconds(&ab[0], n, sa);
        }
        ratio[r] = ta[r] / tb[r];
        same = same && memcmp(sa, sb, pairs * sizeof(double)) == 0;
    }
    if (rc == 0) {
        qsort(ta, (size_t)rounds, sizeof(double), by_double);
        qsort(tb, (size_t)rounds, sizeof(double), by_double);
        qsort(ratio, (size_t)rounds, sizeof(double), by_double);
        double c = (double)pairs;
        printf("{\"bench\":\"finger_ab\",\"dir\":\"%s\",\"templates\":%d,\"rounds\":%d,"
               "\"a_comparisons_per_second\":%.0f,\"a_best\":%.0f,"
               "\"b_comparisons_per_second\":%.0f,\"b_best\":%.0f,"
               "\"ratio\":%.3f,\"ratio_q1\":%.3f,\"ratio_q3\":%.3f,\"same_scores\":%s}\n",
               dir, n, rounds, c / ta[rounds / 2], c / ta[0], c / tb[rounds / 2], c / tb[0],
               ratio[rounds / 2], ratio[rounds / 4], ratio[3 * rounds / 4],
               same ? "true" : "false");
        fflush(stdout);
    }
    free(sa);
    free(sb);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n; i++) {
            ab[k].prepared_free(ab[k].p[i]);
            ab[k].p[i] = NULL;
        }
    for (int i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_finger_ab LIB_A LIB_B ROUNDS DIR...\n");
        return 1;
    }
    int rounds = atoi(argv[3]);
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_finger_ab: ROUNDS must be 1..%d\n", MAX_ROUNDS);
        return 1;
    }
    static build ab[2];
    if (open_build(argv[1], &ab[0]) != 0 || open_build(argv[2], &ab[1]) != 0)
        return 1;
    for (int i = 4; i < argc; i++)
        if (run_dir(ab, rounds, argv[i]) != 0)
            return 2;
    return 0;
}
