/* xnca_frame.c - link protocol codec (docs/protocol.md sections 1, 3, 4). */
#include "xnca_frame.h"

#include <stdlib.h>
#include <string.h>

const char *xnca_status_name(int status)
{
    switch (status) {
    case XNCA_ST_OK: return "OK";
    case XNCA_ST_BAD_CRC: return "BAD_CRC";
    case XNCA_ST_BAD_LENGTH: return "BAD_LENGTH";
    case XNCA_ST_UNKNOWN_COMMAND: return "UNKNOWN_COMMAND";
    case XNCA_ST_DIMENSION_MISMATCH: return "DIMENSION_MISMATCH";
    case XNCA_ST_BUSY: return "BUSY";
    case XNCA_ST_BAD_ARGUMENT: return "BAD_ARGUMENT";
    case XNCA_ST_NO_MODEL: return "NO_MODEL";
    default: return "UNKNOWN_STATUS";
    }
}

const char *xnca_op_name(int op)
{
    switch (op & 0x7f) {
    case XNCA_OP_HELLO: return "HELLO";
    case XNCA_OP_INFO: return "INFO";
    case XNCA_OP_LOAD_BEGIN: return "LOAD_BEGIN";
    case XNCA_OP_LOAD_DATA: return "LOAD_DATA";
    case XNCA_OP_LOAD_END: return "LOAD_END";
    case XNCA_OP_CLASSIFY: return "CLASSIFY";
    case XNCA_OP_READ_STATE: return "READ_STATE";
    case XNCA_OP_RESET: return "RESET";
    case 0x7f: return op == XNCA_OP_ERROR ? "ERROR" : "?";
    default: return "?";
    }
}

/* ---- CRC-16/CCITT-FALSE ---- */

uint16_t xnca_crc16_byte(uint16_t crc, uint8_t b)
{
    crc ^= (uint16_t)(b << 8);
    for (int i = 0; i < 8; i++)
        crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    return crc;
}

uint16_t xnca_crc16(uint16_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        crc = xnca_crc16_byte(crc, p[i]);
    return crc;
}

/* ---- COBS ---- */

size_t xnca_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst)
{
    size_t out = 1, code_at = 0;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == 0) {
            dst[code_at] = code;
            code_at = out++;
            code = 1;
            continue;
        }
        dst[out++] = src[i];
        if (++code == 0xff) {
            dst[code_at] = code;
            code_at = out++;
            code = 1;
        }
    }
    dst[code_at] = code;
    return out;
}

long xnca_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
    size_t in = 0, out = 0;
    while (in < n) {
        uint8_t code = src[in++];
        if (code == 0)
            return -1;
        for (int i = 1; i < code; i++) {
            if (in >= n || src[in] == 0 || out >= cap)
                return -1;
            dst[out++] = src[in++];
        }
        /* a block shorter than 254 data bytes stands for a trailing zero, except at the end */
        if (code != 0xff && in < n) {
            if (out >= cap)
                return -1;
            dst[out++] = 0;
        }
    }
    return (long)out;
}

/* ---- frames ---- */

size_t xnca_frame_build(uint8_t op, uint8_t tag, const uint8_t *payload, size_t len, uint8_t *out)
{
    if (len > XNCA_MAX_REPLY_PAYLOAD)
        return 0;
    size_t body_len = len + XNCA_FRAME_OVERHEAD;
    uint8_t *body = malloc(body_len);
    if (!body)
        return 0;
    body[0] = op;
    body[1] = tag;
    xnca_put16(body + 2, (uint32_t)len);
    if (len)
        memcpy(body + 4, payload, len);
    uint16_t crc = xnca_crc16(0xffff, body, len + 4);
    body[len + 4] = (uint8_t)(crc >> 8);
    body[len + 5] = (uint8_t)crc;
    out[0] = XNCA_FRAME_DELIM;
    size_t n = xnca_cobs_encode(body, body_len, out + 1);
    out[n + 1] = XNCA_FRAME_DELIM;
    free(body);
    return n + 2;
}

int xnca_frame_parse(const uint8_t *enc, size_t n, size_t max_payload, uint8_t *body, size_t cap,
                     xnca_frame *f)
{
    memset(f, 0, sizeof *f);
    size_t limit = max_payload + XNCA_FRAME_OVERHEAD;
    if (cap < limit)
        limit = cap;
    long m = xnca_cobs_decode(enc, n, body, limit);
    if (m < 0) {
        /* recover op/tag for the error reply: the first two bytes a byte-serial decoder
         * (rtl/xnca_cobs_decoder.v) produces before it finds the frame broken */
        uint8_t head[2];
        size_t got = 0, in = 0;
        int remaining = 0, zero = 0;
        while (in < n && got < 2) {
            uint8_t b = enc[in++];
            if (remaining == 0) {
                if (zero) head[got++] = 0;
                remaining = b - 1;
                zero = b != 0xff;
            } else {
                head[got++] = b;
                remaining--;
            }
        }
        if (got >= 1) f->op = head[0];
        if (got >= 2) f->tag = head[1];
        return XNCA_ST_BAD_LENGTH;
    }
    if (m >= 1) f->op = body[0];
    if (m >= 2) f->tag = body[1];
    if (m < XNCA_FRAME_OVERHEAD)
        return XNCA_ST_BAD_LENGTH;
    f->len = (uint16_t)xnca_get16(body + 2);
    if ((size_t)f->len + XNCA_FRAME_OVERHEAD != (size_t)m)
        return XNCA_ST_BAD_LENGTH;
    if (xnca_crc16(0xffff, body, (size_t)m) != 0)
        return XNCA_ST_BAD_CRC;
    f->payload = body + 4;
    return XNCA_ST_OK;
}

/* ---- deframer ---- */

int xnca_deframer_init(xnca_deframer *d, size_t limit)
{
    memset(d, 0, sizeof *d);
    d->buf = malloc(limit ? limit : 1);
    d->limit = limit;
    return d->buf ? 0 : -1;
}

void xnca_deframer_free(xnca_deframer *d)
{
    free(d->buf);
    d->buf = NULL;
}

int xnca_deframer_feed(xnca_deframer *d, const uint8_t *data, size_t len, size_t *pos)
{
    while (*pos < len) {
        uint8_t b = data[(*pos)++];
        d->raw++;
        if (b == XNCA_FRAME_DELIM) {
            if (d->n || d->overlong)
                return 1;
            continue; /* empty frame */
        }
        if (d->n < d->limit)
            d->buf[d->n++] = b;
        else
            d->overlong = 1;
    }
    return 0;
}

void xnca_deframer_next(xnca_deframer *d)
{
    d->n = 0;
    d->overlong = 0;
    d->raw = 0;
}

/* ---- messages ---- */

void xnca_info_pack(const xnca_info_msg *in, uint8_t out[XNCA_INFO_BYTES])
{
    memset(out, 0, XNCA_INFO_BYTES);
    xnca_put16(out + 0, in->protocol_version);
    xnca_put32(out + 2, in->build_id);
    for (int i = 0; i < 16 && in->board[i]; i++)
        out[6 + i] = (uint8_t)in->board[i];
    xnca_put32(out + 22, in->clock_hz);
    xnca_put16(out + 26, in->grid_w);
    xnca_put16(out + 28, in->grid_h);
    out[30] = in->channels;
    out[31] = in->hidden_channels;
    xnca_put16(out + 32, in->perception_width);
    xnca_put16(out + 34, in->mlp_width);
    xnca_put16(out + 36, in->units);
    xnca_put16(out + 38, in->synapse_bits_per_unit);
    out[40] = in->max_weight_bits;
    out[41] = in->max_act_bits;
    xnca_put32(out + 42, in->max_weight_bytes);
    xnca_put32(out + 46, in->input_buffer_bytes);
    xnca_put16(out + 50, in->max_payload);
    out[52] = in->max_hidden_layers;
    out[53] = in->max_state_bits;
    out[54] = in->max_report;
    out[55] = in->features;
}

void xnca_info_unpack(const uint8_t in[XNCA_INFO_BYTES], xnca_info_msg *out)
{
    memset(out, 0, sizeof *out);
    out->protocol_version = (uint16_t)xnca_get16(in + 0);
    out->build_id = xnca_get32(in + 2);
    memcpy(out->board, in + 6, 16);
    out->board[16] = 0;
    for (int i = 0; i < 16; i++) /* keep the name printable */
        if (out->board[i] && (out->board[i] < 0x20 || out->board[i] > 0x7e))
            out->board[i] = '?';
    out->clock_hz = xnca_get32(in + 22);
    out->grid_w = (uint16_t)xnca_get16(in + 26);
    out->grid_h = (uint16_t)xnca_get16(in + 28);
    out->channels = in[30];
    out->hidden_channels = in[31];
    out->perception_width = (uint16_t)xnca_get16(in + 32);
    out->mlp_width = (uint16_t)xnca_get16(in + 34);
    out->units = (uint16_t)xnca_get16(in + 36);
    out->synapse_bits_per_unit = (uint16_t)xnca_get16(in + 38);
    out->max_weight_bits = in[40];
    out->max_act_bits = in[41];
    out->max_weight_bytes = xnca_get32(in + 42);
    out->input_buffer_bytes = xnca_get32(in + 46);
    out->max_payload = (uint16_t)xnca_get16(in + 50);
    out->max_hidden_layers = in[52];
    out->max_state_bits = in[53];
    out->max_report = in[54];
    out->features = in[55];
}

const char *xnca_desc_field_name(int offset)
{
    switch (offset) {
    case XNCA_DESC_VARIANT: return "variant";
    case XNCA_DESC_LAYERS: return "hidden_layers";
    case XNCA_DESC_GRID_W: return "grid_w";
    case XNCA_DESC_GRID_H: return "grid_h";
    case XNCA_DESC_CHANNELS: return "channels";
    case XNCA_DESC_WEIGHT_BITS: return "weight_bits";
    case XNCA_DESC_PERCEPTION: return "perception_width";
    case XNCA_DESC_MLP: return "mlp_width";
    case XNCA_DESC_ACT_BITS: return "act_bits";
    case XNCA_DESC_STATE_BITS: return "state_bits";
    case XNCA_DESC_INPUT_BITS: return "input_bits";
    case XNCA_DESC_NOISE_P: return "noise_p";
    case XNCA_DESC_FIRE_T: return "fire_t";
    case XNCA_DESC_WEIGHT_BYTES: return "weight_bytes";
    default: return "unknown field";
    }
}

void xnca_desc_pack(const xnca_desc_msg *in, uint8_t out[XNCA_DESC_BYTES])
{
    memset(out, 0, XNCA_DESC_BYTES);
    out[0] = in->variant;
    out[1] = in->hidden_layers;
    xnca_put16(out + 2, in->grid_w);
    xnca_put16(out + 4, in->grid_h);
    out[6] = in->channels;
    out[7] = in->weight_bits;
    xnca_put16(out + 8, in->perception_width);
    xnca_put16(out + 10, in->mlp_width);
    out[12] = in->act_bits;
    out[13] = in->state_bits;
    out[14] = in->input_bits;
    out[15] = in->noise_p;
    xnca_put16(out + 16, in->fire_t);
    xnca_put32(out + 18, in->weight_bytes);
    uint32_t bits;
    memcpy(&bits, &in->noise_sigma, 4);
    xnca_put32(out + 22, bits);
}

void xnca_desc_unpack(const uint8_t in[XNCA_DESC_BYTES], xnca_desc_msg *out)
{
    memset(out, 0, sizeof *out);
    out->variant = in[0];
    out->hidden_layers = in[1];
    out->grid_w = (uint16_t)xnca_get16(in + 2);
    out->grid_h = (uint16_t)xnca_get16(in + 4);
    out->channels = in[6];
    out->weight_bits = in[7];
    out->perception_width = (uint16_t)xnca_get16(in + 8);
    out->mlp_width = (uint16_t)xnca_get16(in + 10);
    out->act_bits = in[12];
    out->state_bits = in[13];
    out->input_bits = in[14];
    out->noise_p = in[15];
    out->fire_t = (uint16_t)xnca_get16(in + 16);
    out->weight_bytes = xnca_get32(in + 18);
    uint32_t bits = xnca_get32(in + 22);
    memcpy(&out->noise_sigma, &bits, 4);
}

uint32_t xnca_desc_weight_bytes(const xnca_desc_msg *d)
{
    /* spec 9: 6 C + sum_l N_out(l) (m ceil(N_in(l) / 8) + 6) + 8 */
    int quant = d->variant == 3;
    uint64_t c = d->channels, m = d->weight_bits, total = quant ? 6 * c + 8 : 0;
    uint64_t n_in = 9 * c, n_out = d->perception_width;
    int layers = d->hidden_layers + 2;
    for (int l = 0; l < layers; l++) {
        if (l == layers - 1)
            n_out = c ? c - 1 : 0;
        else if (l > 0)
            n_out = d->mlp_width;
        if (quant)
            total += n_out * (m * ((n_in + 7) / 8) + 6);
        else
            total += 4 * n_out * (n_in + 1); /* float32 weights [n_out][n_in] and bias [n_out] */
        n_in = n_out;
    }
    return total > 0xffffffffu ? 0xffffffffu : (uint32_t)total;
}

size_t xnca_classify_head_bytes(const xnca_classify_msg *c)
{
    return XNCA_CLASSIFY_HEAD + 2 * (size_t)c->n_report;
}

void xnca_classify_pack_head(const xnca_classify_msg *c, uint8_t *out)
{
    xnca_put32(out + 0, c->image_index);
    xnca_put32(out + 4, c->seed);
    xnca_put16(out + 8, c->steps);
    xnca_put16(out + 10, c->mutate_at);
    out[12] = c->n_images;
    out[13] = c->n_report;
    out[14] = c->grid_format;
    out[15] = 0;
    for (int r = 0; r < c->n_report && r < XNCA_MAX_REPORT_STEPS; r++)
        xnca_put16(out + 16 + 2 * r, c->report[r]);
}

int xnca_classify_unpack_head(const uint8_t *p, size_t len, xnca_classify_msg *c)
{
    memset(c, 0, sizeof *c);
    if (len < XNCA_CLASSIFY_HEAD)
        return XNCA_ST_BAD_LENGTH;
    c->image_index = xnca_get32(p + 0);
    c->seed = xnca_get32(p + 4);
    c->steps = (uint16_t)xnca_get16(p + 8);
    c->mutate_at = (uint16_t)xnca_get16(p + 10);
    c->n_images = p[12];
    c->n_report = p[13];
    c->grid_format = p[14];
    if (c->n_report < 1 || c->n_report > XNCA_MAX_REPORT_STEPS || c->n_images < 1 || c->steps < 1)
        return XNCA_ST_BAD_ARGUMENT;
    if (len < xnca_classify_head_bytes(c))
        return XNCA_ST_BAD_LENGTH;
    for (int r = 0; r < c->n_report; r++) {
        c->report[r] = (uint16_t)xnca_get16(p + 16 + 2 * r);
        if (c->report[r] < 1 || c->report[r] > c->steps || (r > 0 && c->report[r] <= c->report[r - 1]))
            return XNCA_ST_BAD_ARGUMENT;
    }
    if (c->mutate_at != XNCA_NO_MUTATION && c->mutate_at >= c->steps)
        return XNCA_ST_BAD_ARGUMENT;
    if (c->grid_format != XNCA_GRID_PACKED && c->grid_format != XNCA_GRID_RAW)
        return XNCA_ST_BAD_ARGUMENT;
    return XNCA_ST_OK;
}

/* ---- grids ---- */

int xnca_link_level(int p, int b)
{
    if (p < 26)
        return 0;
    int top = (1 << b) - 1;
    int g = (p * top + 127) / 255;
    return g < 1 ? 1 : g;
}

int xnca_link_pixel_for_level(int g, int b)
{
    for (int p = 0; p < 256; p++)
        if (xnca_link_level(p, b) == g)
            return p;
    return -1;
}

void xnca_grid_pack(const uint8_t *pixels, int w, int h, int b, uint8_t *out)
{
    size_t n = (size_t)w * h;
    memset(out, 0, xnca_grid_bytes(w, h, b));
    for (size_t i = 0; i < n; i++) {
        unsigned g = (unsigned)xnca_link_level(pixels[i], b);
        for (int j = 0; j < b; j++)
            if (g >> j & 1) {
                size_t bit = i * b + j;
                out[bit / 8] |= (uint8_t)(1u << (bit % 8));
            }
    }
}

void xnca_grid_unpack(const uint8_t *in, int w, int h, int b, uint8_t *levels)
{
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++) {
        unsigned g = 0;
        for (int j = 0; j < b; j++) {
            size_t bit = i * b + j;
            g |= (unsigned)(in[bit / 8] >> (bit % 8) & 1) << j;
        }
        levels[i] = (uint8_t)g;
    }
}
