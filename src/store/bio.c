/*
 * bio.c - the biographic document of an encounter: validation, Latin
 * names, age at capture.
 *
 * Contract: store_bio_prepare takes the caller's JSON (schema in
 * docs/store.md), refuses unknown keys and malformed values naming the
 * field (never quoting a name: error messages may end up in logs), and
 * returns the document that is sealed: names with their Latin form and
 * script (huella_names_normalize, unless the caller gave the Latin form
 * as printed on a document), nationality always as an array, and the age
 * at capture.  A partial date of birth (YYYY or YYYY-MM) gives an age
 * range; the capture is juvenile when the youngest age the person may
 * have is under the configured limit, the cautious reading for a flag
 * that makes matches be treated as less reliable.
 */
#define _POSIX_C_SOURCE 200809L
#include "store_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ymd {
    int y, m, d; /* m, d are 0 when unknown */
} ymd;

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* "YYYY", "YYYY-MM" or "YYYY-MM-DD" (partial allowed only when partial). */
static bool parse_date(const char *s, bool partial, ymd *out)
{
    size_t n = strlen(s);
    *out = (ymd){0, 0, 0};
    if (!(n == 4 || n == 7 || n == 10) || (!partial && n != 10))
        return false;
    if (!digits(s, 4, &out->y) || out->y < 1800 || out->y > 2999)
        return false;
    if (n >= 7 && (s[4] != '-' || !digits(s + 5, 2, &out->m) || out->m < 1 || out->m > 12))
        return false;
    if (n == 10 && (s[7] != '-' || !digits(s + 8, 2, &out->d) || out->d < 1 ||
                    out->d > days_in_month(out->y, out->m)))
        return false;
    return true;
}

bool store_valid_timestamp(const char *t)
{
    ymd d;
    char date[11];
    size_t n = strlen(t);
    if (n < 20 || t[10] != 'T' || t[n - 1] != 'Z')
        return false;
    memcpy(date, t, 10);
    date[10] = '\0';
    int hh, mm, ss;
    if (!parse_date(date, false, &d) || !digits(t + 11, 2, &hh) || t[13] != ':' ||
        !digits(t + 14, 2, &mm) || t[16] != ':' || !digits(t + 17, 2, &ss) || hh > 23 || mm > 59 ||
        ss > 60)
        return false;
    if (n == 20)
        return true;
    if (t[19] != '.' || n < 22 || n > 29)
        return false;
    int v;
    return digits(t + 20, (int)(n - 21), &v);
}

static int age_on(int by, int bm, int bd, const ymd *at)
{
    int a = at->y - by;
    if (at->m < bm || (at->m == bm && at->d < bd))
        a--;
    return a;
}

static huella_status bad(huella_error *err, const char *field, const char *what)
{
    return huella_error_set(err, HUELLA_E_INPUT, "bio: %s: %s", field, what);
}

static bool is_code3(const char *s)
{
    if (strlen(s) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '<'))
            return false;
    return true;
}

static huella_status names_of(huella_store *s, json_t *in, json_t *out, huella_error *err)
{
    if (!json_is_array(in))
        return bad(err, "names", "must be an array");
    huella_name *nm = NULL;
    huella_status st = HUELLA_OK;
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v)
    {
        char field[48];
        snprintf(field, sizeof(field), "names[%zu]", i);
        const char *written = NULL, *latin = NULL, *kind = "primary";
        if (json_is_string(v)) {
            written = json_string_value(v);
        } else if (json_is_object(v)) {
            const char *key;
            json_t *x;
            json_object_foreach(v, key, x)
            {
                if (!json_is_string(x)) {
                    st = bad(err, field, "every member must be a string");
                    goto done;
                }
                if (strcmp(key, "written") == 0)
                    written = json_string_value(x);
                else if (strcmp(key, "latin") == 0)
                    latin = json_string_value(x);
                else if (strcmp(key, "kind") == 0)
                    kind = json_string_value(x);
                else {
                    st = huella_error_set(err, HUELLA_E_INPUT, "bio: %s: unknown member '%s'",
                                          field, key);
                    goto done;
                }
            }
        }
        if (written == NULL || written[0] == '\0') {
            st = bad(err, field, "wants a non-empty \"written\" string");
            goto done;
        }
        if (s->names == NULL) {
            st = huella_names_new(NULL, &s->names, err);
            if (st != HUELLA_OK)
                goto done;
        }
        if (nm == NULL && (nm = malloc(sizeof(*nm))) == NULL) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "bio: out of memory");
            goto done;
        }
        huella_error sub;
        if (huella_names_normalize(s->names, written, nm, &sub) != HUELLA_OK) {
            st = huella_error_set(err, HUELLA_E_INPUT,
                                  "bio: %s.written is not a usable name (invalid UTF-8, no "
                                  "letter, or longer than %d bytes)",
                                  field, HUELLA_NAMES_MAX_INPUT);
            goto done;
        }
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(kind));
        json_object_set_new(o, "written", json_string(written));
        json_object_set_new(o, "latin", json_string(latin != NULL ? latin : nm->latin));
        json_object_set_new(o, "latin_normalised", json_string(nm->latin));
        json_object_set_new(o, "script", json_string(nm->script));
        json_array_append_new(out, o);
    }
done:
    if (nm != NULL) {
        memset(nm, 0, sizeof(*nm));
        free(nm);
    }
    return st;
}

static huella_status documents_of(json_t *in, json_t *out, huella_error *err)
{
    if (!json_is_array(in))
        return bad(err, "documents", "must be an array");
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v)
    {
        char field[48];
        snprintf(field, sizeof(field), "documents[%zu]", i);
        if (!json_is_object(v))
            return bad(err, field, "must be an object");
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x)
        {
            if (!json_is_string(x))
                return bad(err, field, "every member must be a string");
            const char *sv = json_string_value(x);
            ymd d;
            if (strcmp(key, "type") == 0 || strcmp(key, "number") == 0) {
                if (sv[0] == '\0')
                    return huella_error_set(err, HUELLA_E_INPUT, "bio: %s.%s is empty", field, key);
            } else if (strcmp(key, "issuing_state") == 0) {
                if (!is_code3(sv))
                    return huella_error_set(err, HUELLA_E_INPUT,
                                            "bio: %s.issuing_state wants a 3-letter ICAO code",
                                            field);
            } else if (strcmp(key, "expiry") == 0) {
                if (!parse_date(sv, false, &d))
                    return huella_error_set(err, HUELLA_E_INPUT, "bio: %s.expiry wants YYYY-MM-DD",
                                            field);
            } else {
                return huella_error_set(err, HUELLA_E_INPUT, "bio: %s: unknown member '%s'", field,
                                        key);
            }
        }
        if (json_object_get(v, "type") == NULL || json_object_get(v, "number") == NULL)
            return bad(err, field, "wants \"type\" and \"number\"");
        json_array_append(out, v);
    }
    return HUELLA_OK;
}

static huella_status birth_of(huella_store *s, const char *dob, const char *captured, json_t *out,
                              bool *juvenile, huella_error *err)
{
    ymd b, c;
    if (!parse_date(dob, true, &b))
        return bad(err, "date_of_birth", "wants YYYY, YYYY-MM or YYYY-MM-DD (a real date)");
    char cdate[11];
    memcpy(cdate, captured, 10);
    cdate[10] = '\0';
    parse_date(cdate, false, &c); /* captured was validated */
    /* Earliest and latest possible birth days. */
    int em = b.m ? b.m : 1, ed = b.d ? b.d : 1;
    int lm = b.m ? b.m : 12, ld = b.d ? b.d : days_in_month(b.y, lm);
    int age_max = age_on(b.y, em, ed, &c);
    int age_min = age_on(b.y, lm, ld, &c);
    if (age_max < 0)
        return bad(err, "date_of_birth", "is after the capture date");
    if (age_min < 0)
        age_min = 0;
    json_object_set_new(out, "date_of_birth", json_string(dob));
    json_t *age = json_object();
    json_object_set_new(age, "min", json_integer(age_min));
    json_object_set_new(age, "max", json_integer(age_max));
    json_object_set_new(out, "age_at_capture", age);
    *juvenile = age_min < (int)s->juvenile_age;
    return HUELLA_OK;
}

huella_status store_bio_prepare(huella_store *s, const char *bio_json, const char *captured,
                                char **out, bool *juvenile, huella_error *err)
{
    *out = NULL;
    *juvenile = false;
    json_error_t jerr;
    json_t *in = json_loads(bio_json != NULL ? bio_json : "{}", JSON_REJECT_DUPLICATES, &jerr);
    if (in == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "bio: not valid JSON (line %d: %s)", jerr.line,
                                jerr.text);
    huella_status st = HUELLA_OK;
    json_t *doc = json_object();
    json_t *names = json_array(), *docs = json_array(), *nat = json_array();
    json_object_set_new(doc, "names", names);
    if (!json_is_object(in)) {
        st = bad(err, "document", "must be a JSON object");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        if (strcmp(key, "names") == 0) {
            st = names_of(s, v, names, err);
        } else if (strcmp(key, "date_of_birth") == 0) {
            st = json_is_string(v) ? birth_of(s, json_string_value(v), captured, doc, juvenile, err)
                                   : bad(err, key, "must be a string");
        } else if (strcmp(key, "sex") == 0) {
            const char *x = json_string_value(v);
            if (x == NULL || strlen(x) != 1 || strchr("FMXU", x[0]) == NULL)
                st = bad(err, key, "wants \"F\", \"M\", \"X\" or \"U\"");
            else
                json_object_set(doc, "sex", v);
        } else if (strcmp(key, "nationality") == 0) {
            json_t *list = v;
            if (json_is_string(v)) {
                list = json_array();
                json_array_append(list, v);
            } else if (!json_is_array(v)) {
                st = bad(err, key, "wants a code or an array of codes");
                break;
            } else {
                json_incref(list);
            }
            size_t i;
            json_t *c;
            json_array_foreach(list, i, c)
            {
                if (!json_is_string(c) || !is_code3(json_string_value(c))) {
                    st = bad(err, key, "wants 3-letter ICAO codes (\"ESP\", \"D<<\")");
                    break;
                }
                json_array_append(nat, c);
            }
            json_decref(list);
        } else if (strcmp(key, "documents") == 0) {
            st = documents_of(v, docs, err);
        } else {
            st = huella_error_set(err, HUELLA_E_INPUT, "bio: unknown member '%s'", key);
        }
        if (st != HUELLA_OK)
            break;
    }
    if (st == HUELLA_OK) {
        json_object_set(doc, "nationality", nat);
        json_object_set(doc, "documents", docs);
        json_object_set_new(doc, "juvenile", json_boolean(*juvenile));
        *out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        if (*out == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "bio: out of memory");
    }
done:
    json_decref(nat);
    json_decref(docs);
    json_decref(doc);
    json_decref(in);
    return st;
}
