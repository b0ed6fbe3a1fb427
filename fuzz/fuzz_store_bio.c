/*
 * fuzz_store_bio.c - the store's parsers of outside input: biographic
 * documents (store_bio_prepare: JSON, names, partial dates), capture
 * timestamps, and the templates container of a sample.
 *
 * The first byte chooses the parser; the rest is its input.  Any input
 * must give HUELLA_OK or an error with a message, never a crash or a read
 * out of bounds; an accepted document must come back as a JSON object.
 */
#include "store/store_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* store_bio_prepare reads only the names comparator (opened on first
     * use and kept for the run, like fuzz_names) and the juvenile age. */
    static huella_store *s;
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return 0;
        s->juvenile_age = HUELLA_STORE_DEFAULT_JUVENILE_AGE;
    }
    if (size == 0)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    huella_error err;
    err.message[0] = '\0';
    switch (data[0] % 3) {
    case 0: {
        char *doc = NULL;
        bool juvenile;
        huella_status st =
            store_bio_prepare(s, text, "2026-06-01T10:00:00Z", &doc, &juvenile, &err);
        if (st != HUELLA_OK && err.message[0] == '\0')
            abort();
        if (st == HUELLA_OK) {
            json_t *o = json_loads(doc, 0, NULL);
            if (!json_is_object(o))
                abort();
            json_decref(o);
        }
        free(doc);
        break;
    }
    case 1:
        (void)store_valid_timestamp(text);
        break;
    default: {
        huella_store_template t[HUELLA_STORE_MAX_TEMPLATES];
        size_t n;
        huella_status st = store_templates_parse(data + 1, size - 1, t, &n, &err);
        if (st != HUELLA_OK && err.message[0] == '\0')
            abort();
        for (size_t i = 0; st == HUELLA_OK && i < n; i++)
            if (t[i].data < data + 1 || t[i].data + t[i].len > data + size)
                abort();
        break;
    }
    }
    free(text);
    return 0;
}
