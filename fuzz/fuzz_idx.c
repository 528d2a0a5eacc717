/* fuzz_idx.c - libFuzzer target for the IDX reader (xnca_idx_load). There is no in-memory IDX
 * entry point, so the input becomes a memfd read through /proc/self/fd. Byte 0 picks the role:
 * even - an IDX3 image file alone; odd - the rest is split into an image file and a label file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xnca_model.h"

static int memfile(const uint8_t *p, size_t n, char *path, size_t len)
{
    int fd = memfd_create("idx", 0);
    if (fd < 0)
        return -1;
    if (n && write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char img[64], lbl[64], err[256];
    size_t rest = size - 1, split = data[0] & 1 ? rest / 2 : rest;
    int fi = memfile(data + 1, split, img, sizeof img);
    int fl = data[0] & 1 ? memfile(data + 1 + split, rest - split, lbl, sizeof lbl) : -1;
    if (fi < 0)
        return 0;
    xnca_dataset d;
    memset(&d, 0, sizeof d);
    if (xnca_idx_load(img, fl >= 0 ? lbl : NULL, &d, err, sizeof err) == 0) {
        volatile unsigned sum = 0; /* touch every byte the reader claims to have */
        for (size_t i = 0; i < (size_t)d.n * d.w * d.h; i++)
            sum += d.images[i];
        for (int i = 0; d.labels && i < d.n; i++)
            sum += d.labels[i];
        xnca_dataset_free(&d);
    } else if (!err[0]) {
        abort();
    }
    close(fi);
    if (fl >= 0)
        close(fl);
    return 0;
}
