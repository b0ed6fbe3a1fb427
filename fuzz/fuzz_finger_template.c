/*
 * fuzz_finger_template.c - libFuzzer target for the finger minutiae
 * record readers: ISO/IEC 19794-2:2005, ANSI INCITS 378-2004 and the
 * internal huella template format (src/finger/iso.c, template.c).
 *
 * Contract under test: any byte string is either read into a record whose
 * views hold valid minutiae, which then survive being written and read
 * again in every format and being prepared and matched, or refused with
 * a non-empty message; never a crash, a leak or undefined behaviour.
 */
#include "huella/finger.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const huella_finger_record *rec)
{
    const huella_finger_template *views[255];
    for (size_t i = 0; i < rec->n_views && i < 255; i++) {
        const huella_finger_template *t = rec->views[i];
        views[i] = t;
        if (t->n_minutiae > HUELLA_FINGER_MAX_MINUTIAE)
            abort();
        for (size_t k = 0; k < t->n_minutiae; k++)
            if (!(t->minutiae[k].direction >= 0.0f) || !isfinite(t->minutiae[k].x))
                abort();
    }
    huella_finger_prepared *p;
    if (huella_finger_prepare(rec->views[0], &p, NULL) == HUELLA_OK) {
        double s = huella_finger_compare(p, p);
        if (!(s >= 0.0 && s <= 100.0))
            abort();
        huella_finger_prepared_free(p);
    }
    for (int f = HUELLA_FINGER_FORMAT_ISO_2005; f <= HUELLA_FINGER_FORMAT_HUELLA; f++) {
        size_t n = f == HUELLA_FINGER_FORMAT_HUELLA ? 1 : rec->n_views;
        uint8_t *out;
        size_t len;
        huella_error err;
        if (huella_finger_record_write(views, n, (huella_finger_format)f, &out, &len, &err) !=
            HUELLA_OK)
            continue; /* e.g. a core beyond 14 bits once resolutions differ */
        huella_finger_record *again;
        if (huella_finger_record_read(out, len, (huella_finger_format)f, &again, &err) != HUELLA_OK)
            abort(); /* what we write we must read */
        if (again->n_views != n)
            abort();
        huella_finger_record_free(again);
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int f = HUELLA_FINGER_FORMAT_AUTO; f <= HUELLA_FINGER_FORMAT_HUELLA; f++) {
        huella_finger_record *rec = NULL;
        huella_error err;
        huella_error_clear(&err);
        huella_status st =
            huella_finger_record_read(data, size, (huella_finger_format)f, &rec, &err);
        if (st == HUELLA_OK) {
            if (rec == NULL || rec->n_views == 0)
                abort();
            exercise(rec);
            huella_finger_record_free(rec);
        } else if (rec != NULL || err.message[0] == '\0') {
            abort();
        }
    }
    return 0;
}
