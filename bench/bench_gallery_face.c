/*
 * bench_gallery_face.c - face 1:N over a million templates, with threads
 * over shards.
 *
 * Prints one JSON object per line:
 *  - "face_1n": huella_face_gallery_distances_mt over N packed templates
 *    (default 1,000,000) on 1 and on 2 threads: comparisons per second of
 *    wall time (total) and per second of process CPU time (per core), and
 *    the 2-thread total as a ratio to the 1-thread run of the same process
 *    (the baseline);
 *  - "gallery_identify_face": huella_gallery_identify with a face probe
 *    against a gallery of N persons with one face each (the search, the
 *    best distance per person, calibration, ranking of the top 20), on 1
 *    and 2 threads, wall milliseconds per search.
 * Templates are generated (random unit descriptors): the loop's speed does
 * not depend on their values.  Best of REPEATS runs (the machine is
 * shared).
 *
 * usage: bench_gallery_face [N [REPEATS]]
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/face.h"
#include "huella/gallery.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const huella_error *err)
{
    fprintf(stderr, "bench_gallery_face: %s\n", err->message);
    exit(1);
}

static void random_template(uint64_t *x, huella_face_template *t)
{
    float d[HUELLA_FACE_DIM];
    double n2 = 0;
    for (int k = 0; k < HUELLA_FACE_DIM; k++) {
        *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
        d[k] = (float)((double)(*x >> 40) / 16777216.0 - 0.5);
        n2 += (double)d[k] * d[k];
    }
    for (int k = 0; k < HUELLA_FACE_DIM; k++)
        d[k] = (float)(d[k] / sqrt(n2));
    huella_face_template_from_descriptor(d, t);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 10000)
        n = 10000;
    if (reps < 1 || reps > 50)
        reps = 5;
    huella_error err;
    huella_face_gallery *fg;
    huella_gallery *g;
    if (huella_face_gallery_new(n, &fg, &err) != HUELLA_OK ||
        huella_gallery_new(&g, &err) != HUELLA_OK)
        die(&err);
    uint64_t x = 2026;
    huella_face_template t;
    for (size_t i = 0; i < n; i++) {
        random_template(&x, &t);
        if (huella_face_gallery_add(fg, &t, &err) != HUELLA_OK ||
            huella_gallery_add_face(g, i + 1, i, &t, &err) != HUELLA_OK)
            die(&err);
    }
    huella_face_template probe;
    random_template(&x, &probe);
    float *out = malloc(n * sizeof(float));
    if (out == NULL)
        return 1;
    double total[3] = {0}, per_core[3] = {0};
    double sink = 0;
    for (unsigned th = 1; th <= 2; th++) {
        double best_wall = INFINITY, best_cpu = INFINITY;
        for (int r = 0; r < reps; r++) {
            double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
            if (huella_face_gallery_distances_mt(fg, &probe, HUELLA_FACE_KERNEL_AUTO, th, out,
                                                 &err) != HUELLA_OK)
                die(&err);
            double w1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
            best_wall = fmin(best_wall, w1 - w0);
            best_cpu = fmin(best_cpu, c1 - c0);
            sink += out[n / 2];
        }
        total[th] = (double)n / best_wall;
        per_core[th] = (double)n / best_cpu;
        printf("{\"bench\": \"face_1n\", \"gallery\": %zu, \"threads\": %u, "
               "\"comparisons_per_s\": %.0f, \"comparisons_per_s_per_core\": %.0f, "
               "\"ms\": %.2f, \"ratio_to_1_thread\": %.2f, \"target_per_s_per_core\": 50000000}\n",
               n, th, total[th], per_core[th], best_wall * 1e3,
               total[1] > 0 ? total[th] / total[1] : 0);
    }
    double ms1 = 0;
    for (unsigned th = 1; th <= 2; th++) {
        huella_gallery_set_threads(g, th);
        double best = INFINITY;
        size_t cmp = 0;
        for (int r = 0; r < reps; r++) {
            huella_identify_result *res;
            double w0 = now_s(CLOCK_MONOTONIC);
            if (huella_gallery_identify(g, &(huella_probe){.face = &probe}, NULL, &res, &err) !=
                HUELLA_OK)
                die(&err);
            best = fmin(best, now_s(CLOCK_MONOTONIC) - w0);
            cmp = res->comparisons;
            sink += res->candidates[0].llr;
            huella_identify_result_free(res);
        }
        if (th == 1)
            ms1 = best * 1e3;
        printf("{\"bench\": \"gallery_identify_face\", \"persons\": %zu, \"threads\": %u, "
               "\"comparisons\": %zu, \"ms\": %.2f, \"ratio_to_1_thread\": %.2f, "
               "\"bytes_per_person\": %.1f, \"checksum\": %.4f}\n",
               huella_gallery_count(g), th, cmp, best * 1e3, ms1 / (best * 1e3),
               huella_gallery_bytes_per_person(g), sink);
    }
    free(out);
    huella_face_gallery_free(fg);
    huella_gallery_free(g);
    return 0;
}
