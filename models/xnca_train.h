/* xnca_train.h - the trainer: backpropagation through time over the CA steps.
 *
 * The forward pass is the spec's arithmetic (docs/spec.md sections 3-7) from the
 * first iteration: for `quant` models weights and activations take their bit
 * widths, the state is rounded and saturated every step and the quantizer
 * records are rounded exactly as they are exported, so the trainer's forward
 * equals xnca_step bit for bit on the exported model. The backward pass uses the
 * straight-through estimators of spec section 11.
 *
 * Learned parameters (float "shadow" values, one Adam state each):
 * - weights w_f[o][n] per layer. quant: v = w_f * (2^m - 1), code
 *   u = clamp(floor((v + 2^m - 1) / 2 + 1/2), 0, 2^m - 1), w = 2u - (2^m - 1)
 *   (so w_f in [-1, 1] covers every code; w_f is kept within |v| <= 2^m, where the
 *   estimator passes gradient); float/bwn/ban: the float weight.
 * - quant, per output (and per input channel): a fixed normalizer c and learned
 *   gamma, beta: the quantizer is z = y * (c * gamma) + beta, rounded to the
 *   record (mul, shift, add) that is exported (xnca_train_round_qparam).
 * - float variants: a bias per output.
 *
 * State scale (quant): the state LSB is 1 / T of Distill's float unit with
 * T = max(1, 2^(S - 4)) (T = 16 for S = 8, so the 8-bit state spans -8 .. +7.94);
 * the L2 loss compares s / T with the one-hot target (1.0 == T LSB) on the class
 * channels of alive cells: per image sum (t - s/T)^2 / 2, mean over the batch.
 */
#ifndef XNCA_TRAIN_H
#define XNCA_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "xnca_model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    xnca_variant variant;
    int weight_bits, act_bits, state_bits, input_bits; /* quant only */
    int hidden_channels, perception_width, mlp_width, hidden_layers;
    long iters;          /* total iterations to reach */
    int batch, pool, steps;
    float lr;            /* base learning rate; step decay x0.1 at decay1 and decay2 */
    long decay1, decay2;
    uint32_t seed;
    int threads;         /* 0: all cores */
    float noise;         /* quant: noise_p (0..127); float variants: sigma. <0: default */
    float fire_rate;     /* 0..1, exported as fire_t = round(256 * rate) */
    float weight_init;   /* quant: shadow weights start uniform in +-weight_init (codes flip when
                            they cross 0, so this sets how soon; default 0.05) */
    float out_init;      /* quant: initial residual scale, float units per sum std (default 0.05) */
    int data_init;       /* quant from scratch: calibrate quantizers on the first pool digits (default 1) */
    int ste_recover;     /* 1: clamps also pass gradient that moves a value back into range (default 1) */
    int ternary_weights; /* diagnostic outside the spec (quant W1 only): weight codes {-1, 0, +1}, zero
                            where |w| < 0.7 mean|w| of its row (Li & Liu 2016, ternary weight
                            networks). Tests whether the missing zero code blocks the BNN; such a
                            run cannot be exported or checkpointed (default 0) */
    int ternary_acts;    /* diagnostic outside the spec (quant A2 only): the 2-bit activation levels
                            0 / 1 / 2 / 3 become codes -1 / 0 / 0 / +1, a ternary activation with a
                            zero bin as wide as both middle levels; same limits (default 0) */
    float in_range;      /* quant: the input quantizers of mutable channels start mapping
                            +-in_range float units onto the k-bit levels (default 2) */
    const char *data;    /* "mnist" or "fashion" */
    int train_n;         /* use only the first n training images (0: all) */
    long checkpoint_every; /* iterations between checkpoints (0: none) */
    const char *checkpoint_dir; /* where checkpoints go (NULL: next to out) */
    const char *out;     /* exported model path (NULL: none) */
    long export_every;   /* iterations between interim exports to out (0: only at the end) */
    int progress_every;  /* iterations between progress lines (0: none) */
    const char *command; /* recorded in the model metadata */
} xnca_train_config;

/* Fill cfg with the defaults (Distill's recipe, quant W1A1, S = 8, b = 2). */
void xnca_train_defaults(xnca_train_config *cfg);

typedef struct xnca_trainer xnca_trainer;

/* Forward modes. EXACT is the spec's arithmetic; SURROGATE replaces every rounding,
 * floor and clamp by its straight-through surrogate (identity, clipped where the STE
 * passes no gradient), so that finite differences of the loss check the backward code. */
enum { XNCA_TRAIN_EXACT = 0, XNCA_TRAIN_SURROGATE = 1 };

/* Create a trainer over dataset d (not copied: it must outlive the trainer).
 * init: a model file to start from (NULL: from scratch). Returns NULL with err. */
xnca_trainer *xnca_trainer_create(const xnca_train_config *cfg, const xnca_dataset *d, const char *init,
                                  char *err, size_t errlen);
void xnca_trainer_free(xnca_trainer *t);

/* One training iteration; returns the batch loss (before the update). acc (may be NULL)
 * gets the batch's cell accuracy (%) at the last step. */
double xnca_trainer_iterate(xnca_trainer *t, double *acc);
long xnca_trainer_iteration(const xnca_trainer *t);
void xnca_trainer_set_threads(xnca_trainer *t, int threads);

/* The whole loop: iterate to cfg->iters with progress, checkpoints and exports. Returns 0 or -1. */
int xnca_trainer_run(xnca_trainer *t, char *err, size_t errlen);

/* Full trainer state (config, shadow parameters, Adam moments, pool, iteration):
 * resuming from it continues bit-identically. */
int xnca_trainer_save_checkpoint(const xnca_trainer *t, const char *path, char *err, size_t errlen);
/* Create a trainer from a checkpoint; cfg_override (may be NULL) may change iters, threads,
 * out, checkpoint_every, checkpoint_dir, export_every, progress_every and command only. */
xnca_trainer *xnca_trainer_resume(const char *path, const xnca_train_config *cfg_override, const xnca_dataset *d,
                                  char *err, size_t errlen);

/* Export the current parameters as a model (allocated; free with xnca_model_free). */
int xnca_trainer_export(const xnca_trainer *t, xnca_model *m, char *err, size_t errlen);
const xnca_train_config *xnca_trainer_config(const xnca_trainer *t);

/* ---- access for tests ---- */
typedef struct {
    const char *name; /* e.g. "w0", "gamma1", "beta_in", "b2" */
    float *p;         /* shadow values */
    size_t n;
    size_t offset;    /* in the flat parameter vector */
} xnca_train_tensor;
int xnca_trainer_tensors(xnca_trainer *t, const xnca_train_tensor **tensors);
size_t xnca_trainer_param_count(const xnca_trainer *t);

/* Run `steps` steps of image `pixels` (label `label`) from the initial state with
 * draws H(seed, image_index, step, ...) and return its loss (spec-style L2 at the last
 * step). grad (may be NULL) gets dLoss/dparams (flat, param_count floats, overwritten).
 * state_out (may be NULL) gets the final state, h*w*c floats (quant: integers). */
double xnca_trainer_image_loss(xnca_trainer *t, const uint8_t *pixels, int label, uint32_t image_index, int steps,
                               int mode, float *grad, float *state_out);

/* Round a float scale g and offset b into a quantizer record: the largest shift
 * (<= 31) with mul = round(g 2^shift) in -128..127 and |add = round(b 2^shift)| < 2^23
 * (round half away from zero; add saturates at shift 0). */
xnca_qparam xnca_train_round_qparam(double g, double b);

#ifdef __cplusplus
}
#endif
#endif
