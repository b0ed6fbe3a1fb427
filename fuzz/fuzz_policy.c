/*
 * fuzz_policy.c - libFuzzer target for the access policy parser: any input
 * gives a policy whose decisions can be asked for, or a refusal with a
 * message.
 */
#include "huella/policy.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    huella_policy *p = NULL;
    huella_error err;
    huella_status st = huella_policy_parse((const char *)data, size, "fuzz", &p, &err);
    if (st != HUELLA_OK) {
        if (p != NULL || err.message[0] == '\0')
            abort();
        return 0;
    }
    (void)huella_policy_has_purpose(p, "identification");
    (void)huella_policy_decisions_needed(p, "watchlist");
    huella_policy_free(p);
    return 0;
}
