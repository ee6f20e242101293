/* Public API of the model benchmarks (include/flanvk/bench.h) over src/bench/. */
#include "flanvk/bench.h"

#include "api/context.h"
#include "bench/bench_model.h"

int flanvk_bench_generate(flanvk_ctx *ctx, const flanvk_bench_generate_opts *o, FILE *out, int json) {
    return fv_bench_generate(ctx->dev, o, out, json);
}

int flanvk_bench_train(flanvk_ctx *ctx, const flanvk_bench_train_opts *o, FILE *out, int json) {
    return fv_bench_train(ctx->dev, o, out, json);
}
