#version 450
#extension GL_GOOGLE_include_directive : require
// vec4 path of shaders/dropout.comp (y = keep ? x * scale : 0) and, with -DADD, of
// shaders/dropout_add.comp (y += keep ? x * scale : 0): the same hash of (seed, salt, element
// index) per element, so the masks are those of the scalar shaders. Every invocation handles U
// vec4s strided by WG; n and the offsets count vec4s. With -DTEXEL, x (and y's current value for
// ADD, binding 3 = a texel view of y's buffer) are read through RGBA32F texel views.
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
layout(push_constant) uniform P { uint n, xo, yo, salt; float rate, scale; uint seed_index; } p;

#include "hash.glsl"

void main() {
    uint base = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG * U + gl_LocalInvocationID.x;
    uint s = seed[p.seed_index];
    for (uint k = 0; k < U; k++) {
        uint i = base + k * WG;
        if (i >= p.n) return;
        vec4 xv = FV_LD4(x, p.xo + i), r;
        for (uint c = 0; c < 4; c++) {
            uint h = fv_hash3(s, p.salt, i * 4 + c);
            bool keep = float(h >> 8) * (1.0 / 16777216.0) >= p.rate;
            r[c] = keep ? xv[c] * p.scale : 0.0;
        }
#ifdef ADD
        y[p.yo + i] = Y_LD(p.yo + i) + r;
#else
        y[p.yo + i] = r;
#endif
    }
}
