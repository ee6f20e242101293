// Workgroup-wide sum of one float per invocation. Within a subgroup it uses subgroupAdd; across
// subgroups one shared-memory step with two barriers. On CPU drivers (lavapipe) every barrier is
// a coroutine switch per subgroup, so row kernels there run one subgroup per row and never reach
// the barrier. Include after `layout(constant_id = 0) const uint WG` (a power of two).
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

shared float rowsum_scratch[WG];

// Invocations in this subgroup, counted: gl_SubgroupSize is not trusted (Mesa 22.3's lavapipe above
// 512-bit vectors reports 32 or 64 there but runs 16; src/vk/subgroup.h). Call in uniform control flow.
uint subgroup_lanes() { return subgroupAdd(1u); }

float rowsum(float v) {
    float s = subgroupAdd(v);
    if (gl_NumSubgroups == 1) return s;
    if (subgroupElect()) rowsum_scratch[gl_SubgroupID] = s;
    barrier();
    float r = 0.0;
    for (uint i = 0; i < gl_NumSubgroups; i++) r += rowsum_scratch[i];
    barrier();
    return r;
}
