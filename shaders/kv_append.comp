#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef F16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Decode step: write this step's key/value rows into the cache at the position held in a device
// buffer, so one recorded decode step serves every position when replayed.
// cache[b, pos, 0:width] = src[b, 0:width], pos = step[b * steps] (steps 0 or 1); cache rows have stride row_stride and
// batches stride batch_stride (elements). F16 (variant): the cache holds fp16, rounded to nearest
// even by common/half.glsl (as cast_f16 and attn_decode's in-kernel append round).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, binding = 0) readonly buffer S { float src[]; };
layout(std430, binding = 1) readonly buffer P { uint step[]; };
#ifdef F16
#include "half.glsl"
layout(std430, binding = 2) buffer C { uint16_t cache[]; };
#define STORE(x) uint16_t(to_half(floatBitsToUint(x)))
#else
layout(std430, binding = 2) buffer C { float cache[]; };
#define STORE(x) (x)
#endif
layout(push_constant) uniform PC { uint batch, width, src_stride, row_stride, batch_stride, so, co, tmax, steps; } p;

void main() {
    uint j = gl_GlobalInvocationID.x, b = gl_GlobalInvocationID.y;
    if (j >= p.width || b >= p.batch) return;
    uint pos = step[b * p.steps]; // steps = 0: one shared position; 1: one per row
    if (pos >= p.tmax) return;
    cache[p.co + b * p.batch_stride + pos * p.row_stride + j] = STORE(src[p.so + b * p.src_stride + j]);
}
