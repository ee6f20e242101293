/* Host side of the fused attention score kernels (see attn_fused.h): choice of the path, texel
 * formats (4-wide when offsets and strides allow), push constants, workgroups. The callers in
 * attention.c have validated shapes and buffers already. */
#include "ops/attn_fused.h"

#include <math.h>
#include <string.h>

#include "ops/attn_ranges.h"

/* Query rows per workgroup; must match TM in the shaders and the blocks of the ranges. */
enum { FUSED_TM = 16 };
_Static_assert(FUSED_TM == FV_ATTN_RANGE_ROWS, "fused attention blocks are the range blocks");

int fv_attn_fused_ok(const fv_dev *d, const fv_attn_desc *a) {
    /* A decode step (Tq of a few tokens) would waste most of a 16-row block: the GEMM path
     * (with its M <= 4 kernels) serves it. */
    if (!d->use_texel || a->Tq <= 4 || !fv_op_has_subgroup(d, VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT)) return 0;
    uint32_t sg = d->subgroup_size;
    if (sg < 4 || sg > 64 || (sg & (sg - 1)) || !fv_subgroup_exact(d)) return 0;
    if ((uint64_t)a->B * a->H > d->props.limits.maxComputeWorkGroupCount[1]) return 0;
    if (fv_div_up(a->Tq, FUSED_TM) > d->props.limits.maxComputeWorkGroupCount[0]) return 0;
    return 1;
}

/* X rows [B, T, H, dk] are fetched 4 floats at a time when everything is a multiple of 4. */
static int vec4_ok(const fv_attn_desc *a, fv_t t, uint32_t stride) {
    return t.off % 4 == 0 && fv_attn_stride(a, stride) % 4 == 0 && a->dk % 4 == 0;
}

static void texel(fv_pipe_desc *desc, int i, uint8_t fmt) {
    desc->bind_kind[i] = FV_BIND_TEXEL;
    desc->bind_fmt[i] = fmt;
}

/* The slowest fused-attention rate flanvk expects on any device, FLOP per ms: a third of what
 * lavapipe's score gradient kernel ran in a training step on the project's 2-core build machine
 * while shared with other jobs (2.9 GFLOP/s), so a range of fv_graph_max_work FLOPs stays inside
 * the submission bound. */
#define ATTN_FLOOR_FLOP_PER_MS 1e6

/* The grid (query blocks gx, batch x heads gz) in ranges under the submission bound: whole
 * (b, h) planes while one fits, else query blocks of one plane. Every workgroup indexes by
 * gl_WorkGroupID alone and writes its own rows, so the ranges compute what one dispatch does. */
static int dispatch_ranges(fv_graph *g, fv_pipeline *pl, fv_buf *const *b, const void *pc, const fv_attn_desc *a) {
    uint32_t gx = fv_div_up(a->Tq, FUSED_TM), gz = a->B * a->H;
    double plane = 2.0 * a->Tq * a->Tk * a->dk, cap = (double)fv_graph_max_work(g, ATTN_FLOOR_FLOP_PER_MS);
    if (plane * gz <= cap) return fv_graph_dispatch(g, pl, b, pc, gx, gz, 1);
    uint32_t nz = plane <= cap ? (uint32_t)(cap / plane) : 1;
    uint32_t nx = plane <= cap ? gx : (uint32_t)(cap / (plane / gx));
    if (nx < 1) nx = 1;
    for (uint32_t z = 0; z < gz; z += nz)
        for (uint32_t x = 0; x < gx; x += nx) {
            uint32_t base[3] = {x, z, 0}, count[3] = {gx - x < nx ? gx - x : nx, gz - z < nz ? gz - z : nz, 1};
            FV_TRY(fv_graph_dispatch_range(g, pl, b, pc, base, count));
        }
    return 0;
}

/* The dropout keep test of shaders/dropout*.comp: (h >> 8) >= ceil(rate * 2^24). */
static uint32_t keep_threshold(float rate) { return (uint32_t)ceil((double)rate * 16777216.0); }

int fv_attn_fwd_fused(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t seg_q, fv_t seg_k, fv_t pos_q,
                      fv_t pos_k, fv_t bias_table, fv_t bucket_lut, fv_t p, fv_t ranges, int sparse,
                      const fv_attn_dropout *drop) {
    fv_dev *d = fv_graph_dev(g);
    int on = drop && drop->rate != 0.0f;
    if (!a->use_bias) pos_q = pos_k = bucket_lut = bias_table = (fv_t){seg_q.buf, 0};
    sparse = sparse && ranges.buf;
    uint32_t flags = (a->causal ? 1u : 0u) | (a->pad_mask_only ? 2u : 0u) | (a->use_bias ? 4u : 0u) |
                     (ranges.buf ? 8u : 0u) | (sparse ? 16u : 0u) | (on ? 32u : 0u);
    uint32_t qro = ranges.buf ? ranges.off + fv_attn_ranges_qoff(a) : 0;
    if (!ranges.buf) ranges = (fv_t){seg_q.buf, 0}; /* unused binding */
    fv_t seed = on ? drop->seed : (fv_t){seg_q.buf, 0}, pd = on ? drop->pd_scratch : (fv_t){p.buf, p.off};
    struct {
        uint32_t Tq, Tk, H, dk, qs, ks, qo, ko, po, sqo, sko, pqo, pko, tbo, luo, L, nb, flags, ro, qro, pdo, salt,
            thresh, seed_index;
        float scale;
    } pc = {a->Tq, a->Tk, a->H, a->dk, fv_attn_stride(a, a->q_stride), fv_attn_stride(a, a->k_stride), q.off, k.off,
            p.off, seg_q.off, seg_k.off, pos_q.off, pos_k.off, bias_table.off, bucket_lut.off, a->lut_radius,
            a->num_buckets ? a->num_buckets : 1, flags, ranges.off, qro, pd.off, on ? drop->salt : 0u,
            on ? keep_threshold(drop->rate) : 0u, seed.off, on ? 1.0f / (1.0f - drop->rate) : 1.0f};
    int vq = vec4_ok(a, q, a->q_stride), vk = vec4_ok(a, k, a->k_stride);
    fv_pipe_desc desc;
    int v4 = p.off % 4 == 0 && pd.off % 4 == 0 && a->Tk % 4 == 0;
    fv_op_desc(&desc, v4 ? "attn_fwd_v4" : "attn_fwd", 12, (1u << 8) | (1u << 11), sizeof pc);
    texel(&desc, 0, vq ? FV_TEXEL_RGBA32F : FV_TEXEL_R32F);
    texel(&desc, 1, vk ? FV_TEXEL_RGBA32F : FV_TEXEL_R32F);
    for (int i = 2; i <= 5; i++) texel(&desc, i, FV_TEXEL_R32UI);
    texel(&desc, 6, FV_TEXEL_R32F);
    texel(&desc, 7, FV_TEXEL_R32UI);
    uint32_t sg = d->subgroup_size;
    desc.nspec = 4;
    uint32_t spec[4] = {sg, sg, (uint32_t)vq, (uint32_t)vk};
    memcpy(desc.spec, spec, sizeof spec);
    desc.subgroup = sg; /* one workgroup = one subgroup, lanes laid out for SG */
    fv_pipeline *pl;
    FV_TRY(fv_pipeline_get(d, &desc, &pl));
    fv_buf *b[] = {q.buf,          k.buf, seg_q.buf,  seg_k.buf, pos_q.buf, pos_k.buf, bias_table.buf,
                   bucket_lut.buf, p.buf, ranges.buf, seed.buf,  pd.buf};
    return dispatch_ranges(g, pl, b, &pc, a);
}

int fv_attn_dscores_fused(fv_graph *g, const fv_attn_desc *a, fv_t dout, fv_t o, fv_t v, fv_t p, fv_t pos_q,
                          fv_t pos_k, fv_t bucket_lut, fv_t ds, fv_t hist, const fv_attn_dropout *drop, fv_t ranges,
                          int sparse) {
    fv_dev *d = fv_graph_dev(g);
    sparse = sparse && ranges.buf;
    uint32_t qro = ranges.buf ? ranges.off + fv_attn_ranges_qoff(a) : 0;
    int want = hist.buf != NULL, on = drop && drop->rate != 0.0f;
    uint32_t sg = d->subgroup_size, nb = want ? a->num_buckets : 1;
    if (want && (uint64_t)FUSED_TM * nb * sg * 4 > d->max_shared)
        return fv_err("attention_back: %u buckets need more shared memory than device '%s' has", nb, d->info.name);
    if (!want) pos_q = pos_k = bucket_lut = hist = (fv_t){ds.buf, 0};
    fv_t seed = on ? drop->seed : (fv_t){ds.buf, 0};
    uint32_t flags = (a->causal ? 1u : 0u) | (want ? 2u : 0u) | (on ? 4u : 0u) | (ranges.buf ? 8u : 0u) |
                     (sparse ? 16u : 0u);
    if (!ranges.buf) ranges = (fv_t){dout.buf, 0}; /* unused binding */
    float rate = on ? drop->rate : 0.0f;
    struct {
        uint32_t Tq, Tk, H, dk, os, vs, oo, vo, po, dso, pqo, pko, luo, L, ho, flags, salt, seed_index;
        float rate, scale;
        uint32_t ob, ro, qro;
    } pc = {a->Tq, a->Tk, a->H, a->dk, fv_attn_stride(a, a->o_stride), fv_attn_stride(a, a->v_stride), dout.off,
            v.off, p.off, ds.off, pos_q.off, pos_k.off, bucket_lut.off, a->lut_radius, hist.off, flags,
            on ? drop->salt : 0u, seed.off, rate, on ? 1.0f / (1.0f - rate) : 1.0f, o.off, ranges.off, qro};
    int vo = vec4_ok(a, dout, a->o_stride), vv = vec4_ok(a, v, a->v_stride), vz = vec4_ok(a, o, a->o_stride);
    int v4 = p.off % 4 == 0 && ds.off % 4 == 0 && a->Tk % 4 == 0;
    fv_pipe_desc desc;
    fv_op_desc(&desc, v4 ? "attn_dscores_v4" : "attn_dscores", 11, (1u << 7) | (1u << 8), sizeof pc);
    texel(&desc, 0, vo ? FV_TEXEL_RGBA32F : FV_TEXEL_R32F);
    texel(&desc, 1, vv ? FV_TEXEL_RGBA32F : FV_TEXEL_R32F);
    texel(&desc, 2, v4 ? FV_TEXEL_RGBA32F : FV_TEXEL_R32F);
    for (int i = 3; i <= 5; i++) texel(&desc, i, FV_TEXEL_R32UI);
    texel(&desc, 9, vz ? FV_TEXEL_RGBA32F : FV_TEXEL_R32F);
    desc.nspec = 6;
    uint32_t spec[6] = {sg, sg, (uint32_t)vo, (uint32_t)vv, nb, (uint32_t)vz};
    memcpy(desc.spec, spec, sizeof spec);
    desc.subgroup = sg; /* one workgroup = one subgroup, lanes laid out for SG */
    fv_pipeline *pl;
    FV_TRY(fv_pipeline_get(d, &desc, &pl));
    fv_buf *b[] = {dout.buf, v.buf, p.buf, pos_q.buf, pos_k.buf, bucket_lut.buf, seed.buf, ds.buf, hist.buf, o.buf,
                   ranges.buf};
    return dispatch_ranges(g, pl, b, &pc, a);
}
