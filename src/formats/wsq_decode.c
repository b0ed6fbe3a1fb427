/*
 * wsq_decode.c - WSQ decoding (FBI IAFIS-IC-0110 v3) and segment info.
 *
 * Contract: huella_image_decode_wsq reads SOI, then tables (DTT, DQT, DHT)
 * and comments (COM, NISTCOM) in any order, the frame header (SOF), and
 * three Huffman-coded blocks (SOB), each possibly preceded by new tables,
 * up to EOI.  It decodes the quantised coefficients of subbands 0-59,
 * dequantises them with the bin-centre parameter C (§A.4:
 * y = Q (p - C) + Z / 2 for p > 0, Q (p + C) - Z / 2 for p < 0), runs the
 * 9/7 synthesis over the 20 transform steps and scales back to 8 bits
 * with the frame's shift and scale, rounding half up.  Every arithmetic
 * step is done in the precision and order of the NIST reference decoder
 * (float samples, double where the reference promotes), so the output is
 * pixel for pixel the reference's; tests/test_wsq.c checks it on every
 * shared file.
 *
 * Every read is bounded; sizes are checked against the caller's limits
 * before the pixel planes are allocated; a damaged file fails with
 * HUELLA_E_INPUT and a message naming the marker or segment.  Each block
 * must hold exactly the coefficients its subbands need.
 *
 * Relies on: formats/wsq_common.c (geometry, synthesis plans),
 * src/base (reader, errors), src/image (image allocation).
 */
#include "formats/wsq_internal.h"
#include "image/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WSQ_HUFF_TABLES 8
#define HUFF_LUT_BITS   9

typedef struct huff_table {
    bool defined;
    uint8_t bits[17]; /* bits[l]: codes of length l, 1..16 */
    uint8_t values[256];
    int maxcode[18]; /* -1 when no code of that length */
    int mincode[17];
    int valptr[17];
    /* The codes of up to HUFF_LUT_BITS bits by their first bits:
     * value | length << 8, 0 for longer codes. */
    uint16_t lut[1u << HUFF_LUT_BITS];
} huff_table;

typedef struct wsq_dec {
    const uint8_t *data;
    size_t len;
    huella_reader r;
    huella_wsq_info *info;
    bool have_dtt, have_dqt, have_sof;
    int lsz, hsz; /* synthesis lowpass and highpass lengths */
    float lo[WSQ_MAX_TAPS];
    float hi[WSQ_MAX_TAPS];
    float bin_center;
    float q[WSQ_SUBBANDS];
    float z[WSQ_SUBBANDS];
    huff_table huff[WSQ_HUFF_TABLES];
    int width, height;
    float m_shift, r_scale;
} wsq_dec;

static const char *marker_name(unsigned m)
{
    switch (m) {
    case WSQ_SOI:
        return "SOI";
    case WSQ_EOI:
        return "EOI";
    case WSQ_SOF:
        return "SOF";
    case WSQ_SOB:
        return "SOB";
    case WSQ_DTT:
        return "DTT";
    case WSQ_DQT:
        return "DQT";
    case WSQ_DHT:
        return "DHT";
    case WSQ_DRT:
        return "DRT";
    case WSQ_COM:
        return "COM";
    default:
        return "unknown";
    }
}

static huella_status truncated(huella_error *err, const char *segment, size_t offset)
{
    return huella_error_set(err, HUELLA_E_INPUT, "WSQ: %s segment at offset %zu is truncated",
                            segment, offset);
}

/* Read a segment's length and return a reader over its body. */
static huella_status segment_body(wsq_dec *d, unsigned marker, huella_reader *body,
                                  huella_error *err)
{
    size_t at = d->r.pos - 2;
    uint16_t n;
    if (!huella_read_u16be(&d->r, &n))
        return truncated(err, marker_name(marker), at);
    if (n < 2)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "WSQ: %s segment at offset %zu declares length %u (below 2)",
                                marker_name(marker), at, (unsigned)n);
    if ((size_t)n - 2 > huella_reader_left(&d->r))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "WSQ: %s segment at offset %zu declares %u bytes but only %zu "
                                "remain",
                                marker_name(marker), at, (unsigned)n,
                                huella_reader_left(&d->r) + 2);
    huella_reader_init(body, d->data + d->r.pos, (size_t)n - 2);
    d->r.pos += (size_t)n - 2;
    return HUELLA_OK;
}

static huella_status read_dtt(wsq_dec *d, huella_reader *b, huella_error *err)
{
    uint8_t first, second;
    if (!huella_read_u8(b, &first) || !huella_read_u8(b, &second))
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: DTT segment is truncated");
    /* The file holds the analysis filters, lowpass (`first` taps) then
     * highpass, as their centre and one side; the synthesis filters are
     * them with alternating signs, the highpass from the lowpass and
     * the lowpass from the highpass (§A.2). */
    if (first % 2 == 0 || second % 2 == 0 || first > WSQ_MAX_TAPS || second > WSQ_MAX_TAPS)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "WSQ: DTT segment declares filters of %u and %u taps; huella "
                                "supports odd lengths up to %d",
                                (unsigned)first, (unsigned)second, WSQ_MAX_TAPS);
    for (int f = 0; f < 2; f++) {
        int size = f == 0 ? first : second;
        float *out = f == 0 ? d->hi : d->lo;
        int half = (size + 1) / 2, centre = half - 1;
        for (int k = 0; k < half; k++) {
            uint8_t sign, scale;
            uint32_t v;
            if (!huella_read_u8(b, &sign) || !huella_read_u8(b, &scale) ||
                !huella_read_u32be(b, &v))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "WSQ: DTT segment is truncated in coefficient %d of "
                                        "the %s filter",
                                        k, f == 0 ? "lowpass" : "highpass");
            float a = wsq_descale(v, scale);
            if (sign != 0)
                a = -a;
            float c = (k % 2 == 0) ? a : -a;
            out[centre + k] = c;
            out[centre - k] = c;
        }
    }
    d->hsz = first;
    d->lsz = second;
    d->have_dtt = true;
    if (d->info != NULL) {
        d->info->filter_lo = first;
        d->info->filter_hi = second;
    }
    return HUELLA_OK;
}

static huella_status read_dqt(wsq_dec *d, huella_reader *b, huella_error *err)
{
    uint8_t scale;
    uint16_t v;
    if (!huella_read_u8(b, &scale) || !huella_read_u16be(b, &v))
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: DQT segment is truncated");
    d->bin_center = wsq_descale(v, scale);
    for (int k = 0; k < WSQ_SUBBANDS; k++) {
        uint8_t s1, s2;
        uint16_t v1, v2;
        if (!huella_read_u8(b, &s1) || !huella_read_u16be(b, &v1) || !huella_read_u8(b, &s2) ||
            !huella_read_u16be(b, &v2))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "WSQ: DQT segment is truncated at subband %d", k);
        d->q[k] = wsq_descale(v1, s1);
        d->z[k] = wsq_descale(v2, s2);
    }
    d->have_dqt = true;
    if (d->info != NULL)
        d->info->bin_center = d->bin_center;
    return HUELLA_OK;
}

static huella_status read_dht(wsq_dec *d, huella_reader *b, huella_error *err)
{
    if (huella_reader_left(b) == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: DHT segment is empty");
    while (huella_reader_left(b) > 0) {
        uint8_t id;
        huella_read_u8(b, &id);
        if (id >= WSQ_HUFF_TABLES)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "WSQ: DHT segment defines table %u (0-%d allowed)",
                                    (unsigned)id, WSQ_HUFF_TABLES - 1);
        huff_table *t = &d->huff[id];
        memset(t, 0, sizeof(*t));
        int total = 0;
        for (int l = 1; l <= 16; l++) {
            if (!huella_read_u8(b, &t->bits[l]))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "WSQ: DHT segment is truncated in table %u", (unsigned)id);
            total += t->bits[l];
        }
        if (total == 0 || total > 256)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "WSQ: DHT table %u declares %d codes (1-256 allowed)",
                                    (unsigned)id, total);
        if (!huella_read_bytes(b, t->values, (size_t)total))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "WSQ: DHT segment is truncated in the values of table %u",
                                    (unsigned)id);
        /* Canonical codes, as JPEG (ITU-T T.81 annex C). */
        int code = 0, k = 0;
        for (int l = 1; l <= 16; l++) {
            t->valptr[l] = k;
            t->mincode[l] = code;
            code += t->bits[l];
            k += t->bits[l];
            if (code > (1 << l))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "WSQ: DHT table %u has more codes of length %d than fit",
                                        (unsigned)id, l);
            t->maxcode[l] = t->bits[l] ? code - 1 : -1;
            code <<= 1;
        }
        t->maxcode[17] = 0x7fffffff;
        for (int l = 1; l <= HUFF_LUT_BITS; l++)
            for (int c = 0; c < t->bits[l]; c++) {
                unsigned first = (unsigned)(t->mincode[l] + c) << (HUFF_LUT_BITS - l);
                unsigned e = t->values[t->valptr[l] + c] | (unsigned)l << 8;
                for (unsigned i = 0; i < 1u << (HUFF_LUT_BITS - l); i++)
                    t->lut[first + i] = (uint16_t)e;
            }
        t->defined = true;
    }
    return HUELLA_OK;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* NISTCOM: lines "NAME VALUE", the first "NIST_COM count". */
static void read_com(wsq_dec *d, huella_reader *b)
{
    huella_wsq_info *info = d->info;
    if (info == NULL)
        return;
    info->comments++;
    const char *text = (const char *)(b->data + b->pos);
    size_t n = huella_reader_left(b);
    if (n < 8 || memcmp(text, "NIST_COM", 8) != 0)
        return;
    size_t i = 0;
    while (i < n && info->field_count < HUELLA_WSQ_MAX_FIELDS) {
        size_t e = i;
        while (e < n && text[e] != '\n' && text[e] != '\0')
            e++;
        size_t s = i;
        while (s < e && text[s] != ' ' && text[s] != '\t')
            s++;
        if (s > i) {
            unsigned f = info->field_count;
            size_t kn =
                s - i < sizeof(info->field_name[0]) ? s - i : sizeof(info->field_name[0]) - 1;
            memcpy(info->field_name[f], text + i, kn);
            info->field_name[f][kn] = '\0';
            size_t v = s < e ? s + 1 : e;
            size_t vn =
                e - v < sizeof(info->field_value[0]) ? e - v : sizeof(info->field_value[0]) - 1;
            memcpy(info->field_value[f], text + v, vn);
            info->field_value[f][vn] = '\0';
            trim(info->field_value[f]);
            if (strcmp(info->field_name[f], "PPI") == 0) {
                char *end;
                long ppi = strtol(info->field_value[f], &end, 10);
                if (end != info->field_value[f] && ppi >= -1 && ppi <= 100000 && info->ppi == -1)
                    info->ppi = (int)ppi;
            }
            info->field_count++;
        }
        if (e < n && text[e] == '\0')
            break;
        i = e + 1;
    }
}

static huella_status read_sof(wsq_dec *d, huella_reader *b, huella_error *err)
{
    uint8_t black, white, s1, s2, encoder;
    uint16_t h, w, v1, v2, software;
    if (!huella_read_u8(b, &black) || !huella_read_u8(b, &white) || !huella_read_u16be(b, &h) ||
        !huella_read_u16be(b, &w) || !huella_read_u8(b, &s1) || !huella_read_u16be(b, &v1) ||
        !huella_read_u8(b, &s2) || !huella_read_u16be(b, &v2) || !huella_read_u8(b, &encoder) ||
        !huella_read_u16be(b, &software))
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: SOF segment is truncated");
    if (w == 0 || h == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: SOF declares an empty image %u x %u",
                                (unsigned)w, (unsigned)h);
    d->width = w;
    d->height = h;
    d->m_shift = wsq_descale(v1, s1);
    d->r_scale = wsq_descale(v2, s2);
    d->have_sof = true;
    if (d->info != NULL) {
        d->info->width = w;
        d->info->height = h;
        d->info->black = black;
        d->info->white = white;
        d->info->m_shift = d->m_shift;
        d->info->r_scale = d->r_scale;
        d->info->encoder = encoder;
        d->info->software = software;
    }
    return HUELLA_OK;
}

static huella_status read_marker(wsq_dec *d, unsigned *marker, const char *where, huella_error *err)
{
    size_t at = d->r.pos;
    uint16_t m;
    if (!huella_read_u16be(&d->r, &m))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "WSQ: file ends at offset %zu %s (no EOI marker)", at, where);
    if (m < WSQ_SOI || m > WSQ_COM)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "WSQ: expected a marker at offset %zu %s, found %02x %02x", at,
                                where, (unsigned)(m >> 8), (unsigned)(m & 0xff));
    *marker = m;
    return HUELLA_OK;
}

static huella_status read_soi(wsq_dec *d, huella_error *err)
{
    uint16_t m;
    if (!huella_read_u16be(&d->r, &m) || m != WSQ_SOI)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "WSQ: the file does not start with the SOI marker ff a0");
    return HUELLA_OK;
}

/* A table or comment segment; anything else is an error. */
static huella_status read_table(wsq_dec *d, unsigned marker, huella_error *err)
{
    huella_reader body;
    size_t at = d->r.pos - 2;
    huella_status st = segment_body(d, marker, &body, err);
    if (st != HUELLA_OK)
        return st;
    switch (marker) {
    case WSQ_DTT:
        return read_dtt(d, &body, err);
    case WSQ_DQT:
        return read_dqt(d, &body, err);
    case WSQ_DHT:
        return read_dht(d, &body, err);
    case WSQ_COM:
        read_com(d, &body);
        return HUELLA_OK;
    default:
        return huella_error_set(err, HUELLA_E_INPUT,
                                "WSQ: unexpected %s marker at offset %zu among the tables",
                                marker_name(marker), at);
    }
}

/* ---- entropy-coded data --------------------------------------------- */

typedef struct bits {
    const uint8_t *p, *end; /* end: the marker that closes the block */
    uint64_t acc;           /* the low n bits are the next ones */
    int n;
} bits;

static inline void refill(bits *b)
{
    while (b->n <= 56 && b->p < b->end) {
        uint8_t v = *b->p++;
        if (v == 0xff)
            b->p++; /* the stuffed zero; end is never right after an 0xff */
        b->acc = (b->acc << 8) | v;
        b->n += 8;
    }
}

/* Next bit, -1 when the block's data is used up. */
static inline int next_bit(bits *b)
{
    if (b->n == 0) {
        refill(b);
        if (b->n == 0)
            return -1;
    }
    b->n--;
    return (int)((b->acc >> b->n) & 1u);
}

static inline long next_bits(bits *b, int count)
{
    long v = 0;
    for (int i = 0; i < count; i++) {
        int bit = next_bit(b);
        if (bit < 0)
            return -1;
        v = (v << 1) | bit;
    }
    return v;
}

/* Only padding left: the remaining bits (if any) are all ones.  Encoders
 * pad the last byte with ones, and some (not NIST's) add a whole 0xff
 * byte; no Huffman code is all ones, so this cannot hide a coefficient. */
static bool only_padding(bits *b)
{
    refill(b);
    if (b->p < b->end)
        return false;
    uint64_t mask = b->n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << b->n) - 1u;
    return (b->acc & mask) == mask;
}

static int decode_symbol(bits *b, const huff_table *t)
{
    if (b->n < 16)
        refill(b);
    if (b->n >= HUFF_LUT_BITS) {
        uint16_t e = t->lut[(b->acc >> (b->n - HUFF_LUT_BITS)) & ((1u << HUFF_LUT_BITS) - 1u)];
        if (e != 0) {
            b->n -= e >> 8;
            return e & 0xff;
        }
    }
    int code = 0;
    for (int l = 1; l <= 16; l++) {
        int bit = next_bit(b);
        if (bit < 0)
            return -1;
        code = (code << 1) | bit;
        if (t->maxcode[l] >= 0 && code <= t->maxcode[l] && code >= t->mincode[l])
            return t->values[t->valptr[l] + code - t->mincode[l]];
    }
    return -2;
}

/* Decode one block's coefficients into q[0..want). */
static huella_status decode_block(wsq_dec *d, int block, const huff_table *t, int32_t *q,
                                  size_t want, huella_error *err)
{
    size_t start = d->r.pos;
    /* The data runs to the first 0xff not followed by a stuffed zero. */
    size_t e = start;
    for (;;) {
        while (e < d->len && d->data[e] != 0xff)
            e++;
        if (e + 1 >= d->len)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "WSQ: SOB block %d: coded data runs to the end of the file "
                                    "(truncated; no EOI)",
                                    block);
        if (d->data[e + 1] != 0x00)
            break;
        e += 2;
    }
    bits b = {d->data + start, d->data + e, 0, 0};
    size_t got = 0;
    while (!only_padding(&b)) {
        int sym = decode_symbol(&b, t);
        if (sym < 0)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    sym == -1 ? "WSQ: SOB block %d: a Huffman code is cut by the "
                                                "marker at offset %zu"
                                              : "WSQ: SOB block %d: invalid Huffman code before "
                                                "offset %zu",
                                    block, (size_t)(b.p - d->data));
        long run = 0, value = 0;
        bool is_run = false;
        if (sym >= 1 && sym <= 100) {
            run = sym;
            is_run = true;
        } else if (sym > 106 && sym < 0xff) {
            value = sym - 180;
        } else if (sym >= 101 && sym <= 106) {
            long v = next_bits(&b, sym == 101 || sym == 102 || sym == 105 ? 8 : 16);
            if (v < 0)
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "WSQ: SOB block %d: escape %d is cut by the marker", block,
                                        sym);
            if (sym >= 105) {
                run = v;
                is_run = true;
            } else {
                value = (sym == 101 || sym == 103) ? v : -v;
            }
        } else {
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "WSQ: SOB block %d: Huffman value %d is not a WSQ code", block,
                                    sym);
        }
        size_t need = is_run ? (size_t)run : 1;
        if (need > want - got)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "WSQ: SOB block %d holds more than the %zu coefficients of "
                                    "its subbands",
                                    block, want);
        if (is_run) {
            memset(q + got, 0, need * sizeof(*q));
            got += need;
        } else {
            q[got++] = (int32_t)value;
        }
    }
    if (got != want)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "WSQ: SOB block %d holds %zu coefficients, its subbands need %zu",
                                block, got, want);
    d->r.pos = e;
    return HUELLA_OK;
}

/* ---- reconstruction --------------------------------------------------- */

static huella_status reconstruct(wsq_dec *d, const wsq_geometry *g, float *plane, float *tmp,
                                 huella_error *err)
{
    size_t pitch = (size_t)d->width;
    float *scratch = malloc(pitch * sizeof(float));
    if (scratch == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "WSQ: out of memory");
    huella_status st = HUELLA_OK;
    for (int node = WSQ_NODES - 1; node >= 0 && st == HUELLA_OK; node--) {
        wsq_rect r = g->node[node];
        wsq_plan pc, pr;
        st = wsq_plan_build(&pc, r.h, g->inv_cl[node], d->lo, d->lsz, d->hi, d->hsz, err);
        if (st != HUELLA_OK)
            break;
        st = wsq_plan_build(&pr, r.w, g->inv_rw[node], d->lo, d->lsz, d->hi, d->hsz, err);
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

/* ---- the file --------------------------------------------------------- */

static huella_status decode(wsq_dec *d, const huella_image_limits *limits, huella_image **out,
                            huella_error *err)
{
    unsigned m = 0;
    huella_reader_init(&d->r, d->data, d->len);
    huella_status st = read_soi(d, err);
    if (st != HUELLA_OK)
        return st;
    for (;;) {
        if ((st = read_marker(d, &m, "before the frame header", err)) != HUELLA_OK)
            return st;
        if (m == WSQ_SOF)
            break;
        if ((st = read_table(d, m, err)) != HUELLA_OK)
            return st;
    }
    huella_reader body;
    if ((st = segment_body(d, WSQ_SOF, &body, err)) != HUELLA_OK)
        return st;
    if ((st = read_sof(d, &body, err)) != HUELLA_OK)
        return st;
    if ((st = huella_image_check_size((uint64_t)d->width, (uint64_t)d->height, limits, err)) !=
        HUELLA_OK) {
        huella_error_prefix(err, "WSQ: ");
        return st;
    }

    wsq_geometry g;
    wsq_build_geometry(d->width, d->height, &g);
    size_t npix = (size_t)d->width * (size_t)d->height;
    /* One work buffer holds the quantised coefficients, then, once they
     * are dequantised into the plane, the intermediate of each transform
     * step: 8 bytes per pixel in all besides the image. */
    void *work = NULL;
    int32_t *coeffs = NULL;
    float *plane = NULL;
    huella_image *img = NULL;
    int block = 0;
    size_t filled = 0;
    work = malloc(npix * (sizeof(int32_t) > sizeof(float) ? sizeof(int32_t) : sizeof(float)));
    coeffs = work;
    if (work == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "WSQ: out of memory");
        goto done;
    }
    for (;;) {
        if ((st = read_marker(d, &m, "after the frame header", err)) != HUELLA_OK)
            goto done;
        if (m == WSQ_EOI)
            break;
        if (m != WSQ_SOB) {
            if ((st = read_table(d, m, err)) != HUELLA_OK)
                goto done;
            continue;
        }
        if ((st = segment_body(d, WSQ_SOB, &body, err)) != HUELLA_OK)
            goto done;
        uint8_t id;
        if (!huella_read_u8(&body, &id)) {
            st = huella_error_set(err, HUELLA_E_INPUT, "WSQ: SOB segment %d is truncated",
                                  block + 1);
            goto done;
        }
        block++;
        if (d->info != NULL)
            d->info->blocks = (unsigned)block;
        if (block > 3) {
            st = huella_error_set(err, HUELLA_E_INPUT, "WSQ: more than three SOB blocks");
            goto done;
        }
        if (!d->have_dqt || !d->have_dtt) {
            st =
                huella_error_set(err, HUELLA_E_INPUT, "WSQ: SOB block %d comes before the %s table",
                                 block, d->have_dqt ? "DTT" : "DQT");
            goto done;
        }
        if (id >= WSQ_HUFF_TABLES || !d->huff[id].defined) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "WSQ: SOB block %d uses Huffman table %u, which no DHT defined",
                                  block, (unsigned)id);
            goto done;
        }
        int from = block == 1 ? 0 : block == 2 ? WSQ_BLOCK2 : WSQ_BLOCK3;
        int to = block == 1 ? WSQ_BLOCK2 : block == 2 ? WSQ_BLOCK3 : WSQ_CODED_BANDS;
        size_t want = 0;
        for (int k = from; k < to; k++)
            if (d->q[k] != 0.0f)
                want += (size_t)g.band[k].w * (size_t)g.band[k].h;
        if (want > npix - filled) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "WSQ: SOB block %d: subbands larger than the image", block);
            goto done;
        }
        if ((st = decode_block(d, block, &d->huff[id], coeffs + filled, want, err)) != HUELLA_OK)
            goto done;
        filled += want;
    }
    if (block != 3) {
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "WSQ: EOI after %d SOB blocks; a WSQ image has three", block);
        goto done;
    }

    plane = calloc(npix, sizeof(float));
    if (plane == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "WSQ: out of memory");
        goto done;
    }
    /* Dequantisation, in the reference's precision: the product in
     * float, the half zero bin added in double. */
    const int32_t *sp = coeffs;
    float c = d->bin_center;
    for (int k = 0; k < WSQ_CODED_BANDS; k++) {
        if (d->q[k] == 0.0f)
            continue;
        wsq_rect r = g.band[k];
        float qk = d->q[k];
        double half_z = (double)d->z[k] / 2.0;
        for (int y = 0; y < r.h; y++) {
            float *row = plane + (size_t)(r.y + y) * (size_t)d->width + (size_t)r.x;
            for (int x = 0; x < r.w; x++) {
                int32_t v = *sp++;
                if (v > 0)
                    row[x] = (float)((double)(qk * ((float)v - c)) + half_z);
                else if (v < 0)
                    row[x] = (float)((double)(qk * ((float)v + c)) - half_z);
                else
                    row[x] = 0.0f;
            }
        }
    }
    if ((st = reconstruct(d, &g, plane, (float *)work, err)) != HUELLA_OK)
        goto done;
    if ((st = huella_image_alloc((uint64_t)d->width, (uint64_t)d->height, limits, HUELLA_IMAGE_WSQ,
                                 &img, err)) != HUELLA_OK)
        goto done;
    /* Back to 8 bits as the reference does: scale and shift in float,
     * add one half in double, clamp, truncate.  Written without branches
     * so that it vectorises.  A damaged transform table can make the
     * synthesis overflow: `overflow` turns NaN when any value is not
     * finite, and the clamp sends NaN to 0 so that the conversion stays
     * defined until the file is refused below. */
    uint8_t *px = img->pixels;
    const float rs = d->r_scale, ms = d->m_shift;
    float overflow = 0.0f;
    for (size_t i = 0; i < npix; i++) {
        float v = plane[i] * rs;
        v = v + ms;
        overflow += v * 0.0f;
        v = (float)((double)v + 0.5);
        v = v >= 0.0f ? v : 0.0f;
        v = v > 255.0f ? 255.0f : v;
        px[i] = (uint8_t)(int)v;
    }
    if (overflow != overflow) {
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "WSQ: the image overflows when reconstructed: the transform table "
                              "or the quantisation is damaged");
        goto done;
    }
    if (d->info != NULL && d->info->ppi > 0) {
        img->ppi_x = d->info->ppi;
        img->ppi_y = d->info->ppi;
    }
    img->source_channels = 1;
    img->source_bits = 8;
    *out = img;
    img = NULL;
done:
    huella_image_free(img);
    free(work);
    free(plane);
    return st;
}

static void info_init(huella_wsq_info *info, size_t len)
{
    memset(info, 0, sizeof(*info));
    info->ppi = -1;
    info->file_size = len;
}

huella_status huella_image_decode_wsq(const uint8_t *data, size_t len,
                                      const huella_image_limits *limits, huella_image **out,
                                      huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: no output pointer");
    *out = NULL;
    if (data == NULL || len == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: empty input");
    wsq_dec *d = calloc(1, sizeof(*d));
    huella_wsq_info *info = malloc(sizeof(*info));
    if (d == NULL || info == NULL) {
        free(d);
        free(info);
        return huella_error_set(err, HUELLA_E_NOMEM, "WSQ: out of memory");
    }
    info_init(info, len);
    d->data = data;
    d->len = len;
    d->info = info;
    huella_status st = decode(d, limits, out, err);
    free(d);
    free(info);
    return st;
}

huella_status huella_wsq_read_info(const uint8_t *data, size_t len, huella_wsq_info *info,
                                   huella_error *err)
{
    if (info == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: no output pointer");
    info_init(info, len);
    if (data == NULL || len == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "WSQ: empty input");
    wsq_dec *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "WSQ: out of memory");
    d->data = data;
    d->len = len;
    d->info = info;
    huella_reader_init(&d->r, data, len);
    unsigned m = 0;
    huella_status st = read_soi(d, err);
    while (st == HUELLA_OK) {
        if ((st = read_marker(d, &m, "between segments", err)) != HUELLA_OK)
            break;
        if (m == WSQ_EOI)
            break;
        if (m == WSQ_SOF) {
            huella_reader body;
            if ((st = segment_body(d, m, &body, err)) == HUELLA_OK)
                st = read_sof(d, &body, err);
        } else if (m == WSQ_SOB) {
            huella_reader body;
            if ((st = segment_body(d, m, &body, err)) != HUELLA_OK)
                break;
            info->blocks++;
            /* Skip the coded data up to the next marker. */
            size_t e = d->r.pos;
            while (e + 1 < len && !(data[e] == 0xff && data[e + 1] != 0x00))
                e++;
            if (e + 1 >= len)
                st = huella_error_set(err, HUELLA_E_INPUT,
                                      "WSQ: SOB block %u: coded data runs to the end of the "
                                      "file (truncated; no EOI)",
                                      info->blocks);
            d->r.pos = e;
        } else {
            st = read_table(d, m, err);
        }
    }
    if (st == HUELLA_OK && !d->have_sof)
        st = huella_error_set(err, HUELLA_E_INPUT, "WSQ: no SOF frame header");
    free(d);
    return st;
}
