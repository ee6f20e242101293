/* `flanvk bench ops`: each op at T5 shapes, timed on recorded graphs, reported against the
 * peak measured in the same run. Inputs are filled with small constants: speed does not depend
 * on values here. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "ops/rmsnorm.h"

typedef struct {
    fv_dev *d;
    fv_graph *g;
    fv_bench_out out;
    const char *filter;
} ctx;

static int wanted(const ctx *c, const char *name) { return !c->filter || !*c->filter || strstr(name, c->filter); }

static int alloc_f32(ctx *c, uint64_t n, const char *what, fv_buf **b) {
    FV_TRY(fv_buf_alloc(c->d, n * 4, FV_MEM_DEVICE, what, b));
    return fv_buf_fill_u32(c->d, *b, 0x3c23d70au /* 0.01f */);
}

static int bench_rmsnorm(ctx *c) {
    const uint32_t rows = 4096, dim = 512;
    fv_buf *x = NULL, *w = NULL, *y = NULL;
    int rc = alloc_f32(c, (uint64_t)rows * dim, "x", &x);
    if (!rc) rc = alloc_f32(c, dim, "w", &w);
    if (!rc) rc = alloc_f32(c, (uint64_t)rows * dim, "y", &y);
    if (!rc) rc = fv_graph_begin(c->g);
    if (!rc) rc = fv_rmsnorm(c->g, fv_tensor(x, 0), fv_tensor(w, 0), fv_tensor(y, 0), rows, dim, 1e-6f);
    if (!rc) rc = fv_graph_end(c->g);
    double ms = 0;
    if (!rc) rc = fv_bench_graph_ms(c->g, 5, 0.3, &ms);
    if (!rc) fv_bench_report(&c->out, "rmsnorm", "4096x512", ms, 0, 2.0 * rows * dim * 4 / (ms * 1e6));
    fv_buf_free(c->d, x);
    fv_buf_free(c->d, w);
    fv_buf_free(c->d, y);
    return rc;
}

int fv_bench_ops(fv_dev *d, FILE *f, int json, const char *filter) {
    ctx c = {.d = d, .out = {.f = f, .json = json}, .filter = filter};
    FV_TRY(fv_bench_peak(d, &c.out.peak));
    if (json)
        fprintf(f, "{\"name\": \"peak\", \"device\": \"%s\", \"gflops\": %.3f, \"gbps\": %.3f}\n", d->info.name,
                c.out.peak.gflops, c.out.peak.gbps);
    else
        fprintf(f, "device: %s\npeak: %.1f GFLOP/s multiply-add, %.1f GB/s copy (measured now)\n", d->info.name,
                c.out.peak.gflops, c.out.peak.gbps);
    FV_TRY(fv_graph_create(d, &c.g));
    int rc = 0;
    if (!rc && wanted(&c, "rmsnorm")) rc = bench_rmsnorm(&c);
    fv_graph_destroy(c.g);
    return rc;
}
