/*
 * jpegl.c - lossless JPEG decoding (ITU-T T.81 annex H, process 14).
 *
 * Contract: huella_image_decode_jpegl decodes a JPEG whose frame is SOF3
 * (lossless, sequential, Huffman): sample precision 2-16 bits, one or
 * three components without subsampling, one or several scans (interleaved
 * or not), predictors 1-7 (H.1.2.1), a point transform (Al), and restart
 * intervals (DRI, RSTn).  Prediction restarts at the start of each scan
 * and of each restart interval as H.1.2.1 says: the first sample takes
 * 2^(P - Pt - 1), the rest of that line its left neighbour, the first
 * sample of each later line the one above.  Differences are added modulo
 * 2^16 (H.1.2.2).  The output is 8-bit grey: samples are shifted back by
 * the point transform, then rescaled from [0, 2^P - 1] to [0, 255] with
 * rounding; three components are taken as R, G, B and become BT.601 luma.
 *
 * Every segment read is bounded; the frame size is checked against the
 * caller's limits before any sample memory is allocated; a scan must end
 * exactly where its coded data ends (only the 1-bit padding of the last
 * byte may be left), so damaged data fails with HUELLA_E_INPUT and a
 * message naming the segment.  The resolution comes from a JFIF APP0
 * segment when there is one.  Hierarchical and arithmetic-coded frames,
 * subsampled components and DNL-defined heights are refused with
 * HUELLA_E_UNSUPPORTED.
 *
 * Relies on: src/base (reader, errors), src/image (allocation, rescaling).
 */
#include "huella/wsq.h"
#include "image/internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_COMPONENTS 3

typedef struct jl_huff {
    bool defined;
    uint8_t bits[17];
    uint8_t values[256];
    int maxcode[17];
    int mincode[17];
    int valptr[17];
} jl_huff;

typedef struct jl_dec {
    const uint8_t *data;
    size_t len;
    huella_reader r;
    jl_huff huff[4];
    unsigned restart; /* MCUs per restart interval, 0 for none */
    bool have_frame;
    unsigned precision;
    unsigned width, height;
    unsigned ncomp;
    uint8_t comp_id[MAX_COMPONENTS];
    uint16_t *plane[MAX_COMPONENTS];
    bool decoded[MAX_COMPONENTS];
    double ppi_x, ppi_y; /* from a JFIF APP0 segment, 0 when absent */
} jl_dec;

static huella_status segment(jl_dec *d, unsigned marker, huella_reader *body, huella_error *err)
{
    size_t at = d->r.pos - 2;
    uint16_t n;
    if (!huella_read_u16be(&d->r, &n) || n < 2 || (size_t)n - 2 > huella_reader_left(&d->r))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "lossless JPEG: segment FF%02X at offset %zu is truncated",
                                marker & 0xff, at);
    huella_reader_init(body, d->data + d->r.pos, (size_t)n - 2);
    d->r.pos += (size_t)n - 2;
    return HUELLA_OK;
}

static huella_status read_dht(jl_dec *d, huella_reader *b, huella_error *err)
{
    while (huella_reader_left(b) > 0) {
        uint8_t tc_th;
        huella_read_u8(b, &tc_th);
        unsigned tc = tc_th >> 4, th = tc_th & 15;
        /* Lossless scans use one table per component, named by Td; some
         * encoders (NIST's among them) label it class 1, so both classes
         * are accepted and share the four ids. */
        if (tc > 1 || th > 3)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: DHT defines table class %u id %u (classes "
                                    "0-1, ids 0-3 allowed)",
                                    tc, th);
        jl_huff *t = &d->huff[th];
        memset(t, 0, sizeof(*t));
        int total = 0;
        for (int l = 1; l <= 16; l++) {
            if (!huella_read_u8(b, &t->bits[l]))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "lossless JPEG: DHT table %u is truncated", th);
            total += t->bits[l];
        }
        if (total == 0 || total > 256 || !huella_read_bytes(b, t->values, (size_t)total))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: DHT table %u declares %d values that are "
                                    "not all there",
                                    th, total);
        int code = 0, k = 0;
        for (int l = 1; l <= 16; l++) {
            t->valptr[l] = k;
            t->mincode[l] = code;
            code += t->bits[l];
            k += t->bits[l];
            if (code > (1 << l))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "lossless JPEG: DHT table %u has more codes of length "
                                        "%d than fit",
                                        th, l);
            t->maxcode[l] = t->bits[l] ? code - 1 : -1;
            code <<= 1;
        }
        t->defined = true;
    }
    return HUELLA_OK;
}

static huella_status read_sof3(jl_dec *d, huella_reader *b, const huella_image_limits *limits,
                               huella_error *err)
{
    uint8_t p, nf;
    uint16_t y, x;
    if (d->have_frame)
        return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: a second SOF3 frame");
    if (!huella_read_u8(b, &p) || !huella_read_u16be(b, &y) || !huella_read_u16be(b, &x) ||
        !huella_read_u8(b, &nf))
        return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: SOF3 is truncated");
    if (p < 2 || p > 16)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "lossless JPEG: SOF3 declares %u-bit samples (2-16 allowed)",
                                (unsigned)p);
    if (y == 0)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "lossless JPEG: SOF3 leaves the height to a DNL marker");
    if (nf != 1 && nf != 3)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "lossless JPEG: %u components (1 or 3 supported)", (unsigned)nf);
    for (unsigned c = 0; c < nf; c++) {
        uint8_t id, hv, tq;
        if (!huella_read_u8(b, &id) || !huella_read_u8(b, &hv) || !huella_read_u8(b, &tq))
            return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: SOF3 is truncated");
        if (hv != 0x11)
            return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                    "lossless JPEG: component %u is subsampled (%ux%u)",
                                    (unsigned)id, (unsigned)(hv >> 4), (unsigned)(hv & 15));
        for (unsigned k = 0; k < c; k++)
            if (d->comp_id[k] == id)
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "lossless JPEG: SOF3 repeats component %u", (unsigned)id);
        d->comp_id[c] = id;
    }
    huella_status st = huella_image_check_size(x, y, limits, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "lossless JPEG: ");
        return st;
    }
    d->precision = p;
    d->width = x;
    d->height = y;
    d->ncomp = nf;
    size_t n = (size_t)x * (size_t)y;
    for (unsigned c = 0; c < nf; c++) {
        d->plane[c] = calloc(n, sizeof(uint16_t));
        if (d->plane[c] == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "lossless JPEG: out of memory");
    }
    d->have_frame = true;
    return HUELLA_OK;
}

typedef struct jl_bits {
    const uint8_t *p, *end;
    uint32_t acc;
    int n;
} jl_bits;

static inline int jl_bit(jl_bits *b)
{
    if (b->n == 0) {
        if (b->p >= b->end)
            return -1;
        uint8_t v = *b->p++;
        if (v == 0xff)
            b->p++; /* stuffed zero */
        b->acc = v;
        b->n = 8;
    }
    b->n--;
    return (int)((b->acc >> b->n) & 1u);
}

static int jl_symbol(jl_bits *b, const jl_huff *t)
{
    int code = 0;
    for (int l = 1; l <= 16; l++) {
        int bit = jl_bit(b);
        if (bit < 0)
            return -1;
        code = (code << 1) | bit;
        if (t->maxcode[l] >= 0 && code <= t->maxcode[l])
            return t->values[t->valptr[l] + code - t->mincode[l]];
    }
    return -2;
}

/* End of the coded data starting at pos: the first 0xff that is not
 * followed by a stuffed zero (a marker), or len. */
static size_t coded_end(const jl_dec *d, size_t pos)
{
    while (pos + 1 < d->len) {
        if (d->data[pos] == 0xff && d->data[pos + 1] != 0x00)
            return pos;
        pos += d->data[pos] == 0xff ? 2 : 1;
    }
    return d->len;
}

static bool padding_only(const jl_bits *b)
{
    return b->p >= b->end && (b->n == 0 || (b->acc & ((1u << b->n) - 1u)) == (1u << b->n) - 1u);
}

static huella_status read_sos(jl_dec *d, huella_reader *b, int scan, huella_error *err)
{
    uint8_t ns;
    if (!d->have_frame)
        return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: SOS before SOF3");
    if (!huella_read_u8(b, &ns) || ns < 1 || ns > d->ncomp)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "lossless JPEG: SOS %d is truncated or names %u components", scan,
                                (unsigned)ns);
    unsigned comp[MAX_COMPONENTS], table[MAX_COMPONENTS];
    for (unsigned i = 0; i < ns; i++) {
        uint8_t cs, tdta;
        if (!huella_read_u8(b, &cs) || !huella_read_u8(b, &tdta))
            return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: SOS %d is truncated",
                                    scan);
        unsigned c = 0;
        while (c < d->ncomp && d->comp_id[c] != cs)
            c++;
        if (c == d->ncomp)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: SOS %d names component %u, not in the frame",
                                    scan, (unsigned)cs);
        if (d->decoded[c])
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: SOS %d decodes component %u a second time",
                                    scan, (unsigned)cs);
        unsigned td = tdta >> 4;
        if (td > 3 || !d->huff[td].defined)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: SOS %d uses Huffman table %u, which no DHT "
                                    "defined",
                                    scan, td);
        comp[i] = c;
        table[i] = td;
    }
    uint8_t ss, se, ahal;
    if (!huella_read_u8(b, &ss) || !huella_read_u8(b, &se) || !huella_read_u8(b, &ahal))
        return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: SOS %d is truncated", scan);
    unsigned pred = ss, pt = ahal & 15;
    if (pred < 1 || pred > 7)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "lossless JPEG: SOS %d selects predictor %u (1-7 allowed)", scan,
                                pred);
    if (pt >= d->precision)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "lossless JPEG: SOS %d point transform %u is not below the "
                                "precision %u",
                                scan, pt, d->precision);
    for (unsigned i = 0; i < ns; i++)
        d->decoded[comp[i]] = true;

    const int32_t initial = 1 << (d->precision - pt - 1);
    const size_t w = d->width, h = d->height;
    size_t start = d->r.pos;
    size_t end = coded_end(d, start);
    jl_bits bits = {d->data + start, d->data + end, 0, 0};
    unsigned restart_index = 0;
    size_t mcus_left = d->restart;
    bool reset = true;        /* prediction restarts at the next sample */
    size_t first_row_end = 0; /* samples before this index use the first-line rule */
    size_t total = w * h;
    for (size_t i = 0; i < total; i++) {
        if (d->restart != 0 && mcus_left == 0) {
            /* Restart: the coded data must end here with RSTn. */
            if (!padding_only(&bits))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "lossless JPEG: scan %d: restart interval ends before "
                                        "its coded data at offset %zu",
                                        scan, end);
            if (end + 1 >= d->len || d->data[end + 1] != 0xd0 + (restart_index & 7))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "lossless JPEG: scan %d: expected RST%u at offset %zu",
                                        scan, restart_index & 7, end);
            restart_index++;
            start = end + 2;
            end = coded_end(d, start);
            bits.p = d->data + start;
            bits.end = d->data + end;
            bits.n = 0;
            mcus_left = d->restart;
            reset = true;
        }
        if (reset) {
            /* The rest of this line follows the first-line rule. */
            first_row_end = (i / w + 1) * w;
        }
        size_t x = i % w;
        for (unsigned k = 0; k < ns; k++) {
            uint16_t *pl = d->plane[comp[k]];
            int sym = jl_symbol(&bits, &d->huff[table[k]]);
            if (sym < 0 || sym > 16)
                return huella_error_set(err, HUELLA_E_INPUT,
                                        sym == -1 ? "lossless JPEG: scan %d: coded data ends "
                                                    "early at offset %zu"
                                                  : "lossless JPEG: scan %d: invalid Huffman "
                                                    "code before offset %zu",
                                        scan, (size_t)(bits.p - d->data));
            int32_t diff = 0;
            if (sym == 16) {
                diff = 32768;
            } else if (sym > 0) {
                int32_t v = 0;
                for (int j = 0; j < sym; j++) {
                    int bit = jl_bit(&bits);
                    if (bit < 0)
                        return huella_error_set(err, HUELLA_E_INPUT,
                                                "lossless JPEG: scan %d: coded data ends early "
                                                "at offset %zu",
                                                scan, (size_t)(bits.p - d->data));
                    v = (v << 1) | bit;
                }
                diff = v < (1 << (sym - 1)) ? v - (1 << sym) + 1 : v;
            }
            int32_t px;
            if (reset) {
                px = initial;
            } else if (i < first_row_end) {
                px = pl[i - 1];
            } else if (x == 0) {
                px = pl[i - w];
            } else {
                int32_t ra = pl[i - 1], rb = pl[i - w], rc = pl[i - w - 1];
                switch (pred) {
                case 1:
                    px = ra;
                    break;
                case 2:
                    px = rb;
                    break;
                case 3:
                    px = rc;
                    break;
                case 4:
                    px = ra + rb - rc;
                    break;
                case 5:
                    px = ra + ((rb - rc) >> 1);
                    break;
                case 6:
                    px = rb + ((ra - rc) >> 1);
                    break;
                default:
                    px = (ra + rb) >> 1;
                    break;
                }
            }
            pl[i] = (uint16_t)((px + diff) & 0xffff);
        }
        reset = false;
        if (d->restart != 0)
            mcus_left--;
    }
    if (!padding_only(&bits))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "lossless JPEG: scan %d: %zu bytes of coded data left over "
                                "before offset %zu",
                                scan, (size_t)(bits.end - bits.p) + (bits.n >= 8 ? 1u : 0u), end);
    if (pt > 0)
        for (unsigned k = 0; k < ns; k++)
            for (size_t i = 0; i < total; i++)
                d->plane[comp[k]][i] = (uint16_t)(d->plane[comp[k]][i] << pt);
    d->r.pos = end;
    return HUELLA_OK;
}

/* JFIF APP0 (JFIF 1.02 §A): density in dots per inch (units 1) or per
 * centimetre (units 2); units 0 is only an aspect ratio. */
static void read_jfif(jl_dec *d, huella_reader *b)
{
    uint8_t id[5], version[2], units;
    uint16_t xd, yd;
    if (!huella_read_bytes(b, id, 5) || memcmp(id, "JFIF", 5) != 0 ||
        !huella_read_bytes(b, version, 2) || !huella_read_u8(b, &units) ||
        !huella_read_u16be(b, &xd) || !huella_read_u16be(b, &yd) || xd == 0 || yd == 0)
        return;
    if (units == 1) {
        d->ppi_x = xd;
        d->ppi_y = yd;
    } else if (units == 2) {
        d->ppi_x = huella_image_ppi_from_ppm(xd * 100.0);
        d->ppi_y = huella_image_ppi_from_ppm(yd * 100.0);
    }
}

static huella_status decode(jl_dec *d, const huella_image_limits *limits, huella_image **out,
                            huella_error *err)
{
    uint16_t m;
    huella_reader_init(&d->r, d->data, d->len);
    if (!huella_read_u16be(&d->r, &m) || m != 0xffd8)
        return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: no SOI marker");
    int scans = 0;
    for (;;) {
        size_t at = d->r.pos;
        uint8_t b0, b1;
        if (!huella_read_u8(&d->r, &b0))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: file ends at offset %zu without EOI", at);
        if (b0 != 0xff)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: expected a marker at offset %zu", at);
        do {
            if (!huella_read_u8(&d->r, &b1))
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "lossless JPEG: file ends at offset %zu without EOI", at);
        } while (b1 == 0xff); /* fill bytes */
        unsigned marker = 0xff00u | b1;
        if (marker == 0xffd9)
            break;
        if (b1 == 0x01 || (b1 >= 0xd0 && b1 <= 0xd7))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: stray marker FF%02X at offset %zu",
                                    (unsigned)b1, at);
        huella_reader body;
        huella_status st = segment(d, marker, &body, err);
        if (st != HUELLA_OK)
            return st;
        if (marker == 0xffc3) {
            st = read_sof3(d, &body, limits, err);
        } else if (marker == 0xffc4) {
            st = read_dht(d, &body, err);
        } else if (marker == 0xffdd) {
            uint16_t ri;
            if (!huella_read_u16be(&body, &ri))
                return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: DRI is truncated");
            d->restart = ri;
        } else if (marker == 0xffe0) {
            read_jfif(d, &body);
        } else if (marker == 0xffda) {
            st = read_sos(d, &body, ++scans, err);
        } else if ((b1 >= 0xc0 && b1 <= 0xcf && b1 != 0xc4 && b1 != 0xc8 && b1 != 0xcc)) {
            return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                    "lossless JPEG: frame SOF%u is not lossless Huffman (SOF3)",
                                    (unsigned)(b1 - 0xc0));
        } else if (b1 == 0xcc) {
            return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                    "lossless JPEG: arithmetic coding is not supported");
        }
        /* APPn, COM, DQT, DNL... carry nothing lossless decoding needs. */
        if (st != HUELLA_OK)
            return st;
    }
    if (!d->have_frame)
        return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: EOI before any SOF3 frame");
    for (unsigned c = 0; c < d->ncomp; c++)
        if (!d->decoded[c])
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "lossless JPEG: component %u is in no scan",
                                    (unsigned)d->comp_id[c]);
    huella_image *img;
    huella_status st =
        huella_image_alloc(d->width, d->height, limits, HUELLA_IMAGE_JPEG, &img, err);
    if (st != HUELLA_OK)
        return st;
    uint64_t max = (1u << d->precision) - 1u;
    size_t n = (size_t)d->width * d->height;
    for (size_t i = 0; i < n; i++) {
        if (d->ncomp == 1)
            img->pixels[i] = huella_image_rescale(d->plane[0][i], max);
        else
            img->pixels[i] = huella_luma(huella_image_rescale(d->plane[0][i], max),
                                         huella_image_rescale(d->plane[1][i], max),
                                         huella_image_rescale(d->plane[2][i], max));
    }
    img->ppi_x = d->ppi_x;
    img->ppi_y = d->ppi_y;
    img->source_channels = d->ncomp;
    img->source_bits = d->precision;
    *out = img;
    return HUELLA_OK;
}

huella_status huella_image_decode_jpegl(const uint8_t *data, size_t len,
                                        const huella_image_limits *limits, huella_image **out,
                                        huella_error *err)
{
    if (out == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: no output pointer");
    *out = NULL;
    if (data == NULL || len == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "lossless JPEG: empty input");
    jl_dec *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "lossless JPEG: out of memory");
    d->data = data;
    d->len = len;
    huella_status st = decode(d, limits, out, err);
    for (unsigned c = 0; c < MAX_COMPONENTS; c++)
        free(d->plane[c]);
    free(d);
    return st;
}

bool huella_jpeg_is_lossless(const uint8_t *data, size_t len)
{
    if (data == NULL || len < 4 || data[0] != 0xff || data[1] != 0xd8)
        return false;
    size_t pos = 2;
    while (pos + 4 <= len) {
        if (data[pos] != 0xff)
            return false;
        uint8_t m = data[pos + 1];
        if (m == 0xff) {
            pos++;
            continue;
        }
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc)
            return m == 0xc3;
        if (m == 0xd9 || m == 0xda)
            return false;
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
            pos += 2;
            continue;
        }
        size_t n = ((size_t)data[pos + 2] << 8) | data[pos + 3];
        if (n < 2)
            return false;
        pos += 2 + n;
    }
    return false;
}
