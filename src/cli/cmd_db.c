/*
 * cmd_db.c - `huella db init|check`: create and verify an encrypted store.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/audit.h"
#include "huella/store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char db_help[] = "huella db - the encrypted store of persons and their biometrics\n"
                              "\n"
                              "usage: huella db <command> [options] ...\n";

static const char init_help[] =
    "usage: huella db init DIR [--juvenile-age N] [--audit-key FILE] [--json]\n"
    "\n"
    "Create DIR (mode 0700) with an empty store, DIR/huella.db, and its master\n"
    "key, DIR/master.key (32 random bytes, mode 0600).  Every image, template\n"
    "and biographic document is encrypted under a key of its person, wrapped\n"
    "by the master key: keep the key file private and backed up apart from\n"
    "the database.  Captures of persons younger than N years (default 14)\n"
    "are flagged juvenile.  --audit-key FILE also creates the audit log\n"
    "DIR/audit.db and its Ed25519 signing key FILE (as 'huella audit init';\n"
    "keep FILE apart from DIR).\n";

static const char check_help[] =
    "usage: huella db check --db DIR [--json]    (or: huella db check DIR)\n"
    "\n"
    "Verify the store: SQLite integrity and foreign keys, every person key\n"
    "unwraps, every encrypted blob decrypts and authenticates against its\n"
    "row, every template decodes, and rows agree with each other.  Exit\n"
    "status 2 when there is any problem.\n";

static const char rekey_help[] =
    "usage: huella db rekey --db DIR    (or: huella db rekey DIR)\n"
    "\n"
    "Rotate the master key: write a new DIR/master.key and re-wrap every\n"
    "person's key under it, in one transaction (crash-safe).  Destroying the\n"
    "old key file and its copies afterwards makes older backups of the store\n"
    "unreadable, including the data of persons erased since they were taken.\n"
    "No other process may have the store open.\n";

enum { OPT_JUVENILE = 256, OPT_DB, OPT_AUDIT_KEY };

/* The options of a verb that takes only the store (--db DIR or DIR),
 * --json when `json` and --help: CLI_CONTINUE with *dir set, else the exit
 * status to return. */
static int store_dir_args(int argc, char **argv, const char *cmd, const char *help, bool json,
                          cli_opts *opt, const char **dir)
{
    static const struct option with_json[] = {{"db", required_argument, NULL, OPT_DB},
                                              {"json", no_argument, NULL, OPT_JSON},
                                              {"help", no_argument, NULL, OPT_HELP},
                                              {NULL, 0, NULL, 0}};
    static const struct option without_json[] = {{"db", required_argument, NULL, OPT_DB},
                                                 {"help", no_argument, NULL, OPT_HELP},
                                                 {NULL, 0, NULL, 0}};
    const struct option *opts = json ? with_json : without_json;
    *dir = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_DB) {
            *dir = optarg;
            continue;
        }
        int r = cli_common_option(c, cmd, help, opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (*dir == NULL && optind + 1 == argc)
        *dir = argv[optind++];
    if (*dir == NULL || optind != argc)
        return cli_usage_error(cmd, "want --db DIR");
    return CLI_CONTINUE;
}

static int db_init(int argc, char **argv)
{
    static const struct option opts[] = {{"juvenile-age", required_argument, NULL, OPT_JUVENILE},
                                         {"audit-key", required_argument, NULL, OPT_AUDIT_KEY},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    huella_store_init_options io = {0};
    const char *audit_key = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_JUVENILE) {
            if (!cli_parse_uint(optarg, &io.juvenile_age) || io.juvenile_age < 1 ||
                io.juvenile_age > 25)
                return cli_usage_error("db init", "--juvenile-age wants 1..25, not '%s'", optarg);
            continue;
        }
        if (c == OPT_AUDIT_KEY) {
            audit_key = optarg;
            continue;
        }
        int r = cli_common_option(c, "db init", init_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind + 1 != argc)
        return cli_usage_error("db init", "want one directory");
    huella_error err;
    huella_status st = huella_store_init(argv[optind], &io, &err);
    if (st == HUELLA_OK && audit_key != NULL)
        st = huella_audit_init(argv[optind], audit_key, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    unsigned age = io.juvenile_age ? io.juvenile_age : HUELLA_STORE_DEFAULT_JUVENILE_AGE;
    if (opt.json)
        return cli_print_json(json_pack("{s:s, s:i, s:i}", "db", argv[optind], "schema_version",
                                        huella_store_schema_version(), "juvenile_age", (int)age),
                              JSON_INDENT(2));
    printf("created store %s (schema %d, juvenile under %u); keep %s/master.key private\n",
           argv[optind], huella_store_schema_version(), age, argv[optind]);
    return EXIT_OK;
}

static int db_check(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *dir;
    int r = store_dir_args(argc, argv, "db check", check_help, true, &opt, &dir);
    if (r != CLI_CONTINUE)
        return r;
    huella_error err;
    huella_store *s = NULL;
    huella_status st = huella_store_open(dir, &s, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    char *report = NULL;
    size_t n = 0;
    st = huella_store_check(s, &report, &n, &err);
    huella_store_close(s);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.json) {
        puts(report);
    } else {
        json_t *o = json_loads(report, 0, NULL);
        json_t *counts = json_object_get(o, "counts");
        printf("%s: %s: %lld persons, %lld encounters, %lld samples, %zu problem%s\n", dir,
               n == 0 ? "ok" : "PROBLEMS",
               (long long)json_integer_value(json_object_get(counts, "persons")),
               (long long)json_integer_value(json_object_get(counts, "encounters")),
               (long long)json_integer_value(json_object_get(counts, "samples")), n,
               n == 1 ? "" : "s");
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(o, "problems"), i, p)
            printf("  - %s\n", json_string_value(p));
        json_decref(o);
    }
    free(report);
    return n == 0 ? EXIT_OK : EXIT_INPUT;
}

static const char refresh_help[] =
    "usage: huella db gallery-refresh --db DIR [--json]   (or: huella db gallery-refresh DIR)\n"
    "\n"
    "Write the gallery form of every person who has no current one: what the\n"
    "in-memory galleries keep of them (prepared fingers, packed iris codes, face\n"
    "templates), sealed under the person's key, so that loading the galleries\n"
    "(huella identify, enrol, huellad) is a decryption and a copy per person rather\n"
    "than decoding and preparing every template.  Enrolment keeps the forms current;\n"
    "this is needed after an upgrade that changes the finger matcher's prepared form\n"
    "(loading says so and rebuilds them in memory meanwhile), for stores made before\n"
    "the forms existed, and after links, unlinks and relinks, which drop the forms\n"
    "of the persons involved.  Transactions of 256 persons: safe to interrupt.\n";

static int db_gallery_refresh(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *dir;
    int r = store_dir_args(argc, argv, "db gallery-refresh", refresh_help, true, &opt, &dir);
    if (r != CLI_CONTINUE)
        return r;
    huella_error err;
    huella_store *s = NULL;
    huella_status st = huella_store_open(dir, &s, &err);
    size_t written = 0;
    uint64_t t0 = huella_now_ns();
    if (st == HUELLA_OK)
        st = huella_store_gallery_refresh(s, &written, &err);
    double secs = (double)(huella_now_ns() - t0) / 1e9;
    huella_store_close(s);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "forms_written", json_integer((json_int_t)written));
        json_object_set_new(o, "seconds", json_real(secs));
        return cli_print_json(o, JSON_INDENT(2));
    }
    printf("%s: %zu gallery form%s written in %.1f s\n", dir, written, written == 1 ? "" : "s",
           secs);
    return EXIT_OK;
}

static const char snapshot_help[] =
    "usage: huella db gallery-snapshot --db DIR [--json]   (or: huella db gallery-snapshot DIR)\n"
    "\n"
    "Copy every person's sealed gallery form into DIR/gallery.snap, in person\n"
    "order, so that loading the galleries reads them in long sequential runs\n"
    "instead of from between the database's other pages (a million ten-finger\n"
    "persons have 15 GB of forms).  The forms stay sealed under each person's key,\n"
    "which stays in the database.  Loading takes from the database every person\n"
    "enrolled, linked or changed since the snapshot, so an old snapshot is never\n"
    "wrong, only slower; run this after a large enrolment or gallery-refresh, or\n"
    "nightly.  Erasing a person or an encounter removes the snapshot.  Reads the\n"
    "whole store once; enrolment may go on meanwhile.\n";

static int db_gallery_snapshot(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *dir;
    int r = store_dir_args(argc, argv, "db gallery-snapshot", snapshot_help, true, &opt, &dir);
    if (r != CLI_CONTINUE)
        return r;
    huella_error err;
    huella_store *s = NULL;
    huella_status st = huella_store_open(dir, &s, &err);
    huella_gallery_snapshot_stats stats = {0};
    if (st == HUELLA_OK)
        st = huella_store_gallery_snapshot(s, &stats, &err);
    huella_store_close(s);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "installed", json_boolean(stats.installed));
        if (!stats.installed)
            json_object_set_new(o, "note", json_string(stats.note));
        json_object_set_new(o, "persons", json_integer((json_int_t)stats.persons));
        json_object_set_new(o, "forms", json_integer((json_int_t)stats.forms));
        json_object_set_new(o, "bytes", json_integer((json_int_t)stats.bytes));
        json_object_set_new(o, "seconds", json_real(stats.seconds));
        return cli_print_json(o, JSON_INDENT(2));
    }
    if (!stats.installed) {
        printf("%s: gallery snapshot not installed: %s; run it again\n", dir, stats.note);
        return EXIT_OK;
    }
    printf("%s: gallery snapshot of %zu person%s (%zu with a current form; the rest load from "
           "the database), %.1f MB, in %.1f s\n",
           dir, stats.persons, stats.persons == 1 ? "" : "s", stats.forms,
           (double)stats.bytes / 1e6, stats.seconds);
    return EXIT_OK;
}

static int db_rekey(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *dir;
    int r = store_dir_args(argc, argv, "db rekey", rekey_help, false, &opt, &dir);
    if (r != CLI_CONTINUE)
        return r;
    huella_error err;
    huella_status st = huella_store_rekey(dir, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    printf("%s: master key rotated; destroy every copy of the old key\n", dir);
    return EXIT_OK;
}

int cmd_db(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"init", db_init, "create an encrypted store and its master key"},
        {"check", db_check, "verify integrity, encryption and consistency"},
        {"rekey", db_rekey, "rotate the master key"},
        {"gallery-refresh", db_gallery_refresh, "write missing or stale gallery forms"},
        {"gallery-snapshot", db_gallery_snapshot,
         "copy the gallery forms into one file for fast loads"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("db", db_help, verbs, argc, argv);
}
