/* cli_quantize.c - `xnca quantize`: post-training quantization of a float model into a quant
 * model (models/xnca_ptq.c), calibrated on the first N digits of a training split. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xnca_ptq.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca quantize --model FLOAT.xnca --weight-bits M --act-bits K [OPTIONS] -o OUT.xnca\n\n"
            "Converts a float model into a quant WmAk model without training (docs/spec.md sections 3-6):\n"
            "weights become M-bit odd integers with one scale per output row, every activation (the\n"
            "state seen by perception, each hidden ReLU output) a K-bit level with a range calibrated on\n"
            "the float model's own runs over training digits; biases and scales fold into the quantizer\n"
            "records. The state keeps the float units with an LSB of 1/T, T = max(1, 2^(S-4)).\n\n"
            "  --model FILE        float .xnca model (required)\n"
            "  --weight-bits M     weight bits m, 1..8 (required)\n"
            "  --act-bits K        activation bits k, 1..8 (required)\n"
            "  --state-bits S      state bits, 2..8 (default 8: LSB 1/16, range -8..+7.94)\n"
            "  --input-bits B      input bits of the image channel, 1..4 (default 2)\n"
            "  --noise-p N         quant noise, 0..127 (default: the float sigma at LSB 1/T; Distill 13)\n"
            "  --fire-t F          fire threshold, 0..256 (default: the float model's)\n"
            "  --data NAME         calibration dataset, mnist or fashion (default: the model's\n"
            "                      'dataset' metadata, else mnist); its train split is used\n"
            "  --calib N           calibration digits: the first N of the train split (default 100)\n"
            "  --calib-steps S     steps the float model runs per calibration digit (default 200)\n"
            "  --clip mse|max      ranges of weights and activations: least squared error (default)\n"
            "                      or the observed maximum\n"
            "  --no-bias-correction  do not fold the mean weight-rounding error into the biases\n"
            "  --seed K            seed of the calibration runs' fire mask and noise (default 0)\n"
            "  -o, --output FILE   the quant model to write (required)\n"
            "  --help              this text\n\n"
            "Exit status: 0 ok, 1 bad usage or bad input.\n");
}

/* The quant model's metadata: provenance, the exact command, the source's license. */
static char *metadata(const xnca_model *fm, const char *model_path, const char *data, const xnca_ptq_opts *o,
                      const char *command)
{
    char source[512];
    snprintf(source, sizeof(source),
             "%s PTQ (xnca quantize: post-training quantization, no training; calibrated on %d %s train digits x %d "
             "steps)",
             cli_basename(model_path), o->calib_n, data, o->calib_steps);
    return cli_derived_meta(fm, data, source, o->seed, command);
}

static void print_summary(const char *out, const xnca_model *qm, const xnca_ptq_report *rep)
{
    printf("wrote %s: quant W%dA%d, state %d bits, input %d bits, fire_t %d, noise_p %d, weight_bytes %zu\n", out,
           qm->weight_bits, qm->act_bits, qm->state_bits, qm->input_bits, qm->fire_t, qm->noise_p,
           xnca_model_weight_bytes(qm));
    printf("calibration: %ld cell samples\n", rep->calib_samples);
    printf("weight rounding error (RMS, relative):");
    for (int l = 0; l < rep->layers; l++) printf(" layer %d %.3f", l, rep->weight_rel_err[l]);
    printf("\nrecords: %d, %d with the shift limited by |add| < 2^23 (gain moved into the weights), %d with |mul| < 16\n", rep->records,
           rep->add_limited, rep->weak_mul);
    printf("input ranges (float units):");
    for (int c = 0; c < qm->channels; c++) printf(" %d:[%.3g,%.3g]", c, rep->in_lo[c], rep->in_hi[c]);
    printf("\n");
}

enum { O_MODEL = 256, O_WBITS, O_ABITS, O_SBITS, O_IBITS, O_NOISE, O_FIRE, O_CLIP, O_NOBC };

int cmd_quantize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL},      {"weight-bits", required_argument, 0, O_WBITS},
        {"act-bits", required_argument, 0, O_ABITS},   {"state-bits", required_argument, 0, O_SBITS},
        {"input-bits", required_argument, 0, O_IBITS}, {"noise-p", required_argument, 0, O_NOISE},
        {"fire-t", required_argument, 0, O_FIRE},      CLI_CALIB_OPTIONS,
        {"clip", required_argument, 0, O_CLIP},        {"no-bias-correction", no_argument, 0, O_NOBC},
        {"output", required_argument, 0, 'o'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model_path = NULL, *out = NULL;
    long wb = -1, ab = -1, v;
    xnca_ptq_opts o;
    xnca_ptq_defaults(&o);
    cli_calib cal = {NULL, o.calib_n, o.calib_steps, o.seed};
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        int r = cli_calib_option("quantize", c, optarg, &cal);
        if (r > 0) return r;
        if (r == 0) continue;
        switch (c) {
        case O_MODEL: model_path = optarg; break;
        case 'o': out = optarg; break;
        case O_WBITS:
            if (cli_parse_int(optarg, 1, 8, &wb)) return cli_usage_error("quantize", "--weight-bits needs 1..8");
            break;
        case O_ABITS:
            if (cli_parse_int(optarg, 1, 8, &ab)) return cli_usage_error("quantize", "--act-bits needs 1..8");
            break;
        case O_SBITS:
            if (cli_parse_int(optarg, 2, 8, &v)) return cli_usage_error("quantize", "--state-bits needs 2..8");
            o.state_bits = (int)v;
            break;
        case O_IBITS:
            if (cli_parse_int(optarg, 1, 4, &v)) return cli_usage_error("quantize", "--input-bits needs 1..4");
            o.input_bits = (int)v;
            break;
        case O_NOISE:
            if (cli_parse_int(optarg, 0, 127, &v)) return cli_usage_error("quantize", "--noise-p needs 0..127");
            o.noise_p = (int)v;
            break;
        case O_FIRE:
            if (cli_parse_int(optarg, 0, 256, &v)) return cli_usage_error("quantize", "--fire-t needs 0..256");
            o.fire_t = (int)v;
            break;
        case O_CLIP:
            if (!strcmp(optarg, "mse")) o.weight_clip = o.act_clip = XNCA_PTQ_CLIP_MSE;
            else if (!strcmp(optarg, "max")) o.weight_clip = o.act_clip = XNCA_PTQ_CLIP_MAX;
            else return cli_usage_error("quantize", "--clip must be mse or max, not '%s'", optarg);
            break;
        case O_NOBC: o.bias_correction = 0; break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error("quantize", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("quantize", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("quantize", "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error("quantize", "--model FILE is required");
    if (wb < 0) return cli_usage_error("quantize", "--weight-bits M is required");
    if (ab < 0) return cli_usage_error("quantize", "--act-bits K is required");
    if (!out) return cli_usage_error("quantize", "-o OUT.xnca is required");
    if (cal.data && cli_check_data("quantize", cal.data)) return XNCA_EXIT_USAGE;
    o.weight_bits = (int)wb;
    o.act_bits = (int)ab;
    o.calib_n = cal.calib_n;
    o.calib_steps = cal.calib_steps;
    o.seed = cal.seed;

    xnca_model fm;
    int rc = cli_load_float_model("quantize", model_path, &fm);
    if (rc) return rc;
    char data_buf[32];
    xnca_dataset d;
    char err[256];
    if ((rc = cli_calib_dataset("quantize", &cal, &fm, data_buf, sizeof(data_buf), &d))) {
        xnca_model_free(&fm);
        return rc;
    }
    o.calib = &d;
    char *command = cli_join_command(argc, argv);
    char *meta = command ? metadata(&fm, model_path, data_buf, &o, command) : NULL;
    free(command);
    if (!meta) {
        rc = cli_error("quantize", "out of memory");
        goto out_data;
    }
    o.meta = meta;
    xnca_model qm;
    xnca_ptq_report rep;
    if (xnca_ptq_quantize(&fm, &o, &qm, &rep, err, sizeof(err)) != 0) {
        rc = cli_error("quantize", "%s", err);
    } else {
        if (xnca_model_save(out, &qm, err, sizeof(err)) != 0) rc = cli_error("quantize", "%s", err);
        else print_summary(out, &qm, &rep);
        xnca_model_free(&qm);
    }
    free(meta);
out_data:
    xnca_dataset_free(&d);
    xnca_model_free(&fm);
    return rc;
}
