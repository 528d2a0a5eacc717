/* xnca_devmodel.h - the CPU device model: a complete xnca device (docs/protocol.md) in
 * process, the reference engine behind the frame protocol. Used by the `cpu` transport and by
 * the umockdev FTDI emulator in the usb tests, so both exercise the real framing.
 *
 * Bytes written go into a receive buffer of caps.input_buffer_bytes (bytes past it are dropped
 * and the frame is answered BUSY, as on hardware); frames are decoded and executed by
 * xnca_devmodel_run(), which the transports call while the host waits for replies.
 */
#ifndef XNCA_DEVMODEL_H
#define XNCA_DEVMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "xnca_frame.h"

typedef struct xnca_devmodel xnca_devmodel;

/* The CPU model's caps: the whole C engine envelope (spec 9), raw grids and float variants. */
void xnca_devmodel_cpu_caps(xnca_info_msg *caps);
/* Caps of an FPGA build (quant only, m,k <= 4, 28x28, C <= 20, P, M <= 80): what the usb tests emulate. */
void xnca_devmodel_fpga_caps(xnca_info_msg *caps, const char *board);

xnca_devmodel *xnca_devmodel_new(const xnca_info_msg *caps);
void xnca_devmodel_free(xnca_devmodel *d);
/* Host -> device wire bytes. */
void xnca_devmodel_write(xnca_devmodel *d, const uint8_t *data, size_t len);
/* Decode and execute every complete frame in the receive buffer; replies queue up for read. */
void xnca_devmodel_run(xnca_devmodel *d);
/* Device -> host wire bytes; returns the number copied. */
size_t xnca_devmodel_read(xnca_devmodel *d, uint8_t *out, size_t cap);
size_t xnca_devmodel_pending(const xnca_devmodel *d);

#endif
