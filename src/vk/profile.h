/* Device profiles: a clamp of the queried device properties, applied once when a device is
 * described or opened, so that this device (in CI: lavapipe) behaves as a class of real GPU —
 * its shared memory, invocations, descriptor and push-constant limits, buffer range, allocation
 * size, alignments, 16/8-bit features, reported subgroup size, device type and memory types.
 * Everything after device creation reads only the clamped copy (fv_dev.props, .memprops, .info),
 * so no op knows a profile exists.
 *
 * A clamp only lowers what the device offers: a limit becomes min(device, profile), an alignment
 * max(device, profile), a feature the device lacks stays off. Two things are set rather than
 * lowered, because they describe what the class reports: the device type and the subgroup size.
 *
 * Selection: flanvk_set_profile(NAME) (the CLI's --profile), else FLANVK_PROFILE=NAME; "none" or
 * unset: no profile. FLANVK_MAX_BUFFER_RANGE=BYTES and FLANVK_MAX_ALLOCATION=BYTES lower those two
 * limits further, with or without a profile (tests use 16 MiB so small models exercise splits). */
#ifndef FV_VK_PROFILE_H
#define FV_VK_PROFILE_H

#include <stdint.h>
#include <vulkan/vulkan.h>

#include "flanvk/flanvk.h"

/* Select a profile for every later device listing/opening; NULL or "" goes back to
 * FLANVK_PROFILE. An unknown name is an error listing the known ones. */
int fv_profile_select(const char *name);
/* The profile in force: the selected one, else FLANVK_PROFILE, else "none". */
const char *fv_profile_selected(void);
/* "nvidia, amd-windows, ..." for messages and help texts. */
const char *fv_profile_names(void);

/* Clamp in place. props/mp/info are the device's as queried (info->max_allocation_size,
 * subgroup fields and features filled by the caller); on return they are the profile's view, and
 * mem_real[i] is the real memory type index behind presented memory type i (the allocator passes
 * it to vkAllocateMemory). Fails on an unknown profile name, a bad FLANVK_MAX_* value, or a device
 * whose memory cannot be presented as the profile asks. */
int fv_profile_apply(const char *name, VkPhysicalDeviceProperties *props, VkPhysicalDeviceMemoryProperties *mp,
                     uint32_t mem_real[VK_MAX_MEMORY_TYPES], flanvk_device_info *info);

#endif
