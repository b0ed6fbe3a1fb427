/*
 * finger/modality.h - the fingerprint engine as seen by the evaluation
 * harness (eval/modalities.c lists it).  Internal to libhuella.
 */
#ifndef HUELLA_FINGER_MODALITY_H
#define HUELLA_FINGER_MODALITY_H

#include "huella/eval.h"

extern const huella_modality huella_finger_modality;

#endif
