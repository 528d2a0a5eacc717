/* ftdi_emulator.h - an FTDI USB-UART bridge emulated under umockdev (in-process API), with the
 * CPU device model (host/xnca_devmodel.c) behind its UART.
 *
 * The emulator is a umockdev ioctl handler on the usbfs node: it answers the standard and FTDI
 * vendor control requests, takes bulk OUT data into the device model, and returns the model's
 * bytes on bulk IN in max-packet-sized chunks that each start with the 2-byte modem/line status
 * header (an IN transfer with nothing to say holds just the header, like the chip after its
 * latency timer). Faults: a mute device, a reply cut short, a device that disappears.
 * Needs the umockdev preload library: run the test binary under umockdev-wrapper.
 */
#ifndef FTDI_EMULATOR_H
#define FTDI_EMULATOR_H

#include <stdint.h>

#include "xnca_frame.h"

typedef enum { FTDI_EMU_FT231X, FTDI_EMU_FT2232H } ftdi_emu_chip;

typedef enum {
    FTDI_EMU_OK = 0,
    FTDI_EMU_MUTE,      /* takes every byte, never answers (status packets only) */
    FTDI_EMU_SHORT,     /* after `arg` reply bytes, the device goes silent mid-frame */
    FTDI_EMU_TRUNCATE,  /* after `arg` reply bytes, the reply frame is cut and a delimiter sent */
    FTDI_EMU_GONE,      /* after `arg` bulk OUT transfers, every request fails with ENODEV */
} ftdi_emu_fault;

/* What the host did to the bridge (for checks). */
typedef struct {
    int resets, purge_rx, purge_tx, bitmode_resets, latency, data_bits_8n1, flow_none;
    uint16_t baud_value, baud_index;   /* the last SET_BAUD_RATE's wValue / wIndex */
    int baud_requests;                 /* SET_BAUD_RATE requests seen */
    int claimed_interface;             /* -1: none */
    long bulk_out_bytes, bulk_in_bytes;
    int in_transfers_multi_packet;     /* IN transfers that carried more than one packet */
    int string_requests;
} ftdi_emu_stats;

typedef struct ftdi_emu ftdi_emu;

/* Create the testbed and plug in one bridge with this serial number, the device model using
 * `caps` (NULL: FPGA caps). Returns NULL (with a message on stderr) without umockdev. */
ftdi_emu *ftdi_emu_new(ftdi_emu_chip chip, const char *serial, const xnca_info_msg *caps);
void ftdi_emu_set_fault(ftdi_emu *e, ftdi_emu_fault fault, long arg);
void ftdi_emu_stats_get(ftdi_emu *e, ftdi_emu_stats *out);
void ftdi_emu_free(ftdi_emu *e);

#endif
