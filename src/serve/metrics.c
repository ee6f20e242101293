/* Prometheus text for the server's counters; see metrics.h. Format: Prometheus "text-based
 * exposition format" 0.0.4 (HELP/TYPE lines, cumulative le buckets, _sum and _count). */
#include "serve/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *endpoints[FV_MET_ENDPOINTS] = {"/v1/completions", "/generate", "/score",  "/tokenize", "/detokenize",
                                                 "/health",         "/v1/models", "/metrics", "other", NULL};
static const int statuses[FV_MET_STATUSES] = {200, 400, 401, 404, 405, 413, 499, 500, 503, 0};
/* seconds: a tiny model's token is ~1 ms, a long answer of a big one is minutes */
static const double bounds[FV_MET_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

void fv_metrics_init(fv_metrics *m, uint32_t slots) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->slots = slots;
}

void fv_metrics_destroy(fv_metrics *m) { pthread_mutex_destroy(&m->mu); }

static void observe(fv_hist *h, double x) {
    int b = 0;
    while (b < FV_MET_BUCKETS && x > bounds[b]) b++;
    h->count[b]++;
    h->sum += x;
    h->n++;
}

void fv_metrics_request(fv_metrics *m, const char *endpoint, int status, double seconds) {
    int e = 0, s = 0;
    while (endpoints[e] && strcmp(endpoints[e], endpoint) && strcmp(endpoints[e], "other")) e++;
    while (statuses[s] && statuses[s] != status) s++;
    if (!statuses[s]) s = FV_MET_STATUSES - 1; /* any other status */
    pthread_mutex_lock(&m->mu);
    m->requests[e][s]++;
    if (!strcmp(endpoints[e], "/v1/completions") || !strcmp(endpoints[e], "/generate") || !strcmp(endpoints[e], "/score"))
        observe(&m->latency, seconds);
    pthread_mutex_unlock(&m->mu);
}

void fv_metrics_ttft(fv_metrics *m, double seconds) {
    pthread_mutex_lock(&m->mu);
    observe(&m->ttft, seconds);
    pthread_mutex_unlock(&m->mu);
}

void fv_metrics_tokens(fv_metrics *m, uint64_t prompt, uint64_t generated) {
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += prompt;
    m->generated_tokens += generated;
    pthread_mutex_unlock(&m->mu);
}

void fv_metrics_step(fv_metrics *m, uint32_t busy, double seconds) {
    pthread_mutex_lock(&m->mu);
    m->steps++;
    m->step_rows += busy;
    m->step_seconds += seconds;
    pthread_mutex_unlock(&m->mu);
}

void fv_metrics_prefill(fv_metrics *m, uint32_t prompts, double seconds) {
    pthread_mutex_lock(&m->mu);
    m->prefills++;
    m->prefill_prompts += prompts;
    m->prefill_seconds += seconds;
    pthread_mutex_unlock(&m->mu);
}

void fv_metrics_gauges(fv_metrics *m, uint32_t queue_depth, uint32_t active) {
    pthread_mutex_lock(&m->mu);
    m->queue_depth = queue_depth;
    m->active = active;
    pthread_mutex_unlock(&m->mu);
}

typedef struct { char *p; size_t n, cap; int oom; } sbuf;

static void put(sbuf *b, const char *fmt, ...) {
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if ((size_t)k < b->cap - b->n) { b->n += (size_t)k; return; }
        size_t cap = (b->cap + (size_t)k + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
}

static void hist(sbuf *b, const char *name, const char *help, const fv_hist *h) {
    put(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < FV_MET_BUCKETS; i++) {
        cum += h->count[i];
        put(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
    }
    cum += h->count[FV_MET_BUCKETS];
    put(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)cum, name, h->sum, name,
        (unsigned long long)h->n);
}

char *fv_metrics_text(fv_metrics *m) {
    sbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.p) return NULL;
    b.p[0] = 0;
    pthread_mutex_lock(&m->mu);
    put(&b, "# HELP flanvk_requests_total HTTP requests answered, by endpoint and status code.\n"
            "# TYPE flanvk_requests_total counter\n");
    for (int e = 0; endpoints[e]; e++)
        for (int s = 0; s < FV_MET_STATUSES; s++)
            if (m->requests[e][s] || (s == 0 && e < 3)) { /* the main endpoints' 200 always shows */
                char st[16];
                if (statuses[s]) snprintf(st, sizeof st, "%d", statuses[s]);
                else snprintf(st, sizeof st, "other");
                put(&b, "flanvk_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n", endpoints[e], st,
                    (unsigned long long)m->requests[e][s]);
            }
    put(&b, "# HELP flanvk_prompt_tokens_total Prompt tokens of generation and scoring requests.\n"
            "# TYPE flanvk_prompt_tokens_total counter\nflanvk_prompt_tokens_total %llu\n",
        (unsigned long long)m->prompt_tokens);
    put(&b, "# HELP flanvk_generated_tokens_total Tokens generated.\n"
            "# TYPE flanvk_generated_tokens_total counter\nflanvk_generated_tokens_total %llu\n",
        (unsigned long long)m->generated_tokens);
    put(&b, "# HELP flanvk_decode_steps_total Decode steps run (each advances every busy slot by one token).\n"
            "# TYPE flanvk_decode_steps_total counter\nflanvk_decode_steps_total %llu\n",
        (unsigned long long)m->steps);
    put(&b, "# HELP flanvk_decode_step_seconds_total Seconds spent in decode steps.\n"
            "# TYPE flanvk_decode_step_seconds_total counter\nflanvk_decode_step_seconds_total %.6f\n", m->step_seconds);
    put(&b, "# HELP flanvk_prefills_total Prefills run (prompts encoded together into free slots).\n"
            "# TYPE flanvk_prefills_total counter\nflanvk_prefills_total %llu\n", (unsigned long long)m->prefills);
    put(&b, "# HELP flanvk_prefill_prompts_total Prompts encoded by prefills.\n"
            "# TYPE flanvk_prefill_prompts_total counter\nflanvk_prefill_prompts_total %llu\n",
        (unsigned long long)m->prefill_prompts);
    put(&b, "# HELP flanvk_prefill_seconds_total Seconds spent in prefills.\n"
            "# TYPE flanvk_prefill_seconds_total counter\nflanvk_prefill_seconds_total %.6f\n", m->prefill_seconds);
    put(&b, "# HELP flanvk_queue_depth Requests waiting for a slot.\n# TYPE flanvk_queue_depth gauge\n"
            "flanvk_queue_depth %u\n", m->queue_depth);
    put(&b, "# HELP flanvk_batch_occupancy Slots of the decode batch holding a sequence.\n"
            "# TYPE flanvk_batch_occupancy gauge\nflanvk_batch_occupancy %u\n", m->active);
    put(&b, "# HELP flanvk_batch_slots Slots of the decode batch (--max-batch).\n# TYPE flanvk_batch_slots gauge\n"
            "flanvk_batch_slots %u\n", m->slots);
    put(&b, "# HELP flanvk_batch_occupancy_mean Mean busy slots per decode step since start.\n"
            "# TYPE flanvk_batch_occupancy_mean gauge\nflanvk_batch_occupancy_mean %.3f\n",
        m->steps ? (double)m->step_rows / (double)m->steps : 0.0);
    hist(&b, "flanvk_time_to_first_token_seconds", "Seconds from a request's arrival to its first generated token.",
         &m->ttft);
    hist(&b, "flanvk_request_duration_seconds", "Seconds from arrival to the answer of generation and scoring requests.",
         &m->latency);
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
