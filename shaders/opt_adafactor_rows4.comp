#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, factored pass 1, vec4 path of opt_adafactor_rows.comp: one workgroup per chunk of
// rows reads each g and p vec4 once, updating the row second moment (row = b2t*row + (1-b2t) *
// mean_j(g^2 + eps1)), and writes the chunk's column partial sums of g^2 + eps1 (kept in registers
// over the chunk) and its sum of p^2. Sums run in a fixed order.
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
    uint xc = x_cpart() + k * pc.cols;
    float eps1 = hyp(H_EPS1), b2t = hyp(H_BETA2T), omb = hyp(H_OMB2T);
    vec4 cacc[CA];
    for (uint a = 0; a < CA; a++) {
        uint j = t + a * WG;
        cacc[a] = head && j < c4 ? vec4(xs[xc + 4u * j], xs[xc + 4u * j + 1u], xs[xc + 4u * j + 2u], xs[xc + 4u * j + 3u])
                                 : vec4(0.0);
    }
    vec4 ps = head ? vec4(xs[pc.cin + 4u * t], xs[pc.cin + 4u * t + 1u], xs[pc.cin + 4u * t + 2u], xs[pc.cin + 4u * t + 3u])
                   : vec4(0.0);
    for (uint i = r0; i < r1; i++) {
        vec4 rs = vec4(0.0);
        for (uint a = 0; a < CA; a++) {
            uint j = t + a * WG;
            if (j < c4) {
                vec4 gv = FV_LD4(g, pc.go + i * c4 + j), pv = P_LD(pc.po + i * c4 + j);
                vec4 q = gv * gv + eps1;
                cacc[a] += q;
                rs += q;
                ps += pv * pv;
            }
        }
        float s = rowsum((rs.x + rs.y) + (rs.z + rs.w));
        if (t == 0) st[pc.so + i] = b2t * st[pc.so + i] + omb * (s / float(pc.cols));
    }
    for (uint a = 0; a < CA; a++) {
        uint j = t + a * WG;
        if (j < c4) {
            xs[xc + 4u * j] = cacc[a].x;
            xs[xc + 4u * j + 1u] = cacc[a].y;
            xs[xc + 4u * j + 2u] = cacc[a].z;
            xs[xc + 4u * j + 3u] = cacc[a].w;
        }
    }
    if (tail) {
        xs[pc.cout + 4u * t] = ps.x;
        xs[pc.cout + 4u * t + 1u] = ps.y;
        xs[pc.cout + 4u * t + 2u] = ps.z;
        xs[pc.cout + 4u * t + 3u] = ps.w;
        return;
    }
    float pst = rowsum((ps.x + ps.y) + (ps.z + ps.w));
    if (t == 0) xs[x_psq() + k] = pst;
}
