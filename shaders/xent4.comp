#version 450
#extension GL_GOOGLE_include_directive : require
// vec4 path of shaders/xent.comp (same formulas, ignore rule and in-place aliasing of dl and x)
// for vocab and offsets that are multiples of 4; xo and dlo count vec4s. Three sweeps over the
// row read vec4s: max, sum of exp(x - M), then the gradient. -DTEXEL reads the logits through an
// RGBA32F texel view (one 16-byte gather per lane on lavapipe instead of a per-lane scalar loop).
// RPW > 1 (CPU devices): each subgroup of the workgroup takes whole rows of a block of RPW rows and
// reduces with subgroup operations alone (no barriers); RPW = 1: one workgroup per row.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint GRAD = 1;
layout(constant_id = 2) const uint RPW = 1;

#include "vec4io.glsl"
FV_IN4(0, x)
layout(std430, binding = 1) readonly buffer L { int labels[]; };
layout(std430, binding = 2) readonly buffer SC { float sc[]; };
layout(std430, binding = 3) writeonly buffer LOSS { float loss[]; };
layout(std430, binding = 4) writeonly buffer DL { vec4 dl[]; };
layout(push_constant) uniform P { uint rows, vocab, xo, lo, so, losso, dlo; } p;

#include "rowsum.glsl"
#include "exp_ftz.glsl"

float rowmax(float v) {
    float s = subgroupMax(v);
    if (RPW > 1 || gl_NumSubgroups == 1) return s;
    if (subgroupElect()) rowsum_scratch[gl_SubgroupID] = s;
    barrier();
    float r = rowsum_scratch[0];
    for (uint i = 1; i < gl_NumSubgroups; i++) r = max(r, rowsum_scratch[i]);
    barrier();
    return r;
}

float reduce(float v) { return RPW > 1 ? subgroupAdd(v) : rowsum(v); }

void do_row(uint row, uint t, uint stride) {
    uint v4 = p.vocab / 4u, xb = p.xo + row * v4, db = p.dlo + row * v4;
    int lab = labels[p.lo + row];
    if (lab < 0 || uint(lab) >= p.vocab) { // uniform across the row's invocations
        if (t == 0) loss[p.losso + row] = 0.0;
        if (GRAD != 0)
            for (uint j = t; j < v4; j += stride) dl[db + j] = vec4(0.0);
        return;
    }
    uint ul = uint(lab);
    float xl = FV_LD4(x, xb + ul / 4u)[ul % 4u];
    vec4 m4 = vec4(-1.0 / 0.0);
    for (uint j = t; j < v4; j += stride) m4 = max(m4, FV_LD4(x, xb + j));
    float m = rowmax(max(max(m4.x, m4.y), max(m4.z, m4.w)));
    vec4 s4 = vec4(0.0);
    for (uint j = t; j < v4; j += stride) s4 += fv_exp_ftz4(FV_LD4(x, xb + j) - m, FV_EXP_LO);
    float s = reduce((s4.x + s4.y) + (s4.z + s4.w));
    if (t == 0) loss[p.losso + row] = log(s) - (xl - m);
    if (GRAD != 0) {
        float scale = sc[p.so];
        float inv = scale / s, lo = fv_xent_grad_lo(s, inv);
        for (uint j = t; j < v4; j += stride) {
            vec4 v = fv_exp_ftz4(FV_LD4(x, xb + j) - m, lo) * inv;
            if (j == ul / 4u) v[ul % 4u] -= scale;
            dl[db + j] = v;
        }
    }
}

void main() {
    uint block = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (RPW > 1) {
        uint lanes = subgroup_lanes();
        for (uint k = gl_SubgroupID; k < RPW; k += gl_NumSubgroups) {
            uint row = block * RPW + k;
            if (row < p.rows) do_row(row, gl_SubgroupInvocationID, lanes);
        }
    } else if (block < p.rows) {
        do_row(block, gl_LocalInvocationID.x, WG);
    }
}
