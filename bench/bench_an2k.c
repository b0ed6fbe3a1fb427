/*
 * bench_an2k.c - speed of reading, writing and validating ANSI/NIST-ITL
 * transactions.
 *
 * Loads every .an2 file of the shared an2k and an2k-nbis directories into
 * memory, then for ROUNDS rounds reads each one (huella_an2k_read), reads
 * and writes it back (huella_an2k_write, checking the bytes are the same),
 * and validates it (huella_an2k_validate, which decodes every image it can
 * to check its size, so that figure includes the image decoders).  Prints one JSON
 * object per line: megabytes per second for read, read+write, and
 * validate, with the ratio to a plain memcpy of the same bytes measured in
 * the same run (the floor any parser that copies its input pays).
 *
 * usage: bench_an2k [ROUNDS]
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/an2k.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES 128

typedef struct file {
    uint8_t *data;
    size_t len;
} file;

static size_t load_dir(const char *dir, file *files, size_t n)
{
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return n;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL && n < MAX_FILES) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 4, ".an2") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (huella_file_read(path, 0, &files[n].data, &files[n].len, NULL) == HUELLA_OK)
            n++;
    }
    closedir(dp);
    return n;
}

static void report(const char *what, double bytes, double seconds, double memcpy_seconds)
{
    printf("{\"bench\": \"an2k\", \"what\": \"%s\", \"mb_per_s\": %.1f, \"seconds\": %.4f, "
           "\"ratio_to_memcpy\": %.2f}\n",
           what, bytes / seconds / 1e6, seconds, seconds / memcpy_seconds);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1)
        rounds = 1;
    static file files[MAX_FILES];
    size_t n = load_dir(HUELLA_DATA_DIR "/interchange/an2k", files, 0);
    n = load_dir(HUELLA_DATA_DIR "/interchange/an2k-nbis", files, n);
    if (n == 0) {
        fprintf(stderr, "bench_an2k: no transactions under %s/interchange\n", HUELLA_DATA_DIR);
        return 1;
    }
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += (double)files[i].len;
    total *= rounds;

    unsigned sink = 0;
    uint64_t t0 = 0;
    double t_copy = 0;
    /* The first pass warms the allocator and the caches; the second is timed. */
    for (int pass = 0; pass < 2; pass++) {
        t0 = huella_now_ns();
        for (int r = 0; r < rounds; r++)
            for (size_t i = 0; i < n; i++) {
                uint8_t *copy = malloc(files[i].len);
                if (copy == NULL)
                    return 1;
                memcpy(copy, files[i].data, files[i].len);
                sink += copy[files[i].len / 2]; /* keep the copy from being optimised away */
                free(copy);
            }
        t_copy = (double)(huella_now_ns() - t0) / 1e9;
    }

    t0 = huella_now_ns();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++) {
            huella_an2k *txn = NULL;
            if (huella_an2k_read(files[i].data, files[i].len, &txn, NULL) != HUELLA_OK)
                return 1;
            huella_an2k_free(txn);
        }
    double t_read = (double)(huella_now_ns() - t0) / 1e9;

    t0 = huella_now_ns();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++) {
            huella_an2k *txn = NULL;
            uint8_t *out;
            size_t len;
            if (huella_an2k_read(files[i].data, files[i].len, &txn, NULL) != HUELLA_OK ||
                huella_an2k_write(txn, &out, &len, NULL) != HUELLA_OK || len != files[i].len ||
                memcmp(out, files[i].data, len) != 0) {
                fprintf(stderr, "bench_an2k: file %zu does not round-trip\n", i);
                return 1;
            }
            free(out);
            huella_an2k_free(txn);
        }
    double t_rw = (double)(huella_now_ns() - t0) / 1e9;

    huella_an2k *txns[MAX_FILES];
    for (size_t i = 0; i < n; i++)
        if (huella_an2k_read(files[i].data, files[i].len, &txns[i], NULL) != HUELLA_OK)
            return 1;
    t0 = huella_now_ns();
    size_t problems = 0;
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++) {
            huella_an2k_problem *p;
            size_t np;
            if (huella_an2k_validate(txns[i], &p, &np, NULL) != HUELLA_OK)
                return 1;
            problems += np;
            free(p);
        }
    double t_val = (double)(huella_now_ns() - t0) / 1e9;
    for (size_t i = 0; i < n; i++) {
        huella_an2k_free(txns[i]);
        free(files[i].data);
    }
    printf("{\"bench\": \"an2k\", \"files\": %zu, \"megabytes\": %.1f, \"rounds\": %d}\n", n,
           total / rounds / 1e6, rounds);
    report("read", total, t_read, t_copy);
    report("read+write", total, t_rw, t_copy);
    report("validate (images decoded)", total, t_val, t_copy);
    fprintf(stderr, "bench_an2k: %zu problems per round (copy checksum %u)\n",
            problems / (size_t)rounds, sink);
    return 0;
}
