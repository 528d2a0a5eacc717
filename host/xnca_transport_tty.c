/* xnca_transport_tty.c - `tty:PATH[@BAUD]`: a serial port (ttyUSB/ttyACM, a pts from a
 * simulator) in raw 8N1 mode without flow control, via termios. Default 3,000,000 baud.
 * The byte pipe itself works on any connected stream file descriptor (a tty, a Unix socket, a
 * pipe): xnca_transport_fd_open, which the socket transports (xnca_transport_unix.c) share. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "xnca_transport.h"

typedef struct {
    xnca_transport t;
    int fd;
    int is_socket; /* send() with MSG_NOSIGNAL: a vanished peer is an error, not SIGPIPE */
} tty_transport;

static const struct {
    int baud;
    speed_t code;
} bauds[] = {
    {9600, B9600},       {19200, B19200},     {38400, B38400},     {57600, B57600},
    {115200, B115200},   {230400, B230400},   {460800, B460800},   {500000, B500000},
    {921600, B921600},   {1000000, B1000000}, {1500000, B1500000}, {2000000, B2000000},
    {3000000, B3000000}, {4000000, B4000000},
};

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int tty_write(xnca_transport *t, const uint8_t *buf, size_t len, int timeout_ms)
{
    tty_transport *s = (tty_transport *)t;
    long deadline = ms_now() + timeout_ms;
    while (len) {
        ssize_t n = s->is_socket ? send(s->fd, buf, len, MSG_NOSIGNAL) : write(s->fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == EIO || errno == ECONNRESET)) {
            snprintf(t->err, sizeof t->err, "device gone (the other end closed: %s)", strerror(errno));
            return -1;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            snprintf(t->err, sizeof t->err, "write: %s", strerror(errno));
            return -1;
        }
        long left = deadline - ms_now();
        struct pollfd p = {s->fd, POLLOUT, 0};
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            snprintf(t->err, sizeof t->err, "write timed out after %d ms", timeout_ms);
            return -1;
        }
    }
    return 0;
}

static long tty_read(xnca_transport *t, uint8_t *buf, size_t cap, int timeout_ms)
{
    tty_transport *s = (tty_transport *)t;
    struct pollfd p = {s->fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno != EINTR) {
        snprintf(t->err, sizeof t->err, "poll: %s", strerror(errno));
        return -1;
    }
    if (r <= 0)
        return 0;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
        if (!(p.revents & POLLIN)) {
            snprintf(t->err, sizeof t->err, "device gone (hang-up: the other end closed)");
            return -1;
        }
    }
    ssize_t n = read(s->fd, buf, cap);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0 && (errno == EIO || errno == ECONNRESET)) { /* a pty whose master closed; a reset socket */
        snprintf(t->err, sizeof t->err, "device gone (the other end closed: %s)", strerror(errno));
        return -1;
    }
    if (n < 0) {
        snprintf(t->err, sizeof t->err, "read: %s", strerror(errno));
        return -1;
    }
    if (n == 0) {
        snprintf(t->err, sizeof t->err, "device gone (end of file)");
        return -1;
    }
    return n;
}

static void tty_close(xnca_transport *t)
{
    close(((tty_transport *)t)->fd);
    free(t);
}

int xnca_transport_tty_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen)
{
    char path[256];
    int baud = o && o->baud ? o->baud : 3000000;
    const char *at = strrchr(arg, '@');
    size_t plen = at ? (size_t)(at - arg) : strlen(arg);
    if (plen == 0 || plen >= sizeof path) {
        snprintf(err, errlen, "tty: give a path, e.g. tty:/dev/ttyUSB1@3000000");
        return -1;
    }
    memcpy(path, arg, plen);
    path[plen] = 0;
    if (at)
        baud = atoi(at + 1);
    speed_t code = 0;
    for (size_t i = 0; i < sizeof bauds / sizeof bauds[0]; i++)
        if (bauds[i].baud == baud)
            code = bauds[i].code;
    if (!code) {
        snprintf(err, errlen, "tty: unsupported baud rate %d", baud);
        return -1;
    }
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "tty: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct termios tio;
    int is_tty = tcgetattr(fd, &tio) == 0;
    if (is_tty) { /* a plain file or pipe has no termios: use it as is */
        cfmakeraw(&tio);
        tio.c_cflag |= CLOCAL | CREAD;
        tio.c_cflag &= ~(CRTSCTS | CSTOPB | PARENB);
        tio.c_iflag &= ~(IXON | IXOFF | IXANY);
        tio.c_cc[VMIN] = 0;
        tio.c_cc[VTIME] = 0;
        cfsetispeed(&tio, code);
        cfsetospeed(&tio, code);
        if (tcsetattr(fd, TCSANOW, &tio) < 0) {
            snprintf(err, errlen, "tty: cannot configure %s at %d baud: %s", path, baud, strerror(errno));
            close(fd);
            return -1;
        }
        tcflush(fd, TCIOFLUSH);
    }
    if (xnca_transport_fd_open(fd, "tty", out, err, errlen))
        return -1;
    if (is_tty) {
        (*out)->baud = baud;
        snprintf((*out)->link, sizeof (*out)->link, "%.64s at %d baud", path, baud);
    }
    return 0;
}

int xnca_transport_fd_open(int fd, const char *name, xnca_transport **out, char *err, size_t errlen)
{
    tty_transport *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    struct stat st;
    s->is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    s->fd = fd;
    s->t.name = name;
    s->t.write = tty_write;
    s->t.read = tty_read;
    s->t.close = tty_close;
    *out = &s->t;
    return 0;
}
