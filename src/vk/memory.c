/* Block sub-allocator; see memory.h. Blocks are 256 MiB (smaller if the heap is small or the
 * device's maxMemoryAllocationSize is); a request larger than a block gets a block of its own.
 * Memory types are the ones the device profile presents (fv_dev.memprops), each backed by a real
 * type (fv_dev.mem_real) for vkAllocateMemory. Host access to a non-coherent type flushes and
 * invalidates ranges aligned to nonCoherentAtomSize; such buffers get no `host` pointer, so every
 * access goes through fv_buf_write/read.
 *
 * FLANVK_MAX_DEVICE_MEMORY=BYTES caps the device-local memory flanvk allocates (every block whose
 * memory type is DEVICE_LOCAL; on CPU and integrated devices that is every block), so running out
 * of device memory can be tested on any device: a block that would pass the cap is tried at the
 * exact size asked, and past that the allocation fails with what it was for, its size and what
 * the cap leaves. */
#include "vk/memory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define ALIGN 256u  /* at least; raised to the device's storage/texel offset alignments */
#define BLOCK_BYTES (256ull << 20)
#define STAGING_BYTES (64ull << 20)
#define WINDOW_BLOCK (4ull << 20) /* blocks taken from the device-local host-visible window */

typedef struct { VkDeviceSize off, size; } range;

struct fv_block {
    VkDeviceMemory memory;
    VkBuffer buffer;
    VkDeviceSize size, alloc_size;  /* the buffer's bytes; the VkDeviceMemory's */
    uint32_t type;                  /* presented type index */
    enum fv_mem_kind kind;
    void *mapped;
    int coherent;
    int local;         /* counted against FLANVK_MAX_DEVICE_MEMORY */
    range *free;       /* sorted by offset, coalesced */
    uint32_t nfree, capfree;
    uint32_t live;     /* buffers carved out of it */
    fv_block *next;
};

struct fv_mem {
    fv_block *blocks;
    uint64_t in_use, peak;
    uint64_t cap, local; /* FLANVK_MAX_DEVICE_MEMORY (0: none); device-local bytes held */
    fv_buf *staging;   /* for non-mapped transfers */
    uint64_t flushes, invalidates, staged;
    uint64_t window_budget, window_held, window_direct, window_fallbacks; /* FV_MEM_UPLOAD (memory.h) */
};

static VkDeviceSize block_bytes(const fv_dev *d) {
    uint64_t max = d->info.max_allocation_size;
    return max && max < BLOCK_BYTES ? max / ALIGN * ALIGN : BLOCK_BYTES;
}

static VkDeviceSize staging_bytes(const fv_dev *d) {
    VkDeviceSize b = block_bytes(d);
    return b < STAGING_BYTES ? b : STAGING_BYTES;
}

/* Sub-allocation offsets honour both descriptor offset alignments (powers of two, so the largest
 * is a multiple of the others). */
static VkDeviceSize align_of(const fv_dev *d) {
    VkDeviceSize a = ALIGN;
    if (d->props.limits.minStorageBufferOffsetAlignment > a) a = d->props.limits.minStorageBufferOffsetAlignment;
    if (d->props.limits.minTexelBufferOffsetAlignment > a) a = d->props.limits.minTexelBufferOffsetAlignment;
    return a;
}

/* memoryTypeBits of real types -> the presented types backed by them. */
static uint32_t presented_bits(const fv_dev *d, uint32_t real_bits) {
    uint32_t bits = 0;
    for (uint32_t i = 0; i < d->memprops.memoryTypeCount; i++)
        if (real_bits & (1u << d->mem_real[i])) bits |= 1u << i;
    return bits;
}

static int find_type(const fv_dev *d, uint32_t bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid, uint32_t *out) {
    for (uint32_t i = 0; i < d->memprops.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = d->memprops.memoryTypes[i].propertyFlags;
        if ((bits & (1u << i)) && (f & want) == want && !(f & avoid)) {
            *out = i;
            return 1;
        }
    }
    return 0;
}

static const VkBufferUsageFlags USAGE = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

static int choose_type(fv_dev *d, uint32_t bits, enum fv_mem_kind kind, uint32_t *type) {
    const VkMemoryPropertyFlags DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    if (kind == FV_MEM_UPLOAD) { /* the window: coherent if it can be */
        if (find_type(d, bits, DL | HV | HC, 0, type)) return 0;
        if (find_type(d, bits, DL | HV, 0, type)) return 0;
    } else if (kind == FV_MEM_DEVICE) {
        if (d->uma && find_type(d, bits, DL | HV | HC, 0, type)) return 0;
        if (find_type(d, bits, DL, 0, type)) return 0;
        if (find_type(d, bits, 0, 0, type)) return 0;
    } else {
        /* Cached first (read-backs), coherent or not: non-coherent types are flushed. */
        if (find_type(d, bits, HV | HC | CA, 0, type)) return 0;
        if (find_type(d, bits, HV | CA, 0, type)) return 0;
        if (find_type(d, bits, HV | HC, 0, type)) return 0;
        if (find_type(d, bits, HV, 0, type)) return 0;
    }
    return fv_err("device %s has no suitable memory type", d->info.name);
}

static int new_block(fv_dev *d, VkDeviceSize size, enum fv_mem_kind kind, const char *what, fv_block **out) {
    fv_block *b = calloc(1, sizeof *b);
    if (!b) return fv_err("out of host memory");
    b->size = size;
    b->kind = kind;
    VkBufferCreateInfo bi = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = USAGE,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(d->device, &bi, NULL, &b->buffer);
    if (r != VK_SUCCESS) {
        free(b);
        return fv_err("vkCreateBuffer(%llu bytes for %s) failed: %s", (unsigned long long)size, what, fv_vk_result_str(r));
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d->device, b->buffer, &req);
    int rc = choose_type(d, presented_bits(d, req.memoryTypeBits), kind, &b->type);
    int local = !rc && (d->memprops.memoryTypes[b->type].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (local && d->mem->cap && req.size > d->mem->cap - d->mem->local)
        rc = fv_err("out of device memory: %s needs %.2f MiB, %.2f MiB free under FLANVK_MAX_DEVICE_MEMORY=%llu "
                    "(flanvk holds %.2f MiB)", what, req.size / 1048576.0, (d->mem->cap - d->mem->local) / 1048576.0,
                    (unsigned long long)d->mem->cap, d->mem->local / 1048576.0);
    if (!rc && d->info.max_allocation_size && req.size > d->info.max_allocation_size)
        rc = fv_err("%s: %.1f MiB in one allocation exceed the device's maxMemoryAllocationSize of %.1f MiB", what,
                    req.size / 1048576.0, d->info.max_allocation_size / 1048576.0);
    if (!rc) {
        VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                   .memoryTypeIndex = d->mem_real[b->type]};
        b->alloc_size = req.size;
        r = vkAllocateMemory(d->device, &ai, NULL, &b->memory);
        if (r != VK_SUCCESS) {
            uint32_t heap = d->memprops.memoryTypes[b->type].heapIndex;
            rc = fv_err("out of device memory: asked for %.1f MiB for %s; heap %u has %.1f MiB, flanvk holds %.1f MiB (%s)",
                        req.size / 1048576.0, what, heap, d->memprops.memoryHeaps[heap].size / 1048576.0,
                        d->mem->in_use / 1048576.0, fv_vk_result_str(r));
        }
    }
    if (!rc) {
        r = vkBindBufferMemory(d->device, b->buffer, b->memory, 0);
        if (r != VK_SUCCESS) rc = fv_err("vkBindBufferMemory failed: %s", fv_vk_result_str(r));
    }
    if (!rc && (d->memprops.memoryTypes[b->type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
        r = vkMapMemory(d->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
        if (r != VK_SUCCESS) rc = fv_err("vkMapMemory failed: %s", fv_vk_result_str(r));
        b->coherent = (d->memprops.memoryTypes[b->type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    }
    if (!rc) {
        b->capfree = 8;
        b->free = malloc(b->capfree * sizeof *b->free);
        if (!b->free) rc = fv_err("out of host memory");
        else {
            b->free[0] = (range){0, size};
            b->nfree = 1;
        }
    }
    if (rc) {
        if (b->memory) vkFreeMemory(d->device, b->memory, NULL);
        vkDestroyBuffer(d->device, b->buffer, NULL);
        free(b);
        return rc;
    }
    d->mem->in_use += req.size;
    if (local) d->mem->local += req.size;
    if (kind == FV_MEM_UPLOAD) d->mem->window_held += req.size;
    b->local = local;
    if (d->mem->in_use > d->mem->peak) d->mem->peak = d->mem->in_use;
    b->next = d->mem->blocks;
    d->mem->blocks = b;
    *out = b;
    return 0;
}

static void drop_block(fv_dev *d, fv_block *b) {
    fv_block **pp = &d->mem->blocks;
    while (*pp && *pp != b) pp = &(*pp)->next;
    if (*pp) *pp = b->next;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d->device, b->buffer, &req);
    d->mem->in_use -= req.size;
    if (b->local) d->mem->local -= req.size;
    if (b->kind == FV_MEM_UPLOAD) d->mem->window_held -= b->alloc_size;
    if (b->mapped) vkUnmapMemory(d->device, b->memory);
    vkDestroyBuffer(d->device, b->buffer, NULL);
    vkFreeMemory(d->device, b->memory, NULL);
    free(b->free);
    free(b);
}

static int carve(fv_block *b, VkDeviceSize size, VkDeviceSize *off) {
    for (uint32_t i = 0; i < b->nfree; i++) {
        if (b->free[i].size < size) continue;
        *off = b->free[i].off;
        b->free[i].off += size;
        b->free[i].size -= size;
        if (b->free[i].size == 0) {
            memmove(&b->free[i], &b->free[i + 1], (b->nfree - i - 1) * sizeof *b->free);
            b->nfree--;
        }
        return 1;
    }
    return 0;
}

static int give_back(fv_block *b, VkDeviceSize off, VkDeviceSize size) {
    uint32_t i = 0;
    while (i < b->nfree && b->free[i].off < off) i++;
    int merge_prev = i > 0 && b->free[i - 1].off + b->free[i - 1].size == off;
    int merge_next = i < b->nfree && off + size == b->free[i].off;
    if (merge_prev && merge_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (b->nfree - i - 1) * sizeof *b->free);
        b->nfree--;
    } else if (merge_prev) {
        b->free[i - 1].size += size;
    } else if (merge_next) {
        b->free[i].off = off;
        b->free[i].size += size;
    } else {
        if (b->nfree == b->capfree) {
            range *n = realloc(b->free, 2 * b->capfree * sizeof *n);
            if (!n) return fv_err("out of host memory");
            b->free = n;
            b->capfree *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], (b->nfree - i) * sizeof *b->free);
        b->free[i] = (range){off, size};
        b->nfree++;
    }
    return 0;
}

int fv_mem_init(fv_dev *d) {
    d->mem = calloc(1, sizeof *d->mem);
    if (!d->mem) return fv_err("out of host memory");
    /* UMA: every device-local type is also host-visible (CPU and most integrated GPUs). */
    int dl = 0, dlhv = 0;
    for (uint32_t i = 0; i < d->memprops.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = d->memprops.memoryTypes[i].propertyFlags;
        if (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) {
            dl++;
            if (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) dlhv++;
        }
    }
    d->uma = dl > 0 && dl == dlhv;
    /* A window: device-local host-visible types beside plain device-local ones. Its budget is its
     * heap, the 256 MiB BAR on most discrete GPUs (the whole of VRAM with resizable BAR). */
    if (!d->uma && dlhv) {
        uint32_t t;
        if (find_type(d, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, 0, &t))
            d->mem->window_budget = d->memprops.memoryHeaps[d->memprops.memoryTypes[t].heapIndex].size;
    }
    const char *e = getenv("FLANVK_MAX_DEVICE_MEMORY");
    if (e && *e) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(e, &end, 10);
        if (errno || *end || v == 0 || *e == '-') {
            free(d->mem);
            d->mem = NULL;
            return fv_err("FLANVK_MAX_DEVICE_MEMORY=%s: expected a number of bytes, at least 1", e);
        }
        d->mem->cap = v;
    }
    return 0;
}

void fv_mem_destroy(fv_dev *d) {
    if (!d->mem) return;
    if (d->mem->staging) fv_buf_free(d, d->mem->staging);
    while (d->mem->blocks) {
        if (d->mem->blocks->live) fv_debug("device memory block freed with %u live buffers", d->mem->blocks->live);
        drop_block(d, d->mem->blocks);
    }
    free(d->mem);
    d->mem = NULL;
}

/* An FV_MEM_UPLOAD request of `size` bytes (aligned) in the window: a free range of a window block,
 * else a new block while the budget allows. *out stays NULL when it does not fit (no window, too
 * large, window full or the driver refuses): the caller then takes device memory. */
static void window_place(fv_dev *d, VkDeviceSize size, const char *what, fv_block **out, VkDeviceSize *off) {
    fv_mem *m = d->mem;
    *out = NULL;
    if (!m->window_budget || size > WINDOW_BLOCK) return;
    for (fv_block *b = m->blocks; b; b = b->next)
        if (b->kind == FV_MEM_UPLOAD && carve(b, size, off)) {
            *out = b;
            return;
        }
    VkDeviceSize bs = WINDOW_BLOCK < m->window_budget ? WINDOW_BLOCK : m->window_budget / align_of(d) * align_of(d);
    if (bs >= size && m->window_held + bs <= m->window_budget && !new_block(d, bs, FV_MEM_UPLOAD, what, out)) {
        if (m->window_held == bs)
            fv_debug("memory: the device-local host-visible window (%.0f MiB) holds the small per-step buffers, "
                     "written without staging", m->window_budget / 1048576.0);
        carve(*out, size, off);
        return;
    }
    *out = NULL;
    if (m->window_fallbacks++ == 0)
        fv_debug("memory: %s (%llu bytes) does not fit the device-local host-visible window (%.1f of %.0f MiB held); "
                 "device memory and staging copies instead", what, (unsigned long long)size, m->window_held / 1048576.0,
                 m->window_budget / 1048576.0);
}

int fv_buf_alloc(fv_dev *d, VkDeviceSize size, enum fv_mem_kind kind, const char *what, fv_buf **out) {
    *out = NULL;
    VkDeviceSize asked = size;
    if (size == 0) size = 1;
    VkDeviceSize align = align_of(d);
    size = (size + align - 1) / align * align;
    fv_buf *buf = calloc(1, sizeof *buf);
    if (!buf) return fv_err("out of host memory");
    snprintf(buf->what, sizeof buf->what, "%s", what ? what : "buffer");
    fv_block *b = NULL;
    VkDeviceSize off = 0;
    if (kind == FV_MEM_UPLOAD) {
        window_place(d, size, buf->what, &b, &off);
        if (!b) kind = FV_MEM_DEVICE;
    }
    if (!b)
        for (b = d->mem->blocks; b; b = b->next)
            if (b->kind == kind && carve(b, size, &off)) break;
    if (!b) {
        VkDeviceSize bs = size > block_bytes(d) ? size : block_bytes(d);
        if (kind == FV_MEM_HOST && size <= staging_bytes(d)) bs = staging_bytes(d);
        /* under a cap, blocks of an eighth of it: a 256 MiB block (or the 64 MiB staging one)
         * would take the whole cap for a few small buffers */
        VkDeviceSize eighth = d->mem->cap / 8 / align * align;
        if (d->mem->cap && bs > size && bs > eighth) bs = size > eighth ? size : eighth;
        int rc = new_block(d, bs, kind, buf->what, &b);
        if (rc && bs > size) rc = new_block(d, size, kind, buf->what, &b); /* a smaller heap may still fit */
        if (rc) {
            free(buf);
            return rc;
        }
        carve(b, size, &off);
    }
    b->live++;
    buf->block = b;
    buf->buffer = b->buffer;
    buf->offset = off;
    buf->size = asked;
    buf->reserved = size;
    buf->host = b->mapped && b->coherent ? (char *)b->mapped + off : NULL;
    *out = buf;
    return 0;
}

void fv_buf_free(fv_dev *d, fv_buf *buf) {
    if (!buf) return;
    for (int i = 0; i < FV_TEXEL_COUNT; i++)
        if (buf->views[i]) vkDestroyBufferView(d->device, buf->views[i], NULL);
    fv_block *b = buf->block;
    if (give_back(b, buf->offset, buf->reserved)) fv_warn("%s", fv_last_error());
    if (--b->live == 0 && b->size > block_bytes(d)) drop_block(d, b); /* dedicated blocks go right away */
    free(buf);
}

static int once_copy(fv_dev *d, VkBuffer src, VkDeviceSize soff, VkBuffer dst, VkDeviceSize doff, VkDeviceSize n) {
    VK_CHECK(vkResetCommandPool(d->device, d->cmd_pool, 0)); /* once_cmd is its only command buffer */
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VK_CHECK(vkBeginCommandBuffer(d->once_cmd, &bi));
    VkBufferCopy c = {soff, doff, n};
    vkCmdCopyBuffer(d->once_cmd, src, dst, 1, &c);
    VK_CHECK(vkEndCommandBuffer(d->once_cmd));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &d->once_cmd};
    VK_CHECK(vkResetFences(d->device, 1, &d->once_fence));
    VK_CHECK(vkQueueSubmit(d->queue, 1, &si, d->once_fence));
    VK_CHECK(vkWaitForFences(d->device, 1, &d->once_fence, VK_TRUE, UINT64_MAX));
    return 0;
}

static int check_range(const fv_buf *b, VkDeviceSize off, VkDeviceSize n) {
    if (off > b->size || n > b->size - off)
        return fv_err("%s: access of %llu bytes at %llu is outside its %llu bytes", b->what, (unsigned long long)n,
                      (unsigned long long)off, (unsigned long long)b->size);
    return 0;
}

static int staging(fv_dev *d) {
    if (d->mem->staging) return 0;
    return fv_buf_alloc(d, staging_bytes(d), FV_MEM_HOST, "staging", &d->mem->staging);
}

/* The mapped bytes of b (coherent or not), or NULL. */
static char *mapping(const fv_buf *b) { return b->block->mapped ? (char *)b->block->mapped + b->offset : NULL; }

/* Flush (after host writes) or invalidate (before host reads) n bytes at off of a non-coherent
 * buffer; the range is widened to nonCoherentAtomSize as vkFlushMappedMemoryRanges requires. */
static int sync_host(fv_dev *d, const fv_buf *b, VkDeviceSize off, VkDeviceSize n, int flush) {
    const fv_block *blk = b->block;
    if (blk->coherent || !n) return 0;
    VkDeviceSize atom = d->props.limits.nonCoherentAtomSize ? d->props.limits.nonCoherentAtomSize : 1;
    VkDeviceSize lo = (b->offset + off) / atom * atom, hi = (b->offset + off + n + atom - 1) / atom * atom;
    VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, .memory = blk->memory, .offset = lo,
                             .size = hi >= blk->alloc_size ? VK_WHOLE_SIZE : hi - lo};
    if (flush) {
        d->mem->flushes++;
        VK_CHECK(vkFlushMappedMemoryRanges(d->device, 1, &r));
    } else {
        d->mem->invalidates++;
        VK_CHECK(vkInvalidateMappedMemoryRanges(d->device, 1, &r));
    }
    return 0;
}

int fv_buf_write(fv_dev *d, fv_buf *b, VkDeviceSize off, const void *src, VkDeviceSize n) {
    FV_TRY(check_range(b, off, n));
    if (b->block->kind == FV_MEM_UPLOAD) d->mem->window_direct++;
    if (mapping(b)) {
        memcpy(mapping(b) + off, src, n);
        return sync_host(d, b, off, n, 1);
    }
    FV_TRY(staging(d));
    fv_buf *st = d->mem->staging;
    VkDeviceSize chunk = st->size;
    for (VkDeviceSize done = 0; done < n;) {
        VkDeviceSize k = n - done < chunk ? n - done : chunk;
        memcpy(mapping(st), (const char *)src + done, k);
        FV_TRY(sync_host(d, st, 0, k, 1));
        FV_TRY(once_copy(d, st->buffer, st->offset, b->buffer, b->offset + off + done, k));
        d->mem->staged++;
        done += k;
    }
    return 0;
}

int fv_buf_read(fv_dev *d, fv_buf *b, VkDeviceSize off, void *dst, VkDeviceSize n) {
    FV_TRY(check_range(b, off, n));
    if (b->block->kind == FV_MEM_UPLOAD) d->mem->window_direct++;
    if (mapping(b)) {
        FV_TRY(sync_host(d, b, off, n, 0));
        memcpy(dst, mapping(b) + off, n);
        return 0;
    }
    FV_TRY(staging(d));
    fv_buf *st = d->mem->staging;
    VkDeviceSize chunk = st->size;
    for (VkDeviceSize done = 0; done < n;) {
        VkDeviceSize k = n - done < chunk ? n - done : chunk;
        FV_TRY(once_copy(d, b->buffer, b->offset + off + done, st->buffer, st->offset, k));
        FV_TRY(sync_host(d, st, 0, k, 0));
        memcpy((char *)dst + done, mapping(st), k);
        d->mem->staged++;
        done += k;
    }
    return 0;
}

int fv_buf_fill_u32(fv_dev *d, fv_buf *b, uint32_t pattern) {
    if (mapping(b)) {
        uint32_t *p = (uint32_t *)mapping(b);
        for (VkDeviceSize i = 0; i < b->size / 4; i++) p[i] = pattern;
        return sync_host(d, b, 0, b->size, 1);
    }
    VK_CHECK(vkResetCommandPool(d->device, d->cmd_pool, 0)); /* once_cmd is its only command buffer */
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VK_CHECK(vkBeginCommandBuffer(d->once_cmd, &bi));
    vkCmdFillBuffer(d->once_cmd, b->buffer, b->offset, b->size / 4 * 4, pattern);
    VK_CHECK(vkEndCommandBuffer(d->once_cmd));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &d->once_cmd};
    VK_CHECK(vkResetFences(d->device, 1, &d->once_fence));
    VK_CHECK(vkQueueSubmit(d->queue, 1, &si, d->once_fence));
    VK_CHECK(vkWaitForFences(d->device, 1, &d->once_fence, VK_TRUE, UINT64_MAX));
    return 0;
}

int fv_buf_view(fv_dev *d, fv_buf *b, enum fv_texel_format fmt, VkBufferView *out) {
    static const VkFormat formats[FV_TEXEL_COUNT] = {VK_FORMAT_R32_SFLOAT, VK_FORMAT_R32G32B32A32_SFLOAT,
                                                     VK_FORMAT_R16_SFLOAT, VK_FORMAT_R16G16B16A16_SFLOAT,
                                                     VK_FORMAT_R32_UINT, VK_FORMAT_R32G32B32A32_UINT};
    static const uint32_t texel_bytes[FV_TEXEL_COUNT] = {4, 16, 2, 8, 4, 16};
    if (b->views[fmt]) {
        *out = b->views[fmt];
        return 0;
    }
    VkDeviceSize n = b->size / texel_bytes[fmt];
    if (n > d->props.limits.maxTexelBufferElements)
        return fv_err("%s: %llu texels exceed the device's texel buffer limit of %u", b->what, (unsigned long long)n,
                      d->props.limits.maxTexelBufferElements);
    VkBufferViewCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
        .buffer = b->buffer,
        .format = formats[fmt],
        .offset = b->offset,
        .range = n * texel_bytes[fmt],
    };
    VK_CHECK(vkCreateBufferView(d->device, &ci, NULL, &b->views[fmt]));
    *out = b->views[fmt];
    return 0;
}

uint64_t fv_mem_in_use(const fv_dev *d) { return d->mem->in_use; }
uint64_t fv_mem_peak(const fv_dev *d) { return d->mem->peak; }

void fv_mem_trim(fv_dev *d) {
    for (fv_block *b = d->mem->blocks, *next; b; b = next) {
        next = b->next;
        if (b->live == 0) drop_block(d, b);
    }
}
void fv_mem_reset_peak(fv_dev *d) { d->mem->peak = d->mem->in_use; }

void fv_mem_counters(const fv_dev *d, fv_mem_counts *out) {
    const fv_mem *m = d->mem;
    *out = (fv_mem_counts){m->flushes,      m->invalidates, m->staged,        block_bytes(d),
                           m->window_budget, m->window_held, m->window_direct, m->window_fallbacks};
}
