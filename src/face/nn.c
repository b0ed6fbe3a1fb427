/*
 * nn.c - the tensor operations the face networks are made of, with TF.js's
 * semantics (its output sizes and 'same' padding: total padding
 * max((out - 1) * stride + k - in, 0), the smaller half before).  The
 * convolutions are im2col followed by one OpenBLAS sgemm: the matrix
 * product is where the time goes, and OpenBLAS has hand-written AVX2/AVX-512
 * kernels for it (bench/bench_face.c compares it with a naive loop).
 */
#include "face/face_internal.h"

#include <cblas.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

int face_out_size(int in, int k, int stride, face_pad pad)
{
    if (pad == FACE_PAD_SAME)
        return (in + stride - 1) / stride;
    if (in < k)
        return 0;
    return (in - k + stride) / stride;
}

static int pad_before(int in, int out, int k, int stride, face_pad pad)
{
    if (pad == FACE_PAD_VALID)
        return 0;
    int total = (out - 1) * stride + k - in;
    return total > 0 ? total / 2 : 0;
}

huella_status face_map_alloc(face_map *m, int h, int w, int c, huella_error *err)
{
    size_t n;
    m->d = NULL;
    if (h <= 0 || w <= 0 || c <= 0 || !huella_size_mul((size_t)h * (size_t)w, (size_t)c, &n) ||
        !huella_size_add(n, FACE_MAP_SLACK, &n) || !huella_size_mul(n, sizeof(float), &n))
        return huella_error_set(err, HUELLA_E_INPUT, "tensor size %d x %d x %d is invalid", h, w,
                                c);
    m->d = malloc(n);
    if (m->d == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    m->h = h;
    m->w = w;
    m->c = c;
    return HUELLA_OK;
}

void face_map_release(face_map *m)
{
    free(m->d);
    m->d = NULL;
}

huella_status face_conv2d(const face_map *x, const float *filters, const float *bias, int k,
                          int cout, int stride, face_pad pad, face_map *y, huella_error *err)
{
    int oh = face_out_size(x->h, k, stride, pad), ow = face_out_size(x->w, k, stride, pad);
    huella_status st = face_map_alloc(y, oh, ow, cout, err);
    if (st != HUELLA_OK)
        return st;
    int pt = pad_before(x->h, oh, k, stride, pad), pl = pad_before(x->w, ow, k, stride, pad);
    int cin = x->c;
    size_t rows = (size_t)oh * (size_t)ow, kdim = (size_t)k * (size_t)k * (size_t)cin;
    for (size_t r = 0; r < rows; r++)
        memcpy(y->d + r * (size_t)cout, bias, (size_t)cout * sizeof(float));
    if (k == 1 && stride == 1) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, cout, cin, 1.0f, x->d,
                    cin, filters, cout, 1.0f, y->d, cout);
        return HUELLA_OK;
    }
    float *col = malloc(rows * kdim * sizeof(float));
    if (col == NULL) {
        face_map_release(y);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            float *dst = col + ((size_t)oy * (size_t)ow + (size_t)ox) * kdim;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * stride + ky - pt;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox * stride + kx - pl;
                    float *d = dst + ((size_t)ky * (size_t)k + (size_t)kx) * (size_t)cin;
                    if (iy < 0 || iy >= x->h || ix < 0 || ix >= x->w)
                        memset(d, 0, (size_t)cin * sizeof(float));
                    else
                        memcpy(d, x->d + ((size_t)iy * (size_t)x->w + (size_t)ix) * (size_t)cin,
                               (size_t)cin * sizeof(float));
                }
            }
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, cout, (int)kdim, 1.0f, col,
                (int)kdim, filters, cout, 1.0f, y->d, cout);
    free(col);
    return HUELLA_OK;
}

huella_status face_conv2d_naive(const face_map *x, const float *filters, const float *bias, int k,
                                int cout, int stride, face_pad pad, face_map *y, huella_error *err)
{
    int oh = face_out_size(x->h, k, stride, pad), ow = face_out_size(x->w, k, stride, pad);
    huella_status st = face_map_alloc(y, oh, ow, cout, err);
    if (st != HUELLA_OK)
        return st;
    int pt = pad_before(x->h, oh, k, stride, pad), pl = pad_before(x->w, ow, k, stride, pad);
    int cin = x->c;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            for (int co = 0; co < cout; co++) {
                float acc = bias[co];
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * stride + ky - pt;
                    if (iy < 0 || iy >= x->h)
                        continue;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * stride + kx - pl;
                        if (ix < 0 || ix >= x->w)
                            continue;
                        const float *px =
                            x->d + ((size_t)iy * (size_t)x->w + (size_t)ix) * (size_t)cin;
                        const float *pf =
                            filters +
                            ((size_t)ky * (size_t)k + (size_t)kx) * (size_t)cin * (size_t)cout +
                            (size_t)co;
                        for (int ci = 0; ci < cin; ci++)
                            acc += px[ci] * pf[(size_t)ci * (size_t)cout];
                    }
                }
                y->d[((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)cout + (size_t)co] = acc;
            }
    return HUELLA_OK;
}

huella_status face_depthwise(const face_map *x, const float *filters, int k, int stride,
                             face_pad pad, int extra, face_map *y, huella_error *err)
{
    int ih = x->h + 2 * extra, iw = x->w + 2 * extra, c = x->c;
    int oh = face_out_size(ih, k, stride, pad), ow = face_out_size(iw, k, stride, pad);
    huella_status st = face_map_alloc(y, oh, ow, c, err);
    if (st != HUELLA_OK)
        return st;
    int pt = pad_before(ih, oh, k, stride, pad) + extra;
    int pl = pad_before(iw, ow, k, stride, pad) + extra;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            float *dst = y->d + ((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)c;
            memset(dst, 0, (size_t)c * sizeof(float));
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * stride + ky - pt;
                if (iy < 0 || iy >= x->h)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox * stride + kx - pl;
                    if (ix < 0 || ix >= x->w)
                        continue;
                    const float *src = x->d + ((size_t)iy * (size_t)x->w + (size_t)ix) * (size_t)c;
                    const float *f = filters + ((size_t)ky * (size_t)k + (size_t)kx) * (size_t)c;
                    for (int ci = 0; ci < c; ci++)
                        dst[ci] += src[ci] * f[ci];
                }
            }
        }
    return HUELLA_OK;
}

huella_status face_pointwise(const face_map *x, const float *w, const float *bias, int cout,
                             face_map *y, huella_error *err)
{
    return face_conv2d(x, w, bias, 1, cout, 1, FACE_PAD_VALID, y, err);
}

static huella_status pool(const face_map *x, int k, int stride, face_pad pad, bool max, face_map *y,
                          huella_error *err)
{
    int oh = face_out_size(x->h, k, stride, pad), ow = face_out_size(x->w, k, stride, pad);
    int c = x->c;
    huella_status st = face_map_alloc(y, oh, ow, c, err);
    if (st != HUELLA_OK)
        return st;
    int pt = pad_before(x->h, oh, k, stride, pad), pl = pad_before(x->w, ow, k, stride, pad);
    if (max && k == 2 && pt == 0 && pl == 0) {
        /* The detector's 2 x 2 pools: a window cut by the bottom or right
         * edge repeats its last row or column, which leaves the max as it
         * is. */
        for (int oy = 0; oy < oh; oy++) {
            int y0 = oy * stride, y1 = y0 + 1 < x->h ? y0 + 1 : x->h - 1;
            for (int ox = 0; ox < ow; ox++) {
                int x0 = ox * stride, x1 = x0 + 1 < x->w ? x0 + 1 : x->w - 1;
                const float *a = x->d + ((size_t)y0 * (size_t)x->w + (size_t)x0) * (size_t)c;
                const float *b = x->d + ((size_t)y0 * (size_t)x->w + (size_t)x1) * (size_t)c;
                const float *e = x->d + ((size_t)y1 * (size_t)x->w + (size_t)x0) * (size_t)c;
                const float *f = x->d + ((size_t)y1 * (size_t)x->w + (size_t)x1) * (size_t)c;
                float *dst = y->d + ((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)c;
                for (int ci = 0; ci < c; ci++) {
                    float m1 = a[ci] > b[ci] ? a[ci] : b[ci], m2 = e[ci] > f[ci] ? e[ci] : f[ci];
                    dst[ci] = m1 > m2 ? m1 : m2;
                }
            }
        }
        return HUELLA_OK;
    }
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            float *dst = y->d + ((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)c;
            for (int ci = 0; ci < c; ci++)
                dst[ci] = max ? -FLT_MAX : 0.0f;
            int n = 0;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * stride + ky - pt;
                if (iy < 0 || iy >= x->h)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox * stride + kx - pl;
                    if (ix < 0 || ix >= x->w)
                        continue;
                    const float *src = x->d + ((size_t)iy * (size_t)x->w + (size_t)ix) * (size_t)c;
                    n++;
                    if (max) {
                        for (int ci = 0; ci < c; ci++)
                            dst[ci] = src[ci] > dst[ci] ? src[ci] : dst[ci];
                    } else {
                        for (int ci = 0; ci < c; ci++)
                            dst[ci] += src[ci];
                    }
                }
            }
            if (!max && n > 0)
                for (int ci = 0; ci < c; ci++)
                    dst[ci] /= (float)n;
        }
    return HUELLA_OK;
}

huella_status face_maxpool(const face_map *x, int k, int stride, face_pad pad, face_map *y,
                           huella_error *err)
{
    return pool(x, k, stride, pad, true, y, err);
}

huella_status face_avgpool(const face_map *x, int k, int stride, face_pad pad, face_map *y,
                           huella_error *err)
{
    return pool(x, k, stride, pad, false, y, err);
}

huella_status face_prepare_input(const huella_face_rgb *img, int size, bool centred,
                                 const float *mean, float divisor, face_map *out, huella_error *err)
{
    if (img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "empty image");
    huella_status st = face_map_alloc(out, size, size, 3, err);
    if (st != HUELLA_OK)
        return st;
    return face_prepare_input_into(img, size, centred, mean, divisor, out->d, err);
}

huella_status face_prepare_input_into(const huella_face_rgb *img, int size, bool centred,
                                      const float *mean, float divisor, float *dst,
                                      huella_error *err)
{
    if (img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "empty image");
    int w = (int)img->width, h = (int)img->height;
    int side = w > h ? w : h;
    /* Offset of the image inside the padded square. */
    int diff = side - (w < h ? w : h);
    int after = centred ? (diff + 1) / 2 : diff; /* Math.round(diff * 0.5) */
    int before = diff - after;
    int offx = w < h ? before : 0, offy = h < w ? before : 0;
    float scale = (float)side / (float)size;
    /* The horizontal taps of every output column, computed once: byte
     * offsets into a row (-1 outside the image) and the weight. */
    int *cols = malloc((size_t)size * 2 * sizeof(int));
    float *fxs = malloc((size_t)size * sizeof(float));
    if (cols == NULL || fxs == NULL) {
        free(cols);
        free(fxs);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    for (int ox = 0; ox < size; ox++) {
        float sx = (float)ox * scale;
        int x0 = (int)sx;
        int x1 = x0 + 1 < side ? x0 + 1 : side - 1;
        fxs[ox] = sx - (float)x0;
        x0 -= offx;
        x1 -= offx;
        cols[2 * ox] = x0 >= 0 && x0 < w ? x0 * 3 : -1;
        cols[2 * ox + 1] = x1 >= 0 && x1 < w ? x1 * 3 : -1;
    }
    static const uint8_t black[3] = {0, 0, 0};
    float m[3] = {0.0f, 0.0f, 0.0f};
    if (mean != NULL)
        memcpy(m, mean, sizeof m);
    for (int oy = 0; oy < size; oy++) {
        float sy = (float)oy * scale;
        int y0 = (int)sy;
        int y1 = y0 + 1 < side ? y0 + 1 : side - 1;
        float fy = sy - (float)y0;
        y0 -= offy;
        y1 -= offy;
        const uint8_t *r0 = y0 >= 0 && y0 < h ? img->pixels + (size_t)y0 * (size_t)w * 3 : NULL;
        const uint8_t *r1 = y1 >= 0 && y1 < h ? img->pixels + (size_t)y1 * (size_t)w * 3 : NULL;
        float *d = dst + (size_t)oy * (size_t)size * 3;
        for (int ox = 0; ox < size; ox++, d += 3) {
            int c0 = cols[2 * ox], c1 = cols[2 * ox + 1];
            float fx = fxs[ox];
            const uint8_t *p00 = r0 && c0 >= 0 ? r0 + c0 : black;
            const uint8_t *p01 = r0 && c1 >= 0 ? r0 + c1 : black;
            const uint8_t *p10 = r1 && c0 >= 0 ? r1 + c0 : black;
            const uint8_t *p11 = r1 && c1 >= 0 ? r1 + c1 : black;
            for (int ch = 0; ch < 3; ch++) {
                float v00 = p00[ch], v01 = p01[ch], v10 = p10[ch], v11 = p11[ch];
                float top = v00 + (v01 - v00) * fx;
                float bot = v10 + (v11 - v10) * fx;
                float val = top + (bot - top) * fy;
                if (mean != NULL)
                    val -= m[ch];
                d[ch] = val / divisor;
            }
        }
    }
    free(cols);
    free(fxs);
    return HUELLA_OK;
}
