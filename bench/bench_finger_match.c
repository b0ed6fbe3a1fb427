/*
 * bench_finger_match.c - speed and memory of the fingerprint minutiae
 * matcher.
 *
 * Loads the FVC2002 ISO/IEC 19794-2 templates of the development data
 * (HUELLA_DATA_DIR/finger/fvc2002/DB*_B/ *.iso, or the directories given
 * as arguments), prepares each once with its index and once compact, then
 * on one thread for about two seconds per database and measure:
 *
 *   - comparisons_per_second: every prepared template against every
 *     other (the 1:1 figure, and the one earlier versions printed);
 *   - gallery_comparisons_per_second: every template prepared with its
 *     index (the probe) against every other prepared compact (the
 *     candidates of a 1:N gallery);
 *   - bytes_prepared, bytes_compact: the mean memory of a prepared
 *     template, with and without its index.
 *
 * Prints one JSON object per line and database.  With --baseline FILE
 * (the output of an earlier run, for instance of the previous matcher)
 * each line also gets "speedup": comparisons_per_second over the
 * baseline's for the same database, measured on the same machine by the
 * user; run both close together on an idle machine.
 *
 * With --once, every comparison is made exactly once (no timing loop):
 * a repeatable workload for instruction counts, for instance
 * `valgrind --tool=callgrind bench_finger_match --once`.  With --scores,
 * nothing is timed and the score of every ordered pair of each database
 * is printed in hexadecimal floating point, one a line ("DB i j score
 * score-of-the-compact-templates"),
 * to check that a change of the matcher leaves every score bit for bit
 * the same (diff the outputs of the two versions).
 *
 * usage: bench_finger_match [--baseline FILE] [--once | --scores] [DIR...]
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/finger.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_T        512
#define MAX_BASELINE 64

typedef struct baseline {
    char dataset[256];
    double per_second;
} baseline;

static baseline base[MAX_BASELINE];
static int n_base;
static bool once;   /* --once: one pass, no timing loop */
static bool scores; /* --scores: print every score instead of timing */

/* Read the dataset and comparisons_per_second of each line of an earlier
 * run; lines without them are skipped. */
static int load_baseline(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char line[4096];
    while (n_base < MAX_BASELINE && fgets(line, sizeof(line), f) != NULL) {
        const char *d = strstr(line, "\"dataset\":\"");
        const char *c = strstr(line, "\"comparisons_per_second\":");
        if (d == NULL || c == NULL)
            continue;
        d += strlen("\"dataset\":\"");
        const char *end = strchr(d, '"');
        size_t len = end == NULL ? 0 : (size_t)(end - d);
        if (len == 0 || len >= sizeof(base[0].dataset))
            continue;
        memcpy(base[n_base].dataset, d, len);
        base[n_base].dataset[len] = '\0';
        base[n_base].per_second = strtod(c + strlen("\"comparisons_per_second\":"), NULL);
        if (base[n_base].per_second > 0)
            n_base++;
    }
    fclose(f);
    return 0;
}

static double baseline_of(const char *dataset)
{
    for (int i = 0; i < n_base; i++)
        if (strcmp(base[i].dataset, dataset) == 0)
            return base[i].per_second;
    return 0;
}

static int load_dir(const char *dir, huella_finger_prepared **full,
                    huella_finger_prepared **compact, double *prep_us)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_T) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".iso") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        uint8_t *data;
        size_t len;
        huella_error err;
        if (huella_file_read(path, 1u << 20, &data, &len, &err) != HUELLA_OK)
            continue;
        huella_finger_template *t;
        huella_status st = huella_finger_template_load(data, len, &t, &err);
        free(data);
        if (st != HUELLA_OK) {
            fprintf(stderr, "%s: %s\n", path, err.message);
            continue;
        }
        uint64_t t0 = huella_now_ns();
        st = huella_finger_prepare(t, &full[n], &err);
        prep_us[n] = (double)(huella_now_ns() - t0) / 1e3;
        if (st == HUELLA_OK) {
            st = huella_finger_prepare_compact(t, &compact[n], &err);
            if (st != HUELLA_OK)
                huella_finger_prepared_free(full[n]);
        }
        huella_finger_template_free(t);
        if (st == HUELLA_OK)
            n++;
        else
            fprintf(stderr, "%s: %s\n", path, err.message);
    }
    closedir(d);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Comparisons per second of every probe against every other candidate,
 * repeated for about two seconds; *count gets the number made. */
static double rate(huella_finger_prepared *const *probe, huella_finger_prepared *const *cand, int n,
                   uint64_t *count)
{
    volatile double sink = 0;
    uint64_t done = 0, t0 = huella_now_ns(), elapsed;
    do {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j)
                    sink += huella_finger_compare(probe[i], cand[j]);
        done += (uint64_t)n * (uint64_t)(n - 1);
        elapsed = huella_now_ns() - t0;
    } while (!once && elapsed < 2000000000ull);
    (void)sink;
    *count = done;
    return (double)done / ((double)elapsed / 1e9);
}

static void bench_db(const char *name, const char *dir)
{
    static huella_finger_prepared *full[MAX_T], *compact[MAX_T];
    static double prep_us[MAX_T];
    int n = load_dir(dir, full, compact, prep_us);
    if (n < 2) {
        fprintf(stderr, "%s: fewer than two templates\n", dir);
        return;
    }
    if (scores) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j)
                    printf("%s %d %d %a %a\n", name, i, j, huella_finger_compare(full[i], full[j]),
                           huella_finger_compare(compact[i], compact[j]));
        for (int i = 0; i < n; i++) {
            huella_finger_prepared_free(full[i]);
            huella_finger_prepared_free(compact[i]);
        }
        return;
    }
    qsort(prep_us, (size_t)n, sizeof(double), cmp_double);
    double bytes_full = 0, bytes_compact = 0;
    for (int i = 0; i < n; i++) {
        bytes_full += (double)huella_finger_prepared_size(full[i]);
        bytes_compact += (double)huella_finger_prepared_size(compact[i]);
    }
    uint64_t count, gallery_count;
    double per_second = rate(full, full, n, &count);
    double gallery = rate(full, compact, n, &gallery_count);
    printf("{\"bench\":\"finger_match\",\"dataset\":\"%s\",\"templates\":%d,"
           "\"comparisons\":%llu,\"comparisons_per_second\":%.0f,\"compare_us_mean\":%.3f,"
           "\"gallery_comparisons_per_second\":%.0f,\"prepare_us_median\":%.1f,"
           "\"bytes_prepared\":%.0f,\"bytes_compact\":%.0f",
           name, n, (unsigned long long)count, per_second, 1e6 / per_second, gallery,
           prep_us[n / 2], bytes_full / n, bytes_compact / n);
    double before = baseline_of(name);
    if (before > 0)
        printf(",\"baseline_comparisons_per_second\":%.0f,\"speedup\":%.2f", before,
               per_second / before);
    printf("}\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        huella_finger_prepared_free(full[i]);
        huella_finger_prepared_free(compact[i]);
    }
}

int main(int argc, char **argv)
{
    int first = 1;
    for (;;) {
        if (argc > first + 1 && strcmp(argv[first], "--baseline") == 0) {
            if (load_baseline(argv[first + 1]) != 0)
                return 1;
            first += 2;
        } else if (argc > first && strcmp(argv[first], "--once") == 0) {
            once = true;
            first++;
        } else if (argc > first && strcmp(argv[first], "--scores") == 0) {
            scores = true;
            first++;
        } else {
            break;
        }
    }
    if (argc > first) {
        for (int i = first; i < argc; i++)
            bench_db(argv[i], argv[i]);
        return 0;
    }
    const char *dbs[] = {"DB1_B", "DB2_B", "DB3_B", "DB4_B"};
    for (int i = 0; i < 4; i++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/finger/fvc2002/%s", HUELLA_DATA_DIR, dbs[i]);
        bench_db(dbs[i], dir);
    }
    return 0;
}
