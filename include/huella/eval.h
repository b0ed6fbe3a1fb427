/*
 * huella/eval.h - the evaluation harness (ISO/IEC 19795-1 style).
 *
 * The yardstick for every engine: a dataset of samples grouped in classes,
 * a protocol that says which pairs to compare, a modality that makes
 * templates and compares them, and the error rates that result.
 *
 * Scores.  Internally every metric works on scores where a comparison is
 * declared a match when score >= threshold.  Modalities that produce a
 * distance (lower = more alike) are negated on the way in and thresholds
 * are negated back on the way out, so that reports always speak the
 * modality's own units.  A comparison that could not be made (a sample
 * failed to enrol) is stored as NaN and counts as a non-match at every
 * threshold: the generalised rates of ISO/IEC 19795-1.
 */
#ifndef HUELLA_EVAL_H
#define HUELLA_EVAL_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum huella_score_kind {
    HUELLA_SCORE_SIMILARITY = 0, /* higher means more alike */
    HUELLA_SCORE_DISTANCE = 1    /* lower means more alike */
} huella_score_kind;

/* ---- Metrics ------------------------------------------------------------ */

typedef struct huella_eval_metrics {
    size_t genuine;         /* genuine comparisons, failures included */
    size_t impostor;        /* impostor comparisons, failures included */
    size_t genuine_failed;  /* genuine comparisons without a score */
    size_t impostor_failed; /* impostor comparisons without a score */
    double eer;             /* (eer_low + eer_high) / 2, FVC2000 definition */
    double eer_low;
    double eer_high;
    double eer_threshold; /* in the modality's units */
    /* FNMR at the lowest threshold whose FMR is at most 1 %, 0.1 %,
     * 0.01 %, 0 %.  Fractions, not percents. */
    double fmr100;
    double fmr1000;
    double fmr10000;
    double zero_fmr;
    /* The thresholds behind those figures, in the modality's units. */
    double threshold_fmr100;
    double threshold_fmr1000;
    double threshold_fmr10000;
    double threshold_zero_fmr;
} huella_eval_metrics;

/*
 * Compute the metrics from genuine and impostor scores (NaN = no score).
 * Both sets must be non-empty.  Runs in O(n log n); the inputs are not
 * modified.
 */
HUELLA_API huella_status huella_eval_metrics_compute(const double *genuine, size_t n_genuine,
                                                     const double *impostor, size_t n_impostor,
                                                     huella_score_kind kind,
                                                     huella_eval_metrics *out, huella_error *err);

/* FMR and FNMR at one threshold (in the modality's units). */
HUELLA_API void huella_eval_rates_at(const double *genuine, size_t n_genuine,
                                     const double *impostor, size_t n_impostor,
                                     huella_score_kind kind, double threshold, double *fmr,
                                     double *fnmr);

/*
 * Parse a scores file: one comparison per line, "LABEL SCORE" where LABEL
 * is g (genuine) or i (impostor) and SCORE a finite number; blank lines
 * and lines starting with '#' are ignored.  Errors name the line.
 * The caller frees *genuine and *impostor with free().
 */
HUELLA_API huella_status huella_eval_scores_parse(const char *text, size_t len, double **genuine,
                                                  size_t *n_genuine, double **impostor,
                                                  size_t *n_impostor, huella_error *err);

/* ---- Datasets ----------------------------------------------------------- */

typedef struct huella_sample {
    char *path; /* full path to the file */
    char *name; /* path relative to the dataset directory */
    size_t class_index;
} huella_sample;

typedef struct huella_dataset {
    char *root;
    huella_sample *samples; /* sorted by class, then by natural order of name */
    size_t n_samples;
    char **classes; /* class labels, sorted */
    size_t n_classes;
    bool fvc_layout; /* FFF_I.ext files directly in the directory */
} huella_dataset;

/*
 * Scan a dataset directory for files whose extension (case-insensitive,
 * without the dot) is in the NULL-terminated list.  Files named FFF_I.ext
 * directly in DIR make an FVC-style dataset (class FFF); otherwise a
 * sample's class is the directory that holds it, relative to DIR.
 * Hidden files and directories are skipped; symbolic links are followed
 * only to files.
 */
HUELLA_API huella_status huella_dataset_scan(const char *dir, const char *const *extensions,
                                             huella_dataset **out, huella_error *err);
HUELLA_API void huella_dataset_free(huella_dataset *ds);

/* ---- Protocols ---------------------------------------------------------- */

typedef enum huella_protocol {
    HUELLA_PROTOCOL_FVC = 0, /* impostors: first sample of each class vs first of every other */
    HUELLA_PROTOCOL_ALL = 1  /* impostors: every cross-class pair */
} huella_protocol;

typedef struct huella_pair {
    uint32_t a;
    uint32_t b;
} huella_pair;

/*
 * The comparisons a protocol asks for.  Genuine: all unordered pairs
 * within a class.  Pairs are indexes into ds->samples with a < b.
 * The caller frees both arrays with free().
 */
HUELLA_API huella_status huella_protocol_pairs(const huella_dataset *ds, huella_protocol protocol,
                                               huella_pair **genuine, size_t *n_genuine,
                                               huella_pair **impostor, size_t *n_impostor,
                                               huella_error *err);

HUELLA_API const char *huella_protocol_name(huella_protocol protocol);
HUELLA_API bool huella_protocol_parse(const char *name, huella_protocol *out);

/* ---- Modalities --------------------------------------------------------- */

typedef enum huella_eval_input {
    HUELLA_INPUT_IMAGES = 0,
    HUELLA_INPUT_TEMPLATES = 1
} huella_eval_input;

typedef struct huella_sample_options {
    huella_eval_input input;
    double ppi; /* resolution of images that declare none; 0 = modality default */
} huella_sample_options;

/*
 * How an engine plugs into the harness.  make_template and compare are
 * called from several threads at once and must be thread-safe; templates
 * are opaque to the harness.  make_template returns HUELLA_E_INPUT (or
 * another error) when no template can be made: that sample counts toward
 * failure to enrol.
 */
typedef struct huella_modality {
    const char *name;
    huella_score_kind score_kind;
    const char *score_meaning; /* one sentence for reports */
    const char *const *image_extensions;
    const char *const *template_extensions;
    huella_status (*make_template)(const struct huella_modality *m, const char *path,
                                   const huella_sample_options *opt, void **tmpl,
                                   huella_error *err);
    huella_status (*compare)(const struct huella_modality *m, const void *a, const void *b,
                             double *score, huella_error *err);
    void (*free_template)(void *tmpl);
    void *context;
} huella_modality;

/* The modalities this build knows (NULL-terminated), and one by name
 * (NULL when unknown).  Engines add themselves in eval/modalities.c. */
HUELLA_API const huella_modality *const *huella_eval_modalities(void);
HUELLA_API const huella_modality *huella_eval_modality_find(const char *name);

/* ---- Pair lists and demographic groups ----------------------------------- */

/*
 * A pair protocol read from a file (`huella eval --pairs FILE`): one pair
 * a line, `imageA<TAB>imageB<TAB>same|different<TAB>fold`, image paths
 * relative to the dataset directory (as huella_sample.name), fold a
 * non-negative integer; blank lines and '#' lines are ignored.  Errors
 * name the line.  Pairs are indexes into ds->samples.
 */
typedef struct huella_pair_list {
    huella_pair *genuine;
    int *genuine_fold;
    size_t n_genuine;
    huella_pair *impostor;
    int *impostor_fold;
    size_t n_impostor;
} huella_pair_list;

HUELLA_API huella_status huella_pair_list_read(const char *path, const huella_dataset *ds,
                                               huella_pair_list **out, huella_error *err);
HUELLA_API void huella_pair_list_free(huella_pair_list *p);

/*
 * Group labels supplied by whoever runs the evaluation (`--groups FILE`):
 * a CSV `sample,group` (an optional header line starting "sample,"), where
 * sample is a sample's name relative to the dataset or a class label (the
 * label then applies to every sample of the class).  huella never infers
 * a group from a biometric sample.  Samples without a label are left out
 * of the per-group figures.
 */
typedef struct huella_group_map {
    size_t *sample_group; /* per sample: index into names, or SIZE_MAX */
    char **names;         /* group labels, sorted */
    size_t n_groups;
    size_t n_samples;
} huella_group_map;

HUELLA_API huella_status huella_group_map_read(const char *path, const huella_dataset *ds,
                                               huella_group_map **out, huella_error *err);
HUELLA_API void huella_group_map_free(huella_group_map *g);

/* One row of the demographic differential report, at the global threshold:
 * group a alone (b == a: genuine and impostor comparisons within the
 * group) or a pair of groups (b != a: impostor comparisons across them). */
typedef struct huella_group_rates {
    size_t a, b;
    size_t genuine, impostor;
    double fnmr, fmr;             /* NaN when there are no comparisons */
    double fnmr_ratio, fmr_ratio; /* to the overall rate; NaN when that is 0 */
} huella_group_rates;

/* ---- Running an evaluation ---------------------------------------------- */

typedef struct huella_eval_options {
    huella_protocol protocol;
    huella_sample_options sample;
    unsigned threads; /* 0 = one per core */
    bool progress;    /* show progress on stderr */
} huella_eval_options;

typedef struct huella_eval_result {
    bool from_scores; /* built from a scores file: no dataset, no timing */
    char *modality;
    char *dataset;
    huella_protocol protocol;
    huella_score_kind score_kind;
    char *score_meaning;
    size_t samples;
    size_t classes;
    size_t fte;             /* samples whose template could not be made */
    char **fte_names;       /* their names, and why, "name: reason" */
    double *genuine_scores; /* NaN where a sample failed to enrol */
    size_t n_genuine;
    double *impostor_scores;
    size_t n_impostor;
    huella_eval_metrics metrics;
    double extract_ms_median;
    double compare_us_median;
    double wall_seconds;
    unsigned threads;
    /* A pooled result (huella_eval_run_pooled): each dataset's own result,
     * in the order given; 0 and NULL otherwise. */
    size_t n_datasets;
    struct huella_eval_result **datasets;
    /* With a pair list: the accuracy per fold, each fold's threshold chosen
     * on the other folds (mean and sample standard deviation), and the
     * true accept rate at FAR 0.1 % over all pairs. */
    bool has_folds;
    size_t folds;
    double accuracy;
    double accuracy_std;
    double tar_far1000;
    /* With groups: rates per group and per pair of groups at the global
     * threshold (the one giving FMR 1 % over all impostor comparisons). */
    char **group_names;
    size_t n_groups;
    huella_group_rates *group_rates;
    size_t n_group_rates;
    double group_threshold;
    double group_fnmr, group_fmr; /* overall, at that threshold */
} huella_eval_result;

HUELLA_API huella_status huella_eval_run(const huella_modality *m, const huella_dataset *ds,
                                         const huella_eval_options *opt, huella_eval_result **out,
                                         huella_error *err);

/*
 * huella_eval_run with a pair list (NULL: the protocol's pairs; otherwise
 * the result adds the fold accuracy) and group labels (NULL: none;
 * otherwise the result adds the demographic differential report).
 */
HUELLA_API huella_status huella_eval_run_with(const huella_modality *m, const huella_dataset *ds,
                                              const huella_eval_options *opt,
                                              const huella_pair_list *pairs,
                                              const huella_group_map *groups,
                                              huella_eval_result **out, huella_error *err);

/*
 * Evaluate several datasets as one test set: each dataset is run as by
 * huella_eval_run (comparisons only within a dataset, never across two:
 * different sensors, different fingers), and their genuine and impostor
 * scores are pooled into one set of metrics.  ppi[k], when ppi is not NULL
 * and ppi[k] > 0, replaces opt->sample.ppi for dataset k.  The result
 * holds the pooled metrics and counts (dataset is the roots joined by
 * ", "; timing medians are over every operation of every dataset) and, in
 * datasets, each dataset's own result.  n_ds must be at least 1.
 */
HUELLA_API huella_status huella_eval_run_pooled(const huella_modality *m,
                                                const huella_dataset *const *ds, const double *ppi,
                                                size_t n_ds, const huella_eval_options *opt,
                                                huella_eval_result **out, huella_error *err);

/*
 * Build a result from bare scores (the `huella eval scores` path): no
 * dataset, no timing.  Takes copies of the arrays.
 */
HUELLA_API huella_status huella_eval_result_from_scores(const char *name, const double *genuine,
                                                        size_t n_genuine, const double *impostor,
                                                        size_t n_impostor, huella_score_kind kind,
                                                        huella_eval_result **out,
                                                        huella_error *err);

HUELLA_API void huella_eval_result_free(huella_eval_result *r);

/* The result as one JSON object (the contract of `huella eval`); the
 * caller frees the string with free().  A pooled result adds "datasets",
 * an array of each dataset's own object (the same keys). */
HUELLA_API char *huella_eval_result_json(const huella_eval_result *r);

/*
 * Write a report into outdir (created if missing): det.svg, det.png,
 * scores.svg, scores.png (genuine and impostor histograms), result.json
 * and index.html that ties them together.
 */
HUELLA_API huella_status huella_eval_report_write(const huella_eval_result *r, const char *outdir,
                                                  huella_error *err);

/* Inverse of the standard normal CDF (probit), for DET axes.
 * p must lie in (0, 1). */
HUELLA_API double huella_probit(double p);

#ifdef __cplusplus
}
#endif

#endif
