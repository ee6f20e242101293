/* The graph's insides, shared by vk/graph.c (recording: hazard barriers, descriptor sets, the
 * command list) and vk/graph_submit.c (segments, command buffers, timing, submission).
 *
 * Recording does not write a command buffer: it appends to a host-side command list. Ending a
 * recording (and a new measurement of it, see graph_submit.c) turns the list into one command
 * buffer per segment. The descriptor sets the list names stay allocated until the next
 * fv_graph_begin, so the list can be emitted again without re-recording the ops. */
#ifndef FV_VK_GRAPH_IMPL_H
#define FV_VK_GRAPH_IMPL_H

#include "vk/graph.h"

typedef enum { FV_CMD_DISPATCH, FV_CMD_COPY, FV_CMD_FILL, FV_CMD_BARRIER } fv_cmd_kind;

typedef struct {
    fv_cmd_kind kind;
    union {
        struct {
            VkPipeline pipeline;
            VkPipelineLayout layout;
            VkDescriptorSet set;
            uint32_t push_off, push_size, gx, gy, gz, base[3];
            const char *shader; /* for diagnostics (the pipeline's name, lives with it) */
        } dispatch;
        struct {
            VkBuffer src, dst;
            VkBufferCopy region;
        } copy;
        struct {
            VkBuffer dst;
            VkDeviceSize off, size;
            uint32_t pattern;
        } fill;
        struct {
            VkPipelineStageFlags src_stage, dst_stage;
            VkAccessFlags src_access, dst_access;
        } barrier;
    } u;
} fv_cmd;

typedef struct fv_graph_pool fv_graph_pool;

/* One write of the recording: the buffer and the unit that wrote it (fv_graph_last_write). */
typedef struct {
    const fv_buf *buf;
    uint32_t unit;
} fv_graph_write;

/* A copy the device makes at a mark (graph_mark.c), with the buffers resolved. */
typedef struct {
    VkBuffer src, dst;
    VkBufferCopy region;
} fv_mark_cmd;

typedef struct {
    const fv_buf **v;
    uint32_t n, cap;
} fv_buf_set;

struct fv_graph {
    fv_dev *d;
    VkFence fence;
    fv_graph_pool *pools, *current;
    fv_buf_set reads, writes; /* since the last barrier */
    int recording, recorded, pending;
    uint32_t dispatches, barriers;

    /* the command list; a unit is one dispatch, copy or fill with the barriers just before it
     * (the last unit also takes the closing host barrier): segments start only at units */
    fv_cmd *cmds;
    uint32_t ncmds, cap_cmds;
    unsigned char *push;
    uint32_t npush, cap_push;
    uint32_t *unit_first; /* first command of each unit, plus ncmds at [units] */
    uint32_t units, cap_units;

    /* submission (graph_submit.c) */
    double bound_ms;         /* FLANVK_MAX_SUBMIT_MS or the device default; 0: no bound */
    uint32_t *seg_unit;      /* first unit of each segment, plus units at [nseg] */
    uint32_t nseg;
    VkCommandPool cmd_pool;  /* the graph's own, reset as a whole before each emission */
    VkCommandBuffer *cbs;    /* one per segment, kept across recordings */
    uint32_t ncbs;
    float *unit_ms;          /* measured GPU time of each unit (valid when measured) */
    int measured, emitted;
    int reuse;               /* submitted twice from one emission: emit for reuse, not one-time */
    uint32_t emit_submits;   /* submissions of the current emission */
    VkQueryPool queries;     /* two timestamps per segment, when the queue has timestamps */
    uint32_t nqueries;
    uint64_t ts_mask;
    double max_ms;           /* longest measured segment since the recording */
    uint64_t submits;        /* vkQueueSubmit calls since the recording */

    /* every write of the recording, in order (fv_graph_last_write) */
    fv_graph_write *wlog;
    uint32_t nwlog, cap_wlog;

    /* marks (graph_mark.c): mark k follows unit mark_unit[k] (ascending); a segment ends there,
     * with the copies mark_cmds[mark_first[k] .. mark_first[k + 1]) and a host-read barrier, and
     * its submission signals mark_fence[k] (the graph's fence when it is the last segment) */
    uint32_t nmarks, cap_marks;
    uint32_t *mark_unit, *mark_first;
    fv_mark_cmd *mark_cmds;
    VkFence *mark_fence;
    uint32_t nmark_fences;     /* created (kept across recordings) */
    int32_t *seg_mark;         /* per segment of the plan: the mark it ends at, or -1 */
};

/* graph_submit.c: set up / free the submission side; emit the command list (fv_graph_end). */
int fv_graph_submit_init(fv_graph *g);
void fv_graph_submit_free(fv_graph *g);
int fv_graph_emit(fv_graph *g);

/* graph_mark.c: note a write while recording; the mark's commands at the end of a segment; free. */
int fv_graph_log_write(fv_graph *g, const fv_buf *b);
void fv_graph_emit_mark(const fv_graph *g, VkCommandBuffer cb, uint32_t k);
void fv_graph_marks_free(fv_graph *g);

#endif
