/* flanvk benchmarks of a whole model: generation and training speed on the context's device.
 * (`flanvk bench ops`, the per-op benchmark, is flanvk_bench_ops in flanvk.h.) Each prints text
 * lines, or with json one JSON object per line, to out. The model is a Hugging Face directory
 * (model_dir) or, for a benchmark without files, a preset config name ("small": flan-t5-small
 * shapes with T5's random initialisation); give exactly one. */
#ifndef FLANVK_BENCH_H
#define FLANVK_BENCH_H

#include "flanvk/flanvk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flanvk_bench_generate_opts {
    const char *model_dir, *config;
    uint32_t prompt_len;      /* tokens per prompt; 128 when 0 */
    uint32_t new_tokens;      /* decode steps, never stopped at </s>; 64 when 0 */
    const uint32_t *batches;  /* batch sizes; {1, 16} when nbatches = 0 */
    uint32_t nbatches;
    int profile;              /* also print the time per op kind of the decode step and prefill */
    const char *weights;      /* storage types, comma-separated ("f32,q8", or "all" = f32,f16,bf16,q8), each
                                 run in turn; NULL = the checkpoint's own (f32 for a --config model) */
    const char *kv_cache;     /* "f32" / "f16"; NULL = the default (flanvk_load_opts) */
} flanvk_bench_generate_opts;

/* Greedy generation: encoder tokens/s, decoder tokens/s, time to first token, peak device memory.
 * JSON keys: model (directory or config name), weights, kv_cache, weights_bytes (device bytes of
 * the parameters), batch, encoder_tokens_per_s, decoder_tokens_per_s, first_token_ms,
 * peak_device_bytes (weights included), max_submit_ms (the longest GPU time of one submission,
 * FLANVK_MAX_SUBMIT_MS; 0 without timestamps). */
int flanvk_bench_generate(flanvk_ctx *ctx, const flanvk_bench_generate_opts *o, FILE *out, int json);

typedef struct flanvk_bench_train_opts {
    const char *model_dir, *config;
    uint32_t batch_size, seq_in, seq_out;  /* 8, 512, 128 when 0 */
    const char *optimizer;                 /* "adamw" (NULL) or "adafactor" */
    int steps;                             /* timed steps, best kept; 2 when 0 */
    int profile;                           /* also print the time per op kind of the step */
    int mixed_precision;                   /* the step with fp16 weight copies (flanvk_train_params.mixed_precision) */
    int grad_checkpointing;                /* the step with block recompute (flanvk_train_params.grad_checkpointing) */
    int lora_rank;                         /* > 0: a LoRA step (adapters of this rank on q, v; frozen base) */
    const char *weights;                   /* the base's storage with LoRA: "f32", "f16", "bf16", "q8"; NULL: bf16
                                              where the device has 16-bit storage, else f32 (as flanvk train) */
    int memory_only;                       /* allocate and record the step, report peak_device_bytes, run nothing
                                              (large shapes on slow devices) */
} flanvk_bench_train_opts;

/* One training step: tokens/s, ms split into forward / loss + LM head / backward / optimizer, model
 * FLOPs utilisation against the peak measured in the same run, peak device memory. JSON keys:
 * tokens_per_s, ms_step, ms_forward, ms_loss_head, ms_backward, ms_optimizer, mfu_pct,
 * model_gflop_per_step, peak_gflops, peak_device_bytes, batch, seq_in, seq_out, optimizer,
 * mixed_precision, loss, max_submit_ms (the longest GPU time of one submission of the step, update
 * and pieces graphs; see FLANVK_MAX_SUBMIT_MS), grad_checkpointing, lora_rank, weights. A LoRA step's
 * model FLOPs are the forward's and the input gradients' (2x the forward; the adapters' are not
 * counted); a full step's are 3x the forward. */
int flanvk_bench_train(flanvk_ctx *ctx, const flanvk_bench_train_opts *o, FILE *out, int json);

#ifdef __cplusplus
}
#endif

#endif
