/*
 * test_store_crash.c - durability of the store under SIGKILL.
 *
 * A child process enrols persons one transaction at a time through the
 * library API (two finger templates built from random minutiae, an iris
 * template perturbed from a real one, an image, biographic data) and
 * writes each person id to a pipe only after huella_store_commit has
 * returned.  The parent kills it with SIGKILL at a different moment each
 * round (after a number of acknowledgements, or after a random delay, so
 * that some kills land inside a commit), reopens the store and checks:
 * every acknowledged enrolment is there, complete; no enrolment is there
 * in part; huella_store_check finds no problem.  The store accumulates
 * over the rounds, so later rounds also recover from earlier kills.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "huella/finger.h"
#include "huella/image.h"
#include "huella/iris.h"
#include "huella/store.h"
#include "support.h"

#define ROUNDS      6
#define MAX_ACKED   4096
#define BATCH_LIMIT 100000 /* per child: the parent kills it long before */

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint8_t *random_finger(uint64_t *seed, size_t *len)
{
    huella_finger_template *t = NULL;
    if (huella_finger_template_new(&t, NULL) != HUELLA_OK)
        return NULL;
    t->width = 300;
    t->height = 400;
    unsigned n = 20 + (unsigned)(rng(seed) % 40);
    for (unsigned i = 0; i < n; i++) {
        huella_minutia m = {(float)(rng(seed) % 300), (float)(rng(seed) % 400),
                            (float)(rng(seed) % 6283) / 1000.0f, (uint8_t)(1 + rng(seed) % 2),
                            (uint8_t)(20 + rng(seed) % 80)};
        huella_finger_template_add(t, &m, NULL);
    }
    uint8_t *out = NULL;
    huella_status st = huella_finger_template_encode(t, &out, len, NULL);
    huella_finger_template_free(t);
    return st == HUELLA_OK ? out : NULL;
}

/* The child: enrol until killed, acknowledging each commit on fd. */
static void child_enrol(const char *dir, const uint8_t *iris_base, size_t iris_len, int fd,
                        uint64_t seed)
{
    huella_store *s = NULL;
    huella_error err;
    if (huella_store_open(dir, &s, &err) != HUELLA_OK)
        _exit(10);
    huella_iris_template *base = NULL;
    if (huella_iris_template_decode(iris_base, iris_len, &base, NULL) != HUELLA_OK)
        _exit(11);
    static uint8_t image[20000];
    for (int i = 0; i < BATCH_LIMIT; i++) {
        size_t f1n = 0, f2n = 0, irn = 0;
        uint8_t *f1 = random_finger(&seed, &f1n), *f2 = random_finger(&seed, &f2n), *ir = NULL;
        for (unsigned k = 0; k < 40; k++) {
            unsigned bit = (unsigned)(rng(&seed) % HUELLA_IRIS_CODE_BITS);
            base->code.code[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        if (f1 == NULL || f2 == NULL ||
            huella_iris_template_encode(base, &ir, &irn, NULL) != HUELLA_OK)
            _exit(12);
        size_t img_len = 2000 + (size_t)(rng(&seed) % 18000);
        for (size_t k = 0; k < img_len; k++)
            image[k] = (uint8_t)rng(&seed);
        huella_store_encounter enc = {NULL, "crash-site", "dev", "op", "test", "test", NULL};
        huella_store_template t1 = {HUELLA_STORE_TEMPLATE_FINGER, 1, f1, f1n};
        huella_store_template t2 = {HUELLA_STORE_TEMPLATE_FINGER, 1, f2, f2n};
        huella_store_template ti = {HUELLA_STORE_TEMPLATE_IRIS, 1, ir, irn};
        huella_store_sample s1 = {HUELLA_STORE_FINGER, 2, 50, "png", image, img_len, &t1, 1};
        huella_store_sample s2 = {HUELLA_STORE_FINGER, 7, 60, NULL, NULL, 0, &t2, 1};
        huella_store_sample s3 = {HUELLA_STORE_IRIS, 1, 70, "png", image, img_len / 2, &ti, 1};
        int64_t person = 0, e = 0, sid = 0;
        huella_status st = huella_store_begin(s, &err);
        if (st == HUELLA_OK)
            st = huella_store_person_create(s, &person, &err);
        if (st == HUELLA_OK)
            st = huella_store_encounter_add(s, person, &enc,
                                            "{\"names\":[\"Crash Test\"],\"date_of_birth\":"
                                            "\"1999\"}",
                                            &e, &err);
        if (st == HUELLA_OK)
            st = huella_store_sample_add(s, e, &s1, &sid, &err);
        if (st == HUELLA_OK)
            st = huella_store_sample_add(s, e, &s2, &sid, &err);
        if (st == HUELLA_OK)
            st = huella_store_sample_add(s, e, &s3, &sid, &err);
        if (st == HUELLA_OK)
            st = huella_store_commit(s, &err);
        free(f1);
        free(f2);
        free(ir);
        if (st != HUELLA_OK)
            _exit(13);
        char line[32];
        int n = snprintf(line, sizeof(line), "%lld\n", (long long)person);
        if (write(fd, line, (size_t)n) != n)
            _exit(14);
    }
    _exit(0);
}

typedef struct acked {
    int64_t ids[MAX_ACKED];
    size_t n;
} acked;

static void parse_acks(acked *a, char *buf, size_t *len)
{
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', *len - (size_t)(start - buf))) != NULL) {
        *nl = '\0';
        if (a->n < MAX_ACKED)
            a->ids[a->n++] = strtoll(start, NULL, 10);
        start = nl + 1;
    }
    size_t rest = *len - (size_t)(start - buf);
    memmove(buf, start, rest);
    *len = rest;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void verify(const char *dir, const acked *a)
{
    huella_store *s = NULL;
    huella_error err;
    if (huella_store_open(dir, &s, &err) != HUELLA_OK)
        fail_msg("reopen after SIGKILL: %s", err.message);
    for (size_t i = 0; i < a->n; i++) {
        int64_t *enc = NULL, *smp = NULL;
        size_t ne = 0, ns = 0;
        assert_int_equal(huella_store_person_encounters(s, a->ids[i], &enc, &ne, &err), HUELLA_OK);
        if (ne != 1)
            fail_msg("acknowledged person %lld has %zu encounters", (long long)a->ids[i], ne);
        assert_int_equal(huella_store_encounter_samples(s, enc[0], &smp, &ns, &err), HUELLA_OK);
        assert_int_equal(ns, 3);
        free(enc);
        free(smp);
    }
    /* Atomicity: every person present is a complete enrolment. */
    int64_t *persons = NULL;
    size_t np = 0;
    assert_int_equal(huella_store_persons(s, &persons, &np, &err), HUELLA_OK);
    assert_true(np >= a->n);
    assert_true(np <= a->n + ROUNDS); /* at most the one in flight per kill */
    for (size_t i = 0; i < np; i++) {
        int64_t *enc = NULL, *smp = NULL;
        size_t ne = 0, ns = 0;
        assert_int_equal(huella_store_person_encounters(s, persons[i], &enc, &ne, &err), HUELLA_OK);
        assert_int_equal(ne, 1);
        assert_int_equal(huella_store_encounter_samples(s, enc[0], &smp, &ns, &err), HUELLA_OK);
        assert_int_equal(ns, 3);
        free(enc);
        free(smp);
    }
    free(persons);
    char *report = NULL;
    size_t problems = 0;
    assert_int_equal(huella_store_check(s, &report, &problems, &err), HUELLA_OK);
    if (problems != 0)
        fail_msg("db check after SIGKILL: %s", report);
    free(report);
    huella_store_close(s);
}

static void test_sigkill_during_enrolment(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    const char *dir = test_tmpfile("crash");
    huella_error err;
    assert_int_equal(huella_store_init(dir, NULL, &err), HUELLA_OK);
    /* A real iris template to perturb. */
    huella_image *img = NULL;
    assert_int_equal(huella_image_read(test_data("iris/casia-v1/1/001_1_1.jpg"), NULL, &img, NULL),
                     HUELLA_OK);
    huella_iris_template *t = NULL;
    assert_int_equal(huella_iris_encode(img, NULL, &t, NULL), HUELLA_OK);
    uint8_t *iris = NULL;
    size_t iris_len = 0;
    assert_int_equal(huella_iris_template_encode(t, &iris, &iris_len, NULL), HUELLA_OK);
    huella_iris_template_free(t);
    huella_image_free(img);

    static acked a;
    a.n = 0;
    uint64_t seed = 0x5eed;
    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_enrol(dir, iris, iris_len, fds[1], seed + (uint64_t)round * 7919u);
        }
        close(fds[1]);
        /* Even rounds: kill after a number of acknowledgements; odd
         * rounds: after a random delay, wherever the child is. */
        size_t want = 3 + (size_t)(rng(&seed) % 25);
        long delay_ms = 20 + (long)(rng(&seed) % 400);
        char buf[4096];
        size_t len = 0, got_this_round = 0;
        if (round % 2 == 0) {
            while (got_this_round < want) {
                ssize_t n = read(fds[0], buf + len, sizeof(buf) - len - 1);
                if (n <= 0)
                    break;
                len += (size_t)n;
                size_t before = a.n;
                parse_acks(&a, buf, &len);
                got_this_round += a.n - before;
            }
        } else {
            sleep_ms(delay_ms);
        }
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        /* Acknowledgements written before the kill are still in the pipe. */
        ssize_t n;
        while ((n = read(fds[0], buf + len, sizeof(buf) - len - 1)) > 0) {
            len += (size_t)n;
            parse_acks(&a, buf, &len);
        }
        close(fds[0]);
        if (WIFEXITED(status))
            fail_msg("round %d: the child exited with %d before it was killed", round,
                     WEXITSTATUS(status));
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        verify(dir, &a);
    }
    print_message("%zu acknowledged enrolments survived %d SIGKILLs\n", a.n, ROUNDS);
    assert_true(a.n >= ROUNDS);

    /* The command agrees. */
    const char *argv[] = {"db", "check", "--db", dir, NULL};
    char *out = NULL, *errs = NULL;
    assert_int_equal(test_run_huella(argv, NULL, &out, &errs), 0);
    free(out);
    free(errs);
    free(iris);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_during_enrolment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
