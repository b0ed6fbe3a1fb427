/*
 * template.c - the fingerprint minutiae template model and its internal
 * "huella" byte format.
 *
 * Contract: a huella_finger_template owns its minutiae array; _add checks
 * every value so that a template, however it was filled (extractor,
 * record import, decode), always holds values that the formats can carry.
 * Encode/decode are exact inverses up to the quantisation stated below.
 *
 * The huella template format, version 1 (all integers big-endian, read
 * and written field by field):
 *
 *   offset size  field
 *   0      4     magic "HFT\0"
 *   4      1     version = 1
 *   5      1     flags = 0 (reserved; a reader refuses other values)
 *   6      2     width in pixels at 500 ppi
 *   8      2     height in pixels at 500 ppi
 *   10     2     source x resolution, pixels per cm (197 = 500 ppi; 0 unknown)
 *   12     2     source y resolution, pixels per cm
 *   14     1     finger position (ISO/IEC 19794-2 Table 2)
 *   15     1     view number (0..15)
 *   16     1     impression type
 *   17     1     finger quality (0..100)
 *   18     2     number of minutiae N (0..255)
 *   20     8*N   minutiae: x (2), y (2) in quarter pixels at 500 ppi;
 *                direction (2) in units of 2*pi/65536, counterclockwise
 *                from +x; type (1: 0 other, 1 ending, 2 bifurcation);
 *                quality (1: 0..100)
 *   ..     1     number of cores C (0..15)
 *   ..     1     number of deltas D (0..15)
 *   ..           C cores then D deltas: x (2), y (2) in quarter pixels,
 *                number of angles A (1: cores 0 or 1, deltas 0 or 3),
 *                A angles (2 each, units of 2*pi/65536)
 *
 * Nothing may follow the last field.  Quarter pixels keep the conversion
 * from any record resolution to 500 ppi and back exact after rounding;
 * 16-bit directions are finer than any record's angle unit.
 */
#include "huella/finger.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TWO_PI      6.283185307179586
#define COORD_MAX   16384.0f /* exclusive, in pixels: 14 bits, as in ISO 19794-2 */
#define HFT_VERSION 1

static const uint8_t hft_magic[4] = {'H', 'F', 'T', 0};

huella_status huella_finger_template_new(huella_finger_template **out, huella_error *err)
{
    *out = NULL;
    huella_finger_template *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate a finger template");
    t->resolution_x = HUELLA_FINGER_PPCM_500;
    t->resolution_y = HUELLA_FINGER_PPCM_500;
    *out = t;
    return HUELLA_OK;
}

void huella_finger_template_free(huella_finger_template *t)
{
    if (t == NULL)
        return;
    free(t->minutiae);
    free(t);
}

huella_status huella_finger_template_copy(const huella_finger_template *t,
                                          huella_finger_template **out, huella_error *err)
{
    *out = NULL;
    huella_finger_template *c = malloc(sizeof(*c));
    if (c == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate a finger template");
    *c = *t;
    c->minutiae = NULL;
    c->cap_minutiae = 0;
    if (t->n_minutiae > 0) {
        c->minutiae = malloc(t->n_minutiae * sizeof(huella_minutia));
        if (c->minutiae == NULL) {
            free(c);
            return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate minutiae");
        }
        memcpy(c->minutiae, t->minutiae, t->n_minutiae * sizeof(huella_minutia));
        c->cap_minutiae = t->n_minutiae;
    }
    *out = c;
    return HUELLA_OK;
}

static bool coord_ok(float v)
{
    return isfinite(v) && v >= 0.0f && v < COORD_MAX;
}

huella_status huella_finger_template_add(huella_finger_template *t, const huella_minutia *m,
                                         huella_error *err)
{
    size_t i = t->n_minutiae;
    if (i >= HUELLA_FINGER_MAX_MINUTIAE)
        return huella_error_set(err, HUELLA_E_INPUT, "minutia %zu: a template holds at most %d", i,
                                HUELLA_FINGER_MAX_MINUTIAE);
    if (!coord_ok(m->x) || !coord_ok(m->y))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "minutia %zu: position (%g, %g) is outside 0..16383 pixels", i,
                                (double)m->x, (double)m->y);
    if (!isfinite(m->direction) || m->direction < 0.0f || m->direction >= (float)TWO_PI)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "minutia %zu: direction %g is outside [0, 2*pi) radians", i,
                                (double)m->direction);
    if (m->type > HUELLA_MINUTIA_BIFURCATION)
        return huella_error_set(err, HUELLA_E_INPUT, "minutia %zu: unknown type %u", i,
                                (unsigned)m->type);
    if (m->quality > 100)
        return huella_error_set(err, HUELLA_E_INPUT, "minutia %zu: quality %u is above 100", i,
                                (unsigned)m->quality);
    if (t->n_minutiae == t->cap_minutiae) {
        size_t cap = t->cap_minutiae ? t->cap_minutiae * 2 : 64;
        if (cap > HUELLA_FINGER_MAX_MINUTIAE)
            cap = HUELLA_FINGER_MAX_MINUTIAE;
        huella_minutia *grown = realloc(t->minutiae, cap * sizeof(huella_minutia));
        if (grown == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "cannot grow the minutiae array");
        t->minutiae = grown;
        t->cap_minutiae = cap;
    }
    t->minutiae[t->n_minutiae++] = *m;
    return HUELLA_OK;
}

/* ---- Encoding ------------------------------------------------------------ */

static uint16_t quarter_px(float v)
{
    long q = lroundf(v * 4.0f);
    return (uint16_t)(q < 0 ? 0 : q > 65535 ? 65535 : q);
}

static uint16_t angle16(float a)
{
    long q = lround((double)a / TWO_PI * 65536.0);
    return (uint16_t)(q & 0xFFFF);
}

static float angle_from16(uint16_t v)
{
    return (float)((double)v * TWO_PI / 65536.0);
}

static void put_singular(huella_buf *b, const huella_finger_singular *s)
{
    huella_buf_append_u16be(b, quarter_px(s->x));
    huella_buf_append_u16be(b, quarter_px(s->y));
    huella_buf_append_u8(b, s->n_angles);
    for (unsigned k = 0; k < s->n_angles && k < 3; k++)
        huella_buf_append_u16be(b, angle16(s->angles[k]));
}

huella_status huella_finger_template_encode(const huella_finger_template *t, uint8_t **out,
                                            size_t *len, huella_error *err)
{
    *out = NULL;
    *len = 0;
    if (t->n_minutiae > HUELLA_FINGER_MAX_MINUTIAE || t->n_cores > HUELLA_FINGER_MAX_SINGULAR ||
        t->n_deltas > HUELLA_FINGER_MAX_SINGULAR)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "huella template: %zu minutiae, %zu cores, %zu deltas exceed "
                                "the format's limits (255, 15, 15)",
                                t->n_minutiae, t->n_cores, t->n_deltas);
    if (t->view_number > 15)
        return huella_error_set(err, HUELLA_E_INPUT, "huella template: view number %u above 15",
                                (unsigned)t->view_number);
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append(&b, hft_magic, 4);
    huella_buf_append_u8(&b, HFT_VERSION);
    huella_buf_append_u8(&b, 0);
    huella_buf_append_u16be(&b, t->width);
    huella_buf_append_u16be(&b, t->height);
    huella_buf_append_u16be(&b, t->resolution_x);
    huella_buf_append_u16be(&b, t->resolution_y);
    huella_buf_append_u8(&b, t->finger_position);
    huella_buf_append_u8(&b, t->view_number);
    huella_buf_append_u8(&b, t->impression_type);
    huella_buf_append_u8(&b, t->finger_quality);
    huella_buf_append_u16be(&b, (uint16_t)t->n_minutiae);
    for (size_t i = 0; i < t->n_minutiae; i++) {
        const huella_minutia *m = &t->minutiae[i];
        huella_buf_append_u16be(&b, quarter_px(m->x));
        huella_buf_append_u16be(&b, quarter_px(m->y));
        huella_buf_append_u16be(&b, angle16(m->direction));
        huella_buf_append_u8(&b, m->type);
        huella_buf_append_u8(&b, m->quality);
    }
    huella_buf_append_u8(&b, (uint8_t)t->n_cores);
    huella_buf_append_u8(&b, (uint8_t)t->n_deltas);
    for (size_t i = 0; i < t->n_cores; i++)
        put_singular(&b, &t->cores[i]);
    for (size_t i = 0; i < t->n_deltas; i++)
        put_singular(&b, &t->deltas[i]);
    if (!b.ok) {
        huella_buf_free(&b);
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the encoded template");
    }
    *out = b.data;
    *len = b.len;
    return HUELLA_OK;
}

/* ---- Decoding ------------------------------------------------------------ */

static huella_status short_input(huella_error *err, const char *field, const huella_reader *r)
{
    return huella_error_set(err, HUELLA_E_INPUT,
                            "huella template: truncated at byte %zu while reading %s", r->pos,
                            field);
}

static huella_status get_singular(huella_reader *r, const char *kind, size_t index,
                                  unsigned max_angles, huella_finger_singular *s, huella_error *err)
{
    uint16_t x, y;
    uint8_t n;
    if (!huella_read_u16be(r, &x) || !huella_read_u16be(r, &y) || !huella_read_u8(r, &n))
        return short_input(err, kind, r);
    if (n != 0 && n != max_angles)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "huella template: %s %zu has %u angles "
                                "(0 or %u allowed)",
                                kind, index, (unsigned)n, max_angles);
    s->x = (float)x / 4.0f;
    s->y = (float)y / 4.0f;
    s->n_angles = n;
    for (unsigned k = 0; k < n; k++) {
        uint16_t a;
        if (!huella_read_u16be(r, &a))
            return short_input(err, kind, r);
        s->angles[k] = angle_from16(a);
    }
    return HUELLA_OK;
}

static huella_status decode_into(huella_reader *r, huella_finger_template *t, huella_error *err)
{
    uint8_t magic[4], version, flags;
    if (!huella_read_bytes(r, magic, 4))
        return short_input(err, "the magic", r);
    if (memcmp(magic, hft_magic, 4) != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "huella template: magic is not \"HFT\\0\"");
    if (!huella_read_u8(r, &version) || !huella_read_u8(r, &flags))
        return short_input(err, "the version", r);
    if (version != HFT_VERSION)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "huella template: version %u is not supported (only 1)",
                                (unsigned)version);
    if (flags != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "huella template: reserved flags 0x%02x set",
                                (unsigned)flags);
    uint16_t n;
    if (!huella_read_u16be(r, &t->width) || !huella_read_u16be(r, &t->height) ||
        !huella_read_u16be(r, &t->resolution_x) || !huella_read_u16be(r, &t->resolution_y) ||
        !huella_read_u8(r, &t->finger_position) || !huella_read_u8(r, &t->view_number) ||
        !huella_read_u8(r, &t->impression_type) || !huella_read_u8(r, &t->finger_quality) ||
        !huella_read_u16be(r, &n))
        return short_input(err, "the header", r);
    if (t->view_number > 15 || t->finger_quality > 100)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "huella template: view number %u or finger quality %u out of "
                                "range",
                                (unsigned)t->view_number, (unsigned)t->finger_quality);
    if (n > HUELLA_FINGER_MAX_MINUTIAE)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "huella template: %u minutiae declared, at most 255 allowed",
                                (unsigned)n);
    if ((size_t)n * 8 > huella_reader_left(r))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "huella template: %u minutiae declared (%u bytes) but only %zu "
                                "bytes remain",
                                (unsigned)n, (unsigned)n * 8, huella_reader_left(r));
    for (unsigned i = 0; i < n; i++) {
        uint16_t x, y, a;
        uint8_t type, q;
        if (!huella_read_u16be(r, &x) || !huella_read_u16be(r, &y) || !huella_read_u16be(r, &a) ||
            !huella_read_u8(r, &type) || !huella_read_u8(r, &q))
            return short_input(err, "a minutia", r);
        huella_minutia m = {(float)x / 4.0f, (float)y / 4.0f, angle_from16(a), type, q};
        huella_status st = huella_finger_template_add(t, &m, err);
        if (st != HUELLA_OK) {
            huella_error_prefix(err, "huella template: ");
            return st;
        }
    }
    uint8_t nc, nd;
    if (!huella_read_u8(r, &nc) || !huella_read_u8(r, &nd))
        return short_input(err, "the core and delta counts", r);
    if (nc > HUELLA_FINGER_MAX_SINGULAR || nd > HUELLA_FINGER_MAX_SINGULAR)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "huella template: %u cores and %u deltas (at most 15 each)",
                                (unsigned)nc, (unsigned)nd);
    for (unsigned i = 0; i < nc; i++) {
        huella_status st = get_singular(r, "core", i, 1, &t->cores[i], err);
        if (st != HUELLA_OK)
            return st;
    }
    t->n_cores = nc;
    for (unsigned i = 0; i < nd; i++) {
        huella_status st = get_singular(r, "delta", i, 3, &t->deltas[i], err);
        if (st != HUELLA_OK)
            return st;
    }
    t->n_deltas = nd;
    if (huella_reader_left(r) != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "huella template: %zu unexpected bytes after the last field",
                                huella_reader_left(r));
    return HUELLA_OK;
}

huella_status huella_finger_template_decode(const void *data, size_t len,
                                            huella_finger_template **out, huella_error *err)
{
    *out = NULL;
    huella_finger_template *t;
    huella_status st = huella_finger_template_new(&t, err);
    if (st != HUELLA_OK)
        return st;
    huella_reader r;
    huella_reader_init(&r, data, len);
    st = decode_into(&r, t, err);
    if (st != HUELLA_OK) {
        huella_finger_template_free(t);
        return st;
    }
    *out = t;
    return HUELLA_OK;
}
