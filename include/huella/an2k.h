/*
 * huella/an2k.h - ANSI/NIST-ITL 1-2011 transactions, traditional encoding.
 *
 * A transaction is a list of records.  Tagged records (Type-1, 2, 9, 10,
 * 13 to 17, 99, ...) are lists of fields "T.NNN:value"; a value is a list of
 * subfields (separated by RS) and a subfield a list of items (separated by
 * US); fields are separated by GS and a record ends with FS.  Binary
 * records (Type-3 to 8) have a fixed big-endian header and are kept as
 * their bytes.  Every field, subfield and item is kept as the bytes read,
 * with the tag as written ("9.01" stays "9.01") and the fields in the order
 * read, so that writing a transaction that was read and not changed gives
 * back the same bytes.  docs/interchange.md describes the model, the
 * validation rules and the command line.
 */
#ifndef HUELLA_AN2K_H
#define HUELLA_AN2K_H

#include "huella/base.h"
#include "huella/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The separators of the traditional encoding. */
#define HUELLA_AN2K_FS 0x1c /* end of record */
#define HUELLA_AN2K_GS 0x1d /* between fields */
#define HUELLA_AN2K_RS 0x1e /* between subfields */
#define HUELLA_AN2K_US 0x1f /* between items */

typedef struct huella_an2k_item {
    uint8_t *data;
    size_t len;
} huella_an2k_item;

typedef struct huella_an2k_subfield {
    huella_an2k_item *items; /* at least one */
    size_t n_items;
} huella_an2k_subfield;

typedef struct huella_an2k_field {
    unsigned record_type; /* the T of "T.NNN" */
    unsigned number;      /* the NNN of "T.NNN" */
    char tag[24];         /* the tag as written, without the colon */
    /* An opaque value (the image data of field 999): one subfield with one
     * item, never split on separators. */
    bool binary;
    huella_an2k_subfield *subfields; /* at least one */
    size_t n_subfields;
} huella_an2k_field;

typedef struct huella_an2k_record {
    unsigned type;
    bool tagged;
    /* Tagged records. */
    huella_an2k_field *fields;
    size_t n_fields;
    /* A GS written after the last field, before the FS (a quirk of some
     * writers, kept so that the bytes come back the same). */
    bool trailing_gs;
    /* Binary records: the whole record, header included. */
    uint8_t *raw;
    size_t raw_len;
} huella_an2k_record;

typedef struct huella_an2k {
    huella_an2k_record *records; /* records[0] is the Type-1 record */
    size_t n_records;
} huella_an2k;

/* Read a whole transaction.  The content list (1.003) says which records
 * follow and whether each is binary; every record length is checked.
 * Errors name the record (1-based, as in a dump), its type and the field. */
HUELLA_API huella_status huella_an2k_read(const uint8_t *data, size_t len, huella_an2k **out,
                                          huella_error *err);
/* Write the transaction as it is (lengths are not recomputed: call
 * huella_an2k_update_lengths after a change).  *out is freed with free(). */
HUELLA_API huella_status huella_an2k_write(const huella_an2k *txn, uint8_t **out, size_t *len,
                                           huella_error *err);
HUELLA_API void huella_an2k_free(huella_an2k *txn);

/* An empty transaction, to be built with the functions below. */
HUELLA_API huella_status huella_an2k_new(huella_an2k **out, huella_error *err);
/* Append an empty record; *rec stays valid until the next append. */
HUELLA_API huella_status huella_an2k_add_record(huella_an2k *txn, unsigned type, bool tagged,
                                                huella_an2k_record **rec, huella_error *err);
/* Set field NNN of a tagged record from text: RS and US in value split it
 * into subfields and items, as in the file.  Replaces an existing field
 * with that number, else inserts it in numeric order (999 last). */
HUELLA_API huella_status huella_an2k_set_field(huella_an2k_record *rec, unsigned number,
                                               const char *value, huella_error *err);
/* Set an opaque field (the image data, 999) to a copy of data. */
HUELLA_API huella_status huella_an2k_set_binary_field(huella_an2k_record *rec, unsigned number,
                                                      const uint8_t *data, size_t len,
                                                      huella_error *err);
/* Recompute every LEN field (tagged x.001, binary 4-byte header) and the
 * content list 1.003 from the records present, with their IDC. */
HUELLA_API huella_status huella_an2k_update_lengths(huella_an2k *txn, huella_error *err);

/* The field with that number, or NULL. */
HUELLA_API const huella_an2k_field *huella_an2k_find_field(const huella_an2k_record *rec,
                                                           unsigned number);
/* Item (subfield s, item i) of field NNN as a NUL-terminated copy in buf
 * (truncated to cap - 1); false when it does not exist. */
HUELLA_API bool huella_an2k_item_text(const huella_an2k_record *rec, unsigned number, size_t s,
                                      size_t i, char *buf, size_t cap);
/* Mnemonic ("CNT") and name ("content") of a field; NULL when unknown. */
HUELLA_API const char *huella_an2k_field_mnemonic(unsigned record_type, unsigned number);
HUELLA_API const char *huella_an2k_field_name(unsigned record_type, unsigned number);
/* "transaction information", "legacy greyscale fingerprint", ... */
HUELLA_API const char *huella_an2k_record_name(unsigned type);

/* Header of a binary record (Type-3 to 8), decoded from raw. */
typedef struct huella_an2k_binary_header {
    uint32_t len;
    uint8_t idc;
    uint8_t imp;    /* Type-3..6: impression type; Type-8: signature type (SIG) */
    uint8_t fgp[6]; /* Type-3..6 finger positions, 255 unused */
    uint8_t isr;    /* scanning resolution: 0 minimum (1.011), 1 native (1.012) */
    uint16_t hll;
    uint16_t vll;
    uint8_t gca;         /* compression; Type-8: SRT (0 scanned, 1 compressed, 2 vectors) */
    size_t header_bytes; /* 18 (Type-3..6), 12 (Type-8), 5 (Type-7) */
} huella_an2k_binary_header;

HUELLA_API huella_status huella_an2k_binary_header_read(const huella_an2k_record *rec,
                                                        huella_an2k_binary_header *h,
                                                        huella_error *err);

/* The image of a record, as the record describes it. */
typedef struct huella_an2k_image_info {
    size_t record;           /* 0-based index in txn->records */
    unsigned type;           /* record type */
    unsigned idc;            /* information designation character */
    char compression[16];    /* WSQ20, JPEGB, JPEGL, JP2, JP2L, PNG, NONE, ... */
    unsigned width, height;  /* HLL, VLL */
    unsigned bits_per_pixel; /* BPX, or 8 for Type-4, 24 for colour Type-10 */
    double ppi;              /* from SLC/THPS or ISR and 1.011/1.012; 0 unknown */
    int impression;          /* IMP; -1 when the record has none */
    unsigned positions[6];   /* FGP / palm positions / eye label */
    size_t n_positions;
    char image_type[16]; /* Type-10 IMT (FACE, SCAR, MARK, TATTOO, ...); Type-16 UDI */
    const uint8_t *data; /* the payload inside the record */
    size_t len;
} huella_an2k_image_info;

/* Describe the image of record r.  HUELLA_E_NOTFOUND when the record type
 * holds no image (Type-1, 2, 9, ...); HUELLA_E_INPUT when its fields are
 * malformed. */
HUELLA_API huella_status huella_an2k_image_info_get(const huella_an2k *txn, size_t r,
                                                    huella_an2k_image_info *info,
                                                    huella_error *err);
/* Decode the payload through huella_image_decode (raw payloads through
 * huella_image_decode_raw) and set its resolution from the record.
 * HUELLA_E_UNSUPPORTED when this build cannot decode the compression. */
HUELLA_API huella_status huella_an2k_image_decode(const huella_an2k_image_info *info,
                                                  huella_image **out, huella_error *err);

/* One problem found by huella_an2k_validate. */
typedef struct huella_an2k_problem {
    size_t record; /* 1-based record number; 0 for the transaction */
    unsigned type; /* record type */
    char tag[24];  /* field tag ("1.003"), or "" for the record as a whole */
    char message[256];
} huella_an2k_problem;

/* Check the transaction against ANSI/NIST-ITL 1-2011 (content list, LEN
 * fields, field structure, mandatory fields, image sizes); every problem
 * goes into *problems (free with free()).  Returns HUELLA_OK even when
 * problems were found; only allocation failures fail. */
HUELLA_API huella_status huella_an2k_validate(const huella_an2k *txn,
                                              huella_an2k_problem **problems, size_t *n_problems,
                                              huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
