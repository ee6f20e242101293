/* Model-level benchmarks (generation, training): their options and results, and opening the model
 * they run on: a Hugging Face directory, or a preset config ("small" = flan-t5-small shapes) with
 * T5's random initialisation, so the benchmarks need no files. */
#ifndef FV_BENCH_BENCH_MODEL_H
#define FV_BENCH_BENCH_MODEL_H

#include "bench/bench.h"
#include "model/t5.h"

/* Exactly one of model_dir and config. */
int fv_bench_model_open(fv_dev *d, const char *model_dir, const char *config, fv_t5 **out);

typedef struct fv_bench_gen_opts {
    const char *model_dir, *config;
    uint32_t prompt_len;        /* 128 when 0 */
    uint32_t new_tokens;        /* decode steps, 64 when 0 */
    const uint32_t *batches;    /* batch sizes; {1, 16} when nbatches = 0 */
    uint32_t nbatches;
    int reps;                   /* timed repetitions (best kept), 2 when 0 */
    int profile;                /* also time each op kind of the decode step and the prefill */
} fv_bench_gen_opts;

typedef struct fv_bench_gen_result {
    uint32_t batch;
    double encoder_tokens_per_s, decoder_tokens_per_s, first_token_ms, ms_per_step, ms_prefill;
    uint64_t peak_device_bytes;
} fv_bench_gen_result;

int fv_bench_generate(fv_dev *d, const fv_bench_gen_opts *o, FILE *f, int json);

typedef struct fv_bench_train_opts {
    const char *model_dir, *config;
    uint32_t batch_size, seq_in, seq_out;   /* 8, 512, 128 when 0 */
    const char *optimizer;                  /* "adamw" (default) or "adafactor" */
    int steps;                              /* timed steps (best kept), 2 when 0 */
    int profile;                            /* also time each op kind of the step (bench_profile.c) */
    int mixed_precision;                    /* fp16 shadows of the projection weights (model/t5_train_step.h) */
} fv_bench_train_opts;

int fv_bench_train(fv_dev *d, const fv_bench_train_opts *o, FILE *f, int json);

/* Per-op-kind profiles (bench_profile.c): each op kind of the step timed alone at the step's
 * shapes, times its count, against the measured step (step_ms); the remainder is printed as "rest". */
int fv_bench_profile_train(fv_t5 *m, uint32_t B, uint32_t Te, uint32_t Td, double step_ms, double optimizer_ms, FILE *f,
                           int json);
int fv_bench_profile_decode(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, double step_ms, double prefill_ms, FILE *f,
                            int json);

#endif
