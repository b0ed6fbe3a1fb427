/*
 * server.h - what the files of huellad share: the route table, request
 * decoding (pure, fuzzable, no libmicrohttpd), the daemon.
 *
 * Adding an endpoint: one entry in server_routes[] (routes.c) and one
 * handler function.  A route with an `operation` touches personal data:
 * the daemon authenticates the token, asks the policy with the declared
 * purpose and legal basis, and appends an audit record (denials too)
 * that is durable before the response leaves.
 */
#ifndef HUELLA_SERVER_H
#define HUELLA_SERVER_H

#include "huella/audit.h"
#include "huella/dedup.h"
#include "huella/gallery.h"
#include "huella/policy.h"
#include "huella/store.h"
#include "huella/watchlist.h"

#include <jansson.h>
#include <pthread.h>

#define SERVER_MAX_HEADERS      64
#define SERVER_DEFAULT_MAX_BODY (1u << 20)

typedef struct server_call server_call;
typedef void (*server_handler)(server_call *c);

/* Bodies a route accepts. */
/* BODY_ANY: application/json is parsed into body, any other content type
 * is kept as raw bytes (raw, raw_len, ctype). */
typedef enum server_body {
    BODY_NONE = 0,
    BODY_JSON_OPTIONAL,
    BODY_JSON_REQUIRED,
    BODY_ANY
} server_body;

typedef struct server_route {
    const char *method;
    const char *pattern;   /* "/v1/persons/{id}": {id} is a positive 64-bit integer */
    const char *name;      /* for metrics and logs */
    const char *operation; /* policy operation; NULL: no personal data, no token */
    server_body body;
    server_handler handler;
} server_route;

extern const server_route server_routes[];
extern const size_t server_n_routes;

typedef struct server_header {
    const char *name;
    const char *value;
} server_header;

/* A decoded request: what the handlers and the policy need. */
typedef struct server_request {
    int route;        /* index in server_routes, -1 none */
    int64_t id;       /* {id} in the path, 0 when none */
    char token[64];   /* "" when no Authorization: Bearer */
    bool token_given; /* an Authorization header was present */
    char purpose[64]; /* "" missing; "(invalid)" when not a well-formed name */
    char legal_basis[64];
    char reason[1025];   /* Huella-Reason header or body "reason"; "" none */
    char idem_key[129];  /* Idempotency-Key; "" none */
    long deadline_ms;    /* Huella-Deadline-Ms; 0 none */
    char status_arg[32]; /* the ?status= query argument, "" none (set by the daemon) */
    bool pictures;       /* ?pictures=1 (set by the daemon) */
    uint8_t *raw;        /* BODY_ANY, not JSON: a copy of the body (owned) */
    size_t raw_len;
    char ctype[64]; /* its Content-Type, parameters cut */
    json_t *body;   /* parsed JSON body or NULL (owned) */
} server_request;

/*
 * Decode method, path (no query), headers and body for the route table.
 * Returns 0 when the request is well formed, else the HTTP status to
 * answer (400, 404, 405, 413, 415) with a message in err.  Never reads
 * past len; never keeps pointers into its inputs.  Free with
 * server_request_clear.
 */
int server_request_decode(const char *method, const char *path, const server_header *headers,
                          size_t n_headers, const uint8_t *body, size_t len, size_t max_body,
                          server_request *out, huella_error *err);
void server_request_clear(server_request *r);

/* Match method + path: the route index or -1; *path_known tells whether
 * the path matched some route with another method (405, not 404). */
int server_route_match(const char *method, const char *path, int64_t *id, bool *path_known);

/* ---- The daemon (server.c) ---- */

typedef struct server_config {
    const char *db;
    const char *listen; /* "ADDR:PORT" */
    const char *tls_cert, *tls_key;
    bool insecure_http;
    const char *policy_path; /* NULL: DIR/policy.json if present, else the default */
    const char *audit_key;   /* NULL: the path recorded by huella audit init */
    const char *openapi_path;
    unsigned threads; /* connection threads (TLS, reading, answering); 0: the number of cores */
    unsigned workers; /* threads running personal-data requests in arrival order; 0: threads */
    size_t max_body;
    unsigned timeout_s;
    bool quiet; /* log only failures (5xx), startup and shutdown */
    /* The retention timer: huella_retention_run every retention_interval_s
     * seconds on its own thread (0: no timer), with the policy file
     * retention_policy (NULL: DIR/retention.json if present, else the
     * default data/retention.json). */
    unsigned retention_interval_s;
    const char *retention_policy;
    /* The gallery snapshot timer: every gallery_snapshot_interval_s
     * seconds (0: never) the gallery snapshot is written again on its own
     * thread when something changed (huella_store_gallery_snapshot_due). */
    unsigned gallery_snapshot_interval_s;
} server_config;

typedef struct server server;

/* A slot: store and access handles used by one request at a time. */
typedef struct server_slot {
    huella_store *store;
    huella_access *access;
    bool busy;
} server_slot;

struct server_call {
    server *srv;
    const server_request *req;
    server_slot *slot;
    const huella_principal *who;
    unsigned status;
    json_t *json;        /* response body, or */
    char *raw;           /* a raw body (malloc'd) with */
    const char *ctype;   /* its content type */
    const char *outcome; /* for the audit record */
    char detail[256];
    int64_t persons[8]; /* persons the request touched (audit); 0 ends */
    uint64_t t0;        /* huella_now_ns() when the request arrived */
    bool stream;        /* answer 200 with the Server-Sent Events stream */
};

huella_status server_new(const server_config *cfg, server **out, huella_error *err);
/* Stop accepting, let in-flight requests finish (up to grace_s), close. */
void server_shutdown(server *s, unsigned grace_s);
void server_free(server *s);

/* For handlers. */
const char *server_openapi(server *s, size_t *len);
huella_audit *server_audit(server *s);
const char *server_db_dir(server *s);
char *server_metrics_text(server *s);

/* The galleries (loaded from the store at start): shared for searches,
 * exclusive for enrolments and erasures.  Unlock with server_gallery_unlock. */
huella_gallery *server_gallery_lock(server *s, bool exclusive);
/* The face networks, loaded once at the first call (HUELLA_E_INPUT or
 * HUELLA_E_IO when the weights are missing or damaged; the next call
 * tries again). */
struct huella_face_models;
huella_status server_face_models(server *s, const struct huella_face_models **out,
                                 huella_error *err);
void server_gallery_unlock(server *s);
/* The watchlist database: one user at a time. */
huella_watchlist *server_watchlist_lock(server *s);
void server_watchlist_unlock(server *s);
const huella_policy *server_policy(server *s);

/*
 * Idempotency of POST /v1/encounters.  server_idem_begin: 0 when the key
 * is new (it is now reserved for the caller, who must call
 * server_idem_end), 1 when an answer is stored (*answer, malloc'd), 2
 * when the first request with that key is still running.  server_idem_end
 * stores the answer in memory (NULL: forget the key, the request
 * failed).  What survives a restart is the store's idempotency table
 * (key and ids), written in the enrolment's transaction.
 */
int server_idem_begin(server *s, const char *key, char **answer);
void server_idem_end(server *s, const char *key, const char *answer);

/* The case book (cases.c): watchlist-hit cases and every decision. */
#define SERVER_WL_CASE_BASE INT64_C(1000000000)
typedef struct server_cases server_cases;
huella_status server_cases_open(const char *dir, server_cases **out, huella_error *err);
void server_cases_close(server_cases *c);
server_cases *server_case_book(server *s);
/* A new open watchlist case; its id or 0 on failure. */
int64_t server_cases_open_watchlist(server_cases *c, int64_t encounter, int64_t person,
                                    const char *by, const char *hits_json);
json_t *server_cases_watchlist_get(server_cases *c, int64_t id); /* NULL: none */
json_t *server_cases_watchlist_list(server_cases *c, const char *status);
json_t *server_cases_decisions(server_cases *c, int64_t id);
/* Record one examiner's decision: 0 recorded (*agreeing: how many
 * different examiners made this same decision), 1 this examiner already
 * decided this case, -1 error. */
int server_cases_decide(server_cases *c, int64_t id, const char *examiner, const char *decision,
                        int64_t person, const char *reason, unsigned *agreeing);
/* open -> status; false when the case was not open. */
bool server_cases_watchlist_close(server_cases *c, int64_t id, const char *status);

/* Server-Sent Events: publish one event (kind, JSON data) to every
 * connected examiner's stream (GET /v1/events). */
void server_events_publish(server *s, const char *kind, json_t *data);

/* Jobs (long work on a worker thread, GET /v1/jobs/{id}). */
typedef void (*server_job_fn)(server *s, int64_t job, void *arg);
int64_t server_job_start(server *s, const char *kind, server_job_fn fn, void *arg);
void server_job_progress(server *s, int64_t job, double fraction, const char *state,
                         json_t *result);
json_t *server_job_json(server *s, int64_t job);

/* Count a gallery search for /metrics: comparisons made and the time the
 * search alone took (negative when it cannot be told apart from other
 * work, as in an enrolment: then only the comparisons are counted). */
void server_count_search(server *s, uint64_t comparisons, double seconds);

/* True (and a 504 set) when the request's Huella-Deadline-Ms has passed. */
bool server_deadline_passed(server_call *c);

/* Set an error response {"error": code, "message": text}. */
void server_error(server_call *c, unsigned status, const char *code, const char *fmt, ...)
    HUELLA_PRINTF(4, 5);

/* Handlers (handlers.c). */
void handle_healthz(server_call *c);
void handle_metrics(server_call *c);
void handle_openapi(server_call *c);
void handle_person_get(server_call *c);
void handle_person_export(server_call *c);
void handle_person_patch(server_call *c);
void handle_person_delete(server_call *c);
/* handlers_api.c */
/* Replace a person's templates in g by those the store holds now (none
 * after an erasure); call with the gallery locked exclusively. */
void server_gallery_reload_person(huella_store *s, huella_gallery *g, int64_t person);
void handle_encounter_post(server_call *c);
void handle_identify(server_call *c);
void handle_verify(server_call *c);
void handle_screen(server_call *c);
void handle_cases_list(server_call *c);
void handle_case_get(server_call *c);
void handle_case_decide(server_call *c);
void handle_wl_create(server_call *c);
void handle_wl_list(server_call *c);
void handle_wl_get(server_call *c);
void handle_wl_patch(server_call *c);
void handle_wl_import(server_call *c);
void handle_wl_expire(server_call *c);
void handle_job_get(server_call *c);
void handle_events(server_call *c);

#endif
