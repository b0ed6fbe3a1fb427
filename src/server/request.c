/*
 * request.c - decoding an HTTP request for the route table: route and
 * path id, bearer token, declared purpose and legal basis, reason, JSON
 * body.  Pure: no libmicrohttpd, no I/O, so fuzz/fuzz_server_request.c
 * drives it directly.
 *
 * Contract: every input is untrusted and bounded by its length; the
 * outcome is 0 (well formed) or the 4xx status to answer with a message
 * that never quotes the body (it may hold personal data).  Header names
 * compare case-insensitively (RFC 9110 §5.1).  A purpose or legal basis
 * that is not a well-formed name is kept as "(invalid)" so that the
 * policy refuses it as undeclared (403) and the audit record stays clean.
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Match one pattern against a path; {id} takes a positive integer. */
static bool match(const char *pattern, const char *path, int64_t *id)
{
    *id = 0;
    while (*pattern != '\0') {
        if (strncmp(pattern, "{id}", 4) == 0) {
            if (*path < '1' || *path > '9')
                return false;
            int64_t v = 0;
            int digits = 0;
            while (*path >= '0' && *path <= '9') {
                if (++digits > 18)
                    return false;
                v = v * 10 + (*path++ - '0');
            }
            *id = v;
            pattern += 4;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return *path == '\0';
}

int server_route_match(const char *method, const char *path, int64_t *id, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < server_n_routes; i++) {
        int64_t v;
        if (!match(server_routes[i].pattern, path, &v))
            continue;
        *path_known = true;
        if (strcmp(server_routes[i].method, method) == 0) {
            *id = v;
            return (int)i;
        }
    }
    return -1;
}

static const char *header(const server_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name != NULL && h[i].value != NULL && strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

static void copy_name(char *out, size_t cap, const char *v)
{
    out[0] = '\0';
    if (v == NULL || v[0] == '\0')
        return;
    if (huella_name_valid(v) && strlen(v) < cap)
        snprintf(out, cap, "%s", v);
    else
        snprintf(out, cap, "(invalid)");
}

void server_request_clear(server_request *r)
{
    json_decref(r->body);
    r->body = NULL;
    free(r->raw);
    r->raw = NULL;
    r->raw_len = 0;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

int server_request_decode(const char *method, const char *path, const server_header *headers,
                          size_t n_headers, const uint8_t *body, size_t len, size_t max_body,
                          server_request *out, huella_error *err)
{
    memset(out, 0, sizeof(*out));
    out->route = -1;
    if (method == NULL || path == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "no method or path"), 400;
    bool known = false;
    out->route = server_route_match(method, path, &out->id, &known);
    if (out->route < 0) {
        huella_error_set(err, HUELLA_E_NOTFOUND,
                         known ? "method not allowed here" : "no such endpoint");
        return known ? 405 : 404;
    }
    const server_route *rt = &server_routes[out->route];
    if (len > max_body) {
        huella_error_set(err, HUELLA_E_INPUT, "request body of %zu bytes exceeds the limit of %zu",
                         len, max_body);
        return 413;
    }
    const char *auth = header(headers, n_headers, "Authorization");
    if (auth != NULL) {
        out->token_given = true;
        if (strncasecmp(auth, "Bearer ", 7) == 0) {
            const char *t = auth + 7;
            while (*t == ' ')
                t++;
            if (strlen(t) < sizeof(out->token))
                snprintf(out->token, sizeof(out->token), "%s", t);
        }
    }
    copy_name(out->purpose, sizeof(out->purpose), header(headers, n_headers, "Huella-Purpose"));
    copy_name(out->legal_basis, sizeof(out->legal_basis),
              header(headers, n_headers, "Huella-Legal-Basis"));
    const char *reason = header(headers, n_headers, "Huella-Reason");
    if (reason != NULL) {
        if (strlen(reason) >= sizeof(out->reason) || !printable(reason)) {
            huella_error_set(err, HUELLA_E_INPUT, "Huella-Reason: 1 to 1024 printable bytes");
            return 400;
        }
        snprintf(out->reason, sizeof(out->reason), "%s", reason);
    }
    const char *idem = header(headers, n_headers, "Idempotency-Key");
    if (idem != NULL) {
        size_t n = strlen(idem);
        bool ok = n >= 1 && n < sizeof(out->idem_key);
        for (size_t i = 0; ok && i < n; i++)
            ok = idem[i] > 0x20 && idem[i] < 0x7f;
        if (!ok) {
            huella_error_set(err, HUELLA_E_INPUT,
                             "Idempotency-Key: 1 to 128 visible ASCII characters");
            return 400;
        }
        memcpy(out->idem_key, idem, n + 1);
    }
    const char *dl = header(headers, n_headers, "Huella-Deadline-Ms");
    if (dl != NULL) {
        char *end;
        long v = strtol(dl, &end, 10);
        if (end == dl || *end != '\0' || v < 1 || v > 3600000) {
            huella_error_set(err, HUELLA_E_INPUT, "Huella-Deadline-Ms: 1 to 3600000");
            return 400;
        }
        out->deadline_ms = v;
    }
    if (rt->body == BODY_NONE) {
        if (len > 0) {
            huella_error_set(err, HUELLA_E_INPUT, "%s %s takes no request body", rt->method,
                             rt->pattern);
            return 400;
        }
        return 0;
    }
    if (len == 0) {
        if (rt->body == BODY_JSON_REQUIRED || rt->body == BODY_ANY) {
            huella_error_set(err, HUELLA_E_INPUT, "%s %s needs a body", rt->method, rt->pattern);
            return 400;
        }
        return 0;
    }
    const char *ctype = header(headers, n_headers, "Content-Type");
    if (rt->body == BODY_ANY && ctype != NULL && strncasecmp(ctype, "application/json", 16) != 0) {
        size_t n = strcspn(ctype, "; ");
        if (n == 0 || n >= sizeof(out->ctype)) {
            huella_error_set(err, HUELLA_E_UNSUPPORTED, "unsupported Content-Type");
            return 415;
        }
        memcpy(out->ctype, ctype, n);
        out->ctype[n] = '\0';
        out->raw = malloc(len);
        if (out->raw == NULL) {
            huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
            return 413;
        }
        memcpy(out->raw, body, len);
        out->raw_len = len;
        return 0;
    }
    if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0 ||
        (ctype[16] != '\0' && ctype[16] != ';')) {
        huella_error_set(err, HUELLA_E_UNSUPPORTED, "the body must be application/json");
        return 415;
    }
    json_error_t je;
    out->body = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
    if (out->body == NULL) {
        /* je.text may quote the body: only the position is reported. */
        huella_error_set(err, HUELLA_E_INPUT, "the body is not valid JSON (near byte %d)",
                         je.position);
        return 400;
    }
    if (!json_is_object(out->body)) {
        huella_error_set(err, HUELLA_E_INPUT, "the body must be a JSON object");
        server_request_clear(out);
        return 400;
    }
    json_t *r = json_object_get(out->body, "reason");
    if (r != NULL) {
        const char *rs = json_string_value(r);
        if (rs == NULL || rs[0] == '\0' || strlen(rs) >= sizeof(out->reason) || !printable(rs)) {
            huella_error_set(err, HUELLA_E_INPUT, "\"reason\" wants 1 to 1024 printable bytes");
            server_request_clear(out);
            return 400;
        }
        snprintf(out->reason, sizeof(out->reason), "%s", rs);
    }
    return 0;
}
