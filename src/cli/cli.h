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

/* True for "-h", "--help" and "help". */
bool cli_is_help(const char *arg);

/* Parse a positive number / size "WxH"; false on garbage. */
bool cli_parse_double(const char *s, double *out);
bool cli_parse_uint(const char *s, unsigned *out);
bool cli_parse_size(const char *s, unsigned *w, unsigned *h);

/* Dispatch argv[1] among verbs; prints the help text on -h/--help or no verb. */
int cli_dispatch(const char *noun, const char *help, const cli_command *verbs, int argc,
                 char **argv);

int cmd_image(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_finger(int argc, char **argv);

#endif
