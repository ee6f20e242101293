/* flanvk models: load a Hugging Face T5 / Flan-T5 checkpoint directory as it is (config.json,
 * model.safetensors or a sharded index, spiece.model or tokenizer.json), generate and score.
 * Functions return 0 on success; on failure flanvk_last_error() names the file, tensor, key or
 * input at fault. Buffers returned to the caller are released with free(). */
#ifndef FLANVK_MODEL_H
#define FLANVK_MODEL_H

#include <stdint.h>

#include "flanvk/flanvk.h"
#include "flanvk/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flanvk_model flanvk_model;


typedef struct flanvk_model_info {
    int vocab_size, d_model, d_kv, d_ff, num_layers, num_decoder_layers, num_heads;
    int relative_attention_num_buckets, relative_attention_max_distance;
    char feed_forward_proj[32];
    int tie_word_embeddings;
    double layer_norm_epsilon;
    int decoder_start_token_id, eos_token_id, pad_token_id;
    uint64_t parameters;        /* number of values */
    uint64_t weight_bytes;      /* on the device, in the storage type `weights` */
    char stored_dtype[8];       /* dtype of the checkpoint's tensors ("F32", "BF16", ...); when they differ, the
                                 * linear weights' ("F16", "q8" for a flanvk q8 file), "" if not read */
    char weights[8];            /* storage type of the linear weights on the device: "f32", "f16", "bf16", "q8"
                                   (inspect: the checkpoint's own, or the one asked for) */
    char kv_cache[8];           /* loaded models: the KV cache's type, "f32" or "f16"; "" otherwise */
    int has_tokenizer;
    uint32_t max_input_tokens;  /* longest prompt one row of a batch can take on the opened device, 0 if unknown */
} flanvk_model_info;

/* How a model is held on the device for inference (README "Low-bit weights").
 * weights: storage type of the linear weights, "f32", "f16", "bf16" or "q8" (the embedding and LM
 *          head are 16-bit when q8 is asked for; norms and biases stay fp32; every sum is fp32);
 *          NULL or "": the checkpoint's own type (an fp32 checkpoint runs in fp32).
 * kv_cache: "f32" or "f16"; NULL or "": f16 when the weights are not f32 and the device can hold
 *          it, else f32. */
typedef struct flanvk_load_opts {
    const char *weights;
    const char *kv_cache;
    const char *adapter;   /* a PEFT LoRA adapter directory applied unmerged (README "LoRA adapters"); NULL: none */
} flanvk_load_opts;

/* Load a model directory onto the context's device. progress may be NULL. */
int flanvk_model_load(flanvk_ctx *ctx, const char *dir, flanvk_progress_fn progress, void *user, flanvk_model **out);
/* The same with load options (NULL: defaults). */
int flanvk_model_load_with(flanvk_ctx *ctx, const char *dir, const flanvk_load_opts *opts, flanvk_progress_fn progress,
                           void *user, flanvk_model **out);
void flanvk_model_free(flanvk_model *m);
/* Read config.json and the checkpoint's header without a device (no weights are read). */
int flanvk_model_inspect(const char *dir, flanvk_model_info *out);
/* The same, with weight_bytes for the storage type `weights` (NULL: the checkpoint's own). */
int flanvk_model_inspect_as(const char *dir, const char *weights, flanvk_model_info *out);
/* Check a storage type or KV-cache type name: 0, or an error naming it and the choices. */
int flanvk_check_weights_name(const char *weights);
int flanvk_check_kv_cache_name(const char *kv_cache);
void flanvk_model_get_info(const flanvk_model *m, flanvk_model_info *out);
/* The model directory's tokenizer, or NULL when it has none (then only token ids can be used). */
const flanvk_tokenizer *flanvk_model_tokenizer(const flanvk_model *m);

/* ---- conversion (host only, no device) ---- */

/* The matrices stored in one weight type by a conversion, and how far they moved:
 * relative error ||W - W'|| / ||W|| of each (W as read, W' as the kernels will read it). */
typedef struct flanvk_convert_type_stats {
    char type[8];              /* "f32", "f16", "bf16", "q8" */
    uint32_t tensors;          /* 0: no matrix took this type */
    double mean_rel_err, worst_rel_err;
    char worst_tensor[112];
} flanvk_convert_type_stats;

typedef struct flanvk_convert_stats {
    flanvk_convert_type_stats by_type[4]; /* f32, f16, bf16, q8 */
    uint32_t tensors;                     /* tensors written (a q8 matrix's scales count as one) */
    uint64_t bytes_out;                   /* bytes of tensor data in model.safetensors */
} flanvk_convert_stats;

/* Rewrite the model directory model_dir into out_dir with weights of type `weights` ("f32",
 * "f16", "bf16" or "q8"; which tensors take it: README, "Weight formats"): config.json and the
 * tokenizer files copied, model.safetensors written. out_dir must not exist or be empty; it is
 * built as "<out_dir>.tmp.<pid>" and renamed at the end. progress (bytes written) and stats may be NULL. */
int flanvk_model_convert(const char *model_dir, const char *out_dir, const char *weights, flanvk_progress_fn progress,
                         void *user, flanvk_convert_stats *stats);

typedef struct flanvk_gen_params {
    uint32_t max_new_tokens;   /* 20 */
    uint32_t num_beams;        /* 1 */
    float length_penalty;      /* 1.0 */
    int early_stopping;        /* 0 false (HF's default), 1 true, 2 "never" */
    int do_sample;             /* 0: greedy or beam search */
    float temperature;         /* 1.0 */
    uint32_t top_k;            /* 0 = off */
    float top_p;               /* 1.0 = off */
    uint64_t seed;             /* sampling is reproducible for a seed */
    uint32_t batch_size;       /* prompts decoded together; 0 = 16 */
} flanvk_gen_params;

void flanvk_gen_params_default(flanvk_gen_params *p);

/* Generate for n prompts given as token ids as the encoder sees them (</s> included).
 * out_ids[i] (malloc'd) receives prompt i's generated ids, without the decoder start token, with
 * </s> when it was produced; out_lens[i] their count. */
int flanvk_generate(flanvk_model *m, const uint32_t *const *prompts, const uint32_t *lens, uint32_t n,
                    const flanvk_gen_params *p, uint32_t **out_ids, uint32_t *out_lens);

/* log p(target | input) summed over the target tokens (</s> included, as given) for n pairs. */
int flanvk_score(flanvk_model *m, const uint32_t *const *inputs, const uint32_t *in_lens,
                 const uint32_t *const *targets, const uint32_t *tgt_lens, uint32_t n, uint32_t batch_size,
                 double *logprob);

#ifdef __cplusplus
}
#endif

#endif
