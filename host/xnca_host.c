/* xnca_host.c - libxnca: requests, replies, credit and the public API of xnca.h on top of a
 * transport (xnca_transport.h) and the codec (xnca_frame.h). */
#include "xnca.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xnca_model.h"
#include "xnca_transport.h"

#define REPLY_BODY_MAX (XNCA_MAX_REPLY_PAYLOAD + XNCA_FRAME_OVERHEAD)
#define MAX_OUTSTANDING 64

struct xnca_dev {
    xnca_transport *t;
    xnca_info_msg info;
    int timeout_ms, verbose;
    uint8_t next_tag;
    long in_flight;   /* wire bytes sent and not yet credited (docs/protocol.md 2) */
    long window;      /* the device's input buffer */
    xnca_deframer rx;
    uint8_t rxbuf[4096];
    size_t rx_len, rx_pos;
    uint8_t *body;    /* decoded reply */
    /* the loaded model */
    int have_model;
    int variant, grid_w, grid_h, channels, input_bits;
    char err[512];
};

/* ---- errors ---- */

static int fail(xnca_dev *d, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    return rc;
}

const char *xnca_error(const xnca_dev *d)
{
    return d ? d->err : "no device";
}

const char *xnca_transport_name(const xnca_dev *d)
{
    return d && d->t ? d->t->name : "none";
}

int xnca_link_baud(const xnca_dev *d)
{
    return d && d->t ? d->t->baud : 0;
}

const char *xnca_link_description(const xnca_dev *d)
{
    return d && d->t ? d->t->link : "";
}

const xnca_device_info *xnca_info(const xnca_dev *d)
{
    return &d->info;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- frames ---- */

typedef struct {
    uint8_t op, tag, status;
    uint16_t credit;
    const uint8_t *data; /* after status and credit */
    size_t len;
    uint8_t req_op;      /* ERROR replies */
    uint16_t detail;
} reply_t;

static int send_frame(xnca_dev *d, uint8_t op, uint8_t tag, const uint8_t *payload, size_t len, size_t *wire_len)
{
    uint8_t *w = malloc(xnca_frame_wire_max(len));
    if (!w)
        return fail(d, XNCA_RC_DEVICE, "out of memory");
    size_t n = xnca_frame_build(op, tag, payload, len, w);
    if (d->verbose)
        fprintf(stderr, "xnca: -> %s tag %u, %zu payload bytes, %zu on the wire\n", xnca_op_name(op), tag, len, n);
    int rc = d->t->write(d->t, w, n, d->timeout_ms);
    free(w);
    if (rc < 0)
        return fail(d, XNCA_RC_DEVICE, "%s: sending %s failed: %s", d->t->name, xnca_op_name(op), d->t->err);
    d->in_flight += (long)n;
    if (wire_len)
        *wire_len = n;
    return XNCA_RC_OK;
}

/* Next well-formed reply within the deadline; corrupt replies are an error. */
static int recv_reply(xnca_dev *d, long deadline, const char *what, reply_t *r)
{
    for (;;) {
        while (d->rx_pos < d->rx_len) {
            size_t pos = 0;
            int got = xnca_deframer_feed(&d->rx, d->rxbuf + d->rx_pos, d->rx_len - d->rx_pos, &pos);
            d->rx_pos += pos;
            if (!got)
                continue;
            xnca_frame f;
            int st = d->rx.overlong ? XNCA_ST_BAD_LENGTH
                                    : xnca_frame_parse(d->rx.buf, d->rx.n, XNCA_MAX_REPLY_PAYLOAD, d->body,
                                                       REPLY_BODY_MAX, &f);
            xnca_deframer_next(&d->rx);
            if (st != XNCA_ST_OK || f.len < 3)
                return fail(d, XNCA_RC_DEVICE, "%s: corrupt reply to %s (%s)", d->t->name, what,
                            st != XNCA_ST_OK ? xnca_status_name(st) : "payload too short");
            memset(r, 0, sizeof *r);
            r->op = f.op;
            r->tag = f.tag;
            r->status = f.payload[0];
            r->credit = (uint16_t)xnca_get16(f.payload + 1);
            r->data = f.payload + 3;
            r->len = f.len - 3u;
            if (f.op == XNCA_OP_ERROR && r->len >= 3) {
                r->req_op = r->data[0];
                r->detail = (uint16_t)xnca_get16(r->data + 1);
            }
            d->in_flight -= r->credit;
            if (d->in_flight < 0)
                d->in_flight = 0;
            if (d->verbose)
                fprintf(stderr, "xnca: <- %s tag %u status %s, %zu bytes, credit %u\n", xnca_op_name(f.op), f.tag,
                        xnca_status_name(r->status), r->len, r->credit);
            return XNCA_RC_OK;
        }
        long left = deadline - now_ms();
        if (left <= 0)
            return fail(d, XNCA_RC_DEVICE, "%s: timeout: no reply to %s within %d ms", d->t->name, what,
                        d->timeout_ms);
        long n = d->t->read(d->t, d->rxbuf, sizeof d->rxbuf, (int)left);
        if (n < 0)
            return fail(d, XNCA_RC_DEVICE, "%s: reading the reply to %s failed: %s", d->t->name, what, d->t->err);
        if (n == 0 && now_ms() >= deadline)
            return fail(d, XNCA_RC_DEVICE, "%s: timeout: no reply to %s within %d ms", d->t->name, what,
                        d->timeout_ms);
        d->rx_len = (size_t)n;
        d->rx_pos = 0;
    }
}

/* Map an ERROR reply to a message and an exit code. */
static int device_error(xnca_dev *d, const reply_t *r, uint8_t op)
{
    int rc = (r->status == XNCA_ST_DIMENSION_MISMATCH || r->status == XNCA_ST_BAD_ARGUMENT ||
              r->status == XNCA_ST_NO_MODEL)
                 ? XNCA_RC_USAGE
                 : XNCA_RC_DEVICE;
    if (r->status == XNCA_ST_DIMENSION_MISMATCH)
        return fail(d, rc, "device refused %s: DIMENSION_MISMATCH in %s", xnca_op_name(op),
                    xnca_desc_field_name(r->detail));
    return fail(d, rc, "device answered %s to %s (detail %u)", xnca_status_name(r->status), xnca_op_name(op),
                r->detail);
}

/* Wait for the reply with this tag (replies to other tags are skipped, their credit kept). */
static int wait_reply(xnca_dev *d, uint8_t op, uint8_t tag, reply_t *r)
{
    long deadline = now_ms() + d->timeout_ms;
    for (;;) {
        int rc = recv_reply(d, deadline, xnca_op_name(op), r);
        if (rc)
            return rc;
        if (r->tag != tag)
            continue;
        if (r->op == XNCA_OP_ERROR || r->status != XNCA_ST_OK)
            return device_error(d, r, op);
        if (r->op != (op | XNCA_REPLY_BIT))
            return fail(d, XNCA_RC_DEVICE, "device answered %s to %s", xnca_op_name(r->op), xnca_op_name(op));
        return XNCA_RC_OK;
    }
}

/* One request, one reply (waits for credit first). */
static int transact(xnca_dev *d, uint8_t op, const uint8_t *payload, size_t len, reply_t *r)
{
    size_t wire = xnca_frame_wire_max(len);
    if ((long)wire > d->window)
        return fail(d, XNCA_RC_USAGE, "%s of %zu bytes does not fit the device's input buffer (%ld bytes)",
                    xnca_op_name(op), len, d->window);
    uint8_t tag = d->next_tag++;
    int rc = send_frame(d, op, tag, payload, len, NULL);
    return rc ? rc : wait_reply(d, op, tag, r);
}

/* ---- open / hello / info ---- */

int xnca_hello(xnca_dev *d, uint32_t nonce)
{
    uint8_t p[4];
    reply_t r;
    xnca_put32(p, nonce);
    int rc = transact(d, XNCA_OP_HELLO, p, 4, &r);
    if (rc)
        return rc;
    if (r.len != 10 || memcmp(r.data, "XNCA", 4) || xnca_get32(r.data + 6) != nonce)
        return fail(d, XNCA_RC_DEVICE, "%s: HELLO reply is not from an xnca device", d->t->name);
    if (xnca_get16(r.data + 4) != XNCA_PROTOCOL_VERSION)
        return fail(d, XNCA_RC_DEVICE, "device speaks protocol version %u, this library %d",
                    xnca_get16(r.data + 4), XNCA_PROTOCOL_VERSION);
    return XNCA_RC_OK;
}

static int get_info(xnca_dev *d)
{
    reply_t r;
    int rc = transact(d, XNCA_OP_INFO, NULL, 0, &r);
    if (rc)
        return rc;
    if (r.len < XNCA_INFO_BYTES)
        return fail(d, XNCA_RC_DEVICE, "INFO reply too short (%zu bytes)", r.len);
    xnca_info_unpack(r.data, &d->info);
    if (d->info.input_buffer_bytes < 64 || d->info.max_payload < 64)
        return fail(d, XNCA_RC_DEVICE, "device reports an input buffer of %u bytes, max payload %u: too small",
                    d->info.input_buffer_bytes, d->info.max_payload);
    d->window = (long)d->info.input_buffer_bytes;
    return XNCA_RC_OK;
}

/* "sim[:BOARD]@[PATH]": the board named before '@' (board, cap bytes; "" when none given) and
 * the socket path after it; NULL when arg has no '@' (the in-process sim). */
static const char *sim_socket_arg(const char *arg, char *board, size_t cap)
{
    const char *at = strchr(arg, '@');
    board[0] = 0;
    if (!at)
        return NULL;
    size_t n = (size_t)(at - arg);
    if (n >= cap)
        n = cap - 1;
    memcpy(board, arg, n);
    board[n] = 0;
    return at + 1;
}

static int open_transport(const char *spec, const xnca_open_opts *o, xnca_transport **t, char *board, size_t bcap,
                          char *err, size_t errlen)
{
    xnca_transport_opts to = {o ? o->baud : 0, o && o->timeout_ms ? o->timeout_ms : 2000};
    const char *colon = strchr(spec, ':'), *at = strchr(spec, '@');
    if (at && (!colon || at < colon))
        colon = NULL; /* "sim@PATH": no board */
    size_t nlen = colon ? (size_t)(colon - spec) : at ? (size_t)(at - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : at ? at : "";
    board[0] = 0;
    if (nlen == 3 && !strncmp(spec, "cpu", 3))
        return xnca_transport_cpu_open(arg, &to, t, err, errlen);
    if (nlen == 3 && !strncmp(spec, "tty", 3))
        return xnca_transport_tty_open(arg, &to, t, err, errlen);
    if (nlen == 3 && !strncmp(spec, "usb", 3))
        return xnca_transport_usb_open(arg, &to, t, err, errlen);
    if (nlen == 4 && !strncmp(spec, "unix", 4))
        return *arg ? xnca_transport_unix_open(arg, NULL, "unix", &to, t, err, errlen)
                    : (snprintf(err, errlen, "unix: give the socket path, e.g. unix:/tmp/xnca-sim-icebreaker.sock"),
                       -2);
    if (nlen == 3 && !strncmp(spec, "sim", 3)) {
        const char *path = sim_socket_arg(arg, board, bcap);
        if (path) /* served by `xnca sim` */
            return xnca_transport_unix_open(path, board[0] ? board : "icebreaker", "sim", &to, t, err, errlen);
        return xnca_transport_sim_open(arg, &to, t, err, errlen);
    }
    snprintf(err, errlen,
             "unknown device '%s' (use cpu, usb[:VID:PID[:SERIAL]][@BAUD], tty:PATH[@BAUD], sim[:BOARD], "
             "sim[:BOARD]@[SOCKET] or unix:SOCKET)",
             spec);
    return -2;
}

/* Forget whatever arrived before a retry: buffered bytes, a partial frame, anything the device
 * still sends within ~0.2 s. */
static void drain_input(xnca_dev *d)
{
    d->rx_pos = d->rx_len = 0;
    xnca_deframer_next(&d->rx);
    for (int i = 0; i < 4; i++)
        if (d->t->read(d->t, d->rxbuf, sizeof d->rxbuf, 50) <= 0)
            break;
    d->rx_pos = d->rx_len = 0;
    xnca_deframer_next(&d->rx);
}

int xnca_open(const char *spec, const xnca_open_opts *o, xnca_dev **out, char *err, size_t errlen)
{
    *out = NULL;
    xnca_dev *d = calloc(1, sizeof *d);
    if (!d || !(d->body = malloc(REPLY_BODY_MAX)) ||
        xnca_deframer_init(&d->rx, xnca_cobs_max(REPLY_BODY_MAX)) < 0) {
        snprintf(err, errlen, "out of memory");
        if (d)
            free(d->body);
        free(d);
        return XNCA_RC_DEVICE;
    }
    d->verbose = o ? o->verbose : 0;
    d->window = XNCA_HOST_START_CREDIT;
    char want_board[32];
    int trc = open_transport(spec ? spec : "cpu", o, &d->t, want_board, sizeof want_board, err, errlen);
    if (trc < 0) {
        xnca_close(d);
        return trc == -2 ? XNCA_RC_USAGE : XNCA_RC_DEVICE;
    }
    int local = !strcmp(d->t->name, "cpu") || !strcmp(d->t->name, "sim") || !strcmp(d->t->name, "unix");
    /* a simulated device computes on the host CPU: its replies take wall time that grows with the
     * load on the machine, so it gets a long timeout (device gone is still seen at once: EOF) */
    int simulated = !strcmp(d->t->name, "sim") || !strcmp(d->t->name, "unix");
    d->timeout_ms = o && o->timeout_ms ? o->timeout_ms : simulated ? 600000 : local ? 60000 : 2000;
    uint32_t nonce = (uint32_t)now_ms() * 2654435761u;
    int rc = xnca_hello(d, nonce);
    if (rc == XNCA_RC_DEVICE && !strstr(d->err, "device gone") && !strstr(d->err, "protocol version")) {
        /* the device may have been mid-frame, or line noise answered first: the next delimiter
         * resynchronises it (every frame starts with one) */
        drain_input(d);
        d->in_flight = 0;
        rc = xnca_hello(d, nonce + 1);
    }
    if (!rc)
        rc = get_info(d);
    if (!rc && want_board[0]) {
        char b[40];
        snprintf(b, sizeof b, "sim:%s", want_board);
        if (strcmp(d->info.board, b))
            rc = fail(d, XNCA_RC_DEVICE, "the socket serves board '%s', not '%s'", d->info.board, b);
    }
    if (rc) {
        snprintf(err, errlen, "%s", d->err);
        xnca_close(d);
        return rc;
    }
    *out = d;
    return XNCA_RC_OK;
}

void xnca_close(xnca_dev *d)
{
    if (!d)
        return;
    if (d->t)
        d->t->close(d->t);
    xnca_deframer_free(&d->rx);
    free(d->body);
    free(d);
}

int xnca_reset(xnca_dev *d)
{
    reply_t r;
    int rc = transact(d, XNCA_OP_RESET, NULL, 0, &r);
    if (!rc)
        d->have_model = 0;
    return rc;
}

/* ---- models ---- */

/* Refuse a model outside the device's caps (spec 9), naming the cap. */
static int check_caps(xnca_dev *d, const xnca_model *m)
{
    const xnca_info_msg *c = &d->info;
    size_t wb = m->variant == XNCA_QUANT ? xnca_model_weight_bytes(m) : 0;
    if (m->variant != XNCA_QUANT && !(c->features & XNCA_FEATURE_FLOAT))
        return fail(d, XNCA_RC_USAGE, "device '%s' runs quant models only; this model's variant is %s",
                    c->board, xnca_variant_name(m->variant));
    if (m->variant == XNCA_QUANT) {
        if (m->weight_bits > c->max_weight_bits)
            return fail(d, XNCA_RC_USAGE, "model weight_bits %d exceeds the device's max_weight_bits %u",
                        m->weight_bits, c->max_weight_bits);
        if (m->act_bits > c->max_act_bits)
            return fail(d, XNCA_RC_USAGE, "model act_bits %d exceeds the device's max_act_bits %u", m->act_bits,
                        c->max_act_bits);
        if (m->state_bits > c->max_state_bits)
            return fail(d, XNCA_RC_USAGE, "model state_bits %d exceeds the device's max_state_bits %u",
                        m->state_bits, c->max_state_bits);
        if (wb > c->max_weight_bytes)
            return fail(d, XNCA_RC_USAGE, "model weight_bytes %zu exceeds the device's max_weight_bytes %u", wb,
                        c->max_weight_bytes);
    }
    if (m->grid_w > c->grid_w || m->grid_h > c->grid_h)
        return fail(d, XNCA_RC_USAGE, "model grid %dx%d exceeds the device's grid_w x grid_h %ux%u", m->grid_w,
                    m->grid_h, c->grid_w, c->grid_h);
    if (m->channels > c->channels)
        return fail(d, XNCA_RC_USAGE, "model channels %d exceeds the device's channels %u", m->channels,
                    c->channels);
    if (m->hidden_layers > c->max_hidden_layers)
        return fail(d, XNCA_RC_USAGE, "model hidden_layers %d exceeds the device's max_hidden_layers %u",
                    m->hidden_layers, c->max_hidden_layers);
    if (m->perception_width > c->perception_width)
        return fail(d, XNCA_RC_USAGE, "model perception_width %d exceeds the device's perception_width %u",
                    m->perception_width, c->perception_width);
    if (m->mlp_width > c->mlp_width)
        return fail(d, XNCA_RC_USAGE, "model mlp_width %d exceeds the device's mlp_width %u", m->mlp_width,
                    c->mlp_width);
    return XNCA_RC_OK;
}

int xnca_load_model_mem(xnca_dev *d, const uint8_t *file, size_t len)
{
    xnca_model m;
    char err[256];
    if (xnca_model_load_mem(file, len, &m, err, sizeof err) < 0)
        return fail(d, XNCA_RC_USAGE, "model: %s", err);
    int rc = check_caps(d, &m);
    if (rc) {
        xnca_model_free(&m);
        return rc;
    }
    uint32_t payload_bytes = xnca_get32(file + 32);
    xnca_desc_msg desc = {
        .variant = (uint8_t)m.variant, .hidden_layers = (uint8_t)m.hidden_layers,
        .grid_w = (uint16_t)m.grid_w, .grid_h = (uint16_t)m.grid_h, .channels = (uint8_t)m.channels,
        .weight_bits = (uint8_t)m.weight_bits, .perception_width = (uint16_t)m.perception_width,
        .mlp_width = (uint16_t)m.mlp_width, .act_bits = (uint8_t)m.act_bits, .state_bits = (uint8_t)m.state_bits,
        .input_bits = (uint8_t)m.input_bits, .noise_p = (uint8_t)m.noise_p, .fire_t = (uint16_t)m.fire_t,
        .weight_bytes = payload_bytes, .noise_sigma = m.noise_sigma,
    };
    d->have_model = 0;
    d->variant = m.variant;
    d->grid_w = m.grid_w;
    d->grid_h = m.grid_h;
    d->channels = m.channels;
    d->input_bits = m.input_bits;
    xnca_model_free(&m);

    const uint8_t *payload = file + XNCA_HEADER_BYTES;
    uint8_t db[XNCA_DESC_BYTES];
    reply_t r;
    xnca_desc_pack(&desc, db);
    if ((rc = transact(d, XNCA_OP_LOAD_BEGIN, db, sizeof db, &r)))
        return rc;
    size_t chunk = (size_t)d->info.max_payload - 4;
    if ((long)xnca_frame_wire_max(chunk + 4) > d->window)
        chunk = (size_t)d->window / 2;
    uint8_t *buf = malloc(chunk + 4);
    if (!buf)
        return fail(d, XNCA_RC_DEVICE, "out of memory");
    uint32_t crc = 0;
    for (uint32_t off = 0; off < payload_bytes;) {
        size_t n = payload_bytes - off < chunk ? payload_bytes - off : chunk;
        xnca_put32(buf, off);
        memcpy(buf + 4, payload + off, n);
        if ((rc = transact(d, XNCA_OP_LOAD_DATA, buf, n + 4, &r)))
            break;
        crc = xnca_crc32(crc, payload + off, n);
        off += (uint32_t)n;
        if (r.len < 8 || xnca_get32(r.data) != off || xnca_get32(r.data + 4) != crc) {
            rc = fail(d, XNCA_RC_DEVICE, "weight upload: device confirms %u bytes / CRC %08x, host sent %u / %08x",
                      r.len >= 8 ? xnca_get32(r.data) : 0, r.len >= 8 ? xnca_get32(r.data + 4) : 0, off, crc);
            break;
        }
    }
    free(buf);
    if (rc)
        return rc;
    uint8_t e[4];
    xnca_put32(e, crc);
    if ((rc = transact(d, XNCA_OP_LOAD_END, e, 4, &r)))
        return rc;
    if (r.len < 4 || xnca_get32(r.data) != crc)
        return fail(d, XNCA_RC_DEVICE, "weight upload: LOAD_END CRC mismatch");
    d->have_model = 1;
    return XNCA_RC_OK;
}

int xnca_load_model_file(xnca_dev *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(d, XNCA_RC_USAGE, "cannot open model '%s'", path);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = cap > (256u << 20) ? NULL : realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return fail(d, XNCA_RC_USAGE, "model '%s' too large", path);
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    int rc = xnca_load_model_mem(d, buf, len);
    free(buf);
    return rc;
}

/* ---- classify ---- */

typedef struct {
    uint8_t tag;
    int first, count;
} pending_t;

static int check_run(xnca_dev *d, const xnca_run_opts *o, xnca_classify_msg *c, const uint8_t *mut)
{
    memset(c, 0, sizeof *c);
    if (!d->have_model)
        return fail(d, XNCA_RC_USAGE, "classify: no model loaded");
    if (o->steps < 1 || o->steps > 65535)
        return fail(d, XNCA_RC_USAGE, "classify: steps %d outside 1..65535", o->steps);
    c->steps = (uint16_t)o->steps;
    c->seed = o->seed;
    c->n_report = (uint8_t)(o->n_report ? o->n_report : 1);
    if (o->n_report < 0 || o->n_report > XNCA_MAX_REPORT_STEPS || o->n_report > d->info.max_report)
        return fail(d, XNCA_RC_USAGE, "classify: %d report steps, the device allows %u", o->n_report,
                    d->info.max_report);
    for (int r = 0; r < c->n_report; r++) {
        int s = o->n_report ? o->report[r] : o->steps;
        if (s < 1 || s > o->steps || (r && s <= c->report[r - 1]))
            return fail(d, XNCA_RC_USAGE, "classify: report steps must ascend within 1..%d", o->steps);
        c->report[r] = (uint16_t)s;
    }
    c->mutate_at = XNCA_NO_MUTATION;
    if (o->mutate_at >= 0) {
        if (o->mutate_at >= o->steps || !mut)
            return fail(d, XNCA_RC_USAGE, "classify: mutation at %d needs replacement images and < %d steps",
                        o->mutate_at, o->steps);
        c->mutate_at = (uint16_t)o->mutate_at;
    }
    c->grid_format = d->variant == XNCA_QUANT ? XNCA_GRID_PACKED : XNCA_GRID_RAW;
    if (c->grid_format == XNCA_GRID_RAW && !(d->info.features & XNCA_FEATURE_RAW_GRID))
        return fail(d, XNCA_RC_USAGE, "device '%s' does not take raw grids (float models)", d->info.board);
    return XNCA_RC_OK;
}

static void encode_grid(const xnca_dev *d, int fmt, const uint8_t *pixels, uint8_t *out)
{
    if (fmt == XNCA_GRID_RAW)
        memcpy(out, pixels, (size_t)d->grid_w * d->grid_h);
    else
        xnca_grid_pack(pixels, d->grid_w, d->grid_h, d->input_bits, out);
}

static int take_results(xnca_dev *d, const xnca_classify_msg *c, const reply_t *r, const pending_t *p,
                        xnca_result *results)
{
    size_t rb = xnca_classify_result_bytes(c->n_report);
    if (r->len != rb * (size_t)p->count)
        return fail(d, XNCA_RC_DEVICE, "CLASSIFY reply has %zu bytes, expected %zu", r->len, rb * p->count);
    for (int i = 0; i < p->count; i++) {
        const uint8_t *q = r->data + rb * (size_t)i;
        xnca_result *o = &results[p->first + i];
        memset(o, 0, sizeof *o);
        o->alive = (int)xnca_get16(q);
        o->cycles = xnca_get32(q + 2);
        o->n_report = c->n_report;
        for (int s = 0; s < c->n_report; s++) {
            const uint8_t *v = q + 6 + 22 * s;
            o->step[s] = c->report[s];
            for (int k = 0; k < 10; k++)
                o->votes[s][k] = (int)xnca_get16(v + 2 * k);
            o->pred[s] = v[20];
            o->agree[s] = v[21];
        }
        o->prediction = o->pred[c->n_report - 1];
    }
    return XNCA_RC_OK;
}

int xnca_classify(xnca_dev *d, const xnca_run_opts *o, int n, const uint8_t *pixels, const uint8_t *mut,
                  xnca_result *results)
{
    xnca_classify_msg c;
    int rc = check_run(d, o, &c, mut);
    if (rc)
        return rc;
    if (n < 0 || (n && !pixels))
        return fail(d, XNCA_RC_USAGE, "classify: no images");
    int mutating = c.mutate_at != XNCA_NO_MUTATION;
    size_t npix = (size_t)d->grid_w * d->grid_h;
    size_t gb = c.grid_format == XNCA_GRID_RAW ? npix : xnca_grid_bytes(d->grid_w, d->grid_h, d->input_bits);
    size_t per_image = gb * (1 + mutating), head = xnca_classify_head_bytes(&c);
    size_t rb = xnca_classify_result_bytes(c.n_report);
    /* images per frame: fits max_payload, a reply fits 64 KiB, and two frames fit the buffer */
    long fit = ((long)d->info.max_payload - (long)head) / (long)per_image;
    long by_reply = (XNCA_MAX_REPLY_PAYLOAD - 3) / (long)rb;
    long by_window = ((d->window / 2) - 16 - (long)head) / (long)(per_image + per_image / 254 + 1);
    long per = fit < by_reply ? fit : by_reply;
    if (by_window >= 1 && by_window < per)
        per = by_window;
    if (per > 255)
        per = 255;
    if (per < 1)
        return fail(d, XNCA_RC_USAGE, "classify: a %zu-byte grid does not fit the device's max_payload %u", gb,
                    d->info.max_payload);
    uint8_t *buf = malloc(head + (size_t)per * per_image);
    if (!buf)
        return fail(d, XNCA_RC_DEVICE, "out of memory");
    pending_t q[MAX_OUTSTANDING];
    int qh = 0, qn = 0, sent = 0, done = 0;
    long deadline = 0;
    while (done < n && !rc) {
        /* stream frames while the device's buffer has room (docs/protocol.md 2) */
        while (sent < n && qn < MAX_OUTSTANDING) {
            int cnt = n - sent < per ? n - sent : (int)per;
            c.image_index = o->image_index + (uint32_t)sent;
            c.n_images = (uint8_t)cnt;
            xnca_classify_pack_head(&c, buf);
            for (int i = 0; i < cnt; i++) {
                uint8_t *g = buf + head + (size_t)i * per_image;
                encode_grid(d, c.grid_format, pixels + (size_t)(sent + i) * npix, g);
                if (mutating)
                    encode_grid(d, c.grid_format, mut + (size_t)(sent + i) * npix, g + gb);
            }
            size_t len = head + (size_t)cnt * per_image;
            if (d->in_flight + (long)xnca_frame_wire_max(len) > d->window && qn > 0)
                break;
            pending_t *p = &q[(qh + qn) % MAX_OUTSTANDING];
            p->tag = d->next_tag++;
            p->first = sent;
            p->count = cnt;
            if ((rc = send_frame(d, XNCA_OP_CLASSIFY, p->tag, buf, len, NULL)))
                break;
            if (qn == 0)
                deadline = now_ms() + d->timeout_ms;
            qn++;
            sent += cnt;
        }
        if (rc || qn == 0)
            break;
        reply_t r;
        pending_t *p = &q[qh];
        if ((rc = recv_reply(d, deadline, "CLASSIFY", &r)))
            break;
        if (r.tag != p->tag)
            continue; /* a stale reply: its credit is counted, nothing else */
        if (r.op == XNCA_OP_ERROR || r.status)
            rc = device_error(d, &r, XNCA_OP_CLASSIFY);
        else
            rc = take_results(d, &c, &r, p, results);
        qh = (qh + 1) % MAX_OUTSTANDING;
        qn--;
        done += p->count;
        deadline = now_ms() + d->timeout_ms;
    }
    free(buf);
    return rc;
}

int xnca_read_state(xnca_dev *d, int8_t *states, size_t cap, size_t *n_out)
{
    *n_out = 0;
    if (!d->have_model)
        return fail(d, XNCA_RC_USAGE, "read_state: no model loaded");
    size_t cells = (size_t)d->grid_w * d->grid_h, c = (size_t)d->channels;
    if (cap < cells * c)
        return fail(d, XNCA_RC_USAGE, "read_state: buffer of %zu bytes, %zu needed", cap, cells * c);
    size_t per = (XNCA_MAX_REPLY_PAYLOAD - 3) / c;
    if (per > 1024)
        per = 1024;
    for (size_t cell = 0; cell < cells; cell += per) {
        size_t cnt = cells - cell < per ? cells - cell : per;
        uint8_t p[6];
        reply_t r;
        xnca_put32(p, (uint32_t)cell);
        xnca_put16(p + 4, (uint32_t)cnt);
        int rc = transact(d, XNCA_OP_READ_STATE, p, 6, &r);
        if (rc)
            return rc;
        if (r.len != cnt * c)
            return fail(d, XNCA_RC_DEVICE, "READ_STATE reply has %zu bytes, expected %zu", r.len, cnt * c);
        memcpy(states + cell * c, r.data, r.len);
    }
    *n_out = cells * c;
    return XNCA_RC_OK;
}

/* ---- internal (xnca_transport.h) ---- */

xnca_transport *xnca_dev_transport(xnca_dev *d)
{
    return d ? d->t : NULL;
}
