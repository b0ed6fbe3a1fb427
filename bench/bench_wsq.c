/*
 * bench_wsq.c - speed of the WSQ decoder and encoder, and of the lossless
 * JPEG decoder.
 *
 * Decodes interchange/wsq/fp-1.wsq (804 x 752, a 500 ppi fingerprint, the
 * size of the 800 x 750 target) and encodes its pixels at 0.75 bpp, each
 * RUNS times on one thread, and prints one JSON object per line with the
 * median and the fastest wall-clock time and the median CPU time of the
 * thread, in milliseconds.  As a baseline measured in
 * the same run, the decoder is compared with libpng decoding the PNG of
 * the same pixels (ratio_to_png: WSQ decode time over PNG decode time).
 * The lossless JPEG line decodes the first SOF3 image of
 * interchange/an2k/type-10-14-17-piv-index-iris.an2.
 *
 * usage: bench_wsq [RUNS]      (default 31)
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/wsq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this thread: on a machine shared with other work it is a
 * steadier figure than the wall clock, which is printed too. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint8_t *load(const char *relative, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", HUELLA_DATA_DIR, relative);
    uint8_t *data;
    huella_error err;
    if (huella_file_read(path, 0, &data, len, &err) != HUELLA_OK) {
        fprintf(stderr, "bench_wsq: %s\n", err.message);
        exit(1);
    }
    return data;
}

typedef huella_status (*decoder)(const uint8_t *, size_t, const huella_image_limits *,
                                 huella_image **, huella_error *);

/* Median and minimum of runs of decoding data, in ms. */
static void time_decode(decoder dec, const uint8_t *data, size_t len, int runs, double *median,
                        double *best, double *cpu, huella_image **keep)
{
    double *t = malloc((size_t)runs * sizeof(double));
    double *c = malloc((size_t)runs * sizeof(double));
    for (int r = 0; r < runs; r++) {
        huella_image *img = NULL;
        huella_error err;
        uint64_t t0 = huella_now_ns(), c0 = cpu_ns();
        if (dec(data, len, NULL, &img, &err) != HUELLA_OK) {
            fprintf(stderr, "bench_wsq: %s\n", err.message);
            exit(1);
        }
        t[r] = (double)(huella_now_ns() - t0) / 1e6;
        c[r] = (double)(cpu_ns() - c0) / 1e6;
        if (r == 0 && keep != NULL)
            *keep = img;
        else
            huella_image_free(img);
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    qsort(c, (size_t)runs, sizeof(double), cmp_double);
    *median = t[runs / 2];
    *best = t[0];
    *cpu = c[runs / 2];
    free(t);
    free(c);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 31;
    if (runs < 1)
        runs = 1;
    size_t len, png_len, an2_len;
    uint8_t *wsq = load("interchange/wsq/fp-1.wsq", &len);
    uint8_t *png = load("interchange/wsq/fp-1.png", &png_len);
    huella_image *img = NULL;
    double med, best, cpu, png_med, png_best, png_cpu;
    time_decode(huella_image_decode_wsq, wsq, len, runs, &med, &best, &cpu, &img);
    time_decode(huella_image_decode_png, png, png_len, runs, &png_med, &png_best, &png_cpu, NULL);
    printf("{\"bench\":\"wsq_decode\",\"file\":\"interchange/wsq/fp-1.wsq\",\"width\":%u,"
           "\"height\":%u,\"runs\":%d,\"median_ms\":%.3f,\"min_ms\":%.3f,\"cpu_median_ms\":%.3f,"
           "\"target_ms\":10,\"png_decode_cpu_median_ms\":%.3f,\"ratio_to_png\":%.3f}\n",
           img->width, img->height, runs, med, best, cpu, png_cpu, cpu / png_cpu);

    double *t = malloc((size_t)runs * sizeof(double));
    double *c = malloc((size_t)runs * sizeof(double));
    size_t out_len = 0;
    for (int r = 0; r < runs; r++) {
        uint8_t *out = NULL;
        huella_error err;
        uint64_t t0 = huella_now_ns(), c0 = cpu_ns();
        if (huella_wsq_encode(img, 0.75, 500, &out, &out_len, &err) != HUELLA_OK) {
            fprintf(stderr, "bench_wsq: %s\n", err.message);
            return 1;
        }
        t[r] = (double)(huella_now_ns() - t0) / 1e6;
        c[r] = (double)(cpu_ns() - c0) / 1e6;
        free(out);
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    qsort(c, (size_t)runs, sizeof(double), cmp_double);
    printf("{\"bench\":\"wsq_encode\",\"file\":\"interchange/wsq/fp-1.wsq\",\"width\":%u,"
           "\"height\":%u,\"runs\":%d,\"bitrate\":0.75,\"bytes\":%zu,\"median_ms\":%.3f,"
           "\"min_ms\":%.3f,\"cpu_median_ms\":%.3f,\"target_ms\":20}\n",
           img->width, img->height, runs, out_len, t[runs / 2], t[0], c[runs / 2]);
    free(t);
    free(c);

    uint8_t *an2 = load("interchange/an2k/type-10-14-17-piv-index-iris.an2", &an2_len);
    size_t at = an2_len;
    for (size_t i = 0; i + 2 < an2_len && at == an2_len; i++)
        if (an2[i] == 0xff && an2[i + 1] == 0xd8 && huella_jpeg_is_lossless(an2 + i, an2_len - i))
            at = i;
    if (at < an2_len) {
        huella_image *jl = NULL;
        time_decode(huella_image_decode_jpegl, an2 + at, an2_len - at, runs, &med, &best, &cpu,
                    &jl);
        printf("{\"bench\":\"jpegl_decode\",\"file\":\"interchange/an2k/"
               "type-10-14-17-piv-index-iris.an2\",\"offset\":%zu,\"width\":%u,\"height\":%u,"
               "\"runs\":%d,\"median_ms\":%.3f,\"min_ms\":%.3f,\"cpu_median_ms\":%.3f}\n",
               at, jl->width, jl->height, runs, med, best, cpu);
        huella_image_free(jl);
    }
    huella_image_free(img);
    free(an2);
    free(wsq);
    free(png);
    return 0;
}
