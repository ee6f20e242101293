/* A picture of a training run that reads on its own: PNG bytes (stb_image_write) with a title line,
 * a loss axis (left) and a step axis with tick values and titles, the per-step training loss (light)
 * and its centred moving average (dark), the eval losses as points, the learning-rate schedule as a thin
 * curve on its own axis (right) and a legend. Several runs (flanvk plot --log A --log B) share the
 * axes, each in its own colour and labelled. Text is stb_easy_font's segment font, drawn as
 * rectangles scaled up by whole pixels, so no font file ships. */
#ifndef FV_TRAIN_PLOT_H
#define FV_TRAIN_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* The layout, fixed so tests (and users) can find its parts: the plot area spans
 * [LEFT, W - RIGHT) x [TOP, H - BOTTOM); the loss tick labels sit left of it, the learning-rate tick
 * labels right of it, the step tick labels under it and the title above it. */
enum { FV_PLOT_W = 960, FV_PLOT_H = 540, FV_PLOT_LEFT = 84, FV_PLOT_RIGHT = 84, FV_PLOT_TOP = 48, FV_PLOT_BOTTOM = 60 };

typedef struct fv_plot_run {
    const char *label;     /* legend prefix for several runs; NULL or "" for one */
    const uint32_t *steps; /* step of each loss value; NULL: 1, 2, ... */
    const float *loss;     /* training loss, n values (non-finite ones are skipped steps: not drawn) */
    const float *lr;       /* learning rate of each of those steps, or NULL */
    uint32_t n;
    const float *eval;     /* neval (step, eval loss) pairs */
    uint32_t neval;
} fv_plot_run;

/* *png is malloc'd. title may be NULL. */
int fv_plot_png(const char *title, const fv_plot_run *runs, uint32_t nruns, void **png, size_t *size);

#endif
