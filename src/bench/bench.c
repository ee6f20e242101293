/* Graph timing, the peak microbenchmarks and result reporting; see bench.h. */
#define _POSIX_C_SOURCE 200809L
#include "bench/bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/op.h"

double fv_bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int fv_bench_graph_time(fv_graph *g, int warmup, int min_runs, double min_seconds, double *ms) {
    if (warmup) FV_TRY(fv_graph_run(g)); /* first-use costs (pipeline JIT, page faults) */
    double best = 1e30, start = fv_bench_now();
    for (int i = 0; i < min_runs || fv_bench_now() - start < min_seconds; i++) {
        double t0 = fv_bench_now();
        FV_TRY(fv_graph_run(g));
        double t = fv_bench_now() - t0;
        if (t < best) best = t;
        if (i > 10000) break;
    }
    *ms = best * 1e3;
    return 0;
}

int fv_bench_graph_ms(fv_graph *g, int min_runs, double min_seconds, double *ms) {
    return fv_bench_graph_time(g, 1, min_runs, min_seconds, ms);
}

/* One configuration of the FMA microbenchmark: `chains` independent vec4 chains per invocation,
 * the same FLOPs per invocation (iters * chains is constant) whatever the chain count. */
static int peak_fma_one(fv_dev *d, fv_graph *g, fv_buf *o, uint32_t wg, uint32_t groups, uint32_t chains, double *gflops,
                        double *ms_out) {
    const uint32_t iters = 8192 / chains, dispatches = 4;
    fv_pipe_desc desc;
    fv_op_desc(&desc, "peak_fma", 1, 1, 4);
    desc.nspec = 3;
    desc.spec[0] = wg;
    desc.spec[1] = iters;
    desc.spec[2] = chains;
    fv_pipeline *p;
    float seed = 1.0f;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    FV_TRY(fv_graph_begin(g));
    for (uint32_t k = 0; k < dispatches; k++) FV_TRY(fv_graph_dispatch(g, p, &o, &seed, groups, 1, 1));
    FV_TRY(fv_graph_end(g));
    double ms = 0;
    FV_TRY(fv_bench_graph_ms(g, 3, 0.2, &ms));
    *gflops = (double)dispatches * wg * groups * iters * chains * 4 * 2 / (ms * 1e6);
    *ms_out = ms;
    return 0;
}

/* The best over chain counts and workgroup sizes: the ceiling any kernel could reach on a*b+c. */
static int peak_fma(fv_dev *d, fv_graph *g, double *gflops, double *ms) {
    static const uint32_t chains[] = {2, 3, 4, 5, 6, 8};
    static const uint32_t wgs[] = {64, 256, 1024};
    /* CPUs: enough workgroups for every core; GPUs: enough to fill every compute unit */
    const uint32_t invocations = strcmp(d->info.type, "cpu") ? 1u << 20 : 64 * 256;
    fv_buf *o;
    FV_TRY(fv_buf_alloc(d, (uint64_t)invocations * 16, FV_MEM_DEVICE, "peak output", &o));
    int rc = 0;
    *gflops = 0;
    for (size_t w = 0; !rc && w < sizeof wgs / sizeof wgs[0]; w++)
        for (size_t c = 0; !rc && c < sizeof chains / sizeof chains[0]; c++) {
            if (wgs[w] > d->info.max_workgroup_invocations) continue;
            double gf = 0, t = 0;
            rc = peak_fma_one(d, g, o, wgs[w], invocations / wgs[w], chains[c], &gf, &t);
            if (getenv("FLANVK_BENCH_VERBOSE"))
                fprintf(stderr, "peak_fma wg %u chains %u: %.1f GFLOP/s\n", wgs[w], chains[c], gf);
            if (gf > *gflops) {
                *gflops = gf;
                *ms = t;
            }
        }
    fv_buf_free(d, o);
    return rc;
}

static int peak_copy(fv_dev *d, fv_graph *g, double *gbps, double *ms) {
    const uint64_t bytes = 64ull << 20;
    fv_buf *a, *b;
    FV_TRY(fv_buf_alloc(d, bytes, FV_MEM_DEVICE, "peak source", &a));
    int rc = fv_buf_alloc(d, bytes, FV_MEM_DEVICE, "peak destination", &b);
    if (rc) {
        fv_buf_free(d, a);
        return rc;
    }
    double ms_shader = 1e30, ms_copy = 1e30;
    if (!rc) rc = fv_buf_fill_u32(d, a, 0x3f800000u);
    /* a shader copy through the texel path */
    fv_pipe_desc desc;
    fv_op_desc(&desc, "peak_copy", 2, 2, 4);
    desc.bind_kind[0] = FV_BIND_TEXEL;
    desc.bind_fmt[0] = FV_TEXEL_RGBA32F;
    desc.nspec = 2;
    desc.spec[0] = 64;
    desc.spec[1] = 4;
    fv_pipeline *p;
    uint32_t n = (uint32_t)(bytes / 16);
    fv_buf *bufs[2] = {a, b};
    if (!rc) rc = fv_pipeline_get(d, &desc, &p);
    if (!rc) rc = fv_graph_begin(g);
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up(n, 64 * 4), &gx, &gy);
    if (!rc && gy == 1) rc = fv_graph_dispatch(g, p, bufs, &n, gx, 1, 1);
    if (!rc) rc = fv_graph_end(g);
    if (!rc && gy == 1) rc = fv_bench_graph_ms(g, 3, 0.3, &ms_shader);
    /* the driver's own copy */
    if (!rc) rc = fv_graph_begin(g);
    if (!rc) rc = fv_graph_copy(g, a, 0, b, 0, bytes);
    if (!rc) rc = fv_graph_end(g);
    if (!rc) rc = fv_bench_graph_ms(g, 3, 0.3, &ms_copy);
    fv_buf_free(d, a);
    fv_buf_free(d, b);
    double best = ms_shader < ms_copy ? ms_shader : ms_copy;
    *gbps = 2.0 * bytes / (best * 1e6); /* read + write */
    *ms = best;
    return rc;
}

int fv_bench_peak(fv_dev *d, fv_peak *out) {
    fv_graph *g;
    FV_TRY(fv_graph_create(d, &g));
    int rc = peak_fma(d, g, &out->gflops, &out->fma_ms);
    if (!rc) rc = peak_copy(d, g, &out->gbps, &out->copy_ms);
    fv_graph_destroy(g);
    return rc;
}

void fv_bench_report(fv_bench_out *o, const char *name, const char *shape, double ms, double gflops, double gbps) {
    int arith = gflops > 0;
    double rate = arith ? gflops : gbps, peak = arith ? o->peak.gflops : o->peak.gbps;
    double pct = peak > 0 ? 100.0 * rate / peak : 0;
    if (o->json)
        fprintf(o->f, "{\"name\": \"%s\", \"shape\": \"%s\", \"ms\": %.4f, \"%s\": %.3f, \"pct_peak\": %.2f}\n", name, shape,
                ms, arith ? "gflops" : "gbps", rate, pct);
    else
        fprintf(o->f, "%-12s %-40s %10.3f ms %9.2f %-7s %6.1f%% of peak\n", name, shape, ms, rate,
                arith ? "GFLOP/s" : "GB/s", pct);
    fflush(o->f);
}

void fv_bench_print_peak(fv_bench_out *o, const fv_dev *d) {
    if (o->json) { /* the same keys as every result line; the peak is 100 % of itself */
        fprintf(o->f, "{\"name\": \"peak_fma\", \"shape\": \"vec4 fma chains on %s\", \"ms\": %.4f, \"gflops\": %.3f, "
                      "\"pct_peak\": 100.00}\n", d->info.name, o->peak.fma_ms, o->peak.gflops);
        fprintf(o->f, "{\"name\": \"peak_copy\", \"shape\": \"64 MiB copy on %s\", \"ms\": %.4f, \"gbps\": %.3f, "
                      "\"pct_peak\": 100.00}\n", d->info.name, o->peak.copy_ms, o->peak.gbps);
    } else
        fprintf(o->f, "device: %s\npeak: %.1f GFLOP/s multiply-add, %.1f GB/s copy (measured now)\n", d->info.name,
                o->peak.gflops, o->peak.gbps);
    fflush(o->f);
}
