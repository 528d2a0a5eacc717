/* xnca_popcount_avx512.c - AVX-512 kernels (F, BW, VL, VPOPCNTDQ).
 *
 * Layers: one register holds word t of one weight plane for 8 output rows; XOR with the
 * broadcast activation word and VPOPCNTQ give 8 partial popcounts at once. For k = 1 the
 * quantizer is a precomputed threshold on the popcount sum (one compare per 8 rows); for
 * k > 1 the affine quantizer of spec 3.4 runs on the 8 lanes and VPTESTMQ turns each level
 * bit into the next layer's activation bits directly. The output layer is fused with the
 * residual, noise and saturation of spec 3.5. Hashes run 16 at a time, the input quantizers
 * of a cell 16 channels at a time. Compiled for the baseline ISA; only these functions carry
 * the target attribute. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "xnca_engine_impl.h"

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq")))
#define MAX_IN_WORDS (8 * 5) /* k * words <= 8 * ceil(288 / 64) */

/* The k x words activation words, broadcast once per layer. */
static inline AVX512 void broadcast_inputs(const uint64_t *in, int n, __m512i *a)
{
    for (int i = 0; i < n; i++)
        a[i] = _mm512_set1_epi64((long long)in[i]);
}

/* acc = sum_{i,j} 2^(i+j) popcount(B_i ^ C_j) for the 8 rows of group g. */
static inline AVX512 __m512i group_acc(const xnca_plan_layer *L, const __m512i *a, int k, int g)
{
    const int words = L->words;
    const uint64_t *w = L->wt + (size_t)g * L->m * words * XNCA_LANES;
    if (L->m == 1 && k == 1) {
        __m512i pc = _mm512_setzero_si512();
        for (int t = 0; t < words; t++)
            pc = _mm512_add_epi64(pc, _mm512_popcnt_epi64(_mm512_xor_si512(
                                          _mm512_load_si512((const void *)(w + t * XNCA_LANES)), a[t])));
        return pc;
    }
    __m512i acc = _mm512_setzero_si512();
    for (int i = 0; i < L->m; i++, w += words * XNCA_LANES)
        for (int j = 0; j < k; j++) {
            __m512i pc = _mm512_setzero_si512();
            for (int t = 0; t < words; t++)
                pc = _mm512_add_epi64(pc, _mm512_popcnt_epi64(_mm512_xor_si512(
                                              _mm512_load_si512((const void *)(w + t * XNCA_LANES)), a[j * words + t])));
            acc = _mm512_add_epi64(acc, _mm512_sll_epi64(pc, _mm_cvtsi32_si128(i + j)));
        }
    return acc;
}

/* floor_shift(y * mul + add, shift) with y = nk - 2 acc (|y| < 2^31: the signed 32 x 32 -> 64
 * multiply is exact). */
static inline AVX512 __m512i group_affine(const xnca_plan_layer *L, __m512i acc, int g)
{
    __m512i y = _mm512_sub_epi64(_mm512_set1_epi64(L->nk), _mm512_add_epi64(acc, acc));
    __m512i v = _mm512_mul_epi32(y, _mm512_load_si512((const void *)(L->mul + g * XNCA_LANES)));
    v = _mm512_add_epi64(v, _mm512_load_si512((const void *)(L->add + g * XNCA_LANES)));
    return _mm512_srav_epi64(v, _mm512_load_si512((const void *)(L->shift + g * XNCA_LANES)));
}

/* W1A1 layers with a compile-time word count (fully unrolled popcount sums). */
/* Output bits are collected in a register and stored as whole words: byte stores followed
 * by a word load in the next layer would defeat store forwarding. */
static inline __attribute__((always_inline)) AVX512 void layer_w1a1(const xnca_plan_layer *L, const __m512i *a,
                                                                    uint64_t *out, const int words)
{
    const uint64_t *w = L->wt;
    uint64_t word = 0;
    for (int g = 0; g < L->groups; g++, w += words * XNCA_LANES) {
        __m512i pc = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512((const void *)w), a[0]));
        for (int t = 1; t < words; t++)
            pc = _mm512_add_epi64(pc, _mm512_popcnt_epi64(_mm512_xor_si512(
                                          _mm512_load_si512((const void *)(w + t * XNCA_LANES)), a[t])));
        __mmask8 le = _mm512_cmple_epi64_mask(pc, _mm512_load_si512((const void *)(L->thr + g * XNCA_LANES)));
        word |= (uint64_t)(uint8_t)(le ^ L->flip[g]) << (8 * (g % 8));
        if (g % 8 == 7 || g == L->groups - 1) {
            out[g / 8] = word;
            word = 0;
        }
    }
}

static AVX512 void layer_avx512(const xnca_plan_layer *L, const uint64_t *in, int k, uint64_t *out)
{
    __m512i a[MAX_IN_WORDS];
    broadcast_inputs(in, k * L->words, a);
    if (k == 1 && L->m == 1) {
        switch (L->words) {
        case 1: layer_w1a1(L, a, out, 1); return;
        case 2: layer_w1a1(L, a, out, 2); return;
        case 3: layer_w1a1(L, a, out, 3); return;
        case 4: layer_w1a1(L, a, out, 4); return;
        case 5: layer_w1a1(L, a, out, 5); return;
        }
    }
    if (k == 1) {
        uint64_t word = 0;
        for (int g = 0; g < L->groups; g++) {
            __m512i acc = group_acc(L, a, 1, g);
            __mmask8 le = _mm512_cmple_epi64_mask(acc, _mm512_load_si512((const void *)(L->thr + g * XNCA_LANES)));
            word |= (uint64_t)(uint8_t)(le ^ L->flip[g]) << (8 * (g % 8));
            if (g % 8 == 7 || g == L->groups - 1) {
                out[g / 8] = word;
                word = 0;
            }
        }
        return;
    }
    const __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi64((1 << k) - 1);
    uint64_t words[8] = {0}; /* one per plane, for the 8 groups of the current output word */
    for (int g = 0; g < L->groups; g++) {
        __m512i q = group_affine(L, group_acc(L, a, k, g), g);
        q = _mm512_min_epi64(_mm512_max_epi64(q, zero), top);
        for (int j = 0; j < k; j++)
            words[j] |= (uint64_t)_mm512_test_epi64_mask(q, _mm512_set1_epi64(1LL << j)) << (8 * (g % 8));
        if (g % 8 == 7 || g == L->groups - 1) {
            for (int j = 0; j < k; j++) {
                out[(size_t)j * L->out_words + g / 8] = words[j];
                words[j] = 0;
            }
        }
    }
}

static AVX512 void residual_avx512(const xnca_plan_layer *L, const uint64_t *in, int k, int64_t *ds)
{
    __m512i a[MAX_IN_WORDS];
    broadcast_inputs(in, k * L->words, a);
    for (int g = 0; g < L->groups; g++)
        _mm512_storeu_si512((void *)(ds + g * XNCA_LANES), group_affine(L, group_acc(L, a, k, g), g));
}

/* The 8 noise bytes of channels 8g .. 8g+7: lanes 1 + 2g and 2 + 2g (the second only where
 * channel 8g + 4 exists), from the lane-major draws. */
static inline AVX512 __m512i noise_bytes(const uint32_t *noise, size_t nstride, int g, int n_mut)
{
    uint64_t bytes = noise[(size_t)(2 * g) * nstride];
    if (8 * g + 4 < n_mut)
        bytes |= (uint64_t)noise[(size_t)(2 * g + 1) * nstride] << 32;
    return _mm512_cvtepu8_epi64(_mm_cvtsi64_si128((long long)bytes));
}

/* Residual + noise + saturation of one cell's group g (spec 3.5, 4.3). */
static inline AVX512 void update_group(const xnca_plan_layer *L, __m512i acc, int g, int n_mut, int8_t *mut,
                                       const uint32_t *noise, size_t nstride, int noise_p, int lo, int hi)
{
    int rows = n_mut - g * XNCA_LANES;
    __mmask16 m = (__mmask16)(rows >= 8 ? 0xff : (1u << rows) - 1);
    __m512i v = group_affine(L, acc, g);
    v = _mm512_add_epi64(v, _mm512_cvtepi8_epi64(_mm_maskz_loadu_epi8(m, mut + g * XNCA_LANES)));
    if (noise) {
        __m512i r = noise_bytes(noise, nstride, g, n_mut);
        __m512i n = _mm512_maskz_mov_epi64(_mm512_cmpge_epi64_mask(r, _mm512_set1_epi64(256 - noise_p)),
                                           _mm512_set1_epi64(1));
        n = _mm512_mask_mov_epi64(n, _mm512_cmplt_epi64_mask(r, _mm512_set1_epi64(noise_p)), _mm512_set1_epi64(-1));
        v = _mm512_add_epi64(v, n);
    }
    v = _mm512_max_epi64(_mm512_min_epi64(v, _mm512_set1_epi64(hi)), _mm512_set1_epi64(lo));
    _mm512_mask_cvtepi64_storeu_epi8(mut + g * XNCA_LANES, (__mmask8)m, v);
}

static AVX512 void update_avx512(const xnca_plan_layer *L, const uint64_t *in, int k, int8_t *mut, int n_mut,
                                 const uint32_t *noise, size_t nstride, int noise_p, int lo, int hi)
{
    __m512i a[MAX_IN_WORDS];
    broadcast_inputs(in, k * L->words, a);
    for (int g = 0; g < L->groups && g * XNCA_LANES < n_mut; g++)
        update_group(L, group_acc(L, a, k, g), g, n_mut, mut, noise, nstride, noise_p, lo, hi);
}

/* ---- batches of XNCA_BATCH = 4 cells: each weight register is loaded once and XORed with
 * the broadcast activations of every cell (4 independent dependency chains, kept in
 * registers thanks to the compile-time word count) ---- */
#define AI __attribute__((always_inline)) inline

/* p_b = popcount sums of one plane pair for cells b = 0..3 (w: the group's plane i; in: plane j). */
static AI AVX512 void pair_acc4(const uint64_t *w, const uint64_t *in, size_t stride, const int words, __m512i p[4])
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int t = 0; t < words; t++) {
        __m512i wv = _mm512_load_si512((const void *)(w + t * XNCA_LANES));
        a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_xor_si512(wv, _mm512_set1_epi64((long long)in[t]))));
        a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(
                                      _mm512_xor_si512(wv, _mm512_set1_epi64((long long)in[stride + t]))));
        a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(
                                      _mm512_xor_si512(wv, _mm512_set1_epi64((long long)in[2 * stride + t]))));
        a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(
                                      _mm512_xor_si512(wv, _mm512_set1_epi64((long long)in[3 * stride + t]))));
    }
    p[0] = a0, p[1] = a1, p[2] = a2, p[3] = a3;
}

/* acc_b = sum_{i,j} 2^(i+j) popcount(B_i ^ C_j) of group g for the 4 cells. */
static AI AVX512 void group_acc4(const xnca_plan_layer *L, int g, const uint64_t *in, size_t stride, int k,
                                 const int words, __m512i acc[4], const int w1a1)
{
    const uint64_t *w = L->wt + (size_t)g * L->m * words * XNCA_LANES;
    if (w1a1) {
        pair_acc4(w, in, stride, words, acc);
        return;
    }
    for (int b = 0; b < 4; b++)
        acc[b] = _mm512_setzero_si512();
    for (int i = 0; i < L->m; i++)
        for (int j = 0; j < k; j++) {
            __m512i p[4];
            pair_acc4(w + (size_t)i * words * XNCA_LANES, in + (size_t)j * words, stride, words, p);
            __m128i sh = _mm_cvtsi32_si128(i + j);
            for (int b = 0; b < 4; b++)
                acc[b] = _mm512_add_epi64(acc[b], _mm512_sll_epi64(p[b], sh));
        }
}

/* W1A1 layer for 4 cells: the 4 x words broadcast activations are loaded once (registers,
 * out cannot alias them), the popcount sums fully unrolled, the 4 threshold compares per
 * group packed into each cell's output word. */
static AI AVX512 void layer4_w1a1(const xnca_plan_layer *L, const uint64_t *in, size_t stride, uint64_t *out,
                                  const int words)
{
    __m512i a0[5], a1[5], a2[5], a3[5];
#pragma GCC unroll 5
    for (int t = 0; t < words; t++) {
        a0[t] = _mm512_set1_epi64((long long)in[t]);
        a1[t] = _mm512_set1_epi64((long long)in[stride + t]);
        a2[t] = _mm512_set1_epi64((long long)in[2 * stride + t]);
        a3[t] = _mm512_set1_epi64((long long)in[3 * stride + t]);
    }
    uint64_t o0 = 0, o1 = 0, o2 = 0, o3 = 0;
    const uint64_t *w = L->wt;
    const int64_t *thr = L->thr;
    const uint8_t *flip = L->flip;
    const int groups = L->groups;
    for (int g = 0; g < groups; g++, w += words * XNCA_LANES) {
        __m512i wv = _mm512_load_si512((const void *)w);
        __m512i p0 = _mm512_popcnt_epi64(_mm512_xor_si512(wv, a0[0]));
        __m512i p1 = _mm512_popcnt_epi64(_mm512_xor_si512(wv, a1[0]));
        __m512i p2 = _mm512_popcnt_epi64(_mm512_xor_si512(wv, a2[0]));
        __m512i p3 = _mm512_popcnt_epi64(_mm512_xor_si512(wv, a3[0]));
#pragma GCC unroll 5
        for (int t = 1; t < words; t++) {
            wv = _mm512_load_si512((const void *)(w + t * XNCA_LANES));
            p0 = _mm512_add_epi64(p0, _mm512_popcnt_epi64(_mm512_xor_si512(wv, a0[t])));
            p1 = _mm512_add_epi64(p1, _mm512_popcnt_epi64(_mm512_xor_si512(wv, a1[t])));
            p2 = _mm512_add_epi64(p2, _mm512_popcnt_epi64(_mm512_xor_si512(wv, a2[t])));
            p3 = _mm512_add_epi64(p3, _mm512_popcnt_epi64(_mm512_xor_si512(wv, a3[t])));
        }
        __m512i th = _mm512_load_si512((const void *)(thr + g * XNCA_LANES));
        unsigned f = flip[g], sh = 8 * (g % 8);
        o0 |= (uint64_t)((_mm512_cmple_epi64_mask(p0, th) ^ f) & 0xff) << sh;
        o1 |= (uint64_t)((_mm512_cmple_epi64_mask(p1, th) ^ f) & 0xff) << sh;
        o2 |= (uint64_t)((_mm512_cmple_epi64_mask(p2, th) ^ f) & 0xff) << sh;
        o3 |= (uint64_t)((_mm512_cmple_epi64_mask(p3, th) ^ f) & 0xff) << sh;
        if (g % 8 == 7 || g == groups - 1) {
            size_t wd = (size_t)g / 8;
            out[wd] = o0, out[stride + wd] = o1, out[2 * stride + wd] = o2, out[3 * stride + wd] = o3;
            o0 = o1 = o2 = o3 = 0;
        }
    }
}

static AI AVX512 void layer4(const xnca_plan_layer *L, const uint64_t *in, size_t stride, int k, uint64_t *out,
                             const int words, const int w1a1)
{
    if (w1a1) {
        layer4_w1a1(L, in, stride, out, words);
        return;
    }
    uint64_t o0 = 0, o1 = 0, o2 = 0, o3 = 0; /* k = 1 */
    uint64_t o[4][8] = {{0}};                 /* k > 1: [cell][plane] */
    const __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi64((1 << k) - 1);
    for (int g = 0; g < L->groups; g++) {
        __m512i acc[4];
        group_acc4(L, g, in, stride, k, words, acc, w1a1);
        unsigned sh = 8 * (g % 8);
        if (k == 1) {
            __m512i thr = _mm512_load_si512((const void *)(L->thr + g * XNCA_LANES));
            unsigned flip = L->flip[g];
            o0 |= (uint64_t)((_mm512_cmple_epi64_mask(acc[0], thr) ^ flip) & 0xff) << sh;
            o1 |= (uint64_t)((_mm512_cmple_epi64_mask(acc[1], thr) ^ flip) & 0xff) << sh;
            o2 |= (uint64_t)((_mm512_cmple_epi64_mask(acc[2], thr) ^ flip) & 0xff) << sh;
            o3 |= (uint64_t)((_mm512_cmple_epi64_mask(acc[3], thr) ^ flip) & 0xff) << sh;
        } else {
            for (int b = 0; b < 4; b++) {
                __m512i q = _mm512_min_epi64(_mm512_max_epi64(group_affine(L, acc[b], g), zero), top);
                for (int j = 0; j < k; j++)
                    o[b][j] |= (uint64_t)_mm512_test_epi64_mask(q, _mm512_set1_epi64(1LL << j)) << sh;
            }
        }
        if (g % 8 == 7 || g == L->groups - 1) {
            size_t wd = (size_t)g / 8;
            if (k == 1) {
                out[wd] = o0, out[stride + wd] = o1, out[2 * stride + wd] = o2, out[3 * stride + wd] = o3;
                o0 = o1 = o2 = o3 = 0;
            } else {
                for (int b = 0; b < 4; b++)
                    for (int j = 0; j < k; j++) {
                        out[b * stride + (size_t)j * L->out_words + wd] = o[b][j];
                        o[b][j] = 0;
                    }
            }
        }
    }
}

/* Instances with a constant word count, k = 1 (threshold) and k > 1 (affine) apart. */
#define LAYER_CASES(K, W1A1)                                                                                     \
    switch (L->words) {                                                                                          \
    case 1: layer4(L, in, stride, K, out, 1, W1A1); break;                                                       \
    case 2: layer4(L, in, stride, K, out, 2, W1A1); break;                                                       \
    case 3: layer4(L, in, stride, K, out, 3, W1A1); break;                                                       \
    case 4: layer4(L, in, stride, K, out, 4, W1A1); break;                                                       \
    default: layer4(L, in, stride, K, out, 5, W1A1); break;                                                      \
    }

static AVX512 void layer_batch_w1a1(const xnca_plan_layer *L, const uint64_t *in, size_t stride, uint64_t *out)
{
    LAYER_CASES(1, 1)
}

static AVX512 void layer_batch_k1(const xnca_plan_layer *L, const uint64_t *in, size_t stride, uint64_t *out)
{
    LAYER_CASES(1, 0)
}

static AVX512 void layer_batch_kn(const xnca_plan_layer *L, const uint64_t *in, size_t stride, int k, uint64_t *out)
{
    LAYER_CASES(k, 0)
}

static AVX512 void layer_batch(const xnca_plan_layer *L, const uint64_t *in, size_t stride, int k, uint64_t *out)
{
    if (k == 1 && L->m == 1)
        layer_batch_w1a1(L, in, stride, out);
    else if (k == 1)
        layer_batch_k1(L, in, stride, out);
    else
        layer_batch_kn(L, in, stride, k, out);
}

/* The output layer for up to 4 cells: as update_group, with the group's quantizer records
 * and the noise and saturation constants held in registers across the cells (stores to the
 * int8 states may alias any memory, so the compiler would otherwise reload them per cell). */
static AI AVX512 void update4(const xnca_plan_layer *L, const uint64_t *in, size_t stride, int k, int nb,
                              int8_t *const mut[], const uint32_t *const noise[], size_t nstride, int noise_p,
                              int lo, int hi, int n_mut, const int words, const int w1a1)
{
    const __m512i nk = _mm512_set1_epi64(L->nk), vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
    const __m512i n_lo = _mm512_set1_epi64(noise_p), n_hi = _mm512_set1_epi64(256 - noise_p);
    const __m512i one = _mm512_set1_epi64(1), minus_one = _mm512_set1_epi64(-1);
    const int groups = L->groups;
    for (int g = 0; g < groups && g * XNCA_LANES < n_mut; g++) {
        __m512i acc[4];
        group_acc4(L, g, in, stride, k, words, acc, w1a1);
        const __m512i mul = _mm512_load_si512((const void *)(L->mul + g * XNCA_LANES));
        const __m512i add = _mm512_load_si512((const void *)(L->add + g * XNCA_LANES));
        const __m512i shift = _mm512_load_si512((const void *)(L->shift + g * XNCA_LANES));
        int rows = n_mut - g * XNCA_LANES;
        __mmask16 m = (__mmask16)(rows >= 8 ? 0xff : (1u << rows) - 1);
        for (int c = 0; c < nb; c++) {
            int8_t *dst = mut[c] + g * XNCA_LANES;
            __m512i y = _mm512_sub_epi64(nk, _mm512_add_epi64(acc[c], acc[c]));
            __m512i v = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(y, mul), add), shift);
            v = _mm512_add_epi64(v, _mm512_cvtepi8_epi64(_mm_maskz_loadu_epi8(m, dst)));
            if (noise[c]) {
                __m512i r = noise_bytes(noise[c], nstride, g, n_mut);
                v = _mm512_mask_add_epi64(v, _mm512_cmpge_epi64_mask(r, n_hi), v, one);
                v = _mm512_mask_add_epi64(v, _mm512_cmplt_epi64_mask(r, n_lo), v, minus_one);
            }
            v = _mm512_max_epi64(_mm512_min_epi64(v, vhi), vlo);
            /* a plain 8-byte store for a full group: masked stores are slow on some CPUs */
            __m128i bytes = _mm512_cvtepi64_epi8(v);
            if (rows >= 8) {
                _mm_storel_epi64((__m128i *)dst, bytes);
            } else {
                uint64_t b8 = (uint64_t)_mm_cvtsi128_si64(bytes);
                for (int r = 0; r < rows; r++)
                    dst[r] = (int8_t)(b8 >> (8 * r));
            }
        }
    }
}

/* The network for up to 4 cells (the inputs of missing cells are ignored). */
static AVX512 void network_avx512(const xnca_plan *P, uint64_t *in, size_t stride, int nb, uint64_t *scratch,
                                  int8_t *const mut[], const uint32_t *const noise[], size_t nstride, int noise_p,
                                  int lo, int hi)
{
    const int k = P->k, n_mut = P->channels - 1;
    uint64_t *a = in, *b = scratch;
    for (int l = 0; l + 1 < P->n_layers; l++) {
        layer_batch(&P->layer[l], a, stride, k, b);
        a = b;
        b = b == scratch ? scratch + XNCA_BATCH * stride : scratch;
    }
    const xnca_plan_layer *out = &P->layer[P->n_layers - 1];
#define UPDATE_CASES(W1A1)                                                                                       \
    switch (out->words) {                                                                                        \
    case 1: update4(out, a, stride, k, nb, mut, noise, nstride, noise_p, lo, hi, n_mut, 1, W1A1); break;         \
    case 2: update4(out, a, stride, k, nb, mut, noise, nstride, noise_p, lo, hi, n_mut, 2, W1A1); break;         \
    case 3: update4(out, a, stride, k, nb, mut, noise, nstride, noise_p, lo, hi, n_mut, 3, W1A1); break;         \
    case 4: update4(out, a, stride, k, nb, mut, noise, nstride, noise_p, lo, hi, n_mut, 4, W1A1); break;         \
    default: update4(out, a, stride, k, nb, mut, noise, nstride, noise_p, lo, hi, n_mut, 5, W1A1); break;        \
    }
    if (k == 1 && out->m == 1)
        UPDATE_CASES(1)
    else
        UPDATE_CASES(0)
#undef UPDATE_CASES
}

#define ROTL(v, r) _mm512_rol_epi32((v), (r))

static AVX512 void hash_batch_avx512(uint32_t seed, uint32_t image, uint32_t step, uint32_t lane, const uint32_t *xy,
                                     int n, uint32_t *out)
{
    const __m512i a0 = _mm512_set1_epi32((int)(seed ^ 0x61707865u));
    const __m512i b0 = _mm512_set1_epi32((int)(image ^ 0x3320646eu));
    const __m512i c0 = _mm512_set1_epi32((int)((((step & 0xffffu) << 16) | (lane & 0xffffu)) ^ 0x79622d32u));
    const __m512i k3 = _mm512_set1_epi32(0x6b206574), low16 = _mm512_set1_epi32(0xffff);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512i p = _mm512_maskz_loadu_epi32(m, xy + i);
        __m512i a = a0, b = b0, c = c0;
        __m512i d = _mm512_xor_si512(_mm512_and_si512(p, low16), k3);
        for (int r = 0; r < 4; r++) {
            a = _mm512_add_epi32(a, b); d = ROTL(_mm512_xor_si512(d, a), 16);
            c = _mm512_add_epi32(c, d); b = ROTL(_mm512_xor_si512(b, c), 12);
            a = _mm512_add_epi32(a, b); d = ROTL(_mm512_xor_si512(d, a), 8);
            c = _mm512_add_epi32(c, d); b = ROTL(_mm512_xor_si512(b, c), 7);
        }
        __m512i h = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
        _mm512_mask_storeu_epi32(out + i, m, h);
    }
}

/* Input quantizers of 16 channels: s * mul + add fits in 32 bits (|s| <= 128, |add| < 2^23). */
static inline AVX512 __m512i channel_levels(const xnca_plan *P, const int8_t *s, int c0, __mmask16 m)
{
    __m512i v = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, s + c0));
    v = _mm512_mullo_epi32(v, _mm512_load_si512((const void *)(P->in_mul + c0)));
    v = _mm512_add_epi32(v, _mm512_load_si512((const void *)(P->in_add + c0)));
    v = _mm512_srav_epi32(v, _mm512_load_si512((const void *)(P->in_shift + c0)));
    v = _mm512_max_epi32(v, _mm512_setzero_si512());
    return _mm512_min_epi32(v, _mm512_set1_epi32((1 << P->k) - 1));
}

static AVX512 void cell_words_avx512(const xnca_plan *P, const int8_t *s, uint32_t *words)
{
    int C = P->channels;
    if (P->k == 1 && P->in_thr_ok) { /* one byte compare for all C channels */
        __mmask32 cm = C >= 32 ? 0xffffffffu : (1u << C) - 1;
        __m256i v = _mm256_maskz_loadu_epi8(cm, s);
        __mmask32 ge = _mm256_mask_cmpge_epi8_mask(cm, v, _mm256_load_si256((const __m256i *)P->in_thr8));
        words[0] = ((uint32_t)ge ^ P->in_flip) & (uint32_t)cm;
        return;
    }
    __mmask16 mlo = C >= 16 ? 0xffff : (__mmask16)((1u << C) - 1);
    __mmask16 mhi = C > 16 ? (__mmask16)((1u << (C - 16)) - 1) : 0;
    __m512i lo = channel_levels(P, s, 0, mlo), hi = channel_levels(P, s, 16, mhi);
    for (int j = 0; j < P->k; j++) {
        __m512i bit = _mm512_set1_epi32(1 << j);
        words[j] = (uint32_t)(_mm512_mask_test_epi32_mask(mlo, lo, bit)) |
                   (uint32_t)_mm512_mask_test_epi32_mask(mhi, hi, bit) << 16;
    }
}

const xnca_kernels xnca_kernels_avx512 = {layer_avx512, residual_avx512, update_avx512, network_avx512, hash_batch_avx512,
                                          cell_words_avx512};
#endif
