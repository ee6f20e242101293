#version 450
#extension GL_GOOGLE_include_directive : require
#if defined(A_F16) || defined(B_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
// GEMM, storage-buffer path (discrete GPUs): C = alpha * op(A) * op(B) + beta * C with fp32
// accumulation. A workgroup owns a BM x BN tile of C; per BK slice of K it stages op(A) and op(B)
// in shared memory (k-major, padded by one column against bank conflicts, zero beyond the edges),
// then each invocation accumulates a TM x TN block whose rows and columns are strided by BM/TM
// and BN/TN so that neighbouring invocations read neighbouring shared words. Global loads walk
// the contiguous dimension of each operand, whatever the transposes. Tile sizes are
// specialization constants picked on the host from the workgroup-size and shared-memory limits;
// -DA_F16 / -DB_F16 read that operand as fp16 (see gemm_tiled.variants).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;  // (BM / TM) * (BN / TN)
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const bool TA = false;
layout(constant_id = 7) const bool TB = false;

#ifdef A_F16
#define AT float16_t
#else
#define AT float
#endif
#ifdef B_F16
#define BT float16_t
#else
#define BT float
#endif

layout(std430, binding = 0) readonly buffer Ab { AT a[]; };
layout(std430, binding = 1) readonly buffer Bb { BT b[]; };
layout(std430, binding = 2) buffer Cb { float c[]; };
layout(push_constant) uniform P {
    uint M, N, K, lda, ldb, ldc, ao, bo, co, inner, sao, sai, sbo, sbi, sco, sci;
    float alpha, beta;
} p;

shared float As[BK * (BM + 1)];
shared float Bs[BK * (BN + 1)];

void main() {
    uint lid = gl_LocalInvocationID.x;
    const uint NT = BN / TN, MT = BM / TM;
    uint tx = lid % NT, ty = lid / NT;
    uint nb = gl_WorkGroupID.x * BN, mb = gl_WorkGroupID.y * BM;
    uint z = gl_WorkGroupID.z, zo = z / p.inner, zi = z % p.inner;
    uint abase = p.ao + zo * p.sao + zi * p.sai;
    uint bbase = p.bo + zo * p.sbo + zi * p.sbi;
    uint cbase = p.co + zo * p.sco + zi * p.sci;

    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;
    float ra[TM], rb[TN];

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        for (uint e = lid; e < BM * BK; e += WG) {
            uint mm = TA ? e % BM : e / BK, kk = TA ? e / BM : e % BK;
            uint gm = mb + mm, gk = k0 + kk;
            float v = 0.0;
            if (gm < p.M && gk < p.K) v = float(a[abase + (TA ? gk * p.lda + gm : gm * p.lda + gk)]);
            As[kk * (BM + 1) + mm] = v;
        }
        for (uint e = lid; e < BN * BK; e += WG) {
            uint nn = TB ? e / BK : e % BN, kk = TB ? e % BK : e / BN;
            uint gn = nb + nn, gk = k0 + kk;
            float v = 0.0;
            if (gn < p.N && gk < p.K) v = float(b[bbase + (TB ? gn * p.ldb + gk : gk * p.ldb + gn)]);
            Bs[kk * (BN + 1) + nn] = v;
        }
        barrier();
        for (uint kk = 0; kk < BK; kk++) {
            for (uint i = 0; i < TM; i++) ra[i] = As[kk * (BM + 1) + ty + i * MT];
            for (uint j = 0; j < TN; j++) rb[j] = Bs[kk * (BN + 1) + tx + j * NT];
            for (uint i = 0; i < TM; i++)
                for (uint j = 0; j < TN; j++) acc[i * TN + j] += ra[i] * rb[j];
        }
        barrier();
    }

    for (uint i = 0; i < TM; i++) {
        uint m = mb + ty + i * MT;
        if (m >= p.M) continue;
        for (uint j = 0; j < TN; j++) {
            uint n = nb + tx + j * NT;
            if (n >= p.N) continue;
            uint idx = cbase + m * p.ldc + n;
            float v = p.alpha * acc[i * TN + j];
            if (p.beta != 0.0) v += p.beta * c[idx];
            c[idx] = v;
        }
    }
}
