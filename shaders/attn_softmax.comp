#version 450
#extension GL_GOOGLE_include_directive : require
// T5 attention probabilities, in place: for one row (b, h, i) of the scores S = Q K^T (no 1/sqrt(d),
// as in T5), add the relative-position bias table[lut[clamp(pos_k[j]-pos_q[i], -L, L) + L]*H + h],
// mask invisible keys, and write P = softmax_j. Numerically stable with an online max/sum per
// invocation (Milakov & Gimelshein 2018, "Online normalizer calculation for softmax") merged in a
// fixed order. A row with no visible key (a padding query) becomes all zeros, never NaN.
// One workgroup per row; pass 1 stores the biased score back so pass 2 need not gather again.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) buffer PS { float p[]; };
layout(std430, binding = 1) readonly buffer SQ { int seg_q[]; };
layout(std430, binding = 2) readonly buffer SK { int seg_k[]; };
layout(std430, binding = 3) readonly buffer PQ { int pos_q[]; };
layout(std430, binding = 4) readonly buffer PK { int pos_k[]; };
layout(std430, binding = 5) readonly buffer TB { float tab[]; };
layout(std430, binding = 6) readonly buffer LU { int lut[]; };
layout(push_constant) uniform P {
    uint rows, Tq, Tk, H, po, sqo, sko, pqo, pko, tbo, luo, L, nb, flags;
} pc;

#include "attn_mask.glsl"

const float LOWEST = -3.0e38;
shared float red_m[WG];
shared float red_l[WG];

void main() {
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= pc.rows) return;
    uint t = gl_LocalInvocationID.x;
    uint b = row / (pc.H * pc.Tq), h = (row / pc.Tq) % pc.H, i = row % pc.Tq;
    uint base = pc.po + row * pc.Tk, kb = b * pc.Tk;
    int sq = seg_q[pc.sqo + b * pc.Tq + i];
    bool bias = (pc.flags & ATTN_BIAS) != 0u;
    int pq = bias ? pos_q[pc.pqo + b * pc.Tq + i] : 0;
    int L = int(pc.L);

    // Branch-free so SIMD CPU drivers (lavapipe) do not run both sides of a divergent if.
    float m = LOWEST, l = 0.0;
    for (uint j = t; j < pc.Tk; j += WG) {
        bool vis = attn_visible(seg_k[pc.sko + kb + j], sq, i, j, pc.flags);
        float s = p[base + j];
        if (bias) {
            int rel = clamp(pos_k[pc.pko + kb + j] - pq, -L, L);
            uint bk = uint(clamp(lut[pc.luo + uint(rel + L)], 0, int(pc.nb) - 1)); // a bad LUT cannot read out of bounds
            s += tab[pc.tbo + bk * pc.H + h];
            p[base + j] = s;
        }
        s = vis ? s : LOWEST;
        float mn = max(m, s);
        l = l * exp(m - mn) + (vis ? exp(s - mn) : 0.0);
        m = mn;
    }
    red_m[t] = m;
    red_l[t] = l;
    barrier();
    for (uint st = WG / 2; st > 0; st >>= 1) {
        if (t < st) {
            float m1 = red_m[t], m2 = red_m[t + st], mm = max(m1, m2);
            red_l[t] = red_l[t] * exp(m1 - mm) + red_l[t + st] * exp(m2 - mm);
            red_m[t] = mm;
        }
        barrier();
    }
    m = red_m[0];
    l = red_l[0];
    float inv = l > 0.0 ? 1.0 / l : 0.0;
    for (uint j = t; j < pc.Tk; j += WG) {
        bool vis = attn_visible(seg_k[pc.sko + kb + j], sq, i, j, pc.flags);
        p[base + j] = vis ? exp(p[base + j] - m) * inv : 0.0;
    }
}
