#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding lookup: out[t, :] = table[ids[t], :] for ntok tokens of dim columns. An id >= vocab
// (the host validates ids; this is only a guard) gives a row of zeros instead of an
// out-of-bounds read. One workgroup per token (no per-element division), columns strided.
// A table split into row pieces (each within the device's storage-buffer range) is looked up
// one piece at a time: the piece holds rows first .. first + vocab - 1, and with keep = 1 tokens
// whose id lies outside it leave their output row as an earlier piece wrote it.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer T { float table[]; };
layout(std430, binding = 1) readonly buffer I { uint ids[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint ntok, dim, vocab, to, io, oo, first, keep; } p;

void main() {
    uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (t >= p.ntok) return;
    uint id = ids[p.io + t] - p.first, ob = p.oo + t * p.dim; // ids below first wrap past vocab
    if (id < p.vocab) {
        uint tb = p.to + id * p.dim;
        for (uint c = gl_LocalInvocationID.x; c < p.dim; c += WG) o[ob + c] = table[tb + c];
    } else if (p.keep == 0) {
        for (uint c = gl_LocalInvocationID.x; c < p.dim; c += WG) o[ob + c] = 0.0;
    }
}
