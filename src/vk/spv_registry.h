/* The table of embedded SPIR-V modules, generated at build time by cmake/shaders.cmake. */
#ifndef FV_VK_SPV_REGISTRY_H
#define FV_VK_SPV_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;        /* shader variant, e.g. "rmsnorm" or "gemm_f16" */
    const uint32_t *code;
    const size_t *size;      /* bytes */
} fv_spv_entry;

extern const fv_spv_entry fv_spv_registry[]; /* ends with a {0} entry */

#endif
