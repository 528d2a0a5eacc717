/* xnca_popcount_avx512.c - AVX-512 VPOPCNTDQ kernels: one register holds word t of one
 * weight plane for 8 output rows; XOR with the broadcast activation word and VPOPCNTQ give
 * 8 partial popcounts at once. The quantizer (spec 3.4) runs on the same 8 lanes and
 * VPTESTMQ turns each level bit into the next layer's activation bits directly.
 * Compiled for the baseline ISA; only these functions carry the target attribute. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "xnca_engine_impl.h"

#define AVX512 __attribute__((target("avx512f,avx512vpopcntdq")))

/* y for the 8 rows of group g (spec 3.3). */
static inline AVX512 __m512i group_sums(const xnca_plan_layer *L, const uint64_t *in, int k, int g)
{
    __m512i acc = _mm512_setzero_si512();
    for (int i = 0; i < L->m; i++) {
        const uint64_t *w = L->wt + (size_t)(g * L->m + i) * L->words * XNCA_LANES;
        for (int j = 0; j < k; j++) {
            const uint64_t *a = in + (size_t)j * L->words;
            __m512i pc = _mm512_setzero_si512();
            for (int t = 0; t < L->words; t++) {
                __m512i x = _mm512_xor_si512(_mm512_load_si512((const void *)(w + t * XNCA_LANES)),
                                             _mm512_set1_epi64((long long)a[t]));
                pc = _mm512_add_epi64(pc, _mm512_popcnt_epi64(x));
            }
            acc = _mm512_add_epi64(acc, _mm512_sll_epi64(pc, _mm_cvtsi32_si128(i + j)));
        }
    }
    return _mm512_sub_epi64(_mm512_set1_epi64(L->nk), _mm512_add_epi64(acc, acc));
}

/* floor_shift(y * mul + add, shift) for the 8 rows of group g (|y| < 2^31, so the signed
 * 32 x 32 -> 64 multiply is exact). */
static inline AVX512 __m512i group_affine(const xnca_plan_layer *L, __m512i y, int g)
{
    __m512i v = _mm512_mul_epi32(y, _mm512_load_si512((const void *)(L->mul + g * XNCA_LANES)));
    v = _mm512_add_epi64(v, _mm512_load_si512((const void *)(L->add + g * XNCA_LANES)));
    return _mm512_srav_epi64(v, _mm512_load_si512((const void *)(L->shift + g * XNCA_LANES)));
}

static AVX512 void layer_avx512(const xnca_plan_layer *L, const uint64_t *in, int k, uint64_t *out)
{
    const __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi64((1 << k) - 1);
    memset(out, 0, sizeof(uint64_t) * (size_t)k * L->out_words);
    for (int g = 0; g < L->groups; g++) {
        __m512i q = group_affine(L, group_sums(L, in, k, g), g);
        q = _mm512_min_epi64(_mm512_max_epi64(q, zero), top);
        for (int j = 0; j < k; j++) {
            __mmask8 bits = _mm512_test_epi64_mask(q, _mm512_set1_epi64(1LL << j));
            out[(size_t)j * L->out_words + g / 8] |= (uint64_t)bits << (8 * (g % 8));
        }
    }
}

static AVX512 void residual_avx512(const xnca_plan_layer *L, const uint64_t *in, int k, int64_t *ds)
{
    for (int g = 0; g < L->groups; g++)
        _mm512_storeu_si512((void *)(ds + g * XNCA_LANES), group_affine(L, group_sums(L, in, k, g), g));
}

const xnca_kernels xnca_kernels_avx512 = {layer_avx512, residual_avx512};
#endif
