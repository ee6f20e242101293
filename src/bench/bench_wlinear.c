/* `flanvk bench ops` rows for linear layers over f16 / bf16 / q8 weights (ops/wlinear.h): each
 * shape in every storage type, beside the fp32 GEMM at the same shape. Decode shapes (a few rows)
 * report GB/s of the minimal traffic (the weight once, x and y once): they are bound by reading
 * the weight; the encoder shape reports GFLOP/s (2 M N K). The shape column gives the path and
 * the speed relative to f32 ("x1.00" = as fast). Weights are filled with one finite pattern:
 * speed does not depend on the values. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "ops/gemm.h"
#include "ops/wlinear.h"

static int one(fv_dev *d, fv_graph *g, fv_bench_out *o, enum fv_wtype t, enum fv_wlinear_path path, uint32_t M,
               uint32_t K, uint32_t N, double f32_ms, double *ms_out) {
    fv_buf *bx = NULL, *by = NULL, *bw = NULL, *bs = NULL, *bscr = NULL;
    /* DEQUANT's scratch: 16 MiB, what a model would hold (the whole weight for these shapes) */
    const uint32_t scratch_floats = 4u << 20;
    uint64_t dw = fv_wpack_data_words(t, N, K), sw = fv_wpack_scale_words(t, N, K);
    int rc = fv_buf_alloc(d, (uint64_t)M * K * 4, FV_MEM_DEVICE, "wlinear x", &bx);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)M * N * 4, FV_MEM_DEVICE, "wlinear y", &by);
    if (!rc) rc = fv_buf_alloc(d, dw * 4, FV_MEM_DEVICE, "wlinear weight", &bw);
    if (!rc && sw) rc = fv_buf_alloc(d, sw * 4, FV_MEM_DEVICE, "wlinear scales", &bs);
    if (!rc) rc = fv_buf_fill_u32(d, bx, 0x3c23d70au); /* 0.01f */
    if (!rc) rc = fv_buf_fill_u32(d, bw, 0x3c003c00u); /* f16 1.0 pairs; finite in every type */
    if (!rc && bs) rc = fv_buf_fill_u32(d, bs, 0x3c003c00u);
    if (!rc && path == FV_WL_DEQUANT) rc = fv_buf_alloc(d, scratch_floats * 4ull, FV_MEM_DEVICE, "wlinear scratch", &bscr);
    /* in the layout a model on this device holds (the pattern is the same tiled or not) */
    fv_weight w = {.type = t, .rows = N, .cols = K, .data = fv_tensor(bw, 0), .scales = fv_tensor(bs, 0),
                   .tile = fv_wlinear_tile(d, t, K)};
    fv_wlinear_opts opts = {.path = path, .scratch = fv_tensor(bscr, 0), .scratch_floats = bscr ? scratch_floats : 0};
    if (!rc) rc = fv_graph_begin(g);
    if (!rc) rc = fv_linear_w(g, fv_tensor(bx, 0), &w, fv_tensor(by, 0), M, 1.0f, 0.0f, &opts);
    if (!rc) rc = fv_graph_end(g);
    double ms = 0, flop = 2.0 * M * N * K, bytes = 4.0 * (dw + sw) + 4.0 * M * (K + N);
    if (!rc) rc = fv_bench_graph_ms(g, 3, flop > 2e9 ? 1.0 : 0.3, &ms);
    if (!rc) {
        char shape[96];
        snprintf(shape, sizeof shape, "%s %ux%u->%u %s x%.2f", fv_wtype_name(t), M, K, N,
                 t == FV_WT_F32                    ? "gemm"
                 : path == FV_WL_ROWS || path == 0 ? "rows"
                 : path == FV_WL_TILED             ? "tiled"
                 : path == FV_WL_GEMM              ? "gemm"
                                                   : "dequant", f32_ms > 0 ? f32_ms / ms : 1.0);
        fv_bench_report(o, "wlinear", shape, ms, M > FV_WL_ROWS_MAX ? flop / (ms * 1e6) : 0, bytes / (ms * 1e6));
        *ms_out = ms;
    }
    fv_buf_free(d, bscr);
    fv_buf_free(d, bs);
    fv_buf_free(d, bw);
    fv_buf_free(d, by);
    fv_buf_free(d, bx);
    return rc;
}

int fv_bench_wlinear(fv_dev *d, fv_graph *g, fv_bench_out *o) {
    /* decoding: flan-t5-small/base/large widths and the LM head; batched decode; encoder */
    static const uint32_t shapes[][3] = {{1, 512, 1024}, {1, 1024, 1024}, {1, 512, 32128}, {1, 1024, 32128},
                                         {8, 1024, 1024}, {512, 512, 1024}, {512, 1024, 1024},
                                         {128, 768, 2304}, {128, 2048, 768}}; /* base: qkv, wo of a 128-token prompt */
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        uint32_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        double f32_ms = 0, ms = 0;
        FV_TRY(one(d, g, o, FV_WT_F32, FV_WL_AUTO, M, K, N, 0, &f32_ms));
        for (int t = FV_WT_F16; t <= FV_WT_Q8; t++) {
            if (M <= FV_WL_ROWS_MAX) {
                FV_TRY(one(d, g, o, (enum fv_wtype)t, FV_WL_ROWS, M, K, N, f32_ms, &ms));
                continue;
            }
            /* many rows: every path (the tiled one only where it is not the slow fallback: it
             * ran 25-50x slower than f32 on lavapipe, whose barriers are coroutine switches) */
            if (fv_gemm_wb_supported(d)) FV_TRY(one(d, g, o, (enum fv_wtype)t, FV_WL_GEMM, M, K, N, f32_ms, &ms));
            FV_TRY(one(d, g, o, (enum fv_wtype)t, FV_WL_DEQUANT, M, K, N, f32_ms, &ms));
            FV_TRY(one(d, g, o, (enum fv_wtype)t, FV_WL_ROWS, M, K, N, f32_ms, &ms));
            if (!d->use_texel) FV_TRY(one(d, g, o, (enum fv_wtype)t, FV_WL_TILED, M, K, N, f32_ms, &ms));
        }
    }
    return 0;
}
