/*
 * cmd_finger.c - `huella finger extract|compare|show`: the fingerprint
 * engine from the command line.  Every input may be an image (decoded,
 * resampled to 500 ppi, minutiae extracted) or a minutiae record (ISO/IEC
 * 19794-2:2005, ANSI INCITS 378-2004 or huella's own), told apart by content.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/finger.h"
#include "huella/image.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char finger_help[] = "huella finger - fingerprint minutiae and matching\n"
                                  "\n"
                                  "usage: huella finger <command> [options] ...\n";

static const char extract_help[] =
    "usage: huella finger extract IMG [-o OUT] [--format iso|ansi|huella] [--ppi N] [--json]\n"
    "\n"
    "Extract minutiae from a fingerprint image (resampled to 500 ppi; --ppi gives\n"
    "the resolution of images that declare none) and write them as an ISO/IEC\n"
    "19794-2:2005 record (default), an ANSI INCITS 378-2004 record or huella's\n"
    "internal template.  Without -o, print a summary (--json for the minutiae).\n";

static const char compare_help[] =
    "usage: huella finger compare A B [--ppi N] [--json] [--explain FILE.svg|FILE.png]\n"
    "\n"
    "Compare two fingerprints (each an image or a minutiae record) and print the\n"
    "similarity score (0-100, higher = more alike) and the false match rate that\n"
    "the score corresponds to on the development data.  --explain draws both\n"
    "prints side by side with the minutiae the matcher paired joined by lines.\n";

static const char quality_help[] =
    "usage: huella finger quality IMG... [--ppi N] [--json]\n"
    "\n"
    "Image quality 0-100 (higher is better, in the spirit of NFIQ 2) with the\n"
    "measures behind it: ridge area in mm2, contrast, ridge clarity; and in\n"
    "words what lowers it.  With --json, one object per line.\n";

static const char show_help[] =
    "usage: huella finger show IMG --out FILE.png|FILE.svg [--ppi N]\n"
    "\n"
    "Draw the print at 500 ppi with its minutiae: endings as circles,\n"
    "bifurcations as squares, each with a tick along its direction; cores\n"
    "(green circles) and deltas (orange triangles).\n";

typedef struct finger_input {
    huella_finger_template *tmpl;
    huella_image *image; /* the decoded image at its own resolution, when the input was one */
    double ppi;          /* --ppi: the resolution of images that declare none */
} finger_input;

/* The picture behind a template at 500 ppi: the image resampled, or a
 * blank page of the template's size when the input was a record. */
static huella_status picture_at_500(const finger_input *in, huella_image **out, huella_error *err)
{
    if (in->image == NULL) {
        huella_status st = huella_image_new(in->tmpl->width ? in->tmpl->width : 400,
                                            in->tmpl->height ? in->tmpl->height : 500, out, err);
        if (st == HUELLA_OK)
            memset((*out)->pixels, 255, (size_t)(*out)->width * (*out)->height);
        return st;
    }
    return huella_finger_image_500(in->image, in->ppi, out, err);
}

static void finger_input_free(finger_input *in)
{
    huella_finger_template_free(in->tmpl);
    huella_image_free(in->image);
}

/* Read an image or a record; keep the image when asked (for drawing). */
static huella_status load_finger(const char *path, double ppi, bool keep_image, finger_input *in,
                                 huella_error *err)
{
    memset(in, 0, sizeof(*in));
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 0, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    if (huella_image_detect(data, len) == HUELLA_IMAGE_UNKNOWN) {
        st = huella_finger_template_load(data, len, &in->tmpl, err);
    } else {
        st = huella_image_decode(data, len, NULL, &in->image, err);
        if (st == HUELLA_OK) {
            in->ppi = ppi;
            st = huella_finger_extract(in->image, ppi, NULL, &in->tmpl, err);
        }
        if (!keep_image || st != HUELLA_OK) {
            huella_image_free(in->image);
            in->image = NULL;
        }
    }
    free(data);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s: ", path);
        finger_input_free(in);
        memset(in, 0, sizeof(*in));
    }
    return st;
}

static const char *minutia_type_name(uint8_t type)
{
    return type == HUELLA_MINUTIA_ENDING        ? "ending"
           : type == HUELLA_MINUTIA_BIFURCATION ? "bifurcation"
                                                : "other";
}

static int print_template_json(const huella_finger_template *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "width", json_integer(t->width));
    json_object_set_new(o, "height", json_integer(t->height));
    json_object_set_new(o, "ppi", json_real(HUELLA_FINGER_PPI));
    json_object_set_new(o, "quality", json_integer(t->finger_quality));
    json_t *ms = json_array();
    for (size_t i = 0; i < t->n_minutiae; i++) {
        const huella_minutia *m = &t->minutiae[i];
        json_t *j = json_object();
        json_object_set_new(j, "x", json_real(round(m->x * 100) / 100));
        json_object_set_new(j, "y", json_real(round(m->y * 100) / 100));
        json_object_set_new(j, "direction_deg",
                            json_real(round(m->direction * 18000 / M_PI) / 100));
        json_object_set_new(j, "type", json_string(minutia_type_name(m->type)));
        json_object_set_new(j, "quality", json_integer(m->quality));
        json_array_append_new(ms, j);
    }
    json_object_set_new(o, "minutiae", ms);
    json_t *singular[2] = {json_array(), json_array()};
    for (size_t k = 0; k < 2; k++) {
        size_t n = k == 0 ? t->n_cores : t->n_deltas;
        const huella_finger_singular *s = k == 0 ? t->cores : t->deltas;
        for (size_t i = 0; i < n; i++) {
            json_t *j = json_object();
            json_object_set_new(j, "x", json_real(round(s[i].x * 100) / 100));
            json_object_set_new(j, "y", json_real(round(s[i].y * 100) / 100));
            json_array_append_new(singular[k], j);
        }
    }
    json_object_set_new(o, "cores", singular[0]);
    json_object_set_new(o, "deltas", singular[1]);
    return cli_print_json(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
}

static bool parse_format(const char *s, huella_finger_format *f)
{
    if (strcmp(s, "iso") == 0)
        *f = HUELLA_FINGER_FORMAT_ISO_2005;
    else if (strcmp(s, "ansi") == 0)
        *f = HUELLA_FINGER_FORMAT_ANSI_2004;
    else if (strcmp(s, "huella") == 0)
        *f = HUELLA_FINGER_FORMAT_HUELLA;
    else
        return false;
    return true;
}

static int finger_extract(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, OPT_OUTPUT}, {"format", required_argument, NULL, 'f'},
        {"ppi", required_argument, NULL, OPT_PPI},       {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},           {NULL, 0, NULL, 0}};
    huella_finger_format format = HUELLA_FINGER_FORMAT_ISO_2005;
    cli_opts opt = {0};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'f') {
            if (!parse_format(optarg, &format))
                return cli_usage_error("finger extract", "--format is iso, ansi or huella");
            continue;
        }
        int r = cli_common_option(c, "finger extract", extract_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind + 1 != argc)
        return cli_usage_error("finger extract", "want one image");
    finger_input in;
    huella_error err;
    huella_status st = load_finger(argv[optind], opt.ppi, false, &in, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.output != NULL) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        const huella_finger_template *views[1] = {in.tmpl};
        if (format == HUELLA_FINGER_FORMAT_HUELLA)
            st = huella_finger_template_encode(in.tmpl, &bytes, &len, &err);
        else
            st = huella_finger_record_write(views, 1, format, &bytes, &len, &err);
        if (st == HUELLA_OK)
            st = huella_file_write(opt.output, bytes, len, &err);
        free(bytes);
    }
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        if (opt.json)
            status = print_template_json(in.tmpl);
        else if (opt.output == NULL)
            printf("%s: %zu minutiae, %zu cores, %zu deltas, %u x %u pixels at 500 ppi\n",
                   argv[optind], in.tmpl->n_minutiae, in.tmpl->n_cores, in.tmpl->n_deltas,
                   in.tmpl->width, in.tmpl->height);
    }
    finger_input_free(&in);
    return st == HUELLA_OK ? status : cli_fail(st, &err);
}

/* The development-data FMR bracket a score falls in. */
static const char *fmr_bracket(double score, double *fmr_bound)
{
    if (score >= HUELLA_FINGER_THRESHOLD_FMR10000) {
        *fmr_bound = 0.0001;
        return "FMR <= 0.01 %";
    }
    if (score >= HUELLA_FINGER_THRESHOLD_FMR1000) {
        *fmr_bound = 0.001;
        return "FMR <= 0.1 %";
    }
    if (score >= HUELLA_FINGER_THRESHOLD_FMR100) {
        *fmr_bound = 0.01;
        return "FMR <= 1 %";
    }
    *fmr_bound = 1.0;
    return "FMR > 1 %: not a match at any documented operating point";
}

static int finger_compare(int argc, char **argv)
{
    static const struct option opts[] = {{"ppi", required_argument, NULL, OPT_PPI},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"explain", required_argument, NULL, 'e'},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    const char *explain = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'e') {
            explain = optarg;
            continue;
        }
        int r = cli_common_option(c, "finger compare", compare_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind + 2 != argc)
        return cli_usage_error("finger compare", "want two fingerprints");
    finger_input a, b;
    huella_error err;
    huella_status st = load_finger(argv[optind], opt.ppi, explain != NULL, &a, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    st = load_finger(argv[optind + 1], opt.ppi, explain != NULL, &b, &err);
    if (st != HUELLA_OK) {
        finger_input_free(&a);
        return cli_fail(st, &err);
    }
    int status = EXIT_OK;
    huella_finger_prepared *pa = NULL, *pb = NULL;
    st = huella_finger_prepare(a.tmpl, &pa, &err);
    if (st == HUELLA_OK)
        st = huella_finger_prepare(b.tmpl, &pb, &err);
    if (st == HUELLA_OK) {
        huella_finger_pairing pairs[HUELLA_FINGER_MAX_MINUTIAE];
        size_t n_pairs = 0;
        double score =
            huella_finger_compare_explain(pa, pb, pairs, HUELLA_FINGER_MAX_MINUTIAE, &n_pairs);
        if (explain != NULL) {
            huella_image *ia = NULL, *ib = NULL;
            st = picture_at_500(&a, &ia, &err);
            if (st == HUELLA_OK)
                st = picture_at_500(&b, &ib, &err);
            if (st == HUELLA_OK)
                st = huella_finger_draw_pair(ia, a.tmpl, ib, b.tmpl, pairs, n_pairs, score, explain,
                                             &err);
            huella_image_free(ia);
            huella_image_free(ib);
        }
        double bound;
        const char *bracket = fmr_bracket(score, &bound);
        if (opt.json) {
            json_t *o = json_object();
            json_object_set_new(o, "score", json_real(score));
            json_object_set_new(o, "fmr_at_most", json_real(bound));
            json_object_set_new(o, "minutiae_a", json_integer((json_int_t)a.tmpl->n_minutiae));
            json_object_set_new(o, "minutiae_b", json_integer((json_int_t)b.tmpl->n_minutiae));
            json_object_set_new(o, "paired", json_integer((json_int_t)n_pairs));
            json_t *th = json_object();
            json_object_set_new(th, "fmr100", json_real(HUELLA_FINGER_THRESHOLD_FMR100));
            json_object_set_new(th, "fmr1000", json_real(HUELLA_FINGER_THRESHOLD_FMR1000));
            json_object_set_new(th, "fmr10000", json_real(HUELLA_FINGER_THRESHOLD_FMR10000));
            json_object_set_new(o, "thresholds", th);
            status =
                cli_print_json(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        } else {
            printf("score %.1f (%s); %zu minutiae paired of %zu and %zu\n", score, bracket, n_pairs,
                   a.tmpl->n_minutiae, b.tmpl->n_minutiae);
        }
    }
    huella_finger_prepared_free(pa);
    huella_finger_prepared_free(pb);
    finger_input_free(&a);
    finger_input_free(&b);
    return st == HUELLA_OK ? status : cli_fail(st, &err);
}

static int finger_show(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, OPT_OUTPUT},
                                         {"output", required_argument, NULL, OPT_OUTPUT},
                                         {"ppi", required_argument, NULL, OPT_PPI},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    int parsed = cli_parse_options(argc, argv, "o:h", opts, "finger show", show_help, &opt);
    if (parsed != CLI_CONTINUE)
        return parsed;
    if (optind + 1 != argc || opt.output == NULL)
        return cli_usage_error("finger show", "want one fingerprint and --out FILE");
    finger_input in;
    huella_error err;
    huella_status st = load_finger(argv[optind], opt.ppi, true, &in, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_image *pic = NULL;
    st = picture_at_500(&in, &pic, &err);
    if (st == HUELLA_OK)
        st = huella_finger_draw(pic, in.tmpl, opt.output, &err);
    huella_image_free(pic);
    finger_input_free(&in);
    return st == HUELLA_OK ? EXIT_OK : cli_fail(st, &err);
}

static int print_quality(const char *path, const huella_finger_quality *q, bool json)
{
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "quality", json_integer(q->score));
        json_object_set_new(o, "area_mm2", json_real(round(q->area_mm2 * 10) / 10));
        json_object_set_new(o, "contrast", json_real(round(q->contrast * 100) / 100));
        json_object_set_new(o, "clarity", json_real(round(q->clarity * 1000) / 1000));
        json_t *r = json_array();
        for (unsigned i = 0; i < q->n_reasons; i++)
            json_array_append_new(r, json_string(q->reasons[i]));
        json_object_set_new(o, "reasons", r);
        return cli_print_json(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
    }
    printf("%s: quality %u (area %.0f mm2, contrast %.1f, clarity %.2f)\n", path, q->score,
           q->area_mm2, q->contrast, q->clarity);
    for (unsigned i = 0; i < q->n_reasons; i++)
        printf("  - %s\n", q->reasons[i]);
    return EXIT_OK;
}

static int finger_quality(int argc, char **argv)
{
    static const struct option opts[] = {{"ppi", required_argument, NULL, OPT_PPI},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    int parsed = cli_parse_options(argc, argv, "h", opts, "finger quality", quality_help, &opt);
    if (parsed != CLI_CONTINUE)
        return parsed;
    if (optind >= argc)
        return cli_usage_error("finger quality", "no image given");
    int status = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        huella_image *img = NULL;
        huella_error err;
        huella_finger_quality q;
        huella_status st = huella_image_read(argv[i], NULL, &img, &err);
        if (st == HUELLA_OK) {
            st = huella_finger_quality_measure(img, opt.ppi, &q, &err);
            if (st != HUELLA_OK)
                huella_error_prefix(&err, "%s: ", argv[i]);
        }
        huella_image_free(img);
        if (st != HUELLA_OK) {
            int s = cli_fail(st, &err);
            status = s > status ? s : status;
            continue;
        }
        int s = print_quality(argv[i], &q, opt.json);
        status = s > status ? s : status;
    }
    return status;
}

int cmd_finger(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"extract", finger_extract, "minutiae from an image, as ISO/ANSI/huella template"},
        {"compare", finger_compare, "similarity of two prints and the FMR it corresponds to"},
        {"show", finger_show, "draw the minutiae on the print"},
        {"quality", finger_quality, "image quality 0-100 with its reasons"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("finger", finger_help, verbs, argc, argv);
}
