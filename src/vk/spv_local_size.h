/* The workgroup size of an embedded compute shader, read from its SPIR-V with the pipeline's
 * specialization constants applied, so pipeline creation can refuse a size above the device's
 * limits with a message instead of undefined behaviour (glslang writes local_size_x_id = N as a
 * WorkgroupSize composite of spec constants, fixed sizes as the LocalSize execution mode). */
#ifndef FV_VK_SPV_LOCAL_SIZE_H
#define FV_VK_SPV_LOCAL_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* spec[i] is the value of SpecId i for i < nspec. Returns 0 and fills size, or -1 with the error
 * set if the module is malformed. */
int fv_spv_local_size(const uint32_t *code, size_t bytes, const uint32_t *spec, uint32_t nspec, uint32_t size[3]);

#endif
