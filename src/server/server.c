/*
 * server.c - huellad's core over GNU libmicrohttpd: TLS, the thread pool,
 * body limits, the request pipeline (token -> user -> role -> policy with
 * purpose and legal basis -> handler -> audit -> response), metrics and
 * structured logs.
 *
 * Contract:
 *   - every request to a route with an operation produces exactly one
 *     audit record (allowed, denied, not found, bad request, error), and
 *     its response is queued only after the record is durable: the
 *     connection is suspended (MHD_suspend_connection) while the audit
 *     committer group-commits, and resumed from its callback.  So the
 *     MHD threads (one per core) never block on fsync, and concurrent
 *     requests share commits.  If the record cannot be committed the
 *     client gets 503 and no personal data;
 *   - request bodies are bounded: 413 once the limit is crossed (a body
 *     up to SERVER_DRAIN_FACTOR times the limit is read and dropped first,
 *     a larger declared one refused before reading), idle and slow clients
 *     time out (MHD_OPTION_CONNECTION_TIMEOUT);
 *   - logs are one JSON object per line on stderr: route names, statuses,
 *     users, latencies; never paths with ids, bodies, names or biometrics;
 *   - server_shutdown stops accepting (MHD_quiesce_daemon), waits for the
 *     requests in flight, then stops; the audit log is closed last so
 *     every queued record is committed.
 */
/* Bodies up to this many times the limit are read and dropped before the
 * 413 (see on_request); larger ones are refused before reading. */
#define SERVER_DRAIN_FACTOR 16ull
#define _POSIX_C_SOURCE     200809L
#include "server.h"

#include "huella/face.h"
#include "huella/retention.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef HUELLA_POLICY_DEFAULT
#define HUELLA_POLICY_DEFAULT "data/policy.json"
#endif
#ifndef HUELLA_RETENTION_DEFAULT
#define HUELLA_RETENTION_DEFAULT "data/retention.json"
#endif
#ifndef HUELLA_OPENAPI_DEFAULT
#define HUELLA_OPENAPI_DEFAULT "data/openapi.json"
#endif

#define N_BUCKETS 12
static const double bucket_le[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                            0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
#define MAX_ROUTES 32

/* Server-Sent Events: a ring of the newest events and the clients. */
#define EVENT_RING 256
typedef struct sse_event {
    int64_t seq;
    char *text; /* "id: N\nevent: KIND\ndata: JSON\n\n" */
} sse_event;

enum { SSE_RUNNING, SSE_SUSPENDING, SSE_WAKE_PENDING, SSE_SUSPENDED };

typedef struct sse_client {
    struct sse_client *next;
    server *srv;
    struct MHD_Connection *conn;
    int64_t last; /* the newest event sent */
    int state;
    bool hello;
} sse_client;

struct server {
    server_config cfg;
    char db[4096];
    struct MHD_Daemon *d;
    huella_policy *policy;
    huella_audit *audit;
    server_slot *slots;
    size_t n_slots;
    pthread_mutex_t mu; /* slots, metrics, in-flight count */
    pthread_cond_t slot_free;
    pthread_cond_t idle;
    char *openapi;
    size_t openapi_len;
    char *cert, *key;
    uint64_t counts[MAX_ROUTES + 1][600];
    uint64_t hist[N_BUCKETS + 1];
    double latency_sum;
    uint64_t latency_count;
    unsigned in_flight;
    huella_gallery *gallery;
    pthread_rwlock_t gallery_lock;
    huella_watchlist *watchlist;
    pthread_mutex_t wl_mu;
    /* The face networks, loaded at the first request with a face (about
     * 30 MB; a daemon that never sees a face never pays for them) and then
     * shared by every worker: they are safe to use from many threads. */
    huella_face_models *faces;
    pthread_mutex_t faces_mu;
    server_cases *cases;
    struct idem *idem; /* under mu */
    struct job *jobs;  /* under mu */
    int64_t next_job;
    sse_event ring[EVENT_RING]; /* under mu */
    int64_t event_seq;
    sse_client *sse;
    bool stopping;
    /* The retention timer (under mu, but its store handle is its own). */
    huella_retention_policy retention;
    char retention_path[4200];
    huella_store *retention_store;
    huella_store *snapshot_store; /* the gallery snapshot timer's */
    pthread_t snapshot_thread;
    bool snapshot_started;
    pthread_t retention_thread;
    bool retention_started;
    pthread_cond_t timer_cv;
    uint64_t retention_runs, retention_failures, retention_purged;
    /* The work queue: requests to personal-data routes run on `workers`
     * threads in arrival order, not on the connection's thread. */
    pthread_mutex_t work_mu;
    pthread_cond_t work_cv;
    struct req_ctx *work_head, *work_tail;
    pthread_t *workers;
    unsigned n_workers;
    bool work_stop;
    uint64_t searches, comparisons; /* under mu */
    uint64_t timed_comparisons;     /* of searches timed alone (identify) */
    double search_seconds;
};

typedef struct idem {
    struct idem *next;
    char key[129];
    char *answer; /* NULL while the first request runs */
} idem;

typedef struct job {
    struct job *next;
    int64_t id;
    char kind[32];
    char state[16];
    double fraction;
    json_t *result;
    char created[32], finished[32];
    pthread_t thread;
    server *srv;
    server_job_fn fn;
    void *arg;
} job;

typedef struct req_ctx {
    server *srv;
    struct MHD_Connection *conn;
    huella_buf body;
    bool too_big;
    int state; /* 0 reading, 1 waiting for the audit, 2 response ready */
    unsigned status;
    char *resp;
    size_t resp_len;
    const char *ctype;
    bool www_auth;
    bool sse;
    int route;
    char method[8];
    char user[HUELLA_NAME_MAX];
    char outcome[24];
    uint64_t t0;
    /* Decoded in the connection's thread, run by a worker. */
    server_request req;
    int code;
    huella_error derr;
    struct req_ctx *next_work;
} req_ctx;

/* ---- logging ---- */

static void log_json(json_t *o)
{
    char ts[40];
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    struct tm tm;
    gmtime_r(&t.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    char full[64];
    snprintf(full, sizeof(full), "%.39s.%03dZ", ts, (int)(t.tv_nsec / 1000000) % 1000);
    json_object_set_new(o, "ts", json_string(full));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s != NULL) {
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    json_decref(o);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) HUELLA_PRINTF(2, 0);
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_json(json_pack("{s:s, s:s, s:s}", "level", "warn", "msg", "http", "detail", msg));
}

/* ---- responses ---- */

void server_error(server_call *c, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_decref(c->json);
    c->json = json_pack("{s:s, s:s}", "error", code, "message", msg);
    c->status = status;
    c->outcome = status == 401 || status == 403 ? "denied"
                 : status == 404                ? "not-found"
                 : status >= 500                ? "error"
                                                : "bad-request";
    snprintf(c->detail, sizeof(c->detail), "%.60s: %.190s", code, msg);
}

bool server_deadline_passed(server_call *c)
{
    if (c->req->deadline_ms <= 0 ||
        huella_now_ns() - c->t0 < (uint64_t)c->req->deadline_ms * 1000000u)
        return false;
    server_error(c, 504, "deadline-exceeded",
                 "the Huella-Deadline-Ms of %ld ms passed before the work could be done; nothing "
                 "was stored",
                 c->req->deadline_ms);
    return true;
}

static void finish_call(req_ctx *x, server_call *c)
{
    x->status = c->status;
    if (c->raw != NULL) {
        x->resp = c->raw;
        x->resp_len = strlen(c->raw);
        x->ctype = c->ctype;
    } else {
        x->resp = c->json != NULL ? json_dumps(c->json, JSON_COMPACT) : NULL;
        if (x->resp == NULL) {
            x->resp = strdup("{\"error\":\"internal\",\"message\":\"out of memory\"}");
            x->status = 500;
        }
        x->resp_len = x->resp != NULL ? strlen(x->resp) : 0;
        x->ctype = "application/json";
    }
    json_decref(c->json);
    c->json = NULL;
    x->sse = c->stream && c->status == 200;
    snprintf(x->outcome, sizeof(x->outcome), "%s", c->outcome != NULL ? c->outcome : "ok");
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max);
static void sse_free(void *cls);

static enum MHD_Result queue_sse(req_ctx *x)
{
    sse_client *cl = calloc(1, sizeof(*cl));
    if (cl == NULL)
        return MHD_NO;
    server *s = x->srv;
    cl->srv = s;
    cl->conn = x->conn;
    pthread_mutex_lock(&s->mu);
    cl->last = s->event_seq; /* new events only */
    cl->next = s->sse;
    s->sse = cl;
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, cl, sse_free);
    if (r == NULL) {
        sse_free(cl);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(x->conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue(req_ctx *x)
{
    if (x->sse)
        return queue_sse(x);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        x->resp_len, x->resp != NULL ? x->resp : (char *)"",
        x->resp != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    x->resp = NULL; /* MHD owns it now */
    MHD_add_response_header(r, "Content-Type", x->ctype != NULL ? x->ctype : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (x->www_auth)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"huella\"");
    enum MHD_Result ret = MHD_queue_response(x->conn, x->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- Server-Sent Events ---- */

static void sse_free(void *cls)
{
    sse_client *cl = cls;
    server *s = cl->srv;
    pthread_mutex_lock(&s->mu);
    sse_client **pp = &s->sse;
    while (*pp != NULL && *pp != cl)
        pp = &(*pp)->next;
    if (*pp != NULL)
        *pp = cl->next;
    pthread_mutex_unlock(&s->mu);
    free(cl);
}

/* The next event for a client, or suspend until one is published.  The
 * connection is suspended from here (allowed in a content reader) and
 * resumed by server_events_publish or server_shutdown; the states keep a
 * wake-up that comes between the decision and the suspension. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_client *cl = cls;
    server *s = cl->srv;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (!cl->hello) {
        cl->hello = true;
        pthread_mutex_unlock(&s->mu);
        static const char hello[] = ": huella events (new cases)\nretry: 3000\n\n";
        size_t n = sizeof(hello) - 1 < max ? sizeof(hello) - 1 : max;
        memcpy(buf, hello, n);
        return (ssize_t)n;
    }
    int64_t oldest = s->event_seq - EVENT_RING + 1;
    if (cl->last + 1 < oldest)
        cl->last = oldest - 1; /* fell behind: the ring has moved on */
    if (cl->last < s->event_seq) {
        sse_event *e = &s->ring[(cl->last + 1) % EVENT_RING];
        size_t n = strlen(e->text);
        if (n <= max) {
            memcpy(buf, e->text, n);
            cl->last++;
            pthread_mutex_unlock(&s->mu);
            return (ssize_t)n;
        }
        cl->last++; /* larger than the buffer: skipped */
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    cl->state = SSE_SUSPENDING;
    pthread_mutex_unlock(&s->mu);
    MHD_suspend_connection(cl->conn);
    pthread_mutex_lock(&s->mu);
    bool wake = cl->state == SSE_WAKE_PENDING;
    cl->state = wake ? SSE_RUNNING : SSE_SUSPENDED;
    pthread_mutex_unlock(&s->mu);
    if (wake)
        MHD_resume_connection(cl->conn);
    return 0;
}

/* Wake every client (under mu): returns how many to resume into list. */
static size_t sse_wake_all(server *s, struct MHD_Connection **list, size_t cap)
{
    size_t n = 0;
    for (sse_client *cl = s->sse; cl != NULL; cl = cl->next) {
        if (cl->state == SSE_SUSPENDED && n < cap) {
            cl->state = SSE_RUNNING;
            list[n++] = cl->conn;
        } else if (cl->state == SSE_SUSPENDING) {
            cl->state = SSE_WAKE_PENDING;
        }
    }
    return n;
}

void server_events_publish(server *s, const char *kind, json_t *data)
{
    char *d = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (d == NULL)
        return;
    struct MHD_Connection *wake[1024];
    pthread_mutex_lock(&s->mu);
    int64_t seq = ++s->event_seq;
    size_t len = strlen(d) + strlen(kind) + 64;
    char *text = malloc(len);
    if (text != NULL) {
        snprintf(text, len, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)seq, kind, d);
        sse_event *e = &s->ring[seq % EVENT_RING];
        free(e->text);
        e->text = text;
        e->seq = seq;
    } else {
        s->event_seq--;
    }
    size_t n = sse_wake_all(s, wake, sizeof(wake) / sizeof(wake[0]));
    pthread_mutex_unlock(&s->mu);
    free(d);
    for (size_t i = 0; i < n; i++)
        MHD_resume_connection(wake[i]);
}

/* ---- slots ---- */

static server_slot *slot_get(server *s)
{
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (size_t i = 0; i < s->n_slots; i++)
            if (!s->slots[i].busy) {
                s->slots[i].busy = true;
                pthread_mutex_unlock(&s->mu);
                return &s->slots[i];
            }
        pthread_cond_wait(&s->slot_free, &s->mu);
    }
}

static void slot_put(server *s, server_slot *slot)
{
    pthread_mutex_lock(&s->mu);
    slot->busy = false;
    pthread_cond_signal(&s->slot_free);
    pthread_mutex_unlock(&s->mu);
}

/* ---- the pipeline ---- */

typedef struct header_list {
    server_header h[SERVER_MAX_HEADERS];
    size_t n;
} header_list;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    header_list *l = cls;
    if (l->n < SERVER_MAX_HEADERS)
        l->h[l->n++] = (server_header){key, value};
    return MHD_YES;
}

static void audit_done(void *ctx, huella_status st, int64_t seq)
{
    (void)seq;
    req_ctx *x = ctx;
    if (st != HUELLA_OK) {
        /* Nothing leaves unless it is on record. */
        free(x->resp);
        x->resp = strdup("{\"error\":\"audit-unavailable\",\"message\":\"the request could not "
                         "be recorded in the audit log; nothing was returned\"}");
        x->resp_len = x->resp != NULL ? strlen(x->resp) : 0;
        x->status = 503;
        x->ctype = "application/json";
        snprintf(x->outcome, sizeof(x->outcome), "error");
    }
    pthread_mutex_lock(&x->srv->mu);
    x->state = 2;
    pthread_mutex_unlock(&x->srv->mu);
    MHD_resume_connection(x->conn);
}

/* Authenticate, decide, run the handler of a personal-data route.  Fills
 * the audit event fields it learns. */
static void personal(server *s, server_call *c, const server_route *rt, huella_principal *who,
                     bool *known_user)
{
    const server_request *req = c->req;
    char now[32];
    huella_utc_now(now);
    huella_error err;
    *known_user = false;
    if (!req->token_given || req->token[0] == '\0') {
        server_error(c, 401, "token-missing",
                     "send 'Authorization: Bearer TOKEN' (make one with 'huella token new')");
        return;
    }
    if (huella_access_authenticate(c->slot->access, req->token, now, who, &err) != HUELLA_OK) {
        bool expired = strstr(err.message, "expired") != NULL;
        if (expired)
            *known_user = true; /* the user is known: record who tried */
        server_error(c, 401, expired ? "token-expired" : "token-invalid", "%s",
                     expired ? "the token has expired" : "the token is not valid");
        return;
    }
    *known_user = true;
    c->who = who;
    huella_access_request ar = {.role = who->role,
                                .operation = rt->operation,
                                .purpose = req->purpose[0] ? req->purpose : NULL,
                                .legal_basis = req->legal_basis[0] ? req->legal_basis : NULL,
                                .user_agency = who->agency,
                                .now = now};
    huella_decision d = huella_policy_decide(s->policy, &ar);
    if (d != HUELLA_ALLOW) {
        server_error(c, 403, huella_decision_code(d), "%s", huella_decision_reason(d));
        return;
    }
    if (strncmp(rt->pattern, "/v1/persons/", 12) != 0) {
        /* Not one person's record: the handler checks what it touches. */
        c->status = 200;
        c->outcome = "allowed";
        rt->handler(c);
        return;
    }
    char agency[64];
    huella_status st = huella_store_person_agency(c->slot->store, req->id, agency, &err);
    if (st == HUELLA_E_NOTFOUND) {
        server_error(c, 404, "not-found", "no person %lld", (long long)req->id);
        return;
    }
    if (st != HUELLA_OK) {
        server_error(c, 500, "internal", "the store could not be read");
        return;
    }
    huella_sharing *sh = NULL;
    size_t n_sh = 0;
    if (strcmp(agency, who->agency) != 0 &&
        huella_access_sharings(c->slot->access, agency, who->agency, &sh, &n_sh, &err) !=
            HUELLA_OK) {
        server_error(c, 500, "internal", "the sharing agreements could not be read");
        return;
    }
    ar.record_agency = agency;
    ar.sharing = sh;
    ar.n_sharing = n_sh;
    d = huella_policy_decide(s->policy, &ar);
    free(sh);
    if (d != HUELLA_ALLOW) {
        server_error(c, 403, huella_decision_code(d), "%s", huella_decision_reason(d));
        return;
    }
    c->status = 200;
    c->outcome = "allowed";
    rt->handler(c);
}

/* Decode the request in the connection's thread (headers and arguments
 * are read through libmicrohttpd here only). */
static void decode(req_ctx *x, const char *url, const char *method)
{
    server *s = x->srv;
    header_list hl = {.n = 0};
    MHD_get_connection_values(x->conn, MHD_HEADER_KIND, collect_header, &hl);
    size_t len = x->too_big ? s->cfg.max_body + 1 : x->body.len;
    x->code = server_request_decode(method, url, hl.h, hl.n, x->body.data, len, s->cfg.max_body,
                                    &x->req, &x->derr);
    x->route = x->req.route;
    if (x->code == 0) {
        const char *sa = MHD_lookup_connection_value(x->conn, MHD_GET_ARGUMENT_KIND, "status");
        if (sa != NULL && strlen(sa) < sizeof(x->req.status_arg))
            snprintf(x->req.status_arg, sizeof(x->req.status_arg), "%s", sa);
        const char *pa = MHD_lookup_connection_value(x->conn, MHD_GET_ARGUMENT_KIND, "pictures");
        x->req.pictures = pa != NULL && (strcmp(pa, "1") == 0 || strcmp(pa, "true") == 0);
    }
}

/* Run a decoded request: policy, handler, audit.  In the connection's
 * thread (suspended = false) the answer of an unaudited route is queued
 * at once; on a worker (suspended = true) the connection is already
 * suspended and is resumed when the answer is ready. */
static enum MHD_Result run(req_ctx *x, bool suspended)
{
    server *s = x->srv;
    server_request *reqp = &x->req;
    int code = x->code;
    server_call c = {.srv = s, .req = reqp, .status = 200, .outcome = "ok", .t0 = x->t0};
    const server_route *rt = reqp->route >= 0 ? &server_routes[reqp->route] : NULL;
    huella_principal who;
    memset(&who, 0, sizeof(who));
    bool known_user = false;
    if (code != 0) {
        const char *ecode = code == 404   ? "not-found"
                            : code == 405 ? "method-not-allowed"
                            : code == 413 ? "body-too-large"
                            : code == 415 ? "unsupported-media-type"
                                          : "bad-request";
        server_error(&c, (unsigned)code, ecode, "%s", x->derr.message);
    } else if (rt->operation == NULL) {
        rt->handler(&c);
    } else {
        c.slot = slot_get(s);
        personal(s, &c, rt, &who, &known_user);
        slot_put(s, c.slot);
    }
    x->www_auth = c.status == 401;
    if (known_user)
        snprintf(x->user, sizeof(x->user), "%s", who.user);
    bool audited = rt != NULL && rt->operation != NULL;
    huella_audit_event ev = {0};
    int64_t persons[9] = {0};
    size_t n_persons = 0;
    if (rt != NULL && strncmp(rt->pattern, "/v1/persons/", 12) == 0 && reqp->id > 0)
        persons[n_persons++] = reqp->id;
    for (size_t i = 0; i < 8 && c.persons[i] != 0 && n_persons < 9; i++)
        if (n_persons == 0 || persons[0] != c.persons[i])
            persons[n_persons++] = c.persons[i];
    if (audited) {
        ev.user = known_user ? who.user : "";
        ev.role = known_user ? who.role : "";
        ev.agency = known_user ? who.agency : "";
        ev.purpose = reqp->purpose;
        ev.legal_basis = reqp->legal_basis;
        ev.operation = rt->operation;
        ev.persons = persons;
        ev.n_persons = n_persons;
        ev.outcome = c.outcome;
        ev.detail = c.detail;
    }
    finish_call(x, &c);
    huella_error err;
    if (!audited) {
        server_request_clear(reqp);
        if (!suspended)
            return queue(x);
        pthread_mutex_lock(&s->mu);
        x->state = 2;
        pthread_mutex_unlock(&s->mu);
        MHD_resume_connection(x->conn);
        return MHD_YES;
    }
    if (!suspended) {
        pthread_mutex_lock(&s->mu);
        x->state = 1;
        pthread_mutex_unlock(&s->mu);
        MHD_suspend_connection(x->conn);
    }
    /* The event's strings point into reqp (whose purpose and legal basis
     * the clear leaves), who and c: submit copies them.  After submit x
     * may already be answered and freed: nothing touches it. */
    server_request_clear(reqp);
    if (huella_audit_submit(s->audit, &ev, audit_done, x, &err) != HUELLA_OK)
        audit_done(x, HUELLA_E_IO, 0);
    return MHD_YES;
}

static void workers_stop(server *s)
{
    pthread_mutex_lock(&s->work_mu);
    s->work_stop = true;
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->work_mu);
    for (unsigned i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    s->n_workers = 0;
}

static void *worker_main(void *arg)
{
    server *s = arg;
    pthread_mutex_lock(&s->work_mu);
    for (;;) {
        while (s->work_head == NULL && !s->work_stop)
            pthread_cond_wait(&s->work_cv, &s->work_mu);
        req_ctx *x = s->work_head;
        if (x == NULL)
            break; /* stopping and nothing left */
        s->work_head = x->next_work;
        if (s->work_head == NULL)
            s->work_tail = NULL;
        pthread_mutex_unlock(&s->work_mu);
        run(x, true);
        pthread_mutex_lock(&s->work_mu);
    }
    pthread_mutex_unlock(&s->work_mu);
    return NULL;
}

static enum MHD_Result process(req_ctx *x, const char *url, const char *method)
{
    server *s = x->srv;
    decode(x, url, method);
    if (x->code != 0 || server_routes[x->req.route].operation == NULL || s->n_workers == 0)
        return run(x, false);
    /* Personal data: suspended until a worker has run it and the audit
     * record is durable. */
    pthread_mutex_lock(&s->mu);
    x->state = 1;
    pthread_mutex_unlock(&s->mu);
    MHD_suspend_connection(x->conn);
    x->next_work = NULL;
    pthread_mutex_lock(&s->work_mu);
    if (s->work_tail != NULL)
        s->work_tail->next_work = x;
    else
        s->work_head = x;
    s->work_tail = x;
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->work_mu);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    req_ctx *x = *con_cls;
    if (x == NULL) {
        x = calloc(1, sizeof(*x));
        if (x == NULL)
            return MHD_NO;
        x->srv = s;
        x->conn = conn;
        x->route = -1;
        x->t0 = huella_now_ns();
        snprintf(x->method, sizeof(x->method), "%s", method);
        huella_buf_init(&x->body);
        *con_cls = x;
        pthread_mutex_lock(&s->mu);
        s->in_flight++;
        pthread_mutex_unlock(&s->mu);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        unsigned long long declared = cl != NULL ? strtoull(cl, NULL, 10) : 0;
        if (declared > s->cfg.max_body && declared <= SERVER_DRAIN_FACTOR * s->cfg.max_body) {
            /* Read and drop a moderately oversized body, then answer 413:
             * closing while the client still sends makes TCP reset the
             * connection, and the client often loses the answer. */
            x->too_big = true;
            return MHD_YES;
        }
        if (declared > s->cfg.max_body) {
            /* Far too large to read: refuse at once; the connection is
             * closed after the answer. */
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "{\"error\":\"body-too-large\",\"message\":\"the request body exceeds the "
                     "limit of %zu bytes\"}",
                     s->cfg.max_body);
            x->resp = strdup(msg);
            x->resp_len = x->resp ? strlen(x->resp) : 0;
            x->status = 413;
            int64_t id;
            bool known;
            x->route = server_route_match(method, url, &id, &known);
            snprintf(x->outcome, sizeof(x->outcome), "bad-request");
            return queue(x);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!x->too_big) {
            size_t total;
            if (!huella_size_add(x->body.len, *upload_size, &total) || total > s->cfg.max_body) {
                x->too_big = true;
                huella_buf_free(&x->body);
                huella_buf_init(&x->body);
            } else if (!huella_buf_append(&x->body, upload, *upload_size)) {
                return MHD_NO;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    int state = x->state;
    pthread_mutex_unlock(&s->mu);
    if (state == 2)
        return queue(x);
    if (state == 1)
        return MHD_YES;
    return process(x, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    server *s = cls;
    req_ctx *x = *con_cls;
    if (x == NULL)
        return;
    *con_cls = NULL;
    double secs = (double)(huella_now_ns() - x->t0) / 1e9;
    unsigned status = x->status < 600 ? x->status : 0;
    int route = x->route >= 0 && x->route < MAX_ROUTES ? x->route : MAX_ROUTES;
    pthread_mutex_lock(&s->mu);
    s->counts[route][status]++;
    int b = 0;
    while (b < N_BUCKETS && secs > bucket_le[b])
        b++;
    s->hist[b]++;
    s->latency_sum += secs;
    s->latency_count++;
    s->in_flight--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "level", "info", "msg", "request", "method",
                  x->method, "route", x->route >= 0 ? server_routes[x->route].name : "(none)",
                  "status", (int)x->status, "us", (json_int_t)(secs * 1e6));
    if (x->user[0])
        json_object_set_new(o, "user", json_string(x->user));
    if (x->outcome[0])
        json_object_set_new(o, "outcome", json_string(x->outcome));
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        json_object_set_new(o, "terminated", json_integer((int)toe));
    if (!s->cfg.quiet || x->status >= 500)
        log_json(o);
    else
        json_decref(o);
    huella_buf_free(&x->body);
    free(x->resp);
    free(x);
}

/* ---- metrics ---- */

void server_count_search(server *s, uint64_t comparisons, double seconds)
{
    pthread_mutex_lock(&s->mu);
    s->searches++;
    s->comparisons += comparisons;
    if (seconds >= 0) {
        s->timed_comparisons += comparisons;
        s->search_seconds += seconds;
    }
    pthread_mutex_unlock(&s->mu);
}

char *server_metrics_text(server *s)
{
    huella_buf b;
    huella_buf_init(&b);
    char line[1024];
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int n_ = snprintf(line, sizeof(line), __VA_ARGS__);                                        \
        huella_buf_append(&b, line, (size_t)n_);                                                   \
    } while (0)
    EMIT("# HELP huella_http_requests_total HTTP requests by route and status.\n"
         "# TYPE huella_http_requests_total counter\n");
    pthread_mutex_lock(&s->mu);
    for (size_t r = 0; r <= MAX_ROUTES; r++)
        for (unsigned st = 0; st < 600; st++)
            if (s->counts[r][st] > 0)
                EMIT("huella_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                     r < server_n_routes ? server_routes[r].name : "(none)", st,
                     (unsigned long long)s->counts[r][st]);
    EMIT("# HELP huella_http_request_duration_seconds Time from request to response.\n"
         "# TYPE huella_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < N_BUCKETS; i++) {
        cum += s->hist[i];
        EMIT("huella_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[i],
             (unsigned long long)cum);
    }
    cum += s->hist[N_BUCKETS];
    EMIT("huella_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
         (unsigned long long)cum);
    EMIT("huella_http_request_duration_seconds_sum %.6f\n", s->latency_sum);
    EMIT("huella_http_request_duration_seconds_count %llu\n", (unsigned long long)s->latency_count);
    EMIT("# HELP huella_http_requests_in_flight Requests being served.\n"
         "# TYPE huella_http_requests_in_flight gauge\nhuella_http_requests_in_flight %u\n",
         s->in_flight);
    EMIT("# HELP huella_searches_total Gallery searches (identify, verify, enrolment "
         "de-duplication).\n# TYPE huella_searches_total counter\nhuella_searches_total %llu\n",
         (unsigned long long)s->searches);
    EMIT("# HELP huella_comparisons_total Finger and iris comparisons made by searches; "
         "rate() gives comparisons per second.\n# TYPE huella_comparisons_total counter\n"
         "huella_comparisons_total %llu\n",
         (unsigned long long)s->comparisons);
    EMIT("# HELP huella_search_seconds_total Time spent in identification searches.\n"
         "# TYPE huella_search_seconds_total counter\nhuella_search_seconds_total %.6f\n",
         s->search_seconds);
    EMIT("# HELP huella_comparisons_per_second Comparisons per second of identification "
         "search time since start.\n# TYPE huella_comparisons_per_second "
         "gauge\nhuella_comparisons_per_second "
         "%.0f\n",
         s->search_seconds > 0 ? (double)s->timed_comparisons / s->search_seconds : 0.0);
    EMIT("# HELP huella_retention_runs_total Runs of the retention timer.\n"
         "# TYPE huella_retention_runs_total counter\nhuella_retention_runs_total %llu\n"
         "# HELP huella_retention_failures_total Retention runs that failed.\n"
         "# TYPE huella_retention_failures_total counter\nhuella_retention_failures_total %llu\n",
         (unsigned long long)s->retention_runs, (unsigned long long)s->retention_failures);
    EMIT("# HELP huella_retention_purged_total Encounters, watchlist entries and cases purged by "
         "the timer.\n# TYPE huella_retention_purged_total counter\n"
         "huella_retention_purged_total %llu\n",
         (unsigned long long)s->retention_purged);
    pthread_mutex_unlock(&s->mu);
    {
        size_t persons, fingers = 0, irises, faces, bytes;
        pthread_rwlock_rdlock(&s->gallery_lock);
        persons = huella_gallery_count(s->gallery);
        for (unsigned k = 0; k < HUELLA_GALLERY_FINGERS; k++)
            fingers += huella_gallery_count_slot(s->gallery, k);
        irises = huella_gallery_count_slot(s->gallery, HUELLA_GALLERY_SLOT_RIGHT) +
                 huella_gallery_count_slot(s->gallery, HUELLA_GALLERY_SLOT_LEFT);
        faces = huella_gallery_count_slot(s->gallery, HUELLA_GALLERY_SLOT_FACE);
        bytes = huella_gallery_bytes(s->gallery);
        pthread_rwlock_unlock(&s->gallery_lock);
        EMIT("# HELP huella_gallery_persons Persons with at least one template in the search "
             "galleries.\n# TYPE huella_gallery_persons gauge\nhuella_gallery_persons %zu\n",
             persons);
        EMIT("# HELP huella_gallery_templates Templates in the search galleries.\n"
             "# TYPE huella_gallery_templates gauge\n"
             "huella_gallery_templates{modality=\"finger\"} %zu\n"
             "huella_gallery_templates{modality=\"iris\"} %zu\n"
             "huella_gallery_templates{modality=\"face\"} %zu\n",
             fingers, irises, faces);
        EMIT("# HELP huella_gallery_bytes Memory held by the search galleries.\n"
             "# TYPE huella_gallery_bytes gauge\nhuella_gallery_bytes %zu\n",
             bytes);
        size_t wl = 0;
        pthread_mutex_lock(&s->wl_mu);
        if (huella_watchlist_count(s->watchlist, &wl, NULL) != HUELLA_OK)
            wl = 0;
        pthread_mutex_unlock(&s->wl_mu);
        EMIT("# HELP huella_watchlist_entries Entries in the name watchlist.\n"
             "# TYPE huella_watchlist_entries gauge\nhuella_watchlist_entries %zu\n",
             wl);
    }
    EMIT("# HELP huella_audit_chain_length Records in the audit chain.\n"
         "# TYPE huella_audit_chain_length gauge\nhuella_audit_chain_length %lld\n",
         (long long)huella_audit_length(s->audit));
#undef EMIT
    huella_buf_append_u8(&b, 0);
    if (!b.ok) {
        huella_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

const char *server_openapi(server *s, size_t *len)
{
    *len = s->openapi_len;
    return s->openapi;
}

huella_audit *server_audit(server *s)
{
    return s->audit;
}

const char *server_db_dir(server *s)
{
    return s->db;
}

huella_gallery *server_gallery_lock(server *s, bool exclusive)
{
    if (exclusive)
        pthread_rwlock_wrlock(&s->gallery_lock);
    else
        pthread_rwlock_rdlock(&s->gallery_lock);
    return s->gallery;
}

huella_status server_face_models(server *s, const huella_face_models **out, huella_error *err)
{
    pthread_mutex_lock(&s->faces_mu);
    huella_status st = HUELLA_OK;
    if (s->faces == NULL)
        st = huella_face_models_load(NULL, &s->faces, err);
    *out = s->faces;
    pthread_mutex_unlock(&s->faces_mu);
    return st;
}

void server_gallery_unlock(server *s)
{
    pthread_rwlock_unlock(&s->gallery_lock);
}

huella_watchlist *server_watchlist_lock(server *s)
{
    pthread_mutex_lock(&s->wl_mu);
    return s->watchlist;
}

void server_watchlist_unlock(server *s)
{
    pthread_mutex_unlock(&s->wl_mu);
}

server_cases *server_case_book(server *s)
{
    return s->cases;
}

const huella_policy *server_policy(server *s)
{
    return s->policy;
}

/* ---- idempotency ---- */

static idem *idem_find(server *s, const char *key)
{
    for (idem *i = s->idem; i != NULL; i = i->next)
        if (strcmp(i->key, key) == 0)
            return i;
    return NULL;
}

static bool idem_add(server *s, const char *key, char *answer)
{
    idem *i = calloc(1, sizeof(*i));
    if (i == NULL)
        return false;
    snprintf(i->key, sizeof(i->key), "%s", key);
    i->answer = answer;
    i->next = s->idem;
    s->idem = i;
    return true;
}

int server_idem_begin(server *s, const char *key, char **answer)
{
    *answer = NULL;
    pthread_mutex_lock(&s->mu);
    idem *i = idem_find(s, key);
    int r = 0;
    if (i != NULL && i->answer == NULL)
        r = 2;
    else if (i != NULL) {
        *answer = strdup(i->answer);
        r = *answer != NULL ? 1 : 2;
    } else if (!idem_add(s, key, NULL))
        r = 2;
    pthread_mutex_unlock(&s->mu);
    return r;
}

void server_idem_end(server *s, const char *key, const char *answer)
{
    pthread_mutex_lock(&s->mu);
    idem **pp = &s->idem;
    while (*pp != NULL && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    if (*pp != NULL) {
        if (answer != NULL) {
            (*pp)->answer = strdup(answer);
        }
        if (answer == NULL || (*pp)->answer == NULL) {
            idem *dead = *pp;
            *pp = dead->next;
            free(dead);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- jobs ---- */

static void *job_main(void *arg)
{
    job *j = arg;
    j->fn(j->srv, j->id, j->arg);
    return NULL;
}

int64_t server_job_start(server *s, const char *kind, server_job_fn fn, void *arg)
{
    job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return 0;
    snprintf(j->kind, sizeof(j->kind), "%s", kind);
    snprintf(j->state, sizeof(j->state), "queued");
    huella_utc_now(j->created);
    j->srv = s;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&s->mu);
    j->id = ++s->next_job;
    j->next = s->jobs;
    s->jobs = j;
    int rc = pthread_create(&j->thread, NULL, job_main, j);
    if (rc != 0) {
        s->jobs = j->next;
        pthread_mutex_unlock(&s->mu);
        free(j);
        return 0;
    }
    int64_t id = j->id;
    pthread_mutex_unlock(&s->mu);
    return id;
}

void server_job_progress(server *s, int64_t id, double fraction, const char *state, json_t *result)
{
    pthread_mutex_lock(&s->mu);
    for (job *j = s->jobs; j != NULL; j = j->next)
        if (j->id == id) {
            j->fraction = fraction;
            if (state != NULL)
                snprintf(j->state, sizeof(j->state), "%s", state);
            if (result != NULL) {
                json_decref(j->result);
                j->result = result;
                result = NULL;
            }
            if (state != NULL && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0))
                huella_utc_now(j->finished);
            break;
        }
    pthread_mutex_unlock(&s->mu);
    json_decref(result);
}

json_t *server_job_json(server *s, int64_t id)
{
    json_t *o = NULL;
    pthread_mutex_lock(&s->mu);
    for (job *j = s->jobs; j != NULL; j = j->next)
        if (j->id == id) {
            o = json_pack("{s:I, s:s, s:s, s:f, s:s, s:o, s:O}", "job_id", (json_int_t)j->id,
                          "kind", j->kind, "state", j->state, "progress", j->fraction, "created_at",
                          j->created, "finished_at",
                          j->finished[0] ? json_string(j->finished) : json_null(), "result",
                          j->result != NULL ? j->result : json_null());
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return o;
}

/* ---- the retention timer ---- */

/* One run of the retention policy with the server's audit log; the
 * gallery forgets the templates of what was purged.  Logged as counts. */
static void retention_once(server *s)
{
    huella_retention_options ro = {.who = "huellad-retention"};
    char *report = NULL;
    huella_error err;
    uint64_t t0 = huella_now_ns();
    huella_status st = huella_retention_run(s->retention_store, s->db, s->audit, &s->retention, &ro,
                                            &report, &err);
    json_t *o = st == HUELLA_OK ? json_loads(report, 0, NULL) : NULL;
    free(report);
    json_t *encs = json_object_get(o, "encounters");
    size_t i, erased = 0;
    json_t *e;
    if (json_array_size(encs) > 0) {
        huella_gallery *g = server_gallery_lock(s, true);
        json_array_foreach(encs, i, e)
        {
            server_gallery_reload_person(s->retention_store, g,
                                         json_integer_value(json_object_get(e, "person_id")));
            erased += json_is_true(json_object_get(e, "person_erased"));
        }
        server_gallery_unlock(s);
    }
    size_t n_enc = json_array_size(encs), n_cases = json_array_size(json_object_get(o, "cases"));
    json_int_t n_wl = json_integer_value(json_object_get(o, "watchlist_entries"));
    pthread_mutex_lock(&s->mu);
    s->retention_runs++;
    if (st != HUELLA_OK || o == NULL)
        s->retention_failures++;
    else
        s->retention_purged += n_enc + n_cases + (uint64_t)n_wl;
    pthread_mutex_unlock(&s->mu);
    if (st != HUELLA_OK || o == NULL)
        log_json(json_pack("{s:s, s:s, s:s}", "level", "error", "msg", "retention run failed",
                           "detail", st != HUELLA_OK ? err.message : "bad report"));
    else
        log_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "level", "info", "msg",
                           "retention run", "encounters", (json_int_t)n_enc, "persons_erased",
                           (json_int_t)erased, "watchlist_entries", n_wl, "cases",
                           (json_int_t)n_cases, "audit_records",
                           json_integer_value(json_object_get(o, "audit_records")), "us",
                           (json_int_t)((huella_now_ns() - t0) / 1000)));
    json_decref(o);
}

/* ---- the gallery snapshot timer ---- */

/* A new gallery snapshot when persons changed since the last one, so that
 * the next start loads from it.  Logged as counts. */
static void snapshot_once(server *s)
{
    bool due = false;
    size_t changes = 0;
    huella_error err;
    huella_status st = huella_store_gallery_snapshot_due(s->snapshot_store, &due, &changes, &err);
    if (st == HUELLA_OK && !due)
        return;
    huella_gallery_snapshot_stats ss = {0};
    if (st == HUELLA_OK)
        st = huella_store_gallery_snapshot(s->snapshot_store, &ss, &err);
    if (st != HUELLA_OK)
        log_json(json_pack("{s:s, s:s, s:s}", "level", "error", "msg", "gallery snapshot failed",
                           "detail", err.message));
    else
        log_json(json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:f}", "level", "info", "msg",
                           "gallery snapshot", "installed", ss.installed, "note", ss.note,
                           "persons", (json_int_t)ss.persons, "forms", (json_int_t)ss.forms,
                           "bytes", (json_int_t)ss.bytes, "changes_before", (json_int_t)changes,
                           "seconds", ss.seconds));
}

/* once(s) every interval seconds until server_shutdown. */
static void timer_loop(server *s, unsigned interval, void (*once)(server *))
{
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += (time_t)interval;
        while (!s->stopping && pthread_cond_timedwait(&s->timer_cv, &s->mu, &deadline) != ETIMEDOUT)
            ;
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->mu);
        once(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

static void *retention_main(void *arg)
{
    server *s = arg;
    timer_loop(s, s->cfg.retention_interval_s, retention_once);
    return NULL;
}

static void *snapshot_main(void *arg)
{
    server *s = arg;
    timer_loop(s, s->cfg.gallery_snapshot_interval_s, snapshot_once);
    return NULL;
}

static void timers_stop(server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->timer_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->retention_started) {
        pthread_join(s->retention_thread, NULL);
        s->retention_started = false;
    }
    if (s->snapshot_started) {
        huella_store_interrupt(s->snapshot_store); /* a snapshot of a large store takes minutes */
        pthread_join(s->snapshot_thread, NULL);
        s->snapshot_started = false;
    }
}

/* ---- lifecycle ---- */

static huella_status read_text(const char *path, char **out, size_t *len, huella_error *err)
{
    uint8_t *data;
    size_t n;
    huella_status st = huella_file_read(path, 16u << 20, &data, &n, err);
    if (st != HUELLA_OK)
        return st;
    char *t = realloc(data, n + 1);
    if (t == NULL) {
        free(data);
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: out of memory", path);
    }
    t[n] = '\0';
    *out = t;
    if (len != NULL)
        *len = n;
    return HUELLA_OK;
}

static bool parse_listen(const char *listen, struct sockaddr_in *sa)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || (size_t)(colon - listen) >= 64)
        return false;
    char host[64];
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535)
        return false;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

huella_status server_new(const server_config *cfg, server **out, huella_error *err)
{
    *out = NULL;
    struct sockaddr_in sa;
    if (cfg->listen == NULL || !parse_listen(cfg->listen, &sa))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "--listen wants IPV4ADDR:PORT (e.g. 127.0.0.1:8443), not '%s'",
                                cfg->listen ? cfg->listen : "");
    bool loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
    if (cfg->insecure_http && !loopback)
        return huella_error_set(err, HUELLA_E_DENIED,
                                "plain HTTP is only allowed on a loopback address (127.x.x.x)");
    if (!cfg->insecure_http && (cfg->tls_cert == NULL || cfg->tls_key == NULL))
        return huella_error_set(err, HUELLA_E_INPUT,
                                "want --tls-cert FILE and --tls-key FILE (scripts/make-cert DIR "
                                "makes a self-signed pair), or --insecure-http on loopback");
    server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    s->cfg = *cfg;
    if (s->cfg.max_body == 0)
        s->cfg.max_body = SERVER_DEFAULT_MAX_BODY;
    if (s->cfg.timeout_s == 0)
        s->cfg.timeout_s = 30;
    if (s->cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.threads = n > 0 && n < 256 ? (unsigned)n : 2;
    }
    if (s->cfg.workers == 0)
        s->cfg.workers = s->cfg.threads;
    snprintf(s->db, sizeof(s->db), "%s", cfg->db);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->slot_free, NULL);
    pthread_cond_init(&s->idle, NULL);
    pthread_rwlock_init(&s->gallery_lock, NULL);
    pthread_mutex_init(&s->wl_mu, NULL);
    pthread_mutex_init(&s->faces_mu, NULL);
    pthread_cond_init(&s->timer_cv, NULL);
    pthread_mutex_init(&s->work_mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    huella_status st = HUELLA_OK;
    char policy_path[4200];
    if (cfg->policy_path != NULL) {
        snprintf(policy_path, sizeof(policy_path), "%s", cfg->policy_path);
    } else {
        struct stat sb;
        snprintf(policy_path, sizeof(policy_path), "%s/policy.json", cfg->db);
        if (stat(policy_path, &sb) != 0)
            snprintf(policy_path, sizeof(policy_path), "%s", HUELLA_POLICY_DEFAULT);
    }
    st = huella_policy_load(policy_path, &s->policy, err);
    if (st == HUELLA_OK)
        st = read_text(cfg->openapi_path ? cfg->openapi_path : HUELLA_OPENAPI_DEFAULT, &s->openapi,
                       &s->openapi_len, err);
    if (st == HUELLA_OK && !cfg->insecure_http) {
        st = read_text(cfg->tls_cert, &s->cert, NULL, err);
        if (st == HUELLA_OK)
            st = read_text(cfg->tls_key, &s->key, NULL, err);
    }
    if (st == HUELLA_OK)
        st = huella_audit_open(cfg->db, cfg->audit_key, &s->audit, err);
    if (st == HUELLA_OK) {
        s->n_slots = s->cfg.threads + s->cfg.workers + 1;
        s->slots = calloc(s->n_slots, sizeof(*s->slots));
        if (s->slots == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        for (size_t i = 0; st == HUELLA_OK && i < s->n_slots; i++) {
            st = huella_store_open(cfg->db, &s->slots[i].store, err);
            if (st == HUELLA_OK)
                st = huella_access_open(cfg->db, &s->slots[i].access, err);
        }
    }
    huella_gallery_load_stats gls = {0};
    if (st == HUELLA_OK)
        st = huella_gallery_new(&s->gallery, err);
    if (st == HUELLA_OK)
        st = huella_gallery_load_store(s->slots[0].store, s->gallery, 0, &gls, err);
    if (st == HUELLA_OK)
        st = huella_watchlist_open(cfg->db, NULL, &s->watchlist, err);
    if (st == HUELLA_OK)
        st = server_cases_open(cfg->db, &s->cases, err);
    if (st == HUELLA_OK && cfg->retention_interval_s > 0) {
        /* The policy is read and checked at start: a bad file stops huellad
         * here rather than at the first run. */
        struct stat sb;
        if (cfg->retention_policy != NULL)
            snprintf(s->retention_path, sizeof(s->retention_path), "%s", cfg->retention_policy);
        else {
            snprintf(s->retention_path, sizeof(s->retention_path), "%s/retention.json", cfg->db);
            if (stat(s->retention_path, &sb) != 0)
                snprintf(s->retention_path, sizeof(s->retention_path), "%s",
                         HUELLA_RETENTION_DEFAULT);
        }
        st = huella_retention_load(s->retention_path, &s->retention, err);
        if (st == HUELLA_OK)
            st = huella_store_open(cfg->db, &s->retention_store, err);
        if (st == HUELLA_OK) {
            if (pthread_create(&s->retention_thread, NULL, retention_main, s) != 0)
                st = huella_error_set(err, HUELLA_E_INTERNAL, "cannot start the retention timer");
            else
                s->retention_started = true;
        }
    }
    if (st == HUELLA_OK && cfg->gallery_snapshot_interval_s > 0) {
        st = huella_store_open(cfg->db, &s->snapshot_store, err);
        if (st == HUELLA_OK) {
            if (pthread_create(&s->snapshot_thread, NULL, snapshot_main, s) != 0)
                st = huella_error_set(err, HUELLA_E_INTERNAL,
                                      "cannot start the gallery snapshot timer");
            else
                s->snapshot_started = true;
        }
    }
    if (st == HUELLA_OK) {
        s->n_workers = s->cfg.workers;
        s->workers = calloc(s->n_workers ? s->n_workers : 1, sizeof(pthread_t));
        if (s->workers == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
        for (unsigned i = 0; st == HUELLA_OK && i < s->n_workers; i++)
            if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
                s->n_workers = i;
                st = huella_error_set(err, HUELLA_E_INTERNAL, "cannot start the workers");
            }
    }
    if (st == HUELLA_OK) {
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ERROR_LOG;
        if (!cfg->insecure_http)
            flags |= MHD_USE_TLS;
        struct MHD_OptionItem tls_opts[] = {
            {MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert},
            {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key},
            {MHD_OPTION_HTTPS_PRIORITIES, 0,
             (void *)"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
            {MHD_OPTION_END, 0, NULL}};
        struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
        s->d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
            s->cfg.threads, MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.timeout_s,
            MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
            MHD_OPTION_ARRAY, cfg->insecure_http ? none : tls_opts, MHD_OPTION_END);
        if (s->d == NULL)
            st = huella_error_set(err, HUELLA_E_IO,
                                  "cannot listen on %s (in use? certificate and key readable "
                                  "and matching?)",
                                  cfg->listen);
    }
    if (st != HUELLA_OK) {
        server_free(s);
        return st;
    }
    json_t *hello = json_pack(
        "{s:s, s:s, s:s, s:i, s:b, s:s, s:I, s:f, s:i}", "level", "info", "msg", "listening",
        "listen", cfg->listen, "threads", (int)s->cfg.threads, "tls", !cfg->insecure_http, "policy",
        policy_path, "gallery_persons", (json_int_t)gls.persons, "gallery_load_s", gls.seconds,
        "retention_interval_s", (int)cfg->retention_interval_s);
    if (cfg->retention_interval_s > 0)
        json_object_set_new(hello, "retention_policy", json_string(s->retention_path));
    json_object_set_new(hello, "gallery_snapshot", json_string(gls.snapshot));
    json_object_set_new(hello, "gallery_persons_from_snapshot",
                        json_integer((json_int_t)gls.persons_from_snapshot));
    json_object_set_new(hello, "gallery_persons_rebuilt",
                        json_integer((json_int_t)gls.persons_rebuilt));
    log_json(hello);
    /* After an upgrade that changed the matcher's preparation every form
     * is stale and each start prepares every finger again: say what
     * fixes it, once, where an operator looks. */
    if (gls.persons_rebuilt > 0)
        log_json(json_pack("{s:s, s:s, s:I, s:s}", "level", "warn", "msg",
                           "gallery forms stale or missing", "persons",
                           (json_int_t)gls.persons_rebuilt, "fix",
                           "huella db gallery-refresh --db DIR (then huella db gallery-snapshot)"));
    *out = s;
    return HUELLA_OK;
}

void server_shutdown(server *s, unsigned grace_s)
{
    if (s == NULL || s->d == NULL)
        return;
    MHD_socket ls = MHD_quiesce_daemon(s->d);
    timers_stop(s); /* a run in progress finishes first */
    /* Event streams end: wake them so that they say so. */
    struct MHD_Connection *wake[1024];
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    size_t nw = sse_wake_all(s, wake, sizeof(wake) / sizeof(wake[0]));
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < nw; i++)
        MHD_resume_connection(wake[i]);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace_s;
    pthread_mutex_lock(&s->mu);
    unsigned left = s->in_flight;
    while (s->in_flight > 0)
        if (pthread_cond_timedwait(&s->idle, &s->mu, &deadline) == ETIMEDOUT)
            break;
    left = s->in_flight;
    pthread_mutex_unlock(&s->mu);
    workers_stop(s); /* they finish what is queued */
    MHD_stop_daemon(s->d);
    s->d = NULL;
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    log_json(json_pack("{s:s, s:s, s:i, s:I}", "level", "info", "msg", "stopped",
                       "unfinished_requests", (int)left, "audit_chain_length",
                       (json_int_t)huella_audit_length(s->audit)));
}

void server_free(server *s)
{
    if (s == NULL)
        return;
    timers_stop(s);
    workers_stop(s);
    if (s->d != NULL)
        MHD_stop_daemon(s->d);
    /* Jobs finish their work first (they may write the watchlist). */
    for (job *j = s->jobs; j != NULL;) {
        job *next = j->next;
        pthread_join(j->thread, NULL);
        json_decref(j->result);
        free(j);
        j = next;
    }
    for (idem *i = s->idem; i != NULL;) {
        idem *next = i->next;
        free(i->answer);
        free(i);
        i = next;
    }
    huella_watchlist_close(s->watchlist);
    server_cases_close(s->cases);
    for (size_t i = 0; i < EVENT_RING; i++)
        free(s->ring[i].text);
    huella_gallery_free(s->gallery);
    huella_face_models_free(s->faces);
    huella_store_close(s->retention_store);
    huella_store_close(s->snapshot_store);
    huella_audit_close(s->audit); /* commits what is queued */
    for (size_t i = 0; s->slots != NULL && i < s->n_slots; i++) {
        huella_store_close(s->slots[i].store);
        huella_access_close(s->slots[i].access);
    }
    free(s->slots);
    huella_policy_free(s->policy);
    free(s->openapi);
    free(s->cert);
    if (s->key != NULL) {
        memset(s->key, 0, strlen(s->key));
        free(s->key);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->slot_free);
    pthread_cond_destroy(&s->idle);
    pthread_rwlock_destroy(&s->gallery_lock);
    pthread_mutex_destroy(&s->wl_mu);
    pthread_mutex_destroy(&s->faces_mu);
    pthread_cond_destroy(&s->timer_cv);
    pthread_mutex_destroy(&s->work_mu);
    pthread_cond_destroy(&s->work_cv);
    free(s->workers);
    free(s);
}
