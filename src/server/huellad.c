/*
 * huellad.c - the huella network service: options, signals, lifetime.
 *
 *   huellad --db DIR --listen ADDR:PORT --tls-cert FILE --tls-key FILE
 *           [--insecure-http] [--policy FILE] [--audit-key FILE]
 *           [--threads N] [--workers N] [--max-body BYTES] [--timeout SECONDS]
 *           [--retention-interval SECONDS] [--retention-policy FILE]
 *           [--gallery-snapshot-interval SECONDS]
 *
 * SIGTERM or SIGINT: stop accepting, let requests in flight finish (up to
 * 30 s), commit the audit queue, exit 0.  Exit 1 on a usage error, 2 when
 * the store, keys or certificate are refused, 3 otherwise.
 */
#define _GNU_SOURCE
#include "server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: huellad --db DIR --listen ADDR:PORT --tls-cert FILE --tls-key FILE\n"
    "               [--insecure-http] [--policy FILE] [--audit-key FILE]\n"
    "               [--threads N] [--workers N] [--max-body BYTES] [--timeout SECONDS]\n"
    "               [--quiet] [--retention-interval SECONDS] [--retention-policy FILE]\n"
    "               [--gallery-snapshot-interval SECONDS]\n"
    "\n"
    "Serve the store in DIR over HTTPS (docs/server.md).  Plain HTTP needs\n"
    "--insecure-http and a loopback address.  The policy is --policy FILE,\n"
    "else DIR/policy.json, else the default policy of the source tree.\n"
    "The audit signing key is the one recorded by 'huella audit init'\n"
    "unless --audit-key is given.  Logs are JSON lines on stderr, one per\n"
    "request (--quiet: only failures, start and stop).  --threads connection\n"
    "threads (TLS, reading, answering) and --workers threads that run the\n"
    "personal-data requests in arrival order (both default to the number of\n"
    "cores).  Bodies are limited to\n"
    "--max-body bytes (default 1 MiB, 413 beyond); idle or slow clients are\n"
    "dropped after --timeout seconds (default 30).\n"
    "Every --retention-interval seconds (default 3600; 0: never) a timer thread\n"
    "purges what the retention policy says has expired, each purge recorded in\n"
    "the audit chain first (docs/retention.md); the policy is --retention-policy\n"
    "FILE, else DIR/retention.json, else the default of the source tree.\n"
    "Every --gallery-snapshot-interval seconds (default 86400; 0: never) another\n"
    "timer writes the gallery snapshot again if persons changed since the last\n"
    "one (huella db gallery-snapshot), so that a restart loads fast.\n";

enum {
    O_DB = 256,
    O_LISTEN,
    O_CERT,
    O_KEY,
    O_INSECURE,
    O_POLICY,
    O_AUDIT_KEY,
    O_THREADS,
    O_MAX_BODY,
    O_TIMEOUT,
    O_OPENAPI,
    O_QUIET,
    O_RET_INTERVAL,
    O_RET_POLICY,
    O_WORKERS,
    O_SNAP_INTERVAL
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"listen", required_argument, NULL, O_LISTEN},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"insecure-http", no_argument, NULL, O_INSECURE},
        {"policy", required_argument, NULL, O_POLICY},
        {"audit-key", required_argument, NULL, O_AUDIT_KEY},
        {"threads", required_argument, NULL, O_THREADS},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"openapi", required_argument, NULL, O_OPENAPI},
        {"quiet", no_argument, NULL, O_QUIET},
        {"retention-interval", required_argument, NULL, O_RET_INTERVAL},
        {"retention-policy", required_argument, NULL, O_RET_POLICY},
        {"gallery-snapshot-interval", required_argument, NULL, O_SNAP_INTERVAL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    server_config cfg = {0};
    cfg.retention_interval_s = 3600;
    cfg.gallery_snapshot_interval_s = 86400;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case O_DB:
            cfg.db = optarg;
            break;
        case O_LISTEN:
            cfg.listen = optarg;
            break;
        case O_CERT:
            cfg.tls_cert = optarg;
            break;
        case O_KEY:
            cfg.tls_key = optarg;
            break;
        case O_INSECURE:
            cfg.insecure_http = true;
            break;
        case O_POLICY:
            cfg.policy_path = optarg;
            break;
        case O_AUDIT_KEY:
            cfg.audit_key = optarg;
            break;
        case O_OPENAPI:
            cfg.openapi_path = optarg;
            break;
        case O_THREADS:
            cfg.threads = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || cfg.threads == 0 || cfg.threads > 256) {
                fprintf(stderr, "huellad: --threads wants 1..256\n");
                return 1;
            }
            break;
        case O_WORKERS:
            cfg.workers = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || cfg.workers == 0 || cfg.workers > 256) {
                fprintf(stderr, "huellad: --workers wants 1..256\n");
                return 1;
            }
            break;
        case O_MAX_BODY:
            cfg.max_body = (size_t)strtoull(optarg, &end, 10);
            if (*end != '\0' || cfg.max_body < 1024 || cfg.max_body > (256u << 20)) {
                fprintf(stderr, "huellad: --max-body wants 1024..268435456 bytes\n");
                return 1;
            }
            break;
        case O_TIMEOUT:
            cfg.timeout_s = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || cfg.timeout_s == 0 || cfg.timeout_s > 3600) {
                fprintf(stderr, "huellad: --timeout wants 1..3600 seconds\n");
                return 1;
            }
            break;
        case O_QUIET:
            cfg.quiet = true;
            break;
        case O_RET_INTERVAL:
            cfg.retention_interval_s = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || optarg[0] == '-' || optarg[0] == '\0' ||
                cfg.retention_interval_s > 31 * 86400) {
                fprintf(stderr, "huellad: --retention-interval wants 0..2678400 seconds (0: no "
                                "timer)\n");
                return 1;
            }
            break;
        case O_RET_POLICY:
            cfg.retention_policy = optarg;
            break;
        case O_SNAP_INTERVAL:
            cfg.gallery_snapshot_interval_s = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || optarg[0] == '-' || optarg[0] == '\0' ||
                cfg.gallery_snapshot_interval_s > 31 * 86400) {
                fprintf(stderr, "huellad: --gallery-snapshot-interval wants 0..2678400 seconds "
                                "(0: no timer)\n");
                return 1;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 1;
        }
    }
    if (cfg.db == NULL || cfg.listen == NULL || optind != argc) {
        fputs(usage, stderr);
        return 1;
    }
    /* Signals are taken by sigwait in this thread only: block them before
     * any thread starts so that every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    server *s = NULL;
    huella_error err;
    huella_status st = server_new(&cfg, &s, &err);
    if (st != HUELLA_OK) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "level", "error", "msg", "cannot start", "detail",
                              err.message);
        char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(stderr, "%s\n", t ? t : err.message);
        free(t);
        json_decref(o);
        return st == HUELLA_E_NOMEM || st == HUELLA_E_INTERNAL ? 3 : 2;
    }
    int sig = 0;
    sigwait(&set, &sig);
    server_shutdown(s, 30);
    server_free(s);
    return 0;
}
