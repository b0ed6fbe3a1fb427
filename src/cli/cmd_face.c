/*
 * cmd_face.c - `huella face`: detect, encode, compare, quality, show.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include "huella/face.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FACE_JSON (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8))

static const char face_help[] =
    "huella face - face detection, landmarks, descriptors, quality and comparison\n"
    "\n"
    "The networks are face-api's pretrained weights (npm @vladmandic/face-api,\n"
    "installed by scripts/setup), run by huella's own C code.\n";

static const char detect_help[] =
    "usage: huella face detect IMG [--json] [--pad F]\n"
    "Every face in IMG: box, detector score and 68 landmarks (image pixels).\n"
    "--pad F adds a border of F times the image size first (tight crops);\n"
    "without it, when the plain image shows no face, the bordered attempts of\n"
    "`huella face encode` are tried and the most confident face is reported.\n"
    "Exit status 2 when no face is found.\n";
static const char encode_help[] =
    "usage: huella face encode IMG [-o OUT.face] [--json] [--floor N]\n"
    "Detect, align, check quality (floor N, default 20) and compute the 128-D\n"
    "descriptor of the most confident face; -o writes the 137-byte template.\n";
static const char compare_help[] =
    "usage: huella face compare A B [--json] [--explain FILE.png]\n"
    "A and B are images or .face templates.  Prints the Euclidean distance,\n"
    "the calibrated score (-log10 FMR) and the decision at FMR 1 %, 0.1 %\n"
    "and 0.01 %.  --explain draws both aligned chips with the distance and\n"
    "the thresholds (images only).\n";
static const char quality_help[] =
    "usage: huella face quality IMG [--json]\n"
    "Quality 0-100 with the reasons (ISO/IEC 29794-5 spirit): face size, pose,\n"
    "sharpness, exposure, eye occlusion, detector confidence.\n";
static const char show_help[] = "usage: huella face show IMG --out FILE.png\n"
                                "Draw the boxes, landmarks, the aligned chip and the quality.\n";

enum { OPT_PAD = 1000, OPT_FLOOR, OPT_EXPLAIN };

static huella_status load_models(huella_face_models **m, huella_error *err)
{
    const char *dir = getenv("HUELLA_FACE_MODELS");
    return huella_face_models_load(dir && dir[0] ? dir : NULL, m, err);
}

static json_t *round_real(double v, double q)
{
    return isfinite(v) ? json_real(round(v * q) / q) : json_null();
}

static json_t *face_json(const huella_face *f)
{
    json_t *o = json_object();
    json_t *box = json_object();
    json_object_set_new(box, "x", round_real(f->x, 100));
    json_object_set_new(box, "y", round_real(f->y, 100));
    json_object_set_new(box, "width", round_real(f->width, 100));
    json_object_set_new(box, "height", round_real(f->height, 100));
    json_object_set_new(o, "box", box);
    json_object_set_new(o, "score", round_real(f->score, 10000));
    json_t *lm = json_array();
    for (int i = 0; i < HUELLA_FACE_LANDMARKS; i++) {
        json_t *p = json_array();
        json_array_append_new(p, round_real(f->landmarks[i].x, 100));
        json_array_append_new(p, round_real(f->landmarks[i].y, 100));
        json_array_append_new(lm, p);
    }
    json_object_set_new(o, "landmarks", lm);
    return o;
}

static json_t *quality_json(const huella_face_quality *q)
{
    json_t *o = json_object();
    json_object_set_new(o, "score", json_integer(q->score));
    json_object_set_new(o, "inter_eye", round_real(q->inter_eye, 100));
    json_object_set_new(o, "yaw", round_real(q->yaw, 10));
    json_object_set_new(o, "pitch", round_real(q->pitch, 10));
    json_object_set_new(o, "roll", round_real(q->roll, 10));
    json_object_set_new(o, "sharpness", round_real(q->sharpness, 100));
    json_object_set_new(o, "brightness", round_real(q->brightness, 10));
    json_object_set_new(o, "contrast", round_real(q->contrast, 10));
    json_object_set_new(o, "eye_contrast", round_real(q->eye_contrast, 10));
    json_t *r = json_array();
    for (unsigned f = 1; f <= HUELLA_FACE_Q_DETECTION; f <<= 1)
        if (q->reasons & f)
            json_array_append_new(r, json_string(huella_face_quality_reason(f)));
    json_object_set_new(o, "reasons", r);
    return o;
}

/* Parse the common options plus --pad / --floor / --explain. */
static int parse(int argc, char **argv, const char *cmd, const char *help, cli_opts *opt,
                 double *pad, int *floor_, const char **explain)
{
    static const struct option opts[] = {{"output", required_argument, NULL, OPT_OUTPUT},
                                         {"out", required_argument, NULL, OPT_OUTPUT},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {"pad", required_argument, NULL, OPT_PAD},
                                         {"floor", required_argument, NULL, OPT_FLOOR},
                                         {"explain", required_argument, NULL, OPT_EXPLAIN},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == OPT_PAD && pad != NULL) {
            if (!cli_parse_double(optarg, pad) || *pad > 1)
                return cli_usage_error(cmd, "--pad wants a fraction from 0 to 1");
            continue;
        }
        if (c == OPT_FLOOR && floor_ != NULL) {
            unsigned v;
            if (!cli_parse_uint(optarg, &v) || v > 100)
                return cli_usage_error(cmd, "--floor wants a number from 0 to 100");
            *floor_ = (int)v;
            continue;
        }
        if (c == OPT_EXPLAIN && explain != NULL) {
            *explain = optarg;
            continue;
        }
        if (c == OPT_PAD || c == OPT_FLOOR || c == OPT_EXPLAIN)
            return cli_usage_error(cmd, "option not accepted here");
        int r = cli_common_option(c, cmd, help, opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    return CLI_CONTINUE;
}

static int face_detect_cmd(int argc, char **argv)
{
    cli_opts opt = {0};
    double pad = 0;
    int r = parse(argc, argv, "face detect", detect_help, &opt, &pad, NULL, NULL);
    if (r != CLI_CONTINUE)
        return r;
    if (optind + 1 != argc)
        return cli_usage_error("face detect", "want one image");
    const char *path = argv[optind];
    huella_error err;
    huella_face_models *m = NULL;
    huella_face_rgb *img = NULL;
    huella_face *faces = NULL;
    size_t n = 0;
    huella_face_detect_options o = {0, 0, pad};
    huella_status st = load_models(&m, &err);
    if (st == HUELLA_OK)
        st = huella_face_rgb_read(path, &img, &err);
    if (st == HUELLA_OK)
        st = huella_face_detect(m, img, &o, &faces, &n, &err);
    if (st == HUELLA_OK && n == 0 && pad == 0) {
        /* Nothing in the plain image: a tight crop?  Try the borders. */
        huella_face best;
        huella_error e2;
        if (huella_face_detect_best(m, img, &best, &e2) == HUELLA_OK &&
            (faces = malloc(sizeof *faces)) != NULL) {
            faces[0] = best;
            n = 1;
        }
    }
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        if (opt.json) {
            json_t *o2 = json_object();
            json_object_set_new(o2, "file", json_string(path));
            json_object_set_new(o2, "width", json_integer(img->width));
            json_object_set_new(o2, "height", json_integer(img->height));
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, face_json(&faces[i]));
            json_object_set_new(o2, "faces", arr);
            status = cli_print_json(o2, FACE_JSON);
        } else {
            printf("%s: %zu face%s\n", path, n, n == 1 ? "" : "s");
            for (size_t i = 0; i < n; i++)
                printf("  %zu: box %.0f,%.0f %.0fx%.0f score %.3f\n", i + 1, faces[i].x, faces[i].y,
                       faces[i].width, faces[i].height, faces[i].score);
        }
        if (n == 0) {
            fprintf(stderr, "huella: %s: no face found\n", path);
            status = EXIT_INPUT;
        }
    }
    free(faces);
    huella_face_rgb_free(img);
    huella_face_models_free(m);
    return st == HUELLA_OK ? status : cli_fail(st, &err);
}

/* Enrol an image, or read a .face template when path ends in .face. */
static huella_status load_sample(const huella_face_models *m, const char *path, int floor_,
                                 huella_face_sample *s, huella_face_rgb **chip, huella_error *err)
{
    size_t len = strlen(path);
    if (len > 5 && strcmp(path + len - 5, ".face") == 0) {
        memset(s, 0, sizeof *s);
        if (chip != NULL)
            *chip = NULL;
        uint8_t *data;
        size_t n;
        huella_status st = huella_file_read(path, 4096, &data, &n, err);
        if (st != HUELLA_OK)
            return st;
        st = huella_face_template_decode(data, n, &s->tmpl, err);
        free(data);
        if (st != HUELLA_OK)
            huella_error_prefix(err, "%s: ", path);
        return st;
    }
    huella_face_rgb *img;
    huella_status st = huella_face_rgb_read(path, &img, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_face_enrol(m, img, floor_, 0, s, chip, err);
    huella_face_rgb_free(img);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s: ", path);
    return st;
}

static int face_encode_cmd(int argc, char **argv)
{
    cli_opts opt = {0};
    int floor_ = HUELLA_FACE_QUALITY_FLOOR;
    int r = parse(argc, argv, "face encode", encode_help, &opt, NULL, &floor_, NULL);
    if (r != CLI_CONTINUE)
        return r;
    if (optind + 1 != argc)
        return cli_usage_error("face encode", "want one image");
    const char *path = argv[optind];
    huella_error err;
    huella_face_models *m = NULL;
    huella_face_sample s;
    huella_status st = load_models(&m, &err);
    if (st == HUELLA_OK)
        st = load_sample(m, path, floor_, &s, NULL, &err);
    if (st == HUELLA_OK && opt.output != NULL) {
        uint8_t bytes[HUELLA_FACE_TEMPLATE_BYTES];
        huella_face_template_encode(&s.tmpl, bytes);
        st = huella_file_write(opt.output, bytes, sizeof bytes, &err);
    }
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        if (opt.json) {
            json_t *o = json_object();
            json_object_set_new(o, "file", json_string(path));
            json_object_set_new(o, "face", face_json(&s.face));
            json_object_set_new(o, "quality", quality_json(&s.quality));
            json_t *d = json_array();
            for (int i = 0; i < HUELLA_FACE_DIM; i++)
                json_array_append_new(d, json_real(s.descriptor[i]));
            json_object_set_new(o, "descriptor", d);
            json_object_set_new(o, "template_version", json_integer(HUELLA_FACE_TEMPLATE_VERSION));
            status = cli_print_json(o, FACE_JSON);
        } else if (opt.output == NULL) {
            printf("%s: face at %.0f,%.0f %.0fx%.0f (score %.2f), quality %d\n", path, s.face.x,
                   s.face.y, s.face.width, s.face.height, s.face.score, s.quality.score);
        }
    }
    huella_face_models_free(m);
    return st == HUELLA_OK ? status : cli_fail(st, &err);
}

static int face_compare_cmd(int argc, char **argv)
{
    cli_opts opt = {0};
    const char *explain = NULL;
    int r = parse(argc, argv, "face compare", compare_help, &opt, NULL, NULL, &explain);
    if (r != CLI_CONTINUE)
        return r;
    if (optind + 2 != argc)
        return cli_usage_error("face compare", "want two images or templates");
    huella_error err;
    huella_face_models *m = NULL;
    huella_face_sample a, b;
    huella_face_rgb *ca = NULL, *cb = NULL;
    huella_status st = load_models(&m, &err);
    if (st == HUELLA_OK)
        st = load_sample(m, argv[optind], HUELLA_FACE_QUALITY_FLOOR, &a, &ca, &err);
    if (st == HUELLA_OK)
        st = load_sample(m, argv[optind + 1], HUELLA_FACE_QUALITY_FLOOR, &b, &cb, &err);
    double d = 0;
    if (st == HUELLA_OK) {
        d = huella_face_template_distance(&a.tmpl, &b.tmpl);
        if (explain != NULL) {
            if (ca == NULL || cb == NULL)
                st = huella_error_set(&err, HUELLA_E_INPUT,
                                      "--explain needs two images, not templates");
            else
                st = huella_face_draw_compare(ca, cb, d, explain, &err);
        }
    }
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        double t2 = huella_face_threshold(0.01), t3 = huella_face_threshold(0.001),
               t4 = huella_face_threshold(0.0001);
        if (opt.json) {
            json_t *o = json_object();
            json_object_set_new(o, "a", json_string(argv[optind]));
            json_object_set_new(o, "b", json_string(argv[optind + 1]));
            json_object_set_new(o, "distance", round_real(d, 1e6));
            json_object_set_new(o, "score", round_real(huella_face_score(d), 1000));
            json_t *t = json_object();
            json_object_set_new(t, "fmr100", round_real(t2, 1e4));
            json_object_set_new(t, "fmr1000", round_real(t3, 1e4));
            json_object_set_new(t, "fmr10000", round_real(t4, 1e4));
            json_object_set_new(o, "thresholds", t);
            json_object_set_new(o, "match_fmr100", json_boolean(d <= t2));
            json_object_set_new(o, "match_fmr1000", json_boolean(d <= t3));
            json_object_set_new(o, "match_fmr10000", json_boolean(d <= t4));
            status = cli_print_json(o, FACE_JSON);
        } else {
            printf("distance %.4f, score %.2f: %s\n", d, huella_face_score(d),
                   d <= t4   ? "match at FMR 0.01 %"
                   : d <= t3 ? "match at FMR 0.1 %"
                   : d <= t2 ? "match at FMR 1 % only"
                             : "no match");
        }
    }
    huella_face_rgb_free(ca);
    huella_face_rgb_free(cb);
    huella_face_models_free(m);
    return st == HUELLA_OK ? status : cli_fail(st, &err);
}

static int face_quality_cmd(int argc, char **argv)
{
    cli_opts opt = {0};
    int r = parse(argc, argv, "face quality", quality_help, &opt, NULL, NULL, NULL);
    if (r != CLI_CONTINUE)
        return r;
    if (optind + 1 != argc)
        return cli_usage_error("face quality", "want one image");
    const char *path = argv[optind];
    huella_error err;
    huella_face_models *m = NULL;
    huella_face_sample s;
    huella_status st = load_models(&m, &err);
    if (st == HUELLA_OK)
        st = load_sample(m, path, 0, &s, NULL, &err);
    int status = EXIT_OK;
    if (st == HUELLA_OK) {
        if (opt.json) {
            json_t *o = json_object();
            json_object_set_new(o, "file", json_string(path));
            json_t *q = quality_json(&s.quality);
            json_object_set_new(q, "floor", json_integer(HUELLA_FACE_QUALITY_FLOOR));
            json_object_set_new(q, "enrol",
                                json_boolean(s.quality.score >= HUELLA_FACE_QUALITY_FLOOR));
            json_object_set_new(o, "quality", q);
            status = cli_print_json(o, FACE_JSON);
        } else {
            printf("%s: quality %d/100%s\n", path, s.quality.score,
                   s.quality.score < HUELLA_FACE_QUALITY_FLOOR ? " (below the enrolment floor)"
                                                               : "");
            for (unsigned f = 1; f <= HUELLA_FACE_Q_DETECTION; f <<= 1)
                if (s.quality.reasons & f)
                    printf("  - %s\n", huella_face_quality_reason(f));
        }
    }
    huella_face_models_free(m);
    return st == HUELLA_OK ? status : cli_fail(st, &err);
}

static int face_show_cmd(int argc, char **argv)
{
    cli_opts opt = {0};
    double pad = 0;
    int r = parse(argc, argv, "face show", show_help, &opt, &pad, NULL, NULL);
    if (r != CLI_CONTINUE)
        return r;
    if (optind + 1 != argc)
        return cli_usage_error("face show", "want one image");
    if (opt.output == NULL)
        return cli_usage_error("face show", "--out FILE.png is required");
    const char *path = argv[optind];
    huella_error err;
    huella_face_models *m = NULL;
    huella_face_rgb *img = NULL, *chip = NULL;
    huella_face *faces = NULL;
    size_t n = 0;
    huella_face_sample s;
    bool have_sample = false;
    huella_status st = load_models(&m, &err);
    if (st == HUELLA_OK)
        st = huella_face_rgb_read(path, &img, &err);
    if (st == HUELLA_OK) {
        huella_face_detect_options o = {0, 0, pad};
        st = huella_face_detect(m, img, &o, &faces, &n, &err);
    }
    if (st == HUELLA_OK) {
        huella_error e2;
        if (n > 0) { /* the most confident face of this image */
            s.face = faces[0];
            have_sample = huella_face_align(img, &faces[0], HUELLA_FACE_ALIGN_SIMILARITY, &chip,
                                            &e2) == HUELLA_OK;
            if (have_sample)
                huella_face_quality_measure(&s.face, chip, &s.quality);
        } else {
            /* Found only with a border (a tight crop): show that face. */
            have_sample = huella_face_enrol(m, img, 0, 0, &s, &chip, &e2) == HUELLA_OK;
            if (have_sample && (faces = malloc(sizeof *faces)) != NULL) {
                faces[0] = s.face;
                n = 1;
            }
        }
        st = huella_face_draw_show(img, faces, n, chip, have_sample ? &s.quality : NULL, opt.output,
                                   &err);
    }
    free(faces);
    huella_face_rgb_free(chip);
    huella_face_rgb_free(img);
    huella_face_models_free(m);
    return st == HUELLA_OK ? EXIT_OK : cli_fail(st, &err);
}

int cmd_face(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"detect", face_detect_cmd, "find faces: boxes, scores, 68 landmarks"},
        {"encode", face_encode_cmd, "descriptor and template of the main face"},
        {"compare", face_compare_cmd, "distance and decision for two faces"},
        {"quality", face_quality_cmd, "quality 0-100 with reasons"},
        {"show", face_show_cmd, "draw boxes, landmarks, chip and quality"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("face", face_help, verbs, argc, argv);
}
