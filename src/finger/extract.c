/*
 * extract.c - fingerprint minutiae extraction from a grey image.
 *
 * Contract: huella_finger_extract turns an 8-bit grey fingerprint image
 * into a huella_finger_template at 500 ppi, deterministically (the same
 * pixels give the same template, bit for bit), without global state, and
 * fails with HUELLA_E_INPUT when the image holds no usable print.  It
 * relies on the stages of src/finger/field.c (normalisation,
 * segmentation, orientation, ridge period) and src/finger/enhance.c
 * (Gabor enhancement, binarisation, thinning); this file reads minutiae
 * off the skeleton and weeds out the false ones.
 *
 * Minutiae: a skeleton pixel whose crossing number (half the number of
 * value changes around its eight neighbours, Rutovitz 1966; Maltoni et
 * al., Handbook of Fingerprint Recognition, 2nd ed., §3.7) is 1 is a
 * ridge ending, 3 a bifurcation.  Directions follow ISO/IEC 19794-2:2005
 * §6.4 as huella/finger.h states them: counterclockwise from +x as the
 * image is seen.  An ending points along its ridge, into the ridge (from
 * the ending towards the ridge's body); a bifurcation points into the
 * valley between its two branches (the branches are the two traced
 * directions closest to each other, the third is the stem): the two are
 * duals, so an ending that another extractor sees as a bifurcation of
 * the valleys keeps its direction.  This is how the FingerJetFX ISO
 * records in the development data read (tests/test_finger_extract.c
 * checks it).  The sense comes from following the skeleton TRACE_STEPS
 * pixels; the angle itself from the orientation field at the minutia,
 * which is finer than a chord of a curved ridge on a pixel grid.
 *
 * False minutiae (Maltoni et al. §3.8; Xiao & Raafat 1991), removed in
 * this order, with lengths scaled by the local ridge period T:
 *   - spurs: an ending whose ridge reaches a bifurcation within SPUR_T T
 *     of skeleton (both go);
 *   - short ridges: two endings joined by less than SHORT_T T;
 *   - bridges and small lakes: two bifurcations joined by less than
 *     BRIDGE_T T;
 *   - a traced ridge that leaves the orientation field by more than
 *     FLOW_MAX (a skeleton artefact, not a ridge);
 *   - near the edge of the segmented print (closer than BORDER_MIN px) or
 *     where the orientation field is noise (coherence < MIN_COHERENCE);
 *   - broken ridges: two endings closer than BREAK_T T that face each
 *     other along the line that joins them;
 *   - clusters: minutiae closer than CLUSTER_T T to another one.
 * The thresholds were set on the FVC2002 DB1..DB4 "B" sets (see
 * docs/finger-extraction.md), which are also the development data.
 * The spur and bridge lengths are what the structures measure on a
 * ridge pattern: a spur juts into a valley, which is half a period wide,
 * so 0.7 T covers it with margin; a bridge crosses one valley between
 * neighbouring ridges, about 1 T.  Longer limits (1 T and 1.5 T before)
 * also removed true minutiae close together.
 * Quality (1..100) is the product of the coherence of the orientation
 * around the minutia, the clarity of its ridges (the mean magnitude of
 * the Gabor response of fx_enhance_binarise over the 3 x 3 blocks around
 * it, relative to that of a clean ridge pattern: it is low where the
 * print is dry, wet or faint) and a factor for its distance from the
 * edge of the print.  The matcher weights pairs by it.  When more than
 * the allowed number remain, the lowest qualities go.
 *
 * At most MAX_CAND candidates are examined (raster order); a print has a
 * hundred or so, a skeleton of noise may have more, and what is beyond
 * the limit is ignored rather than allowed to cost time.
 */
#include "huella/finger.h"
#include "huella/image.h"

#include "finger/extract_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TWO_PI           (2 * FX_PI)
#define MIN_DECLARED_PPI 250.0              /* lower declared resolutions are not believed */
#define MIN_SIDE         64                 /* pixels at 500 ppi */
#define MAX_PIXELS       (32 * 1024 * 1024) /* a ten-print card is about 20 M */
#define MIN_FG_PIXELS    4096               /* a print smaller than 64 x 64 pixels is no print */
#define TRACE_STEPS      12                 /* pixels followed to read a direction */
#define BORDER_MIN       12.0f              /* pixels from the edge of the segmented print */
#define MIN_COHERENCE    0.15f              /* below it the orientation is noise */
/* Lengths of the false-minutia tests, in ridge periods. */
#define SPUR_T     0.7f        /* ending to bifurcation along the ridge */
#define SHORT_T    2.0f        /* ending to ending along the ridge */
#define BRIDGE_T   1.0f        /* bifurcation to bifurcation along the ridge */
#define BREAK_T    1.5f        /* facing endings, straight line */
#define CLUSTER_T  1.0f        /* any two minutiae, straight line */
#define FLOW_MAX   (FX_PI / 4) /* traced direction off the orientation field */
#define CLEAR_FULL 0.9f        /* Gabor clarity of a clean ridge pattern */
#define MAX_CAND   4096        /* candidates considered before post-processing */

typedef struct cand {
    int x, y;
    int type;    /* HUELLA_MINUTIA_ENDING or _BIFURCATION */
    float angle; /* image coordinates (y down), radians */
    float period;
    bool dead;
    float quality;
} cand;

typedef struct skel_ctx {
    const uint8_t *sk;
    const uint8_t *cn; /* crossing number of each skeleton pixel */
    int w, h;
} skel_ctx;

typedef struct trace_end {
    int x, y;
    int steps;
    int stop; /* 0 length reached, 1 ending, 3 junction, -1 lost */
} trace_end;

static int crossing_number(const uint8_t *sk, int w, size_t i)
{
    const int off[8] = {-w, -w + 1, 1, w + 1, w, w - 1, -1, -w - 1};
    int c = 0;
    for (int k = 0; k < 8; k++)
        c += sk[(ptrdiff_t)i + off[k]] != sk[(ptrdiff_t)i + off[(k + 1) % 8]];
    return c / 2;
}

static bool adjacent(int ax, int ay, int bx, int by)
{
    return abs(ax - bx) <= 1 && abs(ay - by) <= 1;
}

/* Follow the skeleton from (ox, oy) through its neighbour (x, y) for at
 * most max_steps pixels, stopping at an ending or a junction. */
static trace_end trace(const skel_ctx *s, int ox, int oy, int x, int y, int max_steps)
{
    trace_end e = {x, y, 1, 0};
    int px = ox, py = oy;
    while (e.steps < max_steps) {
        size_t i = (size_t)y * s->w + x;
        if (s->cn[i] == 1) {
            e.stop = 1;
            break;
        }
        if (s->cn[i] >= 3) {
            e.stop = 3;
            break;
        }
        int nx = -1, ny = -1, count = 0;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int qx = x + dx, qy = y + dy;
                if ((dx == 0 && dy == 0) || qx < 1 || qy < 1 || qx >= s->w - 1 || qy >= s->h - 1 ||
                    !s->sk[(size_t)qy * s->w + qx])
                    continue;
                /* Moving on means moving away from where we came from
                 * (and, near the start, from the origin's neighbours). */
                if (adjacent(qx, qy, px, py) || adjacent(qx, qy, ox, oy))
                    continue;
                count++;
                if (nx < 0 || (dx == 0 || dy == 0)) {
                    nx = qx;
                    ny = qy;
                }
            }
        if (count == 0) {
            e.stop = -1;
            break;
        }
        if (count > 2) {
            e.stop = 3;
            break;
        }
        px = x;
        py = y;
        x = nx;
        y = ny;
        e.x = x;
        e.y = y;
        e.steps++;
    }
    return e;
}

/* The starting pixels of the branches leaving (x, y): one per run of set
 * neighbours around it, a 4-neighbour when the run has one. */
static int branches(const skel_ctx *s, int x, int y, int bx[4], int by[4])
{
    const int ox[8] = {0, 1, 1, 1, 0, -1, -1, -1}, oy[8] = {-1, -1, 0, 1, 1, 1, 0, -1};
    int v[8], n = 0, start = -1;
    for (int k = 0; k < 8; k++)
        v[k] = s->sk[(size_t)(y + oy[k]) * s->w + x + ox[k]];
    for (int k = 0; k < 8; k++)
        if (!v[k]) {
            start = k;
            break;
        }
    if (start < 0)
        return 0;
    for (int j = 1; j <= 8 && n < 4; j++) {
        int k = (start + j) % 8;
        if (!v[k])
            continue;
        /* k starts a run when the previous one is clear. */
        if (v[(k + 7) % 8])
            continue;
        int pick = k;
        for (int m = k; v[m % 8] && m < k + 8; m++)
            if (m % 2 == 0) { /* even indices are 4-neighbours */
                pick = m % 8;
                break;
            }
        bx[n] = x + ox[pick];
        by[n] = y + oy[pick];
        n++;
    }
    return n;
}

static float wrap_angle(double a)
{
    a = fmod(a, TWO_PI);
    if (a < 0)
        a += TWO_PI;
    if (a >= TWO_PI)
        a = 0;
    return (float)a;
}

static double angle_diff(double a, double b)
{
    double d = fabs(fmod(a - b, TWO_PI));
    return d > FX_PI ? TWO_PI - d : d;
}

static float period_at(const fx_field *f, int x, int y)
{
    return f->period[(size_t)(y / FX_BLOCK) * f->bw + x / FX_BLOCK];
}

/* Mean Gabor clarity of the foreground blocks around (x, y). */
static float clarity_at(const fx_field *f, const float *clar, int x, int y)
{
    int bx = x / FX_BLOCK, by = y / FX_BLOCK, n = 0;
    float s = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int qx = bx + dx, qy = by + dy;
            if (qx < 0 || qy < 0 || qx >= f->bw || qy >= f->bh)
                continue;
            int px = qx * FX_BLOCK + FX_BLOCK / 2, py = qy * FX_BLOCK + FX_BLOCK / 2;
            if (px >= f->w || py >= f->h || !f->fg[(size_t)py * f->w + px])
                continue;
            s += clar[(size_t)qy * f->bw + qx];
            n++;
        }
    return n > 0 ? s / (float)n : 0.0f;
}

/* Discard the candidates of a type at (x, y), where a trace stopped;
 * within 2 pixels, as a junction drawn over touching pixels was kept as
 * one of them. */
static void kill_near(cand *c, size_t n, int x, int y, int type)
{
    for (size_t j = 0; j < n; j++)
        if (!c[j].dead && c[j].type == type && abs(c[j].x - x) <= 2 && abs(c[j].y - y) <= 2)
            c[j].dead = true;
}

/* Direction of an ending and the spurious-structure tests that tracing
 * its ridge reveals. */
static void examine_ending(const skel_ctx *s, cand *c, cand *all, size_t n)
{
    int bx[4], by[4];
    if (branches(s, c->x, c->y, bx, by) != 1) {
        c->dead = true;
        return;
    }
    trace_end e = trace(s, c->x, c->y, bx[0], by[0], (int)(SHORT_T * c->period) + TRACE_STEPS);
    if (e.stop == 3 && (float)e.steps < SPUR_T * c->period) { /* spur */
        c->dead = true;
        kill_near(all, n, e.x, e.y, HUELLA_MINUTIA_BIFURCATION);
        return;
    }
    if (e.stop == 1 && (float)e.steps < SHORT_T * c->period) { /* short ridge */
        c->dead = true;
        kill_near(all, n, e.x, e.y, HUELLA_MINUTIA_ENDING);
        return;
    }
    trace_end d = trace(s, c->x, c->y, bx[0], by[0], TRACE_STEPS);
    if (d.steps < 4) {
        c->dead = true;
        return;
    }
    c->angle = (float)atan2((double)(d.y - c->y), (double)(d.x - c->x));
}

static void examine_bifurcation(const skel_ctx *s, cand *c, cand *all, size_t n)
{
    int bx[4], by[4];
    if (branches(s, c->x, c->y, bx, by) != 3) {
        c->dead = true;
        return;
    }
    double a[3];
    for (int k = 0; k < 3; k++) {
        trace_end e = trace(s, c->x, c->y, bx[k], by[k], (int)(BRIDGE_T * c->period) + 1);
        if (e.stop == 3 && (float)e.steps < BRIDGE_T * c->period) { /* bridge or lake */
            c->dead = true;
            kill_near(all, n, e.x, e.y, HUELLA_MINUTIA_BIFURCATION);
            return;
        }
        trace_end d = trace(s, c->x, c->y, bx[k], by[k], TRACE_STEPS);
        if (d.steps < 3) {
            c->dead = true;
            return;
        }
        a[k] = atan2((double)(d.y - c->y), (double)(d.x - c->x));
    }
    /* The two branches closest in direction form the fork. */
    int stem = 0;
    double best = 1e9;
    for (int k = 0; k < 3; k++) {
        double d = angle_diff(a[(k + 1) % 3], a[(k + 2) % 3]);
        if (d < best) {
            best = d;
            stem = k;
        }
    }
    /* Pointing into the fork: opposite to the stem. */
    c->angle = (float)(a[stem] + FX_PI);
}

/* The traced direction is coarse (a chord of a curved ridge, on a pixel
 * grid); the orientation field at the minutia is finer.  Keep the traced
 * sense along the field's axis. */
static void refine_angle(const fx_field *f, cand *c)
{
    double th = f->orient[(size_t)c->y * f->w + c->x];
    if (angle_diff(th, c->angle) > FX_PI / 2)
        th += FX_PI;
    /* A skeleton that leaves the flow of the ridges is an artefact. */
    if (angle_diff(th, c->angle) > FLOW_MAX)
        c->dead = true;
    c->angle = wrap_angle(th);
}

static huella_status extract_500(const huella_image *img, double src_ppi,
                                 const huella_finger_extract_options *opt,
                                 huella_finger_template **out, huella_error *err)
{
    int w = (int)img->width, h = (int)img->height;
    if (w < MIN_SIDE || h < MIN_SIDE)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "fingerprint image of %d x %d pixels at 500 ppi is too small "
                                "(at least %d x %d)",
                                w, h, MIN_SIDE, MIN_SIDE);
    if (w >= 16384 || h >= 16384 || (size_t)w * (size_t)h > MAX_PIXELS)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "fingerprint image of %d x %d pixels at 500 ppi is too large "
                                "(at most %d pixels, each side below 16384)",
                                w, h, MAX_PIXELS);
    fx_field f;
    if (!fx_field_compute(img->pixels, w, h, &f))
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the extraction maps");
    huella_status st = HUELLA_OK;
    size_t np = (size_t)w * h;
    uint8_t *sk = malloc(np), *cn = calloc(np, 1);
    cand *c = malloc(MAX_CAND * sizeof(cand));
    float *clar = malloc((size_t)f.bw * f.bh * sizeof(float));
    huella_finger_template *t = NULL;
    if (sk == NULL || cn == NULL || c == NULL || clar == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the extraction maps");
        goto done;
    }
    if (f.fg_pixels < MIN_FG_PIXELS) {
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "no fingerprint found: %zu pixels of ridge texture (at least %d)",
                              f.fg_pixels, MIN_FG_PIXELS);
        goto done;
    }
    if (!fx_enhance_binarise(&f, sk, clar)) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the enhanced image");
        goto done;
    }
    if (!fx_thin(sk, w, h)) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the skeleton");
        goto done;
    }
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            size_t i = (size_t)y * w + x;
            if (sk[i])
                cn[i] = (uint8_t)crossing_number(sk, w, i);
        }

    /* Candidates inside the print, raster order. */
    size_t n = 0;
    for (int y = 2; y < h - 2 && n < MAX_CAND; y++)
        for (int x = 2; x < w - 2 && n < MAX_CAND; x++) {
            size_t i = (size_t)y * w + x;
            if (!sk[i] || (cn[i] != 1 && cn[i] != 3) || f.border[i] < 2.0f)
                continue;
            cand *m = &c[n];
            m->x = x;
            m->y = y;
            m->type = cn[i] == 1 ? HUELLA_MINUTIA_ENDING : HUELLA_MINUTIA_BIFURCATION;
            m->angle = 0;
            m->period = period_at(&f, x, y);
            m->dead = false;
            m->quality = 0;
            /* A junction drawn over two touching pixels is one minutia. */
            bool dup = false;
            for (size_t j = n; j-- > 0 && c[j].y >= y - 2;)
                if (c[j].type == m->type && abs(c[j].x - x) <= 2 && abs(c[j].y - y) <= 2)
                    dup = true;
            if (!dup)
                n++;
        }
    skel_ctx s = {sk, cn, w, h};
    for (size_t i = 0; i < n; i++) {
        if (c[i].dead)
            continue;
        if (c[i].type == HUELLA_MINUTIA_ENDING)
            examine_ending(&s, &c[i], c, n);
        else
            examine_bifurcation(&s, &c[i], c, n);
        if (!c[i].dead)
            refine_angle(&f, &c[i]);
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)c[i].y * w + c[i].x;
        if (!c[i].dead && (f.border[k] < BORDER_MIN || f.coh[k] < MIN_COHERENCE))
            c[i].dead = true;
    }
    /* Broken ridges: facing endings close together. */
    for (size_t i = 0; i < n; i++) {
        if (c[i].dead || c[i].type != HUELLA_MINUTIA_ENDING)
            continue;
        for (size_t j = i + 1; j < n; j++) {
            if (c[j].dead || c[j].type != HUELLA_MINUTIA_ENDING)
                continue;
            float dx = (float)(c[j].x - c[i].x), dy = (float)(c[j].y - c[i].y);
            float d = sqrtf(dx * dx + dy * dy), lim = BREAK_T * c[i].period;
            if (d >= lim || d < 1e-3f)
                continue;
            double link = atan2(dy, dx);
            if (angle_diff(c[i].angle, c[j].angle + FX_PI) < FX_PI / 3 &&
                angle_diff(c[i].angle, link) < FX_PI / 3) {
                c[i].dead = true;
                c[j].dead = true;
            }
        }
    }
    /* Clusters: minutiae crowded closer than most of a ridge period. */
    for (size_t i = 0; i < n; i++) {
        if (c[i].dead)
            continue;
        for (size_t j = i + 1; j < n; j++) {
            if (c[j].dead)
                continue;
            float dx = (float)(c[j].x - c[i].x), dy = (float)(c[j].y - c[i].y);
            float lim = CLUSTER_T * c[i].period;
            if (dx * dx + dy * dy < lim * lim) {
                c[i].dead = true;
                c[j].dead = true;
            }
        }
    }

    size_t alive = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].dead)
            continue;
        size_t k = (size_t)c[i].y * w + c[i].x;
        float edge = fminf(1.0f, f.border[k] / (3.0f * BORDER_MIN));
        float cl = clarity_at(&f, clar, c[i].x, c[i].y);
        /* Orientation that holds (coherence) times ridges that stand out
         * from the noise (clarity, 0.9 for a clean sinusoidal pattern). */
        float q = 100.0f * sqrtf(fminf(1.0f, f.coh[k] / 0.8f)) * fminf(1.0f, cl / CLEAR_FULL) *
                  (0.5f + 0.5f * edge);
        c[i].quality = fmaxf(1.0f, fminf(100.0f, roundf(q)));
        c[alive++] = c[i];
    }
    size_t keep =
        opt != NULL && opt->max_minutiae > 0 ? opt->max_minutiae : HUELLA_FINGER_MAX_MINUTIAE;
    if (keep > HUELLA_FINGER_MAX_MINUTIAE)
        keep = HUELLA_FINGER_MAX_MINUTIAE;
    if (alive > keep) {
        /* Drop the lowest qualities; among equals, the later in raster
         * order, so that the result stays deterministic. */
        while (alive > keep) {
            size_t worst = 0;
            for (size_t i = 1; i < alive; i++)
                if (c[i].quality <= c[worst].quality)
                    worst = i;
            memmove(&c[worst], &c[worst + 1], (alive - worst - 1) * sizeof(cand));
            alive--;
        }
    }

    st = huella_finger_template_new(&t, err);
    if (st != HUELLA_OK)
        goto done;
    t->width = (uint16_t)w;
    t->height = (uint16_t)h;
    long ppcm = lround(src_ppi / 2.54);
    t->resolution_x = t->resolution_y = (uint16_t)(ppcm < 0 ? 0 : ppcm > 65535 ? 65535 : ppcm);
    huella_finger_quality q;
    fx_quality(&f, img->pixels, &q);
    t->finger_quality = (uint8_t)q.score;
    fx_singular(&f, t);
    for (size_t i = 0; i < alive; i++) {
        /* y grows downward, so counterclockwise as seen is -angle. */
        huella_minutia m = {(float)c[i].x, (float)c[i].y, wrap_angle(-(double)c[i].angle),
                            (uint8_t)c[i].type, (uint8_t)c[i].quality};
        st = huella_finger_template_add(t, &m, err);
        if (st != HUELLA_OK)
            goto done;
    }
    *out = t;
    t = NULL;
done:
    huella_finger_template_free(t);
    free(sk);
    free(cn);
    free(c);
    free(clar);
    fx_field_free(&f);
    return st;
}

double huella_finger_source_ppi(const huella_image *img, double ppi)
{
    /* 72 and 96 ppi are what image tools write when they know nothing
     * (screen resolutions), and no fingerprint is captured below 250 ppi:
     * such a declaration is taken as no declaration. */
    double declared = img->ppi_x >= MIN_DECLARED_PPI ? img->ppi_x : 0;
    return declared > 0 ? declared : ppi > 0 ? ppi : HUELLA_FINGER_PPI;
}

huella_status huella_finger_image_500(const huella_image *img, double ppi, huella_image **out,
                                      huella_error *err)
{
    *out = NULL;
    if (img == NULL || img->pixels == NULL || img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "finger: no image");
    double src = huella_finger_source_ppi(img, ppi);
    if (!isfinite(src) || src < 100.0 || src > 5000.0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "finger: resolution %g ppi is outside 100..5000", src);
    double scale = HUELLA_FINGER_PPI / src;
    huella_status st = fabs(scale - 1.0) < 0.005 ? huella_image_clone(img, out, err)
                                                 : huella_image_scale(img, scale, out, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "finger: ");
        return st;
    }
    (*out)->ppi_x = (*out)->ppi_y = HUELLA_FINGER_PPI;
    return HUELLA_OK;
}

huella_status huella_finger_extract(const huella_image *img, double ppi,
                                    const huella_finger_extract_options *opt,
                                    huella_finger_template **out, huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "finger extract: no output pointer");
    *out = NULL;
    if (img == NULL || img->pixels == NULL || img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "finger extract: no image");
    double src = huella_finger_source_ppi(img, ppi);
    if (!isfinite(src) || src < 100.0 || src > 5000.0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "finger extract: resolution %g ppi is outside 100..5000", src);
    double scale = HUELLA_FINGER_PPI / src;
    if (fabs(scale - 1.0) < 0.005)
        return extract_500(img, src, opt, out, err);
    huella_image *scaled;
    huella_status st = huella_image_scale(img, scale, &scaled, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "finger extract: ");
        return st;
    }
    st = extract_500(scaled, src, opt, out, err);
    huella_image_free(scaled);
    return st;
}
