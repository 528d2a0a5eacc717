/* xnca_transport.h - internal: the byte pipe under the host library (docs/protocol.md 5).
 *
 * A transport moves wire bytes; framing, credit and timeouts above it are the library's
 * (xnca_host.c). Every transport reports failures as a message in t->err.
 */
#ifndef XNCA_TRANSPORT_H
#define XNCA_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct xnca_transport xnca_transport;
struct xnca_transport {
    const char *name; /* "cpu", "tty", "usb", "sim" */
    /* Write all len bytes within timeout_ms: 0, or -1 with err set. */
    int (*write)(xnca_transport *t, const uint8_t *buf, size_t len, int timeout_ms);
    /* Wait up to timeout_ms for bytes: >0 bytes read, 0 on timeout, -1 with err set. */
    long (*read)(xnca_transport *t, uint8_t *buf, size_t cap, int timeout_ms);
    void (*close)(xnca_transport *t);
    char err[256];
};

typedef struct {
    int baud;        /* 0: the transport's default */
    int timeout_ms;  /* open-time timeout */
} xnca_transport_opts;

/* Each returns 0 and *out, or -1 with a message in err. arg is the text after "name:" (may be ""). */
int xnca_transport_cpu_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen);
int xnca_transport_tty_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen);
int xnca_transport_usb_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen);
int xnca_transport_sim_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen);

#endif
