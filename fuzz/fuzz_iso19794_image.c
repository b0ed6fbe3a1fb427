/*
 * fuzz_iso19794_image.c - libFuzzer target for the ISO/IEC 19794-4:2011
 * finger and 19794-5:2011 face image record readers
 * (src/formats/iso19794_4.c, iso19794_5.c).
 *
 * Contract under test: any byte string is either read into a record whose
 * images lie inside it (and whose raw 8-bit finger images become images of
 * the declared size), or refused with a non-empty message and no record;
 * never a crash, a leak or undefined behaviour.  Compressed images are
 * left to the image fuzzers.
 */
#include "huella/record.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    huella_error err;
    huella_error_clear(&err);
    huella_fir_record *fir = NULL;
    if (huella_fir_record_read(data, size, &fir, &err) == HUELLA_OK) {
        for (size_t i = 0; i < fir->n_views; i++) {
            const huella_fir_view *v = &fir->views[i];
            if (v->image < fir->data || v->image + v->image_len > fir->data + fir->len)
                abort();
            if (v->compression != HUELLA_FIR_RAW)
                continue;
            huella_image *img = NULL;
            if (huella_fir_view_image(v, &img, &err) == HUELLA_OK) {
                if (img->width != v->width || img->height != v->height)
                    abort();
                huella_image_free(img);
            } else if (img != NULL || err.message[0] == '\0') {
                abort();
            }
        }
        huella_fir_record_free(fir);
    } else if (fir != NULL || err.message[0] == '\0') {
        abort();
    }
    huella_error_clear(&err);
    huella_fac_record *fac = NULL;
    if (huella_fac_record_read(data, size, &fac, &err) == HUELLA_OK) {
        for (size_t i = 0; i < fac->n_images; i++) {
            const huella_fac_image *f = &fac->images[i];
            if (f->image < fac->data || f->image + f->image_len > fac->data + fac->len)
                abort();
        }
        huella_fac_record_free(fac);
    } else if (fac != NULL || err.message[0] == '\0') {
        abort();
    }
    return 0;
}
