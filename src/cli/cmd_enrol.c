/*
 * cmd_enrol.c - `huella enrol`: capture images and biographic data of one
 * encounter into the store with de-duplication (huella_enrol_dedup): the
 * encounter is linked to a known person, starts a new person with a
 * possible-duplicate case, or starts a new person.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/an2k.h"
#include "huella/an2k_enrol.h"
#include "huella/dedup.h"
#include "huella/image.h"
#include "huella/store.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char enrol_help[] =
    "usage: huella enrol --db DIR [--finger N=IMG ...] [--iris left|right=IMG ...]\n"
    "                    [--face IMG] [--bio FILE.json] --site S --device D\n"
    "                    --operator O --purpose P --legal-basis L\n"
    "                    [--captured YYYY-MM-DDThh:mm:ssZ] [--ppi N] [--json]\n"
    "                    [--top K] [--fpir-strict F] [--fpir-review F] [--no-dedup]\n"
    "       huella enrol --db DIR --an2k FILE [--an2k-map MAP.json] --site S ... (as above)\n"
    "\n"
    "Enrol one encounter: finger images (N = finger position 1-10 as in\n"
    "ANSI/NIST-ITL: 1 right thumb ... 5 right little, 6 left thumb ... 10 left\n"
    "little) get their minutiae extracted, eye images their iris code, a face photo\n"
    "its face template (detection, alignment, quality, descriptor).  Then the\n"
    "capture is searched against everyone in the store (de-duplication):\n"
    "  linked  the best candidate passes the strict threshold (FPIR --fpir-strict,\n"
    "          default 0.001): the encounter joins that person, with the evidence\n"
    "          kept in the link history;\n"
    "  case    a candidate is only in the review band (FPIR --fpir-review, default\n"
    "          0.01), or a juvenile capture is involved on either side (never\n"
    "          linked automatically): a new person AND a possible-duplicate case for\n"
    "          a person to decide ('huella case'); nothing is merged;\n"
    "  new     otherwise: a new person.\n"
    "Images, templates and biographic data are encrypted and stored in one\n"
    "transaction.  --no-dedup skips the search (always a new person: for bulk\n"
    "loads of records known to be distinct).  --ppi is the finger images'\n"
    "resolution when their files do not declare one (default 500).  --captured\n"
    "defaults to now (UTC).\n"
    "\n"
    "--bio FILE.json (every member optional; unknown members are refused):\n"
    "  {\"names\": [{\"written\": \"Иван Петров\", \"latin\": \"Ivan Petrov\",\n"
    "              \"kind\": \"primary\"}],          (or plain strings)\n"
    "   \"date_of_birth\": \"1990\" | \"1990-04\" | \"1990-04-12\",\n"
    "   \"sex\": \"F\" | \"M\" | \"X\" | \"U\",\n"
    "   \"nationality\": \"ESP\" | [\"ESP\", \"FRA\"],      (ICAO 3-letter codes)\n"
    "   \"documents\": [{\"type\": \"passport\", \"number\": \"X123\",\n"
    "                  \"issuing_state\": \"ESP\", \"expiry\": \"2031-05-01\"}]}\n"
    "\n"
    "--an2k FILE imports an ANSI/NIST-ITL transaction as the encounter: fingers from\n"
    "Type-4 and Type-14 records by their finger position (FGP 1-10; slaps, plain\n"
    "thumbs and multi-finger images are skipped with a note), irises from Type-17\n"
    "(eye position), the face from Type-10 (searched like --face).  Type-2 text goes\n"
    "into the biographic data only through --an2k-map, a JSON object from field tags\n"
    "to bio keys: {\"2.018\": \"names\", \"2.022\": \"date_of_birth\", \"2.024\": \"sex\",\n"
    "\"2.021\": \"nationality\"} (dates YYYYMMDD become YYYY-MM-DD).\n"
    "\n"
    "Prints the outcome, the person, the encounter, each sample's quality and the\n"
    "candidates with their evidence.  --json: outcome (new|linked|case), person_id,\n"
    "encounter_id, case_id (null without a case), juvenile, why, gallery_persons,\n"
    "threshold_strict, threshold_review, candidates, samples.\n";

enum {
    OPT_DB = 256,
    OPT_FINGER,
    OPT_IRIS,
    OPT_FACE,
    OPT_BIO,
    OPT_SITE,
    OPT_DEVICE,
    OPT_OPERATOR,
    OPT_PURPOSE,
    OPT_LEGAL,
    OPT_CAPTURED,
    OPT_TOP,
    OPT_FPIR_STRICT,
    OPT_FPIR_REVIEW,
    OPT_NO_DEDUP,
    OPT_AN2K,
    OPT_AN2K_MAP
};

#define MAX_INPUTS 16

typedef struct enrol_args {
    huella_enrol_input in[MAX_INPUTS];
    const char *path[MAX_INPUTS];
    char label[MAX_INPUTS][48]; /* AN2K inputs: "an2k record N" */
    json_t *notes;              /* AN2K: what was skipped and why */
    size_t n;
} enrol_args;

static int add_input(enrol_args *a, huella_store_modality m, const char *spec)
{
    if (a->n == MAX_INPUTS)
        return cli_usage_error("enrol", "at most %d images", MAX_INPUTS);
    const char *path = spec;
    unsigned pos = 0;
    if (m != HUELLA_STORE_FACE) {
        const char *eq = strchr(spec, '=');
        if (eq == NULL || eq == spec)
            return cli_usage_error("enrol", "'%s': want POSITION=IMAGE", spec);
        char p[16];
        size_t n = (size_t)(eq - spec);
        if (n >= sizeof(p))
            return cli_usage_error("enrol", "'%s': bad position", spec);
        memcpy(p, spec, n);
        p[n] = '\0';
        path = eq + 1;
        if (m == HUELLA_STORE_FINGER) {
            if (!cli_parse_uint(p, &pos) || pos < 1 || pos > 10)
                return cli_usage_error("enrol", "--finger %s: the position is 1..10", spec);
        } else if (strcmp(p, "right") == 0) {
            pos = 1;
        } else if (strcmp(p, "left") == 0) {
            pos = 2;
        } else {
            return cli_usage_error("enrol", "--iris %s: the eye is left or right", spec);
        }
    }
    a->in[a->n] = (huella_enrol_input){m, pos, path, NULL, 0};
    a->path[a->n] = path;
    a->n++;
    return CLI_CONTINUE;
}

/* ---- Import from an ANSI/NIST-ITL transaction ---------------------------- */

static void note(enrol_args *a, size_t rec, unsigned type, const char *fmt, ...)
    HUELLA_PRINTF(4, 5);
static void note(enrol_args *a, size_t rec, unsigned type, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(a->notes, json_pack("{s:I, s:I, s:s}", "record", (json_int_t)rec + 1,
                                              "type", (json_int_t)type, "note", msg));
}

static bool have_position(const enrol_args *a, huella_store_modality m, unsigned pos)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->in[i].modality == m && a->in[i].position == pos)
            return true;
    return false;
}

/* Turn the transaction's image records into enrolment inputs (the
 * mapping is the library's: huella/an2k_enrol.h). */
static huella_status an2k_inputs(const char *path, enrol_args *a, double *ppi, huella_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    huella_an2k_encounter *e = NULL;
    huella_status st = huella_file_read(path, 256u << 20, &data, &len, err);
    if (st == HUELLA_OK)
        st = huella_an2k_encounter_read(data, len, &e, err);
    free(data);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s: ", path);
        return st;
    }
    json_t *notes = json_loads(e->notes_json, 0, NULL);
    json_array_extend(a->notes, notes);
    json_decref(notes);
    for (size_t i = 0; i < e->n; i++) {
        huella_enrol_input *in = &e->inputs[i];
        unsigned rec = 0, type = 0;
        sscanf(e->label[i], "an2k record %u (Type-%u)", &rec, &type);
        if (in->modality != HUELLA_STORE_FACE && have_position(a, in->modality, in->position)) {
            note(a, rec - 1, type, "skipped: %s position %u was already given",
                 huella_store_modality_name(in->modality), in->position);
            continue;
        }
        if (a->n == MAX_INPUTS) {
            note(a, rec - 1, type, "skipped: more than %d images", MAX_INPUTS);
            continue;
        }
        snprintf(a->label[a->n], sizeof(a->label[a->n]), "%s", e->label[i]);
        a->path[a->n] = a->label[a->n];
        a->in[a->n] =
            (huella_enrol_input){in->modality, in->position, a->label[a->n], e->data[i], in->len};
        e->data[i] = NULL; /* a owns it now */
        a->n++;
    }
    if (*ppi == 0)
        *ppi = e->ppi;
    huella_an2k_encounter_free(e);
    return HUELLA_OK;
}

static const char *outcome_name(huella_enrol_outcome o)
{
    return o == HUELLA_ENROL_LINK ? "linked" : o == HUELLA_ENROL_CASE ? "case" : "new";
}

static json_t *result_json(const enrol_args *a, const huella_enrol_result *r,
                           const huella_dedup_result *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "outcome", json_string(outcome_name(d->outcome)));
    json_object_set_new(o, "person_id", json_integer(r->person_id));
    json_object_set_new(o, "encounter_id", json_integer(r->encounter_id));
    json_object_set_new(o, "case_id", r->case_id > 0 ? json_integer(r->case_id) : json_null());
    json_object_set_new(o, "juvenile", json_boolean(d->probe_juvenile));
    json_object_set_new(o, "why", json_string(d->why));
    if (d->search != NULL) {
        json_object_set_new(o, "gallery_persons",
                            json_integer((json_int_t)d->search->gallery_persons));
        json_object_set_new(o, "threshold_strict", json_real(d->search->threshold_strict));
        json_object_set_new(o, "threshold_review", json_real(d->search->threshold_review));
    }
    json_t *cands = d->candidates_json != NULL ? json_loads(d->candidates_json, 0, NULL) : NULL;
    json_object_set_new(o, "candidates", cands != NULL ? cands : json_array());
    json_t *arr = json_array();
    for (size_t i = 0; i < r->n_samples; i++) {
        const huella_enrol_sample *s = &r->samples[i];
        json_t *so = json_object();
        json_object_set_new(so, "sample_id", json_integer(s->sample_id));
        json_object_set_new(so, "file", json_string(a->path[i]));
        json_object_set_new(so, "modality", json_string(huella_store_modality_name(s->modality)));
        if (s->modality == HUELLA_STORE_FINGER)
            json_object_set_new(so, "finger_position", json_integer(s->position));
        else if (s->modality == HUELLA_STORE_IRIS)
            json_object_set_new(so, "eye", json_string(s->position == 1 ? "right" : "left"));
        json_object_set_new(so, "quality",
                            s->quality >= 0 ? json_integer(s->quality) : json_null());
        json_object_set_new(so, "template_bytes", json_integer((json_int_t)s->tmpl_len));
        json_array_append_new(arr, so);
    }
    json_object_set_new(o, "samples", arr);
    if (a->notes != NULL && json_array_size(a->notes) > 0)
        json_object_set_new(o, "an2k_notes", json_incref(a->notes));
    return o;
}

int cmd_enrol(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"finger", required_argument, NULL, OPT_FINGER},
                                         {"iris", required_argument, NULL, OPT_IRIS},
                                         {"face", required_argument, NULL, OPT_FACE},
                                         {"bio", required_argument, NULL, OPT_BIO},
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"device", required_argument, NULL, OPT_DEVICE},
                                         {"operator", required_argument, NULL, OPT_OPERATOR},
                                         {"purpose", required_argument, NULL, OPT_PURPOSE},
                                         {"legal-basis", required_argument, NULL, OPT_LEGAL},
                                         {"captured", required_argument, NULL, OPT_CAPTURED},
                                         {"ppi", required_argument, NULL, OPT_PPI},
                                         {"top", required_argument, NULL, OPT_TOP},
                                         {"fpir-strict", required_argument, NULL, OPT_FPIR_STRICT},
                                         {"fpir-review", required_argument, NULL, OPT_FPIR_REVIEW},
                                         {"no-dedup", no_argument, NULL, OPT_NO_DEDUP},
                                         {"an2k", required_argument, NULL, OPT_AN2K},
                                         {"an2k-map", required_argument, NULL, OPT_AN2K_MAP},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    enrol_args a = {0};
    huella_dedup_options dopt = {0};
    unsigned top = 20;
    huella_enrol_request req = {0};
    const char *dir = NULL, *bio_path = NULL, *an2k_path = NULL, *an2k_map = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = CLI_CONTINUE;
        switch (c) {
        case OPT_DB:
            dir = optarg;
            break;
        case OPT_FINGER:
            r = add_input(&a, HUELLA_STORE_FINGER, optarg);
            break;
        case OPT_IRIS:
            r = add_input(&a, HUELLA_STORE_IRIS, optarg);
            break;
        case OPT_FACE:
            r = add_input(&a, HUELLA_STORE_FACE, optarg);
            break;
        case OPT_BIO:
            bio_path = optarg;
            break;
        case OPT_SITE:
            req.encounter.site = optarg;
            break;
        case OPT_DEVICE:
            req.encounter.device = optarg;
            break;
        case OPT_OPERATOR:
            req.encounter.operator_id = optarg;
            break;
        case OPT_PURPOSE:
            req.encounter.purpose = optarg;
            break;
        case OPT_LEGAL:
            req.encounter.legal_basis = optarg;
            break;
        case OPT_CAPTURED:
            req.encounter.captured = optarg;
            break;
        case OPT_TOP:
            if (!cli_parse_uint(optarg, &top) || top == 0 || top > 1000)
                r = cli_usage_error("enrol", "--top wants 1..1000");
            dopt.identify.top_k = top;
            break;
        case OPT_FPIR_STRICT:
            if (!cli_parse_double(optarg, &dopt.identify.fpir_strict) ||
                dopt.identify.fpir_strict >= 1)
                r = cli_usage_error("enrol", "--fpir-strict wants a number in (0, 1)");
            break;
        case OPT_FPIR_REVIEW:
            if (!cli_parse_double(optarg, &dopt.identify.fpir_review) ||
                dopt.identify.fpir_review >= 1)
                r = cli_usage_error("enrol", "--fpir-review wants a number in (0, 1)");
            break;
        case OPT_NO_DEDUP:
            dopt.no_dedup = true;
            break;
        case OPT_AN2K:
            an2k_path = optarg;
            break;
        case OPT_AN2K_MAP:
            an2k_map = optarg;
            break;
        default:
            r = cli_common_option(c, "enrol", enrol_help, &opt);
        }
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind != argc)
        return cli_usage_error("enrol", "unexpected argument '%s'", argv[optind]);
    if (dir == NULL)
        return cli_usage_error("enrol", "want --db DIR");
    if (a.n == 0 && an2k_path == NULL)
        return cli_usage_error("enrol", "want at least one --finger, --iris or --face image, "
                                        "or --an2k FILE");
    if (an2k_map != NULL && (an2k_path == NULL || bio_path != NULL))
        return cli_usage_error("enrol", "--an2k-map goes with --an2k and instead of --bio");
    if (req.encounter.site == NULL || req.encounter.device == NULL ||
        req.encounter.operator_id == NULL || req.encounter.purpose == NULL ||
        req.encounter.legal_basis == NULL)
        return cli_usage_error("enrol",
                               "want --site, --device, --operator, --purpose and --legal-basis");
    huella_error err;
    huella_status st = HUELLA_OK;
    uint8_t *bio = NULL;
    size_t bio_len = 0;
    if (bio_path != NULL) {
        st = huella_file_read(bio_path, 1u << 20, &bio, &bio_len, &err);
        if (st != HUELLA_OK)
            return cli_fail(st, &err);
    }
    double an2k_ppi = 0;
    if (an2k_path != NULL) {
        a.notes = json_array();
        st = an2k_inputs(an2k_path, &a, &an2k_ppi, &err);
        if (st == HUELLA_OK && a.n == 0)
            st = huella_error_set(&err, HUELLA_E_INPUT,
                                  "%s: no image record to enrol (%zu image records skipped: "
                                  "slaps, plain thumbs, unknown positions or other types)",
                                  an2k_path, json_array_size(a.notes));
        if (st == HUELLA_OK && opt.ppi == 0)
            opt.ppi = an2k_ppi;
        if (st == HUELLA_OK && an2k_map != NULL) {
            huella_an2k *txn = NULL;
            uint8_t *raw = NULL, *map = NULL;
            size_t raw_len = 0, map_len = 0;
            st = huella_file_read(an2k_path, 256u << 20, &raw, &raw_len, &err);
            if (st == HUELLA_OK)
                st = huella_an2k_read(raw, raw_len, &txn, &err);
            if (st == HUELLA_OK)
                st = huella_file_read(an2k_map, 1u << 20, &map, &map_len, &err);
            if (st == HUELLA_OK) {
                st = huella_an2k_bio_map(txn, (const char *)map, map_len, (char **)&bio, &err);
                if (st != HUELLA_OK)
                    huella_error_prefix(&err, "%s: ", an2k_map);
            }
            free(map);
            huella_an2k_free(txn);
            free(raw);
        }
    }
    for (size_t i = 0; st == HUELLA_OK && i < a.n; i++) {
        if (a.in[i].data != NULL)
            continue;
        uint8_t *data;
        st = huella_file_read(a.path[i], HUELLA_STORE_MAX_IMAGE, &data, &a.in[i].len, &err);
        a.in[i].data = data;
    }
    req.inputs = a.in;
    req.n_inputs = a.n;
    req.ppi = opt.ppi;
    req.bio_json = (const char *)bio;
    huella_store *s = NULL;
    huella_gallery *g = NULL;
    huella_enrol_result *r = NULL;
    huella_dedup_result *d = NULL;
    if (st == HUELLA_OK)
        st = huella_store_open(dir, &s, &err);
    if (st == HUELLA_OK)
        st = huella_gallery_new(&g, &err);
    huella_gallery_load_stats ls = {0};
    if (st == HUELLA_OK && !dopt.no_dedup) {
        st = huella_gallery_load_store(s, g, 0, &ls, &err);
        if (st == HUELLA_OK)
            cli_note_rebuilt(&ls, dir);
    }
    if (st == HUELLA_OK)
        st = huella_enrol_dedup(s, g, &req, &dopt, &r, &d, &err);
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        if (opt.json) {
            status = cli_print_json(result_json(&a, r, d), JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        } else {
            if (d->outcome == HUELLA_ENROL_LINK)
                printf("LINKED: encounter %lld joins the already enrolled person %lld\n",
                       (long long)r->encounter_id, (long long)r->person_id);
            else if (d->outcome == HUELLA_ENROL_CASE)
                printf("POSSIBLE DUPLICATE: new person %lld (encounter %lld); case %lld opened "
                       "for a person to decide ('huella case show %lld')\n",
                       (long long)r->person_id, (long long)r->encounter_id, (long long)r->case_id,
                       (long long)r->case_id);
            else
                printf("NEW: enrolled new person %lld (encounter %lld)\n", (long long)r->person_id,
                       (long long)r->encounter_id);
            printf("why: %s%s\n", d->why,
                   d->probe_juvenile ? " (this capture is of a juvenile: less reliable)" : "");
            for (size_t i = 0; i < r->n_samples; i++) {
                const huella_enrol_sample *smp = &r->samples[i];
                char quality[16] = "unknown";
                if (smp->quality >= 0)
                    snprintf(quality, sizeof(quality), "%d", smp->quality);
                char where[16] = "";
                if (smp->modality == HUELLA_STORE_FINGER)
                    snprintf(where, sizeof(where), " %u", smp->position);
                else if (smp->modality == HUELLA_STORE_IRIS)
                    snprintf(where, sizeof(where), " %s", smp->position == 1 ? "right" : "left");
                printf("  %s%s: %s, quality %s\n", huella_store_modality_name(smp->modality), where,
                       a.path[i], quality);
            }
            size_t k;
            json_t *nt;
            json_array_foreach(a.notes, k, nt)
                printf("  note: an2k record %lld (Type-%lld) %s\n",
                       (long long)json_integer_value(json_object_get(nt, "record")),
                       (long long)json_integer_value(json_object_get(nt, "type")),
                       json_string_value(json_object_get(nt, "note")));
            if (d->search != NULL && d->candidates_json != NULL) {
                json_t *cands = json_loads(d->candidates_json, 0, NULL);
                cli_print_candidates(cands, d->search->gallery_persons, d->search->threshold_strict,
                                     d->search->threshold_review, false);
                json_decref(cands);
            }
        }
    }
    huella_dedup_result_free(d);
    huella_gallery_free(g);
    huella_enrol_result_free(r);
    huella_store_close(s);
    for (size_t i = 0; i < a.n; i++)
        free((void *)a.in[i].data);
    free(bio);
    json_decref(a.notes);
    return st != HUELLA_OK ? cli_fail(st, &err) : status;
}
