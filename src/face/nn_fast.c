/*
 * nn_fast.c - the detector's and the landmark network's convolutions run by
 * XNNPACK (the recogniser has its own prepared operators, recog_fast.c).
 *
 * An XNNPACK operator packs its weights when it is made, which costs a good
 * part of a small network's time (the 1 x 1 matrices are gathered element
 * by element).  So the operators are kept in a cache (face_op_cache), keyed
 * by the weights and the input shape (the detector runs at several input
 * sizes), made on first use and only set up again afterwards.  A cache is
 * used by one thread at a time; the models keep a pool of them behind a
 * mutex (face_op_pool), like the recogniser's operator sets.  Without a
 * cache (NULL), or when one is full, an operator is made, run and deleted.
 * Depthwise filters are given
 * in TF's [k, k, c, 1] layout, which is XNNPACK's depthwise layout; full
 * convolutions are reordered to [cout, k, k, cin]; 1 x 1 convolutions are
 * XNNPACK's fully connected operator on the pixels with TF's [cin, cout]
 * matrix (XNN_FLAG_TRANSPOSE_WEIGHTS).  The semantics are those of nn.c's
 * plain versions, which the tests compare them with.
 */
#define _POSIX_C_SOURCE 200809L
#include "face/face_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

static int pad_before(int in, int out, int k, int stride, face_pad pad)
{
    if (pad == FACE_PAD_VALID)
        return 0;
    int total = (out - 1) * stride + k - in;
    return total > 0 ? total / 2 : 0;
}

static int pad_total(int in, int out, int k, int stride, face_pad pad)
{
    if (pad == FACE_PAD_VALID)
        return 0;
    int total = (out - 1) * stride + k - in;
    return total > 0 ? total : 0;
}

static huella_status refused(const char *what, enum xnn_status xs, huella_error *err)
{
    return huella_error_set(err, HUELLA_E_INTERNAL, "XNNPACK refused %s (status %d)", what,
                            (int)xs);
}

/* ---- Operator cache ------------------------------------------------------ */

#define CACHE_MAX 256

enum { OP_CONV, OP_DEPTHWISE, OP_POINTWISE };

typedef struct op_entry {
    const float *w;
    int kind, k, cout, stride, pad, extra, h, wd, c;
    xnn_operator_t op;
} op_entry;

struct face_op_cache {
    op_entry *e;
    size_t n, cap;
    struct face_op_cache *next;
};

struct face_op_pool {
    pthread_mutex_t lock;
    face_op_cache *free_caches;
};

static void cache_free(face_op_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        xnn_delete_operator(c->e[i].op);
    free(c->e);
    free(c);
}

huella_status face_op_pool_new(face_op_pool **out, huella_error *err)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    if (pthread_mutex_init(&(*out)->lock, NULL) != 0) {
        free(*out);
        *out = NULL;
        return huella_error_set(err, HUELLA_E_INTERNAL, "cannot create a mutex");
    }
    return HUELLA_OK;
}

void face_op_pool_free(face_op_pool *p)
{
    if (p == NULL)
        return;
    face_op_cache *c = p->free_caches;
    while (c != NULL) {
        face_op_cache *next = c->next;
        cache_free(c);
        c = next;
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

face_op_cache *face_op_pool_acquire(face_op_pool *p)
{
    if (p == NULL)
        return NULL;
    pthread_mutex_lock(&p->lock);
    face_op_cache *c = p->free_caches;
    if (c != NULL)
        p->free_caches = c->next;
    pthread_mutex_unlock(&p->lock);
    if (c == NULL)
        c = calloc(1, sizeof *c); /* NULL: the calls go uncached */
    return c;
}

void face_op_pool_release(face_op_pool *p, face_op_cache *c)
{
    if (c == NULL)
        return;
    if (p == NULL) {
        cache_free(c);
        return;
    }
    pthread_mutex_lock(&p->lock);
    c->next = p->free_caches;
    p->free_caches = c;
    pthread_mutex_unlock(&p->lock);
}

static op_entry key(const float *w, int kind, int k, int cout, int stride, face_pad pad, int extra,
                    const face_map *x)
{
    op_entry e = {w, kind, k, cout, stride, (int)pad, extra, x->h, x->w, x->c, NULL};
    return e;
}

static bool same_key(const op_entry *a, const op_entry *b)
{
    return a->w == b->w && a->kind == b->kind && a->k == b->k && a->cout == b->cout &&
           a->stride == b->stride && a->pad == b->pad && a->extra == b->extra && a->h == b->h &&
           a->wd == b->wd && a->c == b->c;
}

static xnn_operator_t cache_find(const face_op_cache *c, const op_entry *k)
{
    for (size_t i = 0; c != NULL && i < c->n; i++)
        if (same_key(&c->e[i], k))
            return c->e[i].op;
    return NULL;
}

/* Keeps op in the cache; false when it cannot (the caller deletes it). */
static bool cache_put(face_op_cache *c, const op_entry *k, xnn_operator_t op)
{
    if (c == NULL || c->n >= CACHE_MAX)
        return false;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        op_entry *e = realloc(c->e, cap * sizeof *e);
        if (e == NULL)
            return false;
        c->e = e;
        c->cap = cap;
    }
    c->e[c->n] = *k;
    c->e[c->n].op = op;
    c->n++;
    return true;
}

/* Run op (already set up), then keep it in the cache or delete it. */
static huella_status finish(face_op_cache *c, const op_entry *k, bool cached, xnn_operator_t op,
                            enum xnn_status xs, const char *what, huella_error *err)
{
    if (xs == xnn_status_success)
        xs = xnn_run_operator(op, NULL);
    if (!cached && !cache_put(c, k, op))
        xnn_delete_operator(op);
    return xs == xnn_status_success ? HUELLA_OK : refused(what, xs, err);
}

huella_status face_fast_init(huella_error *err)
{
    if (xnn_initialize(NULL) != xnn_status_success)
        return huella_error_set(err, HUELLA_E_INTERNAL,
                                "XNNPACK cannot run on this processor (xnn_initialize failed)");
    return HUELLA_OK;
}

/* A window operation's geometry: input (ih, iw) with `extra` zero rows and
 * columns on every side, TF padding, output size and XNNPACK's paddings. */
typedef struct geometry {
    int oh, ow;
    uint32_t top, right, bottom, left;
} geometry;

static geometry window(const face_map *x, int k, int stride, face_pad pad, int extra)
{
    geometry g;
    int ih = x->h + 2 * extra, iw = x->w + 2 * extra;
    g.oh = face_out_size(ih, k, stride, pad);
    g.ow = face_out_size(iw, k, stride, pad);
    int pt = pad_before(ih, g.oh, k, stride, pad), pl = pad_before(iw, g.ow, k, stride, pad);
    int th = pad_total(ih, g.oh, k, stride, pad), tw = pad_total(iw, g.ow, k, stride, pad);
    g.top = (uint32_t)(pt + extra);
    g.left = (uint32_t)(pl + extra);
    g.bottom = (uint32_t)(th - pt + extra);
    g.right = (uint32_t)(tw - pl + extra);
    return g;
}

huella_status face_conv2d_fast(face_op_cache *cache, const face_map *x, const float *filters,
                               const float *bias, int k, int cout, int stride, face_pad pad,
                               face_map *y, huella_error *err)
{
    if (k == 1 && stride == 1)
        return face_pointwise_fast(cache, x, filters, bias, cout, y, err);
    geometry g = window(x, k, stride, pad, 0);
    int cin = x->c;
    huella_status st = face_map_alloc(y, g.oh, g.ow, cout, err);
    if (st != HUELLA_OK)
        return st;
    op_entry kk_ = key(filters, OP_CONV, k, cout, stride, pad, 0, x);
    xnn_operator_t op = cache_find(cache, &kk_);
    bool cached = op != NULL;
    enum xnn_status xs = xnn_status_success;
    if (!cached) {
        size_t kk = (size_t)k * (size_t)k * (size_t)cin;
        float *ohwi = malloc(kk * (size_t)cout * sizeof(float));
        if (ohwi == NULL) {
            face_map_release(y);
            return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        }
        for (int co = 0; co < cout; co++)
            for (size_t t = 0; t < kk; t++)
                ohwi[(size_t)co * kk + t] = filters[t * (size_t)cout + (size_t)co];
        xs = xnn_create_convolution2d_nhwc_f32(
            g.top, g.right, g.bottom, g.left, (uint32_t)k, (uint32_t)k, (uint32_t)stride,
            (uint32_t)stride, 1, 1, 1, (size_t)cin, (size_t)cout, (size_t)cin, (size_t)cout, ohwi,
            bias, -INFINITY, INFINITY, 0, &op);
        free(ohwi);
    }
    if (xs != xnn_status_success)
        st = refused("a convolution", xs, err);
    else
        st = finish(
            cache, &kk_, cached, op,
            xnn_setup_convolution2d_nhwc_f32(op, 1, (size_t)x->h, (size_t)x->w, x->d, y->d, NULL),
            "a convolution", err);
    if (st != HUELLA_OK)
        face_map_release(y);
    return st;
}

huella_status face_depthwise_fast(face_op_cache *cache, const face_map *x, const float *filters,
                                  int k, int stride, face_pad pad, int extra, face_map *y,
                                  huella_error *err)
{
    geometry g = window(x, k, stride, pad, extra);
    int c = x->c;
    huella_status st = face_map_alloc(y, g.oh, g.ow, c, err);
    if (st != HUELLA_OK)
        return st;
    op_entry kk_ = key(filters, OP_DEPTHWISE, k, c, stride, pad, extra, x);
    xnn_operator_t op = cache_find(cache, &kk_);
    bool cached = op != NULL;
    enum xnn_status xs = xnn_status_success;
    if (!cached) {
        float *zero = calloc((size_t)c, sizeof(float));
        if (zero == NULL) {
            face_map_release(y);
            return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        }
        xs = xnn_create_convolution2d_nhwc_f32(
            g.top, g.right, g.bottom, g.left, (uint32_t)k, (uint32_t)k, (uint32_t)stride,
            (uint32_t)stride, 1, 1, (uint32_t)c, 1, 1, (size_t)c, (size_t)c, filters, zero,
            -INFINITY, INFINITY, XNN_FLAG_DEPTHWISE_CONVOLUTION, &op);
        free(zero);
    }
    if (xs != xnn_status_success)
        st = refused("a depthwise convolution", xs, err);
    else
        st = finish(
            cache, &kk_, cached, op,
            xnn_setup_convolution2d_nhwc_f32(op, 1, (size_t)x->h, (size_t)x->w, x->d, y->d, NULL),
            "a depthwise convolution", err);
    if (st != HUELLA_OK)
        face_map_release(y);
    return st;
}

huella_status face_pointwise_fast(face_op_cache *cache, const face_map *x, const float *w,
                                  const float *bias, int cout, face_map *y, huella_error *err)
{
    huella_status st = face_map_alloc(y, x->h, x->w, cout, err);
    if (st != HUELLA_OK)
        return st;
    /* The fully connected operator does not depend on the number of
     * pixels: one entry serves every input size. */
    face_map any = {0, 0, x->c, NULL};
    op_entry kk_ = key(w, OP_POINTWISE, 1, cout, 1, FACE_PAD_VALID, 0, &any);
    xnn_operator_t op = cache_find(cache, &kk_);
    bool cached = op != NULL;
    enum xnn_status xs = xnn_status_success;
    if (!cached)
        xs = xnn_create_fully_connected_nc_f32((size_t)x->c, (size_t)cout, (size_t)x->c,
                                               (size_t)cout, w, bias, -INFINITY, INFINITY,
                                               XNN_FLAG_TRANSPOSE_WEIGHTS, &op);
    if (xs != xnn_status_success)
        st = refused("a 1 x 1 convolution", xs, err);
    else
        st = finish(
            cache, &kk_, cached, op,
            xnn_setup_fully_connected_nc_f32(op, (size_t)x->h * (size_t)x->w, x->d, y->d, NULL),
            "a 1 x 1 convolution", err);
    if (st != HUELLA_OK)
        face_map_release(y);
    return st;
}
