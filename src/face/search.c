/*
 * search.c - 1:N comparison of face templates.
 *
 * The gallery keeps every template's int8 values packed one after another
 * (128 bytes, 32-byte aligned) with its scale and squared length beside.
 * A probe's squared distance to entry i is
 * |p|^2 + |g_i|^2 - 2 s_p s_i <q_p, q_i>; the dot product is summed in
 * 32-bit integers, exactly, so the AVX2 kernel (sign-extend to 16 bits,
 * vpmaddwd, add) and the portable loop give identical bits.  The AVX2
 * kernel is compiled with a function-level target attribute and chosen at
 * run time (__builtin_cpu_supports), as the iris search does.
 */
#define _POSIX_C_SOURCE 200809L
#include "face/face_internal.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct huella_face_gallery {
    int8_t *q; /* n * 128, aligned to 32 */
    float *scale;
    float *norm2;
    size_t n, cap;
};

huella_status huella_face_gallery_new(size_t capacity, huella_face_gallery **out, huella_error *err)
{
    *out = NULL;
    if (capacity == 0)
        capacity = 1024;
    size_t bytes;
    if (!huella_size_mul(capacity, HUELLA_FACE_DIM, &bytes))
        return huella_error_set(err, HUELLA_E_INPUT, "gallery capacity too large");
    huella_face_gallery *g = calloc(1, sizeof *g);
    if (g == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    g->q = aligned_alloc(32, bytes);
    g->scale = malloc(capacity * sizeof(float));
    g->norm2 = malloc(capacity * sizeof(float));
    if (g->q == NULL || g->scale == NULL || g->norm2 == NULL) {
        huella_face_gallery_free(g);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    g->cap = capacity;
    *out = g;
    return HUELLA_OK;
}

void huella_face_gallery_free(huella_face_gallery *g)
{
    if (g == NULL)
        return;
    free(g->q);
    free(g->scale);
    free(g->norm2);
    free(g);
}

size_t huella_face_gallery_size(const huella_face_gallery *g)
{
    return g->n;
}

huella_status huella_face_gallery_add(huella_face_gallery *g, const huella_face_template *t,
                                      huella_error *err)
{
    if (g->n == g->cap) {
        size_t cap = g->cap * 2, bytes;
        if (!huella_size_mul(cap, HUELLA_FACE_DIM, &bytes))
            return huella_error_set(err, HUELLA_E_NOMEM, "gallery too large");
        int8_t *q = aligned_alloc(32, bytes);
        float *s = realloc(g->scale, cap * sizeof(float));
        if (s != NULL)
            g->scale = s;
        float *n2 = realloc(g->norm2, cap * sizeof(float));
        if (n2 != NULL)
            g->norm2 = n2;
        if (q == NULL || s == NULL || n2 == NULL) {
            free(q);
            return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        }
        memcpy(q, g->q, g->n * HUELLA_FACE_DIM);
        free(g->q);
        g->q = q;
        g->cap = cap;
    }
    memcpy(g->q + g->n * HUELLA_FACE_DIM, t->q, HUELLA_FACE_DIM);
    g->scale[g->n] = t->scale;
    g->norm2[g->n] = t->norm2;
    g->n++;
    return HUELLA_OK;
}

static float finish(const huella_face_gallery *g, const huella_face_template *p, size_t i,
                    int32_t dot)
{
    double d2 = (double)p->norm2 + (double)g->norm2[i] -
                2.0 * (double)p->scale * (double)g->scale[i] * (double)dot;
    return d2 > 0 ? (float)d2 : 0.0f;
}

static void distances_portable(const huella_face_gallery *g, const huella_face_template *p,
                               float *out)
{
    for (size_t i = 0; i < g->n; i++) {
        const int8_t *q = g->q + i * HUELLA_FACE_DIM;
        int32_t dot = 0;
        for (int k = 0; k < HUELLA_FACE_DIM; k++)
            dot += (int32_t)p->q[k] * q[k];
        out[i] = finish(g, p, i, dot);
    }
}

__attribute__((target("avx2"))) static void
distances_avx2(const huella_face_gallery *g, const huella_face_template *p, float *out)
{
    __m256i pw[8];
    for (int k = 0; k < 8; k++)
        pw[k] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p->q + 16 * k)));
    for (size_t i = 0; i < g->n; i++) {
        const int8_t *q = g->q + i * HUELLA_FACE_DIM;
        __m256i acc = _mm256_setzero_si256();
        for (int k = 0; k < 8; k++) {
            __m256i gw = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(q + 16 * k)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pw[k], gw));
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
        out[i] = finish(g, p, i, _mm_cvtsi128_si32(s));
    }
}

huella_status huella_face_gallery_distances(const huella_face_gallery *g,
                                            const huella_face_template *probe,
                                            huella_face_kernel kernel, float *out,
                                            huella_error *err)
{
    bool avx2 = __builtin_cpu_supports("avx2");
    if (kernel == HUELLA_FACE_KERNEL_AVX2 && !avx2)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "this CPU has no AVX2");
    if (kernel != HUELLA_FACE_KERNEL_PORTABLE && avx2)
        distances_avx2(g, probe, out);
    else
        distances_portable(g, probe, out);
    return HUELLA_OK;
}

huella_status huella_face_gallery_remove(huella_face_gallery *g, size_t i, huella_error *err)
{
    if (i >= g->n)
        return huella_error_set(err, HUELLA_E_NOTFOUND, "face gallery: no entry %zu (of %zu)", i,
                                g->n);
    size_t last = --g->n;
    if (i != last) {
        memcpy(g->q + i * HUELLA_FACE_DIM, g->q + last * HUELLA_FACE_DIM, HUELLA_FACE_DIM);
        g->scale[i] = g->scale[last];
        g->norm2[i] = g->norm2[last];
    }
    return HUELLA_OK;
}

/* ---- threads over shards ---------------------------------------------------- */

#define MAX_SHARDS 64

/* A view of entries [begin, end) of a gallery: the kernels only read n,
 * q, scale and norm2, so a shard is the same structure offset. */
typedef struct shard {
    huella_face_gallery view;
    const huella_face_template *probe;
    bool avx2;
    float *out;
} shard;

static void *shard_run(void *arg)
{
    shard *s = arg;
    if (s->avx2)
        distances_avx2(&s->view, s->probe, s->out);
    else
        distances_portable(&s->view, s->probe, s->out);
    return NULL;
}

huella_status huella_face_gallery_distances_mt(const huella_face_gallery *g,
                                               const huella_face_template *probe,
                                               huella_face_kernel kernel, unsigned threads,
                                               float *out, huella_error *err)
{
    bool avx2 = __builtin_cpu_supports("avx2");
    if (kernel == HUELLA_FACE_KERNEL_AVX2 && !avx2)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "this CPU has no AVX2");
    avx2 = avx2 && kernel != HUELLA_FACE_KERNEL_PORTABLE;
    if (threads < 1)
        threads = 1;
    if (threads > MAX_SHARDS)
        threads = MAX_SHARDS;
    /* shards of at least 4096 entries, cut at multiples of 64 */
    size_t max_shards = g->n / 4096;
    if (threads > max_shards)
        threads = (unsigned)(max_shards > 0 ? max_shards : 1);
    shard sh[MAX_SHARDS];
    pthread_t tid[MAX_SHARDS];
    bool started[MAX_SHARDS] = {false};
    size_t per = (g->n / threads + 63) / 64 * 64;
    for (unsigned t = 0; t < threads; t++) {
        size_t b = (size_t)t * per < g->n ? (size_t)t * per : g->n;
        size_t e = b + per < g->n && t + 1 < threads ? b + per : g->n;
        sh[t] = (shard){.view = {.q = g->q + b * HUELLA_FACE_DIM,
                                 .scale = g->scale + b,
                                 .norm2 = g->norm2 + b,
                                 .n = e - b,
                                 .cap = e - b},
                        .probe = probe,
                        .avx2 = avx2,
                        .out = out + b};
    }
    /* a thread that cannot start leaves its shard to the calling thread */
    for (unsigned t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, shard_run, &sh[t]) == 0;
    shard_run(&sh[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            shard_run(&sh[t]);
    }
    return HUELLA_OK;
}
