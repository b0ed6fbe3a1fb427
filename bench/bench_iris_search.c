/*
 * bench_iris_search.c - speed of the iris 1:N search loop.
 *
 * Builds a gallery of at least 1,000,000 iris codes derived from real ones:
 * the first image of each of the 108 CASIA-v1 eyes in the development data
 * is encoded with huella_iris_encode; every gallery template then takes
 * each of its 8 rows from a randomly chosen real code (so that templates
 * are distinct eyes with the statistics of real codes, not copies), is
 * rotated by a random -8..+8 positions, gets 2-12 % of its bits flipped and
 * its mask varied (a random eyelid arc on the outer rows and scattered
 * holes).  If the encoder is unavailable or fails on too many images, the
 * base codes are random but structured (smooth along the angle, as a
 * Gabor phase code is) and the output says so ("base": "synthetic").
 *
 * Each probe is another such template.  One comparison is one probe
 * against one template over all 2 * 8 + 1 = 17 shifts.  Reports, for the
 * portable kernel and every SIMD kernel this CPU supports, on one thread
 * (the gallery searched on the calling thread, top 10, no threshold) and
 * then with THREADS threads: comparisons per second of wall-clock time and
 * per core, that is per second of CPU time used by the process (the fair
 * measure on a machine shared with other jobs), with the ratio of the
 * latter to the portable kernel, and the bytes per template.  One JSON
 * object per line.  The target is 5 million comparisons per second per
 * core at +-8 shifts.
 *
 * usage: bench_iris_search [TEMPLATES [PROBES [THREADS]]]
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/image.h"
#include "huella/iris.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BASE 108

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned bit_of(const uint8_t *plane, unsigned k)
{
    return (plane[k / 8] >> (k % 8)) & 1u;
}

static void put_bit(uint8_t *plane, unsigned k, unsigned v)
{
    plane[k / 8] = (uint8_t)((plane[k / 8] & ~(1u << (k % 8))) | (v << (k % 8)));
}

/* Random code that is smooth along the angle: each bit keeps its value
 * from the previous position with probability 3/4, as phase bits of a
 * Gabor filter bank do. */
static void synthetic_code(huella_iris_code *c, uint64_t *s)
{
    memset(c, 0, sizeof *c);
    for (unsigned r = 0; r < HUELLA_IRIS_ROWS; r++)
        for (unsigned b = 0; b < 2; b++) {
            unsigned v = (unsigned)(next(s) & 1u);
            for (unsigned j = 0; j < HUELLA_IRIS_COLS; j++) {
                if (next(s) % 4 == 0)
                    v ^= 1u;
                put_bit(c->code, r * 256 + 2 * j + b, v);
            }
        }
    memset(c->mask, 0xff, sizeof c->mask);
}

/* Encode the first image of each CASIA-v1 eye; returns how many worked. */
static size_t real_codes(huella_iris_code *base)
{
    size_t n = 0;
    for (int eye = 1; eye <= MAX_BASE; eye++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/iris/casia-v1/%d/%03d_1_1.jpg", HUELLA_DATA_DIR, eye, eye);
        huella_image *img;
        if (huella_image_read(path, NULL, &img, NULL) != HUELLA_OK)
            continue;
        huella_iris_template *t;
        if (huella_iris_encode(img, NULL, &t, NULL) == HUELLA_OK) {
            base[n++] = t->code;
            huella_iris_template_free(t);
        }
        huella_image_free(img);
    }
    return n;
}

/* A gallery template or probe: rows from random base codes, rotated,
 * noisy, with its own mask. */
static void derive(const huella_iris_code *base, size_t nbase, huella_iris_code *out, uint64_t *s)
{
    int shift = (int)(next(s) % 17) - 8;
    for (unsigned r = 0; r < HUELLA_IRIS_ROWS; r++) {
        const huella_iris_code *src = &base[next(s) % nbase];
        for (unsigned k = 0; k < 256; k++) {
            unsigned from = r * 256 + (k + 256 - (unsigned)(2 * shift + 256) % 256) % 256;
            put_bit(out->code, r * 256 + k, bit_of(src->code, from));
            put_bit(out->mask, r * 256 + k, bit_of(src->mask, from));
        }
    }
    unsigned flips = 40 + (unsigned)(next(s) % 200);
    for (unsigned f = 0; f < flips; f++) {
        unsigned k = (unsigned)(next(s) % HUELLA_IRIS_CODE_BITS);
        put_bit(out->code, k, bit_of(out->code, k) ^ 1u);
    }
    unsigned arc = (unsigned)(next(s) % 30), centre = (unsigned)(next(s) % 128);
    for (unsigned r = 5; r < HUELLA_IRIS_ROWS; r++)
        for (unsigned j = 0; j < arc * (r - 4) / 3; j++) {
            unsigned k = r * 256 + 2 * ((centre + j) % HUELLA_IRIS_COLS);
            put_bit(out->mask, k, 0);
            put_bit(out->mask, k + 1, 0);
        }
    unsigned holes = (unsigned)(next(s) % 60);
    for (unsigned h = 0; h < holes; h++)
        put_bit(out->mask, (unsigned)(next(s) % HUELLA_IRIS_CODE_BITS), 0);
}

/* CPU time of the whole process (all threads), seconds. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Search every probe; returns wall seconds, *cpu the CPU seconds. */
static double run(huella_iris_gallery *g, const huella_iris_code *probes, size_t nprobes,
                  int threads, size_t *checksum, double *cpu)
{
    huella_iris_match m[10];
    double c0 = cpu_seconds();
    uint64_t t0 = huella_now_ns();
    for (size_t p = 0; p < nprobes; p++) {
        size_t n = 0;
        huella_error err;
        if (huella_iris_gallery_search(g, &probes[p], HUELLA_IRIS_DEFAULT_MAX_SHIFT, 10, 1.0,
                                       threads, m, &n, &err) != HUELLA_OK) {
            fprintf(stderr, "bench_iris_search: %s\n", err.message);
            exit(2);
        }
        for (size_t i = 0; i < n; i++)
            *checksum = *checksum * 31 + m[i].id + (size_t)(m[i].shift + 8);
    }
    *cpu = cpu_seconds() - c0;
    return (double)(huella_now_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    size_t ntemplates = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    size_t nprobes = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 4;
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    if (ntemplates < 1 || nprobes < 1 || threads < 1) {
        fprintf(stderr, "usage: bench_iris_search [TEMPLATES [PROBES [THREADS]]]\n");
        return 2;
    }
    static huella_iris_code base[MAX_BASE];
    uint64_t t0 = huella_now_ns();
    size_t nbase = real_codes(base);
    const char *kind = "casia-v1 encoded by huella_iris_encode";
    if (nbase < 20) {
        uint64_t s = 99;
        nbase = MAX_BASE;
        for (size_t i = 0; i < nbase; i++)
            synthetic_code(&base[i], &s);
        kind = "synthetic (random, smooth along the angle): the encoder was not available";
    }
    double encode_s = (double)(huella_now_ns() - t0) / 1e9;
    unsigned valid_sum = 0;
    for (size_t i = 0; i < nbase; i++)
        for (size_t k = 0; k < HUELLA_IRIS_CODE_BYTES; k++)
            valid_sum += (unsigned)__builtin_popcount(base[i].mask[k]);
    printf("{\"bench\":\"iris_search\",\"base\":\"%s\",\"base_codes\":%zu,"
           "\"mean_valid_bits\":%.0f,\"encode_seconds\":%.1f}\n",
           kind, nbase, (double)valid_sum / (double)nbase, encode_s);

    huella_iris_gallery *g;
    if (huella_iris_gallery_new(&g, NULL) != HUELLA_OK)
        return 2;
    uint64_t s = 12345;
    huella_iris_code c;
    t0 = huella_now_ns();
    for (size_t i = 0; i < ntemplates; i++) {
        derive(base, nbase, &c, &s);
        if (huella_iris_gallery_add(g, &c, NULL, NULL) != HUELLA_OK) {
            fprintf(stderr, "bench_iris_search: out of memory at %zu templates\n", i);
            return 2;
        }
    }
    huella_iris_code *probes = malloc(nprobes * sizeof *probes);
    if (!probes)
        return 2;
    for (size_t p = 0; p < nprobes; p++)
        derive(base, nbase, &probes[p], &s);
    printf("{\"bench\":\"iris_search\",\"templates\":%zu,\"bytes_per_template\":%zu,"
           "\"gallery_mib\":%.0f,\"build_seconds\":%.1f,\"shifts\":%d}\n",
           ntemplates, huella_iris_gallery_bytes_per_template(),
           (double)ntemplates * (double)huella_iris_gallery_bytes_per_template() / 1048576.0,
           (double)(huella_now_ns() - t0) / 1e9, 2 * HUELLA_IRIS_DEFAULT_MAX_SHIFT + 1);

    static const huella_iris_kernel kernels[] = {
        HUELLA_IRIS_KERNEL_PORTABLE, HUELLA_IRIS_KERNEL_AVX2, HUELLA_IRIS_KERNEL_AVX512BW,
        HUELLA_IRIS_KERNEL_AVX512};
    double portable_rate = 0;
    size_t portable_sum = 0;
    for (int pass = 0; pass < 2; pass++) {
        int nthreads = pass == 0 ? 1 : threads;
        for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
            if (!huella_iris_kernel_supported(kernels[k]))
                continue;
            huella_iris_gallery_set_kernel(g, kernels[k], NULL);
            size_t sum = 0;
            double cpu;
            double secs = run(g, probes, nprobes, nthreads, &sum, &cpu);
            double comparisons = (double)ntemplates * (double)nprobes;
            double per_core = comparisons / cpu;
            if (kernels[k] == HUELLA_IRIS_KERNEL_PORTABLE && pass == 0) {
                portable_rate = per_core;
                portable_sum = sum;
            }
            printf("{\"bench\":\"iris_search\",\"kernel\":\"%s\",\"threads\":%d,"
                   "\"comparisons_per_second\":%.0f,\"per_core\":%.0f,\"ratio_to_portable\":%.2f,"
                   "\"same_answer_as_portable\":%s}\n",
                   huella_iris_kernel_name(kernels[k]), nthreads, comparisons / secs, per_core,
                   portable_rate > 0 ? per_core / portable_rate : 0.0,
                   sum == portable_sum ? "true" : "false");
            fflush(stdout);
        }
    }
    huella_iris_gallery_free(g);
    free(probes);
    return 0;
}
