#version 450
#extension GL_GOOGLE_include_directive : require
// vec4 path of shaders/gelu_gated.comp (out = act(a) (* b when GATED)) and, with -DBACK, of
// shaders/gelu_gated_back.comp (da = g (* b) * act'(a), db = g * act(a)); the same per-element
// arithmetic, so the results are those of the scalar shaders. Workgroup (x, y) covers U * WG
// vec4s of row y from column x * U * WG on, strided by WG so a GPU's loads coalesce. Columns,
// strides and offsets count vec4s. -DTEXEL reads the inputs through RGBA32F texel views; in
// place (da/db on a/b/g) works since every invocation reads its elements before writing them.
// -DDROP fuses the feed-forward dropout as the scalar shaders' DROP variants do (forward: the
// output goes through the mask; backward: g does), element index (row * cols + col) * 4 + lane.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint U = 4;
layout(constant_id = 2) const uint ACT = 0;
layout(constant_id = 3) const uint GATED = 1;

#include "vec4io.glsl"
FV_IN4(0, a)
FV_IN4(1, b)
#ifdef DROP
#define DROP_P , salt, thresh; float scale; uint seed_index
#else
#define DROP_P
#endif
#ifdef BACK
FV_IN4(2, g)
layout(std430, binding = 3) writeonly buffer DA { vec4 da[]; };
layout(std430, binding = 4) writeonly buffer DB { vec4 db[]; };
#define SEED_BINDING 5
layout(push_constant) uniform P { uint rows, cols, ao, lda, bo, ldb, go, ldg, dao, ldda, dbo, lddb DROP_P; } p;
#else
layout(std430, binding = 2) writeonly buffer O { vec4 o[]; };
#define SEED_BINDING 3
layout(push_constant) uniform P { uint rows, cols, ao, lda, bo, ldb, oo, ldo DROP_P; } p;
#endif
#ifdef DROP
layout(std430, binding = SEED_BINDING) readonly buffer S { uint seed[]; };
#endif

#include "gelu_act.glsl"

#ifdef DROP
// keep ? v * scale : 0 per lane, the arithmetic of shaders/dropout4.comp
vec4 drop4(uint r, uint c, vec4 v) { return mix(vec4(0.0), v * p.scale, drop_keep4((r * p.cols + c) * 4u)); }
#endif

void main() {
    uint r = gl_WorkGroupID.y, c0 = gl_WorkGroupID.x * WG * U + gl_LocalInvocationID.x;
#ifdef DROP
    drop_begin(seed[p.seed_index]);
#endif
    for (uint k = 0; k < U; k++) {
        uint c = c0 + k * WG;
        if (c >= p.cols) return;
        vec4 x = FV_LD4(a, p.ao + r * p.lda + c), f = act_f(x);
#ifdef BACK
        vec4 gv = FV_LD4(g, p.go + r * p.ldg + c), d = act_d(x);
#ifdef DROP
        gv = drop4(r, c, gv);
#endif
        if (GATED != 0) {
            vec4 bv = FV_LD4(b, p.bo + r * p.ldb + c);
            da[p.dao + r * p.ldda + c] = gv * bv * d;
            db[p.dbo + r * p.lddb + c] = gv * f;
        } else {
            da[p.dao + r * p.ldda + c] = gv * d;
        }
#else
        if (GATED != 0) f *= FV_LD4(b, p.bo + r * p.ldb + c);
#ifdef DROP
        f = drop4(r, c, f);
#endif
        o[p.oo + r * p.ldo + c] = f;
#endif
    }
}
