/* Device profiles (src/vk/profile.c): the device opened under each profile shows the profile's
 * clamped limits (never above the device's own), its device type and subgroup size, and memory
 * types that really change what the allocator does — staging copies where device memory is not
 * host-visible, flushes and invalidates where host memory is not coherent. Also: an unknown name
 * is an error listing the known ones, FLANVK_MAX_ALLOCATION / FLANVK_MAX_BUFFER_RANGE lower the
 * limits and the allocator's blocks, and pipelines above a limit are refused by name. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "support/unit.h"
#include "vk/device.h"
#include "vk/memory.h"
#include "vk/pipeline.h"
#include "vk/profile.h"
#include "vk/spv_info.h"
#include "vk/spv_registry.h"

static const char *const NAMES[] = {"nvidia", "amd-windows", "intel-windows", "apple", "mobile", "minimum"};

typedef struct {
    uint32_t shared, invocations, subgroup, push, sets;
    uint64_t range, alloc, align, atom;
    const char *type;
    int fp16, int8, storage16;
    int host_visible_device;  /* some device-local type is host-visible */
    int mapped_tensors;       /* tensors (FV_MEM_DEVICE) are mapped, not staged */
    int cached_host, noncoherent_host;
} expect_t;

static uint64_t min64(uint64_t a, uint64_t b) { return a && a < b ? a : b; }
static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static expect_t expected(const char *p, const fv_dev *raw) {
    const VkPhysicalDeviceLimits *l = &raw->props.limits;
    expect_t e = {l->maxComputeSharedMemorySize, l->maxComputeWorkGroupInvocations, raw->info.subgroup_size,
                  l->maxPushConstantsSize, l->maxBoundDescriptorSets, l->maxStorageBufferRange,
                  raw->info.max_allocation_size, l->minStorageBufferOffsetAlignment, l->nonCoherentAtomSize,
                  "discrete", raw->info.fp16, raw->info.int8, raw->info.storage16, 0, 0, 1, 0};
    const uint64_t KiB = 1024, MiB = 1 << 20, GiB = 1ull << 30;
    if (!strcmp(p, "nvidia")) {
        e.shared = min64(48 * KiB, e.shared), e.subgroup = 32, e.align = max64(16, e.align), e.atom = max64(64, e.atom);
    } else if (!strcmp(p, "amd-windows")) {
        e.shared = min64(32 * KiB, e.shared), e.subgroup = 64, e.push = min64(128, e.push);
        e.range = min64(2 * GiB, e.range), e.alloc = min64(2 * GiB, e.alloc), e.atom = max64(128, e.atom);
        e.host_visible_device = 1, e.noncoherent_host = 1;
    } else if (!strcmp(p, "intel-windows")) {
        e.shared = min64(32 * KiB, e.shared), e.subgroup = 32, e.range = min64(GiB, e.range), e.align = max64(64, e.align);
    } else if (!strcmp(p, "apple")) {
        e.shared = min64(32 * KiB, e.shared), e.subgroup = 32, e.sets = min64(8, e.sets), e.type = "integrated";
        e.host_visible_device = e.mapped_tensors = 1;
    } else if (!strcmp(p, "mobile")) {
        e.shared = min64(32 * KiB, e.shared), e.invocations = min64(256, e.invocations), e.subgroup = 16;
        e.sets = min64(4, e.sets), e.push = min64(128, e.push), e.range = min64(128 * MiB, e.range);
        e.type = "integrated", e.fp16 = 0, e.host_visible_device = e.mapped_tensors = 1, e.cached_host = 0;
    } else if (!strcmp(p, "minimum")) {
        e.shared = min64(16 * KiB, e.shared), e.invocations = min64(128, e.invocations), e.sets = min64(4, e.sets);
        e.push = min64(128, e.push), e.range = min64(128 * MiB, e.range), e.alloc = min64(GiB, e.alloc);
        e.align = max64(256, e.align), e.atom = max64(256, e.atom), e.fp16 = e.int8 = e.storage16 = 0, e.cached_host = 0;
    }
    return e;
}

static int open_as(const char *profile, fv_dev **d) {
    if (fv_profile_select(profile)) return -1;
    int rc = fv_dev_open(-1, d);
    if (rc) printf("cannot open the device as '%s': %s\n", profile, fv_last_error());
    return rc;
}

/* A write/read round trip of n bytes at off through fv_buf_write/read. */
static int round_trip(fv_dev *d, fv_buf *b, uint64_t off, uint64_t n) {
    unsigned char *src = malloc(n), *dst = calloc(1, n);
    int ok = src && dst;
    for (uint64_t i = 0; ok && i < n; i++) src[i] = (unsigned char)(i * 131 + 7);
    ok = ok && !fv_buf_write(d, b, off, src, n) && !fv_buf_read(d, b, off, dst, n) && !memcmp(src, dst, n);
    free(src);
    free(dst);
    return ok;
}

/* Small per-step buffers (FV_MEM_UPLOAD): in amd-windows' 256 MiB device-local host-visible
 * window, written and read through the mapping without staging, until the window is full; then
 * device memory through staging. Without a window they are tensors (mapped on unified memory,
 * staged on nvidia and the others). */
static void check_window(const char *p, fv_dev *d, const expect_t *e) {
    int window = !strcmp(p, "amd-windows");
    fv_mem_counts c0, c1;
    fv_mem_counters(d, &c0);
    CHECK((c0.window_budget > 0) == window && c0.window_budget <= (256u << 20), "%s: window budget %llu bytes", p,
          (unsigned long long)c0.window_budget);
    fv_buf *in = NULL;
    CHECK(!fv_buf_alloc(d, 4096, FV_MEM_UPLOAD, "test step input", &in), "%s: %s", p, fv_last_error());
    if (!in) return;
    CHECK(round_trip(d, in, 12, 4000), "%s: step input round trip: %s", p, fv_last_error());
    fv_mem_counters(d, &c1);
    int staged = c1.staged_copies > c0.staged_copies;
    printf("%s: step input %s, %llu staged copies, %llu direct window accesses, window %llu of %llu bytes\n", p,
           in->host ? "mapped" : "not mapped", (unsigned long long)(c1.staged_copies - c0.staged_copies),
           (unsigned long long)(c1.window_direct - c0.window_direct), (unsigned long long)c1.window_bytes,
           (unsigned long long)c1.window_budget);
    if (window)
        CHECK(in->host && !staged && c1.window_direct == c0.window_direct + 2 && c1.window_bytes > c0.window_bytes,
              "%s: a step input lands in the window and is accessed directly", p);
    else
        CHECK(c1.window_bytes == 0 && (e->mapped_tensors ? in->host && !staged : !in->host && staged),
              "%s: without a window a step input is a tensor", p);
    if (window) { /* fill the window with 4 MiB inputs: the one that does not fit falls back */
        enum { MAXN = 80 };
        fv_buf *fill[MAXN] = {0};
        int n = 0, fell = 0;
        for (; n < MAXN && !fell; n++) {
            fv_mem_counts before, after;
            fv_mem_counters(d, &before);
            if (fv_buf_alloc(d, 4u << 20, FV_MEM_UPLOAD, "window filler", &fill[n])) break;
            fv_mem_counters(d, &after);
            fell = after.window_fallbacks > before.window_fallbacks;
        }
        fv_mem_counts c2, c3;
        fv_mem_counters(d, &c2);
        CHECK(fell && c2.window_bytes <= c2.window_budget && c2.window_bytes + (8u << 20) > c2.window_budget,
              "%s: after %d 4 MiB inputs the window holds %llu of %llu bytes and the last fell back", p, n,
              (unsigned long long)c2.window_bytes, (unsigned long long)c2.window_budget);
        fv_buf *last = n > 0 ? fill[n - 1] : NULL;
        CHECK(last && !last->host && round_trip(d, last, 0, 4096), "%s: an input outside the full window goes through staging: %s",
              p, fv_last_error());
        fv_mem_counters(d, &c3);
        CHECK(c3.staged_copies > c2.staged_copies, "%s: the fallback input was staged", p);
        for (int i = 0; i < n; i++) fv_buf_free(d, fill[i]);
        fv_mem_trim(d);
    }
    fv_buf_free(d, in);
}

static void check_profile(const char *p, const fv_dev *raw) {
    fv_dev *d;
    if (open_as(p, &d)) {
        CHECK(0, "open as %s", p);
        return;
    }
    expect_t e = expected(p, raw);
    const VkPhysicalDeviceLimits *l = &d->props.limits, *rl = &raw->props.limits;
    printf("%s: type %s, subgroup %u, shared %u, invocations %u, push %u, range %u, alloc %llu, align %llu, atom %llu, "
           "fp16 %d, %u memory types, uma %d\n", p, d->info.type, d->subgroup_size, d->max_shared,
           l->maxComputeWorkGroupInvocations, l->maxPushConstantsSize, l->maxStorageBufferRange,
           (unsigned long long)d->info.max_allocation_size, (unsigned long long)l->minStorageBufferOffsetAlignment,
           (unsigned long long)l->nonCoherentAtomSize, d->fp16, d->memprops.memoryTypeCount, d->uma);
    CHECK(!strcmp(d->info.profile, p), "%s: info.profile is '%s'", p, d->info.profile);
    CHECK(!strcmp(d->info.type, e.type), "%s: type %s, expected %s", p, d->info.type, e.type);
    CHECK(d->max_shared == e.shared && d->info.max_shared_memory == e.shared, "%s: shared %u, expected %u", p, d->max_shared, e.shared);
    CHECK(l->maxComputeWorkGroupInvocations == e.invocations, "%s: invocations %u", p, l->maxComputeWorkGroupInvocations);
    /* The profile sets the reported size; what kernels use is what the probe measured running
     * (vk/subgroup.h), which differs where the profile reports more lanes than lavapipe runs. */
    CHECK(d->subgroup_reported == e.subgroup, "%s: subgroup %u reported, expected %u", p, d->subgroup_reported, e.subgroup);
    CHECK(d->subgroup_size == d->subgroup_measured, "%s: subgroup %u used, %u measured", p, d->subgroup_size,
          d->subgroup_measured);
    CHECK(l->maxPushConstantsSize == e.push && d->info.max_push_constants == e.push, "%s: push %u", p, l->maxPushConstantsSize);
    CHECK(l->maxBoundDescriptorSets == e.sets, "%s: sets %u", p, l->maxBoundDescriptorSets);
    CHECK(l->maxStorageBufferRange == e.range && d->info.max_storage_buffer_range == e.range, "%s: range %u", p,
          l->maxStorageBufferRange);
    CHECK(d->info.max_allocation_size == e.alloc, "%s: alloc %llu", p, (unsigned long long)d->info.max_allocation_size);
    CHECK(l->minStorageBufferOffsetAlignment == e.align, "%s: align %llu", p, (unsigned long long)l->minStorageBufferOffsetAlignment);
    CHECK(l->nonCoherentAtomSize == e.atom, "%s: atom %llu", p, (unsigned long long)l->nonCoherentAtomSize);
    CHECK(d->info.fp16 == e.fp16 && d->info.int8 == e.int8 && d->info.storage16 == e.storage16, "%s: fp16 %d int8 %d s16 %d",
          p, d->info.fp16, d->info.int8, d->info.storage16);
    CHECK(!d->fp16 || e.fp16, "%s: 16-bit enabled although the profile has none", p);
    /* A clamp only lowers. */
    CHECK(l->maxComputeSharedMemorySize <= rl->maxComputeSharedMemorySize &&
              l->maxComputeWorkGroupInvocations <= rl->maxComputeWorkGroupInvocations &&
              l->maxPerStageDescriptorStorageBuffers <= rl->maxPerStageDescriptorStorageBuffers &&
              l->maxStorageBufferRange <= rl->maxStorageBufferRange && l->maxPushConstantsSize <= rl->maxPushConstantsSize &&
              d->info.max_allocation_size <= raw->info.max_allocation_size,
          "%s: a limit was raised above the device's", p);
    if (!strcmp(p, "apple")) CHECK(l->maxPerStageDescriptorStorageBuffers == (rl->maxPerStageDescriptorStorageBuffers < 31 ? rl->maxPerStageDescriptorStorageBuffers : 31u), "apple: storage buffers per stage %u", l->maxPerStageDescriptorStorageBuffers);
    if (!strcmp(p, "apple") || !strcmp(p, "minimum"))
        CHECK(!(d->subgroup_ops & VK_SUBGROUP_FEATURE_CLUSTERED_BIT), "%s: clustered subgroup ops left on", p);
    if (!strcmp(p, "minimum")) CHECK(!d->info.subgroup_size_control, "minimum: subgroup size control left on");

    /* Memory types as presented, and what the allocator does with them. */
    int dl_hv = 0, cached = 0, noncoherent = 0;
    for (uint32_t i = 0; i < d->memprops.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = d->memprops.memoryTypes[i].propertyFlags;
        uint32_t heap = d->memprops.memoryTypes[i].heapIndex;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
            dl_hv = 1;
            if (!strcmp(p, "amd-windows"))
                CHECK(d->memprops.memoryHeaps[heap].size <= (256u << 20), "amd-windows: the window heap is %llu bytes",
                      (unsigned long long)d->memprops.memoryHeaps[heap].size);
        }
        if (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) cached = 1;
        if ((f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && !(f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) noncoherent = 1;
        CHECK(d->mem_real[i] < VK_MAX_MEMORY_TYPES, "%s: memory type %u has no real type", p, i);
    }
    CHECK(dl_hv == e.host_visible_device, "%s: device-local host-visible type present %d", p, dl_hv);
    CHECK(!(e.cached_host == 0 && !strcmp(p, "mobile")) || !cached, "mobile: a cached type is presented");
    CHECK(noncoherent == e.noncoherent_host, "%s: non-coherent host type present %d", p, noncoherent);

    fv_buf *dev = NULL, *host = NULL;
    CHECK(!fv_buf_alloc(d, (1 << 20) + 12, FV_MEM_DEVICE, "test tensor", &dev), "%s: %s", p, fv_last_error());
    CHECK(!fv_buf_alloc(d, 4096, FV_MEM_HOST, "test host", &host), "%s: %s", p, fv_last_error());
    if (dev && host) {
        CHECK(dev->offset % l->minStorageBufferOffsetAlignment == 0 && host->offset % l->minStorageBufferOffsetAlignment == 0,
              "%s: offsets %llu, %llu not aligned", p, (unsigned long long)dev->offset, (unsigned long long)host->offset);
        fv_mem_counts before, after;
        fv_mem_counters(d, &before);
        CHECK(round_trip(d, dev, 8, (1 << 20) + 4), "%s: device buffer round trip: %s", p, fv_last_error());
        CHECK(round_trip(d, host, 100, 1000), "%s: host buffer round trip: %s", p, fv_last_error());
        fv_mem_counters(d, &after);
        int staged = after.staged_copies > before.staged_copies;
        int flushed = after.flushes > before.flushes && after.invalidates > before.invalidates;
        printf("%s: device buffer host pointer %s, %llu staged copies, %llu flushes, %llu invalidates\n", p,
               dev->host ? "set" : "NULL", (unsigned long long)(after.staged_copies - before.staged_copies),
               (unsigned long long)(after.flushes - before.flushes),
               (unsigned long long)(after.invalidates - before.invalidates));
        if (e.mapped_tensors) {
            CHECK(dev->host && !staged, "%s: unified memory, yet device buffers are staged", p);
        } else {
            CHECK(!dev->host && staged, "%s: device-local memory is not host-visible, yet no staging", p);
        }
        CHECK(flushed == e.noncoherent_host, "%s: flushes/invalidates %d, expected %d", p, flushed, e.noncoherent_host);
        CHECK((host->host != NULL) == !e.noncoherent_host, "%s: host pointer of a %scoherent buffer", p,
              e.noncoherent_host ? "non-" : "");
    }
    fv_buf_free(d, dev);
    fv_buf_free(d, host);
    check_window(p, d, &e);

    /* devices listing shows the same clamp. */
    fv_device_info list[4];
    uint32_t n = 0;
    CHECK(!fv_device_list(list, 4, &n) && n > d->info.index && !strcmp(list[d->info.index].profile, p) &&
              list[d->info.index].max_shared_memory == d->info.max_shared_memory &&
              list[d->info.index].memory_type_count == d->memprops.memoryTypeCount,
          "%s: fv_device_list does not show the profile's clamp", p);
    CHECK(d->validation_messages == 0, "%s: %d validation messages", p, d->validation_messages);
    fv_dev_close(d);
}

static const fv_spv_entry *spv(const char *name) {
    for (const fv_spv_entry *e = fv_spv_registry; e->name; e++)
        if (!strcmp(e->name, name)) return e;
    return NULL;
}

/* Pipelines above a limit are refused with the shader and the limit named. */
static void check_pipeline_limits(void) {
    const fv_spv_entry *e = spv("dropout");
    fv_spv_info si = {{0, 0, 0}, 0, 0};
    uint32_t spec64 = 64;
    /* glslang gives local_size_x_id its own spec constant with default 1 (the shader's WG default
     * of 256 is a second constant sharing SpecId 0), so unspecialized the workgroup is 1x1x1. */
    CHECK(e && !fv_spv_read_info(e->code, *e->size, NULL, 0, &si) && si.local_size[0] == 1 && si.local_size[1] == 1 &&
              si.local_size[2] == 1 && si.shared_bytes == 0,
          "dropout's unspecialized local size read as %ux%ux%u, %llu shared bytes", si.local_size[0], si.local_size[1],
          si.local_size[2], (unsigned long long)si.shared_bytes);
    CHECK(e && !fv_spv_read_info(e->code, *e->size, &spec64, 1, &si) && si.local_size[0] == 64, "dropout with WG=64 read as %u",
          si.local_size[0]);
    /* gemm_tiled: shared As[BK * (BM + 1)], Bs[BK * (BN + 1)] floats, lengths from spec constants. */
    const fv_spv_entry *g = spv("gemm_tiled");
    uint32_t tiles[8] = {256, 64, 64, 16, 4, 4, 0, 0}, expect = 16 * (65 + 65) * 4;
    CHECK(g && !fv_spv_read_info(g->code, *g->size, tiles, 8, &si) && si.shared_bytes == expect && !si.shared_unknown &&
              si.local_size[0] == 256,
          "gemm_tiled 64x64x16: %llu shared bytes (expected %u), workgroup %u", (unsigned long long)si.shared_bytes, expect,
          si.local_size[0]);
    fv_dev *d;
    if (open_as("minimum", &d)) {
        CHECK(0, "open as minimum");
        return;
    }
    fv_pipe_desc desc = {.shader = "dropout", .nbind = 3, .write_mask = 4, .push_size = 32, .nspec = 1, .spec = {256}};
    fv_pipeline *p;
    int rc = fv_pipeline_get(d, &desc, &p);
    CHECK(rc && strstr(fv_last_error(), "dropout") && strstr(fv_last_error(), "maxComputeWorkGroup"),
          "256 invocations under minimum: %s", rc ? fv_last_error() : "accepted");
    desc.spec[0] = 128;
    CHECK(!fv_pipeline_get(d, &desc, &p), "128 invocations under minimum: %s", fv_last_error());
    desc.push_size = 132;
    rc = fv_pipeline_get(d, &desc, &p);
    CHECK(rc && strstr(fv_last_error(), "maxPushConstantsSize"), "132 bytes of push constants: %s",
          rc ? fv_last_error() : "accepted");
    desc.push_size = 32;
    fv_pipe_desc tiled = {.shader = "gemm_tiled", .nbind = 3, .write_mask = 4, .push_size = 4, .nspec = 8,
                          .spec = {64, 128, 128, 16, 16, 16, 0, 0}};
    rc = fv_pipeline_get(d, &tiled, &p);
    CHECK(rc && strstr(fv_last_error(), "maxComputeSharedMemorySize"), "128x128x16 gemm tiles (16.5 KB) under 16 KiB: %s",
          rc ? fv_last_error() : "accepted");
    desc.nbind = d->props.limits.maxPerStageDescriptorStorageBuffers + 1;
    rc = desc.nbind <= FV_MAX_BINDS ? fv_pipeline_get(d, &desc, &p) : -1;
    CHECK(rc && (desc.nbind > FV_MAX_BINDS || strstr(fv_last_error(), "maxPerStageDescriptorStorageBuffers")),
          "%u storage buffers: %s", desc.nbind, rc ? fv_last_error() : "accepted");
    CHECK(d->validation_messages == 0, "minimum: %d validation messages", d->validation_messages);
    fv_dev_close(d);
}

static void check_env_limits(void) {
    setenv("FLANVK_MAX_ALLOCATION", "16777216", 1);
    setenv("FLANVK_MAX_BUFFER_RANGE", "8388608", 1);
    fv_dev *d;
    if (open_as("nvidia", &d)) {
        CHECK(0, "open with FLANVK_MAX_ALLOCATION");
    } else {
        fv_mem_counts c;
        fv_mem_counters(d, &c);
        CHECK(d->info.max_allocation_size == 16u << 20 && c.block_bytes <= 16u << 20, "max allocation %llu, blocks %llu",
              (unsigned long long)d->info.max_allocation_size, (unsigned long long)c.block_bytes);
        CHECK(d->props.limits.maxStorageBufferRange == 8u << 20 && d->info.max_storage_buffer_range == 8u << 20,
              "storage buffer range %u", d->props.limits.maxStorageBufferRange);
        fv_buf *big = NULL, *a = NULL, *b = NULL;
        int rc = fv_buf_alloc(d, 20u << 20, FV_MEM_DEVICE, "too big", &big);
        CHECK(rc && strstr(fv_last_error(), "maxMemoryAllocationSize"), "20 MiB under a 16 MiB limit: %s",
              rc ? fv_last_error() : "accepted");
        /* Two 10 MiB tensors cannot share one 16 MiB block: they must land in two. */
        CHECK(!fv_buf_alloc(d, 10u << 20, FV_MEM_DEVICE, "a", &a) && !fv_buf_alloc(d, 10u << 20, FV_MEM_DEVICE, "b", &b) &&
                  a->block != b->block && round_trip(d, b, 0, 10u << 20),
              "two 10 MiB tensors: %s", fv_last_error());
        fv_buf_free(d, a);
        fv_buf_free(d, b);
        fv_buf_free(d, big);
        CHECK(d->validation_messages == 0, "%d validation messages", d->validation_messages);
        fv_dev_close(d);
    }
    setenv("FLANVK_MAX_ALLOCATION", "lots", 1);
    int rc = open_as("none", &d);
    CHECK(rc && strstr(fv_last_error(), "FLANVK_MAX_ALLOCATION"), "FLANVK_MAX_ALLOCATION=lots: %s",
          rc ? fv_last_error() : "accepted");
    if (!rc) fv_dev_close(d);
    unsetenv("FLANVK_MAX_ALLOCATION");
    unsetenv("FLANVK_MAX_BUFFER_RANGE");
}

int main(void) {
    unsetenv("FLANVK_MAX_ALLOCATION");
    unsetenv("FLANVK_MAX_BUFFER_RANGE");
    int rc = fv_profile_select("no-such-gpu");
    const char *msg = fv_last_error();
    int all = rc != 0 && strstr(msg, "no-such-gpu") != NULL;
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) all = all && strstr(msg, NAMES[i]);
    CHECK(all, "unknown profile: %s", rc ? msg : "accepted");
    setenv("FLANVK_PROFILE", "no-such-gpu", 1);
    fv_dev *d = NULL;
    rc = open_as("", &d);
    CHECK(rc && strstr(fv_last_error(), "known profiles"), "FLANVK_PROFILE=no-such-gpu: %s", rc ? fv_last_error() : "accepted");
    if (!rc) fv_dev_close(d);
    unsetenv("FLANVK_PROFILE");

    fv_dev *raw;
    if (open_as("none", &raw)) return 1;
    CHECK(!strcmp(raw->info.profile, "none"), "no profile: info.profile '%s'", raw->info.profile);
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) check_profile(NAMES[i], raw);
    fv_dev_close(raw);
    check_pipeline_limits();
    check_env_limits();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
