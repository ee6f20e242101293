#version 450
#extension GL_GOOGLE_include_directive : require
// Softmax cross-entropy over the vocabulary, loss and logit gradient fused. One workgroup per row.
//   M = max_j x_j, S = sum_j exp(x_j - M), loss = log S - (x_label - M)
//   dl_j = (exp(x_j - M) / S - [j = label]) * scale
// with terms below 2^-60 of the row (or subnormal) flushed to 0 (common/exp_ftz.glsl: subnormals
// slow CPU drivers; the dropped terms are below an fp32 ulp of any sum they enter).
// Subtracting the row max keeps exp in range for any logit magnitude (1e4 and beyond). A row whose
// label is negative (HF's -100 ignore index) or >= vocab is ignored: loss 0 and a zero gradient
// row. scale is read from a device buffer so a replayed graph can change it (1 / target tokens).
// dl may alias x (in place): every invocation reads x_j before writing dl_j for its own j only,
// and the reads of passes 1-2 end at the workgroup barriers inside the row reductions.
// GRAD = 0 computes the per-row loss only (scoring); dl is then not touched.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint GRAD = 1;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer L { int labels[]; };
layout(std430, binding = 2) readonly buffer SC { float sc[]; };
layout(std430, binding = 3) writeonly buffer LOSS { float loss[]; };
layout(std430, binding = 4) writeonly buffer DL { float dl[]; };
layout(push_constant) uniform P { uint rows, vocab, xo, lo, so, losso, dlo; } p;

#include "rowsum.glsl"
#include "exp_ftz.glsl"

// Workgroup max in a fixed order, on the scratch array of rowsum.glsl.
float rowmax(float v) {
    uint t = gl_LocalInvocationID.x;
    rowsum_scratch[t] = v;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (t < s) rowsum_scratch[t] = max(rowsum_scratch[t], rowsum_scratch[t + s]);
        barrier();
    }
    float r = rowsum_scratch[0];
    barrier();
    return r;
}

void main() {
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x;
    uint xb = p.xo + row * p.vocab, db = p.dlo + row * p.vocab;
    int lab = labels[p.lo + row];
    if (lab < 0 || uint(lab) >= p.vocab) { // uniform across the workgroup: no barrier inside
        if (t == 0) loss[p.losso + row] = 0.0;
        if (GRAD != 0)
            for (uint j = t; j < p.vocab; j += WG) dl[db + j] = 0.0;
        return;
    }
    float xl = x[xb + uint(lab)];
    float m = -1.0 / 0.0;
    for (uint j = t; j < p.vocab; j += WG) m = max(m, x[xb + j]);
    m = rowmax(m);
    float s = 0.0;
    for (uint j = t; j < p.vocab; j += WG) s += fv_exp_ftz(x[xb + j] - m, FV_EXP_LO);
    s = rowsum(s);
    if (t == 0) loss[p.losso + row] = log(s) - (xl - m);
    if (GRAD != 0) {
        float scale = sc[p.so];
        float inv = scale / s, lo = fv_xent_grad_lo(s, inv);
        for (uint j = t; j < p.vocab; j += WG) {
            float v = fv_exp_ftz(x[xb + j] - m, lo) * inv;
            dl[db + j] = j == uint(lab) ? v - scale : v;
        }
    }
}
