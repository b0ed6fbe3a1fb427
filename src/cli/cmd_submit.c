/*
 * cmd_submit.c - `huella submit`: send one encounter to huellad as a
 * capture kit does (POST /v1/encounters), keep it in the encrypted outbox
 * when the server cannot be reached, and `huella submit --flush` sends
 * what is queued (include/huella/kit.h, docs/kit.md).
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/kit.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char submit_help[] =
    "usage: huella submit --server URL --token-file F [--cacert FILE]\n"
    "                     (--an2k FILE | [--finger N=IMG ...] [--iris left|right=IMG ...]\n"
    "                      [--face IMG] [--bio FILE.json] [--mrz LINE ...])\n"
    "                     --site S --device D --operator O --purpose P --legal-basis L\n"
    "                     [--captured T] [--ppi N] [--timeout SECONDS] [--outbox DIR] [--json]\n"
    "       huella submit --flush --server URL --token-file F [--cacert FILE] [--outbox DIR]\n"
    "       huella submit --list [--outbox DIR]\n"
    "\n"
    "Send one encounter to huellad (POST /v1/encounters) as a capture kit does:\n"
    "finger images (N = position 1-10: 1 right thumb ... 6 left thumb ...), eye\n"
    "images, a face image, biographic data (the --bio document of 'huella enrol')\n"
    "and the lines of a passport's machine-readable zone (one --mrz per line), or\n"
    "a whole ANSI/NIST-ITL transaction (--an2k).  The token file holds the API\n"
    "token of 'huella token new'; --cacert the certificate that signed the\n"
    "server's (e.g. huellad's self-signed development certificate).\n"
    "\n"
    "The server answers with the encounter and person ids and the outcome:\n"
    "new (nobody matched), linked (a known person) or case (a possible duplicate\n"
    "or a watchlist candidate that an examiner must look at; nothing is decided\n"
    "on a match alone).\n"
    "\n"
    "Every encounter gets a random Idempotency-Key and is first written to the\n"
    "outbox (encrypted; default $XDG_DATA_HOME/huella/outbox or\n"
    "~/.local/share/huella/outbox).  It leaves the outbox only when the server\n"
    "answered 2xx.  When the server cannot be reached (no connection, timeout,\n"
    "untrusted certificate, 5xx) or does not accept the kit (401, 403, 404) it\n"
    "stays there: 'huella submit --flush' sends the queue oldest first, each\n"
    "with its own key, so the server never enrols one twice.  An encounter the\n"
    "server refuses (400, 413, 422, ...) moves to DIR/rejected/ (still sealed,\n"
    "not resent).  'huella submit --list' shows the queue.  Exit status: 0 sent\n"
    "(or queued: the message says so, --json \"queued\": true), 1 usage, 2\n"
    "refused by the server, 3 internal or --flush left encounters queued.\n";

enum {
    OPT_SERVER = 256,
    OPT_TOKEN,
    OPT_CACERT,
    OPT_AN2K,
    OPT_FINGER,
    OPT_IRIS,
    OPT_FACE,
    OPT_BIO,
    OPT_MRZ,
    OPT_SITE,
    OPT_DEVICE,
    OPT_OPERATOR,
    OPT_PURPOSE,
    OPT_LEGAL,
    OPT_CAPTURED,
    OPT_TIMEOUT,
    OPT_OUTBOX,
    OPT_FLUSH,
    OPT_LIST
};

#define MAX_IMAGES     16
#define MAX_IMAGE_FILE ((size_t)64 << 20)

typedef struct submit_args {
    const char *server, *token_file, *cacert, *an2k, *face, *bio, *outbox;
    const char *site, *device, *operator_id, *purpose, *legal, *captured;
    const char *finger_path[MAX_IMAGES], *iris_path[MAX_IMAGES];
    unsigned finger_pos[MAX_IMAGES], iris_pos[MAX_IMAGES];
    size_t n_fingers, n_irises;
    const char *mrz[8];
    size_t n_mrz;
    unsigned timeout;
    bool flush, list;
    cli_opts opt;
} submit_args;

static char *default_outbox(void)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char *path = NULL;
    if (xdg != NULL && xdg[0] == '/') {
        if (asprintf(&path, "%s/huella/outbox", xdg) < 0)
            path = NULL;
    } else if (home != NULL && home[0] == '/') {
        if (asprintf(&path, "%s/.local/share/huella/outbox", home) < 0)
            path = NULL;
    }
    if (path != NULL && huella_dir_make(path, 0700, NULL) != HUELLA_OK) {
        free(path);
        path = NULL;
    }
    return path;
}

static int read_token(const char *path, char **token)
{
    huella_error err;
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 4096, &data, &len, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        len--;
    char *t = malloc(len + 1);
    if (t == NULL) {
        free(data);
        return cli_fail(huella_error_set(&err, HUELLA_E_NOMEM, "out of memory"), &err);
    }
    memcpy(t, data, len);
    t[len] = '\0';
    free(data);
    if (len == 0 || strlen(t) != len || strpbrk(t, "\r\n") != NULL) {
        free(t);
        return cli_fail(
            huella_error_set(&err, HUELLA_E_INPUT, "%s: want the API token on one line", path),
            &err);
    }
    *token = t;
    return EXIT_OK;
}

static const char *str_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void print_id(const char *label, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        printf("%s %" JSON_INTEGER_FORMAT, label, json_integer_value(v));
    else if (json_is_string(v))
        printf("%s %s", label, json_string_value(v));
    else
        printf("%s ?", label);
}

/* One candidate or hit on one line: its ids and numbers, no names. */
static void print_item(json_t *item)
{
    printf("    -");
    const char *key;
    json_t *v;
    json_object_foreach(item, key, v)
    {
        if (json_is_integer(v))
            printf(" %s %" JSON_INTEGER_FORMAT, key, json_integer_value(v));
        else if (json_is_real(v))
            printf(" %s %.4g", key, json_real_value(v));
        else if (json_is_string(v) && (strstr(key, "id") != NULL || strcmp(key, "category") == 0 ||
                                       strcmp(key, "modality") == 0 || strcmp(key, "kind") == 0 ||
                                       strcmp(key, "decision") == 0 || strcmp(key, "list") == 0))
            printf(" %s %s", key, json_string_value(v));
    }
    printf("\n");
}

/* The server's answer, in words a newcomer understands. */
static void print_answer(const huella_kit_reply *r, const huella_kit_message *m)
{
    json_error_t je;
    json_t *a = r->body != NULL ? json_loads(r->body, 0, &je) : NULL;
    printf("huellad answered %ld %s (Idempotency-Key %s).\n", r->status,
           r->status == 201   ? "Created"
           : r->status == 200 ? "OK, already known"
                              : "",
           m->idempotency_key);
    if (!json_is_object(a)) {
        printf("  the answer is not a JSON object; the server may be another program.\n");
        json_decref(a);
        return;
    }
    print_id("  encounter", a, "encounter_id");
    print_id(", person", a, "person_id");
    printf("\n");
    const char *outcome = str_member(a, "outcome");
    if (outcome == NULL)
        printf("  outcome: not given\n");
    else if (strcmp(outcome, "new") == 0)
        printf("  outcome: new - nobody in the store matched; this is a new person.\n");
    else if (strcmp(outcome, "linked") == 0)
        printf("  outcome: linked - the capture matched a known person strongly enough; the\n"
               "           encounter joins that person (the evidence is in the link history).\n");
    else if (strcmp(outcome, "case") == 0) {
        printf("  outcome: case - a possible duplicate: a new person AND");
        print_id(" case", a, "case_id");
        printf(" for an examiner\n           to decide.  Nothing is merged or decided on a match "
               "alone.\n");
    } else
        printf("  outcome: %s\n", outcome);
    json_t *cand = json_object_get(a, "candidates");
    if (json_is_array(cand) && json_array_size(cand) > 0) {
        printf("  candidates (%zu, best first; similar, not necessarily the same person):\n",
               json_array_size(cand));
        size_t i;
        json_t *c;
        json_array_foreach(cand, i, c)
        {
            if (json_is_object(c))
                print_item(c);
        }
    }
    json_t *hits = json_object_get(a, "watchlist_hits");
    if (json_is_array(hits) && json_array_size(hits) > 0) {
        printf("  watchlist hits (%zu): candidates for examiners to review, not decisions;\n"
               "  do not act on them before an examiner has decided:\n",
               json_array_size(hits));
        size_t i;
        json_t *h;
        json_array_foreach(hits, i, h)
        {
            if (json_is_object(h))
                print_item(h);
        }
    } else if (json_is_array(hits)) {
        printf("  watchlist: no hit.\n");
    }
    const char *notice = str_member(a, "notice");
    if (notice != NULL)
        printf("  notice: %s\n", notice);
    json_decref(a);
}

static void print_refusal(const huella_kit_reply *r)
{
    json_error_t je;
    json_t *a = r->body != NULL ? json_loads(r->body, 0, &je) : NULL;
    const char *msg = json_is_object(a) ? str_member(a, "message") : NULL;
    const char *code = json_is_object(a) ? str_member(a, "error") : NULL;
    fprintf(stderr, "huella: the server refused the encounter: %ld %s%s%s\n", r->status,
            code != NULL ? code : "", msg != NULL ? ": " : "", msg != NULL ? msg : "");
    json_decref(a);
}

/* The JSON summary of one attempt (--json). */
static json_t *attempt_json(const char *name, const huella_kit_message *m,
                            const huella_kit_reply *r, bool queued)
{
    json_error_t je;
    json_t *ans = r->body != NULL ? json_loads(r->body, 0, &je) : NULL;
    json_t *o = json_pack("{s:s, s:b, s:b}", "idempotency_key", m->idempotency_key, "reached",
                          r->reached, "queued", queued);
    if (o == NULL) {
        json_decref(ans);
        return NULL;
    }
    if (name != NULL)
        json_object_set_new(o, "outbox_file", json_string(name));
    if (r->reached)
        json_object_set_new(o, "status", json_integer(r->status));
    else
        json_object_set_new(o, "why", json_string(r->why));
    json_object_set_new(o, "answer", ans != NULL ? ans : json_null());
    return o;
}

static int parse_args(int argc, char **argv, submit_args *a)
{
    static const struct option opts[] = {{"server", required_argument, NULL, OPT_SERVER},
                                         {"token-file", required_argument, NULL, OPT_TOKEN},
                                         {"cacert", required_argument, NULL, OPT_CACERT},
                                         {"an2k", required_argument, NULL, OPT_AN2K},
                                         {"finger", required_argument, NULL, OPT_FINGER},
                                         {"iris", required_argument, NULL, OPT_IRIS},
                                         {"face", required_argument, NULL, OPT_FACE},
                                         {"bio", required_argument, NULL, OPT_BIO},
                                         {"mrz", required_argument, NULL, OPT_MRZ},
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"device", required_argument, NULL, OPT_DEVICE},
                                         {"operator", required_argument, NULL, OPT_OPERATOR},
                                         {"purpose", required_argument, NULL, OPT_PURPOSE},
                                         {"legal-basis", required_argument, NULL, OPT_LEGAL},
                                         {"captured", required_argument, NULL, OPT_CAPTURED},
                                         {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                         {"outbox", required_argument, NULL, OPT_OUTBOX},
                                         {"flush", no_argument, NULL, OPT_FLUSH},
                                         {"list", no_argument, NULL, OPT_LIST},
                                         {"ppi", required_argument, NULL, OPT_PPI},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *eq = optarg != NULL ? strchr(optarg, '=') : NULL;
        switch (c) {
        case OPT_SERVER:
            a->server = optarg;
            break;
        case OPT_TOKEN:
            a->token_file = optarg;
            break;
        case OPT_CACERT:
            a->cacert = optarg;
            break;
        case OPT_AN2K:
            a->an2k = optarg;
            break;
        case OPT_FACE:
            a->face = optarg;
            break;
        case OPT_BIO:
            a->bio = optarg;
            break;
        case OPT_SITE:
            a->site = optarg;
            break;
        case OPT_DEVICE:
            a->device = optarg;
            break;
        case OPT_OPERATOR:
            a->operator_id = optarg;
            break;
        case OPT_PURPOSE:
            a->purpose = optarg;
            break;
        case OPT_LEGAL:
            a->legal = optarg;
            break;
        case OPT_CAPTURED:
            a->captured = optarg;
            break;
        case OPT_OUTBOX:
            a->outbox = optarg;
            break;
        case OPT_FLUSH:
            a->flush = true;
            break;
        case OPT_LIST:
            a->list = true;
            break;
        case OPT_TIMEOUT:
            if (!cli_parse_uint(optarg, &a->timeout) || a->timeout == 0 || a->timeout > 3600)
                return cli_usage_error("submit", "--timeout %s: want 1..3600 seconds", optarg);
            break;
        case OPT_MRZ:
            if (a->n_mrz == sizeof a->mrz / sizeof a->mrz[0])
                return cli_usage_error("submit", "too many --mrz lines");
            a->mrz[a->n_mrz++] = optarg;
            break;
        case OPT_FINGER: {
            unsigned pos;
            if (eq == NULL || a->n_fingers == MAX_IMAGES)
                return cli_usage_error("submit", "--finger %s: want N=IMAGE (at most %d)", optarg,
                                       MAX_IMAGES);
            *eq = '\0';
            bool ok = cli_parse_uint(optarg, &pos) && pos >= 1 && pos <= 10;
            *eq = '=';
            if (!ok)
                return cli_usage_error("submit", "--finger %s: the position is 1..10", optarg);
            a->finger_pos[a->n_fingers] = pos;
            a->finger_path[a->n_fingers++] = eq + 1;
            break;
        }
        case OPT_IRIS: {
            unsigned pos = 0;
            if (eq != NULL && (size_t)(eq - optarg) == 4 && strncmp(optarg, "left", 4) == 0)
                pos = 2;
            else if (eq != NULL && (size_t)(eq - optarg) == 5 && strncmp(optarg, "right", 5) == 0)
                pos = 1;
            if (pos == 0 || a->n_irises == MAX_IMAGES)
                return cli_usage_error("submit", "--iris %s: want left=IMAGE or right=IMAGE",
                                       optarg);
            a->iris_pos[a->n_irises] = pos;
            a->iris_path[a->n_irises++] = eq + 1;
            break;
        }
        default: {
            int r = cli_common_option(c, "submit", submit_help, &a->opt);
            if (r != CLI_CONTINUE)
                return r;
        }
        }
    }
    if (optind != argc)
        return cli_usage_error("submit", "unexpected argument %s", argv[optind]);
    return CLI_CONTINUE;
}

/* Build the message from the command line. */
static int build_message(const submit_args *a, huella_kit_message **m)
{
    huella_error err;
    huella_status st = HUELLA_OK;
    if (a->an2k != NULL) {
        uint8_t *data;
        size_t len;
        st = huella_file_read(a->an2k, (size_t)256 << 20, &data, &len, &err);
        if (st == HUELLA_OK) {
            st = huella_kit_message_an2k(data, len, a->purpose, a->legal, m, &err);
            free(data);
        }
        return st == HUELLA_OK ? EXIT_OK : cli_fail(st, &err);
    }
    huella_kit_image fingers[MAX_IMAGES] = {{0}}, irises[MAX_IMAGES] = {{0}}, face = {0};
    uint8_t *bio = NULL;
    size_t bio_len = 0;
    for (size_t i = 0; st == HUELLA_OK && i < a->n_fingers; i++) {
        fingers[i].position = a->finger_pos[i];
        st = huella_file_read(a->finger_path[i], MAX_IMAGE_FILE, (uint8_t **)&fingers[i].data,
                              &fingers[i].len, &err);
    }
    for (size_t i = 0; st == HUELLA_OK && i < a->n_irises; i++) {
        irises[i].position = a->iris_pos[i];
        st = huella_file_read(a->iris_path[i], MAX_IMAGE_FILE, (uint8_t **)&irises[i].data,
                              &irises[i].len, &err);
    }
    if (st == HUELLA_OK && a->face != NULL)
        st = huella_file_read(a->face, MAX_IMAGE_FILE, (uint8_t **)&face.data, &face.len, &err);
    char *bio_text = NULL;
    if (st == HUELLA_OK && a->bio != NULL) {
        st = huella_file_read(a->bio, 1u << 20, &bio, &bio_len, &err);
        if (st == HUELLA_OK && (bio_text = strndup((const char *)bio, bio_len)) == NULL)
            st = huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
    }
    if (st == HUELLA_OK) {
        huella_kit_encounter e = {.site = a->site,
                                  .device = a->device,
                                  .operator_id = a->operator_id,
                                  .captured_at = a->captured,
                                  .purpose = a->purpose,
                                  .legal_basis = a->legal,
                                  .fingers = fingers,
                                  .n_fingers = a->n_fingers,
                                  .ppi = a->opt.ppi,
                                  .irises = irises,
                                  .n_irises = a->n_irises,
                                  .face = a->face != NULL ? &face : NULL,
                                  .bio_json = bio_text,
                                  .mrz = a->mrz,
                                  .n_mrz = a->n_mrz};
        st = huella_kit_message_json(&e, m, &err);
        if (st != HUELLA_OK && a->bio != NULL && strstr(err.message, "biographic") != NULL)
            huella_error_prefix(&err, "%s: ", a->bio);
    }
    for (size_t i = 0; i < MAX_IMAGES; i++) {
        free((void *)fingers[i].data);
        free((void *)irises[i].data);
    }
    free((void *)face.data);
    free(bio);
    free(bio_text);
    return st == HUELLA_OK ? EXIT_OK : cli_fail(st, &err);
}

/* Send one queued message; *sent says whether it left the outbox. */
static int send_queued(const huella_kit_server *srv, const char *dir, const char *name,
                       const huella_kit_message *m, bool json, json_t *results, bool *sent)
{
    huella_error err;
    huella_kit_reply r;
    *sent = false;
    huella_status st = huella_kit_send(srv, m, &r, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    int rc = EXIT_OK;
    bool queued = false;
    if (r.reached && r.status >= 200 && r.status < 300) {
        if (!json)
            print_answer(&r, m);
        st = huella_kit_outbox_remove(dir, name, &err);
        if (st != HUELLA_OK)
            rc = cli_fail(st, &err);
        *sent = true;
    } else if (huella_kit_reply_retry(&r)) {
        queued = true;
        if (!json) {
            if (r.reached && r.status >= 500)
                printf("huellad answered %ld (a server error): the encounter stays in the outbox "
                       "%s\nas %s; send it later with 'huella submit --flush'.\n",
                       r.status, dir, name);
            else if (r.reached)
                printf("huellad answered %ld%s: the encounter stays in the outbox %s\nas %s; "
                       "fix the cause, then 'huella submit --flush'.\n",
                       r.status,
                       r.status == 401   ? " (the token is not accepted: a new one?)"
                       : r.status == 403 ? " (not allowed for this role, purpose or legal basis)"
                       : r.status == 404 ? " (no such endpoint: is this huellad, and new enough?)"
                                         : "",
                       dir, name);
            else
                printf("huellad cannot be reached (%s): the encounter is kept, encrypted, in the "
                       "outbox\n%s as %s; send it later with 'huella submit --flush'.\n",
                       r.why, dir, name);
        }
    } else {
        /* The encounter itself is refused: resending the same bytes cannot
         * help.  It leaves the queue but not the kit (DIR/rejected/). */
        print_refusal(&r);
        st = huella_kit_outbox_reject(dir, name, &err);
        if (st != HUELLA_OK)
            cli_fail(st, &err);
        else if (!json)
            printf("the encounter is kept, encrypted, in %s/rejected/%s (not resent); fix it "
                   "and submit it again.\n",
                   dir, name);
        rc = EXIT_INPUT;
    }
    if (json)
        json_array_append_new(results, attempt_json(name, m, &r, queued));
    huella_kit_reply_clear(&r);
    return rc;
}

static int list_outbox(const char *dir, bool json)
{
    huella_error err;
    char **names;
    size_t n;
    huella_status st = huella_kit_outbox_list(dir, &names, &n, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    json_t *arr = json_array();
    int rc = EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        huella_kit_message *m;
        st = huella_kit_outbox_get(dir, names[i], &m, &err);
        if (st != HUELLA_OK) {
            rc = cli_fail(st, &err);
            continue;
        }
        if (json)
            json_array_append_new(arr,
                                  json_pack("{s:s, s:s, s:s, s:I}", "file", names[i],
                                            "idempotency_key", m->idempotency_key, "content_type",
                                            m->content_type, "bytes", (json_int_t)m->body_len));
        else
            printf("%s  %s  %zu bytes  purpose %s\n", names[i], m->content_type, m->body_len,
                   m->purpose);
        huella_kit_message_free(m);
    }
    if (!json)
        printf("%zu encounter(s) queued in %s\n", n, dir);
    huella_kit_outbox_list_free(names, n);
    if (json) {
        int r =
            cli_print_json(json_pack("{s:s, s:o}", "outbox", dir, "queued", arr), JSON_INDENT(2));
        return rc != EXIT_OK ? rc : r;
    }
    json_decref(arr);
    return rc;
}

int cmd_submit(int argc, char **argv)
{
    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(submit_help, stdout);
        return EXIT_OK;
    }
    submit_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    char *outbox = a.outbox != NULL ? strdup(a.outbox) : default_outbox();
    if (outbox == NULL)
        return cli_usage_error("submit", "no outbox directory: give --outbox DIR (HOME is unset "
                                         "or the default cannot be created)");
    if (a.list) {
        rc = list_outbox(outbox, a.opt.json);
        free(outbox);
        return rc;
    }
    bool capture = a.an2k != NULL || a.n_fingers > 0 || a.n_irises > 0 || a.face != NULL ||
                   a.bio != NULL || a.n_mrz > 0;
    const char *why = NULL;
    if (a.server == NULL || a.token_file == NULL)
        why = "want --server URL --token-file FILE";
    else if (a.flush && capture)
        why = "--flush sends the outbox; give no capture with it";
    else if (!a.flush && !capture)
        why = "want --an2k FILE, or --finger / --iris / --face / --bio / --mrz";
    else if (a.an2k != NULL && capture &&
             (a.n_fingers > 0 || a.n_irises > 0 || a.face != NULL || a.bio != NULL || a.n_mrz > 0))
        why = "--an2k carries the whole encounter; give no other capture with it";
    else if (!a.flush && (a.purpose == NULL || a.legal == NULL))
        why = "want --purpose P --legal-basis L";
    else if (!a.flush && a.an2k == NULL &&
             (a.site == NULL || a.device == NULL || a.operator_id == NULL))
        why = "want --site S --device D --operator O";
    if (why != NULL) {
        free(outbox);
        return cli_usage_error("submit", "%s", why);
    }
    char *token = NULL;
    rc = read_token(a.token_file, &token);
    if (rc != EXIT_OK) {
        free(outbox);
        return rc;
    }
    huella_kit_server srv = {
        .url = a.server, .token = token, .cacert = a.cacert, .timeout_s = a.timeout};
    json_t *results = json_array();
    huella_error err;
    size_t sent_n = 0, queued_n = 0, refused_n = 0;
    if (!a.flush) {
        huella_kit_message *m = NULL;
        rc = build_message(&a, &m);
        char *name = NULL;
        if (rc == EXIT_OK) {
            /* Into the outbox first: a crash from here on resends the same key. */
            huella_status st = huella_kit_outbox_put(outbox, m, &name, &err);
            if (st != HUELLA_OK)
                rc = cli_fail(st, &err);
        }
        bool sent = false;
        if (rc == EXIT_OK)
            rc = send_queued(&srv, outbox, name, m, a.opt.json, results, &sent);
        free(name);
        huella_kit_message_free(m);
    } else {
        char **names;
        size_t n;
        huella_status st = huella_kit_outbox_list(outbox, &names, &n, &err);
        if (st != HUELLA_OK)
            rc = cli_fail(st, &err);
        for (size_t i = 0; st == HUELLA_OK && i < n; i++) {
            huella_kit_message *m;
            st = huella_kit_outbox_get(outbox, names[i], &m, &err);
            if (st != HUELLA_OK) {
                rc = cli_fail(st, &err); /* left in place for a person to look at */
                st = HUELLA_OK;
                queued_n++;
                continue;
            }
            if (!a.opt.json)
                printf("[%zu/%zu] %s\n", i + 1, n, names[i]);
            bool sent = false;
            int r = send_queued(&srv, outbox, names[i], m, a.opt.json, results, &sent);
            huella_kit_message_free(m);
            if (sent)
                sent_n++;
            else if (r == EXIT_INPUT)
                refused_n++;
            else {
                /* Unreachable or 5xx: keep the order, stop here. */
                queued_n += n - i;
                break;
            }
        }
        huella_kit_outbox_list_free(names, n);
        if (!a.opt.json)
            printf("flush: %zu sent, %zu refused, %zu still queued in %s\n", sent_n, refused_n,
                   queued_n, outbox);
        if (rc == EXIT_OK && queued_n > 0)
            rc = EXIT_INTERNAL;
        else if (rc == EXIT_OK && refused_n > 0)
            rc = EXIT_INPUT;
    }
    if (token != NULL) {
        memset(token, 0, strlen(token));
        free(token);
    }
    if (a.opt.json) {
        json_t *o = a.flush ? json_pack("{s:s, s:o, s:I, s:I, s:I}", "outbox", outbox, "attempts",
                                        results, "sent", (json_int_t)sent_n, "refused",
                                        (json_int_t)refused_n, "queued", (json_int_t)queued_n)
                            : json_incref(json_array_get(results, 0));
        if (!a.flush)
            json_decref(results);
        if (o != NULL) {
            int r = cli_print_json(o, JSON_INDENT(2));
            if (rc == EXIT_OK)
                rc = r;
        }
    } else {
        json_decref(results);
    }
    free(outbox);
    return rc;
}
