#version 450
// Measures the subgroups a driver really runs (src/vk/subgroup.c): every invocation writes how many
// invocations its subgroup holds (counted with subgroupAdd, not read from gl_SubgroupSize) and
// what gl_SubgroupSize claims. Mesa 22.3's lavapipe at LP_NATIVE_VECTOR_WIDTH 1024/2048 reports
// 32/64 (property and built-in) but runs subgroups of 16; docs/PORTABILITY.md has the details.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer O { uint o[]; };
void main() {
    uint i = gl_LocalInvocationIndex;
    o[2u * i] = subgroupAdd(1u);
    o[2u * i + 1u] = gl_SubgroupSize;
}
