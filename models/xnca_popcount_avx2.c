/* xnca_popcount_avx2.c - AVX2 kernels: the 8 rows of a group as two 4-lane halves; 64-bit
 * popcounts by the vpshufb nibble lookup summed with vpsadbw (byte counts of up to 5 words
 * are accumulated before the horizontal sum: at most 40 per byte, no overflow). AVX2 has no
 * 64-bit arithmetic shift or min/max: floor_shift is ~(~v >> s) for negative v, the clamp
 * uses compares and blends. Compiled for the baseline ISA with a target attribute. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "xnca_engine_impl.h"

#define AVX2 __attribute__((target("avx2")))

static inline AVX2 __m256i byte_popcount(__m256i v)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1,
                                         2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* y for the 4 rows starting at lane `half * 4` of group g. */
static inline AVX2 __m256i half_sums(const xnca_plan_layer *L, const uint64_t *in, int k, int g, int half)
{
    __m256i acc = _mm256_setzero_si256();
    for (int i = 0; i < L->m; i++) {
        const uint64_t *w = L->wt + (size_t)(g * L->m + i) * L->words * XNCA_LANES + half * 4;
        for (int j = 0; j < k; j++) {
            const uint64_t *a = in + (size_t)j * L->words;
            __m256i bytes = _mm256_setzero_si256();
            for (int t = 0; t < L->words; t++) {
                __m256i x = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(w + t * XNCA_LANES)),
                                             _mm256_set1_epi64x((long long)a[t]));
                bytes = _mm256_add_epi8(bytes, byte_popcount(x));
            }
            __m256i pc = _mm256_sad_epu8(bytes, _mm256_setzero_si256());
            acc = _mm256_add_epi64(acc, _mm256_sll_epi64(pc, _mm_cvtsi32_si128(i + j)));
        }
    }
    return _mm256_sub_epi64(_mm256_set1_epi64x(L->nk), _mm256_add_epi64(acc, acc));
}

static inline AVX2 __m256i half_affine(const xnca_plan_layer *L, __m256i y, int g, int half)
{
    int o = g * XNCA_LANES + half * 4;
    __m256i v = _mm256_mul_epi32(y, _mm256_load_si256((const __m256i *)(L->mul + o)));
    v = _mm256_add_epi64(v, _mm256_load_si256((const __m256i *)(L->add + o)));
    __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
    __m256i sh = _mm256_load_si256((const __m256i *)(L->shift + o));
    return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(v, sign), sh), sign);
}

static AVX2 void layer_avx2(const xnca_plan_layer *L, const uint64_t *in, int k, uint64_t *out)
{
    const __m256i zero = _mm256_setzero_si256(), top = _mm256_set1_epi64x((1 << k) - 1);
    memset(out, 0, sizeof(uint64_t) * (size_t)k * L->out_words);
    for (int g = 0; g < L->groups; g++) {
        for (int half = 0; half < 2; half++) {
            __m256i q = half_affine(L, half_sums(L, in, k, g, half), g, half);
            q = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, q), q);          /* max(q, 0) */
            q = _mm256_blendv_epi8(q, top, _mm256_cmpgt_epi64(q, top));       /* min(q, top) */
            for (int j = 0; j < k; j++) {
                __m256i bit = _mm256_slli_epi64(_mm256_srl_epi64(q, _mm_cvtsi32_si128(j)), 63);
                uint64_t bits = (uint64_t)_mm256_movemask_pd(_mm256_castsi256_pd(bit));
                out[(size_t)j * L->out_words + g / 8] |= bits << (8 * (g % 8) + 4 * half);
            }
        }
    }
}

static AVX2 void residual_avx2(const xnca_plan_layer *L, const uint64_t *in, int k, int64_t *ds)
{
    for (int g = 0; g < L->groups; g++)
        for (int half = 0; half < 2; half++)
            _mm256_storeu_si256((__m256i *)(ds + g * XNCA_LANES + half * 4),
                                half_affine(L, half_sums(L, in, k, g, half), g, half));
}

static void update_avx2(const xnca_plan_layer *L, const uint64_t *in, int k, int8_t *mut, int n_mut,
                        const uint32_t *noise, size_t nstride, int noise_p, int lo, int hi)
{
    int64_t ds[XNCA_LANES * 4];
    residual_avx2(L, in, k, ds);
    xnca_apply_residuals(ds, mut, n_mut, noise, nstride, noise_p, lo, hi);
}

/* ---- batches of up to XNCA_BATCH = 4 cells (W1A1): each weight register is loaded once and
 * XORed with the broadcast activations of every cell; the k = 1 quantizer is the plan's
 * threshold on the popcount sum ---- */
#define AI __attribute__((always_inline)) inline

/* Popcount sums of one group half (4 rows) for 4 cells; a[b][t]: cell b's broadcast word t. */
static AI AVX2 void half_acc4(const uint64_t *w, const __m256i a[4][5], const int words, __m256i pc[4])
{
    __m256i b0 = _mm256_setzero_si256(), b1 = b0, b2 = b0, b3 = b0;
#pragma GCC unroll 5
    for (int t = 0; t < words; t++) { /* at most 5 x 8 = 40 per byte: no overflow */
        __m256i wv = _mm256_load_si256((const __m256i *)(w + t * XNCA_LANES));
        b0 = _mm256_add_epi8(b0, byte_popcount(_mm256_xor_si256(wv, a[0][t])));
        b1 = _mm256_add_epi8(b1, byte_popcount(_mm256_xor_si256(wv, a[1][t])));
        b2 = _mm256_add_epi8(b2, byte_popcount(_mm256_xor_si256(wv, a[2][t])));
        b3 = _mm256_add_epi8(b3, byte_popcount(_mm256_xor_si256(wv, a[3][t])));
    }
    const __m256i zero = _mm256_setzero_si256();
    pc[0] = _mm256_sad_epu8(b0, zero);
    pc[1] = _mm256_sad_epu8(b1, zero);
    pc[2] = _mm256_sad_epu8(b2, zero);
    pc[3] = _mm256_sad_epu8(b3, zero);
}

static AI AVX2 void broadcast4(const uint64_t *in, size_t stride, const int words, __m256i a[4][5])
{
    for (int b = 0; b < 4; b++)
#pragma GCC unroll 5
        for (int t = 0; t < words; t++)
            a[b][t] = _mm256_set1_epi64x((long long)in[b * stride + t]);
}

/* A W1A1 hidden layer for 4 cells: bit = (acc <= thr) XOR flip. */
static AI AVX2 void layer4_w1a1(const xnca_plan_layer *L, const uint64_t *in, size_t stride, uint64_t *out,
                                const int words)
{
    __m256i a[4][5];
    broadcast4(in, stride, words, a);
    uint64_t o[4] = {0, 0, 0, 0};
    for (int g = 0; g < L->groups; g++) {
        const uint64_t *w = L->wt + (size_t)g * words * XNCA_LANES;
        unsigned gt[4] = {0, 0, 0, 0};
        for (int half = 0; half < 2; half++) {
            __m256i pc[4];
            half_acc4(w + half * 4, a, words, pc);
            __m256i thr = _mm256_load_si256((const __m256i *)(L->thr + g * XNCA_LANES + half * 4));
            for (int b = 0; b < 4; b++)
                gt[b] |= (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(pc[b], thr)))
                         << (4 * half);
        }
        unsigned sh = 8 * (g % 8), keep = 0xffu ^ L->flip[g]; /* (acc <= thr) ^ flip = gt ^ ~flip */
        for (int b = 0; b < 4; b++)
            o[b] |= (uint64_t)((gt[b] ^ keep) & 0xff) << sh;
        if (g % 8 == 7 || g == L->groups - 1) {
            for (int b = 0; b < 4; b++) {
                out[b * stride + (size_t)g / 8] = o[b];
                o[b] = 0;
            }
        }
    }
}

/* The W1A1 output layer for nb <= 4 cells: residuals, then noise and saturation. */
static AI AVX2 void update4_w1a1(const xnca_plan_layer *L, const uint64_t *in, size_t stride, int nb,
                                 int8_t *const mut[], const uint32_t *const noise[], size_t nstride, int noise_p,
                                 int lo, int hi, int n_mut, const int words)
{
    __m256i a[4][5];
    broadcast4(in, stride, words, a);
    int64_t ds[4][XNCA_LANES * 4] __attribute__((aligned(32)));
    const __m256i nk = _mm256_set1_epi64x(L->nk);
    for (int g = 0; g < L->groups; g++)
        for (int half = 0; half < 2; half++) {
            __m256i pc[4];
            half_acc4(L->wt + (size_t)g * words * XNCA_LANES + half * 4, a, words, pc);
            for (int b = 0; b < 4; b++)
                _mm256_store_si256((__m256i *)(ds[b] + g * XNCA_LANES + half * 4),
                                   half_affine(L, _mm256_sub_epi64(nk, _mm256_add_epi64(pc[b], pc[b])), g, half));
        }
    for (int b = 0; b < nb; b++)
        xnca_apply_residuals(ds[b], mut[b], n_mut, noise[b], nstride, noise_p, lo, hi);
}

#define WORD_CASES(CALL)                                                                                         \
    switch (L->words) {                                                                                          \
    case 1: CALL(1); break;                                                                                      \
    case 2: CALL(2); break;                                                                                      \
    case 3: CALL(3); break;                                                                                      \
    case 4: CALL(4); break;                                                                                      \
    default: CALL(5); break;                                                                                     \
    }

static AVX2 void layer_batch_w1a1(const xnca_plan_layer *L, const uint64_t *in, size_t stride, uint64_t *out)
{
#define CALL(W) layer4_w1a1(L, in, stride, out, W)
    WORD_CASES(CALL)
#undef CALL
}

static AVX2 void update_batch_w1a1(const xnca_plan_layer *L, const uint64_t *in, size_t stride, int nb,
                                   int8_t *const mut[], const uint32_t *const noise[], size_t nstride, int noise_p,
                                   int lo, int hi, int n_mut)
{
#define CALL(W) update4_w1a1(L, in, stride, nb, mut, noise, nstride, noise_p, lo, hi, n_mut, W)
    WORD_CASES(CALL)
#undef CALL
}

/* The network for up to 4 cells. W1A1 models with layers of at most 5 input words run
 * batched; other models run cell by cell through the layer and update kernels. */
static void network_avx2(const xnca_plan *P, uint64_t *in, size_t stride, int nb, uint64_t *scratch,
                         int8_t *const mut[], const uint32_t *const noise[], size_t nstride, int noise_p, int lo,
                         int hi)
{
    const int k = P->k, n_mut = P->channels - 1;
    int batched = k == 1;
    for (int l = 0; l < P->n_layers; l++)
        batched &= P->layer[l].m == 1 && P->layer[l].words <= 5;
    if (batched) {
        uint64_t *a = in, *b = scratch;
        for (int l = 0; l + 1 < P->n_layers; l++) {
            layer_batch_w1a1(&P->layer[l], a, stride, b);
            a = b;
            b = b == scratch ? scratch + XNCA_BATCH * stride : scratch;
        }
        update_batch_w1a1(&P->layer[P->n_layers - 1], a, stride, nb, mut, noise, nstride, noise_p, lo, hi, n_mut);
        return;
    }
    for (int c = 0; c < nb; c++) {
        uint64_t *a = in + c * stride, *b = scratch + c * stride;
        for (int l = 0; l + 1 < P->n_layers; l++) {
            layer_avx2(&P->layer[l], a, k, b);
            uint64_t *t = a == in + c * stride ? scratch + (XNCA_BATCH + c) * stride : a;
            a = b;
            b = t;
        }
        update_avx2(&P->layer[P->n_layers - 1], a, k, mut[c], n_mut, noise[c], nstride, noise_p, lo, hi);
    }
}

/* xnca-arx32 (spec 4.1) on 8 cells at once; rotations by 16 and 8 are byte shuffles. */
static inline AVX2 __m256i rotl_avx2(__m256i v, int r)
{
    return _mm256_or_si256(_mm256_slli_epi32(v, r), _mm256_srli_epi32(v, 32 - r));
}

static AVX2 void hash_batch_avx2(uint32_t seed, uint32_t image, uint32_t step, uint32_t lane, const uint32_t *xy,
                                 int n, uint32_t *out)
{
    const __m256i a0 = _mm256_set1_epi32((int)(seed ^ 0x61707865u));
    const __m256i b0 = _mm256_set1_epi32((int)(image ^ 0x3320646eu));
    const __m256i c0 = _mm256_set1_epi32((int)((((step & 0xffffu) << 16) | (lane & 0xffffu)) ^ 0x79622d32u));
    const __m256i k3 = _mm256_set1_epi32(0x6b206574), low16 = _mm256_set1_epi32(0xffff);
    const __m256i rot16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4,
                                           5, 10, 11, 8, 9, 14, 15, 12, 13);
    const __m256i rot8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5,
                                          6, 11, 8, 9, 10, 15, 12, 13, 14);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i p = _mm256_loadu_si256((const __m256i *)(xy + i));
        __m256i a = a0, b = b0, c = c0;
        __m256i d = _mm256_xor_si256(_mm256_and_si256(p, low16), k3);
        for (int r = 0; r < 4; r++) {
            a = _mm256_add_epi32(a, b); d = _mm256_shuffle_epi8(_mm256_xor_si256(d, a), rot16);
            c = _mm256_add_epi32(c, d); b = rotl_avx2(_mm256_xor_si256(b, c), 12);
            a = _mm256_add_epi32(a, b); d = _mm256_shuffle_epi8(_mm256_xor_si256(d, a), rot8);
            c = _mm256_add_epi32(c, d); b = rotl_avx2(_mm256_xor_si256(b, c), 7);
        }
        __m256i h = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
        _mm256_storeu_si256((__m256i *)(out + i), h);
    }
    if (i < n)
        xnca_hash_batch_scalar(seed, image, step, lane, xy + i, n - i, out + i);
}

const xnca_kernels xnca_kernels_avx2 = {layer_avx2, residual_avx2, update_avx2, network_avx2, hash_batch_avx2,
                                        xnca_cell_words_scalar};
#endif
