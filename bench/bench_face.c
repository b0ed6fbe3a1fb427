/*
 * bench_face.c - speed of the face engine on one core.
 *
 * Prints one JSON object per line:
 *  - "conv": the two heaviest kinds of convolution of the recognition
 *    network (the 7 x 7 stride-2 stem on 150 x 150 x 3 and a 3 x 3
 *    32 -> 32 layer on 35 x 35) through XNNPACK (what huella runs), im2col
 *    + OpenBLAS sgemm and a naive six-deep loop, with the ratios to the
 *    naive loop (bench_face_libs does every shape, and BLIS);
 *  - "descriptor": the 128-D descriptor of an aligned 150 x 150 chip
 *    (target 12 ms) as huella computes it (XNNPACK, scale layers folded),
 *    and, as baselines in the same run, the plain layer-by-layer network
 *    with OpenBLAS convolutions and with naive-loop convolutions;
 *  - "pipeline_lfw": detection (with the border for tight crops),
 *    landmarks, alignment, quality and descriptor of an LFW image
 *    (target 25 ms), with the default two descriptor passes (chip and
 *    mirror) and with one;
 *  - "pipeline_640x480": the same for a 640 x 480 photo with one face
 *    (target 40 ms);
 *  - "search": 1:N comparisons per second against a packed gallery with
 *    the portable and the AVX2 kernel, and a naive float loop
 *    (huella_face_distance over float descriptors) as baseline (target 50
 *    million per second per core).
 * Times are medians over repetitions, in CPU time of this thread (the
 * machine is shared).  Everything runs on this one thread: OpenBLAS is set
 * to one thread and XNNPACK is given no thread pool.
 *
 * usage: bench_face [REPEATS]
 */
#define _POSIX_C_SOURCE 200809L
#include "face/face_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const huella_error *err)
{
    fprintf(stderr, "bench_face: %s\n", err->message);
    exit(3);
}

static void naive_conv(const face_map *x, const float *f, const float *bias, int k, int cout,
                       int stride, float *y, int oh, int ow)
{
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            for (int co = 0; co < cout; co++) {
                float s = bias[co];
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * stride + ky, ix = ox * stride + kx;
                        if (iy >= x->h || ix >= x->w)
                            continue;
                        const float *px = x->d + ((size_t)iy * x->w + ix) * x->c;
                        const float *pf = f + ((size_t)(ky * k + kx) * x->c) * cout + co;
                        for (int ci = 0; ci < x->c; ci++)
                            s += px[ci] * pf[(size_t)ci * cout];
                    }
                y[((size_t)oy * ow + ox) * cout + co] = s;
            }
}

static void bench_conv(const char *name, int h, int cin, int k, int cout, int stride, int reps)
{
    face_map x;
    huella_error err;
    if (face_map_alloc(&x, h, h, cin, &err) != HUELLA_OK)
        die(&err);
    size_t nf = (size_t)k * k * cin * cout;
    float *f = malloc(nf * sizeof(float)), *b = calloc((size_t)cout, sizeof(float));
    for (size_t i = 0; i < (size_t)h * h * cin; i++)
        x.d[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < nf; i++)
        f[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    int oh = face_out_size(h, k, stride, FACE_PAD_VALID);
    float *naive = malloc((size_t)oh * oh * cout * sizeof(float));
    double t_lib[64], t_naive[64], t_xnn[64];
    double maxdiff = 0;
    face_op_pool *pool;
    if (face_op_pool_new(&pool, &err) != HUELLA_OK)
        die(&err);
    face_op_cache *cache = face_op_pool_acquire(pool);
    face_map y;
    /* The first XNNPACK call packs the weights; huella does it once. */
    if (face_conv2d_fast(cache, &x, f, b, k, cout, stride, FACE_PAD_VALID, &y, &err) != HUELLA_OK)
        die(&err);
    face_map_release(&y);
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_ms();
        if (face_conv2d(&x, f, b, k, cout, stride, FACE_PAD_VALID, &y, &err) != HUELLA_OK)
            die(&err);
        double t1 = cpu_ms();
        naive_conv(&x, f, b, k, cout, stride, naive, oh, oh);
        double t2 = cpu_ms();
        t_lib[r] = t1 - t0;
        t_naive[r] = t2 - t1;
        for (size_t i = 0; i < (size_t)oh * oh * cout; i++)
            maxdiff = fmax(maxdiff, fabs(y.d[i] - naive[i]));
        face_map_release(&y);
        t0 = cpu_ms();
        if (face_conv2d_fast(cache, &x, f, b, k, cout, stride, FACE_PAD_VALID, &y, &err) !=
            HUELLA_OK)
            die(&err);
        t_xnn[r] = cpu_ms() - t0;
        for (size_t i = 0; i < (size_t)oh * oh * cout; i++)
            maxdiff = fmax(maxdiff, fabs(y.d[i] - naive[i]));
        face_map_release(&y);
    }
    face_op_pool_release(pool, cache);
    face_op_pool_free(pool);
    double ml = median(t_lib, reps), mn = median(t_naive, reps), mx = median(t_xnn, reps);
    printf("{\"bench\": \"conv\", \"layer\": \"%s\", \"xnnpack_ms\": %.3f, \"openblas_ms\": %.3f, "
           "\"naive_ms\": %.3f, \"xnnpack_ratio\": %.1f, \"openblas_ratio\": %.1f, "
           "\"max_abs_diff\": %.2g}\n",
           name, mx, ml, mn, mn / mx, mn / ml, maxdiff);
    free(naive);
    free(f);
    free(b);
    face_map_release(&x);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    if (reps < 3 || reps > 64)
        reps = 15;
    huella_error err;
    huella_face_models *m;
    if (huella_face_models_load(NULL, &m, &err) != HUELLA_OK)
        die(&err);
    openblas_set_num_threads(1);

    bench_conv("stem 7x7/2 150x150x3->32", 150, 3, 7, 32, 2, reps < 5 ? reps : 5);
    bench_conv("3x3 35x35x32->32", 37, 32, 3, 32, 1, reps < 5 ? reps : 5);

    /* An aligned chip from an LFW image. */
    huella_face_rgb *lfw;
    if (huella_face_rgb_read(HUELLA_DATA_DIR "/face/lfw-dev/Abel_Pacheco/Abel_Pacheco_0001.jpg",
                             &lfw, &err) != HUELLA_OK)
        die(&err);
    huella_face_sample s;
    huella_face_rgb *chip;
    if (huella_face_enrol(m, lfw, 0, 0, &s, &chip, &err) != HUELLA_OK)
        die(&err);
    double t[64];
    float d[HUELLA_FACE_DIM];
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_ms();
        if (huella_face_descriptor(m, chip, d, &err) != HUELLA_OK)
            die(&err);
        t[r] = cpu_ms() - t0;
    }
    double md = median(t, reps);
    /* Baselines: the plain network with OpenBLAS and with naive loops. */
    double tb[64], tn[3];
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_ms();
        if (face_recog_forward(m->recog, chip, d, &err) != HUELLA_OK)
            die(&err);
        tb[r] = cpu_ms() - t0;
    }
    for (int r = 0; r < 3; r++) {
        double t0 = cpu_ms();
        if (face_recog_forward_naive(m->recog, chip, d, &err) != HUELLA_OK)
            die(&err);
        tn[r] = cpu_ms() - t0;
    }
    double mb = median(tb, reps), mn = median(tn, 3);
    printf("{\"bench\": \"descriptor\", \"chip\": \"150x150\", \"ms\": %.2f, \"target_ms\": 12, "
           "\"plain_openblas_ms\": %.2f, \"naive_ms\": %.1f, \"ratio_to_naive\": %.1f, "
           "\"ratio_to_openblas\": %.2f}\n",
           md, mb, mn, mn / md, mb / md);
    for (unsigned flags = 0; flags <= HUELLA_FACE_ENROL_SINGLE_PASS; flags++) {
        for (int r = 0; r < reps; r++) {
            double t0 = cpu_ms();
            if (huella_face_enrol(m, lfw, 0, flags, &s, NULL, &err) != HUELLA_OK)
                die(&err);
            t[r] = cpu_ms() - t0;
        }
        printf("{\"bench\": \"pipeline_lfw\", \"image\": \"%ux%u\", \"descriptor_passes\": %d, "
               "\"ms\": %.2f, \"target_ms\": 25}\n",
               lfw->width, lfw->height, flags ? 1 : 2, median(t, reps));
    }

    /* A 640 x 480 photo: the LFW image enlarged 1.6 times on a grey wall. */
    huella_face_rgb *photo;
    if (huella_face_rgb_new(640, 480, &photo, &err) != HUELLA_OK)
        die(&err);
    memset(photo->pixels, 150, 640 * 480 * 3);
    for (int y = 0; y < 240; y++)
        for (int x = 0; x < 240; x++) {
            int sx = x * (int)lfw->width / 240, sy = y * (int)lfw->height / 240;
            memcpy(photo->pixels + ((size_t)(y + 100) * 640 + (size_t)(x + 250)) * 3,
                   lfw->pixels + ((size_t)sy * lfw->width + (size_t)sx) * 3, 3);
        }
    for (unsigned flags = 0; flags <= HUELLA_FACE_ENROL_SINGLE_PASS; flags++) {
        for (int r = 0; r < reps; r++) {
            double t0 = cpu_ms();
            if (huella_face_enrol(m, photo, 0, flags, &s, NULL, &err) != HUELLA_OK)
                die(&err);
            t[r] = cpu_ms() - t0;
        }
        printf("{\"bench\": \"pipeline_640x480\", \"descriptor_passes\": %d, \"ms\": %.2f, "
               "\"target_ms\": 40}\n",
               flags ? 1 : 2, median(t, reps));
    }

    /* 1:N. */
    size_t n = 200000;
    huella_face_gallery *g;
    if (huella_face_gallery_new(n, &g, &err) != HUELLA_OK)
        die(&err);
    float *flat = malloc(n * HUELLA_FACE_DIM * sizeof(float));
    uint64_t st = 12345;
    for (size_t i = 0; i < n; i++) {
        float *v = flat + i * HUELLA_FACE_DIM;
        for (int k = 0; k < HUELLA_FACE_DIM; k++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            v[k] = s.descriptor[k] + (float)((double)(st >> 40) / 16777216.0 - 0.5) * 0.2f;
        }
        huella_face_template tt;
        huella_face_template_from_descriptor(v, &tt);
        huella_face_gallery_add(g, &tt, &err);
    }
    float *out = malloc(n * sizeof(float));
    double best[3] = {1e30, 1e30, 1e30};
    double sink = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = cpu_ms();
        huella_face_gallery_distances(g, &s.tmpl, HUELLA_FACE_KERNEL_PORTABLE, out, &err);
        double t1 = cpu_ms();
        huella_status avx =
            huella_face_gallery_distances(g, &s.tmpl, HUELLA_FACE_KERNEL_AVX2, out, &err);
        double t2 = cpu_ms();
        for (size_t i = 0; i < n; i++)
            sink += huella_face_distance(s.descriptor, flat + i * HUELLA_FACE_DIM);
        double t3 = cpu_ms();
        best[0] = fmin(best[0], t1 - t0);
        best[1] = avx == HUELLA_OK ? fmin(best[1], t2 - t1) : NAN;
        best[2] = fmin(best[2], t3 - t2);
    }
    double naive = n / (best[2] / 1e3);
    printf("{\"bench\": \"search\", \"gallery\": %zu, \"naive_float_per_s\": %.0f, "
           "\"portable_per_s\": %.0f, \"avx2_per_s\": %.0f, \"portable_ratio\": %.2f, "
           "\"avx2_ratio\": %.2f, \"target_per_s\": 50000000, \"checksum\": %.3f}\n",
           n, naive, n / (best[0] / 1e3), n / (best[1] / 1e3),
           naive > 0 ? (n / (best[0] / 1e3)) / naive : 0,
           naive > 0 ? (n / (best[1] / 1e3)) / naive : 0, sink / (double)n);
    free(out);
    free(flat);
    huella_face_gallery_free(g);
    huella_face_rgb_free(photo);
    huella_face_rgb_free(chip);
    huella_face_rgb_free(lfw);
    huella_face_models_free(m);
    return 0;
}
