/* Public server API (include/flanvk/serve.h) over src/serve/: limits from the model and the
 * device, then the scheduler thread and the HTTP daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "flanvk/serve.h"
#include "model/t5_decode.h"
#include "model/t5_slots.h"
#include "serve/serve.h"

void flanvk_serve_opts_default(flanvk_serve_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->max_batch = 16;
    o->max_queue = 64;
    o->max_new_tokens_limit = 256;
    o->max_body_bytes = 1u << 20;
}

static void server_free(fv_server *s) {
    if (!s) return;
    fv_metrics_destroy(&s->metrics);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->progress);
    free(s);
}

int flanvk_server_start(flanvk_model *m, const flanvk_serve_opts *opts, flanvk_server **out) {
    if (!m || !out) return fv_err("serve: NULL model or output");
    *out = NULL;
    flanvk_serve_opts o;
    if (opts) o = *opts;
    else flanvk_serve_opts_default(&o);
    if (!o.host || !*o.host) o.host = "127.0.0.1";
    if (!o.max_batch || o.max_batch > 256) return fv_err("serve: max_batch %u is outside 1..256", o.max_batch);
    if (!o.max_queue) return fv_err("serve: max_queue must be at least 1");
    if (!o.max_new_tokens_limit || o.max_new_tokens_limit > 4096)
        return fv_err("serve: max_new_tokens_limit %u is outside 1..4096", o.max_new_tokens_limit);
    if (!o.max_body_bytes) o.max_body_bytes = 1u << 20;
    fv_server *s = calloc(1, sizeof *s);
    if (!s) return fv_err("out of host memory");
    s->model = m;
    s->m = fv_api_model_t5(m);
    s->tok = flanvk_model_tokenizer(m);
    s->o = o;
    snprintf(s->name, sizeof s->name, "%s", o.model_name && *o.model_name ? o.model_name : "flanvk");
    flanvk_model_info info;
    flanvk_model_get_info(m, &info);
    /* the prompt limit: the config's n_positions (512 for T5; relative attention has no hard
     * limit, but the model was trained within it), within what one row can take on this device */
    uint32_t Te = s->m->cfg.n_positions > 0 ? (uint32_t)s->m->cfg.n_positions : 512;
    if (info.max_input_tokens && Te > info.max_input_tokens) Te = info.max_input_tokens;
    s->Te = Te;
    s->tmax = o.max_new_tokens_limit;
    s->R = o.max_batch;
    s->vocab = (uint32_t)s->m->cfg.vocab_size;
    /* every buffer within one storage binding: the slots' caches per slot, the encoder's
     * activations (attention probabilities: heads x Te^2 per prompt) per prompt of one prefill */
    uint64_t range = s->m->d->props.limits.maxStorageBufferRange;
    uint64_t slot = fv_t5_slots_row_bytes(s->m, Te, s->tmax), enc = fv_t5_dec_row_bytes(s->m, Te, s->tmax);
    if (slot * s->R > range || enc > range) {
        uint32_t R = s->R;
        free(s);
        return fv_err("serve: %u slots of %u prompt tokens and %u new tokens need %llu-byte buffers, beyond the device's "
                      "storage buffer range of %llu bytes; lower --max-batch (at most %llu) or --max-new-tokens-limit",
                      R, Te, o.max_new_tokens_limit, (unsigned long long)(slot * R), (unsigned long long)range,
                      (unsigned long long)(range / slot));
    }
    s->Rp = range / enc < s->R ? (uint32_t)(range / enc) : s->R;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->progress, NULL);
    fv_metrics_init(&s->metrics, s->R);
    if (fv_sched_start(s)) {
        server_free(s);
        return -1;
    }
    if (fv_http_start(s)) {
        fv_sched_stop(s);
        server_free(s);
        return -1;
    }
    *out = (flanvk_server *)s;
    return 0;
}

uint16_t flanvk_server_port(const flanvk_server *srv) { return srv ? ((const fv_server *)srv)->port : 0; }

void flanvk_server_stop(flanvk_server *srv) {
    fv_server *s = (fv_server *)srv;
    if (!s) return;
    fv_http_quiesce(s); /* no new connections */
    fv_sched_stop(s);   /* running sequences finish, queued ones get 503 */
    fv_http_stop(s);    /* connections answer and close */
    server_free(s);
}
