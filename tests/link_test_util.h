/* link_test_util.h - what the link tests share (tests/test_frame.c, test_usb_ftdi.c, test_tty.c):
 * a deterministic random stream, a clock, random models of the shipping dimensions, synthetic
 * digits, loading a model onto a device, and classifying on it checked against the reference
 * engine. */
#ifndef XNCA_LINK_TEST_UTIL_H
#define XNCA_LINK_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "xnca.h"
#include "xnca_model.h"

/* xorshift32; lt_seed resets it (tests that need a fixed stream call it first). */
uint32_t lt_rnd(void);
void lt_seed(uint32_t s);
long lt_ms_now(void);

/* A model of the shipping dimensions (28 x 28, C = 20, one hidden layer, P = M = 80, S = 8,
 * b = 2, fire_t 128, noise_p 13): quant WwAa with random weights from seed, or a float / bwn /
 * ban model (zero weights) when variant is not XNCA_QUANT. */
void lt_make_model(xnca_model *m, int variant, int wbits, int abits, uint32_t seed);

/* n synthetic 28 x 28 "digits" (noisy rings, varied per image) from lt_rnd. */
void lt_make_digits(uint8_t *pix, int n);

/* Asserts (cmocka) that res[0..n) are what the engine computes for these images with o
 * (report steps, mutation with mut, seed, image_index), and when states != NULL that they are
 * the last image's final states (grid_w * grid_h * C int8). */
void lt_check_results(const xnca_model *m, const xnca_run_opts *o, int n, const uint8_t *pix, const uint8_t *mut,
                      const xnca_result *res, const int8_t *states);

/* lt_make_model's random quant WwAa model from seed into *m, loaded onto dev; asserts that the
 * load succeeds (the library's message on stderr first). Free *m with xnca_model_free. */
void lt_load_random_model(xnca_dev *dev, xnca_model *m, int wbits, int abits, uint32_t seed);

/* Report steps 1, 2, ..., n (n <= XNCA_MAX_REPORT_STEPS): a result after every step. */
void lt_report_every_step(xnca_run_opts *o, int n);

/* Classify n images on dev (res: n results), read back the last image's states, and check both
 * against the engine with lt_check_results. */
void lt_classify_checked(xnca_dev *dev, const xnca_model *m, const xnca_run_opts *o, int n, const uint8_t *pix,
                         const uint8_t *mut, xnca_result *res);

/* Classify 8 synthetic digits for 4 steps on dev, which must fail with XNCA_RC_DEVICE and a
 * message containing want (printed on stderr); returns how long the classify took, in ms. */
long lt_classify_expect_device_error(xnca_dev *dev, const char *want);

#endif
