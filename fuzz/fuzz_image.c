/*
 * fuzz_image.c - libFuzzer target for the image decoders.
 *
 * Built once per decoder with HUELLA_FUZZ_DECODER naming the function
 * (huella_image_decode_png, ..., or huella_image_decode for detection).
 * Contract under test: any byte string either decodes into an image whose
 * size matches its buffer, or fails with a non-empty message; never a
 * crash, a leak or undefined behaviour.
 */
#include "huella/image.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Modest limits keep each run fast; they are part of the contract too. */
    huella_image_limits limits = {4096, 4096, 4u * 1024u * 1024u};
    huella_image *img = NULL;
    huella_error err;
    huella_error_clear(&err);
    huella_status st = HUELLA_FUZZ_DECODER(data, size, &limits, &img, &err);
    if (st == HUELLA_OK) {
        if (img == NULL || img->width == 0 || img->height == 0 || img->width > 4096 ||
            img->height > 4096)
            abort();
        /* Touch every pixel so that ASan checks the buffer size. */
        volatile unsigned sum = 0;
        size_t n = (size_t)img->width * img->height;
        for (size_t i = 0; i < n; i++)
            sum += img->pixels[i];
        (void)sum;
        huella_image_free(img);
    } else {
        if (img != NULL || err.message[0] == '\0')
            abort();
    }
    return 0;
}
