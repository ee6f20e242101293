/* What FLANVK_VALIDATION turns on in the Khronos validation layer, and which of its messages are
 * known not to apply to flanvk (each with its reason; docs/PORTABILITY.md lists them).
 *
 * Levels: 1 core checks; 2 + synchronization validation, including hazards between command
 * buffers of different submissions (a graph is submitted in segments, vk/graph_submit.c);
 * 3 + best practices with the AMD, NVIDIA and Arm vendor checks; 4 + GPU-assisted validation
 * (shader out-of-bounds checks). */
#ifndef FV_VK_VALIDATION_H
#define FV_VK_VALIDATION_H

#include <vulkan/vulkan.h>

typedef struct {
    VkValidationFeatureEnableEXT enables[3];
    VkValidationFeaturesEXT features; /* chain into VkInstanceCreateInfo.pNext */
} fv_validation_cfg;

/* Fill c for `level` (>= 2). The layer this targets (Debian's 1.3.239) takes the checks that
 * VkValidationFeatureEnableEXT cannot name (submit-time synchronization, vendor best practices)
 * only from its settings file or the VK_LAYER_ENABLES variable, so this sets that variable
 * before the instance is created, unless the user set it. */
void fv_validation_config(int level, fv_validation_cfg *c);

/* The reason a message does not apply to flanvk, or NULL when it counts. */
const char *fv_validation_muted(int level, const char *id_name, const char *message);

#endif
