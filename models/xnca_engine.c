/* xnca_engine.c - the bit-exact reference engine for quant models (spec 3-7): grids, the
 * synchronous step, readout. Float variants are handed to xnca_float_step (xnca_float.c).
 *
 * How a step runs (spec 3.6):
 *  1. Snapshot: every cell's k activation bit-planes of its C channels (input quantizers,
 *     spec 3.2) are computed from the previous state into an activation map with a one-cell
 *     border. Dead cells and the border hold the padding word Q_c(0): a dead cell's state is
 *     exactly the padding cell's (g = 0, mutable channels 0), so only alive cells are computed.
 *     The padding words and the list of alive cells are kept in the workspace while the grid's
 *     alive mask (compared every step) and the plan stay the same, so a step's cost scales
 *     with the alive and firing cells rather than with the grid.
 *  2. The alive cells that fire (spec 4.2) are listed, in raster, reversed or shuffled order.
 *  3. For each listed cell the 9 C-bit perception vector of each plane is assembled from the
 *     map, the layers run as XNOR-popcount kernels (spec 3.3, xnca_cpu.c), and the residual,
 *     noise and saturation (spec 3.5) update the cell's state in place. Perception reads only
 *     the snapshot, so the map acts as the second state buffer of the double-buffered scheme:
 *     results cannot depend on the visiting order.
 *  The dense path (opts->dense) computes the residual of every cell of the grid first and
 *  then applies it only where the cell is alive and fires; it must give identical states.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_engine_impl.h"

/* ------------------------------------------------------------------------------------------
 * Quantizers and input levels
 * ---------------------------------------------------------------------------------------- */
int64_t xnca_residual(const xnca_qparam *q, int64_t y)
{
    return xnca_floor_shift(y * q->mul + q->add, q->shift);
}

int xnca_quantize(const xnca_qparam *q, int64_t y, int k)
{
    int64_t v = xnca_residual(q, y);
    int64_t top = (1 << k) - 1;
    return (int)(v < 0 ? 0 : v > top ? top : v);
}

int xnca_input_level(int p, int b)
{
    if (p < XNCA_ALIVE_PIXEL)
        return 0;
    int g = (p * ((1 << b) - 1) + 127) / 255;
    return g < 1 ? 1 : g;
}

/* ------------------------------------------------------------------------------------------
 * The compiled plan (see xnca_engine_impl.h for the layout)
 * ---------------------------------------------------------------------------------------- */
void xnca_plan_free(xnca_plan *p)
{
    for (int l = 0; l < XNCA_MAX_LAYERS; l++) {
        xnca_plan_layer *L = &p->layer[l];
        free(L->wt);
        free(L->mul);
        free(L->add);
        free(L->shift);
        free(L->thr);
        free(L->flip);
    }
    memset(p, 0, sizeof(*p));
}

static void *aligned_zalloc(size_t bytes)
{
    size_t rounded = (bytes + 63) / 64 * 64;
    void *ptr = aligned_alloc(64, rounded ? rounded : 64);
    if (ptr)
        memset(ptr, 0, rounded ? rounded : 64);
    return ptr;
}

static int64_t floor_div(int64_t a, int64_t b) /* b > 0 */
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t ceil_div(int64_t a, int64_t b) /* b > 0 */
{
    return -floor_div(-a, b);
}

/* k = 1: the quantizer bit as a threshold on acc = sum_i 2^i popcount(B_i ^ C_0), where
 * y = nk - 2 acc. The bit is floor_shift(y mul + add, shift) >= 1, i.e. y mul + add >= 2^shift:
 *   mul > 0: y >= theta = ceil((2^shift - add) / mul)   <=> acc <= floor((nk - theta) / 2)
 *   mul < 0: y <= phi = floor((add - 2^shift) / -mul)   <=> acc >= ceil((nk - phi) / 2),
 *            stored as NOT (acc <= ceil(...) - 1)
 *   mul = 0: the constant add >= 2^shift (threshold -1 never holds, flip holds the bit). */
static void threshold_of(const xnca_qparam *q, int64_t nk, int64_t *thr, int *flip)
{
    int64_t two_s = (int64_t)1 << q->shift;
    if (q->mul > 0) {
        *thr = floor_div(nk - ceil_div(two_s - q->add, q->mul), 2);
        *flip = 0;
    } else if (q->mul < 0) {
        *thr = ceil_div(nk - floor_div(q->add - two_s, -q->mul), 2) - 1;
        *flip = 1;
    } else {
        *thr = -1;
        *flip = q->add >= two_s;
    }
}

static int plan_layer_build(const xnca_model *m, int l, xnca_plan_layer *P)
{
    const xnca_layer *L = &m->layer[l];
    int mb = m->weight_bits, k = m->act_bits;
    P->n_in = L->n_in;
    P->n_out = L->n_out;
    P->m = mb;
    P->groups = (L->n_out + XNCA_LANES - 1) / XNCA_LANES;
    P->words = (L->n_in + 63) / 64;
    P->out_words = (L->n_out + 63) / 64;
    P->nk = (int64_t)L->n_in * ((1 << mb) - 1) * ((1 << k) - 1);
    size_t rows = (size_t)P->groups * XNCA_LANES;
    P->wt = aligned_zalloc(rows * mb * P->words * sizeof(uint64_t));
    P->mul = aligned_zalloc(rows * sizeof(int64_t));
    P->add = aligned_zalloc(rows * sizeof(int64_t));
    P->shift = aligned_zalloc(rows * sizeof(int64_t));
    P->thr = aligned_zalloc(rows * sizeof(int64_t));
    P->flip = aligned_zalloc((size_t)P->groups);
    if (!P->wt || !P->mul || !P->add || !P->shift || !P->thr || !P->flip)
        return -1;
    for (size_t o = 0; o < rows; o++)
        P->thr[o] = -1; /* padded rows: bit 0 */
    for (int o = 0; o < L->n_out; o++) {
        int g = o / XNCA_LANES, lane = o % XNCA_LANES;
        for (int i = 0; i < mb; i++) {
            const uint8_t *row = L->planes + ((size_t)o * mb + i) * L->row_bytes;
            uint64_t *dst = P->wt + ((size_t)(g * mb + i) * P->words) * XNCA_LANES + lane;
            for (int byte = 0; byte < L->row_bytes; byte++) {
                uint8_t v = row[byte];
                if (byte == L->row_bytes - 1 && L->n_in % 8) /* padding bits never count */
                    v &= (uint8_t)((1u << (L->n_in % 8)) - 1);
                dst[(byte / 8) * XNCA_LANES] |= (uint64_t)v << (8 * (byte % 8));
            }
        }
        P->mul[o] = L->q[o].mul;
        P->add[o] = L->q[o].add;
        P->shift[o] = L->q[o].shift;
        int flip;
        threshold_of(&L->q[o], P->nk, &P->thr[o], &flip);
        P->flip[g] |= (uint8_t)(flip << lane);
    }
    return 0;
}

/* k = 1: channel c's activation bit as a byte compare (s >= thr) XOR flip, read off the
 * lookup table (Q is monotone in s: non-decreasing for mul > 0, non-increasing for mul < 0).
 * The result is verified against the table for all 256 states; any mismatch turns the
 * compare path off (in_thr_ok = 0). */
static void input_threshold(xnca_plan *p, int c)
{
    const uint8_t *bit = p->inlut[c];
    int flip = bit[0] && !bit[255]; /* decreasing: bit = NOT (s >= first s whose bit is 0) */
    int want = flip ? 0 : 1, t = -128;
    if (bit[0] == bit[255]) { /* constant */
        flip = !bit[0];
        t = -128;
    } else {
        while (t < 127 && bit[t + 128] != want)
            t++;
    }
    p->in_thr8[c] = (int8_t)t;
    p->in_flip |= (uint32_t)flip << c;
    for (int s = -128; s < 128; s++)
        if (((s >= t) ^ flip) != (bit[s + 128] & 1))
            p->in_thr_ok = 0;
}

int xnca_plan_build(const xnca_model *m, xnca_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->n_layers = m->n_layers;
    p->k = m->act_bits;
    p->channels = m->channels;
    for (int l = 0; l < m->n_layers; l++) {
        if (plan_layer_build(m, l, &p->layer[l]) != 0) {
            xnca_plan_free(p);
            return -1;
        }
        if (p->layer[l].words > p->max_words)
            p->max_words = p->layer[l].words;
        if (p->layer[l].out_words > p->max_words)
            p->max_words = p->layer[l].out_words;
    }
    int k = m->act_bits;
    p->in_thr_ok = k == 1;
    for (int c = m->channels; c < 32; c++) /* unused channels: s = 0 >= 127 is false, no flip */
        p->in_thr8[c] = 127;
    for (int c = 0; c < m->channels; c++) {
        p->in_mul[c] = m->inq[c].mul;
        p->in_add[c] = m->inq[c].add;
        p->in_shift[c] = m->inq[c].shift;
        for (int s = -128; s < 128; s++)
            p->inlut[c][s + 128] = (uint8_t)xnca_quantize(&m->inq[c], s, k);
        int q0 = p->inlut[c][128];
        if (k == 1)
            input_threshold(p, c);
        for (int j = 0; j < k; j++)
            p->pad[j] |= (uint32_t)((q0 >> j) & 1) << c;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Workspaces: the compiled plan (rebuilt only when the model's parameters change) and the
 * per-step scratch buffers. One per thread.
 * ---------------------------------------------------------------------------------------- */
struct xnca_workspace {
    /* plan cache: valid while the model's dims and parameter bytes equal the copies below */
    int have_plan;
    xnca_plan plan;
    xnca_model key;   /* scalar fields of the model the plan was built from */
    uint8_t *key_blob; /* its inq, planes and q arrays, concatenated */
    size_t key_len;

    uint32_t *act_map; /* (h + 2) x (w + 2) cells x k planes */
    size_t act_cap;
    /* Grid cache, valid while the grid's dims and alive mask equal the copies below and the
     * plan is unchanged: the alive cells in raster order, and the activation map's dead cells
     * and border (the padding words), which then need no refill. The alive cells' words are
     * recomputed every step, so direct edits of the states between steps are always seen. */
    int map_valid, map_w, map_h, map_k;
    unsigned map_plan_gen, plan_gen; /* plan_gen: bumped at every plan rebuild */
    uint8_t *alive_copy;
    size_t alive_copy_cap;
    int n_alive;
    int *alive_idx;       /* index y * w + x */
    uint32_t *alive_xy;   /* y << 8 | x */
    size_t alive_idx_cap, alive_xy_cap;
    int *cells;        /* the firing alive cells of this step: index y * w + x */
    uint32_t *cell_xy; /* the same cells as y << 8 | x */
    size_t cells_cap, xy_cap;
    uint32_t *draws; /* hash results: fire draws of the alive cells, then the noise lanes */
    size_t draws_cap;
    int64_t *dense_ds; /* dense path: (w h) x 32 residuals */
    size_t dense_cap;
    uint64_t *act_a, *act_b; /* per-cell layer activations, k x max_words */
    uint64_t *batch_in;      /* XNCA_BATCH cells x k x max_words */
    uint64_t *batch_scratch; /* 2 x the same */
    int64_t ds[64];          /* output layer residuals (groups * 8 <= 32) */
};

xnca_workspace *xnca_workspace_new(void)
{
    return calloc(1, sizeof(xnca_workspace));
}

void xnca_workspace_free(xnca_workspace *ws)
{
    if (!ws)
        return;
    xnca_plan_free(&ws->plan);
    free(ws->key_blob);
    free(ws->act_map);
    free(ws->alive_copy);
    free(ws->alive_idx);
    free(ws->alive_xy);
    free(ws->cells);
    free(ws->cell_xy);
    free(ws->draws);
    free(ws->dense_ds);
    free(ws->act_a);
    free(ws->act_b);
    free(ws->batch_in);
    free(ws->batch_scratch);
    free(ws);
}

/* Visit the parameter arrays of a quant model: fn(ctx, ptr, bytes). */
static size_t param_arrays(const xnca_model *m, const void *ptrs[], size_t lens[])
{
    size_t n = 0;
    ptrs[n] = m->inq;
    lens[n++] = (size_t)m->channels * sizeof(xnca_qparam);
    for (int l = 0; l < m->n_layers; l++) {
        const xnca_layer *L = &m->layer[l];
        ptrs[n] = L->planes;
        lens[n++] = (size_t)L->n_out * m->weight_bits * L->row_bytes;
        ptrs[n] = L->q;
        lens[n++] = (size_t)L->n_out * sizeof(xnca_qparam);
    }
    return n;
}

static int same_scalars(const xnca_model *a, const xnca_model *b)
{
    return a->variant == b->variant && a->channels == b->channels && a->hidden_layers == b->hidden_layers &&
           a->perception_width == b->perception_width && a->mlp_width == b->mlp_width &&
           a->weight_bits == b->weight_bits && a->act_bits == b->act_bits && a->n_layers == b->n_layers;
}

static int plan_is_current(const xnca_workspace *ws, const xnca_model *m)
{
    if (!ws->have_plan || !same_scalars(&ws->key, m))
        return 0;
    const void *ptrs[2 * XNCA_MAX_LAYERS + 1];
    size_t lens[2 * XNCA_MAX_LAYERS + 1];
    size_t n = param_arrays(m, ptrs, lens), off = 0;
    for (size_t i = 0; i < n; i++) {
        if (off + lens[i] > ws->key_len || memcmp(ws->key_blob + off, ptrs[i], lens[i]) != 0)
            return 0;
        off += lens[i];
    }
    return off == ws->key_len;
}

static int plan_refresh(xnca_workspace *ws, const xnca_model *m)
{
    if (plan_is_current(ws, m))
        return 0;
    xnca_plan_free(&ws->plan);
    ws->have_plan = 0;
    ws->plan_gen++;
    if (xnca_plan_build(m, &ws->plan) != 0)
        return -1;
    const void *ptrs[2 * XNCA_MAX_LAYERS + 1];
    size_t lens[2 * XNCA_MAX_LAYERS + 1];
    size_t n = param_arrays(m, ptrs, lens), total = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i];
    uint8_t *blob = realloc(ws->key_blob, total);
    if (!blob)
        return -1;
    ws->key_blob = blob;
    ws->key_len = total;
    for (size_t i = 0, off = 0; i < n; off += lens[i], i++)
        memcpy(blob + off, ptrs[i], lens[i]);
    ws->key = *m;

    int k = m->act_bits;
    size_t act_words = (size_t)k * ws->plan.max_words;
    free(ws->act_a);
    free(ws->act_b);
    free(ws->batch_in);
    free(ws->batch_scratch);
    ws->act_a = aligned_zalloc(act_words * sizeof(uint64_t));
    ws->act_b = aligned_zalloc(act_words * sizeof(uint64_t));
    ws->batch_in = aligned_zalloc(XNCA_BATCH * act_words * sizeof(uint64_t));
    ws->batch_scratch = aligned_zalloc(2 * XNCA_BATCH * act_words * sizeof(uint64_t));
    if (!ws->act_a || !ws->act_b || !ws->batch_in || !ws->batch_scratch)
        return -1;
    ws->have_plan = 1;
    return 0;
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    void *nb = realloc(*buf, need * elem);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = need;
    return 0;
}

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
    xnca_workspace_free(p);
}

static void tls_init(void)
{
    pthread_key_create(&tls_key, tls_free);
}

/* The calling thread's workspace (used by xnca_step). */
static xnca_workspace *thread_workspace(void)
{
    pthread_once(&tls_once, tls_init);
    xnca_workspace *ws = pthread_getspecific(tls_key);
    if (!ws) {
        ws = xnca_workspace_new();
        if (!ws || pthread_setspecific(tls_key, ws) != 0) {
            fprintf(stderr, "xnca: out of memory for the engine workspace\n");
            abort();
        }
    }
    return ws;
}

/* ------------------------------------------------------------------------------------------
 * Grids (spec 1, 6, 7)
 * ---------------------------------------------------------------------------------------- */
static int is_float_model(const xnca_model *m)
{
    return m->variant != XNCA_QUANT;
}

/* Set the input channel and alive mask from pixels; mutable channels where the cell is dead
 * become 0 (spec 7). On a fresh grid (calloc'd) every mutable channel is already 0. */
static void load_pixels(const xnca_model *m, xnca_grid *g, const uint8_t *pixels, int fresh)
{
    int n = g->w * g->h, c = g->c;
    for (int i = 0; i < n; i++) {
        int p = pixels[i];
        int alive_new = p >= XNCA_ALIVE_PIXEL;
        int keep = alive_new && g->alive[i];
        g->pixels[i] = (uint8_t)p;
        g->alive[i] = (uint8_t)alive_new;
        if (g->qs) {
            int8_t *s = g->qs + (size_t)i * c;
            s[0] = (int8_t)(alive_new ? xnca_input_level(p, m->input_bits) : 0);
            if (!keep && !fresh)
                memset(s + 1, 0, (size_t)(c - 1));
        } else {
            float *s = g->fs + (size_t)i * c;
            s[0] = (float)p / 255.0f;
            if (!keep && !fresh)
                memset(s + 1, 0, sizeof(float) * (size_t)(c - 1));
        }
    }
}

int xnca_grid_init(const xnca_model *m, xnca_grid *g, int w, int h, const uint8_t *pixels)
{
    memset(g, 0, sizeof(*g));
    if (!m || !pixels || w < 8 || w > 64 || h < 8 || h > 64 || m->channels < 12 || m->channels > 32)
        return -1;
    size_t n = (size_t)w * h;
    g->w = w;
    g->h = h;
    g->c = m->channels;
    g->pixels = calloc(n, 1);
    g->alive = calloc(n, 1);
    if (is_float_model(m))
        g->fs = calloc(n * g->c, sizeof(float));
    else
        g->qs = calloc(n * g->c, 1);
    if (!g->pixels || !g->alive || (!g->fs && !g->qs)) {
        xnca_grid_free(g);
        return -1;
    }
    load_pixels(m, g, pixels, 1);
    return 0;
}

void xnca_grid_free(xnca_grid *g)
{
    if (!g)
        return;
    free(g->pixels);
    free(g->alive);
    free(g->qs);
    free(g->fs);
    memset(g, 0, sizeof(*g));
}

void xnca_grid_mutate(const xnca_model *m, xnca_grid *g, const uint8_t *new_pixels)
{
    load_pixels(m, g, new_pixels, 0);
}

/* ------------------------------------------------------------------------------------------
 * The quant step
 * ---------------------------------------------------------------------------------------- */
/* Step 1a: the grid cache (see struct xnca_workspace). Rebuilt, with the padding words of
 * the whole map, only when the grid's dims, its alive mask or the plan changed: in an
 * evaluation once per image and after a mutation. Returns -1 when out of memory. */
static int refresh_grid_cache(xnca_workspace *ws, const xnca_grid *g, int k)
{
    size_t n = (size_t)g->w * g->h;
    if (ws->map_valid && ws->map_w == g->w && ws->map_h == g->h && ws->map_k == k &&
        ws->map_plan_gen == ws->plan_gen && memcmp(ws->alive_copy, g->alive, n) == 0)
        return 0;
    ws->map_valid = 0;
    size_t map = (size_t)(g->w + 2) * (g->h + 2);
    if (grow((void **)&ws->act_map, &ws->act_cap, map * k, sizeof(uint32_t)) != 0 ||
        grow((void **)&ws->alive_copy, &ws->alive_copy_cap, n, 1) != 0 ||
        grow((void **)&ws->alive_idx, &ws->alive_idx_cap, n, sizeof(int)) != 0 ||
        grow((void **)&ws->alive_xy, &ws->alive_xy_cap, n, sizeof(uint32_t)) != 0)
        return -1;
    uint32_t *words = ws->act_map;
    for (size_t i = 0; i < map; i++)
        for (int j = 0; j < k; j++)
            words[i * k + j] = ws->plan.pad[j];
    int na = 0;
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++)
            if (g->alive[y * g->w + x]) {
                ws->alive_idx[na] = y * g->w + x;
                ws->alive_xy[na] = (uint32_t)(y << 8 | x); /* also lane 0: the fire draw */
                na++;
            }
    ws->n_alive = na;
    memcpy(ws->alive_copy, g->alive, n);
    ws->map_w = g->w;
    ws->map_h = g->h;
    ws->map_k = k;
    ws->map_plan_gen = ws->plan_gen;
    ws->map_valid = 1;
    return 0;
}

/* Step 1b: the activation map of the previous state. Dead cells and the border hold the
 * padding words (written by refresh_grid_cache); the alive cells' words are recomputed. */
static void build_act_map(xnca_workspace *ws, const xnca_kernels *K, const xnca_grid *g, int k)
{
    int W = g->w + 2, C = g->c;
    uint32_t *map = ws->act_map;
    for (int i = 0; i < ws->n_alive; i++) {
        uint32_t xy = ws->alive_xy[i];
        size_t at = ((size_t)((xy >> 8) + 1) * W + (xy & 0xff) + 1) * k;
        K->cell_words(&ws->plan, g->qs + (size_t)ws->alive_idx[i] * C, map + at);
    }
}

/* Step 3a: the k perception planes of cell (x, y) into a (k x layer-0 words).
 * The 9 C-bit words of plane j sit side by side (bit pos * C + c); a word that straddles a
 * 64-bit boundary spills into the next word (a spare word at the end keeps this branch-free).
 * With C a compile-time constant every index folds and v stays in registers. */
static inline __attribute__((always_inline)) void gather_body(const uint32_t *const row[3], int k, const int C,
                                                              const int w0, uint64_t *a)
{
    for (int j = 0; j < k; j++) {
        uint64_t v[6] = {0};
#pragma GCC unroll 9
        for (int pos = 0; pos < 9; pos++) {
            int off = pos * C;
            unsigned __int128 t = (unsigned __int128)row[pos / 3][(pos % 3) * k + j] << (off & 63);
            v[off >> 6] |= (uint64_t)t;
            v[(off >> 6) + 1] |= (uint64_t)(t >> 64);
        }
#pragma GCC unroll 6
        for (int t = 0; t < w0; t++)
            a[(size_t)j * w0 + t] = v[t];
    }
}

/* k = 1: the 9 C-bit words of one plane, neighbour pos at bit pos * C (C a compile-time
 * constant: every shift folds, no 128-bit arithmetic, no stores but the w0 results). */
static inline __attribute__((always_inline)) void gather_k1(const uint32_t *p, size_t W, const int C, const int w0,
                                                           uint64_t *a)
{
    uint64_t v[6] = {0};
#pragma GCC unroll 9
    for (int pos = 0; pos < 9; pos++) {
        int off = pos * C, sh = off & 63;
        uint64_t word = p[(size_t)(pos / 3) * W + pos % 3];
        v[off >> 6] |= word << sh;
        if (sh + C > 64)
            v[(off >> 6) + 1] |= word >> (64 - sh);
    }
#pragma GCC unroll 6
    for (int t = 0; t < w0; t++)
        a[t] = v[t];
}

static inline __attribute__((always_inline)) void gather_perception(const xnca_workspace *ws, const xnca_grid *g,
                                                                    int x, int y, uint64_t *a)
{
    const xnca_plan *P = &ws->plan;
    int k = P->k, C = g->c;
    size_t W = (size_t)g->w + 2;
    /* neighbour (x + dx, y + dy) sits at map cell (x + 1 + dx, y + 1 + dy) */
    const uint32_t *top = ws->act_map + ((size_t)y * W + x) * k;
    if (k == 1) {
        switch (C) { /* (9 C + 63) / 64 words */
        case 20: gather_k1(top, W, 20, 3, a); return; /* Distill's layout */
        case 16: gather_k1(top, W, 16, 3, a); return;
        case 24: gather_k1(top, W, 24, 4, a); return;
        case 32: gather_k1(top, W, 32, 5, a); return;
        }
    }
    const uint32_t *row[3];
    for (int r = 0; r < 3; r++)
        row[r] = top + (size_t)r * W * k;
    switch (C) {
    case 20: gather_body(row, k, 20, 3, a); break;
    case 16: gather_body(row, k, 16, 3, a); break;
    case 24: gather_body(row, k, 24, 4, a); break;
    case 32: gather_body(row, k, 32, 5, a); break;
    default: gather_body(row, k, C, P->layer[0].words, a); break;
    }
}

/* Step 3b: perception and hidden layers of one cell; returns the output layer's input planes. */
static const uint64_t *cell_hidden(xnca_workspace *ws, const xnca_kernels *K, const xnca_grid *g, int x, int y)
{
    const xnca_plan *P = &ws->plan;
    int k = P->k;
    uint64_t *a = ws->act_a, *b = ws->act_b;
    gather_perception(ws, g, x, y, a);
    for (int l = 0; l + 1 < P->n_layers; l++) {
        K->layer(&P->layer[l], a, k, b);
        uint64_t *t = a;
        a = b;
        b = t;
    }
    return a;
}

/* The dense path's residuals of one cell into ws->ds. */
static void cell_residuals(xnca_workspace *ws, const xnca_kernels *K, const xnca_grid *g, int x, int y)
{
    const uint64_t *a = cell_hidden(ws, K, g, x, y);
    K->residual(&ws->plan.layer[ws->plan.n_layers - 1], a, ws->plan.k, ws->ds);
}

/* Dense path, step 3b: residual, noise, saturation (spec 3.5, 4.3) drawn directly from the
 * hash (the sparse path uses the batched draws and the fused kernels instead). */
static void apply_update(const xnca_model *m, xnca_grid *g, const int64_t *ds, uint32_t seed, uint32_t image,
                         uint32_t step, int x, int y)
{
    int C = g->c;
    int8_t *s = g->qs + ((size_t)y * g->w + x) * C;
    int64_t lo = -(1 << (m->state_bits - 1)), hi = (1 << (m->state_bits - 1)) - 1;
    int np = m->noise_p;
    uint32_t h = 0;
    for (int j = 0; j < C - 1; j++) {
        int n = 0;
        if (np > 0) {
            if (j % 4 == 0)
                h = xnca_hash(seed, image, step, (uint32_t)x, (uint32_t)y, 1 + (uint32_t)(j / 4));
            int r = (h >> (8 * (j % 4))) & 0xff;
            n = r < np ? -1 : r >= 256 - np ? 1 : 0;
        }
        int64_t v = s[j + 1] + ds[j] + n;
        s[j + 1] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
    }
}

static void swap_cells(xnca_workspace *ws, int i, int j)
{
    int t = ws->cells[i];
    uint32_t u = ws->cell_xy[i];
    ws->cells[i] = ws->cells[j];
    ws->cell_xy[i] = ws->cell_xy[j];
    ws->cells[j] = t;
    ws->cell_xy[j] = u;
}

/* Step 2: the firing alive cells in the requested visiting order. Returns their count. */
static int list_firing(xnca_workspace *ws, const xnca_kernels *K, const xnca_model *m, const xnca_grid *g,
                       uint32_t seed, uint32_t image, uint32_t step, xnca_order order)
{
    int n = 0, n_alive = ws->n_alive;
    if (m->fire_t >= 256) {
        memcpy(ws->cells, ws->alive_idx, sizeof(int) * (size_t)n_alive);
        memcpy(ws->cell_xy, ws->alive_xy, sizeof(uint32_t) * (size_t)n_alive);
        n = n_alive;
    } else {
        K->hash_batch(seed, image, step, 0, ws->alive_xy, n_alive, ws->draws);
        for (int i = 0; i < n_alive; i++) { /* branch-free: the fire bit is a coin flip */
            ws->cells[n] = ws->alive_idx[i];
            ws->cell_xy[n] = ws->alive_xy[i];
            n += (int)(ws->draws[i] & 0xff) < m->fire_t;
        }
    }
    if (order == XNCA_ORDER_REVERSED) {
        for (int i = 0; i < n / 2; i++)
            swap_cells(ws, i, n - 1 - i);
    } else if (order == XNCA_ORDER_SHUFFLED) {
        /* Fisher-Yates driven by the hash on a lane no other draw uses */
        for (int i = n - 1; i > 0; i--) {
            uint32_t r = xnca_hash(seed, image, step, (uint32_t)i, (uint32_t)(i >> 8), 0xfffe);
            swap_cells(ws, i, (int)(r % (uint32_t)(i + 1)));
        }
    }
    return n;
}

#ifndef XNCA_HAVE_FLOAT_ENGINE
/* Weak fallback for builds without models/xnca_float.c (the float engine of another area).
 * It is compiled only when that file is absent, so a static archive never prefers it. */
__attribute__((weak)) void xnca_float_step(const xnca_model *m, xnca_grid *g, uint32_t seed, uint32_t image_index,
                                           uint32_t step, const xnca_step_opts *opts)
{
    fprintf(stderr, "xnca: float engine not built (models/xnca_float.c missing)\n");
    abort();
}
#endif

long xnca_step_ws(xnca_workspace *ws, const xnca_model *m, xnca_grid *g, uint32_t seed, uint32_t image_index,
                  uint32_t step, const xnca_step_opts *opts)
{
    static const xnca_step_opts defaults = {XNCA_ORDER_RASTER, 0};
    if (!opts)
        opts = &defaults;
    if (is_float_model(m)) {
        xnca_float_step(m, g, seed, image_index, step, opts);
        return -1;
    }
    if (!g->qs || g->c != m->channels) {
        fprintf(stderr, "xnca: grid was not built for this model (channels %d vs %d)\n", g->c, m->channels);
        abort();
    }
    int k = m->act_bits;
    size_t cells = (size_t)g->w * g->h;
    if (plan_refresh(ws, m) != 0 || refresh_grid_cache(ws, g, k) != 0 ||
        grow((void **)&ws->cells, &ws->cells_cap, cells, sizeof(int)) != 0 ||
        grow((void **)&ws->cell_xy, &ws->xy_cap, cells, sizeof(uint32_t)) != 0) {
        fprintf(stderr, "xnca: out of memory in the engine\n");
        abort();
    }
    int C = g->c, lanes = (C - 1 + 3) / 4; /* noise draws per cell (spec 4.3) */
    if (grow((void **)&ws->draws, &ws->draws_cap, cells * (lanes + 1), sizeof(uint32_t)) != 0) {
        fprintf(stderr, "xnca: out of memory in the engine\n");
        abort();
    }
    const xnca_kernels *K = xnca_kernels_active();
    build_act_map(ws, K, g, k);
    int n = list_firing(ws, K, m, g, seed, image_index, step, opts->order);
    if (!opts->dense) {
        const uint32_t *noise = NULL;
        if (m->noise_p > 0) { /* every firing cell's noise draws, lane-major: lane 1 + l at l * n */
            for (int l = 0; l < lanes; l++)
                K->hash_batch(seed, image_index, step, 1 + (uint32_t)l, ws->cell_xy, n, ws->draws + (size_t)l * n);
            noise = ws->draws;
        }
        const xnca_plan_layer *out = &ws->plan.layer[ws->plan.n_layers - 1];
        int lo = -(1 << (m->state_bits - 1)), hi = (1 << (m->state_bits - 1)) - 1;
        if (K->network) { /* batches of cells through the whole network */
            size_t stride = (size_t)k * ws->plan.max_words;
            for (int i = 0; i < n; i += XNCA_BATCH) {
                int nb = n - i < XNCA_BATCH ? n - i : XNCA_BATCH;
                int8_t *mut[XNCA_BATCH];
                const uint32_t *nz[XNCA_BATCH];
                for (int c = 0; c < nb; c++) {
                    int cell = ws->cells[i + c];
                    uint32_t xy = ws->cell_xy[i + c];
                    gather_perception(ws, g, (int)(xy & 0xff), (int)(xy >> 8), ws->batch_in + c * stride);
                    mut[c] = g->qs + (size_t)cell * C + 1;
                    nz[c] = noise ? noise + i + c : NULL;
                }
                K->network(&ws->plan, ws->batch_in, stride, nb, ws->batch_scratch, mut, nz, (size_t)n, m->noise_p,
                           lo, hi);
            }
            return n;
        }
        for (int i = 0; i < n; i++) {
            int x = ws->cells[i] % g->w, y = ws->cells[i] / g->w;
            const uint64_t *act = cell_hidden(ws, K, g, x, y);
            K->update(out, act, k, g->qs + (size_t)ws->cells[i] * C + 1, C - 1, noise ? noise + i : NULL, (size_t)n,
                      m->noise_p, lo, hi);
        }
        return n;
    }
    if (grow((void **)&ws->dense_ds, &ws->dense_cap, cells * (C - 1), sizeof(int64_t)) != 0) {
        fprintf(stderr, "xnca: out of memory in the engine\n");
        abort();
    }
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++) {
            cell_residuals(ws, K, g, x, y);
            memcpy(ws->dense_ds + ((size_t)y * g->w + x) * (C - 1), ws->ds, sizeof(int64_t) * (C - 1));
        }
    for (int i = 0; i < n; i++) {
        int x = ws->cells[i] % g->w, y = ws->cells[i] / g->w;
        apply_update(m, g, ws->dense_ds + (size_t)ws->cells[i] * (C - 1), seed, image_index, step, x, y);
    }
    return n;
}

void xnca_step(const xnca_model *m, xnca_grid *g, uint32_t seed, uint32_t image_index, uint32_t step,
               const xnca_step_opts *opts)
{
    if (is_float_model(m)) {
        xnca_float_step(m, g, seed, image_index, step, opts);
        return;
    }
    xnca_step_ws(thread_workspace(), m, g, seed, image_index, step, opts);
}

/* ------------------------------------------------------------------------------------------
 * Readout (spec 5)
 * ---------------------------------------------------------------------------------------- */
/* Argmax of a quant cell's 10 class channels, ties to the lowest class. */
static inline int class_of_quant(const int8_t *cls)
{
    int best = 0;
    for (int k = 1; k < XNCA_CLASSES; k++)
        if (cls[k] > cls[best])
            best = k;
    return best;
}

int xnca_cell_class(const xnca_model *m, const xnca_grid *g, int x, int y)
{
    int C = g->c, first = C - XNCA_CLASSES, best = 0;
    size_t base = ((size_t)y * g->w + x) * C + first;
    if (g->qs) {
        for (int k = 1; k < XNCA_CLASSES; k++)
            if (g->qs[base + k] > g->qs[base + best])
                best = k;
    } else {
        for (int k = 1; k < XNCA_CLASSES; k++)
            if (g->fs[base + k] > g->fs[base + best])
                best = k;
    }
    return best;
}

int xnca_votes(const xnca_model *m, const xnca_grid *g, int votes[XNCA_CLASSES], int *agree, int *alive)
{
    int n_alive = 0;
    for (int k = 0; k < XNCA_CLASSES; k++)
        votes[k] = 0;
    if (g->qs) {
        int n = g->w * g->h, C = g->c;
        const int8_t *cls = g->qs + (C - XNCA_CLASSES);
        for (int i = 0; i < n; i++)
            if (g->alive[i]) {
                votes[class_of_quant(cls + (size_t)i * C)]++;
                n_alive++;
            }
    } else {
        for (int y = 0; y < g->h; y++)
            for (int x = 0; x < g->w; x++)
                if (g->alive[y * g->w + x]) {
                    votes[xnca_cell_class(m, g, x, y)]++;
                    n_alive++;
                }
    }
    int pred = 0;
    for (int k = 1; k < XNCA_CLASSES; k++)
        if (votes[k] > votes[pred])
            pred = k;
    if (agree)
        *agree = n_alive > 0 && votes[pred] == n_alive;
    if (alive)
        *alive = n_alive;
    return pred;
}
