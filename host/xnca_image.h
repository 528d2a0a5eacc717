/* xnca_image.h - reading a user's digit image (PNG via libpng, PGM P2/P5) and turning it into an
 * MNIST-style input: grey, ink bright on a dark background, fitted into a 20 x 20 box (area
 * averaging, aspect kept) and centred by its centre of mass in a 28 x 28 field (LeCun et al.'s
 * recipe for MNIST). Also the small PNG writer the renderer and the tests use.
 *
 * Every function returns 0, or -1 with a message in err that names what was expected.
 */
#ifndef XNCA_IMAGE_H
#define XNCA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest image accepted: width and height each, and width * height. */
#define XNCA_IMAGE_MAX_SIDE 8192
#define XNCA_IMAGE_MAX_PIXELS (16L << 20)

/* An 8-bit grey image, raster order (pix[y * w + x], 0 black .. 255 white). */
typedef struct {
    int w, h;
    uint8_t *pix;
} xnca_image;

/* Decode a PNG (any colour type; alpha composited, see below) or a PGM (P2 or P5, any maxval)
 * held in memory. The format is told by the magic bytes; anything else is refused. A PNG with
 * transparency is composited onto white when its opaque pixels are dark on average and onto
 * black otherwise, so the ink keeps its contrast either way. */
int xnca_image_decode(const uint8_t *buf, size_t len, xnca_image *img, char *err, size_t errlen);
/* Read and decode a file; path "-" reads standard input. */
int xnca_image_load(const char *path, xnca_image *img, char *err, size_t errlen);
void xnca_image_free(xnca_image *img);

/* How the preprocessing went (for messages and tests). */
typedef struct {
    int inverted;        /* 1: the background was light and the image was inverted */
    int background;      /* background level (after inversion) that was subtracted */
    int box_x, box_y, box_w, box_h; /* the ink's bounding box in the source */
    int fit_w, fit_h;    /* the box's size after fitting into the 20 x 20 box */
    double com_x, com_y; /* centre of mass in the output field */
} xnca_prep_info;

/* MNIST preprocessing of img into out (out_w x out_h, normally 28 x 28; the fitting box is
 * out - 8 on each side, 20 for 28): grey ink bright on dark (inverted when the border is light),
 * background subtracted and contrast stretched to 0..255, the ink's bounding box scaled by area
 * averaging so that its longer side is the box side, then translated by whole pixels so that its
 * centre of mass lies at (out_w / 2, out_h / 2) (index coordinates, as in MNIST: 14.0, 14.0),
 * kept inside the field. Refuses an empty image and one with no ink (a uniform picture). */
int xnca_image_to_mnist(const xnca_image *img, int out_w, int out_h, uint8_t *out, xnca_prep_info *info,
                        char *err, size_t errlen);

/* Whether img is already an MNIST-style input for a w x h grid: exactly w x h and a dark border
 * (every border pixel below the alive threshold 26). Such images are used as they are. */
int xnca_image_is_mnist_like(const xnca_image *img, int w, int h);

/* Write an 8-bit PNG: channels 1 (grey) or 3 (RGB), rows of w * channels bytes. */
int xnca_png_write(const char *path, int w, int h, int channels, const uint8_t *pix, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
