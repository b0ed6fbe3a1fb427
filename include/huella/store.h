/*
 * huella/store.h - the embedded, encrypted store of persons, encounters,
 * samples and templates (SQLite + libsodium), and enrolment into it.
 *
 * Data model: a person has encounters (one capture session each: when,
 * where, device, operator, declared purpose, legal basis, biographic
 * data); an encounter has samples (one image of one finger, iris, face or
 * scar/mark/tattoo, with its quality); a sample holds its templates.
 * Encounters are linked to persons with a history that is never lost
 * (link, unlink, relink events); possible duplicates are cases that a
 * person decides, never merged automatically.
 *
 * Encryption at rest: every image, template and biographic document is
 * sealed with XChaCha20-Poly1305 under a random data key of its person;
 * that key is stored wrapped by the master key (DIR/master.key).  The
 * associated data binds each ciphertext to its row, so blobs cannot be
 * swapped between rows.  Erasing a person deletes their wrapped key and
 * every row, and truncates the write-ahead log.  Design: docs/store.md.
 *
 * Threads: a store handle is used by one thread at a time.  Ids are
 * positive 64-bit integers, never reused (also after erasure).
 */
#ifndef HUELLA_STORE_H
#define HUELLA_STORE_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct huella_store huella_store;

typedef enum huella_store_modality {
    HUELLA_STORE_FINGER = 1, /* position: ANSI/NIST-ITL FGP 1..10 */
    HUELLA_STORE_IRIS = 2,   /* position: HUELLA_IRIS_EYE_RIGHT (1) or _LEFT (2) */
    HUELLA_STORE_FACE = 3,   /* position 0; a face template since schema 5 */
    HUELLA_STORE_SMT = 4     /* scar, mark, tattoo; position 0 */
} huella_store_modality;

/* Template types inside a sample. */
#define HUELLA_STORE_TEMPLATE_FINGER 1 /* huella_finger_template_encode bytes */
#define HUELLA_STORE_TEMPLATE_IRIS   2 /* huella_iris_template_encode bytes */
#define HUELLA_STORE_TEMPLATE_FACE   3 /* huella_face_template_encode bytes (137) */

/* Captures of persons younger than this (years) are flagged juvenile. */
#define HUELLA_STORE_DEFAULT_JUVENILE_AGE 14

/* Largest image and template accepted in one sample. */
#define HUELLA_STORE_MAX_IMAGE     (64u * 1024u * 1024u)
#define HUELLA_STORE_MAX_TEMPLATE  (1024u * 1024u)
#define HUELLA_STORE_MAX_TEMPLATES 8 /* per sample */

/* "finger", "iris", "face", "smt"; NULL for anything else. */
HUELLA_API const char *huella_store_modality_name(huella_store_modality m);
/* The inverse; false for an unknown name. */
HUELLA_API bool huella_store_modality_parse(const char *name, huella_store_modality *out);

/* ---- Opening ------------------------------------------------------------ */

typedef struct huella_store_init_options {
    unsigned juvenile_age; /* 0 = HUELLA_STORE_DEFAULT_JUVENILE_AGE; at most 25 */
} huella_store_init_options;

/*
 * Create DIR (mode 0700; an existing empty directory is accepted), the
 * database DIR/huella.db at the current schema version and the master key
 * DIR/master.key (32 random bytes, mode 0600).  Refuses a directory that
 * already holds a store.
 */
HUELLA_API huella_status huella_store_init(const char *dir, const huella_store_init_options *opt,
                                           huella_error *err);

/*
 * Open the store in DIR: refuses (HUELLA_E_DENIED) a master key that group
 * or others may read or write, or that is not this store's key; sets WAL, synchronous=FULL, foreign
 * keys and secure_delete; applies pending schema migrations in one transaction.
 */
HUELLA_API huella_status huella_store_open(const char *dir, huella_store **out, huella_error *err);
HUELLA_API void huella_store_close(huella_store *s);

/*
 * Rotate the master key: a new DIR/master.key, every person key re-wrapped
 * under it in one transaction, the log truncated.  Destroying the old key
 * file (and its copies) then makes backups taken before the rotation
 * unreadable, including the data of persons erased since.  Crash-safe:
 * the new key is written to DIR/master.key.new first and renamed after the
 * commit; an open after a crash finishes or discards the rotation.  No
 * other process may have the store open.
 */
HUELLA_API huella_status huella_store_rekey(const char *dir, huella_error *err);

/* The schema version this library writes (PRAGMA user_version). */
HUELLA_API int huella_store_schema_version(void);
/* The juvenile age limit configured at init. */
HUELLA_API unsigned huella_store_juvenile_age(const huella_store *s);

/*
 * Transactions.  Every writing call below is atomic on its own (a
 * savepoint); begin/commit group several into one durable transaction
 * (BEGIN IMMEDIATE ... COMMIT, fsync'd).  rollback undoes an open one.
 */
HUELLA_API huella_status huella_store_begin(huella_store *s, huella_error *err);
HUELLA_API huella_status huella_store_commit(huella_store *s, huella_error *err);
HUELLA_API void huella_store_rollback(huella_store *s);

/* ---- Writing ------------------------------------------------------------ */

/* A new person with a fresh data key and no encounters. */
HUELLA_API huella_status huella_store_person_create(huella_store *s, int64_t *person_id,
                                                    huella_error *err);

typedef struct huella_store_encounter {
    const char *captured; /* UTC "YYYY-MM-DDThh:mm:ssZ" (fraction allowed); NULL = now */
    const char *site;     /* required, as are the four below */
    const char *device;
    const char *operator_id; /* who captured */
    const char *purpose;     /* declared purpose of the processing */
    const char *legal_basis; /* legal basis of the processing */
    const char *link_reason; /* why it goes to this person (history); NULL = "enrolment" */
} huella_store_encounter;

/*
 * Add an encounter to a person with its biographic data: bio_json is the
 * document of docs/store.md (NULL or "{}" for none).  Names get their
 * Latin form (huella_names_normalize), the age at capture is derived from
 * the date of birth, and the capture is flagged juvenile when the person
 * may be younger than the configured limit.  The first link event of the
 * encounter is recorded (who: operator_id; why: link_reason).
 */
HUELLA_API huella_status huella_store_encounter_add(huella_store *s, int64_t person_id,
                                                    const huella_store_encounter *enc,
                                                    const char *bio_json, int64_t *encounter_id,
                                                    huella_error *err);

typedef struct huella_store_template {
    uint8_t type;     /* HUELLA_STORE_TEMPLATE_* */
    uint16_t version; /* version of that format */
    const uint8_t *data;
    size_t len;
} huella_store_template;

typedef struct huella_store_sample {
    huella_store_modality modality;
    unsigned position;        /* see huella_store_modality */
    int quality;              /* 0..100, -1 unknown */
    const char *image_format; /* "png", "jpeg", ... (as given); NULL when no image */
    const uint8_t *image;     /* the image file as given; may be NULL */
    size_t image_len;
    const huella_store_template *templates;
    size_t n_templates; /* 0..HUELLA_STORE_MAX_TEMPLATES */
} huella_store_sample;

HUELLA_API huella_status huella_store_sample_add(huella_store *s, int64_t encounter_id,
                                                 const huella_store_sample *sample,
                                                 int64_t *sample_id, huella_error *err);

/* ---- Reading ------------------------------------------------------------ */

/* Ids in ascending order; *ids (free with free()) is NULL when *n is 0. */
HUELLA_API huella_status huella_store_person_encounters(huella_store *s, int64_t person_id,
                                                        int64_t **ids, size_t *n,
                                                        huella_error *err);
HUELLA_API huella_status huella_store_encounter_samples(huella_store *s, int64_t encounter_id,
                                                        int64_t **ids, size_t *n,
                                                        huella_error *err);
/* Every person id, ascending. */
HUELLA_API huella_status huella_store_persons(huella_store *s, int64_t **ids, size_t *n,
                                              huella_error *err);

/* One sample, decrypted.  Free with huella_store_sample_data_free. */
typedef struct huella_store_sample_data {
    int64_t id, encounter_id, person_id;
    huella_store_modality modality;
    unsigned position;
    int quality;
    char image_format[16]; /* "" when no image */
    uint8_t *image;
    size_t image_len;
    size_t n_templates;
    uint8_t template_type[HUELLA_STORE_MAX_TEMPLATES];
    uint16_t template_version[HUELLA_STORE_MAX_TEMPLATES];
    uint8_t *template_data[HUELLA_STORE_MAX_TEMPLATES];
    size_t template_len[HUELLA_STORE_MAX_TEMPLATES];
} huella_store_sample_data;

HUELLA_API huella_status huella_store_sample_get(huella_store *s, int64_t sample_id,
                                                 huella_store_sample_data **out, huella_error *err);
HUELLA_API void huella_store_sample_data_free(huella_store_sample_data *d);

/* Whether any encounter of the person was captured as a juvenile (their
 * matches are less reliable); HUELLA_E_NOTFOUND for no such person. */
HUELLA_API huella_status huella_store_person_juvenile(huella_store *s, int64_t person_id,
                                                      bool *juvenile, huella_error *err);

/* The person of an encounter (HUELLA_E_NOTFOUND if there is none). */
HUELLA_API huella_status huella_store_encounter_person(huella_store *s, int64_t encounter_id,
                                                       int64_t *person_id, huella_error *err);

/*
 * Gallery forms (src/store/gallery_form.c): every person has, beside
 * their samples, one sealed blob with what the in-memory gallery keeps of
 * them (prepared fingers, packed iris codes, face templates), written by
 * enrolment and dropped by the database whenever a sample of the person
 * changes.  A form of another format (another finger preparation, another
 * layout) or a missing one is "stale": the gallery loader rebuilds it in
 * memory from the templates, slowly.  huella_store_gallery_stale counts
 * the stale persons; huella_store_gallery_refresh writes their forms
 * (transactions of 256 persons; *written may be NULL).
 */
HUELLA_API huella_status huella_store_gallery_stale(huella_store *s, size_t *n, huella_error *err);
/* Write one person's form now (atomic; inside the caller's transaction
 * when one is open), for writers that add samples with the low-level
 * calls above and want the next load to be fast. */
HUELLA_API huella_status huella_store_gallery_update(huella_store *s, int64_t person_id,
                                                     huella_error *err);
HUELLA_API huella_status huella_store_gallery_refresh(huella_store *s, size_t *written,
                                                      huella_error *err);

/*
 * The gallery snapshot (src/store/gallery_snapshot.c): DIR/gallery.snap,
 * a copy of every person's sealed gallery form (still sealed under the
 * person's key) in person order, in a file of its own, so that a load
 * reads the forms in long sequential runs (huella_gallery_load_store uses
 * it when it is the store's current one).  A cache beside the cache: the
 * database logs every person whose form changes after it was written,
 * and the load takes those from the database.  Writing it reads every
 * form once (one read transaction), writes DIR/gallery.snap.tmp, syncs it
 * and installs it (rename) in a write transaction that also trims the
 * change log.  Erasing a person or an encounter removes the file (it
 * holds their sealed form); a snapshot being written across an erasure,
 * or older than one installed meanwhile, or while another process writes
 * one, is not installed (stats->installed false, stats->note why,
 * HUELLA_OK).  stats may be NULL.
 */
typedef struct huella_gallery_snapshot_stats {
    size_t persons; /* entries: every person of the store */
    size_t forms;   /* of which with a current form; the rest load from the database */
    uint64_t bytes; /* size of the file */
    bool installed; /* false: nothing changed, `note` says why */
    double seconds; /* wall time */
    char note[128]; /* why not installed: an erasure meanwhile, a newer one, another writer */
} huella_gallery_snapshot_stats;
HUELLA_API huella_status huella_store_gallery_snapshot(huella_store *s,
                                                       huella_gallery_snapshot_stats *stats,
                                                       huella_error *err);
/* Make the statement running on s in another thread (a gallery snapshot
 * being written, a load) stop soon with an error: for a service shutting
 * down.  Safe to call from any thread while s is open. */
HUELLA_API void huella_store_interrupt(huella_store *s);
/* Whether a new snapshot would change anything: the store has persons and
 * no snapshot that a load would use (none, removed, another format or
 * master key, damaged), or persons changed since it (*changes: the rows
 * of the change log; may be NULL). */
HUELLA_API huella_status huella_store_gallery_snapshot_due(huella_store *s, bool *due,
                                                           size_t *changes, huella_error *err);

/*
 * Bulk load for the galleries: calls cb once for every template of the
 * native type of modality (finger: HUELLA_STORE_TEMPLATE_FINGER, iris:
 * HUELLA_STORE_TEMPLATE_IRIS, face: HUELLA_STORE_TEMPLATE_FACE) of every sample of that modality,
 * in ascending (person, sample) order, with the decrypted template bytes (valid during the call
 * only).  One ordered scan, one key unwrap per person.  A callback returning anything but HUELLA_OK
 * stops the scan and that status is returned.
 */
typedef huella_status (*huella_store_template_cb)(void *ctx, int64_t person_id, int64_t sample_id,
                                                  unsigned position, const uint8_t *tmpl,
                                                  size_t len);
HUELLA_API huella_status huella_store_foreach_template(huella_store *s,
                                                       huella_store_modality modality,
                                                       huella_store_template_cb cb, void *ctx,
                                                       huella_error *err);

/*
 * A person as JSON, decrypted for authorised display: encounters with
 * their biographic data and link history, samples with quality and
 * template sizes (with_images: also the images, base64), the cases that
 * name the person.  *json is freed with free().  Never log it.
 */
HUELLA_API huella_status huella_store_person_json(huella_store *s, int64_t person_id,
                                                  bool with_images, char **json, huella_error *err);

/* ---- Ownership and rectification (src/store/rectify.c) ------------------ */

/* The agency that owns a person: "default" unless set.  Agency names are
 * 1 to 63 bytes of a-z, 0-9, '.', '_', '-'. */
HUELLA_API huella_status huella_store_person_agency(huella_store *s, int64_t person_id,
                                                    char agency[64], huella_error *err);
HUELLA_API huella_status huella_store_person_set_agency(huella_store *s, int64_t person_id,
                                                        const char *agency, huella_error *err);

/*
 * Rectify the biographic data of a person's newest encounter: patch_json
 * is an object whose members (names, date_of_birth, sex, nationality,
 * documents; validated as in huella_store_encounter_add) replace those of
 * the stored document; a null member removes it.  The whole old document
 * is kept, sealed under the person's key, in a history row with who, when,
 * why and the names of the changed members.  *encounter_id (may be NULL)
 * receives the encounter changed.  HUELLA_E_NOTFOUND when the person has
 * no encounter.
 */
HUELLA_API huella_status huella_store_person_rectify(huella_store *s, int64_t person_id,
                                                     const char *patch_json, const char *who,
                                                     const char *why, int64_t *encounter_id,
                                                     huella_error *err);
/* The rectification history of a person as a JSON array, oldest first,
 * each {id, encounter_id, at, who, why, fields, old} with the old document
 * decrypted.  Never log it. */
HUELLA_API huella_status huella_store_person_history(huella_store *s, int64_t person_id,
                                                     char **json, huella_error *err);

/* ---- Links, cases, erasure ---------------------------------------------- */

/*
 * Move an encounter (with its samples, re-encrypted under the new
 * person's key) to another existing person, recording who, when and why;
 * the earlier links stay in the history.  Linking an encounter to the
 * person it already has is HUELLA_E_INPUT.
 */
HUELLA_API huella_status huella_store_encounter_link(huella_store *s, int64_t encounter_id,
                                                     int64_t person_id, const char *who,
                                                     const char *why, huella_error *err);
/* Undo a link: the encounter goes to a new person of its own
 * (*new_person, may be NULL); recorded in the history. */
HUELLA_API huella_status huella_store_encounter_unlink(huella_store *s, int64_t encounter_id,
                                                       const char *who, const char *why,
                                                       int64_t *new_person, huella_error *err);
/* Undo the last link event of the encounter: it goes back to the person it
 * had before (which must still exist); recorded as a "relink" event. */
HUELLA_API huella_status huella_store_encounter_relink(huella_store *s, int64_t encounter_id,
                                                       const char *who, const char *why,
                                                       huella_error *err);
/* The link history of an encounter as a JSON array, oldest first. */
HUELLA_API huella_status huella_store_link_history(huella_store *s, int64_t encounter_id,
                                                   char **json, huella_error *err);

typedef enum huella_store_case_status {
    HUELLA_CASE_OPEN = 0,
    HUELLA_CASE_CONFIRMED_SAME = 1,
    HUELLA_CASE_CONFIRMED_DIFFERENT = 2
} huella_store_case_status;

HUELLA_API const char *huella_store_case_status_name(huella_store_case_status st);

typedef struct huella_store_candidate {
    int64_t person_id;
    const char *evidence_json; /* any JSON value (scores per finger/iris, fused score) */
} huella_store_candidate;

/*
 * Open a possible-duplicate case: the encounter that raised it (its
 * person, usually new, keeps it meanwhile) and the candidate persons with
 * their evidence.  Nothing is merged.
 */
HUELLA_API huella_status huella_store_case_open(huella_store *s, int64_t encounter_id,
                                                const huella_store_candidate *candidates,
                                                size_t n_candidates, const char *opened_by,
                                                int64_t *case_id, huella_error *err);
/*
 * A person's decision.  CONFIRMED_SAME names the candidate (same_person)
 * and links the case's encounter to them (a link event citing the case);
 * CONFIRMED_DIFFERENT leaves every link as it is.  Only an open case can
 * be resolved.
 */
HUELLA_API huella_status huella_store_case_resolve(huella_store *s, int64_t case_id,
                                                   huella_store_case_status status,
                                                   int64_t same_person, const char *decided_by,
                                                   const char *note, huella_error *err);
HUELLA_API huella_status huella_store_case_json(huella_store *s, int64_t case_id, char **json,
                                                huella_error *err);
/* Ids of the cases with this status, oldest first (for reviewers). */
HUELLA_API huella_status huella_store_cases(huella_store *s, huella_store_case_status status,
                                            int64_t **ids, size_t *n, huella_error *err);

/*
 * Erase a person: their wrapped key and every row (encounters, samples,
 * images, templates, biographic data, link events of their encounters)
 * go; cases naming them say "erased" without their data; a tombstone
 * (id, time, who, reason) is kept.  Then the WAL is checkpointed and
 * truncated.  Not allowed inside begin/commit.  Limits: docs/store.md.
 */
HUELLA_API huella_status huella_store_person_erase(huella_store *s, int64_t person_id,
                                                   const char *who, const char *reason,
                                                   huella_error *err);

/*
 * Verify the whole store: SQLite integrity and foreign keys, every wrapped
 * key unwraps, every blob decrypts and authenticates against its row,
 * templates decode, rows agree with each other.  *report (free with
 * free()) is a JSON object {"ok":bool,"problems":[...],"counts":{...}};
 * *n_problems the number of problems.
 */
HUELLA_API huella_status huella_store_check(huella_store *s, char **report, size_t *n_problems,
                                            huella_error *err);

/* ---- Retention (src/store/expire.c; the policy is src/policy/retention.c) -- */

/* An encounter captured before a retention cut-off. */
typedef struct huella_store_expired {
    int64_t encounter_id;
    int64_t person_id;
    char captured[32];
    bool last; /* the person has no other encounter that stays */
} huella_store_expired;

/*
 * Encounters captured before `before` (UTC ISO 8601), by person then id
 * (a person's encounters are adjacent),
 * except those whose possible-duplicate case is still open (a case under
 * review holds its data).  *out is freed with free(); NULL when *n is 0.
 */
HUELLA_API huella_status huella_store_expired_encounters(huella_store *s, const char *before,
                                                         huella_store_expired **out, size_t *n,
                                                         huella_error *err);
/*
 * Erase one encounter with everything it holds (samples, images,
 * templates, biographic data and its history, link events); cases that
 * name it say "encounter erased".  The person and their other encounters
 * stay (erase the person instead when it is their last).  The WAL is
 * checkpointed and truncated.  Not allowed inside begin/commit.
 */
HUELLA_API huella_status huella_store_encounter_erase(huella_store *s, int64_t encounter_id,
                                                      huella_error *err);
/* Ids of decided (closed) cases decided before `before`, oldest first. */
HUELLA_API huella_status huella_store_closed_cases(huella_store *s, const char *before,
                                                   int64_t **ids, size_t *n, huella_error *err);
/* Delete one closed case with its candidates and evidence; an open case
 * is refused (HUELLA_E_INPUT). */
HUELLA_API huella_status huella_store_case_delete(huella_store *s, int64_t case_id,
                                                  huella_error *err);
/* ---- Idempotency keys (src/store/idempotency.c) -------------------------- */

/*
 * A client's idempotency key (1 to 128 visible ASCII characters) and the
 * ids of the answer it got: written inside the caller's transaction (the
 * enrolment's) so that both or neither exist.  _get: HUELLA_E_NOTFOUND
 * for a key never stored; case_id 0 when none.  outcome is "new",
 * "linked" or "case" (at most 15 characters).
 */
HUELLA_API huella_status huella_store_idempotency_put(huella_store *s, const char *key,
                                                      int64_t encounter_id, int64_t person_id,
                                                      const char *outcome, int64_t case_id,
                                                      huella_error *err);
HUELLA_API huella_status huella_store_idempotency_get(huella_store *s, const char *key,
                                                      int64_t *encounter_id, int64_t *person_id,
                                                      char outcome[16], int64_t *case_id,
                                                      huella_error *err);

/* ---- Enrolment (src/store/enrol.c) --------------------------------------- */

/*
 * Enrolment in three steps, so that identification can sit in the
 * middle:
 *   1. huella_enrol_extract: decode and check the inputs, extract finger
 *      templates and encode irises (no store needed);
 *   2. the caller identifies the templates in result->samples against
 *      the galleries and decides;
 *   3. huella_enrol_commit: in ONE transaction, a new person, a link to an
 *      existing one, or a new person with a possible-duplicate case.
 * huella_enrol does 1 and 3 with a new person.
 */
typedef struct huella_enrol_input {
    huella_store_modality modality;
    unsigned position;   /* finger 1..10, iris 1 right / 2 left, else 0 */
    const char *label;   /* for error messages (e.g. the file name) */
    const uint8_t *data; /* the image file bytes */
    size_t len;
} huella_enrol_input;

typedef struct huella_enrol_request {
    const huella_enrol_input *inputs;
    size_t n_inputs;
    double ppi; /* finger images: resolution when undeclared; 0 = 500 */
    huella_store_encounter encounter;
    const char *bio_json; /* may be NULL */
    /* The face networks for a face input (huella_face_models_load); NULL:
     * huella_enrol_extract loads them from the default directory when a
     * face is given, and frees them. */
    const struct huella_face_models *face_models;
} huella_enrol_request;

typedef struct huella_enrol_sample {
    huella_store_modality modality;
    unsigned position;
    int quality; /* 0..100, -1 unknown */
    char image_format[16];
    uint8_t *tmpl; /* encoded template (NULL for smt) */
    size_t tmpl_len;
    int64_t sample_id; /* after commit */
} huella_enrol_sample;

typedef struct huella_enrol_result {
    huella_enrol_sample *samples; /* one per input, same order */
    size_t n_samples;
    int64_t person_id;    /* after commit */
    int64_t encounter_id; /* after commit */
    int64_t case_id;      /* after commit with a case, else 0 */
} huella_enrol_result;

HUELLA_API huella_status huella_enrol_extract(const huella_enrol_request *req,
                                              huella_enrol_result **out, huella_error *err);
HUELLA_API void huella_enrol_result_free(huella_enrol_result *r);

typedef enum huella_enrol_outcome {
    HUELLA_ENROL_NEW = 0,  /* a new person */
    HUELLA_ENROL_LINK = 1, /* the encounter joins link_person */
    HUELLA_ENROL_CASE = 2  /* a new person and a case with the candidates */
} huella_enrol_outcome;

typedef struct huella_enrol_decision {
    huella_enrol_outcome outcome;
    int64_t link_person;
    const char *reason; /* recorded in the link history (e.g. the fused score) */
    const huella_store_candidate *candidates; /* CASE */
    size_t n_candidates;
} huella_enrol_decision;

HUELLA_API huella_status huella_enrol_commit(huella_store *s, const huella_enrol_request *req,
                                             const huella_enrol_decision *decision,
                                             huella_enrol_result *res, huella_error *err);

HUELLA_API huella_status huella_enrol(huella_store *s, const huella_enrol_request *req,
                                      huella_enrol_result **out, huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
