#version 450
#extension GL_GOOGLE_include_directive : require
// Feed-forward activation, forward: out = act(a) (* b when GATED). ACT numbers the activation as
// common/gelu_act.glsl does (2: the tanh GELU of HF's NewGELUActivation, "gelu_new", T5 v1.1 /
// Flan-T5 "gated-gelu"; 0: ReLU, original T5 "relu"). a, b, out are [rows, cols] slices with their
// own row strides, so a and b can be the two halves of one fused [rows, 2*d_ff] GEMM output. One
// workgroup per row, columns strided. -DDROP (gelu_gated_drop) applies inverted dropout to out
// with fv_dropout's mask over element index row * cols + col (binding 3 holds the seed).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint ACT = 0;
layout(constant_id = 2) const uint GATED = 1;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
#ifdef DROP
layout(std430, binding = 3) readonly buffer S { uint seed[]; };
layout(push_constant) uniform P { uint rows, cols, ao, lda, bo, ldb, oo, ldo, salt, thresh; float scale; uint seed_index; } p;
#else
layout(push_constant) uniform P { uint rows, cols, ao, lda, bo, ldb, oo, ldo; } p;
#endif

#include "gelu_act.glsl"

void main() {
    uint r = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (r >= p.rows) return;
#ifdef DROP
    drop_begin(seed[p.seed_index]);
#endif
    for (uint c = gl_LocalInvocationID.x; c < p.cols; c += WG) {
        float v = act_f(a[p.ao + r * p.lda + c]);
        if (GATED != 0) v *= b[p.bo + r * p.ldb + c];
#ifdef DROP
        v = drop_keep(r * p.cols + c) ? v * p.scale : 0.0;
#endif
        o[p.oo + r * p.ldo + c] = v;
    }
}
