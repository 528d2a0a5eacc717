/* top_cycles.c - cycle counts of a device (normally the Verilated top, `sim:BOARD`) on MNIST
 * test digits, from the CLASSIFY reply's per-image `cycles` field (docs/protocol.md 3.4).
 *
 *   xnca-top-cycles --device D --model FILE --name NAME --n N --steps S [--first I]
 *
 * prints one JSON object in the run format of scripts/bench.py load_cycles() (board = the
 * device's INFO board without a "sim:" prefix). Exit 0, 1 usage, 2 device, 3 a zero cycle count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca.h"
#include "xnca_model.h"

static int usage(void)
{
    fprintf(stderr, "usage: xnca-top-cycles --device D --model FILE --name NAME --n N --steps S [--first I]\n");
    return 1;
}

int main(int argc, char **argv)
{
    const char *dev_spec = "sim", *model_path = NULL, *name = "model";
    int n = 10, steps = 20, first = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (!strcmp(a, "--device")) dev_spec = v;
        else if (!strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "--name")) name = v;
        else if (!strcmp(a, "--n")) n = atoi(v);
        else if (!strcmp(a, "--steps")) steps = atoi(v);
        else if (!strcmp(a, "--first")) first = atoi(v);
        else return usage();
        i++;
    }
    if (!model_path || n < 1 || steps < 1 || steps > 65535 || first < 0)
        return usage();
    char err[512];
    xnca_model m;
    if (xnca_model_load(model_path, &m, err, sizeof err) < 0) {
        fprintf(stderr, "xnca-top-cycles: %s\n", err);
        return 1;
    }
    xnca_dataset d;
    if (xnca_dataset_open("mnist", "test", &d, err, sizeof err) < 0) {
        fprintf(stderr, "xnca-top-cycles: %s\n", err);
        return 1;
    }
    if (first + n > d.n || d.w != m.grid_w || d.h != m.grid_h) {
        fprintf(stderr, "xnca-top-cycles: images %d..%d not in the split or wrong grid\n", first, first + n - 1);
        return 1;
    }
    xnca_dev *dev;
    int rc = xnca_open(dev_spec, NULL, &dev, err, sizeof err);
    if (rc) {
        fprintf(stderr, "xnca-top-cycles: %s\n", err);
        return rc;
    }
    if ((rc = xnca_load_model_file(dev, model_path))) {
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
    rc = xnca_classify(dev, &o, n, d.images + (size_t)first * d.w * d.h, NULL, r);
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
    if (!strncmp(board, "sim:", 4))
        board += 4;
    printf("{\"board\": \"%s\", \"model\": \"%s\", \"weight_bits\": %d, \"act_bits\": %d, \"steps\": %d, "
           "\"images\": %d, \"first_image\": %d, \"cycles_per_image\": %.1f, \"cycles_per_step\": %.2f, "
           "\"cycles_min\": %u, \"cycles_max\": %u, \"clock_hz\": %u, \"build_id\": \"%08x\", "
           "\"grid_bits\": %d, \"max_payload\": %u}\n",
           board, name, m.weight_bits, m.act_bits, steps, n, first, sum / n, sum / n / steps, lo, hi, in->clock_hz,
           in->build_id, m.input_bits, in->max_payload);
    free(r);
    xnca_close(dev);
    xnca_dataset_free(&d);
    xnca_model_free(&m);
    return lo == 0 ? 3 : 0;
}
