/*
 * an2k.c - ANSI/NIST-ITL 1-2011 transactions in the traditional encoding:
 * reading, writing and building.
 *
 * Contract: huella_an2k_read parses a whole transaction into the model of
 * huella/an2k.h and huella_an2k_write writes that model back; for a
 * transaction that was read and not changed the bytes are the same, because
 * the model keeps every tag as written, the field order, every subfield and
 * item as bytes, the LEN values as text and the GS some writers put before
 * the final FS.  Building functions insert fields in numeric order and
 * huella_an2k_update_lengths recomputes LEN and the content list.
 *
 * Layout (ANSI/NIST-ITL 1-2011 §7.1-7.2, Annex B traditional encoding):
 *   the Type-1 record comes first; its field 1.003 CNT lists, after a
 *   first subfield "1 US count", one subfield "type US IDC" per following
 *   record, in file order.  Tagged records are fields "T.NNN:value"
 *   separated by GS and ended by FS; the first field T.001 LEN gives the
 *   record's length in bytes, FS included.  Field 999 of image records is
 *   binary and runs to the FS.  Binary records (Type-3 to 8) start with a
 *   4-byte big-endian length of the whole record.
 * Tags with fewer than three digits ("9.01", from version 0200 writers) are
 * accepted and kept as written.
 */
#include "formats/an2k_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AN2K_MAX_RECORDS 100000u

bool an2k_parse_uint(const uint8_t *s, size_t len, unsigned long *out)
{
    if (len == 0 || len > 9)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* ---- model ------------------------------------------------------------- */

static void field_clear(huella_an2k_field *f)
{
    for (size_t s = 0; s < f->n_subfields; s++) {
        for (size_t i = 0; i < f->subfields[s].n_items; i++)
            free(f->subfields[s].items[i].data);
        free(f->subfields[s].items);
    }
    free(f->subfields);
    f->subfields = NULL;
    f->n_subfields = 0;
}

static void record_clear(huella_an2k_record *rec)
{
    for (size_t i = 0; i < rec->n_fields; i++)
        field_clear(&rec->fields[i]);
    free(rec->fields);
    free(rec->raw);
}

void huella_an2k_free(huella_an2k *txn)
{
    if (txn == NULL)
        return;
    for (size_t r = 0; r < txn->n_records; r++)
        record_clear(&txn->records[r]);
    free(txn->records);
    free(txn);
}

huella_status huella_an2k_new(huella_an2k **out, huella_error *err)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    return HUELLA_OK;
}

huella_status huella_an2k_add_record(huella_an2k *txn, unsigned type, bool tagged,
                                     huella_an2k_record **rec, huella_error *err)
{
    if (txn->n_records >= AN2K_MAX_RECORDS)
        return huella_error_set(err, HUELLA_E_INPUT, "ANSI/NIST: more than %u records",
                                AN2K_MAX_RECORDS);
    huella_an2k_record *grown = realloc(txn->records, (txn->n_records + 1) * sizeof(*txn->records));
    if (grown == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    txn->records = grown;
    huella_an2k_record *r = &txn->records[txn->n_records++];
    memset(r, 0, sizeof(*r));
    r->type = type;
    r->tagged = tagged;
    *rec = r;
    return HUELLA_OK;
}

/* Split value into subfields (RS) and items (US), copying every item. */
static bool split_value(huella_an2k_field *f, const uint8_t *v, size_t len)
{
    size_t n_sub = 1;
    for (size_t i = 0; i < len; i++)
        n_sub += v[i] == HUELLA_AN2K_RS;
    f->subfields = calloc(n_sub, sizeof(*f->subfields));
    if (f->subfields == NULL)
        return false;
    f->n_subfields = n_sub;
    size_t start = 0;
    for (size_t s = 0; s < n_sub; s++) {
        size_t end = start;
        while (end < len && v[end] != HUELLA_AN2K_RS)
            end++;
        size_t n_items = 1;
        for (size_t i = start; i < end; i++)
            n_items += v[i] == HUELLA_AN2K_US;
        huella_an2k_subfield *sf = &f->subfields[s];
        sf->items = calloc(n_items, sizeof(*sf->items));
        if (sf->items == NULL)
            return false;
        sf->n_items = n_items;
        size_t is = start;
        for (size_t i = 0; i < n_items; i++) {
            size_t ie = is;
            while (ie < end && v[ie] != HUELLA_AN2K_US)
                ie++;
            /* +1 so that empty items still own a buffer (and a NUL for
             * callers that print them). */
            sf->items[i].data = malloc(ie - is + 1);
            if (sf->items[i].data == NULL)
                return false;
            memcpy(sf->items[i].data, v + is, ie - is);
            sf->items[i].data[ie - is] = 0;
            sf->items[i].len = ie - is;
            is = ie + 1;
        }
        start = end + 1;
    }
    return true;
}

static bool set_binary(huella_an2k_field *f, const uint8_t *v, size_t len)
{
    f->binary = true;
    f->subfields = calloc(1, sizeof(*f->subfields));
    if (f->subfields == NULL)
        return false;
    f->n_subfields = 1;
    f->subfields[0].items = calloc(1, sizeof(huella_an2k_item));
    if (f->subfields[0].items == NULL)
        return false;
    f->subfields[0].n_items = 1;
    f->subfields[0].items[0].data = malloc(len + 1);
    if (f->subfields[0].items[0].data == NULL)
        return false;
    if (len > 0)
        memcpy(f->subfields[0].items[0].data, v, len);
    f->subfields[0].items[0].data[len] = 0;
    f->subfields[0].items[0].len = len;
    return true;
}

static bool append_field(huella_an2k_record *rec, huella_an2k_field **out)
{
    huella_an2k_field *grown = realloc(rec->fields, (rec->n_fields + 1) * sizeof(*rec->fields));
    if (grown == NULL)
        return false;
    rec->fields = grown;
    *out = &rec->fields[rec->n_fields++];
    memset(*out, 0, sizeof(**out));
    return true;
}

/* The slot for field `number`: the existing one (cleared), or a new one
 * inserted before the first field with a larger number. */
static huella_status field_slot(huella_an2k_record *rec, unsigned number, huella_an2k_field **out,
                                huella_error *err)
{
    if (!rec->tagged)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "ANSI/NIST: Type-%u is a binary record and has no fields",
                                rec->type);
    if (number == 0 || number > 999)
        return huella_error_set(err, HUELLA_E_INPUT, "ANSI/NIST: field number %u is not 1-999",
                                number);
    for (size_t i = 0; i < rec->n_fields; i++)
        if (rec->fields[i].number == number) {
            field_clear(&rec->fields[i]);
            rec->fields[i].binary = false;
            *out = &rec->fields[i];
            return HUELLA_OK;
        }
    huella_an2k_field *f;
    if (!append_field(rec, &f))
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    size_t at = rec->n_fields - 1;
    while (at > 0 && rec->fields[at - 1].number > number)
        at--;
    memmove(&rec->fields[at + 1], &rec->fields[at],
            (rec->n_fields - 1 - at) * sizeof(*rec->fields));
    f = &rec->fields[at];
    memset(f, 0, sizeof(*f));
    f->record_type = rec->type;
    f->number = number;
    snprintf(f->tag, sizeof(f->tag), "%u.%03u", rec->type, number);
    *out = f;
    return HUELLA_OK;
}

huella_status huella_an2k_set_field(huella_an2k_record *rec, unsigned number, const char *value,
                                    huella_error *err)
{
    size_t len = strlen(value);
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)value[i] == HUELLA_AN2K_FS || (uint8_t)value[i] == HUELLA_AN2K_GS)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "ANSI/NIST: field %u.%03u: a value may not hold FS or GS",
                                    rec->type, number);
    huella_an2k_field *f;
    huella_status st = field_slot(rec, number, &f, err);
    if (st != HUELLA_OK)
        return st;
    if (!split_value(f, (const uint8_t *)value, len))
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    return HUELLA_OK;
}

huella_status huella_an2k_set_binary_field(huella_an2k_record *rec, unsigned number,
                                           const uint8_t *data, size_t len, huella_error *err)
{
    huella_an2k_field *f;
    huella_status st = field_slot(rec, number, &f, err);
    if (st != HUELLA_OK)
        return st;
    if (!set_binary(f, data, len))
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    return HUELLA_OK;
}

const huella_an2k_field *huella_an2k_find_field(const huella_an2k_record *rec, unsigned number)
{
    for (size_t i = 0; i < rec->n_fields; i++)
        if (rec->fields[i].number == number)
            return &rec->fields[i];
    return NULL;
}

bool huella_an2k_item_text(const huella_an2k_record *rec, unsigned number, size_t s, size_t i,
                           char *buf, size_t cap)
{
    const huella_an2k_field *f = huella_an2k_find_field(rec, number);
    if (f == NULL || s >= f->n_subfields || i >= f->subfields[s].n_items || cap == 0)
        return false;
    const huella_an2k_item *it = &f->subfields[s].items[i];
    size_t n = it->len < cap - 1 ? it->len : cap - 1;
    memcpy(buf, it->data, n);
    buf[n] = '\0';
    return true;
}

bool an2k_item_uint(const huella_an2k_record *rec, unsigned number, size_t s, size_t i,
                    unsigned long *out)
{
    const huella_an2k_field *f = huella_an2k_find_field(rec, number);
    if (f == NULL || s >= f->n_subfields || i >= f->subfields[s].n_items)
        return false;
    const huella_an2k_item *it = &f->subfields[s].items[i];
    return an2k_parse_uint(it->data, it->len, out);
}

bool an2k_record_idc(const huella_an2k_record *rec, unsigned long *idc)
{
    if (!rec->tagged) {
        if (rec->raw_len < 5)
            return false;
        *idc = rec->raw[4];
        return true;
    }
    return an2k_item_uint(rec, 2, 0, 0, idc);
}

/* ---- reading ----------------------------------------------------------- */

/* Parse "T.NNN:" at p; returns bytes consumed (colon included) or 0. */
static size_t parse_tag(const uint8_t *p, size_t left, unsigned long *type, unsigned long *number,
                        char *tag, size_t tag_cap)
{
    size_t i = 0;
    while (i < left && i < 12 && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == 0 || i >= left || p[i] != '.' || !an2k_parse_uint(p, i, type))
        return 0;
    size_t dot = i++;
    while (i < left && i < dot + 10 && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == dot + 1 || i >= left || p[i] != ':' ||
        !an2k_parse_uint(p + dot + 1, i - dot - 1, number))
        return 0;
    if (i >= tag_cap)
        return 0;
    memcpy(tag, p, i);
    tag[i] = '\0';
    return i + 1;
}

/* Some writers (NBIS test transactions) put short text fields tagged 999
 * before the real image field ("14.999:011010 GS 14.999:<JPEG>").  A 999
 * value is read as text when it is printable up to a GS that a tag
 * follows; image payloads start with non-printable magic bytes (JPEG FFD8,
 * WSQ FFA0, PNG 89 50, JPEG 2000 00 00), so real image data never is. */
static bool text_before_next_field(const uint8_t *p, size_t left)
{
    size_t i = 0;
    while (i < left && p[i] != HUELLA_AN2K_GS) {
        if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != HUELLA_AN2K_US && p[i] != HUELLA_AN2K_RS)
            return false;
        i++;
    }
    if (i >= left)
        return false;
    unsigned long t, n;
    char tag[24];
    return parse_tag(p + i + 1, left - i - 1, &t, &n, tag, sizeof(tag)) != 0;
}

#define READ_FAIL(...) huella_error_set(err, HUELLA_E_INPUT, __VA_ARGS__)

/* Read the tagged record starting at data (left bytes remain in the file).
 * recno is 1-based; type is the type the content list gives (0 when the
 * record is not listed: then the tag decides). */
static huella_status read_tagged(huella_an2k *txn, const uint8_t *data, size_t left, size_t recno,
                                 unsigned type, size_t offset, size_t *used, huella_error *err)
{
    unsigned long ttype, number;
    char tag[24];
    size_t n = parse_tag(data, left, &ttype, &number, tag, sizeof(tag));
    if (n == 0)
        return READ_FAIL("record %zu (Type-%u) at byte %zu: expected the tag of field %u.001 LEN, "
                         "found no 'T.NNN:'",
                         recno, type, offset, type);
    if (type == 0) {
        /* A record the content list forgot: its tag gives the type. */
        if (ttype == 0 || ttype > 99 || an2k_type_is_binary((unsigned)ttype))
            return READ_FAIL("record %zu at byte %zu: tag %s: not a tagged record type", recno,
                             offset, tag);
        type = (unsigned)ttype;
    }
    if (number != 1)
        return READ_FAIL("record %zu (Type-%u) field %s: the first field must be LEN (%u.001)",
                         recno, type, tag, type);
    size_t e = n;
    while (e < left && e < n + 10 && data[e] >= '0' && data[e] <= '9')
        e++;
    unsigned long rec_len;
    if (!an2k_parse_uint(data + n, e - n, &rec_len))
        return READ_FAIL("record %zu (Type-%u) field %s LEN: not a number", recno, type, tag);
    if (rec_len > left)
        return READ_FAIL("record %zu (Type-%u) field %s LEN: declares %lu bytes but only %zu "
                         "remain in the file (truncated?)",
                         recno, type, tag, rec_len, left);
    if (rec_len < e + 1 || data[rec_len - 1] != HUELLA_AN2K_FS)
        return READ_FAIL("record %zu (Type-%u) field %s LEN: declares %lu bytes but the record "
                         "does not end with FS there",
                         recno, type, tag, rec_len);
    huella_an2k_record *rec;
    huella_status st = huella_an2k_add_record(txn, type, true, &rec, err);
    if (st != HUELLA_OK)
        return st;
    size_t end = rec_len - 1; /* the FS */
    size_t p = 0;
    while (p < end) {
        n = parse_tag(data + p, end - p, &ttype, &number, tag, sizeof(tag));
        if (n == 0)
            return READ_FAIL("record %zu (Type-%u): field %zu (after %s) at byte %zu: expected a "
                             "tag 'T.NNN:'",
                             recno, type, rec->n_fields + 1,
                             rec->n_fields ? rec->fields[rec->n_fields - 1].tag : "start",
                             offset + p);
        if (number > 999)
            return READ_FAIL("record %zu (Type-%u) field %s: field number above 999", recno, type,
                             tag);
        huella_an2k_field *f;
        if (!append_field(rec, &f))
            return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
        f->record_type = (unsigned)ttype;
        f->number = (unsigned)number;
        memcpy(f->tag, tag, sizeof(tag));
        p += n;
        size_t v = p;
        bool ok;
        if (number == 999 && an2k_type_has_binary_999(type) &&
            !text_before_next_field(data + p, end - p)) {
            p = end;
            ok = set_binary(f, data + v, end - v);
        } else {
            while (p < end && data[p] != HUELLA_AN2K_GS)
                p++;
            ok = split_value(f, data + v, p - v);
            if (p < end) {
                p++; /* the GS */
                if (p == end)
                    rec->trailing_gs = true;
            }
        }
        if (!ok)
            return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    }
    if (rec->n_fields == 0)
        return READ_FAIL("record %zu (Type-%u): no fields", recno, type);
    *used = rec_len;
    return HUELLA_OK;
}

static huella_status read_binary(huella_an2k *txn, const uint8_t *data, size_t left, size_t recno,
                                 unsigned type, size_t offset, size_t *used, huella_error *err)
{
    size_t header = type == 7 ? 5 : type == 8 ? 12 : 18;
    if (left < 4)
        return READ_FAIL("record %zu (Type-%u) field LEN at byte %zu: the file ends inside the "
                         "4-byte record length",
                         recno, type, offset);
    uint32_t rec_len = huella_load_u32be(data);
    if (rec_len < header)
        return READ_FAIL("record %zu (Type-%u) field LEN: %u bytes is shorter than the %zu-byte "
                         "header",
                         recno, type, rec_len, header);
    if (rec_len > left)
        return READ_FAIL("record %zu (Type-%u) field LEN: declares %u bytes but only %zu remain in "
                         "the file (truncated?)",
                         recno, type, rec_len, left);
    huella_an2k_record *rec;
    huella_status st = huella_an2k_add_record(txn, type, false, &rec, err);
    if (st != HUELLA_OK)
        return st;
    rec->raw = malloc(rec_len);
    if (rec->raw == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    memcpy(rec->raw, data, rec_len);
    rec->raw_len = rec_len;
    *used = rec_len;
    return HUELLA_OK;
}

static huella_status read_all(huella_an2k *txn, const uint8_t *data, size_t len, huella_error *err)
{
    size_t pos = 0, used = 0;
    huella_status st = read_tagged(txn, data, len, 1, 1, 0, &used, err);
    if (st != HUELLA_OK)
        return st;
    pos += used;
    const huella_an2k_record *t1 = &txn->records[0];
    const huella_an2k_field *cnt = huella_an2k_find_field(t1, 3);
    if (cnt == NULL)
        return READ_FAIL("record 1 (Type-1) field 1.003 CNT: missing, so the records that follow "
                         "are unknown");
    /* Copy the listed types first: reading records moves txn->records. */
    size_t n_listed = cnt->n_subfields - 1;
    unsigned *types = calloc(n_listed + 1, sizeof(*types));
    if (types == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    for (size_t s = 1; s < cnt->n_subfields; s++) {
        const huella_an2k_item *it = &cnt->subfields[s].items[0];
        unsigned long t;
        if (!an2k_parse_uint(it->data, it->len, &t) || t == 0 || t > 99) {
            free(types);
            return READ_FAIL("record 1 (Type-1) field 1.003 CNT: subfield %zu: record type "
                             "'%.*s' is not a number 1-99",
                             s + 1, (int)(it->len > 20 ? 20 : it->len), (const char *)it->data);
        }
        types[s - 1] = (unsigned)t;
    }
    for (size_t k = 0; k < n_listed && st == HUELLA_OK; k++) {
        if (pos >= len) {
            st = READ_FAIL("record %zu (Type-%u): missing: 1.003 CNT lists %zu records after "
                           "Type-1 but the file ends after %zu",
                           k + 2, types[k], n_listed, k);
            break;
        }
        if (an2k_type_is_binary(types[k]))
            st = read_binary(txn, data + pos, len - pos, k + 2, types[k], pos, &used, err);
        else
            st = read_tagged(txn, data + pos, len - pos, k + 2, types[k], pos, &used, err);
        pos += used;
    }
    free(types);
    /* Tagged records the content list forgot are kept, for validation to
     * report; anything else after the last record is an error. */
    while (st == HUELLA_OK && pos < len) {
        st = read_tagged(txn, data + pos, len - pos, txn->n_records + 1, 0, pos, &used, err);
        if (st != HUELLA_OK)
            huella_error_prefix(err,
                                "%zu bytes after the records listed in 1.003 CNT: ", len - pos);
        pos += used;
    }
    return st;
}

huella_status huella_an2k_read(const uint8_t *data, size_t len, huella_an2k **out,
                               huella_error *err)
{
    *out = NULL;
    huella_an2k *txn;
    huella_status st = huella_an2k_new(&txn, err);
    if (st != HUELLA_OK)
        return st;
    st = read_all(txn, data, len, err);
    if (st != HUELLA_OK) {
        huella_an2k_free(txn);
        return st;
    }
    *out = txn;
    return HUELLA_OK;
}

/* ---- writing ----------------------------------------------------------- */

static void write_field(huella_buf *b, const huella_an2k_field *f)
{
    huella_buf_append(b, f->tag, strlen(f->tag));
    huella_buf_append_u8(b, ':');
    for (size_t s = 0; s < f->n_subfields; s++) {
        if (s > 0)
            huella_buf_append_u8(b, HUELLA_AN2K_RS);
        for (size_t i = 0; i < f->subfields[s].n_items; i++) {
            if (i > 0)
                huella_buf_append_u8(b, HUELLA_AN2K_US);
            huella_buf_append(b, f->subfields[s].items[i].data, f->subfields[s].items[i].len);
        }
    }
}

static void write_record(huella_buf *b, const huella_an2k_record *rec)
{
    if (!rec->tagged) {
        huella_buf_append(b, rec->raw, rec->raw_len);
        return;
    }
    for (size_t i = 0; i < rec->n_fields; i++) {
        if (i > 0)
            huella_buf_append_u8(b, HUELLA_AN2K_GS);
        write_field(b, &rec->fields[i]);
    }
    if (rec->trailing_gs)
        huella_buf_append_u8(b, HUELLA_AN2K_GS);
    huella_buf_append_u8(b, HUELLA_AN2K_FS);
}

huella_status huella_an2k_write(const huella_an2k *txn, uint8_t **out, size_t *len,
                                huella_error *err)
{
    *out = NULL;
    *len = 0;
    huella_buf b;
    huella_buf_init(&b);
    for (size_t r = 0; r < txn->n_records; r++)
        write_record(&b, &txn->records[r]);
    if (!b.ok) {
        huella_buf_free(&b);
        return huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory writing");
    }
    *out = b.data;
    *len = b.len;
    return HUELLA_OK;
}

/* ---- lengths and content list ------------------------------------------ */

static size_t tagged_length(const huella_an2k_record *rec)
{
    huella_buf b;
    huella_buf_init(&b);
    write_record(&b, rec);
    size_t n = b.ok ? b.len : 0;
    huella_buf_free(&b);
    return n;
}

huella_status huella_an2k_update_lengths(huella_an2k *txn, huella_error *err)
{
    if (txn->n_records == 0 || txn->records[0].type != 1 || !txn->records[0].tagged)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "ANSI/NIST: the first record must be a tagged Type-1 record");
    huella_buf cnt;
    huella_buf_init(&cnt);
    char tmp[48];
    snprintf(tmp, sizeof(tmp), "1%c%zu", HUELLA_AN2K_US, txn->n_records - 1);
    huella_buf_append(&cnt, tmp, strlen(tmp));
    for (size_t r = 1; r < txn->n_records; r++) {
        unsigned long idc = 0;
        if (!an2k_record_idc(&txn->records[r], &idc)) {
            huella_buf_free(&cnt);
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "ANSI/NIST: record %zu (Type-%u) field %u.002 IDC: missing or "
                                    "not a number",
                                    r + 1, txn->records[r].type, txn->records[r].type);
        }
        snprintf(tmp, sizeof(tmp), "%c%u%c%02lu", HUELLA_AN2K_RS, txn->records[r].type,
                 HUELLA_AN2K_US, idc);
        huella_buf_append(&cnt, tmp, strlen(tmp));
    }
    huella_buf_append_u8(&cnt, 0);
    huella_status st = cnt.ok ? huella_an2k_set_field(&txn->records[0], 3, (char *)cnt.data, err)
                              : huella_error_set(err, HUELLA_E_NOMEM, "ANSI/NIST: out of memory");
    huella_buf_free(&cnt);
    if (st != HUELLA_OK)
        return st;
    for (size_t r = 0; r < txn->n_records && st == HUELLA_OK; r++) {
        huella_an2k_record *rec = &txn->records[r];
        if (!rec->tagged) {
            if (rec->raw_len < 4 || rec->raw_len > UINT32_MAX)
                return huella_error_set(err, HUELLA_E_INPUT,
                                        "ANSI/NIST: record %zu (Type-%u): %zu bytes cannot be "
                                        "described by a 4-byte LEN",
                                        r + 1, rec->type, rec->raw_len);
            huella_store_u32be(rec->raw, (uint32_t)rec->raw_len);
            continue;
        }
        /* The length includes its own digits: iterate to the fixed point
         * (at most twice more when the digit count changes). */
        size_t guess = 0;
        for (int iter = 0; iter < 4; iter++) {
            snprintf(tmp, sizeof(tmp), "%zu", guess);
            st = huella_an2k_set_field(rec, 1, tmp, err);
            if (st != HUELLA_OK)
                break;
            size_t actual = tagged_length(rec);
            if (actual == guess)
                break;
            guess = actual;
        }
    }
    return st;
}
