/* xnca_random.c - random quant models with non-trivial dynamics, for tests, the RTL
 * co-simulation and benchmarks (xnca_model_random).
 *
 * Weights are uniform random codes. Quantizers are calibrated on samples instead of being
 * random, so that the dynamics neither freeze nor explode:
 *  - input channel: level 0 for dead cells, >= 1 for alive ones (spread over the k levels);
 *  - mutable channels: unit slope around a random threshold in -1..1 (so every state change
 *    near 0 flips an activation), a quarter of them with a negative mul;
 *  - hidden layers: each row's sum over a sample of random neighbourhoods is centred on its
 *    median and +-1.5 standard deviations are spread over the 2^k levels (k = 1: a threshold
 *    at the median); a quarter of the rows use a negative mul;
 *  - output layer: a dead zone of +-DEAD_ZONE standard deviations maps to 0, beyond it the
 *    residual is +-1 (+-2 ... further out), so a few channels per cell change per update.
 * The caller's fire_t and noise_p are kept, except that 0 becomes 128 and 2 respectively (set
 * them after the call to force 0). Measured in tests/test_engine.c with fire_t = 128 and
 * noise_p = 2: 10-90 % of the firing cells change state per step, < 20 % of the channels sit
 * at a rail. Without noise, W1A1 models still move; W2A2 and wider ones may freeze from the
 * all-zero start (their sums stay inside the dead zone).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_model.h"

#define SAMPLES 256
#define DEAD_ZONE 2.4

typedef struct {
    uint64_t s;
} rng64;

static uint64_t rng_next(rng64 *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int rng_below(rng64 *r, int n)
{
    return (int)(rng_next(r) % (uint64_t)n);
}

static int qlevel(const xnca_qparam *q, int64_t y, int k)
{
    int64_t v = y * q->mul + q->add;
    v = v >= 0 ? v >> q->shift : ~((~v) >> q->shift);
    int64_t top = (1 << k) - 1;
    return (int)(v < 0 ? 0 : v > top ? top : v);
}

/* A record with mul / 2^shift ~= slope (slope > 0) and Q(y) ~= floor(slope (y - origin)),
 * negated when `negative` (then Q(y) ~= floor(slope (origin' - y)) with origin' = the
 * mirrored origin passed by the caller). |add| stays below 2^23. */
static xnca_qparam affine_record(double slope, double origin, int negative)
{
    xnca_qparam q = {1, 0, 0};
    int shift = 0;
    while (shift < 31 && slope * ldexp(1.0, shift + 1) <= 127.0)
        shift++;
    for (;; shift--) {
        double mul = floor(slope * ldexp(1.0, shift) + 0.5);
        if (mul < 1)
            mul = 1;
        if (mul > 127)
            mul = 127;
        double add = negative ? mul * origin : -mul * origin;
        add = floor(add + 0.5);
        if ((fabs(add) < (1 << 23) - 1) || shift == 0) {
            if (add > (1 << 23) - 1)
                add = (1 << 23) - 1;
            if (add < -((1 << 23) - 1))
                add = -((1 << 23) - 1);
            q.mul = (int8_t)(negative ? -mul : mul);
            q.shift = (uint8_t)shift;
            q.add = (int32_t)add;
            return q;
        }
    }
}

static void set_code(xnca_layer *L, int mbits, int o, int n, int u)
{
    for (int i = 0; i < mbits; i++) {
        uint8_t *byte = L->planes + ((size_t)o * mbits + i) * L->row_bytes + n / 8;
        if ((u >> i) & 1)
            *byte |= (uint8_t)(1u << (n % 8));
        else
            *byte &= (uint8_t)~(1u << (n % 8));
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sums of layer l's rows over the sample activations (values a = 2q - (2^k - 1)). */
static void layer_sums(const xnca_model *m, int l, const int *act, int64_t *y)
{
    const xnca_layer *L = &m->layer[l];
    for (int s = 0; s < SAMPLES; s++)
        for (int o = 0; o < L->n_out; o++) {
            int64_t sum = 0;
            for (int n = 0; n < L->n_in; n++)
                sum += (int64_t)xnca_weight(m, l, o, n) * act[(size_t)s * L->n_in + n];
            y[(size_t)o * SAMPLES + s] = sum;
        }
}

static void row_stats(int64_t *ys, double *median, double *sd)
{
    double mean = 0, var = 0;
    for (int s = 0; s < SAMPLES; s++)
        mean += (double)ys[s];
    mean /= SAMPLES;
    for (int s = 0; s < SAMPLES; s++)
        var += ((double)ys[s] - mean) * ((double)ys[s] - mean);
    *sd = sqrt(var / SAMPLES);
    if (*sd < 1)
        *sd = 1;
    qsort(ys, SAMPLES, sizeof(int64_t), cmp_i64);
    *median = (double)ys[SAMPLES / 2];
}

/* A state near 0, as in the first steps of an image: 0 (60 %), +-1 (30 %), +-2 (10 %). */
static int young_state(rng64 *r)
{
    int u = rng_below(r, 20);
    return u < 12 ? 0 : u < 15 ? 1 : u < 18 ? -1 : u < 19 ? 2 : -2;
}

/* Random neighbourhoods of an alive cell: the centre is alive (only alive cells update), each
 * neighbour alive with p = 0.8; alive cells hold young states. */
static void sample_perception(const xnca_model *m, rng64 *r, int *act)
{
    int C = m->channels, k = m->act_bits, amax = (1 << k) - 1;
    for (int s = 0; s < SAMPLES; s++)
        for (int pos = 0; pos < 9; pos++) {
            int alive = pos == 4 || rng_below(r, 10) < 8;
            for (int c = 0; c < C; c++) {
                int v = 0;
                if (alive)
                    v = c == 0 ? 1 + rng_below(r, (1 << m->input_bits) - 1 > 0 ? (1 << m->input_bits) - 1 : 1)
                               : young_state(r);
                int q = qlevel(&m->inq[c], v, k);
                act[(size_t)s * 9 * C + pos * C + c] = 2 * q - amax;
            }
        }
}

int xnca_model_random(xnca_model *m, uint32_t seed, char *err, size_t errlen)
{
    m->variant = XNCA_QUANT;
    if (!m->inq && xnca_model_alloc(m, err, errlen) != 0)
        return -1;
    rng64 r = {0x5eed0000ULL ^ ((uint64_t)seed << 32) ^ seed};
    int k = m->act_bits, mb = m->weight_bits, C = m->channels;

    /* input quantizers */
    m->inq[0] = (xnca_qparam){(int8_t)fmin(127, fmax(1, floor(128.0 * ((1 << k) - 1) / ((1 << m->input_bits) - 1 > 0
                                                                                        ? (1 << m->input_bits) - 1
                                                                                        : 1) + 0.5))),
                              7, 127};
    for (int c = 1; c < C; c++) {
        int t = rng_below(&r, 3) - 1, neg = rng_below(&r, 4) == 0;
        int half = 1 << (k - 1);
        if (k == 1)
            half = 1; /* level 1 iff s >= t (or s <= t when negative) */
        m->inq[c] = neg ? (xnca_qparam){-1, 0, (int32_t)(half + t)} : (xnca_qparam){1, 0, (int32_t)(half - t)};
    }

    /* weights */
    for (int l = 0; l < m->n_layers; l++) {
        xnca_layer *L = &m->layer[l];
        memset(L->planes, 0, (size_t)L->n_out * mb * L->row_bytes);
        for (int o = 0; o < L->n_out; o++)
            for (int n = 0; n < L->n_in; n++)
                set_code(L, mb, o, n, rng_below(&r, 1 << mb));
    }

    /* quantizers, calibrated layer by layer on propagated samples */
    int max_n = 9 * 32 > 256 ? 9 * 32 : 256;
    int *act = malloc(sizeof(int) * SAMPLES * max_n);
    int *next = malloc(sizeof(int) * SAMPLES * max_n);
    int64_t *ys = malloc(sizeof(int64_t) * SAMPLES * 256);
    if (!act || !next || !ys) {
        free(act);
        free(next);
        free(ys);
        xnca_model_free(m);
        if (err && errlen)
            strncpy(err, "out of memory", errlen - 1);
        return -1;
    }
    sample_perception(m, &r, act);
    for (int l = 0; l < m->n_layers; l++) {
        xnca_layer *L = &m->layer[l];
        int last = l == m->n_layers - 1;
        layer_sums(m, l, act, ys);
        for (int o = 0; o < L->n_out; o++) {
            double med, sd;
            /* keep the unsorted row for propagation: stats on a copy */
            int64_t row[SAMPLES];
            memcpy(row, ys + (size_t)o * SAMPLES, sizeof(row));
            row_stats(row, &med, &sd);
            if (last) {
                double width = 2 * DEAD_ZONE * sd; /* one residual LSB per dead-zone width */
                L->q[o] = affine_record(1.0 / width, med - DEAD_ZONE * sd, 0);
            } else {
                int neg = rng_below(&r, 4) == 0;
                double slope = (double)(1 << k) / (3.0 * sd);
                L->q[o] = neg ? affine_record(slope, med + 1.5 * sd, 1) : affine_record(slope, med - 1.5 * sd, 0);
            }
            if (!last)
                for (int s = 0; s < SAMPLES; s++)
                    next[(size_t)s * L->n_out + o] = 2 * qlevel(&L->q[o], ys[(size_t)o * SAMPLES + s], k) - ((1 << k) - 1);
        }
        int *t = act;
        act = next;
        next = t;
    }
    free(act);
    free(next);
    free(ys);
    if (m->fire_t == 0) /* a model that never fires has no dynamics: use Distill's rate */
        m->fire_t = 128;
    if (m->noise_p == 0) /* without noise W2A2 and wider random models may freeze (see above) */
        m->noise_p = 2;
    m->noise_sigma = 0;
    return 0;
}
