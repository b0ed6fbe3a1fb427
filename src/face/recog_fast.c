/*
 * recog_fast.c - the recognition network (recog.c has the layers and the
 * reference's rules) run by XNNPACK operators.
 *
 * Why XNNPACK: bench/bench_face_libs runs every convolution shape of this
 * network through im2col + OpenBLAS sgemm, im2col + BLIS and XNNPACK's
 * NHWC convolution on one core; XNNPACK does all of them in about two
 * thirds of OpenBLAS's time (the 7 x 7 stem three times faster: it needs
 * no im2col copy) and packs the weights once (docs/face.md has the
 * numbers).
 *
 * At load (face_recog_net_new) each scale layer is folded into its
 * convolution (w' = w * s, b' = b * s + t, per output channel), the filters
 * are reordered from TF's [k, k, cin, cout] to XNNPACK's [cout, k, k, cin],
 * and the ReLU after a first convolution becomes the operator's output
 * clamp.  An "operator set" holds XNNPACK's operators with their packed
 * weights and the activation buffers they were set up on, so a forward pass
 * only copies the image in and runs them.  An operator set may be used by
 * one thread at a time: the network keeps a pool of them behind a mutex
 * (the one piece of mutable state in the models object), makes a new set
 * when every set is busy, and frees them all with the models.
 */
#define _POSIX_C_SOURCE 200809L
#include "face/face_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#define WHAT     "face_recognition_model"
#define N_BLOCKS 14
#define N_CONVS  (1 + 2 * N_BLOCKS)

static const struct {
    const char *name;
    int cin, cout;
    bool down;
} blocks[N_BLOCKS] = {
    {"conv32_1", 32, 32, false},      {"conv32_2", 32, 32, false},
    {"conv32_3", 32, 32, false},      {"conv64_down", 32, 64, true},
    {"conv64_1", 64, 64, false},      {"conv64_2", 64, 64, false},
    {"conv64_3", 64, 64, false},      {"conv128_down", 64, 128, true},
    {"conv128_1", 128, 128, false},   {"conv128_2", 128, 128, false},
    {"conv256_down", 128, 256, true}, {"conv256_1", 256, 256, false},
    {"conv256_2", 256, 256, false},   {"conv256_down_out", 256, 256, true},
};

/* One convolution with its scale layer folded in. */
typedef struct fused_conv {
    int k, cin, cout, stride;
    int in_h, out_h, pad_before, pad_after;
    bool relu;
    float *filters; /* [cout][k][k][cin] */
    float *bias;
} fused_conv;

typedef struct recog_ops {
    xnn_operator_t conv[N_CONVS];
    xnn_operator_t maxpool;
    float *in;   /* 150 x 150 x 3 */
    float *stem; /* 72 x 72 x 32 */
    float *x, *a, *b, *s;
    struct recog_ops *next;
} recog_ops;

struct face_recog_net {
    fused_conv conv[N_CONVS];
    int block_in_h[N_BLOCKS], block_out_h[N_BLOCKS];
    int pool_h; /* after the max pool */
    size_t buf_floats;
    float fc[256 * HUELLA_FACE_DIM];
    pthread_mutex_t lock;
    recog_ops *free_sets;
};

static huella_status fold_conv(const face_weights *w, const char *prefix, int k, int cin, int cout,
                               int stride, face_pad pad, int in_h, bool relu, fused_conv *c,
                               huella_error *err)
{
    char name[128];
    uint32_t fshape[4] = {(uint32_t)k, (uint32_t)k, (uint32_t)cin, (uint32_t)cout};
    uint32_t vshape[1] = {(uint32_t)cout};
    const float *f, *bias, *sw, *sb;
    huella_status st;
    snprintf(name, sizeof name, "%s/conv/filters", prefix);
    if ((st = face_weights_get(w, WHAT, name, 4, fshape, &f, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/conv/bias", prefix);
    if ((st = face_weights_get(w, WHAT, name, 1, vshape, &bias, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/scale/weights", prefix);
    if ((st = face_weights_get(w, WHAT, name, 1, vshape, &sw, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/scale/biases", prefix);
    if ((st = face_weights_get(w, WHAT, name, 1, vshape, &sb, err)) != HUELLA_OK)
        return st;
    c->k = k;
    c->cin = cin;
    c->cout = cout;
    c->stride = stride;
    c->in_h = in_h;
    c->out_h = face_out_size(in_h, k, stride, pad);
    c->relu = relu;
    int total = pad == FACE_PAD_SAME ? (c->out_h - 1) * stride + k - in_h : 0;
    if (total < 0)
        total = 0;
    c->pad_before = total / 2;
    c->pad_after = total - total / 2;
    size_t kk = (size_t)k * (size_t)k * (size_t)cin;
    c->filters = malloc(kk * (size_t)cout * sizeof(float));
    c->bias = malloc((size_t)cout * sizeof(float));
    if (c->filters == NULL || c->bias == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    for (int co = 0; co < cout; co++) {
        for (size_t t = 0; t < kk; t++)
            c->filters[(size_t)co * kk + t] = f[t * (size_t)cout + (size_t)co] * sw[co];
        c->bias[co] = bias[co] * sw[co] + sb[co];
    }
    return HUELLA_OK;
}

static void ops_free(recog_ops *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < N_CONVS; i++)
        if (s->conv[i] != NULL)
            xnn_delete_operator(s->conv[i]);
    if (s->maxpool != NULL)
        xnn_delete_operator(s->maxpool);
    free(s->in);
    free(s->stem);
    free(s->x);
    free(s->a);
    free(s->b);
    free(s->s);
    free(s);
}

void face_recog_net_free(face_recog_net *n)
{
    if (n == NULL)
        return;
    recog_ops *s = n->free_sets;
    while (s != NULL) {
        recog_ops *next = s->next;
        ops_free(s);
        s = next;
    }
    for (int i = 0; i < N_CONVS; i++) {
        free(n->conv[i].filters);
        free(n->conv[i].bias);
    }
    pthread_mutex_destroy(&n->lock);
    free(n);
}

huella_status face_recog_net_new(const face_weights *w, face_recog_net **out, huella_error *err)
{
    *out = NULL;
    huella_status st = face_fast_init(err);
    if (st != HUELLA_OK)
        return st;
    face_recog_net *n = calloc(1, sizeof *n);
    if (n == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    if (pthread_mutex_init(&n->lock, NULL) != 0) {
        free(n);
        return huella_error_set(err, HUELLA_E_INTERNAL, "cannot create a mutex");
    }
    st = fold_conv(w, "conv32_down", 7, 3, 32, 2, FACE_PAD_VALID, HUELLA_FACE_CHIP, true,
                   &n->conv[0], err);
    int h = face_out_size(n->conv[0].out_h, 3, 2, FACE_PAD_VALID);
    n->pool_h = h;
    size_t most = (size_t)h * (size_t)h * 32;
    for (int i = 0; st == HUELLA_OK && i < N_BLOCKS; i++) {
        char name[96];
        bool down = blocks[i].down;
        fused_conv *c1 = &n->conv[1 + 2 * i], *c2 = &n->conv[2 + 2 * i];
        snprintf(name, sizeof name, "%s/conv1", blocks[i].name);
        st = fold_conv(w, name, 3, blocks[i].cin, blocks[i].cout, down ? 2 : 1,
                       down ? FACE_PAD_VALID : FACE_PAD_SAME, h, true, c1, err);
        if (st != HUELLA_OK)
            break;
        snprintf(name, sizeof name, "%s/conv2", blocks[i].name);
        st = fold_conv(w, name, 3, blocks[i].cout, blocks[i].cout, 1, FACE_PAD_SAME, c1->out_h,
                       false, c2, err);
        if (st != HUELLA_OK)
            break;
        n->block_in_h[i] = h;
        /* A down-sampling block's output has the shortcut's size (the
         * 2 x 2 average pool), the main path padded to it. */
        int oh = down ? face_out_size(h, 2, 2, FACE_PAD_VALID) : h;
        if (c2->out_h > oh || oh - c2->out_h > 1) {
            st = huella_error_set(err, HUELLA_E_INTERNAL, "%s: shortcut shape mismatch",
                                  blocks[i].name);
            break;
        }
        n->block_out_h[i] = oh;
        h = oh;
        size_t sz = (size_t)c1->out_h * (size_t)c1->out_h * (size_t)blocks[i].cout;
        if (sz > most)
            most = sz;
        sz = (size_t)oh * (size_t)oh * (size_t)blocks[i].cout;
        if (sz > most)
            most = sz;
    }
    n->buf_floats = most;
    if (st == HUELLA_OK) {
        const float *fc;
        uint32_t fshape[2] = {256, HUELLA_FACE_DIM};
        st = face_weights_get(w, WHAT, "fc", 2, fshape, &fc, err);
        if (st == HUELLA_OK)
            memcpy(n->fc, fc, sizeof n->fc);
    }
    if (st != HUELLA_OK) {
        face_recog_net_free(n);
        return st;
    }
    *out = n;
    return HUELLA_OK;
}

static huella_status xnn_fail(const char *what, enum xnn_status xs, huella_error *err)
{
    return huella_error_set(err, HUELLA_E_INTERNAL, "XNNPACK refused %s (status %d)", what,
                            (int)xs);
}

static huella_status create_conv(const fused_conv *c, const float *in, float *out,
                                 xnn_operator_t *op, huella_error *err)
{
    enum xnn_status xs = xnn_create_convolution2d_nhwc_f32(
        (uint32_t)c->pad_before, (uint32_t)c->pad_after, (uint32_t)c->pad_after,
        (uint32_t)c->pad_before, (uint32_t)c->k, (uint32_t)c->k, (uint32_t)c->stride,
        (uint32_t)c->stride, 1, 1, 1, (size_t)c->cin, (size_t)c->cout, (size_t)c->cin,
        (size_t)c->cout, c->filters, c->bias, c->relu ? 0.0f : -INFINITY, INFINITY, 0, op);
    if (xs != xnn_status_success)
        return xnn_fail("a convolution", xs, err);
    xs = xnn_setup_convolution2d_nhwc_f32(*op, 1, (size_t)c->in_h, (size_t)c->in_h, in, out, NULL);
    if (xs != xnn_status_success)
        return xnn_fail("a convolution's setup", xs, err);
    return HUELLA_OK;
}

static huella_status ops_new(const face_recog_net *n, recog_ops **out, huella_error *err)
{
    *out = NULL;
    recog_ops *s = calloc(1, sizeof *s);
    if (s == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    size_t chip = (size_t)HUELLA_FACE_CHIP * HUELLA_FACE_CHIP * 3;
    size_t stem = (size_t)n->conv[0].out_h * (size_t)n->conv[0].out_h * 32;
    /* XNNPACK may read a few bytes past the end of its inputs: pad. */
    size_t extra = 16;
    s->in = malloc((chip + extra) * sizeof(float));
    s->stem = malloc((stem + extra) * sizeof(float));
    s->x = malloc((n->buf_floats + extra) * sizeof(float));
    s->a = malloc((n->buf_floats + extra) * sizeof(float));
    s->b = malloc((n->buf_floats + extra) * sizeof(float));
    s->s = malloc((n->buf_floats + extra) * sizeof(float));
    if (!s->in || !s->stem || !s->x || !s->a || !s->b || !s->s) {
        ops_free(s);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    huella_status st = create_conv(&n->conv[0], s->in, s->stem, &s->conv[0], err);
    if (st == HUELLA_OK) {
        enum xnn_status xs = xnn_create_max_pooling2d_nhwc_f32(
            0, 0, 0, 0, 3, 3, 2, 2, 1, 1, 32, 32, 32, -INFINITY, INFINITY, 0, &s->maxpool);
        if (xs == xnn_status_success)
            xs = xnn_setup_max_pooling2d_nhwc_f32(s->maxpool, 1, (size_t)n->conv[0].out_h,
                                                  (size_t)n->conv[0].out_h, s->stem, s->x, NULL);
        if (xs != xnn_status_success)
            st = xnn_fail("the max pool", xs, err);
    }
    for (int i = 0; st == HUELLA_OK && i < N_BLOCKS; i++) {
        st = create_conv(&n->conv[1 + 2 * i], s->x, s->a, &s->conv[1 + 2 * i], err);
        if (st == HUELLA_OK)
            st = create_conv(&n->conv[2 + 2 * i], s->a, s->b, &s->conv[2 + 2 * i], err);
    }
    if (st != HUELLA_OK) {
        ops_free(s);
        return st;
    }
    *out = s;
    return HUELLA_OK;
}

static huella_status run(xnn_operator_t op, huella_error *err)
{
    enum xnn_status xs = xnn_run_operator(op, NULL);
    return xs == xnn_status_success ? HUELLA_OK : xnn_fail("to run an operator", xs, err);
}

/* x (h x h x cin) -> relu(b padded to oh x oh + avgpool2x2(x) padded with
 * zero channels), written back to x. */
static void down_merge(recog_ops *s, int h, int cin, int bh, int oh, int cout)
{
    for (int yy = 0; yy < oh; yy++)
        for (int xx = 0; xx < oh; xx++) {
            float *o = s->s + ((size_t)yy * (size_t)oh + (size_t)xx) * (size_t)cout;
            const float *p00 =
                s->x + ((size_t)(2 * yy) * (size_t)h + (size_t)(2 * xx)) * (size_t)cin;
            const float *p01 = p00 + cin, *p10 = p00 + (size_t)h * (size_t)cin, *p11 = p10 + cin;
            bool inside = yy < bh && xx < bh;
            const float *m =
                inside ? s->b + ((size_t)yy * (size_t)bh + (size_t)xx) * (size_t)cout : NULL;
            for (int c = 0; c < cout; c++) {
                float sc = c < cin ? (p00[c] + p01[c] + p10[c] + p11[c]) / 4.0f : 0.0f;
                float t = (m ? m[c] : 0.0f) + sc;
                o[c] = t < 0.0f ? 0.0f : t;
            }
        }
    memcpy(s->x, s->s, (size_t)oh * (size_t)oh * (size_t)cout * sizeof(float));
}

static huella_status forward(const face_recog_net *n, recog_ops *s, const huella_face_rgb *img,
                             float out[HUELLA_FACE_DIM], huella_error *err)
{
    static const float mean[3] = {122.782f, 117.001f, 104.298f};
    huella_status st =
        face_prepare_input_into(img, HUELLA_FACE_CHIP, true, mean, 255.0f, s->in, err);
    if (st != HUELLA_OK)
        return st;
    if ((st = run(s->conv[0], err)) != HUELLA_OK || (st = run(s->maxpool, err)) != HUELLA_OK)
        return st;
    for (int i = 0; i < N_BLOCKS; i++) {
        if ((st = run(s->conv[1 + 2 * i], err)) != HUELLA_OK ||
            (st = run(s->conv[2 + 2 * i], err)) != HUELLA_OK)
            return st;
        int h = n->block_in_h[i], cout = blocks[i].cout;
        if (!blocks[i].down) {
            size_t cnt = (size_t)h * (size_t)h * (size_t)cout;
            for (size_t j = 0; j < cnt; j++) {
                float t = s->b[j] + s->x[j];
                s->x[j] = t < 0.0f ? 0.0f : t;
            }
        } else {
            down_merge(s, h, blocks[i].cin, n->conv[2 + 2 * i].out_h, n->block_out_h[i], cout);
        }
    }
    int h = n->block_out_h[N_BLOCKS - 1];
    size_t cnt = (size_t)h * (size_t)h;
    float avg[256] = {0};
    for (size_t i = 0; i < cnt; i++)
        for (int c = 0; c < 256; c++)
            avg[c] += s->x[i * 256 + (size_t)c];
    for (int c = 0; c < 256; c++)
        avg[c] /= (float)cnt;
    for (int o = 0; o < HUELLA_FACE_DIM; o++) {
        float acc = 0.0f;
        for (int c = 0; c < 256; c++)
            acc += avg[c] * n->fc[(size_t)c * HUELLA_FACE_DIM + (size_t)o];
        out[o] = acc;
    }
    return HUELLA_OK;
}

huella_status face_recog_net_forward(face_recog_net *n, const huella_face_rgb *img,
                                     float out[HUELLA_FACE_DIM], huella_error *err)
{
    recog_ops *s = NULL;
    pthread_mutex_lock(&n->lock);
    if (n->free_sets != NULL) {
        s = n->free_sets;
        n->free_sets = s->next;
    }
    pthread_mutex_unlock(&n->lock);
    huella_status st = HUELLA_OK;
    if (s == NULL && (st = ops_new(n, &s, err)) != HUELLA_OK)
        return st;
    st = forward(n, s, img, out, err);
    pthread_mutex_lock(&n->lock);
    s->next = n->free_sets;
    n->free_sets = s;
    pthread_mutex_unlock(&n->lock);
    return st;
}
