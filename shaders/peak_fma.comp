#version 450
#extension GL_GOOGLE_include_directive : require
// Peak arithmetic microbenchmark: CHAINS independent vec4 fma() chains per invocation (fma() is
// what the kernels use; counted as 2 FLOPs; on lavapipe it runs twice as fast as a*b+c). The host
// tries several CHAINS and keeps the best: too few chains leave the FMA pipes waiting on latency,
// too many spill registers (lavapipe keeps each vec4 component of an 8-lane subgroup in one
// 256-bit register, so 8 vec4 chains need 32 of its 16 registers).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint ITERS = 1024;
layout(constant_id = 2) const uint CHAINS = 2; // 1..8

layout(std430, binding = 0) writeonly buffer O { vec4 o[]; };
layout(push_constant) uniform P { float seed; } p;

void main() {
    vec4 a0 = vec4(p.seed + float(gl_GlobalInvocationID.x)), a1 = a0 + 1.0, a2 = a0 + 2.0, a3 = a0 + 3.0;
    vec4 a4 = a0 + 4.0, a5 = a0 + 5.0, a6 = a0 + 6.0, a7 = a0 + 7.0;
    const vec4 m = vec4(0.999), c = vec4(0.001);
    for (uint i = 0; i < ITERS; i++) {
        a0 = fma(a0, m, c);
        if (CHAINS > 1) a1 = fma(a1, m, c);
        if (CHAINS > 2) a2 = fma(a2, m, c);
        if (CHAINS > 3) a3 = fma(a3, m, c);
        if (CHAINS > 4) a4 = fma(a4, m, c);
        if (CHAINS > 5) a5 = fma(a5, m, c);
        if (CHAINS > 6) a6 = fma(a6, m, c);
        if (CHAINS > 7) a7 = fma(a7, m, c);
    }
    vec4 s = a0;
    if (CHAINS > 1) s += a1;
    if (CHAINS > 2) s += a2;
    if (CHAINS > 3) s += a3;
    if (CHAINS > 4) s += a4;
    if (CHAINS > 5) s += a5;
    if (CHAINS > 6) s += a6;
    if (CHAINS > 7) s += a7;
    o[gl_GlobalInvocationID.x] = s;
}
