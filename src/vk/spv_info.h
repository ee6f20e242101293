/* What pipeline creation must know of an embedded compute shader before asking the driver, read
 * from its SPIR-V with the pipeline's specialization constants applied: the workgroup size and
 * the bytes of shared (Workgroup) memory it declares. Pipelines above the device's limits are then
 * refused with a message instead of undefined behaviour — and a device profile's lower limits are
 * honoured on a driver (lavapipe) that would run them anyway.
 *
 * glslang writes local_size_x_id = N as a WorkgroupSize composite of spec constants (whose own
 * default is 1, not the default of a `constant_id = N` constant sharing the SpecId), fixed sizes as
 * the LocalSize execution mode; shared array lengths as spec-constant expressions (BK * (BM + 1)),
 * which are evaluated here for the integer operations glslang emits (others leave the size
 * unknown, and the caller cannot check it). */
#ifndef FV_VK_SPV_INFO_H
#define FV_VK_SPV_INFO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t local_size[3];
    uint64_t shared_bytes;  /* sum of the Workgroup variables' sizes, tightly packed as declared */
    int shared_unknown;     /* an array length is an expression this reader does not evaluate */
} fv_spv_info;

/* spec[i] is the value of SpecId i for i < nspec. Returns 0, or -1 with the error set if the
 * module is malformed. */
int fv_spv_read_info(const uint32_t *code, size_t bytes, const uint32_t *spec, uint32_t nspec, fv_spv_info *out);

#endif
