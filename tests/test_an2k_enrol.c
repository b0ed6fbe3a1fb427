/*
 * test_an2k_enrol.c - an ANSI/NIST-ITL transaction as an encounter: the
 * image records that become enrolment inputs, and the Type-2 map that
 * gives the biographic data.
 */
#include "support.h"

#include "huella/an2k.h"
#include "huella/an2k_enrol.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static huella_an2k *read_txn(const char *relative, uint8_t **raw)
{
    size_t len = 0;
    *raw = test_read_file(test_data(relative), &len);
    assert_non_null(*raw);
    huella_an2k *txn = NULL;
    huella_error err;
    assert_int_equal(huella_an2k_read(*raw, len, &txn, &err), HUELLA_OK);
    return txn;
}

static void ten_prints_become_ten_fingers(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    size_t len = 0;
    uint8_t *raw = test_read_file(test_data("interchange/an2k/type-14-tpcard-nqm.an2"), &len);
    assert_non_null(raw);
    huella_an2k_encounter *e = NULL;
    huella_error err;
    assert_int_equal(huella_an2k_encounter_read(raw, len, &e, &err), HUELLA_OK);
    assert_int_equal(e->n, 10);
    for (size_t i = 0; i < e->n; i++) {
        assert_int_equal(e->inputs[i].modality, HUELLA_STORE_FINGER);
        assert_int_equal(e->inputs[i].position, i + 1);
        assert_true(e->inputs[i].len > 0);
    }
    /* slaps and plain thumbs are skipped, each with a note */
    json_t *notes = json_loads(e->notes_json, 0, NULL);
    assert_int_equal(json_array_size(notes), 4);
    json_decref(notes);
    huella_an2k_encounter_free(e);
    free(raw);
}

static void garbage_is_not_a_transaction(void **state)
{
    (void)state;
    static const uint8_t junk[] = "1.001:17\x1d"
                                  "1.002:0500";
    huella_an2k_encounter *e = NULL;
    huella_error err;
    assert_int_equal(huella_an2k_encounter_read(junk, sizeof(junk) - 1, &e, &err), HUELLA_E_INPUT);
    assert_null(e);
    assert_true(strlen(err.message) > 0);
}

static json_t *mapped(const huella_an2k *txn, const char *map)
{
    char *bio = NULL;
    huella_error err;
    assert_int_equal(huella_an2k_bio_map(txn, map, strlen(map), &bio, &err), HUELLA_OK);
    json_t *doc = json_loads(bio, 0, NULL);
    assert_non_null(doc);
    free(bio);
    return doc;
}

static void type2_fields_map_to_bio_keys(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    uint8_t *raw;
    huella_an2k *txn = read_txn("interchange/an2k/type-14-tpcard-nqm.an2", &raw);
    json_t *doc = mapped(txn, "{\"2.003\": \"names\", \"2.777\": \"sex\"}");
    json_t *names = json_object_get(doc, "names");
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(json_string_value(json_array_get(names, 0)),
                        "domain defined text place holder");
    /* a field the transaction does not have is left out, not invented */
    assert_null(json_object_get(doc, "sex"));
    json_decref(doc);
    /* an empty map gives an empty document; so does a transaction without Type-2 */
    doc = mapped(txn, "{}");
    assert_int_equal(json_object_size(doc), 0);
    json_decref(doc);
    doc = mapped(NULL, "{\"2.018\": \"names\"}");
    assert_int_equal(json_object_size(doc), 0);
    json_decref(doc);
    huella_an2k_free(txn);
    free(raw);
}

static void bad_maps_are_refused_with_the_entry_named(void **state)
{
    (void)state;
    static const struct {
        const char *map, *says;
    } bad[] = {
        {"", "not a JSON object"},
        {"[\"2.018\"]", "not a JSON object"},
        {"{\"2.018\": \"names\", \"2.018\": \"sex\"}", "not a JSON object"},
        {"{\"2.018\": \"height\"}", "2.018: the bio key is"},
        {"{\"2.018\": 7}", "2.018: the bio key is"},
        {"{\"1.018\": \"names\"}", "'1.018' is not a Type-2 field tag"},
        {"{\"2.\": \"names\"}", "is not a Type-2 field tag"},
        {"{\"2.000\": \"names\"}", "is not a Type-2 field tag"},
        {"{\"2.1000\": \"names\"}", "is not a Type-2 field tag"},
        {"{\"2.-1\": \"names\"}", "is not a Type-2 field tag"},
        {"{\"2. 18\": \"names\"}", "is not a Type-2 field tag"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *bio = (char *)"untouched";
        huella_error err;
        assert_int_equal(huella_an2k_bio_map(NULL, bad[i].map, strlen(bad[i].map), &bio, &err),
                         HUELLA_E_INPUT);
        assert_null(bio);
        if (strstr(err.message, bad[i].says) == NULL)
            fail_msg("map %s: message '%s' lacks '%s'", bad[i].map, err.message, bad[i].says);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ten_prints_become_ten_fingers),
        cmocka_unit_test(garbage_is_not_a_transaction),
        cmocka_unit_test(type2_fields_map_to_bio_keys),
        cmocka_unit_test(bad_maps_are_refused_with_the_entry_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
