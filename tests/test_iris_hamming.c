/*
 * test_iris_hamming.c - the scalar reference for iris code comparison
 * (src/iris/hamming.c): counts over mutually valid bits, rotation by whole
 * angular positions with wrap-around, Daugman's normalisation and the
 * minimum over shifts.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "huella/iris.h"
#include "support.h"

/* Set bit (real or imaginary part `bit` of angular position col) of row. */
static void set_bit(uint8_t *plane, unsigned row, unsigned col, unsigned bit)
{
    unsigned k = 2 * col + bit;
    plane[row * HUELLA_IRIS_ROW_BYTES + k / 8] |= (uint8_t)(1u << (k % 8));
}

static unsigned get_bit(const uint8_t *plane, unsigned row, unsigned col, unsigned bit)
{
    unsigned k = 2 * col + bit;
    return (plane[row * HUELLA_IRIS_ROW_BYTES + k / 8] >> (k % 8)) & 1u;
}

/* A deterministic pseudo-random code, every bit valid. */
static void random_code(huella_iris_code *c, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < HUELLA_IRIS_CODE_BYTES; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c->code[i] = (uint8_t)x;
    }
    memset(c->mask, 0xff, sizeof c->mask);
}

/* out = in with every row rotated so that out position j holds in
 * position j - s. */
static void rotate(const huella_iris_code *in, huella_iris_code *out, int s)
{
    memset(out, 0, sizeof *out);
    for (unsigned r = 0; r < HUELLA_IRIS_ROWS; r++)
        for (unsigned j = 0; j < HUELLA_IRIS_COLS; j++) {
            unsigned src =
                (unsigned)(((int)j - s) % HUELLA_IRIS_COLS + HUELLA_IRIS_COLS) % HUELLA_IRIS_COLS;
            for (unsigned b = 0; b < 2; b++) {
                if (get_bit(in->code, r, src, b))
                    set_bit(out->code, r, j, b);
                if (get_bit(in->mask, r, src, b))
                    set_bit(out->mask, r, j, b);
            }
        }
}

static void identical_codes_agree_everywhere(void **state)
{
    (void)state;
    huella_iris_code a;
    random_code(&a, 1);
    unsigned d, v;
    huella_iris_hamming(&a, &a, 0, &d, &v);
    assert_int_equal(d, 0);
    assert_int_equal(v, HUELLA_IRIS_CODE_BITS);
}

static void complement_disagrees_everywhere(void **state)
{
    (void)state;
    huella_iris_code a, b;
    random_code(&a, 2);
    b = a;
    for (size_t i = 0; i < HUELLA_IRIS_CODE_BYTES; i++)
        b.code[i] = (uint8_t)~a.code[i];
    unsigned d, v;
    huella_iris_hamming(&a, &b, 0, &d, &v);
    assert_int_equal(d, HUELLA_IRIS_CODE_BITS);
    assert_int_equal(v, HUELLA_IRIS_CODE_BITS);
}

static void one_bit_and_its_position(void **state)
{
    (void)state;
    huella_iris_code a, b;
    memset(&a, 0, sizeof a);
    memset(a.mask, 0xff, sizeof a.mask);
    b = a;
    set_bit(b.code, 5, 10, 1); /* row 5, position 10, imaginary part */
    unsigned d, v;
    huella_iris_hamming(&a, &b, 0, &d, &v);
    assert_int_equal(d, 1);
    /* Rotating b never removes the bit from the comparison. */
    huella_iris_hamming(&a, &b, 7, &d, &v);
    assert_int_equal(d, 1);
    /* a has the same bit at position 3: b shifted by +7 brings b's
     * position 10 onto a's position 3, so they agree. */
    set_bit(a.code, 5, 3, 1);
    huella_iris_hamming(&a, &b, 7, &d, &v);
    assert_int_equal(d, 0);
    huella_iris_hamming(&a, &b, 0, &d, &v);
    assert_int_equal(d, 2);
}

static void shifts_wrap_around(void **state)
{
    (void)state;
    huella_iris_code a, b;
    random_code(&a, 3);
    /* b position j holds a position j - 3: a[j] meets b[j + 3] = a[j]. */
    rotate(&a, &b, 3);
    unsigned d, v;
    huella_iris_hamming(&a, &b, 3, &d, &v);
    assert_int_equal(d, 0);
    assert_int_equal(v, HUELLA_IRIS_CODE_BITS);
    huella_iris_hamming(&a, &b, 3 - 128, &d, &v);
    assert_int_equal(d, 0);
    huella_iris_hamming(&a, &b, 3 + 3 * 128, &d, &v);
    assert_int_equal(d, 0);
    huella_iris_hamming(&a, &b, -3, &d, &v);
    assert_true(d > 800 && d < 1250);
    /* Across the seam: a bit at position 127 meets position 1 of b at
     * shift 2. */
    huella_iris_code x, y;
    memset(&x, 0, sizeof x);
    memset(x.mask, 0xff, sizeof x.mask);
    y = x;
    set_bit(x.code, 0, 127, 0);
    set_bit(y.code, 0, 1, 0);
    huella_iris_hamming(&x, &y, 2, &d, &v);
    assert_int_equal(d, 0);
    huella_iris_hamming(&x, &y, -126, &d, &v);
    assert_int_equal(d, 0);
    huella_iris_hamming(&x, &y, 0, &d, &v);
    assert_int_equal(d, 2);
}

static void masks_exclude_bits(void **state)
{
    (void)state;
    huella_iris_code a, b;
    random_code(&a, 4);
    b = a;
    for (size_t i = 0; i < HUELLA_IRIS_CODE_BYTES; i++)
        b.code[i] = (uint8_t)~a.code[i];
    /* a masks out rows 0-1, b masks out rows 6-7 and one more bit. */
    memset(a.mask, 0, 2 * HUELLA_IRIS_ROW_BYTES);
    memset(b.mask + 6 * HUELLA_IRIS_ROW_BYTES, 0, 2 * HUELLA_IRIS_ROW_BYTES);
    b.mask[100] = 0xfe;
    unsigned d, v;
    huella_iris_hamming(&a, &b, 0, &d, &v);
    assert_int_equal(v, 4 * 256 - 1);
    assert_int_equal(d, v);
    /* The masks rotate with the code: at shift 1, b's hole at byte 100
     * bit 0 (row 3, position 16, real part) meets a's position 15. */
    huella_iris_hamming(&a, &b, 1, &d, &v);
    assert_int_equal(v, 4 * 256 - 1);
    /* Nothing valid in common: no comparison. */
    memset(a.mask, 0, sizeof a.mask);
    huella_iris_hamming(&a, &b, 0, &d, &v);
    assert_int_equal(v, 0);
    assert_int_equal(d, 0);
}

static void normalisation(void **state)
{
    (void)state;
    /* At N0 valid bits the distance is unchanged. */
    assert_double_equal(huella_iris_normalise(300, HUELLA_IRIS_NORM_BITS),
                        300.0 / HUELLA_IRIS_NORM_BITS, 1e-15);
    /* Pulled towards 0.5 with fewer bits, pushed away with more. */
    double few = huella_iris_normalise(100, 400), many = huella_iris_normalise(500, 2000);
    assert_true(few > 0.25 && few < 0.5);
    assert_true(many < 0.25);
    assert_double_equal(few, 0.5 - 0.25 * sqrt(400.0 / 911.0), 1e-15);
    assert_double_equal(many, 0.5 - 0.25 * sqrt(2000.0 / 911.0), 1e-15);
    /* Chance agreement stays at 0.5 whatever the number of bits. */
    assert_double_equal(huella_iris_normalise(1000, 2000), 0.5, 1e-15);
    /* Too few bits: no match possible. */
    assert_double_equal(huella_iris_normalise(0, HUELLA_IRIS_MIN_VALID_BITS - 1), 1.0, 0);
    assert_double_equal(huella_iris_normalise(0, 0), 1.0, 0);
    assert_true(huella_iris_normalise(0, HUELLA_IRIS_MIN_VALID_BITS) < 0.5);
    /* Codes more opposed than chance never score worse than 1.0. */
    assert_double_equal(huella_iris_normalise(2048, 2048), 1.0, 0);
    assert_double_equal(huella_iris_normalise(900, 911), 900.0 / 911.0, 1e-15);
    /* The lowest possible value. */
    assert_double_equal(huella_iris_normalise(0, 2048), 0.5 - 0.5 * sqrt(2048.0 / 911.0), 1e-15);
}

static void distance_finds_the_rotation(void **state)
{
    (void)state;
    huella_iris_code a, b;
    random_code(&a, 5);
    rotate(&a, &b, -6);
    int shift = 99;
    unsigned valid = 0;
    double hd = huella_iris_distance(&a, &b, 8, &shift, &valid);
    assert_int_equal(shift, -6);
    assert_int_equal(valid, HUELLA_IRIS_CODE_BITS);
    assert_double_equal(hd, huella_iris_normalise(0, 2048), 1e-15);
    /* Out of range: the rotation is not found, the distance is that of an
     * impostor. */
    hd = huella_iris_distance(&a, &b, 5, &shift, &valid);
    assert_true(hd > 0.3);
    assert_true(shift >= -5 && shift <= 5);
    /* The shift applies to b: distance(b, a) finds the opposite one. */
    huella_iris_distance(&b, &a, 8, &shift, NULL);
    assert_int_equal(shift, 6);
    /* max_shift 0 is a plain comparison. */
    hd = huella_iris_distance(&a, &a, 0, &shift, NULL);
    assert_int_equal(shift, 0);
}

static void ties_go_to_the_smallest_shift(void **state)
{
    (void)state;
    /* A code constant along the angle looks the same at every shift. */
    huella_iris_code a;
    memset(&a, 0, sizeof a);
    memset(a.mask, 0xff, sizeof a.mask);
    for (unsigned j = 0; j < HUELLA_IRIS_COLS; j++)
        set_bit(a.code, 2, j, 1);
    int shift = 99;
    huella_iris_distance(&a, &a, 8, &shift, NULL);
    assert_int_equal(shift, 0);
    /* A code of period two positions. */
    huella_iris_code p, q;
    memset(&p, 0, sizeof p);
    memset(p.mask, 0xff, sizeof p.mask);
    for (unsigned j = 0; j < HUELLA_IRIS_COLS; j += 2)
        set_bit(p.code, 0, j, 0);
    /* q is p moved by one position: shifts -1 and +1 both match, and the
     * negative one wins. */
    rotate(&p, &q, 1);
    huella_iris_distance(&p, &q, 8, &shift, NULL);
    assert_int_equal(shift, -1);
}

static void too_little_iris_is_no_match(void **state)
{
    (void)state;
    huella_iris_code a;
    random_code(&a, 6);
    memset(a.mask, 0, sizeof a.mask);
    memset(a.mask, 0xff, 20); /* 160 valid bits */
    unsigned valid = 1;
    double hd = huella_iris_distance(&a, &a, 8, NULL, &valid);
    assert_double_equal(hd, 1.0, 0);
    assert_int_equal(valid, 160);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_codes_agree_everywhere),
        cmocka_unit_test(complement_disagrees_everywhere),
        cmocka_unit_test(one_bit_and_its_position),
        cmocka_unit_test(shifts_wrap_around),
        cmocka_unit_test(masks_exclude_bits),
        cmocka_unit_test(normalisation),
        cmocka_unit_test(distance_finds_the_rotation),
        cmocka_unit_test(ties_go_to_the_smallest_shift),
        cmocka_unit_test(too_little_iris_is_no_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
