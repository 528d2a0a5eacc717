/* top_cycles.c - cycle counts of a device (normally the Verilated top, `sim:BOARD`) on MNIST
 * test digits, from the CLASSIFY reply's per-image `cycles` field (docs/protocol.md 3.4).
 *
 *   xnca-top-cycles --device D --model FILE --name NAME --n N --steps S [--first I]
 *                   [--grid N] [--fire-t T] [--dense]
 *
 * prints one JSON object in the run format of scripts/bench.py load_cycles() (board = the
 * device's INFO board without a "sim:" prefix), including cell_updates_per_image: the alive
 * firing cells per image (spec 4.2: alive pixels x fire hash; the work the array must do).
 * Scaling runs (docs/benchmarks.md, scripts/bench-scaling):
 *   --grid N    instead of --model: a random W1A1 model of Distill's dimensions on an N x N grid
 *               (xnca selftest's seed); the digits are centred in it (cropped or zero-padded).
 *   --fire-t T  the model's fire threshold replaced by T (0..256): fewer or more firing cells.
 *   --dense     every pixel 255: every cell alive (with --fire-t 256 the dense sweep).
 * Exit 0, 1 usage, 2 device, 3 a zero cycle count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca.h"
#include "xnca_model.h"

static int usage(void)
{
    fprintf(stderr, "usage: xnca-top-cycles --device D (--model FILE | --grid N) --name NAME --n N --steps S\n"
                    "                       [--first I] [--fire-t T] [--dense]\n");
    return 1;
}

/* Random W1A1 model of Distill's dimensions on a side x side grid (xnca selftest's seed). */
static int random_model(xnca_model *m, int side, char *err, size_t errlen)
{
    *m = (xnca_model){.variant = XNCA_QUANT, .grid_w = side, .grid_h = side, .channels = 20, .hidden_channels = 9,
                      .classes = 10, .hidden_layers = 1, .perception_width = 80, .mlp_width = 80, .weight_bits = 1,
                      .act_bits = 1, .state_bits = 8, .input_bits = 1, .fire_t = 128, .noise_p = 2};
    return xnca_model_random(m, 0x5e1f7e57u, err, errlen);
}

/* Digit `src` (sw x sh) centred in a w x h image: cropped or zero-padded. */
static void place_digit(const uint8_t *src, int sw, int sh, uint8_t *dst, int w, int h)
{
    memset(dst, 0, (size_t)w * h);
    int ox = (w - sw) / 2, oy = (h - sh) / 2;
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++)
            if (x + ox >= 0 && x + ox < w && y + oy >= 0 && y + oy < h)
                dst[(y + oy) * w + x + ox] = src[y * sw + x];
}

/* Alive firing cells of image `index` over `steps` steps (seed 0): spec 4.2. */
static long firing_cells(const uint8_t *px, int w, int h, uint32_t index, int steps, int fire_t)
{
    long total = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (px[y * w + x] < XNCA_ALIVE_PIXEL)
                continue;
            for (int t = 0; t < steps; t++)
                if (fire_t >= 256 || (int)(xnca_hash(0, index, (uint32_t)t, (uint32_t)x, (uint32_t)y, 0) & 0xff) < fire_t)
                    total++;
        }
    return total;
}

int main(int argc, char **argv)
{
    const char *dev_spec = "sim", *model_path = NULL, *name = "model";
    int n = 10, steps = 20, first = 0, grid = 0, fire_t = -1, dense = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dense")) {
            dense = 1;
            continue;
        }
        if (!v)
            return usage();
        if (!strcmp(a, "--device")) dev_spec = v;
        else if (!strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "--name")) name = v;
        else if (!strcmp(a, "--n")) n = atoi(v);
        else if (!strcmp(a, "--steps")) steps = atoi(v);
        else if (!strcmp(a, "--first")) first = atoi(v);
        else if (!strcmp(a, "--grid")) grid = atoi(v);
        else if (!strcmp(a, "--fire-t")) fire_t = atoi(v);
        else return usage();
        i++;
    }
    if (!model_path == !grid || n < 1 || steps < 1 || steps > 65535 || first < 0 || (grid && (grid < 8 || grid > 255)) ||
        fire_t > 256 || fire_t < -1)
        return usage();
    char err[512];
    xnca_model m;
    if ((model_path ? xnca_model_load(model_path, &m, err, sizeof err) : random_model(&m, grid, err, sizeof err)) < 0) {
        fprintf(stderr, "xnca-top-cycles: %s\n", err);
        return 1;
    }
    if (fire_t >= 0)
        m.fire_t = fire_t;
    uint8_t *file = NULL;
    size_t file_len = xnca_model_serialize(&m, &file);
    if (!file_len) {
        fprintf(stderr, "xnca-top-cycles: cannot serialize the model\n");
        return 1;
    }
    xnca_dataset d;
    if (xnca_dataset_open("mnist", "test", &d, err, sizeof err) < 0) {
        fprintf(stderr, "xnca-top-cycles: %s\n", err);
        return 1;
    }
    if (first + n > d.n || (!grid && (d.w != m.grid_w || d.h != m.grid_h))) {
        fprintf(stderr, "xnca-top-cycles: images %d..%d not in the split or wrong grid\n", first, first + n - 1);
        return 1;
    }
    size_t cells = (size_t)m.grid_w * m.grid_h;
    uint8_t *px = malloc((size_t)n * cells);
    if (!px)
        return 2;
    long updates = 0;
    for (int i = 0; i < n; i++) {
        uint8_t *img = px + (size_t)i * cells;
        if (dense)
            memset(img, 255, cells);
        else
            place_digit(d.images + (size_t)(first + i) * d.w * d.h, d.w, d.h, img, m.grid_w, m.grid_h);
        updates += firing_cells(img, m.grid_w, m.grid_h, (uint32_t)(first + i), steps, m.fire_t);
    }
    xnca_dev *dev;
    int rc = xnca_open(dev_spec, NULL, &dev, err, sizeof err);
    if (rc) {
        fprintf(stderr, "xnca-top-cycles: %s\n", err);
        return rc;
    }
    if ((rc = xnca_load_model_mem(dev, file, file_len))) {
        fprintf(stderr, "xnca-top-cycles: %s\n", xnca_error(dev));
        xnca_close(dev);
        return rc;
    }
    xnca_run_opts o = XNCA_RUN_OPTS_INIT;
    o.steps = steps;
    o.n_report = 1;
    o.report[0] = steps;
    o.image_index = (uint32_t)first;
    xnca_result *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return 2;
    rc = xnca_classify(dev, &o, n, px, NULL, r);
    if (rc) {
        fprintf(stderr, "xnca-top-cycles: %s\n", xnca_error(dev));
        xnca_close(dev);
        return rc;
    }
    double sum = 0;
    uint32_t lo = 0xffffffffu, hi = 0;
    for (int i = 0; i < n; i++) {
        sum += r[i].cycles;
        lo = r[i].cycles < lo ? r[i].cycles : lo;
        hi = r[i].cycles > hi ? r[i].cycles : hi;
    }
    const xnca_device_info *in = xnca_info(dev);
    const char *board = in->board;
    long synapses = 0; /* synapses per cell update: every layer's n_in x n_out */
    for (int l = 0; l < m.n_layers; l++)
        synapses += (long)m.layer[l].n_in * m.layer[l].n_out;
    if (!strncmp(board, "sim:", 4))
        board += 4;
    printf("{\"board\": \"%s\", \"model\": \"%s\", \"weight_bits\": %d, \"act_bits\": %d, \"steps\": %d, "
           "\"images\": %d, \"first_image\": %d, \"cycles_per_image\": %.1f, \"cycles_per_step\": %.2f, "
           "\"cycles_min\": %u, \"cycles_max\": %u, \"clock_hz\": %u, \"build_id\": \"%08x\", "
           "\"grid_bits\": %d, \"max_payload\": %u, \"cell_updates_per_image\": %.2f, \"grid_w\": %d, "
           "\"grid_h\": %d, \"fire_t\": %d, \"dense\": %s, \"units\": %u, \"syn_bits\": %u, \"synapses\": %ld}\n",
           board, name, m.weight_bits, m.act_bits, steps, n, first, sum / n, sum / n / steps, lo, hi, in->clock_hz,
           in->build_id, m.input_bits, in->max_payload, (double)updates / n, m.grid_w, m.grid_h, m.fire_t,
           dense ? "true" : "false", (unsigned)in->units, (unsigned)in->synapse_bits_per_unit, synapses);
    free(r);
    free(px);
    free(file);
    xnca_close(dev);
    xnca_dataset_free(&d);
    xnca_model_free(&m);
    return lo == 0 ? 3 : 0;
}
