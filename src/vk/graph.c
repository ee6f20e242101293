/* Recording: hazard-driven barriers, descriptor sets and the command list; see graph.h.
 * Segments, command buffers and submission are in graph_submit.c. */
#include "vk/graph_impl.h"

#include <stdlib.h>
#include <string.h>

#define POOL_SETS 512
#define POOL_STORAGE (POOL_SETS * 6)
#define POOL_TEXEL (POOL_SETS * 4)

/* Each pool counts what it has handed out, so a set that would not fit goes to the next pool
 * without a failed vkAllocateDescriptorSets (which the best-practices layer reports). */
struct fv_graph_pool {
    VkDescriptorPool pool;
    uint32_t sets, storage, texel;
    struct fv_graph_pool *next;
};
typedef fv_graph_pool pool_node;
typedef fv_buf_set buf_set;

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
        g->current->sets = g->current->storage = g->current->texel = 0;
        return 0;
    }
    pool_node *n = calloc(1, sizeof *n);
    if (!n) return fv_err("out of host memory");
    VkDescriptorPoolSize sizes[2] = {
        {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, POOL_STORAGE},
        {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, POOL_TEXEL},
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
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkResult r = vkCreateFence(d->device, &fci, NULL, &g->fence);
    if (r != VK_SUCCESS) {
        fv_graph_destroy(g);
        return fv_err("cannot create a fence: %s", fv_vk_result_str(r));
    }
    if (fv_graph_submit_init(g)) {
        fv_graph_destroy(g);
        return -1;
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
    fv_graph_submit_free(g);
    fv_graph_marks_free(g);
    free(g->cmds);
    free(g->push);
    free(g->unit_first);
    free(g->reads.v);
    free(g->writes.v);
    free(g);
}

fv_dev *fv_graph_dev(const fv_graph *g) { return g->d; }

int fv_graph_begin(fv_graph *g) {
    if (g->pending) FV_TRY(fv_graph_wait(g));
    for (pool_node *n = g->pools; n; n = n->next) {
        VK_CHECK(vkResetDescriptorPool(g->d->device, n->pool, 0));
        n->sets = n->storage = n->texel = 0;
    }
    g->current = g->pools;
    if (!g->current) FV_TRY(new_pool(g));
    g->reads.n = g->writes.n = 0;
    g->dispatches = g->barriers = 0;
    g->ncmds = g->npush = g->units = 0;
    g->nwlog = g->nmarks = 0; /* marks belong to a recording */
    g->recording = 1;
    g->recorded = g->measured = g->emitted = g->reuse = 0;
    g->max_ms = 0;
    g->submits = 0;
    return 0;
}

/* Append a command; a non-barrier one closes a unit (graph_impl.h). */
static int add_cmd(fv_graph *g, const fv_cmd *c) {
    if (g->ncmds == g->cap_cmds) {
        uint32_t cap = g->cap_cmds ? 2 * g->cap_cmds : 256;
        fv_cmd *v = realloc(g->cmds, cap * sizeof *v);
        if (!v) return fv_err("out of host memory");
        g->cmds = v;
        g->cap_cmds = cap;
    }
    if (g->units + 2 > g->cap_units) {
        uint32_t cap = g->cap_units ? 2 * g->cap_units : 256;
        uint32_t *v = realloc(g->unit_first, cap * sizeof *v);
        if (!v) return fv_err("out of host memory");
        g->unit_first = v;
        g->cap_units = cap;
    }
    if (g->units == 0) g->unit_first[0] = 0;
    g->cmds[g->ncmds++] = *c;
    if (c->kind != FV_CMD_BARRIER) g->unit_first[++g->units] = g->ncmds;
    return 0;
}

static int add_push(fv_graph *g, const void *push, uint32_t size, uint32_t *off) {
    if (g->npush + size > g->cap_push) {
        uint32_t cap = g->cap_push ? 2 * g->cap_push : 4096;
        while (cap < g->npush + size) cap *= 2;
        unsigned char *v = realloc(g->push, cap);
        if (!v) return fv_err("out of host memory");
        g->push = v;
        g->cap_push = cap;
    }
    *off = g->npush;
    memcpy(g->push + g->npush, push, size);
    g->npush += size;
    return 0;
}

static int barrier(fv_graph *g, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    fv_cmd c = {.kind = FV_CMD_BARRIER};
    c.u.barrier.src_stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    c.u.barrier.src_access = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    c.u.barrier.dst_stage = dst_stage;
    c.u.barrier.dst_access = dst_access;
    FV_TRY(add_cmd(g, &c));
    g->barriers++;
    g->reads.n = g->writes.n = 0;
    return 0;
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
    if (conflict) FV_TRY(barrier(g, ALL_STAGES, ALL_ACCESS));
    for (uint32_t i = 0; i < n; i++) {
        int w = (write_mask >> i) & 1;
        FV_TRY(w ? set_add(&g->writes, bufs[i]) : set_add(&g->reads, bufs[i]));
        if (w) FV_TRY(fv_graph_log_write(g, bufs[i]));
    }
    return 0;
}

static int check_recording(fv_graph *g) {
    if (!g->recording) return fv_err("graph: record between fv_graph_begin and fv_graph_end");
    return 0;
}

int fv_graph_dispatch(fv_graph *g, fv_pipeline *p, fv_buf *const *bufs, const void *push, uint32_t gx, uint32_t gy,
                      uint32_t gz) {
    return fv_graph_dispatch_range(g, p, bufs, push, (const uint32_t[3]){0, 0, 0}, (const uint32_t[3]){gx, gy, gz});
}

int fv_graph_dispatch_range(fv_graph *g, fv_pipeline *p, fv_buf *const *bufs, const void *push, const uint32_t base[3],
                            const uint32_t count[3]) {
    FV_TRY(check_recording(g));
    const fv_pipe_desc *desc = &p->desc;
    const uint32_t *maxc = g->d->props.limits.maxComputeWorkGroupCount;
    uint32_t gx = count[0], gy = count[1], gz = count[2];
    if (gx == 0 || gy == 0 || gz == 0) return 0; /* nothing to do: an empty tensor */
    if ((uint64_t)base[0] + gx > maxc[0] || (uint64_t)base[1] + gy > maxc[1] || (uint64_t)base[2] + gz > maxc[2])
        return fv_err("shader '%s': %u x %u x %u workgroups (from %u, %u, %u) exceed the device's %u x %u x %u",
                      desc->shader, gx, gy, gz, base[0], base[1], base[2], maxc[0], maxc[1], maxc[2]);

    uint32_t ntexel = 0;
    for (uint32_t i = 0; i < desc->nbind; i++) ntexel += desc->bind_kind[i] == FV_BIND_TEXEL;
    uint32_t nstorage = desc->nbind - ntexel;
    if (ntexel > POOL_TEXEL || nstorage > POOL_STORAGE)
        return fv_err("shader '%s': %u bindings exceed a descriptor pool", desc->shader, desc->nbind);
    pool_node *cur = g->current;
    if (cur->sets + 1 > POOL_SETS || cur->storage + nstorage > POOL_STORAGE || cur->texel + ntexel > POOL_TEXEL)
        FV_TRY(new_pool(g));
    g->current->sets++;
    g->current->storage += nstorage;
    g->current->texel += ntexel;
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
    fv_cmd c = {.kind = FV_CMD_DISPATCH};
    c.u.dispatch.pipeline = p->pipeline;
    c.u.dispatch.layout = p->layout;
    c.u.dispatch.set = set;
    c.u.dispatch.push_size = desc->push_size;
    c.u.dispatch.gx = gx;
    c.u.dispatch.gy = gy;
    c.u.dispatch.gz = gz;
    memcpy(c.u.dispatch.base, (const uint32_t[3]){base[0], base[1], base[2]}, sizeof c.u.dispatch.base);
    c.u.dispatch.shader = p->desc.shader;
    if (desc->push_size) FV_TRY(add_push(g, push, desc->push_size, &c.u.dispatch.push_off));
    FV_TRY(add_cmd(g, &c));
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
    fv_cmd c = {.kind = FV_CMD_COPY};
    c.u.copy.src = src->buffer;
    c.u.copy.dst = dst->buffer;
    c.u.copy.region = (VkBufferCopy){src->offset + src_off, dst->offset + dst_off, bytes};
    return add_cmd(g, &c);
}

int fv_graph_fill(fv_graph *g, fv_buf *dst, uint32_t pattern) {
    FV_TRY(check_recording(g));
    const fv_buf *b[1] = {dst};
    FV_TRY(track(g, b, 1, 1));
    fv_cmd c = {.kind = FV_CMD_FILL};
    c.u.fill.dst = dst->buffer;
    c.u.fill.off = dst->offset;
    c.u.fill.size = dst->size / 4 * 4;
    c.u.fill.pattern = pattern;
    return add_cmd(g, &c);
}

int fv_graph_end(fv_graph *g) {
    FV_TRY(check_recording(g));
    /* Make every write visible to the host, which reads results after the fence. */
    fv_cmd c = {.kind = FV_CMD_BARRIER};
    c.u.barrier.src_stage = ALL_STAGES;
    c.u.barrier.src_access = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    c.u.barrier.dst_stage = VK_PIPELINE_STAGE_HOST_BIT;
    c.u.barrier.dst_access = VK_ACCESS_HOST_READ_BIT;
    FV_TRY(add_cmd(g, &c)); /* the closing barrier joins the last unit (graph_submit.c) */
    g->recording = 0;
    FV_TRY(fv_graph_emit(g));
    g->recorded = 1;
    return 0;
}

uint32_t fv_graph_num_dispatches(const fv_graph *g) { return g->dispatches; }
uint32_t fv_graph_num_barriers(const fv_graph *g) { return g->barriers; }
