/* xnca_distill.h - import Distill's published TF.js weights (models/xnca_distill.c). */
#ifndef XNCA_DISTILL_H
#define XNCA_DISTILL_H

#include <stddef.h>

#include "xnca_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parse a TF.js graph-model JSON whose Const nodes carry the Distill self-classifying MNIST
 * weights (conv [3,3,C,P] + [P], [1,1,P,M] + [M], [1,1,M,C-1] + [C-1]; base64 float32
 * tensorContent) into a float model in the spec's layout (perception [P][9*C], n = pos*C + c),
 * with fire_t 128, noise_sigma 0.02, grid 28x28 and source/license metadata.
 * Returns 0, or -1 with a message in err (m is left freed). */
int xnca_distill_import_mem(const char *json, size_t len, xnca_model *m, char *err, size_t errlen);
int xnca_distill_import(const char *json_path, xnca_model *m, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
