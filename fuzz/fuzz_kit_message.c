/*
 * fuzz_kit_message.c - libFuzzer target for what the kit client and the
 * retention policy parse: the outbox's message bytes
 * (huella_kit_message_decode; a decoded message must encode back to the
 * same bytes) when the first byte is even, the retention policy JSON
 * (huella_retention_parse) when it is odd.
 */
#include "huella/kit.h"
#include "huella/retention.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    huella_error err;
    if (data[0] & 1) {
        huella_retention_policy p;
        huella_status st = huella_retention_parse((const char *)data + 1, size - 1, &p, &err);
        if (st == HUELLA_OK &&
            (p.encounter_days < 0 || p.case_days < 0 || (p.audit_prune && p.audit_days <= 0)))
            abort();
        return 0;
    }
    huella_kit_message *m;
    if (huella_kit_message_decode(data + 1, size - 1, &m, &err) != HUELLA_OK)
        return 0;
    uint8_t *back;
    size_t len;
    if (huella_kit_message_encode(m, &back, &len, &err) != HUELLA_OK || len != size - 1 ||
        memcmp(back, data + 1, len) != 0)
        abort();
    free(back);
    huella_kit_message_free(m);
    return 0;
}
