#version 450
#extension GL_GOOGLE_include_directive : require
// Backward of the attention softmax, in place: for one row (b, h, i),
// dS = P * (dP - sum_j dP P) overwrites dP. Masked entries have P = 0, so they get dS = 0 and
// need no mask here. With HIST = 1 it also writes the row's sums of dS per relative-position
// bucket into hist[row * NB + bucket] for the bias-table gradient (relpos_grad.comp): each
// invocation sums into its own column of a shared [NB][WG] array, then the columns are added in
// a fixed order, so the result is deterministic.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint NB = 1;

layout(std430, binding = 0) readonly buffer PP { float p[]; };
layout(std430, binding = 1) buffer DP { float dp[]; };
layout(std430, binding = 2) readonly buffer PQ { int pos_q[]; };
layout(std430, binding = 3) readonly buffer PK { int pos_k[]; };
layout(std430, binding = 4) readonly buffer LU { int lut[]; };
layout(std430, binding = 5) writeonly buffer HI { float hist[]; };
layout(push_constant) uniform P { uint rows, Tq, Tk, H, po, dpo, pqo, pko, luo, L, ho, want_hist; } pc;

#include "rowsum.glsl"

shared float hsum[NB * WG];

void main() {
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= pc.rows) return;
    uint t = gl_LocalInvocationID.x;
    uint b = row / (pc.H * pc.Tq), i = row % pc.Tq;
    uint pb = pc.po + row * pc.Tk, db = pc.dpo + row * pc.Tk, kb = b * pc.Tk;
    bool want = pc.want_hist != 0u;

    float dot = 0.0;
    for (uint j = t; j < pc.Tk; j += WG) dot += p[pb + j] * dp[db + j];
    dot = rowsum(dot);

    int pq = want ? pos_q[pc.pqo + b * pc.Tq + i] : 0;
    int L = int(pc.L);
    if (want)
        for (uint k = 0; k < NB; k++) hsum[k * WG + t] = 0.0;
    for (uint j = t; j < pc.Tk; j += WG) {
        float ds = p[pb + j] * (dp[db + j] - dot);
        dp[db + j] = ds;
        if (want) {
            int rel = clamp(pos_k[pc.pko + kb + j] - pq, -L, L);
            uint bk = uint(clamp(lut[pc.luo + uint(rel + L)], 0, int(NB) - 1));
            hsum[bk * WG + t] += ds;
        }
    }
    if (want) {
        barrier();
        for (uint k = t; k < NB; k += WG) {
            float acc = 0.0;
            for (uint u = 0; u < WG; u++) acc += hsum[k * WG + u];
            hist[pc.ho + row * NB + k] = acc;
        }
    }
}
