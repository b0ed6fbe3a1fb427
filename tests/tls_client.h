/*
 * tls_client.h - a small HTTP/1.1 client over GnuTLS (or plain TCP) for
 * the server test and benchmark: keep-alive connections, requests with
 * Content-Length bodies, responses with Content-Length.  The server's
 * self-signed certificate is the trust anchor, so the certificate is
 * verified for real (hostname "localhost").  Header-only (static
 * functions) because a test and a benchmark include it.
 */
#ifndef HUELLA_TLS_CLIENT_H
#define HUELLA_TLS_CLIENT_H

#include "huella/audit.h"
#include "huella/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct tc_conn {
    int fd;
    bool tls;
    gnutls_session_t s;
    gnutls_certificate_credentials_t cred;
    char in[65536];
    size_t in_len;
} tc_conn;

typedef struct tc_response {
    int status;
    char *body; /* NUL-terminated, malloc'd */
    size_t body_len;
    char headers[4096];
} tc_response;

static void tc_close(tc_conn *c)
{
    if (c->tls && c->s != NULL) {
        gnutls_bye(c->s, GNUTLS_SHUT_WR);
        gnutls_deinit(c->s);
        c->s = NULL;
    }
    if (c->cred != NULL) {
        gnutls_certificate_free_credentials(c->cred);
        c->cred = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_len = 0;
}

/* 0 on success. ca_file: the server's certificate (trust anchor) or NULL
 * for plain TCP. */
static int tc_connect(tc_conn *c, int port, const char *ca_file)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    if (ca_file == NULL)
        return 0;
    c->tls = true;
    if (gnutls_certificate_allocate_credentials(&c->cred) < 0 ||
        gnutls_certificate_set_x509_trust_file(c->cred, ca_file, GNUTLS_X509_FMT_PEM) <= 0 ||
        gnutls_init(&c->s, GNUTLS_CLIENT) < 0) {
        tc_close(c);
        return -1;
    }
    gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, "localhost", 9);
    gnutls_set_default_priority(c->s);
    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred);
    gnutls_session_set_verify_cert(c->s, "localhost", 0);
    gnutls_transport_set_int(c->s, c->fd);
    gnutls_handshake_set_timeout(c->s, 10000);
    int rc;
    do
        rc = gnutls_handshake(c->s);
    while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    if (rc < 0) {
        tc_close(c);
        return -2; /* handshake or verification failed */
    }
    return 0;
}

static int tc_write(tc_conn *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = c->tls ? gnutls_record_send(c->s, p, len) : write(c->fd, p, len);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static ssize_t tc_read_some(tc_conn *c)
{
    if (c->in_len >= sizeof(c->in))
        return -1;
    ssize_t n;
    do
        n = c->tls ? gnutls_record_recv(c->s, c->in + c->in_len, sizeof(c->in) - c->in_len)
                   : read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
    if (n > 0)
        c->in_len += (size_t)n;
    return n;
}

/* Read one response (Content-Length framing).  0 on success. */
static int tc_read_response(tc_conn *c, tc_response *r)
{
    memset(r, 0, sizeof(*r));
    char *end;
    for (;;) {
        end = c->in_len >= 4 ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
        if (end != NULL)
            break;
        if (tc_read_some(c) <= 0)
            return -1;
    }
    size_t head = (size_t)(end - c->in) + 4;
    if (sscanf(c->in, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    size_t hl = head < sizeof(r->headers) - 1 ? head : sizeof(r->headers) - 1;
    memcpy(r->headers, c->in, hl);
    r->headers[hl] = '\0';
    size_t clen = 0;
    for (char *h = strstr(r->headers, "\r\n"); h != NULL; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            clen = strtoul(h + 17, NULL, 10);
    r->body = malloc(clen + 1);
    if (r->body == NULL)
        return -1;
    size_t have = c->in_len - head;
    size_t take = have < clen ? have : clen;
    memcpy(r->body, c->in + head, take);
    memmove(c->in, c->in + head + take, c->in_len - head - take);
    c->in_len -= head + take;
    while (take < clen) {
        ssize_t n;
        do
            n = c->tls ? gnutls_record_recv(c->s, r->body + take, clen - take)
                       : read(c->fd, r->body + take, clen - take);
        while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
        if (n <= 0) {
            free(r->body);
            r->body = NULL;
            return -1;
        }
        take += (size_t)n;
    }
    r->body[clen] = '\0';
    r->body_len = clen;
    return 0;
}

/* One request; headers is a NULL-terminated list of "Name: value". */
static int tc_request(tc_conn *c, const char *method, const char *path, const char *const *headers,
                      const char *body, size_t len, tc_response *r)
{
    char req[8192];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n", method, path);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n", headers[i]);
    if (body != NULL)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Content-Length: %zu\r\n", len);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    if (n >= (int)sizeof(req) || tc_write(c, req, (size_t)n) != 0 ||
        (body != NULL && len > 0 && tc_write(c, body, len) != 0))
        return -1;
    return tc_read_response(c, r);
}

/* A free TCP port on the loopback interface (-1 when none can be had). */
static inline int tc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
             getsockname(fd, (struct sockaddr *)&sa, &len) == 0;
    close(fd);
    return ok ? ntohs(sa.sin_port) : -1;
}

/* One request on a new connection to huellad at port, with the headers
 * every personal-data call carries (each left out when NULL) and one extra
 * header line. */
static inline int tc_call(int port, const char *ca_file, const char *method, const char *path,
                          const char *token, const char *purpose, const char *basis,
                          const char *ctype, const char *body, const char *extra, tc_response *r)
{
    tc_conn c;
    if (tc_connect(&c, port, ca_file) != 0)
        return -1;
    char h[6][256];
    const char *hs[7];
    int n = 0;
    if (token != NULL)
        snprintf(h[n], sizeof(h[n]), "Authorization: Bearer %s", token), hs[n] = h[n], n++;
    if (purpose != NULL)
        snprintf(h[n], sizeof(h[n]), "Huella-Purpose: %s", purpose), hs[n] = h[n], n++;
    if (basis != NULL)
        snprintf(h[n], sizeof(h[n]), "Huella-Legal-Basis: %s", basis), hs[n] = h[n], n++;
    if (ctype != NULL)
        snprintf(h[n], sizeof(h[n]), "Content-Type: %s", ctype), hs[n] = h[n], n++;
    if (extra != NULL)
        snprintf(h[n], sizeof(h[n]), "%s", extra), hs[n] = h[n], n++;
    hs[n] = NULL;
    int rc = tc_request(&c, method, path, hs, body, body ? strlen(body) : 0, r);
    tc_close(&c);
    return rc;
}

static inline int tc_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median and 99th percentile (nearest rank) of n latencies in
 * microseconds, in milliseconds; sorts us.  0 when n is 0. */
static inline void tc_latency_quantiles(uint64_t *us, size_t n, double *p50_ms, double *p99_ms)
{
    *p50_ms = *p99_ms = 0;
    if (n == 0)
        return;
    qsort(us, n, sizeof(uint64_t), tc_cmp_u64);
    size_t rank99 = (size_t)((99 * (uint64_t)n + 99) / 100); /* ceil(0.99 n), 1-based */
    *p50_ms = (double)us[n / 2] / 1000.0;
    *p99_ms = (double)us[rank99 - 1] / 1000.0;
}

/* A fresh store at db with its audit log signed by audit_key, and a
 * self-signed certificate (certdir/cert.pem, key.pem) made by the
 * project's scripts/make-cert; what was there is removed first.  0, or -1
 * with the step that failed on stderr. */
static inline int tc_fresh_store(const char *source_dir, const char *db, const char *audit_key,
                                 const char *certdir)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'* && '%s/scripts/make-cert' '%s' >/dev/null",
             db, certdir, audit_key, source_dir, certdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "command failed: %s\n", cmd);
        return -1;
    }
    huella_error err;
    if (huella_store_init(db, NULL, &err) != HUELLA_OK ||
        huella_audit_init(db, audit_key, &err) != HUELLA_OK) {
        fprintf(stderr, "%s: %s\n", db, err.message);
        return -1;
    }
    return 0;
}

/* Start huellad (the binary `bin`) over TLS on 127.0.0.1:port with the
 * store `db`, the certificate and key, up to 12 more arguments (`extra`,
 * NULL-terminated, may be NULL) and its stderr sent to `log` (NULL: kept).
 * Waits up to wait_ms for it to accept a TLS connection.  Returns its pid,
 * or -1 when it did not come up (it is killed). */
static inline pid_t tc_start_huellad(const char *bin, const char *db, int port, const char *cert,
                                     const char *key, const char *const *extra, const char *log,
                                     int wait_ms)
{
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (log != NULL && freopen(log, "w", stderr) == NULL)
            _exit(126);
        const char *argv[24] = {"huellad",    "--db", db,          "--listen", listen,
                                "--tls-cert", cert,   "--tls-key", key};
        int n = 9;
        for (int i = 0; extra != NULL && extra[i] != NULL && i < 12; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (int waited = 0; waited < wait_ms; waited += 50) {
        tc_conn c;
        if (tc_connect(&c, port, cert) == 0) {
            tc_close(&c);
            return pid;
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

#endif
