/* A picture of the training loss: PNG bytes (stb_image_write) of the per-step loss (light) and its
 * moving average (dark) over steps, on a white canvas with axes and a grid of quarters. */
#ifndef FV_TRAIN_PLOT_H
#define FV_TRAIN_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* *png is malloc'd. */
int fv_plot_loss_png(const float *loss, uint32_t n, void **png, size_t *size);

#endif
