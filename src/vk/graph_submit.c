/* Submission of a recorded graph in bounded pieces; see graph.h.
 *
 * Why: Windows resets a GPU whose submission runs past ~2 s (TDR) and amdgpu's compute watchdog
 * does the same, while a recorded training step can run for many seconds. So the command list
 * (graph_impl.h) is emitted as several command buffers, "segments", each submitted on its own, so
 * that each vkQueueSubmit stays under FLANVK_MAX_SUBMIT_MS.
 *
 * How long a segment runs is measured, not guessed: nothing on the host can predict a dispatch's
 * time on an unknown device, but timestamps can measure it. The first replay of a recording
 * submits every unit (one dispatch, copy or fill, with its barriers) as its own segment with a
 * timestamp before and after, so it is as short as any split can make it; later replays group
 * consecutive units greedily into segments of at most half the bound by those times. The half is
 * the margin for clocks that drop, other processes sharing the device and the per-unit times
 * themselves (they include a submission's overhead, so they overestimate). Every replay keeps
 * two timestamps per segment; a segment of several units that ran past the bound sends the graph
 * back to measuring. A single unit cannot be split here: ops whose one dispatch could run past the
 * bound cut it themselves (fv_graph_max_work). Without timestamps on the queue every replay
 * stays one unit per submission.
 *
 * Synchronization across segments needs nothing new: a pipeline barrier's scopes are defined by
 * submission order, which runs across command buffers and vkQueueSubmit calls on one queue, so the
 * hazard barriers recorded between units order them wherever a segment boundary falls (a
 * boundary just moves a barrier to the start of the next command buffer). The fence is signalled
 * by the last submission, after everything submitted before it on the queue, and the closing
 * host-read barrier is in the last segment.
 *
 * Marks (graph_mark.c) add boundaries of their own: a segment ends after each mark's unit, with the
 * mark's copies and host barrier at its end, and its submission signals the mark's fence.
 *
 * Command buffers are emitted one-time-submit (what drivers prefer) until an emission is
 * submitted a second time; the graph is then emitted again for reuse, once per recording.
 *
 * Default bound: FV_SUBMIT_DEFAULT_MS on GPUs (half the 2 s of the Windows TDR); none on CPU
 * devices (lavapipe runs work on host threads, with no watchdog), where setting the variable
 * still exercises the whole mechanism. FLANVK_MAX_SUBMIT_MS=0 turns the bound off. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "vk/graph_impl.h"

#define FV_SUBMIT_DEFAULT_MS 1000.0
#define FV_SUBMIT_FILL 0.5 /* fraction of the bound a segment is planned to take (see above) */

static int read_bound(const fv_dev *d, double *ms) {
    const char *e = getenv("FLANVK_MAX_SUBMIT_MS");
    if (e && *e) {
        char *end;
        double v = strtod(e, &end);
        if (*end || !(v >= 0) || v > 1e9)
            return fv_err("FLANVK_MAX_SUBMIT_MS=%s: expected milliseconds >= 0 (0: no bound)", e);
        *ms = v;
        return 0;
    }
    *ms = d->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 0.0 : FV_SUBMIT_DEFAULT_MS;
    return 0;
}

int fv_graph_submit_init(fv_graph *g) {
    FV_TRY(read_bound(g->d, &g->bound_ms));
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = g->d->queue_family};
    VK_CHECK(vkCreateCommandPool(g->d->device, &pci, NULL, &g->cmd_pool));
    if (g->d->timestamp_period > 0) {
        uint32_t nq = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(g->d->phys, &nq, NULL);
        VkQueueFamilyProperties *qf = calloc(nq ? nq : 1, sizeof *qf);
        if (!qf) return fv_err("out of host memory");
        vkGetPhysicalDeviceQueueFamilyProperties(g->d->phys, &nq, qf);
        uint32_t bits = g->d->queue_family < nq ? qf[g->d->queue_family].timestampValidBits : 0;
        free(qf);
        g->ts_mask = bits >= 64 ? ~0ull : bits ? (1ull << bits) - 1 : 0;
    }
    return 0;
}

void fv_graph_submit_free(fv_graph *g) {
    if (g->queries) vkDestroyQueryPool(g->d->device, g->queries, NULL);
    if (g->cmd_pool) vkDestroyCommandPool(g->d->device, g->cmd_pool, NULL); /* frees its command buffers */
    free(g->cbs);
    free(g->seg_unit);
    free(g->unit_ms);
}

static int timing(const fv_graph *g) { return g->ts_mask != 0; }

/* Segment boundaries (g->seg_unit) from the bound and, once measured, the units' times, plus one
 * after every mark (graph_mark.c); g->seg_mark says which segment ends at which mark. */
static int plan(fv_graph *g) {
    uint32_t *su = realloc(g->seg_unit, (g->units + 2) * sizeof *su);
    if (!su) return fv_err("out of host memory");
    g->seg_unit = su;
    int32_t *sm = realloc(g->seg_mark, (g->units + 1) * sizeof *sm);
    if (!sm) return fv_err("out of host memory");
    g->seg_mark = sm;
    g->nseg = 0;
    su[g->nseg++] = 0;
    int bounded = g->bound_ms > 0 && g->units > 0, measuring = bounded && !g->measured;
    if (measuring) {
        float *t = realloc(g->unit_ms, g->units * sizeof *t);
        if (!t) return fv_err("out of host memory");
        g->unit_ms = t;
    }
    double target = g->bound_ms * FV_SUBMIT_FILL, acc = 0;
    uint32_t k = 0; /* the next mark */
    for (uint32_t u = 0; u < g->units; u++) {
        int cut = 0;
        if (u > 0 && k < g->nmarks && g->mark_unit[k] == u - 1) {
            cut = 1;
            k++;
        } else if (u > 0 && bounded) {
            cut = measuring || (u > su[g->nseg - 1] && acc + g->unit_ms[u] > target);
        }
        if (cut) {
            su[g->nseg++] = u;
            acc = 0;
        }
        if (bounded && !measuring) acc += g->unit_ms[u];
    }
    su[g->nseg] = g->units;
    k = 0;
    for (uint32_t s = 0; s < g->nseg; s++) {
        uint32_t end = su[s + 1] ? su[s + 1] - 1 : 0; /* the segment's last unit */
        sm[s] = k < g->nmarks && g->mark_unit[k] == end ? (int32_t)k++ : -1;
    }
    return 0;
}

static int ensure_buffers(fv_graph *g) {
    if (g->nseg > g->ncbs) {
        VkCommandBuffer *v = realloc(g->cbs, g->nseg * sizeof *v);
        if (!v) return fv_err("out of host memory");
        g->cbs = v;
        VkCommandBufferAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = g->cmd_pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = g->nseg - g->ncbs,
        };
        VK_CHECK(vkAllocateCommandBuffers(g->d->device, &ai, g->cbs + g->ncbs));
        g->ncbs = g->nseg;
    }
    if (timing(g) && 2 * g->nseg > g->nqueries) {
        if (g->queries) vkDestroyQueryPool(g->d->device, g->queries, NULL);
        g->queries = VK_NULL_HANDLE;
        g->nqueries = 0;
        VkQueryPoolCreateInfo qi = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = 2 * g->nseg,
        };
        VK_CHECK(vkCreateQueryPool(g->d->device, &qi, NULL, &g->queries));
        g->nqueries = 2 * g->nseg;
    }
    return 0;
}

/* *bound: the pipeline bound last in cb, so a run of dispatches of one shader binds it once. */
static void replay(const fv_graph *g, VkCommandBuffer cb, const fv_cmd *c, VkPipeline *bound) {
    switch (c->kind) {
    case FV_CMD_DISPATCH:
        if (*bound != c->u.dispatch.pipeline)
            vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->u.dispatch.pipeline);
        *bound = c->u.dispatch.pipeline;
        vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->u.dispatch.layout, 0, 1, &c->u.dispatch.set, 0,
                                NULL);
        if (c->u.dispatch.push_size)
            vkCmdPushConstants(cb, c->u.dispatch.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, c->u.dispatch.push_size,
                               g->push + c->u.dispatch.push_off);
        if (c->u.dispatch.base[0] | c->u.dispatch.base[1] | c->u.dispatch.base[2])
            vkCmdDispatchBase(cb, c->u.dispatch.base[0], c->u.dispatch.base[1], c->u.dispatch.base[2], c->u.dispatch.gx,
                              c->u.dispatch.gy, c->u.dispatch.gz);
        else
            vkCmdDispatch(cb, c->u.dispatch.gx, c->u.dispatch.gy, c->u.dispatch.gz);
        break;
    case FV_CMD_COPY:
        vkCmdCopyBuffer(cb, c->u.copy.src, c->u.copy.dst, 1, &c->u.copy.region);
        break;
    case FV_CMD_FILL:
        vkCmdFillBuffer(cb, c->u.fill.dst, c->u.fill.off, c->u.fill.size, c->u.fill.pattern);
        break;
    case FV_CMD_BARRIER: {
        VkMemoryBarrier mb = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = c->u.barrier.src_access,
            .dstAccessMask = c->u.barrier.dst_access,
        };
        vkCmdPipelineBarrier(cb, c->u.barrier.src_stage, c->u.barrier.dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
        break;
    }
    }
}

int fv_graph_emit(fv_graph *g) {
    FV_TRY(plan(g));
    FV_TRY(ensure_buffers(g));
    VK_CHECK(vkResetCommandPool(g->d->device, g->cmd_pool, 0));
    for (uint32_t s = 0; s < g->nseg; s++) {
        /* segment s: units [seg_unit[s], seg_unit[s + 1]); the first segment also takes any
         * commands before the first unit, the last one everything after the last unit */
        uint32_t first = s == 0 ? 0 : g->unit_first[g->seg_unit[s]];
        uint32_t last = s + 1 == g->nseg ? g->ncmds : g->unit_first[g->seg_unit[s + 1]];
        VkCommandBuffer cb = g->cbs[s];
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = g->reuse ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        VkPipeline bound = VK_NULL_HANDLE;
        VK_CHECK(vkBeginCommandBuffer(cb, &bi));
        if (timing(g)) {
            vkCmdResetQueryPool(cb, g->queries, 2 * s, 2);
            vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, g->queries, 2 * s);
        }
        for (uint32_t i = first; i < last; i++) replay(g, cb, &g->cmds[i], &bound);
        if (g->seg_mark[s] >= 0) fv_graph_emit_mark(g, cb, (uint32_t)g->seg_mark[s]);
        if (timing(g)) vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, g->queries, 2 * s + 1);
        VK_CHECK(vkEndCommandBuffer(cb));
    }
    g->emitted = 1;
    g->emit_submits = 0;
    return 0;
}

int fv_graph_submit(fv_graph *g) {
    if (!g->recorded) return fv_err("graph: nothing recorded to submit");
    if (g->pending) FV_TRY(fv_graph_wait(g));
    if (g->emitted && !g->reuse && g->emit_submits > 0) {
        g->reuse = 1;
        g->emitted = 0;
    }
    if (!g->emitted) FV_TRY(fv_graph_emit(g));
    VK_CHECK(vkResetFences(g->d->device, 1, &g->fence));
    if (g->nmarks) VK_CHECK(vkResetFences(g->d->device, g->nmarks, g->mark_fence));
    for (uint32_t s = 0; s < g->nseg; s++) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &g->cbs[s]};
        VkFence f = s + 1 == g->nseg ? g->fence : g->seg_mark[s] >= 0 ? g->mark_fence[g->seg_mark[s]] : VK_NULL_HANDLE;
        VkResult r = vkQueueSubmit(g->d->queue, 1, &si, f);
        if (r != VK_SUCCESS) {
            if (s > 0) vkQueueWaitIdle(g->d->queue); /* leave nothing of this graph running */
            if (r == VK_ERROR_DEVICE_LOST)
                return fv_err("the Vulkan device was lost (driver reset or crash) while submitting work");
            return fv_err("vkQueueSubmit of segment %u of %u failed: %s", s + 1, g->nseg, fv_vk_result_str(r));
        }
        g->submits++;
        g->d->graph_submits++;
    }
    g->emit_submits++;
    g->pending = 1;
    return 0;
}

/* The segments' GPU times of the replay that just finished: the longest is kept (graph and
 * device), a measuring replay's become the units' times, an overlong segment asks for a new
 * measurement. */
static int read_times(fv_graph *g) {
    if (!timing(g) || !g->nseg) return 0;
    uint64_t *ts = malloc(2 * (size_t)g->nseg * sizeof *ts);
    if (!ts) return fv_err("out of host memory");
    VkResult r = vkGetQueryPoolResults(g->d->device, g->queries, 0, 2 * g->nseg, 2 * (size_t)g->nseg * sizeof *ts, ts,
                                       sizeof *ts, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS) {
        free(ts);
        return fv_err("vkGetQueryPoolResults failed: %s", fv_vk_result_str(r));
    }
    int measuring = g->bound_ms > 0 && !g->measured, overlong = 0;
    double replay_max = 0;
    for (uint32_t s = 0; s < g->nseg; s++) {
        double ms = (double)((ts[2 * s + 1] - ts[2 * s]) & g->ts_mask) * g->d->timestamp_period * 1e-6;
        if (ms > g->max_ms) g->max_ms = ms;
        if (ms > replay_max) replay_max = ms;
        if (ms > g->d->max_submit_ms) g->d->max_submit_ms = ms;
        if (measuring && g->nseg == g->units) g->unit_ms[s] = (float)ms;
        if (!measuring && g->bound_ms > 0 && ms > g->bound_ms && g->seg_unit[s + 1] - g->seg_unit[s] > 1) overlong = 1;
    }
    free(ts);
    if (fv_log_level() >= FV_LOG_DEBUG && g->bound_ms > 0 && g->units > 0) {
        /* the slowest unit or segment, named by its last command (a dispatch's shader) */
        uint32_t worst = 0;
        for (uint32_t s = 1; s < g->nseg; s++)
            if (measuring ? g->unit_ms[s] > g->unit_ms[worst] : 0) worst = s;
        const fv_cmd *c = &g->cmds[g->unit_first[g->seg_unit[worst] + 1] - 1];
        if (measuring && g->nseg == g->units)
            fv_debug("graph: %u units measured, slowest %.1f ms (%s), bound %.0f ms", g->units, g->unit_ms[worst],
                     c->kind == FV_CMD_DISPATCH ? c->u.dispatch.shader : "copy/fill", g->bound_ms);
        else
            fv_debug("graph: %u units in %u segments, longest %.1f ms, bound %.0f ms", g->units, g->nseg, replay_max,
                     g->bound_ms);
    }
    if (measuring || overlong) {
        g->measured = measuring;
        g->emitted = 0; /* re-plan before the next submission */
    }
    return 0;
}

int fv_graph_wait(fv_graph *g) {
    if (!g->pending) return 0;
    g->pending = 0;
    VkResult r = vkWaitForFences(g->d->device, 1, &g->fence, VK_TRUE, UINT64_MAX);
    if (r == VK_ERROR_DEVICE_LOST) return fv_err("the Vulkan device was lost (driver reset or crash) while running work");
    VK_CHECK(r);
    return read_times(g);
}

int fv_graph_run(fv_graph *g) {
    FV_TRY(fv_graph_submit(g));
    return fv_graph_wait(g);
}

double fv_graph_submit_bound_ms(const fv_graph *g) { return g->bound_ms; }

uint64_t fv_graph_max_work(const fv_graph *g, double units_per_ms) {
    if (g->bound_ms <= 0) return UINT64_MAX;
    double w = g->bound_ms * FV_SUBMIT_FILL * units_per_ms;
    return w < 1 ? 1 : w > 1e18 ? UINT64_MAX : (uint64_t)w;
}

uint32_t fv_graph_num_segments(const fv_graph *g) { return g->nseg; }
uint64_t fv_graph_num_submits(const fv_graph *g) { return g->submits; }
double fv_graph_max_submit_ms(const fv_graph *g) { return g->max_ms; }
