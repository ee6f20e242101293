#version 450
#extension GL_GOOGLE_include_directive : require
// Residual add with inverted dropout, in place: x += keep ? y * scale : 0 (scale = 1 / (1 - rate)),
// keep decided by the same counter-based hash of (seed, salt, element index) as dropout.comp, so
// the backward (dropout.comp applied to the incoming gradient with the same salt) sees the same
// mask. rate 0 keeps everything: a plain add. Elements from `first` on (the vec4 path,
// dropout4.comp, does the ones before).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer S { uint seed[]; };
layout(std430, binding = 2) buffer X { float x[]; };
layout(push_constant) uniform P { uint n, yo, xo, salt, thresh; float scale; uint seed_index, first; } p;

#include "hash.glsl"

void main() {
    uint i = p.first + gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG;
    if (i >= p.n) return;
    uint h = fv_hash3(seed[p.seed_index], p.salt, i);
    bool keep = (h >> 8) >= p.thresh; // = float(h >> 8) * 2^-24 >= rate, see the header
    x[p.xo + i] += keep ? y[p.yo + i] * p.scale : 0.0;
}
