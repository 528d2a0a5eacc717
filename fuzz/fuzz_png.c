/* fuzz_png.c - libFuzzer target: the picture decoders (PNG via libpng, PGM P2/P5) and the MNIST
 * preprocessing of whatever decodes. Any input must end in an image or a message, never a crash,
 * a leak or a sanitizer report. Seeds: fuzz/corpus/png/. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xnca_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xnca_image img;
    char err[256];
    if (xnca_image_decode(data, size, &img, err, sizeof err) == 0) {
        uint8_t out[28 * 28];
        xnca_prep_info info;
        if (xnca_image_to_mnist(&img, 28, 28, out, &info, err, sizeof err) == 0) {
            /* the digit must lie in the field and its box inside the 20 x 20 fit */
            if (info.fit_w < 1 || info.fit_w > 20 || info.fit_h < 1 || info.fit_h > 20)
                __builtin_trap();
        }
        (void)xnca_image_is_mnist_like(&img, 28, 28);
        xnca_image_free(&img);
    } else if (!err[0]) {
        __builtin_trap(); /* a refusal must say why */
    }
    return 0;
}
