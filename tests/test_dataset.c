/*
 * test_dataset.c - how `huella eval --dataset DIR` finds samples and classes.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "huella/eval.h"
#include "support.h"

static const char *const image_ext[] = {"tif", "bmp", "jpg", NULL};

static void touch(const char *dir, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    /* create parent directories */
    for (char *p = path + strlen(dir) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    }
    assert_true(test_write_file(path, "x", 1));
}

static const char *fresh_dir(const char *name)
{
    const char *d = test_tmpfile(name);
    mkdir(d, 0700);
    return d;
}

static void fvc_names_give_fvc_classes_in_natural_order(void **state)
{
    (void)state;
    const char *d = fresh_dir("fvc");
    const char *files[] = {"101_10.tif", "101_2.tif", "101_1.tif",    "102_1.tif",
                           "99_1.tif",   "notes.txt", ".hidden_1.tif"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        touch(d, files[i]);
    huella_dataset *ds;
    huella_error err;
    assert_int_equal(huella_dataset_scan(d, image_ext, &ds, &err), HUELLA_OK);
    assert_true(ds->fvc_layout);
    assert_int_equal(ds->n_samples, 5);
    assert_int_equal(ds->n_classes, 3);
    assert_string_equal(ds->classes[0], "99");
    assert_string_equal(ds->classes[1], "101");
    assert_string_equal(ds->classes[2], "102");
    assert_string_equal(ds->samples[1].name, "101_1.tif");
    assert_string_equal(ds->samples[2].name, "101_2.tif");
    assert_string_equal(ds->samples[3].name, "101_10.tif");
    assert_int_equal(ds->samples[3].class_index, 1);
    huella_dataset_free(ds);
}

static void directories_give_classes_relative_to_the_root(void **state)
{
    (void)state;
    const char *d = fresh_dir("nested");
    touch(d, "10/left/a1.bmp");
    touch(d, "2/left/b1.bmp");
    touch(d, "2/left/b2.BMP");
    touch(d, "2/right/c1.bmp");
    touch(d, "2/right/readme.md");
    touch(d, "top.jpg");
    huella_dataset *ds;
    huella_error err;
    assert_int_equal(huella_dataset_scan(d, image_ext, &ds, &err), HUELLA_OK);
    assert_false(ds->fvc_layout);
    assert_int_equal(ds->n_classes, 4);
    assert_string_equal(ds->classes[0], ".");
    assert_string_equal(ds->classes[1], "2/left");
    assert_string_equal(ds->classes[2], "2/right");
    assert_string_equal(ds->classes[3], "10/left");
    assert_int_equal(ds->n_samples, 5);
    assert_string_equal(ds->samples[1].name, "2/left/b1.bmp");
    assert_string_equal(ds->samples[2].name, "2/left/b2.BMP");
    char expect[4096];
    snprintf(expect, sizeof(expect), "%s/2/left/b1.bmp", d);
    assert_string_equal(ds->samples[1].path, expect);
    huella_dataset_free(ds);
}

static void missing_or_empty_directories_are_errors(void **state)
{
    (void)state;
    huella_dataset *ds;
    huella_error err;
    assert_int_equal(huella_dataset_scan(test_tmpfile("no-such-dir"), image_ext, &ds, &err),
                     HUELLA_E_NOTFOUND);
    assert_non_null(strstr(err.message, "no-such-dir"));
    const char *d = fresh_dir("empty");
    touch(d, "only.txt");
    assert_int_equal(huella_dataset_scan(d, image_ext, &ds, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "no sample files"));
    assert_null(ds);
}

static void symlinked_directories_are_not_followed(void **state)
{
    (void)state;
    const char *d = fresh_dir("links");
    touch(d, "a/x1.jpg");
    char link[4096];
    snprintf(link, sizeof(link), "%s/a/loop", d);
    assert_int_equal(symlink("..", link), 0);
    huella_dataset *ds;
    huella_error err;
    assert_int_equal(huella_dataset_scan(d, image_ext, &ds, &err), HUELLA_OK);
    assert_int_equal(ds->n_samples, 1);
    huella_dataset_free(ds);
}

static void shared_fvc_and_iris_sets_have_their_documented_shape(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    huella_dataset *ds;
    huella_error err;
    assert_int_equal(huella_dataset_scan(test_data("finger/fvc2002/DB1_B"), image_ext, &ds, &err),
                     HUELLA_OK);
    assert_true(ds->fvc_layout);
    assert_int_equal(ds->n_samples, 80);
    assert_int_equal(ds->n_classes, 10);
    assert_string_equal(ds->classes[0], "101");
    assert_string_equal(ds->samples[0].name, "101_1.tif");
    huella_dataset_free(ds);

    assert_int_equal(huella_dataset_scan(test_data("iris/mmu1"), image_ext, &ds, &err), HUELLA_OK);
    assert_false(ds->fvc_layout);
    assert_int_equal(ds->n_classes, 90);
    assert_string_equal(ds->classes[0], "1/left");
    assert_string_equal(ds->classes[1], "1/right");
    assert_string_equal(ds->classes[2], "2/left");
    huella_dataset_free(ds);

    assert_int_equal(huella_dataset_scan(test_data("iris/casia-v1"), image_ext, &ds, &err),
                     HUELLA_OK);
    assert_int_equal(ds->n_classes, 108);
    assert_int_equal(ds->n_samples, 756);
    huella_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fvc_names_give_fvc_classes_in_natural_order),
        cmocka_unit_test(directories_give_classes_relative_to_the_root),
        cmocka_unit_test(missing_or_empty_directories_are_errors),
        cmocka_unit_test(symlinked_directories_are_not_followed),
        cmocka_unit_test(shared_fvc_and_iris_sets_have_their_documented_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
