/*
 * test_finger_match.c - the minutiae matcher (src/finger/match.c) and the
 * "finger" modality of the evaluation harness: invariance to rotation and
 * translation, symmetry, separation of mates from non-mates, and an
 * accuracy regression on FVC2002 DB1_B templates.
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

#include <cmocka.h>

#include "huella/eval.h"
#include "huella/finger.h"
#include "finger/match_internal.h"

#define TEST_PI 3.14159265358979323846
#include "support.h"

static huella_finger_template *load(const char *rel)
{
    size_t len;
    uint8_t *data = test_read_file(test_data(rel), &len);
    assert_non_null(data);
    huella_finger_template *t;
    huella_error err;
    if (huella_finger_template_load(data, len, &t, &err) != HUELLA_OK)
        fail_msg("%s: %s", rel, err.message);
    free(data);
    return t;
}

static huella_finger_prepared *prepare(const huella_finger_template *t)
{
    huella_finger_prepared *p;
    assert_int_equal(huella_finger_prepare(t, &p, NULL), HUELLA_OK);
    return p;
}

/* Rotate by angle (counterclockwise as seen on the image, whose y axis
 * points down) about (cx, cy), then translate by (tx, ty). */
static huella_finger_template *moved(const huella_finger_template *t, double angle, double cx,
                                     double cy, double tx, double ty)
{
    huella_finger_template *m;
    assert_int_equal(huella_finger_template_new(&m, NULL), HUELLA_OK);
    double c = cos(angle), s = sin(angle);
    for (size_t i = 0; i < t->n_minutiae; i++) {
        huella_minutia v = t->minutiae[i];
        double dx = v.x - cx, dy = -(v.y - cy); /* y up */
        double rx = c * dx - s * dy, ry = s * dx + c * dy;
        v.x = (float)(cx + rx + tx);
        v.y = (float)(cy - ry + ty);
        double d = fmod(v.direction + angle, 2 * TEST_PI);
        if (d < 0)
            d += 2 * TEST_PI;
        v.direction = (float)d;
        if (v.direction >= (float)(2 * TEST_PI))
            v.direction = 0.0f;
        assert_int_equal(huella_finger_template_add(m, &v, NULL), HUELLA_OK);
    }
    return m;
}

static void a_moved_copy_matches_itself_at_any_angle(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_finger_template *t = load("finger/fvc2002/DB1_B/101_1.iso");
    huella_finger_prepared *p = prepare(t);
    double self = huella_finger_compare(p, p);
    assert_true(self >= 90.0);
    const double angles[] = {0.3, -0.7, 1.6, 3.1, 4.5};
    for (size_t k = 0; k < sizeof(angles) / sizeof(angles[0]); k++) {
        huella_finger_template *m = moved(t, angles[k], 150, 200, 400, 350);
        huella_finger_prepared *q = prepare(m);
        double s1 = huella_finger_compare(p, q), s2 = huella_finger_compare(q, p);
        if (s1 < 0.8 * self || s2 < 0.8 * self)
            fail_msg("rotated by %.1f rad: scores %.1f and %.1f, self %.1f", angles[k], s1, s2,
                     self);
        huella_finger_prepared_free(q);
        huella_finger_template_free(m);
    }
    huella_finger_prepared_free(p);
    huella_finger_template_free(t);
}

static void mates_score_above_non_mates_and_scores_are_symmetric(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_finger_template *t1 = load("finger/fvc2002/DB1_B/101_1.iso");
    huella_finger_template *t2 = load("finger/fvc2002/DB1_B/101_2.iso");
    huella_finger_template *t3 = load("finger/fvc2002/DB1_B/102_1.iso");
    huella_finger_prepared *a = prepare(t1), *b = prepare(t2), *c = prepare(t3);
    double ab = huella_finger_compare(a, b), ba = huella_finger_compare(b, a);
    double ac = huella_finger_compare(a, c), ca = huella_finger_compare(c, a);
    assert_true(ab > ac);
    assert_true(ab >= 0 && ab <= 100 && ac >= 0 && ac <= 100);
    /* The matching edges are exactly symmetric; root ties may differ. */
    assert_true(fabs(ab - ba) <= 0.15 * (ab > ba ? ab : ba) + 1.0);
    assert_true(fabs(ac - ca) <= 0.15 * (ac > ca ? ac : ca) + 1.0);
    /* Degenerate templates score 0 rather than failing. */
    huella_finger_template *empty;
    assert_int_equal(huella_finger_template_new(&empty, NULL), HUELLA_OK);
    huella_finger_prepared *e = prepare(empty);
    assert_true(huella_finger_compare(a, e) == 0.0);
    assert_true(huella_finger_compare(e, e) == 0.0);
    huella_finger_prepared_free(e);
    huella_finger_template_free(empty);
    huella_finger_prepared_free(a);
    huella_finger_prepared_free(b);
    huella_finger_prepared_free(c);
    huella_finger_template_free(t1);
    huella_finger_template_free(t2);
    huella_finger_template_free(t3);
}

/* A template prepared compact (no index, for a 1:N gallery) scores
 * exactly as the same template prepared with its index, on either side and
 * even against another compact one, and takes far less memory. */
static void compact_templates_score_the_same_in_less_memory(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *files[] = {"finger/fvc2002/DB1_B/101_1.iso", "finger/fvc2002/DB1_B/101_2.iso",
                           "finger/fvc2002/DB1_B/102_1.iso", "finger/fvc2002/DB2_B/101_1.iso"};
    enum { N = sizeof(files) / sizeof(files[0]) };
    huella_finger_template *t[N];
    huella_finger_prepared *full[N], *compact[N];
    for (int i = 0; i < N; i++) {
        t[i] = load(files[i]);
        full[i] = prepare(t[i]);
        assert_int_equal(huella_finger_prepare_compact(t[i], &compact[i], NULL), HUELLA_OK);
        assert_true(huella_finger_prepared_size(compact[i]) * 4 <
                    huella_finger_prepared_size(full[i]));
    }
    assert_int_equal(huella_finger_prepared_size(NULL), 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            double s = huella_finger_compare(full[i], full[j]);
            /* Through full[i]'s index every time: the scores are equal,
             * not just close. */
            assert_true(huella_finger_compare(full[i], compact[j]) == s);
            assert_true(huella_finger_compare(compact[j], full[i]) == s);
            assert_true(huella_finger_compare(compact[i], compact[j]) == s);
        }
    }
    for (int i = 0; i < N; i++) {
        huella_finger_prepared_free(full[i]);
        huella_finger_prepared_free(compact[i]);
        huella_finger_template_free(t[i]);
    }
}

/* huella_finger_prepared_load, with huella_finger_prepared_check asserted
 * to agree with it (a gallery checks with the one and lays out with the
 * other). */
static huella_status load_checked(const uint8_t *bytes, size_t len, huella_finger_prepared **out,
                                  huella_error *err)
{
    huella_error check_err;
    huella_status st = huella_finger_prepared_load(bytes, len, out, err);
    assert_int_equal(huella_finger_prepared_check(bytes, len, &check_err), st);
    if (st != HUELLA_OK)
        assert_string_equal(check_err.message, err->message);
    return st;
}

/* The serialised form (format 2): a few bytes a minutia and edge, loads
 * to a template that compares exactly as the compact one, and refuses
 * what preparation cannot make. */
static void serialised_templates_are_small_exact_and_checked(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_finger_template *t = load("finger/fvc2002/DB2_B/101_1.iso");
    huella_finger_template *u = load("finger/fvc2002/DB2_B/101_2.iso");
    huella_finger_prepared *probe = prepare(u), *c, *l = NULL;
    assert_int_equal(huella_finger_prepare_compact(t, &c, NULL), HUELLA_OK);
    uint8_t *bytes;
    size_t len;
    huella_error err;
    assert_int_equal(huella_finger_prepared_serialize(c, &bytes, &len, &err), HUELLA_OK);
    /* 16-byte header, 16 bytes a minutia (three floats, four bytes), a
     * hull index, 3 bytes and a bit an edge: format 1 took 26 bytes a
     * minutia, 16 a hull point and 6 an edge, format 2 24 bytes a minutia
     * and 4 an edge. */
    size_t n = t->n_minutiae > 128 ? 128 : t->n_minutiae;
    assert_true(len < 16 + n * 16 + n + n * 9 * 3 + (n * 9 + 7) / 8 + 1);
    assert_int_equal(load_checked(bytes, len, &l, &err), HUELLA_OK);
    assert_true(huella_finger_compare(probe, l) == huella_finger_compare(probe, c));
    assert_true(huella_finger_compare(l, l) == huella_finger_compare(c, c));
    huella_finger_prepared_free(l);
    l = NULL;
    /* The first minutia's direction (th[0], after x[n] and y[n]) out of
     * [0, 2 pi): refused, not looped on. */
    size_t th0 = 16 + 2 * n * sizeof(float);
    float saved, bad[] = {INFINITY, 1e30f, -0.5f, 7.0f};
    memcpy(&saved, bytes + th0, sizeof(float));
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        memcpy(bytes + th0, &bad[k], sizeof(float));
        assert_int_equal(load_checked(bytes, len, &l, &err), HUELLA_E_INPUT);
        assert_null(l);
    }
    memcpy(bytes + th0, &saved, sizeof(float));
    /* A quality of 100 (serialised as 0, the same weight). */
    size_t q0 = 16 + 3 * n * sizeof(float) + 2 * n;
    uint8_t q = bytes[q0];
    bytes[q0] = 100;
    assert_int_equal(load_checked(bytes, len, &l, &err), HUELLA_E_INPUT);
    bytes[q0] = q;
    assert_int_equal(load_checked(bytes, len, &l, &err), HUELLA_OK);
    huella_finger_prepared_free(l);
    l = NULL;
    /* Every edge, whether loaded in a group of eight or in the rest,
     * refused when it leads to no minutia or to its own (the edges' j are
     * the second of three byte arrays; an edge's minutia from the counts
     * edges_of). */
    uint16_t counts[3];
    memcpy(counts, bytes + 6, sizeof(counts));
    size_t ne = counts[1], nh = counts[2];
    assert_true(ne > 16 && ne % 8 != 0); /* both paths */
    const uint8_t *edges_of = bytes + 16 + 3 * n * sizeof(float) + 3 * n;
    size_t ev = 16 + 3 * n * sizeof(float) + 4 * n + nh + (ne + 7) / 8;
    assert_int_equal(ev + 3 * ne, len);
    for (size_t e = 0, i = 0, left = edges_of[0]; e < ne; e++, left--) {
        while (left == 0)
            left = edges_of[++i];
        uint8_t j = bytes[ev + ne + e];
        uint8_t wrong[2] = {(uint8_t)n, (uint8_t)i};
        for (int k = 0; k < 2; k++) {
            bytes[ev + ne + e] = wrong[k];
            assert_int_equal(load_checked(bytes, len, &l, &err), HUELLA_E_INPUT);
            assert_null(l);
        }
        bytes[ev + ne + e] = j;
    }
    assert_int_equal(load_checked(bytes, len, &l, &err), HUELLA_OK);
    huella_finger_prepared_free(l);
    free(bytes);
    huella_finger_prepared_free(c);
    huella_finger_prepared_free(probe);
    huella_finger_template_free(t);
    huella_finger_template_free(u);
}

/* Loading into the caller's memory (what a gallery's chunks do): the
 * size asked for is the size used, the template lives inside the given
 * block, and it compares bit for bit as the compact one and as the one
 * huella_finger_prepared_load allocates, over many pairs; misaligned or
 * short memory is refused. */
static void templates_load_into_caller_memory_exactly(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    enum { N = 8 };
    huella_finger_template *t[N];
    huella_finger_prepared *full[N], *compact[N], *alloc[N], *into[N];
    /* one block for all, each at an offset that is aligned but not to 64 */
    uint8_t *block = aligned_alloc(64, (size_t)N * 16384);
    assert_non_null(block);
    memset(block, 0xA5, (size_t)N * 16384);
    size_t at = 16;
    for (int i = 0; i < N; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "finger/fvc2002/DB2_B/%d_%d.iso", 101 + i / 2, 1 + i % 2);
        t[i] = load(rel);
        full[i] = prepare(t[i]);
        assert_int_equal(huella_finger_prepare_compact(t[i], &compact[i], NULL), HUELLA_OK);
        uint8_t *bytes;
        size_t len, size;
        huella_error err;
        assert_int_equal(huella_finger_prepared_serialize(compact[i], &bytes, &len, &err),
                         HUELLA_OK);
        assert_int_equal(huella_finger_prepared_load(bytes, len, &alloc[i], &err), HUELLA_OK);
        assert_int_equal(huella_finger_prepared_load_size(bytes, len, &size, &err), HUELLA_OK);
        assert_int_equal(size % HUELLA_FINGER_PREPARED_ALIGN, 0);
        assert_int_equal(huella_finger_prepared_size(alloc[i]), size);
        assert_true(at + size <= (size_t)N * 16384);
        /* refused: misaligned, one byte short */
        assert_int_equal(
            huella_finger_prepared_load_into(bytes, len, block + at + 8, size, &into[i], &err),
            HUELLA_E_INPUT);
        assert_null(into[i]);
        assert_int_equal(
            huella_finger_prepared_load_into(bytes, len, block + at, size - 1, &into[i], &err),
            HUELLA_E_INPUT);
        assert_int_equal(
            huella_finger_prepared_load_into(bytes, len, block + at, size, &into[i], &err),
            HUELLA_OK);
        assert_ptr_equal(into[i], block + at);
        assert_int_equal(huella_finger_prepared_size(into[i]), size);
        /* the bytes after the template are untouched */
        assert_int_equal(block[at + size], 0xA5);
        /* and it serialises back to the same bytes */
        uint8_t *again;
        size_t len2;
        assert_int_equal(huella_finger_prepared_serialize(into[i], &again, &len2, &err), HUELLA_OK);
        assert_int_equal(len2, len);
        assert_memory_equal(again, bytes, len);
        free(again);
        free(bytes);
        at += size + 16;
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            double s = huella_finger_compare(full[i], compact[j]);
            assert_true(huella_finger_compare(full[i], into[j]) == s);
            assert_true(huella_finger_compare(full[i], alloc[j]) == s);
            assert_true(huella_finger_compare(into[j], full[i]) ==
                        huella_finger_compare(compact[j], full[i]));
            assert_true(huella_finger_compare(into[i], into[j]) ==
                        huella_finger_compare(compact[i], compact[j]));
        }
    }
    for (int i = 0; i < N; i++) {
        huella_finger_prepared_free(full[i]);
        huella_finger_prepared_free(compact[i]);
        huella_finger_prepared_free(alloc[i]);
        huella_finger_template_free(t[i]);
    }
    free(block);
}

/* Positions that are not whole pixels (prints rotated by a few angles):
 * an edge's length, which a load computes again from the positions
 * (four at a time, or one by one for the last few), is the byte
 * preparation stored, so a loaded template scores as the compact one it
 * was serialised from against every probe, and against its loaded mates. */
static void templates_off_the_pixel_grid_load_exactly(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    enum { N = 12 };
    huella_finger_prepared *probe[N], *compact[N], *loaded[N];
    const double angles[] = {0.3, 1.1, 2.9, 4.4};
    for (int i = 0; i < N; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "finger/fvc2002/DB3_B/%d_%d.iso", 101 + i / 3, 1 + i % 3);
        huella_finger_template *t = load(rel);
        huella_finger_template *m = moved(t, angles[i % 4], 150.5, 170.25, 400.3, 350.7);
        assert_true(m->n_minutiae > 0 && m->minutiae[0].x != floorf(m->minutiae[0].x));
        probe[i] = prepare(m);
        huella_error err;
        assert_int_equal(huella_finger_prepare_compact(m, &compact[i], &err), HUELLA_OK);
        uint8_t *bytes;
        size_t len;
        assert_int_equal(huella_finger_prepared_serialize(compact[i], &bytes, &len, &err),
                         HUELLA_OK);
        assert_int_equal(huella_finger_prepared_load(bytes, len, &loaded[i], &err), HUELLA_OK);
        free(bytes);
        huella_finger_template_free(m);
        huella_finger_template_free(t);
    }
    int positive = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++) {
            double want = huella_finger_compare(probe[i], compact[k]);
            assert_true(huella_finger_compare(probe[i], loaded[k]) == want);
            assert_true(huella_finger_compare(loaded[i], loaded[k]) ==
                        huella_finger_compare(compact[i], compact[k]));
            positive += want > 0;
        }
    assert_true(positive > N); /* the mates (each rotated differently) do score */
    for (int i = 0; i < N; i++) {
        huella_finger_prepared_free(probe[i]);
        huella_finger_prepared_free(compact[i]);
        huella_finger_prepared_free(loaded[i]);
    }
}

/* The scores of a few pairs, pinned: work on the matcher's speed must
 * leave every score as it was.  (The full check, every pair of FVC2002
 * DB1..DB4_B bit for bit, is `bench_finger_match --scores` before and
 * after, diffed; here a tolerance, for compilers that contract a * b + c
 * differently.)  Change the values only with a change of the method,
 * together with its measured accuracy. */
static void scores_stay_what_they_were(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *files[] = {"finger/fvc2002/DB1_B/101_1.iso", "finger/fvc2002/DB1_B/101_2.iso",
                           "finger/fvc2002/DB1_B/102_1.iso", "finger/fvc2002/DB2_B/101_1.iso"};
    static const double expected[4][4] = {
        {100, 75.398021936416626, 6.3091747462749481, 1.6331082209944725},
        {75.398033857345581, 100, 4.7893326729536057, 2.7256855741143227},
        {6.30917027592659, 4.789331927895546, 100, 3.1762223690748215},
        {1.2987346388399601, 2.7256855741143227, 2.6400357484817505, 100},
    };
    enum { N = sizeof(files) / sizeof(files[0]) };
    huella_finger_template *t[N];
    huella_finger_prepared *p[N];
    for (int i = 0; i < N; i++) {
        t[i] = load(files[i]);
        p[i] = prepare(t[i]);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            assert_float_equal(huella_finger_compare(p[i], p[j]), expected[i][j], 1e-5);
    for (int i = 0; i < N; i++) {
        huella_finger_prepared_free(p[i]);
        huella_finger_template_free(t[i]);
    }
}

/* The explanation gives the score of huella_finger_compare and the pairs
 * behind it, as indexes into each template's minutiae, each minutia in
 * one pair at most, in the order of the arguments whichever side holds
 * the index. */
static void explain_gives_the_score_and_the_pairs_behind_it(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_finger_template *ta = load("finger/fvc2002/DB1_B/101_1.iso");
    huella_finger_template *tb = load("finger/fvc2002/DB1_B/101_3.iso");
    huella_finger_prepared *a = prepare(ta), *b = prepare(tb), *ca;
    assert_int_equal(huella_finger_prepare_compact(ta, &ca, NULL), HUELLA_OK);
    huella_finger_pairing pairs[HUELLA_FINGER_MAX_MINUTIAE];
    size_t n = 0;
    double s = huella_finger_compare_explain(a, b, pairs, HUELLA_FINGER_MAX_MINUTIAE, &n);
    assert_true(s == huella_finger_compare(a, b));
    assert_true(s > 0 && n >= 2);
    bool seen_a[HUELLA_FINGER_MAX_MINUTIAE] = {false}, seen_b[HUELLA_FINGER_MAX_MINUTIAE] = {false};
    for (size_t q = 0; q < n; q++) {
        assert_true(pairs[q].a < ta->n_minutiae && pairs[q].b < tb->n_minutiae);
        assert_false(seen_a[pairs[q].a] || seen_b[pairs[q].b]);
        seen_a[pairs[q].a] = seen_b[pairs[q].b] = true;
    }
    /* Fewer slots than pairs: the first ones, and the full count. */
    huella_finger_pairing first[2];
    size_t n2 = 0;
    assert_true(huella_finger_compare_explain(a, b, first, 2, &n2) == s);
    assert_int_equal(n2, n);
    assert_memory_equal(first, pairs, sizeof(first));
    /* A compact first argument is compared through b's index: the pairs
     * are those of (b, a), given back in the order (a, b). */
    size_t nr = 0, nc = 0;
    huella_finger_pairing reverse[HUELLA_FINGER_MAX_MINUTIAE], swapped[HUELLA_FINGER_MAX_MINUTIAE];
    double sr = huella_finger_compare_explain(b, a, reverse, HUELLA_FINGER_MAX_MINUTIAE, &nr);
    double sc = huella_finger_compare_explain(ca, b, swapped, HUELLA_FINGER_MAX_MINUTIAE, &nc);
    assert_true(sc == sr);
    assert_int_equal(nc, nr);
    for (size_t q = 0; q < nr; q++) {
        assert_int_equal(swapped[q].a, reverse[q].b);
        assert_int_equal(swapped[q].b, reverse[q].a);
    }
    /* No pairs behind a zero score. */
    huella_finger_template *empty;
    assert_int_equal(huella_finger_template_new(&empty, NULL), HUELLA_OK);
    huella_finger_prepared *e = prepare(empty);
    n = 99;
    assert_true(huella_finger_compare_explain(a, e, pairs, HUELLA_FINGER_MAX_MINUTIAE, &n) == 0.0);
    assert_int_equal(n, 0);
    huella_finger_prepared_free(e);
    huella_finger_template_free(empty);
    huella_finger_prepared_free(a);
    huella_finger_prepared_free(b);
    huella_finger_prepared_free(ca);
    huella_finger_template_free(ta);
    huella_finger_template_free(tb);
}

/* The regression guard: EER of the all-pairs protocol on FVC2002 DB1_B
 * templates, measured at 2.8 % when this test was written, 3.2 % since
 * the matcher keeps each edge once (one genuine comparison of 280 fell
 * below the threshold; DB2..DB4 stayed or improved), and 3.20 % with
 * consolidation and quality weights (these records carry no qualities;
 * the four sets pooled went from 5.08 % to 4.37 %).  The limit is that
 * measurement and one genuine comparison of 280 (0.36 %), rounded. */
#define DB1_EER_LIMIT 0.035

/* FVC2002 DB1_B, all pairs, from the ISO records or from the images
 * (500 ppi); the caller frees.  Checks the protocol's counts. */
static huella_eval_result *db1_all_pairs(huella_eval_input input)
{
    const huella_modality *m = huella_eval_modality_find("finger");
    assert_non_null(m);
    huella_dataset *ds;
    huella_error err;
    const char *const *ext =
        input == HUELLA_INPUT_IMAGES ? m->image_extensions : m->template_extensions;
    if (huella_dataset_scan(test_data("finger/fvc2002/DB1_B"), ext, &ds, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    assert_int_equal(ds->n_samples, 80);
    huella_eval_options opt = {
        HUELLA_PROTOCOL_ALL, {input, input == HUELLA_INPUT_IMAGES ? 500 : 0}, 2, false};
    huella_eval_result *r;
    if (huella_eval_run(m, ds, &opt, &r, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    huella_dataset_free(ds);
    assert_int_equal(r->fte, 0);
    assert_int_equal(r->n_genuine, 280);
    assert_int_equal(r->n_impostor, 2880);
    return r;
}

static void fvc2002_db1_accuracy_does_not_regress(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_eval_result *r = db1_all_pairs(HUELLA_INPUT_TEMPLATES);
    printf("# DB1_B all pairs: EER %.4f, FNMR at FMR 1%% %.4f\n", r->metrics.eer,
           r->metrics.fmr100);
    if (r->metrics.eer > DB1_EER_LIMIT)
        fail_msg("EER %.4f is above %.4f", r->metrics.eer, DB1_EER_LIMIT);
    huella_eval_result_free(r);
}

/* The same guard for the whole engine: extraction from the DB1_B images
 * (500 ppi) and the matcher.  Measured 2026-11-27, with the direction fit
 * of the score (docs/finger.md): EER 1.78 %, FNMR at FMR 0.1 % 3.93 % (11
 * of 280 genuine comparisons; 2.13 % and 9 before it: DB1_B's own FMR
 * 0.1 % threshold is its third highest impostor score of 2,880, while the
 * four databases pooled lost 6 of 57).  Each limit is that measurement and
 * one genuine comparison of 280 (0.36 %), rounded up: a change of the
 * extractor or the matcher that loses two mates fails. */
#define DB1_IMAGES_EER_LIMIT     0.022
#define DB1_IMAGES_FMR1000_LIMIT 0.043

static void fvc2002_db1_images_accuracy_does_not_regress(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_eval_result *r = db1_all_pairs(HUELLA_INPUT_IMAGES);
    printf("# DB1_B images, all pairs: EER %.4f, FNMR at FMR 1%% %.4f, at FMR 0.1%% %.4f\n",
           r->metrics.eer, r->metrics.fmr100, r->metrics.fmr1000);
    if (r->metrics.eer > DB1_IMAGES_EER_LIMIT)
        fail_msg("EER %.4f is above %.4f", r->metrics.eer, DB1_IMAGES_EER_LIMIT);
    if (r->metrics.fmr1000 > DB1_IMAGES_FMR1000_LIMIT)
        fail_msg("FNMR at FMR 0.1%% %.4f is above %.4f", r->metrics.fmr1000,
                 DB1_IMAGES_FMR1000_LIMIT);
    huella_eval_result_free(r);
}

/* Images go through the extractor (src/finger/extract.c); what cannot be
 * read is refused either way. */
static void images_and_records_both_make_templates(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const huella_modality *m = huella_eval_modality_find("finger");
    assert_non_null(m);
    assert_non_null(m->image_extensions);
    void *t = (void *)1;
    huella_sample_options opt = {HUELLA_INPUT_IMAGES, 500};
    huella_error err;
    if (m->make_template(m, test_data("finger/fvc2002/DB1_B/101_1.tif"), &opt, &t, &err) !=
        HUELLA_OK)
        fail_msg("%s", err.message);
    assert_non_null(t);
    m->free_template(t);
    t = (void *)1;
    assert_int_not_equal(
        m->make_template(m, test_data("finger/invalid-templates/101_1_truncate_1_byte.iso"), &opt,
                         &t, &err),
        HUELLA_OK);
    assert_null(t);
    opt.input = HUELLA_INPUT_TEMPLATES;
    assert_int_equal(m->make_template(m,
                                      test_data("finger/invalid-templates/"
                                                "101_1_truncate_1_byte.iso"),
                                      &opt, &t, &err),
                     HUELLA_E_INPUT);
    assert_null(t);
}

/* Every instruction-set path of the matcher (plain C, SSE2, AVX-512 where
 * the CPU has it) gives the same score bit for bit on real pairs: all
 * ordered pairs of the first five fingers (eight impressions each) of
 * FVC2002 DB1_B and DB2_B, through the index and through the flat view
 * of compact templates.  The plain C path must also separate mates from
 * non-mates, so that paths agreeing on nothing useful (every score 0)
 * fail. */
enum { PATH_FINGERS = 5, PATH_VIEWS = 8, PATH_N = PATH_FINGERS * PATH_VIEWS };

static void path_scores_as_portable(finger_path path)
{
    if (!test_have_data())
        skip();
    if (!finger_path_supported(path)) {
        printf("# path %d not supported on this CPU or build: skipped\n", (int)path);
        skip();
    }
    assert_true(finger_path_supported(FINGER_PATH_PORTABLE));
    const char *dbs[] = {"DB1_B", "DB2_B"};
    long compared = 0, differ = 0;
    for (size_t d = 0; d < sizeof(dbs) / sizeof(dbs[0]); d++) {
        huella_finger_template *t[PATH_N];
        huella_finger_prepared *full[PATH_N], *compact[PATH_N];
        for (int k = 0; k < PATH_N; k++) {
            char rel[64];
            snprintf(rel, sizeof(rel), "finger/fvc2002/%s/%d_%d.iso", dbs[d], 101 + k / PATH_VIEWS,
                     1 + k % PATH_VIEWS);
            t[k] = load(rel);
            full[k] = prepare(t[k]);
            assert_int_equal(huella_finger_prepare_compact(t[k], &compact[k], NULL), HUELLA_OK);
        }
        double mates = 0, non_mates = 0;
        int n_mates = 0, n_non_mates = 0;
        for (int i = 0; i < PATH_N; i++) {
            for (int j = 0; j < PATH_N; j++) {
                const huella_finger_prepared *pa[2] = {full[i], compact[i]};
                const huella_finger_prepared *pb[2] = {full[j], compact[j]};
                for (int v = 0; v < 2; v++) {
                    double want = finger_compare_path(pa[v], pb[v], FINGER_PATH_PORTABLE);
                    double got = finger_compare_path(pa[v], pb[v], path);
                    assert_true(want >= 0.0 && want <= 100.0);
                    compared++;
                    if (memcmp(&want, &got, sizeof(double)) != 0) {
                        if (differ++ < 5)
                            printf("# %s %d %d (%s): portable %a, path %d %a\n", dbs[d], i, j,
                                   v ? "compact" : "indexed", want, (int)path, got);
                    }
                    if (v == 0 && i != j && i / PATH_VIEWS == j / PATH_VIEWS)
                        mates += want, n_mates++;
                    else if (v == 0 && i / PATH_VIEWS != j / PATH_VIEWS)
                        non_mates += want, n_non_mates++;
                }
            }
        }
        if (!(mates / n_mates > 2.0 * non_mates / n_non_mates + 5.0))
            fail_msg("%s: mates score %.2f on average, non-mates %.2f", dbs[d], mates / n_mates,
                     non_mates / n_non_mates);
        for (int k = 0; k < PATH_N; k++) {
            huella_finger_prepared_free(full[k]);
            huella_finger_prepared_free(compact[k]);
            huella_finger_template_free(t[k]);
        }
    }
    if (differ != 0)
        fail_msg("path %d: %ld of %ld scores differ from the portable path's", (int)path, differ,
                 compared);
}

static void the_sse2_path_scores_as_plain_c(void **state)
{
    (void)state;
    path_scores_as_portable(FINGER_PATH_SSE2);
}

static void the_avx512_path_scores_as_plain_c(void **state)
{
    (void)state;
    path_scores_as_portable(FINGER_PATH_AVX512);
}

/* The public comparison takes the fastest path the CPU has, and an
 * unsupported path is refused rather than silently replaced. */
static void the_public_compare_takes_the_detected_path(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    finger_path path = finger_path_detected();
    assert_true(finger_path_supported(path));
    if (finger_path_supported(FINGER_PATH_AVX512))
        assert_int_equal(path, FINGER_PATH_AVX512);
    else if (finger_path_supported(FINGER_PATH_SSE2))
        assert_int_equal(path, FINGER_PATH_SSE2);
    huella_finger_template *t1 = load("finger/fvc2002/DB2_B/103_1.iso");
    huella_finger_template *t2 = load("finger/fvc2002/DB2_B/103_4.iso");
    huella_finger_prepared *a = prepare(t1), *b = prepare(t2);
    double s = huella_finger_compare(a, b), p = finger_compare_path(a, b, path);
    assert_true(memcmp(&s, &p, sizeof(double)) == 0);
    assert_true(s > 0.0);
    if (!finger_path_supported(FINGER_PATH_AVX512))
        assert_true(finger_compare_path(a, b, FINGER_PATH_AVX512) == -1.0);
    assert_true(finger_compare_path(a, b, (finger_path)99) == -1.0);
    huella_finger_prepared_free(a);
    huella_finger_prepared_free(b);
    huella_finger_template_free(t1);
    huella_finger_template_free(t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_moved_copy_matches_itself_at_any_angle),
        cmocka_unit_test(mates_score_above_non_mates_and_scores_are_symmetric),
        cmocka_unit_test(compact_templates_score_the_same_in_less_memory),
        cmocka_unit_test(serialised_templates_are_small_exact_and_checked),
        cmocka_unit_test(templates_load_into_caller_memory_exactly),
        cmocka_unit_test(templates_off_the_pixel_grid_load_exactly),
        cmocka_unit_test(scores_stay_what_they_were),
        cmocka_unit_test(explain_gives_the_score_and_the_pairs_behind_it),
        cmocka_unit_test(fvc2002_db1_accuracy_does_not_regress),
        cmocka_unit_test(fvc2002_db1_images_accuracy_does_not_regress),
        cmocka_unit_test(images_and_records_both_make_templates),
        cmocka_unit_test(the_sse2_path_scores_as_plain_c),
        cmocka_unit_test(the_avx512_path_scores_as_plain_c),
        cmocka_unit_test(the_public_compare_takes_the_detected_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
