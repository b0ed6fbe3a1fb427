/*
 * iris/modality.h - the iris engine as seen by the evaluation harness
 * (eval/modalities.c lists it).  Internal to libhuella.
 */
#ifndef HUELLA_IRIS_MODALITY_H
#define HUELLA_IRIS_MODALITY_H

#include "huella/eval.h"

extern const huella_modality huella_iris_modality;

#endif
