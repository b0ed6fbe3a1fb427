/*
 * dedup.c - enrolment with de-duplication: extract, identify against the
 * gallery, decide NEW / LINK / CASE, commit, keep the gallery in step.
 *
 * Contract (include/huella/dedup.h has the rule in full): LINK only when
 * the best candidate passes the strict threshold and no juvenile capture
 * is involved on either side; CASE (a new person and an open case, never
 * a merge) when any candidate reaches the review threshold or a juvenile
 * capture blocked a link; NEW otherwise.  The evidence of every candidate
 * (per slot score and LLR, fused LLR, flags) plus the thresholds, their
 * FPIRs and the gallery size is recorded: as the link's reason for a link,
 * as each case candidate's evidence for a case.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/dedup.h"
#include "store_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FPIR_STRICT 0.001
#define DEFAULT_FPIR_REVIEW 0.01

void huella_probe_set_free(huella_probe_set *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < HUELLA_GALLERY_FINGERS; i++)
        huella_finger_template_free(p->finger[i]);
    for (int i = 0; i < HUELLA_GALLERY_IRISES; i++)
        huella_iris_template_free(p->iris[i]);
    free(p);
}

huella_status huella_probe_from_enrol(const huella_enrol_result *res, huella_probe_set **out,
                                      huella_error *err)
{
    *out = NULL;
    huella_probe_set *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "probe: out of memory");
    huella_status st = HUELLA_OK;
    for (size_t i = 0; i < res->n_samples && st == HUELLA_OK; i++) {
        const huella_enrol_sample *s = &res->samples[i];
        if (s->tmpl == NULL)
            continue;
        if (s->modality == HUELLA_STORE_FINGER && s->position >= 1 && s->position <= 10) {
            huella_finger_template **t = &p->finger[s->position - 1];
            huella_finger_template_free(*t);
            *t = NULL;
            st = huella_finger_template_decode(s->tmpl, s->tmpl_len, t, err);
            p->probe.finger[s->position - 1] = *t;
        } else if (s->modality == HUELLA_STORE_IRIS && (s->position == 1 || s->position == 2)) {
            huella_iris_template **t = &p->iris[s->position - 1];
            huella_iris_template_free(*t);
            *t = NULL;
            st = huella_iris_template_decode(s->tmpl, s->tmpl_len, t, err);
            p->probe.iris[s->position - 1] = *t != NULL ? &(*t)->code : NULL;
        } else if (s->modality == HUELLA_STORE_FACE) {
            st = huella_face_template_decode(s->tmpl, s->tmpl_len, &p->face, err);
            p->probe.face = st == HUELLA_OK ? &p->face : NULL;
        }
    }
    for (int i = 0; i < HUELLA_GALLERY_FINGERS; i++)
        p->n_slots += p->probe.finger[i] != NULL;
    for (int i = 0; i < HUELLA_GALLERY_IRISES; i++)
        p->n_slots += p->probe.iris[i] != NULL;
    p->n_slots += p->probe.face != NULL;
    if (st == HUELLA_OK && p->n_slots == 0)
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "probe: no finger, iris or face template to search with");
    if (st != HUELLA_OK) {
        huella_probe_set_free(p);
        return st;
    }
    *out = p;
    return HUELLA_OK;
}

static json_t *candidate_json(const huella_candidate *c, size_t rank, bool juvenile)
{
    json_t *o = json_object();
    json_object_set_new(o, "rank", json_integer((json_int_t)rank));
    json_object_set_new(o, "person_id", json_integer((json_int_t)c->person));
    json_object_set_new(o, "fused_llr", json_real(c->llr));
    json_object_set_new(o, "strict", json_boolean(c->strict));
    json_object_set_new(o, "review", json_boolean(c->review));
    json_object_set_new(o, "juvenile", json_boolean(juvenile));
    json_t *ev = json_array();
    for (unsigned s = 0; s < HUELLA_GALLERY_SLOTS; s++) {
        const huella_evidence *e = &c->slot[s];
        if (!e->present)
            continue;
        json_t *x = json_object();
        if (s < HUELLA_GALLERY_FINGERS) {
            json_object_set_new(x, "modality", json_string("finger"));
            json_object_set_new(x, "finger_position", json_integer(s + 1));
            json_object_set_new(x, "score_kind", json_string("similarity"));
        } else if (s == HUELLA_GALLERY_SLOT_FACE) {
            json_object_set_new(x, "modality", json_string("face"));
            json_object_set_new(x, "score_kind", json_string("distance"));
        } else {
            json_object_set_new(x, "modality", json_string("iris"));
            json_object_set_new(x, "eye",
                                json_string(s == HUELLA_GALLERY_SLOT_RIGHT ? "right" : "left"));
            json_object_set_new(x, "score_kind", json_string("distance"));
        }
        json_object_set_new(x, "score", isfinite(e->score) ? json_real(e->score) : json_null());
        json_object_set_new(x, "llr", json_real(e->llr));
        json_object_set_new(x, "sample_id", json_integer((json_int_t)e->sample));
        json_object_set_new(x, "bounded", json_boolean(e->bounded));
        json_array_append_new(ev, x);
    }
    json_object_set_new(o, "evidence", ev);
    return o;
}

static json_t *candidates_array(const huella_identify_result *r, const bool *juvenile)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n; i++)
        json_array_append_new(
            a, candidate_json(&r->candidates[i], i + 1, juvenile != NULL && juvenile[i]));
    return a;
}

static huella_status dump(json_t *o, char **out, huella_error *err)
{
    *out = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    return *out != NULL ? HUELLA_OK
                        : huella_error_set(err, HUELLA_E_NOMEM, "evidence: out of memory");
}

huella_status huella_candidates_json(const huella_identify_result *r, const bool *juvenile,
                                     char **json, huella_error *err)
{
    return dump(candidates_array(r, juvenile), json, err);
}

void huella_dedup_result_free(huella_dedup_result *r)
{
    if (r == NULL)
        return;
    huella_identify_result_free(r->search);
    free(r->candidate_juvenile);
    free(r->candidates_json);
    free(r->why);
    free(r);
}

/* The context every recorded evidence carries: thresholds, FPIRs, N. */
static json_t *context_json(const huella_identify_result *r, double fpir_strict, double fpir_review,
                            bool probe_juvenile)
{
    json_t *o = json_object();
    json_object_set_new(o, "gallery_persons", json_integer((json_int_t)r->gallery_persons));
    json_object_set_new(o, "threshold_strict", json_real(r->threshold_strict));
    json_object_set_new(o, "threshold_review", json_real(r->threshold_review));
    json_object_set_new(o, "fpir_strict", json_real(fpir_strict));
    json_object_set_new(o, "fpir_review", json_real(fpir_review));
    json_object_set_new(o, "probe_juvenile", json_boolean(probe_juvenile));
    return o;
}

static char *dup_printf(const char *fmt, ...) HUELLA_PRINTF(1, 2);
static char *dup_printf(const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return strdup(buf);
}

/* Identify and decide; fills dd (search, juvenile flags, outcome, why)
 * and the decision's reason / candidates (owned by the caller's arrays). */
static huella_status decide(huella_store *s, huella_gallery *g, const huella_enrol_request *req,
                            const huella_dedup_options *opt, const huella_enrol_result *res,
                            huella_dedup_result *dd, char **reason, huella_store_candidate **cands,
                            char ***cand_json, size_t *n_cands, huella_error *err)
{
    /* Is the new capture juvenile?  The same rule the store applies. */
    char now[32];
    const char *captured = req->encounter.captured;
    if (captured == NULL) {
        store_now(now);
        captured = now;
    }
    char *doc = NULL;
    huella_status st =
        store_bio_prepare(s, req->bio_json, captured, &doc, &dd->probe_juvenile, err);
    free(doc);
    if (st != HUELLA_OK)
        return st;
    dd->outcome = HUELLA_ENROL_NEW;
    if (opt != NULL && opt->no_dedup) {
        dd->why = dup_printf("no search (de-duplication off): a new person");
        return dd->why != NULL ? HUELLA_OK : HUELLA_E_NOMEM;
    }
    huella_probe_set *p = NULL;
    st = huella_probe_from_enrol(res, &p, err);
    if (st == HUELLA_E_INPUT) {
        /* only marks: nothing to search */
        dd->why = dup_printf("no finger, iris or face to search with: a new person");
        return dd->why != NULL ? HUELLA_OK : HUELLA_E_NOMEM;
    }
    if (st != HUELLA_OK)
        return st;
    huella_identify_options io = {0};
    if (opt != NULL)
        io = opt->identify;
    double fs = io.fpir_strict > 0 ? io.fpir_strict : DEFAULT_FPIR_STRICT;
    double fr = io.fpir_review > 0 ? io.fpir_review : DEFAULT_FPIR_REVIEW;
    if (!(fs < 1 && fr < 1 && fs <= fr)) {
        huella_probe_set_free(p);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "dedup: FPIRs %g (strict) and %g (review) must be in (0, 1), "
                                "strict at most review",
                                fs, fr);
    }
    io.fpir_strict = fs;
    io.fpir_review = fr;
    st = huella_gallery_identify(g, &p->probe, &io, &dd->search, err);
    huella_probe_set_free(p);
    if (st != HUELLA_OK)
        return st;
    const huella_identify_result *r = dd->search;
    dd->candidate_juvenile = calloc(r->n + 1, sizeof(bool));
    if (dd->candidate_juvenile == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "dedup: out of memory");
    for (size_t i = 0; i < r->n && st == HUELLA_OK; i++)
        st = huella_store_person_juvenile(s, (int64_t)r->candidates[i].person,
                                          &dd->candidate_juvenile[i], err);
    if (st == HUELLA_OK)
        st = huella_candidates_json(r, dd->candidate_juvenile, &dd->candidates_json, err);
    if (st != HUELLA_OK)
        return st;
    size_t n_review = 0;
    for (size_t i = 0; i < r->n; i++)
        n_review += r->candidates[i].review || r->candidates[i].strict;
    const huella_candidate *best = r->n > 0 ? &r->candidates[0] : NULL;
    if (best != NULL && best->strict && !dd->probe_juvenile && !dd->candidate_juvenile[0]) {
        dd->outcome = HUELLA_ENROL_LINK;
        json_t *o = context_json(r, fs, fr, dd->probe_juvenile);
        json_object_set_new(o, "decision", json_string("linked: strict threshold passed"));
        json_object_set_new(o, "candidate", candidate_json(best, 1, false));
        st = dump(o, reason, err);
        if (st == HUELLA_OK)
            dd->why = dup_printf("the best candidate's fused LLR %.2f passes the strict threshold "
                                 "%.2f: linked to that person",
                                 best->llr, r->threshold_strict);
    } else if (n_review > 0) {
        dd->outcome = HUELLA_ENROL_CASE;
        *cands = calloc(n_review, sizeof(**cands));
        *cand_json = calloc(n_review, sizeof(char *));
        if (*cands == NULL || *cand_json == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "dedup: out of memory");
        for (size_t i = 0; i < r->n && st == HUELLA_OK; i++) {
            const huella_candidate *c = &r->candidates[i];
            if (!c->review && !c->strict)
                continue;
            json_t *o = context_json(r, fs, fr, dd->probe_juvenile);
            json_object_set_new(o, "candidate",
                                candidate_json(c, i + 1, dd->candidate_juvenile[i]));
            char *txt = NULL;
            st = dump(o, &txt, err);
            (*cand_json)[*n_cands] = txt;
            (*cands)[*n_cands] = (huella_store_candidate){(int64_t)c->person, txt};
            (*n_cands)++;
        }
        if (st == HUELLA_OK) {
            bool juv = dd->probe_juvenile || dd->candidate_juvenile[0];
            if (best->strict && juv)
                dd->why = dup_printf(
                    "the best candidate's fused LLR %.2f passes the strict threshold %.2f, but a "
                    "juvenile capture is involved (less reliable: never linked automatically): "
                    "new person and a possible-duplicate case for a person to decide",
                    best->llr, r->threshold_strict);
            else
                dd->why = dup_printf("the best candidate's fused LLR %.2f is in the review band "
                                     "(at least %.2f, below the strict %.2f): new person and a "
                                     "possible-duplicate case for a person to decide",
                                     best->llr, r->threshold_review, r->threshold_strict);
        }
    } else if (best == NULL) {
        dd->why =
            dup_printf("nobody enrolled shares a finger, iris or face with this capture: a new "
                       "person");
    } else {
        dd->why = dup_printf("no candidate reaches the review threshold %.2f (best fused LLR "
                             "%.2f): a new person",
                             r->threshold_review, best->llr);
    }
    if (st == HUELLA_OK && dd->why == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "dedup: out of memory");
    return st;
}

huella_status huella_enrol_dedup(huella_store *s, huella_gallery *g,
                                 const huella_enrol_request *req, const huella_dedup_options *opt,
                                 huella_enrol_result **res, huella_dedup_result **dd,
                                 huella_error *err)
{
    *res = NULL;
    *dd = NULL;
    huella_enrol_result *r = NULL;
    huella_dedup_result *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "dedup: out of memory");
    huella_status st = huella_enrol_extract(req, &r, err);
    char *reason = NULL;
    huella_store_candidate *cands = NULL;
    char **cand_json = NULL;
    size_t n_cands = 0;
    if (st == HUELLA_OK)
        st = decide(s, g, req, opt, r, d, &reason, &cands, &cand_json, &n_cands, err);
    if (st == HUELLA_OK) {
        huella_enrol_decision dec = {d->outcome, 0, reason, cands, n_cands};
        if (d->outcome == HUELLA_ENROL_LINK)
            dec.link_person = (int64_t)d->search->candidates[0].person;
        st = huella_enrol_commit(s, req, &dec, r, err);
    }
    /* keep the gallery in step with what was committed */
    for (size_t i = 0; st == HUELLA_OK && i < r->n_samples; i++) {
        const huella_enrol_sample *es = &r->samples[i];
        if (es->tmpl == NULL) /* scars, marks and tattoos are stored, not searched */
            continue;
        huella_gallery_modality gm = es->modality == HUELLA_STORE_FINGER ? HUELLA_GALLERY_FINGER
                                     : es->modality == HUELLA_STORE_IRIS ? HUELLA_GALLERY_IRIS
                                                                         : HUELLA_GALLERY_FACE;
        st = huella_gallery_add_encoded(g, (uint64_t)r->person_id, (uint64_t)es->sample_id, gm,
                                        es->position, es->tmpl, es->tmpl_len, err);
        if (st != HUELLA_OK)
            huella_error_prefix(err,
                                "enrolment committed (encounter %lld) but the gallery was "
                                "not updated: ",
                                (long long)r->encounter_id);
    }
    free(reason);
    for (size_t i = 0; i < n_cands; i++)
        free(cand_json[i]);
    free(cand_json);
    free(cands);
    if (st != HUELLA_OK) {
        huella_enrol_result_free(r);
        huella_dedup_result_free(d);
        return st;
    }
    *res = r;
    *dd = d;
    return HUELLA_OK;
}
