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

static bool bio_key_known(const char *key)
{
    static const char *const keys[] = {"names", "date_of_birth", "sex", "nationality"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/* "2.NNN" with 1 <= NNN <= 999 and nothing else (no sign, no spaces). */
static bool type2_tag(const char *tag, unsigned *number)
{
    if (strncmp(tag, "2.", 2) != 0)
        return false;
    unsigned n = 0;
    size_t digits = 0;
    for (const char *c = tag + 2; *c != '\0'; c++, digits++) {
        if (*c < '0' || *c > '9' || digits == 3)
            return false;
        n = n * 10 + (unsigned)(*c - '0');
    }
    *number = n;
    return digits > 0 && n >= 1;
}

static void bio_add(json_t *doc, const char *key, const char *text)
{
    if (strcmp(key, "names") == 0) {
        json_t *names = json_object_get(doc, "names");
        if (names == NULL)
            json_object_set_new(doc, "names", names = json_array());
        json_array_append_new(names, json_string(text));
    } else if (strcmp(key, "date_of_birth") == 0) {
        /* ANSI/NIST-ITL dates are YYYYMMDD; anything else is not a date */
        if (strlen(text) != 8 || strspn(text, "0123456789") != 8)
            return;
        char d[11];
        snprintf(d, sizeof(d), "%.4s-%.2s-%.2s", text, text + 4, text + 6);
        json_object_set_new(doc, key, json_string(d));
    } else {
        json_object_set_new(doc, key, json_string(text));
    }
}

huella_status huella_an2k_bio_map(const huella_an2k *txn, const char *map_json, size_t map_len,
                                  char **bio_json, huella_error *err)
{
    *bio_json = NULL;
    json_error_t jerr;
    json_t *map = json_loadb(map_json, map_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(map)) {
        json_decref(map);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "the Type-2 map is not a JSON object of \"2.NNN\": \"bio key\" "
                                "(line %d: %s)",
                                jerr.line, map == NULL ? jerr.text : "not an object");
    }
    const huella_an2k_record *t2 = NULL;
    for (size_t r = 0; txn != NULL && r < txn->n_records && t2 == NULL; r++)
        if (txn->records[r].type == 2)
            t2 = &txn->records[r];
    json_t *doc = json_object();
    huella_status st =
        doc == NULL ? huella_error_set(err, HUELLA_E_NOMEM, "out of memory") : HUELLA_OK;
    const char *tag;
    json_t *v;
    json_object_foreach(map, tag, v)
    {
        if (st != HUELLA_OK)
            break;
        unsigned number = 0;
        const char *key = json_string_value(v);
        if (!type2_tag(tag, &number)) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "the Type-2 map: '%.40s' is not a Type-2 field tag (2.001 to "
                                  "2.999)",
                                  tag);
            break;
        }
        if (key == NULL || !bio_key_known(key)) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "the Type-2 map: %s: the bio key is names, date_of_birth, sex "
                                  "or nationality",
                                  tag);
            break;
        }
        char text[512];
        if (t2 != NULL && huella_an2k_item_text(t2, number, 0, 0, text, sizeof(text)) &&
            text[0] != '\0')
            bio_add(doc, key, text);
    }
    json_decref(map);
    if (st == HUELLA_OK) {
        *bio_json = json_dumps(doc, JSON_COMPACT);
        if (*bio_json == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    json_decref(doc);
    return st;
}
