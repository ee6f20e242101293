#version 450
#extension GL_GOOGLE_include_directive : require
// Peak bandwidth microbenchmark: each invocation copies VEC vec4s (texel fetch in, storage out),
// the access pattern the texel-path kernels use.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint VEC = 4;

layout(binding = 0) uniform samplerBuffer src;
layout(std430, binding = 1) writeonly buffer D { vec4 dst[]; };
layout(push_constant) uniform P { uint n; } p; // vec4 count

void main() {
    uint base = gl_GlobalInvocationID.x * VEC;
    for (uint k = 0; k < VEC; k++)
        if (base + k < p.n) dst[base + k] = texelFetch(src, int(base + k));
}
