/* test_image.c - the picture reader and MNIST preprocessing of `xnca classify` (host/xnca_image.c)
 * and the class-map writers of `xnca watch` (host/xnca_render.c): PGM / PNG parsing, refusals of
 * garbage, inversion of light backgrounds, the 20 x 20 fit, centring by centre of mass, PNG / GIF
 * output. */
#include <gif_lib.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "xnca_image.h"
#include "xnca_render.h"

static char tmpdir[] = "/tmp/xnca-test-image-XXXXXX";

static const char *tmp(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static int decode(const void *buf, size_t len, xnca_image *img, char *err)
{
    return xnca_image_decode(buf, len, img, err, 256);
}

/* ---- PGM ---- */

static void pgm_p5(void **state)
{
    (void)state;
    const char hdr[] = "P5\n# a comment\n3 2\n255\n";
    uint8_t buf[64];
    memcpy(buf, hdr, sizeof hdr - 1);
    const uint8_t px[6] = {0, 10, 20, 30, 40, 255};
    memcpy(buf + sizeof hdr - 1, px, 6);
    xnca_image img;
    char err[256];
    assert_int_equal(decode(buf, sizeof hdr - 1 + 6, &img, err), 0);
    assert_int_equal(img.w, 3);
    assert_int_equal(img.h, 2);
    assert_memory_equal(img.pix, px, 6);
    xnca_image_free(&img);
}

static void pgm_p2_scaled(void **state)
{
    (void)state;
    const char txt[] = "P2 2 2 15\n0 15\n# mid\n5 10\n";
    xnca_image img;
    char err[256];
    assert_int_equal(decode(txt, strlen(txt), &img, err), 0);
    const uint8_t want[4] = {0, 255, 85, 170};
    assert_memory_equal(img.pix, want, 4);
    xnca_image_free(&img);
}

static void pgm_16bit(void **state)
{
    (void)state;
    const uint8_t buf[] = {'P', '5', ' ', '2', ' ', '1', ' ', '6', '5', '5', '3', '5', '\n', 0xff, 0xff, 0x80, 0x00};
    xnca_image img;
    char err[256];
    assert_int_equal(decode(buf, sizeof buf, &img, err), 0);
    assert_int_equal(img.pix[0], 255);
    assert_int_equal(img.pix[1], 128);
    xnca_image_free(&img);
}

static void refuse(const void *buf, size_t len, const char *want)
{
    xnca_image img;
    char err[256] = "";
    assert_int_equal(decode(buf, len, &img, err), -1);
    if (!strstr(err, want))
        fail_msg("message '%s' lacks '%s'", err, want);
    assert_null(img.pix);
}

static void refuses_garbage(void **state)
{
    (void)state;
    refuse("hello, world: not a picture", 27, "expected a PNG or PGM");
    refuse("", 0, "empty input");
    refuse("P5\n0 0\n255\n", 11, "zero-size");
    refuse("P5\n4 4\n255\n\x01\x02", 13, "truncated PGM");
    refuse("P5\n2 1\n0\n\x01\x02", 11, "maxval");
    refuse("P2\n2 1\n10\n3 11\n", 15, "exceeds maxval");
    refuse("P5\n99999 99999\n255\n", 19, "too large");
    refuse("P5 x", 4, "broken PGM header");
    const uint8_t png_head[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    refuse(png_head, 8, "broken PNG");
}

/* ---- PNG ---- */

static void png_round_trip_grey(void **state)
{
    (void)state;
    uint8_t px[5 * 3];
    for (int i = 0; i < 15; i++)
        px[i] = (uint8_t)(i * 17);
    char err[256];
    assert_int_equal(xnca_png_write(tmp("g.png"), 5, 3, 1, px, err, sizeof err), 0);
    xnca_image img;
    assert_int_equal(xnca_image_load(tmp("g.png"), &img, err, sizeof err), 0);
    assert_int_equal(img.w, 5);
    assert_int_equal(img.h, 3);
    assert_memory_equal(img.pix, px, 15);
    xnca_image_free(&img);
}

static void png_rgb_to_grey(void **state)
{
    (void)state;
    const uint8_t rgb[4 * 3] = {0, 0, 0, 255, 255, 255, 128, 128, 128, 255, 0, 0};
    char err[256];
    assert_int_equal(xnca_png_write(tmp("c.png"), 4, 1, 3, rgb, err, sizeof err), 0);
    xnca_image img;
    assert_int_equal(xnca_image_load(tmp("c.png"), &img, err, sizeof err), 0);
    assert_int_equal(img.pix[0], 0);
    assert_int_equal(img.pix[1], 255);
    assert_in_range(img.pix[2], 126, 130);
    assert_in_range(img.pix[3], 40, 140); /* red is a mid-dark grey */
    xnca_image_free(&img);
}

static void png_truncated_refused(void **state)
{
    (void)state;
    uint8_t px[64] = {0};
    char err[256];
    assert_int_equal(xnca_png_write(tmp("t.png"), 8, 8, 1, px, err, sizeof err), 0);
    FILE *f = fopen(tmp("t.png"), "rb");
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 40);
    refuse(buf, 40, "broken PNG");
    buf[20] ^= 0x55; /* IHDR CRC now wrong */
    refuse(buf, n, "broken PNG");
}

/* Black ink on a transparent background: composited onto white, then inverted. */
static void png_transparent_background(void **state)
{
    (void)state;
    enum { W = 40, H = 40 };
    uint8_t ga[W * H * 2];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int ink = x >= 15 && x < 25 && y >= 5 && y < 35;
            ga[2 * (y * W + x)] = 0;
            ga[2 * (y * W + x) + 1] = ink ? 255 : 0;
        }
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = W;
    im.height = H;
    im.format = PNG_FORMAT_GA;
    assert_true(png_image_write_to_file(&im, tmp("a.png"), 0, ga, 0, NULL));
    xnca_image img;
    char err[256];
    assert_int_equal(xnca_image_load(tmp("a.png"), &img, err, sizeof err), 0);
    assert_int_equal(img.pix[0], 255);          /* background: white */
    assert_int_equal(img.pix[20 * W + 20], 0);  /* ink: black */
    uint8_t out[28 * 28];
    xnca_prep_info info;
    assert_int_equal(xnca_image_to_mnist(&img, 28, 28, out, &info, err, sizeof err), 0);
    assert_int_equal(info.inverted, 1);
    assert_int_equal(info.fit_h, 20);
    xnca_image_free(&img);
}

/* ---- preprocessing ---- */

static void com(const uint8_t *px, int w, int h, double *cx, double *cy)
{
    double m = 0, sx = 0, sy = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            m += px[y * w + x];
            sx += x * (double)px[y * w + x];
            sy += y * (double)px[y * w + x];
        }
    *cx = sx / m;
    *cy = sy / m;
}

/* An off-centre dark ring on a light 120 x 90 page: inverted, longer side 20, centred at 14, 14. */
static void light_background_inverted_and_centred(void **state)
{
    (void)state;
    enum { W = 120, H = 90 };
    xnca_image img = {W, H, malloc(W * H)};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double d = hypot(x - 85.0, (y - 30.0) * 0.8);
            img.pix[y * W + x] = d > 12 && d < 18 ? 30 : 230;
        }
    uint8_t out[28 * 28];
    xnca_prep_info info;
    char err[256];
    assert_int_equal(xnca_image_to_mnist(&img, 28, 28, out, &info, err, sizeof err), 0);
    assert_int_equal(info.inverted, 1);
    assert_int_equal(info.fit_h, 20);        /* the ring is taller than wide (y squeezed by 0.8) */
    assert_in_range(info.fit_w, 15, 17);     /* 35 / 44 of 20 */
    double cx, cy;
    com(out, 28, 28, &cx, &cy);
    assert_true(fabs(cx - 14.0) <= 0.5);
    assert_true(fabs(cy - 14.0) <= 0.5);
    assert_true(fabs(cx - info.com_x) < 1e-6 && fabs(cy - info.com_y) < 1e-6);
    /* the ink is bright and the border is background */
    int maxv = 0;
    for (int i = 0; i < 28 * 28; i++)
        maxv = out[i] > maxv ? out[i] : maxv;
    assert_true(maxv >= 250);
    for (int i = 0; i < 28; i++) {
        assert_int_equal(out[i], 0);
        assert_int_equal(out[27 * 28 + i], 0);
        assert_int_equal(out[i * 28], 0);
        assert_int_equal(out[i * 28 + 27], 0);
    }
    xnca_image_free(&img);
}

/* A light digit on a dark page is not inverted; a thin tall bar keeps its aspect. */
static void dark_background_kept_aspect_kept(void **state)
{
    (void)state;
    enum { W = 50, H = 100 };
    xnca_image img = {W, H, calloc(W * H, 1)};
    for (int y = 10; y < 90; y++)
        for (int x = 5; x < 15; x++)
            img.pix[y * W + x] = 200;
    uint8_t out[28 * 28];
    xnca_prep_info info;
    char err[256];
    assert_int_equal(xnca_image_to_mnist(&img, 28, 28, out, &info, err, sizeof err), 0);
    assert_int_equal(info.inverted, 0);
    assert_int_equal(info.box_w, 10);
    assert_int_equal(info.box_h, 80);
    assert_int_equal(info.fit_h, 20);
    assert_int_equal(info.fit_w, 3); /* 10 * 20 / 80 = 2.5, rounded */
    double cx, cy;
    com(out, 28, 28, &cx, &cy);
    assert_true(fabs(cx - 14.0) <= 0.5 && fabs(cy - 14.0) <= 0.5);
    xnca_image_free(&img);
}

/* Upscaling an MNIST-style digit 4x on a light page and preprocessing gives back nearly the digit. */
static void upscaled_inverted_digit_round_trip(void **state)
{
    (void)state;
    uint8_t digit[28 * 28] = {0};
    for (int y = 4; y < 24; y++)
        for (int x = 9; x < 19; x++) {
            double d = hypot(x - 13.5, (y - 13.5) / 2.0);
            digit[y * 28 + x] = d > 3 && d < 5 ? 255 : d > 2.3 && d < 5.7 ? 120 : 0;
        }
    uint8_t ref[28 * 28], back[28 * 28];
    char err[256];
    xnca_image a = {28, 28, digit};
    assert_int_equal(xnca_image_to_mnist(&a, 28, 28, ref, NULL, err, sizeof err), 0);
    enum { S = 4, W = 28 * S + 30, H = 28 * S + 10 };
    xnca_image big = {W, H, malloc(W * H)};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int sx = (x - 20) / S, sy = (y - 5) / S;
            int in = x >= 20 && y >= 5 && sx < 28 && sy < 28;
            big.pix[y * W + x] = (uint8_t)(255 - (in ? digit[sy * 28 + sx] : 0));
        }
    xnca_prep_info info;
    assert_int_equal(xnca_image_to_mnist(&big, 28, 28, back, &info, err, sizeof err), 0);
    assert_int_equal(info.inverted, 1);
    long diff = 0;
    for (int i = 0; i < 28 * 28; i++)
        diff += labs((long)back[i] - ref[i]);
    if (diff / (28 * 28) > 12)
        fail_msg("mean absolute difference %ld", diff / (28 * 28));
    free(big.pix);
}

static void uniform_and_empty_refused(void **state)
{
    (void)state;
    uint8_t px[16 * 16];
    memset(px, 200, sizeof px);
    px[5] = 190; /* a faint speck is not a digit */
    xnca_image img = {16, 16, px};
    uint8_t out[28 * 28];
    char err[256] = "";
    assert_int_equal(xnca_image_to_mnist(&img, 28, 28, out, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "no digit found"));
    xnca_image empty = {0, 0, NULL};
    assert_int_equal(xnca_image_to_mnist(&empty, 28, 28, out, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "zero-size"));
}

static void mnist_like_detection(void **state)
{
    (void)state;
    uint8_t px[28 * 28] = {0};
    px[14 * 28 + 14] = 255;
    xnca_image img = {28, 28, px};
    assert_true(xnca_image_is_mnist_like(&img, 28, 28));
    assert_false(xnca_image_is_mnist_like(&img, 32, 32));
    px[0] = 200; /* ink on the border: a picture to preprocess */
    assert_false(xnca_image_is_mnist_like(&img, 28, 28));
}

/* ---- renderer ---- */

static void render_png_and_gif(void **state)
{
    (void)state;
    int8_t cls[4 * 3] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, XNCA_DEAD, 3};
    char err[256];
    assert_int_equal(xnca_render_png(tmp("f.png"), cls, 4, 3, 5, err, sizeof err), 0);
    xnca_image img;
    assert_int_equal(xnca_image_load(tmp("f.png"), &img, err, sizeof err), 0);
    assert_int_equal(img.w, 20);
    assert_int_equal(img.h, 15);
    xnca_image_free(&img);
    xnca_gif *g = xnca_gif_open(tmp("a.gif"), 4, 3, 2, 10, err, sizeof err);
    assert_non_null(g);
    for (int f = 0; f < 3; f++) {
        cls[0] = (int8_t)f;
        assert_int_equal(xnca_gif_frame(g, cls, err, sizeof err), 0);
    }
    assert_int_equal(xnca_gif_close(g, err, sizeof err), 0);
    int e = 0;
    GifFileType *gf = DGifOpenFileName(tmp("a.gif"), &e);
    assert_non_null(gf);
    assert_int_equal(DGifSlurp(gf), GIF_OK);
    assert_int_equal(gf->ImageCount, 3);
    assert_int_equal(gf->SWidth, 8);
    assert_int_equal(gf->SHeight, 6);
    /* frame 2, pixel (0, 0) is class 2; pixel (0, 4) (cell (0, 2)) is class 8 */
    GifColorType *c0 = &gf->SColorMap->Colors[gf->SavedImages[2].RasterBits[0]];
    uint8_t want[3];
    xnca_class_rgb(2, want);
    assert_true(c0->Red == want[0] && c0->Green == want[1] && c0->Blue == want[2]);
    assert_int_equal(gf->SavedImages[2].RasterBits[4 * 8], 8);
    DGifCloseFile(gf, &e);
    FILE *f = fopen(tmp("a.gif"), "rb");
    char magic[6];
    assert_int_equal(fread(magic, 1, 6, f), 6);
    fclose(f);
    assert_memory_equal(magic, "GIF89a", 6);
}

static void terminal_blocks(void **state)
{
    (void)state;
    int8_t cls[2 * 3] = {0, 1, 2, XNCA_DEAD, 9, 9};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    xnca_render_term(f, cls, 2, 3, XNCA_TERM_TRUECOLOR);
    fclose(f);
    /* two lines of two half blocks; class 0 (31,119,180) on top of class 2 (44,160,44) first */
    assert_non_null(strstr(buf, "\033[38;2;31;119;180m\033[48;2;44;160;44m\xe2\x96\x80"));
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    assert_int_equal(lines, 2);
    free(buf);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"g.png", "c.png", "t.png", "a.png", "f.png", "a.gif"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unlink(tmp(names[i]));
    rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pgm_p5),
        cmocka_unit_test(pgm_p2_scaled),
        cmocka_unit_test(pgm_16bit),
        cmocka_unit_test(refuses_garbage),
        cmocka_unit_test(png_round_trip_grey),
        cmocka_unit_test(png_rgb_to_grey),
        cmocka_unit_test(png_truncated_refused),
        cmocka_unit_test(png_transparent_background),
        cmocka_unit_test(light_background_inverted_and_centred),
        cmocka_unit_test(dark_background_kept_aspect_kept),
        cmocka_unit_test(upscaled_inverted_digit_round_trip),
        cmocka_unit_test(uniform_and_empty_refused),
        cmocka_unit_test(mnist_like_detection),
        cmocka_unit_test(render_png_and_gif),
        cmocka_unit_test(terminal_blocks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
