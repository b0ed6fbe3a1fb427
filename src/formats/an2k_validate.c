/*
 * an2k_validate.c - checking a transaction against ANSI/NIST-ITL 1-2011.
 *
 * Contract: huella_an2k_validate lists every problem it finds, each with
 * the record number (1-based), the record type, the field tag and a
 * message; it never stops at the first.  It checks:
 *   - the content list 1.003 CNT against the records present: the count in
 *     its first subfield, one "type US IDC" subfield per record, types and
 *     IDCs equal to those of the records (§8.1.3);
 *   - every LEN (tagged x.001 and the 4-byte binary length) against the
 *     bytes the record really takes;
 *   - field structure: tags of the record's own type, no field twice, IDC
 *     numeric, numeric fields numeric, dates YYYYMMDD, 1.002 one of the
 *     published versions, 1.011/1.012 as NN.NN, SLC 0-2, CGA a defined
 *     compression, positions within the defined codes;
 *   - mandatory fields per record type (Type-1 Table 11, Type-2, Type-9
 *     Table 25, Type-10 Table 27, Type-13/14/15 Tables 31/33/35, Type-16,
 *     Type-17 Table 38);
 *   - image sizes: uncompressed payloads hold exactly HLL x VLL pixels at
 *     their bit depth; compressed payloads decode (through
 *     huella_image_decode) to HLL x VLL.  A payload this build cannot
 *     decode (HUELLA_E_UNSUPPORTED) is not a problem, only unchecked.
 * Tags with fewer than three digits and fields out of numeric order are
 * accepted, as the versions 0200/0201 writers made them.
 */
#include "formats/an2k_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct problems {
    huella_an2k_problem *list;
    size_t n, cap;
    bool nomem;
} problems;

static void add(problems *p, size_t record, unsigned type, const char *tag, const char *fmt, ...)
    HUELLA_PRINTF(5, 6);

static void add(problems *p, size_t record, unsigned type, const char *tag, const char *fmt, ...)
{
    if (p->nomem)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        huella_an2k_problem *grown = realloc(p->list, cap * sizeof(*grown));
        if (grown == NULL) {
            p->nomem = true;
            return;
        }
        p->list = grown;
        p->cap = cap;
    }
    huella_an2k_problem *q = &p->list[p->n++];
    q->record = record;
    q->type = type;
    snprintf(q->tag, sizeof(q->tag), "%s", tag ? tag : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->message, sizeof(q->message), fmt, ap);
    va_end(ap);
}

static const char *mn(unsigned type, unsigned number)
{
    const char *m = huella_an2k_field_mnemonic(type, number);
    return m ? m : "";
}

static void text_of(const huella_an2k_field *f, char *buf, size_t cap)
{
    const huella_an2k_item *it = &f->subfields[0].items[0];
    size_t n = it->len < cap - 1 ? it->len : cap - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = it->data[i] >= 0x20 && it->data[i] < 0x7f ? (char)it->data[i] : '?';
    buf[n] = '\0';
}

static bool single_item(const huella_an2k_field *f)
{
    return f->n_subfields == 1 && f->subfields[0].n_items == 1;
}

/* YYYYMMDD in the first 8 bytes of s. */
static bool date8(const uint8_t *s)
{
    unsigned long v;
    if (!an2k_parse_uint(s, 8, &v))
        return false;
    unsigned long y = v / 10000, m = v / 100 % 100, d = v % 100;
    return y >= 1900 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static bool is_date(const huella_an2k_item *it)
{
    return it->len == 8 && date8(it->data);
}

static bool is_resolution(const huella_an2k_item *it)
{
    if (it->len != 5 || it->data[2] != '.')
        return false;
    for (size_t i = 0; i < 5; i++)
        if (i != 2 && (it->data[i] < '0' || it->data[i] > '9'))
            return false;
    return true;
}

static const unsigned mand_1[] = {1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 0};
static const unsigned mand_2[] = {1, 2, 0};
static const unsigned mand_9[] = {1, 2, 3, 4, 0};
static const unsigned mand_10[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 999, 0};
static const unsigned mand_fr[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 999, 0};
static const unsigned mand_16[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 999, 0};
static const unsigned mand_17[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 999, 0};
static const unsigned mand_other[] = {1, 2, 0};

static const unsigned *mandatory(unsigned type)
{
    switch (type) {
    case 1:
        return mand_1;
    case 2:
        return mand_2;
    case 9:
        return mand_9;
    case 10:
        return mand_10;
    case 13:
    case 14:
    case 15:
        return mand_fr;
    case 16:
        return mand_16;
    case 17:
        return mand_17;
    default:
        return mand_other;
    }
}

/* Friction ridge generalized positions (ANSI/NIST-ITL 1-2011 Table 8):
 * fingers 0-15 and 19 (EJI or tip), palms 20-38, finger segments 40-50,
 * plantar 60-79.  Type-13 latents may be any of them, Type-14 holds
 * fingers, Type-15 palms. */
static bool position_allowed(unsigned type, unsigned long v)
{
    bool finger = v <= 19, palm = v >= 20 && v <= 38, segment = v >= 40 && v <= 50;
    bool plantar = v >= 60 && v <= 79;
    if (type == 14)
        return finger || segment;
    if (type == 15)
        return palm;
    return finger || palm || segment || plantar;
}

static bool known_cga(const char *c)
{
    static const char *const known[] = {"NONE", "WSQ20", "WSQ", "JPEGB", "JPEGL",
                                        "JP2",  "JP2L",  "PNG", NULL};
    for (size_t i = 0; known[i]; i++)
        if (strcmp(c, known[i]) == 0)
            return true;
    return false;
}

/* Bytes that r takes when written. */
static size_t written_length(const huella_an2k_record *rec)
{
    huella_an2k tmp = {(huella_an2k_record *)rec, 1};
    uint8_t *out;
    size_t len;
    if (huella_an2k_write(&tmp, &out, &len, NULL) != HUELLA_OK)
        return 0;
    free(out);
    return len;
}

static void check_cnt(const huella_an2k *txn, problems *p)
{
    const huella_an2k_record *t1 = &txn->records[0];
    const huella_an2k_field *cnt = huella_an2k_find_field(t1, 3);
    if (cnt == NULL)
        return; /* reported as a missing mandatory field */
    char tag[24];
    snprintf(tag, sizeof(tag), "%s", cnt->tag);
    unsigned long count;
    const huella_an2k_subfield *first = &cnt->subfields[0];
    if (first->n_items != 2 ||
        !an2k_parse_uint(first->items[0].data, first->items[0].len, &count) || count != 1 ||
        !an2k_parse_uint(first->items[1].data, first->items[1].len, &count))
        add(p, 1, 1, tag, "CNT: the first subfield must be '1 US count of the other records'");
    else if (count != txn->n_records - 1)
        add(p, 1, 1, tag, "CNT: the first subfield counts %lu records but %zu follow Type-1", count,
            txn->n_records - 1);
    if (cnt->n_subfields - 1 != txn->n_records - 1)
        add(p, 1, 1, tag, "CNT: lists %zu records but the transaction holds %zu after Type-1",
            cnt->n_subfields - 1, txn->n_records - 1);
    for (size_t s = 1; s < cnt->n_subfields; s++) {
        const huella_an2k_subfield *sf = &cnt->subfields[s];
        unsigned long type, idc;
        if (sf->n_items != 2 || !an2k_parse_uint(sf->items[0].data, sf->items[0].len, &type) ||
            !an2k_parse_uint(sf->items[1].data, sf->items[1].len, &idc)) {
            add(p, 1, 1, tag, "CNT: subfield %zu is not 'record type US IDC'", s + 1);
            continue;
        }
        if (s >= txn->n_records)
            continue;
        const huella_an2k_record *rec = &txn->records[s];
        if (type != rec->type)
            add(p, s + 1, rec->type, tag,
                "CNT: subfield %zu says Type-%lu but record %zu is Type-%u", s + 1, type, s + 1,
                rec->type);
        unsigned long rec_idc;
        if (an2k_record_idc(rec, &rec_idc) && rec_idc != idc)
            add(p, s + 1, rec->type, tag,
                "CNT: subfield %zu gives IDC %lu but record %zu has IDC %lu", s + 1, idc, s + 1,
                rec_idc);
    }
}

static void check_type1(const huella_an2k_record *rec, problems *p)
{
    const huella_an2k_field *f = huella_an2k_find_field(rec, 2);
    if (f != NULL) {
        static const char *const versions[] = {"0200", "0201", "0300", "0400", "0500", "0501",
                                               "0502", "0503", "0504", "0600", NULL};
        char v[16];
        text_of(f, v, sizeof(v));
        bool ok = false;
        for (size_t i = 0; versions[i] && single_item(f); i++)
            ok |= strcmp(v, versions[i]) == 0;
        if (!ok)
            add(p, 1, 1, f->tag, "VER: '%s' is not a version of the standard (0200 to 0600)", v);
    }
    f = huella_an2k_find_field(rec, 5);
    if (f != NULL && (!single_item(f) || !is_date(&f->subfields[0].items[0])))
        add(p, 1, 1, f->tag, "DAT: not a date YYYYMMDD");
    f = huella_an2k_find_field(rec, 14);
    if (f != NULL) {
        const huella_an2k_item *it = &f->subfields[0].items[0];
        unsigned long v;
        if (!single_item(f) || it->len != 15 || it->data[14] != 'Z' || !date8(it->data) ||
            !an2k_parse_uint(it->data + 8, 6, &v) || v / 10000 > 23 || v / 100 % 100 > 59 ||
            v % 100 > 59)
            add(p, 1, 1, f->tag, "GMT: not a UTC time YYYYMMDDhhmmssZ");
    }
    for (unsigned n = 11; n <= 12; n++) {
        f = huella_an2k_find_field(rec, n);
        if (f != NULL && (!single_item(f) || !is_resolution(&f->subfields[0].items[0])))
            add(p, 1, 1, f->tag, "%s: not a resolution NN.NN in pixels per millimetre", mn(1, n));
    }
}

static void check_image(const huella_an2k *txn, size_t r, problems *p)
{
    const huella_an2k_record *rec = &txn->records[r];
    huella_an2k_image_info info;
    huella_error e;
    huella_status st = huella_an2k_image_info_get(txn, r, &info, &e);
    char tag[24] = "";
    if (rec->tagged)
        snprintf(tag, sizeof(tag), "%u.999", rec->type);
    if (st == HUELLA_E_NOTFOUND)
        return;
    if (st != HUELLA_OK) {
        add(p, r + 1, rec->type, tag, "%s", e.message);
        return;
    }
    if (strcmp(info.compression, "USER") == 0 || strcmp(info.compression, "VECTOR") == 0 ||
        strcmp(info.compression, "FAX") == 0 || strcmp(info.compression, "BINARY") == 0)
        return;
    if (info.width == 0 || info.height == 0) {
        add(p, r + 1, rec->type, rec->tagged ? "" : "HLL/VLL",
            "image size %u x %u: both must be positive", info.width, info.height);
        return;
    }
    if (strcmp(info.compression, "UNKNOWN") == 0) {
        add(p, r + 1, rec->type, "GCA", "compression code is not one the standard defines");
        return;
    }
    if (rec->tagged && !known_cga(info.compression))
        return; /* reported with field CGA */
    if (strcmp(info.compression, "NONE") == 0) {
        size_t px, bits, bytes;
        unsigned bpp = info.bits_per_pixel ? info.bits_per_pixel : 8;
        size_t row_bytes;
        if (!huella_size_mul(info.width, bpp, &bits)) {
            add(p, r + 1, rec->type, tag, "image size overflows");
            return;
        }
        row_bytes = (bits + 7) / 8;
        if (!huella_size_mul(row_bytes, info.height, &bytes) ||
            !huella_size_mul(info.width, info.height, &px)) {
            add(p, r + 1, rec->type, tag, "image size overflows");
            return;
        }
        /* Type-8 scans come at 1 bit (the standard's sample type-8-sig),
         * 8 bits (NBIS sign_raw) and 24 bits (type-8-sig-raw). */
        if (rec->type == 8 && (info.len == (px + 7) / 8 * 1 || info.len == px ||
                               (px <= SIZE_MAX / 3 && info.len == 3 * px) ||
                               info.len == (info.width + 7) / 8 * (size_t)info.height))
            return;
        if (bytes != info.len) {
            huella_image_format f = huella_image_detect(info.data, info.len);
            add(p, r + 1, rec->type, tag,
                "uncompressed image of %u x %u pixels at %u bits needs %zu bytes but the record "
                "holds %zu%s%s%s",
                info.width, info.height, bpp, bytes, info.len,
                f != HUELLA_IMAGE_UNKNOWN ? " (and the payload is a " : "",
                f != HUELLA_IMAGE_UNKNOWN ? huella_image_format_name(f) : "",
                f != HUELLA_IMAGE_UNKNOWN ? " file, not raw pixels)" : "");
        }
        return;
    }
    huella_image *img = NULL;
    st = huella_an2k_image_decode(&info, &img, &e);
    if (st == HUELLA_E_UNSUPPORTED)
        return; /* unchecked: this build cannot decode it */
    if (st != HUELLA_OK) {
        add(p, r + 1, rec->type, tag, "%s image data does not decode: %s", info.compression,
            e.message);
        return;
    }
    if (img->width != info.width || img->height != info.height)
        add(p, r + 1, rec->type, tag, "the %s image is %u x %u pixels but HLL x VLL says %u x %u",
            info.compression, img->width, img->height, info.width, info.height);
    huella_image_free(img);
}

static void check_binary(const huella_an2k_record *rec, size_t r, problems *p)
{
    huella_an2k_binary_header h;
    huella_error e;
    if (huella_an2k_binary_header_read(rec, &h, &e) != HUELLA_OK) {
        add(p, r + 1, rec->type, "LEN", "%s", e.message);
        return;
    }
    if (h.len != rec->raw_len)
        add(p, r + 1, rec->type, "LEN", "declares %u bytes but the record takes %zu", h.len,
            rec->raw_len);
    if (rec->type == 7)
        return;
    if (rec->type == 8) {
        if (h.imp > 1)
            add(p, r + 1, rec->type, "SIG", "signature type %u is not 0 (subject) or 1 (official)",
                h.imp);
        if (h.gca > 2)
            add(p, r + 1, rec->type, "SRT", "signature representation %u is not 0, 1 or 2", h.gca);
        if (h.gca == 2 && (rec->raw_len - 12) % 5 != 0)
            add(p, r + 1, rec->type, "DATA", "vector data of %zu bytes is not 5-byte vectors",
                rec->raw_len - 12);
        return;
    }
    if (h.imp > 3 && !(h.imp >= 20 && h.imp <= 39))
        add(p, r + 1, rec->type, "IMP", "impression type %u is not a defined code", h.imp);
    if (h.fgp[0] > 14)
        add(p, r + 1, rec->type, "FGP", "first finger position %u is not 0-14", h.fgp[0]);
    for (size_t i = 1; i < 6; i++)
        if (h.fgp[i] > 14 && h.fgp[i] != 255)
            add(p, r + 1, rec->type, "FGP", "finger position %zu is %u: not 0-14 or 255 (unused)",
                i + 1, h.fgp[i]);
    if (h.isr > 1)
        add(p, r + 1, rec->type, "ISR", "image scanning resolution %u is not 0 or 1", h.isr);
}

static void check_tagged(const huella_an2k *txn, size_t r, problems *p)
{
    const huella_an2k_record *rec = &txn->records[r];
    unsigned t = rec->type;
    /* Field numbers are 1-999 (the reader refuses others): count them in
     * one pass, so that a record of many fields stays linear. */
    size_t counts[1000] = {0};
    for (size_t i = 0; i < rec->n_fields; i++)
        counts[rec->fields[i].number % 1000]++;
    size_t foreign = 0;
    for (size_t i = 0; i < rec->n_fields; i++) {
        const huella_an2k_field *f = &rec->fields[i];
        if (f->record_type != t && foreign++ == 0)
            add(p, r + 1, t, f->tag, "a field of Type-%u in a Type-%u record", f->record_type, t);
        size_t *c = &counts[f->number % 1000];
        if (*c > 1) {
            add(p, r + 1, t, f->tag, "field %u appears %zu times; a field may appear once",
                f->number, *c);
            *c = 0; /* report once, at the first occurrence */
        }
    }
    if (foreign > 1)
        add(p, r + 1, t, "", "%zu fields in all are tagged with another record type", foreign);
    for (const unsigned *m = mandatory(t); *m; m++)
        if (huella_an2k_find_field(rec, *m) == NULL) {
            char tag[24];
            snprintf(tag, sizeof(tag), "%u.%03u", t, *m);
            add(p, r + 1, t, tag, "%s%smandatory field is missing", mn(t, *m),
                *mn(t, *m) ? ": " : "");
        }
    const huella_an2k_field *len = huella_an2k_find_field(rec, 1);
    if (len != NULL) {
        unsigned long v;
        size_t actual = written_length(rec);
        if (!single_item(len) ||
            !an2k_parse_uint(len->subfields[0].items[0].data, len->subfields[0].items[0].len, &v))
            add(p, r + 1, t, len->tag, "LEN: not a number");
        else if (v != actual)
            add(p, r + 1, t, len->tag, "LEN: declares %lu bytes but the record takes %zu", v,
                actual);
    }
    if (t != 1) {
        const huella_an2k_field *idc = huella_an2k_find_field(rec, 2);
        unsigned long v;
        if (idc != NULL &&
            (!single_item(idc) ||
             !an2k_parse_uint(idc->subfields[0].items[0].data, idc->subfields[0].items[0].len, &v)))
            add(p, r + 1, t, idc->tag, "IDC: not a number");
    }
    if (t == 1) {
        check_type1(rec, p);
        return;
    }
    if (t != 10 && (t < 13 || t > 17))
        return;
    /* Image records: numeric geometry, known codes. */
    static const unsigned numeric[] = {6, 7, 8, 9, 10, 0};
    for (const unsigned *n = numeric; *n; n++) {
        const huella_an2k_field *f = huella_an2k_find_field(rec, *n);
        unsigned long v;
        if (f != NULL && (!single_item(f) || !an2k_parse_uint(f->subfields[0].items[0].data,
                                                              f->subfields[0].items[0].len, &v)))
            add(p, r + 1, t, f->tag, "%s: not a number", mn(t, *n));
        else if (f != NULL && *n == 8 && v > 2)
            add(p, r + 1, t, f->tag, "SLC: %lu is not 0 (none), 1 (ppi) or 2 (ppcm)", v);
    }
    const huella_an2k_field *f = huella_an2k_find_field(rec, 5);
    if (f != NULL && (!single_item(f) || !is_date(&f->subfields[0].items[0])))
        add(p, r + 1, t, f->tag, "%s: not a date YYYYMMDD", mn(t, 5));
    if (t == 10) {
        /* §8.10: scars, marks and tattoos carry their NCIC code in 10.040,
         * and each SMT descriptor (10.042) has at most 4 items: SMI, TAC,
         * TSC, TDS. */
        char imt[16] = "";
        huella_an2k_item_text(rec, 3, 0, 0, imt, sizeof(imt));
        if ((strcmp(imt, "SCAR") == 0 || strcmp(imt, "MARK") == 0 || strcmp(imt, "TATTOO") == 0) &&
            huella_an2k_find_field(rec, 40) == NULL)
            add(p, r + 1, t, "10.040", "SMT: mandatory when IMT is %s", imt);
        const huella_an2k_field *smd = huella_an2k_find_field(rec, 42);
        for (size_t s = 0; smd != NULL && s < smd->n_subfields; s++)
            if (smd->subfields[s].n_items > 4 || smd->subfields[s].items[0].len == 0)
                add(p, r + 1, t, smd->tag,
                    "SMD: subfield %zu must hold 1-4 items (SMI, TAC, TSC, TDS), SMI first", s + 1);
    }
    f = huella_an2k_find_field(rec, 11);
    if (f != NULL) {
        char c[24];
        text_of(f, c, sizeof(c));
        if (!single_item(f) || !known_cga(c))
            add(p, r + 1, t, f->tag, "CGA: '%s' is not a compression the standard defines", c);
    }
    if (t >= 13 && t <= 16) {
        f = huella_an2k_find_field(rec, 12);
        unsigned long v;
        if (f != NULL &&
            (!single_item(f) ||
             !an2k_parse_uint(f->subfields[0].items[0].data, f->subfields[0].items[0].len, &v) ||
             (v != 8 && v != 16 && v != 24 && v != 48)))
            add(p, r + 1, t, f->tag, "BPX: not 8, 16, 24 or 48 bits per pixel");
    }
    if (t >= 13 && t <= 15) {
        f = huella_an2k_find_field(rec, 13);
        for (size_t s = 0; f != NULL && s < f->n_subfields; s++) {
            unsigned long v;
            const huella_an2k_item *it = &f->subfields[s].items[0];
            if (!an2k_parse_uint(it->data, it->len, &v) || !position_allowed(t, v))
                add(p, r + 1, t, f->tag, "FGP: subfield %zu is not a %s position code (%s)", s + 1,
                    t == 15   ? "palm"
                    : t == 14 ? "finger"
                              : "friction ridge",
                    t == 15   ? "20-38"
                    : t == 14 ? "0-19, 40-50"
                              : "0-38, 40-50, 60-79");
        }
    }
    check_image(txn, r, p);
}

huella_status huella_an2k_validate(const huella_an2k *txn, huella_an2k_problem **out, size_t *n_out,
                                   huella_error *err)
{
    *out = NULL;
    *n_out = 0;
    problems p = {0};
    if (txn->n_records == 0 || txn->records[0].type != 1 || !txn->records[0].tagged) {
        add(&p, 1, 1, "", "the transaction must start with a tagged Type-1 record");
    } else {
        check_cnt(txn, &p);
        for (size_t r = 0; r < txn->n_records; r++) {
            if (txn->records[r].tagged)
                check_tagged(txn, r, &p);
            else {
                check_binary(&txn->records[r], r, &p);
                check_image(txn, r, &p);
            }
            if (r > 0 && txn->records[r].type == 1)
                add(&p, r + 1, 1, "", "only the first record may be Type-1");
        }
    }
    if (p.nomem) {
        free(p.list);
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST validation: out of memory");
    }
    *out = p.list;
    *n_out = p.n;
    return HUELLA_OK;
}
