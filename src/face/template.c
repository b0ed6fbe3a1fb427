/*
 * template.c - compact face templates and calibrated scores.
 *
 * A descriptor is stored as 128 int8 values and one scale (max |d| / 127).
 * The distance between two templates uses
 * |a - b|^2 = |a|^2 + |b|^2 - 2 sa sb <qa, qb>, with the dot product an
 * exact integer sum: the same number whatever the kernel (search.c).
 */
#include "face/face_internal.h"

#include <math.h>
#include <string.h>

/* Measured calibration (docs/face.md): the distances below which
 * 10^-k of 7,244,128 impostor comparisons fall (every cross-person pair of
 * the 3,808 LFW development images that enrolled, two-pass descriptors; k = 5 and 6 rest on 72
 * and 7 comparisons and are rough).  k = 0 is the largest impostor
 * distance. */
#define FACE_CALIB_0 1.1943
#define FACE_CALIB_1 0.6924
#define FACE_CALIB_2 0.6031
#define FACE_CALIB_3 0.5321
#define FACE_CALIB_4 0.4662
#define FACE_CALIB_5 0.4109
#define FACE_CALIB_6 0.3717

static float template_norm2(const huella_face_template *t)
{
    int32_t s = 0;
    for (int i = 0; i < HUELLA_FACE_DIM; i++)
        s += (int32_t)t->q[i] * t->q[i];
    return (float)((double)t->scale * t->scale * s);
}

void huella_face_template_from_descriptor(const float d[HUELLA_FACE_DIM], huella_face_template *t)
{
    float mx = 0.0f;
    for (int i = 0; i < HUELLA_FACE_DIM; i++)
        mx = fabsf(d[i]) > mx ? fabsf(d[i]) : mx;
    t->scale = mx > 0.0f ? mx / 127.0f : 1.0f;
    for (int i = 0; i < HUELLA_FACE_DIM; i++) {
        long v = lroundf(d[i] / t->scale);
        t->q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    t->norm2 = template_norm2(t);
}

void huella_face_template_encode(const huella_face_template *t,
                                 uint8_t out[HUELLA_FACE_TEMPLATE_BYTES])
{
    memcpy(out, "HFCT", 4);
    out[4] = HUELLA_FACE_TEMPLATE_VERSION;
    uint32_t u;
    memcpy(&u, &t->scale, sizeof u);
    huella_store_u32le(out + 5, u);
    memcpy(out + 9, t->q, HUELLA_FACE_DIM);
}

huella_status huella_face_template_decode(const uint8_t *data, size_t len, huella_face_template *t,
                                          huella_error *err)
{
    huella_reader r;
    huella_reader_init(&r, data, len);
    uint8_t magic[4], version;
    uint32_t u;
    if (!huella_read_bytes(&r, magic, 4) || memcmp(magic, "HFCT", 4) != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "not a huella face template (no HFCT magic)");
    if (!huella_read_u8(&r, &version) || version != HUELLA_FACE_TEMPLATE_VERSION)
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "face template version %u unsupported",
                                (unsigned)version);
    if (!huella_read_u32le(&r, &u) || !huella_read_bytes(&r, t->q, HUELLA_FACE_DIM))
        return huella_error_set(err, HUELLA_E_INPUT, "face template truncated (%zu bytes)", len);
    if (huella_reader_left(&r) != 0)
        return huella_error_set(err, HUELLA_E_INPUT, "face template has %zu trailing bytes",
                                huella_reader_left(&r));
    memcpy(&t->scale, &u, sizeof u);
    if (!isfinite(t->scale) || t->scale <= 0.0f || t->scale > 1.0f)
        return huella_error_set(err, HUELLA_E_INPUT, "face template scale %g out of range",
                                (double)t->scale);
    for (int i = 0; i < HUELLA_FACE_DIM; i++)
        if (t->q[i] == -128)
            return huella_error_set(err, HUELLA_E_INPUT, "face template value %d out of range", i);
    t->norm2 = template_norm2(t);
    return HUELLA_OK;
}

double huella_face_template_distance(const huella_face_template *a, const huella_face_template *b)
{
    int32_t dot = 0;
    for (int i = 0; i < HUELLA_FACE_DIM; i++)
        dot += (int32_t)a->q[i] * b->q[i];
    double d2 = (double)a->norm2 + (double)b->norm2 - 2.0 * a->scale * b->scale * (double)dot;
    return d2 > 0 ? sqrt(d2) : 0.0;
}

/* Distances at which impostor comparisons reach FMR 10^-k, k = 0..6,
 * measured on the development data (docs/face.md): every cross-person pair
 * of the LFW development images, int8 templates, similarity alignment. */
static const double calib[7] = {FACE_CALIB_0, FACE_CALIB_1, FACE_CALIB_2, FACE_CALIB_3,
                                FACE_CALIB_4, FACE_CALIB_5, FACE_CALIB_6};

double huella_face_score(double distance)
{
    if (!(distance < calib[0]))
        return 0.0;
    for (int k = 1; k < 7; k++)
        if (distance >= calib[k])
            return (k - 1) + (calib[k - 1] - distance) / (calib[k - 1] - calib[k]);
    return 6.0;
}

double huella_face_threshold(double fmr)
{
    if (!(fmr > 0))
        return calib[6];
    double k = -log10(fmr);
    if (k <= 0)
        return calib[0];
    if (k >= 6)
        return calib[6];
    int i = (int)k;
    double f = k - i;
    return calib[i] + f * (calib[i + 1] - calib[i]);
}
