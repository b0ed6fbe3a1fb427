/*
 * cli.h - shared pieces of the huella command: exit codes, error output,
 * option helpers.  Each noun (image, eval, ...) lives in cmd_<noun>.c.
 */
#ifndef HUELLA_CLI_H
#define HUELLA_CLI_H

#include "huella/base.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit statuses: the contract of the huella command. */
enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,   /* wrong command line */
    EXIT_INPUT = 2,   /* bad input: malformed, unsupported or missing file */
    EXIT_INTERNAL = 3 /* anything else: out of memory, i/o, bugs */
};

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the verb or noun */
    const char *summary;
} cli_command;

/* Print "huella: MESSAGE" on stderr and return the exit status for st. */
int cli_fail(huella_status st, const huella_error *err);
/* Print "huella: MESSAGE\n(try 'huella NOUN --help')" and return EXIT_USAGE. */
int cli_usage_error(const char *noun, const char *fmt, ...) HUELLA_PRINTF(2, 3);
int cli_exit_status(huella_status st);

/* Print o (which this takes over) on stdout with json_dumps flags; returns
 * EXIT_OK, or the failure status with a message when it cannot be made. */
struct json_t;
int cli_print_json(struct json_t *o, size_t flags);

/* True for "-h", "--help" and "help". */
bool cli_is_help(const char *arg);

/* Parse a positive number / size "WxH"; false on garbage. */
bool cli_parse_double(const char *s, double *out);
bool cli_parse_uint(const char *s, unsigned *out);
bool cli_parse_size(const char *s, unsigned *w, unsigned *h);

/*
 * Options that many commands share, parsed in one place so that they mean
 * the same everywhere: -h/--help, --json, --ppi N, -o/--output FILE (also
 * --out), --report DIR.  A command lists the long options it accepts in
 * its getopt_long table with these short codes and passes every code it
 * does not handle itself to cli_common_option.
 */
enum { OPT_JSON = 'j', OPT_PPI = 'p', OPT_OUTPUT = 'o', OPT_REPORT = 'r', OPT_HELP = 'h' };

typedef struct cli_opts {
    bool json;
    double ppi;         /* 0 when not given */
    const char *output; /* NULL when not given */
    const char *report; /* NULL when not given */
} cli_opts;

#define CLI_CONTINUE (-1)
/* Handle option code c of command cmd (e.g. "finger show").  Returns
 * CLI_CONTINUE when parsing should go on, else the exit status to return
 * at once (help printed: EXIT_OK; bad value or unknown option: EXIT_USAGE). */
int cli_common_option(int c, const char *cmd, const char *help, cli_opts *o);
/* The whole getopt_long loop for a command whose options are all common
 * ones: CLI_CONTINUE when parsing went well (optind at the operands). */
struct option;
int cli_parse_options(int argc, char **argv, const char *shortopts, const struct option *longopts,
                      const char *cmd, const char *help, cli_opts *o);

/* Dispatch argv[1] among verbs; prints the help text on -h/--help or no verb. */
int cli_dispatch(const char *noun, const char *help, const cli_command *verbs, int argc,
                 char **argv);

int cmd_image(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_finger(int argc, char **argv);
int cmd_mrz(int argc, char **argv);
int cmd_iris(int argc, char **argv);
int cmd_names(int argc, char **argv);
int cmd_an2k(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_face(int argc, char **argv);
int cmd_names_eval(int argc, char **argv); /* `huella eval names`, in cmd_names.c */
int cmd_db(int argc, char **argv);
int cmd_person(int argc, char **argv);
int cmd_enrol(int argc, char **argv);
int cmd_wsq(int argc, char **argv);
/* `huella eval identify` and `huella eval calibrate`, in cmd_identify_eval.c */
int cmd_eval_identify(int argc, char **argv);
int cmd_eval_calibrate(int argc, char **argv);
int cmd_watchlist(int argc, char **argv);
int cmd_screen(int argc, char **argv); /* `huella screen`, in cmd_watchlist.c */
/* `huella identify`, `huella verify` and `huella case`, in cmd_identify.c and cmd_case.c */
int cmd_identify(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_case(int argc, char **argv);
/* Shared by enrol, identify and verify (cmd_identify.c): parse one
 * --finger N=IMG / --iris left|right=IMG / --face IMG (modality as in
 * huella_store_modality) into in[*n]; read every input's file; print a
 * candidate list (the JSON array of huella_candidates_json) for people. */
struct huella_enrol_input;
int cli_probe_option(struct huella_enrol_input *in, size_t *n, size_t max, int modality,
                     const char *spec, const char *cmd);
huella_status cli_read_inputs(struct huella_enrol_input *in, size_t n, huella_error *err);
void cli_free_inputs(struct huella_enrol_input *in, size_t n);
void cli_print_candidates(struct json_t *candidates, size_t gallery_persons,
                          double threshold_strict, double threshold_review, bool all);
/* A note on stderr when a gallery load had to rebuild persons' forms. */
struct huella_gallery_load_stats;
void cli_note_rebuilt(const struct huella_gallery_load_stats *ls, const char *dir);
int cmd_audit(int argc, char **argv);
int cmd_agency(int argc, char **argv);  /* cmd_access.c */
int cmd_user(int argc, char **argv);    /* cmd_access.c */
int cmd_token(int argc, char **argv);   /* cmd_access.c */
int cmd_sharing(int argc, char **argv); /* cmd_access.c */

/* `huella submit` (the capture kit client) and `huella retention`, in cmd_submit.c and
 * cmd_retention.c */
int cmd_submit(int argc, char **argv);
int cmd_retention(int argc, char **argv);

#endif
