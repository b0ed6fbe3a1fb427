/*
 * handlers_api.c - the second half of huellad's API: encounters (enrolment
 * with de-duplication and name screening), identify, verify, screen,
 * cases, watchlists and jobs.
 *
 * Contract (issue 11): the keys of the answers are documented in
 * data/openapi.json and docs/server.md.  People decide: a candidate or a
 * watchlist hit never changes a record; it is reported, and a possible
 * duplicate opens a case for an examiner.  Never logged: images, names.
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include "huella/an2k_enrol.h"
#include "huella/finger.h"
#include "huella/image.h"
#include "huella/mrz.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUTS 16
#define NOTICE     "candidates are for a person to review; huella takes no decision"

/* ---- images from JSON ---- */

typedef struct images {
    huella_enrol_input in[MAX_INPUTS];
    uint8_t *buf[MAX_INPUTS];
    size_t n;
    double ppi;
} images;

static void images_clear(images *im)
{
    for (size_t i = 0; i < im->n; i++)
        free(im->buf[i]);
    im->n = 0;
}

static bool add_image(server_call *c, images *im, huella_store_modality m, unsigned pos,
                      json_t *img, const char *what)
{
    const char *b = json_string_value(img);
    if (b == NULL || b[0] == '\0') {
        server_error(c, 400, "bad-request", "%s: \"image\" wants a base64 string", what);
        return false;
    }
    if (im->n == MAX_INPUTS) {
        server_error(c, 400, "bad-request", "at most %d images in one request", MAX_INPUTS);
        return false;
    }
    size_t blen = strlen(b), cap = blen / 4 * 3 + 3, len = 0;
    uint8_t *d = malloc(cap);
    if (d == NULL) {
        server_error(c, 500, "internal", "out of memory");
        return false;
    }
    if (sodium_base642bin(d, cap, b, blen, " \r\n", &len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        len == 0) {
        free(d);
        server_error(c, 400, "bad-request", "%s: \"image\" is not valid base64", what);
        return false;
    }
    im->buf[im->n] = d;
    im->in[im->n] = (huella_enrol_input){m, pos, what, d, len};
    im->n++;
    return true;
}

/* fingers, irises, face of a request body. */
static bool parse_images(server_call *c, json_t *body, images *im, bool with_face)
{
    static const char *const fname[] = {"finger 1", "finger 2", "finger 3", "finger 4",
                                        "finger 5", "finger 6", "finger 7", "finger 8",
                                        "finger 9", "finger 10"};
    memset(im, 0, sizeof(*im));
    json_t *fingers = json_object_get(body, "fingers"), *irises = json_object_get(body, "irises");
    if ((fingers != NULL && !json_is_array(fingers)) ||
        (irises != NULL && !json_is_array(irises))) {
        server_error(c, 400, "bad-request", "\"fingers\" and \"irises\" are arrays");
        return false;
    }
    size_t i;
    json_t *f;
    json_array_foreach(fingers, i, f)
    {
        json_int_t pos = json_integer_value(json_object_get(f, "position"));
        if (!json_is_integer(json_object_get(f, "position")) || pos < 1 || pos > 10) {
            server_error(c, 400, "bad-request", "fingers[%zu].position: 1 to 10", i);
            images_clear(im);
            return false;
        }
        json_t *ppi = json_object_get(f, "ppi");
        if (ppi != NULL) {
            double v = json_number_value(ppi);
            if (!json_is_number(ppi) || v < 100 || v > 5000) {
                server_error(c, 400, "bad-request", "fingers[%zu].ppi: 100 to 5000", i);
                images_clear(im);
                return false;
            }
            im->ppi = v;
        }
        if (!add_image(c, im, HUELLA_STORE_FINGER, (unsigned)pos, json_object_get(f, "image"),
                       fname[pos - 1])) {
            images_clear(im);
            return false;
        }
    }
    json_array_foreach(irises, i, f)
    {
        const char *eye = json_string_value(json_object_get(f, "eye"));
        unsigned pos = eye == NULL                 ? 0
                       : strcmp(eye, "right") == 0 ? 1
                       : strcmp(eye, "left") == 0  ? 2
                                                   : 0;
        if (pos == 0) {
            server_error(c, 400, "bad-request", "irises[%zu].eye: \"left\" or \"right\"", i);
            images_clear(im);
            return false;
        }
        if (!add_image(c, im, HUELLA_STORE_IRIS, pos, json_object_get(f, "image"),
                       pos == 1 ? "right iris" : "left iris")) {
            images_clear(im);
            return false;
        }
    }
    json_t *face = json_object_get(body, "face");
    if (with_face && face != NULL && !json_is_null(face) &&
        !add_image(c, im, HUELLA_STORE_FACE, 0, json_object_get(face, "image"), "face")) {
        images_clear(im);
        return false;
    }
    return true;
}

/* The face networks for a request that holds a face, shared by the
 * server; false (the answer given) when they cannot be loaded. */
static bool face_models_for(server_call *c, huella_enrol_request *req)
{
    bool face = false;
    for (size_t i = 0; i < req->n_inputs; i++)
        face |= req->inputs[i].modality == HUELLA_STORE_FACE;
    if (!face)
        return true;
    huella_error err;
    if (server_face_models(c->srv, &req->face_models, &err) != HUELLA_OK) {
        snprintf(c->detail, sizeof(c->detail), "face models: %.200s", err.message);
        server_error(c, 503, "face-unavailable",
                     "this server cannot process faces now (its face networks did not load)");
        return false;
    }
    return true;
}

static bool has_searchable(const images *im)
{
    for (size_t i = 0; i < im->n; i++)
        if (im->in[i].modality == HUELLA_STORE_FINGER || im->in[i].modality == HUELLA_STORE_IRIS ||
            im->in[i].modality == HUELLA_STORE_FACE)
            return true;
    return false;
}

/* Candidates of a search with their juvenile flags, as JSON. */
static json_t *candidates(server_call *c, const huella_identify_result *r)
{
    if (r == NULL)
        return json_array();
    bool *juv = calloc(r->n + 1, sizeof(bool));
    if (juv == NULL)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        if (huella_store_person_juvenile(c->slot->store, (int64_t)r->candidates[i].person, &juv[i],
                                         NULL) != HUELLA_OK)
            juv[i] = false;
    char *cj = NULL;
    json_t *o = NULL;
    if (huella_candidates_json(r, juv, &cj, NULL) == HUELLA_OK)
        o = json_loads(cj, 0, NULL);
    free(cj);
    free(juv);
    return o;
}

/* Extract templates and search the gallery.  *out NULL when the gallery is empty. */
static bool search(server_call *c, const images *im, const huella_identify_options *io,
                   huella_identify_result **out, size_t *gallery_persons)
{
    *out = NULL;
    huella_enrol_request req = {0};
    req.inputs = im->in;
    req.n_inputs = im->n;
    req.ppi = im->ppi;
    if (!face_models_for(c, &req))
        return false;
    huella_enrol_result *res = NULL;
    huella_probe_set *probe = NULL;
    huella_error err;
    huella_status st = huella_enrol_extract(&req, &res, &err);
    if (st == HUELLA_OK)
        st = huella_probe_from_enrol(res, &probe, &err);
    if (st != HUELLA_OK) {
        huella_enrol_result_free(res);
        if (st == HUELLA_E_INPUT || st == HUELLA_E_UNSUPPORTED)
            server_error(c, 422, "unusable-image", "%s", err.message);
        else
            server_error(c, 500, "internal", "the templates could not be made");
        return false;
    }
    if (server_deadline_passed(c)) {
        huella_probe_set_free(probe);
        huella_enrol_result_free(res);
        return false;
    }
    huella_gallery *g = server_gallery_lock(c->srv, false);
    *gallery_persons = huella_gallery_count(g);
    uint64_t t0 = huella_now_ns();
    if (*gallery_persons > 0)
        st = huella_gallery_identify(g, &probe->probe, io, out, &err);
    server_gallery_unlock(c->srv);
    if (st == HUELLA_OK && *out != NULL)
        server_count_search(c->srv, (*out)->comparisons, (double)(huella_now_ns() - t0) / 1e9);
    huella_probe_set_free(probe);
    huella_enrol_result_free(res);
    if (st != HUELLA_OK) {
        server_error(c, 500, "internal", "the search failed");
        return false;
    }
    return true;
}

/* May the caller see this person's record (own agency, or shared for
 * this operation, purpose and legal basis by an agreement in force)? */
static bool visible(server_call *c, int64_t person, const char *operation)
{
    char agency[64];
    if (huella_store_person_agency(c->slot->store, person, agency, NULL) != HUELLA_OK)
        return false;
    if (strcmp(agency, c->who->agency) == 0)
        return true;
    huella_sharing *sh = NULL;
    size_t n = 0;
    if (huella_access_sharings(c->slot->access, agency, c->who->agency, &sh, &n, NULL) != HUELLA_OK)
        return false;
    char now[32];
    huella_utc_now(now);
    huella_access_request ar = {.role = c->who->role,
                                .operation = operation,
                                .purpose = c->req->purpose,
                                .legal_basis = c->req->legal_basis,
                                .user_agency = c->who->agency,
                                .record_agency = agency,
                                .sharing = sh,
                                .n_sharing = n,
                                .now = now};
    bool ok = huella_policy_decide(server_policy(c->srv), &ar) == HUELLA_ALLOW;
    free(sh);
    return ok;
}

void handle_identify(server_call *c)
{
    images im;
    if (!parse_images(c, c->req->body, &im, true))
        return;
    if (!has_searchable(&im)) {
        images_clear(&im);
        server_error(c, 400, "bad-request", "want at least one finger, iris or face image");
        return;
    }
    huella_identify_options io = {0};
    json_t *top = json_object_get(c->req->body, "top");
    if (json_is_integer(top) && json_integer_value(top) > 0 && json_integer_value(top) <= 100)
        io.top_k = (size_t)json_integer_value(top);
    huella_identify_result *r = NULL;
    size_t np = 0;
    bool ok = search(c, &im, &io, &r, &np);
    images_clear(&im);
    if (!ok)
        return;
    json_t *cands = candidates(c, r);
    if (cands == NULL) {
        huella_identify_result_free(r);
        server_error(c, 500, "internal", "out of memory");
        return;
    }
    /* Candidates of other agencies only where a sharing agreement allows
     * identification for this purpose; the others are counted, not named. */
    size_t k = 0, hidden = 0;
    for (size_t i = 0; i < json_array_size(cands);) {
        json_t *e = json_array_get(cands, i);
        int64_t p = (int64_t)json_integer_value(json_object_get(e, "person_id"));
        if (!visible(c, p, "identify")) {
            json_array_remove(cands, i);
            hidden++;
            continue;
        }
        if (k < 8)
            c->persons[k++] = p;
        i++;
    }
    c->json = json_pack("{s:o, s:I, s:I, s:f, s:f, s:I, s:s}", "candidates", cands,
                        "candidates_not_shared", (json_int_t)hidden, "gallery_persons",
                        (json_int_t)np, "threshold_strict", r ? r->threshold_strict : 0.0,
                        "threshold_review", r ? r->threshold_review : 0.0, "comparisons",
                        (json_int_t)(r ? r->comparisons : 0), "notice", NOTICE);
    snprintf(c->detail, sizeof(c->detail), "%zu candidates", json_array_size(cands));
    huella_identify_result_free(r);
}

void handle_verify(server_call *c)
{
    json_t *pid = json_object_get(c->req->body, "person_id");
    if (!json_is_integer(pid) || json_integer_value(pid) <= 0) {
        server_error(c, 400, "bad-request", "verify wants \"person_id\" (a positive integer)");
        return;
    }
    int64_t person = json_integer_value(pid);
    c->persons[0] = person;
    char agency[64];
    huella_status st = huella_store_person_agency(c->slot->store, person, agency, NULL);
    if (st == HUELLA_E_NOTFOUND) {
        server_error(c, 404, "not-found", "no person %lld", (long long)person);
        return;
    }
    if (st != HUELLA_OK || strcmp(agency, c->who->agency) != 0) {
        /* Verification against another agency's record is not shareable here. */
        server_error(c, 403, "other-agency", "the person's record belongs to another agency");
        return;
    }
    images im;
    if (!parse_images(c, c->req->body, &im, true))
        return;
    if (!has_searchable(&im)) {
        images_clear(&im);
        server_error(c, 400, "bad-request", "want at least one finger, iris or face image");
        return;
    }
    /* 1:1 against the person's templates: the gallery's search with the
     * candidate list cut to that person (exhaustive, so every slot is
     * compared), thresholds at the gallery's size. */
    huella_identify_options io = {0};
    io.top_k = 1000000;
    io.exhaustive = true;
    huella_identify_result *r = NULL;
    size_t np = 0;
    bool ok = search(c, &im, &io, &r, &np);
    images_clear(&im);
    if (!ok)
        return;
    const huella_candidate *cand = NULL;
    for (size_t i = 0; r != NULL && i < r->n; i++)
        if ((int64_t)r->candidates[i].person == person)
            cand = &r->candidates[i];
    double llr = cand != NULL ? cand->llr : 0;
    double ts = r != NULL ? r->threshold_strict : 0;
    bool match = cand != NULL && cand->strict;
    json_t *ev = json_array();
    if (cand != NULL) {
        huella_identify_result one = *r;
        one.n = 1;
        one.candidates = (huella_candidate *)cand;
        json_t *cj = candidates(c, &one);
        json_t *first = json_array_get(cj, 0);
        if (first != NULL)
            json_array_extend(ev, json_object_get(first, "evidence"));
        json_decref(cj);
    }
    c->json = json_pack("{s:I, s:b, s:s, s:f, s:f, s:o, s:s}", "person_id", (json_int_t)person,
                        "match", match, "decision", match ? "match" : "no match", "fused_llr", llr,
                        "threshold", ts, "evidence", ev, "notice", NOTICE);
    snprintf(c->detail, sizeof(c->detail), "%s", match ? "match" : "no match");
    huella_identify_result_free(r);
}

/* ---- screening ---- */

static json_t *date_json(const huella_partial_date *d, bool has)
{
    if (!has)
        return json_null();
    char b[16];
    huella_partial_date_format(d, b, sizeof(b));
    return json_string(b);
}

static json_t *entry_json(const huella_watchlist_entry *e)
{
    json_t *names = json_array();
    for (size_t i = 0; i < e->n_names; i++)
        json_array_append_new(names, json_string(e->names[i]));
    json_t *nat = json_array();
    for (size_t i = 0; i < e->n_nationalities; i++)
        json_array_append_new(nat, json_string(e->nationalities[i]));
    json_t *docs = json_array();
    for (size_t i = 0; i < e->n_documents; i++)
        json_array_append_new(docs, json_pack("{s:s, s:o}", "number", e->documents[i].number,
                                              "issuing_state",
                                              e->documents[i].issuing_state[0]
                                                  ? json_string(e->documents[i].issuing_state)
                                                  : json_null()));
    char sex[2] = {e->sex, '\0'};
    char sg[2] = {e->source_grade, '\0'};
    json_t *prov = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:s}", "source_agency", e->source_agency, "source_ref",
        e->source_ref, "legal_basis", e->legal_basis, "date_added", date_json(&e->date_added, true),
        "review_date", date_json(&e->review_date, e->has_review_date), "expiry_date",
        date_json(&e->expiry_date, true), "batch", (json_int_t)e->batch.id, "remarks", e->remarks);
    json_t *grading = json_pack("{s:s, s:s, s:i, s:s}", "source", sg, "source_meaning",
                                huella_watchlist_source_grade_meaning(e->source_grade),
                                "information", e->info_grade, "information_meaning",
                                huella_watchlist_info_grade_meaning(e->info_grade));
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)e->id,
                     "category", huella_watchlist_category_name(e->category), "names", names,
                     "birth_date", date_json(&e->birth_date, e->has_birth_date), "nationalities",
                     nat, "sex", e->sex ? json_string(sex) : json_null(), "documents", docs,
                     "provenance", prov, "grading", grading);
}

static const char *sign_word(int v)
{
    return v > 0 ? "match" : v < 0 ? "mismatch" : "unknown";
}

static json_t *hit_json(const huella_screen_hit *h, size_t rank, const char *source)
{
    const huella_watchlist_entry *e = &h->entry;
    json_t *ex = json_pack(
        "{s:o, s:s, s:s, s:s, s:s, s:b}", "matched_name",
        h->name_index != SIZE_MAX ? json_string(e->names[h->name_index]) : json_null(),
        "matched_name_kind",
        h->name_index == 0          ? "primary"
        : h->name_index == SIZE_MAX ? "none"
                                    : "alias",
        "birth_date", huella_date_evidence_name(h->birth_date), "nationality",
        sign_word(h->nationality), "sex", sign_word(h->sex), "document_match", h->document_match);
    json_t *entry = entry_json(e);
    json_t *o = json_pack("{s:I, s:I, s:s, s:f, s:f, s:s, s:o, s:O, s:O, s:o}", "rank",
                          (json_int_t)rank, "entry_id", (json_int_t)e->id, "category",
                          huella_watchlist_category_name(e->category), "score", h->score,
                          "name_score", h->name_score, "query", source, "explanation", ex,
                          "provenance", json_object_get(entry, "provenance"), "grading",
                          json_object_get(entry, "grading"), "entry", entry);
    return o;
}

/* Screen one query, appending hits to arr. */
static bool screen_into(server_call *c, const huella_screen_query *q, const char *source,
                        json_t *arr)
{
    huella_screen_result r = {0};
    huella_error err;
    huella_watchlist *wl = server_watchlist_lock(c->srv);
    huella_status st = huella_watchlist_screen(wl, q, &r, &err);
    server_watchlist_unlock(c->srv);
    if (st == HUELLA_E_INPUT) {
        server_error(c, 400, "bad-request", "%s", err.message);
        return false;
    }
    if (st != HUELLA_OK) {
        server_error(c, 500, "internal", "screening failed");
        return false;
    }
    for (size_t i = 0; i < r.n_hits; i++)
        json_array_append_new(arr, hit_json(&r.hits[i], json_array_size(arr) + 1, source));
    huella_screen_result_clear(&r);
    return true;
}

/* A query from name/dob/nationality/sex; false with an error set. */
static bool query_from(server_call *c, json_t *o, huella_screen_query *q)
{
    memset(q, 0, sizeof(*q));
    q->name = json_string_value(json_object_get(o, "name"));
    const char *dob = json_string_value(json_object_get(o, "dob"));
    if (dob == NULL)
        dob = json_string_value(json_object_get(o, "date_of_birth"));
    if (dob != NULL) {
        if (huella_partial_date_parse(dob, &q->birth_date, NULL) != HUELLA_OK) {
            server_error(c, 400, "bad-request", "\"dob\": YYYY, YYYY-MM or YYYY-MM-DD");
            return false;
        }
        q->has_birth_date = true;
    }
    q->nationality = json_string_value(json_object_get(o, "nationality"));
    if (q->nationality != NULL && strlen(q->nationality) != 3) {
        server_error(c, 400, "bad-request", "\"nationality\": three letters");
        return false;
    }
    const char *sex = json_string_value(json_object_get(o, "sex"));
    if (sex != NULL) {
        if (strlen(sex) != 1 || strchr("MFX", sex[0]) == NULL) {
            server_error(c, 400, "bad-request", "\"sex\": M, F or X");
            return false;
        }
        q->sex = sex[0];
    }
    return true;
}

/* Screen the MRZ lines of o["mrz"] (if any) into arr. */
static bool screen_mrz(server_call *c, json_t *mrz, json_t *arr, json_t **parsed)
{
    *parsed = NULL;
    if (mrz == NULL || json_is_null(mrz))
        return true;
    const char *lines[3];
    size_t n = json_array_size(mrz);
    if (!json_is_array(mrz) || n < 2 || n > 3) {
        server_error(c, 400, "bad-request", "\"mrz\": two or three lines");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if ((lines[i] = json_string_value(json_array_get(mrz, i))) == NULL) {
            server_error(c, 400, "bad-request", "\"mrz\": lines are strings");
            return false;
        }
    huella_mrz m;
    huella_error err;
    if (huella_mrz_parse(lines, n, 0, 0, 0, &m, &err) != HUELLA_OK) {
        server_error(c, 400, "bad-request", "mrz: %s", err.message);
        return false;
    }
    char name[100];
    snprintf(name, sizeof(name), "%s %s", m.given_names, m.surname);
    huella_screen_query q = {0};
    q.name = name;
    if (m.birth_date.valid) {
        char d[16];
        snprintf(d, sizeof(d), "%04d-%02d-%02d", m.birth_date.year, m.birth_date.month,
                 m.birth_date.day);
        q.has_birth_date = huella_partial_date_parse(d, &q.birth_date, NULL) == HUELLA_OK;
    }
    q.nationality = strlen(m.nationality) == 3 ? m.nationality : NULL;
    q.sex = m.sex == 'M' || m.sex == 'F' ? m.sex : 0;
    q.document_number = m.document_number;
    q.issuing_state = m.issuing_state;
    *parsed = json_pack("{s:s, s:b, s:s}", "format", huella_mrz_format_name(m.format), "valid",
                        m.valid, "issuing_state", m.issuing_state);
    return screen_into(c, &q, "mrz", arr);
}

void handle_screen(server_call *c)
{
    json_t *body = c->req->body;
    huella_screen_query q;
    if (!query_from(c, body, &q))
        return;
    json_t *mrz = json_object_get(body, "mrz");
    if ((q.name == NULL || q.name[0] == '\0') && mrz == NULL) {
        server_error(c, 400, "bad-request", "screen wants \"name\" or \"mrz\"");
        return;
    }
    json_t *hits = json_array(), *parsed = NULL;
    if ((q.name != NULL && q.name[0] != '\0' && !screen_into(c, &q, "name", hits)) ||
        !screen_mrz(c, mrz, hits, &parsed)) {
        json_decref(hits);
        return;
    }
    c->json = json_pack("{s:o, s:o, s:s}", "watchlist_hits", hits, "mrz",
                        parsed ? parsed : json_null(), "notice", NOTICE);
    snprintf(c->detail, sizeof(c->detail), "%zu hits", json_array_size(hits));
}

/* ---- encounters ---- */

static bool encounter_json(server_call *c, json_t *body, images *im, char **bio)
{
    json_t *enc = json_object_get(body, "encounter");
    static const char *const req_keys[] = {"site", "device", "operator"};
    if (!json_is_object(enc)) {
        server_error(c, 400, "bad-request",
                     "want \"encounter\": {\"site\", \"device\", \"operator\"}");
        return false;
    }
    for (size_t i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(enc, req_keys[i]));
        if (v == NULL || v[0] == '\0' || strlen(v) > 200) {
            server_error(c, 400, "bad-request", "encounter.%s: 1 to 200 characters", req_keys[i]);
            return false;
        }
    }
    json_t *b = json_object_get(body, "bio");
    if (b != NULL && !json_is_object(b)) {
        server_error(c, 400, "bad-request", "\"bio\" is an object (docs/store.md)");
        return false;
    }
    if (!parse_images(c, body, im, true))
        return false;
    if (im->n == 0) {
        server_error(c, 400, "bad-request", "an encounter wants at least one image");
        return false;
    }
    *bio = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
    return true;
}

static json_t *dup_case(server_call *c, int64_t id);

void handle_encounter_post(server_call *c)
{
    const server_request *rq = c->req;
    if (rq->body == NULL && strcmp(rq->ctype, "application/octet-stream") != 0) {
        server_error(c, 415, "unsupported-media-type",
                     "send application/json or an ANSI/NIST-ITL transaction as "
                     "application/octet-stream");
        return;
    }
    const char *key = rq->idem_key[0] ? rq->idem_key : NULL;
    if (key != NULL) {
        char *answer = NULL;
        int r = server_idem_begin(c->srv, key, &answer);
        if (r == 1) {
            c->raw = answer;
            c->ctype = "application/json";
            c->status = 200;
            json_t *o = json_loads(answer, 0, NULL);
            c->persons[0] = json_integer_value(json_object_get(o, "person_id"));
            json_decref(o);
            snprintf(c->detail, sizeof(c->detail), "idempotent repeat");
            return;
        }
        if (r == 2) {
            server_error(c, 409, "in-progress",
                         "a request with this Idempotency-Key is still being processed");
            return;
        }
        /* Answered before a restart: the store has the ids. */
        int64_t e_id, p_id, case_id;
        char out[16];
        if (huella_store_idempotency_get(c->slot->store, key, &e_id, &p_id, out, &case_id, NULL) ==
            HUELLA_OK) {
            json_t *cands = json_array();
            if (case_id > 0 && case_id <= SERVER_WL_CASE_BASE) {
                json_t *cs = dup_case(c, case_id);
                json_array_extend(cands, json_object_get(cs, "candidates"));
                json_decref(cs);
            }
            c->status = 200;
            c->persons[0] = p_id;
            c->json = json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:b, s:s}", "encounter_id",
                                (json_int_t)e_id, "person_id", (json_int_t)p_id, "outcome", out,
                                "case_id", case_id > 0 ? json_integer(case_id) : json_null(),
                                "candidates", cands, "watchlist_hits", json_array(), "replayed", 1,
                                "notice", NOTICE);
            char *text = json_dumps(c->json, JSON_COMPACT);
            server_idem_end(c->srv, key, text);
            free(text);
            snprintf(c->detail, sizeof(c->detail), "idempotent repeat");
            return;
        }
    }
    images im;
    memset(&im, 0, sizeof(im));
    char *bio = NULL;
    huella_an2k_encounter *an2k = NULL;
    json_t *an2k_notes = NULL;
    huella_enrol_request req = {0};
    if (rq->body == NULL) {
        huella_error aerr;
        huella_status ast = huella_an2k_encounter_read(rq->raw, rq->raw_len, &an2k, &aerr);
        if (ast != HUELLA_OK || an2k->n == 0) {
            if (key != NULL)
                server_idem_end(c->srv, key, NULL);
            if (ast == HUELLA_OK)
                server_error(c, 422, "invalid-encounter",
                             "the transaction holds no finger, iris or face image huella enrols");
            else
                server_error(c, ast == HUELLA_E_NOMEM ? 500 : 400, "bad-transaction",
                             "ANSI/NIST-ITL: %s", aerr.message);
            huella_an2k_encounter_free(an2k);
            return;
        }
        an2k_notes = json_loads(an2k->notes_json, 0, NULL);
        req.inputs = an2k->inputs;
        req.n_inputs = an2k->n;
        req.ppi = an2k->ppi;
        /* Where and by whom: the kit's token names the operator; the
         * transaction's own agency fields are not mapped yet. */
        req.encounter.site = "an2k-transaction";
        req.encounter.device = "an2k-transaction";
        req.encounter.operator_id = c->who->user;
    } else {
        if (!encounter_json(c, rq->body, &im, &bio)) {
            if (key != NULL)
                server_idem_end(c->srv, key, NULL);
            return;
        }
        json_t *enc = json_object_get(rq->body, "encounter");
        req.inputs = im.in;
        req.n_inputs = im.n;
        req.ppi = im.ppi;
        req.bio_json = bio;
        req.encounter.captured = json_string_value(json_object_get(enc, "captured_at"));
        req.encounter.site = json_string_value(json_object_get(enc, "site"));
        req.encounter.device = json_string_value(json_object_get(enc, "device"));
        req.encounter.operator_id = json_string_value(json_object_get(enc, "operator"));
    }
    req.encounter.purpose = rq->purpose;
    req.encounter.legal_basis = rq->legal_basis;
    huella_dedup_options opt = {0};
    bool searchable = false;
    for (size_t i = 0; i < req.n_inputs; i++)
        searchable |= req.inputs[i].modality == HUELLA_STORE_FINGER ||
                      req.inputs[i].modality == HUELLA_STORE_IRIS ||
                      req.inputs[i].modality == HUELLA_STORE_FACE;
    opt.no_dedup = !searchable;
    huella_enrol_result *res = NULL;
    huella_dedup_result *dd = NULL;
    huella_error err;
    /* each answers for itself when it fails */
    if (server_deadline_passed(c) || !face_models_for(c, &req)) {
        if (key != NULL)
            server_idem_end(c->srv, key, NULL);
        images_clear(&im);
        huella_an2k_encounter_free(an2k);
        json_decref(an2k_notes);
        free(bio);
        return;
    }
    huella_gallery *g = server_gallery_lock(c->srv, true);
    /* One transaction: the enrolment, the new person's agency (the
     * enrolling user's) and the idempotency key. */
    huella_status st = huella_store_begin(c->slot->store, &err);
    if (st == HUELLA_OK)
        st = huella_enrol_dedup(c->slot->store, g, &req, &opt, &res, &dd, &err);
    if (st == HUELLA_OK && dd->search != NULL)
        server_count_search(c->srv, dd->search->comparisons, -1);
    if (st == HUELLA_OK) {
        const char *o = dd->outcome == HUELLA_ENROL_LINK   ? "linked"
                        : dd->outcome == HUELLA_ENROL_CASE ? "case"
                                                           : "new";
        if (dd->outcome != HUELLA_ENROL_LINK)
            st = huella_store_person_set_agency(c->slot->store, res->person_id, c->who->agency,
                                                &err);
        if (st == HUELLA_OK && key != NULL)
            st = huella_store_idempotency_put(c->slot->store, key, res->encounter_id,
                                              res->person_id, o, res->case_id, &err);
        if (st == HUELLA_OK)
            st = huella_store_commit(c->slot->store, &err);
        if (st != HUELLA_OK) {
            /* Nothing was stored: the gallery forgets the templates too. */
            huella_store_rollback(c->slot->store);
            server_gallery_reload_person(c->slot->store, g, res->person_id);
            st = HUELLA_E_IO;
        }
    } else {
        huella_store_rollback(c->slot->store);
    }
    server_gallery_unlock(c->srv);
    images_clear(&im);
    huella_an2k_encounter_free(an2k);
    free(bio);
    if (st != HUELLA_OK) {
        json_decref(an2k_notes);
        if (key != NULL)
            server_idem_end(c->srv, key, NULL);
        if (st == HUELLA_E_INPUT || st == HUELLA_E_UNSUPPORTED)
            server_error(c, 422, "invalid-encounter", "%s", err.message);
        else
            server_error(c, 500, "internal", "the encounter could not be enrolled");
        huella_enrol_result_free(res);
        huella_dedup_result_free(dd);
        return;
    }
    c->persons[0] = res->person_id;
    json_t *cands = dd->candidates_json ? json_loads(dd->candidates_json, 0, NULL) : json_array();
    /* The kit sees candidates of its agency or shared with it; the case
     * keeps them all for the examiners. */
    size_t k = 1, i, hidden = 0;
    for (i = 0; cands != NULL && i < json_array_size(cands);) {
        int64_t p =
            (int64_t)json_integer_value(json_object_get(json_array_get(cands, i), "person_id"));
        if (!visible(c, p, "identify")) {
            json_array_remove(cands, i);
            hidden++;
            continue;
        }
        if (k < 8)
            c->persons[k++] = p;
        i++;
    }
    /* Name screening: the names of bio and the MRZ. */
    json_t *hits = json_array(), *parsed = NULL;
    bool ok = true;
    json_t *b = rq->body != NULL ? json_object_get(rq->body, "bio") : NULL;
    json_t *names = json_object_get(b, "names");
    json_t *nm;
    json_array_foreach(names, i, nm)
    {
        const char *name = json_is_object(nm) ? json_string_value(json_object_get(nm, "written"))
                                              : json_string_value(nm);
        if (!ok || name == NULL)
            continue;
        huella_screen_query q = {0};
        q.name = name;
        const char *dob = json_string_value(json_object_get(b, "date_of_birth"));
        if (dob != NULL)
            q.has_birth_date = huella_partial_date_parse(dob, &q.birth_date, NULL) == HUELLA_OK;
        const char *sex = json_string_value(json_object_get(b, "sex"));
        q.sex = sex != NULL && strlen(sex) == 1 && strchr("MFX", sex[0]) ? sex[0] : 0;
        ok = screen_into(c, &q, "bio.names", hits);
    }
    if (ok)
        ok = screen_mrz(c, rq->body ? json_object_get(rq->body, "mrz") : NULL, hits, &parsed);
    json_decref(parsed);
    if (!ok) {
        /* The enrolment is committed: answer it, with the screening failure said. */
        json_decref(c->json);
        c->json = NULL;
        json_decref(hits);
        hits = json_array();
    }
    int64_t wl_case = 0;
    if (json_array_size(hits) > 0) {
        /* People decide: a hit is a case for examiners, nothing more. */
        char *hj = json_dumps(hits, JSON_COMPACT);
        wl_case = hj != NULL
                      ? server_cases_open_watchlist(server_case_book(c->srv), res->encounter_id,
                                                    res->person_id, c->who->user, hj)
                      : 0;
        free(hj);
    }
    const char *outcome = dd->outcome == HUELLA_ENROL_LINK   ? "linked"
                          : dd->outcome == HUELLA_ENROL_CASE ? "case"
                                                             : "new";
    c->status = 201;
    c->outcome = "allowed";
    c->json = json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:s, s:s}", "encounter_id",
                        (json_int_t)res->encounter_id, "person_id", (json_int_t)res->person_id,
                        "outcome", outcome, "case_id",
                        res->case_id > 0 ? json_integer(res->case_id)
                        : wl_case > 0    ? json_integer(wl_case)
                                         : json_null(),
                        "candidates", cands ? cands : json_array(), "watchlist_hits", hits, "why",
                        dd->why ? dd->why : "", "notice", NOTICE);
    if (!ok)
        json_object_set_new(c->json, "screening_error", json_string("the name screening failed"));
    if (an2k_notes != NULL)
        json_object_set_new(c->json, "an2k_notes", an2k_notes);
    json_object_set_new(c->json, "watchlist_case_id",
                        wl_case > 0 ? json_integer(wl_case) : json_null());
    json_object_set_new(c->json, "candidates_not_shared", json_integer((json_int_t)hidden));
    /* Examiners' screens learn of the new cases (ids and kinds only). */
    if (res->case_id > 0)
        server_events_publish(c->srv, "case",
                              json_pack("{s:I, s:s, s:I}", "case_id", (json_int_t)res->case_id,
                                        "kind", "possible-duplicate", "encounter_id",
                                        (json_int_t)res->encounter_id));
    if (wl_case > 0)
        server_events_publish(c->srv, "case",
                              json_pack("{s:I, s:s, s:I, s:I}", "case_id", (json_int_t)wl_case,
                                        "kind", "watchlist", "encounter_id",
                                        (json_int_t)res->encounter_id, "hits",
                                        (json_int_t)json_array_size(hits)));
    snprintf(c->detail, sizeof(c->detail), "encounter %lld: %s, %zu watchlist hits",
             (long long)res->encounter_id, outcome, json_array_size(hits));
    if (key != NULL) {
        char *text = json_dumps(c->json, JSON_COMPACT);
        server_idem_end(c->srv, key, text);
        free(text);
    }
    huella_enrol_result_free(res);
    huella_dedup_result_free(dd);
}

/* ---- cases ---- */

void server_gallery_reload_person(huella_store *s, huella_gallery *g, int64_t person)
{
    /* best effort: a person left out here is found again at the next start */
    huella_gallery_remove_person(g, (uint64_t)person, NULL);
    huella_gallery_load_person(s, g, person, NULL);
}

static json_t *dup_case(server_call *c, int64_t id)
{
    char *cj = NULL;
    json_t *o = NULL;
    if (huella_store_case_json(c->slot->store, id, &cj, NULL) == HUELLA_OK)
        o = json_loads(cj, 0, NULL);
    free(cj);
    if (o != NULL) {
        json_object_set_new(o, "kind", json_string("possible-duplicate"));
        json_object_set_new(o, "decisions", server_cases_decisions(server_case_book(c->srv), id));
    }
    return o;
}

void handle_cases_list(server_call *c)
{
    const char *sa = c->req->status_arg[0] ? c->req->status_arg : "open";
    huella_store_case_status st = HUELLA_CASE_OPEN;
    bool dup = true, wl = true;
    if (strcmp(sa, "open") == 0)
        st = HUELLA_CASE_OPEN;
    else if (strcmp(sa, "confirmed-same") == 0)
        st = HUELLA_CASE_CONFIRMED_SAME, wl = false;
    else if (strcmp(sa, "confirmed-different") == 0)
        st = HUELLA_CASE_CONFIRMED_DIFFERENT, wl = false;
    else if (strcmp(sa, "confirmed") == 0 || strcmp(sa, "dismissed") == 0)
        dup = false;
    else {
        server_error(c, 400, "bad-request",
                     "status: open, confirmed-same, confirmed-different (possible duplicates), "
                     "confirmed or dismissed (watchlist hits)");
        return;
    }
    int64_t *ids = NULL;
    size_t n = 0;
    if (dup && huella_store_cases(c->slot->store, st, &ids, &n, NULL) != HUELLA_OK) {
        server_error(c, 500, "internal", "the cases could not be read");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = dup_case(c, ids[i]);
        if (o != NULL)
            json_array_append_new(arr, o);
    }
    free(ids);
    if (wl) {
        json_t *w = server_cases_watchlist_list(server_case_book(c->srv), sa);
        json_array_extend(arr, w);
        json_decref(w);
    }
    c->json = json_pack("{s:s, s:o}", "status", sa, "cases", arr);
    snprintf(c->detail, sizeof(c->detail), "%zu cases", json_array_size(arr));
}

/* ---- explanation pictures ---- */

/* A finger sample's image at 500 ppi and its template, or false. */
static bool finger_sample(huella_store *st, int64_t id, huella_image **img,
                          huella_finger_template **t)
{
    *img = NULL;
    *t = NULL;
    huella_store_sample_data *d = NULL;
    if (huella_store_sample_get(st, id, &d, NULL) != HUELLA_OK)
        return false;
    bool ok = d->modality == HUELLA_STORE_FINGER && d->image != NULL;
    for (size_t k = 0; ok && *t == NULL && k < d->n_templates; k++)
        if (d->template_type[k] == HUELLA_STORE_TEMPLATE_FINGER &&
            huella_finger_template_decode(d->template_data[k], d->template_len[k], t, NULL) !=
                HUELLA_OK)
            ok = false;
    huella_image *raw = NULL;
    ok = ok && *t != NULL &&
         huella_image_decode(d->image, d->image_len, NULL, &raw, NULL) == HUELLA_OK &&
         huella_finger_image_500(raw, 0, img, NULL) == HUELLA_OK;
    huella_image_free(raw);
    huella_store_sample_data_free(d);
    if (!ok) {
        huella_image_free(*img);
        huella_finger_template_free(*t);
        *img = NULL;
        *t = NULL;
    }
    return ok;
}

/* The picture for examiners of one finger of a possible duplicate: the
 * new capture beside the candidate's sample, the minutiae the matcher
 * paired joined by lines (huella_finger_draw_pair), as SVG text. */
static char *finger_picture(server_call *c, int64_t probe_id, int64_t cand_id, size_t *n_pairs)
{
    huella_image *ia = NULL, *ib = NULL;
    huella_finger_template *ta = NULL, *tb = NULL;
    huella_finger_prepared *pa = NULL, *pb = NULL;
    char *svg = NULL;
    char base[4200], path[4300];
    snprintf(base, sizeof(base), "%s/.picture-XXXXXX", server_db_dir(c->srv));
    if (finger_sample(c->slot->store, probe_id, &ia, &ta) &&
        finger_sample(c->slot->store, cand_id, &ib, &tb) &&
        huella_finger_prepare(ta, &pa, NULL) == HUELLA_OK &&
        huella_finger_prepare(tb, &pb, NULL) == HUELLA_OK) {
        huella_finger_pairing pairs[HUELLA_FINGER_MAX_MINUTIAE];
        double score =
            huella_finger_compare_explain(pa, pb, pairs, HUELLA_FINGER_MAX_MINUTIAE, n_pairs);
        size_t np = *n_pairs < HUELLA_FINGER_MAX_MINUTIAE ? *n_pairs : HUELLA_FINGER_MAX_MINUTIAE;
        int fd = mkstemp(base);
        if (fd >= 0) {
            close(fd);
            snprintf(path, sizeof(path), "%s.svg", base);
            uint8_t *data = NULL;
            size_t len = 0;
            if (rename(base, path) == 0 &&
                huella_finger_draw_pair(ia, ta, ib, tb, pairs, np, score, path, NULL) ==
                    HUELLA_OK &&
                huella_file_read(path, 64u << 20, &data, &len, NULL) == HUELLA_OK) {
                svg = malloc(len + 1);
                if (svg != NULL) {
                    memcpy(svg, data, len);
                    svg[len] = '\0';
                }
            }
            free(data);
            unlink(path);
            unlink(base);
        }
    }
    huella_finger_prepared_free(pa);
    huella_finger_prepared_free(pb);
    huella_finger_template_free(ta);
    huella_finger_template_free(tb);
    huella_image_free(ia);
    huella_image_free(ib);
    return svg;
}

/* ?pictures=1 on a possible-duplicate case: each finger's evidence gets
 * "picture_svg" and "paired_minutiae" (the capture of the case's
 * encounter at that position beside the candidate's sample). */
static void add_pictures(server_call *c, json_t *cs)
{
    int64_t enc = json_integer_value(json_object_get(cs, "encounter_id"));
    int64_t probe[11] = {0};
    int64_t *ids = NULL;
    size_t n = 0;
    if (enc <= 0 ||
        huella_store_encounter_samples(c->slot->store, enc, &ids, &n, NULL) != HUELLA_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        huella_store_sample_data *d = NULL;
        if (huella_store_sample_get(c->slot->store, ids[i], &d, NULL) == HUELLA_OK &&
            d->modality == HUELLA_STORE_FINGER && d->position >= 1 && d->position <= 10)
            probe[d->position] = ids[i];
        huella_store_sample_data_free(d);
    }
    free(ids);
    size_t i, k;
    json_t *cand, *e;
    json_array_foreach(json_object_get(cs, "candidates"), i, cand)
    {
        json_t *ev = json_object_get(cand, "evidence");
        if (json_is_object(ev) && json_is_object(json_object_get(ev, "candidate")))
            ev = json_object_get(ev, "candidate"); /* as recorded at enrolment */
        if (json_is_object(ev))
            ev = json_object_get(ev, "evidence");
        json_array_foreach(ev, k, e)
        {
            const char *m = json_string_value(json_object_get(e, "modality"));
            json_int_t pos = json_integer_value(json_object_get(e, "finger_position"));
            json_int_t sid = json_integer_value(json_object_get(e, "sample_id"));
            if (m == NULL || strcmp(m, "finger") != 0 || pos < 1 || pos > 10 || probe[pos] == 0 ||
                sid <= 0)
                continue;
            size_t pairs = 0;
            char *svg = finger_picture(c, probe[pos], sid, &pairs);
            if (svg == NULL)
                continue;
            json_object_set_new(e, "picture_svg", json_string(svg));
            json_object_set_new(e, "paired_minutiae", json_integer((json_int_t)pairs));
            free(svg);
        }
    }
}

void handle_case_get(server_call *c)
{
    int64_t id = c->req->id;
    json_t *o = id > SERVER_WL_CASE_BASE ? server_cases_watchlist_get(server_case_book(c->srv), id)
                                         : dup_case(c, id);
    if (o == NULL) {
        server_error(c, 404, "not-found", "no case %lld", (long long)id);
        return;
    }
    c->persons[0] = json_integer_value(json_object_get(o, "person_id"));
    if (c->req->pictures && id <= SERVER_WL_CASE_BASE)
        add_pictures(c, o);
    json_object_set_new(o, "notice", json_string(NOTICE));
    c->json = o;
    snprintf(c->detail, sizeof(c->detail), "case %lld%s", (long long)id,
             c->req->pictures ? " with pictures" : "");
}

void handle_case_decide(server_call *c)
{
    const char *d = json_string_value(json_object_get(c->req->body, "decision"));
    int64_t id = c->req->id;
    bool wl = id > SERVER_WL_CASE_BASE;
    if (c->req->reason[0] == '\0') {
        server_error(c, 400, "reason-missing", "a decision needs a \"reason\"");
        return;
    }
    /* same/confirmed: the match holds; different/dismissed: it does not. */
    bool holds;
    if (d != NULL && (strcmp(d, "same") == 0 || strcmp(d, "confirmed") == 0))
        holds = true;
    else if (d != NULL && (strcmp(d, "different") == 0 || strcmp(d, "dismissed") == 0))
        holds = false;
    else {
        server_error(c, 400, "bad-request",
                     "\"decision\": same, different, confirmed or dismissed");
        return;
    }
    int64_t same = 0;
    if (holds && !wl) {
        json_t *p = json_object_get(c->req->body, "person_id");
        same = json_integer_value(p);
        if (!json_is_integer(p) || same <= 0) {
            server_error(c, 400, "bad-request",
                         "\"same\" names the candidate: \"person_id\" (a positive integer)");
            return;
        }
    }
    /* The case, and whether it is still open. */
    json_t *cs = wl ? server_cases_watchlist_get(server_case_book(c->srv), id) : dup_case(c, id);
    if (cs == NULL) {
        server_error(c, 404, "not-found", "no case %lld", (long long)id);
        return;
    }
    bool open = strcmp(json_string_value(json_object_get(cs, "status")) ?: "", "open") == 0;
    int64_t enc = json_integer_value(json_object_get(cs, "encounter_id"));
    c->persons[0] = wl ? json_integer_value(json_object_get(cs, "person_id")) : same;
    json_decref(cs);
    if (!open) {
        server_error(c, 409, "not-open", "case %lld is already decided", (long long)id);
        return;
    }
    const char *kind = wl ? "watchlist" : "possible-duplicate";
    const char *norm = wl ? (holds ? "confirmed" : "dismissed") : (holds ? "same" : "different");
    unsigned needed = huella_policy_decisions_needed(server_policy(c->srv), kind), agreeing = 0;
    int r = server_cases_decide(server_case_book(c->srv), id, c->who->user, norm, same,
                                c->req->reason, &agreeing);
    if (r == 1) {
        server_error(c, 409, "already-decided",
                     "%s has already decided case %lld; another examiner must decide", c->who->user,
                     (long long)id);
        return;
    }
    if (r != 0) {
        server_error(c, 500, "internal", "the decision could not be stored");
        return;
    }
    bool counts = agreeing >= needed;
    const char *status = "open";
    if (counts && wl) {
        status = norm;
        server_cases_watchlist_close(server_case_book(c->srv), id, norm);
    } else if (counts) {
        huella_store_case_status st =
            holds ? HUELLA_CASE_CONFIRMED_SAME : HUELLA_CASE_CONFIRMED_DIFFERENT;
        int64_t owner = 0;
        if (enc > 0 &&
            huella_store_encounter_person(c->slot->store, enc, &owner, NULL) != HUELLA_OK)
            owner = 0;
        huella_error err;
        huella_status rs = huella_store_case_resolve(c->slot->store, id, st, same, c->who->user,
                                                     c->req->reason, &err);
        if (rs != HUELLA_OK) {
            server_error(c, rs == HUELLA_E_INPUT ? 409 : 500,
                         rs == HUELLA_E_INPUT ? "not-open" : "internal", "%s",
                         rs == HUELLA_E_INPUT ? err.message : "the decision could not be applied");
            return;
        }
        status = huella_store_case_status_name(st);
        if (holds) {
            /* The encounter moved from its owner to the candidate: reload
             * both persons' templates in the gallery from the store. */
            huella_gallery *g = server_gallery_lock(c->srv, true);
            if (owner > 0)
                server_gallery_reload_person(c->slot->store, g, owner);
            server_gallery_reload_person(c->slot->store, g, same);
            server_gallery_unlock(c->srv);
        }
    }
    c->status = 201;
    c->json =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:i, s:i}", "case_id", (json_int_t)id, "kind",
                  kind, "decision", norm, "by", c->who->user, "status", status, "counts", counts,
                  "agreeing_decisions", (int)agreeing, "decisions_needed", (int)needed);
    snprintf(c->detail, sizeof(c->detail), "case %lld: %s (%u of %u)", (long long)id, norm,
             agreeing, needed);
}

/* ---- watchlists ---- */

void handle_wl_list(server_call *c)
{
    huella_watchlist *wl = server_watchlist_lock(c->srv);
    int64_t *ids = NULL;
    size_t n = 0;
    huella_status st = huella_watchlist_ids(wl, &ids, &n, NULL);
    json_t *arr = json_array();
    huella_watchlist_entry *e = malloc(sizeof(*e));
    for (size_t i = 0; st == HUELLA_OK && e != NULL && i < n; i++)
        if ((st = huella_watchlist_get(wl, ids[i], e, NULL)) == HUELLA_OK)
            json_array_append_new(arr, entry_json(e));
    server_watchlist_unlock(c->srv);
    free(e);
    free(ids);
    if (st != HUELLA_OK || e == NULL) {
        json_decref(arr);
        server_error(c, 500, "internal", "the watchlist could not be read");
        return;
    }
    c->json = json_pack("{s:I, s:o}", "count", (json_int_t)n, "entries", arr);
}

static void wl_get_id(server_call *c, int64_t id, unsigned ok_status)
{
    huella_watchlist_entry *e = malloc(sizeof(*e));
    if (e == NULL) {
        server_error(c, 500, "internal", "out of memory");
        return;
    }
    huella_watchlist *wl = server_watchlist_lock(c->srv);
    huella_status st = huella_watchlist_get(wl, id, e, NULL);
    char *updates = NULL;
    if (st == HUELLA_OK)
        st = huella_watchlist_updates(wl, id, &updates, NULL);
    server_watchlist_unlock(c->srv);
    if (st == HUELLA_E_NOTFOUND)
        server_error(c, 404, "not-found", "no watchlist entry %lld", (long long)id);
    else if (st != HUELLA_OK)
        server_error(c, 500, "internal", "the watchlist could not be read");
    else {
        c->status = ok_status;
        c->json = entry_json(e);
        json_t *u = json_loads(updates, 0, NULL);
        json_object_set_new(c->json, "updates", u != NULL ? u : json_array());
    }
    free(updates);
    free(e);
}

void handle_wl_get(server_call *c)
{
    wl_get_id(c, c->req->id, 200);
}

/* Write the body to a private file in the database directory for the
 * importer (which reads files); the caller unlinks it. */
static bool body_file(server_call *c, const void *data, size_t len, const char *ext, char *path,
                      size_t cap)
{
    static const char tmpl[] = "/.import-XXXXXX";
    char base[4200];
    snprintf(base, sizeof(base), "%s%s", server_db_dir(c->srv), tmpl);
    int fd = mkstemp(base);
    if (fd < 0)
        return false;
    bool ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    snprintf(path, cap, "%s.%s", base, ext);
    if (!ok || rename(base, path) != 0) {
        unlink(base);
        return false;
    }
    return true;
}

void handle_wl_create(server_call *c)
{
    /* One entry: the importer's JSON format with a single entry, so the
     * checks and the provenance are the same as for a file. */
    json_t *arr = json_pack("{s:i, s:[O]}", "version", 1, "entries", c->req->body);
    char *text = arr != NULL ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    char path[4300];
    if (text == NULL || !body_file(c, text, strlen(text), "json", path, sizeof(path))) {
        free(text);
        server_error(c, 500, "internal", "the entry could not be staged");
        return;
    }
    free(text);
    huella_watchlist_import_result r = {0};
    huella_error err;
    huella_watchlist *wl = server_watchlist_lock(c->srv);
    huella_status st = huella_watchlist_import(wl, path, NULL, &r, &err);
    int64_t *ids = NULL;
    size_t n = 0;
    if (st == HUELLA_OK)
        st = huella_watchlist_ids(wl, &ids, &n, &err);
    server_watchlist_unlock(c->srv);
    unlink(path);
    if (st == HUELLA_E_INPUT) {
        server_error(c, 422, "invalid-entry", "%s", r.problems ? r.problems : err.message);
    } else if (st != HUELLA_OK || n == 0) {
        server_error(c, 500, "internal", "the entry could not be stored");
    } else {
        wl_get_id(c, ids[n - 1], 201);
        snprintf(c->detail, sizeof(c->detail), "watchlist entry %lld", (long long)ids[n - 1]);
    }
    free(ids);
    huella_watchlist_import_result_clear(&r);
}

/* PATCH /v1/watchlists/entries/{id}: the lifecycle and provenance fields,
 * with a reason; the old values are kept in the entry's history. */
void handle_wl_patch(server_call *c)
{
    static const char *const allowed[] = {"reason",  "category",    "expiry_date",  "review_date",
                                          "remarks", "legal_basis", "source_grade", "info_grade"};
    json_t *b = c->req->body;
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
            ok = ok || strcmp(key, allowed[i]) == 0;
        if (!ok) {
            server_error(c, 422, "field-not-updatable",
                         "'%.40s' cannot be changed here: only category, expiry_date, "
                         "review_date, remarks, legal_basis, source_grade and info_grade; the "
                         "source's identity data are corrected by a new import",
                         key);
            return;
        }
        bool is_text = json_is_string(v) || (strcmp(key, "review_date") == 0 && json_is_null(v));
        if (strcmp(key, "info_grade") == 0 ? !json_is_integer(v) : !is_text) {
            server_error(c, 400, "bad-request", "'%s' has the wrong type", key);
            return;
        }
    }
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (reason == NULL || reason[0] == '\0') {
        server_error(c, 400, "reason-missing", "an update needs a \"reason\"");
        return;
    }
    const char *sg = json_string_value(json_object_get(b, "source_grade"));
    if (sg != NULL && strlen(sg) != 1) {
        server_error(c, 422, "invalid-entry", "source_grade: one letter A to F");
        return;
    }
    json_t *rd = json_object_get(b, "review_date");
    json_int_t ig = json_integer_value(json_object_get(b, "info_grade"));
    huella_watchlist_change ch = {
        .category = json_string_value(json_object_get(b, "category")),
        .expiry_date = json_string_value(json_object_get(b, "expiry_date")),
        .review_date = json_is_null(rd) ? "" : json_string_value(rd),
        .legal_basis = json_string_value(json_object_get(b, "legal_basis")),
        .remarks = json_string_value(json_object_get(b, "remarks")),
        .source_grade = sg != NULL ? sg[0] : 0,
        .info_grade =
            json_object_get(b, "info_grade") != NULL ? (ig < 1 || ig > 6 ? -1 : (int)ig) : 0,
        .by = c->who->user,
        .reason = reason};
    char changed[256];
    huella_error err;
    huella_watchlist *wl = server_watchlist_lock(c->srv);
    huella_status st = huella_watchlist_update(wl, c->req->id, &ch, changed, sizeof(changed), &err);
    server_watchlist_unlock(c->srv);
    if (st == HUELLA_E_NOTFOUND) {
        server_error(c, 404, "not-found", "no watchlist entry %lld", (long long)c->req->id);
        return;
    }
    if (st == HUELLA_E_INPUT) {
        server_error(c, 422, "invalid-entry", "%s", err.message);
        return;
    }
    if (st != HUELLA_OK) {
        server_error(c, 500, "internal", "the entry could not be updated");
        return;
    }
    wl_get_id(c, c->req->id, 200);
    snprintf(c->detail, sizeof(c->detail), "watchlist entry %lld updated: %.180s",
             (long long)c->req->id, changed);
}

typedef struct import_job {
    char path[4300];
} import_job;

static void import_run(server *s, int64_t id, void *arg)
{
    import_job *j = arg;
    server_job_progress(s, id, 0.0, "running", NULL);
    huella_watchlist_import_result r = {0};
    huella_error err;
    huella_watchlist *wl = server_watchlist_lock(s);
    huella_status st = huella_watchlist_import(wl, j->path, NULL, &r, &err);
    server_watchlist_unlock(s);
    unlink(j->path);
    json_t *res;
    if (st == HUELLA_OK)
        res = json_pack("{s:I, s:I}", "batch_id", (json_int_t)r.batch_id, "entries",
                        (json_int_t)r.entries);
    else
        res = json_pack("{s:s, s:I, s:s}", "error",
                        st == HUELLA_E_INPUT ? "invalid-file" : "internal", "problems",
                        (json_int_t)r.n_problems, "message",
                        r.problems != NULL ? r.problems : err.message);
    server_job_progress(s, id, 1.0, st == HUELLA_OK ? "done" : "failed", res);
    huella_watchlist_import_result_clear(&r);
    free(j);
}

void handle_wl_import(server_call *c)
{
    const server_request *rq = c->req;
    const char *ext;
    char *text = NULL;
    const void *data;
    size_t len;
    if (rq->body != NULL) {
        /* JSON: the importer's format ({"entries": [...]} or [...]). */
        text = json_dumps(rq->body, JSON_COMPACT);
        data = text;
        len = text ? strlen(text) : 0;
        ext = "json";
    } else if (strcmp(rq->ctype, "text/csv") == 0) {
        data = rq->raw;
        len = rq->raw_len;
        ext = "csv";
    } else {
        server_error(c, 415, "unsupported-media-type", "send text/csv or application/json");
        return;
    }
    import_job *j = malloc(sizeof(*j));
    bool ok = j != NULL && data != NULL && body_file(c, data, len, ext, j->path, sizeof(j->path));
    free(text);
    if (!ok) {
        free(j);
        server_error(c, 500, "internal", "the import could not be staged");
        return;
    }
    int64_t id = server_job_start(c->srv, "watchlist-import", import_run, j);
    if (id == 0) {
        unlink(j->path);
        free(j);
        server_error(c, 500, "internal", "the import could not be started");
        return;
    }
    c->status = 202;
    char loc[64];
    snprintf(loc, sizeof(loc), "/v1/jobs/%lld", (long long)id);
    c->json =
        json_pack("{s:I, s:s, s:s}", "job_id", (json_int_t)id, "state", "queued", "href", loc);
    snprintf(c->detail, sizeof(c->detail), "job %lld", (long long)id);
}

void handle_wl_expire(server_call *c)
{
    const char *today = json_string_value(json_object_get(c->req->body, "today"));
    size_t purged = 0, left = 0;
    huella_error err;
    huella_watchlist *wl = server_watchlist_lock(c->srv);
    huella_status st = huella_watchlist_expire(wl, today, &purged, &err);
    if (st == HUELLA_OK)
        st = huella_watchlist_count(wl, &left, &err);
    server_watchlist_unlock(c->srv);
    if (st == HUELLA_E_INPUT) {
        server_error(c, 400, "bad-request", "%s", err.message);
        return;
    }
    if (st != HUELLA_OK) {
        server_error(c, 500, "internal", "the expiry failed");
        return;
    }
    c->json = json_pack("{s:I, s:I}", "purged", (json_int_t)purged, "remaining", (json_int_t)left);
    snprintf(c->detail, sizeof(c->detail), "purged %zu", purged);
}

void handle_events(server_call *c)
{
    c->stream = true;
    snprintf(c->detail, sizeof(c->detail), "event stream");
}

void handle_job_get(server_call *c)
{
    json_t *o = server_job_json(c->srv, c->req->id);
    if (o == NULL)
        server_error(c, 404, "not-found", "no job %lld", (long long)c->req->id);
    else
        c->json = o;
}
