/* flanvk adapters: PEFT LoRA adapter directories (adapter_config.json + adapter_model.safetensors,
 * as Hugging Face PEFT's save_pretrained writes them and PeftModel.from_pretrained reads them), read,
 * checked against a base model, and merged into a full checkpoint. README, "LoRA adapters".
 * Functions return 0 on success; on failure flanvk_last_error() names the file, tensor or key and
 * the problem. Host only: nothing here opens a device. */
#ifndef FLANVK_ADAPTER_H
#define FLANVK_ADAPTER_H

#include <stdint.h>

#include "flanvk/flanvk.h"
#include "flanvk/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flanvk_adapter_info {
    int r;                            /* rank */
    double lora_alpha, lora_dropout;
    int use_rslora;
    double scaling;                   /* lora_alpha / r (lora_alpha / sqrt(r) with use_rslora) */
    char target_modules[256];         /* comma-separated, e.g. "q,v" */
    char task_type[32];
    char base_model_name_or_path[512];
    uint32_t modules;                 /* linear layers adapted */
    uint64_t parameters;              /* values in A and B */
} flanvk_adapter_info;

/* Read an adapter directory and check it: against the base model model_dir (its config.json) when
 * model_dir is not NULL — every tensor's module a linear layer of the model named by
 * target_modules, A [r, in] and B [out, r] of that layer, both present for every module the targets
 * name — else only for consistency with itself. */
int flanvk_adapter_inspect(const char *adapter_dir, const char *model_dir, flanvk_adapter_info *out);

typedef struct flanvk_merge_stats {
    flanvk_adapter_info adapter;
    flanvk_convert_stats convert;  /* the storage of the output, as flanvk_model_convert reports it */
    double max_abs_delta;          /* largest |scaling * (B A)[o, i]| added to a weight */
} flanvk_merge_stats;

/* Write out_dir, a full Hugging Face checkpoint of model_dir with the adapter folded in:
 * W + scaling * B A for every adapted linear layer (computed in double, rounded once to fp32, then
 * stored as `weights`), every other tensor as flanvk_model_convert writes it; config.json and the
 * tokenizer files copied. weights: "f32", "f16", "bf16" or "q8"; NULL or "": the base checkpoint's
 * own type. out_dir must not exist or be empty; it is built as "<out_dir>.tmp.<pid>" and renamed at
 * the end. The adapter is checked against the model before anything is written. progress (bytes
 * written) and stats may be NULL. */
int flanvk_adapter_merge(const char *model_dir, const char *adapter_dir, const char *out_dir, const char *weights,
                         flanvk_progress_fn progress, void *user, flanvk_merge_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
