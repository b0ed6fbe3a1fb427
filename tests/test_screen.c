/*
 * test_screen.c - screening against a watchlist: hits explained (aligned
 * tokens, evidence, provenance and grading), screening from a travel
 * document's machine-readable zone (names, date of birth, nationality,
 * sex and the document number against lost and stolen documents), and
 * the recall of the candidate index against comparing every name, on
 * real names (../shared/data/names).
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/watchlist.h"
#include "support.h"

static const char header[] =
    "source_agency,source_ref,category,legal_basis,date_added,review_date,expiry_date,"
    "source_reliability,info_credibility,name,aliases,birth_date,nationality,sex,documents,"
    "biometrics,remarks\n";

static huella_watchlist *list_from(const char *name, const char *rows)
{
    size_t len = strlen(header) + strlen(rows) + 1;
    char *text = malloc(len);
    assert_non_null(text);
    snprintf(text, len, "%s%s", header, rows);
    char file[64], dir[700];
    snprintf(file, sizeof(file), "%s.csv", name);
    const char *path = test_tmpfile(file);
    assert_true(test_write_file(path, text, strlen(text)));
    free(text);
    snprintf(dir, sizeof(dir), "%s", test_tmpfile(name));
    huella_watchlist *wl = NULL;
    huella_error err;
    if (huella_watchlist_open(dir, NULL, &wl, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    huella_watchlist_import_result r;
    if (huella_watchlist_import(wl, test_tmpfile(file), "2026-01-01", &r, &err) != HUELLA_OK)
        fail_msg("%s", err.message);
    huella_watchlist_import_result_clear(&r);
    return wl;
}

static const char listed[] =
    "Interpol,RN-2024-77,arrest_warrant,Red notice under art. 82 of the Rules,2024-01-10,"
    "2025-01-10,2030-01-10,B,2,Juan Carlos Pérez Gómez,Juancho Perez,1970-03-04,ESP,M,,,\n"
    "Policia,DOC-5,lost_stolen_document,Stolen document report,2025-02-02,,2029-01-01,A,1,,,,,,"
    "UTO:L898902C3,,\n"
    "Europol,EU-9,discreet_check,Council Decision 2007/533 art. 36,2025-03-03,,2029-01-01,C,3,"
    "Anna Maria Eriksson,,1974-08-12,UTO,F,,,\n"
    "UN,QDi.1,sanctions,UNSC resolution 1267,2020-05-01,,2031-01-01,A,1,Ali Hassan Mohammed,"
    ",1965,IRQ,M,,,\n";

static void hits_explain_names_evidence_provenance_and_grading(void **state)
{
    (void)state;
    huella_watchlist *wl = list_from("explain", listed);
    huella_screen_result r;
    huella_screen_query q = {.name = "PEREZ GOMEZ, Juan C.",
                             .has_birth_date = true,
                             .birth_date = {1970, 4, 3},
                             .nationality = "ESP",
                             .today = "2026-01-01"};
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    assert_int_equal(r.n_hits, 1);
    const huella_screen_hit *h = &r.hits[0];
    assert_string_equal(h->entry.source_ref, "RN-2024-77");
    assert_int_equal(h->name_index, 0);
    /* Four tokens aligned, the initial among them, none left over. */
    assert_int_equal(h->comparison.n_aligned, 4);
    bool initial = false;
    for (size_t i = 0; i < h->comparison.n_aligned; i++)
        initial |= h->comparison.aligned[i].how == HUELLA_MATCH_INITIAL;
    assert_true(initial);
    assert_int_equal(h->birth_date, HUELLA_DATE_SWAPPED);
    assert_int_equal(h->nationality, 1);
    assert_true(h->score > h->name_score);
    assert_string_equal(h->entry.legal_basis, "Red notice under art. 82 of the Rules");
    assert_int_equal(h->entry.source_grade, 'B');
    assert_int_equal(h->entry.info_grade, 2);
    assert_int_equal(strlen(h->entry.batch.sha256), 64);
    assert_string_equal(h->entry.batch.file_name, "explain.csv");
    huella_screen_result_clear(&r);
    /* Neither a name nor a document: nothing to screen. */
    huella_screen_query empty = {.today = "2026-01-01"};
    assert_int_equal(huella_watchlist_screen(wl, &empty, &r, NULL), HUELLA_E_INPUT);
    huella_watchlist_close(wl);

    /* The command says a hit is a candidate, and shows the same. */
    char dir[700];
    snprintf(dir, sizeof(dir), "%s", test_tmpfile("explain"));
    char *out, *err;
    int st = test_run_huella((const char *const[]){"screen", "--db", dir, "--name",
                                                   "PEREZ GOMEZ, Juan C.", "--dob", "1970-04-03",
                                                   "--today", "2026-01-01", "--json", NULL},
                             NULL, &out, &err);
    assert_int_equal(st, 0);
    json_t *o = json_loads(out, 0, NULL);
    assert_non_null(o);
    assert_non_null(strstr(json_string_value(json_object_get(o, "notice")), "not a decision"));
    json_t *hit = json_array_get(json_object_get(o, "hits"), 0);
    json_t *x = json_object_get(hit, "explanation");
    assert_string_equal(json_string_value(json_object_get(x, "matched_name")),
                        "Juan Carlos Pérez Gómez");
    assert_int_equal(json_array_size(json_object_get(x, "aligned")), 4);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(x, "birth_date"), "evidence")),
        "day_month_swapped");
    json_t *prov = json_object_get(hit, "provenance");
    assert_string_equal(json_string_value(json_object_get(prov, "source_agency")), "Interpol");
    assert_string_equal(json_string_value(json_object_get(prov, "expiry_date")), "2030-01-10");
    assert_int_equal(
        strlen(json_string_value(json_object_get(json_object_get(prov, "batch"), "sha256"))), 64);
    json_t *g = json_object_get(hit, "grading");
    assert_string_equal(json_string_value(json_object_get(g, "code")), "B2");
    assert_string_equal(json_string_value(json_object_get(g, "info_credibility_meaning")),
                        "probably true");
    json_decref(o);
    free(out);
    free(err);
    /* The text form says it too. */
    st = test_run_huella((const char *const[]){"screen", "--db", dir, "--name", "Juan Perez Gomez",
                                               "--today", "2026-01-01", NULL},
                         NULL, &out, &err);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "not a decision"));
    assert_non_null(strstr(out, "grading B2: source usually reliable, information probably true"));
    assert_non_null(strstr(out, "legal basis: Red notice under art. 82 of the Rules"));
    free(out);
    free(err);
}

/* The lines of the specimen named tag in documents/mrz-specimens.txt. */
static size_t specimen(const char *tag, char lines[3][64])
{
    size_t len;
    char *text = (char *)test_read_file(test_data("documents/mrz-specimens.txt"), &len);
    assert_non_null(text);
    char *at = strstr(text, tag);
    assert_non_null(at);
    size_t n = 0;
    for (char *p = strstr(at, "MRZ: "); p != NULL && n < 3; p = strstr(p, "MRZ: ")) {
        char *nl = strchr(p, '\n');
        char *next_tag = strstr(at + 1, "\n# [");
        if (next_tag != NULL && p > next_tag)
            break;
        p += 5;
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(lines[n++], 64, "%.*s", (int)l, p);
        p += l;
    }
    free(text);
    return n;
}

static void screening_from_a_machine_readable_zone(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    char td3[3][64], td1[3][64];
    assert_int_equal(specimen("[TD3-UTO-ICAO]", td3), 2);
    assert_int_equal(specimen("[TD1-UTO-ICAO]", td1), 3);
    huella_watchlist *wl = list_from("mrz", listed);
    huella_watchlist_close(wl);
    char dir[700];
    snprintf(dir, sizeof(dir), "%s", test_tmpfile("mrz"));
    char *out, *err;
    int st = test_run_huella((const char *const[]){"screen", "--db", dir, "--mrz", td3[0], "--mrz",
                                                   td3[1], "--today", "2026-01-01", "--json", NULL},
                             NULL, &out, &err);
    assert_int_equal(st, 0);
    json_t *o = json_loads(out, 0, NULL);
    json_t *query = json_object_get(o, "query");
    assert_string_equal(json_string_value(json_object_get(query, "name")), "ANNA MARIA ERIKSSON");
    assert_string_equal(json_string_value(json_object_get(query, "birth_date")), "1974-08-12");
    assert_string_equal(json_string_value(json_object_get(query, "document_number")), "L898902C3");
    json_t *hits = json_object_get(o, "hits");
    assert_int_equal(json_array_size(hits), 2);
    bool doc = false, person = false;
    for (size_t i = 0; i < 2; i++) {
        json_t *h = json_array_get(hits, i);
        json_t *x = json_object_get(h, "explanation");
        const char *cat = json_string_value(json_object_get(h, "category"));
        if (strcmp(cat, "lost_stolen_document") == 0) {
            doc = true;
            json_t *d = json_object_get(x, "document");
            assert_string_equal(json_string_value(json_object_get(d, "number")), "L898902C3");
            assert_string_equal(json_string_value(json_object_get(d, "issuing_state")), "UTO");
        } else {
            person = true;
            assert_string_equal(cat, "discreet_check");
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(x, "birth_date"), "evidence")),
                "exact");
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(x, "nationality"), "evidence")),
                "match");
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(x, "sex"), "evidence")), "match");
        }
    }
    assert_true(doc && person);
    json_decref(o);
    free(out);
    free(err);
    /* The identity card of the same person: her name, not a listed number. */
    st = test_run_huella((const char *const[]){"screen", "--db", dir, "--mrz", td1[0], "--mrz",
                                               td1[1], "--mrz", td1[2], "--today", "2026-01-01",
                                               "--json", NULL},
                         NULL, &out, &err);
    assert_int_equal(st, 0);
    o = json_loads(out, 0, NULL);
    hits = json_object_get(o, "hits");
    assert_int_equal(json_array_size(hits), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hits, 0), "category")),
                        "discreet_check");
    json_decref(o);
    free(out);
    free(err);
}

/* Pairs file lines: a, b, label. */
typedef struct pair {
    char *a, *b;
} pair;

static size_t read_pairs(const char *path, pair *out, size_t max, size_t every)
{
    size_t len, n = 0, k = 0;
    char *text = (char *)test_read_file(path, &len);
    assert_non_null(text);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && n < max;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *t1 = strchr(line, '\t');
        if (t1 == NULL)
            continue;
        *t1 = '\0';
        char *t2 = strchr(t1 + 1, '\t');
        if (t2 != NULL)
            *t2 = '\0';
        if (k++ % every != 0)
            continue;
        out[n].a = strdup(line);
        out[n].b = strdup(t1 + 1);
        n++;
    }
    free(text);
    return n;
}

/* Append text to a growing buffer; quoted as one CSV field when quote. */
static void append(char **buf, size_t *len, size_t *cap, const char *s, bool quote)
{
    size_t need = *len + 2 * strlen(s) + 4;
    if (need > *cap) {
        *cap = need * 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    if (quote)
        (*buf)[(*len)++] = '"';
    for (; *s; s++) {
        if (quote && *s == '"')
            (*buf)[(*len)++] = '"';
        (*buf)[(*len)++] = *s;
    }
    if (quote)
        (*buf)[(*len)++] = '"';
    (*buf)[*len] = '\0';
}

static void index_recall_on_real_names(void **state)
{
    (void)state;
    if (!test_have_data())
        skip();
    /* A quarter of the UN pairs and of the OpenSanctions cases: every name an
     * entry; a pair whose full comparison reaches the threshold must be
     * found through the index. */
    pair *pairs = calloc(2000, sizeof(pair));
    size_t n = read_pairs(test_data("names/un-pairs.tsv"), pairs, 1500, 4);
    n += read_pairs(test_data("names/opensanctions-cases.tsv"), pairs + n, 2000 - n, 4);
    assert_true(n > 800);
    huella_names *names = NULL;
    assert_int_equal(huella_names_new(NULL, &names, NULL), HUELLA_OK);
    huella_name *nm = malloc(sizeof(*nm));
    char *rows = NULL;
    size_t len = 0, cap = 0, id = 0;
    for (size_t i = 0; i < n; i++)
        for (int side = 0; side < 2; side++) {
            const char *s = side ? pairs[i].b : pairs[i].a;
            if (huella_names_normalize(names, s, nm, NULL) != HUELLA_OK)
                continue; /* a few scripts huella cannot read yet */
            char row[200];
            snprintf(row, sizeof(row), "T,%zu,sanctions,l,2025-01-01,,2030-01-01,C,3,", id++);
            append(&rows, &len, &cap, row, false);
            append(&rows, &len, &cap, s, true);
            append(&rows, &len, &cap, ",,,,,,,\n", false);
        }
    free(nm);
    huella_watchlist *wl = list_from("recall", rows);
    free(rows);
    huella_name_comparison *c = malloc(sizeof(*c));
    size_t eligible = 0, found = 0, candidates = 0, screens = 0;
    huella_screen_result r;
    for (size_t i = 0; i < n; i++) {
        /* A field of several ';'-separated spellings is compared
         * alternative by alternative; on a watchlist those are aliases,
         * each a name of its own, not one name. */
        if (strchr(pairs[i].a, ';') != NULL || strchr(pairs[i].b, ';') != NULL)
            continue;
        if (huella_names_compare(names, pairs[i].a, pairs[i].b, c, NULL) != HUELLA_OK ||
            c->score < HUELLA_NAMES_THRESHOLD)
            continue;
        eligible++;
        huella_screen_query q = {.name = pairs[i].a, .today = "2026-01-01", .top = 1000};
        assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
        candidates += r.candidates;
        screens++;
        bool hit = false;
        for (size_t h = 0; h < r.n_hits && !hit; h++)
            hit = strcmp(r.hits[h].entry.names[0], pairs[i].b) == 0;
        found += hit;
        huella_screen_result_clear(&r);
    }
    print_message("index recall on %zu real pairs at the threshold: %zu found (%.2f %%), "
                  "%.0f candidates per query of %zu names\n",
                  eligible, found, 100.0 * (double)found / (double)eligible,
                  (double)candidates / (double)screens, id);
    assert_true(eligible > 200);
    assert_true((double)found >= 0.99 * (double)eligible);
    /* The index prunes: far fewer candidates than names. */
    assert_true((double)candidates / (double)screens < 0.5 * (double)id);

    /* Against a full scan, hit for hit, on some of the queries. */
    size_t full_hits = 0, kept = 0;
    for (size_t i = 0; i < n; i += 30) {
        huella_screen_query q = {
            .name = pairs[i].a, .today = "2026-01-01", .top = 1000, .full_scan = true};
        huella_screen_result full;
        assert_int_equal(huella_watchlist_screen(wl, &q, &full, NULL), HUELLA_OK);
        q.full_scan = false;
        assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
        for (size_t h = 0; h < full.n_hits; h++) {
            full_hits++;
            for (size_t k = 0; k < r.n_hits; k++)
                if (r.hits[k].entry.id == full.hits[h].entry.id) {
                    kept++;
                    assert_double_equal(r.hits[k].score, full.hits[h].score, 1e-9);
                    break;
                }
        }
        huella_screen_result_clear(&full);
        huella_screen_result_clear(&r);
    }
    print_message("full scan: %zu hits, %zu of them found through the index\n", full_hits, kept);
    assert_true(full_hits > 40);
    assert_true((double)kept >= 0.99 * (double)full_hits);
    free(c);
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].a);
        free(pairs[i].b);
    }
    free(pairs);
    huella_watchlist_close(wl);
    huella_names_free(names);
}

/* The ranking of candidates costs a form of address as the comparison
 * does (names_internal.h): a listed "Mullah Karimdad" against a query
 * that writes the full name is a hit (the other names unsaid), and must
 * not be ranked below thousands of names that meet two query words but
 * score far under the threshold. */
static void ranking_knows_forms_of_address(void **state)
{
    (void)state;
    size_t cap = 1 << 20, len = 0;
    char *rows = malloc(cap);
    assert_non_null(rows);
    for (size_t i = 0; i < 2600; i++) {
        char filler[8] = {'T',
                          'a',
                          'k',
                          (char)('a' + i % 26),
                          (char)('a' + (i / 26) % 26),
                          (char)('a' + (i / 676) % 26),
                          'o',
                          '\0'};
        len += (size_t)snprintf(rows + len, cap - len,
                                "UN,R%zu,sanctions,basis,2020-05-01,,2031-01-01,A,1,"
                                "Rahimullah Nurzai %s,,,,,,,\n",
                                i, filler);
    }
    len += (size_t)snprintf(rows + len, cap - len,
                            "UN,TARGET,sanctions,basis,2020-05-01,,2031-01-01,A,1,"
                            "Mullah Karimdad,,,,,,,\n");
    huella_watchlist *wl = list_from("address", rows);
    free(rows);
    huella_screen_result r;
    huella_screen_query q = {
        .name = "Rahimullah Karimdad Nurzai", .today = "2026-01-01", .top = 10};
    assert_int_equal(huella_watchlist_screen(wl, &q, &r, NULL), HUELLA_OK);
    bool found = false;
    for (size_t i = 0; i < r.n_hits; i++)
        found |= strcmp(r.hits[i].entry.source_ref, "TARGET") == 0;
    print_message("%zu candidates, %zu compared, %zu hits\n", r.candidates, r.names_compared,
                  r.n_hits);
    assert_true(found);
    huella_screen_result_clear(&r);
    huella_watchlist_close(wl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hits_explain_names_evidence_provenance_and_grading),
        cmocka_unit_test(screening_from_a_machine_readable_zone),
        cmocka_unit_test(index_recall_on_real_names),
        cmocka_unit_test(ranking_knows_forms_of_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
