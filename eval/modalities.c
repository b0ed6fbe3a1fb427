/*
 * modalities.c - the registry of engines that `huella eval` can measure.
 *
 * Each engine exposes one huella_modality (make a template from a sample,
 * compare two templates, say what a score means) and is listed here.  The
 * list is constant: no registration at run time, no global mutable state.
 */
#include "huella/eval.h"

#include <string.h>

#include "face/modality.h"
#include "finger/modality.h"
#include "iris/modality.h"

static const huella_modality *const registry[] = {
    /* one line per engine */
    &huella_finger_modality,
    &huella_iris_modality,
    &huella_face_modality,
    NULL,
};

const huella_modality *const *huella_eval_modalities(void)
{
    return registry;
}

const huella_modality *huella_eval_modality_find(const char *name)
{
    for (size_t i = 0; registry[i] != NULL; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}
