/*
 * fuzz_jpegl.c - libFuzzer target for the lossless JPEG decoder
 * (src/formats/jpegl.c).
 *
 * The input may be a bare JPEG or anything that holds one (an ANSI/NIST-ITL
 * transaction seeds the corpus): the harness decodes from the first SOI
 * whose frame is SOF3, or from the start when there is none.  Contract
 * under test: an image whose size matches its buffer, or a failure with a
 * non-empty message; never a crash, a leak, a hang or undefined behaviour.
 */
#include "huella/wsq.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t start = 0;
    for (size_t i = 0; i + 2 < size; i++)
        if (data[i] == 0xff && data[i + 1] == 0xd8 && huella_jpeg_is_lossless(data + i, size - i)) {
            start = i;
            break;
        }
    huella_image_limits limits = {4096, 4096, 4u * 1024u * 1024u};
    huella_image *img = NULL;
    huella_error err;
    huella_error_clear(&err);
    huella_status st = huella_image_decode_jpegl(data + start, size - start, &limits, &img, &err);
    if (st == HUELLA_OK) {
        if (img == NULL || img->width == 0 || img->height == 0 || img->width > 4096 ||
            img->height > 4096)
            abort();
        volatile unsigned sum = 0;
        size_t n = (size_t)img->width * img->height;
        for (size_t i = 0; i < n; i++)
            sum += img->pixels[i];
        (void)sum;
        huella_image_free(img);
    } else if (img != NULL || err.message[0] == '\0') {
        abort();
    }
    return 0;
}
