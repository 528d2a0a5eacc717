/* xnca_render.c - class maps as terminal colour blocks, PNG frames and animated GIFs (xnca_render.h). */
#include "xnca_render.h"

#include <gif_lib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_image.h"

/* Tableau 10: distinct on dark and light terminals; index 10 is the dead-cell colour. */
static const uint8_t PALETTE[11][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189}, {140, 86, 75},
    {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}, {24, 24, 24},
};
#define DEAD_INDEX 10

static int palette_index(int cls) { return cls >= 0 && cls <= 9 ? cls : DEAD_INDEX; }

void xnca_class_rgb(int cls, uint8_t rgb[3]) { memcpy(rgb, PALETTE[palette_index(cls)], 3); }

xnca_term_colors xnca_term_detect(void)
{
    const char *ct = getenv("COLORTERM");
    if (ct && (strstr(ct, "truecolor") || strstr(ct, "24bit")))
        return XNCA_TERM_TRUECOLOR;
    return XNCA_TERM_256;
}

/* Nearest entry of the xterm 6x6x6 colour cube. */
static int cube_index(const uint8_t rgb[3])
{
    static const int level[6] = {0, 95, 135, 175, 215, 255};
    int idx[3];
    for (int c = 0; c < 3; c++) {
        int best = 0;
        for (int l = 1; l < 6; l++)
            if (abs(level[l] - rgb[c]) < abs(level[best] - rgb[c]))
                best = l;
        idx[c] = best;
    }
    return 16 + 36 * idx[0] + 6 * idx[1] + idx[2];
}

static void set_color(FILE *f, int background, int cls, xnca_term_colors mode)
{
    const uint8_t *c = PALETTE[palette_index(cls)];
    if (mode == XNCA_TERM_TRUECOLOR)
        fprintf(f, "\033[%d;2;%d;%d;%dm", background ? 48 : 38, c[0], c[1], c[2]);
    else
        fprintf(f, "\033[%d;5;%dm", background ? 48 : 38, cube_index(c));
}

void xnca_render_term(FILE *f, const int8_t *classes, int w, int h, xnca_term_colors mode)
{
    for (int y = 0; y < h; y += 2) {
        for (int x = 0; x < w; x++) {
            set_color(f, 0, classes[(size_t)y * w + x], mode);
            if (y + 1 < h)
                set_color(f, 1, classes[(size_t)(y + 1) * w + x], mode);
            else
                fputs("\033[49m", f);
            fputs("\xe2\x96\x80", f); /* U+2580 upper half block */
        }
        fputs("\033[0m\n", f);
    }
}

void xnca_render_legend(FILE *f, xnca_term_colors mode)
{
    for (int k = 0; k < 10; k++) {
        set_color(f, 1, k, mode);
        fprintf(f, "\033[97m %d ", k);
    }
    set_color(f, 1, XNCA_DEAD, mode);
    fputs("\033[97m dead \033[0m\n", f);
}

void xnca_render_rgb(const int8_t *classes, int w, int h, int scale, uint8_t *rgb)
{
    int W = w * scale;
    for (int y = 0; y < h * scale; y++)
        for (int x = 0; x < W; x++)
            memcpy(rgb + 3 * ((size_t)y * W + x), PALETTE[palette_index(classes[(size_t)(y / scale) * w + x / scale])],
                   3);
}

int xnca_render_png(const char *path, const int8_t *classes, int w, int h, int scale, char *err, size_t errlen)
{
    uint8_t *rgb = malloc((size_t)w * h * scale * scale * 3);
    if (!rgb) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    xnca_render_rgb(classes, w, h, scale, rgb);
    int rc = xnca_png_write(path, w * scale, h * scale, 3, rgb, err, errlen);
    free(rgb);
    return rc;
}

/* ---- animated GIF: a 16-entry global palette (10 classes, dead, 5 unused) ---- */

struct xnca_gif {
    GifFileType *gif;
    int w, h, scale, delay_cs;
    GifPixelType *line;
};

static int gif_fail(char *err, size_t errlen, const char *what, int code)
{
    snprintf(err, errlen, "GIF %s: %s", what, GifErrorString(code));
    return -1;
}

xnca_gif *xnca_gif_open(const char *path, int w, int h, int scale, int delay_cs, char *err, size_t errlen)
{
    int e = 0;
    xnca_gif *g = calloc(1, sizeof *g);
    GifColorType colors[16];
    memset(colors, 0, sizeof colors);
    for (int i = 0; i < 11; i++) {
        colors[i].Red = PALETTE[i][0];
        colors[i].Green = PALETTE[i][1];
        colors[i].Blue = PALETTE[i][2];
    }
    if (!g || !(g->line = malloc((size_t)w * scale))) {
        free(g);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->w = w, g->h = h, g->scale = scale, g->delay_cs = delay_cs;
    g->gif = EGifOpenFileName(path, false, &e);
    if (!g->gif) {
        snprintf(err, errlen, "cannot write GIF %s: %s", path, GifErrorString(e));
        free(g->line);
        free(g);
        return NULL;
    }
    EGifSetGifVersion(g->gif, true);
    ColorMapObject *map = GifMakeMapObject(16, colors);
    static const unsigned char loop[3] = {1, 0, 0}; /* loop forever */
    int ok = map && EGifPutScreenDesc(g->gif, w * scale, h * scale, 8, DEAD_INDEX, map) == GIF_OK &&
             EGifPutExtensionLeader(g->gif, APPLICATION_EXT_FUNC_CODE) == GIF_OK &&
             EGifPutExtensionBlock(g->gif, 11, "NETSCAPE2.0") == GIF_OK &&
             EGifPutExtensionBlock(g->gif, 3, loop) == GIF_OK && EGifPutExtensionTrailer(g->gif) == GIF_OK;
    GifFreeMapObject(map);
    if (!ok) {
        gif_fail(err, errlen, "header", g->gif->Error);
        EGifCloseFile(g->gif, &e);
        free(g->line);
        free(g);
        return NULL;
    }
    return g;
}

int xnca_gif_frame(xnca_gif *g, const int8_t *classes, char *err, size_t errlen)
{
    unsigned char gce[4] = {0x04, (unsigned char)(g->delay_cs & 0xff), (unsigned char)(g->delay_cs >> 8), 0};
    int W = g->w * g->scale, H = g->h * g->scale;
    if (EGifPutExtension(g->gif, GRAPHICS_EXT_FUNC_CODE, 4, gce) != GIF_OK ||
        EGifPutImageDesc(g->gif, 0, 0, W, H, false, NULL) != GIF_OK)
        return gif_fail(err, errlen, "frame", g->gif->Error);
    for (int y = 0; y < H; y++) {
        const int8_t *row = classes + (size_t)(y / g->scale) * g->w;
        for (int x = 0; x < W; x++)
            g->line[x] = (GifPixelType)palette_index(row[x / g->scale]);
        if (EGifPutLine(g->gif, g->line, W) != GIF_OK)
            return gif_fail(err, errlen, "frame", g->gif->Error);
    }
    return 0;
}

int xnca_gif_close(xnca_gif *g, char *err, size_t errlen)
{
    int e = 0, rc = 0;
    if (!g)
        return 0;
    if (EGifCloseFile(g->gif, &e) != GIF_OK)
        rc = gif_fail(err, errlen, "close", e);
    free(g->line);
    free(g);
    return rc;
}
