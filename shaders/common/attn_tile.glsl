// Shared by the fused attention kernels of the texel path (attn_fwd.comp, attn_dscores.comp): a
// TM x TN block per invocation of X Y^T, where X rows are queries (Q, or dO in the backward) and Y
// rows are keys (K, or V), both [B, T, H, dk] with a token stride, K dimension = dk.
// The workgroup is one subgroup; it owns TM query rows and sweeps the keys in chunks of SG * TN
// columns. As in gemm.comp (read its header): lane l fetches query rows l, l + SG, ... as 4-wide
// texels and the others get them by shuffles (one vector gather per 4 floats, shuffles are
// register permutes on lavapipe); each lane fetches its own TN key rows along dk.
// Include after declaring SG, VX, VY (spec constants), TM, TN, KU, samplers X and Y, and the
// globals xbase (X element of row m0, column 0, of this head), xs, ybase, ys, Tk, D.
float acc[TM][TN];
float ta[KU][TM];
float tb[KU][TN];

// Query rows past the last are clamped (their results are never stored); dk past D reads as 0.
void tile_load(uint k, bool tail, uint rows, uint c0) {
    const uint R = (TM + SG - 1) / SG;
    float v[R][KU];
    uint lane = gl_SubgroupInvocationID;
    [[unroll]] for (uint r = 0; r < R; r++) {
        uint m = min(min(r * SG + lane, TM - 1), rows - 1);
        uint row = xbase + m * xs;
        if (VX) {
            [[unroll]] for (uint q = 0; q < KU / 4; q++) {
                vec4 t = vec4(0.0);
                if (!tail || k + 4 * q < D) t = texelFetch(X, int((row + k + 4 * q) >> 2));
                v[r][4 * q] = t.x; v[r][4 * q + 1] = t.y; v[r][4 * q + 2] = t.z; v[r][4 * q + 3] = t.w;
            }
        } else {
            [[unroll]] for (uint j = 0; j < KU; j++) {
                float x = texelFetch(X, int(row + min(k + j, D - 1))).x;
                v[r][j] = tail && k + j >= D ? 0.0 : x;
            }
        }
    }
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < KU; j++) ta[j][i] = subgroupShuffle(v[i / SG][j], i % SG);
    [[unroll]] for (uint i = 0; i < TN; i++) {
        uint row = ybase + min(c0 + i, Tk - 1) * ys;
        if (VY) {
            [[unroll]] for (uint q = 0; q < KU / 4; q++) {
                vec4 t = vec4(0.0);
                if (!tail || k + 4 * q < D) t = texelFetch(Y, int((row + k + 4 * q) >> 2));
                tb[4 * q][i] = t.x; tb[4 * q + 1][i] = t.y; tb[4 * q + 2][i] = t.z; tb[4 * q + 3][i] = t.w;
            }
        } else {
            [[unroll]] for (uint j = 0; j < KU; j++) {
                float x = texelFetch(Y, int(row + min(k + j, D - 1))).x;
                tb[j][i] = tail && k + j >= D ? 0.0 : x;
            }
        }
    }
}

// acc = X[rows m0.., :] Y[columns c0.., :]^T for this lane's columns c0 .. c0 + TN - 1.
void tile_product(uint rows, uint c0) {
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint l = 0; l < TN; l++) acc[i][l] = 0.0;
    uint Dmain = D - D % KU;
    for (uint k = 0; k <= Dmain; k += KU) {
        bool tail = k == Dmain;
        if (tail && Dmain == D) break;
        tile_load(k, tail, rows, c0);
        [[unroll]] for (uint i = 0; i < TM; i++)
            [[unroll]] for (uint l = 0; l < TN; l++) {
                float s = acc[i][l];
                [[unroll]] for (uint j = 0; j < KU; j++) s += ta[j][i] * tb[j][l];
                acc[i][l] = s;
            }
    }
}

// Sparse writes (attn_fwd.comp, attn_dscores.comp): the key chunks (of SG * TN keys) a transposed
// product reads in rows [m0, m0 + rows) of batch b, as the hull [zb, ze) of keys, chunk-aligned:
// it reads column block kb of P or dS over kb's query range [lo, hi) (src/ops/attn_ranges.h; the
// texel GEMM in whole steps of 8 along K). A chunk with no visible key inside the hull must still
// be written (as 0); outside it and outside the live chunks nothing is read. Lanes split the key
// blocks; needs the includer's kr[] (the ranges buffer); qro = element offset of the query ranges.
void attn_zero_hull(uint qro, uint b, uint m0, uint rows, uint Tk, out uint zb, out uint ze) {
    uint kbs = (Tk + 15u) / 16u, lo_kb = kbs, hi_kb = 0u;
    for (uint kb = gl_SubgroupInvocationID; kb < kbs; kb += SG) {
        uint e = qro + 2u * (b * kbs + kb), lo = kr[e], hi = kr[e + 1u];
        if (lo < hi && (lo & ~7u) < m0 + rows && ((hi + 7u) & ~7u) > m0) {
            lo_kb = min(lo_kb, kb);
            hi_kb = max(hi_kb, kb + 1u);
        }
    }
    lo_kb = subgroupMin(lo_kb);
    hi_kb = subgroupMax(hi_kb);
    const uint CH = SG * TN;
    zb = lo_kb < hi_kb ? lo_kb * 16u / CH * CH : 0u;
    ze = lo_kb < hi_kb ? (hi_kb * 16u + CH - 1u) / CH * CH : 0u;
}
