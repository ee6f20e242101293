/* Server metrics in Prometheus' text exposition format (GET /metrics): requests by endpoint and
 * status, prompt and generated tokens, queue depth, batch occupancy, and histograms of the time
 * to first token and of request latency. Updated from the HTTP threads and the scheduler, so
 * every update takes the metrics' own lock (never the scheduler's). */
#ifndef FV_SERVE_METRICS_H
#define FV_SERVE_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum { FV_MET_ENDPOINTS = 10, FV_MET_STATUSES = 10, FV_MET_BUCKETS = 14 };

typedef struct fv_hist {
    uint64_t count[FV_MET_BUCKETS + 1]; /* per bucket (not cumulative); the last is +Inf */
    double sum;
    uint64_t n;
} fv_hist;

typedef struct fv_metrics {
    pthread_mutex_t mu;
    uint64_t requests[FV_MET_ENDPOINTS][FV_MET_STATUSES];
    uint64_t prompt_tokens, generated_tokens, steps, step_rows, prefills, prefill_prompts;
    double step_seconds, prefill_seconds;
    uint32_t queue_depth, active, slots;
    fv_hist ttft, latency;
} fv_metrics;

void fv_metrics_init(fv_metrics *m, uint32_t slots);
void fv_metrics_destroy(fv_metrics *m);
/* One finished request: endpoint path (unknown ones count as "other"), HTTP status, seconds. */
void fv_metrics_request(fv_metrics *m, const char *endpoint, int status, double seconds);
void fv_metrics_ttft(fv_metrics *m, double seconds);
void fv_metrics_tokens(fv_metrics *m, uint64_t prompt, uint64_t generated);
/* One decode step: rows busy of the slots, its seconds (device step + the host's picks). */
void fv_metrics_step(fv_metrics *m, uint32_t busy, double seconds);
/* One prefill (encoding prompts into slots): prompts encoded together, seconds. */
void fv_metrics_prefill(fv_metrics *m, uint32_t prompts, double seconds);
void fv_metrics_gauges(fv_metrics *m, uint32_t queue_depth, uint32_t active);
/* The exposition text (malloc'd, NUL-terminated); NULL when out of memory. */
char *fv_metrics_text(fv_metrics *m);

#endif
