/*
 * result.c - an evaluation's result: construction, JSON, release.
 *
 * The JSON object is the contract of `huella eval`: other tools read the
 * keys modality, dataset, protocol, samples, classes, fte, genuine,
 * impostor, eer, fmr100, fmr1000, fmr10000, zero_fmr, extract_ms_median
 * and compare_us_median.  Rates are fractions, not percents.  `fte` is the
 * failure-to-enrol rate (fte_count the number of samples); `genuine` and
 * `impostor` count comparisons, failed ones included.  Numbers that do
 * not exist (a threshold at infinity, a timing without a dataset) are
 * null rather than invented.  A pooled result (several datasets) adds
 * "datasets": each dataset's own object, with the same keys.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/eval.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double *copy_scores(const double *v, size_t n)
{
    double *c = malloc((n ? n : 1) * sizeof(double));
    if (c != NULL && n > 0)
        memcpy(c, v, n * sizeof(double));
    return c;
}

huella_status huella_eval_result_from_scores(const char *name, const double *genuine,
                                             size_t n_genuine, const double *impostor,
                                             size_t n_impostor, huella_score_kind kind,
                                             huella_eval_result **out, huella_error *err)
{
    *out = NULL;
    huella_eval_result *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    r->from_scores = true;
    r->score_kind = kind;
    r->modality = strdup(name);
    r->genuine_scores = copy_scores(genuine, n_genuine);
    r->impostor_scores = copy_scores(impostor, n_impostor);
    r->n_genuine = n_genuine;
    r->n_impostor = n_impostor;
    r->extract_ms_median = NAN;
    r->compare_us_median = NAN;
    r->wall_seconds = NAN;
    if (r->modality == NULL || r->genuine_scores == NULL || r->impostor_scores == NULL) {
        huella_eval_result_free(r);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    huella_status st = huella_eval_metrics_compute(genuine, n_genuine, impostor, n_impostor, kind,
                                                   &r->metrics, err);
    if (st != HUELLA_OK) {
        huella_eval_result_free(r);
        return st;
    }
    *out = r;
    return HUELLA_OK;
}

void huella_eval_result_free(huella_eval_result *r)
{
    if (r == NULL)
        return;
    if (r->fte_names != NULL)
        for (size_t i = 0; i < r->fte; i++)
            free(r->fte_names[i]);
    free(r->fte_names);
    free(r->modality);
    free(r->dataset);
    free(r->score_meaning);
    free(r->genuine_scores);
    free(r->impostor_scores);
    if (r->datasets != NULL)
        for (size_t k = 0; k < r->n_datasets; k++)
            huella_eval_result_free(r->datasets[k]);
    free(r->datasets);
    if (r->group_names != NULL)
        for (size_t i = 0; i < r->n_groups; i++)
            free(r->group_names[i]);
    free(r->group_names);
    free(r->group_rates);
    free(r);
}

/* A finite number, or null. */
static json_t *number_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *string_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* The result as a JSON object, NULL when out of memory. */
static json_t *result_object(const huella_eval_result *r)
{
    const huella_eval_metrics *m = &r->metrics;
    json_t *thresholds = json_object();
    json_t *o = json_object();
    if (o == NULL || thresholds == NULL) {
        json_decref(o);
        json_decref(thresholds);
        return NULL;
    }
    json_object_set_new(thresholds, "eer", number_or_null(m->eer_threshold));
    json_object_set_new(thresholds, "fmr100", number_or_null(m->threshold_fmr100));
    json_object_set_new(thresholds, "fmr1000", number_or_null(m->threshold_fmr1000));
    json_object_set_new(thresholds, "fmr10000", number_or_null(m->threshold_fmr10000));
    json_object_set_new(thresholds, "zero_fmr", number_or_null(m->threshold_zero_fmr));

    json_object_set_new(o, "modality", string_or_null(r->modality));
    json_object_set_new(o, "dataset", string_or_null(r->dataset));
    json_object_set_new(o, "protocol",
                        r->from_scores ? json_null()
                                       : json_string(huella_protocol_name(r->protocol)));
    json_object_set_new(
        o, "score_kind",
        json_string(r->score_kind == HUELLA_SCORE_DISTANCE ? "distance" : "similarity"));
    json_object_set_new(o, "samples", json_integer((json_int_t)r->samples));
    json_object_set_new(o, "classes", json_integer((json_int_t)r->classes));
    json_object_set_new(o, "fte", json_real(r->samples ? (double)r->fte / (double)r->samples : 0));
    json_object_set_new(o, "fte_count", json_integer((json_int_t)r->fte));
    json_object_set_new(o, "genuine", json_integer((json_int_t)m->genuine));
    json_object_set_new(o, "impostor", json_integer((json_int_t)m->impostor));
    json_object_set_new(o, "genuine_failed", json_integer((json_int_t)m->genuine_failed));
    json_object_set_new(o, "impostor_failed", json_integer((json_int_t)m->impostor_failed));
    json_object_set_new(o, "eer", json_real(m->eer));
    json_object_set_new(o, "eer_low", json_real(m->eer_low));
    json_object_set_new(o, "eer_high", json_real(m->eer_high));
    json_object_set_new(o, "fmr100", json_real(m->fmr100));
    json_object_set_new(o, "fmr1000", json_real(m->fmr1000));
    json_object_set_new(o, "fmr10000", json_real(m->fmr10000));
    json_object_set_new(o, "zero_fmr", json_real(m->zero_fmr));
    json_object_set_new(o, "thresholds", thresholds);
    json_object_set_new(o, "extract_ms_median", number_or_null(r->extract_ms_median));
    json_object_set_new(o, "compare_us_median", number_or_null(r->compare_us_median));
    json_object_set_new(o, "threads", json_integer((json_int_t)r->threads));
    json_object_set_new(o, "wall_seconds", number_or_null(r->wall_seconds));
    if (r->has_folds) {
        json_object_set_new(o, "folds", json_integer((json_int_t)r->folds));
        json_object_set_new(o, "accuracy", json_real(r->accuracy));
        json_object_set_new(o, "accuracy_std", json_real(r->accuracy_std));
        json_object_set_new(o, "tar_far1000", json_real(r->tar_far1000));
    }
    if (r->group_rates != NULL) {
        json_t *g = json_object(), *rows = json_array();
        json_object_set_new(g, "threshold", number_or_null(r->group_threshold));
        json_object_set_new(g, "threshold_basis", json_string("fmr100"));
        json_object_set_new(g, "fnmr", number_or_null(r->group_fnmr));
        json_object_set_new(g, "fmr", number_or_null(r->group_fmr));
        for (size_t i = 0; i < r->n_group_rates; i++) {
            const huella_group_rates *x = &r->group_rates[i];
            json_t *row = json_object();
            json_object_set_new(row, "group_a", json_string(r->group_names[x->a]));
            json_object_set_new(row, "group_b", json_string(r->group_names[x->b]));
            if (x->a == x->b) {
                json_object_set_new(row, "genuine", json_integer((json_int_t)x->genuine));
                json_object_set_new(row, "fnmr", number_or_null(x->fnmr));
                json_object_set_new(row, "fnmr_ratio", number_or_null(x->fnmr_ratio));
            }
            json_object_set_new(row, "impostor", json_integer((json_int_t)x->impostor));
            json_object_set_new(row, "fmr", number_or_null(x->fmr));
            json_object_set_new(row, "fmr_ratio", number_or_null(x->fmr_ratio));
            json_array_append_new(rows, row);
        }
        json_object_set_new(g, "rates", rows);
        json_object_set_new(o, "groups", g);
    }
    json_object_set_new(o, "version", json_string(HUELLA_VERSION));
    if (r->n_datasets > 0) {
        json_t *parts = json_array();
        for (size_t k = 0; k < r->n_datasets; k++)
            json_array_append_new(parts, result_object(r->datasets[k]));
        json_object_set_new(o, "datasets", parts);
    }
    return o;
}

char *huella_eval_result_json(const huella_eval_result *r)
{
    json_t *o = result_object(r);
    if (o == NULL)
        return NULL;
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s;
}
