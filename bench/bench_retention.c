/*
 * bench_retention.c - the cost of an audited retention purge.
 *
 * Two identical stores of N persons (default 200): half have an old
 * encounter (2010) and a recent one (2025), half only an old one; every
 * encounter holds a 20 KB face image.  Store A is purged by
 * huella_retention_run (10-year policy: N/2 encounters erased, N/2
 * persons erased, each audited first); store B gets the same erases
 * directly, without audit (the baseline).  One JSON line:
 * {"bench":"retention", "persons", "encounters_purged", "persons_erased",
 *  "seconds", "per_purge_ms", "baseline_seconds", "ratio_to_baseline"}.
 *
 * usage: bench_retention [N] [DIR]   (DIR: scratch, default /tmp)
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/audit.h"
#include "huella/retention.h"
#include "huella/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t image[20000];

static int build(const char *dir, int n, huella_store **out)
{
    huella_error err;
    huella_store_init_options o = {0};
    if (huella_store_init(dir, &o, &err) != HUELLA_OK ||
        huella_store_open(dir, out, &err) != HUELLA_OK) {
        fprintf(stderr, "%s: %s\n", dir, err.message);
        return -1;
    }
    huella_store *s = *out;
    huella_store_encounter old = {"2010-05-01T10:00:00Z", "site", "kit", "op",
                                  "registration",         "law",  NULL};
    huella_store_encounter recent = {"2025-05-01T10:00:00Z", "site", "kit", "op",
                                     "registration",         "law",  NULL};
    huella_store_sample smp = {HUELLA_STORE_FACE, 0, 60, "jpeg", image, sizeof image, NULL, 0};
    if (huella_store_begin(s, &err) != HUELLA_OK)
        return -1;
    for (int i = 0; i < n; i++) {
        int64_t p, e, sid;
        if (huella_store_person_create(s, &p, &err) != HUELLA_OK ||
            huella_store_encounter_add(s, p, &old, NULL, &e, &err) != HUELLA_OK ||
            huella_store_sample_add(s, e, &smp, &sid, &err) != HUELLA_OK)
            goto fail;
        if (i % 2 == 0 && (huella_store_encounter_add(s, p, &recent, NULL, &e, &err) != HUELLA_OK ||
                           huella_store_sample_add(s, e, &smp, &sid, &err) != HUELLA_OK))
            goto fail;
    }
    return huella_store_commit(s, &err) == HUELLA_OK ? 0 : -1;
fail:
    fprintf(stderr, "build: %s\n", err.message);
    huella_store_rollback(s);
    return -1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    const char *tmp = argc > 2 ? argv[2] : "/tmp";
    if (n < 2 || n > 100000) {
        fprintf(stderr, "usage: bench_retention [N 2..100000] [DIR]\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof image; i++)
        image[i] = (uint8_t)(i * 2654435761u >> 13);
    char a_dir[512], b_dir[512], key[600], cmd[4000];
    snprintf(a_dir, sizeof a_dir, "%s/bench-retention-a-%d", tmp, (int)getpid());
    snprintf(b_dir, sizeof b_dir, "%s/bench-retention-b-%d", tmp, (int)getpid());
    snprintf(key, sizeof key, "%s.key", a_dir);
    huella_store *a = NULL, *b = NULL;
    huella_audit *au = NULL;
    huella_error err;
    int rc = 1;
    if (build(a_dir, n, &a) != 0 || build(b_dir, n, &b) != 0)
        goto done;
    if (huella_audit_init(a_dir, key, &err) != HUELLA_OK ||
        huella_audit_open(a_dir, key, &au, &err) != HUELLA_OK) {
        fprintf(stderr, "audit: %s\n", err.message);
        goto done;
    }
    huella_retention_policy p = {.encounter_days = 3650};
    huella_retention_options o = {"2026-06-01T00:00:00Z", false, "bench"};
    char *report = NULL;
    uint64_t t0 = huella_now_ns();
    if (huella_retention_run(a, a_dir, au, &p, &o, &report, &err) != HUELLA_OK) {
        fprintf(stderr, "retention: %s\n", err.message);
        goto done;
    }
    double secs = (double)(huella_now_ns() - t0) / 1e9;
    free(report);
    /* Baseline: the same erases, no policy, no audit. */
    huella_store_expired *v;
    size_t nv;
    if (huella_store_expired_encounters(b, "2016-06-03T00:00:00Z", &v, &nv, &err) != HUELLA_OK)
        goto done;
    t0 = huella_now_ns();
    size_t erased = 0;
    for (size_t i = 0; i < nv; i++) {
        huella_status st =
            v[i].last ? huella_store_person_erase(b, v[i].person_id, "bench", "baseline", &err)
                      : huella_store_encounter_erase(b, v[i].encounter_id, &err);
        if (st != HUELLA_OK) {
            fprintf(stderr, "baseline: %s\n", err.message);
            free(v);
            goto done;
        }
        erased += v[i].last;
    }
    double base = (double)(huella_now_ns() - t0) / 1e9;
    printf("{\"bench\":\"retention\",\"persons\":%d,\"encounters_purged\":%zu,"
           "\"persons_erased\":%zu,\"seconds\":%.3f,\"per_purge_ms\":%.2f,"
           "\"baseline_seconds\":%.3f,\"ratio_to_baseline\":%.2f,\"audit_records\":%" PRId64 "}\n",
           n, nv, erased, secs, nv ? 1000 * secs / (double)nv : 0.0, base,
           base > 0 ? secs / base : 0.0, huella_audit_length(au));
    free(v);
    rc = 0;
done:
    huella_audit_close(au);
    huella_store_close(a);
    huella_store_close(b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s' '%s.pub' '%s.head'", a_dir, b_dir, key, key,
             key);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
