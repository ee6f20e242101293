/* Host side of the one-dispatch decode attention (see attn_decode.h, shaders/attn_decode.comp):
 * argument checks, the storage or texel variant, push constants in vec4 units, one workgroup
 * (one subgroup) per (row, head). */
#include "ops/attn_decode.h"

#include <stdlib.h>
#include <string.h>

static uint32_t stride(const fv_attn_dec_desc *a, uint32_t s) { return s ? s : a->H * a->dk; }

const char *fv_attn_decode_unavailable(const fv_dev *d) {
    const char *off = getenv("FLANVK_DISABLE_ATTN_DECODE");
    if (off && *off && strcmp(off, "0")) return "disabled by FLANVK_DISABLE_ATTN_DECODE";
    uint32_t sg = d->subgroup_size;
    if (sg < 4 || sg > 64 || (sg & (sg - 1)) || sg > d->info.max_workgroup_invocations)
        return "the subgroup size is not a power of two in 4..64";
    if (!fv_subgroup_exact(d)) return "the device runs subgroups of varying size and cannot be asked for one";
    if (!fv_op_has_subgroup(d, VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT)) return "the device lacks subgroup arithmetic in compute shaders";
    return NULL;
}

static const char *why_not(const fv_dev *d, const fv_attn_dec_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t kn,
                           fv_t vn) {
    const char *dev = fv_attn_decode_unavailable(d);
    if (dev) return dev;
    if (a->dk % 4 || a->dk > 64) return "dk must be a multiple of 4 and at most 64";
    uint32_t s[5] = {stride(a, a->q_stride), stride(a, a->k_stride), stride(a, a->v_stride), stride(a, a->o_stride),
                     stride(a, a->new_stride)};
    uint32_t offs[6] = {q.off, k.off, v.off, o.off, a->self ? kn.off : 0, a->self ? vn.off : 0};
    for (int i = 0; i < 5; i++)
        if (s[i] % 4) return "token strides must be multiples of 4";
    for (int i = 0; i < 6; i++)
        if (offs[i] % 4) return "tensor offsets must be multiples of 4";
    return NULL;
}

int fv_attn_decode_ok(const fv_dev *d, const fv_attn_dec_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t k_new,
                      fv_t v_new) {
    return why_not(d, a, q, k, v, o, k_new, v_new) == NULL;
}

/* Whether every texel-bound buffer fits one texel view (bytes[i] per texel). */
static int texel_fits(const fv_dev *d, fv_buf *const *b, int n, const uint32_t *bytes) {
    for (int i = 0; i < n; i++)
        if (b[i] && b[i]->size / bytes[i] > d->info.max_texel_buffer_elements) return 0;
    return 1;
}

/* The slowest decode-attention rate flanvk expects on any device, FLOP per ms (the fused attention
 * kernels' floor; a (row, head) reads Tk keys and values, 4 Tk dk FLOP). Every (row, head) is a
 * workgroup found by gl_WorkGroupID that writes only its own output (and its own new key and
 * value), so a long cache over many rows is cut into ranges (fv_op_dispatch_bounded) that compute
 * exactly what one dispatch does. */
#define DECODE_FLOOR_FLOP_PER_MS 1e6

int fv_attn_decode(fv_graph *g, const fv_attn_dec_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t seg_k, fv_t step_buf,
                   fv_t k_new, fv_t v_new, fv_t bias_table, fv_t bucket_lut) {
    const char *op = "attn_decode";
    fv_dev *d = fv_graph_dev(g);
    if (!a->B || !a->H || !a->dk || !a->Tk)
        return fv_err("%s: empty shape (B %u, H %u, dk %u, Tk %u)", op, a->B, a->H, a->dk, a->Tk);
    if (a->use_bias && !a->self) return fv_err("%s: the position bias needs self-attention mode (pos_q = step)", op);
    if (a->use_bias && (!a->num_buckets || !a->lut_radius))
        return fv_err("%s: bias with %u buckets and LUT radius %u", op, a->num_buckets, a->lut_radius);
    uint32_t HD = a->H * a->dk, qs = stride(a, a->q_stride), ks = stride(a, a->k_stride), vs = stride(a, a->v_stride),
             os = stride(a, a->o_stride), ns = stride(a, a->new_stride);
    if (qs < HD || ks < HD || vs < HD || os < HD || (a->self && ns < HD))
        return fv_err("%s: a token stride is below H*dk = %u", op, HD);
    const char *why = why_not(d, a, q, k, v, o, k_new, v_new);
    if (why) return fv_err("%s: not available for this call: %s", op, why);
    uint64_t B = a->B, rows = B * a->Tk;
    FV_TRY(fv_op_check(op, "q", q, (B - 1) * qs + HD, 4));
    uint32_t kvb = a->kv_f16 ? 2 : 4; /* bytes per K/V element */
    FV_TRY(fv_op_check(op, "k", k, (rows - 1) * ks + HD, kvb));
    FV_TRY(fv_op_check(op, "v", v, (rows - 1) * vs + HD, kvb));
    FV_TRY(fv_op_check(op, "o", o, (B - 1) * os + HD, 4));
    if (a->self) {
        FV_TRY(fv_op_check(op, "step", step_buf, a->step_per_row ? B : 1, 4));
        FV_TRY(fv_op_check(op, "k_new", k_new, (B - 1) * ns + HD, 4));
        FV_TRY(fv_op_check(op, "v_new", v_new, (B - 1) * ns + HD, 4));
        if (k.buf == v.buf) return fv_err("%s: the K and V caches must be different buffers", op);
        if (o.buf == k.buf || o.buf == v.buf) return fv_err("%s: o must not be a cache buffer", op);
        seg_k = q; /* unused binding */
    } else {
        FV_TRY(fv_op_check(op, "seg_k", seg_k, rows, 4));
        step_buf = k_new = v_new = q;
    }
    if (a->use_bias) {
        FV_TRY(fv_op_check(op, "bias_table", bias_table, (uint64_t)a->num_buckets * a->H, 4));
        FV_TRY(fv_op_check(op, "bucket_lut", bucket_lut, 2ull * a->lut_radius + 1, 4));
    } else {
        bias_table = bucket_lut = q;
    }
    if (o.buf == q.buf || (!a->self && (o.buf == k.buf || o.buf == v.buf)))
        return fv_err("%s: o must not share a buffer with q, k or v", op);

    struct {
        uint32_t B, H, D4, Tk, qs, ks, vs, os, ns, qo, ko, vo, oo, nko, nvo, sego, tbo, luo, stepo, L, nb, bias, steps;
    } pc = {a->B, a->H, a->dk / 4, a->Tk, qs / 4, ks / 4, vs / 4, os / 4, ns / 4, q.off / 4, k.off / 4, v.off / 4,
            o.off / 4, k_new.off / 4, v_new.off / 4, seg_k.off, bias_table.off, bucket_lut.off, step_buf.off,
            a->lut_radius, a->num_buckets ? a->num_buckets : 1, (uint32_t)(a->use_bias != 0), (uint32_t)(a->self && a->step_per_row)};
    fv_buf *b[] = {q.buf, k.buf, v.buf, k_new.buf, seg_k.buf, bias_table.buf, bucket_lut.buf, step_buf.buf,
                   k.buf, v.buf, o.buf};
    uint32_t bytes[7] = {16, 16, 16, 16, 4, 4, 4};
    uint8_t fmt[7] = {FV_TEXEL_RGBA32F, FV_TEXEL_RGBA32F, FV_TEXEL_RGBA32F, FV_TEXEL_RGBA32F,
                      FV_TEXEL_R32UI,   FV_TEXEL_R32F,    FV_TEXEL_R32UI};
    /* 8 halves per RGBA32UI texel where every K/V row run is 8-aligned (attn_decode.comp KV_W8): measured
     * 1.5-2x faster than RGBA16F views on lavapipe, as fast as fp32 K/V */
    int w8 = a->kv_f16 && a->dk % 8 == 0 && k.off % 8 == 0 && v.off % 8 == 0 && ks % 8 == 0 && vs % 8 == 0;
    if (a->kv_f16) { /* K and V through RGBA32UI (8 halves) or RGBA16F (4 halves) views */
        bytes[1] = bytes[2] = w8 ? 16 : 8;
        fmt[1] = fmt[2] = w8 ? FV_TEXEL_RGBA32UI : FV_TEXEL_RGBA16F;
    }
    int texel = d->use_texel && texel_fits(d, b, 7, bytes);
    static const char *names[2][2] = {{"attn_decode", "attn_decode_texel"}, {"attn_decode_f16", "attn_decode_texel_f16"}};
    fv_pipe_desc desc;
    uint32_t wmask = (1u << 10) | (a->self ? (1u << 8) | (1u << 9) : 0u);
    fv_op_desc(&desc, texel && w8 ? "attn_decode_texel_f16w8" : names[a->kv_f16 != 0][texel], 11, wmask, sizeof pc);
    for (int i = 0; texel && i < 7; i++) {
        desc.bind_kind[i] = FV_BIND_TEXEL;
        desc.bind_fmt[i] = fmt[i];
    }
    desc.nspec = 2;
    desc.spec[0] = d->subgroup_size;
    desc.spec[1] = (uint32_t)(a->self != 0);
    desc.subgroup = d->subgroup_size; /* one workgroup = one subgroup: reductions are subgroup-only */
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    return fv_op_dispatch_bounded(g, p, b, &pc, a->B * a->H, 4.0 * a->Tk * a->dk, DECODE_FLOOR_FLOP_PER_MS);
}
