/*
 * huella/gallery.h - in-memory galleries, calibrated score fusion and
 * multimodal 1:N identification.
 *
 * A gallery holds the enrolled templates of persons, keyed by a uint64
 * person id, in thirteen slots: the ten finger positions of ANSI/NIST-ITL
 * (1 right thumb .. 10 left little), the two irises (right, left) and the
 * face (slot 12, searched by the packed face 1:N loop of huella/face.h,
 * threads over shards).  A
 * person may have several templates in a slot (several encounters); the
 * best score among them is that person's score for the slot.
 *
 * Identification (huella_gallery_identify): a probe is any subset of the
 * thirteen slots.  Each slot of the probe is searched; each comparison
 * score is turned into a calibrated log-likelihood ratio (natural log,
 * "nats") LLR = ln p(score | same person) / p(score | different persons)
 * by a monotone model fitted on development data
 * (huella_calibration_llr); the LLRs of one candidate are summed across
 * slots (the fused score: independent evidence multiplies likelihood
 * ratios), candidates are ranked by it and the best top_k returned with
 * the evidence of every slot.  A slot the probe or the candidate lacks
 * contributes nothing (LLR 0).
 *
 * Open-set thresholds (huella_gallery_threshold): for calibrated
 * likelihood ratios the expected LR over impostors is 1, so by Markov's
 * inequality a non-mate reaches a fused LLR of t with probability at most
 * e^-t, whatever slots were fused.  A search against N persons then gives
 * a false positive (some non-mate at or above t) with probability at most
 * N e^-t, and t = ln(N / FPIR) meets a target false positive
 * identification rate for the current gallery size.  docs/identification.md
 * has the derivation, the measured rates and the cascade used for
 * many-finger probes.
 *
 * Thread safety: searches take a read lock and run concurrently; adding
 * and removing take the write lock.  A gallery must not be freed while
 * it is in use.
 */
#ifndef HUELLA_GALLERY_H
#define HUELLA_GALLERY_H

#include "huella/base.h"
#include "huella/eval.h"
#include "huella/face.h"
#include "huella/finger.h"
#include "huella/iris.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Slots: finger position p (1..10) is slot p - 1; the right iris is slot
 * 10, the left iris slot 11. */
#define HUELLA_GALLERY_FINGERS    10
#define HUELLA_GALLERY_IRISES     2
#define HUELLA_GALLERY_SLOTS      13
#define HUELLA_GALLERY_SLOT_RIGHT 10 /* iris, HUELLA_IRIS_EYE_RIGHT */
#define HUELLA_GALLERY_SLOT_LEFT  11 /* iris, HUELLA_IRIS_EYE_LEFT */
#define HUELLA_GALLERY_SLOT_FACE  12 /* face (huella/face.h templates) */

typedef enum huella_gallery_modality {
    HUELLA_GALLERY_FINGER = 0,
    HUELLA_GALLERY_IRIS = 1,
    HUELLA_GALLERY_FACE = 2
} huella_gallery_modality;

#define HUELLA_GALLERY_MODALITIES 3

/* ---- Calibration: score -> log-likelihood ratio ------------------------ */

/*
 * The feature a calibration is linear in.  SCORE: the score itself
 * (Brümmer's "linear calibration").  TAIL: x = -ln P(an impostor scores
 * at least as well as s) under a normal model of the impostor scores
 * (mean mu, standard deviation sigma, fitted by moments), i.e. the
 * impostor tail in nats; for iris distances this is Daugman's model of
 * impostor Hamming distances as a narrow binomial, and it lets a distance
 * far below every impostor claim the evidence the straight line in the
 * score denies it.
 */
typedef enum huella_calibration_feature {
    HUELLA_CALIBRATION_SCORE = 0,
    HUELLA_CALIBRATION_TAIL = 1
} huella_calibration_feature;

/*
 * A logistic calibration: logistic regression of the class on a feature x
 * of the score, both classes given equal total weight so that the logit
 * is the log-likelihood ratio:
 *   LLR(s) = clamp(a + b * x(s), llr_min, llr_max)
 * Monotone by construction: x = s with b > 0 for similarities, b < 0 for
 * distances; x = the tail feature (growing as s gets more alike) with
 * b > 0.  The clamps are the largest evidence the development data can
 * support: llr_max = ln(number of impostor comparisons it was fitted on)
 * (a likelihood ratio above that would claim an impostor rate the data
 * cannot have shown) and llr_min = -ln(number of genuine comparisons).
 */
typedef struct huella_calibration {
    unsigned version; /* of the fitted parameters */
    huella_gallery_modality modality;
    huella_score_kind kind;
    huella_calibration_feature feature;
    double mu, sigma; /* TAIL: the impostor model */
    double a, b;
    double llr_min, llr_max;
    size_t n_genuine, n_impostor; /* the comparisons it was fitted on */
} huella_calibration;

/* The calibration huella ships for a modality (constants documented in
 * src/gallery/calibration.c and docs/identification.md). */
HUELLA_API const huella_calibration *huella_calibration_default(huella_gallery_modality m);

/* The LLR of a score; NaN (no score) gives llr_min. */
HUELLA_API double huella_calibration_llr(const huella_calibration *c, double score);

/*
 * Fit a calibration to genuine and impostor scores (NaN ignored; both
 * must have at least one finite score, and the classes must overlap or
 * not, either is fine: the fit is regularised).  Newton-Raphson on the
 * weighted logistic log-loss.  out->version is set to 0 (the caller
 * numbers what it publishes).
 */
HUELLA_API huella_status huella_calibration_fit(const double *genuine, size_t n_genuine,
                                                const double *impostor, size_t n_impostor,
                                                huella_gallery_modality m, huella_score_kind kind,
                                                huella_calibration_feature feature,
                                                huella_calibration *out, huella_error *err);

/*
 * The fused-LLR threshold that keeps the false positive identification
 * rate at or below fpir (0 < fpir < 1) for a gallery of n persons:
 * ln(n / fpir) (Markov bound, see above); for n = 0, ln(1 / fpir).
 */
HUELLA_API double huella_gallery_threshold(size_t n_persons, double fpir);

/* ---- Galleries ----------------------------------------------------------- */

typedef struct huella_gallery huella_gallery;

HUELLA_API huella_status huella_gallery_new(huella_gallery **out, huella_error *err);
HUELLA_API void huella_gallery_free(huella_gallery *g);

/* Threads used by a search (1 = the calling thread only; default: the
 * number of online CPUs, at most 64). */
HUELLA_API void huella_gallery_set_threads(huella_gallery *g, unsigned threads);

/* Replace the calibration of a modality (the default is
 * huella_calibration_default). */
HUELLA_API void huella_gallery_set_calibration(huella_gallery *g, const huella_calibration *c);

/*
 * Enrol one template of a person.  position is 1..10 (a finger whose
 * position is unknown has to be given one by the caller).  sample is the
 * caller's id of the sample (for instance the store's), reported back in
 * the evidence.  The template is prepared (compact) or copied: the caller
 * keeps ownership of t.  A gallery keeps each finger as its serialised
 * compact form (huella_finger_prepared_serialize, about 1.1 KB) and lays
 * it out for comparison when a search reaches it (about a tenth of a
 * comparison's time): 40 % less memory per ten-finger person than laid
 * out fingers, the same scores bit for bit.
 */
HUELLA_API huella_status huella_gallery_add_finger(huella_gallery *g, uint64_t person,
                                                   uint64_t sample, unsigned position,
                                                   const huella_finger_template *t,
                                                   huella_error *err);
/* The same with a template already prepared compact
 * (huella_finger_prepare_compact or huella_finger_prepared_load), whose
 * ownership passes to the gallery, also on failure. */
HUELLA_API huella_status huella_gallery_add_finger_prepared(huella_gallery *g, uint64_t person,
                                                            uint64_t sample, unsigned position,
                                                            huella_finger_prepared *p,
                                                            huella_error *err);
/*
 * The fingers of one person from their serialised compact prepared
 * forms (huella_finger_prepared_serialize), what loading a store does:
 * each is checked (laid out once, huella_finger_prepared_load_into) and
 * copied into chunks of memory the gallery owns, the person's fingers
 * next to each other, nothing allocated per finger, and all of them are
 * linked in under one lock.  Nothing is added on failure.  When a finger
 * is removed its bytes are wiped at once; a chunk is released when none
 * of its fingers is left (holes are not reused).  data is not kept.
 */
typedef struct huella_gallery_finger_bytes {
    uint64_t sample;
    unsigned position; /* 1..10 */
    const uint8_t *data;
    size_t len;
} huella_gallery_finger_bytes;
HUELLA_API huella_status huella_gallery_add_fingers_serialized(huella_gallery *g, uint64_t person,
                                                               size_t n,
                                                               const huella_gallery_finger_bytes *f,
                                                               huella_error *err);
/* Room for `persons` persons with a template in every finger and iris slot, made
 * at once rather than by doubling (a load that knows the store's size). */
HUELLA_API huella_status huella_gallery_reserve(huella_gallery *g, size_t persons,
                                                huella_error *err);
/* eye is HUELLA_IRIS_EYE_RIGHT or HUELLA_IRIS_EYE_LEFT. */
HUELLA_API huella_status huella_gallery_add_iris(huella_gallery *g, uint64_t person,
                                                 uint64_t sample, unsigned eye,
                                                 const huella_iris_code *code, huella_error *err);
/* A face template (huella_face_template_decode or
 * huella_face_template_from_descriptor); slot HUELLA_GALLERY_SLOT_FACE. */
HUELLA_API huella_status huella_gallery_add_face(huella_gallery *g, uint64_t person,
                                                 uint64_t sample, const huella_face_template *t,
                                                 huella_error *err);
/*
 * Enrol a serialised template, the form the store keeps: fingers in the
 * huella template format (huella_finger_template_encode) or an
 * interchange record (first view), irises in the .iris format
 * (huella_iris_template_encode).  position: 1..10 for fingers, the eye
 * for irises.  Faces (m = HUELLA_GALLERY_FACE) in the .face format
 * (huella_face_template_encode, 137 bytes); position must be 0.
 */
HUELLA_API huella_status huella_gallery_add_encoded(huella_gallery *g, uint64_t person,
                                                    uint64_t sample, huella_gallery_modality m,
                                                    unsigned position, const uint8_t *data,
                                                    size_t len, huella_error *err);

/* Remove every template of a person (HUELLA_E_NOTFOUND when there is
 * none). */
HUELLA_API huella_status huella_gallery_remove_person(huella_gallery *g, uint64_t person,
                                                      huella_error *err);

/* Persons with at least one template. */
HUELLA_API size_t huella_gallery_count(huella_gallery *g);
/* Templates in a slot (0..12). */
HUELLA_API size_t huella_gallery_count_slot(huella_gallery *g, unsigned slot);
/* Bytes the gallery holds (templates, indexes, bookkeeping), and that
 * divided by the number of persons (0 when empty). */
HUELLA_API size_t huella_gallery_bytes(huella_gallery *g);
HUELLA_API double huella_gallery_bytes_per_person(huella_gallery *g);
/* The part of huella_gallery_bytes that the templates of one modality
 * hold (fingers: their compact prepared forms; the rest of the total is
 * the per-entry arrays, the persons and their index). */
HUELLA_API size_t huella_gallery_bytes_modality(huella_gallery *g, huella_gallery_modality m);

/* ---- Identification ------------------------------------------------------ */

/* A probe: any subset of the slots (NULL = absent). */
typedef struct huella_probe {
    const huella_finger_template *finger[HUELLA_GALLERY_FINGERS]; /* position p at [p - 1] */
    const huella_iris_code *iris[HUELLA_GALLERY_IRISES];          /* [0] right, [1] left */
    const huella_face_template *face;                             /* NULL = absent */
} huella_probe;

typedef struct huella_identify_options {
    size_t top_k;       /* candidates returned; 0 = 20 */
    double fpir_strict; /* link threshold's FPIR; 0 = 0.001 */
    double fpir_review; /* possible-duplicate threshold's FPIR; 0 = 0.01 */
    /*
     * The finger cascade, for probes with more than `cascade_min` fingers
     * (0 = 3): the strongest probe finger (by minutiae count weighted by
     * quality) is searched against everyone; the best `prefilter` persons
     * by its LLR (0 = everyone; 10 x shortlist halves the time at the
     * risk of losing a mate whose strongest finger fails to match) are
     * compared on the next `stage1` - 1
     * strongest fingers (stage1: 0 = 2); the best `shortlist` persons by
     * the summed LLR (0 = 1000) are compared on every other finger.
     * exhaustive = true compares every finger with everyone.
     */
    unsigned cascade_min;
    unsigned stage1;
    size_t shortlist;
    size_t prefilter;
    bool exhaustive;
    /* Irises: the best iris_depth templates of each eye (0 = 100) are
     * taken from the packed search; a candidate outside them gets the
     * depth's distance as a bound (evidence.bounded). */
    size_t iris_depth;
} huella_identify_options;

typedef struct huella_evidence {
    bool present;    /* the probe and the candidate both have this slot */
    bool bounded;    /* iris only: outside the searched depth, score is a bound */
    double score;    /* the matcher's own units (finger similarity, iris or face distance) */
    double llr;      /* calibrated; 0 when not present */
    uint64_t sample; /* the gallery sample that gave the score */
} huella_evidence;

typedef struct huella_candidate {
    uint64_t person;
    double llr; /* fused: the sum of the slots' LLRs */
    huella_evidence slot[HUELLA_GALLERY_SLOTS];
    bool strict; /* llr >= threshold_strict: link */
    bool review; /* llr >= threshold_review: possible duplicate */
} huella_candidate;

typedef struct huella_identify_result {
    size_t n;                     /* candidates, best first */
    huella_candidate *candidates; /* owned */
    size_t gallery_persons;       /* N, as the thresholds use it */
    double threshold_strict;
    double threshold_review;
    size_t comparisons; /* finger and iris comparisons made */
    bool cascaded;      /* the finger cascade was used */
    double seconds;     /* wall time of the search */
} huella_identify_result;

/* opt may be NULL (defaults).  The probe must have at least one slot. */
HUELLA_API huella_status huella_gallery_identify(huella_gallery *g, const huella_probe *probe,
                                                 const huella_identify_options *opt,
                                                 huella_identify_result **out, huella_error *err);
HUELLA_API void huella_identify_result_free(huella_identify_result *r);

/* ---- Evaluation of identification (eval/identify.c) ----------------------- */

typedef struct huella_identify_eval_options {
    huella_sample_options sample; /* images or templates, default resolution */
    unsigned threads;             /* 0 = one per core */
    size_t max_classes;           /* per dataset, the first classes only; 0 = all */
} huella_identify_eval_options;

/*
 * The result of an open-set identification evaluation.  Protocol: the
 * first sample of each class that gives a template is enrolled as a
 * person (one gallery for all the datasets given); every other sample is
 * a probe.  Each probe gives one mated search (where is its own class?)
 * and one non-mated search: the same probe against the gallery without
 * its own class (leave-one-class-out).  Because a candidate's fused LLR
 * depends only on the probe and that candidate, the non-mated search's
 * best candidate is the best non-mate of the full search, and both come
 * from one search.  A probe without a template is a mated search that
 * fails (NaN score, a miss at every rank: generalised rates).
 */
typedef struct huella_identify_eval {
    huella_gallery_modality modality;
    size_t samples, classes, fte;
    size_t enrolled;        /* persons in the gallery */
    size_t mated, nonmated; /* searches */
    size_t rank1_hits, rank5_hits;
    double rank1, rank5; /* fractions of the mated searches */
    /* FNIR at the lowest fused-LLR threshold whose measured FPIR is at
     * most 1 % / 0.1 %, and those thresholds. */
    double fnir_fpir100, fnir_fpir1000;
    double threshold_fpir100, threshold_fpir1000;
    /* The thresholds huella_gallery_threshold sets for this gallery size,
     * and the FPIR and FNIR measured at them. */
    double analytic_threshold100, analytic_fpir100, analytic_fnir100;
    double analytic_threshold1000, analytic_fpir1000, analytic_fnir1000;
    double *mated_llr;    /* per mated search: the mate's fused LLR, NaN = none */
    double *nonmated_llr; /* per non-mated search: the best non-mate's */
    double extract_ms_median, search_ms_median, wall_seconds;
} huella_identify_eval;

/* ppi[k] > 0 replaces opt->sample.ppi for dataset k (ppi may be NULL). */
HUELLA_API huella_status huella_identify_eval_run(huella_gallery_modality m,
                                                  const huella_dataset *const *ds,
                                                  const double *ppi, size_t n_ds,
                                                  const huella_identify_eval_options *opt,
                                                  huella_identify_eval **out, huella_error *err);
HUELLA_API void huella_identify_eval_free(huella_identify_eval *r);

#ifdef __cplusplus
}
#endif

#endif
