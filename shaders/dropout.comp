#version 450
#extension GL_GOOGLE_include_directive : require
// Inverted dropout: y = keep ? x * scale : 0 with scale = 1 / (1 - rate), with keep decided by a counter-based hash of
// (seed, element index), so the backward pass (which applies the same mask to dy) and a resumed
// run see the same mask without storing it. Elements from `first` on (the vec4 path,
// dropout4.comp, does the ones before); the mask depends on the index only. The seed is read from a device buffer so a replayed
// training step draws a fresh mask each step. In place (y may be x) is allowed.
// keep = float(h >> 8) * 2^-24 >= rate is tested as (h >> 8) >= thresh with thresh =
// ceil(rate * 2^24) from the host: both sides are exact, so it is the same test in integers.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer S { uint seed[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P { uint n, xo, yo, salt, thresh; float scale; uint seed_index, first; } p;

#include "hash.glsl"

void main() {
    uint i = p.first + gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG;
    if (i >= p.n) return;
    uint h = fv_hash3(seed[p.seed_index], p.salt, i);
    bool keep = (h >> 8) >= p.thresh; // = float(h >> 8) * 2^-24 >= rate, see the header
    y[p.yo + i] = keep ? x[p.xo + i] * p.scale : 0.0;
}
