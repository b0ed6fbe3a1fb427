/*
 * search.c - the iris 1:N search loop: a packed gallery of iris codes and
 * a top-k search with rotation compensation, vectorised and threaded.
 *
 * Contract: huella_iris_gallery_search returns, for every template, exactly
 * the distance, shift and valid-bit count that huella_iris_distance (the
 * scalar reference in hamming.c) gives, keeps the k best (ties to the lower
 * id), and does so identically with every kernel and any number of threads.
 * Kernels only count bits (integers); all floating point is done here, with
 * the same operations as huella_iris_normalise.
 *
 * How it is fast:
 *  - templates are packed 512 bytes apiece (256 code + 256 mask), 64-byte
 *    aligned and contiguous, ids kept in ascending slot order;
 *  - the probe is rotated once per shift before the loop (Daugman 2004:
 *    rotation is a cyclic scroll of the code), so the loop is pure
 *    XOR / AND / popcount: disagree = popcount((p ^ t) & pm & tm),
 *    valid = popcount(pm & tm);
 *  - the kernels are AVX2 and AVX-512 (VPOPCNTDQ, or BW with a nibble
 *    table) compiled with function-level target attributes, chosen at run
 *    time; a portable one uses 64-bit SWAR popcounts;
 *  - early exit that never changes the answer: a template is skipped when
 *    its mask popcount alone proves it cannot reach the current cut (the
 *    k-th best so far, or the threshold), and the last two rows are skipped
 *    when, after the first six, a bound proves no shift can (see
 *    fill_limits below; with AVX-512, a stretch of the gallery where few
 *    templates stop there is counted in one pass instead, see SAMPLE);
 *  - the AVX-512 VPOPCNTDQ kernel reduces eight shifts' accumulators at
 *    once and tests the bound on eight shifts at a time;
 *  - threads take the gallery in chunks from a shared counter, each with
 *    its own top-k, merged at the end.
 *
 * Process-wide state: the only one read is the compiler runtime's CPU
 * feature table behind __builtin_cpu_supports (filled once at start-up by
 * the runtime, read-only afterwards).  Nothing here writes global state.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/iris.h"
#include "iris/search_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define HUELLA_IRIS_X86 1
#include <immintrin.h>
#else
#define HUELLA_IRIS_X86 0
#endif

#define SLOT_BYTES   (2 * HUELLA_IRIS_CODE_BYTES) /* code then mask */
#define STAGE1_BYTES (6 * HUELLA_IRIS_ROW_BYTES)  /* rows 0..5; rows 6..7 come after */
/* The kernels work in 64-byte chunks (one AVX-512 register, two AVX2). */
_Static_assert(STAGE1_BYTES % 64 == 0 && HUELLA_IRIS_CODE_BYTES % 64 == 0,
               "the stages must be whole 64-byte chunks");
#define MAX_SHIFTS (HUELLA_IRIS_COLS + 1)
#define MAX_SHIFT  (HUELLA_IRIS_COLS / 2)

struct huella_iris_gallery {
    uint8_t *slots;       /* cap * SLOT_BYTES, 64-byte aligned */
    uint64_t *ids;        /* ascending */
    uint16_t *mask_total; /* popcount of the mask */
    uint16_t *mask_tail;  /* popcount of the mask rows 6..7 */
    uint8_t *alive;       /* 0 = removed, awaiting compaction */
    size_t used;          /* slots in use (alive or not) */
    size_t removed;       /* slots not alive */
    size_t cap;
    uint64_t next_id;
    huella_iris_kernel kernel;
    /* scale[v] = sqrt(v / N0), exactly as huella_iris_normalise computes it. */
    double scale[HUELLA_IRIS_CODE_BITS + 1];
    /* root[v] = sqrt(v * N0), for the bounds only. */
    double root[HUELLA_IRIS_CODE_BITS + 1];
};

/* Kernel: for each of nshift rotated probes (SLOT_BYTES apart), the
 * counts over bytes [b0, b1) of the code (and the same bytes of the mask),
 * packed as disagree | valid << 16, stored in dv[s] (added to it when
 * add).  b0, b1 multiples of 64. */
typedef void (*counts_fn)(const uint8_t *tpl, const uint8_t *probes, unsigned nshift, unsigned b0,
                          unsigned b1, bool add, uint32_t *dv);

/* Both stages and the test between them for one template (see
 * search_shard), where a kernel has its own; NULL otherwise. */
typedef bool (*stages_fn)(const uint8_t *tpl, const uint8_t *probes, unsigned nshift,
                          const int32_t *limit, unsigned r, uint32_t *dv);

/* ---- portable kernel ---------------------------------------------------- */

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v); /* byte order is irrelevant to a popcount */
    return v;
}

static unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (unsigned)((x * 0x0101010101010101u) >> 56);
}

static void counts_portable(const uint8_t *tpl, const uint8_t *probes, unsigned nshift, unsigned b0,
                            unsigned b1, bool add, uint32_t *dv)
{
    for (unsigned s = 0; s < nshift; s++) {
        const uint8_t *p = probes + (size_t)s * SLOT_BYTES;
        unsigned d = 0, v = 0;
        for (unsigned o = b0; o < b1; o += 8) {
            uint64_t m =
                load64(tpl + HUELLA_IRIS_CODE_BYTES + o) & load64(p + HUELLA_IRIS_CODE_BYTES + o);
            d += popcount64((load64(tpl + o) ^ load64(p + o)) & m);
            v += popcount64(m);
        }
        dv[s] = (add ? dv[s] : 0) + (d | (v << 16));
    }
}

/* ---- x86 kernels --------------------------------------------------------- */

#if HUELLA_IRIS_X86

__attribute__((target("avx2,popcnt"))) static __m256i popcount_bytes256(__m256i x)
{
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                           2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_shuffle_epi8(table, _mm256_and_si256(x, low));
    __m256i hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
    return _mm256_add_epi8(lo, hi);
}

__attribute__((target("avx2,popcnt"))) static inline void
counts_avx2_n(const uint8_t *tpl, const uint8_t *probes, unsigned nshift, unsigned b0,
              unsigned chunks, bool add, uint32_t *dv)
{
    const __m256i zero = _mm256_setzero_si256();
    for (unsigned s = 0; s < nshift; s++) {
        const uint8_t *p = probes + (size_t)s * SLOT_BYTES + b0;
        const uint8_t *t = tpl + b0;
        /* Byte-wise counts: at most 8 chunks x 8 = 64 per byte, no overflow. */
        __m256i cd = zero, cv = zero;
        for (unsigned c = 0; c < chunks; c++) {
            __m256i tc = _mm256_load_si256((const __m256i *)(const void *)(t + 32 * c));
            __m256i tm = _mm256_load_si256(
                (const __m256i *)(const void *)(t + HUELLA_IRIS_CODE_BYTES + 32 * c));
            __m256i pc = _mm256_load_si256((const __m256i *)(const void *)(p + 32 * c));
            __m256i pm = _mm256_load_si256(
                (const __m256i *)(const void *)(p + HUELLA_IRIS_CODE_BYTES + 32 * c));
            __m256i m = _mm256_and_si256(tm, pm);
            __m256i x = _mm256_and_si256(_mm256_xor_si256(tc, pc), m);
            cd = _mm256_add_epi8(cd, popcount_bytes256(x));
            cv = _mm256_add_epi8(cv, popcount_bytes256(m));
        }
        __m256i t4 = _mm256_add_epi64(_mm256_sad_epu8(cd, zero),
                                      _mm256_slli_epi64(_mm256_sad_epu8(cv, zero), 32));
        __m128i h = _mm_add_epi64(_mm256_castsi256_si128(t4), _mm256_extracti128_si256(t4, 1));
        h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
        uint64_t sum = (uint64_t)_mm_cvtsi128_si64(h);
        dv[s] = (add ? dv[s] : 0) + ((uint32_t)(sum & 0xffffu) | ((uint32_t)(sum >> 32) << 16));
    }
}

/* CHUNKS is a constant in each call below, so the inner loop unrolls. */
__attribute__((target("avx2,popcnt"))) static void counts_avx2(const uint8_t *tpl,
                                                               const uint8_t *probes,
                                                               unsigned nshift, unsigned b0,
                                                               unsigned b1, bool add, uint32_t *dv)
{
    switch ((b1 - b0) / 32) {
    case 2:
        counts_avx2_n(tpl, probes, nshift, b0, 2, add, dv);
        break;
    case 6:
        counts_avx2_n(tpl, probes, nshift, b0, 6, add, dv);
        break;
    default:
        for (unsigned o = b0; o < b1; o += 64)
            counts_avx2_n(tpl, probes, nshift, o, 2, add || o > b0, dv);
        break;
    }
}

__attribute__((target("avx512f,avx512bw"))) static __m512i popcount_bytes512(__m512i x)
{
    const __m512i table =
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
    const __m512i low = _mm512_set1_epi8(0x0f);
    __m512i lo = _mm512_shuffle_epi8(table, _mm512_and_si512(x, low));
    __m512i hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(x, 4), low));
    return _mm512_add_epi8(lo, hi);
}

__attribute__((target("avx512f,avx512bw"))) static inline void
counts_avx512bw_n(const uint8_t *tpl, const uint8_t *probes, unsigned nshift, unsigned b0,
                  unsigned chunks, bool add, uint32_t *dv)
{
    const __m512i zero = _mm512_setzero_si512();
    for (unsigned s = 0; s < nshift; s++) {
        const uint8_t *p = probes + (size_t)s * SLOT_BYTES + b0;
        const uint8_t *t = tpl + b0;
        __m512i cd = zero, cv = zero;
        for (unsigned c = 0; c < chunks; c++) {
            __m512i tc = _mm512_load_si512((const void *)(t + 64 * c));
            __m512i tm = _mm512_load_si512((const void *)(t + HUELLA_IRIS_CODE_BYTES + 64 * c));
            __m512i pc = _mm512_load_si512((const void *)(p + 64 * c));
            __m512i pm = _mm512_load_si512((const void *)(p + HUELLA_IRIS_CODE_BYTES + 64 * c));
            __m512i m = _mm512_and_si512(tm, pm);
            __m512i x = _mm512_and_si512(_mm512_xor_si512(tc, pc), m);
            cd = _mm512_add_epi8(cd, popcount_bytes512(x));
            cv = _mm512_add_epi8(cv, popcount_bytes512(m));
        }
        __m512i t8 = _mm512_add_epi64(_mm512_sad_epu8(cd, zero),
                                      _mm512_slli_epi64(_mm512_sad_epu8(cv, zero), 32));
        uint64_t sum = (uint64_t)_mm512_reduce_add_epi64(t8);
        dv[s] = (add ? dv[s] : 0) + ((uint32_t)(sum & 0xffffu) | ((uint32_t)(sum >> 32) << 16));
    }
}

__attribute__((target("avx512f,avx512bw"))) static void
counts_avx512bw(const uint8_t *tpl, const uint8_t *probes, unsigned nshift, unsigned b0,
                unsigned b1, bool add, uint32_t *dv)
{
    switch ((b1 - b0) / 64) {
    case 1:
        counts_avx512bw_n(tpl, probes, nshift, b0, 1, add, dv);
        break;
    case 3:
        counts_avx512bw_n(tpl, probes, nshift, b0, 3, add, dv);
        break;
    default:
        for (unsigned o = b0; o < b1; o += 64)
            counts_avx512bw_n(tpl, probes, nshift, o, 1, add || o > b0, dv);
        break;
    }
}

/* Lane sums of eight vectors at once: lane j of the result is the sum of
 * the eight 64-bit lanes of a[j].  Three rounds of pairwise adds (within
 * 128-bit lanes, then across them), 21 instructions for eight sums where
 * eight separate horizontal reductions take about 48 and a scalar tail. */
__attribute__((target("avx512f"))) static inline __m512i sum_lanes8(const __m512i a[8])
{
    __m512i b[4], c[2];
    for (unsigned j = 0; j < 4; j++) /* [a0+a1, b0+b1, a2+a3, b2+b3, ...] */
        b[j] = _mm512_add_epi64(_mm512_unpacklo_epi64(a[2 * j], a[2 * j + 1]),
                                _mm512_unpackhi_epi64(a[2 * j], a[2 * j + 1]));
    for (unsigned j = 0; j < 2; j++) /* 128-bit lanes 0,2 of both plus 1,3 of both */
        c[j] = _mm512_add_epi64(_mm512_shuffle_i64x2(b[2 * j], b[2 * j + 1], 0x88),
                                _mm512_shuffle_i64x2(b[2 * j], b[2 * j + 1], 0xdd));
    return _mm512_add_epi64(_mm512_shuffle_i64x2(c[0], c[1], 0x88),
                            _mm512_shuffle_i64x2(c[0], c[1], 0xdd));
}

/* Counts of one shift over CHUNKS chunks: disagree in the low, valid in
 * the high half of each 64-bit lane (the lane sums are done later). */
__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m512i
shift_counts512(const __m512i *tc, const __m512i *tm, const uint8_t *p, unsigned chunks)
{
    __m512i ad = _mm512_setzero_si512(), av = _mm512_setzero_si512();
    for (unsigned c = 0; c < chunks; c++) {
        __m512i pc = _mm512_load_si512((const void *)(p + 64 * c));
        __m512i pm = _mm512_load_si512((const void *)(p + HUELLA_IRIS_CODE_BYTES + 64 * c));
        __m512i m = _mm512_and_si512(tm[c], pm);
        __m512i x = _mm512_and_si512(_mm512_xor_si512(tc[c], pc), m);
        ad = _mm512_add_epi64(ad, _mm512_popcnt_epi64(x));
        av = _mm512_add_epi64(av, _mm512_popcnt_epi64(m));
    }
    return _mm512_add_epi64(ad, _mm512_slli_epi64(av, 32));
}

/* The template's chunks are loaded once and stay in registers while the
 * rotated probes stream past; CHUNKS is a constant in each instance so the
 * loops unroll completely.  Shifts go eight at a time: each shift's counts
 * stay in a vector until sum_lanes8 reduces the eight together, and the
 * eight packed results go to dv in one 32-byte store (or load, add and
 * store when ADD); a last group of fewer than eight is reduced one by
 * one. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static inline void
counts_avx512_n(const uint8_t *tpl, const uint8_t *probes, unsigned nshift, unsigned b0,
                unsigned chunks, bool add, uint32_t *dv)
{
    __m512i tc[4], tm[4];
    for (unsigned c = 0; c < chunks; c++) {
        tc[c] = _mm512_load_si512((const void *)(tpl + b0 + 64 * c));
        tm[c] = _mm512_load_si512((const void *)(tpl + HUELLA_IRIS_CODE_BYTES + b0 + 64 * c));
    }
    const uint8_t *p = probes + b0;
    unsigned s = 0;
    for (; s + 8 <= nshift; s += 8) {
        __m512i acc[8];
        for (unsigned j = 0; j < 8; j++)
            acc[j] = shift_counts512(tc, tm, p + (size_t)(s + j) * SLOT_BYTES, chunks);
        __m512i tot = sum_lanes8(acc);
        /* d | v << 32 per lane (d, v < 2^16) to d | v << 16 in 32 bits */
        __m256i packed = _mm512_cvtepi64_epi32(_mm512_or_si512(tot, _mm512_srli_epi64(tot, 16)));
        if (add)
            packed = _mm256_add_epi32(packed,
                                      _mm256_loadu_si256((const __m256i *)(const void *)(dv + s)));
        _mm256_storeu_si256((__m256i *)(void *)(dv + s), packed);
    }
    for (; s < nshift; s++) {
        uint64_t sum = (uint64_t)_mm512_reduce_add_epi64(
            shift_counts512(tc, tm, p + (size_t)s * SLOT_BYTES, chunks));
        uint32_t packed = (uint32_t)(sum & 0xffffu) | ((uint32_t)(sum >> 32) << 16);
        dv[s] = add ? dv[s] + packed : packed;
    }
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static void
counts_avx512(const uint8_t *tpl, const uint8_t *probes, unsigned nshift, unsigned b0, unsigned b1,
              bool add, uint32_t *dv)
{
    switch ((b1 - b0) / 64) {
    case 1:
        counts_avx512_n(tpl, probes, nshift, b0, 1, add, dv);
        break;
    case 3:
        counts_avx512_n(tpl, probes, nshift, b0, 3, add, dv);
        break;
    case 4:
        counts_avx512_n(tpl, probes, nshift, b0, 4, add, dv);
        break;
    default:
        for (unsigned o = b0; o < b1; o += 64)
            counts_avx512_n(tpl, probes, nshift, o, 1, add || o > b0, dv);
        break;
    }
}

/* Both stages for one template, with the test between them in vectors:
 * rows 0-5 for every shift into dv; then, for each group of eight shifts,
 * the bound limit[v + r] gathered and compared with d; rows 6-7 are added
 * only if some shift passes.  Returns whether they were (the template can
 * still reach the cut); the same counts and the same decision as
 * counts_avx512 and the scalar test in search_shard. */
__attribute__((target("avx512f,avx512vl,avx512vpopcntdq,avx2"))) static bool
stages_avx512(const uint8_t *tpl, const uint8_t *probes, unsigned nshift, const int32_t *limit,
              unsigned r, uint32_t *dv)
{
    counts_avx512_n(tpl, probes, nshift, 0, STAGE1_BYTES / 64, false, dv);
    const __m256i low = _mm256_set1_epi32(0xffff), rr = _mm256_set1_epi32((int)r);
    bool needed = false;
    unsigned s = 0;
    for (; s + 8 <= nshift; s += 8) {
        __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(dv + s));
        __m256i idx = _mm256_add_epi32(_mm256_srli_epi32(c, 16), rr);
        __m256i lim = _mm256_i32gather_epi32((const int *)limit, idx, 4);
        needed |= _mm256_cmple_epi32_mask(_mm256_and_si256(c, low), lim) != 0;
    }
    for (; s < nshift; s++)
        needed |= (int32_t)(dv[s] & 0xffffu) <= limit[(dv[s] >> 16) + r];
    if (needed)
        counts_avx512_n(tpl, probes, nshift, STAGE1_BYTES, 1, true, dv);
    return needed;
}

#endif /* HUELLA_IRIS_X86 */

/* ---- kernel selection ---------------------------------------------------- */

bool huella_iris_kernel_supported(huella_iris_kernel kernel)
{
    switch (kernel) {
    case HUELLA_IRIS_KERNEL_AUTO:
    case HUELLA_IRIS_KERNEL_PORTABLE:
        return true;
#if HUELLA_IRIS_X86
    case HUELLA_IRIS_KERNEL_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    case HUELLA_IRIS_KERNEL_AVX512BW:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    case HUELLA_IRIS_KERNEL_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
#else
    case HUELLA_IRIS_KERNEL_AVX2:
    case HUELLA_IRIS_KERNEL_AVX512BW:
    case HUELLA_IRIS_KERNEL_AVX512:
        return false;
#endif
    }
    return false;
}

static huella_iris_kernel resolve_kernel(huella_iris_kernel kernel)
{
    if (kernel != HUELLA_IRIS_KERNEL_AUTO)
        return kernel;
    if (huella_iris_kernel_supported(HUELLA_IRIS_KERNEL_AVX512))
        return HUELLA_IRIS_KERNEL_AVX512;
    if (huella_iris_kernel_supported(HUELLA_IRIS_KERNEL_AVX512BW))
        return HUELLA_IRIS_KERNEL_AVX512BW;
    if (huella_iris_kernel_supported(HUELLA_IRIS_KERNEL_AVX2))
        return HUELLA_IRIS_KERNEL_AVX2;
    return HUELLA_IRIS_KERNEL_PORTABLE;
}

const char *huella_iris_kernel_name(huella_iris_kernel kernel)
{
    switch (resolve_kernel(kernel)) {
    case HUELLA_IRIS_KERNEL_PORTABLE:
        return "portable";
    case HUELLA_IRIS_KERNEL_AVX2:
        return "avx2";
    case HUELLA_IRIS_KERNEL_AVX512BW:
        return "avx512bw";
    case HUELLA_IRIS_KERNEL_AVX512:
        return "avx512-vpopcntdq";
    case HUELLA_IRIS_KERNEL_AUTO:
        break;
    }
    return "unknown";
}

static counts_fn kernel_function(huella_iris_kernel kernel)
{
    switch (resolve_kernel(kernel)) {
#if HUELLA_IRIS_X86
    case HUELLA_IRIS_KERNEL_AVX2:
        return counts_avx2;
    case HUELLA_IRIS_KERNEL_AVX512BW:
        return counts_avx512bw;
    case HUELLA_IRIS_KERNEL_AVX512:
        return counts_avx512;
#endif
    default:
        return counts_portable;
    }
}

static stages_fn stages_function(huella_iris_kernel kernel)
{
#if HUELLA_IRIS_X86
    if (resolve_kernel(kernel) == HUELLA_IRIS_KERNEL_AVX512 && __builtin_cpu_supports("avx512vl"))
        return stages_avx512;
#endif
    (void)kernel;
    return NULL;
}

huella_status huella_iris_gallery_set_kernel(huella_iris_gallery *g, huella_iris_kernel kernel,
                                             huella_error *err)
{
    if (!g)
        return huella_error_set(err, HUELLA_E_INPUT, "iris gallery: no gallery");
    if ((int)kernel < HUELLA_IRIS_KERNEL_AUTO || (int)kernel > HUELLA_IRIS_KERNEL_AVX512)
        return huella_error_set(err, HUELLA_E_INPUT, "iris gallery: kernel %d is not a kernel",
                                (int)kernel);
    if (!huella_iris_kernel_supported(kernel))
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "iris gallery: this CPU cannot run the %s kernel",
                                huella_iris_kernel_name(kernel));
    g->kernel = kernel;
    return HUELLA_OK;
}

/* ---- the gallery ---------------------------------------------------------- */

size_t huella_iris_gallery_bytes_per_template(void)
{
    return SLOT_BYTES + sizeof(uint64_t) + 2 * sizeof(uint16_t) + sizeof(uint8_t);
}

huella_status huella_iris_gallery_new(huella_iris_gallery **out, huella_error *err)
{
    if (!out)
        return huella_error_set(err, HUELLA_E_INPUT, "iris gallery: no output pointer");
    *out = NULL;
    huella_iris_gallery *g = calloc(1, sizeof *g);
    if (!g)
        return huella_error_set(err, HUELLA_E_NOMEM, "iris gallery: out of memory");
    g->next_id = 1;
    for (unsigned v = 0; v <= HUELLA_IRIS_CODE_BITS; v++) {
        g->scale[v] = sqrt((double)v / (double)HUELLA_IRIS_NORM_BITS);
        g->root[v] = sqrt((double)v * (double)HUELLA_IRIS_NORM_BITS);
    }
    *out = g;
    return HUELLA_OK;
}

void huella_iris_gallery_free(huella_iris_gallery *g)
{
    if (!g)
        return;
    free(g->slots);
    free(g->ids);
    free(g->mask_total);
    free(g->mask_tail);
    free(g->alive);
    free(g);
}

size_t huella_iris_gallery_count(const huella_iris_gallery *g)
{
    return g ? g->used - g->removed : 0;
}

static unsigned popcount_bytes(const uint8_t *p, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i += 8)
        c += popcount64(load64(p + i));
    return c;
}

static huella_status grow_to(huella_iris_gallery *g, size_t cap, huella_error *err)
{
    size_t slot_bytes;
    if (cap < g->cap || !huella_size_mul(cap, SLOT_BYTES, &slot_bytes))
        return huella_error_set(err, HUELLA_E_NOMEM, "iris gallery: too many templates");
    uint8_t *slots = aligned_alloc(64, slot_bytes);
    if (!slots)
        return huella_error_set(err, HUELLA_E_NOMEM,
                                "iris gallery: out of memory for %zu "
                                "templates",
                                cap);
    if (g->used)
        memcpy(slots, g->slots, g->used * SLOT_BYTES);
    uint64_t *ids = realloc(g->ids, cap * sizeof *ids);
    if (ids)
        g->ids = ids;
    uint16_t *total = realloc(g->mask_total, cap * sizeof *total);
    if (total)
        g->mask_total = total;
    uint16_t *tail = realloc(g->mask_tail, cap * sizeof *tail);
    if (tail)
        g->mask_tail = tail;
    uint8_t *alive = realloc(g->alive, cap);
    if (alive)
        g->alive = alive;
    if (!ids || !total || !tail || !alive) {
        free(slots);
        return huella_error_set(err, HUELLA_E_NOMEM, "iris gallery: out of memory");
    }
    free(g->slots);
    g->slots = slots;
    g->cap = cap;
    return HUELLA_OK;
}

static huella_status grow(huella_iris_gallery *g, huella_error *err)
{
    return grow_to(g, g->cap ? g->cap * 2 : 1024, err);
}

huella_status huella_iris_gallery_reserve(huella_iris_gallery *g, size_t n, huella_error *err)
{
    if (!g)
        return huella_error_set(err, HUELLA_E_INPUT, "iris gallery reserve: no gallery");
    return n > g->cap ? grow_to(g, n, err) : HUELLA_OK;
}

huella_status huella_iris_gallery_add(huella_iris_gallery *g, const huella_iris_code *code,
                                      uint64_t *id, huella_error *err)
{
    if (!g || !code)
        return huella_error_set(err, HUELLA_E_INPUT, "iris gallery add: no gallery or no code");
    if (g->used == g->cap) {
        huella_status st = grow(g, err);
        if (st != HUELLA_OK)
            return st;
    }
    size_t i = g->used;
    uint8_t *slot = g->slots + i * SLOT_BYTES;
    memcpy(slot, code->code, HUELLA_IRIS_CODE_BYTES);
    memcpy(slot + HUELLA_IRIS_CODE_BYTES, code->mask, HUELLA_IRIS_CODE_BYTES);
    g->ids[i] = g->next_id++;
    g->mask_total[i] = (uint16_t)popcount_bytes(code->mask, HUELLA_IRIS_CODE_BYTES);
    g->mask_tail[i] =
        (uint16_t)popcount_bytes(code->mask + STAGE1_BYTES, HUELLA_IRIS_CODE_BYTES - STAGE1_BYTES);
    g->alive[i] = 1;
    g->used++;
    if (id)
        *id = g->ids[i];
    return HUELLA_OK;
}

/* Squeeze out removed slots, keeping order (so ids stay ascending). */
static void compact(huella_iris_gallery *g)
{
    size_t w = 0;
    for (size_t r = 0; r < g->used; r++) {
        if (!g->alive[r])
            continue;
        if (w != r) {
            memcpy(g->slots + w * SLOT_BYTES, g->slots + r * SLOT_BYTES, SLOT_BYTES);
            g->ids[w] = g->ids[r];
            g->mask_total[w] = g->mask_total[r];
            g->mask_tail[w] = g->mask_tail[r];
            g->alive[w] = 1;
        }
        w++;
    }
    g->used = w;
    g->removed = 0;
}

huella_status huella_iris_gallery_remove(huella_iris_gallery *g, uint64_t id, huella_error *err)
{
    if (!g)
        return huella_error_set(err, HUELLA_E_INPUT, "iris gallery remove: no gallery");
    size_t lo = 0, hi = g->used;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == g->used || g->ids[lo] != id || !g->alive[lo])
        return huella_error_set(err, HUELLA_E_NOTFOUND,
                                "iris gallery remove: no template with id %llu",
                                (unsigned long long)id);
    g->alive[lo] = 0;
    g->removed++;
    /* Removal is a tombstone; the slots are reclaimed once a quarter of
     * them are dead, so that removal stays O(log n) amortised. */
    if (g->removed > 64 && g->removed * 4 > g->used)
        compact(g);
    return HUELLA_OK;
}

/* ---- search ----------------------------------------------------------------- */

/* Circular rotation of one row: out position i = in position i - shift. */
static void rotate_row(const uint8_t *in, uint8_t *out, unsigned shift)
{
    const unsigned row_bits = 2u * HUELLA_IRIS_COLS;
    unsigned offset = 2u * shift;
    memset(out, 0, HUELLA_IRIS_ROW_BYTES);
    for (unsigned k = 0; k < row_bits; k++) {
        unsigned src = (k + row_bits - offset) % row_bits;
        out[k / 8] |= (uint8_t)(((in[src / 8] >> (src % 8)) & 1u) << (k % 8));
    }
}

typedef struct candidate {
    double distance;
    uint64_t id;
    int shift;
    unsigned valid;
} candidate;

static bool better(const candidate *a, const candidate *b)
{
    return a->distance < b->distance || (a->distance == b->distance && a->id < b->id);
}

typedef struct shard {
    const huella_iris_gallery *g;
    const uint8_t *probes; /* nshift rotated probes, shift order -max..max */
    unsigned nshift;
    int max_shift;
    unsigned probe_total, probe_tail;
    counts_fn counts;
    stages_fn stages;
    atomic_size_t *next; /* the first slot no thread has taken yet */
    size_t used;         /* slots to search: [0, used) */
    size_t k;
    double threshold;
    candidate *top; /* sorted, best first */
    size_t n;
} shard;

static double cut_of(const shard *sh)
{
    if (sh->n == sh->k && sh->top[sh->k - 1].distance < sh->threshold)
        return sh->top[sh->k - 1].distance;
    return sh->threshold;
}

static void offer(shard *sh, const candidate *c)
{
    if (c->distance > sh->threshold)
        return;
    if (sh->n == sh->k && !better(c, &sh->top[sh->k - 1]))
        return;
    size_t i = sh->n < sh->k ? sh->n++ : sh->k - 1;
    while (i > 0 && better(c, &sh->top[i - 1])) {
        sh->top[i] = sh->top[i - 1];
        i--;
    }
    sh->top[i] = *c;
}

/*
 * The early exits rest on one table.  A shift with d disagreeing of v valid
 * bits can only reach the cut (the k-th best so far, or the threshold) if
 *   0.5 - (0.5 - d / v) sqrt(v / N0) <= cut,  that is
 *   d <= 0.5 v - (0.5 - cut) sqrt(v N0) =: limit(v)      (v >= the minimum)
 * and, below the minimum of valid bits, only if cut >= 1.0 (as every
 * distance is, since distances are clamped to 1.0).  limit[v] holds
 * that bound rounded down after adding 1e-6 (so rounding can only let a
 * candidate through, never turn one away), -1 when nothing passes.  The
 * exact distance is then computed for the shifts that pass.  Every index
 * read is at most the probe's mask popcount (valid bits are a subset of
 * the probe's mask, whose rows keep their popcount under rotation), so
 * only limit[0..probe_total] is filled: the table is refilled each time
 * the k-th best improves, hundreds of times per search at k = 100.
 *
 * After the first six rows a shift has counts d1, v1 and at most r more
 * valid bits to come (r = the smaller mask popcount of rows 6-7, which
 * rotation does not change).  Its final d >= d1 and v <= V = v1 + r; as
 * (0.5 v - d1) / sqrt(v) grows with v, if d1 > limit(V) no final v can
 * pass: when that holds for every shift the last two rows are skipped.
 * Before any row, the same test with d1 = 0 and V = the smaller mask
 * popcount skips the template altogether.
 */
static void fill_limits(const huella_iris_gallery *g, double cut, unsigned vtop, int32_t *limit)
{
    for (unsigned v = 0; v <= vtop; v++) {
        if (cut >= 1.0) { /* every distance is at most 1.0 */
            limit[v] = (int32_t)v;
            continue;
        }
        if (v < HUELLA_IRIS_MIN_VALID_BITS) {
            limit[v] = -1;
            continue;
        }
        double x = 0.5 * (double)v - (0.5 - cut) * g->root[v] + 1e-6;
        if (x >= (double)v)
            limit[v] = (int32_t)v;
        else if (x < 0.0)
            limit[v] = -1;
        else
            limit[v] = (int32_t)x; /* x >= 0: truncation is floor */
    }
}

/* Threads take the slots SEARCH_CHUNK at a time (2 MiB of templates) from
 * a shared counter, so that a thread slowed by other work on its core
 * takes fewer of them; each keeps its own top-k over what it took (the
 * merged top-k does not depend on who took what). */
#define SEARCH_CHUNK ((size_t)4096)

/* With a kernel of its own for both stages (see stages_fn), the first
 * SAMPLE templates of every chunk go through the two stages; if fewer than
 * half of them stopped after rows 0-5, the rest of the chunk is counted in
 * one pass over all rows, which costs less than the two stages of a
 * template that needs both (one load of the template, one reduction, no
 * test between them) and gives the same counts.  The cut at k = 100 in a
 * large gallery leaves most templates needing rows 6-7; at k = 10 most
 * stop. */
#define SAMPLE ((size_t)256)

static void *search_shard(void *arg)
{
    shard *sh = arg;
    const huella_iris_gallery *g = sh->g;
    uint32_t dv[MAX_SHIFTS];
    int32_t limit[HUELLA_IRIS_CODE_BITS + 1];
    double limit_cut = cut_of(sh);
    fill_limits(g, limit_cut, sh->probe_total, limit);
    for (;;) {
        size_t begin = atomic_fetch_add(sh->next, SEARCH_CHUNK);
        if (begin >= sh->used)
            break;
        size_t end = sh->used - begin < SEARCH_CHUNK ? sh->used : begin + SEARCH_CHUNK;
        size_t sampled = 0, exits = 0;
        bool full = false;
        for (size_t i = begin; i < end; i++) {
            if (!g->alive[i])
                continue;
            double cut = cut_of(sh);
            if (cut != limit_cut) {
                fill_limits(g, cut, sh->probe_total, limit);
                limit_cut = cut;
            }
            unsigned vmax = g->mask_total[i] < sh->probe_total ? g->mask_total[i] : sh->probe_total;
            if (limit[vmax] < 0)
                continue;
            const uint8_t *tpl = g->slots + i * SLOT_BYTES;
            unsigned r = g->mask_tail[i] < sh->probe_tail ? g->mask_tail[i] : sh->probe_tail;
            if (full) {
                sh->counts(tpl, sh->probes, sh->nshift, 0, HUELLA_IRIS_CODE_BYTES, false, dv);
            } else if (sh->stages) {
                bool needed = sh->stages(tpl, sh->probes, sh->nshift, limit, r, dv);
                exits += !needed;
                if (++sampled == SAMPLE)
                    full = exits * 2 < sampled;
                if (!needed)
                    continue;
            } else {
                sh->counts(tpl, sh->probes, sh->nshift, 0, STAGE1_BYTES, false, dv);
                bool needed = false;
                for (unsigned s = 0; s < sh->nshift; s++)
                    needed |= (int32_t)(dv[s] & 0xffffu) <= limit[(dv[s] >> 16) + r];
                if (!needed)
                    continue;
                sh->counts(tpl, sh->probes, sh->nshift, STAGE1_BYTES, HUELLA_IRIS_CODE_BYTES, true,
                           dv);
            }
            /* Same operations and tie rule as huella_iris_distance, over the
             * shifts that can reach the cut (the best one, if it can). */
            candidate c = {2.0, g->ids[i], 0, 0};
            for (unsigned s = 0; s < sh->nshift; s++) {
                unsigned d = dv[s] & 0xffffu, v = dv[s] >> 16;
                if ((int)d > limit[v])
                    continue;
                double hd = (v < HUELLA_IRIS_MIN_VALID_BITS || d > v)
                                ? 1.0
                                : 0.5 - (0.5 - (double)d / (double)v) * g->scale[v];
                if (hd > 1.0)
                    hd = 1.0;
                int shift = (int)s - sh->max_shift;
                int as = shift < 0 ? -shift : shift, ab = c.shift < 0 ? -c.shift : c.shift;
                if (hd < c.distance || (hd == c.distance && as < ab)) {
                    c.distance = hd;
                    c.shift = shift;
                    c.valid = v;
                }
            }
            if (c.distance <= 1.0)
                offer(sh, &c);
        }
    }
    return NULL;
}

huella_status huella_iris_gallery_search(const huella_iris_gallery *g,
                                         const huella_iris_code *probe, int max_shift, size_t k,
                                         double threshold, int threads, huella_iris_match *results,
                                         size_t *n_results, huella_error *err)
{
    if (n_results)
        *n_results = 0;
    if (!g || !probe || !n_results || (k > 0 && !results))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "iris search: missing gallery, probe or "
                                "results");
    if (max_shift < 0 || max_shift > MAX_SHIFT)
        return huella_error_set(err, HUELLA_E_INPUT, "iris search: max_shift %d is outside [0, %d]",
                                max_shift, MAX_SHIFT);
    if (isnan(threshold))
        return huella_error_set(err, HUELLA_E_INPUT, "iris search: threshold is not a number");
    if (k == 0 || g->used == 0)
        return HUELLA_OK;
    if (k > g->used)
        k = g->used;
    if (threads < 1)
        threads = 1;
    if (threads > 256)
        threads = 256;
    size_t nthreads = (size_t)threads;
    if (nthreads > g->used / 256 + 1)
        nthreads = g->used / 256 + 1;

    unsigned nshift = 2u * (unsigned)max_shift + 1u;
    uint8_t *probes = aligned_alloc(64, (size_t)MAX_SHIFTS * SLOT_BYTES);
    shard *shards = calloc(nthreads, sizeof *shards);
    candidate *tops = NULL;
    size_t top_count;
    if (huella_size_mul(nthreads, k, &top_count))
        tops = calloc(top_count, sizeof *tops);
    if (!probes || !shards || !tops) {
        free(probes);
        free(shards);
        free(tops);
        return huella_error_set(err, HUELLA_E_NOMEM, "iris search: out of memory");
    }
    for (unsigned s = 0; s < nshift; s++) {
        int shift = (int)s - max_shift;
        unsigned u = (unsigned)((shift % HUELLA_IRIS_COLS + HUELLA_IRIS_COLS) % HUELLA_IRIS_COLS);
        uint8_t *p = probes + (size_t)s * SLOT_BYTES;
        for (unsigned row = 0; row < HUELLA_IRIS_ROWS; row++) {
            size_t o = (size_t)row * HUELLA_IRIS_ROW_BYTES;
            rotate_row(probe->code + o, p + o, u);
            rotate_row(probe->mask + o, p + HUELLA_IRIS_CODE_BYTES + o, u);
        }
    }
    counts_fn counts = kernel_function(g->kernel);
    unsigned probe_total = popcount_bytes(probe->mask, HUELLA_IRIS_CODE_BYTES);
    unsigned probe_tail =
        popcount_bytes(probe->mask + STAGE1_BYTES, HUELLA_IRIS_CODE_BYTES - STAGE1_BYTES);

    pthread_t tid[256];
    size_t started = 0;
    atomic_size_t next;
    atomic_init(&next, 0);
    huella_status st = HUELLA_OK;
    for (size_t t = 0; t < nthreads; t++) {
        shard *sh = &shards[t];
        sh->g = g;
        sh->probes = probes;
        sh->nshift = nshift;
        sh->max_shift = max_shift;
        sh->probe_total = probe_total;
        sh->probe_tail = probe_tail;
        sh->counts = counts;
        sh->stages = stages_function(g->kernel);
        sh->next = &next;
        sh->used = g->used;
        sh->k = k;
        sh->threshold = threshold;
        sh->top = tops + t * k;
        if (t > 0) {
            if (pthread_create(&tid[t], NULL, search_shard, sh) != 0) {
                st = huella_error_set(err, HUELLA_E_INTERNAL,
                                      "iris search: cannot start thread %zu", t);
                break;
            }
            started = t;
        }
    }
    if (st == HUELLA_OK)
        search_shard(&shards[0]);
    for (size_t t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    if (st == HUELLA_OK) {
        /* Merge: fold every shard's list into shard 0's (k is small). */
        for (size_t t = 1; t < nthreads; t++)
            for (size_t j = 0; j < shards[t].n; j++)
                offer(&shards[0], &shards[t].top[j]);
        for (size_t j = 0; j < shards[0].n; j++) {
            results[j].id = shards[0].top[j].id;
            results[j].distance = shards[0].top[j].distance;
            results[j].shift = shards[0].top[j].shift;
            results[j].valid_bits = shards[0].top[j].valid;
        }
        *n_results = shards[0].n;
    }
    free(probes);
    free(shards);
    free(tops);
    return st;
}

huella_status huella_iris_search_counts(huella_iris_kernel kernel, const huella_iris_code *a,
                                        const huella_iris_code *b, int shift, unsigned *disagree,
                                        unsigned *valid, huella_error *err)
{
    if (!huella_iris_kernel_supported(kernel))
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "iris search: this CPU cannot run the %s kernel",
                                huella_iris_kernel_name(kernel));
    uint8_t *buf = aligned_alloc(64, 2 * SLOT_BYTES);
    if (!buf)
        return huella_error_set(err, HUELLA_E_NOMEM, "iris search: out of memory");
    /* The search loop rotates the probe, so a (rotated by -shift, that is
     * position i holding a[i - shift]) meets b unrotated: the same pairs as
     * huella_iris_hamming(a, b, shift). */
    unsigned u = (unsigned)((shift % HUELLA_IRIS_COLS + HUELLA_IRIS_COLS) % HUELLA_IRIS_COLS);
    uint8_t *tpl = buf, *probe = buf + SLOT_BYTES;
    memcpy(tpl, b->code, HUELLA_IRIS_CODE_BYTES);
    memcpy(tpl + HUELLA_IRIS_CODE_BYTES, b->mask, HUELLA_IRIS_CODE_BYTES);
    for (unsigned row = 0; row < HUELLA_IRIS_ROWS; row++) {
        size_t o = (size_t)row * HUELLA_IRIS_ROW_BYTES;
        rotate_row(a->code + o, probe + o, u);
        rotate_row(a->mask + o, probe + HUELLA_IRIS_CODE_BYTES + o, u);
    }
    uint32_t dv = 0;
    counts_fn counts = kernel_function(kernel);
    counts(tpl, probe, 1, 0, STAGE1_BYTES, false, &dv);
    counts(tpl, probe, 1, STAGE1_BYTES, HUELLA_IRIS_CODE_BYTES, true, &dv);
    free(buf);
    *disagree = dv & 0xffffu;
    *valid = dv >> 16;
    return HUELLA_OK;
}
