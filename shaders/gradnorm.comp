#version 450
#extension GL_GOOGLE_include_directive : require
// Global gradient norm, pass 1: one workgroup per chunk of one tensor (chunk table built by the
// host once per parameter layout: uvec2 {first element, count}), writing the chunk's sum of
// squares to partial[chunk]. Fixed chunks and a fixed tree make the result deterministic.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer D { float data[]; };
layout(std430, binding = 1) readonly buffer T { uvec2 table[]; };
layout(std430, binding = 2) writeonly buffer PS { float partial[]; };
layout(push_constant) uniform P { uint chunk0, nchunks, po; } p;

#include "rowsum.glsl"

void main() {
    uint w = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (w >= p.nchunks) return;
    uvec2 c = table[p.chunk0 + w];
    float s = 0.0;
    for (uint j = gl_LocalInvocationID.x; j < c.y; j += WG) {
        float v = data[c.x + j];
        s += v * v;
    }
    s = rowsum(s);
    if (gl_LocalInvocationID.x == 0) partial[p.po + p.chunk0 + w] = s;
}
