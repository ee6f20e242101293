/* Device memory: large VkDeviceMemory blocks, each with one VkBuffer spanning it, sub-allocated
 * first-fit with coalescing frees (never one vkAllocateMemory per tensor). A fv_buf is a range of
 * one block. Texel-buffer views of a fv_buf are made on first use and kept with it.
 *
 * On devices whose device-local memory is host-visible (CPU, integrated), tensors are mapped and
 * written directly; elsewhere fv_buf_write/read go through a host-visible staging block. The
 * memory types are the device profile's (src/vk/profile.h), so a profile can force the staging
 * path and non-coherent host memory on a device that has neither.
 *
 * Small buffers the host writes every step (token ids, positions, masks) or reads back every step
 * (the loss) are FV_MEM_UPLOAD: on a discrete GPU that presents a device-local host-visible type
 * beside its plain device memory (the 256 MiB "BAR" window of AMD's and NVIDIA's drivers), they
 * live in that window and are written and read through the mapping, with no staging copy and no
 * extra submission. The window is shared with the driver and other programs, so flanvk takes
 * small blocks of it, at most the window heap's size in all, and a request that does not fit (or
 * is larger than a window block) falls back to FV_MEM_DEVICE and the staging path. */
#ifndef FV_VK_MEMORY_H
#define FV_VK_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "vk/device.h"

enum fv_mem_kind {
    FV_MEM_DEVICE,   /* tensors: device-local */
    FV_MEM_HOST,     /* host-visible, coherent: uploads, per-step inputs, readback */
    FV_MEM_UPLOAD,   /* small, host-written every step: the device-local host-visible window if any, else FV_MEM_DEVICE */
};

enum fv_texel_format { FV_TEXEL_R32F, FV_TEXEL_RGBA32F, FV_TEXEL_R16F, FV_TEXEL_RGBA16F, FV_TEXEL_R32UI, FV_TEXEL_RGBA32UI,
                       FV_TEXEL_COUNT };

typedef struct fv_block fv_block;

typedef struct fv_buf {
    VkBuffer buffer;       /* the block's buffer */
    VkDeviceSize offset;   /* bytes into it */
    VkDeviceSize size;     /* bytes asked for */
    VkDeviceSize reserved; /* bytes taken from the block (size rounded up) */
    void *host;            /* mapped pointer to this range if host-coherent, else NULL */
    fv_block *block;
    VkBufferView views[FV_TEXEL_COUNT];
    char what[96];         /* label for error messages (HF tensor names and a piece suffix) */
} fv_buf;

int fv_mem_init(fv_dev *d);
void fv_mem_destroy(fv_dev *d);

/* Allocate `size` bytes (rounded up to 256) of the given kind. `what` names it in errors. */
int fv_buf_alloc(fv_dev *d, VkDeviceSize size, enum fv_mem_kind kind, const char *what, fv_buf **out);
void fv_buf_free(fv_dev *d, fv_buf *b);

/* Blocking copies between host memory and a buffer (staged when the buffer is not mapped). */
int fv_buf_write(fv_dev *d, fv_buf *b, VkDeviceSize off, const void *src, VkDeviceSize n);
int fv_buf_read(fv_dev *d, fv_buf *b, VkDeviceSize off, void *dst, VkDeviceSize n);
/* Fill with a 32-bit pattern (e.g. a NaN for tests that must see every element written). */
int fv_buf_fill_u32(fv_dev *d, fv_buf *b, uint32_t pattern);

/* The texel view of the whole buffer in `fmt`, made on first use. */
int fv_buf_view(fv_dev *d, fv_buf *b, enum fv_texel_format fmt, VkBufferView *out);

/* Bytes of device memory held now and at most (blocks, not just live buffers). */
uint64_t fv_mem_in_use(const fv_dev *d);
uint64_t fv_mem_peak(const fv_dev *d);
/* Give back every block no buffer lives in (blocks are otherwise kept for reuse), so that a later
 * peak counts only what is allocated after it: `bench generate` between weight types. */
void fv_mem_trim(fv_dev *d);
void fv_mem_reset_peak(fv_dev *d);

/* What the allocator did, for tests: flushes and invalidates of non-coherent memory, staged
 * copies, and the block size it uses (bounded by maxMemoryAllocationSize). */
typedef struct {
    uint64_t flushes, invalidates, staged_copies, block_bytes;
    /* the device-local host-visible window (FV_MEM_UPLOAD): its budget (0: no window), bytes held
     * in it now, host writes and reads made straight through it, requests that fell back */
    uint64_t window_budget, window_bytes, window_direct, window_fallbacks;
} fv_mem_counts;
void fv_mem_counters(const fv_dev *d, fv_mem_counts *out);

#endif
