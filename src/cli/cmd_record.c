/*
 * cmd_record.c - `huella record dump|extract`: ISO/IEC 19794-4 (finger),
 * 19794-5 (face) and 19794-6 (iris) image records, recognised by their
 * format identifier.  docs/interchange.md documents the output.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/image.h"
#include "huella/iris.h"
#include "huella/record.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char record_help[] =
    "huella record - ISO/IEC 19794-4/-5/-6:2011 image records\n"
    "\n"
    "usage: huella record <command> [options] FILE\n"
    "\n"
    "Finger (FIR), face (FAC) and iris (IIR) records are recognised by their\n"
    "format identifier.\n";

static const char dump_help[] = "usage: huella record dump FILE [--json]\n"
                                "\n"
                                "Print the record header and every representation.\n";

static const char extract_help[] =
    "usage: huella record extract FILE --out DIR [--json]\n"
    "\n"
    "Write each representation's image as it is stored (repN.jp2, .wsq, .jpg,\n"
    ".png, .raw), as PNG when huella can decode it (repN-decoded.png), and a\n"
    "sidecar repN.json with the header fields.\n";

/* One representation, whatever the part: header fields as JSON, the
 * stored image and a way to decode it. */
typedef struct view {
    json_t *fields;
    const uint8_t *image;
    size_t image_len;
    const char *ext;
    huella_status (*decode)(const void *rep, huella_image **out, huella_error *err);
    const void *rep;
} view;

typedef struct loaded {
    const char *kind; /* "finger", "face", "iris" */
    json_t *header;
    view *views;
    size_t n;
    huella_fir_record *fir;
    huella_fac_record *fac;
    huella_iris_record *iir;
} loaded;

static json_t *capture_json(const huella_iso_capture *c)
{
    json_t *o = json_object();
    char when[64];
    snprintf(when, sizeof(when), "%04u-%02u-%02uT%02u:%02u:%02u.%03u", c->year, c->month, c->day,
             c->hour, c->minute, c->second, c->millisecond);
    json_object_set_new(o, "captured", json_string(when));
    json_object_set_new(o, "device_technology", json_integer(c->technology));
    json_object_set_new(o, "device_vendor", json_integer(c->vendor));
    json_object_set_new(o, "device_type", json_integer(c->device_type));
    json_t *q = json_array();
    for (size_t i = 0; i < c->n_quality; i++) {
        const uint8_t *b = c->quality + 5 * i;
        json_t *e = json_object();
        json_object_set_new(e, "score", json_integer(b[0]));
        json_object_set_new(e, "vendor", json_integer(huella_load_u16be(b + 1)));
        json_object_set_new(e, "algorithm", json_integer(huella_load_u16be(b + 3)));
        json_array_append_new(q, e);
    }
    json_object_set_new(o, "quality", q);
    return o;
}

static const char *fir_ext(unsigned c)
{
    static const char *const e[] = {"raw", "raw", "wsq", "jpg", "jp2", "jp2", "png"};
    return c < 7 ? e[c] : "bin";
}

static huella_status fir_decode(const void *rep, huella_image **out, huella_error *err)
{
    return huella_fir_view_image(rep, out, err);
}

static huella_status fac_decode(const void *rep, huella_image **out, huella_error *err)
{
    return huella_fac_image_decode(rep, out, err);
}

static huella_status iir_decode(const void *rep, huella_image **out, huella_error *err)
{
    return huella_iris_representation_image(rep, out, err);
}

static huella_status load_fir(loaded *l, const uint8_t *data, size_t len, huella_error *err)
{
    huella_status st = huella_fir_record_read(data, len, &l->fir, err);
    if (st != HUELLA_OK)
        return st;
    l->kind = "finger (ISO/IEC 19794-4:2011)";
    l->header = json_object();
    json_object_set_new(l->header, "certification_flag", json_integer(l->fir->certification_flag));
    json_object_set_new(l->header, "fingers", json_integer(l->fir->n_fingers));
    l->n = l->fir->n_views;
    l->views = calloc(l->n, sizeof(*l->views));
    if (l->views == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    for (size_t i = 0; i < l->n; i++) {
        const huella_fir_view *v = &l->fir->views[i];
        json_t *o = capture_json(&v->capture);
        json_object_set_new(o, "certification_blocks",
                            json_integer((json_int_t)v->n_certification));
        json_object_set_new(o, "position", json_integer(v->position));
        json_object_set_new(o, "representation_number", json_integer(v->number));
        json_object_set_new(o, "scale_units",
                            json_string(v->scale_units == 1 ? "ppi" : "pixels per cm"));
        json_object_set_new(o, "capture_sampling_rate_h", json_integer(v->capture_ppi_h));
        json_object_set_new(o, "capture_sampling_rate_v", json_integer(v->capture_ppi_v));
        json_object_set_new(o, "image_sampling_rate_h", json_integer(v->image_ppi_h));
        json_object_set_new(o, "image_sampling_rate_v", json_integer(v->image_ppi_v));
        json_object_set_new(o, "ppi", json_real(huella_fir_view_ppi(v)));
        json_object_set_new(o, "bit_depth", json_integer(v->bit_depth));
        json_object_set_new(o, "compression",
                            json_string(huella_fir_compression_name(v->compression)));
        json_object_set_new(o, "impression", json_integer(v->impression));
        json_object_set_new(o, "width", json_integer(v->width));
        json_object_set_new(o, "height", json_integer(v->height));
        json_object_set_new(o, "image_bytes", json_integer((json_int_t)v->image_len));
        json_object_set_new(o, "extended_bytes", json_integer((json_int_t)v->extended_len));
        l->views[i] = (view){o, v->image, v->image_len, fir_ext(v->compression), fir_decode, v};
    }
    return HUELLA_OK;
}

static huella_status load_fac(loaded *l, const uint8_t *data, size_t len, huella_error *err)
{
    huella_status st = huella_fac_record_read(data, len, &l->fac, err);
    if (st != HUELLA_OK)
        return st;
    l->kind = "face (ISO/IEC 19794-5:2011)";
    l->header = json_object();
    json_object_set_new(l->header, "temporal_semantics", json_integer(l->fac->temporal_semantics));
    l->n = l->fac->n_images;
    l->views = calloc(l->n, sizeof(*l->views));
    if (l->views == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    static const char *const ext[] = {"jpg", "jp2", "jp2", "png"};
    for (size_t i = 0; i < l->n; i++) {
        const huella_fac_image *f = &l->fac->images[i];
        json_t *o = capture_json(&f->capture);
        json_object_set_new(o, "landmarks", json_integer(f->n_landmarks));
        json_object_set_new(o, "gender", json_integer(f->gender));
        json_object_set_new(o, "eye_colour", json_integer(f->eye_colour));
        json_object_set_new(o, "hair_colour", json_integer(f->hair_colour));
        json_object_set_new(o, "subject_height", json_integer(f->subject_height));
        json_object_set_new(o, "property_mask", json_integer(f->property_mask));
        json_object_set_new(o, "expression", json_integer(f->expression));
        json_t *pose = json_array();
        for (size_t k = 0; k < 3; k++)
            json_array_append_new(pose, json_integer(f->pose[k]));
        json_object_set_new(o, "pose_yaw_pitch_roll", pose);
        json_object_set_new(o, "face_image_type", json_integer(f->face_image_type));
        json_object_set_new(o, "image_data_type",
                            json_string(huella_fac_data_type_name(f->image_data_type)));
        json_object_set_new(o, "width", json_integer(f->width));
        json_object_set_new(o, "height", json_integer(f->height));
        json_object_set_new(o, "spatial_sampling_rate", json_integer(f->spatial_sampling_rate));
        json_object_set_new(o, "post_acquisition", json_integer(f->post_acquisition));
        json_object_set_new(o, "cross_reference", json_integer(f->cross_reference));
        json_object_set_new(o, "colour_space", json_integer(f->colour_space));
        json_object_set_new(o, "image_bytes", json_integer((json_int_t)f->image_len));
        l->views[i] = (view){o, f->image, f->image_len, ext[f->image_data_type], fac_decode, f};
    }
    return HUELLA_OK;
}

static huella_status load_iir(loaded *l, const uint8_t *data, size_t len, huella_error *err)
{
    huella_status st = huella_iris_record_read(data, len, &l->iir, err);
    if (st != HUELLA_OK)
        return st;
    l->kind = "iris (ISO/IEC 19794-6:2011)";
    l->header = json_object();
    json_object_set_new(l->header, "eyes", json_integer(l->iir->eyes));
    l->n = l->iir->n_representations;
    l->views = calloc(l->n ? l->n : 1, sizeof(*l->views));
    if (l->views == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    for (size_t i = 0; i < l->n; i++) {
        const huella_iris_representation *v = &l->iir->representations[i];
        json_t *o = json_object();
        json_object_set_new(o, "representation_number", json_integer(v->number));
        json_object_set_new(o, "eye",
                            json_string(v->eye == HUELLA_IRIS_EYE_RIGHT  ? "right"
                                        : v->eye == HUELLA_IRIS_EYE_LEFT ? "left"
                                                                         : "undefined"));
        json_object_set_new(o, "image_type", json_integer(v->image_type));
        json_object_set_new(o, "image_format", json_integer(v->image_format));
        json_object_set_new(o, "width", json_integer(v->width));
        json_object_set_new(o, "height", json_integer(v->height));
        json_object_set_new(o, "bit_depth", json_integer(v->bit_depth));
        json_object_set_new(o, "image_bytes", json_integer((json_int_t)v->image_len));
        const char *ext = v->image_format == HUELLA_IRIS_FORMAT_MONO_JPEG2000 ? "jp2"
                          : v->image_format == HUELLA_IRIS_FORMAT_MONO_PNG    ? "png"
                                                                              : "raw";
        l->views[i] = (view){o, v->image, v->image_len, ext, iir_decode, v};
    }
    return HUELLA_OK;
}

static void loaded_free(loaded *l)
{
    for (size_t i = 0; i < l->n && l->views; i++)
        json_decref(l->views[i].fields);
    free(l->views);
    json_decref(l->header);
    huella_fir_record_free(l->fir);
    huella_fac_record_free(l->fac);
    huella_iris_record_free(l->iir);
}

static huella_status load(const char *path, loaded *l, huella_error *err)
{
    memset(l, 0, sizeof(*l));
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 0, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    if (len >= 4 && memcmp(data, "FIR\0", 4) == 0)
        st = load_fir(l, data, len, err);
    else if (len >= 4 && memcmp(data, "FAC\0", 4) == 0)
        st = load_fac(l, data, len, err);
    else if (len >= 4 && memcmp(data, "IIR\0", 4) == 0)
        st = load_iir(l, data, len, err);
    else
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "not an ISO/IEC 19794-4/-5/-6 record (no FIR, FAC or IIR "
                              "identifier)");
    free(data);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s: ", path);
        loaded_free(l);
        memset(l, 0, sizeof(*l));
    }
    return st;
}

static int parse(int argc, char **argv, const char *cmd, const char *help, cli_opts *opt)
{
    static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                         {"output", required_argument, NULL, OPT_OUTPUT},
                                         {"out", required_argument, NULL, OPT_OUTPUT},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        int r = cli_common_option(c, cmd, help, opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    if (optind + 1 != argc)
        return cli_usage_error(cmd, "want one file");
    return CLI_CONTINUE;
}

static int cmd_dump(int argc, char **argv)
{
    cli_opts opt = {0};
    int r = parse(argc, argv, "record dump", dump_help, &opt);
    if (r != CLI_CONTINUE)
        return r;
    loaded l;
    huella_error err;
    huella_status st = load(argv[optind], &l, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(argv[optind]));
    json_object_set_new(o, "record", json_string(l.kind));
    json_object_set_new(o, "header", json_incref(l.header));
    json_t *a = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append(a, l.views[i].fields);
    json_object_set_new(o, "representations", a);
    int status;
    if (opt.json) {
        status = cli_print_json(o, JSON_INDENT(1));
    } else {
        printf("%s: %s, %zu representation%s\n", argv[optind], l.kind, l.n, l.n == 1 ? "" : "s");
        for (size_t i = 0; i < l.n; i++) {
            printf("representation %zu:", i + 1);
            const char *key;
            json_t *v;
            json_object_foreach(l.views[i].fields, key, v)
            {
                char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                printf(" %s=%s", key, s ? s : "?");
                free(s);
            }
            putchar('\n');
        }
        json_decref(o);
        status = EXIT_OK;
    }
    loaded_free(&l);
    return status;
}

static int cmd_extract(int argc, char **argv)
{
    cli_opts opt = {0};
    int r = parse(argc, argv, "record extract", extract_help, &opt);
    if (r != CLI_CONTINUE)
        return r;
    if (opt.output == NULL)
        return cli_usage_error("record extract", "want --out DIR");
    huella_error dir_err;
    if (huella_dir_make(opt.output, 0777, &dir_err) != HUELLA_OK) {
        fprintf(stderr, "huella: %s\n", dir_err.message);
        return EXIT_INPUT;
    }
    loaded l;
    huella_error err;
    huella_status st = load(argv[optind], &l, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    int status = EXIT_OK;
    size_t decoded = 0;
    json_t *summary = json_array();
    for (size_t i = 0; i < l.n && status == EXIT_OK; i++) {
        view *v = &l.views[i];
        char path[4200];
        snprintf(path, sizeof(path), "%s/rep%zu.%s", opt.output, i + 1, v->ext);
        if ((st = huella_file_write(path, v->image, v->image_len, &err)) != HUELLA_OK) {
            status = cli_fail(st, &err);
            break;
        }
        json_object_set_new(v->fields, "payload", json_string(strrchr(path, '/') + 1));
        json_object_set_new(v->fields, "record", json_string(l.kind));
        huella_image *img = NULL;
        st = v->decode(v->rep, &img, &err);
        if (st == HUELLA_OK) {
            snprintf(path, sizeof(path), "%s/rep%zu-decoded.png", opt.output, i + 1);
            st = huella_image_write(img, path, &err);
            huella_image_free(img);
            if (st != HUELLA_OK) {
                status = cli_fail(st, &err);
                break;
            }
            decoded++;
            json_object_set_new(v->fields, "png", json_string(strrchr(path, '/') + 1));
        } else {
            json_object_set_new(v->fields, "png", json_null());
            json_object_set_new(v->fields, "not_decoded", json_string(err.message));
            fprintf(stderr, "huella: %s: %s (payload kept)\n", argv[optind], err.message);
        }
        snprintf(path, sizeof(path), "%s/rep%zu.json", opt.output, i + 1);
        char *s = json_dumps(v->fields, JSON_INDENT(2));
        if (s == NULL || (st = huella_file_write(path, s, strlen(s), &err)) != HUELLA_OK)
            status = s == NULL ? EXIT_INTERNAL : cli_fail(st, &err);
        free(s);
        json_array_append(summary, v->fields);
    }
    if (status == EXIT_OK) {
        if (opt.json) {
            status = cli_print_json(summary, JSON_INDENT(1));
            summary = NULL;
        } else {
            printf("%s: %zu images written to %s (%zu decoded to PNG)\n", argv[optind], l.n,
                   opt.output, decoded);
        }
    }
    json_decref(summary);
    loaded_free(&l);
    return status;
}

int cmd_record(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"dump", cmd_dump, "print the header and every representation"},
        {"extract", cmd_extract, "write every image with a sidecar JSON"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("record", record_help, verbs, argc, argv);
}
