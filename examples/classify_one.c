/* classify_one.c - the smallest libxnca program: open a device, load a model, classify one
 * 28x28 image (raw 8-bit pixels, raster order) and print the votes.
 *
 *   build/classify_one DEVICE MODEL.xnca IMAGE.raw [STEPS]
 *   e.g. build/classify_one cpu models/distill-float.xnca digit.raw 200
 *        build/classify_one usb:0403:6010 models/bnn.xnca digit.raw
 *
 * Exit codes: 0 ok, 1 usage / bad input, 2 device or link failure.
 * Build against an installed library: cc classify_one.c $(pkg-config --cflags --libs xnca)
 */
#include <stdio.h>
#include <stdlib.h>

#include "xnca.h"

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s DEVICE MODEL.xnca IMAGE.raw [STEPS]\n", argv[0]);
        return XNCA_RC_USAGE;
    }
    unsigned char pixels[28 * 28];
    FILE *f = fopen(argv[3], "rb");
    if (!f || fread(pixels, 1, sizeof pixels, f) != sizeof pixels) {
        fprintf(stderr, "classify_one: %s: need %zu bytes of pixels\n", argv[3], sizeof pixels);
        if (f)
            fclose(f);
        return XNCA_RC_USAGE;
    }
    fclose(f);

    char err[512];
    xnca_dev *dev;
    int rc = xnca_open(argv[1], /*opts=*/NULL, &dev, err, sizeof err);
    if (rc) {
        fprintf(stderr, "classify_one: %s\n", err);
        return rc;
    }
    const xnca_device_info *info = xnca_info(dev);
    printf("device: %s (%s), grid %ux%u, input buffer %u bytes\n", info->board, xnca_transport_name(dev),
           info->grid_w, info->grid_h, info->input_buffer_bytes);

    rc = xnca_load_model_file(dev, argv[2]);
    if (!rc) {
        xnca_run_opts opts = XNCA_RUN_OPTS_INIT;
        xnca_result res;
        opts.steps = argc == 5 ? atoi(argv[4]) : 200;
        rc = xnca_classify(dev, &opts, /*n=*/1, pixels, /*mutate_pixels=*/NULL, &res);
        if (!rc) {
            printf("after %d steps: class %d, %s, %d alive cells\nvotes:", opts.steps, res.prediction,
                   res.agree[0] ? "all cells agree" : "cells disagree", res.alive);
            for (int k = 0; k < 10; k++)
                printf(" %d", res.votes[0][k]);
            printf("\n");
        }
    }
    if (rc)
        fprintf(stderr, "classify_one: %s\n", xnca_error(dev));
    xnca_close(dev);
    return rc;
}
