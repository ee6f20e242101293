#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, factored pass 2 of 5: workgroups 0..ceil(cols/WG)-1 finish the column second moment
// (col = b2t*col + (1-b2t) * mean_i(g^2 + eps1)) by summing the chunk partials in order; the one
// extra last workgroup computes mean(row) for the factored approximation.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
#include "opt_adafactor.glsl"
#include "rowsum.glsl"

void main() {
    uint wg = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    uint ncg = (pc.cols + WG - 1) / WG;
    if (wg < ncg) {
        uint j = wg * WG + t;
        if (j >= pc.cols) return;
        float s = 0.0;
        for (uint k = 0; k < pc.nch; k++) s += xs[x_cpart() + k * pc.cols + j];
        uint c = pc.so + pc.rows + j;
        st[c] = hyp(H_BETA2T) * st[c] + hyp(H_OMB2T) * (s / float(pc.rows));
    } else {
        float s = 0.0;
        for (uint i = t; i < pc.rows; i += WG) s += st[pc.so + i];
        s = rowsum(s);
        if (t == 0) xs[pc.xo + X_RMEAN] = s / float(pc.rows);
    }
}
