/*
 * cmd_iris.c - `huella iris encode|compare|show`: the iris engine from the
 * command line.  Every input may be an eye image (segmented and encoded)
 * or a template in huella's .iris format, told apart by content.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/image.h"
#include "huella/iris.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char iris_help[] = "huella iris - iris segmentation, codes and matching\n"
                                "\n"
                                "usage: huella iris <command> [options] ...\n";

static const char encode_help[] =
    "usage: huella iris encode IMG [-o OUT.iris] [--json]\n"
    "\n"
    "Segment a near-infrared eye image (pupil, limbus, eyelids, lashes,\n"
    "reflections), unwrap the iris onto Daugman's rubber sheet and encode it\n"
    "as a 2048-bit iris code with its mask.  -o writes the template; without\n"
    "it, print a summary (--json for the boundaries and quality).\n";

static const char compare_help[] =
    "usage: huella iris compare A B [--json]\n"
    "\n"
    "Compare two irises (each an eye image or an .iris template) and print the\n"
    "normalised Hamming distance (lower = more alike; about 0.5 for different\n"
    "eyes), the rotation that aligned them and the false match rate that the\n"
    "distance corresponds to on the development data.\n";

static const char show_help[] =
    "usage: huella iris show IMG --out FILE.png|FILE.svg\n"
    "\n"
    "Draw the eye with the pupil (green) and limbus (blue) boundaries, the\n"
    "eyelid limits (orange) and masked lashes (red) and reflections\n"
    "(magenta); below it the normalised strip and the iris code (masked bits\n"
    "grey) and the quality with its reasons.\n";

/* Read an image (and encode it) or a template. */
static huella_status load_iris(const char *path, huella_iris_template **t, huella_error *err)
{
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 0, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    if (huella_image_detect(data, len) == HUELLA_IMAGE_UNKNOWN) {
        st = huella_iris_template_decode(data, len, t, err);
    } else {
        huella_image *img = NULL;
        st = huella_image_decode(data, len, NULL, &img, err);
        if (st == HUELLA_OK)
            st = huella_iris_encode(img, NULL, t, err);
        huella_image_free(img);
    }
    free(data);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s: ", path);
    return st;
}

static json_t *boundary_json(const huella_iris_boundary *b)
{
    json_t *o = json_object();
    double mean = 0, lo = INFINITY, hi = 0;
    for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++) {
        mean += b->radius[i];
        lo = fmin(lo, b->radius[i]);
        hi = fmax(hi, b->radius[i]);
    }
    mean /= HUELLA_IRIS_CONTOUR_POINTS;
    json_object_set_new(o, "x", json_real(round(b->cx * 100) / 100));
    json_object_set_new(o, "y", json_real(round(b->cy * 100) / 100));
    json_object_set_new(o, "radius", json_real(round(mean * 100) / 100));
    json_object_set_new(o, "radius_min", json_real(round(lo * 100) / 100));
    json_object_set_new(o, "radius_max", json_real(round(hi * 100) / 100));
    json_t *r = json_array();
    for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++)
        json_array_append_new(r, json_real(round(b->radius[i] * 100) / 100));
    json_object_set_new(o, "contour", r);
    return o;
}

static unsigned valid_bits(const huella_iris_code *c)
{
    unsigned n = 0;
    for (size_t i = 0; i < HUELLA_IRIS_CODE_BYTES; i++)
        for (unsigned k = 0; k < 8; k++)
            n += (c->mask[i] >> k) & 1u;
    return n;
}

#define IRIS_JSON (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8))

static int print_template_json(const char *path, const huella_iris_template *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(path));
    json_object_set_new(o, "width", json_integer(t->width));
    json_object_set_new(o, "height", json_integer(t->height));
    json_object_set_new(o, "pupil", boundary_json(&t->pupil));
    json_object_set_new(o, "limbus", boundary_json(&t->limbus));
    json_object_set_new(o, "valid_bits", json_integer(valid_bits(&t->code)));
    const huella_iris_quality *q = &t->quality;
    json_t *jq = json_object();
    json_object_set_new(jq, "score", json_integer(q->score));
    json_object_set_new(jq, "usable", json_real(round(q->usable * 1000) / 1000));
    json_object_set_new(jq, "sharpness", json_real(round(q->sharpness * 100) / 100));
    json_object_set_new(jq, "dilation", json_real(round(q->dilation * 1000) / 1000));
    json_object_set_new(jq, "iris_radius", json_real(round(q->iris_radius * 100) / 100));
    json_t *r = json_array();
    for (unsigned i = 0; i < q->n_reasons; i++)
        json_array_append_new(r, json_string(q->reasons[i]));
    json_object_set_new(jq, "reasons", r);
    json_object_set_new(o, "quality", jq);
    return cli_print_json(o, IRIS_JSON);
}

static int iris_encode(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, OPT_OUTPUT},
                                         {"out", required_argument, NULL, OPT_OUTPUT},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    int parsed = cli_parse_options(argc, argv, "o:h", opts, "iris encode", encode_help, &opt);
    if (parsed != CLI_CONTINUE)
        return parsed;
    if (optind + 1 != argc)
        return cli_usage_error("iris encode", "want one image");
    huella_iris_template *t = NULL;
    huella_error err;
    huella_status st = load_iris(argv[optind], &t, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.output != NULL) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        st = huella_iris_template_encode(t, &bytes, &len, &err);
        if (st == HUELLA_OK)
            st = huella_file_write(opt.output, bytes, len, &err);
        free(bytes);
    }
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        if (opt.json) {
            status = print_template_json(argv[optind], t);
        } else if (opt.output == NULL) {
            double rp = 0, rl = 0;
            for (int i = 0; i < HUELLA_IRIS_CONTOUR_POINTS; i++) {
                rp += t->pupil.radius[i] / HUELLA_IRIS_CONTOUR_POINTS;
                rl += t->limbus.radius[i] / HUELLA_IRIS_CONTOUR_POINTS;
            }
            printf("%s: pupil r %.1f at (%.1f, %.1f), iris r %.1f at (%.1f, %.1f), "
                   "%u valid bits, quality %u\n",
                   argv[optind], rp, t->pupil.cx, t->pupil.cy, rl, t->limbus.cx, t->limbus.cy,
                   valid_bits(&t->code), t->quality.score);
            for (unsigned i = 0; i < t->quality.n_reasons; i++)
                printf("  - %s\n", t->quality.reasons[i]);
        }
    }
    huella_iris_template_free(t);
    return st == HUELLA_OK ? status : cli_fail(st, &err);
}

/* The development-data FMR bracket a distance falls in. */
static const char *fmr_bracket(double d, double *fmr_bound)
{
    if (d <= HUELLA_IRIS_THRESHOLD_FMR1000000) {
        *fmr_bound = 0.000001;
        return "FMR <= 0.0001 % threshold: below every impostor seen in development";
    }
    if (d <= HUELLA_IRIS_THRESHOLD_FMR10000) {
        *fmr_bound = 0.0001;
        return "FMR <= 0.01 %";
    }
    if (d <= HUELLA_IRIS_THRESHOLD_FMR1000) {
        *fmr_bound = 0.001;
        return "FMR <= 0.1 %";
    }
    *fmr_bound = 1.0;
    return "FMR > 0.1 %: not a match at any documented operating point";
}

static int iris_compare(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    int parsed = cli_parse_options(argc, argv, "h", opts, "iris compare", compare_help, &opt);
    if (parsed != CLI_CONTINUE)
        return parsed;
    if (optind + 2 != argc)
        return cli_usage_error("iris compare", "want two irises");
    huella_iris_template *a = NULL, *b = NULL;
    huella_error err;
    huella_status st = load_iris(argv[optind], &a, &err);
    if (st == HUELLA_OK)
        st = load_iris(argv[optind + 1], &b, &err);
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        int shift = 0;
        unsigned bits = 0;
        double d =
            huella_iris_distance(&a->code, &b->code, HUELLA_IRIS_DEFAULT_MAX_SHIFT, &shift, &bits);
        double bound;
        const char *bracket = fmr_bracket(d, &bound);
        double degrees = shift * 360.0 / HUELLA_IRIS_COLS;
        if (opt.json) {
            json_t *o = json_object();
            json_object_set_new(o, "distance", json_real(d));
            json_object_set_new(o, "fmr_at_most", json_real(bound));
            json_object_set_new(o, "shift", json_integer(shift));
            json_object_set_new(o, "rotation_deg", json_real(degrees));
            json_object_set_new(o, "valid_bits", json_integer(bits));
            json_t *th = json_object();
            json_object_set_new(th, "fmr1000", json_real(HUELLA_IRIS_THRESHOLD_FMR1000));
            json_object_set_new(th, "fmr10000", json_real(HUELLA_IRIS_THRESHOLD_FMR10000));
            json_object_set_new(th, "fmr1000000", json_real(HUELLA_IRIS_THRESHOLD_FMR1000000));
            json_object_set_new(o, "thresholds", th);
            status = cli_print_json(o, IRIS_JSON);
        } else {
            printf("distance %.4f (%s); rotation %+.1f degrees, %u bits compared\n", d, bracket,
                   degrees, bits);
        }
    }
    huella_iris_template_free(a);
    huella_iris_template_free(b);
    return st == HUELLA_OK ? status : cli_fail(st, &err);
}

static int iris_show(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, OPT_OUTPUT},
                                         {"output", required_argument, NULL, OPT_OUTPUT},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    int parsed = cli_parse_options(argc, argv, "o:h", opts, "iris show", show_help, &opt);
    if (parsed != CLI_CONTINUE)
        return parsed;
    if (optind + 1 != argc || opt.output == NULL)
        return cli_usage_error("iris show", "want one eye image and --out FILE");
    huella_image *img = NULL;
    huella_error err;
    huella_status st = huella_image_read(argv[optind], NULL, &img, &err);
    if (st == HUELLA_OK) {
        st = huella_iris_draw(img, NULL, opt.output, &err);
        if (st != HUELLA_OK)
            huella_error_prefix(&err, "%s: ", argv[optind]);
    }
    huella_image_free(img);
    return st == HUELLA_OK ? EXIT_OK : cli_fail(st, &err);
}

int cmd_iris(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"encode", iris_encode, "segment and encode an eye image (.iris template)"},
        {"compare", iris_compare, "distance of two irises and the FMR it corresponds to"},
        {"show", iris_show, "draw the segmentation, the strip and the code"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("iris", iris_help, verbs, argc, argv);
}
