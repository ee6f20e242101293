/* Where the time of a training step or a decode step goes, per op kind (`--profile` of bench train
 * and bench generate). The recorded step is one graph with no per-dispatch timing, so instead each
 * op kind of the step is timed on its own at the step's exact shapes (one graph per op and shape,
 * replayed), multiplied by how many times the step runs it, and set against the measured step:
 * what is left is the rest (RMSNorm, GELU, embedding, dropout, residual adds, KV appends, gradient
 * norm, uploads, read-backs and the host's work) plus what the whole graph loses or gains over
 * separate ones. Inputs are constants, like bench ops. */
#include <stdlib.h>
#include <string.h>

#include "bench/bench_model.h"
#include "ops/attention.h"
#include "ops/gemm.h"
#include "ops/relpos.h"
#include "ops/xent.h"

typedef struct {
    fv_dev *d;
    fv_graph *g;
    FILE *f;
    int json;
    const char *what;   /* "train", "decode", "prefill" */
    double step_ms;     /* the measured step, for percentages */
    double sum_ms;
} prof;

static int fill(fv_dev *d, uint64_t n, const char *what, fv_buf **b) {
    FV_TRY(fv_buf_alloc(d, (n ? n : 1) * 4, FV_MEM_DEVICE, what, b));
    return fv_buf_fill_u32(d, *b, 0x3c23d70au);
}

static void row(prof *p, const char *kind, const char *shape, uint32_t count, double ms, double flops) {
    double total = ms * count, pct = p->step_ms > 0 ? 100.0 * total / p->step_ms : 0;
    p->sum_ms += total;
    if (p->json)
        fprintf(p->f,
                "{\"profile\": \"%s\", \"kind\": \"%s\", \"shape\": \"%s\", \"count\": %u, \"ms_each\": %.4f, "
                "\"ms_total\": %.3f, \"pct_step\": %.2f, \"gflops\": %.3f}\n",
                p->what, kind, shape, count, ms, total, pct, flops > 0 ? flops / (ms * 1e6) : 0);
    else
        fprintf(p->f, "  %-18s %-34s x%-3u %9.3f ms %10.2f ms %6.1f%%  %7.2f GFLOP/s\n", kind, shape, count, ms, total, pct,
                flops > 0 ? flops / (ms * 1e6) : 0);
    fflush(p->f);
}

static int time_it(prof *p, double gflop, double *ms) {
    if (gflop > 20) return fv_bench_graph_time(p->g, 0, 1, 0, ms);
    return fv_bench_graph_time(p->g, 1, 2, 0.1, ms);
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

/* A linear layer of `rows` tokens, in -> out: forward, and with backward its dx and dW products. */
static int prof_linear(prof *p, const char *name, uint32_t rows, uint32_t in, uint32_t out, uint32_t count, int backward) {
    char kind[48];
    snprintf(kind, sizeof kind, "%s", name);
    FV_TRY(prof_gemm(p, kind, rows, out, in, 0, 1, count));
    if (!backward) return 0;
    snprintf(kind, sizeof kind, "%s dx", name);
    FV_TRY(prof_gemm(p, kind, rows, in, out, 0, 0, count));
    snprintf(kind, sizeof kind, "%s dW", name);
    return prof_gemm(p, kind, out, in, rows, 1, 0, count);
}

/* Attention (forward; with backward also forward + backward, the backward reported as the difference). */
static int prof_attn(prof *p, const char *name, fv_attn_desc a, int bidirectional, uint32_t count, int backward) {
    fv_dev *d = p->d;
    uint32_t H = a.H, nb = 32, L = 128;
    uint64_t nq = (uint64_t)a.B * a.Tq * H * a.dk, nk = (uint64_t)a.B * a.Tk * H * a.dk, pp = (uint64_t)a.B * H * a.Tq * a.Tk;
    enum { Q, K, V, O, P, DO, DQ, DK, DV, DP, HIST, TAB, DTAB, SQ, SK, PQ, PK, LUT, NB };
    fv_buf *b[NB] = {0};
    int rc = fill(d, nq, "q", &b[Q]) || fill(d, nk, "k", &b[K]) || fill(d, nk, "v", &b[V]) || fill(d, nq, "o", &b[O]) ||
             fill(d, pp, "p", &b[P]) || fill(d, (uint64_t)nb * H, "table", &b[TAB]);
    if (!rc && backward)
        rc = fill(d, nq, "do", &b[DO]) || fill(d, nq, "dq", &b[DQ]) || fill(d, nk, "dk", &b[DK]) ||
             fill(d, nk, "dv", &b[DV]) || fill(d, pp, "dp", &b[DP]) ||
             fill(d, (uint64_t)a.B * H * a.Tq * nb, "hist", &b[HIST]) || fill(d, (uint64_t)nb * H, "dtable", &b[DTAB]);
    uint32_t nmax = a.B * (a.Tq > a.Tk ? a.Tq : a.Tk);
    int32_t *host = malloc((size_t)nmax * 4);
    if (!rc && !host) rc = fv_err("profile: out of host memory");
    rc = rc || fv_buf_alloc(d, (uint64_t)a.B * a.Tq * 4, FV_MEM_DEVICE, "seg q", &b[SQ]) ||
         fv_buf_alloc(d, (uint64_t)a.B * a.Tk * 4, FV_MEM_DEVICE, "seg k", &b[SK]) ||
         fv_buf_alloc(d, (uint64_t)a.B * a.Tq * 4, FV_MEM_DEVICE, "pos q", &b[PQ]) ||
         fv_buf_alloc(d, (uint64_t)a.B * a.Tk * 4, FV_MEM_DEVICE, "pos k", &b[PK]) || fv_buf_fill_u32(d, b[SQ], 1) ||
         fv_buf_fill_u32(d, b[SK], 1);
    for (int s = 0; !rc && s < 2; s++) {
        uint32_t T = s ? a.Tk : a.Tq;
        for (uint32_t i = 0; i < a.B * T; i++) host[i] = (int32_t)(i % T);
        rc = fv_buf_write(d, b[s ? PK : PQ], 0, host, (uint64_t)a.B * T * 4);
    }
    free(host);
    if (!rc) rc = fv_relpos_lut_create(d, L, bidirectional, nb, 128, &b[LUT]);
    a.num_buckets = nb;
    a.lut_radius = L;
    double flops = 4.0 * a.B * H * a.Tq * a.Tk * a.dk, ms_f = 0, ms_fb = 0;
#define TT(i) fv_tensor(b[i], 0)
    for (int bw = 0; !rc && bw <= backward; bw++) {
        rc = fv_graph_begin(p->g);
        if (!rc)
            rc = fv_attention(p->g, &a, TT(Q), TT(K), TT(V), TT(O), TT(SQ), TT(SK), TT(PQ), TT(PK), TT(TAB), TT(LUT), TT(P));
        if (!rc && bw)
            rc = fv_attention_back(p->g, &a, TT(Q), TT(K), TT(V), TT(P), TT(DO), TT(PQ), TT(PK), TT(LUT), TT(DQ), TT(DK),
                                   TT(DV), a.use_bias ? TT(DTAB) : fv_tensor(NULL, 0), TT(DP),
                                   a.use_bias ? TT(HIST) : fv_tensor(NULL, 0));
        if (!rc) rc = fv_graph_end(p->g);
        if (!rc) rc = time_it(p, flops * (bw ? 3 : 1) * 1e-9, bw ? &ms_fb : &ms_f);
    }
#undef TT
    if (!rc) {
        char shape[64], kind[48];
        snprintf(shape, sizeof shape, "B=%u Tq=%u Tk=%u H=%u%s", a.B, a.Tq, a.Tk, H, a.causal ? " causal" : "");
        row(p, name, shape, count, ms_f, flops);
        snprintf(kind, sizeof kind, "%s bwd", name);
        if (backward) row(p, kind, shape, count, ms_fb - ms_f, 2 * flops);
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

/* The cost of one graph replay that does almost nothing: submit + wait. */
static int prof_replay(prof *p, uint32_t count) {
    fv_buf *b = NULL;
    FV_TRY(fill(p->d, 64, "replay", &b));
    int rc = fv_graph_begin(p->g);
    if (!rc) rc = fv_graph_fill(p->g, b, 0);
    if (!rc) rc = fv_graph_end(p->g);
    double ms = 0;
    if (!rc) rc = fv_bench_graph_ms(p->g, 20, 0.1, &ms);
    if (!rc) row(p, "graph replay", "submit + wait, 1 fill", count, ms, 0);
    fv_buf_free(p->d, b);
    return rc;
}

static void finish(prof *p, const char *rest) {
    double other = p->step_ms - p->sum_ms;
    if (p->json)
        fprintf(p->f, "{\"profile\": \"%s\", \"kind\": \"rest\", \"shape\": \"%s\", \"ms_total\": %.3f, \"pct_step\": %.2f}\n",
                p->what, rest, other, 100.0 * other / p->step_ms);
    else
        fprintf(p->f, "  %-18s %-39s %23.2f ms %6.1f%%\n  measured step: %.2f ms\n", "rest", rest, other,
                100.0 * other / p->step_ms, p->step_ms);
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
    prof p;
    FV_TRY(begin(&p, m->d, f, json, "train", step_ms));
    int rc = prof_linear(&p, "enc qkv", Ne, D, 3 * in, Le, 1) || prof_linear(&p, "enc o", Ne, in, D, Le, 1) ||
             prof_linear(&p, "enc wi", Ne, D, FF, Le, 1) || prof_linear(&p, "enc wo", Ne, F, D, Le, 1) ||
             prof_linear(&p, "dec qkv", Nd, D, 3 * in, Ld, 1) || prof_linear(&p, "dec o, co", Nd, in, D, 2 * Ld, 1) ||
             prof_linear(&p, "dec cq", Nd, D, in, Ld, 1) || prof_linear(&p, "dec ckv", Ne, D, 2 * in, Ld, 1) ||
             prof_linear(&p, "dec wi", Nd, D, FF, Ld, 1) || prof_linear(&p, "dec wo", Nd, F, D, Ld, 1) ||
             prof_linear(&p, "lm head", Nd, D, V, 1, 1) || prof_attn(&p, "enc attn", enc, 1, Le, 1) ||
             prof_attn(&p, "dec self attn", dself, 0, Ld, 1) || prof_attn(&p, "dec cross attn", cross, 0, Ld, 1) ||
             prof_xent(&p, Nd, V);
    if (!rc) row(&p, "optimizer", "measured in the step", 1, optimizer_ms, 0);
    if (!rc) finish(&p, "norms, GELU, embedding, dropout, ...");
    fv_graph_destroy(p.g);
    return rc;
}

int fv_bench_profile_decode(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, double step_ms, double prefill_ms, FILE *f,
                            int json) {
    const fv_t5_config *c = &m->cfg;
    uint32_t D = (uint32_t)c->d_model, in = m->inner, F = (uint32_t)c->d_ff, FF = (c->is_gated_act ? 2 : 1) * F;
    uint32_t V = (uint32_t)c->vocab_size, Le = (uint32_t)c->num_layers, Ld = (uint32_t)c->num_decoder_layers, Ne = R * Te;
    fv_attn_desc self = {.B = R, .Tq = 1, .Tk = tmax, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv, .use_bias = 1};
    fv_attn_desc cross = self, enc = self;
    cross.Tk = Te;
    cross.use_bias = 0;
    enc.Tq = enc.Tk = Te;
    prof p;
    FV_TRY(begin(&p, m->d, f, json, "decode", step_ms));
    int rc = prof_linear(&p, "qkv", R, D, 3 * in, Ld, 0) || prof_linear(&p, "o, co", R, in, D, 2 * Ld, 0) ||
             prof_linear(&p, "cq", R, D, in, Ld, 0) || prof_linear(&p, "wi", R, D, FF, Ld, 0) ||
             prof_linear(&p, "wo", R, F, D, Ld, 0) || prof_linear(&p, "lm head", R, D, V, 1, 0) ||
             prof_attn(&p, "self attn", self, 0, Ld, 0) || prof_attn(&p, "cross attn", cross, 0, Ld, 0) ||
             prof_replay(&p, 1);
    if (!rc) finish(&p, "norms, GELU, KV append, upload, read-back");
    fv_graph_destroy(p.g);
    if (rc) return rc;
    FV_TRY(begin(&p, m->d, f, json, "prefill", prefill_ms));
    rc = prof_linear(&p, "enc qkv", Ne, D, 3 * in, Le, 0) || prof_linear(&p, "enc o", Ne, in, D, Le, 0) ||
         prof_linear(&p, "enc wi", Ne, D, FF, Le, 0) || prof_linear(&p, "enc wo", Ne, F, D, Le, 0) ||
         prof_linear(&p, "dec ckv", Ne, D, 2 * in, Ld, 0) || prof_attn(&p, "enc attn", enc, 1, Le, 0);
    if (!rc) finish(&p, "norms, GELU, embedding, upload");
    fv_graph_destroy(p.g);
    return rc;
}
