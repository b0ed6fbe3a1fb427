/*
 * cmd_audit.c - `huella audit init|verify|show`: the tamper-evident audit
 * chain beside a store (include/huella/audit.h, docs/server.md).
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/audit.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char audit_help[] =
    "huella audit - the audit chain: who accessed whose data, why, on which legal basis\n"
    "\n"
    "usage: huella audit <command> --db DIR [options]\n";

static const char init_help[] =
    "usage: huella audit init --db DIR --key FILE [--json]\n"
    "\n"
    "Create the audit log DIR/audit.db and its Ed25519 signing key FILE (mode\n"
    "0600, with the public key in FILE.pub).  Keep FILE apart from DIR (another\n"
    "disk or machine, another owner): whoever holds it can sign checkpoints.\n"
    "huellad appends to the log and signs a checkpoint after every commit;\n"
    "FILE.head keeps the newest signed checkpoint so that truncation shows.\n";

static const char verify_help[] =
    "usage: huella audit verify --db DIR [--key FILE] [--json]\n"
    "\n"
    "Check the whole chain: every record's hash, every link to the record\n"
    "before, every signed checkpoint and the signed head.  Names the first\n"
    "broken record (edited, deleted, inserted, reordered or truncated).  FILE\n"
    "is the signing key or its .pub (default: the path recorded at init).\n"
    "Exit status 2 when the chain is broken.\n";

static const char show_help[] =
    "usage: huella audit show --db DIR [--person ID] [--user U] [--purpose P]\n"
    "                         [--since T] [--until T] [--limit N] [--json]\n"
    "\n"
    "Print audit records, oldest first, filtered by person id, user, purpose\n"
    "and time (UTC ISO 8601, since inclusive, until exclusive).\n";

enum { OPT_DB = 256, OPT_KEY, OPT_PERSON, OPT_USER, OPT_PURPOSE, OPT_SINCE, OPT_UNTIL, OPT_LIMIT };

/* The options of init and verify: --db DIR, --key FILE, --json, --help.
 * CLI_CONTINUE when parsing went on to the operands, else the exit
 * status to return. */
static int db_key_options(int argc, char **argv, const char *cmd, const char *help, cli_opts *opt,
                          const char **dir, const char **key)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"key", required_argument, NULL, OPT_KEY},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    *dir = *key = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_DB)
            *dir = optarg;
        else if (c == OPT_KEY)
            *key = optarg;
        else {
            int r = cli_common_option(c, cmd, help, opt);
            if (r != CLI_CONTINUE)
                return r;
        }
    }
    return CLI_CONTINUE;
}

static int audit_init(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *dir, *key;
    int r = db_key_options(argc, argv, "audit init", init_help, &opt, &dir, &key);
    if (r != CLI_CONTINUE)
        return r;
    if (dir == NULL || key == NULL || optind != argc)
        return cli_usage_error("audit init", "want --db DIR --key FILE");
    huella_error err;
    huella_status st = huella_audit_init(dir, key, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.json)
        return cli_print_json(json_pack("{s:s, s:s}", "db", dir, "key", key), JSON_INDENT(2));
    printf("created audit log %s/%s; signing key %s (keep it apart from the database)\n", dir,
           HUELLA_AUDIT_DB_NAME, key);
    return EXIT_OK;
}

static int audit_verify(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *dir, *key;
    int r = db_key_options(argc, argv, "audit verify", verify_help, &opt, &dir, &key);
    if (r != CLI_CONTINUE)
        return r;
    if (dir == NULL || optind != argc)
        return cli_usage_error("audit verify", "want --db DIR");
    huella_error err;
    char *report = NULL;
    int64_t first = 0;
    huella_status st = huella_audit_verify(dir, key, &report, &first, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.json) {
        puts(report);
    } else {
        json_t *o = json_loads(report, 0, NULL);
        if (first == 0)
            printf("audit chain ok: %lld records, %lld signed checkpoints (checked against %s)\n",
                   (long long)json_integer_value(json_object_get(o, "records")),
                   (long long)json_integer_value(json_object_get(o, "checkpoints")),
                   json_string_value(json_object_get(o, "key")));
        if (first == 0 && json_integer_value(json_object_get(o, "pruned_through")) > 0)
            printf("records up to %lld were pruned by the retention policy; the chain starts "
                   "from their signed anchor\n",
                   (long long)json_integer_value(json_object_get(o, "pruned_through")));
        if (first != 0)
            printf("audit chain BROKEN at record %lld: %s\n", (long long)first,
                   json_string_value(json_object_get(o, "problem")));
        json_decref(o);
    }
    free(report);
    return first == 0 ? EXIT_OK : EXIT_INPUT;
}

static bool parse_id(const char *s, int64_t *id)
{
    char *end;
    if (*s < '1' || *s > '9')
        return false;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || v <= 0)
        return false;
    *id = v;
    return true;
}

static int audit_show(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"person", required_argument, NULL, OPT_PERSON},
                                         {"user", required_argument, NULL, OPT_USER},
                                         {"purpose", required_argument, NULL, OPT_PURPOSE},
                                         {"since", required_argument, NULL, OPT_SINCE},
                                         {"until", required_argument, NULL, OPT_UNTIL},
                                         {"limit", required_argument, NULL, OPT_LIMIT},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    const char *dir = NULL;
    huella_audit_filter f = {0};
    unsigned limit = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            dir = optarg;
            break;
        case OPT_PERSON:
            if (!parse_id(optarg, &f.person))
                return cli_usage_error("audit show", "--person wants a person id, not '%s'",
                                       optarg);
            break;
        case OPT_USER:
            f.user = optarg;
            break;
        case OPT_PURPOSE:
            f.purpose = optarg;
            break;
        case OPT_SINCE:
            f.since = optarg;
            break;
        case OPT_UNTIL:
            f.until = optarg;
            break;
        case OPT_LIMIT:
            if (!cli_parse_uint(optarg, &limit))
                return cli_usage_error("audit show", "--limit wants a number, not '%s'", optarg);
            f.limit = limit;
            break;
        default: {
            int r = cli_common_option(c, "audit show", show_help, &opt);
            if (r != CLI_CONTINUE)
                return r;
        }
        }
    }
    if (dir == NULL || optind != argc)
        return cli_usage_error("audit show", "want --db DIR");
    huella_error err;
    char *json = NULL;
    huella_status st = huella_audit_query(dir, &f, &json, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    json_t *arr = json_loads(json, 0, NULL);
    free(json);
    if (opt.json)
        return cli_print_json(arr, JSON_INDENT(2));
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r)
    {
        printf("%6lld %s %-10s %-10s %-8s %-16s %-10s purpose=%s basis=%s persons=",
               (long long)json_integer_value(json_object_get(r, "seq")),
               json_string_value(json_object_get(r, "at")),
               json_string_value(json_object_get(r, "user")),
               json_string_value(json_object_get(r, "role")),
               json_string_value(json_object_get(r, "agency")),
               json_string_value(json_object_get(r, "operation")),
               json_string_value(json_object_get(r, "outcome")),
               json_string_value(json_object_get(r, "purpose")),
               json_string_value(json_object_get(r, "legal_basis")));
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(r, "persons"), k, p)
            printf("%s%lld", k ? "," : "", (long long)json_integer_value(p));
        const char *d = json_string_value(json_object_get(r, "detail"));
        printf("%s%s\n", d && d[0] ? " " : "", d ? d : "");
    }
    printf("%zu records\n", json_array_size(arr));
    json_decref(arr);
    return EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"init", audit_init, "create the audit log and its signing key"},
        {"verify", audit_verify, "check the whole chain and its signatures"},
        {"show", audit_show, "print records by person, user, purpose, time"},
        {NULL, NULL, NULL}};
    return cli_dispatch("audit", audit_help, verbs, argc, argv);
}
