/* Benchmarks: time recorded graphs, measure the device's peak arithmetic and bandwidth in the same
 * run, and report each measurement as a line of text or a JSON object. Speed is measured here,
 * never by timed tests. */
#ifndef FV_BENCH_BENCH_H
#define FV_BENCH_BENCH_H

#include <stdio.h>

#include "vk/device.h"
#include "vk/graph.h"

typedef struct fv_peak {
    double gflops;  /* multiply-add throughput, GFLOP/s */
    double gbps;    /* memory bandwidth, GB/s (best of shader copy and vkCmdCopyBuffer) */
    double fma_ms, copy_ms; /* the runs they come from */
} fv_peak;

/* Milliseconds per run of a recorded graph: the best of repeated runs after one warm-up, running
 * at least min_runs times and for at least min_seconds. */
int fv_bench_graph_ms(fv_graph *g, int min_runs, double min_seconds, double *ms);
/* The same with the warm-up run optional (huge graphs: one timed run, no warm-up). */
int fv_bench_graph_time(fv_graph *g, int warmup, int min_runs, double min_seconds, double *ms);
double fv_bench_now(void); /* seconds, monotonic */

int fv_bench_peak(fv_dev *d, fv_peak *out);

typedef struct fv_bench_out {
    FILE *f;
    int json;
    fv_peak peak;
} fv_bench_out;

/* One result: gflops > 0 prints GFLOP/s and % of peak arithmetic; otherwise gbps vs peak bandwidth. */
void fv_bench_report(fv_bench_out *o, const char *name, const char *shape, double ms, double gflops, double gbps);

/* The peak lines (with json: "peak_fma" and "peak_copy" objects with the keys of every result). */
void fv_bench_print_peak(fv_bench_out *o, const fv_dev *d);

int fv_bench_ops(fv_dev *d, FILE *f, int json, const char *filter);
/* The low-bit linear-layer rows of `bench ops` (bench_wlinear.c). */
int fv_bench_wlinear(fv_dev *d, fv_graph *g, fv_bench_out *o);
/* Decode-step attention with fp32 and fp16 K/V (bench_attn_decode.c). */
int fv_bench_attn_decode(fv_dev *d, fv_graph *g, fv_bench_out *o);

#endif
