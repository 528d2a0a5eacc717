/* xnca_frame.h - the link protocol's codec (docs/protocol.md): CRC-16, COBS,
 * frame build/parse, a streaming deframer and the packers for every message.
 *
 * Pure functions on byte buffers: no I/O, no allocation except inside the
 * deframer. Shared by the host library, the CPU device model, the Verilator
 * link harness and the fuzz targets.
 */
#ifndef XNCA_FRAME_H
#define XNCA_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XNCA_PROTOCOL_VERSION 1
#define XNCA_FRAME_DELIM 0x00
#define XNCA_FRAME_OVERHEAD 6 /* op, tag, len(2), crc(2) */
#define XNCA_REPLY_BIT 0x80
#define XNCA_MAX_REPLY_PAYLOAD 65535
#define XNCA_MAX_REPORT_STEPS 16
#define XNCA_NO_MUTATION 0xffff
#define XNCA_INFO_BYTES 60
#define XNCA_DESC_BYTES 28
#define XNCA_CLASSIFY_HEAD 16
#define XNCA_HOST_START_CREDIT 64 /* credit assumed before INFO answers */

/* Request codes; a reply is op | XNCA_REPLY_BIT, an error reply is XNCA_OP_ERROR. */
enum {
    XNCA_OP_HELLO = 0x01,
    XNCA_OP_INFO = 0x02,
    XNCA_OP_LOAD_BEGIN = 0x03,
    XNCA_OP_LOAD_DATA = 0x04,
    XNCA_OP_LOAD_END = 0x05,
    XNCA_OP_CLASSIFY = 0x06,
    XNCA_OP_READ_STATE = 0x07,
    XNCA_OP_RESET = 0x08,
    XNCA_OP_ERROR = 0xff,
};

/* Status / error codes carried by every reply (0 = OK). */
enum {
    XNCA_ST_OK = 0,
    XNCA_ST_BAD_CRC = 1,
    XNCA_ST_BAD_LENGTH = 2,
    XNCA_ST_UNKNOWN_COMMAND = 3,
    XNCA_ST_DIMENSION_MISMATCH = 4,
    XNCA_ST_BUSY = 5,
    XNCA_ST_BAD_ARGUMENT = 6,
    XNCA_ST_NO_MODEL = 7,
};

enum { XNCA_GRID_PACKED = 0, XNCA_GRID_RAW = 1 };
enum { XNCA_FEATURE_RAW_GRID = 1, XNCA_FEATURE_FLOAT = 2 };

const char *xnca_status_name(int status); /* "BAD_CRC", ...; "UNKNOWN_STATUS" otherwise */
const char *xnca_op_name(int op);

/* ---- little-endian helpers ---- */
static inline void xnca_put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void xnca_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t xnca_get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t xnca_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- CRC-16/CCITT-FALSE (poly 0x1021, init 0xffff, MSB first) ---- */
uint16_t xnca_crc16_byte(uint16_t crc, uint8_t b);
uint16_t xnca_crc16(uint16_t crc, const void *buf, size_t len); /* start with crc = 0xffff */

/* ---- COBS ---- */
/* Worst-case encoded size of n bytes (no delimiters). */
static inline size_t xnca_cobs_max(size_t n) { return n + n / 254 + 1; }
/* Encode n bytes into dst (capacity >= xnca_cobs_max(n)); returns the encoded length. */
size_t xnca_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst);
/* Decode n encoded bytes (no delimiters, no 0x00 inside) into dst (capacity cap).
 * Returns the decoded length, or -1 for a broken structure (a 0x00 inside, a code
 * pointing past the end) or a result longer than cap. */
long xnca_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);

/* ---- frames ---- */
/* Wire bytes for a body of payload length len (delimiters included). */
static inline size_t xnca_frame_wire_max(size_t len) { return xnca_cobs_max(len + XNCA_FRAME_OVERHEAD) + 2; }
/* Build 0x00 COBS(op tag len payload crc) 0x00 into out (capacity >= xnca_frame_wire_max(len)).
 * Returns the wire length, 0 if len > 65535. */
size_t xnca_frame_build(uint8_t op, uint8_t tag, const uint8_t *payload, size_t len, uint8_t *out);

typedef struct {
    uint8_t op, tag;
    uint16_t len;
    const uint8_t *payload; /* points into the decoded body */
} xnca_frame;

/* Receive checks 1-3 of protocol 1.4 on the encoded bytes between two delimiters.
 * body (capacity cap) receives the decoded body; f points into it. Returns XNCA_ST_OK,
 * XNCA_ST_BAD_LENGTH or XNCA_ST_BAD_CRC. On an error f->op/f->tag hold body bytes 0/1
 * when decoding got that far, else 0. */
int xnca_frame_parse(const uint8_t *enc, size_t n, size_t max_payload, uint8_t *body, size_t cap,
                     xnca_frame *f);

/* Streaming deframer: collects the bytes between delimiters. Frames longer than
 * `limit` encoded bytes are flagged (overlong) and truncated, never overflow. */
typedef struct {
    uint8_t *buf;
    size_t limit, n;
    int overlong;   /* the current frame exceeded limit */
    size_t raw;     /* wire bytes consumed since the last completed frame (delimiters included) */
} xnca_deframer;

int xnca_deframer_init(xnca_deframer *d, size_t limit);
void xnca_deframer_free(xnca_deframer *d);
/* Feed bytes from *pos; stops after a completed non-empty frame and returns 1 (the
 * encoded frame is d->buf[0..d->n), d->overlong says if it was cut; call
 * xnca_deframer_next before feeding again), or returns 0 with all input consumed. */
int xnca_deframer_feed(xnca_deframer *d, const uint8_t *data, size_t len, size_t *pos);
void xnca_deframer_next(xnca_deframer *d);

/* ---- messages ---- */
typedef struct {
    uint16_t protocol_version;
    uint32_t build_id;
    char board[17];
    uint32_t clock_hz;
    uint16_t grid_w, grid_h;
    uint8_t channels, hidden_channels;
    uint16_t perception_width, mlp_width, units, synapse_bits_per_unit;
    uint8_t max_weight_bits, max_act_bits;
    uint32_t max_weight_bytes, input_buffer_bytes;
    uint16_t max_payload;
    uint8_t max_hidden_layers, max_state_bits, max_report, features;
} xnca_info_msg;

void xnca_info_pack(const xnca_info_msg *in, uint8_t out[XNCA_INFO_BYTES]);
void xnca_info_unpack(const uint8_t in[XNCA_INFO_BYTES], xnca_info_msg *out);

/* LOAD_BEGIN descriptor (protocol 3.3). */
typedef struct {
    uint8_t variant, hidden_layers;
    uint16_t grid_w, grid_h;
    uint8_t channels, weight_bits;
    uint16_t perception_width, mlp_width;
    uint8_t act_bits, state_bits, input_bits, noise_p;
    uint16_t fire_t;
    uint32_t weight_bytes;
    float noise_sigma;
} xnca_desc_msg;

/* Descriptor field offsets, reported as `detail` by DIMENSION_MISMATCH. */
enum {
    XNCA_DESC_VARIANT = 0, XNCA_DESC_LAYERS = 1, XNCA_DESC_GRID_W = 2, XNCA_DESC_GRID_H = 4,
    XNCA_DESC_CHANNELS = 6, XNCA_DESC_WEIGHT_BITS = 7, XNCA_DESC_PERCEPTION = 8, XNCA_DESC_MLP = 10,
    XNCA_DESC_ACT_BITS = 12, XNCA_DESC_STATE_BITS = 13, XNCA_DESC_INPUT_BITS = 14,
    XNCA_DESC_NOISE_P = 15, XNCA_DESC_FIRE_T = 16, XNCA_DESC_WEIGHT_BYTES = 18,
};
const char *xnca_desc_field_name(int offset);

void xnca_desc_pack(const xnca_desc_msg *in, uint8_t out[XNCA_DESC_BYTES]);
void xnca_desc_unpack(const uint8_t in[XNCA_DESC_BYTES], xnca_desc_msg *out);
/* Payload bytes a descriptor implies: spec 9 for quant, the float payload of spec 10 otherwise. */
uint32_t xnca_desc_weight_bytes(const xnca_desc_msg *d);

/* CLASSIFY request head (protocol 3.4). */
typedef struct {
    uint32_t image_index, seed;
    uint16_t steps, mutate_at;
    uint8_t n_images, n_report, grid_format;
    uint16_t report[XNCA_MAX_REPORT_STEPS];
} xnca_classify_msg;

size_t xnca_classify_head_bytes(const xnca_classify_msg *c); /* 16 + 2 n_report */
void xnca_classify_pack_head(const xnca_classify_msg *c, uint8_t *out);
/* Unpack and check the head of a payload of length len; returns XNCA_ST_OK,
 * XNCA_ST_BAD_LENGTH or XNCA_ST_BAD_ARGUMENT. */
int xnca_classify_unpack_head(const uint8_t *p, size_t len, xnca_classify_msg *c);
static inline size_t xnca_classify_result_bytes(int n_report) { return 6 + 22 * (size_t)n_report; }

/* ---- grid encoding (protocol 3.4) ---- */
/* Input level g of spec 6 for pixel p and b input bits. */
int xnca_link_level(int p, int b);
/* The smallest pixel whose level at b bits is g (0 for g = 0); -1 if none. */
int xnca_link_pixel_for_level(int g, int b);
static inline size_t xnca_grid_bytes(int w, int h, int b) { return ((size_t)w * h * b + 7) / 8; }
/* Pack pixels (w*h) as levels at b bits (format 0). out must hold xnca_grid_bytes(). */
void xnca_grid_pack(const uint8_t *pixels, int w, int h, int b, uint8_t *out);
/* Unpack format 0 into levels (w*h). */
void xnca_grid_unpack(const uint8_t *in, int w, int h, int b, uint8_t *levels);

#ifdef __cplusplus
}
#endif
#endif
