#version 450
#extension GL_GOOGLE_include_directive : require
// T5 layer norm (RMSNorm): y = w * x / sqrt(mean(x^2) + eps); no mean subtraction, no bias, the
// variance in fp32 (HF T5LayerNorm). One workgroup per row.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

#include "load.glsl"
FV_INPUT(0, x)
FV_INPUT(1, w)
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint rows, dim, xo, wo, yo; float eps; } p;

#include "rowsum.glsl"

void main() {
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x;
    uint xb = p.xo + row * p.dim, yb = p.yo + row * p.dim;
    float ss = 0.0;
    for (uint j = t; j < p.dim; j += WG) {
        float v = FV_LD(x, xb + j);
        ss += v * v;
    }
    float r = inversesqrt(rowsum(ss) / float(p.dim) + p.eps);
    for (uint j = t; j < p.dim; j += WG) y[yb + j] = FV_LD(w, p.wo + j) * (FV_LD(x, xb + j) * r);
}
