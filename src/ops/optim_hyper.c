/* Hyperparameter structs for the optimizer shaders, filled per step on the host; see optim_hyper.h. */
#include "ops/optim_hyper.h"

#include <math.h>
#include <string.h>

#include "base/error.h"

#define MAX_CHUNKS 256u

_Static_assert(sizeof(fv_adamw_hyper) == FV_OPT_HYPER_WORDS * 4, "adamw hyper is 16 words");
_Static_assert(sizeof(fv_adafactor_hyper) == FV_OPT_HYPER_WORDS * 4, "adafactor hyper is 16 words");

fv_adamw_cfg fv_adamw_defaults(void) { return (fv_adamw_cfg){1e-3, 0.9, 0.999, 1e-8, 1e-2}; }

int fv_adamw_hyper_fill(const fv_adamw_cfg *c, uint32_t t, fv_adamw_hyper *h) {
    if (t < 1) return fv_err("adamw: step count must start at 1, got %u", t);
    if (!(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1))
        return fv_err("adamw: betas must be in [0, 1), got (%g, %g)", c->beta1, c->beta2);
    if (!(c->lr >= 0 && c->eps >= 0 && c->weight_decay >= 0))
        return fv_err("adamw: lr, eps and weight_decay must be >= 0");
    memset(h, 0, sizeof *h);
    double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
    h->lr = (float)c->lr;
    h->beta1 = (float)c->beta1;
    h->beta2 = (float)c->beta2;
    h->eps = (float)c->eps;
    h->wd = (float)c->weight_decay;
    h->decay = (float)(1.0 - c->lr * c->weight_decay);
    h->step_size = (float)(c->lr / bc1);
    h->bc2_sqrt = (float)sqrt(bc2);
    h->omb1 = (float)(1.0 - c->beta1);
    h->omb2 = (float)(1.0 - c->beta2);
    h->t = t;
    return 0;
}

fv_adafactor_cfg fv_adafactor_defaults(void) {
    fv_adafactor_cfg c = {0};
    c.eps1 = 1e-30;
    c.eps2 = 1e-3;
    c.clip_threshold = 1.0;
    c.decay_rate = -0.8;
    c.scale_parameter = 1;
    c.relative_step = 1;
    return c;
}

int fv_adafactor_hyper_fill(const fv_adafactor_cfg *c, uint32_t t, fv_adafactor_hyper *h) {
    if (t < 1) return fv_err("adafactor: step count must start at 1, got %u", t);
    if (c->warmup_init && !c->relative_step) return fv_err("adafactor: warmup_init requires relative_step");
    if (!c->relative_step && !(c->lr >= 0)) return fv_err("adafactor: lr must be >= 0 without relative_step");
    if (!(c->clip_threshold > 0)) return fv_err("adafactor: clip_threshold must be > 0");
    if (c->use_beta1 && !(c->beta1 >= 0 && c->beta1 < 1)) return fv_err("adafactor: beta1 must be in [0, 1)");
    memset(h, 0, sizeof *h);
    double lr = c->lr;
    if (c->relative_step) {
        double min_step = c->warmup_init ? 1e-6 * t : 1e-2;
        lr = fmin(min_step, 1.0 / sqrt((double)t));
    }
    double beta2t = 1.0 - pow((double)t, c->decay_rate);
    h->step_lr = (float)lr;
    h->beta2t = (float)beta2t;
    h->omb2t = (float)(1.0 - beta2t);
    h->eps1 = (float)c->eps1;
    h->eps2 = (float)c->eps2;
    h->clip = (float)c->clip_threshold;
    h->beta1 = (float)(c->use_beta1 ? c->beta1 : 0.0);
    h->omb1 = (float)(c->use_beta1 ? 1.0 - c->beta1 : 1.0);
    h->wd = (float)c->weight_decay;
    h->scale_parameter = c->scale_parameter != 0;
    h->t = t;
    return 0;
}

uint32_t fv_adafactor_chunks(uint32_t rows, uint32_t cols, int factored, uint32_t *per_chunk) {
    /* Factored: chunks of whole rows; vectors: chunks of at least 1024 elements. At most 256
     * chunks, so the final ordered sums stay short and the scratch small. */
    uint64_t units = factored ? rows : (uint64_t)rows * cols;
    uint64_t want = factored ? units : (units + 1023) / 1024;
    if (want > MAX_CHUNKS) want = MAX_CHUNKS;
    if (want < 1) want = 1;
    uint64_t per = (units + want - 1) / want;
    if (per < 1) per = 1;
    *per_chunk = (uint32_t)per;
    return (uint32_t)((units + per - 1) / per);
}

uint64_t fv_adafactor_state_size(uint32_t rows, uint32_t cols, int factored, int use_beta1) {
    uint64_t n = (uint64_t)rows * cols;
    return (factored ? (uint64_t)rows + cols : n) + (use_beta1 ? n : 0);
}

uint64_t fv_adafactor_scratch_size(uint32_t rows, uint32_t cols, int factored) {
    uint32_t per;
    uint64_t nch = fv_adafactor_chunks(rows, cols, factored, &per);
    /* 8 scalars, p^2 and update^2 partial sums per chunk, column partial sums per chunk */
    return 8 + 2 * nch + (factored ? nch * cols : 0);
}
