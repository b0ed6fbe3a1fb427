/*
 * fuzz_names.c - normalisation and comparison of arbitrary bytes as names.
 *
 * The input is read as lines (at most 32 of them, so that a pairs file
 * such as names/un-pairs.tsv is a useful seed); each line is split at its
 * first tab into two names, or in two halves when it has none.  Invalid
 * UTF-8 must come back as HUELLA_E_INPUT with a message, never a crash, a
 * hang or a read out of bounds; a score must lie in [0, 1].
 */
#include "huella/names.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(huella_names *n, huella_name_comparison *c, char *line, size_t len)
{
    char *tab = memchr(line, '\t', len);
    char *a = line, *b;
    if (tab != NULL) {
        *tab = '\0';
        b = tab + 1;
        char *tab2 = strchr(b, '\t');
        if (tab2 != NULL)
            *tab2 = '\0';
    } else {
        /* Split in two halves: copy the second so both are NUL-terminated. */
        b = line + len / 2;
        char *second = malloc(len - len / 2 + 1);
        if (second == NULL)
            return;
        memcpy(second, b, len - len / 2);
        second[len - len / 2] = '\0';
        line[len / 2] = '\0';
        huella_error err;
        huella_status st = huella_names_compare(n, a, second, c, &err);
        if ((st != HUELLA_OK && err.message[0] == '\0') ||
            (st == HUELLA_OK && !(c->score >= 0.0 && c->score <= 1.0)))
            abort();
        free(second);
        return;
    }
    huella_error err;
    huella_status st = huella_names_compare(n, a, b, c, &err);
    if ((st != HUELLA_OK && err.message[0] == '\0') ||
        (st == HUELLA_OK && !(c->score >= 0.0 && c->score <= 1.0)))
        abort(); /* every failure explains itself; scores stay in range */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One comparator for the whole run: loading the tables and opening
     * transliterators per input would make the fuzzer crawl.  It lives
     * until the process ends, like the fuzzer itself. */
    static huella_names *n;
    huella_error err;
    if (n == NULL && huella_names_new(NULL, &n, &err) != HUELLA_OK)
        abort(); /* the data directory must be there */
    char *buf = malloc(size + 1);
    huella_name_comparison *c = malloc(sizeof(*c));
    if (buf == NULL || c == NULL) {
        free(buf);
        free(c);
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    size_t start = 0;
    for (int lines = 0; lines < 32 && start <= size; lines++) {
        char *nl = memchr(buf + start, '\n', size - start);
        size_t end = nl != NULL ? (size_t)(nl - buf) : size;
        buf[end] = '\0';
        /* A NUL inside the line ends the name early: that is what a C
         * caller would pass too. */
        one_line(n, c, buf + start, strlen(buf + start));
        if (nl == NULL)
            break;
        start = end + 1;
    }
    free(c);
    free(buf);
    return 0;
}
