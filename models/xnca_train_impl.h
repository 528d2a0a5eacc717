/* xnca_train_impl.h - trainer internals shared by xnca_train.c (optimizer, pool, files)
 * and xnca_train_bptt.c (forward and backward through the CA steps). */
#ifndef XNCA_TRAIN_IMPL_H
#define XNCA_TRAIN_IMPL_H

#include <pthread.h>

#include "xnca_train.h"

#define TRAIN_MAX_TENSORS 16

/* One dense layer of the update network as the trainer sees it. */
typedef struct {
    int n_in, n_out;
    float *w;      /* shadow weights [n_out][n_in] (in the flat parameter vector) */
    float *gamma;  /* quant: learned scale per output (flat vector) */
    float *beta;   /* quant: learned offset per output (flat vector) */
    float *bias;   /* float variants: bias per output (flat vector) */
    float *c;      /* quant: fixed normalizer per output (not learned) */
    /* derived by train_prepare() for the current mode: */
    float *wq;     /* forward weights [n_out][n_in] (quant: odd integers) */
    float *geff;   /* quant: effective scale (EXACT: mul / 2^shift, SURROGATE: c * gamma) */
    float *beff;   /* quant: effective offset */
    xnca_qparam *rec; /* quant: rounded records (what is exported) */
    size_t w_off, gamma_off, beta_off, bias_off; /* offsets in the flat vector */
} train_layer;

/* Per-thread scratch for one image's forward and backward. */
typedef struct {
    int cap_cells, cap_steps;
    float *S;        /* (steps+1) x hw x C states */
    int *nf;         /* per step: number of updated (alive, firing) cells */
    int *cells;      /* per step: cap_cells cell indices */
    float *X[XNCA_MAX_LAYERS]; /* per step: cap_cells x n_in(l) layer inputs */
    float *Y[XNCA_MAX_LAYERS]; /* per step: cap_cells x n_out(l) sums */
    float *noise;    /* per step: cap_cells x (C-1) */
    float *act;      /* (hw+1) x C activations of the current step (pad last) */
    float *dact;     /* (hw+1) x C */
    float *G;        /* hw x C, dLoss/dstate */
    float *dX, *dY;  /* cap_cells x max width */
    uint8_t *alive;  /* hw */
    int max_width;
} train_ws;

typedef struct {
    int img;       /* dataset index of the pictured digit */
    float *state;  /* hw x C */
} pool_entry;

struct xnca_trainer {
    xnca_train_config cfg;
    char data_name[16];
    char command[4096];
    char out_path[1024], ckpt_dir[1024];
    char init_meta[2048]; /* provenance of an --init model: its source and license lines */
    const xnca_dataset *d;
    int W, H, C, L, n_layers;
    int T_lsb;       /* state LSBs per float unit (quant) */
    int fire_t, noise_p;
    float sigma;
    train_layer layer[XNCA_MAX_LAYERS];
    /* quant input quantizers: per channel */
    float *in_gamma, *in_beta, *in_c;
    size_t in_gamma_off, in_beta_off;
    float in_geff[64], in_beff[64];
    xnca_qparam in_rec[64];
    int mode; /* mode the derived arrays were prepared for */

    size_t n_params;
    float *params, *adam_m, *adam_v, *grad;
    float *fixed; size_t n_fixed; /* normalizers c (quant) */
    long adam_t;
    long iteration;
    xnca_train_tensor tensors[TRAIN_MAX_TENSORS];
    int n_tensors;
    int weight_tensor[XNCA_MAX_LAYERS]; /* tensor index of layer l's weights */

    pool_entry *pool;
    int threads;
    train_ws *ws; int n_ws;
    float *img_grad; /* batch x n_params */
};

/* xnca_train_bptt.c */
void train_prepare(xnca_trainer *t, int mode);
int train_ws_init(train_ws *ws, const xnca_trainer *t);
void train_ws_free(train_ws *ws);
/* Input level of pixel p (quant: spec 6; float: p/255). */
float train_input_value(const xnca_trainer *t, uint8_t p);
/* The activation of state channel c at state value s (forward only; tests). */
float train_state_act(const xnca_trainer *t, int mode, int c, float s);
/* Run one image from state S0 (hw x C; NULL: fresh state from pixels) for `steps` steps.
 * Returns the loss; grad (may be NULL) gets dLoss/dparams ADDED; state_out (may be NULL)
 * gets the final state; *correct / *alive (may be NULL) get the final cell accuracy counts. */
double train_image(const xnca_trainer *t, train_ws *ws, const uint8_t *pixels, int label, const float *S0,
                   uint32_t image_index, int steps, int mode, float *grad, float *state_out, int *correct,
                   int *alive);
uint32_t train_hash(uint32_t seed, uint32_t image_index, uint32_t step, uint32_t x, uint32_t y, uint32_t lane);

#endif
