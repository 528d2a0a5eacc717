/* xnca_prune.c - structured pruning of a float model (see xnca_prune.h for the rule).
 *
 * Measurement: the float model runs its own trajectories (xnca_step); at sample steps each alive
 * cell's 3x3 neighbourhood is pushed through the layers here, cell by cell (plain loops, the
 * same arithmetic as spec 8: y = b + W x, ReLU on every layer but the output), and every ReLU
 * output adds to a per-unit sum and sum of squares.
 * Surgery: layer l keeps the rows of its kept outputs and the columns of layer l-1's kept
 * outputs, in their original order; removed inputs fold their mean into the bias (fold_mean).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_prune.h"
#include "xnca_err.h"
#include "xnca_ptq.h"

void xnca_prune_defaults(xnca_prune_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->fold_mean = 1;
    o->calib_n = 100;
    o->calib_steps = 200;
}

/* Per-unit activation statistics of the ReLU layers (0 .. n_layers - 2). */
typedef struct {
    double *sum[XNCA_MAX_LAYERS], *sumsq[XNCA_MAX_LAYERS];
    long n;
} unit_stats;

/* Push cell (x, y)'s neighbourhood through the ReLU layers and accumulate their outputs. */
static void sample_cell(const xnca_model *m, const xnca_grid *g, int x, int y, float *va, float *vb,
                        unit_stats *st)
{
    const int C = g->c;
    for (int pos = 0; pos < 9; pos++) {
        int nx = x + pos % 3 - 1, ny = y + pos / 3 - 1;
        float *dst = va + (size_t)pos * C;
        if (nx < 0 || ny < 0 || nx >= g->w || ny >= g->h)
            memset(dst, 0, sizeof(float) * (size_t)C);
        else
            memcpy(dst, g->fs + ((size_t)ny * g->w + nx) * C, sizeof(float) * (size_t)C);
    }
    for (int l = 0; l < m->n_layers - 1; l++) {
        const xnca_layer *L = &m->layer[l];
        for (int o = 0; o < L->n_out; o++) {
            const float *row = L->w + (size_t)o * L->n_in;
            float s = L->b[o];
            for (int n = 0; n < L->n_in; n++) s += row[n] * va[n];
            vb[o] = s > 0.0f ? s : 0.0f;
            st->sum[l][o] += vb[o];
            st->sumsq[l][o] += (double)vb[o] * vb[o];
        }
        float *t = va;
        va = vb;
        vb = t;
    }
    st->n++;
}

/* One measuring run's context (measure_visit). */
typedef struct {
    const xnca_model *m;
    float *va, *vb;
    unit_stats *st;
} measure_ctx;

static void measure_visit(void *ctx, const xnca_grid *g, int x, int y, int i, int t)
{
    measure_ctx *c = ctx;
    sample_cell(c->m, g, x, y, c->va, c->vb, c->st);
}

/* The calibration run of PTQ (the same sample steps), measuring the ReLU layers' outputs. */
static int measure(const xnca_model *m, const xnca_prune_opts *o, unit_stats *st, char *err, size_t errlen)
{
    int widest = 9 * m->channels;
    for (int l = 0; l < m->n_layers; l++)
        if (m->layer[l].n_out > widest) widest = m->layer[l].n_out;
    float *va = malloc(sizeof(float) * (size_t)widest * 2);
    if (!va) return xnca_errf(err, errlen, "out of memory");
    measure_ctx c = {m, va, va + widest, st};
    int rc = xnca_ptq_calib_run(m, o->calib, o->calib_n, o->calib_steps, o->seed, measure_visit, &c);
    free(va);
    if (rc) return xnca_errf(err, errlen, "out of memory");
    if (st->n == 0) return xnca_errf(err, errlen, "the calibration digits have no alive cells");
    return 0;
}

typedef struct {
    double imp;
    int unit;
} ranked;

/* Ascending importance; among equals the higher unit index first (it is removed first). */
static int by_importance(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->imp != y->imp) return x->imp < y->imp ? -1 : 1;
    return y->unit - x->unit;
}

/* keep[n_out]: 1 for the units of ReLU layer l that stay (the `target` most important). */
static int choose(const xnca_model *m, int l, int target, const unit_stats *st, int fold_mean, unsigned char *keep,
                  xnca_prune_report *rep)
{
    const xnca_layer *L = &m->layer[l], *next = &m->layer[l + 1];
    const int n = L->n_out;
    if (n <= 0 || target > n) return -1;
    ranked *r = malloc(sizeof(ranked) * (size_t)n);
    if (!r) return -1;
    double total = 0.0;
    for (int j = 0; j < n; j++) {
        double mean = st->sum[l][j] / st->n;
        double var = st->sumsq[l][j] / st->n - mean * mean;
        double norm = 0.0;
        for (int o = 0; o < next->n_out; o++) {
            double w = next->w[(size_t)o * next->n_in + j];
            norm += w * w;
        }
        double act = fold_mean ? sqrt(var > 0.0 ? var : 0.0) : mean;
        r[j].imp = act * sqrt(norm);
        r[j].unit = j;
        total += r[j].imp;
    }
    qsort(r, (size_t)n, sizeof(ranked), by_importance);
    memset(keep, 1, (size_t)n);
    double removed = 0.0;
    for (int k = 0; k < n - target; k++) {
        keep[r[k].unit] = 0;
        removed += r[k].imp;
    }
    rep->removed[l] = n - target;
    rep->kept_share[l] = total > 0.0 ? 1.0 - removed / total : 1.0;
    rep->max_removed[l] = n > target && total > 0.0 ? r[n - target - 1].imp / (total / n) : 0.0;
    free(r);
    return 0;
}

/* Copy layer l of fm into out, keeping rows keep_out and columns keep_in (NULL: all). */
static void copy_layer(const xnca_model *fm, int l, const unsigned char *keep_in, const unsigned char *keep_out,
                       const double *in_mean, int fold_mean, xnca_layer *dst)
{
    const xnca_layer *L = &fm->layer[l];
    int r = 0;
    for (int o = 0; o < L->n_out; o++) {
        if (keep_out && !keep_out[o]) continue;
        const float *row = L->w + (size_t)o * L->n_in;
        float *drow = dst->w + (size_t)r * dst->n_in;
        float b = L->b[o];
        double fold = 0.0;
        int c = 0, folded = 0;
        for (int n = 0; n < L->n_in; n++) {
            if (!keep_in || keep_in[n]) {
                drow[c++] = row[n];
            } else if (fold_mean) {
                fold += (double)row[n] * in_mean[n];
                folded = 1;
            }
        }
        dst->b[r] = folded ? (float)((double)b + fold) : b;
        r++;
    }
}

int xnca_prune(const xnca_model *fm, const xnca_prune_opts *o, xnca_model *out, xnca_prune_report *rep,
               char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    memset(rep, 0, sizeof(*rep));
    if (fm->variant != XNCA_FLOAT)
        return xnca_errf(err, errlen, "a %s model cannot be pruned; prune needs a float model",
                    xnca_variant_name(fm->variant));
    const int P = o->perception_width ? o->perception_width : fm->perception_width;
    const int M = o->mlp_width ? o->mlp_width : fm->mlp_width;
    if (P < 8 || P > fm->perception_width)
        return xnca_errf(err, errlen, "perception width %d must be 8..%d (the model's)", P, fm->perception_width);
    if (o->mlp_width && fm->hidden_layers == 0)
        return xnca_errf(err, errlen, "the model has no hidden layer to narrow");
    if (fm->hidden_layers > 0 && (M < 8 || M > fm->mlp_width))
        return xnca_errf(err, errlen, "MLP width %d must be 8..%d (the model's)", M, fm->mlp_width);
    if (!o->calib || o->calib_n < 1 || o->calib_n > o->calib->n || o->calib_steps < 1)
        return xnca_errf(err, errlen, "no calibration images");
    if (o->calib->w != fm->grid_w || o->calib->h != fm->grid_h)
        return xnca_errf(err, errlen, "calibration images are %d x %d, the model's grid is %d x %d", o->calib->w,
                    o->calib->h, fm->grid_w, fm->grid_h);

    const int relu_layers = fm->n_layers - 1;
    unit_stats st;
    memset(&st, 0, sizeof(st));
    unsigned char *keep[XNCA_MAX_LAYERS] = {0};
    double *mean[XNCA_MAX_LAYERS] = {0};
    int rc = -1;
    for (int l = 0; l < relu_layers; l++) {
        int n = fm->layer[l].n_out;
        st.sum[l] = calloc((size_t)n, sizeof(double));
        st.sumsq[l] = calloc((size_t)n, sizeof(double));
        keep[l] = malloc((size_t)n);
        mean[l] = malloc(sizeof(double) * (size_t)n);
        if (!st.sum[l] || !st.sumsq[l] || !keep[l] || !mean[l]) {
            xnca_errf(err, errlen, "out of memory");
            goto done;
        }
    }
    if (measure(fm, o, &st, err, errlen) != 0) goto done;
    rep->samples = st.n;
    for (int l = 0; l < relu_layers; l++) {
        for (int j = 0; j < fm->layer[l].n_out; j++) mean[l][j] = st.sum[l][j] / st.n;
        if (choose(fm, l, l == 0 ? P : M, &st, o->fold_mean, keep[l], rep) != 0) {
            xnca_errf(err, errlen, "out of memory");
            goto done;
        }
    }

    /* The pruned model: the same run parameters, narrower layers. */
    out->variant = fm->variant;
    out->grid_w = fm->grid_w;
    out->grid_h = fm->grid_h;
    out->channels = fm->channels;
    out->hidden_channels = fm->hidden_channels;
    out->classes = fm->classes;
    out->hidden_layers = fm->hidden_layers;
    out->perception_width = P;
    out->mlp_width = fm->hidden_layers ? M : 0;
    out->weight_bits = fm->weight_bits;
    out->act_bits = fm->act_bits;
    out->state_bits = fm->state_bits;
    out->input_bits = fm->input_bits;
    out->fire_t = fm->fire_t;
    out->noise_p = fm->noise_p;
    out->noise_sigma = fm->noise_sigma;
    if (xnca_model_alloc(out, err, errlen) != 0) goto done;
    for (int l = 0; l < fm->n_layers; l++)
        copy_layer(fm, l, l > 0 ? keep[l - 1] : NULL, l < relu_layers ? keep[l] : NULL, l > 0 ? mean[l - 1] : NULL,
                   o->fold_mean, &out->layer[l]);
    if (o->meta) {
        out->meta = strdup(o->meta);
        if (!out->meta) {
            xnca_model_free(out);
            xnca_errf(err, errlen, "out of memory");
            goto done;
        }
    }
    if (xnca_model_check(out, err, errlen) != 0) {
        xnca_model_free(out);
        goto done;
    }
    rc = 0;
done:
    for (int l = 0; l < relu_layers; l++) {
        free(st.sum[l]);
        free(st.sumsq[l]);
        free(keep[l]);
        free(mean[l]);
    }
    return rc;
}
