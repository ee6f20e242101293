/* Loss-curve PNG; see plot.h. */
#include "train/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* stb declares writers this file does not use; that is checked at the end of the file, so this
 * one stays off for the whole file. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

enum { W = 800, H = 450, MARGIN = 40 };

typedef struct { unsigned char *px; } canvas;

static void dot(canvas *c, int x, int y, const unsigned char rgb[3]) {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    memcpy(c->px + 3 * ((size_t)y * W + x), rgb, 3);
}

/* Bresenham line, thickness t. */
static void line(canvas *c, int x0, int y0, int x1, int y1, int t, const unsigned char rgb[3]) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        for (int a = 0; a < t; a++)
            for (int b = 0; b < t; b++) dot(c, x0 + a - t / 2, y0 + b - t / 2, rgb);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

typedef struct {
    unsigned char *data;
    size_t size, cap;
    int failed;
} sink;

static void to_memory(void *ctx, void *data, int size) {
    sink *s = ctx;
    if (s->failed || size <= 0) return;
    if (s->size + (size_t)size > s->cap) {
        size_t nc = (s->size + (size_t)size) * 2;
        unsigned char *n = realloc(s->data, nc);
        if (!n) {
            s->failed = 1;
            return;
        }
        s->data = n;
        s->cap = nc;
    }
    memcpy(s->data + s->size, data, (size_t)size);
    s->size += (size_t)size;
}

int fv_plot_loss_png(const float *loss, uint32_t n, void **png, size_t *size) {
    *png = NULL;
    *size = 0;
    canvas c = {malloc((size_t)W * H * 3)};
    if (!c.px) return fv_err("out of host memory");
    memset(c.px, 255, (size_t)W * H * 3);
    static const unsigned char axis[3] = {40, 40, 40}, grid[3] = {225, 225, 225}, raw[3] = {160, 190, 235},
                               avg[3] = {20, 70, 170};
    float lo = INFINITY, hi = -INFINITY;
    for (uint32_t i = 0; i < n; i++)
        if (isfinite(loss[i])) {
            lo = fminf(lo, loss[i]);
            hi = fmaxf(hi, loss[i]);
        }
    if (!(hi >= lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-6f) hi = lo + 1e-6f;
    int x0 = MARGIN, x1 = W - MARGIN / 2, y0 = H - MARGIN, y1 = MARGIN / 2;
    for (int k = 1; k < 4; k++) {
        int gx = x0 + (x1 - x0) * k / 4, gy = y0 + (y1 - y0) * k / 4;
        line(&c, gx, y0, gx, y1, 1, grid);
        line(&c, x0, gy, x1, gy, 1, grid);
    }
    line(&c, x0, y0, x1, y0, 2, axis);
    line(&c, x0, y0, x0, y1, 2, axis);
    /* the moving average spans about a tenth of the run (at least 2 steps) */
    double alpha = n > 20 ? 10.0 / n : 0.5;
    for (int pass = 0; pass < 2; pass++) {
        double ema = 0;
        int have = 0, px = 0, py = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (!isfinite(loss[i])) continue;
            ema = have ? (1 - alpha) * ema + alpha * loss[i] : loss[i];
            double v = pass ? ema : loss[i];
            int x = x0 + (int)((double)(x1 - x0) * (n > 1 ? (double)i / (n - 1) : 0.5));
            int y = y0 + (int)((double)(y1 - y0) * (v - lo) / (hi - lo));
            if (have) line(&c, px, py, x, y, pass ? 2 : 1, pass ? avg : raw);
            else dot(&c, x, y, pass ? avg : raw);
            px = x;
            py = y;
            have = 1;
        }
    }
    sink s = {0};
    int ok = stbi_write_png_to_func(to_memory, &s, W, H, 3, c.px, W * 3);
    free(c.px);
    if (!ok || s.failed) {
        free(s.data);
        return fv_err("cannot encode the loss plot as PNG");
    }
    *png = s.data;
    *size = s.size;
    return 0;
}
