#version 450
#extension GL_GOOGLE_include_directive : require
// Scale tensors in place by a factor read on the device, so clipping needs no host round trip:
// MODE 0: x *= f[0]; MODE 1 (gradient clipping, as torch.nn.utils.clip_grad_norm_):
// x *= min(1, max_norm / (f[0] + 1e-6)) with f[0] the global norm.
// TABLE 1: workgroup w scales chunk chunk0 + w of the host-built chunk table (many tensors of
// one buffer per dispatch); TABLE 0: one tensor of n elements from element `off`, CHUNK per group.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const uint TABLE = 0;

layout(std430, binding = 0) buffer D { float data[]; };
layout(std430, binding = 1) readonly buffer T { uvec2 table[]; };
layout(std430, binding = 2) readonly buffer F { float f[]; };
layout(push_constant) uniform P { uint chunk0, nchunks, off, n, chunk, fo; float max_norm; } p;

void main() {
    uint w = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (w >= p.nchunks) return;
    uvec2 c;
    if (TABLE != 0) c = table[p.chunk0 + w];
    else c = uvec2(p.off + w * p.chunk, min(p.chunk, p.n - w * p.chunk));
    float s = f[p.fo];
    if (MODE == 1) s = min(1.0, p.max_norm / (s + 1e-6));
    for (uint j = gl_LocalInvocationID.x; j < c.y; j += WG) data[c.x + j] *= s;
}
