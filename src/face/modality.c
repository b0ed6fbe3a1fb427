/*
 * modality.c - the "face" modality of the evaluation harness.
 *
 * make_template reads a photo (huella_face_rgb_read) and runs the whole
 * pipeline (huella_face_enrol: detection with a border for tight crops,
 * landmarks, similarity alignment, quality with the default floor,
 * descriptor, int8 template), or reads a .face template file (137 bytes);
 * compare is the Euclidean distance between templates (lower = more
 * alike).
 *
 * The networks are loaded once per process, on first use, from the
 * configured model directory, and shared read-only by every thread: this
 * is the one piece of process-wide state in the face engine (a
 * pthread_once guard and a pointer written once, never freed: the harness
 * keeps a modality for the whole process).
 */
#define _POSIX_C_SOURCE 200809L
#include "face/modality.h"

#include "huella/face.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t models_once = PTHREAD_ONCE_INIT;
static huella_face_models *models;
static huella_error models_error;

static void load_models(void)
{
    if (huella_face_models_load(NULL, &models, &models_error) != HUELLA_OK)
        models = NULL;
}

static const char *const face_template_ext[] = {"face", NULL};
static const char *const face_image_ext[] = {"jpg", "jpeg", "png",  "pgm", "ppm",
                                             "bmp", "tif",  "tiff", NULL};

static huella_status face_make(const huella_modality *m, const char *path,
                               const huella_sample_options *opt, void **tmpl, huella_error *err)
{
    (void)m;
    *tmpl = NULL;
    huella_face_template *t = malloc(sizeof *t);
    if (t == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    huella_status st;
    if (opt == NULL || opt->input == HUELLA_INPUT_IMAGES) {
        pthread_once(&models_once, load_models);
        if (models == NULL) {
            free(t);
            *err = models_error;
            return models_error.status != HUELLA_OK ? models_error.status : HUELLA_E_INTERNAL;
        }
        huella_face_rgb *img;
        st = huella_face_rgb_read(path, &img, err);
        if (st == HUELLA_OK) {
            huella_face_sample s;
            st = huella_face_enrol(models, img, HUELLA_FACE_QUALITY_FLOOR, 0, &s, NULL, err);
            if (st == HUELLA_OK)
                *t = s.tmpl;
            else
                huella_error_prefix(err, "%s: ", path);
            huella_face_rgb_free(img);
        }
    } else {
        uint8_t *data;
        size_t len;
        st = huella_file_read(path, 4096, &data, &len, err);
        if (st == HUELLA_OK) {
            st = huella_face_template_decode(data, len, t, err);
            if (st != HUELLA_OK)
                huella_error_prefix(err, "%s: ", path);
            free(data);
        }
    }
    if (st != HUELLA_OK) {
        free(t);
        return st;
    }
    *tmpl = t;
    return HUELLA_OK;
}

static huella_status face_compare(const huella_modality *m, const void *a, const void *b,
                                  double *score, huella_error *err)
{
    (void)m;
    (void)err;
    *score = huella_face_template_distance(a, b);
    return HUELLA_OK;
}

static void face_free(void *tmpl)
{
    free(tmpl);
}

const huella_modality huella_face_modality = {
    .name = "face",
    .score_kind = HUELLA_SCORE_DISTANCE,
    .score_meaning = "Euclidean distance between 128-D face descriptors (dlib ResNet via "
                     "face-api's weights, int8 templates; 0 = identical, about 0.6 = the usual "
                     "decision threshold; lower = more alike)",
    .image_extensions = face_image_ext,
    .template_extensions = face_template_ext,
    .make_template = face_make,
    .compare = face_compare,
    .free_template = face_free,
    .context = NULL,
};
