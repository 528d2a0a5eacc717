/* cli_train.c - `xnca train`: train a model with backpropagation through time
 * (models/xnca_train.h), from scratch, from a model file (--init) or from a
 * checkpoint (--resume). Progress goes to stderr; the model to -o. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xnca_train.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca train [OPTIONS] -o OUT.xnca\n\n"
            "Trains a self-classifying NCA with backpropagation through time over the CA steps,\n"
            "Distill's recipe by default: a pool of 160 states, batches of 16 (4 fresh digits,\n"
            "4 mutated, 8 kept), 20 steps per iteration, pixel-wise L2 loss on one-hot targets\n"
            "at alive cells, Adam with per-tensor gradient normalization, lr 1e-3 decayed x0.1\n"
            "at 30k and 70k iterations. quant models train with the spec's exact integer forward\n"
            "pass and straight-through estimators (docs/spec.md sections 3-7, 11).\n\n"
            "Model:\n"
            "  --variant V          float, bwn, ban or quant (default quant)\n"
            "  --weight-bits M      quant weight bits 1..8 (default 1)\n"
            "  --act-bits K         quant activation bits 1..8 (default 1)\n"
            "  --state-bits S       quant state bits 2..8 (default 8)\n"
            "  --input-bits B       quant input bits 1..4 (default 2)\n"
            "  --hidden-channels H  hidden state channels (default 9; C = H + 11)\n"
            "  --perception-width P perception outputs (default 80)\n"
            "  --mlp-width M        hidden layer width (default 80)\n"
            "  --hidden-layers L    0..2 (default 1)\n"
            "  --noise X            quant: noise_p 0..127 (default 13); float: sigma (default 0.02)\n"
            "  --fire-rate R        0..1 (default 0.5)\n"
            "  --weight-init X      quant: shadow weights start uniform in +-X (default 0.05)\n"
            "  --out-init X         quant: initial residual scale per sum std, float units (default 0.05)\n"
            "  --data-init 0|1      quant from scratch: calibrate the quantizers on the first pool\n"
            "                       digits' sums (1, default) or use the analytic normalizers (0)\n"
            "  --ste clip|recover   quant clamps pass gradient inside their range only (clip), or also\n"
            "                       where it moves a value back into range (recover, default)\n"
            "  --in-range X         quant: state inputs start quantized over +-X float units (default 2)\n"
            "  --weight-codes odd|ternary\n"
            "                       odd: the spec's codes (default). ternary: a diagnostic outside the\n"
            "                       spec for W1 only, codes -1/0/+1 (zero below 0.7 x the row's mean\n"
            "                       |w|); it cannot be exported, so it takes no -o or checkpoints\n"
            "  --act-codes odd|ternary\n"
            "                       odd: the spec's codes (default). ternary: a diagnostic outside the\n"
            "                       spec for A2 only, the levels 0/1/2/3 act as -1/0/0/+1; as above,\n"
            "                       no -o or checkpoints\n"
            "Training:\n"
            "  --data NAME          mnist or fashion (default mnist; files under $XNCA_DATA or ./data)\n"
            "  --train-n N          use only the first N training images (default all)\n"
            "  --iters N            iterations (default 100000)\n"
            "  --batch B            batch size (default 16; B/4 fresh, B/4 mutated)\n"
            "  --pool N             pool size (default 160)\n"
            "  --steps T            CA steps per iteration (default 20)\n"
            "  --lr X               base learning rate (default 1e-3)\n"
            "  --decay A,B          iterations of the x0.1 decays (default 30000,70000; 0,0: none)\n"
            "  --seed K             seed of every random draw (default 0)\n"
            "  --threads T          worker threads (default: all cores); results do not depend on T\n"
            "  --init FILE          start from this model (same dimensions): fine-tune it; a quant\n"
            "                       run may start from a quant model of other weight/act bits\n"
            "                       (progressive quantization) or from a float model, quantized\n"
            "                       with ranges measured on 16 training digits\n"
            "  --resume FILE        continue from a checkpoint (its configuration wins; --iters,\n"
            "                       --threads, -o and the checkpoint/export options may change)\n"
            "  --checkpoint-every N write DIR/latest.ckpt every N iterations (default 0: never)\n"
            "  --checkpoint-dir DIR where checkpoints go (default: the directory of -o)\n"
            "  --export-every N     also write -o every N iterations (default 0: at the end only)\n"
            "  --progress-every N   progress line every N iterations (default 100; 0: none)\n"
            "  -o, --out FILE       the trained model (.xnca)\n"
            "  --help               this text\n\n"
            "Exit status: 0 ok, 1 bad usage, bad input or a failed run.\n");
}

static int parse_variant(const char *s, xnca_variant *v)
{
    static const char *names[] = {"float", "bwn", "ban", "quant"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *v = (xnca_variant)i;
            return 0;
        }
    return -1;
}

enum {
    O_VARIANT = 256, O_WBITS, O_ABITS, O_SBITS, O_IBITS, O_HC, O_PW, O_MW, O_HL, O_ITERS, O_BATCH, O_POOL, O_STEPS,
    O_LR, O_SEED, O_THREADS, O_NOISE, O_FIRE, O_DATA, O_INIT, O_CKPT_EVERY, O_RESUME, O_CKPT_DIR, O_EXPORT_EVERY,
    O_PROGRESS, O_DECAY, O_TRAIN_N, O_WINIT, O_OINIT, O_INRANGE, O_STE, O_DATAINIT, O_WCODES, O_ACODES
};

/* An option with two spellings: *out = 0 for `a`, 1 for `b`; anything else is a usage error
 * (printed; returns nonzero). */
static int two_way(const char *opt, const char *arg, const char *a, const char *b, int *out)
{
    if (strcmp(arg, a) && strcmp(arg, b)) {
        cli_usage_error("train", "%s must be %s or %s, not '%s'", opt, a, b, arg);
        return -1;
    }
    *out = !strcmp(arg, b);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"variant", required_argument, 0, O_VARIANT}, {"weight-bits", required_argument, 0, O_WBITS},
        {"act-bits", required_argument, 0, O_ABITS}, {"state-bits", required_argument, 0, O_SBITS},
        {"input-bits", required_argument, 0, O_IBITS}, {"hidden-channels", required_argument, 0, O_HC},
        {"perception-width", required_argument, 0, O_PW}, {"mlp-width", required_argument, 0, O_MW},
        {"hidden-layers", required_argument, 0, O_HL}, {"iters", required_argument, 0, O_ITERS},
        {"batch", required_argument, 0, O_BATCH}, {"pool", required_argument, 0, O_POOL},
        {"steps", required_argument, 0, O_STEPS}, {"lr", required_argument, 0, O_LR},
        {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"noise", required_argument, 0, O_NOISE}, {"fire-rate", required_argument, 0, O_FIRE},
        {"data", required_argument, 0, O_DATA}, {"init", required_argument, 0, O_INIT},
        {"checkpoint-every", required_argument, 0, O_CKPT_EVERY}, {"resume", required_argument, 0, O_RESUME},
        {"checkpoint-dir", required_argument, 0, O_CKPT_DIR}, {"export-every", required_argument, 0, O_EXPORT_EVERY},
        {"progress-every", required_argument, 0, O_PROGRESS}, {"decay", required_argument, 0, O_DECAY},
        {"train-n", required_argument, 0, O_TRAIN_N}, {"weight-init", required_argument, 0, O_WINIT},
        {"out-init", required_argument, 0, O_OINIT}, {"in-range", required_argument, 0, O_INRANGE},
        {"ste", required_argument, 0, O_STE}, {"data-init", required_argument, 0, O_DATAINIT},
        {"weight-codes", required_argument, 0, O_WCODES}, {"act-codes", required_argument, 0, O_ACODES}, {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    xnca_train_config cfg;
    xnca_train_defaults(&cfg);
    const char *init = NULL, *resume = NULL;
    int c, iters_set = 0;
    long v;
    double x;
    optind = 0;
    opterr = 0;
#define INT_OPT(field, lo, hi, name)                                                              \
    do {                                                                                          \
        if (cli_parse_int(optarg, lo, hi, &v)) return cli_usage_error("train", name " needs an integer in %ld..%ld", (long)(lo), (long)(hi)); \
        cfg.field = v;                                                                            \
    } while (0)
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case O_VARIANT:
            if (parse_variant(optarg, &cfg.variant))
                return cli_usage_error("train", "--variant must be float, bwn, ban or quant, not '%s'", optarg);
            break;
        case O_WBITS: INT_OPT(weight_bits, 1, 8, "--weight-bits"); break;
        case O_ABITS: INT_OPT(act_bits, 1, 8, "--act-bits"); break;
        case O_SBITS: INT_OPT(state_bits, 2, 8, "--state-bits"); break;
        case O_IBITS: INT_OPT(input_bits, 1, 4, "--input-bits"); break;
        case O_HC: INT_OPT(hidden_channels, 1, 21, "--hidden-channels"); break;
        case O_PW: INT_OPT(perception_width, 8, 256, "--perception-width"); break;
        case O_MW: INT_OPT(mlp_width, 8, 256, "--mlp-width"); break;
        case O_HL: INT_OPT(hidden_layers, 0, 2, "--hidden-layers"); break;
        case O_ITERS: INT_OPT(iters, 0, 1000000000L, "--iters"); iters_set = 1; break;
        case O_BATCH: INT_OPT(batch, 1, 4096, "--batch"); break;
        case O_POOL: INT_OPT(pool, 1, 1000000, "--pool"); break;
        case O_STEPS: INT_OPT(steps, 1, 65535, "--steps"); break;
        case O_SEED: INT_OPT(seed, 0, 0xffffffffL, "--seed"); break;
        case O_THREADS: INT_OPT(threads, 1, 256, "--threads"); break;
        case O_TRAIN_N: INT_OPT(train_n, 1, 1000000000L, "--train-n"); break;
        case O_CKPT_EVERY: INT_OPT(checkpoint_every, 0, 1000000000L, "--checkpoint-every"); break;
        case O_EXPORT_EVERY: INT_OPT(export_every, 0, 1000000000L, "--export-every"); break;
        case O_PROGRESS: INT_OPT(progress_every, 0, 1000000000L, "--progress-every"); break;
        case O_LR:
            if (cli_parse_float(optarg, &x) || x <= 0 || x >= 1)
                return cli_usage_error("train", "--lr needs a number in (0, 1)");
            cfg.lr = (float)x;
            break;
        case O_NOISE:
            if (cli_parse_float(optarg, &x) || x < 0) return cli_usage_error("train", "--noise needs a number >= 0");
            cfg.noise = (float)x;
            break;
        case O_WINIT:
            if (cli_parse_float(optarg, &x) || x <= 0 || x > 1)
                return cli_usage_error("train", "--weight-init needs a number in (0, 1]");
            cfg.weight_init = (float)x;
            break;
        case O_OINIT:
            if (cli_parse_float(optarg, &x) || x < 0 || x > 100)
                return cli_usage_error("train", "--out-init needs a number in 0..100");
            cfg.out_init = (float)x;
            break;
        case O_DATAINIT: INT_OPT(data_init, 0, 1, "--data-init"); break;
        case O_WCODES:
            if (two_way("--weight-codes", optarg, "odd", "ternary", &cfg.ternary_weights)) return XNCA_EXIT_USAGE;
            break;
        case O_ACODES:
            if (two_way("--act-codes", optarg, "odd", "ternary", &cfg.ternary_acts)) return XNCA_EXIT_USAGE;
            break;
        case O_STE:
            if (two_way("--ste", optarg, "clip", "recover", &cfg.ste_recover)) return XNCA_EXIT_USAGE;
            break;
        case O_INRANGE:
            if (cli_parse_float(optarg, &x) || x <= 0 || x > 100)
                return cli_usage_error("train", "--in-range needs a number in (0, 100]");
            cfg.in_range = (float)x;
            break;
        case O_FIRE:
            if (cli_parse_float(optarg, &x) || x < 0 || x > 1)
                return cli_usage_error("train", "--fire-rate needs a number in 0..1");
            cfg.fire_rate = (float)x;
            break;
        case O_DECAY: {
            long a, b;
            char *comma = strchr(optarg, ',');
            if (!comma) return cli_usage_error("train", "--decay needs A,B");
            *comma = 0;
            int bad = cli_parse_int(optarg, 0, 1000000000L, &a) || cli_parse_int(comma + 1, 0, 1000000000L, &b);
            *comma = ',';
            if (bad) return cli_usage_error("train", "--decay needs two iteration counts A,B");
            cfg.decay1 = a;
            cfg.decay2 = b;
            break;
        }
        case O_DATA:
            if (cli_check_data("train", optarg)) return XNCA_EXIT_USAGE;
            cfg.data = optarg;
            break;
        case O_INIT: init = optarg; break;
        case O_RESUME: resume = optarg; break;
        case O_CKPT_DIR: cfg.checkpoint_dir = optarg; break;
        case 'o': cfg.out = optarg; break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error("train", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("train", "unknown option '%s'", argv[optind - 1]);
        }
    }
#undef INT_OPT
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!cfg.out && !cfg.ternary_weights && !cfg.ternary_acts) return cli_usage_error("train", "-o OUT.xnca is required");
    if (init && resume) return cli_usage_error("train", "--init and --resume exclude each other");
    if (cfg.variant != XNCA_QUANT && cfg.noise > 1)
        return cli_usage_error("train", "--noise for float variants is sigma (e.g. 0.02), not %g", cfg.noise);
    if (cfg.variant == XNCA_QUANT && cfg.noise > 127)
        return cli_usage_error("train", "--noise for quant is noise_p, 0..127");

    /* default checkpoint directory: the directory of -o */
    char dirbuf[1024];
    if (!cfg.checkpoint_dir && cfg.out) {
        snprintf(dirbuf, sizeof(dirbuf), "%s", cfg.out);
        char *slash = strrchr(dirbuf, '/');
        if (slash) *slash = 0; else strcpy(dirbuf, ".");
        cfg.checkpoint_dir = dirbuf;
    }
    char *command = cli_join_command(argc, argv);
    cfg.command = command;

    char err[512];
    xnca_dataset d;
    memset(&d, 0, sizeof(d));
    int rc = XNCA_EXIT_OK;
    xnca_trainer *t = NULL;
    /* resume: the checkpoint names its dataset; peek at it through the trainer */
    const char *data = cfg.data;
    if (resume) {
        /* the dataset is needed to rebuild the trainer; try the configured one first */
        if (xnca_dataset_open(data, "train", &d, err, sizeof(err))) goto data_fail;
        if (!iters_set) cfg.iters = -1;
        xnca_train_config ov = cfg;
        t = xnca_trainer_resume(resume, &ov, &d, err, sizeof(err));
        if (t && strcmp(xnca_trainer_config(t)->data, data)) {
            snprintf(err, sizeof(err), "%s was trained on %s: pass --data %s", resume, xnca_trainer_config(t)->data,
                     xnca_trainer_config(t)->data);
            xnca_trainer_free(t);
            t = NULL;
        }
    } else {
        if (xnca_dataset_open(data, "train", &d, err, sizeof(err))) goto data_fail;
        t = xnca_trainer_create(&cfg, &d, init, err, sizeof(err));
    }
    if (!t) {
        rc = cli_error("train", "%s", err);
        goto out;
    }
    const xnca_train_config *tc = xnca_trainer_config(t);
    fprintf(stderr,
            "xnca train: %s", xnca_variant_name(tc->variant));
    if (tc->variant == XNCA_QUANT)
        fprintf(stderr, " W%dA%d S%d b%d", tc->weight_bits, tc->act_bits, tc->state_bits, tc->input_bits);
    fprintf(stderr, ", C=%d P=%d L=%d M=%d, %s (%d images), iteration %ld -> %ld, %d threads\n",
            tc->hidden_channels + 11, tc->perception_width, tc->hidden_layers, tc->mlp_width, tc->data,
            tc->train_n > 0 && tc->train_n < d.n ? tc->train_n : d.n, xnca_trainer_iteration(t), tc->iters,
            tc->threads ? tc->threads : 0);
    if (xnca_trainer_run(t, err, sizeof(err))) {
        rc = cli_error("train", "%s", err);
        goto out;
    }
    if (cfg.out) fprintf(stderr, "xnca train: wrote %s\n", cfg.out);
    goto out;
data_fail:
    rc = cli_error("train", "%s (run 'make data' to fetch the datasets)", err);
out:
    xnca_trainer_free(t);
    xnca_dataset_free(&d);
    free(command);
    return rc;
}
