/*
 * test_protocol.c - which pairs the fvc and all protocols compare.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/eval.h"
#include "support.h"

/* A dataset of n_classes classes with the given sizes, built in memory. */
static huella_dataset *make_dataset(const size_t *sizes, size_t n_classes)
{
    huella_dataset *ds = calloc(1, sizeof(*ds));
    size_t n = 0;
    for (size_t c = 0; c < n_classes; c++)
        n += sizes[c];
    ds->samples = calloc(n, sizeof(huella_sample));
    ds->classes = calloc(n_classes, sizeof(char *));
    ds->root = strdup("memory");
    for (size_t c = 0, k = 0; c < n_classes; c++) {
        ds->classes[c] = strdup("class");
        for (size_t s = 0; s < sizes[c]; s++, k++) {
            ds->samples[k].class_index = c;
            ds->samples[k].name = strdup("sample");
            ds->samples[k].path = strdup("sample");
        }
    }
    ds->n_samples = n;
    ds->n_classes = n_classes;
    return ds;
}

static void fvc2002_shape_gives_280_genuine_and_45_or_2880_impostor(void **state)
{
    (void)state;
    size_t sizes[10];
    for (int i = 0; i < 10; i++)
        sizes[i] = 8;
    huella_dataset *ds = make_dataset(sizes, 10);
    huella_pair *g, *im;
    size_t ng, ni;
    huella_error err;
    assert_int_equal(huella_protocol_pairs(ds, HUELLA_PROTOCOL_FVC, &g, &ng, &im, &ni, &err),
                     HUELLA_OK);
    assert_int_equal(ng, 280);
    assert_int_equal(ni, 45);
    for (size_t k = 0; k < ni; k++) {
        /* first impression against first impression */
        assert_int_equal(im[k].a % 8, 0);
        assert_int_equal(im[k].b % 8, 0);
        assert_true(im[k].a < im[k].b);
    }
    for (size_t k = 0; k < ng; k++) {
        assert_true(g[k].a < g[k].b);
        assert_int_equal(ds->samples[g[k].a].class_index, ds->samples[g[k].b].class_index);
    }
    free(g);
    free(im);
    assert_int_equal(huella_protocol_pairs(ds, HUELLA_PROTOCOL_ALL, &g, &ng, &im, &ni, &err),
                     HUELLA_OK);
    assert_int_equal(ng, 280);
    assert_int_equal(ni, 2880);
    for (size_t k = 0; k < ni; k++) {
        assert_true(im[k].a < im[k].b);
        assert_int_not_equal(ds->samples[im[k].a].class_index, ds->samples[im[k].b].class_index);
    }
    free(g);
    free(im);
    huella_dataset_free(ds);
}

static void uneven_classes_and_singletons(void **state)
{
    (void)state;
    size_t sizes[] = {1, 3, 2};
    huella_dataset *ds = make_dataset(sizes, 3);
    huella_pair *g, *im;
    size_t ng, ni;
    huella_error err;
    assert_int_equal(huella_protocol_pairs(ds, HUELLA_PROTOCOL_ALL, &g, &ng, &im, &ni, &err),
                     HUELLA_OK);
    assert_int_equal(ng, 0 + 3 + 1);
    assert_int_equal(ni, 1 * 3 + 1 * 2 + 3 * 2);
    free(g);
    free(im);
    assert_int_equal(huella_protocol_pairs(ds, HUELLA_PROTOCOL_FVC, &g, &ng, &im, &ni, &err),
                     HUELLA_OK);
    assert_int_equal(ni, 3);
    /* firsts are samples 0, 1 and 4 */
    assert_int_equal(im[0].a, 0);
    assert_int_equal(im[0].b, 1);
    assert_int_equal(im[1].b, 4);
    assert_int_equal(im[2].a, 1);
    free(g);
    free(im);
    huella_dataset_free(ds);
}

static void protocol_names_round_trip(void **state)
{
    (void)state;
    huella_protocol p;
    assert_true(huella_protocol_parse("fvc", &p));
    assert_int_equal(p, HUELLA_PROTOCOL_FVC);
    assert_true(huella_protocol_parse("all", &p));
    assert_string_equal(huella_protocol_name(p), "all");
    assert_false(huella_protocol_parse("ALL", &p));
    assert_false(huella_protocol_parse("", &p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fvc2002_shape_gives_280_genuine_and_45_or_2880_impostor),
        cmocka_unit_test(uneven_classes_and_singletons),
        cmocka_unit_test(protocol_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
