/*
 * names_internal.h - what normalize.c shares with compare.c: the loaded
 * naming-convention data.
 */
#ifndef HUELLA_NAMES_INTERNAL_H
#define HUELLA_NAMES_INTERNAL_H

#include "huella/names.h"

/* Group number of a given name in the equivalents table, or -1. */
long huella_names_equivalent_group(const huella_names *n, const char *token);

#endif
