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
#include "huella/policy.h"
#include "huella/store.h"

#include <jansson.h>
#include <pthread.h>

#define SERVER_MAX_HEADERS      64
#define SERVER_DEFAULT_MAX_BODY (1u << 20)

typedef struct server_call server_call;
typedef void (*server_handler)(server_call *c);

/* Bodies a route accepts. */
typedef enum server_body { BODY_NONE = 0, BODY_JSON_OPTIONAL, BODY_JSON_REQUIRED } server_body;

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
    char reason[1025]; /* Huella-Reason header or body "reason"; "" none */
    json_t *body;      /* parsed JSON body or NULL (owned) */
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
    unsigned threads; /* 0: the number of cores */
    size_t max_body;
    unsigned timeout_s;
    bool quiet; /* log only failures (5xx), startup and shutdown */
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

#endif
