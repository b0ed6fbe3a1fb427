/*
 * gallery_form.h - the sealed per-person gallery forms (gallery_form.c),
 * shared with the gallery loader (gallery_load.c) and enrolment.
 * Internal to src/store.
 */
#ifndef HUELLA_STORE_GALLERY_FORM_H
#define HUELLA_STORE_GALLERY_FORM_H

#include "huella/gallery.h"
#include "store_internal.h"

/* The format tag of the forms this build writes and reads: the layout
 * version, the finger prepared format and a digest of this build's
 * preparation of a fixed synthetic template.  A row of another tag is
 * stale. */
uint64_t store_form_format(huella_store *s); /* computed once per handle */

/* A plaintext form being built. */
typedef struct store_form {
    huella_buf b;
    unsigned count;
} store_form;
void store_form_init(store_form *f);
void store_form_free(store_form *f); /* wipes */

/* Add the gallery form of each searchable template of a sample (the
 * sample's opened templates container; other types are skipped). */
huella_status store_form_add_sample(store_form *f, int64_t sample, int modality, unsigned position,
                                    const uint8_t *plain, size_t len, huella_error *err);

/* Add every entry of a plaintext form to the gallery as person's;
 * counts[modality] grows by the templates added. */
huella_status store_form_apply(const uint8_t *plain, size_t len, huella_gallery *g, int64_t person,
                               size_t counts[HUELLA_GALLERY_MODALITIES], huella_error *err);

/* The plaintext form of a person from their samples (key: theirs). */
huella_status store_form_build_person(huella_store *s, int64_t person, const uint8_t *key,
                                      store_form *f, huella_error *err);

/* (Re)write the sealed form of a person from their samples, inside the
 * caller's transaction. */
huella_status store_gallery_form_write(huella_store *s, int64_t person, uint64_t format,
                                       huella_error *err);

#endif
