/*
 * iso.c - finger minutiae interchange records: ISO/IEC 19794-2:2005 and
 * ANSI INCITS 378-2004, import and export, every view.
 *
 * Contract: huella_finger_record_read turns a record into one template per
 * view, coordinates converted to 500 ppi with the record's resolution, or
 * refuses it with a message naming the field and the view.  It never
 * reads past the buffer, never trusts a count or a length before checking
 * it against what remains, and refuses reserved codes.  Bytes after the
 * declared record length are accepted (real files carry padding) and
 * counted; a record shorter than it says, or with bytes inside its
 * declared length that no view accounts for, is refused.
 * huella_finger_record_write is its inverse: reading what it writes gives
 * back the same minutiae (to the format's quantisation).
 *
 * The two layouts (all integers big-endian):
 *
 *   ISO/IEC 19794-2:2005 §7          ANSI INCITS 378-2004 §6
 *   "FMR\0"                          "FMR\0"
 *   " 20\0"                          " 20\0"
 *   record length: 4 bytes           record length: 2 bytes, or 0x0000
 *                                    followed by 4 bytes when > 0xFFFF
 *   -                                CBEFF product identifier: 4 bytes
 *   capture equipment: 4 bits compliance + 12 bits equipment id
 *   image width, height: 2 bytes each (pixels)
 *   x, y resolution: 2 bytes each (pixels per centimetre)
 *   number of finger views: 1 byte; reserved: 1 byte
 *   per view: finger position (1), view number (4 bits) + impression
 *   type (4 bits), finger quality (1), number of minutiae (1), then
 *   6 bytes per minutia: type (2 bits: 01 ending, 10 bifurcation, 00
 *   other) + x (14 bits); reserved (2 bits) + y (14 bits); angle (1);
 *   quality (1); then the extended data block length (2) and the block.
 *   Angle unit: 360/256 degrees         Angle unit: 2 degrees (0..179)
 *
 * Both measure the angle counterclockwise from the +x axis with y down.
 * The extended data block is a sequence of areas: type (2), length (2),
 * data.  Writers differ on whether the length counts the area's own
 * 4 bytes (SourceAFIS' samples do); the reader takes whichever reading
 * makes the areas exactly fill the block and writes lengths without them.
 * Type 0x0002 (core and delta data) is decoded into the template; other
 * areas are checked and skipped.
 *
 * Detection (HUELLA_FINGER_FORMAT_AUTO): "HFT\0" is the internal format.
 * For "FMR\0": when bytes 8-9 are zero the record is ANSI if bytes 10-13
 * read as the ANSI 4-byte length fit the buffer (the 6-byte form), and
 * ISO (a length below 64 KiB) otherwise; when bytes 8-9 are non-zero it
 * is ISO if the 4-byte length fits the buffer and ANSI (2-byte length)
 * otherwise.  A well-formed record is never misread this way: an ANSI
 * 2-byte length L puts L << 16 in the ISO field, and an ISO length L puts
 * L << 16 in the ANSI 6-byte field, far beyond any buffer of L bytes.
 */
#include "huella/finger.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TWO_PI 6.283185307179586

static const uint8_t fmr_magic[4] = {'F', 'M', 'R', 0};
static const uint8_t fmr_version[4] = {' ', '2', '0', 0};

typedef struct fmr_format {
    huella_finger_format id;
    const char *name;     /* for messages */
    unsigned angle_units; /* per full turn: 256 (ISO) or 180 (ANSI) */
} fmr_format;

static const fmr_format iso_fmt = {HUELLA_FINGER_FORMAT_ISO_2005, "ISO 19794-2", 256};
static const fmr_format ansi_fmt = {HUELLA_FINGER_FORMAT_ANSI_2004, "ANSI 378", 180};

const char *huella_finger_format_name(huella_finger_format format)
{
    switch (format) {
    case HUELLA_FINGER_FORMAT_AUTO:
        return "auto";
    case HUELLA_FINGER_FORMAT_ISO_2005:
        return "ISO/IEC 19794-2:2005";
    case HUELLA_FINGER_FORMAT_ANSI_2004:
        return "ANSI INCITS 378-2004";
    case HUELLA_FINGER_FORMAT_HUELLA:
        return "huella template";
    }
    return "unknown";
}

void huella_finger_record_free(huella_finger_record *rec)
{
    if (rec == NULL)
        return;
    for (size_t i = 0; i < rec->n_views; i++)
        huella_finger_template_free(rec->views[i]);
    free(rec->views);
    free(rec);
}

/* Pixels at resolution res (px/cm) to 500 ppi and back.  0 = unknown,
 * taken as 500 ppi. */
static float to_500(unsigned v, uint16_t res)
{
    if (res == 0)
        return (float)v;
    return (float)((double)v * HUELLA_FINGER_PPI / ((double)res * 2.54));
}

static double from_500(double v, uint16_t res)
{
    if (res == 0)
        return v;
    return v * (double)res * 2.54 / HUELLA_FINGER_PPI;
}

static float angle_from_units(unsigned a, unsigned units)
{
    return (float)((double)a * TWO_PI / (double)units);
}

static unsigned angle_to_units(float a, unsigned units)
{
    long q = lround((double)a * (double)units / TWO_PI);
    q %= (long)units;
    if (q < 0)
        q += (long)units;
    return (unsigned)q;
}

/* ---- Reading ------------------------------------------------------------- */

typedef struct fmr_header {
    uint16_t width, height, res_x, res_y;
} fmr_header;

static huella_status truncated(huella_error *err, const fmr_format *f, const char *what,
                               const huella_reader *r)
{
    return huella_error_set(err, HUELLA_E_INPUT, "%s: record ends at byte %zu inside %s", f->name,
                            r->len, what);
}

static huella_status read_singulars(huella_reader *r, const fmr_format *f, size_t view,
                                    const fmr_header *h, huella_finger_template *t, bool delta,
                                    huella_error *err)
{
    const char *kind = delta ? "delta" : "core";
    uint8_t info;
    if (!huella_read_u8(r, &info))
        return huella_error_set(err, HUELLA_E_INPUT, "%s: view %zu core/delta data: no %s count",
                                f->name, view, kind);
    unsigned info_type = info >> 6, count = info & 0x0F;
    if (info_type > 1)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: view %zu core/delta data: %s information type %u is "
                                "reserved",
                                f->name, view, kind, info_type);
    unsigned n_angles = info_type == 1 ? (delta ? 3u : 1u) : 0u;
    size_t need = (size_t)count * (4 + n_angles);
    if (need > huella_reader_left(r))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: view %zu core/delta data declares %u %ss (%zu bytes) but "
                                "only %zu bytes remain",
                                f->name, view, count, kind, need, huella_reader_left(r));
    for (unsigned i = 0; i < count; i++) {
        uint16_t x, y;
        huella_read_u16be(r, &x);
        huella_read_u16be(r, &y);
        huella_finger_singular s = {to_500(x & 0x3FFF, h->res_x),
                                    to_500(y & 0x3FFF, h->res_y),
                                    (uint8_t)n_angles,
                                    {0, 0, 0}};
        for (unsigned k = 0; k < n_angles; k++) {
            uint8_t a;
            huella_read_u8(r, &a);
            if (a >= f->angle_units)
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "%s: view %zu %s %u: angle %u is out of range (0..%u)",
                                        f->name, view, kind, i, (unsigned)a, f->angle_units - 1);
            s.angles[k] = angle_from_units(a, f->angle_units);
        }
        if (delta)
            t->deltas[t->n_deltas++] = s;
        else
            t->cores[t->n_cores++] = s;
    }
    return HUELLA_OK;
}

/* Whether the areas (type, length, data) exactly fill a block of n bytes,
 * with lengths that count the 4-byte area header or not. */
static bool areas_tile(const uint8_t *p, size_t n, bool with_header)
{
    size_t pos = 0;
    while (pos < n) {
        if (n - pos < 4)
            return false;
        size_t len = huella_load_u16be(p + pos + 2);
        if (with_header) {
            if (len < 4)
                return false;
            len -= 4;
        }
        if (len > n - pos - 4)
            return false;
        pos += 4 + len;
    }
    return true;
}

static huella_status read_extended(huella_reader *r, const fmr_format *f, size_t view,
                                   const fmr_header *h, huella_finger_template *t,
                                   huella_error *err)
{
    uint16_t block;
    if (!huella_read_u16be(r, &block))
        return truncated(err, f, "the extended data block length", r);
    if (block > huella_reader_left(r))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: view %zu declares %u bytes of extended data but only %zu "
                                "bytes remain",
                                f->name, view, (unsigned)block, huella_reader_left(r));
    const uint8_t *area0 = r->data + r->pos;
    huella_read_skip(r, block);
    /* Writers disagree on whether an area's length counts its own 4-byte
     * header: take the reading under which the areas exactly fill the
     * block (not counting it first). */
    bool with_header = !areas_tile(area0, block, false);
    if (with_header && !areas_tile(area0, block, true))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: view %zu extended data: its areas do not fill the %u-byte "
                                "block (an area length runs past the block or is too short)",
                                f->name, view, (unsigned)block);
    huella_reader ext;
    huella_reader_init(&ext, area0, block);
    bool seen_core_delta = false;
    while (huella_reader_left(&ext) > 0) {
        uint16_t type, len;
        huella_read_u16be(&ext, &type);
        huella_read_u16be(&ext, &len);
        if (with_header)
            len = (uint16_t)(len - 4);
        if (type == 0)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: view %zu extended data: area type 0x0000 is reserved",
                                    f->name, view);
        if (type == 0x0002 && !seen_core_delta) {
            seen_core_delta = true;
            huella_reader area;
            huella_reader_init(&area, ext.data + ext.pos, len);
            huella_status st = read_singulars(&area, f, view, h, t, false, err);
            if (st == HUELLA_OK)
                st = read_singulars(&area, f, view, h, t, true, err);
            if (st != HUELLA_OK)
                return st;
            if (huella_reader_left(&area) != 0)
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "%s: view %zu core/delta data: %zu bytes left over",
                                        f->name, view, huella_reader_left(&area));
        }
        huella_read_skip(&ext, len);
    }
    return HUELLA_OK;
}

static huella_status read_view(huella_reader *r, const fmr_format *f, size_t view,
                               const fmr_header *h, huella_finger_template *t, huella_error *err)
{
    uint8_t pos, vi, quality, count;
    if (!huella_read_u8(r, &pos) || !huella_read_u8(r, &vi) || !huella_read_u8(r, &quality) ||
        !huella_read_u8(r, &count))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: view %zu header needs 4 bytes but only %zu remain", f->name,
                                view, huella_reader_left(r));
    if (pos > 10)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: view %zu: finger position %u is not a valid code (0..10)",
                                f->name, view, (unsigned)pos);
    if (quality > 100)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: view %zu: finger quality %u is above 100",
                                f->name, view, (unsigned)quality);
    t->finger_position = pos;
    t->view_number = vi >> 4;
    t->impression_type = vi & 0x0F;
    t->finger_quality = quality;
    t->width = (uint16_t)lroundf(to_500(h->width, h->res_x));
    t->height = (uint16_t)lroundf(to_500(h->height, h->res_y));
    t->resolution_x = h->res_x;
    t->resolution_y = h->res_y;
    size_t need = (size_t)count * 6;
    if (need > huella_reader_left(r))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: view %zu declares %u minutiae (%zu bytes) but only %zu "
                                "bytes remain",
                                f->name, view, (unsigned)count, need, huella_reader_left(r));
    for (unsigned i = 0; i < count; i++) {
        uint16_t tx, ry;
        uint8_t angle, q;
        huella_read_u16be(r, &tx);
        huella_read_u16be(r, &ry);
        huella_read_u8(r, &angle);
        huella_read_u8(r, &q);
        unsigned code = tx >> 14;
        if (code == 3)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: view %zu minutia %u: type code 11 is reserved", f->name,
                                    view, i);
        if ((ry >> 14) != 0)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: view %zu minutia %u: reserved bits above y are set",
                                    f->name, view, i);
        if (angle >= f->angle_units)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: view %zu minutia %u: angle %u is out of range (0..%u)",
                                    f->name, view, i, (unsigned)angle, f->angle_units - 1);
        if (q > 100)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: view %zu minutia %u: quality %u is above 100", f->name,
                                    view, i, (unsigned)q);
        huella_minutia m;
        m.x = to_500(tx & 0x3FFF, h->res_x);
        m.y = to_500(ry, h->res_y);
        m.direction = angle_from_units(angle, f->angle_units);
        m.type = code == 1   ? HUELLA_MINUTIA_ENDING
                 : code == 2 ? HUELLA_MINUTIA_BIFURCATION
                             : HUELLA_MINUTIA_OTHER;
        m.quality = q;
        huella_status st = huella_finger_template_add(t, &m, err);
        if (st != HUELLA_OK) {
            huella_error_prefix(err, "%s: view %zu: ", f->name, view);
            return st;
        }
    }
    return read_extended(r, f, view, h, t, err);
}

/* Which of ISO and ANSI an "FMR\0" record is; see the file comment. */
static const fmr_format *detect(const uint8_t *p, size_t len)
{
    if (len < 12)
        return &iso_fmt; /* too short for either: let the ISO reader say why */
    uint16_t hi = huella_load_u16be(p + 8);
    if (hi == 0) {
        /* ISO length below 64 KiB, or the ANSI 6-byte form whose 4-byte
         * length starts at byte 10. */
        uint32_t ansi = len >= 14 ? huella_load_u32be(p + 10) : 0;
        return ansi >= 30 && ansi <= len ? &ansi_fmt : &iso_fmt;
    }
    return huella_load_u32be(p + 8) <= len ? &iso_fmt : &ansi_fmt;
}

static huella_status read_fmr(const uint8_t *data, size_t len, const fmr_format *f,
                              huella_finger_record *rec, huella_error *err)
{
    huella_reader r;
    huella_reader_init(&r, data, len);
    uint8_t magic[4], version[4];
    if (!huella_read_bytes(&r, magic, 4) || memcmp(magic, fmr_magic, 4) != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: format identifier is not \"FMR\\0\"",
                                f->name);
    if (!huella_read_bytes(&r, version, 4))
        return truncated(err, f, "the version", &r);
    if (memcmp(version, fmr_version, 4) != 0)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "%s: version \"%.3s\" is not supported (only \" 20\")", f->name,
                                (const char *)version);
    uint32_t length = 0;
    size_t header_size;
    if (f->id == HUELLA_FINGER_FORMAT_ISO_2005) {
        if (!huella_read_u32be(&r, &length))
            return truncated(err, f, "the record length", &r);
        header_size = 24;
    } else {
        uint16_t short_len;
        if (!huella_read_u16be(&r, &short_len))
            return truncated(err, f, "the record length", &r);
        length = short_len;
        header_size = 26;
        if (short_len == 0) {
            if (!huella_read_u32be(&r, &length))
                return truncated(err, f, "the 4-byte record length", &r);
            header_size = 30;
        }
        uint32_t cbeff;
        if (!huella_read_u32be(&r, &cbeff))
            return truncated(err, f, "the CBEFF product identifier", &r);
        rec->cbeff_product_id = cbeff;
    }
    if (length < header_size)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: record length %u is smaller than the %zu-byte header", f->name,
                                (unsigned)length, header_size);
    if (length > len)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: record length %u is larger than the %zu bytes given", f->name,
                                (unsigned)length, len);
    rec->declared_length = length;
    rec->trailing_bytes = len - length;
    r.len = length; /* from here on nothing beyond the declared length is read */

    uint16_t equipment;
    fmr_header h;
    uint8_t n_views, reserved;
    if (!huella_read_u16be(&r, &equipment) || !huella_read_u16be(&r, &h.width) ||
        !huella_read_u16be(&r, &h.height) || !huella_read_u16be(&r, &h.res_x) ||
        !huella_read_u16be(&r, &h.res_y) || !huella_read_u8(&r, &n_views) ||
        !huella_read_u8(&r, &reserved))
        return truncated(err, f, "the record header", &r);
    rec->equipment_compliance = (uint8_t)(equipment >> 12);
    rec->equipment_id = equipment & 0x0FFF;
    if (n_views == 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: number of finger views is 0 (at least 1 required)", f->name);
    rec->views = calloc(n_views, sizeof(huella_finger_template *));
    if (rec->views == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: cannot allocate %u views", f->name,
                                (unsigned)n_views);
    for (size_t v = 0; v < n_views; v++) {
        huella_status st = huella_finger_template_new(&rec->views[v], err);
        if (st != HUELLA_OK)
            return st;
        rec->n_views = v + 1;
        st = read_view(&r, f, v + 1, &h, rec->views[v], err);
        if (st != HUELLA_OK)
            return st;
    }
    if (huella_reader_left(&r) != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: record length %u declares %zu bytes after the last view "
                                "that no field accounts for",
                                f->name, (unsigned)length, huella_reader_left(&r));
    return HUELLA_OK;
}

huella_status huella_finger_record_read(const void *data, size_t len, huella_finger_format format,
                                        huella_finger_record **out, huella_error *err)
{
    *out = NULL;
    const uint8_t *p = data;
    if (p == NULL)
        len = 0;
    huella_finger_record *rec = calloc(1, sizeof(*rec));
    if (rec == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate a finger record");
    if (format == HUELLA_FINGER_FORMAT_AUTO) {
        if (len >= 4 && memcmp(p, "HFT", 4) == 0)
            format = HUELLA_FINGER_FORMAT_HUELLA;
        else if (len >= 4 && memcmp(p, fmr_magic, 4) == 0)
            format = detect(p, len)->id;
        else {
            free(rec);
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "not a finger minutiae record: it starts with neither "
                                    "\"FMR\\0\" (ISO 19794-2, ANSI 378) nor \"HFT\\0\" (huella)");
        }
    }
    rec->format = format;
    huella_status st;
    switch (format) {
    case HUELLA_FINGER_FORMAT_ISO_2005:
        st = read_fmr(p, len, &iso_fmt, rec, err);
        break;
    case HUELLA_FINGER_FORMAT_ANSI_2004:
        st = read_fmr(p, len, &ansi_fmt, rec, err);
        break;
    case HUELLA_FINGER_FORMAT_HUELLA:
        rec->views = calloc(1, sizeof(huella_finger_template *));
        if (rec->views == NULL) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate a finger record");
            break;
        }
        st = huella_finger_template_decode(p, len, &rec->views[0], err);
        rec->n_views = st == HUELLA_OK ? 1 : 0;
        rec->declared_length = len;
        break;
    default:
        st = huella_error_set(err, HUELLA_E_INPUT, "unknown finger record format %d", (int)format);
    }
    if (st != HUELLA_OK) {
        huella_finger_record_free(rec);
        return st;
    }
    *out = rec;
    return HUELLA_OK;
}

huella_status huella_finger_template_load(const void *data, size_t len,
                                          huella_finger_template **out, huella_error *err)
{
    *out = NULL;
    huella_finger_record *rec;
    huella_status st = huella_finger_record_read(data, len, HUELLA_FINGER_FORMAT_AUTO, &rec, err);
    if (st != HUELLA_OK)
        return st;
    /* The first view is taken over rather than copied. */
    *out = rec->views[0];
    rec->views[0] = NULL;
    huella_finger_record_free(rec);
    return HUELLA_OK;
}

/* ---- Writing ------------------------------------------------------------- */

static huella_status put_coord(huella_buf *b, double v500, uint16_t res, unsigned top_bits,
                               const char *what, size_t view, size_t index, huella_error *err)
{
    long v = lround(from_500(v500, res));
    if (v < 0 || v > 0x3FFF)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "view %zu %s %zu: coordinate %ld does not fit in 14 bits", view,
                                what, index, v);
    huella_buf_append_u16be(b, (uint16_t)(top_bits << 14 | (unsigned)v));
    return HUELLA_OK;
}

static huella_status put_core_delta(huella_buf *b, const fmr_format *f,
                                    const huella_finger_template *t, uint16_t res_x, uint16_t res_y,
                                    size_t view, huella_error *err)
{
    if (t->n_cores == 0 && t->n_deltas == 0) {
        huella_buf_append_u16be(b, 0);
        return HUELLA_OK;
    }
    /* One area, type 0x0002; all cores (and all deltas) share one
     * information type, so angles are written only if all have them. */
    bool core_angles = t->n_cores > 0, delta_angles = t->n_deltas > 0;
    for (size_t i = 0; i < t->n_cores; i++)
        core_angles = core_angles && t->cores[i].n_angles == 1;
    for (size_t i = 0; i < t->n_deltas; i++)
        delta_angles = delta_angles && t->deltas[i].n_angles == 3;
    size_t area = 2 + t->n_cores * (4u + (core_angles ? 1u : 0u)) +
                  t->n_deltas * (4u + (delta_angles ? 3u : 0u));
    huella_buf_append_u16be(b, (uint16_t)(area + 4));
    huella_buf_append_u16be(b, 0x0002);
    huella_buf_append_u16be(b, (uint16_t)area);
    for (int pass = 0; pass < 2; pass++) {
        bool delta = pass == 1;
        size_t n = delta ? t->n_deltas : t->n_cores;
        bool angles = delta ? delta_angles : core_angles;
        const huella_finger_singular *s = delta ? t->deltas : t->cores;
        huella_buf_append_u8(b, (uint8_t)((angles ? 0x40 : 0) | (n & 0x0F)));
        for (size_t i = 0; i < n; i++) {
            const char *kind = delta ? "delta" : "core";
            huella_status st = put_coord(b, s[i].x, res_x, 0, kind, view, i, err);
            if (st == HUELLA_OK)
                st = put_coord(b, s[i].y, res_y, 0, kind, view, i, err);
            if (st != HUELLA_OK)
                return st;
            for (unsigned k = 0; angles && k < (delta ? 3u : 1u); k++)
                huella_buf_append_u8(b, (uint8_t)angle_to_units(s[i].angles[k], f->angle_units));
        }
    }
    return HUELLA_OK;
}

static huella_status write_views(huella_buf *b, const fmr_format *f,
                                 const huella_finger_template *const *views, size_t n_views,
                                 huella_error *err)
{
    uint16_t res_x = views[0]->resolution_x, res_y = views[0]->resolution_y;
    for (size_t v = 0; v < n_views; v++) {
        const huella_finger_template *t = views[v];
        if (t->n_minutiae > 255 || t->finger_position > 10 || t->view_number > 15 ||
            t->impression_type > 15 || t->finger_quality > 100 || t->n_cores > 15 ||
            t->n_deltas > 15)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: view %zu holds values the format cannot carry (%zu "
                                    "minutiae, position %u, view %u, impression %u, quality %u)",
                                    f->name, v + 1, t->n_minutiae, (unsigned)t->finger_position,
                                    (unsigned)t->view_number, (unsigned)t->impression_type,
                                    (unsigned)t->finger_quality);
        huella_buf_append_u8(b, t->finger_position);
        huella_buf_append_u8(b, (uint8_t)(t->view_number << 4 | t->impression_type));
        huella_buf_append_u8(b, t->finger_quality);
        huella_buf_append_u8(b, (uint8_t)t->n_minutiae);
        for (size_t i = 0; i < t->n_minutiae; i++) {
            const huella_minutia *m = &t->minutiae[i];
            unsigned code = m->type == HUELLA_MINUTIA_ENDING        ? 1u
                            : m->type == HUELLA_MINUTIA_BIFURCATION ? 2u
                                                                    : 0u;
            huella_status st = put_coord(b, m->x, res_x, code, "minutia", v + 1, i, err);
            if (st == HUELLA_OK)
                st = put_coord(b, m->y, res_y, 0, "minutia", v + 1, i, err);
            if (st != HUELLA_OK)
                return st;
            huella_buf_append_u8(b, (uint8_t)angle_to_units(m->direction, f->angle_units));
            huella_buf_append_u8(b, m->quality > 100 ? 100 : m->quality);
        }
        huella_status st = put_core_delta(b, f, t, res_x, res_y, v + 1, err);
        if (st != HUELLA_OK)
            return st;
    }
    return HUELLA_OK;
}

static uint16_t image_size(uint16_t v500, uint16_t res)
{
    long v = lround(from_500(v500, res));
    return (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
}

huella_status huella_finger_record_write(const huella_finger_template *const *views, size_t n_views,
                                         huella_finger_format format, uint8_t **out, size_t *len,
                                         huella_error *err)
{
    *out = NULL;
    *len = 0;
    if (n_views == 0 || n_views > 255)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "a finger record holds 1 to 255 views, not %zu", n_views);
    if (format == HUELLA_FINGER_FORMAT_HUELLA) {
        if (n_views != 1)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "the huella template format holds one view, not %zu", n_views);
        return huella_finger_template_encode(views[0], out, len, err);
    }
    const fmr_format *f;
    if (format == HUELLA_FINGER_FORMAT_ISO_2005)
        f = &iso_fmt;
    else if (format == HUELLA_FINGER_FORMAT_ANSI_2004)
        f = &ansi_fmt;
    else
        return huella_error_set(err, HUELLA_E_INPUT, "cannot write finger record format %d",
                                (int)format);

    /* The body first, so that the length field can be chosen (ANSI). */
    huella_buf body;
    huella_buf_init(&body);
    const huella_finger_template *t0 = views[0];
    huella_buf_append_u16be(&body, 0); /* capture equipment: unreported */
    huella_buf_append_u16be(&body, image_size(t0->width, t0->resolution_x));
    huella_buf_append_u16be(&body, image_size(t0->height, t0->resolution_y));
    huella_buf_append_u16be(&body, t0->resolution_x);
    huella_buf_append_u16be(&body, t0->resolution_y);
    huella_buf_append_u8(&body, (uint8_t)n_views);
    huella_buf_append_u8(&body, 0);
    huella_status st = write_views(&body, f, views, n_views, err);
    if (st == HUELLA_OK && !body.ok)
        st = huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the record");
    if (st != HUELLA_OK) {
        huella_buf_free(&body);
        return st;
    }
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append(&b, fmr_magic, 4);
    huella_buf_append(&b, fmr_version, 4);
    if (f->id == HUELLA_FINGER_FORMAT_ISO_2005) {
        huella_buf_append_u32be(&b, (uint32_t)(body.len + 12));
    } else if (body.len + 16 <= 0xFFFF) {
        huella_buf_append_u16be(&b, (uint16_t)(body.len + 14));
        huella_buf_append_u32be(&b, 0); /* CBEFF product identifier: unreported */
    } else {
        huella_buf_append_u16be(&b, 0);
        huella_buf_append_u32be(&b, (uint32_t)(body.len + 18));
        huella_buf_append_u32be(&b, 0);
    }
    huella_buf_append(&b, body.data, body.len);
    huella_buf_free(&body);
    if (!b.ok) {
        huella_buf_free(&b);
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the record");
    }
    *out = b.data;
    *len = b.len;
    return HUELLA_OK;
}
