/*
 * support.c - test helpers: data paths, scratch files, running the CLI.
 */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS    8
#define PATH_LEN 4096

static const char *data_dir(void)
{
    const char *d = getenv("HUELLA_DATA_DIR");
    return d != NULL && d[0] != '\0' ? d : "../shared/data";
}

static char *next_slot(void)
{
    static char slots[SLOTS][PATH_LEN];
    static unsigned next;
    char *s = slots[next];
    next = (next + 1) % SLOTS;
    return s;
}

const char *test_data(const char *relative)
{
    char *s = next_slot();
    snprintf(s, PATH_LEN, "%s/%s", data_dir(), relative);
    return s;
}

bool test_have_data(void)
{
    struct stat st;
    return stat(test_data("README.md"), &st) == 0;
}

static void remove_tree(const char *path)
{
    char cmd[PATH_LEN + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not clean %s\n", path);
}

const char *test_tmpdir(void)
{
    static char dir[PATH_LEN];
    if (dir[0] == '\0') {
        const char *t = getenv("HUELLA_TMP");
        if (t != NULL && t[0] != '\0')
            snprintf(dir, sizeof(dir), "%s", t);
        else
            snprintf(dir, sizeof(dir), "/tmp/huella-test-%ld", (long)getpid());
        remove_tree(dir);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "cannot create %s: %s\n", dir, strerror(errno));
            exit(1);
        }
    }
    return dir;
}

const char *test_tmpfile(const char *name)
{
    char *s = next_slot();
    const char *dir = test_tmpdir();
    if (strlen(dir) + strlen(name) + 2 > PATH_LEN) {
        fprintf(stderr, "scratch path too long: %s/%s\n", dir, name);
        exit(1);
    }
    memcpy(s, dir, strlen(dir));
    s[strlen(dir)] = '/';
    memcpy(s + strlen(dir) + 1, name, strlen(name) + 1);
    return s;
}

uint8_t *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap + 1);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            uint8_t *p = realloc(buf, cap + 1);
            if (p == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = p;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

bool test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

int test_run_huella(const char *const *argv, const char *stdin_text, char **out, char **err)
{
    const char *bin = getenv("HUELLA_BIN");
    if (bin == NULL)
        bin = "./huella";
    char out_path[PATH_LEN], err_path[PATH_LEN], in_path[PATH_LEN];
    static unsigned counter;
    counter++;
    snprintf(out_path, sizeof(out_path), "%s/run-%u.out", test_tmpdir(), counter);
    snprintf(err_path, sizeof(err_path), "%s/run-%u.err", test_tmpdir(), counter);
    snprintf(in_path, sizeof(in_path), "%s/run-%u.in", test_tmpdir(), counter);
    if (!test_write_file(in_path, stdin_text ? stdin_text : "",
                         stdin_text ? strlen(stdin_text) : 0))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open(in_path, O_RDONLY);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0)
            _exit(127);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        size_t n = 0;
        while (argv[n] != NULL)
            n++;
        char **args = calloc(n + 2, sizeof(char *));
        if (args == NULL)
            _exit(127);
        args[0] = (char *)bin;
        for (size_t i = 0; i < n; i++)
            args[i + 1] = (char *)argv[i];
        execv(bin, args);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    size_t len;
    if (out != NULL)
        *out = (char *)test_read_file(out_path, &len);
    if (err != NULL)
        *err = (char *)test_read_file(err_path, &len);
    if (!WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

void test_assert_near(double a, double b, double eps, const char *a_text, const char *b_text,
                      const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%s:%d: %s = %.17g is not within %g of %s = %.17g\n", file, line, a_text, a,
                    eps, b_text, b);
        _fail(file, line);
    }
}

json_t *test_run_huella_json(int want, const char *const *argv)
{
    char *out = NULL, *err = NULL;
    int status = test_run_huella(argv, NULL, &out, &err);
    if (status != want)
        fail_msg("exit %d (want %d): %s %s", status, want, err, out);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    if (o == NULL)
        fail_msg("not JSON: %s", out);
    free(out);
    free(err);
    return o;
}
