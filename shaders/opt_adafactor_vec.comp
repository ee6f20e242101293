#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, unfactored (vector) pass 1 of 3: one workgroup per chunk of elements updates the full
// second moment v = b2t*v + (1-b2t)*(g^2 + eps1) and sums p^2 (before the update) and u^2 with
// u = g * rsqrt(v), in a fixed order.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
#include "opt_adafactor.glsl"
#include "rowsum.glsl"

void main() {
    uint k = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    if (k >= pc.nch) return;
    uint n = pc.rows * pc.cols;
    uint e0 = k * pc.per, e1 = min(n, e0 + pc.per);
    float eps1 = hyp(H_EPS1), b2t = hyp(H_BETA2T), omb = hyp(H_OMB2T);
    float ps = 0.0, us = 0.0;
    for (uint e = e0 + t; e < e1; e += WG) {
        float gv = g[pc.go + e], pv = p[pc.po + e];
        float v = b2t * st[pc.so + e] + omb * (gv * gv + eps1);
        st[pc.so + e] = v;
        float u = inversesqrt(v) * gv;
        us += u * u;
        ps += pv * pv;
    }
    ps = rowsum(ps);
    us = rowsum(us);
    if (t == 0) {
        xs[x_psq() + k] = ps;
        xs[x_usq() + k] = us;
    }
}
