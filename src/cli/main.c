/*
 * main.c - the huella command: `huella <noun> <verb> [options]`.
 *
 * Contract: exit status 0 on success, 1 for a usage error, 2 for bad
 * input, 3 for an internal error, with the message on stderr; `--help`
 * works at every level; `--json` gives machine-readable output where a
 * command has any.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <getopt.h>
#include <jansson.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("huella %s\n", HUELLA_VERSION);
    return EXIT_OK;
}

static const cli_command nouns[] = {
    {"image", cmd_image, "decode images: info, convert"},
    {"finger", cmd_finger, "fingerprints: extract minutiae, compare"},
    {"iris", cmd_iris, "irises: segment, encode, compare, show"},
    {"mrz", cmd_mrz, "travel documents: parse and check machine-readable zones"},
    {"names", cmd_names, "person names: normalize across scripts, compare"},
    {"an2k", cmd_an2k, "ANSI/NIST-ITL transactions: dump, validate, rewrite, extract, build"},
    {"record", cmd_record, "ISO/IEC 19794-4/-5/-6 image records: dump, extract"},
    {"db", cmd_db, "the encrypted store: init, check, rekey"},
    {"enrol", cmd_enrol, "enrol an encounter (fingers, irises, face, biographic data)"},
    {"person", cmd_person, "persons in the store: show, erase"},
    {"identify", cmd_identify, "search the store: ranked candidates for a person to review"},
    {"verify", cmd_verify, "compare a capture with one enrolled person (1:1)"},
    {"case", cmd_case, "possible-duplicate cases: list, show, decide"},
    {"wsq", cmd_wsq, "WSQ fingerprint images: decode, encode, info"},
    {"watchlist", cmd_watchlist, "watchlists: import, list, show, expire entries with provenance"},
    {"screen", cmd_screen, "screen a person against the watchlist: candidate hits explained"},
    {"face", cmd_face, "faces: detect, encode, compare, quality, show"},
    {"audit", cmd_audit, "the audit chain: init, verify, show"},
    {"agency", cmd_agency, "agencies that own records: add"},
    {"user", cmd_user, "users of huellad: add, list"},
    {"token", cmd_token, "API tokens: new (shown once)"},
    {"submit", cmd_submit, "send an encounter to huellad as a capture kit; encrypted outbox"},
    {"retention", cmd_retention, "purge what has outlived its retention period, audited"},
    {"sharing", cmd_sharing, "sharing agreements between agencies: add, list, revoke"},
    {"eval", cmd_eval, "measure accuracy: error rates, DET curves, reports"},
    {"version", cmd_version, "print the version"},
    {NULL, NULL, NULL},
};

static const char main_help[] =
    "huella - open multimodal biometric identification\n"
    "\n"
    "usage: huella <command> <verb> [options]   (huella <command> --help for more)\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 bad input, 3 internal error.\n"
    "Most commands take --json for machine-readable output.\n";

int cli_exit_status(huella_status st)
{
    switch (st) {
    case HUELLA_OK:
        return EXIT_OK;
    case HUELLA_E_INPUT:
    case HUELLA_E_UNSUPPORTED:
    case HUELLA_E_NOTFOUND:
    case HUELLA_E_DENIED:
        return EXIT_INPUT;
    default:
        return EXIT_INTERNAL;
    }
}

int cli_fail(huella_status st, const huella_error *err)
{
    const char *msg = err != NULL && err->message[0] ? err->message : huella_status_name(st);
    fprintf(stderr, "huella: %s\n", msg);
    return cli_exit_status(st);
}

int cli_usage_error(const char *noun, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("huella: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (noun != NULL)
        fprintf(stderr, "\n(try 'huella %s --help')\n", noun);
    else
        fputs("\n(try 'huella --help')\n", stderr);
    return EXIT_USAGE;
}

int cli_print_json(json_t *o, size_t flags)
{
    char *s = o != NULL ? json_dumps(o, flags) : NULL;
    json_decref(o);
    if (s == NULL) {
        huella_error err;
        huella_error_set(&err, HUELLA_E_NOMEM, "out of memory writing JSON");
        return cli_fail(HUELLA_E_NOMEM, &err);
    }
    puts(s);
    free(s);
    return EXIT_OK;
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "help") == 0;
}

bool cli_parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v > 0) || v > 1e9)
        return false;
    *out = v;
    return true;
}

bool cli_parse_uint(const char *s, unsigned *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > 1000000000ul)
        return false;
    *out = (unsigned)v;
    return true;
}

bool cli_parse_size(const char *s, unsigned *w, unsigned *h)
{
    const char *x = strchr(s, 'x');
    if (x == NULL)
        return false;
    char buf[32];
    size_t n = (size_t)(x - s);
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return cli_parse_uint(buf, w) && cli_parse_uint(x + 1, h) && *w > 0 && *h > 0;
}

int cli_parse_options(int argc, char **argv, const char *shortopts, const struct option *longopts,
                      const char *cmd, const char *help, cli_opts *o)
{
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int r = cli_common_option(c, cmd, help, o);
        if (r != CLI_CONTINUE)
            return r;
    }
    return CLI_CONTINUE;
}

int cli_common_option(int c, const char *cmd, const char *help, cli_opts *o)
{
    switch (c) {
    case OPT_JSON:
        o->json = true;
        return CLI_CONTINUE;
    case OPT_PPI:
        if (!cli_parse_double(optarg, &o->ppi))
            return cli_usage_error(cmd, "--ppi wants a positive number, not '%s'", optarg);
        return CLI_CONTINUE;
    case OPT_OUTPUT:
        o->output = optarg;
        return CLI_CONTINUE;
    case OPT_REPORT:
        o->report = optarg;
        return CLI_CONTINUE;
    case OPT_HELP:
        fputs(help, stdout);
        return EXIT_OK;
    default:
        return cli_usage_error(cmd, "bad option");
    }
}

static void print_verbs(const char *help, const cli_command *verbs)
{
    fputs(help, stdout);
    fputs("\ncommands:\n", stdout);
    for (const cli_command *c = verbs; c->name != NULL; c++)
        printf("  %-10s %s\n", c->name, c->summary);
}

int cli_dispatch(const char *noun, const char *help, const cli_command *verbs, int argc,
                 char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        print_verbs(help, verbs);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    for (const cli_command *c = verbs; c->name != NULL; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    return cli_usage_error(noun, "unknown command '%s'", argv[1]);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    int status = cli_dispatch(NULL, main_help, nouns, argc, argv);
    if (fflush(stdout) != 0) {
        perror("huella: writing output");
        return EXIT_INTERNAL;
    }
    return status;
}
