/* Learning-rate schedules; see schedule.h. The formulas follow transformers' optimization.py
 * (get_constant_schedule_with_warmup, get_linear_..., get_cosine_... with 0.5 cycles,
 * get_inverse_sqrt_schedule). */
#include "train/schedule.h"

#include <math.h>
#include <string.h>

#include "base/error.h"

int fv_schedule_parse(const char *name, fv_sched_kind *out) {
    static const char *names[] = {"constant", "linear", "cosine", "inverse-sqrt"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) {
            *out = (fv_sched_kind)i;
            return 0;
        }
    if (!strcmp(name, "invsqrt") || !strcmp(name, "rsqrt")) {
        *out = FV_SCHED_INVSQRT;
        return 0;
    }
    return fv_err("unknown schedule '%s' (constant, linear, cosine, inverse-sqrt)", name);
}

const char *fv_schedule_name(fv_sched_kind k) {
    static const char *names[] = {"constant", "linear", "cosine", "inverse-sqrt"};
    return names[k];
}

double fv_schedule_lr(const fv_schedule *s, uint32_t step) {
    double t = step ? step - 1.0 : 0.0; /* HF's LambdaLR counts from 0 */
    double w = s->warmup;
    if (t < w) return s->lr * t / (w > 1 ? w : 1);
    double total = s->total > s->warmup ? (double)s->total : w + 1;
    switch (s->kind) {
    case FV_SCHED_CONSTANT: return s->lr;
    case FV_SCHED_LINEAR: return s->lr * fmax(0.0, (total - t) / fmax(1.0, total - w));
    case FV_SCHED_COSINE: {
        double progress = (t - w) / fmax(1.0, total - w);
        return s->lr * fmax(0.0, 0.5 * (1.0 + cos(3.14159265358979323846 * progress)));
    }
    case FV_SCHED_INVSQRT: { /* get_inverse_sqrt_schedule: timescale = warmup, or 10,000 without warmup */
        double timescale = w > 0 ? w : 10000.0;
        return s->lr / sqrt((t + timescale - w) / timescale);
    }
    }
    return s->lr;
}
