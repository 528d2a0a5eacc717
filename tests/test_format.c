/* test_format.c - the .xnca file (spec 10) and the envelope (spec 9): sizes, round trips and
 * every loader rejection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_engine.h"

static void distill_dims(xnca_model *m, int bits)
{
    *m = (xnca_model){.variant = XNCA_QUANT, .grid_w = 28, .grid_h = 28, .channels = 20, .hidden_channels = 9,
                      .classes = 10, .hidden_layers = 1, .perception_width = 80, .mlp_width = 80,
                      .weight_bits = bits, .act_bits = bits, .state_bits = 8, .input_bits = 1, .fire_t = 128};
}

static void test_weight_bytes_distill(void **state)
{
    xnca_model m;
    distill_dims(&m, 1);
    assert_int_equal(xnca_model_weight_bytes(&m), 4032);
    distill_dims(&m, 2);
    assert_int_equal(xnca_model_weight_bytes(&m), 6862);
    distill_dims(&m, 4);
    assert_int_equal(xnca_model_weight_bytes(&m), 12522);
    /* 14400 + 6400 + 1520 weights, 80 + 80 + 19 records, 20 input quantizers */
    assert_int_equal(xnca_model_params(&m), 22519);
    m.variant = XNCA_FLOAT;
    m.weight_bits = m.act_bits = m.state_bits = 32;
    m.input_bits = 8;
    assert_int_equal(xnca_model_weight_bytes(&m), 4 * 22499);
    assert_int_equal(xnca_model_params(&m), 22499);
}

static void test_crc32_vector(void **state)
{
    assert_int_equal(xnca_crc32(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(xnca_crc32(0, "", 0), 0);
    /* incremental use equals one-shot */
    assert_int_equal(xnca_crc32(xnca_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

static void test_variant_names(void **state)
{
    assert_string_equal(xnca_variant_name(XNCA_FLOAT), "float");
    assert_string_equal(xnca_variant_name(XNCA_BWN), "bwn");
    assert_string_equal(xnca_variant_name(XNCA_BAN), "ban");
    assert_string_equal(xnca_variant_name(XNCA_QUANT), "quant");
}

/* A valid serialized W2A2 Distill-dim model with metadata. */
static size_t valid_file(uint8_t **buf)
{
    xnca_model m;
    make_random_model(&m, 2, 2, 7);
    m.meta = strdup("dataset=mnist\nseed=7\r\nsource=test\n");
    size_t n = xnca_model_serialize(&m, buf);
    xnca_model_free(&m);
    assert_true(n > 0);
    return n;
}

static void fix_crc(uint8_t *buf, size_t len)
{
    uint32_t c = xnca_crc32(0, buf, len - 4);
    for (int i = 0; i < 4; i++)
        buf[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

static void test_round_trip(void **state)
{
    uint8_t *a, *b;
    size_t na = valid_file(&a);
    assert_int_equal(na, 48 + 6862 + strlen("dataset=mnist\nseed=7\r\nsource=test\n") + 4);
    xnca_model m;
    char err[256];
    assert_int_equal(xnca_model_load_mem(a, na, &m, err, sizeof(err)), 0);
    assert_string_equal(xnca_model_meta(&m, "dataset"), "mnist");
    assert_string_equal(xnca_model_meta(&m, "seed"), "7"); /* CR stripped */
    assert_string_equal(xnca_model_meta(&m, "source"), "test");
    assert_null(xnca_model_meta(&m, "sourc"));
    assert_null(xnca_model_meta(&m, "license"));
    size_t nb = xnca_model_serialize(&m, &b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);

    /* through a file */
    char path[] = "/tmp/xnca-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(xnca_model_save(path, &m, err, sizeof(err)), 0);
    xnca_model m2;
    assert_int_equal(xnca_model_load(path, &m2, err, sizeof(err)), 0);
    uint8_t *c;
    size_t nc = xnca_model_serialize(&m2, &c);
    assert_int_equal(nc, na);
    assert_memory_equal(a, c, na);
    unlink(path);
    xnca_model_free(&m2);
    assert_int_not_equal(xnca_model_load(path, &m2, err, sizeof(err)), 0);
    assert_non_null(strstr(err, path));
    free(a);
    free(b);
    free(c);
    xnca_model_free(&m);
}

/* A float model round trip; bwn applies sign(w) * mean|w| per row at load. */
static void test_float_round_trip(void **state)
{
    xnca_model m = {.variant = XNCA_BWN, .grid_w = 28, .grid_h = 28, .channels = 12, .hidden_channels = 1,
                    .classes = 10, .hidden_layers = 0, .perception_width = 8, .mlp_width = 0, .weight_bits = 32,
                    .act_bits = 32, .state_bits = 32, .input_bits = 8, .fire_t = 128, .noise_sigma = 0.02f};
    char err[256];
    assert_int_equal(xnca_model_alloc(&m, err, sizeof(err)), 0);
    for (int l = 0; l < m.n_layers; l++)
        for (int i = 0; i < m.layer[l].n_in * m.layer[l].n_out; i++)
            m.layer[l].w[i] = (float)((i % 7) - 3) * 0.25f;
    uint8_t *buf;
    size_t n = xnca_model_serialize(&m, &buf);
    assert_int_equal(n, 48 + xnca_model_weight_bytes(&m) + 4);
    xnca_model l;
    assert_int_equal(xnca_model_load_mem(buf, n, &l, err, sizeof(err)), 0);
    /* row 0 of layer 0: values (i%7 - 3)/4 for i < 108; mean |w| then sign */
    double sum = 0;
    for (int i = 0; i < 108; i++)
        sum += abs((i % 7) - 3) * 0.25;
    float mean = (float)(sum / 108);
    assert_true(l.layer[0].w[0] == -mean);
    assert_true(l.layer[0].w[3] == mean); /* sign(0) = +1 */
    assert_true(l.noise_sigma == 0.02f);
    free(buf);
    xnca_model_free(&m);
    xnca_model_free(&l);
}

/* Load must fail and the message must contain `needle`. */
static void expect_reject(const uint8_t *buf, size_t len, const char *needle)
{
    xnca_model m;
    char err[256] = "";
    int rc = xnca_model_load_mem(buf, len, &m, err, sizeof(err));
    if (rc == 0 || !strstr(err, needle))
        print_error("expected rejection mentioning '%s', got rc=%d err='%s'\n", needle, rc, err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, needle));
}

/* Patch byte `off` to `v` (and fix the CRC so the intended check is reached). */
static void patch_and_expect(const uint8_t *orig, size_t len, size_t off, uint8_t v, const char *needle)
{
    uint8_t *b = malloc(len);
    memcpy(b, orig, len);
    b[off] = v;
    fix_crc(b, len);
    expect_reject(b, len, needle);
    free(b);
}

static void test_loader_header_errors(void **state)
{
    uint8_t *f;
    size_t n = valid_file(&f);
    expect_reject(f, 10, "short file");
    expect_reject(f, 0, "short file");
    expect_reject(NULL, 0, "short file");
    expect_reject(f, n - 1, "file length");          /* truncated */
    patch_and_expect(f, n, 0, 'Y', "magic");
    patch_and_expect(f, n, 4, 2, "version");
    patch_and_expect(f, n, 6, 4, "variant");
    patch_and_expect(f, n, 7, 1, "reserved");
    patch_and_expect(f, n, 13, 8, "hidden_channels"); /* Hc != C - 11 */
    patch_and_expect(f, n, 14, 9, "classes");
    patch_and_expect(f, n, 12, 40, "channels");       /* out of the envelope */
    patch_and_expect(f, n, 8, 65, "grid_w");
    patch_and_expect(f, n, 10, 7, "grid_h");
    patch_and_expect(f, n, 15, 3, "hidden_layers");
    patch_and_expect(f, n, 17, 1, "perception_width"); /* P = 80 + 256 */
    patch_and_expect(f, n, 18, 0, "mlp_width");        /* M = 0 with L = 1 */
    patch_and_expect(f, n, 20, 9, "weight_bits");
    patch_and_expect(f, n, 21, 0, "act_bits");
    patch_and_expect(f, n, 22, 1, "state_bits");
    patch_and_expect(f, n, 23, 5, "input_bits");
    patch_and_expect(f, n, 25, 2, "fire_t");           /* 512 + 128 */
    patch_and_expect(f, n, 26, 128, "noise_p");
    patch_and_expect(f, n, 31, 0x3f, "noise_sigma");   /* non-zero sigma in a quant model */
    patch_and_expect(f, n, 32, f[32] + 1, "payload_bytes");
    patch_and_expect(f, n, 36, f[36] + 1, "file length");
    patch_and_expect(f, n, 44, 1, "reserved");
    /* W1A1 with the W2A2 payload: dimensions and payload disagree */
    patch_and_expect(f, n, 20, 1, "payload_bytes");
    /* a flipped payload bit without a CRC fix */
    uint8_t *b = malloc(n);
    memcpy(b, f, n);
    b[100] ^= 4;
    expect_reject(b, n, "CRC");
    free(b);
    free(f);
}

static void test_loader_payload_errors(void **state)
{
    uint8_t *f;
    size_t n = valid_file(&f);
    size_t p = 48;
    /* input quantizer 0: shift byte at p + 1, add at p + 2..5 */
    patch_and_expect(f, n, p + 1, 32, "shift");
    uint8_t *b = malloc(n);
    memcpy(b, f, n);
    b[p + 2] = 0x00, b[p + 3] = 0x00, b[p + 4] = 0x80, b[p + 5] = 0x00; /* add = 2^23 */
    fix_crc(b, n);
    expect_reject(b, n, "add");
    b[p + 2] = 0x00, b[p + 3] = 0x00, b[p + 4] = 0x80, b[p + 5] = 0xff; /* add = -2^23 */
    fix_crc(b, n);
    expect_reject(b, n, "add");
    b[p + 2] = 0x01, b[p + 3] = 0x00, b[p + 4] = 0x80, b[p + 5] = 0xff; /* add = -2^23 + 1: fine */
    fix_crc(b, n);
    xnca_model m;
    char err[256];
    assert_int_equal(xnca_model_load_mem(b, n, &m, err, sizeof(err)), 0);
    xnca_model_free(&m);
    free(b);
    /* the run-parameter block: last 8 bytes of the payload */
    size_t meta = strlen("dataset=mnist\nseed=7\r\nsource=test\n");
    size_t run = n - 4 - meta - 8;
    patch_and_expect(f, n, run + 0, 1, "fire_t");
    patch_and_expect(f, n, run + 2, 9, "noise_p");
    patch_and_expect(f, n, run + 3, 1, "weight_bits");
    patch_and_expect(f, n, run + 4, 1, "act_bits");
    patch_and_expect(f, n, run + 5, 7, "state_bits");
    patch_and_expect(f, n, run + 6, 2, "input_bits");
    patch_and_expect(f, n, run + 7, 1, "reserved");
    /* a padding bit of layer 0 (n_in = 180: bits 4..7 of the last byte of each row are padding) */
    size_t row0_last = 48 + 6 * 20 + 22;
    patch_and_expect(f, n, row0_last, (uint8_t)(f[row0_last] | 0x80), "padding");
    /* a NUL inside the metadata */
    patch_and_expect(f, n, n - 4 - 3, 0, "metadata");
    free(f);
}

/* Random corruption never crashes the loader (the ASan build makes this a memory-safety test). */
static void test_loader_fuzz_smoke(void **state)
{
    uint8_t *f;
    size_t n = valid_file(&f);
    uint8_t *b = malloc(n);
    uint32_t r = 1;
    int accepted = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(b, f, n);
        int flips = 1 + iter % 4;
        for (int k = 0; k < flips; k++) {
            r = r * 1664525u + 1013904223u;
            size_t off = (iter % 3 == 0) ? (r >> 8) % 48 : (r >> 8) % n;
            b[off] ^= (uint8_t)(1u << ((r >> 4) % 8));
        }
        if (iter % 2)
            fix_crc(b, n);
        size_t len = (iter % 7 == 0) ? (r >> 3) % (n + 1) : n;
        xnca_model m;
        char err[256];
        if (xnca_model_load_mem(b, len, &m, err, sizeof(err)) == 0) {
            accepted++;
            assert_int_equal(xnca_model_check(&m, err, sizeof(err)), 0);
            xnca_model_free(&m);
        } else {
            assert_true(strlen(err) > 0);
        }
    }
    print_message("fuzz smoke: %d of 3000 corrupted files accepted (payload bit flips with a fixed CRC)\n",
                  accepted);
    free(b);
    free(f);
}

/* xnca_weight decodes codes from the planes: w = 2u - (2^m - 1). */
static void test_weight_decode(void **state)
{
    xnca_model m;
    make_random_model(&m, 3, 1, 3);
    xnca_layer *L = &m.layer[1];
    int R = L->row_bytes;
    /* row 5, input 13 gets code 0b101 = 5 -> w = 10 - 7 = 3 */
    for (int i = 0; i < 3; i++) {
        uint8_t *byte = L->planes + (5 * 3 + i) * R + 13 / 8;
        *byte = (uint8_t)((*byte & ~(1u << 5)) | (((5u >> i) & 1u) << 5));
    }
    assert_int_equal(xnca_weight(&m, 1, 5, 13), 3);
    for (int i = 0; i < 3; i++)
        L->planes[(5 * 3 + i) * R + 1] &= (uint8_t)~(1u << 5);
    assert_int_equal(xnca_weight(&m, 1, 5, 13), -7);
    assert_int_equal(xnca_weight(&m, 9, 0, 0), 0); /* out of range */
    xnca_model_free(&m);
}

static void test_check_rejects_bad_memory_model(void **state)
{
    xnca_model m;
    char err[256];
    make_random_model(&m, 1, 1, 4);
    assert_int_equal(xnca_model_check(&m, err, sizeof(err)), 0);
    m.layer[2].q[3].shift = 40;
    assert_int_not_equal(xnca_model_check(&m, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "shift"));
    uint8_t *buf;
    assert_int_equal(xnca_model_serialize(&m, &buf), 0);
    assert_null(buf);
    xnca_model_free(&m);
    distill_dims(&m, 1);
    m.perception_width = 4;
    assert_int_not_equal(xnca_model_alloc(&m, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "perception_width"));
}

const struct CMUnitTest format_tests[] = {
    cmocka_unit_test(test_weight_bytes_distill),
    cmocka_unit_test(test_crc32_vector),
    cmocka_unit_test(test_variant_names),
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_float_round_trip),
    cmocka_unit_test(test_loader_header_errors),
    cmocka_unit_test(test_loader_payload_errors),
    cmocka_unit_test(test_loader_fuzz_smoke),
    cmocka_unit_test(test_weight_decode),
    cmocka_unit_test(test_check_rejects_bad_memory_model),
};
const size_t format_tests_n = sizeof(format_tests) / sizeof(format_tests[0]);
