#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, one workgroup: sums the chunk partials in order into RMS(p) and RMS(u), then
// lr = step_lr * (scale_parameter ? max(eps2, RMS(p)) : 1) and the update coefficient
// lr / max(1, RMS(u)/clip_threshold) (HF clips by the update's RMS, then scales by lr).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
#include "opt_adafactor.glsl"
#include "rowsum.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    float ps = 0.0, us = 0.0;
    for (uint k = t; k < pc.nch; k += WG) {
        ps += xs[x_psq() + k];
        us += xs[x_usq() + k];
    }
    ps = rowsum(ps);
    us = rowsum(us);
    if (t == 0) {
        float n = float(pc.rows * pc.cols);
        float rms_p = sqrt(ps / n), rms_u = sqrt(us / n);
        float lr = hyp(H_STEP_LR);
        if (floatBitsToUint(hyp(H_SCALE)) != 0u) lr *= max(hyp(H_EPS2), rms_p);
        xs[pc.xo + X_LR] = lr;
        xs[pc.xo + X_COEF] = lr / max(1.0, rms_u / hyp(H_CLIP));
        xs[pc.xo + X_RMSP] = rms_p;
        xs[pc.xo + X_RMSU] = rms_u;
    }
}
