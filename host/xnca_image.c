/* xnca_image.c - PNG / PGM decoding and MNIST-style preprocessing of a user's digit (xnca_image.h). */
#include "xnca_image.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPECTED "expected a PNG or PGM (P2/P5) picture of one digit"
#define MAX_FILE_BYTES (256L << 20)

static int fail(char *err, size_t errlen, const char *msg, const char *detail)
{
    snprintf(err, errlen, "%s%s%s", msg, detail && *detail ? ": " : "", detail ? detail : "");
    return -1;
}

static int check_size(long w, long h, char *err, size_t errlen)
{
    char d[96];
    if (w <= 0 || h <= 0) {
        snprintf(d, sizeof d, "%ld x %ld", w, h);
        return fail(err, errlen, "zero-size image (" EXPECTED ")", d);
    }
    if (w > XNCA_IMAGE_MAX_SIDE || h > XNCA_IMAGE_MAX_SIDE || w * h > XNCA_IMAGE_MAX_PIXELS) {
        snprintf(d, sizeof d, "%ld x %ld, the limit is %d per side and %ld pixels", w, h, XNCA_IMAGE_MAX_SIDE,
                 XNCA_IMAGE_MAX_PIXELS);
        return fail(err, errlen, "image too large", d);
    }
    return 0;
}

/* ---- PNG (libpng's simplified API: every colour type and bit depth, gamma handled) ---- */

static int decode_png(const uint8_t *buf, size_t len, xnca_image *img, char *err, size_t errlen)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, buf, len)) {
        fail(err, errlen, "broken PNG (" EXPECTED ")", im.message);
        png_image_free(&im);
        return -1;
    }
    if (check_size(im.width, im.height, err, errlen)) {
        png_image_free(&im);
        return -1;
    }
    im.format = PNG_FORMAT_GA;
    size_t n = (size_t)im.width * im.height;
    uint8_t *ga = malloc(PNG_IMAGE_SIZE(im));
    if (!ga) {
        png_image_free(&im);
        return fail(err, errlen, "out of memory", NULL);
    }
    if (!png_image_finish_read(&im, NULL, ga, 0, NULL)) {
        fail(err, errlen, "broken PNG (" EXPECTED ")", im.message);
        png_image_free(&im);
        free(ga);
        return -1;
    }
    img->pix = malloc(n);
    if (!img->pix) {
        free(ga);
        return fail(err, errlen, "out of memory", NULL);
    }
    img->w = (int)im.width;
    img->h = (int)im.height;
    /* Transparency: composite onto the colour that contrasts with the opaque pixels. */
    double mass = 0, weighted = 0;
    int transparent = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned g = ga[2 * i], a = ga[2 * i + 1];
        transparent |= a < 255;
        mass += a;
        weighted += (double)g * a;
    }
    unsigned bg = mass > 0 && weighted / mass < 128 ? 255 : 0;
    for (size_t i = 0; i < n; i++) {
        unsigned g = ga[2 * i], a = ga[2 * i + 1];
        img->pix[i] = transparent ? (uint8_t)((g * a + bg * (255 - a) + 127) / 255) : (uint8_t)g;
    }
    free(ga);
    return 0;
}

/* ---- PGM (netpbm: P5 binary, P2 plain; 1 <= maxval <= 65535; '#' comments in the header) ---- */

typedef struct {
    const uint8_t *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end) {
        if (*c->p == '#') {
            while (c->p < c->end && *c->p != '\n' && *c->p != '\r')
                c->p++;
        } else if (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r' || *c->p == '\v' ||
                   *c->p == '\f') {
            c->p++;
        } else {
            break;
        }
    }
}

/* A decimal number (at most 9 digits) after optional whitespace; -1 if none. */
static long read_number(cursor *c)
{
    skip_space(c);
    long v = 0;
    int digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && digits < 10) {
        v = v * 10 + (*c->p++ - '0');
        digits++;
    }
    if (digits == 0 || digits > 9)
        return -1;
    return v;
}

static int decode_pgm(const uint8_t *buf, size_t len, xnca_image *img, char *err, size_t errlen)
{
    int plain = buf[1] == '2';
    cursor c = {buf + 2, buf + len};
    long w = read_number(&c), h = read_number(&c), maxval = read_number(&c);
    if (w < 0 || h < 0 || maxval < 0)
        return fail(err, errlen, "broken PGM header (" EXPECTED ")", "width, height and maxval needed");
    if (check_size(w, h, err, errlen))
        return -1;
    if (maxval < 1 || maxval > 65535)
        return fail(err, errlen, "broken PGM header (" EXPECTED ")", "maxval must be 1..65535");
    size_t n = (size_t)w * (size_t)h;
    if (!plain) {
        /* exactly one whitespace byte separates maxval from the raster */
        if (c.p >= c.end || !(*c.p == ' ' || *c.p == '\t' || *c.p == '\n' || *c.p == '\r'))
            return fail(err, errlen, "broken PGM header (" EXPECTED ")", "no whitespace after maxval");
        c.p++;
        size_t bps = maxval > 255 ? 2 : 1;
        if ((size_t)(c.end - c.p) < n * bps)
            return fail(err, errlen, "truncated PGM (" EXPECTED ")", "fewer pixels than width x height");
    }
    img->pix = malloc(n);
    if (!img->pix)
        return fail(err, errlen, "out of memory", NULL);
    for (size_t i = 0; i < n; i++) {
        long v;
        if (plain) {
            v = read_number(&c);
            if (v < 0) {
                xnca_image_free(img);
                return fail(err, errlen, "truncated PGM (" EXPECTED ")", "fewer pixels than width x height");
            }
        } else if (maxval > 255) {
            v = (long)c.p[0] << 8 | c.p[1];
            c.p += 2;
        } else {
            v = *c.p++;
        }
        if (v > maxval) {
            xnca_image_free(img);
            return fail(err, errlen, "broken PGM (" EXPECTED ")", "a pixel exceeds maxval");
        }
        img->pix[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
    }
    img->w = (int)w;
    img->h = (int)h;
    return 0;
}

int xnca_image_decode(const uint8_t *buf, size_t len, xnca_image *img, char *err, size_t errlen)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memset(img, 0, sizeof *img);
    if (len == 0)
        return fail(err, errlen, "empty input (" EXPECTED ")", NULL);
    if (len >= 8 && !memcmp(buf, png_magic, 8))
        return decode_png(buf, len, img, err, errlen);
    if (len >= 2 && buf[0] == 'P' && (buf[1] == '5' || buf[1] == '2'))
        return decode_pgm(buf, len, img, err, errlen);
    return fail(err, errlen, "not an image (" EXPECTED ")", "unknown file signature");
}

int xnca_image_load(const char *path, xnca_image *img, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    int is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return fail(err, errlen, "cannot open", path);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nb = ncap > (size_t)MAX_FILE_BYTES ? NULL : realloc(buf, ncap);
            if (!nb) {
                rc = fail(err, errlen, "file too large (" EXPECTED ")", is_stdin ? "stdin" : path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = fail(err, errlen, "read error", is_stdin ? "stdin" : path);
            break;
        }
    }
    if (!is_stdin)
        fclose(f);
    if (!rc)
        rc = xnca_image_decode(buf, len, img, err, errlen);
    free(buf);
    return rc;
}

void xnca_image_free(xnca_image *img)
{
    if (!img)
        return;
    free(img->pix);
    img->pix = NULL;
    img->w = img->h = 0;
}

/* ---- MNIST preprocessing ---- */

static int cmp_u8(const void *a, const void *b) { return *(const uint8_t *)a - *(const uint8_t *)b; }

/* Median of the border pixels (the background estimate). */
static int border_median(const xnca_image *img)
{
    int w = img->w, h = img->h;
    size_t nb = h == 1 || w == 1 ? (size_t)w * h : 2 * (size_t)w + 2 * (size_t)(h - 2);
    uint8_t *b = malloc(nb);
    if (!b)
        return -1;
    size_t k = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (y == 0 || y == h - 1 || x == 0 || x == w - 1)
                b[k++] = img->pix[(size_t)y * w + x];
    qsort(b, k, 1, cmp_u8);
    int med = b[k / 2];
    free(b);
    return med;
}

/* Source cells [*first, *last] that output cell o (of n_out) overlaps: the source interval
 * [o * n_src / n_out, (o + 1) * n_src / n_out). Area averaging, for up- and down-scaling. */
static void overlap(int o, int n_out, int n_src, int *first, int *last)
{
    double a = (double)o * n_src / n_out, b = (double)(o + 1) * n_src / n_out;
    *first = (int)a;
    *last = (int)b;
    if ((double)*last == b)
        (*last)--;
    if (*last >= n_src)
        *last = n_src - 1;
    if (*last < *first)
        *last = *first;
}

static double cover(int s, int o, int n_out, int n_src)
{
    double a = (double)o * n_src / n_out, b = (double)(o + 1) * n_src / n_out;
    double lo = s > a ? s : a, hi = s + 1 < b ? s + 1 : b;
    return hi > lo ? hi - lo : 0.0;
}

int xnca_image_to_mnist(const xnca_image *img, int out_w, int out_h, uint8_t *out, xnca_prep_info *info,
                        char *err, size_t errlen)
{
    xnca_prep_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    if (!img || !img->pix || img->w <= 0 || img->h <= 0)
        return fail(err, errlen, "zero-size image (" EXPECTED ")", NULL);
    if (out_w < 8 || out_h < 8)
        return fail(err, errlen, "output grid too small", NULL);
    int w = img->w, h = img->h;
    size_t n = (size_t)w * h;
    int med = border_median(img);
    if (med < 0)
        return fail(err, errlen, "out of memory", NULL);
    info->inverted = med > 127;
    int bg = info->inverted ? 255 - med : med, maxv = 0;
    for (size_t i = 0; i < n; i++) {
        int g = info->inverted ? 255 - img->pix[i] : img->pix[i];
        if (g > maxv)
            maxv = g;
    }
    info->background = bg;
    if (maxv - bg < 32)
        return fail(err, errlen, "no digit found: the picture is (nearly) uniform",
                    "expected a dark digit on a light background or a light digit on a dark one");
    /* ink: background subtracted, contrast stretched to 0..255 */
    uint8_t *ink = malloc(n);
    if (!ink)
        return fail(err, errlen, "out of memory", NULL);
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int g = info->inverted ? 255 - img->pix[i] : img->pix[i];
            long v = ((long)(g - bg) * 255 + (maxv - bg) / 2) / (maxv - bg);
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            ink[i] = (uint8_t)v;
            if (v >= 26) {
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
        }
    int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    info->box_x = x0, info->box_y = y0, info->box_w = bw, info->box_h = bh;
    /* fit the longer side into the box (20 of 28), aspect kept */
    int side = out_w < out_h ? out_w : out_h;
    int box = (side * 20 + 14) / 28;
    if (box < 1)
        box = 1;
    int fw, fh;
    if (bw >= bh) {
        fw = box;
        fh = (int)((double)bh * box / bw + 0.5);
    } else {
        fh = box;
        fw = (int)((double)bw * box / bh + 0.5);
    }
    if (fw < 1) fw = 1;
    if (fh < 1) fh = 1;
    info->fit_w = fw, info->fit_h = fh;
    double *fit = calloc((size_t)fw * fh, sizeof *fit), *row = calloc((size_t)fw, sizeof *row);
    if (!fit || !row) {
        free(ink), free(fit), free(row);
        return fail(err, errlen, "out of memory", NULL);
    }
    /* area averaging, separable: columns into row[], then rows into fit[] */
    double cell_area = ((double)bw / fw) * ((double)bh / fh);
    for (int sy = 0; sy < bh; sy++) {
        const uint8_t *src = ink + (size_t)(y0 + sy) * w + x0;
        for (int ox = 0; ox < fw; ox++) {
            int a, b;
            overlap(ox, fw, bw, &a, &b);
            double s = 0;
            for (int sx = a; sx <= b; sx++)
                s += cover(sx, ox, fw, bw) * src[sx];
            row[ox] = s;
        }
        int a, b;
        for (int oy = 0; oy < fh; oy++) {
            overlap(oy, fh, bh, &a, &b);
            if (sy < a || sy > b)
                continue;
            double c = cover(sy, oy, fh, bh);
            for (int ox = 0; ox < fw; ox++)
                fit[(size_t)oy * fw + ox] += c * row[ox];
        }
    }
    free(ink);
    free(row);
    double mass = 0, mx = 0, my = 0;
    for (int y = 0; y < fh; y++)
        for (int x = 0; x < fw; x++) {
            double v = fit[(size_t)y * fw + x] / cell_area;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            fit[(size_t)y * fw + x] = (double)(uint8_t)(v + 0.5);
            mass += fit[(size_t)y * fw + x];
            mx += x * fit[(size_t)y * fw + x];
            my += y * fit[(size_t)y * fw + x];
        }
    if (mass <= 0) {
        free(fit);
        return fail(err, errlen, "no digit found after scaling", NULL);
    }
    mx /= mass;
    my /= mass;
    /* whole-pixel translation putting the centre of mass at (out_w / 2, out_h / 2), inside the field */
    int ox = (int)((double)out_w / 2 - mx + (out_w / 2.0 - mx >= 0 ? 0.5 : -0.5));
    int oy = (int)((double)out_h / 2 - my + (out_h / 2.0 - my >= 0 ? 0.5 : -0.5));
    if (ox < 0) ox = 0;
    if (oy < 0) oy = 0;
    if (ox > out_w - fw) ox = out_w - fw;
    if (oy > out_h - fh) oy = out_h - fh;
    memset(out, 0, (size_t)out_w * out_h);
    for (int y = 0; y < fh; y++)
        for (int x = 0; x < fw; x++)
            out[(size_t)(y + oy) * out_w + x + ox] = (uint8_t)fit[(size_t)y * fw + x];
    info->com_x = mx + ox;
    info->com_y = my + oy;
    free(fit);
    return 0;
}

int xnca_image_is_mnist_like(const xnca_image *img, int w, int h)
{
    if (!img || !img->pix || img->w != w || img->h != h)
        return 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if ((y == 0 || y == h - 1 || x == 0 || x == w - 1) && img->pix[(size_t)y * w + x] >= 26)
                return 0;
    return 1;
}

int xnca_png_write(const char *path, int w, int h, int channels, const uint8_t *pix, char *err, size_t errlen)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w;
    im.height = (png_uint_32)h;
    im.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&im, path, 0, pix, 0, NULL)) {
        fail(err, errlen, "cannot write PNG", im.message[0] ? im.message : path);
        png_image_free(&im);
        return -1;
    }
    return 0;
}
