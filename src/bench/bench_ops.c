/* `flanvk bench ops`: each op at T5 shapes, timed on recorded graphs, reported against the
 * peak measured in the same run. Inputs are filled with small constants: speed does not depend
 * on values here (no denormals, no NaN).
 *
 * What is counted: GEMM 2*M*N*K FLOPs; attention 4*H*T^2*dk forward (Q K^T and P V) and
 * 12*H*T^2*dk forward + backward (the four backward products added); the row ops and the
 * optimizers in bytes of their minimal traffic (each tensor read or written once per pass they
 * cannot avoid). Shapes too big for one storage buffer (C = 4096 x 32128 fp32 is 526 MB, above
 * lavapipe's 128 MiB maxStorageBufferRange) run as row chunks with separate C buffers in one
 * graph; the time is that of the whole graph. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "model/t5.h"
#include "model/t5_grads.h"
#include "ops/attention.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/gelu.h"
#include "ops/gradnorm.h"
#include "ops/gemm.h"
#include "ops/relpos.h"
#include "ops/rmsnorm.h"
#include "ops/xent.h"
#include "train/optimizer.h"

typedef struct {
    fv_dev *d;
    fv_graph *g;
    fv_bench_out out;
    const char *filter;
} ctx;

static int wanted(const ctx *c, const char *name) { return !c->filter || !*c->filter || strstr(name, c->filter); }

static int alloc_f32(ctx *c, uint64_t n, const char *what, fv_buf **b) {
    FV_TRY(fv_buf_alloc(c->d, n * 4, FV_MEM_DEVICE, what, b));
    return fv_buf_fill_u32(c->d, *b, 0x3c23d70au /* 0.01f */);
}

static void free_all(ctx *c, fv_buf **b, size_t n) {
    for (size_t i = 0; i < n; i++) fv_buf_free(c->d, b[i]);
}

/* Time the recorded graph: few repetitions for big work so the whole run stays short. */
static int time_graph(ctx *c, double work_gflop, double *ms) {
    if (work_gflop > 20) return fv_bench_graph_time(c->g, 0, 1, 0, ms);
    if (work_gflop > 2) return fv_bench_graph_time(c->g, 1, 2, 0, ms);
    return fv_bench_graph_ms(c->g, 3, 0.3, ms);
}

/* ---- GEMM: y = x W^T (a linear layer, HF weight layout) ---- */

static int bench_gemm_one(ctx *c, uint32_t M, uint32_t N, uint32_t K) {
    const uint64_t max_bytes = c->d->info.max_storage_buffer_range;
    uint32_t chunk = M;
    while ((uint64_t)chunk * N * 4 > max_bytes && chunk > 1) chunk /= 2;
    uint32_t nchunks = (M + chunk - 1) / chunk;
    fv_buf *bufs[2 + 64] = {0};
    if (nchunks > 64) return fv_err("bench gemm: %ux%u output needs too many chunks", M, N);
    int rc = alloc_f32(c, (uint64_t)M * K, "gemm A", &bufs[0]);
    if (!rc) rc = alloc_f32(c, (uint64_t)N * K, "gemm B", &bufs[1]);
    for (uint32_t i = 0; !rc && i < nchunks; i++) rc = alloc_f32(c, (uint64_t)chunk * N, "gemm C", &bufs[2 + i]);
    if (!rc) rc = fv_graph_begin(c->g);
    for (uint32_t i = 0; !rc && i < nchunks; i++) {
        uint32_t rows = (i + 1) * chunk <= M ? chunk : M - i * chunk;
        fv_gemm_desc p = {.M = rows, .N = N, .K = K, .trans_b = 1, .alpha = 1.0f};
        rc = fv_gemm(c->g, &p, fv_tensor(bufs[0], i * chunk * K), fv_tensor(bufs[1], 0), fv_tensor(bufs[2 + i], 0));
    }
    if (!rc) rc = fv_graph_end(c->g);
    double flop = 2.0 * M * N * K, ms = 0;
    if (!rc) rc = time_graph(c, flop * 1e-9, &ms);
    if (!rc) {
        char shape[96];
        int n = snprintf(shape, sizeof shape, "%ux%ux%u", M, N, K);
        if (nchunks > 1) snprintf(shape + n, sizeof shape - n, " (%u chunks of %u rows)", nchunks, chunk);
        fv_bench_report(&c->out, "gemm", shape, ms, flop / (ms * 1e6), 0);
    }
    free_all(c, bufs, 2 + nchunks);
    return rc;
}

static int bench_gemm(ctx *c) {
    static const uint32_t Ms[] = {512, 4096}, Ks[] = {512, 768, 1024}, Ns[] = {1024, 2048, 32128};
    FV_TRY(bench_gemm_one(c, 1024, 1024, 1024));
    for (size_t m = 0; m < 2; m++)
        for (size_t n = 0; n < 3; n++)
            for (size_t k = 0; k < 3; k++) FV_TRY(bench_gemm_one(c, Ms[m], Ns[n], Ks[k]));
    return 0;
}

/* ---- attention: one encoder self-attention (bidirectional bias, all tokens visible) ---- */

static int bench_attention_one(ctx *c, uint32_t T, uint32_t H, uint32_t dk, int backward) {
    const uint32_t nb = 32, maxd = 128, L = 128;
    fv_attn_desc a = {.B = 1, .Tq = T, .Tk = T, .H = H, .dk = dk, .use_bias = 1, .num_buckets = nb, .lut_radius = L};
    uint64_t n = (uint64_t)T * H * dk, pp = (uint64_t)H * T * T;
    enum { Q, K, V, O, P, DO, DQ, DK, DV, DP, HIST, TAB, DTAB, SEG, POS, LUT, NB };
    fv_buf *b[NB] = {0};
    int rc = 0;
    const char *names[NB] = {"q", "k", "v", "o", "p", "do", "dq", "dk", "dv", "dp", "hist", "table", "dtable"};
    for (int i = Q; !rc && i <= V; i++) rc = alloc_f32(c, n, names[i], &b[i]);
    if (!rc) rc = alloc_f32(c, n, names[O], &b[O]);
    if (!rc) rc = alloc_f32(c, pp, names[P], &b[P]);
    if (!rc) rc = alloc_f32(c, (uint64_t)nb * H, names[TAB], &b[TAB]);
    if (!rc) rc = fv_buf_alloc(c->d, (uint64_t)T * 4, FV_MEM_DEVICE, "seg", &b[SEG]);
    if (!rc) rc = fv_buf_fill_u32(c->d, b[SEG], 1);
    if (!rc) rc = fv_buf_alloc(c->d, (uint64_t)T * 4, FV_MEM_DEVICE, "pos", &b[POS]);
    if (!rc) {
        int32_t pos[4096];
        for (uint32_t i = 0; i < T && i < 4096; i++) pos[i] = (int32_t)i;
        rc = fv_buf_write(c->d, b[POS], 0, pos, (uint64_t)T * 4);
    }
    if (!rc) rc = fv_relpos_lut_create(c->d, L, 1, nb, maxd, &b[LUT]);
    if (backward) {
        for (int i = DO; !rc && i <= DV; i++) rc = alloc_f32(c, n, names[i], &b[i]);
        if (!rc) rc = alloc_f32(c, pp, names[DP], &b[DP]);
        if (!rc) rc = alloc_f32(c, (uint64_t)H * T * nb, names[HIST], &b[HIST]);
        if (!rc) rc = alloc_f32(c, (uint64_t)nb * H, names[DTAB], &b[DTAB]);
    }
#define TT(i) fv_tensor(b[i], 0)
    if (!rc) rc = fv_graph_begin(c->g);
    if (!rc)
        rc = fv_attention(c->g, &a, TT(Q), TT(K), TT(V), TT(O), TT(SEG), TT(SEG), TT(POS), TT(POS), TT(TAB), TT(LUT), TT(P));
    if (!rc && backward)
        rc = fv_attention_back(c->g, &a, TT(Q), TT(K), TT(V), TT(P), TT(O), TT(DO), TT(POS), TT(POS), TT(LUT), TT(DQ), TT(DK),
                               TT(DV), TT(DTAB), TT(DP), TT(HIST));
#undef TT
    if (!rc) rc = fv_graph_end(c->g);
    double flop = (backward ? 12.0 : 4.0) * H * T * T * dk, ms = 0;
    if (!rc) rc = time_graph(c, flop * 1e-9, &ms);
    if (!rc) {
        char shape[64];
        snprintf(shape, sizeof shape, "T=%u H=%u dk=%u B=1", T, H, dk);
        fv_bench_report(&c->out, backward ? "attn_fwd_bwd" : "attn_fwd", shape, ms, flop / (ms * 1e6), 0);
    }
    free_all(c, b, NB);
    return rc;
}

static int bench_attention(ctx *c) {
    static const uint32_t heads[] = {6, 8, 12};
    for (int bwd = 0; bwd < 2; bwd++)
        for (size_t h = 0; h < 3; h++) FV_TRY(bench_attention_one(c, 512, heads[h], 64, bwd));
    return 0;
}

/* ---- row ops ---- */

static int bench_rmsnorm(ctx *c) {
    const uint32_t rows = 4096, dim = 512;
    fv_buf *b[3] = {0};
    int rc = alloc_f32(c, (uint64_t)rows * dim, "x", &b[0]);
    if (!rc) rc = alloc_f32(c, dim, "w", &b[1]);
    if (!rc) rc = alloc_f32(c, (uint64_t)rows * dim, "y", &b[2]);
    if (!rc) rc = fv_graph_begin(c->g);
    if (!rc) rc = fv_rmsnorm(c->g, fv_tensor(b[0], 0), fv_tensor(b[1], 0), fv_tensor(b[2], 0), rows, dim, 1e-6f);
    if (!rc) rc = fv_graph_end(c->g);
    double ms = 0;
    if (!rc) rc = fv_bench_graph_ms(c->g, 5, 0.3, &ms);
    if (!rc) fv_bench_report(&c->out, "rmsnorm", "4096x512", ms, 0, 2.0 * rows * dim * 4 / (ms * 1e6));
    free_all(c, b, 3);
    return rc;
}

/* Training cross-entropy: loss and dlogits in place over [rows, vocab] (reads and writes it once). */
static int bench_xent(ctx *c) {
    const uint32_t rows = 1024, V = 32128;
    fv_buf *b[4] = {0};
    int rc = alloc_f32(c, (uint64_t)rows * V, "logits", &b[0]);
    if (!rc) rc = fv_buf_alloc(c->d, rows * 4ull, FV_MEM_DEVICE, "labels", &b[1]);
    if (!rc) rc = fv_buf_fill_u32(c->d, b[1], 7);
    if (!rc) rc = alloc_f32(c, 2, "scale", &b[2]);
    if (!rc) rc = alloc_f32(c, rows, "loss", &b[3]);
    if (!rc) rc = fv_graph_begin(c->g);
    if (!rc)
        rc = fv_xent(c->g, fv_tensor(b[0], 0), fv_tensor(b[1], 0), fv_tensor(b[2], 0), fv_tensor(b[3], 0), fv_tensor(b[0], 0),
                     rows, V);
    if (!rc) rc = fv_graph_end(c->g);
    double ms = 0;
    if (!rc) rc = fv_bench_graph_ms(c->g, 3, 0.3, &ms);
    if (!rc) fv_bench_report(&c->out, "xent", "1024x32128 loss+grad", ms, 0, 2.0 * rows * V * 4 / (ms * 1e6));
    free_all(c, b, 4);
    return rc;
}

/* ---- the other elementwise / row kernels of a training step, at flan-t5-small shapes
 * (8 x 512 encoder tokens: rows 4096, d_model 512, d_ff 1024 with the fused wi output
 * [rows, 2 * d_ff]) ---- */

enum { R = 4096, DM = 512, FF = 1024, NB_REST = 8 };

static int rest_report(ctx *c, const char *name, const char *shape, double bytes, fv_buf **b) {
    int rc = fv_graph_end(c->g);
    double ms = 0;
    if (!rc) rc = fv_bench_graph_ms(c->g, 5, 0.3, &ms);
    if (!rc) fv_bench_report(&c->out, name, shape, ms, 0, bytes / (ms * 1e6));
    free_all(c, b, NB_REST);
    return rc;
}

#define T0(i) fv_tensor(b[i], 0)

/* rmsnorm backward (dx accumulated into the residual, dw): x, dy in, dx in and out. */
static int bench_rmsnorm_back(ctx *c) {
    fv_buf *b[NB_REST] = {0};
    int rc = alloc_f32(c, (uint64_t)R * DM, "x", &b[0]) || alloc_f32(c, DM, "w", &b[1]) ||
             alloc_f32(c, (uint64_t)R * DM, "dy", &b[2]) || alloc_f32(c, (uint64_t)R * DM, "dx", &b[3]) ||
             alloc_f32(c, DM, "dw", &b[4]) || alloc_f32(c, R, "scratch", &b[5]) || fv_graph_begin(c->g);
    if (!rc) rc = fv_rmsnorm_back(c->g, T0(0), T0(1), T0(2), T0(3), T0(4), T0(5), R, DM, 1e-6f, 1);
    if (rc) return rc;
    return rest_report(c, "rmsnorm_back", "4096x512 dx (accumulate) + dw", 4.0 * R * DM * 4, b);
}

/* gated GELU on the fused wi output [rows, 2*d_ff]: a, b in, out; backward a, b, dout in, da, db out. */
static int bench_gelu(ctx *c, int back) {
    fv_buf *b[NB_REST] = {0};
    int rc = alloc_f32(c, (uint64_t)R * 2 * FF, "wi out", &b[0]) || alloc_f32(c, (uint64_t)R * FF, "h", &b[1]) ||
             alloc_f32(c, (uint64_t)R * 2 * FF, "d wi out", &b[2]) || fv_graph_begin(c->g);
    if (!rc && !back) rc = fv_gelu_gated(c->g, T0(0), fv_tensor(b[0], FF), 2 * FF, T0(1), R, FF);
    if (!rc && back)
        rc = fv_gelu_gated_back(c->g, T0(0), fv_tensor(b[0], FF), 2 * FF, T0(1), T0(2), fv_tensor(b[2], FF), 2 * FF, R, FF);
    if (rc) return rc;
    return rest_report(c, back ? "gelu_back" : "gelu", "4096x1024 gated, wi out 4096x2048", (back ? 5.0 : 3.0) * R * FF * 4, b);
}

/* dropout in place on [rows, d_model]; dropout_add: x += dropout(y). */
static int bench_dropout(ctx *c, int add) {
    fv_buf *b[NB_REST] = {0};
    int rc = alloc_f32(c, (uint64_t)R * DM, "x", &b[0]) || alloc_f32(c, (uint64_t)R * DM, "y", &b[1]) ||
             fv_buf_alloc(c->d, 16, FV_MEM_DEVICE, "seed", &b[2]) || fv_buf_fill_u32(c->d, b[2], 12345) ||
             fv_graph_begin(c->g);
    if (!rc && !add) rc = fv_dropout(c->g, T0(0), T0(2), T0(0), R * DM, 7, 0.1f);
    if (!rc && add) rc = fv_dropout_add(c->g, T0(0), T0(1), T0(2), R * DM, 7, 0.1f);
    if (rc) return rc;
    return rest_report(c, add ? "dropout_add" : "dropout", "4096x512 rate 0.1", (add ? 3.0 : 2.0) * R * DM * 4, b);
}

/* embedding forward and backward over the shared [32128, 512] table. */
static int bench_embedding(ctx *c, int back) {
    const uint32_t V = 32128;
    fv_buf *b[NB_REST] = {0};
    int rc = alloc_f32(c, (uint64_t)V * DM, "table", &b[0]) || alloc_f32(c, (uint64_t)R * DM, "out", &b[1]) ||
             fv_buf_alloc(c->d, R * 4ull, FV_MEM_DEVICE, "ids", &b[2]);
    if (!rc) {
        static uint32_t ids[R];
        for (uint32_t i = 0; i < R; i++) ids[i] = (i * 7919u) % V;
        rc = fv_buf_write(c->d, b[2], 0, ids, sizeof ids);
    }
    if (!rc) rc = fv_graph_begin(c->g);
    if (!rc && !back) rc = fv_embedding(c->g, T0(0), T0(2), T0(1), R, V, DM);
    if (!rc && back) rc = fv_embedding_back(c->g, T0(2), T0(1), T0(0), R, V, DM);
    if (rc) return rc;
    return rest_report(c, back ? "embedding_back" : "embedding", "4096 tokens, 32128x512",
                       (back ? 3.0 : 2.0) * R * DM * 4, b);
}

/* the global gradient norm over 31M values in one buffer (sum of squares: read once). */
static int bench_gradnorm(ctx *c) {
    const uint32_t n = 15u << 20, parts = 2; /* two tensors of 15.7M values: 126 MB, one storage range */
    fv_buf *b[NB_REST] = {0};
    fv_gradnorm_plan *plan = NULL;
    int rc = alloc_f32(c, (uint64_t)n * parts, "grads", &b[0]) || alloc_f32(c, 4, "norm", &b[1]);
    fv_t ts[2] = {fv_tensor(b[0], 0), fv_tensor(b[0], n)};
    uint32_t lens[2] = {n, n};
    if (!rc) rc = fv_gradnorm_plan_create(c->d, ts, lens, parts, &plan);
    if (!rc) rc = alloc_f32(c, fv_gradnorm_scratch_size(plan), "scratch", &b[2]);
    if (!rc) rc = fv_graph_begin(c->g);
    if (!rc) rc = fv_gradnorm(c->g, plan, T0(2), T0(1));
    if (!rc) rc = rest_report(c, "gradnorm", "2 x 15.7M values", 4.0 * n * parts, b);
    else free_all(c, b, NB_REST);
    if (plan) fv_gradnorm_plan_destroy(c->d, plan);
    return rc;
}

#undef T0

static int bench_rest(ctx *c) {
    if (wanted(c, "rmsnorm_back")) FV_TRY(bench_rmsnorm_back(c));
    if (wanted(c, "gelu")) FV_TRY(bench_gelu(c, 0));
    if (wanted(c, "gelu_back")) FV_TRY(bench_gelu(c, 1));
    if (wanted(c, "dropout")) FV_TRY(bench_dropout(c, 0));
    if (wanted(c, "dropout_add")) FV_TRY(bench_dropout(c, 1));
    if (wanted(c, "embedding")) FV_TRY(bench_embedding(c, 0));
    if (wanted(c, "embedding_back")) FV_TRY(bench_embedding(c, 1));
    if (wanted(c, "gradnorm")) FV_TRY(bench_gradnorm(c));
    return 0;
}

/* ---- optimizers over every tensor of a flan-t5-small-shaped model ---- */

static int bench_optimizer(ctx *c, fv_opt_kind kind) {
    fv_t5_config cfg;
    FV_TRY(fv_t5_config_preset(&cfg, "small"));
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    fv_optimizer *o = NULL;
    int rc = fv_t5_create(c->d, &cfg, &m);
    if (!rc) rc = fv_t5_grads_create(m, &gr);
    for (size_t i = 0; !rc && i < m->nparams; i++) rc = fv_buf_fill_u32(c->d, m->params[i].buf, 0x3c23d70au);
    for (size_t i = 0; !rc && i < gr->nbufs; i++) rc = fv_buf_fill_u32(c->d, gr->bufs[i], 0x3a83126fu /* 1e-3 */);
    fv_optimizer_cfg oc = {.kind = kind, .adamw = fv_adamw_defaults(), .adafactor = fv_adafactor_defaults()};
    if (!rc) rc = fv_optimizer_create(c->d, &oc, m->params, gr->params, m->nparams, &o);
    if (!rc) rc = fv_optimizer_set_step(o, 1, 1e-3);
    if (!rc) rc = fv_graph_begin(c->g);
    if (!rc) rc = fv_optimizer_record(o, c->g);
    if (!rc) rc = fv_graph_end(c->g);
    double ms = 0;
    if (!rc) rc = fv_bench_graph_time(c->g, 1, 3, 0.5, &ms);
    if (!rc) {
        /* AdamW: p, g, m, v in, p, m, v out. Adafactor (factored): g for the second-moment
         * statistics, then g and p in, p out (its extra passes are not counted). */
        double passes = kind == FV_OPT_ADAMW ? 7 : 4;
        char shape[64];
        snprintf(shape, sizeof shape, "%.1fM params (flan-t5-small)", m->nvalues / 1e6);
        fv_bench_report(&c->out, kind == FV_OPT_ADAMW ? "adamw" : "adafactor", shape, ms, 0,
                        passes * 4.0 * m->nvalues / (ms * 1e6));
    }
    fv_optimizer_free(o);
    fv_t5_grads_free(gr);
    fv_t5_free(m);
    return rc;
}

int fv_bench_ops(fv_dev *d, FILE *f, int json, const char *filter) {
    ctx c = {.d = d, .out = {.f = f, .json = json}, .filter = filter};
    FV_TRY(fv_bench_peak(d, &c.out.peak));
    fv_bench_print_peak(&c.out, d);
    FV_TRY(fv_graph_create(d, &c.g));
    int rc = 0;
    if (!rc && wanted(&c, "gemm")) rc = bench_gemm(&c);
    if (!rc && wanted(&c, "wlinear")) rc = fv_bench_wlinear(d, c.g, &c.out);
    if (!rc && wanted(&c, "attn")) rc = bench_attention(&c);
    if (!rc && wanted(&c, "attn_decode")) rc = fv_bench_attn_decode(d, c.g, &c.out);
    if (!rc && wanted(&c, "rmsnorm")) rc = bench_rmsnorm(&c);
    if (!rc && wanted(&c, "xent")) rc = bench_xent(&c);
    if (!rc) rc = bench_rest(&c);
    if (!rc && wanted(&c, "adamw")) rc = bench_optimizer(&c, FV_OPT_ADAMW);
    if (!rc && wanted(&c, "adafactor")) rc = bench_optimizer(&c, FV_OPT_ADAFACTOR);
    fv_graph_destroy(c.g);
    return rc;
}
