/*
 * test_iris_search.c - the iris 1:N search loop (src/iris/search.c): every
 * kernel counts exactly what the scalar reference counts, at every shift;
 * the search returns the brute-force top-k, whatever the kernel and the
 * number of threads; templates can be added and removed with stable ids.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/iris.h"
#include "iris/search_internal.h"
#include "support.h"

static const huella_iris_kernel kernels[] = {HUELLA_IRIS_KERNEL_PORTABLE, HUELLA_IRIS_KERNEL_AVX2,
                                             HUELLA_IRIS_KERNEL_AVX512BW,
                                             HUELLA_IRIS_KERNEL_AVX512};
#define N_KERNELS (sizeof kernels / sizeof kernels[0])

static uint64_t next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void flip(uint8_t *plane, unsigned k)
{
    plane[k / 8] ^= (uint8_t)(1u << (k % 8));
}

/* Random code with an eyelid-like mask: the outer rows lose an arc around
 * the top, plus scattered holes (reflections, lashes). */
static void random_code(huella_iris_code *c, uint64_t *s)
{
    for (size_t i = 0; i < HUELLA_IRIS_CODE_BYTES; i += 8) {
        uint64_t v = next(s);
        memcpy(c->code + i, &v, 8);
    }
    memset(c->mask, 0xff, sizeof c->mask);
    unsigned arc = (unsigned)(next(s) % 40), centre = (unsigned)(next(s) % 128);
    for (unsigned r = 4; r < HUELLA_IRIS_ROWS; r++)
        for (unsigned j = 0; j < arc * (r - 3) / 4; j++) {
            unsigned col = (centre + j) % HUELLA_IRIS_COLS;
            unsigned k = r * 256 + 2 * col;
            c->mask[k / 8] &= (uint8_t) ~(3u << (k % 8));
        }
    unsigned holes = (unsigned)(next(s) % 200);
    for (unsigned h = 0; h < holes; h++) {
        unsigned k = (unsigned)(next(s) % HUELLA_IRIS_CODE_BITS);
        c->mask[k / 8] &= (uint8_t) ~(1u << (k % 8));
    }
}

/* The same eye seen again: rotated, with bit noise and a different mask. */
static void genuine_of(const huella_iris_code *base, huella_iris_code *out, uint64_t *s)
{
    int shift = (int)(next(s) % 17) - 8;
    for (unsigned r = 0; r < HUELLA_IRIS_ROWS; r++)
        for (unsigned k = 0; k < 256; k++) {
            unsigned src = (k + 512 - (unsigned)(2 * shift + 256)) % 256;
            unsigned si = r * 256 + src, di = r * 256 + k;
            unsigned bit = (base->code[si / 8] >> (si % 8)) & 1u;
            out->code[di / 8] =
                (uint8_t)((out->code[di / 8] & ~(1u << (di % 8))) | (bit << (di % 8)));
        }
    huella_iris_code fresh;
    random_code(&fresh, s);
    memcpy(out->mask, fresh.mask, sizeof out->mask);
    unsigned noise = (unsigned)(next(s) % 400);
    for (unsigned n = 0; n < noise; n++)
        flip(out->code, (unsigned)(next(s) % HUELLA_IRIS_CODE_BITS));
}

static void kernels_count_like_the_reference(void **state)
{
    (void)state;
    uint64_t s = 1;
    unsigned pairs = 0;
    for (unsigned n = 0; n < 3000; n++) {
        huella_iris_code a, b;
        random_code(&a, &s);
        if (n % 2)
            genuine_of(&a, &b, &s);
        else
            random_code(&b, &s);
        if (n % 97 == 0)
            memset(b.mask, n % 3 ? 0x00 : 0xff, sizeof b.mask);
        /* every shift for some pairs, the +-8 window plus wrap-around
         * extremes for the others */
        int lo = n < 100 ? -64 : -8, hi = n < 100 ? 64 : 8;
        for (int shift = lo; shift <= hi; shift++) {
            unsigned dref, vref;
            huella_iris_hamming(&a, &b, shift, &dref, &vref);
            for (size_t k = 0; k < N_KERNELS; k++) {
                unsigned d = 9999, v = 9999;
                huella_error err;
                huella_status st =
                    huella_iris_search_counts(kernels[k], &a, &b, shift, &d, &v, &err);
                if (st == HUELLA_E_UNSUPPORTED)
                    continue;
                assert_int_equal(st, HUELLA_OK);
                if (d != dref || v != vref)
                    fail_msg("kernel %s pair %u shift %d: %u/%u, reference %u/%u",
                             huella_iris_kernel_name(kernels[k]), n, shift, d, v, dref, vref);
            }
        }
        pairs++;
    }
    assert_int_equal(pairs, 3000);
}

typedef struct ref_entry {
    double distance;
    uint64_t id;
    int shift;
    unsigned valid;
} ref_entry;

static int by_distance_then_id(const void *pa, const void *pb)
{
    const ref_entry *a = pa, *b = pb;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Gallery of n codes (a few genuine of the probe), with their ids. */
static huella_iris_gallery *make_gallery(size_t n, const huella_iris_code *probe,
                                         huella_iris_code *codes, uint64_t *ids, uint64_t *s)
{
    huella_iris_gallery *g;
    assert_int_equal(huella_iris_gallery_new(&g, NULL), HUELLA_OK);
    for (size_t i = 0; i < n; i++) {
        if (i % 50 == 7)
            genuine_of(probe, &codes[i], s);
        else
            random_code(&codes[i], s);
        assert_int_equal(huella_iris_gallery_add(g, &codes[i], &ids[i], NULL), HUELLA_OK);
    }
    return g;
}

/* A probe and a gallery of n codes made from the seed, with the arrays a
 * test compares the search against: the codes, their ids and room for
 * the reference answer. */
static huella_iris_gallery *search_fixture(size_t n, uint64_t seed, huella_iris_code *probe,
                                           huella_iris_code **codes, uint64_t **ids,
                                           ref_entry **ref)
{
    uint64_t s = seed;
    random_code(probe, &s);
    *codes = malloc(n * sizeof **codes);
    *ids = malloc(n * sizeof **ids);
    *ref = malloc(n * sizeof **ref);
    assert_non_null(*codes);
    assert_non_null(*ids);
    assert_non_null(*ref);
    return make_gallery(n, probe, *codes, *ids, &s);
}

static void search_fixture_free(huella_iris_gallery *g, huella_iris_code *codes, uint64_t *ids,
                                ref_entry *ref)
{
    huella_iris_gallery_free(g);
    free(codes);
    free(ids);
    free(ref);
}

/* The reference answer: huella_iris_distance on every live template. */
static size_t brute_force(const huella_iris_code *probe, const huella_iris_code *codes,
                          const uint64_t *ids, const bool *alive, size_t n, int max_shift,
                          double threshold, ref_entry *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (alive && !alive[i])
            continue;
        ref_entry e;
        e.id = ids[i];
        e.distance = huella_iris_distance(probe, &codes[i], max_shift, &e.shift, &e.valid);
        if (e.distance <= threshold)
            out[m++] = e;
    }
    qsort(out, m, sizeof *out, by_distance_then_id);
    return m;
}

static void check_search(const huella_iris_gallery *g, const huella_iris_code *probe, int max_shift,
                         size_t k, double threshold, int threads, const ref_entry *ref, size_t nref)
{
    huella_iris_match results[128];
    size_t n = 999;
    huella_error err;
    assert_true(k <= 128);
    assert_int_equal(
        huella_iris_gallery_search(g, probe, max_shift, k, threshold, threads, results, &n, &err),
        HUELLA_OK);
    size_t want = nref < k ? nref : k;
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(results[i].id, ref[i].id);
        assert_true(results[i].distance == ref[i].distance);
        assert_int_equal(results[i].shift, ref[i].shift);
        assert_int_equal(results[i].valid_bits, ref[i].valid);
    }
}

static void top_k_is_the_brute_force_answer(void **state)
{
    (void)state;
    enum { N = 3000 };
    huella_iris_code probe, *codes;
    uint64_t *ids;
    ref_entry *ref;
    huella_iris_gallery *g = search_fixture(N, 42, &probe, &codes, &ids, &ref);
    assert_int_equal(huella_iris_gallery_count(g), N);
    const int shifts[] = {0, 3, 8, 64};
    for (size_t si = 0; si < 4; si++) {
        size_t nref = brute_force(&probe, codes, ids, NULL, N, shifts[si], 2.0, ref);
        for (size_t k = 0; k < N_KERNELS; k++) {
            if (!huella_iris_kernel_supported(kernels[k]))
                continue;
            assert_int_equal(huella_iris_gallery_set_kernel(g, kernels[k], NULL), HUELLA_OK);
            check_search(g, &probe, shifts[si], 1, 2.0, 1, ref, nref);
            check_search(g, &probe, shifts[si], 10, 2.0, 1, ref, nref);
            check_search(g, &probe, shifts[si], 64, 2.0, 3, ref, nref);
            check_search(g, &probe, shifts[si], 10, 2.0, 2, ref, nref);
        }
        /* Threshold 1.0 keeps everything (distances are at most 1.0);
         * a negative one keeps nothing. */
        check_search(g, &probe, shifts[si], 64, 1.0, 2, ref, nref);
        check_search(g, &probe, shifts[si], 64, -0.5, 1, ref, 0);
        /* A threshold keeps only what is at or below it. */
        double threshold = ref[30].distance;
        size_t nthr = brute_force(&probe, codes, ids, NULL, N, shifts[si], threshold, ref);
        assert_true(nthr >= 31);
        check_search(g, &probe, shifts[si], 64, threshold, 2, ref, nthr);
        check_search(g, &probe, shifts[si], 5, threshold, 1, ref, nthr);
    }
    /* The genuine templates come first at +-8. */
    huella_iris_match best[3];
    size_t n;
    assert_int_equal(huella_iris_gallery_search(g, &probe, 8, 3, 0.35, 1, best, &n, NULL),
                     HUELLA_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_int_equal((best[i].id - 1) % 50, 7);
    search_fixture_free(g, codes, ids, ref);
}

static void add_and_remove_keep_ids(void **state)
{
    (void)state;
    enum { N = 1000 };
    huella_iris_code probe, *codes;
    uint64_t *ids;
    ref_entry *ref;
    bool alive[N];
    huella_iris_gallery *g = search_fixture(N, 7, &probe, &codes, &ids, &ref);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(ids[i], i + 1); /* 1, 2, 3, ... */
        alive[i] = true;
    }
    huella_error err;
    /* Remove the best genuine, then more than a quarter (compaction). */
    size_t nref = brute_force(&probe, codes, ids, alive, N, 8, 2.0, ref);
    uint64_t first = ref[0].id;
    assert_int_equal(huella_iris_gallery_remove(g, first, &err), HUELLA_OK);
    alive[first - 1] = false;
    assert_int_equal(huella_iris_gallery_remove(g, first, &err), HUELLA_E_NOTFOUND);
    assert_non_null(strstr(err.message, "no template with id"));
    assert_int_equal(huella_iris_gallery_remove(g, 5000, &err), HUELLA_E_NOTFOUND);
    nref = brute_force(&probe, codes, ids, alive, N, 8, 2.0, ref);
    check_search(g, &probe, 8, 20, 2.0, 2, ref, nref);
    for (size_t i = 0; i < N; i += 3) {
        if (!alive[i])
            continue;
        assert_int_equal(huella_iris_gallery_remove(g, ids[i], NULL), HUELLA_OK);
        alive[i] = false;
    }
    size_t live = 0;
    for (size_t i = 0; i < N; i++)
        live += alive[i];
    assert_int_equal(huella_iris_gallery_count(g), live);
    nref = brute_force(&probe, codes, ids, alive, N, 8, 2.0, ref);
    check_search(g, &probe, 8, 20, 2.0, 1, ref, nref);
    check_search(g, &probe, 8, 64, 2.0, 2, ref, nref);
    /* Ids survive compaction: what is left can still be removed by id,
     * and new templates get fresh ids. */
    assert_int_equal(huella_iris_gallery_remove(g, ids[N - 2], NULL), HUELLA_OK);
    alive[N - 2] = false;
    uint64_t id;
    assert_int_equal(huella_iris_gallery_add(g, &codes[0], &id, NULL), HUELLA_OK);
    assert_int_equal(id, N + 1);
    search_fixture_free(g, codes, ids, ref);
}

static void arguments_are_checked(void **state)
{
    (void)state;
    huella_iris_gallery *g;
    huella_error err;
    assert_int_equal(huella_iris_gallery_new(&g, NULL), HUELLA_OK);
    huella_iris_code c;
    uint64_t s = 3;
    random_code(&c, &s);
    huella_iris_match m[4];
    size_t n = 5;
    /* An empty gallery finds nothing. */
    assert_int_equal(huella_iris_gallery_search(g, &c, 8, 4, 1.0, 1, m, &n, NULL), HUELLA_OK);
    assert_int_equal(n, 0);
    assert_int_equal(huella_iris_gallery_add(g, &c, NULL, NULL), HUELLA_OK);
    assert_int_equal(huella_iris_gallery_search(g, &c, 65, 4, 1.0, 1, m, &n, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "max_shift"));
    assert_int_equal(huella_iris_gallery_search(g, &c, -1, 4, 1.0, 1, m, &n, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_iris_gallery_search(g, &c, 8, 4, NAN, 1, m, &n, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_iris_gallery_search(g, &c, 8, 4, 1.0, 1, m, &n, NULL), HUELLA_OK);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].id, 1);
    assert_int_equal(m[0].shift, 0);
    assert_int_equal(huella_iris_gallery_set_kernel(g, (huella_iris_kernel)9, &err),
                     HUELLA_E_INPUT);
    assert_true(huella_iris_kernel_supported(HUELLA_IRIS_KERNEL_PORTABLE));
    assert_string_equal(huella_iris_kernel_name(HUELLA_IRIS_KERNEL_PORTABLE), "portable");
    assert_string_not_equal(huella_iris_kernel_name(HUELLA_IRIS_KERNEL_AUTO), "unknown");
    assert_true(huella_iris_gallery_bytes_per_template() >= 512);
    huella_iris_gallery_free(g);
    huella_iris_gallery_free(NULL);
}

/* A probe that keeps few valid bits (the bound table the search refills
 * is filled only up to the probe's mask popcount): still the brute-force
 * answer, for a mask of a few rows and for one below the minimum of valid
 * bits, where every distance is 1.0 and ties go by id. */
static void sparse_probe_mask_is_the_brute_force_answer(void **state)
{
    (void)state;
    enum { N = 2000 };
    huella_iris_code probe, *codes;
    uint64_t *ids;
    ref_entry *ref;
    huella_iris_gallery *g = search_fixture(N, 7, &probe, &codes, &ids, &ref);
    const unsigned keep_bytes[] = {3 * HUELLA_IRIS_ROW_BYTES, HUELLA_IRIS_ROW_BYTES,
                                   HUELLA_IRIS_ROW_BYTES / 2};
    for (size_t m = 0; m < 3; m++) {
        huella_iris_code sparse = probe;
        memset(sparse.mask + keep_bytes[m], 0, HUELLA_IRIS_CODE_BYTES - keep_bytes[m]);
        for (int shift = 0; shift <= 8; shift += 8) {
            size_t nref = brute_force(&sparse, codes, ids, NULL, N, shift, 2.0, ref);
            assert_int_equal(nref, N);
            for (size_t k = 0; k < N_KERNELS; k++) {
                if (!huella_iris_kernel_supported(kernels[k]))
                    continue;
                assert_int_equal(huella_iris_gallery_set_kernel(g, kernels[k], NULL), HUELLA_OK);
                check_search(g, &sparse, shift, 1, 2.0, 1, ref, nref);
                check_search(g, &sparse, shift, 64, 2.0, 2, ref, nref);
                double threshold = ref[20].distance;
                size_t nthr = brute_force(&sparse, codes, ids, NULL, N, shift, threshold, ref);
                check_search(g, &sparse, shift, 10, threshold, 2, ref, nthr);
                brute_force(&sparse, codes, ids, NULL, N, shift, 2.0, ref);
            }
        }
    }
    search_fixture_free(g, codes, ids, ref);
}

/* Template masks that are sparse in every way the two stages of the
 * search treat apart (rows 6-7 empty, only rows 6-7, only rows 0-1, fewer
 * valid bits than the minimum, none), in a gallery with erased templates
 * (first tombstones, then a compaction with tombstones after it), probes
 * full and sparse: with every kernel, one to three threads and k up to
 * 100 (the depth identification keeps), exactly the brute-force answer. */
static void sparse_and_erased_templates_are_the_brute_force_answer(void **state)
{
    (void)state;
    enum { N = 1500 };
    const size_t tail = 6 * HUELLA_IRIS_ROW_BYTES; /* rows 6-7 start here */
    uint64_t s = 2026;
    huella_iris_code probe;
    random_code(&probe, &s);
    huella_iris_code *codes = malloc(N * sizeof *codes);
    uint64_t *ids = malloc(N * sizeof *ids);
    ref_entry *ref = malloc(N * sizeof *ref);
    bool *alive = malloc(N * sizeof *alive);
    assert_non_null(codes);
    assert_non_null(ids);
    assert_non_null(ref);
    assert_non_null(alive);
    huella_iris_gallery *g;
    assert_int_equal(huella_iris_gallery_new(&g, NULL), HUELLA_OK);
    for (size_t i = 0; i < N; i++) {
        huella_iris_code *c = &codes[i];
        if (i % 30 == 3)
            genuine_of(&probe, c, &s);
        else
            random_code(c, &s);
        switch (i % 9) {
        case 1: /* rows 6-7 masked out */
            memset(c->mask + tail, 0, HUELLA_IRIS_CODE_BYTES - tail);
            break;
        case 2: /* only rows 6-7 */
            memset(c->mask, 0, tail);
            break;
        case 4: /* only rows 0-1 */
            memset(c->mask + 2 * HUELLA_IRIS_ROW_BYTES, 0,
                   HUELLA_IRIS_CODE_BYTES - 2 * HUELLA_IRIS_ROW_BYTES);
            break;
        case 5: /* below the minimum of valid bits: 30 bytes of row 3 */
            memset(c->mask, 0, HUELLA_IRIS_CODE_BYTES);
            memset(c->mask + 3 * HUELLA_IRIS_ROW_BYTES, 0xff, 30);
            break;
        case 7: /* no valid bit at all */
            memset(c->mask, 0, HUELLA_IRIS_CODE_BYTES);
            break;
        default:
            break;
        }
        assert_int_equal(huella_iris_gallery_add(g, c, &ids[i], NULL), HUELLA_OK);
        alive[i] = true;
    }
    huella_iris_code probes[2] = {probe, probe};
    memset(probes[1].mask + tail, 0, HUELLA_IRIS_CODE_BYTES - tail);
    for (int phase = 0; phase < 2; phase++) {
        /* phase 0: a fifth erased, left as tombstones; phase 1: another
         * fifth, which compacts the store part-way and leaves tombstones
         * after it */
        for (size_t i = (size_t)phase + 1; i < N; i += 5) {
            assert_int_equal(huella_iris_gallery_remove(g, ids[i], NULL), HUELLA_OK);
            alive[i] = false;
        }
        assert_int_equal(huella_iris_gallery_count(g), N - (size_t)(phase + 1) * (N / 5));
        for (size_t p = 0; p < 2; p++)
            for (int shift = 8 - 6 * phase; shift >= 2; shift -= 6) {
                size_t nref = brute_force(&probes[p], codes, ids, alive, N, shift, 2.0, ref);
                assert_true(nref > 100);
                double threshold = ref[40].distance;
                for (size_t k = 0; k < N_KERNELS; k++) {
                    if (!huella_iris_kernel_supported(kernels[k]))
                        continue;
                    assert_int_equal(huella_iris_gallery_set_kernel(g, kernels[k], NULL),
                                     HUELLA_OK);
                    check_search(g, &probes[p], shift, 1, 2.0, 1, ref, nref);
                    check_search(g, &probes[p], shift, 10, 2.0, 2, ref, nref);
                    check_search(g, &probes[p], shift, 100, 2.0, 3, ref, nref);
                    check_search(g, &probes[p], shift, 100, 1.0, 1, ref, nref);
                }
                size_t nthr = 0; /* ref is sorted: what is at or below the threshold */
                while (nthr < nref && ref[nthr].distance <= threshold)
                    nthr++;
                for (size_t k = 0; k < N_KERNELS; k++) {
                    if (!huella_iris_kernel_supported(kernels[k]))
                        continue;
                    assert_int_equal(huella_iris_gallery_set_kernel(g, kernels[k], NULL),
                                     HUELLA_OK);
                    check_search(g, &probes[p], shift, 100, threshold, 2, ref, nthr);
                }
            }
    }
    huella_iris_gallery_free(g);
    free(codes);
    free(ids);
    free(ref);
    free(alive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernels_count_like_the_reference),
        cmocka_unit_test(top_k_is_the_brute_force_answer),
        cmocka_unit_test(sparse_probe_mask_is_the_brute_force_answer),
        cmocka_unit_test(sparse_and_erased_templates_are_the_brute_force_answer),
        cmocka_unit_test(add_and_remove_keep_ids),
        cmocka_unit_test(arguments_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
