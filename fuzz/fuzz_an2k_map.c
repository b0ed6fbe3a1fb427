/*
 * fuzz_an2k_map.c - libFuzzer target for the Type-2 map of `huella enrol
 * --an2k-map` (huella_an2k_bio_map).  The input is the map JSON, a NUL
 * byte, then transaction bytes; when those are not a transaction the map
 * is applied to none.  An accepted map must give a JSON object.
 */
#include "huella/an2k.h"
#include "huella/an2k_enrol.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t map_len = nul != NULL ? (size_t)(nul - data) : size;
    huella_error err;
    huella_an2k *txn = NULL;
    if (nul != NULL && huella_an2k_read(nul + 1, size - map_len - 1, &txn, &err) != HUELLA_OK)
        txn = NULL;
    char *bio = NULL;
    if (huella_an2k_bio_map(txn, (const char *)data, map_len, &bio, &err) == HUELLA_OK) {
        json_t *doc = json_loads(bio, 0, NULL);
        if (!json_is_object(doc))
            abort();
        json_decref(doc);
        free(bio);
    } else if (bio != NULL || err.message[0] == '\0') {
        abort();
    }
    huella_an2k_free(txn);
    return 0;
}
