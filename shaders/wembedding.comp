#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding lookup from a low-bit table (src/io/wpack.h layouts, read as 32-bit words by
// wload.glsl): out[t, :] = W(ids[t] - first, :) dequantized exactly as fv_wunpack does. Same
// contract as embedding.comp: one workgroup per token; an id outside the piece [first, first +
// vocab) gives a zero row (keep = 0) or leaves the row as an earlier piece wrote it (keep = 1).
// Invocations stride over 4-weight units (one q8 word, two f16/bf16 words).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, binding = 0) readonly buffer I { uint ids[]; };
#include "wload.glsl"
layout(std430, binding = 3) writeonly buffer O { float o[]; };
// wo: the table's first word; rw: words per row; so: first scale's fp16 index; nb: scales per row;
// tile: rows per group of the table's tiled layout (src/io/wtile.h; 0: row-major)
layout(push_constant) uniform P { uint ntok, dim, vocab, wo, rw, so, nb, io, oo, first, keep, tile; } p;

void main() {
    uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (t >= p.ntok) return;
    uint id = ids[p.io + t] - p.first, ob = p.oo + t * p.dim;  // ids below first wrap past vocab
    uint units = (p.dim + 3u) / 4u;
    if (id < p.vocab) {
        uvec2 r = wrow(p.wo, id, p.rw, p.vocab, p.tile);
        for (uint u = gl_LocalInvocationID.x; u < units; u += WG) {
            vec4 w = wunit(r, u, p.so + id * p.nb);
            for (uint j = 0; j < 4u && 4u * u + j < p.dim; j++) o[ob + 4u * u + j] = w[j];
        }
    } else if (p.keep == 0u) {
        for (uint c = gl_LocalInvocationID.x; c < p.dim; c += WG) o[ob + c] = 0.0;
    }
}
