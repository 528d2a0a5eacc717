/* cli.h - shared pieces of the xnca command-line tool (host/cli_*.c). */
#ifndef XNCA_CLI_H
#define XNCA_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
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

/* ---- what the model-making commands share (quantize, prune, train) ---- */

/* "xnca ARGS..." (argv[0] is the command) for a model's `command=` metadata, line breaks turned
 * into spaces so that it stays one key=value line. malloc'ed; NULL when out of memory. */
char *cli_join_command(int argc, char **argv);

/* --data NAME: 0 for mnist or fashion, else a usage error (XNCA_EXIT_USAGE). */
int cli_check_data(const char *cmd, const char *name);

/* Load a model that must be float ("xnca CMD: FILE is a quant model; CMD needs a float model");
 * 0 or XNCA_EXIT_USAGE (nothing to free then). */
int cli_load_float_model(const char *cmd, const char *path, xnca_model *m);

/* The calibration options of `xnca quantize` and `xnca prune`: the first N digits of a train
 * split, each run for S steps of the float model with seed K. Fill calib_n, calib_steps and seed
 * with the command's defaults, add CLI_CALIB_OPTIONS to its getopt_long table and hand every
 * option to cli_calib_option first. */
typedef struct {
    const char *data; /* --data NAME; NULL: the model's `dataset` metadata, else mnist */
    int calib_n;      /* --calib N */
    int calib_steps;  /* --calib-steps S */
    uint32_t seed;    /* --seed K */
} cli_calib;

enum { CLI_O_DATA = 1000, CLI_O_CALIB, CLI_O_CALIB_STEPS, CLI_O_SEED };
#define CLI_CALIB_OPTIONS                                                                                           \
    {"data", required_argument, 0, CLI_O_DATA}, {"calib", required_argument, 0, CLI_O_CALIB},                    \
        {"calib-steps", required_argument, 0, CLI_O_CALIB_STEPS}, {"seed", required_argument, 0, CLI_O_SEED}

/* getopt_long's c and optarg: -1 when c is not a calibration option, 0 when it was parsed into
 * *cal, else the usage error's exit code. */
int cli_calib_option(const char *cmd, int c, const char *arg, cli_calib *cal);

/* After the options and the model: the dataset named by cal (or fm's `dataset` metadata) into
 * name (cap bytes) and its train split opened into *d, which must hold cal->calib_n digits.
 * 0, or an exit code with the reason printed and nothing left open. */
int cli_calib_dataset(const char *cmd, const cli_calib *cal, const xnca_model *fm, char *name, size_t cap,
                      xnca_dataset *d);

/* A derived model's metadata: "dataset=DATA\nsource=SOURCE\niterations=0\nseed=SEED\n
 * command=COMMAND\n", then the source model's license line if it has one. malloc'ed; NULL when
 * out of memory. */
char *cli_derived_meta(const xnca_model *src, const char *data, const char *source, uint32_t seed,
                       const char *command);

/* The file name part of a path. */
const char *cli_basename(const char *path);

/* JSON output helpers: a quoted, escaped string. */
void cli_json_string(FILE *f, const char *s);

/* Git hash baked at build time ("unknown" outside a checkout). */
const char *cli_git_hash(void);

#endif
