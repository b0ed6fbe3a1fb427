/*
 * wsq_encode.c - WSQ encoding (FBI IAFIS-IC-0110 v3).
 *
 * Contract: huella_wsq_encode writes a standard WSQ file of an 8-bit grey
 * image: SOI, a NISTCOM comment (size, depth, PPI, bit rate), the
 * transform table (the 9/7 analysis filters of §A.2), the quantisation
 * table, the frame header, then block 1 (subbands 0-18) with its own
 * Huffman table and blocks 2 and 3 (19-51, 52-59) sharing a second one,
 * and EOI.  The pixels are shifted by their mean and scaled to +/-128
 * (§A.1), decomposed into 64 subbands over the 20 transform steps of
 * figure A.1, and quantised with bin widths from the variance-based bit
 * allocation of annex B: subband variances over the central part of each
 * subband, the weights A_k and the size ratios m_k, and the iteration that
 * drops subbands whose bit rate would not be positive, for a target rate
 * in bits per pixel.  Zero bins are 1.2 times the bin width and C = 0.44.
 * Huffman tables are built from the data (ITU-T T.81 annex K.2, codes at
 * most 16 bits) over the WSQ symbol alphabet (zero runs 1-100, values
 * -73..74, 8- and 16-bit escapes).
 *
 * The bin widths, the shift and the scale are quantised to the decimal
 * form the file stores before they are used, so encoder and decoder work
 * with the same numbers.
 *
 * Relies on: formats/wsq_common.c (geometry, plans), src/base (buffers).
 */
#include "formats/wsq_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The 9/7 analysis filters (IAFIS-IC-0110 v3 table A.1), centre first. */
static const double LO_HALF[5] = {0.852698679009403, 0.377402855612654, -0.110624404418423,
                                  -0.023849465019380, 0.037828455506995};
static const double HI_HALF[4] = {0.788485616405664, -0.418092273222212, -0.040689417609558,
                                  0.064538882628938};

#define VARIANCE_THRESHOLD 1.01
#define MAX_INDEX          32767 /* largest quantiser index magnitude */

/* A number as the file stores it: value * 10^-scale with value below
 * `limit` (65535 for 16-bit fields, 2^32 - 1 for 32-bit ones) and as many
 * decimals as fit. */
static void to_scaled(double v, double limit, uint8_t *scale, uint32_t *value)
{
    *scale = 0;
    *value = 0;
    if (!(v > 0))
        return;
    if (v >= limit) {
        *value = (uint32_t)limit;
        return;
    }
    int s = 0;
    while (v * 10.0 < limit && s < 30) {
        v *= 10.0;
        s++;
    }
    double r = floor(v + 0.5);
    if (r > limit)
        r = limit;
    *scale = (uint8_t)s;
    *value = (uint32_t)r;
}

static float scaled16(double v, uint8_t *scale, uint16_t *value)
{
    uint32_t u;
    to_scaled(v, 65535.0, scale, &u);
    *value = (uint16_t)u;
    return wsq_descale(u, *scale);
}

/* ---- Huffman coding ---------------------------------------------------- */

/* Symbols of one block, with the extra bits of escapes. */
typedef struct sym_stream {
    uint8_t *sym;
    uint16_t *extra;
    size_t n, cap;
} sym_stream;

static bool push(sym_stream *s, int sym, unsigned extra)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint8_t *a = realloc(s->sym, cap);
        if (a == NULL)
            return false;
        s->sym = a;
        uint16_t *b = realloc(s->extra, cap * sizeof(uint16_t));
        if (b == NULL)
            return false;
        s->extra = b;
        s->cap = cap;
    }
    s->sym[s->n] = (uint8_t)sym;
    s->extra[s->n] = (uint16_t)extra;
    s->n++;
    return true;
}

static bool push_run(sym_stream *s, size_t run)
{
    while (run > 0) {
        size_t r = run > 65535 ? 65535 : run;
        bool ok;
        if (r <= 100)
            ok = push(s, (int)r, 0);
        else if (r <= 255)
            ok = push(s, 105, (unsigned)r);
        else
            ok = push(s, 106, (unsigned)r);
        if (!ok)
            return false;
        run -= r;
    }
    return true;
}

static bool symbols(const int32_t *q, size_t n, sym_stream *s)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t v = q[i];
        if (v == 0) {
            run++;
            continue;
        }
        if (!push_run(s, run))
            return false;
        run = 0;
        bool ok;
        if (v >= -73 && v <= 74)
            ok = push(s, 180 + v, 0);
        else if (v > 0)
            ok = v <= 255 ? push(s, 101, (unsigned)v) : push(s, 103, (unsigned)v);
        else
            ok = -v <= 255 ? push(s, 102, (unsigned)-v) : push(s, 104, (unsigned)-v);
        if (!ok)
            return false;
    }
    return push_run(s, run);
}

static int extra_bits(int sym)
{
    return sym == 101 || sym == 102 || sym == 105 ? 8 : sym >= 103 && sym <= 106 ? 16 : 0;
}

typedef struct huff_code {
    uint8_t bits[17];
    uint8_t values[256];
    int count;
    uint16_t code[256];
    uint8_t size[256];
} huff_code;

/* Code lengths from frequencies (T.81 K.2, with the reserved code point
 * that keeps the all-ones code unused) limited to 16 bits (K.3). */
static void build_code(const long freq_in[256], huff_code *h)
{
    long freq[257];
    int codesize[257], others[257];
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < 256; i++)
        freq[i] = freq_in[i];
    bool any = false;
    for (int i = 0; i < 256; i++)
        any = any || freq[i] > 0;
    if (!any)
        freq[1] = 1; /* an empty block still needs a table */
    freq[256] = 1;
    for (int i = 0; i < 257; i++) {
        codesize[i] = 0;
        others[i] = -1;
    }
    for (;;) {
        int c1 = -1, c2 = -1;
        for (int i = 0; i < 257; i++)
            if (freq[i] > 0 && (c1 < 0 || freq[i] <= freq[c1]))
                c1 = i;
        for (int i = 0; i < 257; i++)
            if (freq[i] > 0 && i != c1 && (c2 < 0 || freq[i] <= freq[c2]))
                c2 = i;
        if (c2 < 0)
            break;
        freq[c1] += freq[c2];
        freq[c2] = 0;
        codesize[c1]++;
        while (others[c1] >= 0) {
            c1 = others[c1];
            codesize[c1]++;
        }
        others[c1] = c2;
        codesize[c2]++;
        while (others[c2] >= 0) {
            c2 = others[c2];
            codesize[c2]++;
        }
    }
    int bits[40] = {0};
    for (int i = 0; i < 257; i++)
        if (codesize[i] > 0)
            bits[codesize[i] < 39 ? codesize[i] : 39]++;
    for (int i = 39; i > 16; i--) {
        while (bits[i] > 0) {
            int j = i - 2;
            while (bits[j] == 0)
                j--;
            bits[i] -= 2;
            bits[i - 1]++;
            bits[j + 1] += 2;
            bits[j]--;
        }
    }
    int i = 16;
    while (bits[i] == 0)
        i--;
    bits[i]--; /* drop the reserved code point */
    for (int l = 1; l <= 16; l++)
        h->bits[l] = (uint8_t)bits[l];
    /* Symbols sorted by code size, then by value. */
    int k = 0;
    for (int size = 1; size <= 38; size++)
        for (int s = 0; s < 256; s++)
            if (codesize[s] == size)
                h->values[k++] = (uint8_t)s;
    h->count = k;
    /* Canonical codes for the (possibly shortened) lengths. */
    int code = 0, v = 0;
    for (int l = 1; l <= 16; l++) {
        for (int c = 0; c < h->bits[l]; c++, v++) {
            h->code[h->values[v]] = (uint16_t)code++;
            h->size[h->values[v]] = (uint8_t)l;
        }
        code <<= 1;
    }
}

typedef struct bit_writer {
    huella_buf *b;
    uint32_t acc;
    int n;
} bit_writer;

static void put_bits(bit_writer *w, unsigned value, int count)
{
    for (int i = count - 1; i >= 0; i--) {
        w->acc = (w->acc << 1) | ((value >> i) & 1u);
        if (++w->n == 8) {
            huella_buf_append_u8(w->b, (uint8_t)w->acc);
            if ((w->acc & 0xff) == 0xff)
                huella_buf_append_u8(w->b, 0);
            w->acc = 0;
            w->n = 0;
        }
    }
}

static void flush_bits(bit_writer *w)
{
    while (w->n != 0)
        put_bits(w, 1, 1);
}

static void write_dht(huella_buf *b, int id, const huff_code *h)
{
    huella_buf_append_u16be(b, WSQ_DHT);
    huella_buf_append_u16be(b, (uint16_t)(2 + 1 + 16 + h->count));
    huella_buf_append_u8(b, (uint8_t)id);
    huella_buf_append(b, h->bits + 1, 16);
    huella_buf_append(b, h->values, (size_t)h->count);
}

static void write_block(huella_buf *b, int id, const sym_stream *s, const huff_code *h)
{
    huella_buf_append_u16be(b, WSQ_SOB);
    huella_buf_append_u16be(b, 3);
    huella_buf_append_u8(b, (uint8_t)id);
    bit_writer w = {b, 0, 0};
    for (size_t i = 0; i < s->n; i++) {
        int sym = s->sym[i];
        put_bits(&w, h->code[sym], h->size[sym]);
        int e = extra_bits(sym);
        if (e > 0)
            put_bits(&w, s->extra[i], e);
    }
    flush_bits(&w);
}

/* ---- analysis and bit allocation -------------------------------------- */

static huella_status decompose(float *plane, int width, const wsq_geometry *g, float *tmp,
                               huella_error *err)
{
    float lo[9], hi[7];
    for (int k = 0; k < 5; k++)
        lo[4 + k] = lo[4 - k] = (float)LO_HALF[k];
    for (int k = 0; k < 4; k++)
        hi[3 + k] = hi[3 - k] = (float)HI_HALF[k];
    size_t pitch = (size_t)width;
    float *scratch = malloc(pitch * sizeof(float));
    if (scratch == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "WSQ encoder: out of memory");
    huella_status st = HUELLA_OK;
    for (int node = 0; node < WSQ_NODES && st == HUELLA_OK; node++) {
        wsq_rect r = g->node[node];
        wsq_plan pc, pr;
        st = wsq_plan_analysis(&pc, r.h, g->inv_cl[node], lo, 9, hi, 7, err);
        if (st != HUELLA_OK)
            break;
        st = wsq_plan_analysis(&pr, r.w, g->inv_rw[node], lo, 9, hi, 7, err);
        if (st == HUELLA_OK) {
            float *base = plane + (size_t)r.y * pitch + (size_t)r.x;
            wsq_apply_columns(base, pitch, r.w, &pc, tmp);
            wsq_apply_rows(tmp, r.h, &pr, base, pitch, scratch);
        }
        wsq_plan_free(&pc);
        wsq_plan_free(&pr);
    }
    free(scratch);
    return st;
}

/* Variance of a subband, over its central part (annex B: from 1/8 of the
 * width and 9/32 of the height, 3/4 wide and 7/16 high) or all of it. */
static double band_variance(const float *plane, int width, wsq_rect r, bool central)
{
    int x0 = r.x, y0 = r.y, w = r.w, h = r.h;
    if (central) {
        x0 += r.w / 8;
        y0 += (9 * r.h) / 32;
        w = (3 * r.w) / 4;
        h = (7 * r.h) / 16;
    }
    double n = (double)w * (double)h;
    if (n < 2)
        return 0;
    double sum = 0, ssq = 0;
    for (int y = 0; y < h; y++) {
        const float *p = plane + (size_t)(y0 + y) * (size_t)width + (size_t)x0;
        for (int x = 0; x < w; x++) {
            sum += p[x];
            ssq += (double)p[x] * p[x];
        }
    }
    return (ssq - sum * sum / n) / (n - 1.0);
}

/* Bin widths Q_k for a target rate r in bits per pixel (annex B). */
static void allocate_bits(const double var[WSQ_CODED_BANDS], double rate,
                          double q_out[WSQ_CODED_BANDS])
{
    double a[WSQ_CODED_BANDS], m[WSQ_CODED_BANDS], sigma[WSQ_CODED_BANDS], q1[WSQ_CODED_BANDS];
    static const double a3[8] = {1.32, 1.08, 1.42, 1.08, 1.32, 1.42, 1.08, 1.08};
    bool in_k0[WSQ_CODED_BANDS], in_k[WSQ_CODED_BANDS];
    for (int k = 0; k < WSQ_CODED_BANDS; k++) {
        a[k] = k >= WSQ_BLOCK3 ? a3[k - WSQ_BLOCK3] : 1.0;
        m[k] = k < 4 ? 1.0 / 1024.0 : k < 51 ? 1.0 / 256.0 : 1.0 / 16.0;
        in_k0[k] = in_k[k] = var[k] >= VARIANCE_THRESHOLD;
        sigma[k] = in_k0[k] ? sqrt(var[k]) : 0;
        q1[k] = !in_k0[k] ? 0 : k < 4 ? 1.0 : 10.0 / (a[k] * log(var[k]));
        q_out[k] = 0;
    }
    double q = 0;
    for (;;) {
        double s = 0, logp = 0;
        for (int k = 0; k < WSQ_CODED_BANDS; k++)
            if (in_k[k]) {
                s += m[k];
                logp += m[k] * log(sigma[k] / q1[k]);
            }
        if (s <= 0)
            break;
        q = (pow(2.0, rate / s - 1.0) / 2.5) / exp(logp / s);
        bool dropped = false;
        for (int k = 0; k < WSQ_CODED_BANDS; k++)
            if (in_k[k] && q1[k] / q >= 5.0 * sigma[k]) {
                in_k[k] = false;
                dropped = true;
            }
        if (!dropped)
            break;
    }
    if (q <= 0)
        return;
    for (int k = 0; k < WSQ_CODED_BANDS; k++)
        q_out[k] = in_k0[k] ? q1[k] / q : 0;
}

/* ---- the file ---------------------------------------------------------- */

static void write_scaled32(huella_buf *b, double v)
{
    uint8_t scale;
    uint32_t value;
    huella_buf_append_u8(b, v < 0 ? 1 : 0);
    to_scaled(fabs(v), 4294967295.0, &scale, &value);
    huella_buf_append_u8(b, scale);
    huella_buf_append_u32be(b, value);
}

huella_status huella_wsq_encode(const huella_image *img, double bitrate, int ppi, uint8_t **out,
                                size_t *len, huella_error *err)
{
    if (out == NULL || len == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ encoder: no output pointer");
    *out = NULL;
    *len = 0;
    if (img == NULL || img->pixels == NULL || img->width == 0 || img->height == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ encoder: no image");
    if (img->width > 65535 || img->height > 65535)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "WSQ encoder: image %u x %u is larger than WSQ's 65535 x 65535",
                                (unsigned)img->width, (unsigned)img->height);
    if (bitrate == 0)
        bitrate = HUELLA_WSQ_DEFAULT_BITRATE;
    if (!(bitrate > 0 && bitrate <= 8))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "WSQ encoder: bit rate %g is outside (0, 8] bits per pixel",
                                bitrate);
    if (ppi == 0)
        ppi = img->ppi_x > 0 ? (int)lround(img->ppi_x) : -1;
    int width = (int)img->width, height = (int)img->height;
    size_t npix = (size_t)width * (size_t)height;

    wsq_geometry g;
    wsq_build_geometry(width, height, &g);
    /* Decoders walk each subband with the filters and may not step out of
     * it: refuse sizes whose shortest lines are too short for that (the
     * synthesis plans tell), before doing any work. */
    float syn_lo[7] = {0}, syn_hi[9] = {0};
    for (int node = 0; node < WSQ_NODES; node++) {
        wsq_rect r = g.node[node];
        wsq_plan p;
        huella_error ignored;
        bool ok = r.w >= 2 && r.h >= 2;
        if (ok &&
            wsq_plan_build(&p, r.w, g.inv_rw[node], syn_lo, 7, syn_hi, 9, &ignored) == HUELLA_OK) {
            wsq_plan_free(&p);
            ok = wsq_plan_build(&p, r.h, g.inv_cl[node], syn_lo, 7, syn_hi, 9, &ignored) ==
                 HUELLA_OK;
            wsq_plan_free(&p);
        } else {
            ok = false;
        }
        if (!ok)
            return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                    "WSQ encoder: image %d x %d is too small for the five "
                                    "levels of the transform",
                                    width, height);
    }

    float *plane = malloc(npix * sizeof(float));
    float *tmp = malloc(npix * sizeof(float));
    int32_t *coeffs = malloc(npix * sizeof(int32_t));
    sym_stream blocks[3];
    memset(blocks, 0, sizeof(blocks));
    huella_buf b;
    huella_buf_init(&b);
    huella_status st = HUELLA_OK;
    if (plane == NULL || tmp == NULL || coeffs == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "WSQ encoder: out of memory");
        goto done;
    }

    /* Shift and scale (§A.1), as the file will state them. */
    uint64_t sum = 0;
    unsigned lowest = 255, highest = 0;
    for (size_t i = 0; i < npix; i++) {
        unsigned v = img->pixels[i];
        sum += v;
        lowest = v < lowest ? v : lowest;
        highest = v > highest ? v : highest;
    }
    double mean = (double)sum / (double)npix;
    double spread = fmax(mean - lowest, highest - mean) / 128.0;
    if (spread <= 0)
        spread = 1.0;
    uint8_t ms_scale, rs_scale;
    uint16_t ms_value, rs_value;
    float m_shift = scaled16(mean, &ms_scale, &ms_value);
    float r_scale = scaled16(spread, &rs_scale, &rs_value);
    if (r_scale <= 0) {
        st = huella_error_set(err, HUELLA_E_INTERNAL, "WSQ encoder: scale rounds to zero");
        goto done;
    }
    for (size_t i = 0; i < npix; i++)
        plane[i] = ((float)img->pixels[i] - m_shift) / r_scale;

    if ((st = decompose(plane, width, &g, tmp, err)) != HUELLA_OK)
        goto done;

    double var[WSQ_CODED_BANDS], qd[WSQ_CODED_BANDS];
    double vsum = 0;
    for (int k = 0; k < 4; k++) {
        var[k] = band_variance(plane, width, g.band[k], true);
        vsum += var[k];
    }
    bool central = vsum >= 20000.0;
    for (int k = central ? 4 : 0; k < WSQ_CODED_BANDS; k++)
        var[k] = band_variance(plane, width, g.band[k], central);
    allocate_bits(var, bitrate, qd);

    uint8_t q_scale[WSQ_SUBBANDS] = {0}, z_scale[WSQ_SUBBANDS] = {0};
    uint16_t q_value[WSQ_SUBBANDS] = {0}, z_value[WSQ_SUBBANDS] = {0};
    float q[WSQ_SUBBANDS] = {0}, z[WSQ_SUBBANDS] = {0};
    for (int k = 0; k < WSQ_CODED_BANDS; k++) {
        if (qd[k] <= 0)
            continue;
        /* At very high rates the bins get so narrow that indices would
         * not fit the 16-bit integers decoders keep them in: widen the
         * bins of such a subband just enough. */
        wsq_rect r = g.band[k];
        float peak = 0;
        for (int y = 0; y < r.h; y++) {
            const float *row = plane + (size_t)(r.y + y) * (size_t)width + (size_t)r.x;
            for (int x = 0; x < r.w; x++)
                peak = fmaxf(peak, fabsf(row[x]));
        }
        if (peak / qd[k] > MAX_INDEX - 2)
            qd[k] = peak / (MAX_INDEX - 2);
        q[k] = scaled16(qd[k], &q_scale[k], &q_value[k]);
        z[k] = scaled16(1.2 * qd[k], &z_scale[k], &z_value[k]);
        if (q[k] <= 0)
            q[k] = z[k] = 0, q_value[k] = z_value[k] = 0, q_scale[k] = z_scale[k] = 0;
    }

    /* Quantisation (§A.3) into one stream per block. */
    size_t filled = 0, block_start[4] = {0};
    for (int k = 0; k < WSQ_CODED_BANDS; k++) {
        if (k == WSQ_BLOCK2)
            block_start[1] = filled;
        if (k == WSQ_BLOCK3)
            block_start[2] = filled;
        if (q[k] == 0.0f)
            continue;
        wsq_rect r = g.band[k];
        float half = z[k] / 2.0f, qk = q[k];
        for (int y = 0; y < r.h; y++) {
            const float *row = plane + (size_t)(r.y + y) * (size_t)width + (size_t)r.x;
            int32_t *dst = coeffs + filled;
            for (int x = 0; x < r.w; x++) {
                /* Outside the zero bin, 1 + the whole bins beyond it. */
                float v = row[x];
                float m = (fabsf(v) - half) / qk + 1.0f;
                m = m < 0.0f ? 0.0f : m > (float)MAX_INDEX ? (float)MAX_INDEX : m;
                int32_t iv = fabsf(v) <= half ? 0 : (int32_t)m;
                dst[x] = v < 0 ? -iv : iv;
            }
            filled += (size_t)r.w;
        }
    }
    block_start[3] = filled;
    for (int k = 0; k < 3; k++)
        if (!symbols(coeffs + block_start[k], block_start[k + 1] - block_start[k], &blocks[k])) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "WSQ encoder: out of memory");
            goto done;
        }

    long freq[2][256];
    memset(freq, 0, sizeof(freq));
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < blocks[k].n; i++)
            freq[k == 0 ? 0 : 1][blocks[k].sym[i]]++;
    huff_code codes[2];
    build_code(freq[0], &codes[0]);
    build_code(freq[1], &codes[1]);

    /* SOI and NISTCOM. */
    huella_buf_append_u16be(&b, WSQ_SOI);
    char com[512];
    int cn = snprintf(com, sizeof(com),
                      "NIST_COM 9\nPIX_WIDTH %d\nPIX_HEIGHT %d\nPIX_DEPTH 8\nPPI %d\nLOSSY 1\n"
                      "COLORSPACE GRAY\nCOMPRESSION WSQ\nWSQ_BITRATE %f",
                      width, height, ppi, bitrate);
    huella_buf_append_u16be(&b, WSQ_COM);
    huella_buf_append_u16be(&b, (uint16_t)(cn + 2));
    huella_buf_append(&b, com, (size_t)cn);

    /* DTT: analysis lowpass (9 taps) then highpass (7), centre first. */
    huella_buf_append_u16be(&b, WSQ_DTT);
    huella_buf_append_u16be(&b, 2 + 2 + 6 * (5 + 4));
    huella_buf_append_u8(&b, 9);
    huella_buf_append_u8(&b, 7);
    for (int k = 0; k < 5; k++)
        write_scaled32(&b, LO_HALF[k]);
    for (int k = 0; k < 4; k++)
        write_scaled32(&b, HI_HALF[k]);

    /* DQT: C = 0.44, then Q and Z of the 64 subbands. */
    huella_buf_append_u16be(&b, WSQ_DQT);
    huella_buf_append_u16be(&b, 2 + 3 + 6 * WSQ_SUBBANDS);
    huella_buf_append_u8(&b, 2);
    huella_buf_append_u16be(&b, 44);
    for (int k = 0; k < WSQ_SUBBANDS; k++) {
        huella_buf_append_u8(&b, q_scale[k]);
        huella_buf_append_u16be(&b, q_value[k]);
        huella_buf_append_u8(&b, z_scale[k]);
        huella_buf_append_u16be(&b, z_value[k]);
    }

    /* SOF. */
    huella_buf_append_u16be(&b, WSQ_SOF);
    huella_buf_append_u16be(&b, 17);
    huella_buf_append_u8(&b, 0);
    huella_buf_append_u8(&b, 255);
    huella_buf_append_u16be(&b, (uint16_t)height);
    huella_buf_append_u16be(&b, (uint16_t)width);
    huella_buf_append_u8(&b, ms_scale);
    huella_buf_append_u16be(&b, ms_value);
    huella_buf_append_u8(&b, rs_scale);
    huella_buf_append_u16be(&b, rs_value);
    huella_buf_append_u8(&b, 0);
    huella_buf_append_u16be(&b, 0);

    write_dht(&b, 0, &codes[0]);
    write_block(&b, 0, &blocks[0], &codes[0]);
    write_dht(&b, 1, &codes[1]);
    write_block(&b, 1, &blocks[1], &codes[1]);
    write_block(&b, 1, &blocks[2], &codes[1]);
    huella_buf_append_u16be(&b, WSQ_EOI);
    if (!b.ok) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "WSQ encoder: out of memory");
        goto done;
    }
    *out = b.data;
    *len = b.len;
    b.data = NULL;
done:
    huella_buf_free(&b);
    for (int k = 0; k < 3; k++) {
        free(blocks[k].sym);
        free(blocks[k].extra);
    }
    free(plane);
    free(tmp);
    free(coeffs);
    return st;
}
