/*
 * cmd_mrz.c - `huella mrz parse`: the machine-readable zone of a travel
 * document as JSON, with a verdict for every check digit.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "huella/mrz.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char mrz_help[] = "huella mrz - machine-readable zones (ICAO Doc 9303)\n";

static const char parse_help[] =
    "usage: huella mrz parse [LINE...] [--capture-date YYYY-MM-DD]\n"
    "\n"
    "Parse and validate a TD1, TD2, TD3, MRV-A or MRV-B zone, given as lines on\n"
    "the command line or, without them, on standard input (blank lines skipped).\n"
    "Prints JSON: format, document_code, issuing_state, document_number,\n"
    "nationality, birth_date and expiry_date (as printed, YYMMDD; resolved in\n"
    "birth_date_resolved and expiry_date_resolved, centuries taken relative to\n"
    "--capture-date, default today), sex, surname, given_names, optional_data,\n"
    "checks (field -> true/false), check_digits (printed and computed),\n"
    "problems (invalid characters, dates, sex, likely OCR confusions) and valid.\n"
    "Nothing is corrected.  Exit status 0 when valid, 2 otherwise.\n";

static json_t *resolved_date(const huella_mrz_date *d)
{
    if (!d->valid || d->year == 0)
        return json_null();
    char buf[16];
    if (d->month == 0)
        snprintf(buf, sizeof(buf), "%04d", d->year);
    else if (d->day == 0)
        snprintf(buf, sizeof(buf), "%04d-%02d", d->year, d->month);
    else
        snprintf(buf, sizeof(buf), "%04d-%02d-%02d", d->year, d->month, d->day);
    return json_string(buf);
}

static json_t *mrz_json(const huella_mrz *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "format", json_string(huella_mrz_format_name(m->format)));
    json_object_set_new(o, "document_code", json_string(m->document_code));
    json_object_set_new(o, "issuing_state", json_string(m->issuing_state));
    json_object_set_new(o, "document_number", json_string(m->document_number));
    json_object_set_new(o, "nationality", json_string(m->nationality));
    json_object_set_new(o, "birth_date", json_string(m->birth_date.printed));
    json_object_set_new(o, "birth_date_resolved", resolved_date(&m->birth_date));
    json_object_set_new(o, "expiry_date", json_string(m->expiry_date.printed));
    json_object_set_new(o, "expiry_date_resolved", resolved_date(&m->expiry_date));
    char sex[2] = {m->sex, '\0'};
    json_object_set_new(o, "sex", json_string(sex));
    json_object_set_new(o, "surname", json_string(m->surname));
    json_object_set_new(o, "given_names", json_string(m->given_names));
    json_t *opt = json_array();
    for (size_t i = 0; i < m->n_optional; i++)
        json_array_append_new(opt, json_string(m->optional_data[i]));
    json_object_set_new(o, "optional_data", opt);
    json_t *checks = json_object(), *digits = json_array();
    for (size_t i = 0; i < m->n_checks; i++) {
        const huella_mrz_check *c = &m->checks[i];
        json_object_set_new(checks, c->field, json_boolean(c->ok));
        json_t *d = json_object();
        char printed[2] = {c->printed, '\0'}, computed[2] = {c->computed, '\0'};
        json_object_set_new(d, "field", json_string(c->field));
        json_object_set_new(d, "printed", json_string(printed));
        json_object_set_new(d, "computed", json_string(computed));
        json_object_set_new(d, "ok", json_boolean(c->ok));
        json_array_append_new(digits, d);
    }
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "check_digits", digits);
    json_t *problems = json_array();
    for (size_t i = 0; i < m->n_problems; i++)
        json_array_append_new(problems, json_string(m->problems[i]));
    json_object_set_new(o, "problems", problems);
    json_object_set_new(o, "valid", json_boolean(m->valid));
    return o;
}

#define MAX_STDIN_LINES 8

static int mrz_parse(int argc, char **argv)
{
    static const struct option opts[] = {{"capture-date", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    cli_opts opt = {0}; /* output is always JSON */
    int year = 0, month = 0, day = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'c') {
            char tail;
            if (sscanf(optarg, "%4d-%2d-%2d%c", &year, &month, &day, &tail) != 3 || year < 1900 ||
                month < 1 || month > 12 || day < 1 || day > 31)
                return cli_usage_error("mrz parse", "--capture-date wants YYYY-MM-DD, not '%s'",
                                       optarg);
            continue;
        }
        int r = cli_common_option(c, "mrz parse", parse_help, &opt);
        if (r != CLI_CONTINUE)
            return r;
    }
    const char *lines[MAX_STDIN_LINES];
    size_t n = 0;
    char buf[MAX_STDIN_LINES][128];
    if (optind < argc) {
        for (int i = optind; i < argc && n < MAX_STDIN_LINES; i++)
            lines[n++] = argv[i];
        if (argc - optind > MAX_STDIN_LINES)
            return cli_usage_error("mrz parse", "a zone has at most 3 lines");
    } else {
        char line[1024];
        while (fgets(line, sizeof(line), stdin) != NULL) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[strspn(line, " \t")] == '\0')
                continue;
            if (n == MAX_STDIN_LINES) {
                huella_error err;
                huella_error_set(&err, HUELLA_E_INPUT, "MRZ: more than %d lines on standard input",
                                 MAX_STDIN_LINES);
                return cli_fail(HUELLA_E_INPUT, &err);
            }
            size_t len = strlen(line);
            if (len >= sizeof(buf[n])) {
                huella_error err;
                huella_error_set(&err, HUELLA_E_INPUT, "MRZ line %zu: %zu characters is too long",
                                 n + 1, len);
                return cli_fail(HUELLA_E_INPUT, &err);
            }
            memcpy(buf[n], line, len + 1);
            lines[n] = buf[n];
            n++;
        }
    }
    huella_mrz m;
    huella_error err;
    huella_status st = huella_mrz_parse(lines, n, year, month, day, &m, &err);
    if (st != HUELLA_OK)
        return cli_fail(st, &err);
    int status = cli_print_json(mrz_json(&m), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (status != EXIT_OK)
        return status;
    return m.valid ? EXIT_OK : EXIT_INPUT;
}

int cmd_mrz(int argc, char **argv)
{
    static const cli_command verbs[] = {
        {"parse", mrz_parse, "parse and validate a machine-readable zone"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("mrz", mrz_help, verbs, argc, argv);
}
