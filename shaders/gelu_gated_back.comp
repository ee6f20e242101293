#version 450
#extension GL_GOOGLE_include_directive : require
// Feed-forward activation, backward (see gelu_gated.comp): with g = dout,
// da = g * b * act'(a) and db = g * act(a) when GATED; da = g * act'(a) otherwise. Both are
// overwritten. Element positions of da/db may coincide exactly with those of a/b/g (in place):
// every invocation reads its element before writing it. -DDROP (gelu_gated_back_drop): g first
// goes through the forward's dropout mask (g = keep ? dout * scale : 0, fv_dropout's arithmetic,
// element index row * cols + col; binding 5 holds the seed).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint ACT = 0;
layout(constant_id = 2) const uint GATED = 1;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer G { float g[]; };
layout(std430, binding = 3) buffer DA { float da[]; };
layout(std430, binding = 4) buffer DB { float db[]; };
#ifdef DROP
layout(std430, binding = 5) readonly buffer S { uint seed[]; };
layout(push_constant) uniform P {
    uint rows, cols, ao, lda, bo, ldb, go, ldg, dao, ldda, dbo, lddb, salt, thresh;
    float scale;
    uint seed_index;
} p;
#else
layout(push_constant) uniform P { uint rows, cols, ao, lda, bo, ldb, go, ldg, dao, ldda, dbo, lddb; } p;
#endif

#include "gelu_act.glsl"

void main() {
    uint r = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (r >= p.rows) return;
#ifdef DROP
    drop_begin(seed[p.seed_index]);
#endif
    for (uint c = gl_LocalInvocationID.x; c < p.cols; c += WG) {
        float x = a[p.ao + r * p.lda + c];
        float gv = g[p.go + r * p.ldg + c];
#ifdef DROP
        gv = drop_keep(r * p.cols + c) ? gv * p.scale : 0.0;
#endif
        if (GATED != 0) {
            float bv = b[p.bo + r * p.ldb + c];
            da[p.dao + r * p.ldda + c] = gv * bv * act_d(x);
            db[p.dbo + r * p.lddb + c] = gv * act_f(x);
        } else {
            da[p.dao + r * p.ldda + c] = gv * act_d(x);
        }
    }
}
