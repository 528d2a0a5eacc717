/* xnca_float.c - the float engine (spec 8): float, bwn and ban variants.
 *
 * One step gathers the 3x3 perception vectors (9*C floats, order n = pos*C + c,
 * zero padding) of every alive firing cell into a matrix, pushes the matrix
 * through the layers with OpenBLAS SGEMM, adds the residual (plus the spec 4.4
 * noise) to the firing cells' mutable channels. Because every perception vector
 * is read from the old state before any cell is written, the update is
 * synchronous without a second state buffer.
 *
 * Images run in parallel on the caller's threads, so OpenBLAS itself is held to
 * one thread (set once, before the first SGEMM).
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_model.h"
#include "xnca_float.h"

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single_thread(void) { openblas_set_num_threads(1); }

void xnca_float_blas_init(void) { pthread_once(&blas_once, blas_single_thread); }

/* Spec 4.2: does cell (x, y) of image `image_index` fire at `step`? */
static int cell_fires(const xnca_model *m, uint32_t seed, uint32_t image_index, uint32_t step, int x, int y)
{
    if (m->fire_t >= 256) return 1;
    if (m->fire_t <= 0) return 0;
    return (int)(xnca_hash(seed, image_index, step, (uint32_t)x, (uint32_t)y, 0) & 0xffu) < m->fire_t;
}

/* Spec 4.4: unit-variance Irwin-Hall draw for mutable channel j. */
float xnca_float_noise(uint32_t seed, uint32_t image_index, uint32_t step, int x, int y, int j)
{
    uint32_t h1 = xnca_hash(seed, image_index, step, (uint32_t)x, (uint32_t)y, 64u + 2u * (uint32_t)j);
    uint32_t h2 = xnca_hash(seed, image_index, step, (uint32_t)x, (uint32_t)y, 65u + 2u * (uint32_t)j);
    uint32_t half[4] = {h1 & 0xffffu, h1 >> 16, h2 & 0xffffu, h2 >> 16};
    float sum = 0.0f;
    for (int r = 0; r < 4; r++) sum += ((float)half[r] + 0.5f) / 65536.0f;
    return (sum - 2.0f) * 1.7320508075688772f; /* sqrt(3) */
}

/* Copy the 3x3 neighbourhood of (x, y) into v[9*C], zero outside the grid. */
static void gather_perception(const xnca_grid *g, int x, int y, float *v)
{
    const int c = g->c;
    for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
            int pos = (dy + 1) * 3 + (dx + 1);
            int nx = x + dx, ny = y + dy;
            float *dst = v + (size_t)pos * c;
            if (nx < 0 || ny < 0 || nx >= g->w || ny >= g->h)
                memset(dst, 0, sizeof(float) * (size_t)c);
            else
                memcpy(dst, g->fs + ((size_t)ny * g->w + nx) * c, sizeof(float) * (size_t)c);
        }
    }
}

/* ban: every layer sees x > 0 ? +1 : -1 instead of x. */
static void binarize(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) v[i] = v[i] > 0.0f ? 1.0f : -1.0f;
}

/* out[rows][n_out] = in[rows][n_in] * W^T + b, then ReLU unless this is the output layer. */
static void dense_layer(const xnca_layer *L, const float *in, float *out, int rows, int relu)
{
    for (int r = 0; r < rows; r++) memcpy(out + (size_t)r * L->n_out, L->b, sizeof(float) * (size_t)L->n_out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, L->n_out, L->n_in, 1.0f, in, L->n_in, L->w,
                L->n_in, 1.0f, out, L->n_out);
    if (relu) {
        size_t n = (size_t)rows * L->n_out;
        for (size_t i = 0; i < n; i++)
            if (out[i] < 0.0f) out[i] = 0.0f;
    }
}

void xnca_float_step(const xnca_model *m, xnca_grid *g, uint32_t seed, uint32_t image_index, uint32_t step,
                     const xnca_step_opts *opts)
{
    xnca_float_blas_init();
    const int C = g->c, W = g->w, H = g->h, cells = W * H;
    const int dense = opts && opts->dense;
    const int ban = m->variant == XNCA_BAN;

    /* The cells to compute: alive and firing (or, on the dense path, all of them). */
    int *idx = malloc(sizeof(int) * (size_t)cells);
    unsigned char *apply = malloc((size_t)cells);
    if (!idx || !apply) abort();
    int rows = 0;
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            int i = y * W + x;
            apply[i] = g->alive[i] && cell_fires(m, seed, image_index, step, x, y);
            if (apply[i] || dense) idx[rows++] = i;
        }
    }
    if (rows == 0) {
        free(idx);
        free(apply);
        return;
    }

    /* Widest activation matrix any layer needs. */
    int widest = 9 * C;
    for (int l = 0; l < m->n_layers; l++)
        if (m->layer[l].n_out > widest) widest = m->layer[l].n_out;
    float *a = malloc(sizeof(float) * (size_t)rows * widest);
    float *b = malloc(sizeof(float) * (size_t)rows * widest);
    if (!a || !b) abort();

    for (int r = 0; r < rows; r++) gather_perception(g, idx[r] % W, idx[r] / W, a + (size_t)r * 9 * C);

    for (int l = 0; l < m->n_layers; l++) {
        const xnca_layer *L = &m->layer[l];
        if (ban) binarize(a, (size_t)rows * L->n_in);
        dense_layer(L, a, b, rows, l < m->n_layers - 1);
        float *t = a;
        a = b;
        b = t;
    }

    /* a[rows][C-1] holds ds; add it (and the noise) to the firing cells' mutable channels. */
    const float sigma = m->noise_sigma;
    for (int r = 0; r < rows; r++) {
        int i = idx[r];
        if (!apply[i]) continue;
        int x = i % W, y = i / W;
        float *s = g->fs + (size_t)i * C;
        const float *ds = a + (size_t)r * (C - 1);
        for (int j = 0; j < C - 1; j++) {
            float d = ds[j];
            if (sigma != 0.0f) d += sigma * xnca_float_noise(seed, image_index, step, x, y, j);
            s[j + 1] += d;
        }
    }
    free(a);
    free(b);
    free(idx);
    free(apply);
}

/* Spec 8: bwn replaces each weight row by sign(w) * mean(|w|) (sign(0) = +1); a mean that
 * underflows to 0 gives +0.0, never -0.0. */
void xnca_float_apply_bwn(xnca_model *m)
{
    if (m->variant != XNCA_BWN) return;
    for (int l = 0; l < m->n_layers; l++) {
        xnca_layer *L = &m->layer[l];
        for (int o = 0; o < L->n_out; o++) {
            float *row = L->w + (size_t)o * L->n_in;
            double mean = 0.0;
            for (int n = 0; n < L->n_in; n++) mean += fabs((double)row[n]);
            mean /= L->n_in > 0 ? L->n_in : 1;
            float a = (float)mean;
            for (int n = 0; n < L->n_in; n++) row[n] = row[n] >= 0.0f || a == 0.0f ? a : -a;
        }
    }
}
