/*
 * cmd_identify_eval.c - `huella eval identify` (open-set identification
 * on a dataset: rank-1, FNIR at FPIR, a DET curve) and `huella eval
 * calibrate` (fit the score-to-LLR calibration of an engine), both
 * dispatched from cmd_eval.c.  The work is in eval/identify.c and
 * src/gallery/calibration.c.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/eval.h"
#include "huella/gallery.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char identify_help[] =
    "huella eval identify - open-set identification accuracy on a dataset\n"
    "\n"
    "usage: huella eval identify --dataset DIR[:PPI] [--dataset DIR[:PPI] ...]\n"
    "                            [--modality finger|iris|face] [--input images|templates]\n"
    "                            [--ppi N] [--classes N] [--threads N] [--report DIR] [--json]\n"
    "\n"
    "Protocol: the first sample of each class (that gives a template) is\n"
    "enrolled as a person, in one gallery for all the datasets; every other\n"
    "sample is searched.  Each search is mated (its class is in the gallery)\n"
    "and, leaving its own class out, also gives a non-mated search: its best\n"
    "non-mate.  Scores are fused log-likelihood ratios (docs/identification.md).\n"
    "--classes N keeps the first N classes of each dataset.\n"
    "\n"
    "Output (JSON): rank1, rank5 (fractions of the mated searches), fnir_fpir100,\n"
    "fnir_fpir1000 (FNIR at FPIR 1% and 0.1%), the thresholds behind them, the\n"
    "thresholds ln(N/FPIR) the gallery sets and the rates measured at them,\n"
    "counts.  --report DIR writes the identification DET curve (FPIR on the\n"
    "false-match axis, FNIR on the other) and score histograms.\n";

static const char calibrate_help[] =
    "huella eval calibrate - fit the score-to-LLR calibration of an engine\n"
    "\n"
    "usage: huella eval calibrate finger|iris|face --dataset DIR[:PPI] [--dataset ...]\n"
    "                             [--feature score|tail] [--input images|templates]\n"
    "                             [--ppi N] [--threads N]\n"
    "\n"
    "Compares all genuine pairs and all cross-class pairs of each dataset\n"
    "(protocol all, pooled as in `huella eval`) and fits LLR = a + b * x by\n"
    "logistic regression with equal class weights (src/gallery/calibration.c);\n"
    "x is the score (--feature score) or -ln of the impostor tail at the score\n"
    "under a normal model of impostor scores (--feature tail).  The default is\n"
    "the feature the shipped calibration of the engine uses.\n"
    "Prints the parameters as JSON; the ones huella ships are in that file.\n";

#define MAX_DATASETS 64

static char *split_dataset(const char *arg, double *ppi)
{
    *ppi = 0;
    const char *colon = strrchr(arg, ':');
    size_t len = strlen(arg);
    double v;
    if (colon != NULL && colon != arg && cli_parse_double(colon + 1, &v) && v > 0) {
        *ppi = v;
        len = (size_t)(colon - arg);
    }
    return strndup(arg, len);
}

typedef struct common_args {
    const char *datasets[MAX_DATASETS];
    size_t n;
    huella_eval_input input;
    unsigned threads;
    unsigned classes;
    const char *modality;
    huella_calibration_feature feature;
    bool feature_set;
    cli_opts o;
} common_args;

static int parse(int argc, char **argv, const char *cmd, const char *help, common_args *a)
{
    static const struct option opts[] = {{"dataset", required_argument, NULL, 'd'},
                                         {"modality", required_argument, NULL, 'm'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"ppi", required_argument, NULL, OPT_PPI},
                                         {"threads", required_argument, NULL, 't'},
                                         {"classes", required_argument, NULL, 'c'},
                                         {"feature", required_argument, NULL, 'f'},
                                         {"report", required_argument, NULL, OPT_REPORT},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (a->n == MAX_DATASETS)
                return cli_usage_error(cmd, "at most %d --dataset options", MAX_DATASETS);
            a->datasets[a->n++] = optarg;
            break;
        case 'm':
            a->modality = optarg;
            break;
        case 'i':
            if (strcmp(optarg, "images") == 0)
                a->input = HUELLA_INPUT_IMAGES;
            else if (strcmp(optarg, "templates") == 0)
                a->input = HUELLA_INPUT_TEMPLATES;
            else
                return cli_usage_error(cmd, "--input is images or templates, not '%s'", optarg);
            break;
        case 't':
            if (!cli_parse_uint(optarg, &a->threads) || a->threads == 0 || a->threads > 1024)
                return cli_usage_error(cmd, "--threads wants a number from 1 to 1024");
            break;
        case 'f':
            if (strcmp(optarg, "score") == 0)
                a->feature = HUELLA_CALIBRATION_SCORE;
            else if (strcmp(optarg, "tail") == 0)
                a->feature = HUELLA_CALIBRATION_TAIL;
            else
                return cli_usage_error(cmd, "--feature is score or tail, not '%s'", optarg);
            a->feature_set = true;
            break;
        case 'c':
            if (!cli_parse_uint(optarg, &a->classes) || a->classes < 2)
                return cli_usage_error(cmd, "--classes wants a number of at least 2");
            break;
        default: {
            int r = cli_common_option(c, cmd, help, &a->o);
            if (r != CLI_CONTINUE)
                return r;
        }
        }
    }
    if (a->modality == NULL && optind < argc)
        a->modality = argv[optind++];
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (a->n == 0)
        return cli_usage_error(cmd, "--dataset DIR is required");
    if (a->modality == NULL)
        a->modality = "finger";
    if (strcmp(a->modality, "finger") != 0 && strcmp(a->modality, "iris") != 0 &&
        strcmp(a->modality, "face") != 0)
        return cli_usage_error(cmd, "the modality is finger, iris or face, not '%s'", a->modality);
    return CLI_CONTINUE;
}

static huella_gallery_modality gallery_modality(const char *name)
{
    if (strcmp(name, "face") == 0)
        return HUELLA_GALLERY_FACE;
    return strcmp(name, "iris") == 0 ? HUELLA_GALLERY_IRIS : HUELLA_GALLERY_FINGER;
}

/* Scan the datasets with the extensions of modality m. */
static huella_status scan_all(const common_args *a, huella_dataset **ds, double *ppi,
                              huella_error *err)
{
    const huella_modality *m = huella_eval_modality_find(a->modality);
    if (m == NULL)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "no %s engine in this build",
                                a->modality);
    const char *const *ext =
        a->input == HUELLA_INPUT_TEMPLATES ? m->template_extensions : m->image_extensions;
    huella_status st = HUELLA_OK;
    for (size_t k = 0; k < a->n && st == HUELLA_OK; k++) {
        char *dir = split_dataset(a->datasets[k], &ppi[k]);
        if (dir == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        else
            st = huella_dataset_scan(dir, ext, &ds[k], err);
        free(dir);
    }
    return st;
}

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *identify_json(const huella_identify_eval *r, const common_args *a)
{
    json_t *o = json_object();
    json_t *d = json_array();
    for (size_t k = 0; k < a->n; k++)
        json_array_append_new(d, json_string(a->datasets[k]));
    json_object_set_new(o, "modality", json_string(a->modality));
    json_object_set_new(o, "datasets", d);
    json_object_set_new(o, "protocol",
                        json_string("first sample enrolled, others searched; "
                                    "non-mated = leave-one-class-out"));
    json_object_set_new(o, "samples", json_integer((json_int_t)r->samples));
    json_object_set_new(o, "classes", json_integer((json_int_t)r->classes));
    json_object_set_new(o, "fte", json_integer((json_int_t)r->fte));
    json_object_set_new(o, "enrolled", json_integer((json_int_t)r->enrolled));
    json_object_set_new(o, "mated_searches", json_integer((json_int_t)r->mated));
    json_object_set_new(o, "nonmated_searches", json_integer((json_int_t)r->nonmated));
    json_object_set_new(o, "rank1_hits", json_integer((json_int_t)r->rank1_hits));
    json_object_set_new(o, "rank1", num(r->rank1));
    json_object_set_new(o, "rank5", num(r->rank5));
    json_object_set_new(o, "fnir_fpir100", num(r->fnir_fpir100));
    json_object_set_new(o, "fnir_fpir1000", num(r->fnir_fpir1000));
    json_t *t = json_object();
    json_object_set_new(t, "fpir100", num(r->threshold_fpir100));
    json_object_set_new(t, "fpir1000", num(r->threshold_fpir1000));
    json_object_set_new(o, "thresholds", t);
    json_t *an = json_object();
    json_object_set_new(an, "threshold_fpir100", num(r->analytic_threshold100));
    json_object_set_new(an, "fpir_at_threshold100", num(r->analytic_fpir100));
    json_object_set_new(an, "fnir_at_threshold100", num(r->analytic_fnir100));
    json_object_set_new(an, "threshold_fpir1000", num(r->analytic_threshold1000));
    json_object_set_new(an, "fpir_at_threshold1000", num(r->analytic_fpir1000));
    json_object_set_new(an, "fnir_at_threshold1000", num(r->analytic_fnir1000));
    json_object_set_new(o, "gallery_thresholds", an);
    json_object_set_new(o, "score", json_string("fused log-likelihood ratio (nats)"));
    json_object_set_new(o, "extract_ms_median", num(r->extract_ms_median));
    json_object_set_new(o, "search_ms_median", num(r->search_ms_median));
    json_object_set_new(o, "wall_seconds", num(r->wall_seconds));
    return o;
}

static huella_status write_report(const huella_identify_eval *r, const char *dir, huella_error *err)
{
    huella_eval_result *er;
    huella_status st =
        huella_eval_result_from_scores("identify", r->mated_llr, r->mated, r->nonmated_llr,
                                       r->nonmated, HUELLA_SCORE_SIMILARITY, &er, err);
    if (st != HUELLA_OK)
        return st;
    free(er->score_meaning);
    er->score_meaning = strdup("fused LLR of the mate (genuine: mated searches) and of the "
                               "best non-mate (impostor: non-mated searches); FMR reads as "
                               "FPIR and FNMR as FNIR");
    st = huella_eval_report_write(er, dir, err);
    huella_eval_result_free(er);
    return st;
}

int cmd_eval_identify(int argc, char **argv)
{
    common_args a = {0};
    int rc = parse(argc, argv, "eval identify", identify_help, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    huella_dataset *ds[MAX_DATASETS] = {NULL};
    double ppi[MAX_DATASETS];
    huella_error err;
    huella_status st = scan_all(&a, ds, ppi, &err);
    huella_identify_eval *r = NULL;
    if (st == HUELLA_OK) {
        huella_identify_eval_options o = {.sample = {.input = a.input, .ppi = a.o.ppi},
                                          .threads = a.threads,
                                          .max_classes = a.classes};
        st = huella_identify_eval_run(gallery_modality(a.modality),
                                      (const huella_dataset *const *)ds, ppi, a.n, &o, &r, &err);
    }
    for (size_t k = 0; k < a.n; k++)
        huella_dataset_free(ds[k]);
    if (st == HUELLA_OK && a.o.report != NULL)
        st = write_report(r, a.o.report, &err);
    if (st != HUELLA_OK) {
        huella_identify_eval_free(r);
        return cli_fail(st, &err);
    }
    json_t *o = identify_json(r, &a);
    huella_identify_eval_free(r);
    return cli_print_json(o, JSON_COMPACT);
}

int cmd_eval_calibrate(int argc, char **argv)
{
    common_args a = {0};
    int rc = parse(argc, argv, "eval calibrate", calibrate_help, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    const huella_modality *m = huella_eval_modality_find(a.modality);
    huella_dataset *ds[MAX_DATASETS] = {NULL};
    double ppi[MAX_DATASETS];
    huella_error err;
    huella_status st = scan_all(&a, ds, ppi, &err);
    if (!a.feature_set) /* the default of each engine, as shipped */
        a.feature = huella_calibration_default(gallery_modality(a.modality))->feature;
    huella_eval_result *r = NULL;
    if (st == HUELLA_OK) {
        huella_eval_options o = {.protocol = HUELLA_PROTOCOL_ALL,
                                 .sample = {.input = a.input, .ppi = a.o.ppi},
                                 .threads = a.threads,
                                 .progress = isatty(2)};
        st = huella_eval_run_pooled(m, (const huella_dataset *const *)ds, ppi, a.n, &o, &r, &err);
    }
    for (size_t k = 0; k < a.n; k++)
        huella_dataset_free(ds[k]);
    huella_calibration c;
    huella_gallery_modality gm = gallery_modality(a.modality);
    if (st == HUELLA_OK)
        st = huella_calibration_fit(r->genuine_scores, r->n_genuine, r->impostor_scores,
                                    r->n_impostor, gm, m->score_kind, a.feature, &c, &err);
    if (st != HUELLA_OK) {
        huella_eval_result_free(r);
        return cli_fail(st, &err);
    }
    json_t *o = json_object();
    json_object_set_new(o, "modality", json_string(a.modality));
    json_object_set_new(o, "model", json_string("llr = clamp(a + b * x(score), llr_min, llr_max)"));
    json_object_set_new(o, "feature",
                        json_string(c.feature == HUELLA_CALIBRATION_TAIL
                                        ? "tail: x = -ln P(impostor as good), "
                                          "impostors normal(mu, sigma)"
                                        : "score: x = score"));
    json_object_set_new(o, "mu", json_real(c.mu));
    json_object_set_new(o, "sigma", json_real(c.sigma));
    json_object_set_new(o, "a", json_real(c.a));
    json_object_set_new(o, "b", json_real(c.b));
    json_object_set_new(o, "llr_min", json_real(c.llr_min));
    json_object_set_new(o, "llr_max", json_real(c.llr_max));
    json_object_set_new(o, "genuine", json_integer((json_int_t)c.n_genuine));
    json_object_set_new(o, "impostor", json_integer((json_int_t)c.n_impostor));
    json_object_set_new(o, "fte", json_integer((json_int_t)r->fte));
    /* the LLR at a few scores, for the documentation */
    json_t *at = json_object();
    for (int k = 0; k <= 20; k++) {
        double sc = gm == HUELLA_GALLERY_IRIS   ? 0.025 * k
                    : gm == HUELLA_GALLERY_FACE ? 0.075 * k
                                                : 5.0 * k;
        char key[32];
        snprintf(key, sizeof key, "%g", sc);
        json_object_set_new(at, key, json_real(huella_calibration_llr(&c, sc)));
    }
    json_object_set_new(o, "llr_at", at);
    if (c.feature == HUELLA_CALIBRATION_SCORE)
        json_object_set_new(o, "score_llr0", json_real(-c.a / c.b));
    huella_eval_result_free(r);
    return cli_print_json(o, JSON_COMPACT);
}
