/*
 * enhance.c - from the normalised grey to a one-pixel-wide ridge skeleton.
 *
 * Contract: fx_enhance_binarise filters the normalised image of an
 * fx_field with a Gabor filter tuned, at every foreground pixel, to the
 * local ridge orientation and period (Hong, Wan & Jain, "Fingerprint
 * image enhancement: algorithm and performance evaluation", IEEE PAMI
 * 20(8), 1998), and thresholds the response at zero: the even Gabor
 * filter keeps the sign of the ridges, so dark ridges give negative
 * responses.  The filter is applied as two oriented one-dimensional
 * passes (a Gaussian along the ridges, a Gabor across them: the 2-D
 * kernel is their product), with FX_ANGLES orientations and whole-pixel
 * periods from PERIOD_LO to PERIOD_HI; the across-ridge kernel is made
 * zero-mean under its envelope so that the grey level does not leak into
 * the result.  Ridge specks and valley holes (pores) smaller than
 * SPECK_PIXELS are then removed, since each would become a pair of false
 * minutiae.  The magnitude of the response, averaged per block, is the
 * clarity of the ridges there: the input has unit local variance and the
 * filter unit gain on a matched wave, so a clean sinusoidal pattern gives
 * about 0.9 and noise, dry or smudged ridges much less.
 *
 * fx_thin is the two-subiteration parallel thinning of Zhang & Suen ("A
 * fast parallel algorithm for thinning digital patterns", CACM 27(3),
 * 1984), followed by one pass that deletes the corner pixels of the
 * staircases it leaves on diagonals, when their deletion keeps
 * 8-connectivity; after that every pixel inside a ridge has exactly two
 * neighbours and the crossing number reads minutiae reliably.
 */
#include "finger/extract_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FX_ANGLES    32
#define PERIOD_LO    5
#define PERIOD_HI    15
#define N_PERIODS    (PERIOD_HI - PERIOD_LO + 1)
#define KERNEL_R     8   /* taps on each side of the centre, both passes */
#define SIGMA_ALONG  4.0 /* Hong et al.'s sigma, along the ridges */
#define SPECK_PIXELS 48

/*
 * The Gabor kernel exp(-(a^2 + c^2) / 2 sigma^2) cos(2 pi c / T), with a
 * along the ridge and c across it, is the product of a Gaussian in a and
 * a one-dimensional Gabor in c: filtering is done as two oriented 1-D
 * passes, KERNEL_R taps each side, instead of one 2-D pass (2 * 17 taps
 * per pixel instead of 17 * 17).  Along the ridges the samples are the
 * nearest pixels; across them, where the phase matters, they are
 * interpolated bilinearly.
 */
typedef struct gabor_bank {
    float along[2 * KERNEL_R + 1];                     /* Gaussian, sums to 1 */
    float across[N_PERIODS][2 * KERNEL_R + 1];         /* zero-mean 1-D Gabor */
    ptrdiff_t along_off[FX_ANGLES][2 * KERNEL_R + 1];  /* nearest pixel */
    ptrdiff_t across_off[FX_ANGLES][2 * KERNEL_R + 1]; /* top-left of 2 x 2 */
    float across_w[FX_ANGLES][2 * KERNEL_R + 1][4];    /* bilinear weights */
} gabor_bank;

static void bank_build(gabor_bank *b, int pw)
{
    double sum = 0;
    for (int k = -KERNEL_R; k <= KERNEL_R; k++) {
        b->along[k + KERNEL_R] = (float)exp(-(double)(k * k) / (2 * SIGMA_ALONG * SIGMA_ALONG));
        sum += b->along[k + KERNEL_R];
    }
    for (int k = 0; k <= 2 * KERNEL_R; k++)
        b->along[k] = (float)(b->along[k] / sum);
    for (int p = 0; p < N_PERIODS; p++) {
        double period = PERIOD_LO + p;
        /* Hong et al. use sigma = 4 at the typical period of 9 pixels;
         * keep about that ratio so that every period sees as many ridges. */
        double sigma = fmin(fmax(0.45 * period, 3.0), 4.0);
        double env[2 * KERNEL_R + 1], env_sum = 0, wave_sum = 0, gain = 0;
        for (int k = -KERNEL_R; k <= KERNEL_R; k++) {
            env[k + KERNEL_R] = exp(-(double)(k * k) / (2 * sigma * sigma));
            env_sum += env[k + KERNEL_R];
            wave_sum += env[k + KERNEL_R] * cos(2 * FX_PI * k / period);
        }
        /* Zero mean under the envelope, so the grey level does not leak
         * through; unit gain on a matched wave. */
        double dc = wave_sum / env_sum;
        for (int k = -KERNEL_R; k <= KERNEL_R; k++) {
            double c = cos(2 * FX_PI * k / period);
            double v = env[k + KERNEL_R] * (c - dc);
            b->across[p][k + KERNEL_R] = (float)v;
            gain += v * c;
        }
        for (int k = 0; k <= 2 * KERNEL_R; k++)
            b->across[p][k] = (float)(b->across[p][k] / gain);
    }
    for (int a = 0; a < FX_ANGLES; a++) {
        double th = FX_PI * a / FX_ANGLES, ct = cos(th), st = sin(th);
        for (int k = -KERNEL_R; k <= KERNEL_R; k++) {
            int i = k + KERNEL_R;
            b->along_off[a][i] = (ptrdiff_t)lround(k * st) * pw + (ptrdiff_t)lround(k * ct);
            double x = -k * st, y = k * ct; /* across the ridge */
            double x0 = floor(x), y0 = floor(y), fx = x - x0, fy = y - y0;
            b->across_off[a][i] = (ptrdiff_t)y0 * pw + (ptrdiff_t)x0;
            b->across_w[a][i][0] = (float)((1 - fx) * (1 - fy));
            b->across_w[a][i][1] = (float)(fx * (1 - fy));
            b->across_w[a][i][2] = (float)((1 - fx) * fy);
            b->across_w[a][i][3] = (float)(fx * fy);
        }
    }
}

/* Remove 8-connected components of value v smaller than max_size pixels
 * (setting them to 1 - v); for valleys (v = 0) only components that lie
 * inside the foreground and away from the image edge, which are holes. */
static bool remove_small(uint8_t *img, const uint8_t *fg, int w, int h, uint8_t v, int max_size)
{
    size_t n = (size_t)w * h;
    uint8_t *seen = calloc(n, 1);
    int *stack = malloc(n * sizeof(int));
    int *comp = malloc(n * sizeof(int));
    if (seen == NULL || stack == NULL || comp == NULL) {
        free(seen);
        free(stack);
        free(comp);
        return false;
    }
    for (size_t s = 0; s < n; s++) {
        if (seen[s] || img[s] != v || !fg[s])
            continue;
        int sp = 0, nc = 0;
        bool edge = false;
        seen[s] = 1;
        stack[sp++] = (int)s;
        while (sp > 0) {
            int p = stack[--sp], px = p % w, py = p / w;
            comp[nc++] = p;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int qx = px + dx, qy = py + dy;
                    if (qx < 0 || qy < 0 || qx >= w || qy >= h) {
                        edge = true;
                        continue;
                    }
                    size_t q = (size_t)qy * w + qx;
                    if (!fg[q]) {
                        edge = true;
                        continue;
                    }
                    if (!seen[q] && img[q] == v) {
                        seen[q] = 1;
                        stack[sp++] = (int)q;
                    }
                }
        }
        if (nc < max_size && (v == 1 || !edge))
            for (int i = 0; i < nc; i++)
                img[comp[i]] = (uint8_t)(1 - v);
    }
    free(seen);
    free(stack);
    free(comp);
    return true;
}

bool fx_enhance_binarise(const fx_field *f, uint8_t *ridge, float *clarity)
{
    /* Padded by KERNEL_R + 1 (bilinear reads one pixel further) with
     * zeros, the mean of the normalised image, and with the background
     * zeroed so that it does not bleed into the print. */
    const int pad = KERNEL_R + 1;
    int w = f->w, h = f->h, pw = w + 2 * pad;
    size_t psize = (size_t)pw * (size_t)(h + 2 * pad);
    gabor_bank *bank = malloc(sizeof(*bank));
    float *src = calloc(psize, sizeof(float)), *mid = calloc(psize, sizeof(float));
    uint8_t *bin = malloc((size_t)w * h);
    if (bank == NULL || src == NULL || mid == NULL || bin == NULL) {
        free(bank);
        free(src);
        free(mid);
        free(bin);
        return false;
    }
    bank_build(bank, pw);
    uint8_t *angle = bin; /* the orientation bin of each pixel, reused below */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (f->fg[i])
                src[(size_t)(y + pad) * pw + x + pad] = f->norm[i];
            angle[i] = (uint8_t)(lroundf(f->orient[i] * (float)(FX_ANGLES / FX_PI)) % FX_ANGLES);
        }
    /* Pass 1: Gaussian smoothing along the ridges. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (!f->fg[i])
                continue;
            size_t c = (size_t)(y + pad) * pw + x + pad;
            const ptrdiff_t *off = bank->along_off[angle[i]];
            float s = 0;
            for (int k = 0; k <= 2 * KERNEL_R; k++)
                s += bank->along[k] * src[(ptrdiff_t)c + off[k]];
            mid[c] = s;
        }
    /* Pass 2: the 1-D Gabor across them, at the local period; the sign of
     * the response is the ridge map, its magnitude the clarity. */
    if (clarity != NULL)
        memset(clarity, 0, (size_t)f->bw * f->bh * sizeof(float));
    for (int y = 0; y < h; y++) {
        const float *prow = f->period + (size_t)(y / FX_BLOCK) * f->bw;
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            ridge[i] = 0;
            if (!f->fg[i])
                continue;
            int pb = (int)lroundf(prow[x / FX_BLOCK]) - PERIOD_LO;
            pb = pb < 0 ? 0 : pb >= N_PERIODS ? N_PERIODS - 1 : pb;
            int a = angle[i];
            const float *g = bank->across[pb];
            const float *c = mid + (size_t)(y + pad) * pw + x + pad;
            float s = 0;
            for (int k = 0; k <= 2 * KERNEL_R; k++) {
                const float *q = c + bank->across_off[a][k];
                const float *wt = bank->across_w[a][k];
                s += g[k] * (wt[0] * q[0] + wt[1] * q[1] + wt[2] * q[pw] + wt[3] * q[pw + 1]);
            }
            ridge[i] = (uint8_t)(s < 0.0f);
            if (clarity != NULL)
                clarity[(size_t)(y / FX_BLOCK) * f->bw + x / FX_BLOCK] += fabsf(s);
        }
    }
    /* Mean magnitude per block.  The input has unit local variance and the
     * filter unit gain on a matched wave, so a clean sinusoidal ridge
     * pattern gives 2 sqrt(2) / pi = 0.9 and noise much less. */
    for (int by = 0; clarity != NULL && by < f->bh; by++)
        for (int bx = 0; bx < f->bw; bx++) {
            int n = 0;
            for (int y = by * FX_BLOCK; y < (by + 1) * FX_BLOCK && y < h; y++)
                for (int x = bx * FX_BLOCK; x < (bx + 1) * FX_BLOCK && x < w; x++)
                    n += f->fg[(size_t)y * w + x];
            if (n > 0)
                clarity[(size_t)by * f->bw + bx] /= (float)n;
        }
    free(bank);
    free(src);
    free(mid);
    free(bin);
    return remove_small(ridge, f->fg, w, h, 1, SPECK_PIXELS) &&
           remove_small(ridge, f->fg, w, h, 0, SPECK_PIXELS);
}

/* ---- Thinning ------------------------------------------------------------ */

/* The 8 neighbours of p clockwise from north: P2..P9 of Zhang & Suen. */
static void neighbours(const uint8_t *img, int w, size_t i, int n[8])
{
    n[0] = img[i - w];
    n[1] = img[i - w + 1];
    n[2] = img[i + 1];
    n[3] = img[i + w + 1];
    n[4] = img[i + w];
    n[5] = img[i + w - 1];
    n[6] = img[i - 1];
    n[7] = img[i - w - 1];
}

/* The 8-bit code of p's neighbourhood, bit k = neighbour k of
 * neighbours() (any non-zero value counts as set). */
static unsigned code_at(const uint8_t *img, int w, size_t i)
{
    int nb[8];
    neighbours(img, w, i, nb);
    unsigned c = 0;
    for (int k = 0; k < 8; k++)
        c |= (unsigned)(nb[k] != 0) << k;
    return c;
}

bool fx_thin(uint8_t *img, int w, int h)
{
    for (int x = 0; x < w; x++)
        img[x] = img[(size_t)(h - 1) * w + x] = 0;
    for (int y = 0; y < h; y++)
        img[(size_t)y * w] = img[(size_t)y * w + w - 1] = 0;
    /* Zhang & Suen's deletion rule for every neighbourhood, per
     * subiteration: 2 <= B <= 6 set neighbours, A = 1 clear-to-set
     * transition around, and P2 P4 P6 = P4 P6 P8 = 0 (first) or
     * P2 P4 P8 = P2 P6 P8 = 0 (second). */
    uint8_t del[2][256];
    for (unsigned c = 0; c < 256; c++) {
        int nb[8], a = 0, b = 0;
        for (int k = 0; k < 8; k++) {
            nb[k] = (int)((c >> k) & 1);
            b += nb[k];
        }
        for (int k = 0; k < 8; k++)
            a += !nb[k] && nb[(k + 1) % 8];
        bool ok = b >= 2 && b <= 6 && a == 1;
        del[0][c] = (uint8_t)(ok && !(nb[0] && nb[2] && nb[4]) && !(nb[2] && nb[4] && nb[6]));
        del[1][c] = (uint8_t)(ok && !(nb[0] && nb[2] && nb[6]) && !(nb[0] && nb[4] && nb[6]));
    }
    /* Only pixels on a ridge are visited; the list shrinks as they go.
     * Candidates are marked 2 and deleted after each subiteration, as the
     * parallel algorithm requires. */
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < (size_t)w * h; i++)
        cap += img[i] != 0;
    size_t *list = malloc((cap ? cap : 1) * sizeof(size_t));
    if (list == NULL)
        return false;
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (img[i])
            list[n++] = i;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int sub = 0; sub < 2; sub++) {
            for (size_t j = 0; j < n; j++)
                if (del[sub][code_at(img, w, list[j])]) {
                    img[list[j]] = 2;
                    changed = true;
                }
            size_t m = 0;
            for (size_t j = 0; j < n; j++) {
                if (img[list[j]] == 2)
                    img[list[j]] = 0;
                else
                    list[m++] = list[j];
            }
            n = m;
        }
    }
    free(list);
    /* Staircases: a pixel with two 4-neighbours at a right angle (north
     * and east, say) is redundant when it is a simple point (its
     * 8-connectivity number of Yokoi et al. is 1), since those two
     * neighbours touch diagonally anyway. */
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            size_t i = (size_t)y * w + x;
            if (!img[i])
                continue;
            int nb[8], b = 0, c8 = 0;
            neighbours(img, w, i, nb);
            for (int k = 0; k < 8; k++)
                b += nb[k];
            for (int k = 0; k < 8; k += 2)
                c8 += !nb[k] - (!nb[k] && !nb[k + 1] && !nb[(k + 2) % 8]);
            if (c8 != 1 || b < 2)
                continue;
            bool corner =
                (nb[0] && nb[2]) || (nb[2] && nb[4]) || (nb[4] && nb[6]) || (nb[6] && nb[0]);
            if (corner)
                img[i] = 0;
        }
    return true;
}
