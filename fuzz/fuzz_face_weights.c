/*
 * fuzz_face_weights.c - the TF.js weights loader (src/face/weights.c).
 *
 * Input: a manifest, optionally followed by a NUL byte and the weights
 * bytes; without a NUL the weights are 4 KiB of a fixed pattern, so that
 * the fuzzer can explore manifests alone.  Whatever the input, parsing
 * must either succeed with consistent tensors or fail with a message.
 */
#include "face/face_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pattern[4096];
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 37u);
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_len = nul ? (size_t)(nul - data) : size;
    const uint8_t *bin = nul ? nul + 1 : pattern;
    size_t bin_len = nul ? size - json_len - 1 : sizeof pattern;
    huella_error err;
    face_weights *w = NULL;
    if (face_weights_parse((const char *)data, json_len, bin, bin_len, "fuzz", &w, &err) ==
        HUELLA_OK) {
        for (size_t i = 0; i < w->n; i++) {
            const face_tensor *t = &w->tensors[i];
            size_t count = 1;
            for (unsigned k = 0; k < t->rank; k++)
                count *= t->shape[k];
            if (count != t->count)
                abort();
            volatile float sink = 0;
            for (size_t j = 0; j < t->count; j++)
                sink += t->data[j];
            (void)sink;
        }
        face_weights_free(w);
    } else if (err.message[0] == '\0') {
        abort();
    }
    char **paths;
    size_t n;
    if (face_weights_manifest_paths((const char *)data, json_len, &paths, &n, &err) == HUELLA_OK) {
        for (size_t i = 0; i < n; i++)
            free(paths[i]);
        free(paths);
    }
    return 0;
}
