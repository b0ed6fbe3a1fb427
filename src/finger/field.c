/*
 * field.c - the fields a minutiae extractor reads before it looks at a
 * single ridge: normalised grey, foreground, ridge orientation, coherence
 * and ridge period.
 *
 * Contract: fx_field_compute fills an fx_field (src/finger/extract_internal.h)
 * from a 500-ppi grey image; it allocates, never fails but for memory, and
 * is deterministic.  The maps it produces:
 *   - norm: grey minus its local mean, divided by its local standard
 *     deviation (17 x 17 window), so that ridge contrast is uniform before
 *     filtering.  Dark ridges become negative.
 *   - orient, coh: the averaged squared-gradient tensor (Bazen & Gerez,
 *     "Systematic methods for the computation of the directional fields
 *     and singular points of fingerprints", IEEE PAMI 24(7), 2002): with
 *     Gxx, Gyy, Gxy the window sums of the gradient products, the ridge
 *     orientation is atan2(2 Gxy, Gxx - Gyy) / 2 + pi/2 and the coherence
 *     sqrt((Gxx - Gyy)^2 + 4 Gxy^2) / (Gxx + Gyy).  The window is two
 *     passes of a 25 x 25 box (close to a Gaussian of sigma 10): noise,
 *     creases and pores harm the filters more than the slight blunting
 *     of the orientation at cores and deltas.
 *   - fg: blocks of FX_BLOCK pixels whose gradient energy exceeds a
 *     fraction of the image's high percentile and whose coherence shows
 *     an oriented texture (noise and dust have energy but no orientation);
 *     the block mask is closed, its holes filled, only its largest
 *     connected part kept, and the weak blocks on its edge shed.  An
 *     absolute floor on the energy keeps a blank image blank.
 *   - period: the ridge period from the x-signature (Hong, Wan & Jain,
 *     "Fingerprint image enhancement: algorithm and performance
 *     evaluation", IEEE PAMI 20(8), 1998): the grey summed along the
 *     ridges in a 32 x 16 window oriented across them, whose peaks are
 *     one period apart.  It is measured on a grid of 16 pixels (every
 *     other block); the other blocks, and those without a clear
 *     signature, take the mean of their known neighbours, ring by ring,
 *     and the map is then smoothed over 5 x 5 blocks.
 *   - border: the distance of each pixel to the background or the image
 *     edge (3-4 chamfer, in pixels), for discarding minutiae made by the
 *     edge of the print.
 */
#include "finger/extract_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NORM_RADIUS   8    /* local mean and deviation window: 17 x 17 */
#define TENSOR_RADIUS 12   /* two box passes of 25 x 25 */
#define FG_ENERGY     0.06 /* of the 95th percentile of block energy */
#define FG_CLOSE      1    /* closing radius of the block mask, blocks */
#define FG_COHERENCE  0.25 /* minimum block coherence of a seed block */
#define SIG_LEN       32   /* x-signature: samples across the ridges */
#define SIG_WIDTH     16   /* x-signature: samples along the ridges */
#define PERIOD_MIN    4.0f
#define PERIOD_MAX    16.0f

/* Box filter of radius r, separable, edges replicated.  tmp is w * h,
 * col is w floats.  The vertical pass runs along rows, keeping one
 * running sum per column, to stay in the cache. */
static void box_blur(const float *in, float *out, float *tmp, float *col, int w, int h, int r)
{
    float inv = 1.0f / (float)(2 * r + 1);
    for (int y = 0; y < h; y++) {
        const float *row = in + (size_t)y * w;
        float *t = tmp + (size_t)y * w;
        float s = 0;
        for (int k = -r; k <= r; k++)
            s += row[k < 0 ? 0 : k >= w ? w - 1 : k];
        for (int x = 0; x < w; x++) {
            t[x] = s * inv;
            int add = x + r + 1, sub = x - r;
            s += row[add >= w ? w - 1 : add] - row[sub < 0 ? 0 : sub];
        }
    }
    for (int x = 0; x < w; x++)
        col[x] = 0;
    for (int k = -r; k <= r; k++) {
        const float *t = tmp + (size_t)(k < 0 ? 0 : k >= h ? h - 1 : k) * w;
        for (int x = 0; x < w; x++)
            col[x] += t[x];
    }
    for (int y = 0; y < h; y++) {
        float *o = out + (size_t)y * w;
        int add = y + r + 1, sub = y - r;
        const float *ta = tmp + (size_t)(add >= h ? h - 1 : add) * w;
        const float *ts = tmp + (size_t)(sub < 0 ? 0 : sub) * w;
        for (int x = 0; x < w; x++) {
            o[x] = col[x] * inv;
            col[x] += ta[x] - ts[x];
        }
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Keep the largest 4-connected component of a block mask; fill the
 * background components that do not touch the mask's edge (holes).
 * stack holds bw * bh ints, lab bw * bh ints. */
static void mask_clean(uint8_t *m, int bw, int bh, int *stack, int *lab)
{
    size_t n = (size_t)bw * bh;
    /* Holes: label background reachable from the edge; the rest is filled. */
    memset(lab, 0, n * sizeof(int));
    int sp = 0;
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++)
            if ((x == 0 || y == 0 || x == bw - 1 || y == bh - 1) && !m[y * bw + x] &&
                !lab[y * bw + x]) {
                lab[y * bw + x] = 1;
                stack[sp++] = y * bw + x;
            }
    while (sp > 0) {
        int p = stack[--sp], px = p % bw, py = p / bw;
        const int nb[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
        for (int k = 0; k < 4; k++) {
            int qx = px + nb[k][0], qy = py + nb[k][1];
            if (qx < 0 || qy < 0 || qx >= bw || qy >= bh)
                continue;
            int q = qy * bw + qx;
            if (!m[q] && !lab[q]) {
                lab[q] = 1;
                stack[sp++] = q;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!m[i] && !lab[i])
            m[i] = 1;
    /* Largest component. */
    memset(lab, 0, n * sizeof(int));
    int best = 0, best_size = 0, next = 0;
    for (size_t i = 0; i < n; i++) {
        if (!m[i] || lab[i])
            continue;
        int id = ++next, size = 0;
        lab[i] = id;
        stack[sp++] = (int)i;
        while (sp > 0) {
            int p = stack[--sp], px = p % bw, py = p / bw;
            size++;
            const int nb[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
            for (int k = 0; k < 4; k++) {
                int qx = px + nb[k][0], qy = py + nb[k][1];
                if (qx < 0 || qy < 0 || qx >= bw || qy >= bh)
                    continue;
                int q = qy * bw + qx;
                if (m[q] && !lab[q]) {
                    lab[q] = id;
                    stack[sp++] = q;
                }
            }
        }
        if (size > best_size) {
            best_size = size;
            best = id;
        }
    }
    for (size_t i = 0; i < n; i++)
        m[i] = (uint8_t)(m[i] && lab[i] == best);
}

/* Binary dilation (grow = 1) or erosion (grow = 0) of a block mask by its
 * 8-neighbourhood; out of range counts as background for erosion. */
static void mask_morph(const uint8_t *in, uint8_t *out, int bw, int bh, int grow)
{
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++) {
            int any = 0, all = 1;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int qx = x + dx, qy = y + dy;
                    int v = qx >= 0 && qy >= 0 && qx < bw && qy < bh ? in[qy * bw + qx] : 0;
                    any |= v;
                    all &= v;
                }
            out[y * bw + x] = (uint8_t)(grow ? any : all);
        }
}

static bool segment(fx_field *f, const float *energy)
{
    bool ok = false;
    int bw = f->bw, bh = f->bh, w = f->w, h = f->h;
    size_t nb = (size_t)bw * bh;
    float *be = malloc(nb * sizeof(float));
    float *sorted = malloc(nb * sizeof(float));
    float *bc = malloc(nb * sizeof(float));
    uint8_t *m = calloc(nb, 1), *t = calloc(nb, 1);
    int *stack = malloc(nb * 4 * sizeof(int)), *lab = malloc(nb * sizeof(int));
    if (!be || !sorted || !bc || !m || !t || !stack || !lab)
        goto done;
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            double e = 0, c = 0;
            int n = 0;
            for (int y = by * FX_BLOCK; y < (by + 1) * FX_BLOCK && y < h; y++)
                for (int x = bx * FX_BLOCK; x < (bx + 1) * FX_BLOCK && x < w; x++) {
                    e += energy[(size_t)y * w + x];
                    c += f->coh[(size_t)y * w + x];
                    n++;
                }
            be[by * bw + bx] = (float)(e / n);
            bc[by * bw + bx] = (float)(c / n);
        }
    memcpy(sorted, be, nb * sizeof(float));
    qsort(sorted, nb, sizeof(float), cmp_float);
    float p95 = sorted[(size_t)((double)(nb - 1) * 0.95)];
    /* A print has gradient energy well above sensor noise: a floor keeps
     * a blank or nearly uniform image from becoming all foreground. */
    float thr = (float)FG_ENERGY * p95;
    if (thr < 50.0f)
        thr = 50.0f;
    for (size_t i = 0; i < nb; i++)
        m[i] = (uint8_t)(be[i] > thr && bc[i] > FG_COHERENCE);
    /* Closing joins the blocks of a print cut by creases and low-coherence
     * cores; hole filling and the largest part drop isolated specks. */
    for (int k = 0; k < FG_CLOSE; k++) {
        mask_morph(m, t, bw, bh, 1);
        memcpy(m, t, nb);
    }
    for (int k = 0; k < FG_CLOSE; k++) {
        mask_morph(m, t, bw, bh, 0);
        memcpy(m, t, nb);
    }
    mask_clean(m, bw, bh, stack, lab);
    /* Blocks at the very edge of the print are half background: shed one
     * layer where the energy is weak. */
    memcpy(t, m, nb);
    for (size_t i = 0; i < nb; i++)
        if (t[i] && be[i] <= thr) {
            int x = (int)(i % (size_t)bw), y = (int)(i / (size_t)bw);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int qx = x + dx, qy = y + dy;
                    if (qx < 0 || qy < 0 || qx >= bw || qy >= bh || !t[qy * bw + qx])
                        m[i] = 0;
                }
        }
    f->fg_pixels = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t v = m[(y / FX_BLOCK) * bw + x / FX_BLOCK];
            f->fg[(size_t)y * w + x] = v;
            f->fg_pixels += v;
        }
    ok = true;
done:
    free(be);
    free(sorted);
    free(bc);
    free(m);
    free(t);
    free(stack);
    free(lab);
    return ok;
}

static float min_f(float a, float b)
{
    return a < b ? a : b;
}

/* 3-4 chamfer distance to the nearest background pixel, in pixels; the
 * image edge counts as background. */
static void border_distance(fx_field *f)
{
    int w = f->w, h = f->h;
    float *d = f->border;
    const float big = 1e9f;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (!f->fg[i] || x == 0 || y == 0 || x == w - 1 || y == h - 1) {
                d[i] = 0;
                continue;
            }
            float v = big;
            v = min_f(v, d[i - 1] + 3);
            v = min_f(v, d[i - w] + 3);
            v = min_f(v, d[i - w - 1] + 4);
            v = min_f(v, d[i - w + 1] + 4);
            d[i] = v;
        }
    for (int y = h - 2; y >= 1; y--)
        for (int x = w - 2; x >= 1; x--) {
            size_t i = (size_t)y * w + x;
            float v = d[i];
            v = min_f(v, d[i + 1] + 3);
            v = min_f(v, d[i + w] + 3);
            v = min_f(v, d[i + w + 1] + 4);
            v = min_f(v, d[i + w - 1] + 4);
            d[i] = v;
        }
    for (size_t i = 0; i < (size_t)w * h; i++)
        d[i] /= 3.0f;
}

/* Nearest integer of a small offset (|v| < 64), without a libm call. */
static int round_small(float v)
{
    return (int)(v + 64.5f) - 64;
}

/* Ridge period of the block centred at (cx, cy) from its x-signature, or
 * 0 when the signature shows no regular ridges. */
static float block_period(const fx_field *f, int cx, int cy)
{
    float th = f->orient[(size_t)cy * f->w + cx];
    float dx = cosf(th), dy = sinf(th); /* along the ridges */
    float nx = -dy, ny = dx;            /* across them */
    float sig[SIG_LEN], sm[SIG_LEN];
    /* The window reaches at most sqrt(16^2 + 8^2) < 18 pixels away. */
    bool inside = cx >= 18 && cy >= 18 && cx < f->w - 18 && cy < f->h - 18;
    for (int k = 0; k < SIG_LEN; k++) {
        float u = (float)k - SIG_LEN / 2.0f + 0.5f, s = 0;
        for (int j = 0; j < SIG_WIDTH; j++) {
            float v = (float)j - SIG_WIDTH / 2.0f + 0.5f;
            int x = cx + round_small(u * nx + v * dx), y = cy + round_small(u * ny + v * dy);
            if (inside || (x >= 0 && y >= 0 && x < f->w && y < f->h))
                s += f->norm[(size_t)y * f->w + x];
        }
        sig[k] = s / SIG_WIDTH;
    }
    for (int k = 0; k < SIG_LEN; k++) {
        float a = sig[k > 0 ? k - 1 : 0], b = sig[k < SIG_LEN - 1 ? k + 1 : k];
        sm[k] = 0.25f * a + 0.5f * sig[k] + 0.25f * b;
    }
    /* Peaks (valleys of the print: the ridges are negative) with enough
     * swing; their mean spacing is the period. */
    int first = -1, last = -1, count = 0;
    float hi = -1e9f, lo = 1e9f;
    for (int k = 0; k < SIG_LEN; k++) {
        hi = fmaxf(hi, sm[k]);
        lo = fminf(lo, sm[k]);
    }
    if (hi - lo < 0.5f)
        return 0.0f;
    for (int k = 1; k < SIG_LEN - 1; k++)
        if (sm[k] > sm[k - 1] && sm[k] >= sm[k + 1] && sm[k] > lo + 0.3f * (hi - lo)) {
            if (first < 0)
                first = k;
            last = k;
            count++;
        }
    if (count < 2)
        return 0.0f;
    float p = (float)(last - first) / (float)(count - 1);
    return p >= PERIOD_MIN && p <= PERIOD_MAX ? p : 0.0f;
}

static bool ridge_periods(fx_field *f)
{
    int bw = f->bw, bh = f->bh;
    size_t nb = (size_t)bw * bh;
    float *p = f->period;
    float *t = malloc(nb * sizeof(float));
    uint8_t *bfg = malloc(nb);
    if (t == NULL || bfg == NULL) {
        free(t);
        free(bfg);
        return false;
    }
    size_t unknown = 0;
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            int cx = bx * FX_BLOCK + FX_BLOCK / 2, cy = by * FX_BLOCK + FX_BLOCK / 2;
            if (cx >= f->w)
                cx = f->w - 1;
            if (cy >= f->h)
                cy = f->h - 1;
            size_t i = (size_t)by * bw + bx;
            bfg[i] = f->fg[(size_t)cy * f->w + cx];
            /* Measured every other block (a 16-pixel grid, Hong et al.'s),
             * the rest filled in below: the period changes slowly. */
            bool measure = bfg[i] && bx % 2 == 0 && by % 2 == 0;
            p[i] = measure ? block_period(f, cx, cy) : 0.0f;
            if (bfg[i] && p[i] == 0.0f)
                unknown++;
        }
    /* Fill unknown foreground blocks from their known neighbours, ring by
     * ring; a print with no measurable block takes the typical period. */
    for (int pass = 0; unknown > 0 && pass < bw + bh; pass++) {
        memcpy(t, p, nb * sizeof(float));
        size_t filled = 0;
        for (int by = 0; by < bh; by++)
            for (int bx = 0; bx < bw; bx++) {
                size_t i = (size_t)by * bw + bx;
                if (!bfg[i] || t[i] != 0.0f)
                    continue;
                float s = 0;
                int n = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int qx = bx + dx, qy = by + dy;
                        if (qx < 0 || qy < 0 || qx >= bw || qy >= bh)
                            continue;
                        float v = t[(size_t)qy * bw + qx];
                        if (v > 0) {
                            s += v;
                            n++;
                        }
                    }
                if (n > 0) {
                    p[i] = s / (float)n;
                    filled++;
                }
            }
        unknown -= filled;
        if (filled == 0)
            break;
    }
    for (size_t i = 0; i < nb; i++)
        if (p[i] == 0.0f)
            p[i] = FX_PERIOD;
    /* Smooth over 5 x 5 foreground blocks: the period changes slowly. */
    memcpy(t, p, nb * sizeof(float));
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            size_t i = (size_t)by * bw + bx;
            float s = 0;
            int n = 0;
            for (int dy = -2; dy <= 2; dy++)
                for (int dx = -2; dx <= 2; dx++) {
                    int qx = bx + dx, qy = by + dy;
                    if (qx < 0 || qy < 0 || qx >= bw || qy >= bh || !bfg[(size_t)qy * bw + qx])
                        continue;
                    s += t[(size_t)qy * bw + qx];
                    n++;
                }
            p[i] = n > 0 ? s / (float)n : t[i];
        }
    free(t);
    free(bfg);
    return true;
}

void fx_field_free(fx_field *f)
{
    free(f->norm);
    free(f->orient);
    free(f->coh);
    free(f->fg);
    free(f->period);
    free(f->border);
    memset(f, 0, sizeof(*f));
}

bool fx_field_compute(const uint8_t *pixels, int w, int h, fx_field *f)
{
    memset(f, 0, sizeof(*f));
    size_t n = (size_t)w * h;
    f->w = w;
    f->h = h;
    f->bw = (w + FX_BLOCK - 1) / FX_BLOCK;
    f->bh = (h + FX_BLOCK - 1) / FX_BLOCK;
    size_t nb = (size_t)f->bw * f->bh;
    f->norm = malloc(n * sizeof(float));
    f->orient = malloc(n * sizeof(float));
    f->coh = malloc(n * sizeof(float));
    f->fg = malloc(n);
    f->period = malloc(nb * sizeof(float));
    f->border = malloc(n * sizeof(float));
    float *g = calloc(n, sizeof(float)), *a = malloc(n * sizeof(float));
    float *b = calloc(n, sizeof(float)), *c = malloc(n * sizeof(float));
    float *tmp = malloc(n * sizeof(float)), *col = malloc((size_t)w * sizeof(float));
    bool ok = f->norm && f->orient && f->coh && f->fg && f->period && f->border && g && a && b &&
              c && tmp && col;
    if (!ok)
        goto done;

    /* Normalisation: (g - mean) / deviation over a 17 x 17 window.  The
     * floor on the variance keeps flat background from being blown up
     * into texture. */
    for (size_t i = 0; i < n; i++) {
        g[i] = pixels[i];
        b[i] = g[i] * g[i];
    }
    box_blur(g, a, tmp, col, w, h, NORM_RADIUS);
    box_blur(b, c, tmp, col, w, h, NORM_RADIUS);
    for (size_t i = 0; i < n; i++) {
        float var = c[i] - a[i] * a[i];
        f->norm[i] = (g[i] - a[i]) / sqrtf(fmaxf(var, 0.0f) + 16.0f);
    }

    /* Gradients (Sobel on a [1 2 1]-smoothed image, separable, edges
     * replicated) and their products. */
    for (int y = 0; y < h; y++) {
        const uint8_t *row = pixels + (size_t)y * w;
        float *t = a + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            int l = x > 0 ? x - 1 : 0, r = x < w - 1 ? x + 1 : w - 1;
            t[x] = 0.25f * (float)row[l] + 0.5f * (float)row[x] + 0.25f * (float)row[r];
        }
    }
    for (int y = 0; y < h; y++) {
        const float *up = a + (size_t)(y > 0 ? y - 1 : 0) * w, *mid = a + (size_t)y * w;
        const float *dn = a + (size_t)(y < h - 1 ? y + 1 : h - 1) * w;
        float *t = tmp + (size_t)y * w;
        for (int x = 0; x < w; x++)
            t[x] = 0.25f * up[x] + 0.5f * mid[x] + 0.25f * dn[x];
    }
    memcpy(g, tmp, n * sizeof(float));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
                a[i] = b[i] = c[i] = 0;
                continue;
            }
            const float *p = g + i;
            float gx = (p[-w + 1] + 2 * p[1] + p[w + 1]) - (p[-w - 1] + 2 * p[-1] + p[w - 1]);
            float gy = (p[w - 1] + 2 * p[w] + p[w + 1]) - (p[-w - 1] + 2 * p[-w] + p[-w + 1]);
            a[i] = gx * gx;
            b[i] = gy * gy;
            c[i] = gx * gy;
        }
    /* Window sums of the tensor: two box passes each (g reused). */
    box_blur(a, g, tmp, col, w, h, TENSOR_RADIUS);
    box_blur(g, a, tmp, col, w, h, TENSOR_RADIUS);
    box_blur(b, g, tmp, col, w, h, TENSOR_RADIUS);
    box_blur(g, b, tmp, col, w, h, TENSOR_RADIUS);
    box_blur(c, g, tmp, col, w, h, TENSOR_RADIUS);
    box_blur(g, c, tmp, col, w, h, TENSOR_RADIUS);
    for (size_t i = 0; i < n; i++) {
        float gxx = a[i], gyy = b[i], gxy = c[i];
        float e = gxx + gyy;
        f->coh[i] = e > 1e-6f ? sqrtf((gxx - gyy) * (gxx - gyy) + 4 * gxy * gxy) / e : 0.0f;
        g[i] = e; /* energy, for segmentation */
    }
    ok = segment(f, g);
    /* The orientation is needed only on the print. */
    for (size_t i = 0; ok && i < n; i++) {
        float th = 0;
        if (f->fg[i]) {
            th = 0.5f * atan2f(2 * c[i], a[i] - b[i]) + (float)(FX_PI / 2);
            if (th >= (float)FX_PI)
                th -= (float)FX_PI;
            if (th < 0)
                th += (float)FX_PI;
        }
        f->orient[i] = th;
    }
    if (ok) {
        border_distance(f);
        ok = ridge_periods(f);
    }
done:
    free(g);
    free(a);
    free(b);
    free(c);
    free(tmp);
    free(col);
    if (!ok)
        fx_field_free(f);
    return ok;
}
