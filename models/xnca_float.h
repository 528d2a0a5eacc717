/* xnca_float.h - float engine helpers (models/xnca_float.c), beside xnca_model.h's xnca_float_step. */
#ifndef XNCA_FLOAT_H
#define XNCA_FLOAT_H

#include <stdint.h>

#include "xnca_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Spec 8: replace every weight row of a bwn model by sign(w) * mean|w| (sign(0) = +1).
 * No-op for other variants. The model loader calls it once after reading a bwn payload. */
void xnca_float_apply_bwn(xnca_model *m);
/* Spec 4.4: the unit-variance noise draw e_j of mutable channel j of cell (x, y). */
float xnca_float_noise(uint32_t seed, uint32_t image_index, uint32_t step, int x, int y, int j);
/* Hold OpenBLAS to one thread (images already run in parallel). Idempotent, thread-safe. */
void xnca_float_blas_init(void);

#ifdef __cplusplus
}
#endif
#endif
