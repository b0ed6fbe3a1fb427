/*
 * names_dump.c - evaluation helper for classify.py (not part of the
 * library, not built by CMake: classify.py compiles it against
 * build/libhuella.so).
 *
 * Reads a pairs file (name_a TAB name_b TAB same|different [TAB kind],
 * '#' comments) and prints, for each pair, one tab-separated line:
 * name_a, name_b, label, kind, score (or ERR when a name does not
 * normalise), both Latin forms, the aligned tokens (a=b:similarity:how,
 * joined runs written a+b) separated by '|', and the word tokens left
 * over on each side.  It exists to classify the errors of the public
 * pairs files; it writes to stdout only.
 *
 * usage: names_dump PAIRS.tsv
 */
#include "huella/names.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_run(const huella_name *nm, size_t first, size_t last)
{
    printf("%s", nm->tokens[first].text);
    if (last == SIZE_MAX)
        return;
    for (size_t k = first + 1; k <= last; k++)
        printf("+%s", nm->tokens[k].text);
}

static void print_comparison(const huella_name_comparison *c)
{
    printf("%.4f\t%s\t%s\t", c->score, c->a.latin, c->b.latin);
    for (size_t i = 0; i < c->n_aligned; i++) {
        const huella_name_alignment *al = &c->aligned[i];
        printf("%s", i ? "|" : "");
        print_run(&c->a, al->a, al->a2);
        printf("=");
        print_run(&c->b, al->b, al->b2);
        printf(":%.2f:%s", al->similarity, huella_name_match_name(al->how));
    }
    printf("\t");
    for (size_t i = 0; i < c->n_left_a; i++)
        printf("%s%s", i ? " " : "", c->a.tokens[c->left_a[i]].text);
    printf("\t");
    for (size_t i = 0; i < c->n_left_b; i++)
        printf("%s%s", i ? " " : "", c->b.tokens[c->left_b[i]].text);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: names_dump PAIRS.tsv\n");
        return 1;
    }
    huella_names *n = NULL;
    huella_error err = {0};
    if (huella_names_new(NULL, &n, &err) != HUELLA_OK) {
        fprintf(stderr, "names_dump: %s\n", err.message);
        return 3;
    }
    FILE *f = fopen(argv[1], "r");
    huella_name_comparison *c = malloc(sizeof(*c));
    if (f == NULL || c == NULL) {
        fprintf(stderr, "names_dump: cannot read %s\n", argv[1]);
        free(c);
        if (f != NULL)
            fclose(f);
        huella_names_free(n);
        return 2;
    }
    char line[8192];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        char *save = NULL;
        char *a = strtok_r(line, "\t", &save), *b = strtok_r(NULL, "\t", &save);
        char *label = strtok_r(NULL, "\t", &save), *kind = strtok_r(NULL, "\t", &save);
        if (a == NULL || b == NULL || label == NULL)
            continue;
        printf("%s\t%s\t%s\t%s\t", a, b, label, kind != NULL ? kind : "");
        if (huella_names_compare(n, a, b, c, &err) != HUELLA_OK)
            printf("ERR\t\t\t\t\t\n");
        else
            print_comparison(c);
    }
    free(c);
    fclose(f);
    huella_names_free(n);
    return 0;
}
