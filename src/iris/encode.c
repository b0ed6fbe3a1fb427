/*
 * encode.c - the IrisCode: phase of a 1-D log-Gabor filter along the
 * angular direction of the normalised strip, quantised to two bits, with
 * masks; and the quality of an iris image.
 *
 * Contract: iris_encode_strip turns an iris_strip into a huella_iris_code
 * in the layout fixed by include/huella/iris.h.  Code row r summarises a
 * radial band of the strip centred on row 8r + 4 with Gaussian weights
 * (the radial envelope of a 2-D Gabor in Daugman's formulation).  Along the
 * angle the band is filtered by a log-Gabor
 *   G(f) = exp(-(ln(f / f0))^2 / (2 (ln sigma)^2)),  f > 0,
 * at two scales an octave apart (Daugman's codes are multi-scale too):
 * wavelength 1 / f0 = IRIS_WAVELENGTH_FINE strip samples in the even rows
 * and IRIS_WAVELENGTH in the odd ones, so that every scale covers the
 * whole radial extent, and sigma = IRIS_SIGMA (L. Masek, "Recognition of human iris patterns for
 * biometric identification", 2003; D. J. Field, JOSA A 4(12), 1987), by
 * FFT over the closed circle.  At angular position p (strip column 4p + 2)
 * bit 2p is Re > 0 and bit 2p + 1 is Im > 0 (J. Daugman, "How iris
 * recognition works", IEEE Trans. CSVT 14(1), 2004: phase quadrant).
 * A bit is masked invalid when the band is occluded around it (less than
 * IRIS_MIN_COVER of the samples under the filter's core are valid) or when
 * its own filter component is too small for its sign to be stable
 * (K. Hollingsworth, K. Bowyer, P. Flynn, "The best bits in an iris code",
 * IEEE TPAMI 31(6), 2009: fragile bits).  Occluded samples are replaced by
 * straight lines between the clear samples either side before filtering,
 * so that the occlusion edge does not ring.
 *
 * iris_quality_measure gives a score 0-100 in the spirit of ISO/IEC
 * 29794-6:2015: usable iris area, sharpness, pupil dilation, iris size.
 * Pure functions; thread-safe.
 */
#include "iris/iris_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define IRIS_WAVELENGTH      32.0 /* odd code rows */
#define IRIS_WAVELENGTH_FINE 16.0 /* even code rows: an octave finer */
#define IRIS_SIGMA           0.4  /* sigma / f0: a bandwidth of about 3 octaves */
#define IRIS_MIN_COVER       0.75
#define BAND_SIGMA           4.0 /* strip rows */
#define IRIS_FRAGILE         0.2 /* of the band's RMS response */
#define FFT_N                IRIS_STRIP_COLS
#define BAND_ROWS            (IRIS_STRIP_ROWS / HUELLA_IRIS_ROWS)
#define COL_STEP             (IRIS_STRIP_COLS / HUELLA_IRIS_COLS)

/* In-place radix-2 FFT of n complex values (n a power of two); inverse
 * when sign > 0 (unscaled). */
static void fft(double *re, double *im, int n, int sign)
{
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        double a = sign * 2 * IRIS_PI / len;
        double wr = cos(a), wi = sin(a);
        for (int i = 0; i < n; i += len) {
            double cr = 1, ci = 0;
            for (int k = 0; k < len / 2; k++) {
                int p = i + k, q = i + k + len / 2;
                double xr = re[q] * cr - im[q] * ci, xi = re[q] * ci + im[q] * cr;
                re[q] = re[p] - xr;
                im[q] = im[p] - xi;
                re[p] += xr;
                im[p] += xi;
                double t = cr * wr - ci * wi;
                ci = cr * wi + ci * wr;
                cr = t;
            }
        }
    }
}

/*
 * Fill the occluded stretches (NAN) of a closed signal by straight lines
 * between the valid samples on either side, so that an occlusion adds no
 * step (whose ringing would put the same bits into every eye's code near
 * the eyelids).  A signal with no valid sample becomes fill.
 */
static void bridge_gaps(double *v, int n, double fill)
{
    int first = -1;
    for (int j = 0; j < n && first < 0; j++)
        if (!isnan(v[j]))
            first = j;
    if (first < 0) {
        for (int j = 0; j < n; j++)
            v[j] = fill;
        return;
    }
    int prev = first;
    for (int step = 1; step <= n; step++) {
        int j = (first + step) % n;
        if (isnan(v[j]))
            continue;
        int gap = (j - prev + n) % n;
        if (gap == 0)
            gap = n; /* one valid sample: the whole rest is the gap */
        for (int k = 1; k < gap; k++)
            v[(prev + k) % n] = v[prev] + (v[j] - v[prev]) * k / gap;
        prev = j;
    }
}

static void set_bit(uint8_t *row, unsigned k, bool v)
{
    if (v)
        row[k / 8] |= (uint8_t)(1u << (k % 8));
}

void iris_encode_strip(const iris_strip *strip, huella_iris_code *code)
{
    memset(code, 0, sizeof(*code));
    /* filter[0]: the fine scale (even rows), filter[1]: the coarse one. */
    static const double wavelength[2] = {IRIS_WAVELENGTH_FINE, IRIS_WAVELENGTH};
    double filter[2][FFT_N];
    for (int sc = 0; sc < 2; sc++) {
        double f0 = 1.0 / wavelength[sc], ls = log(IRIS_SIGMA);
        filter[sc][0] = 0;
        for (int k = 1; k < FFT_N; k++) {
            /* positive frequencies only: the response is analytic */
            double octaves = log(k / (FFT_N * f0)); /* ln(f / f0), f = k / FFT_N > 0 */
            filter[sc][k] = k <= FFT_N / 2 ? exp(-octaves * octaves / (2 * ls * ls)) : 0;
        }
    }
    for (int r = 0; r < HUELLA_IRIS_ROWS; r++) {
        const int sc = r & 1 ? 1 : 0;
        double re[FFT_N], im[FFT_N], cover[FFT_N];
        /* The band: rows centred on 8r + 4 with Gaussian weights of
         * standard deviation BAND_SIGMA (wider than the 8 rows, so that
         * neighbouring code rows overlap and a few pixels of radial
         * misregistration between two captures cost little). */
        double centre = (r + 0.5) * BAND_ROWS;
        int lo = (int)floor(centre - 2 * BAND_SIGMA), hi = (int)ceil(centre + 2 * BAND_SIGMA) + 1;
        lo = lo < 0 ? 0 : lo;
        hi = hi > IRIS_STRIP_ROWS ? IRIS_STRIP_ROWS : hi;
        double weight[IRIS_STRIP_ROWS] = {0};
        for (int i = lo; i < hi; i++)
            weight[i - lo] = exp(-0.5 * pow((i + 0.5 - centre) / BAND_SIGMA, 2));
        double sum = 0;
        int nsum = 0;
        for (int j = 0; j < FFT_N; j++) {
            double s = 0, c = 0, wsum = 0;
            for (int i = lo; i < hi; i++) {
                size_t k = (size_t)i * IRIS_STRIP_COLS + (size_t)j;
                double wt = weight[i - lo];
                wsum += wt;
                if (strip->valid[k]) {
                    s += wt * strip->value[k];
                    c += wt;
                }
            }
            cover[j] = c / wsum;
            re[j] = c > 0 ? s / c : NAN;
            if (c) {
                sum += re[j];
                nsum++;
            }
        }
        if (nsum < FFT_N / 8)
            continue; /* the whole band is occluded: every bit stays invalid */
        double mean = sum / nsum;
        bridge_gaps(re, FFT_N, mean);
        for (int j = 0; j < FFT_N; j++) {
            re[j] -= mean;
            im[j] = 0;
        }
        fft(re, im, FFT_N, -1);
        for (int k = 0; k < FFT_N; k++) {
            re[k] *= filter[sc][k];
            im[k] *= filter[sc][k];
        }
        fft(re, im, FFT_N, +1);
        double energy = 0;
        int ne = 0;
        for (int j = 0; j < FFT_N; j++)
            if (cover[j] >= IRIS_MIN_COVER) {
                energy += re[j] * re[j] + im[j] * im[j];
                ne++;
            }
        double rms = ne ? sqrt(energy / (2 * ne)) : 0;
        uint8_t *crow = code->code + r * HUELLA_IRIS_ROW_BYTES;
        uint8_t *mrow = code->mask + r * HUELLA_IRIS_ROW_BYTES;
        const int half = (int)(wavelength[sc] / 4);
        for (int p = 0; p < HUELLA_IRIS_COLS; p++) {
            int j = p * COL_STEP + COL_STEP / 2;
            double cov = 0;
            for (int d = -half; d <= half; d++)
                cov += cover[(j + d + FFT_N) % FFT_N];
            cov /= 2 * half + 1;
            set_bit(crow, 2u * (unsigned)p, re[j] > 0);
            set_bit(crow, 2u * (unsigned)p + 1, im[j] > 0);
            bool ok = cov >= IRIS_MIN_COVER && cover[j] >= 0.5 && rms > 0;
            set_bit(mrow, 2u * (unsigned)p, ok && fabs(re[j]) >= IRIS_FRAGILE * rms);
            set_bit(mrow, 2u * (unsigned)p + 1, ok && fabs(im[j]) >= IRIS_FRAGILE * rms);
        }
    }
}

/* ---- quality ------------------------------------------------------------ */

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static void add_reason(huella_iris_quality *q, const char *text)
{
    if (q->n_reasons < HUELLA_IRIS_QUALITY_REASONS)
        snprintf(q->reasons[q->n_reasons++], sizeof(q->reasons[0]), "%s", text);
}

void iris_quality_score(huella_iris_quality *q)
{
    q->n_reasons = 0;
    double fu = clamp01((q->usable - 0.2) / 0.5);
    double fs = clamp01(q->sharpness / 6.0);
    double fd = q->dilation < 0.2   ? clamp01((q->dilation - 0.1) / 0.1)
                : q->dilation > 0.6 ? clamp01((0.8 - q->dilation) / 0.2)
                                    : 1.0;
    /* ISO/IEC 19794-6:2011 asks for an iris diameter of 200 pixels or
     * more for good quality, 150 acceptable, 100 marginal. */
    double fr = clamp01((q->iris_radius - 50.0) / 50.0);
    double s = 100.0 * fu * (0.5 + 0.5 * fs) * fd * (0.6 + 0.4 * fr);
    q->score = (unsigned)lround(s < 0 ? 0 : s > 100 ? 100 : s);
    char buf[120];
    if (fu < 1) {
        snprintf(buf, sizeof(buf),
                 "only %.0f %% of the iris is clear (eyelids, lashes, reflections)",
                 100 * q->usable);
        add_reason(q, buf);
    }
    if (fs < 1) {
        snprintf(buf, sizeof(buf), "iris texture is blurred (sharpness %.1f, want 6 or more)",
                 q->sharpness);
        add_reason(q, buf);
    }
    if (fd < 1) {
        snprintf(buf, sizeof(buf), "pupil %s (pupil/iris ratio %.2f, want 0.2-0.6)",
                 q->dilation < 0.2 ? "very constricted" : "very dilated", q->dilation);
        add_reason(q, buf);
    }
    if (fr < 1) {
        snprintf(buf, sizeof(buf), "iris is small: %.0f pixels across (200 or more is good)",
                 2 * q->iris_radius);
        add_reason(q, buf);
    }
}

void iris_quality_measure(const huella_image *img, const iris_segmentation *seg,
                          huella_iris_quality *q)
{
    memset(q, 0, sizeof(*q));
    int w = (int)img->width, h = (int)img->height;
    /* Sharpness: RMS of the 4-neighbour Laplacian at clear iris pixels,
     * sampled on the rubber sheet (blur kills the high frequencies first). */
    double acc = 0;
    int n = 0;
    for (int i = 0; i < 128; i++) {
        double t = 2 * IRIS_PI * i / 128;
        double lid = iris_eyelid_at(seg, t);
        for (int j = 0; j < 16; j++) {
            double f = (j + 0.5) / 16, x, y;
            if (f > lid)
                break;
            iris_sheet_point(&seg->pupil, &seg->limbus, t, f, &x, &y);
            int xi = (int)lround(x), yi = (int)lround(y);
            if (xi < 1 || yi < 1 || xi >= w - 1 || yi >= h - 1)
                continue;
            size_t k = (size_t)yi * (size_t)w + (size_t)xi;
            if (seg->pixels[k] != IRIS_PIX_CLEAR)
                continue;
            const uint8_t *p = img->pixels;
            double lap = 4.0 * p[k] - p[k - 1] - p[k + 1] - p[k - (size_t)w] - p[k + (size_t)w];
            acc += lap * lap;
            n++;
        }
    }
    q->sharpness = n ? sqrt(acc / n) : 0;
    q->usable = seg->usable;
    double rp = 0, rl = 0;
    for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++) {
        rp += seg->pupil.radius[i];
        rl += seg->limbus.radius[i];
    }
    q->dilation = rl > 0 ? rp / rl : 0;
    q->iris_radius = rl / HUELLA_IRIS_CONTOUR_POINTS;
    iris_quality_score(q);
}
