/* Pipeline creation and the on-disk pipeline cache; see pipeline.h. */
#define _POSIX_C_SOURCE 200809L
#include "vk/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "vk/spv_info.h"
#include "vk/spv_registry.h"

static const fv_spv_entry *find_spv(const char *name) {
    for (const fv_spv_entry *e = fv_spv_registry; e->name; e++)
        if (!strcmp(e->name, name)) return e;
    return NULL;
}

static int same(const fv_pipe_desc *a, const fv_pipe_desc *b) {
    if (strcmp(a->shader, b->shader) || a->nbind != b->nbind || a->push_size != b->push_size || a->nspec != b->nspec ||
        a->write_mask != b->write_mask || a->subgroup != b->subgroup)
        return 0;
    for (uint32_t i = 0; i < a->nbind; i++)
        if (a->bind_kind[i] != b->bind_kind[i] || (a->bind_kind[i] == FV_BIND_TEXEL && a->bind_fmt[i] != b->bind_fmt[i]))
            return 0;
    return !memcmp(a->spec, b->spec, a->nspec * sizeof a->spec[0]);
}

/* Refuse what the device (as its profile presents it) cannot run, naming the shader and the limit
 * (push constants, descriptors per stage, workgroup size, shared memory):
 * otherwise a driver may crash, or silently run fewer invocations. Uniform texel buffers count
 * against maxPerStageDescriptorSampledImages (Vulkan spec, VkPhysicalDeviceLimits). */
static int within_limits(const fv_dev *d, const fv_pipe_desc *desc, const fv_spv_entry *spv) {
    const VkPhysicalDeviceLimits *l = &d->props.limits;
    if (desc->push_size > l->maxPushConstantsSize)
        return fv_err("shader '%s': %u bytes of push constants exceed the device's maxPushConstantsSize of %u",
                      desc->shader, desc->push_size, l->maxPushConstantsSize);
    uint32_t storage = 0, texel = 0;
    for (uint32_t i = 0; i < desc->nbind; i++) {
        if (desc->bind_kind[i] == FV_BIND_TEXEL) texel++;
        else storage++;
    }
    uint32_t storage_max = l->maxPerStageDescriptorStorageBuffers < l->maxDescriptorSetStorageBuffers
                               ? l->maxPerStageDescriptorStorageBuffers : l->maxDescriptorSetStorageBuffers;
    uint32_t texel_max = l->maxPerStageDescriptorSampledImages < l->maxDescriptorSetSampledImages
                             ? l->maxPerStageDescriptorSampledImages : l->maxDescriptorSetSampledImages;
    if (storage > storage_max)
        return fv_err("shader '%s': %u storage buffers exceed the device's %u per stage (maxPerStageDescriptorStorageBuffers)",
                      desc->shader, storage, storage_max);
    if (texel > texel_max)
        return fv_err("shader '%s': %u uniform texel buffers exceed the device's %u per stage "
                      "(maxPerStageDescriptorSampledImages)", desc->shader, texel, texel_max);
    if (storage + texel > l->maxPerStageResources)
        return fv_err("shader '%s': %u descriptors exceed the device's maxPerStageResources of %u", desc->shader,
                      storage + texel, l->maxPerStageResources);
    fv_spv_info si;
    FV_TRY(fv_spv_read_info(spv->code, *spv->size, desc->spec, desc->nspec, &si));
    if (!si.shared_unknown && si.shared_bytes > l->maxComputeSharedMemorySize)
        return fv_err("shader '%s': %llu bytes of shared memory exceed the device's maxComputeSharedMemorySize of %u",
                      desc->shader, (unsigned long long)si.shared_bytes, l->maxComputeSharedMemorySize);
    const uint32_t *wg = si.local_size;
    uint64_t inv = (uint64_t)wg[0] * wg[1] * wg[2];
    for (int k = 0; k < 3; k++)
        if (wg[k] == 0 || wg[k] > l->maxComputeWorkGroupSize[k])
            return fv_err("shader '%s': workgroup size %u in dimension %d is outside the device's 1..%u "
                          "(maxComputeWorkGroupSize)", desc->shader, wg[k], k, l->maxComputeWorkGroupSize[k]);
    if (inv > l->maxComputeWorkGroupInvocations)
        return fv_err("shader '%s': a %ux%ux%u workgroup (%llu invocations) exceeds the device's "
                      "maxComputeWorkGroupInvocations of %u", desc->shader, wg[0], wg[1], wg[2],
                      (unsigned long long)inv, l->maxComputeWorkGroupInvocations);
    return 0;
}

static void destroy_one(fv_dev *d, fv_pipeline *p) {
    if (p->pipeline) vkDestroyPipeline(d->device, p->pipeline, NULL);
    if (p->layout) vkDestroyPipelineLayout(d->device, p->layout, NULL);
    if (p->set_layout) vkDestroyDescriptorSetLayout(d->device, p->set_layout, NULL);
    free(p);
}

static int create(fv_dev *d, const fv_pipe_desc *desc, fv_pipeline *p) {
    const fv_spv_entry *spv = find_spv(desc->shader);
    if (!spv) return fv_err("shader '%s' is not embedded in this build", desc->shader);
    if (desc->nbind > FV_MAX_BINDS || desc->nspec > FV_MAX_SPEC) return fv_err("shader '%s': too many bindings or constants", desc->shader);
    FV_TRY(within_limits(d, desc, spv));

    VkDescriptorSetLayoutBinding b[FV_MAX_BINDS];
    for (uint32_t i = 0; i < desc->nbind; i++)
        b[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = desc->bind_kind[i] == FV_BIND_TEXEL ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                                  : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    VkDescriptorSetLayoutCreateInfo sli = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = desc->nbind, .pBindings = b};
    VK_CHECK(vkCreateDescriptorSetLayout(d->device, &sli, NULL, &p->set_layout));
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = desc->push_size};
    VkPipelineLayoutCreateInfo pli = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->set_layout,
        .pushConstantRangeCount = desc->push_size ? 1 : 0,
        .pPushConstantRanges = &pr,
    };
    VK_CHECK(vkCreatePipelineLayout(d->device, &pli, NULL, &p->layout));

    VkShaderModuleCreateInfo smi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = *spv->size, .pCode = spv->code};
    VkShaderModule module;
    VK_CHECK(vkCreateShaderModule(d->device, &smi, NULL, &module));
    VkSpecializationMapEntry me[FV_MAX_SPEC];
    for (uint32_t i = 0; i < desc->nspec; i++) me[i] = (VkSpecializationMapEntry){i, i * 4, 4};
    VkSpecializationInfo si = {desc->nspec, me, desc->nspec * 4, desc->spec};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .flags = VK_PIPELINE_CREATE_DISPATCH_BASE_BIT, /* ops may dispatch a range of workgroups (graph.h) */
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = module,
            .pName = "main",
            .pSpecializationInfo = desc->nspec ? &si : NULL,
        },
        .layout = p->layout,
    };
    /* A kernel laid out for SG lanes gets exactly SG (full subgroups, so the local size must be a
     * multiple of it) where the device can be told; elsewhere the op only chose this kernel when the
     * driver runs one size (fv_subgroup_exact). */
    VkPipelineShaderStageRequiredSubgroupSizeCreateInfoEXT rss = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO_EXT,
        .requiredSubgroupSize = desc->subgroup};
    if (desc->subgroup) {
        if (desc->subgroup != d->subgroup_size)
            return fv_err("shader '%s' wants subgroups of %u but the device runs %u", desc->shader, desc->subgroup,
                          d->subgroup_size);
        if (d->subgroup_control) {
            ci.stage.pNext = &rss;
            ci.stage.flags = VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT_EXT;
        } else if (!d->subgroup_fixed) {
            return fv_err("shader '%s' needs subgroups of %u, which this device can neither fix nor promise", desc->shader,
                          desc->subgroup);
        }
    }
    VkResult r = vkCreateComputePipelines(d->device, d->pipeline_cache, 1, &ci, NULL, &p->pipeline);
    vkDestroyShaderModule(d->device, module, NULL);
    if (r != VK_SUCCESS) return fv_err("cannot create pipeline for shader '%s': %s", desc->shader, fv_vk_result_str(r));
    return 0;
}

int fv_pipeline_get(fv_dev *d, const fv_pipe_desc *desc, fv_pipeline **out) {
    for (fv_pipeline *p = d->pipelines; p; p = p->next)
        if (same(&p->desc, desc)) {
            *out = p;
            return 0;
        }
    if (strlen(desc->shader) >= FV_SHADER_NAME_MAX)
        return fv_err("shader name '%s' is too long", desc->shader);
    fv_pipeline *p = calloc(1, sizeof *p);
    if (!p) return fv_err("out of host memory");
    p->desc = *desc;
    strcpy(p->shader_name, desc->shader);
    p->desc.shader = p->shader_name;
    int rc = create(d, desc, p);
    if (rc) {
        destroy_one(d, p);
        return rc;
    }
    p->next = d->pipelines;
    d->pipelines = p;
    *out = p;
    return 0;
}

/* The cache file is keyed by the device's pipelineCacheUUID, so a driver update starts afresh. */
static void cache_path(fv_dev *d) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[400];
    if (getenv("FLANVK_NO_PIPELINE_CACHE")) return;
    if (xdg && *xdg) snprintf(dir, sizeof dir, "%s/flanvk", xdg);
    else if (home && *home) snprintf(dir, sizeof dir, "%s/.cache/flanvk", home);
    else return;
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", d->props.pipelineCacheUUID[i]);
    snprintf(d->pipeline_cache_path, sizeof d->pipeline_cache_path, "%s/pipelines-%04x-%04x-%s.bin", dir,
             d->props.vendorID, d->props.deviceID, uuid);
}

int fv_pipeline_cache_open(fv_dev *d) {
    cache_path(d);
    char *data = NULL;
    size_t size = 0;
    if (d->pipeline_cache_path[0] && fv_file_exists(d->pipeline_cache_path) &&
        fv_read_file(d->pipeline_cache_path, &data, &size) != 0) {
        fv_debug("ignoring pipeline cache: %s", fv_last_error());
        data = NULL;
        size = 0;
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO, .initialDataSize = size, .pInitialData = data};
    VkResult r = vkCreatePipelineCache(d->device, &ci, NULL, &d->pipeline_cache);
    if (r != VK_SUCCESS && data) { /* a corrupt cache is not fatal: start empty */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        r = vkCreatePipelineCache(d->device, &ci, NULL, &d->pipeline_cache);
    }
    free(data);
    VK_CHECK(r);
    return 0;
}

static void cache_save(fv_dev *d) {
    if (!d->pipeline_cache || !d->pipeline_cache_path[0]) return;
    size_t size = 0;
    if (vkGetPipelineCacheData(d->device, d->pipeline_cache, &size, NULL) != VK_SUCCESS || !size) return;
    void *data = malloc(size);
    if (!data) return;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", d->pipeline_cache_path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    fv_awrite w;
    if (vkGetPipelineCacheData(d->device, d->pipeline_cache, &size, data) == VK_SUCCESS && fv_mkdirs(dir) == 0 &&
        fv_awrite_open(&w, d->pipeline_cache_path) == 0) {
        if (fwrite(data, 1, size, w.f) == size) {
            if (fv_awrite_commit(&w)) fv_debug("pipeline cache not saved: %s", fv_last_error());
        } else {
            fv_awrite_abort(&w);
        }
    }
    free(data);
}

void fv_pipelines_destroy(fv_dev *d) {
    cache_save(d);
    while (d->pipelines) {
        fv_pipeline *p = d->pipelines;
        d->pipelines = p->next;
        destroy_one(d, p);
    }
    if (d->pipeline_cache) vkDestroyPipelineCache(d->device, d->pipeline_cache, NULL);
    d->pipeline_cache = VK_NULL_HANDLE;
}
