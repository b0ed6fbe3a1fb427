/*
 * cmd_names.c - `huella names compare|normalize` and the option parsing of
 * `huella eval names` (cmd_eval.c hands that verb here).
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/names.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char names_help[] = "huella names - person names across scripts\n";

static const char compare_help[] =
    "usage: huella names compare NAME_A NAME_B [--data DIR] [--json]\n"
    "\n"
    "Score in [0, 1] that two names belong to one person, order-insensitive,\n"
    "with the tokens that were aligned (how: exact, equivalent, phonetic, edit,\n"
    "initial, joined; similarity) and those left over.  The default decision\n"
    "threshold is 0.82.  --data DIR overrides the naming data directory.\n";

static const char normalize_help[] =
    "usage: huella names normalize NAME [--data DIR] [--json]\n"
    "\n"
    "The name's dominant script, its Latin-ASCII transliteration and its tokens\n"
    "with their roles (word, initial, particle, title, conjunction, suffix) and\n"
    "phonetic keys.\n";

enum { OPT_DATA = 'D', OPT_PAIRS = 'P', OPT_THRESHOLD = 'T' };

static json_t *name_json(const huella_name *nm)
{
    json_t *o = json_object();
    json_object_set_new(o, "original", json_string(nm->original));
    json_object_set_new(o, "script", json_string(nm->script));
    json_object_set_new(o, "latin", json_string(nm->latin));
    json_t *toks = json_array();
    for (size_t i = 0; i < nm->n_tokens; i++) {
        json_t *t = json_object();
        json_object_set_new(t, "text", json_string(nm->tokens[i].text));
        json_object_set_new(t, "role", json_string(huella_name_role_name(nm->tokens[i].role)));
        json_object_set_new(t, "key", json_string(nm->tokens[i].key));
        json_array_append_new(toks, t);
    }
    json_object_set_new(o, "tokens", toks);
    json_object_set_new(o, "truncated", json_boolean(nm->truncated));
    return o;
}

/* Parse the options shared by both verbs; returns CLI_CONTINUE or an exit
 * status.  *first is the index of the first positional argument. */
static int parse(int argc, char **argv, const char *cmd, const char *help, cli_opts *opt,
                 const char **data, int *first)
{
    static const struct option opts[] = {{"data", required_argument, NULL, OPT_DATA},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_DATA) {
            *data = optarg;
            continue;
        }
        int r = cli_common_option(c, cmd, help, opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    *first = optind;
    return CLI_CONTINUE;
}

static int names_normalize(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *data = NULL;
    int first = 0;
    int r = parse(argc, argv, "names normalize", normalize_help, &opt, &data, &first);
    if (r != CLI_CONTINUE)
        return r;
    if (argc - first != 1)
        return cli_usage_error("names normalize", "want exactly one NAME");
    huella_error err;
    huella_names *n = NULL;
    huella_status st = huella_names_new(data, &n, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_name *nm = malloc(sizeof(*nm));
    if (nm == NULL) {
        huella_names_free(n);
        huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
        return cli_fail(HUELLA_E_NOMEM, &err);
    }
    st = huella_names_normalize(n, argv[first], nm, &err);
    huella_names_free(n);
    if (st != HUELLA_OK) {
        free(nm);
        return cli_fail(st, &err);
    }
    if (opt.json) {
        json_t *o = name_json(nm);
        free(nm);
        return cli_print_json(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
    }
    printf("script: %s\nlatin:  %s\ntokens:", nm->script, nm->latin);
    for (size_t i = 0; i < nm->n_tokens; i++)
        printf(" %s(%s)", nm->tokens[i].text, huella_name_role_name(nm->tokens[i].role));
    putchar('\n');
    free(nm);
    return EXIT_OK;
}

static void token_pair(const huella_name *nm, size_t i, size_t i2, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t end = i2 == SIZE_MAX ? i : i2;
    for (size_t k = i; k <= end && k < nm->n_tokens; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", k > i ? " " : "", nm->tokens[k].text);
    }
}

static int names_compare(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *data = NULL;
    int first = 0;
    int r = parse(argc, argv, "names compare", compare_help, &opt, &data, &first);
    if (r != CLI_CONTINUE)
        return r;
    if (argc - first != 2)
        return cli_usage_error("names compare", "want two names");
    huella_error err;
    huella_names *n = NULL;
    huella_status st = huella_names_new(data, &n, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_name_comparison *c = malloc(sizeof(*c));
    if (c == NULL) {
        huella_names_free(n);
        huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
        return cli_fail(HUELLA_E_NOMEM, &err);
    }
    st = huella_names_compare(n, argv[first], argv[first + 1], c, &err);
    huella_names_free(n);
    if (st != HUELLA_OK) {
        free(c);
        return cli_fail(st, &err);
    }
    json_t *o = json_object();
    json_object_set_new(o, "score", json_real(c->score));
    json_object_set_new(o, "same", json_boolean(c->score >= HUELLA_NAMES_THRESHOLD));
    json_object_set_new(o, "threshold", json_real(HUELLA_NAMES_THRESHOLD));
    json_object_set_new(o, "a", name_json(&c->a));
    json_object_set_new(o, "b", name_json(&c->b));
    json_t *al = json_array();
    for (size_t i = 0; i < c->n_aligned; i++) {
        const huella_name_alignment *x = &c->aligned[i];
        char ta[3 * HUELLA_NAMES_MAX_TOKEN], tb[3 * HUELLA_NAMES_MAX_TOKEN];
        token_pair(&c->a, x->a, x->a2, ta, sizeof(ta));
        token_pair(&c->b, x->b, x->b2, tb, sizeof(tb));
        json_t *e = json_object();
        json_object_set_new(e, "a", json_string(ta));
        json_object_set_new(e, "b", json_string(tb));
        json_object_set_new(e, "similarity", json_real(x->similarity));
        json_object_set_new(e, "how", json_string(huella_name_match_name(x->how)));
        json_array_append_new(al, e);
    }
    json_object_set_new(o, "aligned", al);
    json_t *la = json_array(), *lb = json_array();
    for (size_t i = 0; i < c->n_left_a; i++)
        json_array_append_new(la, json_string(c->a.tokens[c->left_a[i]].text));
    for (size_t i = 0; i < c->n_left_b; i++)
        json_array_append_new(lb, json_string(c->b.tokens[c->left_b[i]].text));
    json_object_set_new(o, "left_a", la);
    json_object_set_new(o, "left_b", lb);
    if (opt.json) {
        free(c);
        return cli_print_json(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
    }
    printf("score %.3f (%s at %.2f)\n", c->score,
           c->score >= HUELLA_NAMES_THRESHOLD ? "same" : "different", HUELLA_NAMES_THRESHOLD);
    size_t k;
    json_t *e;
    json_array_foreach(al, k, e)
    {
        printf("  %-20s ~ %-20s %.3f %s\n", json_string_value(json_object_get(e, "a")),
               json_string_value(json_object_get(e, "b")),
               json_real_value(json_object_get(e, "similarity")),
               json_string_value(json_object_get(e, "how")));
    }
    for (size_t i = 0; i < c->n_left_a; i++)
        printf("  left in A: %s\n", c->a.tokens[c->left_a[i]].text);
    for (size_t i = 0; i < c->n_left_b; i++)
        printf("  left in B: %s\n", c->b.tokens[c->left_b[i]].text);
    json_decref(o);
    free(c);
    return EXIT_OK;
}

static const char eval_names_help[] =
    "usage: huella eval names --pairs FILE [--threshold T] [--data DIR] [--report OUTDIR]\n"
    "\n"
    "Reads name_a<TAB>name_b<TAB>same|different[<TAB>kind] lines ('#' comments)\n"
    "and prints JSON: precision, recall, f1 and fpr (false positives over the\n"
    "'different' pairs) at T (default 0.82, chosen on data/names/dev-pairs.tsv),\n"
    "a sweep over thresholds 0.50..1.00, eer and FNMR at fixed FMR.\n"
    "--report OUTDIR writes a DET report.\n";

int cmd_names_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"pairs", required_argument, NULL, OPT_PAIRS},
                                         {"threshold", required_argument, NULL, OPT_THRESHOLD},
                                         {"data", required_argument, NULL, OPT_DATA},
                                         {"report", required_argument, NULL, OPT_REPORT},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    const char *pairs = NULL, *data = NULL;
    double threshold = HUELLA_NAMES_THRESHOLD;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_PAIRS) {
            pairs = optarg;
        } else if (c == OPT_DATA) {
            data = optarg;
        } else if (c == OPT_THRESHOLD) {
            char *end = NULL;
            threshold = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(threshold >= 0 && threshold <= 1))
                return cli_usage_error("eval", "--threshold wants a number in [0, 1], not '%s'",
                                       optarg);
        } else {
            int r = cli_common_option(c, "eval", eval_names_help, &opt);
            if (r != CLI_CONTINUE)
                return r;
        }
    }
    if (pairs == NULL || optind != argc)
        return cli_usage_error("eval", "eval names wants --pairs FILE and nothing else");
    huella_error err;
    huella_names *n = NULL;
    huella_status st = huella_names_new(data, &n, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    char *json = NULL;
    st = huella_names_eval_pairs(n, pairs, threshold, opt.report, &json, &err);
    huella_names_free(n);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    puts(json);
    free(json);
    return EXIT_OK;
}

int cmd_names(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"compare", names_compare, "score two names and explain the alignment"},
        {"normalize", names_normalize, "script, transliteration and tokens of a name"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("names", names_help, verbs, argc, argv);
}
