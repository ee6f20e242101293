/* Instance and device creation, device ranking, feature discovery, the validation messenger. */
#define _POSIX_C_SOURCE 200809L
#include "vk/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "vk/memory.h"
#include "vk/pipeline.h"
#include "vk/profile.h"
#include "vk/subgroup.h"
#include "vk/validation.h"

const char *fv_vk_result_str(VkResult r) {
    switch (r) {
#define C(x) case x: return #x;
        C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_INCOMPLETE)
        C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY) C(VK_ERROR_INITIALIZATION_FAILED)
        C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED) C(VK_ERROR_LAYER_NOT_PRESENT)
        C(VK_ERROR_EXTENSION_NOT_PRESENT) C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER)
        C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED) C(VK_ERROR_FRAGMENTED_POOL)
        C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_INVALID_SHADER_NV) C(VK_ERROR_UNKNOWN)
#undef C
    default: return "VkResult (unknown)";
    }
}

static int env_int(const char *name, int dflt) {
    const char *e = getenv(name);
    return (e && *e) ? atoi(e) : dflt;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                    VkDebugUtilsMessageTypeFlagsEXT type,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
    (void)type;
    fv_dev *d = user;
    const char *muted = fv_validation_muted(d->validation, data->pMessageIdName, data->pMessage);
    if (muted) {
        fv_log(FV_LOG_DEBUG, "validation (does not apply: %s): %s", muted, data->pMessage);
        return VK_FALSE;
    }
    if (sev & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
        d->validation_messages++;
        fprintf(stderr, "flanvk: validation: %s\n", data->pMessage);
    }
    return VK_FALSE;
}

static int layer_present(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || !n) return 0;
    VkLayerProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= !strcmp(p[i].layerName, name);
    free(p);
    return found;
}

static int make_instance(int validation, VkInstance *out) {
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "flanvk",
        .pEngineName = "flanvk",
        .apiVersion = VK_API_VERSION_1_1,
    };
    const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    fv_validation_cfg vf; /* levels: vk/validation.h */
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    if (validation) {
        if (!layer_present(layers[0]))
            return fv_err("FLANVK_VALIDATION is set but VK_LAYER_KHRONOS_validation is not installed "
                          "(Debian: vulkan-validationlayers)");
        ci.enabledLayerCount = 1;
        ci.ppEnabledLayerNames = layers;
        ci.enabledExtensionCount = 1;
        ci.ppEnabledExtensionNames = exts;
        if (validation >= 2) {
            fv_validation_config(validation, &vf);
            ci.pNext = &vf.features;
        }
    }
    VkResult r = vkCreateInstance(&ci, NULL, out);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
        return fv_err("no Vulkan driver found (%s); install a driver, e.g. Debian's mesa-vulkan-drivers for the CPU",
                      fv_vk_result_str(r));
    VK_CHECK(r);
    return 0;
}

static int type_rank(VkPhysicalDeviceType t, const char **name) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: *name = "discrete"; return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: *name = "integrated"; return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: *name = "virtual"; return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: *name = "cpu"; return 1;
    default: *name = "other"; return 0;
    }
}

static int has_extension(VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || !n) return 0;
    VkExtensionProperties *e = calloc(n, sizeof *e);
    int found = 0;
    if (e && vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(e[i].extensionName, name) == 0;
    free(e);
    return found;
}

/* The device as queried (no profile); props and mp may be NULL. */
static void describe(VkPhysicalDevice pd, uint32_t index, fv_device_info *info, VkPhysicalDeviceProperties *props,
                     VkPhysicalDeviceMemoryProperties *mp_out) {
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sgc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
                                                 .pNext = &sg};
    sg.pNext = &drv;
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3};
    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(pd, &base);
    /* Only chain structures the device's API version knows about. */
    if (VK_API_VERSION_MINOR(base.apiVersion) >= 2) drv.pNext = &sgc;
    else sg.pNext = NULL;
    vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkPhysicalDeviceProperties *p = &p2.properties;

    VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES, .pNext = &f16};
    VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgcf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
    if (VK_API_VERSION_MINOR(base.apiVersion) >= 3 || has_extension(pd, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME))
        f16.pNext = &sgcf;
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    vkGetPhysicalDeviceFeatures2(pd, &f2);

    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    if (props) *props = *p;
    if (mp_out) *mp_out = mp;

    const char *tname;
    info->index = index;
    info->rank = type_rank(p->deviceType, &tname);
    snprintf(info->type, sizeof info->type, "%s", tname);
    snprintf(info->name, sizeof info->name, "%s", p->deviceName);
    if (sg.pNext || VK_API_VERSION_MINOR(base.apiVersion) >= 2)
        snprintf(info->driver, sizeof info->driver, "%.120s %.120s", drv.driverName, drv.driverInfo);
    else
        snprintf(info->driver, sizeof info->driver, "version 0x%x", p->driverVersion);
    info->vendor_id = p->vendorID;
    info->device_id = p->deviceID;
    info->api_version = p->apiVersion;
    info->subgroup_size = sg.subgroupSize ? sg.subgroupSize : 1;
    info->min_subgroup_size = sgc.minSubgroupSize ? sgc.minSubgroupSize : info->subgroup_size;
    info->max_subgroup_size = sgc.maxSubgroupSize ? sgc.maxSubgroupSize : info->subgroup_size;
    info->max_shared_memory = p->limits.maxComputeSharedMemorySize;
    info->max_workgroup_invocations = p->limits.maxComputeWorkGroupInvocations;
    info->max_storage_buffer_range = p->limits.maxStorageBufferRange;
    info->max_texel_buffer_elements = p->limits.maxTexelBufferElements;
    info->fp16 = f16.shaderFloat16;
    info->storage16 = s16.storageBuffer16BitAccess;
    /* FLANVK_DISABLE_INT8=1: the device looks like one without 8-bit arithmetic. flanvk's q8 kernels
     * read int8 weights as 32-bit words and never need it; the switch lets the checks prove that. */
    info->int8 = f16.shaderInt8 && !env_int("FLANVK_DISABLE_INT8", 0);
    info->subgroup_ops = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ? sg.supportedOperations : 0;
    info->subgroup_size_control = sgcf.subgroupSizeControl;
    info->max_allocation_size = m3.maxMemoryAllocationSize;
    /* Limits, heaps and memory types are mirrored into info by fv_profile_apply, after its clamp. */
}

static int enumerate(VkInstance inst, VkPhysicalDevice **out, uint32_t *n) {
    *out = NULL;
    VK_CHECK(vkEnumeratePhysicalDevices(inst, n, NULL));
    if (*n == 0) return 0;
    *out = calloc(*n, sizeof **out);
    if (!*out) return fv_err("out of memory");
    VkResult r = vkEnumeratePhysicalDevices(inst, n, *out);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(*out);
        *out = NULL;
        return fv_err("vkEnumeratePhysicalDevices failed: %s", fv_vk_result_str(r));
    }
    return 0;
}

/* The device as flanvk sees it: described, then clamped by the device profile in force. */
static int describe_clamped(VkPhysicalDevice pd, uint32_t index, fv_device_info *info, VkPhysicalDeviceProperties *props,
                            VkPhysicalDeviceMemoryProperties *mp, uint32_t *mem_real) {
    describe(pd, index, info, props, mp);
    return fv_profile_apply(fv_profile_selected(), props, mp, mem_real, info);
}

int fv_device_list(fv_device_info *out, uint32_t max, uint32_t *count) {
    VkInstance inst;
    *count = 0;
    FV_TRY(make_instance(0, &inst));
    VkPhysicalDevice *pds;
    uint32_t n;
    int rc = enumerate(inst, &pds, &n);
    for (uint32_t i = 0; rc == 0 && i < n && i < max; i++) {
        VkPhysicalDeviceProperties props;
        VkPhysicalDeviceMemoryProperties mp;
        uint32_t mem_real[VK_MAX_MEMORY_TYPES];
        rc = describe_clamped(pds[i], i, &out[i], &props, &mp, mem_real);
    }
    if (rc == 0) *count = n < max ? n : max;
    free(pds);
    vkDestroyInstance(inst, NULL);
    return rc;
}

static int pick(VkPhysicalDevice *pds, uint32_t n, int index, uint32_t *chosen) {
    if (n == 0) return fv_err("no Vulkan device found; install a driver (Debian: mesa-vulkan-drivers provides lavapipe for the CPU)");
    if (index < 0) index = env_int("FLANVK_DEVICE", -1);
    if (index >= 0) {
        if ((uint32_t)index >= n) return fv_err("device %d does not exist: there are %u Vulkan devices (see 'flanvk devices')", index, n);
        *chosen = (uint32_t)index;
        return 0;
    }
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        fv_device_info info;
        describe(pds[i], i, &info, NULL, NULL);
        if (info.api_version < VK_API_VERSION_1_1) continue;
        if (best < 0 || info.rank > best) {
            best = info.rank;
            *chosen = i;
        }
    }
    if (best < 0) return fv_err("no Vulkan 1.1 device found");
    return 0;
}


static int open_logical(fv_dev *d) {
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &nq, NULL);
    VkQueueFamilyProperties qf[32];
    if (nq > 32) nq = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &nq, qf);
    /* Prefer a compute queue without graphics (dedicated compute), else any compute queue. */
    int fam = -1;
    for (uint32_t i = 0; i < nq; i++)
        if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) { fam = (int)i; break; }
    for (uint32_t i = 0; fam < 0 && i < nq; i++)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) fam = (int)i;
    if (fam < 0) return fv_err("device %s has no compute queue", d->info.name);
    d->queue_family = (uint32_t)fam;
    d->timestamp_period = qf[fam].timestampValidBits ? d->props.limits.timestampPeriod : 0.0f;

    int want16 = d->info.fp16 && d->info.storage16 && !env_int("FLANVK_DISABLE_F16", 0);
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .shaderFloat16 = want16,
    };
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = &f16,
        .storageBuffer16BitAccess = want16,
    };
    /* Subgroup size control through VK_EXT_subgroup_size_control (the instance asks for Vulkan 1.1,
     * so the 1.3 core version does not apply): kernels whose lane layout is fixed by the host
     * require their size with it (vk/subgroup.h). */
    int ext_sgc = has_extension(d->phys, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgc = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
    if (ext_sgc) {
        VkPhysicalDeviceFeatures2 q = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &sgc};
        vkGetPhysicalDeviceFeatures2(d->phys, &q);
        sgc.pNext = NULL;
        f16.pNext = &sgc;
    }
    d->subgroup_control = sgc.subgroupSizeControl && sgc.computeFullSubgroups && d->subgroup_control &&
                          !env_int("FLANVK_DISABLE_SUBGROUP_CONTROL", 0);
    sgc.subgroupSizeControl = sgc.computeFullSubgroups = (VkBool32)d->subgroup_control;
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    VkPhysicalDeviceFeatures supported;
    vkGetPhysicalDeviceFeatures(d->phys, &supported);
    f2.features.shaderInt64 = supported.shaderInt64;

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = d->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &f2,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    const char *exts[] = {VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME};
    if (ext_sgc && d->subgroup_control) {
        ci.enabledExtensionCount = 1;
        ci.ppEnabledExtensionNames = exts;
    }
    VK_CHECK(vkCreateDevice(d->phys, &ci, NULL, &d->device));
    vkGetDeviceQueue(d->device, d->queue_family, 0, &d->queue);
    d->fp16 = want16;

    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = d->queue_family,
    };
    VK_CHECK(vkCreateCommandPool(d->device, &pci, NULL, &d->cmd_pool));
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = d->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VK_CHECK(vkAllocateCommandBuffers(d->device, &ai, &d->once_cmd));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VK_CHECK(vkCreateFence(d->device, &fci, NULL, &d->once_fence));
    return 0;
}

int fv_dev_open(int index, fv_dev **out) {
    *out = NULL;
    fv_dev *d = calloc(1, sizeof *d);
    if (!d) return fv_err("out of memory");
    d->validation = env_int("FLANVK_VALIDATION", 0);
    int rc = make_instance(d->validation, &d->instance);
    if (rc) {
        free(d);
        return rc;
    }
    if (d->validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(d->instance, "vkCreateDebugUtilsMessengerEXT");
        VkDebugUtilsMessengerCreateInfoEXT mci = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
            .pfnUserCallback = on_validation,
            .pUserData = d,
        };
        if (!create || create(d->instance, &mci, NULL, &d->messenger) != VK_SUCCESS) {
            fv_dev_close(d);
            return fv_err("cannot create the validation messenger");
        }
    }
    VkPhysicalDevice *pds = NULL;
    uint32_t n = 0, chosen = 0;
    rc = enumerate(d->instance, &pds, &n);
    if (!rc) rc = pick(pds, n, index, &chosen);
    if (!rc) {
        d->phys = pds[chosen];
        /* The profile clamp comes first: everything below and every op reads only the clamped copy. */
        rc = describe_clamped(d->phys, chosen, &d->info, &d->props, &d->memprops, d->mem_real);
    }
    if (!rc) {
        d->subgroup_size = d->subgroup_reported = d->info.subgroup_size;
        d->subgroup_ops = d->info.subgroup_ops;
        /* Subgroup size control is asked for only where the real device honours it for compute and
         * the size to ask for lies in its real range (a profile may report another size; the probe
         * then measures what runs). One size is promised only where the extension says min == max,
         * on the device and in the profile's view (vk/subgroup.h). */
        VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sgcp = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
        VkPhysicalDeviceProperties2 pc2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sgcp};
        int ext = has_extension(d->phys, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
        if (ext) vkGetPhysicalDeviceProperties2(d->phys, &pc2);
        d->subgroup_fixed = ext && sgcp.minSubgroupSize == sgcp.maxSubgroupSize &&
                            d->info.min_subgroup_size == d->info.max_subgroup_size;
        d->subgroup_control = ext && (sgcp.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                              d->info.subgroup_size_control && d->subgroup_reported >= sgcp.minSubgroupSize &&
                              d->subgroup_reported <= sgcp.maxSubgroupSize;
        d->max_shared = d->info.max_shared_memory;
        int cpu = d->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
        d->use_texel = env_int("FLANVK_TEXEL", cpu);
        rc = open_logical(d);
    }
    free(pds);
    if (!rc) rc = fv_mem_init(d);
    if (!rc) rc = fv_pipeline_cache_open(d);
    if (!rc) rc = fv_subgroup_probe(d);
    if (!rc) d->info.subgroup_size_used = d->subgroup_size;
    if (rc) {
        fv_dev_close(d);
        return rc;
    }
    fv_debug("device %u: %s (%s, profile %s), subgroup %u, shared %u B, fp16 %d, texel path %d, uma %d", d->info.index,
             d->info.name, d->info.type, d->info.profile, d->subgroup_size, d->max_shared, d->fp16, d->use_texel, d->uma);
    *out = d;
    return 0;
}

void fv_dev_close(fv_dev *d) {
    if (!d) return;
    if (d->device) {
        vkDeviceWaitIdle(d->device);
        fv_pipelines_destroy(d);
        fv_mem_destroy(d);
        if (d->once_fence) vkDestroyFence(d->device, d->once_fence, NULL);
        if (d->cmd_pool) vkDestroyCommandPool(d->device, d->cmd_pool, NULL);
        vkDestroyDevice(d->device, NULL);
    }
    if (d->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(d->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy) destroy(d->instance, d->messenger, NULL);
    }
    if (d->instance) vkDestroyInstance(d->instance, NULL);
    free(d);
}
