/*
 * identify.c - open-set identification evaluated on real data (the
 * `huella eval identify` command), in the terms of ISO/IEC 19795-1 and
 * NIST's FRVT/IREX identification reports: rank-1 and rank-5
 * identification rates, FNIR at a false positive identification rate.
 *
 * Contract and protocol: huella/gallery.h (huella_identify_eval).  The
 * samples of every dataset become templates in parallel (finger images
 * through huella_finger_extract, records through
 * huella_finger_template_load; eye images through huella_iris_encode,
 * .iris files through huella_iris_template_decode; face photos and .face
 * files through the "face" modality of the harness, huella_face_enrol);
 * the first sample of
 * each class with a template is enrolled in one gallery (fingers at
 * position 1 and irises as right eyes: the development data does not say
 * which finger or which eye a class is, and one slot makes every other
 * class a candidate); every other sample is searched with top_k = all
 * persons, so that the mate's rank and LLR and the best non-mate's LLR
 * come from one search.  FNIR at FPIR is computed by the metrics of the
 * verification harness (huella_eval_metrics_compute) on the mates' fused
 * LLRs ("genuine") and the best non-mates' ("impostor"): the operating
 * point of FMR p over non-mated searches is FPIR p.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/gallery.h"
#include "huella/image.h"

#include "gallery/gallery_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RECORD_BYTES (1u << 20)

typedef struct sample_ref {
    const huella_dataset *ds;
    size_t index;  /* in ds->samples */
    size_t person; /* global class index */
    double ppi;
} sample_ref;

typedef struct made {
    huella_finger_template *finger;
    huella_iris_template *iris;
    huella_face_template *face; /* from the face modality's make_template */
    float ms;
} made_template;

typedef struct make_job {
    huella_gallery_modality m;
    const huella_identify_eval_options *opt;
    const sample_ref *refs;
    made_template *out;
} make_job;

static void make_one(const make_job *j, size_t i)
{
    const huella_sample *smp = &j->refs[i].ds->samples[j->refs[i].index];
    huella_error e;
    uint64_t t0 = huella_now_ns();
    bool images = j->opt->sample.input == HUELLA_INPUT_IMAGES;
    if (j->m == HUELLA_GALLERY_FACE) {
        /* photos through the whole face pipeline, or .face files */
        const huella_modality *fm = huella_eval_modality_find("face");
        void *t = NULL;
        if (fm != NULL && fm->make_template(fm, smp->path, &j->opt->sample, &t, &e) == HUELLA_OK)
            j->out[i].face = t;
    } else if (images) {
        huella_image *img;
        if (huella_image_read(smp->path, NULL, &img, &e) == HUELLA_OK) {
            if (j->m == HUELLA_GALLERY_FINGER)
                huella_finger_extract(img, j->refs[i].ppi, NULL, &j->out[i].finger, &e);
            else
                huella_iris_encode(img, NULL, &j->out[i].iris, &e);
            huella_image_free(img);
        }
    } else {
        uint8_t *data;
        size_t len;
        if (huella_file_read(smp->path, MAX_RECORD_BYTES, &data, &len, &e) == HUELLA_OK) {
            if (j->m == HUELLA_GALLERY_FINGER)
                huella_finger_template_load(data, len, &j->out[i].finger, &e);
            else
                huella_iris_template_decode(data, len, &j->out[i].iris, &e);
            free(data);
        }
    }
    j->out[i].ms = (float)((double)(huella_now_ns() - t0) / 1e6);
}

static void make_range(void *ctx, size_t b, size_t e)
{
    for (size_t i = b; i < e; i++)
        make_one(ctx, i);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

typedef struct search_job {
    huella_gallery *g;
    huella_gallery_modality m;
    const sample_ref *refs;
    const made_template *made;
    const size_t *probes; /* indexes into refs */
    size_t n_persons;
    double *mated, *nonmated, *ms;
    size_t *rank; /* 0 = not found */
    huella_status st;
} search_job;

static void search_range(void *ctx, size_t b, size_t e)
{
    search_job *j = ctx;
    for (size_t p = b; p < e; p++) {
        size_t i = j->probes[p];
        j->mated[p] = NAN;
        j->nonmated[p] = NAN;
        j->rank[p] = 0;
        j->ms[p] = NAN;
        huella_probe probe = {0};
        if (j->m == HUELLA_GALLERY_FINGER)
            probe.finger[0] = j->made[i].finger;
        else if (j->m == HUELLA_GALLERY_FACE)
            probe.face = j->made[i].face;
        else
            probe.iris[0] = j->made[i].iris != NULL ? &j->made[i].iris->code : NULL;
        if (probe.finger[0] == NULL && probe.iris[0] == NULL && probe.face == NULL)
            continue; /* failed to make a template: a miss */
        huella_identify_options o = {.top_k = j->n_persons, .iris_depth = j->n_persons};
        huella_identify_result *r;
        huella_error err;
        if (huella_gallery_identify(j->g, &probe, &o, &r, &err) != HUELLA_OK) {
            j->st = HUELLA_E_INTERNAL;
            continue;
        }
        j->ms[p] = r->seconds * 1e3;
        uint64_t mate = (uint64_t)j->refs[i].person + 1;
        for (size_t c = 0; c < r->n; c++) {
            if (r->candidates[c].person == mate) {
                j->mated[p] = r->candidates[c].llr;
                j->rank[p] = c + 1;
            } else if (isnan(j->nonmated[p])) {
                j->nonmated[p] = r->candidates[c].llr;
            }
        }
        huella_identify_result_free(r);
    }
}

void huella_identify_eval_free(huella_identify_eval *r)
{
    if (r == NULL)
        return;
    free(r->mated_llr);
    free(r->nonmated_llr);
    free(r);
}

/* The fraction of v at or above t (NaN never is). */
static double fraction_at(const double *v, size_t n, double t)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i] >= t;
    return n ? (double)k / (double)n : NAN;
}

static huella_status evaluate(huella_identify_eval *r, huella_gallery *g, const sample_ref *refs,
                              const made_template *made, size_t n_refs, size_t n_classes,
                              unsigned threads, huella_error *err)
{
    /* enrol the first sample with a template of each class */
    bool *enrolled_class = calloc(n_classes ? n_classes : 1, sizeof(bool));
    bool *is_gallery = calloc(n_refs ? n_refs : 1, sizeof(bool));
    size_t *probes = malloc((n_refs ? n_refs : 1) * sizeof(size_t));
    huella_status st = HUELLA_OK;
    if (enrolled_class == NULL || is_gallery == NULL || probes == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "eval identify: out of memory");
    for (size_t i = 0; i < n_refs && st == HUELLA_OK; i++) {
        size_t c = refs[i].person;
        if (enrolled_class[c] ||
            (made[i].finger == NULL && made[i].iris == NULL && made[i].face == NULL))
            continue;
        if (r->modality == HUELLA_GALLERY_FACE)
            st = huella_gallery_add_face(g, c + 1, i, made[i].face, err);
        else if (r->modality == HUELLA_GALLERY_FINGER)
            st = huella_gallery_add_finger(g, c + 1, i, 1, made[i].finger, err);
        else
            st = huella_gallery_add_iris(g, c + 1, i, HUELLA_IRIS_EYE_RIGHT, &made[i].iris->code,
                                         err);
        enrolled_class[c] = true;
        is_gallery[i] = true;
        r->enrolled++;
    }
    size_t n_probes = 0;
    for (size_t i = 0; i < n_refs && st == HUELLA_OK; i++)
        if (!is_gallery[i] && enrolled_class[refs[i].person])
            probes[n_probes++] = i;
    /* a class that enrolled nothing has no mate to find: its samples are
     * not searched (they would count against the engine twice) */
    free(enrolled_class);
    free(is_gallery);
    double *ms = NULL;
    size_t *rank = NULL;
    if (st == HUELLA_OK) {
        r->mated_llr = malloc((n_probes ? n_probes : 1) * sizeof(double));
        r->nonmated_llr = malloc((n_probes ? n_probes : 1) * sizeof(double));
        ms = malloc((n_probes ? n_probes : 1) * sizeof(double));
        rank = malloc((n_probes ? n_probes : 1) * sizeof(size_t));
        if (r->mated_llr == NULL || r->nonmated_llr == NULL || ms == NULL || rank == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "eval identify: out of memory");
    }
    if (st == HUELLA_OK) {
        /* searches run one per thread; each search on one thread */
        huella_gallery_set_threads(g, 1);
        search_job j = {.g = g,
                        .m = r->modality,
                        .refs = refs,
                        .made = made,
                        .probes = probes,
                        .n_persons = r->enrolled,
                        .mated = r->mated_llr,
                        .nonmated = r->nonmated_llr,
                        .ms = ms,
                        .rank = rank,
                        .st = HUELLA_OK};
        gallery_parallel(threads, n_probes, 4, search_range, &j);
        if (j.st != HUELLA_OK)
            st = huella_error_set(err, j.st, "eval identify: a search failed");
    }
    if (st == HUELLA_OK) {
        r->mated = n_probes;
        size_t n_non = 0, n_ms = 0;
        for (size_t p = 0; p < n_probes; p++) {
            r->rank1_hits += rank[p] == 1;
            r->rank5_hits += rank[p] >= 1 && rank[p] <= 5;
            if (!isnan(r->nonmated_llr[p]))
                r->nonmated_llr[n_non++] = r->nonmated_llr[p];
            if (!isnan(ms[p]))
                ms[n_ms++] = ms[p];
        }
        r->nonmated = n_non;
        r->rank1 = n_probes ? (double)r->rank1_hits / (double)n_probes : NAN;
        r->rank5 = n_probes ? (double)r->rank5_hits / (double)n_probes : NAN;
        r->search_ms_median = median(ms, n_ms);
        if (n_probes == 0 || n_non == 0) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "eval identify: needs at least two classes with two samples");
        } else {
            huella_eval_metrics mt;
            st = huella_eval_metrics_compute(r->mated_llr, n_probes, r->nonmated_llr, n_non,
                                             HUELLA_SCORE_SIMILARITY, &mt, err);
            if (st == HUELLA_OK) {
                r->fnir_fpir100 = mt.fmr100;
                r->fnir_fpir1000 = mt.fmr1000;
                r->threshold_fpir100 = mt.threshold_fmr100;
                r->threshold_fpir1000 = mt.threshold_fmr1000;
            }
            r->analytic_threshold100 = huella_gallery_threshold(r->enrolled, 0.01);
            r->analytic_threshold1000 = huella_gallery_threshold(r->enrolled, 0.001);
            r->analytic_fpir100 = fraction_at(r->nonmated_llr, n_non, r->analytic_threshold100);
            r->analytic_fpir1000 = fraction_at(r->nonmated_llr, n_non, r->analytic_threshold1000);
            r->analytic_fnir100 =
                1.0 - fraction_at(r->mated_llr, n_probes, r->analytic_threshold100);
            r->analytic_fnir1000 =
                1.0 - fraction_at(r->mated_llr, n_probes, r->analytic_threshold1000);
        }
    }
    free(probes);
    free(ms);
    free(rank);
    return st;
}

huella_status huella_identify_eval_run(huella_gallery_modality m, const huella_dataset *const *ds,
                                       const double *ppi, size_t n_ds,
                                       const huella_identify_eval_options *opt,
                                       huella_identify_eval **out, huella_error *err)
{
    *out = NULL;
    if (n_ds == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "eval identify: no dataset");
    uint64_t t0 = huella_now_ns();
    huella_identify_eval_options o = {0};
    if (opt != NULL)
        o = *opt;
    unsigned threads = o.threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    size_t n_refs = 0, n_classes = 0;
    for (size_t k = 0; k < n_ds; k++)
        n_refs += ds[k]->n_samples;
    sample_ref *refs = malloc((n_refs ? n_refs : 1) * sizeof(sample_ref));
    made_template *mk = calloc(n_refs ? n_refs : 1, sizeof(made_template));
    huella_identify_eval *r = calloc(1, sizeof(*r));
    huella_gallery *g = NULL;
    if (refs == NULL || mk == NULL || r == NULL) {
        free(refs);
        free(mk);
        free(r);
        return huella_error_set(err, HUELLA_E_NOMEM, "eval identify: out of memory");
    }
    r->modality = m;
    n_refs = 0;
    for (size_t k = 0; k < n_ds; k++) {
        size_t used = ds[k]->n_classes;
        if (o.max_classes > 0 && o.max_classes < used)
            used = o.max_classes;
        for (size_t i = 0; i < ds[k]->n_samples; i++) {
            if (ds[k]->samples[i].class_index >= used)
                continue;
            refs[n_refs++] = (sample_ref){ds[k], i, n_classes + ds[k]->samples[i].class_index,
                                          ppi != NULL && ppi[k] > 0 ? ppi[k] : o.sample.ppi};
        }
        n_classes += used;
    }
    r->samples = n_refs;
    r->classes = n_classes;
    make_job mj = {m, &o, refs, mk};
    gallery_parallel(threads, n_refs, 2, make_range, &mj);
    double *ms = malloc((n_refs ? n_refs : 1) * sizeof(double));
    huella_status st = ms == NULL ? huella_error_set(err, HUELLA_E_NOMEM, "out of memory")
                                  : huella_gallery_new(&g, err);
    if (st == HUELLA_OK) {
        for (size_t i = 0; i < n_refs; i++) {
            ms[i] = mk[i].ms;
            r->fte += mk[i].finger == NULL && mk[i].iris == NULL && mk[i].face == NULL;
        }
        r->extract_ms_median = median(ms, n_refs);
        st = evaluate(r, g, refs, mk, n_refs, n_classes, threads, err);
    }
    free(ms);
    huella_gallery_free(g);
    for (size_t i = 0; i < n_refs; i++) {
        huella_finger_template_free(mk[i].finger);
        huella_iris_template_free(mk[i].iris);
        free(mk[i].face); /* the face modality's free_template is free() */
    }
    free(mk);
    free(refs);
    r->wall_seconds = (double)(huella_now_ns() - t0) / 1e9;
    if (st != HUELLA_OK) {
        huella_identify_eval_free(r);
        return st;
    }
    *out = r;
    return HUELLA_OK;
}
