/*
 * cmd_enrol.c - `huella enrol`: capture images and biographic data of one
 * encounter into the store, as a new person (huella_enrol).
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char enrol_help[] =
    "usage: huella enrol --db DIR [--finger N=IMG ...] [--iris left|right=IMG ...]\n"
    "                    [--face IMG] [--bio FILE.json] --site S --device D\n"
    "                    --operator O --purpose P --legal-basis L\n"
    "                    [--captured YYYY-MM-DDThh:mm:ssZ] [--ppi N] [--json]\n"
    "\n"
    "Enrol one encounter: finger images (N = finger position 1-10 as in\n"
    "ANSI/NIST-ITL: 1 right thumb ... 5 right little, 6 left thumb ... 10 left\n"
    "little) get their minutiae extracted, eye images their iris code; images,\n"
    "templates and biographic data are encrypted and stored in one transaction\n"
    "as a new person.  --ppi is the finger images' resolution when their files\n"
    "do not declare one (default 500).  --captured defaults to now (UTC).\n"
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
    "Prints the person, the encounter and each sample's quality (--json for JSON).\n";

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
    OPT_CAPTURED
};

#define MAX_INPUTS 16

typedef struct enrol_args {
    huella_enrol_input in[MAX_INPUTS];
    const char *path[MAX_INPUTS];
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

static json_t *result_json(const enrol_args *a, const huella_enrol_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "person_id", json_integer(r->person_id));
    json_object_set_new(o, "encounter_id", json_integer(r->encounter_id));
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
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    enrol_args a = {0};
    huella_enrol_request req = {0};
    const char *dir = NULL, *bio_path = NULL;
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
    if (a.n == 0)
        return cli_usage_error("enrol", "want at least one --finger, --iris or --face image");
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
    for (size_t i = 0; st == HUELLA_OK && i < a.n; i++) {
        uint8_t *data;
        st = huella_file_read(a.path[i], HUELLA_STORE_MAX_IMAGE, &data, &a.in[i].len, &err);
        a.in[i].data = data;
    }
    req.inputs = a.in;
    req.n_inputs = a.n;
    req.ppi = opt.ppi;
    req.bio_json = (const char *)bio;
    huella_store *s = NULL;
    huella_enrol_result *r = NULL;
    if (st == HUELLA_OK)
        st = huella_store_open(dir, &s, &err);
    if (st == HUELLA_OK)
        st = huella_enrol(s, &req, &r, &err);
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        if (opt.json) {
            status = cli_print_json(result_json(&a, r), JSON_INDENT(2));
        } else {
            printf("enrolled person %lld (encounter %lld)\n", (long long)r->person_id,
                   (long long)r->encounter_id);
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
        }
    }
    huella_enrol_result_free(r);
    huella_store_close(s);
    for (size_t i = 0; i < a.n; i++)
        free((void *)a.in[i].data);
    free(bio);
    return st != HUELLA_OK ? cli_fail(st, &err) : status;
}
