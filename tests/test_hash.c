/* test_hash.c - xnca-arx32 (spec 4.1): reference vectors and the statistics of the fire mask. */
#include <math.h>

#include "test_engine.h"

/* Values from an independent Python transcription of spec 4.1. */
static void test_hash_vectors(void **state)
{
    assert_int_equal(xnca_hash(0, 0, 0, 0, 0, 0), 0x7cd7a6c8u);
    assert_int_equal(xnca_hash(1, 2, 3, 4, 5, 6), 0x68da26deu);
    assert_int_equal(xnca_hash(0xdeadbeefu, 59999, 65535, 63, 63, 0xffff), 0xf350d063u);
    assert_int_equal(xnca_hash(7, 0, 70000, 1, 2, 3), 0x8abb222fu);
    assert_int_equal(xnca_hash(0, 123, 5, 0, 0, 0xffff), 0x5d5046dbu);
}

/* step is taken modulo 2^16, x and y modulo 2^8, lane modulo 2^16 */
static void test_hash_field_widths(void **state)
{
    assert_int_equal(xnca_hash(3, 4, 5, 6, 7, 8), xnca_hash(3, 4, 5 + 65536, 6, 7, 8));
    assert_int_equal(xnca_hash(3, 4, 5, 6, 7, 8), xnca_hash(3, 4, 5, 6 + 256, 7 + 512, 8 + 65536));
    assert_int_not_equal(xnca_hash(3, 4, 5, 6, 7, 8), xnca_hash(3, 4, 6, 6, 7, 8));
}

static int fire_bit(uint32_t seed, uint32_t img, uint32_t step, int x, int y)
{
    return (xnca_hash(seed, img, step, (uint32_t)x, (uint32_t)y, 0) & 0xff) < 128;
}

/* Fire fraction over 10^6 draws (many images, steps and cells) for fire_t = 128. */
static void test_hash_fire_fraction(void **state)
{
    long fired = 0, n = 0;
    for (uint32_t img = 0; img < 52; img++)
        for (uint32_t step = 0; step < 25; step++)
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++, n++)
                    fired += fire_bit(0, img, step, x, y);
    assert_true(n >= 1000000);
    double f = (double)fired / n;
    print_message("fire fraction %.5f over %ld draws\n", f, n);
    assert_true(fabs(f - 0.5) < 0.005);
}

typedef struct {
    double sa, sb, saa, sbb, sab;
    long n;
} corr_acc;

static void corr_add(corr_acc *c, int a, int b)
{
    c->sa += a, c->sb += b, c->saa += a * a, c->sbb += b * b, c->sab += a * b, c->n++;
}

static double corr(const corr_acc *c)
{
    double n = (double)c->n;
    double cov = c->sab / n - (c->sa / n) * (c->sb / n);
    double va = c->saa / n - (c->sa / n) * (c->sa / n), vb = c->sbb / n - (c->sb / n) * (c->sb / n);
    return cov / sqrt(va * vb);
}

/* Correlation of fire bits of horizontal and vertical neighbours and of consecutive steps. */
static void test_hash_fire_correlation(void **state)
{
    corr_acc h = {0}, v = {0}, t = {0};
    for (uint32_t img = 0; img < 40; img++)
        for (uint32_t step = 0; step < 32; step++)
            for (int y = 0; y < 27; y++)
                for (int x = 0; x < 27; x++) {
                    int b = fire_bit(1, img, step, x, y);
                    corr_add(&h, b, fire_bit(1, img, step, x + 1, y));
                    corr_add(&v, b, fire_bit(1, img, step, x, y + 1));
                    corr_add(&t, b, fire_bit(1, img, step + 1, x, y));
                }
    print_message("fire-bit correlation: horizontal %.5f vertical %.5f steps %.5f (n = %ld)\n", corr(&h), corr(&v),
                  corr(&t), h.n);
    assert_true(fabs(corr(&h)) < 0.01);
    assert_true(fabs(corr(&v)) < 0.01);
    assert_true(fabs(corr(&t)) < 0.01);
}

/* Noise bytes (lanes 1..) are uniform enough: each of the 4 bytes of a draw has mean ~127.5. */
static void test_hash_noise_bytes(void **state)
{
    double sum[4] = {0};
    long n = 0;
    for (uint32_t step = 0; step < 100; step++)
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++, n++) {
                uint32_t hv = xnca_hash(0, 9, step, (uint32_t)x, (uint32_t)y, 1);
                for (int b = 0; b < 4; b++)
                    sum[b] += (hv >> (8 * b)) & 0xff;
            }
    for (int b = 0; b < 4; b++)
        assert_true(fabs(sum[b] / n - 127.5) < 1.0);
}

const struct CMUnitTest hash_tests[] = {
    cmocka_unit_test(test_hash_vectors),
    cmocka_unit_test(test_hash_field_widths),
    cmocka_unit_test(test_hash_fire_fraction),
    cmocka_unit_test(test_hash_fire_correlation),
    cmocka_unit_test(test_hash_noise_bytes),
};
const size_t hash_tests_n = sizeof(hash_tests) / sizeof(hash_tests[0]);
