/*
 * cmd_eval.c - `huella eval`: accuracy of an engine on a dataset, or of a
 * list of scores, as one JSON object on stdout (ISO/IEC 19795-1 rates).
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/eval.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char eval_help[] =
    "huella eval - measure accuracy (ISO/IEC 19795-1)\n"
    "\n"
    "usage: huella eval MODALITY --dataset DIR[:PPI] [--dataset DIR[:PPI] ...]\n"
    "                   [--protocol fvc|all] [--input images|templates] [--ppi N]\n"
    "                   [--threads N] [--report OUTDIR] [--pairs FILE] [--groups FILE]\n"
    "       huella eval scores FILE [--distance] [--report OUTDIR]\n"
    "       huella eval identify --dataset DIR [...]   (1:N; see its --help)\n"
    "       huella eval calibrate MODALITY --dataset DIR [...]   (score -> LLR)\n"
    "\n"
    "Dataset layout: files named FFF_I.ext directly in DIR are FVC style\n"
    "(class FFF); otherwise a sample's class is the directory that holds it,\n"
    "relative to DIR.  Genuine comparisons: all pairs within a class.\n"
    "Impostor comparisons: --protocol fvc (default) compares the first sample\n"
    "of each class with the first of every other; --protocol all compares\n"
    "every cross-class pair.  A sample whose template cannot be made counts\n"
    "toward failure to enrol (fte) and its comparisons count as non-matches.\n"
    "\n"
    "Output: one JSON object with modality, dataset, protocol, samples,\n"
    "classes, fte, genuine, impostor, eer, fmr100, fmr1000, fmr10000,\n"
    "zero_fmr (FNMR at FMR 1%, 0.1%, 0.01%, 0, as fractions),\n"
    "extract_ms_median, compare_us_median and the thresholds behind them.\n"
    "--report OUTDIR also writes a DET curve, score histograms and an HTML page.\n"
    "\n"
    "Several --dataset options evaluate the datasets as one test set: each is\n"
    "compared only within itself, their genuine and impostor scores are\n"
    "pooled for the metrics, and \"datasets\" lists each one's own metrics.\n"
    "DIR:PPI gives that directory's image resolution (overriding --ppi).\n"
    "\n"
    "`huella eval scores FILE` reads 'g SCORE' (genuine) and 'i SCORE'\n"
    "(impostor) lines ('-' for standard input) and computes the same metrics;\n"
    "--distance when lower scores mean more alike.\n"
    "\n"
    "--pairs FILE compares the pairs listed in FILE instead of the protocol's:\n"
    "imageA<TAB>imageB<TAB>same|different<TAB>fold, paths relative to the\n"
    "dataset; adds accuracy and accuracy_std (each fold's threshold chosen on\n"
    "the other folds), folds and tar_far1000 (TAR at FAR 0.1 %).\n"
    "--groups FILE (CSV sample,group; sample a file relative to the dataset or\n"
    "a class) adds \"groups\": FNMR and FMR per group and per pair of groups at\n"
    "the threshold giving FMR 1 % overall, with their ratios to the overall\n"
    "rates.  Groups are supplied by the evaluator; huella never infers them.\n";

static void print_modalities(void)
{
    const huella_modality *const *all = huella_eval_modalities();
    fputs("modalities in this build:", stderr);
    if (all[0] == NULL)
        fputs(" none yet (use 'huella eval scores')", stderr);
    for (size_t i = 0; all[i] != NULL; i++)
        fprintf(stderr, " %s", all[i]->name);
    fputs("\n", stderr);
}

static int finish(huella_eval_result *r, const char *report)
{
    huella_error err;
    if (report != NULL) {
        huella_status st = huella_eval_report_write(r, report, &err);
        /* Pooled: each dataset's own report too, in OUTDIR/K-NAME (K from
         * 1 in the order given, NAME the directory's last component). */
        for (size_t k = 0; k < r->n_datasets && st == HUELLA_OK; k++) {
            const char *name = strrchr(r->datasets[k]->dataset, '/');
            name = name != NULL && name[1] != '\0' ? name + 1 : r->datasets[k]->dataset;
            char *sub = NULL;
            if (asprintf(&sub, "%s/%zu-%s", report, k + 1, name) < 0)
                st = huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
            else
                st = huella_eval_report_write(r->datasets[k], sub, &err);
            free(sub);
        }
        if (st != HUELLA_OK) {
            huella_eval_result_free(r);
            return cli_fail(st, &err);
        }
    }
    char *json = huella_eval_result_json(r);
    huella_eval_result_free(r);
    if (json == NULL) {
        huella_error_set(&err, HUELLA_E_NOMEM, "out of memory writing the result");
        return cli_fail(HUELLA_E_NOMEM, &err);
    }
    puts(json);
    free(json);
    return EXIT_OK;
}

static int eval_scores(int argc, char **argv)
{
    static const struct option opts[] = {{"distance", no_argument, NULL, 'd'},
                                         {"report", required_argument, NULL, OPT_REPORT},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    huella_score_kind kind = HUELLA_SCORE_SIMILARITY;
    cli_opts opt = {0}; /* output is always JSON: --json is accepted and changes nothing */
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd') {
            kind = HUELLA_SCORE_DISTANCE;
            continue;
        }
        int r = cli_common_option(c, "eval", eval_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind + 1 != argc)
        return cli_usage_error("eval", "want exactly one scores file");
    const char *path = argv[optind];
    huella_error err;
    uint8_t *text = NULL;
    size_t len = 0;
    huella_status st;
    if (strcmp(path, "-") == 0) {
        huella_buf b;
        huella_buf_init(&b);
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
            huella_buf_append(&b, chunk, n);
        if (!b.ok) {
            huella_buf_free(&b);
            huella_error_set(&err, HUELLA_E_NOMEM, "standard input: out of memory");
            return cli_fail(HUELLA_E_NOMEM, &err);
        }
        text = b.data;
        len = b.len;
        path = "standard input";
    } else {
        st = huella_file_read(path, 0, &text, &len, &err);
        if (st != HUELLA_OK)
            return cli_fail(st, &err);
    }
    double *gen = NULL, *imp = NULL;
    size_t ng = 0, ni = 0;
    st = huella_eval_scores_parse((const char *)text, len, &gen, &ng, &imp, &ni, &err);
    free(text);
    huella_eval_result *r = NULL;
    if (st == HUELLA_OK)
        st = huella_eval_result_from_scores("scores", gen, ng, imp, ni, kind, &r, &err);
    free(gen);
    free(imp);
    if (st == HUELLA_OK) {
        r->dataset = strdup(path);
        if (r->dataset == NULL)
            st = huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
    }
    if (st != HUELLA_OK) {
        huella_eval_result_free(r);
        huella_error_prefix(&err, "%s: ", path);
        return cli_fail(st, &err);
    }
    return finish(r, opt.report);
}

#define MAX_DATASETS 64

/* DIR[:PPI]: the resolution after the last colon when it is a positive
 * number, else the whole argument is the directory (0 = no resolution).
 * Returns the directory, a copy the caller frees, or NULL when out of memory. */
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

static int eval_modality(int argc, char **argv)
{
    const huella_modality *m = huella_eval_modality_find(argv[0]);
    if (m == NULL) {
        int s = cli_usage_error("eval", "unknown modality '%s'", argv[0]);
        print_modalities();
        return s;
    }
    static const struct option opts[] = {{"dataset", required_argument, NULL, 'd'},
                                         {"protocol", required_argument, NULL, 'P'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"ppi", required_argument, NULL, OPT_PPI},
                                         {"threads", required_argument, NULL, 't'},
                                         {"report", required_argument, NULL, OPT_REPORT},
                                         {"pairs", required_argument, NULL, 'A'},
                                         {"groups", required_argument, NULL, 'G'},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    huella_eval_options opt = {.protocol = HUELLA_PROTOCOL_FVC};
    const char *pairs_file = NULL, *groups_file = NULL;
    cli_opts common = {0}; /* output is always JSON: --json is accepted and changes nothing */
    const char *datasets[MAX_DATASETS];
    size_t n_datasets = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (n_datasets == MAX_DATASETS)
                return cli_usage_error("eval", "at most %d --dataset options", MAX_DATASETS);
            datasets[n_datasets++] = optarg;
            break;
        case 'P':
            if (!huella_protocol_parse(optarg, &opt.protocol))
                return cli_usage_error("eval", "--protocol is fvc or all, not '%s'", optarg);
            break;
        case 'i':
            if (strcmp(optarg, "images") == 0)
                opt.sample.input = HUELLA_INPUT_IMAGES;
            else if (strcmp(optarg, "templates") == 0)
                opt.sample.input = HUELLA_INPUT_TEMPLATES;
            else
                return cli_usage_error("eval", "--input is images or templates, not '%s'", optarg);
            break;
        case 't':
            if (!cli_parse_uint(optarg, &opt.threads) || opt.threads == 0 || opt.threads > 1024)
                return cli_usage_error("eval", "--threads wants a number from 1 to 1024");
            break;
        case 'A':
            pairs_file = optarg;
            break;
        case 'G':
            groups_file = optarg;
            break;
        default: {
            int r = cli_common_option(c, "eval", eval_help, &common);
            if (r != CLI_CONTINUE)
                return r;
        }
        }
    }
    opt.sample.ppi = common.ppi;
    if (optind != argc)
        return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (n_datasets == 0)
        return cli_usage_error("eval", "--dataset DIR is required");
    if ((pairs_file != NULL || groups_file != NULL) && n_datasets > 1)
        return cli_usage_error("eval", "--pairs and --groups take one --dataset");
    const char *const *ext =
        opt.sample.input == HUELLA_INPUT_TEMPLATES ? m->template_extensions : m->image_extensions;
    huella_error err;
    if (ext == NULL) {
        huella_error_set(&err, HUELLA_E_UNSUPPORTED, "the %s engine does not read %s", m->name,
                         opt.sample.input == HUELLA_INPUT_TEMPLATES ? "templates" : "images");
        return cli_fail(HUELLA_E_UNSUPPORTED, &err);
    }
    opt.progress = isatty(2);
    huella_dataset *ds[MAX_DATASETS] = {NULL};
    double ppi[MAX_DATASETS];
    huella_status st = HUELLA_OK;
    for (size_t k = 0; k < n_datasets && st == HUELLA_OK; k++) {
        char *dir = split_dataset(datasets[k], &ppi[k]);
        if (dir == NULL)
            st = huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
        else
            st = huella_dataset_scan(dir, ext, &ds[k], &err);
        free(dir);
    }
    huella_pair_list *pairs = NULL;
    huella_group_map *groups = NULL;
    if (st == HUELLA_OK && pairs_file != NULL)
        st = huella_pair_list_read(pairs_file, ds[0], &pairs, &err);
    if (st == HUELLA_OK && groups_file != NULL)
        st = huella_group_map_read(groups_file, ds[0], &groups, &err);
    huella_eval_result *r = NULL;
    if (st == HUELLA_OK && n_datasets == 1) {
        /* One dataset: the plain result, without a "datasets" array. */
        if (ppi[0] > 0)
            opt.sample.ppi = ppi[0];
        st = huella_eval_run_with(m, ds[0], &opt, pairs, groups, &r, &err);
    } else if (st == HUELLA_OK) {
        st = huella_eval_run_pooled(m, (const huella_dataset *const *)ds, ppi, n_datasets, &opt, &r,
                                    &err);
    }
    for (size_t k = 0; k < n_datasets; k++)
        huella_dataset_free(ds[k]);
    huella_pair_list_free(pairs);
    huella_group_map_free(groups);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    return finish(r, common.report);
}

int cmd_eval(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(eval_help, stdout);
        print_modalities();
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "scores") == 0)
        return eval_scores(argc - 1, argv + 1);
    if (strcmp(argv[1], "names") == 0) /* name matching: src/cli/cmd_names.c */
        return cmd_names_eval(argc - 1, argv + 1);
    if (strcmp(argv[1], "identify") == 0) /* 1:N: src/cli/cmd_identify_eval.c */
        return cmd_eval_identify(argc - 1, argv + 1);
    if (strcmp(argv[1], "calibrate") == 0) /* score -> LLR: src/cli/cmd_identify_eval.c */
        return cmd_eval_calibrate(argc - 1, argv + 1);
    return eval_modality(argc - 1, argv + 1);
}
