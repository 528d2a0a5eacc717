/* ftdi_emulator.c - FTDI FT231X / FT2232H emulation as a umockdev ioctl handler (see
 * ftdi_emulator.h). Protocol facts: libftdi src/ftdi.c, Linux drivers/usb/serial/ftdi_sio.h. */
#include "ftdi_emulator.h"

#include <errno.h>
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umockdev.h>

#include "xnca_devmodel.h"

#define DEVNODE "/dev/bus/usb/001/002"

typedef struct {
    UMockdevIoctlData *urb_data; /* the submitted URB (our reference) */
    uint8_t *data;               /* IN data (control: after the setup packet) */
    int len, status;
} pending_urb;

struct ftdi_emu {
    UMockdevTestbed *testbed;
    UMockdevIoctlBase *handler;
    ftdi_emu_chip chip;
    int mps;                 /* bulk max packet size: 64 full speed, 512 high speed */
    uint8_t ep_in, ep_out;   /* the UART channel's endpoints */
    char serial[64];
    xnca_devmodel *dev;
    GList *done;             /* pending_urb*, completed, waiting to be reaped */
    pthread_mutex_t lock;    /* stats and fault, shared with the test thread */
    ftdi_emu_stats st;
    ftdi_emu_fault fault;
    long fault_arg, sent_in, out_transfers;
    int gone, truncated, pending_delim;
    uint8_t latency;
};

/* ---- descriptors ---- */

static const uint8_t ft231x_desc[] = {
    /* device: USB 2.0, VID 0403 PID 6015, bcdDevice 0x1000 (FT-X), strings 1 2 3 */
    0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0x03, 0x04, 0x15, 0x60, 0x00, 0x10, 0x01, 0x02, 0x03, 0x01,
    /* configuration, one interface, bulk 0x81 IN / 0x02 OUT, 64 bytes */
    0x09, 0x02, 0x20, 0x00, 0x01, 0x01, 0x00, 0x80, 0x2d,
    0x09, 0x04, 0x00, 0x00, 0x02, 0xff, 0xff, 0xff, 0x02,
    0x07, 0x05, 0x81, 0x02, 0x40, 0x00, 0x00,
    0x07, 0x05, 0x02, 0x02, 0x40, 0x00, 0x00,
};

static const uint8_t ft2232h_desc[] = {
    /* device: USB 2.0, VID 0403 PID 6010, bcdDevice 0x0700 (FT2232H) */
    0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x03, 0x04, 0x10, 0x60, 0x00, 0x07, 0x01, 0x02, 0x03, 0x01,
    /* configuration, interfaces A (0x81/0x02) and B (0x83/0x04), 512 bytes */
    0x09, 0x02, 0x37, 0x00, 0x02, 0x01, 0x00, 0x80, 0x32,
    0x09, 0x04, 0x00, 0x00, 0x02, 0xff, 0xff, 0xff, 0x02,
    0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00,
    0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00,
    0x09, 0x04, 0x01, 0x00, 0x02, 0xff, 0xff, 0xff, 0x02,
    0x07, 0x05, 0x83, 0x02, 0x00, 0x02, 0x00,
    0x07, 0x05, 0x04, 0x02, 0x00, 0x02, 0x00,
};

static void descriptors(const ftdi_emu *e, const uint8_t **p, size_t *n)
{
    *p = e->chip == FTDI_EMU_FT231X ? ft231x_desc : ft2232h_desc;
    *n = e->chip == FTDI_EMU_FT231X ? sizeof ft231x_desc : sizeof ft2232h_desc;
}

/* String descriptor idx as UTF-16LE; returns its length. */
static int string_desc(const ftdi_emu *e, int idx, uint8_t *out)
{
    const char *s = idx == 1 ? "FTDI"
                  : idx == 2 ? (e->chip == FTDI_EMU_FT231X ? "FT231X USB UART" : "Dual RS232-HS")
                  : e->serial;
    if (idx == 0) {
        out[0] = 4, out[1] = 3, out[2] = 0x09, out[3] = 0x04;
        return 4;
    }
    int n = (int)strlen(s);
    out[0] = (uint8_t)(2 + 2 * n), out[1] = 3;
    for (int i = 0; i < n; i++)
        out[2 + 2 * i] = (uint8_t)s[i], out[3 + 2 * i] = 0;
    return 2 + 2 * n;
}

/* ---- control requests ---- */

/* Answer one control transfer; returns the IN data length or -1 (stall). */
static int control(ftdi_emu *e, const uint8_t *setup, uint8_t *in, int cap)
{
    int type = setup[0], req = setup[1];
    int value = setup[2] | setup[3] << 8, index = setup[4] | setup[5] << 8, length = setup[6] | setup[7] << 8;
    uint8_t buf[512];
    int n = -1;
    if (type == 0x80 && req == 0x06) { /* GET_DESCRIPTOR */
        const uint8_t *d;
        size_t dn;
        descriptors(e, &d, &dn);
        if (value >> 8 == 1)
            memcpy(buf, d, 18), n = 18;
        else if (value >> 8 == 2)
            memcpy(buf, d + 18, dn - 18), n = (int)dn - 18;
        else if (value >> 8 == 3) {
            n = string_desc(e, value & 0xff, buf);
            pthread_mutex_lock(&e->lock);
            e->st.string_requests++;
            pthread_mutex_unlock(&e->lock);
        }
    } else if (type == 0x40) { /* FTDI vendor OUT */
        pthread_mutex_lock(&e->lock);
        switch (req) {
        case 0x00: /* SIO_RESET: 0 reset, 1 purge RX, 2 purge TX */
            if (value == 0) e->st.resets++;
            if (value == 1) e->st.purge_rx++;
            if (value == 2) e->st.purge_tx++;
            break;
        case 0x02: if ((index >> 8) == 0) e->st.flow_none++; break;
        case 0x03: /* SIO_SET_BAUDRATE: the divisor in wValue and the high byte of wIndex */
            e->st.baud_value = (uint16_t)value, e->st.baud_index = (uint16_t)index, e->st.baud_requests++;
            break;
        case 0x04: if (value == 0x0008) e->st.data_bits_8n1++; break;
        case 0x09: e->latency = (uint8_t)value, e->st.latency = value; break;
        case 0x0b: if ((value >> 8) == 0) e->st.bitmode_resets++; break;
        default: break;
        }
        pthread_mutex_unlock(&e->lock);
        n = 0;
    } else if (type == 0xc0) { /* FTDI vendor IN */
        if (req == 0x05) /* POLL_MODEM_STATUS */
            buf[0] = 0x01, buf[1] = 0x60, n = 2;
        else if (req == 0x0a) /* GET_LATENCY_TIMER */
            buf[0] = e->latency, n = 1;
        else if (req == 0x0c) /* READ_PINS */
            buf[0] = 0xff, n = 1;
        else if (req == 0x90) /* READ_EEPROM: blank */
            buf[0] = buf[1] = 0xff, n = 2;
    } else if (type == 0x00 || type == 0x01) { /* SET_CONFIGURATION, SET_INTERFACE, ... */
        n = 0;
    }
    if (n > length)
        n = length;
    if (n > cap)
        n = cap;
    if (n > 0)
        memcpy(in, buf, (size_t)n);
    return n;
}

/* ---- bulk ---- */

/* Fill an IN transfer of `cap` bytes: packets of mps bytes, each 2 status bytes + data. */
static int bulk_in(ftdi_emu *e, uint8_t *out, int cap)
{
    pthread_mutex_lock(&e->lock);
    ftdi_emu_fault fault = e->fault;
    long limit = (fault == FTDI_EMU_SHORT || fault == FTDI_EMU_TRUNCATE) ? e->fault_arg - e->sent_in : -1;
    pthread_mutex_unlock(&e->lock);
    if (!xnca_devmodel_pending(e->dev))
        xnca_devmodel_run(e->dev);
    int len = 0, packets = 0;
    while (len + 2 <= cap) {
        out[len] = 0x01;     /* modem status (reserved bit 0 set, as the chips send) */
        out[len + 1] = 0x60; /* line status: THRE | TEMT */
        int room = e->mps - 2;
        if (room > cap - len - 2)
            room = cap - len - 2;
        int n = 0;
        if (e->pending_delim && room > 0) {
            out[len + 2] = 0x00; /* TRUNCATE: the frame ends early */
            n = 1;
            e->pending_delim = 0;
        } else if (fault != FTDI_EMU_MUTE && !e->truncated) {
            if (limit >= 0 && room > limit)
                room = limit > 0 ? (int)limit : 0;
            n = (int)xnca_devmodel_read(e->dev, out + len + 2, (size_t)room);
            if (limit >= 0) {
                limit -= n;
                if (limit <= 0 && fault == FTDI_EMU_TRUNCATE) {
                    e->truncated = 1;
                    e->pending_delim = 1;
                }
            }
        }
        len += 2 + n;
        packets++;
        pthread_mutex_lock(&e->lock);
        e->sent_in += n;
        e->st.bulk_in_bytes += n;
        pthread_mutex_unlock(&e->lock);
        if (n < e->mps - 2)
            break; /* a short packet ends the transfer */
    }
    if (packets > 1) {
        pthread_mutex_lock(&e->lock);
        e->st.in_transfers_multi_packet++;
        pthread_mutex_unlock(&e->lock);
    }
    return len;
}

/* ---- the ioctl handler ---- */

static void queue_done(ftdi_emu *e, UMockdevIoctlData *urb_data, const uint8_t *data, int len, int status)
{
    pending_urb *p = g_new0(pending_urb, 1);
    p->urb_data = umockdev_ioctl_data_ref(urb_data);
    if (len > 0)
        p->data = g_memdup2(data, (gsize)len);
    p->len = len;
    p->status = status;
    e->done = g_list_append(e->done, p);
}

static gboolean submit_urb(ftdi_emu *e, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    g_autoptr(UMockdevIoctlData) urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;
    g_autoptr(UMockdevIoctlData) buf =
        umockdev_ioctl_data_resolve(urb_data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer), (gsize)urb->buffer_length,
                                    NULL);
    const uint8_t *b = (const uint8_t *)buf->data;
    pthread_mutex_lock(&e->lock);
    int gone = e->gone;
    pthread_mutex_unlock(&e->lock);
    if (gone) {
        umockdev_ioctl_client_complete(client, -1, ENODEV);
        return TRUE;
    }
    if (urb->type == USBDEVFS_URB_TYPE_CONTROL && urb->buffer_length >= 8) {
        static uint8_t in[4096];
        int n = control(e, b, in, urb->buffer_length - 8 < (int)sizeof in ? urb->buffer_length - 8 : (int)sizeof in);
        if (n < 0)
            queue_done(e, urb_data, NULL, 0, -EPIPE);
        else
            queue_done(e, urb_data, (b[0] & 0x80) ? in : NULL, (b[0] & 0x80) ? n : 0, 0);
    } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == e->ep_out) {
        xnca_devmodel_write(e->dev, b, (size_t)urb->buffer_length);
        pthread_mutex_lock(&e->lock);
        e->st.bulk_out_bytes += urb->buffer_length;
        e->out_transfers++;
        if (e->fault == FTDI_EMU_GONE && e->out_transfers > e->fault_arg)
            e->gone = 1;
        pthread_mutex_unlock(&e->lock);
        queue_done(e, urb_data, NULL, -urb->buffer_length, 0); /* negative: OUT, length taken */
    } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == e->ep_in) {
        uint8_t *in = g_malloc((gsize)urb->buffer_length + 2);
        int n = bulk_in(e, in, urb->buffer_length);
        queue_done(e, urb_data, in, n, 0);
        g_free(in);
    } else {
        umockdev_ioctl_client_complete(client, -1, EINVAL); /* an endpoint this bridge has not */
        return TRUE;
    }
    umockdev_ioctl_client_complete(client, 0, 0);
    return TRUE;
}

static gboolean reap_urb(ftdi_emu *e, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    if (!e->done) {
        pthread_mutex_lock(&e->lock);
        int gone = e->gone;
        pthread_mutex_unlock(&e->lock);
        umockdev_ioctl_client_complete(client, -1, gone ? ENODEV : EAGAIN);
        return TRUE;
    }
    pending_urb *p = e->done->data;
    e->done = g_list_delete_link(e->done, e->done);
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *)p->urb_data->data;
    int control_urb = urb->type == USBDEVFS_URB_TYPE_CONTROL;
    if (p->len < 0) {
        urb->actual_length = -p->len; /* bulk OUT: everything taken */
    } else {
        if (p->len > 0)
            memcpy((uint8_t *)urb->buffer + (control_urb ? 8 : 0), p->data, (size_t)p->len);
        urb->actual_length = p->len;
    }
    urb->status = p->status;
    g_autoptr(UMockdevIoctlData) ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
    umockdev_ioctl_data_set_ptr(ptr, 0, p->urb_data);
    umockdev_ioctl_client_complete(client, 0, 0);
    umockdev_ioctl_data_unref(p->urb_data);
    g_free(p->data);
    g_free(p);
    return TRUE;
}

static gboolean handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user)
{
    ftdi_emu *e = user;
    (void)handler;
    gulong request = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
        *(guint32 *)d->data = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                              USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
        umockdev_ioctl_client_complete(client, 0, 0);
        return TRUE;
    }
    case USBDEVFS_CLAIMINTERFACE: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), NULL);
        pthread_mutex_lock(&e->lock);
        e->st.claimed_interface = (int)*(unsigned int *)d->data;
        pthread_mutex_unlock(&e->lock);
        umockdev_ioctl_client_complete(client, 0, 0);
        return TRUE;
    }
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESET:
    case USBDEVFS_RESETEP:
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
        umockdev_ioctl_client_complete(client, 0, 0);
        return TRUE;
    case USBDEVFS_GETDRIVER:
    case USBDEVFS_IOCTL: /* no kernel driver bound (nothing to detach) */
        umockdev_ioctl_client_complete(client, -1, ENODATA);
        return TRUE;
    case USBDEVFS_SUBMITURB:
        return submit_urb(e, client, arg);
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        return reap_urb(e, client, arg);
    case USBDEVFS_DISCARDURB: {
        void *addr = *(void **)arg->data;
        for (GList *l = e->done; l; l = l->next) {
            pending_urb *p = l->data;
            if ((void *)p->urb_data->client_addr == addr) {
                p->status = -ENOENT;
                p->len = 0;
                umockdev_ioctl_client_complete(client, 0, 0);
                return TRUE;
            }
        }
        umockdev_ioctl_client_complete(client, -1, EINVAL);
        return TRUE;
    }
    default:
        umockdev_ioctl_client_complete(client, -1, ENOTTY);
        return TRUE;
    }
}

/* ---- set-up ---- */

ftdi_emu *ftdi_emu_new(ftdi_emu_chip chip, const char *serial, const xnca_info_msg *caps)
{
    const char *preload = getenv("LD_PRELOAD");
    if (!preload || !strstr(preload, "umockdev")) {
        fprintf(stderr, "ftdi_emu: not under umockdev (run the test with umockdev-wrapper)\n");
        return NULL;
    }
    ftdi_emu *e = g_new0(ftdi_emu, 1);
    pthread_mutex_init(&e->lock, NULL);
    e->chip = chip;
    e->mps = chip == FTDI_EMU_FT231X ? 64 : 512;
    e->ep_in = chip == FTDI_EMU_FT231X ? 0x81 : 0x83; /* FT2232H: channel B, the iCEBreaker UART */
    e->ep_out = chip == FTDI_EMU_FT231X ? 0x02 : 0x04;
    e->latency = 16;
    e->st.claimed_interface = -1;
    snprintf(e->serial, sizeof e->serial, "%s", serial ? serial : "XNCA0001");
    xnca_info_msg c;
    if (caps)
        c = *caps;
    else
        xnca_devmodel_fpga_caps(&c, chip == FTDI_EMU_FT231X ? "ulx3s" : "icebreaker");
    e->dev = xnca_devmodel_new(&c);

    e->testbed = umockdev_testbed_new();
    e->handler = umockdev_ioctl_base_new();
    g_signal_connect(e->handler, "handle-ioctl", G_CALLBACK(handle_ioctl), e);
    GError *err = NULL;
    if (!umockdev_testbed_attach_ioctl(e->testbed, DEVNODE, e->handler, &err)) {
        fprintf(stderr, "ftdi_emu: attach_ioctl: %s\n", err ? err->message : "?");
        ftdi_emu_free(e);
        return NULL;
    }
    const uint8_t *d;
    size_t dn;
    descriptors(e, &d, &dn);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "P: /devices/usb1/1-1\n"
                           "N: bus/usb/001/002\n"
                           "E: SUBSYSTEM=usb\n"
                           "E: DEVTYPE=usb_device\n"
                           "E: DEVNAME=" DEVNODE "\n"
                           "E: BUSNUM=001\n"
                           "E: DEVNUM=002\n"
                           "A: busnum=1\\n\n"
                           "A: devnum=2\\n\n"
                           "A: speed=%s\\n\n"
                           "A: bConfigurationValue=1\\n\n"
                           "H: descriptors=",
                           chip == FTDI_EMU_FT231X ? "12" : "480");
    for (size_t i = 0; i < dn; i++)
        g_string_append_printf(s, "%02x", d[i]);
    g_string_append(s, "\n");
    gboolean added = umockdev_testbed_add_from_string(e->testbed, s->str, &err);
    g_string_free(s, TRUE);
    if (!added) {
        fprintf(stderr, "ftdi_emu: add device: %s\n", err ? err->message : "?");
        ftdi_emu_free(e);
        return NULL;
    }
    return e;
}

void ftdi_emu_set_fault(ftdi_emu *e, ftdi_emu_fault fault, long arg)
{
    pthread_mutex_lock(&e->lock);
    e->fault = fault;
    e->fault_arg = arg;
    e->sent_in = 0;
    e->out_transfers = 0;
    pthread_mutex_unlock(&e->lock);
}

void ftdi_emu_stats_get(ftdi_emu *e, ftdi_emu_stats *out)
{
    pthread_mutex_lock(&e->lock);
    *out = e->st;
    pthread_mutex_unlock(&e->lock);
}

void ftdi_emu_free(ftdi_emu *e)
{
    if (!e)
        return;
    if (e->testbed)
        umockdev_testbed_detach_ioctl(e->testbed, DEVNODE, NULL);
    g_clear_object(&e->handler);
    g_clear_object(&e->testbed);
    while (e->done) {
        pending_urb *p = e->done->data;
        umockdev_ioctl_data_unref(p->urb_data);
        g_free(p->data);
        g_free(p);
        e->done = g_list_delete_link(e->done, e->done);
    }
    xnca_devmodel_free(e->dev);
    pthread_mutex_destroy(&e->lock);
    g_free(e);
}
