/*
 * protocol.c - which comparisons an evaluation makes.
 *
 * Genuine comparisons are every unordered pair of samples within a class
 * (FVC: 8 impressions give 28 pairs).  Impostor comparisons depend on the
 * protocol:
 *   fvc  the first sample of each class against the first sample of every
 *        other class (FVC2002: 10 fingers give 45 pairs);
 *   all  every unordered pair of samples from different classes (80
 *        samples in 10 classes of 8 give 80 * 72 / 2 = 2,880).
 * Comparisons are symmetric for the engines in huella, so each unordered
 * pair is compared once, with a < b.
 */
#include "huella/eval.h"

#include <stdlib.h>
#include <string.h>

/* The largest number of comparisons one run may ask for: 2^32 pairs
 * (32 GiB of pairs) is far beyond any evaluation this harness is for. */
#define MAX_PAIRS ((uint64_t)1 << 32)

const char *huella_protocol_name(huella_protocol protocol)
{
    return protocol == HUELLA_PROTOCOL_ALL ? "all" : "fvc";
}

bool huella_protocol_parse(const char *name, huella_protocol *out)
{
    if (strcmp(name, "fvc") == 0)
        *out = HUELLA_PROTOCOL_FVC;
    else if (strcmp(name, "all") == 0)
        *out = HUELLA_PROTOCOL_ALL;
    else
        return false;
    return true;
}

huella_status huella_protocol_pairs(const huella_dataset *ds, huella_protocol protocol,
                                    huella_pair **genuine, size_t *n_genuine,
                                    huella_pair **impostor, size_t *n_impostor, huella_error *err)
{
    *genuine = *impostor = NULL;
    *n_genuine = *n_impostor = 0;
    size_t n = ds->n_samples;

    /* Classes are contiguous runs of samples (the dataset is sorted). */
    size_t *first = malloc((ds->n_classes + 1) * sizeof(size_t));
    if (first == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || ds->samples[i].class_index != ds->samples[i - 1].class_index)
            first[c++] = i;
    first[c] = n;

    uint64_t ng = 0, ni = 0;
    for (size_t k = 0; k < c; k++) {
        uint64_t m = first[k + 1] - first[k];
        ng += m * (m - 1) / 2;
    }
    if (protocol == HUELLA_PROTOCOL_FVC) {
        ni = (uint64_t)c * (c - 1) / 2;
    } else {
        uint64_t total = (uint64_t)n * (n - 1) / 2;
        ni = total - ng;
    }
    if (ng > MAX_PAIRS || ni > MAX_PAIRS) {
        free(first);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "protocol %s on %zu samples asks for %llu genuine and %llu "
                                "impostor comparisons, more than the limit of %llu",
                                huella_protocol_name(protocol), n, (unsigned long long)ng,
                                (unsigned long long)ni, (unsigned long long)MAX_PAIRS);
    }
    huella_pair *g = malloc((size_t)(ng ? ng : 1) * sizeof(huella_pair));
    huella_pair *im = malloc((size_t)(ni ? ni : 1) * sizeof(huella_pair));
    if (g == NULL || im == NULL) {
        free(g);
        free(im);
        free(first);
        return huella_error_set(err, HUELLA_E_NOMEM, "cannot allocate the comparison list");
    }
    size_t gi = 0, ii = 0;
    for (size_t k = 0; k < c; k++)
        for (size_t a = first[k]; a < first[k + 1]; a++)
            for (size_t b = a + 1; b < first[k + 1]; b++)
                g[gi++] = (huella_pair){(uint32_t)a, (uint32_t)b};
    if (protocol == HUELLA_PROTOCOL_FVC) {
        for (size_t k = 0; k < c; k++)
            for (size_t l = k + 1; l < c; l++)
                im[ii++] = (huella_pair){(uint32_t)first[k], (uint32_t)first[l]};
    } else {
        for (size_t k = 0; k < c; k++)
            for (size_t a = first[k]; a < first[k + 1]; a++)
                for (size_t b = first[k + 1]; b < n; b++)
                    im[ii++] = (huella_pair){(uint32_t)a, (uint32_t)b};
    }
    free(first);
    *genuine = g;
    *n_genuine = gi;
    *impostor = im;
    *n_impostor = ii;
    return HUELLA_OK;
}
