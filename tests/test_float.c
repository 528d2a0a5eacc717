/* test_float.c - the float engine (spec 8) against a direct, loop-by-loop reading of the spec,
 * plus the bwn/ban transforms, the spec 4.4 noise, and the Distill importer. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xnca_distill.h"
#include "xnca_float.h"
#include "xnca_model.h"

/* ---------------------------------------------------------------- fixtures */

static uint32_t rng_state = 12345;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

/* A small float-family model of the given dimensions with random weights. */
static void make_model(xnca_model *m, xnca_variant v, int C, int P, int L, int M)
{
    memset(m, 0, sizeof(*m));
    m->variant = v;
    m->grid_w = m->grid_h = 12;
    m->channels = C;
    m->hidden_channels = C - 11;
    m->classes = 10;
    m->hidden_layers = L;
    m->perception_width = P;
    m->mlp_width = L ? M : 0;
    m->weight_bits = m->act_bits = m->state_bits = 32;
    m->input_bits = 8;
    m->fire_t = 256;
    m->noise_sigma = 0.0f;
    m->n_layers = L + 2;
    char err[200];
    assert_int_equal(xnca_model_alloc(m, err, sizeof(err)), 0);
    for (int l = 0; l < m->n_layers; l++) {
        xnca_layer *ly = &m->layer[l];
        float scale = 1.0f / sqrtf((float)ly->n_in);
        for (int i = 0; i < ly->n_in * ly->n_out; i++) ly->w[i] = frand() * 2.0f * scale;
        for (int i = 0; i < ly->n_out; i++) ly->b[i] = frand() * 0.2f;
    }
}

/* A random picture: about half the cells alive, including border cells. */
static void make_pixels(uint8_t *px, int w, int h, int seed)
{
    rng_state = (uint32_t)seed * 7919u + 1u;
    for (int i = 0; i < w * h; i++) {
        float r = frand();
        px[i] = r > 0.0f ? (uint8_t)(26 + (int)(r * 229.0f)) : (uint8_t)((r + 1.0f) * 25.0f);
    }
}

/* Give every alive cell's mutable channels random values (as after some steps). */
static void randomize_state(xnca_grid *g)
{
    for (int i = 0; i < g->w * g->h; i++)
        if (g->alive[i])
            for (int c = 1; c < g->c; c++) g->fs[(size_t)i * g->c + c] = frand();
}

/* ---------------------------------------------------------------- the spec, read literally */

static float spec_noise(uint32_t seed, uint32_t img, uint32_t t, int x, int y, int j)
{
    uint32_t h1 = xnca_hash(seed, img, t, (uint32_t)x, (uint32_t)y, 64u + 2u * (uint32_t)j);
    uint32_t h2 = xnca_hash(seed, img, t, (uint32_t)x, (uint32_t)y, 65u + 2u * (uint32_t)j);
    double u0 = ((h1 & 0xffff) + 0.5) / 65536.0, u1 = ((h1 >> 16) + 0.5) / 65536.0;
    double u2 = ((h2 & 0xffff) + 0.5) / 65536.0, u3 = ((h2 >> 16) + 0.5) / 65536.0;
    return (float)((u0 + u1 + u2 + u3 - 2.0) * sqrt(3.0));
}

static double layer_input(const xnca_model *m, double v) { return m->variant == XNCA_BAN ? (v > 0 ? 1.0 : -1.0) : v; }

/* One step computed cell by cell in double precision, reading `old` and writing `out`. */
static void reference_step(const xnca_model *m, const xnca_grid *g, const float *old, float *out, uint32_t seed,
                           uint32_t img, uint32_t t)
{
    const int C = g->c, W = g->w, H = g->h;
    memcpy(out, old, sizeof(float) * (size_t)W * H * C);
    double *a = calloc(1024, sizeof(double)), *b = calloc(1024, sizeof(double));
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            int i = y * W + x;
            int fires = m->fire_t >= 256 || (int)(xnca_hash(seed, img, t, (uint32_t)x, (uint32_t)y, 0) & 0xff) < m->fire_t;
            if (!g->alive[i] || !fires) continue;
            int n = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    for (int c = 0; c < C; c++) {
                        int nx = x + dx, ny = y + dy;
                        int inside = nx >= 0 && ny >= 0 && nx < W && ny < H;
                        a[n++] = inside ? old[((size_t)ny * W + nx) * C + c] : 0.0;
                    }
            for (int l = 0; l < m->n_layers; l++) {
                const xnca_layer *ly = &m->layer[l];
                for (int o = 0; o < ly->n_out; o++) {
                    double s = ly->b[o];
                    for (int k = 0; k < ly->n_in; k++) s += (double)ly->w[(size_t)o * ly->n_in + k] * layer_input(m, a[k]);
                    b[o] = (l < m->n_layers - 1 && s < 0) ? 0.0 : s;
                }
                double *tmp = a;
                a = b;
                b = tmp;
            }
            for (int j = 0; j < C - 1; j++) {
                double d = a[j];
                if (m->noise_sigma != 0.0f) d += (double)m->noise_sigma * spec_noise(seed, img, t, x, y, j);
                out[(size_t)i * C + j + 1] = (float)(old[(size_t)i * C + j + 1] + d);
            }
        }
    }
    free(a);
    free(b);
}

/* Run `steps` engine steps and the same reference steps; compare every value. */
static void check_against_reference(xnca_variant v, int C, int P, int L, int M, int fire_t, float sigma, int dense,
                                    int steps, double tol)
{
    xnca_model m;
    make_model(&m, v, C, P, L, M);
    if (v == XNCA_BWN) xnca_float_apply_bwn(&m);
    m.fire_t = fire_t;
    m.noise_sigma = sigma;
    const int W = 13, H = 11;
    uint8_t px[W * H];
    make_pixels(px, W, H, C + P + L);
    xnca_grid g;
    assert_int_equal(xnca_grid_init(&m, &g, W, H, px), 0);
    randomize_state(&g);
    size_t n = (size_t)W * H * C;
    float *ref = malloc(n * sizeof(float)), *tmp = malloc(n * sizeof(float));
    memcpy(ref, g.fs, n * sizeof(float));
    xnca_step_opts so = {XNCA_ORDER_RASTER, dense};
    for (int t = 0; t < steps; t++) {
        xnca_float_step(&m, &g, 7, 3, (uint32_t)t, &so);
        reference_step(&m, &g, ref, tmp, 7, 3, (uint32_t)t);
        memcpy(ref, tmp, n * sizeof(float));
    }
    int changed = 0;
    for (size_t i = 0; i < n; i++) {
        double scale = fabs(ref[i]) > 1.0 ? fabs(ref[i]) : 1.0;
        if (fabs(g.fs[i] - ref[i]) > tol * scale)
            fail_msg("value %zu (cell %zu, channel %zu): engine %.9g, reference %.9g", i, i / C, i % C, g.fs[i],
                     ref[i]);
        changed += g.fs[i] != 0.0f;
    }
    assert_true(changed > 0);
    free(ref);
    free(tmp);
    xnca_grid_free(&g);
    xnca_model_free(&m);
}

/* ---------------------------------------------------------------- tests */

static void test_float_all_fire(void **s)
{
    (void)s;
    check_against_reference(XNCA_FLOAT, 20, 80, 1, 80, 256, 0.0f, 0, 1, 1e-5);
}

static void test_float_fire_mask_and_noise(void **s)
{
    (void)s;
    check_against_reference(XNCA_FLOAT, 20, 80, 1, 80, 128, 0.02f, 0, 3, 1e-4);
}

static void test_float_dense_path(void **s)
{
    (void)s;
    check_against_reference(XNCA_FLOAT, 20, 80, 1, 80, 100, 0.05f, 1, 2, 1e-4);
}

static void test_float_other_shapes(void **s)
{
    (void)s;
    check_against_reference(XNCA_FLOAT, 12, 8, 0, 0, 200, 0.0f, 0, 2, 1e-4);
    check_against_reference(XNCA_FLOAT, 32, 96, 2, 40, 256, 0.1f, 0, 2, 1e-4);
}

static void test_bwn(void **s)
{
    (void)s;
    check_against_reference(XNCA_BWN, 20, 80, 1, 80, 128, 0.02f, 0, 2, 1e-4);
}

static void test_ban(void **s)
{
    (void)s;
    check_against_reference(XNCA_BAN, 20, 80, 1, 80, 128, 0.0f, 0, 2, 1e-4);
}

static void test_bwn_transform(void **s)
{
    (void)s;
    xnca_model m;
    make_model(&m, XNCA_BWN, 12, 8, 0, 0);
    xnca_layer *ly = &m.layer[0];
    float row[9 * 12];
    for (int k = 0; k < ly->n_in; k++) row[k] = ly->w[k] = (k % 5 == 0) ? 0.0f : (k % 2 ? 0.5f : -1.5f) * (float)k;
    xnca_float_apply_bwn(&m);
    double mean = 0;
    for (int k = 0; k < ly->n_in; k++) mean += fabs(row[k]);
    mean /= ly->n_in;
    for (int k = 0; k < ly->n_in; k++) {
        float want = row[k] >= 0.0f ? (float)mean : -(float)mean; /* sign(0) = +1 */
        assert_float_equal(ly->w[k], want, 1e-6);
    }
    /* float models are left alone */
    m.variant = XNCA_FLOAT;
    ly->w[0] = 0.25f;
    xnca_float_apply_bwn(&m);
    assert_float_equal(ly->w[0], 0.25f, 0.0);
    xnca_model_free(&m);
}

/* bwn with a row whose mean |w| underflows to 0 (one negative denormal among zeros): every weight
 * of the row becomes +0.0, never -0.0 (sign(0) = +1, and a zero scale has no sign). With -0.0 a
 * loaded model saved twice was not byte-identical: the first save wrote 00 00 00 80 for the
 * weight, the second (its transform saw -0.0 as >= 0) 00 00 00 00. */
static void test_bwn_no_negative_zero(void **s)
{
    (void)s;
    xnca_model m;
    make_model(&m, XNCA_BWN, 12, 8, 0, 0);
    xnca_layer *ly = &m.layer[0];
    const float tiny = -1.4e-45f; /* the smallest denormal: 1.4e-45 / n_in rounds to 0 */
    for (int k = 0; k < ly->n_in; k++) ly->w[k] = 0.0f;
    ly->w[3] = tiny;
    assert_true(tiny < 0.0f && (float)(-(double)tiny / ly->n_in) == 0.0f);

    /* the loader's transform (xnca_format.c): load, save, load, save */
    uint8_t *f1 = NULL, *f2 = NULL, *f3 = NULL;
    char err[200];
    size_t n1 = xnca_model_serialize(&m, &f1);
    assert_true(n1 > 0);
    xnca_model m1, m2;
    assert_int_equal(xnca_model_load_mem(f1, n1, &m1, err, sizeof(err)), 0);
    for (int k = 0; k < m1.layer[0].n_in; k++) {
        assert_true(m1.layer[0].w[k] == 0.0f);
        assert_false(signbit(m1.layer[0].w[k]));
    }
    size_t n2 = xnca_model_serialize(&m1, &f2);
    assert_int_equal(xnca_model_load_mem(f2, n2, &m2, err, sizeof(err)), 0);
    size_t n3 = xnca_model_serialize(&m2, &f3);
    assert_int_equal(n2, n3);
    assert_memory_equal(f2, f3, n2);

    /* the float engine's transform (xnca_float_apply_bwn) */
    xnca_float_apply_bwn(&m);
    for (int k = 0; k < ly->n_in; k++) {
        assert_true(ly->w[k] == 0.0f);
        assert_false(signbit(ly->w[k]));
    }
    free(f1);
    free(f2);
    free(f3);
    xnca_model_free(&m1);
    xnca_model_free(&m2);
    xnca_model_free(&m);
}

/* Dead cells and the input channel never change; nothing fires at fire_t 0. */
static void test_invariants(void **s)
{
    (void)s;
    xnca_model m;
    make_model(&m, XNCA_FLOAT, 20, 80, 1, 80);
    m.noise_sigma = 0.5f;
    const int W = 16, H = 16;
    uint8_t px[W * H];
    make_pixels(px, W, H, 99);
    xnca_grid g;
    assert_int_equal(xnca_grid_init(&m, &g, W, H, px), 0);
    xnca_step_opts so = {XNCA_ORDER_RASTER, 0};
    for (int t = 0; t < 5; t++) xnca_float_step(&m, &g, 1, 2, (uint32_t)t, &so);
    int alive = 0;
    for (int i = 0; i < W * H; i++) {
        assert_float_equal(g.fs[(size_t)i * 20], px[i] / 255.0f, 1e-7);
        assert_int_equal(g.alive[i], px[i] >= 26);
        alive += g.alive[i];
        if (!g.alive[i])
            for (int c = 1; c < 20; c++) assert_true(g.fs[(size_t)i * 20 + c] == 0.0f);
    }
    assert_true(alive > 0);
    float *before = malloc(sizeof(float) * W * H * 20);
    memcpy(before, g.fs, sizeof(float) * W * H * 20);
    m.fire_t = 0;
    xnca_float_step(&m, &g, 1, 2, 9, &so);
    assert_memory_equal(before, g.fs, sizeof(float) * W * H * 20);
    free(before);
    xnca_grid_free(&g);
    xnca_model_free(&m);
}

/* Spec 4.4: bounded, zero mean, unit variance; matches the literal formula. */
static void test_noise_distribution(void **s)
{
    (void)s;
    double sum = 0, sq = 0;
    const int N = 200000;
    for (int i = 0; i < N; i++) {
        float e = xnca_float_noise(5, (uint32_t)i / 400, (uint32_t)i % 7, i % 28, (i / 28) % 28, i % 19);
        assert_true(fabsf(e) <= 2.0f * 1.7320509f);
        sum += e;
        sq += (double)e * e;
        if (i % 997 == 0)
            assert_float_equal(e, spec_noise(5, (uint32_t)i / 400, (uint32_t)i % 7, i % 28, (i / 28) % 28, i % 19),
                               1e-6);
    }
    double mean = sum / N, var = sq / N - mean * mean;
    assert_true(fabs(mean) < 0.01);
    assert_true(fabs(var - 1.0) < 0.02);
}

/* ---------------------------------------------------------------- Distill import */

static void test_distill_import(void **s)
{
    (void)s;
    xnca_model m;
    char err[300];
    int rc = xnca_distill_import("models/third_party/distill/model.json", &m, err, sizeof(err));
    if (rc) fail_msg("import failed: %s", err);
    assert_int_equal(m.variant, XNCA_FLOAT);
    assert_int_equal(m.channels, 20);
    assert_int_equal(m.perception_width, 80);
    assert_int_equal(m.mlp_width, 80);
    assert_int_equal(m.hidden_layers, 1);
    assert_int_equal(m.fire_t, 128);
    assert_float_equal(m.noise_sigma, 0.02f, 0.0);
    assert_non_null(strstr(m.meta, "license=CC-BY-4.0"));
    assert_int_equal(xnca_model_params(&m), 22499);
    /* TF kernel k[ky][kx][c][o] -> w[o][(ky*3+kx)*C + c]; values decoded independently (numpy) */
    assert_float_equal(m.layer[0].w[0 * 180 + 0], -0.080709368f, 1e-9);
    assert_float_equal(m.layer[0].w[7 * 180 + (2 * 3 + 1) * 20 + 5], 0.000588355644f, 1e-12);
    assert_float_equal(m.layer[0].w[79 * 180 + (1 * 3 + 2) * 20 + 19], -0.0321281031f, 1e-9);
    assert_float_equal(m.layer[2].w[18 * 80 + 3], -0.00375796133f, 1e-11);
    assert_float_equal(m.layer[2].b[18], 0.0355474912f, 1e-9);
    xnca_model_free(&m);
}

static void expect_import_error(const char *json, const char *needle)
{
    xnca_model m;
    char err[300] = "";
    int rc = xnca_distill_import_mem(json, strlen(json), &m, err, sizeof(err));
    assert_int_equal(rc, -1);
    if (!strstr(err, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_distill_import_errors(void **s)
{
    (void)s;
    expect_import_error("", "unexpected end");
    expect_import_error("{\"format\": \"graph-model\", ", "");
    expect_import_error("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "deeper");
    expect_import_error("{\"format\": \"layers-model\"}", "graph-model");
    expect_import_error("{\"format\": \"graph-model\", \"modelTopology\": {}}", "node");
    expect_import_error("{\"format\": \"graph-model\", \"modelTopology\": {\"node\": []}}", "no node named");
    expect_import_error("{\"format\": \"graph-model\", \"modelTopology\": {\"node\": [{\"name\": "
                        "\"sequential/conv2d/Conv2D/ReadVariableOp/resource\", \"op\": \"Const\", \"attr\": "
                        "{\"value\": {\"tensor\": {\"dtype\": \"DT_FLOAT\", \"tensorShape\": {\"dim\": [{\"size\": "
                        "\"2\"}]}, \"tensorContent\": \"AACAPw==\"}}}}]}}",
                        "decodes to 4 bytes");
    expect_import_error("{\"a\": tru}", "unexpected character");
    expect_import_error("{\"a\": \"\\x\"}", "bad escape");
    assert_int_equal(xnca_distill_import("/nonexistent/model.json", &(xnca_model){0}, (char[200]){0}, 200), -1);
}

/* Truncating the real file anywhere must fail cleanly (never crash). */
static void test_distill_import_truncated(void **s)
{
    (void)s;
    FILE *f = fopen("models/third_party/distill/model.json", "rb");
    assert_non_null(f);
    char *buf = malloc(200000);
    size_t len = fread(buf, 1, 200000, f);
    fclose(f);
    for (size_t cut = 0; cut < len; cut += len / 37 + 1) {
        xnca_model m;
        char err[300];
        assert_int_equal(xnca_distill_import_mem(buf, cut, &m, err, sizeof(err)), -1);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_all_fire),
        cmocka_unit_test(test_float_fire_mask_and_noise),
        cmocka_unit_test(test_float_dense_path),
        cmocka_unit_test(test_float_other_shapes),
        cmocka_unit_test(test_bwn),
        cmocka_unit_test(test_ban),
        cmocka_unit_test(test_bwn_transform),
        cmocka_unit_test(test_bwn_no_negative_zero),
        cmocka_unit_test(test_invariants),
        cmocka_unit_test(test_noise_distribution),
        cmocka_unit_test(test_distill_import),
        cmocka_unit_test(test_distill_import_errors),
        cmocka_unit_test(test_distill_import_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
