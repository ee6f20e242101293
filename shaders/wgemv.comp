#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Few-row linear layer over a low-bit weight (decoding: M <= 16 tokens):
//   y[m, n] = sum_k x[m, k] W[n, k]  (+ beta * y),  W stored f16 / bf16 / q8 (src/io/wpack.h).
// Decoding reads every weight once per token, so the kernel streams W once: a workgroup owns NC
// output columns and MR rows of x; its invocations stride along K one 4-weight unit (one q8 word,
// two f16/bf16 words) at a time, so neighbouring invocations read neighbouring words, and each
// unit is dequantized once in registers and used for all MR rows. The partial sums are reduced
// over the workgroup with rowsum.glsl, which works at any subgroup size (one subgroup per
// workgroup on CPU devices: no barrier). fp32 accumulation throughout; q8 multiplies a unit's
// 4-term dot product by its block scale once.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;  // a power of two
layout(constant_id = 1) const uint MR = 1;   // rows of x per workgroup (gl_WorkGroupID.z: row block)
layout(constant_id = 2) const uint NC = 4;   // output columns per workgroup

#include "load.glsl"
FV_INPUT(0, x)
#include "wload.glsl"
layout(std430, binding = 3) buffer Yb { float y[]; };
// wo: W's first word; rw: words per row; so: the first scale's fp16 index; nb: scales per row.
layout(push_constant) uniform P { uint M, N, K, xo, ldx, yo, ldy, wo, rw, so, nb; float beta; } p;

#include "rowsum.glsl"

void main() {
    uint n0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * NC, m0 = gl_WorkGroupID.z * MR;
    if (n0 >= p.N) return;  // the whole workgroup: the grid's last row may overhang
    uint lid = gl_LocalInvocationID.x, units = (p.K + 3u) / 4u;
    float acc[MR][NC];
    uint xb[MR], rb[NC], sb[NC];
    [[unroll]] for (uint m = 0; m < MR; m++) {
        xb[m] = p.xo + min(m0 + m, p.M - 1u) * p.ldx;  // rows past M: computed, never stored
        [[unroll]] for (uint c = 0; c < NC; c++) acc[m][c] = 0.0;
    }
    [[unroll]] for (uint c = 0; c < NC; c++) {
        uint n = min(n0 + c, p.N - 1u);
        rb[c] = p.wo + n * p.rw;
        sb[c] = p.so + n * p.nb;
    }
    for (uint u = lid; u < units; u += WG) {
        uint k = 4u * u;
        bool tail = k + 4u > p.K;  // the row's last unit when K % 4 != 0: x past K reads as 0
        vec4 xv[MR];
        [[unroll]] for (uint m = 0; m < MR; m++) {
            if (!tail) {
                xv[m] = vec4(FV_LD(x, xb[m] + k), FV_LD(x, xb[m] + k + 1u), FV_LD(x, xb[m] + k + 2u),
                             FV_LD(x, xb[m] + k + 3u));
            } else {
                [[unroll]] for (uint j = 0; j < 4u; j++) xv[m][j] = k + j < p.K ? FV_LD(x, xb[m] + k + j) : 0.0;
            }
        }
        [[unroll]] for (uint c = 0; c < NC; c++) {
#ifdef W_Q8
            vec4 q = wunit_raw(rb[c], u);  // padding q are 0, and finite anyway
            float s = wunit_scale(sb[c], u);
            [[unroll]] for (uint m = 0; m < MR; m++) acc[m][c] += s * dot(xv[m], q);
#else
            vec4 w = wunit(rb[c], u, sb[c]);
            if (tail) [[unroll]] for (uint j = 0; j < 4u; j++) w[j] = k + j < p.K ? w[j] : 0.0;
            [[unroll]] for (uint m = 0; m < MR; m++) acc[m][c] += dot(xv[m], w);
#endif
        }
    }
    [[unroll]] for (uint m = 0; m < MR; m++)
        [[unroll]] for (uint c = 0; c < NC; c++) {
            float s = rowsum(acc[m][c]);
            if (lid == 0u && m0 + m < p.M && n0 + c < p.N) {
                uint i = p.yo + (m0 + m) * p.ldy + n0 + c;
                y[i] = p.beta != 0.0 ? s + p.beta * y[i] : s;
            }
        }
}
