/*
 * huella/kit.h - the capture kit's side of huellad: build an encounter
 * (JSON with base64 images, or an ANSI/NIST-ITL transaction), send it as
 * POST /v1/encounters, and keep it in an encrypted local outbox when the
 * server cannot be reached, to send it later exactly once.
 *
 * Exactly once: every encounter gets a random Idempotency-Key when it is
 * built; the key travels with it into the outbox and every resend uses
 * the same key, so a server that has already enrolled it answers with the
 * first result instead of enrolling twice.  An outbox file is removed only
 * after a 2xx answer.
 *
 * Outbox: one file per encounter, DIR/<microseconds>-<key>.hko, written
 * atomically (temporary file, fsync, rename), sealed with
 * XChaCha20-Poly1305 (libsodium crypto_aead_xchacha20poly1305_ietf) under
 * the 32-byte key DIR/outbox.key (mode 0600, created on first use; DIR
 * mode 0700).  The file name is the associated data, so files cannot be
 * renamed into another one's place.  Design: docs/kit.md.
 *
 * HTTP is libcurl (GnuTLS flavour).  https:// always; http:// only to a
 * loopback address (127.0.0.1, ::1, localhost), for tests.
 *
 * Threads: no shared state; one message or outbox call per thread.
 */
#ifndef HUELLA_KIT_H
#define HUELLA_KIT_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HUELLA_KIT_KEY_LEN    32 /* hex characters of an Idempotency-Key */
#define HUELLA_KIT_OUTBOX_KEY "outbox.key"

/* One encounter ready to send: the body, its content type and the
 * headers that go with it.  Built by huella_kit_message_json /
 * huella_kit_message_an2k or read back from the outbox. */
typedef struct huella_kit_message {
    char idempotency_key[HUELLA_KIT_KEY_LEN + 1];
    char *content_type; /* "application/json" or "application/octet-stream" */
    char *purpose;
    char *legal_basis;
    uint8_t *body;
    size_t body_len;
    int64_t created_us; /* when it was built, microseconds since the epoch */
} huella_kit_message;

HUELLA_API void huella_kit_message_free(huella_kit_message *m);

/* Inputs of a JSON encounter.  Image bytes are the files as captured. */
typedef struct huella_kit_image {
    unsigned position; /* finger 1..10; iris: 1 right, 2 left; face: 0 */
    const uint8_t *data;
    size_t len;
} huella_kit_image;

typedef struct huella_kit_encounter {
    const char *site, *device, *operator_id;
    const char *captured_at; /* UTC ISO 8601; NULL: now */
    const char *purpose, *legal_basis;
    const huella_kit_image *fingers;
    size_t n_fingers;
    double ppi; /* finger resolution; 0 = 500 */
    const huella_kit_image *irises;
    size_t n_irises;
    const huella_kit_image *face; /* NULL for none */
    const char *bio_json;         /* a JSON object, or NULL */
    const char *const *mrz;       /* MRZ lines */
    size_t n_mrz;
} huella_kit_encounter;

/* Build the JSON body {"encounter", "fingers", "irises", "face", "bio",
 * "mrz"} with a fresh Idempotency-Key. */
HUELLA_API huella_status huella_kit_message_json(const huella_kit_encounter *e,
                                                 huella_kit_message **out, huella_error *err);
/* An ANSI/NIST-ITL transaction sent as it is (application/octet-stream). */
HUELLA_API huella_status huella_kit_message_an2k(const uint8_t *data, size_t len,
                                                 const char *purpose, const char *legal_basis,
                                                 huella_kit_message **out, huella_error *err);

/* Where to send and how. */
typedef struct huella_kit_server {
    const char *url;    /* base URL, e.g. https://kit.example:8443 */
    const char *token;  /* API token (Authorization: Bearer) */
    const char *cacert; /* CA file for https, NULL: the system's */
    long timeout_s;     /* whole request; 0 = 30 */
} huella_kit_server;

/* The outcome of one send. */
typedef struct huella_kit_reply {
    bool reached;  /* false: connect failure, timeout, TLS failure */
    long status;   /* the HTTP status when reached */
    char *body;    /* the answer body (NUL-terminated, free()), may be NULL */
    char why[256]; /* when not reached: what went wrong */
} huella_kit_reply;

HUELLA_API void huella_kit_reply_clear(huella_kit_reply *r);

/* Whether the reply means "keep it and try again later": not reached,
 * 5xx, 408, 425, 429, and 401/403/404 (credentials or server to fix, not
 * the encounter).  Any other non-2xx refuses the encounter itself. */
HUELLA_API bool huella_kit_reply_retry(const huella_kit_reply *r);

/*
 * POST /v1/encounters.  Returns HUELLA_OK whenever the attempt was made
 * (reply->reached says whether the server answered); an error only for a
 * bad URL or no memory.
 */
HUELLA_API huella_status huella_kit_send(const huella_kit_server *srv, const huella_kit_message *m,
                                         huella_kit_reply *reply, huella_error *err);

/* ---- Outbox --------------------------------------------------------------- */

/* Store m in DIR (created 0700 when missing); *name (may be NULL,
 * free()) receives the file name. */
HUELLA_API huella_status huella_kit_outbox_put(const char *dir, const huella_kit_message *m,
                                               char **name, huella_error *err);
/* The queued file names, oldest first (*names: free each and the array). */
HUELLA_API huella_status huella_kit_outbox_list(const char *dir, char ***names, size_t *n,
                                                huella_error *err);
HUELLA_API void huella_kit_outbox_list_free(char **names, size_t n);
/* Read and decrypt one queued message; HUELLA_E_INPUT when it does not
 * authenticate. */
HUELLA_API huella_status huella_kit_outbox_get(const char *dir, const char *name,
                                               huella_kit_message **out, huella_error *err);
/* Move one queued message that the server refused (4xx other than the
 * retry ones) to DIR/rejected/ (0700), still sealed, out of the queue:
 * nothing leaves the kit without a 2xx answer. */
HUELLA_API huella_status huella_kit_outbox_reject(const char *dir, const char *name,
                                                  huella_error *err);
/* Remove one queued message (after a 2xx answer). */
HUELLA_API huella_status huella_kit_outbox_remove(const char *dir, const char *name,
                                                  huella_error *err);

/* Decode a serialized message (the outbox's plaintext format, also the
 * fuzz target's input).  Exposed for tests and fuzzing. */
HUELLA_API huella_status huella_kit_message_decode(const uint8_t *data, size_t len,
                                                   huella_kit_message **out, huella_error *err);
HUELLA_API huella_status huella_kit_message_encode(const huella_kit_message *m, uint8_t **data,
                                                   size_t *len, huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
