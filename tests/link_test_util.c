/* link_test_util.c - shared set-up of the link tests (link_test_util.h). */
#include "link_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static uint32_t rng_state = 12345;

uint32_t lt_rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

void lt_seed(uint32_t s) { rng_state = s ? s : 1; }

long lt_ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void lt_make_model(xnca_model *m, int variant, int wbits, int abits, uint32_t seed)
{
    char err[200];
    memset(m, 0, sizeof *m);
    m->variant = XNCA_QUANT;
    m->grid_w = m->grid_h = 28;
    m->channels = 20;
    m->hidden_channels = 9;
    m->classes = 10;
    m->hidden_layers = 1;
    m->perception_width = m->mlp_width = 80;
    m->weight_bits = wbits;
    m->act_bits = abits;
    m->state_bits = 8;
    m->input_bits = 2;
    m->fire_t = 128;
    m->noise_p = 13;
    if (variant != XNCA_QUANT) {
        m->variant = variant;
        m->weight_bits = m->act_bits = m->state_bits = 32;
        m->input_bits = 8;
        m->noise_p = 0;
        assert_int_equal(xnca_model_alloc(m, err, sizeof err), 0);
        return;
    }
    int rc = xnca_model_random(m, seed, err, sizeof err);
    if (rc)
        fprintf(stderr, "xnca_model_random: %s\n", err);
    assert_int_equal(rc, 0);
}

void lt_make_digits(uint8_t *pix, int n)
{
    for (int i = 0; i < n; i++)
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int dx = x - 14 + (i % 5) - 2, dy = y - 14 + (i % 3) - 1, r2 = dx * dx + dy * dy;
                int ring = r2 > 20 + i % 7 && r2 < 60 + 5 * (i % 4);
                pix[(size_t)i * 784 + y * 28 + x] =
                    (uint8_t)(ring ? 120 + (int)(lt_rnd() % 136) : (int)(lt_rnd() % 30));
            }
}

void lt_check_results(const xnca_model *m, const xnca_run_opts *o, int n, const uint8_t *pix, const uint8_t *mut,
                      const xnca_result *res, const int8_t *states)
{
    xnca_step_opts so = {XNCA_ORDER_RASTER, 0};
    size_t npix = (size_t)m->grid_w * m->grid_h;
    for (int i = 0; i < n; i++) {
        xnca_grid g;
        assert_int_equal(xnca_grid_init(m, &g, m->grid_w, m->grid_h, pix + i * npix), 0);
        int r = 0;
        for (int t = 0; t < o->steps && r < o->n_report; t++) {
            if (o->mutate_at >= 0 && t == o->mutate_at)
                xnca_grid_mutate(m, &g, mut + i * npix);
            xnca_step(m, &g, o->seed, o->image_index + (uint32_t)i, (uint32_t)t, &so);
            if (t + 1 == o->report[r]) {
                int votes[10], agree, alive;
                int pred = xnca_votes(m, &g, votes, &agree, &alive);
                assert_memory_equal(res[i].votes[r], votes, sizeof votes);
                assert_int_equal(res[i].pred[r], pred);
                assert_int_equal(res[i].agree[r], agree != 0);
                if (r == o->n_report - 1)
                    assert_int_equal(res[i].alive, alive);
                r++;
            }
        }
        assert_int_equal(r, o->n_report);
        assert_int_equal(res[i].prediction, res[i].pred[o->n_report - 1]);
        if (states && i == n - 1)
            assert_memory_equal(states, g.qs, npix * (size_t)m->channels);
        xnca_grid_free(&g);
    }
}

void lt_load_random_model(xnca_dev *dev, xnca_model *m, int wbits, int abits, uint32_t seed)
{
    lt_make_model(m, XNCA_QUANT, wbits, abits, seed);
    uint8_t *file = NULL;
    size_t flen = xnca_model_serialize(m, &file);
    assert_true(flen > 0);
    int rc = xnca_load_model_mem(dev, file, flen);
    if (rc)
        fprintf(stderr, "load: %s\n", xnca_error(dev));
    assert_int_equal(rc, 0);
    free(file);
}

void lt_report_every_step(xnca_run_opts *o, int n)
{
    o->n_report = n;
    for (int r = 0; r < n; r++)
        o->report[r] = r + 1;
}

void lt_classify_checked(xnca_dev *dev, const xnca_model *m, const xnca_run_opts *o, int n, const uint8_t *pix,
                         const uint8_t *mut, xnca_result *res)
{
    int rc = xnca_classify(dev, o, n, pix, mut, res);
    if (rc)
        fprintf(stderr, "classify: %s\n", xnca_error(dev));
    assert_int_equal(rc, 0);
    size_t want = (size_t)m->grid_w * m->grid_h * m->channels, got = 0;
    int8_t *states = malloc(want);
    assert_non_null(states);
    assert_int_equal(xnca_read_state(dev, states, want, &got), 0);
    assert_int_equal(got, want);
    lt_check_results(m, o, n, pix, mut, res, states);
    free(states);
}

long lt_classify_expect_device_error(xnca_dev *dev, const char *want)
{
    static uint8_t pix[8 * 784];
    lt_make_digits(pix, 8);
    xnca_run_opts o = XNCA_RUN_OPTS_INIT;
    o.steps = 4;
    static xnca_result res[8];
    long t0 = lt_ms_now();
    assert_int_equal(xnca_classify(dev, &o, 8, pix, NULL, res), XNCA_RC_DEVICE);
    long took = lt_ms_now() - t0;
    fprintf(stderr, "  (expected, %ld ms) %s\n", took, xnca_error(dev));
    assert_non_null(strstr(xnca_error(dev), want));
    return took;
}
