#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_arithmetic : require
// T5 attention probabilities in one pass over the keys, texel path (CPU devices, lavapipe):
// P[b, h, i, :] = softmax_j(Q_i . K_j + bias(h, pos_k[j] - pos_q[i]) + mask), the same result as
// the batched GEMM S = Q K^T followed by attn_softmax.comp, without S's round trip through memory
// and without that kernel's per-element storage gathers (6 per score on lavapipe).
// One subgroup per workgroup owns TM query rows of one (b, h) and sweeps the keys in chunks of
// SG * TN (common/attn_tile.glsl); for each chunk it adds bias and mask, stores the biased score
// (LOWEST where masked) and keeps a per-row online max / sum (Milakov & Gimelshein 2018) per lane.
// A subgroup reduction gives each row's max and normaliser; a second sweep over the lane's own
// stored scores writes P. A row with no visible key becomes all zeros, never NaN.
// Segment ids, positions and the bucket LUT are read as R32UI texels, the bias table as R32F.
// With ranges (flag 8, src/ops/attn_ranges.h): key chunks outside the block's hull of visible keys
// [klo, khi) hold only masked scores; like the chunks past the causal diagonal they are not
// multiplied and their P is stored as 0 at once (bit-identical: such a chunk leaves the online
// max and sum unchanged either way).
// Sparse (flag 16, with ranges, when every consumer of P honours them: the host decides): such a
// chunk is not written at all unless a key block in it has a query range (the transposed products
// dV = P^T dO, dK = dS^T Q read P by those, in steps of 8) reaching this block's rows; there it
// gets zeros. Elsewhere P keeps whatever the buffer held, never read.
// Dropout (flag 32, training): the second sweep also writes the dropped copy Pd = keep ? P * scale
// : 0 with keep from the hash of (seed, salt, element index) exactly as dropout4.comp (the same
// integer threshold test and product), so Pd is bit for bit what fv_dropout(P) would write.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 8;      // = SG: one subgroup
layout(constant_id = 1) const uint SG = 8;
layout(constant_id = 2) const bool VX = false;  // Q bound as 4-wide texels
layout(constant_id = 3) const bool VY = false;  // K bound as 4-wide texels

#ifndef TM
#define TM 16
#endif
#define TN 8
#define KU 8

layout(binding = 0) uniform samplerBuffer X;   // Q
layout(binding = 1) uniform samplerBuffer Y;   // K
layout(binding = 2) uniform usamplerBuffer SQ;
layout(binding = 3) uniform usamplerBuffer SK;
layout(binding = 4) uniform usamplerBuffer PQ;
layout(binding = 5) uniform usamplerBuffer PK;
layout(binding = 6) uniform samplerBuffer TAB;
layout(binding = 7) uniform usamplerBuffer LUT;
// PV4 (variant attn_fwd_v4): P's offset and Tk are multiples of 4, so a lane's TN scores are
// TN / 4 whole vec4s: on lavapipe each store with a computed address is a per-lane loop, 4x fewer.
#ifdef PV4
layout(std430, binding = 8) buffer PS { vec4 p4[]; };
#else
layout(std430, binding = 8) buffer PS { float p[]; };
#endif
layout(std430, binding = 9) readonly buffer KR { uint kr[]; };  // with ATTN_RANGES: key ranges
layout(std430, binding = 10) readonly buffer SD { uint seed[]; }; // with ATTN_DROP
#ifdef PV4
layout(std430, binding = 11) writeonly buffer PDS { vec4 pd4[]; }; // with ATTN_DROP: dropped P
#else
layout(std430, binding = 11) writeonly buffer PDS { float pd[]; };
#endif
layout(push_constant) uniform P {
    uint Tq, Tk, H, dk, qs, ks, qo, ko, po, sqo, sko, pqo, pko, tbo, luo, L, nb, flags, ro;
    uint qro;         // element offset of the query ranges (sparse)
    uint pdo, salt, thresh, seed_index;
    float scale;      // dropout: 1 / (1 - rate)
} pc;

const uint ATTN_CAUSAL = 1u, ATTN_PAD_ONLY = 2u, ATTN_BIAS = 4u, ATTN_RANGES = 8u, ATTN_SPARSE = 16u, ATTN_DROP = 32u;
const float LOWEST = -3.0e38;

#include "hash.glsl"

uint xbase, xs, ybase, ys, Tk, D;
#include "attn_tile.glsl"

void main() {
    uint m0 = gl_WorkGroupID.x * TM, z = gl_WorkGroupID.y, b = z / pc.H, h = z % pc.H;
    uint lane = gl_SubgroupInvocationID, rows = min(TM, pc.Tq - m0);
    Tk = pc.Tk;
    D = pc.dk;
    xs = pc.qs;
    ys = pc.ks;
    xbase = pc.qo + (b * pc.Tq + m0) * xs + h * D;
    ybase = pc.ko + b * Tk * ys + h * D;
    uint pbase = pc.po + (z * pc.Tq + m0) * Tk;
    bool bias = (pc.flags & ATTN_BIAS) != 0u, causal = (pc.flags & ATTN_CAUSAL) != 0u;
    bool padonly = (pc.flags & ATTN_PAD_ONLY) != 0u;
    int L = int(pc.L);

    int sq[TM], pq[TM];
    float m[TM], l[TM];
    [[unroll]] for (uint i = 0; i < TM; i++) {
        uint qi = b * pc.Tq + min(m0 + i, pc.Tq - 1);
        sq[i] = int(texelFetch(SQ, int(pc.sqo + qi)).x);
        pq[i] = bias ? int(texelFetch(PQ, int(pc.pqo + qi)).x) : 0;
        m[i] = LOWEST;
        l[i] = 0.0;
    }

    uint last = causal ? min(Tk, m0 + rows) : Tk;  // keys past the block's last query are all masked
    uint klo = 0u, khi = Tk;
    if ((pc.flags & ATTN_RANGES) != 0u) {
        uint e = pc.ro + 2u * (b * ((pc.Tq + TM - 1u) / TM) + gl_WorkGroupID.x);
        klo = kr[e];
        khi = kr[e + 1u];
    }
    last = min(last, khi);
    bool sparse = (pc.flags & ATTN_SPARSE) != 0u, drop = (pc.flags & ATTN_DROP) != 0u;
    uint ebase = pbase - pc.po;  // element index (for the dropout hash) of row 0 of the block
    // Live chunks: [cbeg, last). Sparse: sweep only them and the zero hull [zb, ze), since on
    // lavapipe even an empty loop trip over a chunk costs about a third of a live one.
    const uint CH = SG * TN;
    uint cbeg = min(klo / CH * CH, last), zb = 0u, ze = Tk;
    if (sparse) attn_zero_hull(pc.qro, b, m0, rows, Tk, zb, ze);
    uint s0 = sparse ? (cbeg < last ? min(cbeg, zb) : zb) : 0u;
    uint s1 = sparse ? (cbeg < last ? max(last, ze) : ze) : Tk;
    if (sparse && zb == ze) s0 = cbeg, s1 = last;
    for (uint c = s0; c < s1; c += CH) {
        uint c0 = c + lane * TN;
        if (c >= last || c + SG * TN <= klo) {  // no visible key in the chunk: P = 0
            if (sparse && (c < zb || c >= ze)) continue;
            [[unroll]] for (uint i = 0; i < TM; i++) {
                if (i >= rows) break;
                uint row = pbase + i * Tk, drow = pc.pdo + ebase + i * Tk;
#ifdef PV4
                [[unroll]] for (uint t = 0; t < TN; t += 4)
                    if (c0 + t < Tk) {
                        p4[(row + c0 + t) >> 2] = vec4(0.0);
                        if (drop) pd4[(drow + c0 + t) >> 2] = vec4(0.0);
                    }
#else
                [[unroll]] for (uint t = 0; t < TN; t++)
                    if (c0 + t < Tk) {
                        p[row + c0 + t] = 0.0;
                        if (drop) pd[drow + c0 + t] = 0.0;
                    }
#endif
            }
            continue;
        }
        tile_product(rows, c0);
        int sk[TN], pk[TN];
        [[unroll]] for (uint t = 0; t < TN; t++) {
            uint kj = b * Tk + min(c0 + t, Tk - 1);
            sk[t] = c0 + t < Tk ? int(texelFetch(SK, int(pc.sko + kj)).x) : 0;
            pk[t] = bias ? int(texelFetch(PK, int(pc.pko + kj)).x) : 0;
        }
        [[unroll]] for (uint i = 0; i < TM; i++) {
            float s[TN];
            float cm = LOWEST;
            [[unroll]] for (uint t = 0; t < TN; t++) {
                bool vis = sk[t] != 0 && (padonly || sk[t] == sq[i]) && (!causal || c0 + t <= m0 + i);
                float v = acc[i][t];
                if (bias) {
                    int rel = clamp(pk[t] - pq[i], -L, L);
                    int bk = clamp(int(texelFetch(LUT, int(pc.luo + uint(rel + L))).x), 0, int(pc.nb) - 1);
                    v += texelFetch(TAB, int(pc.tbo + uint(bk) * pc.H + h)).x;
                }
                s[t] = vis ? v : LOWEST;
                cm = max(cm, s[t]);
            }
            float mn = max(m[i], cm), sum = 0.0;
            [[unroll]] for (uint t = 0; t < TN; t++) sum += s[t] > LOWEST ? exp(s[t] - mn) : 0.0;
            l[i] = l[i] * exp(m[i] - mn) + sum;
            m[i] = mn;
            if (i < rows) {
                uint row = pbase + i * Tk;
#ifdef PV4
                [[unroll]] for (uint t = 0; t < TN; t += 4)
                    if (c0 + t < Tk) p4[(row + c0 + t) >> 2] = vec4(s[t], s[t + 1], s[t + 2], s[t + 3]);
#else
                [[unroll]] for (uint t = 0; t < TN; t++)
                    if (c0 + t < Tk) p[row + c0 + t] = s[t];
#endif
            }
        }
    }

    float inv[TM];
    [[unroll]] for (uint i = 0; i < TM; i++) {
        float mm = subgroupMax(m[i]);
        float ll = subgroupAdd(l[i] * exp(m[i] - mm));
        inv[i] = ll > 0.0 ? 1.0 / ll : 0.0;
        m[i] = mm;
    }
    // Second sweep: every lane rereads only the scores it stored itself.
    uint key = drop ? fv_mix32(fv_mix32(seed[pc.seed_index]) ^ pc.salt) : 0u;
    for (uint c = cbeg; c < last; c += CH) {
        uint c0 = c + lane * TN;
        [[unroll]] for (uint i = 0; i < TM; i++) {
            if (i >= rows) break;
            uint row = pbase + i * Tk, e = ebase + i * Tk + c0;
#ifdef PV4
            [[unroll]] for (uint t = 0; t < TN; t += 4)
                if (c0 + t < Tk) {
                    vec4 s = p4[(row + c0 + t) >> 2];
                    vec4 pv = mix(vec4(0.0), exp(s - m[i]) * inv[i], greaterThan(s, vec4(LOWEST)));
                    p4[(row + c0 + t) >> 2] = pv;
                    if (drop) {
                        uvec4 hh = uvec4(fv_mix32(key + e + t), fv_mix32(key + e + t + 1u), fv_mix32(key + e + t + 2u),
                                         fv_mix32(key + e + t + 3u));
                        pd4[(pc.pdo + e + t) >> 2] = mix(vec4(0.0), pv * pc.scale, greaterThanEqual(hh >> 8, uvec4(pc.thresh)));
                    }
                }
#else
            [[unroll]] for (uint t = 0; t < TN; t++)
                if (c0 + t < Tk) {
                    float s = p[row + c0 + t];
                    float pv = s > LOWEST ? exp(s - m[i]) * inv[i] : 0.0;
                    p[row + c0 + t] = pv;
                    if (drop) pd[pc.pdo + e + t] = (fv_mix32(key + e + t) >> 8) >= pc.thresh ? pv * pc.scale : 0.0;
                }
#endif
        }
    }
}
