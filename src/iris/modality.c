/*
 * modality.c - the "iris" modality of the evaluation harness.
 *
 * Contract: make_template decodes an eye image (huella_image_read) and
 * encodes it (huella_iris_encode: segmentation, rubber sheet, log-Gabor
 * phase code), or reads a template in huella's .iris byte format
 * (huella_iris_template_decode), as opt->input says; compare is
 * huella_iris_distance (src/iris/hamming.c) over +-HUELLA_IRIS_DEFAULT_MAX_SHIFT
 * angular positions (+-22.5 degrees of head tilt), a distance: lower =
 * more alike.  Both are thread-safe: templates are immutable values and
 * nothing here keeps state.
 */
#include "iris/modality.h"

#include "huella/image.h"
#include "huella/iris.h"

#include <stdlib.h>

static const char *const iris_template_ext[] = {"iris", NULL};
static const char *const iris_image_ext[] = {"jpg", "jpeg", "bmp", "png",
                                             "tif", "tiff", "pgm", NULL};

static huella_status iris_make(const huella_modality *m, const char *path,
                               const huella_sample_options *opt, void **tmpl, huella_error *err)
{
    (void)m;
    *tmpl = NULL;
    huella_iris_template *t = NULL;
    huella_status st;
    if (opt == NULL || opt->input == HUELLA_INPUT_IMAGES) {
        huella_image *img;
        st = huella_image_read(path, NULL, &img, err);
        if (st != HUELLA_OK)
            return st;
        st = huella_iris_encode(img, NULL, &t, err);
        huella_image_free(img);
    } else {
        uint8_t *data;
        size_t len;
        st = huella_file_read(path, 1u << 16, &data, &len, err);
        if (st != HUELLA_OK)
            return st;
        st = huella_iris_template_decode(data, len, &t, err);
        free(data);
    }
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s: ", path);
        return st;
    }
    *tmpl = t;
    return HUELLA_OK;
}

static huella_status iris_compare(const huella_modality *m, const void *a, const void *b,
                                  double *score, huella_error *err)
{
    (void)m;
    (void)err;
    const huella_iris_template *ta = a, *tb = b;
    *score = huella_iris_distance(&ta->code, &tb->code, HUELLA_IRIS_DEFAULT_MAX_SHIFT, NULL, NULL);
    return HUELLA_OK;
}

static void iris_free(void *tmpl)
{
    huella_iris_template_free(tmpl);
}

const huella_modality huella_iris_modality = {
    .name = "iris",
    .score_kind = HUELLA_SCORE_DISTANCE,
    .score_meaning = "Daugman-normalised fractional Hamming distance between iris codes, "
                     "best over +-22.5 degrees of rotation (0 = identical, about 0.5 = "
                     "unrelated; lower = more alike)",
    .image_extensions = iris_image_ext,
    .template_extensions = iris_template_ext,
    .make_template = iris_make,
    .compare = iris_compare,
    .free_template = iris_free,
    .context = NULL,
};
