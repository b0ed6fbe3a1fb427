/*
 * models.c - loading the three face networks, each pinned by the SHA-256
 * of its manifest and of its weights (@vladmandic/face-api 1.7.15).
 */
#include "face/face_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#ifndef HUELLA_FACE_MODEL_DIR
#define HUELLA_FACE_MODEL_DIR "third_party/node_modules/@vladmandic/face-api/model"
#endif

/* openblas_set_num_threads is declared by OpenBLAS's cblas.h. */

static const char *const pin_recog[2] = {
    "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
    "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
};
static const char *const pin_detect[2] = {
    "5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5",
    "b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871",
};
static const char *const pin_landmark[2] = {
    "ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9",
    "4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b",
};

const char *huella_face_default_model_dir(void)
{
    return HUELLA_FACE_MODEL_DIR;
}

huella_status huella_face_models_load(const char *dir, huella_face_models **out, huella_error *err)
{
    *out = NULL;
    if (dir == NULL)
        dir = HUELLA_FACE_MODEL_DIR;
    huella_face_models *m = calloc(1, sizeof *m);
    if (m == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    huella_status st = face_weights_load(dir, "face_recognition_model", pin_recog, &m->recog, err);
    if (st == HUELLA_OK)
        st = face_recog_net_new(m->recog, &m->recog_net, err);
    if (st == HUELLA_OK)
        st = face_op_pool_new(&m->ops, err);
    if (st == HUELLA_OK)
        st = face_weights_load(dir, "tiny_face_detector_model", pin_detect, &m->detect, err);
    if (st == HUELLA_OK)
        st = face_weights_load(dir, "face_landmark_68_model", pin_landmark, &m->landmark, err);
    if (st != HUELLA_OK) {
        if (st == HUELLA_E_IO)
            huella_error_prefix(err, "face models missing (run scripts/setup): ");
        huella_face_models_free(m);
        return st;
    }
    openblas_set_num_threads(1);
    *out = m;
    return HUELLA_OK;
}

void huella_face_models_free(huella_face_models *m)
{
    if (m == NULL)
        return;
    face_op_pool_free(m->ops);
    face_recog_net_free(m->recog_net);
    face_weights_free(m->recog);
    face_weights_free(m->detect);
    face_weights_free(m->landmark);
    free(m);
}

huella_status huella_face_descriptor(const huella_face_models *m, const huella_face_rgb *chip,
                                     float out[HUELLA_FACE_DIM], huella_error *err)
{
    return face_recog_net_forward(m->recog_net, chip, out, err);
}

double huella_face_distance(const float *a, const float *b)
{
    double s = 0.0;
    for (int i = 0; i < HUELLA_FACE_DIM; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return sqrt(s);
}
