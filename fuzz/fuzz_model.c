/* fuzz_model.c - libFuzzer target for the model loader (xnca_model_load_mem, spec 10). Any bytes
 * must load or be rejected with a message, never crash. A loaded model passes xnca_model_check,
 * serializes back to the input bytes (bwn excepted: its rows are transformed at load), reloads
 * from what it wrote to the same bytes (bwn: the same weights), and a quant model steps
 * identically on every CPU path.
 * Each input is tried as is and with its trailing CRC fixed, so mutations reach the payload
 * parser. Seeds: fuzz/corpus/model/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_model.h"

/* Two steps of an 8 x 8 grid on every CPU path the machine has: the paths must agree. */
static void check_engine_paths(const xnca_model *m)
{
    uint8_t px[8 * 8];
    for (int i = 0; i < 64; i++)
        px[i] = (uint8_t)(i * 37);
    int8_t *ref = NULL;
    for (int path = XNCA_CPU_SCALAR; path <= XNCA_CPU_AVX512; path++) {
        if (xnca_cpu_force((xnca_cpu_path)path) != 0)
            continue;
        xnca_grid g;
        if (xnca_grid_init(m, &g, 8, 8, px) != 0)
            abort();
        for (uint32_t t = 0; t < 2; t++)
            xnca_step(m, &g, 1, 2, t, NULL);
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

/* Same layers, weights and biases by value (float ==: -0.0 equals +0.0). */
static int same_weights(const xnca_model *a, const xnca_model *b)
{
    if (a->n_layers != b->n_layers)
        return 0;
    for (int l = 0; l < a->n_layers; l++) {
        const xnca_layer *x = &a->layer[l], *y = &b->layer[l];
        if (x->n_in != y->n_in || x->n_out != y->n_out)
            return 0;
        for (long i = 0; i < (long)x->n_in * x->n_out; i++)
            if (!(x->w[i] == y->w[i]))
                return 0;
        for (int o = 0; o < x->n_out; o++)
            if (!(x->b[o] == y->b[o]))
                return 0;
    }
    return 1;
}

static void check_one(const uint8_t *data, size_t size)
{
    xnca_model m;
    char err[256];
    if (xnca_model_load_mem(data, size, &m, err, sizeof err) != 0) {
        if (!err[0])
            abort(); /* a rejection must say why */
        return;
    }
    if (xnca_model_check(&m, err, sizeof err) != 0)
        abort(); /* what loads is a valid model */
    uint8_t *out = NULL;
    size_t n = xnca_model_serialize(&m, &out);
    if (n == 0 || (m.variant != XNCA_BWN && (n != size || memcmp(out, data, n) != 0)))
        abort(); /* what we read we write back unchanged */
    xnca_model m2;
    if (xnca_model_load_mem(out, n, &m2, err, sizeof err) != 0)
        abort(); /* what we write we must read */
    if (m.variant == XNCA_BWN) {
        /* the load transform is idempotent up to the sign of zero: a row whose mean |w| underflows
         * to 0 keeps -0.0 for its negative weights, which the next load makes +0.0 (equal values) */
        if (!same_weights(&m, &m2))
            abort();
    } else {
        uint8_t *out2 = NULL;
        size_t n2 = xnca_model_serialize(&m2, &out2);
        if (n2 != n || memcmp(out, out2, n))
            abort();
        free(out2);
    }
    xnca_model_free(&m2);
    free(out);
    if (m.variant == XNCA_QUANT) /* adversarial parameters must not trip the engine either */
        check_engine_paths(&m);
    xnca_model_free(&m);
}

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
