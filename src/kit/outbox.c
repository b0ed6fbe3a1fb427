/*
 * outbox.c - the capture kit's encrypted outbox: one file per encounter,
 * sealed with XChaCha20-Poly1305 under DIR/outbox.key, written atomically,
 * removed only after the server answered 2xx (include/huella/kit.h).
 *
 * File: "HKO1", 24-byte nonce, ciphertext of huella_kit_message_encode's
 * bytes with the file name as associated data.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/kit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTBOX_MAGIC "HKO1"
#define SUFFIX       ".hko"
#define NONCE_LEN    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KEY_LEN      crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define TAG_LEN      crypto_aead_xchacha20poly1305_ietf_ABYTES

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* A queued file's name: 20 digits, '-', 32 hex digits, ".hko". */
static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n != 20 + 1 + HUELLA_KIT_KEY_LEN + 4 || strcmp(name + n - 4, SUFFIX) != 0 ||
        name[20] != '-')
        return false;
    for (size_t i = 0; i < 20; i++)
        if (name[i] < '0' || name[i] > '9')
            return false;
    for (size_t i = 21; i < 21 + HUELLA_KIT_KEY_LEN; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return true;
}

/* Read the outbox key, creating it (and DIR) when create is set. */
static huella_status outbox_key(const char *dir, bool create, uint8_t key[KEY_LEN],
                                huella_error *err)
{
    if (sodium_init() < 0)
        return huella_error_set(err, HUELLA_E_INTERNAL, "libsodium cannot start");
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return huella_error_set(err, HUELLA_E_IO, "outbox %s: cannot create: %s", dir,
                                strerror(errno));
    char *path = join(dir, HUELLA_KIT_OUTBOX_KEY);
    if (path == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
    huella_status st = HUELLA_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        randombytes_buf(key, KEY_LEN);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            bool ok = write(fd, key, KEY_LEN) == KEY_LEN && fsync(fd) == 0;
            close(fd);
            if (!ok) {
                unlink(path);
                st = huella_error_set(err, HUELLA_E_IO, "%s: cannot write the key", path);
            }
            free(path);
            return st;
        }
        if (errno == EEXIST)
            fd = open(path, O_RDONLY | O_CLOEXEC); /* another process made it */
    }
    if (fd < 0) {
        st = huella_error_set(err, errno == ENOENT ? HUELLA_E_NOTFOUND : HUELLA_E_IO,
                              "%s: cannot open: %s", path, strerror(errno));
        free(path);
        return st;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (sb.st_mode & 077) != 0)
        st = huella_error_set(err, HUELLA_E_DENIED,
                              "%s: group or others may read it (want mode 0600)", path);
    else if (read(fd, key, KEY_LEN) != KEY_LEN)
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: not a %d-byte key", path, KEY_LEN);
    close(fd);
    free(path);
    return st;
}

huella_status huella_kit_outbox_put(const char *dir, const huella_kit_message *m, char **name,
                                    huella_error *err)
{
    if (name != NULL)
        *name = NULL;
    uint8_t key[KEY_LEN];
    huella_status st = outbox_key(dir, true, key, err);
    if (st != HUELLA_OK)
        return st;
    char fname[64];
    snprintf(fname, sizeof fname, "%020" PRId64 "-%s" SUFFIX, m->created_us > 0 ? m->created_us : 0,
             m->idempotency_key);
    uint8_t *plain = NULL, *file = NULL;
    size_t plain_len = 0, file_len = 0;
    st = huella_kit_message_encode(m, &plain, &plain_len, err);
    if (st == HUELLA_OK && (!huella_size_add(plain_len, 4 + NONCE_LEN + TAG_LEN, &file_len) ||
                            (file = malloc(file_len)) == NULL))
        st = huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
    char *path = st == HUELLA_OK ? join(dir, fname) : NULL;
    if (st == HUELLA_OK && path == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
    if (st == HUELLA_OK) {
        memcpy(file, OUTBOX_MAGIC, 4);
        randombytes_buf(file + 4, NONCE_LEN);
        crypto_aead_xchacha20poly1305_ietf_encrypt(file + 4 + NONCE_LEN, NULL, plain, plain_len,
                                                   (const uint8_t *)fname, strlen(fname), NULL,
                                                   file + 4, key);
        st = huella_file_write(path, file, file_len, err);
    }
    if (st == HUELLA_OK) {
        /* The rename is durable once the directory is synced. */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        if (name != NULL && (*name = strdup(fname)) == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
    }
    if (plain != NULL)
        sodium_memzero(plain, plain_len);
    sodium_memzero(key, sizeof key);
    free(plain);
    free(file);
    free(path);
    return st;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void huella_kit_outbox_list_free(char **names, size_t n)
{
    if (names == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

huella_status huella_kit_outbox_list(const char *dir, char ***names, size_t *n, huella_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? HUELLA_OK
                               : huella_error_set(err, HUELLA_E_IO, "outbox %s: cannot read: %s",
                                                  dir, strerror(errno));
    char **v = NULL;
    size_t count = 0, cap = 0;
    huella_status st = HUELLA_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!name_valid(e->d_name))
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16, bytes;
            char **nv = huella_size_mul(ncap, sizeof *v, &bytes) ? realloc(v, bytes) : NULL;
            if (nv == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        if ((v[count] = strdup(e->d_name)) == NULL) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
            break;
        }
        count++;
    }
    closedir(d);
    if (st != HUELLA_OK) {
        huella_kit_outbox_list_free(v, count);
        return st;
    }
    if (count > 1)
        qsort(v, count, sizeof *v, by_name);
    *names = v;
    *n = count;
    return HUELLA_OK;
}

huella_status huella_kit_outbox_get(const char *dir, const char *name, huella_kit_message **out,
                                    huella_error *err)
{
    *out = NULL;
    if (!name_valid(name))
        return huella_error_set(err, HUELLA_E_INPUT, "outbox: %s is not an outbox file name", name);
    uint8_t key[KEY_LEN];
    huella_status st = outbox_key(dir, false, key, err);
    if (st != HUELLA_OK)
        return st;
    char *path = join(dir, name);
    if (path == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
    uint8_t *file = NULL, *plain = NULL;
    size_t len = 0;
    st = huella_file_read(path, 0, &file, &len, err);
    if (st == HUELLA_OK && (len < 4 + NONCE_LEN + TAG_LEN || memcmp(file, OUTBOX_MAGIC, 4) != 0))
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: not an outbox file", path);
    size_t plain_len = st == HUELLA_OK ? len - 4 - NONCE_LEN - TAG_LEN : 0;
    if (st == HUELLA_OK && (plain = malloc(plain_len + 1)) == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
    if (st == HUELLA_OK && crypto_aead_xchacha20poly1305_ietf_decrypt(
                               plain, NULL, NULL, file + 4 + NONCE_LEN, len - 4 - NONCE_LEN,
                               (const uint8_t *)name, strlen(name), file + 4, key) != 0)
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "%s: does not authenticate (altered, renamed or another key)", path);
    if (st == HUELLA_OK) {
        st = huella_kit_message_decode(plain, plain_len, out, err);
        if (st != HUELLA_OK)
            huella_error_prefix(err, "%s: ", path);
    }
    if (st == HUELLA_OK && strncmp((*out)->idempotency_key, name + 21, HUELLA_KIT_KEY_LEN) != 0) {
        huella_kit_message_free(*out);
        *out = NULL;
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: its key differs from its name", path);
    }
    if (plain != NULL)
        sodium_memzero(plain, plain_len);
    sodium_memzero(key, sizeof key);
    free(plain);
    free(file);
    free(path);
    return st;
}

huella_status huella_kit_outbox_remove(const char *dir, const char *name, huella_error *err)
{
    if (!name_valid(name))
        return huella_error_set(err, HUELLA_E_INPUT, "outbox: %s is not an outbox file name", name);
    char *path = join(dir, name);
    if (path == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
    huella_status st = HUELLA_OK;
    if (unlink(path) != 0 && errno != ENOENT)
        st = huella_error_set(err, HUELLA_E_IO, "%s: cannot remove: %s", path, strerror(errno));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(path);
    return st;
}

huella_status huella_kit_outbox_reject(const char *dir, const char *name, huella_error *err)
{
    if (!name_valid(name))
        return huella_error_set(err, HUELLA_E_INPUT, "outbox: %s is not an outbox file name", name);
    char *rdir = join(dir, "rejected");
    char *from = join(dir, name);
    char *to = rdir != NULL ? join(rdir, name) : NULL;
    huella_status st = HUELLA_OK;
    if (rdir == NULL || from == NULL || to == NULL)
        st = huella_error_set(err, HUELLA_E_NOMEM, "outbox: out of memory");
    else if (mkdir(rdir, 0700) != 0 && errno != EEXIST)
        st = huella_error_set(err, HUELLA_E_IO, "%s: cannot create: %s", rdir, strerror(errno));
    else if (rename(from, to) != 0)
        st = huella_error_set(err, HUELLA_E_IO, "%s: cannot move to %s: %s", from, rdir,
                              strerror(errno));
    if (st == HUELLA_OK) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(rdir);
    free(from);
    free(to);
    return st;
}
