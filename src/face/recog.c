/*
 * recog.c - the face recognition network (face-api's FaceRecognitionNet,
 * the ResNet-34-like network trained by dlib's author): 150 x 150 RGB,
 * minus the mean (122.782, 117.001, 104.298), divided by 255; a 7 x 7
 * stride-2 'valid' convolution and a 3 x 3 stride-2 max pool; residual
 * blocks of two 3 x 3 convolutions (each conv + bias, then a per-channel
 * scale layer w * x + b), the down-sampling ones with a stride-2 'valid'
 * first convolution and a 2 x 2 average-pooled shortcut padded with zero
 * channels (and the main path padded with a zero row and column at the end
 * when it comes out smaller); a global average and a 256 x 128 matrix.
 */
#include "face/face_internal.h"

#include <stdio.h>
#include <string.h>

#define WHAT "face_recognition_model"

typedef struct conv_params {
    const float *filters, *bias, *scale_w, *scale_b;
    int k, cin, cout;
} conv_params;

static huella_status get_conv(const face_weights *w, const char *prefix, int k, int cin, int cout,
                              conv_params *p, huella_error *err)
{
    char name[128];
    uint32_t fshape[4] = {(uint32_t)k, (uint32_t)k, (uint32_t)cin, (uint32_t)cout};
    uint32_t vshape[1] = {(uint32_t)cout};
    huella_status st;
    snprintf(name, sizeof name, "%s/conv/filters", prefix);
    if ((st = face_weights_get(w, WHAT, name, 4, fshape, &p->filters, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/conv/bias", prefix);
    if ((st = face_weights_get(w, WHAT, name, 1, vshape, &p->bias, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/scale/weights", prefix);
    if ((st = face_weights_get(w, WHAT, name, 1, vshape, &p->scale_w, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/scale/biases", prefix);
    if ((st = face_weights_get(w, WHAT, name, 1, vshape, &p->scale_b, err)) != HUELLA_OK)
        return st;
    p->k = k;
    p->cin = cin;
    p->cout = cout;
    return HUELLA_OK;
}

/* conv + bias, scale layer, optional relu. */
static huella_status conv_layer(const face_map *x, const conv_params *p, int stride, face_pad pad,
                                bool relu, bool naive, face_map *y, huella_error *err)
{
    huella_status st =
        naive ? face_conv2d_naive(x, p->filters, p->bias, p->k, p->cout, stride, pad, y, err)
              : face_conv2d(x, p->filters, p->bias, p->k, p->cout, stride, pad, y, err);
    if (st != HUELLA_OK)
        return st;
    size_t n = (size_t)y->h * (size_t)y->w;
    for (size_t i = 0; i < n; i++) {
        float *v = y->d + i * (size_t)p->cout;
        for (int c = 0; c < p->cout; c++) {
            float t = v[c] * p->scale_w[c] + p->scale_b[c];
            v[c] = relu && t < 0.0f ? 0.0f : t;
        }
    }
    return HUELLA_OK;
}

static huella_status residual(face_map *x, const face_weights *w, const char *prefix, int cin,
                              int cout, bool down, bool naive, huella_error *err)
{
    char name[96];
    conv_params c1, c2;
    huella_status st;
    snprintf(name, sizeof name, "%s/conv1", prefix);
    if ((st = get_conv(w, name, 3, cin, cout, &c1, err)) != HUELLA_OK)
        return st;
    snprintf(name, sizeof name, "%s/conv2", prefix);
    if ((st = get_conv(w, name, 3, cout, cout, &c2, err)) != HUELLA_OK)
        return st;
    face_map a = {0}, b = {0}, sc = {0};
    st = conv_layer(x, &c1, down ? 2 : 1, down ? FACE_PAD_VALID : FACE_PAD_SAME, true, naive, &a,
                    err);
    if (st == HUELLA_OK)
        st = conv_layer(&a, &c2, 1, FACE_PAD_SAME, false, naive, &b, err);
    face_map_release(&a);
    if (st != HUELLA_OK)
        return st;
    if (!down) {
        size_t n = (size_t)b.h * (size_t)b.w * (size_t)b.c;
        for (size_t i = 0; i < n; i++) {
            float t = b.d[i] + x->d[i];
            b.d[i] = t < 0.0f ? 0.0f : t;
        }
    } else {
        st = face_avgpool(x, 2, 2, FACE_PAD_VALID, &sc, err);
        if (st != HUELLA_OK) {
            face_map_release(&b);
            return st;
        }
        /* b may be one row and column smaller than the shortcut: the
         * reference pads it with zeros at the bottom and right. */
        if (sc.h < b.h || sc.w < b.w || sc.h - b.h > 1 || sc.w - b.w > 1) {
            face_map_release(&b);
            face_map_release(&sc);
            return huella_error_set(err, HUELLA_E_INTERNAL, "%s: shortcut shape mismatch", prefix);
        }
        face_map out;
        st = face_map_alloc(&out, sc.h, sc.w, cout, err);
        if (st == HUELLA_OK) {
            for (int yy = 0; yy < sc.h; yy++)
                for (int xx = 0; xx < sc.w; xx++) {
                    const float *s = sc.d + ((size_t)yy * (size_t)sc.w + (size_t)xx) * (size_t)cin;
                    float *o = out.d + ((size_t)yy * (size_t)sc.w + (size_t)xx) * (size_t)cout;
                    bool inside = yy < b.h && xx < b.w;
                    const float *m =
                        inside ? b.d + ((size_t)yy * (size_t)b.w + (size_t)xx) * (size_t)cout
                               : NULL;
                    for (int c = 0; c < cout; c++) {
                        float t = (m ? m[c] : 0.0f) + (c < cin ? s[c] : 0.0f);
                        o[c] = t < 0.0f ? 0.0f : t;
                    }
                }
        }
        face_map_release(&b);
        face_map_release(&sc);
        if (st != HUELLA_OK)
            return st;
        b = out;
    }
    face_map_release(x);
    *x = b;
    return HUELLA_OK;
}

static huella_status recog_forward(const face_weights *w, const huella_face_rgb *img, bool naive,
                                   float out[HUELLA_FACE_DIM], huella_error *err)
{
    static const float mean[3] = {122.782f, 117.001f, 104.298f};
    face_map x = {0}, t = {0};
    conv_params c0;
    huella_status st = get_conv(w, "conv32_down", 7, 3, 32, &c0, err);
    if (st != HUELLA_OK)
        return st;
    if ((st = face_prepare_input(img, 150, true, mean, 255.0f, &x, err)) != HUELLA_OK)
        return st;
    st = conv_layer(&x, &c0, 2, FACE_PAD_VALID, true, naive, &t, err);
    face_map_release(&x);
    if (st != HUELLA_OK)
        return st;
    st = face_maxpool(&t, 3, 2, FACE_PAD_VALID, &x, err);
    face_map_release(&t);
    if (st != HUELLA_OK)
        return st;
    static const struct {
        const char *name;
        int cin, cout;
        bool down;
    } blocks[] = {
        {"conv32_1", 32, 32, false},      {"conv32_2", 32, 32, false},
        {"conv32_3", 32, 32, false},      {"conv64_down", 32, 64, true},
        {"conv64_1", 64, 64, false},      {"conv64_2", 64, 64, false},
        {"conv64_3", 64, 64, false},      {"conv128_down", 64, 128, true},
        {"conv128_1", 128, 128, false},   {"conv128_2", 128, 128, false},
        {"conv256_down", 128, 256, true}, {"conv256_1", 256, 256, false},
        {"conv256_2", 256, 256, false},   {"conv256_down_out", 256, 256, true},
    };
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        st = residual(&x, w, blocks[i].name, blocks[i].cin, blocks[i].cout, blocks[i].down, naive,
                      err);
        if (st != HUELLA_OK) {
            face_map_release(&x);
            return st;
        }
    }
    const float *fc;
    uint32_t fshape[2] = {256, HUELLA_FACE_DIM};
    if ((st = face_weights_get(w, WHAT, "fc", 2, fshape, &fc, err)) != HUELLA_OK) {
        face_map_release(&x);
        return st;
    }
    float avg[256] = {0};
    size_t n = (size_t)x.h * (size_t)x.w;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 256; c++)
            avg[c] += x.d[i * 256 + (size_t)c];
    for (int c = 0; c < 256; c++)
        avg[c] /= (float)n;
    face_map_release(&x);
    for (int o = 0; o < HUELLA_FACE_DIM; o++) {
        float s = 0.0f;
        for (int c = 0; c < 256; c++)
            s += avg[c] * fc[(size_t)c * HUELLA_FACE_DIM + (size_t)o];
        out[o] = s;
    }
    return HUELLA_OK;
}

huella_status face_recog_forward(const face_weights *w, const huella_face_rgb *img,
                                 float out[HUELLA_FACE_DIM], huella_error *err)
{
    return recog_forward(w, img, false, out, err);
}

huella_status face_recog_forward_naive(const face_weights *w, const huella_face_rgb *img,
                                       float out[HUELLA_FACE_DIM], huella_error *err)
{
    return recog_forward(w, img, true, out, err);
}
