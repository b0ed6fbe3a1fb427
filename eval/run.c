/*
 * run.c - running an evaluation: templates, comparisons, rates, timing.
 *
 * Contract: every sample of the dataset is turned into a template (in
 * parallel); a sample whose template cannot be made counts toward failure
 * to enrol and every comparison that involves it is recorded as NaN (a
 * non-match at every threshold, ISO/IEC 19795-1 generalised rates), never
 * dropped.  Then every pair the protocol asks for is compared (in
 * parallel) and the metrics are computed.  Per-operation times are wall
 * times measured around each call; the medians are reported because they
 * resist the noise of a shared machine.  Progress goes to stderr only
 * when the caller asks for it (the CLI does when stderr is a terminal).
 *
 * Pooling (huella_eval_run_pooled): several datasets evaluated as one
 * test set, each compared only within itself, their scores pooled before
 * the rates are computed, the way FVC-style results over several
 * databases are summarised; each dataset's own result is kept with the
 * pooled one.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/eval.h"
#include "eval/pairs_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 32

typedef struct job job;
typedef void (*job_fn)(job *j, size_t index);

struct job {
    job_fn fn;
    size_t n;
    atomic_size_t next;
    atomic_size_t done;
    /* inputs */
    const huella_modality *m;
    const huella_dataset *ds;
    const huella_sample_options *sopt;
    void **templates;
    const huella_pair *pairs;
    /* outputs */
    char **reasons; /* per sample without a template: why (NULL if out of memory) */
    double *scores; /* per pair */
    float *times;   /* per item, in the unit of the job */
    atomic_size_t failed_compares;
};

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        size_t start = atomic_fetch_add(&j->next, CHUNK);
        if (start >= j->n)
            break;
        size_t end = start + CHUNK < j->n ? start + CHUNK : j->n;
        for (size_t i = start; i < end; i++)
            j->fn(j, i);
        atomic_fetch_add(&j->done, end - start);
    }
    return NULL;
}

static void show_progress(const char *label, size_t done, size_t total, double elapsed, bool last)
{
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    double left = rate > 0 ? (double)(total - done) / rate : 0.0;
    fprintf(stderr, "\r%-12s %zu/%zu  %.0f/s  %.0fs left   ", label, done, total, rate, left);
    if (last)
        fputs("\n", stderr);
    fflush(stderr);
}

static huella_status run_parallel(job *j, unsigned threads, const char *label, bool progress,
                                  huella_error *err)
{
    atomic_init(&j->next, 0);
    atomic_init(&j->done, 0);
    if (j->n == 0)
        return HUELLA_OK;
    if (threads > j->n)
        threads = (unsigned)j->n;
    pthread_t *tids = calloc(threads, sizeof(pthread_t));
    if (tids == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate threads");
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tids[started], NULL, worker, j) != 0)
            break;
    if (started == 0) {
        free(tids);
        return huella_error_set(err, HUELLA_E_INTERNAL, "cannot start worker threads");
    }
    uint64_t t0 = huella_now_ns();
    if (progress) {
        struct timespec nap = {0, 250 * 1000 * 1000};
        while (atomic_load(&j->done) < j->n) {
            nanosleep(&nap, NULL);
            show_progress(label, atomic_load(&j->done), j->n, (double)(huella_now_ns() - t0) / 1e9,
                          false);
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    if (progress)
        show_progress(label, j->n, j->n, (double)(huella_now_ns() - t0) / 1e9, true);
    return HUELLA_OK;
}

static void make_one(job *j, size_t i)
{
    huella_error e;
    huella_error_clear(&e);
    void *t = NULL;
    uint64_t t0 = huella_now_ns();
    huella_status st = j->m->make_template(j->m, j->ds->samples[i].path, j->sopt, &t, &e);
    j->times[i] = (float)((double)(huella_now_ns() - t0) / 1e6);
    if (st == HUELLA_OK && t != NULL) {
        j->templates[i] = t;
        return;
    }
    if (t != NULL)
        j->m->free_template(t);
    const char *why = e.message[0] ? e.message : huella_status_name(st);
    size_t len = strlen(j->ds->samples[i].name) + strlen(why) + 3;
    char *r = malloc(len);
    if (r != NULL)
        snprintf(r, len, "%s: %s", j->ds->samples[i].name, why);
    j->reasons[i] = r; /* NULL when out of memory: the name alone is reported */
    j->templates[i] = NULL;
}

static void compare_one(job *j, size_t i)
{
    const void *a = j->templates[j->pairs[i].a];
    const void *b = j->templates[j->pairs[i].b];
    if (a == NULL || b == NULL) {
        j->scores[i] = NAN;
        j->times[i] = NAN;
        return;
    }
    double s = NAN;
    uint64_t t0 = huella_now_ns();
    huella_status st = j->m->compare(j->m, a, b, &s, NULL);
    j->times[i] = (float)((double)(huella_now_ns() - t0) / 1e3);
    if (st != HUELLA_OK || isnan(s)) {
        j->scores[i] = NAN;
        atomic_fetch_add(&j->failed_compares, 1);
    } else {
        j->scores[i] = s;
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median of the non-NaN values; sorts in place.  NaN when there are none. */
static double median(float *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(v, m, sizeof(float), cmp_float);
    return m % 2 ? v[m / 2] : ((double)v[m / 2 - 1] + (double)v[m / 2]) / 2.0;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static huella_status compare_pairs(job *j, const huella_pair *pairs, size_t n, double **scores,
                                   float **times, unsigned threads, const char *label,
                                   bool progress, huella_error *err)
{
    *scores = malloc((n ? n : 1) * sizeof(double));
    *times = malloc((n ? n : 1) * sizeof(float));
    if (*scores == NULL || *times == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate %zu scores", n);
    j->fn = compare_one;
    j->n = n;
    j->pairs = pairs;
    j->scores = *scores;
    j->times = *times;
    return run_parallel(j, threads, label, progress, err);
}

/* The operation times of one run, kept for pooling: extraction in ms per
 * sample, comparison in us per pair (genuine then impostor). */
typedef struct run_times {
    float *extract;
    size_t n_extract;
    float *compare;
    size_t n_compare;
} run_times;

/* huella_eval_run, handing the operation times to the caller when times is
 * not NULL (the caller frees both arrays). */
static huella_status run_one(const huella_modality *m, const huella_dataset *ds,
                             const huella_eval_options *opt, const huella_pair_list *pairs,
                             const huella_group_map *groups, huella_eval_result **out,
                             run_times *times, huella_error *err)
{
    *out = NULL;
    unsigned threads = opt->threads ? opt->threads : default_threads();
    uint64_t wall0 = huella_now_ns();
    huella_pair *gp = NULL, *ip = NULL;
    size_t ng = 0, ni = 0;
    huella_status st;
    if (pairs != NULL) {
        /* A pair protocol from a file: copies, freed with the protocol's. */
        ng = pairs->n_genuine;
        ni = pairs->n_impostor;
        gp = malloc((ng + 1) * sizeof *gp);
        ip = malloc((ni + 1) * sizeof *ip);
        if (gp == NULL || ip == NULL) {
            free(gp);
            free(ip);
            return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        }
        memcpy(gp, pairs->genuine, ng * sizeof *gp);
        memcpy(ip, pairs->impostor, ni * sizeof *ip);
        st = HUELLA_OK;
    } else {
        st = huella_protocol_pairs(ds, opt->protocol, &gp, &ng, &ip, &ni, err);
    }
    if (st != HUELLA_OK)
        return st;

    size_t n = ds->n_samples;
    job j = {.m = m, .ds = ds, .sopt = &opt->sample};
    atomic_init(&j.failed_compares, 0);
    j.templates = calloc(n, sizeof(void *));
    j.reasons = calloc(n, sizeof(char *));
    float *extract_times = calloc(n, sizeof(float));
    double *gs = NULL, *is = NULL;
    float *gt = NULL, *it = NULL;
    huella_eval_result *r = NULL;
    if (j.templates == NULL || j.reasons == NULL || extract_times == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate %zu templates", n);
        goto done;
    }
    j.fn = make_one;
    j.n = n;
    j.times = extract_times;
    st = run_parallel(&j, threads, "templates", opt->progress, err);
    if (st != HUELLA_OK)
        goto done;
    st = compare_pairs(&j, gp, ng, &gs, &gt, threads, "genuine", opt->progress, err);
    if (st != HUELLA_OK)
        goto done;
    st = compare_pairs(&j, ip, ni, &is, &it, threads, "impostor", opt->progress, err);
    if (st != HUELLA_OK)
        goto done;

    st = huella_eval_result_from_scores(m->name, gs, ng, is, ni, m->score_kind, &r, err);
    if (st != HUELLA_OK)
        goto done;
    r->from_scores = false;
    r->dataset = strdup(ds->root);
    r->score_meaning = m->score_meaning ? strdup(m->score_meaning) : NULL;
    r->protocol = opt->protocol;
    r->samples = n;
    r->classes = ds->n_classes;
    r->threads = threads;
    for (size_t i = 0; i < n; i++)
        r->fte += j.templates[i] == NULL;
    r->fte_names = calloc(r->fte + 1, sizeof(char *));
    if (r->dataset == NULL || r->fte_names == NULL ||
        (m->score_meaning != NULL && r->score_meaning == NULL)) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        if (j.templates[i] == NULL) {
            r->fte_names[k++] = j.reasons[i] ? j.reasons[i] : strdup(ds->samples[i].name);
            j.reasons[i] = NULL;
        }
    }
    /* Timing over the genuine and impostor comparisons together. */
    float *all_times = malloc((ng + ni + 1) * sizeof(float));
    if (all_times == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(all_times, gt, ng * sizeof(float));
    memcpy(all_times + ng, it, ni * sizeof(float));
    if (times != NULL) {
        /* Copies: median() sorts in place and drops NaN. */
        times->compare = malloc((ng + ni + 1) * sizeof(float));
        times->extract = malloc((n + 1) * sizeof(float));
        if (times->compare == NULL || times->extract == NULL) {
            free(all_times);
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
            goto done;
        }
        memcpy(times->compare, all_times, (ng + ni) * sizeof(float));
        memcpy(times->extract, extract_times, n * sizeof(float));
        times->n_compare = ng + ni;
        times->n_extract = n;
    }
    r->compare_us_median = median(all_times, ng + ni);
    free(all_times);
    r->extract_ms_median = median(extract_times, n);
    if (pairs != NULL &&
        (st = huella_eval_fold_accuracy(pairs, gs, is, m->score_kind, r, err)) != HUELLA_OK)
        goto done;
    if (groups != NULL &&
        (st = huella_eval_group_report(groups, gp, ng, ip, ni, r, err)) != HUELLA_OK)
        goto done;
    r->wall_seconds = (double)(huella_now_ns() - wall0) / 1e9;

done:
    if (j.templates != NULL)
        for (size_t i = 0; i < n; i++)
            if (j.templates[i] != NULL)
                m->free_template(j.templates[i]);
    if (j.reasons != NULL)
        for (size_t i = 0; i < n; i++)
            free(j.reasons[i]);
    free(j.templates);
    free(j.reasons);
    free(extract_times);
    free(gp);
    free(ip);
    free(gs);
    free(is);
    free(gt);
    free(it);
    if (st != HUELLA_OK) {
        huella_eval_result_free(r);
        return st;
    }
    *out = r;
    return HUELLA_OK;
}

huella_status huella_eval_run(const huella_modality *m, const huella_dataset *ds,
                              const huella_eval_options *opt, huella_eval_result **out,
                              huella_error *err)
{
    return run_one(m, ds, opt, NULL, NULL, out, NULL, err);
}

huella_status huella_eval_run_with(const huella_modality *m, const huella_dataset *ds,
                                   const huella_eval_options *opt, const huella_pair_list *pairs,
                                   const huella_group_map *groups, huella_eval_result **out,
                                   huella_error *err)
{
    return run_one(m, ds, opt, pairs, groups, out, NULL, err);
}

/* Append n values of src to dst at *at. */
static void append_doubles(double *dst, size_t *at, const double *src, size_t n)
{
    if (n > 0)
        memcpy(dst + *at, src, n * sizeof(double));
    *at += n;
}

static void append_floats(float *dst, size_t *at, const float *src, size_t n)
{
    if (n > 0)
        memcpy(dst + *at, src, n * sizeof(float));
    *at += n;
}

/* The pooled result of the per-dataset results parts[0..n) and their
 * operation times; takes ownership of parts on success. */
static huella_status pool(const huella_modality *m, huella_eval_result **parts,
                          const run_times *times, size_t n, const huella_eval_options *opt,
                          uint64_t wall0, huella_eval_result **out, huella_error *err)
{
    size_t ng = 0, ni = 0, ne = 0, nc = 0, fte = 0, root_len = 0;
    for (size_t k = 0; k < n; k++) {
        ng += parts[k]->n_genuine;
        ni += parts[k]->n_impostor;
        ne += times[k].n_extract;
        nc += times[k].n_compare;
        fte += parts[k]->fte;
        root_len += strlen(parts[k]->dataset) + 2;
    }
    double *gs = malloc((ng + 1) * sizeof(double));
    double *is = malloc((ni + 1) * sizeof(double));
    float *et = malloc((ne + 1) * sizeof(float));
    float *ct = malloc((nc + 1) * sizeof(float));
    huella_eval_result *r = NULL;
    huella_status st = HUELLA_OK;
    if (gs == NULL || is == NULL || et == NULL || ct == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the pooled scores");
        goto done;
    }
    size_t at_g = 0, at_i = 0, at_e = 0, at_c = 0;
    for (size_t k = 0; k < n; k++) {
        append_doubles(gs, &at_g, parts[k]->genuine_scores, parts[k]->n_genuine);
        append_doubles(is, &at_i, parts[k]->impostor_scores, parts[k]->n_impostor);
        append_floats(et, &at_e, times[k].extract, times[k].n_extract);
        append_floats(ct, &at_c, times[k].compare, times[k].n_compare);
    }
    st = huella_eval_result_from_scores(m->name, gs, ng, is, ni, m->score_kind, &r, err);
    if (st != HUELLA_OK)
        goto done;
    r->from_scores = false;
    r->protocol = opt->protocol;
    r->threads = parts[0]->threads;
    r->score_meaning = m->score_meaning ? strdup(m->score_meaning) : NULL;
    r->dataset = malloc(root_len + 1);
    r->fte_names = calloc(fte + 1, sizeof(char *));
    if (r->dataset == NULL || r->fte_names == NULL ||
        (m->score_meaning != NULL && r->score_meaning == NULL)) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    r->dataset[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        if (k > 0)
            strcat(r->dataset, ", ");
        strcat(r->dataset, parts[k]->dataset);
        r->samples += parts[k]->samples;
        r->classes += parts[k]->classes;
        /* A failed sample's name is relative to its dataset: name both. */
        for (size_t i = 0; i < parts[k]->fte; i++) {
            const char *name = parts[k]->fte_names[i];
            size_t len = strlen(parts[k]->dataset) + strlen(name) + 2;
            char *s = malloc(len);
            if (s == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
                goto done;
            }
            snprintf(s, len, "%s/%s", parts[k]->dataset, name);
            r->fte_names[r->fte++] = s;
        }
    }
    r->extract_ms_median = median(et, ne);
    r->compare_us_median = median(ct, nc);
    r->wall_seconds = (double)(huella_now_ns() - wall0) / 1e9;
    r->datasets = parts;
    r->n_datasets = n;

done:
    free(gs);
    free(is);
    free(et);
    free(ct);
    if (st != HUELLA_OK) {
        huella_eval_result_free(r);
        return st;
    }
    *out = r;
    return HUELLA_OK;
}

huella_status huella_eval_run_pooled(const huella_modality *m, const huella_dataset *const *ds,
                                     const double *ppi, size_t n_ds, const huella_eval_options *opt,
                                     huella_eval_result **out, huella_error *err)
{
    *out = NULL;
    if (n_ds == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "no dataset to evaluate");
    uint64_t wall0 = huella_now_ns();
    huella_eval_result **parts = calloc(n_ds, sizeof(*parts));
    run_times *times = calloc(n_ds, sizeof(*times));
    huella_status st = HUELLA_OK;
    if (parts == NULL || times == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n_ds && st == HUELLA_OK; k++) {
        huella_eval_options o = *opt;
        if (ppi != NULL && ppi[k] > 0)
            o.sample.ppi = ppi[k];
        st = run_one(m, ds[k], &o, NULL, NULL, &parts[k], &times[k], err);
        if (st != HUELLA_OK)
            huella_error_prefix(err, "%s: ", ds[k]->root);
    }
    if (st == HUELLA_OK)
        st = pool(m, parts, times, n_ds, opt, wall0, out, err);

done:
    if (times != NULL)
        for (size_t k = 0; k < n_ds; k++) {
            free(times[k].extract);
            free(times[k].compare);
        }
    free(times);
    if (st != HUELLA_OK && parts != NULL) {
        for (size_t k = 0; k < n_ds; k++)
            huella_eval_result_free(parts[k]);
        free(parts);
    }
    return st;
}
