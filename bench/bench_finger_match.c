/*
 * bench_finger_match.c - speed of the fingerprint minutiae matcher.
 *
 * Loads the FVC2002 ISO/IEC 19794-2 templates of the development data
 * (HUELLA_DATA_DIR/finger/fvc2002/DB*_B/ *.iso, or the directory given as
 * the first argument), prepares each once, then compares every template
 * with every other on one thread for about two seconds per database: the
 * 1:N situation of one prepared probe against many prepared candidates.
 * Prints one JSON object per line: per database the comparisons per
 * second per core and the median preparation time.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/finger.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_T 512

static int load_dir(const char *dir, huella_finger_prepared **out, double *prep_us)
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
        st = huella_finger_prepare(t, &out[n], &err);
        prep_us[n] = (double)(huella_now_ns() - t0) / 1e3;
        huella_finger_template_free(t);
        if (st == HUELLA_OK)
            n++;
    }
    closedir(d);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bench_db(const char *name, const char *dir)
{
    static huella_finger_prepared *t[MAX_T];
    static double prep_us[MAX_T];
    int n = load_dir(dir, t, prep_us);
    if (n < 2) {
        fprintf(stderr, "%s: fewer than two templates\n", dir);
        return;
    }
    qsort(prep_us, (size_t)n, sizeof(double), cmp_double);
    volatile double sink = 0;
    uint64_t count = 0, t0 = huella_now_ns(), elapsed;
    do {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j)
                    sink += huella_finger_compare(t[i], t[j]);
        count += (uint64_t)n * (uint64_t)(n - 1);
        elapsed = huella_now_ns() - t0;
    } while (elapsed < 2000000000ull);
    double secs = (double)elapsed / 1e9;
    printf("{\"bench\":\"finger_match\",\"dataset\":\"%s\",\"templates\":%d,"
           "\"comparisons\":%llu,\"seconds\":%.3f,\"comparisons_per_second\":%.0f,"
           "\"compare_us_mean\":%.3f,\"prepare_us_median\":%.1f}\n",
           name, n, (unsigned long long)count, secs, (double)count / secs,
           secs * 1e6 / (double)count, prep_us[n / 2]);
    fflush(stdout);
    (void)sink;
    for (int i = 0; i < n; i++)
        huella_finger_prepared_free(t[i]);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
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
