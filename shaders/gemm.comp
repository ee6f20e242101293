#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// GEMM, texel-buffer path (CPU devices): C = alpha * op(A) * op(B) + beta * C, fp32 accumulation.
//
// Why it is shaped so (lavapipe, LLVM 15): a texelFetch from a uniform texel buffer is one vector
// gather, a storage-buffer load with a computed address is a per-lane scalar loop, and a subgroup
// shuffle with a constant lane is one register permute. So:
//  - each invocation owns a TM x TN block of C (16 x 8: more multiply-adds per gather);
//  - all invocations of a workgroup share the same TM rows: lane l fetches rows l, l + SG, ... of
//    the block and every lane gets the others' rows by shuffles, so A costs TM / SG gathers per
//    step instead of TM;
//  - K advances KU = 8 at a time (measured 1.35x over 4 when B is read along K: two texels of a
//    row back to back, so a row's cache line is used before rows 4 KB apart evict it);
//  - operands contiguous along the fetched run are read as whole 4-wide texels (VA / VB, when the
//    host could bind an RGBA view), element by element otherwise; a transposed A (weight
//    gradients: stored K x M) is read as texels along M, the KU x TM slab spread over the lanes
//    (4 texel gathers per step instead of 16 element gathers: weight gradients 1.2x);
//  - the multiply-adds run row by row: for each row i and step j one shuffle broadcasts A(i, j)
//    and updates the TN accumulators of row i. The shuffles are not gathered into an a[KU][TM]
//    array first (128 values: all spilled), and an accumulator row (TN values) is loaded and
//    stored once per step while b[][] serves as memory operands (measured 3-8% faster).
// The storage format of A and B (fp32 or fp16) is the view's format: one SPIR-V serves both.
// Low-bit weights as B (-DBW_F16, -DBW_BF16, -DBW_Q8; TB only): B is the 32-bit words of an
// io/wpack.h weight [N, K] (row stride ldb and offset bo in words) through a uint view, widened in
// registers as io/wpack.c fv_wunpack does (q8: float(q) * scale, one fp32 rounding), so a
// many-row product over 16- or 8-bit weights is one pass reading 1/2 or ~1/4 of fp32's bytes.
// f16 goes this way too rather than through the RGBA16F view of dtype_b = FV_F16: that view was
// measured 0.5-0.64x of RGBA32UI + unpackHalf2x16 in isolation, and no faster in this GEMM (mixed
// results under load); the words need no 16-bit storage feature and take the padded rows of any K.
// SoA execution makes the vector-component "transposes" below free.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;    // a multiple of SG
layout(constant_id = 1) const uint SG = 8;     // subgroup size
layout(constant_id = 2) const bool TA = false; // A stored K x M
layout(constant_id = 3) const bool TB = false; // B stored N x K
layout(constant_id = 4) const bool VA = false; // A bound as 4-element texels (along K, or along M if TA)
layout(constant_id = 5) const bool VB = false;
layout(constant_id = 6) const bool KR = false; // K ranges per 16-row block (src/ops/gemm.h krange)

// Block per invocation and K step (TN and KU multiples of 4); must match src/ops/gemm.c.
#ifndef TM
#define TM 16
#endif
#ifndef TN
#define TN 8
#endif
#ifndef KU
#define KU 8
#endif

#if defined(BW_F16) || defined(BW_BF16) || defined(BW_Q8)
#define BW 1
#endif

layout(binding = 0) uniform samplerBuffer A;
#ifdef BW
// VB: RGBA32UI, one texel = 8 f16/bf16 weights = one K step (bo, ldb multiples of 4 words); else
// R32UI. q8 always reads R32UI words (two per step) plus its fp16 scale pairs from S.
layout(binding = 1) uniform usamplerBuffer B;
#ifdef BW_Q8
layout(binding = 4) uniform usamplerBuffer S;
#endif
#else
layout(binding = 1) uniform samplerBuffer B;
#endif
layout(std430, binding = 2) buffer Cb { float c[]; };
// With KR: pairs [lo, hi) of K per (outer batch, 16-row block); op(A) is 0 outside them.
layout(std430, binding = 3) readonly buffer KRb { uint kr[]; };
layout(push_constant) uniform P {
    uint M, N, K, lda, ldb, ldc, ao, bo, co, inner, sao, sai, sbo, sbi, sco, sci;
    float alpha, beta;
    uint ro, rblocks;
    uint so, nb;  // BW_Q8: fp16 index of the first scale, scales per row (ceil(K / 32))
    // BW: B's layout (tile: rows per group of src/io/wtile.h, 0 row-major; tn: the weight's rows;
    // tn0: this product's first row of it) and the first word along its rows (a K pass's start)
    uint tile, tn, tn0, bk;
} p;

const uint R = (TM + SG - 1) / SG;  // rows of the block each lane fetches (!TA or !VA)
const uint TT = KU * TM / 4;         // texels of one step's slab of A (TA && VA)
float acc[TM][TN];
float av[R][KU];                     // A(m0 + r * SG + lane, k + j), shuffled out in kstep
vec4 at[(TT + SG - 1) / SG];         // TA && VA: texel q * SG + lane of the slab
float b[KU][TN];
uint abase, bbase, m0, n0;

// Fetch the step's A(m0 .. m0 + TM - 1, k .. k + KU - 1). Rows past M are clamped (their results
// are never stored); in the tail step, k past K reads as 0.
void load_a(uint k, bool tail) {
    if (TA && VA) {
        // texel t holds A(m0 + 4 * (t % (TM / 4)) + 0..3, k + t / (TM / 4)); M % 4 == 0 is not
        // needed: a texel starting past the last one holding row M - 1 holds only rows >= M
        [[unroll]] for (uint q = 0; q < (TT + SG - 1) / SG; q++) {
            uint t = min(q * SG + gl_SubgroupInvocationID, TT - 1), j = t / (TM / 4);
            uint m = min(m0 + 4 * (t % (TM / 4)), (p.M - 1) & ~3u);
            uint kk = tail ? min(k + j, p.K - 1) : k + j;
            // (the last row's texel may overhang the view when lda > M: clamp, those rows are unused)
            vec4 x = texelFetch(A, min(int((abase + kk * p.lda + m) >> 2), textureSize(A) - 1));
            at[q] = tail && k + j >= p.K ? vec4(0.0) : x;
        }
        return;
    }
    uint lane = gl_SubgroupInvocationID;
    [[unroll]] for (uint r = 0; r < R; r++) {
        uint m = min(min(m0 + r * SG + lane, m0 + TM - 1), p.M - 1);
        if (!TA && VA) {  // K % 4 == 0: a texel is wholly inside or wholly past K
            uint row = abase + m * p.lda;
            [[unroll]] for (uint q = 0; q < KU / 4; q++) {
                vec4 t = vec4(0.0);
                if (!tail || k + 4 * q < p.K) t = texelFetch(A, int((row + k + 4 * q) >> 2));
                av[r][4 * q] = t.x; av[r][4 * q + 1] = t.y; av[r][4 * q + 2] = t.z; av[r][4 * q + 3] = t.w;
            }
        } else {
            [[unroll]] for (uint j = 0; j < KU; j++) {
                uint kk = tail ? min(k + j, p.K - 1) : k + j;
                float x = texelFetch(A, int(abase + (TA ? kk * p.lda + m : m * p.lda + kk))).x;
                av[r][j] = tail && k + j >= p.K ? 0.0 : x;
            }
        }
    }
}

#ifdef BW
#include "wtile.glsl"
uvec2 brow[TN];  // the handles of B's rows n0 .. n0 + TN - 1 (wrow divides: found once, in main)
// The 4 signed bytes of a word as floats (arithmetic shifts: cheaper than bitfieldExtract on lavapipe).
vec4 bytes4(uint u) {
    int v = int(u);
    return vec4((v << 24) >> 24, (v << 16) >> 24, (v << 8) >> 24, v >> 24);
}
vec4 halves4(uint a, uint c) {
#ifdef BW_BF16
    return vec4(uintBitsToFloat(a << 16), uintBitsToFloat(a & 0xffff0000u), uintBitsToFloat(c << 16),
                uintBitsToFloat(c & 0xffff0000u));
#else
    return vec4(unpackHalf2x16(a), unpackHalf2x16(c));
#endif
}

// b[j][i] = W(n0 + i, k + j) from the weight's words. A step never leaves a q8 scale block (KU
// divides 32; K-split passes start on multiples of 32). In the tail step words are clamped to the
// row's last one holding k < K (the rest of the row's padding is zeros, but the next row is not).
void load_b(uint k, bool tail) {
#ifdef BW_Q8
    const uint per = 4;  // weights per word
#else
    const uint per = 2;
#endif
    uint wlast = (p.K - 1) / per;
    [[unroll]] for (uint i = 0; i < TN; i++) {
        uint n = min(n0 + i, p.N - 1);
        uvec2 row = brow[i];
        vec4 w[KU / 4];
#ifdef BW_Q8
        // The scale is fetched every step: loading it once per 4 steps (a block loop in main, or a
        // conditional load) measured 5-15% slower, and reading the words as RGBA32UI texels (one
        // per two steps) no faster: the widening arithmetic, not the gathers, bounds q8 here.
        uint si = p.so + n * p.nb + k / 32;
        float s = unpackHalf2x16(texelFetch(S, int(si >> 1)).x)[si & 1u];
        [[unroll]] for (uint q = 0; q < KU / 4; q++) {
            uint wi = tail ? min(k / 4 + q, wlast) : k / 4 + q;
            w[q] = bytes4(texelFetch(B, int(wat(row, p.bk + wi))).x) * s;
        }
#else
        if (VB) {
            [[unroll]] for (uint q = 0; q < KU / 8; q++) {
                uvec4 t = texelFetch(B, int(wat(row, p.bk + k / 2 + 4 * q) >> 2));
                w[2 * q] = halves4(t.x, t.y);
                w[2 * q + 1] = halves4(t.z, t.w);
            }
        } else {
            [[unroll]] for (uint q = 0; q < KU / 4; q++) {
                uint wi = k / 2 + 2 * q;
                uint a = texelFetch(B, int(wat(row, p.bk + (tail ? min(wi, wlast) : wi)))).x;
                uint c = texelFetch(B, int(wat(row, p.bk + (tail ? min(wi + 1, wlast) : wi + 1)))).x;
                w[q] = halves4(a, c);
            }
        }
#endif
        [[unroll]] for (uint q = 0; q < KU / 4; q++)
            [[unroll]] for (uint e = 0; e < 4; e++)
                b[4 * q + e][i] = tail && k + 4 * q + e >= p.K ? 0.0 : w[q][e];
    }
}
#else
// b[j][i] = B(k + j, n0 + i), same conventions; each lane reads its own columns.
void load_b(uint k, bool tail) {
    if (TB) {
        [[unroll]] for (uint i = 0; i < TN; i++) {
            uint row = bbase + min(n0 + i, p.N - 1) * p.ldb;
            if (VB) {
                [[unroll]] for (uint q = 0; q < KU / 4; q++) {
                    vec4 t = vec4(0.0);
                    if (!tail || k + 4 * q < p.K) t = texelFetch(B, int((row + k + 4 * q) >> 2));
                    b[4 * q][i] = t.x; b[4 * q + 1][i] = t.y; b[4 * q + 2][i] = t.z; b[4 * q + 3][i] = t.w;
                }
            } else {
                [[unroll]] for (uint j = 0; j < KU; j++) {
                    float x = texelFetch(B, int(row + (tail ? min(k + j, p.K - 1) : k + j))).x;
                    b[j][i] = tail && k + j >= p.K ? 0.0 : x;
                }
            }
        }
    } else {
        [[unroll]] for (uint j = 0; j < KU; j++) {
            uint row = bbase + (tail ? min(k + j, p.K - 1) : k + j) * p.ldb;
            if (VB) {
                [[unroll]] for (uint i = 0; i < TN; i += 4) {
                    vec4 t = texelFetch(B, int((row + min(n0 + i, (p.N - 1) & ~3u)) >> 2));
                    b[j][i] = t.x; b[j][i + 1] = t.y; b[j][i + 2] = t.z; b[j][i + 3] = t.w;
                }
            } else {
                [[unroll]] for (uint i = 0; i < TN; i++) b[j][i] = texelFetch(B, int(row + min(n0 + i, p.N - 1))).x;
            }
            if (tail && k + j >= p.K) [[unroll]] for (uint i = 0; i < TN; i++) b[j][i] = 0.0;
        }
    }
}
#endif

void kstep(uint k, bool tail) {
    load_a(k, tail);
    load_b(k, tail);
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < KU; j++) {
            float x;
            if (TA && VA) {
                const uint t = j * (TM / 4) + i / 4;
                x = subgroupShuffle(at[t / SG][i % 4], t % SG);
            } else {
                x = subgroupShuffle(av[i / SG][j], i % SG);
            }
            [[unroll]] for (uint l = 0; l < TN; l++) acc[i][l] += x * b[j][l];
        }
}

void main() {
    // A workgroup spans TM rows and WG * TN columns. Every lane of a subgroup takes part in the
    // shuffles (lanes past N read clamped columns and store nothing), but a subgroup wholly past
    // N leaves at once (N = 384 or 1152 is not a multiple of the workgroup's 256 columns).
    // Row blocks vary fastest across workgroups: consecutive workgroups reuse one slab of B from
    // cache while A (usually the smaller operand: activations vs weights) is re-read.
    if ((gl_WorkGroupID.y * WG + gl_SubgroupID * SG) * TN >= p.N) return;
    m0 = gl_WorkGroupID.x * TM;
    n0 = (gl_WorkGroupID.y * WG + gl_LocalInvocationID.x) * TN;
    uint z = gl_WorkGroupID.z, zo = z / p.inner, zi = z % p.inner;
    abase = p.ao + zo * p.sao + zi * p.sai;
    bbase = p.bo + zo * p.sbo + zi * p.sbi;
    uint cbase = p.co + zo * p.sco + zi * p.sci;

    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint l = 0; l < TN; l++) acc[i][l] = 0.0;
#ifdef BW
    [[unroll]] for (uint i = 0; i < TN; i++) brow[i] = wrow(bbase, p.tn0 + min(n0 + i, p.N - 1), p.ldb, p.tn, p.tile);
#endif
    uint Kmain = p.K - p.K % KU, kbeg = 0, kend = p.K;
    if (KR && TM == 16) {
        // Whole KU steps outside [lo, hi) multiply exact zeros of A: skip them. The steps kept are
        // the same steps (k a multiple of KU) in the same order, so the sums are bit-identical.
        uint e = p.ro + 2 * (zo * p.rblocks + gl_WorkGroupID.x);
        uint lo = kr[e], hi = min(kr[e + 1], p.K);
        kbeg = lo < hi ? lo - lo % KU : 0;
        kend = lo < hi ? hi : 0;
    }
    for (uint k = kbeg; k < min(Kmain, kend); k += KU) kstep(k, false);
    if (Kmain < p.K && kend > Kmain) kstep(Kmain, true);

    if (n0 >= p.N) return;
    [[unroll]] for (uint i = 0; i < TM; i++) {
        if (m0 + i >= p.M) break;
        uint row = cbase + (m0 + i) * p.ldc;
        [[unroll]] for (uint l = 0; l < TN; l++) {
            if (n0 + l >= p.N) break;
            float v = p.alpha * acc[i][l];
            if (p.beta != 0.0) v += p.beta * c[row + n0 + l];
            c[row + n0 + l] = v;
        }
    }
}
