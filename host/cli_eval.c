/* cli_eval.c - `xnca eval`: run a model on a dataset split, print metrics at chosen steps (spec 5). */
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_device.h"

static const int DEFAULT_REPORT[] = {1, 10, 20, 30, 50, 100, 150, 200};
#define N_DEFAULT_REPORT ((int)(sizeof(DEFAULT_REPORT) / sizeof(DEFAULT_REPORT[0])))
#define MAX_STEPS 100000

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca eval --model FILE --data mnist|fashion --split test|train [OPTIONS]\n\n"
            "Runs every image of the split (or the first N) from a zero state and prints, at each\n"
            "reported step, the average cell accuracy (pooled over alive cells), the total agreement\n"
            "(images whose alive cells all share one class) and the image-level accuracy (majority\n"
            "vote), in percent (docs/spec.md section 5).\n\n"
            "  --model FILE      .xnca model (required)\n"
            "  --data NAME       mnist or fashion (required; files under $XNCA_DATA or ./data)\n"
            "  --split NAME      test or train (required)\n"
            "  --n N             evaluate the first N images (default: the whole split)\n"
            "  --steps S         run S steps; reports the default steps up to S, plus S\n"
            "  --at LIST         report exactly these steps (comma-separated); runs max(LIST) steps\n"
            "                    (default report: 1,10,20,30,50,100,150,200)\n"
            "  --seed K          seed of the fire mask and noise hash (default 0)\n"
            "  --mutate-at S     after S steps replace each image by another of the split (spec 7)\n"
            "  --threads T       worker threads (default: all cores); results do not depend on T\n"
            "  --json            one JSON object: {\"model\", \"data\", \"split\", \"n\", \"metrics\": [...]}\n"
            "  --device D        where to run (default cpu, the reference engine, in threads): any device\n"
            "                    of `xnca classify --help` (usb, tty:PATH, sim[:BOARD], sim[:BOARD]@SOCKET,\n"
            "                    unix:SOCKET, auto); there report steps are 1..65535, at most 16\n"
            "  --help            this text\n");
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Parse "--at" LIST into sorted, distinct steps. */
static int parse_at(const char *list, int *steps, int *n)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy) return -1;
    *n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long v;
        if (cli_parse_int(tok, 0, MAX_STEPS, &v) || *n >= XNCA_MAX_REPORT) {
            free(copy);
            return -1;
        }
        steps[(*n)++] = (int)v;
    }
    free(copy);
    if (*n == 0) return -1;
    qsort(steps, (size_t)*n, sizeof(int), cmp_int);
    int k = 0;
    for (int i = 0; i < *n; i++)
        if (k == 0 || steps[i] != steps[k - 1]) steps[k++] = steps[i];
    *n = k;
    return 0;
}

/* ---- progress bar on a terminal ---- */
typedef struct {
    pthread_mutex_t lock;
    struct timespec start;
    long last_pct;
} progress_state;

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void progress_bar(void *ctx, long done, long total)
{
    progress_state *ps = ctx;
    if (total <= 0) return;
    long pct = done * 1000 / total;
    pthread_mutex_lock(&ps->lock);
    if (pct != ps->last_pct) {
        ps->last_pct = pct;
        int width = 40, fill = (int)(done * width / total);
        double el = seconds_since(&ps->start);
        double eta = done > 0 ? el * (double)(total - done) / (double)done : 0.0;
        fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %.0fs elapsed, %.0fs left ", fill,
                "########################################", width - fill, "", pct / 10.0, el, eta);
        if (done >= total) fputc('\n', stderr);
        fflush(stderr);
    }
    pthread_mutex_unlock(&ps->lock);
}

/* hidden --tie-rate (scripts/models-table.py): the percent of alive cells whose largest class
 * channel is shared at the last report step, counted by xnca_eval in the same pass
 * (xnca_metric.tie_rate). */

static void print_json(const char *model_path, const char *data, const char *split, int n, uint32_t seed,
                       const xnca_eval_opts *o, const xnca_metric *metrics, int ties)
{
    printf("{\"model\": ");
    cli_json_string(stdout, model_path);
    printf(", \"data\": ");
    cli_json_string(stdout, data);
    printf(", \"split\": ");
    cli_json_string(stdout, split);
    printf(", \"n\": %d, \"seed\": %u, \"metrics\": [", n, seed);
    for (int i = 0; i < o->n_report; i++)
        printf("%s{\"step\": %d, \"cell_accuracy\": %.4f, \"agreement\": %.4f, \"image_accuracy\": %.4f}",
               i ? ", " : "", metrics[i].step, metrics[i].cell_accuracy, metrics[i].agreement,
               metrics[i].image_accuracy);
    printf("]");
    if (ties)
        printf(", \"tie_rate\": {\"step\": %d, \"percent\": %.4f}", o->report[o->n_report - 1],
               metrics[o->n_report - 1].tie_rate);
    printf("}\n");
}

static void print_table(const char *model_path, const xnca_model *m, const char *data, const char *split, int n,
                        const xnca_eval_opts *o, const xnca_metric *metrics, double secs)
{
    printf("model %s (%s", model_path, xnca_variant_name(m->variant));
    if (m->variant == XNCA_QUANT) printf(" W%dA%d", m->weight_bits, m->act_bits);
    printf("), data %s %s, %d images, seed %u", data, split, n, o->seed);
    if (o->mutate_at >= 0) printf(", mutation after step %d", o->mutate_at);
    printf("\n");
    printf(" step  cell accuracy  agreement  image accuracy\n");
    for (int i = 0; i < o->n_report; i++)
        printf("%5d  %12.2f%%  %8.2f%%  %13.2f%%\n", metrics[i].step, metrics[i].cell_accuracy,
               metrics[i].agreement, metrics[i].image_accuracy);
    printf("(%.1f s)\n", secs);
}

/* ---- eval on a device (--device other than cpu): CLASSIFY through the host library ----
 * The same images, seed, image indices, report steps and spec 4.5 mutation draws as xnca_eval,
 * so a bit-exact device gives the same metrics. Cell accuracy pools votes for the label over the
 * alive cells at each report (the votes of a report sum to its alive cells). */
static int device_eval(const char *device, const char *model_path, const xnca_dataset *d, int n,
                       const xnca_eval_opts *o, xnca_metric *metrics)
{
    if (o->report[0] < 1 || o->n_report > XNCA_MAX_REPORT_STEPS)
        return cli_usage_error("eval", "on a device the report steps must be 1..65535, at most %d",
                               XNCA_MAX_REPORT_STEPS);
    xnca_dev *dev;
    xnca_model m;
    int rc = cli_device_open("eval", device, &dev);
    if (rc) return rc;
    if ((rc = cli_device_load_model("eval", dev, model_path, &m))) {
        xnca_close(dev);
        return rc;
    }
    size_t px = (size_t)d->w * d->h;
    const xnca_dataset *pool = o->mutate_pool ? o->mutate_pool : d;
    enum { CHUNK = 100 };
    xnca_result *res = calloc(CHUNK, sizeof *res);
    uint8_t *mut = o->mutate_at >= 0 ? malloc(CHUNK * px) : NULL;
    int *mut_label = calloc(CHUNK, sizeof(int));
    long correct[XNCA_MAX_REPORT_STEPS] = {0}, alive[XNCA_MAX_REPORT_STEPS] = {0};
    long agree[XNCA_MAX_REPORT_STEPS] = {0}, right[XNCA_MAX_REPORT_STEPS] = {0}, labelled[XNCA_MAX_REPORT_STEPS] = {0};
    xnca_run_opts ro = XNCA_RUN_OPTS_INIT;
    ro.seed = o->seed;
    ro.steps = o->report[o->n_report - 1];
    ro.n_report = o->n_report;
    memcpy(ro.report, o->report, sizeof(int) * (size_t)o->n_report);
    ro.mutate_at = o->mutate_at;
    if (o->mutate_at >= ro.steps) ro.mutate_at = -1; /* after the last report: no effect */
    cli_progress prog;
    cli_progress_start(&prog, n);
    if (!res || !mut_label || (o->mutate_at >= 0 && !mut)) rc = cli_error("eval", "out of memory");
    for (int i0 = 0; !rc && i0 < n; i0 += CHUNK) {
        int k = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (int i = 0; ro.mutate_at >= 0 && i < k; i++) { /* spec 4.5: the picture that replaces image i */
            uint32_t index = (uint32_t)(o->index_offset + i0 + i);
            uint32_t j = xnca_hash(o->seed, index, (uint32_t)ro.mutate_at, 0, 0, 0xffff) % (uint32_t)pool->n;
            memcpy(mut + (size_t)i * px, pool->images + px * j, px);
            mut_label[i] = pool->labels ? pool->labels[j] : -1;
        }
        ro.image_index = (uint32_t)(o->index_offset + i0);
        int r = xnca_classify(dev, &ro, k, d->images + px * (size_t)i0, mut, res);
        if (r) {
            if (prog.enabled) fputc('\n', stderr);
            rc = cli_error("eval", "%s", xnca_error(dev));
            rc = r == XNCA_RC_USAGE ? XNCA_EXIT_USAGE : XNCA_EXIT_DEVICE;
            break;
        }
        for (int i = 0; i < k; i++)
            for (int q = 0; q < o->n_report; q++) {
                int label = d->labels ? d->labels[i0 + i] : -1;
                if (ro.mutate_at >= 0 && o->report[q] > ro.mutate_at) label = mut_label[i];
                long sum = 0;
                for (int c = 0; c < XNCA_CLASSES; c++) sum += res[i].votes[q][c];
                alive[q] += sum;
                agree[q] += res[i].agree[q] != 0;
                if (label >= 0 && label < XNCA_CLASSES) {
                    labelled[q]++;
                    correct[q] += res[i].votes[q][label];
                    right[q] += res[i].pred[q] == label;
                }
            }
        cli_progress_update(&prog, i0 + k);
    }
    for (int q = 0; !rc && q < o->n_report; q++) {
        metrics[q].step = o->report[q];
        metrics[q].agreement = 100.0 * agree[q] / n;
        metrics[q].cell_accuracy = labelled[q] && alive[q] ? 100.0 * correct[q] / alive[q] : 0.0 / 0.0;
        metrics[q].image_accuracy = labelled[q] ? 100.0 * right[q] / labelled[q] : 0.0 / 0.0;
        metrics[q].tie_rate = -1.0; /* not visible through CLASSIFY */
    }
    free(res);
    free(mut);
    free(mut_label);
    xnca_model_free(&m);
    xnca_close(dev);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"data", required_argument, 0, 'D'},
        {"split", required_argument, 0, 's'},  {"n", required_argument, 0, 'n'},
        {"steps", required_argument, 0, 'S'},  {"at", required_argument, 0, 'a'},
        {"seed", required_argument, 0, 'k'},   {"mutate-at", required_argument, 0, 'M'},
        {"threads", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'},
        {"device", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'},
        {"tie-rate", no_argument, 0, 'T'}, /* hidden (scripts/models-table.py) */
        {0, 0, 0, 0}};
    const char *model_path = NULL, *data = NULL, *split = NULL, *device = NULL, *at = NULL;
    long n = -1, steps = -1, seed = 0, mutate_at = -1, threads = 0;
    int json = 0, ties = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'D': data = optarg; break;
        case 's': split = optarg; break;
        case 'a': at = optarg; break;
        case 'j': json = 1; break;
        case 'T': ties = 1; break;
        case 'd': device = optarg; break;
        case 'n':
            if (cli_parse_int(optarg, 1, 1000000000L, &n)) return cli_usage_error("eval", "--n needs a positive integer");
            break;
        case 'S':
            if (cli_parse_int(optarg, 0, MAX_STEPS, &steps))
                return cli_usage_error("eval", "--steps needs an integer in 0..%d", MAX_STEPS);
            break;
        case 'k':
            if (cli_parse_int(optarg, 0, 0xffffffffL, &seed))
                return cli_usage_error("eval", "--seed needs an integer in 0..4294967295");
            break;
        case 'M':
            if (cli_parse_int(optarg, 0, MAX_STEPS, &mutate_at))
                return cli_usage_error("eval", "--mutate-at needs an integer in 0..%d", MAX_STEPS);
            break;
        case 't':
            if (cli_parse_int(optarg, 1, 1024, &threads)) return cli_usage_error("eval", "--threads needs 1..1024");
            break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error("eval", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("eval", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error("eval", "--model FILE is required");
    if (!data) return cli_usage_error("eval", "--data mnist|fashion is required");
    if (strcmp(data, "mnist") && strcmp(data, "fashion"))
        return cli_usage_error("eval", "--data must be mnist or fashion, not '%s'", data);
    if (!split) return cli_usage_error("eval", "--split test|train is required");
    if (ties && (mutate_at >= 0 || !json)) return cli_usage_error("eval", "--tie-rate needs --json and no --mutate-at");
    if (strcmp(split, "test") && strcmp(split, "train"))
        return cli_usage_error("eval", "--split must be test or train, not '%s'", split);

    /* Which steps to report (exactly as documented in usage()). */
    xnca_eval_opts o;
    memset(&o, 0, sizeof(o));
    if (at) {
        if (parse_at(at, o.report, &o.n_report))
            return cli_usage_error("eval", "--at needs a comma-separated list of at most %d steps in 0..%d",
                                   XNCA_MAX_REPORT, MAX_STEPS);
        if (steps >= 0 && steps != o.report[o.n_report - 1])
            return cli_usage_error("eval", "--steps %ld disagrees with --at (which runs max(LIST) = %d steps)", steps,
                                   o.report[o.n_report - 1]);
    } else {
        long last = steps >= 0 ? steps : DEFAULT_REPORT[N_DEFAULT_REPORT - 1];
        for (int i = 0; i < N_DEFAULT_REPORT && DEFAULT_REPORT[i] <= last; i++) o.report[o.n_report++] = DEFAULT_REPORT[i];
        if (o.n_report == 0 || o.report[o.n_report - 1] != last) o.report[o.n_report++] = (int)last;
    }

    int on_device = device && strcmp(device, "cpu");
    if (on_device && ties) return cli_usage_error("eval", "--tie-rate needs the cpu device");
    int rc;
    xnca_model m;
    if ((rc = cli_load_model("eval", model_path, &m))) return rc;
    xnca_dataset d;
    char err[256];
    memset(&d, 0, sizeof(d));
    if (xnca_dataset_open(data, split, &d, err, sizeof(err))) {
        xnca_model_free(&m);
        return cli_error("eval", "%s (run 'make data' to fetch the datasets)", err);
    }
    if (n < 0) n = d.n;
    if (n > d.n) {
        xnca_dataset_free(&d);
        xnca_model_free(&m);
        return cli_usage_error("eval", "--n %ld is larger than the %s %s split (%d images)", n, data, split, d.n);
    }
    o.seed = (uint32_t)seed;
    o.mutate_at = (int)mutate_at;
    o.mutate_pool = &d;
    o.threads = (int)threads;
    o.index_offset = 0;
    progress_state ps = {PTHREAD_MUTEX_INITIALIZER, {0, 0}, -1};
    clock_gettime(CLOCK_MONOTONIC, &ps.start);
    if (isatty(STDERR_FILENO)) {
        o.progress = progress_bar;
        o.progress_ctx = &ps;
    }
    xnca_metric *metrics = calloc((size_t)o.n_report, sizeof(xnca_metric));
    if (!metrics) {
        xnca_dataset_free(&d);
        xnca_model_free(&m);
        return cli_error("eval", "out of memory");
    }
    if (on_device) {
        rc = device_eval(device, model_path, &d, (int)n, &o, metrics);
        if (!rc && json) print_json(model_path, data, split, (int)n, o.seed, &o, metrics, 0);
        else if (!rc) print_table(model_path, &m, data, split, (int)n, &o, metrics, seconds_since(&ps.start));
    } else if (xnca_eval(&m, &d, (int)n, &o, metrics, NULL, err, sizeof(err))) {
        rc = cli_error("eval", "%s", err);
    } else if (json) {
        print_json(model_path, data, split, (int)n, o.seed, &o, metrics, ties);
    } else {
        print_table(model_path, &m, data, split, (int)n, &o, metrics, seconds_since(&ps.start));
    }
    free(metrics);
    xnca_dataset_free(&d);
    xnca_model_free(&m);
    return rc;
}
