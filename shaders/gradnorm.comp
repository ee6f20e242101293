#version 450
#extension GL_GOOGLE_include_directive : require
// Global gradient norm, pass 1: one workgroup per chunk of one tensor (chunk table built by the
// host once per parameter layout: uvec2 {first element, count}), writing the chunk's sum of
// squares to partial[chunk]. Fixed chunks and a fixed tree make the result deterministic.
// -DTEXEL (CPU devices): the 4-aligned middle of each chunk is read as 4-float texels through an
// RGBA32F view of the same buffer (binding 3; on lavapipe one texel fetch is one 8-lane gather,
// an indexed storage load a per-lane loop), the unaligned head and tail (< 4 elements each)
// from the storage binding; the order of the additions is fixed by the layout alone as well.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer D { float data[]; };
layout(std430, binding = 1) readonly buffer T { uvec2 table[]; };
layout(std430, binding = 2) writeonly buffer PS { float partial[]; };
#ifdef TEXEL
layout(binding = 3) uniform samplerBuffer data4;
#endif
layout(push_constant) uniform P { uint chunk0, nchunks, po; } p;

#include "rowsum.glsl"

void main() {
    uint w = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (w >= p.nchunks) return;
    uvec2 c = table[p.chunk0 + w];
    uint t = gl_LocalInvocationID.x;
    float s = 0.0;
#ifdef TEXEL
    uint e = c.x + c.y, a = min((c.x + 3u) & ~3u, e), b = max(e & ~3u, a);
    vec4 s4 = vec4(0.0);
    for (uint j = a / 4u + t; j < b / 4u; j += WG) {
        vec4 v = texelFetch(data4, int(j));
        s4 += v * v;
    }
    s = (s4.x + s4.y) + (s4.z + s4.w);
    if (t < a - c.x) s += data[c.x + t] * data[c.x + t];
    if (t < e - b) s += data[b + t] * data[b + t];
#else
    for (uint j = t; j < c.y; j += WG) {
        float v = data[c.x + j];
        s += v * v;
    }
#endif
    s = rowsum(s);
    if (t == 0) partial[p.po + p.chunk0 + w] = s;
}
