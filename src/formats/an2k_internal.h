/*
 * an2k_internal.h - helpers shared by the ANSI/NIST-ITL files of
 * src/formats (not installed).
 */
#ifndef HUELLA_FORMATS_AN2K_INTERNAL_H
#define HUELLA_FORMATS_AN2K_INTERNAL_H

#include "huella/an2k.h"

/* Binary record types of the traditional encoding (fixed headers). */
static inline bool an2k_type_is_binary(unsigned type)
{
    return type >= 3 && type <= 8;
}

/* Tagged record types whose field 999 is opaque image (or biometric) data
 * running to the end of the record. */
static inline bool an2k_type_has_binary_999(unsigned type)
{
    return type != 1 && type != 2 && type != 9;
}

/* Parse an unsigned decimal of 1-9 digits from len bytes; false otherwise. */
bool an2k_parse_uint(const uint8_t *s, size_t len, unsigned long *out);

/* Integer value of item (s, i) of field NNN; false when absent or not a
 * number. */
bool an2k_item_uint(const huella_an2k_record *rec, unsigned number, size_t s, size_t i,
                    unsigned long *out);

/* IDC of a record: field 002 or the header byte of a binary record. */
bool an2k_record_idc(const huella_an2k_record *rec, unsigned long *idc);

#endif
