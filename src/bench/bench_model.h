/* Model-level benchmarks (generation, training): their options and results, and opening the model
 * they run on: a Hugging Face directory, or a preset config ("small" = flan-t5-small shapes) with
 * T5's random initialisation, so the benchmarks need no files. */
#ifndef FV_BENCH_BENCH_MODEL_H
#define FV_BENCH_BENCH_MODEL_H

#include "bench/bench.h"
#include "flanvk/bench.h"
#include "model/t5.h"

/* Exactly one of model_dir and config. */
int fv_bench_model_open(fv_dev *d, const char *model_dir, const char *config, fv_t5 **out);
/* The same with the linear weights stored as *wtype (FV_T5_WTYPE_FILE: the checkpoint's own, f32
 * for a config; written back). A config model gets uniform random weights of T5's init std, fast
 * enough for flan-t5-xl shapes (2.85 B values) without a file. */
int fv_bench_model_open_typed(fv_dev *d, const char *model_dir, const char *config, int *wtype, fv_t5 **out);

/* The options are the public API's (include/flanvk/bench.h). */
typedef flanvk_bench_generate_opts fv_bench_gen_opts;

typedef struct fv_bench_gen_result {
    uint32_t batch;
    double encoder_tokens_per_s, decoder_tokens_per_s, first_token_ms, ms_per_step, ms_prefill;
    double graph_best_ms, graph_mean_ms; /* --profile: the step's graph replayed alone, best and mean */
    double max_submit_ms; /* longest GPU time of one submission (fv_dev.max_submit_ms) */
    uint64_t peak_device_bytes;
} fv_bench_gen_result;

int fv_bench_generate(fv_dev *d, const fv_bench_gen_opts *o, FILE *f, int json);

typedef flanvk_bench_train_opts fv_bench_train_opts;

int fv_bench_train(fv_dev *d, const fv_bench_train_opts *o, FILE *f, int json);

/* Per-op-kind profiles (bench_profile.c): each op kind of the step timed alone at the step's
 * shapes, times its count, against the measured step (step_ms); the remainder is printed as "rest". */
int fv_bench_profile_train(fv_t5 *m, uint32_t B, uint32_t Te, uint32_t Td, double step_ms, double optimizer_ms, FILE *f,
                           int json);
/* graph_best_ms / graph_mean_ms: the recorded decode step replayed alone (0: not measured). */
int fv_bench_profile_decode(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, double step_ms, double prefill_ms,
                            double graph_best_ms, double graph_mean_ms, FILE *f, int json);

#endif
