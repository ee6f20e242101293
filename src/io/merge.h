/* `flanvk merge`: a base T5 checkpoint with a PEFT LoRA adapter folded in, written as a full Hugging
 * Face checkpoint: W' = W + s * B A for every module the adapter holds (s = lora_alpha / r, or
 * lora_alpha / sqrt(r) with use_rslora; PEFT's LoraLayer.get_delta_weight), every other tensor as
 * `convert` writes it. Host only. The whole output goes through io/convert.h (same plan, same storage
 * types, same streaming writer, OUT built under a temporary name and renamed, an existing non-empty
 * OUT refused); only the targeted matrices take a detour through fp32 where the delta is added. */
#ifndef FV_IO_MERGE_H
#define FV_IO_MERGE_H

#include <stdint.h>

#include "io/convert.h"
#include "io/peft.h"

typedef struct {
    fv_convert_stats convert;
    fv_peft_config adapter; /* as read */
    uint32_t modules;       /* matrices the delta was added to */
    uint64_t adapter_params;
    double max_abs_delta;   /* largest |s * (B A)[o, i]| added */
} fv_merge_stats;

/* stats may be NULL. type < 0: the base checkpoint's own storage type (io/wfile.h fv_wfile_default_type). The adapter
 * is checked against the base's config.json before anything is written (io/peft.h fv_peft_load). */
int fv_merge(const char *model_dir, const char *adapter_dir, const char *out_dir, int type,
             void (*progress)(uint64_t done, uint64_t total, void *user), void *user, fv_merge_stats *stats);

#endif
