#version 450
#extension GL_GOOGLE_include_directive : require
// Dequantize rows of a low-bit weight (src/io/wpack.h) into fp32: out[r * K + k] = W(n0 + r, k).
// Many-row products (encoder, prefill) use it to run the tuned fp32 GEMM over a chunk of W: the
// extra pass costs N K against the product's 2 M N K, about 1 / M. One invocation per 4-weight
// unit; the values are exactly those of io/wpack.c fv_wunpack (and of the fused kernels).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

#include "wload.glsl"
layout(std430, binding = 0) writeonly buffer Ob { float o[]; };
// W binding 1, scales binding 2 (wload.glsl); wo: the weight's first word; the chunk is its rows
// n0 .. n0 + rows - 1 of N; so: the chunk's first scale; tile: W's tiled layout (src/io/wtile.h)
layout(push_constant) uniform P { uint rows, K, wo, rw, so, nb, oo, n0, N, tile; } p;

void main() {
    uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG + gl_LocalInvocationID.x;
    uint units = (p.K + 3u) / 4u;
    if (i >= p.rows * units) return;
    uint r = i / units, u = i % units, k = 4u * u;
    vec4 w = wunit(wrow(p.wo, p.n0 + r, p.rw, p.N, p.tile), u, p.so + r * p.nb);
    uint ob = p.oo + r * p.K + k;
    for (uint j = 0; j < 4u && k + j < p.K; j++) o[ob + j] = w[j];
}
