/* xnca_prune.h - structured pruning of a float model: remove perception outputs and/or hidden
 * units so that the model fits a smaller envelope (for example weight_bytes <= 12,288 at W4A4)
 * while the trainer can fine-tune from the result (`xnca train --init` needs equal dimensions).
 *
 * Rule (measured importance, mean replacement). The float model runs calib_n training digits for
 * calib_steps steps (its own fire mask and noise). At sample steps (1..10, then every 10th) every
 * alive cell's ReLU outputs a_j of the perception layer and of each hidden layer are recorded as
 * running mean and variance. A unit j of layer l that is removed is replaced by its mean: the next
 * layer's bias absorbs  b'_o = b_o + sum_{j removed} W_{l+1}[o][j] * mean(a_j),  so what is lost
 * is only the unit's fluctuation around its mean, whose size at the next layer's input is
 *
 *     importance_j = std(a_j) * || W_{l+1}[:, j] ||_2
 *
 * and the units with the smallest importance are removed (ties: the higher index goes first).
 * With fold_mean = 0 the rule is the plain one: importance_j = mean(a_j) * ||W_{l+1}[:, j]||_2
 * (a_j >= 0, so mean(a_j) = mean |a_j|), and removed units simply disappear.
 * All importances are measured on the unpruned model, so the perception and the hidden widths can
 * be cut in one call. A width equal to the current one removes nothing (the output is the same
 * model, parameters bit for bit).
 */
#ifndef XNCA_PRUNE_H
#define XNCA_PRUNE_H

#include <stdint.h>

#include "xnca_model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int perception_width;      /* target P, 0: keep */
    int mlp_width;             /* target M of every hidden layer, 0: keep */
    int fold_mean;             /* 1 (default): mean replacement + std rule; 0: mean|a| rule, no fold */
    const xnca_dataset *calib; /* calibration images (training split) */
    int calib_n;               /* the first calib_n images (default 100) */
    int calib_steps;           /* steps per image (default 200) */
    uint32_t seed;             /* fire / noise seed of the calibration runs (default 0) */
    const char *meta;          /* metadata of the result (copied), may be NULL */
} xnca_prune_opts;

void xnca_prune_defaults(xnca_prune_opts *o);

/* What was removed, for the command's summary. */
typedef struct {
    long samples;                      /* cell samples measured */
    int removed[XNCA_MAX_LAYERS];      /* units removed from layer l's outputs */
    double kept_share[XNCA_MAX_LAYERS]; /* sum of importance kept / total, per pruned layer */
    double max_removed[XNCA_MAX_LAYERS]; /* largest importance removed / mean importance */
} xnca_prune_report;

/* Prune float model fm into *out (allocated here; free with xnca_model_free). Returns 0, or -1
 * with a message in err (not a float model, a width larger than the model's or outside 8..256,
 * images that do not fit the grid). */
int xnca_prune(const xnca_model *fm, const xnca_prune_opts *o, xnca_model *out, xnca_prune_report *rep,
               char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
