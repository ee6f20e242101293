/* Recording, hazard-driven barriers, descriptor sets, submission; see graph.h. */
#include "vk/graph.h"

#include <stdlib.h>
#include <string.h>

#define POOL_SETS 512

typedef struct pool_node {
    VkDescriptorPool pool;
    struct pool_node *next;
} pool_node;

typedef struct {
    const fv_buf **v;
    uint32_t n, cap;
} buf_set;

struct fv_graph {
    fv_dev *d;
    VkCommandBuffer cmd;
    VkFence fence;
    pool_node *pools, *current;
    buf_set reads, writes;      /* since the last barrier */
    int recording, recorded, pending;
    uint32_t dispatches, barriers;
};

static int set_has(const buf_set *s, const fv_buf *b) {
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i] == b) return 1;
    return 0;
}

static int set_add(buf_set *s, const fv_buf *b) {
    if (set_has(s, b)) return 0;
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? 2 * s->cap : 32;
        const fv_buf **v = realloc(s->v, cap * sizeof *v);
        if (!v) return fv_err("out of host memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = b;
    return 0;
}

static int new_pool(fv_graph *g) {
    if (g->current && g->current->next) { /* reuse pools kept from an earlier recording */
        g->current = g->current->next;
        return 0;
    }
    pool_node *n = calloc(1, sizeof *n);
    if (!n) return fv_err("out of host memory");
    VkDescriptorPoolSize sizes[2] = {
        {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, POOL_SETS * 6},
        {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, POOL_SETS * 4},
    };
    VkDescriptorPoolCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = POOL_SETS,
        .poolSizeCount = 2,
        .pPoolSizes = sizes,
    };
    VkResult r = vkCreateDescriptorPool(g->d->device, &ci, NULL, &n->pool);
    if (r != VK_SUCCESS) {
        free(n);
        return fv_err("vkCreateDescriptorPool failed: %s", fv_vk_result_str(r));
    }
    if (g->current) g->current->next = n;
    else g->pools = n;
    g->current = n;
    return 0;
}

int fv_graph_create(fv_dev *d, fv_graph **out) {
    *out = NULL;
    fv_graph *g = calloc(1, sizeof *g);
    if (!g) return fv_err("out of host memory");
    g->d = d;
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = d->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkResult r = vkAllocateCommandBuffers(d->device, &ai, &g->cmd);
    if (r == VK_SUCCESS) r = vkCreateFence(d->device, &fci, NULL, &g->fence);
    if (r != VK_SUCCESS) {
        fv_graph_destroy(g);
        return fv_err("cannot create a command buffer: %s", fv_vk_result_str(r));
    }
    *out = g;
    return 0;
}

void fv_graph_destroy(fv_graph *g) {
    if (!g) return;
    if (g->pending) fv_graph_wait(g);
    for (pool_node *n = g->pools, *next; n; n = next) {
        next = n->next;
        vkDestroyDescriptorPool(g->d->device, n->pool, NULL);
        free(n);
    }
    if (g->fence) vkDestroyFence(g->d->device, g->fence, NULL);
    if (g->cmd) vkFreeCommandBuffers(g->d->device, g->d->cmd_pool, 1, &g->cmd);
    free(g->reads.v);
    free(g->writes.v);
    free(g);
}

fv_dev *fv_graph_dev(const fv_graph *g) { return g->d; }

int fv_graph_begin(fv_graph *g) {
    if (g->pending) FV_TRY(fv_graph_wait(g));
    VK_CHECK(vkResetCommandBuffer(g->cmd, 0));
    for (pool_node *n = g->pools; n; n = n->next) VK_CHECK(vkResetDescriptorPool(g->d->device, n->pool, 0));
    g->current = g->pools;
    if (!g->current) FV_TRY(new_pool(g));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VK_CHECK(vkBeginCommandBuffer(g->cmd, &bi));
    g->reads.n = g->writes.n = 0;
    g->dispatches = g->barriers = 0;
    g->recording = 1;
    g->recorded = 0;
    return 0;
}

static void barrier(fv_graph *g, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = dst_access,
    };
    vkCmdPipelineBarrier(g->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, dst_stage, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    g->barriers++;
    g->reads.n = g->writes.n = 0;
}

static const VkAccessFlags ALL_ACCESS = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                        VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
static const VkPipelineStageFlags ALL_STAGES = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;

/* Insert a barrier if this use conflicts with what came since the last one, then note the use. */
static int track(fv_graph *g, const fv_buf *const *bufs, uint32_t n, uint32_t write_mask) {
    int conflict = 0;
    for (uint32_t i = 0; i < n && !conflict; i++) {
        int w = (write_mask >> i) & 1;
        conflict = set_has(&g->writes, bufs[i]) || (w && set_has(&g->reads, bufs[i]));
    }
    if (conflict) barrier(g, ALL_STAGES, ALL_ACCESS);
    for (uint32_t i = 0; i < n; i++) FV_TRY(((write_mask >> i) & 1) ? set_add(&g->writes, bufs[i]) : set_add(&g->reads, bufs[i]));
    return 0;
}

static int check_recording(fv_graph *g) {
    if (!g->recording) return fv_err("graph: record between fv_graph_begin and fv_graph_end");
    return 0;
}

int fv_graph_dispatch(fv_graph *g, fv_pipeline *p, fv_buf *const *bufs, const void *push, uint32_t gx, uint32_t gy,
                      uint32_t gz) {
    FV_TRY(check_recording(g));
    const fv_pipe_desc *desc = &p->desc;
    const uint32_t *maxc = g->d->props.limits.maxComputeWorkGroupCount;
    if (gx == 0 || gy == 0 || gz == 0) return 0; /* nothing to do: an empty tensor */
    if (gx > maxc[0] || gy > maxc[1] || gz > maxc[2])
        return fv_err("shader '%s': %u x %u x %u workgroups exceed the device's %u x %u x %u", desc->shader, gx, gy, gz,
                      maxc[0], maxc[1], maxc[2]);

    VkDescriptorSetAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = g->current->pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &p->set_layout,
    };
    VkDescriptorSet set;
    VkResult r = vkAllocateDescriptorSets(g->d->device, &ai, &set);
    if (r == VK_ERROR_OUT_OF_POOL_MEMORY || r == VK_ERROR_FRAGMENTED_POOL) {
        FV_TRY(new_pool(g));
        ai.descriptorPool = g->current->pool;
        r = vkAllocateDescriptorSets(g->d->device, &ai, &set);
    }
    if (r != VK_SUCCESS) return fv_err("vkAllocateDescriptorSets failed: %s", fv_vk_result_str(r));

    VkWriteDescriptorSet w[FV_MAX_BINDS];
    VkDescriptorBufferInfo bi[FV_MAX_BINDS];
    VkBufferView views[FV_MAX_BINDS];
    for (uint32_t i = 0; i < desc->nbind; i++) {
        fv_buf *b = bufs[i];
        if (!b) return fv_err("shader '%s': binding %u has no buffer", desc->shader, i);
        w[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = i,
            .descriptorCount = 1,
        };
        if (desc->bind_kind[i] == FV_BIND_TEXEL) {
            FV_TRY(fv_buf_view(g->d, b, desc->bind_fmt[i], &views[i]));
            w[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
            w[i].pTexelBufferView = &views[i];
        } else {
            if (b->size > g->d->props.limits.maxStorageBufferRange)
                return fv_err("%s: %llu bytes exceed the device's storage buffer range of %u bytes (shader '%s')", b->what,
                              (unsigned long long)b->size, g->d->props.limits.maxStorageBufferRange, desc->shader);
            bi[i] = (VkDescriptorBufferInfo){b->buffer, b->offset, b->size ? b->size : 4};
            w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            w[i].pBufferInfo = &bi[i];
        }
    }
    vkUpdateDescriptorSets(g->d->device, desc->nbind, w, 0, NULL);
    FV_TRY(track(g, (const fv_buf *const *)bufs, desc->nbind, desc->write_mask));
    vkCmdBindPipeline(g->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vkCmdBindDescriptorSets(g->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    if (desc->push_size) vkCmdPushConstants(g->cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, desc->push_size, push);
    vkCmdDispatch(g->cmd, gx, gy, gz);
    g->dispatches++;
    return 0;
}

int fv_graph_copy(fv_graph *g, fv_buf *src, uint64_t src_off, fv_buf *dst, uint64_t dst_off, uint64_t bytes) {
    FV_TRY(check_recording(g));
    if (src_off > src->size || bytes > src->size - src_off || dst_off > dst->size || bytes > dst->size - dst_off)
        return fv_err("graph copy of %llu bytes from %s to %s is out of range", (unsigned long long)bytes, src->what, dst->what);
    if (!bytes) return 0;
    const fv_buf *b[2] = {src, dst};
    FV_TRY(track(g, b, 2, 2));
    VkBufferCopy c = {src->offset + src_off, dst->offset + dst_off, bytes};
    vkCmdCopyBuffer(g->cmd, src->buffer, dst->buffer, 1, &c);
    return 0;
}

int fv_graph_fill(fv_graph *g, fv_buf *dst, uint32_t pattern) {
    FV_TRY(check_recording(g));
    const fv_buf *b[1] = {dst};
    FV_TRY(track(g, b, 1, 1));
    vkCmdFillBuffer(g->cmd, dst->buffer, dst->offset, dst->size / 4 * 4, pattern);
    return 0;
}

int fv_graph_end(fv_graph *g) {
    FV_TRY(check_recording(g));
    /* Make every write visible to the host, which reads results after the fence. */
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(g->cmd, ALL_STAGES, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    g->recording = 0;
    VK_CHECK(vkEndCommandBuffer(g->cmd));
    g->recorded = 1;
    return 0;
}

int fv_graph_submit(fv_graph *g) {
    if (!g->recorded) return fv_err("graph: nothing recorded to submit");
    if (g->pending) FV_TRY(fv_graph_wait(g));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &g->cmd};
    VK_CHECK(vkResetFences(g->d->device, 1, &g->fence));
    VkResult r = vkQueueSubmit(g->d->queue, 1, &si, g->fence);
    if (r == VK_ERROR_DEVICE_LOST) return fv_err("the Vulkan device was lost (driver reset or crash) while submitting work");
    VK_CHECK(r);
    g->pending = 1;
    return 0;
}

int fv_graph_wait(fv_graph *g) {
    if (!g->pending) return 0;
    g->pending = 0;
    VkResult r = vkWaitForFences(g->d->device, 1, &g->fence, VK_TRUE, UINT64_MAX);
    if (r == VK_ERROR_DEVICE_LOST) return fv_err("the Vulkan device was lost (driver reset or crash) while running work");
    VK_CHECK(r);
    return 0;
}

int fv_graph_run(fv_graph *g) {
    FV_TRY(fv_graph_submit(g));
    return fv_graph_wait(g);
}

uint32_t fv_graph_num_dispatches(const fv_graph *g) { return g->dispatches; }
uint32_t fv_graph_num_barriers(const fv_graph *g) { return g->barriers; }
