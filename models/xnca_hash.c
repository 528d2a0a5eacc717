/* xnca_hash.c - xnca-arx32 (spec 4.1): every random draw of the engine, the RTL and the
 * trainer. Four ChaCha quarter-rounds on a 128-bit state built from the draw's coordinates. */
#include "xnca_model.h"

static inline uint32_t rotl32(uint32_t v, int r)
{
    return (v << r) | (v >> (32 - r));
}

uint32_t xnca_hash(uint32_t seed, uint32_t image_index, uint32_t step, uint32_t x, uint32_t y, uint32_t lane)
{
    uint32_t a = seed ^ 0x61707865u;
    uint32_t b = image_index ^ 0x3320646eu;
    uint32_t c = (((step & 0xffffu) << 16) | (lane & 0xffffu)) ^ 0x79622d32u;
    uint32_t d = (((y & 0xffu) << 8) | (x & 0xffu)) ^ 0x6b206574u;
    for (int r = 0; r < 4; r++) {
        a += b; d ^= a; d = rotl32(d, 16);
        c += d; b ^= c; b = rotl32(b, 12);
        a += b; d ^= a; d = rotl32(d, 8);
        c += d; b ^= c; b = rotl32(b, 7);
    }
    return a ^ b ^ c ^ d;
}
