/*
 * cmd_image.c - `huella image info|convert`: look at and convert images.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/image.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char image_help[] =
    "huella image - decode images into 8-bit greyscale\n"
    "\n"
    "usage: huella image <command> [options] FILE...\n"
    "\n"
    "Formats: PNG, JPEG, TIFF, JPEG 2000 (JP2 and J2K), BMP, PGM/PPM/PBM,\n"
    "and headerless 8-bit greyscale with --raw WIDTHxHEIGHT.\n";

static const char info_help[] =
    "usage: huella image info [--json] [--raw WxH] FILE...\n"
    "\n"
    "Print each file's format, size and resolution (pixels per inch, or that\n"
    "the file declares none).  With --json, one JSON object per line with the\n"
    "keys file, format, width, height, ppi (null when not declared), ppi_x,\n"
    "ppi_y, channels and bits (as stored in the file).\n"
    "Exit status 2 when any file cannot be decoded; the others are still shown.\n";

static const char convert_help[] =
    "usage: huella image convert IN -o OUT [--raw WxH] [--ppi N] [--to-ppi N]\n"
    "\n"
    "Decode IN and write it as 8-bit greyscale PNG or PGM (by OUT's extension).\n"
    "--ppi N     the resolution of IN when it declares none\n"
    "--to-ppi N  resample to N pixels per inch (needs a known resolution)\n";

static huella_status load(const char *path, unsigned raw_w, unsigned raw_h, huella_image **img,
                          huella_error *err)
{
    if (raw_w == 0)
        return huella_image_read(path, NULL, img, err);
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 0, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_image_decode_raw(data, len, raw_w, raw_h, NULL, img, err);
    free(data);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s: ", path);
    return st;
}

static const char *channels_name(unsigned channels)
{
    switch (channels) {
    case 1:
        return "grey";
    case 2:
        return "grey+alpha";
    case 3:
        return "colour";
    case 4:
        return "colour+alpha";
    default:
        return "?";
    }
}

static int print_info(const char *path, const huella_image *img, bool json)
{
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "format", json_string(huella_image_format_name(img->format)));
        json_object_set_new(o, "width", json_integer(img->width));
        json_object_set_new(o, "height", json_integer(img->height));
        bool declared = img->ppi_x > 0 && img->ppi_y > 0;
        json_object_set_new(o, "ppi", declared ? json_real(img->ppi_x) : json_null());
        json_object_set_new(o, "ppi_x", declared ? json_real(img->ppi_x) : json_null());
        json_object_set_new(o, "ppi_y", declared ? json_real(img->ppi_y) : json_null());
        json_object_set_new(o, "channels", json_integer(img->source_channels));
        json_object_set_new(o, "bits", json_integer(img->source_bits));
        return cli_print_json(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    }
    printf("%s: %s, %u x %u, %s %u-bit, ", path, huella_image_format_name(img->format), img->width,
           img->height, channels_name(img->source_channels), img->source_bits);
    if (img->ppi_x <= 0 || img->ppi_y <= 0)
        printf("resolution not declared\n");
    else if (fabs(img->ppi_x - img->ppi_y) < 0.005)
        printf("%.4g ppi\n", img->ppi_x);
    else
        printf("%.4g x %.4g ppi\n", img->ppi_x, img->ppi_y);
    return EXIT_OK;
}

static int image_info(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                         {"raw", required_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    unsigned raw_w = 0, raw_h = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'R') {
            if (!cli_parse_size(optarg, &raw_w, &raw_h))
                return cli_usage_error("image info", "--raw wants WIDTHxHEIGHT, not '%s'", optarg);
            continue;
        }
        int r = cli_common_option(c, "image info", info_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind >= argc)
        return cli_usage_error("image info", "no file given");
    int status = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        huella_image *img = NULL;
        huella_error err;
        huella_status st = load(argv[i], raw_w, raw_h, &img, &err);
        if (st != HUELLA_OK) {
            int s = cli_fail(st, &err);
            if (s > status)
                status = s;
            continue;
        }
        int s = print_info(argv[i], img, opt.json);
        status = s > status ? s : status;
        huella_image_free(img);
    }
    return status;
}

static int image_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, OPT_OUTPUT}, {"raw", required_argument, NULL, 'R'},
        {"ppi", required_argument, NULL, OPT_PPI},       {"to-ppi", required_argument, NULL, 't'},
        {"help", no_argument, NULL, OPT_HELP},           {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    unsigned raw_w = 0, raw_h = 0;
    double to_ppi = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'R') {
            if (!cli_parse_size(optarg, &raw_w, &raw_h))
                return cli_usage_error("image convert", "--raw wants WIDTHxHEIGHT, not '%s'",
                                       optarg);
            continue;
        }
        if (c == 't') {
            if (!cli_parse_double(optarg, &to_ppi))
                return cli_usage_error("image convert", "--to-ppi wants a positive number");
            continue;
        }
        int r = cli_common_option(c, "image convert", convert_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind + 1 != argc || opt.output == NULL)
        return cli_usage_error("image convert", "want one input file and -o OUTPUT");
    huella_image *img = NULL;
    huella_error err;
    huella_status st = load(argv[optind], raw_w, raw_h, &img, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (opt.ppi > 0 && (img->ppi_x <= 0 || img->ppi_y <= 0))
        img->ppi_x = img->ppi_y = opt.ppi;
    if (to_ppi > 0) {
        if (img->ppi_x <= 0) {
            huella_image_free(img);
            huella_error_set(&err, HUELLA_E_INPUT, "%s: declares no resolution; give it with --ppi",
                             argv[optind]);
            return cli_fail(HUELLA_E_INPUT, &err);
        }
        huella_image *scaled = NULL;
        st = huella_image_scale(img, to_ppi / img->ppi_x, &scaled, &err);
        huella_image_free(img);
        if (st != HUELLA_OK)
            return cli_fail(st, &err);
        img = scaled;
    }
    st = huella_image_write(img, opt.output, &err);
    huella_image_free(img);
    return st == HUELLA_OK ? EXIT_OK : cli_fail(st, &err);
}

int cmd_image(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"info", image_info, "format, size and resolution of image files"},
        {"convert", image_convert, "decode and write as greyscale PNG or PGM"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("image", image_help, verbs, argc, argv);
}
