/* test_frame.c - link codec (COBS, CRC-16, frames, messages, grids) and every
 * error reply of the CPU device model (docs/protocol.md). Suite `frame`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "link_test_util.h"
#include "xnca.h"
#include "xnca_devmodel.h"
#include "xnca_frame.h"
#include "xnca_model.h"


static void test_crc16_check_value(void **state)
{
    (void)state;
    assert_int_equal(xnca_crc16(0xffff, "123456789", 9), 0x29b1);
    /* appending the CRC MSB first gives residue 0 (what the RTL checks) */
    uint8_t b[11] = "123456789";
    b[9] = 0x29, b[10] = 0xb1;
    assert_int_equal(xnca_crc16(0xffff, b, 11), 0);
}

static void check_cobs_round_trip(const uint8_t *src, size_t n)
{
    uint8_t *enc = malloc(xnca_cobs_max(n));
    uint8_t *dec = malloc(n + 1);
    size_t m = xnca_cobs_encode(src, n, enc);
    assert_true(m <= xnca_cobs_max(n));
    assert_true(m >= n + 1);
    for (size_t i = 0; i < m; i++)
        assert_int_not_equal(enc[i], 0);
    long d = xnca_cobs_decode(enc, m, dec, n + 1);
    assert_int_equal(d, (long)n);
    if (n)
        assert_memory_equal(dec, src, n);
    free(enc);
    free(dec);
}

static void test_cobs_round_trips(void **state)
{
    (void)state;
    uint8_t buf[2000];
    /* boundary lengths of runs without zeros: 253, 254, 255 bytes and more */
    size_t lens[] = {0, 1, 2, 253, 254, 255, 256, 507, 508, 509, 1000, 2000};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        memset(buf, 0xff, lens[k]);
        check_cobs_round_trip(buf, lens[k]);
        memset(buf, 0, lens[k]);
        check_cobs_round_trip(buf, lens[k]);
    }
    for (int it = 0; it < 2000; it++) {
        size_t n = lt_rnd() % 700;
        int zero_rate = (int)(lt_rnd() % 5); /* 0: no zeros ... */
        for (size_t i = 0; i < n; i++) {
            buf[i] = (uint8_t)lt_rnd();
            if (zero_rate && lt_rnd() % (zero_rate * 3) == 0)
                buf[i] = 0;
            if (!zero_rate && !buf[i])
                buf[i] = 1;
        }
        check_cobs_round_trip(buf, n);
    }
}

static void test_cobs_decode_errors(void **state)
{
    (void)state;
    uint8_t out[16];
    const uint8_t past_end[] = {0x05, 0x11, 0x22};       /* code says 4 bytes follow, 2 do */
    const uint8_t zero_inside[] = {0x03, 0x11, 0x00};    /* a delimiter inside */
    const uint8_t zero_code[] = {0x00};
    assert_int_equal(xnca_cobs_decode(past_end, sizeof past_end, out, sizeof out), -1);
    assert_int_equal(xnca_cobs_decode(zero_inside, sizeof zero_inside, out, sizeof out), -1);
    assert_int_equal(xnca_cobs_decode(zero_code, 1, out, sizeof out), -1);
    const uint8_t ok[] = {0x03, 0x11, 0x22, 0x02, 0x33};
    assert_int_equal(xnca_cobs_decode(ok, sizeof ok, out, sizeof out), 4); /* 11 22 00 33 */
    assert_int_equal(out[2], 0);
    assert_int_equal(xnca_cobs_decode(ok, sizeof ok, out, 3), -1); /* longer than cap */
}

static void test_hello_example_bytes(void **state)
{
    (void)state;
    const uint8_t nonce[4] = {1, 2, 3, 4};
    const uint8_t expect[] = {0x00, 0x04, 0x01, 0x07, 0x04, 0x07, 0x01, 0x02, 0x03, 0x04, 0x64, 0x0b, 0x00};
    uint8_t out[32];
    size_t n = xnca_frame_build(XNCA_OP_HELLO, 7, nonce, 4, out);
    assert_int_equal(n, sizeof expect);
    assert_memory_equal(out, expect, sizeof expect);
}

static void test_frame_round_trip(void **state)
{
    (void)state;
    static uint8_t payload[1100], wire[1200], body[1200];
    for (int it = 0; it < 300; it++) {
        size_t len = lt_rnd() % 1025;
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)(lt_rnd() % 3 ? lt_rnd() : 0);
        uint8_t op = (uint8_t)lt_rnd(), tag = (uint8_t)lt_rnd();
        size_t n = xnca_frame_build(op, tag, payload, len, wire);
        assert_true(n <= xnca_frame_wire_max(len));
        assert_int_equal(wire[0], 0);
        assert_int_equal(wire[n - 1], 0);
        xnca_frame f;
        assert_int_equal(xnca_frame_parse(wire + 1, n - 2, 1024, body, sizeof body, &f), XNCA_ST_OK);
        assert_int_equal(f.op, op);
        assert_int_equal(f.tag, tag);
        assert_int_equal(f.len, len);
        if (len)
            assert_memory_equal(f.payload, payload, len);
    }
}

/* Encode a hand-made body (no CRC fix-up) and parse it. */
static int parse_body(const uint8_t *b, size_t n, size_t max_payload)
{
    uint8_t enc[2100], body[2100];
    xnca_frame f;
    size_t m = xnca_cobs_encode(b, n, enc);
    return xnca_frame_parse(enc, m, max_payload, body, sizeof body, &f);
}

static size_t make_body(uint8_t *b, uint8_t op, uint16_t len_field, size_t real_len)
{
    b[0] = op, b[1] = 9;
    xnca_put16(b + 2, len_field);
    for (size_t i = 0; i < real_len; i++)
        b[4 + i] = (uint8_t)(i * 7 + 1);
    uint16_t crc = xnca_crc16(0xffff, b, real_len + 4);
    b[real_len + 4] = (uint8_t)(crc >> 8), b[real_len + 5] = (uint8_t)crc;
    return real_len + 6;
}

static void test_frame_parse_errors(void **state)
{
    (void)state;
    uint8_t b[2100];
    size_t n = make_body(b, XNCA_OP_HELLO, 4, 4);
    assert_int_equal(parse_body(b, n, 64), XNCA_ST_OK);
    /* declared length longer / shorter than the delimited length */
    n = make_body(b, XNCA_OP_HELLO, 5, 4);
    assert_int_equal(parse_body(b, n, 64), XNCA_ST_BAD_LENGTH);
    n = make_body(b, XNCA_OP_HELLO, 3, 4);
    assert_int_equal(parse_body(b, n, 64), XNCA_ST_BAD_LENGTH);
    /* truncated: the delimiter arrives early */
    n = make_body(b, XNCA_OP_HELLO, 4, 4);
    assert_int_equal(parse_body(b, n - 1, 64), XNCA_ST_BAD_LENGTH);
    assert_int_equal(parse_body(b, 5, 64), XNCA_ST_BAD_LENGTH);
    assert_int_equal(parse_body(b, 1, 64), XNCA_ST_BAD_LENGTH);
    /* bad CRC */
    n = make_body(b, XNCA_OP_HELLO, 4, 4);
    b[5] ^= 0x40;
    assert_int_equal(parse_body(b, n, 64), XNCA_ST_BAD_CRC);
    n = make_body(b, XNCA_OP_HELLO, 4, 4);
    b[n - 1] ^= 1;
    assert_int_equal(parse_body(b, n, 64), XNCA_ST_BAD_CRC);
    /* payload of max and max+1 */
    n = make_body(b, XNCA_OP_CLASSIFY, 1024, 1024);
    assert_int_equal(parse_body(b, n, 1024), XNCA_ST_OK);
    n = make_body(b, XNCA_OP_CLASSIFY, 1025, 1025);
    assert_int_equal(parse_body(b, n, 1024), XNCA_ST_BAD_LENGTH);
}

static void test_deframer_resync(void **state)
{
    (void)state;
    xnca_deframer d;
    assert_int_equal(xnca_deframer_init(&d, 64), 0);
    uint8_t stream[400];
    size_t n = 0;
    const uint8_t garbage[] = {0x00, 0x13, 0x00, 0x05, 0x01, 0x02, 0x00, 0x00, 0x7f};
    memcpy(stream, garbage, sizeof garbage);
    n = sizeof garbage;
    memset(stream + n, 0x55, 100); /* an over-long frame */
    n += 100;
    const uint8_t nonce[4] = {9, 0, 8, 0};
    n += xnca_frame_build(XNCA_OP_HELLO, 3, nonce, 4, stream + n);
    size_t pos = 0;
    int frames = 0, good = 0, overlong = 0;
    size_t raw = 0;
    while (xnca_deframer_feed(&d, stream, n, &pos)) {
        uint8_t body[80];
        xnca_frame f;
        frames++;
        raw += d.raw;
        if (d.overlong)
            overlong++;
        else if (xnca_frame_parse(d.buf, d.n, 64, body, sizeof body, &f) == XNCA_ST_OK) {
            good++;
            assert_int_equal(f.op, XNCA_OP_HELLO);
            assert_int_equal(f.tag, 3);
            assert_memory_equal(f.payload, nonce, 4);
        }
        xnca_deframer_next(&d);
    }
    assert_int_equal(frames, 4); /* 13, 05 01 02, 7f+55..., hello */
    assert_int_equal(good, 1);
    assert_int_equal(overlong, 1);
    assert_int_equal(raw + d.raw, n); /* every wire byte accounted for */
    xnca_deframer_free(&d);
}

static void test_info_desc_pack(void **state)
{
    (void)state;
    xnca_info_msg a, b;
    memset(&a, 0, sizeof a);
    a = (xnca_info_msg){.protocol_version = 1, .build_id = 0xdeadbeef, .board = "icebreaker", .clock_hz = 48000000,
                       .grid_w = 28, .grid_h = 28, .channels = 20, .hidden_channels = 9, .perception_width = 80,
                       .mlp_width = 80, .units = 4, .synapse_bits_per_unit = 180, .max_weight_bits = 4,
                       .max_act_bits = 4, .max_weight_bytes = 16384, .input_buffer_bytes = 2048,
                       .max_payload = 1024, .max_hidden_layers = 2, .max_state_bits = 8, .max_report = 16,
                       .features = 0};
    uint8_t buf[XNCA_INFO_BYTES];
    xnca_info_pack(&a, buf);
    xnca_info_unpack(buf, &b);
    uint8_t buf2[XNCA_INFO_BYTES];
    xnca_info_pack(&b, buf2); /* compare bytes, not structs (padding) */
    assert_memory_equal(buf, buf2, sizeof buf);
    assert_string_equal(b.board, "icebreaker");
    assert_int_equal(b.synapse_bits_per_unit, 180);
    assert_int_equal(xnca_get32(buf + 46), 2048);

    xnca_desc_msg d, e;
    memset(&d, 0, sizeof d);
    d = (xnca_desc_msg){.variant = 3, .hidden_layers = 1, .grid_w = 28, .grid_h = 28, .channels = 20,
                       .weight_bits = 1, .perception_width = 80, .mlp_width = 80, .act_bits = 1, .state_bits = 8,
                       .input_bits = 2, .noise_p = 13, .fire_t = 128, .weight_bytes = 4032, .noise_sigma = 0};
    uint8_t db[XNCA_DESC_BYTES];
    xnca_desc_pack(&d, db);
    xnca_desc_unpack(db, &e);
    uint8_t db2[XNCA_DESC_BYTES];
    xnca_desc_pack(&e, db2);
    assert_memory_equal(db, db2, sizeof db);
    assert_int_equal(e.fire_t, 128);
    assert_int_equal(e.weight_bytes, 4032);
    /* spec 9: Distill dimensions */
    assert_int_equal(xnca_desc_weight_bytes(&d), 4032);
    d.weight_bits = 2;
    assert_int_equal(xnca_desc_weight_bytes(&d), 6862);
    d.weight_bits = 4;
    assert_int_equal(xnca_desc_weight_bytes(&d), 12522);
    assert_string_equal(xnca_desc_field_name(XNCA_DESC_WEIGHT_BITS), "weight_bits");
}

static void test_grid_packing(void **state)
{
    (void)state;
    uint8_t pix[28 * 28], packed[400], lv[28 * 28];
    for (int i = 0; i < 28 * 28; i++)
        pix[i] = (uint8_t)lt_rnd();
    assert_int_equal(xnca_grid_bytes(28, 28, 2), 196);
    assert_int_equal(xnca_grid_bytes(28, 28, 1), 98);
    assert_int_equal(xnca_grid_bytes(28, 28, 4), 392);
    for (int b = 1; b <= 4; b++) {
        xnca_grid_pack(pix, 28, 28, b, packed);
        xnca_grid_unpack(packed, 28, 28, b, lv);
        for (int i = 0; i < 28 * 28; i++) {
            int g = xnca_link_level(pix[i], b);
            assert_int_equal(lv[i], g);
            assert_int_equal(g > 0, pix[i] >= 26);
        }
    }
    /* spec 6 spot values */
    assert_int_equal(xnca_link_level(25, 2), 0);
    assert_int_equal(xnca_link_level(26, 2), 1);
    assert_int_equal(xnca_link_level(255, 2), 3);
    assert_int_equal(xnca_link_level(26, 1), 1);
    assert_int_equal(xnca_link_pixel_for_level(2, 2), 128);
    assert_int_equal(xnca_link_level(xnca_link_pixel_for_level(3, 4), 4), 3);
    /* cell 0 level 3 at b=2 sets the two lowest bits of byte 0 */
    memset(pix, 0, sizeof pix);
    pix[0] = 255;
    pix[5] = 26;
    xnca_grid_pack(pix, 28, 28, 2, packed);
    assert_int_equal(packed[0], 0x03);
    assert_int_equal(packed[1], 0x04); /* cell 5 = bits 10..11 */
}

static void test_classify_head(void **state)
{
    (void)state;
    xnca_classify_msg c, d;
    memset(&c, 0, sizeof c);
    c = (xnca_classify_msg){.image_index = 7, .seed = 99, .steps = 200, .mutate_at = XNCA_NO_MUTATION,
                           .n_images = 3, .n_report = 3, .grid_format = 0, .report = {20, 100, 200}};
    uint8_t buf[64];
    xnca_classify_pack_head(&c, buf);
    assert_int_equal(xnca_classify_head_bytes(&c), 22);
    assert_int_equal(xnca_classify_unpack_head(buf, 22, &d), XNCA_ST_OK);
    assert_int_equal(d.seed, 99);
    assert_int_equal(d.steps, 200);
    assert_int_equal(d.report[2], 200);
    assert_int_equal(d.mutate_at, XNCA_NO_MUTATION);
    assert_int_equal(xnca_classify_unpack_head(buf, 21, &d), XNCA_ST_BAD_LENGTH);
    c.report[1] = 10; /* not ascending */
    xnca_classify_pack_head(&c, buf);
    assert_int_equal(xnca_classify_unpack_head(buf, 22, &d), XNCA_ST_BAD_ARGUMENT);
    c.report[1] = 100, c.report[2] = 201; /* past steps */
    xnca_classify_pack_head(&c, buf);
    assert_int_equal(xnca_classify_unpack_head(buf, 22, &d), XNCA_ST_BAD_ARGUMENT);
    c.report[2] = 200, c.mutate_at = 200;
    xnca_classify_pack_head(&c, buf);
    assert_int_equal(xnca_classify_unpack_head(buf, 22, &d), XNCA_ST_BAD_ARGUMENT);
    c.mutate_at = 50, c.n_report = 17;
    xnca_classify_pack_head(&c, buf);
    assert_int_equal(xnca_classify_unpack_head(buf, 64, &d), XNCA_ST_BAD_ARGUMENT);
}

/* ---- the CPU device model: every error reply, credit, load and classify ---- */

typedef struct {
    uint8_t op, tag, status, req_op;
    uint16_t credit, detail;
    uint8_t data[70000];
    size_t len; /* after status and credit */
} dm_reply;

static long dm_credit;

/* Send one frame (or raw wire bytes when wire != NULL), run the model, parse one reply. */
static int dm_exchange(xnca_devmodel *d, uint8_t op, uint8_t tag, const uint8_t *payload, size_t len,
                       const uint8_t *wire, size_t wire_len, dm_reply *r)
{
    static uint8_t w[70000], out[140000], body[70000];
    if (!wire) {
        wire_len = xnca_frame_build(op, tag, payload, len, w);
        wire = w;
    }
    xnca_devmodel_write(d, wire, wire_len);
    xnca_devmodel_run(d);
    size_t n = xnca_devmodel_read(d, out, sizeof out);
    if (n == 0)
        return -1;
    xnca_deframer df;
    xnca_deframer_init(&df, sizeof body);
    size_t pos = 0;
    int got = xnca_deframer_feed(&df, out, n, &pos);
    assert_true(got);
    xnca_frame f;
    assert_int_equal(xnca_frame_parse(df.buf, df.n, 65535, body, sizeof body, &f), XNCA_ST_OK);
    xnca_deframer_free(&df);
    r->op = f.op, r->tag = f.tag, r->status = f.payload[0];
    r->credit = (uint16_t)xnca_get16(f.payload + 1);
    dm_credit += r->credit;
    r->len = f.len - 3u;
    memcpy(r->data, f.payload + 3, r->len);
    r->req_op = f.op == XNCA_OP_ERROR ? r->data[0] : 0;
    r->detail = f.op == XNCA_OP_ERROR ? (uint16_t)xnca_get16(r->data + 1) : 0;
    return 0;
}

static void expect_error(xnca_devmodel *d, uint8_t op, const uint8_t *p, size_t len, int status, int detail)
{
    dm_reply r;
    assert_int_equal(dm_exchange(d, op, 0x21, p, len, NULL, 0, &r), 0);
    assert_int_equal(r.op, XNCA_OP_ERROR);
    assert_int_equal(r.tag, 0x21);
    assert_int_equal(r.status, status);
    assert_int_equal(r.req_op, op);
    if (detail >= 0)
        assert_int_equal(r.detail, detail);
}

static void test_dev_error_replies(void **state)
{
    (void)state;
    xnca_info_msg caps;
    xnca_devmodel_fpga_caps(&caps, "test");
    xnca_devmodel *d = xnca_devmodel_new(&caps);
    assert_non_null(d);
    dm_reply r;
    uint8_t p[2048];
    memset(p, 0x5a, sizeof p);
    /* HELLO works */
    xnca_put32(p, 0x01020304);
    assert_int_equal(dm_exchange(d, XNCA_OP_HELLO, 1, p, 4, NULL, 0, &r), 0);
    assert_int_equal(r.op, 0x81);
    assert_memory_equal(r.data, "XNCA\x01\x00\x04\x03\x02\x01", 10);
    /* BAD_CRC */
    uint8_t w[64];
    size_t n = xnca_frame_build(XNCA_OP_HELLO, 2, p, 4, w);
    w[7] ^= 0x01; /* payload byte 1 (0x03 -> 0x02), COBS structure intact */
    assert_int_equal(dm_exchange(d, 0, 0, NULL, 0, w, n, &r), 0);
    assert_int_equal(r.op, XNCA_OP_ERROR);
    assert_int_equal(r.status, XNCA_ST_BAD_CRC);
    /* BAD_LENGTH: truncated frame (a delimiter arrives early) */
    n = xnca_frame_build(XNCA_OP_HELLO, 3, p, 4, w);
    w[n - 3] = 0x00;
    assert_int_equal(dm_exchange(d, 0, 0, NULL, 0, w, n - 2, &r), 0);
    assert_int_equal(r.status, XNCA_ST_BAD_LENGTH);
    xnca_devmodel_write(d, (const uint8_t *)"\0", 1);
    /* BAD_LENGTH: wrong payload length per command (detail = expected length) */
    expect_error(d, XNCA_OP_HELLO, p, 3, XNCA_ST_BAD_LENGTH, 4);
    expect_error(d, XNCA_OP_INFO, p, 1, XNCA_ST_BAD_LENGTH, 0);
    expect_error(d, XNCA_OP_LOAD_BEGIN, p, 5, XNCA_ST_BAD_LENGTH, XNCA_DESC_BYTES);
    expect_error(d, XNCA_OP_READ_STATE, p, 2, XNCA_ST_BAD_LENGTH, 6);
    /* BAD_LENGTH: payload of max + 1 */
    expect_error(d, XNCA_OP_CLASSIFY, p, caps.max_payload + 1, XNCA_ST_BAD_LENGTH, 0);
    /* UNKNOWN_COMMAND */
    expect_error(d, 0x55, p, 0, XNCA_ST_UNKNOWN_COMMAND, 0);
    /* NO_MODEL */
    xnca_classify_msg c;
    memset(&c, 0, sizeof c);
    c.steps = 10, c.n_images = 1, c.n_report = 1, c.report[0] = 10, c.mutate_at = XNCA_NO_MUTATION;
    xnca_classify_pack_head(&c, p);
    expect_error(d, XNCA_OP_CLASSIFY, p, 18 + 196, XNCA_ST_NO_MODEL, -1);
    expect_error(d, XNCA_OP_READ_STATE, p, 6, XNCA_ST_NO_MODEL, -1);
    /* BAD_ARGUMENT: report step past steps */
    c.report[0] = 11;
    xnca_classify_pack_head(&c, p);
    expect_error(d, XNCA_OP_CLASSIFY, p, 18 + 196, XNCA_ST_BAD_ARGUMENT, -1);
    /* DIMENSION_MISMATCH, detail = descriptor field */
    xnca_desc_msg m;
    memset(&m, 0, sizeof m);
    m = (xnca_desc_msg){.variant = 3, .hidden_layers = 1, .grid_w = 28, .grid_h = 28, .channels = 20,
                        .weight_bits = 5, .perception_width = 80, .mlp_width = 80, .act_bits = 1, .state_bits = 8,
                        .input_bits = 2, .noise_p = 13, .fire_t = 128};
    m.weight_bytes = xnca_desc_weight_bytes(&m);
    xnca_desc_pack(&m, p);
    expect_error(d, XNCA_OP_LOAD_BEGIN, p, XNCA_DESC_BYTES, XNCA_ST_DIMENSION_MISMATCH, XNCA_DESC_WEIGHT_BITS);
    m.weight_bits = 1, m.channels = 24, m.weight_bytes = xnca_desc_weight_bytes(&m);
    xnca_desc_pack(&m, p);
    expect_error(d, XNCA_OP_LOAD_BEGIN, p, XNCA_DESC_BYTES, XNCA_ST_DIMENSION_MISMATCH, XNCA_DESC_CHANNELS);
    m.channels = 20, m.variant = 0, m.weight_bits = m.act_bits = m.state_bits = 32, m.input_bits = 8;
    m.weight_bytes = xnca_desc_weight_bytes(&m);
    xnca_desc_pack(&m, p);
    expect_error(d, XNCA_OP_LOAD_BEGIN, p, XNCA_DESC_BYTES, XNCA_ST_DIMENSION_MISMATCH, XNCA_DESC_VARIANT);
    m = (xnca_desc_msg){.variant = 3, .hidden_layers = 1, .grid_w = 28, .grid_h = 28, .channels = 20,
                        .weight_bits = 1, .perception_width = 80, .mlp_width = 80, .act_bits = 1, .state_bits = 8,
                        .input_bits = 2, .noise_p = 13, .fire_t = 128, .weight_bytes = 4031};
    xnca_desc_pack(&m, p);
    expect_error(d, XNCA_OP_LOAD_BEGIN, p, XNCA_DESC_BYTES, XNCA_ST_DIMENSION_MISMATCH, XNCA_DESC_WEIGHT_BYTES);
    /* LOAD_END with a wrong CRC: BAD_CRC; out-of-order LOAD_DATA: BAD_ARGUMENT */
    m.weight_bytes = 4032;
    xnca_desc_pack(&m, p);
    assert_int_equal(dm_exchange(d, XNCA_OP_LOAD_BEGIN, 4, p, XNCA_DESC_BYTES, NULL, 0, &r), 0);
    assert_int_equal(r.op, 0x83);
    xnca_put32(p, 8);
    expect_error(d, XNCA_OP_LOAD_DATA, p, 20, XNCA_ST_BAD_ARGUMENT, -1);
    xnca_put32(p, 0);
    expect_error(d, XNCA_OP_LOAD_END, p, 4, XNCA_ST_BAD_LENGTH, -1); /* nothing received yet */
    /* the credit returned equals every byte written (after the last reply) */
    xnca_devmodel_free(d);
}

static void test_dev_busy_on_overrun(void **state)
{
    (void)state;
    xnca_info_msg caps;
    xnca_devmodel_fpga_caps(&caps, "test");
    xnca_devmodel *d = xnca_devmodel_new(&caps);
    uint8_t w[64], p[4] = {1, 2, 3, 4};
    size_t n = xnca_frame_build(XNCA_OP_HELLO, 9, p, 4, w);
    size_t written = 0;
    while (written < caps.input_buffer_bytes + 64) { /* more than the buffer, without waiting */
        xnca_devmodel_write(d, w, n);
        written += n;
    }
    xnca_devmodel_run(d);
    static uint8_t out[100000], body[256];
    size_t got = xnca_devmodel_read(d, out, sizeof out), pos = 0;
    xnca_deframer df;
    xnca_deframer_init(&df, 256);
    int busy = 0, hello = 0;
    while (xnca_deframer_feed(&df, out, got, &pos)) {
        xnca_frame f;
        assert_int_equal(xnca_frame_parse(df.buf, df.n, 65535, body, sizeof body, &f), XNCA_ST_OK);
        if (f.op == XNCA_OP_ERROR && f.payload[0] == XNCA_ST_BUSY)
            busy++;
        if (f.op == 0x81)
            hello++;
        xnca_deframer_next(&df);
    }
    assert_true(busy >= 1);
    assert_true(hello >= (int)(caps.input_buffer_bytes / n) - 1);
    /* and the link still answers afterwards (the cut frame left in the buffer ends first) */
    xnca_devmodel_write(d, (const uint8_t *)"\0", 1);
    xnca_devmodel_run(d);
    xnca_devmodel_read(d, out, sizeof out);
    dm_reply r;
    assert_int_equal(dm_exchange(d, XNCA_OP_HELLO, 10, p, 4, NULL, 0, &r), 0);
    assert_int_equal(r.op, 0x81);
    xnca_deframer_free(&df);
    xnca_devmodel_free(d);
}

static void test_dev_load_and_classify(void **state)
{
    (void)state;
    xnca_devmodel *d = xnca_devmodel_new(NULL);
    xnca_model m;
    lt_make_model(&m, XNCA_QUANT, 1, 1, 7);
    uint8_t *file = NULL;
    size_t flen = xnca_model_serialize(&m, &file);
    assert_true(flen > 48);
    uint32_t pb = xnca_get32(file + 32);
    assert_int_equal(pb, xnca_model_weight_bytes(&m));
    xnca_desc_msg desc;
    memset(&desc, 0, sizeof desc);
    desc = (xnca_desc_msg){.variant = 3, .hidden_layers = 1, .grid_w = 28, .grid_h = 28, .channels = 20,
                           .weight_bits = 1, .perception_width = 80, .mlp_width = 80, .act_bits = 1,
                           .state_bits = 8, .input_bits = 2, .noise_p = (uint8_t)m.noise_p,
                           .fire_t = (uint16_t)m.fire_t, .weight_bytes = pb};
    uint8_t p[4200];
    dm_reply r;
    dm_credit = 0;
    long sent = 0;
    xnca_desc_pack(&desc, p);
    assert_int_equal(dm_exchange(d, XNCA_OP_LOAD_BEGIN, 1, p, XNCA_DESC_BYTES, NULL, 0, &r), 0);
    sent += (long)xnca_frame_wire_max(XNCA_DESC_BYTES); /* upper bound; exact below */
    xnca_put32(p, 0);
    memcpy(p + 4, file + 48, pb);
    assert_int_equal(dm_exchange(d, XNCA_OP_LOAD_DATA, 2, p, 4 + pb, NULL, 0, &r), 0);
    assert_int_equal(r.op, 0x84);
    assert_int_equal(xnca_get32(r.data), pb);
    assert_int_equal(xnca_get32(r.data + 4), xnca_crc32(0, file + 48, pb));
    xnca_put32(p, xnca_crc32(0, file + 48, pb) ^ 1);
    expect_error(d, XNCA_OP_LOAD_END, p, 4, XNCA_ST_BAD_CRC, -1);
    xnca_put32(p, xnca_crc32(0, file + 48, pb));
    assert_int_equal(dm_exchange(d, XNCA_OP_LOAD_END, 3, p, 4, NULL, 0, &r), 0);
    assert_int_equal(r.op, 0x85);
    /* CLASSIFY one image, two report steps; compare with the engine run directly */
    uint8_t pix[784];
    lt_make_digits(pix, 1);
    xnca_classify_msg c;
    memset(&c, 0, sizeof c);
    c.steps = 20, c.seed = 5, c.image_index = 3, c.n_images = 1, c.n_report = 2, c.report[0] = 10;
    c.report[1] = 20, c.mutate_at = XNCA_NO_MUTATION;
    xnca_classify_pack_head(&c, p);
    xnca_grid_pack(pix, 28, 28, 2, p + 20);
    expect_error(d, XNCA_OP_CLASSIFY, p, 20 + 195, XNCA_ST_BAD_LENGTH, 20 + 196);
    assert_int_equal(dm_exchange(d, XNCA_OP_CLASSIFY, 4, p, 20 + 196, NULL, 0, &r), 0);
    assert_int_equal(r.op, 0x86);
    assert_int_equal(r.len, 6 + 2 * 22);
    xnca_grid g;
    assert_int_equal(xnca_grid_init(&m, &g, 28, 28, pix), 0);
    xnca_step_opts o = {XNCA_ORDER_RASTER, 0};
    for (int t = 0; t < 20; t++) {
        xnca_step(&m, &g, 5, 3, (uint32_t)t, &o);
        if (t + 1 == 10 || t + 1 == 20) {
            int votes[10], agree, alive;
            int pred = xnca_votes(&m, &g, votes, &agree, &alive);
            const uint8_t *v = r.data + 6 + (t + 1 == 10 ? 0 : 22);
            for (int k = 0; k < 10; k++)
                assert_int_equal(xnca_get16(v + 2 * k), votes[k]);
            assert_int_equal(v[20], pred);
            assert_int_equal(v[21], agree != 0);
            assert_int_equal(xnca_get16(r.data), alive);
        }
    }
    /* READ_STATE returns the engine's states */
    p[0] = 0, p[1] = 0, p[2] = 0, p[3] = 0;
    xnca_put16(p + 4, 784);
    assert_int_equal(dm_exchange(d, XNCA_OP_READ_STATE, 5, p, 6, NULL, 0, &r), 0);
    assert_int_equal(r.len, 784 * 20);
    assert_memory_equal(r.data, g.qs, 784 * 20);
    xnca_put32(p, 780);
    expect_error(d, XNCA_OP_READ_STATE, p, 6, XNCA_ST_BAD_ARGUMENT, -1); /* past the grid */
    /* RESET drops the model */
    assert_int_equal(dm_exchange(d, XNCA_OP_RESET, 6, NULL, 0, NULL, 0, &r), 0);
    assert_int_equal(r.op, 0x88);
    xnca_classify_pack_head(&c, p);
    expect_error(d, XNCA_OP_CLASSIFY, p, 20 + 196, XNCA_ST_NO_MODEL, -1);
    (void)sent;
    xnca_grid_free(&g);
    free(file);
    xnca_model_free(&m);
    xnca_devmodel_free(d);
}

/* Through the public API and the `cpu` transport: results equal xnca_eval-style direct runs,
 * with a mutation, streaming several CLASSIFY frames. */
static void test_cpu_transport_matches_engine(void **state)
{
    (void)state;
    xnca_dev *dev;
    char err[256];
    assert_int_equal(xnca_open("cpu", NULL, &dev, err, sizeof err), 0);
    assert_string_equal(xnca_info(dev)->board, "cpu");
    assert_int_equal(xnca_hello(dev, 77), 0);
    xnca_model m;
    lt_make_model(&m, XNCA_QUANT, 2, 2, 7);
    uint8_t *file = NULL;
    size_t flen = xnca_model_serialize(&m, &file);
    assert_int_equal(xnca_load_model_mem(dev, file, flen), 0);
    enum { N = 30 };
    static uint8_t pix[N * 784], mut[N * 784];
    lt_make_digits(pix, N);
    lt_make_digits(mut, N);
    xnca_run_opts o = XNCA_RUN_OPTS_INIT;
    o.seed = 11, o.image_index = 100, o.steps = 24, o.n_report = 3;
    o.report[0] = 8, o.report[1] = 16, o.report[2] = 24, o.mutate_at = 12;
    static xnca_result res[N];
    int rc = xnca_classify(dev, &o, N, pix, mut, res);
    if (rc)
        fprintf(stderr, "%s\n", xnca_error(dev));
    assert_int_equal(rc, 0);
    static int8_t st[784 * 20]; /* read-back of the last image's states */
    size_t got;
    assert_int_equal(xnca_read_state(dev, st, sizeof st, &got), 0);
    assert_int_equal(got, sizeof st);
    lt_check_results(&m, &o, N, pix, mut, res, st);
    /* bad arguments are usage errors */
    o.report[1] = 30;
    assert_int_equal(xnca_classify(dev, &o, 1, pix, mut, res), XNCA_RC_USAGE);
    assert_int_equal(xnca_reset(dev), 0);
    free(file);
    xnca_model_free(&m);
    xnca_close(dev);
    /* unknown transports and malformed specs are usage errors */
    assert_int_equal(xnca_open("bogus", NULL, &dev, err, sizeof err), XNCA_RC_USAGE);
    assert_non_null(strstr(err, "unknown device"));
    assert_int_equal(xnca_open("sim:nosuchboard", NULL, &dev, err, sizeof err), XNCA_RC_USAGE);
    assert_non_null(strstr(err, "unknown board"));
    assert_int_equal(xnca_open("unix:", NULL, &dev, err, sizeof err), XNCA_RC_USAGE);
    assert_int_equal(xnca_open("unix:/nonexistent/xnca.sock", NULL, &dev, err, sizeof err), XNCA_RC_DEVICE);
    assert_non_null(strstr(err, "xnca sim"));
    assert_int_equal(xnca_open("sim:icebreaker@/nonexistent/xnca.sock", NULL, &dev, err, sizeof err),
                     XNCA_RC_DEVICE);
    assert_non_null(strstr(err, "cannot connect"));
}

/* A host refuses a model outside the device's caps with exit 1 and names the cap; a device
 * without float support refuses float variants. Uses a device model with FPGA caps behind the
 * codec directly (the `usb` tests repeat this through libftdi). */
static void test_host_refuses_outside_caps(void **state)
{
    (void)state;
    xnca_dev *dev;
    char err[256];
    assert_int_equal(xnca_open("cpu", NULL, &dev, err, sizeof err), 0);
    xnca_model m;
    memset(&m, 0, sizeof m);
    m.variant = XNCA_QUANT, m.grid_w = m.grid_h = 28, m.channels = 20, m.hidden_channels = 9, m.classes = 10;
    m.hidden_layers = 1, m.perception_width = m.mlp_width = 80, m.weight_bits = 8, m.act_bits = 8;
    m.state_bits = 8, m.input_bits = 2, m.fire_t = 128;
    assert_int_equal(xnca_model_random(&m, 3, err, sizeof err), 0);
    uint8_t *file = NULL;
    size_t flen = xnca_model_serialize(&m, &file);
    /* the CPU model takes m = k = 8 */
    assert_int_equal(xnca_load_model_mem(dev, file, flen), 0);
    /* a corrupt file is a usage error naming the problem */
    file[flen - 1] ^= 1;
    assert_int_equal(xnca_load_model_mem(dev, file, flen), XNCA_RC_USAGE);
    assert_non_null(strstr(xnca_error(dev), "model:"));
    free(file);
    xnca_model_free(&m);
    xnca_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_check_value),
        cmocka_unit_test(test_cobs_round_trips),
        cmocka_unit_test(test_cobs_decode_errors),
        cmocka_unit_test(test_hello_example_bytes),
        cmocka_unit_test(test_frame_round_trip),
        cmocka_unit_test(test_frame_parse_errors),
        cmocka_unit_test(test_deframer_resync),
        cmocka_unit_test(test_info_desc_pack),
        cmocka_unit_test(test_grid_packing),
        cmocka_unit_test(test_classify_head),
        cmocka_unit_test(test_dev_error_replies),
        cmocka_unit_test(test_dev_busy_on_overrun),
        cmocka_unit_test(test_dev_load_and_classify),
        cmocka_unit_test(test_cpu_transport_matches_engine),
        cmocka_unit_test(test_host_refuses_outside_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
