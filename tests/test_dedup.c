/*
 * test_dedup.c - the store and the galleries together (src/store/dedup.c,
 * src/store/gallery_load.c): enrolment with de-duplication in its three
 * outcomes on real FVC2002 prints and CASIA irises (a second encounter of
 * the same fingers is linked, another person is new, review-band and
 * juvenile evidence open a case with the evidence recorded), link undo
 * with history, and the parallel gallery load agreeing with the gallery
 * kept in step by enrolment.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "huella/dedup.h"
#include "huella/gallery.h"
#include "huella/store.h"
#include "support.h"

static const huella_store_encounter enc = {"2026-06-01T10:00:00Z", "Site-1", "Dev-1", "op-1",
                                           "registration",         "test",   NULL};

typedef struct capture {
    huella_enrol_input in[3];
    size_t n;
} capture;

static void add(capture *c, huella_store_modality m, unsigned pos, const char *rel)
{
    size_t len;
    uint8_t *d = test_read_file(test_data(rel), &len);
    if (d == NULL)
        fail_msg("cannot read %s", rel);
    c->in[c->n++] = (huella_enrol_input){m, pos, rel, d, len};
}

static void release(capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free((void *)c->in[i].data);
}

static void enrol(huella_store *s, huella_gallery *g, capture *c, const char *bio,
                  const huella_dedup_options *o, huella_enrol_result **r, huella_dedup_result **d)
{
    huella_enrol_request req = {c->in, c->n, 0, enc, bio, NULL};
    huella_error err;
    if (huella_enrol_dedup(s, g, &req, o, r, d, &err) != HUELLA_OK)
        fail_msg("enrol: %s", err.message);
    release(c);
}

static json_t *case_json(huella_store *s, int64_t id)
{
    char *js = NULL;
    huella_error err;
    assert_int_equal(huella_store_case_json(s, id, &js, &err), HUELLA_OK);
    json_t *o = json_loads(js, 0, NULL);
    free(js);
    assert_non_null(o);
    return o;
}

static void test_outcomes(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_error err;
    assert_int_equal(huella_store_init(test_tmpfile("s"), NULL, &err), HUELLA_OK);
    huella_store *s = NULL;
    assert_int_equal(huella_store_open(test_tmpfile("s"), &s, &err), HUELLA_OK);
    huella_gallery *g = NULL;
    assert_int_equal(huella_gallery_new(&g, &err), HUELLA_OK);
    huella_enrol_result *r = NULL;
    huella_dedup_result *d = NULL;

    /* Person A: two fingers and an iris; the store is empty -> new. */
    capture c = {0};
    add(&c, HUELLA_STORE_FINGER, 2, "finger/fvc2002/DB1_B/101_1.tif");
    add(&c, HUELLA_STORE_FINGER, 3, "finger/fvc2002/DB3_B/101_1.tif");
    add(&c, HUELLA_STORE_IRIS, 2, "iris/casia-v1/1/001_1_1.jpg");
    enrol(s, g, &c, NULL, NULL, &r, &d);
    assert_int_equal(d->outcome, HUELLA_ENROL_NEW);
    int64_t a = r->person_id;
    assert_int_equal(huella_gallery_count(g), 1);
    huella_enrol_result_free(r);
    huella_dedup_result_free(d);

    /* Person B: other fingers and eye -> new, A is a candidate below review. */
    c = (capture){0};
    add(&c, HUELLA_STORE_FINGER, 2, "finger/fvc2002/DB1_B/102_1.tif");
    add(&c, HUELLA_STORE_FINGER, 3, "finger/fvc2002/DB3_B/102_1.tif");
    add(&c, HUELLA_STORE_IRIS, 2, "iris/casia-v1/2/002_1_1.jpg");
    enrol(s, g, &c, NULL, NULL, &r, &d);
    assert_int_equal(d->outcome, HUELLA_ENROL_NEW);
    int64_t b = r->person_id;
    assert_true(b != a);
    assert_non_null(d->search);
    assert_int_equal(d->search->n, 1);
    assert_false(d->search->candidates[0].review);
    assert_int_equal(huella_gallery_count(g), 2);
    huella_enrol_result_free(r);
    huella_dedup_result_free(d);

    /* A again, other impressions of the same fingers and eye -> linked to A. */
    c = (capture){0};
    add(&c, HUELLA_STORE_FINGER, 2, "finger/fvc2002/DB1_B/101_3.tif");
    add(&c, HUELLA_STORE_FINGER, 3, "finger/fvc2002/DB3_B/101_4.tif");
    add(&c, HUELLA_STORE_IRIS, 2, "iris/casia-v1/1/001_2_1.jpg");
    enrol(s, g, &c, NULL, NULL, &r, &d);
    assert_int_equal(d->outcome, HUELLA_ENROL_LINK);
    assert_int_equal(r->person_id, a);
    assert_int_equal(r->case_id, 0);
    assert_true(d->search->candidates[0].strict);
    assert_true(d->search->candidates[0].llr >= d->search->threshold_strict);
    int64_t linked = r->encounter_id;
    /* the gallery holds A's new samples under A: two per slot now */
    assert_int_equal(huella_gallery_count(g), 2);
    assert_int_equal(huella_gallery_count_slot(g, 1), 3);
    assert_int_equal(huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_LEFT), 3);
    huella_enrol_result_free(r);
    huella_dedup_result_free(d);
    /* the evidence is the link's reason */
    char *hist = NULL;
    assert_int_equal(huella_store_link_history(s, linked, &hist, &err), HUELLA_OK);
    json_t *h = json_loads(hist, 0, NULL);
    free(hist);
    assert_int_equal(json_array_size(h), 1);
    json_t *why =
        json_loads(json_string_value(json_object_get(json_array_get(h, 0), "why")), 0, NULL);
    assert_non_null(why);
    assert_int_equal(json_integer_value(json_object_get(why, "gallery_persons")), 2);
    assert_true(json_is_number(json_object_get(why, "threshold_strict")));
    json_t *cand = json_object_get(why, "candidate");
    assert_int_equal(json_integer_value(json_object_get(cand, "person_id")), a);
    assert_int_equal(json_array_size(json_object_get(cand, "evidence")), 3);
    json_decref(why);
    json_decref(h);

    /* Review band: one genuine finger (its LLR is capped near 9.4) against
     * a strict threshold made stricter than one finger can reach -> case. */
    huella_dedup_options o = {0};
    o.identify.fpir_strict = 1e-6; /* t = ln(2 / 1e-6) = 14.5 */
    o.identify.fpir_review = 0.01; /* t = ln(2 / 0.01) = 5.3 */
    c = (capture){0};
    add(&c, HUELLA_STORE_FINGER, 2, "finger/fvc2002/DB1_B/101_5.tif");
    enrol(s, g, &c, NULL, &o, &r, &d);
    assert_int_equal(d->outcome, HUELLA_ENROL_CASE);
    assert_true(r->case_id > 0);
    assert_true(r->person_id != a && r->person_id != b);
    assert_true(d->search->candidates[0].review && !d->search->candidates[0].strict);
    json_t *cj = case_json(s, r->case_id);
    assert_string_equal(json_string_value(json_object_get(cj, "status")), "open");
    json_t *c0 = json_array_get(json_object_get(cj, "candidates"), 0);
    assert_int_equal(json_integer_value(json_object_get(c0, "person_id")), a);
    json_t *ev = json_object_get(c0, "evidence");
    assert_double_equal(json_number_value(json_object_get(ev, "fpir_strict")), 1e-6, 1e-12);
    assert_true(json_number_value(json_object_get(json_object_get(ev, "candidate"), "fused_llr")) <
                json_number_value(json_object_get(ev, "threshold_strict")));
    json_decref(cj);
    huella_enrol_result_free(r);
    huella_dedup_result_free(d);

    /* Juvenile capture: a strict match, but never linked automatically. */
    c = (capture){0};
    add(&c, HUELLA_STORE_FINGER, 2, "finger/fvc2002/DB1_B/101_6.tif");
    add(&c, HUELLA_STORE_IRIS, 2, "iris/casia-v1/1/001_2_2.jpg");
    enrol(s, g, &c, "{\"date_of_birth\":\"2019-02\"}", NULL, &r, &d);
    assert_true(d->probe_juvenile);
    assert_true(d->search->candidates[0].strict);
    assert_int_equal(d->outcome, HUELLA_ENROL_CASE);
    assert_true(r->case_id > 0);
    assert_non_null(strstr(d->why, "juvenile"));
    cj = case_json(s, r->case_id);
    ev = json_object_get(json_array_get(json_object_get(cj, "candidates"), 0), "evidence");
    assert_true(json_is_true(json_object_get(ev, "probe_juvenile")));
    json_decref(cj);
    huella_enrol_result_free(r);
    huella_dedup_result_free(d);

    /* The other side: a person enrolled as a child (new: nobody matches)
     * and met again as an adult gives a strict match that is not linked. */
    c = (capture){0};
    add(&c, HUELLA_STORE_FINGER, 2, "finger/fvc2002/DB1_B/103_1.tif");
    enrol(s, g, &c, "{\"date_of_birth\":\"2016\"}", NULL, &r, &d);
    assert_int_equal(d->outcome, HUELLA_ENROL_NEW);
    assert_true(d->probe_juvenile);
    int64_t juvenile_person = r->person_id;
    huella_enrol_result_free(r);
    huella_dedup_result_free(d);
    c = (capture){0};
    add(&c, HUELLA_STORE_FINGER, 2, "finger/fvc2002/DB1_B/103_2.tif");
    enrol(s, g, &c, "{\"date_of_birth\":\"1990\"}", NULL, &r, &d);
    assert_false(d->probe_juvenile);
    assert_int_equal((int64_t)d->search->candidates[0].person, juvenile_person);
    assert_true(d->search->candidates[0].strict);
    assert_true(d->candidate_juvenile[0]);
    assert_int_equal(d->outcome, HUELLA_ENROL_CASE);
    json_t *cands = json_loads(d->candidates_json, 0, NULL);
    assert_true(json_is_true(json_object_get(json_array_get(cands, 0), "juvenile")));
    json_decref(cands);
    huella_enrol_result_free(r);
    huella_dedup_result_free(d);

    /* Undo the automatic link, then undo the undo: history keeps all. */
    int64_t np = 0;
    assert_int_equal(
        huella_store_encounter_unlink(s, linked, "reviewer-1", "wrong link", &np, &err), HUELLA_OK);
    assert_true(np != a && np > 0);
    assert_int_equal(huella_store_encounter_relink(s, linked, "reviewer-2", "it was right", &err),
                     HUELLA_OK);
    int64_t now = 0;
    assert_int_equal(huella_store_encounter_person(s, linked, &now, &err), HUELLA_OK);
    assert_int_equal(now, a);
    assert_int_equal(huella_store_link_history(s, linked, &hist, &err), HUELLA_OK);
    h = json_loads(hist, 0, NULL);
    free(hist);
    assert_int_equal(json_array_size(h), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "action")),
                        "unlink");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "who")),
                        "reviewer-1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "action")),
                        "relink");
    json_decref(h);

    /* A gallery loaded from the store (two threads) holds what the one
     * kept in step holds, and finds A first. */
    huella_gallery *g2 = NULL;
    assert_int_equal(huella_gallery_new(&g2, &err), HUELLA_OK);
    huella_gallery_load_stats ls;
    if (huella_gallery_load_store(s, g2, 2, &ls, &err) != HUELLA_OK)
        fail_msg("load: %s", err.message);
    assert_int_equal(ls.threads, 2);
    assert_int_equal(huella_gallery_count(g2), huella_gallery_count(g));
    for (unsigned k = 0; k < HUELLA_GALLERY_SLOTS; k++)
        assert_int_equal(huella_gallery_count_slot(g2, k), huella_gallery_count_slot(g, k));
    assert_int_equal(ls.finger_templates, 2 + 2 + 2 + 1 + 1 + 1 + 1);
    assert_int_equal(ls.iris_templates, 3 + 1);
    c = (capture){0};
    add(&c, HUELLA_STORE_FINGER, 2, "finger/fvc2002/DB1_B/101_7.tif");
    huella_enrol_request req = {c.in, c.n, 0, enc, NULL, NULL};
    huella_enrol_result *pr = NULL;
    huella_probe_set *p = NULL;
    assert_int_equal(huella_enrol_extract(&req, &pr, &err), HUELLA_OK);
    assert_int_equal(huella_probe_from_enrol(pr, &p, &err), HUELLA_OK);
    assert_int_equal(p->n_slots, 1);
    huella_identify_result *ir = NULL;
    assert_int_equal(huella_gallery_identify(g2, &p->probe, NULL, &ir, &err), HUELLA_OK);
    assert_true(ir->n > 0);
    assert_int_equal((int64_t)ir->candidates[0].person, a);
    huella_identify_result_free(ir);
    huella_probe_set_free(p);
    huella_enrol_result_free(pr);
    release(&c);

    huella_gallery_free(g2);
    huella_gallery_free(g);
    huella_store_close(s);
}

/* A template the gallery cannot decode stops the load with a message
 * naming the sample, whatever thread met it. */
static void test_load_bad_template(void **state)
{
    (void)state;
    huella_error err;
    assert_int_equal(huella_store_init(test_tmpfile("bad"), NULL, &err), HUELLA_OK);
    huella_store *s = NULL;
    assert_int_equal(huella_store_open(test_tmpfile("bad"), &s, &err), HUELLA_OK);
    int64_t p = 0, e = 0, smp = 0;
    assert_int_equal(huella_store_person_create(s, &p, &err), HUELLA_OK);
    assert_int_equal(huella_store_encounter_add(s, p, &enc, NULL, &e, &err), HUELLA_OK);
    uint8_t junk[64];
    memset(junk, 0x5a, sizeof(junk));
    huella_store_template t = {HUELLA_STORE_TEMPLATE_IRIS, 1, junk, sizeof(junk)};
    huella_store_sample sm = {HUELLA_STORE_IRIS, 1, 50, NULL, NULL, 0, &t, 1};
    assert_int_equal(huella_store_sample_add(s, e, &sm, &smp, &err), HUELLA_OK);
    huella_gallery *g = NULL;
    assert_int_equal(huella_gallery_new(&g, &err), HUELLA_OK);
    huella_status st = huella_gallery_load_store(s, g, 2, NULL, &err);
    assert_int_not_equal(st, HUELLA_OK);
    char want[64];
    snprintf(want, sizeof(want), "sample %lld", (long long)smp);
    assert_non_null(strstr(err.message, want));
    huella_gallery_free(g);
    huella_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_load_bad_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
