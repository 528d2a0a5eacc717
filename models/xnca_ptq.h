/* xnca_ptq.h - post-training quantization: a float model (spec 8) -> a quant model (spec 3-6).
 *
 * No training: the float weights are rescaled into m-bit odd integers per output row, every
 * activation (the state seen by perception, each hidden ReLU output) gets a k-bit affine
 * quantizer whose range is calibrated on the float model's own trajectories over a few
 * training digits, and biases, activation offsets and scales fold into the quantizer records
 * (mul, shift, add) of spec 3.4 / 3.5. The quant state keeps the float units with an LSB of
 * 1/T, T = max(1, 2^(S-4)) (the trainer's convention, spec 11).
 */
#ifndef XNCA_PTQ_H
#define XNCA_PTQ_H

#include <stdint.h>

#include "xnca_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a range (weight row or activation) is clipped before it is cut into levels. */
typedef enum {
    XNCA_PTQ_CLIP_MSE = 0, /* the clip that minimises the calibrated squared quantization error */
    XNCA_PTQ_CLIP_MAX = 1  /* the largest observed magnitude (no clipping) */
} xnca_ptq_clip;

typedef struct {
    int weight_bits, act_bits; /* m, k: 1..8 */
    int state_bits;            /* S: 2..8 (default 8) */
    int input_bits;            /* b: 1..4 (default 2) */
    int noise_p;               /* -1: from the float model's sigma at LSB 1/T (Distill: 13) */
    int fire_t;                /* -1: the float model's */
    xnca_ptq_clip weight_clip, act_clip;
    int bias_correction;       /* 1: fold the mean weight-rounding error into the bias */
    const xnca_dataset *calib; /* calibration images (training split) */
    int calib_n;               /* the first calib_n images of calib are used */
    int calib_steps;           /* steps of the float model run per calibration image */
    uint32_t seed;             /* fire / noise seed of the calibration runs */
    const char *meta;          /* metadata text for the quant model (copied), may be NULL */
} xnca_ptq_opts;

/* Defaults: S 8, b 2, noise_p and fire_t from the model, MSE clips, bias correction on,
 * 100 calibration digits x 200 steps, seed 0. weight_bits/act_bits/calib must be set. */
void xnca_ptq_defaults(xnca_ptq_opts *o);

/* What the conversion did, for the command's summary. */
typedef struct {
    int layers;                       /* n_layers of the result */
    int records;                      /* quantizer records written (input + layers) */
    int add_limited;                  /* records whose shift was lowered by |add| < 2^23 (|mul| < 64) */
    int weak_mul;                     /* records with |mul| < 16 (scale kept to fewer than 5 bits) */
    double weight_rel_err[XNCA_MAX_LAYERS]; /* RMS weight rounding error / RMS weight, per layer */
    double in_step[32];               /* input quantizer step per channel, in float units */
    double in_lo[32], in_hi[32];      /* represented range per channel, float units */
    long calib_samples;               /* calibrated cell samples */
} xnca_ptq_report;

/* Convert float model fm (variant float) into quant model *qm (allocated here; free with
 * xnca_model_free). Returns 0, or -1 with a message in err (bad options, not a float model,
 * calibration images that do not fit the grid, a record that cannot be represented). */
int xnca_ptq_quantize(const xnca_model *fm, const xnca_ptq_opts *o, xnca_model *qm, xnca_ptq_report *rep,
                      char *err, size_t errlen);

/* The noise_p that matches float noise sigma at a state LSB of 1/T (spec 4.3: var = 2 p / 256). */
int xnca_ptq_noise_p(float sigma, int state_bits);

/* Fit the quantizer record of spec 3.4 for Q(y) ~ floor(y * scale + offset) (spec 11's rule: the
 * largest shift <= 31 with mul in -128..127 and |add| < 2^23, round half away from zero).
 * Returns 0, or -1 when no shift can hold the offset. */
int xnca_ptq_fit_record(double scale, double offset, xnca_qparam *q);

/* ---- the calibration run shared with xnca_prune.c ---- */

/* Steps after which a calibration samples the grid: every step up to 10 (fast transients), then
 * every 10th. */
int xnca_ptq_sample_step(int t);

/* Called for each alive cell (x, y) of image i's grid g at sampled step t. */
typedef void (*xnca_ptq_calib_visit)(void *ctx, const xnca_grid *g, int x, int y, int i, int t);

/* Run float model m on the first n images of d for `steps` steps each (fire mask and noise from
 * seed and the image's index i), visiting every alive cell after each sample step and after the
 * last step. Returns 0, or -1 when a grid cannot be allocated (out of memory). */
int xnca_ptq_calib_run(const xnca_model *m, const xnca_dataset *d, int n, int steps, uint32_t seed,
                       xnca_ptq_calib_visit visit, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
