/* fuzz_model_load.c - libFuzzer target for the model loader (spec 10): any byte string must be
 * rejected with a message or accepted as a model that passes xnca_model_check and serializes
 * back to the same bytes. Build: make build/fuzz-model-load (clang), run: build/fuzz-model-load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_model.h"

static int check_one(const uint8_t *data, size_t size);

/* Each input is tried as is and with its CRC fixed (so that mutations reach the payload parser). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one(data, size);
    if (size >= XNCA_HEADER_BYTES + 4) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        uint32_t c = xnca_crc32(0, copy, size - 4);
        for (int i = 0; i < 4; i++)
            copy[size - 4 + i] = (uint8_t)(c >> (8 * i));
        check_one(copy, size);
        free(copy);
    }
    return 0;
}

static int check_one(const uint8_t *data, size_t size)
{
    xnca_model m;
    char err[256];
    if (xnca_model_load_mem(data, size, &m, err, sizeof(err)) != 0) {
        if (!err[0])
            abort(); /* every rejection says why */
        return 0;
    }
    if (xnca_model_check(&m, err, sizeof(err)) != 0)
        abort();
    uint8_t *out;
    size_t n = xnca_model_serialize(&m, &out);
    /* bwn rows are transformed at load, so only the other variants round-trip byte for byte */
    if (n == 0 || (m.variant != XNCA_BWN && (n != size || memcmp(out, data, n) != 0)))
        abort();
    free(out);
    if (m.variant == XNCA_QUANT) { /* adversarial parameters must not trip the engine either */
        uint8_t px[8 * 8];
        for (int i = 0; i < 64; i++)
            px[i] = (uint8_t)(i * 37);
        int8_t *ref = NULL;
        for (int path = XNCA_CPU_SCALAR; path <= XNCA_CPU_AVX512; path++) {
            if (xnca_cpu_force((xnca_cpu_path)path) != 0)
                continue;
            xnca_grid g;
            if (xnca_grid_init(&m, &g, 8, 8, px) != 0)
                abort();
            for (uint32_t t = 0; t < 2; t++)
                xnca_step(&m, &g, 1, 2, t, NULL);
            if (!ref) {
                ref = malloc((size_t)64 * g.c);
                memcpy(ref, g.qs, (size_t)64 * g.c);
            } else if (memcmp(ref, g.qs, (size_t)64 * g.c) != 0) {
                abort(); /* CPU paths disagree */
            }
            xnca_grid_free(&g);
        }
        free(ref);
    }
    xnca_model_free(&m);
    return 0;
}
