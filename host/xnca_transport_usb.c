/* xnca_transport_usb.c - `usb[:VID:PID[:SERIAL]][@BAUD]`: an FTDI USB-UART bridge via libftdi1
 * on libusb (boards: FT2232H 0403:6010 channel B on iCEBreaker, FT231X 0403:6015 on ULX3S).
 *
 * Baud: @BAUD, else the caller's opts baud, else the bridge's default = the UART of the boards
 * behind it as the bitstreams are built (mk/top.mk CLOCK_HZ / CLKS_PER_BIT, generated into
 * build/gen/xnca_link_bauds.h by mk/host.mk).
 *
 * Open sequence (../docs/protocol.md 5): open by VID:PID (and serial), USB reset, bitmode
 * reset to UART (after JTAG bit-banging), purge both buffers, baud, 8N1, no flow control,
 * latency timer 1 ms. libftdi strips the 2-byte modem/line status header of every IN packet.
 * A read that finds nothing returns after the latency period; the caller's deadline bounds
 * every wait, and a vanished device ends with "device gone". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ftdi.h>
#include <libusb.h>

#include "xnca_link_bauds.h"
#include "xnca_transport.h"

/* Bridges no board configuration names (UPduino v3's FT232H, an id not in the table). */
#define XNCA_BAUD_OTHER 3000000
/* The most any supported bridge does (H-type chips: 12 Mbaud). */
#define XNCA_BAUD_MAX 12000000

typedef struct {
    xnca_transport t;
    struct ftdi_context *ftdi;
} usb_transport;

/* Bridges probed by a plain `usb`, with the UART's channel. */
static const struct {
    int vid, pid;
    enum ftdi_interface channel;
    const char *name;
    int baud; /* default: the UART of the boards behind this bridge */
} known[] = {
    {0x0403, 0x6010, INTERFACE_B, "FT2232H", XNCA_BAUD_FT2232H}, /* iCEBreaker: channel A is the flash's MPSSE */
    {0x0403, 0x6015, INTERFACE_A, "FT231X", XNCA_BAUD_FT231X},   /* ULX3S (85F and 25F) */
    {0x0403, 0x6014, INTERFACE_A, "FT232H", XNCA_BAUD_OTHER},    /* UPduino v3 */
};

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* After a failed transfer: is the bridge still there? libftdi reports some failures as -1, so
 * ask the device directly (POLL_MODEM_STATUS); usbfs answers ENODEV once it is unplugged. */
static int gone(struct ftdi_context *f, int rc)
{
    if (rc == LIBUSB_ERROR_NO_DEVICE || rc == LIBUSB_ERROR_NOT_FOUND)
        return 1;
    unsigned char status[2];
    int r = libusb_control_transfer(f->usb_dev, 0xc0, 0x05, 0, (uint16_t)f->index, status, 2, 100);
    return r == LIBUSB_ERROR_NO_DEVICE;
}

static int usb_write(xnca_transport *t, const uint8_t *buf, size_t len, int timeout_ms)
{
    usb_transport *u = (usb_transport *)t;
    u->ftdi->usb_write_timeout = timeout_ms > 0 ? timeout_ms : 1;
    while (len) {
        int chunk = len > 4096 ? 4096 : (int)len;
        int n = ftdi_write_data(u->ftdi, buf, chunk);
        if (n < 0) {
            snprintf(t->err, sizeof t->err, "%s (%s)", gone(u->ftdi, n) ? "device gone" : "USB write failed",
                     ftdi_get_error_string(u->ftdi));
            return -1;
        }
        if (n == 0) {
            snprintf(t->err, sizeof t->err, "USB write made no progress within %d ms", timeout_ms);
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static long usb_read(xnca_transport *t, uint8_t *buf, size_t cap, int timeout_ms)
{
    usb_transport *u = (usb_transport *)t;
    long deadline = ms_now() + timeout_ms;
    for (;;) {
        long left = deadline - ms_now();
        u->ftdi->usb_read_timeout = left > 100 ? 100 : left > 1 ? (int)left : 1;
        int n = ftdi_read_data(u->ftdi, buf, cap > 65536 ? 65536 : (int)cap);
        if (n > 0)
            return n;
        if (n < 0 && n != LIBUSB_ERROR_TIMEOUT) {
            snprintf(t->err, sizeof t->err, "%s (%s)", gone(u->ftdi, n) ? "device gone" : "USB read failed",
                     ftdi_get_error_string(u->ftdi));
            return -1;
        }
        if (ms_now() >= deadline)
            return 0;
        usleep(500); /* only status bytes: the bridge's latency period */
    }
}

static void usb_close(xnca_transport *t)
{
    usb_transport *u = (usb_transport *)t;
    if (u->ftdi) {
        ftdi_usb_close(u->ftdi);
        ftdi_free(u->ftdi);
    }
    free(u);
}

/* Open one bridge and set it up as a UART; 0, -1 (not found, *missing set) or -2 (failed). */
static int try_open(usb_transport *u, int vid, int pid, const char *serial, enum ftdi_interface channel, int baud,
                    int timeout_ms, char *err, size_t errlen)
{
    struct ftdi_context *f = ftdi_new();
    if (!f) {
        snprintf(err, errlen, "usb: ftdi_new failed");
        return -2;
    }
    const char *step = "select channel";
    int rc = ftdi_set_interface(f, channel);
    if (rc == 0) {
        rc = ftdi_usb_open_desc_index(f, vid, pid, NULL, serial, 0);
        if (rc == -3 || rc == -1) { /* no such device */
            ftdi_free(f);
            snprintf(err, errlen, "usb: no FTDI device %04x:%04x%s%s found", vid, pid, serial ? " serial " : "",
                     serial ? serial : "");
            return -1;
        }
        step = "open";
    }
    f->usb_read_timeout = timeout_ms;
    f->usb_write_timeout = timeout_ms;
    if (rc == 0 && (rc = ftdi_usb_reset(f)) != 0)
        step = "reset";
    if (rc == 0 && (rc = ftdi_set_bitmode(f, 0x00, BITMODE_RESET)) != 0)
        step = "reset bitmode to UART";
    if (rc == 0 && (rc = ftdi_tcioflush(f)) != 0)
        step = "purge buffers";
    if (rc == 0 && (rc = ftdi_set_baudrate(f, baud)) != 0)
        step = "set baud rate";
    if (rc == 0 && (rc = ftdi_set_line_property(f, BITS_8, STOP_BIT_1, NONE)) != 0)
        step = "set 8N1";
    if (rc == 0 && (rc = ftdi_setflowctrl(f, SIO_DISABLE_FLOW_CTRL)) != 0)
        step = "disable flow control";
    if (rc == 0 && (rc = ftdi_set_latency_timer(f, 1)) != 0)
        step = "set latency timer";
    if (rc != 0) {
        snprintf(err, errlen, "usb: %04x:%04x: %s failed (%d: %s)", vid, pid, step, rc, ftdi_get_error_string(f));
        ftdi_usb_close(f);
        ftdi_free(f);
        return -2;
    }
    u->ftdi = f;
    u->t.baud = baud;
    return 0;
}

int xnca_transport_usb_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen)
{
    int vid = 0, pid = 0, n = 0;
    char ids[160] = "", serial[128] = "";
    int baud = o && o->baud ? o->baud : 0; /* 0: each bridge's default */
    int timeout_ms = o && o->timeout_ms ? o->timeout_ms : 2000;
    if (!arg)
        arg = "";
    /* "[VID:PID[:SERIAL]][@BAUD]" (arg is "@BAUD" for a plain usb@BAUD) */
    const char *at = strrchr(arg, '@');
    size_t idlen = at ? (size_t)(at - arg) : strlen(arg);
    if (at) {
        char *end;
        long b = strtol(at + 1, &end, 10);
        if (at[1] < '0' || at[1] > '9' || *end || b <= 0 || b > XNCA_BAUD_MAX) {
            snprintf(err, errlen, "usb: bad baud '%s' (expected usb[:VID:PID[:SERIAL]][@BAUD], BAUD 1..%d)", at,
                     XNCA_BAUD_MAX);
            return -1;
        }
        baud = (int)b;
    }
    if (idlen >= sizeof ids) {
        snprintf(err, errlen, "usb: device argument too long");
        return -1;
    }
    memcpy(ids, arg, idlen);
    ids[idlen] = 0;
    if (*ids) {
        if (sscanf(ids, "%x:%x%n", (unsigned *)&vid, (unsigned *)&pid, &n) != 2 || vid <= 0 || vid > 0xffff ||
            pid <= 0 || pid > 0xffff || (ids[n] && ids[n] != ':') || strlen(ids + n) >= sizeof serial) {
            snprintf(err, errlen, "usb: expected usb[:VID:PID[:SERIAL]][@BAUD] with hex ids, got 'usb:%s'", arg);
            return -1;
        }
        if (ids[n] == ':')
            snprintf(serial, sizeof serial, "%s", ids + n + 1);
    }
    usb_transport *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "usb: out of memory");
        return -1;
    }
    int rc = -1;
    for (size_t i = 0; i < sizeof known / sizeof known[0] && rc == -1; i++) {
        if (vid && (known[i].vid != vid || known[i].pid != pid))
            continue;
        rc = try_open(u, known[i].vid, known[i].pid, *serial ? serial : NULL, known[i].channel,
                      baud ? baud : known[i].baud, timeout_ms, err, errlen);
        if (rc == 0)
            snprintf(u->t.link, sizeof u->t.link, "%s %04x:%04x at %d baud", known[i].name, known[i].vid,
                     known[i].pid, u->t.baud);
    }
    if (rc == -1 && vid && !u->ftdi) { /* an id not in the table: channel A */
        rc = try_open(u, vid, pid, *serial ? serial : NULL, INTERFACE_A, baud ? baud : XNCA_BAUD_OTHER, timeout_ms,
                      err, errlen);
        if (rc == 0)
            snprintf(u->t.link, sizeof u->t.link, "FTDI %04x:%04x at %d baud", vid, pid, u->t.baud);
    }
    if (rc != 0) {
        if (!vid && rc == -1)
            snprintf(err, errlen, "usb: no FTDI bridge found (tried 0403:6010, 0403:6015, 0403:6014)");
        free(u);
        return -1;
    }
    u->t.name = "usb";
    u->t.write = usb_write;
    u->t.read = usb_read;
    u->t.close = usb_close;
    *out = &u->t;
    return 0;
}
