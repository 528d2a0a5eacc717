/* xnca_train_bptt.c - one image's forward pass through the CA steps and its
 * backward pass (backpropagation through time), for every variant.
 *
 * Forward (EXACT mode) is the spec's arithmetic: the quant dot products are
 * integer-valued float32 SGEMMs, exact because every partial sum stays below
 * 2^24 (|y| < 2^17, spec 3.3); quantizers and residuals use the rounded records
 * in integer arithmetic. SURROGATE mode replaces each rounding by its
 * straight-through surrogate so that the backward pass is its exact gradient.
 * Only alive, firing cells are computed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "xnca_train_impl.h"

/* ---- randomness: spec 4.1 (inlined copy of xnca_hash; tests check they agree) ---- */
static inline uint32_t rotl32(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }

uint32_t train_hash(uint32_t seed, uint32_t image_index, uint32_t step, uint32_t x, uint32_t y, uint32_t lane)
{
    uint32_t a = seed ^ 0x61707865u;
    uint32_t b = image_index ^ 0x3320646eu;
    uint32_t c = (((step & 0xffffu) << 16) | (lane & 0xffffu)) ^ 0x79622d32u;
    uint32_t d = (((y & 0xffu) << 8) | (x & 0xffu)) ^ 0x6b206574u;
    for (int i = 0; i < 4; i++) {
        a += b; d ^= a; d = rotl32(d, 16);
        c += d; b ^= c; b = rotl32(b, 12);
        a += b; d ^= a; d = rotl32(d, 8);
        c += d; b ^= c; b = rotl32(b, 7);
    }
    return a ^ b ^ c ^ d;
}

/* floor(v / 2^s) for any sign. */
static inline int64_t floor_shift(int64_t v, int s)
{
    return v >= 0 ? (v >> s) : -((-v + (((int64_t)1 << s) - 1)) >> s);
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* ---- parameters -> forward arrays ---- */

static void prepare_quantizer(float c, float gamma, float beta, int mode, float *geff, float *beff,
                              xnca_qparam *rec)
{
    double g = (double)c * gamma;
    *rec = xnca_train_round_qparam(g, beta);
    if (mode == XNCA_TRAIN_EXACT) {
        *geff = (float)ldexp(rec->mul, -rec->shift);
        *beff = (float)ldexp(rec->add, -rec->shift);
    } else {
        *geff = (float)g;
        *beff = beta;
    }
}

/* Forward weights from shadow weights. quant: odd integer codes (EXACT) or the clipped
 * identity (SURROGATE); bwn: sign(w) * mean|w| per row (EXACT) or w (SURROGATE). */
void train_prepare(xnca_trainer *t, int mode)
{
    const int m = t->cfg.variant == XNCA_QUANT ? t->cfg.weight_bits : 1, levels = (1 << m) - 1;
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        for (int o = 0; o < L->n_out; o++) {
            const float *w = L->w + (size_t)o * L->n_in;
            float *wq = L->wq + (size_t)o * L->n_in;
            if (t->cfg.variant == XNCA_QUANT && t->cfg.ternary_weights && mode == XNCA_TRAIN_EXACT) {
                double s = 0; /* TWN threshold: 0.7 x the row's mean |w| (m = 1: v = w) */
                for (int n = 0; n < L->n_in; n++) s += fabsf(w[n]);
                const float delta = (float)(0.7 * s / L->n_in);
                for (int n = 0; n < L->n_in; n++) wq[n] = w[n] > delta ? 1.0f : (w[n] < -delta ? -1.0f : 0.0f);
                prepare_quantizer(L->c[o], L->gamma[o], L->beta[o], mode, &L->geff[o], &L->beff[o], &L->rec[o]);
            } else if (t->cfg.variant == XNCA_QUANT) {
                for (int n = 0; n < L->n_in; n++) {
                    float v = w[n] * levels;
                    if (mode == XNCA_TRAIN_EXACT) {
                        int u = (int)floorf((v + levels) * 0.5f + 0.5f);
                        u = u < 0 ? 0 : (u > levels ? levels : u);
                        wq[n] = (float)(2 * u - levels);
                    } else {
                        wq[n] = clampf(v, -(float)(1 << m), (float)(1 << m));
                    }
                }
                prepare_quantizer(L->c[o], L->gamma[o], L->beta[o], mode, &L->geff[o], &L->beff[o], &L->rec[o]);
            } else if (t->cfg.variant == XNCA_BWN && mode == XNCA_TRAIN_EXACT) {
                double s = 0;
                for (int n = 0; n < L->n_in; n++) s += fabsf(w[n]);
                float a = (float)(s / L->n_in);
                for (int n = 0; n < L->n_in; n++) wq[n] = w[n] >= 0 ? a : -a;
            } else {
                memcpy(wq, w, sizeof(float) * L->n_in);
            }
        }
    }
    if (t->cfg.variant == XNCA_QUANT)
        for (int c = 0; c < t->C; c++)
            prepare_quantizer(t->in_c[c], t->in_gamma[c], t->in_beta[c], mode, &t->in_geff[c], &t->in_beff[c],
                              &t->in_rec[c]);
    t->mode = mode;
}

/* ---- workspace ---- */

static int ws_reserve(train_ws *ws, const xnca_trainer *t, int cells, int steps)
{
    if (cells <= ws->cap_cells && steps <= ws->cap_steps) return 0;
    if (cells < ws->cap_cells) cells = ws->cap_cells;
    if (steps < ws->cap_steps) steps = ws->cap_steps;
    const int hw = t->W * t->H, C = t->C;
    free(ws->S); free(ws->nf); free(ws->cells); free(ws->noise); free(ws->dX); free(ws->dY);
    for (int l = 0; l < t->n_layers; l++) { free(ws->X[l]); free(ws->Y[l]); }
    ws->S = malloc(sizeof(float) * (size_t)(steps + 1) * hw * C);
    ws->nf = calloc((size_t)steps, sizeof(int));
    ws->cells = malloc(sizeof(int) * (size_t)steps * cells);
    ws->noise = malloc(sizeof(float) * (size_t)steps * cells * (C - 1));
    int maxw = 0;
    for (int l = 0; l < t->n_layers; l++) {
        ws->X[l] = malloc(sizeof(float) * (size_t)steps * cells * t->layer[l].n_in);
        ws->Y[l] = malloc(sizeof(float) * (size_t)steps * cells * t->layer[l].n_out);
        if (!ws->X[l] || !ws->Y[l]) return -1;
        if (t->layer[l].n_in > maxw) maxw = t->layer[l].n_in;
        if (t->layer[l].n_out > maxw) maxw = t->layer[l].n_out;
    }
    ws->max_width = maxw;
    ws->dX = malloc(sizeof(float) * (size_t)cells * maxw);
    ws->dY = malloc(sizeof(float) * (size_t)cells * maxw);
    ws->cap_cells = cells;
    ws->cap_steps = steps;
    return (ws->S && ws->nf && ws->cells && ws->noise && ws->dX && ws->dY) ? 0 : -1;
}

int train_ws_init(train_ws *ws, const xnca_trainer *t)
{
    memset(ws, 0, sizeof(*ws));
    const int hw = t->W * t->H;
    ws->act = malloc(sizeof(float) * (size_t)(hw + 1) * t->C);
    ws->dact = malloc(sizeof(float) * (size_t)(hw + 1) * t->C);
    ws->G = malloc(sizeof(float) * (size_t)hw * t->C);
    ws->alive = malloc((size_t)hw);
    if (!ws->act || !ws->dact || !ws->G || !ws->alive) return -1;
    return ws_reserve(ws, t, 64, t->cfg.steps > 0 ? t->cfg.steps : 1);
}

void train_ws_free(train_ws *ws)
{
    free(ws->S); free(ws->nf); free(ws->cells); free(ws->noise); free(ws->dX); free(ws->dY);
    for (int l = 0; l < XNCA_MAX_LAYERS; l++) { free(ws->X[l]); free(ws->Y[l]); }
    free(ws->act); free(ws->dact); free(ws->G); free(ws->alive);
    memset(ws, 0, sizeof(*ws));
}

float train_input_value(const xnca_trainer *t, uint8_t p)
{
    if (t->cfg.variant != XNCA_QUANT) return p / 255.0f;
    if (p < XNCA_ALIVE_PIXEL) return 0;
    int b = t->cfg.input_bits;
    int g = (p * ((1 << b) - 1) + 127) / 255;
    return (float)(g < 1 ? 1 : g);
}

/* ---- activations of the state (perception inputs) ---- */

/* The ternary-activation diagnostic (cfg.ternary_acts, outside the spec): level q of 0..top
 * (top = 3) becomes -1 at the bottom level, +1 at the top one and 0 in between. Its STE slope
 * is a third of the odd codes' (the codes span 2 instead of 6 over the same four levels). */
static inline float ternary_code(int q, int top)
{
    return q == 0 ? -1.0f : (q == top ? 1.0f : 0.0f);
}

/* Activation of channel c at state value s, and (when d != NULL) its derivative
 * under the STE (0 where no gradient passes). */
static inline float state_act(const xnca_trainer *t, int mode, int c, float s, float *d, int *side)
{
    switch (t->cfg.variant) {
    case XNCA_QUANT: {
        const int k = t->cfg.act_bits, top = (1 << k) - 1;
        if (mode == XNCA_TRAIN_EXACT) {
            const xnca_qparam *r = &t->in_rec[c];
            int64_t z = floor_shift((int64_t)(int32_t)s * r->mul + r->add, r->shift);
            if (d) *d = (t->cfg.ternary_acts ? 2.0f / 3 : 2.0f) * t->in_geff[c];
            if (side) *side = z < 0 ? -1 : (z > top ? 1 : 0);
            int q = z < 0 ? 0 : (z > top ? top : (int)z);
            return t->cfg.ternary_acts ? ternary_code(q, top) : (float)(2 * q - top);
        }
        float z = s * t->in_geff[c] + t->in_beff[c];
        if (d) *d = 2 * t->in_geff[c];
        if (side) *side = z < 0 ? -1 : (z > (float)(top + 1) ? 1 : 0);
        return 2 * clampf(z, 0, (float)(top + 1)) - (float)(top + 1);
    }
    case XNCA_BAN:
        if (side) *side = 0;
        if (mode == XNCA_TRAIN_EXACT) {
            if (d) *d = fabsf(s) <= 1 ? 1 : 0;
            return s > 0 ? 1.0f : -1.0f;
        }
        if (d) *d = fabsf(s) <= 1 ? 1 : 0;
        return clampf(s, -1, 1);
    default:
        if (d) *d = 1;
        if (side) *side = 0;
        return s;
    }
}

float train_state_act(const xnca_trainer *t, int mode, int c, float s)
{
    return state_act(t, mode, c, s, NULL, NULL);
}

/* Hidden activation of layer l's output o from sum y; derivative in *d (may be NULL). */
static inline float hidden_act(const xnca_trainer *t, const train_layer *L, int mode, int o, float y, float *d,
                               int *side)
{
    switch (t->cfg.variant) {
    case XNCA_QUANT: {
        const int top = (1 << t->cfg.act_bits) - 1;
        if (mode == XNCA_TRAIN_EXACT) {
            const xnca_qparam *r = &L->rec[o];
            int64_t z = floor_shift((int64_t)(int32_t)y * r->mul + r->add, r->shift);
            if (d) *d = (t->cfg.ternary_acts ? 2.0f / 3 : 2.0f) * L->geff[o];
            if (side) *side = z < 0 ? -1 : (z > top ? 1 : 0);
            int q = z < 0 ? 0 : (z > top ? top : (int)z);
            return t->cfg.ternary_acts ? ternary_code(q, top) : (float)(2 * q - top);
        }
        float z = y * L->geff[o] + L->beff[o];
        if (d) *d = 2 * L->geff[o];
        if (side) *side = z < 0 ? -1 : (z > (float)(top + 1) ? 1 : 0);
        return 2 * clampf(z, 0, (float)(top + 1)) - (float)(top + 1);
    }
    case XNCA_BAN: {
        float z = y + L->bias[o];
        float r = z > 0 ? z : 0;
        if (d) *d = (z > 0 && r <= 1) ? 1 : 0;
        if (side) *side = 0;
        if (mode == XNCA_TRAIN_EXACT) return r > 0 ? 1.0f : -1.0f;
        return clampf(r, -1, 1);
    }
    default: {
        float z = y + L->bias[o];
        if (d) *d = z > 0 ? 1 : 0;
        if (side) *side = 0;
        return z > 0 ? z : 0;
    }
    }
}

/* ---- one image ---- */

static void compute_acts(const xnca_trainer *t, int mode, const float *S, float *act)
{
    const int hw = t->W * t->H, C = t->C;
    for (int i = 0; i < hw; i++)
        for (int c = 0; c < C; c++) act[(size_t)i * C + c] = state_act(t, mode, c, S[(size_t)i * C + c], NULL, NULL);
    for (int c = 0; c < C; c++) act[(size_t)hw * C + c] = state_act(t, mode, c, 0, NULL, NULL);
}

static inline int neighbour(const xnca_trainer *t, int cell, int pos)
{
    int x = cell % t->W + pos % 3 - 1, y = cell / t->W + pos / 3 - 1;
    if (x < 0 || y < 0 || x >= t->W || y >= t->H) return t->W * t->H;
    return y * t->W + x;
}

static void noise_of_cell(const xnca_trainer *t, uint32_t seed, uint32_t ii, uint32_t step, int x, int y, float *n)
{
    const int nm = t->C - 1;
    if (t->cfg.variant == XNCA_QUANT) {
        uint32_t h = 0;
        for (int j = 0; j < nm; j++) {
            if (j % 4 == 0) h = t->noise_p ? train_hash(seed, ii, step, x, y, 1 + j / 4) : 0;
            int r = (h >> (8 * (j % 4))) & 0xff;
            n[j] = t->noise_p == 0 ? 0 : (r < t->noise_p ? -1.0f : (r >= 256 - t->noise_p ? 1.0f : 0.0f));
        }
        return;
    }
    for (int j = 0; j < nm; j++) {
        if (t->sigma == 0) { n[j] = 0; continue; }
        uint32_t h1 = train_hash(seed, ii, step, x, y, 64 + 2 * j);
        uint32_t h2 = train_hash(seed, ii, step, x, y, 65 + 2 * j);
        float u = ((h1 & 0xffff) + 0.5f) / 65536.0f + ((h1 >> 16) + 0.5f) / 65536.0f +
                  ((h2 & 0xffff) + 0.5f) / 65536.0f + ((h2 >> 16) + 0.5f) / 65536.0f;
        n[j] = t->sigma * ((u - 2.0f) * 1.7320508075688772f);
    }
}

/* Forward of step `step`: S (hw x C) -> Sn, caching the layer inputs and sums. */
static void forward_step(const xnca_trainer *t, train_ws *ws, int mode, uint32_t ii, int step, const float *S,
                         float *Sn)
{
    const int hw = t->W * t->H, C = t->C, nm = C - 1, cap = ws->cap_cells;
    const uint32_t seed = t->cfg.seed;
    memcpy(Sn, S, sizeof(float) * (size_t)hw * C);
    int *cells = ws->cells + (size_t)step * cap;
    int nf = 0;
    for (int i = 0; i < hw; i++) {
        if (!ws->alive[i]) continue;
        uint32_t h = train_hash(seed, ii, (uint32_t)step, i % t->W, i / t->W, 0);
        if ((int)(h & 0xff) < t->fire_t) cells[nf++] = i;
    }
    ws->nf[step] = nf;
    if (nf == 0) return;
    compute_acts(t, mode, S, ws->act);

    /* perception inputs, order n = pos * C + c */
    const int K0 = 9 * C;
    float *X0 = ws->X[0] + (size_t)step * cap * K0;
    for (int f = 0; f < nf; f++)
        for (int pos = 0; pos < 9; pos++)
            memcpy(X0 + (size_t)f * K0 + pos * C, ws->act + (size_t)neighbour(t, cells[f], pos) * C,
                   sizeof(float) * C);

    for (int l = 0; l < t->n_layers; l++) {
        const train_layer *L = &t->layer[l];
        float *X = ws->X[l] + (size_t)step * cap * L->n_in;
        float *Y = ws->Y[l] + (size_t)step * cap * L->n_out;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nf, L->n_out, L->n_in, 1.0f, X, L->n_in, L->wq,
                    L->n_in, 0.0f, Y, L->n_out);
        if (l + 1 < t->n_layers) {
            float *Xn = ws->X[l + 1] + (size_t)step * cap * t->layer[l + 1].n_in;
            for (int f = 0; f < nf; f++)
                for (int o = 0; o < L->n_out; o++)
                    Xn[(size_t)f * L->n_out + o] = hidden_act(t, L, mode, o, Y[(size_t)f * L->n_out + o], NULL, NULL);
        }
    }

    /* residual update */
    const train_layer *Lo = &t->layer[t->n_layers - 1];
    const float *Yo = ws->Y[t->n_layers - 1] + (size_t)step * cap * nm;
    float *noise = ws->noise + (size_t)step * cap * nm;
    const int sb = t->cfg.variant == XNCA_QUANT ? t->cfg.state_bits : 8;
    const float lo = -(float)(1 << (sb - 1)), hi = (float)((1 << (sb - 1)) - 1);
    for (int f = 0; f < nf; f++) {
        int i = cells[f];
        float *n = noise + (size_t)f * nm;
        noise_of_cell(t, seed, ii, (uint32_t)step, i % t->W, i / t->W, n);
        for (int j = 0; j < nm; j++) {
            float y = Yo[(size_t)f * nm + j], s = S[(size_t)i * C + 1 + j], ns;
            if (t->cfg.variant == XNCA_QUANT) {
                if (mode == XNCA_TRAIN_EXACT) {
                    const xnca_qparam *r = &Lo->rec[j];
                    int64_t ds = floor_shift((int64_t)(int32_t)y * r->mul + r->add, r->shift);
                    int64_t v = (int64_t)s + ds + (int64_t)n[j];
                    ns = (float)(v < lo ? lo : (v > hi ? hi : v));
                } else {
                    ns = clampf(s + y * Lo->geff[j] + Lo->beff[j] + n[j], lo, hi);
                }
            } else {
                ns = s + (y + Lo->bias[j]) + n[j];
            }
            Sn[(size_t)i * C + 1 + j] = ns;
        }
    }
}

/* Does the straight-through estimator pass gradient g at a clamp? side: -1 below the
 * range, 0 inside, +1 above. Clipped STE (spec 11): inside only. Recovering STE
 * (cfg.ste_recover): also where gradient descent moves the value back into the range,
 * so a saturated state or activation is not stuck without gradient. */
static inline int ste_pass(const xnca_trainer *t, int side, float g)
{
    if (side == 0) return 1;
    if (!t->cfg.ste_recover) return 0;
    return side > 0 ? g > 0 : g < 0;
}

/* Backward of step `step`: G holds dLoss/dS_{step+1} on entry, dLoss/dS_step on exit.
 * Parameter gradients are added to grad. */
static void backward_step(const xnca_trainer *t, train_ws *ws, int mode, int step, const float *S, float *G,
                          float *grad)
{
    const int hw = t->W * t->H, C = t->C, nm = C - 1, cap = ws->cap_cells;
    const int nf = ws->nf[step];
    if (nf == 0) return;
    const int *cells = ws->cells + (size_t)step * cap;
    const int quant = t->cfg.variant == XNCA_QUANT;
    const int sb = t->cfg.variant == XNCA_QUANT ? t->cfg.state_bits : 8;
    const float lo = -(float)(1 << (sb - 1)), hi = (float)((1 << (sb - 1)) - 1);

    /* residual: s' = sat(s + ds + n) */
    int lo_i = t->n_layers - 1;
    const train_layer *Lo = &t->layer[lo_i];
    const float *Yo = ws->Y[lo_i] + (size_t)step * cap * nm;
    const float *noise = ws->noise + (size_t)step * cap * nm;
    float *dY = ws->dY;
    for (int f = 0; f < nf; f++) {
        int i = cells[f];
        for (int j = 0; j < nm; j++) {
            float g = G[(size_t)i * C + 1 + j];
            float y = Yo[(size_t)f * nm + j];
            float s = S[(size_t)i * C + 1 + j];
            if (quant) {
                float pre;
                if (mode == XNCA_TRAIN_EXACT) {
                    const xnca_qparam *r = &Lo->rec[j];
                    pre = s + (float)floor_shift((int64_t)(int32_t)y * r->mul + r->add, r->shift) + noise[f * nm + j];
                } else {
                    pre = s + y * Lo->geff[j] + Lo->beff[j] + noise[(size_t)f * nm + j];
                }
                if (!ste_pass(t, pre < lo ? -1 : (pre > hi ? 1 : 0), g)) g = 0;
                G[(size_t)i * C + 1 + j] = g;
                dY[(size_t)f * nm + j] = g * Lo->geff[j];
                grad[Lo->gamma_off + j] += g * y * Lo->c[j];
                grad[Lo->beta_off + j] += g;
            } else {
                dY[(size_t)f * nm + j] = g;
                grad[Lo->bias_off + j] += g;
            }
        }
    }

    /* dense layers, output down to perception */
    for (int l = t->n_layers - 1; l >= 0; l--) {
        const train_layer *L = &t->layer[l];
        const float *X = ws->X[l] + (size_t)step * cap * L->n_in;
        /* dW += dY^T X */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->n_out, L->n_in, nf, 1.0f, dY, L->n_out, X, L->n_in,
                    1.0f, grad + L->w_off, L->n_in);
        /* dX = dY W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nf, L->n_in, L->n_out, 1.0f, dY, L->n_out, L->wq,
                    L->n_in, 0.0f, ws->dX, L->n_in);
        if (l == 0) break;
        /* through layer l-1's activation: dY_{l-1} */
        const train_layer *P = &t->layer[l - 1];
        const float *Yp = ws->Y[l - 1] + (size_t)step * cap * P->n_out;
        for (int f = 0; f < nf; f++)
            for (int o = 0; o < P->n_out; o++) {
                float d, y = Yp[(size_t)f * P->n_out + o], da = ws->dX[(size_t)f * P->n_out + o];
                int side;
                hidden_act(t, P, mode, o, y, &d, &side);
                int pass = ste_pass(t, side, da);
                float dz = pass ? da * d : 0; /* dLoss/dy */
                dY[(size_t)f * P->n_out + o] = dz;
                if (quant) {
                    /* d = 2 geff where passing; dLoss/dz_float = dLoss/da * 2 */
                    float dzq = pass ? da * 2 : 0;
                    grad[P->gamma_off + o] += dzq * y * P->c[o];
                    grad[P->beta_off + o] += dzq;
                } else {
                    grad[P->bias_off + o] += dz;
                }
            }
    }

    /* scatter perception-input gradients onto the activation grid */
    memset(ws->dact, 0, sizeof(float) * (size_t)(hw + 1) * C);
    const int K0 = 9 * C;
    for (int f = 0; f < nf; f++)
        for (int pos = 0; pos < 9; pos++) {
            float *da = ws->dact + (size_t)neighbour(t, cells[f], pos) * C;
            const float *dx = ws->dX + (size_t)f * K0 + pos * C;
            for (int c = 0; c < C; c++) da[c] += dx[c];
        }
    /* through the state activations (input quantizers) */
    for (int i = 0; i <= hw; i++) {
        const float *da = ws->dact + (size_t)i * C;
        for (int c = 0; c < C; c++) {
            if (da[c] == 0) continue;
            float s = i < hw ? S[(size_t)i * C + c] : 0, d;
            int side;
            state_act(t, mode, c, s, &d, &side);
            if (!ste_pass(t, side, da[c])) continue;
            if (quant) {
                float dzq = da[c] * 2;
                grad[t->in_gamma_off + c] += dzq * s * t->in_c[c];
                grad[t->in_beta_off + c] += dzq;
            }
            if (i < hw && c > 0 && ws->alive[i]) G[(size_t)i * C + c] += da[c] * d;
        }
    }
}

double train_image(const xnca_trainer *t, train_ws *ws, const uint8_t *pixels, int label, const float *S0,
                   uint32_t image_index, int steps, int mode, float *grad, float *state_out, int *correct,
                   int *alive_out)
{
    const int hw = t->W * t->H, C = t->C;
    int nalive = 0;
    for (int i = 0; i < hw; i++) nalive += ws->alive[i] = pixels[i] >= XNCA_ALIVE_PIXEL;
    if (ws_reserve(ws, t, nalive > 0 ? nalive : 1, steps > 0 ? steps : 1)) return NAN;
    float *S = ws->S;
    if (S0) {
        memcpy(S, S0, sizeof(float) * (size_t)hw * C);
    } else {
        memset(S, 0, sizeof(float) * (size_t)hw * C);
        for (int i = 0; i < hw; i++) S[(size_t)i * C] = train_input_value(t, pixels[i]);
    }
    for (int s = 0; s < steps; s++)
        forward_step(t, ws, mode, image_index, s, S + (size_t)s * hw * C, S + (size_t)(s + 1) * hw * C);

    /* loss on the class channels of alive cells, in float units */
    const float *SF = S + (size_t)steps * hw * C;
    const float unit = t->cfg.variant == XNCA_QUANT ? (float)t->T_lsb : 1.0f;
    double loss = 0;
    int ok = 0;
    if (grad) memset(ws->G, 0, sizeof(float) * (size_t)hw * C);
    for (int i = 0; i < hw; i++) {
        if (!ws->alive[i]) continue;
        const float *s = SF + (size_t)i * C + C - XNCA_CLASSES;
        int best = 0;
        for (int k = 0; k < XNCA_CLASSES; k++) {
            float x = s[k] / unit, tgt = k == label ? 1.0f : 0.0f;
            loss += 0.5 * (double)(tgt - x) * (tgt - x);
            if (grad) ws->G[(size_t)i * C + C - XNCA_CLASSES + k] = (x - tgt) / unit;
            if (s[k] > s[best]) best = k;
        }
        ok += best == label;
    }
    if (correct) *correct = ok;
    if (alive_out) *alive_out = nalive;
    if (state_out) memcpy(state_out, SF, sizeof(float) * (size_t)hw * C);
    if (grad)
        for (int s = steps - 1; s >= 0; s--) backward_step(t, ws, mode, s, S + (size_t)s * hw * C, ws->G, grad);
    return loss;
}
