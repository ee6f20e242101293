/* The subgroup size kernels may rely on, measured rather than believed.
 *
 * Drivers may run subgroups of another size than the one they report: Intel's compiler picks 8, 16
 * or 32 per pipeline while reporting 32, AMD's RDNA picks 32 or 64, and Mesa 22.3's lavapipe at
 * LP_NATIVE_VECTOR_WIDTH 1024/2048 reports 32/64 but runs 16 (docs/PORTABILITY.md). At device open
 * a one-workgroup probe counts the invocations of each subgroup; if that disagrees with the
 * reported size, d->subgroup_size becomes the measured one and subgroup size control (which the
 * same driver would not honour either) is not used.
 *
 * Kernels whose lane layout is fixed by the host (a spec constant SG with subgroupShuffle over it)
 * ask for exactly d->subgroup_size through fv_pipe_desc.subgroup; pipeline.c requests it with
 * VK_EXT_subgroup_size_control (full subgroups) where the device offers it. fv_subgroup_exact says
 * whether such a kernel may run at all: when the size is neither controllable nor fixed, ops take
 * their paths that do not depend on it. */
#ifndef FV_VK_SUBGROUP_H
#define FV_VK_SUBGROUP_H

#include "vk/device.h"

/* What one workgroup of the probe kernel saw: the smallest and largest subgroup (invocations
 * counted) and what gl_SubgroupSize claimed. */
typedef struct {
    uint32_t lo, hi, builtin;
} fv_subgroup_seen;

/* Run the probe kernel in one workgroup of wg (<= the device's limit) invocations; required: a
 * subgroup size to ask for (fv_pipe_desc.subgroup), 0 for none. */
int fv_subgroup_count(fv_dev *d, uint32_t wg, uint32_t required, fv_subgroup_seen *seen);

/* Measure the subgroup size (after the pipeline cache is open); adjusts d->subgroup_size,
 * d->subgroup_control and d->subgroup_measured. */
int fv_subgroup_probe(fv_dev *d);

/* Whether a kernel that needs subgroups of exactly d->subgroup_size invocations gets them. */
static inline int fv_subgroup_exact(const fv_dev *d) {
    return d->subgroup_control || d->subgroup_fixed;
}

#endif
