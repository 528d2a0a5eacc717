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

const xnca_kernels xnca_kernels_avx2 = {layer_avx2, residual_avx2, update_avx2, NULL, xnca_hash_batch_scalar,
                                        xnca_cell_words_scalar};
#endif
