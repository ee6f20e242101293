#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Few-row linear layer over a low-bit weight (decoding: M <= 16 tokens):
//   y[m, n] = sum_k x[m, k] W[n, k]  (times alpha, + beta * y),  W stored f16 / bf16 / q8 (src/io/wpack.h).
// Decoding reads every weight once per token, so the kernel streams W once: a workgroup owns NC
// output columns and MR rows of x; its invocations stride along K one 4-weight unit (one q8 word,
// two f16/bf16 words) at a time, so neighbouring invocations read neighbouring words, and each
// unit is dequantized once in registers and used for all MR rows. The partial sums are reduced
// over the workgroup with rowsum.glsl, which works at any subgroup size (one subgroup per
// workgroup on CPU devices: no barrier). fp32 accumulation throughout; q8 multiplies a unit's
// 4-term dot product by its block scale once.
// COLS (CPU devices, where a workgroup is a coroutine and a gather costs the same whichever rows
// it touches): each invocation owns NC columns instead (n0 + lid + c * WG) and walks all of K, 4
// words of W (16 q8 or 8 f16/bf16 weights) per RGBA32UI texel, x one RGBA32F texel at a time at
// one address for every lane, nothing reduced. On lavapipe (M = 1, K = 512, N = 1024) the K-split
// layout ran at 0.26-0.28x the f32 GEMM's speed, COLS with one-word texels at 0.74-1.0x, COLS
// with 4-word texels at 1.3-1.9x. The host takes it where the texel views are 4-word aligned.
// A workgroup's WG * NC columns walk K together, one step (4 NQ words) of each at a time: over
// row-major words that is 128 interleaved streams, which a CPU's prefetchers lose; models on CPU
// devices hold W tiled (src/io/wtile.h: groups of 128 rows, chunks of 8 words), where each step
// is one contiguous run (flan-t5-base q8 decode step 22.9 -> 17.5 ms). wrow / wat read either.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;  // a power of two
layout(constant_id = 1) const uint MR = 1;   // rows of x per workgroup (gl_WorkGroupID.z: row block)
layout(constant_id = 2) const uint NC = 4;   // output columns per workgroup (COLS: per invocation)
layout(constant_id = 3) const bool COLS = false;
layout(constant_id = 4) const uint NQ = 2;    // COLS: 4-word texels per column per step (q8: even)
// NORM: x is the residual stream and each row is RMS-normalised on the way in, as rmsnorm.comp does
// it (x * inversesqrt(mean(x^2) + eps), times the norm weight g), so a decode step's norm and the
// product after it are one dispatch. The row's sum of squares is a pass over x before the product
// (x is a few KiB, in cache; W is what is streamed).
layout(constant_id = 5) const bool NORM = false;

#include "load.glsl"
FV_INPUT(0, x)
FV_INPUT(4, g)  // NORM: the norm weight (bound to x otherwise)
#include "wload.glsl"
layout(std430, binding = 3) buffer Yb { float y[]; };
// wo: W's first word; rw: words per row; so: the first scale's fp16 index; nb: scales per row;
// go: g's first element; eps: the norm's epsilon; tile: rows per group of W's tiled layout (0:
// row-major; src/io/wtile.h).
layout(push_constant) uniform P { uint M, N, K, xo, ldx, yo, ldy, wo, rw, so, nb; float beta, alpha; uint go; float eps; uint tile; } p;

#include "rowsum.glsl"

// x(m0 + m, k .. k + 3) for every m, 0 past K
void load_x(out vec4 xv[MR], uint xb[MR], uint k) {
    [[unroll]] for (uint m = 0; m < MR; m++) {
        if (k + 4u <= p.K) {
            xv[m] = vec4(FV_LD(x, xb[m] + k), FV_LD(x, xb[m] + k + 1u), FV_LD(x, xb[m] + k + 2u), FV_LD(x, xb[m] + k + 3u));
        } else {
            [[unroll]] for (uint j = 0; j < 4u; j++) xv[m][j] = k + j < p.K ? FV_LD(x, xb[m] + k + j) : 0.0;
        }
    }
}

// COLS loads: 4 words of W (texel: one RGBA32UI texel) and 4 floats of x (one RGBA32F texel); the
// host binds those views and guarantees 4-word alignment (wlinear.c cols_ok).
uvec4 wquad(uint i) {
#ifdef TEXEL
    return texelFetch(W, int(i >> 2));
#else
    return uvec4(Ww[i], Ww[i + 1u], Ww[i + 2u], Ww[i + 3u]);
#endif
}
vec4 xquad(uint i) {
#ifdef TEXEL
    return texelFetch(x, int(i >> 2));
#else
    return vec4(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
#endif
}
vec4 gquad(uint i) {
#ifdef TEXEL
    return texelFetch(g, int(i >> 2));
#else
    return vec4(g[i], g[i + 1u], g[i + 2u], g[i + 3u]);
#endif
}

// NORM, COLS: each row's 1 / rms over its K elements (the same in every invocation)
void cols_rms(out float rs[MR], uint xb[MR]) {
    [[unroll]] for (uint m = 0; m < MR; m++) rs[m] = 0.0;
    for (uint k = 0; k < p.K; k += 4u)
        [[unroll]] for (uint m = 0; m < MR; m++) {
            vec4 v = xquad(xb[m] + k);
            rs[m] += dot(v, v);
        }
    [[unroll]] for (uint m = 0; m < MR; m++) rs[m] = inversesqrt(rs[m] / float(p.K) + p.eps);
}

// a + x . w as four chained fused multiply-adds (one instruction per weight with x86 FMA) rather
// than dot() and an add. With bytes4_hi, the q8 COLS step measured 7-12% less process CPU time on
// lavapipe (flan-t5-base decoder layer shapes, interleaved runs); f16 and bf16, bound elsewhere
// (their gathers), measured no faster with it and keep dot().
float fma4(vec4 x, vec4 w, float a) { return fma(x.w, w.w, fma(x.z, w.z, fma(x.y, w.y, fma(x.x, w.x, a)))); }

// COLS: weights per 4-weight unit's words (q8: one word; f16/bf16: two), units per quad (texel)
const uint UPQ = 4u / W_UNIT_WORDS;

// One COLS step: quads qd .. qd + 4 NQ - 1 (words) of every column's row, i.e. NQ * UPQ units of
// 4 weights from k = qd / W_UNIT_WORDS * 4. `last`: the row's final, partial step: quads at or
// past rw read as 0 words (weight 0) and x past K as 0, so nothing past either is used.
void cols_step(inout float acc[MR][NC], uint xb[MR], float rs[MR], uvec2 rb[NC], uint sb[NC], uint qd, bool last) {
    uint k = qd / W_UNIT_WORDS * 4u;
    uvec4 wq[NC][NQ];
    [[unroll]] for (uint c = 0; c < NC; c++)
        [[unroll]] for (uint j = 0; j < NQ; j++)
            wq[c][j] = !last || qd + 4u * j < p.rw ? wquad(wat(rb[c], qd + 4u * j)) : uvec4(0u);
#ifdef W_Q8
    float part[MR][NC];  // one q8 block's dot products, scaled once (8 units)
#endif
    [[unroll]] for (uint i = 0; i < NQ * UPQ; i++) {
#ifdef W_Q8
        if (i % 8u == 0u)
            [[unroll]] for (uint m = 0; m < MR; m++)
                [[unroll]] for (uint c = 0; c < NC; c++) part[m][c] = 0.0;
#endif
        // x is loaded one texel at a time and used for every column at once, so only MR vec4 of
        // x are live (not MR * units: spills at MR = 16); only q8's padded last block and `last`
        // steps reach past K, with weights 0
        vec4 xv[MR];
        bool in_k = k + 4u * i < p.K;
        [[unroll]] for (uint m = 0; m < MR; m++) xv[m] = in_k ? xquad(xb[m] + k + 4u * i) : vec4(0.0);
        if (NORM && in_k) {
            vec4 gv = gquad(p.go + k + 4u * i);
            [[unroll]] for (uint m = 0; m < MR; m++) xv[m] = gv * (xv[m] * rs[m]);
        }
        [[unroll]] for (uint c = 0; c < NC; c++) {
#ifdef W_Q8
            vec4 w = bytes4_hi(wq[c][i / 4u][i % 4u]);
            [[unroll]] for (uint m = 0; m < MR; m++) part[m][c] = fma4(xv[m], w, part[m][c]);
#else
            uint j = 2u * i;  // words j, j + 1 of the step hold these 4 weights
            vec4 w = wunit_words(wq[c][j / 4u][j % 4u], wq[c][j / 4u][j % 4u + 1u]);
            [[unroll]] for (uint m = 0; m < MR; m++) acc[m][c] += dot(xv[m], w);
#endif
        }
#ifdef W_Q8
        if (i % 8u == 7u)
            [[unroll]] for (uint c = 0; c < NC; c++) {
                uint u = qd + i;  // this block's last word: block u / 8 of the row
                float s = !last || u < p.rw ? wunit_scale(sb[c], u) * BYTES_SCALE : 0.0;
                [[unroll]] for (uint m = 0; m < MR; m++) acc[m][c] += s * part[m][c];
            }
#endif
    }
}

void main_cols() {
    uint lid = gl_LocalInvocationID.x, m0 = gl_WorkGroupID.z * MR;
    uint n0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG * NC + lid;
    if (n0 >= p.N) return;
    float acc[MR][NC];
    uint xb[MR], sb[NC];
    uvec2 rb[NC];
    [[unroll]] for (uint m = 0; m < MR; m++) {
        xb[m] = p.xo + min(m0 + m, p.M - 1u) * p.ldx;
        [[unroll]] for (uint c = 0; c < NC; c++) acc[m][c] = 0.0;
    }
    [[unroll]] for (uint c = 0; c < NC; c++) {
        uint n = min(n0 + c * WG, p.N - 1u);
        rb[c] = wrow(p.wo, n, p.rw, p.N, p.tile);
        sb[c] = p.so + n * p.nb;
    }
    // whole steps of 4 NQ words per column (K % 4 == 0, rw % 4 == 0; q8: rw % 8 == 0), then the
    // partial one
    float rs[MR];
    if (NORM) cols_rms(rs, xb);
    uint sw = 4u * NQ, full = p.rw / sw * sw;
    for (uint qd = 0; qd < full; qd += sw) cols_step(acc, xb, rs, rb, sb, qd, false);
    if (full < p.rw) cols_step(acc, xb, rs, rb, sb, full, true);
    [[unroll]] for (uint c = 0; c < NC; c++) {
        uint n = n0 + c * WG;
        if (n >= p.N) break;
        [[unroll]] for (uint m = 0; m < MR; m++) {
            if (m0 + m >= p.M) break;
            uint i = p.yo + (m0 + m) * p.ldy + n;
            float v = p.alpha * acc[m][c];
            y[i] = p.beta != 0.0 ? v + p.beta * y[i] : v;
        }
    }
}

void main() {
    if (COLS) {
        main_cols();
        return;
    }
    uint n0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * NC, m0 = gl_WorkGroupID.z * MR;
    if (n0 >= p.N) return;  // the whole workgroup: the grid's last row may overhang
    uint lid = gl_LocalInvocationID.x, units = (p.K + 3u) / 4u;
    float acc[MR][NC];
    uint xb[MR], sb[NC];
    uvec2 rb[NC];
    [[unroll]] for (uint m = 0; m < MR; m++) {
        xb[m] = p.xo + min(m0 + m, p.M - 1u) * p.ldx;  // rows past M: computed, never stored
        [[unroll]] for (uint c = 0; c < NC; c++) acc[m][c] = 0.0;
    }
    [[unroll]] for (uint c = 0; c < NC; c++) {
        uint n = min(n0 + c, p.N - 1u);
        rb[c] = wrow(p.wo, n, p.rw, p.N, p.tile);
        sb[c] = p.so + n * p.nb;
    }
    float rs[MR];  // NORM: each row's 1 / rms, summed over the workgroup
    if (NORM)
        [[unroll]] for (uint m = 0; m < MR; m++) {
            float ss = 0.0;
            for (uint k = lid; k < p.K; k += WG) {
                float v = FV_LD(x, xb[m] + k);
                ss += v * v;
            }
            rs[m] = inversesqrt(rowsum(ss) / float(p.K) + p.eps);
        }
    for (uint u = lid; u < units; u += WG) {
        uint k = 4u * u;
        bool tail = k + 4u > p.K;  // the row's last unit when K % 4 != 0: x past K reads as 0
        vec4 xv[MR];
        load_x(xv, xb, k);
        if (NORM)
            [[unroll]] for (uint j = 0; j < 4u; j++) {
                float gj = k + j < p.K ? FV_LD(g, p.go + k + j) : 0.0;
                [[unroll]] for (uint m = 0; m < MR; m++) xv[m][j] = gj * (xv[m][j] * rs[m]);
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
            float s = p.alpha * rowsum(acc[m][c]);
            if (lid == 0u && m0 + m < p.M && n0 + c < p.N) {
                uint i = p.yo + (m0 + m) * p.ldy + n0 + c;
                y[i] = p.beta != 0.0 ? s + p.beta * y[i] : s;
            }
        }
}
