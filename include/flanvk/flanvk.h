/* flanvk: Flan-T5 finetuning and inference on Vulkan compute.
 *
 * The public C API. Every function that can fail returns 0 on success and non-zero on failure;
 * flanvk_last_error() then gives a one-line message (thread-local) naming the file, tensor, key
 * or device involved. Nothing here aborts the process. */
#ifndef FLANVK_FLANVK_H
#define FLANVK_FLANVK_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

const char *flanvk_version(void);
const char *flanvk_last_error(void);

/* Progress of a long operation: done out of total (bytes, examples, items), user as given. */
typedef void (*flanvk_progress_fn)(uint64_t done, uint64_t total, void *user);

/* ---- devices ---------------------------------------------------------------------------- */

#define FLANVK_MAX_HEAPS 16
#define FLANVK_MAX_MEMORY_TYPES 32

typedef struct flanvk_memory_type {
    int device_local, host_visible, host_coherent, host_cached;
    uint32_t heap;
} flanvk_memory_type;

typedef struct flanvk_device_info {
    uint32_t index;
    char name[256];
    char driver[256];
    char type[16];                 /* "discrete", "integrated", "virtual", "cpu", "other" */
    uint32_t vendor_id, device_id;
    uint32_t api_version;          /* VK_MAKE_API_VERSION encoding */
    uint32_t subgroup_size, min_subgroup_size, max_subgroup_size;
    uint32_t max_shared_memory;    /* bytes per workgroup */
    uint32_t max_workgroup_invocations;
    uint64_t max_storage_buffer_range;
    uint64_t max_texel_buffer_elements;
    int fp16, storage16, int8;     /* shaderFloat16, storageBuffer16BitAccess, shaderInt8 */
    uint32_t heap_count;
    uint64_t heap_size[FLANVK_MAX_HEAPS];
    int heap_device_local[FLANVK_MAX_HEAPS];
    int rank;                      /* preference: the highest rank is chosen by default */
    /* Everything above and below is after the device profile's clamps (see flanvk_set_profile). */
    char profile[32];              /* the profile applied, "none" if none */
    uint32_t subgroup_ops;         /* VkSubgroupFeatureFlags usable in compute shaders */
    int subgroup_size_control;     /* the subgroupSizeControl feature */
    uint32_t subgroup_size_used;   /* the size kernels use, measured when the device is opened
                                      (src/vk/subgroup.h); 0 in listings, which open no device */
    uint32_t max_push_constants, max_descriptor_sets;
    uint32_t max_storage_buffers_per_stage, max_texel_buffers_per_stage, max_resources_per_stage;
    uint64_t max_allocation_size;  /* maxMemoryAllocationSize (Vulkan 1.1 maintenance3) */
    uint64_t min_storage_buffer_offset_alignment, min_texel_buffer_offset_alignment, non_coherent_atom_size;
    uint32_t memory_type_count;
    flanvk_memory_type memory_types[FLANVK_MAX_MEMORY_TYPES];
} flanvk_device_info;

/* Device profiles make this device behave as a class of GPU (lower limits, the class's device type,
 * subgroup size and memory types): "nvidia", "amd-windows", "intel-windows", "apple", "mobile",
 * "minimum", or "none". The choice holds for every later flanvk_list_devices/flanvk_open in this
 * process; NULL or "" returns to FLANVK_PROFILE. An unknown name fails, listing the known ones. */
int flanvk_set_profile(const char *name);
/* The known profile names, comma-separated. */
const char *flanvk_profile_names(void);

/* Fill up to max entries; *count gets how many were written. */
int flanvk_list_devices(flanvk_device_info *out, uint32_t max, uint32_t *count);
/* The index flanvk would choose with no --device: FLANVK_DEVICE, else the best-ranked. */
int flanvk_default_device(uint32_t *index);

/* ---- context ------------------------------------------------------------------------------ */

typedef struct flanvk_ctx flanvk_ctx;

/* Open a device: index >= 0 picks that device, -1 lets flanvk choose (see flanvk_default_device). */
int flanvk_open(int device, flanvk_ctx **out);
void flanvk_close(flanvk_ctx *ctx);
const flanvk_device_info *flanvk_device(const flanvk_ctx *ctx);
/* Messages printed by the Khronos validation layer so far (FLANVK_VALIDATION=1). */
int flanvk_validation_messages(const flanvk_ctx *ctx);
/* Device memory held now and at most since the context was opened, in bytes. */
uint64_t flanvk_device_memory(const flanvk_ctx *ctx, uint64_t *peak);

/* ---- op checks ---------------------------------------------------------------------------- */

/* Run the op check named `name` (NULL or "": all of them), printing one line per
 * comparison to out (NULL: silent). Returns non-zero only if the checks could not run;
 * failures are counted in *failed. */
int flanvk_test_ops(flanvk_ctx *ctx, const char *name, FILE *out, int *passed, int *failed);
/* Names of the op checks, NULL-terminated. */
const char *const *flanvk_op_check_names(void);

/* One comparison (or non-numeric verdict) of an op check, for `flanvk test-ops --report`. */
typedef struct flanvk_op_result {
    char op[32];               /* the check, as in flanvk_op_check_names */
    char what[96], shape[96];  /* e.g. "rmsnorm fwd", "1000x512" */
    double error, tolerance;   /* max rel err (may be inf/nan) and its bound; both -1 if not a comparison */
    int passed;
    char detail[160];          /* why it failed, or what a non-numeric check saw */
} flanvk_op_result;
/* Every result of the flanvk_test_ops calls made on ctx so far, in order (NULL if none). The
 * array stays valid until the next flanvk_test_ops or flanvk_close. */
const flanvk_op_result *flanvk_op_results(const flanvk_ctx *ctx, size_t *n);

/* ---- benchmarks --------------------------------------------------------------------------- */

/* `flanvk bench ops`: time every op at T5 shapes against the peak measured in the same run.
 * Prints one line (or, with json, one JSON object {"name","shape","ms","gflops"|"gbps","pct_peak"})
 * per measurement. filter (NULL: all) keeps the benchmarks whose name contains it. */
int flanvk_bench_ops(flanvk_ctx *ctx, FILE *out, int json, const char *filter);

#ifdef __cplusplus
}
#endif

#endif

/* The rest of the public API: tokenizer.h, model.h (load, generate, score) and more. */
