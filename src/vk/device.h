/* The Vulkan device context: instance, chosen physical device, its properties and the features
 * flanvk uses, one compute queue, and the memory and pipeline caches that hang off it.
 *
 * Device choice: FLANVK_DEVICE=N (or an explicit index) wins; otherwise discrete, then integrated,
 * then virtual, then CPU. Kill switches, because drivers sometimes misreport features:
 * FLANVK_DISABLE_F16=1 turns off 16-bit storage/arithmetic; FLANVK_DISABLE_INT8=1 reports no
 * 8-bit arithmetic (the q8 kernels use none); FLANVK_TEXEL=0/1 forces the
 * storage-buffer or the texel-buffer load path (default: texel on CPU devices, where
 * texelFetch compiles to one vector gather, storage buffers elsewhere).
 * FLANVK_VALIDATION=1 turns on the Khronos validation layer (2-4: more checks, vk/validation.h);
 * every message it prints is counted in validation_messages.
 * props, memprops and info are the device profile's clamped view (src/vk/profile.h): read nothing
 * about the device from Vulkan directly. */
#ifndef FV_VK_DEVICE_H
#define FV_VK_DEVICE_H

#include <stdint.h>
#include <vulkan/vulkan.h>

#include "base/error.h"
#include "flanvk/flanvk.h"

/* Turn a failing VkResult into an error status carrying the call's text. */
#define VK_CHECK(call)                                                          \
    do {                                                                        \
        VkResult vk_check_r_ = (call);                                          \
        if (vk_check_r_ != VK_SUCCESS)                                          \
            return fv_err("%s failed: %s", #call, fv_vk_result_str(vk_check_r_)); \
    } while (0)

const char *fv_vk_result_str(VkResult r);

typedef struct fv_mem fv_mem;
typedef struct fv_pipeline fv_pipeline;

typedef flanvk_device_info fv_device_info;

typedef struct fv_dev {
    VkInstance instance;
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memprops;  /* as the device profile presents it (see profile.h) */
    uint32_t mem_real[VK_MAX_MEMORY_TYPES];     /* the real memory type behind each presented one */
    fv_device_info info;

    /* what the ops may rely on */
    uint32_t subgroup_size;      /* invocations per subgroup kernels may rely on (vk/subgroup.h) */
    uint32_t subgroup_reported;  /* what the driver reports */
    uint32_t subgroup_measured;  /* what the device-open probe counted (0: not probed) */
    int subgroup_control;        /* pipelines can require a subgroup size (full subgroups) */
    int subgroup_fixed;          /* the driver runs one subgroup size only (min == max) */
    uint32_t subgroup_ops;   /* VkSubgroupFeatureFlags usable in compute shaders (0 if none) */
    uint32_t max_shared;     /* bytes of shared memory per workgroup */
    int fp16;                /* 16-bit storage and float16 arithmetic both available and enabled */
    int use_texel;           /* read large operands through uniform texel buffers */
    int uma;                 /* device memory is host-visible: no staging copies */
    float timestamp_period;  /* ns per timestamp tick, 0 if unsupported */
    double max_submit_ms;    /* longest GPU time of one graph submission measured so far (vk/graph.h) */
    uint64_t graph_submits;  /* vkQueueSubmit calls made by graphs */
    /* Dispatches recorded as several workgroup ranges under the submission bound, by shader
     * (ops/op.h fv_op_dispatch_bounded; the first 32 shaders cut): what tests see of those cuts. */
    struct { char shader[40]; uint64_t cut, ranges; } cuts[32];

    VkCommandPool cmd_pool;    /* holds only once_cmd: reset as a whole (graphs have their own pools) */
    VkCommandBuffer once_cmd;  /* for blocking one-off copies */
    VkFence once_fence;

    VkDebugUtilsMessengerEXT messenger;
    int validation;
    int validation_messages;

    fv_mem *mem;
    VkPipelineCache pipeline_cache;
    char pipeline_cache_path[512];
    fv_pipeline *pipelines;  /* created pipelines, reused by (shader, layout, constants) */
} fv_dev;

/* List every physical device (no logical device is created). */
int fv_device_list(fv_device_info *out, uint32_t max, uint32_t *count);

/* Open device `index` (-1: FLANVK_DEVICE or the best one). */
int fv_dev_open(int index, fv_dev **out);
void fv_dev_close(fv_dev *d);

#endif
