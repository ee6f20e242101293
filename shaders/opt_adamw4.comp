#version 450
#extension GL_GOOGLE_include_directive : require
// AdamW step, vec4 path of shaders/opt_adamw.comp (same formula, same order of operations, so the
// results are bitwise those of the scalar shader): every invocation updates U vec4s, each
// workgroup U * WG consecutive vec4s, strided by WG so a GPU's loads coalesce. All offsets and n
// count vec4s. In-place read-modify-write of p, m, v: with -DTEXEL the current values are read
// through texel views of the same buffers (bindings 5..7), each invocation reading its own
// elements before writing them.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint U = 4;

#include "vec4io.glsl"
layout(std430, binding = 0) readonly buffer H { float h[]; };
layout(std430, binding = 1) buffer PB { vec4 p[]; };
FV_IN4(2, g)
layout(std430, binding = 3) buffer M { vec4 m[]; };
layout(std430, binding = 4) buffer V { vec4 v[]; };
#ifdef TEXEL
FV_IN4(5, p_in)
FV_IN4(6, m_in)
FV_IN4(7, v_in)
#define P_LD(i) FV_LD4(p_in, i)
#define M_LD(i) FV_LD4(m_in, i)
#define V_LD(i) FV_LD4(v_in, i)
#else
#define P_LD(i) p[i]
#define M_LD(i) m[i]
#define V_LD(i) v[i]
#endif
layout(push_constant) uniform P { uint n, po, go, mo, vo, ho; } pc;

void main() {
    uint base = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG * U + gl_LocalInvocationID.x;
    float eps = h[pc.ho + 3], decay = h[pc.ho + 5], step_size = h[pc.ho + 6], bc2_sqrt = h[pc.ho + 7];
    float omb1 = h[pc.ho + 8], omb2 = h[pc.ho + 9], beta2 = h[pc.ho + 2];
    for (uint k = 0; k < U; k++) {
        uint i = base + k * WG;
        if (i >= pc.n) return;
        vec4 gv = FV_LD4(g, pc.go + i), mv = M_LD(pc.mo + i), vv = V_LD(pc.vo + i);
        vec4 pv = P_LD(pc.po + i) * decay;
        // torch's lerp: start + w*(end-start) for w < 0.5, else end - (end-start)*(1-w)
        mv = omb1 < 0.5 ? mv + omb1 * (gv - mv) : gv - (gv - mv) * (1.0 - omb1);
        vv = vv * beta2 + omb2 * (gv * gv);
        vec4 denom = sqrt(vv) / bc2_sqrt + eps;
        m[pc.mo + i] = mv;
        v[pc.vo + i] = vv;
        p[pc.po + i] = pv + (-step_size) * mv / denom;
    }
}
