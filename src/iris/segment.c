/*
 * segment.c - segmentation of near-infrared eye images: where the iris is
 * and which parts of it can be trusted.
 *
 * Contract: iris_segment finds the pupil and limbus boundaries as closed
 * contours (a centre and a radius per angle, not circles, not concentric),
 * the eyelid limit along each rubber-sheet ray, and a per-pixel mask of
 * specular reflections and eyelashes; or fails with HUELLA_E_INPUT when no
 * eye is found.  Pure function of the image: no state, no globals, so it
 * may run in many threads at once.
 *
 * Method, coarse to fine:
 *   1. Specular reflections: pixels near the top of the image's grey range
 *      and much brighter than their 15 x 15 neighbourhood, dilated; they are left out of every
 * later average.
 *   2. Pupil, coarse: on a half-size copy (reflections filled from their
 *      surroundings), Daugman's integro-differential idea with a contrast
 *      that prefers a dark disc: for every candidate centre and radius the
 *      mean grey on a ring just outside the circle against the brightest
 *      ring mean inside it (J. Daugman, "How iris recognition works",
 *      IEEE Trans. CSVT 14(1), 2004).  A ratio, not a difference, so that
 *      the pupil wins over the whole-iris circle whose inside is darker
 *      than the sclera too.
 *   3. Limbus, coarse: the integro-differential operator (ring-mean jump
 *      outwards) restricted to the lateral sectors that eyelids rarely
 *      cover, with the centre near the pupil's; the innermost strong edge
 *      at a plausible pupil/iris ratio, not merely the strongest.
 *   4. Both refined to the real edge: per angle, the strongest edge of the
 *      right polarity along the ray near the coarse circle, then a robust
 *      least-squares Fourier series of the radius (order 3 for the pupil,
 *      1 for the limbus whose top and bottom are often hidden) - the
 *      "active contours" of J. Daugman, "New methods in iris recognition",
 *      IEEE Trans. SMC-B 37(5), 2007.  The pupil first along the whole
 *      dark run of each ray (up to where the grey level first rises past
 *      half-way from the pupil's level to the iris's), so that a coarse
 *      circle caught in one part of a soft-edged, unevenly dark pupil
 *      grows to all of it; then again near that contour, seen from its
 *      own centre.
 *   5. Eyelids: each lid a parabola, the one (in a grid of positions and
 *      curvatures) beyond which most rubber-sheet samples lie outside the
 *      robust range of the clear iris (skin is brighter, lashes darker)
 *      and across which the grey level steps; none when no curve wins.
 *   6. Eyelashes: pixels far darker than the clear iris (Kong and Zhang,
 *      "Accurate iris segmentation based on novel reflection and eyelash
 *      detection model", ISIMP 2001, separable/multiple lashes as dark thin
 *      structures).
 * Nothing depends on the pupil being filled with a uniform colour or on
 * the presence of reflections.
 */
#include "iris/iris_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NPTS HUELLA_IRIS_CONTOUR_POINTS

/* The largest pupil/iris radius ratio accepted (Daugman's physiological
 * range is 0.1 - 0.8): beyond it the segmentation is refused, and the
 * pupil's refinement never looks further out. */
#define IRIS_MAX_DILATION 0.8

/* ---- small helpers ------------------------------------------------------ */

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median of n values (reorders them). */
static float median_of(float *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_float);
    return n % 2 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

/* Box mean of radius r with an integral image (edges: the window is cut). */
static void box_mean(const float *src, float *dst, int w, int h, int r, double *integral)
{
    size_t W = (size_t)w + 1;
    memset(integral, 0, W * sizeof(double));
    for (int y = 0; y < h; y++) {
        double row = 0;
        integral[(size_t)(y + 1) * W] = 0;
        for (int x = 0; x < w; x++) {
            row += src[(size_t)y * (size_t)w + (size_t)x];
            integral[(size_t)(y + 1) * W + (size_t)x + 1] =
                integral[(size_t)y * W + (size_t)x + 1] + row;
        }
    }
    for (int y = 0; y < h; y++) {
        int y0 = y - r < 0 ? 0 : y - r, y1 = y + r + 1 > h ? h : y + r + 1;
        for (int x = 0; x < w; x++) {
            int x0 = x - r < 0 ? 0 : x - r, x1 = x + r + 1 > w ? w : x + r + 1;
            double s =
                integral[(size_t)y1 * W + (size_t)x1] - integral[(size_t)y0 * W + (size_t)x1] -
                integral[(size_t)y1 * W + (size_t)x0] + integral[(size_t)y0 * W + (size_t)x0];
            dst[(size_t)y * (size_t)w + (size_t)x] = (float)(s / ((double)(y1 - y0) * (x1 - x0)));
        }
    }
}

/* Bilinear sample; false outside the image. */
static bool sample(const float *img, int w, int h, double x, double y, float *v)
{
    if (!(x >= 0 && y >= 0 && x <= w - 1 && y <= h - 1))
        return false;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    const float *r0 = img + (size_t)y0 * (size_t)w, *r1 = img + (size_t)y1 * (size_t)w;
    *v = (float)((r0[x0] * (1 - fx) + r0[x1] * fx) * (1 - fy) +
                 (r1[x0] * (1 - fx) + r1[x1] * fx) * fy);
    return true;
}

static bool is_reflection(const uint8_t *mask, int w, int h, double x, double y)
{
    int xi = (int)lround(x), yi = (int)lround(y);
    if (xi < 0 || yi < 0 || xi >= w || yi >= h)
        return true;
    return mask[(size_t)yi * (size_t)w + (size_t)xi] == IRIS_PIX_REFLECTION;
}

/* ---- contours ----------------------------------------------------------- */

double iris_boundary_radius(const huella_iris_boundary *b, double theta)
{
    double u = theta / (2 * IRIS_PI) * NPTS;
    u -= floor(u / NPTS) * NPTS;
    int k = (int)u;
    if (k >= NPTS)
        k = NPTS - 1;
    double f = u - k;
    return b->radius[k] * (1 - f) + b->radius[(k + 1) % NPTS] * f;
}

double iris_eyelid_at(const iris_segmentation *seg, double theta)
{
    double u = theta / (2 * IRIS_PI) * NPTS;
    u -= floor(u / NPTS) * NPTS;
    int k = (int)u;
    if (k >= NPTS)
        k = NPTS - 1;
    double f = u - k;
    return seg->eyelid[k] * (1 - f) + seg->eyelid[(k + 1) % NPTS] * f;
}

void iris_sheet_point(const huella_iris_boundary *pupil, const huella_iris_boundary *limbus,
                      double theta, double t, double *x, double *y)
{
    double c = cos(theta), s = sin(theta);
    double rp = iris_boundary_radius(pupil, theta), rl = iris_boundary_radius(limbus, theta);
    double px = pupil->cx + rp * c, py = pupil->cy + rp * s;
    double lx = limbus->cx + rl * c, ly = limbus->cy + rl * s;
    *x = (1 - t) * px + t * lx;
    *y = (1 - t) * py + t * ly;
}

/*
 * Least-squares Fourier series of the radius, r(t) = a0 + sum_k a_k cos kt
 * + b_k sin kt, over the angles with ok[i], then the same again without
 * the points that lie far from the first fit.  Writes the fitted radius at
 * every contour angle.  False when too few points.  ridge_sin1 > 0 pulls
 * the sin t term (a vertical shift of the centre) towards 0, for a
 * boundary seen only at its sides.
 */
static bool fourier_fit(const double *r, const bool *ok_in, int order, double ridge_sin1,
                        float *out)
{
    enum { MAXP = 9 };
    int np = 2 * order + 1;
    bool ok[NPTS];
    memcpy(ok, ok_in, sizeof(ok));
    double coef[MAXP] = {0};
    for (int pass = 0; pass < 3; pass++) {
        double A[MAXP][MAXP + 1];
        memset(A, 0, sizeof(A));
        int n = 0;
        for (int i = 0; i < NPTS; i++) {
            if (!ok[i])
                continue;
            double t = 2 * IRIS_PI * i / NPTS, basis[MAXP];
            basis[0] = 1;
            for (int k = 1; k <= order; k++) {
                basis[2 * k - 1] = cos(k * t);
                basis[2 * k] = sin(k * t);
            }
            for (int a = 0; a < np; a++) {
                for (int b = 0; b < np; b++)
                    A[a][b] += basis[a] * basis[b];
                A[a][np] += basis[a] * r[i];
            }
            n++;
        }
        if (n < np + 4)
            return false;
        if (order >= 1)
            A[2][2] += ridge_sin1 * n;
        /* Gaussian elimination with partial pivoting. */
        for (int c = 0; c < np; c++) {
            int piv = c;
            for (int a = c + 1; a < np; a++)
                if (fabs(A[a][c]) > fabs(A[piv][c]))
                    piv = a;
            if (fabs(A[piv][c]) < 1e-9)
                return false;
            if (piv != c)
                for (int b = 0; b <= np; b++) {
                    double tmp = A[c][b];
                    A[c][b] = A[piv][b];
                    A[piv][b] = tmp;
                }
            for (int a = c + 1; a < np; a++) {
                double f = A[a][c] / A[c][c];
                for (int b = c; b <= np; b++)
                    A[a][b] -= f * A[c][b];
            }
        }
        for (int c = np - 1; c >= 0; c--) {
            double s = A[c][np];
            for (int b = c + 1; b < np; b++)
                s -= A[c][b] * coef[b];
            coef[c] = s / A[c][c];
        }
        if (pass == 2)
            break;
        /* Drop outliers: beyond 2.5 robust deviations (and 1.5 px). */
        float res[NPTS];
        size_t nr = 0;
        double fit[NPTS];
        for (int i = 0; i < NPTS; i++) {
            double t = 2 * IRIS_PI * i / NPTS, v = coef[0];
            for (int k = 1; k <= order; k++)
                v += coef[2 * k - 1] * cos(k * t) + coef[2 * k] * sin(k * t);
            fit[i] = v;
            if (ok[i])
                res[nr++] = (float)fabs(r[i] - v);
        }
        double lim = 2.5 * 1.4826 * median_of(res, nr);
        if (lim < 1.5)
            lim = 1.5;
        for (int i = 0; i < NPTS; i++)
            if (ok_in[i])
                ok[i] = fabs(r[i] - fit[i]) <= lim;
    }
    for (int i = 0; i < NPTS; i++) {
        double t = 2 * IRIS_PI * i / NPTS, v = coef[0];
        for (int k = 1; k <= order; k++)
            v += coef[2 * k - 1] * cos(k * t) + coef[2 * k] * sin(k * t);
        out[i] = (float)(v < 1 ? 1 : v);
    }
    return true;
}

/*
 * Per contour angle, the radius of the strongest edge of the given
 * polarity (+1: brighter outwards) between lo[i] and hi[i] along the ray
 * from (cx, cy), on the grey levels averaged over three neighbouring
 * angles, as the difference of samples d half-pixels either side.  Rays that touch a reflection or
 * leave the image are not used.
 *
 * dark_run > 0 (the pupil, polarity +1): beyond near[i] the ray is followed
 * only while it stays in the dark region it started in, i.e. up to the
 * first sample brighter than dark_run that follows one at or below it,
 * plus d samples for the edge there; a ray that never comes below
 * dark_run is searched up to near[i] only.  near may be NULL when
 * dark_run is 0.
 */
static void edge_search(const float *img, const uint8_t *mask, int w, int h, double cx, double cy,
                        const double *lo, const double *hi, const double *near, double dark_run,
                        const bool *want, int polarity, int d, double *r, bool *ok)
{
    enum { MAXS = 512 };
    const double step = 0.5;
    for (int i = 0; i < NPTS; i++) {
        ok[i] = false;
        if (!want[i])
            continue;
        int n = (int)((hi[i] - lo[i]) / step) + 1;
        if (n < 2 * d + 3)
            continue;
        n = n > MAXS ? MAXS : n;
        /* With a dark run, the samples up to near[i] are always searched,
         * those beyond it only as long as the run lasts. */
        int n_near = n;
        if (dark_run > 0) {
            n_near = (int)((near[i] - lo[i]) / step) + 1;
            n_near = n_near < 2 * d + 3 ? 2 * d + 3 : n_near > n ? n : n_near;
        }
        int end = n, run_end = -1, bad = n;
        float prof[MAXS] = {0};
        bool dark = false;
        for (int s = 0; s < end && bad == n; s++) {
            double rho = lo[i] + s * step;
            double acc = 0;
            for (int da = -1; da <= 1 && bad == n; da++) {
                double t = 2 * IRIS_PI * (i + da / 3.0) / NPTS;
                double x = cx + rho * cos(t), y = cy + rho * sin(t);
                float v;
                if (!sample(img, w, h, x, y, &v) || is_reflection(mask, w, h, x, y))
                    bad = s;
                else
                    acc += v;
            }
            prof[s] = (float)(acc / 3);
            if (dark_run > 0 && run_end < 0) {
                if (prof[s] <= dark_run)
                    dark = true;
                else if (dark)
                    run_end = s;
                if (run_end >= 0 && run_end + 2 * d + 1 < end)
                    end = run_end + 2 * d + 1;
            }
        }
        if (dark_run > 0 && run_end < 0 && !dark)
            end = n_near; /* never in the dark: only near the coarse circle */
        n = end;
        if (bad < n || n < 2 * d + 3)
            continue;
        double best = 0;
        int arg = -1;
        for (int s = d; s < n - d; s++) {
            double g = polarity * (prof[s + d] - prof[s - d]);
            if (g > best) {
                best = g;
                arg = s;
            }
        }
        if (arg >= 0 && best > 4) {
            r[i] = lo[i] + arg * step;
            ok[i] = true;
        }
    }
}

/* ---- coarse search on the half-size image ------------------------------- */

typedef struct half_image {
    int w, h;
    float *v;
} half_image;

/* Half size by 2 x 2 means of non-reflection pixels; pixels with none are
 * filled from their neighbours, then smoothed by two 3 x 3 box passes. */
static bool make_half(const float *img, const uint8_t *mask, int w, int h, half_image *out,
                      double *integral)
{
    int W = w / 2, H = h / 2;
    size_t n = (size_t)W * (size_t)H;
    float *v = malloc(n * sizeof(float));
    float *tmp = malloc(n * sizeof(float));
    uint8_t *hole = malloc(n);
    if (v == NULL || tmp == NULL || hole == NULL) {
        free(v);
        free(tmp);
        free(hole);
        return false;
    }
    size_t holes = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double s = 0;
            int c = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    size_t k = (size_t)(2 * y + dy) * (size_t)w + (size_t)(2 * x + dx);
                    if (mask[k] != IRIS_PIX_REFLECTION) {
                        s += img[k];
                        c++;
                    }
                }
            size_t k = (size_t)y * (size_t)W + (size_t)x;
            hole[k] = c == 0;
            v[k] = c ? (float)(s / c) : 0;
            holes += c == 0;
        }
    for (int it = 0; it < 64 && holes > 0; it++) {
        memcpy(tmp, v, n * sizeof(float));
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                size_t k = (size_t)y * (size_t)W + (size_t)x;
                if (!hole[k])
                    continue;
                double s = 0;
                int c = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int xx = x + dx, yy = y + dy;
                        if (xx < 0 || yy < 0 || xx >= W || yy >= H)
                            continue;
                        size_t q = (size_t)yy * (size_t)W + (size_t)xx;
                        if (hole[q] != 1) {
                            s += tmp[q];
                            c++;
                        }
                    }
                if (c > 0) {
                    v[k] = (float)(s / c);
                    hole[k] = 2; /* filled this round: usable from the next */
                }
            }
        holes = 0;
        for (size_t k = 0; k < n; k++) {
            if (hole[k] == 2)
                hole[k] = 0;
            holes += hole[k];
        }
    }
    box_mean(v, tmp, W, H, 1, integral);
    box_mean(tmp, v, W, H, 1, integral);
    free(tmp);
    free(hole);
    out->w = W;
    out->h = H;
    out->v = v;
    return true;
}

#define RING_SAMPLES 48
#define MAX_HALF_R   96

typedef struct ring_table {
    int max_r;
    int dx[MAX_HALF_R + 4][RING_SAMPLES];
    int dy[MAX_HALF_R + 4][RING_SAMPLES];
} ring_table;

static void ring_table_init(ring_table *t, int max_r)
{
    t->max_r = max_r;
    for (int r = 0; r <= max_r + 3; r++)
        for (int s = 0; s < RING_SAMPLES; s++) {
            double a = 2 * IRIS_PI * s / RING_SAMPLES;
            t->dx[r][s] = (int)lround(r * cos(a));
            t->dy[r][s] = (int)lround(r * sin(a));
        }
}

typedef struct circle {
    double x, y, r, score;
} circle;

/* The contrast of the best pupil circle centred on (cx, cy) over radii
 * rmin..rmax:
 *   (mean of rings r+1, r+2 - brightest ring mean inside) / (that + 8),
 * in *out (score -1 when none fits in the image). */
static void pupil_at(const half_image *g, const ring_table *rt, int rmin, int rmax, int cx, int cy,
                     circle *out)
{
    int W = g->w, H = g->h;
    double ring[MAX_HALF_R + 4];
    *out = (circle){cx, cy, 0, -1};
    if (cx < 0 || cy < 0 || cx >= W || cy >= H)
        return;
    int lim = cx < cy ? cx : cy;
    lim = W - 1 - cx < lim ? W - 1 - cx : lim;
    lim = H - 1 - cy < lim ? H - 1 - cy : lim;
    int top = rmax + 2 < lim ? rmax + 2 : lim;
    if (top < rmin + 2)
        return;
    const float *base = g->v + (size_t)cy * (size_t)W + (size_t)cx;
    ring[0] = *base;
    for (int r = 1; r <= top; r++) {
        double s = 0;
        for (int k = 0; k < RING_SAMPLES; k++)
            s += base[(ptrdiff_t)rt->dy[r][k] * W + rt->dx[r][k]];
        ring[r] = s / RING_SAMPLES;
    }
    /* The brightest ring inside, from the centre out to r - 1: a pupil is
     * dark all through. */
    double inner_max = ring[0];
    for (int r = 1; r < rmin - 1; r++)
        inner_max = ring[r] > inner_max ? ring[r] : inner_max;
    for (int r = rmin; r + 2 <= top; r++) {
        if (ring[r - 1] > inner_max)
            inner_max = ring[r - 1];
        double o = 0.5 * (ring[r + 1] + ring[r + 2]);
        double sc = (o - inner_max) / (inner_max + 8.0);
        if (sc > out->score) {
            out->score = sc;
            out->r = r;
        }
    }
}

/*
 * Coarse pupil candidates: for centres on a 2-pixel grid whose grey is in
 * the darker part of the image, the best contrast (pupil_at); the
 * PUPIL_CANDIDATES best centres that are not inside one another's circle,
 * each polished on a 1-pixel grid, best first.  Which of them is the
 * pupil is decided with the limbus (a pupil has an iris around it: a dark
 * eye corner or a gap between lashes does not).  Returns how many.
 */
#define PUPIL_CANDIDATES 3

static int find_pupil_candidates(const half_image *g, const ring_table *rt, int rmin, int rmax,
                                 circle cand[PUPIL_CANDIDATES])
{
    int W = g->w, H = g->h;
    size_t n = (size_t)W * (size_t)H;
    float *sorted = malloc(n * sizeof(float));
    circle *grid = malloc(n * sizeof(circle));
    if (sorted == NULL || grid == NULL) {
        free(sorted);
        free(grid);
        return 0;
    }
    memcpy(sorted, g->v, n * sizeof(float));
    qsort(sorted, n, sizeof(float), cmp_float);
    float dark = sorted[n * 35 / 100];
    free(sorted);
    size_t ng = 0;
    for (int cy = rmin + 3; cy <= H - rmin - 4; cy += 2)
        for (int cx = rmin + 3; cx <= W - rmin - 4; cx += 2) {
            if (g->v[(size_t)cy * (size_t)W + (size_t)cx] > dark)
                continue;
            circle c;
            pupil_at(g, rt, rmin, rmax, cx, cy, &c);
            if (c.score > 0)
                grid[ng++] = c;
        }
    int nc = 0;
    while (nc < PUPIL_CANDIDATES) {
        size_t bi = SIZE_MAX;
        for (size_t k = 0; k < ng; k++) {
            bool taken = false;
            for (int q = 0; q < nc && !taken; q++) {
                double dx = grid[k].x - cand[q].x, dy = grid[k].y - cand[q].y;
                double rr = fmax(cand[q].r, grid[k].r);
                taken = dx * dx + dy * dy <= rr * rr;
            }
            if (taken)
                continue;
            /* A circle whose contrast is best at the smallest radius
             * searched is a dark point (a gap between lashes, an eye
             * corner), not a disc with an edge: any pupil whose optimum
             * lies inside the radius range comes first. */
            bool point_k = grid[k].r <= rmin;
            if (bi == SIZE_MAX) {
                bi = k;
                continue;
            }
            bool point_b = grid[bi].r <= rmin;
            if (point_k != point_b ? point_b : grid[k].score > grid[bi].score)
                bi = k;
        }
        if (bi == SIZE_MAX)
            break;
        circle best = grid[bi];
        for (int cy = (int)grid[bi].y - 2; cy <= (int)grid[bi].y + 2; cy++)
            for (int cx = (int)grid[bi].x - 2; cx <= (int)grid[bi].x + 2; cx++) {
                circle c;
                pupil_at(g, rt, rmin, rmax, cx, cy, &c);
                if (c.score > best.score)
                    best = c;
            }
        cand[nc++] = best;
        grid[bi].score = -1;
    }
    free(grid);
    return nc;
}

/* The grey levels on one lateral arc of a circle (side 0: right, |angle| <
 * 37 degrees; side 1: left) at ARC_SAMPLES angles, NAN where the point is
 * outside the image. */
#define ARC_SAMPLES 20

static void lateral_arc(const half_image *g, double cx, double cy, double r, int side, double *out)
{
    for (int k = 0; k < ARC_SAMPLES; k++) {
        double a = side * IRIS_PI - 0.65 + 1.3 * k / (ARC_SAMPLES - 1);
        int x = (int)lround(cx + r * cos(a)), y = (int)lround(cy + r * sin(a));
        out[k] = x < 0 || y < 0 || x >= g->w || y >= g->h
                     ? NAN
                     : g->v[(size_t)y * (size_t)g->w + (size_t)x];
    }
}

/* The jump from the 4 rings inside radius r to the 4 rings outside on one
 * arc, averaged over the angles where all 8 rings lie in the image (the
 * same angles inside and outside); their number in *visible.  NAN when
 * there are none. */
static double arc_jump(const double (*q)[ARC_SAMPLES], int r, int *visible)
{
    double acc = 0;
    int n = 0;
    for (int k = 0; k < ARC_SAMPLES; k++) {
        double j = 0.25 * (q[r + 1][k] + q[r + 2][k] + q[r + 3][k] + q[r + 4][k] - q[r - 1][k] -
                           q[r - 2][k] - q[r - 3][k] - q[r - 4][k]);
        if (isfinite(j)) {
            acc += j;
            n++;
        }
    }
    *visible = n;
    return n > 0 ? acc / n : NAN;
}

/*
 * The limbus score of radius r from the two lateral arcs' grey levels
 * (ring[side][radius][angle]): the smaller of the two jumps, so that a
 * strong edge on one side only (an eye corner, the skin) cannot win; NAN
 * when neither arc is seen whole.
 *
 * An arc is seen whole when at least 90 % of its angles lie in the image.
 * When only one is, the iris may simply reach the image's edge (CASIA V1
 * eyes often do), so the whole arc decides alone, as the only evidence
 * there is; but if the other arc is at least half visible and its visible
 * part shows no edge of the limbus's polarity at all (a jump <= 0: not
 * darker inside than outside), that refutes the radius, and its jump is
 * the score.  A partly visible arc can refute an edge, never confirm one:
 * its magnitude is not compared with a whole arc's.  Without the
 * refutation the skin's edge, seen on one arc while the other arc ran a
 * few pixels off the image, beat a faint limbus (MMU1 lecr1: 97 pixels
 * instead of 57).
 */
static double limbus_score(double (*ring)[MAX_HALF_R + 8][ARC_SAMPLES], int r)
{
    double jump[2];
    int visible[2];
    bool whole[2];
    for (int side = 0; side < 2; side++) {
        jump[side] = arc_jump((const double(*)[ARC_SAMPLES])ring[side], r, &visible[side]);
        whole[side] = 10 * visible[side] >= 9 * ARC_SAMPLES;
    }
    if (whole[0] && whole[1])
        return fmin(jump[0], jump[1]);
    if (!whole[0] && !whole[1])
        return NAN;
    int seen = whole[0] ? 0 : 1, other = 1 - seen;
    if (2 * visible[other] >= ARC_SAMPLES && jump[other] <= 0)
        return jump[other];
    return jump[seen];
}

/*
 * Coarse limbus: centres near the pupil's, radii from 1.35 to 5 pupil
 * radii; on each lateral arc the jump from a band of 4 rings inside to 4
 * rings outside (the limbus is a soft edge, some 10 pixels wide at full
 * size), scored by limbus_score; the radius chosen is explained below.
 */
#define LIMBUS_NEAR_BEST 0.8
#define LIMBUS_MIN_RATIO 1.9 /* pupil/iris radius ratio 0.53 */

static bool find_limbus_coarse(const half_image *g, const circle *pupil, circle *best)
{
    double rp = pupil->r;
    /* The inner band (4 rings) must stay clear of the pupil's edge, which
     * the two 3 x 3 smoothing passes spread over some 3 pixels: otherwise
     * the pupil's own step wins for small pupils. */
    int rmin = (int)ceil(fmax(1.35 * rp, rp + 4 + 3)),
        rmax = (int)floor(fmin(5.0 * rp, 0.5 * g->w));
    if (rmax > MAX_HALF_R - 4)
        rmax = MAX_HALF_R - 4;
    int d = (int)ceil(0.1 * rp) + 1;
    best->score = -1;
    double ring[2][MAX_HALF_R + 8][ARC_SAMPLES];
    circle per_r[MAX_HALF_R + 8];
    for (int r = 0; r < MAX_HALF_R + 8; r++)
        per_r[r] = (circle){0, 0, 0, -1};
    /* The limbus centre lies near the pupil's (within a tenth of the
     * pupil radius plus a pixel, at half size), closer still vertically:
     * the pupil is displaced mostly towards the nose.  A looser bound lets
     * one arc slide out to the eye corner. */
    int dv = d / 2 > 1 ? d / 2 : 1;
    for (int oy = -dv; oy <= dv; oy++)
        for (int ox = -d; ox <= d; ox++) {
            double cx = pupil->x + ox, cy = pupil->y + oy;
            for (int side = 0; side < 2; side++)
                for (int r = rmin - 4; r <= rmax + 4; r++)
                    lateral_arc(g, cx, cy, r, side, ring[side][r]);
            /* Both arcs must clear the pupil whatever the offset. */
            int from = rmin + (abs(ox) > abs(oy) ? abs(ox) : abs(oy));
            for (int r = from; r <= rmax; r++) {
                double sc = limbus_score(ring, r);
                if (isfinite(sc) && sc > per_r[r].score) {
                    per_r[r].score = sc;
                    per_r[r].x = cx;
                    per_r[r].y = cy;
                    per_r[r].r = r;
                }
            }
        }
    /* Beyond a faint limbus the sclera's edge against the skin or the eye
     * corner can be stronger, never nearer; inside it, the edge of the
     * pupillary zone can be strong too.  So: the innermost radius of at
     * least LIMBUS_MIN_RATIO pupil radii whose contrast is within
     * LIMBUS_NEAR_BEST of the best, and the best itself when there is
     * none (a very dilated pupil). */
    double top = 0;
    for (int r = rmin; r <= rmax; r++)
        top = fmax(top, per_r[r].score);
    for (int r = rmin; r <= rmax && top > 0; r++)
        if (per_r[r].score >= LIMBUS_NEAR_BEST * top && r >= LIMBUS_MIN_RATIO * rp) {
            *best = per_r[r];
            break;
        }
    if (best->score < 0)
        for (int r = rmin; r <= rmax; r++)
            if (per_r[r].score >= top) {
                *best = per_r[r];
                break;
            }
    return best->score > 0;
}

/* ---- the whole segmentation -------------------------------------------- */

/* The grey level above which a pixel may be a specular reflection: 70 %
 * of the 99.5th percentile (a reflection is near the top of the sensor's
 * range, whatever the exposure).  Uses scratch (at least 256 doubles). */
static float bright_level(const float *g, size_t n, double *scratch)
{
    memset(scratch, 0, 256 * sizeof(double));
    for (size_t k = 0; k < n; k++)
        scratch[(int)g[k]] += 1;
    double want = 0.995 * (double)n, acc = 0;
    int level = 255;
    for (int v = 0; v < 256; v++) {
        acc += scratch[v];
        if (acc >= want) {
            level = v;
            break;
        }
    }
    return (float)(0.7 * level);
}

static void set_circle(huella_iris_boundary *b, double cx, double cy, double r)
{
    b->cx = (float)cx;
    b->cy = (float)cy;
    for (int i = 0; i < NPTS; i++)
        b->radius[i] = (float)r;
}

/* Refine a coarse circle (full-size coordinates) to the edge as a contour:
 * per angle within margin of the current radius, or (dark_run > 0) out to
 * reach along the ray's dark run (edge_search). */
static void refine(const float *img, const uint8_t *mask, int w, int h, huella_iris_boundary *b,
                   double margin, double reach, double dark_run, const bool *want, int order, int d,
                   double ridge_sin1)
{
    double lo[NPTS], hi[NPTS], near[NPTS], r[NPTS];
    bool ok[NPTS];
    for (int i = 0; i < NPTS; i++) {
        lo[i] = b->radius[i] - margin;
        near[i] = b->radius[i] + margin;
        hi[i] = dark_run > 0 && reach > near[i] ? reach : near[i];
        if (lo[i] < 2)
            lo[i] = 2;
    }
    edge_search(img, mask, w, h, b->cx, b->cy, lo, hi, near, dark_run, want, +1, d, r, ok);
    float fitted[NPTS];
    if (fourier_fit(r, ok, order, ridge_sin1, fitted))
        memcpy(b->radius, fitted, sizeof(fitted));
    else if (order > 1 && fourier_fit(r, ok, 1, ridge_sin1, fitted))
        memcpy(b->radius, fitted, sizeof(fitted));
}

/* The pupil's own grey level: the median of the clear pixels within half
 * the coarse radius of its centre (full-size coordinates); -1 if none.
 * scratch holds w * h floats (its contents are overwritten). */
static double pupil_level(const float *img, const uint8_t *mask, int w, int h, double cx, double cy,
                          double r, float *scratch)
{
    double R = 0.5 * r;
    int x0 = clampi((int)floor(cx - R), 0, w - 1), x1 = clampi((int)ceil(cx + R), 0, w - 1);
    int y0 = clampi((int)floor(cy - R), 0, h - 1), y1 = clampi((int)ceil(cy + R), 0, h - 1);
    float *v = scratch;
    size_t n = 0;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            size_t k = (size_t)y * (size_t)w + (size_t)x;
            double dx = x - cx, dy = y - cy;
            if (dx * dx + dy * dy <= R * R && mask[k] == IRIS_PIX_CLEAR)
                v[n++] = img[k];
        }
    return n > 0 ? median_of(v, n) : -1;
}

/* Move a contour's centre to the centroid of the region it encloses and
 * make it the circle of its mean distance from there: the start of a
 * refinement seen from the boundary's own centre, so that the radius
 * per angle (and the rubber sheet's angles) are measured from it. */
static void recentre(huella_iris_boundary *b)
{
    double x[NPTS], y[NPTS], area = 0, sx = 0, sy = 0;
    for (int i = 0; i < NPTS; i++) {
        double t = 2 * IRIS_PI * i / NPTS;
        x[i] = b->cx + b->radius[i] * cos(t);
        y[i] = b->cy + b->radius[i] * sin(t);
    }
    for (int i = 0; i < NPTS; i++) {
        int j = (i + 1) % NPTS;
        double c = x[i] * y[j] - x[j] * y[i];
        area += c;
        sx += (x[i] + x[j]) * c;
        sy += (y[i] + y[j]) * c;
    }
    if (!(area > 1e-6))
        return;
    double cx = sx / (3 * area), cy = sy / (3 * area), r = 0;
    for (int i = 0; i < NPTS; i++)
        r += hypot(x[i] - cx, y[i] - cy);
    set_circle(b, cx, cy, r / NPTS);
}

static double mean_radius(const huella_iris_boundary *b)
{
    double s = 0;
    for (int i = 0; i < NPTS; i++)
        s += b->radius[i];
    return s / NPTS;
}

/* Robust grey level of the iris on lateral rays, and its spread. */
static void iris_statistics(const float *img, const uint8_t *mask, int w, int h,
                            iris_segmentation *seg)
{
    float v[NPTS * 16];
    size_t n = 0;
    for (int i = 0; i < NPTS; i++) {
        double t = 2 * IRIS_PI * i / NPTS;
        if (fabs(sin(t)) > 0.5)
            continue;
        for (int j = 0; j < 16; j++) {
            double x, y;
            iris_sheet_point(&seg->pupil, &seg->limbus, t, 0.15 + 0.7 * j / 15.0, &x, &y);
            float s;
            if (sample(img, w, h, x, y, &s) && !is_reflection(mask, w, h, x, y))
                v[n++] = s;
        }
    }
    float m = median_of(v, n);
    for (size_t k = 0; k < n; k++)
        v[k] = fabsf(v[k] - m);
    float mad = median_of(v, n);
    seg->iris_median = m;
    seg->iris_spread = fmax(1.4826 * mad, 4.0);
}

/* Eyelashes: a pixel (3 x 3 mean) far darker than the clear iris, or
 * darker than it and also darker than its own neighbourhood (a thin dark
 * structure over the iris: Kong and Zhang 2001). */
#define LASH_DARK    3.0 /* spreads below the iris median */
#define LASH_DIM     1.5
#define LASH_LOCAL   1.0 /* spreads below the (2 LASH_CONTEXT + 1)^2 mean */
#define LASH_CONTEXT 7

/*
 * Eyelids as curves, not ray by ray.  Each lid is modelled as a parabola
 * in image coordinates (Daugman 2004 and Masek 2003 fit arcs and lines;
 * a parabola has the lid's shape over the width of an iris),
 *   upper: y = Y + a (x - X)^2,   lower: y = Y - a (x - X)^2,   a >= 0,
 * and the region beyond it (above the upper lid, below the lower one) is
 * occluded.  The evidence is the per-sample test of the rubber sheet
 * against the clear iris (a sample whose grey lies outside LID_SPREADS
 * robust spreads of the iris median is skin or lashes, not iris; two
 * spreads, the conventional 95 % interval): every
 * parabola in a grid of vertex positions and curvatures is scored by
 * (occluded-looking samples) - (iris-looking samples) beyond it, which is
 * the log-likelihood ratio of "lid there" against "no lid" when both
 * errors of the per-sample test are equally likely.  The best curve with
 * a positive score is the lid; none at all when no curve scores above 0.
 * A curve cannot take a wedge out of clear iris between rays that look
 * like iris, the failure of a ray-by-ray rule.  A curve must also sit on
 * an edge: the mean grey step across it (LID_STEP samples either side,
 * away from the pupil's own edge) at least LID_EDGE spreads.
 */
#define LID_SPREADS 2.0 /* outside the central ~95 % of the iris grey levels */
#define LID_EDGE    1.0 /* spreads: mean step a lid's edge must show */
#define LID_STEP    2   /* samples either side of the edge */
enum { LID_RAYS = 128, LID_T = 32 };

typedef struct lid_evidence {
    /* Suffix sums along each ray: sum over samples j' >= j of +1
     * (occluded-looking) or -1 (iris-looking); 0 for reflections. */
    float suffix[LID_RAYS][LID_T + 1];
    /* |grey step| across sample position j along the ray: the mean of the
     * LID_STEP samples from j outwards against the LID_STEP before it. */
    float step[LID_RAYS][LID_T + 1];
    double px[LID_RAYS], py[LID_RAYS], dx[LID_RAYS], dy[LID_RAYS];
} lid_evidence;

/* Where along ray i (fraction t from the pupil to the limbus) the region
 * beyond the parabola y = Y + s a (x - X)^2 begins (s = +1 upper lid,
 * region y below the curve value; s = -1 lower lid, region above), or a
 * value > 1 when the ray does not enter it within the iris. */
static double lid_cut(const lid_evidence *e, int i, double X, double Y, double a, int s)
{
    /* f(t) = s (Y + s a (x(t) - X)^2 - y(t)) > 0 beyond the lid. */
    double u0 = e->px[i] - X, du = e->dx[i];
    double y0 = e->py[i], dyv = e->dy[i];
    /* f(t) = A t^2 + B t + C */
    double A = a * du * du, B = 2 * a * u0 * du - s * dyv, C = a * u0 * u0 + s * (Y - y0);
    if (C > 0)
        return 0; /* the pupil edge itself is covered here */
    if (A < 1e-12) {
        if (B <= 0)
            return 2;
        return -C / B;
    }
    double disc = B * B - 4 * A * C; /* >= 0 because C <= 0 < A */
    return (-B + sqrt(disc)) / (2 * A);
}

/* The region score of a parabola, and in *edge the mean grey step across
 * it over the rays it cuts inside the iris. */
static double lid_score(const lid_evidence *e, double X, double Y, double a, int s, float *cut,
                        double *edge)
{
    double score = 0, steps = 0;
    int n = 0;
    for (int i = 0; i < LID_RAYS; i++) {
        double t = lid_cut(e, i, X, Y, a, s);
        if (cut)
            cut[i] = (float)(t > 1 ? 1 : t);
        if (t >= 1)
            continue;
        int j = (int)ceil(t * LID_T - 0.5);
        j = j < 0 ? 0 : j;
        score += e->suffix[i][j];
        if (j >= LID_STEP) { /* not the pupil's own edge */
            steps += e->step[i][j];
            n++;
        }
    }
    *edge = n ? steps / n : 0;
    return score;
}

/* The best lid of one side (s = +1 upper, -1 lower); fills cut[] (1 where
 * the ray is clear).  rl: mean limbus radius, (cx, cy) its centre. */
static void fit_lid(const lid_evidence *e, double cx, double cy, double rl, int s, double min_edge,
                    float *cut)
{
    static const double curv[] = {0.0, 0.1, 0.2, 0.3, 0.45, 0.6}; /* a * rl */
    enum { NCURV = sizeof(curv) / sizeof(curv[0]) };
    double best = 0, bX = 0, bY = 0, ba = 0;
    bool found = false;
    /* The vertex: within 0.6 limbus radii of the centre sideways; its
     * height from the limbus's far edge (no occlusion) to the centre. */
    for (int xi = -6; xi <= 6; xi++) {
        double X = cx + 0.1 * xi * rl;
        for (int ci = 0; ci < NCURV; ci++) {
            double a = curv[ci] / rl;
            for (double d = 1.0; d >= 0.0; d -= 1.0 / 64) {
                double Y = cy - s * d * rl;
                double edge;
                double sc = lid_score(e, X, Y, a, s, NULL, &edge);
                if (sc > best && edge >= min_edge) {
                    best = sc;
                    bX = X;
                    bY = Y;
                    ba = a;
                    found = true;
                }
            }
        }
    }
    if (!found) {
        for (int i = 0; i < LID_RAYS; i++)
            cut[i] = 1;
        return;
    }
    double edge;
    lid_score(e, bX, bY, ba, s, cut, &edge);
}

static void find_eyelids(const float *smooth, const uint8_t *mask, int w, int h,
                         iris_segmentation *seg)
{
    lid_evidence *e = malloc(sizeof(*e));
    if (e == NULL) {
        for (int i = 0; i < NPTS; i++)
            seg->eyelid[i] = 1;
        return;
    }
    double m = seg->iris_median, sp = seg->iris_spread;
    for (int i = 0; i < LID_RAYS; i++) {
        double t = 2 * IRIS_PI * i / LID_RAYS, x0, y0, x1, y1;
        iris_sheet_point(&seg->pupil, &seg->limbus, t, 0, &x0, &y0);
        iris_sheet_point(&seg->pupil, &seg->limbus, t, 1, &x1, &y1);
        e->px[i] = x0;
        e->py[i] = y0;
        e->dx[i] = x1 - x0;
        e->dy[i] = y1 - y0;
        e->suffix[i][LID_T] = 0;
        float grey[LID_T + 2 * LID_STEP];
        for (int j = -LID_STEP; j < LID_T + LID_STEP; j++) {
            double f = (j + 0.5) / LID_T, x = x0 + f * (x1 - x0), y = y0 + f * (y1 - y0);
            float v;
            grey[j + LID_STEP] = sample(smooth, w, h, x, y, &v) ? v : NAN;
        }
        for (int j = LID_T - 1; j >= 0; j--) {
            double f = (j + 0.5) / LID_T, x = x0 + f * (x1 - x0), y = y0 + f * (y1 - y0);
            float v = grey[j + LID_STEP], ev;
            if (isnan(v))
                ev = 1;
            else if (is_reflection(mask, w, h, x, y))
                ev = 0;
            else
                ev = fabs(v - m) > LID_SPREADS * sp ? 1.0f : -1.0f;
            e->suffix[i][j] = e->suffix[i][j + 1] + ev;
        }
        for (int j = 0; j <= LID_T; j++) {
            double in = 0, out = 0;
            for (int k = 0; k < LID_STEP; k++) {
                out += grey[j + LID_STEP + k];
                in += grey[j + LID_STEP - 1 - k];
            }
            double st = fabs(out - in) / LID_STEP;
            e->step[i][j] = isnan(st) ? 0 : (float)st;
        }
    }
    double rl = mean_radius(&seg->limbus);
    float up[LID_RAYS], down[LID_RAYS];
    fit_lid(e, seg->limbus.cx, seg->limbus.cy, rl, +1, LID_EDGE * sp, up);
    fit_lid(e, seg->limbus.cx, seg->limbus.cy, rl, -1, LID_EDGE * sp, down);
    free(e);
    /* Contour angle i is ray 2i (LID_RAYS = 2 NPTS). */
    for (int i = 0; i < NPTS; i++) {
        int k = i * (LID_RAYS / NPTS);
        seg->eyelid[i] = up[k] < down[k] ? up[k] : down[k];
    }
}

huella_status iris_segment(const huella_image *img, iris_segmentation *seg, huella_error *err)
{
    memset(seg, 0, sizeof(*seg));
    if (img == NULL || img->width < 64 || img->height < 64 || img->width > 4096 ||
        img->height > 4096)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris image must be 64..4096 pixels on each side");
    int w = (int)img->width, h = (int)img->height;
    size_t n = (size_t)w * (size_t)h;
    float *g = malloc(n * sizeof(float));
    float *mean = malloc(n * sizeof(float));
    double *integral = malloc(((size_t)w + 1) * ((size_t)h + 1) * sizeof(double));
    uint8_t *mask = calloc(n, 1);
    half_image half = {0, 0, NULL};
    ring_table *rt = malloc(sizeof(*rt));
    huella_status st = HUELLA_OK;
    if (g == NULL || mean == NULL || integral == NULL || mask == NULL || rt == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory segmenting the iris");
        goto done;
    }
    for (size_t k = 0; k < n; k++)
        g[k] = img->pixels[k];

    /* 1. Reflections: much brighter than the 15 x 15 neighbourhood. */
    box_mean(g, mean, w, h, 7, integral);
    float bright = bright_level(g, n, integral);
    for (size_t k = 0; k < n; k++)
        mask[k] = g[k] >= bright && g[k] > mean[k] + 45 ? 1 : 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (mask[(size_t)y * (size_t)w + (size_t)x] != 1)
                continue;
            for (int dy = -2; dy <= 2; dy++)
                for (int dx = -2; dx <= 2; dx++) {
                    int xx = clampi(x + dx, 0, w - 1), yy = clampi(y + dy, 0, h - 1);
                    uint8_t *m = &mask[(size_t)yy * (size_t)w + (size_t)xx];
                    if (*m == 0)
                        *m = 2;
                }
        }
    for (size_t k = 0; k < n; k++)
        mask[k] = mask[k] ? IRIS_PIX_REFLECTION : IRIS_PIX_CLEAR;

    /* 2. Pupil, coarse, on the half-size image. */
    if (!make_half(g, mask, w, h, &half, integral)) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory segmenting the iris");
        goto done;
    }
    int short_side = half.w < half.h ? half.w : half.h;
    int rmin = 5, rmax = short_side / 4;
    if (rmax > MAX_HALF_R - 8)
        rmax = MAX_HALF_R - 8;
    ring_table_init(rt, rmax);
    circle pc = {0, 0, 0, -1}, lc = {0, 0, 0, -1};
    circle cand[PUPIL_CANDIDATES];
    int ncand = rmax > rmin ? find_pupil_candidates(&half, rt, rmin, rmax, cand) : 0;
    if (ncand == 0) {
        st = huella_error_set(err, HUELLA_E_INPUT, "no pupil found");
        goto done;
    }
    /* 3. Limbus, coarse, around the first candidate that has one. */
    for (int c = 0; c < ncand && lc.score <= 0; c++)
        if (find_limbus_coarse(&half, &cand[c], &lc))
            pc = cand[c];
    if (lc.score <= 0) {
        st = huella_error_set(err, HUELLA_E_INPUT, "no iris boundary found around the pupil");
        goto done;
    }

    /* 4. Refine both at full size. */
    seg->width = (uint32_t)w;
    seg->height = (uint32_t)h;
    set_circle(&seg->pupil, 2 * pc.x + 0.5, 2 * pc.y + 0.5, 2 * pc.r);
    set_circle(&seg->limbus, 2 * lc.x + 0.5, 2 * lc.y + 0.5, 2 * lc.r);
    bool all[NPTS], lateral[NPTS];
    for (int i = 0; i < NPTS; i++) {
        all[i] = true;
        lateral[i] = fabs(sin(2 * IRIS_PI * i / NPTS)) < 0.75;
    }
    double rp = 2 * pc.r, rl = 2 * lc.r;
    /* The pupil: the coarse circle can sit in one part of a pupil whose
     * edge is soft or whose inside is unevenly dark (a haze or a second,
     * dimmer reflection in it: MMU1), with the true edge on one side
     * beyond the search margin.  So each ray is first followed along the
     * pupil's dark run, as far as the grey level stays below half-way
     * between the pupil's level and the iris's (the midpoint of the step,
     * where a blurred edge is) and never beyond the largest physiological
     * pupil (IRIS_MAX_DILATION of the iris); then the contour is
     * recentred and refined near itself as before.  An eyelid or lashes
     * just beyond the pupil are not reached: the grey level crosses the
     * midpoint at the pupil's edge first. */
    double margin = fmax(4.0, 0.25 * rp);
    /* mean (step 1's neighbourhood means) is free until step 5 refills it. */
    double level = pupil_level(g, mask, w, h, seg->pupil.cx, seg->pupil.cy, rp, mean);
    iris_statistics(g, mask, w, h, seg);
    if (level >= 0 && seg->iris_median > level) {
        refine(g, mask, w, h, &seg->pupil, margin, IRIS_MAX_DILATION * rl,
               0.5 * (level + seg->iris_median), all, 3, 4, 0.0);
        recentre(&seg->pupil);
        margin = fmax(4.0, 0.25 * mean_radius(&seg->pupil));
    }
    refine(g, mask, w, h, &seg->pupil, margin, 0, 0, all, 3, 4, 0.0);
    refine(g, mask, w, h, &seg->limbus, fmax(5.0, 0.12 * rl), 0, 0, lateral, 1, 8, 1.0);
    /* The pupil must lie inside the limbus, with some iris around it. */
    for (int i = 0; i < NPTS; i++) {
        double t = 2 * IRIS_PI * i / NPTS, x, y;
        iris_sheet_point(&seg->pupil, &seg->limbus, t, 0, &x, &y);
        double dx = x - seg->limbus.cx, dy = y - seg->limbus.cy;
        if (sqrt(dx * dx + dy * dy) + 2 > iris_boundary_radius(&seg->limbus, t)) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "the pupil found is not inside the iris found");
            goto done;
        }
    }
    if (mean_radius(&seg->pupil) > IRIS_MAX_DILATION * mean_radius(&seg->limbus)) {
        st = huella_error_set(err, HUELLA_E_INPUT, "implausible pupil/iris ratio");
        goto done;
    }

    /* 5. and 6. Eyelids and lashes, against the clear iris. */
    iris_statistics(g, mask, w, h, seg);
    box_mean(g, mean, w, h, 1, integral);
    find_eyelids(mean, mask, w, h, seg);
    float *wide = malloc(n * sizeof(float));
    if (wide == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory segmenting the iris");
        goto done;
    }
    box_mean(g, wide, w, h, LASH_CONTEXT, integral);
    double dark = seg->iris_median - LASH_DARK * seg->iris_spread;
    double dim = seg->iris_median - LASH_DIM * seg->iris_spread;
    double local = LASH_LOCAL * seg->iris_spread;
    for (size_t k = 0; k < n; k++)
        if (mask[k] == IRIS_PIX_CLEAR &&
            (mean[k] < dark || (mean[k] < dim && mean[k] < wide[k] - local)))
            mask[k] = IRIS_PIX_LASH;
    free(wide);
    seg->pixels = mask;
    mask = NULL;

    /* Usable area: the clear share of the rubber sheet, weighted by the
     * image area each sample stands for (proportional to its radius). */
    double clear = 0, total = 0;
    for (int i = 0; i < 128; i++) {
        double t = 2 * IRIS_PI * i / 128;
        double lid = iris_eyelid_at(seg, t);
        for (int j = 0; j < 16; j++) {
            double f = (j + 0.5) / 16, x, y;
            iris_sheet_point(&seg->pupil, &seg->limbus, t, f, &x, &y);
            double wgt = (1 - f) * iris_boundary_radius(&seg->pupil, t) +
                         f * iris_boundary_radius(&seg->limbus, t);
            total += wgt;
            int xi = (int)lround(x), yi = (int)lround(y);
            if (f <= lid && xi >= 0 && yi >= 0 && xi < w && yi < h &&
                seg->pixels[(size_t)yi * (size_t)w + (size_t)xi] == IRIS_PIX_CLEAR)
                clear += wgt;
        }
    }
    seg->usable = total > 0 ? clear / total : 0;
done:
    free(g);
    free(mean);
    free(integral);
    free(mask);
    free(half.v);
    free(rt);
    if (st != HUELLA_OK) {
        free(seg->pixels);
        seg->pixels = NULL;
    }
    return st;
}

void iris_segmentation_release(iris_segmentation *seg)
{
    if (seg == NULL)
        return;
    free(seg->pixels);
    seg->pixels = NULL;
}
