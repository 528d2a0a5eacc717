/* xnca_render.h - pictures of a running grid: every cell coloured by its class (10 colours, dead
 * cells dark) as ANSI colour blocks in a terminal, PNG frames (libpng) and an animated GIF
 * (giflib). Used by `xnca watch`.
 *
 * A class map is w * h int8 values in raster order: 0..9 the cell's class (spec 5), XNCA_DEAD for
 * a dead cell.
 */
#ifndef XNCA_RENDER_H
#define XNCA_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XNCA_DEAD (-1)

/* The colour of class 0..9, or of a dead cell (any other value). */
void xnca_class_rgb(int cls, uint8_t rgb[3]);

typedef enum { XNCA_TERM_256 = 0, XNCA_TERM_TRUECOLOR = 1 } xnca_term_colors;
/* What the terminal supports: truecolour when COLORTERM says truecolor/24bit, else 256 colours. */
xnca_term_colors xnca_term_detect(void);
/* Draw the class map with upper-half blocks (one character per cell, two rows per line). */
void xnca_render_term(FILE *f, const int8_t *classes, int w, int h, xnca_term_colors mode);
/* One line: the 10 class colours with their digits. */
void xnca_render_legend(FILE *f, xnca_term_colors mode);

/* RGB image of the class map, each cell scale x scale pixels: (w*scale) * (h*scale) * 3 bytes. */
void xnca_render_rgb(const int8_t *classes, int w, int h, int scale, uint8_t *rgb);
/* Write the class map as an RGB PNG. */
int xnca_render_png(const char *path, const int8_t *classes, int w, int h, int scale, char *err, size_t errlen);

/* Animated GIF (looping), one frame per class map, delay_cs hundredths of a second each. */
typedef struct xnca_gif xnca_gif;
xnca_gif *xnca_gif_open(const char *path, int w, int h, int scale, int delay_cs, char *err, size_t errlen);
int xnca_gif_frame(xnca_gif *g, const int8_t *classes, char *err, size_t errlen);
/* Finish the file (also frees g); 0 or -1 with err. */
int xnca_gif_close(xnca_gif *g, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
