/*
 * bench_face_libs.c - which library should do the face recogniser's heavy
 * arithmetic?  Runs every distinct convolution shape of the ResNet
 * (face_recognition_model, 150 x 150 input, NHWC float32) through:
 *  - "naive": a plain six-deep loop (the baseline, measured in the same run);
 *  - "openblas": im2col + OpenBLAS cblas_sgemm (huella's face_conv2d);
 *  - "blis": the same im2col + BLIS bli_sgemm (when BLIS was found);
 *  - "xnnpack": XNNPACK's xnn_create_convolution2d_nhwc_f32 operator, the
 *    weights packed once when it is created, setup + run timed (when the
 *    Debian XNNPACK and its pthreadpool header were found).
 * Everything on one thread.  Prints one JSON object per shape (median CPU
 * time of this thread in ms, the ratio to the naive loop, the largest
 * difference from the naive result) and a "total" line weighting each shape
 * by how often the network runs it.
 *
 * usage: bench_face_libs [REPEATS]
 */
#define _POSIX_C_SOURCE 200809L
#include "face/face_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HUELLA_BENCH_BLIS
#include <blis.h>
#include <dlfcn.h>
/* BLIS exports cblas_sgemm too: it is opened privately (RTLD_LOCAL) so that
 * cblas_sgemm below stays OpenBLAS's. */
typedef void (*blis_sgemm_fn)(trans_t, trans_t, dim_t, dim_t, dim_t, float *, float *, inc_t, inc_t,
                              float *, inc_t, inc_t, float *, float *, inc_t, inc_t);
typedef void (*blis_threads_fn)(dim_t);
#endif
#ifdef HUELLA_BENCH_XNNPACK
#include <xnnpack.h>
#endif

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
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

typedef struct shape {
    int h, cin, k, cout, stride;
    face_pad pad;
    int count; /* how many times the network runs it */
} shape;

/* The recogniser's convolutions (recog.c). */
static const shape shapes[] = {
    {150, 3, 7, 32, 2, FACE_PAD_VALID, 1},  {35, 32, 3, 32, 1, FACE_PAD_SAME, 6},
    {35, 32, 3, 64, 2, FACE_PAD_VALID, 1},  {17, 64, 3, 64, 1, FACE_PAD_SAME, 7},
    {17, 64, 3, 128, 2, FACE_PAD_VALID, 1}, {8, 128, 3, 128, 1, FACE_PAD_SAME, 5},
    {8, 128, 3, 256, 2, FACE_PAD_VALID, 1}, {3, 256, 3, 256, 1, FACE_PAD_SAME, 1},
    {4, 256, 3, 256, 1, FACE_PAD_SAME, 4},  {4, 256, 3, 256, 2, FACE_PAD_VALID, 1},
    {1, 256, 3, 256, 1, FACE_PAD_SAME, 1},
};

static int pad_before(int in, int out, int k, int stride, face_pad pad)
{
    if (pad == FACE_PAD_VALID)
        return 0;
    int total = (out - 1) * stride + k - in;
    return total > 0 ? total / 2 : 0;
}

static void naive_conv(const float *x, const shape *s, const float *f, float *y, int oh)
{
    int pt = pad_before(s->h, oh, s->k, s->stride, s->pad);
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < oh; ox++)
            for (int co = 0; co < s->cout; co++) {
                float acc = 0.0f;
                for (int ky = 0; ky < s->k; ky++)
                    for (int kx = 0; kx < s->k; kx++) {
                        int iy = oy * s->stride + ky - pt, ix = ox * s->stride + kx - pt;
                        if (iy < 0 || ix < 0 || iy >= s->h || ix >= s->h)
                            continue;
                        const float *px =
                            x + ((size_t)iy * (size_t)s->h + (size_t)ix) * (size_t)s->cin;
                        const float *pf =
                            f + ((size_t)(ky * s->k + kx) * (size_t)s->cin) * (size_t)s->cout +
                            (size_t)co;
                        for (int ci = 0; ci < s->cin; ci++)
                            acc += px[ci] * pf[(size_t)ci * (size_t)s->cout];
                    }
                y[((size_t)oy * (size_t)oh + (size_t)ox) * (size_t)s->cout + (size_t)co] = acc;
            }
}

static void im2col(const float *x, const shape *s, int oh, float *col)
{
    int pt = pad_before(s->h, oh, s->k, s->stride, s->pad);
    size_t kdim = (size_t)s->k * (size_t)s->k * (size_t)s->cin;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < oh; ox++) {
            float *dst = col + ((size_t)oy * (size_t)oh + (size_t)ox) * kdim;
            for (int ky = 0; ky < s->k; ky++)
                for (int kx = 0; kx < s->k; kx++) {
                    int iy = oy * s->stride + ky - pt, ix = ox * s->stride + kx - pt;
                    float *d = dst + (size_t)(ky * s->k + kx) * (size_t)s->cin;
                    if (iy < 0 || ix < 0 || iy >= s->h || ix >= s->h)
                        memset(d, 0, (size_t)s->cin * sizeof(float));
                    else
                        memcpy(d, x + ((size_t)iy * (size_t)s->h + (size_t)ix) * (size_t)s->cin,
                               (size_t)s->cin * sizeof(float));
                }
        }
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 21;
    if (reps < 3 || reps > 101)
        reps = 21;
    openblas_set_num_threads(1);
#ifdef HUELLA_BENCH_BLIS
    void *blis = dlopen(HUELLA_BLIS_LIB, RTLD_NOW | RTLD_LOCAL);
    blis_sgemm_fn blis_sgemm = NULL;
    blis_threads_fn blis_threads = NULL;
    if (blis != NULL) {
        /* POSIX allows converting dlsym's result to a function pointer. */
        void *fs = dlsym(blis, "bli_sgemm"), *ft = dlsym(blis, "bli_thread_set_num_threads");
        memcpy(&blis_sgemm, &fs, sizeof fs);
        memcpy(&blis_threads, &ft, sizeof ft);
    }
    if (blis_sgemm == NULL || blis_threads == NULL) {
        fprintf(stderr, "bench_face_libs: cannot open BLIS (%s)\n", HUELLA_BLIS_LIB);
        return 3;
    }
    blis_threads(1);
#endif
#ifdef HUELLA_BENCH_XNNPACK
    if (xnn_initialize(NULL) != xnn_status_success) {
        fprintf(stderr, "bench_face_libs: xnn_initialize failed\n");
        return 3;
    }
#endif
    double total[4] = {0, 0, 0, 0}; /* naive, openblas, blis, xnnpack */
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        int oh = face_out_size(s->h, s->k, s->stride, s->pad);
        size_t nx = (size_t)s->h * (size_t)s->h * (size_t)s->cin;
        size_t nf = (size_t)s->k * (size_t)s->k * (size_t)s->cin * (size_t)s->cout;
        size_t ny = (size_t)oh * (size_t)oh * (size_t)s->cout;
        size_t kdim = (size_t)s->k * (size_t)s->k * (size_t)s->cin;
        float *x = malloc(nx * sizeof(float)), *f = malloc(nf * sizeof(float));
        float *fo = malloc(nf * sizeof(float)); /* [cout][k][k][cin] for XNNPACK */
        float *zero = calloc((size_t)s->cout, sizeof(float));
        float *yn = malloc(ny * sizeof(float)), *y = malloc(ny * sizeof(float));
        float *col = malloc((size_t)oh * (size_t)oh * kdim * sizeof(float));
        if (!x || !f || !fo || !zero || !yn || !y || !col) {
            fprintf(stderr, "bench_face_libs: out of memory\n");
            return 3;
        }
        for (size_t i = 0; i < nx; i++)
            x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        for (size_t i = 0; i < nf; i++)
            f[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
        for (size_t t = 0; t < kdim; t++)
            for (int co = 0; co < s->cout; co++)
                fo[(size_t)co * kdim + t] = f[t * (size_t)s->cout + (size_t)co];
        double tn[101], to[101], tb[101], tx[101];
        double dn = 0, dob = 0, dbl = NAN, dxn = NAN;
        int naive_reps = reps < 3 ? reps : 3;
        for (int r = 0; r < reps; r++) {
            double t0 = cpu_ms();
            if (r < naive_reps)
                naive_conv(x, s, f, yn, oh);
            double t1 = cpu_ms();
            tn[r] = t1 - t0;
            /* OpenBLAS, as face_conv2d does it. */
            t0 = cpu_ms();
            im2col(x, s, oh, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, oh * oh, s->cout, (int)kdim,
                        1.0f, col, (int)kdim, f, s->cout, 0.0f, y, s->cout);
            to[r] = cpu_ms() - t0;
            dob = fmax(dob, max_diff(y, yn, ny));
#ifdef HUELLA_BENCH_BLIS
            t0 = cpu_ms();
            im2col(x, s, oh, col);
            float one = 1.0f, zf = 0.0f;
            blis_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, oh * oh, s->cout, (dim_t)kdim, &one,
                       col, (inc_t)kdim, 1, f, s->cout, 1, &zf, y, s->cout, 1);
            tb[r] = cpu_ms() - t0;
            dbl = r == 0 ? 0 : dbl;
            dbl = fmax(dbl, max_diff(y, yn, ny));
#else
            tb[r] = NAN;
#endif
            tx[r] = NAN;
        }
#ifdef HUELLA_BENCH_XNNPACK
        {
            xnn_operator_t op = NULL;
            int pt = pad_before(s->h, oh, s->k, s->stride, s->pad);
            int pb = s->pad == FACE_PAD_SAME ? (oh - 1) * s->stride + s->k - s->h - pt : 0;
            if (pb < 0)
                pb = 0;
            enum xnn_status xs = xnn_create_convolution2d_nhwc_f32(
                (uint32_t)pt, (uint32_t)pb, (uint32_t)pb, (uint32_t)pt, (uint32_t)s->k,
                (uint32_t)s->k, (uint32_t)s->stride, (uint32_t)s->stride, 1, 1, 1, (size_t)s->cin,
                (size_t)s->cout, (size_t)s->cin, (size_t)s->cout, fo, zero, -INFINITY, INFINITY, 0,
                &op);
            if (xs != xnn_status_success) {
                fprintf(stderr, "bench_face_libs: XNNPACK refused the shape (%d)\n", (int)xs);
                return 3;
            }
            dxn = 0;
            for (int r = 0; r < reps; r++) {
                double t0 = cpu_ms();
                xs =
                    xnn_setup_convolution2d_nhwc_f32(op, 1, (size_t)s->h, (size_t)s->h, x, y, NULL);
                if (xs == xnn_status_success)
                    xs = xnn_run_operator(op, NULL);
                tx[r] = cpu_ms() - t0;
                if (xs != xnn_status_success) {
                    fprintf(stderr, "bench_face_libs: XNNPACK failed (%d)\n", (int)xs);
                    return 3;
                }
                dxn = fmax(dxn, max_diff(y, yn, ny));
            }
            xnn_delete_operator(op);
        }
#endif
        double mn = median(tn, naive_reps), mo = median(to, reps);
        double mb = median(tb, reps), mx = median(tx, reps);
        dn = 0;
        printf("{\"bench\": \"conv\", \"shape\": \"%dx%dx%d k%d/%d %s -> %dx%dx%d\", "
               "\"times_in_net\": %d, \"gflop\": %.4f, \"naive_ms\": %.3f, \"openblas_ms\": %.3f, "
               "\"blis_ms\": %.3f, \"xnnpack_ms\": %.3f, \"openblas_ratio\": %.1f, "
               "\"blis_ratio\": %.1f, \"xnnpack_ratio\": %.1f, \"max_abs_diff\": [%.2g, %.2g, "
               "%.2g]}\n",
               s->h, s->h, s->cin, s->k, s->stride, s->pad == FACE_PAD_SAME ? "same" : "valid", oh,
               oh, s->cout, s->count, 2.0 * (double)ny * (double)kdim / 1e9, mn, mo, mb, mx,
               mn / mo, mn / mb, mn / mx, dob + dn, dbl, dxn);
        fflush(stdout);
        total[0] += s->count * mn;
        total[1] += s->count * mo;
        total[2] += s->count * mb;
        total[3] += s->count * mx;
        free(x);
        free(f);
        free(fo);
        free(zero);
        free(yn);
        free(y);
        free(col);
    }
    printf("{\"bench\": \"conv_total\", \"what\": \"all convolutions of one descriptor pass\", "
           "\"naive_ms\": %.2f, \"openblas_ms\": %.2f, \"blis_ms\": %.2f, \"xnnpack_ms\": %.2f, "
           "\"openblas_ratio\": %.1f, \"blis_ratio\": %.1f, \"xnnpack_ratio\": %.1f, "
           "\"openblas_core\": \"%s\"}\n",
           total[0], total[1], total[2], total[3], total[0] / total[1], total[0] / total[2],
           total[0] / total[3], openblas_get_corename());
#ifdef HUELLA_BENCH_XNNPACK
    xnn_deinitialize();
#endif
    return 0;
}
