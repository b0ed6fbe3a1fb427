/*
 * cmd_retention.c - `huella retention run`: purge what has outlived its
 * retention period (include/huella/retention.h, docs/retention.md).
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/audit.h"
#include "huella/retention.h"
#include "huella/store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#ifndef HUELLA_RETENTION_DEFAULT
#define HUELLA_RETENTION_DEFAULT "data/retention.json"
#endif

static const char retention_help[] =
    "huella retention - retention periods per category, and the purge\n"
    "\n"
    "usage: huella retention run --db DIR [--policy FILE] [--now T] [--dry-run]\n"
    "                            [--audit-key FILE] [--who NAME] [--json]\n";

static const char run_help[] =
    "usage: huella retention run --db DIR [--policy FILE] [--now T] [--dry-run]\n"
    "                            [--audit-key FILE] [--who NAME] [--json]\n"
    "\n"
    "Purge what has expired under the retention policy FILE (default\n"
    "data/retention.json; format in docs/retention.md):\n"
    "  encounters   captured more than encounters.days ago, with their samples,\n"
    "               images, templates and biographic data; a person whose last\n"
    "               encounter goes is erased (crypto-shredded).  Encounters whose\n"
    "               possible-duplicate case is still open are held;\n"
    "  watchlist    entries past their expiry date (+ days_after_expiry);\n"
    "  cases        decided cases older than cases.days_after_decision;\n"
    "  audit        never, unless audit.prune is true: then records older than\n"
    "               audit.days go behind a signed anchor (the chain still verifies).\n"
    "Every purge is recorded in the audit chain DIR/audit.db before it is done\n"
    "(signed with --audit-key, default the key recorded at 'huella audit init').\n"
    "--now (YYYY-MM-DDThh:mm:ssZ) replaces the clock, for tests and for\n"
    "previews; --dry-run lists what would go and changes nothing.  huellad must\n"
    "not run on DIR meanwhile (it will run the same purge on a timer).\n";

enum { OPT_DB = 256, OPT_POLICY, OPT_NOW, OPT_DRY, OPT_KEY, OPT_WHO };

static int retention_run(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"policy", required_argument, NULL, OPT_POLICY},
                                         {"now", required_argument, NULL, OPT_NOW},
                                         {"dry-run", no_argument, NULL, OPT_DRY},
                                         {"audit-key", required_argument, NULL, OPT_KEY},
                                         {"who", required_argument, NULL, OPT_WHO},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    const char *dir = NULL, *policy = HUELLA_RETENTION_DEFAULT, *key = NULL;
    huella_retention_options ro = {0};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_DB)
            dir = optarg;
        else if (c == OPT_POLICY)
            policy = optarg;
        else if (c == OPT_NOW)
            ro.now = optarg;
        else if (c == OPT_DRY)
            ro.dry_run = true;
        else if (c == OPT_KEY)
            key = optarg;
        else if (c == OPT_WHO)
            ro.who = optarg;
        else {
            int r = cli_common_option(c, "retention run", run_help, &opt);
            if (r != CLI_CONTINUE)
                return r;
        }
    }
    if (dir == NULL || optind != argc)
        return cli_usage_error("retention run", "want --db DIR");
    huella_error err;
    huella_retention_policy p;
    huella_status st = huella_retention_load(policy, &p, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_store *s = NULL;
    huella_audit *a = NULL;
    st = huella_store_open(dir, &s, &err);
    if (st == HUELLA_OK && !ro.dry_run) {
        st = huella_audit_open(dir, key, &a, &err);
        if (st != HUELLA_OK)
            huella_error_prefix(&err, "retention: every purge is audited, and the audit log "
                                      "cannot be opened: ");
    }
    char *report = NULL;
    if (st == HUELLA_OK)
        st = huella_retention_run(s, dir, a, &p, &ro, &report, &err);
    huella_audit_close(a);
    huella_store_close(s);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    json_error_t je;
    json_t *o = json_loads(report, 0, &je);
    free(report);
    if (o == NULL)
        return cli_fail(huella_error_set(&err, HUELLA_E_INTERNAL, "retention: bad report"), &err);
    if (opt.json)
        return cli_print_json(o, JSON_INDENT(2));
    const char *verb = ro.dry_run ? "would purge" : "purged";
    json_t *enc = json_object_get(o, "encounters");
    size_t erased = 0, i;
    json_t *e;
    json_array_foreach(enc, i, e)
    {
        if (json_is_true(json_object_get(e, "person_erased")))
            erased++;
    }
    json_t *audit = json_object_get(o, "audit");
    printf("retention as of %s (%s):\n", json_string_value(json_object_get(o, "now")),
           ro.dry_run ? "dry run: nothing changed" : "done");
    printf("  encounters:        %s %zu (%zu persons erased with their last encounter)\n", verb,
           json_array_size(enc), erased);
    printf("  watchlist entries: %s %" JSON_INTEGER_FORMAT "\n", verb,
           json_integer_value(json_object_get(o, "watchlist_entries")));
    printf("  decided cases:     %s %zu\n", verb, json_array_size(json_object_get(o, "cases")));
    printf("  audit records:     %s %" JSON_INTEGER_FORMAT "%s\n", verb,
           json_integer_value(json_object_get(audit, "pruned")),
           p.audit_prune ? " (behind a signed anchor)" : " (the policy keeps them all)");
    if (!ro.dry_run)
        printf("  recorded in the audit chain: %" JSON_INTEGER_FORMAT " records\n",
               json_integer_value(json_object_get(o, "audit_records")));
    json_decref(o);
    return EXIT_OK;
}

int cmd_retention(int argc, char **argv)
{
    static const cli_command verbs[] = {{"run", retention_run, "purge what has expired, audited"},
                                        {NULL, NULL, NULL}};
    return cli_dispatch("retention", retention_help, verbs, argc, argv);
}
