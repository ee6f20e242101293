/* Host side of the attention block ranges (see attn_ranges.h): one invocation per block, segment
 * ids read as R32UI texels on texel devices (one vector gather each on lavapipe), as storage
 * buffers elsewhere. */
#include "ops/attn_ranges.h"

static uint32_t blocks(uint32_t T) { return fv_div_up(T, FV_ATTN_RANGE_ROWS); }

uint64_t fv_attn_ranges_size(const fv_attn_desc *a) {
    return 2ull * a->B * ((uint64_t)blocks(a->Tq) + blocks(a->Tk));
}

uint32_t fv_attn_ranges_qoff(const fv_attn_desc *a) { return 2u * a->B * blocks(a->Tq); }

int fv_attn_ranges(fv_graph *g, const fv_attn_desc *a, fv_t seg_q, fv_t seg_k, fv_t ranges) {
    const char *op = "attn_ranges";
    if (!g || !a) return fv_err("%s: null graph or descriptor", op);
    if (!a->B || !a->Tq || !a->Tk) return fv_err("%s: empty shape B=%u Tq=%u Tk=%u", op, a->B, a->Tq, a->Tk);
    if ((uint64_t)a->B * a->Tq >= (1ull << 31) || (uint64_t)a->B * a->Tk >= (1ull << 31))
        return fv_err("%s: more than 2^31 tokens", op);
    uint64_t n = fv_attn_ranges_size(a);
    FV_TRY(fv_op_check(op, "seg_q", seg_q, (uint64_t)a->B * a->Tq, 4));
    FV_TRY(fv_op_check(op, "seg_k", seg_k, (uint64_t)a->B * a->Tk, 4));
    FV_TRY(fv_op_check(op, "ranges", ranges, n, 4));
    if (ranges.buf == seg_q.buf || ranges.buf == seg_k.buf) return fv_err("%s: ranges share a buffer with the segment ids", op);
    fv_dev *d = fv_graph_dev(g);
    uint32_t flags = (a->causal ? 1u : 0u) | (a->pad_mask_only ? 2u : 0u);
    struct { uint32_t B, Tq, Tk, qb, kb, sqo, sko, ro, flags; } pc = {
        a->B, a->Tq, a->Tk, blocks(a->Tq), blocks(a->Tk), seg_q.off, seg_k.off, ranges.off, flags};
    fv_pipe_desc desc;
    fv_op_desc(&desc, "attn_ranges", 3, 1u << 2, sizeof pc);
    if (d->use_texel) {
        desc.shader = "attn_ranges_texel";
        for (int i = 0; i < 2; i++) {
            desc.bind_kind[i] = FV_BIND_TEXEL;
            desc.bind_fmt[i] = FV_TEXEL_R32UI;
        }
    }
    uint32_t wg = d->subgroup_size ? d->subgroup_size : 32;
    desc.nspec = 1;
    desc.spec[0] = wg;
    fv_pipeline *pl;
    FV_TRY(fv_pipeline_get(d, &desc, &pl));
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up((uint32_t)(n / 2), wg), &gx, &gy);
    fv_buf *b[] = {seg_q.buf, seg_k.buf, ranges.buf};
    return fv_graph_dispatch(g, pl, b, &pc, gx, gy, 1);
}
