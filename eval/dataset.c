/*
 * dataset.c - finding the samples of an evaluation dataset and their classes.
 *
 * Layout rules (the contract of `huella eval --dataset DIR`):
 *  - a file named FFF_I.ext directly in DIR (FFF letters and digits, I
 *    digits) is FVC style: its class is FFF (FVC2000-2006 naming);
 *  - any other file's class is the directory that holds it, relative to
 *    DIR ("." for DIR itself), so mmu1/1/left/x.bmp is class "1/left".
 * Only files whose extension is in the caller's list are samples.  Order
 * is deterministic: classes and names in natural order (2 before 10), so
 * that "the first sample of a class" means the same thing on every
 * machine.  Hidden entries are skipped, symbolic links to directories are
 * not followed (no cycles), and depth is bounded.
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/eval.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DEPTH 16

typedef struct found_file {
    char *rel;   /* relative to the root */
    char *label; /* class label */
} found_file;

typedef struct scan_state {
    const char *root;
    const char *const *extensions;
    found_file *files;
    size_t n, cap;
    bool fvc;
} scan_state;

static bool has_extension(const char *name, const char *const *extensions)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL || dot == name)
        return false;
    for (size_t i = 0; extensions[i] != NULL; i++)
        if (strcasecmp(dot + 1, extensions[i]) == 0)
            return true;
    return false;
}

/* FFF_I.ext: returns the length of FFF, or 0 when the name is not FVC style. */
static size_t fvc_class_length(const char *name)
{
    const char *us = strchr(name, '_');
    const char *dot = strrchr(name, '.');
    if (us == NULL || dot == NULL || us == name || dot < us + 2)
        return 0;
    for (const char *p = name; p < us; p++)
        if (!isalnum((unsigned char)*p))
            return 0;
    for (const char *p = us + 1; p < dot; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return (size_t)(us - name);
}

/* Natural order: runs of digits compare by value, the rest bytewise. */
static int natural_compare(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c != 0)
                return c;
            a += la;
            b += lb;
        } else {
            if (*a != *b)
                return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return (*a != '\0') - (*b != '\0');
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (s == NULL)
        return NULL;
    memcpy(s, a, la);
    size_t p = la;
    if (la > 0)
        s[p++] = '/';
    memcpy(s + p, b, lb + 1);
    return s;
}

static huella_status add_file(scan_state *s, const char *dir_rel, const char *name,
                              huella_error *err)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        found_file *p = realloc(s->files, cap * sizeof(*p));
        if (p == NULL)
            return huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing %s", s->root);
        s->files = p;
        s->cap = cap;
    }
    found_file *f = &s->files[s->n];
    f->rel = join(dir_rel, name);
    size_t fvc_len = dir_rel[0] == '\0' ? fvc_class_length(name) : 0;
    if (fvc_len > 0) {
        f->label = strndup(name, fvc_len);
        s->fvc = true;
    } else {
        f->label = strdup(dir_rel[0] == '\0' ? "." : dir_rel);
    }
    if (f->rel == NULL || f->label == NULL) {
        free(f->rel);
        free(f->label);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing %s", s->root);
    }
    s->n++;
    return HUELLA_OK;
}

static huella_status scan_dir(scan_state *s, const char *dir_rel, int depth, huella_error *err)
{
    char *path = dir_rel[0] == '\0' ? strdup(s->root) : join(s->root, dir_rel);
    if (path == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing %s", s->root);
    DIR *d = opendir(path);
    if (d == NULL) {
        huella_status st = huella_error_set(err, errno == ENOENT ? HUELLA_E_NOTFOUND : HUELLA_E_IO,
                                            "%s: cannot read directory: %s", path, strerror(errno));
        free(path);
        return st;
    }
    huella_status st = HUELLA_OK;
    struct dirent *e;
    while (st == HUELLA_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *full = join(path, e->d_name);
        if (full == NULL) {
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing %s", s->root);
            break;
        }
        struct stat lst, st_target;
        if (lstat(full, &lst) != 0 || stat(full, &st_target) != 0) {
            free(full); /* a dangling link or a file that vanished: not a sample */
            continue;
        }
        free(full);
        if (S_ISDIR(st_target.st_mode)) {
            if (S_ISLNK(lst.st_mode))
                continue;
            if (depth >= MAX_DEPTH) {
                st = huella_error_set(err, HUELLA_E_INPUT,
                                      "%s: directories nested deeper than %d levels", path,
                                      MAX_DEPTH);
                break;
            }
            char *sub = join(dir_rel, e->d_name);
            if (sub == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing %s", s->root);
                break;
            }
            st = scan_dir(s, sub, depth + 1, err);
            free(sub);
        } else if (S_ISREG(st_target.st_mode) && has_extension(e->d_name, s->extensions)) {
            st = add_file(s, dir_rel, e->d_name, err);
        }
    }
    closedir(d);
    free(path);
    return st;
}

static int compare_found(const void *a, const void *b)
{
    const found_file *x = a, *y = b;
    int c = natural_compare(x->label, y->label);
    return c != 0 ? c : natural_compare(x->rel, y->rel);
}

void huella_dataset_free(huella_dataset *ds)
{
    if (ds == NULL)
        return;
    for (size_t i = 0; i < ds->n_samples; i++) {
        free(ds->samples[i].path);
        free(ds->samples[i].name);
    }
    for (size_t i = 0; i < ds->n_classes; i++)
        free(ds->classes[i]);
    free(ds->samples);
    free(ds->classes);
    free(ds->root);
    free(ds);
}

huella_status huella_dataset_scan(const char *dir, const char *const *extensions,
                                  huella_dataset **out, huella_error *err)
{
    *out = NULL;
    scan_state s = {.root = dir, .extensions = extensions};
    huella_status st = scan_dir(&s, "", 0, err);
    huella_dataset *ds = NULL;
    if (st == HUELLA_OK && s.n == 0)
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: no sample files found", dir);
    if (st == HUELLA_OK && s.n > UINT32_MAX)
        st = huella_error_set(err, HUELLA_E_INPUT, "%s: more than %u samples", dir, UINT32_MAX);
    if (st == HUELLA_OK) {
        qsort(s.files, s.n, sizeof(found_file), compare_found);
        ds = calloc(1, sizeof(*ds));
        if (ds != NULL) {
            ds->samples = calloc(s.n, sizeof(huella_sample));
            ds->classes = calloc(s.n, sizeof(char *));
            ds->root = strdup(dir);
        }
        if (ds == NULL || ds->samples == NULL || ds->classes == NULL || ds->root == NULL)
            st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing %s", dir);
    }
    if (st == HUELLA_OK) {
        ds->fvc_layout = s.fvc;
        for (size_t i = 0; i < s.n; i++) {
            found_file *f = &s.files[i];
            if (ds->n_classes == 0 || strcmp(ds->classes[ds->n_classes - 1], f->label) != 0) {
                ds->classes[ds->n_classes++] = f->label;
                f->label = NULL; /* ownership moves to the dataset */
            }
            huella_sample *smp = &ds->samples[ds->n_samples++];
            smp->class_index = ds->n_classes - 1;
            smp->name = f->rel;
            f->rel = NULL;
            smp->path = join(dir, smp->name);
            if (smp->path == NULL) {
                st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory listing %s", dir);
                break;
            }
        }
    }
    for (size_t i = 0; i < s.n; i++) {
        free(s.files[i].rel);
        free(s.files[i].label);
    }
    free(s.files);
    if (st != HUELLA_OK) {
        huella_dataset_free(ds);
        return st;
    }
    *out = ds;
    return HUELLA_OK;
}
