#version 450
#extension GL_GOOGLE_include_directive : require
// Peak arithmetic microbenchmark: independent vec4 multiply-add chains per invocation, so the
// measured GFLOP/s is what the device can sustain on the a*b+c pattern the kernels use (on
// fma() is what the kernels use; counted as 2 FLOPs. On lavapipe it runs twice as fast as a*b+c).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint ITERS = 1024;

layout(std430, binding = 0) writeonly buffer O { vec4 o[]; };
layout(push_constant) uniform P { float seed; } p;

void main() {
    vec4 a0 = vec4(p.seed + float(gl_GlobalInvocationID.x)), a1 = a0 + 1.0, a2 = a0 + 2.0, a3 = a0 + 3.0;
    vec4 a4 = a0 + 4.0, a5 = a0 + 5.0, a6 = a0 + 6.0, a7 = a0 + 7.0;
    const vec4 m = vec4(0.999), c = vec4(0.001);
    for (uint i = 0; i < ITERS; i++) {
        a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
        a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    }
    o[gl_GlobalInvocationID.x] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
