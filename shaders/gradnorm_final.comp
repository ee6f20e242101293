#version 450
#extension GL_GOOGLE_include_directive : require
// Global gradient norm, pass 2: one workgroup adds the per-chunk sums of squares in a fixed order
// and writes norm[0] = sqrt(total).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer PS { float partial[]; };
layout(std430, binding = 1) writeonly buffer N { float norm[]; };
layout(push_constant) uniform P { uint nchunks, po, no; } p;

#include "rowsum.glsl"

void main() {
    float s = 0.0;
    for (uint k = gl_LocalInvocationID.x; k < p.nchunks; k += WG) s += partial[p.po + k];
    s = rowsum(s);
    if (gl_LocalInvocationID.x == 0) norm[p.no] = sqrt(s);
}
