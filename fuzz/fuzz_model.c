/* fuzz_model.c - libFuzzer target for the model loader (xnca_model_load_mem, spec 10): any
 * bytes must load or be rejected with a message, never crash; a loaded model re-serializes and
 * loads again to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xnca_model m;
    char err[256];
    if (xnca_model_load_mem(data, size, &m, err, sizeof err) != 0) {
        if (!err[0])
            abort(); /* a rejection must say why */
        return 0;
    }
    uint8_t *out = NULL;
    size_t n = xnca_model_serialize(&m, &out);
    if (n) {
        xnca_model m2;
        if (xnca_model_load_mem(out, n, &m2, err, sizeof err) != 0)
            abort(); /* what we write we must read */
        uint8_t *out2 = NULL;
        size_t n2 = xnca_model_serialize(&m2, &out2);
        if (n2 != n || memcmp(out, out2, n))
            abort();
        free(out2);
        xnca_model_free(&m2);
    }
    free(out);
    xnca_model_free(&m);
    return 0;
}
