/* flanvk serve: a local HTTP inference server over a loaded model (README "Serving"), with an
 * OpenAI-compatible POST /v1/completions (streamed as server-sent events on request), flanvk's own
 * POST /generate and POST /score, POST /tokenize, POST /detokenize, GET /health, GET /v1/models
 * and GET /metrics (Prometheus text). Requests are decoded together by continuous batching: new
 * prompts are encoded as they arrive and join the running decode batch at the next step; finished
 * sequences leave at once. HTTP is libmicrohttpd's. */
#ifndef FLANVK_SERVE_H
#define FLANVK_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "flanvk/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flanvk_serve_opts {
    const char *host;              /* address to listen on; "127.0.0.1" */
    uint16_t port;                 /* 8080; 0: a free port chosen by the system (flanvk_server_port) */
    uint32_t max_batch;            /* 16: sequences decoded together (decode slots) */
    uint32_t max_queue;            /* 64: requests waiting for a slot before new ones get 503 */
    const char *api_key;           /* NULL: none; else every endpoint but /health needs
                                    * "Authorization: Bearer KEY" (401 without) */
    uint32_t max_new_tokens_limit; /* 256: the largest max_tokens / max_new_tokens a request may ask */
    const char *model_name;        /* the model's id in /v1/models and responses; NULL: "flanvk" */
    size_t max_body_bytes;         /* 1 MiB: larger request bodies get 413 */
    int quiet;                     /* 1: no log line per request */
} flanvk_serve_opts;

void flanvk_serve_opts_default(flanvk_serve_opts *o);

typedef struct flanvk_server flanvk_server;

/* Start listening and serving m (which must outlive the server); returns once the socket is open. */
int flanvk_server_start(flanvk_model *m, const flanvk_serve_opts *o, flanvk_server **out);
/* The port the server listens on. */
uint16_t flanvk_server_port(const flanvk_server *s);
/* Stop accepting connections, finish the sequences being decoded (queued requests are answered
 * 503), close every connection and free s. Not async-signal-safe: call it from a thread (the CLI
 * waits for SIGINT/SIGTERM with sigwait). */
void flanvk_server_stop(flanvk_server *s);

#ifdef __cplusplus
}
#endif

#endif
