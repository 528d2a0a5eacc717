/* xnca_serve.c - relay a device's wire bytes to a connected stream (xnca_serve.h). */
#include "xnca_serve.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xnca_frame.h"

#define CHUNK 4096
#define DEVICE_POLL_MS 20  /* one device read: how long the device is clocked between socket polls */
#define IDLE_POLL_MS 200   /* how often an idle server looks at *stop */
#define STALL_MS 300000    /* a device that owes replies but says nothing this long owes nothing */
#define DRAIN_MS 2000

/* Counts the non-empty frames a byte stream completes (a 0x00 after at least one other byte). */
typedef struct {
    int in_frame;
} frame_counter;

static long count_frames(frame_counter *c, const uint8_t *b, size_t n)
{
    long k = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == XNCA_FRAME_DELIM) {
            k += c->in_frame;
            c->in_frame = 0;
        } else {
            c->in_frame = 1;
        }
    }
    return k;
}

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Write all of buf to the peer: 0, or -1 when the peer has gone. */
static int put_all(int fd, int is_socket, const uint8_t *buf, size_t len, volatile sig_atomic_t *stop)
{
    while (len) {
        ssize_t n = is_socket ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (stop && *stop)
            return -1;
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, IDLE_POLL_MS);
    }
    return 0;
}

int xnca_serve_conn(xnca_transport *dev, int fd, volatile sig_atomic_t *stop, xnca_serve_stats *st, char *err,
                    size_t errlen)
{
    xnca_serve_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    struct stat sb;
    int is_socket = fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
    frame_counter cin = {0}, cout = {0};
    long owed = 0, last_out = ms_now();
    int rc = 0, peer_open = 1;
    uint8_t buf[CHUNK];
    while (peer_open) {
        if (stop && *stop) {
            rc = 1;
            break;
        }
        /* the peer: wait only when the device owes nothing */
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, owed > 0 ? 0 : IDLE_POLL_MS);
        if (pr < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (pr > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                peer_open = 0; /* end of file, EIO (pty), ECONNRESET: the host has gone */
                break;
            }
            if (n > 0) {
                long k = count_frames(&cin, buf, (size_t)n);
                if (owed == 0 && k > 0)
                    last_out = ms_now();
                owed += k;
                st->frames_in += k;
                st->bytes_in += (uint64_t)n;
                if (dev->write(dev, buf, (size_t)n, 1000) < 0) {
                    snprintf(err, errlen, "device: %s", dev->err);
                    rc = -1;
                    break;
                }
            }
        }
        if (owed <= 0)
            continue;
        /* the device: clock it while it owes replies */
        long n = dev->read(dev, buf, sizeof buf, DEVICE_POLL_MS);
        if (n < 0) {
            if (!strcmp(dev->name, "cpu")) { /* the CPU model has answered everything it can */
                owed = 0;
                continue;
            }
            snprintf(err, errlen, "device: %s", dev->err);
            rc = -1;
            break;
        }
        if (n == 0) {
            if (ms_now() - last_out > STALL_MS)
                owed = 0;
            continue;
        }
        last_out = ms_now();
        long k = count_frames(&cout, buf, (size_t)n);
        owed = owed > k ? owed - k : 0;
        st->frames_out += k;
        st->bytes_out += (uint64_t)n;
        if (put_all(fd, is_socket, buf, (size_t)n, stop) < 0)
            peer_open = 0;
    }
    /* drain: let the device finish what it was given, so the next host finds it idle */
    long t0 = ms_now();
    while (rc >= 0 && owed > 0 && ms_now() - t0 < DRAIN_MS) {
        long n = dev->read(dev, buf, sizeof buf, DEVICE_POLL_MS);
        if (n < 0)
            break;
        long k = count_frames(&cout, buf, (size_t)n);
        owed = owed > k ? owed - k : 0;
    }
    return rc;
}
