#version 450
#extension GL_GOOGLE_include_directive : require
// Adafactor, last pass, elementwise: u = coef * g * rsqrt(v) (v factored or full, as the earlier
// passes left it); with momentum m = b1*m + (1-b1)*u and u = m (HF keeps the lr-scaled update in
// m); weight decay p += -wd*lr*p; then p -= u.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
#include "opt_adafactor.glsl"

void main() {
    uint e = pc.r0 * pc.cols + (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG + gl_LocalInvocationID.x;
    if (e >= pc.r1 * pc.cols) return;
    float gv = g[pc.go + e], u;
    if ((pc.flags & FLAG_FACTORED) != 0u) {
        uint i = e / pc.cols, j = e - i * pc.cols;
        float rf = inversesqrt(st[pc.so + i] / xs[pc.xo + X_RMEAN]);
        u = rf * inversesqrt(st[pc.so + pc.rows + j]) * gv;
    } else {
        u = inversesqrt(st[pc.so + e]) * gv;
    }
    u *= xs[pc.xo + X_COEF];
    if ((pc.flags & FLAG_MOMENTUM) != 0u) {
        u = hyp(H_BETA1) * m[pc.mo + e] + hyp(H_OMB1) * u;
        m[pc.mo + e] = u;
    }
    float pv = p[pc.po + e], wd = hyp(H_WD);
    if (wd != 0.0) pv += (-wd * xs[pc.xo + X_LR]) * pv;
    p[pc.po + e] = pv - u;
}
