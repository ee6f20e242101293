/* Training-run PNG; see plot.h. */
#include "train/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* stb declares helpers this file does not use, so unused-function stays off for the whole file. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#include <stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

enum { W = FV_PLOT_W, H = FV_PLOT_H };

typedef struct { float x, y, z; unsigned char c[4]; } font_vertex;
enum { MAX_QUADS = 1200 };
typedef struct {
    unsigned char *px;
    font_vertex *font; /* stb_easy_font's quads of one string */
} canvas;

static void dot(canvas *c, int x, int y, const unsigned char *col) {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    memcpy(c->px + 3 * ((size_t)y * W + x), col, 3);
}

static void rect(canvas *c, int x0, int y0, int x1, int y1, const unsigned char *col) {
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) dot(c, x, y, col);
}

/* Bresenham line, thickness t. */
static void line(canvas *c, int x0, int y0, int x1, int y1, int t, const unsigned char *col) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        for (int a = 0; a < t; a++)
            for (int b = 0; b < t; b++) dot(c, x0 + a - t / 2, y0 + b - t / 2, col);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

/* ---- text: stb_easy_font quads, scaled by s; rot draws it reading upwards (a left axis title) ---- */

static int text_width(const char *s, int scale) { return stb_easy_font_width((char *)s) * scale; }

/* (x, y): top-left of the text box (for rot: its bottom-left, the text going up from there). */
static void text(canvas *c, int x, int y, const char *s, int scale, const unsigned char *col, int rot) {
    font_vertex *v = c->font;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    int quads = stb_easy_font_print(0, 0, buf, NULL, v, (int)(4 * MAX_QUADS * sizeof *v));
    for (int q = 0; q < quads; q++) {
        const font_vertex *k = v + 4 * q;
        int u0 = (int)k[0].x * scale, v0 = (int)k[0].y * scale, u1 = (int)k[2].x * scale, v1 = (int)k[2].y * scale;
        if (!rot) rect(c, x + u0, y + v0, x + u1, y + v1, col);
        else rect(c, x + v0, y - u1, x + v1, y - u0, col);
    }
}

/* ---- axes ----------------------------------------------------------------------------------- */

typedef struct { double lo, hi, step; } axis;

/* Round bounds and a 1-2-5 tick step giving about `want` ticks. */
static axis nice_axis(double lo, double hi, int want, int integer) {
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / want, p = pow(10, floor(log10(raw))), f = raw / p;
    double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
    if (integer && step < 1) step = 1;
    axis a = {floor(lo / step) * step, ceil(hi / step) * step, step};
    if (a.hi <= a.lo) a.hi = a.lo + step;
    return a;
}

static void tick_label(char *out, size_t n, double v, double step) {
    if (fabs(v) < step * 1e-6) v = 0;
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) >= 1e5 || (v != 0 && fabs(v) < 1e-3)) snprintf(out, n, "%.1e", v);
    else snprintf(out, n, "%.*f", dec, v);
}

/* ---- series --------------------------------------------------------------------------------- */

typedef struct {
    int x0, x1, y0, y1; /* plot area: x0 left, y0 bottom (larger y) */
    axis xs, ys, lrs;
} frame;

static int px_x(const frame *f, double step) { return f->x0 + (int)lround((f->x1 - f->x0) * (step - f->xs.lo) / (f->xs.hi - f->xs.lo)); }
static int px_y(const frame *f, const axis *a, double v) {
    return f->y0 - (int)lround((f->y0 - f->y1) * (v - a->lo) / (a->hi - a->lo));
}

static uint32_t step_of(const fv_plot_run *r, uint32_t i) { return r->steps ? r->steps[i] : i + 1; }

static const unsigned char dark[4][3] = {{20, 70, 170}, {215, 95, 0}, {30, 130, 50}, {130, 50, 160}};
static const unsigned char light[4][3] = {{165, 195, 238}, {248, 200, 160}, {170, 220, 180}, {215, 185, 228}};
static const unsigned char evalc[3] = {205, 30, 30}, lrc[3] = {120, 120, 120}, ink[3] = {25, 25, 25},
                           gridc[3] = {230, 230, 230}, white[3] = {255, 255, 255}, boxc[3] = {150, 150, 150};

/* The smoothed curve is a centred moving average over about a fifteenth of the run's steps (the
 * skipped ones left out): unlike an exponential average it does not lag behind the raw curve. */
static void draw_run(canvas *c, const frame *f, const fv_plot_run *r, int k) {
    const unsigned char *lc = light[k % 4], *dc = dark[k % 4];
    int half = r->n / 30 > 1 ? (int)(r->n / 30) : 1;
    double *pre = malloc((r->n + 1) * sizeof *pre);
    uint32_t *cnt = malloc((r->n + 1) * sizeof *cnt);
    if (pre && cnt) {
        pre[0] = 0, cnt[0] = 0;
        for (uint32_t i = 0; i < r->n; i++) {
            int ok = isfinite(r->loss[i]);
            pre[i + 1] = pre[i] + (ok ? r->loss[i] : 0);
            cnt[i + 1] = cnt[i] + (uint32_t)ok;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass && (!pre || !cnt)) break;
        int have = 0, px = 0, py = 0;
        for (uint32_t i = 0; i < r->n; i++) {
            if (!isfinite(r->loss[i])) continue;
            double v = r->loss[i];
            if (pass) {
                uint32_t a = i >= (uint32_t)half ? i - (uint32_t)half : 0, b = i + (uint32_t)half + 1 < r->n ? i + (uint32_t)half + 1 : r->n;
                v = (pre[b] - pre[a]) / (cnt[b] - cnt[a]);
            }
            int x = px_x(f, step_of(r, i)), y = px_y(f, &f->ys, v);
            if (have) line(c, px, py, x, y, pass ? 2 : 1, pass ? dc : lc);
            else dot(c, x, y, pass ? dc : lc);
            px = x, py = y, have = 1;
        }
    }
    free(pre);
    free(cnt);
    const unsigned char *ec = k ? dc : evalc;
    for (uint32_t i = 0; i < r->neval; i++) {
        if (!isfinite(r->eval[2 * i + 1])) continue;
        int x = px_x(f, r->eval[2 * i]), y = px_y(f, &f->ys, r->eval[2 * i + 1]);
        rect(c, x - 4, y - 4, x + 5, y + 5, ink);
        rect(c, x - 3, y - 3, x + 4, y + 4, ec);
    }
}

static void draw_lr(canvas *c, const frame *f, const fv_plot_run *r) {
    int have = 0, px = 0, py = 0;
    for (uint32_t i = 0; r->lr && i < r->n; i++) {
        if (!isfinite(r->lr[i])) continue;
        int x = px_x(f, step_of(r, i)), y = px_y(f, &f->lrs, r->lr[i]);
        if (have) line(c, px, py, x, y, 1, lrc);
        px = x, py = y, have = 1;
    }
}

typedef struct { char text[96]; const unsigned char *col; int kind; /* 0 line, 1 thick line, 2 point */ } entry;

static void legend(canvas *c, const frame *f, const entry *e, int n) {
    int w = 0;
    for (int i = 0; i < n; i++) w = text_width(e[i].text, 1) > w ? text_width(e[i].text, 1) : w;
    int bw = w + 40, bh = 14 * n + 8, bx = f->x1 - bw - 8, by = f->y1 + 8;
    rect(c, bx - 1, by - 1, bx + bw + 1, by + bh + 1, boxc);
    rect(c, bx, by, bx + bw, by + bh, white);
    for (int i = 0; i < n; i++) {
        int y = by + 6 + 14 * i;
        if (e[i].kind == 2) {
            rect(c, bx + 12, y, bx + 21, y + 9, ink);
            rect(c, bx + 13, y + 1, bx + 20, y + 8, e[i].col);
        } else {
            line(c, bx + 6, y + 4, bx + 28, y + 4, e[i].kind ? 2 : 1, e[i].col);
        }
        text(c, bx + 34, y + 1, e[i].text, 1, ink, 0);
    }
}

/* ---- the picture ---------------------------------------------------------------------------- */

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

int fv_plot_png(const char *title, const fv_plot_run *runs, uint32_t nruns, void **png, size_t *size) {
    *png = NULL;
    *size = 0;
    canvas c = {malloc((size_t)W * H * 3), malloc(4 * MAX_QUADS * sizeof(font_vertex))};
    if (!c.px || !c.font) {
        free(c.px);
        free(c.font);
        return fv_err("out of host memory");
    }
    memset(c.px, 255, (size_t)W * H * 3);
    /* data ranges */
    double smin = INFINITY, smax = -INFINITY, lmin = INFINITY, lmax = -INFINITY, rmax = 0;
    int any_lr = 0;
    for (uint32_t k = 0; k < nruns; k++) {
        const fv_plot_run *r = &runs[k];
        for (uint32_t i = 0; i < r->n; i++) {
            smin = fmin(smin, step_of(r, i));
            smax = fmax(smax, step_of(r, i));
            if (isfinite(r->loss[i])) lmin = fmin(lmin, r->loss[i]), lmax = fmax(lmax, r->loss[i]);
            if (r->lr && isfinite(r->lr[i])) rmax = fmax(rmax, r->lr[i]), any_lr = 1;
        }
        for (uint32_t i = 0; i < r->neval; i++) {
            smin = fmin(smin, r->eval[2 * i]);
            smax = fmax(smax, r->eval[2 * i]);
            if (isfinite(r->eval[2 * i + 1])) lmin = fmin(lmin, r->eval[2 * i + 1]), lmax = fmax(lmax, r->eval[2 * i + 1]);
        }
    }
    if (!(smax >= smin)) smin = 0, smax = 1;
    if (!(lmax >= lmin)) lmin = 0, lmax = 1;
    frame f = {FV_PLOT_LEFT, W - FV_PLOT_RIGHT, H - FV_PLOT_BOTTOM, FV_PLOT_TOP, nice_axis(smin > 1 ? smin : 0, smax, 8, 1),
               nice_axis(lmin, lmax, 6, 0), nice_axis(0, rmax > 0 ? rmax * 1.1 : 1, 5, 0)};
    f.lrs.lo = 0;
    /* grid and tick labels */
    char lab[48];
    for (double v = f.xs.lo; v <= f.xs.hi + f.xs.step * 1e-6; v += f.xs.step) {
        int x = px_x(&f, v);
        line(&c, x, f.y0, x, f.y1, 1, gridc);
        line(&c, x, f.y0, x, f.y0 + 5, 1, ink);
        tick_label(lab, sizeof lab, v, f.xs.step);
        text(&c, x - text_width(lab, 2) / 2, f.y0 + 9, lab, 2, ink, 0);
    }
    for (double v = f.ys.lo; v <= f.ys.hi + f.ys.step * 1e-6; v += f.ys.step) {
        int y = px_y(&f, &f.ys, v);
        line(&c, f.x0, y, f.x1, y, 1, gridc);
        line(&c, f.x0 - 5, y, f.x0, y, 1, ink);
        tick_label(lab, sizeof lab, v, f.ys.step);
        text(&c, f.x0 - 8 - text_width(lab, 2), y - 6, lab, 2, ink, 0);
    }
    if (any_lr)
        for (double v = f.lrs.lo; v <= f.lrs.hi + f.lrs.step * 1e-6; v += f.lrs.step) {
            int y = px_y(&f, &f.lrs, v);
            line(&c, f.x1, y, f.x1 + 5, y, 1, lrc);
            if (v == 0) snprintf(lab, sizeof lab, "0");
            else snprintf(lab, sizeof lab, "%.3g", v);
            text(&c, f.x1 + 8, y - 4, lab, 1, lrc, 0);
        }
    /* curves: learning rate under the losses */
    for (uint32_t k = 0; any_lr && k < nruns; k++) draw_lr(&c, &f, &runs[k]);
    for (uint32_t k = 0; k < nruns; k++) draw_run(&c, &f, &runs[k], (int)k);
    /* axes and their titles */
    line(&c, f.x0, f.y0, f.x1, f.y0, 2, ink);
    line(&c, f.x0, f.y0, f.x0, f.y1, 2, ink);
    if (any_lr) line(&c, f.x1, f.y0, f.x1, f.y1, 1, lrc);
    text(&c, (f.x0 + f.x1) / 2 - text_width("step", 2) / 2, H - 24, "step", 2, ink, 0);
    text(&c, 8, (f.y0 + f.y1) / 2 + text_width("loss", 2) / 2, "loss", 2, ink, 1);
    if (any_lr) text(&c, W - 22, (f.y0 + f.y1) / 2 + text_width("learning rate", 2) / 2, "learning rate", 2, lrc, 1);
    if (title) text(&c, W / 2 - text_width(title, 2) / 2, 14, title, 2, ink, 0);
    /* legend */
    entry e[4 * 4 + 1];
    int ne = 0;
    for (uint32_t k = 0; k < nruns && k < 4; k++) {
        const char *l = runs[k].label && *runs[k].label ? runs[k].label : NULL;
        snprintf(e[ne].text, sizeof e[ne].text, "%s%strain loss", l ? l : "", l ? " " : "");
        e[ne].col = light[k], e[ne++].kind = 0;
        snprintf(e[ne].text, sizeof e[ne].text, "%s%ssmoothed", l ? l : "", l ? " " : "");
        e[ne].col = dark[k], e[ne++].kind = 1;
        if (runs[k].neval) {
            snprintf(e[ne].text, sizeof e[ne].text, "%s%seval loss", l ? l : "", l ? " " : "");
            e[ne].col = k ? dark[k] : evalc, e[ne++].kind = 2;
        }
    }
    if (any_lr) {
        snprintf(e[ne].text, sizeof e[ne].text, "learning rate (right axis)");
        e[ne].col = lrc, e[ne++].kind = 0;
    }
    legend(&c, &f, e, ne);
    sink s = {0};
    int ok = stbi_write_png_to_func(to_memory, &s, W, H, 3, c.px, W * 3);
    free(c.px);
    free(c.font);
    if (!ok || s.failed) {
        free(s.data);
        return fv_err("cannot encode the loss plot as PNG");
    }
    *png = s.data;
    *size = s.size;
    return 0;
}
