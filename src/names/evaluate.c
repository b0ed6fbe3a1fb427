/*
 * evaluate.c - accuracy of name matching on a labelled pairs file.
 *
 * Contract: huella_names_eval_pairs reads lines "name_a TAB name_b TAB
 * same|different [TAB kind]" ('#' and blank lines skipped; any other
 * malformed line is an error that names the line), scores every pair with
 * huella_names_compare and returns one JSON object: counts, precision,
 * recall, f1 and fpr (false positives over `different` pairs) at the given
 * threshold, a sweep of the same over thresholds 0.50..1.00, and the
 * ISO/IEC 19795-1 figures of huella_eval_metrics_compute (eer, FNMR at
 * FMR 1 %, 0.1 %, ...).  A pair whose names cannot be normalised (invalid
 * UTF-8) is counted as a non-match and listed under "errors".
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/eval.h"
#include "huella/names.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rates {
    size_t tp, fp, tn, fn;
} rates;

static rates count_at(const double *g, size_t ng, const double *im, size_t ni, double t)
{
    rates r = {0, 0, 0, 0};
    for (size_t i = 0; i < ng; i++)
        if (g[i] >= t)
            r.tp++;
        else
            r.fn++;
    for (size_t i = 0; i < ni; i++)
        if (im[i] >= t)
            r.fp++;
        else
            r.tn++;
    return r;
}

static double ratio(size_t a, size_t b)
{
    return b == 0 ? 0.0 : (double)a / (double)b;
}

static json_t *rates_json(rates r, double t)
{
    double p = ratio(r.tp, r.tp + r.fp), rc = ratio(r.tp, r.tp + r.fn);
    double f1 = p + rc > 0 ? 2 * p * rc / (p + rc) : 0.0;
    json_t *o = json_object();
    json_object_set_new(o, "threshold", json_real(t));
    json_object_set_new(o, "precision", json_real(p));
    json_object_set_new(o, "recall", json_real(rc));
    json_object_set_new(o, "f1", json_real(f1));
    json_object_set_new(o, "fpr", json_real(ratio(r.fp, r.fp + r.tn)));
    return o;
}

static bool push(double **v, size_t *n, size_t *cap, double x)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        double *p = realloc(*v, c * sizeof(double));
        if (p == NULL)
            return false;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return true;
}

huella_status huella_names_eval_pairs(huella_names *n, const char *pairs_path, double threshold,
                                      const char *report_dir, char **json, huella_error *err)
{
    *json = NULL;
    FILE *f = fopen(pairs_path, "r");
    if (f == NULL)
        return huella_error_set(err, HUELLA_E_IO, "%s: %s", pairs_path, strerror(errno));
    huella_name_comparison *cmp = malloc(sizeof(*cmp));
    double *g = NULL, *im = NULL;
    size_t ng = 0, ni = 0, cg = 0, ci = 0, lineno = 0;
    json_t *errors = json_array();
    huella_status st = cmp != NULL && errors != NULL ? HUELLA_OK : HUELLA_E_NOMEM;
    if (st != HUELLA_OK)
        huella_error_set(err, st, "out of memory");
    char line[4 * HUELLA_NAMES_MAX_INPUT];
    while (st == HUELLA_OK && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *a = line, *b = strchr(a, '\t');
        char *label = b != NULL ? strchr(b + 1, '\t') : NULL;
        if (label == NULL) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "%s line %zu: want name_a<TAB>name_b<TAB>same|different",
                                  pairs_path, lineno);
            break;
        }
        *b++ = '\0';
        *label++ = '\0';
        char *kind = strchr(label, '\t');
        if (kind != NULL)
            *kind = '\0';
        bool same = strcmp(label, "same") == 0;
        if (!same && strcmp(label, "different") != 0) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "%s line %zu: label '%s' is neither same nor different",
                                  pairs_path, lineno, label);
            break;
        }
        huella_error e2;
        double score = 0.0;
        if (huella_names_compare(n, a, b, cmp, &e2) == HUELLA_OK)
            score = cmp->score;
        else {
            char msg[600];
            snprintf(msg, sizeof(msg), "line %zu: %s", lineno, e2.message);
            json_array_append_new(errors, json_string(msg));
        }
        if (!(same ? push(&g, &ng, &cg, score) : push(&im, &ni, &ci, score)))
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    fclose(f);
    free(cmp);
    if (st == HUELLA_OK && (ng == 0 || ni == 0))
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "%s: want both same and different pairs (%zu same, %zu different)",
                              pairs_path, ng, ni);
    huella_eval_metrics m;
    if (st == HUELLA_OK)
        st = huella_eval_metrics_compute(g, ng, im, ni, HUELLA_SCORE_SIMILARITY, &m, err);
    if (st == HUELLA_OK && report_dir != NULL) {
        huella_eval_result *r = NULL;
        st = huella_eval_result_from_scores("names", g, ng, im, ni, HUELLA_SCORE_SIMILARITY, &r,
                                            err);
        if (st == HUELLA_OK)
            st = huella_eval_report_write(r, report_dir, err);
        huella_eval_result_free(r);
    }
    if (st == HUELLA_OK) {
        json_t *o = json_object();
        json_object_set_new(o, "pairs", json_string(pairs_path));
        json_object_set_new(o, "same", json_integer((json_int_t)ng));
        json_object_set_new(o, "different", json_integer((json_int_t)ni));
        json_t *at = rates_json(count_at(g, ng, im, ni, threshold), threshold);
        json_object_update(o, at);
        json_decref(at);
        json_t *sweep = json_array();
        for (int k = 50; k <= 100; k += 2) {
            double t = k / 100.0;
            json_array_append_new(sweep, rates_json(count_at(g, ng, im, ni, t), t));
        }
        json_object_set_new(o, "sweep", sweep);
        json_object_set_new(o, "eer", json_real(m.eer));
        json_object_set_new(o, "eer_threshold", json_real(m.eer_threshold));
        json_object_set_new(o, "fmr100", json_real(m.fmr100));
        json_object_set_new(o, "fmr1000", json_real(m.fmr1000));
        json_object_set_new(o, "zero_fmr", json_real(m.zero_fmr));
        json_object_set_new(o, "threshold_fmr100", json_real(m.threshold_fmr100));
        json_object_set_new(o, "errors", json_incref(errors));
        *json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        json_decref(o);
        if (*json == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    json_decref(errors);
    free(g);
    free(im);
    return st;
}
