/*
 * huella/dedup.h - the store and the galleries together: loading the
 * galleries from the store, identification of enrolment templates and
 * enrolment with de-duplication (src/store/gallery_load.c, dedup.c).
 *
 * Layering: the store calls the galleries, never the reverse.
 *
 * Enrolment with de-duplication (huella_enrol_dedup):
 *   1. huella_enrol_extract makes the templates of the encounter;
 *   2. they are identified against the gallery (huella_gallery_identify,
 *      thresholds t = ln(N / FPIR) for the gallery's N persons);
 *   3. the decision:
 *      - the best candidate passes the strict threshold, and neither the
 *        new capture nor that candidate is juvenile: LINK, the encounter
 *        joins that person and the evidence is recorded as the link's
 *        reason (in the link history);
 *      - otherwise, some candidate reaches the review threshold (or passes
 *        the strict one but a juvenile capture is involved): CASE, a new
 *        person is created AND a possible-duplicate case opened with the
 *        candidates and their evidence; nothing is merged; a person
 *        decides (huella_store_case_resolve);
 *      - otherwise NEW, a new person;
 *   4. huella_enrol_commit writes it in one transaction, then the new
 *      templates are added to the gallery under the person they went to.
 * Juvenile captures (the store's flag: the person may be younger than the
 * configured age at capture) are never linked automatically because
 * biometrics of children change; their candidates carry "juvenile": true
 * in the evidence and are reported as less reliable.
 */
#ifndef HUELLA_DEDUP_H
#define HUELLA_DEDUP_H

#include "huella/base.h"
#include "huella/gallery.h"
#include "huella/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Loading the galleries ---------------------------------------------- */

typedef struct huella_gallery_load_stats {
    size_t finger_templates, iris_templates;
    size_t persons;   /* in the gallery afterwards */
    double seconds;   /* wall time, scan and decode */
    unsigned threads; /* decoding threads used */
    size_t face_templates;
    size_t persons_from_forms;    /* loaded from their current gallery form (fast) */
    size_t persons_rebuilt;       /* no current form: decoded and prepared (slow) */
    size_t persons_from_snapshot; /* of persons_from_forms, read from DIR/gallery.snap */
    char snapshot[128];           /* "used", or why the snapshot was not used */
} huella_gallery_load_stats;

/*
 * Fill g (usually empty) with every finger, iris and face template of the
 * store.  The calling thread reads, in one read transaction, each
 * person's sealed gallery form (huella_store_gallery_refresh) and, for
 * persons without a current one, their sealed templates; `threads` worker
 * threads (0 = the number of online CPUs, at most 64) fed in batches
 * decrypt and add them (a form is copied; templates are decoded and
 * prepared, the slow path, counted in persons_rebuilt).  The forms come
 * from DIR/gallery.snap when it is the store's current gallery snapshot
 * (huella_store_gallery_snapshot; persons changed since it come from the
 * database): persons_from_snapshot, and `snapshot` says "used" or why
 * not.  Gallery person
 * ids are the store's person ids, sample ids the store's sample ids.
 * stats may be NULL.
 */
HUELLA_API huella_status huella_gallery_load_store(huella_store *s, huella_gallery *g,
                                                   unsigned threads,
                                                   huella_gallery_load_stats *stats,
                                                   huella_error *err);

/* The gallery slot of a stored template: true and *out set for a finger,
 * iris or face template of its own modality, false for anything else. */
HUELLA_API bool huella_gallery_modality_of(huella_store_modality m, int template_type,
                                           huella_gallery_modality *out);

/* Add every template of one person's samples (all encounters) to the
 * gallery, e.g. after a link, a decision or for a 1:1 verification.
 * HUELLA_E_NOTFOUND when the person has no encounter. */
HUELLA_API huella_status huella_gallery_load_person(huella_store *s, huella_gallery *g,
                                                    int64_t person, huella_error *err);

/* ---- Probes from enrolment templates ------------------------------------ */

/* A probe with the decoded templates it points at (owned). */
typedef struct huella_probe_set {
    huella_probe probe;
    huella_finger_template *finger[HUELLA_GALLERY_FINGERS];
    huella_iris_template *iris[HUELLA_GALLERY_IRISES];
    size_t n_slots;            /* slots filled */
    huella_face_template face; /* probe.face points here when there is one */
} huella_probe_set;

/* Decode the finger, iris and face templates of an extraction into a
 * probe (marks are skipped).  HUELLA_E_INPUT when there is none. */
HUELLA_API huella_status huella_probe_from_enrol(const huella_enrol_result *res,
                                                 huella_probe_set **out, huella_error *err);
HUELLA_API void huella_probe_set_free(huella_probe_set *p);

/*
 * The candidates of a search as a JSON array (*json, free with free()):
 * per candidate rank, person_id, fused_llr, strict, review, juvenile
 * (juvenile[i], may be NULL), and "evidence": one object per slot both
 * sides have (modality, finger_position or eye, score, score_kind, llr,
 * sample_id, bounded).  Keys are documented in docs/identification.md.
 */
HUELLA_API huella_status huella_candidates_json(const huella_identify_result *r,
                                                const bool *juvenile, char **json,
                                                huella_error *err);

/* ---- Enrolment with de-duplication -------------------------------------- */

typedef struct huella_dedup_options {
    huella_identify_options identify; /* top_k, fpir_strict, fpir_review, ... */
    bool no_dedup;                    /* skip the search: always NEW */
} huella_dedup_options;

typedef struct huella_dedup_result {
    huella_enrol_outcome outcome;
    bool probe_juvenile;            /* the new capture is juvenile */
    huella_identify_result *search; /* NULL with no_dedup; owned */
    bool *candidate_juvenile;       /* per candidate of search */
    char *candidates_json;          /* huella_candidates_json of the search */
    char *why;                      /* one sentence: why this outcome */
} huella_dedup_result;

HUELLA_API void huella_dedup_result_free(huella_dedup_result *r);

/*
 * Enrol one encounter with de-duplication against g (loaded from s): see
 * the top of this header.  On success *res holds the committed ids and
 * *dd the decision with its evidence; g holds the new templates.
 */
HUELLA_API huella_status huella_enrol_dedup(huella_store *s, huella_gallery *g,
                                            const huella_enrol_request *req,
                                            const huella_dedup_options *opt,
                                            huella_enrol_result **res, huella_dedup_result **dd,
                                            huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
