/*
 * an2k_enrol.c - an ANSI/NIST-ITL transaction as enrolment inputs (see
 * include/huella/an2k_enrol.h for the mapping).
 */
#include "huella/an2k_enrol.h"

#include "huella/an2k.h"
#include "huella/image.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void note(json_t *notes, size_t rec, unsigned type, const char *fmt, ...)
    HUELLA_PRINTF(4, 5);
static void note(json_t *notes, size_t rec, unsigned type, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(notes, json_pack("{s:I, s:I, s:s}", "record", (json_int_t)rec + 1, "type",
                                           (json_int_t)type, "note", msg));
}

static bool have_position(const huella_an2k_encounter *a, huella_store_modality m, unsigned pos)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->inputs[i].modality == m && a->inputs[i].position == pos)
            return true;
    return false;
}

/* The image bytes of a record: the payload itself when huella reads its
 * format (kept as captured), else decoded and re-encoded as PNG. */
static huella_status record_image(const huella_an2k_image_info *info, uint8_t **out, size_t *len,
                                  huella_error *err)
{
    if (huella_image_detect(info->data, info->len) != HUELLA_IMAGE_UNKNOWN) {
        *out = malloc(info->len);
        if (*out == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        memcpy(*out, info->data, info->len);
        *len = info->len;
        return HUELLA_OK;
    }
    huella_image *img = NULL;
    huella_status st = huella_an2k_image_decode(info, &img, err);
    if (st == HUELLA_OK)
        st = huella_image_encode_png(img, out, len, err);
    huella_image_free(img);
    return st;
}

void huella_an2k_encounter_free(huella_an2k_encounter *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->data[i]);
    free(e->notes_json);
    free(e);
}

huella_status huella_an2k_encounter_read(const uint8_t *data, size_t len,
                                         huella_an2k_encounter **out, huella_error *err)
{
    *out = NULL;
    huella_an2k *txn = NULL;
    huella_status st = huella_an2k_read(data, len, &txn, err);
    if (st != HUELLA_OK)
        return st;
    huella_an2k_encounter *a = calloc(1, sizeof(*a));
    json_t *notes = json_array();
    if (a == NULL || notes == NULL) {
        free(a);
        json_decref(notes);
        huella_an2k_free(txn);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    bool face = false;
    for (size_t r = 1; r < txn->n_records; r++) {
        huella_an2k_image_info info;
        huella_error e;
        unsigned type = txn->records[r].type;
        huella_status ist = huella_an2k_image_info_get(txn, r, &info, &e);
        if (ist == HUELLA_E_NOTFOUND)
            continue;
        if (ist != HUELLA_OK) {
            note(notes, r, type, "skipped: %s", e.message);
            continue;
        }
        huella_store_modality m;
        unsigned pos = info.n_positions > 0 ? info.positions[0] : 0;
        if (type == 4 || type == 14) {
            if (info.n_positions != 1 || pos < 1 || pos > 10) {
                note(notes, r, type,
                     "skipped: finger position %u is not a single finger 1-10 (slap, plain "
                     "thumb or multi-finger image)",
                     pos);
                continue;
            }
            m = HUELLA_STORE_FINGER;
        } else if (type == 17) {
            if (pos != 1 && pos != 2) {
                note(notes, r, type, "skipped: eye position %u is not right (1) or left (2)", pos);
                continue;
            }
            m = HUELLA_STORE_IRIS;
        } else if (type == 10 && strcmp(info.image_type, "FACE") == 0) {
            if (face) {
                note(notes, r, type, "skipped: a second face image");
                continue;
            }
            face = true;
            m = HUELLA_STORE_FACE;
            pos = 0;
        } else {
            note(notes, r, type, "skipped: %s images are not enrolled",
                 huella_an2k_record_name(type) != NULL ? huella_an2k_record_name(type) : "these");
            continue;
        }
        if (m != HUELLA_STORE_FACE && have_position(a, m, pos)) {
            note(notes, r, type, "skipped: %s position %u was already taken from an earlier record",
                 huella_store_modality_name(m), pos);
            continue;
        }
        if (a->n == HUELLA_AN2K_ENROL_MAX) {
            note(notes, r, type, "skipped: more than %d images", HUELLA_AN2K_ENROL_MAX);
            continue;
        }
        uint8_t *img = NULL;
        size_t img_len = 0;
        ist = record_image(&info, &img, &img_len, &e);
        if (ist != HUELLA_OK) {
            note(notes, r, type, "skipped: %s", e.message);
            continue;
        }
        if (m == HUELLA_STORE_FINGER && a->ppi == 0 && info.ppi > 0)
            a->ppi = info.ppi;
        snprintf(a->label[a->n], sizeof(a->label[a->n]), "an2k record %zu (Type-%u)", r + 1, type);
        a->data[a->n] = img;
        a->inputs[a->n] = (huella_enrol_input){m, pos, a->label[a->n], img, img_len};
        a->n++;
    }
    huella_an2k_free(txn);
    a->notes_json = json_dumps(notes, JSON_COMPACT);
    json_decref(notes);
    if (a->notes_json == NULL) {
        huella_an2k_encounter_free(a);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    *out = a;
    return HUELLA_OK;
}
