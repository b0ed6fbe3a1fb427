/*
 * cmd_watchlist.c - `huella watchlist import|list|show|expire` and
 * `huella screen`: watchlist entries with their provenance, and screening
 * a person against them.  Every screening output says that a hit is a
 * candidate for a person to review, never a decision.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/mrz.h"
#include "huella/watchlist.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char notice[] =
    "Candidate hits for a person to review: a hit is not a decision and not an identification.";

static const char watchlist_help[] =
    "huella watchlist - watchlist entries with provenance (docs/watchlists.md)\n";

static const char import_help[] =
    "usage: huella watchlist import FILE --db DIR [--today YYYY-MM-DD] [--json]\n"
    "\n"
    "Import a CSV or JSON file (schema in docs/watchlists.md) into DIR/watchlist.db\n"
    "(DIR is created, mode 0700, when missing).  All or nothing: every problem is\n"
    "listed with its CSV line or JSON entry index and field, and a file with any\n"
    "problem imports nothing (exit status 2).  The batch records the file's name,\n"
    "SHA-256 and the time.  --today sets the date against which expiry dates are\n"
    "checked (default: the current UTC date).\n";

static const char list_help[] = "usage: huella watchlist list --db DIR [--json]\n"
                                "\n"
                                "Every entry: id, category, primary name, source and reference,\n"
                                "grading, expiry date.\n";

static const char show_help[] =
    "usage: huella watchlist show ID --db DIR [--json]\n"
    "\n"
    "One entry in full: names and aliases, date of birth, nationality, sex,\n"
    "documents, biometric references, category and provenance (source, reference,\n"
    "legal basis, dates, Admiralty grading, import batch with file SHA-256).\n";

static const char expire_help[] =
    "usage: huella watchlist expire --db DIR [--now YYYY-MM-DD] [--json]\n"
    "\n"
    "Delete every entry whose expiry date is before --now (default: the current\n"
    "UTC date) and record the purge; prints how many were purged.\n";

static const char screen_help[] =
    "usage: huella screen --db DIR --name NAME [--dob DATE] [--nationality ABC]\n"
    "                     [--sex M|F|X] [--document NUMBER [--issuing-state ABC]]\n"
    "                     [--mrz LINE --mrz LINE [--mrz LINE]] [--top K]\n"
    "                     [--min-score S] [--today YYYY-MM-DD] [--json]\n"
    "\n"
    "Screen a person against the watchlist: candidate hits ranked by a combined\n"
    "score (the name comparison, raised or lowered by date of birth, nationality\n"
    "and sex as evidence, never as filters; a listed document number makes a\n"
    "hit), each with its explanation and the entry's provenance and grading.\n"
    "DATE is YYYY, YYYY-MM or YYYY-MM-DD.  With --mrz the name, date of birth,\n"
    "nationality, sex and document number come from the machine-readable zone\n"
    "(options given as well override them).  Hits are reported from --min-score\n"
    "(default 0.82), at most K (default 10).\n"
    "A hit is a candidate for a person to review, never a decision.\n";

enum {
    OPT_DB = 'd',
    OPT_TODAY = 't',
    OPT_NAME = 'n',
    OPT_DOB = 'b',
    OPT_NAT = 'N',
    OPT_SEX = 's',
    OPT_DOC = 'D',
    OPT_STATE = 'S',
    OPT_MRZ = 'm',
    OPT_TOP = 'k',
    OPT_MIN = 'M',
    OPT_FULL = 'F'
};

static huella_status open_db(const char *dir, huella_watchlist **wl, huella_error *err)
{
    return huella_watchlist_open(dir, NULL, wl, err);
}

static json_t *date_json(const huella_partial_date *d, bool has)
{
    if (!has)
        return json_null();
    char buf[16];
    huella_partial_date_format(d, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *grading_json(const huella_watchlist_entry *e)
{
    json_t *g = json_object();
    char code[8], letter[2] = {e->source_grade, '\0'};
    snprintf(code, sizeof(code), "%c%d", e->source_grade, e->info_grade);
    json_object_set_new(g, "code", json_string(code));
    json_object_set_new(g, "source_reliability", json_string(letter));
    json_object_set_new(g, "source_reliability_meaning",
                        json_string(huella_watchlist_source_grade_meaning(e->source_grade)));
    json_object_set_new(g, "info_credibility", json_integer(e->info_grade));
    json_object_set_new(g, "info_credibility_meaning",
                        json_string(huella_watchlist_info_grade_meaning(e->info_grade)));
    return g;
}

static json_t *provenance_json(const huella_watchlist_entry *e)
{
    json_t *p = json_object();
    json_object_set_new(p, "source_agency", json_string(e->source_agency));
    json_object_set_new(p, "source_ref", json_string(e->source_ref));
    json_object_set_new(p, "legal_basis", json_string(e->legal_basis));
    json_object_set_new(p, "date_added", date_json(&e->date_added, true));
    json_object_set_new(p, "review_date", date_json(&e->review_date, e->has_review_date));
    json_object_set_new(p, "expiry_date", date_json(&e->expiry_date, true));
    json_t *b = json_object();
    json_object_set_new(b, "id", json_integer(e->batch.id));
    json_object_set_new(b, "file_name", json_string(e->batch.file_name));
    json_object_set_new(b, "sha256", json_string(e->batch.sha256));
    json_object_set_new(b, "format", json_string(e->batch.format));
    json_object_set_new(b, "imported_at", json_string(e->batch.imported_at));
    json_object_set_new(p, "batch", b);
    return p;
}

static json_t *entry_json(const huella_watchlist_entry *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(e->id));
    json_object_set_new(o, "category", json_string(huella_watchlist_category_name(e->category)));
    json_object_set_new(o, "name", e->n_names > 0 ? json_string(e->names[0]) : json_null());
    json_t *al = json_array();
    for (size_t i = 1; i < e->n_names; i++)
        json_array_append_new(al, json_string(e->names[i]));
    json_object_set_new(o, "aliases", al);
    json_object_set_new(o, "birth_date", date_json(&e->birth_date, e->has_birth_date));
    json_t *nat = json_array();
    for (size_t i = 0; i < e->n_nationalities; i++)
        json_array_append_new(nat, json_string(e->nationalities[i]));
    json_object_set_new(o, "nationality", nat);
    char sex[2] = {e->sex, '\0'};
    json_object_set_new(o, "sex", e->sex ? json_string(sex) : json_null());
    json_t *docs = json_array();
    for (size_t i = 0; i < e->n_documents; i++) {
        json_t *d = json_object();
        json_object_set_new(d, "number", json_string(e->documents[i].number));
        json_object_set_new(d, "issuing_state",
                            e->documents[i].issuing_state[0]
                                ? json_string(e->documents[i].issuing_state)
                                : json_null());
        json_array_append_new(docs, d);
    }
    json_object_set_new(o, "documents", docs);
    json_t *bio = json_array();
    for (size_t i = 0; i < e->n_biometrics; i++) {
        json_t *b = json_object();
        json_object_set_new(b, "kind", json_string(e->biometrics[i].kind));
        json_object_set_new(b, "ref", json_string(e->biometrics[i].ref));
        json_array_append_new(bio, b);
    }
    json_object_set_new(o, "biometrics", bio);
    json_object_set_new(o, "remarks", e->remarks[0] ? json_string(e->remarks) : json_null());
    json_object_set_new(o, "provenance", provenance_json(e));
    json_object_set_new(o, "grading", grading_json(e));
    return o;
}

#define JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4))

/* Options shared by the watchlist verbs. */
static int parse_db(int argc, char **argv, const char *cmd, const char *help, cli_opts *opt,
                    const char **db, const char **today)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},     {"today", required_argument, NULL, OPT_TODAY},
        {"now", required_argument, NULL, OPT_TODAY}, {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},       {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_DB) {
            *db = optarg;
        } else if (c == OPT_TODAY) {
            *today = optarg;
        } else {
            int r = cli_common_option(c, cmd, help, opt);
            if (r != CLI_CONTINUE)
                return r;
        }
    }
    if (*db == NULL)
        return cli_usage_error(cmd, "--db DIR is required");
    return CLI_CONTINUE;
}

static int wl_import(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *db = NULL, *today = NULL;
    int r = parse_db(argc, argv, "watchlist import", import_help, &opt, &db, &today);
    if (r != CLI_CONTINUE)
        return r;
    if (argc - optind != 1)
        return cli_usage_error("watchlist import", "want exactly one FILE");
    const char *path = argv[optind];
    huella_error err;
    huella_watchlist *wl = NULL;
    huella_status st = open_db(db, &wl, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_watchlist_import_result res;
    st = huella_watchlist_import(wl, path, today, &res, &err);
    huella_watchlist_close(wl);
    if (st != HUELLA_OK && res.n_problems == 0)
        return cli_fail(st, &err);
    if (res.n_problems > 0) {
        /* Every problem, one per line, then the verdict. */
        fprintf(stderr, "%s", res.problems != NULL ? res.problems : "");
        fprintf(stderr, "huella: %s: %zu problem%s, nothing imported\n", path, res.n_problems,
                res.n_problems == 1 ? "" : "s");
        huella_watchlist_import_result_clear(&res);
        return EXIT_INPUT;
    }
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "batch", json_integer(res.batch_id));
        json_object_set_new(o, "entries", json_integer((json_int_t)res.entries));
        huella_watchlist_import_result_clear(&res);
        return cli_print_json(o, JSON_FLAGS);
    }
    printf("%s: imported %zu entries as batch %lld\n", path, res.entries, (long long)res.batch_id);
    huella_watchlist_import_result_clear(&res);
    return EXIT_OK;
}

static int wl_list(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *db = NULL, *today = NULL;
    int r = parse_db(argc, argv, "watchlist list", list_help, &opt, &db, &today);
    if (r != CLI_CONTINUE)
        return r;
    if (optind != argc)
        return cli_usage_error("watchlist list", "unexpected argument '%s'", argv[optind]);
    huella_error err;
    huella_watchlist *wl = NULL;
    huella_status st = open_db(db, &wl, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    int64_t *ids = NULL;
    size_t n = 0;
    st = huella_watchlist_ids(wl, &ids, &n, &err);
    huella_watchlist_entry *e = malloc(sizeof(*e));
    json_t *arr = json_array();
    if (st == HUELLA_OK && e == NULL)
        st = huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
    for (size_t i = 0; st == HUELLA_OK && i < n; i++) {
        st = huella_watchlist_get(wl, ids[i], e, &err);
        if (st != HUELLA_OK)
            break;
        if (opt.json) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(e->id));
            json_object_set_new(o, "category",
                                json_string(huella_watchlist_category_name(e->category)));
            json_object_set_new(o, "name", e->n_names ? json_string(e->names[0]) : json_null());
            json_object_set_new(o, "aliases",
                                json_integer(e->n_names ? (json_int_t)e->n_names - 1 : 0));
            json_object_set_new(o, "source_agency", json_string(e->source_agency));
            json_object_set_new(o, "source_ref", json_string(e->source_ref));
            json_t *g = grading_json(e);
            json_object_set(o, "grading", json_object_get(g, "code"));
            json_decref(g);
            json_object_set_new(o, "expiry_date", date_json(&e->expiry_date, true));
            json_array_append_new(arr, o);
        } else {
            char exp[16];
            huella_partial_date_format(&e->expiry_date, exp, sizeof(exp));
            printf("%6lld  %-20s %c%d  expires %s  %s/%s  %s\n", (long long)e->id,
                   huella_watchlist_category_name(e->category), e->source_grade, e->info_grade, exp,
                   e->source_agency, e->source_ref, e->n_names ? e->names[0] : "(document only)");
        }
    }
    free(ids);
    free(e);
    huella_watchlist_close(wl);
    if (st != HUELLA_OK) {
        json_decref(arr);
        return cli_fail(st, &err);
    }
    if (opt.json)
        return cli_print_json(arr, JSON_FLAGS);
    json_decref(arr);
    if (n == 0)
        printf("(no entries)\n");
    return EXIT_OK;
}

static int wl_show(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *db = NULL, *today = NULL;
    int r = parse_db(argc, argv, "watchlist show", show_help, &opt, &db, &today);
    if (r != CLI_CONTINUE)
        return r;
    if (argc - optind != 1)
        return cli_usage_error("watchlist show", "want exactly one ID");
    unsigned id;
    if (!cli_parse_uint(argv[optind], &id))
        return cli_usage_error("watchlist show", "ID is a number, not '%s'", argv[optind]);
    huella_error err;
    huella_watchlist *wl = NULL;
    huella_status st = open_db(db, &wl, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_watchlist_entry *e = malloc(sizeof(*e));
    st = e != NULL ? huella_watchlist_get(wl, id, e, &err)
                   : huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
    huella_watchlist_close(wl);
    if (st != HUELLA_OK) {
        free(e);
        return cli_fail(st, &err);
    }
    json_t *o = entry_json(e);
    free(e);
    if (opt.json)
        return cli_print_json(o, JSON_FLAGS);
    /* The text form is the JSON, indented: every field with its name. */
    return cli_print_json(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

static int wl_expire(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *db = NULL, *today = NULL;
    int r = parse_db(argc, argv, "watchlist expire", expire_help, &opt, &db, &today);
    if (r != CLI_CONTINUE)
        return r;
    if (optind != argc)
        return cli_usage_error("watchlist expire", "unexpected argument '%s'", argv[optind]);
    huella_error err;
    huella_watchlist *wl = NULL;
    huella_status st = open_db(db, &wl, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    size_t purged = 0, left = 0;
    st = huella_watchlist_expire(wl, today, &purged, &err);
    if (st == HUELLA_OK)
        st = huella_watchlist_count(wl, &left, &err);
    huella_watchlist_close(wl);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "purged", json_integer((json_int_t)purged));
        json_object_set_new(o, "remaining", json_integer((json_int_t)left));
        return cli_print_json(o, JSON_FLAGS);
    }
    printf("purged %zu expired entr%s, %zu remain\n", purged, purged == 1 ? "y" : "ies", left);
    return EXIT_OK;
}

int cmd_watchlist(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"import", wl_import, "import a CSV or JSON file, all or nothing"},
        {"list", wl_list, "list the entries"},
        {"show", wl_show, "one entry with its provenance and grading"},
        {"expire", wl_expire, "purge the entries whose expiry date has passed"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("watchlist", watchlist_help, verbs, argc, argv);
}

/* ---- huella screen ------------------------------------------------------------ */

static void token_span(const huella_name *nm, size_t i, size_t i2, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t end = i2 == SIZE_MAX ? i : i2;
    for (size_t k = i; k <= end && k < nm->n_tokens; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", k > i ? " " : "", nm->tokens[k].text);
    }
}

static const char *sign_word(int v)
{
    return v > 0 ? "match" : v < 0 ? "mismatch" : "unknown";
}

static json_t *hit_json(const huella_screen_query *q, const huella_screen_hit *h, size_t rank)
{
    const huella_watchlist_entry *e = &h->entry;
    json_t *o = json_object();
    json_object_set_new(o, "rank", json_integer((json_int_t)rank));
    json_object_set_new(o, "entry", json_integer(e->id));
    json_object_set_new(o, "score", json_real(h->score));
    json_object_set_new(o, "name_score", json_real(h->name_score));
    json_object_set_new(o, "category", json_string(huella_watchlist_category_name(e->category)));
    json_t *x = json_object();
    if (h->name_index != SIZE_MAX) {
        const huella_name_comparison *c = &h->comparison;
        json_object_set_new(x, "matched_name", json_string(e->names[h->name_index]));
        json_object_set_new(x, "matched_name_kind",
                            json_string(h->name_index == 0 ? "primary" : "alias"));
        json_t *al = json_array();
        for (size_t i = 0; i < c->n_aligned; i++) {
            const huella_name_alignment *a = &c->aligned[i];
            char ta[3 * HUELLA_NAMES_MAX_TOKEN], tb[3 * HUELLA_NAMES_MAX_TOKEN];
            token_span(&c->a, a->a, a->a2, ta, sizeof(ta));
            token_span(&c->b, a->b, a->b2, tb, sizeof(tb));
            json_t *t = json_object();
            json_object_set_new(t, "query", json_string(ta));
            json_object_set_new(t, "listed", json_string(tb));
            json_object_set_new(t, "how", json_string(huella_name_match_name(a->how)));
            json_object_set_new(t, "similarity", json_real(a->similarity));
            json_array_append_new(al, t);
        }
        json_object_set_new(x, "aligned", al);
        json_t *la = json_array(), *lb = json_array();
        for (size_t i = 0; i < c->n_left_a; i++)
            json_array_append_new(la, json_string(c->a.tokens[c->left_a[i]].text));
        for (size_t i = 0; i < c->n_left_b; i++)
            json_array_append_new(lb, json_string(c->b.tokens[c->left_b[i]].text));
        json_object_set_new(x, "left_in_query", la);
        json_object_set_new(x, "left_in_listed", lb);
    }
    json_t *d = json_object();
    json_object_set_new(d, "query", date_json(&q->birth_date, q->has_birth_date));
    json_object_set_new(d, "listed", date_json(&e->birth_date, e->has_birth_date));
    json_object_set_new(d, "evidence", json_string(huella_date_evidence_name(h->birth_date)));
    json_object_set_new(d, "adjustment", json_real(h->birth_date_adjustment));
    json_object_set_new(x, "birth_date", d);
    json_t *n = json_object();
    json_object_set_new(n, "query", q->nationality ? json_string(q->nationality) : json_null());
    json_t *nl = json_array();
    for (size_t i = 0; i < e->n_nationalities; i++)
        json_array_append_new(nl, json_string(e->nationalities[i]));
    json_object_set_new(n, "listed", nl);
    json_object_set_new(n, "evidence", json_string(sign_word(h->nationality)));
    json_object_set_new(n, "adjustment", json_real(h->nationality_adjustment));
    json_object_set_new(x, "nationality", n);
    json_t *s = json_object();
    char qs[2] = {q->sex, '\0'}, es[2] = {e->sex, '\0'};
    json_object_set_new(s, "query", q->sex ? json_string(qs) : json_null());
    json_object_set_new(s, "listed", e->sex ? json_string(es) : json_null());
    json_object_set_new(s, "evidence", json_string(sign_word(h->sex)));
    json_object_set_new(s, "adjustment", json_real(h->sex_adjustment));
    json_object_set_new(x, "sex", s);
    if (h->document_match) {
        json_t *doc = json_object();
        json_object_set_new(doc, "number", json_string(e->documents[h->document_index].number));
        json_object_set_new(doc, "issuing_state",
                            e->documents[h->document_index].issuing_state[0]
                                ? json_string(e->documents[h->document_index].issuing_state)
                                : json_null());
        json_object_set_new(doc, "evidence", json_string("listed document number"));
        json_object_set_new(x, "document", doc);
    }
    json_object_set_new(o, "explanation", x);
    json_object_set_new(o, "entry_details", entry_json(e));
    json_object_set(o, "provenance",
                    json_object_get(json_object_get(o, "entry_details"), "provenance"));
    json_object_set(o, "grading", json_object_get(json_object_get(o, "entry_details"), "grading"));
    return o;
}

static void print_hit(const huella_screen_query *q, const huella_screen_hit *h, size_t rank)
{
    const huella_watchlist_entry *e = &h->entry;
    printf("\n#%zu  entry %lld  score %.3f (name %.3f)  %s\n", rank, (long long)e->id, h->score,
           h->name_score, huella_watchlist_category_name(e->category));
    if (h->name_index != SIZE_MAX) {
        const huella_name_comparison *c = &h->comparison;
        printf("    matched %s: %s\n", h->name_index == 0 ? "name" : "alias",
               e->names[h->name_index]);
        for (size_t i = 0; i < c->n_aligned; i++) {
            const huella_name_alignment *a = &c->aligned[i];
            char ta[3 * HUELLA_NAMES_MAX_TOKEN], tb[3 * HUELLA_NAMES_MAX_TOKEN];
            token_span(&c->a, a->a, a->a2, ta, sizeof(ta));
            token_span(&c->b, a->b, a->b2, tb, sizeof(tb));
            printf("      %-18s ~ %-18s %.3f %s\n", ta, tb, a->similarity,
                   huella_name_match_name(a->how));
        }
        for (size_t i = 0; i < c->n_left_a; i++)
            printf("      left in query:  %s\n", c->a.tokens[c->left_a[i]].text);
        for (size_t i = 0; i < c->n_left_b; i++)
            printf("      left in listed: %s\n", c->b.tokens[c->left_b[i]].text);
    }
    char qd[16] = "-", ld[16] = "-";
    if (q->has_birth_date)
        huella_partial_date_format(&q->birth_date, qd, sizeof(qd));
    if (e->has_birth_date)
        huella_partial_date_format(&e->birth_date, ld, sizeof(ld));
    printf("    birth date: %s vs listed %s: %s (%+.2f)\n", qd, ld,
           huella_date_evidence_name(h->birth_date), h->birth_date_adjustment);
    printf("    nationality: %s (%+.2f); sex: %s (%+.2f)\n", sign_word(h->nationality),
           h->nationality_adjustment, sign_word(h->sex), h->sex_adjustment);
    if (h->document_match)
        printf("    document: %s %s is listed\n", e->documents[h->document_index].issuing_state,
               e->documents[h->document_index].number);
    char added[16], expiry[16];
    huella_partial_date_format(&e->date_added, added, sizeof(added));
    huella_partial_date_format(&e->expiry_date, expiry, sizeof(expiry));
    printf("    source: %s, ref %s; legal basis: %s\n", e->source_agency, e->source_ref,
           e->legal_basis);
    printf("    grading %c%d: source %s, information %s\n", e->source_grade, e->info_grade,
           huella_watchlist_source_grade_meaning(e->source_grade),
           huella_watchlist_info_grade_meaning(e->info_grade));
    printf("    added %s, expires %s; batch %lld (%s, sha256 %.16s..., %s)\n", added, expiry,
           (long long)e->batch.id, e->batch.file_name, e->batch.sha256, e->batch.imported_at);
}

int cmd_screen(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"dob", required_argument, NULL, OPT_DOB},
                                         {"nationality", required_argument, NULL, OPT_NAT},
                                         {"sex", required_argument, NULL, OPT_SEX},
                                         {"document", required_argument, NULL, OPT_DOC},
                                         {"issuing-state", required_argument, NULL, OPT_STATE},
                                         {"mrz", required_argument, NULL, OPT_MRZ},
                                         {"top", required_argument, NULL, OPT_TOP},
                                         {"min-score", required_argument, NULL, OPT_MIN},
                                         {"today", required_argument, NULL, OPT_TODAY},
                                         {"full-scan", no_argument, NULL, OPT_FULL},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    const char *db = NULL, *name = NULL, *dob = NULL, *nat = NULL, *sex = NULL, *doc = NULL,
               *state = NULL;
    const char *mrz[3];
    size_t n_mrz = 0;
    huella_screen_query q = {0};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            db = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_DOB:
            dob = optarg;
            break;
        case OPT_NAT:
            nat = optarg;
            break;
        case OPT_SEX:
            sex = optarg;
            break;
        case OPT_DOC:
            doc = optarg;
            break;
        case OPT_STATE:
            state = optarg;
            break;
        case OPT_MRZ:
            if (n_mrz == 3)
                return cli_usage_error("screen", "at most three --mrz lines");
            mrz[n_mrz++] = optarg;
            break;
        case OPT_TOP: {
            unsigned k;
            if (!cli_parse_uint(optarg, &k) || k == 0 || k > 1000)
                return cli_usage_error("screen", "--top wants 1..1000, not '%s'", optarg);
            q.top = k;
            break;
        }
        case OPT_MIN: {
            char *end = NULL;
            double v = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(v > 0 && v <= 1))
                return cli_usage_error("screen", "--min-score wants a number in (0, 1]");
            q.min_score = v;
            break;
        }
        case OPT_TODAY:
            q.today = optarg;
            break;
        case OPT_FULL:
            q.full_scan = true;
            break;
        default: {
            int r = cli_common_option(c, "screen", screen_help, &opt);
            if (r != CLI_CONTINUE)
                return r;
        }
        }
    }
    if (db == NULL)
        return cli_usage_error("screen", "--db DIR is required");
    if (optind != argc)
        return cli_usage_error("screen", "unexpected argument '%s'", argv[optind]);
    huella_error err;
    huella_mrz m;
    char mrz_name[128], mrz_dob[16], mrz_nat[4], mrz_state[4];
    if (n_mrz > 0) {
        huella_status st = huella_mrz_parse(mrz, n_mrz, 0, 0, 0, &m, &err);
        if (st != HUELLA_OK)
            return cli_fail(st, &err);
        if (!m.valid)
            fprintf(stderr, "huella: warning: the MRZ does not validate (check digits or "
                            "characters); its fields are used as read\n");
        snprintf(mrz_name, sizeof(mrz_name), "%s %s", m.given_names, m.surname);
        if (name == NULL && (m.surname[0] || m.given_names[0]))
            name = mrz_name;
        if (dob == NULL && m.birth_date.year != 0) {
            huella_partial_date d = {m.birth_date.year, m.birth_date.month, m.birth_date.day};
            huella_partial_date_format(&d, mrz_dob, sizeof(mrz_dob));
            dob = mrz_dob;
        }
        snprintf(mrz_nat, sizeof(mrz_nat), "%s", m.nationality);
        snprintf(mrz_state, sizeof(mrz_state), "%s", m.issuing_state);
        if (nat == NULL && mrz_nat[0])
            nat = mrz_nat;
        if (sex == NULL && (m.sex == 'M' || m.sex == 'F'))
            sex = m.sex == 'M' ? "M" : "F";
        if (doc == NULL && m.document_number[0]) {
            doc = m.document_number;
            if (state == NULL && mrz_state[0])
                state = mrz_state;
        }
    }
    if (name == NULL && doc == NULL)
        return cli_usage_error("screen", "want --name, --document or --mrz");
    q.name = name;
    if (dob != NULL) {
        if (huella_partial_date_parse(dob, &q.birth_date, &err) != HUELLA_OK)
            return cli_usage_error("screen", "--dob: %s", err.message);
        q.has_birth_date = true;
    }
    if (nat != NULL) {
        if (strlen(nat) != 3)
            return cli_usage_error("screen", "--nationality wants a three-letter code");
        q.nationality = nat;
    }
    if (sex != NULL) {
        if (strlen(sex) != 1 || strchr("MFX", sex[0]) == NULL)
            return cli_usage_error("screen", "--sex wants M, F or X");
        q.sex = sex[0];
    }
    q.document_number = doc;
    q.issuing_state = state;

    huella_watchlist *wl = NULL;
    huella_status st = open_db(db, &wl, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_screen_result res;
    uint64_t t0 = huella_now_ns();
    st = huella_watchlist_screen(wl, &q, &res, &err);
    double ms = (double)(huella_now_ns() - t0) / 1e6;
    huella_watchlist_close(wl);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "notice", json_string(notice));
        json_t *qq = json_object();
        json_object_set_new(qq, "name", name ? json_string(name) : json_null());
        json_object_set_new(qq, "birth_date", date_json(&q.birth_date, q.has_birth_date));
        json_object_set_new(qq, "nationality", nat ? json_string(nat) : json_null());
        json_object_set_new(qq, "sex", sex ? json_string(sex) : json_null());
        json_object_set_new(qq, "document_number", doc ? json_string(doc) : json_null());
        json_object_set_new(qq, "from_mrz", json_boolean(n_mrz > 0));
        json_object_set_new(o, "query", qq);
        json_object_set_new(o, "active_entries", json_integer((json_int_t)res.active_entries));
        json_object_set_new(o, "candidates", json_integer((json_int_t)res.candidates));
        json_object_set_new(o, "names_compared", json_integer((json_int_t)res.names_compared));
        json_object_set_new(o, "ms", json_real(ms));
        json_t *hits = json_array();
        for (size_t i = 0; i < res.n_hits; i++)
            json_array_append_new(hits, hit_json(&q, &res.hits[i], i + 1));
        json_object_set_new(o, "hits", hits);
        huella_screen_result_clear(&res);
        return cli_print_json(o, JSON_FLAGS);
    }
    printf("%s\n", notice);
    printf("%zu candidate hit%s among %zu active entries (%zu names compared, %.1f ms)\n",
           res.n_hits, res.n_hits == 1 ? "" : "s", res.active_entries, res.names_compared, ms);
    for (size_t i = 0; i < res.n_hits; i++)
        print_hit(&q, &res.hits[i], i + 1);
    huella_screen_result_clear(&res);
    return EXIT_OK;
}
