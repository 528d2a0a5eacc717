/* xnca_devmodel.c - the CPU device model (see xnca_devmodel.h): receive buffer with credit,
 * frame checks, command execution on the reference engine, replies. */
#include "xnca_devmodel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_model.h"

struct xnca_devmodel {
    xnca_info_msg caps;
    /* receive buffer (ring) */
    uint8_t *in;
    size_t in_cap, in_head, in_len;
    int overrun;            /* bytes were dropped since the last reported frame */
    xnca_deframer deframer;
    uint8_t *body;          /* decoded frame body */
    size_t body_cap;
    uint32_t credit;        /* bytes taken from the buffer since the last reply */
    /* replies */
    uint8_t *out;
    size_t out_len, out_cap, out_pos;
    /* model being loaded */
    int loading;
    xnca_desc_msg desc;
    uint8_t *payload;
    uint32_t received;
    /* active model and the last run's grid */
    int have_model;
    xnca_model model;
    int have_state;
    xnca_grid state;
};

void xnca_devmodel_cpu_caps(xnca_info_msg *c)
{
    memset(c, 0, sizeof *c);
    c->protocol_version = XNCA_PROTOCOL_VERSION;
    c->build_id = 0;
    strcpy(c->board, "cpu");
    c->clock_hz = 0;
    c->grid_w = 64;
    c->grid_h = 64;
    c->channels = 32;
    c->hidden_channels = 21;
    c->perception_width = 256;
    c->mlp_width = 256;
    c->units = 1;
    c->synapse_bits_per_unit = 64;
    c->max_weight_bits = 8;
    c->max_act_bits = 8;
    c->max_weight_bytes = 16u << 20;
    c->input_buffer_bytes = 8192;
    c->max_payload = 4096;
    c->max_hidden_layers = 2;
    c->max_state_bits = 8;
    c->max_report = XNCA_MAX_REPORT_STEPS;
    c->features = XNCA_FEATURE_RAW_GRID | XNCA_FEATURE_FLOAT;
}

void xnca_devmodel_fpga_caps(xnca_info_msg *c, const char *board)
{
    xnca_devmodel_cpu_caps(c);
    snprintf(c->board, sizeof c->board, "%s", board);
    c->build_id = 0x0e1a1a7e;
    c->clock_hz = 48000000;
    c->grid_w = 28;
    c->grid_h = 28;
    c->channels = 20;
    c->hidden_channels = 9;
    c->perception_width = 80;
    c->mlp_width = 80;
    c->units = 4;
    c->synapse_bits_per_unit = 180;
    c->max_weight_bits = 4;
    c->max_act_bits = 4;
    c->max_weight_bytes = 16384;
    c->input_buffer_bytes = 2048;
    c->max_payload = 1024;
    c->features = 0;
}

xnca_devmodel *xnca_devmodel_new(const xnca_info_msg *caps)
{
    xnca_devmodel *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (caps)
        d->caps = *caps;
    else
        xnca_devmodel_cpu_caps(&d->caps);
    d->in_cap = d->caps.input_buffer_bytes;
    d->in = malloc(d->in_cap ? d->in_cap : 1);
    d->body_cap = (size_t)d->caps.max_payload + XNCA_FRAME_OVERHEAD;
    d->body = malloc(d->body_cap);
    if (!d->in || !d->body || xnca_deframer_init(&d->deframer, xnca_cobs_max(d->body_cap)) < 0) {
        xnca_devmodel_free(d);
        return NULL;
    }
    return d;
}

static void drop_model(xnca_devmodel *d)
{
    if (d->have_state)
        xnca_grid_free(&d->state);
    if (d->have_model)
        xnca_model_free(&d->model);
    free(d->payload);
    d->payload = NULL;
    d->have_state = d->have_model = d->loading = 0;
}

void xnca_devmodel_free(xnca_devmodel *d)
{
    if (!d)
        return;
    drop_model(d);
    xnca_deframer_free(&d->deframer);
    free(d->in);
    free(d->body);
    free(d->out);
    free(d);
}

void xnca_devmodel_write(xnca_devmodel *d, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (d->in_len == d->in_cap) {
            d->overrun = 1; /* the host ignored the credit: the byte is lost */
            continue;
        }
        d->in[(d->in_head + d->in_len) % d->in_cap] = data[i];
        d->in_len++;
    }
}

size_t xnca_devmodel_pending(const xnca_devmodel *d)
{
    return d->out_len - d->out_pos;
}

size_t xnca_devmodel_read(xnca_devmodel *d, uint8_t *out, size_t cap)
{
    size_t n = xnca_devmodel_pending(d);
    if (n > cap)
        n = cap;
    memcpy(out, d->out + d->out_pos, n);
    d->out_pos += n;
    if (d->out_pos == d->out_len)
        d->out_pos = d->out_len = 0;
    return n;
}

/* ---- replies ---- */

/* Queue a reply: op, tag, status + credit prefix, then `extra` bytes. */
static void reply(xnca_devmodel *d, uint8_t op, uint8_t tag, uint8_t status, const uint8_t *extra, size_t n)
{
    size_t len = 3 + n;
    if (len > XNCA_MAX_REPLY_PAYLOAD)
        return;
    uint8_t *p = malloc(len);
    if (!p)
        return;
    p[0] = status;
    xnca_put16(p + 1, d->credit > 0xffff ? 0xffff : d->credit);
    d->credit = 0;
    if (n)
        memcpy(p + 3, extra, n);
    size_t need = d->out_len + xnca_frame_wire_max(len);
    if (need > d->out_cap) {
        size_t cap = need * 2;
        uint8_t *o = realloc(d->out, cap);
        if (!o) {
            free(p);
            return;
        }
        d->out = o;
        d->out_cap = cap;
    }
    d->out_len += xnca_frame_build(op, tag, p, len, d->out + d->out_len);
    free(p);
}

static void error_reply(xnca_devmodel *d, uint8_t tag, uint8_t status, uint8_t req_op, uint16_t detail)
{
    uint8_t e[3] = {req_op, (uint8_t)detail, (uint8_t)(detail >> 8)};
    reply(d, XNCA_OP_ERROR, tag, status, e, 3);
}

/* ---- commands ---- */

static int check_desc(const xnca_devmodel *d, const xnca_desc_msg *m)
{
    const xnca_info_msg *c = &d->caps;
    int quant = m->variant == XNCA_QUANT;
    if (m->variant > XNCA_QUANT || (!quant && !(c->features & XNCA_FEATURE_FLOAT)))
        return XNCA_DESC_VARIANT;
    if (m->hidden_layers > c->max_hidden_layers)
        return XNCA_DESC_LAYERS;
    if (m->grid_w < 8 || m->grid_w > c->grid_w)
        return XNCA_DESC_GRID_W;
    if (m->grid_h < 8 || m->grid_h > c->grid_h)
        return XNCA_DESC_GRID_H;
    if (m->channels < 12 || m->channels > c->channels)
        return XNCA_DESC_CHANNELS;
    if (m->perception_width < 8 || m->perception_width > c->perception_width)
        return XNCA_DESC_PERCEPTION;
    if (m->hidden_layers ? (m->mlp_width < 8 || m->mlp_width > c->mlp_width) : m->mlp_width != 0)
        return XNCA_DESC_MLP;
    if (quant) {
        if (m->weight_bits < 1 || m->weight_bits > c->max_weight_bits)
            return XNCA_DESC_WEIGHT_BITS;
        if (m->act_bits < 1 || m->act_bits > c->max_act_bits)
            return XNCA_DESC_ACT_BITS;
        if (m->state_bits < 2 || m->state_bits > c->max_state_bits)
            return XNCA_DESC_STATE_BITS;
        if (m->input_bits < 1 || m->input_bits > 4)
            return XNCA_DESC_INPUT_BITS;
        if (m->noise_p > 127)
            return XNCA_DESC_NOISE_P;
    } else {
        if (m->weight_bits != 32)
            return XNCA_DESC_WEIGHT_BITS;
        if (m->act_bits != 32)
            return XNCA_DESC_ACT_BITS;
        if (m->state_bits != 32)
            return XNCA_DESC_STATE_BITS;
        if (m->input_bits != 8)
            return XNCA_DESC_INPUT_BITS;
    }
    if (m->fire_t > 256)
        return XNCA_DESC_FIRE_T;
    if (m->weight_bytes != xnca_desc_weight_bytes(m) || m->weight_bytes > c->max_weight_bytes)
        return XNCA_DESC_WEIGHT_BYTES;
    return -1;
}

static void cmd_load_begin(xnca_devmodel *d, const xnca_frame *f)
{
    if (f->len != XNCA_DESC_BYTES) {
        error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, XNCA_DESC_BYTES);
        return;
    }
    xnca_desc_msg m;
    xnca_desc_unpack(f->payload, &m);
    int bad = check_desc(d, &m);
    if (bad >= 0) {
        error_reply(d, f->tag, XNCA_ST_DIMENSION_MISMATCH, f->op, (uint16_t)bad);
        return;
    }
    drop_model(d);
    d->payload = malloc(m.weight_bytes ? m.weight_bytes : 1);
    if (!d->payload) {
        error_reply(d, f->tag, XNCA_ST_DIMENSION_MISMATCH, f->op, XNCA_DESC_WEIGHT_BYTES);
        return;
    }
    d->desc = m;
    d->received = 0;
    d->loading = 1;
    reply(d, f->op | XNCA_REPLY_BIT, f->tag, 0, NULL, 0);
}

static void cmd_load_data(xnca_devmodel *d, const xnca_frame *f)
{
    if (f->len < 5) {
        error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, 5);
        return;
    }
    if (!d->loading) {
        error_reply(d, f->tag, XNCA_ST_NO_MODEL, f->op, 0);
        return;
    }
    uint32_t off = xnca_get32(f->payload), n = f->len - 4u;
    if (off != d->received) {
        error_reply(d, f->tag, XNCA_ST_BAD_ARGUMENT, f->op, 0);
        return;
    }
    if (n > d->desc.weight_bytes - d->received) {
        error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, 0);
        return;
    }
    memcpy(d->payload + off, f->payload + 4, n);
    d->received += n;
    uint8_t r[8];
    xnca_put32(r, d->received);
    xnca_put32(r + 4, xnca_crc32(0, d->payload, d->received));
    reply(d, f->op | XNCA_REPLY_BIT, f->tag, 0, r, 8);
}

/* Rebuild a .xnca file (spec 10) around the received payload and load it with the engine. */
static int build_model(xnca_devmodel *d)
{
    const xnca_desc_msg *m = &d->desc;
    size_t len = XNCA_HEADER_BYTES + m->weight_bytes + 4;
    uint8_t *f = calloc(1, len);
    if (!f)
        return -1;
    memcpy(f, "XNCA", 4);
    xnca_put16(f + 4, XNCA_FORMAT_VERSION);
    f[6] = m->variant;
    xnca_put16(f + 8, m->grid_w);
    xnca_put16(f + 10, m->grid_h);
    f[12] = m->channels;
    f[13] = (uint8_t)(m->channels - 11);
    f[14] = XNCA_CLASSES;
    f[15] = m->hidden_layers;
    xnca_put16(f + 16, m->perception_width);
    xnca_put16(f + 18, m->mlp_width);
    f[20] = m->weight_bits;
    f[21] = m->act_bits;
    f[22] = m->state_bits;
    f[23] = m->input_bits;
    xnca_put16(f + 24, m->fire_t);
    f[26] = m->noise_p;
    uint32_t sigma;
    memcpy(&sigma, &m->noise_sigma, 4);
    xnca_put32(f + 28, sigma);
    xnca_put32(f + 32, m->weight_bytes);
    memcpy(f + XNCA_HEADER_BYTES, d->payload, m->weight_bytes);
    xnca_put32(f + len - 4, xnca_crc32(0, f, len - 4));
    char err[200];
    int rc = xnca_model_load_mem(f, len, &d->model, err, sizeof err);
    if (rc < 0 && getenv("XNCA_DEVMODEL_DEBUG"))
        fprintf(stderr, "devmodel: model rejected: %s\n", err);
    free(f);
    return rc;
}

static void cmd_load_end(xnca_devmodel *d, const xnca_frame *f)
{
    if (f->len != 4) {
        error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, 4);
        return;
    }
    if (!d->loading) {
        error_reply(d, f->tag, XNCA_ST_NO_MODEL, f->op, 0);
        return;
    }
    if (d->received != d->desc.weight_bytes) {
        error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, 0);
        return;
    }
    uint32_t crc = xnca_crc32(0, d->payload, d->received);
    if (crc != xnca_get32(f->payload)) {
        error_reply(d, f->tag, XNCA_ST_BAD_CRC, f->op, 0);
        return;
    }
    if (build_model(d) < 0) { /* e.g. a quantizer record out of range (spec 10 loader rules) */
        drop_model(d);
        error_reply(d, f->tag, XNCA_ST_BAD_ARGUMENT, f->op, 0);
        return;
    }
    free(d->payload);
    d->payload = NULL;
    d->loading = 0;
    d->have_model = 1;
    uint8_t r[4];
    xnca_put32(r, crc);
    reply(d, f->op | XNCA_REPLY_BIT, f->tag, 0, r, 4);
}

/* Pixels for one transmitted grid; levels (format 0) or NULL. */
static void grid_pixels(const xnca_devmodel *d, const uint8_t *src, int fmt, uint8_t *pixels, uint8_t *levels)
{
    const xnca_model *m = &d->model;
    int n = m->grid_w * m->grid_h;
    if (fmt == XNCA_GRID_RAW) {
        memcpy(pixels, src, (size_t)n);
        return;
    }
    xnca_grid_unpack(src, m->grid_w, m->grid_h, m->input_bits, levels);
    for (int i = 0; i < n; i++) {
        int p = xnca_link_pixel_for_level(levels[i], m->input_bits);
        pixels[i] = (uint8_t)(p < 0 ? XNCA_ALIVE_PIXEL : p);
    }
}

/* A packed level with no pixel of its own (e.g. level 1 at b = 4): set the input channel exactly. */
static void fix_levels(const xnca_devmodel *d, xnca_grid *g, const uint8_t *levels)
{
    if (!g->qs)
        return;
    int n = g->w * g->h;
    for (int i = 0; i < n; i++)
        g->qs[(size_t)i * g->c] = (int8_t)levels[i];
    (void)d;
}

static void cmd_classify(xnca_devmodel *d, const xnca_frame *f)
{
    xnca_classify_msg c;
    int st = xnca_classify_unpack_head(f->payload, f->len, &c);
    if (st != XNCA_ST_OK) {
        error_reply(d, f->tag, (uint8_t)st, f->op, 0);
        return;
    }
    if (!d->have_model) {
        error_reply(d, f->tag, XNCA_ST_NO_MODEL, f->op, 0);
        return;
    }
    const xnca_model *m = &d->model;
    if (c.grid_format == XNCA_GRID_RAW ? !(d->caps.features & XNCA_FEATURE_RAW_GRID) : m->variant != XNCA_QUANT) {
        error_reply(d, f->tag, XNCA_ST_BAD_ARGUMENT, f->op, 14); /* grid_format */
        return;
    }
    int mutating = c.mutate_at != XNCA_NO_MUTATION;
    size_t gbytes = c.grid_format == XNCA_GRID_RAW ? (size_t)m->grid_w * m->grid_h
                                                   : xnca_grid_bytes(m->grid_w, m->grid_h, m->input_bits);
    size_t head = xnca_classify_head_bytes(&c);
    size_t want = head + (size_t)c.n_images * gbytes * (1 + mutating);
    size_t rbytes = xnca_classify_result_bytes(c.n_report);
    if (f->len != want) {
        error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, (uint16_t)(want > 0xffff ? 0xffff : want));
        return;
    }
    if (3 + (size_t)c.n_images * rbytes > XNCA_MAX_REPLY_PAYLOAD) {
        error_reply(d, f->tag, XNCA_ST_BAD_ARGUMENT, f->op, 12); /* n_images */
        return;
    }
    size_t n = (size_t)m->grid_w * m->grid_h;
    uint8_t *res = calloc(c.n_images, rbytes), *pix = malloc(n), *lv = malloc(n), *pix2 = malloc(n),
            *lv2 = malloc(n);
    if (!res || !pix || !lv || !pix2 || !lv2)
        goto out;
    const uint8_t *grids = f->payload + head;
    xnca_step_opts opts = {XNCA_ORDER_RASTER, 0};
    for (int i = 0; i < c.n_images; i++) {
        const uint8_t *g0 = grids + (size_t)i * gbytes * (1 + mutating);
        grid_pixels(d, g0, c.grid_format, pix, lv);
        if (mutating)
            grid_pixels(d, g0 + gbytes, c.grid_format, pix2, lv2);
        if (d->have_state)
            xnca_grid_free(&d->state);
        d->have_state = 0;
        if (xnca_grid_init(m, &d->state, m->grid_w, m->grid_h, pix) < 0)
            goto out;
        d->have_state = 1;
        if (c.grid_format == XNCA_GRID_PACKED)
            fix_levels(d, &d->state, lv);
        uint8_t *r = res + (size_t)i * rbytes;
        int rep = 0, alive = 0;
        for (int t = 0; t < c.steps && rep < c.n_report; t++) {
            if (mutating && t == c.mutate_at) {
                xnca_grid_mutate(m, &d->state, pix2);
                if (c.grid_format == XNCA_GRID_PACKED)
                    fix_levels(d, &d->state, lv2);
            }
            xnca_step(m, &d->state, c.seed, c.image_index + (uint32_t)i, (uint32_t)t, &opts);
            if (t + 1 == c.report[rep]) {
                int votes[XNCA_CLASSES], agree = 0;
                int pred = xnca_votes(m, &d->state, votes, &agree, &alive);
                uint8_t *v = r + 6 + 22 * rep;
                for (int k = 0; k < XNCA_CLASSES; k++)
                    xnca_put16(v + 2 * k, (uint32_t)votes[k]);
                v[20] = (uint8_t)pred;
                v[21] = (uint8_t)(agree != 0);
                rep++;
            }
        }
        xnca_put16(r, (uint32_t)alive);
        xnca_put32(r + 2, 0); /* cycles: the CPU model has no clock */
    }
    reply(d, f->op | XNCA_REPLY_BIT, f->tag, 0, res, (size_t)c.n_images * rbytes);
    free(res), free(pix), free(lv), free(pix2), free(lv2);
    return;
out:
    free(res), free(pix), free(lv), free(pix2), free(lv2);
    error_reply(d, f->tag, XNCA_ST_BAD_ARGUMENT, f->op, 0);
}

static void cmd_read_state(xnca_devmodel *d, const xnca_frame *f)
{
    if (f->len != 6) {
        error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, 6);
        return;
    }
    if (!d->have_state || !d->state.qs) {
        error_reply(d, f->tag, XNCA_ST_NO_MODEL, f->op, 0);
        return;
    }
    uint32_t cell = xnca_get32(f->payload), count = xnca_get16(f->payload + 4);
    uint32_t cells = (uint32_t)(d->state.w * d->state.h), c = (uint32_t)d->state.c;
    if (count < 1 || count > 1024 || cell >= cells || count > cells - cell) {
        error_reply(d, f->tag, XNCA_ST_BAD_ARGUMENT, f->op, 0);
        return;
    }
    reply(d, f->op | XNCA_REPLY_BIT, f->tag, 0, (const uint8_t *)d->state.qs + (size_t)cell * c,
          (size_t)count * c);
}

static void execute(xnca_devmodel *d, const xnca_frame *f)
{
    switch (f->op) {
    case XNCA_OP_HELLO: {
        if (f->len != 4) {
            error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, 4);
            return;
        }
        uint8_t r[10] = {'X', 'N', 'C', 'A', XNCA_PROTOCOL_VERSION, 0};
        memcpy(r + 6, f->payload, 4);
        reply(d, f->op | XNCA_REPLY_BIT, f->tag, 0, r, 10);
        return;
    }
    case XNCA_OP_INFO: {
        if (f->len != 0) {
            error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, 0);
            return;
        }
        uint8_t r[XNCA_INFO_BYTES];
        xnca_info_pack(&d->caps, r);
        reply(d, f->op | XNCA_REPLY_BIT, f->tag, 0, r, sizeof r);
        return;
    }
    case XNCA_OP_LOAD_BEGIN: cmd_load_begin(d, f); return;
    case XNCA_OP_LOAD_DATA: cmd_load_data(d, f); return;
    case XNCA_OP_LOAD_END: cmd_load_end(d, f); return;
    case XNCA_OP_CLASSIFY: cmd_classify(d, f); return;
    case XNCA_OP_READ_STATE: cmd_read_state(d, f); return;
    case XNCA_OP_RESET:
        if (f->len != 0) {
            error_reply(d, f->tag, XNCA_ST_BAD_LENGTH, f->op, 0);
            return;
        }
        drop_model(d);
        reply(d, f->op | XNCA_REPLY_BIT, f->tag, 0, NULL, 0);
        return;
    default: error_reply(d, f->tag, XNCA_ST_UNKNOWN_COMMAND, f->op, 0); return;
    }
}

void xnca_devmodel_run(xnca_devmodel *d)
{
    while (d->in_len) {
        /* take bytes out of the ring one contiguous run at a time */
        size_t run = d->in_cap - d->in_head;
        if (run > d->in_len)
            run = d->in_len;
        size_t pos = 0;
        int done = xnca_deframer_feed(&d->deframer, d->in + d->in_head, run, &pos);
        d->in_head = (d->in_head + pos) % d->in_cap;
        d->in_len -= pos;
        d->credit += (uint32_t)pos;
        if (!done)
            continue;
        xnca_frame f;
        int st;
        if (d->deframer.overlong) {
            /* longer than any legal frame: peek op/tag, answer BAD_LENGTH */
            st = xnca_frame_parse(d->deframer.buf, d->deframer.n, 0, d->body, 2, &f);
            st = XNCA_ST_BAD_LENGTH;
        } else {
            st = xnca_frame_parse(d->deframer.buf, d->deframer.n, d->caps.max_payload, d->body, d->body_cap, &f);
        }
        xnca_deframer_next(&d->deframer);
        if (d->overrun) {
            d->overrun = 0;
            st = XNCA_ST_BUSY;
        }
        if (st != XNCA_ST_OK)
            error_reply(d, f.tag, (uint8_t)st, f.op, 0);
        else
            execute(d, &f);
    }
}
