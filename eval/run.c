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
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/eval.h"

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
    char **reasons; /* per sample: why no template, or NULL */
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
    j->reasons[i] = r != NULL ? r : (char *)"";
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

huella_status huella_eval_run(const huella_modality *m, const huella_dataset *ds,
                              const huella_eval_options *opt, huella_eval_result **out,
                              huella_error *err)
{
    *out = NULL;
    unsigned threads = opt->threads ? opt->threads : default_threads();
    uint64_t wall0 = huella_now_ns();
    huella_pair *gp = NULL, *ip = NULL;
    size_t ng = 0, ni = 0;
    huella_status st = huella_protocol_pairs(ds, opt->protocol, &gp, &ng, &ip, &ni, err);
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
        r->fte += j.reasons[i] != NULL;
    r->fte_names = calloc(r->fte + 1, sizeof(char *));
    if (r->dataset == NULL || r->fte_names == NULL ||
        (m->score_meaning != NULL && r->score_meaning == NULL)) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        if (j.reasons[i] != NULL) {
            r->fte_names[k++] = j.reasons[i][0] ? j.reasons[i] : strdup("(out of memory)");
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
    r->compare_us_median = median(all_times, ng + ni);
    free(all_times);
    r->extract_ms_median = median(extract_times, n);
    r->wall_seconds = (double)(huella_now_ns() - wall0) / 1e9;

done:
    if (j.templates != NULL)
        for (size_t i = 0; i < n; i++)
            if (j.templates[i] != NULL)
                m->free_template(j.templates[i]);
    if (j.reasons != NULL)
        for (size_t i = 0; i < n; i++)
            if (j.reasons[i] != NULL && j.reasons[i][0] != '\0')
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
