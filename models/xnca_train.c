/* xnca_train.c - the trainer around the BPTT core: parameters and their
 * initialization, Distill's pool/mutation recipe, Adam with per-tensor gradient
 * normalization, threads, checkpoints and export.
 *
 * Every random choice is a spec 4.1 hash draw H(seed, ...), so a run is a pure
 * function of its configuration: the CA draws of batch slot b at iteration it
 * use image_index = it * batch + b and the iteration-local step; the trainer's
 * own draws (pool sampling, digits, initial weights) use lanes >= 0x8000, which
 * the CA never uses. Gradients are reduced in batch order, so results do not
 * depend on the number of threads.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "xnca_train_impl.h"

enum {
    LANE_POOL_PICK = 0x8000, /* batch sampling from the pool */
    LANE_DIGIT = 0x8001,     /* dataset images for fresh / mutated items */
    LANE_INIT = 0x8100,      /* + tensor index: initial weights */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void xnca_train_defaults(xnca_train_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->variant = XNCA_QUANT;
    cfg->weight_bits = 1;
    cfg->act_bits = 1;
    cfg->state_bits = 8;
    cfg->input_bits = 2;
    cfg->hidden_channels = 9;
    cfg->perception_width = 80;
    cfg->mlp_width = 80;
    cfg->hidden_layers = 1;
    cfg->iters = 100000;
    cfg->batch = 16;
    cfg->pool = 160;
    cfg->steps = 20;
    cfg->lr = 1e-3f;
    cfg->decay1 = 30000;
    cfg->decay2 = 70000;
    cfg->seed = 0;
    cfg->threads = 0;
    cfg->noise = -1; /* default per variant */
    cfg->fire_rate = 0.5f;
    cfg->weight_init = 0.05f;
    cfg->out_init = 0.05f;
    cfg->in_range = 2.0f;
    cfg->ste_recover = 1;
    cfg->data_init = 1;
    cfg->data = "mnist";
    cfg->checkpoint_every = 0;
    cfg->progress_every = 100;
}

xnca_qparam xnca_train_round_qparam(double g, double b)
{
    xnca_qparam r = {0, 0, 0};
    for (int s = 31; s >= 0; s--) {
        double mul = round(ldexp(g, s)), add = round(ldexp(b, s));
        if (mul >= -128 && mul <= 127 && fabs(add) < (double)(1 << 23)) {
            r.mul = (int8_t)mul;
            r.shift = (uint8_t)s;
            r.add = (int32_t)add;
            return r;
        }
    }
    /* |b| >= 2^23 or |g| > 127: saturate at shift 0 */
    double mul = round(g), add = round(b);
    r.mul = (int8_t)(mul > 127 ? 127 : (mul < -128 ? -128 : mul));
    r.add = (int32_t)(add > (1 << 23) - 1 ? (1 << 23) - 1 : (add < -((1 << 23) - 1) ? -((1 << 23) - 1) : add));
    return r;
}

/* Uniform in [-1, 1) from draw number `i` of tensor `tensor`. */
static float init_uniform(uint32_t seed, int tensor, uint32_t i)
{
    uint32_t h = train_hash(seed, 0xffffffffu, i >> 16, i & 0xff, (i >> 8) & 0xff, LANE_INIT + tensor);
    return (float)((h >> 8) * (2.0 / 16777216.0) - 1.0);
}

static int validate(const xnca_train_config *c, char *err, size_t errlen)
{
#define NEED(cond, ...) do { if (!(cond)) { set_err(err, errlen, __VA_ARGS__); return -1; } } while (0)
    NEED(c->variant >= XNCA_FLOAT && c->variant <= XNCA_QUANT, "unknown variant");
    NEED(c->hidden_channels >= 1 && c->hidden_channels <= 21, "--hidden-channels must be 1..21 (C = Hc + 11 <= 32)");
    NEED(c->perception_width >= 8 && c->perception_width <= 256, "--perception-width must be 8..256");
    NEED(c->hidden_layers >= 0 && c->hidden_layers <= 2, "--hidden-layers must be 0..2");
    NEED(c->hidden_layers == 0 || (c->mlp_width >= 8 && c->mlp_width <= 256), "--mlp-width must be 8..256");
    if (c->variant == XNCA_QUANT) {
        NEED(c->weight_bits >= 1 && c->weight_bits <= 8, "--weight-bits must be 1..8");
        NEED(c->act_bits >= 1 && c->act_bits <= 8, "--act-bits must be 1..8");
        NEED(c->state_bits >= 2 && c->state_bits <= 8, "--state-bits must be 2..8");
        NEED(c->input_bits >= 1 && c->input_bits <= 4, "--input-bits must be 1..4");
        NEED(c->noise < 0 || c->noise <= 127, "--noise for quant is noise_p, 0..127");
        NEED(!c->ternary_weights || c->weight_bits == 1, "--weight-codes ternary needs --weight-bits 1");
        NEED(!c->ternary_acts || c->act_bits == 2, "--act-codes ternary needs --act-bits 2");
        NEED(!(c->ternary_weights || c->ternary_acts) ||
                 (!c->out && c->checkpoint_every == 0 && c->export_every == 0),
             "ternary codes are a diagnostic outside the spec: the model cannot be exported "
             "or checkpointed (no -o, --checkpoint-every or --export-every)");
    } else {
        NEED(!c->ternary_weights && !c->ternary_acts, "ternary codes need --variant quant");
        NEED(c->noise < 0 || c->noise < 100, "--noise for float variants is sigma (e.g. 0.02)");
    }
    NEED(c->batch >= 1 && c->batch <= 4096, "--batch must be 1..4096");
    NEED(c->pool >= c->batch, "--pool must be >= --batch");
    NEED(c->steps >= 1 && c->steps <= 65535, "--steps must be 1..65535");
    NEED(c->iters >= 0, "--iters must be >= 0");
    NEED(c->lr > 0 && c->lr < 1, "--lr must be in (0, 1)");
    NEED(c->fire_rate >= 0 && c->fire_rate <= 1, "--fire-rate must be 0..1");
    NEED(c->threads >= 0 && c->threads <= 256, "--threads must be 0..256");
    if (c->variant == XNCA_QUANT) {
        /* the quant forward runs as float32 SGEMM, exact while |y| < 2^24 */
        int widest = 9 * (c->hidden_channels + 11);
        if (c->perception_width > widest) widest = c->perception_width;
        if (c->hidden_layers > 0 && c->mlp_width > widest) widest = c->mlp_width;
        double ymax = (double)widest * ((1 << c->weight_bits) - 1) * ((1 << c->act_bits) - 1);
        NEED(ymax < 16777216.0, "a layer with %d inputs at W%dA%d can sum to %.0f >= 2^24: too wide to train exactly",
             widest, c->weight_bits, c->act_bits, ymax);
    }
#undef NEED
    return 0;
}

/* ---- parameter layout ---- */

static void add_tensor(xnca_trainer *t, const char *name, size_t n, size_t *off)
{
    xnca_train_tensor *x = &t->tensors[t->n_tensors++];
    x->name = name;
    x->n = n;
    x->offset = *off;
    *off += n;
}

static const char *layer_name(int l, const char *what)
{
    static const char *names[4][4] = {
        {"w0", "gamma0", "beta0", "b0"}, {"w1", "gamma1", "beta1", "b1"},
        {"w2", "gamma2", "beta2", "b2"}, {"w3", "gamma3", "beta3", "b3"}};
    int i = what[0] == 'w' ? 0 : what[0] == 'g' ? 1 : what[1] == 'e' ? 2 : 3;
    return names[l][i];
}

static int layout(xnca_trainer *t)
{
    const xnca_train_config *c = &t->cfg;
    const int quant = c->variant == XNCA_QUANT;
    t->C = c->hidden_channels + 11;
    t->L = c->hidden_layers;
    t->n_layers = t->L + 2;
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        L->n_in = l == 0 ? 9 * t->C : (l == 1 ? c->perception_width : c->mlp_width);
        L->n_out = l == t->n_layers - 1 ? t->C - 1 : (l == 0 ? c->perception_width : c->mlp_width);
    }
    size_t off = 0;
    t->n_tensors = 0;
    if (quant) {
        t->in_gamma_off = off;
        add_tensor(t, "gamma_in", t->C, &off);
        t->in_beta_off = off;
        add_tensor(t, "beta_in", t->C, &off);
    }
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        L->w_off = off;
        t->weight_tensor[l] = t->n_tensors;
        add_tensor(t, layer_name(l, "w"), (size_t)L->n_in * L->n_out, &off);
        if (quant) {
            L->gamma_off = off;
            add_tensor(t, layer_name(l, "gamma"), L->n_out, &off);
            L->beta_off = off;
            add_tensor(t, layer_name(l, "beta"), L->n_out, &off);
        } else {
            L->bias_off = off;
            add_tensor(t, layer_name(l, "b"), L->n_out, &off);
        }
    }
    t->n_params = off;
    t->params = calloc(off, sizeof(float));
    t->adam_m = calloc(off, sizeof(float));
    t->adam_v = calloc(off, sizeof(float));
    t->grad = calloc(off, sizeof(float));
    size_t nfix = quant ? (size_t)t->C : 0;
    for (int l = 0; l < t->n_layers; l++) nfix += quant ? (size_t)t->layer[l].n_out : 0;
    t->n_fixed = nfix;
    t->fixed = calloc(nfix ? nfix : 1, sizeof(float));
    if (!t->params || !t->adam_m || !t->adam_v || !t->grad || !t->fixed) return -1;
    for (int i = 0; i < t->n_tensors; i++) t->tensors[i].p = t->params + t->tensors[i].offset;
    size_t fo = 0;
    if (quant) {
        t->in_gamma = t->params + t->in_gamma_off;
        t->in_beta = t->params + t->in_beta_off;
        t->in_c = t->fixed;
        fo = t->C;
    }
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        L->w = t->params + L->w_off;
        if (quant) {
            L->gamma = t->params + L->gamma_off;
            L->beta = t->params + L->beta_off;
            L->c = t->fixed + fo;
            fo += L->n_out;
            L->geff = calloc(L->n_out, sizeof(float));
            L->beff = calloc(L->n_out, sizeof(float));
            L->rec = calloc(L->n_out, sizeof(xnca_qparam));
            if (!L->geff || !L->beff || !L->rec) return -1;
        } else {
            L->bias = t->params + L->bias_off;
        }
        L->wq = calloc((size_t)L->n_in * L->n_out, sizeof(float));
        if (!L->wq) return -1;
    }
    return 0;
}

/* From-scratch initialization. quant: shadow weights uniform in +-weight_init (small:
 * codes start at +-1 and flip as soon as a gradient pushes them across 0); each
 * quantizer normalizes its sum by the sum's standard deviation under uniform inputs (c),
 * so gamma and beta start O(1): hidden quantizers map +-2 sigma onto the k-bit levels,
 * the residual starts at out_init float units per sigma rounded to nearest (Distill
 * zero-initializes its output layer); calibrate() then replaces the analytic sigma by
 * the measured one. Float variants: Glorot-uniform weights, zero biases, zero output
 * layer (as Distill). */
static void init_scratch(xnca_trainer *t)
{
    const xnca_train_config *c = &t->cfg;
    const int quant = c->variant == XNCA_QUANT;
    /* float variants carry 32 in the bit fields: use 1 so no shift overflows */
    const int m = quant ? c->weight_bits : 1, k = quant ? c->act_bits : 1, levels = (1 << m) - 1;
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        const int out_layer = l == t->n_layers - 1;
        const int tid = t->weight_tensor[l];
        float lim = quant ? c->weight_init : sqrtf(6.0f / (L->n_in + L->n_out));
        for (size_t i = 0; i < (size_t)L->n_in * L->n_out; i++)
            L->w[i] = (!quant && out_layer) ? 0.0f : lim * init_uniform(c->seed, tid, (uint32_t)i);
        if (!quant) continue;
        const double ea2 = ((double)(1 << (2 * k)) - 1) / 3.0; /* E[a^2], uniform levels */
        for (int o = 0; o < L->n_out; o++) {
            double sw2 = 0;
            for (int n = 0; n < L->n_in; n++) {
                float v = L->w[(size_t)o * L->n_in + n] * levels;
                int u = (int)floorf((v + levels) * 0.5f + 0.5f);
                u = u < 0 ? 0 : (u > levels ? levels : u);
                sw2 += (double)(2 * u - levels) * (2 * u - levels);
            }
            double sd = sqrt(sw2 * ea2);
            if (sd < 1) sd = 1;
            if (out_layer) {
                L->c[o] = (float)(t->T_lsb / sd);
                L->gamma[o] = c->out_init;
                L->beta[o] = 0.5f;
            } else {
                L->c[o] = (float)((1 << k) / (4 * sd));
                L->gamma[o] = 1.0f;
                L->beta[o] = (float)(1 << (k - 1));
            }
        }
    }
    if (!quant) return;
    /* input quantizers: channel 0 maps the input level g linearly onto the k-bit levels
     * (k = 1: alive -> +1); mutable channels map +-in_range float units onto the levels. */
    const int b = c->input_bits;
    t->in_c[0] = (float)((1 << k) - 1) / (float)((1 << b) - 1);
    t->in_gamma[0] = 1;
    t->in_beta[0] = k == 1 ? 1.0f - t->in_c[0] * 0.5f : 0.5f;
    for (int ch = 1; ch < t->C; ch++) {
        t->in_c[ch] = (float)(ldexp(1.0, k - 1) / (c->in_range * t->T_lsb));
        t->in_gamma[ch] = 1;
        t->in_beta[ch] = (float)(1 << (k - 1));
    }
}

/* Start from a model file: same variant and dimensions (any variant), or a float model
 * for bwn/ban. quant from quant (progressive quantization: the bit widths m and k may
 * differ, S and b may not): shadow weights w_f = w / (2^m_src - 1), so each code keeps its
 * relative size; every quantizer is rescaled so that its levels keep their positions:
 * with rw = (2^m - 1) / (2^m_src - 1) (weight scale) and ra = 2^k / 2^k_src (activation
 * scale), sums grow by rw * ra, hidden records take g / rw and b * ra, output records
 * g / (rw * ra) and b, input records g * ra and b * ra.
 * When m < m_src the odd m-bit codes cannot keep small weights small (m = 2: every code of
 * magnitude below 1/3 of the row's range becomes +-1/3, up to 5x its size; a W4A4 -> W2A4 start
 * measured loss 19,500 instead of ~60), so each row o is first scaled by s_o, the
 * row_code_scale() that minimizes the row's rounding error in source units, and its record
 * takes g / (rw * s_o) instead of g / rw (the sums grow by s_o too). */
static void set_quantizer(const xnca_qparam *r, double gscale, double bscale, float *c, float *gamma, float *beta)
{
    double g = ldexp(r->mul, -r->shift) * gscale;
    *c = (float)(g != 0 ? fabs(g) : ldexp(1, -r->shift) * gscale);
    *gamma = g > 0 ? 1.0f : (g < 0 ? -1.0f : 0.0f);
    *beta = (float)(ldexp(r->add, -r->shift) * bscale);
}

/* The scale s (1/8 .. 8 in steps of 2^(1/16); s = 1 wins ties) that minimizes
 * sum_n (w_n - Q_m(s w_n) / s)^2 over a row of shadow weights w (|w| <= 1), Q_m being the
 * forward pass's odd-code rounding (train_prepare). */
static double row_code_scale(const float *w, int n_in, int m)
{
    const int levels = (1 << m) - 1;
    double best_s = 1, best_e = -1;
    for (int i = 0; i <= 96; i++) {
        const int k = i % 2 ? (i + 1) / 2 : -(i / 2); /* 0, 1, -1, 2, -2, ..., 48, -48 */
        const double s = pow(2.0, k / 16.0);
        double e = 0;
        for (int n = 0; n < n_in; n++) {
            double v = s * w[n] * levels;
            int u = (int)floor((v + levels) * 0.5 + 0.5);
            u = u < 0 ? 0 : (u > levels ? levels : u);
            double d = w[n] - (double)(2 * u - levels) / (levels * s);
            e += d * d;
        }
        if (best_e < 0 || e < best_e) {
            best_e = e;
            best_s = s;
        }
    }
    return best_s;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* q-quantile of v[0..n) (sorts v). */
static float quantile(float *v, size_t n, double q)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof(float), cmp_float);
    size_t i = (size_t)(q * (double)(n - 1));
    return v[i];
}

/* Quantize a float model (fine-tuning a quant model from, e.g., Distill's weights).
 * Statistics come from running the float model with the engine on the first 16 training
 * digits for 40 steps: each state channel c gets a range [lo_c, hi_c] (0.5 % / 99.5 %
 * quantiles at alive cells; the input channel [0, 1]) that its k-bit levels cover, so an
 * activation a stands for x = mid_c + a hs_c (mid = (lo + hi) / 2, hs = (hi - lo) / 2^(k+1));
 * each hidden unit gets [0, H_o] (H_o: 99.5 % quantile of its ReLU output). A row's
 * weights absorb its inputs' scales hs, are normalized by their largest magnitude M_o and
 * rounded to m-bit codes; the record then maps the integer sum back: y_float ~
 * (M_o / (2^m - 1)) y + B_o with B_o = bias + sum_n w_n mid_n, and
 * z = y_float 2^k / H_o (hidden) or ds = T y_float (output, in state LSBs). */
static int quant_from_float(xnca_trainer *t, const xnca_model *fm, char *err, size_t errlen)
{
    const xnca_train_config *c = &t->cfg;
    const int C = t->C, hw = t->W * t->H, k = c->act_bits, levels = (1 << c->weight_bits) - 1;
    const int n_img = t->d->n < 16 ? t->d->n : 16, steps = 40, cap = 20000;
    const int maxw = 9 * 32 > 256 ? 9 * 32 : 256;
    float *chv = malloc(sizeof(float) * (size_t)C * cap);
    float *units[XNCA_MAX_LAYERS] = {0};
    size_t nch[32] = {0}, nu = 0;
    float *xin = malloc(sizeof(float) * maxw), *xout = malloc(sizeof(float) * maxw);
    for (int l = 0; l < t->n_layers - 1; l++) units[l] = malloc(sizeof(float) * (size_t)t->layer[l].n_out * cap);
    int fail = !chv || !xin || !xout;
    for (int l = 0; l < t->n_layers - 1; l++) fail |= !units[l];
    if (fail) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    uint32_t pick = 1;
    for (int i = 0; i < n_img; i++) {
        xnca_grid g;
        if (xnca_grid_init(fm, &g, t->W, t->H, t->d->images + (size_t)i * hw)) {
            set_err(err, errlen, "cannot run the float model");
            fail = 1;
            goto out;
        }
        for (int st = 0; st < steps; st++) {
            xnca_step(fm, &g, c->seed, (uint32_t)i, (uint32_t)st, NULL);
            for (int cell = 0; cell < hw; cell++) {
                if (!g.alive[cell]) continue;
                for (int ch = 1; ch < C; ch++)
                    if (nch[ch] < (size_t)cap) chv[(size_t)ch * cap + nch[ch]++] = g.fs[(size_t)cell * C + ch];
                /* every 7th alive cell: the float network's hidden activations */
                pick = pick * 1103515245u + 12345u;
                if ((pick >> 16) % 7 || nu >= (size_t)cap) continue;
                int x = cell % t->W, y = cell / t->W;
                for (int pos = 0; pos < 9; pos++) {
                    int nx = x + pos % 3 - 1, ny = y + pos / 3 - 1;
                    for (int ch = 0; ch < C; ch++)
                        xin[pos * C + ch] = (nx < 0 || ny < 0 || nx >= t->W || ny >= t->H)
                                                ? 0.0f : g.fs[((size_t)ny * t->W + nx) * C + ch];
                }
                for (int l = 0; l < t->n_layers - 1; l++) {
                    const xnca_layer *L = &fm->layer[l];
                    for (int o = 0; o < L->n_out; o++) {
                        double a = L->b[o];
                        for (int n = 0; n < L->n_in; n++) a += (double)L->w[(size_t)o * L->n_in + n] * xin[n];
                        xout[o] = a > 0 ? (float)a : 0.0f;
                        units[l][(size_t)o * cap + nu] = xout[o];
                    }
                    memcpy(xin, xout, sizeof(float) * L->n_out);
                }
                nu++;
            }
        }
        xnca_grid_free(&g);
    }
    /* input ranges: mid and half-step per state channel */
    float mid[32], hs[32];
    for (int ch = 0; ch < C; ch++) {
        float lo = 0, hi = 1;
        if (ch > 0) {
            lo = quantile(chv + (size_t)ch * cap, nch[ch], 0.005);
            hi = quantile(chv + (size_t)ch * cap, nch[ch], 0.995);
            if (hi - lo < 0.05f) { lo -= 0.025f; hi += 0.025f; }
        }
        mid[ch] = (lo + hi) / 2;
        hs[ch] = (float)((hi - lo) / ldexp(1.0, k + 1));
        const double unit = ch == 0 ? (double)((1 << c->input_bits) - 1) : (double)t->T_lsb;
        xnca_qparam r = xnca_train_round_qparam(ldexp(1.0, k) / (unit * (hi - lo)), -lo * ldexp(1.0, k) / (hi - lo));
        set_quantizer(&r, 1, 1, &t->in_c[ch], &t->in_gamma[ch], &t->in_beta[ch]);
    }
    /* layers */
    float *in_mid = malloc(sizeof(float) * maxw), *in_hs = malloc(sizeof(float) * maxw);
    float *absw = malloc(sizeof(float) * maxw);
    for (int n = 0; n < 9 * C; n++) { in_mid[n] = mid[n % C]; in_hs[n] = hs[n % C]; }
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        const xnca_layer *F = &fm->layer[l];
        const int out_layer = l == t->n_layers - 1;
        float *H = malloc(sizeof(float) * L->n_out);
        for (int o = 0; o < L->n_out; o++) {
            double M, B = F->b[o];
            for (int n = 0; n < L->n_in; n++) {
                absw[n] = fabsf(F->w[(size_t)o * L->n_in + n] * in_hs[n]);
                B += F->w[(size_t)o * L->n_in + n] * in_mid[n];
            }
            /* the row's scale: its largest |weight| (clipping the largest few at a quantile
             * was tried and converts worse: W4A4 at the 0.99 quantile 21 %, 0.9: 8 %) */
            M = quantile(absw, (size_t)L->n_in, 1.0);
            if (M == 0) M = 1;
            for (int n = 0; n < L->n_in; n++)
                L->w[(size_t)o * L->n_in + n] = (float)(F->w[(size_t)o * L->n_in + n] * in_hs[n] / M);
            double g, b;
            if (out_layer) {
                g = t->T_lsb * M / levels;
                b = t->T_lsb * B + 0.5;
            } else {
                H[o] = quantile(units[l] + (size_t)o * cap, nu, 0.995);
                if (H[o] < 1e-3f) H[o] = 1e-3f;
                g = M / levels * ldexp(1.0, k) / H[o];
                b = B * ldexp(1.0, k) / H[o];
            }
            xnca_qparam r = xnca_train_round_qparam(g, b);
            set_quantizer(&r, 1, 1, &L->c[o], &L->gamma[o], &L->beta[o]);
        }
        if (!out_layer)
            for (int o = 0; o < L->n_out; o++) {
                in_mid[o] = H[o] / 2;
                in_hs[o] = (float)(H[o] / ldexp(1.0, k + 1));
            }
        free(H);
    }
    free(in_mid);
    free(in_hs);
    free(absw);
out:
    free(chv);
    free(xin);
    free(xout);
    for (int l = 0; l < XNCA_MAX_LAYERS; l++) free(units[l]);
    return fail ? -1 : 0;
}

static int init_from_model(xnca_trainer *t, const char *path, char *err, size_t errlen)
{
    xnca_model m;
    memset(&m, 0, sizeof(m));
    if (xnca_model_load(path, &m, err, errlen)) return -1;
    const xnca_train_config *c = &t->cfg;
    /* keep the starting model's provenance: a derived model carries its source and license */
    const char *src = xnca_model_meta(&m, "source");
    int len = snprintf(t->init_meta, sizeof(t->init_meta), "init=%s\n", path);
    if (src && len < (int)sizeof(t->init_meta))
        len += snprintf(t->init_meta + len, sizeof(t->init_meta) - len, "init_source=%s\n", src);
    const char *lic = xnca_model_meta(&m, "license");
    if (lic && len < (int)sizeof(t->init_meta))
        snprintf(t->init_meta + len, sizeof(t->init_meta) - len, "license=%s\n", lic);
    int ok = m.channels == t->C && m.hidden_layers == c->hidden_layers && m.perception_width == c->perception_width &&
             (c->hidden_layers == 0 || m.mlp_width == c->mlp_width);
    int quant = c->variant == XNCA_QUANT;
    if (ok && quant && m.variant == XNCA_FLOAT) {
        int r = quant_from_float(t, &m, err, errlen);
        xnca_model_free(&m);
        return r;
    }
    if (!ok || (quant != (m.variant == XNCA_QUANT))) {
        set_err(err, errlen, "--init %s: dimensions or variant family differ from the training configuration", path);
        xnca_model_free(&m);
        return -1;
    }
    if (quant && (m.state_bits != c->state_bits || m.input_bits != c->input_bits)) {
        set_err(err, errlen, "--init %s: state or input bits differ from the training configuration", path);
        xnca_model_free(&m);
        return -1;
    }
    const int src_levels = quant ? (1 << m.weight_bits) - 1 : 1;
    const double rw = quant ? (double)((1 << c->weight_bits) - 1) / src_levels : 1;
    const double ra = quant ? ldexp(1.0, c->act_bits - m.act_bits) : 1;
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        const int out_layer = l == t->n_layers - 1;
        for (int o = 0; o < L->n_out; o++) {
            float *w = L->w + (size_t)o * L->n_in;
            for (int n = 0; n < L->n_in; n++)
                w[n] = quant ? (float)xnca_weight(&m, l, o, n) / src_levels : m.layer[l].w[(size_t)o * L->n_in + n];
            if (quant) {
                const double so = c->weight_bits < m.weight_bits ? row_code_scale(w, L->n_in, c->weight_bits) : 1;
                for (int n = 0; n < L->n_in; n++) w[n] = (float)(w[n] * so);
                if (out_layer)
                    set_quantizer(&m.layer[l].q[o], 1 / (rw * ra * so), 1, &L->c[o], &L->gamma[o], &L->beta[o]);
                else
                    set_quantizer(&m.layer[l].q[o], 1 / (rw * so), ra, &L->c[o], &L->gamma[o], &L->beta[o]);
            } else {
                L->bias[o] = m.layer[l].b[o];
            }
        }
    }
    if (quant)
        for (int ch = 0; ch < t->C; ch++)
            set_quantizer(&m.inq[ch], ra, ra, &t->in_c[ch], &t->in_gamma[ch], &t->in_beta[ch]);
    xnca_model_free(&m);
    return 0;
}

/* ---- pool ---- */

static uint32_t draw_digit(const xnca_trainer *t, long it, int slot)
{
    uint32_t n = t->cfg.train_n > 0 && t->cfg.train_n < t->d->n ? (uint32_t)t->cfg.train_n : (uint32_t)t->d->n;
    return train_hash(t->cfg.seed, (uint32_t)it, (uint32_t)(slot >> 16), slot & 0xff, (slot >> 8) & 0xff,
                      LANE_DIGIT) % n;
}

static void fresh_state(const xnca_trainer *t, int img, float *state)
{
    const int hw = t->W * t->H;
    const uint8_t *px = t->d->images + (size_t)img * hw;
    memset(state, 0, sizeof(float) * (size_t)hw * t->C);
    for (int i = 0; i < hw; i++) state[(size_t)i * t->C] = train_input_value(t, px[i]);
}

/* Spec 7 (Distill's mutation): new picture, state kept where alive in both. */
static void mutate_state(const xnca_trainer *t, int old_img, int new_img, float *state)
{
    const int hw = t->W * t->H;
    const uint8_t *po = t->d->images + (size_t)old_img * hw, *pn = t->d->images + (size_t)new_img * hw;
    for (int i = 0; i < hw; i++) {
        float *s = state + (size_t)i * t->C;
        s[0] = train_input_value(t, pn[i]);
        if (!(po[i] >= XNCA_ALIVE_PIXEL && pn[i] >= XNCA_ALIVE_PIXEL))
            for (int c = 1; c < t->C; c++) s[c] = 0;
    }
}

static int pool_alloc(xnca_trainer *t)
{
    const size_t cells = (size_t)t->W * t->H * t->C;
    t->pool = calloc((size_t)t->cfg.pool, sizeof(pool_entry));
    if (!t->pool) return -1;
    for (int p = 0; p < t->cfg.pool; p++)
        if (!(t->pool[p].state = malloc(sizeof(float) * cells))) return -1;
    return 0;
}

static void pool_init(xnca_trainer *t)
{
    /* slots 0x10000+ of iteration 0 are the initial pool's digits */
    for (int p = 0; p < t->cfg.pool; p++) {
        t->pool[p].img = (int)draw_digit(t, 0, 0x10000 + p);
        fresh_state(t, t->pool[p].img, t->pool[p].state);
    }
}

/* ---- threads ---- */

static void set_threads(xnca_trainer *t, int threads)
{
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > t->cfg.batch) threads = t->cfg.batch;
    for (int i = 0; i < t->n_ws; i++) train_ws_free(&t->ws[i]);
    free(t->ws);
    t->ws = calloc((size_t)threads, sizeof(train_ws));
    t->n_ws = threads;
    for (int i = 0; i < threads; i++) train_ws_init(&t->ws[i], t);
    t->threads = threads;
}

void xnca_trainer_set_threads(xnca_trainer *t, int threads) { set_threads(t, threads); }

/* ---- create / free ---- */

static xnca_trainer *trainer_new(const xnca_train_config *cfg, const xnca_dataset *d, char *err, size_t errlen)
{
    if (validate(cfg, err, errlen)) return NULL;
    if (!d || d->n < 1 || !d->images || !d->labels) {
        set_err(err, errlen, "training needs a labelled dataset");
        return NULL;
    }
    if (d->w < 8 || d->h < 8 || d->w > 64 || d->h > 64) {
        set_err(err, errlen, "dataset images are %dx%d, outside 8..64", d->w, d->h);
        return NULL;
    }
    openblas_set_num_threads(1);
    xnca_trainer *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->cfg = *cfg;
    snprintf(t->data_name, sizeof(t->data_name), "%s", cfg->data ? cfg->data : "mnist");
    t->cfg.data = t->data_name;
    snprintf(t->command, sizeof(t->command), "%s", cfg->command ? cfg->command : "");
    t->cfg.command = t->command;
    snprintf(t->out_path, sizeof(t->out_path), "%s", cfg->out ? cfg->out : "");
    t->cfg.out = cfg->out ? t->out_path : NULL;
    snprintf(t->ckpt_dir, sizeof(t->ckpt_dir), "%s", cfg->checkpoint_dir ? cfg->checkpoint_dir : "");
    t->cfg.checkpoint_dir = cfg->checkpoint_dir ? t->ckpt_dir : NULL;
    if (t->cfg.variant != XNCA_QUANT) {
        t->cfg.weight_bits = t->cfg.act_bits = 32;
        t->cfg.state_bits = 32;
        t->cfg.input_bits = 8;
    }
    if (t->cfg.noise < 0) t->cfg.noise = t->cfg.variant == XNCA_QUANT ? 13.0f : 0.02f;
    t->d = d;
    t->W = d->w;
    t->H = d->h;
    t->T_lsb = t->cfg.variant == XNCA_QUANT && t->cfg.state_bits > 4 ? 1 << (t->cfg.state_bits - 4) : 1;
    t->fire_t = (int)lroundf(t->cfg.fire_rate * 256.0f);
    t->noise_p = t->cfg.variant == XNCA_QUANT ? (int)lroundf(t->cfg.noise) : 0;
    t->sigma = t->cfg.variant == XNCA_QUANT ? 0.0f : t->cfg.noise;
    if (layout(t) || pool_alloc(t)) {
        set_err(err, errlen, "out of memory");
        xnca_trainer_free(t);
        return NULL;
    }
    t->img_grad = calloc((size_t)t->cfg.batch * t->n_params, sizeof(float));
    if (!t->img_grad) {
        set_err(err, errlen, "out of memory");
        xnca_trainer_free(t);
        return NULL;
    }
    set_threads(t, t->cfg.threads);
    return t;
}

/* Data-dependent initialization of the quant quantizers (like LSUV / batch-norm
 * statistics folded once): run the first pool digits through all steps, and set each
 * layer's normalizer from the measured mean and deviation of its sums, layer after layer,
 * so that hidden levels span +-2 sigma around the mean and the residual starts centred
 * at 0 with out_init float units per sigma. */
static void calibrate(xnca_trainer *t)
{
    const int k = t->cfg.act_bits, hw = t->W * t->H, n_img = t->cfg.pool < 8 ? t->cfg.pool : 8;
    train_ws *ws = &t->ws[0];
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        double *sum = calloc((size_t)L->n_out, sizeof(double)), *sq = calloc((size_t)L->n_out, sizeof(double));
        long cnt = 0;
        train_prepare(t, XNCA_TRAIN_EXACT);
        for (int i = 0; i < n_img; i++) {
            const pool_entry *e = &t->pool[i];
            train_image(t, ws, t->d->images + (size_t)e->img * hw, t->d->labels[e->img], NULL, 0xfffff000u + i,
                        t->cfg.steps, XNCA_TRAIN_EXACT, NULL, NULL, NULL, NULL);
            for (int st = 0; st < t->cfg.steps; st++) {
                const float *Y = ws->Y[l] + (size_t)st * ws->cap_cells * L->n_out;
                for (int f = 0; f < ws->nf[st]; f++)
                    for (int o = 0; o < L->n_out; o++) {
                        double y = Y[(size_t)f * L->n_out + o];
                        sum[o] += y;
                        sq[o] += y * y;
                    }
                cnt += ws->nf[st];
            }
        }
        const int out_layer = l == t->n_layers - 1;
        for (int o = 0; o < L->n_out && cnt > 1; o++) {
            double mu = sum[o] / cnt, var = sq[o] / cnt - mu * mu;
            if (var < 1) continue; /* constant sum: keep the analytic normalizer */
            double sd = sqrt(var);
            if (out_layer) {
                L->c[o] = (float)(t->T_lsb / sd);
                L->beta[o] = (float)(0.5 - mu * L->c[o] * L->gamma[o]);
            } else {
                L->c[o] = (float)((1 << k) / (4 * sd));
                L->gamma[o] = 1.0f;
                L->beta[o] = (float)((1 << (k - 1)) - mu * L->c[o]);
            }
        }
        free(sum);
        free(sq);
    }
}

xnca_trainer *xnca_trainer_create(const xnca_train_config *cfg, const xnca_dataset *d, const char *init, char *err,
                                  size_t errlen)
{
    xnca_trainer *t = trainer_new(cfg, d, err, errlen);
    if (!t) return NULL;
    init_scratch(t);
    if (init && init_from_model(t, init, err, errlen)) {
        xnca_trainer_free(t);
        return NULL;
    }
    pool_init(t);
    if (!init && t->cfg.variant == XNCA_QUANT && t->cfg.data_init) calibrate(t);
    train_prepare(t, XNCA_TRAIN_EXACT);
    return t;
}

void xnca_trainer_free(xnca_trainer *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_ws; i++) train_ws_free(&t->ws[i]);
    free(t->ws);
    for (int l = 0; l < XNCA_MAX_LAYERS; l++) {
        free(t->layer[l].wq);
        free(t->layer[l].geff);
        free(t->layer[l].beff);
        free(t->layer[l].rec);
    }
    if (t->pool)
        for (int p = 0; p < t->cfg.pool; p++) free(t->pool[p].state);
    free(t->pool);
    free(t->params); free(t->adam_m); free(t->adam_v); free(t->grad); free(t->fixed); free(t->img_grad);
    free(t);
}

long xnca_trainer_iteration(const xnca_trainer *t) { return t->iteration; }
const xnca_train_config *xnca_trainer_config(const xnca_trainer *t) { return &t->cfg; }
size_t xnca_trainer_param_count(const xnca_trainer *t) { return t->n_params; }

int xnca_trainer_tensors(xnca_trainer *t, const xnca_train_tensor **tensors)
{
    *tensors = t->tensors;
    return t->n_tensors;
}

/* ---- one iteration ---- */

typedef struct {
    xnca_trainer *t;
    int tid;
    int *slot_pool; /* pool index of batch slot b */
    double *loss;
    int *correct, *alive;
} iter_job;

static void *iter_worker(void *arg)
{
    iter_job *j = arg;
    xnca_trainer *t = j->t;
    const int hw = t->W * t->H;
    for (int b = j->tid; b < t->cfg.batch; b += t->threads) {
        pool_entry *e = &t->pool[j->slot_pool[b]];
        float *g = t->img_grad + (size_t)b * t->n_params;
        memset(g, 0, sizeof(float) * t->n_params);
        uint32_t ii = (uint32_t)(t->iteration * t->cfg.batch + b);
        j->loss[b] = train_image(t, &t->ws[j->tid], t->d->images + (size_t)e->img * hw, t->d->labels[e->img],
                                 e->state, ii, t->cfg.steps, XNCA_TRAIN_EXACT, g, e->state, &j->correct[b],
                                 &j->alive[b]);
    }
    return NULL;
}

static float current_lr(const xnca_trainer *t)
{
    float lr = t->cfg.lr;
    if (t->cfg.decay2 > 0 && t->iteration >= t->cfg.decay2) return lr * 0.01f;
    if (t->cfg.decay1 > 0 && t->iteration >= t->cfg.decay1) return lr * 0.1f;
    return lr;
}

/* STE for the weight code: dL/dw_f = dL/dw * (2^m - 1) where |v| <= 2^m (spec 11). */
static void weight_ste(xnca_trainer *t, float *grad)
{
    if (t->cfg.variant != XNCA_QUANT) return;
    const int m = t->cfg.weight_bits, levels = (1 << m) - 1;
    const float lim = (float)(1 << m);
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        float *g = grad + L->w_off;
        for (size_t i = 0; i < (size_t)L->n_in * L->n_out; i++)
            g[i] = fabsf(L->w[i] * levels) <= lim ? g[i] * levels : 0.0f;
    }
}

static void adam_step(xnca_trainer *t)
{
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
    t->adam_t++;
    const double lr_t = current_lr(t) * sqrt(1.0 - pow(b2, (double)t->adam_t)) / (1.0 - pow(b1, (double)t->adam_t));
    for (int k = 0; k < t->n_tensors; k++) {
        xnca_train_tensor *x = &t->tensors[k];
        float *g = t->grad + x->offset, *mm = t->adam_m + x->offset, *vv = t->adam_v + x->offset;
        double nrm = 0;
        for (size_t i = 0; i < x->n; i++) nrm += (double)g[i] * g[i];
        float scale = (float)(1.0 / (sqrt(nrm) + 1e-8));
        for (size_t i = 0; i < x->n; i++) {
            float gi = g[i] * scale;
            mm[i] = b1 * mm[i] + (1 - b1) * gi;
            vv[i] = b2 * vv[i] + (1 - b2) * gi * gi;
            x->p[i] -= (float)(lr_t * mm[i] / (sqrtf(vv[i]) + eps));
        }
    }
}

/* Keep quant shadow weights inside the estimator's range |v| <= 2^m (BinaryConnect's
 * clip): a weight pushed beyond it would get no gradient again and stay frozen. */
static void clip_weights(xnca_trainer *t)
{
    if (t->cfg.variant != XNCA_QUANT) return;
    const int m = t->cfg.weight_bits;
    const float lim = (float)(1 << m) / (float)((1 << m) - 1);
    for (int l = 0; l < t->n_layers; l++) {
        train_layer *L = &t->layer[l];
        for (size_t i = 0; i < (size_t)L->n_in * L->n_out; i++)
            L->w[i] = L->w[i] > lim ? lim : (L->w[i] < -lim ? -lim : L->w[i]);
    }
}

double xnca_trainer_iterate(xnca_trainer *t, double *acc)
{
    const int B = t->cfg.batch, P = t->cfg.pool;
    const long it = t->iteration;
    const int n_fresh = B / 4, n_mut = B / 4;
    train_prepare(t, XNCA_TRAIN_EXACT);

    /* sample B pool entries without replacement (partial Fisher-Yates) */
    int *perm = malloc(sizeof(int) * (size_t)P), *slot = malloc(sizeof(int) * (size_t)B);
    int *correct = calloc((size_t)B, sizeof(int)), *alive = calloc((size_t)B, sizeof(int));
    double *loss = calloc((size_t)B, sizeof(double));
    for (int p = 0; p < P; p++) perm[p] = p;
    for (int b = 0; b < B; b++) {
        uint32_t h = train_hash(t->cfg.seed, (uint32_t)it, 0, b & 0xff, (b >> 8) & 0xff, LANE_POOL_PICK);
        int j = b + (int)(h % (uint32_t)(P - b));
        int tmp = perm[b]; perm[b] = perm[j]; perm[j] = tmp;
        slot[b] = perm[b];
    }
    for (int b = 0; b < B; b++) {
        pool_entry *e = &t->pool[slot[b]];
        if (b < n_fresh) {
            e->img = (int)draw_digit(t, it, b);
            fresh_state(t, e->img, e->state);
        } else if (b >= B - n_mut) {
            int img = (int)draw_digit(t, it, b);
            mutate_state(t, e->img, img, e->state);
            e->img = img;
        }
    }

    iter_job jobs[256];
    pthread_t th[256];
    for (int k = 0; k < t->threads; k++) {
        jobs[k] = (iter_job){t, k, slot, loss, correct, alive};
        if (k > 0) pthread_create(&th[k], NULL, iter_worker, &jobs[k]);
    }
    iter_worker(&jobs[0]);
    for (int k = 1; k < t->threads; k++) pthread_join(th[k], NULL);

    /* reduce in batch order: identical for any thread count */
    double total = 0;
    long nc = 0, na = 0;
    memset(t->grad, 0, sizeof(float) * t->n_params);
    for (int b = 0; b < B; b++) {
        const float *g = t->img_grad + (size_t)b * t->n_params;
        for (size_t i = 0; i < t->n_params; i++) t->grad[i] += g[i];
        total += loss[b];
        nc += correct[b];
        na += alive[b];
    }
    for (size_t i = 0; i < t->n_params; i++) t->grad[i] /= (float)B;
    weight_ste(t, t->grad);
    adam_step(t);
    clip_weights(t);
    t->iteration++;
    if (acc) *acc = na ? 100.0 * nc / na : 0;
    free(perm); free(slot); free(correct); free(alive); free(loss);
    return total / B;
}

double xnca_trainer_image_loss(xnca_trainer *t, const uint8_t *pixels, int label, uint32_t image_index, int steps,
                               int mode, float *grad, float *state_out)
{
    train_prepare(t, mode);
    if (grad) memset(grad, 0, sizeof(float) * t->n_params);
    double loss = train_image(t, &t->ws[0], pixels, label, NULL, image_index, steps, mode, grad, state_out, NULL,
                              NULL);
    if (grad) weight_ste(t, grad);
    train_prepare(t, XNCA_TRAIN_EXACT);
    return loss;
}

/* ---- export ---- */

static char *metadata(const xnca_trainer *t)
{
    size_t n = strlen(t->command) + strlen(t->init_meta) + 512;
    char *s = malloc(n);
    if (!s) return NULL;
    /* one line per key: keep newlines out of the command */
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "%s", t->command);
    for (char *p = cmd; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    snprintf(s, n, "dataset=%s\ntrain_steps=%d\niterations=%ld\nseed=%u\nsource=xnca train\ncommand=%s\n%s",
             t->data_name, t->cfg.steps, t->iteration, t->cfg.seed, cmd, t->init_meta);
    return s;
}

int xnca_trainer_export(const xnca_trainer *tc, xnca_model *m, char *err, size_t errlen)
{
    xnca_trainer *t = (xnca_trainer *)tc; /* prepare() rewrites derived arrays only */
    if (t->cfg.ternary_weights || t->cfg.ternary_acts) {
        set_err(err, errlen, "ternary weight codes are outside the spec: the model cannot be exported");
        return -1;
    }
    train_prepare(t, XNCA_TRAIN_EXACT);
    const xnca_train_config *c = &t->cfg;
    memset(m, 0, sizeof(*m));
    m->variant = c->variant;
    m->grid_w = t->W;
    m->grid_h = t->H;
    m->channels = t->C;
    m->hidden_channels = t->C - 11;
    m->classes = XNCA_CLASSES;
    m->hidden_layers = t->L;
    m->perception_width = c->perception_width;
    m->mlp_width = t->L > 0 ? c->mlp_width : 0;
    m->weight_bits = c->weight_bits;
    m->act_bits = c->act_bits;
    m->state_bits = c->state_bits;
    m->input_bits = c->input_bits;
    m->fire_t = t->fire_t;
    m->noise_p = t->noise_p;
    m->noise_sigma = t->sigma;
    m->n_layers = t->n_layers;
    if (xnca_model_alloc(m, err, errlen)) return -1;
    const int quant = c->variant == XNCA_QUANT, mb = quant ? c->weight_bits : 1, levels = (1 << mb) - 1;
    if (quant)
        for (int ch = 0; ch < t->C; ch++) m->inq[ch] = t->in_rec[ch];
    for (int l = 0; l < t->n_layers; l++) {
        const train_layer *L = &t->layer[l];
        xnca_layer *ml = &m->layer[l];
        for (int o = 0; o < L->n_out; o++) {
            if (quant) {
                for (int n = 0; n < L->n_in; n++) {
                    int u = ((int)L->wq[(size_t)o * L->n_in + n] + levels) / 2;
                    for (int i = 0; i < mb; i++)
                        if ((u >> i) & 1)
                            ml->planes[(size_t)o * mb * ml->row_bytes + (size_t)i * ml->row_bytes + n / 8] |=
                                (uint8_t)(1u << (n % 8));
                }
                ml->q[o] = L->rec[o];
            } else {
                memcpy(ml->w + (size_t)o * L->n_in, L->w + (size_t)o * L->n_in, sizeof(float) * L->n_in);
                ml->b[o] = L->bias[o];
            }
        }
    }
    m->meta = metadata(t);
    return 0;
}

/* ---- checkpoints ---- */

#define CKPT_MAGIC "XNCATRN1"

typedef struct {
    FILE *f;
    int bad;
} io;

static void wr(io *o, const void *p, size_t n)
{
    if (!o->bad && n && fwrite(p, 1, n, o->f) != n) o->bad = 1;
}
static void rd(io *o, void *p, size_t n)
{
    if (!o->bad && n && fread(p, 1, n, o->f) != n) o->bad = 1;
}
static void wr_i64(io *o, int64_t v) { wr(o, &v, 8); }
static int64_t rd_i64(io *o)
{
    int64_t v = 0;
    rd(o, &v, 8);
    return v;
}
static void wr_f32(io *o, float v) { wr(o, &v, 4); }
static float rd_f32(io *o)
{
    float v = 0;
    rd(o, &v, 4);
    return v;
}

int xnca_trainer_save_checkpoint(const xnca_trainer *t, const char *path, char *err, size_t errlen)
{
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    io o = {fopen(tmp, "wb"), 0};
    if (!o.f) {
        set_err(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    const xnca_train_config *c = &t->cfg;
    wr(&o, CKPT_MAGIC, 8);
    int64_t ints[] = {c->variant, c->weight_bits, c->act_bits, c->state_bits, c->input_bits, c->hidden_channels,
                      c->perception_width, c->mlp_width, c->hidden_layers, c->batch, c->pool, c->steps,
                      c->decay1, c->decay2, c->seed, c->train_n, t->W, t->H, t->iteration, t->adam_t,
                      (int64_t)t->n_params, (int64_t)t->n_fixed, c->iters, c->ste_recover};
    wr_i64(&o, (int64_t)(sizeof(ints) / sizeof(ints[0])));
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) wr_i64(&o, ints[i]);
    wr_f32(&o, c->lr);
    wr_f32(&o, c->noise);
    wr_f32(&o, c->fire_rate);
    wr(&o, t->data_name, sizeof(t->data_name));
    wr(&o, t->params, sizeof(float) * t->n_params);
    wr(&o, t->adam_m, sizeof(float) * t->n_params);
    wr(&o, t->adam_v, sizeof(float) * t->n_params);
    wr(&o, t->fixed, sizeof(float) * t->n_fixed);
    const size_t cells = (size_t)t->W * t->H * t->C;
    int8_t *q = malloc(cells);
    for (int p = 0; p < c->pool; p++) {
        int32_t img = t->pool[p].img;
        wr(&o, &img, 4);
        if (c->variant == XNCA_QUANT) { /* integer states: int8 is exact (channel 0 <= 15) */
            for (size_t i = 0; i < cells; i++) q[i] = (int8_t)t->pool[p].state[i];
            wr(&o, q, cells);
        } else {
            wr(&o, t->pool[p].state, sizeof(float) * cells);
        }
    }
    free(q);
    wr(&o, CKPT_MAGIC, 8);
    if (fclose(o.f) || o.bad) {
        set_err(err, errlen, "%s: write failed", tmp);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path)) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

xnca_trainer *xnca_trainer_resume(const char *path, const xnca_train_config *ov, const xnca_dataset *d, char *err,
                                  size_t errlen)
{
    io o = {fopen(path, "rb"), 0};
    if (!o.f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char magic[8];
    rd(&o, magic, 8);
    int64_t nints = rd_i64(&o);
    if (o.bad || memcmp(magic, CKPT_MAGIC, 8) || (nints != 23 && nints != 24)) {
        set_err(err, errlen, "%s: not an xnca training checkpoint", path);
        fclose(o.f);
        return NULL;
    }
    int64_t v[24] = {0};
    for (int i = 0; i < nints; i++) v[i] = rd_i64(&o);
    xnca_train_config c;
    xnca_train_defaults(&c);
    c.variant = (xnca_variant)v[0];
    c.weight_bits = (int)v[1]; c.act_bits = (int)v[2]; c.state_bits = (int)v[3]; c.input_bits = (int)v[4];
    c.hidden_channels = (int)v[5]; c.perception_width = (int)v[6]; c.mlp_width = (int)v[7];
    c.hidden_layers = (int)v[8]; c.batch = (int)v[9]; c.pool = (int)v[10]; c.steps = (int)v[11];
    c.decay1 = v[12]; c.decay2 = v[13]; c.iters = v[22];
    c.ste_recover = (int)v[23]; /* version-23 checkpoints predate it: clipped STE */ c.seed = (uint32_t)v[14]; c.train_n = (int)v[15];
    c.lr = rd_f32(&o);
    c.noise = rd_f32(&o);
    c.fire_rate = rd_f32(&o);
    char data[16];
    rd(&o, data, sizeof(data));
    data[15] = 0;
    c.data = data;
    if (c.variant != XNCA_QUANT) { /* validate() checks quant widths only for quant */
        c.weight_bits = c.act_bits = 1;
        c.state_bits = 8;
        c.input_bits = 2;
    }
    if (ov) {
        if (ov->iters >= 0) c.iters = ov->iters;
        c.threads = ov->threads;
        c.out = ov->out;
        c.checkpoint_every = ov->checkpoint_every;
        c.checkpoint_dir = ov->checkpoint_dir;
        c.export_every = ov->export_every;
        c.progress_every = ov->progress_every;
        c.command = ov->command;
    }
    if (o.bad) {
        set_err(err, errlen, "%s: truncated checkpoint", path);
        fclose(o.f);
        return NULL;
    }
    if (d && (d->w != v[16] || d->h != v[17])) {
        set_err(err, errlen, "%s: checkpoint grid %dx%d differs from the dataset's", path, (int)v[16], (int)v[17]);
        fclose(o.f);
        return NULL;
    }
    xnca_trainer *t = trainer_new(&c, d, err, errlen);
    if (!t) {
        fclose(o.f);
        return NULL;
    }
    if ((int64_t)t->n_params != v[20] || (int64_t)t->n_fixed != v[21]) {
        set_err(err, errlen, "%s: parameter count mismatch", path);
        goto fail;
    }
    t->iteration = v[18];
    t->adam_t = v[19];
    rd(&o, t->params, sizeof(float) * t->n_params);
    rd(&o, t->adam_m, sizeof(float) * t->n_params);
    rd(&o, t->adam_v, sizeof(float) * t->n_params);
    rd(&o, t->fixed, sizeof(float) * t->n_fixed);
    const size_t cells = (size_t)t->W * t->H * t->C;
    int8_t *q = malloc(cells);
    for (int p = 0; p < c.pool && !o.bad; p++) {
        int32_t img = 0;
        rd(&o, &img, 4);
        if (img < 0 || img >= d->n) { o.bad = 1; break; }
        t->pool[p].img = img;
        if (c.variant == XNCA_QUANT) {
            rd(&o, q, cells);
            for (size_t i = 0; i < cells; i++) t->pool[p].state[i] = q[i];
        } else {
            rd(&o, t->pool[p].state, sizeof(float) * cells);
        }
    }
    free(q);
    rd(&o, magic, 8);
    if (o.bad || memcmp(magic, CKPT_MAGIC, 8)) {
        set_err(err, errlen, "%s: truncated or corrupt checkpoint", path);
        goto fail;
    }
    fclose(o.f);
    train_prepare(t, XNCA_TRAIN_EXACT);
    return t;
fail:
    fclose(o.f);
    xnca_trainer_free(t);
    return NULL;
}

/* ---- the loop ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int export_to(xnca_trainer *t, const char *path, char *err, size_t errlen)
{
    xnca_model m;
    if (xnca_trainer_export(t, &m, err, errlen)) return -1;
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int r = xnca_model_save(tmp, &m, err, errlen);
    xnca_model_free(&m);
    if (r == 0 && rename(tmp, path)) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        r = -1;
    }
    return r;
}

static int checkpoint(xnca_trainer *t, char *err, size_t errlen)
{
    const char *dir = t->cfg.checkpoint_dir && *t->cfg.checkpoint_dir ? t->cfg.checkpoint_dir : ".";
    mkdir(dir, 0755);
    char path[1100];
    snprintf(path, sizeof(path), "%s/latest.ckpt", dir);
    return xnca_trainer_save_checkpoint(t, path, err, errlen);
}

int xnca_trainer_run(xnca_trainer *t, char *err, size_t errlen)
{
    const xnca_train_config *c = &t->cfg;
    double t0 = now_s(), tl = t0, loss_sum = 0, acc_sum = 0;
    long it0 = t->iteration, nsum = 0, itl = t->iteration;
    while (t->iteration < c->iters) {
        double acc;
        double loss = xnca_trainer_iterate(t, &acc);
        if (!isfinite(loss)) {
            set_err(err, errlen, "loss is not finite at iteration %ld", t->iteration);
            return -1;
        }
        loss_sum += loss;
        acc_sum += acc;
        nsum++;
        const long it = t->iteration;
        if (c->progress_every > 0 && (it % c->progress_every == 0 || it == c->iters)) {
            double now = now_s();
            double ips = (it - itl) / (now - tl > 1e-9 ? now - tl : 1e-9);
            double eta = ips > 0 ? (c->iters - it) / ips : 0;
            fprintf(stderr, "iter %ld/%ld loss %.4f acc@%d %.1f%% lr %.0e %.3f it/s ETA %dh%02dm\n", it, c->iters,
                    loss_sum / nsum, c->steps, acc_sum / nsum, current_lr(t), ips, (int)(eta / 3600),
                    (int)(fmod(eta, 3600) / 60));
            tl = now;
            itl = it;
            loss_sum = acc_sum = 0;
            nsum = 0;
        }
        if (c->checkpoint_every > 0 && it % c->checkpoint_every == 0 && checkpoint(t, err, errlen)) return -1;
        if (c->out && c->export_every > 0 && it % c->export_every == 0 && export_to(t, c->out, err, errlen))
            return -1;
    }
    if (c->checkpoint_every > 0 && t->iteration > it0 && checkpoint(t, err, errlen)) return -1;
    if (c->out && export_to(t, c->out, err, errlen)) return -1;
    (void)t0;
    return 0;
}
