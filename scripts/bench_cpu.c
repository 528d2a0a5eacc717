/* bench_cpu.c - CPU throughput of the reference engines, for scripts/bench-cpu.
 *
 * usage: bench_cpu FLOAT_MODEL [N_IMAGES] [STEPS]
 *
 * Runs xnca_eval (report step = STEPS, default 20) on the first N_IMAGES (default 500) MNIST
 * test digits with: random quant W1A1 and W2A2 models of Distill's dimensions (28 x 28,
 * C = 20, P = M = 80, L = 1, via xnca_model_random) on every CPU path the machine supports
 * (forced with xnca_cpu_force), and the float model FLOAT_MODEL (OpenBLAS SGEMM); each at one
 * thread and at all cores. Prints one markdown table row per run, then the target verdicts.
 *
 * "Cell updates" counts the alive cells that fire (the cells the engine computes), summed over
 * the steps and images; it is computed from the spec 4.2 hash, independently of the engine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xnca_model.h"

#define REPEATS 3 /* best of, for runs shorter than a second */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Alive firing cells over `steps` steps of the first n images (seed 0, image index = i). */
static long count_updates(const xnca_dataset *d, int n, int steps, int fire_t)
{
    long total = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *px = d->images + (size_t)i * d->w * d->h;
        for (int t = 0; t < steps; t++)
            for (int y = 0; y < d->h; y++)
                for (int x = 0; x < d->w; x++) {
                    if (px[y * d->w + x] < XNCA_ALIVE_PIXEL) continue;
                    if (fire_t >= 256 ||
                        (int)(xnca_hash(0, (uint32_t)i, (uint32_t)t, (uint32_t)x, (uint32_t)y, 0) & 0xff) < fire_t)
                        total++;
                }
    }
    return total;
}

typedef struct {
    double updates_per_s, images_per_s;
} bench_result;

static int run(const xnca_model *m, const xnca_dataset *d, int n, int steps, int threads, bench_result *r)
{
    xnca_eval_opts o;
    memset(&o, 0, sizeof(o));
    o.n_report = 1;
    o.report[0] = steps;
    o.mutate_at = -1;
    o.threads = threads;
    xnca_metric met;
    char err[256];
    long updates = count_updates(d, n, steps, m->fire_t);
    double best = 1e30;
    for (int rep = 0; rep < REPEATS; rep++) {
        double t0 = now();
        if (xnca_eval(m, d, n, &o, &met, NULL, err, sizeof(err))) {
            fprintf(stderr, "bench_cpu: eval failed: %s\n", err);
            return -1;
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
        if (dt > 1.0) break;
    }
    r->updates_per_s = (double)updates / best;
    r->images_per_s = (double)n / best;
    return 0;
}

static void row(const char *engine, const char *path, int threads, const bench_result *r)
{
    printf("| %s | %s | %d | %.2f | %.1f |\n", engine, path, threads, r->updates_per_s / 1e6, r->images_per_s);
    fflush(stdout);
}

static int make_quant(xnca_model *m, int bits)
{
    char err[256];
    memset(m, 0, sizeof(*m));
    m->variant = XNCA_QUANT;
    m->grid_w = m->grid_h = 28;
    m->channels = 20;
    m->hidden_channels = 9;
    m->classes = 10;
    m->hidden_layers = 1;
    m->perception_width = 80;
    m->mlp_width = 80;
    m->weight_bits = m->act_bits = bits;
    m->state_bits = 8;
    m->input_bits = 1;
    m->fire_t = 128;
    m->noise_p = 13;
    if (xnca_model_random(m, 1, err, sizeof(err))) {
        fprintf(stderr, "bench_cpu: xnca_model_random: %s\n", err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: bench_cpu FLOAT_MODEL [N_IMAGES] [STEPS]\n");
        return 1;
    }
    int n = argc > 2 ? atoi(argv[2]) : 500, steps = argc > 3 ? atoi(argv[3]) : 20;
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    char err[256];
    xnca_dataset d;
    if (xnca_dataset_open("mnist", "test", &d, err, sizeof(err))) {
        fprintf(stderr, "bench_cpu: %s (run make data)\n", err);
        return 1;
    }
    if (n < 1 || n > d.n || steps < 1) {
        fprintf(stderr, "bench_cpu: bad N_IMAGES or STEPS\n");
        return 1;
    }
    xnca_model fm;
    if (xnca_model_load(argv[1], &fm, err, sizeof(err))) {
        fprintf(stderr, "bench_cpu: %s: %s\n", argv[1], err);
        return 1;
    }
    printf("images %d, steps %d, cores %d, alive firing cell updates per run %ld\n\n", n, steps, cores,
           count_updates(&d, n, steps, 128));
    printf("| engine | path | threads | M cell updates/s | images/s |\n|---|---|---:|---:|---:|\n");

    double w1a1_best_1t = 0, float_1t = 0;
    const char *best_path = "none";
    int thread_counts[2] = {1, cores};
    for (int bits = 1; bits <= 2; bits++) {
        xnca_model qm;
        if (make_quant(&qm, bits)) return 1;
        char name[32];
        snprintf(name, sizeof(name), "quant W%dA%d", bits, bits);
        for (int p = XNCA_CPU_SCALAR; p <= XNCA_CPU_AVX512; p++) {
            if (!xnca_cpu_supported((xnca_cpu_path)p) || xnca_cpu_force((xnca_cpu_path)p)) continue;
            for (int ti = 0; ti < (cores > 1 ? 2 : 1); ti++) {
                bench_result r;
                if (run(&qm, &d, n, steps, thread_counts[ti], &r)) return 1;
                row(name, xnca_cpu_name((xnca_cpu_path)p), thread_counts[ti], &r);
                if (bits == 1 && thread_counts[ti] == 1 && r.updates_per_s > w1a1_best_1t) {
                    w1a1_best_1t = r.updates_per_s;
                    best_path = xnca_cpu_name((xnca_cpu_path)p);
                }
            }
        }
        xnca_model_free(&qm);
    }
    for (int ti = 0; ti < (cores > 1 ? 2 : 1); ti++) {
        bench_result r;
        if (run(&fm, &d, n, steps, thread_counts[ti], &r)) return 1;
        char name[64];
        snprintf(name, sizeof(name), "%s (%s)", xnca_variant_name(fm.variant), argv[1]);
        row(name, "openblas sgemm", thread_counts[ti], &r);
        if (thread_counts[ti] == 1) float_1t = r.updates_per_s;
    }
    printf("\nTARGET w1a1_per_core %.2f M cell updates/s on %s (target >= 20): %s\n", w1a1_best_1t / 1e6, best_path,
           w1a1_best_1t >= 20e6 ? "met" : "NOT met");
    double ratio = float_1t > 0 ? w1a1_best_1t / float_1t : 0;
    printf("TARGET w1a1_vs_float_per_core %.1fx (target >= 10x): %s\n", ratio, ratio >= 10 ? "met" : "NOT met");
    xnca_model_free(&fm);
    xnca_dataset_free(&d);
    return 0;
}
