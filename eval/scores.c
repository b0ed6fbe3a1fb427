/*
 * scores.c - the scores-file format read by `huella eval scores`.
 *
 * One comparison per line: LABEL SCORE, separated by spaces or tabs, where
 * LABEL is `g` (genuine) or `i` (impostor) and SCORE a finite decimal
 * number.  Blank lines and lines whose first non-blank character is '#'
 * are ignored; CRLF line ends are accepted.  Anything else is an error
 * that names the line, so that a mistyped file never yields silently
 * wrong error rates.
 */
#include "huella/eval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 256

typedef struct score_list {
    double *v;
    size_t n;
    size_t cap;
} score_list;

static bool list_push(score_list *l, double x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        double *p = realloc(l->v, cap * sizeof(double));
        if (p == NULL)
            return false;
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return true;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static huella_status parse_line(const char *line, size_t len, size_t lineno, score_list *gen,
                                score_list *imp, huella_error *err)
{
    size_t p = 0;
    while (p < len && is_blank(line[p]))
        p++;
    if (p == len || line[p] == '#')
        return HUELLA_OK;
    if (len > MAX_LINE)
        return huella_error_set(err, HUELLA_E_INPUT, "line %zu: longer than %d characters", lineno,
                                MAX_LINE);
    char buf[MAX_LINE + 1];
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (memchr(line, '\0', len) != NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "line %zu: contains a NUL byte", lineno);

    char *s = buf + p;
    char *label_end = s;
    while (*label_end != '\0' && !is_blank(*label_end))
        label_end++;
    size_t label_len = (size_t)(label_end - s);
    score_list *target;
    if (label_len == 1 && s[0] == 'g')
        target = gen;
    else if (label_len == 1 && s[0] == 'i')
        target = imp;
    else
        return huella_error_set(err, HUELLA_E_INPUT,
                                "line %zu: label '%.*s' is not g (genuine) or i (impostor)", lineno,
                                (int)(label_len > 20 ? 20 : label_len), s);
    char *q = label_end;
    while (is_blank(*q))
        q++;
    if (*q == '\0')
        return huella_error_set(err, HUELLA_E_INPUT, "line %zu: missing score after the label",
                                lineno);
    char *end;
    errno = 0;
    double x = strtod(q, &end);
    if (end == q)
        return huella_error_set(err, HUELLA_E_INPUT, "line %zu: score '%.20s' is not a number",
                                lineno, q);
    if (errno == ERANGE || !isfinite(x))
        return huella_error_set(err, HUELLA_E_INPUT, "line %zu: score '%.20s' is not finite",
                                lineno, q);
    while (is_blank(*end))
        end++;
    if (*end != '\0')
        return huella_error_set(err, HUELLA_E_INPUT,
                                "line %zu: unexpected text '%.20s' after the score", lineno, end);
    if (!list_push(target, x))
        return huella_error_set(err, HUELLA_E_NOMEM, "line %zu: out of memory", lineno);
    return HUELLA_OK;
}

huella_status huella_eval_scores_parse(const char *text, size_t len, double **genuine,
                                       size_t *n_genuine, double **impostor, size_t *n_impostor,
                                       huella_error *err)
{
    score_list gen = {0}, imp = {0};
    *genuine = *impostor = NULL;
    *n_genuine = *n_impostor = 0;
    size_t start = 0, lineno = 1;
    huella_status st = HUELLA_OK;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        st = parse_line(text + start, end - start, lineno, &gen, &imp, err);
        if (st != HUELLA_OK)
            break;
        start = end + 1;
        lineno++;
    }
    if (st == HUELLA_OK && gen.n == 0 && imp.n == 0)
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "no scores: expected lines 'g SCORE' or "
                              "'i SCORE'");
    if (st != HUELLA_OK) {
        free(gen.v);
        free(imp.v);
        return st;
    }
    *genuine = gen.v;
    *n_genuine = gen.n;
    *impostor = imp.v;
    *n_impostor = imp.n;
    return HUELLA_OK;
}
