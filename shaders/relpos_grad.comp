#version 450
#extension GL_GOOGLE_include_directive : require
// Gradient of the T5 relative-position bias table: dtable[bucket*H + h] += the sum over (b, i)
// of the per-row bucket sums of dS that attn_softmax_back wrote into `hist`. One invocation per
// table entry sums its rows in a fixed order, so the result is deterministic (no float atomics).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, binding = 0) readonly buffer HI { float hist[]; };
layout(std430, binding = 1) buffer DT { float dt[]; };
layout(push_constant) uniform P { uint B, H, Tq, nb, ho, dto; } p;

void main() {
    uint idx = gl_GlobalInvocationID.x;
    if (idx >= p.nb * p.H) return;
    uint bk = idx / p.H, h = idx % p.H;
    float acc = 0.0;
    for (uint b = 0; b < p.B; b++) {
        uint row0 = (b * p.H + h) * p.Tq;
        for (uint i = 0; i < p.Tq; i++) acc += hist[p.ho + (row0 + i) * p.nb + bk];
    }
    dt[p.dto + idx] += acc;
}
