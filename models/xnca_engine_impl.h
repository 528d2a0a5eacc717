/* xnca_engine_impl.h - private to the reference engine: the compiled weight plan and the
 * popcount kernels that the CPU dispatcher (xnca_cpu.c) chooses between.
 *
 * A quant model's weight planes are re-laid out once ("compiled") so that eight consecutive
 * output rows sit side by side: wt[group][plane i][word w][lane 0..7]. One 512-bit load then
 * holds word w of plane i for 8 rows, and XOR with a broadcast activation word followed by a
 * 64-bit popcount yields 8 partial sums at once (spec 3.3). Scalar and AVX2 kernels use the
 * same layout, so every path reads identical data.
 */
#ifndef XNCA_ENGINE_IMPL_H
#define XNCA_ENGINE_IMPL_H

#include "xnca_model.h"

#define XNCA_LANES 8 /* output rows per group */

typedef struct {
    int n_in, n_out;
    int groups;    /* ceil(n_out / 8) */
    int words;     /* ceil(n_in / 64): 64-bit words per input plane */
    int out_words; /* ceil(n_out / 64): 64-bit words per output plane */
    int m;         /* weight bits */
    int64_t nk;    /* n_in (2^m - 1)(2^k - 1): y = nk - 2 sum 2^(i+j) popcount(B_i ^ C_j) */
    uint64_t *wt;  /* [groups][m][words][8], bits >= n_in and rows >= n_out are 0 */
    int64_t *mul, *add, *shift; /* [groups * 8]; padded rows have mul = add = shift = 0 */
    /* k = 1 only: the quantizer as a threshold on acc = sum_i 2^i popcount(B_i ^ C_0):
     * bit = (acc <= thr) XOR flip (flip: bit g of group g's lanes), exact (see plan build) */
    int64_t *thr;  /* [groups * 8] */
    uint8_t *flip; /* [groups] */
} xnca_plan_layer;

typedef struct {
    int n_layers, k, channels;
    xnca_plan_layer layer[XNCA_MAX_LAYERS];
    int max_words; /* largest words / out_words over all layers */
    /* input quantizers (spec 3.2): per channel, padded to 32 with zero records */
    int32_t in_mul[32] __attribute__((aligned(64)));
    int32_t in_add[32] __attribute__((aligned(64)));
    int32_t in_shift[32] __attribute__((aligned(64)));
    uint8_t inlut[32][256]; /* level of channel c for state s at index s + 128 */
    /* k = 1: Q_c(s) >= 1 <=> (s >= in_thr8[c]) XOR bit c of in_flip (exact when in_thr_ok) */
    int8_t in_thr8[32] __attribute__((aligned(32)));
    uint32_t in_flip;
    int in_thr_ok;
    uint32_t pad[8];        /* the padding cell's activation word of each plane */
} xnca_plan;

/* Hidden (and perception) layer: quantize each sum to k bits and write the k output
 * bit-planes, plane j at out[j * out_words ...] (out must hold k * out_words words; it is
 * overwritten). in holds k planes of L->words words. */
typedef void (*xnca_layer_fn)(const xnca_plan_layer *L, const uint64_t *in, int k, uint64_t *out);
/* Output layer: ds[o] = floor_shift(y_o * mul_o + add_o, shift_o) for o < groups * 8. */
typedef void (*xnca_residual_fn)(const xnca_plan_layer *L, const uint64_t *in, int k, int64_t *ds);

/* Output layer fused with spec 3.5: mut[o] = sat(mut[o] + ds_o + n_o) for o < n_mut, where
 * n_o comes from noise byte o: byte o % 4 of the cell's draw of lane 1 + o / 4, which is
 * noise[(o / 4) * nstride] (draws are stored lane-major); n_o = 0 when noise is NULL.
 * lo, hi are the saturation rails. */
typedef void (*xnca_update_fn)(const xnca_plan_layer *L, const uint64_t *in, int k, int8_t *mut, int n_mut,
                               const uint32_t *noise, size_t nstride, int noise_p, int lo, int hi);
/* out[i] = xnca_hash(seed, image, step, x, y, lane) for xy[i] = y << 8 | x. */
typedef void (*xnca_hash_batch_fn)(uint32_t seed, uint32_t image, uint32_t step, uint32_t lane, const uint32_t *xy,
                                   int n, uint32_t *out);
/* The k activation words of one cell's C channel states s[0..C-1] (bit c of word j = bit j
 * of Q_c(s_c)). */
typedef void (*xnca_cell_words_fn)(const xnca_plan *P, const int8_t *s, uint32_t *words);

/* The whole network for up to XNCA_BATCH cells at once (weights loaded once per batch):
 * in holds cell b's k perception planes at in + b * stride; each cell's hidden activations
 * go through scratch (2 x XNCA_BATCH x stride words); cell b's mutable channels mut[b]
 * are updated as by xnca_update_fn with noise[b] (NULL entries: no noise). */
#define XNCA_BATCH 4
typedef void (*xnca_network_fn)(const xnca_plan *P, uint64_t *in, size_t stride, int nb, uint64_t *scratch,
                                int8_t *const mut[], const uint32_t *const noise[], size_t nstride, int noise_p,
                                int lo, int hi);

typedef struct {
    xnca_layer_fn layer;
    xnca_residual_fn residual;
    xnca_update_fn update;
    xnca_network_fn network; /* NULL: the engine runs layer + update cell by cell */
    xnca_hash_batch_fn hash_batch;
    xnca_cell_words_fn cell_words;
} xnca_kernels;

/* Portable versions the vector paths fall back on (xnca_cpu.c). */
void xnca_hash_batch_scalar(uint32_t seed, uint32_t image, uint32_t step, uint32_t lane, const uint32_t *xy, int n,
                            uint32_t *out);
void xnca_cell_words_scalar(const xnca_plan *P, const int8_t *s, uint32_t *words);
/* Spec 3.5 + 4.3 for one cell from precomputed residuals ds[0..n_mut-1]. */
void xnca_apply_residuals(const int64_t *ds, int8_t *mut, int n_mut, const uint32_t *noise, size_t nstride,
                          int noise_p, int lo, int hi);

/* The kernels of the active path (xnca_cpu.c). */
const xnca_kernels *xnca_kernels_active(void);
const xnca_kernels *xnca_kernels_for(xnca_cpu_path p);

/* Per-path kernels. The AVX kernels exist only on x86-64 builds. */
extern const xnca_kernels xnca_kernels_scalar;
#if defined(__x86_64__)
extern const xnca_kernels xnca_kernels_avx2;
extern const xnca_kernels xnca_kernels_avx512;
#endif

/* Plan construction (xnca_engine.c). */
int xnca_plan_build(const xnca_model *m, xnca_plan *p);
void xnca_plan_free(xnca_plan *p);

/* Portable SWAR popcount (no POPCNT instruction needed). */
static inline int xnca_popcount64_swar(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

/* floor_shift of a two's-complement value (spec notation); >> on negative values is
 * implementation-defined in C, so spell it out. */
static inline int64_t xnca_floor_shift(int64_t v, int s)
{
    return v >= 0 ? (v >> s) : ~((~v) >> s);
}

#endif
