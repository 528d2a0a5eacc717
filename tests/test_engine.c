/* test_engine.c - the quant engine against hand-computed spec vectors and against a direct
 * transcription of spec 3-7 (sum_n w_n a_n, no bit-planes); order, dense and CPU-path
 * independence; random-model dynamics; the evaluation driver; mutation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_engine.h"

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------- */
void make_random_model_dims(xnca_model *m, int C, int P, int M, int L, int wbits, int abits, int sbits, int ibits,
                            uint32_t seed)
{
    *m = (xnca_model){.variant = XNCA_QUANT, .grid_w = 28, .grid_h = 28, .channels = C, .hidden_channels = C - 11,
                      .classes = 10, .hidden_layers = L, .perception_width = P, .mlp_width = M,
                      .weight_bits = wbits, .act_bits = abits, .state_bits = sbits, .input_bits = ibits,
                      .fire_t = 128, .noise_p = 2};
    char err[256];
    if (xnca_model_random(m, seed, err, sizeof(err)) != 0)
        fail_msg("xnca_model_random: %s", err);
    if (xnca_model_check(m, err, sizeof(err)) != 0)
        fail_msg("random model fails its check: %s", err);
}

void make_random_model(xnca_model *m, int wbits, int abits, uint32_t seed)
{
    make_random_model_dims(m, 20, 80, 80, 1, wbits, abits, 8, 1, seed);
}

/* A digit-like picture: a thick ring plus a bar, with faint (dead) halo pixels. */
static void make_image(uint8_t *px, int w, int h, int variant)
{
    double cx = w / 2.0 + (variant % 3) - 1, cy = h / 2.0 + (variant % 2), r = w * (0.22 + 0.03 * (variant % 4));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double d = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            double ring = d > (r - 2.5) * (r - 2.5) && d < (r + 1.5) * (r + 1.5) ? 1 : 0;
            double bar = (variant & 1) && abs(x - (int)cx) <= 1 && y > 3 && y < h - 4 ? 1 : 0;
            int p = (ring || bar) ? 60 + (int)((x * 37 + y * 11 + variant * 5) % 196) : ((x + y + variant) % 9 == 0 ? 20 : 0);
            px[y * w + x] = (uint8_t)p;
        }
}

/* ---- a direct transcription of spec 3-6 (the oracle) ---- */
static int64_t ref_floor_div_pow2(int64_t v, int shift)
{
    int64_t d = (int64_t)1 << shift;
    return v >= 0 ? v / d : -((-v + d - 1) / d);
}

static int ref_q(const xnca_qparam *q, int64_t y, int k)
{
    int64_t v = ref_floor_div_pow2(y * q->mul + q->add, q->shift);
    if (v < 0)
        return 0;
    if (v > (1 << k) - 1)
        return (1 << k) - 1;
    return (int)v;
}

static void ref_step(const xnca_model *m, xnca_grid *g, uint32_t seed, uint32_t img, uint32_t step)
{
    int C = g->c, k = m->act_bits, W = g->w, H = g->h;
    int amax = (1 << k) - 1;
    int8_t *old = malloc((size_t)W * H * C);
    memcpy(old, g->qs, (size_t)W * H * C);
    int *a = malloc(sizeof(int) * 9 * 32), *b = malloc(sizeof(int) * 256);
    int64_t lo = -(1 << (m->state_bits - 1)), hi = (1 << (m->state_bits - 1)) - 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (!g->alive[y * W + x])
                continue;
            if ((int)(xnca_hash(seed, img, step, (uint32_t)x, (uint32_t)y, 0) & 0xff) >= m->fire_t)
                continue;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int pos = (dy + 1) * 3 + dx + 1, nx = x + dx, ny = y + dy;
                    int inside = nx >= 0 && nx < W && ny >= 0 && ny < H;
                    for (int c = 0; c < C; c++) {
                        int s = inside ? old[((size_t)ny * W + nx) * C + c] : 0;
                        a[pos * C + c] = 2 * ref_q(&m->inq[c], s, k) - amax;
                    }
                }
            int n_in = 9 * C;
            for (int l = 0; l < m->n_layers; l++) {
                const xnca_layer *L = &m->layer[l];
                int last = l == m->n_layers - 1;
                for (int o = 0; o < L->n_out; o++) {
                    int64_t sum = 0;
                    for (int n = 0; n < n_in; n++)
                        sum += (int64_t)xnca_weight(m, l, o, n) * a[n];
                    if (!last) {
                        b[o] = 2 * ref_q(&L->q[o], sum, k) - amax;
                    } else {
                        int64_t ds = ref_floor_div_pow2(sum * L->q[o].mul + L->q[o].add, L->q[o].shift);
                        uint32_t h = xnca_hash(seed, img, step, (uint32_t)x, (uint32_t)y, 1 + (uint32_t)(o / 4));
                        int r = (int)((h >> (8 * (o % 4))) & 0xff), noise = 0;
                        if (r < m->noise_p)
                            noise = -1;
                        else if (r >= 256 - m->noise_p)
                            noise = 1;
                        int64_t v = old[((size_t)y * W + x) * C + o + 1] + ds + noise;
                        g->qs[((size_t)y * W + x) * C + o + 1] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
                    }
                }
                if (!last) {
                    memcpy(a, b, sizeof(int) * L->n_out);
                    n_in = L->n_out;
                }
            }
        }
    free(old);
    free(a);
    free(b);
}

static void assert_same_state(const xnca_grid *a, const xnca_grid *b, const char *what)
{
    size_t n = (size_t)a->w * a->h * a->c;
    for (size_t i = 0; i < n; i++)
        if (a->qs[i] != b->qs[i])
            fail_msg("%s: state differs at cell %zu channel %zu: %d vs %d", what, i / a->c, i % a->c, a->qs[i],
                     b->qs[i]);
}

/* ------------------------------------------------------------------------------------------
 * Hand-computed vectors
 * ---------------------------------------------------------------------------------------- */
static void test_quantizer_vectors(void **state)
{
    /* k = 2, mul = 3, shift = 2, add = 1: theta_1 = ceil((4 - 1) / 3) = 1 */
    xnca_qparam q = {3, 2, 1};
    assert_int_equal(xnca_quantize(&q, 1, 2), 1);   /* y*mul+add = 4 = 2^shift exactly: the higher level */
    assert_int_equal(xnca_quantize(&q, 0, 2), 0);   /* 1 / 4 */
    assert_int_equal(xnca_quantize(&q, 2, 2), 1);   /* 7 / 4 */
    assert_int_equal(xnca_quantize(&q, 3, 2), 2);   /* 10 / 4 */
    assert_int_equal(xnca_quantize(&q, 5, 2), 3);   /* 16 / 4 = 4: saturates at 2^k - 1 */
    assert_int_equal(xnca_quantize(&q, -10, 2), 0); /* floor(-29 / 4) = -8: clamps to 0 */
    /* negative mul: mul = -2, shift = 1, add = 5: level 1 iff y <= floor((2 - 5) / -2) = 1 */
    xnca_qparam n = {-2, 1, 5};
    assert_int_equal(xnca_quantize(&n, 1, 1), 1);  /* 3 / 2 -> 1 */
    assert_int_equal(xnca_quantize(&n, 2, 1), 0);  /* 1 / 2 -> 0 */
    assert_int_equal(xnca_quantize(&n, -9, 1), 1); /* 23 / 2 = 11 -> clamp 1 */
    assert_int_equal(xnca_quantize(&n, -9, 3), 7); /* k = 3: clamp 7 */
    /* floor of negatives: residuals are not clamped */
    xnca_qparam r = {1, 1, -3};
    assert_int_equal(xnca_residual(&r, 2), -1);  /* floor(-1 / 2) */
    assert_int_equal(xnca_residual(&r, 0), -2);  /* floor(-3 / 2) */
    assert_int_equal(xnca_residual(&r, 5), 1);   /* 2 / 2 */
    xnca_qparam big = {-128, 0, -(1 << 23) + 1};
    assert_int_equal(xnca_residual(&big, 1 << 17), -(1LL << 24) - (1 << 23) + 1);
    /* k = 1 batch-norm threshold: a = +1 iff y*mul + add >= 2^shift */
    xnca_qparam t = {5, 4, -4};
    assert_int_equal(xnca_quantize(&t, 4, 1), 1); /* 16 >= 16 */
    assert_int_equal(xnca_quantize(&t, 3, 1), 0); /* 11 < 16 */
}

static void test_input_level(void **state)
{
    assert_int_equal(xnca_input_level(25, 1), 0);
    assert_int_equal(xnca_input_level(26, 1), 1);
    assert_int_equal(xnca_input_level(255, 1), 1);
    assert_int_equal(xnca_input_level(26, 2), 1);  /* floor((78 + 127) / 255) = 0 -> max(1, 0) */
    assert_int_equal(xnca_input_level(128, 2), 2); /* floor(511 / 255) */
    assert_int_equal(xnca_input_level(26, 4), 2);  /* floor(517 / 255) */
    assert_int_equal(xnca_input_level(255, 4), 15);
    assert_int_equal(xnca_input_level(0, 4), 0);
}

/* A tiny model with every number checked by hand (C = 12, P = 8, L = 0, m = k = 1, S = 8). */
static void tiny_model(xnca_model *m)
{
    *m = (xnca_model){.variant = XNCA_QUANT, .grid_w = 8, .grid_h = 8, .channels = 12, .hidden_channels = 1,
                      .classes = 10, .hidden_layers = 0, .perception_width = 8, .mlp_width = 0, .weight_bits = 1,
                      .act_bits = 1, .state_bits = 8, .input_bits = 1, .fire_t = 256, .noise_p = 0};
    char err[256];
    assert_int_equal(xnca_model_alloc(m, err, sizeof(err)), 0);
    m->inq[0] = (xnca_qparam){1, 0, 0}; /* g >= 1 -> level 1 (a = +1); dead / padding -> a = -1 */
    for (int c = 1; c < 12; c++)
        m->inq[c] = (xnca_qparam){1, 0, 1}; /* state 0 -> level 1 (a = +1) */
    xnca_layer *P = &m->layer[0], *O = &m->layer[1];
    memset(P->planes, 0, (size_t)P->n_out * P->row_bytes);
    for (int o = 0; o < 8; o++)
        for (int n = 0; n < 108; n++)
            P->planes[o * P->row_bytes + n / 8] |= (uint8_t)(1u << (n % 8)); /* every weight +1 */
    /* the alive cell's sum is y = 1 (itself) - 8 (dead neighbours) + 99 (mutable, all +1) = 92 */
    P->q[0] = (xnca_qparam){1, 0, -91};   /* 92 - 91 = 1 = 2^0: boundary -> level 1 */
    P->q[1] = (xnca_qparam){1, 0, -92};   /* 0 -> 0 */
    P->q[2] = (xnca_qparam){-1, 0, 93};   /* 1 -> 1 */
    P->q[3] = (xnca_qparam){-1, 0, 92};   /* 0 -> 0 */
    P->q[4] = (xnca_qparam){0, 0, 1};     /* constant 1 */
    P->q[5] = (xnca_qparam){0, 0, 0};     /* constant 0 */
    P->q[6] = (xnca_qparam){3, 2, -272};  /* (276 - 272) / 4 = 1 exactly -> 1 */
    P->q[7] = (xnca_qparam){3, 2, -273};  /* 3 / 4 -> 0 */
    /* output rows: +1 everywhere except input 1 (-1); a = [+1 -1 +1 -1 +1 -1 +1 -1] -> y = 2 */
    memset(O->planes, 0, (size_t)O->n_out * O->row_bytes);
    for (int o = 0; o < 11; o++)
        O->planes[o * O->row_bytes] = 0xfd;
    O->q[0] = (xnca_qparam){1, 0, 0};     /* ds = 2 */
    O->q[1] = (xnca_qparam){-1, 0, 0};    /* ds = -2 */
    O->q[2] = (xnca_qparam){1, 1, -3};    /* floor(-1 / 2) = -1 */
    O->q[3] = (xnca_qparam){100, 0, 0};   /* 200 -> saturates at 127 */
    O->q[4] = (xnca_qparam){-100, 0, 0};  /* -200 -> saturates at -128 */
    O->q[5] = (xnca_qparam){1, 2, 1};     /* floor(3 / 4) = 0 */
    for (int o = 6; o < 11; o++)
        O->q[o] = (xnca_qparam){0, 0, 0};
    assert_int_equal(xnca_model_check(m, err, sizeof(err)), 0);
}

static void test_hand_step(void **state)
{
    xnca_model m;
    tiny_model(&m);
    uint8_t px[64] = {0};
    px[3 * 8 + 3] = 255;
    px[0] = 25; /* faint: dead */
    for (int path = XNCA_CPU_SCALAR; path <= XNCA_CPU_AVX512; path++) {
        if (xnca_cpu_force((xnca_cpu_path)path) != 0)
            continue;
        for (int dense = 0; dense < 2; dense++) {
            xnca_grid g;
            assert_int_equal(xnca_grid_init(&m, &g, 8, 8, px), 0);
            assert_int_equal(g.alive[0], 0);
            assert_int_equal(g.qs[0], 0);
            assert_int_equal(g.qs[(3 * 8 + 3) * 12], 1); /* g = 1 */
            xnca_step_opts o = {XNCA_ORDER_RASTER, dense};
            xnca_step(&m, &g, 0, 0, 0, &o);
            const int8_t *s = g.qs + (3 * 8 + 3) * 12;
            static const int8_t want[12] = {1, 2, -2, -1, 127, -128, 0, 0, 0, 0, 0, 0};
            assert_memory_equal(s, want, 12);
            for (int i = 0; i < 64; i++)
                if (i != 3 * 8 + 3)
                    for (int c = 0; c < 12; c++)
                        assert_int_equal(g.qs[i * 12 + c], 0);
            xnca_grid_free(&g);
        }
    }
    xnca_cpu_force(XNCA_CPU_SCALAR);
    xnca_cpu_force(XNCA_CPU_AVX512); /* back to the best path where it exists */
    xnca_model_free(&m);
}

/* The padding cell is exactly a dead cell with pixel 0: a lone alive cell in the corner
 * updates like a lone alive cell in the middle of dead cells. */
static void test_padding_equals_dead(void **state)
{
    xnca_model m;
    make_random_model_dims(&m, 16, 32, 32, 1, 2, 2, 8, 2, 11);
    m.fire_t = 256;
    m.noise_p = 0;
    for (int o = 0; o < 15; o++) /* residual = y / 8: the lone cell surely moves */
        m.layer[2].q[o] = (xnca_qparam){1, 3, 0};
    uint8_t corner[16 * 16] = {0}, middle[16 * 16] = {0};
    corner[0] = 200;
    middle[7 * 16 + 7] = 200;
    xnca_grid a, b;
    assert_int_equal(xnca_grid_init(&m, &a, 16, 16, corner), 0);
    assert_int_equal(xnca_grid_init(&m, &b, 16, 16, middle), 0);
    int changed = 0;
    for (uint32_t t = 0; t < 6; t++) {
        xnca_step(&m, &a, 0, 0, t, NULL);
        xnca_step(&m, &b, 0, 0, t, NULL);
        assert_memory_equal(a.qs, b.qs + (7 * 16 + 7) * 16, 16);
        changed |= memcmp(a.qs + 1, (int8_t[15]){0}, 15) != 0;
    }
    assert_true(changed); /* the comparison was not between two frozen cells */
    xnca_grid_free(&a);
    xnca_grid_free(&b);
    xnca_model_free(&m);
}

static void test_readout_ties(void **state)
{
    xnca_model m;
    make_random_model_dims(&m, 12, 8, 0, 0, 1, 1, 8, 1, 1);
    uint8_t px[64] = {0};
    px[0] = px[1] = px[2] = px[3] = 200;
    xnca_grid g;
    assert_int_equal(xnca_grid_init(&m, &g, 8, 8, px), 0);
    int votes[10], agree, alive;
    /* all class channels 0: every cell ties -> class 0; no image tie involved */
    assert_int_equal(xnca_cell_class(&m, &g, 0, 0), 0);
    assert_int_equal(xnca_votes(&m, &g, votes, &agree, &alive), 0);
    assert_int_equal(alive, 4);
    assert_int_equal(votes[0], 4);
    assert_true(agree);
    /* class channels are 2..11; cell 0: classes 3 and 7 tie at 5 -> 3 */
    int8_t *s = g.qs;
    s[2 + 3] = 5, s[2 + 7] = 5, s[2 + 1] = 4;
    assert_int_equal(xnca_cell_class(&m, &g, 0, 0), 3);
    /* cell 1 -> 7 (negative values elsewhere), cells 2, 3 -> 7 and 3: votes 3:2, 7:2 -> tie -> 3 */
    int8_t *s1 = g.qs + 12, *s2 = g.qs + 24, *s3 = g.qs + 36;
    for (int k = 0; k < 10; k++)
        s1[2 + k] = s2[2 + k] = s3[2 + k] = -3;
    s1[2 + 7] = -1, s2[2 + 7] = 0, s3[2 + 3] = 1;
    assert_int_equal(xnca_votes(&m, &g, votes, &agree, &alive), 3);
    assert_int_equal(votes[3], 2);
    assert_int_equal(votes[7], 2);
    assert_false(agree);
    /* all four agree on 7 */
    s[2 + 7] = 6, s3[2 + 7] = 9;
    assert_int_equal(xnca_votes(&m, &g, votes, &agree, &alive), 7);
    assert_true(agree);
    xnca_grid_free(&g);
    /* no alive cell: prediction 0, no agreement */
    memset(px, 0, sizeof(px));
    assert_int_equal(xnca_grid_init(&m, &g, 8, 8, px), 0);
    assert_int_equal(xnca_votes(&m, &g, votes, &agree, &alive), 0);
    assert_int_equal(alive, 0);
    assert_false(agree);
    xnca_grid_free(&g);
    xnca_model_free(&m);
}

/* ------------------------------------------------------------------------------------------
 * Engine against the oracle, every CPU path
 * ---------------------------------------------------------------------------------------- */
typedef struct {
    int C, P, M, L, m, k, S, b, noise_p, fire_t, size, steps;
} config;

static const config configs[] = {
    {20, 80, 80, 1, 1, 1, 8, 1, 2, 128, 16, 6},    /* Distill W1A1 */
    {20, 80, 80, 1, 2, 2, 8, 1, 13, 128, 16, 6},   /* Distill W2A2, Distill's noise */
    {20, 80, 80, 1, 4, 4, 8, 4, 2, 200, 12, 4},    /* W4A4, 4 input bits */
    {12, 8, 0, 0, 1, 3, 4, 2, 40, 256, 10, 6},     /* L = 0, k = 3, S = 4 */
    {32, 64, 40, 2, 3, 2, 2, 3, 0, 128, 10, 5},    /* L = 2, C = 32 (5 perception words), S = 2 */
    {25, 72, 130, 2, 8, 8, 8, 1, 127, 100, 9, 3},  /* m = k = 8: 64-bit sums, out_words = 3 */
    {17, 200, 8, 1, 1, 2, 6, 1, 5, 0, 9, 2},       /* fire_t = 0: nothing changes */
    {16, 24, 16, 1, 1, 1, 8, 1, 9, 128, 12, 5},    /* C = 16 and 24: specialized gathers */
    {24, 40, 24, 1, 2, 1, 6, 2, 9, 128, 12, 5},
};

static void run_against_reference(const config *cf, int path)
{
    xnca_model m;
    make_random_model_dims(&m, cf->C, cf->P, cf->M, cf->L, cf->m, cf->k, cf->S, cf->b, (uint32_t)(cf->C * 7 + cf->m));
    m.noise_p = cf->noise_p;
    m.fire_t = cf->fire_t;
    uint8_t px[64 * 64];
    make_image(px, cf->size, cf->size, cf->m);
    xnca_grid e, r;
    assert_int_equal(xnca_grid_init(&m, &e, cf->size, cf->size, px), 0);
    assert_int_equal(xnca_grid_init(&m, &r, cf->size, cf->size, px), 0);
    char what[128];
    for (int t = 0; t < cf->steps; t++) {
        xnca_step(&m, &e, 5, 3, (uint32_t)t, NULL);
        ref_step(&m, &r, 5, 3, (uint32_t)t);
        snprintf(what, sizeof(what), "C%d P%d M%d L%d W%dA%d S%d path %s step %d", cf->C, cf->P, cf->M, cf->L, cf->m,
                 cf->k, cf->S, xnca_cpu_name((xnca_cpu_path)path), t);
        assert_same_state(&e, &r, what);
    }
    xnca_grid_free(&e);
    xnca_grid_free(&r);
    xnca_model_free(&m);
}

static void test_engine_matches_reference(void **state)
{
    int paths = 0;
    for (int path = XNCA_CPU_SCALAR; path <= XNCA_CPU_AVX512; path++) {
        if (xnca_cpu_force((xnca_cpu_path)path) != 0) {
            print_message("CPU path %s not supported here: skipped\n", xnca_cpu_name((xnca_cpu_path)path));
            continue;
        }
        paths++;
        for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
            run_against_reference(&configs[i], path);
    }
    assert_true(paths >= 1);
    xnca_cpu_force(XNCA_CPU_SCALAR);
    xnca_cpu_force(XNCA_CPU_AVX2);
    xnca_cpu_force(XNCA_CPU_AVX512);
}

/* Distill dims at 28 x 28 for 24 steps: every supported path gives the scalar path's states. */
static void test_cpu_paths_identical(void **state)
{
    assert_true(xnca_cpu_supported(XNCA_CPU_SCALAR));
    assert_string_equal(xnca_cpu_name(XNCA_CPU_AVX512), "avx512");
    static const int bits[][2] = {{1, 1}, {2, 2}, {4, 4}, {1, 3}, {3, 1}};
    for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
        xnca_model m;
        make_random_model(&m, bits[b][0], bits[b][1], 21);
        uint8_t px[28 * 28];
        make_image(px, 28, 28, 1);
        xnca_grid ref;
        assert_int_equal(xnca_cpu_force(XNCA_CPU_SCALAR), 0);
        assert_int_equal(xnca_grid_init(&m, &ref, 28, 28, px), 0);
        for (uint32_t t = 0; t < 24; t++)
            xnca_step(&m, &ref, 0, 1, t, NULL);
        for (int path = XNCA_CPU_AVX2; path <= XNCA_CPU_AVX512; path++) {
            if (xnca_cpu_force((xnca_cpu_path)path) != 0)
                continue;
            assert_int_equal(xnca_cpu_active(), path);
            xnca_grid g;
            assert_int_equal(xnca_grid_init(&m, &g, 28, 28, px), 0);
            for (uint32_t t = 0; t < 24; t++)
                xnca_step(&m, &g, 0, 1, t, NULL);
            assert_same_state(&g, &ref, xnca_cpu_name((xnca_cpu_path)path));
            xnca_grid_free(&g);
        }
        xnca_grid_free(&ref);
        xnca_model_free(&m);
    }
    xnca_cpu_force(XNCA_CPU_AVX2);
    xnca_cpu_force(XNCA_CPU_AVX512);
}

/* Raster, reversed, shuffled and dense give identical states (spec 3.6). */
static void test_order_and_dense_independence(void **state)
{
    xnca_model m;
    make_random_model(&m, 2, 2, 33);
    m.noise_p = 13;
    uint8_t px[28 * 28];
    make_image(px, 28, 28, 2);
    static const xnca_step_opts opts[] = {{XNCA_ORDER_RASTER, 0}, {XNCA_ORDER_REVERSED, 0}, {XNCA_ORDER_SHUFFLED, 0},
                                          {XNCA_ORDER_RASTER, 1}, {XNCA_ORDER_SHUFFLED, 1}};
    xnca_grid g[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(xnca_grid_init(&m, &g[i], 28, 28, px), 0);
    for (uint32_t t = 0; t < 12; t++)
        for (int i = 0; i < 5; i++)
            xnca_step(&m, &g[i], 9, 4, t, &opts[i]);
    for (int i = 1; i < 5; i++)
        assert_same_state(&g[i], &g[0], "order/dense");
    for (int i = 0; i < 5; i++)
        xnca_grid_free(&g[i]);
    xnca_model_free(&m);
}

/* ------------------------------------------------------------------------------------------
 * Random models: non-trivial dynamics (the co-simulation relies on it)
 * ---------------------------------------------------------------------------------------- */
static void measure_dynamics(int wbits, int abits, int sbits, int noise_p, int steps, double *min_change,
                             double *max_change, double *rail)
{
    xnca_model m;
    make_random_model_dims(&m, 20, 80, 80, 1, wbits, abits, sbits, 1, 77);
    assert_int_equal(m.noise_p, 2);
    m.noise_p = noise_p;
    uint8_t px[28 * 28];
    make_image(px, 28, 28, 3);
    xnca_grid g;
    assert_int_equal(xnca_grid_init(&m, &g, 28, 28, px), 0);
    int8_t *prev = malloc(28 * 28 * 20);
    *min_change = 1, *max_change = 0;
    for (uint32_t t = 0; t < (uint32_t)steps; t++) {
        memcpy(prev, g.qs, 28 * 28 * 20);
        xnca_step(&m, &g, 0, 0, t, NULL);
        int fired = 0, changed = 0;
        for (int i = 0; i < 28 * 28; i++) {
            if (!g.alive[i] || (int)(xnca_hash(0, 0, t, (uint32_t)(i % 28), (uint32_t)(i / 28), 0) & 0xff) >= m.fire_t)
                continue;
            fired++;
            changed += memcmp(prev + i * 20, g.qs + i * 20, 20) != 0;
        }
        double f = fired ? (double)changed / fired : 0;
        if (f < *min_change)
            *min_change = f;
        if (f > *max_change)
            *max_change = f;
    }
    int lo = -(1 << (sbits - 1)), hi = (1 << (sbits - 1)) - 1, at = 0, total = 0;
    for (int i = 0; i < 28 * 28; i++)
        if (g.alive[i])
            for (int c = 1; c < 20; c++, total++)
                at += g.qs[i * 20 + c] == lo || g.qs[i * 20 + c] == hi;
    *rail = (double)at / total;
    free(prev);
    xnca_grid_free(&g);
    xnca_model_free(&m);
}

static void test_random_model_dynamics(void **state)
{
    /* weight bits, activation bits, state bits, noise_p, steps */
    static const int cases[][5] = {{1, 1, 8, 2, 64}, {2, 2, 8, 2, 64}, {4, 4, 8, 2, 64}, {1, 1, 4, 2, 64},
                                   {2, 2, 4, 2, 64}, {1, 1, 8, 0, 64}, {2, 2, 8, 0, 64}, {1, 1, 8, 13, 64},
                                   {2, 2, 8, 13, 64}, {1, 1, 8, 2, 200}};
    int ok = 1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double lo, hi, rail;
        measure_dynamics(cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4], &lo, &hi, &rail);
        print_message("random W%dA%d S%d noise_p %d: per step %.0f%%..%.0f%% of firing cells change, %.1f%% of "
                      "channels at a rail after %d steps\n",
                      cases[i][0], cases[i][1], cases[i][2], cases[i][3], 100 * lo, 100 * hi, 100 * rail,
                      cases[i][4]);
        /* noise_p 13 alone changes ~87 % of the cells, W2A2 without noise may freeze: printed only */
        if (cases[i][3] == 2 || (cases[i][3] == 0 && cases[i][0] == 1))
            ok &= lo >= 0.10 && hi <= 0.90;
        ok &= rail < 0.20;
    }
    assert_true(ok);
}

/* ------------------------------------------------------------------------------------------
 * Mutation and the evaluation driver
 * ---------------------------------------------------------------------------------------- */
static void test_mutation_semantics(void **state)
{
    xnca_model m;
    make_random_model_dims(&m, 12, 8, 0, 0, 1, 1, 8, 2, 5);
    uint8_t a[64] = {0}, b[64] = {0};
    a[0] = 200, a[1] = 200, a[2] = 30;  /* alive 0, 1, 2 */
    b[1] = 255, b[2] = 10, b[3] = 128;  /* alive 1, 3; cell 2 dies */
    xnca_grid g;
    assert_int_equal(xnca_grid_init(&m, &g, 8, 8, a), 0);
    for (int i = 0; i < 3; i++)
        for (int c = 1; c < 12; c++)
            g.qs[i * 12 + c] = (int8_t)(i * 10 + c);
    xnca_grid_mutate(&m, &g, b);
    assert_int_equal(g.alive[0], 0);
    assert_int_equal(g.alive[1], 1);
    assert_int_equal(g.alive[2], 0);
    assert_int_equal(g.alive[3], 1);
    assert_int_equal(g.qs[0 * 12], 0);
    assert_int_equal(g.qs[1 * 12], 3); /* g' of 255 with b = 2 */
    assert_int_equal(g.qs[3 * 12], 2); /* g' of 128 */
    for (int c = 1; c < 12; c++) {
        assert_int_equal(g.qs[0 * 12 + c], 0);       /* died */
        assert_int_equal(g.qs[1 * 12 + c], 10 + c);  /* alive in both: kept */
        assert_int_equal(g.qs[2 * 12 + c], 0);       /* died */
        assert_int_equal(g.qs[3 * 12 + c], 0);       /* newly alive: 0 */
    }
    assert_int_equal(g.pixels[3], 128);
    xnca_grid_free(&g);
    xnca_model_free(&m);
}

static xnca_dataset make_dataset(int n)
{
    xnca_dataset d = {.n = n, .w = 28, .h = 28};
    d.images = malloc((size_t)n * 28 * 28);
    d.labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        make_image(d.images + (size_t)i * 784, 28, 28, i);
        d.labels[i] = (uint8_t)(i % 10);
    }
    return d;
}

static void test_eval_threads_and_manual(void **state)
{
    xnca_model m;
    make_random_model(&m, 1, 1, 8);
    xnca_dataset d = make_dataset(7);
    xnca_eval_opts o = {.seed = 3, .n_report = 3, .report = {0, 5, 12}, .mutate_at = -1, .threads = 1,
                        .index_offset = 100};
    xnca_metric m1[3], m2[3];
    xnca_image_result r1[7], r2[7];
    char err[256];
    assert_int_equal(xnca_eval(&m, &d, 7, &o, m1, r1, err, sizeof(err)), 0);
    o.threads = 2;
    assert_int_equal(xnca_eval(&m, &d, 7, &o, m2, r2, err, sizeof(err)), 0);
    assert_memory_equal(r1, r2, sizeof(r1));
    assert_memory_equal(m1, m2, sizeof(m1));
    /* image 4 by hand: image_index = 100 + 4 */
    xnca_grid g;
    assert_int_equal(xnca_grid_init(&m, &g, 28, 28, d.images + 4 * 784), 0);
    int votes[10], agree, alive;
    for (uint32_t t = 0; t < 12; t++) {
        if (t == 5) {
            xnca_votes(&m, &g, votes, &agree, &alive);
            assert_memory_equal(votes, r1[4].votes[1], sizeof(votes));
        }
        xnca_step(&m, &g, 3, 104, t, NULL);
    }
    int pred = xnca_votes(&m, &g, votes, &agree, &alive);
    assert_memory_equal(votes, r1[4].votes[2], sizeof(votes));
    assert_int_equal(pred, r1[4].pred[2]);
    assert_int_equal(agree, r1[4].agree[2]);
    assert_int_equal(alive, r1[4].alive);
    xnca_grid_free(&g);
    /* step 0: all class channels 0 -> every cell votes 0: cell accuracy = share of label-0 cells */
    long alive0 = 0, total = 0;
    for (int i = 0; i < 7; i++) {
        total += r1[i].alive;
        if (d.labels[i] == 0)
            alive0 += r1[i].alive;
    }
    assert_true(m1[0].step == 0);
    assert_true(m1[0].cell_accuracy > 100.0 * alive0 / total - 1e-9 && m1[0].cell_accuracy < 100.0 * alive0 / total + 1e-9);
    assert_true(m1[0].agreement == 100.0);
    assert_true(m1[0].image_accuracy > 100.0 / 7 - 1e-9 && m1[0].image_accuracy < 100.0 / 7 + 1e-9);
    /* bad options */
    o.report[1] = 0;
    assert_int_not_equal(xnca_eval(&m, &d, 7, &o, m1, r1, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "ascending"));
    o.report[1] = 5;
    assert_int_not_equal(xnca_eval(&m, &d, 8, &o, m1, r1, err, sizeof(err)), 0);
    free(d.images);
    free(d.labels);
    xnca_model_free(&m);
}

static long progress_calls, progress_last;
static void count_progress(void *ctx, long done, long total)
{
    progress_calls++;
    assert_true(done > progress_last);
    progress_last = done;
    assert_int_equal(total, *(int *)ctx);
}

/* mutate_at: after S steps image i's picture becomes pool image H(seed, i, S, 0, 0, 0xffff) mod N. */
static void test_eval_mutation(void **state)
{
    xnca_model m;
    make_random_model(&m, 2, 2, 9);
    xnca_dataset d = make_dataset(5), pool = make_dataset(9);
    for (int i = 0; i < 9; i++) /* make the pool's pictures differ from the evaluated ones */
        make_image(pool.images + (size_t)i * 784, 28, 28, 20 + i), pool.labels[i] = (uint8_t)(9 - i);
    int n = 5;
    xnca_eval_opts o = {.seed = 11, .n_report = 3, .report = {6, 8, 15}, .mutate_at = 8, .mutate_pool = &pool,
                        .threads = 2, .index_offset = 0, .progress = count_progress, .progress_ctx = &n};
    xnca_metric met[3];
    xnca_image_result res[5];
    char err[256];
    progress_calls = progress_last = 0;
    assert_int_equal(xnca_eval(&m, &d, 5, &o, met, res, err, sizeof(err)), 0);
    assert_int_equal(progress_calls, 5);
    for (int i = 0; i < 5; i++) {
        xnca_grid g;
        assert_int_equal(xnca_grid_init(&m, &g, 28, 28, d.images + (size_t)i * 784), 0);
        int votes[10], agree, alive, r = 0;
        for (uint32_t t = 0; t < 15; t++) {
            if (t == 6 || t == 8) {
                xnca_votes(&m, &g, votes, &agree, &alive);
                assert_memory_equal(votes, res[i].votes[r], sizeof(votes));
                r++;
            }
            if (t == 8) {
                uint32_t j = xnca_hash(11, (uint32_t)i, 8, 0, 0, 0xffff) % 9u;
                xnca_grid_mutate(&m, &g, pool.images + (size_t)j * 784);
            }
            xnca_step(&m, &g, 11, (uint32_t)i, t, NULL);
        }
        xnca_votes(&m, &g, votes, &agree, &alive);
        assert_memory_equal(votes, res[i].votes[2], sizeof(votes));
        xnca_grid_free(&g);
    }
    free(d.images), free(d.labels), free(pool.images), free(pool.labels);
    xnca_model_free(&m);
}

static void test_grid_init_rejects(void **state)
{
    xnca_model m;
    make_random_model_dims(&m, 12, 8, 0, 0, 1, 1, 8, 1, 2);
    uint8_t px[65 * 65] = {0};
    xnca_grid g;
    assert_int_not_equal(xnca_grid_init(&m, &g, 7, 8, px), 0);
    assert_int_not_equal(xnca_grid_init(&m, &g, 8, 65, px), 0);
    assert_int_not_equal(xnca_grid_init(&m, &g, 8, 8, NULL), 0);
    assert_int_equal(xnca_grid_init(&m, &g, 64, 9, px), 0);
    xnca_step(&m, &g, 0, 0, 0, NULL); /* all dead: nothing happens, nothing breaks */
    xnca_grid_free(&g);
    xnca_model_free(&m);
}

const struct CMUnitTest engine_tests[] = {
    cmocka_unit_test(test_quantizer_vectors),
    cmocka_unit_test(test_input_level),
    cmocka_unit_test(test_hand_step),
    cmocka_unit_test(test_padding_equals_dead),
    cmocka_unit_test(test_readout_ties),
    cmocka_unit_test(test_engine_matches_reference),
    cmocka_unit_test(test_cpu_paths_identical),
    cmocka_unit_test(test_order_and_dense_independence),
    cmocka_unit_test(test_random_model_dynamics),
    cmocka_unit_test(test_mutation_semantics),
    cmocka_unit_test(test_eval_threads_and_manual),
    cmocka_unit_test(test_eval_mutation),
    cmocka_unit_test(test_grid_init_rejects),
};
const size_t engine_tests_n = sizeof(engine_tests) / sizeof(engine_tests[0]);
