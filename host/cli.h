/* cli.h - shared pieces of the xnca command-line tool (host/cli_*.c). */
#ifndef XNCA_CLI_H
#define XNCA_CLI_H

#include <stdio.h>

#include "xnca_model.h"

#define XNCA_VERSION "0.1.0"

/* Every command: argv[0] is the command name; returns an XNCA_EXIT_* code. */
#define CMD(name, fn, summary) int fn(int argc, char **argv);
#include "cli_commands.def"
#undef CMD

/* Print "xnca CMD: message" to stderr and return XNCA_EXIT_USAGE; the caller adds a usage hint. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Usage error: message, then "try 'xnca CMD --help'"; returns XNCA_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a whole decimal integer in [lo, hi]; 0 on success. */
int cli_parse_int(const char *s, long lo, long hi, long *out);
/* Parse a finite float; 0 on success. */
int cli_parse_float(const char *s, double *out);

/* --device NAME: 0 if NAME is usable for `cmd`, else prints why and returns XNCA_EXIT_DEVICE.
 * Only "cpu" (the reference engine) exists in this build. */
int cli_check_device(const char *cmd, const char *device);

/* Load a model file, printing "xnca CMD: <why>" on failure; returns 0 or XNCA_EXIT_USAGE. */
int cli_load_model(const char *cmd, const char *path, xnca_model *m);

/* JSON output helpers: a quoted, escaped string. */
void cli_json_string(FILE *f, const char *s);

/* Git hash baked at build time ("unknown" outside a checkout). */
const char *cli_git_hash(void);

#endif
