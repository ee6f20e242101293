/* Learning-rate schedules: linear warmup from 0 over `warmup` steps, then constant, linear decay
 * to 0 at `total`, cosine decay to 0 at `total`, or inverse square root (lr / sqrt(step / warmup) after
 * warmup, as T5's rsqrt schedule). Steps count from 1; the rate of step s is the one used by
 * the update of step s (Hugging Face's get_*_schedule_with_warmup evaluated at s - 1). */
#ifndef FV_TRAIN_SCHEDULE_H
#define FV_TRAIN_SCHEDULE_H

#include <stdint.h>

typedef enum { FV_SCHED_CONSTANT, FV_SCHED_LINEAR, FV_SCHED_COSINE, FV_SCHED_INVSQRT } fv_sched_kind;

typedef struct {
    fv_sched_kind kind;
    double lr;
    uint32_t warmup, total;
} fv_schedule;

int fv_schedule_parse(const char *name, fv_sched_kind *out);
const char *fv_schedule_name(fv_sched_kind k);
double fv_schedule_lr(const fv_schedule *s, uint32_t step);

#endif
