/* Marks inside a recorded graph (see graph.h): where the host may look at results before the
 * whole graph has run.
 *
 * A mark is a segment boundary (graph_submit.c cuts the plan there, whatever the submission bound
 * says) whose submission carries a fence of its own, so the host can wait for the work up to the
 * mark while the device runs the rest. The mark's copies and a host-read barrier are emitted at
 * the end of that segment's command buffer:
 *   writes (shader, transfer) -> transfer read; the copies; transfer write -> host read.
 * The first barrier orders the copies after everything before the mark that wrote their sources;
 * later units need no barrier against them: the graph does not write the sources after the mark
 * (which is what choosing the mark by fv_graph_last_write guarantees) and does not touch the
 * destinations at all. A fence's signal then makes the copies' results available to the host.
 *
 * The writes' log is filled while recording (graph.c's hazard tracking sees every buffer a
 * dispatch, copy or fill writes) and read once, when the marks are chosen. */
#include <stdlib.h>
#include <string.h>

#include "vk/graph_impl.h"

int fv_graph_log_write(fv_graph *g, const fv_buf *b) {
    if (g->nwlog == g->cap_wlog) {
        uint32_t cap = g->cap_wlog ? 2 * g->cap_wlog : 1024;
        fv_graph_write *v = realloc(g->wlog, cap * sizeof *v);
        if (!v) return fv_err("out of host memory");
        g->wlog = v;
        g->cap_wlog = cap;
    }
    g->wlog[g->nwlog++] = (fv_graph_write){b, g->units}; /* the unit the command being added becomes */
    return 0;
}

uint32_t fv_graph_num_units(const fv_graph *g) { return g->units; }
uint32_t fv_graph_num_marks(const fv_graph *g) { return g->nmarks; }

uint32_t fv_graph_last_write(const fv_graph *g, const fv_buf *b) {
    for (uint32_t i = g->nwlog; i-- > 0;)
        if (g->wlog[i].buf == b) return g->wlog[i].unit;
    return UINT32_MAX;
}

int fv_graph_set_marks(fv_graph *g, const uint32_t *after, uint32_t n, const uint32_t *first,
                       const fv_graph_mark_copy *copies) {
    if (!g->recorded || g->recording) return fv_err("graph: marks are set on a finished recording");
    if (g->pending) FV_TRY(fv_graph_wait(g));
    for (uint32_t k = 0; k < n; k++) {
        if (after[k] >= g->units || (k && after[k] <= after[k - 1]))
            return fv_err("graph: mark %u after unit %u: marks must follow units of the recording (%u) in "
                          "ascending order", k, after[k], g->units);
        if (first[k + 1] < first[k]) return fv_err("graph: the copies of mark %u end before they start", k);
    }
    uint32_t ncopies = n ? first[n] - first[0] : 0;
    if (n + 1 > g->cap_marks) {
        uint32_t *u = realloc(g->mark_unit, (n + 1) * sizeof *u);
        if (u) g->mark_unit = u;
        uint32_t *f = u ? realloc(g->mark_first, (n + 1) * sizeof *f) : NULL;
        if (f) g->mark_first = f;
        if (!u || !f) return fv_err("out of host memory");
        g->cap_marks = n + 1;
    }
    fv_mark_cmd *mc = realloc(g->mark_cmds, (ncopies ? ncopies : 1) * sizeof *mc);
    if (!mc) return fv_err("out of host memory");
    g->mark_cmds = mc;
    for (uint32_t k = 0; k < n; k++) {
        g->mark_unit[k] = after[k];
        g->mark_first[k] = first[k] - first[0];
        for (uint32_t i = first[k]; i < first[k + 1]; i++) {
            const fv_graph_mark_copy *c = &copies[i];
            if (c->src_off > c->src->size || c->bytes > c->src->size - c->src_off || c->dst_off > c->dst->size ||
                c->bytes > c->dst->size - c->dst_off)
                return fv_err("graph: mark copy of %llu bytes from %s to %s is out of range",
                              (unsigned long long)c->bytes, c->src->what, c->dst->what);
            mc[i - first[0]] = (fv_mark_cmd){c->src->buffer, c->dst->buffer,
                                             {c->src->offset + c->src_off, c->dst->offset + c->dst_off, c->bytes}};
        }
    }
    if (n) g->mark_first[n] = ncopies;
    if (n > g->nmark_fences) {
        VkFence *v = realloc(g->mark_fence, n * sizeof *v);
        if (!v) return fv_err("out of host memory");
        g->mark_fence = v;
        VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        for (; g->nmark_fences < n; g->nmark_fences++)
            VK_CHECK(vkCreateFence(g->d->device, &fci, NULL, &g->mark_fence[g->nmark_fences]));
    }
    g->nmarks = n;
    g->emitted = 0; /* re-plan with the marks before the next submission */
    return 0;
}

void fv_graph_emit_mark(const fv_graph *g, VkCommandBuffer cb, uint32_t k) {
    uint32_t a = g->mark_first[k], b = g->mark_first[k + 1];
    VkPipelineStageFlags before = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    VkAccessFlags written = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    if (b > a) {
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = written,
                              .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT};
        vkCmdPipelineBarrier(cb, before, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
        for (uint32_t i = a; i < b; i++) vkCmdCopyBuffer(cb, g->mark_cmds[i].src, g->mark_cmds[i].dst, 1, &g->mark_cmds[i].region);
    }
    VkMemoryBarrier hb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = written,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cb, before, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &hb, 0, NULL, 0, NULL);
}

int fv_graph_poll_mark(fv_graph *g, uint32_t k, uint64_t timeout_ns, int *passed) {
    *passed = 1;
    if (k >= g->nmarks) return fv_err("graph: mark %u of %u", k, g->nmarks);
    if (!g->pending) return 0;
    VkFence f = g->mark_unit[k] + 1 == g->units ? g->fence : g->mark_fence[k];
    VkResult r = vkWaitForFences(g->d->device, 1, &f, VK_TRUE, timeout_ns);
    if (r == VK_TIMEOUT) {
        *passed = 0;
        return 0;
    }
    if (r == VK_ERROR_DEVICE_LOST) return fv_err("the Vulkan device was lost (driver reset or crash) while running work");
    VK_CHECK(r);
    return 0;
}

void fv_graph_marks_free(fv_graph *g) {
    for (uint32_t i = 0; i < g->nmark_fences; i++) vkDestroyFence(g->d->device, g->mark_fence[i], NULL);
    free(g->mark_fence);
    free(g->mark_unit);
    free(g->mark_first);
    free(g->mark_cmds);
    free(g->seg_mark);
    free(g->wlog);
}
