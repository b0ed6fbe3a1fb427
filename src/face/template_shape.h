/*
 * face/template_shape.h - where the landmarks of an upright face sit in the
 * 150 x 150 chip that the recognition network expects (see pipeline.c and
 * docs/face.md for how it was measured).  Internal to libhuella.
 */
#ifndef HUELLA_FACE_TEMPLATE_SHAPE_H
#define HUELLA_FACE_TEMPLATE_SHAPE_H

#include "huella/face.h"

/* The similarity fit uses landmarks FACE_TEMPLATE_FIRST..67 (brows, nose,
 * eyes, mouth; not the jaw line, which moves with pose). */
#define FACE_TEMPLATE_FIRST 17

extern const double face_template_shape[HUELLA_FACE_LANDMARKS][2];

void face_similarity_fit(const huella_face_point *src, const double (*dst)[2], int from, int to,
                         double t[4]);

#endif
