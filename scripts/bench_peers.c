/* bench_peers.c - the C-engine peers of `make bench` (scripts/bench.py, docs/benchmarks.md).
 *
 * usage: bench_peers FLOAT_MODEL [QUANT_MODEL|-] [N_IMAGES] [STEPS]
 *
 * Times xnca_eval (one report step = STEPS, default 20) on the first N_IMAGES (default 500) MNIST
 * test digits, seed 0, and prints one JSON object:
 *   peers: c-bnn-1t / c-bnn-all (the quant model on the best CPU path the machine has, 1 thread /
 *          all cores), c-float-1t / c-float-all (FLOAT_MODEL, OpenBLAS SGEMM);
 *   model: "shipped" when QUANT_MODEL is given, else "w1a1" (a random W1A1 model of Distill's
 *          dimensions from xnca_model_random, as scripts/bench_cpu.c);
 *   updates_per_image: alive firing cells per image (spec 4.2 hash, independent of the engine)
 *          at 20, 50 and 200 steps over the same digits: the work a device does per image.
 * Rates are the best of up to 3 runs (runs over a second count once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xnca_model.h"

#define REPEATS 3

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
        for (int y = 0; y < d->h; y++)
            for (int x = 0; x < d->w; x++) {
                if (px[y * d->w + x] < XNCA_ALIVE_PIXEL) continue;
                for (int t = 0; t < steps; t++)
                    if (fire_t >= 256 ||
                        (int)(xnca_hash(0, (uint32_t)i, (uint32_t)t, (uint32_t)x, (uint32_t)y, 0) & 0xff) < fire_t)
                        total++;
            }
    }
    return total;
}

/* Images/s of xnca_eval over the first n digits; < 0 on failure. *metric gets the accuracy. */
static double images_per_s(const xnca_model *m, const xnca_dataset *d, int n, int steps, int threads,
                           xnca_metric *metric)
{
    xnca_eval_opts o;
    memset(&o, 0, sizeof(o));
    o.n_report = 1;
    o.report[0] = steps;
    o.mutate_at = -1;
    o.threads = threads;
    char err[256];
    double best = 1e30;
    for (int rep = 0; rep < REPEATS; rep++) {
        double t0 = now();
        if (xnca_eval(m, d, n, &o, metric, NULL, err, sizeof(err))) {
            fprintf(stderr, "bench_peers: eval failed: %s\n", err);
            return -1;
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
        if (dt > 1.0) break;
    }
    return (double)n / best;
}

static int random_w1a1(xnca_model *m)
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
    m->weight_bits = m->act_bits = 1;
    m->state_bits = 8;
    m->input_bits = 2;
    m->fire_t = 128;
    m->noise_p = 13;
    if (xnca_model_random(m, 1, err, sizeof(err))) {
        fprintf(stderr, "bench_peers: xnca_model_random: %s\n", err);
        return -1;
    }
    return 0;
}

static void peer(int *first, const char *name, const char *model, const char *path, int threads, int steps,
                 double ips, const xnca_metric *met)
{
    printf("%s    {\"name\": \"%s\", \"model\": \"%s\", \"path\": \"%s\", \"threads\": %d, \"steps\": %d, "
           "\"images_per_s\": %.2f, \"cell_accuracy\": %.3f, \"image_accuracy\": %.3f}",
           *first ? "" : ",\n", name, model, path, threads, steps, ips, met->cell_accuracy, met->image_accuracy);
    *first = 0;
    fprintf(stderr, "bench_peers: %s (%s, %s, %d threads): %.1f images/s\n", name, model, path, threads, ips);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: bench_peers FLOAT_MODEL [QUANT_MODEL|-] [N_IMAGES] [STEPS]\n");
        return 1;
    }
    const char *qpath = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
    int n = argc > 3 ? atoi(argv[3]) : 500, steps = argc > 4 ? atoi(argv[4]) : 20;
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    char err[256];
    xnca_dataset d;
    if (xnca_dataset_open("mnist", "test", &d, err, sizeof(err))) {
        fprintf(stderr, "bench_peers: %s (run make data)\n", err);
        return 1;
    }
    if (n < 1 || n > d.n || steps < 1) {
        fprintf(stderr, "bench_peers: N_IMAGES must be 1 .. %d and STEPS >= 1\n", d.n);
        return 1;
    }
    xnca_model fm, qm;
    if (xnca_model_load(argv[1], &fm, err, sizeof(err))) {
        fprintf(stderr, "bench_peers: %s: %s\n", argv[1], err);
        return 1;
    }
    if (fm.variant == XNCA_QUANT) {
        fprintf(stderr, "bench_peers: %s: FLOAT_MODEL must be a float-variant model\n", argv[1]);
        return 1;
    }
    if (qpath) {
        if (xnca_model_load(qpath, &qm, err, sizeof(err))) {
            fprintf(stderr, "bench_peers: %s: %s\n", qpath, err);
            return 1;
        }
        if (qm.variant != XNCA_QUANT) {
            fprintf(stderr, "bench_peers: %s: QUANT_MODEL must be a quant model\n", qpath);
            return 1;
        }
    } else if (random_w1a1(&qm)) {
        return 1;
    }
    const char *qname = qpath ? "shipped" : "w1a1";
    const char *path = xnca_cpu_name(xnca_cpu_active());

    printf("{\n  \"images\": %d, \"steps\": %d, \"cores\": %d, \"cpu_path\": \"%s\",\n", n, steps, cores, path);
    printf("  \"quant_model\": \"%s\", \"quant_bits\": [%d, %d], \"float_model\": \"%s\",\n",
           qpath ? qpath : "random W1A1 (xnca_model_random seed 1), Distill dimensions", qm.weight_bits,
           qm.act_bits, argv[1]);
    printf("  \"updates_per_image\": {");
    static const int counted[3] = {20, 50, 200};
    for (int s = 0; s < 3; s++)
        printf("%s\"%d\": %.2f", s ? ", " : "", counted[s],
               (double)count_updates(&d, n, counted[s], qm.fire_t) / n);
    printf("},\n  \"peers\": [\n");
    fflush(stdout);

    int first = 1;
    xnca_metric met;
    double r;
    if ((r = images_per_s(&qm, &d, n, steps, 1, &met)) < 0) return 1;
    peer(&first, "c-bnn-1t", qname, path, 1, steps, r, &met);
    if ((r = images_per_s(&qm, &d, n, steps, cores, &met)) < 0) return 1;
    peer(&first, "c-bnn-all", qname, path, cores, steps, r, &met);
    if ((r = images_per_s(&fm, &d, n, steps, 1, &met)) < 0) return 1;
    peer(&first, "c-float-1t", "float", "openblas sgemm", 1, steps, r, &met);
    if ((r = images_per_s(&fm, &d, n, steps, cores, &met)) < 0) return 1;
    peer(&first, "c-float-all", "float", "openblas sgemm", cores, steps, r, &met);
    printf("\n  ]\n}\n");
    xnca_model_free(&fm);
    xnca_model_free(&qm);
    xnca_dataset_free(&d);
    return 0;
}
