/*
 * file.c - whole-file reads with a size bound, atomic writes, the clock.
 *
 * Contract: huella_file_read refuses anything that is not a regular file
 * or is larger than the bound before allocating; huella_file_write never
 * leaves a half-written file under the final name (write, fsync, rename).
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_FILE ((size_t)1 << 30)

huella_status huella_file_read(const char *path, size_t max_size, uint8_t **data, size_t *len,
                               huella_error *err)
{
    *data = NULL;
    *len = 0;
    if (max_size == 0)
        max_size = DEFAULT_MAX_FILE;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return huella_error_set(err, errno == ENOENT ? HUELLA_E_NOTFOUND : HUELLA_E_IO,
                                "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return huella_error_set(err, HUELLA_E_INPUT, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "%s: file is %lld bytes, more than the limit of %zu", path,
                                (long long)st.st_size, max_size);
    }
    size_t size = (size_t)st.st_size;
    /* One extra byte so that text parsers may rely on a terminating NUL. */
    uint8_t *buf = malloc(size + 1);
    if (buf == NULL) {
        close(fd);
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: cannot allocate %zu bytes", path,
                                size + 1);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return huella_error_set(err, HUELLA_E_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (n == 0)
            break; /* the file shrank while we read it: take what is there */
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return HUELLA_OK;
}

huella_status huella_file_write(const char *path, const void *data, size_t len, huella_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (tmp == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot create: %s", path, strerror(e));
    }
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return huella_error_set(err, HUELLA_E_IO, "%s: write failed: %s", path, strerror(e));
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot flush: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot rename into place: %s", path,
                                strerror(e));
    }
    free(tmp);
    return HUELLA_OK;
}

uint64_t huella_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

huella_status huella_dir_make(const char *path, unsigned mode, huella_error *err)
{
    size_t n = strlen(path);
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "%s: out of memory", path);
    memcpy(buf, path, n + 1);
    /* Each prefix that ends before a '/' and then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
            int e = errno;
            free(buf);
            return huella_error_set(err, HUELLA_E_IO, "%s: cannot create directory: %s", path,
                                    strerror(e));
        }
        buf[i] = c;
    }
    free(buf);
    if (n == 0)
        return huella_error_set(err, HUELLA_E_IO, "cannot create a directory with an empty name");
    return HUELLA_OK;
}
