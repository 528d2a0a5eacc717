/* xnca_model.h - the binarized NCA reference engine: model, grid, step, readout.
 *
 * This header is the contract between the reference engine (models/), the
 * trainer, the host library, the CLI and the co-simulation. Semantics are
 * defined by docs/spec.md; section numbers below refer to it.
 */
#ifndef XNCA_MODEL_H
#define XNCA_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XNCA_FORMAT_VERSION 1
#define XNCA_CLASSES 10
#define XNCA_MAX_LAYERS 4 /* perception + up to 2 hidden + output */
#define XNCA_ALIVE_PIXEL 26
#define XNCA_HEADER_BYTES 48

/* Exit codes used by every xnca command. */
enum { XNCA_EXIT_OK = 0, XNCA_EXIT_USAGE = 1, XNCA_EXIT_DEVICE = 2, XNCA_EXIT_MISMATCH = 3 };

typedef enum { XNCA_FLOAT = 0, XNCA_BWN = 1, XNCA_BAN = 2, XNCA_QUANT = 3 } xnca_variant;

/* Quantizer record (spec 3.4): Q(y) = clamp(floor((y*mul + add) / 2^shift), 0, 2^k-1). */
typedef struct {
    int8_t mul;
    uint8_t shift;
    int32_t add;
} xnca_qparam;

typedef struct {
    int n_in, n_out;
    /* quant: n_out rows x m planes x row_bytes, layout of spec 10 */
    int row_bytes;
    uint8_t *planes;
    xnca_qparam *q; /* n_out records (output layer: residual records) */
    /* float variants: w[n_out][n_in] (after the bwn transform), b[n_out] */
    float *w, *b;
} xnca_layer;

typedef struct {
    xnca_variant variant;
    int grid_w, grid_h;
    int channels, hidden_channels, classes, hidden_layers;
    int perception_width, mlp_width;
    int weight_bits, act_bits, state_bits, input_bits;
    int fire_t, noise_p;
    float noise_sigma;
    xnca_qparam *inq; /* quant: `channels` input quantizers */
    int n_layers;     /* hidden_layers + 2 */
    xnca_layer layer[XNCA_MAX_LAYERS];
    char *meta; /* NUL-terminated metadata text (key=value lines), may be NULL */
} xnca_model;

/* ---- model file (spec 10). All return 0 on success, -1 with a message in err. ---- */
int xnca_model_load(const char *path, xnca_model *m, char *err, size_t errlen);
int xnca_model_load_mem(const uint8_t *buf, size_t len, xnca_model *m, char *err, size_t errlen);
int xnca_model_save(const char *path, const xnca_model *m, char *err, size_t errlen);
/* Serialize to a malloc'd buffer; returns its length (0 on failure). */
size_t xnca_model_serialize(const xnca_model *m, uint8_t **out);
/* Allocate zeroed parameter arrays for the dimensions already set in *m. */
int xnca_model_alloc(xnca_model *m, char *err, size_t errlen);
void xnca_model_free(xnca_model *m);
/* Envelope and consistency check (spec 9). */
int xnca_model_check(const xnca_model *m, char *err, size_t errlen);
size_t xnca_model_weight_bytes(const xnca_model *m); /* spec 9 */
long xnca_model_params(const xnca_model *m);          /* weights + per-output parameters */
const char *xnca_variant_name(xnca_variant v);        /* "float", "bwn", "ban", "quant" */
/* Fill a quant model of the given dimensions with random weights/quantizers drawn from `seed`
 * such that the dynamics are not trivial (used by tests, co-sim and benchmarks). Allocates the
 * arrays unless m->inq is already set (xnca_model_alloc done). fire_t and noise_p are kept as
 * set by the caller, except 0, which becomes 128 and 2 (set them after the call to force 0);
 * variant becomes quant. */
int xnca_model_random(xnca_model *m, uint32_t seed, char *err, size_t errlen);
/* Look up a metadata value; returns NULL if absent. Result points into a static buffer. */
const char *xnca_model_meta(const xnca_model *m, const char *key);
/* Quant weight value w = 2u - (2^m - 1) of row o, input n of layer l. */
int xnca_weight(const xnca_model *m, int l, int o, int n);

uint32_t xnca_crc32(uint32_t crc, const void *buf, size_t len);

/* ---- integer primitives of spec 3.4, 3.5 and 6 (shared by engine, trainer, co-sim tests) ---- */
/* Q(y) = clamp(floor_shift(y * mul + add, shift), 0, 2^k - 1): an activation level. */
int xnca_quantize(const xnca_qparam *q, int64_t y, int k);
/* ds = floor_shift(y * mul + add, shift), no clamp (output records, spec 3.5). */
int64_t xnca_residual(const xnca_qparam *q, int64_t y);
/* Input level g of pixel p with b input bits (spec 6); 0 exactly for dead cells. */
int xnca_input_level(int p, int b);

/* ---- randomness (spec 4) ---- */
uint32_t xnca_hash(uint32_t seed, uint32_t image_index, uint32_t step, uint32_t x, uint32_t y, uint32_t lane);

/* ---- grids ---- */
typedef struct {
    int w, h, c;
    uint8_t *pixels; /* w*h source image */
    uint8_t *alive;  /* w*h */
    int8_t *qs;      /* quant: h*w*c states (channel 0 = input level g) */
    float *fs;       /* float: h*w*c states (channel 0 = pixel/255) */
} xnca_grid;

int xnca_grid_init(const xnca_model *m, xnca_grid *g, int w, int h, const uint8_t *pixels);
void xnca_grid_free(xnca_grid *g);
/* Spec 7: replace the image, keep state where alive in both. */
void xnca_grid_mutate(const xnca_model *m, xnca_grid *g, const uint8_t *new_pixels);

/* Cell visit order, for the order-independence tests (spec 3.6). */
typedef enum { XNCA_ORDER_RASTER = 0, XNCA_ORDER_REVERSED = 1, XNCA_ORDER_SHUFFLED = 2 } xnca_order;

typedef struct {
    xnca_order order;
    int dense; /* 1: compute every cell of the grid, then mask (the dense path) */
} xnca_step_opts;

/* One synchronous step (spec 3.6) of image `image_index` at step number `step`. */
void xnca_step(const xnca_model *m, xnca_grid *g, uint32_t seed, uint32_t image_index, uint32_t step,
               const xnca_step_opts *opts);

/* Engine workspace: the compiled weight plan (rebuilt only when the model's parameters
 * change) and scratch buffers. xnca_step uses one per thread automatically; callers that
 * manage threads themselves (xnca_eval, benchmarks) may hold one each. Not thread-safe. */
typedef struct xnca_workspace xnca_workspace;
xnca_workspace *xnca_workspace_new(void);
void xnca_workspace_free(xnca_workspace *ws);
/* xnca_step with an explicit workspace; returns the number of cells updated (alive and
 * firing), or -1 for float variants (delegated to xnca_float_step). */
long xnca_step_ws(xnca_workspace *ws, const xnca_model *m, xnca_grid *g, uint32_t seed, uint32_t image_index,
                  uint32_t step, const xnca_step_opts *opts);

/* ---- readout (spec 5) ---- */
int xnca_cell_class(const xnca_model *m, const xnca_grid *g, int x, int y);
/* votes[10]; returns the image-level prediction; *agree = agreement flag; *alive = alive cells */
int xnca_votes(const xnca_model *m, const xnca_grid *g, int votes[XNCA_CLASSES], int *agree, int *alive);

/* ---- datasets (IDX files, models/xnca_idx.c) ---- */
typedef struct {
    int n, w, h;       /* images are h*w bytes, raster order */
    uint8_t *images;   /* n*h*w */
    uint8_t *labels;   /* n (NULL when no labels) */
} xnca_dataset;

/* Load an IDX3 image file and (optionally, labels_path may be NULL) an IDX1 label file.
 * Validates magic, dimensions, counts and file length; err says what is wrong. */
int xnca_idx_load(const char *images_path, const char *labels_path, xnca_dataset *d, char *err, size_t errlen);
/* name "mnist" or "fashion", split "test" or "train"; files under $XNCA_DATA or ./data (spec: make data). */
int xnca_dataset_open(const char *name, const char *split, xnca_dataset *d, char *err, size_t errlen);
void xnca_dataset_free(xnca_dataset *d);

/* ---- evaluation (models/xnca_eval.c) ---- */
#define XNCA_MAX_REPORT 64
typedef struct {
    int step;
    double cell_accuracy, agreement, image_accuracy; /* percent */
    double tie_rate; /* percent of alive cells whose largest class channel is shared (spec 5 ties) */
} xnca_metric;

typedef struct {
    uint32_t seed;
    int n_report;                 /* report steps, ascending */
    int report[XNCA_MAX_REPORT];
    int mutate_at;                /* -1: no mutation */
    const xnca_dataset *mutate_pool; /* the whole split, for spec 4.5 (NULL: the evaluated set) */
    int threads;                  /* 0: all cores */
    int index_offset;             /* image_index of images[0] in its split */
    void (*progress)(void *ctx, long done, long total);
    void *progress_ctx;
} xnca_eval_opts;

typedef struct {
    int votes[XNCA_MAX_REPORT][XNCA_CLASSES]; /* per report step */
    int pred[XNCA_MAX_REPORT];
    int agree[XNCA_MAX_REPORT];
    int alive;
} xnca_image_result;

/* Evaluate the first n images of d. metrics[n_report] out; per_image (may be NULL) gets n results.
 * Results do not depend on threads. Returns 0, or -1 with err. */
int xnca_eval(const xnca_model *m, const xnca_dataset *d, int n, const xnca_eval_opts *opts,
              xnca_metric *metrics, xnca_image_result *per_image, char *err, size_t errlen);

/* Float variants' step (models/xnca_float.c), called by xnca_step for float/bwn/ban. */
void xnca_float_step(const xnca_model *m, xnca_grid *g, uint32_t seed, uint32_t image_index, uint32_t step,
                     const xnca_step_opts *opts);

/* ---- CPU paths ---- */
typedef enum { XNCA_CPU_SCALAR = 0, XNCA_CPU_AVX2 = 1, XNCA_CPU_AVX512 = 2 } xnca_cpu_path;
/* Path chosen at run time: the best the CPU supports, or XNCA_CPU=scalar|avx2|avx512. */
xnca_cpu_path xnca_cpu_active(void);
const char *xnca_cpu_name(xnca_cpu_path p);
/* Force a path (tests); returns -1 if the CPU does not support it. */
int xnca_cpu_force(xnca_cpu_path p);
int xnca_cpu_supported(xnca_cpu_path p);

/* CPU benchmark (models/xnca_bench.c): runs steps of a quant model on an all-alive grid of
 * the model's grid_w x grid_h with the given path in the calling thread for at least
 * min_seconds; *updates_per_s = cell updates (alive firing cells computed) per second.
 * Returns 0, or -1 with err (path unsupported, not a quant model). */
int xnca_bench_cpu(const xnca_model *m, xnca_cpu_path path, double min_seconds, double *updates_per_s, char *err,
                   size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
