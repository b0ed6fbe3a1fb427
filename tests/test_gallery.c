/*
 * test_gallery.c - galleries, calibration, fusion, open-set thresholds
 * and the finger cascade (src/gallery), on the FVC2002 ISO records of the
 * development data and on generated iris codes.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gallery/gallery_internal.h" /* the chunks, to see that erasure wipes */
#include "huella/gallery.h"
#include "support.h"

#define N_DB   4
#define N_FING 10
#define N_IMPR 8

static huella_finger_template *fvc[N_DB][N_FING][N_IMPR];

static int load_fvc(void **state)
{
    (void)state;
    if (!test_have_data())
        return 0;
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++)
            for (int i = 0; i < N_IMPR; i++) {
                char rel[64];
                snprintf(rel, sizeof rel, "finger/fvc2002/DB%d_B/%d_%d.iso", d + 1, 101 + f, i + 1);
                size_t len;
                uint8_t *data = test_read_file(test_data(rel), &len);
                if (data == NULL ||
                    huella_finger_template_load(data, len, &fvc[d][f][i], NULL) != HUELLA_OK)
                    return -1;
                free(data);
            }
    return 0;
}

static int free_fvc(void **state)
{
    (void)state;
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++)
            for (int i = 0; i < N_IMPR; i++)
                huella_finger_template_free(fvc[d][f][i]);
    return 0;
}

#define NEED_DATA()                                                                                \
    do {                                                                                           \
        if (!test_have_data())                                                                     \
            skip();                                                                                \
    } while (0)

/* A gallery where person 100 d + f + 1 is finger f of DB d (impression 1),
 * all at position 1: 40 persons. */
static huella_gallery *single_finger_gallery(void)
{
    huella_gallery *g;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++)
            assert_int_equal(
                huella_gallery_add_finger(g, (uint64_t)(100 * d + f + 1), 7, 1, fvc[d][f][0], NULL),
                HUELLA_OK);
    return g;
}

/* The bytes of the gallery's chunks that hold fingers. */
static size_t live_chunk_bytes(const huella_gallery *g)
{
    size_t live = 0;
    for (size_t c = 0; c < g->n_chunks; c++)
        live += g->chunks[c].live;
    return live;
}

static void add_search_remove(void **state)
{
    (void)state;
    NEED_DATA();
    huella_gallery *g = single_finger_gallery();
    assert_int_equal(huella_gallery_count(g), 40);
    assert_int_equal(huella_gallery_count_slot(g, 0), 40);
    assert_int_equal(huella_gallery_count_slot(g, 1), 0);
    assert_true(huella_gallery_bytes_per_person(g) > 1000);
    /* the fingers' part is the chunks that hold them, serialised, each
     * on 16 bytes */
    size_t finger_bytes = 0, person3 = 0;
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++) {
            huella_finger_prepared *fp;
            uint8_t *ser;
            size_t len;
            assert_int_equal(huella_finger_prepare_compact(fvc[d][f][0], &fp, NULL), HUELLA_OK);
            assert_int_equal(huella_finger_prepared_serialize(fp, &ser, &len, NULL), HUELLA_OK);
            size_t room = (len + 15) & ~(size_t)15;
            finger_bytes += room;
            if (d == 0 && f == 2)
                person3 = room;
            free(ser);
            huella_finger_prepared_free(fp);
        }
    assert_int_equal(live_chunk_bytes(g), finger_bytes);
    assert_int_equal(huella_gallery_bytes_modality(g, HUELLA_GALLERY_FINGER), g->chunk_bytes);
    /* small chunks first: 40 fingers of about 1.6 KB in 64 + 128 KB */
    assert_true(g->chunk_bytes <= 4 * finger_bytes);
    assert_int_equal(huella_gallery_bytes_modality(g, HUELLA_GALLERY_IRIS), 0);
    assert_int_equal(huella_gallery_bytes_modality(g, HUELLA_GALLERY_FACE), 0);
    assert_true(huella_gallery_bytes(g) > finger_bytes);

    huella_probe p = {0};
    p.finger[0] = fvc[0][2][1]; /* DB1 finger 103, impression 2 */
    huella_identify_result *r;
    assert_int_equal(huella_gallery_identify(g, &p, NULL, &r, NULL), HUELLA_OK);
    assert_int_equal(r->n, 20);
    assert_int_equal(r->candidates[0].person, 3);
    assert_true(r->candidates[0].slot[0].present);
    assert_int_equal(r->candidates[0].slot[0].sample, 7);
    assert_false(r->candidates[0].slot[1].present);
    assert_int_equal(r->gallery_persons, 40);
    huella_identify_result_free(r);

    huella_error err;
    assert_int_equal(huella_gallery_remove_person(g, 3, &err), HUELLA_OK);
    assert_int_equal(huella_gallery_count(g), 39);
    assert_int_equal(live_chunk_bytes(g), finger_bytes - person3);
    assert_int_equal(huella_gallery_remove_person(g, 3, &err), HUELLA_E_NOTFOUND);
    assert_non_null(strstr(err.message, "3"));
    assert_int_equal(huella_gallery_identify(g, &p, NULL, &r, NULL), HUELLA_OK);
    for (size_t i = 0; i < r->n; i++)
        assert_int_not_equal(r->candidates[i].person, 3);
    huella_identify_result_free(r);

    /* the mates of others still come first after the hole was filled */
    p.finger[0] = fvc[3][9][4];
    assert_int_equal(huella_gallery_identify(g, &p, NULL, &r, NULL), HUELLA_OK);
    assert_int_equal(r->candidates[0].person, 310);
    huella_identify_result_free(r);

    /* re-enrol through the serialised form the store keeps */
    uint8_t *bytes;
    size_t len;
    assert_int_equal(huella_finger_template_encode(fvc[0][2][0], &bytes, &len, NULL), HUELLA_OK);
    assert_int_equal(
        huella_gallery_add_encoded(g, 3, 8, HUELLA_GALLERY_FINGER, 1, bytes, len, NULL), HUELLA_OK);
    free(bytes);
    p.finger[0] = fvc[0][2][1];
    assert_int_equal(huella_gallery_identify(g, &p, NULL, &r, NULL), HUELLA_OK);
    assert_int_equal(r->candidates[0].person, 3);
    assert_int_equal(r->candidates[0].slot[0].sample, 8);
    huella_identify_result_free(r);

    /* bad input is refused with a message */
    assert_int_equal(huella_gallery_add_finger(g, 1, 1, 11, fvc[0][0][0], &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "11"));
    huella_probe empty = {0};
    assert_int_equal(huella_gallery_identify(g, &empty, NULL, &r, &err), HUELLA_E_INPUT);
    huella_gallery_free(g);
    huella_gallery_free(NULL);
}

/* Fingers added from their serialised prepared forms (what a store load
 * does) live in the gallery's chunks and give the same candidates with
 * the same scores as fingers prepared one by one; a removed person's
 * fingers are wiped in place; a chunk none of whose fingers is left is
 * released. */
static void serialised_fingers_load_into_chunks(void **state)
{
    (void)state;
    NEED_DATA();
    huella_gallery *g, *h;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    assert_int_equal(huella_gallery_new(&h, NULL), HUELLA_OK);
    assert_int_equal(huella_gallery_reserve(h, 4000, NULL), HUELLA_OK);
    uint8_t *ser[N_DB][N_FING][2];
    size_t len[N_DB][N_FING][2];
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++) {
            uint64_t id = (uint64_t)(100 * d + f + 1);
            huella_gallery_finger_bytes fb[2];
            for (int k = 0; k < 2; k++) {
                huella_finger_prepared *c;
                assert_int_equal(huella_finger_prepare_compact(fvc[d][f][2 * k], &c, NULL),
                                 HUELLA_OK);
                assert_int_equal(
                    huella_finger_prepared_serialize(c, &ser[d][f][k], &len[d][f][k], NULL),
                    HUELLA_OK);
                assert_int_equal(huella_gallery_add_finger_prepared(g, id, 10 * id + (uint64_t)k,
                                                                    1u + (unsigned)k, c, NULL),
                                 HUELLA_OK);
                fb[k] = (huella_gallery_finger_bytes){10 * id + (uint64_t)k, 1u + (unsigned)k,
                                                      ser[d][f][k], len[d][f][k]};
            }
            assert_int_equal(huella_gallery_add_fingers_serialized(h, id, 2, fb, NULL), HUELLA_OK);
        }
    assert_int_equal(huella_gallery_count(h), 40);
    assert_int_equal(h->n_chunks, 2); /* 64 and 128 KB */
    assert_int_equal(huella_gallery_bytes_modality(h, HUELLA_GALLERY_FINGER), 192 << 10);
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f += 3) {
            huella_probe p = {0};
            p.finger[0] = fvc[d][f][1];
            p.finger[1] = fvc[d][f][3];
            huella_identify_result *a, *b;
            assert_int_equal(huella_gallery_identify(g, &p, NULL, &a, NULL), HUELLA_OK);
            assert_int_equal(huella_gallery_identify(h, &p, NULL, &b, NULL), HUELLA_OK);
            assert_int_equal(a->n, b->n);
            assert_int_equal(b->candidates[0].person, (uint64_t)(100 * d + f + 1));
            /* laid out again from its serialised form, a finger scores as
             * the template it was made from, bit for bit */
            huella_finger_prepared *probe, *mate;
            assert_int_equal(huella_finger_prepare(fvc[d][f][1], &probe, NULL), HUELLA_OK);
            assert_int_equal(huella_finger_prepare_compact(fvc[d][f][0], &mate, NULL), HUELLA_OK);
            assert_true(b->candidates[0].slot[0].score ==
                        (double)(float)huella_finger_compare(probe, mate));
            huella_finger_prepared_free(probe);
            huella_finger_prepared_free(mate);
            for (size_t i = 0; i < a->n; i++) {
                assert_int_equal(a->candidates[i].person, b->candidates[i].person);
                assert_true(a->candidates[i].llr == b->candidates[i].llr);
                for (int k = 0; k < 2; k++) {
                    assert_int_equal(a->candidates[i].slot[k].present,
                                     b->candidates[i].slot[k].present);
                    if (a->candidates[i].slot[k].present)
                        assert_true(a->candidates[i].slot[k].score ==
                                    b->candidates[i].slot[k].score);
                    assert_int_equal(a->candidates[i].slot[k].sample,
                                     b->candidates[i].slot[k].sample);
                }
            }
            huella_identify_result_free(a);
            huella_identify_result_free(b);
        }
    /* erasure wipes the person's bytes where they were */
    int32_t e = h->persons[gallery_find(h, 3)].first[0];
    const uint8_t *where = (const uint8_t *)h->slot[0].finger[e];
    size_t size = h->slot[0].finger_len[e];
    assert_memory_not_equal(where, (uint8_t[64]){0}, 64);
    assert_int_equal(huella_gallery_remove_person(h, 3, NULL), HUELLA_OK);
    for (size_t i = 0; i < size; i++)
        assert_int_equal(where[i], 0);
    huella_probe p = {0};
    p.finger[0] = fvc[0][2][1];
    huella_identify_result *r;
    assert_int_equal(huella_gallery_identify(h, &p, NULL, &r, NULL), HUELLA_OK);
    for (size_t i = 0; i < r->n; i++)
        assert_int_not_equal(r->candidates[i].person, 3);
    huella_identify_result_free(r);
    /* bad bytes: refused, nothing added */
    uint8_t bad[64] = {0};
    huella_gallery_finger_bytes fb = {1, 1, bad, sizeof(bad)};
    huella_error err;
    assert_int_equal(huella_gallery_add_fingers_serialized(h, 9999, 1, &fb, &err), HUELLA_E_INPUT);
    fb = (huella_gallery_finger_bytes){1, 11, ser[0][0][0], len[0][0][0]};
    assert_int_equal(huella_gallery_add_fingers_serialized(h, 9999, 1, &fb, &err), HUELLA_E_INPUT);
    /* a good finger then a bad one: all or none */
    huella_gallery_finger_bytes good_bad[2] = {{1, 1, ser[0][0][0], len[0][0][0]},
                                               {2, 2, bad, sizeof(bad)}};
    assert_int_equal(huella_gallery_add_fingers_serialized(h, 9999, 2, good_bad, &err),
                     HUELLA_E_INPUT);
    assert_true(gallery_find(h, 9999) < 0);
    assert_int_equal(huella_gallery_count(h), 39);
    /* enough persons for several chunks; erasing those of the first
     * releases it */
    uint64_t next = 1000;
    while (h->n_chunks < GALLERY_CHUNK_DOUBLINGS + 2) {
        huella_gallery_finger_bytes two[2];
        for (int k = 0; k < 2; k++)
            two[k] = (huella_gallery_finger_bytes){next * 10 + (uint64_t)k, 1u + (unsigned)k,
                                                   ser[next % 4][next % 10][k],
                                                   len[next % 4][next % 10][k]};
        assert_int_equal(huella_gallery_add_fingers_serialized(h, next, 2, two, NULL), HUELLA_OK);
        next++;
    }
    assert_int_equal(huella_gallery_bytes_modality(h, HUELLA_GALLERY_FINGER),
                     3 * GALLERY_CHUNK_BYTES - (GALLERY_CHUNK_BYTES >> GALLERY_CHUNK_DOUBLINGS));
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++)
            if (100 * d + f + 1 != 3)
                assert_int_equal(huella_gallery_remove_person(h, (uint64_t)(100 * d + f + 1), NULL),
                                 HUELLA_OK);
    for (uint64_t id = 1000; id < next; id++) {
        int64_t i = gallery_find(h, id);
        const uint8_t *fp = h->slot[0].finger[h->persons[i].first[0]];
        if (h->chunks[0].mem != NULL && fp >= h->chunks[0].mem &&
            fp < h->chunks[0].mem + h->chunks[0].cap)
            assert_int_equal(huella_gallery_remove_person(h, id, NULL), HUELLA_OK);
    }
    assert_null(h->chunks[0].mem);
    assert_int_equal(huella_gallery_bytes_modality(h, HUELLA_GALLERY_FINGER),
                     3 * GALLERY_CHUNK_BYTES -
                         2 * (GALLERY_CHUNK_BYTES >> GALLERY_CHUNK_DOUBLINGS));
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++)
            for (int k = 0; k < 2; k++)
                free(ser[d][f][k]);
    huella_gallery_free(g);
    huella_gallery_free(h);
}

static void threads_give_the_same_answers(void **state)
{
    (void)state;
    NEED_DATA();
    huella_gallery *g = single_finger_gallery();
    /* more templates per person: a second impression in the same slot */
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++)
            huella_gallery_add_finger(g, (uint64_t)(100 * d + f + 1), 9, 1, fvc[d][f][7], NULL);
    huella_identify_options o = {.top_k = 40};
    for (int d = 0; d < N_DB; d++) {
        huella_probe p = {0};
        p.finger[0] = fvc[d][d + 3][3];
        huella_identify_result *a, *b;
        huella_gallery_set_threads(g, 1);
        assert_int_equal(huella_gallery_identify(g, &p, &o, &a, NULL), HUELLA_OK);
        huella_gallery_set_threads(g, 3);
        assert_int_equal(huella_gallery_identify(g, &p, &o, &b, NULL), HUELLA_OK);
        assert_int_equal(a->n, 40);
        assert_int_equal(a->n, b->n);
        for (size_t i = 0; i < a->n; i++) {
            assert_int_equal(a->candidates[i].person, b->candidates[i].person);
            assert_true(a->candidates[i].llr == b->candidates[i].llr);
            assert_int_equal(a->candidates[i].slot[0].sample, b->candidates[i].slot[0].sample);
        }
        assert_int_equal(a->candidates[0].person, (uint64_t)(100 * d + d + 4));
        huella_identify_result_free(a);
        huella_identify_result_free(b);
    }
    huella_gallery_free(g);
}

typedef struct reader {
    huella_gallery *g;
    int d, f;
    int found; /* searches that put the mate first */
    int failed;
} reader;

static void *search_loop(void *arg)
{
    reader *r = arg;
    huella_probe p = {0};
    p.finger[0] = fvc[r->d][r->f][2];
    for (int i = 0; i < 40; i++) {
        huella_identify_result *res;
        if (huella_gallery_identify(r->g, &p, NULL, &res, NULL) != HUELLA_OK) {
            r->failed++;
            continue;
        }
        r->found += res->n > 0 && res->candidates[0].person == (uint64_t)(100 * r->d + r->f + 1);
        huella_identify_result_free(res);
    }
    return NULL;
}

static void searches_run_beside_enrolment(void **state)
{
    (void)state;
    NEED_DATA();
    huella_gallery *g = single_finger_gallery();
    huella_gallery_set_threads(g, 2);
    reader rd[2] = {{g, 0, 4, 0, 0}, {g, 2, 7, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, search_loop, &rd[i]), 0);
    /* meanwhile: enrol and erase other persons, again and again */
    for (int round = 0; round < 20; round++) {
        for (int f = 0; f < N_FING; f++)
            assert_int_equal(huella_gallery_add_finger(g, 5000 + (uint64_t)f, 1, 1,
                                                       fvc[1][f][round % N_IMPR], NULL),
                             HUELLA_OK);
        for (int f = 0; f < N_FING; f++)
            assert_int_equal(huella_gallery_remove_person(g, 5000 + (uint64_t)f, NULL), HUELLA_OK);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rd[i].failed, 0);
        assert_int_equal(rd[i].found, 40);
    }
    assert_int_equal(huella_gallery_count(g), 40);
    assert_int_equal(huella_gallery_count_slot(g, 0), 40);
    huella_gallery_free(g);
}

static void fusion_sums_calibrated_evidence(void **state)
{
    (void)state;
    NEED_DATA();
    /* person d + 1: the ten fingers of DB d, impression 1, at positions 1..10 */
    huella_gallery *g;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++)
            assert_int_equal(huella_gallery_add_finger(g, (uint64_t)d + 1, (uint64_t)f,
                                                       (unsigned)f + 1, fvc[d][f][0], NULL),
                             HUELLA_OK);
    huella_probe p = {0};
    p.finger[1] = fvc[1][1][2]; /* positions 2 and 5 of person 2 */
    p.finger[4] = fvc[1][4][2];
    huella_identify_result *r;
    assert_int_equal(huella_gallery_identify(g, &p, NULL, &r, NULL), HUELLA_OK);
    assert_false(r->cascaded);
    assert_int_equal(r->n, 4);
    assert_int_equal(r->candidates[0].person, 2);
    const huella_calibration *cal = huella_calibration_default(HUELLA_GALLERY_FINGER);
    for (size_t i = 0; i < r->n; i++) {
        const huella_candidate *c = &r->candidates[i];
        double sum = 0;
        for (int k = 0; k < HUELLA_GALLERY_SLOTS; k++) {
            if (k == 1 || k == 4) {
                assert_true(c->slot[k].present);
                assert_double_equal(c->slot[k].llr, huella_calibration_llr(cal, c->slot[k].score),
                                    1e-12);
                /* the score is the matcher's own */
                huella_finger_prepared *a, *b;
                huella_finger_prepare(p.finger[k], &a, NULL);
                huella_finger_prepare_compact(fvc[c->person - 1][k][0], &b, NULL);
                assert_double_equal(c->slot[k].score, huella_finger_compare(a, b), 1e-4);
                huella_finger_prepared_free(a);
                huella_finger_prepared_free(b);
            } else {
                assert_false(c->slot[k].present); /* missing fingers contribute nothing */
                assert_double_equal(c->slot[k].llr, 0, 0);
            }
            sum += c->slot[k].llr;
        }
        assert_double_equal(c->llr, sum, 1e-9);
        assert_true(c->strict == (c->llr >= r->threshold_strict));
        assert_true(c->review == (c->llr >= r->threshold_review));
        if (i > 0)
            assert_true(r->candidates[i - 1].llr >= c->llr);
    }
    huella_identify_result_free(r);
    huella_gallery_free(g);
}

static void calibration_is_monotone_and_bounded(void **state)
{
    (void)state;
    const huella_calibration *f = huella_calibration_default(HUELLA_GALLERY_FINGER);
    const huella_calibration *i = huella_calibration_default(HUELLA_GALLERY_IRIS);
    assert_true(f->version >= 1 && i->version >= 1);
    double prev = -INFINITY;
    for (double s = 0; s <= 100; s += 0.5) {
        double v = huella_calibration_llr(f, s);
        assert_true(v >= prev);
        assert_true(v >= f->llr_min && v <= f->llr_max);
        prev = v;
    }
    assert_double_equal(huella_calibration_llr(f, 100), f->llr_max, 0);
    assert_true(huella_calibration_llr(f, 0) < -5); /* a score of 0 is evidence against */
    prev = INFINITY;
    for (double s = -0.25; s <= 1.0; s += 0.01) {
        double v = huella_calibration_llr(i, s);
        assert_true(v <= prev);
        assert_true(v >= i->llr_min && v <= i->llr_max);
        prev = v;
    }
    assert_double_equal(huella_calibration_llr(f, NAN), f->llr_min, 0);
    /* a cap: no single score claims more than the data supports */
    assert_true(f->llr_max < 10 && i->llr_max < 13);

    /* the fit recovers a known LLR: genuine N(2, 1) against impostor
     * N(0, 1) has LLR(s) = 2 s - 2 exactly */
    enum { N = 20000 };
    double *gen = malloc(N * sizeof(double)), *imp = malloc(N * sizeof(double));
    uint64_t x = 12345;
    for (int k = 0; k < N; k++) {
        double u[2];
        for (int j = 0; j < 2; j++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            u[j] = ((double)(x >> 11) + 0.5) / 9007199254740992.0;
        }
        double z = sqrt(-2 * log(u[0])) * cos(2 * 3.14159265358979323846 * u[1]);
        double w = sqrt(-2 * log(u[0])) * sin(2 * 3.14159265358979323846 * u[1]);
        gen[k] = 2 + z;
        imp[k] = w;
    }
    huella_calibration c;
    assert_int_equal(huella_calibration_fit(gen, N, imp, N, HUELLA_GALLERY_FINGER,
                                            HUELLA_SCORE_SIMILARITY, HUELLA_CALIBRATION_SCORE, &c,
                                            NULL),
                     HUELLA_OK);
    assert_double_equal(c.b, 2.0, 0.1);
    assert_double_equal(c.a, -2.0, 0.1);
    assert_double_equal(c.llr_max, log((double)N), 1e-9);
    /* the tail feature: the normal impostor model sits on the median and
     * the 1-in-1000 point of N(0, 1) (3.09), and the LLR is monotone */
    assert_int_equal(huella_calibration_fit(gen, N, imp, N, HUELLA_GALLERY_FINGER,
                                            HUELLA_SCORE_SIMILARITY, HUELLA_CALIBRATION_TAIL, &c,
                                            NULL),
                     HUELLA_OK);
    assert_double_equal(c.mu, 0.0, 0.05);
    assert_double_equal(c.sigma, 1.0, 0.1);
    assert_true(c.b > 0);
    prev = -INFINITY;
    for (double s = -3; s <= 8; s += 0.25) {
        double v = huella_calibration_llr(&c, s);
        assert_true(v >= prev);
        prev = v;
    }
    /* near the classes' crossing it agrees with the exact LLR 2 s - 2 */
    assert_double_equal(huella_calibration_llr(&c, 1.0), 0.0, 0.5);
    assert_double_equal(huella_calibration_llr(&c, 2.0), 2.0, 1.0);
    /* scores that say nothing cannot be fitted the wrong way round */
    huella_error err;
    assert_int_equal(huella_calibration_fit(imp, N, gen, N, HUELLA_GALLERY_FINGER,
                                            HUELLA_SCORE_SIMILARITY, HUELLA_CALIBRATION_SCORE, &c,
                                            &err),
                     HUELLA_E_INPUT);
    assert_int_equal(huella_calibration_fit(gen, 0, imp, N, HUELLA_GALLERY_FINGER,
                                            HUELLA_SCORE_SIMILARITY, HUELLA_CALIBRATION_SCORE, &c,
                                            &err),
                     HUELLA_E_INPUT);
    free(gen);
    free(imp);
}

static void threshold_follows_gallery_size(void **state)
{
    (void)state;
    assert_double_equal(huella_gallery_threshold(100, 0.01), log(10000.0), 1e-12);
    assert_double_equal(huella_gallery_threshold(0, 0.01), log(100.0), 1e-12);
    double prev = -INFINITY;
    for (size_t n = 1; n <= 10000000; n *= 10) {
        double t = huella_gallery_threshold(n, 0.001);
        assert_true(t > prev);
        assert_true(t < huella_gallery_threshold(n, 0.0001));
        prev = t;
    }
    if (!test_have_data())
        return;
    /* The bound behind it, on real impostor comparisons: a non-mate's LLR
     * reaches t with probability at most e^-t. */
    size_t n = 0, above[4] = {0};
    const huella_calibration *cal = huella_calibration_default(HUELLA_GALLERY_FINGER);
    for (int d = 0; d < N_DB; d++) {
        huella_finger_prepared *p[N_FING];
        for (int f = 0; f < N_FING; f++)
            huella_finger_prepare(fvc[d][f][0], &p[f], NULL);
        for (int a = 0; a < N_FING; a++)
            for (int b = 0; b < N_FING; b++) {
                if (a == b)
                    continue;
                double llr = huella_calibration_llr(cal, huella_finger_compare(p[a], p[b]));
                n++;
                for (int t = 0; t < 4; t++)
                    above[t] += llr >= t;
            }
        for (int f = 0; f < N_FING; f++)
            huella_finger_prepared_free(p[f]);
    }
    for (int t = 0; t < 4; t++)
        assert_true((double)above[t] / (double)n <= exp(-t) + 0.02);
    /* and the gallery reports the threshold for its size */
    huella_gallery *g = single_finger_gallery();
    huella_probe p = {0};
    p.finger[0] = fvc[2][5][5];
    huella_identify_result *r;
    huella_identify_options o = {.fpir_strict = 0.002, .fpir_review = 0.05};
    assert_int_equal(huella_gallery_identify(g, &p, &o, &r, NULL), HUELLA_OK);
    assert_double_equal(r->threshold_strict, log(40 / 0.002), 1e-12);
    assert_double_equal(r->threshold_review, log(40 / 0.05), 1e-12);
    huella_identify_result_free(r);
    huella_gallery_free(g);
}

static void cascade_finds_the_mates(void **state)
{
    (void)state;
    NEED_DATA();
    /* 4 ten-finger persons (one per database, impression 1) and 36
     * distractors whose fingers are other impressions' fingers of other
     * databases' positions: every probe has 10 fingers, so the cascade
     * runs; with a shortlist of 3 the mate must survive stage 1. */
    huella_gallery *g;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FING; f++)
            huella_gallery_add_finger(g, (uint64_t)d + 1, 0, (unsigned)f + 1, fvc[d][f][0], NULL);
    for (int k = 0; k < 36; k++)
        for (int f = 0; f < N_FING; f++)
            huella_gallery_add_finger(g, 1000 + (uint64_t)k, 0, (unsigned)f + 1,
                                      fvc[k % N_DB][(f + 1 + k / N_DB) % N_FING][0], NULL);
    huella_identify_options cas = {.shortlist = 3}, all = {.exhaustive = true};
    size_t hits_cas = 0, hits_all = 0, cmp_cas = 0, cmp_all = 0;
    for (int d = 0; d < N_DB; d++)
        for (int i = 1; i < N_IMPR; i++) {
            huella_probe p = {0};
            for (int f = 0; f < N_FING; f++)
                p.finger[f] = fvc[d][f][i];
            huella_identify_result *a, *b;
            assert_int_equal(huella_gallery_identify(g, &p, &cas, &a, NULL), HUELLA_OK);
            assert_int_equal(huella_gallery_identify(g, &p, &all, &b, NULL), HUELLA_OK);
            assert_true(a->cascaded);
            assert_false(b->cascaded);
            assert_int_equal(a->n, 3); /* only the shortlist is fully compared */
            hits_cas += a->candidates[0].person == (uint64_t)d + 1;
            hits_all += b->candidates[0].person == (uint64_t)d + 1;
            /* the mate's fused evidence does not depend on the route */
            if (a->candidates[0].person == b->candidates[0].person)
                assert_double_equal(a->candidates[0].llr, b->candidates[0].llr, 1e-9);
            cmp_cas += a->comparisons;
            cmp_all += b->comparisons;
            huella_identify_result_free(a);
            huella_identify_result_free(b);
        }
    assert_int_equal(hits_all, 28);
    assert_int_equal(hits_cas, 28);
    assert_true(cmp_cas * 3 < cmp_all);
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

static void irises_fuse_with_fingers(void **state)
{
    (void)state;
    huella_gallery *g;
    assert_int_equal(huella_gallery_new(&g, NULL), HUELLA_OK);
    uint64_t x = 99;
    huella_iris_code codes[50][2];
    for (int p = 0; p < 50; p++)
        for (int e = 0; e < 2; e++) {
            random_code(&codes[p][e], &x);
            assert_int_equal(huella_gallery_add_iris(g, 500 + (uint64_t)p, (uint64_t)e,
                                                     (unsigned)e + 1, &codes[p][e], NULL),
                             HUELLA_OK);
        }
    assert_int_equal(huella_gallery_count(g), 50);
    assert_int_equal(huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_LEFT), 50);
    /* the probe: person 517's eyes with 15 % of the bits flipped */
    huella_iris_code probe[2];
    for (int e = 0; e < 2; e++) {
        probe[e] = codes[17][e];
        for (int i = 0; i < HUELLA_IRIS_CODE_BYTES; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            uint8_t r = (uint8_t)(x >> 56);
            probe[e].code[i] ^= (uint8_t)(r < 100 ? 1u << (r % 8) : 0);
        }
    }
    huella_probe p = {0};
    p.iris[0] = &probe[0];
    p.iris[1] = &probe[1];
    huella_identify_options o = {.iris_depth = 5};
    huella_identify_result *r;
    assert_int_equal(huella_gallery_identify(g, &p, &o, &r, NULL), HUELLA_OK);
    assert_int_equal(r->candidates[0].person, 517);
    const huella_candidate *c = &r->candidates[0];
    assert_true(c->slot[10].present && c->slot[11].present);
    assert_false(c->slot[10].bounded);
    assert_int_equal(c->slot[11].sample, 1);
    assert_double_equal(c->llr, c->slot[10].llr + c->slot[11].llr, 1e-9);
    assert_true(c->strict); /* two clear eyes against 50 persons */
    /* others outside one eye's top 5 carry a bound, flagged */
    bool some_bounded = false;
    for (size_t i = 1; i < r->n; i++)
        some_bounded |= r->candidates[i].slot[10].bounded || r->candidates[i].slot[11].bounded;
    assert_true(some_bounded);
    huella_identify_result_free(r);
    /* removal takes both eyes */
    assert_int_equal(huella_gallery_remove_person(g, 517, NULL), HUELLA_OK);
    assert_int_equal(huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_RIGHT), 49);
    assert_int_equal(huella_gallery_identify(g, &p, &o, &r, NULL), HUELLA_OK);
    assert_true(r->candidates[0].person != 517);
    assert_false(r->candidates[0].review);
    huella_identify_result_free(r);
    huella_gallery_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_search_remove),
        cmocka_unit_test(serialised_fingers_load_into_chunks),
        cmocka_unit_test(threads_give_the_same_answers),
        cmocka_unit_test(searches_run_beside_enrolment),
        cmocka_unit_test(fusion_sums_calibrated_evidence),
        cmocka_unit_test(calibration_is_monotone_and_bounded),
        cmocka_unit_test(threshold_follows_gallery_size),
        cmocka_unit_test(cascade_finds_the_mates),
        cmocka_unit_test(irises_fuse_with_fingers),
    };
    return cmocka_run_group_tests(tests, load_fvc, free_fvc);
}
