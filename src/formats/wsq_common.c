/*
 * wsq_common.c - WSQ subband geometry and synthesis plans, shared by the
 * decoder and the encoder.
 *
 * Contract: wsq_build_geometry places the 20 transform steps and the 64
 * subbands of a width x height image exactly as FBI IAFIS-IC-0110 v3
 * annex A (figures A.1 and A.2) does, including which half is larger when
 * a length is odd (the spectrally inverted steps keep the larger half
 * second).  wsq_plan_build turns one line length into a table of filter
 * taps so that the synthesis never branches per sample; the order of the
 * terms, and the symmetric extension at both ends of each subband, are
 * those of the NIST reference decoder, which this module reproduces to
 * the last bit of the float sums.
 *
 * Relies on: nothing but the C library.
 */
#include "formats/wsq_internal.h"

#include <stdlib.h>
#include <string.h>

/* Split len into two halves; the odd one out goes to the first half,
 * or to the second when second_larger. */
static void split(int len, bool second_larger, int *a, int *b)
{
    if (len % 2 == 0) {
        *a = *b = len / 2;
    } else if (second_larger) {
        *a = (len - 1) / 2;
        *b = *a + 1;
    } else {
        *a = (len + 1) / 2;
        *b = *a - 1;
    }
}

static wsq_rect rect(int x, int y, int w, int h)
{
    wsq_rect r = {x, y, w, h};
    return r;
}

/* A transform step on node `parent` making nodes child..child+3 (the
 * fourth only when with_fourth): top-left, top-right, bottom-left,
 * bottom-right. */
static void node_quad(wsq_geometry *g, int parent, int child, bool with_fourth)
{
    wsq_rect r = g->node[parent];
    int ax, bx, ay, by;
    split(r.w, parent == 4, &ax, &bx);
    split(r.h, parent == 5, &ay, &by);
    g->node[child] = rect(r.x, r.y, ax, ay);
    g->node[child + 1] = rect(r.x + ax, r.y, bx, ay);
    g->node[child + 2] = rect(r.x, r.y + ay, ax, by);
    if (with_fourth)
        g->node[child + 3] = rect(r.x + ax, r.y + ay, bx, by);
}

/* Four subbands in a 2 x 2 window, row-major. */
static void band_quad(wsq_geometry *g, int p, int x, int y, int w, int h, bool wide2, bool tall2)
{
    int a, b, c, d;
    split(w, wide2, &a, &b);
    split(h, tall2, &c, &d);
    g->band[p] = rect(x, y, a, c);
    g->band[p + 1] = rect(x + a, y, b, c);
    g->band[p + 2] = rect(x, y + c, a, d);
    g->band[p + 3] = rect(x + a, y + c, b, d);
}

/* Sixteen subbands: the region split twice each way, visited as four 2 x 2
 * windows (top-left, top-right, bottom-left, bottom-right).  rw / cl: the
 * first split of rows / columns is spectrally inverted. */
static void band_16(wsq_geometry *g, int p, wsq_rect r, bool rw, bool cl)
{
    int tx, t2x, ty, t2y;
    split(r.w, cl, &tx, &t2x);
    split(r.h, rw, &ty, &t2y);
    band_quad(g, p, r.x, r.y, tx, ty, false, false);
    band_quad(g, p + 4, r.x + tx, r.y, t2x, ty, true, false);
    band_quad(g, p + 8, r.x, r.y + ty, tx, t2y, false, true);
    band_quad(g, p + 12, r.x + tx, r.y + ty, t2x, t2y, true, true);
}

void wsq_build_geometry(int width, int height, wsq_geometry *g)
{
    static const int inv_rw[] = {2, 4, 7, 9, 11, 13, 16, 18};
    static const int inv_cl[] = {3, 5, 8, 9, 12, 13, 17, 18};
    memset(g, 0, sizeof(*g));
    for (size_t i = 0; i < sizeof(inv_rw) / sizeof(inv_rw[0]); i++) {
        g->inv_rw[inv_rw[i]] = true;
        g->inv_cl[inv_cl[i]] = true;
    }
    g->node[0] = rect(0, 0, width, height);
    node_quad(g, 0, 1, false);
    int lx, lx2, ly, ly2;
    split(g->node[1].w, false, &lx, &lx2);
    split(g->node[1].h, false, &ly, &ly2);
    g->node[4] = rect(lx, 0, lx2, ly);
    node_quad(g, 4, 6, true);
    g->node[5] = rect(0, ly, lx, ly2);
    node_quad(g, 5, 10, true);
    g->node[14] = rect(0, 0, lx, ly);
    node_quad(g, 14, 15, true);
    g->node[19] = rect(0, 0, (g->node[15].w + 1) / 2, (g->node[15].h + 1) / 2);

    band_16(g, 3, g->node[14], false, false);
    band_16(g, 19, g->node[4], false, true);
    band_16(g, 48, g->node[0], false, false);
    band_16(g, 35, g->node[5], true, false);
    /* The windows overlap and the order matters, as in the standard:
     * node 0's sixteen give 51 (the level-2 diagonal band), 52-59 (the
     * level-1 detail bands) and 60-63 (the never-coded corner); node 5's
     * then own 35-50 and the 2 x 2 split of node 19 owns 0-3. */
    band_quad(g, 0, g->node[19].x, g->node[19].y, g->node[19].w, g->node[19].h, false, false);
}

float wsq_descale(uint32_t value, unsigned scale)
{
    float v = (float)value;
    while (scale-- > 0)
        v = (float)((double)v / 10.0);
    return v;
}

static huella_status find_runs(wsq_plan *p, huella_error *err);

/* ---- synthesis plans ------------------------------------------------- */

#define MAX_TERMS ((WSQ_MAX_TAPS + 1) / 2)

/* A walk along one subband with symmetric extension.  At the first sample
 * the walk turns back, or, when `stay_left` is still set, repeats that
 * sample once (half-sample symmetry); likewise at the last sample with
 * `stay_right`.  Each flag is spent when used, as in the reference. */
typedef struct walk {
    int pos;
    int dir;
    bool stay_left;
    bool stay_right;
} walk;

static int walk_turn(walk *w, int last)
{
    if (w->pos == 0) {
        if (w->stay_left) {
            w->dir = 0;
            w->stay_left = false;
        } else {
            w->dir = 1;
        }
    }
    if (w->pos == last) {
        if (w->stay_right) {
            w->dir = 0;
            w->stay_right = false;
        } else {
            w->dir = -1;
        }
    }
    return w->pos + w->dir;
}

typedef struct term_list {
    int n;
    int src[MAX_TERMS];
    float coef[MAX_TERMS];
} term_list;

/* Terms of one output from filter taps tap, tap + 2, ... starting at the
 * walk's position; false when the walk leaves the subband. */
static bool collect(term_list *t, walk w, int len, int base, const float *f, int fsz, int tap)
{
    t->n = 0;
    for (int i = tap; i < fsz; i += 2) {
        if (w.pos < 0 || w.pos >= len || t->n >= MAX_TERMS)
            return false;
        int next = walk_turn(&w, len - 1);
        t->src[t->n] = base + w.pos;
        t->coef[t->n] = f[i];
        t->n++;
        w.pos = next;
    }
    return true;
}

/* Move the start of the next output's walk one sample along. */
static void advance_start(walk *s)
{
    if (s->pos == 0) {
        if (s->stay_left) {
            s->dir = 0;
            s->stay_left = false;
        } else {
            s->dir = 1;
        }
    }
    s->pos += s->dir;
}

huella_status wsq_plan_build(wsq_plan *p, int n, bool inv, const float *lo, int lsz,
                             const float *hi, int hsz, huella_error *err)
{
    memset(p, 0, sizeof(*p));
    if (lsz % 2 == 0 || hsz % 2 == 0 || lsz < 1 || hsz < 1 || lsz > WSQ_MAX_TAPS ||
        hsz > WSQ_MAX_TAPS)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "WSQ: DTT: filters of %d and %d taps are not supported (odd "
                                "lengths up to %d)",
                                lsz, hsz, WSQ_MAX_TAPS);
    if (n < 2)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "WSQ: a subband line of %d samples is too short for the "
                                "transform (image too small)",
                                n);
    bool odd = n % 2 != 0;
    int llen = odd ? (n + 1) / 2 : n / 2;
    int hlen = odd ? llen - 1 : llen;
    int lo_base = inv ? hlen : 0, hi_base = inv ? 0 : llen;
    /* Starting points and extension rules for odd-length filters. */
    walk ls = {(lsz - 1) / 4, -1, false, !odd};
    walk hs = {(hsz + 1) / 4 - 1, -1, true, odd};
    int lotap = ((lsz - 1) / 2) % 2, hotap = ((hsz + 1) / 2) % 2;

    term_list *lol = calloc((size_t)n, sizeof(*lol));
    term_list *hil = calloc((size_t)n, sizeof(*hil));
    p->first = malloc(((size_t)n + 1) * sizeof(int));
    size_t max_terms = (size_t)n * 2 * MAX_TERMS;
    p->src = malloc(max_terms * sizeof(int));
    p->coef = malloc(max_terms * sizeof(float));
    huella_status st = HUELLA_OK;
    if (lol == NULL || hil == NULL || p->first == NULL || p->src == NULL || p->coef == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "WSQ: out of memory for the transform");
        goto done;
    }
    int nl = 0, nh = 0;
    bool ok = true;
    int lstap = lotap, hstap = hotap;
    for (int pix = 0; pix < hlen && ok; pix++) {
        for (int tap = lstap; tap >= 0 && ok; tap--)
            ok = nl < n && collect(&lol[nl++], ls, llen, lo_base, lo, lsz, tap);
        advance_start(&ls);
        lstap = 1;
        for (int tap = hstap; tap >= 0 && ok; tap--)
            ok = nh < nl && collect(&hil[nh++], hs, hlen, hi_base, hi, hsz, tap);
        advance_start(&hs);
        hstap = 1;
    }
    int lend = odd ? (lotap ? 1 : 0) : (lotap ? 2 : 1);
    for (int tap = 1; tap >= lend && ok; tap--)
        ok = nl < n && collect(&lol[nl++], ls, llen, lo_base, lo, lsz, tap);
    int hend = odd ? (hotap ? 1 : 0) : (hotap ? 2 : 1);
    for (int tap = 1; tap >= hend && ok; tap--)
        ok = nh < nl && collect(&hil[nh++], hs, hlen, hi_base, hi, hsz, tap);
    if (!ok || nl != n || nh != n) {
        st = huella_error_set(err, HUELLA_E_UNSUPPORTED,
                              "WSQ: a subband line of %d samples is too short for filters of "
                              "%d and %d taps (image too small)",
                              n, lsz, hsz);
        goto done;
    }
    int k = 0;
    for (int j = 0; j < n; j++) {
        p->first[j] = k;
        for (int i = 0; i < lol[j].n; i++, k++) {
            p->src[k] = lol[j].src[i];
            p->coef[k] = lol[j].coef[i];
        }
        for (int i = 0; i < hil[j].n; i++, k++) {
            p->src[k] = hil[j].src[i];
            p->coef[k] = hil[j].coef[i];
        }
    }
    p->first[n] = k;
    p->n = n;
    p->ostride = 2;
    p->sstride = 1;
    st = find_runs(p, err);
done:
    free(lol);
    free(hil);
    if (st != HUELLA_OK)
        wsq_plan_free(p);
    return st;
}

void wsq_plan_free(wsq_plan *p)
{
    if (p == NULL)
        return;
    free(p->first);
    free(p->src);
    free(p->coef);
    free(p->runs);
    memset(p, 0, sizeof(*p));
}

/* ---- applying plans ---------------------------------------------------- */

/* Columns of a w x h region at plane (row pitch `pitch`) into tmp
 * (pitch w): each output row is a weighted sum of input rows, done a row
 * at a time so that it vectorises; per sample the order of the terms is
 * the plan's. */
void wsq_apply_columns(const float *plane, size_t pitch, int w, const wsq_plan *p, float *tmp)
{
    for (int j = 0; j < p->n; j++) {
        float *o = tmp + (size_t)j * (size_t)w;
        int k = p->first[j], end = p->first[j + 1];
        const float *s = plane + (size_t)p->src[k] * pitch;
        float c = p->coef[k];
        for (int x = 0; x < w; x++)
            o[x] = s[x] * c;
        for (k++; k < end; k++) {
            s = plane + (size_t)p->src[k] * pitch;
            c = p->coef[k];
            for (int x = 0; x < w; x++) {
                float t = s[x] * c;
                o[x] = o[x] + t;
            }
        }
    }
}

static bool same_shape(const wsq_plan *p, int a, int b, int shift)
{
    int ka = p->first[a], kb = p->first[b], n = p->first[a + 1] - ka;
    if (p->first[b + 1] - kb != n)
        return false;
    for (int t = 0; t < n; t++)
        if (p->coef[ka + t] != p->coef[kb + t] || p->src[kb + t] != p->src[ka + t] + shift)
            return false;
    return true;
}

/* Cut the outputs into runs (see wsq_run); every output is in one run. */
static huella_status find_runs(wsq_plan *p, huella_error *err)
{
    p->runs = malloc((size_t)p->n * sizeof(wsq_run));
    bool *done = calloc((size_t)p->n, sizeof(bool));
    if (p->runs == NULL || done == NULL) {
        free(done);
        return huella_error_set(err, HUELLA_E_NOMEM, "WSQ: out of memory for the transform");
    }
    p->nruns = 0;
    for (int j = 0; j < p->n; j++) {
        if (done[j])
            continue;
        int count = 1;
        while (j + count * p->ostride < p->n && !done[j + count * p->ostride] &&
               same_shape(p, j, j + count * p->ostride, count * p->sstride))
            count++;
        for (int c = 0; c < count; c++)
            done[j + c * p->ostride] = true;
        wsq_run r = {j, count, p->first[j], p->first[j + 1] - p->first[j]};
        p->runs[p->nruns++] = r;
    }
    free(done);
    return HUELLA_OK;
}

/* One run of one row: a term at a time over all the run's outputs. */
static void apply_run(const float *in, const wsq_plan *p, const wsq_run *r, float *acc, float *out)
{
    const int n = r->count, ss = p->sstride;
    const float *s = in + p->src[r->k0];
    float c = p->coef[r->k0];
    if (ss == 1) {
        for (int i = 0; i < n; i++)
            acc[i] = s[i] * c;
        for (int t = 1; t < r->terms; t++) {
            s = in + p->src[r->k0 + t];
            c = p->coef[r->k0 + t];
            for (int i = 0; i < n; i++) {
                float x = s[i] * c;
                acc[i] = acc[i] + x;
            }
        }
    } else {
        for (int i = 0; i < n; i++)
            acc[i] = s[i * ss] * c;
        for (int t = 1; t < r->terms; t++) {
            s = in + p->src[r->k0 + t];
            c = p->coef[r->k0 + t];
            for (int i = 0; i < n; i++) {
                float x = s[i * ss] * c;
                acc[i] = acc[i] + x;
            }
        }
    }
    float *o = out + r->j0;
    for (int i = 0; i < n; i++)
        o[i * p->ostride] = acc[i];
}

void wsq_apply_rows(const float *tmp, int h, const wsq_plan *p, float *plane, size_t pitch,
                    float *scratch)
{
    int w = p->n;
    for (int y = 0; y < h; y++) {
        const float *in = tmp + (size_t)y * (size_t)w;
        float *out = plane + (size_t)y * pitch;
        for (int r = 0; r < p->nruns; r++)
            apply_run(in, p, &p->runs[r], scratch, out);
    }
}

/* Whole-sample symmetric extension of index i into [0, n). */
static int reflect(int i, int n)
{
    if (n == 1)
        return 0;
    for (;;) {
        if (i < 0)
            i = -i;
        else if (i > n - 1)
            i = 2 * (n - 1) - i;
        else
            return i;
    }
}

huella_status wsq_plan_analysis(wsq_plan *p, int n, bool inv, const float *lo, int lsz,
                                const float *hi, int hsz, huella_error *err)
{
    memset(p, 0, sizeof(*p));
    if (n < 2 || lsz % 2 == 0 || hsz % 2 == 0 || lsz > WSQ_MAX_TAPS || hsz > WSQ_MAX_TAPS)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "WSQ: a subband line of %d samples is too short for the "
                                "transform (image too small)",
                                n);
    bool odd = n % 2 != 0;
    int llen = odd ? (n + 1) / 2 : n / 2;
    int hlen = odd ? llen - 1 : llen;
    p->first = malloc(((size_t)n + 1) * sizeof(int));
    size_t max_terms = (size_t)n * (size_t)(lsz > hsz ? lsz : hsz);
    p->src = malloc(max_terms * sizeof(int));
    p->coef = malloc(max_terms * sizeof(float));
    if (p->first == NULL || p->src == NULL || p->coef == NULL) {
        wsq_plan_free(p);
        return huella_error_set(err, HUELLA_E_NOMEM, "WSQ: out of memory for the transform");
    }
    int k = 0, j = 0;
    for (int half = 0; half < 2; half++) {
        bool low = (half == 0) != inv;
        int count = low ? llen : hlen;
        const float *f = low ? lo : hi;
        int fsz = low ? lsz : hsz, r = fsz / 2;
        for (int m = 0; m < count; m++, j++) {
            p->first[j] = k;
            int centre = low ? 2 * m : 2 * m + 1;
            for (int t = -r; t <= r; t++, k++) {
                p->src[k] = reflect(centre + t, n);
                p->coef[k] = f[t + r];
            }
        }
    }
    p->first[n] = k;
    p->n = n;
    p->ostride = 1;
    p->sstride = 2;
    huella_status st = find_runs(p, err);
    if (st != HUELLA_OK)
        wsq_plan_free(p);
    return st;
}
