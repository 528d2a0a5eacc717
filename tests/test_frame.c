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

#include "xnca_frame.h"
#ifdef XNCA_TEST_DEVMODEL
#include "xnca_devmodel.h"
#endif

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

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
        size_t n = rnd() % 700;
        int zero_rate = (int)(rnd() % 5); /* 0: no zeros ... */
        for (size_t i = 0; i < n; i++) {
            buf[i] = (uint8_t)rnd();
            if (zero_rate && rnd() % (zero_rate * 3) == 0)
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
        size_t len = rnd() % 1025;
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)(rnd() % 3 ? rnd() : 0);
        uint8_t op = (uint8_t)rnd(), tag = (uint8_t)rnd();
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
        pix[i] = (uint8_t)rnd();
    assert_int_equal(xnca_grid_bytes(28, 28, 2), 196);
    assert_int_equal(xnca_grid_bytes(28, 28, 1), 98);
    assert_int_equal(xnca_grid_bytes(28, 28, 4), 392);
    for (int b = 1; b <= 4; b++) {
        xnca_grid_pack(pix, 28, 28, b, packed);
        xnca_grid_unpack(packed, 28, 28, b, lv);
        for (int i = 0; i < 28 * 28; i++) {
            int g = xnca_input_level(pix[i], b);
            assert_int_equal(lv[i], g);
            assert_int_equal(g > 0, pix[i] >= 26);
        }
    }
    /* spec 6 spot values */
    assert_int_equal(xnca_input_level(25, 2), 0);
    assert_int_equal(xnca_input_level(26, 2), 1);
    assert_int_equal(xnca_input_level(255, 2), 3);
    assert_int_equal(xnca_input_level(26, 1), 1);
    assert_int_equal(xnca_pixel_for_level(2, 2), 128);
    assert_int_equal(xnca_input_level(xnca_pixel_for_level(3, 4), 4), 3);
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

#ifdef XNCA_TEST_DEVMODEL
#include "test_frame_devmodel.inc"
#endif

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
#ifdef XNCA_TEST_DEVMODEL
        DEVMODEL_TESTS
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
