/*
 * fuzz_iris_record.c - libFuzzer target for the ISO/IEC 19794-6:2011 iris
 * image record reader and writer (src/iris/iso19794_6.c).
 *
 * Contract under test: any byte string is either read into a record that
 * writes back to exactly the same bytes (and whose raw images, if any,
 * become images of the declared size), or refused with a non-empty
 * message and no record; never a crash, a leak or undefined behaviour.
 * Embedded JPEG 2000 and PNG images are left to the image fuzzers.
 */
#include "huella/iris.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    huella_iris_record *rec = NULL;
    huella_error err;
    huella_error_clear(&err);
    if (huella_iris_record_read(data, size, &rec, &err) != HUELLA_OK) {
        if (rec != NULL || err.message[0] == '\0')
            abort();
        return 0;
    }
    if (rec == NULL || rec->n_representations == 0)
        abort();
    uint8_t *out = NULL;
    size_t len = 0;
    if (huella_iris_record_write(rec, &out, &len, &err) != HUELLA_OK)
        abort(); /* what we read we must write */
    if (len != size || memcmp(out, data, size) != 0)
        abort(); /* and write back byte for byte */
    free(out);
    for (size_t i = 0; i < rec->n_representations; i++) {
        const huella_iris_representation *rep = &rec->representations[i];
        if (rep->image_format != HUELLA_IRIS_FORMAT_MONO_RAW)
            continue;
        huella_image *img = NULL;
        if (huella_iris_representation_image(rep, &img, &err) == HUELLA_OK) {
            if (img->width != rep->width || img->height != rep->height)
                abort();
            huella_image_free(img);
        } else if (img != NULL || err.message[0] == '\0') {
            abort();
        }
    }
    huella_iris_record_free(rec);
    return 0;
}
