/*
 * cmd_identify.c - `huella identify` (1:N against the whole store) and
 * `huella verify` (1:1 against one person), and the probe and candidate
 * helpers that `huella enrol` shares.
 *
 * Both extract templates from the images given (huella_enrol_extract, as
 * enrolment does), so a probe is made exactly like an enrolment; nothing
 * is written to the store.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/dedup.h"
#include "huella/gallery.h"
#include "huella/store.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Shared helpers ------------------------------------------------------ */

int cli_probe_option(huella_enrol_input *in, size_t *n, size_t max, int modality, const char *spec,
                     const char *cmd)
{
    if (*n == max)
        return cli_usage_error(cmd, "at most %zu images", max);
    const char *path = spec;
    unsigned pos = 0;
    if (modality != HUELLA_STORE_FACE) {
        const char *eq = strchr(spec, '=');
        if (eq == NULL || eq == spec)
            return cli_usage_error(cmd, "'%s': want POSITION=IMAGE", spec);
        char p[16];
        size_t k = (size_t)(eq - spec);
        if (k >= sizeof(p))
            return cli_usage_error(cmd, "'%s': bad position", spec);
        memcpy(p, spec, k);
        p[k] = '\0';
        path = eq + 1;
        if (modality == HUELLA_STORE_FINGER) {
            if (!cli_parse_uint(p, &pos) || pos < 1 || pos > 10)
                return cli_usage_error(cmd, "--finger %s: the position is 1..10", spec);
        } else if (strcmp(p, "right") == 0) {
            pos = 1;
        } else if (strcmp(p, "left") == 0) {
            pos = 2;
        } else {
            return cli_usage_error(cmd, "--iris %s: the eye is left or right", spec);
        }
    }
    in[*n] = (huella_enrol_input){(huella_store_modality)modality, pos, path, NULL, 0};
    (*n)++;
    return CLI_CONTINUE;
}

huella_status cli_read_inputs(huella_enrol_input *in, size_t n, huella_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i].data != NULL)
            continue;
        uint8_t *data = NULL;
        huella_status st =
            huella_file_read(in[i].label, HUELLA_STORE_MAX_IMAGE, &data, &in[i].len, err);
        if (st != HUELLA_OK)
            return st;
        in[i].data = data;
    }
    return HUELLA_OK;
}

void cli_free_inputs(huella_enrol_input *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((void *)in[i].data);
        in[i].data = NULL;
    }
}

static void print_evidence(json_t *ev)
{
    size_t k;
    json_t *x;
    json_array_foreach(ev, k, x)
    {
        const char *mod = json_string_value(json_object_get(x, "modality"));
        json_t *score = json_object_get(x, "score");
        double llr = json_real_value(json_object_get(x, "llr"));
        if (strcmp(mod, "finger") == 0)
            printf("        finger %lld: similarity %.1f -> LLR %+.2f\n",
                   (long long)json_integer_value(json_object_get(x, "finger_position")),
                   json_is_null(score) ? NAN : json_real_value(score), llr);
        else if (strcmp(mod, "face") == 0)
            printf("        face      : distance %.3f -> LLR %+.2f\n",
                   json_is_null(score) ? NAN : json_real_value(score), llr);
        else
            printf("        iris %-5s: distance %.3f%s -> LLR %+.2f\n",
                   json_string_value(json_object_get(x, "eye")),
                   json_is_null(score) ? NAN : json_real_value(score),
                   json_is_true(json_object_get(x, "bounded")) ? " (at least)" : "", llr);
    }
}

void cli_print_candidates(json_t *cands, size_t gallery_persons, double threshold_strict,
                          double threshold_review, bool all)
{
    printf("Searched against %zu enrolled person%s.  Thresholds on the fused LLR for this\n"
           "gallery size: strict %.2f (link), review %.2f (a person should look).\n",
           gallery_persons, gallery_persons == 1 ? "" : "s", threshold_strict, threshold_review);
    size_t n = json_array_size(cands), shown = 0;
    if (n == 0) {
        puts("No candidates (the gallery holds nobody with these fingers, irises or face).");
        return;
    }
    size_t n_strict = 0, n_review = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cands, i, c)
    {
        n_strict += json_is_true(json_object_get(c, "strict"));
        n_review += json_is_true(json_object_get(c, "review")) &&
                    !json_is_true(json_object_get(c, "strict"));
    }
    if (n_strict + n_review == 0)
        puts("Summary: no candidate reaches the review threshold: this person is probably not\n"
             "enrolled.");
    else
        printf("Summary: %zu strong match%s, %zu possible match%s to check.\n", n_strict,
               n_strict == 1 ? "" : "es", n_review, n_review == 1 ? "" : "es");
    puts("Candidates (best first).  They are leads for a person to review, not decisions:");
    json_array_foreach(cands, i, c)
    {
        bool strict = json_is_true(json_object_get(c, "strict"));
        bool review = json_is_true(json_object_get(c, "review"));
        if (!all && !strict && !review && shown >= 3)
            continue;
        shown++;
        const char *verdict = strict   ? "STRONG MATCH (passes the strict threshold)"
                              : review ? "POSSIBLE MATCH (review band: a person should check)"
                                       : "unlikely (below the review threshold)";
        printf("  #%lld  person %lld  fused LLR %+.2f  %s%s\n",
               (long long)json_integer_value(json_object_get(c, "rank")),
               (long long)json_integer_value(json_object_get(c, "person_id")),
               json_real_value(json_object_get(c, "fused_llr")), verdict,
               json_is_true(json_object_get(c, "juvenile")) ? " [juvenile capture: less reliable]"
                                                            : "");
        print_evidence(json_object_get(c, "evidence"));
    }
    if (shown < n)
        printf("  (%zu more candidates below the review threshold; --json lists all)\n", n - shown);
    puts("How to read this: the LLR (log-likelihood ratio) says how much more likely the\n"
         "evidence is if the candidate is the same person than if not: +2.3 is 10 times,\n"
         "+6.9 is 1000 times; a negative LLR speaks against the candidate.  The fused LLR\n"
         "adds the LLRs of the fingers, irises and face.");
}

void cli_note_rebuilt(const huella_gallery_load_stats *ls, const char *dir)
{
    if (ls->persons_rebuilt > 0)
        fprintf(stderr,
                "note: %zu of %zu persons had no current gallery form and were prepared from "
                "their templates (slow); `huella db gallery-refresh --db %s` stores them\n",
                ls->persons_rebuilt, ls->persons_rebuilt + ls->persons_from_forms, dir);
    /* Only where the file would matter: a large store, mostly not from it. */
    if (ls->persons >= 100000 && ls->persons_from_snapshot < ls->persons / 2)
        fprintf(stderr,
                "note: %zu of %zu persons were read from the database (gallery snapshot: %s); "
                "`huella db gallery-snapshot --db %s` makes the next load read them in one pass\n",
                ls->persons - ls->persons_from_snapshot, ls->persons, ls->snapshot, dir);
}

/* ---- identify and verify ------------------------------------------------- */

static const char identify_help[] =
    "usage: huella identify --db DIR [--finger N=IMG ...] [--iris left|right=IMG ...]\n"
    "                       [--face IMG] [--top K] [--fpir-strict F] [--fpir-review F] [--ppi N]\n"
    "                       [--threads T] [--json]\n"
    "\n"
    "Search a capture against everyone in the store (1:N) and print a ranked list of\n"
    "candidates (top K, default 20) for a person to review.  Each candidate has the\n"
    "evidence of every finger, iris and face both sides have (the matcher's score and its\n"
    "calibrated log-likelihood ratio, LLR) and the fused LLR (their sum).  Thresholds\n"
    "follow the gallery size N: t = ln(N / FPIR), so that a person who is not\n"
    "enrolled reaches the strict threshold in at most a fraction FPIR of searches\n"
    "(--fpir-strict, default 0.001) and the review threshold in at most\n"
    "--fpir-review (default 0.01).  N = finger position 1-10 (ANSI/NIST-ITL).\n"
    "Nothing is written to the store.\n";

static const char verify_help[] =
    "usage: huella verify --db DIR --person ID [--finger N=IMG ...]\n"
    "                     [--iris left|right=IMG ...] [--face IMG] [--fpir-strict F]\n"
    "                     [--ppi N] [--json]\n"
    "\n"
    "Compare a capture with one enrolled person (1:1): for each finger and iris the\n"
    "best score over that person's samples, its calibrated LLR, the fused LLR, and\n"
    "a decision at the strict threshold for a gallery of one (ln(1 / FPIR),\n"
    "--fpir-strict default 0.001: 6.91).  Juvenile captures are flagged as less\n"
    "reliable.  Nothing is written to the store.\n";

enum {
    OPT_DB = 256,
    OPT_FINGER,
    OPT_IRIS,
    OPT_FACE,
    OPT_TOP,
    OPT_FPIR_STRICT,
    OPT_FPIR_REVIEW,
    OPT_PERSON,
    OPT_THREADS
};

#define MAX_PROBE 13

static bool parse_fpir(const char *s, double *out)
{
    return cli_parse_double(s, out) && *out < 1;
}

/* Extract the probe's templates. */
static huella_status make_probe(huella_enrol_input *in, size_t n, double ppi,
                                huella_enrol_result **res, huella_probe_set **probe,
                                huella_error *err)
{
    huella_enrol_request req = {0};
    req.inputs = in;
    req.n_inputs = n;
    req.ppi = ppi;
    huella_status st = cli_read_inputs(in, n, err);
    if (st == HUELLA_OK)
        st = huella_enrol_extract(&req, res, err);
    if (st == HUELLA_OK)
        st = huella_probe_from_enrol(*res, probe, err);
    return st;
}

static int run(int argc, char **argv, bool verify)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"finger", required_argument, NULL, OPT_FINGER},
                                         {"iris", required_argument, NULL, OPT_IRIS},
                                         {"face", required_argument, NULL, OPT_FACE},
                                         {"top", required_argument, NULL, OPT_TOP},
                                         {"fpir-strict", required_argument, NULL, OPT_FPIR_STRICT},
                                         {"fpir-review", required_argument, NULL, OPT_FPIR_REVIEW},
                                         {"person", required_argument, NULL, OPT_PERSON},
                                         {"threads", required_argument, NULL, OPT_THREADS},
                                         {"ppi", required_argument, NULL, OPT_PPI},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    const char *cmd = verify ? "verify" : "identify";
    cli_opts opt = {0};
    huella_enrol_input in[MAX_PROBE];
    size_t n = 0;
    const char *dir = NULL;
    unsigned top = 20, threads = 0;
    double fs = 0.001, fr = 0.01;
    long long person = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = CLI_CONTINUE;
        switch (c) {
        case OPT_DB:
            dir = optarg;
            break;
        case OPT_FINGER:
            r = cli_probe_option(in, &n, MAX_PROBE, HUELLA_STORE_FINGER, optarg, cmd);
            break;
        case OPT_IRIS:
            r = cli_probe_option(in, &n, MAX_PROBE, HUELLA_STORE_IRIS, optarg, cmd);
            break;
        case OPT_FACE:
            r = cli_probe_option(in, &n, MAX_PROBE, HUELLA_STORE_FACE, optarg, cmd);
            break;
        case OPT_TOP:
            if (verify || !cli_parse_uint(optarg, &top) || top == 0 || top > 1000)
                r = cli_usage_error(cmd, "--top wants 1..1000");
            break;
        case OPT_THREADS:
            if (!cli_parse_uint(optarg, &threads) || threads > 64)
                r = cli_usage_error(cmd, "--threads wants 0..64");
            break;
        case OPT_FPIR_STRICT:
            if (!parse_fpir(optarg, &fs))
                r = cli_usage_error(cmd, "--fpir-strict wants a number in (0, 1)");
            break;
        case OPT_FPIR_REVIEW:
            if (verify || !parse_fpir(optarg, &fr))
                r = cli_usage_error(cmd, "--fpir-review wants a number in (0, 1)");
            break;
        case OPT_PERSON: {
            char *end;
            person = strtoll(optarg, &end, 10);
            if (!verify || *end != '\0' || person <= 0)
                r = cli_usage_error(cmd, "--person wants a person id");
            break;
        }
        default:
            r = cli_common_option(c, cmd, verify ? verify_help : identify_help, &opt);
        }
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL)
        return cli_usage_error(cmd, "want --db DIR");
    if (n == 0)
        return cli_usage_error(cmd, "want at least one --finger, --iris or --face image");
    if (verify && person == 0)
        return cli_usage_error(cmd, "want --person ID");
    if (!verify && fr < fs)
        return cli_usage_error(cmd, "--fpir-review must be at least --fpir-strict");

    huella_error err;
    huella_enrol_result *res = NULL;
    huella_probe_set *probe = NULL;
    huella_store *s = NULL;
    huella_gallery *g = NULL;
    huella_identify_result *r = NULL;
    bool *juv = NULL;
    char *cj = NULL;
    huella_gallery_load_stats ls = {0};
    huella_status st = make_probe(in, n, opt.ppi, &res, &probe, &err);
    if (st == HUELLA_OK)
        st = huella_store_open(dir, &s, &err);
    if (st == HUELLA_OK)
        st = huella_gallery_new(&g, &err);
    if (st == HUELLA_OK && threads > 0)
        huella_gallery_set_threads(g, threads);
    if (st == HUELLA_OK && !verify) {
        st = huella_gallery_load_store(s, g, threads, &ls, &err);
        if (st == HUELLA_OK)
            cli_note_rebuilt(&ls, dir);
    } else if (st == HUELLA_OK) {
        /* the person's templates only: every sample of every encounter */
        st = huella_gallery_load_person(s, g, person, &err);
        if (st == HUELLA_E_NOTFOUND)
            huella_error_prefix(&err, "verify: ");
    }
    huella_identify_options io = {0};
    io.top_k = verify ? 1 : top;
    io.fpir_strict = fs;
    io.fpir_review = verify ? fs : fr;
    if (st == HUELLA_OK && huella_gallery_count(g) > 0)
        st = huella_gallery_identify(g, &probe->probe, &io, &r, &err);
    if (st == HUELLA_OK && r != NULL) {
        juv = calloc(r->n + 1, sizeof(bool));
        if (juv == NULL)
            st = huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
        for (size_t i = 0; st == HUELLA_OK && i < r->n; i++)
            st = huella_store_person_juvenile(s, (int64_t)r->candidates[i].person, &juv[i], &err);
        if (st == HUELLA_OK)
            st = huella_candidates_json(r, juv, &cj, &err);
    }
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        json_t *cands = json_loads(cj != NULL ? cj : "[]", 0, NULL);
        size_t np = r != NULL ? r->gallery_persons : huella_gallery_count(g);
        double ts = r != NULL ? r->threshold_strict : huella_gallery_threshold(np, fs);
        double tr = r != NULL ? r->threshold_review : huella_gallery_threshold(np, fr);
        if (verify) {
            json_t *cand = json_array_get(cands, 0);
            bool common = cand != NULL && json_array_size(json_object_get(cand, "evidence")) > 0;
            double llr = common ? json_real_value(json_object_get(cand, "fused_llr")) : 0;
            bool match = common && llr >= ts;
            if (opt.json) {
                json_t *o = json_object();
                json_object_set_new(o, "person_id", json_integer(person));
                json_object_set_new(o, "fused_llr", json_real(llr));
                json_object_set_new(o, "threshold", json_real(ts));
                json_object_set_new(o, "fpir", json_real(fs));
                json_object_set_new(o, "decision", json_string(match ? "match" : "no match"));
                json_object_set_new(o, "match", json_boolean(match));
                json_object_set_new(o, "juvenile",
                                    json_boolean(juv != NULL && r != NULL && r->n > 0 && juv[0]));
                json_object_set_new(o, "evidence",
                                    cand != NULL ? json_incref(json_object_get(cand, "evidence"))
                                                 : json_array());
                status = cli_print_json(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
            } else {
                printf("person %lld: fused LLR %+.2f against the threshold %.2f (strict, one "
                       "person): %s\n",
                       person, llr, ts,
                       !common
                           ? "NO DECISION: the capture and the person share no finger, iris or face"
                       : match ? "MATCH"
                               : "NO MATCH");
                if (cand != NULL)
                    print_evidence(json_object_get(cand, "evidence"));
                if (juv != NULL && r != NULL && r->n > 0 && juv[0])
                    puts("Note: a capture of this person was taken as a juvenile; biometrics of "
                         "children change, so this result is less reliable.");
            }
        } else if (opt.json) {
            json_t *o = json_object();
            json_object_set_new(o, "gallery_persons", json_integer((json_int_t)np));
            json_object_set_new(o, "threshold_strict", json_real(ts));
            json_object_set_new(o, "threshold_review", json_real(tr));
            json_object_set_new(o, "fpir_strict", json_real(fs));
            json_object_set_new(o, "fpir_review", json_real(fr));
            json_object_set_new(o, "probe_slots", json_integer((json_int_t)probe->n_slots));
            json_object_set_new(o, "load_seconds", json_real(ls.seconds));
            json_object_set_new(o, "persons_rebuilt", json_integer((json_int_t)ls.persons_rebuilt));
            json_object_set_new(o, "persons_from_snapshot",
                                json_integer((json_int_t)ls.persons_from_snapshot));
            json_object_set_new(o, "search_seconds", json_real(r != NULL ? r->seconds : 0));
            json_object_set_new(o, "candidates", json_incref(cands));
            status = cli_print_json(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        } else {
            cli_print_candidates(cands, np, ts, tr, false);
        }
        json_decref(cands);
    }
    free(cj);
    free(juv);
    huella_identify_result_free(r);
    huella_gallery_free(g);
    huella_store_close(s);
    huella_probe_set_free(probe);
    huella_enrol_result_free(res);
    cli_free_inputs(in, n);
    return st != HUELLA_OK ? cli_fail(st, &err) : status;
}

int cmd_identify(int argc, char **argv)
{
    return run(argc, argv, false);
}

int cmd_verify(int argc, char **argv)
{
    return run(argc, argv, true);
}
