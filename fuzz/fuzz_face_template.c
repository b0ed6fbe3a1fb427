/*
 * fuzz_face_template.c - libFuzzer target for the face template decoder:
 * a template that decodes must encode back to the same bytes.
 */
#include "huella/face.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    huella_face_template t;
    huella_error err;
    if (huella_face_template_decode(data, size, &t, &err) != HUELLA_OK) {
        if (err.message[0] == '\0')
            abort();
        return 0;
    }
    uint8_t back[HUELLA_FACE_TEMPLATE_BYTES];
    huella_face_template_encode(&t, back);
    if (size != sizeof(back) || memcmp(back, data, size) != 0)
        abort();
    return 0;
}
