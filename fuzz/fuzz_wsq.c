/*
 * fuzz_wsq.c - libFuzzer target for the WSQ decoder and segment reader
 * (src/formats/wsq_decode.c).
 *
 * Contract under test: any byte string either decodes into an image whose
 * size matches its buffer and the frame header's, or fails with a
 * non-empty message; huella_wsq_read_info likewise; never a crash, a leak,
 * a hang or undefined behaviour.
 */
#include "huella/wsq.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    huella_image_limits limits = {4096, 4096, 4u * 1024u * 1024u};
    huella_error err;
    huella_error_clear(&err);
    huella_wsq_info *info = malloc(sizeof(*info));
    if (info == NULL)
        return 0;
    huella_status ist = huella_wsq_read_info(data, size, info, &err);
    if (ist != HUELLA_OK && err.message[0] == '\0')
        abort();
    huella_image *img = NULL;
    huella_error_clear(&err);
    huella_status st = huella_image_decode_wsq(data, size, &limits, &img, &err);
    if (st == HUELLA_OK) {
        if (img == NULL || img->width == 0 || img->height == 0 || img->width > 4096 ||
            img->height > 4096)
            abort();
        /* A file that decodes has a frame header that says its size. */
        if (ist == HUELLA_OK && (info->width != img->width || info->height != img->height))
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
    free(info);
    return 0;
}
