/*
 * pairs.c - pair protocols (`huella eval --pairs FILE`), fold accuracy,
 * and the demographic differential report (`--groups FILE`).
 *
 * Fold accuracy follows the LFW protocol: for each fold, the threshold that
 * maximises accuracy on the other folds' pairs is applied to this fold's
 * pairs; the mean and the sample standard deviation of those accuracies
 * are reported.  A pair without a score (a sample failed to enrol) is
 * declared "different" at every threshold.
 *
 * The demographic report follows NIST's face demographic studies: one
 * global threshold (the one giving FMR 1 % over every impostor
 * comparison), then FNMR and FMR per group (comparisons whose two samples
 * are both in the group), FMR for each pair of different groups (impostor
 * comparisons across them), and each rate's ratio to the overall one.
 */
#define _POSIX_C_SOURCE 200809L
#include "eval/pairs_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST_BYTES (64u << 20)

/* Sample lookup by name: (name, index) sorted by name. */
typedef struct name_entry {
    const char *name;
    size_t index;
} name_entry;

typedef struct name_index {
    const huella_dataset *ds;
    name_entry *order;
} name_index;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const name_entry *)a)->name, ((const name_entry *)b)->name);
}

static huella_status build_index(const huella_dataset *ds, name_index *ix, huella_error *err)
{
    ix->ds = ds;
    ix->order = malloc((ds->n_samples ? ds->n_samples : 1) * sizeof *ix->order);
    if (ix->order == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    for (size_t i = 0; i < ds->n_samples; i++)
        ix->order[i] = (name_entry){ds->samples[i].name, i};
    qsort(ix->order, ds->n_samples, sizeof *ix->order, by_name);
    return HUELLA_OK;
}

static bool find_sample(const name_index *ix, const char *name, size_t *out)
{
    name_entry key = {name, 0};
    const name_entry *e = bsearch(&key, ix->order, ix->ds->n_samples, sizeof key, by_name);
    if (e == NULL)
        return false;
    *out = e->index;
    return true;
}

/* Split line at separator into at most max fields (in place). */
static size_t split(char *line, char sep, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *q = strchr(p, sep);
        if (q == NULL)
            break;
        *q = '\0';
        p = q + 1;
    }
    return n;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t k = 0;
    while (isspace((unsigned char)s[k]))
        k++;
    if (k)
        memmove(s, s + k, n - k + 1);
}

void huella_pair_list_free(huella_pair_list *p)
{
    if (p == NULL)
        return;
    free(p->genuine);
    free(p->genuine_fold);
    free(p->impostor);
    free(p->impostor_fold);
    free(p);
}

static bool push_pair(huella_pair **v, int **f, size_t *n, size_t *cap, uint32_t a, uint32_t b,
                      int fold)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        huella_pair *nv = realloc(*v, c * sizeof **v);
        if (nv == NULL)
            return false;
        *v = nv;
        int *nf = realloc(*f, c * sizeof **f);
        if (nf == NULL)
            return false;
        *f = nf;
        *cap = c;
    }
    (*v)[*n] = (huella_pair){a < b ? a : b, a < b ? b : a};
    (*f)[*n] = fold;
    (*n)++;
    return true;
}

huella_status huella_pair_list_read(const char *path, const huella_dataset *ds,
                                    huella_pair_list **out, huella_error *err)
{
    *out = NULL;
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, MAX_LIST_BYTES, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    name_index ix = {0};
    huella_pair_list *p = calloc(1, sizeof *p);
    char *text = malloc(len + 1);
    if (p == NULL || text == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(text, data, len);
    text[len] = '\0';
    if ((st = build_index(ds, &ix, err)) != HUELLA_OK)
        goto done;
    size_t cap_g = 0, cap_i = 0, lineno = 0;
    char *save = NULL;
    for (char *line = text; line != NULL; line = save) {
        lineno++;
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        if (line[0] == '#' || strspn(line, " \t\r") == strlen(line))
            continue;
        char *f[5];
        size_t nf = split(line, '\t', f, 5);
        if (nf != 4) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "%s:%zu: expected 4 tab-separated fields (imageA, imageB, "
                                  "same|different, fold)",
                                  path, lineno);
            goto done;
        }
        for (size_t k = 0; k < 4; k++)
            trim(f[k]);
        size_t a, b;
        if (!find_sample(&ix, f[0], &a) || !find_sample(&ix, f[1], &b)) {
            st = huella_error_set(err, HUELLA_E_INPUT, "%s:%zu: '%s' is not a sample of %s", path,
                                  lineno, find_sample(&ix, f[0], &a) ? f[1] : f[0], ds->root);
            goto done;
        }
        if (a == b) {
            st = huella_error_set(err, HUELLA_E_INPUT, "%s:%zu: a sample paired with itself", path,
                                  lineno);
            goto done;
        }
        char *end;
        long fold = strtol(f[3], &end, 10);
        if (end == f[3] || *end != '\0' || fold < 0 || fold > 1000000) {
            st = huella_error_set(err, HUELLA_E_INPUT, "%s:%zu: fold '%s' is not a number", path,
                                  lineno, f[3]);
            goto done;
        }
        bool ok;
        if (strcmp(f[2], "same") == 0)
            ok = push_pair(&p->genuine, &p->genuine_fold, &p->n_genuine, &cap_g, (uint32_t)a,
                           (uint32_t)b, (int)fold);
        else if (strcmp(f[2], "different") == 0)
            ok = push_pair(&p->impostor, &p->impostor_fold, &p->n_impostor, &cap_i, (uint32_t)a,
                           (uint32_t)b, (int)fold);
        else {
            st = huella_error_set(err, HUELLA_E_INPUT, "%s:%zu: '%s' is not same or different",
                                  path, lineno, f[2]);
            goto done;
        }
        if (!ok) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
            goto done;
        }
    }
    if (p->n_genuine == 0 || p->n_impostor == 0)
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: needs both same and different pairs", path);
done:
    free(ix.order);
    free(text);
    free(data);
    if (st != HUELLA_OK) {
        huella_pair_list_free(p);
        return st;
    }
    *out = p;
    return HUELLA_OK;
}

void huella_group_map_free(huella_group_map *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n_groups; i++)
        free(g->names[i]);
    free(g->names);
    free(g->sample_group);
    free(g);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

huella_status huella_group_map_read(const char *path, const huella_dataset *ds,
                                    huella_group_map **out, huella_error *err)
{
    *out = NULL;
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, MAX_LIST_BYTES, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    name_index ix = {0};
    huella_group_map *g = calloc(1, sizeof *g);
    char *text = malloc(len + 1);
    size_t *raw = NULL; /* per sample: index into a provisional list */
    char **labels = NULL;
    size_t n_labels = 0, cap = 0;
    if (g == NULL || text == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(text, data, len);
    text[len] = '\0';
    g->n_samples = ds->n_samples;
    g->sample_group = malloc((ds->n_samples ? ds->n_samples : 1) * sizeof(size_t));
    raw = g->sample_group;
    if (raw == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ds->n_samples; i++)
        raw[i] = SIZE_MAX;
    if ((st = build_index(ds, &ix, err)) != HUELLA_OK)
        goto done;
    size_t lineno = 0;
    char *next = NULL;
    for (char *line = text; line != NULL; line = next) {
        lineno++;
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        if (line[0] == '#' || strspn(line, " \t\r") == strlen(line))
            continue;
        char *f[3];
        size_t nf = split(line, ',', f, 3);
        if (nf != 2) {
            st = huella_error_set(err, HUELLA_E_INPUT, "%s:%zu: expected sample,group", path,
                                  lineno);
            goto done;
        }
        trim(f[0]);
        trim(f[1]);
        if (lineno == 1 && strcmp(f[0], "sample") == 0)
            continue;
        if (f[1][0] == '\0') {
            st = huella_error_set(err, HUELLA_E_INPUT, "%s:%zu: empty group", path, lineno);
            goto done;
        }
        size_t label = SIZE_MAX;
        for (size_t k = 0; k < n_labels; k++)
            if (strcmp(labels[k], f[1]) == 0)
                label = k;
        if (label == SIZE_MAX) {
            if (n_labels == 1000) {
                st = huella_error_set(err, HUELLA_E_INPUT, "%s: more than 1000 groups", path);
                goto done;
            }
            if (n_labels == cap) {
                cap = cap ? cap * 2 : 8;
                char **nl2 = realloc(labels, cap * sizeof *labels);
                if (nl2 == NULL) {
                    st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
                    goto done;
                }
                labels = nl2;
            }
            labels[n_labels] = strdup(f[1]);
            if (labels[n_labels] == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
                goto done;
            }
            label = n_labels++;
        }
        size_t s;
        if (find_sample(&ix, f[0], &s)) {
            raw[s] = label;
        } else {
            bool any = false;
            for (size_t c = 0; c < ds->n_classes; c++)
                if (strcmp(ds->classes[c], f[0]) == 0) {
                    for (size_t i = 0; i < ds->n_samples; i++)
                        if (ds->samples[i].class_index == c)
                            raw[i] = label;
                    any = true;
                }
            (void)any; /* labels for samples outside the dataset are ignored */
        }
    }
    /* Sort the labels and renumber. */
    char **sorted = malloc((n_labels ? n_labels : 1) * sizeof *sorted);
    size_t *map = malloc((n_labels ? n_labels : 1) * sizeof *map);
    if (sorted == NULL || map == NULL) {
        free(sorted);
        free(map);
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(sorted, labels, n_labels * sizeof *sorted);
    qsort(sorted, n_labels, sizeof *sorted, cmp_str);
    for (size_t k = 0; k < n_labels; k++)
        for (size_t j = 0; j < n_labels; j++)
            if (sorted[j] == labels[k])
                map[k] = j;
    for (size_t i = 0; i < ds->n_samples; i++)
        if (raw[i] != SIZE_MAX)
            raw[i] = map[raw[i]];
    free(map);
    free(labels);
    labels = NULL;
    g->names = sorted;
    g->n_groups = n_labels;
    n_labels = 0;
    if (g->n_groups == 0)
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: no group labels", path);
done:
    for (size_t k = 0; k < n_labels; k++)
        free(labels[k]);
    free(labels);
    free(ix.order);
    free(text);
    free(data);
    if (st != HUELLA_OK) {
        huella_group_map_free(g);
        return st;
    }
    *out = g;
    return HUELLA_OK;
}

/* ---- Fold accuracy ------------------------------------------------------ */

typedef struct scored {
    double s; /* similarity: higher = more alike; -inf for no score */
    bool same;
    int fold;
} scored;

static int by_score(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

/* The threshold maximising accuracy over v (sorted by s) except fold skip:
 * declare "same" when s >= t.  Returns t. */
static double best_threshold(const scored *v, size_t n, int skip)
{
    size_t same_total = 0, diff_total = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].fold != skip) {
            same_total += v[i].same;
            diff_total += !v[i].same;
        }
    /* t above everything: every pair "different". */
    size_t best = diff_total;
    double best_t = INFINITY;
    size_t same_above = 0, diff_above = 0;
    for (size_t i = n; i-- > 0;) {
        if (v[i].fold == skip)
            continue;
        if (isinf(v[i].s) && v[i].s < 0)
            break;
        same_above += v[i].same;
        diff_above += !v[i].same;
        /* Only between distinct scores. */
        size_t j = i;
        while (j > 0 && v[j - 1].fold == skip)
            j--;
        if (j > 0 && v[j - 1].s == v[i].s)
            continue;
        size_t correct = same_above + (diff_total - diff_above);
        if (correct > best) {
            best = correct;
            double below = j > 0 ? v[j - 1].s : -INFINITY;
            best_t = isinf(below) ? v[i].s : (v[i].s + below) / 2;
        }
    }
    (void)same_total;
    return best_t;
}

huella_status huella_eval_fold_accuracy(const huella_pair_list *p, const double *genuine,
                                        const double *impostor, huella_score_kind kind,
                                        huella_eval_result *r, huella_error *err)
{
    size_t n = p->n_genuine + p->n_impostor;
    scored *v = malloc(n * sizeof *v);
    if (v == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    int folds[64];
    size_t nf = 0;
    for (size_t i = 0; i < n; i++) {
        bool g = i < p->n_genuine;
        double s = g ? genuine[i] : impostor[i - p->n_genuine];
        v[i].s = isnan(s) ? -INFINITY : kind == HUELLA_SCORE_DISTANCE ? -s : s;
        v[i].same = g;
        v[i].fold = g ? p->genuine_fold[i] : p->impostor_fold[i - p->n_genuine];
        bool seen = false;
        for (size_t k = 0; k < nf; k++)
            seen |= folds[k] == v[i].fold;
        if (!seen) {
            if (nf == 64) {
                free(v);
                return huella_error_set(err, HUELLA_E_INPUT, "more than 64 folds");
            }
            folds[nf++] = v[i].fold;
        }
    }
    qsort(v, n, sizeof *v, by_score);
    double acc[64], sum = 0;
    for (size_t k = 0; k < nf; k++) {
        double t = nf > 1 ? best_threshold(v, n, folds[k]) : best_threshold(v, n, -1);
        size_t correct = 0, total = 0;
        for (size_t i = 0; i < n; i++)
            if (v[i].fold == folds[k]) {
                total++;
                correct += (v[i].s >= t) == v[i].same;
            }
        acc[k] = total ? (double)correct / (double)total : 0;
        sum += acc[k];
    }
    free(v);
    r->has_folds = true;
    r->folds = nf;
    r->accuracy = sum / (double)nf;
    double ss = 0;
    for (size_t k = 0; k < nf; k++)
        ss += (acc[k] - r->accuracy) * (acc[k] - r->accuracy);
    r->accuracy_std = nf > 1 ? sqrt(ss / (double)(nf - 1)) : 0.0;
    r->tar_far1000 = 1.0 - r->metrics.fmr1000;
    return HUELLA_OK;
}

/* ---- Demographic differentials ------------------------------------------ */

huella_status huella_eval_group_report(const huella_group_map *g, const huella_pair *gp, size_t ng,
                                       const huella_pair *ip, size_t ni, huella_eval_result *r,
                                       huella_error *err)
{
    size_t k = g->n_groups;
    size_t rows = k * (k + 1) / 2;
    r->group_threshold = r->metrics.threshold_fmr100;
    huella_eval_rates_at(r->genuine_scores, r->n_genuine, r->impostor_scores, r->n_impostor,
                         r->score_kind, r->group_threshold, &r->group_fmr, &r->group_fnmr);
    r->group_rates = calloc(rows, sizeof *r->group_rates);
    r->group_names = calloc(k, sizeof *r->group_names);
    size_t *gen = calloc(rows, sizeof(size_t)), *gen_fail = calloc(rows, sizeof(size_t));
    size_t *imp = calloc(rows, sizeof(size_t)), *imp_match = calloc(rows, sizeof(size_t));
    huella_status st = HUELLA_OK;
    if (r->group_rates == NULL || r->group_names == NULL || gen == NULL || gen_fail == NULL ||
        imp == NULL || imp_match == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        r->group_names[i] = strdup(g->names[i]);
        if (r->group_names[i] == NULL) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
            goto done;
        }
        r->n_groups = i + 1;
    }
    /* Row of (a, b), a <= b. */
#define ROW(a, b) ((a)*k - (a) * ((a)-1) / 2 + ((b) - (a)))
    double t = r->group_threshold;
    for (size_t i = 0; i < ng; i++) {
        size_t a = g->sample_group[gp[i].a], b = g->sample_group[gp[i].b];
        if (a == SIZE_MAX || b != a)
            continue;
        double s = r->genuine_scores[i];
        bool match = !isnan(s) && (r->score_kind == HUELLA_SCORE_DISTANCE ? s <= t : s >= t);
        gen[ROW(a, a)]++;
        gen_fail[ROW(a, a)] += !match;
    }
    for (size_t i = 0; i < ni; i++) {
        size_t a = g->sample_group[ip[i].a], b = g->sample_group[ip[i].b];
        if (a == SIZE_MAX || b == SIZE_MAX)
            continue;
        if (a > b) {
            size_t tmp = a;
            a = b;
            b = tmp;
        }
        double s = r->impostor_scores[i];
        bool match = !isnan(s) && (r->score_kind == HUELLA_SCORE_DISTANCE ? s <= t : s >= t);
        imp[ROW(a, b)]++;
        imp_match[ROW(a, b)] += match;
    }
    size_t row = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = a; b < k; b++, row++) {
            huella_group_rates *x = &r->group_rates[row];
            x->a = a;
            x->b = b;
            x->genuine = gen[row];
            x->impostor = imp[row];
            x->fnmr = gen[row] ? (double)gen_fail[row] / (double)gen[row] : NAN;
            x->fmr = imp[row] ? (double)imp_match[row] / (double)imp[row] : NAN;
            x->fnmr_ratio = r->group_fnmr > 0 ? x->fnmr / r->group_fnmr : NAN;
            x->fmr_ratio = r->group_fmr > 0 ? x->fmr / r->group_fmr : NAN;
        }
#undef ROW
    r->n_group_rates = rows;
done:
    free(gen);
    free(gen_fail);
    free(imp);
    free(imp_match);
    return st;
}
