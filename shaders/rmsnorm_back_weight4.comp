#version 450
#extension GL_GOOGLE_include_directive : require
// vec4 path of pass 1 of shaders/rmsnorm_back_weight.comp: dw[j] += sum over rows, in row order, of
// dy[row, j] * x[row, j] * rs[row], one invocation per 4 adjacent columns (the same operations in
// the same order per column as the scalar pass, so the same sums). dim and offsets count vec4s;
// rs comes from rmsnorm4.comp (BACK). -DTEXEL reads x, dy and dw's current value (binding 4)
// through RGBA32F texel views.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

#include "vec4io.glsl"
FV_IN4(0, x)
FV_IN4(1, dy)
layout(std430, binding = 2) readonly buffer RS { float rs[]; };
layout(std430, binding = 3) buffer DW { vec4 dw[]; };
#ifdef TEXEL
FV_IN4(4, dw_in)
#define DW_LD(i) FV_LD4(dw_in, i)
#else
#define DW_LD(i) dw[i]
#endif
layout(push_constant) uniform P { uint rows, dim, xo, dyo, dwo; float eps; } p;

void main() {
    uint j = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x;
    if (j >= p.dim) return;
    vec4 acc = vec4(0.0);
    for (uint row = 0; row < p.rows; row++)
        acc += FV_LD4(dy, p.dyo + row * p.dim + j) * FV_LD4(x, p.xo + row * p.dim + j) * rs[row];
    dw[p.dwo + j] = DW_LD(p.dwo + j) + acc;
}
