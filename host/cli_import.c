/* cli_import.c - `xnca import-distill`: Distill's TF.js model.json -> a float .xnca model. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "xnca_distill.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xnca import-distill FILE -o OUT.xnca\n\n"
               "Converts the TF.js graph model of Distill's \"Self-classifying MNIST Digits\" demo\n"
               "(models/third_party/distill/model.json, CC-BY-4.0) into a float model (docs/spec.md\n"
               "section 10): perception [P][9*C], hidden and output layers with biases, fire_t 128\n"
               "(rate 0.5), noise sigma 0.02, source and license metadata.\n\n"
               "  -o, --output OUT  model file to write (required)\n"
               "  --help            this text\n");
}

int cmd_import_distill(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error("import-distill", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("import-distill", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error("import-distill", "the input FILE (model.json) is required");
    if (optind + 1 < argc) return cli_usage_error("import-distill", "unexpected argument '%s'", argv[optind + 1]);
    if (!out) return cli_usage_error("import-distill", "-o OUT.xnca is required");
    const char *in = argv[optind];
    xnca_model m;
    char err[320];
    if (xnca_distill_import(in, &m, err, sizeof(err))) return cli_error("import-distill", "%s", err);
    int rc = XNCA_EXIT_OK;
    if (xnca_model_save(out, &m, err, sizeof(err))) rc = cli_error("import-distill", "%s: %s", out, err);
    else
        printf("wrote %s: float, C=%d, P=%d, M=%d, %ld parameters\n", out, m.channels, m.perception_width,
               m.mlp_width, xnca_model_params(&m));
    xnca_model_free(&m);
    return rc;
}
