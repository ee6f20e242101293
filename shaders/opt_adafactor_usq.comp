#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, factored pass 3 of 5: one workgroup per chunk of rows sums the squares of the
// unclipped update u = g * rsqrt(row/mean(row)) * rsqrt(col), for RMS(u) in the clipping.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
#include "opt_adafactor.glsl"
#include "rowsum.glsl"

void main() {
    uint k = pc.k0 + gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    if (k >= pc.nch) return;
    uint r0, r1;
    bool head, tail;
    chunk_rows(k, r0, r1, head, tail);
    float rmean = xs[pc.xo + X_RMEAN], us = head ? xs[pc.cin + t] : 0.0;
    for (uint i = r0; i < r1; i++) {
        float rf = inversesqrt(st[pc.so + i] / rmean);
        for (uint j = t; j < pc.cols; j += WG) {
            float u = rf * inversesqrt(st[pc.so + pc.rows + j]) * g[pc.go + i * pc.cols + j];
            us += u * u;
        }
    }
    if (tail) {
        xs[pc.cout + t] = us;
        return;
    }
    us = rowsum(us);
    if (t == 0) xs[x_usq() + k] = us;
}
