/* cli_prune.c - `xnca prune`: narrow a float model's perception and/or hidden layers by removing
 * the least important units (models/xnca_prune.c), measured on the first N training digits. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xnca_prune.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca prune --model FLOAT.xnca [--perception-width P] [--mlp-width M] [OPTIONS] -o OUT.xnca\n\n"
            "Removes perception outputs and/or hidden units of a float model (structured pruning), so\n"
            "that it fits a smaller envelope and `xnca train --init` can fine-tune the result. The float\n"
            "model runs the first N training digits; at sample steps (1..10, then every 10th) each alive\n"
            "cell's ReLU outputs a_j are measured. Unit j of layer l is worth\n"
            "    importance_j = std(a_j) * ||W_{l+1}[:, j]||_2\n"
            "(its fluctuation as the next layer sees it); the least important units are removed and their\n"
            "mean activation folds into the next layer's bias (b_o += W_{l+1}[o][j] * mean(a_j)).\n"
            "--no-fold uses importance_j = mean|a_j| * ||W_{l+1}[:, j]||_2 and folds nothing. Everything\n"
            "else (other weights, biases, fire_t, noise) is copied. A width equal to the model's removes\n"
            "nothing.\n\n"
            "  --model FILE            float .xnca model (required)\n"
            "  --perception-width P    perception outputs to keep, 8..current (default: all)\n"
            "  --mlp-width M           units to keep in every hidden layer, 8..current (default: all)\n"
            "  --no-fold               plain rule: mean|a| importance, no mean folded into the biases\n"
            "  --data NAME             calibration dataset, mnist or fashion (default: the model's\n"
            "                          'dataset' metadata, else mnist); its train split is used\n"
            "  --calib N               calibration digits: the first N of the train split (default 100)\n"
            "  --calib-steps S         steps the model runs per calibration digit (default 200)\n"
            "  --seed K                seed of the calibration runs' fire mask and noise (default 0)\n"
            "  -o, --output FILE       the pruned float model to write (required)\n"
            "  --help                  this text\n\n"
            "Exit status: 0 ok, 1 bad usage or bad input.\n");
}

/* The pruned model's metadata: provenance, the exact command, the source's dataset and license. */
static char *metadata(const xnca_model *fm, const char *model_path, const char *data, const xnca_prune_opts *o,
                      int P, int M, const char *command)
{
    char source[512];
    snprintf(source, sizeof(source),
             "%s pruned to P=%d M=%d (xnca prune, %s rule, no training; measured on %d %s train digits x %d steps)",
             cli_basename(model_path), P, M, o->fold_mean ? "std*|w_out| + mean fold" : "mean|a|*|w_out|", o->calib_n,
             data, o->calib_steps);
    return cli_derived_meta(fm, data, source, o->seed, command);
}

enum { O_MODEL = 256, O_PW, O_MW, O_NOFOLD };

int cmd_prune(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL},  {"perception-width", required_argument, 0, O_PW},
        {"mlp-width", required_argument, 0, O_MW}, {"no-fold", no_argument, 0, O_NOFOLD},
        CLI_CALIB_OPTIONS,                         {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    const char *model_path = NULL, *out = NULL;
    long v;
    xnca_prune_opts o;
    xnca_prune_defaults(&o);
    cli_calib cal = {NULL, o.calib_n, o.calib_steps, o.seed};
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        int r = cli_calib_option("prune", c, optarg, &cal);
        if (r > 0) return r;
        if (r == 0) continue;
        switch (c) {
        case O_MODEL: model_path = optarg; break;
        case 'o': out = optarg; break;
        case O_PW:
            if (cli_parse_int(optarg, 8, 256, &v)) return cli_usage_error("prune", "--perception-width needs 8..256");
            o.perception_width = (int)v;
            break;
        case O_MW:
            if (cli_parse_int(optarg, 8, 256, &v)) return cli_usage_error("prune", "--mlp-width needs 8..256");
            o.mlp_width = (int)v;
            break;
        case O_NOFOLD: o.fold_mean = 0; break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error("prune", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("prune", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("prune", "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error("prune", "--model FILE is required");
    if (!out) return cli_usage_error("prune", "-o OUT.xnca is required");
    if (cal.data && cli_check_data("prune", cal.data)) return XNCA_EXIT_USAGE;
    o.calib_n = cal.calib_n;
    o.calib_steps = cal.calib_steps;
    o.seed = cal.seed;

    xnca_model fm;
    int rc = cli_load_float_model("prune", model_path, &fm);
    if (rc) return rc;
    if (o.perception_width > fm.perception_width) {
        rc = cli_usage_error("prune", "--perception-width %d is wider than the model's %d", o.perception_width,
                             fm.perception_width);
        goto out_model;
    }
    if (o.mlp_width && fm.hidden_layers == 0) {
        rc = cli_usage_error("prune", "--mlp-width: %s has no hidden layer", model_path);
        goto out_model;
    }
    if (o.mlp_width > fm.mlp_width) {
        rc = cli_usage_error("prune", "--mlp-width %d is wider than the model's %d", o.mlp_width, fm.mlp_width);
        goto out_model;
    }
    char data_buf[32];
    xnca_dataset d;
    char err[256];
    if ((rc = cli_calib_dataset("prune", &cal, &fm, data_buf, sizeof(data_buf), &d))) goto out_model;
    o.calib = &d;
    int P = o.perception_width ? o.perception_width : fm.perception_width;
    int M = o.mlp_width ? o.mlp_width : fm.mlp_width;
    char *command = cli_join_command(argc, argv);
    char *meta = command ? metadata(&fm, model_path, data_buf, &o, P, M, command) : NULL;
    free(command);
    if (!meta) {
        rc = cli_error("prune", "out of memory");
        goto out_data;
    }
    o.meta = meta;
    xnca_model pm;
    xnca_prune_report rep;
    if (xnca_prune(&fm, &o, &pm, &rep, err, sizeof(err)) != 0) {
        rc = cli_error("prune", "%s", err);
    } else {
        if (xnca_model_save(out, &pm, err, sizeof(err)) != 0) {
            rc = cli_error("prune", "%s", err);
        } else {
            printf("wrote %s: float, perception %d -> %d, hidden %d -> %d (%d layer(s)), params %ld -> %ld\n", out,
                   fm.perception_width, pm.perception_width, fm.mlp_width, pm.mlp_width, pm.hidden_layers,
                   xnca_model_params(&fm), xnca_model_params(&pm));
            printf("measured %ld cell samples; rule: %s\n", rep.samples,
                   o.fold_mean ? "std(a)*|w_out|, removed means folded into the next bias" : "mean|a|*|w_out|");
            for (int l = 0; l < fm.n_layers - 1; l++)
                printf("layer %d: removed %d units, importance kept %.2f%%, largest removed %.2f x mean\n", l,
                       rep.removed[l], 100.0 * rep.kept_share[l], rep.max_removed[l]);
        }
        xnca_model_free(&pm);
    }
    free(meta);
out_data:
    xnca_dataset_free(&d);
out_model:
    xnca_model_free(&fm);
    return rc;
}
