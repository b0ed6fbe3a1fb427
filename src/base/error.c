/*
 * error.c - status names and error messages.
 *
 * Contract: huella_error_set() never fails and never allocates; messages
 * longer than HUELLA_ERROR_MAX are truncated.  A NULL error is accepted
 * everywhere so that callers who only want the status can skip it.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/base.h"

#include <stdio.h>
#include <string.h>

const char *huella_status_name(huella_status status)
{
    switch (status) {
    case HUELLA_OK:
        return "ok";
    case HUELLA_E_INPUT:
        return "bad input";
    case HUELLA_E_UNSUPPORTED:
        return "unsupported";
    case HUELLA_E_NOMEM:
        return "out of memory";
    case HUELLA_E_IO:
        return "i/o error";
    case HUELLA_E_DENIED:
        return "denied";
    case HUELLA_E_NOTFOUND:
        return "not found";
    case HUELLA_E_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}

huella_status huella_error_vset(huella_error *err, huella_status status, const char *fmt,
                                va_list ap)
{
    if (err != NULL) {
        err->status = status;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
    }
    return status;
}

huella_status huella_error_set(huella_error *err, huella_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    huella_error_vset(err, status, fmt, ap);
    va_end(ap);
    return status;
}

void huella_error_prefix(huella_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[HUELLA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    /* Shift the old message right and put the prefix in front; the tail
     * is cut when the whole does not fit, which keeps the context. */
    size_t plen = (size_t)n < sizeof(prefix) ? (size_t)n : sizeof(prefix) - 1;
    size_t room = sizeof(err->message) - 1;
    if (plen > room)
        plen = room;
    size_t olen = strnlen(err->message, room);
    if (olen > room - plen)
        olen = room - plen;
    memmove(err->message + plen, err->message, olen);
    memcpy(err->message, prefix, plen);
    err->message[plen + olen] = '\0';
}

void huella_error_clear(huella_error *err)
{
    if (err != NULL) {
        err->status = HUELLA_OK;
        err->message[0] = '\0';
    }
}
