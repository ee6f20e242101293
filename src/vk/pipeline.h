/* Compute pipelines made from embedded SPIR-V, created once per (shader, bindings, push size,
 * specialization constants) and reused; their compiled state is kept in a VkPipelineCache saved
 * under $XDG_CACHE_HOME/flanvk (or ~/.cache/flanvk) so a second run does not recompile.
 *
 * Convention for every shader: set 0, bindings 0..nbind-1 in the order of `binds`; push constants
 * at offset 0 of `push_size` bytes; specialization constants with ids 0..nspec-1, all 32-bit. */
#ifndef FV_VK_PIPELINE_H
#define FV_VK_PIPELINE_H

#include <stdint.h>
#include <vulkan/vulkan.h>

#include "vk/device.h"
#include "vk/memory.h"

#define FV_MAX_BINDS 12
#define FV_MAX_SPEC 12

enum fv_bind_kind {
    FV_BIND_STORAGE = 0,  /* storage buffer over the whole fv_buf */
    FV_BIND_TEXEL = 1,    /* uniform texel buffer; the format is in bind_fmt */
};

typedef struct fv_pipe_desc {
    const char *shader;                 /* embedded variant name, e.g. "rmsnorm" */
    uint32_t nbind;
    uint8_t bind_kind[FV_MAX_BINDS];    /* enum fv_bind_kind */
    uint8_t bind_fmt[FV_MAX_BINDS];     /* enum fv_texel_format, for FV_BIND_TEXEL */
    uint32_t write_mask;                /* bit i set: binding i is written (read-modify-write included) */
    uint32_t push_size;                 /* bytes, at most 128 */
    uint32_t nspec;
    uint32_t spec[FV_MAX_SPEC];
    uint32_t subgroup;                  /* nonzero: the kernel needs subgroups of exactly this size
                                           (d->subgroup_size; see vk/subgroup.h) */
} fv_pipe_desc;

#define FV_SHADER_NAME_MAX 64
struct fv_pipeline {
    fv_pipe_desc desc;     /* desc.shader points at shader_name: callers may pass a name they built */
    char shader_name[FV_SHADER_NAME_MAX];
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    struct fv_pipeline *next;
};

int fv_pipeline_get(fv_dev *d, const fv_pipe_desc *desc, fv_pipeline **out);

int fv_pipeline_cache_open(fv_dev *d);
void fv_pipelines_destroy(fv_dev *d);  /* also saves the pipeline cache */

/* Round a/b up. */
static inline uint32_t fv_div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

#endif
