/*
 * weights.c - a loader for the TF.js "weights manifest" format, written
 * from its description: a JSON array of groups, each with "paths" (the
 * binary shard files, concatenated in order) and "weights", a list of
 * tensors {name, shape, dtype, optional quantization {dtype, scale, min}}
 * stored one after the other.  A quantised tensor holds uint8 (or uint16)
 * codes q standing for q * scale + min; others hold little-endian float32
 * (or int32, converted).  Every shape, size and number is checked, and the
 * shards must be used exactly: a truncated or padded file is refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "face/face_internal.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MANIFEST_BYTES (4u << 20)
#define MAX_SHARD_BYTES    (256u << 20)
#define MAX_TENSORS        4096u

void face_weights_free(face_weights *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->tensors);
    free(w);
}

static huella_status parse_json(const char *text, size_t len, json_t **root, huella_error *err)
{
    json_error_t je;
    *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (*root == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "manifest is not valid JSON (line %d: %s)",
                                je.line, je.text);
    if (!json_is_array(*root) || json_array_size(*root) == 0) {
        json_decref(*root);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "manifest is not a non-empty array of weight groups");
    }
    return HUELLA_OK;
}

huella_status face_weights_manifest_paths(const char *json, size_t json_len, char ***paths,
                                          size_t *n_paths, huella_error *err)
{
    *paths = NULL;
    *n_paths = 0;
    json_t *root;
    huella_status st = parse_json(json, json_len, &root, err);
    if (st != HUELLA_OK)
        return st;
    size_t total = 0, gi;
    json_t *group;
    json_array_foreach(root, gi, group)
    {
        json_t *p = json_object_get(group, "paths");
        if (!json_is_array(p) || json_array_size(p) == 0) {
            json_decref(root);
            return huella_error_set(err, HUELLA_E_INPUT, "manifest group %zu has no \"paths\"", gi);
        }
        total += json_array_size(p);
    }
    if (total > 1024) {
        json_decref(root);
        return huella_error_set(err, HUELLA_E_INPUT, "manifest lists %zu shards (limit 1024)",
                                total);
    }
    char **out = calloc(total, sizeof *out);
    if (out == NULL) {
        json_decref(root);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    size_t k = 0;
    json_array_foreach(root, gi, group)
    {
        size_t pi;
        json_t *v;
        json_array_foreach(json_object_get(group, "paths"), pi, v)
        {
            const char *s = json_string_value(v);
            /* A shard is a plain file name beside the manifest. */
            if (s == NULL || s[0] == '\0' || strchr(s, '/') != NULL || strcmp(s, "..") == 0 ||
                strcmp(s, ".") == 0) {
                st = huella_error_set(err, HUELLA_E_INPUT,
                                      "manifest group %zu: shard %zu is not a plain file name", gi,
                                      pi);
                goto fail;
            }
            out[k] = strdup(s);
            if (out[k] == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
                goto fail;
            }
            k++;
        }
    }
    json_decref(root);
    *paths = out;
    *n_paths = total;
    return HUELLA_OK;
fail:
    for (size_t i = 0; i < k; i++)
        free(out[i]);
    free(out);
    json_decref(root);
    return st;
}

/* One tensor entry: fill t (name, shape, count) and its byte size. */
static huella_status parse_entry(json_t *e, size_t index, const char *what, face_tensor *t,
                                 size_t *bytes, int *qbits, double *qscale, double *qmin,
                                 bool *is_int, huella_error *err)
{
    const char *name = json_string_value(json_object_get(e, "name"));
    if (name == NULL || name[0] == '\0' || strlen(name) > 256)
        return huella_error_set(err, HUELLA_E_INPUT, "%s: weight %zu has no valid \"name\"", what,
                                index);
    json_t *shape = json_object_get(e, "shape");
    if (!json_is_array(shape) || json_array_size(shape) > FACE_MAX_RANK)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: weight \"%s\": \"shape\" is not an array of at most %d "
                                "dimensions",
                                what, name, FACE_MAX_RANK);
    t->rank = (unsigned)json_array_size(shape);
    size_t count = 1;
    for (unsigned i = 0; i < t->rank; i++) {
        json_t *d = json_array_get(shape, i);
        json_int_t v = json_is_integer(d) ? json_integer_value(d) : -1;
        if (v <= 0 || v > (1 << 24))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: weight \"%s\": dimension %u is not a positive integer",
                                    what, name, i);
        t->shape[i] = (uint32_t)v;
        if (!huella_size_mul(count, (size_t)v, &count) || count > (MAX_SHARD_BYTES))
            return huella_error_set(err, HUELLA_E_INPUT, "%s: weight \"%s\" is too large", what,
                                    name);
    }
    t->count = count;
    const char *dtype = json_string_value(json_object_get(e, "dtype"));
    if (dtype == NULL || (strcmp(dtype, "float32") != 0 && strcmp(dtype, "int32") != 0))
        return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                "%s: weight \"%s\": dtype %s is not float32 or int32", what, name,
                                dtype ? dtype : "(missing)");
    *is_int = strcmp(dtype, "int32") == 0;
    json_t *q = json_object_get(e, "quantization");
    size_t elem = 4;
    *qbits = 0;
    if (q != NULL) {
        const char *qd = json_string_value(json_object_get(q, "dtype"));
        json_t *js = json_object_get(q, "scale"), *jm = json_object_get(q, "min");
        if (qd == NULL || (strcmp(qd, "uint8") != 0 && strcmp(qd, "uint16") != 0))
            return huella_error_set(err, HUELLA_E_UNSUPPORTED,
                                    "%s: weight \"%s\": quantization dtype %s is not uint8 or "
                                    "uint16",
                                    what, name, qd ? qd : "(missing)");
        if (!json_is_number(js) || !json_is_number(jm))
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: weight \"%s\": quantization needs numeric scale and min",
                                    what, name);
        *qscale = json_number_value(js);
        *qmin = json_number_value(jm);
        if (!isfinite(*qscale) || !isfinite(*qmin) || fabs(*qscale) > 1e30 || fabs(*qmin) > 1e30)
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: weight \"%s\": quantization scale or min out of range",
                                    what, name);
        *qbits = strcmp(qd, "uint8") == 0 ? 8 : 16;
        elem = *qbits / 8u;
    }
    if (!huella_size_mul(count, elem, bytes))
        return huella_error_set(err, HUELLA_E_INPUT, "%s: weight \"%s\" is too large", what, name);
    t->name = strdup(name);
    if (t->name == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    return HUELLA_OK;
}

huella_status face_weights_parse(const char *json, size_t json_len, const uint8_t *bin,
                                 size_t bin_len, const char *what, face_weights **out,
                                 huella_error *err)
{
    *out = NULL;
    json_t *root;
    huella_status st = parse_json(json, json_len, &root, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s: ", what);
        return st;
    }
    face_weights *w = calloc(1, sizeof *w);
    size_t total = 0, gi;
    json_t *group;
    json_array_foreach(root, gi, group)
    {
        json_t *ws = json_object_get(group, "weights");
        if (!json_is_array(ws)) {
            st = huella_error_set(err, HUELLA_E_INPUT, "%s: manifest group %zu has no \"weights\"",
                                  what, gi);
            goto fail;
        }
        total += json_array_size(ws);
    }
    if (w == NULL || total == 0 || total > MAX_TENSORS) {
        st = w == NULL ? huella_error_set(err, HUELLA_E_NOMEM, "out of memory")
                       : huella_error_set(err, HUELLA_E_INPUT,
                                          "%s: manifest lists %zu weights (1 to %u allowed)", what,
                                          total, MAX_TENSORS);
        goto fail;
    }
    w->tensors = calloc(total, sizeof *w->tensors);
    if (w->tensors == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        goto fail;
    }
    size_t offset = 0;
    json_array_foreach(root, gi, group)
    {
        size_t ei;
        json_t *e;
        json_array_foreach(json_object_get(group, "weights"), ei, e)
        {
            face_tensor *t = &w->tensors[w->n];
            size_t bytes;
            int qbits = 0;
            double qscale = 0, qmin = 0;
            bool is_int = false;
            st = parse_entry(e, w->n, what, t, &bytes, &qbits, &qscale, &qmin, &is_int, err);
            if (st != HUELLA_OK)
                goto fail;
            w->n++;
            for (size_t j = 0; j + 1 < w->n; j++)
                if (strcmp(w->tensors[j].name, t->name) == 0) {
                    st = huella_error_set(err, HUELLA_E_INPUT, "%s: weight \"%s\" appears twice",
                                          what, t->name);
                    goto fail;
                }
            if (bytes > bin_len - offset) {
                st = huella_error_set(err, HUELLA_E_INPUT,
                                      "%s: weights file is truncated: \"%s\" needs bytes %zu..%zu "
                                      "but the file has %zu",
                                      what, t->name, offset, offset + bytes, bin_len);
                goto fail;
            }
            size_t alloc;
            if (!huella_size_mul(t->count, sizeof(float), &alloc) ||
                (t->data = malloc(alloc ? alloc : 1)) == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
                goto fail;
            }
            const uint8_t *p = bin + offset;
            for (size_t i = 0; i < t->count; i++) {
                float v;
                if (qbits == 8) {
                    v = (float)(p[i] * qscale + qmin);
                } else if (qbits == 16) {
                    v = (float)(huella_load_u16le(p + 2 * i) * qscale + qmin);
                } else if (is_int) {
                    v = (float)(int32_t)huella_load_u32le(p + 4 * i);
                } else {
                    uint32_t u = huella_load_u32le(p + 4 * i);
                    memcpy(&v, &u, sizeof v);
                    if (!isfinite(v)) {
                        st = huella_error_set(err, HUELLA_E_INPUT,
                                              "%s: weight \"%s\" holds a non-finite value at %zu",
                                              what, t->name, i);
                        goto fail;
                    }
                }
                t->data[i] = v;
            }
            offset += bytes;
        }
    }
    if (offset != bin_len) {
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "%s: weights file has %zu bytes but the manifest describes %zu", what,
                              bin_len, offset);
        goto fail;
    }
    json_decref(root);
    *out = w;
    return HUELLA_OK;
fail:
    json_decref(root);
    face_weights_free(w);
    return st;
}

huella_status face_weights_get(const face_weights *w, const char *what, const char *name,
                               unsigned rank, const uint32_t *shape, const float **data,
                               huella_error *err)
{
    for (size_t i = 0; i < w->n; i++) {
        const face_tensor *t = &w->tensors[i];
        if (strcmp(t->name, name) != 0)
            continue;
        bool ok = t->rank == rank;
        for (unsigned k = 0; ok && k < rank; k++)
            ok = t->shape[k] == shape[k];
        if (!ok) {
            char want[64] = "", have[64] = "";
            for (unsigned k = 0; k < rank; k++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%u", k ? "x" : "",
                         shape[k]);
            for (unsigned k = 0; k < t->rank; k++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%u", k ? "x" : "",
                         t->shape[k]);
            return huella_error_set(err, HUELLA_E_INPUT,
                                    "%s: weight \"%s\" has shape [%s], expected [%s]", what, name,
                                    have, want);
        }
        *data = t->data;
        return HUELLA_OK;
    }
    return huella_error_set(err, HUELLA_E_INPUT, "%s: weight \"%s\" is missing", what, name);
}

static void sha256_hex(const uint8_t *data, size_t len, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    for (size_t i = 0; i < sizeof h; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

static huella_status check_pin(const char *path, const uint8_t *data, size_t len, const char *pin,
                               huella_error *err)
{
    if (pin == NULL)
        return HUELLA_OK;
    char hex[65];
    sha256_hex(data, len, hex);
    if (strcmp(hex, pin) != 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: SHA-256 %s does not match the pinned %s (damaged or a "
                                "different version of the model)",
                                path, hex, pin);
    return HUELLA_OK;
}

huella_status face_weights_load(const char *dir, const char *name, const char *const *pins,
                                face_weights **out, huella_error *err)
{
    *out = NULL;
    char path[4096];
    int len = snprintf(path, sizeof path, "%s/%s-weights_manifest.json", dir, name);
    if (len < 0 || (size_t)len >= sizeof path)
        return huella_error_set(err, HUELLA_E_INPUT, "model directory path is too long");
    uint8_t *manifest = NULL, *bin = NULL;
    size_t manifest_len, bin_len = 0;
    char **paths = NULL;
    size_t n_paths = 0;
    huella_status st = huella_file_read(path, MAX_MANIFEST_BYTES, &manifest, &manifest_len, err);
    if (st != HUELLA_OK)
        return st;
    if ((st = check_pin(path, manifest, manifest_len, pins ? pins[0] : NULL, err)) != HUELLA_OK)
        goto done;
    st = face_weights_manifest_paths((const char *)manifest, manifest_len, &paths, &n_paths, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s: ", path);
        goto done;
    }
    if (pins != NULL && n_paths != 1) {
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: expected one shard, the manifest lists %zu",
                              path, n_paths);
        goto done;
    }
    huella_buf all;
    huella_buf_init(&all);
    for (size_t i = 0; i < n_paths; i++) {
        char shard[4096];
        len = snprintf(shard, sizeof shard, "%s/%s", dir, paths[i]);
        if (len < 0 || (size_t)len >= sizeof shard) {
            huella_buf_free(&all);
            st = huella_error_set(err, HUELLA_E_INPUT, "model directory path is too long");
            goto done;
        }
        uint8_t *data;
        size_t dlen;
        st = huella_file_read(shard, MAX_SHARD_BYTES, &data, &dlen, err);
        if (st == HUELLA_OK) {
            if (pins != NULL)
                st = check_pin(shard, data, dlen, pins[1], err);
            if (st == HUELLA_OK && !huella_buf_append(&all, data, dlen))
                st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
            free(data);
        }
        if (st != HUELLA_OK) {
            huella_buf_free(&all);
            goto done;
        }
    }
    bin = all.data;
    bin_len = all.len;
    st = face_weights_parse((const char *)manifest, manifest_len, bin, bin_len, name, out, err);
done:
    for (size_t i = 0; i < n_paths; i++)
        free(paths[i]);
    free(paths);
    free(manifest);
    free(bin);
    return st;
}
