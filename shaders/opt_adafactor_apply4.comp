#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, last pass, factored vec4 path of opt_adafactor_apply.comp (same formula and order of
// operations): one workgroup per chunk of rows; u = coef * g * rsqrt(row/mean(row)) * rsqrt(col);
// with momentum m = b1*m + (1-b1)*u and u = m; weight decay p += -wd*lr*p; then p -= u. In-place
// read-modify-write of p and m, each invocation reading its own elements before writing them.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 8;
layout(constant_id = 1) const uint CA = 1;
#include "opt_adafactor4.glsl"

void main() {
    uint k = pc.k0 + gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    if (k >= pc.nch) return;
    uint c4 = pc.cols / 4u, r0, r1;
    bool head, tail;
    chunk_rows(k, r0, r1, head, tail);
    vec4 cf[CA];
    col_factors(cf);
    float rmean = xs[pc.xo + X_RMEAN], coef = xs[pc.xo + X_COEF], wd = hyp(H_WD), lrwd = -wd * xs[pc.xo + X_LR];
    float b1 = hyp(H_BETA1), omb1 = hyp(H_OMB1);
    bool mom = (pc.flags & FLAG_MOMENTUM) != 0u;
    for (uint i = r0; i < r1; i++) {
        float rf = inversesqrt(st[pc.so + i] / rmean);
        for (uint a = 0; a < CA; a++) {
            uint j = t + a * WG;
            if (j < c4) {
                uint e = i * c4 + j;
                vec4 u = rf * cf[a] * FV_LD4(g, pc.go + e);
                u *= coef;
                if (mom) {
                    u = b1 * M_LD(pc.mo + e) + omb1 * u;
                    m[pc.mo + e] = u;
                }
                vec4 pv = P_LD(pc.po + e);
                if (wd != 0.0) pv += lrwd * pv;
                p[pc.po + e] = pv - u;
            }
        }
    }
}
