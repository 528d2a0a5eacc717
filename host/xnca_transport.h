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
    int baud;       /* serial links (usb, tty): the baud rate set at open; 0 otherwise */
    char link[96];  /* serial links: what was opened, for people ("FT231X 0403:6015 at 1000000 baud") */
};

typedef struct {
    int baud;        /* 0: the transport's default */
    int timeout_ms;  /* open-time timeout */
} xnca_transport_opts;

/* Each returns 0 and *out, or -1 with a message in err (-2: the argument is malformed, a usage
 * error). arg is the text after "name:" (may be ""). */
int xnca_transport_cpu_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen);
int xnca_transport_tty_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen);
int xnca_transport_usb_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen);
int xnca_transport_sim_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen);

/* A connected stream file descriptor (tty, socket, pipe) as a transport called name (a string
 * literal); takes the fd (closed on failure too). xnca_transport_tty.c. */
int xnca_transport_fd_open(int fd, const char *name, xnca_transport **out, char *err, size_t errlen);

/* A device served on a Unix socket by `xnca sim` (docs/protocol.md 5.1): connect to path (NULL or
 * "": the default socket of board) and name the transport name ("sim" or "unix").
 * xnca_transport_unix.c. */
int xnca_transport_unix_open(const char *path, const char *board, const char *name, const xnca_transport_opts *o,
                             xnca_transport **out, char *err, size_t errlen);

/* The default socket of `xnca sim` for board: $XNCA_SIM_SOCKET_DIR, else $XDG_RUNTIME_DIR, else
 * /tmp, then "/xnca-sim-BOARD.sock". 0, or -1 when it does not fit. */
int xnca_sim_socket_path(const char *board, char *buf, size_t len);

/* The transport under an open device (for `xnca sim`, which relays its bytes). xnca_host.c. */
struct xnca_dev;
xnca_transport *xnca_dev_transport(struct xnca_dev *d);

#endif
