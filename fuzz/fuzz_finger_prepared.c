/*
 * fuzz_finger_prepared.c - libFuzzer target for the serialised compact
 * prepared finger form (huella_finger_prepared_load), which the store's
 * gallery forms hold: the input is tried as a serialised form (it must
 * load or be refused with a message, and what loads must serialise back
 * to the same bytes), and as a finger template (ISO or huella format),
 * whose compact preparation must survive serialise -> load -> serialise
 * unchanged and compare exactly as the original.  Loading into the
 * caller's memory (huella_finger_prepared_load_size, _load_into) must
 * agree with huella_finger_prepared_load on every input, stay inside the
 * size it asked for (the block is exactly that size, so ASan sees any
 * write past it) and give the same template; huella_finger_prepared_check
 * must accept exactly what loads.
 */
#include "huella/finger.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const huella_finger_prepared *p, const uint8_t *bytes, size_t len)
{
    uint8_t *again = NULL;
    size_t n = 0;
    if (huella_finger_prepared_serialize(p, &again, &n, NULL) != HUELLA_OK)
        abort();
    if (n != len || memcmp(again, bytes, n) != 0)
        abort();
    free(again);
}

/* load_size + load_into in a block of exactly the size asked for. */
static void load_into(const uint8_t *data, size_t size, huella_status expect)
{
    huella_error err;
    size_t need = 0;
    huella_status st = huella_finger_prepared_load_size(data, size, &need, &err);
    if (st != HUELLA_OK) {
        if (expect == HUELLA_OK || err.message[0] == '\0')
            abort();
        return;
    }
    void *mem = aligned_alloc(HUELLA_FINGER_PREPARED_ALIGN, need);
    if (mem == NULL)
        return;
    huella_finger_prepared *p = NULL;
    st = huella_finger_prepared_load_into(data, size, mem, need, &p, &err);
    if (st != expect || (st == HUELLA_OK) != (p == mem))
        abort();
    if (st == HUELLA_OK) {
        if (huella_finger_prepared_size(p) != need)
            abort();
        round_trip(p, data, size);
    }
    free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    huella_error err;
    huella_finger_prepared *p = NULL;
    huella_status st = huella_finger_prepared_load(data, size, &p, &err);
    if (huella_finger_prepared_check(data, size, NULL) != st)
        abort(); /* the check a gallery makes at add time agrees with a load */
    if (st == HUELLA_OK) {
        round_trip(p, data, size);
        huella_finger_prepared_free(p);
    } else if (err.message[0] == '\0') {
        abort();
    }
    load_into(data, size, st);
    huella_finger_template *t = NULL;
    if (huella_finger_template_load(data, size, &t, NULL) != HUELLA_OK)
        return 0;
    huella_finger_prepared *c = NULL, *l = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (huella_finger_prepare_compact(t, &c, NULL) == HUELLA_OK &&
        huella_finger_prepared_serialize(c, &bytes, &len, NULL) == HUELLA_OK) {
        if (huella_finger_prepared_load(bytes, len, &l, NULL) != HUELLA_OK)
            abort();
        round_trip(l, bytes, len);
        double a = huella_finger_compare(c, c), b = huella_finger_compare(l, l);
        if (!(a == b || (a != a && b != b)))
            abort();
    }
    free(bytes);
    huella_finger_prepared_free(l);
    huella_finger_prepared_free(c);
    huella_finger_template_free(t);
    return 0;
}
