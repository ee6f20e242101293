/* Host side of T5 attention: shape checks, the four batched GEMMs of the forward and backward
 * (ops/gemm.h), the fused softmax kernels (shaders/attn_softmax*.comp) and, in training, dropout
 * on the probabilities (ops/dropout.h kernels on the score matrix). See attention.h. */
#include "ops/attention.h"

#include <string.h>

#include "ops/attn_fused.h"
#include "ops/attn_ranges.h"
#include "ops/dropout.h"
#include "ops/gemm.h"
#include "ops/relpos.h"

/* Shape sanity shared by every entry point; also guarantees all offsets fit the shaders' uint. */
static int check_desc(const char *op, const fv_attn_desc *a) {
    if (!a) return fv_err("%s: null descriptor", op);
    if (!a->B || !a->Tq || !a->Tk || !a->H || !a->dk)
        return fv_err("%s: empty shape B=%u Tq=%u Tk=%u H=%u dk=%u", op, a->B, a->Tq, a->Tk, a->H, a->dk);
    uint64_t hd = (uint64_t)a->H * a->dk;
    const uint32_t st[4] = {a->q_stride, a->k_stride, a->v_stride, a->o_stride};
    const char *nm[4] = {"q", "k", "v", "o"};
    for (int i = 0; i < 4; i++)
        if (st[i] && st[i] < hd) return fv_err("%s: %s token stride %u is less than H*dk = %llu", op, nm[i], st[i], (unsigned long long)hd);
    uint64_t rows = (uint64_t)a->B * a->H * a->Tq;
    if (rows * a->Tk >= (1ull << 32) || hd >= (1ull << 32)) return fv_err("%s: score matrix exceeds 2^32 elements", op);
    if (a->use_bias) {
        if (!a->num_buckets || a->num_buckets > 4096) return fv_err("%s: %u buckets is not supported", op, a->num_buckets);
        if (!a->lut_radius || a->lut_radius > (1u << 24)) return fv_err("%s: bad LUT radius %u", op, a->lut_radius);
        if (rows * a->num_buckets >= (1ull << 32)) return fv_err("%s: bias histogram exceeds 2^32 elements", op);
    }
    return 0;
}

/* A [B, T, H, dk] tensor with token stride s needs (B*T - 1)*s + H*dk elements of `bytes`. */
static int check_tokens_b(const char *op, const char *arg, const fv_attn_desc *a, fv_t t, uint32_t T, uint32_t s,
                          uint32_t bytes) {
    uint64_t n = ((uint64_t)a->B * T - 1) * fv_attn_stride(a, s) + (uint64_t)a->H * a->dk;
    if (n >= (1ull << 32)) return fv_err("%s: %s spans more than 2^32 elements", op, arg);
    return fv_op_check(op, arg, t, n, bytes);
}
static int check_tokens(const char *op, const char *arg, const fv_attn_desc *a, fv_t t, uint32_t T, uint32_t s) {
    return check_tokens_b(op, arg, a, t, T, s, 4);
}

int fv_attn_kv_f16_supported(const fv_dev *d) { return d && d->fp16; }

static int check_bias_inputs(const char *op, const fv_attn_desc *a, fv_t pos_q, fv_t pos_k, fv_t lut) {
    FV_TRY(fv_op_check(op, "pos_q", pos_q, (uint64_t)a->B * a->Tq, 4));
    FV_TRY(fv_op_check(op, "pos_k", pos_k, (uint64_t)a->B * a->Tk, 4));
    return fv_op_check(op, "bucket_lut", lut, 2ull * a->lut_radius + 1, 4);
}

/* Segment ids always; positions, LUT and table with the bias. */
static int check_mask_inputs(const char *op, const fv_attn_desc *a, fv_t seg_q, fv_t seg_k, fv_t pos_q, fv_t pos_k,
                             fv_t bias_table, fv_t bucket_lut) {
    FV_TRY(fv_op_check(op, "seg_q", seg_q, (uint64_t)a->B * a->Tq, 4));
    FV_TRY(fv_op_check(op, "seg_k", seg_k, (uint64_t)a->B * a->Tk, 4));
    if (!a->use_bias) return 0;
    FV_TRY(check_bias_inputs(op, a, pos_q, pos_k, bucket_lut));
    return fv_op_check(op, "bias_table", bias_table, (uint64_t)a->num_buckets * a->H, 4);
}

/* Threads per score row. On a CPU driver (lavapipe) the invocations of a workgroup run as SIMD
 * batches one after another and every barrier of the row reductions costs in proportion to the
 * workgroup size, so 4 subgroups are faster there (3x at Tk = 512) than a 256-wide workgroup. */
static uint32_t row_threads(const fv_dev *d, uint32_t Tk) {
    uint32_t t = fv_op_row_threads(d, Tk), sg = d->subgroup_size ? d->subgroup_size : 32;
    if (!strcmp(d->info.type, "cpu") && t > 4 * sg) t = 4 * sg;
    return t;
}

/* The slowest rate of the row softmax and its gradient flanvk expects on any device, scores per
 * ms (as cross-entropy's: an exp and a few passes over each row). Every row is a workgroup found by
 * gl_WorkGroupID, so rows x keys is cut into row ranges (fv_op_dispatch_bounded) that compute
 * exactly what one dispatch does. */
#define SOFTMAX_FLOOR_PER_MS 1e4

int fv_attn_softmax(fv_graph *g, const fv_attn_desc *a, fv_t p, fv_t seg_q, fv_t seg_k, fv_t pos_q, fv_t pos_k,
                    fv_t bias_table, fv_t bucket_lut) {
    const char *op = "attn_softmax";
    FV_TRY(check_desc(op, a));
    uint32_t rows = a->B * a->H * a->Tq;
    FV_TRY(fv_op_check(op, "p", p, (uint64_t)rows * a->Tk, 4));
    FV_TRY(check_mask_inputs(op, a, seg_q, seg_k, pos_q, pos_k, bias_table, bucket_lut));
    if (!a->use_bias) {
        /* unused bindings still need a buffer */
        pos_q = pos_k = bias_table = bucket_lut = (fv_t){seg_q.buf, 0};
    }
    uint32_t flags = (a->causal ? 1u : 0u) | (a->pad_mask_only ? 2u : 0u) | (a->use_bias ? 4u : 0u);
    struct { uint32_t rows, Tq, Tk, H, po, sqo, sko, pqo, pko, tbo, luo, L, nb, flags; } pc = {
        rows, a->Tq, a->Tk, a->H, p.off, seg_q.off, seg_k.off, pos_q.off, pos_k.off, bias_table.off, bucket_lut.off,
        a->lut_radius, a->num_buckets ? a->num_buckets : 1, flags};
    fv_dev *d = fv_graph_dev(g);
    fv_pipe_desc desc;
    fv_op_desc(&desc, "attn_softmax", 7, 1u << 0, sizeof pc);
    desc.nspec = 1;
    desc.spec[0] = row_threads(d, a->Tk);
    fv_pipeline *pl;
    FV_TRY(fv_pipeline_get(d, &desc, &pl));
    fv_buf *b[] = {p.buf, seg_q.buf, seg_k.buf, pos_q.buf, pos_k.buf, bias_table.buf, bucket_lut.buf};
    return fv_op_dispatch_bounded(g, pl, b, &pc, rows, a->Tk, SOFTMAX_FLOOR_PER_MS);
}

int fv_attn_softmax_back(fv_graph *g, const fv_attn_desc *a, fv_t p, fv_t dp, fv_t pos_q, fv_t pos_k,
                         fv_t bucket_lut, fv_t hist) {
    const char *op = "attn_softmax_back";
    FV_TRY(check_desc(op, a));
    uint32_t rows = a->B * a->H * a->Tq;
    FV_TRY(fv_op_check(op, "p", p, (uint64_t)rows * a->Tk, 4));
    FV_TRY(fv_op_check(op, "dp", dp, (uint64_t)rows * a->Tk, 4));
    if (p.buf == dp.buf) return fv_err("%s: p and dp share buffer '%s'", op, p.buf->what);
    int want = hist.buf != NULL;
    if (want && !a->use_bias) return fv_err("%s: a bias histogram needs use_bias", op);
    uint32_t nb = want ? a->num_buckets : 1;
    if (want) {
        FV_TRY(check_bias_inputs(op, a, pos_q, pos_k, bucket_lut));
        FV_TRY(fv_op_check(op, "hist", hist, (uint64_t)rows * nb, 4));
        if (hist.buf == dp.buf || hist.buf == p.buf) return fv_err("%s: hist shares a buffer with p or dp", op);
    } else {
        pos_q = pos_k = bucket_lut = (fv_t){p.buf, 0};
        hist = (fv_t){dp.buf, 0};
    }
    fv_dev *d = fv_graph_dev(g);
    uint32_t wg = row_threads(d, a->Tk), sg = d->subgroup_size ? d->subgroup_size : 1;
    /* shared: nb histogram columns + the rowsum scratch, WG floats each */
    while ((uint64_t)wg * (nb + 1) * 4 > d->max_shared && wg > sg) wg /= 2;
    if ((uint64_t)wg * (nb + 1) * 4 > d->max_shared)
        return fv_err("%s: %u buckets need more shared memory than device '%s' has", op, nb, d->info.name);
    struct { uint32_t rows, Tq, Tk, H, po, dpo, pqo, pko, luo, L, ho, want; } pc = {
        rows, a->Tq, a->Tk, a->H, p.off, dp.off, pos_q.off, pos_k.off, bucket_lut.off, a->lut_radius, hist.off,
        (uint32_t)want};
    fv_pipe_desc desc;
    fv_op_desc(&desc, "attn_softmax_back", 6, (1u << 1) | (1u << 5), sizeof pc);
    desc.nspec = 2;
    desc.spec[0] = wg;
    desc.spec[1] = nb;
    fv_pipeline *pl;
    FV_TRY(fv_pipeline_get(d, &desc, &pl));
    fv_buf *b[] = {p.buf, dp.buf, pos_q.buf, pos_k.buf, bucket_lut.buf, hist.buf};
    return fv_op_dispatch_bounded(g, pl, b, &pc, rows, (double)a->Tk * (want ? 2 : 1), SOFTMAX_FLOOR_PER_MS);
}

/* One [B, H] batch of products over the attention layout. Operands are either score-shaped
 * ([B, H, Tq, Tk], row stride Tk) or token-shaped ([B, T, H, dk], row stride s). */
typedef struct { fv_t t; uint32_t ld, so, si; enum fv_dtype dt; } operand;

static operand scores(const fv_attn_desc *a, fv_t t) {
    return (operand){t, a->Tk, a->H * a->Tq * a->Tk, a->Tq * a->Tk, FV_F32};
}
static operand tokens(const fv_attn_desc *a, fv_t t, uint32_t T, uint32_t s) {
    s = fv_attn_stride(a, s);
    return (operand){t, s, T * s, a->dk, FV_F32};
}
/* K or V in the forward: fp16 with kv_f16 */
static operand kv_tokens(const fv_attn_desc *a, fv_t t, uint32_t s) {
    operand r = tokens(a, t, a->Tk, s);
    r.dt = a->kv_f16 ? FV_F16 : FV_F32;
    return r;
}

/* kr: K ranges of op(A)'s 16-row blocks per batch row b (null buffer: none), see ops/gemm.h. */
static int bgemm(fv_graph *g, const fv_attn_desc *a, const char *what, uint32_t M, uint32_t N, uint32_t K, int ta,
                 int tb, operand A, operand B, operand C, fv_t kr) {
    fv_gemm_desc p = {.M = M, .N = N, .K = K, .trans_a = ta, .trans_b = tb, .lda = A.ld, .ldb = B.ld, .ldc = C.ld,
                      .batch = a->B * a->H, .batch_inner = a->H, .stride_a_outer = A.so, .stride_a_inner = A.si,
                      .stride_b_outer = B.so, .stride_b_inner = B.si, .stride_c_outer = C.so, .stride_c_inner = C.si,
                      .alpha = 1.0f, .beta = 0.0f, .dtype_a = A.dt, .dtype_b = B.dt, .krange = kr};
    if (fv_gemm(g, &p, A.t, B.t, C.t)) return fv_err_wrap("attention %s", what);
    return 0;
}

int fv_attention(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t seg_q, fv_t seg_k,
                 fv_t pos_q, fv_t pos_k, fv_t bias_table, fv_t bucket_lut, fv_t p_scratch) {
    return fv_attention_drop(g, a, q, k, v, o, seg_q, seg_k, pos_q, pos_k, bias_table, bucket_lut, p_scratch, NULL,
                             (fv_t){NULL, 0});
}

/* Validate the ranges (null buffer: none) and split them into the key ranges of the query blocks
 * (for P V, dS K) and the query ranges of the key blocks (for P^T dO, dS^T Q). */
static int check_ranges(const char *op, const fv_attn_desc *a, fv_t ranges, const fv_buf *const *outs, int nouts,
                        fv_t *kr, fv_t *qr) {
    *kr = *qr = (fv_t){NULL, 0};
    if (!ranges.buf) return 0;
    FV_TRY(fv_op_check(op, "ranges", ranges, fv_attn_ranges_size(a), 4));
    for (int i = 0; i < nouts; i++)
        if (outs[i] == ranges.buf) return fv_err("%s: ranges share buffer '%s' with an output", op, ranges.buf->what);
    *kr = ranges;
    *qr = (fv_t){ranges.buf, ranges.off + fv_attn_ranges_qoff(a)};
    return 0;
}

/* Validate a dropout request; *on = 1 when it drops anything. */
static int check_drop(const char *op, const fv_attn_desc *a, const fv_attn_dropout *drop, int fwd, int *on) {
    *on = drop && drop->rate != 0.0f;
    if (!drop) return 0;
    if (!(drop->rate >= 0.0f && drop->rate < 1.0f)) return fv_err("%s: dropout rate %g is outside [0, 1)", op, drop->rate);
    if (!*on) return 0;
    FV_TRY(fv_op_check(op, "dropout seed", drop->seed, 1, 4));
    if (fwd || drop->pd_kept)
        FV_TRY(fv_op_check(op, "pd_scratch", drop->pd_scratch, (uint64_t)a->B * a->H * a->Tq * a->Tk, 4));
    return 0;
}

/* Sparse writes (see attention.h): the fused kernels serve the call and each of the four products
 * honours the ranges: O = P V and dQ = dS K (M = Tq rows, K = Tk), dV = P^T dO and dK = dS^T Q
 * (M = Tk rows, K = Tq). */
static int sparse_ok(const fv_dev *d, const fv_attn_desc *a, fv_t ranges) {
    fv_gemm_desc by_query = {.M = a->Tq, .N = a->dk, .K = a->Tk}, by_key = {.M = a->Tk, .N = a->dk, .K = a->Tq, .trans_a = 1};
    return ranges.buf && fv_attn_fused_ok(d, a) && fv_gemm_krange_used(d, &by_query) && fv_gemm_krange_used(d, &by_key);
}

int fv_attention_drop(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t seg_q, fv_t seg_k,
                      fv_t pos_q, fv_t pos_k, fv_t bias_table, fv_t bucket_lut, fv_t p_scratch,
                      const fv_attn_dropout *drop, fv_t ranges) {
    const char *op = "attention";
    int on;
    FV_TRY(check_desc(op, a));
    uint32_t kvb = a->kv_f16 ? 2 : 4;
    if (a->kv_f16 && !fv_attn_kv_f16_supported(fv_graph_dev(g)))
        return fv_err("%s: fp16 K/V need 16-bit storage, which device '%s' lacks or has disabled (FLANVK_DISABLE_F16)",
                      op, fv_graph_dev(g)->info.name);
    FV_TRY(check_tokens(op, "q", a, q, a->Tq, a->q_stride));
    FV_TRY(check_tokens_b(op, "k", a, k, a->Tk, a->k_stride, kvb));
    FV_TRY(check_tokens_b(op, "v", a, v, a->Tk, a->v_stride, kvb));
    FV_TRY(check_tokens(op, "o", a, o, a->Tq, a->o_stride));
    FV_TRY(fv_op_check(op, "p_scratch", p_scratch, (uint64_t)a->B * a->H * a->Tq * a->Tk, 4));
    if (p_scratch.buf == q.buf || p_scratch.buf == k.buf || p_scratch.buf == v.buf || p_scratch.buf == o.buf)
        return fv_err("%s: p_scratch shares a buffer with q, k, v or o", op);
    FV_TRY(check_drop(op, a, drop, 1, &on));
    if (on) {
        const fv_buf *pd = drop->pd_scratch.buf;
        if (pd == p_scratch.buf || pd == q.buf || pd == k.buf || pd == v.buf || pd == o.buf)
            return fv_err("%s: pd_scratch shares a buffer with p_scratch, q, k, v or o", op);
    }
    fv_t kr, qr;
    const fv_buf *outs[] = {o.buf, p_scratch.buf, on ? drop->pd_scratch.buf : NULL};
    FV_TRY(check_ranges(op, a, ranges, outs, 3, &kr, &qr));
    operand P = scores(a, p_scratch);
    fv_dev *d = fv_graph_dev(g);
    int fused = fv_attn_fused_ok(d, a) && !a->kv_f16; /* the fused score kernel reads fp32 K only */
    if (fused) { /* P, and the dropped P in the same kernel */
        FV_TRY(check_mask_inputs(op, a, seg_q, seg_k, pos_q, pos_k, bias_table, bucket_lut));
        FV_TRY(fv_attn_fwd_fused(g, a, q, k, seg_q, seg_k, pos_q, pos_k, bias_table, bucket_lut, p_scratch, ranges,
                                 sparse_ok(d, a, ranges), on ? drop : NULL));
        if (on) P = scores(a, drop->pd_scratch);
    } else {
        FV_TRY(bgemm(g, a, "S = Q K^T", a->Tq, a->Tk, a->dk, 0, 1, tokens(a, q, a->Tq, a->q_stride),
                     kv_tokens(a, k, a->k_stride), P, (fv_t){NULL, 0}));
        FV_TRY(fv_attn_softmax(g, a, p_scratch, seg_q, seg_k, pos_q, pos_k, bias_table, bucket_lut));
    }
    if (on && !fused) {
        uint32_t ns = a->B * a->H * a->Tq * a->Tk;
        FV_TRY(fv_dropout(g, p_scratch, drop->seed, drop->pd_scratch, ns, drop->salt, drop->rate));
        P = scores(a, drop->pd_scratch);
    }
    return bgemm(g, a, "O = P V", a->Tq, a->dk, a->Tk, 0, 0, P, kv_tokens(a, v, a->v_stride),
                 tokens(a, o, a->Tq, a->o_stride), kr);
}

int fv_attention_back(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t v, fv_t p, fv_t o, fv_t dout,
                      fv_t pos_q, fv_t pos_k, fv_t bucket_lut, fv_t dq, fv_t dk, fv_t dv, fv_t dtable,
                      fv_t dp_scratch, fv_t hist_scratch) {
    return fv_attention_back_drop(g, a, q, k, v, p, o, dout, pos_q, pos_k, bucket_lut, dq, dk, dv, dtable,
                                  dp_scratch, hist_scratch, NULL, (fv_t){NULL, 0});
}

int fv_attention_back_drop(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t v, fv_t p, fv_t o, fv_t dout,
                           fv_t pos_q, fv_t pos_k, fv_t bucket_lut, fv_t dq, fv_t dk, fv_t dv, fv_t dtable,
                           fv_t dp_scratch, fv_t hist_scratch, const fv_attn_dropout *drop, fv_t ranges) {
    const char *op = "attention_back";
    int on;
    FV_TRY(check_desc(op, a));
    if (a->kv_f16) return fv_err("%s: fp16 K/V (kv_f16) is forward-only (decoding); train with fp32 K and V", op);
    FV_TRY(check_tokens(op, "q", a, q, a->Tq, a->q_stride));
    FV_TRY(check_tokens(op, "k", a, k, a->Tk, a->k_stride));
    FV_TRY(check_tokens(op, "v", a, v, a->Tk, a->v_stride));
    FV_TRY(check_tokens(op, "o", a, o, a->Tq, a->o_stride));
    FV_TRY(check_tokens(op, "dout", a, dout, a->Tq, a->o_stride));
    FV_TRY(check_tokens(op, "dq", a, dq, a->Tq, a->q_stride));
    FV_TRY(check_tokens(op, "dk", a, dk, a->Tk, a->k_stride));
    FV_TRY(check_tokens(op, "dv", a, dv, a->Tk, a->v_stride));
    uint64_t ns = (uint64_t)a->B * a->H * a->Tq * a->Tk;
    FV_TRY(fv_op_check(op, "p", p, ns, 4));
    FV_TRY(fv_op_check(op, "dp_scratch", dp_scratch, ns, 4));
    if (a->use_bias) {
        FV_TRY(fv_op_check(op, "dtable", dtable, (uint64_t)a->num_buckets * a->H, 4));
        FV_TRY(fv_op_check(op, "hist_scratch", hist_scratch, (uint64_t)a->B * a->H * a->Tq * a->num_buckets, 4));
        if (hist_scratch.buf == dtable.buf) return fv_err("%s: hist_scratch and dtable share a buffer", op);
    }
    const fv_buf *ins[] = {q.buf, k.buf, v.buf, p.buf, o.buf, dout.buf};
    const fv_buf *outs[] = {dq.buf, dk.buf, dv.buf, dp_scratch.buf};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++)
            if (ins[i] == outs[j]) return fv_err("%s: an input and an output share buffer '%s'", op, ins[i]->what);
    if (dp_scratch.buf == dq.buf || dp_scratch.buf == dk.buf || dp_scratch.buf == dv.buf)
        return fv_err("%s: dp_scratch shares a buffer with dq, dk or dv", op);
    FV_TRY(check_drop(op, a, drop, 0, &on));
    fv_t kr, qr;
    const fv_buf *routs[] = {dq.buf, dk.buf, dv.buf, dp_scratch.buf, a->use_bias ? dtable.buf : NULL,
                             a->use_bias ? hist_scratch.buf : NULL};
    FV_TRY(check_ranges(op, a, ranges, routs, 6, &kr, &qr));

    operand P = scores(a, p), DS = scores(a, dp_scratch);
    operand Q = tokens(a, q, a->Tq, a->q_stride), K = tokens(a, k, a->Tk, a->k_stride);
    operand V = tokens(a, v, a->Tk, a->v_stride), DO = tokens(a, dout, a->Tq, a->o_stride);
    fv_dev *d = fv_graph_dev(g);
    fv_t hist = a->use_bias ? hist_scratch : (fv_t){NULL, 0};
    int fused = fv_attn_fused_ok(d, a) && (!hist.buf || 64ull * a->num_buckets * d->subgroup_size <= d->max_shared);
    /* the dropped P for dV: the forward's (pd_kept), else recomputed into dp_scratch */
    int kept = on && drop->pd_kept;
    if (kept) {
        const fv_buf *pd = drop->pd_scratch.buf;
        for (int j = 0; j < 6; j++)
            if (j != 3 && pd == routs[j]) return fv_err("%s: pd_scratch shares buffer '%s' with an output", op, pd->what);
    }
    operand PD = kept ? scores(a, drop->pd_scratch) : DS;
    if (on && !kept) FV_TRY(fv_dropout(g, p, drop->seed, dp_scratch, (uint32_t)ns, drop->salt, drop->rate));
    if (fused) { /* dV from P (or its dropped copy), then dS = fused(dO V^T, P) into dp_scratch */
        FV_TRY(bgemm(g, a, on ? "dV = Pd^T dO" : "dV = P^T dO", a->Tk, a->dk, a->Tq, 1, 0, on ? PD : P, DO,
                     tokens(a, dv, a->Tk, a->v_stride), qr));
        FV_TRY(fv_attn_dscores_fused(g, a, dout, o, v, p, pos_q, pos_k, bucket_lut, dp_scratch, hist, on ? drop : NULL,
                                     kr, sparse_ok(d, a, ranges)));
    } else if (on) { /* dV from the dropped P, then dP through the mask */
        uint32_t ns = a->B * a->H * a->Tq * a->Tk;
        FV_TRY(bgemm(g, a, "dV = Pd^T dO", a->Tk, a->dk, a->Tq, 1, 0, PD, DO, tokens(a, dv, a->Tk, a->v_stride), qr));
        FV_TRY(bgemm(g, a, "dPd = dO V^T", a->Tq, a->Tk, a->dk, 0, 1, DO, V, DS, (fv_t){NULL, 0}));
        FV_TRY(fv_dropout(g, dp_scratch, drop->seed, dp_scratch, ns, drop->salt, drop->rate));
    } else {
        FV_TRY(bgemm(g, a, "dP = dO V^T", a->Tq, a->Tk, a->dk, 0, 1, DO, V, DS, (fv_t){NULL, 0}));
        FV_TRY(bgemm(g, a, "dV = P^T dO", a->Tk, a->dk, a->Tq, 1, 0, P, DO, tokens(a, dv, a->Tk, a->v_stride), qr));
    }
    if (!fused) FV_TRY(fv_attn_softmax_back(g, a, p, dp_scratch, pos_q, pos_k, bucket_lut, hist));
    FV_TRY(bgemm(g, a, "dQ = dS K", a->Tq, a->dk, a->Tk, 0, 0, DS, K, tokens(a, dq, a->Tq, a->q_stride), kr));
    FV_TRY(bgemm(g, a, "dK = dS^T Q", a->Tk, a->dk, a->Tq, 1, 0, DS, Q, tokens(a, dk, a->Tk, a->k_stride), qr));
    if (a->use_bias) FV_TRY(fv_relpos_grad(g, hist_scratch, dtable, a->B, a->H, a->Tq, a->num_buckets));
    return 0;
}
