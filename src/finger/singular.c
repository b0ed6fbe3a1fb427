/*
 * singular.c - cores and deltas from the orientation field.
 *
 * Method: the Poincare index (Kawagoe & Tojo 1984; Maltoni et al.,
 * Handbook of Fingerprint Recognition, 2nd ed., section 3.5.1).  Walking a
 * closed curve around a point, the ridge orientation turns by +pi around a
 * core (loop), by -pi around a delta, and by 0 elsewhere.  The orientation
 * is averaged over blocks of FX_BLOCK pixels in the doubled-angle
 * representation (so that 0 and pi agree) weighted by coherence, smoothed
 * twice over 3 x 3 blocks, and the index taken along the 16 blocks of a
 * 5 x 5 square, which is steadier against noise than the 8 neighbours.
 * Blocks whose square leaves the print, or lies within RIM pixels of its
 * edge, are not examined: the field is extrapolated there.  Adjacent
 * detections of one kind merge into one point at their centroid.
 *
 * Contract: fx_singular fills the template's cores and deltas (positions
 * at 500 ppi, no directions) from a computed field; it never fails, and
 * finds none in a print without a complete loop or delta.
 */
#include "finger/extract_internal.h"
#include "huella/finger.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RIM 16.0f /* pixels from the print's edge where the field is not trusted */

/* Wrap an orientation difference into (-pi/2, pi/2]. */
static double wrap_half(double d)
{
    while (d > FX_PI / 2)
        d -= FX_PI;
    while (d <= -FX_PI / 2)
        d += FX_PI;
    return d;
}

/* Block orientation in [0, pi) from doubled-angle sums, NAN when the block
 * is not in the print. */
static void block_orientations(const fx_field *f, double *theta)
{
    int bw = f->bw, bh = f->bh;
    size_t nb = (size_t)bw * (size_t)bh;
    double *c = calloc(nb, sizeof(double)), *s = calloc(nb, sizeof(double));
    double *c2 = calloc(nb, sizeof(double)), *s2 = calloc(nb, sizeof(double));
    unsigned *fg = calloc(nb, sizeof(unsigned));
    if (c == NULL || s == NULL || c2 == NULL || s2 == NULL || fg == NULL) {
        for (size_t i = 0; i < nb; i++)
            theta[i] = NAN;
        goto done;
    }
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++) {
            size_t i = (size_t)y * f->w + x;
            if (!f->fg[i])
                continue;
            size_t b = (size_t)(y / FX_BLOCK) * bw + (size_t)(x / FX_BLOCK);
            double w = f->coh[i] + 1e-3;
            c[b] += w * cos(2 * f->orient[i]);
            s[b] += w * sin(2 * f->orient[i]);
            fg[b]++;
        }
    for (int pass = 0; pass < 2; pass++) {
        for (int by = 0; by < bh; by++)
            for (int bx = 0; bx < bw; bx++) {
                double sc = 0, ss = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int x = bx + dx, y = by + dy;
                        if (x < 0 || y < 0 || x >= bw || y >= bh)
                            continue;
                        sc += c[(size_t)y * bw + x];
                        ss += s[(size_t)y * bw + x];
                    }
                c2[(size_t)by * bw + bx] = sc;
                s2[(size_t)by * bw + bx] = ss;
            }
        memcpy(c, c2, nb * sizeof(double));
        memcpy(s, s2, nb * sizeof(double));
    }
    for (size_t b = 0; b < nb; b++) {
        double t = 0.5 * atan2(s[b], c[b]);
        theta[b] = fg[b] * 2 >= FX_BLOCK * FX_BLOCK ? (t < 0 ? t + FX_PI : t) : NAN;
    }
done:
    free(c);
    free(s);
    free(c2);
    free(s2);
    free(fg);
}

/* The 16 blocks of the 5 x 5 square's perimeter, in one turning sense. */
static const int ring[16][2] = {{-2, -2}, {-1, -2}, {0, -2}, {1, -2}, {2, -2}, {2, -1},
                                {2, 0},   {2, 1},   {2, 2},  {1, 2},  {0, 2},  {-1, 2},
                                {-2, 2},  {-2, 1},  {-2, 0}, {-2, -1}};

/* +1 core, -1 delta, 0 neither. */
static int poincare(const double *theta, int bw, int bx, int by)
{
    double sum = 0;
    for (int k = 0; k < 16; k++) {
        const int *p = ring[k], *q = ring[(k + 1) % 16];
        double a = theta[(size_t)(by + p[1]) * bw + (bx + p[0])];
        double b = theta[(size_t)(by + q[1]) * bw + (bx + q[0])];
        if (isnan(a) || isnan(b))
            return 0;
        sum += wrap_half(b - a);
    }
    /* The ring above turns clockwise on screen (y grows downward), which is
     * counterclockwise in the usual mathematical frame: a core gives +pi. */
    if (fabs(sum - FX_PI) < FX_PI / 2)
        return 1;
    if (fabs(sum + FX_PI) < FX_PI / 2)
        return -1;
    return 0;
}

static void add_point(huella_finger_singular *list, size_t *n, double x, double y)
{
    if (*n >= HUELLA_FINGER_MAX_SINGULAR)
        return;
    huella_finger_singular *s = &list[(*n)++];
    memset(s, 0, sizeof(*s));
    s->x = (float)x;
    s->y = (float)y;
}

void fx_singular(const fx_field *f, huella_finger_template *t)
{
    t->n_cores = t->n_deltas = 0;
    int bw = f->bw, bh = f->bh;
    size_t nb = (size_t)bw * (size_t)bh;
    double *theta = malloc(nb * sizeof(double));
    signed char *kind = calloc(nb, 1);
    int *stack = malloc(nb * sizeof(int));
    if (theta == NULL || kind == NULL || stack == NULL)
        goto done;
    block_orientations(f, theta);
    for (int by = 2; by < bh - 2; by++)
        for (int bx = 2; bx < bw - 2; bx++) {
            int cx = bx * FX_BLOCK + FX_BLOCK / 2, cy = by * FX_BLOCK + FX_BLOCK / 2;
            if (cx >= f->w || cy >= f->h || f->border[(size_t)cy * f->w + cx] < RIM + FX_BLOCK * 2)
                continue;
            kind[(size_t)by * bw + bx] = (signed char)poincare(theta, bw, bx, by);
        }
    /* Merge 8-connected detections of one kind. */
    for (size_t b = 0; b < nb; b++) {
        signed char k = kind[b];
        if (k == 0)
            continue;
        double sx = 0, sy = 0;
        size_t count = 0, top = 0;
        stack[top++] = (int)b;
        kind[b] = 0;
        while (top > 0) {
            int cur = stack[--top];
            int x = cur % bw, y = cur / bw;
            sx += x;
            sy += y;
            count++;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= bw || ny >= bh)
                        continue;
                    size_t nbi = (size_t)ny * bw + nx;
                    if (kind[nbi] == k) {
                        kind[nbi] = 0;
                        stack[top++] = (int)nbi;
                    }
                }
        }
        double px = (sx / (double)count + 0.5) * FX_BLOCK;
        double py = (sy / (double)count + 0.5) * FX_BLOCK;
        if (k > 0)
            add_point(t->cores, &t->n_cores, px, py);
        else
            add_point(t->deltas, &t->n_deltas, px, py);
    }
done:
    free(theta);
    free(kind);
    free(stack);
}
