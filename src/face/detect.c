/*
 * detect.c - the tiny face detector (face-api's TinyFaceDetector, a
 * Tiny-YOLOv2 with depthwise separable convolutions): the image padded at
 * the bottom or right to a square and resized to input_size, minus the mean
 * (117.001, 114.697, 97.404), divided by 255; a 3 x 3 'valid' convolution,
 * then five blocks of (2 x 2 max pool, 1-pixel zero pad, depthwise 3 x 3,
 * pointwise, bias, leaky ReLU 0.1), the last pool with stride 1, and a 1 x 1
 * convolution to 5 anchors x (x, y, w, h, score) per cell of a 13 x 13
 * grid (for 416).  Boxes are decoded as YOLOv2 does, then non-maximum
 * suppression at IoU 0.4.
 */
#include "face/face_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define WHAT "tiny_face_detector_model"

static const double anchors[5][2] = {
    {1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061},
    {4.266906, 5.178857}, {9.041765, 10.66308},
};

static void leaky(face_map *x)
{
    size_t n = (size_t)x->h * (size_t)x->w * (size_t)x->c;
    /* max(v, 0.1 v) is the leaky ReLU, written so that it vectorises. */
    for (size_t i = 0; i < n; i++) {
        float v = x->d[i], t = v * 0.1f;
        x->d[i] = v > t ? v : t;
    }
}

static huella_status replace(face_map *x, face_map *y, huella_status st)
{
    if (st == HUELLA_OK) {
        face_map_release(x);
        *x = *y;
    }
    return st;
}

static huella_status sep_block(face_op_cache *cache, face_map *x, const face_weights *w, int idx,
                               int cin, int cout, huella_error *err)
{
    char name[64];
    const float *dw, *pw, *bias;
    uint32_t dshape[4] = {3, 3, (uint32_t)cin, 1},
             pshape[4] = {1, 1, (uint32_t)cin, (uint32_t)cout};
    uint32_t bshape[1] = {(uint32_t)cout};
    huella_status st;
    snprintf(name, sizeof name, "conv%d/depthwise_filter", idx);
    if ((st = face_weights_get(w, WHAT, name, 4, dshape, &dw, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "conv%d/pointwise_filter", idx);
    if ((st = face_weights_get(w, WHAT, name, 4, pshape, &pw, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "conv%d/bias", idx);
    if ((st = face_weights_get(w, WHAT, name, 1, bshape, &bias, err)) != HUELLA_OK)
        return st;
    face_map y;
    st = face_depthwise_fast(cache, x, dw, 3, 1, FACE_PAD_VALID, 1, &y, err);
    if ((st = replace(x, &y, st)) != HUELLA_OK)
        return st;
    st = face_pointwise_fast(cache, x, pw, bias, cout, &y, err);
    if ((st = replace(x, &y, st)) != HUELLA_OK)
        return st;
    leaky(x);
    return HUELLA_OK;
}

static double sigmoid(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

huella_status face_detect_forward(const face_weights *w, face_op_cache *cache,
                                  const huella_face_rgb *img, int input_size,
                                  double score_threshold, face_raw_box **boxes, size_t *n,
                                  huella_error *err)
{
    static const float mean[3] = {117.001f, 114.697f, 97.404f};
    *boxes = NULL;
    *n = 0;
    if (input_size < 32 || input_size > 2048 || input_size % 32 != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "detector input size %d is not a multiple of 32 in 32..2048",
                                input_size);
    const float *f0, *b0, *f8, *b8;
    uint32_t s0[4] = {3, 3, 3, 16}, sb0[1] = {16}, s8[4] = {1, 1, 512, 25}, sb8[1] = {25};
    huella_status st;
    if ((st = face_weights_get(w, WHAT, "conv0/filters", 4, s0, &f0, err)) != HUELLA_OK ||
        (st = face_weights_get(w, WHAT, "conv0/bias", 1, sb0, &b0, err)) != HUELLA_OK ||
        (st = face_weights_get(w, WHAT, "conv8/filters", 4, s8, &f8, err)) != HUELLA_OK ||
        (st = face_weights_get(w, WHAT, "conv8/bias", 1, sb8, &b8, err)) != HUELLA_OK)
        return st;
    face_map x = {0}, y;
    if ((st = face_prepare_input(img, input_size, false, mean, 255.0f, &x, err)) != HUELLA_OK)
        return st;
    st = face_conv2d_fast(cache, &x, f0, b0, 3, 16, 1, FACE_PAD_VALID, &y, err);
    if ((st = replace(&x, &y, st)) != HUELLA_OK)
        goto done;
    leaky(&x);
    int ch = 16;
    for (int i = 1; i <= 5; i++) {
        st = face_maxpool(&x, 2, 2, FACE_PAD_SAME, &y, err);
        if ((st = replace(&x, &y, st)) != HUELLA_OK)
            goto done;
        if ((st = sep_block(cache, &x, w, i, ch, ch * 2, err)) != HUELLA_OK)
            goto done;
        ch *= 2;
    }
    st = face_maxpool(&x, 2, 1, FACE_PAD_SAME, &y, err);
    if ((st = replace(&x, &y, st)) != HUELLA_OK)
        goto done;
    st = face_pointwise_fast(cache, &x, f8, b8, 25, &y, err);
    if ((st = replace(&x, &y, st)) != HUELLA_OK)
        goto done;
    /* Decode.  Boxes relative to the image: the padded square's coordinates
     * corrected by input_size / (reshaped width or height). */
    {
        int cells = x.h;
        double iw = img->width, ih = img->height;
        double sc = input_size / (iw > ih ? iw : ih);
        double rw = round(iw * sc), rh = round(ih * sc);
        double cfx = input_size / rw, cfy = input_size / rh;
        size_t cap = (size_t)cells * (size_t)cells * 5;
        face_raw_box *out = malloc(cap * sizeof *out);
        if (out == NULL) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
            goto done;
        }
        size_t k = 0;
        for (int row = 0; row < cells; row++)
            for (int col = 0; col < x.w; col++)
                for (int a = 0; a < 5; a++) {
                    const float *v =
                        x.d + ((size_t)row * (size_t)x.w + (size_t)col) * 25 + (size_t)a * 5;
                    double score = sigmoid(v[4]);
                    if (!(score > score_threshold))
                        continue;
                    double cx = (col + sigmoid(v[0])) / cells * cfx;
                    double cy = (row + sigmoid(v[1])) / cells * cfy;
                    double bw = exp(v[2]) * anchors[a][0] / cells * cfx;
                    double bh = exp(v[3]) * anchors[a][1] / cells * cfy;
                    out[k].x = cx - bw / 2;
                    out[k].y = cy - bh / 2;
                    out[k].w = bw;
                    out[k].h = bh;
                    out[k].score = score;
                    k++;
                }
        *boxes = out;
        *n = k;
    }
done:
    face_map_release(&x);
    return st;
}

static double iou(const face_raw_box *a, const face_raw_box *b)
{
    double w = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
    double h = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
    if (w <= 0 || h <= 0)
        return 0.0;
    double inter = w * h;
    return inter / (a->w * a->h + b->w * b->h - inter);
}

static int by_score_desc(const void *pa, const void *pb)
{
    const face_raw_box *a = pa, *b = pb;
    return a->score < b->score ? 1 : a->score > b->score ? -1 : 0;
}

size_t face_nms(face_raw_box *boxes, size_t n, double iou_threshold)
{
    qsort(boxes, n, sizeof *boxes, by_score_desc);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = true;
        for (size_t j = 0; j < kept && keep; j++)
            keep = iou(&boxes[j], &boxes[i]) <= iou_threshold;
        if (keep)
            boxes[kept++] = boxes[i];
    }
    return kept;
}
