/*
 * cmd_an2k.c - `huella an2k dump|validate|rewrite|extract|build`: ANSI/NIST-ITL
 * transactions on the command line.  docs/interchange.md documents the
 * output, the sidecar JSON of extract and the build spec.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/an2k.h"
#include "huella/image.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char an2k_help[] =
    "huella an2k - ANSI/NIST-ITL 1-2011 transactions (traditional encoding)\n"
    "\n"
    "usage: huella an2k <command> [options] FILE\n";

static const char dump_help[] =
    "usage: huella an2k dump FILE [--json]\n"
    "\n"
    "Print every record and field with the names of the well-known tags;\n"
    "binary data is summarised (size and detected format).  --json gives every\n"
    "field, subfield and item.\n";

static const char validate_help[] =
    "usage: huella an2k validate FILE [--json]\n"
    "\n"
    "Check the transaction against ANSI/NIST-ITL 1-2011: content list, LEN\n"
    "fields, field structure, mandatory fields, image sizes.  Every problem is\n"
    "listed as 'record N (Type-T) field TAG: message'.  Exit status 0 when\n"
    "there is none, 2 when there is any or the file cannot be read.\n";

static const char rewrite_help[] =
    "usage: huella an2k rewrite IN -o OUT [--update-lengths]\n"
    "\n"
    "Read IN and write it back to OUT; unchanged, the bytes are the same.\n"
    "--update-lengths recomputes every LEN field and the content list 1.003.\n";

static const char extract_help[] =
    "usage: huella an2k extract FILE --out DIR [--json]\n"
    "\n"
    "Write every image of the transaction into DIR: the original payload\n"
    "(rNN-tTT.wsq, .jpg, .jp2, .png, .raw, .bin), a PNG of it when huella can\n"
    "decode it (rNN-tTT-decoded.png) and a sidecar rNN-tTT.json with the record\n"
    "type and number, IDC, positions, impression, compression, size and ppi\n"
    "(and the SMT descriptors of Type-10 records).\n";

static const char build_help[] =
    "usage: huella an2k build SPEC.json -o FILE\n"
    "\n"
    "Build a transaction from a JSON spec (docs/interchange.md): Type-1 and\n"
    "Type-2 fields and image records from image files.  LEN, IDC, CNT, HLL,\n"
    "VLL, resolution and compression fields are computed.  The result is\n"
    "validated before it is written; exit status 2 lists the problems.\n";

static huella_status load(const char *path, huella_an2k **txn, huella_error *err)
{
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, 0, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_an2k_read(data, len, txn, err);
    free(data);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s: ", path);
    return st;
}

/* A JSON string of bytes: UTF-8 as is, anything else read as Latin-1. */
static json_t *jbytes(const uint8_t *d, size_t n)
{
    json_t *s = json_stringn((const char *)d, n);
    if (s != NULL)
        return s;
    char *u = malloc(2 * n + 1);
    if (u == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < 0x80) {
            u[k++] = (char)d[i];
        } else {
            u[k++] = (char)(0xc0 | (d[i] >> 6));
            u[k++] = (char)(0x80 | (d[i] & 0x3f));
        }
    }
    s = json_stringn(u, k);
    free(u);
    return s;
}

static json_t *field_value_json(const huella_an2k_field *f)
{
    json_t *subs = json_array();
    for (size_t s = 0; s < f->n_subfields; s++) {
        json_t *items = json_array();
        for (size_t i = 0; i < f->subfields[s].n_items; i++)
            json_array_append_new(
                items, jbytes(f->subfields[s].items[i].data, f->subfields[s].items[i].len));
        json_array_append_new(subs, items);
    }
    return subs;
}

static void print_bytes(const uint8_t *d, size_t n, size_t max)
{
    size_t shown = n < max ? n : max;
    for (size_t i = 0; i < shown; i++) {
        if (d[i] >= 0x20 && d[i] < 0x7f)
            putchar(d[i]);
        else
            printf("\\x%02x", d[i]);
    }
    if (shown < n)
        printf("... (%zu bytes)", n);
}

static const char *payload_format(const uint8_t *d, size_t n)
{
    huella_image_format f = huella_image_detect(d, n);
    return f == HUELLA_IMAGE_UNKNOWN ? "unknown" : huella_image_format_name(f);
}

static json_t *binary_header_json(const huella_an2k_record *rec)
{
    huella_an2k_binary_header h;
    if (huella_an2k_binary_header_read(rec, &h, NULL) != HUELLA_OK)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "len", json_integer(h.len));
    json_object_set_new(o, "idc", json_integer(h.idc));
    if (rec->type == 7)
        return o;
    if (rec->type == 8) {
        json_object_set_new(o, "sig", json_integer(h.imp));
        json_object_set_new(o, "srt", json_integer(h.gca));
    } else {
        json_object_set_new(o, "imp", json_integer(h.imp));
        json_t *fgp = json_array();
        for (size_t i = 0; i < 6; i++)
            json_array_append_new(fgp, json_integer(h.fgp[i]));
        json_object_set_new(o, "fgp", fgp);
        json_object_set_new(o, "gca", json_integer(h.gca));
    }
    json_object_set_new(o, "isr", json_integer(h.isr));
    json_object_set_new(o, "hll", json_integer(h.hll));
    json_object_set_new(o, "vll", json_integer(h.vll));
    return o;
}

static int dump_json(const char *path, const huella_an2k *txn)
{
    json_t *root = json_object();
    json_object_set_new(root, "file", json_string(path));
    json_t *recs = json_array();
    for (size_t r = 0; r < txn->n_records; r++) {
        const huella_an2k_record *rec = &txn->records[r];
        json_t *o = json_object();
        json_object_set_new(o, "record", json_integer((json_int_t)r + 1));
        json_object_set_new(o, "type", json_integer(rec->type));
        json_object_set_new(o, "name", json_string(huella_an2k_record_name(rec->type)));
        json_object_set_new(o, "tagged", json_boolean(rec->tagged));
        if (!rec->tagged) {
            json_object_set_new(o, "bytes", json_integer((json_int_t)rec->raw_len));
            json_object_set_new(o, "header", binary_header_json(rec));
            huella_an2k_image_info info;
            if (huella_an2k_image_info_get(txn, r, &info, NULL) == HUELLA_OK) {
                json_object_set_new(o, "compression", json_string(info.compression));
                json_object_set_new(o, "data_bytes", json_integer((json_int_t)info.len));
            }
            json_array_append_new(recs, o);
            continue;
        }
        json_t *fields = json_array();
        for (size_t i = 0; i < rec->n_fields; i++) {
            const huella_an2k_field *f = &rec->fields[i];
            json_t *jf = json_object();
            json_object_set_new(jf, "tag", json_string(f->tag));
            const char *m = huella_an2k_field_mnemonic(rec->type, f->number);
            if (m != NULL) {
                json_object_set_new(jf, "mnemonic", json_string(m));
                json_object_set_new(jf, "name",
                                    json_string(huella_an2k_field_name(rec->type, f->number)));
            }
            if (f->binary) {
                const huella_an2k_item *it = &f->subfields[0].items[0];
                json_object_set_new(jf, "binary", json_true());
                json_object_set_new(jf, "bytes", json_integer((json_int_t)it->len));
                json_object_set_new(jf, "format", json_string(payload_format(it->data, it->len)));
            } else {
                json_object_set_new(jf, "value", field_value_json(f));
            }
            json_array_append_new(fields, jf);
        }
        json_object_set_new(o, "fields", fields);
        json_array_append_new(recs, o);
    }
    json_object_set_new(root, "records", recs);
    return cli_print_json(root, JSON_INDENT(1));
}

static void dump_text(const char *path, const huella_an2k *txn)
{
    printf("%s: %zu records\n", path, txn->n_records);
    for (size_t r = 0; r < txn->n_records; r++) {
        const huella_an2k_record *rec = &txn->records[r];
        printf("record %zu: Type-%u %s", r + 1, rec->type, huella_an2k_record_name(rec->type));
        if (!rec->tagged) {
            printf(" (binary, %zu bytes)\n", rec->raw_len);
            huella_an2k_binary_header h;
            if (huella_an2k_binary_header_read(rec, &h, NULL) != HUELLA_OK)
                continue;
            printf("  LEN %u  IDC %u", h.len, h.idc);
            if (rec->type == 8)
                printf("  SIG %u  SRT %u  ISR %u  HLL %u  VLL %u", h.imp, h.gca, h.isr, h.hll,
                       h.vll);
            else if (rec->type != 7) {
                printf("  IMP %u  FGP", h.imp);
                for (size_t i = 0; i < 6; i++)
                    if (h.fgp[i] != 255)
                        printf(" %u", h.fgp[i]);
                printf("  ISR %u  HLL %u  VLL %u  GCA %u", h.isr, h.hll, h.vll, h.gca);
            }
            huella_an2k_image_info info;
            if (huella_an2k_image_info_get(txn, r, &info, NULL) == HUELLA_OK)
                printf("\n  image data: %zu bytes, %s (%s)", info.len, info.compression,
                       payload_format(info.data, info.len));
            putchar('\n');
            continue;
        }
        putchar('\n');
        for (size_t i = 0; i < rec->n_fields; i++) {
            const huella_an2k_field *f = &rec->fields[i];
            const char *m = huella_an2k_field_mnemonic(rec->type, f->number);
            printf("  %-8s %-5s ", f->tag, m ? m : "");
            if (f->binary) {
                const huella_an2k_item *it = &f->subfields[0].items[0];
                printf("%zu bytes of binary data (%s)\n", it->len,
                       payload_format(it->data, it->len));
                continue;
            }
            size_t shown = f->n_subfields < 12 ? f->n_subfields : 12;
            for (size_t s = 0; s < shown; s++) {
                if (s > 0)
                    fputs(" | ", stdout);
                for (size_t k = 0; k < f->subfields[s].n_items; k++) {
                    if (k > 0)
                        putchar('/');
                    print_bytes(f->subfields[s].items[k].data, f->subfields[s].items[k].len, 80);
                }
            }
            if (shown < f->n_subfields)
                printf(" | ... (%zu subfields)", f->n_subfields);
            putchar('\n');
        }
    }
}

static int parse_simple(int argc, char **argv, const char *cmd, const char *help, cli_opts *opt,
                        bool *update_lengths)
{
    static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                         {"output", required_argument, NULL, OPT_OUTPUT},
                                         {"out", required_argument, NULL, OPT_OUTPUT},
                                         {"update-lengths", no_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'u' && update_lengths != NULL) {
            *update_lengths = true;
            continue;
        }
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
    int r = parse_simple(argc, argv, "an2k dump", dump_help, &opt, NULL);
    if (r != CLI_CONTINUE)
        return r;
    huella_an2k *txn;
    huella_error err;
    huella_status st = load(argv[optind], &txn, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    int status = EXIT_OK;
    if (opt.json)
        status = dump_json(argv[optind], txn);
    else
        dump_text(argv[optind], txn);
    huella_an2k_free(txn);
    return status;
}

static int cmd_validate(int argc, char **argv)
{
    cli_opts opt = {0};
    int r = parse_simple(argc, argv, "an2k validate", validate_help, &opt, NULL);
    if (r != CLI_CONTINUE)
        return r;
    const char *path = argv[optind];
    huella_an2k *txn;
    huella_error err;
    huella_status st = load(path, &txn, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    huella_an2k_problem *probs;
    size_t n;
    st = huella_an2k_validate(txn, &probs, &n, &err);
    huella_an2k_free(txn);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    int status = n ? EXIT_INPUT : EXIT_OK;
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "valid", json_boolean(n == 0));
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *p = json_object();
            json_object_set_new(p, "record", json_integer((json_int_t)probs[i].record));
            json_object_set_new(p, "type", json_integer(probs[i].type));
            json_object_set_new(p, "field", json_string(probs[i].tag));
            json_object_set_new(p, "message", json_string(probs[i].message));
            json_array_append_new(a, p);
        }
        json_object_set_new(o, "problems", a);
        int s = cli_print_json(o, JSON_INDENT(1));
        if (s != EXIT_OK)
            status = s;
    } else if (n == 0) {
        printf("%s: valid\n", path);
    } else {
        for (size_t i = 0; i < n; i++) {
            printf("%s: record %zu (Type-%u)", path, probs[i].record, probs[i].type);
            if (probs[i].tag[0])
                printf(" field %s", probs[i].tag);
            printf(": %s\n", probs[i].message);
        }
        printf("%s: %zu problem%s\n", path, n, n == 1 ? "" : "s");
    }
    free(probs);
    return status;
}

static int write_txn(const huella_an2k *txn, const char *path)
{
    uint8_t *out;
    size_t len;
    huella_error err;
    huella_status st = huella_an2k_write(txn, &out, &len, &err);
    if (st == HUELLA_OK) {
        st = huella_file_write(path, out, len, &err);
        free(out);
    }
    return st == HUELLA_OK ? EXIT_OK : cli_fail(st, &err);
}

static int cmd_rewrite(int argc, char **argv)
{
    cli_opts opt = {0};
    bool update = false;
    int r = parse_simple(argc, argv, "an2k rewrite", rewrite_help, &opt, &update);
    if (r != CLI_CONTINUE)
        return r;
    if (opt.output == NULL)
        return cli_usage_error("an2k rewrite", "want -o OUT");
    huella_an2k *txn;
    huella_error err;
    huella_status st = load(argv[optind], &txn, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    if (update && (st = huella_an2k_update_lengths(txn, &err)) != HUELLA_OK) {
        huella_an2k_free(txn);
        return cli_fail(st, &err);
    }
    int status = write_txn(txn, opt.output);
    huella_an2k_free(txn);
    return status;
}

/* ---- extract ----------------------------------------------------------- */

static const char *payload_extension(const huella_an2k_image_info *info)
{
    const char *c = info->compression;
    if (strcmp(c, "WSQ20") == 0)
        return "wsq";
    if (strcmp(c, "JPEGB") == 0 || strcmp(c, "JPEGL") == 0)
        return "jpg";
    if (strcmp(c, "JP2") == 0 || strcmp(c, "JP2L") == 0)
        return "jp2";
    if (strcmp(c, "PNG") == 0)
        return "png";
    if (strcmp(c, "NONE") == 0)
        return "raw";
    return "bin";
}

static json_t *field_json_or_null(const huella_an2k_record *rec, unsigned number)
{
    const huella_an2k_field *f = huella_an2k_find_field(rec, number);
    return f != NULL && !f->binary ? field_value_json(f) : json_null();
}

static bool write_json_file(json_t *o, const char *path, huella_error *err)
{
    char *s = json_dumps(o, JSON_INDENT(2));
    if (s == NULL) {
        huella_error_set(err, HUELLA_E_NOMEM, "out of memory writing JSON");
        return false;
    }
    size_t n = strlen(s);
    s[n] = '\n';
    bool ok = huella_file_write(path, s, n + 1, err) == HUELLA_OK;
    free(s);
    return ok;
}

static int extract_one(const huella_an2k *txn, const huella_an2k_image_info *info, const char *dir,
                       json_t *summary)
{
    char base[4096], path[4200];
    snprintf(base, sizeof(base), "%s/r%02zu-t%02u", dir, info->record + 1, info->type);
    huella_error err;
    snprintf(path, sizeof(path), "%s.%s", base, payload_extension(info));
    if (huella_file_write(path, info->data, info->len, &err) != HUELLA_OK)
        return cli_fail(err.status, &err);
    json_t *o = json_object();
    json_object_set_new(o, "record", json_integer((json_int_t)info->record + 1));
    json_object_set_new(o, "type", json_integer(info->type));
    json_object_set_new(o, "record_name", json_string(huella_an2k_record_name(info->type)));
    json_object_set_new(o, "idc", json_integer(info->idc));
    if (info->image_type[0])
        json_object_set_new(o, "image_type", json_string(info->image_type));
    json_object_set_new(o, "impression",
                        info->impression >= 0 ? json_integer(info->impression) : json_null());
    json_t *pos = json_array();
    for (size_t i = 0; i < info->n_positions; i++)
        json_array_append_new(pos, json_integer(info->positions[i]));
    json_object_set_new(o, info->type == 17 ? "eye_label" : "positions", pos);
    json_object_set_new(o, "compression", json_string(info->compression));
    json_object_set_new(o, "width", json_integer(info->width));
    json_object_set_new(o, "height", json_integer(info->height));
    json_object_set_new(o, "bits_per_pixel", json_integer(info->bits_per_pixel));
    json_object_set_new(o, "ppi", info->ppi > 0 ? json_real(info->ppi) : json_null());
    char *slash = strrchr(path, '/');
    json_object_set_new(o, "payload", json_string(slash ? slash + 1 : path));
    json_object_set_new(o, "payload_bytes", json_integer((json_int_t)info->len));
    if (info->type == 10) {
        const huella_an2k_record *rec = &txn->records[info->record];
        json_t *smt = json_object();
        json_object_set_new(smt, "codes", field_json_or_null(rec, 40));
        json_object_set_new(smt, "size", field_json_or_null(rec, 41));
        json_object_set_new(smt, "descriptors", field_json_or_null(rec, 42));
        json_object_set_new(smt, "colors", field_json_or_null(rec, 43));
        json_object_set_new(o, "smt", smt);
    }
    huella_image *img = NULL;
    huella_status st = huella_an2k_image_decode(info, &img, &err);
    if (st == HUELLA_OK) {
        snprintf(path, sizeof(path), "%s-decoded.png", base);
        st = huella_image_write(img, path, &err);
        huella_image_free(img);
        if (st != HUELLA_OK) {
            json_decref(o);
            return cli_fail(st, &err);
        }
        slash = strrchr(path, '/');
        json_object_set_new(o, "png", json_string(slash ? slash + 1 : path));
    } else {
        json_object_set_new(o, "png", json_null());
        json_object_set_new(o, "not_decoded", json_string(err.message));
        fprintf(stderr, "huella: %s (payload kept)\n", err.message);
    }
    snprintf(path, sizeof(path), "%s.json", base);
    bool ok = write_json_file(o, path, &err);
    json_array_append_new(summary, o);
    return ok ? EXIT_OK : cli_fail(err.status, &err);
}

static int cmd_extract(int argc, char **argv)
{
    cli_opts opt = {0};
    int r = parse_simple(argc, argv, "an2k extract", extract_help, &opt, NULL);
    if (r != CLI_CONTINUE)
        return r;
    if (opt.output == NULL)
        return cli_usage_error("an2k extract", "want --out DIR");
    huella_error dir_err;
    if (huella_dir_make(opt.output, 0777, &dir_err) != HUELLA_OK) {
        fprintf(stderr, "huella: %s\n", dir_err.message);
        return EXIT_INPUT;
    }
    huella_an2k *txn;
    huella_error err;
    huella_status st = load(argv[optind], &txn, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    json_t *summary = json_array();
    int status = EXIT_OK;
    for (size_t i = 0; i < txn->n_records && status == EXIT_OK; i++) {
        huella_an2k_image_info info;
        st = huella_an2k_image_info_get(txn, i, &info, &err);
        if (st == HUELLA_E_NOTFOUND)
            continue;
        if (st != HUELLA_OK) {
            status = cli_fail(st, &err);
            break;
        }
        status = extract_one(txn, &info, opt.output, summary);
    }
    huella_an2k_free(txn);
    if (status != EXIT_OK) {
        json_decref(summary);
        return status;
    }
    if (opt.json)
        return cli_print_json(summary, JSON_INDENT(1));
    size_t n = json_array_size(summary), decoded = 0;
    for (size_t i = 0; i < n; i++)
        decoded += json_is_string(json_object_get(json_array_get(summary, i), "png"));
    printf("%s: %zu images written to %s (%zu decoded to PNG)\n", argv[optind], n, opt.output,
           decoded);
    json_decref(summary);
    return EXIT_OK;
}

/* ---- build ------------------------------------------------------------- */

#define BUILD_FAIL(...) (huella_error_set(err, HUELLA_E_INPUT, __VA_ARGS__), false)

/* A spec value as field text: "x", ["a","b"] (subfields) or
 * [["a","b"],["c"]] (subfields of items); numbers are written as integers. */
static bool spec_value_text(json_t *v, huella_buf *b, int depth)
{
    if (json_is_string(v))
        return huella_buf_append(b, json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
        return huella_buf_append(b, tmp, strlen(tmp));
    }
    if (json_is_array(v) && depth < 2) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i > 0)
                huella_buf_append_u8(b, depth == 0 ? HUELLA_AN2K_RS : HUELLA_AN2K_US);
            if (!spec_value_text(e, b, depth + 1))
                return false;
        }
        return true;
    }
    return false;
}

static bool set_spec_fields(huella_an2k_record *rec, json_t *fields, huella_error *err)
{
    if (fields == NULL)
        return true;
    if (!json_is_object(fields))
        return BUILD_FAIL("build spec: Type-%u fields must be an object", rec->type);
    const char *key;
    json_t *v;
    json_object_foreach(fields, key, v)
    {
        const char *dot = strchr(key, '.');
        char *end;
        unsigned long number = strtoul(dot ? dot + 1 : key, &end, 10);
        if (*end != '\0' || number == 0 || number > 998 ||
            (dot && strtoul(key, NULL, 10) != rec->type))
            return BUILD_FAIL("build spec: Type-%u field '%s' is not a tag %u.NNN (1-998)",
                              rec->type, key, rec->type);
        huella_buf b;
        huella_buf_init(&b);
        bool ok = spec_value_text(v, &b, 0) && huella_buf_append_u8(&b, 0);
        if (!ok) {
            huella_buf_free(&b);
            return BUILD_FAIL("build spec: field %u.%03lu must be a string, a number or an array "
                              "of them",
                              rec->type, number);
        }
        huella_status st = huella_an2k_set_field(rec, (unsigned)number, (char *)b.data, err);
        huella_buf_free(&b);
        if (st != HUELLA_OK)
            return false;
    }
    return true;
}

static bool set_uint(huella_an2k_record *rec, unsigned number, unsigned long v, huella_error *err)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lu", v);
    return huella_an2k_set_field(rec, number, tmp, err) == HUELLA_OK;
}

static const char *compression_of(huella_image_format f)
{
    switch (f) {
    case HUELLA_IMAGE_PNG:
        return "PNG";
    case HUELLA_IMAGE_JPEG:
        return "JPEGB";
    case HUELLA_IMAGE_JP2:
        return "JP2";
    case HUELLA_IMAGE_WSQ:
        return "WSQ20";
    default:
        return NULL;
    }
}

static unsigned type4_gca(const char *c)
{
    static const char *const names[] = {"NONE", "WSQ20", "JPEGB", "JPEGL", "JP2", "JP2L", "PNG"};
    for (unsigned i = 0; i < 7; i++)
        if (strcmp(c, names[i]) == 0)
            return i;
    return 255;
}

/* Add one image record described by spec entry e. */
static bool build_image_record(huella_an2k *txn, json_t *e, const char *spec_dir, unsigned idc,
                               huella_error *err)
{
    json_t *jt = json_object_get(e, "type");
    const char *image = json_string_value(json_object_get(e, "image"));
    if (!json_is_integer(jt) || image == NULL)
        return BUILD_FAIL("build spec: record %u: wants \"type\" and \"image\"", idc);
    unsigned type = (unsigned)json_integer_value(jt);
    if (type != 4 && type != 10 && (type < 13 || type > 17))
        return BUILD_FAIL("build spec: record %u: Type-%u image records are not supported (4, "
                          "10, 13-17)",
                          idc, type);
    char path[4096];
    if (image[0] == '/')
        snprintf(path, sizeof(path), "%s", image);
    else
        snprintf(path, sizeof(path), "%s/%s", spec_dir, image);
    uint8_t *file;
    size_t file_len;
    if (huella_file_read(path, 0, &file, &file_len, err) != HUELLA_OK)
        return false;
    huella_image *img = NULL;
    huella_status st = huella_image_decode(file, file_len, NULL, &img, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s: ", path);
        free(file);
        return false;
    }
    const char *want = json_string_value(json_object_get(e, "compression"));
    const char *have = compression_of(huella_image_detect(file, file_len));
    const uint8_t *payload = file;
    size_t payload_len = file_len;
    uint8_t *encoded = NULL;
    const char *cga;
    if (want != NULL && strcmp(want, "NONE") == 0) {
        payload = img->pixels;
        payload_len = (size_t)img->width * img->height;
        cga = "NONE";
    } else if (want != NULL && strcmp(want, "PNG") == 0 && (have == NULL || strcmp(have, "PNG"))) {
        if (huella_image_encode_png(img, &encoded, &payload_len, err) != HUELLA_OK)
            goto fail;
        payload = encoded;
        cga = "PNG";
    } else if (want != NULL && (have == NULL || strcmp(want, have) != 0)) {
        huella_error_set(
            err, HUELLA_E_INPUT,
            "build spec: %s: cannot store a %s file as %s (NONE and PNG convert; other "
            "compressions keep the file as it is)",
            path, have ? have : "non-image", want);
        goto fail;
    } else if (have == NULL) {
        huella_error_set(
            err, HUELLA_E_INPUT,
            "build spec: %s: only PNG, JPEG, JPEG 2000 and WSQ files are stored as they "
            "are; use \"compression\": \"NONE\" or \"PNG\"",
            path);
        goto fail;
    } else {
        cga = have;
    }
    json_t *jppi = json_object_get(e, "ppi");
    double ppi = json_is_number(jppi) ? json_number_value(jppi) : img->ppi_x > 0 ? img->ppi_x : 500;
    huella_an2k_record *rec;
    if (type == 4) {
        unsigned gca = type4_gca(cga);
        if (gca == 255 || img->width > 65535 || img->height > 65535) {
            huella_error_set(err, HUELLA_E_INPUT,
                             "build spec: %s: Type-4 cannot hold a %s image of %u x %u", path, cga,
                             img->width, img->height);
            goto fail;
        }
        size_t total = 18 + payload_len;
        if (huella_an2k_add_record(txn, 4, false, &rec, err) != HUELLA_OK)
            goto fail;
        rec->raw = calloc(1, total);
        if (rec->raw == NULL) {
            huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
            goto fail;
        }
        rec->raw_len = total;
        rec->raw[4] = (uint8_t)idc;
        json_t *imp = json_object_get(e, "imp");
        rec->raw[5] = (uint8_t)(json_is_integer(imp) ? json_integer_value(imp) : 1);
        memset(rec->raw + 6, 255, 6);
        json_t *fgp = json_object_get(e, "fgp");
        size_t i;
        json_t *v;
        if (json_is_integer(fgp))
            rec->raw[6] = (uint8_t)json_integer_value(fgp);
        json_array_foreach(fgp, i, v) if (i < 6 && json_is_integer(v)) rec->raw[6 + i] =
            (uint8_t)json_integer_value(v);
        rec->raw[12] = 0; /* ISR: 1.011 NSR */
        huella_store_u16be(rec->raw + 13, (uint16_t)img->width);
        huella_store_u16be(rec->raw + 15, (uint16_t)img->height);
        rec->raw[17] = (uint8_t)gca;
        memcpy(rec->raw + 18, payload, payload_len);
    } else {
        if (huella_an2k_add_record(txn, type, true, &rec, err) != HUELLA_OK)
            goto fail;
        bool ok = set_uint(rec, 2, idc, err) && set_uint(rec, 6, img->width, err) &&
                  set_uint(rec, 7, img->height, err) && set_uint(rec, 8, 1, err) &&
                  set_uint(rec, 9, (unsigned long)(ppi + 0.5), err) &&
                  set_uint(rec, 10, (unsigned long)(ppi + 0.5), err) &&
                  huella_an2k_set_field(rec, 11, cga, err) == HUELLA_OK;
        bool colour = img->source_channels >= 3 && strcmp(cga, "NONE") != 0;
        if (ok && type == 10)
            ok = huella_an2k_set_field(rec, 12, colour ? "SRGB" : "GRAY", err) == HUELLA_OK;
        else if (ok)
            ok = set_uint(rec, 12, colour ? 24 : 8, err);
        if (ok && type == 10)
            ok = huella_an2k_set_field(rec, 3, "FACE", err) == HUELLA_OK;
        /* Source agency and date default to the Type-1 ORI and date. */
        char buf[128];
        if (ok && huella_an2k_item_text(&txn->records[0], 8, 0, 0, buf, sizeof(buf)))
            ok = huella_an2k_set_field(rec, 4, buf, err) == HUELLA_OK;
        if (ok && huella_an2k_item_text(&txn->records[0], 5, 0, 0, buf, sizeof(buf)))
            ok = huella_an2k_set_field(rec, 5, buf, err) == HUELLA_OK;
        if (!ok || !set_spec_fields(rec, json_object_get(e, "fields"), err) ||
            huella_an2k_set_binary_field(rec, 999, payload, payload_len, err) != HUELLA_OK)
            goto fail;
    }
    free(encoded);
    huella_image_free(img);
    free(file);
    return true;
fail:
    free(encoded);
    huella_image_free(img);
    free(file);
    return false;
}

static bool build(json_t *spec, const char *spec_dir, huella_an2k *txn, huella_error *err)
{
    if (!json_is_object(spec))
        return BUILD_FAIL("build spec: the top level must be an object");
    huella_an2k_record *rec;
    if (huella_an2k_add_record(txn, 1, true, &rec, err) != HUELLA_OK)
        return false;
    const char *version = json_string_value(json_object_get(spec, "version"));
    if (huella_an2k_set_field(rec, 2, version ? version : "0500", err) != HUELLA_OK ||
        !set_spec_fields(rec, json_object_get(spec, "type1"), err))
        return false;
    json_t *t2 = json_object_get(spec, "type2");
    if (t2 != NULL) {
        if (huella_an2k_add_record(txn, 2, true, &rec, err) != HUELLA_OK ||
            huella_an2k_set_field(rec, 2, "00", err) != HUELLA_OK || !set_spec_fields(rec, t2, err))
            return false;
    }
    json_t *records = json_object_get(spec, "records");
    if (records != NULL && !json_is_array(records))
        return BUILD_FAIL("build spec: \"records\" must be an array");
    size_t i;
    json_t *e;
    json_array_foreach(records, i, e)
    {
        if (i >= 99)
            return BUILD_FAIL("build spec: more than 99 image records");
        if (!build_image_record(txn, e, spec_dir, (unsigned)i + 1, err))
            return false;
    }
    return huella_an2k_update_lengths(txn, err) == HUELLA_OK;
}

static int cmd_build(int argc, char **argv)
{
    cli_opts opt = {0};
    int r = parse_simple(argc, argv, "an2k build", build_help, &opt, NULL);
    if (r != CLI_CONTINUE)
        return r;
    if (opt.output == NULL)
        return cli_usage_error("an2k build", "want -o FILE");
    json_error_t jerr;
    json_t *spec = json_load_file(argv[optind], 0, &jerr);
    if (spec == NULL) {
        fprintf(stderr, "huella: %s:%d: %s\n", argv[optind], jerr.line, jerr.text);
        return EXIT_INPUT;
    }
    char *copy = strdup(argv[optind]);
    huella_an2k *txn = NULL;
    huella_error err;
    int status = EXIT_OK;
    if (copy == NULL || huella_an2k_new(&txn, &err) != HUELLA_OK) {
        status = EXIT_INTERNAL;
        fputs("huella: out of memory\n", stderr);
    } else if (!build(spec, dirname(copy), txn, &err)) {
        status = cli_fail(err.status, &err);
    } else {
        huella_an2k_problem *probs = NULL;
        size_t n = 0;
        if (huella_an2k_validate(txn, &probs, &n, &err) != HUELLA_OK) {
            status = cli_fail(err.status, &err);
        } else if (n > 0) {
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, "huella: %s: record %zu (Type-%u) field %s: %s\n", argv[optind],
                        probs[i].record, probs[i].type, probs[i].tag, probs[i].message);
            fprintf(stderr, "huella: %s: the transaction would not be valid; nothing written\n",
                    argv[optind]);
            status = EXIT_INPUT;
        } else {
            status = write_txn(txn, opt.output);
        }
        free(probs);
    }
    free(copy);
    huella_an2k_free(txn);
    json_decref(spec);
    return status;
}

int cmd_an2k(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"dump", cmd_dump, "print records and fields (--json for all of them)"},
        {"validate", cmd_validate, "check against ANSI/NIST-ITL 1-2011, list every problem"},
        {"rewrite", cmd_rewrite, "read and write back (byte-identical when unchanged)"},
        {"extract", cmd_extract, "write every image with a sidecar JSON"},
        {"build", cmd_build, "build a transaction from a JSON spec"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("an2k", an2k_help, verbs, argc, argv);
}
