/* cli_dump.c - `xnca dump-state` (hidden debug command): the raw grid state of images after S
 * steps, for golden checks against independent implementations (tests/golden_distill.py).
 *
 * Output: for each image, h*w*c values in raster order, channel fastest: float32 little-endian
 * for float variants, int8 for quant (channel 0 = the input level / pixel value).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xnca dump-state --model FILE --data mnist|fashion --split test|train -o OUT\n"
               "                       [--index I] [--count N] [--steps S] [--seed K]\n"
               "                       [--fire-t T] [--sigma X] [--noise-p P]\n\n"
               "Writes the state of images I .. I+N-1 (default 0, 1) after S steps (default 1): float32\n"
               "per channel for float models, int8 for quant, h*w*c per image, channel fastest.\n"
               "--fire-t, --sigma and --noise-p override the model's fire threshold and noise\n"
               "(e.g. --fire-t 256 --sigma 0: every alive cell fires, no noise).\n");
}

int cmd_dump_state(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'D'},
        {"split", required_argument, 0, 's'}, {"output", required_argument, 0, 'o'},
        {"index", required_argument, 0, 'i'}, {"count", required_argument, 0, 'c'},
        {"steps", required_argument, 0, 'S'}, {"seed", required_argument, 0, 'k'},
        {"fire-t", required_argument, 0, 'f'}, {"sigma", required_argument, 0, 'g'},
        {"noise-p", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model_path = NULL, *data = NULL, *split = NULL, *out = NULL;
    long index = 0, count = 1, steps = 1, seed = 0, fire_t = -1, noise_p = -1;
    double sigma = -1;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'D': data = optarg; break;
        case 's': split = optarg; break;
        case 'o': out = optarg; break;
        case 'i': bad = cli_parse_int(optarg, 0, 1000000000L, &index); break;
        case 'c': bad = cli_parse_int(optarg, 1, 1000000L, &count); break;
        case 'S': bad = cli_parse_int(optarg, 0, 100000, &steps); break;
        case 'k': bad = cli_parse_int(optarg, 0, 0xffffffffL, &seed); break;
        case 'f': bad = cli_parse_int(optarg, 0, 256, &fire_t); break;
        case 'p': bad = cli_parse_int(optarg, 0, 127, &noise_p); break;
        case 'g': bad = cli_parse_float(optarg, &sigma) || sigma < 0; break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error("dump-state", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("dump-state", "unknown option '%s'", argv[optind - 1]);
        }
        if (bad) return cli_usage_error("dump-state", "bad value '%s' for %s", optarg, argv[optind - 2]);
    }
    if (optind < argc) return cli_usage_error("dump-state", "unexpected argument '%s'", argv[optind]);
    if (!model_path || !data || !split || !out)
        return cli_usage_error("dump-state", "--model, --data, --split and -o are required");

    xnca_model m;
    int rc = cli_load_model("dump-state", model_path, &m);
    if (rc) return rc;
    if (fire_t >= 0) m.fire_t = (int)fire_t;
    if (noise_p >= 0) m.noise_p = (int)noise_p;
    if (sigma >= 0) m.noise_sigma = (float)sigma;
    xnca_dataset d;
    char err[256];
    if (xnca_dataset_open(data, split, &d, err, sizeof(err))) {
        xnca_model_free(&m);
        return cli_error("dump-state", "%s", err);
    }
    FILE *f = NULL;
    if (index + count > d.n) {
        rc = cli_usage_error("dump-state", "images %ld..%ld are outside the split (%d images)", index,
                             index + count - 1, d.n);
        goto out;
    }
    f = fopen(out, "wb");
    if (!f) {
        rc = cli_error("dump-state", "cannot write %s", out);
        goto out;
    }
    xnca_step_opts so = {XNCA_ORDER_RASTER, 0};
    for (long i = index; i < index + count; i++) {
        xnca_grid g;
        const uint8_t *px = d.images + (size_t)i * d.w * d.h;
        if (xnca_grid_init(&m, &g, d.w, d.h, px)) {
            rc = cli_error("dump-state", "cannot set up a %dx%d grid", d.w, d.h);
            goto out;
        }
        for (long t = 0; t < steps; t++) xnca_step(&m, &g, (uint32_t)seed, (uint32_t)i, (uint32_t)t, &so);
        size_t cells = (size_t)g.w * g.h * g.c;
        size_t wrote = m.variant == XNCA_QUANT ? fwrite(g.qs, 1, cells, f) : fwrite(g.fs, sizeof(float), cells, f);
        xnca_grid_free(&g);
        if (wrote != cells) {
            rc = cli_error("dump-state", "write error on %s", out);
            goto out;
        }
    }
out:
    if (f && fclose(f) && !rc) rc = cli_error("dump-state", "write error on %s", out);
    xnca_dataset_free(&d);
    xnca_model_free(&m);
    return rc;
}
