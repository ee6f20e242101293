#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, factored pass 1 of 5: one workgroup per chunk of rows. Updates the row second moment
// (row = b2t*row + (1-b2t) * mean_j(g^2 + eps1)), writes the chunk's column partial sums of
// g^2 + eps1 and its sum of p^2 (for RMS(p), taken before the update). Sums run in a fixed order.
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
    float eps1 = hyp(H_EPS1), b2t = hyp(H_BETA2T), omb = hyp(H_OMB2T);
    for (uint j = t; j < pc.cols; j += WG) {
        float s = head ? xs[x_cpart() + k * pc.cols + j] : 0.0;
        for (uint i = r0; i < r1; i++) {
            float gv = g[pc.go + i * pc.cols + j];
            s += gv * gv + eps1;
        }
        xs[x_cpart() + k * pc.cols + j] = s;
    }
    float ps = head ? xs[pc.cin + t] : 0.0;
    for (uint i = r0; i < r1; i++) {
        float s = 0.0;
        for (uint j = t; j < pc.cols; j += WG) {
            float gv = g[pc.go + i * pc.cols + j], pv = p[pc.po + i * pc.cols + j];
            s += gv * gv + eps1;
            ps += pv * pv;
        }
        s = rowsum(s);
        if (t == 0) st[pc.so + i] = b2t * st[pc.so + i] + omb * (s / float(pc.cols));
    }
    if (tail) {
        xs[pc.cout + t] = ps;
        return;
    }
    ps = rowsum(ps);
    if (t == 0) xs[x_psq() + k] = ps;
}
