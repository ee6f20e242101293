/* The device profiles and their clamp; see profile.h. Figures come from the issue that asked for
 * them (issue 11: Khronos Vulkan-Profiles gpuinfo exports, ggml-vulkan's code and issues) and,
 * for `minimum`, from the Vulkan 1.1 spec's "Required Limits" table. 0 in a field: keep the
 * device's value. */
#define _POSIX_C_SOURCE 200809L
#include "vk/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* How the profile presents memory. Each presented type is backed by a real type that has at least
 * its device-local/host-visible/coherent bits, so on lavapipe (one type with every bit) any layout
 * can be presented; presenting fewer bits than the real type has is always safe. */
enum mem_layout {
    MEM_KEEP,             /* the device's own types */
    MEM_SEPARATE,         /* discrete: device-local only; host coherent; host coherent cached */
    MEM_SEPARATE_WINDOW,  /* + a 256 MiB device-local host-visible window; cached host type non-coherent */
    MEM_SEPARATE_MINIMAL, /* what the spec guarantees: device-local; host-visible coherent */
    MEM_UNIFIED,          /* one device-local, host-visible, coherent, cached type */
    MEM_UNIFIED_UNCACHED, /* mobile: device-local, host-visible, coherent, no cached type */
};

typedef struct {
    const char *name;
    VkPhysicalDeviceType type;
    uint32_t shared, invocations, wg_size_x;
    uint32_t subgroup, sg_min, sg_max;  /* reported subgroup size and the size-control range */
    uint32_t subgroup_ops;              /* 0: keep; else AND-ed with the device's */
    uint32_t sets, storage_per_stage, texel_per_stage, resources_per_stage, storage_per_set, texel_per_set, push;
    uint64_t storage_range, max_alloc, texel_elements;
    uint32_t offset_align, texel_align, atom; /* raised to at least these */
    int no_fp16, no_storage16, no_int8, no_size_control, no_clustered;
    enum mem_layout memory;
} profile;

#define KiB 1024u
#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

/* flanvk's own floor for `minimum`. Storage buffers per stage: attn_decode binds 11 on the
 * storage-buffer path (then attn_softmax 7; attn_softmax_back, adafactor and the gated-GELU
 * backward 6; xent4 5), measured over the op suite; Vulkan 1.1 guarantees only 4. Subgroup
 * operations: rowsum.glsl and the attention kernels need subgroup arithmetic, Vulkan 1.1 only
 * basic. A device below these cannot run flanvk; the profile carries flanvk's figures so that the
 * rest of the minimums are still tested. */
#define FLANVK_MIN_STORAGE_PER_STAGE 11u
#define FLANVK_MIN_SUBGROUP_OPS (VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT)

static const profile PROFILES[] = {
    {.name = "nvidia", .type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, .shared = 48 * KiB, .subgroup = 32, .sg_min = 32,
     .sg_max = 32, .offset_align = 16, .atom = 64, .memory = MEM_SEPARATE},
    {.name = "amd-windows", .type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, .shared = 32 * KiB, .subgroup = 64, .sg_min = 32,
     .sg_max = 64, .push = 128, .storage_range = 2 * GiB, .max_alloc = 2 * GiB, .atom = 128, .memory = MEM_SEPARATE_WINDOW},
    {.name = "intel-windows", .type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, .shared = 32 * KiB, .subgroup = 32, .sg_min = 8,
     .sg_max = 32, .storage_range = 1 * GiB, .offset_align = 64, .memory = MEM_SEPARATE},
    {.name = "apple", .type = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, .shared = 32 * KiB, .subgroup = 32, .sg_min = 32,
     .sg_max = 32, .sets = 8, .storage_per_stage = 31, .no_clustered = 1, .memory = MEM_UNIFIED},
    {.name = "mobile", .type = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, .shared = 32 * KiB, .invocations = 256,
     .wg_size_x = 256, .subgroup = 16, .sg_min = 16, .sg_max = 16, .sets = 4, .push = 128, .storage_range = 128 * MiB,
     .no_fp16 = 1, .memory = MEM_UNIFIED_UNCACHED},
    {.name = "minimum", .type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, .shared = 16 * KiB, .invocations = 128,
     .wg_size_x = 128, .subgroup_ops = FLANVK_MIN_SUBGROUP_OPS, .sets = 4, .storage_per_stage = FLANVK_MIN_STORAGE_PER_STAGE,
     .texel_per_stage = 16, .resources_per_stage = 128, .storage_per_set = 24, .texel_per_set = 96, .push = 128,
     .storage_range = 128 * MiB, .max_alloc = 1 * GiB, .texel_elements = 65536, .offset_align = 256, .texel_align = 256,
     .atom = 256, .no_fp16 = 1, .no_storage16 = 1, .no_int8 = 1, .no_size_control = 1, .no_clustered = 1,
     .memory = MEM_SEPARATE_MINIMAL},
};
#define NPROFILES (sizeof PROFILES / sizeof PROFILES[0])

static char selected[32];

const char *fv_profile_names(void) {
    static char names[160];
    if (!names[0]) {
        size_t n = 0;
        for (size_t i = 0; i < NPROFILES; i++)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s, ", PROFILES[i].name);
        snprintf(names + n, sizeof names - n, "none");
    }
    return names;
}

static int find(const char *name, const profile **out) {
    *out = NULL;
    if (!name || !*name || !strcmp(name, "none")) return 0;
    for (size_t i = 0; i < NPROFILES; i++)
        if (!strcmp(PROFILES[i].name, name)) {
            *out = &PROFILES[i];
            return 0;
        }
    return fv_err("unknown device profile '%s'; known profiles: %s", name, fv_profile_names());
}

int fv_profile_select(const char *name) {
    const profile *p;
    FV_TRY(find(name, &p));
    snprintf(selected, sizeof selected, "%s", name ? name : "");
    return 0;
}

const char *fv_profile_selected(void) {
    if (selected[0]) return selected;
    const char *e = getenv("FLANVK_PROFILE");
    return e && *e ? e : "none";
}

static int env_bytes(const char *name, uint64_t *out) {
    const char *e = getenv(name);
    *out = 0;
    if (!e || !*e) return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(e, &end, 10);
    if (errno || *end || v < 256)
        return fv_err("%s=%s: expected a number of bytes, at least 256", name, e);
    *out = v;
    return 0;
}

static void lower32(uint32_t *v, uint64_t cap) {
    if (cap && *v > cap) *v = (uint32_t)cap;
}
static void lower64(uint64_t *v, uint64_t cap) {
    if (cap && *v > cap) *v = cap;
}
static void raise64(VkDeviceSize *v, uint64_t floor) {
    if (*v < floor) *v = floor;
}

/* The presented types of a layout: property flags and heap class (0 device, 1 host, 2 window). */
typedef struct { VkMemoryPropertyFlags flags; int heap; } vtype;

static uint32_t layout_types(enum mem_layout m, vtype *t) {
    const VkMemoryPropertyFlags DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    uint32_t n = 0;
    switch (m) {
    case MEM_KEEP: break;
    case MEM_SEPARATE:
        t[n++] = (vtype){DL, 0};
        t[n++] = (vtype){HV | HC, 1};
        t[n++] = (vtype){HV | HC | CA, 1};
        break;
    case MEM_SEPARATE_WINDOW:
        /* The cached host type is presented non-coherent so the flush/invalidate path runs in CI;
         * such types exist on mobile and older desktop drivers. */
        t[n++] = (vtype){DL, 0};
        t[n++] = (vtype){HV | HC, 1};
        t[n++] = (vtype){DL | HV | HC, 2};
        t[n++] = (vtype){HV | CA, 1};
        break;
    case MEM_SEPARATE_MINIMAL:
        t[n++] = (vtype){DL, 0};
        t[n++] = (vtype){HV | HC, 1};
        break;
    case MEM_UNIFIED: t[n++] = (vtype){DL | HV | HC | CA, 0}; break;
    case MEM_UNIFIED_UNCACHED: t[n++] = (vtype){DL | HV | HC, 0}; break;
    }
    return n;
}

/* Present the layout's types, each backed by the first real type with its DL/HV/HC bits. */
static int present_memory(const profile *p, VkPhysicalDeviceMemoryProperties *mp, uint32_t *mem_real, const char *dev) {
    vtype t[8];
    uint32_t n = layout_types(p->memory, t);
    if (!n) return 0;
    const VkMemoryPropertyFlags need_mask =
        VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    VkPhysicalDeviceMemoryProperties out = {0};
    int heap_of_class[3] = {-1, -1, -1};
    for (uint32_t i = 0; i < n; i++) {
        VkMemoryPropertyFlags need = t[i].flags & need_mask;
        uint32_t r = 0;
        while (r < mp->memoryTypeCount && (mp->memoryTypes[r].propertyFlags & need) != need) r++;
        if (r == mp->memoryTypeCount)
            return fv_err("device profile '%s': device %s has no memory type with property flags 0x%x to present", p->name,
                          dev, (unsigned)need);
        int c = t[i].heap;
        if (heap_of_class[c] < 0) {
            heap_of_class[c] = (int)out.memoryHeapCount;
            VkMemoryHeap h = mp->memoryHeaps[mp->memoryTypes[r].heapIndex];
            h.flags = c == 1 ? 0 : VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
            if (c == 2 && h.size > 256 * MiB) h.size = 256 * MiB;
            out.memoryHeaps[out.memoryHeapCount++] = h;
        }
        out.memoryTypes[out.memoryTypeCount] = (VkMemoryType){t[i].flags, (uint32_t)heap_of_class[c]};
        mem_real[out.memoryTypeCount++] = r;
    }
    *mp = out;
    return 0;
}

static void apply_limits(const profile *p, VkPhysicalDeviceProperties *props, flanvk_device_info *info) {
    VkPhysicalDeviceLimits *l = &props->limits;
    lower32(&l->maxComputeSharedMemorySize, p->shared);
    lower32(&l->maxComputeWorkGroupInvocations, p->invocations);
    lower32(&l->maxComputeWorkGroupSize[0], p->wg_size_x);
    lower32(&l->maxComputeWorkGroupSize[1], p->wg_size_x);
    lower32(&l->maxComputeWorkGroupSize[2], p->wg_size_x ? 64 : 0);
    lower32(&l->maxBoundDescriptorSets, p->sets);
    lower32(&l->maxPerStageDescriptorStorageBuffers, p->storage_per_stage);
    lower32(&l->maxPerStageDescriptorSampledImages, p->texel_per_stage);
    lower32(&l->maxPerStageResources, p->resources_per_stage);
    lower32(&l->maxDescriptorSetStorageBuffers, p->storage_per_set);
    lower32(&l->maxDescriptorSetSampledImages, p->texel_per_set);
    lower32(&l->maxPushConstantsSize, p->push);
    lower32(&l->maxStorageBufferRange, p->storage_range);
    lower32(&l->maxTexelBufferElements, p->texel_elements);
    raise64(&l->minStorageBufferOffsetAlignment, p->offset_align);
    raise64(&l->minTexelBufferOffsetAlignment, p->texel_align);
    raise64(&l->nonCoherentAtomSize, p->atom);
    lower64(&info->max_allocation_size, p->max_alloc);
    props->deviceType = p->type;
    snprintf(info->type, sizeof info->type, "%s", p->type == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU ? "discrete" : "integrated");
    if (p->subgroup) {
        info->subgroup_size = p->subgroup;
        info->min_subgroup_size = p->sg_min;
        info->max_subgroup_size = p->sg_max;
    }
    if (p->subgroup_ops) info->subgroup_ops &= p->subgroup_ops;
    if (p->no_clustered) info->subgroup_ops &= ~(uint32_t)VK_SUBGROUP_FEATURE_CLUSTERED_BIT;
    if (p->no_size_control) {
        /* Vulkan 1.1 promises neither a way to ask for a size nor a single size: kernels laid out
         * for a fixed number of lanes must not run (vk/subgroup.h), so their fallbacks are tested. */
        info->subgroup_size_control = 0;
        info->min_subgroup_size = 1;
        info->max_subgroup_size = info->subgroup_size;
    }
    if (p->no_fp16) info->fp16 = 0;
    if (p->no_storage16) info->storage16 = 0;
    if (p->no_int8) info->int8 = 0;
}

/* The info fields that mirror props and memprops, refreshed after the clamp. */
static void mirror(const VkPhysicalDeviceProperties *props, const VkPhysicalDeviceMemoryProperties *mp,
                   flanvk_device_info *info) {
    const VkPhysicalDeviceLimits *l = &props->limits;
    info->max_shared_memory = l->maxComputeSharedMemorySize;
    info->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
    info->max_storage_buffer_range = l->maxStorageBufferRange;
    info->max_texel_buffer_elements = l->maxTexelBufferElements;
    info->max_push_constants = l->maxPushConstantsSize;
    info->max_descriptor_sets = l->maxBoundDescriptorSets;
    info->max_storage_buffers_per_stage = l->maxPerStageDescriptorStorageBuffers;
    info->max_texel_buffers_per_stage = l->maxPerStageDescriptorSampledImages;
    info->max_resources_per_stage = l->maxPerStageResources;
    info->min_storage_buffer_offset_alignment = l->minStorageBufferOffsetAlignment;
    info->min_texel_buffer_offset_alignment = l->minTexelBufferOffsetAlignment;
    info->non_coherent_atom_size = l->nonCoherentAtomSize;
    info->heap_count = mp->memoryHeapCount < FLANVK_MAX_HEAPS ? mp->memoryHeapCount : FLANVK_MAX_HEAPS;
    for (uint32_t i = 0; i < info->heap_count; i++) {
        info->heap_size[i] = mp->memoryHeaps[i].size;
        info->heap_device_local[i] = (mp->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    }
    info->memory_type_count = mp->memoryTypeCount < FLANVK_MAX_MEMORY_TYPES ? mp->memoryTypeCount : FLANVK_MAX_MEMORY_TYPES;
    for (uint32_t i = 0; i < info->memory_type_count; i++) {
        VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
        info->memory_types[i] = (flanvk_memory_type){
            .device_local = (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0,
            .host_visible = (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0,
            .host_coherent = (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0,
            .host_cached = (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) != 0,
            .heap = mp->memoryTypes[i].heapIndex,
        };
    }
}

int fv_profile_apply(const char *name, VkPhysicalDeviceProperties *props, VkPhysicalDeviceMemoryProperties *mp,
                     uint32_t mem_real[VK_MAX_MEMORY_TYPES], flanvk_device_info *info) {
    const profile *p;
    FV_TRY(find(name, &p));
    uint64_t range = 0, alloc = 0;
    FV_TRY(env_bytes("FLANVK_MAX_BUFFER_RANGE", &range));
    FV_TRY(env_bytes("FLANVK_MAX_ALLOCATION", &alloc));
    for (uint32_t i = 0; i < VK_MAX_MEMORY_TYPES; i++) mem_real[i] = i;
    if (p) {
        FV_TRY(present_memory(p, mp, mem_real, info->name));
        apply_limits(p, props, info);
    }
    lower32(&props->limits.maxStorageBufferRange, range);
    lower64(&info->max_allocation_size, alloc);
    snprintf(info->profile, sizeof info->profile, "%s", p ? p->name : "none");
    mirror(props, mp, info);
    return 0;
}
