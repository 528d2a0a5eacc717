/* cli_watch.c - `xnca watch`: one image's grid step by step, every cell coloured by its class, in the
 * terminal (ANSI colour blocks), as PNG frames and / or as an animated GIF.
 *
 * The per-cell classes come from the device: for step s the image is run from a zero state for s
 * steps (same seed and image index, so the run is the same one cut at s) and its state read back
 * with READ_STATE. Float models have no integer state on the wire; on the cpu device their classes
 * come from the reference engine directly (the same computation). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_device.h"
#include "xnca_image.h"
#include "xnca_render.h"

#define CMD_NAME "watch"
#define DEFAULT_STEPS 50

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca watch --model FILE (--image FILE | --data mnist|fashion --index I) [OPTIONS]\n\n"
            "Runs one image and shows, after every step, each cell's class (spec 5) in colour: in the\n"
            "terminal (ANSI 256-colour or truecolour blocks, one per cell; dead cells dark), as PNG frames\n"
            "and / or as an animated GIF. Each step's classes are read back from the device (READ_STATE).\n\n"
            "  --model FILE        .xnca model (required)\n"
            "  --device D          cpu, usb[:VID:PID[:SERIAL]][@BAUD], tty:PATH[@BAUD], sim[:BOARD] or auto\n"
            "                      (default auto, or $XNCA_DEVICE: a USB board, else sim, else cpu);\n"
            "                      sim[:BOARD]@[SOCKET] or unix:SOCKET: a device served by `xnca sim`\n"
            "  --image FILE        a PNG / PGM picture ('-': stdin), preprocessed like MNIST if needed\n"
            "  --data NAME         mnist or fashion, with --index I (default 0) and --split (default test)\n"
            "  --steps S           steps to run (default %d)\n"
            "  --seed K            seed of the fire mask and noise hash (default 0)\n"
            "  --mutate-at S       after S steps replace the image (spec 7) by --mutate-index J of the\n"
            "                      split, or --mutate-image FILE; with --data and no J, by the image that\n"
            "                      spec 4.5 draws\n"
            "  --png DIR           write DIR/step-0001.png ... (created if missing)\n"
            "  --gif FILE          write an animated GIF, one frame per step\n"
            "  --scale N           pixels per cell in PNG / GIF (default 10)\n"
            "  --delay CS          frame time in 1/100 s, GIF and terminal (default 10)\n"
            "  --term / --no-term  draw in the terminal (default: when stdout is a terminal)\n"
            "  --help              this text\n\n"
            "Without terminal drawing every step prints one line: step, class, agreement, votes.\n"
            "exit status: 0 ok, 1 bad arguments or input, 2 device or link error\n",
            DEFAULT_STEPS);
}

/* Picture from a file, at the model's grid (MNIST preprocessing when it is not one already). */
static int load_picture(const char *path, int w, int h, uint8_t *pix)
{
    xnca_image img;
    char err[512];
    const char *name = strcmp(path, "-") ? path : "stdin";
    if (xnca_image_load(path, &img, err, sizeof err))
        return cli_error(CMD_NAME, "%s: %s", name, err);
    int rc = 0;
    if (xnca_image_is_mnist_like(&img, w, h))
        memcpy(pix, img.pix, (size_t)w * h);
    else if (xnca_image_to_mnist(&img, w, h, pix, NULL, err, sizeof err))
        rc = cli_error(CMD_NAME, "%s: %s", name, err);
    xnca_image_free(&img);
    return rc;
}

typedef struct {
    int votes[XNCA_CLASSES], pred, agree, alive;
} step_view;

/* Classes after `s` steps from the device: run s steps, read the state back. */
static int device_step(xnca_dev *dev, const xnca_model *m, const xnca_run_opts *base, int s, const uint8_t *pix,
                       const uint8_t *mut, int8_t *states, int8_t *classes, step_view *v)
{
    xnca_run_opts o = *base;
    o.steps = s;
    o.n_report = 1;
    o.report[0] = s;
    if (o.mutate_at >= s)
        o.mutate_at = -1;
    xnca_result r;
    int rc = xnca_classify(dev, &o, 1, pix, o.mutate_at >= 0 ? mut : NULL, &r);
    size_t cells = (size_t)m->grid_w * m->grid_h, got = 0;
    if (!rc)
        rc = xnca_read_state(dev, states, cells * m->channels, &got);
    if (rc) {
        cli_error(CMD_NAME, "step %d: %s", s, xnca_error(dev));
        return rc == XNCA_RC_USAGE ? XNCA_EXIT_USAGE : XNCA_EXIT_DEVICE;
    }
    cli_state_classes(states, (int)cells, m->channels, classes);
    /* the state read back must tell the same votes as the CLASSIFY reply */
    int counted[XNCA_CLASSES] = {0};
    for (size_t i = 0; i < cells; i++)
        if (classes[i] >= 0)
            counted[classes[i]]++;
    for (int k = 0; k < XNCA_CLASSES; k++)
        if (counted[k] != r.votes[0][k]) {
            cli_error(CMD_NAME, "step %d: the device reports %d votes for class %d but its state read back has %d", s,
                      r.votes[0][k], k, counted[k]);
            return XNCA_EXIT_MISMATCH;
        }
    memcpy(v->votes, r.votes[0], sizeof v->votes);
    v->pred = r.pred[0];
    v->agree = r.agree[0];
    v->alive = r.alive;
    return 0;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return cli_error(CMD_NAME, "cannot create %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return cli_error(CMD_NAME, "%s is not a directory", dir);
    return 0;
}

int cmd_watch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},     {"device", required_argument, 0, 'd'},
        {"image", required_argument, 0, 'I'},     {"data", required_argument, 0, 'D'},
        {"split", required_argument, 0, 's'},     {"index", required_argument, 0, 'i'},
        {"steps", required_argument, 0, 'S'},     {"seed", required_argument, 0, 'k'},
        {"mutate-at", required_argument, 0, 'M'}, {"mutate-index", required_argument, 0, 'J'},
        {"mutate-image", required_argument, 0, 'F'}, {"png", required_argument, 0, 'p'},
        {"gif", required_argument, 0, 'g'},       {"scale", required_argument, 0, 'x'},
        {"delay", required_argument, 0, 'y'},     {"term", no_argument, 0, 't'},
        {"no-term", no_argument, 0, 'T'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model_path = NULL, *device = NULL, *image = NULL, *data = NULL, *split = "test", *png_dir = NULL,
               *gif_path = NULL, *mut_image = NULL;
    long index = 0, steps = DEFAULT_STEPS, seed = 0, mutate_at = -1, mutate_index = -1, scale = 10, delay = 10;
    int term = -1, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'd': device = optarg; break;
        case 'I': image = optarg; break;
        case 'D': data = optarg; break;
        case 's': split = optarg; break;
        case 'F': mut_image = optarg; break;
        case 'p': png_dir = optarg; break;
        case 'g': gif_path = optarg; break;
        case 't': term = 1; break;
        case 'T': term = 0; break;
        case 'i': bad = cli_parse_int(optarg, 0, 1000000000L, &index); break;
        case 'S': bad = cli_parse_int(optarg, 1, 65535, &steps); break;
        case 'k': bad = cli_parse_int(optarg, 0, 0xffffffffL, &seed); break;
        case 'M': bad = cli_parse_int(optarg, 0, 65534, &mutate_at); break;
        case 'J': bad = cli_parse_int(optarg, 0, 1000000000L, &mutate_index); break;
        case 'x': bad = cli_parse_int(optarg, 1, 64, &scale); break;
        case 'y': bad = cli_parse_int(optarg, 1, 65535, &delay); break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error(CMD_NAME, "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error(CMD_NAME, "unknown option '%s'", argv[optind - 1]);
        }
        if (bad) return cli_usage_error(CMD_NAME, "bad value '%s' for %s", optarg, argv[optind - 2]);
    }
    if (optind < argc) return cli_usage_error(CMD_NAME, "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error(CMD_NAME, "--model FILE is required");
    if (!image == !data) return cli_usage_error(CMD_NAME, "give one of --image FILE or --data NAME --index I");
    if (data && strcmp(data, "mnist") && strcmp(data, "fashion"))
        return cli_usage_error(CMD_NAME, "--data must be mnist or fashion, not '%s'", data);
    if (strcmp(split, "test") && strcmp(split, "train"))
        return cli_usage_error(CMD_NAME, "--split must be test or train, not '%s'", split);
    if (mutate_at >= 0 && mutate_at >= steps)
        return cli_usage_error(CMD_NAME, "--mutate-at %ld must be below --steps %ld", mutate_at, steps);
    if (mutate_at >= 0 && !data && !mut_image)
        return cli_usage_error(CMD_NAME, "--mutate-at with --image needs --mutate-image FILE");
    if ((mutate_index >= 0 || mut_image) && mutate_at < 0)
        return cli_usage_error(CMD_NAME, "--mutate-index / --mutate-image need --mutate-at S");
    if (mutate_index >= 0 && mut_image)
        return cli_usage_error(CMD_NAME, "give --mutate-index or --mutate-image, not both");
    if (mutate_index >= 0 && !data) return cli_usage_error(CMD_NAME, "--mutate-index needs --data");
    if (term < 0) term = isatty(STDOUT_FILENO);

    xnca_model m;
    int rc = cli_load_model(CMD_NAME, model_path, &m);
    if (rc) return rc;
    int w = m.grid_w, h = m.grid_h;
    size_t cells = (size_t)w * h;
    xnca_model_free(&m);
    uint8_t *pix = calloc(cells, 1), *mut = calloc(cells, 1);
    int8_t *classes = malloc(cells), *states = NULL;
    xnca_dev *dev = NULL;
    xnca_gif *gif = NULL;
    int have_model = 0;
    char err[512], src[512];
    uint32_t image_index = 0;
    if (!pix || !mut || !classes) {
        rc = cli_error(CMD_NAME, "out of memory");
        goto out;
    }
    if (data) {
        xnca_dataset d;
        if (xnca_dataset_open(data, split, &d, err, sizeof err)) {
            rc = cli_error(CMD_NAME, "%s (run 'make data' to fetch the datasets)", err);
            goto out;
        }
        if (d.w != w || d.h != h || index >= d.n || mutate_index >= d.n) {
            rc = d.w != w || d.h != h
                     ? cli_error(CMD_NAME, "%s holds %dx%d images, the model's grid is %dx%d", data, d.w, d.h, w, h)
                     : cli_usage_error(CMD_NAME, "index %ld is past the end of %s %s (%d images)",
                                       index >= d.n ? index : mutate_index, data, split, d.n);
            xnca_dataset_free(&d);
            goto out;
        }
        image_index = (uint32_t)index;
        memcpy(pix, d.images + (size_t)index * cells, cells);
        if (mutate_at >= 0 && !mut_image) {
            if (mutate_index < 0) /* spec 4.5 */
                mutate_index = xnca_hash((uint32_t)seed, image_index, (uint32_t)mutate_at, 0, 0, 0xffff) % (uint32_t)d.n;
            memcpy(mut, d.images + (size_t)mutate_index * cells, cells);
        }
        snprintf(src, sizeof src, "%s:%s#%ld", data, split, index);
        xnca_dataset_free(&d);
    } else {
        if ((rc = load_picture(image, w, h, pix))) goto out;
        snprintf(src, sizeof src, "%s", strcmp(image, "-") ? image : "stdin");
    }
    if (mut_image && (rc = load_picture(mut_image, w, h, mut))) goto out;
    if (png_dir && (rc = make_dir(png_dir))) goto out;

    if ((rc = cli_device_open(CMD_NAME, device, &dev))) goto out;
    if ((rc = cli_device_load_model(CMD_NAME, dev, model_path, &m))) goto out;
    have_model = 1;
    int on_engine = m.variant != XNCA_QUANT;
    if (on_engine && strcmp(xnca_transport_name(dev), "cpu")) {
        rc = cli_error(CMD_NAME, "a %s model has no integer state to read back from device %s",
                       xnca_variant_name(m.variant), xnca_transport_name(dev));
        goto out;
    }
    if (on_engine)
        fprintf(stderr, "xnca %s: %s model: per-cell classes from the reference engine (no integer state on the "
                        "wire)\n", CMD_NAME, xnca_variant_name(m.variant));
    if (!(states = malloc(cells * (size_t)m.channels))) {
        rc = cli_error(CMD_NAME, "out of memory");
        goto out;
    }
    if (gif_path && !(gif = xnca_gif_open(gif_path, w, h, (int)scale, (int)delay, err, sizeof err))) {
        rc = cli_error(CMD_NAME, "%s", err);
        goto out;
    }
    xnca_grid grid;
    int have_grid = 0;
    if (on_engine) {
        if (xnca_grid_init(&m, &grid, w, h, pix)) {
            rc = cli_error(CMD_NAME, "cannot set up a %dx%d grid", w, h);
            goto out;
        }
        have_grid = 1;
    }
    xnca_run_opts base = XNCA_RUN_OPTS_INIT;
    base.seed = (uint32_t)seed;
    base.image_index = image_index;
    base.mutate_at = (int)mutate_at;
    xnca_term_colors mode = xnca_term_detect();
    printf("%s: model %s, %ld steps, seed %lu", src, model_path, steps, (unsigned long)seed);
    if (mutate_at >= 0) {
        if (mut_image)
            printf(", replaced by %s after step %ld", mut_image, mutate_at);
        else
            printf(", replaced by %s:%s#%ld after step %ld", data, split, mutate_index, mutate_at);
    }
    printf("\n");
    if (term)
        xnca_render_legend(stdout, mode);
    xnca_step_opts so = {XNCA_ORDER_RASTER, 0};
    for (int s = 1; s <= steps && !rc; s++) {
        step_view v;
        if (on_engine) {
            if (s - 1 == mutate_at)
                xnca_grid_mutate(&m, &grid, mut);
            xnca_step(&m, &grid, (uint32_t)seed, image_index, (uint32_t)(s - 1), &so);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    classes[y * w + x] = grid.alive[y * w + x] ? (int8_t)xnca_cell_class(&m, &grid, x, y) : XNCA_DEAD;
            v.pred = xnca_votes(&m, &grid, v.votes, &v.agree, &v.alive);
        } else if ((rc = device_step(dev, &m, &base, s, pix, mut, states, classes, &v))) {
            break;
        }
        if (term) {
            if (s > 1)
                printf("\033[%dA", (h + 1) / 2 + 1);
            xnca_render_term(stdout, classes, w, h, mode);
        }
        printf("step %4d: class %d, agreement %-3s votes", s, v.pred, v.agree ? "yes" : "no");
        for (int k = 0; k < XNCA_CLASSES; k++)
            printf(" %3d", v.votes[k]);
        printf("%s\n", term ? "\033[K" : "");
        fflush(stdout);
        if (png_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/step-%04d.png", png_dir, s);
            if (xnca_render_png(path, classes, w, h, (int)scale, err, sizeof err))
                rc = cli_error(CMD_NAME, "%s", err);
        }
        if (gif && !rc && xnca_gif_frame(gif, classes, err, sizeof err))
            rc = cli_error(CMD_NAME, "%s", err);
        if (term && s < steps) {
            struct timespec ts = {delay / 100, (delay % 100) * 10000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (have_grid) xnca_grid_free(&grid);
    if (!rc && png_dir) fprintf(stderr, "xnca %s: wrote %ld frames to %s/\n", CMD_NAME, steps, png_dir);
out:
    if (gif) {
        if (xnca_gif_close(gif, err, sizeof err) && !rc) rc = cli_error(CMD_NAME, "%s", err);
        else if (!rc) fprintf(stderr, "xnca %s: wrote %s\n", CMD_NAME, gif_path);
    }
    if (have_model) xnca_model_free(&m);
    xnca_close(dev);
    free(pix), free(mut), free(classes), free(states);
    return rc;
}
