#version 450
#extension GL_GOOGLE_include_directive : require
// vec4 path of shaders/embedding_back.comp for dim and offsets that are multiples of 4 (dim and
// the offsets of dout and dtable count vec4s here): invocation c owns 4 adjacent columns of every
// table row and walks the tokens in order, so each dtable element still receives its terms in
// token order (the same sums as the scalar shader and the sequential reference), with a quarter
// of the id scans and loop trips. Vocabulary slices (workgroup y) as in the scalar shader; ids
// >= vocab are skipped. -DTEXEL reads dout through an RGBA32F texel view.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

#include "vec4io.glsl"
layout(std430, binding = 0) readonly buffer I { uint ids[]; };
FV_IN4(1, g)
layout(std430, binding = 2) buffer D { vec4 dt[]; };
layout(push_constant) uniform P { uint ntok, dim, vocab, io, go, dto, vslice, first; } p;

void main() {
    uint c = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x;
    if (c >= p.dim) return;
    uint lo = gl_WorkGroupID.y * p.vslice, hi = min(lo + p.vslice, p.vocab);
    for (uint t = 0; t < p.ntok; t++) {
        uint id = ids[p.io + t] - p.first; // a row piece: ids below first wrap past vocab
        if (id >= lo && id < hi) dt[p.dto + id * p.dim + c] += FV_LD4(g, p.go + t * p.dim + c);
    }
}
