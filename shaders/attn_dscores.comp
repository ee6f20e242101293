#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_arithmetic : require
// Attention score gradient in one kernel, texel path (CPU devices, lavapipe): for TM query rows of
// one (b, h), dP = dO V^T (common/attn_tile.glsl), through the dropout mask when on (the hash of
// element ((b*H + h)*Tq + i)*Tk + j, as dropout.comp), then dS = P (dP - sum_j P dP) into ds; the
// same result as the GEMM dP = dO V^T, fv_dropout and attn_softmax_back.comp. One sweep over the
// keys: the row dot sum_j P_ij dP_ij equals dO_i . O_i with the forward's output O = dropped(P) V
// (the flash-attention identity; it holds with dropout since dP carries the same mask and scale),
// so it is known before the sweep and dP is never stored. With HIST it also writes each row's
// sums of dS per relative-position bucket (for relpos_grad.comp): each lane sums into its own
// slots of a shared [TM][NB][SG] array, then lane l adds the SG slots of buckets l, l + SG, ... in
// lane order: a fixed order, deterministic.
// With ranges (flag 8, src/ops/attn_ranges.h) only the key chunks inside the block's hull of
// visible keys are live (P = 0 elsewhere, so dS = 0 there, as past the causal diagonal).
// Sparse (flag 16, the host's choice as in attn_fwd.comp): a dead chunk's dS is written (as 0)
// only where the transposed product dK = dS^T Q reads it (common/attn_tile.glsl attn_chunk_read).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 8;     // = SG: one subgroup
layout(constant_id = 1) const uint SG = 8;
layout(constant_id = 2) const bool VX = false; // dO bound as 4-wide texels
layout(constant_id = 3) const bool VY = false; // V bound as 4-wide texels
layout(constant_id = 4) const uint NB = 1;     // buckets (1 without the histogram)
layout(constant_id = 5) const bool VO = false; // O bound as 4-wide texels

#define TM 16
#define TN 8
#define KU 8

layout(binding = 0) uniform samplerBuffer X;   // dO
layout(binding = 1) uniform samplerBuffer Y;   // V
layout(binding = 2) uniform samplerBuffer PT;  // P (RGBA32F with PV4)
layout(binding = 3) uniform usamplerBuffer PQ;
layout(binding = 4) uniform usamplerBuffer PK;
layout(binding = 5) uniform usamplerBuffer LUT;
layout(std430, binding = 6) readonly buffer SD { uint seed[]; };
#ifdef PV4
layout(std430, binding = 7) writeonly buffer DS { vec4 ds4[]; };
#else
layout(std430, binding = 7) writeonly buffer DS { float ds[]; };
#endif
layout(std430, binding = 8) writeonly buffer HI { float hist[]; };
layout(binding = 9) uniform samplerBuffer OT;  // O, the forward's output (token stride os)
layout(std430, binding = 10) readonly buffer KR { uint kr[]; };  // with F_RANGES: key ranges
layout(push_constant) uniform P {
    uint Tq, Tk, H, dk, os, vs, oo, vo, po, dso, pqo, pko, luo, L, ho, flags, salt, seed_index;
    float rate, scale;
    uint ob;  // element offset of O
    uint ro;  // element offset of the key ranges
    uint qro; // element offset of the query ranges (sparse)
} pc;

const uint F_CAUSAL = 1u, F_HIST = 2u, F_DROP = 4u, F_RANGES = 8u, F_SPARSE = 16u;

#include "hash.glsl"

uint xbase, xs, ybase, ys, Tk, D;
#include "attn_tile.glsl"

shared float hsum[TM * NB * SG];

// The lane's TN probabilities of row i at columns c0.. (0 past Tk).
void load_p(uint prow, uint c0, out float pv[TN]) {
#ifdef PV4
    [[unroll]] for (uint t = 0; t < TN; t += 4) {
        vec4 v = c0 + t < Tk ? texelFetch(PT, int((prow + c0 + t) >> 2)) : vec4(0.0);
        pv[t] = v.x; pv[t + 1] = v.y; pv[t + 2] = v.z; pv[t + 3] = v.w;
    }
#else
    [[unroll]] for (uint t = 0; t < TN; t++) pv[t] = c0 + t < Tk ? texelFetch(PT, int(prow + c0 + t)).x : 0.0;
#endif
}

// One float of dO / O by element index, whichever texel format they are bound as.
float elem_x(uint e) { return VX ? texelFetch(X, int(e >> 2))[e & 3u] : texelFetch(X, int(e)).x; }
float elem_o(uint e) { return VO ? texelFetch(OT, int(e >> 2))[e & 3u] : texelFetch(OT, int(e)).x; }

void main() {
    uint m0 = gl_WorkGroupID.x * TM, z = gl_WorkGroupID.y, b = z / pc.H, h = z % pc.H;
    uint lane = gl_SubgroupInvocationID, rows = min(TM, pc.Tq - m0);
    Tk = pc.Tk;
    D = pc.dk;
    xs = pc.os;
    ys = pc.vs;
    xbase = pc.oo + (b * pc.Tq + m0) * xs + h * D;
    ybase = pc.vo + b * Tk * ys + h * D;
    uint srow0 = z * pc.Tq + m0;  // score row of query m0
    bool causal = (pc.flags & F_CAUSAL) != 0u, want = (pc.flags & F_HIST) != 0u, drop = (pc.flags & F_DROP) != 0u;
    uint sd = drop ? seed[pc.seed_index] : 0u;
    int L = int(pc.L);

    // dot_i = dO_i . O_i: lanes take strided columns, one subgroup sum per row.
    float dot[TM];
    [[unroll]] for (uint i = 0; i < TM; i++) {
        float s = 0.0;
        if (i < rows) {
            uint xr = xbase + i * xs, orow = pc.ob + (b * pc.Tq + m0 + i) * xs + h * D;
            for (uint e = lane; e < D; e += SG) s += elem_x(xr + e) * elem_o(orow + e);
        }
        dot[i] = subgroupAdd(s);
    }

    if (want)
        for (uint e = 0; e < TM * NB; e++) hsum[e * SG + lane] = 0.0;
    int pq[TM];
    [[unroll]] for (uint i = 0; i < TM; i++)
        pq[i] = want ? int(texelFetch(PQ, int(pc.pqo + b * pc.Tq + min(m0 + i, pc.Tq - 1))).x) : 0;
    uint last = causal ? min(Tk, m0 + rows) : Tk;  // P is 0 past the block's last query
    uint klo = 0u;
    if ((pc.flags & F_RANGES) != 0u) {
        uint e = pc.ro + 2u * (b * ((pc.Tq + TM - 1u) / TM) + gl_WorkGroupID.x);
        klo = kr[e];
        last = min(last, kr[e + 1u]);
    }
    // Sparse: sweep only the live chunks [cbeg, last) and the zero hull [zb, ze) (as attn_fwd.comp).
    const uint CH = SG * TN;
    bool sparse = (pc.flags & F_SPARSE) != 0u;
    uint cbeg = min(klo / CH * CH, last), zb = 0u, ze = Tk;
    if (sparse) attn_zero_hull(pc.qro, b, m0, rows, Tk, zb, ze);
    uint s0 = sparse ? (cbeg < last ? min(cbeg, zb) : zb) : 0u;
    uint s1 = sparse ? (cbeg < last ? max(last, ze) : ze) : Tk;
    if (sparse && zb == ze) s0 = cbeg, s1 = last;
    for (uint c = s0; c < s1; c += CH) {
        uint c0 = c + lane * TN;
        bool live = c < last && c + SG * TN > klo;  // uniform over the subgroup
        if (!live && sparse && (c < zb || c >= ze)) continue;
        if (live) tile_product(rows, c0);
        int pk[TN];
        [[unroll]] for (uint t = 0; t < TN; t++)
            pk[t] = want && live ? int(texelFetch(PK, int(pc.pko + b * Tk + min(c0 + t, Tk - 1))).x) : 0;
        [[unroll]] for (uint i = 0; i < TM; i++) {
            if (i >= rows) break;
            uint row = (srow0 + i) * Tk;
            float pv[TN], g[TN];
            if (live) {
                load_p(pc.po + row, c0, pv);
                [[unroll]] for (uint t = 0; t < TN; t++) {
                    float x = acc[i][t];
                    if (drop) {
                        uint hh = fv_hash3(sd, pc.salt, row + c0 + t);
                        x = float(hh >> 8) * (1.0 / 16777216.0) >= pc.rate ? x * pc.scale : 0.0;
                    }
                    g[t] = pv[t] * (x - dot[i]);
                }
            } else {
                [[unroll]] for (uint t = 0; t < TN; t++) g[t] = 0.0;
            }
#ifdef PV4
            [[unroll]] for (uint t = 0; t < TN; t += 4)
                if (c0 + t < Tk) ds4[(pc.dso + row + c0 + t) >> 2] = vec4(g[t], g[t + 1], g[t + 2], g[t + 3]);
#else
            [[unroll]] for (uint t = 0; t < TN; t++)
                if (c0 + t < Tk) ds[pc.dso + row + c0 + t] = g[t];
#endif
            if (want && live) {
                // Runs of equal buckets (the usual case: consecutive positions share a bucket away
                // from the diagonal) are summed in registers first, so fewer shared-memory scatters.
                uint cur = 0u;
                float run = 0.0;
                [[unroll]] for (uint t = 0; t < TN; t++) {
                    int rel = clamp(pk[t] - pq[i], -L, L);
                    uint bk = uint(clamp(int(texelFetch(LUT, int(pc.luo + uint(rel + L))).x), 0, int(NB) - 1));
                    if (t > 0 && bk != cur) {
                        hsum[(i * NB + cur) * SG + lane] += run;
                        run = 0.0;
                    }
                    cur = bk;
                    run += g[t];  // g = 0 past Tk
                }
                hsum[(i * NB + cur) * SG + lane] += run;
            }
        }
    }
    // Lane l adds up the SG lanes' slots of buckets l, l + SG, ... in a fixed order (deterministic):
    // NB / SG sums per row and lane instead of NB subgroup reductions and masked stores per row.
    if (want) {
        // The workgroup is one subgroup: a subgroup barrier suffices (a workgroup barrier makes
        // lavapipe run the invocations as coroutines).
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint i = 0; i < rows; i++)
            for (uint k0 = 0; k0 < NB; k0 += SG) {
                uint k = min(k0 + lane, NB - 1), e = (i * NB + k) * SG;
                float s = 0.0;
                [[unroll]] for (uint l = 0; l < SG; l++) s += hsum[e + l];
                if (k0 + lane < NB) hist[pc.ho + (srow0 + i) * NB + k] = s;
            }
    }
}
