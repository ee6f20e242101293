#version 450
#extension GL_GOOGLE_include_directive : require
// AdamW step (torch.optim.AdamW, decoupled weight decay), elementwise over one tensor or over many
// tensors laid out in parallel in p, g, m and v. Hyperparameters come from a 16-word struct in a
// buffer (see src/ops/optim_hyper.h) so a recorded step replays with a new lr and step count.
// Formula order as torch's single-tensor path: p *= 1 - lr*wd; m = lerp(m, g, 1-b1);
// v = v*b2 + (1-b2)*g*g; p += -step_size * m / (sqrt(v) / sqrt(bc2) + eps).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer H { float h[]; };
layout(std430, binding = 1) buffer PB { float p[]; };
layout(std430, binding = 2) readonly buffer G { float g[]; };
layout(std430, binding = 3) buffer M { float m[]; };
layout(std430, binding = 4) buffer V { float v[]; };
layout(push_constant) uniform P { uint n, po, go, mo, vo, ho; } pc;

void main() {
    uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    float eps = h[pc.ho + 3], decay = h[pc.ho + 5], step_size = h[pc.ho + 6], bc2_sqrt = h[pc.ho + 7];
    float omb1 = h[pc.ho + 8], omb2 = h[pc.ho + 9], beta2 = h[pc.ho + 2];
    float gv = g[pc.go + i], mv = m[pc.mo + i], vv = v[pc.vo + i];
    float pv = p[pc.po + i] * decay;
    // torch's lerp: start + w*(end-start) for w < 0.5, else end - (end-start)*(1-w)
    mv = omb1 < 0.5 ? mv + omb1 * (gv - mv) : gv - (gv - mv) * (1.0 - omb1);
    vv = vv * beta2 + omb2 * (gv * gv);
    float denom = sqrt(vv) / bc2_sqrt + eps;
    m[pc.mo + i] = mv;
    v[pc.vo + i] = vv;
    p[pc.po + i] = pv + (-step_size) * mv / denom;
}
