/*
 * identify.c - multimodal 1:N identification over a gallery: search each
 * slot of the probe, calibrate, fuse, rank, threshold.
 *
 * Fusion.  The fused score of a candidate is the sum of the calibrated
 * LLRs of the slots that both the probe and the candidate have, the best
 * of the candidate's templates in each slot.  Summing is exact if the
 * slots' scores are independent given the hypothesis (same person /
 * different persons).  For impostors that is close to true (unrelated
 * fingers of unrelated persons); for a genuine person the scores of
 * several fingers are positively correlated through capture conditions
 * (a dry, badly placed hand lowers all of them), which makes the sum
 * conservative for mates rather than optimistic; the caps on each LLR
 * keep one finger from dominating.
 *
 * Open set.  huella_gallery_threshold(N, FPIR) = ln(N / FPIR), the Markov
 * bound on the fused impostor LLR (huella/gallery.h).
 *
 * The finger cascade.  A ten-finger probe against 100,000 persons is a
 * million comparisons, about 6 CPU-seconds at 160k comparisons per
 * second.  With more than cascade_min fingers, the strongest probe finger
 * (most minutiae, weighted by minutia quality) is compared with everyone;
 * the best `prefilter` persons by its LLR (default: everyone) are
 * compared on the next strongest stage-1 fingers (stage1 - 1 of them);
 * the best `shortlist` by
 * the sum are compared on all the other fingers.  The mate is lost only
 * when `prefilter` impostors outscore it on the first finger, or
 * `shortlist` on the stage-1 sum; docs/identification.md gives the
 * measured rates.
 *
 * Irises use the packed, vectorised search of src/iris/search.c (top
 * iris_depth per eye); a candidate found by another slot that is outside
 * an eye's depth is given the depth's worst distance, an upper bound on
 * its LLR for that eye, and flagged `bounded`.
 *
 * The face is compared with every face entry by the packed int8 loop of
 * src/face/search.c (AVX2 or portable, bit-identical), the gallery cut
 * into one contiguous shard per thread; at 100+ million comparisons per
 * second per core it needs no cascade.  Face distances are calibrated
 * like iris distances (the impostor-tail feature).
 */
#define _POSIX_C_SOURCE 200809L
#include "gallery/gallery_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TOP_K     20
#define DEFAULT_STRICT    0.001
#define DEFAULT_REVIEW    0.01
#define DEFAULT_CASCADE   3
#define DEFAULT_STAGE1    2
#define DEFAULT_SHORTLIST 1000
#define DEFAULT_IRIS      100
#define FINGER_CHUNK      256

/* The best score of each person in one slot (the search's scratch). */
typedef struct slot_scores {
    float *best;    /* per person index, NaN = none */
    int32_t *entry; /* the entry behind best */
} slot_scores;

typedef struct search {
    const huella_gallery *g;
    huella_identify_options opt;
    huella_finger_prepared *probe_finger[HUELLA_GALLERY_FINGERS];
    bool exhaustive[HUELLA_GALLERY_SLOTS]; /* compared with every entry */
    slot_scores sc[HUELLA_GALLERY_SLOTS];
    double iris_bound[HUELLA_GALLERY_SLOTS]; /* distance given to those outside the depth */
    size_t comparisons;
    /* persons an iris search returned, each once */
    uint32_t *touched;
    size_t n_touched;
    const huella_face_template *probe_face;
    /* for the finger loop */
    unsigned cur_slot;
    float *entry_score;
} search;

/* The probe against finger entry e, laid out in scratch
 * (gallery_finger_expand); rounded to float as every route stores it. */
static float compare_entry(const huella_finger_prepared *probe, const gallery_slot *sl, size_t e,
                           gallery_scratch *scratch)
{
    const huella_finger_prepared *c = gallery_finger_expand(sl, e, scratch);
    /* NULL only if the gallery's memory was overwritten: no evidence */
    return c != NULL ? (float)huella_finger_compare(probe, c) : 0.0f;
}

static void finger_range(void *ctx, size_t b, size_t e)
{
    search *s = ctx;
    const gallery_slot *sl = &s->g->slot[s->cur_slot];
    const huella_finger_prepared *p = s->probe_finger[s->cur_slot];
    gallery_scratch scratch;
    scratch.used = 0;
    for (size_t i = b; i < e; i++)
        s->entry_score[i] = compare_entry(p, sl, i, &scratch);
    gallery_scratch_wipe(&scratch);
}

/* Compare probe finger of slot k with every entry; keep the best per
 * person. */
static huella_status finger_exhaustive(search *s, unsigned k, huella_error *err)
{
    const huella_gallery *g = s->g;
    const gallery_slot *sl = &g->slot[k];
    s->cur_slot = k;
    gallery_parallel(g->threads, sl->n, FINGER_CHUNK, finger_range, s);
    s->comparisons += sl->n;
    float *best = s->sc[k].best;
    int32_t *ent = s->sc[k].entry;
    for (size_t e = 0; e < sl->n; e++) {
        uint32_t o = sl->owner[e];
        if (isnan(best[o]) || s->entry_score[e] > best[o]) {
            best[o] = s->entry_score[e];
            ent[o] = (int32_t)e;
        }
    }
    (void)err;
    return HUELLA_OK;
}

static huella_status iris_search(search *s, unsigned k, const huella_iris_code *probe,
                                 huella_error *err)
{
    const huella_gallery *g = s->g;
    const gallery_slot *sl = &g->slot[k];
    size_t depth = s->opt.iris_depth;
    if (depth > sl->n)
        depth = sl->n;
    s->iris_bound[k] = 1.0;
    if (depth == 0)
        return HUELLA_OK;
    huella_iris_match *m = malloc(depth * sizeof(*m));
    if (m == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "identify: out of memory");
    size_t n = 0;
    huella_status st = huella_iris_gallery_search(sl->iris, probe, HUELLA_IRIS_DEFAULT_MAX_SHIFT,
                                                  depth, 1.0, (int)g->threads, m, &n, err);
    if (st == HUELLA_OK) {
        s->comparisons += sl->n;
        if (n == depth && depth < sl->n)
            s->iris_bound[k] = m[n - 1].distance;
        float *best = s->sc[k].best;
        int32_t *ent = s->sc[k].entry;
        for (size_t i = 0; i < n; i++) {
            uint32_t e = sl->by_id[m[i].id - 1];
            uint32_t o = sl->owner[e];
            /* results come best first: the first seen is the person's best */
            if (isnan(best[o])) {
                bool seen = false;
                for (unsigned q = HUELLA_GALLERY_FINGERS; q < k; q++)
                    seen |= s->exhaustive[q] && !isnan(s->sc[q].best[o]);
                if (!seen)
                    s->touched[s->n_touched++] = o;
                best[o] = (float)m[i].distance;
                ent[o] = (int32_t)e;
            }
        }
    }
    free(m);
    return st;
}

/* The face slot: every entry through the packed face loop, threads over
 * shards (huella_face_gallery_distances_mt); the best (least) distance
 * per person. */
static huella_status face_search(search *s, huella_error *err)
{
    const gallery_slot *sl = &s->g->slot[HUELLA_GALLERY_SLOT_FACE];
    huella_status st = huella_face_gallery_distances_mt(
        sl->face, s->probe_face, HUELLA_FACE_KERNEL_AUTO, s->g->threads, s->entry_score, err);
    if (st != HUELLA_OK)
        return st;
    s->comparisons += sl->n;
    float *best = s->sc[HUELLA_GALLERY_SLOT_FACE].best;
    int32_t *ent = s->sc[HUELLA_GALLERY_SLOT_FACE].entry;
    for (size_t e = 0; e < sl->n; e++) {
        uint32_t o = sl->owner[e];
        float d = sqrtf(s->entry_score[e]); /* the kernel gives squared distances */
        if (isnan(best[o]) || d < best[o]) {
            best[o] = d;
            ent[o] = (int32_t)e;
        }
    }
    return HUELLA_OK;
}

/* Probe fingers in the order the cascade takes them: most minutiae,
 * weighted by their quality (unreported quality weighs 1). */
static double finger_strength(const huella_finger_template *t)
{
    double w = 0;
    for (size_t i = 0; i < t->n_minutiae; i++)
        w += t->minutiae[i].quality ? t->minutiae[i].quality / 100.0 : 1.0;
    return w;
}

/* Evidence of person o in slot k, comparing now when the slot was not
 * searched exhaustively. */
static void evidence_of(search *s, uint32_t o, unsigned k, huella_evidence *ev, size_t *cmp)
{
    const huella_gallery *g = s->g;
    const gallery_slot *sl = &g->slot[k];
    const gallery_person *p = &g->persons[o];
    memset(ev, 0, sizeof(*ev));
    if (p->first[k] == NO_ENTRY)
        return;
    const huella_calibration *cal = &g->cal[gallery_slot_modality(k)];
    if (s->exhaustive[k]) {
        float b = s->sc[k].best[o];
        ev->present = true;
        if (isnan(b)) { /* an iris outside the depth */
            ev->bounded = true;
            ev->score = s->iris_bound[k];
            ev->sample = sl->sample[p->first[k]];
        } else {
            ev->score = b;
            ev->sample = sl->sample[s->sc[k].entry[o]];
        }
        ev->llr = huella_calibration_llr(cal, ev->score);
        return;
    }
    /* a finger after the cascade: compare with each of the person's entries */
    double best = -1;
    gallery_scratch scratch;
    scratch.used = 0;
    for (int32_t e = p->first[k]; e != NO_ENTRY; e = sl->next[e]) {
        /* rounded as the exhaustive loop stores scores, so both routes agree */
        double v = compare_entry(s->probe_finger[k], sl, (size_t)e, &scratch);
        (*cmp)++;
        if (v > best) {
            best = v;
            ev->sample = sl->sample[e];
        }
    }
    ev->present = true;
    ev->score = best;
    gallery_scratch_wipe(&scratch);
    ev->llr = huella_calibration_llr(cal, best);
}

typedef struct ranked {
    uint32_t person;
    double llr;
} ranked;

static int by_llr(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->llr != y->llr)
        return x->llr < y->llr ? 1 : -1;
    return (x->person > y->person) - (x->person < y->person);
}

/* Put the best k of v (by by_llr, a total order) first, in any order:
 * quickselect, linear on average, where sorting a million persons to keep
 * twenty cost more than the face loop itself. */
static void select_top(ranked *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the k-th lies in [lo, hi) */
    while (hi - lo > 16) {
        size_t mid = lo + (hi - lo) / 2;
        ranked pivot = v[mid];
        v[mid] = v[hi - 1];
        v[hi - 1] = pivot;
        size_t store = lo;
        for (size_t i = lo; i + 1 < hi; i++)
            if (by_llr(&v[i], &pivot) < 0) {
                ranked t = v[i];
                v[i] = v[store];
                v[store++] = t;
            }
        v[hi - 1] = v[store];
        v[store] = pivot;
        if (store == k || store + 1 == k)
            return;
        if (store > k)
            hi = store;
        else
            lo = store + 1;
    }
    qsort(v + lo, hi - lo, sizeof(ranked), by_llr);
}

/* Stage 1b: the other stage-1 fingers, added to the pooled persons' LLR. */
typedef struct stage1b {
    search *s;
    ranked *pool;
    const unsigned *slots;
    unsigned n_slots;
    size_t *cmp; /* per chunk start */
} stage1b;

static void stage1b_range(void *ctx, size_t b, size_t e)
{
    stage1b *t = ctx;
    size_t cmp = 0;
    for (size_t i = b; i < e; i++)
        for (unsigned j = 0; j < t->n_slots; j++) {
            huella_evidence ev;
            evidence_of(t->s, t->pool[i].person, t->slots[j], &ev, &cmp);
            t->pool[i].llr += ev.llr;
        }
    t->cmp[b] = cmp;
}

/* Stage 2 over the pool: the full evidence of each pooled person. */
typedef struct stage2 {
    search *s;
    const ranked *pool;
    huella_candidate *out;
    size_t *cmp; /* per chunk start: comparisons, summed after */
} stage2;

static void stage2_range(void *ctx, size_t b, size_t e)
{
    stage2 *t = ctx;
    size_t cmp = 0;
    for (size_t i = b; i < e; i++) {
        huella_candidate *c = &t->out[i];
        uint32_t o = t->pool[i].person;
        c->person = t->s->g->persons[o].id;
        c->llr = 0;
        for (unsigned k = 0; k < HUELLA_GALLERY_SLOTS; k++) {
            bool in_probe =
                k < HUELLA_GALLERY_FINGERS ? t->s->probe_finger[k] != NULL : t->s->exhaustive[k];
            if (!in_probe) {
                memset(&c->slot[k], 0, sizeof(c->slot[k]));
                continue;
            }
            evidence_of(t->s, o, k, &c->slot[k], &cmp);
            c->llr += c->slot[k].llr;
        }
    }
    t->cmp[b] = cmp;
}

static int by_candidate(const void *a, const void *b)
{
    const huella_candidate *x = a, *y = b;
    if (x->llr != y->llr)
        return x->llr < y->llr ? 1 : -1;
    return (x->person > y->person) - (x->person < y->person);
}

static void options_defaults(const huella_identify_options *in, huella_identify_options *o)
{
    if (in != NULL)
        *o = *in;
    else
        memset(o, 0, sizeof(*o));
    if (o->top_k == 0)
        o->top_k = DEFAULT_TOP_K;
    if (!(o->fpir_strict > 0 && o->fpir_strict < 1))
        o->fpir_strict = DEFAULT_STRICT;
    if (!(o->fpir_review > 0 && o->fpir_review < 1))
        o->fpir_review = DEFAULT_REVIEW;
    if (o->cascade_min == 0)
        o->cascade_min = DEFAULT_CASCADE;
    if (o->stage1 == 0)
        o->stage1 = DEFAULT_STAGE1;
    if (o->shortlist == 0)
        o->shortlist = DEFAULT_SHORTLIST;
    /* No prefilter unless asked: one finger that fails to match (a bad
     * impression happens) would lose the mate, where two fingers against
     * everyone let the other carry it (docs/identification.md). */
    if (o->prefilter == 0)
        o->prefilter = SIZE_MAX;
    if (o->iris_depth == 0)
        o->iris_depth = DEFAULT_IRIS;
}

static void search_free(search *s)
{
    for (unsigned k = 0; k < HUELLA_GALLERY_FINGERS; k++)
        huella_finger_prepared_free(s->probe_finger[k]);
    for (unsigned k = 0; k < HUELLA_GALLERY_SLOTS; k++) {
        free(s->sc[k].best);
        free(s->sc[k].entry);
    }
    free(s->entry_score);
    free(s->touched);
}

/* Under the read lock. */
static huella_status identify_locked(search *s, const huella_probe *probe,
                                     huella_identify_result *r, huella_error *err)
{
    const huella_gallery *g = s->g;
    size_t np = g->n_persons_slots;
    unsigned fingers[HUELLA_GALLERY_FINGERS];
    unsigned n_fingers = 0;
    huella_status st = HUELLA_OK;
    for (unsigned k = 0; k < HUELLA_GALLERY_FINGERS && st == HUELLA_OK; k++)
        if (probe->finger[k] != NULL) {
            fingers[n_fingers++] = k;
            st = huella_finger_prepare(probe->finger[k], &s->probe_finger[k], err);
        }
    if (st != HUELLA_OK)
        return st;
    /* which finger slots are searched against everyone */
    r->cascaded = !s->opt.exhaustive && n_fingers > s->opt.cascade_min && s->opt.stage1 < n_fingers;
    if (r->cascaded) {
        double strength[HUELLA_GALLERY_FINGERS];
        for (unsigned i = 0; i < n_fingers; i++)
            strength[i] = finger_strength(probe->finger[fingers[i]]);
        /* selection sort of the few fingers, strongest first */
        for (unsigned i = 0; i < n_fingers; i++)
            for (unsigned j = i + 1; j < n_fingers; j++)
                if (strength[j] > strength[i]) {
                    double t = strength[i];
                    strength[i] = strength[j];
                    strength[j] = t;
                    unsigned u = fingers[i];
                    fingers[i] = fingers[j];
                    fingers[j] = u;
                }
        /* the strongest against everyone; the other stage-1 fingers on the
         * prefilter's survivors (below) */
        s->exhaustive[fingers[0]] = true;
    } else {
        for (unsigned i = 0; i < n_fingers; i++)
            s->exhaustive[fingers[i]] = true;
    }
    for (unsigned k = HUELLA_GALLERY_FINGERS; k < HUELLA_GALLERY_FINGERS + HUELLA_GALLERY_IRISES;
         k++)
        s->exhaustive[k] = probe->iris[k - HUELLA_GALLERY_FINGERS] != NULL;
    s->exhaustive[HUELLA_GALLERY_SLOT_FACE] = probe->face != NULL;
    s->probe_face = probe->face;
    size_t max_entries = 0;
    for (unsigned k = 0; k < HUELLA_GALLERY_SLOTS; k++) {
        if (!s->exhaustive[k])
            continue;
        if (g->slot[k].n > max_entries)
            max_entries = g->slot[k].n;
        s->sc[k].best = malloc((np ? np : 1) * sizeof(float));
        s->sc[k].entry = malloc((np ? np : 1) * sizeof(int32_t));
        if (s->sc[k].best == NULL || s->sc[k].entry == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "identify: out of memory");
        for (size_t i = 0; i < np; i++)
            s->sc[k].best[i] = NAN;
    }
    s->entry_score = malloc((max_entries ? max_entries : 1) * sizeof(float));
    /* room for every person the iris searches can return (each returns
     * at most min(depth, templates in its slot)) */
    size_t n_touch = 1;
    for (unsigned k = HUELLA_GALLERY_FINGERS; k < HUELLA_GALLERY_FINGERS + HUELLA_GALLERY_IRISES;
         k++)
        n_touch += s->opt.iris_depth < g->slot[k].n ? s->opt.iris_depth : g->slot[k].n;
    s->touched = malloc(n_touch * sizeof(uint32_t));
    if (s->entry_score == NULL || s->touched == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "identify: out of memory");
    /* stage 1: the exhaustive slots */
    for (unsigned k = 0; k < HUELLA_GALLERY_SLOTS && st == HUELLA_OK; k++) {
        if (!s->exhaustive[k])
            continue;
        if (k < HUELLA_GALLERY_FINGERS)
            st = finger_exhaustive(s, k, err);
        else if (k == HUELLA_GALLERY_SLOT_FACE)
            st = face_search(s, err);
        else
            st = iris_search(s, k, probe->iris[k - HUELLA_GALLERY_FINGERS], err);
    }
    if (st != HUELLA_OK)
        return st;
    /* the pool: every person some exhaustive slot scored, by stage-1 LLR */
    ranked *pool = malloc((np ? np : 1) * sizeof(ranked));
    if (pool == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "identify: out of memory");
    size_t n_pool = 0;
    bool finger_pass = false; /* then everyone was scored, else only the touched */
    for (unsigned k = 0; k < HUELLA_GALLERY_FINGERS; k++)
        finger_pass |= s->exhaustive[k];
    finger_pass |= s->exhaustive[HUELLA_GALLERY_SLOT_FACE]; /* the face loop scores everyone */
    size_t n_scan = finger_pass ? np : s->n_touched;
    for (size_t i = 0; i < n_scan; i++) {
        size_t o = finger_pass ? i : s->touched[i];
        if (g->persons[o].n_entries == 0)
            continue;
        bool any = false;
        double llr = 0;
        for (unsigned k = 0; k < HUELLA_GALLERY_SLOTS; k++) {
            if (!s->exhaustive[k] || g->persons[o].first[k] == NO_ENTRY)
                continue;
            float b = s->sc[k].best[o];
            if (!isnan(b))
                any = true;
            llr += huella_calibration_llr(&g->cal[gallery_slot_modality(k)],
                                          isnan(b) ? s->iris_bound[k] : (double)b);
        }
        if (any)
            pool[n_pool++] = (ranked){(uint32_t)o, llr};
    }
    size_t keep = n_pool;
    if (r->cascaded) {
        /* stage 1b: the other stage-1 fingers on the best `prefilter` */
        size_t pre = s->opt.prefilter < n_pool ? s->opt.prefilter : n_pool;
        if (pre < n_pool)
            qsort(pool, n_pool, sizeof(ranked), by_llr);
        size_t *cmp1 = calloc(pre ? pre : 1, sizeof(size_t));
        if (cmp1 == NULL) {
            free(pool);
            return huella_error_set(err, HUELLA_E_NOMEM, "identify: out of memory");
        }
        stage1b t1 = {
            .s = s, .pool = pool, .slots = fingers + 1, .n_slots = s->opt.stage1 - 1, .cmp = cmp1};
        gallery_parallel(g->threads, pre, 64, stage1b_range, &t1);
        for (size_t i = 0; i < pre; i++)
            s->comparisons += cmp1[i];
        free(cmp1);
        n_pool = pre;
        keep = s->opt.shortlist < n_pool ? s->opt.shortlist : n_pool;
    } else if (s->opt.top_k < n_pool) {
        keep = s->opt.top_k; /* stage-1 LLRs are final: no need for more */
    }
    if (keep < n_pool)
        select_top(pool, n_pool, keep);
    huella_candidate *cand = calloc(keep ? keep : 1, sizeof(huella_candidate));
    size_t *cmp = calloc(keep ? keep : 1, sizeof(size_t));
    if (cand == NULL || cmp == NULL) {
        free(pool);
        free(cand);
        free(cmp);
        return huella_error_set(err, HUELLA_E_NOMEM, "identify: out of memory");
    }
    stage2 t = {.s = s, .pool = pool, .out = cand, .cmp = cmp};
    gallery_parallel(g->threads, keep, 32, stage2_range, &t);
    for (size_t i = 0; i < keep; i++)
        s->comparisons += cmp[i];
    free(cmp);
    free(pool);
    qsort(cand, keep, sizeof(huella_candidate), by_candidate);
    r->n = keep < s->opt.top_k ? keep : s->opt.top_k;
    r->candidates = cand;
    for (size_t i = 0; i < r->n; i++) {
        cand[i].strict = cand[i].llr >= r->threshold_strict;
        cand[i].review = cand[i].llr >= r->threshold_review;
    }
    return HUELLA_OK;
}

huella_status huella_gallery_identify(huella_gallery *g, const huella_probe *probe,
                                      const huella_identify_options *opt,
                                      huella_identify_result **out, huella_error *err)
{
    *out = NULL;
    bool any = false;
    for (unsigned k = 0; k < HUELLA_GALLERY_FINGERS; k++)
        any |= probe->finger[k] != NULL;
    for (unsigned k = 0; k < HUELLA_GALLERY_IRISES; k++)
        any |= probe->iris[k] != NULL;
    any |= probe->face != NULL;
    if (!any)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "identify: the probe has no finger, iris or face");
    huella_identify_result *r = calloc(1, sizeof(*r));
    search *s = calloc(1, sizeof(*s));
    if (r == NULL || s == NULL) {
        free(r);
        free(s);
        return huella_error_set(err, HUELLA_E_NOMEM, "identify: out of memory");
    }
    options_defaults(opt, &s->opt);
    uint64_t t0 = huella_now_ns();
    pthread_rwlock_rdlock(&g->lock);
    s->g = g;
    r->gallery_persons = g->n_persons;
    r->threshold_strict = huella_gallery_threshold(g->n_persons, s->opt.fpir_strict);
    r->threshold_review = huella_gallery_threshold(g->n_persons, s->opt.fpir_review);
    huella_status st = identify_locked(s, probe, r, err);
    pthread_rwlock_unlock(&g->lock);
    r->comparisons = s->comparisons;
    r->seconds = (double)(huella_now_ns() - t0) / 1e9;
    search_free(s);
    free(s);
    if (st != HUELLA_OK) {
        huella_identify_result_free(r);
        return st;
    }
    *out = r;
    return HUELLA_OK;
}

void huella_identify_result_free(huella_identify_result *r)
{
    if (r == NULL)
        return;
    free(r->candidates);
    free(r);
}
