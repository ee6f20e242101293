#version 450
#extension GL_GOOGLE_include_directive : require
// dst[i, :] = src[idx[i], :] for rows of `width` elements: beam search reorders its caches by
// the parent beam of each new hypothesis, with the indices in a device buffer. The elements are
// moved as 32-bit words, never as floats, so any data (fp32, or fp16 pairs of an fp16 KV cache,
// whose words can look like float denormals or NaNs) is copied bit for bit.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, binding = 0) readonly buffer S { uint src[]; };
layout(std430, binding = 1) readonly buffer I { uint idx[]; };
layout(std430, binding = 2) writeonly buffer D { uint dst[]; };
layout(push_constant) uniform P { uint rows, width, src_rows, so, io, dof; } p;

void main() {
    uint j = gl_GlobalInvocationID.x, i = gl_GlobalInvocationID.y + gl_NumWorkGroups.y * gl_GlobalInvocationID.z;
    if (j >= p.width || i >= p.rows) return;
    uint r = idx[p.io + i];
    dst[p.dof + i * p.width + j] = r < p.src_rows ? src[p.so + r * p.width + j] : 0u;
}
