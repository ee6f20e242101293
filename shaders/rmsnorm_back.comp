#version 450
#extension GL_GOOGLE_include_directive : require
// RMSNorm backward for the input: with r = 1/sqrt(mean(x^2)+eps), xhat = x r and g = w dy,
// dx = r (g - xhat mean(g xhat)). Overwrites dx, or adds to it when accumulate != 0 (residual).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer DY { float dy[]; };
layout(std430, binding = 3) buffer DX { float dx[]; };
layout(push_constant) uniform P { uint rows, dim, xo, wo, dyo, dxo; float eps; uint accumulate; } p;

#include "rowsum.glsl"

void main() {
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x;
    uint xb = p.xo + row * p.dim, db = p.dyo + row * p.dim, ob = p.dxo + row * p.dim;
    float ss = 0.0, gx = 0.0;
    for (uint j = t; j < p.dim; j += WG) {
        float xv = x[xb + j];
        ss += xv * xv;
        gx += w[p.wo + j] * dy[db + j] * xv;
    }
    ss = rowsum(ss);
    gx = rowsum(gx);
    float r = inversesqrt(ss / float(p.dim) + p.eps);
    float c = gx * r * r / float(p.dim); // mean(g xhat) * r
    for (uint j = t; j < p.dim; j += WG) {
        float v = r * (w[p.wo + j] * dy[db + j] - x[xb + j] * c);
        dx[ob + j] = p.accumulate != 0u ? dx[ob + j] + v : v;
    }
}
