/*
 * fuzz_eval_scores.c - libFuzzer target for the scores-file parser used by
 * `huella eval scores`, and for the metrics computed from what it parses.
 */
#include "huella/eval.h"

#include <math.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double *gen = NULL, *imp = NULL;
    size_t ng = 0, ni = 0;
    huella_error err;
    huella_error_clear(&err);
    huella_status st =
        huella_eval_scores_parse((const char *)data, size, &gen, &ng, &imp, &ni, &err);
    if (st == HUELLA_OK) {
        huella_eval_metrics m;
        if (huella_eval_metrics_compute(gen, ng, imp, ni, HUELLA_SCORE_SIMILARITY, &m, &err) ==
            HUELLA_OK) {
            if (!(m.eer >= 0.0 && m.eer <= 1.0) || !(m.fmr100 >= 0.0 && m.fmr100 <= 1.0))
                abort();
        }
    } else if (err.message[0] == '\0') {
        abort();
    }
    free(gen);
    free(imp);
    return 0;
}
