/*
 * names_internal.h - what normalize.c shares with compare.c: the loaded
 * naming-convention data.
 */
#ifndef HUELLA_NAMES_INTERNAL_H
#define HUELLA_NAMES_INTERNAL_H

#include "huella/names.h"

/* Group number of a given name in the equivalents table, or -1. */
long huella_names_equivalent_group(const huella_names *n, const char *token);

/* Consonant skeleton of a token, how a name written in Arabic or Hebrew
 * script is compared (compare.c); also the blocking key of screening. */
void huella_names_skeleton(const char *text, char *out, size_t size);

/* Romanisation key of a token (compare.c): voiced and voiceless stops,
 * affricates and r/l merged, vowel runs in three classes; equal keys are
 * one name in two romanisation systems (Korean, Chinese).  Also a
 * blocking key of screening. */
void huella_names_lax_key(const char *text, char *out, size_t size);

/* Blocking key of a token for the alignment of a Latin spelling with
 * romanised Arabic script (compare.c): consonants in coarse classes. */
void huella_names_abjad_key(const char *text, char *out, size_t size);

#endif
