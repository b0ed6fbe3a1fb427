/*
 * send.c - POST /v1/encounters over HTTPS with libcurl (GnuTLS flavour).
 * Every send pairs curl_global_init with curl_global_cleanup (reference
 * counted; thread-safe since curl 7.84), so no global state outlives it.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/kit.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWER ((size_t)16 << 20)

void huella_kit_reply_clear(huella_kit_reply *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

bool huella_kit_reply_retry(const huella_kit_reply *r)
{
    /* The server or the kit's credentials are at fault, not the encounter:
     * unreachable, 5xx, timeouts and rate limits, and 401/403/404 (an
     * expired token, a role or purpose not yet granted, a server without
     * the endpoint) are all fixed without recapturing. */
    if (!r->reached)
        return true;
    long s = r->status;
    return s >= 500 || s == 401 || s == 403 || s == 404 || s == 408 || s == 425 || s == 429 ||
           s < 200 || (s >= 300 && s < 400);
}

static size_t collect(char *p, size_t size, size_t nmemb, void *ctx)
{
    huella_buf *b = ctx;
    size_t n = size * nmemb;
    if (b->len + n > MAX_ANSWER || !huella_buf_append(b, p, n))
        return 0;
    return n;
}

/* Plain http only to a loopback host. */
static bool url_allowed(const char *url)
{
    if (strncmp(url, "https://", 8) == 0)
        return true;
    if (strncmp(url, "http://", 7) != 0)
        return false;
    const char *h = url + 7;
    static const char *const loop[] = {
        "127.0.0.1:", "127.0.0.1/", "localhost:", "localhost/", "[::1]:", "[::1]/"};
    for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++)
        if (strncmp(h, loop[i], strlen(loop[i])) == 0)
            return true;
    return strcmp(h, "127.0.0.1") == 0 || strcmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0;
}

huella_status huella_kit_send(const huella_kit_server *srv, const huella_kit_message *m,
                              huella_kit_reply *reply, huella_error *err)
{
    memset(reply, 0, sizeof *reply);
    if (srv->url == NULL || !url_allowed(srv->url))
        return huella_error_set(
            err, HUELLA_E_INPUT,
            "server URL %s: want https://HOST[:PORT] (http:// only to loopback)",
            srv->url != NULL ? srv->url : "(none)");
    if (srv->token == NULL || srv->token[0] == '\0' || strpbrk(srv->token, "\r\n") != NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "API token: empty or not one line");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return huella_error_set(err, HUELLA_E_INTERNAL, "libcurl cannot start");
    size_t ulen = strlen(srv->url);
    while (ulen > 0 && srv->url[ulen - 1] == '/')
        ulen--;
    char *url = malloc(ulen + sizeof "/v1/encounters");
    huella_buf hdr;
    huella_buf_init(&hdr);
    struct curl_slist *headers = NULL;
    CURL *c = curl_easy_init();
    if (url == NULL || c == NULL) {
        free(url);
        curl_easy_cleanup(c);
        curl_global_cleanup();
        return huella_error_set(err, HUELLA_E_NOMEM, "send: out of memory");
    }
    memcpy(url, srv->url, ulen);
    memcpy(url + ulen, "/v1/encounters", sizeof "/v1/encounters");
    char line[512];
    /* The kit's deadline travels with the request: huellad answers 504 and
     * stores nothing once it has passed (the kit has given up by then and
     * keeps the encounter queued). */
    char deadline[32];
    snprintf(deadline, sizeof deadline, "%ld", (srv->timeout_s > 0 ? srv->timeout_s : 30) * 1000);
    const char *fmt[] = {"Authorization: Bearer",   "Huella-Purpose:", "Huella-Legal-Basis:",
                         "Idempotency-Key:",        "Content-Type:",   "Huella-Deadline-Ms:",
                         "Accept: application/json"};
    const char *val[] = {
        srv->token, m->purpose, m->legal_basis, m->idempotency_key, m->content_type,
        deadline,   NULL};
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof fmt / sizeof fmt[0]; i++) {
        int n = val[i] != NULL ? snprintf(line, sizeof line, "%s %s", fmt[i], val[i])
                               : snprintf(line, sizeof line, "%s", fmt[i]);
        struct curl_slist *h =
            n > 0 && (size_t)n < sizeof line ? curl_slist_append(headers, line) : NULL;
        ok = h != NULL;
        if (ok)
            headers = h;
    }
    memset(line, 0, sizeof line);
    if (!ok) {
        curl_slist_free_all(headers);
        curl_easy_cleanup(c);
        free(url);
        curl_global_cleanup();
        return huella_error_set(err, HUELLA_E_INPUT, "send: a header is too long");
    }
    long timeout = srv->timeout_s > 0 ? srv->timeout_s : 30;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)m->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (srv->cacert != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, srv->cacert);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &hdr);
    CURLcode rc = curl_easy_perform(c);
    huella_status st = HUELLA_OK;
    if (rc == CURLE_OK) {
        reply->reached = true;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
        if (huella_buf_append_u8(&hdr, 0)) {
            reply->body = (char *)hdr.data;
            hdr.data = NULL;
        }
    } else if (rc == CURLE_OUT_OF_MEMORY) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "send: out of memory");
    } else if (rc == CURLE_WRITE_ERROR) {
        reply->reached = true;
        reply->status = 0;
        snprintf(reply->why, sizeof reply->why, "the answer is larger than %zu bytes", MAX_ANSWER);
    } else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
        snprintf(reply->why, sizeof reply->why,
                 "the server's certificate is not trusted (%s): give --cacert with the "
                 "certificate that signed it",
                 curl_easy_strerror(rc));
    } else {
        snprintf(reply->why, sizeof reply->why, "%s", curl_easy_strerror(rc));
    }
    huella_buf_free(&hdr);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    free(url);
    curl_global_cleanup();
    return st;
}
