/*
 * bench_finger_match.c - speed and memory of the fingerprint minutiae
 * matcher.
 *
 * Loads the templates of each FVC2002 database of the development data
 * (HUELLA_DATA_DIR/finger/fvc2002/DB*_B, or the directories given as
 * arguments), prepares each once with its index and once compact, then
 * measures on one thread, in CPU time (CLOCK_PROCESS_CPUTIME_ID: the
 * machine is shared, and wall-clock rates swing with its load):
 *
 *   - comparisons_per_second: every prepared template against every
 *     other (the 1:1 figure the target of 200,000 per core is
 *     about), the median of REPEATS runs of at least half a second of
 *     CPU each, with the slowest and fastest run (min/max) and
 *     target_ratio, the median over 200,000;
 *   - gallery_comparisons_per_second: every template prepared with its
 *     index (the probe) against every other prepared compact (the
 *     candidates of a 1:N gallery);
 *   - bytes_prepared, bytes_compact: the mean memory of a prepared
 *     template, with and without its index; bytes_serialised: the mean
 *     length of a compact one serialised (huella_finger_prepared_serialize,
 *     what a gallery and the store's gallery forms keep of a finger).
 *
 * Two kinds of templates per database, one JSON line each ("source"):
 * "iso", the SecuGen ISO/IEC 19794-2 records beside the images (*.iso),
 * and "extracted", the templates huella_finger_extract makes from the
 * images (*.tif, at 500 ppi, DB2_B at 569 ppi: what `huella eval finger`
 * compares).  --iso or --extracted keeps one kind.
 *
 * Prints one JSON object per line, database and source.  With --baseline FILE
 * (the output of an earlier run, for instance of the previous matcher)
 * each line also gets "speedup": comparisons_per_second over the
 * baseline's for the same database and source, measured on the same
 * machine by the user (alternate the two binaries and compare medians).
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
 * usage: bench_finger_match [--baseline FILE] [--once | --scores] [--iso | --extracted]
 *                           [DIR[:PPI]...]
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/finger.h"

#include <dirent.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_T        512
#define MAX_BASELINE 64
#define REPEATS      5
#define TARGET       200000.0 /* the comparisons per second per core */

typedef struct baseline {
    char dataset[256];
    double per_second;
} baseline;

static baseline base[MAX_BASELINE];
static int n_base;
static bool once;   /* --once: one pass, no timing loop */
static bool scores; /* --scores: print every score instead of timing */
static bool use_iso = true, use_extracted = true;

/* Read the dataset, source and comparisons_per_second of each line of an
 * earlier run; lines without them are skipped (a line without a source,
 * from a version that only read the ISO records, counts as "iso"). */
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
        const char *src = strstr(line, "\"source\":\"extracted\"");
        if (d == NULL || c == NULL)
            continue;
        d += strlen("\"dataset\":\"");
        const char *end = strchr(d, '"');
        size_t len = end == NULL ? 0 : (size_t)(end - d);
        if (len == 0 || len + 12 >= sizeof(base[0].dataset))
            continue;
        snprintf(base[n_base].dataset, sizeof(base[0].dataset), "%.*s/%s", (int)len, d,
                 src != NULL ? "extracted" : "iso");
        base[n_base].per_second = strtod(c + strlen("\"comparisons_per_second\":"), NULL);
        if (base[n_base].per_second > 0)
            n_base++;
    }
    fclose(f);
    return 0;
}

static double baseline_of(const char *dataset, const char *source)
{
    char key[sizeof(base[0].dataset) + 16];
    snprintf(key, sizeof(key), "%s/%s", dataset, source);
    for (int i = 0; i < n_base; i++)
        if (strcmp(base[i].dataset, key) == 0)
            return base[i].per_second;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The template of one file: an ISO record, or extracted from an image. */
static huella_status load_one(const char *path, bool extracted, double ppi,
                              huella_finger_template **t, huella_error *err)
{
    if (extracted) {
        huella_image *img;
        huella_status st = huella_image_read(path, NULL, &img, err);
        if (st != HUELLA_OK)
            return st;
        st = huella_finger_extract(img, ppi, NULL, t, err);
        huella_image_free(img);
        return st;
    }
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 1u << 20, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_finger_template_load(data, len, t, err);
    free(data);
    return st;
}

/* Every *.iso (or, extracted, *.tif) of dir in name order, prepared. */
static int load_dir(const char *dir, bool extracted, double ppi, huella_finger_prepared **full,
                    huella_finger_prepared **compact, double *prep_us)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    static char *names[MAX_T];
    int nn = 0;
    struct dirent *e;
    const char *ext = extracted ? ".tif" : ".iso";
    while ((e = readdir(d)) != NULL && nn < MAX_T) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ext) != 0)
            continue;
        names[nn] = strdup(e->d_name);
        if (names[nn] != NULL)
            nn++;
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof(char *), cmp_name);
    int n = 0;
    for (int k = 0; k < nn; k++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
        free(names[k]);
        huella_error err;
        huella_finger_template *t;
        huella_status st = load_one(path, extracted, ppi, &t, &err);
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
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Comparisons per CPU second of every probe against every other
 * candidate, repeated for at least half a second of CPU (once with
 * --once); *count gets the number made. */
static double rate(huella_finger_prepared *const *probe, huella_finger_prepared *const *cand, int n,
                   uint64_t *count)
{
    volatile double sink = 0;
    uint64_t done = 0;
    double t0 = cpu_seconds(), elapsed;
    do {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j)
                    sink += huella_finger_compare(probe[i], cand[j]);
        done += (uint64_t)n * (uint64_t)(n - 1);
        elapsed = cpu_seconds() - t0;
    } while (!once && elapsed < 0.5);
    (void)sink;
    *count += done;
    return (double)done / elapsed;
}

static void bench_db(const char *name, const char *dir, double ppi, bool extracted)
{
    static huella_finger_prepared *full[MAX_T], *compact[MAX_T];
    static double prep_us[MAX_T];
    const char *source = extracted ? "extracted" : "iso";
    int n = load_dir(dir, extracted, ppi, full, compact, prep_us);
    if (n < 2) {
        fprintf(stderr, "%s: fewer than two templates (%s)\n", dir, source);
        return;
    }
    if (scores) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j)
                    printf("%s %s %d %d %a %a\n", name, source, i, j,
                           huella_finger_compare(full[i], full[j]),
                           huella_finger_compare(compact[i], compact[j]));
        for (int i = 0; i < n; i++) {
            huella_finger_prepared_free(full[i]);
            huella_finger_prepared_free(compact[i]);
        }
        return;
    }
    qsort(prep_us, (size_t)n, sizeof(double), cmp_double);
    double bytes_full = 0, bytes_compact = 0, bytes_serialised = 0;
    for (int i = 0; i < n; i++) {
        bytes_full += (double)huella_finger_prepared_size(full[i]);
        bytes_compact += (double)huella_finger_prepared_size(compact[i]);
        uint8_t *ser = NULL;
        size_t len = 0;
        if (huella_finger_prepared_serialize(compact[i], &ser, &len, NULL) == HUELLA_OK)
            bytes_serialised += (double)len;
        free(ser);
    }
    /* Alternate 1:1 and gallery runs; the median of each. */
    int runs = once ? 1 : REPEATS;
    double r1[REPEATS], rg[REPEATS];
    uint64_t count = 0, gallery_count = 0;
    for (int k = 0; k < runs; k++) {
        r1[k] = rate(full, full, n, &count);
        rg[k] = rate(full, compact, n, &gallery_count);
    }
    qsort(r1, (size_t)runs, sizeof(double), cmp_double);
    qsort(rg, (size_t)runs, sizeof(double), cmp_double);
    double per_second = r1[runs / 2], gallery = rg[runs / 2];
    printf("{\"bench\":\"finger_match\",\"dataset\":\"%s\",\"source\":\"%s\",\"templates\":%d,"
           "\"clock\":\"process_cpu\",\"runs\":%d,\"comparisons\":%llu,"
           "\"comparisons_per_second\":%.0f,\"comparisons_per_second_min\":%.0f,"
           "\"comparisons_per_second_max\":%.0f,\"target_ratio\":%.2f,\"compare_us_mean\":%.3f,"
           "\"gallery_comparisons_per_second\":%.0f,\"prepare_us_median\":%.1f,"
           "\"bytes_prepared\":%.0f,\"bytes_compact\":%.0f,\"bytes_serialised\":%.0f",
           name, source, n, runs, (unsigned long long)count, per_second, r1[0], r1[runs - 1],
           per_second / TARGET, 1e6 / per_second, gallery, prep_us[n / 2], bytes_full / n,
           bytes_compact / n, bytes_serialised / n);
    double before = baseline_of(name, source);
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

static void bench_both(const char *name, const char *dir, double ppi)
{
    if (use_iso)
        bench_db(name, dir, ppi, false);
    if (use_extracted)
        bench_db(name, dir, ppi, true);
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
        } else if (argc > first && strcmp(argv[first], "--iso") == 0) {
            use_extracted = false;
            first++;
        } else if (argc > first && strcmp(argv[first], "--extracted") == 0) {
            use_iso = false;
            first++;
        } else {
            break;
        }
    }
    if (argc > first) {
        for (int i = first; i < argc; i++) {
            /* DIR[:PPI] */
            char dir[4096];
            snprintf(dir, sizeof(dir), "%s", argv[i]);
            double ppi = 500;
            char *colon = strrchr(dir, ':');
            if (colon != NULL && colon[1] != '\0' &&
                strspn(colon + 1, "0123456789.") == strlen(colon + 1)) {
                ppi = strtod(colon + 1, NULL);
                *colon = '\0';
            }
            bench_both(dir, dir, ppi);
        }
        return 0;
    }
    const char *dbs[] = {"DB1_B", "DB2_B", "DB3_B", "DB4_B"};
    const double ppis[] = {500, 569, 500, 500};
    for (int i = 0; i < 4; i++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/finger/fvc2002/%s", HUELLA_DATA_DIR, dbs[i]);
        bench_both(dbs[i], dir, ppis[i]);
    }
    return 0;
}
