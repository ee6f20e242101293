/* Host side of GEMM: validation, path and variant choice, push constants, workgroups; plus the
 * linear-layer helpers. Kernels: shaders/gemm.comp (texel path), shaders/gemm_tiled.comp
 * (shared-memory tiled path, fp16 variants in gemm_tiled.variants). */
#include "ops/gemm.h"

#include <string.h>

#include "io/wtile.h"

typedef struct {
    uint32_t M, N, K, lda, ldb, ldc, ao, bo, co, inner, sao, sai, sbo, sbi, sco, sci;
    float alpha, beta;
    uint32_t ro, rblocks; /* K ranges (spec constant KR): element offset, row blocks per outer batch */
    uint32_t so, nb;      /* q8 B: fp16 index of the first scale, scales per row */
    uint32_t tile, tn, tn0, bk; /* low-bit B: tiled layout, the weight's rows, the first of them, first word along K */
} gemm_push;

/* Texel path (shaders/gemm.comp): each invocation computes a TM x TN block of C; a workgroup
 * spans TM rows and (invocations x TN) columns. 16 x 8 ("gemm") measured fastest on lavapipe;
 * 4 x 8 ("gemm_m4") when M <= 4 and 1 x 8 ("gemm_m1") for one row waste fewer rows for a few tokens. */
enum { TEX_TN = 8, TEX_WG = 32, TEX_KSPLIT_MIN = 2048, TEX_KSPLIT = 1024 };

/* TM = 1 has no 4-row texels along M, so a transposed A keeps "m4". A low-bit B has only the
 * 16-row kernel (its few-row products go to shaders/wgemv.comp). */
static uint32_t texel_tm(const fv_gemm_desc *p) {
    return p->wtype_b != FV_WT_F32 ? 16 : p->M == 1 && !p->trans_a ? 1 : p->M <= 4 ? 4 : 16;
}

/* Columns of B as stored (trans_b: K) in B's units: 32-bit words for a low-bit B. */
static uint32_t b_cols(const fv_gemm_desc *p) {
    if (p->wtype_b != FV_WT_F32) return fv_wpack_row_words(p->wtype_b, p->K);
    return p->trans_b ? p->K : p->N;
}

/* One operand: stored rows x cols (row stride ld), batched. Element range it touches: [lo, hi). */
static int extent(const char *arg, uint32_t off, uint32_t rows, uint32_t cols, uint32_t ld, uint32_t batch,
                  uint32_t inner, uint32_t so, uint32_t si, uint64_t *lo, uint64_t *hi) {
    *lo = *hi = 0;
    if (ld < cols) return fv_err("gemm: %s row stride %u is less than its %u columns", arg, ld, cols);
    /* max over z of (z / inner) * so + (z % inner) * si: at z = batch - 1 or just before its group */
    uint64_t q = (batch - 1) / inner, r = (batch - 1) % inner;
    uint64_t zmax = q * so + r * si;
    if (q > 0 && (q - 1) * so + (uint64_t)(inner - 1) * si > zmax) zmax = (q - 1) * so + (uint64_t)(inner - 1) * si;
    *lo = off;
    *hi = off + zmax + (uint64_t)(rows - 1) * ld + cols;
    if (*hi > UINT32_MAX) return fv_err("gemm: %s spans more than 2^32 elements", arg);
    return 0;
}

static int check_fits(const char *arg, fv_t t, uint64_t hi, uint32_t bytes) {
    return fv_op_check("gemm", arg, fv_tensor(t.buf, 0), hi, bytes);
}

static int tiled_pipeline(fv_dev *d, const fv_gemm_desc *p, fv_pipeline **out, uint32_t *bm, uint32_t *bn) {
    static const char *names[4] = {"gemm_tiled", "gemm_tiled_ha", "gemm_tiled_hb", "gemm_tiled_hab"};
    /* 64 x 64 tiles, 4 x 4 per invocation (256 invocations) where the limits allow; else
     * 32 x 32 tiles with 64 invocations. BK = 16 keeps shared use at 8.3 KB / 4.2 KB. */
    uint32_t BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
    uint32_t shared64 = BK * (BM + 1 + BN + 1) * 4;
    if (d->info.max_workgroup_invocations < 256 || d->max_shared < shared64) BM = BN = 32;
    fv_pipe_desc desc;
    fv_op_desc(&desc, names[(p->dtype_a == FV_F16) | (p->dtype_b == FV_F16) << 1], 3, 1u << 2, sizeof(gemm_push));
    desc.nspec = 8;
    uint32_t spec[8] = {(BM / TM) * (BN / TN), BM, BN, BK, TM, TN, p->trans_a != 0, p->trans_b != 0};
    memcpy(desc.spec, spec, sizeof spec);
    *bm = BM;
    *bn = BN;
    return fv_pipeline_get(d, &desc, out);
}

/* Whole 4-element texels are usable when every start offset and row stride is a multiple of 4
 * and the fetched run stays inside a row: along K that needs K % 4 == 0; along N (a plain B)
 * the run is clamped to the padded row, which ld % 4 == 0 guarantees. */
static int vec4_ok(uint32_t off, uint32_t ld, uint32_t so, uint32_t si, int along_k, uint32_t K) {
    return off % 4 == 0 && ld % 4 == 0 && so % 4 == 0 && si % 4 == 0 && (!along_k || K % 4 == 0);
}

static int texel_pipeline(fv_dev *d, const fv_gemm_desc *p, const gemm_push *pc, int kr, fv_pipeline **out,
                          uint32_t *wg) {
    /* A is fetched 4-wide along K when not transposed, along M when transposed (K x M storage;
     * the texels of a step's slab are spread over the lanes); else element by element, each lane
     * fetching its own row, which the shuffles then spread. */
    int va = vec4_ok(pc->ao, pc->lda, pc->sao, pc->sai, !p->trans_a, p->K);
    int vb = vec4_ok(pc->bo, pc->ldb, pc->sbo, pc->sbi, p->trans_b != 0, p->K);
    /* a low-bit B: f16/bf16 read a step's 8 weights as one RGBA32UI texel of words when rows
     * start on 4 words (K-split passes move bo by multiples of 16 words); q8 reads single words */
    enum fv_wtype wt = p->wtype_b;
    if (wt != FV_WT_F32) vb = wt != FV_WT_Q8 && pc->bo % 4 == 0 && pc->ldb % 4 == 0;
    /* Workgroup: 32 invocations (or one subgroup if larger) = 256 columns. Rows are shared only
     * within a subgroup, so the size only trades idle lanes at the right edge (N = 768 fills
     * three groups exactly) against per-workgroup overhead. Measured equal or better than 64
     * and than one subgroup. */
    uint32_t sg = d->subgroup_size, n = sg < TEX_WG ? TEX_WG / sg * sg : sg;
    if ((uint64_t)p->N <= (uint64_t)sg * TEX_TN * (n / sg - 1)) {
        /* Narrow products (attention's P V and its gradients have N = dk = 64) would leave most
         * of a 256-column workgroup idle: give them as many subgroups as they fill. */
        n = sg * fv_div_up(p->N, sg * TEX_TN);
    } else {
        /* Subgroups wholly past N leave at once, but lavapipe hands each thread a fixed share of
         * the workgroups, so a last column of half-empty groups (N = 384: 256 + 128) idles one
         * core for a third of the time. When that wastes over 1/16 of the columns, take the
         * workgroup of 1/2 .. 1 times the subgroups that wastes least (N = 384 and 1152: 3
         * subgroups, 58 -> 76 and 62 -> 68 GFLOP/s measured). N a multiple of 256 keeps the
         * full size, so only such widths add pipelines. */
        uint32_t best = n, waste = fv_div_up(p->N, n * TEX_TN) * n * TEX_TN - p->N;
        if ((uint64_t)waste * 16 > p->N)
            for (uint32_t s = n / sg - 1; s >= 1 && 2 * s >= n / sg; s--) {
                uint32_t w = fv_div_up(p->N, sg * s * TEX_TN) * sg * s * TEX_TN - p->N;
                if (w < waste) best = sg * s, waste = w;
            }
        n = best;
    }
    fv_pipe_desc desc;
    /* binding 3 (the K ranges) is declared by every variant: bound to A's buffer when unused */
    const char *name = wt == FV_WT_F16    ? "gemm_bh"
                       : wt == FV_WT_BF16 ? "gemm_bbf16"
                       : wt == FV_WT_Q8   ? "gemm_bq8"
                       : texel_tm(p) == 1 ? "gemm_m1"
                       : texel_tm(p) == 4 ? "gemm_m4"
                                          : "gemm";
    fv_op_desc(&desc, name, wt == FV_WT_Q8 ? 5 : 4, 1u << 2, sizeof(gemm_push));
    desc.bind_kind[0] = desc.bind_kind[1] = FV_BIND_TEXEL;
    int ha = p->dtype_a == FV_F16, hb = p->dtype_b == FV_F16;
    desc.bind_fmt[0] = va ? (ha ? FV_TEXEL_RGBA16F : FV_TEXEL_RGBA32F) : (ha ? FV_TEXEL_R16F : FV_TEXEL_R32F);
    desc.bind_fmt[1] = vb ? (hb ? FV_TEXEL_RGBA16F : FV_TEXEL_RGBA32F) : (hb ? FV_TEXEL_R16F : FV_TEXEL_R32F);
    if (wt != FV_WT_F32) desc.bind_fmt[1] = vb ? FV_TEXEL_RGBA32UI : FV_TEXEL_R32UI;
    if (wt == FV_WT_Q8) {
        desc.bind_kind[4] = FV_BIND_TEXEL;
        desc.bind_fmt[4] = FV_TEXEL_R32UI;
    }
    desc.nspec = 7;
    uint32_t spec[7] = {n, sg, p->trans_a != 0, p->trans_b != 0, (uint32_t)va, (uint32_t)vb, (uint32_t)kr};
    memcpy(desc.spec, spec, sizeof spec);
    desc.subgroup = sg; /* the shuffles spread rows over exactly SG lanes */
    *wg = n;
    return fv_pipeline_get(d, &desc, out);
}

static int texel_path(const fv_dev *d) {
    return d->use_texel && fv_op_has_subgroup(d, VK_SUBGROUP_FEATURE_SHUFFLE_BIT) && fv_subgroup_exact(d);
}

int fv_gemm_wb_supported(const fv_dev *d) { return texel_path(d); }

int fv_gemm_krange_used(const fv_dev *d, const fv_gemm_desc *p) {
    return texel_path(d) && p->K <= TEX_KSPLIT_MIN && texel_tm(p) == 16;
}

/* tn0, tn: a tiled low-bit B's product covers rows tn0 .. tn0 + N - 1 of a weight of tn rows whose
 * words start at b.off (fv_gemm's column ranges); otherwise b.off is the product's first row. */
static int gemm_one(fv_graph *g, const fv_gemm_desc *p, fv_t a, fv_t b, fv_t c, uint32_t tn0, uint32_t tn) {
    if (!g || !p) return fv_err("gemm: null graph or descriptor");
    if (!a.buf || !b.buf || !c.buf) return fv_err("gemm: %s is a null buffer", !a.buf ? "A" : !b.buf ? "B" : "C");
    if (p->M == 0 || p->N == 0 || p->K == 0) return fv_err("gemm: empty product %ux%ux%u", p->M, p->N, p->K);
    if ((p->dtype_a != FV_F32 && p->dtype_a != FV_F16) || (p->dtype_b != FV_F32 && p->dtype_b != FV_F16))
        return fv_err("gemm: unknown dtype");
    fv_dev *d = fv_graph_dev(g);
    int wb = p->wtype_b != FV_WT_F32;
    if ((p->dtype_a == FV_F16 || (!wb && p->dtype_b == FV_F16)) && !d->fp16)
        return fv_err("gemm: fp16 operands need 16-bit storage, which device '%s' lacks or has disabled", d->info.name);
    if (wb) {
        if ((unsigned)p->wtype_b > FV_WT_Q8) return fv_err("gemm: unknown weight type %d for B", (int)p->wtype_b);
        if (!texel_path(d))
            return fv_err("gemm: a %s B needs the texel path, which device '%s' does not take", fv_wtype_name(p->wtype_b),
                          d->info.name);
        if (!p->trans_b) return fv_err("gemm: a %s B must be trans_b (stored N x K)", fv_wtype_name(p->wtype_b));
        if ((p->batch ? p->batch : 1) != 1) return fv_err("gemm: a %s B takes no batches", fv_wtype_name(p->wtype_b));
        if (p->wtype_b == FV_WT_Q8 && !p->scales_b.buf) return fv_err("gemm: q8 B without its scales buffer");
    }

    uint32_t batch = p->batch ? p->batch : 1, inner = p->batch_inner ? p->batch_inner : 1;
    uint32_t ar = p->trans_a ? p->K : p->M, ac = p->trans_a ? p->M : p->K;
    uint32_t br = p->trans_b ? p->N : p->K, bc = b_cols(p);
    gemm_push pc = {p->M, p->N, p->K, p->lda ? p->lda : ac, p->ldb ? p->ldb : bc, p->ldc ? p->ldc : p->N,
                    a.off, b.off, c.off, inner, p->stride_a_outer, p->stride_a_inner, p->stride_b_outer,
                    p->stride_b_inner, p->stride_c_outer, p->stride_c_inner, p->alpha, p->beta, 0, 0, 0, 0,
                    wb ? p->tile_b : 0, tn, tn0, 0};
    if (wb && p->tile_b) {
        if (tn0 + (uint64_t)p->N > tn) return fv_err("gemm: rows %u.. of a tiled B past its %u", tn0, tn);
        if (pc.ldb % FV_WTILE_CHUNK)
            return fv_err("gemm: a tiled B's rows of %u words are not whole chunks of %u", pc.ldb, FV_WTILE_CHUNK);
        br = tn; /* the whole tiled weight */
    } else if (p->tile_b && !wb) {
        return fv_err("gemm: an fp32 B has no tiled layout");
    }
    uint64_t alo = 0, ahi = 0, blo = 0, bhi = 0, clo = 0, chi = 0;
    FV_TRY(extent("A", a.off, ar, ac, pc.lda, batch, inner, pc.sao, pc.sai, &alo, &ahi));
    FV_TRY(extent("B", b.off, br, bc, pc.ldb, batch, inner, pc.sbo, pc.sbi, &blo, &bhi));
    FV_TRY(extent("C", c.off, p->M, p->N, pc.ldc, batch, inner, pc.sco, pc.sci, &clo, &chi));
    FV_TRY(check_fits("A", a, ahi, p->dtype_a == FV_F16 ? 2 : 4));
    FV_TRY(check_fits("B", b, bhi, !wb && p->dtype_b == FV_F16 ? 2 : 4));
    if (p->wtype_b == FV_WT_Q8) {
        /* scales of rows 0 .. N - 1, packed */
        uint64_t sw = fv_wpack_scale_words(FV_WT_Q8, p->N, p->K), slo = p->scales_b.off, shi = slo + sw;
        FV_TRY(fv_op_check("gemm", "B scales", p->scales_b, sw, 4));
        if (p->scales_b.buf == c.buf && clo < shi && slo < chi)
            return fv_err("gemm: C overlaps B's scales in buffer '%s'", c.buf->what);
        if (2 * shi > UINT32_MAX)
            return fv_err("gemm: B's scales span more than 2^32 halves");
        pc.so = 2 * p->scales_b.off;
        pc.nb = fv_q8_blocks(p->K);
    }
    FV_TRY(check_fits("C", c, chi, 4));
    if ((c.buf == a.buf && clo < ahi && alo < chi) || (c.buf == b.buf && clo < bhi && blo < chi))
        return fv_err("gemm: C overlaps %s in buffer '%s'", c.buf == a.buf ? "A" : "B", c.buf->what);
    uint32_t rblocks = fv_div_up(p->M, FV_GEMM_KRANGE_ROWS);
    if (p->krange.buf) {
        FV_TRY(fv_op_check("gemm", "krange", p->krange, 2ull * fv_div_up(batch, inner) * rblocks, 4));
        if (p->krange.buf == c.buf) return fv_err("gemm: krange shares buffer '%s' with C", c.buf->what);
        pc.ro = p->krange.off;
        pc.rblocks = rblocks;
    }

    fv_pipeline *pipe;
    fv_buf *bufs[5] = {a.buf, b.buf, c.buf, p->krange.buf ? p->krange.buf : a.buf,
                       p->wtype_b == FV_WT_Q8 ? p->scales_b.buf : a.buf};
    if (texel_path(d)) { /* rows of A shared by shuffles */
        /* Long K (the LM head's input gradient, K = vocab; weight gradients, K = tokens): one pass
         * streams a whole K-long slab of B per block of rows, far beyond the caches. Passes of
         * ~1024 along K, accumulating into C, keep each slab cached across the row blocks
         * (measured 1.2-1.6x for K = 4096 and 32128; no gain at 2048). The chunk stays a
         * multiple of 8 so texel alignment holds; of 32 for a low-bit B, so that a pass starts on
         * a q8 scale block and on a 16-word boundary of f16/bf16 words. */
        uint32_t nk = p->K > TEX_KSPLIT_MIN ? fv_div_up(p->K, TEX_KSPLIT) : 1, ka = wb ? 31 : 7;
        uint32_t kc = nk > 1 ? (fv_div_up(p->K, nk) + ka) & ~ka : p->K;
        for (uint32_t k0 = 0; k0 < p->K; k0 += kc) {
            fv_gemm_desc q = *p;
            gemm_push qc = pc;
            q.K = qc.K = p->K - k0 < kc ? p->K - k0 : kc;
            qc.ao += p->trans_a ? k0 * qc.lda : k0;
            if (wb) qc.bk = k0 / (p->wtype_b == FV_WT_Q8 ? 4 : 2); /* words along the rows, either layout */
            else qc.bo += !p->trans_b ? k0 * qc.ldb : k0;
            if (p->wtype_b == FV_WT_Q8) qc.so += k0 / FV_Q8_BLOCK; /* nb stays the whole row's */
            if (k0) qc.beta = 1.0f;
            uint32_t wg;
            int kr = p->krange.buf && fv_gemm_krange_used(d, p); /* (then nk == 1) */
            FV_TRY(texel_pipeline(d, &q, &qc, kr, &pipe, &wg));
            uint32_t gx = fv_div_up(p->M, texel_tm(p)), gy = fv_div_up(p->N, wg * TEX_TN);
            FV_TRY(fv_graph_dispatch(g, pipe, bufs, &qc, gx, gy, batch));
        }
        return 0;
    }
    uint32_t bm, bn;
    FV_TRY(tiled_pipeline(d, p, &pipe, &bm, &bn));
    return fv_graph_dispatch(g, pipe, bufs, &pc, fv_div_up(p->N, bn), fv_div_up(p->M, bm), batch);
}

/* The slowest GEMM rate flanvk expects on any device, FLOP per ms: a sixth of lavapipe's on the
 * project's 2-core build machine (30 GFLOP/s by `bench ops --op gemm` while shared with other
 * jobs; a GPU is far faster), so a piece of fv_graph_max_work FLOPs stays inside the bound. */
#define GEMM_FLOOR_FLOP_PER_MS 5e6

/* A product over the submission bound (the LM head over a big vocabulary, its gradients) runs
 * as ranges of C: column ranges (op(B)'s and C's columns n0..) or, when M is the longer side and
 * there are no K ranges, row ranges (op(A)'s and C's rows m0..), with the same strides. Every
 * element of C is summed over the same K in the same order whichever range holds it (the K
 * passes depend on K only), so results are identical to one call. Column ranges are multiples
 * of 256 (the texel path's widest workgroup) when that wide, else of 8 (its column block); row
 * ranges multiples of 16 (its row block) and never a last one under 16 rows, so every range
 * runs the kernel the whole product would. */
int fv_gemm(fv_graph *g, const fv_gemm_desc *p, fv_t a, fv_t b, fv_t c) {
    if (!g || !p) return fv_err("gemm: null graph or descriptor");
    if (p->M == 0 || p->N == 0 || p->K == 0) return fv_err("gemm: empty product %ux%ux%u", p->M, p->N, p->K);
    /* the texel path already runs a long K as passes of TEX_KSPLIT, one dispatch each */
    uint32_t kd = texel_path(fv_graph_dev(g)) && p->K > TEX_KSPLIT_MIN ? TEX_KSPLIT + 8 : p->K;
    double flops = 2.0 * p->M * p->N * kd * (p->batch ? p->batch : 1);
    double cap = (double)fv_graph_max_work(g, GEMM_FLOOR_FLOP_PER_MS);
    if (flops <= cap) return gemm_one(g, p, a, b, c, 0, p->N);
    fv_gemm_desc q = *p;
    q.lda = p->lda ? p->lda : p->trans_a ? p->M : p->K;
    q.ldb = p->ldb ? p->ldb : b_cols(p);
    q.ldc = p->ldc ? p->ldc : p->N;
    if (p->M > p->N && !p->krange.buf && p->M >= 32) {
        double rows = cap / (flops / p->M);
        uint32_t h = rows >= 16 ? (uint32_t)rows & ~15u : 16;
        for (uint32_t m0 = 0; m0 < p->M; m0 += q.M) {
            q.M = p->M - m0 < h + 16 ? p->M - m0 : h; /* a short tail joins this range */
            uint64_t ao = a.off + (uint64_t)m0 * (p->trans_a ? 1 : q.lda), co = c.off + (uint64_t)m0 * q.ldc;
            if (ao > UINT32_MAX || co > UINT32_MAX) return fv_err("gemm: A or C spans more than 2^32 elements");
            FV_TRY(gemm_one(g, &q, fv_tensor(a.buf, (uint32_t)ao), b, fv_tensor(c.buf, (uint32_t)co), 0, p->N));
        }
        return 0;
    }
    double cols = cap / (flops / p->N);
    uint32_t w = cols >= 256 ? ((uint32_t)cols & ~255u) : cols >= 8 ? ((uint32_t)cols & ~7u) : 8;
    int tiled = p->wtype_b != FV_WT_F32 && p->tile_b; /* its rows are found from the whole weight's start */
    for (uint32_t n0 = 0; n0 < p->N; n0 += w) {
        q.N = p->N - n0 < w ? p->N - n0 : w;
        uint64_t bo = b.off + (tiled ? 0 : (uint64_t)n0 * (p->trans_b ? q.ldb : 1)), co = (uint64_t)c.off + n0;
        if (bo > UINT32_MAX || co > UINT32_MAX) return fv_err("gemm: B or C spans more than 2^32 elements");
        if (p->wtype_b == FV_WT_Q8) /* n0 is a multiple of 8: whole words of scale pairs */
            q.scales_b = fv_tensor(p->scales_b.buf, p->scales_b.off + n0 * fv_q8_blocks(p->K) / 2);
        FV_TRY(gemm_one(g, &q, a, fv_tensor(b.buf, (uint32_t)bo), fv_tensor(c.buf, (uint32_t)co), tiled ? n0 : 0,
                        tiled ? p->N : q.N));
    }
    return 0;
}

int fv_linear(fv_graph *g, fv_t x, fv_t w, fv_t y, uint32_t rows, uint32_t in, uint32_t out, float beta) {
    fv_gemm_desc p = {.M = rows, .N = out, .K = in, .trans_b = 1, .alpha = 1.0f, .beta = beta};
    if (fv_gemm(g, &p, x, w, y)) return fv_err_wrap("linear %ux%u -> %u", rows, in, out);
    return 0;
}

int fv_linear_back(fv_graph *g, fv_t x, fv_t w, fv_t dy, fv_t dx, fv_t dw, uint32_t rows, uint32_t in, uint32_t out,
                   int accumulate_dx) {
    if (dx.buf) {
        fv_gemm_desc p = {.M = rows, .N = in, .K = out, .alpha = 1.0f, .beta = accumulate_dx ? 1.0f : 0.0f};
        if (fv_gemm(g, &p, dy, w, dx)) return fv_err_wrap("linear_back dx %ux%u <- %u", rows, in, out);
    }
    if (dw.buf) {
        fv_gemm_desc p = {.M = out, .N = in, .K = rows, .trans_a = 1, .alpha = 1.0f, .beta = 1.0f};
        if (fv_gemm(g, &p, dy, x, dw)) return fv_err_wrap("linear_back dW %ux%u", out, in);
    }
    return 0;
}
