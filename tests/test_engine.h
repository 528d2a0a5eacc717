/* test_engine.h - shared pieces of the engine test binary (tests/test_engine_main.c runs the
 * tests of test_engine.c, test_format.c and test_hash.c as one cmocka group). */
#ifndef TEST_ENGINE_H
#define TEST_ENGINE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xnca_model.h"

extern const struct CMUnitTest engine_tests[];
extern const size_t engine_tests_n;
extern const struct CMUnitTest format_tests[];
extern const size_t format_tests_n;
extern const struct CMUnitTest hash_tests[];
extern const size_t hash_tests_n;

/* A quant model of Distill's dimensions (28 x 28, C = 20, P = M = 80, L = 1), random weights. */
void make_random_model(xnca_model *m, int wbits, int abits, uint32_t seed);
/* Same with every dimension given. */
void make_random_model_dims(xnca_model *m, int C, int P, int M, int L, int wbits, int abits, int sbits, int ibits,
                            uint32_t seed);

#endif
