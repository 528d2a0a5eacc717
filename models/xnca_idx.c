/* xnca_idx.c - load MNIST-style IDX files (raw, not gzipped) into an xnca_dataset.
 *
 * IDX layout (big-endian): two zero bytes, a type byte (0x08 = unsigned byte),
 * a dimension-count byte, then one 32-bit size per dimension, then the data.
 * Images are IDX3 (count, rows, cols), labels IDX1 (count). Every check that
 * can fail produces a message naming the file and the problem; nothing in
 * here trusts the header before it has been checked against the file length.
 */
#include "xnca_model.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_SIDE 256 /* largest image side accepted (the grid limit is 64; leave room to crop) */

/* ---------------------------------------------------------------- errors */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- file access */

/* Opened IDX file: header fields after validation. */
typedef struct {
    int fd;
    uint32_t dim[3];   /* dim[0] = count; dim[1], dim[2] = rows, cols (IDX3 only) */
    uint64_t payload;  /* bytes after the header, equal to the product of dims */
    int header_bytes;  /* 4 + 4 * number of dimensions */
} idx_file;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Read exactly len bytes (retrying short reads); 0 on success, -1 on error or early EOF. */
static int read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* Open path as a regular file without ever blocking (a FIFO would hang a plain open). */
static int open_regular(const char *path, off_t *size, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    /* back to blocking reads for the payload */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *size = st.st_size;
    return fd;
}

/* Open an IDX file and check its header against what we expect (ndims 3 for
 * images, 1 for labels) and against the file length. On success f->fd is open
 * and positioned at the payload. */
static int idx_open(const char *path, int ndims, idx_file *f, char *err, size_t errlen)
{
    const char *what = ndims == 3 ? "images" : "labels";
    uint32_t expect_magic = (uint32_t)IDX_TYPE_UBYTE << 8 | (uint32_t)ndims;
    uint8_t h[16];
    off_t size;
    uint64_t want;
    int i;

    f->fd = -1;
    f->header_bytes = 4 + 4 * ndims;
    int fd = open_regular(path, &size, err, errlen);
    if (fd < 0)
        return -1;

    /* The magic first (4 bytes), so a wrong kind of file is named as such before its length is judged. */
    if (size < 4 || read_full(fd, h, 4) != 0) {
        set_err(err, errlen, "%s: too short for an IDX%d header: %lld bytes, need %d", path, ndims,
                (long long)size, f->header_bytes);
        goto out_close;
    }
    if (h[0] == 0x1f && h[1] == 0x8b) {
        set_err(err, errlen, "%s: is gzip-compressed; decompress it first (make data stores raw files)", path);
        goto out_close;
    }
    if (h[0] != 0 || h[1] != 0) {
        set_err(err, errlen, "%s: not an IDX file: magic 0x%08x, expected 0x%08x (%s)", path, be32(h),
                expect_magic, what);
        goto out_close;
    }
    if (h[2] != IDX_TYPE_UBYTE) {
        set_err(err, errlen, "%s: element type 0x%02x is not unsigned byte (0x08): magic 0x%08x, expected 0x%08x",
                path, h[2], be32(h), expect_magic);
        goto out_close;
    }
    if (h[3] != ndims) {
        set_err(err, errlen, "%s: has %d dimensions, expected %d (an IDX%d %s file): magic 0x%08x, expected 0x%08x",
                path, h[3], ndims, ndims, what, be32(h), expect_magic);
        goto out_close;
    }
    if (size < f->header_bytes || read_full(fd, h + 4, (size_t)f->header_bytes - 4) != 0) {
        set_err(err, errlen, "%s: too short for an IDX%d header: %lld bytes, need %d", path, ndims,
                (long long)size, f->header_bytes);
        goto out_close;
    }
    want = 1;
    for (i = 0; i < ndims; i++) {
        f->dim[i] = be32(h + 4 + 4 * i);
        if (i > 0 && (f->dim[i] < 1 || f->dim[i] > IDX_MAX_SIDE)) {
            set_err(err, errlen, "%s: image %s %u is outside 1..%d", path, i == 1 ? "height (rows)" : "width (cols)",
                    f->dim[i], IDX_MAX_SIDE);
            goto out_close;
        }
        want *= f->dim[i]; /* at most (2^32 - 1) * 256 * 256: cannot overflow */
    }
    if (f->dim[0] == 0 || f->dim[0] > INT_MAX) {
        set_err(err, errlen, "%s: header says %u %s; need 1..%d", path, f->dim[0], what, INT_MAX);
        goto out_close;
    }
    if ((uint64_t)size != f->header_bytes + want) {
        char shape[64] = "";
        if (ndims == 3)
            snprintf(shape, sizeof shape, " of %ux%u", f->dim[1], f->dim[2]);
        set_err(err, errlen, "%s: %s: header says %u %s%s (%llu bytes) but the file has %lld bytes", path,
                (uint64_t)size < f->header_bytes + want ? "truncated" : "trailing bytes", f->dim[0], what, shape,
                (unsigned long long)(f->header_bytes + want), (long long)size);
        goto out_close;
    }
    if (want > SIZE_MAX) {
        set_err(err, errlen, "%s: %llu bytes do not fit in memory on this machine", path, (unsigned long long)want);
        goto out_close;
    }
    f->payload = want;
    f->fd = fd;
    return 0;

out_close:
    close(fd);
    return -1;
}

/* Read the payload of an opened IDX file into a new buffer; closes the file. */
static uint8_t *idx_read_payload(const char *path, idx_file *f, char *err, size_t errlen)
{
    uint8_t *buf = malloc((size_t)f->payload);

    if (!buf)
        set_err(err, errlen, "%s: out of memory for %llu bytes", path, (unsigned long long)f->payload);
    else if (read_full(f->fd, buf, (size_t)f->payload) != 0) {
        set_err(err, errlen, "%s: read error: %s", path, errno ? strerror(errno) : "file shrank while reading");
        free(buf);
        buf = NULL;
    }
    close(f->fd);
    f->fd = -1;
    return buf;
}

/* ---------------------------------------------------------------- public API */

int xnca_idx_load(const char *images_path, const char *labels_path, xnca_dataset *d, char *err, size_t errlen)
{
    idx_file img = {.fd = -1}, lab = {.fd = -1};
    uint32_t i;

    if (!d || !images_path) {
        set_err(err, errlen, "xnca_idx_load: no images path or dataset");
        return -1;
    }
    memset(d, 0, sizeof *d);

    /* Check both headers before allocating anything. */
    if (idx_open(images_path, 3, &img, err, errlen) != 0)
        return -1;
    if (labels_path) {
        if (idx_open(labels_path, 1, &lab, err, errlen) != 0)
            goto out_fail;
        if (lab.dim[0] != img.dim[0]) {
            set_err(err, errlen, "%s: has %u labels but %s has %u images", labels_path, lab.dim[0], images_path,
                    img.dim[0]);
            goto out_fail;
        }
    }

    d->images = idx_read_payload(images_path, &img, err, errlen);
    if (!d->images)
        goto out_fail;
    if (labels_path) {
        d->labels = idx_read_payload(labels_path, &lab, err, errlen);
        if (!d->labels)
            goto out_fail;
        /* Readout code indexes vote arrays by label: reject anything that is not a class. */
        for (i = 0; i < lab.dim[0]; i++) {
            if (d->labels[i] >= XNCA_CLASSES) {
                set_err(err, errlen, "%s: label %u of image %u is outside 0..%d", labels_path, d->labels[i], i,
                        XNCA_CLASSES - 1);
                goto out_fail;
            }
        }
    }
    d->n = (int)img.dim[0];
    d->h = (int)img.dim[1];
    d->w = (int)img.dim[2];
    return 0;

out_fail:
    if (img.fd >= 0)
        close(img.fd);
    if (lab.fd >= 0)
        close(lab.fd);
    xnca_dataset_free(d);
    return -1;
}

/* Directory of the running executable + "/../data", or "" if unknown. */
static void exe_data_dir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;

    out[0] = '\0';
    if (n <= 0)
        return;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    if (snprintf(out, outlen, "%s/../data", exe) >= (int)outlen)
        out[0] = '\0'; /* too long to use */
}

int xnca_dataset_open(const char *name, const char *split, xnca_dataset *d, char *err, size_t errlen)
{
    char dirs[2][PATH_MAX];
    char images[PATH_MAX + 64], labels[PATH_MAX + 64];
    const char *prefix, *env = getenv("XNCA_DATA");
    int n_dirs = 0, i;

    if (d)
        memset(d, 0, sizeof *d);
    if (!d || !name || !split) {
        set_err(err, errlen, "xnca_dataset_open: missing argument");
        return -1;
    }
    if (strcmp(name, "mnist") != 0 && strcmp(name, "fashion") != 0) {
        set_err(err, errlen, "unknown dataset '%s' (known: mnist, fashion)", name);
        return -1;
    }
    if (strcmp(split, "test") == 0)
        prefix = "t10k";
    else if (strcmp(split, "train") == 0)
        prefix = "train";
    else {
        set_err(err, errlen, "unknown split '%s' (known: test, train)", split);
        return -1;
    }

    /* $XNCA_DATA, when set, is the only place looked at: an explicit choice should not silently fall back. */
    if (env && env[0]) {
        if (snprintf(dirs[n_dirs++], PATH_MAX, "%s", env) >= PATH_MAX) {
            set_err(err, errlen, "XNCA_DATA is too long (%zu bytes)", strlen(env));
            return -1;
        }
    } else {
        strcpy(dirs[n_dirs++], "data");
        exe_data_dir(dirs[n_dirs], PATH_MAX);
        if (dirs[n_dirs][0])
            n_dirs++;
    }
    for (i = 0; i < n_dirs; i++) {
        if (snprintf(images, sizeof images, "%s/%s/%s-images-idx3-ubyte", dirs[i], name, prefix) >= (int)sizeof images ||
            snprintf(labels, sizeof labels, "%s/%s/%s-labels-idx1-ubyte", dirs[i], name, prefix) >= (int)sizeof labels) {
            set_err(err, errlen, "data directory path too long: %.200s...", dirs[i]);
            return -1;
        }
        if (access(images, F_OK) == 0)
            return xnca_idx_load(images, labels, d, err, errlen);
    }
    set_err(err, errlen, "%s %s set not found: no %s/%s-images-idx3-ubyte in %s%s%s; run `make data` or set XNCA_DATA",
            name, split, name, prefix, dirs[0], n_dirs > 1 ? " or " : "", n_dirs > 1 ? dirs[1] : "");
    return -1;
}

void xnca_dataset_free(xnca_dataset *d)
{
    if (!d)
        return;
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}
