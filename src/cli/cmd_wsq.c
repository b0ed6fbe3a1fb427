/*
 * cmd_wsq.c - `huella wsq decode|encode|info`: WSQ fingerprint images.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/wsq.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char wsq_help[] = "huella wsq - WSQ fingerprint compression (FBI IAFIS-IC-0110 v3)\n"
                               "\n"
                               "usage: huella wsq <command> [options] FILE\n";

static const char decode_help[] =
    "usage: huella wsq decode IN.wsq -o OUT.png [--ppi N]\n"
    "\n"
    "Decode a WSQ file and write it as 8-bit greyscale PNG or PGM (by OUT's\n"
    "extension).  The resolution is the PPI of the file's NISTCOM comment;\n"
    "--ppi N overrides it (some files declare 255 for 500 ppi images).\n";

static const char encode_help[] =
    "usage: huella wsq encode IN -o OUT.wsq [--bitrate R] [--ppi N] [--json]\n"
    "\n"
    "Encode any image huella reads (PNG, TIFF, PGM, ...) as WSQ at R bits per\n"
    "pixel (default 0.75, the FBI's rate for 500 ppi fingerprints).  The PPI\n"
    "written is --ppi N, else the image's own, else -1 (unknown).  Prints the\n"
    "bit rate achieved, the compression ratio and the PSNR of the image\n"
    "decoded back from OUT; with --json as one object with the keys file,\n"
    "width, height, bytes, bitrate_target, bitrate, ratio and psnr_db.\n";

static const char info_help[] =
    "usage: huella wsq info IN.wsq [--json]\n"
    "\n"
    "Print the size, resolution, frame header and NISTCOM fields of a WSQ\n"
    "file without decoding its pixels.  With --json one object with the keys\n"
    "file, bytes, width, height, ppi (null when the file declares none),\n"
    "black, white, shift, scale, encoder, software, bin_center, blocks,\n"
    "comments and nistcom (an object of the NISTCOM fields).\n";

static int wsq_decode(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, OPT_OUTPUT},
                                         {"ppi", required_argument, NULL, OPT_PPI},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    int parsed = cli_parse_options(argc, argv, "o:h", opts, "wsq decode", decode_help, &opt);
    if (parsed != CLI_CONTINUE)
        return parsed;
    if (optind + 1 != argc || opt.output == NULL)
        return cli_usage_error("wsq decode", "want one input file and -o OUTPUT");
    const char *path = argv[optind];
    uint8_t *data;
    size_t len;
    huella_error err;
    huella_status st = huella_file_read(path, 0, &data, &len, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_image *img = NULL;
    st = huella_image_decode_wsq(data, len, NULL, &img, &err);
    free(data);
    if (st != HUELLA_OK) {
        huella_error_prefix(&err, "%s: ", path);
        return cli_fail(st, &err);
    }
    if (opt.ppi > 0)
        img->ppi_x = img->ppi_y = opt.ppi;
    st = huella_image_write(img, opt.output, &err);
    huella_image_free(img);
    return st == HUELLA_OK ? EXIT_OK : cli_fail(st, &err);
}

static double psnr(const huella_image *a, const huella_image *b)
{
    size_t n = (size_t)a->width * a->height;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a->pixels[i] - (double)b->pixels[i];
        se += d * d;
    }
    if (se == 0)
        return INFINITY;
    return 10.0 * log10(255.0 * 255.0 / (se / (double)n));
}

static int wsq_encode(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, OPT_OUTPUT}, {"bitrate", required_argument, NULL, 'b'},
        {"ppi", required_argument, NULL, OPT_PPI},       {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},           {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    double bitrate = HUELLA_WSQ_DEFAULT_BITRATE;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'b') {
            if (!cli_parse_double(optarg, &bitrate) || bitrate > 8)
                return cli_usage_error(
                    "wsq encode", "--bitrate wants bits per pixel in (0, 8], not '%s'", optarg);
            continue;
        }
        int r = cli_common_option(c, "wsq encode", encode_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind + 1 != argc || opt.output == NULL)
        return cli_usage_error("wsq encode", "want one input file and -o OUTPUT");
    const char *path = argv[optind];
    huella_error err;
    huella_image *img = NULL, *back = NULL;
    huella_status st = huella_image_read(path, NULL, &img, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    uint8_t *data = NULL;
    size_t len = 0;
    st = huella_wsq_encode(img, bitrate, opt.ppi > 0 ? (int)lround(opt.ppi) : 0, &data, &len, &err);
    if (st == HUELLA_OK)
        st = huella_image_decode_wsq(data, len, NULL, &back, &err);
    if (st == HUELLA_OK)
        st = huella_file_write(opt.output, data, len, &err);
    free(data);
    if (st != HUELLA_OK) {
        huella_image_free(img);
        huella_error_prefix(&err, "%s: ", path);
        return cli_fail(st, &err);
    }
    double pixels = (double)img->width * img->height;
    double achieved = 8.0 * (double)len / pixels;
    double ratio = pixels / (double)len;
    double p = psnr(img, back);
    int status = EXIT_OK;
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "width", json_integer(img->width));
        json_object_set_new(o, "height", json_integer(img->height));
        json_object_set_new(o, "bytes", json_integer((json_int_t)len));
        json_object_set_new(o, "bitrate_target", json_real(bitrate));
        json_object_set_new(o, "bitrate", json_real(achieved));
        json_object_set_new(o, "ratio", json_real(ratio));
        json_object_set_new(o, "psnr_db", isfinite(p) ? json_real(p) : json_null());
        status = cli_print_json(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    } else {
        printf("%s: %u x %u -> %zu bytes, %.3f bpp (target %.3g), ratio %.1f:1, PSNR %.2f dB\n",
               opt.output, img->width, img->height, len, achieved, bitrate, ratio, p);
    }
    huella_image_free(img);
    huella_image_free(back);
    return status;
}

static int wsq_info(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0};
    int parsed = cli_parse_options(argc, argv, "h", opts, "wsq info", info_help, &opt);
    if (parsed != CLI_CONTINUE)
        return parsed;
    if (optind + 1 != argc)
        return cli_usage_error("wsq info", "want one input file");
    const char *path = argv[optind];
    uint8_t *data;
    size_t len;
    huella_error err;
    huella_status st = huella_file_read(path, 0, &data, &len, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_wsq_info *info = malloc(sizeof(*info));
    if (info == NULL) {
        free(data);
        huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
        return cli_fail(HUELLA_E_NOMEM, &err);
    }
    st = huella_wsq_read_info(data, len, info, &err);
    free(data);
    if (st != HUELLA_OK) {
        free(info);
        huella_error_prefix(&err, "%s: ", path);
        return cli_fail(st, &err);
    }
    int status = EXIT_OK;
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "bytes", json_integer((json_int_t)info->file_size));
        json_object_set_new(o, "width", json_integer(info->width));
        json_object_set_new(o, "height", json_integer(info->height));
        json_object_set_new(o, "ppi", info->ppi > 0 ? json_integer(info->ppi) : json_null());
        json_object_set_new(o, "black", json_integer(info->black));
        json_object_set_new(o, "white", json_integer(info->white));
        json_object_set_new(o, "shift", json_real(info->m_shift));
        json_object_set_new(o, "scale", json_real(info->r_scale));
        json_object_set_new(o, "encoder", json_integer(info->encoder));
        json_object_set_new(o, "software", json_integer(info->software));
        json_object_set_new(o, "bin_center", json_real(info->bin_center));
        json_object_set_new(o, "blocks", json_integer(info->blocks));
        json_object_set_new(o, "comments", json_integer(info->comments));
        json_t *fields = json_object();
        for (unsigned i = 0; i < info->field_count; i++)
            json_object_set_new(fields, info->field_name[i], json_string(info->field_value[i]));
        json_object_set_new(o, "nistcom", fields);
        status = cli_print_json(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    } else {
        printf("%s: WSQ, %u x %u, ", path, info->width, info->height);
        if (info->ppi > 0)
            printf("%d ppi", info->ppi);
        else
            printf("resolution not declared");
        printf(", %zu bytes (%.3f bpp)\n", info->file_size,
               8.0 * (double)info->file_size / ((double)info->width * info->height));
        printf("  frame: black %u, white %u, shift %g, scale %g, encoder %u, software %u\n",
               info->black, info->white, info->m_shift, info->r_scale, info->encoder,
               info->software);
        printf("  bin centre %g, filters %u/%u taps, %u blocks, %u comments\n", info->bin_center,
               info->filter_lo, info->filter_hi, info->blocks, info->comments);
        for (unsigned i = 0; i < info->field_count; i++)
            printf("  %s %s\n", info->field_name[i], info->field_value[i]);
    }
    free(info);
    return status;
}

int cmd_wsq(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"decode", wsq_decode, "decode WSQ to PNG or PGM"},
        {"encode", wsq_encode, "encode an image as WSQ, report rate and PSNR"},
        {"info", wsq_info, "size, resolution and NISTCOM fields of a WSQ file"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("wsq", wsq_help, verbs, argc, argv);
}
