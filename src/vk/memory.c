/* Block sub-allocator; see memory.h. Blocks are 256 MiB (smaller if the heap is small); a
 * request larger than a block gets a block of its own. */
#include "vk/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define ALIGN 256u
#define BLOCK_BYTES (256ull << 20)
#define STAGING_BYTES (64ull << 20)

typedef struct { VkDeviceSize off, size; } range;

struct fv_block {
    VkDeviceMemory memory;
    VkBuffer buffer;
    VkDeviceSize size;
    uint32_t type;
    enum fv_mem_kind kind;
    void *mapped;
    range *free;       /* sorted by offset, coalesced */
    uint32_t nfree, capfree;
    uint32_t live;     /* buffers carved out of it */
    fv_block *next;
};

struct fv_mem {
    fv_block *blocks;
    uint64_t in_use, peak;
    fv_buf *staging;   /* for non-mapped transfers */
};

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
    if (kind == FV_MEM_DEVICE) {
        if (d->uma && find_type(d, bits, DL | HV | HC, 0, type)) return 0;
        if (find_type(d, bits, DL, 0, type)) return 0;
        if (find_type(d, bits, 0, 0, type)) return 0;
    } else {
        if (find_type(d, bits, HV | HC | CA, 0, type)) return 0;
        if (find_type(d, bits, HV | HC, 0, type)) return 0;
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
    int rc = choose_type(d, req.memoryTypeBits, kind, &b->type);
    if (!rc) {
        VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = b->type};
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

int fv_buf_alloc(fv_dev *d, VkDeviceSize size, enum fv_mem_kind kind, const char *what, fv_buf **out) {
    *out = NULL;
    VkDeviceSize asked = size;
    if (size == 0) size = 1;
    size = (size + ALIGN - 1) / ALIGN * ALIGN;
    fv_buf *buf = calloc(1, sizeof *buf);
    if (!buf) return fv_err("out of host memory");
    snprintf(buf->what, sizeof buf->what, "%s", what ? what : "buffer");
    fv_block *b;
    VkDeviceSize off = 0;
    for (b = d->mem->blocks; b; b = b->next)
        if (b->kind == kind && carve(b, size, &off)) break;
    if (!b) {
        VkDeviceSize bs = size > BLOCK_BYTES ? size : BLOCK_BYTES;
        if (kind == FV_MEM_HOST && size <= STAGING_BYTES) bs = STAGING_BYTES;
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
    buf->host = b->mapped ? (char *)b->mapped + off : NULL;
    *out = buf;
    return 0;
}

void fv_buf_free(fv_dev *d, fv_buf *buf) {
    if (!buf) return;
    for (int i = 0; i < FV_TEXEL_COUNT; i++)
        if (buf->views[i]) vkDestroyBufferView(d->device, buf->views[i], NULL);
    fv_block *b = buf->block;
    if (give_back(b, buf->offset, buf->reserved)) fv_warn("%s", fv_last_error());
    if (--b->live == 0 && b->size > BLOCK_BYTES) drop_block(d, b); /* dedicated blocks go right away */
    free(buf);
}

static int once_copy(fv_dev *d, VkBuffer src, VkDeviceSize soff, VkBuffer dst, VkDeviceSize doff, VkDeviceSize n) {
    VK_CHECK(vkResetCommandBuffer(d->once_cmd, 0));
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
    return fv_buf_alloc(d, STAGING_BYTES, FV_MEM_HOST, "staging", &d->mem->staging);
}

int fv_buf_write(fv_dev *d, fv_buf *b, VkDeviceSize off, const void *src, VkDeviceSize n) {
    FV_TRY(check_range(b, off, n));
    if (b->host) {
        memcpy((char *)b->host + off, src, n);
        return 0;
    }
    FV_TRY(staging(d));
    for (VkDeviceSize done = 0; done < n;) {
        VkDeviceSize k = n - done < STAGING_BYTES ? n - done : STAGING_BYTES;
        memcpy(d->mem->staging->host, (const char *)src + done, k);
        FV_TRY(once_copy(d, d->mem->staging->buffer, d->mem->staging->offset, b->buffer, b->offset + off + done, k));
        done += k;
    }
    return 0;
}

int fv_buf_read(fv_dev *d, fv_buf *b, VkDeviceSize off, void *dst, VkDeviceSize n) {
    FV_TRY(check_range(b, off, n));
    if (b->host) {
        memcpy(dst, (const char *)b->host + off, n);
        return 0;
    }
    FV_TRY(staging(d));
    for (VkDeviceSize done = 0; done < n;) {
        VkDeviceSize k = n - done < STAGING_BYTES ? n - done : STAGING_BYTES;
        FV_TRY(once_copy(d, b->buffer, b->offset + off + done, d->mem->staging->buffer, d->mem->staging->offset, k));
        memcpy((char *)dst + done, d->mem->staging->host, k);
        done += k;
    }
    return 0;
}

int fv_buf_fill_u32(fv_dev *d, fv_buf *b, uint32_t pattern) {
    if (b->host) {
        uint32_t *p = b->host;
        for (VkDeviceSize i = 0; i < b->size / 4; i++) p[i] = pattern;
        return 0;
    }
    VK_CHECK(vkResetCommandBuffer(d->once_cmd, 0));
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
void fv_mem_reset_peak(fv_dev *d) { d->mem->peak = d->mem->in_use; }
