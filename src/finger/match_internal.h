/*
 * finger/match_internal.h - the instruction-set paths of the minutiae
 * matcher (src/finger/match.c), selectable one comparison at a time so
 * that a test can check, in one binary and without global state, that
 * every path gives the same score bit for bit.  Internal to libhuella.
 */
#ifndef HUELLA_FINGER_MATCH_INTERNAL_H
#define HUELLA_FINGER_MATCH_INTERNAL_H

#include <stdbool.h>

#include "huella/finger.h"

/* The code paths of a comparison: plain C, SSE2 (every x86-64), and
 * AVX-512 (F, BW, VL, VBMI2 and POPCNT, detected at run time) for the
 * edge look-up and the distance tests, with SSE2 for the rest. */
typedef enum finger_path {
    FINGER_PATH_PORTABLE,
    FINGER_PATH_SSE2,
    FINGER_PATH_AVX512,
} finger_path;

/* Whether this build, on this CPU, has the path. */
bool finger_path_supported(finger_path path);

/* The path huella_finger_compare takes: the fastest supported one. */
finger_path finger_path_detected(void);

/* huella_finger_compare through the given path; -1 when the path is not
 * supported (finger_path_supported). */
double finger_compare_path(const huella_finger_prepared *a, const huella_finger_prepared *b,
                           finger_path path);

#endif
