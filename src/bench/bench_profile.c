/* Where the time of a training step or a decode step goes, per op kind (`--profile` of bench train
 * and bench generate). The recorded step is one graph with no per-dispatch timing, so instead each
 * op kind of the step is timed on its own at the step's exact shapes (one graph per op and shape,
 * replayed), multiplied by how many times the step runs it, and set against the measured step:
 * the training profile also times every row op of the step (RMSNorm, gated GELU, dropout sites,
 * residual copies and dropout-adds, embedding, gradient zeroing and norm, the loss reductions;
 * the op list and counts follow model/t5_train_fwd.c and t5_backward.c), and attention as the
 * step runs it (with its probability dropout; a separate dropout kernel is also shown alone as an
 * "in attn" row not added to the sum). What is left is the rest: what the whole graph loses or gains over
 * separate ones, and for decode the KV appends, uploads, read-backs and the host's work. Inputs
 * are constants, like bench ops. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_model.h"
#include "model/t5_grads.h"
#include "model/t5_layers.h"
#include "model/t5_train_step.h"
#include "ops/attention.h"
#include "ops/attn_decode.h"
#include "ops/attn_fused.h"
#include "ops/attn_ranges.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/gelu.h"
#include "ops/gemm.h"
#include "ops/rmsnorm.h"
#include "ops/relpos.h"
#include "ops/xent.h"
#include "ref/attn_ranges.h"

typedef struct {
    fv_dev *d;
    fv_graph *g;
    FILE *f;
    int json;
    const char *what;   /* "train", "decode", "prefill" */
    double step_ms;     /* the measured step, for percentages */
    double sum_ms;
    double cpu_ms;      /* process CPU time of the last timed graph (best run): robust to other load */
    double step_cpu_ms, sum_cpu_ms; /* the step re-timed in the profile (without the optimizer), rows' sum */
    double graph_best_ms, graph_mean_ms; /* decode: the step's graph replayed alone (0: not measured) */
} prof;

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best wall time (returned) and best process CPU time (p->cpu_ms) over the runs; lavapipe's
 * threads are this process's, so CPU time counts the device's work whatever else the machine runs. */
static int time_graph(prof *p, int warmup, int min_runs, double min_seconds, double *ms) {
    if (warmup) FV_TRY(fv_graph_run(p->g));
    double best = 1e30, best_cpu = 1e30, start = fv_bench_now();
    for (int i = 0; i < min_runs || fv_bench_now() - start < min_seconds; i++) {
        double t0 = fv_bench_now(), c0 = cpu_now();
        FV_TRY(fv_graph_run(p->g));
        double t = fv_bench_now() - t0, c = cpu_now() - c0;
        if (t < best) best = t;
        if (c < best_cpu) best_cpu = c;
        if (i > 10000) break;
    }
    *ms = best * 1e3;
    p->cpu_ms = best_cpu * 1e3;
    return 0;
}

static int fill(fv_dev *d, uint64_t n, const char *what, fv_buf **b) {
    FV_TRY(fv_buf_alloc(d, (n ? n : 1) * 4, FV_MEM_DEVICE, what, b));
    return fv_buf_fill_u32(d, *b, 0x3c23d70au);
}

/* One row of the table: GFLOP/s when flops > 0, GB/s when bytes > 0; cpu = CPU ms of one (< 0:
 * unknown); part = shown but not summed (a piece of an op kind already counted). */
static void row_ex(prof *p, const char *kind, const char *shape, uint32_t count, double ms, double cpu, double flops,
                   double bytes, int part) {
    double total = ms * count, pct = p->step_ms > 0 ? 100.0 * total / p->step_ms : 0;
    double rate = flops > 0 ? flops / (ms * 1e6) : bytes > 0 ? bytes / (ms * 1e6) : 0;
    double cpu_total = cpu >= 0 ? cpu * count : -1;
    if (!part) p->sum_ms += total;
    if (!part && cpu >= 0) p->sum_cpu_ms += cpu_total;
    if (p->json)
        fprintf(p->f,
                "{\"profile\": \"%s\", \"kind\": \"%s\", \"shape\": \"%s\", \"count\": %u, \"ms_each\": %.4f, "
                "\"ms_total\": %.3f, \"pct_step\": %.2f, \"cpu_ms_total\": %.3f, \"%s\": %.3f%s}\n",
                p->what, kind, shape, count, ms, total, pct, cpu_total, bytes > 0 ? "gbps" : "gflops", rate,
                part ? ", \"part_of_above\": true" : "");
    else
        fprintf(p->f, "  %-21s %-34s x%-3u %9.3f ms %10.2f ms %6.1f%% %10.1f cpu ms %7.2f %s%s\n", kind, shape, count, ms,
                total, pct, cpu_total, rate, bytes > 0 ? "GB/s   " : "GFLOP/s", part ? "  (in attn, not summed)" : "");
    fflush(p->f);
}

static void row(prof *p, const char *kind, const char *shape, uint32_t count, double ms, double flops) {
    row_ex(p, kind, shape, count, ms, p->cpu_ms, flops, 0, 0);
}

static int time_it(prof *p, double gflop, double *ms) {
    if (gflop > 20) return time_graph(p, 0, 1, 0, ms);
    return time_graph(p, 1, 2, 0.1, ms);
}

/* One GEMM C[M,N] = op(A) op(B) as the linear layers use it. */
static int prof_gemm(prof *p, const char *kind, uint32_t M, uint32_t N, uint32_t K, int ta, int tb, uint32_t count) {
    fv_buf *a = NULL, *b = NULL, *c = NULL;
    int rc = fill(p->d, (uint64_t)M * K, "profile A", &a);
    if (!rc) rc = fill(p->d, (uint64_t)N * K, "profile B", &b);
    if (!rc) rc = fill(p->d, (uint64_t)M * N, "profile C", &c);
    fv_gemm_desc g = {.M = M, .N = N, .K = K, .trans_a = ta, .trans_b = tb, .alpha = 1.0f, .beta = ta ? 1.0f : 0.0f};
    if (!rc) rc = fv_graph_begin(p->g);
    if (!rc) rc = fv_gemm(p->g, &g, fv_tensor(a, 0), fv_tensor(b, 0), fv_tensor(c, 0));
    if (!rc) rc = fv_graph_end(p->g);
    double ms = 0, flops = 2.0 * M * N * K;
    if (!rc) rc = time_it(p, flops * 1e-9, &ms);
    if (!rc) {
        char shape[64];
        snprintf(shape, sizeof shape, "%ux%ux%u %s%s", M, N, K, ta ? "T" : "N", tb ? "T" : "N");
        row(p, kind, shape, count, ms, flops);
    }
    fv_buf_free(p->d, a);
    fv_buf_free(p->d, b);
    fv_buf_free(p->d, c);
    return rc;
}

/* The products of one kind (one or two of the block's linear layers) of an inference step, over
 * the model's own weights, every layer's in one graph as the step runs them: each layer reads its
 * own weight from memory, as in the step (one weight replayed would be timed from the cache: a
 * flan-t5-base decoder layer's q8 weights fit a 32 MiB L3). Time and FLOPs per product. */
static int prof_model_linear(prof *p, const fv_t5 *m, const char *kind, int decoder, enum fv_t5_lin w1,
                             enum fv_t5_lin w2, uint32_t rows) {
    const fv_t5_block *blocks = decoder ? m->dec : m->enc;
    uint32_t layers = (uint32_t)(decoder ? m->cfg.num_decoder_layers : m->cfg.num_layers), count = 0;
    fv_weight w = fv_t5_block_weight(m, &blocks[0], w1);
    fv_buf *x = NULL, *y = NULL;
    int rc = fill(p->d, (uint64_t)rows * w.cols, "profile x", &x) || fill(p->d, (uint64_t)rows * w.rows, "profile y", &y);
    if (!rc) rc = fv_graph_begin(p->g);
    for (uint32_t l = 0; !rc && l < layers; l++)
        for (int k = 0; !rc && k < 2; k++) {
            if (k && w2 == w1) break;
            rc = fv_t5_linear(p->g, m, &blocks[l], k ? w2 : w1, fv_tensor(x, 0), fv_tensor(y, 0), rows, 0.0f);
            count++;
        }
    if (!rc) rc = fv_graph_end(p->g);
    if (!count) count = 1; /* a stack without layers: an empty graph, timed once */
    double ms = 0, flops = 2.0 * rows * w.rows * w.cols;
    if (!rc) rc = time_it(p, flops * count * 1e-9, &ms);
    if (!rc) {
        char shape[64];
        snprintf(shape, sizeof shape, "%ux%ux%u %s", rows, w.rows, w.cols, fv_wtype_name(w.type));
        p->cpu_ms /= count;
        row(p, kind, shape, count, ms / count, flops);
    }
    fv_buf_free(p->d, x);
    fv_buf_free(p->d, y);
    return rc;
}

/* The LM head of an inference step over the model's own table (16-bit in a low-bit model). */
static int prof_model_head(prof *p, const fv_t5 *m, uint32_t rows) {
    uint32_t D = (uint32_t)m->cfg.d_model, V = (uint32_t)m->cfg.vocab_size;
    fv_buf *x = NULL, *y = NULL;
    int rc = fill(p->d, (uint64_t)rows * D, "profile x", &x) || fill(p->d, (uint64_t)rows * V, "profile logits", &y);
    if (!rc) rc = fv_graph_begin(p->g);
    if (!rc) rc = fv_t5_logits(p->g, m, fv_tensor(x, 0), fv_tensor(y, 0), rows);
    if (!rc) rc = fv_graph_end(p->g);
    double ms = 0, flops = 2.0 * rows * V * D;
    if (!rc) rc = time_it(p, flops * 1e-9, &ms);
    if (!rc) {
        char shape[64];
        snprintf(shape, sizeof shape, "%ux%ux%u %s", rows, V, D, fv_wtype_name(m->vtype));
        row(p, "lm head", shape, 1, ms, flops);
    }
    fv_buf_free(p->d, x);
    fv_buf_free(p->d, y);
    return rc;
}

/* A linear layer of `rows` tokens, in -> out: forward, and with backward (the training step) its dx
 * and dW products; there the forward is NN where the step reads transposed weight copies. */
static int prof_linear(prof *p, const char *name, uint32_t rows, uint32_t in, uint32_t out, uint32_t count, int backward) {
    char kind[48];
    snprintf(kind, sizeof kind, "%s", name);
    FV_TRY(prof_gemm(p, kind, rows, out, in, 0, !(backward && fv_t5_train_fwd_transposed(p->d)), count));
    if (!backward) return 0;
    snprintf(kind, sizeof kind, "%s dx", name);
    FV_TRY(prof_gemm(p, kind, rows, in, out, 0, 0, count));
    snprintf(kind, sizeof kind, "%s dW", name);
    return prof_gemm(p, kind, out, in, rows, 1, 0, count);
}

/* Attention (forward; with backward also forward + backward, the backward reported as the difference),
 * with the probability dropout of the training step at `rate` (0: none) as the step runs it (the
 * backward reads the forward's dropped P); where the forward's dropout is a kernel of its own (not
 * the texel path, which fuses it into the P kernel) it is also timed alone, shown as a part.
 * With backward (the training step) the rows are packed as bench train packs them (4 segments per
 * row, positions restarting) and the attention skips masked blocks with the mask's ranges
 * (ops/attn_ranges.h), computed once outside the timed graph as the step computes them once. */
static int prof_attn(prof *p, const char *name, fv_attn_desc a, int bidirectional, uint32_t count, int backward,
                     float rate) {
    fv_dev *d = p->d;
    uint32_t H = a.H, nb = 32, L = 128;
    uint64_t nq = (uint64_t)a.B * a.Tq * H * a.dk, nk = (uint64_t)a.B * a.Tk * H * a.dk, pp = (uint64_t)a.B * H * a.Tq * a.Tk;
    enum { Q, K, V, O, P, DO, DQ, DK, DV, DP, HIST, TAB, DTAB, SQ, SK, PQ, PK, LUT, PD, SEED, RNG, NB };
    fv_buf *b[NB] = {0};
    int rc = fill(d, nq, "q", &b[Q]) || fill(d, nk, "k", &b[K]) || fill(d, nk, "v", &b[V]) || fill(d, nq, "o", &b[O]) ||
             fill(d, pp, "p", &b[P]) || fill(d, (uint64_t)nb * H, "table", &b[TAB]);
    if (!rc && backward)
        rc = fill(d, nq, "do", &b[DO]) || fill(d, nq, "dq", &b[DQ]) || fill(d, nk, "dk", &b[DK]) ||
             fill(d, nk, "dv", &b[DV]) || fill(d, pp, "dp", &b[DP]) ||
             fill(d, (uint64_t)a.B * H * a.Tq * nb, "hist", &b[HIST]) || fill(d, (uint64_t)nb * H, "dtable", &b[DTAB]);
    if (!rc && rate > 0)
        rc = fill(d, pp, "pd", &b[PD]) || fv_buf_alloc(d, 4, FV_MEM_DEVICE, "seed", &b[SEED]) ||
             fv_buf_fill_u32(d, b[SEED], 12345);
    uint32_t nmax = a.B * (a.Tq > a.Tk ? a.Tq : a.Tk);
    int32_t *host = malloc((size_t)nmax * 4 * 3); /* segment ids of q, of k; positions */
    if (!rc && !host) rc = fv_err("profile: out of host memory");
    rc = rc || fv_buf_alloc(d, (uint64_t)a.B * a.Tq * 4, FV_MEM_DEVICE, "seg q", &b[SQ]) ||
         fv_buf_alloc(d, (uint64_t)a.B * a.Tk * 4, FV_MEM_DEVICE, "seg k", &b[SK]) ||
         fv_buf_alloc(d, (uint64_t)a.B * a.Tq * 4, FV_MEM_DEVICE, "pos q", &b[PQ]) ||
         fv_buf_alloc(d, (uint64_t)a.B * a.Tk * 4, FV_MEM_DEVICE, "pos k", &b[PK]) || fv_buf_fill_u32(d, b[SQ], 1) ||
         fv_buf_fill_u32(d, b[SK], 1);
    int32_t *seg[2] = {host, host ? host + nmax : NULL};
    for (int s = 0; !rc && s < 2; s++) {
        uint32_t T = s ? a.Tk : a.Tq, seglen = backward ? (T + 3) / 4 : T;
        int32_t *pos = host + 2 * nmax;
        for (uint32_t i = 0; i < a.B * T; i++) pos[i] = (int32_t)(i % T % seglen);
        rc = fv_buf_write(d, b[s ? PK : PQ], 0, pos, (uint64_t)a.B * T * 4);
        for (uint32_t i = 0; i < a.B * T; i++) seg[s][i] = (int32_t)(i % T / seglen + 1);
        if (!rc && backward) rc = fv_buf_write(d, b[s ? SK : SQ], 0, seg[s], (uint64_t)a.B * T * 4);
    }
    /* FLOPs over the visible (query, key) pairs, as bench train counts them: packed, the kernels
     * skip the blocks of other segments */
    double pairs = rc ? 0 : fv_ref_attn_pairs(&a, seg[0], seg[1]); /* over all B rows */
    free(host);
    if (!rc) rc = fv_relpos_lut_create(d, L, bidirectional, nb, 128, &b[LUT]);
    a.num_buckets = nb;
    a.lut_radius = L;
    double flops = 4.0 * H * pairs * a.dk, ms_f = 0, ms_fb = 0, ms_d = 0, cpu[3] = {0};
#define TT(i) fv_tensor(b[i], 0)
    /* as the step runs it: the backward reads the forward's dropped P (pd_kept) */
    fv_attn_dropout dr = {TT(SEED), 0x105u, rate, TT(PD), 1};
    int drop_pass = rate > 0 && !fv_attn_fused_ok(d, &a); /* texel path: dropout fused into the P kernel */
    if (!rc && backward) {
        rc = fv_buf_alloc(d, fv_attn_ranges_size(&a) * 4, FV_MEM_DEVICE, "ranges", &b[RNG]) || fv_graph_begin(p->g) ||
             fv_attn_ranges(p->g, &a, TT(SQ), TT(SK), TT(RNG)) || fv_graph_end(p->g) || fv_graph_run(p->g);
    }
    fv_t rng = b[RNG] ? TT(RNG) : fv_tensor(NULL, 0);
    for (int bw = 0; !rc && bw <= backward; bw++) {
        rc = fv_graph_begin(p->g);
        if (!rc)
            rc = fv_attention_drop(p->g, &a, TT(Q), TT(K), TT(V), TT(O), TT(SQ), TT(SK), TT(PQ), TT(PK), TT(TAB), TT(LUT),
                                   TT(P), rate > 0 ? &dr : NULL, rng);
        if (!rc && bw)
            rc = fv_attention_back_drop(p->g, &a, TT(Q), TT(K), TT(V), TT(P), TT(O), TT(DO), TT(PQ), TT(PK), TT(LUT), TT(DQ),
                                        TT(DK), TT(DV), a.use_bias ? TT(DTAB) : fv_tensor(NULL, 0), TT(DP),
                                        a.use_bias ? TT(HIST) : fv_tensor(NULL, 0), rate > 0 ? &dr : NULL, rng);
        if (!rc) rc = fv_graph_end(p->g);
        if (!rc) rc = time_it(p, flops * (bw ? 3 : 1) * 1e-9, bw ? &ms_fb : &ms_f);
        cpu[bw] = p->cpu_ms;
    }
    if (!rc && drop_pass) {
        rc = fv_graph_begin(p->g);
        if (!rc) rc = fv_dropout(p->g, TT(P), TT(SEED), TT(PD), (uint32_t)pp, 0x105u, rate);
        if (!rc) rc = fv_graph_end(p->g);
        if (!rc) rc = time_it(p, 0, &ms_d);
        cpu[2] = p->cpu_ms;
    }
#undef TT
    if (!rc) {
        char shape[64], kind[48];
        snprintf(shape, sizeof shape, "B=%u Tq=%u Tk=%u H=%u%s%s", a.B, a.Tq, a.Tk, H, a.causal ? " causal" : "",
                 backward ? " 4/row" : "");
        row_ex(p, name, shape, count, ms_f, cpu[0], flops, 0, 0);
        snprintf(kind, sizeof kind, "%s bwd", name);
        if (backward) row_ex(p, kind, shape, count, ms_fb - ms_f, cpu[1] - cpu[0], 2 * flops, 0, 0);
        snprintf(kind, sizeof kind, "%s P drop", name);
        if (drop_pass) row_ex(p, kind, "fwd: P -> dropped P", count, ms_d, cpu[2], 0, 8.0 * pp, 1);
    }
    for (int i = 0; i < NB; i++) fv_buf_free(d, b[i]);
    return rc;
}

/* A decode step's attention as the step records it: the fused one-dispatch kernel
 * (ops/attn_decode.h; self-attention appends k and v, at a half-full cache) where it serves the
 * shape, else the general op with Tq = 1. */
static int prof_attn_decode(prof *p, const char *name, fv_attn_desc a, int kv_f16, uint32_t count) {
    fv_dev *d = p->d;
    fv_attn_dec_desc ad = {.B = a.B, .H = a.H, .dk = a.dk, .Tk = a.Tk, .self = a.use_bias, .use_bias = a.use_bias,
                           .num_buckets = 32, .lut_radius = 128, .kv_f16 = kv_f16};
    uint64_t nq = (uint64_t)a.B * a.H * a.dk, nk = nq * a.Tk;
    enum { Q, K, V, O, KN, VN, SK, STEP, TAB, LUT, NB };
    fv_buf *b[NB] = {0};
    int rc = fill(d, nq, "q", &b[Q]) || fill(d, nk, "k", &b[K]) || fill(d, nk, "v", &b[V]) || fill(d, nq, "o", &b[O]) ||
             fill(d, nq, "k new", &b[KN]) || fill(d, nq, "v new", &b[VN]) || fill(d, 32ull * a.H, "table", &b[TAB]) ||
             fv_buf_alloc(d, (uint64_t)a.B * a.Tk * 4, FV_MEM_DEVICE, "seg k", &b[SK]) || fv_buf_fill_u32(d, b[SK], 1) ||
             fv_buf_alloc(d, 4, FV_MEM_DEVICE, "step", &b[STEP]) || fv_buf_fill_u32(d, b[STEP], a.Tk / 2) ||
             fv_relpos_lut_create(d, 128, 0, 32, 128, &b[LUT]);
#define TT(i) fv_tensor(b[i], 0)
    if (!rc && !fv_attn_decode_ok(d, &ad, TT(Q), TT(K), TT(V), TT(O), TT(KN), TT(VN))) {
        for (int i = 0; i < NB; i++) fv_buf_free(d, b[i]);
        return prof_attn(p, name, a, 0, count, 0, 0);
    }
    /* `count` dispatches in one graph, as the step has one per layer: a graph of one would be
     * timed mostly as its submission and wait (the "graph replay" row) */
    double ms = 0;
    uint32_t n = count ? count : 1;
    if (!rc) rc = fv_graph_begin(p->g);
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = fv_attn_decode(p->g, &ad, TT(Q), TT(K), TT(V), TT(O), TT(SK), TT(STEP), TT(KN), TT(VN), TT(TAB), TT(LUT));
#undef TT
    if (!rc) rc = fv_graph_end(p->g);
    if (!rc) rc = time_it(p, 0, &ms);
    if (!rc) {
        ms /= n;
        p->cpu_ms /= n;
        char shape[64];
        snprintf(shape, sizeof shape, "B=%u Tk=%u H=%u fused%s%s", a.B, a.Tk, a.H, ad.self ? " + KV append" : "",
                 kv_f16 ? " f16" : "");
        row(p, name, shape, count, ms, 4.0 * a.B * a.H * a.Tk * a.dk);
    }
    for (int i = 0; i < NB; i++) fv_buf_free(d, b[i]);
    return rc;
}

static int prof_xent(prof *p, uint32_t rows, uint32_t V) {
    fv_buf *b[4] = {0};
    int rc = fill(p->d, (uint64_t)rows * V, "logits", &b[0]) || fv_buf_alloc(p->d, rows * 4ull, FV_MEM_DEVICE, "labels", &b[1]) ||
             fv_buf_fill_u32(p->d, b[1], 7) || fill(p->d, 2, "scale", &b[2]) || fill(p->d, rows, "loss", &b[3]);
    if (!rc) rc = fv_graph_begin(p->g);
    if (!rc)
        rc = fv_xent(p->g, fv_tensor(b[0], 0), fv_tensor(b[1], 0), fv_tensor(b[2], 0), fv_tensor(b[3], 0), fv_tensor(b[0], 0),
                     rows, V);
    if (!rc) rc = fv_graph_end(p->g);
    double ms = 0;
    if (!rc) rc = time_it(p, 0, &ms);
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u", rows, V);
    if (!rc) row(p, "cross-entropy", shape, 1, ms, 0);
    for (int i = 0; i < 4; i++) fv_buf_free(p->d, b[i]);
    return rc;
}

/* ---- the row ops of the training step (model/t5_train_fwd.c, t5_backward.c) ---- */

typedef struct {
    fv_buf *x, *y, *z, *w, *dw, *rs, *seed, *ids;
} rowbufs;

/* Ends the graph recorded by the caller, times it and reports `count` of it (bytes: minimal traffic). */
static int row_timed(prof *p, const char *kind, const char *shape, uint32_t count, double bytes) {
    FV_TRY(fv_graph_end(p->g));
    double ms = 0;
    FV_TRY(time_graph(p, 1, 3, 0.2, &ms));
    row_ex(p, kind, shape, count, ms, p->cpu_ms, 0, bytes, 0);
    return 0;
}

#define X0(b) fv_tensor(b, 0)

/* What one kind of row op costs at [rows, cols] (n = rows * cols elements), `count` times. */
enum { K_NORM, K_NORM_BACK, K_ACT, K_ACT_BACK, K_COPY, K_DROP_ADD, K_DROP, K_EMB, K_EMB_BACK };

static int prof_row_kind(prof *p, const rowbufs *b, int kind, uint32_t rows, uint32_t cols, uint32_t count, float rate,
                         int gated, const fv_t5 *m, const fv_rowsplit *dtable) {
    static const char *names[] = {"rmsnorm",     "rmsnorm bwd",   "ff act",    "ff act bwd", "residual copy",
                                  "dropout add", "dropout",       "embedding", "embedding bwd"};
    static const double passes[] = {2, 4, 3, 5, 2, 3, 2, 2, 3};
    if (!count) return 0;
    uint32_t n = rows * cols;
    FV_TRY(fv_graph_begin(p->g));
    switch (kind) {
    case K_NORM: FV_TRY(fv_rmsnorm(p->g, X0(b->x), X0(b->w), X0(b->y), rows, cols, 1e-6f)); break;
    case K_NORM_BACK:
        FV_TRY(fv_rmsnorm_back(p->g, X0(b->x), X0(b->w), X0(b->y), X0(b->z), X0(b->dw), X0(b->rs), rows, cols, 1e-6f, 1));
        break;
    case K_ACT:
        /* the feed-forward dropout is fused into the activation, as in the step */
        FV_TRY(fv_ff_act_fwd_drop(p->g, gated ? FV_FF_GELU_TANH : FV_FF_RELU, X0(b->x), gated ? 2 * cols : cols,
                                  gated ? fv_tensor(b->x, cols) : X0(NULL), gated ? 2 * cols : 0, X0(b->y), 0, rows, cols,
                                  (fv_ff_drop){X0(b->seed), 0x102u, rate}));
        break;
    case K_ACT_BACK:
        FV_TRY(fv_ff_act_back_drop(p->g, gated ? FV_FF_GELU_TANH : FV_FF_RELU, X0(b->x), gated ? 2 * cols : cols,
                                   gated ? fv_tensor(b->x, cols) : X0(NULL), gated ? 2 * cols : 0, X0(b->y), 0, X0(b->z),
                                   gated ? 2 * cols : cols, gated ? fv_tensor(b->z, cols) : X0(NULL), gated ? 2 * cols : 0,
                                   rows, cols, (fv_ff_drop){X0(b->seed), 0x102u, rate}));
        break;
    case K_COPY: FV_TRY(fv_graph_copy(p->g, b->x, 0, b->y, 0, (uint64_t)n * 4)); break;
    case K_DROP_ADD: FV_TRY(fv_dropout_add(p->g, X0(b->y), X0(b->x), X0(b->seed), n, 0x103u, rate)); break;
    case K_DROP: FV_TRY(fv_dropout(p->g, X0(b->x), X0(b->seed), X0(b->y), n, 0x102u, rate)); break;
    case K_EMB: FV_TRY(fv_t5_embed(p->g, m, X0(b->ids), X0(b->y), rows)); break;
    default: FV_TRY(fv_rowsplit_embedding_back(p->g, X0(b->ids), X0(b->x), dtable, rows)); break;
    }
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u", rows, cols);
    return row_timed(p, names[kind], shape, count, passes[kind] * 4.0 * n);
}

/* Every row op of one step at its shapes and counts; `rate` is the step's dropout rate. */
static int prof_rows(prof *p, fv_t5 *m, uint32_t B, uint32_t Te, uint32_t Td, float rate) {
    const fv_t5_config *c = &m->cfg;
    uint32_t D = (uint32_t)c->d_model, F = (uint32_t)c->d_ff, V = (uint32_t)c->vocab_size, gated = c->is_gated_act != 0;
    uint32_t Le = (uint32_t)c->num_layers, Ld = (uint32_t)c->num_decoder_layers, Ne = B * Te, Nd = B * Td;
    uint32_t nmax = Ne > Nd ? Ne : Nd, wmax = 2 * (F > D ? F : D), dr = rate > 0;
    rowbufs b = {0};
    fv_t5_grads *gr = NULL;
    fv_gradnorm_plan *plan = NULL;
    fv_buf *scr = NULL, *norm = NULL, *lab = NULL;
    int rc = fill(p->d, (uint64_t)nmax * wmax, "rows x", &b.x) || fill(p->d, (uint64_t)nmax * wmax, "rows y", &b.y) ||
             fill(p->d, (uint64_t)nmax * wmax, "rows z", &b.z) || fill(p->d, wmax, "rows w", &b.w) ||
             fill(p->d, wmax, "rows dw", &b.dw) || fill(p->d, nmax, "rows r", &b.rs) ||
             fv_buf_alloc(p->d, 4, FV_MEM_DEVICE, "seed", &b.seed) || fv_buf_fill_u32(p->d, b.seed, 12345) ||
             fv_buf_alloc(p->d, (uint64_t)nmax * 4, FV_MEM_DEVICE, "ids", &b.ids);
    uint32_t *ids = rc ? NULL : malloc((size_t)nmax * 4);
    if (!rc && !ids) rc = fv_err("profile: out of host memory");
    for (uint32_t i = 0; !rc && i < nmax; i++) ids[i] = 3 + (uint32_t)(((uint64_t)i * 7919u) % (V - 3));
    if (!rc) rc = fv_buf_write(p->d, b.ids, 0, ids, (uint64_t)nmax * 4);
    if (!rc) rc = fv_buf_fill_u32(p->d, b.rs, 0x3f800000u);
    free(ids);
    if (!rc) rc = fv_t5_grads_create(m, &gr);
    struct { int kind; uint32_t rows, cols, count; } list[] = {
        {K_NORM, Ne, D, 2 * Le + 1},       {K_NORM, Nd, D, 3 * Ld + 1},
        {K_NORM_BACK, Ne, D, 2 * Le + 1},  {K_NORM_BACK, Nd, D, 3 * Ld + 1},
        {K_ACT, Ne, F, Le},                {K_ACT, Nd, F, Ld},
        {K_ACT_BACK, Ne, F, Le},           {K_ACT_BACK, Nd, F, Ld},
        {K_COPY, Ne, D, 2 * Le},           {K_COPY, Nd, D, 3 * Ld},
        {K_DROP_ADD, Ne, D, dr * 2 * Le},  {K_DROP_ADD, Nd, D, dr * 3 * Ld},
        /* [rows, d_model]: embedding and final-norm outputs (forward), the final norm's gradient and
         * every sublayer's output gradient (backward); the feed-forward's own is fused into "ff act" */
        {K_DROP, Ne, D, dr * (2 * Le + 4)}, {K_DROP, Nd, D, dr * (3 * Ld + 4)},
        {K_EMB, Ne, D, 1},                 {K_EMB, Nd, D, 1},
        {K_EMB_BACK, Ne, D, 1},            {K_EMB_BACK, Nd, D, 1},
    };
    for (size_t i = 0; !rc && i < sizeof list / sizeof list[0]; i++)
        rc = prof_row_kind(p, &b, list[i].kind, list[i].rows, list[i].cols, list[i].count, rate, gated, m, &gr->shared);
    /* the loss reductions around the head (token count, loss sum) */
    if (!rc) rc = fv_buf_alloc(p->d, (uint64_t)Nd * 4, FV_MEM_DEVICE, "labels", &lab) || fv_buf_fill_u32(p->d, lab, 7);
    if (!rc) rc = fv_graph_begin(p->g);
    if (!rc) rc = fv_xent_count(p->g, X0(lab), X0(b.dw), Nd, V);
    if (!rc) rc = fv_xent_sum(p->g, X0(b.rs), X0(lab), X0(b.w), Nd, V);
    char shape[64];
    snprintf(shape, sizeof shape, "%u tokens", Nd);
    if (!rc) rc = row_timed(p, "loss count + sum", shape, 1, 0);
    /* zeroing every gradient buffer, then the global gradient norm over all of them */
    snprintf(shape, sizeof shape, "%.1fM values", m->nvalues / 1e6);
    if (!rc) rc = fv_graph_begin(p->g);
    if (!rc) rc = fv_t5_grads_zero(p->g, gr);
    if (!rc) rc = row_timed(p, "zero grads", shape, 1, 4.0 * m->nvalues);
    if (!rc) rc = fv_t5_grads_norm_plan(gr, &plan);
    if (!rc) rc = fill(p->d, fv_gradnorm_scratch_size(plan), "norm scratch", &scr) || fill(p->d, 4, "norm", &norm);
    if (!rc) rc = fv_graph_begin(p->g);
    if (!rc) rc = fv_gradnorm(p->g, plan, X0(scr), X0(norm));
    if (!rc) rc = row_timed(p, "grad norm", shape, 1, 4.0 * m->nvalues);
    if (plan) fv_gradnorm_plan_destroy(p->d, plan);
    fv_buf *all[] = {b.x, b.y, b.z, b.w, b.dw, b.rs, b.seed, b.ids, scr, norm, lab};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) fv_buf_free(p->d, all[i]);
    fv_t5_grads_free(gr);
    return rc;
}

#undef X0

/* The step again (zeroing, forward, loss, backward, gradient norm; not the optimizer), recorded
 * here on its own buffers and replayed twice, so the rows are set against a step timed in the
 * same stretch of machine load (wall and CPU time); the batch: 4 packed examples per row. */
/* The whole recorded step (ms, cpu) and, where the step makes them, its transposed forward weight
 * copies alone (copies_ms, copies_cpu; 0 where it makes none). */
static int prof_step(prof *p, fv_t5 *m, uint32_t B, uint32_t Te, uint32_t Td, double *ms, double *cpu,
                     double *copies_ms, double *copies_cpu) {
    fv_dev *d = m->d;
    fv_t5_grads *gr = NULL;
    fv_t5_train *t = NULL;
    fv_gradnorm_plan *plan = NULL;
    fv_buf *scr = NULL, *norm = NULL;
    fv_graph *g = NULL;
    size_t ne = (size_t)B * Te, nd = (size_t)B * Td, nmax = ne > nd ? ne : nd;
    uint32_t V = (uint32_t)m->cfg.vocab_size;
    int32_t *h = malloc(nmax * 4 * 6);
    int rc = h ? 0 : fv_err("profile: out of host memory");
    if (!rc) rc = fv_t5_grads_create(m, &gr);
    if (!rc) rc = fv_t5_train_create(m, gr, B, Te, Td, -1.0f, &t);
    for (int s = 0; !rc && s < 2; s++) { /* encoder, then decoder: ids, segments, positions, labels */
        uint32_t T = s ? Td : Te, n = s ? (uint32_t)nd : (uint32_t)ne, seglen = (T + 3) / 4;
        int32_t *ids = h, *seg = h + nmax, *pos = h + 2 * nmax, *lab = h + 3 * nmax;
        for (uint32_t i = 0; i < n; i++) {
            seg[i] = (int32_t)((i % T) / seglen + 1);
            pos[i] = (int32_t)((i % T) % seglen);
            lab[i] = (int32_t)(3 + ((uint64_t)i * 7919u) % (V - 200));
            ids[i] = s && pos[i] == 0 ? (int32_t)m->cfg.decoder_start_token_id : lab[i];
        }
        fv_t5_batch *in = &t->in;
        rc = fv_buf_write(d, s ? in->dec_ids : in->enc_ids, 0, ids, n * 4ull) ||
             fv_buf_write(d, s ? in->dec_seg : in->enc_seg, 0, seg, n * 4ull) ||
             fv_buf_write(d, s ? in->dec_pos : in->enc_pos, 0, pos, n * 4ull) ||
             (s && fv_buf_write(d, in->labels, 0, lab, n * 4ull));
    }
    free(h);
    if (!rc) rc = fv_t5_train_set_seed(t, 1);
    if (!rc) rc = fv_t5_grads_norm_plan(gr, &plan);
    if (!rc) rc = fill(d, fv_gradnorm_scratch_size(plan), "norm scratch", &scr) || fill(d, 4, "norm", &norm);
    if (!rc) rc = fv_graph_create(d, &g);
    if (!rc) rc = fv_graph_begin(g);
    if (!rc) rc = fv_t5_train_record(g, t, 1);
    if (!rc) rc = fv_gradnorm(g, plan, fv_tensor(scr, 0), fv_tensor(norm, 0));
    if (!rc) rc = fv_graph_end(g);
    fv_graph *mine = p->g;
    p->g = g;
    if (!rc) rc = time_graph(p, 0, 2, 0, ms);
    *cpu = p->cpu_ms;
    *copies_ms = *copies_cpu = 0;
    if (!rc && t->enc_t) {
        rc = fv_graph_begin(g) || fv_t5_train_fwd_copies(g, t) || fv_graph_end(g) || time_graph(p, 1, 2, 0.1, copies_ms);
        *copies_cpu = p->cpu_ms;
    }
    p->g = mine;
    fv_graph_destroy(g);
    if (plan) fv_gradnorm_plan_destroy(d, plan);
    fv_buf_free(d, scr);
    fv_buf_free(d, norm);
    fv_t5_train_free(t);
    fv_t5_grads_free(gr);
    return rc;
}

/* The cost of one graph replay that does almost nothing: submit + wait. */
static int prof_replay(prof *p, uint32_t count) {
    fv_buf *b = NULL;
    FV_TRY(fill(p->d, 64, "replay", &b));
    int rc = fv_graph_begin(p->g);
    if (!rc) rc = fv_graph_fill(p->g, b, 0);
    if (!rc) rc = fv_graph_end(p->g);
    double ms = 0;
    if (!rc) rc = time_graph(p, 1, 20, 0.1, &ms);
    if (!rc) row(p, "graph replay", "submit + wait, 1 fill", count, ms, 0);
    fv_buf_free(p->d, b);
    return rc;
}

static void finish(prof *p, const char *rest) {
    double other = p->step_ms - p->sum_ms, cpu = p->step_cpu_ms - p->sum_cpu_ms;
    if (p->json)
        fprintf(p->f,
                "{\"profile\": \"%s\", \"kind\": \"rest\", \"shape\": \"%s\", \"ms_total\": %.3f, \"pct_step\": %.2f, "
                "\"step_ms\": %.3f, \"step_cpu_ms\": %.3f, \"rest_cpu_ms\": %.3f, \"graph_best_ms\": %.3f, "
                "\"graph_mean_ms\": %.3f}\n",
                p->what, rest, other, 100.0 * other / p->step_ms, p->step_ms, p->step_cpu_ms, p->step_cpu_ms > 0 ? cpu : 0,
                p->graph_best_ms, p->graph_mean_ms);
    else {
        fprintf(p->f, "  %-21s %-39s %23.2f ms %6.1f%%\n  measured step: %.2f ms\n", "rest", rest, other,
                100.0 * other / p->step_ms, p->step_ms);
        if (p->graph_best_ms > 0)
            fprintf(p->f, "  the step's graph replayed alone: best %.2f ms, mean %.2f ms (the measured step less these: "
                          "the host's share; mean less best: the machine's jitter)\n", p->graph_best_ms, p->graph_mean_ms);
        if (p->step_cpu_ms > 0)
            fprintf(p->f, "  in CPU time (load-independent, optimizer excluded): step %.1f ms, rows %.1f ms, rest %.1f ms (%.1f%%)\n",
                    p->step_cpu_ms, p->sum_cpu_ms, cpu, 100.0 * cpu / p->step_cpu_ms);
    }
    fflush(p->f);
}

static int begin(prof *p, fv_dev *d, FILE *f, int json, const char *what, double step_ms) {
    *p = (prof){.d = d, .f = f, .json = json, .what = what, .step_ms = step_ms};
    if (!json) fprintf(f, "profile of one %s step (%.2f ms), each op kind timed alone at the step's shapes:\n", what, step_ms);
    return fv_graph_create(d, &p->g);
}

int fv_bench_profile_train(fv_t5 *m, uint32_t B, uint32_t Te, uint32_t Td, double step_ms, double optimizer_ms, FILE *f,
                           int json) {
    const fv_t5_config *c = &m->cfg;
    uint32_t D = (uint32_t)c->d_model, in = m->inner, F = (uint32_t)c->d_ff, FF = (c->is_gated_act ? 2 : 1) * F;
    uint32_t V = (uint32_t)c->vocab_size, Le = (uint32_t)c->num_layers, Ld = (uint32_t)c->num_decoder_layers;
    uint32_t Ne = B * Te, Nd = B * Td;
    fv_attn_desc enc = {.B = B, .Tq = Te, .Tk = Te, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv, .use_bias = 1};
    fv_attn_desc dself = enc, cross = enc;
    dself.Tq = dself.Tk = Td;
    dself.causal = 1;
    cross.Tq = Td;
    cross.use_bias = 0;
    float rate = (float)c->dropout_rate; /* bench train runs the config's rate */
    prof p;
    double again = 0, again_cpu = 0;
    FV_TRY(begin(&p, m->d, f, json, "train", step_ms));
    double copies_ms = 0, copies_cpu = 0;
    int rs = prof_step(&p, m, B, Te, Td, &again, &again_cpu, &copies_ms, &copies_cpu);
    if (rs) {
        fv_graph_destroy(p.g);
        return rs;
    }
    /* the faster of the bench's step and the one timed here (other load on the machine only slows) */
    if (again + optimizer_ms < p.step_ms) p.step_ms = again + optimizer_ms;
    p.step_cpu_ms = again_cpu;
    if (!json)
        fprintf(f, "  step re-timed here: %.2f ms (CPU %.1f ms) + optimizer %.2f ms; percentages of %.2f ms\n", again,
                again_cpu, optimizer_ms, p.step_ms);
    int rc = prof_linear(&p, "enc qkv", Ne, D, 3 * in, Le, 1) || prof_linear(&p, "enc o", Ne, in, D, Le, 1) ||
             prof_linear(&p, "enc wi", Ne, D, FF, Le, 1) || prof_linear(&p, "enc wo", Ne, F, D, Le, 1) ||
             prof_linear(&p, "dec qkv", Nd, D, 3 * in, Ld, 1) || prof_linear(&p, "dec o, co", Nd, in, D, 2 * Ld, 1) ||
             prof_linear(&p, "dec cq", Nd, D, in, Ld, 1) || prof_linear(&p, "dec ckv", Ne, D, 2 * in, Ld, 1) ||
             prof_linear(&p, "dec wi", Nd, D, FF, Ld, 1) || prof_linear(&p, "dec wo", Nd, F, D, Ld, 1) ||
             prof_linear(&p, "lm head", Nd, D, V, 1, 1) || prof_attn(&p, "enc attn", enc, 1, Le, 1, rate) ||
             prof_attn(&p, "dec self attn", dself, 0, Ld, 1, rate) || prof_attn(&p, "dec cross attn", cross, 0, Ld, 1, rate) ||
             prof_xent(&p, Nd, V) || prof_rows(&p, m, B, Te, Td, rate) || prof_replay(&p, 1);
    if (!rc && copies_ms > 0) row_ex(&p, "weight W^T copies", "forward operands, each step", 1, copies_ms, copies_cpu, 0, 0, 0);
    if (!rc) row_ex(&p, "optimizer", "measured in the step", 1, optimizer_ms, -1, 0, 0, 0);
    if (!rc) finish(&p, "whole graph vs ops alone, host");
    fv_graph_destroy(p.g);
    return rc;
}

int fv_bench_profile_decode(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, double step_ms, double prefill_ms,
                            double graph_best_ms, double graph_mean_ms, FILE *f, int json) {
    const fv_t5_config *c = &m->cfg;
    uint32_t Le = (uint32_t)c->num_layers, Ld = (uint32_t)c->num_decoder_layers, Ne = R * Te;
    fv_attn_desc self = {.B = R, .Tq = 1, .Tk = tmax, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv, .use_bias = 1};
    fv_attn_desc cross = self, enc = self;
    cross.Tk = Te;
    cross.use_bias = 0;
    enc.Tq = enc.Tk = Te;
    prof p;
    FV_TRY(begin(&p, m->d, f, json, "decode", step_ms));
    p.graph_best_ms = graph_best_ms;
    p.graph_mean_ms = graph_mean_ms;
    int rc = prof_model_linear(&p, m, "qkv", 1, FV_T5_QKV, FV_T5_QKV, R) ||
             prof_model_linear(&p, m, "o, co", 1, FV_T5_O, FV_T5_CO, R) ||
             prof_model_linear(&p, m, "cq", 1, FV_T5_CQ, FV_T5_CQ, R) || prof_model_linear(&p, m, "wi", 1, FV_T5_WI, FV_T5_WI, R) ||
             prof_model_linear(&p, m, "wo", 1, FV_T5_WO, FV_T5_WO, R) || prof_model_head(&p, m, R) ||
             prof_attn_decode(&p, "self attn", self, m->kv_f16, Ld) ||
             prof_attn_decode(&p, "cross attn", cross, m->kv_f16, Ld) || prof_replay(&p, 1);
    if (!rc) finish(&p, "norms, GELU, embedding, upload, read-back");
    fv_graph_destroy(p.g);
    if (rc) return rc;
    FV_TRY(begin(&p, m->d, f, json, "prefill", prefill_ms));
    rc = prof_model_linear(&p, m, "enc qkv", 0, FV_T5_QKV, FV_T5_QKV, Ne) || prof_model_linear(&p, m, "enc o", 0, FV_T5_O, FV_T5_O, Ne) ||
         prof_model_linear(&p, m, "enc wi", 0, FV_T5_WI, FV_T5_WI, Ne) || prof_model_linear(&p, m, "enc wo", 0, FV_T5_WO, FV_T5_WO, Ne) ||
         prof_model_linear(&p, m, "dec ckv", 1, FV_T5_CKV, FV_T5_CKV, Ne) || prof_attn(&p, "enc attn", enc, 1, Le, 0, 0);
    if (!rc) finish(&p, "norms, GELU, embedding, upload");
    fv_graph_destroy(p.g);
    return rc;
}
