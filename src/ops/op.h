/* Shared conventions for op host code.
 *
 * A tensor argument is a fv_t: a buffer and an element offset into it, so ops can read and write
 * slices (one head of a fused QKV buffer, one layer of a stacked cache) without new descriptors.
 * Shapes are explicit arguments (llm.c style). Forward ops overwrite their outputs. Backward ops
 * ACCUMULATE into weight gradients (dw += ...), because a weight can be used several times per step
 * (the shared relative-position table) and micro-batches accumulate; the caller zeroes gradients
 * once per step. Input gradients are overwritten unless the op takes an `accumulate` flag.
 *
 * Every op records into a graph and returns 0 or an error naming the op and the problem. */
#ifndef FV_OPS_OP_H
#define FV_OPS_OP_H

#include <stdint.h>

#include "vk/device.h"
#include "vk/graph.h"
#include "vk/memory.h"
#include "vk/pipeline.h"
#include "vk/subgroup.h"

typedef struct {
    fv_buf *buf;
    uint32_t off; /* elements */
} fv_t;

static inline fv_t fv_tensor(fv_buf *b, uint32_t off) { return (fv_t){b, off}; }

/* Check that `t` holds `n` elements of `elem_bytes` from its offset; names the op and argument. */
int fv_op_check(const char *op, const char *arg, fv_t t, uint64_t n, uint32_t elem_bytes);

/* Start a pipeline description with nbind storage-buffer bindings. */
void fv_op_desc(fv_pipe_desc *desc, const char *shader, uint32_t nbind, uint32_t write_mask, uint32_t push_size);

/* On devices that read through texel buffers (dev->use_texel), switch desc to the texel variant
 * of its shader and make the bindings in input_mask R32F texel buffers (see shaders/common/load.glsl). */
void fv_op_texel_inputs(const fv_dev *d, fv_pipe_desc *desc, const char *texel_shader, uint32_t input_mask);

/* A workgroup size for row-wise kernels: one subgroup on CPU devices; elsewhere a multiple of the
 * subgroup size, at most 256 and at
 * most the number of columns rounded up to the subgroup size. */
uint32_t fv_op_row_threads(const fv_dev *d, uint32_t cols);

/* Split a number of workgroups over x and y so neither exceeds the device limit. */
void fv_op_grid(const fv_dev *d, uint32_t groups, uint32_t *gx, uint32_t *gy);

/* Dispatch `groups` workgroups laid out by fv_op_grid, cut into workgroup ranges
 * (vkCmdDispatchBase) so that no range takes more than fv_graph_max_work(g, units_per_ms) units
 * when each workgroup takes work_per_group units: ranges of x when the grid is one row, whole
 * grid rows otherwise, at least one workgroup or row each. Exact for shaders that find their
 * work by gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x (or gl_WorkGroupID.x alone,
 * gy = 1) and whose workgroups do not depend on each other: every workgroup then runs the same
 * arithmetic in whichever range holds it. A cut is counted in fv_dev.cuts and logged at debug. */
int fv_op_dispatch_bounded(fv_graph *g, fv_pipeline *p, fv_buf *const *bufs, const void *push, uint32_t groups,
                           double work_per_group, double units_per_ms);
/* Dispatches cut by fv_op_dispatch_bounded so far on d whose shader name starts with prefix. */
uint64_t fv_op_cut_count(const fv_dev *d, const char *prefix);

/* Whether compute shaders on d have every subgroup operation in `ops` (VK_SUBGROUP_FEATURE_*). */
static inline int fv_op_has_subgroup(const fv_dev *d, uint32_t ops) { return (d->subgroup_ops & ops) == ops; }

#endif
