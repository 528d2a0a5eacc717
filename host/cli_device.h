/* cli_device.h - what the device commands (classify, watch, selftest, prog, info without a model)
 * share: picking and opening a device, loading a model onto it, report-step lists, per-cell
 * classes from a READ_STATE dump, a progress bar. */
#ifndef XNCA_CLI_DEVICE_H
#define XNCA_CLI_DEVICE_H

#include <stdio.h>

#include "cli.h"
#include "xnca.h"

/* Open a device for `cmd`. spec NULL or "auto" picks one: $XNCA_DEVICE if set, else a USB board
 * if one answers, else `sim`, else `cpu` (saying so). Prints the device in use on stderr.
 * Returns an exit code (0; 1 for an unknown device name; 2 when the device does not answer). */
int cli_device_open(const char *cmd, const char *spec, xnca_dev **dev);

/* Load a model file: parsed here (into *m, for its dimensions and the CPU engine) and sent to the
 * device. Returns an exit code: 1 for a bad file or a model outside the device's caps, 2 for a
 * link failure; prints why. */
int cli_device_load_model(const char *cmd, xnca_dev *dev, const char *path, xnca_model *m);

/* Parse a comma-separated list of report steps (1..max_step each, at most max_n) into sorted,
 * distinct steps; 0 on success. */
int cli_parse_steps(const char *list, int max_step, int max_n, int *steps, int *n);

/* Per-cell classes (spec 5) from states of `cells` cells x `channels` (channel 0 = input level,
 * 0 for a dead cell): class 0..9 with ties to the lowest, or -1 (XNCA_DEAD) for a dead cell. */
void cli_state_classes(const int8_t *states, int cells, int channels, int8_t *classes);

/* A progress bar on stderr (only when stderr is a terminal and total is large enough). */
typedef struct {
    long total;
    int enabled, last_permille;
    double start;
} cli_progress;
void cli_progress_start(cli_progress *p, long total);
void cli_progress_update(cli_progress *p, long done);
double cli_now(void);

/* The 8-hex-digit build id recorded in FILE (e.g. bitstreams/icebreaker.build_id): 0 and *id, or -1
 * when the file does not exist, -2 when it does not hold a build id. */
int cli_read_build_id(const char *path, uint32_t *id);

#endif
