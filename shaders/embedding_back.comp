#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding backward: dtable[v, :] += sum over tokens t with ids[t] = v of dout[t, :].
// Deterministic without float atomics: invocation c owns column c of every table row and walks
// the tokens in order, so each dtable element receives its terms in token order, exactly as the
// sequential reference adds them. Loads of dout and the read-modify-writes of dtable are adjacent
// across invocations (coalesced). For more parallelism on GPUs the vocabulary is cut into slices
// of `vslice` rows (workgroup y): each invocation still scans every id but only adds the tokens
// whose id falls in its slice, so the order per element is unchanged. Ids >= vocab are skipped.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer I { uint ids[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer D { float dt[]; };
layout(push_constant) uniform P { uint ntok, dim, vocab, io, go, dto, vslice, first; } p;

void main() {
    uint c = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x;
    if (c >= p.dim) return;
    uint lo = gl_WorkGroupID.y * p.vslice, hi = min(lo + p.vslice, p.vocab);
    for (uint t = 0; t < p.ntok; t++) {
        uint id = ids[p.io + t] - p.first; // a row piece: ids below first wrap past vocab
        if (id >= lo && id < hi) dt[p.dto + id * p.dim + c] += g[p.go + t * p.dim + c];
    }
}
