/* bench_engine.c - cell updates per second of random quant models of Distill's dimensions
 * (28 x 28, C = 20, P = M = 80, L = 1) on every CPU path this machine supports, one thread.
 * Usage: bench-engine [seconds per measurement, default 1] */
#include <stdio.h>
#include <stdlib.h>

#include "xnca_model.h"

static int distill_random(xnca_model *m, int bits)
{
    *m = (xnca_model){.variant = XNCA_QUANT, .grid_w = 28, .grid_h = 28, .channels = 20, .hidden_channels = 9,
                      .classes = 10, .hidden_layers = 1, .perception_width = 80, .mlp_width = 80,
                      .weight_bits = bits, .act_bits = bits, .state_bits = 8, .input_bits = 1};
    char err[256];
    if (xnca_model_random(m, 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-engine: %s\n", err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0) {
        fprintf(stderr, "usage: bench-engine [seconds > 0]\n");
        return 1;
    }
    static const int bits[] = {1, 2, 4};
    for (unsigned b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
        xnca_model m;
        if (distill_random(&m, bits[b]) != 0)
            return 1;
        for (int p = XNCA_CPU_SCALAR; p <= XNCA_CPU_AVX512; p++) {
            if (!xnca_cpu_supported((xnca_cpu_path)p)) {
                printf("W%dA%d %-7s unsupported\n", bits[b], bits[b], xnca_cpu_name((xnca_cpu_path)p));
                continue;
            }
            double rate;
            char err[256];
            if (xnca_bench_cpu(&m, (xnca_cpu_path)p, seconds, &rate, err, sizeof(err)) != 0) {
                fprintf(stderr, "bench-engine: %s\n", err);
                return 1;
            }
            printf("W%dA%d %-7s %8.2f M cell updates/s (1 thread)\n", bits[b], bits[b],
                   xnca_cpu_name((xnca_cpu_path)p), rate / 1e6);
        }
        xnca_model_free(&m);
    }
    return 0;
}
