/* The training log (train --log CSV): a header, then one line per step, appended and flushed as
 * each step ends. A checkpoint lags the log (a step's line is written before the checkpoint of
 * that step), so a run killed in between leaves lines for steps the checkpoint does not hold, and
 * a kill or a full disk mid-line can leave half a line. Resuming cuts the log back to the whole
 * lines of steps 1..S, S the checkpoint's step, before appending: the log of a run killed and
 * resumed any number of times is line for line the log of the run never stopped (losses, learning
 * rates and gradient norms; not the timings). */
#ifndef FV_TRAIN_TRAIN_LOG_H
#define FV_TRAIN_TRAIN_LOG_H

#include <stdint.h>
#include <stdio.h>

/* Open path for appending. resume == 0: a new log (header only); else keep the header and the
 * whole lines of steps <= step (rewritten through a temporary file and a rename, so a kill here
 * leaves the old log or the cut one). */
int fv_train_log_open(const char *path, int resume, uint32_t step, FILE **out);
/* One step's line, flushed; a failed write (full disk) is an error naming path. */
int fv_train_log_step(FILE *f, const char *path, uint32_t step, double loss, double lr, double grad_norm,
                      double tokens_per_s, int evaluated, double eval_loss);

#endif
