/*
 * huella/an2k_enrol.h - an ANSI/NIST-ITL transaction as an encounter: its
 * image records become enrolment inputs (src/store/an2k_enrol.c).  Used
 * by `huella enrol --an2k` and by huellad's POST /v1/encounters with
 * Content-Type application/octet-stream.
 *
 * The mapping: Type-4 and Type-14 records with one finger position 1..10
 * are fingers, Type-17 with eye 1 (right) or 2 (left) irises, the first
 * Type-10 FACE image the face.  The image is kept as captured when huella
 * reads its format, else decoded and re-encoded as PNG.  The first record
 * of a position wins.  Anything skipped is explained in `notes`.
 */
#ifndef HUELLA_AN2K_ENROL_H
#define HUELLA_AN2K_ENROL_H

#include "huella/an2k.h"
#include "huella/base.h"
#include "huella/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HUELLA_AN2K_ENROL_MAX 16

typedef struct huella_an2k_encounter {
    huella_enrol_input inputs[HUELLA_AN2K_ENROL_MAX]; /* data points into data[] */
    uint8_t *data[HUELLA_AN2K_ENROL_MAX];             /* owned */
    char label[HUELLA_AN2K_ENROL_MAX][48];            /* "an2k record N (Type-T)" */
    size_t n;
    double ppi;       /* of the first finger record that declares one; 0 none */
    char *notes_json; /* JSON array of {"record", "type", "note"} (owned) */
} huella_an2k_encounter;

/* Read a transaction's bytes into enrolment inputs.  HUELLA_E_INPUT when
 * the bytes are not a transaction (an image-less transaction gives n = 0
 * with notes). */
HUELLA_API huella_status huella_an2k_encounter_read(const uint8_t *data, size_t len,
                                                    huella_an2k_encounter **out, huella_error *err);
HUELLA_API void huella_an2k_encounter_free(huella_an2k_encounter *e);

/* Biographic data from a transaction's Type-2 record, through a map that
 * the sending agency's profile defines: a JSON object from field tags
 * ("2.018") to bio keys (names, date_of_birth, sex, nationality), because
 * Type-2 field meanings differ between agencies.  *bio_json (owned, free())
 * is the enrolment's bio document; fields absent from the transaction are
 * left out.  HUELLA_E_INPUT names the map entry that is wrong. */
HUELLA_API huella_status huella_an2k_bio_map(const huella_an2k *txn, const char *map_json,
                                             size_t map_len, char **bio_json, huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
