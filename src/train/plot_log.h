/* `flanvk plot`: training logs (the CSV `flanvk train --log` writes) read back into plot runs
 * (train/plot.h), so a run's picture can be redrawn, or several runs compared, after the fact. */
#ifndef FV_TRAIN_PLOT_LOG_H
#define FV_TRAIN_PLOT_LOG_H

#include <stdint.h>

/* Draw the logs csv[0..n) into a PNG at out_png (temporary name, then renamed). */
int fv_plot_logs(const char *const *csv, uint32_t n, const char *out_png);

#endif
