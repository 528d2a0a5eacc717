/* xnca_bench.c - cell-update throughput of the quant engine on one CPU path, one thread.
 * The grid is the model's grid_w x grid_h with every cell alive (pixels 26..255 drawn from
 * the hash, so the input levels vary); the count is the cells actually computed (alive and
 * firing); the time is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so other
 * processes on a shared machine distort the figure less than with wall time. Used by
 * build/bench-engine and `make bench-cpu`. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xnca_model.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int xnca_bench_cpu(const xnca_model *m, xnca_cpu_path path, double min_seconds, double *updates_per_s, char *err,
                   size_t errlen)
{
    if (m->variant != XNCA_QUANT) {
        snprintf(err, errlen, "the CPU benchmark runs quant models only");
        return -1;
    }
    if (!xnca_cpu_supported(path)) {
        snprintf(err, errlen, "CPU path %s is not supported here", xnca_cpu_name(path));
        return -1;
    }
    uint8_t pixels[64 * 64];
    int w = m->grid_w, h = m->grid_h;
    for (int i = 0; i < w * h; i++)
        pixels[i] = (uint8_t)(26 + xnca_hash(1, 2, 3, (uint32_t)i, 0, 0) % 230);
    xnca_workspace *ws = xnca_workspace_new();
    xnca_grid g;
    if (!ws || xnca_grid_init(m, &g, w, h, pixels) != 0) {
        xnca_workspace_free(ws);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    xnca_cpu_path saved = xnca_cpu_active();
    xnca_cpu_force(path);
    xnca_step_ws(ws, m, &g, 0, 0, 0, NULL); /* warm-up: builds the plan */
    long updates = 0;
    uint32_t step = 1;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 16; i++, step++)
            updates += xnca_step_ws(ws, m, &g, 0, 0, step, NULL);
        t = now_s() - t0;
    } while (t < min_seconds);
    xnca_cpu_force(saved);
    xnca_grid_free(&g);
    xnca_workspace_free(ws);
    *updates_per_s = (double)updates / t;
    return 0;
}
