/* Validation levels and the list of messages that do not apply; see validation.h. */
#define _POSIX_C_SOURCE 200809L
#include "vk/validation.h"

#include <stdlib.h>
#include <string.h>

void fv_validation_config(int level, fv_validation_cfg *c) {
    uint32_t n = 0;
    c->enables[n++] = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    if (level >= 3) c->enables[n++] = VK_VALIDATION_FEATURE_ENABLE_BEST_PRACTICES_EXT;
    if (level >= 4) c->enables[n++] = VK_VALIDATION_FEATURE_ENABLE_GPU_ASSISTED_EXT;
    c->features = (VkValidationFeaturesEXT){
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .enabledValidationFeatureCount = n,
        .pEnabledValidationFeatures = c->enables,
    };
    /* ':' separates the values on Linux (',' is not parsed by 1.3.239). Without the submit-time
     * check, synchronization validation misses a missing barrier between two submissions:
     * measured by dropping the barriers at segment starts, which only this check reported. */
    const char *extra = level >= 3 ? "VALIDATION_CHECK_ENABLE_SYNCHRONIZATION_VALIDATION_QUEUE_SUBMIT"
                                     ":VALIDATION_CHECK_ENABLE_VENDOR_SPECIFIC_AMD"
                                     ":VALIDATION_CHECK_ENABLE_VENDOR_SPECIFIC_NVIDIA"
                                     ":VALIDATION_CHECK_ENABLE_VENDOR_SPECIFIC_ARM"
                                   : "VALIDATION_CHECK_ENABLE_SYNCHRONIZATION_VALIDATION_QUEUE_SUBMIT";
    setenv("VK_LAYER_ENABLES", extra, 0);
}

typedef struct {
    const char *id, *text; /* the message id, and text the message must contain (NULL: any) */
    const char *reason;
} muted;

static const muted MUTED[] = {
    {"UNASSIGNED-BestPractices-Pipeline-SortAndBind", NULL,
     "AMD/NVIDIA: counts binds of one pipeline per frame; a compute program has no frames, reuses "
     "each pipeline throughout, and dispatch order is the computation's"},
    {"UNASSIGNED-BestPractices-vkCreateComputePipelines-compute-thread-group-alignment", "(1, 1, 1)",
     "Arm: the layer reads the SPIR-V default workgroup size (1, 1, 1), not the specialization "
     "constants the pipeline is created with (subgroup multiples)"},
    {"UNASSIGNED-BestPractices-vkCreateComputePipelines-compute-spatial-locality", "(1, 1, 1)",
     "Arm: the same default size, and texel buffers (1-D, Dim Buffer) counted as 2-D/3-D images"},
    {"UNASSIGNED-BestPractices-vkBeginCommandBuffer-one-time-submit", NULL,
     "Arm, NVIDIA: a recorded step is submitted many times by design (vk/graph.h); a graph is "
     "emitted one-time-submit until its second submission, so only one replayed exactly twice "
     "and then re-recorded (some op checks) leaves a reusable emission submitted once"},
    {"UNASSIGNED-BestPractices-CmdBuffer-highBarrierCount", NULL,
     "AMD: counts barriers per frame; a compute program has no frames, so the count only grows. "
     "The graph inserts a barrier only where a dispatch reads or writes what an earlier one wrote "
     "(or writes what it read) since the last barrier"},
    {"UNASSIGNED-BestPractices-CreatePipelinesLayout-KeepLayoutSmall", NULL,
     "AMD: layouts over 13 DWORDs (one set + push constants; GEMM pushes 20 words) spill AMD's "
     "user SGPRs to memory. Not fixed: the push constants would move into a buffer; to be "
     "measured on an AMD GPU first"},
    {"UNASSIGNED-BestPractices-SyncObjects-HighNumberOfFences", NULL,
     "AMD/NVIDIA: a \"high number\" of fences alive (a handful). Every graph has one (a training run "
     "holds 5-7 graphs), and a graph with marks one per mark, which the overlapped all-reduce waits on "
     "one by one to start each bucket's sum (vk/graph_mark.c). One timeline semaphore could replace a "
     "graph's mark fences: flanvk creates its device at Vulkan 1.1, without VK_KHR_timeline_semaphore"},
    {"UNASSIGNED-BestPractices-AllocateMemory-SetPriority", NULL,
     "NVIDIA: asks for VK_EXT_memory_priority, which flanvk does not enable (lavapipe lacks it)"},
};

const char *fv_validation_muted(int level, const char *id_name, const char *message) {
    if (level < 3 || !id_name) return NULL;
    for (size_t i = 0; i < sizeof MUTED / sizeof *MUTED; i++)
        if (!strcmp(id_name, MUTED[i].id) && (!MUTED[i].text || (message && strstr(message, MUTED[i].text))))
            return MUTED[i].reason;
    return NULL;
}
