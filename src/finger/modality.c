/*
 * modality.c - the "finger" modality of the evaluation harness.
 *
 * Contract: make_template reads a minutiae record (ISO/IEC 19794-2:2005,
 * ANSI INCITS 378-2004 or the internal huella format, detected from the
 * bytes; the first view of a multi-view record) and prepares it for the
 * matcher; compare is huella_finger_compare.  Both are thread-safe: the
 * prepared templates are immutable and the matcher keeps its scratch on
 * the stack.
 *
 * Images (the extensions in finger_image_ext): the file is decoded
 * (huella_image_read), its minutiae extracted at 500 ppi
 * (huella_finger_extract, src/finger/extract.c) with opt->ppi as the
 * resolution of images that declare none, and the template prepared as
 * for a record.  Whether a path is an image is decided by opt->input.
 */
#include "finger/modality.h"

#include "huella/finger.h"
#include "huella/image.h"

#include <stdlib.h>

#define MAX_RECORD_BYTES (1u << 20) /* far above 255 views of 255 minutiae */

static const char *const finger_template_ext[] = {"iso", "ist", "ansi", "fmr", NULL};
static const char *const finger_image_ext[] = {"tif",  "tiff", "png", "bmp", "jpg",
                                               "jpeg", "pgm",  "jp2", NULL};

static huella_status finger_from_image(const char *path, double ppi, huella_finger_template **t,
                                       huella_error *err)
{
    huella_image *img;
    huella_status st = huella_image_read(path, NULL, &img, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_finger_extract(img, ppi, NULL, t, err);
    huella_image_free(img);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s: ", path);
    return st;
}

static huella_status finger_make(const huella_modality *m, const char *path,
                                 const huella_sample_options *opt, void **tmpl, huella_error *err)
{
    (void)m;
    *tmpl = NULL;
    huella_finger_template *t;
    huella_status st;
    if (opt != NULL && opt->input == HUELLA_INPUT_IMAGES) {
        st = finger_from_image(path, opt->ppi, &t, err);
    } else {
        uint8_t *data;
        size_t len;
        st = huella_file_read(path, MAX_RECORD_BYTES, &data, &len, err);
        if (st != HUELLA_OK)
            return st;
        st = huella_finger_template_load(data, len, &t, err);
        free(data);
    }
    if (st != HUELLA_OK)
        return st;
    huella_finger_prepared *p;
    st = huella_finger_prepare(t, &p, err);
    huella_finger_template_free(t);
    if (st != HUELLA_OK)
        return st;
    *tmpl = p;
    return HUELLA_OK;
}

static huella_status finger_compare(const huella_modality *m, const void *a, const void *b,
                                    double *score, huella_error *err)
{
    (void)m;
    (void)err;
    *score = huella_finger_compare(a, b);
    return HUELLA_OK;
}

static void finger_free(void *tmpl)
{
    huella_finger_prepared_free(tmpl);
}

const huella_modality huella_finger_modality = {
    .name = "finger",
    .score_kind = HUELLA_SCORE_SIMILARITY,
    .score_meaning = "percentage of the minutiae in the common area that pair up consistently "
                     "(0-100, higher = more alike)",
    .image_extensions = finger_image_ext,
    .template_extensions = finger_template_ext,
    .make_template = finger_make,
    .compare = finger_compare,
    .free_template = finger_free,
    .context = NULL,
};
