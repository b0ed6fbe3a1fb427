/*
 * bench_finger_extract.c - time of fingerprint minutiae extraction.
 *
 * Decodes the FVC2002 images of the development data (DB1 500 ppi, DB2
 * 569 ppi, DB3 and DB4 500 ppi) once, then on one thread extracts every
 * image of each database REPEAT times and reports, per database, the
 * median and 90th percentile time per image (resampling to 500 ppi
 * included, decoding excluded) and the mean number of minutiae.  Prints
 * one JSON object per line.  The target is 40 ms per 500-ppi
 * image on one core; NIST's mindtct takes about 75 ms on these machines.
 *
 * usage: bench_finger_extract [REPEAT]
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/finger.h"
#include "huella/image.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int repeat = argc > 1 ? atoi(argv[1]) : 3;
    if (repeat < 1)
        repeat = 1;
    static const struct {
        const char *db;
        double ppi;
    } sets[] = {{"DB1_B", 500}, {"DB2_B", 569}, {"DB3_B", 500}, {"DB4_B", 500}};
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        huella_image *img[80];
        size_t n = 0;
        for (int f = 101; f <= 110; f++)
            for (int i = 1; i <= 8; i++) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/finger/fvc2002/%s/%d_%d.tif", HUELLA_DATA_DIR,
                         sets[s].db, f, i);
                huella_error err;
                if (huella_image_read(path, NULL, &img[n], &err) != HUELLA_OK) {
                    fprintf(stderr, "bench_finger_extract: %s\n", err.message);
                    return 2;
                }
                n++;
            }
        double *ms = malloc(n * (size_t)repeat * sizeof(double));
        if (ms == NULL)
            return 3;
        size_t k = 0, minutiae = 0, failed = 0;
        for (int r = 0; r < repeat; r++)
            for (size_t i = 0; i < n; i++) {
                huella_finger_template *t = NULL;
                uint64_t t0 = huella_now_ns();
                huella_status st = huella_finger_extract(img[i], sets[s].ppi, NULL, &t, NULL);
                ms[k++] = (double)(huella_now_ns() - t0) / 1e6;
                if (st == HUELLA_OK && r == 0)
                    minutiae += t->n_minutiae;
                failed += st != HUELLA_OK && r == 0;
                huella_finger_template_free(t);
            }
        qsort(ms, k, sizeof(double), cmp_double);
        printf("{\"bench\":\"finger_extract\",\"dataset\":\"%s\",\"ppi\":%g,\"images\":%zu,"
               "\"repeat\":%d,\"ms_median\":%.2f,\"ms_p90\":%.2f,\"images_per_second\":%.1f,"
               "\"minutiae_mean\":%.1f,\"failed\":%zu}\n",
               sets[s].db, sets[s].ppi, n, repeat, ms[k / 2], ms[k * 9 / 10], 1000.0 / ms[k / 2],
               (double)minutiae / (double)(n - failed ? n - failed : 1), failed);
        fflush(stdout);
        free(ms);
        for (size_t i = 0; i < n; i++)
            huella_image_free(img[i]);
    }
    return 0;
}
