/*
 * hamming.c - the scalar reference for comparing two iris codes.
 *
 * Contract: huella_iris_hamming counts disagreeing and mutually valid bits
 * of two codes with the second rotated by a number of angular positions;
 * huella_iris_normalise applies Daugman's rescaling of the fractional
 * Hamming distance by the number of bits compared; huella_iris_distance is
 * the minimum of that over a range of rotations.  The layout of the code is
 * the one fixed in include/huella/iris.h.
 *
 * This file is the definition of what a comparison means: it goes bit by
 * bit, for clarity, and the vectorised search loop (search.c) is tested to
 * give exactly the same counts.  Nothing here is on the hot path.
 *
 * References: J. Daugman, "How iris recognition works", IEEE Trans. CSVT
 * 14(1), 2004 (fractional Hamming distance with masks, rotation by cyclic
 * scrolling of the code); J. Daugman, "Probing the uniqueness and
 * randomness of IrisCodes", Proc. IEEE 94(11), 2006 (score normalisation
 * HDnorm = 0.5 - (0.5 - HDraw) sqrt(n / 911)).
 */
#include "huella/iris.h"

#include <math.h>

static unsigned bit_at(const uint8_t *row, unsigned k)
{
    return (row[k / 8] >> (k % 8)) & 1u;
}

/* shift reduced to [0, HUELLA_IRIS_COLS), for any int (no overflow). */
static unsigned wrap_shift(int shift)
{
    int m = shift % HUELLA_IRIS_COLS;
    return (unsigned)(m < 0 ? m + HUELLA_IRIS_COLS : m);
}

void huella_iris_hamming(const huella_iris_code *a, const huella_iris_code *b, int shift,
                         unsigned *disagree, unsigned *valid)
{
    const unsigned row_bits = 2u * HUELLA_IRIS_COLS;
    unsigned offset = 2u * wrap_shift(shift);
    unsigned d = 0, v = 0;
    for (unsigned r = 0; r < HUELLA_IRIS_ROWS; r++) {
        const uint8_t *ac = a->code + r * HUELLA_IRIS_ROW_BYTES;
        const uint8_t *am = a->mask + r * HUELLA_IRIS_ROW_BYTES;
        const uint8_t *bc = b->code + r * HUELLA_IRIS_ROW_BYTES;
        const uint8_t *bm = b->mask + r * HUELLA_IRIS_ROW_BYTES;
        for (unsigned k = 0; k < row_bits; k++) {
            unsigned kb = (k + offset) % row_bits;
            if (bit_at(am, k) && bit_at(bm, kb)) {
                v++;
                d += bit_at(ac, k) ^ bit_at(bc, kb);
            }
        }
    }
    if (disagree)
        *disagree = d;
    if (valid)
        *valid = v;
}

/*
 * The operations are spelled out one by one (and the build does not
 * contract them into fused multiply-adds, -std=c17 implying
 * -ffp-contract=off) so that search.c, which uses a table of the same
 * square roots, gets bit-identical doubles.
 */
double huella_iris_normalise(unsigned disagree, unsigned valid)
{
    if (valid < HUELLA_IRIS_MIN_VALID_BITS || disagree > valid)
        return 1.0;
    double raw = (double)disagree / (double)valid;
    double scale = sqrt((double)valid / (double)HUELLA_IRIS_NORM_BITS);
    double hd = 0.5 - (0.5 - raw) * scale;
    /* Above 1.0 only for codes more opposed than chance with many bits:
     * no better a match than 1.0, so clamped to keep 1.0 the worst score. */
    return hd > 1.0 ? 1.0 : hd;
}

static unsigned abs_shift(int s)
{
    return (unsigned)(s < 0 ? -s : s);
}

double huella_iris_distance(const huella_iris_code *a, const huella_iris_code *b, int max_shift,
                            int *best_shift, unsigned *valid_bits)
{
    if (max_shift < 0)
        max_shift = 0;
    if (max_shift > HUELLA_IRIS_COLS / 2)
        max_shift = HUELLA_IRIS_COLS / 2;
    double best = 2.0;
    int best_s = 0;
    unsigned best_v = 0;
    /* Iterating from the most negative shift with a strict comparison on
     * (distance, |shift|) leaves ties to the smaller |shift|, then to the
     * negative one: the same rule as the search loop. */
    for (int s = -max_shift; s <= max_shift; s++) {
        unsigned d, v;
        huella_iris_hamming(a, b, s, &d, &v);
        double hd = huella_iris_normalise(d, v);
        if (hd < best || (hd == best && abs_shift(s) < abs_shift(best_s))) {
            best = hd;
            best_s = s;
            best_v = v;
        }
    }
    if (best_shift)
        *best_shift = best_s;
    if (valid_bits)
        *valid_bits = best_v;
    return best;
}
