#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Block ranges of an attention mask (src/ops/attn_ranges.h): one invocation per block. For query
// block (b, qblk): [klo, khi) = hull of the keys visible to any of its 16 queries; for key block
// (b, kblk): [qlo, qhi) = hull of the queries that see any of its 16 keys; (0, 0) when empty.
// Each invocation holds its block's 16 segment ids in registers and scans the other side from
// both ends, stopping at the first hit (the common case: a hit within one segment's length).
// Visibility is the one of attn_mask.glsl: key j visible to query i iff seg_k[j] != 0 and
// (pad-only or seg_k[j] == seg_q[i]) and (not causal or j <= i).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 32;

#define R 16u

#ifdef TEXEL
layout(binding = 0) uniform usamplerBuffer SQ;
layout(binding = 1) uniform usamplerBuffer SK;
#define LDQ(i) int(texelFetch(SQ, int(i)).x)
#define LDK(i) int(texelFetch(SK, int(i)).x)
#else
layout(std430, binding = 0) readonly buffer SQb { int sqv[]; };
layout(std430, binding = 1) readonly buffer SKb { int skv[]; };
#define LDQ(i) sqv[i]
#define LDK(i) skv[i]
#endif
layout(std430, binding = 2) writeonly buffer RO { uint r[]; };
layout(push_constant) uniform P {
    uint B, Tq, Tk, qb, kb, sqo, sko, ro, flags;
} pc;

const uint F_CAUSAL = 1u, F_PAD_ONLY = 2u;

void main() {
    uint n = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG;
    uint nq = pc.B * pc.qb;
    if (n >= nq + pc.B * pc.kb) return;
    bool causal = (pc.flags & F_CAUSAL) != 0u, padonly = (pc.flags & F_PAD_ONLY) != 0u;
    uint lo = 0u, hi = 0u;
    if (n < nq) {  // query block: scan keys
        uint b = n / pc.qb, i0 = (n % pc.qb) * R, rows = min(R, pc.Tq - i0);
        int sq[R];
        [[unroll]] for (uint t = 0; t < R; t++) sq[t] = LDQ(pc.sqo + b * pc.Tq + i0 + min(t, rows - 1u));
        uint imax = i0 + rows - 1u;  // causal: no key past the block's last query
        uint jend = causal ? min(pc.Tk, imax + 1u) : pc.Tk;
        bool found = false;
        for (uint j = 0; j < jend && !found; j++) {
            int s = LDK(pc.sko + b * pc.Tk + j);
            bool v = false;
            [[unroll]] for (uint t = 0; t < R; t++)
                v = v || (t < rows && s != 0 && (padonly || s == sq[t]) && (!causal || j <= i0 + t));
            if (v) { lo = j; found = true; }
        }
        if (found) {
            for (uint j = jend; j > lo; j--) {
                int s = LDK(pc.sko + b * pc.Tk + j - 1u);
                bool v = false;
                [[unroll]] for (uint t = 0; t < R; t++)
                    v = v || (t < rows && s != 0 && (padonly || s == sq[t]) && (!causal || j - 1u <= i0 + t));
                if (v) { hi = j; break; }
            }
        }
    } else {  // key block: scan queries
        uint m = n - nq, b = m / pc.kb, j0 = (m % pc.kb) * R, cols = min(R, pc.Tk - j0);
        int sk[R];
        [[unroll]] for (uint t = 0; t < R; t++) sk[t] = LDK(pc.sko + b * pc.Tk + j0 + min(t, cols - 1u));
        uint ibeg = causal ? j0 : 0u;  // causal: no query before the block's first key
        bool found = false;
        for (uint i = ibeg; i < pc.Tq && !found; i++) {
            int s = LDQ(pc.sqo + b * pc.Tq + i);
            bool v = false;
            [[unroll]] for (uint t = 0; t < R; t++)
                v = v || (t < cols && sk[t] != 0 && (padonly || sk[t] == s) && (!causal || j0 + t <= i));
            if (v) { lo = i; found = true; }
        }
        if (found) {
            for (uint i = pc.Tq; i > lo; i--) {
                int s = LDQ(pc.sqo + b * pc.Tq + i - 1u);
                bool v = false;
                [[unroll]] for (uint t = 0; t < R; t++)
                    v = v || (t < cols && sk[t] != 0 && (padonly || sk[t] == s) && (!causal || j0 + t <= i - 1u));
                if (v) { hi = i; break; }
            }
        }
    }
    r[pc.ro + 2u * n] = lo;
    r[pc.ro + 2u * n + 1u] = hi;
}
