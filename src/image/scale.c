/*
 * scale.c - resampling a grey image by a factor.
 *
 * Contract: huella_image_scale(img, s) gives an image of round(width * s) x
 * round(height * s) pixels (at least 1 x 1, within the default limits).
 * Each axis is resampled on its own (the filter is separable):
 *   - shrinking averages the source pixels that each output pixel covers,
 *     weighted by the covered fraction (area averaging, the "box" filter
 *     integrated exactly), so fine ridges are not aliased;
 *   - enlarging interpolates linearly between the two nearest source pixel
 *     centres (bilinear), clamping at the borders;
 *   - an axis whose size does not change is copied.
 * Pixel centres are aligned ((x + 0.5) / s - 0.5), so scaling does not
 * shift the image by half a pixel.  The resolution is scaled with the
 * actual size ratio of each axis (new_width / width), which keeps the
 * physical size of the image; an undeclared resolution stays 0.
 */
#include "image/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* For each output index, the source indices and weights it draws from. */
typedef struct taps {
    uint32_t *first; /* first source index, per output */
    uint32_t *count; /* number of taps, per output */
    size_t *start;   /* offset of its weights in weight[], per output */
    float *weight;
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->start);
    free(t->weight);
}

static bool taps_build(size_t src_n, size_t dst_n, taps *t)
{
    memset(t, 0, sizeof(*t));
    /* Area averaging touches at most src_n + dst_n taps in all; bilinear
     * two per output. */
    size_t max_taps = src_n + 2 * dst_n;
    t->first = malloc(dst_n * sizeof(uint32_t));
    t->count = malloc(dst_n * sizeof(uint32_t));
    t->start = malloc(dst_n * sizeof(size_t));
    t->weight = malloc(max_taps * sizeof(float));
    if (t->first == NULL || t->count == NULL || t->start == NULL || t->weight == NULL)
        return false;
    double ratio = (double)src_n / (double)dst_n; /* source pixels per output pixel */
    size_t used = 0;
    for (size_t i = 0; i < dst_n; i++) {
        t->start[i] = used;
        if (dst_n == src_n) {
            t->first[i] = (uint32_t)i;
            t->count[i] = 1;
            t->weight[used++] = 1.0f;
        } else if (dst_n < src_n) {
            double a = (double)i * ratio, b = (double)(i + 1) * ratio;
            if (b > (double)src_n)
                b = (double)src_n;
            size_t s0 = (size_t)floor(a), s1 = (size_t)ceil(b);
            if (s1 > src_n)
                s1 = src_n;
            if (s1 <= s0)
                s1 = s0 + 1;
            t->first[i] = (uint32_t)s0;
            t->count[i] = (uint32_t)(s1 - s0);
            for (size_t s = s0; s < s1 && used < max_taps; s++) {
                double lo = a > (double)s ? a : (double)s;
                double hi = b < (double)(s + 1) ? b : (double)(s + 1);
                double w = hi > lo ? (hi - lo) / (b - a) : 0.0;
                t->weight[used++] = (float)w;
            }
        } else {
            double pos = ((double)i + 0.5) * ratio - 0.5;
            if (pos < 0)
                pos = 0;
            if (pos > (double)(src_n - 1))
                pos = (double)(src_n - 1);
            size_t s0 = (size_t)floor(pos);
            double f = pos - (double)s0;
            t->first[i] = (uint32_t)s0;
            if (s0 + 1 < src_n) {
                t->count[i] = 2;
                t->weight[used++] = (float)(1.0 - f);
                t->weight[used++] = (float)f;
            } else {
                t->count[i] = 1;
                t->weight[used++] = 1.0f;
            }
        }
    }
    return true;
}

static uint8_t to_byte(float v)
{
    if (!(v > 0))
        return 0;
    if (v >= 255)
        return 255;
    return (uint8_t)(v + 0.5f);
}

huella_status huella_image_scale(const huella_image *img, double scale, huella_image **out,
                                 huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "scale: no output pointer");
    *out = NULL;
    if (img == NULL || img->pixels == NULL || img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "scale: no image");
    if (!isfinite(scale) || scale <= 0)
        return huella_error_set(err, HUELLA_E_INPUT, "scale: factor %g is not a positive number",
                                scale);
    double dw = round((double)img->width * scale), dh = round((double)img->height * scale);
    uint64_t new_w = dw < 1 ? 1 : dw > 1e15 ? (uint64_t)1e15 : (uint64_t)dw;
    uint64_t new_h = dh < 1 ? 1 : dh > 1e15 ? (uint64_t)1e15 : (uint64_t)dh;
    huella_status st = huella_image_check_size(new_w, new_h, NULL, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "scale: ");
        return st;
    }
    size_t sw = img->width, sh = img->height, w = (size_t)new_w, h = (size_t)new_h;
    size_t tmp_n;
    /* The intermediate image (new width x old height) and one row more. */
    if (!huella_size_mul(w, sh + 1, &tmp_n) || tmp_n > SIZE_MAX / sizeof(float))
        return huella_error_set(err, HUELLA_E_INPUT, "scale: image too large");

    huella_image *res;
    st = huella_image_alloc(w, h, NULL, img->format, &res, err);
    if (st != HUELLA_OK)
        return st;
    res->format = img->format;
    res->source_channels = img->source_channels;
    res->source_bits = img->source_bits;
    res->ppi_x = img->ppi_x * (double)w / (double)sw;
    res->ppi_y = img->ppi_y * (double)h / (double)sh;

    taps tx, ty;
    float *tmp = malloc(tmp_n * sizeof(float));
    bool ok = taps_build(sw, w, &tx);
    ok = taps_build(sh, h, &ty) && ok;
    if (tmp == NULL || !ok) {
        free(tmp);
        taps_free(&tx);
        taps_free(&ty);
        huella_image_free(res);
        return huella_error_set(err, HUELLA_E_NOMEM, "scale: out of memory");
    }

    /* Horizontal pass: every source row to the new width. */
    for (size_t y = 0; y < sh; y++) {
        const uint8_t *src = img->pixels + y * sw;
        float *dst = tmp + y * w;
        for (size_t x = 0; x < w; x++) {
            const float *wt = tx.weight + tx.start[x];
            const uint8_t *s = src + tx.first[x];
            float acc = 0;
            for (uint32_t k = 0; k < tx.count[x]; k++)
                acc += wt[k] * (float)s[k];
            dst[x] = acc;
        }
    }
    /* Vertical pass: each new row is a weighted sum of intermediate rows,
     * accumulated a whole row at a time to read memory in order. */
    float *acc = tmp + (size_t)sh * w;
    for (size_t y = 0; y < h; y++) {
        const float *wt = ty.weight + ty.start[y];
        memset(acc, 0, w * sizeof(float));
        for (uint32_t k = 0; k < ty.count[y]; k++) {
            const float *s = tmp + ((size_t)ty.first[y] + k) * w;
            float wk = wt[k];
            for (size_t x = 0; x < w; x++)
                acc[x] += wk * s[x];
        }
        uint8_t *dst = res->pixels + y * w;
        for (size_t x = 0; x < w; x++)
            dst[x] = to_byte(acc[x]);
    }
    free(tmp);
    taps_free(&tx);
    taps_free(&ty);
    *out = res;
    return HUELLA_OK;
}
