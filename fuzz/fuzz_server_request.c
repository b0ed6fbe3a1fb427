/*
 * fuzz_server_request.c - libFuzzer target for huellad's request decoding
 * (src/server/request.c): route matching, path ids, the bearer token,
 * Huella-Purpose / Huella-Legal-Basis / Huella-Reason, the JSON body.
 *
 * Input layout: byte 0 picks the method; then the path up to '\n'; then
 * header lines "Name: value" up to an empty line; the rest is the body.
 * Every outcome must be 0 or a 4xx status with a message, and a decoded
 * request must hold only well-formed names and a route of the table.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET", "PATCH", "DELETE", "POST", "PUT", "HEAD"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    size_t pos = 1;
    char path[512];
    size_t n = 0;
    while (pos < size && data[pos] != '\n') {
        if (n < sizeof(path) - 1 && data[pos] != '\0')
            path[n++] = (char)data[pos];
        pos++;
    }
    path[n] = '\0';
    pos++;
    static char lines[SERVER_MAX_HEADERS][512];
    server_header h[SERVER_MAX_HEADERS];
    size_t nh = 0;
    while (pos < size && nh < SERVER_MAX_HEADERS) {
        size_t len = 0;
        while (pos < size && data[pos] != '\n') {
            if (len < sizeof(lines[0]) - 1 && data[pos] != '\0')
                lines[nh][len++] = (char)data[pos];
            pos++;
        }
        pos++;
        if (len == 0)
            break;
        lines[nh][len] = '\0';
        char *colon = strchr(lines[nh], ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        h[nh] = (server_header){lines[nh], v};
        nh++;
    }
    const uint8_t *body = pos < size ? data + pos : NULL;
    size_t body_len = pos < size ? size - pos : 0;
    server_request req;
    huella_error err;
    int code = server_request_decode(method, path, h, nh, body, body_len, 4096, &req, &err);
    if (code != 0 && (code < 400 || code > 499 || err.message[0] == '\0'))
        abort();
    if (code == 0) {
        if (req.route < 0 || (size_t)req.route >= server_n_routes)
            abort();
        if (req.purpose[0] && strcmp(req.purpose, "(invalid)") != 0 &&
            !huella_name_valid(req.purpose))
            abort();
        if (strlen(req.reason) > 1024)
            abort();
    }
    server_request_clear(&req);
    return 0;
}
