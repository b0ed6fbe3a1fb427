/*
 * fuzz_iris_template.c - libFuzzer target for the iris template byte
 * format (src/iris/template.c, layout in include/huella/iris.h).
 *
 * Contract under test: any byte string is either read into a template
 * whose fields are in range, which then writes back to exactly the same
 * bytes and compares with itself at distance 0 or less, or refused with a
 * non-empty message; never a crash, a leak or undefined behaviour.
 */
#include "huella/iris.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size);

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* The input as it is, and (so that the fuzzer reaches the field checks
 * behind the checksum) as the body of a record of the right size with
 * magic, version and checksum filled in. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    uint8_t rec[HUELLA_IRIS_TEMPLATE_BYTES];
    memset(rec, 0, sizeof(rec));
    memcpy(rec, "HIRS", 4);
    rec[5] = HUELLA_IRIS_TEMPLATE_VERSION;
    size_t body = sizeof(rec) - 10;
    memcpy(rec + 6, data, size < body ? size : body);
    uint32_t c = crc32(rec, sizeof(rec) - 4);
    rec[sizeof(rec) - 4] = (uint8_t)(c >> 24);
    rec[sizeof(rec) - 3] = (uint8_t)(c >> 16);
    rec[sizeof(rec) - 2] = (uint8_t)(c >> 8);
    rec[sizeof(rec) - 1] = (uint8_t)c;
    one(rec, sizeof(rec));
    return 0;
}

static void one(const uint8_t *data, size_t size)
{
    huella_iris_template *t = NULL;
    huella_error err;
    huella_error_clear(&err);
    huella_status st = huella_iris_template_decode(data, size, &t, &err);
    if (st != HUELLA_OK) {
        if (t != NULL || err.message[0] == '\0')
            abort();
        return;
    }
    if (t == NULL || t->quality.score > 100 || t->width == 0 || t->height == 0)
        abort();
    uint8_t *out = NULL;
    size_t len = 0;
    if (huella_iris_template_encode(t, &out, &len, &err) != HUELLA_OK)
        abort(); /* what we read we must write */
    if (len != size || memcmp(out, data, size) != 0)
        abort();
    free(out);
    double d = huella_iris_distance(&t->code, &t->code, HUELLA_IRIS_DEFAULT_MAX_SHIFT, NULL, NULL);
    if (!(d <= 1.0))
        abort();
    huella_iris_template_free(t);
}
