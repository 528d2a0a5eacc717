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

static char *join_command(int argc, char **argv)
{
    size_t n = 16;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    strcpy(s, "xnca");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return s;
}

/* The pruned model's metadata: provenance, the exact command, the source's dataset and license. */
static char *metadata(const xnca_model *fm, const char *model_path, const char *data, const xnca_prune_opts *o,
                      int P, int M, const char *command)
{
    const char *lic = xnca_model_meta(fm, "license");
    char license[1100] = "";
    if (lic) snprintf(license, sizeof(license), "license=%s\n", lic);
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    size_t n = strlen(command) + strlen(license) + strlen(base) + 512;
    char *s = malloc(n);
    if (!s) return NULL;
    snprintf(s, n,
             "dataset=%s\nsource=%s pruned to P=%d M=%d (xnca prune, %s rule, no training; measured on %d %s train "
             "digits x %d steps)\niterations=0\nseed=%u\ncommand=%s\n%s",
             data, base, P, M, o->fold_mean ? "std*|w_out| + mean fold" : "mean|a|*|w_out|", o->calib_n, data,
             o->calib_steps, o->seed, command, license);
    return s;
}

enum { O_MODEL = 256, O_PW, O_MW, O_NOFOLD, O_DATA, O_CALIB, O_CSTEPS, O_SEED };

int cmd_prune(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL},  {"perception-width", required_argument, 0, O_PW},
        {"mlp-width", required_argument, 0, O_MW}, {"no-fold", no_argument, 0, O_NOFOLD},
        {"data", required_argument, 0, O_DATA},    {"calib", required_argument, 0, O_CALIB},
        {"calib-steps", required_argument, 0, O_CSTEPS}, {"seed", required_argument, 0, O_SEED},
        {"output", required_argument, 0, 'o'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model_path = NULL, *out = NULL, *data = NULL;
    long v;
    xnca_prune_opts o;
    xnca_prune_defaults(&o);
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model_path = optarg; break;
        case 'o': out = optarg; break;
        case O_DATA: data = optarg; break;
        case O_PW:
            if (cli_parse_int(optarg, 8, 256, &v)) return cli_usage_error("prune", "--perception-width needs 8..256");
            o.perception_width = (int)v;
            break;
        case O_MW:
            if (cli_parse_int(optarg, 8, 256, &v)) return cli_usage_error("prune", "--mlp-width needs 8..256");
            o.mlp_width = (int)v;
            break;
        case O_NOFOLD: o.fold_mean = 0; break;
        case O_CALIB:
            if (cli_parse_int(optarg, 1, 1000000, &v)) return cli_usage_error("prune", "--calib needs a positive integer");
            o.calib_n = (int)v;
            break;
        case O_CSTEPS:
            if (cli_parse_int(optarg, 1, 100000, &v)) return cli_usage_error("prune", "--calib-steps needs 1..100000");
            o.calib_steps = (int)v;
            break;
        case O_SEED:
            if (cli_parse_int(optarg, 0, 0xffffffffL, &v)) return cli_usage_error("prune", "--seed needs 0..4294967295");
            o.seed = (uint32_t)v;
            break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error("prune", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("prune", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("prune", "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error("prune", "--model FILE is required");
    if (!out) return cli_usage_error("prune", "-o OUT.xnca is required");
    if (data && strcmp(data, "mnist") && strcmp(data, "fashion"))
        return cli_usage_error("prune", "--data must be mnist or fashion, not '%s'", data);

    xnca_model fm;
    int rc = cli_load_model("prune", model_path, &fm);
    if (rc) return rc;
    if (fm.variant != XNCA_FLOAT) {
        rc = cli_error("prune", "%s is a %s model; prune needs a float model", model_path,
                       xnca_variant_name(fm.variant));
        goto out_model;
    }
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
    char data_buf[32] = "mnist";
    if (data) snprintf(data_buf, sizeof(data_buf), "%s", data);
    else if (xnca_model_meta(&fm, "dataset") && !strcmp(xnca_model_meta(&fm, "dataset"), "fashion"))
        snprintf(data_buf, sizeof(data_buf), "fashion");

    xnca_dataset d;
    char err[256];
    memset(&d, 0, sizeof(d));
    if (xnca_dataset_open(data_buf, "train", &d, err, sizeof(err))) {
        rc = cli_error("prune", "%s (run 'make data' to fetch the datasets)", err);
        goto out_model;
    }
    if (o.calib_n > d.n) {
        rc = cli_usage_error("prune", "--calib %d is larger than the %s train split (%d images)", o.calib_n,
                             data_buf, d.n);
        goto out_data;
    }
    o.calib = &d;
    int P = o.perception_width ? o.perception_width : fm.perception_width;
    int M = o.mlp_width ? o.mlp_width : fm.mlp_width;
    char *command = join_command(argc, argv);
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
