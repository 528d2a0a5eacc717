/* cli_eval.c - `xnca eval`: run a model on a dataset split, print metrics at chosen steps (spec 5). */
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

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
            "  --device NAME     where to run; only 'cpu' exists in this build\n"
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

/* ---- hidden --tie-rate: argmax ties at the last report step ----
 * A cell "ties" when its largest class channel is shared by another class channel (spec 5
 * then picks the lowest index). The engine's xnca_eval does not expose states, so this is a
 * second pass with the public step API: same seed, image indices and step numbering as
 * xnca_eval without mutation, hence the same states at the last report step. Costs one more
 * evaluation; folding the count into xnca_eval's report would remove it. */
typedef struct {
    const xnca_model *m;
    const xnca_dataset *d;
    int n, steps;
    uint32_t seed;
    int next, failed;
    long ties, alive; /* under lock */
    pthread_mutex_t lock;
} tie_job;

static int cell_ties(const xnca_grid *g, size_t cell)
{
    size_t base = cell * (size_t)g->c + (size_t)(g->c - XNCA_CLASSES);
    int best = 0, count = 1;
    for (int k = 1; k < XNCA_CLASSES; k++) {
        int gt = g->qs ? g->qs[base + k] > g->qs[base + best] : g->fs[base + k] > g->fs[base + best];
        int eq = g->qs ? g->qs[base + k] == g->qs[base + best] : g->fs[base + k] == g->fs[base + best];
        if (gt) {
            best = k;
            count = 1;
        } else if (eq) {
            count++;
        }
    }
    return count > 1;
}

static void *tie_worker(void *arg)
{
    tie_job *job = arg;
    xnca_workspace *ws = xnca_workspace_new();
    size_t px = (size_t)job->d->w * job->d->h;
    if (!ws) {
        __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    for (;;) {
        int i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (i >= job->n || __atomic_load_n(&job->failed, __ATOMIC_RELAXED)) break;
        xnca_grid g;
        if (xnca_grid_init(job->m, &g, job->d->w, job->d->h, job->d->images + px * i) != 0) {
            __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
            break;
        }
        for (int s = 0; s < job->steps; s++) xnca_step_ws(ws, job->m, &g, job->seed, (uint32_t)i, (uint32_t)s, NULL);
        long ties = 0, alive = 0;
        for (size_t cell = 0; cell < px; cell++)
            if (g.alive[cell]) {
                alive++;
                ties += cell_ties(&g, cell);
            }
        xnca_grid_free(&g);
        pthread_mutex_lock(&job->lock);
        job->ties += ties;
        job->alive += alive;
        pthread_mutex_unlock(&job->lock);
    }
    xnca_workspace_free(ws);
    return NULL;
}

/* Percent of alive cells (pooled over the first n images) that tie after `steps` steps; -1 on failure. */
static double tie_rate(const xnca_model *m, const xnca_dataset *d, int n, int steps, uint32_t seed, int threads)
{
    tie_job job = {.m = m, .d = d, .n = n, .steps = steps, .seed = seed};
    pthread_mutex_init(&job.lock, NULL);
    long nt = threads > 0 ? threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1) nt = 1;
    if (nt > n) nt = n;
    pthread_t tid[64];
    int started = 0;
    for (; started < nt && started < 64; started++)
        if (pthread_create(&tid[started], NULL, tie_worker, &job) != 0) break;
    if (started == 0) tie_worker(&job);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&job.lock);
    if (job.failed) return -1.0;
    return job.alive ? 100.0 * (double)job.ties / (double)job.alive : 0.0;
}

static void print_json(const char *model_path, const char *data, const char *split, int n, uint32_t seed,
                       const xnca_eval_opts *o, const xnca_metric *metrics, double ties)
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
    if (ties >= 0) printf(", \"tie_rate\": {\"step\": %d, \"percent\": %.4f}", o->report[o->n_report - 1], ties);
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

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"data", required_argument, 0, 'D'},
        {"split", required_argument, 0, 's'},  {"n", required_argument, 0, 'n'},
        {"steps", required_argument, 0, 'S'},  {"at", required_argument, 0, 'a'},
        {"seed", required_argument, 0, 'k'},   {"mutate-at", required_argument, 0, 'M'},
        {"threads", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'},
        {"device", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'},
        {"tie-rate", no_argument, 0, 'T'}, /* hidden (scripts/models-table.py): see tie_rate() */
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

    int rc = cli_check_device("eval", device);
    if (rc) return rc;
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
    if (xnca_eval(&m, &d, (int)n, &o, metrics, NULL, err, sizeof(err))) {
        rc = cli_error("eval", "%s", err);
    } else if (json) {
        double tr = ties ? tie_rate(&m, &d, (int)n, o.report[o.n_report - 1], o.seed, o.threads) : -1.0;
        if (ties && tr < 0) rc = cli_error("eval", "out of memory while counting ties");
        else print_json(model_path, data, split, (int)n, o.seed, &o, metrics, tr);
    } else {
        print_table(model_path, &m, data, split, (int)n, &o, metrics, seconds_since(&ps.start));
    }
    free(metrics);
    xnca_dataset_free(&d);
    xnca_model_free(&m);
    return rc;
}
