/*
 * enrol.c - enrolment: from image files to a person in the store.
 *
 * Contract: three steps so that de-duplication can sit in the middle.
 * huella_enrol_extract checks and decodes every input and makes its
 * template (huella_finger_extract for fingers, with the image quality of
 * huella_finger_quality_measure; huella_iris_encode for irises, whose
 * template carries its quality; faces by huella_face_enrol, a 137-byte
 * int8 template; scar/mark/tattoo images are only checked to decode) and touches no store.  The
 * caller may then search the templates and decide.  huella_enrol_commit writes the decision, the
 * encounter and all its samples in ONE transaction: either all of it is acknowledged (committed,
 * fsync'd) or none of it exists.
 */
#define _POSIX_C_SOURCE 200809L
#include "gallery_form.h"
#include "store_internal.h"

#include "huella/face.h"
#include "huella/finger.h"
#include "huella/image.h"
#include "huella/iris.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *format_short(huella_image_format f)
{
    switch (f) {
    case HUELLA_IMAGE_PNG:
        return "png";
    case HUELLA_IMAGE_JPEG:
        return "jpeg";
    case HUELLA_IMAGE_TIFF:
        return "tiff";
    case HUELLA_IMAGE_JP2:
        return "jp2";
    case HUELLA_IMAGE_BMP:
        return "bmp";
    case HUELLA_IMAGE_PNM:
        return "pnm";
    case HUELLA_IMAGE_WSQ:
        return "wsq";
    default:
        return NULL;
    }
}

void huella_enrol_result_free(huella_enrol_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_samples; i++)
        store_wipe_free(r->samples[i].tmpl, r->samples[i].tmpl_len);
    free(r->samples);
    free(r);
}

static huella_status check_input(const huella_enrol_request *req, size_t i, huella_error *err)
{
    const huella_enrol_input *in = &req->inputs[i];
    const char *label = in->label != NULL ? in->label : "input";
    bool ok;
    switch (in->modality) {
    case HUELLA_STORE_FINGER:
        ok = in->position >= 1 && in->position <= 10;
        break;
    case HUELLA_STORE_IRIS:
        ok = in->position == HUELLA_IRIS_EYE_RIGHT || in->position == HUELLA_IRIS_EYE_LEFT;
        break;
    case HUELLA_STORE_FACE:
    case HUELLA_STORE_SMT:
        ok = in->position == 0;
        break;
    default:
        return huella_error_set(err, HUELLA_E_INPUT, "%s: unknown modality", label);
    }
    if (!ok)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: position %u is not valid for %s", label,
                                in->position, huella_store_modality_name(in->modality));
    for (size_t j = 0; j < i; j++)
        if (req->inputs[j].modality == in->modality && req->inputs[j].position == in->position &&
            in->modality != HUELLA_STORE_SMT)
            return huella_error_set(err, HUELLA_E_INPUT, "%s: %s position %u is given twice", label,
                                    huella_store_modality_name(in->modality), in->position);
    if (in->data == NULL || in->len == 0 || in->len > HUELLA_STORE_MAX_IMAGE)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: empty or larger than %u bytes", label,
                                HUELLA_STORE_MAX_IMAGE);
    return HUELLA_OK;
}

/* A face: detection, alignment, quality (the default floor), the int8
 * template (huella_face_enrol). */
static huella_status extract_face(const huella_face_models *m, const huella_enrol_input *in,
                                  huella_enrol_sample *out, huella_error *err)
{
    huella_face_rgb *rgb = NULL;
    huella_status st = huella_face_rgb_decode(in->data, in->len, &rgb, err);
    huella_face_sample fs;
    if (st == HUELLA_OK)
        st = huella_face_enrol(m, rgb, HUELLA_FACE_QUALITY_FLOOR, 0, &fs, NULL, err);
    huella_face_rgb_free(rgb);
    if (st != HUELLA_OK)
        return st;
    out->quality = (int)fs.quality.score;
    out->tmpl = malloc(HUELLA_FACE_TEMPLATE_BYTES);
    if (out->tmpl == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "enrol: out of memory");
    huella_face_template_encode(&fs.tmpl, out->tmpl);
    out->tmpl_len = HUELLA_FACE_TEMPLATE_BYTES;
    sodium_memzero(&fs, sizeof(fs));
    return HUELLA_OK;
}

static huella_status extract_one(const huella_enrol_request *req, const huella_face_models *faces,
                                 const huella_enrol_input *in, huella_enrol_sample *out,
                                 huella_error *err)
{
    huella_image_format f = huella_image_detect(in->data, in->len);
    const char *fname = format_short(f);
    if (fname == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "not an image format huella reads");
    snprintf(out->image_format, sizeof(out->image_format), "%s", fname);
    out->modality = in->modality;
    out->position = in->position;
    out->quality = -1;
    if (in->modality == HUELLA_STORE_FACE)
        return extract_face(faces, in, out, err);
    huella_image *img = NULL;
    huella_status st = huella_image_decode(in->data, in->len, NULL, &img, err);
    if (st != HUELLA_OK)
        return st;
    if (in->modality == HUELLA_STORE_FINGER) {
        double ppi = req->ppi > 0 ? req->ppi : 0;
        huella_finger_quality q;
        st = huella_finger_quality_measure(img, ppi, &q, err);
        huella_finger_template *t = NULL;
        if (st == HUELLA_OK) {
            out->quality = (int)q.score;
            st = huella_finger_extract(img, ppi, NULL, &t, err);
        }
        if (st == HUELLA_OK) {
            t->finger_position = (uint8_t)in->position;
            st = huella_finger_template_encode(t, &out->tmpl, &out->tmpl_len, err);
        }
        huella_finger_template_free(t);
    } else if (in->modality == HUELLA_STORE_IRIS) {
        huella_iris_template *t = NULL;
        st = huella_iris_encode(img, NULL, &t, err);
        if (st == HUELLA_OK) {
            out->quality = (int)t->quality.score;
            st = huella_iris_template_encode(t, &out->tmpl, &out->tmpl_len, err);
        }
        huella_iris_template_free(t);
    }
    huella_image_free(img);
    return st;
}

huella_status huella_enrol_extract(const huella_enrol_request *req, huella_enrol_result **out,
                                   huella_error *err)
{
    *out = NULL;
    if (req->n_inputs == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "enrol: no sample to enrol");
    if (req->n_inputs > 64)
        return huella_error_set(err, HUELLA_E_INPUT, "enrol: %zu samples (most 64)", req->n_inputs);
    for (size_t i = 0; i < req->n_inputs; i++) {
        huella_status st = check_input(req, i, err);
        if (st != HUELLA_OK)
            return st;
    }
    huella_enrol_result *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->samples = calloc(req->n_inputs, sizeof(*r->samples))) == NULL) {
        free(r);
        return huella_error_set(err, HUELLA_E_NOMEM, "enrol: out of memory");
    }
    const huella_face_models *faces = req->face_models;
    huella_face_models *loaded = NULL;
    for (size_t i = 0; i < req->n_inputs && faces == NULL; i++)
        if (req->inputs[i].modality == HUELLA_STORE_FACE) {
            huella_status st = huella_face_models_load(NULL, &loaded, err);
            if (st != HUELLA_OK) {
                huella_error_prefix(err, "enrol: a face needs the face networks: ");
                huella_enrol_result_free(r);
                return st;
            }
            faces = loaded;
        }
    for (size_t i = 0; i < req->n_inputs; i++) {
        r->n_samples = i + 1;
        huella_status st = extract_one(req, faces, &req->inputs[i], &r->samples[i], err);
        if (st != HUELLA_OK) {
            huella_face_models_free(loaded);
            const char *label = req->inputs[i].label != NULL ? req->inputs[i].label : "input";
            huella_error_prefix(err, "%s (%s %u): ", label,
                                huella_store_modality_name(req->inputs[i].modality),
                                req->inputs[i].position);
            huella_enrol_result_free(r);
            return st;
        }
    }
    huella_face_models_free(loaded);
    *out = r;
    return HUELLA_OK;
}

huella_status huella_enrol_commit(huella_store *s, const huella_enrol_request *req,
                                  const huella_enrol_decision *decision, huella_enrol_result *res,
                                  huella_error *err)
{
    huella_enrol_decision fresh = {HUELLA_ENROL_NEW, 0, NULL, NULL, 0};
    const huella_enrol_decision *d = decision != NULL ? decision : &fresh;
    if (res->n_samples != req->n_inputs)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "enrol: the result does not belong to this request");
    if (d->outcome == HUELLA_ENROL_CASE && d->n_candidates == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "enrol: a case needs candidates");
    if (d->outcome == HUELLA_ENROL_LINK && (d->reason == NULL || d->reason[0] == '\0'))
        return huella_error_set(err, HUELLA_E_INPUT, "enrol: a link needs a reason");
    bool own_tx = sqlite3_get_autocommit(s->db) != 0;
    huella_status st = own_tx ? huella_store_begin(s, err) : HUELLA_OK;
    if (st != HUELLA_OK)
        return st;
    /* A savepoint too, so that a failure inside the caller's transaction
     * leaves nothing of this enrolment behind. */
    st = store_save(s, err);
    if (st != HUELLA_OK) {
        if (own_tx)
            huella_store_rollback(s);
        return st;
    }
    int64_t person = 0, encounter = 0, case_id = 0;
    if (d->outcome == HUELLA_ENROL_LINK)
        person = d->link_person;
    else
        st = huella_store_person_create(s, &person, err);
    huella_store_encounter enc = req->encounter;
    if (d->outcome == HUELLA_ENROL_LINK)
        enc.link_reason = d->reason;
    if (st == HUELLA_OK)
        st = huella_store_encounter_add(s, person, &enc, req->bio_json, &encounter, err);
    for (size_t i = 0; st == HUELLA_OK && i < res->n_samples; i++) {
        huella_enrol_sample *es = &res->samples[i];
        huella_store_template t = {
            es->modality == HUELLA_STORE_FINGER ? HUELLA_STORE_TEMPLATE_FINGER
            : es->modality == HUELLA_STORE_IRIS ? HUELLA_STORE_TEMPLATE_IRIS
                                                : HUELLA_STORE_TEMPLATE_FACE,
            es->modality == HUELLA_STORE_FINGER ? 1
            : es->modality == HUELLA_STORE_IRIS ? HUELLA_IRIS_TEMPLATE_VERSION
                                                : HUELLA_FACE_TEMPLATE_VERSION,
            es->tmpl, es->tmpl_len};
        huella_store_sample smp = {
            es->modality,        es->position,       es->quality, es->image_format,
            req->inputs[i].data, req->inputs[i].len, &t,          es->tmpl != NULL ? 1 : 0};
        st = huella_store_sample_add(s, encounter, &smp, &es->sample_id, err);
        if (st != HUELLA_OK)
            huella_error_prefix(
                err, "%s: ", req->inputs[i].label != NULL ? req->inputs[i].label : "input");
    }
    /* The person's gallery form, current again (the triggers dropped it
     * when the samples went in). */
    if (st == HUELLA_OK)
        st = store_gallery_form_write(s, person, store_form_format(s), err);
    if (st == HUELLA_OK && d->outcome == HUELLA_ENROL_CASE)
        st = huella_store_case_open(s, encounter, d->candidates, d->n_candidates,
                                    req->encounter.operator_id, &case_id, err);
    if (st == HUELLA_OK)
        st = store_release(s, err);
    else
        store_undo(s);
    if (st == HUELLA_OK && own_tx)
        st = huella_store_commit(s, err);
    if (st != HUELLA_OK) {
        if (own_tx)
            huella_store_rollback(s);
        return st;
    }
    res->person_id = person;
    res->encounter_id = encounter;
    res->case_id = case_id;
    return HUELLA_OK;
}

huella_status huella_enrol(huella_store *s, const huella_enrol_request *req,
                           huella_enrol_result **out, huella_error *err)
{
    huella_enrol_result *r = NULL;
    huella_status st = huella_enrol_extract(req, &r, err);
    if (st == HUELLA_OK)
        st = huella_enrol_commit(s, req, NULL, r, err);
    if (st != HUELLA_OK) {
        huella_enrol_result_free(r);
        return st;
    }
    *out = r;
    return HUELLA_OK;
}
