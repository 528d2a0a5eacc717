/* xnca_cpu.c - run-time choice of the popcount kernels, and the portable scalar kernels.
 *
 * Paths: scalar (portable C, SWAR popcount: runs on any CPU, no POPCNT instruction assumed),
 * avx2 (vpshufb nibble popcount, 4 rows per register), avx512 (AVX-512 F/BW/VL + VPOPCNTDQ,
 * 8 rows per register, plus vector hashing, input quantizers and state update). The best supported path is chosen at first use; XNCA_CPU=scalar|avx2|avx512
 * forces one (an unsupported or unknown value prints a message and falls back to the best).
 * Every path computes the same integers: the quant engine is bit-exact on all of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_engine_impl.h"

/* ------------------------------------------------------------------------------------------
 * Scalar kernels
 * ---------------------------------------------------------------------------------------- */
/* y of row (g, lane): nk - 2 sum_{i,j} 2^(i+j) popcount(B_i ^ C_j) (spec 3.3 with XOR; the
 * padding bits are 0 in both operands and never count). */
static int64_t row_sum_scalar(const xnca_plan_layer *L, const uint64_t *in, int k, int g, int lane)
{
    int64_t acc = 0;
    for (int i = 0; i < L->m; i++) {
        const uint64_t *w = L->wt + (size_t)(g * L->m + i) * L->words * XNCA_LANES + lane;
        for (int j = 0; j < k; j++) {
            const uint64_t *a = in + (size_t)j * L->words;
            int64_t pc = 0;
            for (int t = 0; t < L->words; t++)
                pc += xnca_popcount64_swar(w[t * XNCA_LANES] ^ a[t]);
            acc += pc << (i + j);
        }
    }
    return L->nk - 2 * acc;
}

static void layer_scalar(const xnca_plan_layer *L, const uint64_t *in, int k, uint64_t *out)
{
    int64_t top = (1 << k) - 1;
    memset(out, 0, sizeof(uint64_t) * (size_t)k * L->out_words);
    for (int o = 0; o < L->n_out; o++) {
        int64_t y = row_sum_scalar(L, in, k, o / XNCA_LANES, o % XNCA_LANES);
        int64_t q = xnca_floor_shift(y * L->mul[o] + L->add[o], (int)L->shift[o]);
        q = q < 0 ? 0 : q > top ? top : q;
        for (int j = 0; j < k; j++)
            out[(size_t)j * L->out_words + o / 64] |= (uint64_t)((q >> j) & 1) << (o % 64);
    }
}

static void residual_scalar(const xnca_plan_layer *L, const uint64_t *in, int k, int64_t *ds)
{
    for (int o = 0; o < L->groups * XNCA_LANES; o++) {
        int64_t y = row_sum_scalar(L, in, k, o / XNCA_LANES, o % XNCA_LANES);
        ds[o] = xnca_floor_shift(y * L->mul[o] + L->add[o], (int)L->shift[o]);
    }
}

/* Four channels per noise draw (channel o uses byte o % 4 of draw o / 4); the noise is
 * summed into a local copy of ds first, so the int8 stores cannot alias the loop's inputs. */
void xnca_apply_residuals(const int64_t *ds, int8_t *mut, int n_mut, const uint32_t *noise, size_t nstride,
                          int noise_p, int lo, int hi)
{
    for (int o4 = 0; o4 < n_mut; o4 += 4) {
        int64_t v[4];
        uint32_t r = noise ? noise[(size_t)(o4 / 4) * nstride] : 0;
        for (int b = 0; b < 4; b++) {
            int rb = (int)((r >> (8 * b)) & 0xff);
            int n = !noise ? 0 : rb < noise_p ? -1 : rb >= 256 - noise_p ? 1 : 0;
            v[b] = ds[o4 + b] + n;
        }
        int lanes = n_mut - o4 < 4 ? n_mut - o4 : 4;
        for (int b = 0; b < lanes; b++) {
            int64_t x = mut[o4 + b] + v[b];
            mut[o4 + b] = (int8_t)(x < lo ? lo : x > hi ? hi : x);
        }
    }
}

static void update_scalar(const xnca_plan_layer *L, const uint64_t *in, int k, int8_t *mut, int n_mut,
                          const uint32_t *noise, size_t nstride, int noise_p, int lo, int hi)
{
    int64_t ds[XNCA_LANES * 4];
    residual_scalar(L, in, k, ds);
    xnca_apply_residuals(ds, mut, n_mut, noise, nstride, noise_p, lo, hi);
}

void xnca_hash_batch_scalar(uint32_t seed, uint32_t image, uint32_t step, uint32_t lane, const uint32_t *xy, int n,
                            uint32_t *out)
{
    for (int i = 0; i < n; i++)
        out[i] = xnca_hash(seed, image, step, xy[i] & 0xff, (xy[i] >> 8) & 0xff, lane);
}

void xnca_cell_words_scalar(const xnca_plan *P, const int8_t *s, uint32_t *words)
{
    if (P->k == 1) { /* one bit per channel: bit 0 of the level */
        uint32_t w0 = 0;
        if (P->in_thr_ok)
            for (int c = 0; c < P->channels; c++)
                w0 |= (uint32_t)(s[c] >= P->in_thr8[c]) << c;
        else
            for (int c = 0; c < P->channels; c++)
                w0 |= (uint32_t)(P->inlut[c][s[c] + 128] & 1u) << c;
        words[0] = P->in_thr_ok ? w0 ^ P->in_flip : w0;
        return;
    }
    uint32_t w[8] = {0};
    for (int c = 0; c < P->channels; c++) {
        unsigned q = P->inlut[c][s[c] + 128];
        for (int j = 0; j < P->k; j++)
            w[j] |= ((q >> j) & 1u) << c;
    }
    for (int j = 0; j < P->k; j++)
        words[j] = w[j];
}

const xnca_kernels xnca_kernels_scalar = {layer_scalar, residual_scalar, update_scalar, NULL, xnca_hash_batch_scalar,
                                          xnca_cell_words_scalar};

/* ------------------------------------------------------------------------------------------
 * Dispatch
 * ---------------------------------------------------------------------------------------- */
static int active_path = -1; /* xnca_cpu_path, or -1 before the first use */

const char *xnca_cpu_name(xnca_cpu_path p)
{
    switch (p) {
    case XNCA_CPU_SCALAR: return "scalar";
    case XNCA_CPU_AVX2: return "avx2";
    case XNCA_CPU_AVX512: return "avx512";
    }
    return "unknown";
}

int xnca_cpu_supported(xnca_cpu_path p)
{
    switch (p) {
    case XNCA_CPU_SCALAR:
        return 1;
#if defined(__x86_64__)
    case XNCA_CPU_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    case XNCA_CPU_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq");
#else
    default:
        return 0;
#endif
    }
    return 0;
}

static xnca_cpu_path best_path(void)
{
    if (xnca_cpu_supported(XNCA_CPU_AVX512))
        return XNCA_CPU_AVX512;
    if (xnca_cpu_supported(XNCA_CPU_AVX2))
        return XNCA_CPU_AVX2;
    return XNCA_CPU_SCALAR;
}

static xnca_cpu_path initial_path(void)
{
    xnca_cpu_path best = best_path();
    const char *env = getenv("XNCA_CPU");
    if (!env || !*env)
        return best;
    for (int p = XNCA_CPU_SCALAR; p <= XNCA_CPU_AVX512; p++) {
        if (strcmp(env, xnca_cpu_name((xnca_cpu_path)p)) != 0)
            continue;
        if (xnca_cpu_supported((xnca_cpu_path)p))
            return (xnca_cpu_path)p;
        fprintf(stderr, "xnca: XNCA_CPU=%s is not supported by this CPU; using %s\n", env, xnca_cpu_name(best));
        return best;
    }
    fprintf(stderr, "xnca: XNCA_CPU=%s is unknown (scalar, avx2, avx512); using %s\n", env, xnca_cpu_name(best));
    return best;
}

xnca_cpu_path xnca_cpu_active(void)
{
    int p = __atomic_load_n(&active_path, __ATOMIC_ACQUIRE);
    if (p < 0) {
        int want = (int)initial_path(), expected = -1;
        /* first caller wins; a concurrent one computed the same value (and maybe the message) */
        __atomic_compare_exchange_n(&active_path, &expected, want, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
        p = __atomic_load_n(&active_path, __ATOMIC_ACQUIRE);
    }
    return (xnca_cpu_path)p;
}

int xnca_cpu_force(xnca_cpu_path p)
{
    if (p < XNCA_CPU_SCALAR || p > XNCA_CPU_AVX512 || !xnca_cpu_supported(p))
        return -1;
    __atomic_store_n(&active_path, (int)p, __ATOMIC_RELEASE);
    return 0;
}

const xnca_kernels *xnca_kernels_for(xnca_cpu_path p)
{
#if defined(__x86_64__)
    if (p == XNCA_CPU_AVX512)
        return &xnca_kernels_avx512;
    if (p == XNCA_CPU_AVX2)
        return &xnca_kernels_avx2;
#endif
    return &xnca_kernels_scalar;
}

const xnca_kernels *xnca_kernels_active(void)
{
    return xnca_kernels_for(xnca_cpu_active());
}
