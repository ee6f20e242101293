/* Public API of the model benchmarks (include/flanvk/bench.h) over src/bench/. */
#include "flanvk/bench.h"

#include "api/context.h"
#include "bench/bench_model.h"

int flanvk_bench_generate(flanvk_ctx *ctx, const flanvk_bench_generate_opts *o, FILE *out, int json) {
    fv_bench_gen_opts g = {.model_dir = o->model_dir, .config = o->config, .prompt_len = o->prompt_len,
                           .new_tokens = o->new_tokens, .batches = o->batches, .nbatches = o->nbatches, .profile = o->profile};
    return fv_bench_generate(ctx->dev, &g, out, json);
}

int flanvk_bench_train(flanvk_ctx *ctx, const flanvk_bench_train_opts *o, FILE *out, int json) {
    fv_bench_train_opts t = {.model_dir = o->model_dir, .config = o->config, .batch_size = o->batch_size,
                             .seq_in = o->seq_in, .seq_out = o->seq_out, .optimizer = o->optimizer, .steps = o->steps, .profile = o->profile,
                             .mixed_precision = o->mixed_precision};
    return fv_bench_train(ctx->dev, &t, out, json);
}
