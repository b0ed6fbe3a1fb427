/*
 * names_internal.h - what normalize.c shares with compare.c: the loaded
 * naming-convention data.
 */
#ifndef HUELLA_NAMES_INTERNAL_H
#define HUELLA_NAMES_INTERNAL_H

#include "huella/names.h"

/* Group number of a given name in the equivalents table (its first
 * group), or -1. */
long huella_names_equivalent_group(const huella_names *n, const char *token);

/* A hypocoristic may belong to several given names (Ted: Edward and
 * Theodore), each its own group; Edward and Theodore stay two names. */
#define HUELLA_NAMES_MAX_GROUPS 4

/* The groups of a given name, first group first, at most max; their count. */
size_t huella_names_equivalent_groups(const huella_names *n, const char *token, long *groups,
                                      size_t max);

/* 1 when a and b share a group of equivalents, 0 when both are in the
 * table but share none, -1 when either is not in it. */
int huella_names_equivalent(const huella_names *n, const char *a, const char *b);

/* Whether s[i] is the h of a final nh: Vietnamese writes two finals, -nh
 * and -n (Thanh, Than; Minh, Min), so this h is no silent letter or
 * spelling variant (the phonetic and romanisation keys, the edit costs). */
static inline bool huella_names_final_nh(const char *s, size_t i)
{
    return s[i] == 'h' && i > 0 && s[i - 1] == 'n' && s[i + 1] == '\0';
}

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

/* What a token the longer name has more costs in the score of compare.c
 * (sum of aligned similarities over the shorter name's tokens plus these
 * costs).  Screening's candidate ranking estimates the score with the
 * same costs (src/store/watchlist_screen.c). */
#define HUELLA_NAMES_LEFT_COST        0.15 /* in front, or the shorter name not met whole */
#define HUELLA_NAMES_LEFT_PATRO       0.10 /* a patronymic in front */
#define HUELLA_NAMES_LEFT_AFTER       0.07 /* after the first aligned token */
#define HUELLA_NAMES_LEFT_PATRO_AFTER 0.05 /* a patronymic after it; a devotional Muhammad */
#define HUELLA_NAMES_LEFT_CHILD       1.0  /* a name in front of a whole Arabic name chain */
#define HUELLA_NAMES_LEFT_ADDRESS     0.05 /* the unsaid names of a form of address */

/* Muhammad (any spelling of its group in the equivalents table), which
 * South Asian and African Muslim names carry as a devotional prefix and
 * everyday use leaves out: left over, it costs HUELLA_NAMES_LEFT_PATRO_AFTER
 * wherever it stands when the rest of the shorter name is aligned. */
bool huella_names_devotional(const huella_names *n, const char *token);

/* A title and one name (Mullah Karimdad, Sheikh Abdirashid): a form of
 * address, when that name is not a common given name of the equivalents
 * table (Haji Muhammad names thousands).  The other names of a full form
 * its one name meets (exactly or as one sound) cost
 * HUELLA_NAMES_LEFT_ADDRESS each. */
bool huella_names_address_form(const huella_names *n, const huella_name *nm);

#endif
