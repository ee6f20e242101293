#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
// fp32 -> fp16 cast: y[i] = half(x[i]), round to nearest, ties to even; beyond the fp16 range
// (|x| >= 65520) the result is +-inf, as torch's .half() gives; NaN stays a quiet NaN (top
// payload bits kept, as io/half.c); subnormals are produced exactly. The rounding (integer
// arithmetic on the bits) lives in common/half.glsl, shared with transpose.comp.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { uint16_t y[]; };
layout(push_constant) uniform P { uint n, xo, yo; } p;

#include "half.glsl"

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG;
    if (i >= p.n) return;
    y[p.yo + i] = uint16_t(to_half(floatBitsToUint(x[p.xo + i])));
}
