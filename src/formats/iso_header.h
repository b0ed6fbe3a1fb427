/*
 * iso_header.h - the general header that ISO/IEC 19794-x:2011 image records
 * share: format identifier, version, record length, number of
 * representations.  Internal to src/formats.
 */
#ifndef HUELLA_FORMATS_ISO_HEADER_H
#define HUELLA_FORMATS_ISO_HEADER_H

#include "huella/base.h"
#include "huella/record.h"

#include <stddef.h>
#include <stdint.h>

typedef struct iso_header_spec {
    const char *what;       /* "finger record", for messages */
    const char *identifier; /* "FIR": 3 letters, stored with a NUL */
    const char *version;    /* "020": 3 digits, stored with a NUL */
    const char *standard;   /* "19794-4:2011", for messages */
    size_t header_len;      /* bytes of the whole general header */
} iso_header_spec;

/* Check identifier, version (anything else is HUELLA_E_UNSUPPORTED), that
 * the record length equals len and that there is at least one
 * representation, whose count goes to *count. */
huella_status iso_header_check(const uint8_t *data, size_t len, const iso_header_spec *spec,
                               uint16_t *count, huella_error *err);

/* Start representation `index` (1-based) at r: check its length, point rr
 * at its body and read the capture block that every 2011 image record
 * begins with (date and time, device, quality blocks).  r moves past the
 * whole representation; rr goes on from the end of the capture block. */
huella_status iso_representation_begin(huella_reader *r, const char *what, size_t index,
                                       huella_reader *rr, huella_iso_capture *c, huella_error *err);

#endif
