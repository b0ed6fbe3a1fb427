/*
 * face/modality.h - the face engine as seen by the evaluation harness
 * (eval/modalities.c lists it).  Internal to libhuella.
 */
#ifndef HUELLA_FACE_MODALITY_H
#define HUELLA_FACE_MODALITY_H

#include "huella/eval.h"

extern const huella_modality huella_face_modality;

#endif
