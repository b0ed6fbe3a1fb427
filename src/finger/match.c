/*
 * match.c - the 1:1 minutiae matcher: neighbour-edge local structures
 * found through a hash index, root pairs, graph growing under a global
 * consistency check, a least-squares consolidation, and an
 * overlap-normalised, quality-weighted score.
 *
 * Contract: huella_finger_prepare turns a template into an immutable,
 * packed structure (one aligned allocation) with a hash index of its
 * edges; huella_finger_prepare_compact the same without the index (an
 * eighth of the memory, for the gallery of a 1:N search).
 * huella_finger_compare scores two prepared templates through the index
 * of one of them (the first if it has one, else the second; with none, a
 * flat view of the first's edges on the stack, which finds the same edges
 * more slowly), so the score does not depend on how each side was
 * prepared.  It does not allocate (about 300 KB of stack), is thread-safe,
 * deterministic, invariant to translation and to rotation by any angle,
 * and symmetric up to ties and rounding.
 *
 * The method builds on published work:
 *  - local structures made of a minutia and its nearest neighbours,
 *    described by rotation- and translation-invariant edge features
 *    (length, and the angles of the edge relative to each end's
 *    direction): Jiang and Yau, "Fingerprint minutiae matching based on
 *    the local and global structures", ICPR 2000; Ratha et al. 2000;
 *  - an index of those edges so that a comparison only looks at edges
 *    that could match (geometric hashing, Germain et al. 1997; the edge
 *    table and root pairs of SourceAFIS, R. Vazan);
 *  - consolidation from the best-supported pairs by growing a graph of
 *    mutually consistent pairs, each new pair checked both locally (its
 *    edge matches an edge of an already paired minutia) and globally
 *    (it agrees with the root pair's alignment within a tolerance that
 *    grows with the distance from the root, which absorbs elastic
 *    distortion), as in SourceAFIS and in the relaxation of MCC's LSS-R
 *    (Cappelli, Ferrara, Maltoni, IEEE PAMI 2010);
 *  - a global consolidation of the best root's pairs (the global stage
 *    of two-stage matchers, Jiang and Yau 2000): a least-squares rigid
 *    transform from every pair (Umeyama, IEEE PAMI 1991, without scale),
 *    then the locally supported pairs that growing could not reach but
 *    that agree with it, see consolidate;
 *  - per-minutia quality and minutia type as soft weights of the score
 *    (Maltoni, Maio, Jain and Prabhakar, Handbook of Fingerprint
 *    Recognition, 2nd ed. 2009, ch. 4: false minutiae cluster where
 *    quality is low, and a ridge ending often shows as a bifurcation in
 *    another impression, so a type disagreement lowers a pair's weight
 *    rather than refusing the pair);
 *  - a score normalised by the minutiae that lie in the common area of
 *    the two prints (inside each other's convex hull), which keeps
 *    partial overlaps fair (the normalisation of Jain et al. 1997 and
 *    of Bozorth-style scores, with a floor so that tiny overlaps cannot
 *    score high).
 *
 * Everything is computed at 500 ppi.  The y axis is flipped at
 * preparation so that minutia directions (counterclockwise as seen) and
 * edge angles (atan2) turn the same way.
 *
 * Edges.  Each minutia has edges to its K nearest neighbours; 78 % of
 * those are mutual (i is also among the nearest of j), so a template
 * keeps every edge once with the directions it exists in, and an edge
 * pair found once counts for both directions (its multiplicity, see
 * link_pairs): the same votes as matching the directed edges, with 40 %
 * fewer lookups and matching pairs.
 *
 * The score: s = 100 * m^2 / (max(na, F wa) * max(nb, F wb)) where m is
 * the weight of the pairs of the best root after consolidation, na and nb
 * the weight of the minutiae of each print inside the other's hull after
 * the least-squares alignment, F = SCORE_FLOOR and wa, wb the mean weight
 * of a minutia of each print.  A minutia weighs its quality / 100 (1 when
 * not reported: records without qualities score as plain counts), a pair
 * the geometric mean of its two, times TYPE_DIFFER when one is an ending
 * and the other a bifurcation, times 1 - DIR_FIT min(e / TOL_CA, 1) where
 * e is the difference of its two directions under the final (least-
 * squares) alignment.  Low-quality minutiae (near the edge of
 * the print, in smudged areas) are the likeliest to be false, so they
 * count less on both sides of the ratio.  The direction fit: once the
 * prints are aligned by their positions, the pairs of a mate agree in
 * direction to within the extractor's error, while the pairs an impostor
 * comparison collects agree only as far as the tolerances of growing and
 * consolidation force them to (26 and 20 degrees): on FVC2002's images a
 * mean error of 4 degrees against 7 (docs/finger.md); so a pair weighs
 * by how well it fits (SourceAFIS's score, too,
 * rewards the angular accuracy of its pairs).  It is measured against
 * the rotation that the positions give, not the mean of the pairs'
 * direction differences: the agreement of the two is part of the
 * evidence (against the mean, pooled EER 1.96 %).  It lies in [0, 100], is
 * monotone in m, and reads as the percentage of the common-area minutiae
 * that were paired (geometric mean of both sides, squared).  Thresholds
 * measured on FVC2002 are in finger.h.
 *
 * What each step gave, FVC2002 DB1..DB4_B images, all pairs, pooled
 * (EER / FNMR at FMR 0.1 %): 3.16 % / 12.1 % before; consolidation and
 * quality weights 2.59 % / 9.2 %; the type weight and local support for
 * consolidated pairs 2.50 % / 8.8 %; the growing tolerance at the root
 * from 12 to 8 pixels and 31 to 26 degrees 2.41 % / 7.0 %.  On the SecuGen
 * ISO records of the same prints (no qualities): 5.08 % / 13.3 % before,
 * 4.37 % / 9.7 % after.  Tighter tolerances still (6 pixels) helped the
 * images and hurt the records: a sign of fitting one extractor, not kept.
 *
 * Speed (bench/bench_finger_match.c, one core): consolidation and the
 * weights cost 12 to 13 % more instructions per comparison (callgrind,
 * FVC2002 DB1..DB4_B records), mostly the walk over the touched pairs in
 * consolidate.  Then 8.5 to 9 % fewer instructions again and 6 to 11 %
 * more comparisons per second of CPU time, every score bit for bit the
 * same (bench_finger_match --scores, diffed): passing lanes appended
 * through one table look-up per byte of the mask rather than two per
 * nibble, and roots screened by a plain comparison of votes.  Keeping
 * the votes per rank of first vote (clearing a two-byte rank per pair
 * rather than six bytes) saved 1 to 2 % more instructions but was
 * slower: the extra indirection lengthens the chain from one vote to the
 * next.
 * Then (2026-11-26, second half), again every score bit for bit the
 * same: consolidation scans a's free minutiae row by row, four of b's
 * at a time, instead of walking every touched pair with a branch each,
 * and link_pairs loads both pairs' votes before storing either; 0.4 %
 * more instructions, 26 % fewer mispredicted branches (cachegrind's
 * branch simulation, DB2_B records), a few percent of CPU time.  Tried
 * and not kept: one branch on the conjunction of grow's tests (slower),
 * K = 7 or 8 neighbours, an edge angle tolerance of 8 or 9 (faster, but
 * EER rose on most sets), at most 40 or 48 minutiae a template (fitting
 * FVC's print sizes, not a principle).
 * Then (2026-11-27), every score bit for bit the same again on all three
 * paths (AVX-512, SSE2, portable: the scores of all pairs of DB1_B and
 * DB2_B diffed, the SSE2 and portable paths forced by compiling with
 * __builtin_cpu_supports defined to 0 and __SSE2__ undefined):
 * link_pairs works out eight matching edge pairs at a time in 16-bit
 * lanes (their minutia pairs, votes and links), then scatters them
 * (the scalar loop took about 125 instructions a pair, the compiler
 * spilling a dozen live bytes; 18 % fewer instructions a comparison in
 * all, 25 to 30 % more comparisons per CPU-second); on CPUs with
 * AVX-512 (BW, VL, VBMI2), chosen at run time, the edge look-up appends
 * its passing lanes with a compress and the common-area and
 * consolidation distance tests take sixteen points at a time (5 to 15 %
 * more).  Tried and not kept: link_pairs split into two scalar loops or
 * reading edges as whole words (more instructions), growing without
 * branches (every test made for every link: slower), skipping roots
 * already paired by an earlier root's growth (3 % fewer instructions,
 * pooled EER 1.78 % to 1.98 %), the root chosen by the weight of its
 * pairs rather than their number (pooled FNMR at FMR 0.1 % 5.09 % to
 * 5.36 %).
 * Then (2026-11-27, later): the three paths are compiled into every
 * x86-64 build and chosen per comparison (finger_compare_path in
 * match_internal.h; huella_finger_compare takes the fastest the CPU
 * has), and tests/test_finger_match.c checks that SSE2 and AVX-512 give
 * the portable path's scores bit for bit on all pairs of forty records
 * each of DB1_B and DB2_B, indexed and compact.  The AVX-512 look-up
 * tests the first 32 entries of a bucket in one step (masked 256-bit
 * loads, one 32-lane compress), which is the whole bucket in 99.7 % of
 * the look-ups on DB2_B (91.5 % hold at most 16), so that the length of
 * a bucket is no longer a branch to predict: every score the same (ISO
 * and extracted, DB1..DB4_B), the look-up's share of the time (perf,
 * measured against grow's, which did not change) 25 % lower on DB2_B,
 * 16 % on DB4_B, 10 % on DB3_B: about 6.5 %, 3.5 % and 2.5 % more
 * comparisons a second (wall-clock rates on the loaded machine swung by
 * 20 %; alternated runs: DB2_B median 171,300 against 154,200).  It
 * replaced, as simpler and faster, two edges at a time when both
 * buckets hold at most 16 entries (one 32-lane compress for both: a
 * quarter as much gain, the pairing itself a branch mispredicted in one
 * pair in six).  Tried and not kept, each with
 * every score the same: links laid out by pair (a count per pair during
 * the votes, then a counting sort) so that growing reads them in a row:
 * growing and align_on fell from 23 to 19 % of the time but link_pairs
 * rose from 13 to 26 % (the decrementing cursors are read-modify-writes
 * through memory), slower overall; the votes of the touched pairs
 * gathered first and screened for roots eight at a time (one branch per
 * eight): no gain, the cost is the scattered loads of the votes, not
 * the branch; the vote table cleared with SSE2 stores instead of memset
 * (rep stosb): no gain; one branch for both "taken" tests of grow, and
 * the whole file compiled for x86-64-v4: no gain measurable on the
 * loaded machine; consolidation's candidates filtered by masks (b's
 * free minutiae once, a row's votes with AVX-512) before the branch per
 * candidate: its share of the time unchanged.
 * Then (2026-11-27, last): the probe's index as 4-byte entries (d, b1,
 * b2, dir side by side, sixteen to a 64-byte line) instead of four byte
 * arrays, so that a look-up touches one or two lines rather than four to
 * eight; AVX-512 tested sixteen entries a 512-bit register as 32-bit
 * lanes (two registers for the 32-entry step, the two masks joined in
 * mask registers), SSE2 unpacked sixteen entries into four byte
 * registers (twelve unpacks), the portable code read the entry.  Every
 * score the same (all four databases, and the paths test), but not kept:
 * the look-up's share against the rest of the comparison (compare, with
 * grow inlined, unchanged) rose by 7 to 9 % on DB2_B and DB4_B (perf,
 * three alternated runs each: 0.357 against 0.328, 0.351 against 0.327;
 * a second round, lowest of three: 0.366 / 0.330, 0.350 / 0.330,
 * 0.445 / 0.390, 0.333 / 0.300 on DB1_B..DB4_B)
 * and the versions that moved the masks through general registers by
 * 3 to 24 % (one run a database), once 89 % (DB3_B).  On this machine (AMD EPYC, 512-bit
 * operations in two halves) the index is served from L1 and L2 and the
 * step is bound by its operations and the compress, not by lines; 32
 * entries as 4-byte lanes take two 512-bit registers where the byte
 * arrays take one 256-bit register per field.  Also tried, on the
 * byte arrays: the tolerance tests as x - (y - t) modulo 256 <= 2 t
 * (exact for a prepared index, whose lengths lie in [8, 150]): two
 * operations a field instead of three or four, look-up share 0.334 and
 * 0.311 against 0.328 and 0.327, within the noise: not kept.
 * Then (2026-11-27, accuracy): each pair weighs by its direction fit
 * under the final alignment (see the score above): pooled images EER
 * 1.78 % to 1.71 %, FNMR at FMR 0.1 % 5.09 % (57 of 1,120) to 4.55 %
 * (51); ISO records 4.37 % / 9.73 % to 4.19 % / 9.55 %; 0.7 % more
 * instructions a comparison (callgrind, ISO records, all four sets).
 * What else was tried is in docs/finger.md.
 * Then (2026-11-27, a later session), every score bit for bit the same on all three
 * paths (all ordered pairs of DB1..DB4_B, indexed, compact and mixed):
 * the roots are no longer screened pair by pair in order of first vote
 * (a scattered load and a mispredicted branch whenever a pair got in,
 * about 36 times a comparison on DB2_B: 10 % of the time) but read from
 * the vote table in two passes, the first for a floor that provably
 * keeps every root (see roots), the second listing the ten or so pairs
 * above it with a compress; the rank of first vote, which breaks ties,
 * moved from the list of touched pairs into the upper half of each
 * pair's first-link word.  Consolidation's distance tests run for
 * every row in one AVX-512 call rather than one call a row, and b's
 * directions are turned into a's frame only for the few candidates
 * instead of all of them (a loop of wrap_2pi's branches).  About 5 to
 * 9 % more comparisons a CPU-second (docs/finger.md).  Tried and not
 * kept (same scores, no gain or slower): the votes, rank and first link
 * of a pair in one 64-bit word (fewer loads and stores in link_pairs,
 * but twice the bytes for the roots to scan), first_link left
 * uncleared (slower: the compiler made the first-vote select a branch;
 * as masks, no gain), the look-up compressing a's orientations instead
 * of its entries, grow's free links listed without a branch before the
 * tests (3 % slower), the root's links kept by align_on for grow, and
 * wrap_2pi without branches in grow.
 * Then (2026-11-27, a third session), every score bit for bit the same
 * (bench_finger_match --scores on DB1..DB4_B, 50,560 lines, and the
 * paths test): no lists of links.  link_pairs keeps per pair its votes,
 * the first matching edge pair that votes for it (a store to a spare
 * slot when it is not the first: no load, no branch) and its last link,
 * which orders ties between roots as the rank of first vote did; growing
 * (and align_on) find a pair's links by scanning the matching edge pairs
 * between its first and last, 32 at a time with a compress (2.7 blocks
 * and 4.2 links a scan on DB2_B's records), with grow, align_on and the
 * scan compiled together for AVX-512 (grow_root_avx512).  That removes
 * the list heads' clearing, half of link_pairs' loads and stores and the
 * chain of dependent loads along each list.  The look-up compresses the
 * passing lanes as byte offsets in a 256-bit register, widened sixteen at
 * a time, instead of a 512-bit compress of 16-bit entries; consolidation
 * turns b's minutiae into a's frame and works out the tolerances sixteen
 * at a time.  In-process A/B (bench_finger_ab, 200 rounds, median ratio)
 * against the build before: DB2_B 1.04 to 1.085 (six runs, median
 * 1.07), DB1_B 1.04 to 1.08, DB3_B 1.02, DB4_B 1.03 (docs/finger.md).
 * Earlier, 2.5 times the previous
 * implementation of this file, which looked up every directed edge,
 * voted in floating point into a table cleared per comparison, rebuilt a
 * link table grouped by minutia, and filtered it while growing.  How:
 * see "Comparison" below.
 */
#include "huella/finger.h"

#include "match_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* The edge look-up has an AVX-512 version (compress instead of a table
 * of lane positions), chosen at run time; the results are the same. */
#if defined(__x86_64__) && defined(__GNUC__)
#define FINGER_X86 1
#include <immintrin.h>
#else
#define FINGER_X86 0
#endif

/* No a * b + c fused into one rounding (clang would, in the functions
 * compiled for AVX-512, which has FMA; GCC does not in ISO C mode): every
 * path gives the same floats. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Inlined into the AVX-512 functions that call it, so that what it calls
 * is compiled for AVX-512 too. */
#if defined(__GNUC__)
#define ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define ALWAYS_INLINE inline
#endif

#define PI_F     3.14159265f
#define TWO_PI_F 6.28318531f

#define MAX_M           128    /* minutiae kept per prepared template (best quality) */
#define K_NEIGHBOURS    9      /* edges per minutia: its nearest neighbours */
#define R_MIN           8.0f   /* neighbours closer than this are ignored (noise) */
#define R_MAX           150.0f /* and farther than this too (distortion) */
#define BIN_D           16     /* hash bin width of edge length in pixels: tolerance <= 8 */
#define N_BIN_D         10     /* ceil(R_MAX / BIN_D) */
#define N_BIN_A         11     /* hash bins per turn of an edge angle */
#define N_BINS          (N_BIN_D * N_BIN_A * N_BIN_A)
#define TOL_A           11 /* edge angle tolerance in 1/256 turn (15.5 deg), < 256 / N_BIN_A / 2 */
#define MAX_MATCHES     4096                       /* matching edge pairs kept per comparison */
#define MAX_BUCKET      (2 * MAX_M * K_NEIGHBOURS) /* most entries one index bin can hold */
#define N_ROOTS         8                          /* best-supported pairs tried as roots */
#define TOL_G           8.0f  /* growing, global check: distance tolerance at the root ... */
#define TOL_G_SLOPE     0.10f /* ... growing by this much per pixel away from it */
#define TOL_GA          0.45f /* growing, global check: direction tolerance, radians (26 deg) */
#define TOL_C           8.0f  /* consolidation: distance tolerance at the centroid ... */
#define TOL_C_SLOPE     0.05f /* ... growing by this much per pixel away from it */
#define TOL_CA          0.35f /* consolidation: direction tolerance, radians (20 deg) */
#define TYPE_DIFFER     0.75f /* weight of a pair whose types disagree (see compare) */
#define DIR_FIT         0.5f  /* weight lost by a pair whose directions differ by TOL_CA */
#define SCORE_FLOOR     12.0f
#define CONSOLIDATE_MIN 3    /* pairs needed for the least-squares transform */
#define MAX_CONSOLIDATE 2048 /* candidate pairs considered by consolidation */
#define HULL_MARGIN     8.0f
/* A matching edge pair votes for its two minutia pairs with its
 * similarity s = 1 - (dd / (td + 1) + (d1 + d2) / (TOL_A + 1)) / 3 in
 * (0, 1], counted exactly in units of 1 / VOTE_ONE: 7560 = 3 * 2520, and
 * 2520 is a multiple of every td + 1 (1..9) and of TOL_A + 1 = 12. */
#define VOTE_ONE 7560

_Static_assert(2 * MAX_M * K_NEIGHBOURS <= MAX_BUCKET, "a bin holds each orientation at most once");
_Static_assert(2 * MAX_M * K_NEIGHBOURS * 8 < 65536, "index offsets are 16-bit");
_Static_assert(VOTE_ONE % (3 * (TOL_A + 1)) == 0 && BIN_D / 2 + 1 == 9, "votes are exact");
_Static_assert(MAX_M <= 128, "consolidate divides pair indexes by a multiplication");
_Static_assert(2 * MAX_MATCHES <= 0xFFFF, "a root's key holds its rank of first vote in 16 bits");

/*
 * An edge between minutia i and its neighbour j: length in pixels, and
 * the angle of the edge (from i to j) minus the direction of i (b1) and
 * of j (b2), in 1/256 of a turn.  The same edge seen from j is (d,
 * b2 + 128, b1 + 128): most neighbourhoods are mutual, so a template keeps
 * each edge once, with the directions in which it is a nearest-neighbour
 * edge (EDGE_FORWARD: j is among the nearest of i, EDGE_BACKWARD: i among
 * the nearest of j), and its index holds both orientations.
 */
#define EDGE_FORWARD  1
#define EDGE_BACKWARD 2
typedef struct edge {
    uint8_t d, b1, b2;
    uint8_t td;  /* distance tolerance, tol_d(d) */
    uint8_t dir; /* EDGE_FORWARD | EDGE_BACKWARD (d..dir first: see match_mask16) */
    uint8_t i, j;
    uint8_t pdd;  /* per_dd(td) - per_dd(BIN_D / 2), see link_pairs */
    uint16_t key; /* hash bin of (d, b1, b2), for the querying side */
} edge;

/* One orientation of an edge, as a's index refers to it: the edge seen
 * from i (which may be the edge's j). */
typedef struct oriented {
    uint8_t d, b1, b2, dir, i, j, pad0, pad1;
} oriented;

/*
 * The hash index of a template's edges: both orientations of every edge,
 * each copied into the 2 x 2 x 2 bins around its value (cover_bins), in
 * structure of arrays so that a bucket is tested 16 entries at a time.
 * Within a bin, entries are in increasing order of orientation (2 * edge
 * + 0 for the edge as stored, + 1 for it seen from j).  With bin_start
 * NULL, the view is flat: one bucket of every orientation in order, which
 * finds the same candidates in the same order (a compact template's edges
 * laid out on the stack, see flat_index).
 */
typedef struct edge_index {
    const uint16_t *bin_start; /* N_BINS + 1 offsets into the entries, or NULL */
    int n_entries;
    const uint8_t *ed, *eb1, *eb2, *edir; /* + 16 readable bytes each */
    const uint16_t *eo;                   /* the orientation of each entry */
    const oriented *orientations;         /* every orientation: 2 * n_edges */
} edge_index;

struct huella_finger_prepared {
    int n;
    int n_edges;
    int n_hull;
    float wq_mean; /* the mean of wq */
    size_t size;   /* bytes, for huella_finger_prepared_size */
    /* The hash index, in the template's block after this struct; NULL for
     * a compact template (a pointer, not the index itself: a gallery
     * holds millions of compact templates, 64 bytes each saved). */
    const edge_index *index;
    float *x, *y, *th; /* positions (y flipped) and directions */
    float *wq;         /* weight of each minutia from its quality, (0, 1] */
    uint8_t *type;     /* huella_minutia_type of each minutia */
    uint8_t *source;   /* the index of each minutia in the template */
    edge *edges;       /* each edge once, from i to j with i < j when mutual */
    float *hx, *hy;    /* convex hull of the minutiae, counterclockwise */
    float *hnx, *hny;  /* unit inward normals of the hull's sides */
    /* (hx, hy, hnx, hny: NULL in a loaded template, see hull_of) */
    uint8_t *hsrc; /* the minutia each point of the hull is */
};

static float wrap_2pi(float a)
{
    while (a < 0.0f)
        a += TWO_PI_F;
    while (a >= TWO_PI_F)
        a -= TWO_PI_F;
    return a;
}

/* |a - b| on the circle, in [0, pi]. */
static float ang_diff(float a, float b)
{
    float d = fabsf(a - b);
    return d > PI_F ? TWO_PI_F - d : d;
}

static uint8_t angle256(float a)
{
    return (uint8_t)((int)lroundf(a * 256.0f / TWO_PI_F) & 0xFF);
}

/* An edge's length in whole pixels, rounded to even, at most 255: what
 * preparation stores and what loading computes again from the positions
 * (load_edge, and load_edges8 four lanes at a time with the same IEEE
 * operations in the same order, so the same byte).  The squares are
 * separate statements so that no compiler fuses them into a
 * multiply-add. */
static uint8_t edge_length(float xi, float yi, float xj, float yj)
{
    float dx = xj - xi, dy = yj - yi;
    float dx2 = dx * dx;
    float dy2 = dy * dy;
    long d = lrintf(sqrtf(dx2 + dy2));
    return (uint8_t)(d > 255 ? 255 : d);
}

/* The index of the lowest set bit of v != 0 (de Bruijn multiplication). */
static int lowest_bit(uint64_t v)
{
    static const uint8_t at[64] = {0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28,
                                   62, 5,  39, 46, 44, 42, 22, 9,  24, 35, 59, 56, 49, 18, 29, 11,
                                   63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
                                   51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12};
    return at[((v & (~v + 1)) * 0x022FDD63CC95386Dull) >> 58];
}

/* |a - b| on the circle of 256 units, in [0, 128]. */
static int diff256(uint8_t a, uint8_t b)
{
    int d = (int8_t)(uint8_t)(a - b);
    return d < 0 ? -d : d;
}

static int bin_a(int a)
{
    return (((a * N_BIN_A) >> 8) % N_BIN_A + N_BIN_A) % N_BIN_A;
}

static int key_of(int bd, int b1, int b2)
{
    return (bd * N_BIN_A + b1) * N_BIN_A + b2;
}

/* Distance tolerance for an edge of length d (the hash relies on it
 * staying <= BIN_D / 2). */
static int tol_d(int d)
{
    int t = 4 + (d * 6 + 50) / 100;
    return t > BIN_D / 2 ? BIN_D / 2 : t;
}

/* VOTE_ONE / 3 / (td + 1), the vote an edge pair loses per pixel of
 * length difference (an integer for every td, see VOTE_ONE), less its
 * value for the largest tolerance: it fits a byte, since td >= 4. */
static int per_dd(int td)
{
    static const int16_t table[BIN_D / 2 + 1] = {2520, 1260, 840, 630, 504, 420, 360, 315, 280};
    return table[td];
}
_Static_assert(VOTE_ONE / 3 == 2520 && BIN_D / 2 == 8, "per_dd's table");
_Static_assert(EDGE_BACKWARD == 2 && (255 * N_BIN_A) >> 8 < N_BIN_A, "huella_finger_prepared_load");

static uint8_t pdd_of(int td)
{
    return (uint8_t)(per_dd(td) - per_dd(BIN_D / 2));
}

_Static_assert(VOTE_ONE / 3 / 5 - VOTE_ONE / 3 / (BIN_D / 2 + 1) <= 255,
               "pdd fits a byte (td >= 4)");

/* ---- Preparation --------------------------------------------------------- */

typedef struct by_dist {
    float d;
    int j;
} by_dist;

typedef struct by_quality {
    int q;
    int i;
} by_quality;

static int cmp_quality(const void *a, const void *b)
{
    const by_quality *p = a, *q = b;
    if (p->q != q->q)
        return q->q - p->q;
    return p->i - q->i;
}

static float cross3(float ox, float oy, float ax, float ay, float bx, float by)
{
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox);
}

typedef struct pt {
    float x, y;
    int i; /* the minutia it is */
} pt;

static int cmp_pt(const void *a, const void *b)
{
    const pt *p = a, *q = b;
    if (p->x != q->x)
        return (p->x > q->x) - (p->x < q->x);
    return (p->y > q->y) - (p->y < q->y);
}

/* Andrew's monotone chain; returns the hull size, counterclockwise. */
static int convex_hull(pt *p, int n, float *hx, float *hy, uint8_t *hsrc)
{
    qsort(p, (size_t)n, sizeof(pt), cmp_pt);
    pt h[2 * MAX_M + 2];
    int k = 0;
    for (int i = 0; i < n; i++) {
        while (k >= 2 &&
               cross3(h[k - 2].x, h[k - 2].y, h[k - 1].x, h[k - 1].y, p[i].x, p[i].y) <= 0)
            k--;
        h[k++] = p[i];
    }
    for (int i = n - 2, lower = k + 1; i >= 0; i--) {
        while (k >= lower &&
               cross3(h[k - 2].x, h[k - 2].y, h[k - 1].x, h[k - 1].y, p[i].x, p[i].y) <= 0)
            k--;
        h[k++] = p[i];
    }
    if (k > 1)
        k--; /* the last point repeats the first */
    for (int i = 0; i < k; i++) {
        hx[i] = h[i].x;
        hy[i] = h[i].y;
        hsrc[i] = (uint8_t)h[i].i;
    }
    return n == 0 ? 0 : k;
}

static size_t align64(size_t v)
{
    return (v + 63) & ~(size_t)63;
}

static oriented orient(const edge *e, bool reverse)
{
    if (!reverse)
        return (oriented){e->d, e->b1, e->b2, e->dir, e->i, e->j, 0, 0};
    /* Seen from j: the edge angle turns by half a turn, the ends swap. */
    uint8_t dir = (uint8_t)(((e->dir & EDGE_FORWARD) ? EDGE_BACKWARD : 0) |
                            ((e->dir & EDGE_BACKWARD) ? EDGE_FORWARD : 0));
    return (oriented){e->d, (uint8_t)(e->b2 + 128), (uint8_t)(e->b1 + 128), dir, e->j, e->i, 0, 0};
}

/* The 2 x 2 x 2 bins that cover [v - bin/2, v + bin/2] in each dimension
 * of an oriented edge; returns their number (fewer at the ends of the
 * length range). */
static int cover_bins(const oriented *o, int keys[8])
{
    /* Lower of the two bins that cover [v - w/2, v + w/2]; angles are in
     * 1/256 turn, bins of 256 / N_BIN_A. */
    int d0 = o->d - BIN_D / 2 < 0 ? -1 : (o->d - BIN_D / 2) / BIN_D;
    int a0 = (int)floorf(((float)o->b1 - 128.0f / N_BIN_A) * N_BIN_A / 256.0f);
    int c0 = (int)floorf(((float)o->b2 - 128.0f / N_BIN_A) * N_BIN_A / 256.0f);
    int nk = 0;
    for (int dd = 0; dd < 2; dd++) {
        int bd = d0 + dd;
        if (bd < 0 || bd >= N_BIN_D)
            continue;
        for (int aa = 0; aa < 2; aa++)
            for (int cc = 0; cc < 2; cc++)
                keys[nk++] = key_of(bd, ((a0 + aa) % N_BIN_A + N_BIN_A) % N_BIN_A,
                                    ((c0 + cc) % N_BIN_A + N_BIN_A) % N_BIN_A);
    }
    return nk;
}

static float wq_quality(int quality);
static void side_normals(const float *hx, const float *hy, int nh, float *hnx, float *hny);

static huella_status prepare(const huella_finger_template *t, bool with_index,
                             huella_finger_prepared **out, huella_error *err)
{
    *out = NULL;
    /* Keep the MAX_M minutiae of best quality (stable for equal quality). */
    by_quality order[HUELLA_FINGER_MAX_MINUTIAE];
    int total = (int)(t->n_minutiae > HUELLA_FINGER_MAX_MINUTIAE ? HUELLA_FINGER_MAX_MINUTIAE
                                                                 : t->n_minutiae);
    for (int i = 0; i < total; i++) {
        order[i].q = t->minutiae[i].quality;
        order[i].i = i;
    }
    int n = total;
    if (n > MAX_M) {
        qsort(order, (size_t)n, sizeof(by_quality), cmp_quality);
        n = MAX_M;
    }
    float x[MAX_M] = {0}, y[MAX_M] = {0}, th[MAX_M] = {0};
    for (int k = 0; k < n; k++) {
        const huella_minutia *m = &t->minutiae[order[k].i];
        x[k] = m->x;
        y[k] = -m->y; /* flip: directions are counterclockwise as seen */
        th[k] = wrap_2pi(m->direction);
    }

    /* The K nearest neighbours of each minutia within [R_MIN, R_MAX]. */
    uint8_t nbr[MAX_M][K_NEIGHBOURS];
    int n_nbr[MAX_M];
    uint64_t is_nbr[MAX_M][MAX_M / 64]; /* bit j of row i: j is a neighbour of i */
    memset(is_nbr, 0, sizeof(is_nbr));
    /* The K nearest by (distance, index), what a stable sort of all the
     * candidates would put first, kept by insertion into a list of at
     * most K: sorting every candidate was most of the cost of preparing
     * a template (loading a gallery prepares millions). */
    by_dist near[K_NEIGHBOURS];
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            /* A squared distance with a margin of 1e-4 rejects, without
             * hypotf, what hypotf would certainly reject too. */
            double dx = (double)x[j] - x[i], dy = (double)y[j] - y[i];
            double d2 = dx * dx + dy * dy;
            double far = c == K_NEIGHBOURS ? near[c - 1].d : R_MAX;
            if (d2 < (R_MIN * 0.9999) * (R_MIN * 0.9999) || d2 > (far * 1.0001) * (far * 1.0001))
                continue;
            float d = hypotf(x[j] - x[i], y[j] - y[i]);
            if (!(d >= R_MIN && d < R_MAX) || (c == K_NEIGHBOURS && !(d < near[c - 1].d)))
                continue;
            int p = c < K_NEIGHBOURS ? c++ : K_NEIGHBOURS - 1;
            while (p > 0 && near[p - 1].d > d) {
                near[p] = near[p - 1];
                p--;
            }
            near[p] = (by_dist){d, j};
        }
        n_nbr[i] = c;
        for (int k = 0; k < n_nbr[i]; k++) {
            int j = near[k].j;
            nbr[i][k] = (uint8_t)j;
            is_nbr[i][j / 64] |= 1ull << (j % 64);
        }
    }

    /* The edges, each once: from i to its neighbour j, unless i is also a
     * neighbour of j and j < i (then it was made from j). */
    edge edges[MAX_M * K_NEIGHBOURS];
    int ne = 0;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < n_nbr[i]; k++) {
            int j = nbr[i][k];
            bool mutual = (is_nbr[j][i / 64] >> (i % 64)) & 1u;
            if (mutual && j < i)
                continue;
            float phi = atan2f(y[j] - y[i], x[j] - x[i]);
            edge *e = &edges[ne++];
            e->d = edge_length(x[i], y[i], x[j], y[j]);
            e->b1 = angle256(wrap_2pi(phi - th[i]));
            e->b2 = angle256(wrap_2pi(phi - th[j]));
            e->td = (uint8_t)tol_d(e->d);
            e->dir = (uint8_t)(EDGE_FORWARD | (mutual ? EDGE_BACKWARD : 0));
            e->i = (uint8_t)i;
            e->j = (uint8_t)j;
            e->pdd = pdd_of(e->td);
            int bd = e->d / BIN_D;
            e->key = (uint16_t)key_of(bd < N_BIN_D ? bd : N_BIN_D - 1, bin_a(e->b1), bin_a(e->b2));
        }
    }

    /* Hash index: both orientations of every edge, each copied into the
     * bins that cover it (cover_bins), so that an edge of the other
     * template within tolerance is found by looking up its own bin only.
     * Counting sort: sizes first. */
    int keys[8];
    uint16_t bin_start[N_BINS + 1];
    memset(bin_start, 0, sizeof(bin_start));
    for (int e = 0; e < ne && with_index; e++) {
        for (int r = 0; r < 2; r++) {
            oriented o = orient(&edges[e], r == 1);
            int nk = cover_bins(&o, keys);
            for (int k = 0; k < nk; k++)
                bin_start[keys[k] + 1]++;
        }
    }
    for (int b = 0; b < N_BINS; b++)
        bin_start[b + 1] = (uint16_t)(bin_start[b + 1] + bin_start[b]);
    int n_entries = with_index ? bin_start[N_BINS] : 0;

    size_t sz_head =
        align64(sizeof(huella_finger_prepared) + (with_index ? sizeof(edge_index) : 0));
    size_t sz_f = align64((size_t)n * sizeof(float) + 1);
    size_t sz_edges = align64((size_t)ne * sizeof(edge) + 1);
    size_t sz_bins = with_index ? align64((N_BINS + 1) * sizeof(uint16_t)) : 0;
    size_t sz_entries = with_index ? align64((size_t)n_entries + 16) : 0; /* + 16: vector loads */
    size_t sz_eo = with_index ? align64((size_t)n_entries * sizeof(uint16_t) + 1) : 0;
    size_t sz_oriented = with_index ? align64(2 * (size_t)ne * sizeof(oriented) + 1) : 0;
    size_t sz_source = align64((size_t)n + 1);
    size_t total_size = sz_head + 8 * sz_f + 3 * sz_source + sz_edges + sz_bins + 4 * sz_entries +
                        sz_eo + sz_oriented;
    uint8_t *block = aligned_alloc(64, total_size);
    if (block == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate a prepared template");
    memset(block, 0, total_size);
    huella_finger_prepared *p = (huella_finger_prepared *)block;
    uint8_t *cur = block + sz_head;
    p->x = (float *)cur, cur += sz_f;
    p->y = (float *)cur, cur += sz_f;
    p->th = (float *)cur, cur += sz_f;
    p->wq = (float *)cur, cur += sz_f;
    p->type = cur, cur += sz_source;
    p->hx = (float *)cur, cur += sz_f;
    p->hy = (float *)cur, cur += sz_f;
    p->hnx = (float *)cur, cur += sz_f;
    p->hny = (float *)cur, cur += sz_f;
    p->source = cur, cur += sz_source;
    p->hsrc = cur, cur += sz_source;
    p->edges = (edge *)cur, cur += sz_edges;
    uint16_t *ix_bins = (uint16_t *)cur;
    cur += sz_bins;
    uint8_t *ix_d = cur, *ix_b1 = cur + sz_entries, *ix_b2 = cur + 2 * sz_entries,
            *ix_dir = cur + 3 * sz_entries;
    cur += 4 * sz_entries;
    uint16_t *ix_eo = (uint16_t *)cur;
    cur += sz_eo;
    oriented *ix_oriented = (oriented *)cur;
    p->n = n;
    p->n_edges = ne;
    p->size = total_size;
    memcpy(p->x, x, (size_t)n * sizeof(float));
    memcpy(p->y, y, (size_t)n * sizeof(float));
    memcpy(p->th, th, (size_t)n * sizeof(float));
    for (int k = 0; k < n; k++) {
        p->source[k] = (uint8_t)order[k].i;
        const huella_minutia *mk = &t->minutiae[order[k].i];
        p->type[k] = mk->type;
        p->wq[k] = wq_quality(mk->quality);
        p->wq_mean += p->wq[k] / (float)n;
    }
    memcpy(p->edges, edges, (size_t)ne * sizeof(edge));
    if (with_index) {
        edge_index *index = (edge_index *)(block + sizeof(huella_finger_prepared));
        *index = (edge_index){ix_bins, n_entries, ix_d, ix_b1, ix_b2, ix_dir, ix_eo, ix_oriented};
        p->index = index;
        memcpy(ix_bins, bin_start, sizeof(bin_start));
        for (int e = 0; e < ne; e++) {
            for (int r = 0; r < 2; r++) {
                oriented o = orient(&edges[e], r == 1);
                ix_oriented[2 * e + r] = o;
                int nk = cover_bins(&o, keys);
                for (int k = 0; k < nk; k++) {
                    int at = bin_start[keys[k]]++;
                    ix_d[at] = o.d;
                    ix_b1[at] = o.b1;
                    ix_b2[at] = o.b2;
                    ix_dir[at] = o.dir;
                    ix_eo[at] = (uint16_t)(2 * e + r);
                }
            }
        }
    }

    pt pts[MAX_M];
    for (int i = 0; i < n; i++)
        pts[i] = (pt){p->x[i], p->y[i], i};
    p->n_hull = convex_hull(pts, n, p->hx, p->hy, p->hsrc);
    side_normals(p->hx, p->hy, p->n_hull, p->hnx, p->hny);
    *out = p;
    return HUELLA_OK;
}

huella_status huella_finger_prepare(const huella_finger_template *t, huella_finger_prepared **out,
                                    huella_error *err)
{
    return prepare(t, true, out, err);
}

huella_status huella_finger_prepare_compact(const huella_finger_template *t,
                                            huella_finger_prepared **out, huella_error *err)
{
    return prepare(t, false, out, err);
}

size_t huella_finger_prepared_size(const huella_finger_prepared *p)
{
    return p == NULL ? 0 : p->size;
}

void huella_finger_prepared_free(huella_finger_prepared *p)
{
    free(p);
}

/* ---- Comparison ---------------------------------------------------------- */

/*
 * The comparison runs in passes over flat arrays, each a loop without
 * data-dependent branches where that matters: whether an edge matches,
 * whether a pair was seen, whether a point is in the hull are coin tosses
 * for the branch predictor, and the mispredictions, not the arithmetic,
 * were most of the cost of the first implementation.
 *
 *   1. find_candidates: every edge of b looks up its bin in a's index,
 *      tests 16 entries at a time (SSE2) and appends those within
 *      tolerance through a table of bit positions;
 *   2. link_pairs: each matching edge pair votes for its two minutia
 *      pairs (i of a, i of b) and (j of a, j of b), in integers, in a
 *      table indexed by the pair, and works out the link from each pair
 *      to the other; growing from a pair finds its links by scanning the
 *      matching edge pairs between the first and the last that vote for
 *      it (links_of);
 *   3. roots: the N_ROOTS pairs with the most votes, from a floor that
 *      keeps them all and the few pairs above it, kept sorted by
 *      min/max;
 *   4. grow from each root, keep the largest set; consolidate it
 *      (consolidate); the common area of the least-squares alignment,
 *      weighed over every side of the hulls.
 *
 * Every pass has a fixed order (candidates in order of b's edges and of
 * a's bins; a pair's links in that order; ties between roots broken by
 * each pair's last link), so the result is deterministic and depends on
 * nothing but the two templates.
 */

#if defined(__SSE2__)
/* Positions of the set bits of a byte, one per byte from the lowest, and
 * their number: appending the passing lanes of a comparison mask without
 * a branch per lane (whether an edge matches is a coin toss for the
 * branch predictor), one table look-up per 8 lanes. */
/* clang-format off */
static const uint64_t byte_positions[256] = {
    0x0ull, 0x0ull, 0x1ull, 0x100ull,
    0x2ull, 0x200ull, 0x201ull, 0x20100ull,
    0x3ull, 0x300ull, 0x301ull, 0x30100ull,
    0x302ull, 0x30200ull, 0x30201ull, 0x3020100ull,
    0x4ull, 0x400ull, 0x401ull, 0x40100ull,
    0x402ull, 0x40200ull, 0x40201ull, 0x4020100ull,
    0x403ull, 0x40300ull, 0x40301ull, 0x4030100ull,
    0x40302ull, 0x4030200ull, 0x4030201ull, 0x403020100ull,
    0x5ull, 0x500ull, 0x501ull, 0x50100ull,
    0x502ull, 0x50200ull, 0x50201ull, 0x5020100ull,
    0x503ull, 0x50300ull, 0x50301ull, 0x5030100ull,
    0x50302ull, 0x5030200ull, 0x5030201ull, 0x503020100ull,
    0x504ull, 0x50400ull, 0x50401ull, 0x5040100ull,
    0x50402ull, 0x5040200ull, 0x5040201ull, 0x504020100ull,
    0x50403ull, 0x5040300ull, 0x5040301ull, 0x504030100ull,
    0x5040302ull, 0x504030200ull, 0x504030201ull, 0x50403020100ull,
    0x6ull, 0x600ull, 0x601ull, 0x60100ull,
    0x602ull, 0x60200ull, 0x60201ull, 0x6020100ull,
    0x603ull, 0x60300ull, 0x60301ull, 0x6030100ull,
    0x60302ull, 0x6030200ull, 0x6030201ull, 0x603020100ull,
    0x604ull, 0x60400ull, 0x60401ull, 0x6040100ull,
    0x60402ull, 0x6040200ull, 0x6040201ull, 0x604020100ull,
    0x60403ull, 0x6040300ull, 0x6040301ull, 0x604030100ull,
    0x6040302ull, 0x604030200ull, 0x604030201ull, 0x60403020100ull,
    0x605ull, 0x60500ull, 0x60501ull, 0x6050100ull,
    0x60502ull, 0x6050200ull, 0x6050201ull, 0x605020100ull,
    0x60503ull, 0x6050300ull, 0x6050301ull, 0x605030100ull,
    0x6050302ull, 0x605030200ull, 0x605030201ull, 0x60503020100ull,
    0x60504ull, 0x6050400ull, 0x6050401ull, 0x605040100ull,
    0x6050402ull, 0x605040200ull, 0x605040201ull, 0x60504020100ull,
    0x6050403ull, 0x605040300ull, 0x605040301ull, 0x60504030100ull,
    0x605040302ull, 0x60504030200ull, 0x60504030201ull, 0x6050403020100ull,
    0x7ull, 0x700ull, 0x701ull, 0x70100ull,
    0x702ull, 0x70200ull, 0x70201ull, 0x7020100ull,
    0x703ull, 0x70300ull, 0x70301ull, 0x7030100ull,
    0x70302ull, 0x7030200ull, 0x7030201ull, 0x703020100ull,
    0x704ull, 0x70400ull, 0x70401ull, 0x7040100ull,
    0x70402ull, 0x7040200ull, 0x7040201ull, 0x704020100ull,
    0x70403ull, 0x7040300ull, 0x7040301ull, 0x704030100ull,
    0x7040302ull, 0x704030200ull, 0x704030201ull, 0x70403020100ull,
    0x705ull, 0x70500ull, 0x70501ull, 0x7050100ull,
    0x70502ull, 0x7050200ull, 0x7050201ull, 0x705020100ull,
    0x70503ull, 0x7050300ull, 0x7050301ull, 0x705030100ull,
    0x7050302ull, 0x705030200ull, 0x705030201ull, 0x70503020100ull,
    0x70504ull, 0x7050400ull, 0x7050401ull, 0x705040100ull,
    0x7050402ull, 0x705040200ull, 0x705040201ull, 0x70504020100ull,
    0x7050403ull, 0x705040300ull, 0x705040301ull, 0x70504030100ull,
    0x705040302ull, 0x70504030200ull, 0x70504030201ull, 0x7050403020100ull,
    0x706ull, 0x70600ull, 0x70601ull, 0x7060100ull,
    0x70602ull, 0x7060200ull, 0x7060201ull, 0x706020100ull,
    0x70603ull, 0x7060300ull, 0x7060301ull, 0x706030100ull,
    0x7060302ull, 0x706030200ull, 0x706030201ull, 0x70603020100ull,
    0x70604ull, 0x7060400ull, 0x7060401ull, 0x706040100ull,
    0x7060402ull, 0x706040200ull, 0x706040201ull, 0x70604020100ull,
    0x7060403ull, 0x706040300ull, 0x706040301ull, 0x70604030100ull,
    0x706040302ull, 0x70604030200ull, 0x70604030201ull, 0x7060403020100ull,
    0x70605ull, 0x7060500ull, 0x7060501ull, 0x706050100ull,
    0x7060502ull, 0x706050200ull, 0x706050201ull, 0x70605020100ull,
    0x7060503ull, 0x706050300ull, 0x706050301ull, 0x70605030100ull,
    0x706050302ull, 0x70605030200ull, 0x70605030201ull, 0x7060503020100ull,
    0x7060504ull, 0x706050400ull, 0x706050401ull, 0x70605040100ull,
    0x706050402ull, 0x70605040200ull, 0x70605040201ull, 0x7060504020100ull,
    0x706050403ull, 0x70605040300ull, 0x70605040301ull, 0x7060504030100ull,
    0x70605040302ull, 0x7060504030200ull, 0x7060504030201ull, 0x706050403020100ull,
};
/* clang-format on */
static const uint8_t byte_count[256] = {
#define C2(n) n, n + 1, n + 1, n + 2
#define C4(n) C2(n), C2(n + 1), C2(n + 1), C2(n + 2)
#define C6(n) C4(n), C4(n + 1), C4(n + 1), C4(n + 2)
    C6(0), C6(1), C6(1), C6(2)
#undef C2
#undef C4
#undef C6
};
#endif

/* Append base + k for every bit k of the 16-bit mask to at[], and e as
 * many times to es[], from index nm on; returns the new count.  Up to 8
 * slots past the new count may be overwritten. */
#if defined(__SSE2__)
static inline int append_lanes_sse2(uint16_t *at, uint16_t *es, int nm, unsigned mask, int base,
                                    int e)
{
    const __m128i ve = _mm_set1_epi16((short)e);
    for (int h = 0; h < 16; h += 8) {
        unsigned byte = (mask >> h) & 0xFFu;
        __m128i v = _mm_loadl_epi64((const __m128i *)&byte_positions[byte]);
        v = _mm_add_epi16(_mm_unpacklo_epi8(v, _mm_setzero_si128()),
                          _mm_set1_epi16((short)(base + h)));
        _mm_storeu_si128((__m128i *)(at + nm), v);
        _mm_storeu_si128((__m128i *)(es + nm), ve);
        nm += byte_count[byte];
    }
    return nm;
}
#endif

/* append_lanes, one lane at a time. */
static inline int append_lanes_portable(uint16_t *at, uint16_t *es, int nm, unsigned mask, int base,
                                        int e)
{
    for (; mask != 0; mask &= mask - 1) {
        int k = 0;
        while (!((mask >> k) & 1u))
            k++;
        at[nm] = (uint16_t)(base + k);
        es[nm++] = (uint16_t)e;
    }
    return nm;
}

static inline int append_lanes(uint16_t *at, uint16_t *es, int nm, unsigned mask, int base, int e,
                               bool sse2)
{
#if defined(__SSE2__)
    if (sse2)
        return append_lanes_sse2(at, es, nm, mask, base, e);
#endif
    (void)sse2;
    return append_lanes_portable(at, es, nm, mask, base, e);
}

/* Bit k set when entry first + k of a's index is within tolerance of eb,
 * for k < 16 (the entries are padded so that 16 can always be read). */
#if defined(__SSE2__)
static inline unsigned match_mask16_sse2(const edge_index *a, int first, const edge *eb)
{
    /* Broadcast d, b1, b2, td, dir (the first bytes of the edge, read as
     * one 64-bit word) with unpacks and shuffles: SSE2 has no byte
     * broadcast. */
    __m128i q = _mm_loadl_epi64((const __m128i *)eb);
    q = _mm_unpacklo_epi8(q, q);
    __m128i lo = _mm_unpacklo_epi16(q, q), hi = _mm_unpackhi_epi16(q, q);
    const __m128i vd = _mm_shuffle_epi32(lo, 0x00), v1 = _mm_shuffle_epi32(lo, 0x55),
                  v2 = _mm_shuffle_epi32(lo, 0xAA), vtd = _mm_shuffle_epi32(lo, 0xFF),
                  vdir = _mm_shuffle_epi32(hi, 0x00), vta = _mm_set1_epi8((char)TOL_A);
    __m128i d = _mm_loadu_si128((const __m128i *)(a->ed + first));
    __m128i x1 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(a->eb1 + first)), v1);
    __m128i x2 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(a->eb2 + first)), v2);
    /* |d - eb.d| for unsigned bytes; circular |x| = min(x, -x); a lane is
     * within tolerance when every excess over its tolerance saturates to 0. */
    __m128i dd = _mm_or_si128(_mm_subs_epu8(d, vd), _mm_subs_epu8(vd, d));
    __m128i a1 = _mm_min_epu8(x1, _mm_sub_epi8(_mm_setzero_si128(), x1));
    __m128i a2 = _mm_min_epu8(x2, _mm_sub_epi8(_mm_setzero_si128(), x2));
    __m128i excess = _mm_or_si128(_mm_subs_epu8(dd, vtd),
                                  _mm_or_si128(_mm_subs_epu8(a1, vta), _mm_subs_epu8(a2, vta)));
    /* And the two orientations share a nearest-neighbour direction. */
    __m128i dir = _mm_and_si128(_mm_loadu_si128((const __m128i *)(a->edir + first)), vdir);
    __m128i bad = _mm_or_si128(excess, _mm_cmpeq_epi8(dir, _mm_setzero_si128()));
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128()));
}
#endif

/* match_mask16, one entry at a time. */
static inline unsigned match_mask16_portable(const edge_index *a, int first, const edge *eb)
{
    unsigned mask = 0;
    for (int k = 0; k < 16; k++) {
        int at = first + k;
        int dd = a->ed[at] - eb->d;
        int d1 = (int8_t)(uint8_t)(a->eb1[at] - eb->b1);
        int d2 = (int8_t)(uint8_t)(a->eb2[at] - eb->b2);
        mask |= (unsigned)((dd * dd <= eb->td * eb->td) & (d1 * d1 <= TOL_A * TOL_A) &
                           (d2 * d2 <= TOL_A * TOL_A) & ((a->edir[at] & eb->dir) != 0))
                << k;
    }
    return mask;
}

static inline unsigned match_mask16(const edge_index *a, int first, const edge *eb, bool sse2)
{
#if defined(__SSE2__)
    if (sse2)
        return match_mask16_sse2(a, first, eb);
#endif
    (void)sse2;
    return match_mask16_portable(a, first, eb);
}

/* A link from a pair of minutiae to another through a matching edge pair,
 * packed in one word: bits 0-7 ja and 8-15 jb, the pair linked to; 16-23
 * r, the rotation the edge pair adds to the directions' one (two's
 * complement); 24-31 mult, the multiplicity of the edge pair.  Matching
 * edge pair c has two: link 2 c + 1 from its pair (i of a, i of b) to (j
 * of a, j of b), and link 2 c back (see links_of). */
typedef uint32_t link;
_Static_assert(2 * (MAX_MATCHES + 32) <= 0xFFFF && MAX_M * MAX_M <= 0xFFFF,
               "link numbers and pairs are 16-bit, 0xFFFF no pair");
#define LINK_JA(l)   ((int)((l)&0xFFu))
#define LINK_JB(l)   ((int)(((l) >> 8) & 0xFFu))
#define LINK_R(l)    ((int)(int8_t)(uint8_t)((l) >> 16))
#define LINK_MULT(l) ((int)(((l) >> 24) & 0xFFu))

/* Room for a flat index view of a compact template (flat_index). */
typedef struct flat {
    uint8_t d[2 * MAX_M * K_NEIGHBOURS + 16], b1[2 * MAX_M * K_NEIGHBOURS + 16],
        b2[2 * MAX_M * K_NEIGHBOURS + 16], dir[2 * MAX_M * K_NEIGHBOURS + 16];
    uint16_t eo[2 * MAX_M * K_NEIGHBOURS];
    oriented orientations[2 * MAX_M * K_NEIGHBOURS];
} flat;

/* A candidate pair of consolidation: its error relative to the tolerance. */
typedef struct cons_pair {
    float e;
    uint8_t i, j;
} cons_pair;

typedef struct scratch {
    /* Per pair of minutiae (ia * nb + ib): the sum of its votes, in units
     * of 1 / VOTE_ONE (cleared up to a multiple of 32: see the roots in
     * compare); the first matching edge pair that votes for it, and the
     * largest link (see link) from it, which also breaks ties between
     * roots (both meaningful once it has a vote: never cleared; first has
     * a slot past the pairs for the stores that are not a first vote). */
    int32_t vote[MAX_M * MAX_M];
    uint16_t first[MAX_M * MAX_M + 1], last[MAX_M * MAX_M];
    uint16_t root_list[MAX_M * MAX_M + 32]; /* see roots_avx512 */
    /* Matching edge pairs: a's index entry and b's edge (+ 16: see
     * append_lanes and find_candidates_avx512). */
    uint16_t cand_at[MAX_MATCHES + 32], cand_e[MAX_MATCHES + 32];
    /* Per matching edge pair, worked out by link_pairs: its two minutia
     * pairs (ia * nb + ib; 0xFFFF, no pair, in the padding up to a
     * multiple of 32, see links_of), its vote, and its two links (+ 32:
     * eight at a time, and the padding). */
    uint16_t cand_pi[MAX_MATCHES + 32], cand_pj[MAX_MATCHES + 32];
    int16_t cand_vote[MAX_MATCHES + 8];
    link links[2 * (MAX_MATCHES + 8)];
    uint16_t link_ids[MAX_MATCHES + 64];     /* the links of one pair, see links_of */
    uint16_t taken_a[MAX_M], taken_b[MAX_M]; /* see grow */
    flat flat;                               /* a's edges when it has no index */
    uint8_t queue_a[MAX_M], queue_b[MAX_M];
    uint8_t best_a[MAX_M], best_b[MAX_M]; /* the pairs of the best root so far */
    cons_pair cons[MAX_CONSOLIDATE];      /* see consolidate */
} scratch;

static int cmp_cons(const void *p, const void *q)
{
    const cons_pair *x = p, *y = q;
    if (x->e != y->e)
        return (x->e > y->e) - (x->e < y->e);
    if (x->i != y->i)
        return x->i - y->i;
    return x->j - y->j;
}

/* The weight (wq) of the points whose least signed distance to a hull
 * side is within HULL_MARGIN: the one definition of "inside" that every
 * weigh_inside_hull path shares, so that they agree bit for bit. */
static float weigh_least(const float *least, const float *wq, int n)
{
    float sum = 0;
    for (int i = 0; i < n; i++)
        sum += least[i] >= -HULL_MARGIN ? wq[i] : 0.0f;
    return sum;
}

/* The inward unit normals (hnx, hny) of the sides of the hull (hx, hy)
 * of nh points. */
static void side_normals(const float *hx, const float *hy, int nh, float *hnx, float *hny)
{
    for (int i = 0; i < nh; i++) {
        int j = i + 1 == nh ? 0 : i + 1;
        float ex = hx[j] - hx[i], ey = hy[j] - hy[i];
        float len = sqrtf(ex * ex + ey * ey);
        hnx[i] = len > 0 ? -ey / len : 0.0f;
        hny[i] = len > 0 ? ex / len : 0.0f;
    }
}

/* p's hull as the weighing reads it: the arrays preparation keeps, or,
 * for a loaded template (which keeps only the indexes hsrc), the points
 * gathered from its minutiae and their normals computed into buf by the
 * same code, so the same floats. */
typedef struct hull_view {
    const float *hx, *hy, *hnx, *hny;
} hull_view;

static hull_view hull_of(const huella_finger_prepared *p, float (*buf)[MAX_M + 4])
{
    if (p->hnx != NULL)
        return (hull_view){p->hx, p->hy, p->hnx, p->hny};
    int nh = p->n_hull;
    float *hx = buf[0], *hy = buf[1], *hnx = buf[2], *hny = buf[3];
    for (int k = 0; k < nh; k++) {
        hx[k] = p->x[p->hsrc[k]];
        hy[k] = p->y[p->hsrc[k]];
    }
#if defined(__SSE2__)
    /* side_normals four sides at a time: the same operations, each
     * correctly rounded, so the same floats (the point after the last is
     * the first, and the lanes past nh are computed and ignored) */
    for (int k = 0; k < 4; k++) {
        hx[nh + k] = hx[k < nh ? k : 0];
        hy[nh + k] = hy[k < nh ? k : 0];
    }
    for (int i = 0; i < nh; i += 4) {
        __m128 x0 = _mm_loadu_ps(hx + i), x1 = _mm_loadu_ps(hx + i + 1);
        __m128 y0 = _mm_loadu_ps(hy + i), y1 = _mm_loadu_ps(hy + i + 1);
        __m128 ex = _mm_sub_ps(x1, x0), ey = _mm_sub_ps(y1, y0);
        __m128 len = _mm_sqrt_ps(_mm_add_ps(_mm_mul_ps(ex, ex), _mm_mul_ps(ey, ey)));
        __m128 pos = _mm_cmpgt_ps(len, _mm_setzero_ps());
        __m128 nx = _mm_div_ps(_mm_xor_ps(ey, _mm_set1_ps(-0.0f)), len); /* -ey */
        __m128 ny = _mm_div_ps(ex, len);
        _mm_storeu_ps(hnx + i, _mm_and_ps(pos, nx));
        _mm_storeu_ps(hny + i, _mm_and_ps(pos, ny));
    }
#else
    side_normals(hx, hy, nh, hnx, hny);
#endif
    return (hull_view){hx, hy, hnx, hny};
}

#if FINGER_X86
/* weigh_inside_hull with AVX-512, sixteen points at a time (px and py
 * readable up to a multiple of 16); the same arithmetic lane by lane,
 * so the same result. */
__attribute__((target("avx512f"))) static float
weigh_inside_hull_avx512(const huella_finger_prepared *p, const float *px, const float *py,
                         const float *wq, int n)
{
    if (p->n_hull < 3)
        return 0;
    float least[MAX_M + 16], buf[4][MAX_M + 4];
    int nh = p->n_hull;
    hull_view hv = hull_of(p, buf);
    const float *hnx = hv.hnx, *hny = hv.hny, *hx = hv.hx, *hy = hv.hy;
    for (int i = 0; i < n; i += 16) {
        const __m512 vx = _mm512_loadu_ps(px + i), vy = _mm512_loadu_ps(py + i);
        __m512 lo = _mm512_set1_ps(1e30f);
        for (int h = 0; h < nh; h++) {
            __m512 v = _mm512_add_ps(
                _mm512_mul_ps(_mm512_set1_ps(hnx[h]), _mm512_sub_ps(vx, _mm512_set1_ps(hx[h]))),
                _mm512_mul_ps(_mm512_set1_ps(hny[h]), _mm512_sub_ps(vy, _mm512_set1_ps(hy[h]))));
            lo = _mm512_min_ps(v, lo);
        }
        _mm512_storeu_ps(least + i, lo);
    }
    return weigh_least(least, wq, n);
}

/* Bit j of near[i]: point j of (tx, ty) (n of them, readable up to a
 * multiple of 16) within sqrt(t2[i]) of (x[i], y[i]), for each i < m;
 * consolidate's test, sixteen at a time, every row in one call. */
__attribute__((target("avx512f"))) static void near_avx512(const float *tx, const float *ty, int n,
                                                           const float *x, const float *y,
                                                           const float *t2, int m,
                                                           uint64_t near[][MAX_M / 64])
{
    for (int i = 0; i < m; i++) {
        const __m512 vx = _mm512_set1_ps(x[i]), vy = _mm512_set1_ps(y[i]),
                     vt = _mm512_set1_ps(t2[i]);
        for (int h = 0; h < MAX_M / 64; h++)
            near[i][h] = 0;
        for (int j = 0; j < n; j += 16) {
            __m512 ex = _mm512_sub_ps(_mm512_loadu_ps(tx + j), vx);
            __m512 ey = _mm512_sub_ps(_mm512_loadu_ps(ty + j), vy);
            __m512 e2 = _mm512_add_ps(_mm512_mul_ps(ex, ex), _mm512_mul_ps(ey, ey));
            near[i][j / 64] |= (uint64_t)_mm512_cmp_ps_mask(e2, vt, _CMP_LE_OQ) << (j % 64);
        }
    }
}
#endif

/*
 * How many of the n points (px, py) lie inside p's hull, widened by
 * HULL_MARGIN (weighed by wq).  Every side is tested for every point (no
 * early exit): whether a point is inside is a coin toss for the branch
 * predictor.  Four points at a time, the least signed distance to a side
 * kept in a register over all the sides (a point is inside when that
 * least distance is, which is the conjunction of the per-side tests bit
 * for bit); px and py must be readable up to a multiple of 4.
 */
static float weigh_inside_hull(const huella_finger_prepared *p, const float *px, const float *py,
                               const float *wq, int n, bool sse2)
{
    if (p->n_hull < 3)
        return 0;
    float least[MAX_M + 4], buf[4][MAX_M + 4];
    int nh = p->n_hull;
    hull_view hv = hull_of(p, buf);
    const float *hnx = hv.hnx, *hny = hv.hny, *hx = hv.hx, *hy = hv.hy;
#if defined(__SSE2__)
    if (sse2) {
        for (int i = 0; i < n; i += 4) {
            const __m128 vx = _mm_loadu_ps(px + i), vy = _mm_loadu_ps(py + i);
            __m128 lo = _mm_set1_ps(1e30f);
            for (int h = 0; h < nh; h++) {
                /* Signed distance to the side's line, positive inside. */
                __m128 v =
                    _mm_add_ps(_mm_mul_ps(_mm_set1_ps(hnx[h]), _mm_sub_ps(vx, _mm_set1_ps(hx[h]))),
                               _mm_mul_ps(_mm_set1_ps(hny[h]), _mm_sub_ps(vy, _mm_set1_ps(hy[h]))));
                lo = _mm_min_ps(v, lo);
            }
            _mm_storeu_ps(least + i, lo);
        }
        return weigh_least(least, wq, n);
    }
#endif
    (void)sse2;
    for (int i = 0; i < n; i++) {
        float lo = 1e30f;
        for (int h = 0; h < nh; h++) {
            float v = hnx[h] * (px[i] - hx[h]) + hny[h] * (py[i] - hy[h]);
            lo = v < lo ? v : lo;
        }
        least[i] = lo;
    }
    return weigh_least(least, wq, n);
}

/* weigh_inside_hull through the given path. */
static float weigh_hull(const huella_finger_prepared *p, const float *px, const float *py,
                        const float *wq, int n, finger_path path)
{
#if FINGER_X86
    if (path == FINGER_PATH_AVX512)
        return weigh_inside_hull_avx512(p, px, py, wq, n);
#endif
    return weigh_inside_hull(p, px, py, wq, n, path != FINGER_PATH_PORTABLE);
}

/*
 * The links from pair p (see link) in order, their numbers into ids;
 * returns their count.  The matching edge pairs from p's first to its
 * last (see scratch) are scanned for p: each whose pair i is p gives its
 * link 2 c + 1, each whose pair j is p its link 2 c.  No lists of links
 * are built: scanning the matching edge pairs, 32 at a time, for each
 * pair grown costs less than building a list head per pair and a next
 * field per link, and walking a list was a chain of dependent loads.
 */
#if FINGER_X86
__attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt"))) static inline int
links_of_avx512(const scratch *w, int p, uint16_t *ids)
{
    const __m512i iota2 = _mm512_setr_epi32(0x20000, 0x60004, 0xA0008, 0xE000C, 0x120010, 0x160014,
                                            0x1A0018, 0x1E001C, 0x220020, 0x260024, 0x2A0028,
                                            0x2E002C, 0x320030, 0x360034, 0x3A0038, 0x3E003C);
    const __m512i vp = _mm512_set1_epi16((short)p), one = _mm512_set1_epi16(1);
    int n = 0, end = (w->last[p] >> 1) + 1;
    for (int c = w->first[p] & ~31; c < end; c += 32) {
        __mmask32 mi = _mm512_cmpeq_epi16_mask(_mm512_loadu_si512(w->cand_pi + c), vp);
        __mmask32 mj = _mm512_cmpeq_epi16_mask(_mm512_loadu_si512(w->cand_pj + c), vp);
        __m512i id = _mm512_add_epi16(iota2, _mm512_set1_epi16((short)(2 * c)));
        id = _mm512_mask_add_epi16(id, mi, id, one);
        _mm512_storeu_si512(ids + n, _mm512_maskz_compress_epi16(mi | mj, id));
        n += _mm_popcnt_u32(mi | mj);
    }
    return n;
}
#endif

static ALWAYS_INLINE int links_of(const scratch *w, int p, uint16_t *ids, finger_path path)
{
#if FINGER_X86
    if (path == FINGER_PATH_AVX512)
        return links_of_avx512(w, p, ids);
#endif
    int n = 0, end = (w->last[p] >> 1) + 1;
#if defined(__SSE2__)
    if (path == FINGER_PATH_SSE2) {
        const __m128i vp = _mm_set1_epi16((short)p);
        for (int c = w->first[p] & ~7; c < end; c += 8) {
            __m128i mi = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(w->cand_pi + c)), vp);
            __m128i mj = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(w->cand_pj + c)), vp);
            /* Bits 0-7: pair i is p, 8-15: pair j is p. */
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(mi, mj));
            for (unsigned bits = (m | m >> 8) & 0xFFu; bits != 0; bits &= bits - 1) {
                int k = lowest_bit(bits);
                ids[n++] = (uint16_t)(2 * (c + k) + (int)((m >> k) & 1u));
            }
        }
        return n;
    }
#endif
    (void)path;
    for (int c = w->first[p]; c < end; c++) {
        if (w->cand_pi[c] == p)
            ids[n++] = (uint16_t)(2 * c + 1);
        else if (w->cand_pj[c] == p)
            ids[n++] = (uint16_t)(2 * c);
    }
    return n;
}

typedef struct alignment {
    float ax, ay, bx, by; /* root positions */
    float c, s;           /* rotation taking b's frame to a's */
    float rot;
} alignment;

/*
 * Grow pairs from the root pair (ra, rb), breadth first along the links,
 * taking a linked pair when neither of its minutiae is taken yet and it
 * passes the global check; returns the number of pairs, which are left in
 * queue_a / queue_b.  A minutia is taken in this growth when its stamp is
 * the growth's (no clearing between roots).  The root's n_ids links are
 * in link_ids (links_of), the others' are found in turn.
 */
static ALWAYS_INLINE int grow(const huella_finger_prepared *a, const huella_finger_prepared *b,
                              scratch *w, int ra, int rb, const alignment *al, uint16_t stamp,
                              int n_ids, finger_path path)
{
    int nb = b->n;
    w->taken_a[ra] = stamp;
    w->taken_b[rb] = stamp;
    int head = 0, tail = 0;
    w->queue_a[tail] = (uint8_t)ra;
    w->queue_b[tail++] = (uint8_t)rb;
    while (head < tail) {
        if (head > 0)
            n_ids = links_of(w, w->queue_a[head] * nb + w->queue_b[head], w->link_ids, path);
        head++;
        for (int q = 0; q < n_ids; q++) {
            const link k = w->links[w->link_ids[q]];
            int ja = LINK_JA(k), jb = LINK_JB(k);
            if (w->taken_a[ja] == stamp || w->taken_b[jb] == stamp)
                continue;
            /* Global check against the root's alignment. */
            float dxb = b->x[jb] - al->bx, dyb = b->y[jb] - al->by;
            float tx = al->ax + al->c * dxb - al->s * dyb;
            float ty = al->ay + al->s * dxb + al->c * dyb;
            float ex = tx - a->x[ja], ey = ty - a->y[ja];
            float rx = a->x[ja] - al->ax, ry = a->y[ja] - al->ay;
            float r = sqrtf(rx * rx + ry * ry);
            float tol = TOL_G + TOL_G_SLOPE * r;
            if (ex * ex + ey * ey > tol * tol)
                continue;
            if (ang_diff(wrap_2pi(b->th[jb] - al->rot), a->th[ja]) > TOL_GA)
                continue;
            w->taken_a[ja] = stamp;
            w->taken_b[jb] = stamp;
            w->queue_a[tail] = (uint8_t)ja;
            w->queue_b[tail++] = (uint8_t)jb;
        }
    }
    return tail;
}

#if FINGER_X86
/* consolidate's frames with AVX-512, sixteen points at a time, the same
 * operations lane by lane (no fused multiply-adds), so the same floats:
 * b's minutiae in a's frame by the transform ls (tx, ty: room for a
 * multiple of 16), and the squared tolerance around each of a's (tol2,
 * likewise). */
__attribute__((target("avx512f"))) static void frames_avx512(const huella_finger_prepared *a,
                                                             const huella_finger_prepared *b,
                                                             const alignment *ls, float *tx,
                                                             float *ty, float *tol2)
{
    const __m512 cax = _mm512_set1_ps(ls->ax), cay = _mm512_set1_ps(ls->ay),
                 cbx = _mm512_set1_ps(ls->bx), cby = _mm512_set1_ps(ls->by),
                 c = _mm512_set1_ps(ls->c), s = _mm512_set1_ps(ls->s);
    for (int j = 0; j < b->n; j += 16) {
        __mmask16 in = (__mmask16)(b->n - j >= 16 ? 0xFFFFu : (1u << (b->n - j)) - 1u);
        __m512 dxb = _mm512_sub_ps(_mm512_maskz_loadu_ps(in, b->x + j), cbx);
        __m512 dyb = _mm512_sub_ps(_mm512_maskz_loadu_ps(in, b->y + j), cby);
        _mm512_storeu_ps(tx + j, _mm512_sub_ps(_mm512_add_ps(cax, _mm512_mul_ps(c, dxb)),
                                               _mm512_mul_ps(s, dyb)));
        _mm512_storeu_ps(ty + j, _mm512_add_ps(_mm512_add_ps(cay, _mm512_mul_ps(s, dxb)),
                                               _mm512_mul_ps(c, dyb)));
    }
    const __m512 tc = _mm512_set1_ps(TOL_C), slope = _mm512_set1_ps(TOL_C_SLOPE);
    for (int i = 0; i < a->n; i += 16) {
        __mmask16 in = (__mmask16)(a->n - i >= 16 ? 0xFFFFu : (1u << (a->n - i)) - 1u);
        __m512 dx = _mm512_sub_ps(_mm512_maskz_loadu_ps(in, a->x + i), cax);
        __m512 dy = _mm512_sub_ps(_mm512_maskz_loadu_ps(in, a->y + i), cay);
        __m512 r = _mm512_sqrt_ps(_mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy)));
        __m512 tol = _mm512_add_ps(tc, _mm512_mul_ps(slope, r));
        _mm512_mask_storeu_ps(tol2 + i, in, _mm512_mul_ps(tol, tol));
    }
}
#endif

/*
 * Consolidation after growing (the global stage of two-stage matchers,
 * Jiang and Yau 2000): the m pairs grown from
 * the best root, in queue_a / queue_b, give a least-squares rigid
 * transform (Procrustes: the rotation that best maps b's paired
 * positions, centred, onto a's; Umeyama 1991 without scale, both
 * templates being at 500 ppi), which is more precise than the root's
 * alignment because it averages over every pair.  Then the minutiae that
 * growing could not reach (a missing neighbour breaks the chain of edges)
 * are paired when they have local support (a vote: an edge of one
 * matched an edge of the other, so only the touched pairs are looked
 * at) and agree with that transform: position within a tolerance that
 * grows with the distance from the paired minutiae's centroid (elastic
 * distortion grows away from the region that was aligned), direction
 * within TOL_CA; closest pairs first, each minutia at most once.  Without
 * the local support, a random minutia of an impostor falls within the
 * tolerance of one of a dense print's often enough to raise impostor
 * scores as much as genuine ones (measured: pooled EER 3.2 % to 4.3 %).  Returns the new number of
 * pairs (appended to the queues) and refines *al to the least-squares transform.
 */
static int consolidate(const huella_finger_prepared *a, const huella_finger_prepared *b, scratch *w,
                       int m, uint16_t stamp, alignment *al, finger_path path)
{
    if (m < CONSOLIDATE_MIN)
        return m;
    float cax = 0, cay = 0, cbx = 0, cby = 0;
    for (int q = 0; q < m; q++) {
        cax += a->x[w->queue_a[q]];
        cay += a->y[w->queue_a[q]];
        cbx += b->x[w->queue_b[q]];
        cby += b->y[w->queue_b[q]];
    }
    cax /= (float)m;
    cay /= (float)m;
    cbx /= (float)m;
    cby /= (float)m;
    float sxx = 0, sxy = 0;
    for (int q = 0; q < m; q++) {
        float ax = a->x[w->queue_a[q]] - cax, ay = a->y[w->queue_a[q]] - cay;
        float bx = b->x[w->queue_b[q]] - cbx, by = b->y[w->queue_b[q]] - cby;
        sxx += bx * ax + by * ay;
        sxy += bx * ay - by * ax;
    }
    float norm = sqrtf(sxx * sxx + sxy * sxy);
    if (norm <= 0.0f)
        return m;
    alignment ls;
    ls.ax = cax;
    ls.ay = cay;
    ls.bx = cbx;
    ls.by = cby;
    ls.c = sxx / norm;
    ls.s = sxy / norm;
    ls.rot = wrap_2pi(-atan2f(ls.s, ls.c));

    /* b's minutiae in a's frame, and the tolerance around each of a's. */
    int na = a->n, nb = b->n;
    float tx[MAX_M + 16], ty[MAX_M + 16], tol2[MAX_M];
#if FINGER_X86
    if (path == FINGER_PATH_AVX512)
        frames_avx512(a, b, &ls, tx, ty, tol2);
    else
#endif
    {
        for (int j = 0; j < nb; j++) {
            float dxb = b->x[j] - cbx, dyb = b->y[j] - cby;
            tx[j] = cax + ls.c * dxb - ls.s * dyb;
            ty[j] = cay + ls.s * dxb + ls.c * dyb;
        }
        for (int i = 0; i < na; i++) {
            float dx = a->x[i] - cax, dy = a->y[i] - cay;
            float tol = TOL_C + TOL_C_SLOPE * sqrtf(dx * dx + dy * dy);
            tol2[i] = tol * tol;
        }
    }
    /* The candidates: pairs with local support (a vote: some edge of one
     * matches an edge of the other), both minutiae free, within the
     * tolerances; with their squared errors relative to the tolerance.
     * By rows of a's minutiae: the distances of a row in one pass without
     * branches (it vectorises), then the few within tolerance checked for
     * a vote and a direction; cheaper than visiting the touched pairs, a
     * scattered walk with a branch per pair.  The order does not matter:
     * the candidates are sorted below. */
    int nc = 0;
    for (int j = nb; j < (nb + 15) / 16 * 16; j++)
        tx[j] = ty[j] = 1e30f; /* padding: never near */
#if FINGER_X86
    uint64_t near_rows[MAX_M][MAX_M / 64]; /* with AVX-512, every row in one call */
    if (path == FINGER_PATH_AVX512)
        near_avx512(tx, ty, nb, a->x, a->y, tol2, na, near_rows);
#endif
    for (int i = 0; i < na && nc + nb <= MAX_CONSOLIDATE; i++) {
        if (w->taken_a[i] == stamp)
            continue;
        float axi = a->x[i], ayi = a->y[i], t2 = tol2[i];
        /* Bit j of near: b's minutia j within the tolerance of a's i. */
        uint64_t near[MAX_M / 64] = {0};
#if FINGER_X86
        if (path == FINGER_PATH_AVX512)
            memcpy(near, near_rows[i], sizeof(near));
        else
#endif
#if defined(__SSE2__)
            if (path == FINGER_PATH_SSE2 || path == FINGER_PATH_AVX512) {
            const __m128 vx = _mm_set1_ps(axi), vy = _mm_set1_ps(ayi), vt = _mm_set1_ps(t2);
            for (int j = 0; j < nb; j += 4) {
                __m128 ex = _mm_sub_ps(_mm_loadu_ps(tx + j), vx);
                __m128 ey = _mm_sub_ps(_mm_loadu_ps(ty + j), vy);
                __m128 e2 = _mm_add_ps(_mm_mul_ps(ex, ex), _mm_mul_ps(ey, ey));
                near[j / 64] |= (uint64_t)_mm_movemask_ps(_mm_cmple_ps(e2, vt)) << (j % 64);
            }
        } else
#endif
        {
            for (int j = 0; j < nb; j++) {
                float ex = tx[j] - axi, ey = ty[j] - ayi;
                near[j / 64] |= (uint64_t)(ex * ex + ey * ey <= t2) << (j % 64);
            }
        }
        const int32_t *vote = w->vote + i * nb;
        for (int h = 0; h < MAX_M / 64; h++) {
            for (uint64_t bits = near[h]; bits != 0; bits &= bits - 1) {
                int j = 64 * h + lowest_bit(bits);
                /* b's direction in a's frame, only for the few candidates */
                if (j >= nb || vote[j] == 0 || w->taken_b[j] == stamp ||
                    ang_diff(wrap_2pi(b->th[j] - ls.rot), a->th[i]) > TOL_CA)
                    continue;
                float ex = tx[j] - axi, ey = ty[j] - ayi;
                w->cons[nc++] = (cons_pair){(ex * ex + ey * ey) / t2, (uint8_t)i, (uint8_t)j};
            }
        }
    }
    qsort(w->cons, (size_t)nc, sizeof(cons_pair), cmp_cons);
    for (int k = 0; k < nc; k++) {
        int i = w->cons[k].i, j = w->cons[k].j;
        if (w->taken_a[i] == stamp || w->taken_b[j] == stamp)
            continue;
        w->taken_a[i] = stamp;
        w->taken_b[j] = stamp;
        w->queue_a[m] = (uint8_t)i;
        w->queue_b[m++] = (uint8_t)j;
    }
    *al = ls;
    return m;
}

/* The alignment of a root pair: translation from the pair, rotation from
 * the difference of their directions corrected by the mean angular
 * residue of the edges that support the pair (each edge pair measures the
 * rotation more precisely than one minutia direction does).  The root's
 * n_ids links are in link_ids (links_of). */
static ALWAYS_INLINE alignment align_on(const huella_finger_prepared *a,
                                        const huella_finger_prepared *b, const scratch *w, int ra,
                                        int rb, int n_ids)
{
    int sum = 0, cnt = 0;
    for (int q = 0; q < n_ids; q++) {
        const link k = w->links[w->link_ids[q]];
        sum += LINK_R(k) * LINK_MULT(k);
        cnt += LINK_MULT(k);
    }
    alignment al;
    al.ax = a->x[ra];
    al.ay = a->y[ra];
    al.bx = b->x[rb];
    al.by = b->y[rb];
    /* The correction is small (the edges' angles agree within TOL_A, 15.5
     * degrees): its cosine and sine by Taylor series (error < 1e-6); the
     * directions' difference by the angle-difference formulas from the
     * directions' cosines and sines.  Those are computed here, for the
     * two minutiae of each of at most N_ROOTS roots, rather than kept
     * with the templates: kept, they were 17 % of a finger's bytes (and
     * of what a load reads, decrypts and writes), and computing them for
     * every minutia of every candidate laid out costs more than for its
     * roots only.  The same function of the same float as the cosf and
     * sinf preparation stored before format 3, so the same scores. */
    float corr = cnt > 0 ? (float)sum / (float)cnt * (TWO_PI_F / 256.0f) : 0.0f;
    float c2 = corr * corr;
    float cc = 1.0f - c2 * (0.5f - c2 * (1.0f / 24.0f));
    float sc = corr * (1.0f - c2 * (1.0f / 6.0f - c2 * (1.0f / 120.0f)));
    float ca = cosf(a->th[ra]), sa = sinf(a->th[ra]);
    float cb = cosf(b->th[rb]), sb = sinf(b->th[rb]);
    /* d = th_b - th_a; rot = d + corr; the rotation taking b to a is -rot. */
    float cd = cb * ca + sb * sa;
    float sd = sb * ca - cb * sa;
    al.rot = wrap_2pi(b->th[rb] - a->th[ra] + corr);
    al.c = cd * cc - sd * sc;    /* cos(rot) = cos(-rot) */
    al.s = -(sd * cc + cd * sc); /* sin(-rot) */
    return al;
}

/* Root p (a pair): its alignment into *al, and the pairs grown from it
 * under the given stamp (grow); returns their number. */
static ALWAYS_INLINE int grow_root(const huella_finger_prepared *a, const huella_finger_prepared *b,
                                   scratch *w, int p, uint16_t stamp, alignment *al,
                                   finger_path path)
{
    int ra = p / b->n, rb = p % b->n;
    int n_ids = links_of(w, p, w->link_ids, path);
    *al = align_on(a, b, w, ra, rb, n_ids);
    return grow(a, b, w, ra, rb, al, stamp, n_ids, path);
}

#if FINGER_X86
/* grow_root with the links found by links_of_avx512, inlined. */
__attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt"))) static int
grow_root_avx512(const huella_finger_prepared *a, const huella_finger_prepared *b, scratch *w,
                 int p, uint16_t stamp, alignment *al)
{
    return grow_root(a, b, w, p, stamp, al, FINGER_PATH_AVX512);
}
#endif

/* Pass 1: the matching edge pairs, in order of b's edges and then of a's
 * bucket; returns their number. */
static int find_candidates(const edge_index *a, const huella_finger_prepared *b, scratch *w,
                           bool sse2)
{
    int nm = 0;
    for (int e = 0; e < b->n_edges && nm < MAX_MATCHES - MAX_BUCKET; e++) {
        const edge *eb = &b->edges[e];
        int first = 0, n = a->n_entries;
        if (a->bin_start != NULL) {
            first = a->bin_start[eb->key];
            n = a->bin_start[eb->key + 1] - first;
        }
        /* The first 16 entries without a branch (the padding of the index
         * makes them readable even past its end), the rest of a long
         * bucket (a few percent) in a loop. */
        unsigned mask = match_mask16(a, first, eb, sse2) & (n >= 16 ? 0xFFFFu : (1u << n) - 1u);
        nm = append_lanes(w->cand_at, w->cand_e, nm, mask, first, e, sse2);
        for (int k = 16; k < n; k += 16) {
            int left = n - k;
            mask =
                match_mask16(a, first + k, eb, sse2) & (left >= 16 ? 0xFFFFu : (1u << left) - 1u);
            nm = append_lanes(w->cand_at, w->cand_e, nm, mask, first + k, e, sse2);
        }
    }
    return nm;
}

#if defined(__SSE2__)
/* Eight 8-byte records (the low halves of r[0..7]) to their fields:
 * f[k] holds field 2k of the eight records in its low 8 bytes and field
 * 2k + 1 in its high 8 bytes. */
static inline void transpose8(const __m128i r[8], __m128i f[4])
{
    __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpacklo_epi8(r[2], r[3]);
    __m128i t2 = _mm_unpacklo_epi8(r[4], r[5]), t3 = _mm_unpacklo_epi8(r[6], r[7]);
    __m128i u0 = _mm_unpacklo_epi16(t0, t1), u1 = _mm_unpackhi_epi16(t0, t1);
    __m128i u2 = _mm_unpacklo_epi16(t2, t3), u3 = _mm_unpackhi_epi16(t2, t3);
    f[0] = _mm_unpacklo_epi32(u0, u2);
    f[1] = _mm_unpackhi_epi32(u0, u2);
    f[2] = _mm_unpacklo_epi32(u1, u3);
    f[3] = _mm_unpackhi_epi32(u1, u3);
}

/* The matching edge pairs c .. c + 7 worked out (see link_pairs): their
 * minutia pairs, votes and links but for the next fields. */
static inline void work_out8(const edge_index *a, const huella_finger_prepared *b, scratch *w,
                             int c)
{
    __m128i ra[8], rb[8], fa[4], fb[4];
    for (int k = 0; k < 8; k++) {
        ra[k] = _mm_loadl_epi64((const __m128i *)&a->orientations[a->eo[w->cand_at[c + k]]]);
        rb[k] = _mm_loadl_epi64((const __m128i *)&b->edges[w->cand_e[c + k]]);
    }
    /* fa: d b1 | b2 dir | i j | -, fb: d b1 | b2 td | dir i | j pdd. */
    transpose8(ra, fa);
    transpose8(rb, fb);
    const __m128i z = _mm_setzero_si128();
    __m128i dd = _mm_or_si128(_mm_subs_epu8(fa[0], fb[0]), _mm_subs_epu8(fb[0], fa[0]));
    __m128i x1 = _mm_srli_si128(_mm_sub_epi8(fb[0], fa[0]), 8); /* eb.b1 - ea.b1 */
    __m128i x2 = _mm_sub_epi8(fb[1], fa[1]);                    /* eb.b2 - ea.b2 (low) */
    /* Circular |x| = min(x, -x) (diff256). */
    __m128i a1 = _mm_min_epu8(x1, _mm_sub_epi8(z, x1));
    __m128i a2 = _mm_min_epu8(x2, _mm_sub_epi8(z, x2));
    __m128i both = _mm_and_si128(_mm_srli_si128(fa[1], 8), fb[2]);
    __m128i mult = _mm_srli_epi16(_mm_add_epi16(_mm_unpacklo_epi8(both, z), _mm_set1_epi16(1)), 1);
    __m128i per =
        _mm_add_epi16(_mm_unpackhi_epi8(fb[3], z), _mm_set1_epi16((short)per_dd(BIN_D / 2)));
    __m128i sum12 = _mm_add_epi16(_mm_unpacklo_epi8(a1, z), _mm_unpacklo_epi8(a2, z));
    /* In 16 bits: the vote lies in (0, 2 VOTE_ONE] for an edge pair within
     * tolerance. */
    __m128i s = _mm_sub_epi16(
        _mm_sub_epi16(_mm_set1_epi16(VOTE_ONE), _mm_mullo_epi16(_mm_unpacklo_epi8(dd, z), per)),
        _mm_mullo_epi16(sum12, _mm_set1_epi16(VOTE_ONE / 3 / (TOL_A + 1))));
    _mm_storeu_si128((__m128i *)(w->cand_vote + c), _mm_mullo_epi16(s, mult));
    const __m128i vnb = _mm_set1_epi16((short)b->n);
    __m128i ai = _mm_unpacklo_epi8(fa[2], z), aj = _mm_unpackhi_epi8(fa[2], z);
    __m128i bi = _mm_unpackhi_epi8(fb[2], z), bj = _mm_unpacklo_epi8(fb[3], z);
    _mm_storeu_si128((__m128i *)(w->cand_pi + c), _mm_add_epi16(_mm_mullo_epi16(ai, vnb), bi));
    _mm_storeu_si128((__m128i *)(w->cand_pj + c), _mm_add_epi16(_mm_mullo_epi16(aj, vnb), bj));
    /* Links: ja | jb << 8 | r << 16 | mult << 24, from bytes. */
    __m128i mb = _mm_packus_epi16(mult, mult);
    __m128i ji = _mm_unpacklo_epi8(_mm_srli_si128(fa[2], 8), fb[3]); /* xj | eb.j << 8 */
    __m128i jj = _mm_unpacklo_epi8(fa[2], _mm_srli_si128(fb[2], 8)); /* xi | eb.i << 8 */
    __m128i ri = _mm_unpacklo_epi8(x1, mb), rj = _mm_unpacklo_epi8(x2, mb);
    __m128i li0 = _mm_unpacklo_epi16(ji, ri), li1 = _mm_unpackhi_epi16(ji, ri);
    __m128i lj0 = _mm_unpacklo_epi16(jj, rj), lj1 = _mm_unpackhi_epi16(jj, rj);
    /* Link 2 c from pair j, 2 c + 1 from pair i (see link). */
    _mm_storeu_si128((__m128i *)(w->links + 2 * c), _mm_unpacklo_epi32(lj0, li0));
    _mm_storeu_si128((__m128i *)(w->links + 2 * c + 4), _mm_unpackhi_epi32(lj0, li0));
    _mm_storeu_si128((__m128i *)(w->links + 2 * c + 8), _mm_unpacklo_epi32(lj1, li1));
    _mm_storeu_si128((__m128i *)(w->links + 2 * c + 12), _mm_unpackhi_epi32(lj1, li1));
}
#endif

#if FINGER_X86
/* One edge of b against its bucket of a's index, 16 entries at a time
 * (find_candidates_avx512). */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt"))) static inline int
lookup1_avx512(const uint8_t *ed, const uint8_t *eb1, const uint8_t *eb2, const uint8_t *edir,
               const edge *eb, int e, int first, int n, scratch *w, int nm)
{
    const __m256i iota = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m128i vta = _mm_set1_epi8((char)TOL_A), zero = _mm_setzero_si128();
    const __m128i vd = _mm_set1_epi8((char)eb->d), v1 = _mm_set1_epi8((char)eb->b1),
                  v2 = _mm_set1_epi8((char)eb->b2), vtd = _mm_set1_epi8((char)eb->td),
                  vdir = _mm_set1_epi8((char)eb->dir);
    const __m256i ve = _mm256_set1_epi16((short)e);
    /* The first 16 entries without a branch (as find_candidates). */
    int k = 0;
    do {
        int at = first + k, left = n - k;
        __mmask16 lim = (__mmask16)(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
        __m128i d = _mm_loadu_si128((const __m128i *)(ed + at));
        __m128i x1 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(eb1 + at)), v1);
        __m128i x2 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(eb2 + at)), v2);
        __m128i dd = _mm_or_si128(_mm_subs_epu8(d, vd), _mm_subs_epu8(vd, d));
        __m128i a1 = _mm_min_epu8(x1, _mm_sub_epi8(zero, x1));
        __m128i a2 = _mm_min_epu8(x2, _mm_sub_epi8(zero, x2));
        __m128i excess = _mm_or_si128(_mm_subs_epu8(dd, vtd),
                                      _mm_or_si128(_mm_subs_epu8(a1, vta), _mm_subs_epu8(a2, vta)));
        __mmask16 m = _mm_mask_cmpeq_epi8_mask(lim, excess, zero);
        m &= _mm_test_epi8_mask(_mm_loadu_si128((const __m128i *)(edir + at)), vdir);
        __m256i ats = _mm256_add_epi16(iota, _mm256_set1_epi16((short)at));
        _mm256_storeu_si256((__m256i *)(w->cand_at + nm), _mm256_maskz_compress_epi16(m, ats));
        _mm256_storeu_si256((__m256i *)(w->cand_e + nm), ve);
        nm += _mm_popcnt_u32(m);
        k += 16;
    } while (k < n);
    return nm;
}

/* find_candidates with AVX-512 (BW, VL, VBMI2): the same tests, the
 * passing lanes' entries compressed into place in one instruction
 * instead of looked up in byte_positions per 8 lanes; the same candidates
 * in the same order.  The first 32 entries of a bucket in one step
 * (masked 256-bit loads, one 32-lane compress), which holds the whole
 * bucket in 99.7 % of the look-ups on DB2_B, so that how many entries a
 * bucket has is not a branch to predict; longer buckets 16 entries at a
 * time.  Up to 32 slots past the count may be overwritten. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt"))) static int
find_candidates_avx512(const edge_index *a, const huella_finger_prepared *b, scratch *w)
{
    int nm = 0;
    /* In locals: the stores below may alias anything, the index's fields
     * included, which the compiler would otherwise load again. */
    const uint8_t *ed = a->ed, *eb1 = a->eb1, *eb2 = a->eb2, *edir = a->edir;
    const uint16_t *bin_start = a->bin_start;
    const int n_entries = a->n_entries, ne = b->n_edges;
    const edge *edges = b->edges;
    uint16_t *cand_at = w->cand_at, *cand_e = w->cand_e;
    const __m256i iota8 =
        _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                         21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    const __m256i vta = _mm256_set1_epi8((char)TOL_A), zero = _mm256_setzero_si256();
    /* Byte k of an edge (d, b1, b2, td, dir) to every byte. */
    const __m256i pick_d = _mm256_set1_epi8(0), pick_b1 = _mm256_set1_epi8(1),
                  pick_b2 = _mm256_set1_epi8(2), pick_td = _mm256_set1_epi8(3),
                  pick_dir = _mm256_set1_epi8(4);
    const int limit = MAX_MATCHES - MAX_BUCKET;
    for (int e = 0; e < ne && nm < limit; e++) {
        const edge *e0 = &edges[e];
        int f0 = 0, n0 = n_entries;
        if (bin_start != NULL) {
            f0 = bin_start[e0->key];
            n0 = bin_start[e0->key + 1] - f0;
        }
        if (n0 > 32) {
            nm = lookup1_avx512(ed, eb1, eb2, edir, e0, e, f0, n0, w, nm);
            continue;
        }
        __m256i q = _mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)e0));
        const __m256i vd = _mm256_shuffle_epi8(q, pick_d), v1 = _mm256_shuffle_epi8(q, pick_b1),
                      v2 = _mm256_shuffle_epi8(q, pick_b2), vtd = _mm256_shuffle_epi8(q, pick_td),
                      vdir = _mm256_shuffle_epi8(q, pick_dir);
        /* Masked loads: nothing past the bucket is read (the index is
         * padded for 16 entries, not 32). */
        __mmask32 lim = (__mmask32)(n0 >= 32 ? 0xFFFFFFFFu : (1u << n0) - 1u);
        __m256i d = _mm256_maskz_loadu_epi8(lim, ed + f0);
        __m256i x1 = _mm256_sub_epi8(_mm256_maskz_loadu_epi8(lim, eb1 + f0), v1);
        __m256i x2 = _mm256_sub_epi8(_mm256_maskz_loadu_epi8(lim, eb2 + f0), v2);
        __m256i dir = _mm256_maskz_loadu_epi8(lim, edir + f0);
        __m256i dd = _mm256_or_si256(_mm256_subs_epu8(d, vd), _mm256_subs_epu8(vd, d));
        __m256i a1 = _mm256_min_epu8(x1, _mm256_sub_epi8(zero, x1));
        __m256i a2 = _mm256_min_epu8(x2, _mm256_sub_epi8(zero, x2));
        __m256i excess =
            _mm256_or_si256(_mm256_subs_epu8(dd, vtd),
                            _mm256_or_si256(_mm256_subs_epu8(a1, vta), _mm256_subs_epu8(a2, vta)));
        __mmask32 m = _mm256_mask_cmpeq_epi8_mask(lim, excess, zero);
        m &= _mm256_test_epi8_mask(dir, vdir);
        /* The passing lanes' offsets compressed as bytes (one 256-bit
         * compress rather than a 512-bit one of 16-bit entries), then
         * widened sixteen at a time: more than sixteen matching entries
         * for one edge of b is rare (a predictable branch). */
        __m256i off = _mm256_maskz_compress_epi8(m, iota8);
        const __m256i vf0 = _mm256_set1_epi16((short)f0), ve = _mm256_set1_epi16((short)e);
        int cnt = _mm_popcnt_u32(m);
        _mm256_storeu_si256(
            (__m256i *)(cand_at + nm),
            _mm256_add_epi16(_mm256_cvtepu8_epi16(_mm256_castsi256_si128(off)), vf0));
        _mm256_storeu_si256((__m256i *)(cand_e + nm), ve);
        if (cnt > 16) {
            _mm256_storeu_si256(
                (__m256i *)(cand_at + nm + 16),
                _mm256_add_epi16(_mm256_cvtepu8_epi16(_mm256_extracti128_si256(off, 1)), vf0));
            _mm256_storeu_si256((__m256i *)(cand_e + nm + 16), ve);
        }
        nm += cnt;
    }
    return nm;
}

static bool have_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi2") &&
           __builtin_cpu_supports("popcnt");
}
#endif

/* Pass 2: the votes of the pairs, and each pair's last link (see
 * scratch); the padding of the matching edge pairs up to nm32 (see
 * links_of). */
static void link_pairs(const edge_index *a, const huella_finger_prepared *b, scratch *w, int nm,
                       int nm32, bool sse2)
{
    /* First each matching edge pair's two minutia pairs, vote and links
     * (independent from one pair to the next: eight at a time in 16-bit
     * lanes, about 14 instructions a pair where the scalar code below
     * took 85), then the scatter into the tables. */
#if defined(__SSE2__)
    if (sse2) {
        for (int k = nm; k < (nm + 7) / 8 * 8; k++)
            w->cand_at[k] = w->cand_at[0], w->cand_e[k] = w->cand_e[0]; /* padding */
        for (int c = 0; c < nm; c += 8)
            work_out8(a, b, w, c);
    }
#endif
    int nb = b->n;
    for (int c = 0; c < nm && !sse2; c++) {
        const oriented ea = a->orientations[a->eo[w->cand_at[c]]];
        const edge eb = b->edges[w->cand_e[c]];
        int dd = abs(ea.d - eb.d);
        int d1 = diff256(ea.b1, eb.b1), d2 = diff256(ea.b2, eb.b2);
        /* Similarity in (0, 1]: 1 minus the mean relative error. */
        int s = VOTE_ONE - dd * per_dd(eb.td) - (d1 + d2) * (VOTE_ONE / 3 / (TOL_A + 1));
        /* Counted once per direction in which both are nearest-neighbour
         * edges (as if each template kept its edges in both directions). */
        int both = ea.dir & eb.dir;
        int mult = (both + 1) >> 1; /* the bits set in both, which is 1, 2 or 3 */
        w->cand_vote[c] = (int16_t)(s * mult);
        w->cand_pi[c] = (uint16_t)(ea.i * nb + eb.i);
        w->cand_pj[c] = (uint16_t)(ea.j * nb + eb.j);
        w->links[2 * c + 1] =
            (link)ea.j | (link)eb.j << 8 | (link)(uint8_t)(eb.b1 - ea.b1) << 16 | (link)mult << 24;
        w->links[2 * c] =
            (link)ea.i | (link)eb.i << 8 | (link)(uint8_t)(eb.b2 - ea.b2) << 16 | (link)mult << 24;
    }
    for (int k = nm; k < nm32; k++)
        w->cand_pi[k] = w->cand_pj[k] = 0xFFFF; /* no pair */
    const uint16_t *restrict cpi = w->cand_pi, *restrict cpj = w->cand_pj;
    const int16_t *restrict cvote = w->cand_vote;
    int32_t *restrict vote = w->vote;
    uint16_t *restrict first = w->first, *restrict last = w->last;
    for (int c = 0; c < nm; c++) {
        int pi = cpi[c], pj = cpj[c], s = cvote[c];
        /* Both loads before either store: pi != pj (xi != xj), which the
         * compiler cannot know, and a load waiting on the store before it
         * was the longest step of the loop. */
        int32_t vi = vote[pi], vj = vote[pj];
        vote[pi] = vi + s;
        vote[pj] = vj + s;
        /* A pair's first vote without a branch: the other stores go to the
         * spare slot. */
        first[vi == 0 ? pi : MAX_M * MAX_M] = (uint16_t)c;
        first[vj == 0 ? pj : MAX_M * MAX_M] = (uint16_t)c;
        last[pi] = (uint16_t)(2 * c + 1);
        last[pj] = (uint16_t)(2 * c);
    }
}

/* The top N_ROOTS keys get in sorted, largest first: a key that gets in
 * sinks to its place through min/max (no branch on where). */
static inline void offer_root(int64_t top[N_ROOTS], int64_t key)
{
    for (int k = 0; k < N_ROOTS; k++) {
        int64_t hi = top[k] > key ? top[k] : key;
        key = top[k] > key ? key : top[k];
        top[k] = hi;
    }
}

/* Pair p's key, which orders the pairs by votes, then by last link (the
 * later first), and holds p.  (The order of an earlier version, which
 * ranked the pairs by their first vote in a walk of the matching edge
 * pairs backwards, pair i before pair j: the same order.) */
static inline int64_t root_key(const scratch *w, int p)
{
    return (int64_t)w->vote[p] << 32 | (int64_t)w->last[p] << 16 | p;
}

/* Pair p gets in when its key beats the last of the top. */
static inline void offer_pair(const scratch *w, int p, int64_t top[N_ROOTS])
{
    int64_t key = root_key(w, p);
    if (key > top[N_ROOTS - 1])
        offer_root(top, key);
}

/* The least votes a root can have: the eighth largest of the sixteen
 * maxima m[k] of the votes of the pairs p = k (mod 16).  Those are votes
 * of sixteen different pairs, so at least N_ROOTS pairs have that many
 * votes or more; at least 1 (a root has a vote). */
static int32_t root_floor(const int32_t m[16])
{
    int32_t s[16];
    for (int k = 0; k < 16; k++) {
        int32_t v = m[k];
        int at = k;
        for (; at > 0 && s[at - 1] < v; at--)
            s[at] = s[at - 1];
        s[at] = v;
    }
    _Static_assert(N_ROOTS <= 16, "root_floor");
    return s[N_ROOTS - 1] > 1 ? s[N_ROOTS - 1] : 1;
}

#if FINGER_X86
/* roots with AVX-512: sixteen votes at a time, and root_floor without a
 * branch: lane k counts the maxima at least as large as its own, and the
 * floor is the largest maximum that N_ROOTS or more lanes reach, which
 * is root_floor's. */
__attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt"))) static void
roots_avx512(scratch *w, int nab32, int64_t top[N_ROOTS])
{
    __m512i mx = _mm512_setzero_si512();
    for (int p = 0; p < nab32; p += 16)
        mx = _mm512_max_epi32(mx, _mm512_loadu_si512(w->vote + p));
    int32_t m[16];
    _mm512_storeu_si512(m, mx);
    __m512i cnt = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi32(1);
    for (int k = 0; k < 16; k++)
        cnt = _mm512_mask_add_epi32(cnt, _mm512_cmple_epi32_mask(mx, _mm512_set1_epi32(m[k])), cnt,
                                    one);
    __mmask16 enough = _mm512_cmpge_epi32_mask(cnt, _mm512_set1_epi32(N_ROOTS));
    int32_t least = _mm512_mask_reduce_max_epi32(enough, mx);
    const __m512i floor = _mm512_set1_epi32((least > 1 ? least : 1) - 1);
    /* The pairs above the floor listed without a branch (whether a row
     * of sixteen holds one is a coin toss for the predictor), then
     * offered. */
    /* Thirty-two at a time (the table is cleared up to a multiple of
     * 32): one compress of 16-bit indexes. */
    const __m512i iota = _mm512_setr_epi32(0x10000, 0x30002, 0x50004, 0x70006, 0x90008, 0xB000A,
                                           0xD000C, 0xF000E, 0x110010, 0x130012, 0x150014, 0x170016,
                                           0x190018, 0x1B001A, 0x1D001C, 0x1F001E);
    int nl = 0;
    for (int p = 0; p < nab32; p += 32) {
        __mmask32 up =
            _mm512_cmpgt_epi32_mask(_mm512_loadu_si512(w->vote + p), floor) |
            (__mmask32)_mm512_cmpgt_epi32_mask(_mm512_loadu_si512(w->vote + p + 16), floor) << 16;
        _mm512_storeu_si512(
            w->root_list + nl,
            _mm512_maskz_compress_epi16(up, _mm512_add_epi16(iota, _mm512_set1_epi16((short)p))));
        nl += _mm_popcnt_u32(up);
    }
    for (int k = 0; k < nl; k++)
        offer_pair(w, w->root_list[k], top);
}
#endif

/*
 * Pass 3, the roots: the keys (root_key) of the N_ROOTS pairs with the
 * most votes, largest first, in top (-1 where there are fewer pairs with
 * a vote).  A key is unique (ranks are), so which pairs these are does
 * not depend on the order in which they are looked at: the vote table is
 * read in order, in two passes, the first for a floor (root_floor) that
 * leaves few pairs to offer in the second.  The table is cleared up to
 * nab32 (a multiple of 32).
 */
static void roots(scratch *w, int nab32, int64_t top[N_ROOTS], finger_path path)
{
    for (int k = 0; k < N_ROOTS; k++)
        top[k] = -1;
#if FINGER_X86
    if (path == FINGER_PATH_AVX512) {
        roots_avx512(w, nab32, top);
        return;
    }
#endif
#if defined(__SSE2__)
    if (path == FINGER_PATH_SSE2) {
        /* Sixteen maxima in four registers (SSE2 has no max of 32-bit
         * integers: a comparison and a select). */
        __m128i mx[4];
        for (int k = 0; k < 4; k++)
            mx[k] = _mm_setzero_si128();
        for (int p = 0; p < nab32; p += 16) {
            for (int k = 0; k < 4; k++) {
                __m128i v = _mm_loadu_si128((const __m128i *)(w->vote + p + 4 * k));
                __m128i gt = _mm_cmpgt_epi32(v, mx[k]);
                mx[k] = _mm_or_si128(_mm_and_si128(gt, v), _mm_andnot_si128(gt, mx[k]));
            }
        }
        int32_t m[16];
        for (int k = 0; k < 4; k++)
            _mm_storeu_si128((__m128i *)(m + 4 * k), mx[k]);
        const __m128i floor = _mm_set1_epi32(root_floor(m) - 1);
        for (int p = 0; p < nab32; p += 4) {
            __m128i v = _mm_loadu_si128((const __m128i *)(w->vote + p));
            for (unsigned bits =
                     (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(v, floor)));
                 bits != 0; bits &= bits - 1)
                offer_pair(w, p + lowest_bit(bits), top);
        }
        return;
    }
#endif
    (void)path;
    int32_t m[16] = {0};
    for (int p = 0; p < nab32; p++)
        m[p % 16] = w->vote[p] > m[p % 16] ? w->vote[p] : m[p % 16];
    int32_t floor = root_floor(m);
    for (int p = 0; p < nab32; p++)
        if (w->vote[p] >= floor)
            offer_pair(w, p, top);
}

/* a's edges laid out as a flat index view (see edge_index) in f. */
static edge_index flat_index(const huella_finger_prepared *a, flat *f)
{
    int no = 2 * a->n_edges;
    for (int o = 0; o < no; o++) {
        oriented v = orient(&a->edges[o / 2], o % 2 == 1);
        f->orientations[o] = v;
        f->d[o] = v.d;
        f->b1[o] = v.b1;
        f->b2[o] = v.b2;
        f->dir[o] = v.dir;
        f->eo[o] = (uint16_t)o;
    }
    return (edge_index){NULL, no, f->d, f->b1, f->b2, f->dir, f->eo, f->orientations};
}

/*
 * The score of a against b, through a's index, or a flat view of a's
 * edges when a was prepared compact; the pairs of the best root go to
 * pairs (a's minutia first, or b's when swapped) when it is not NULL.
 */
static double compare(const huella_finger_prepared *a, const huella_finger_prepared *b,
                      bool swapped, huella_finger_pairing *pairs, size_t max_pairs, size_t *n_pairs,
                      finger_path path)
{
    int na = a->n, nb = b->n;
    *n_pairs = 0;
    if (na < 2 || nb < 2)
        return 0.0;
    scratch w_;
    scratch *w = &w_;
    const edge_index ix = a->index != NULL ? *a->index : flat_index(a, &w->flat);

    const bool sse2 = path != FINGER_PATH_PORTABLE;
#if FINGER_X86
    int nm = path == FINGER_PATH_AVX512 ? find_candidates_avx512(&ix, b, w)
                                        : find_candidates(&ix, b, w, sse2);
#else
    int nm = find_candidates(&ix, b, w, sse2);
#endif
    if (nm == 0)
        return 0.0;
    int nab = na * nb, nab32 = (nab + 31) / 32 * 32; /* <= MAX_M * MAX_M */
    memset(w->vote, 0, sizeof(int32_t) * (size_t)nab32);
    int nm32 = (nm + 31) / 32 * 32;
    link_pairs(&ix, b, w, nm, nm32, sse2);

    /* Roots: the N_ROOTS pairs with the most local support, the first
     * supported first among equals (see roots). */
    int64_t top[N_ROOTS];
    roots(w, nab32, top, path);
    int root[N_ROOTS], nr = 0;
    for (; nr < N_ROOTS && top[nr] >= 0; nr++)
        root[nr] = (int)(top[nr] & 0xFFFF);

    /* Grow from each root; keep the largest consistent set. */
    int best_m = 0, best_r = 0;
    alignment root_al[N_ROOTS];
    memset(w->taken_a, 0, sizeof(uint16_t) * (size_t)na);
    memset(w->taken_b, 0, sizeof(uint16_t) * (size_t)nb);
    for (int r = 0; r < nr; r++) {
#if FINGER_X86
        int m = path == FINGER_PATH_AVX512
                    ? grow_root_avx512(a, b, w, root[r], (uint16_t)(r + 1), &root_al[r])
                    : grow_root(a, b, w, root[r], (uint16_t)(r + 1), &root_al[r], path);
#else
        int m = grow_root(a, b, w, root[r], (uint16_t)(r + 1), &root_al[r], path);
#endif
        if (m > best_m) {
            best_m = m;
            best_r = r;
            memcpy(w->best_a, w->queue_a, (size_t)m);
            memcpy(w->best_b, w->queue_b, (size_t)m);
        }
    }
    if (best_m < 2)
        return 0.0;

    /* The best root's pairs, taken under a stamp of their own, then
     * consolidated. */
    alignment al = root_al[best_r];
    uint16_t stamp = (uint16_t)(nr + 1);
    for (int q = 0; q < best_m; q++) {
        w->queue_a[q] = w->best_a[q];
        w->queue_b[q] = w->best_b[q];
        w->taken_a[w->best_a[q]] = stamp;
        w->taken_b[w->best_b[q]] = stamp;
    }
    best_m = consolidate(a, b, w, best_m, stamp, &al, path);

    /* Common area: minutiae of each inside the other's hull. */
    if (pairs != NULL) {
        for (int q = 0; q < best_m && (size_t)q < max_pairs; q++) {
            uint16_t ia = a->source[w->queue_a[q]], ib = b->source[w->queue_b[q]];
            pairs[q] = swapped ? (huella_finger_pairing){ib, ia} : (huella_finger_pairing){ia, ib};
        }
        *n_pairs = (size_t)best_m;
    }
    float px[MAX_M + 16], py[MAX_M + 16];
    for (int i = 0; i < 16; i++) /* weigh_inside_hull reads up to a multiple of 4 or 16 */
        px[na + i] = py[na + i] = px[nb + i] = py[nb + i] = 0.0f;
    for (int i = 0; i < na; i++) {
        /* a's minutia into b's frame: the inverse rotation. */
        float dx = a->x[i] - al.ax, dy = a->y[i] - al.ay;
        px[i] = al.bx + al.c * dx + al.s * dy;
        py[i] = al.by - al.s * dx + al.c * dy;
    }
    float ova = weigh_hull(b, px, py, a->wq, na, path);
    for (int i = 0; i < nb; i++) {
        float dx = b->x[i] - al.bx, dy = b->y[i] - al.by;
        px[i] = al.ax + al.c * dx - al.s * dy;
        py[i] = al.ay + al.s * dx + al.c * dy;
    }
    float ovb = weigh_hull(a, px, py, b->wq, nb, path);
    /* Paired weight: each pair counts the geometric mean of its minutiae's
     * weights, less when their types disagree, and less the more their
     * directions differ under the final alignment (see DIR_FIT). */
    float m = 0;
    for (int q = 0; q < best_m; q++) {
        int ia = w->queue_a[q], ib = w->queue_b[q];
        bool differ = a->type[ia] != b->type[ib] && a->type[ia] != HUELLA_MINUTIA_OTHER &&
                      b->type[ib] != HUELLA_MINUTIA_OTHER;
        float da = ang_diff(wrap_2pi(b->th[ib] - al.rot), a->th[ia]);
        float fit = 1.0f - DIR_FIT * fminf(da * (1.0f / TOL_CA), 1.0f);
        m += fit * (differ ? TYPE_DIFFER : 1.0f) * sqrtf(a->wq[ia] * b->wq[ib]);
    }
    float fa = fmaxf(ova, SCORE_FLOOR * a->wq_mean);
    float fb = fmaxf(ovb, SCORE_FLOOR * b->wq_mean);
    fa = fmaxf(fa, m);
    fb = fmaxf(fb, m);
    return 100.0 * (double)(m * m / (fa * fb));
}

/* Through a's index, or b's when only b has one (which is the 1:N case of
 * a compact candidate passed first); a flat view when neither has. */
static double compare_either(const huella_finger_prepared *a, const huella_finger_prepared *b,
                             huella_finger_pairing *pairs, size_t max_pairs, size_t *n_pairs,
                             finger_path path)
{
    if (a->index == NULL && b->index != NULL)
        return compare(b, a, true, pairs, max_pairs, n_pairs, path);
    return compare(a, b, false, pairs, max_pairs, n_pairs, path);
}

bool finger_path_supported(finger_path path)
{
    switch (path) {
    case FINGER_PATH_PORTABLE:
        return true;
    case FINGER_PATH_SSE2:
#if defined(__SSE2__)
        return true;
#else
        return false;
#endif
    case FINGER_PATH_AVX512:
#if FINGER_X86 && defined(__SSE2__)
        return have_avx512();
#else
        return false;
#endif
    }
    return false;
}

finger_path finger_path_detected(void)
{
#if FINGER_X86 && defined(__SSE2__)
    if (have_avx512())
        return FINGER_PATH_AVX512;
#endif
#if defined(__SSE2__)
    return FINGER_PATH_SSE2;
#else
    return FINGER_PATH_PORTABLE;
#endif
}

double finger_compare_path(const huella_finger_prepared *a, const huella_finger_prepared *b,
                           finger_path path)
{
    size_t n;
    if (!finger_path_supported(path))
        return -1.0;
    return compare_either(a, b, NULL, 0, &n, path);
}

double huella_finger_compare(const huella_finger_prepared *a, const huella_finger_prepared *b)
{
    size_t n;
    return compare_either(a, b, NULL, 0, &n, finger_path_detected());
}

double huella_finger_compare_explain(const huella_finger_prepared *a,
                                     const huella_finger_prepared *b, huella_finger_pairing *pairs,
                                     size_t max_pairs, size_t *n_pairs)
{
    size_t n = 0;
    double score = compare_either(a, b, pairs, max_pairs, &n, finger_path_detected());
    if (n_pairs != NULL)
        *n_pairs = n;
    return score;
}

/* ---- The serialised compact form (for the store's gallery forms) --------- */

/*
 * What huella_finger_prepare_compact computes, so that a gallery can be
 * loaded without preparing again: the minutiae as prepared (positions,
 * directions, types, sources, qualities),
 * the hull, and the edges.  Everything that is a function of what is
 * kept is recomputed on loading, by the same code as preparation, so the
 * loaded template compares bit for bit as the one serialised: a
 * minutia's weight from its quality (wq_quality), the hull's points from
 * the minutiae they are (one index each instead of two floats) and its
 * normals (side_normals, when weighing: hull_of), an edge's i from the order of the edges (they
 * are made minutia by minutia, so each minutia's count says which are
 * its), its length from the positions (edge_length), its tolerance and
 * hash key from (d, b1, b2), and EDGE_FORWARD,
 * which every stored edge has.  Floats are copied as they are in memory
 * (host byte order, recorded in the header: a host of the other order
 * refuses the bytes and the caller prepares again).
 *
 * Layout (format 4): "HFPC", u8 HUELLA_FINGER_PREPARED_FORMAT, u8
 * byte-order mark (1 = little-endian host), u16 n, u16 n_edges, u16
 * n_hull, f32 wq_mean, f32 x[n] y[n] th[n], u8 type[n]
 * source[n] quality[n] edges_of[n], u8 hull[n_hull] (minutia indexes),
 * the mutual bits of the edges (EDGE_BACKWARD, bit e % 8 of byte e / 8),
 * then u8 b1[n_edges] j[n_edges] b2[n_edges].  u16 and f32 in host
 * order.  Format 1
 * kept the weights, hull points and normals as floats and 6 bytes an
 * edge: on the ISO records of FVC2002 DB1..DB4_B, 2,035 bytes a finger
 * on average against 1,508 for format 2.  Format 2 kept the directions'
 * cosines and sines too (see align_on for why no more), format 3 each
 * edge's length (computed again from the positions, about 0.1 us a
 * finger, rather than read: a quarter of an edge's bytes).
 */
#define SER_HEAD     16
#define N_SER_FLOATS 3 /* x, y, th */
#define SER_EDGE     3 /* b1, j, b2: each in an array of its own */

static size_t align16(size_t v)
{
    return (v + 15) & ~(size_t)15;
}

static uint8_t host_order(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b; /* 1 on a little-endian host, 0 on a big-endian one */
}

static size_t ser_size(int n, int ne, int nh)
{
    return SER_HEAD + (size_t)n * (N_SER_FLOATS * sizeof(float) + 4) + (size_t)nh +
           ((size_t)ne + 7) / 8 + (size_t)ne * SER_EDGE;
}

/* The weight of a minutia of the given quality (see compare). */
static float wq_quality(int quality)
{
    return quality == 0 ? 1.0f : (float)quality / 100.0f;
}

/* The quality that gives weight wq: 0 for 1 (not reported, or 100: the
 * same weight). */
static uint8_t quality_wq(float wq)
{
    return wq >= 1.0f ? 0 : (uint8_t)lroundf(wq * 100.0f);
}

huella_status huella_finger_prepared_serialize(const huella_finger_prepared *p, uint8_t **out,
                                               size_t *len, huella_error *err)
{
    *out = NULL;
    *len = 0;
    if (p->index != NULL)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "finger: only a compact prepared template is serialised");
    size_t size = ser_size(p->n, p->n_edges, p->n_hull);
    uint8_t *b = calloc(1, size);
    if (b == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "finger: out of memory");
    uint16_t h[3] = {(uint16_t)p->n, (uint16_t)p->n_edges, (uint16_t)p->n_hull};
    memcpy(b, "HFPC", 4);
    b[4] = HUELLA_FINGER_PREPARED_FORMAT;
    b[5] = host_order();
    memcpy(b + 6, h, sizeof(h));
    memcpy(b + 12, &p->wq_mean, sizeof(float));
    uint8_t *c = b + SER_HEAD;
    size_t fn = (size_t)p->n * sizeof(float);
    const float *fa[N_SER_FLOATS] = {p->x, p->y, p->th};
    for (int k = 0; k < N_SER_FLOATS; k++, c += fn)
        memcpy(c, fa[k], fn);
    memcpy(c, p->type, (size_t)p->n), c += p->n;
    memcpy(c, p->source, (size_t)p->n), c += p->n;
    for (int i = 0; i < p->n; i++)
        *c++ = quality_wq(p->wq[i]);
    uint8_t *edges_of = c;
    c += p->n;
    for (int e = 0; e < p->n_edges; e++)
        edges_of[p->edges[e].i]++;
    memcpy(c, p->hsrc, (size_t)p->n_hull), c += p->n_hull;
    uint8_t *mutual = c;
    c += (p->n_edges + 7) / 8;
    int ne = p->n_edges;
    for (int e = 0; e < ne; e++) {
        const edge *ed = &p->edges[e];
        mutual[e / 8] |= (uint8_t)(((ed->dir & EDGE_BACKWARD) != 0) << (e % 8));
        c[e] = ed->b1, c[ne + e] = ed->j, c[2 * ne + e] = ed->b2;
    }
    *out = b;
    *len = size;
    return HUELLA_OK;
}

/* tol_d of an edge length d (a byte) by comparisons: 4 + (6 d + 50) / 100
 * steps up at d = 9, 25, 42 and 59 and is capped at BIN_D / 2 = 8 from
 * there: the same value as tol_d for every byte (checked for all 256
 * when this was written), without its division. */
static const uint8_t tol_d_steps[4] = {9, 25, 42, 59};

static int tol_d_byte(int d)
{
    int td = 4;
    for (int k = 0; k < 4; k++)
        td += d >= tol_d_steps[k];
    return td;
}
_Static_assert(BIN_D / 2 == 8 && BIN_D == 16 && N_BIN_D == 10, "tol_d_byte, load_edge");

/* Stored edge e (b1, j, b2 in the arrays at ev, ne long) of minutia i
 * into *ed as preparation makes it, its length from the positions x, y
 * of the template's n minutiae (edge_length; a j past them, refused by
 * the caller, is measured to i instead of read out of bounds).  Its bytes
 * are read before any is written (the stores to *ed could alias them
 * otherwise, and the reloads were most of the loop) and the fields
 * stored one by one (assembled into one word, they made a chain of
 * shifts). */
static int load_edge(edge *ed, const uint8_t *ev, int e, int ne, int i, unsigned mutual,
                     const float *x, const float *y, int n)
{
    const uint8_t v[SER_EDGE] = {ev[e], ev[ne + e], ev[2 * ne + e]};
    int j = v[1], js = j < n ? j : i;
    int d = edge_length(x[i], y[i], x[js], y[js]), td = tol_d_byte(d), bd = d >> 4;
    /* bin_a of a byte, whose (a * N_BIN_A) >> 8 is already below N_BIN_A */
    int key = key_of(bd < N_BIN_D ? bd : N_BIN_D - 1, (v[0] * N_BIN_A) >> 8, (v[2] * N_BIN_A) >> 8);
    ed->d = (uint8_t)d;
    ed->b1 = v[0];
    ed->b2 = v[2];
    ed->td = (uint8_t)td;
    ed->dir = (uint8_t)(EDGE_FORWARD | mutual << 1);
    ed->i = (uint8_t)i;
    ed->j = (uint8_t)j;
    ed->pdd = pdd_of(td);
    ed->key = (uint16_t)key;
    return j; /* for the caller's check */
}

#if defined(__SSE2__)
_Static_assert(sizeof(edge) == 10 && offsetof(edge, pdd) == 7 && offsetof(edge, key) == 8,
               "load_edges8 writes an edge as 8 bytes and its key");

/* a >= k for unsigned bytes, lane by lane: 0xFF or 0 */
static __m128i ge_u8(__m128i a, int k)
{
    return _mm_cmpeq_epi8(_mm_max_epu8(a, _mm_set1_epi8((char)k)), a);
}

/* edge_length of the four edges (i[k], j[k]), lane by lane: the same
 * operations as the scalar function (sqrtps and cvtps2dq round to nearest
 * even as sqrtf and lrintf do), saturated to 255 by the caller's packing.
 * The positions are gathered into registers (_mm_setr_ps), not through
 * arrays: eight stores and a vector load of them stall. */
static __m128i edge_lengths4(const float *x, const float *y, const int *i, const int *j)
{
    __m128 xi = _mm_setr_ps(x[i[0]], x[i[1]], x[i[2]], x[i[3]]);
    __m128 yi = _mm_setr_ps(y[i[0]], y[i[1]], y[i[2]], y[i[3]]);
    __m128 xj = _mm_setr_ps(x[j[0]], x[j[1]], x[j[2]], x[j[3]]);
    __m128 yj = _mm_setr_ps(y[j[0]], y[j[1]], y[j[2]], y[j[3]]);
    __m128 dx = _mm_sub_ps(xj, xi), dy = _mm_sub_ps(yj, yi);
    return _mm_cvtps_epi32(_mm_sqrt_ps(_mm_add_ps(_mm_mul_ps(dx, dx), _mm_mul_ps(dy, dy))));
}

/*
 * Edges e .. e + 7 (e a multiple of 8, so that their mutual bits are the
 * byte mutual) from the arrays b1, j, b2 at ev (ne long each), with
 * owner[k] the minutia of edge e + k, x and y the positions of the
 * template's n minutiae: what load_edge makes of each, eight at a time,
 * the lengths by edge_lengths4, the tolerance and vote by the comparisons
 * of tol_d_byte, the hash key in 16-bit lanes, the eight fields of an
 * edge put together by unpacking (an 8 x 8 byte transpose).  Returns the
 * lanes whose j is >= n or the edge's own minutia, as a bit mask.
 */
static unsigned load_edges8(edge *ed, const uint8_t *ev, int e, int ne, const uint8_t *owner,
                            unsigned mutual, const float *x, const float *y, int n)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i b1 = _mm_loadl_epi64((const __m128i *)(ev + e)),
            j = _mm_loadl_epi64((const __m128i *)(ev + ne + e)),
            b2 = _mm_loadl_epi64((const __m128i *)(ev + 2 * ne + e));
    int oi[8], oj[8];
    for (int k = 0; k < 8; k++) {
        /* a j past the minutiae (refused below) measured to the owner */
        int jk = ev[ne + e + k];
        oi[k] = owner[k];
        oj[k] = jk < n ? jk : owner[k];
    }
    __m128i len = _mm_packs_epi32(edge_lengths4(x, y, oi, oj), edge_lengths4(x, y, oi + 4, oj + 4));
    __m128i d = _mm_packus_epi16(len, zero); /* lengths >= 0; above 255 saturate */
    /* tol_d_byte and pdd_of by its steps: td = 4 + the steps d reaches (a
     * mask is -1), pdd = pdd_of(4) less what each step takes off */
    __m128i td = _mm_set1_epi8(4), pdd = _mm_set1_epi8((char)pdd_of(4));
    for (int k = 0; k < 4; k++) {
        __m128i step = ge_u8(d, tol_d_steps[k]);
        td = _mm_sub_epi8(td, step);
        pdd = _mm_sub_epi8(
            pdd, _mm_and_si128(step, _mm_set1_epi8((char)(pdd_of(4 + k) - pdd_of(5 + k)))));
    }
    const __m128i bits = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, (char)128, 0, 0, 0, 0, 0, 0, 0, 0);
    __m128i mb = _mm_cmpeq_epi8(_mm_and_si128(_mm_set1_epi8((char)mutual), bits), bits);
    __m128i dir = _mm_or_si128(_mm_set1_epi8(EDGE_FORWARD), _mm_and_si128(mb, _mm_set1_epi8(2)));
    __m128i own = _mm_loadl_epi64((const __m128i *)owner);
    /* the key: (min(d / 16, 9) * 11 + b1 * 11 / 256) * 11 + b2 * 11 / 256 */
    __m128i d16 = _mm_unpacklo_epi8(d, zero), b116 = _mm_unpacklo_epi8(b1, zero),
            b216 = _mm_unpacklo_epi8(b2, zero);
    __m128i bd = _mm_min_epi16(_mm_srli_epi16(d16, 4), _mm_set1_epi16(N_BIN_D - 1));
    __m128i a1 = _mm_srli_epi16(_mm_mullo_epi16(b116, _mm_set1_epi16(N_BIN_A)), 8);
    __m128i a2 = _mm_srli_epi16(_mm_mullo_epi16(b216, _mm_set1_epi16(N_BIN_A)), 8);
    __m128i key = _mm_add_epi16(
        _mm_mullo_epi16(_mm_add_epi16(_mm_mullo_epi16(bd, _mm_set1_epi16(N_BIN_A)), a1),
                        _mm_set1_epi16(N_BIN_A)),
        a2);
    /* transpose: d b1 b2 td dir i j pdd per edge */
    __m128i p01 = _mm_unpacklo_epi8(d, b1), p23 = _mm_unpacklo_epi8(b2, td);
    __m128i p45 = _mm_unpacklo_epi8(dir, own), p67 = _mm_unpacklo_epi8(j, pdd);
    __m128i q0 = _mm_unpacklo_epi16(p01, p23), q1 = _mm_unpackhi_epi16(p01, p23);
    __m128i q2 = _mm_unpacklo_epi16(p45, p67), q3 = _mm_unpackhi_epi16(p45, p67);
    __m128i w[4] = {_mm_unpacklo_epi32(q0, q2), _mm_unpackhi_epi32(q0, q2),
                    _mm_unpacklo_epi32(q1, q3), _mm_unpackhi_epi32(q1, q3)};
    uint16_t keys[8];
    _mm_storeu_si128((__m128i *)keys, key);
    uint8_t *out = (uint8_t *)ed;
    for (int k = 0; k < 4; k++) {
        _mm_storel_epi64((__m128i *)(out + 20 * k), w[k]);
        _mm_storel_epi64((__m128i *)(out + 20 * k + 10), _mm_unpackhi_epi64(w[k], w[k]));
    }
    for (int k = 0; k < 8; k++)
        memcpy(out + 10 * k + 8, &keys[k], 2);
    /* j >= n, or j == its own minutia */
    __m128i bad = _mm_or_si128(ge_u8(j, n), _mm_cmpeq_epi8(j, own)); /* n <= MAX_M */
    return (unsigned)_mm_movemask_epi8(bad) & 0xFFu;
}
#endif

/* The header of a serialised template: its counts, checked against its
 * length. */
static huella_status load_head(const uint8_t *data, size_t len, int *n, int *ne, int *nh,
                               huella_error *err)
{
    if (len < SER_HEAD || memcmp(data, "HFPC", 4) != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "finger: not a serialised prepared template");
    if (data[4] != HUELLA_FINGER_PREPARED_FORMAT || data[5] != host_order())
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "finger: serialised prepared template of format %u (byte order "
                                "%u), this build reads format %u (byte order %u)",
                                data[4], data[5], HUELLA_FINGER_PREPARED_FORMAT, host_order());
    uint16_t h[3];
    memcpy(h, data + 6, sizeof(h));
    *n = h[0], *ne = h[1], *nh = h[2];
    if (*n > MAX_M || *nh > *n || *ne > MAX_M * K_NEIGHBOURS || ser_size(*n, *ne, *nh) != len)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "finger: serialised prepared template has inconsistent sizes "
                                "(%d minutiae, %d edges, %d hull points, %zu bytes)",
                                *n, *ne, *nh, len);
    return HUELLA_OK;
}

/* The last 16 bytes of an array of `size` bytes (a multiple of 16) zeroed. */
static void zero_tail16(uint8_t *array, size_t size)
{
    if (size > 0)
        memset(array + size - 16, 0, 16);
}

/*
 * The layout of a loaded template, one block: the struct, then each
 * array starting on HUELLA_FINGER_PREPARED_ALIGN bytes and padded to a
 * multiple of it (so readable by 16-byte vector loads up to there), the
 * four per-minutia float arrays, the three byte arrays, the edges.  The
 * hull is kept as the indexes of its minutiae (hsrc) only: its points
 * and normals are computed where the comparison weighs the common area
 * (hull_of, a few dozen operations a comparison, the same floats), which
 * saves four arrays of floats, about 190 bytes a finger.  Packed to 16 bytes rather than 64:
 * nothing reads these arrays with aligned vector loads, and a gallery holds millions of them.
 */
static size_t load_bytes(int n, int ne, int nh)
{
    return align16(sizeof(huella_finger_prepared)) +
           (N_SER_FLOATS + 1) * align16((size_t)n * sizeof(float)) + 2 * align16((size_t)n) +
           align16((size_t)nh) + align16((size_t)ne * sizeof(edge));
}

/* What both a load and a check refuse in the per-minutia bytes, the edge
 * counts and the hull of a serialised template whose header load_head
 * accepted. */
static huella_status check_counts(const uint8_t *qualities, const uint8_t *edges_of,
                                  const uint8_t *hull, const uint8_t *mutual, int n, int ne, int nh,
                                  huella_error *err)
{
    int counted = 0;
    for (int i = 0; i < n; i++) {
        /* 100 weighs as 0 does, and is serialised as 0 */
        if (qualities[i] >= 100 || edges_of[i] > K_NEIGHBOURS)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "finger: serialised prepared template has a bad minutia (%d)",
                                    i);
        counted += edges_of[i];
    }
    if (counted != ne || (ne % 8 != 0 && (mutual[ne / 8] >> (ne % 8)) != 0))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "finger: serialised prepared template counts %d edges, holds %d "
                                "(or has stray mutual bits)",
                                counted, ne);
    /* Hull points: minutiae, named by their indexes. */
    for (int k = 0; k < nh; k++)
        if (hull[k] >= n)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "finger: serialised prepared template has a bad hull point "
                                    "(%d)",
                                    k);
    return HUELLA_OK;
}

/* The minutia of each stored edge (owner[e]), from the counts edges_of
 * (their sum checked by check_counts: at most MAX_M * K_NEIGHBOURS). */
static void edge_owners(const uint8_t *edges_of, int n, uint8_t *owner)
{
    for (int i = 0, e = 0; i < n; e += edges_of[i], i++)
        memset(owner + e, i, edges_of[i]);
}

/* Positions finite, directions in [0, 2 pi) as preparation makes them (a
 * direction of 1e30 or infinity would never wrap: the comparison's angle
 * arithmetic relies on the range): nonzero when a minutia fails. */
static int minutia_out_of_range(float x, float y, float th)
{
    return !isfinite(x) | !isfinite(y) | !(th >= 0.0f && th < TWO_PI_F);
}

static huella_status out_of_range(huella_error *err)
{
    return huella_error_set(err, HUELLA_E_INPUT,
                            "finger: serialised prepared template has a minutia out of range");
}

static huella_status bad_edge(huella_error *err)
{
    return huella_error_set(err, HUELLA_E_INPUT,
                            "finger: serialised prepared template has an edge to no minutia "
                            "or to its own");
}

huella_status huella_finger_prepared_check(const uint8_t *data, size_t len, huella_error *err)
{
    int n = 0, ne = 0, nh = 0;
    huella_status st = load_head(data, len, &n, &ne, &nh, err);
    if (st != HUELLA_OK)
        return st;
    const uint8_t *c = data + SER_HEAD + (size_t)n * N_SER_FLOATS * sizeof(float);
    const uint8_t *qualities = c + 2 * n, *edges_of = c + 3 * n;
    const uint8_t *hull = c + 4 * n, *mutual = hull + nh, *ev = mutual + (ne + 7) / 8;
    st = check_counts(qualities, edges_of, hull, mutual, n, ne, nh, err);
    if (st != HUELLA_OK)
        return st;
    /* the float arrays copied out whole (the bytes need not be aligned),
     * then checked minutia by minutia as a load does */
    float v[N_SER_FLOATS][MAX_M];
    size_t fn = (size_t)n * sizeof(float);
    for (int k = 0; k < N_SER_FLOATS; k++)
        memcpy(v[k], data + SER_HEAD + (size_t)k * fn, fn);
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad |= minutia_out_of_range(v[0][i], v[1][i], v[2][i]);
    if (bad)
        return out_of_range(err);
    /* each edge's j (the second edge array) against n and against its minutia
     * (the minutia of each edge from the counts first: one loop with no
     * branch over the edges) */
    uint8_t owner[MAX_M * K_NEIGHBOURS];
    edge_owners(edges_of, n, owner);
    for (int e = 0; e < ne; e++) {
        int j = ev[ne + e];
        bad |= (j >= n) | (j == owner[e]);
    }
    return bad ? bad_edge(err) : HUELLA_OK;
}

huella_status huella_finger_prepared_load_size(const uint8_t *data, size_t len, size_t *size,
                                               huella_error *err)
{
    *size = 0;
    int n = 0, ne = 0, nh = 0;
    huella_status st = load_head(data, len, &n, &ne, &nh, err);
    if (st == HUELLA_OK)
        *size = load_bytes(n, ne, nh);
    return st;
}

huella_status huella_finger_prepared_load_into(const uint8_t *data, size_t len, void *mem,
                                               size_t size, huella_finger_prepared **out,
                                               huella_error *err)
{
    *out = NULL;
    int n = 0, ne = 0, nh = 0;
    huella_status st = load_head(data, len, &n, &ne, &nh, err);
    if (st != HUELLA_OK)
        return st;
    size_t total_size = load_bytes(n, ne, nh);
    if (mem == NULL || ((uintptr_t)mem % HUELLA_FINGER_PREPARED_ALIGN) != 0 || size < total_size)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "finger: memory for a loaded template must be %d-byte aligned "
                                "and hold %zu bytes (given %zu)",
                                HUELLA_FINGER_PREPARED_ALIGN, total_size, size);
    const uint8_t *c = data + SER_HEAD + (size_t)n * N_SER_FLOATS * sizeof(float);
    const uint8_t *types = c, *sources = c + n, *qualities = c + 2 * n, *edges_of = c + 3 * n;
    const uint8_t *hull = c + 4 * n, *mutual = hull + nh, *ev = mutual + (ne + 7) / 8;
    st = check_counts(qualities, edges_of, hull, mutual, n, ne, nh, err);
    if (st != HUELLA_OK)
        return st;
    uint8_t *block = mem;
    /* The struct zeroed, every array written whole below and only its
     * padding zeroed here: each byte of the block is written once (a
     * gallery's block is fresh memory, and the first write of a page is
     * most of a load's cost). */
    memset(block, 0, align16(sizeof(huella_finger_prepared)));
    huella_finger_prepared *p = (huella_finger_prepared *)block;
    uint8_t *cur = block + align16(sizeof(huella_finger_prepared));
    size_t fn = (size_t)n * sizeof(float);
    size_t sz_f = align16(fn), sz_e = align16((size_t)ne * sizeof(edge));
    /* Each array's padding (less than 16 bytes) zeroed by zeroing its
     * last 16 bytes before the array is written. */
    float **fa[N_SER_FLOATS + 1] = {&p->x, &p->y, &p->th, &p->wq};
    for (int k = 0; k < N_SER_FLOATS + 1; k++, cur += sz_f) {
        *fa[k] = (float *)cur;
        zero_tail16(cur, sz_f);
    }
    uint8_t **ba[3] = {&p->type, &p->source, &p->hsrc};
    for (int k = 0; k < 3; k++) {
        size_t m = align16((size_t)(k < 2 ? n : nh));
        *ba[k] = cur;
        zero_tail16(cur, m);
        cur += m;
    }
    p->edges = (edge *)cur;
    zero_tail16(cur, sz_e);
    p->n = n;
    p->n_edges = ne;
    p->n_hull = nh;
    p->size = total_size;
    memcpy(&p->wq_mean, data + 12, sizeof(float));
    for (int k = 0; k < N_SER_FLOATS; k++)
        memcpy(*fa[k], data + SER_HEAD + (size_t)k * fn, fn);
    /* minutia_out_of_range on the copies, array by array (a gallery
     * loads millions of these) */
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad |= minutia_out_of_range(p->x[i], p->y[i], p->th[i]);
    if (bad)
        return out_of_range(err);
    memcpy(p->type, types, (size_t)n);
    memcpy(p->source, sources, (size_t)n);
    for (int i = 0; i < n; i++)
        p->wq[i] = wq_quality(qualities[i]);
    memcpy(p->hsrc, hull, (size_t)nh); /* hx, hy, hnx, hny: NULL (hull_of) */
    /* The minutia of each edge from the order of the edges, then the
     * edges eight at a time (load_edges8) and the rest one by one
     * (load_edge), each without a branch but the check. */
    uint8_t owner[MAX_M * K_NEIGHBOURS + 8];
    edge_owners(edges_of, n, owner);
    int e = 0;
#if defined(__SSE2__)
    for (; e + 8 <= ne; e += 8)
        bad |= load_edges8(&p->edges[e], ev, e, ne, owner + e, mutual[e / 8], p->x, p->y, n) != 0;
#endif
    for (; e < ne; e++) {
        int j = load_edge(&p->edges[e], ev, e, ne, owner[e], (mutual[e / 8] >> (e % 8)) & 1u, p->x,
                          p->y, n);
        bad |= (j >= n) | (j == owner[e]);
    }
    if (bad)
        return bad_edge(err);
    *out = p;
    return HUELLA_OK;
}

huella_status huella_finger_prepared_load(const uint8_t *data, size_t len,
                                          huella_finger_prepared **out, huella_error *err)
{
    *out = NULL;
    size_t size;
    huella_status st = huella_finger_prepared_load_size(data, len, &size, err);
    if (st != HUELLA_OK)
        return st;
    void *block = aligned_alloc(HUELLA_FINGER_PREPARED_ALIGN, size);
    if (block == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate a prepared template");
    st = huella_finger_prepared_load_into(data, len, block, size, out, err);
    if (st != HUELLA_OK)
        free(block);
    return st;
}
