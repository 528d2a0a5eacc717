/* xnca.h - libxnca, the host library for xnca devices (stable C API, soname libxnca.so.0).
 *
 * One API for every device: an FPGA behind an FTDI bridge (`usb`), a serial port (`tty:PATH`),
 * the Verilated RTL (`sim`) and the reference engine behind an in-process device model
 * (`cpu`); all speak the link protocol of docs/protocol.md.
 *
 *     xnca_dev *dev;
 *     char err[256];
 *     if (xnca_open("usb:0403:6010", NULL, &dev, err, sizeof err)) { fprintf(stderr, "%s\n", err); ... }
 *     xnca_load_model_file(dev, "models/bnn-w1a1.xnca");
 *     xnca_run_opts o = XNCA_RUN_OPTS_INIT;
 *     xnca_result r;
 *     xnca_classify(dev, &o, 1, pixels, NULL, &r);
 *     xnca_close(dev);
 *
 * Every function returning int returns an exit code of the xnca CLI convention:
 * XNCA_RC_OK 0, XNCA_RC_USAGE 1 (bad input, a model the device cannot run),
 * XNCA_RC_DEVICE 2 (device or link failure, timeout); xnca_error() tells what happened.
 * No call blocks longer than its timeout.
 */
#ifndef XNCA_H
#define XNCA_H

#include <stddef.h>
#include <stdint.h>

#include "xnca_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XNCA_API_VERSION 1

#define XNCA_RC_OK 0
#define XNCA_RC_USAGE 1
#define XNCA_RC_DEVICE 2

typedef struct xnca_dev xnca_dev;

/* The device's INFO reply (docs/protocol.md 3.2). */
typedef xnca_info_msg xnca_device_info;

typedef struct {
    int timeout_ms; /* per request; 0: 2000 ms (cpu/sim: 60000 ms) */
    int baud;       /* usb/tty: 0 = transport default (an @BAUD in the spec wins) */
    int verbose;    /* 1: log frames to stderr */
} xnca_open_opts;

/* Open a device. spec: "cpu", "tty:PATH[@BAUD]", "usb[:VID:PID[:SERIAL]][@BAUD]" (VID/PID hex;
 * the default baud of a bridge is the UART of the boards behind it: docs/protocol.md 5),
 * "sim[:BOARD]". A baud in spec wins over opts->baud. Performs HELLO and INFO. opts may be NULL. */
int xnca_open(const char *spec, const xnca_open_opts *opts, xnca_dev **out, char *err, size_t errlen);
void xnca_close(xnca_dev *dev);
/* Message of the last failure (never NULL). */
const char *xnca_error(const xnca_dev *dev);
/* The transport's name ("cpu", "tty", "usb", "sim"). */
const char *xnca_transport_name(const xnca_dev *dev);
/* Serial links (usb, tty): the baud rate in use, and a line describing the link ("FT231X
 * 0403:6015 at 1000000 baud"). Other transports: 0 and "". */
int xnca_link_baud(const xnca_dev *dev);
const char *xnca_link_description(const xnca_dev *dev);

const xnca_device_info *xnca_info(const xnca_dev *dev);
/* HELLO round trip: checks magic, version and the echoed nonce. */
int xnca_hello(xnca_dev *dev, uint32_t nonce);

/* Load a model (.xnca file bytes or path). Checks it against the device's caps first
 * (XNCA_RC_USAGE with a message naming the cap), then LOAD_BEGIN / LOAD_DATA / LOAD_END,
 * confirmed by CRC-32. */
int xnca_load_model_mem(xnca_dev *dev, const uint8_t *file, size_t len);
int xnca_load_model_file(xnca_dev *dev, const char *path);

typedef struct {
    uint32_t seed;        /* spec 4 */
    uint32_t image_index; /* index of pixels[0] in its split (hash input) */
    int steps;            /* 1..65535 */
    int n_report;         /* 1..16 report steps, ascending, each <= steps; 0: just `steps` */
    int report[XNCA_MAX_REPORT_STEPS];
    int mutate_at;        /* -1: no mutation; else the step count after which the image is replaced */
} xnca_run_opts;

#define XNCA_RUN_OPTS_INIT {0, 0, 200, 0, {0}, -1}

typedef struct {
    int alive;
    uint32_t cycles;
    int n_report;
    int step[XNCA_MAX_REPORT_STEPS];
    int votes[XNCA_MAX_REPORT_STEPS][10];
    int pred[XNCA_MAX_REPORT_STEPS];
    int agree[XNCA_MAX_REPORT_STEPS];
    int prediction; /* pred at the last report step */
} xnca_result;

/* Classify n images of the loaded model's grid size (pixels: n * grid_w * grid_h bytes,
 * mutate_pixels: the replacement images, required when opts->mutate_at >= 0). Streams
 * CLASSIFY frames within the device's credit; results[n] out. */
int xnca_classify(xnca_dev *dev, const xnca_run_opts *opts, int n, const uint8_t *pixels,
                  const uint8_t *mutate_pixels, xnca_result *results);

/* States after the last image of the last classify: grid_w * grid_h * channels int8 values
 * (cell-major, channel 0 = input level). cap in bytes; *n_out = bytes written. */
int xnca_read_state(xnca_dev *dev, int8_t *states, size_t cap, size_t *n_out);

/* RESET: drop the loaded model. */
int xnca_reset(xnca_dev *dev);

#ifdef __cplusplus
}
#endif
#endif
