/*
 * test_audit.c - the audit chain: appends from many threads are all
 * durable and chained, and every kind of tampering (edited, deleted,
 * inserted, reordered, truncated records, a foreign key) is detected by
 * the verifier, which names the first broken record.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "huella/audit.h"
#include "support.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int tamper_cases; /* counted in the output */

static void make_dir(const char *d)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", d, d);
    assert_int_equal(system(cmd), 0);
}

static const char *base_dir(void)
{
    static char dir[512];
    snprintf(dir, sizeof(dir), "%s", test_tmpfile("base"));
    return dir;
}

static void append_one(huella_audit *a, int i)
{
    int64_t persons[2] = {100 + i % 3, 200 + i};
    char detail[32];
    snprintf(detail, sizeof(detail), "request %d", i);
    huella_audit_event ev = {.user = i % 2 ? "ana" : "bo",
                             .role = "examiner",
                             .agency = "border",
                             .purpose = i % 4 ? "identification" : "border-control",
                             .legal_basis = "test-basis",
                             .operation = "person.read",
                             .persons = persons,
                             .n_persons = 2,
                             .outcome = "allowed",
                             .detail = detail};
    huella_error err;
    int64_t seq = 0;
    assert_int_equal(huella_audit_append(a, &ev, &seq, &err), HUELLA_OK);
    assert_true(seq > 0);
}

/* A log of 10 records, each in its own commit. */
static int setup_base(void **state)
{
    (void)state;
    const char *dir = base_dir();
    make_dir(dir);
    char key[600];
    snprintf(key, sizeof(key), "%s.key", dir);
    unlink(key);
    char pub[700];
    snprintf(pub, sizeof(pub), "%s.key.pub", dir);
    unlink(pub);
    huella_error err;
    if (huella_audit_init(dir, key, &err) != HUELLA_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    huella_audit *a;
    if (huella_audit_open(dir, NULL, &a, &err) != HUELLA_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    for (int i = 1; i <= 10; i++)
        append_one(a, i);
    huella_audit_close(a);
    return 0;
}

/* A copy of the base log in a fresh directory, with SQL applied. */
static const char *tampered(const char *name, const char *sql)
{
    static char dir[512];
    snprintf(dir, sizeof(dir), "%s", test_tmpfile(name));
    make_dir(dir);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "cp '%s/audit.db' '%s/audit.db'", base_dir(), dir);
    assert_int_equal(system(cmd), 0);
    if (sql != NULL) {
        char path[600];
        snprintf(path, sizeof(path), "%s/audit.db", dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
            fprintf(stderr, "%s\n", msg);
        assert_int_equal(rc, SQLITE_OK);
        sqlite3_close(db);
    }
    return dir;
}

static int64_t verify(const char *dir, const char *key)
{
    huella_error err;
    char *report = NULL;
    int64_t first = -1;
    assert_int_equal(huella_audit_verify(dir, key, &report, &first, &err), HUELLA_OK);
    json_t *o = json_loads(report, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_is_true(json_object_get(o, "ok")), first == 0);
    if (first != 0)
        printf("# verifier: %s\n", json_string_value(json_object_get(o, "problem")));
    json_decref(o);
    free(report);
    return first;
}

static void test_untouched_verifies(void **state)
{
    (void)state;
    assert_int_equal(verify(tampered("t-clean", NULL), NULL), 0);
}

static void test_edited(void **state)
{
    (void)state;
    const char *d = tampered("t-edit", "UPDATE record SET purpose = 'x' WHERE seq = 5");
    assert_int_equal(verify(d, NULL), 5);
    d = tampered("t-edit-persons", "UPDATE record SET persons = ',999,' WHERE seq = 3");
    assert_int_equal(verify(d, NULL), 3);
    tamper_cases += 2;
}

static void test_deleted(void **state)
{
    (void)state;
    const char *d = tampered("t-del", "DELETE FROM record WHERE seq = 6");
    assert_int_equal(verify(d, NULL), 6);
    tamper_cases++;
}

static void test_inserted(void **state)
{
    (void)state;
    /* Shift 5.. up by one and put a copy of 4 (with its hashes) at 5. */
    const char *d = tampered("t-ins", "UPDATE record SET seq = seq + 1000 WHERE seq >= 5;"
                                      "UPDATE record SET seq = seq - 999 WHERE seq >= 1000;"
                                      "INSERT INTO record SELECT 5, at, 'mallory', role, agency,"
                                      " purpose, legal_basis, operation, outcome, detail,"
                                      " persons, prev, hash FROM record WHERE seq = 4;");
    assert_int_equal(verify(d, NULL), 5);
    tamper_cases++;
}

static void test_reordered(void **state)
{
    (void)state;
    const char *d = tampered("t-reorder", "UPDATE record SET seq = 100 WHERE seq = 3;"
                                          "UPDATE record SET seq = 3 WHERE seq = 4;"
                                          "UPDATE record SET seq = 4 WHERE seq = 100;");
    assert_int_equal(verify(d, NULL), 3);
    tamper_cases++;
}

static void test_truncated(void **state)
{
    (void)state;
    /* The tail and its checkpoints go: only the signed head file shows it. */
    const char *d = tampered("t-trunc", "DELETE FROM record WHERE seq > 7;"
                                        "DELETE FROM checkpoint WHERE seq > 7;");
    assert_int_equal(verify(d, NULL), 8);
    tamper_cases++;
}

static void test_forged_tail(void **state)
{
    (void)state;
    /* A record appended with a copied hash and no signature. */
    const char *d = tampered("t-forge", "INSERT INTO record SELECT 11, at, user, role, agency,"
                                        " purpose, legal_basis, operation, outcome, detail,"
                                        " persons, hash, hash FROM record WHERE seq = 10;");
    assert_int_equal(verify(d, NULL), 11);
    tamper_cases++;
}

static void test_foreign_key(void **state)
{
    (void)state;
    const char *other = test_tmpfile("other");
    make_dir(other);
    char key[600];
    snprintf(key, sizeof(key), "%s.key", other);
    unlink(key);
    char pub[700];
    snprintf(pub, sizeof(pub), "%s.pub", key);
    unlink(pub);
    huella_error err;
    assert_int_equal(huella_audit_init(other, key, &err), HUELLA_OK);
    assert_int_equal(verify(tampered("t-key", NULL), key), 1);
    /* And the signing key of another log is refused for appending. */
    huella_audit *a = NULL;
    assert_int_equal(huella_audit_open(base_dir(), key, &a, &err), HUELLA_E_DENIED);
    assert_null(a);
    tamper_cases++;
}

static void test_key_file_private(void **state)
{
    (void)state;
    char key[600];
    snprintf(key, sizeof(key), "%s.key", base_dir());
    assert_int_equal(chmod(key, 0644), 0);
    huella_audit *a = NULL;
    huella_error err;
    assert_int_equal(huella_audit_open(base_dir(), NULL, &a, &err), HUELLA_E_DENIED);
    assert_non_null(strstr(err.message, "chmod"));
    assert_int_equal(chmod(key, 0600), 0);
}

typedef struct worker {
    huella_audit *a;
    int first, n;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->n; i++)
        append_one(w->a, w->first + i);
    return NULL;
}

static void test_concurrent_group_commit(void **state)
{
    (void)state;
    const char *dir = test_tmpfile("concurrent");
    make_dir(dir);
    char key[600];
    snprintf(key, sizeof(key), "%s.key", dir);
    unlink(key);
    char pub[700];
    snprintf(pub, sizeof(pub), "%s.pub", key);
    unlink(pub);
    huella_error err;
    assert_int_equal(huella_audit_init(dir, key, &err), HUELLA_OK);
    huella_audit *a;
    assert_int_equal(huella_audit_open(dir, NULL, &a, &err), HUELLA_OK);
    enum { THREADS = 16, EACH = 25 };
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){a, i * EACH, EACH};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    /* Verifying while appends go on never reports a false break. */
    int live_checks = 0;
    for (int k = 0; k < 5; k++, live_checks++) {
        char *live;
        int64_t broken_at = -1;
        assert_int_equal(huella_audit_verify(dir, NULL, &live, &broken_at, &err), HUELLA_OK);
        free(live);
        assert_int_equal(broken_at, 0);
    }
    printf("# %d verifications during appends: all ok\n", live_checks);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(huella_audit_length(a), THREADS * EACH);
    huella_audit_close(a);

    char *report;
    int64_t first;
    assert_int_equal(huella_audit_verify(dir, NULL, &report, &first, &err), HUELLA_OK);
    json_t *o = json_loads(report, 0, NULL);
    assert_int_equal(first, 0);
    assert_int_equal(json_integer_value(json_object_get(o, "records")), THREADS * EACH);
    json_int_t checkpoints = json_integer_value(json_object_get(o, "checkpoints"));
    printf("# %d appends from %d threads in %lld commits\n", THREADS * EACH, THREADS,
           (long long)checkpoints);
    assert_true(checkpoints >= 1 && checkpoints <= THREADS * EACH);
    json_decref(o);
    free(report);

    /* Filters: user, purpose, person. */
    huella_audit_filter f = {.user = "ana"};
    char *json;
    assert_int_equal(huella_audit_query(dir, &f, &json, &err), HUELLA_OK);
    json_t *arr = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(arr), THREADS * EACH / 2);
    json_decref(arr);
    free(json);
    f = (huella_audit_filter){.person = 200 + 17};
    assert_int_equal(huella_audit_query(dir, &f, &json, &err), HUELLA_OK);
    arr = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "detail")),
                        "request 17");
    json_decref(arr);
    free(json);
    f = (huella_audit_filter){.purpose = "border-control", .person = 101};
    assert_int_equal(huella_audit_query(dir, &f, &json, &err), HUELLA_OK);
    arr = json_loads(json, 0, NULL);
    size_t i;
    json_t *r;
    assert_true(json_array_size(arr) > 0);
    json_array_foreach(arr, i, r)
        assert_string_equal(json_string_value(json_object_get(r, "purpose")), "border-control");
    json_decref(arr);
    free(json);
}

static void test_refuses_long_fields(void **state)
{
    (void)state;
    huella_audit *a;
    huella_error err;
    assert_int_equal(huella_audit_open(base_dir(), NULL, &a, &err), HUELLA_OK);
    char big[HUELLA_AUDIT_MAX_FIELD + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    huella_audit_event ev = {.user = big};
    assert_int_equal(huella_audit_append(a, &ev, NULL, &err), HUELLA_E_INPUT);
    huella_audit_close(a);
}

static void test_cli(void **state)
{
    (void)state;
    const char *d = tampered("t-cli", "DELETE FROM record WHERE seq = 2");
    char *out = NULL, *errs = NULL;
    const char *argv[] = {"audit", "verify", "--db", d, NULL};
    assert_int_equal(test_run_huella(argv, NULL, &out, &errs), 2);
    assert_non_null(strstr(out, "record 2"));
    free(out);
    free(errs);
    const char *argv2[] = {"audit", "show", "--db", base_dir(), "--user", "ana", "--json", NULL};
    assert_int_equal(test_run_huella(argv2, NULL, &out, &errs), 0);
    json_t *arr = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(arr), 5);
    json_decref(arr);
    free(out);
    free(errs);
}

static int report_counts(void **state)
{
    (void)state;
    printf("# tamper cases detected: %d\n", tamper_cases);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untouched_verifies),
        cmocka_unit_test(test_edited),
        cmocka_unit_test(test_deleted),
        cmocka_unit_test(test_inserted),
        cmocka_unit_test(test_reordered),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_forged_tail),
        cmocka_unit_test(test_foreign_key),
        cmocka_unit_test(test_key_file_private),
        cmocka_unit_test(test_concurrent_group_commit),
        cmocka_unit_test(test_refuses_long_fields),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup_base, report_counts);
}
