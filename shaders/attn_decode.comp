#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
// Decode-step attention for one query token per row, in ONE dispatch: scores Q.K (no 1/sqrt(d), as
// T5), relative-position bias, mask, softmax and P.V, one workgroup (= one subgroup) per (row b,
// head h). Replaces GEMM + attn_softmax + GEMM (+ two kv_append dispatches) of a decode step,
// whose cost on CPU drivers is mostly the per-dispatch overhead, not the arithmetic.
//
// Each lane owns keys lane, lane + SG, ... and keeps its own online softmax (running max m,
// normaliser l; Milakov & Gimelshein 2018, "Online normalizer calculation for softmax") and its
// own P.V accumulator over the whole head (q and the accumulator live in registers, dk <= 4*MAXD4);
// the lanes are merged once at the end with subgroup reductions. On lavapipe this keeps every
// cache read a texel gather issued by all lanes at once, with no shared memory or barriers (a
// version sweeping P.V with lanes over columns, P through shared memory, ran 2.5x slower).
//
// SELF (decoder self-attention over a KV cache, spec constant): the keys are cache slots 0..step-1
// plus this step's own k/v, read from NEW (the fused QKV buffer) and written to the caches at slot
// `step` (step = STEP[stepo + b * steps], a device buffer: the step is recorded once and replayed;
// steps = 1 gives each row its own position, for continuous batching). The
// caches are read through K/V and written through KC/VC (the same buffers; slot `step` is never
// read from the cache, so there is no hazard). Bias: table[lut[clamp(j - step, -L, L) + L]*H + h].
// Otherwise (cross-attention): keys 0..Tk-1, key j visible iff SEG[sego + b*Tk + j] != 0.
// A row with no visible key gets O = 0. All offsets and strides count vec4s (host checks %4).
//
// KV_F16 (variant): K and V (caches and cross K|V) hold IEEE fp16, four halves per vec4 slot:
// read as RGBA16F texels (TEXEL) or as uvec2 words widened by unpackHalf2x16, so neither path
// needs 16-bit storage. KV_W8 (TEXEL only; dk, offsets and strides multiples of 8 halves): one
// RGBA32UI texel carries 8 halves, two vec4 slots, unpacked in the shader: half the gathers of
// the RGBA16F views, which on lavapipe cost as much per texel as the fp32 ones. The append rounds k_new / v_new to nearest even (common/half.glsl) and
// this step's own key and value enter the sums rounded too, so a step sees exactly the K/V that
// the next steps will read back from the cache. Scores, softmax and sums stay fp32.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint SG = 8;      // workgroup size = subgroup size
layout(constant_id = 1) const bool SELF = false;

#define KU 2      // keys per lane per chunk (one rescale of the accumulator per chunk)
#define MAXD4 16  // dk <= 64 (host checks)

#include "vec4io.glsl"
FV_IN4(0, Q)
FV_IN4(3, NEW)
#ifdef KV_F16
#include "half.glsl"
#if defined(TEXEL) && defined(KV_W8)
layout(binding = 1) uniform usamplerBuffer K; // RGBA32UI views: 8 halves per texel
layout(binding = 2) uniform usamplerBuffer V;
#elif defined(TEXEL)
FV_IN4(1, K) // RGBA16F views
FV_IN4(2, V)
#define LDKV(name, i) texelFetch(name, int(i))
#else
layout(std430, binding = 1) readonly buffer K_h { uvec2 K[]; };
layout(std430, binding = 2) readonly buffer V_h { uvec2 V[]; };
#define LDKV(name, i) unpack4(name[i])
#endif
#define KVWORD uvec2
vec4 unpack4(uvec2 w) { return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
uvec2 pack4(vec4 x) {
    uvec4 h = uvec4(to_half(floatBitsToUint(x.x)), to_half(floatBitsToUint(x.y)), to_half(floatBitsToUint(x.z)),
                    to_half(floatBitsToUint(x.w)));
    return uvec2(h.x | (h.y << 16), h.z | (h.w << 16));
}
#define RND4(x) unpack4(pack4(x))
#else
FV_IN4(1, K)
FV_IN4(2, V)
#define LDKV(name, i) FV_LD4(name, i)
#define KVWORD vec4
#define pack4(x) (x)
#define RND4(x) (x)
#endif
#ifdef TEXEL
layout(binding = 4) uniform usamplerBuffer SEG;
layout(binding = 5) uniform samplerBuffer TAB;
layout(binding = 6) uniform usamplerBuffer LUT;
#define LDI(name, i) int(texelFetch(name, int(i)).x)
#define LDF(name, i) texelFetch(name, int(i)).x
#else
layout(std430, binding = 4) readonly buffer SEG_b { int SEG[]; };
layout(std430, binding = 5) readonly buffer TAB_b { float TAB[]; };
layout(std430, binding = 6) readonly buffer LUT_b { int LUT[]; };
#define LDI(name, i) name[i]
#define LDF(name, i) name[i]
#endif
layout(std430, binding = 7) readonly buffer STEP_b { uint STEP[]; };
layout(std430, binding = 8) buffer KC_b { KVWORD KC[]; };
layout(std430, binding = 9) buffer VC_b { KVWORD VC[]; };
layout(std430, binding = 10) writeonly buffer O_b { vec4 O[]; };
layout(push_constant) uniform P {
    uint B, H, D4, Tk;             // rows, heads, dk/4, keys (cross) or cache slots (self)
    uint qs, ks, vs, os, ns;       // token strides (vec4)
    uint qo, ko, vo, oo, nko, nvo; // offsets (vec4)
    uint sego, tbo, luo, stepo, L, nb, bias;
    uint steps;                    // step stride per row: 0 = one shared step, 1 = a step per row
} pc;

const float LOWEST = -3.0e38;

uint h;
float rel_bias(int rel) {
    int L = int(pc.L);
    int bk = clamp(LDI(LUT, pc.luo + uint(clamp(rel, -L, L) + L)), 0, int(pc.nb) - 1);
    return LDF(TAB, pc.tbo + uint(bk) * pc.H + h);
}

void main() {
    uint z = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (z >= pc.B * pc.H) return;
    uint b = z / pc.H, lane = gl_LocalInvocationID.x, D4 = pc.D4;
    h = z % pc.H;
    vec4 q[MAXD4], acc[MAXD4];
    uint qb = pc.qo + b * pc.qs + h * D4;
    [[unroll]] for (uint d = 0; d < MAXD4; d++) {
        q[d] = d < D4 ? FV_LD4(Q, qb + d) : vec4(0.0);
        acc[d] = vec4(0.0);
    }

    uint step = SELF ? STEP[pc.stepo + b * pc.steps] : 0u;
    uint n = SELF ? min(step, pc.Tk) : pc.Tk;  // keys read from K/V
    bool bias = pc.bias != 0u;
    uint kb = pc.ko + b * pc.Tk * pc.ks + h * D4, vb = pc.vo + b * pc.Tk * pc.vs + h * D4;
    float m = LOWEST, l = 0.0;
    for (uint c0 = 0; c0 < n; c0 += KU * SG) {
        float s[KU];
        bool vis[KU];
        uint jj[KU];
        float cm = LOWEST;
        [[unroll]] for (uint u = 0; u < KU; u++) {
            uint j = c0 + u * SG + lane;
            jj[u] = min(j, n - 1);
            vis[u] = j < n;
            if (!SELF) vis[u] = vis[u] && LDI(SEG, pc.sego + b * pc.Tk + jj[u]) != 0;
            uint kr = kb + jj[u] * pc.ks;
            float a = 0.0;
#ifdef KV_W8
            [[unroll]] for (uint d = 0; d < MAXD4; d += 2)
                if (d < D4) {
                    uvec4 w = texelFetch(K, int((kr + d) >> 1));
                    a += dot(q[d], unpack4(w.xy)) + dot(q[d + 1], unpack4(w.zw));
                }
#else
            [[unroll]] for (uint d = 0; d < MAXD4; d++)
                if (d < D4) a += dot(q[d], LDKV(K, kr + d));
#endif
            if (SELF && bias) a += rel_bias(int(jj[u]) - int(step));
            s[u] = a;
            cm = max(cm, vis[u] ? a : LOWEST);
        }
        float mn = max(m, cm), alpha = exp(m - mn);
        l *= alpha;
        [[unroll]] for (uint d = 0; d < MAXD4; d++) acc[d] *= alpha;
        [[unroll]] for (uint u = 0; u < KU; u++) {
            float p = vis[u] ? exp(s[u] - mn) : 0.0;
            l += p;
            uint vr = vb + jj[u] * pc.vs;
#ifdef KV_W8
            [[unroll]] for (uint d = 0; d < MAXD4; d += 2)
                if (d < D4) {
                    uvec4 w = texelFetch(V, int((vr + d) >> 1));
                    acc[d] += p * unpack4(w.xy);
                    acc[d + 1] += p * unpack4(w.zw);
                }
#else
            [[unroll]] for (uint d = 0; d < MAXD4; d++)
                if (d < D4) acc[d] += p * LDKV(V, vr + d);
#endif
        }
        m = mn;
    }

    if (SELF && step < pc.Tk) { // this step's own key and value: lane 0 takes it, all lanes append it
        uint nk = pc.nko + b * pc.ns + h * D4, nv = pc.nvo + b * pc.ns + h * D4;
        for (uint d = lane; d < D4; d += SG) {
            KC[kb + step * pc.ks + d] = pack4(FV_LD4(NEW, nk + d));
            VC[vb + step * pc.vs + d] = pack4(FV_LD4(NEW, nv + d));
        }
        float a = bias ? rel_bias(0) : 0.0;
        [[unroll]] for (uint d = 0; d < MAXD4; d++)
            if (d < D4) a += dot(q[d], RND4(FV_LD4(NEW, nk + d)));
        bool mine = lane == 0u;
        float mn = mine ? max(m, a) : m, alpha = exp(m - mn), p = mine ? exp(a - mn) : 0.0;
        l = l * alpha + p;
        [[unroll]] for (uint d = 0; d < MAXD4; d++)
            if (d < D4) acc[d] = acc[d] * alpha + p * RND4(FV_LD4(NEW, nv + d));
        m = mn;
    }

    // merge the lanes: rescale each to the common max, sum
    float M = subgroupMax(m), sc = exp(m - M);
    float lt = subgroupAdd(l * sc), inv = lt > 0.0 ? 1.0 / lt : 0.0;
    uint ob = pc.oo + b * pc.os + h * D4;
    [[unroll]] for (uint d = 0; d < MAXD4; d++)
        if (d < D4) {
            vec4 r = subgroupAdd(acc[d] * sc) * inv;
            if (d % SG == lane) O[ob + d] = r;
        }
}
