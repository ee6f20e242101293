#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, factored pass 3, vec4 path of opt_adafactor_usq.comp: one workgroup per chunk of
// rows sums the squares of the unclipped update u = g * rsqrt(row/mean(row)) * rsqrt(col), for
// RMS(u) in the clipping; the column factors are computed once per workgroup.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 8;
layout(constant_id = 1) const uint CA = 1;
#include "opt_adafactor4.glsl"
#include "rowsum.glsl"

void main() {
    uint k = pc.k0 + gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    if (k >= pc.nch) return;
    uint c4 = pc.cols / 4u, r0, r1;
    bool head, tail;
    chunk_rows(k, r0, r1, head, tail);
    vec4 cf[CA];
    col_factors(cf);
    float rmean = xs[pc.xo + X_RMEAN];
    vec4 us = head ? vec4(xs[pc.cin + 4u * t], xs[pc.cin + 4u * t + 1u], xs[pc.cin + 4u * t + 2u], xs[pc.cin + 4u * t + 3u])
                   : vec4(0.0);
    for (uint i = r0; i < r1; i++) {
        float rf = inversesqrt(st[pc.so + i] / rmean);
        for (uint a = 0; a < CA; a++) {
            uint j = t + a * WG;
            if (j < c4) {
                vec4 u = rf * cf[a] * FV_LD4(g, pc.go + i * c4 + j);
                us += u * u;
            }
        }
    }
    if (tail) {
        xs[pc.cout + 4u * t] = us.x;
        xs[pc.cout + 4u * t + 1u] = us.y;
        xs[pc.cout + 4u * t + 2u] = us.z;
        xs[pc.cout + 4u * t + 3u] = us.w;
        return;
    }
    float s = rowsum((us.x + us.y) + (us.z + us.w));
    if (t == 0) xs[x_usq() + k] = s;
}
