/*
 * cmd_person.c - `huella person show|erase`: a person's record, decrypted
 * for an authorised operator, and erasure on request.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char person_help[] = "huella person - persons in the store\n"
                                  "\n"
                                  "usage: huella person <command> ID --db DIR [options]\n";

static const char show_help[] =
    "usage: huella person show ID --db DIR [--json] [--images]\n"
    "\n"
    "Print a person's record, decrypted: every encounter (when, where, device,\n"
    "operator, purpose, legal basis), its biographic data, its link history\n"
    "and its samples (modality, position, quality, templates), and the\n"
    "possible-duplicate cases that name the person.  --json for everything as\n"
    "JSON; --images adds the images (base64) to it.  The output holds personal\n"
    "data: show it only to those entitled to see it.\n";

static const char erase_help[] =
    "usage: huella person erase ID --db DIR --reason TEXT [--operator WHO] [--json]\n"
    "\n"
    "Erase a person: their encryption key and every encounter, sample, image,\n"
    "template and biographic document go; cases that named them say that a\n"
    "person was erased; a tombstone (id, time, operator, reason) remains.\n"
    "The write-ahead log is then truncated.  Not undoable.  Limits of what\n"
    "erasure can promise on a real disk: docs/store.md.\n";

static const char link_help[] =
    "usage: huella person link --db DIR --encounter E --to PERSON --operator WHO\n"
    "                          --reason WHY [--json]\n"
    "       huella person unlink --db DIR --encounter E --operator WHO --reason WHY [--json]\n"
    "       huella person relink --db DIR --encounter E --operator WHO --reason WHY [--json]\n"
    "\n"
    "Move an encounter between persons, by a person's decision, with history:\n"
    "  link    the encounter joins an existing PERSON;\n"
    "  unlink  undo a link: the encounter goes to a new person of its own;\n"
    "  relink  undo the last link event: back to the person it had before.\n"
    "Who (--operator) and why (--reason) are required and kept in the encounter's\n"
    "link history, which is printed afterwards (nothing is ever deleted from it).\n";

enum { OPT_DB = 256, OPT_REASON, OPT_OPERATOR, OPT_IMAGES, OPT_ENCOUNTER, OPT_TO };

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

/* A link's reason; the evidence of an automatic link (a JSON object, see
 * docs/identification.md) in one line (--json has all of it). */
static void describe_why(const char *why, char *out, size_t cap)
{
    json_t *o = why != NULL && why[0] == '{' ? json_loads(why, 0, NULL) : NULL;
    json_t *c = json_object_get(o, "candidate");
    if (c == NULL)
        snprintf(out, cap, "%s", why != NULL ? why : "");
    else
        snprintf(out, cap,
                 "de-duplication, fused LLR %.2f >= strict threshold %.2f for %lld persons "
                 "(%zu fingers/irises compared)",
                 json_number_value(json_object_get(c, "fused_llr")),
                 json_number_value(json_object_get(o, "threshold_strict")),
                 (long long)json_integer_value(json_object_get(o, "gallery_persons")),
                 json_array_size(json_object_get(c, "evidence")));
    json_decref(o);
}

static void print_person(const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    printf("person %lld (created %s)\n",
           (long long)json_integer_value(json_object_get(o, "person_id")),
           json_string_value(json_object_get(o, "created")));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(o, "encounters"), i, e)
    {
        printf("  encounter %lld: %s at %s, device %s, operator %s\n",
               (long long)json_integer_value(json_object_get(e, "encounter_id")),
               json_string_value(json_object_get(e, "captured")),
               json_string_value(json_object_get(e, "site")),
               json_string_value(json_object_get(e, "device")),
               json_string_value(json_object_get(e, "operator")));
        printf("    purpose: %s; legal basis: %s%s\n",
               json_string_value(json_object_get(e, "purpose")),
               json_string_value(json_object_get(e, "legal_basis")),
               json_is_true(json_object_get(e, "juvenile")) ? "; JUVENILE" : "");
        json_t *bio = json_object_get(e, "bio");
        size_t k;
        json_t *n;
        json_array_foreach(json_object_get(bio, "names"), k, n)
            printf("    name: %s (%s)\n", json_string_value(json_object_get(n, "written")),
                   json_string_value(json_object_get(n, "latin")));
        if (json_object_get(bio, "date_of_birth") != NULL)
            printf("    born: %s\n", json_string_value(json_object_get(bio, "date_of_birth")));
        json_t *smp;
        json_array_foreach(json_object_get(e, "samples"), k, smp)
        {
            json_t *q = json_object_get(smp, "quality");
            json_t *pos = json_object_get(smp, "finger_position");
            json_t *eye = json_object_get(smp, "eye");
            char where[32] = "";
            if (pos != NULL)
                snprintf(where, sizeof(where), " %lld", (long long)json_integer_value(pos));
            else if (eye != NULL)
                snprintf(where, sizeof(where), " %s", json_string_value(eye));
            char quality[16] = "unknown";
            if (!json_is_null(q))
                snprintf(quality, sizeof(quality), "%lld", (long long)json_integer_value(q));
            printf("    sample %lld: %s%s, quality %s, %lld-byte %s image\n",
                   (long long)json_integer_value(json_object_get(smp, "sample_id")),
                   json_string_value(json_object_get(smp, "modality")), where, quality,
                   (long long)json_integer_value(json_object_get(smp, "image_bytes")),
                   json_is_null(json_object_get(smp, "image_format"))
                       ? "no"
                       : json_string_value(json_object_get(smp, "image_format")));
        }
        json_t *l;
        json_array_foreach(json_object_get(e, "links"), k, l)
        {
            char why[160];
            describe_why(json_string_value(json_object_get(l, "why")), why, sizeof(why));
            printf("    %s by %s at %s: %s\n", json_string_value(json_object_get(l, "action")),
                   json_string_value(json_object_get(l, "who")),
                   json_string_value(json_object_get(l, "at")), why);
        }
    }
    json_t *c;
    json_array_foreach(json_object_get(o, "cases"), i, c)
        printf("  case %lld: %s\n", (long long)json_integer_value(json_object_get(c, "case_id")),
               json_string_value(json_object_get(c, "status")));
    json_decref(o);
}

static int person_verb(int argc, char **argv, bool erase)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"reason", required_argument, NULL, OPT_REASON},
                                         {"operator", required_argument, NULL, OPT_OPERATOR},
                                         {"images", no_argument, NULL, OPT_IMAGES},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    const char *cmd = erase ? "person erase" : "person show";
    cli_opts opt = {0};
    const char *dir = NULL, *reason = NULL, *op = NULL;
    bool images = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_DB)
            dir = optarg;
        else if (c == OPT_REASON && erase)
            reason = optarg;
        else if (c == OPT_OPERATOR && erase)
            op = optarg;
        else if (c == OPT_IMAGES && !erase)
            images = true;
        else {
            int r =
                cli_common_option(c == OPT_REASON || c == OPT_OPERATOR || c == OPT_IMAGES ? '?' : c,
                                  cmd, erase ? erase_help : show_help, &opt);
            if (r != CLI_CONTINUE)
                return r;
        }
    }
    int64_t id;
    if (optind + 1 != argc || !parse_id(argv[optind], &id))
        return cli_usage_error(cmd, "want one person id (a positive integer)");
    if (dir == NULL)
        return cli_usage_error(cmd, "want --db DIR");
    if (erase && (reason == NULL || reason[0] == '\0'))
        return cli_usage_error(cmd, "want --reason TEXT (it is kept with the tombstone)");
    if (erase && op == NULL)
        op = getenv("USER") != NULL ? getenv("USER") : "cli";
    huella_error err;
    huella_store *s = NULL;
    huella_status st = huella_store_open(dir, &s, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    int status = EXIT_OK;
    if (erase) {
        st = huella_store_person_erase(s, id, op, reason, &err);
        if (st == HUELLA_OK && opt.json)
            status = cli_print_json(
                json_pack("{s:I, s:b}", "person_id", (json_int_t)id, "erased", 1), JSON_COMPACT);
        else if (st == HUELLA_OK)
            printf("person %lld erased\n", (long long)id);
    } else {
        char *json = NULL;
        st = huella_store_person_json(s, id, images, &json, &err);
        if (st == HUELLA_OK) {
            if (opt.json || images)
                puts(json);
            else
                print_person(json);
        }
        free(json);
    }
    huella_store_close(s);
    return st != HUELLA_OK ? cli_fail(st, &err) : status;
}

static int person_show(int argc, char **argv)
{
    return person_verb(argc, argv, false);
}

static int person_erase(int argc, char **argv)
{
    return person_verb(argc, argv, true);
}

typedef enum move_kind { MOVE_LINK, MOVE_UNLINK, MOVE_RELINK } move_kind;

static int person_move(int argc, char **argv, move_kind kind)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"encounter", required_argument, NULL, OPT_ENCOUNTER},
                                         {"to", required_argument, NULL, OPT_TO},
                                         {"reason", required_argument, NULL, OPT_REASON},
                                         {"operator", required_argument, NULL, OPT_OPERATOR},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    static const char *const names[3] = {"person link", "person unlink", "person relink"};
    const char *cmd = names[kind];
    cli_opts opt = {0};
    const char *dir = NULL, *reason = NULL, *op = NULL;
    int64_t enc = 0, to = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = CLI_CONTINUE;
        if (c == OPT_DB)
            dir = optarg;
        else if (c == OPT_ENCOUNTER) {
            if (!parse_id(optarg, &enc))
                r = cli_usage_error(cmd, "--encounter wants an encounter id");
        } else if (c == OPT_TO && kind == MOVE_LINK) {
            if (!parse_id(optarg, &to))
                r = cli_usage_error(cmd, "--to wants a person id");
        } else if (c == OPT_REASON)
            reason = optarg;
        else if (c == OPT_OPERATOR)
            op = optarg;
        else
            r = cli_common_option(c == OPT_TO ? '?' : c, cmd, link_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL || enc == 0)
        return cli_usage_error(cmd, "want --db DIR and --encounter E");
    if (kind == MOVE_LINK && to == 0)
        return cli_usage_error(cmd, "want --to PERSON");
    if (op == NULL || op[0] == '\0' || reason == NULL || reason[0] == '\0')
        return cli_usage_error(cmd, "want --operator WHO and --reason WHY (both are kept)");
    huella_error err;
    huella_store *s = NULL;
    int64_t person = 0;
    char *hist = NULL;
    huella_status st = huella_store_open(dir, &s, &err);
    if (st == HUELLA_OK) {
        if (kind == MOVE_LINK)
            st = huella_store_encounter_link(s, enc, to, op, reason, &err);
        else if (kind == MOVE_UNLINK)
            st = huella_store_encounter_unlink(s, enc, op, reason, NULL, &err);
        else
            st = huella_store_encounter_relink(s, enc, op, reason, &err);
    }
    if (st == HUELLA_OK)
        st = huella_store_encounter_person(s, enc, &person, &err);
    if (st == HUELLA_OK)
        st = huella_store_link_history(s, enc, &hist, &err);
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        json_t *h = json_loads(hist, 0, NULL);
        if (opt.json) {
            status = cli_print_json(json_pack("{s:I, s:I, s:o}", "encounter_id", (json_int_t)enc,
                                              "person_id", (json_int_t)person, "history", h),
                                    JSON_INDENT(2));
        } else {
            printf("encounter %lld now belongs to person %lld; its history:\n", (long long)enc,
                   (long long)person);
            size_t i;
            json_t *l;
            json_array_foreach(h, i, l)
            {
                char why[160];
                describe_why(json_string_value(json_object_get(l, "why")), why, sizeof(why));
                printf("  %s by %s at %s: %s\n", json_string_value(json_object_get(l, "action")),
                       json_string_value(json_object_get(l, "who")),
                       json_string_value(json_object_get(l, "at")), why);
            }
            json_decref(h);
        }
    }
    free(hist);
    huella_store_close(s);
    return st != HUELLA_OK ? cli_fail(st, &err) : status;
}

static int person_link(int argc, char **argv)
{
    return person_move(argc, argv, MOVE_LINK);
}

static int person_unlink(int argc, char **argv)
{
    return person_move(argc, argv, MOVE_UNLINK);
}

static int person_relink(int argc, char **argv)
{
    return person_move(argc, argv, MOVE_RELINK);
}

int cmd_person(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"show", person_show, "a person's record, decrypted (personal data!)"},
        {"erase", person_erase, "erase a person and everything of theirs"},
        {"link", person_link, "move an encounter to an existing person (who, why)"},
        {"unlink", person_unlink, "undo a link: the encounter gets a new person"},
        {"relink", person_relink, "undo the last link event of an encounter"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("person", person_help, verbs, argc, argv);
}
