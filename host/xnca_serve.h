/* xnca_serve.h - internal: relay a device's wire bytes to a connected stream (docs/protocol.md
 * 5.1). `xnca sim` (host/cli_sim.c) serves the Verilated device this way on a Unix socket or a
 * pseudo-terminal; tests/test_tty.c serves the CPU device model over a pty pair. */
#ifndef XNCA_SERVE_H
#define XNCA_SERVE_H

#include <signal.h>
#include <stdint.h>

#include "xnca_transport.h"

typedef struct {
    long frames_in, frames_out; /* non-empty frames relayed each way */
    uint64_t bytes_in, bytes_out;
} xnca_serve_stats;

/* Relay one connection: bytes from fd go to the device, the device's bytes back to fd. The
 * device is clocked (its read called) only while it owes replies: one per non-empty frame sent
 * to it (protocol 1.4). Returns 0 when the peer has gone (end of file, hang-up, reset), 1 when
 * *stop became non-zero, -1 on a device failure (message in err). Afterwards the device is
 * drained: clocked until it owes nothing (at most ~2 s), its replies discarded. st may be NULL. */
int xnca_serve_conn(xnca_transport *dev, int fd, volatile sig_atomic_t *stop, xnca_serve_stats *st, char *err,
                    size_t errlen);

#endif
