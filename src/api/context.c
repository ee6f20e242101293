/* Public API: version, errors, devices, contexts, op checks. */
#include <stdlib.h>

#include "api/context.h"
#include "bench/bench.h"
#include "check/check.h"
#include "vk/memory.h"
#include "vk/profile.h"

const char *flanvk_version(void) { return FLANVK_VERSION; }
const char *flanvk_last_error(void) { return fv_last_error(); }

int flanvk_set_profile(const char *name) { return fv_profile_select(name); }
const char *flanvk_profile_names(void) { return fv_profile_names(); }

int flanvk_list_devices(flanvk_device_info *out, uint32_t max, uint32_t *count) { return fv_device_list(out, max, count); }

int flanvk_default_device(uint32_t *index) {
    flanvk_device_info info[16];
    uint32_t n;
    FV_TRY(fv_device_list(info, 16, &n));
    if (!n) return fv_err("no Vulkan device found; install a driver (Debian: mesa-vulkan-drivers provides lavapipe for the CPU)");
    const char *e = getenv("FLANVK_DEVICE");
    if (e && *e) {
        int i = atoi(e);
        if (i < 0 || (uint32_t)i >= n) return fv_err("FLANVK_DEVICE=%s: there are %u Vulkan devices", e, n);
        *index = (uint32_t)i;
        return 0;
    }
    int best = -1;
    for (uint32_t i = 0; i < n; i++)
        if (info[i].rank > best) {
            best = info[i].rank;
            *index = i;
        }
    return 0;
}

int flanvk_open(int device, flanvk_ctx **out) {
    *out = NULL;
    flanvk_ctx *c = calloc(1, sizeof *c);
    if (!c) return fv_err("out of host memory");
    int rc = fv_dev_open(device, &c->dev);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void flanvk_close(flanvk_ctx *ctx) {
    if (!ctx) return;
    fv_dev_close(ctx->dev);
    fv_check_log_free(&ctx->checks);
    free(ctx);
}

const flanvk_device_info *flanvk_device(const flanvk_ctx *ctx) { return &ctx->dev->info; }
int flanvk_validation_messages(const flanvk_ctx *ctx) { return ctx->dev->validation_messages; }

uint64_t flanvk_device_memory(const flanvk_ctx *ctx, uint64_t *peak) {
    if (peak) *peak = fv_mem_peak(ctx->dev);
    return fv_mem_in_use(ctx->dev);
}

int flanvk_test_ops(flanvk_ctx *ctx, const char *name, FILE *out, int *passed, int *failed) {
    return fv_check_run_all(ctx->dev, name, out, &ctx->checks, passed, failed);
}

const flanvk_op_result *flanvk_op_results(const flanvk_ctx *ctx, size_t *n) {
    *n = ctx->checks.n;
    return ctx->checks.n ? ctx->checks.r : NULL;
}

const char *const *flanvk_op_check_names(void) {
    static const char *names[64];
    int n = 0;
    for (const fv_check_entry *e = fv_check_registry; e->name && n < 63; e++) names[n++] = e->name;
    names[n] = NULL;
    return names;
}

int flanvk_bench_ops(flanvk_ctx *ctx, FILE *out, int json, const char *filter) {
    return fv_bench_ops(ctx->dev, out, json, filter);
}
