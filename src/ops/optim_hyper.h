/* Optimizer hyperparameters as the GPU reads them, without any Vulkan: the AdamW and Adafactor
 * settings (PyTorch / Hugging Face names and defaults), the 16-word structs the optimizer shaders
 * read from a device buffer, and state/scratch sizes.
 *
 * The structs live in a device buffer (not push constants) so a recorded training step is replayed
 * with a new step count and learning rate by rewriting 64 bytes: the host fills them for step t,
 * doing the schedule-independent work (bias corrections, beta2 decay) in double. Several structs
 * (param groups, e.g. one without weight decay) can sit in one buffer at multiples of 16 words.
 * Kept separate from ops/optim.h so the plain-C reference can share the settings. */
#ifndef FV_OPS_OPTIM_HYPER_H
#define FV_OPS_OPTIM_HYPER_H

#include <stdint.h>

#define FV_OPT_HYPER_WORDS 16u /* every hyper struct is 16 32-bit words (64 bytes) */

/* torch.optim.AdamW(lr, betas=(beta1, beta2), eps, weight_decay). */
typedef struct fv_adamw_cfg {
    double lr, beta1, beta2, eps, weight_decay;
} fv_adamw_cfg;

/* torch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2. */
fv_adamw_cfg fv_adamw_defaults(void);

typedef struct fv_adamw_hyper {
    float lr, beta1, beta2, eps, wd;
    float decay;      /* 1 - lr * wd */
    float step_size;  /* lr / (1 - beta1^t) */
    float bc2_sqrt;   /* sqrt(1 - beta2^t) */
    float omb1, omb2; /* 1 - beta1, 1 - beta2 (rounded once from double, as torch does) */
    uint32_t t;
    uint32_t pad[5];
} fv_adamw_hyper;

/* Fill h for step t (t >= 1, counting from 1 like torch's state["step"]). */
int fv_adamw_hyper_fill(const fv_adamw_cfg *c, uint32_t t, fv_adamw_hyper *h);

/* transformers.optimization.Adafactor. HF's lr=None is lr ignored when relative_step is set;
 * HF's beta1=None is use_beta1 = 0 (then no momentum state is kept). */
typedef struct fv_adafactor_cfg {
    double lr;
    double eps1, eps2;      /* HF eps=(1e-30, 1e-3) */
    double clip_threshold;  /* 1.0 */
    double decay_rate;      /* -0.8 */
    double beta1;
    int use_beta1;
    double weight_decay;
    int scale_parameter, relative_step, warmup_init;
} fv_adafactor_cfg;

/* HF defaults: lr None, eps (1e-30, 1e-3), clip 1, decay -0.8, beta1 None, wd 0,
 * scale_parameter, relative_step on, warmup_init off. */
fv_adafactor_cfg fv_adafactor_defaults(void);

typedef struct fv_adafactor_hyper {
    float step_lr;        /* lr before parameter scaling: relative_step ? min(.., 1/sqrt(t)) : lr */
    float beta2t, omb2t;  /* 1 - t^decay_rate, and 1 minus that */
    float eps1, eps2, clip;
    float beta1, omb1;
    float wd;
    uint32_t scale_parameter;
    uint32_t t;
    uint32_t pad[5];
} fv_adafactor_hyper;

/* Fill h for step t (t >= 1). Rejects warmup_init without relative_step, like HF. */
int fv_adafactor_hyper_fill(const fv_adafactor_cfg *c, uint32_t t, fv_adafactor_hyper *h);

/* Floats of Adafactor state for one tensor of rows x cols. factored (HF: >= 2 dims): row [rows]
 * then col [cols]; else v [rows*cols]. The momentum m [rows*cols] (use_beta1) is a separate tensor,
 * counted here too so a trainer can size one block for everything. */
uint64_t fv_adafactor_state_size(uint32_t rows, uint32_t cols, int factored, int use_beta1);
/* Floats of caller-supplied scratch one fv_adafactor call needs (reusable across tensors when the
 * calls are serialized, which the graph does since they all write it). */
uint64_t fv_adafactor_scratch_size(uint32_t rows, uint32_t cols, int factored);
/* How the reductions are split: chunks of rows (factored) or elements (vector); shared by the host
 * code and the scratch size. */
uint32_t fv_adafactor_chunks(uint32_t rows, uint32_t cols, int factored, uint32_t *per_chunk);
/* AdamW: m and v, n floats each. */
static inline uint64_t fv_adamw_state_size(uint64_t n) { return 2 * n; }

#endif
