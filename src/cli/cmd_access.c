/*
 * cmd_access.c - `huella agency|user|token|sharing`: the access database
 * beside a store (include/huella/policy.h, docs/server.md).  Four small
 * nouns over one database, so they share one file.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/policy.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_DB = 256,
    OPT_ROLE,
    OPT_AGENCY,
    OPT_EXPIRES,
    OPT_OWNER,
    OPT_PARTNER,
    OPT_PURPOSE,
    OPT_BASIS
};

static const struct option all_opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"role", required_argument, NULL, OPT_ROLE},
                                         {"agency", required_argument, NULL, OPT_AGENCY},
                                         {"expires", required_argument, NULL, OPT_EXPIRES},
                                         {"owner", required_argument, NULL, OPT_OWNER},
                                         {"partner", required_argument, NULL, OPT_PARTNER},
                                         {"purpose", required_argument, NULL, OPT_PURPOSE},
                                         {"legal-basis", required_argument, NULL, OPT_BASIS},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};

typedef struct args {
    cli_opts o;
    const char *db, *role, *agency, *expires, *owner, *partner, *purpose, *basis;
    const char *pos; /* the one positional argument, if any */
} args;

/* Parse the options every verb here shares; returns CLI_CONTINUE or an
 * exit status. */
static int parse(int argc, char **argv, const char *cmd, const char *help, bool want_pos, args *a)
{
    memset(a, 0, sizeof(*a));
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", all_opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            a->db = optarg;
            break;
        case OPT_ROLE:
            a->role = optarg;
            break;
        case OPT_AGENCY:
            a->agency = optarg;
            break;
        case OPT_EXPIRES:
            a->expires = optarg;
            break;
        case OPT_OWNER:
            a->owner = optarg;
            break;
        case OPT_PARTNER:
            a->partner = optarg;
            break;
        case OPT_PURPOSE:
            a->purpose = optarg;
            break;
        case OPT_BASIS:
            a->basis = optarg;
            break;
        default: {
            int r = cli_common_option(c, cmd, help, &a->o);
            if (r != CLI_CONTINUE)
                return r;
        }
        }
    }
    if (want_pos && optind + 1 == argc)
        a->pos = argv[optind++];
    if (a->db == NULL || optind != argc || (want_pos && a->pos == NULL))
        return cli_usage_error(cmd, "see the usage above (--db DIR is required)");
    return CLI_CONTINUE;
}

static int with_access(const args *a, huella_access **acc)
{
    huella_error err;
    huella_status st = huella_access_open(a->db, acc, &err);
    return st == HUELLA_OK ? CLI_CONTINUE : cli_fail(st, &err);
}

/* ---- agency ---- */

static const char agency_add_help[] =
    "usage: huella agency add NAME --db DIR [--json]\n"
    "\n"
    "Add an agency (1 to 63 of a-z 0-9 . _ -).  Persons belong to one agency;\n"
    "its users see only its persons and those shared with it by agreement.\n"
    "The agency 'default' always exists and owns persons enrolled before\n"
    "agencies were introduced.\n";

static int agency_add(int argc, char **argv)
{
    args a;
    int r = parse(argc, argv, "agency add", agency_add_help, true, &a);
    huella_access *acc = NULL;
    if (r != CLI_CONTINUE || (r = with_access(&a, &acc)) != CLI_CONTINUE)
        return r;
    huella_error err;
    huella_status st = huella_access_agency_add(acc, a.pos, &err);
    huella_access_close(acc);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (a.o.json)
        return cli_print_json(json_pack("{s:s}", "agency", a.pos), JSON_INDENT(2));
    printf("added agency %s\n", a.pos);
    return EXIT_OK;
}

int cmd_agency(int argc, char **argv)
{
    static const cli_command verbs[] = {{"add", agency_add, "add an agency"}, {NULL, NULL, NULL}};
    return cli_dispatch("agency", "huella agency - agencies that own records\n", verbs, argc, argv);
}

/* ---- user ---- */

static const char user_add_help[] =
    "usage: huella user add NAME --role R --agency A --db DIR [--json]\n"
    "\n"
    "Add a user of agency A with role R: operator, examiner, supervisor,\n"
    "auditor, dpo (data-protection officer) or administrator.  What each role\n"
    "may do, and for which purposes, is in the policy file (docs/server.md).\n"
    "Give the user a token with 'huella token new NAME'.\n";

static const char user_list_help[] = "usage: huella user list --db DIR [--json]\n";

static int user_add(int argc, char **argv)
{
    args a;
    int r = parse(argc, argv, "user add", user_add_help, true, &a);
    if (r != CLI_CONTINUE)
        return r;
    if (a.role == NULL || a.agency == NULL)
        return cli_usage_error("user add", "want --role R and --agency A");
    huella_access *acc = NULL;
    if ((r = with_access(&a, &acc)) != CLI_CONTINUE)
        return r;
    huella_error err;
    huella_status st = huella_access_user_add(acc, a.pos, a.role, a.agency, &err);
    huella_access_close(acc);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (a.o.json)
        return cli_print_json(
            json_pack("{s:s, s:s, s:s}", "user", a.pos, "role", a.role, "agency", a.agency),
            JSON_INDENT(2));
    printf("added user %s (%s, agency %s)\n", a.pos, a.role, a.agency);
    return EXIT_OK;
}

static int user_list(int argc, char **argv)
{
    args a;
    int r = parse(argc, argv, "user list", user_list_help, false, &a);
    huella_access *acc = NULL;
    if (r != CLI_CONTINUE || (r = with_access(&a, &acc)) != CLI_CONTINUE)
        return r;
    huella_error err;
    char *json = NULL;
    huella_status st = huella_access_users_json(acc, &json, &err);
    huella_access_close(acc);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    json_t *arr = json_loads(json, 0, NULL);
    free(json);
    if (a.o.json)
        return cli_print_json(arr, JSON_INDENT(2));
    size_t i;
    json_t *u;
    json_array_foreach(arr, i, u)
        printf("%-20s %-14s %s\n", json_string_value(json_object_get(u, "name")),
               json_string_value(json_object_get(u, "role")),
               json_string_value(json_object_get(u, "agency")));
    json_decref(arr);
    return EXIT_OK;
}

int cmd_user(int argc, char **argv)
{
    static const cli_command verbs[] = {{"add", user_add, "add a user with a role and an agency"},
                                        {"list", user_list, "list users"},
                                        {NULL, NULL, NULL}};
    return cli_dispatch("user", "huella user - users of huellad\n", verbs, argc, argv);
}

/* ---- token ---- */

static const char token_new_help[] =
    "usage: huella token new USER --db DIR [--expires T] [--json]\n"
    "\n"
    "Make an API token for USER and print it ONCE: only a keyed hash is kept,\n"
    "so a lost token cannot be shown again (make a new one).  T is a UTC time\n"
    "(2027-01-31T00:00:00Z) or a duration from now (90d, 12h, 30m).  Clients\n"
    "send it as 'Authorization: Bearer TOKEN'.\n";

static int token_new(int argc, char **argv)
{
    args a;
    int r = parse(argc, argv, "token new", token_new_help, true, &a);
    if (r != CLI_CONTINUE)
        return r;
    char exp[32];
    if (a.expires != NULL && !huella_utc_parse(a.expires, exp))
        return cli_usage_error("token new",
                               "--expires wants YYYY-MM-DDThh:mm:ssZ or 90d/12h/30m, not '%s'",
                               a.expires);
    huella_access *acc = NULL;
    if ((r = with_access(&a, &acc)) != CLI_CONTINUE)
        return r;
    huella_error err;
    char token[HUELLA_TOKEN_CHARS];
    huella_status st =
        huella_access_token_new(acc, a.pos, a.expires != NULL ? exp : NULL, token, &err);
    huella_access_close(acc);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (a.o.json)
        return cli_print_json(json_pack("{s:s, s:s, s:s?}", "user", a.pos, "token", token,
                                        "expires", a.expires != NULL ? exp : NULL),
                              JSON_INDENT(2));
    puts(token);
    return EXIT_OK;
}

int cmd_token(int argc, char **argv)
{
    static const cli_command verbs[] = {{"new", token_new, "make an API token (shown once)"},
                                        {NULL, NULL, NULL}};
    return cli_dispatch("token", "huella token - API tokens for huellad\n", verbs, argc, argv);
}

/* ---- sharing ---- */

static const char sharing_add_help[] =
    "usage: huella sharing add --owner A --partner B --purpose P --legal-basis L\n"
    "                          --expires T --db DIR [--json]\n"
    "\n"
    "Record an agreement: users of agency B may use records of agency A for\n"
    "purpose P on legal basis L until T (UTC time or 90d/12h/...).  Only\n"
    "operations the policy marks shareable are covered (reads, not\n"
    "rectification or erasure).  Expired or revoked agreements stop access.\n";
static const char sharing_list_help[] =
    "usage: huella sharing list --db DIR [--owner A] [--partner B] [--json]\n";
static const char sharing_revoke_help[] = "usage: huella sharing revoke ID --db DIR [--json]\n";

static int sharing_add(int argc, char **argv)
{
    args a;
    int r = parse(argc, argv, "sharing add", sharing_add_help, false, &a);
    if (r != CLI_CONTINUE)
        return r;
    if (!a.owner || !a.partner || !a.purpose || !a.basis || !a.expires)
        return cli_usage_error("sharing add",
                               "want --owner, --partner, --purpose, --legal-basis, --expires");
    huella_sharing s = {0};
    snprintf(s.owner, sizeof(s.owner), "%s", a.owner);
    snprintf(s.partner, sizeof(s.partner), "%s", a.partner);
    snprintf(s.purpose, sizeof(s.purpose), "%s", a.purpose);
    snprintf(s.legal_basis, sizeof(s.legal_basis), "%s", a.basis);
    snprintf(s.expires, sizeof(s.expires), "%s", a.expires);
    huella_access *acc = NULL;
    if ((r = with_access(&a, &acc)) != CLI_CONTINUE)
        return r;
    huella_error err;
    int64_t id = 0;
    huella_status st = huella_access_sharing_add(acc, &s, &id, &err);
    huella_access_close(acc);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (a.o.json)
        return cli_print_json(json_pack("{s:I}", "id", (json_int_t)id), JSON_INDENT(2));
    printf("agreement %lld: %s shares with %s for %s (%s)\n", (long long)id, a.owner, a.partner,
           a.purpose, a.basis);
    return EXIT_OK;
}

static int sharing_list(int argc, char **argv)
{
    args a;
    int r = parse(argc, argv, "sharing list", sharing_list_help, false, &a);
    huella_access *acc = NULL;
    if (r != CLI_CONTINUE || (r = with_access(&a, &acc)) != CLI_CONTINUE)
        return r;
    huella_error err;
    huella_sharing *list = NULL;
    size_t n = 0;
    huella_status st = huella_access_sharings(acc, a.owner, a.partner, &list, &n, &err);
    huella_access_close(acc);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    char now[32];
    huella_utc_now(now);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const huella_sharing *s = &list[i];
        const char *state = s->revoked                     ? "revoked"
                            : strcmp(s->expires, now) <= 0 ? "expired"
                                                           : "in-force";
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)s->id, "owner",
                           s->owner, "partner", s->partner, "purpose", s->purpose, "legal_basis",
                           s->legal_basis, "expires", s->expires, "state", state));
        if (!a.o.json)
            printf("%4lld %-12s -> %-12s %-18s %-22s until %s %s\n", (long long)s->id, s->owner,
                   s->partner, s->purpose, s->legal_basis, s->expires, state);
    }
    free(list);
    if (a.o.json)
        return cli_print_json(arr, JSON_INDENT(2));
    json_decref(arr);
    return EXIT_OK;
}

static int sharing_revoke(int argc, char **argv)
{
    args a;
    int r = parse(argc, argv, "sharing revoke", sharing_revoke_help, true, &a);
    if (r != CLI_CONTINUE)
        return r;
    unsigned id;
    if (!cli_parse_uint(a.pos, &id) || id == 0)
        return cli_usage_error("sharing revoke", "want an agreement id, not '%s'", a.pos);
    huella_access *acc = NULL;
    if ((r = with_access(&a, &acc)) != CLI_CONTINUE)
        return r;
    huella_error err;
    huella_status st = huella_access_sharing_revoke(acc, id, &err);
    huella_access_close(acc);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (a.o.json)
        return cli_print_json(json_pack("{s:i, s:b}", "id", (int)id, "revoked", 1), JSON_INDENT(2));
    printf("agreement %u revoked\n", id);
    return EXIT_OK;
}

int cmd_sharing(int argc, char **argv)
{
    static const cli_command verbs[] = {{"add", sharing_add, "record a sharing agreement"},
                                        {"list", sharing_list, "list agreements"},
                                        {"revoke", sharing_revoke, "revoke an agreement"},
                                        {NULL, NULL, NULL}};
    return cli_dispatch("sharing", "huella sharing - agreements between agencies\n", verbs, argc,
                        argv);
}
