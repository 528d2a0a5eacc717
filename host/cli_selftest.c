/* cli_selftest.c - `xnca selftest`: is this device a correct xnca? HELLO, build id against the one
 * recorded for its bitstream, a model upload confirmed by CRC-32, then N MNIST test digits whose
 * votes, predictions, agreement and final states must equal the reference engine's bit for bit.
 * One PASS / FAIL / SKIP line per check; exit 3 on the first mismatch (named). */
#include <getopt.h>
#include <stdarg.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_device.h"

#define CMD_NAME "selftest"
#define SHIPPING_MODEL "models/mnist.xnca"
#define RANDOM_SEED 0x5e1f7e57u

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca selftest [--device D] [OPTIONS]\n\n"
            "Checks a device against the reference engine and prints one PASS / FAIL / SKIP line per check:\n"
            "  hello      HELLO round trip (magic, protocol version, nonce)\n"
            "  build-id   the device's build id equals the one recorded for its bitstream\n"
            "             (DIR/<board>.build_id or DIR/<board>-*.build_id; skipped when none is recorded)\n"
            "  load       model upload, every chunk and the whole payload confirmed by CRC-32\n"
            "  classify   N MNIST test digits: votes, prediction and agreement at every report step\n"
            "             equal the CPU engine's\n"
            "  state      the state read back after each digit equals the engine's (quant models)\n"
            "The model is " SHIPPING_MODEL " when it exists, else a random W1A1 model of Distill's\n"
            "dimensions (28x28, C=20, P=M=80, L=1; seed 0x%08x).\n\n"
            "  --device D      cpu, usb[:VID:PID[:SERIAL]][@BAUD], tty:PATH[@BAUD], sim[:BOARD] or auto\n"
            "                  (default auto, or $XNCA_DEVICE: a USB board, else sim, else cpu);\n"
            "                  sim[:BOARD]@[SOCKET] or unix:SOCKET: a device served by `xnca sim`\n"
            "  --model FILE    use this model instead\n"
            "  --random        use the random W1A1 model even when " SHIPPING_MODEL " exists\n"
            "  --n N           digits (default 20; MNIST test split, synthetic digits without `make data`)\n"
            "  --steps S       steps per digit (default 50)\n"
            "  --seed K        run seed (default 0)\n"
            "  --bitstreams DIR  where the recorded build ids are (default bitstreams)\n"
            "  --save-model FILE  also write the model used to FILE\n"
            "  --help          this text\n\n"
            "exit status: 0 all checks pass, 1 bad arguments or a model the device cannot run,\n"
            "2 device or link error, 3 a mismatch (build id, results or state)\n",
            RANDOM_SEED);
}

static int failed(int rc, const char *check, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failed(int rc, const char *check, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %-9s ", check);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\nselftest: FAIL\n");
    fflush(stdout);
    return rc;
}

/* Random W1A1 model of the shipping dimensions. */
static int random_model(xnca_model *m, char *err, size_t errlen)
{
    *m = (xnca_model){.variant = XNCA_QUANT, .grid_w = 28, .grid_h = 28, .channels = 20, .hidden_channels = 9,
                      .classes = 10, .hidden_layers = 1, .perception_width = 80, .mlp_width = 80, .weight_bits = 1,
                      .act_bits = 1, .state_bits = 8, .input_bits = 1, .fire_t = 128, .noise_p = 2};
    return xnca_model_random(m, RANDOM_SEED, err, errlen);
}

/* Deterministic digit-like pictures (a ring and a bar) when the dataset is not there. */
static void synthetic_digit(uint8_t *px, int w, int h, int i)
{
    double cx = w / 2.0 + (i % 5) - 2, cy = h / 2.0 + (i % 3) - 1, r = w * (0.18 + 0.02 * (i % 5));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double d = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            int ring = d > (r - 2) * (r - 2) && d < (r + 1.5) * (r + 1.5);
            int bar = (i & 1) && abs(x - (int)cx) <= 1 && y > 4 && y < h - 5;
            px[y * w + x] = (uint8_t)(ring || bar ? 255 - 9 * (i % 7) : (x + y + i) % 11 == 0 ? 20 : 0);
        }
}

/* build-id: 0 pass or skip, 3 mismatch */
static int check_build_id(const xnca_device_info *in, const char *dir, const char *transport)
{
    (void)transport;
    char pat[1024], exact[1024];
    snprintf(exact, sizeof exact, "%s/%s.build_id", dir, in->board);
    snprintf(pat, sizeof pat, "%s/%s-*.build_id", dir, in->board);
    glob_t g;
    memset(&g, 0, sizeof g);
    int have_exact = access(exact, R_OK) == 0;
    glob(pat, 0, NULL, &g);
    if (!have_exact && g.gl_pathc == 0) {
        printf("SKIP build-id   no %s recorded (device build %08x)\n", exact, in->build_id);
        globfree(&g);
        return 0;
    }
    int match = 0;
    char seen[2400] = "";
    for (size_t i = 0; i < g.gl_pathc + (size_t)have_exact; i++) {
        const char *p = i < g.gl_pathc ? g.gl_pathv[i] : exact;
        uint32_t id;
        int r = cli_read_build_id(p, &id);
        size_t used = strlen(seen);
        if (r == 0) {
            snprintf(seen + used, sizeof seen - used, "%s%.200s = %08x", used ? ", " : "", p, id);
            match |= id == in->build_id;
        } else {
            snprintf(seen + used, sizeof seen - used, "%s%.200s unreadable", used ? ", " : "", p);
        }
    }
    globfree(&g);
    if (!match)
        return failed(XNCA_EXIT_MISMATCH, "build-id",
                      "device build %08x is not the recorded bitstream's (%s): reprogram the board (xnca prog)",
                      in->build_id, seen);
    printf("PASS build-id   %08x (%s)\n", in->build_id, seen);
    return 0;
}

static int votes_equal(const int *a, const int *b)
{
    for (int k = 0; k < XNCA_CLASSES; k++)
        if (a[k] != b[k])
            return 0;
    return 1;
}

static void votes_text(char *buf, size_t n, const int *v)
{
    size_t u = 0;
    for (int k = 0; k < XNCA_CLASSES && u < n; k++)
        u += (size_t)snprintf(buf + u, n - u, "%s%d", k ? " " : "", v[k]);
}

int cmd_selftest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"device", required_argument, 0, 'd'}, {"model", required_argument, 0, 'm'},
        {"n", required_argument, 0, 'n'},      {"steps", required_argument, 0, 'S'},
        {"seed", required_argument, 0, 'k'},   {"bitstreams", required_argument, 0, 'b'},
        {"save-model", required_argument, 0, 'o'}, {"random", no_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *device = NULL, *model_path = NULL, *bitdir = "bitstreams", *save = NULL;
    long n = 20, steps = 50, seed = 0;
    int c, use_random = 0;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'd': device = optarg; break;
        case 'm': model_path = optarg; break;
        case 'b': bitdir = optarg; break;
        case 'o': save = optarg; break;
        case 'r': use_random = 1; break;
        case 'n': bad = cli_parse_int(optarg, 1, 10000, &n); break;
        case 'S': bad = cli_parse_int(optarg, 1, 65535, &steps); break;
        case 'k': bad = cli_parse_int(optarg, 0, 0xffffffffL, &seed); break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error(CMD_NAME, "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error(CMD_NAME, "unknown option '%s'", argv[optind - 1]);
        }
        if (bad) return cli_usage_error(CMD_NAME, "bad value '%s' for %s", optarg, argv[optind - 2]);
    }
    if (optind < argc) return cli_usage_error(CMD_NAME, "unexpected argument '%s'", argv[optind]);
    if (use_random && model_path) return cli_usage_error(CMD_NAME, "--random and --model exclude each other");

    /* the model, before any device is opened (a bad file is exit 1, not a device failure) */
    xnca_model m;
    char err[512], name[1100];
    int rc;
    if (!model_path && !use_random && access(SHIPPING_MODEL, R_OK) == 0)
        model_path = SHIPPING_MODEL;
    if (model_path) {
        if ((rc = cli_load_model(CMD_NAME, model_path, &m))) return rc;
        snprintf(name, sizeof name, "%s", model_path);
    } else {
        if (random_model(&m, err, sizeof err)) return cli_error(CMD_NAME, "random model: %s", err);
        snprintf(name, sizeof name, "random W1A1 model (seed 0x%08x)", RANDOM_SEED);
    }
    uint8_t *file = NULL;
    size_t flen = xnca_model_serialize(&m, &file);
    if (!flen) {
        xnca_model_free(&m);
        return cli_error(CMD_NAME, "cannot serialize the model");
    }
    if (save && xnca_model_save(save, &m, err, sizeof err)) {
        rc = cli_error(CMD_NAME, "%s", err);
        goto out_model;
    }
    int w = m.grid_w, h = m.grid_h, C = m.channels;
    size_t cells = (size_t)w * h;

    /* images: MNIST test digits, or synthetic ones */
    uint8_t *pix = malloc((size_t)n * cells);
    int8_t *want_state = m.variant == XNCA_QUANT ? malloc((size_t)n * cells * C) : NULL;
    int8_t *got_state = malloc(cells * (size_t)(C > 0 ? C : 1));
    xnca_result *res = calloc((size_t)n, sizeof *res);
    xnca_dev *dev = NULL;
    if (!pix || !got_state || !res || (m.variant == XNCA_QUANT && !want_state)) {
        rc = cli_error(CMD_NAME, "out of memory");
        goto out;
    }
    xnca_dataset d;
    const char *images = "MNIST test digits";
    if (!xnca_dataset_open("mnist", "test", &d, err, sizeof err) && d.w == w && d.h == h && d.n >= n) {
        memcpy(pix, d.images, (size_t)n * cells);
        xnca_dataset_free(&d);
    } else {
        images = "synthetic digits (no MNIST data: run make data)";
        for (long i = 0; i < n; i++)
            synthetic_digit(pix + (size_t)i * cells, w, h, (int)i);
    }

    /* 1. open + hello */
    if ((rc = cli_device_open(CMD_NAME, device, &dev))) {
        failed(rc, "open", "no device (see above)");
        goto out;
    }
    const xnca_device_info *in = xnca_info(dev);
    uint32_t nonce = 0x5e1f7e57u ^ (uint32_t)getpid();
    if ((rc = xnca_hello(dev, nonce))) {
        failed(XNCA_EXIT_DEVICE, "hello", "%s", xnca_error(dev));
        rc = XNCA_EXIT_DEVICE;
        goto out;
    }
    printf("PASS hello      device %s, board %s, protocol %u\n", xnca_transport_name(dev), in->board,
           in->protocol_version);
    /* 2. build id */
    if ((rc = check_build_id(in, bitdir, xnca_transport_name(dev)))) goto out;
    /* 3. load */
    rc = xnca_load_model_mem(dev, file, flen);
    if (rc) {
        failed(rc, "load", "%s: %s", name, xnca_error(dev));
        goto out;
    }
    uint32_t payload = xnca_get32(file + 32);
    printf("PASS load       %s: %u payload bytes, CRC-32 %08x confirmed by the device\n", name, payload,
           xnca_crc32(0, file + XNCA_HEADER_BYTES, payload));

    /* 4. classify: report steps 1, 10, 20, ... up to S */
    xnca_run_opts o = XNCA_RUN_OPTS_INIT;
    o.seed = (uint32_t)seed;
    o.steps = (int)steps;
    static const int candidates[] = {1, 2, 5, 10, 20, 30, 50, 100, 150, 200};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && o.n_report < XNCA_MAX_REPORT_STEPS - 1; i++)
        if (candidates[i] < steps) o.report[o.n_report++] = candidates[i];
    o.report[o.n_report++] = (int)steps;
    if ((rc = xnca_classify(dev, &o, (int)n, pix, NULL, res))) {
        failed(rc, "classify", "%s", xnca_error(dev));
        goto out;
    }
    xnca_step_opts so = {XNCA_ORDER_RASTER, 0};
    for (long i = 0; i < n; i++) {
        xnca_grid g;
        if (xnca_grid_init(&m, &g, w, h, pix + (size_t)i * cells)) {
            rc = cli_error(CMD_NAME, "cannot set up a grid");
            goto out;
        }
        int r = 0, votes[XNCA_CLASSES], agree = 0, alive = 0, pred = 0, bad = 0;
        char dv[128], ev[128];
        for (int t = 0; t < steps && !bad; t++) {
            xnca_step(&m, &g, (uint32_t)seed, (uint32_t)i, (uint32_t)t, &so);
            if (t + 1 != o.report[r]) continue;
            pred = xnca_votes(&m, &g, votes, &agree, &alive);
            const xnca_result *x = &res[i];
            if (!votes_equal(votes, x->votes[r]) || pred != x->pred[r] || (agree != 0) != (x->agree[r] != 0)) {
                votes_text(dv, sizeof dv, x->votes[r]);
                votes_text(ev, sizeof ev, votes);
                failed(XNCA_EXIT_MISMATCH, "classify",
                       "image %ld after %d steps: device votes [%s] class %d agreement %d, engine votes [%s] class %d "
                       "agreement %d",
                       i, o.report[r], dv, x->pred[r], x->agree[r] != 0, ev, pred, agree != 0);
                bad = 1;
            }
            r++;
        }
        if (!bad && alive != res[i].alive) {
            failed(XNCA_EXIT_MISMATCH, "classify", "image %ld: device counts %d alive cells, engine %d", i,
                   res[i].alive, alive);
            bad = 1;
        }
        if (want_state && !bad) memcpy(want_state + (size_t)i * cells * C, g.qs, cells * C);
        xnca_grid_free(&g);
        if (bad) {
            rc = XNCA_EXIT_MISMATCH;
            goto out;
        }
    }
    printf("PASS classify   %ld %s x %ld steps: votes, class and agreement at %d report steps equal the engine\n", n,
           images, steps, o.n_report);

    /* 5. state read-back, one digit at a time */
    if (!want_state) {
        printf("SKIP state      a %s model has no integer state\n", xnca_variant_name(m.variant));
    } else {
        for (long i = 0; i < n; i++) {
            xnca_run_opts one = o;
            one.image_index = (uint32_t)i;
            xnca_result r1;
            size_t got = 0;
            if ((rc = xnca_classify(dev, &one, 1, pix + (size_t)i * cells, NULL, &r1)) ||
                (rc = xnca_read_state(dev, got_state, cells * C, &got))) {
                failed(rc, "state", "image %ld: %s", i, xnca_error(dev));
                goto out;
            }
            const int8_t *want = want_state + (size_t)i * cells * C;
            for (size_t k = 0; k < cells * C; k++)
                if (got_state[k] != want[k]) {
                    size_t cell = k / C;
                    rc = failed(XNCA_EXIT_MISMATCH, "state",
                                "image %ld after %ld steps, cell (%zu, %zu) channel %zu: device %d, engine %d", i,
                                steps, cell % w, cell / w, k % C, got_state[k], want[k]);
                    goto out;
                }
        }
        printf("PASS state      %ld digits: %zu cells x %d channels after %ld steps equal the engine\n", n, cells, C,
               steps);
    }
    printf("selftest: PASS\n");
    rc = XNCA_EXIT_OK;
out:
    xnca_close(dev);
    free(pix), free(want_state), free(got_state), free(res);
out_model:
    free(file);
    xnca_model_free(&m);
    return rc;
}
