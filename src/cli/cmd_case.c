/*
 * cmd_case.c - `huella case list|show|decide`: the possible-duplicate
 * cases that enrolment opens, for the people who decide them.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/store.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char case_help[] =
    "huella case - possible-duplicate cases (enrolment opens one when a candidate is\n"
    "in the review band, or when a juvenile capture keeps a strong match from being\n"
    "linked automatically; nothing is merged until a person decides)\n"
    "\n"
    "usage: huella case <command> --db DIR [options]\n";

static const char list_help[] =
    "usage: huella case list --db DIR [--status open|same|different] [--json]\n"
    "\n"
    "List the cases with a status (default open), oldest first: the encounter that\n"
    "raised the case and its candidate persons with their fused LLR.\n";

static const char show_help[] =
    "usage: huella case show ID --db DIR [--json]\n"
    "\n"
    "Show a case: its status, who opened and decided it, and each candidate with\n"
    "the evidence recorded at enrolment (per finger and iris: score and LLR; the\n"
    "fused LLR; thresholds; gallery size; juvenile flags).\n";

static const char decide_help[] =
    "usage: huella case decide ID --db DIR (--same PERSON | --different)\n"
    "                         --operator WHO --note WHY [--json]\n"
    "\n"
    "Record a person's decision on an open case.  --same PERSON: the encounter that\n"
    "raised the case is the candidate PERSON; it is linked to them (an ordinary link\n"
    "in the history, undoable with 'huella person unlink' or 'relink').\n"
    "--different: the encounter stays with the person it has.  Who decided and why\n"
    "are required and kept.\n";

enum { OPT_DB = 256, OPT_STATUS, OPT_SAME, OPT_DIFFERENT, OPT_OPERATOR, OPT_NOTE };

static bool parse_id(const char *s, int64_t *id)
{
    char *end;
    if (*s < '1' || *s > '9')
        return false;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || v <= 0)
        return false;
    *id = v;
    return true;
}

static bool parse_status(const char *s, huella_store_case_status *st)
{
    if (strcmp(s, "open") == 0)
        *st = HUELLA_CASE_OPEN;
    else if (strcmp(s, "same") == 0 || strcmp(s, "confirmed_same") == 0)
        *st = HUELLA_CASE_CONFIRMED_SAME;
    else if (strcmp(s, "different") == 0 || strcmp(s, "confirmed_different") == 0)
        *st = HUELLA_CASE_CONFIRMED_DIFFERENT;
    else
        return false;
    return true;
}

/* The fused LLR recorded with a candidate's evidence (NaN when absent). */
static double recorded_llr(json_t *cand)
{
    json_t *ev = json_object_get(cand, "evidence");
    json_t *c = json_object_get(ev, "candidate");
    json_t *v = json_object_get(c, "fused_llr");
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_case(json_t *o, bool details)
{
    printf("case %lld: %s; encounter %lld; opened %s by %s\n",
           (long long)json_integer_value(json_object_get(o, "case_id")),
           json_string_value(json_object_get(o, "status")),
           (long long)json_integer_value(json_object_get(o, "encounter_id")),
           json_string_value(json_object_get(o, "opened_at")),
           json_string_value(json_object_get(o, "opened_by")));
    if (!json_is_null(json_object_get(o, "decided_by")) && json_object_get(o, "decided_by") != NULL)
        printf("  decided %s by %s%s%s\n", json_string_value(json_object_get(o, "decided_at")),
               json_string_value(json_object_get(o, "decided_by")),
               json_is_string(json_object_get(o, "note")) ? ": " : "",
               json_is_string(json_object_get(o, "note"))
                   ? json_string_value(json_object_get(o, "note"))
                   : "");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(o, "candidates"), i, c)
    {
        json_t *ev = json_object_get(c, "evidence");
        json_t *cand = json_object_get(ev, "candidate");
        printf("  candidate %lld: person %lld%s, fused LLR %+.2f%s\n",
               (long long)json_integer_value(json_object_get(c, "rank")),
               (long long)json_integer_value(json_object_get(c, "person_id")),
               json_is_true(json_object_get(c, "erased")) ? " (erased)" : "", recorded_llr(c),
               json_is_true(json_object_get(cand, "juvenile")) ||
                       json_is_true(json_object_get(ev, "probe_juvenile"))
                   ? " [juvenile capture: less reliable]"
                   : "");
        if (!details || cand == NULL)
            continue;
        printf("    thresholds: strict %.2f, review %.2f for %lld persons\n",
               json_number_value(json_object_get(ev, "threshold_strict")),
               json_number_value(json_object_get(ev, "threshold_review")),
               (long long)json_integer_value(json_object_get(ev, "gallery_persons")));
        size_t k;
        json_t *x;
        json_array_foreach(json_object_get(cand, "evidence"), k, x)
        {
            if (json_object_get(x, "finger_position") != NULL)
                printf("    finger %lld: similarity %.1f -> LLR %+.2f\n",
                       (long long)json_integer_value(json_object_get(x, "finger_position")),
                       json_number_value(json_object_get(x, "score")),
                       json_number_value(json_object_get(x, "llr")));
            else
                printf("    iris %s: distance %.3f -> LLR %+.2f\n",
                       json_string_value(json_object_get(x, "eye")),
                       json_number_value(json_object_get(x, "score")),
                       json_number_value(json_object_get(x, "llr")));
        }
    }
}

static int case_list(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"status", required_argument, NULL, OPT_STATUS},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    const char *dir = NULL;
    huella_store_case_status want = HUELLA_CASE_OPEN;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = CLI_CONTINUE;
        if (c == OPT_DB)
            dir = optarg;
        else if (c == OPT_STATUS) {
            if (!parse_status(optarg, &want))
                r = cli_usage_error("case list", "--status is open, same or different");
        } else
            r = cli_common_option(c, "case list", list_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (dir == NULL || optind != argc)
        return cli_usage_error("case list", "want --db DIR and no other argument");
    huella_error err;
    huella_store *s = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    huella_status st = huella_store_open(dir, &s, &err);
    if (st == HUELLA_OK)
        st = huella_store_cases(s, want, &ids, &n, &err);
    json_t *arr = json_array();
    for (size_t i = 0; st == HUELLA_OK && i < n; i++) {
        char *js = NULL;
        st = huella_store_case_json(s, ids[i], &js, &err);
        if (st == HUELLA_OK)
            json_array_append_new(arr, json_loads(js, 0, NULL));
        free(js);
    }
    int status = EXIT_OK;
    if (st == HUELLA_OK && opt.json) {
        status = cli_print_json(
            json_pack("{s:s, s:O}", "status", huella_store_case_status_name(want), "cases", arr),
            JSON_INDENT(2));
    } else if (st == HUELLA_OK) {
        printf("%zu %s case%s\n", n, huella_store_case_status_name(want), n == 1 ? "" : "s");
        size_t i;
        json_t *o;
        json_array_foreach(arr, i, o) print_case(o, false);
    }
    json_decref(arr);
    free(ids);
    huella_store_close(s);
    return st != HUELLA_OK ? cli_fail(st, &err) : status;
}

static int case_show_decide(int argc, char **argv, bool decide)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"same", required_argument, NULL, OPT_SAME},
                                         {"different", no_argument, NULL, OPT_DIFFERENT},
                                         {"operator", required_argument, NULL, OPT_OPERATOR},
                                         {"note", required_argument, NULL, OPT_NOTE},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    const char *cmd = decide ? "case decide" : "case show";
    cli_opts opt = {0};
    const char *dir = NULL, *who = NULL, *note = NULL;
    int64_t same = 0;
    bool different = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = CLI_CONTINUE;
        if (c == OPT_DB)
            dir = optarg;
        else if (decide && c == OPT_SAME) {
            if (!parse_id(optarg, &same))
                r = cli_usage_error(cmd, "--same wants a person id");
        } else if (decide && c == OPT_DIFFERENT)
            different = true;
        else if (decide && c == OPT_OPERATOR)
            who = optarg;
        else if (decide && c == OPT_NOTE)
            note = optarg;
        else
            r = cli_common_option(c >= OPT_SAME && c <= OPT_NOTE ? '?' : c, cmd,
                                  decide ? decide_help : show_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    int64_t id;
    if (optind + 1 != argc || !parse_id(argv[optind], &id))
        return cli_usage_error(cmd, "want one case id (a positive integer)");
    if (dir == NULL)
        return cli_usage_error(cmd, "want --db DIR");
    if (decide && (same != 0) == different)
        return cli_usage_error(cmd, "want either --same PERSON or --different");
    if (decide && (who == NULL || who[0] == '\0' || note == NULL || note[0] == '\0'))
        return cli_usage_error(cmd, "want --operator WHO and --note WHY (both are kept)");
    huella_error err;
    huella_store *s = NULL;
    char *js = NULL;
    huella_status st = huella_store_open(dir, &s, &err);
    if (st == HUELLA_OK && decide)
        st = huella_store_case_resolve(
            s, id, different ? HUELLA_CASE_CONFIRMED_DIFFERENT : HUELLA_CASE_CONFIRMED_SAME, same,
            who, note, &err);
    if (st == HUELLA_OK)
        st = huella_store_case_json(s, id, &js, &err);
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        json_t *o = json_loads(js, 0, NULL);
        if (opt.json)
            status = cli_print_json(o, JSON_INDENT(2));
        else {
            print_case(o, true);
            json_decref(o);
        }
    }
    free(js);
    huella_store_close(s);
    return st != HUELLA_OK ? cli_fail(st, &err) : status;
}

static int case_show(int argc, char **argv)
{
    return case_show_decide(argc, argv, false);
}

static int case_decide(int argc, char **argv)
{
    return case_show_decide(argc, argv, true);
}

int cmd_case(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"list", case_list, "cases with a status (default open)"},
        {"show", case_show, "a case with its candidates' evidence"},
        {"decide", case_decide, "record a person's decision: same or different"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("case", case_help, verbs, argc, argv);
}
