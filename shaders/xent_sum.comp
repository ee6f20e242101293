#version 450
#extension GL_GOOGLE_include_directive : require
// Reductions over the rows of a cross-entropy batch, one workgroup, fixed order (deterministic):
// MODE 0 (count): out[0] = number of rows with a valid label (0 <= label < vocab),
//                 out[1] = 1 / max(count, 1)  -- the gradient scale for xent.comp.
// MODE 1 (sum):   out[0] = sum of the per-row losses of those rows, out[1] = count,
//                 out[2] = out[0] / max(count, 1)  -- the mean loss.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint MODE = 1;

layout(std430, binding = 0) readonly buffer LOSS { float loss[]; };
layout(std430, binding = 1) readonly buffer L { int labels[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint rows, vocab, losso, lo, oo; } p;

#include "rowsum.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    float s = 0.0, n = 0.0;
    for (uint r = t; r < p.rows; r += WG) {
        int lab = labels[p.lo + r];
        if (lab >= 0 && uint(lab) < p.vocab) {
            n += 1.0;
            if (MODE == 1) s += loss[p.losso + r];
        }
    }
    n = rowsum(n);
    if (MODE == 1) s = rowsum(s);
    if (t != 0) return;
    if (MODE == 0) {
        o[p.oo] = n;
        o[p.oo + 1] = 1.0 / max(n, 1.0);
    } else {
        o[p.oo] = s;
        o[p.oo + 1] = n;
        o[p.oo + 2] = s / max(n, 1.0);
    }
}
