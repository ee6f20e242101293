#version 450
#extension GL_GOOGLE_include_directive : require
// Linear layer over a low-bit weight for many rows (encoder, prefill, batched decode):
//   y[m, n] = sum_k x[m, k] W[n, k]  (times alpha, + beta * y),  W stored f16 / bf16 / q8 (src/io/wpack.h).
// The shared-memory tiling of gemm_tiled.comp with op(B) = W^T: a workgroup owns a BM x BN tile of
// y; per slice of BK = 32 along K (one q8 block, so a slice has one scale per row) it stages x and
// the dequantized W in shared memory (k-major, padded by one column against bank conflicts, zero
// past the edges), then each invocation accumulates a TM x TN block strided by BM/TM and BN/TN.
// W is staged one 4-weight unit per load (wload.glsl): dequantized once per workgroup, reused by
// BM rows. fp32 everywhere; tile sizes are specialization constants picked on the host from the
// workgroup-size and shared-memory limits.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;  // (BM / TM) * (BN / TN)
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
const uint BK = 32u;

#include "load.glsl"
FV_INPUT(0, x)
#include "wload.glsl"
layout(std430, binding = 3) buffer Yb { float y[]; };
// go, eps: wgemv.comp's fused norm (unused here); tile: W's tiled layout (src/io/wtile.h; 0: row-major)
layout(push_constant) uniform P { uint M, N, K, xo, ldx, yo, ldy, wo, rw, so, nb; float beta, alpha; uint go; float eps; uint tile; } p;

shared float Xs[BK * (BM + 1)];
shared float Ws[BK * (BN + 1)];

void main() {
    uint lid = gl_LocalInvocationID.x;
    const uint NT = BN / TN, MT = BM / TM;
    uint tx = lid % NT, ty = lid / NT;
    uint nb0 = gl_WorkGroupID.x * BN, mb0 = gl_WorkGroupID.y * BM;

    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;
    float ra[TM], rb[TN];

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        for (uint e = lid; e < BM * BK; e += WG) {
            uint mm = e / BK, kk = e % BK, gm = mb0 + mm, gk = k0 + kk;
            Xs[kk * (BM + 1) + mm] = gm < p.M && gk < p.K ? FV_LD(x, p.xo + gm * p.ldx + gk) : 0.0;
        }
        for (uint e = lid; e < BN * (BK / 4u); e += WG) {
            uint nn = e / (BK / 4u), uu = e % (BK / 4u), gn = nb0 + nn, u = k0 / 4u + uu;
            vec4 w = vec4(0.0);
            if (gn < p.N && 4u * u < p.K) {
                w = wunit(wrow(p.wo, gn, p.rw, p.N, p.tile), u, p.so + gn * p.nb);
                for (uint j = 0; j < 4u; j++) w[j] = 4u * u + j < p.K ? w[j] : 0.0;
            }
            for (uint j = 0; j < 4u; j++) Ws[(4u * uu + j) * (BN + 1) + nn] = w[j];
        }
        barrier();
        for (uint kk = 0; kk < BK; kk++) {
            for (uint i = 0; i < TM; i++) ra[i] = Xs[kk * (BM + 1) + ty + i * MT];
            for (uint j = 0; j < TN; j++) rb[j] = Ws[kk * (BN + 1) + tx + j * NT];
            for (uint i = 0; i < TM; i++)
                for (uint j = 0; j < TN; j++) acc[i * TN + j] += ra[i] * rb[j];
        }
        barrier();
    }

    for (uint i = 0; i < TM; i++) {
        uint m = mb0 + ty + i * MT;
        if (m >= p.M) continue;
        for (uint j = 0; j < TN; j++) {
            uint n = nb0 + tx + j * NT;
            if (n >= p.N) continue;
            uint idx = p.yo + m * p.ldy + n;
            float v = p.alpha * acc[i * TN + j];
            if (p.beta != 0.0) v += p.beta * y[idx];
            y[idx] = v;
        }
    }
}
