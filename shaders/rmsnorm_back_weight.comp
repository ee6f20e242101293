#version 450
#extension GL_GOOGLE_include_directive : require
// RMSNorm backward for the weight: dw[j] += sum over rows of dy[row,j] * x[row,j] * r[row].
// Two passes keep it deterministic: pass 0 writes r per row into `rs`; pass 1 has one invocation
// per column sum the rows in order (columns are adjacent, so loads coalesce).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint PASS = 0;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer RS { float rs[]; };
layout(std430, binding = 3) buffer DW { float dw[]; };
layout(push_constant) uniform P { uint rows, dim, xo, dyo, dwo; float eps; } p;

#include "rowsum.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    if (PASS == 0) {
        uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
        if (row >= p.rows) return;
        uint xb = p.xo + row * p.dim;
        float ss = 0.0;
        for (uint j = t; j < p.dim; j += WG) ss += x[xb + j] * x[xb + j];
        ss = rowsum(ss);
        if (t == 0) rs[row] = inversesqrt(ss / float(p.dim) + p.eps);
    } else {
        uint j = gl_WorkGroupID.x * WG + t;
        if (j >= p.dim) return;
        float acc = 0.0;
        for (uint row = 0; row < p.rows; row++) acc += dy[p.dyo + row * p.dim + j] * x[p.xo + row * p.dim + j] * rs[row];
        dw[p.dwo + j] += acc;
    }
}
