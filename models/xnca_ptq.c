/* xnca_ptq.c - post-training quantization of a float model into a quant model (see xnca_ptq.h).
 *
 * Representation. Every layer input n is an odd integer activation a_n (spec 3.2) standing for
 * the float value  x_n ~ mid_n + h_n * a_n  (an affine function of the level q = (a + K) / 2,
 * K = 2^k - 1). A float layer  y_o = b_o + sum_n W_on x_n  is therefore
 *
 *     y_o ~ B_o + sum_n V_on a_n,   V_on = W_on h_n,   B_o = b_o + sum_n W_on mid_n,
 *
 * and with V_on ~ alpha_o w_on (w odd, |w| <= 2^m - 1, one scale per row) the integer sum
 * y = sum_n w_on a_n of spec 3.3 gives  y_o ~ B_o + alpha_o y.  The next quantizer maps that to
 * a level (hidden: q = round(relu(y_o) / step_o), the clamp at 0 is the ReLU) or, for the output
 * layer, to a residual in state LSBs (ds = round(T y_o)); both are  floor(y * scale + offset),
 * one quantizer record each (xnca_ptq_fit_record).
 *
 * Input quantizers. The state is an integer u (LSB 1/T float units; channel 0: the input level g,
 * LSB 1/(2^b - 1)). Channel c's quantizer cuts u into levels  x = (q - z_c) d_c  (d_c state LSBs
 * per level, zero level z_c, so 0 - padding, dead cells, fresh state - is exact).
 *
 * Calibration. The float model runs calib_n training digits for calib_steps steps (its own fire
 * mask and noise); at sample steps every alive cell adds its 3x3 neighbourhood's state, rounded
 * and saturated as the quant state would hold it, to one histogram per channel, and a random
 * subset of cells (a reservoir) keeps its hidden ReLU outputs. Ranges are the clips with the
 * least squared quantization error over these samples (or the maxima), weights per row the same.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_ptq.h"
#include "xnca_err.h"

#define HIST_BINS 256        /* integer state values -128..127 (index v + 128) */
#define RESERVOIR_ROWS 32768 /* sampled cells whose hidden activations are kept */
#define CLIP_CANDIDATES 48   /* clip fractions tried by the MSE search */
#define ADD_LIMIT (1 << 23)

void xnca_ptq_defaults(xnca_ptq_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->state_bits = 8;
    o->input_bits = 2;
    o->noise_p = -1;
    o->fire_t = -1;
    o->weight_clip = XNCA_PTQ_CLIP_MSE;
    o->act_clip = XNCA_PTQ_CLIP_MSE;
    o->bias_correction = 1;
    o->calib_n = 100;
    o->calib_steps = 200;
}

/* State LSB is 1/T float units (spec 11). */
static int state_scale(int state_bits) { return state_bits > 4 ? 1 << (state_bits - 4) : 1; }

int xnca_ptq_noise_p(float sigma, int state_bits)
{
    double sd = (double)sigma * state_scale(state_bits); /* in LSBs */
    long p = lround(128.0 * sd * sd);                    /* var = 2 p / 256 */
    return p < 0 ? 0 : p > 127 ? 127 : (int)p;
}

static double round_away(double v) { return v < 0 ? -floor(-v + 0.5) : floor(v + 0.5); }

int xnca_ptq_fit_record(double scale, double offset, xnca_qparam *q)
{
    for (int shift = 31; shift >= 0; shift--) {
        double p2 = ldexp(1.0, shift);
        double mul = round_away(scale * p2), add = round_away(offset * p2);
        if (mul >= -128 && mul <= 127 && fabs(add) < ADD_LIMIT) {
            q->mul = (int8_t)mul;
            q->shift = (uint8_t)shift;
            q->add = (int32_t)add;
            return 0;
        }
    }
    return -1;
}

/* Record statistics for the report: was the scale's precision cut by the add limit? */
static void note_record(const xnca_qparam *q, double scale, xnca_ptq_report *rep)
{
    rep->records++;
    if (q->shift < 31 && fabs(round_away(scale * ldexp(1.0, q->shift + 1))) <= 127) rep->add_limited++;
    if (abs(q->mul) < 16) rep->weak_mul++;
}

/* ------------------------------------------------------------------------------------------
 * Calibration
 * ---------------------------------------------------------------------------------------- */
typedef struct {
    double hist[32][HIST_BINS]; /* per channel: counts of quant state values (index v + 128) */
    int hidden_units;           /* sum of the hidden layers' widths */
    float *rows;                /* RESERVOIR_ROWS x hidden_units ReLU outputs */
    long rows_seen, rows_kept;
    uint64_t rng;
} calib_stats;

static uint64_t next_random(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int xnca_ptq_sample_step(int t) { return t > 0 && (t <= 10 || t % 10 == 0); }

int xnca_ptq_calib_run(const xnca_model *m, const xnca_dataset *d, int n, int steps, uint32_t seed,
                       xnca_ptq_calib_visit visit, void *ctx)
{
    size_t px = (size_t)d->w * d->h;
    for (int i = 0; i < n; i++) {
        xnca_grid g;
        if (xnca_grid_init(m, &g, d->w, d->h, d->images + px * i) != 0) return -1;
        for (int t = 0; t <= steps; t++) {
            if (xnca_ptq_sample_step(t) || (t == steps && t > 0))
                for (int y = 0; y < g.h; y++)
                    for (int x = 0; x < g.w; x++)
                        if (g.alive[y * g.w + x]) visit(ctx, &g, x, y, i, t);
            if (t < steps) xnca_step(m, &g, seed, (uint32_t)i, (uint32_t)t, NULL);
        }
        xnca_grid_free(&g);
    }
    return 0;
}

/* The quant state value a float state would have: round(v T), saturated to S bits. */
static int quant_state_value(float v, int T, int S)
{
    double u = floor((double)v * T + 0.5);
    double lo = -(double)(1 << (S - 1)), hi = (double)(1 << (S - 1)) - 1;
    return (int)(u < lo ? lo : u > hi ? hi : u);
}

/* out[n_out] = W in + b (ReLU if relu) for one cell, in double. */
static void dense_cell(const xnca_layer *L, const float *in, float *out, int relu)
{
    for (int o = 0; o < L->n_out; o++) {
        const float *w = L->w + (size_t)o * L->n_in;
        double acc = L->b[o];
        for (int n = 0; n < L->n_in; n++) acc += (double)w[n] * in[n];
        out[o] = (float)(relu && acc < 0 ? 0 : acc);
    }
}

/* Add cell (x, y)'s neighbourhood to the histograms and maybe its hidden outputs to the reservoir. */
static void sample_cell(const xnca_model *fm, const xnca_ptq_opts *o, const xnca_grid *g, int x, int y, int keep,
                        calib_stats *cs, float *vin, float *va, float *vb)
{
    const int C = g->c, T = state_scale(o->state_bits);
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int nx = x + dx, ny = y + dy, pos = (dy + 1) * 3 + dx + 1;
            int inside = nx >= 0 && ny >= 0 && nx < g->w && ny < g->h;
            const float *s = inside ? g->fs + ((size_t)ny * g->w + nx) * C : NULL;
            int gl = inside ? xnca_input_level(g->pixels[ny * g->w + nx], o->input_bits) : 0;
            cs->hist[0][gl + 128] += 1;
            for (int c = 1; c < C; c++)
                cs->hist[c][(s ? quant_state_value(s[c], T, o->state_bits) : 0) + 128] += 1;
            float *dst = vin + (size_t)pos * C;
            if (s) memcpy(dst, s, sizeof(float) * (size_t)C);
            else memset(dst, 0, sizeof(float) * (size_t)C);
        }
    if (!keep || cs->hidden_units == 0) return;
    /* Reservoir sampling: every sampled cell has the same chance to end up among the rows. */
    long slot = cs->rows_seen++;
    if (slot >= RESERVOIR_ROWS) {
        slot = (long)(next_random(&cs->rng) % (uint64_t)cs->rows_seen);
        if (slot >= RESERVOIR_ROWS) return;
    } else {
        cs->rows_kept = slot + 1;
    }
    float *row = cs->rows + (size_t)slot * cs->hidden_units;
    const float *in = vin;
    for (int l = 0; l < fm->n_layers - 1; l++) {
        float *out = (l & 1) ? vb : va;
        dense_cell(&fm->layer[l], in, out, 1);
        memcpy(row, out, sizeof(float) * (size_t)fm->layer[l].n_out);
        row += fm->layer[l].n_out;
        in = out;
    }
}

/* One calibration run's context (calib_visit). */
typedef struct {
    const xnca_model *fm;
    const xnca_ptq_opts *o;
    calib_stats *cs;
    xnca_ptq_report *rep;
    uint32_t keep_t; /* cells whose hash is <= keep_t offer their hidden outputs to the reservoir */
    float *vin, *va, *vb;
} calib_ctx;

static void calib_visit(void *ctx, const xnca_grid *g, int x, int y, int i, int t)
{
    calib_ctx *c = ctx;
    uint32_t r = xnca_hash(c->o->seed, (uint32_t)i, (uint32_t)t, (uint32_t)x, (uint32_t)y, 0x8000u);
    sample_cell(c->fm, c->o, g, x, y, r <= c->keep_t, c->cs, c->vin, c->va, c->vb);
    c->rep->calib_samples++;
}

static int calibrate(const xnca_model *fm, const xnca_ptq_opts *o, calib_stats *cs, xnca_ptq_report *rep, char *err,
                     size_t errlen)
{
    const xnca_dataset *d = o->calib;
    if (d->w != fm->grid_w || d->h != fm->grid_h)
        return xnca_errf(err, errlen, "calibration images are %d x %d, the model's grid is %d x %d", d->w, d->h,
                    fm->grid_w, fm->grid_h);
    int widest = 9 * fm->channels;
    for (int l = 0; l < fm->n_layers; l++)
        if (fm->layer[l].n_out > widest) widest = fm->layer[l].n_out;
    float *vin = malloc(sizeof(float) * (size_t)widest * 3);
    if (!vin) return xnca_errf(err, errlen, "out of memory");
    /* Keep hidden outputs of about twice the reservoir's size worth of cells (the rest only
     * feed the cheap histograms). */
    int n_samples = 0;
    for (int t = 1; t <= o->calib_steps; t++) n_samples += xnca_ptq_sample_step(t);
    double expected = (double)o->calib_n * n_samples * 150.0;
    uint32_t keep_t = expected <= 2.0 * RESERVOIR_ROWS ? 0xffffffffu
                                                        : (uint32_t)(4294967295.0 * 2.0 * RESERVOIR_ROWS / expected);
    calib_ctx c = {fm, o, cs, rep, keep_t, vin, vin + widest, vin + 2 * widest};
    int rc = xnca_ptq_calib_run(fm, d, o->calib_n, o->calib_steps, o->seed, calib_visit, &c);
    free(vin);
    return rc ? xnca_errf(err, errlen, "out of memory") : 0;
}

/* ------------------------------------------------------------------------------------------
 * Input quantizers: state integer u -> level q, standing for (q - z) d LSBs
 * ---------------------------------------------------------------------------------------- */
typedef struct {
    double d;     /* state LSBs per level */
    int z;        /* level of state 0 */
    xnca_qparam q;
} in_quant;

/* Squared error of in_quant iq over the histogram of channel values. */
static double in_quant_error(const in_quant *iq, const double *hist, int k)
{
    double e = 0;
    for (int b = 0; b < HIST_BINS; b++) {
        if (hist[b] == 0) continue;
        int u = b - 128, q = xnca_quantize(&iq->q, u, k);
        double r = u - (q - iq->z) * iq->d;
        e += hist[b] * r * r;
    }
    return e;
}

static int make_in_quant(double d, int z, in_quant *iq)
{
    iq->d = d;
    iq->z = z;
    return xnca_ptq_fit_record(1.0 / d, z + 0.5, &iq->q); /* q = floor(u / d + z + 1/2) */
}

/* Choose channel c's input quantizer from its histogram. */
static int choose_in_quant(const double *hist, int k, xnca_ptq_clip clip, in_quant *best)
{
    const int K = (1 << k) - 1;
    int umin = 0, umax = 0;
    for (int b = 0; b < HIST_BINS; b++)
        if (hist[b] > 0) {
            if (b - 128 < umin) umin = b - 128;
            if (b - 128 > umax) umax = b - 128;
        }
    int span = umax - umin;
    if (span <= K) /* every value has its own level: exact; centred, which keeps the offsets that the
                    * next layer's records must hold (sum_n W_n mid_n) small */
        return make_in_quant(1.0, -umin + (K - span) / 2, best);
    double dmax = (double)span / K;
    if (clip == XNCA_PTQ_CLIP_MAX) {
        int z = (int)lround(-umin / dmax);
        return make_in_quant(dmax, z < 0 ? 0 : z > K ? K : z, best);
    }
    double best_e = INFINITY;
    for (int j = 0; j < CLIP_CANDIDATES; j++) {
        /* d from dmax (no clipping) down to 1 LSB per level, geometrically */
        double d = dmax * pow(1.0 / dmax, (double)j / (CLIP_CANDIDATES - 1));
        for (int z = 0; z <= K; z++) {
            in_quant iq;
            if (make_in_quant(d, z, &iq) != 0) continue;
            double e = in_quant_error(&iq, hist, k);
            if (e < best_e) {
                best_e = e;
                *best = iq;
            }
        }
    }
    return best_e < INFINITY ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------
 * Hidden activations: ReLU output v -> level q = clamp(floor(v / step + 1/2), 0, K)
 * ---------------------------------------------------------------------------------------- */
static int relu_level(double v, double step, int K)
{
    double q = floor(v / step + 0.5);
    return q < 0 ? 0 : q > K ? K : (int)q;
}

/* Step of hidden unit `unit` (column of the reservoir rows). */
static double choose_hidden_step(const calib_stats *cs, int unit, int k, xnca_ptq_clip clip)
{
    const int K = (1 << k) - 1;
    double vmax = 0;
    for (long r = 0; r < cs->rows_kept; r++) {
        double v = cs->rows[(size_t)r * cs->hidden_units + unit];
        if (v > vmax) vmax = v;
    }
    if (vmax <= 0) return 1.0; /* never active: any step, the level stays 0 */
    if (clip == XNCA_PTQ_CLIP_MAX) return vmax / K;
    double best = vmax / K, best_e = INFINITY;
    for (int j = 0; j < CLIP_CANDIDATES; j++) {
        double step = vmax / K * pow(0.02, (double)j / (CLIP_CANDIDATES - 1)); /* clip 100 % .. 2 % of max */
        double e = 0;
        for (long r = 0; r < cs->rows_kept; r++) {
            double v = cs->rows[(size_t)r * cs->hidden_units + unit];
            double d = v - step * relu_level(v, step, K);
            e += d * d;
        }
        if (e < best_e) {
            best_e = e;
            best = step;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------------------------
 * Weights: row V (n values) -> odd integers w with |w| <= 2^m - 1 and one scale alpha
 * ---------------------------------------------------------------------------------------- */
static int weight_code(double v, int m) /* spec 11: u = clamp(floor((v + 2^m - 1) / 2 + 1/2)) */
{
    const int Kw = (1 << m) - 1;
    double u = floor((v + Kw) / 2.0 + 0.5);
    return u < 0 ? 0 : u > Kw ? Kw : (int)u;
}

/* Weighted squared rounding error of a row: sum_n (V_n - alpha w_n)^2 wt_n (wt NULL: all 1).
 * Measured: weighting by the activations' second moment E[a_n^2] (the expected error of the sum y)
 * clips the image channel's weights and loses far more accuracy than the plain error (W6A6, 200
 * digits, image accuracy at 50: 67 % against 92 %), so the conversion passes NULL. */
static double row_error(const double *V, const double *ea2, int n, double alpha, int m)
{
    const int Kw = (1 << m) - 1;
    double e = 0;
    for (int i = 0; i < n; i++) {
        double r = V[i] - alpha * (2 * weight_code(V[i] / alpha, m) - Kw);
        e += r * r * (ea2 ? ea2[i] : 1.0);
    }
    return e;
}

static double choose_alpha(const double *V, const double *ea2, int n, int m, xnca_ptq_clip clip)
{
    const int Kw = (1 << m) - 1;
    double vmax = 0;
    for (int i = 0; i < n; i++)
        if (fabs(V[i]) > vmax) vmax = fabs(V[i]);
    if (vmax == 0) return 1e-30;
    double best = vmax / Kw;
    if (clip == XNCA_PTQ_CLIP_MAX) return best;
    double best_e = row_error(V, ea2, n, best, m);
    for (int j = 1; j < CLIP_CANDIDATES; j++) {
        double a = vmax / Kw * pow(0.03, (double)j / (CLIP_CANDIDATES - 1));
        double e = row_error(V, ea2, n, a, m);
        if (e < best_e) {
            best_e = e;
            best = a;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------------------------
 * The conversion
 * ---------------------------------------------------------------------------------------- */
static int check_opts(const xnca_model *fm, const xnca_ptq_opts *o, char *err, size_t errlen)
{
    if (!fm || fm->variant != XNCA_FLOAT)
        return xnca_errf(err, errlen, "the source model must be a float model (got %s)",
                    fm ? xnca_variant_name(fm->variant) : "none");
    if (o->weight_bits < 1 || o->weight_bits > 8) return xnca_errf(err, errlen, "weight bits %d outside 1..8", o->weight_bits);
    if (o->act_bits < 1 || o->act_bits > 8) return xnca_errf(err, errlen, "activation bits %d outside 1..8", o->act_bits);
    if (o->state_bits < 2 || o->state_bits > 8) return xnca_errf(err, errlen, "state bits %d outside 2..8", o->state_bits);
    if (o->input_bits < 1 || o->input_bits > 4) return xnca_errf(err, errlen, "input bits %d outside 1..4", o->input_bits);
    if (o->noise_p < -1 || o->noise_p > 127) return xnca_errf(err, errlen, "noise_p %d outside 0..127", o->noise_p);
    if (o->fire_t < -1 || o->fire_t > 256) return xnca_errf(err, errlen, "fire_t %d outside 0..256", o->fire_t);
    if (!o->calib || o->calib_n < 1 || o->calib_n > o->calib->n)
        return xnca_errf(err, errlen, "need 1..%d calibration images (got %d)", o->calib ? o->calib->n : 0, o->calib_n);
    if (o->calib_steps < 1) return xnca_errf(err, errlen, "calibration steps must be >= 1");
    return 0;
}

/* Per layer input representation: x_n ~ mid[n] + h[n] a_n; mean ea[n] and mean square ea2[n] of a_n. */
typedef struct {
    double *mid, *h, *ea, *ea2;
} layer_inputs;

/* Quantize layer l of fm into qm; `in` describes its inputs; for hidden layers `step` holds the
 * chosen output steps (levels q stand for q * step). */
/* Round row V to codes with scale alpha; returns the bias correction sum_n (V_n - alpha w_n) E[a_n]
 * and adds the squared rounding error to *err2. */
static double round_row(const double *V, const double *ea, int n, int m, double alpha, int *code, double *err2)
{
    const int Kw = (1 << m) - 1;
    double corr = 0;
    for (int i = 0; i < n; i++) {
        code[i] = weight_code(V[i] / alpha, m);
        double resid = V[i] - alpha * (2 * code[i] - Kw);
        *err2 += resid * resid;
        corr += resid * ea[i];
    }
    return corr;
}

/* Quantize layer l of fm into qm; `in` describes its inputs; for hidden layers `step` holds the
 * chosen output steps (levels q stand for q * step).
 *
 * The record's mul has 7 bits, and where the offset is large (ReLU inputs a = 2q - K put a
 * common-mode term of K sum_n w_n into y: about 2^20 for W8A8) |add| < 2^23 forces a small shift
 * and leaves mul at 3-5 bits, a gain error of several percent per unit (measured: W8A8 image
 * accuracy 90-92 % instead of 96 %). So the record comes first and the weights follow it: mul is
 * rounded up, the row is re-rounded with the scale the record really applies, and the gain
 * error becomes part of the (fine, for large m) weight rounding. */
static int convert_layer(const xnca_model *fm, const xnca_ptq_opts *o, int l, const layer_inputs *in,
                         const double *step, xnca_model *qm, xnca_ptq_report *rep, char *err, size_t errlen)
{
    const xnca_layer *F = &fm->layer[l];
    xnca_layer *Q = &qm->layer[l];
    const int m = o->weight_bits, n = F->n_in;
    const int last = l == fm->n_layers - 1, T = state_scale(o->state_bits);
    double *V = malloc(sizeof(double) * (size_t)n);
    int *code = malloc(sizeof(int) * (size_t)n);
    if (!V || !code) {
        free(V);
        free(code);
        return xnca_errf(err, errlen, "out of memory");
    }
    double err2 = 0, sum2 = 0;
    int rc = 0;
    for (int r = 0; r < F->n_out && rc == 0; r++) {
        const float *W = F->w + (size_t)r * n;
        double B0 = F->b[r];
        for (int i = 0; i < n; i++) {
            V[i] = W[i] * in->h[i];
            B0 += W[i] * in->mid[i];
            sum2 += V[i] * V[i];
        }
        /* float y_o ~ B + alpha y maps to floor(y * scale + offset): scale = alpha c, offset = B c + 1/2,
         * c = T (output layer: ds = round(T y_o)) or 1 / step (hidden: q = round(y_o / step)) */
        const double cfac = last ? (double)T : 1.0 / step[r];
        const double alpha0 = choose_alpha(V, NULL, n, m, o->weight_clip);
        xnca_qparam q0;
        if (xnca_ptq_fit_record(alpha0 * cfac, B0 * cfac + 0.5, &q0) != 0) {
            rc = xnca_errf(err, errlen, "layer %d output %d: offset %.3g cannot be held by a quantizer record", l, r,
                      B0 * cfac + 0.5);
            break;
        }
        int done = 0;
        double row_err2 = 0;
        for (int shift = q0.shift; shift >= 0 && !done; shift--) {
            double p2 = ldexp(1.0, shift);
            double mul = ceil(alpha0 * cfac * p2 - 1e-9);
            if (mul > 127) continue;
            if (mul < 1) mul = 1;
            double alpha = mul / (cfac * p2); /* >= alpha0: no weight is clipped further */
            row_err2 = 0;
            double corr = round_row(V, in->ea, n, m, alpha, code, &row_err2);
            double B = o->bias_correction ? B0 + corr : B0;
            double add = round_away((B * cfac + 0.5) * p2);
            if (fabs(add) >= ADD_LIMIT) continue;
            Q->q[r].mul = (int8_t)mul;
            Q->q[r].shift = (uint8_t)shift;
            Q->q[r].add = (int32_t)add;
            done = 1;
        }
        if (!done) {
            rc = xnca_errf(err, errlen, "layer %d output %d: no quantizer record holds offset %.3g", l, r, B0 * cfac + 0.5);
            break;
        }
        err2 += row_err2;
        for (int i = 0; i < n; i++)
            for (int b = 0; b < m; b++)
                if (code[i] >> b & 1) Q->planes[((size_t)r * m + b) * Q->row_bytes + i / 8] |= (uint8_t)(1u << (i % 8));
        note_record(&Q->q[r], alpha0 * cfac, rep);
    }
    rep->weight_rel_err[l] = sum2 > 0 ? sqrt(err2 / sum2) : 0;
    free(V);
    free(code);
    return rc;
}

int xnca_ptq_quantize(const xnca_model *fm, const xnca_ptq_opts *o, xnca_model *qm, xnca_ptq_report *rep,
                      char *err, size_t errlen)
{
    xnca_ptq_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof(*rep));
    memset(qm, 0, sizeof(*qm));
    if (check_opts(fm, o, err, errlen) != 0) return -1;

    /* The quant model's header: the float model's dimensions, the requested precision. */
    qm->variant = XNCA_QUANT;
    qm->grid_w = fm->grid_w;
    qm->grid_h = fm->grid_h;
    qm->channels = fm->channels;
    qm->hidden_channels = fm->hidden_channels;
    qm->classes = fm->classes;
    qm->hidden_layers = fm->hidden_layers;
    qm->perception_width = fm->perception_width;
    qm->mlp_width = fm->mlp_width;
    qm->weight_bits = o->weight_bits;
    qm->act_bits = o->act_bits;
    qm->state_bits = o->state_bits;
    qm->input_bits = o->input_bits;
    qm->fire_t = o->fire_t >= 0 ? o->fire_t : fm->fire_t;
    qm->noise_p = o->noise_p >= 0 ? o->noise_p : xnca_ptq_noise_p(fm->noise_sigma, o->state_bits);
    qm->noise_sigma = 0;
    if (xnca_model_alloc(qm, err, errlen) != 0) return -1;
    rep->layers = qm->n_layers;

    const int C = fm->channels, k = o->act_bits, K = (1 << k) - 1, T = state_scale(o->state_bits);
    int widest = 9 * C, hidden_units = 0, rc = -1;
    for (int l = 0; l < fm->n_layers - 1; l++) {
        hidden_units += fm->layer[l].n_out;
        if (fm->layer[l].n_out > widest) widest = fm->layer[l].n_out;
    }
    calib_stats *cs = calloc(1, sizeof(*cs));
    layer_inputs in = {malloc(sizeof(double) * widest), malloc(sizeof(double) * widest),
                       malloc(sizeof(double) * widest), malloc(sizeof(double) * widest)};
    double *step = malloc(sizeof(double) * widest);
    if (!cs || !in.mid || !in.h || !in.ea || !in.ea2 || !step ||
        !(cs->rows = malloc(sizeof(float) * RESERVOIR_ROWS * (size_t)(hidden_units ? hidden_units : 1)))) {
        xnca_errf(err, errlen, "out of memory");
        goto out;
    }
    cs->hidden_units = hidden_units;
    cs->rng = 0x5eed0000u ^ o->seed;
    if (calibrate(fm, o, cs, rep, err, errlen) != 0) goto out;

    /* Input quantizers and the perception layer's input representation. */
    double ea_c[32], ea2_c[32], mid_c[32], h_c[32];
    for (int c = 0; c < C; c++) {
        in_quant iq;
        if (choose_in_quant(cs->hist[c], k, o->act_clip, &iq) != 0) {
            xnca_errf(err, errlen, "channel %d: no input quantizer fits", c);
            goto out;
        }
        qm->inq[c] = iq.q;
        note_record(&iq.q, 1.0 / iq.d, rep);
        double lsb = c == 0 ? 1.0 / ((1 << o->input_bits) - 1) : 1.0 / T; /* float units per state unit */
        double fstep = iq.d * lsb;                                         /* float units per level */
        h_c[c] = fstep / 2;
        mid_c[c] = fstep * (K / 2.0 - iq.z);
        double total = 0, sum = 0, sum2 = 0;
        for (int b = 0; b < HIST_BINS; b++) {
            double a = 2.0 * xnca_quantize(&iq.q, b - 128, k) - K;
            total += cs->hist[c][b];
            sum += cs->hist[c][b] * a;
            sum2 += cs->hist[c][b] * a * a;
        }
        ea_c[c] = total > 0 ? sum / total : 0;
        ea2_c[c] = total > 0 ? sum2 / total : 1;
        if (c < 32) {
            rep->in_step[c] = fstep;
            rep->in_lo[c] = -iq.z * fstep;
            rep->in_hi[c] = (K - iq.z) * fstep;
        }
    }
    for (int i = 0; i < 9 * C; i++) {
        in.mid[i] = mid_c[i % C];
        in.h[i] = h_c[i % C];
        in.ea[i] = ea_c[i % C];
        in.ea2[i] = ea2_c[i % C];
    }

    /* Layers: each hidden layer's output steps become the next layer's input representation. */
    int unit0 = 0;
    for (int l = 0; l < fm->n_layers; l++) {
        const int last = l == fm->n_layers - 1, n_out = fm->layer[l].n_out;
        if (!last)
            for (int r = 0; r < n_out; r++) step[r] = choose_hidden_step(cs, unit0 + r, k, o->act_clip);
        if (convert_layer(fm, o, l, &in, step, qm, rep, err, errlen) != 0) goto out;
        if (last) break;
        for (int r = 0; r < n_out; r++) {
            double sum = 0, sum2 = 0;
            for (long s = 0; s < cs->rows_kept; s++) {
                double a = 2.0 * relu_level(cs->rows[(size_t)s * cs->hidden_units + unit0 + r], step[r], K) - K;
                sum += a;
                sum2 += a * a;
            }
            in.mid[r] = step[r] * K / 2.0;
            in.h[r] = step[r] / 2.0;
            in.ea[r] = cs->rows_kept ? sum / cs->rows_kept : -K;
            in.ea2[r] = cs->rows_kept ? sum2 / cs->rows_kept : (double)K * K;
        }
        unit0 += n_out;
    }

    if (o->meta && !(qm->meta = strdup(o->meta))) {
        xnca_errf(err, errlen, "out of memory");
        goto out;
    }
    rc = xnca_model_check(qm, err, errlen);
out:
    if (cs) free(cs->rows);
    free(cs);
    free(in.mid);
    free(in.h);
    free(in.ea);
    free(in.ea2);
    free(step);
    if (rc != 0) xnca_model_free(qm);
    return rc;
}
