/*
 * landmark.c - the 68-point landmark network (face-api's FaceLandmark68Net):
 * the face crop padded to a centred square and resized to 112 x 112, minus
 * the mean (122.782, 117.001, 104.298), divided by 255; four dense blocks
 * (the first convolution of each with stride 2: a full 3 x 3 convolution in
 * the first block, depthwise separable in the others; then three separable
 * convolutions, each block's outputs summed densely with ReLUs), a 7 x 7
 * average pool and a 256 x 136 fully connected layer giving (x, y) pairs
 * relative to the padded square.
 */
#include "face/face_internal.h"

#include <stdio.h>
#include <string.h>

#define WHAT "face_landmark_68_model"

static huella_status sep_conv(face_op_cache *cache, const face_map *x, const face_weights *w,
                              const char *prefix, int cin, int cout, int stride, face_map *y,
                              huella_error *err)
{
    char name[64];
    const float *dw, *pw, *bias;
    uint32_t dshape[4] = {3, 3, (uint32_t)cin, 1};
    uint32_t pshape[4] = {1, 1, (uint32_t)cin, (uint32_t)cout}, bshape[1] = {(uint32_t)cout};
    huella_status st;
    snprintf(name, sizeof name, "%s/depthwise_filter", prefix);
    if ((st = face_weights_get(w, WHAT, name, 4, dshape, &dw, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/pointwise_filter", prefix);
    if ((st = face_weights_get(w, WHAT, name, 4, pshape, &pw, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/bias", prefix);
    if ((st = face_weights_get(w, WHAT, name, 1, bshape, &bias, err)) != HUELLA_OK)
        return st;
    face_map t;
    if ((st = face_depthwise_fast(cache, x, dw, 3, stride, FACE_PAD_SAME, 0, &t, err)) != HUELLA_OK)
        return st;
    st = face_pointwise_fast(cache, &t, pw, bias, cout, y, err);
    face_map_release(&t);
    return st;
}

static void relu(face_map *x)
{
    size_t n = (size_t)x->h * (size_t)x->w * (size_t)x->c;
    for (size_t i = 0; i < n; i++)
        x->d[i] = x->d[i] < 0.0f ? 0.0f : x->d[i];
}

static huella_status dense_block(face_op_cache *cache, face_map *x, const face_weights *w, int idx,
                                 int cin, int cout, huella_error *err)
{
    char prefix[32], name[64];
    huella_status st;
    face_map o1 = {0}, o2 = {0}, o3 = {0}, o4 = {0}, in = {0};
    if (idx == 0) {
        const float *f, *b;
        uint32_t fs[4] = {3, 3, (uint32_t)cin, (uint32_t)cout}, bs[1] = {(uint32_t)cout};
        if ((st = face_weights_get(w, WHAT, "dense0/conv0/filters", 4, fs, &f, err)) != HUELLA_OK ||
            (st = face_weights_get(w, WHAT, "dense0/conv0/bias", 1, bs, &b, err)) != HUELLA_OK)
            return st;
        st = face_conv2d_fast(cache, x, f, b, 3, cout, 2, FACE_PAD_SAME, &o1, err);
    } else {
        snprintf(name, sizeof name, "dense%d/conv0", idx);
        st = sep_conv(cache, x, w, name, cin, cout, 2, &o1, err);
    }
    if (st != HUELLA_OK)
        return st;
    relu(&o1);
    size_t n = (size_t)o1.h * (size_t)o1.w * (size_t)cout;
    snprintf(prefix, sizeof prefix, "dense%d", idx);
    snprintf(name, sizeof name, "%s/conv1", prefix);
    if ((st = sep_conv(cache, &o1, w, name, cout, cout, 1, &o2, err)) != HUELLA_OK)
        goto done;
    if ((st = face_map_alloc(&in, o1.h, o1.w, cout, err)) != HUELLA_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        float t = o1.d[i] + o2.d[i];
        in.d[i] = t < 0.0f ? 0.0f : t;
    }
    snprintf(name, sizeof name, "%s/conv2", prefix);
    if ((st = sep_conv(cache, &in, w, name, cout, cout, 1, &o3, err)) != HUELLA_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        float t = o1.d[i] + (o2.d[i] + o3.d[i]);
        in.d[i] = t < 0.0f ? 0.0f : t;
    }
    snprintf(name, sizeof name, "%s/conv3", prefix);
    if ((st = sep_conv(cache, &in, w, name, cout, cout, 1, &o4, err)) != HUELLA_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        float t = o1.d[i] + (o2.d[i] + (o3.d[i] + o4.d[i]));
        in.d[i] = t < 0.0f ? 0.0f : t;
    }
    face_map_release(x);
    *x = in;
    in.d = NULL;
done:
    face_map_release(&o1);
    face_map_release(&o2);
    face_map_release(&o3);
    face_map_release(&o4);
    face_map_release(&in);
    return st;
}

huella_status face_landmark_forward(const face_weights *w, face_op_cache *cache,
                                    const huella_face_rgb *img, float out[136], huella_error *err)
{
    static const float mean[3] = {122.782f, 117.001f, 104.298f};
    face_map x = {0}, y = {0};
    huella_status st = face_prepare_input(img, 112, true, mean, 255.0f, &x, err);
    if (st != HUELLA_OK)
        return st;
    static const int ch[5] = {3, 32, 64, 128, 256};
    for (int i = 0; i < 4 && st == HUELLA_OK; i++)
        st = dense_block(cache, &x, w, i, ch[i], ch[i + 1], err);
    if (st == HUELLA_OK)
        st = face_avgpool(&x, 7, 2, FACE_PAD_VALID, &y, err);
    face_map_release(&x);
    if (st != HUELLA_OK)
        return st;
    const float *fw, *fb;
    uint32_t ws[2] = {256, 136}, bs[1] = {136};
    if ((st = face_weights_get(w, WHAT, "fc/weights", 2, ws, &fw, err)) != HUELLA_OK ||
        (st = face_weights_get(w, WHAT, "fc/bias", 1, bs, &fb, err)) != HUELLA_OK) {
        face_map_release(&y);
        return st;
    }
    if (y.h != 1 || y.w != 1 || y.c != 256) {
        face_map_release(&y);
        return huella_error_set(err, HUELLA_E_INTERNAL, "landmark features have the wrong shape");
    }
    /* Output relative to the padded square, then to the image. */
    double iw = img->width, ih = img->height;
    double sc = 112.0 / (iw > ih ? iw : ih);
    double sw = iw * sc, sh = ih * sc;
    double padx = sw < sh ? (sh - sw) / 2 : 0, pady = sh < sw ? (sw - sh) / 2 : 0;
    for (int o = 0; o < 136; o++) {
        float s = fb[o];
        for (int c = 0; c < 256; c++)
            s += y.d[c] * fw[(size_t)c * 136 + (size_t)o];
        out[o] = (o % 2 == 0) ? (float)((s * 112.0 - padx) / sw) : (float)((s * 112.0 - pady) / sh);
    }
    face_map_release(&y);
    return HUELLA_OK;
}
