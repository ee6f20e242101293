#version 450
#extension GL_GOOGLE_include_directive : require
#if defined(F16) && !defined(V4)
#extension GL_EXT_shader_16bit_storage : require
#endif
// Transpose: y[c * rows + r] = x[r * cols + c] for an fp32 x [rows, cols]; y is fp32 or, with
// -DF16, fp16 rounded by common/half.glsl exactly as cast_f16.comp rounds. The training forward
// reads W^T copies of its weights through it (model/t5_train_mixed.c), so its products are NN.
//
// -DV4 (the host takes it when rows % 4 == 0 and y's offset % 4 == 0): each invocation moves one
// 4 x 4 block, four rows of four columns in, four columns of four rows out, writing each output
// run of 4 as one vec4 (fp16: one uvec2), because on lavapipe every storage store with a computed
// address is a per-lane scalar loop, so fewer, wider stores are what makes it fast. A workgroup
// covers TRW row blocks x (WG / TRW) column blocks, lane-fastest along TRW. The host uses
// TRW = 1: neighbouring lanes take neighbouring column blocks, so each fetch is one gather of a
// contiguous run of a row. Lanes along rows instead (contiguous stores, reads 4 rows apart per
// lane) measured 1.5-4x slower on lavapipe: rows of a weight are 2-4 KB apart, the set
// aliasing that makes the NT GEMM slow. With -DTEXEL, x is a uniform texel buffer (one gather per
// fetch on lavapipe): RGBA32F when VIN (cols % 4 == 0 and x's offset % 4 == 0), else R32F read
// element by element. Without V4: one element per invocation, in output order (odd shapes).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint TRW = 8;     // V4: row blocks per workgroup (divides WG)
layout(constant_id = 2) const bool VIN = false;  // V4 + TEXEL: x is read 4 columns per fetch

#ifdef TEXEL
layout(binding = 0) uniform samplerBuffer x;
#define LD1(i) texelFetch(x, int(i)).x
#else
layout(std430, binding = 0) readonly buffer X { float x[]; };
#define LD1(i) x[i]
#endif

#ifdef F16
#include "half.glsl"
#endif
#if defined(V4) && defined(F16)
layout(std430, binding = 1) writeonly buffer Y { uvec2 y[]; };
#elif defined(V4)
layout(std430, binding = 1) writeonly buffer Y { vec4 y[]; };
#elif defined(F16)
layout(std430, binding = 1) writeonly buffer Y { uint16_t y[]; };
#else
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
#endif

// gx: workgroups along x of the grid (the host splits large counts over y)
layout(push_constant) uniform P { uint rows, cols, xo, yo, gx; } p;

#ifdef V4
// Four consecutive columns of row r starting at column c0 (columns past cols read as 0, unused).
vec4 load4(uint r, uint c0) {
    uint i = p.xo + r * p.cols + c0;
#ifdef TEXEL
    if (VIN) return texelFetch(x, int(i >> 2));
#endif
    uint n = p.cols - c0;  // >= 1
    return vec4(LD1(i), n > 1 ? LD1(i + 1) : 0.0, n > 2 ? LD1(i + 2) : 0.0, n > 3 ? LD1(i + 3) : 0.0);
}

void store4(uint at, vec4 o) {
#ifdef F16
    uvec4 h = uvec4(to_half(floatBitsToUint(o.x)), to_half(floatBitsToUint(o.y)), to_half(floatBitsToUint(o.z)),
                    to_half(floatBitsToUint(o.w)));
    y[at] = uvec2(h.x | (h.y << 16), h.z | (h.w << 16));
#else
    y[at] = o;
#endif
}

void main() {
    uint wg = gl_WorkGroupID.y * p.gx + gl_WorkGroupID.x;
    uint RB = p.rows >> 2, CB = (p.cols + 3) >> 2;        // row blocks, column blocks
    uint wr = (RB + TRW - 1) / TRW;                        // workgroups down the rows
    uint lid = gl_LocalInvocationID.x;
    uint rb = (wg % wr) * TRW + lid % TRW, cb = (wg / wr) * (WG / TRW) + lid / TRW;
    if (rb >= RB || cb >= CB) return;
    uint r0 = rb * 4, c0 = cb * 4, step = p.rows >> 2, nc = min(p.cols - c0, 4u);
    vec4 a0 = load4(r0, c0), a1 = load4(r0 + 1, c0), a2 = load4(r0 + 2, c0), a3 = load4(r0 + 3, c0);
    // constant component indices: a dynamically indexed vector would go through memory
    uint at = (p.yo + c0 * p.rows + r0) >> 2;
    store4(at, vec4(a0.x, a1.x, a2.x, a3.x));
    if (nc > 1) store4(at + step, vec4(a0.y, a1.y, a2.y, a3.y));
    if (nc > 2) store4(at + 2 * step, vec4(a0.z, a1.z, a2.z, a3.z));
    if (nc > 3) store4(at + 3 * step, vec4(a0.w, a1.w, a2.w, a3.w));
}
#else
void main() {
    uint i = (gl_WorkGroupID.y * p.gx + gl_WorkGroupID.x) * WG + gl_LocalInvocationID.x;
    if (i >= p.rows * p.cols) return;
    uint c = i / p.rows, r = i - c * p.rows;
    float v = LD1(p.xo + r * p.cols + c);
#ifdef F16
    y[p.yo + i] = uint16_t(to_half(floatBitsToUint(v)));
#else
    y[p.yo + i] = v;
#endif
}
#endif
