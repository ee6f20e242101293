/* HTTP for the server through libmicrohttpd (thread per connection): body collection with a size
 * limit, routing, the API key, OpenAI-style errors, JSON answers, server-sent events for streamed
 * completions, cancelling a job when its client goes away, and one log line per request.
 *
 * A connection's thread blocks while its job runs (MHD allows blocking in thread-per-connection
 * mode), waking on the scheduler's progress signal or every 50 ms to see whether the client has
 * closed its socket (poll for POLLRDHUP / a zero-byte peek): then the job is cancelled and its
 * slot freed at the next step. */
#define _GNU_SOURCE /* POLLRDHUP */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "serve/request.h"
#include "serve/serve.h"

typedef struct conn {
    fv_server *s;
    char *body;
    size_t len, cap;
    int too_big;
    int status;
    double t0;
    char method[8], path[64];
    int fd;
    fv_job *job;
    uint64_t prompt_tokens, completion_tokens;
    /* streaming */
    char *out;          /* bytes ready to send */
    size_t olen, ooff;
    size_t *sent;       /* text bytes sent per sequence */
    char *fin_sent;     /* finish chunk sent per sequence */
    int ended;          /* [DONE] queued */
    char id[40];
    long created;
} conn;

/* ---- small helpers ---- */

static enum MHD_Result send_text(struct MHD_Connection *mc, conn *c, int status, const char *type, const char *text,
                                 const char *retry_after) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (retry_after) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    if (status == 401) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ok = MHD_queue_response(mc, (unsigned)status, r);
    MHD_destroy_response(r);
    c->status = status;
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *mc, conn *c, int status, cJSON *j) {
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) return send_text(mc, c, 500, "application/json", "{\"error\":{\"message\":\"out of memory\"}}", NULL);
    enum MHD_Result ok = send_text(mc, c, status, "application/json", text, NULL);
    free(text);
    return ok;
}

/* OpenAI's error object: {"error": {"message", "type", "param", "code"}}. */
static enum MHD_Result send_error(struct MHD_Connection *mc, conn *c, int status, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *type = status == 401 ? "authentication_error" : status == 404 ? "not_found_error"
                     : status == 503 ? "server_overloaded" : status >= 500 ? "server_error" : "invalid_request_error";
    const char *code = status == 401 ? "invalid_api_key" : status == 413 ? "request_too_large" : status == 405 ? "method_not_allowed" : NULL;
    cJSON *e = cJSON_CreateObject(), *o = cJSON_AddObjectToObject(e, "error");
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNullToObject(o, "param");
    if (code) cJSON_AddStringToObject(o, "code", code);
    else cJSON_AddNullToObject(o, "code");
    char *text = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    enum MHD_Result ok = send_text(mc, c, status, "application/json", text ? text : "{}", status == 503 ? "1" : NULL);
    free(text);
    return ok;
}

/* The client closed its side (or the socket broke). */
static int client_gone(int fd) {
    if (fd < 0) return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return 1;
    char b;
    ssize_t k = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Locked: wait up to 50 ms for progress. */
static void wait_a_little(fv_server *s) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 50 * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->progress, &s->mu, &t);
}

/* Locked: the client left; the scheduler frees the job's slots at its next step. */
static void cancel(fv_server *s, fv_job *j) {
    j->cancelled = 1;
    pthread_cond_signal(&s->work);
}

/* Wait (unlocked on entry and exit) until the job is done; 0, or -1 if the client left. */
static int wait_done(conn *c) {
    fv_server *s = c->s;
    pthread_mutex_lock(&s->mu);
    while (!c->job->done) {
        wait_a_little(s);
        if (!c->job->done && client_gone(c->fd)) {
            cancel(s, c->job);
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Text of sequence q (unlocked: the job is done or the ids are copied). With the stop cut. */
static char *seq_text(fv_server *s, const uint32_t *ids, uint32_t n, long stop_at) {
    char *text = NULL;
    if (!s->tok || flanvk_tokenizer_decode(s->tok, ids, n, &text)) return NULL;
    if (stop_at >= 0 && (size_t)stop_at < strlen(text)) text[stop_at] = 0;
    return text;
}

static cJSON *usage(uint64_t prompt, uint64_t completion) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)completion);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt + completion));
    return u;
}

static const char *finish_name(enum fv_finish f) { return f == FV_FIN_STOP ? "stop" : f == FV_FIN_LENGTH ? "length" : NULL; }

/* ---- completions ---- */

static cJSON *completion_head(conn *c) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", c->id);
    cJSON_AddStringToObject(r, "object", "text_completion");
    cJSON_AddNumberToObject(r, "created", (double)c->created);
    cJSON_AddStringToObject(r, "model", c->s->name);
    return r;
}

static enum MHD_Result completion_answer(struct MHD_Connection *mc, conn *c) {
    fv_job *j = c->job;
    cJSON *r = completion_head(c), *choices = cJSON_AddArrayToObject(r, "choices");
    uint64_t gen = 0;
    for (uint32_t i = 0; i < j->nseq; i++) {
        fv_seq *q = &j->seq[i];
        char *text = seq_text(c->s, q->out, q->n, q->stop_at);
        cJSON *ch = cJSON_CreateObject();
        cJSON_AddStringToObject(ch, "text", text ? text : "");
        cJSON_AddNumberToObject(ch, "index", i);
        cJSON_AddNullToObject(ch, "logprobs");
        cJSON_AddStringToObject(ch, "finish_reason", finish_name(q->finish) ? finish_name(q->finish) : "stop");
        cJSON_AddItemToArray(choices, ch);
        free(text);
        gen += q->n;
    }
    c->completion_tokens = gen;
    cJSON_AddItemToObject(r, "usage", usage(j->prompt_tokens, gen));
    return send_json(mc, c, 200, r);
}

static void out_add(conn *c, const char *data) {
    size_t k = strlen(data);
    if (c->ooff == c->olen) c->ooff = c->olen = 0;
    char *p = realloc(c->out, c->olen + k + 1);
    if (!p) return;
    c->out = p;
    memcpy(c->out + c->olen, data, k + 1);
    c->olen += k;
}

static void sse(conn *c, cJSON *j) {
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) return;
    out_add(c, "data: ");
    out_add(c, text);
    out_add(c, "\n\n");
    free(text);
}

/* Bytes of text that may still change: a trailing partial UTF-8 character, or a suffix that is a
 * proper prefix of a stop string (the stop may complete with the next token). */
static size_t holdback(const fv_job *j, const char *text, size_t n) {
    size_t h = 0;
    for (size_t k = 1; k <= 3 && k <= n; k++) { /* a lead byte whose sequence is not complete */
        unsigned char b = (unsigned char)text[n - k];
        if ((b & 0xC0) == 0x80) continue;
        size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        if (need > k) h = k;
        break;
    }
    for (uint32_t i = 0; i < j->nstop; i++) {
        size_t L = strlen(j->stop[i]);
        for (size_t k = L - 1; k > h && k > 0; k--)
            if (k <= n && !memcmp(text + n - k, j->stop[i], k)) {
                h = k;
                break;
            }
    }
    return h;
}

/* Queue the SSE chunks for whatever the job produced since the last call. Unlocked. */
static void stream_fill(conn *c) {
    fv_server *s = c->s;
    fv_job *j = c->job;
    int all_done = 1;
    for (uint32_t i = 0; i < j->nseq; i++) {
        fv_seq *q = &j->seq[i];
        if (c->fin_sent[i]) continue;
        pthread_mutex_lock(&s->mu);
        uint32_t n = q->n;
        int done = q->done || j->done;
        long stop_at = q->stop_at;
        enum fv_finish fin = q->finish;
        uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        if (ids) memcpy(ids, q->out, n * sizeof *ids);
        pthread_mutex_unlock(&s->mu);
        if (!ids) return;
        char *text = seq_text(s, ids, n, stop_at);
        free(ids);
        size_t len = text ? strlen(text) : 0;
        size_t upto = done ? len : len - holdback(j, text ? text : "", len);
        if (upto > c->sent[i] && text) {
            char save = text[upto];
            text[upto] = 0;
            cJSON *r = completion_head(c), *choices = cJSON_AddArrayToObject(r, "choices"), *ch = cJSON_CreateObject();
            cJSON_AddStringToObject(ch, "text", text + c->sent[i]);
            cJSON_AddNumberToObject(ch, "index", i);
            cJSON_AddNullToObject(ch, "logprobs");
            cJSON_AddNullToObject(ch, "finish_reason");
            cJSON_AddItemToArray(choices, ch);
            sse(c, r);
            text[upto] = save;
            c->sent[i] = upto;
        }
        free(text);
        if (done && !j->failed) {
            cJSON *r = completion_head(c), *choices = cJSON_AddArrayToObject(r, "choices"), *ch = cJSON_CreateObject();
            cJSON_AddStringToObject(ch, "text", "");
            cJSON_AddNumberToObject(ch, "index", i);
            cJSON_AddNullToObject(ch, "logprobs");
            cJSON_AddStringToObject(ch, "finish_reason", finish_name(fin) ? finish_name(fin) : "stop");
            cJSON_AddItemToArray(choices, ch);
            sse(c, r);
            c->fin_sent[i] = 1;
            c->completion_tokens += n;
        } else if (!done) {
            all_done = 0;
        }
    }
    if (all_done && !c->ended) {
        if (j->failed) { /* the stream started with 200: the error goes in an event */
            cJSON *e = cJSON_CreateObject(), *o = cJSON_AddObjectToObject(e, "error");
            cJSON_AddStringToObject(o, "message", j->err);
            cJSON_AddStringToObject(o, "type", "server_error");
            sse(c, e);
            c->status = j->status;
        } else { /* OpenAI's stream_options.include_usage shape: no choices, the usage */
            cJSON *r = completion_head(c);
            cJSON_AddArrayToObject(r, "choices");
            cJSON_AddItemToObject(r, "usage", usage(j->prompt_tokens, c->completion_tokens));
            sse(c, r);
        }
        out_add(c, "data: [DONE]\n\n");
        c->ended = 1;
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    conn *c = cls;
    fv_server *s = c->s;
    for (;;) {
        if (c->ooff < c->olen) {
            size_t k = c->olen - c->ooff < max ? c->olen - c->ooff : max;
            memcpy(buf, c->out + c->ooff, k);
            c->ooff += k;
            return (ssize_t)k;
        }
        if (c->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        stream_fill(c);
        if (c->ooff < c->olen || c->ended) continue;
        pthread_mutex_lock(&s->mu);
        if (!c->job->done) wait_a_little(s);
        int gone = client_gone(c->fd);
        if (gone) cancel(s, c->job);
        pthread_mutex_unlock(&s->mu);
        if (gone) {
            c->status = 499;
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

/* ---- endpoints ---- */

static int authorized(struct MHD_Connection *mc, fv_server *s) {
    if (!s->o.api_key || !*s->o.api_key) return 1;
    const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    /* compare every byte whatever the first difference (no early exit to time) */
    const char *a = h + 7, *b = s->o.api_key;
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la != lb);
    for (size_t i = 0; i < la && i < lb; i++) diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

/* Submit and, unless streaming, wait and answer. */
static enum MHD_Result run_job(struct MHD_Connection *mc, conn *c, fv_job *j, int stream) {
    fv_server *s = c->s;
    c->job = j;
    c->prompt_tokens = j->prompt_tokens;
    snprintf(c->id, sizeof c->id, "cmpl-%llu", (unsigned long long)__atomic_add_fetch(&s->next_id, 1, __ATOMIC_RELAXED));
    c->created = (long)time(NULL);
    int rc = fv_sched_submit(s, j);
    if (rc) return send_error(mc, c, 503, s->stopping ? "the server is shutting down" : "the queue is full (%u requests waiting); retry later", s->o.max_queue);
    fv_metrics_tokens(&s->metrics, j->prompt_tokens, 0);
    if (stream) {
        c->sent = calloc(j->nseq, sizeof *c->sent);
        c->fin_sent = calloc(j->nseq, 1);
        if (!c->sent || !c->fin_sent) return send_error(mc, c, 500, "out of memory");
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, c, NULL);
        if (!r) return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        enum MHD_Result ok = MHD_queue_response(mc, 200, r);
        MHD_destroy_response(r);
        c->status = 200;
        return ok;
    }
    if (wait_done(c)) {
        c->status = 499;
        return MHD_NO; /* nobody to answer: close */
    }
    if (j->failed) return send_error(mc, c, j->status, "%s", j->err);
    if (j->kind == FV_JOB_SCORE) {
        cJSON *r = cJSON_CreateObject(), *lp = cJSON_AddArrayToObject(r, "logprobs");
        uint32_t best = 0;
        for (uint32_t i = 0; i < j->nscore; i++) {
            cJSON_AddItemToArray(lp, cJSON_CreateNumber(j->logprob[i]));
            if (j->logprob[i] > j->logprob[best]) best = i;
        }
        cJSON_AddNumberToObject(r, "best", best);
        cJSON_AddItemToObject(r, "usage", usage(j->prompt_tokens, 0));
        return send_json(mc, c, 200, r);
    }
    if (!strcmp(c->path, "/generate")) {
        fv_seq *q = &j->seq[0];
        cJSON *r = cJSON_CreateObject();
        char *text = seq_text(s, q->out, q->n, -1);
        if (text) cJSON_AddStringToObject(r, "output", text);
        free(text);
        cJSON *ids = cJSON_AddArrayToObject(r, "output_ids");
        for (uint32_t i = 0; i < q->n; i++) cJSON_AddItemToArray(ids, cJSON_CreateNumber(q->out[i]));
        cJSON_AddStringToObject(r, "finish_reason", finish_name(q->finish) ? finish_name(q->finish) : "stop");
        cJSON_AddItemToObject(r, "usage", usage(j->prompt_tokens, q->n));
        c->completion_tokens = q->n;
        return send_json(mc, c, 200, r);
    }
    return completion_answer(mc, c);
}

static enum MHD_Result tokenize(struct MHD_Connection *mc, conn *c, const cJSON *body) {
    fv_server *s = c->s;
    uint32_t *ids = NULL;
    size_t n = 0;
    char err[512];
    int rc = fv_req_tokenize(s, body, &ids, &n, err, sizeof err);
    if (rc) return send_error(mc, c, rc, "%s", err);
    cJSON *r = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(r, "ids");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    cJSON_AddNumberToObject(r, "count", (double)n);
    cJSON_AddNumberToObject(r, "max_prompt_tokens", s->Te);
    free(ids);
    return send_json(mc, c, 200, r);
}

static enum MHD_Result detokenize(struct MHD_Connection *mc, conn *c, const cJSON *body) {
    char *text = NULL, err[512] = "";
    int rc = fv_req_detokenize(c->s, body, &text, err, sizeof err);
    if (rc) return send_error(mc, c, rc, "%s", rc == 500 && !*err ? "out of memory" : err);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "text", text);
    free(text);
    return send_json(mc, c, 200, r);
}

static enum MHD_Result route(struct MHD_Connection *mc, conn *c) {
    fv_server *s = c->s;
    const char *p = c->path;
    int get = !strcmp(c->method, "GET"), post = !strcmp(c->method, "POST");
    static const char *gets[] = {"/health", "/v1/models", "/metrics", NULL};
    static const char *posts[] = {"/v1/completions", "/generate", "/score", "/tokenize", "/detokenize", NULL};
    int is_get = 0, is_post = 0;
    for (int i = 0; gets[i]; i++) is_get |= !strcmp(p, gets[i]);
    for (int i = 0; posts[i]; i++) is_post |= !strcmp(p, posts[i]);
    if (!is_get && !is_post) return send_error(mc, c, 404, "no endpoint %s %s", c->method, p);
    if ((is_get && !get) || (is_post && !post))
        return send_error(mc, c, 405, "%s takes %s, not %s", p, is_get ? "GET" : "POST", c->method);
    if (!strcmp(p, "/health")) {
        pthread_mutex_lock(&s->mu);
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->mu);
        return send_text(mc, c, stopping ? 503 : 200, "application/json",
                         stopping ? "{\"status\":\"stopping\"}" : "{\"status\":\"ok\"}", NULL);
    }
    if (!authorized(mc, s)) return send_error(mc, c, 401, "missing or wrong API key (send \"Authorization: Bearer KEY\")");
    if (!strcmp(p, "/metrics")) {
        char *text = fv_metrics_text(&s->metrics);
        if (!text) return send_error(mc, c, 500, "out of memory");
        enum MHD_Result ok = send_text(mc, c, 200, "text/plain; version=0.0.4", text, NULL);
        free(text);
        return ok;
    }
    if (!strcmp(p, "/v1/models")) {
        cJSON *r = cJSON_CreateObject(), *d = cJSON_AddArrayToObject(r, "data"), *m = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "object", "list");
        cJSON_AddStringToObject(m, "id", s->name);
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddNumberToObject(m, "created", 0);
        cJSON_AddStringToObject(m, "owned_by", "flanvk");
        cJSON_AddNumberToObject(m, "max_prompt_tokens", s->Te);
        cJSON_AddNumberToObject(m, "max_new_tokens_limit", s->tmax);
        cJSON_AddItemToArray(d, m);
        return send_json(mc, c, 200, r);
    }
    if (c->too_big) return send_error(mc, c, 413, "the request body is larger than %zu bytes", s->o.max_body_bytes);
    cJSON *body = c->body ? cJSON_ParseWithLength(c->body, c->len) : NULL;
    if (!body) return send_error(mc, c, 400, "the body is not valid JSON");
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        return send_error(mc, c, 400, "the body must be a JSON object");
    }
    char err[512] = "";
    enum MHD_Result ok;
    fv_job *j = NULL;
    int stream = 0, rc;
    if (!strcmp(p, "/tokenize")) ok = tokenize(mc, c, body);
    else if (!strcmp(p, "/detokenize")) ok = detokenize(mc, c, body);
    else {
        rc = !strcmp(p, "/v1/completions") ? fv_req_completions(s, body, &j, &stream, err, sizeof err)
           : !strcmp(p, "/generate")       ? fv_req_generate(s, body, &j, err, sizeof err)
                                           : fv_req_score(s, body, &j, err, sizeof err);
        if (rc) ok = send_error(mc, c, rc, "%s", rc == 500 && !*err ? "out of memory" : err);
        else ok = run_job(mc, c, j, stream);
    }
    cJSON_Delete(body);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **ctx) {
    (void)version;
    fv_server *s = cls;
    conn *c = *ctx;
    if (!c) { /* first call: the headers are in */
        c = calloc(1, sizeof *c);
        if (!c) return MHD_NO;
        c->s = s;
        c->t0 = fv_serve_now();
        c->status = 500;
        snprintf(c->method, sizeof c->method, "%s", method);
        snprintf(c->path, sizeof c->path, "%s", url);
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        c->fd = ci ? ci->connect_fd : -1;
        *ctx = c;
        return MHD_YES;
    }
    if (*upload_size) { /* body bytes: keep them up to the limit, then only count */
        if (!c->too_big && c->len + *upload_size > s->o.max_body_bytes) {
            c->too_big = 1;
            free(c->body);
            c->body = NULL;
            c->len = c->cap = 0;
        }
        if (!c->too_big) {
            if (c->len + *upload_size + 1 > c->cap) {
                size_t cap = (c->len + *upload_size + 1) * 2;
                char *b = realloc(c->body, cap);
                if (!b) return MHD_NO;
                c->body = b;
                c->cap = cap;
            }
            memcpy(c->body + c->len, upload, *upload_size);
            c->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return route(mc, c);
}

static void on_done(void *cls, struct MHD_Connection *mc, void **ctx, enum MHD_RequestTerminationCode why) {
    (void)mc;
    fv_server *s = cls;
    conn *c = *ctx;
    if (!c) return;
    double dt = fv_serve_now() - c->t0;
    if (why != MHD_REQUEST_TERMINATED_COMPLETED_OK && c->status < 400) c->status = 499; /* the client left */
    if (c->job) {
        pthread_mutex_lock(&s->mu);
        if (!c->job->done) cancel(s, c->job);
        fv_job_unref(c->job);
        pthread_mutex_unlock(&s->mu);
    }
    fv_metrics_request(&s->metrics, c->path, c->status, dt);
    if (!s->o.quiet)
        fprintf(stderr, "serve: %s %s %d %.3fs prompt_tokens=%llu completion_tokens=%llu\n", c->method, c->path, c->status,
                dt, (unsigned long long)c->prompt_tokens, (unsigned long long)c->completion_tokens);
    free(c->body);
    free(c->out);
    free(c->sent);
    free(c->fin_sent);
    free(c);
    *ctx = NULL;
}

int fv_http_start(fv_server *s) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(s->o.port);
    if (inet_pton(AF_INET, s->o.host, &addr.sin_addr) != 1)
        return fv_err("serve: --host '%s' is not an IPv4 address (e.g. 127.0.0.1 or 0.0.0.0)", s->o.host);
    s->http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                                   MHD_USE_POLL,
                               s->o.port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                               MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)(s->o.max_queue + s->R + 64), MHD_OPTION_END);
    if (!s->http) return fv_err("serve: cannot listen on %s:%u (in use, or not allowed)", s->o.host, s->o.port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->http, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->o.port;
    return 0;
}

void fv_http_quiesce(fv_server *s) {
    if (!s->http) return;
    MHD_socket fd = MHD_quiesce_daemon(s->http); /* ours to close: new connections are refused */
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void fv_http_stop(fv_server *s) {
    if (s->http) MHD_stop_daemon(s->http);
    s->http = NULL;
}
