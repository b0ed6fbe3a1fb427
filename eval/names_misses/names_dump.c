/* dump: for each pair line print label, score, aligned and left-over tokens */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "huella/names.h"
int main(int argc, char **argv) {
    huella_names *n = NULL; huella_error err = {0};
    if (huella_names_new(NULL, &n, &err) != HUELLA_OK) return 3;
    FILE *f = fopen(argv[1], "r"); if (!f) return 2;
    huella_name_comparison *c = malloc(sizeof *c);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\r\n")] = 0;
        char *a = strtok(line, "\t"), *b = strtok(NULL, "\t"), *lab = strtok(NULL, "\t"), *kind = strtok(NULL, "\t");
        if (!a || !b || !lab) continue;
        if (huella_names_compare(n, a, b, c, &err) != HUELLA_OK) { printf("%s\t%s\t%s\t%s\tERR\t\t\t\t\n", a, b, lab, kind ? kind : ""); continue; }
        printf("%s\t%s\t%s\t%s\t%.4f\t", a, b, lab, kind ? kind : "", c->score);
        printf("%s\t%s\t", c->a.latin, c->b.latin);
        for (size_t i = 0; i < c->n_aligned; i++) {
            huella_name_alignment *al = &c->aligned[i];
            printf("%s%s", i ? "|" : "", c->a.tokens[al->a].text);
            if (al->a2 != (size_t)-1) for (size_t k = al->a + 1; k <= al->a2; k++) printf("+%s", c->a.tokens[k].text);
            printf("=");
            printf("%s", c->b.tokens[al->b].text);
            if (al->b2 != (size_t)-1) for (size_t k = al->b + 1; k <= al->b2; k++) printf("+%s", c->b.tokens[k].text);
            printf(":%.2f:%s", al->similarity, huella_name_match_name(al->how));
        }
        printf("\t");
        for (size_t i = 0; i < c->n_left_a; i++) printf("%s%s", i ? " " : "", c->a.tokens[c->left_a[i]].text);
        printf("\t");
        for (size_t i = 0; i < c->n_left_b; i++) printf("%s%s", i ? " " : "", c->b.tokens[c->left_b[i]].text);
        printf("\n");
    }
    free(c); fclose(f); huella_names_free(n); return 0;
}
