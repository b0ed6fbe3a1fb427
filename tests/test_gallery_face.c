/*
 * test_gallery_face.c - the face slot of the galleries (src/gallery with
 * src/face/search.c): add, add from .face bytes, remove, search, threads
 * over shards, fusion with an iris, the shipped face calibration, and
 * rank-1 on a small ORL subset through `huella eval identify`.
 *
 * Descriptors are generated (unit vectors plus noise, the geometry of the
 * dlib descriptors: impostors about 1.4 apart, mates about 0.3) except in
 * the ORL test, which runs the whole face pipeline on real photos.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "huella/face.h"
#include "huella/gallery.h"
#include "support.h"

static double gauss(uint64_t *x)
{
    double u = 0;
    for (int k = 0; k < 12; k++) {
        *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
        u += (double)(*x >> 11) / 9007199254740992.0;
    }
    return u - 6.0;
}

/* A unit descriptor, or `base` moved by noise of the given size. */
static void descriptor(float d[HUELLA_FACE_DIM], const float *base, double noise, uint64_t *x)
{
    double n2 = 0;
    for (int k = 0; k < HUELLA_FACE_DIM; k++) {
        double v = base != NULL ? base[k] + noise * gauss(x) / sqrt(HUELLA_FACE_DIM)
                                : gauss(x) / sqrt(HUELLA_FACE_DIM);
        d[k] = (float)v;
        n2 += v * v;
    }
    if (base == NULL)
        for (int k = 0; k < HUELLA_FACE_DIM; k++)
            d[k] = (float)(d[k] / sqrt(n2));
}

#define N_PERSONS 300

static float faces[N_PERSONS][HUELLA_FACE_DIM];

static void make_faces(uint64_t seed)
{
    uint64_t x = seed;
    for (int p = 0; p < N_PERSONS; p++)
        descriptor(faces[p], NULL, 0, &x);
}

static void face_slot_add_remove_search(void **state)
{
    (void)state;
    make_faces(7);
    huella_gallery *g;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    /* half through huella_gallery_add_face, half from the stored bytes */
    for (int p = 0; p < N_PERSONS; p++) {
        huella_face_template t;
        huella_face_template_from_descriptor(faces[p], &t);
        if (p % 2 == 0) {
            assert_int_equal(huella_gallery_add_face(g, 1000 + (uint64_t)p, (uint64_t)p, &t, NULL),
                             HUELLA_OK);
        } else {
            uint8_t bytes[HUELLA_FACE_TEMPLATE_BYTES];
            huella_face_template_encode(&t, bytes);
            assert_int_equal(huella_gallery_add_encoded(g, 1000 + (uint64_t)p, (uint64_t)p,
                                                        HUELLA_GALLERY_FACE, 0, bytes, sizeof bytes,
                                                        NULL),
                             HUELLA_OK);
        }
    }
    assert_int_equal(huella_gallery_count(g), N_PERSONS);
    assert_int_equal(huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_FACE), N_PERSONS);
    assert_int_equal(huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_RIGHT), 0);
    /* damaged bytes and a position are refused, and change nothing */
    uint8_t bad[HUELLA_FACE_TEMPLATE_BYTES] = {'H', 'F', 'C', 'X'};
    huella_error err;
    assert_int_not_equal(
        huella_gallery_add_encoded(g, 5, 5, HUELLA_GALLERY_FACE, 0, bad, sizeof bad, &err),
        HUELLA_OK);
    huella_face_template t0;
    huella_face_template_from_descriptor(faces[0], &t0);
    uint8_t good[HUELLA_FACE_TEMPLATE_BYTES];
    huella_face_template_encode(&t0, good);
    assert_int_equal(
        huella_gallery_add_encoded(g, 5, 5, HUELLA_GALLERY_FACE, 3, good, sizeof good, &err),
        HUELLA_E_INPUT);
    assert_int_equal(huella_gallery_count(g), N_PERSONS);

    /* a probe near person 1042 finds it, with the face evidence */
    uint64_t x = 12345;
    float near[HUELLA_FACE_DIM];
    descriptor(near, faces[42], 0.3, &x);
    huella_face_template pt;
    huella_face_template_from_descriptor(near, &pt);
    huella_probe probe = {0};
    probe.face = &pt;
    huella_identify_result *r;
    assert_int_equal(huella_gallery_identify(g, &probe, NULL, &r, NULL), HUELLA_OK);
    assert_int_equal(r->candidates[0].person, 1042);
    const huella_evidence *ev = &r->candidates[0].slot[HUELLA_GALLERY_SLOT_FACE];
    assert_true(ev->present);
    assert_int_equal(ev->sample, 42);
    huella_face_template g42;
    huella_face_template_from_descriptor(faces[42], &g42);
    assert_double_equal(ev->score, huella_face_template_distance(&pt, &g42), 1e-4);
    assert_true(ev->llr > 0);
    assert_double_equal(r->candidates[0].llr, ev->llr, 1e-12);
    assert_true(r->candidates[0].strict);
    assert_false(r->candidates[1].review); /* impostors are far */
    assert_true(r->candidates[1].slot[HUELLA_GALLERY_SLOT_FACE].llr < 0);
    assert_int_equal(r->comparisons, N_PERSONS);
    huella_identify_result_free(r);

    /* remove every third person; the moved entries still answer for
     * their owners */
    for (int p = 0; p < N_PERSONS; p += 3)
        assert_int_equal(huella_gallery_remove_person(g, 1000 + (uint64_t)p, NULL), HUELLA_OK);
    assert_int_equal(huella_gallery_remove_person(g, 1000, NULL), HUELLA_E_NOTFOUND);
    assert_int_equal(huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_FACE), N_PERSONS * 2 / 3);
    for (int p = 0; p < N_PERSONS; p++) {
        huella_face_template t;
        huella_face_template_from_descriptor(faces[p], &t);
        probe.face = &t;
        huella_identify_options o = {.top_k = 1};
        assert_int_equal(huella_gallery_identify(g, &probe, &o, &r, NULL), HUELLA_OK);
        if (p % 3 == 0) {
            assert_true(r->candidates[0].person != 1000 + (uint64_t)p);
            assert_false(r->candidates[0].review);
        } else {
            assert_int_equal(r->candidates[0].person, 1000 + (uint64_t)p);
            assert_int_equal(r->candidates[0].slot[HUELLA_GALLERY_SLOT_FACE].sample, p);
            assert_true(r->candidates[0].slot[HUELLA_GALLERY_SLOT_FACE].score < 0.02);
        }
        huella_identify_result_free(r);
    }
    /* re-enrol a removed person: found again */
    assert_int_equal(huella_gallery_add_face(g, 1003, 77, &(huella_face_template){0}, NULL),
                     HUELLA_OK);
    huella_face_template t3;
    huella_face_template_from_descriptor(faces[3], &t3);
    assert_int_equal(huella_gallery_add_face(g, 1003, 78, &t3, NULL), HUELLA_OK);
    probe.face = &t3;
    assert_int_equal(huella_gallery_identify(g, &probe, NULL, &r, NULL), HUELLA_OK);
    assert_int_equal(r->candidates[0].person, 1003);
    assert_int_equal(r->candidates[0].slot[HUELLA_GALLERY_SLOT_FACE].sample, 78);
    huella_identify_result_free(r);
    assert_true(huella_gallery_bytes(g) > huella_gallery_count_slot(g, 12) * HUELLA_FACE_DIM);
    huella_gallery_free(g);
}

static void threaded_face_search_equals_single_thread(void **state)
{
    (void)state;
    enum { N = 20000 };
    huella_face_gallery *fg;
    assert_int_equal(huella_face_gallery_new(0, &fg, NULL), HUELLA_OK);
    uint64_t x = 3;
    float d[HUELLA_FACE_DIM];
    huella_face_template t;
    for (int i = 0; i < N; i++) {
        descriptor(d, NULL, 0, &x);
        huella_face_template_from_descriptor(d, &t);
        assert_int_equal(huella_face_gallery_add(fg, &t, NULL), HUELLA_OK);
    }
    descriptor(d, NULL, 0, &x);
    huella_face_template_from_descriptor(d, &t);
    float *one = malloc(N * sizeof(float)), *many = malloc(N * sizeof(float));
    assert_non_null(one);
    assert_non_null(many);
    assert_int_equal(huella_face_gallery_distances(fg, &t, HUELLA_FACE_KERNEL_AUTO, one, NULL),
                     HUELLA_OK);
    for (unsigned th = 0; th <= 5; th++) {
        memset(many, 0xff, N * sizeof(float));
        assert_int_equal(
            huella_face_gallery_distances_mt(fg, &t, HUELLA_FACE_KERNEL_AUTO, th, many, NULL),
            HUELLA_OK);
        assert_memory_equal(one, many, N * sizeof(float));
        assert_int_equal(
            huella_face_gallery_distances_mt(fg, &t, HUELLA_FACE_KERNEL_PORTABLE, th, many, NULL),
            HUELLA_OK);
        assert_memory_equal(one, many, N * sizeof(float));
    }
    /* removal moves the last entry into the hole */
    assert_int_equal(huella_face_gallery_remove(fg, 10, NULL), HUELLA_OK);
    assert_int_equal(huella_face_gallery_size(fg), N - 1);
    assert_int_equal(huella_face_gallery_remove(fg, N, NULL), HUELLA_E_NOTFOUND);
    assert_int_equal(
        huella_face_gallery_distances_mt(fg, &t, HUELLA_FACE_KERNEL_AUTO, 2, many, NULL),
        HUELLA_OK);
    assert_true(many[10] == one[N - 1]);
    assert_true(many[11] == one[11]);
    free(one);
    free(many);
    huella_face_gallery_free(fg);

    /* the gallery's search on 1 and 4 threads: the same candidates */
    huella_gallery *g;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    x = 11;
    for (int i = 0; i < N; i++) {
        descriptor(d, NULL, 0, &x);
        huella_face_template_from_descriptor(d, &t);
        assert_int_equal(huella_gallery_add_face(g, (uint64_t)(i / 2), (uint64_t)i, &t, NULL),
                         HUELLA_OK);
    }
    descriptor(d, NULL, 0, &x);
    huella_face_template_from_descriptor(d, &t);
    huella_probe probe = {0};
    probe.face = &t;
    huella_identify_options o = {.top_k = 50};
    huella_identify_result *r1, *r4;
    huella_gallery_set_threads(g, 1);
    assert_int_equal(huella_gallery_identify(g, &probe, &o, &r1, NULL), HUELLA_OK);
    huella_gallery_set_threads(g, 4);
    assert_int_equal(huella_gallery_identify(g, &probe, &o, &r4, NULL), HUELLA_OK);
    assert_int_equal(r1->n, 50);
    assert_int_equal(r4->n, 50);
    for (size_t i = 0; i < r1->n; i++) {
        assert_int_equal(r1->candidates[i].person, r4->candidates[i].person);
        assert_true(r1->candidates[i].llr == r4->candidates[i].llr);
        assert_int_equal(r1->candidates[i].slot[12].sample, r4->candidates[i].slot[12].sample);
    }
    huella_identify_result_free(r1);
    huella_identify_result_free(r4);
    huella_gallery_free(g);
}

static void random_code(huella_iris_code *c, uint64_t *x)
{
    for (int i = 0; i < HUELLA_IRIS_CODE_BYTES; i++) {
        *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
        c->code[i] = (uint8_t)(*x >> 56);
        c->mask[i] = 0xff;
    }
}

static void face_fuses_with_an_iris(void **state)
{
    (void)state;
    make_faces(21);
    huella_gallery *g;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    uint64_t x = 5;
    static huella_iris_code codes[100];
    for (int p = 0; p < 100; p++) {
        random_code(&codes[p], &x);
        huella_face_template t;
        huella_face_template_from_descriptor(faces[p], &t);
        assert_int_equal(huella_gallery_add_face(g, 700 + (uint64_t)p, 1, &t, NULL), HUELLA_OK);
        if (p != 50) /* person 750 has no iris */
            assert_int_equal(huella_gallery_add_iris(g, 700 + (uint64_t)p, 2, HUELLA_IRIS_EYE_RIGHT,
                                                     &codes[p], NULL),
                             HUELLA_OK);
    }
    /* person 733's face moved by 0.5 (distance 0.52, 3.9 nats) and iris
     * with 37 % of its bits flipped (distance about 0.32, some 9.4 nats
     * with the iris calibration version 4): each is fair evidence,
     * neither links alone (11.5 nats for 100 persons) */
    float near[HUELLA_FACE_DIM];
    descriptor(near, faces[33], 0.5, &x);
    huella_face_template pt;
    huella_face_template_from_descriptor(near, &pt);
    huella_iris_code pi = codes[33];
    for (int i = 0; i < HUELLA_IRIS_CODE_BYTES; i++)
        for (int bit = 0; bit < 8; bit++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            if ((x >> 56) < 94)
                pi.code[i] ^= (uint8_t)(1u << bit);
        }
    huella_probe probe = {0};
    probe.face = &pt;
    huella_identify_result *rf, *rb;
    assert_int_equal(huella_gallery_identify(g, &probe, NULL, &rf, NULL), HUELLA_OK);
    probe.iris[0] = &pi;
    assert_int_equal(huella_gallery_identify(g, &probe, NULL, &rb, NULL), HUELLA_OK);
    const huella_candidate *c = &rb->candidates[0];
    assert_int_equal(c->person, 733);
    assert_true(c->slot[HUELLA_GALLERY_SLOT_FACE].present);
    assert_true(c->slot[HUELLA_GALLERY_SLOT_RIGHT].present);
    assert_double_equal(
        c->llr, c->slot[HUELLA_GALLERY_SLOT_FACE].llr + c->slot[HUELLA_GALLERY_SLOT_RIGHT].llr,
        1e-9);
    /* the face's evidence is the same whether or not the iris is fused */
    size_t k = 0;
    while (k < rf->n && rf->candidates[k].person != 733)
        k++;
    assert_true(k < rf->n);
    assert_double_equal(rf->candidates[k].llr, c->slot[HUELLA_GALLERY_SLOT_FACE].llr, 1e-12);
    /* fusing adds evidence: the mate's fused LLR exceeds each alone, and
     * links where neither slot alone would */
    assert_true(c->slot[HUELLA_GALLERY_SLOT_FACE].llr > 0);
    assert_true(c->slot[HUELLA_GALLERY_SLOT_RIGHT].llr > 0);
    assert_true(c->slot[HUELLA_GALLERY_SLOT_FACE].llr < rb->threshold_strict);
    assert_true(c->slot[HUELLA_GALLERY_SLOT_RIGHT].llr < rb->threshold_strict);
    assert_false(rf->candidates[k].strict);
    assert_true(c->strict);
    /* a candidate without an iris gets no iris evidence, not a penalty */
    for (size_t i = 0; i < rb->n; i++)
        if (rb->candidates[i].person == 750) {
            assert_false(rb->candidates[i].slot[HUELLA_GALLERY_SLOT_RIGHT].present);
            assert_double_equal(rb->candidates[i].slot[HUELLA_GALLERY_SLOT_RIGHT].llr, 0, 0);
        }
    huella_identify_result_free(rf);
    huella_identify_result_free(rb);
    huella_gallery_free(g);
}

static void face_calibration_is_monotone_and_bounded(void **state)
{
    (void)state;
    const huella_calibration *c = huella_calibration_default(HUELLA_GALLERY_FACE);
    assert_int_equal(c->modality, HUELLA_GALLERY_FACE);
    assert_int_equal(c->kind, HUELLA_SCORE_DISTANCE);
    assert_true(c->n_genuine > 1000 && c->n_impostor > 100000);
    double prev = INFINITY;
    for (double d = 0; d <= 1.6; d += 0.01) {
        double l = huella_calibration_llr(c, d);
        assert_true(l <= prev + 1e-12);
        assert_true(l >= c->llr_min && l <= c->llr_max);
        prev = l;
    }
    /* the usual decision distances: 0.4 is a clear mate, 1.0 an impostor */
    assert_true(huella_calibration_llr(c, 0.4) > 3);
    assert_true(huella_calibration_llr(c, 1.0) < 0);
    assert_double_equal(huella_calibration_llr(c, NAN), c->llr_min, 0);
    /* set_calibration replaces the face model only */
    huella_calibration flat = *c;
    flat.a = 0;
    flat.b = 0;
    huella_gallery *g;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    huella_gallery_set_calibration(g, &flat);
    make_faces(4);
    huella_face_template t;
    huella_face_template_from_descriptor(faces[0], &t);
    assert_int_equal(huella_gallery_add_face(g, 1, 1, &t, NULL), HUELLA_OK);
    huella_probe probe = {0};
    probe.face = &t;
    huella_identify_result *r;
    assert_int_equal(huella_gallery_identify(g, &probe, NULL, &r, NULL), HUELLA_OK);
    assert_double_equal(r->candidates[0].llr, 0, 1e-12);
    huella_identify_result_free(r);
    huella_gallery_free(g);
}

static bool have_models(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/face_recognition_model.bin", huella_face_default_model_dir());
    return access(path, R_OK) == 0;
}

static void orl_subset_rank1(void **state)
{
    (void)state;
    if (!test_have_data() || !have_models())
        skip();
    const char *argv[] = {
        "eval",      "identify", "--modality", "face", "--dataset", test_data("face/orl"),
        "--classes", "8",        "--json",     NULL};
    char *out = NULL, *err = NULL;
    int rc = test_run_huella(argv, NULL, &out, &err);
    if (rc != 0)
        fprintf(stderr, "%s", err ? err : "");
    assert_int_equal(rc, 0);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "modality")), "face");
    assert_int_equal(json_integer_value(json_object_get(o, "classes")), 8);
    assert_int_equal(json_integer_value(json_object_get(o, "enrolled")), 8);
    assert_true(json_integer_value(json_object_get(o, "mated_searches")) >= 70);
    double rank1 = json_number_value(json_object_get(o, "rank1"));
    assert_true(rank1 >= 0.97);
    json_decref(o);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(face_slot_add_remove_search),
        cmocka_unit_test(threaded_face_search_equals_single_thread),
        cmocka_unit_test(face_fuses_with_an_iris),
        cmocka_unit_test(face_calibration_is_monotone_and_bounded),
        cmocka_unit_test(orl_subset_rank1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
