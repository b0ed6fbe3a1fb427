/*
 * fuzz_an2k.c - libFuzzer target for the ANSI/NIST-ITL transaction reader,
 * writer and validator (src/formats/an2k*.c).
 *
 * Contract under test: any byte string is either read into a transaction
 * that writes back to exactly the same bytes, validates without failing
 * (problems are data, not errors) and whose image records describe
 * payloads inside the record; or it is refused with a non-empty message
 * that names a record, and no transaction.  Never a crash, a hang, a leak
 * or undefined behaviour.  Recomputing the lengths of what was read gives
 * a transaction that reads back.
 */
#include "huella/an2k.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    huella_an2k *txn = NULL;
    huella_error err;
    huella_error_clear(&err);
    if (huella_an2k_read(data, size, &txn, &err) != HUELLA_OK) {
        if (txn != NULL || strstr(err.message, "record") == NULL)
            abort();
        return 0;
    }
    uint8_t *out = NULL;
    size_t len = 0;
    if (huella_an2k_write(txn, &out, &len, &err) != HUELLA_OK)
        abort();
    if (len != size || memcmp(out, data, size) != 0)
        abort(); /* read then write is the identity */
    free(out);
    huella_an2k_problem *problems = NULL;
    size_t n = 0;
    if (huella_an2k_validate(txn, &problems, &n, &err) != HUELLA_OK)
        abort();
    free(problems);
    for (size_t r = 0; r < txn->n_records; r++) {
        huella_an2k_image_info info;
        if (huella_an2k_image_info_get(txn, r, &info, &err) != HUELLA_OK)
            continue;
        if (info.len > size)
            abort(); /* a payload lies inside its record */
    }
    if (huella_an2k_update_lengths(txn, &err) == HUELLA_OK) {
        if (huella_an2k_write(txn, &out, &len, &err) != HUELLA_OK)
            abort();
        huella_an2k *back = NULL;
        if (huella_an2k_read(out, len, &back, &err) != HUELLA_OK)
            abort(); /* recomputed lengths always read back */
        huella_an2k_free(back);
        free(out);
    }
    huella_an2k_free(txn);
    return 0;
}
