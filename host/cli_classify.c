/* cli_classify.c - `xnca classify`: classify digits on a device (a board, the simulated RTL or the
 * reference engine): IDX files, a dataset split, PNG / PGM pictures (MNIST preprocessing) or stdin.
 * Per image: class, votes and agreement (spec 5); with labels: accuracy and a confusion matrix. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_device.h"
#include "xnca_image.h"

#define CMD_NAME "classify"
#define DEFAULT_STEPS 50
#define CHUNK 100 /* images per library call (the progress bar's granularity) */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca classify --model FILE [OPTIONS] INPUT...\n"
            "       xnca classify --model FILE --data mnist|fashion [--split test|train] [--n N] [OPTIONS]\n\n"
            "Runs every image from a zero state on a device and prints, per image, the predicted class\n"
            "(majority vote of the alive cells), the votes per class and whether all alive cells agree\n"
            "(docs/spec.md section 5). With labels: image accuracy, cell accuracy, agreement and a\n"
            "10 x 10 confusion matrix.\n\n"
            "INPUT is an IDX image file (e.g. data/mnist/t10k-images-idx3-ubyte; --labels gives its\n"
            "labels), a PNG or PGM picture, or '-' for a PNG / PGM on standard input. A picture that is\n"
            "not already an MNIST digit of the model's grid (dark border) is made into one the way MNIST\n"
            "was made: grey, inverted when the background is light, fitted into 20 x 20 (area averaging,\n"
            "aspect kept) and centred by its centre of mass in 28 x 28.\n\n"
            "  --model FILE       .xnca model (required)\n"
            "  --device D         cpu, usb[:VID:PID[:SERIAL]][@BAUD], tty:PATH[@BAUD], sim[:BOARD] or auto\n"
            "                     (default auto, or $XNCA_DEVICE: a USB board if one answers, else sim,\n"
            "                     else cpu; the choice is printed on stderr); sim[:BOARD]@[SOCKET] or\n"
            "                     unix:SOCKET reach a device served by `xnca sim`\n"
            "  --labels FILE      IDX label file for the (single) IDX input\n"
            "  --data NAME        mnist or fashion: classify a split (files under $XNCA_DATA or ./data)\n"
            "  --split NAME       test (default) or train, with --data\n"
            "  --index I          first image of the split (default 0), with --data\n"
            "  --n N              number of images (default: the rest of the split / file)\n"
            "  --steps S          run S steps (default %d)\n"
            "  --at LIST          also report these steps (comma-separated, at most %d with S)\n"
            "  --seed K           seed of the fire mask and noise hash (default 0)\n"
            "  --preprocess MODE  auto (default), mnist (always) or none (pictures must be the grid size)\n"
            "  --json             one JSON object instead of text\n"
            "  --quiet            text: no per-image lines, only the summary\n"
            "  --help             this text\n\n"
            "exit status: 0 ok, 1 bad arguments or input, 2 device or link error\n",
            DEFAULT_STEPS, XNCA_MAX_REPORT_STEPS);
}

typedef struct {
    char *source;
    uint32_t image_index;
    int label; /* -1: none */
} item;

typedef struct {
    int w, h;
    size_t npix;
    uint8_t *pixels; /* n * npix */
    item *items;
    int n, cap;
} image_set;

static int set_add(image_set *s, const uint8_t *pix, const char *source, uint32_t image_index, int label)
{
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 64;
        uint8_t *np = realloc(s->pixels, (size_t)nc * s->npix);
        if (!np)
            return -1;
        s->pixels = np;
        item *ni = realloc(s->items, (size_t)nc * sizeof *ni);
        if (!ni)
            return -1;
        s->items = ni;
        s->cap = nc;
    }
    memcpy(s->pixels + (size_t)s->n * s->npix, pix, s->npix);
    item *it = &s->items[s->n++];
    it->source = strdup(source);
    it->image_index = image_index;
    it->label = label;
    return it->source ? 0 : -1;
}

static void set_free(image_set *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->items[i].source);
    free(s->items);
    free(s->pixels);
}

/* Images [first, first + count) of a dataset; count < 0: the rest. */
static int add_dataset(image_set *s, const xnca_dataset *d, const char *name, long first, long count)
{
    if (d->w != s->w || d->h != s->h)
        return cli_error(CMD_NAME, "%s holds %dx%d images, the model's grid is %dx%d", name, d->w, d->h, s->w, s->h);
    if (first >= d->n)
        return cli_usage_error(CMD_NAME, "--index %ld is past the end of %s (%d images)", first, name, d->n);
    if (count < 0 || first + count > d->n)
        count = d->n - first;
    char src[512];
    for (long i = first; i < first + count; i++) {
        snprintf(src, sizeof src, "%s#%ld", name, i);
        if (set_add(s, d->images + (size_t)i * s->npix, src, (uint32_t)i, d->labels ? d->labels[i] : -1))
            return cli_error(CMD_NAME, "out of memory");
    }
    return 0;
}

static int is_idx_images(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint8_t m[4] = {0};
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return n == 4 && m[0] == 0 && m[1] == 0 && m[2] == 0x08 && m[3] == 3;
}

typedef enum { PREP_AUTO, PREP_MNIST, PREP_NONE } prep_mode;

static int add_picture(image_set *s, const char *path, uint32_t image_index, prep_mode mode)
{
    xnca_image img;
    char err[512];
    const char *name = strcmp(path, "-") ? path : "stdin";
    if (xnca_image_load(path, &img, err, sizeof err))
        return cli_error(CMD_NAME, "%s: %s", name, err);
    uint8_t *pix = malloc(s->npix);
    int rc = 0;
    if (!pix) {
        rc = cli_error(CMD_NAME, "out of memory");
    } else if (mode == PREP_NONE || (mode == PREP_AUTO && xnca_image_is_mnist_like(&img, s->w, s->h))) {
        if (img.w != s->w || img.h != s->h)
            rc = cli_error(CMD_NAME, "%s: a %dx%d picture; --preprocess none needs the model's grid, %dx%d", name,
                           img.w, img.h, s->w, s->h);
        else
            memcpy(pix, img.pix, s->npix);
    } else if (xnca_image_to_mnist(&img, s->w, s->h, pix, NULL, err, sizeof err)) {
        rc = cli_error(CMD_NAME, "%s: %s", name, err);
    }
    if (!rc && set_add(s, pix, name, image_index, -1))
        rc = cli_error(CMD_NAME, "out of memory");
    free(pix);
    xnca_image_free(&img);
    return rc;
}

/* ---- output ---- */

static void json_votes(const int *v)
{
    printf("[");
    for (int k = 0; k < XNCA_CLASSES; k++)
        printf("%s%d", k ? ", " : "", v[k]);
    printf("]");
}

typedef struct {
    int n_labelled;
    long cells, cells_right;
    int agree, right;
} step_stats;

static void compute_stats(const image_set *s, const xnca_result *r, int n_report, step_stats *st, int *any_label)
{
    *any_label = 0;
    memset(st, 0, sizeof(*st) * (size_t)n_report);
    for (int i = 0; i < s->n; i++) {
        int lab = s->items[i].label;
        *any_label |= lab >= 0;
        for (int k = 0; k < n_report; k++) {
            st[k].agree += r[i].agree[k] != 0;
            if (lab < 0)
                continue;
            st[k].n_labelled++;
            st[k].cells += r[i].alive;
            st[k].cells_right += r[i].votes[k][lab];
            st[k].right += r[i].pred[k] == lab;
        }
    }
}

static double pct(long a, long b) { return b > 0 ? 100.0 * (double)a / (double)b : 0.0; }

/* Device cycles per image (0 on the CPU model) and what they mean at the device's clock. */
typedef struct {
    double mean;
    uint32_t min, max;
    double per_s_at_clock; /* images/s at INFO's clock_hz; 0 when unknown */
} cycle_stats;

static cycle_stats get_cycle_stats(xnca_dev *dev, const xnca_result *r, int n)
{
    cycle_stats c = {0, 0, 0, 0};
    double sum = 0;
    for (int i = 0; i < n; i++) {
        sum += r[i].cycles;
        if (i == 0 || r[i].cycles < c.min)
            c.min = r[i].cycles;
        if (r[i].cycles > c.max)
            c.max = r[i].cycles;
    }
    c.mean = n > 0 ? sum / n : 0;
    uint32_t hz = xnca_info(dev)->clock_hz;
    if (c.mean > 0 && hz > 0)
        c.per_s_at_clock = hz / c.mean;
    return c;
}

static void print_json(const char *model_path, xnca_dev *dev, const xnca_run_opts *o, const image_set *s,
                       const xnca_result *r, double secs)
{
    const xnca_device_info *in = xnca_info(dev);
    int n_report = o->n_report, any_label;
    step_stats st[XNCA_MAX_REPORT_STEPS];
    compute_stats(s, r, n_report, st, &any_label);
    printf("{\"model\": ");
    cli_json_string(stdout, model_path);
    printf(", \"device\": ");
    cli_json_string(stdout, xnca_transport_name(dev));
    printf(", \"board\": ");
    cli_json_string(stdout, in->board);
    printf(", \"build_id\": \"%08x\", \"steps\": %d, \"seed\": %u, \"report\": [", in->build_id, o->steps, o->seed);
    for (int k = 0; k < n_report; k++)
        printf("%s%d", k ? ", " : "", o->report[k]);
    printf("], \"n\": %d, \"images\": [", s->n);
    for (int i = 0; i < s->n; i++) {
        const xnca_result *x = &r[i];
        int last = n_report - 1;
        printf("%s\n  {\"source\": ", i ? "," : "");
        cli_json_string(stdout, s->items[i].source);
        printf(", \"image_index\": %u, \"alive\": %d, \"cycles\": %u, \"class\": %d, \"votes\": ",
               s->items[i].image_index, x->alive, x->cycles, x->pred[last]);
        json_votes(x->votes[last]);
        printf(", \"agreement\": %s, \"label\": ", x->agree[last] ? "true" : "false");
        if (s->items[i].label >= 0)
            printf("%d", s->items[i].label);
        else
            printf("null");
        printf(", \"at\": [");
        for (int k = 0; k < n_report; k++) {
            printf("%s{\"step\": %d, \"class\": %d, \"votes\": ", k ? ", " : "", x->step[k], x->pred[k]);
            json_votes(x->votes[k]);
            printf(", \"agreement\": %s}", x->agree[k] ? "true" : "false");
        }
        printf("]}");
    }
    printf("\n]");
    if (any_label) {
        printf(", \"labelled\": %d, \"metrics\": [", st[0].n_labelled);
        for (int k = 0; k < n_report; k++)
            printf("%s{\"step\": %d, \"cell_accuracy\": %.4f, \"agreement\": %.4f, \"image_accuracy\": %.4f}",
                   k ? ", " : "", o->report[k], pct(st[k].cells_right, st[k].cells), pct(st[k].agree, s->n),
                   pct(st[k].right, st[k].n_labelled));
        printf("], \"accuracy\": %.4f, \"confusion\": [", pct(st[n_report - 1].right, st[n_report - 1].n_labelled));
        for (int lab = 0; lab < XNCA_CLASSES; lab++) {
            int row[XNCA_CLASSES] = {0};
            for (int i = 0; i < s->n; i++)
                if (s->items[i].label == lab)
                    row[r[i].pred[n_report - 1]]++;
            printf("%s", lab ? ", " : "");
            json_votes(row);
        }
        printf("]");
    } else {
        printf(", \"metrics\": [");
        for (int k = 0; k < n_report; k++)
            printf("%s{\"step\": %d, \"agreement\": %.4f}", k ? ", " : "", o->report[k], pct(st[k].agree, s->n));
        printf("]");
    }
    cycle_stats cy = get_cycle_stats(dev, r, s->n);
    printf(", \"clock_hz\": %u, \"cycles_mean\": %.1f, \"cycles_min\": %u, \"cycles_max\": %u, "
           "\"images_per_s_at_clock\": %.2f, \"seconds\": %.3f, \"images_per_s\": %.2f}\n",
           xnca_info(dev)->clock_hz, cy.mean, cy.min, cy.max, cy.per_s_at_clock, secs, secs > 0 ? s->n / secs : 0.0);
}

static void print_text(const char *model_path, const xnca_model *m, xnca_dev *dev, const xnca_run_opts *o,
                       const image_set *s, const xnca_result *r, int quiet, double secs)
{
    int n_report = o->n_report, last = n_report - 1, any_label;
    step_stats st[XNCA_MAX_REPORT_STEPS];
    compute_stats(s, r, n_report, st, &any_label);
    printf("model %s (%s", model_path, xnca_variant_name(m->variant));
    if (m->variant == XNCA_QUANT)
        printf(" W%dA%d", m->weight_bits, m->act_bits);
    printf(") on %s (board %s), %d steps, seed %u, %d image%s\n", xnca_transport_name(dev), xnca_info(dev)->board,
           o->steps, o->seed, s->n, s->n == 1 ? "" : "s");
    if (!quiet) {
        size_t wsrc = 6;
        for (int i = 0; i < s->n; i++)
            if (strlen(s->items[i].source) > wsrc)
                wsrc = strlen(s->items[i].source);
        if (wsrc > 48)
            wsrc = 48;
        printf("%-*s  class  agree  alive  votes 0..9%s\n", (int)wsrc, "source", any_label ? "                         label" : "");
        for (int i = 0; i < s->n; i++) {
            const xnca_result *x = &r[i];
            printf("%-*.*s  %5d  %5s  %5d  ", (int)wsrc, (int)wsrc, s->items[i].source, x->pred[last],
                   x->agree[last] ? "yes" : "no", x->alive);
            for (int k = 0; k < XNCA_CLASSES; k++)
                printf("%s%3d", k ? " " : "", x->votes[last][k]);
            if (s->items[i].label >= 0)
                printf("  %5d %s", s->items[i].label, s->items[i].label == x->pred[last] ? "ok" : "WRONG");
            printf("\n");
        }
    }
    if (any_label) {
        printf("%d labelled image%s\n step  cell accuracy  agreement  image accuracy\n", st[0].n_labelled,
               st[0].n_labelled == 1 ? "" : "s");
        for (int k = 0; k < n_report; k++)
            printf("%5d  %12.2f%%  %8.2f%%  %13.2f%%\n", o->report[k], pct(st[k].cells_right, st[k].cells),
                   pct(st[k].agree, s->n), pct(st[k].right, st[k].n_labelled));
        printf("confusion matrix after %d steps (rows: label, columns: predicted class)\n      ", o->report[last]);
        for (int k = 0; k < XNCA_CLASSES; k++)
            printf("%6d", k);
        printf("\n");
        for (int lab = 0; lab < XNCA_CLASSES; lab++) {
            int row[XNCA_CLASSES] = {0};
            for (int i = 0; i < s->n; i++)
                if (s->items[i].label == lab)
                    row[r[i].pred[last]]++;
            printf("%6d", lab);
            for (int k = 0; k < XNCA_CLASSES; k++)
                printf("%6d", row[k]);
            printf("\n");
        }
    } else if (s->n > 1) {
        printf("agreement after %d steps: %.2f%%\n", o->report[last], pct(st[last].agree, s->n));
    }
    cycle_stats cy = get_cycle_stats(dev, r, s->n);
    if (cy.mean > 0) {
        printf("device cycles per image: %.0f (min %u, max %u)", cy.mean, cy.min, cy.max);
        if (cy.per_s_at_clock > 0)
            printf(" = %.1f images/s at the device's %.1f MHz clock", cy.per_s_at_clock,
                   xnca_info(dev)->clock_hz / 1e6);
        printf("\n");
    }
    printf("(%.2f s, %.2f images/s end to end)\n", secs, secs > 0 ? s->n / secs : 0.0);
}

/* Classify the whole set: runs of consecutive image indices, CHUNK images per call. */
static int run_all(xnca_dev *dev, const xnca_run_opts *base, const image_set *s, xnca_result *r)
{
    /* the reference engine does ~10^3 images/s: a bar from 200 images on; a board or the
     * simulated RTL is slower: smaller calls, a bar as soon as there is more than one call */
    int fast = !strcmp(xnca_transport_name(dev), "cpu"), chunk = fast ? CHUNK : CHUNK / 10;
    cli_progress prog;
    cli_progress_start(&prog, s->n);
    prog.enabled &= fast ? s->n >= 200 : s->n > chunk;
    for (int i = 0; i < s->n;) {
        int j = i + 1;
        while (j < s->n && j - i < chunk && s->items[j].image_index == s->items[j - 1].image_index + 1)
            j++;
        xnca_run_opts o = *base;
        o.image_index = s->items[i].image_index;
        int rc = xnca_classify(dev, &o, j - i, s->pixels + (size_t)i * s->npix, NULL, r + i);
        if (rc) {
            if (prog.enabled)
                fputc('\n', stderr);
            cli_error(CMD_NAME, "%s", xnca_error(dev));
            return rc == XNCA_RC_USAGE ? XNCA_EXIT_USAGE : XNCA_EXIT_DEVICE;
        }
        i = j;
        cli_progress_update(&prog, i);
    }
    return 0;
}

int cmd_classify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"device", required_argument, 0, 'd'},
        {"labels", required_argument, 0, 'l'}, {"data", required_argument, 0, 'D'},
        {"split", required_argument, 0, 's'},  {"index", required_argument, 0, 'i'},
        {"n", required_argument, 0, 'n'},      {"steps", required_argument, 0, 'S'},
        {"at", required_argument, 0, 'a'},     {"seed", required_argument, 0, 'k'},
        {"preprocess", required_argument, 0, 'p'}, {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model_path = NULL, *device = NULL, *labels = NULL, *data = NULL, *split = "test", *at = NULL;
    long index = 0, n = -1, steps = -1, seed = 0;
    int json = 0, quiet = 0, c;
    prep_mode prep = PREP_AUTO;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hq", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'd': device = optarg; break;
        case 'l': labels = optarg; break;
        case 'D': data = optarg; break;
        case 's': split = optarg; break;
        case 'a': at = optarg; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'i': bad = cli_parse_int(optarg, 0, 1000000000L, &index); break;
        case 'n': bad = cli_parse_int(optarg, 1, 1000000000L, &n); break;
        case 'S': bad = cli_parse_int(optarg, 1, 65535, &steps); break;
        case 'k': bad = cli_parse_int(optarg, 0, 0xffffffffL, &seed); break;
        case 'p':
            if (!strcmp(optarg, "auto")) prep = PREP_AUTO;
            else if (!strcmp(optarg, "mnist")) prep = PREP_MNIST;
            else if (!strcmp(optarg, "none")) prep = PREP_NONE;
            else bad = 1;
            break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error(CMD_NAME, "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error(CMD_NAME, "unknown option '%s'", argv[optind - 1]);
        }
        if (bad) return cli_usage_error(CMD_NAME, "bad value '%s' for %s", optarg, argv[optind - 2]);
    }
    if (!model_path) return cli_usage_error(CMD_NAME, "--model FILE is required");
    if (!data && optind >= argc) return cli_usage_error(CMD_NAME, "nothing to classify: give INPUT files or --data");
    if (data && strcmp(data, "mnist") && strcmp(data, "fashion"))
        return cli_usage_error(CMD_NAME, "--data must be mnist or fashion, not '%s'", data);
    if (strcmp(split, "test") && strcmp(split, "train"))
        return cli_usage_error(CMD_NAME, "--split must be test or train, not '%s'", split);
    int n_idx = 0, n_stdin = 0;
    for (int i = optind; i < argc; i++) {
        n_idx += is_idx_images(argv[i]);
        n_stdin += !strcmp(argv[i], "-");
    }
    if (labels && n_idx != 1) return cli_usage_error(CMD_NAME, "--labels needs exactly one IDX image input (%d given)", n_idx);
    if (n_stdin > 1) return cli_usage_error(CMD_NAME, "'-' (stdin) may be given once");

    /* report steps: --at plus the run's last step */
    xnca_run_opts o = XNCA_RUN_OPTS_INIT;
    o.seed = (uint32_t)seed;
    if (at) {
        if (cli_parse_steps(at, 65535, XNCA_MAX_REPORT_STEPS, o.report, &o.n_report))
            return cli_usage_error(CMD_NAME, "--at needs a comma-separated list of at most %d steps in 1..65535",
                                   XNCA_MAX_REPORT_STEPS);
        if (steps < 0) steps = o.report[o.n_report - 1];
        if (o.report[o.n_report - 1] > steps)
            return cli_usage_error(CMD_NAME, "--at step %d is past --steps %ld", o.report[o.n_report - 1], steps);
        if (o.report[o.n_report - 1] != steps) {
            if (o.n_report == XNCA_MAX_REPORT_STEPS)
                return cli_usage_error(CMD_NAME, "--at and --steps give more than %d report steps", XNCA_MAX_REPORT_STEPS);
            o.report[o.n_report++] = (int)steps;
        }
    } else {
        if (steps < 0) steps = DEFAULT_STEPS;
        o.report[0] = (int)steps;
        o.n_report = 1;
    }
    o.steps = (int)steps;

    xnca_model m;
    int rc = cli_load_model(CMD_NAME, model_path, &m);
    if (rc) return rc;
    image_set s;
    memset(&s, 0, sizeof s);
    s.w = m.grid_w;
    s.h = m.grid_h;
    s.npix = (size_t)s.w * s.h;
    xnca_model_free(&m);
    char err[512];
    if (data) {
        xnca_dataset d;
        if (xnca_dataset_open(data, split, &d, err, sizeof err)) {
            rc = cli_error(CMD_NAME, "%s (run 'make data' to fetch the datasets)", err);
            goto out;
        }
        char name[64];
        snprintf(name, sizeof name, "%s:%s", data, split);
        rc = add_dataset(&s, &d, name, index, n);
        xnca_dataset_free(&d);
        if (rc) goto out;
    }
    for (int i = optind; i < argc && !rc; i++) {
        if (is_idx_images(argv[i])) {
            xnca_dataset d;
            if (xnca_idx_load(argv[i], labels, &d, err, sizeof err)) {
                rc = cli_error(CMD_NAME, "%s", err);
                goto out;
            }
            rc = add_dataset(&s, &d, argv[i], data ? 0 : index, data ? -1 : n);
            xnca_dataset_free(&d);
        } else {
            rc = add_picture(&s, argv[i], (uint32_t)(i - optind), prep);
        }
    }
    if (rc) goto out;
    if (!data && n > 0 && n < s.n) s.n = (int)n; /* --n bounds the total */

    xnca_dev *dev = NULL;
    if ((rc = cli_device_open(CMD_NAME, device, &dev))) goto out;
    if ((rc = cli_device_load_model(CMD_NAME, dev, model_path, &m))) {
        xnca_close(dev);
        goto out;
    }
    xnca_result *res = calloc((size_t)s.n, sizeof *res);
    double t0 = cli_now();
    if (!res)
        rc = cli_error(CMD_NAME, "out of memory");
    else if (!(rc = run_all(dev, &o, &s, res))) {
        if (json)
            print_json(model_path, dev, &o, &s, res, cli_now() - t0);
        else
            print_text(model_path, &m, dev, &o, &s, res, quiet, cli_now() - t0);
    }
    free(res);
    xnca_model_free(&m);
    xnca_close(dev);
out:
    set_free(&s);
    return rc;
}
