/* Bucketed all-reduce of device tensors through host staging (see reduce.h). The spans are seen as
 * one concatenated array of floats; bucket k is floats [k * cap, (k + 1) * cap) of it. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "dist/reduce.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "dist/comm.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Copy floats [first, first + count) of the concatenated spans to host (or back to the device). */
static int copy_range(fv_dev *d, const fv_dist_span *s, size_t n, uint64_t first, uint64_t count, float *host,
                      int to_device) {
    uint64_t base = 0;
    for (size_t i = 0; i < n && count; i++) {
        uint64_t end = base + s[i].count;
        if (first < end) {
            uint64_t in = first - base, take = s[i].count - in < count ? s[i].count - in : count;
            VkDeviceSize off = (s[i].off + in) * 4, bytes = take * 4;
            if (to_device) FV_TRY(fv_buf_write(d, s[i].buf, off, host, bytes));
            else FV_TRY(fv_buf_read(d, s[i].buf, off, host, bytes));
            host += take;
            first += take;
            count -= take;
        }
        base = end;
    }
    return 0;
}

uint64_t fv_dist_bucket_floats(void) {
    const char *e = getenv("FLANVK_DIST_BUCKET_MB");
    double mb = e && *e ? atof(e) : 4.0;
    if (!(mb > 0)) mb = 4.0;
    uint64_t n = (uint64_t)(mb * 1048576.0 / 4);
    return n < 1024 ? 1024 : n;
}

int fv_dist_reduce_bufs(fv_dev *d, const fv_dist_span *spans, size_t n) {
    fv_dist *c = fv_dist_get();
    if (c->size == 1) return 0;
    double t0 = now();
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += spans[i].count;
    uint64_t cap = fv_dist_bucket_floats();
    if (cap > total) cap = total;
    if (!total) return 0;
    float *stage = malloc(2 * cap * sizeof *stage);
    if (!stage) return fv_err("all-reduce: out of host memory for 2 x %.1f MiB of staging", cap * 4 / 1048576.0);
    uint64_t nb = (total + cap - 1) / cap;
    int rc = 0;
    for (uint64_t k = 0; !rc && k <= nb; k++) {
        if (k < nb) {
            uint64_t first = k * cap, cnt = total - first < cap ? total - first : cap;
            float *h = stage + (k % 2) * cap;
            rc = copy_range(d, spans, n, first, cnt, h, 0);
            if (!rc) rc = fv_dist_isum_f32(h, cnt, (int)(k % 2));
        }
        if (!rc && k >= 1) {
            /* bucket k-1 has been on the network while bucket k was copied off the device */
            uint64_t first = (k - 1) * cap, cnt = total - first < cap ? total - first : cap;
            rc = fv_dist_wait((int)((k - 1) % 2));
            if (!rc) rc = copy_range(d, spans, n, first, cnt, stage + ((k - 1) % 2) * cap, 1);
        }
    }
    free(stage);
    c->reduce_bytes += total * 4;
    c->reduce_s += now() - t0;
    c->exposed_s += now() - t0; /* it starts after the step graph: none of it is hidden */
    if (rc) return fv_err_wrap("gradient all-reduce over %d ranks", c->size);
    return 0;
}

int fv_dist_checksum(fv_dev *d, const fv_dist_span *spans, size_t n, uint64_t *out) {
    uint64_t h = 0xcbf29ce484222325ull;
    size_t cap = 1u << 18;
    float *tmp = malloc(cap * sizeof *tmp);
    if (!tmp) return fv_err("checksum: out of host memory");
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        for (uint64_t o = 0; !rc && o < spans[i].count; o += cap) {
            uint64_t take = spans[i].count - o < cap ? spans[i].count - o : cap;
            rc = fv_buf_read(d, spans[i].buf, (spans[i].off + o) * 4, tmp, take * 4);
            const unsigned char *b = (const unsigned char *)tmp;
            for (uint64_t j = 0; !rc && j < take * 4; j++) h = (h ^ b[j]) * 0x100000001b3ull;
        }
    free(tmp);
    *out = h;
    return rc;
}
