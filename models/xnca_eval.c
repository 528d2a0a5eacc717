/* xnca_eval.c - evaluation driver: run every image of a set for the report steps, read the
 * metrics of spec 5, optionally mutate (spec 4.5, 7). Images are independent, so they are
 * spread over pthreads; every per-image result is computed by one thread from the image's
 * own index and the pooled metrics are sums of integers: results do not depend on threads.
 *
 * Timeline of one image: before step s, the report steps equal to s are read (a report at
 * step s sees the state after steps 0 .. s-1), then, if s == mutate_at, the picture is
 * replaced, then step s runs. A report at mutate_at therefore reads the state before the
 * mutation. Cell and image accuracy compare with the label of the picture on the grid at
 * the report (after a mutation: the new picture's label).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xnca_model.h"
#include "xnca_err.h"

typedef struct {
    long correct[XNCA_MAX_REPORT]; /* alive cells whose class equals the label */
    long alive[XNCA_MAX_REPORT];
    long ties[XNCA_MAX_REPORT];    /* alive cells whose largest class channel is shared */
    int label[XNCA_MAX_REPORT];    /* label at the report, -1 without labels */
} image_tally;

typedef struct {
    const xnca_model *m;
    const xnca_dataset *d;
    const xnca_eval_opts *opts;
    int n;
    xnca_image_result *results;
    image_tally *tallies;
    int next;          /* next image to take (atomic) */
    long done;         /* images finished (under lock) */
    int failed;        /* a worker ran out of memory (atomic) */
    pthread_mutex_t lock;
} eval_job;

/* A cell "ties" when its largest class channel is shared by another class channel (spec 5 then
 * picks the lowest index). */
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

static long count_ties(const xnca_grid *g)
{
    long ties = 0;
    for (size_t cell = 0; cell < (size_t)g->w * g->h; cell++)
        if (g->alive[cell])
            ties += cell_ties(g, cell);
    return ties;
}

static void read_report(const xnca_model *m, const xnca_grid *g, int label, int r, xnca_image_result *res,
                        image_tally *t)
{
    int alive = 0, agree = 0;
    res->pred[r] = xnca_votes(m, g, res->votes[r], &agree, &alive);
    res->agree[r] = agree;
    t->alive[r] = alive;
    t->label[r] = label;
    t->correct[r] = label >= 0 && label < XNCA_CLASSES ? res->votes[r][label] : 0;
    t->ties[r] = count_ties(g);
}

/* Run image i of the job; 0 or -1 (out of memory). */
static int run_image(eval_job *job, xnca_workspace *ws, int i)
{
    const xnca_model *m = job->m;
    const xnca_dataset *d = job->d;
    const xnca_eval_opts *o = job->opts;
    const xnca_dataset *pool = o->mutate_pool ? o->mutate_pool : d;
    xnca_image_result *res = &job->results[i];
    image_tally *t = &job->tallies[i];
    uint32_t index = (uint32_t)(o->index_offset + i);
    size_t px = (size_t)d->w * d->h;
    int label = d->labels ? d->labels[i] : -1;
    xnca_grid g;
    memset(res, 0, sizeof(*res));
    if (xnca_grid_init(m, &g, d->w, d->h, d->images + px * i) != 0)
        return -1;
    int dummy[XNCA_CLASSES];
    xnca_votes(m, &g, dummy, NULL, &res->alive);
    int last = o->report[o->n_report - 1], r = 0;
    for (int s = 0;; s++) {
        while (r < o->n_report && o->report[r] == s)
            read_report(m, &g, label, r++, res, t);
        if (s == last)
            break;
        if (s == o->mutate_at) {
            uint32_t j = xnca_hash(o->seed, index, (uint32_t)s, 0, 0, 0xffff) % (uint32_t)pool->n;
            xnca_grid_mutate(m, &g, pool->images + px * j);
            label = pool->labels ? pool->labels[j] : -1;
        }
        xnca_step_ws(ws, m, &g, o->seed, index, (uint32_t)s, NULL);
    }
    xnca_grid_free(&g);
    return 0;
}

static void *worker(void *arg)
{
    eval_job *job = arg;
    xnca_workspace *ws = xnca_workspace_new();
    if (!ws) {
        __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    for (;;) {
        int i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (i >= job->n || __atomic_load_n(&job->failed, __ATOMIC_RELAXED))
            break;
        if (run_image(job, ws, i) != 0) {
            __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
            break;
        }
        pthread_mutex_lock(&job->lock);
        long done = ++job->done;
        if (job->opts->progress)
            job->opts->progress(job->opts->progress_ctx, done, job->n);
        pthread_mutex_unlock(&job->lock);
    }
    xnca_workspace_free(ws);
    return NULL;
}

static int check_args(const xnca_model *m, const xnca_dataset *d, int n, const xnca_eval_opts *o, char *err,
                      size_t errlen)
{
    if (!m || !d || !o)
        return xnca_errf(err, errlen, "xnca_eval: missing model, dataset or options");
    if (n < 1 || n > d->n)
        return xnca_errf(err, errlen, "number of images %d is outside 1..%d", n, d->n);
    if (d->w < 8 || d->w > 64 || d->h < 8 || d->h > 64)
        return xnca_errf(err, errlen, "image size %dx%d is outside the grid envelope 8..64", d->w, d->h);
    if (o->n_report < 1 || o->n_report > XNCA_MAX_REPORT)
        return xnca_errf(err, errlen, "number of report steps %d is outside 1..%d", o->n_report, XNCA_MAX_REPORT);
    for (int r = 0; r < o->n_report; r++) {
        if (o->report[r] < 0)
            return xnca_errf(err, errlen, "report step %d is negative", o->report[r]);
        if (r > 0 && o->report[r] <= o->report[r - 1])
            return xnca_errf(err, errlen, "report steps must be ascending (%d after %d)", o->report[r], o->report[r - 1]);
    }
    if (o->mutate_at < -1)
        return xnca_errf(err, errlen, "mutate_at %d must be -1 (off) or >= 0", o->mutate_at);
    const xnca_dataset *pool = o->mutate_pool ? o->mutate_pool : d;
    if (o->mutate_at >= 0 && (pool->n < 1 || pool->w != d->w || pool->h != d->h))
        return xnca_errf(err, errlen, "mutation pool must be non-empty with %dx%d images", d->w, d->h);
    if (o->threads < 0)
        return xnca_errf(err, errlen, "threads %d must be >= 0", o->threads);
    return 0;
}

static void pool_metrics(const eval_job *job, xnca_metric *metrics)
{
    const xnca_eval_opts *o = job->opts;
    for (int r = 0; r < o->n_report; r++) {
        long correct = 0, alive = 0, agree = 0, right = 0, labelled = 0, ties = 0;
        for (int i = 0; i < job->n; i++) {
            const image_tally *t = &job->tallies[i];
            correct += t->correct[r];
            alive += t->alive[r];
            ties += t->ties[r];
            agree += job->results[i].agree[r];
            if (t->label[r] >= 0) {
                labelled++;
                right += job->results[i].pred[r] == t->label[r];
            }
        }
        metrics[r].step = o->report[r];
        metrics[r].agreement = 100.0 * agree / job->n;
        metrics[r].cell_accuracy = labelled && alive ? 100.0 * correct / alive : NAN;
        metrics[r].image_accuracy = labelled ? 100.0 * right / labelled : NAN;
        metrics[r].tie_rate = alive ? 100.0 * ties / alive : 0.0;
    }
}

int xnca_eval(const xnca_model *m, const xnca_dataset *d, int n, const xnca_eval_opts *opts, xnca_metric *metrics,
              xnca_image_result *per_image, char *err, size_t errlen)
{
    if (check_args(m, d, n, opts, err, errlen) != 0)
        return -1;
    if (xnca_model_check(m, err, errlen) != 0)
        return -1;
    eval_job job = {.m = m, .d = d, .opts = opts, .n = n};
    job.results = per_image ? per_image : calloc((size_t)n, sizeof(xnca_image_result));
    job.tallies = calloc((size_t)n, sizeof(image_tally));
    if (!job.results || !job.tallies) {
        if (!per_image)
            free(job.results);
        free(job.tallies);
        return xnca_errf(err, errlen, "out of memory for %d image results", n);
    }
    pthread_mutex_init(&job.lock, NULL);
    long threads = opts->threads ? opts->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if (threads > n)
        threads = n;
    pthread_t *tid = calloc((size_t)threads, sizeof(pthread_t));
    int started = 0;
    if (tid)
        for (; started < threads; started++)
            if (pthread_create(&tid[started], NULL, worker, &job) != 0)
                break;
    if (started == 0)
        worker(&job); /* no threads available: run in the caller */
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    free(tid);
    pthread_mutex_destroy(&job.lock);
    int rc = 0;
    if (job.failed || job.done != n)
        rc = xnca_errf(err, errlen, "out of memory while evaluating");
    else if (metrics)
        pool_metrics(&job, metrics);
    if (!per_image)
        free(job.results);
    free(job.tallies);
    return rc;
}
