#version 450
#extension GL_GOOGLE_include_directive : require
// vec4 path of shaders/dropout.comp (y = keep ? x * scale : 0) and, with -DADD, of
// shaders/dropout_add.comp (y += keep ? x * scale : 0): the same hash of (seed, salt, element
// index) per element, so the masks are those of the scalar shaders. Every invocation handles U
// vec4s strided by WG; n and the offsets count vec4s. With -DTEXEL, x (and y's current value for
// ADD, binding 3 = a texel view of y's buffer) are read through RGBA32F texel views.
// The keep test is rewritten exactly (see dropout.comp): one hash round per element on a uvec4.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint U = 4;

#include "vec4io.glsl"
FV_IN4(0, x)
layout(std430, binding = 1) readonly buffer S { uint seed[]; };
layout(std430, binding = 2) buffer Y { vec4 y[]; };
#if defined(ADD) && defined(TEXEL)
FV_IN4(3, y_in)
#define Y_LD(i) FV_LD4(y_in, i)
#else
#define Y_LD(i) y[i]
#endif
layout(push_constant) uniform P { uint n, xo, yo, salt, thresh; float scale; uint seed_index; } p;

#include "hash.glsl"

void main() {
    uint base = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG * U + gl_LocalInvocationID.x;
    uint key = fv_mix32(fv_mix32(seed[p.seed_index]) ^ p.salt);
    for (uint k = 0; k < U; k++) {
        uint i = base + k * WG;
        if (i >= p.n) return;
        // fv_hash3(seed, salt, e) = fv_mix32(key + e), spelled on a uvec4
        uvec4 h = uvec4(key) + uvec4(i * 4u, i * 4u + 1u, i * 4u + 2u, i * 4u + 3u);
        h ^= h >> 16;
        h *= 0x7feb352du;
        h ^= h >> 15;
        h *= 0x846ca68bu;
        h ^= h >> 16;
        vec4 r = mix(vec4(0.0), FV_LD4(x, p.xo + i) * p.scale, greaterThanEqual(h >> 8, uvec4(p.thresh)));
#ifdef ADD
        y[p.yo + i] = Y_LD(p.yo + i) + r;
#else
        y[p.yo + i] = r;
#endif
    }
}
