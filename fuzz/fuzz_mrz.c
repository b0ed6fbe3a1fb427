/*
 * fuzz_mrz.c - libFuzzer target for the ICAO 9303 MRZ parser.
 *
 * The input is split into at most three lines at '\n'; each must come out
 * as a parsed zone with consistent fields or a refusal with a message.
 */
#include "huella/mrz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[3][64];
    const char *lines[3];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 3; i++) {
        if (i == size || data[i] == '\n') {
            size_t len = i - start;
            if (len >= sizeof(buf[0]))
                len = sizeof(buf[0]) - 1;
            memcpy(buf[n], data + start, len);
            buf[n][len] = '\0';
            lines[n] = buf[n];
            n++;
            start = i + 1;
        }
    }
    huella_mrz m;
    huella_error err;
    huella_error_clear(&err);
    huella_status st = huella_mrz_parse(lines, n, 2026, 11, 26, &m, &err);
    if (st == HUELLA_OK) {
        if (m.n_checks > HUELLA_MRZ_MAX_CHECKS || m.n_problems > HUELLA_MRZ_MAX_PROBLEM ||
            strlen(m.surname) >= sizeof(m.surname) || strlen(m.document_number) >= 40)
            abort();
        bool all = m.n_problems == 0;
        for (size_t i = 0; i < m.n_checks; i++)
            all = all && m.checks[i].ok;
        if (all != m.valid)
            abort();
    } else if (err.message[0] == '\0') {
        abort();
    }
    return 0;
}
