/* `flanvk bench generate`: encoder and decoder throughput of greedy generation, time to the first
 * token and peak device memory, per batch size.
 *
 * Setup (the issue's): each row is a prompt of prompt_len tokens (deterministic pseudo-random ids
 * ending in </s>); prefill encodes them and fills the cross-attention caches; then the recorded
 * decode step (fv_t5_dec_step) is replayed new_tokens times, the host taking the argmax of each
 * row's logits as the next token, for a fixed number of steps (never stopping at </s>, so random
 * weights measure the same work as trained ones).
 *
 * encoder tokens/s = rows * prompt_len / prefill time (prefill includes the batch upload and the
 * cross-attention K|V projections of every decoder layer); first token = prefill + step 0 + its
 * argmax; decoder tokens/s = rows * (steps after the first) / their time, each step including the
 * upload of its inputs, the replay and the logits read-back. Best of BENCH_GEN_REPS runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_model.h"
#include "model/t5_decode.h"

enum { BENCH_GEN_REPS = 2, BENCH_GRAPH_REPLAYS = 30 };

static int run_batch(fv_t5 *m, uint32_t R, const fv_bench_gen_opts *o, fv_bench_gen_result *res) {
    const uint32_t Te = o->prompt_len, steps = o->new_tokens, V = (uint32_t)m->cfg.vocab_size;
    fv_dev *d = m->d;
    memset(res, 0, sizeof *res);
    res->batch = R;
    fv_mem_reset_peak(d);
    d->max_submit_ms = 0;
    fv_t5_dec *s = NULL;
    uint32_t *ids = malloc((size_t)R * Te * sizeof *ids), *tok = malloc(R * sizeof *tok);
    const uint32_t **rows = malloc(R * sizeof *rows);
    uint32_t *lens = malloc(R * sizeof *lens);
    float *logits = malloc((size_t)R * V * sizeof *logits);
    int rc = (!ids || !tok || !rows || !lens || !logits) ? fv_err("bench generate: out of host memory") : 0;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint32_t r = 0; !rc && r < R; r++) {
        for (uint32_t t = 0; t < Te; t++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            ids[(size_t)r * Te + t] = t + 1 == Te ? (uint32_t)m->cfg.eos_token_id : 3 + (uint32_t)((x >> 33) % (V - 200));
        }
        rows[r] = ids + (size_t)r * Te;
        lens[r] = Te;
    }
    if (!rc) rc = fv_t5_dec_create(m, R, Te, steps + 1, 0, &s);
    double best_prefill = 1e30, best_first = 1e30, best_decode = 1e30;
    for (int rep = 0; !rc && rep <= BENCH_GEN_REPS; rep++) { /* rep 0 is a warm-up */
        double t0 = fv_bench_now();
        rc = fv_t5_dec_prefill(s, rows, lens);
        double t1 = fv_bench_now();
        for (uint32_t r = 0; r < R; r++) tok[r] = (uint32_t)m->cfg.decoder_start_token_id;
        if (!rc) rc = fv_t5_dec_step(s, 0, tok, NULL, logits);
        for (uint32_t r = 0; !rc && r < R; r++) tok[r] = fv_t5_argmax(logits + (size_t)r * V, V);
        double t2 = fv_bench_now();
        for (uint32_t k = 1; !rc && k < steps; k++) {
            rc = fv_t5_dec_step(s, k, tok, NULL, logits);
            for (uint32_t r = 0; !rc && r < R; r++) tok[r] = fv_t5_argmax(logits + (size_t)r * V, V);
        }
        double t3 = fv_bench_now();
        if (rc || rep == 0) continue;
        if (t1 - t0 < best_prefill) best_prefill = t1 - t0;
        if (t2 - t0 < best_first) best_first = t2 - t0;
        if (t3 - t2 < best_decode) best_decode = t3 - t2;
    }
    if (!rc) {
        res->encoder_tokens_per_s = (double)R * Te / best_prefill;
        res->decoder_tokens_per_s = steps > 1 ? (double)R * (steps - 1) / best_decode : 0;
        res->first_token_ms = best_first * 1e3;
        res->ms_per_step = steps > 1 ? best_decode * 1e3 / (steps - 1) : 0;
        res->ms_prefill = best_prefill * 1e3;
        res->peak_device_bytes = fv_mem_peak(d);
        res->max_submit_ms = d->max_submit_ms;
    }
    /* --profile: the step's recorded graph replayed alone (the last step's inputs), against which
     * the steps above show the host's share and the machine's jitter (their mean vs the best) */
    double sum = 0;
    res->graph_best_ms = 1e30;
    for (int i = 0; !rc && o->profile && i < BENCH_GRAPH_REPLAYS; i++) {
        double t0 = fv_bench_now();
        rc = fv_graph_run(fv_t5_dec_step_graph(s));
        double t = (fv_bench_now() - t0) * 1e3;
        sum += t;
        if (t < res->graph_best_ms) res->graph_best_ms = t;
    }
    res->graph_mean_ms = o->profile ? sum / BENCH_GRAPH_REPLAYS : 0;
    if (!o->profile) res->graph_best_ms = 0;
    fv_t5_dec_free(s);
    free(ids);
    free(tok);
    free(rows);
    free(lens);
    free(logits);
    return rc;
}

/* The storage types of a --weights list ("f32,q8", "all"); NULL: the checkpoint's own. */
static int weight_list(const char *list, int *types, int *n) {
    *n = 0;
    if (!list || !*list) {
        types[(*n)++] = FV_T5_WTYPE_FILE;
        return 0;
    }
    if (!strcmp(list, "all")) {
        for (int t = FV_WT_F32; t <= FV_WT_Q8; t++) types[(*n)++] = t;
        return 0;
    }
    for (const char *p = list; *p;) {
        char tok[16];
        size_t k = strcspn(p, ",");
        snprintf(tok, sizeof tok, "%.*s", (int)(k < 15 ? k : 15), p);
        enum fv_wtype t;
        if (*n == 8) return fv_err("bench generate: --weights lists more than 8 types");
        FV_TRY(fv_wtype_parse(tok, &t));
        types[(*n)++] = (int)t;
        p += k + (p[k] == ',');
    }
    return *n ? 0 : fv_err("bench generate: --weights '%s' names no type", list);
}

static int bench_one(fv_dev *d, const fv_bench_gen_opts *opt, int wtype, const uint32_t *batches, uint32_t nb, FILE *f,
                     int json) {
    fv_mem_trim(d); /* the previous type's blocks: each type's peak is its own */
    fv_mem_reset_peak(d);
    fv_t5 *m = NULL;
    FV_TRY(fv_bench_model_open_typed(d, opt->model_dir, opt->config, &wtype, &m));
    int rc = fv_t5_set_kv_cache(m, opt->kv_cache);
    const char *model = opt->model_dir ? opt->model_dir : opt->config, *kv = m->kv_f16 ? "f16" : "f32";
    if (!rc && !json)
        fprintf(f, "device: %s\nmodel: %s, %.1fM parameters, weights %s (%.1f MiB), KV cache %s; %u-token prompts, "
                   "greedy, %u decode steps\n",
                d->info.name, model, m->nvalues / 1e6, fv_wtype_name(m->wtype), m->weight_bytes / 1048576.0, kv,
                opt->prompt_len, opt->new_tokens);
    for (uint32_t i = 0; !rc && i < nb; i++) {
        fv_bench_gen_result r;
        rc = run_batch(m, batches[i], opt, &r);
        if (rc) break;
        if (json)
            fprintf(f,
                    "{\"model\": \"%s\", \"weights\": \"%s\", \"kv_cache\": \"%s\", \"weights_bytes\": %llu, "
                    "\"batch\": %u, \"encoder_tokens_per_s\": %.2f, \"decoder_tokens_per_s\": %.2f, \"first_token_ms\": %.3f, "
                    "\"peak_device_bytes\": %llu, \"max_submit_ms\": %.3f}\n",
                    model, fv_wtype_name(m->wtype), kv, (unsigned long long)m->weight_bytes, r.batch,
                    r.encoder_tokens_per_s, r.decoder_tokens_per_s, r.first_token_ms,
                    (unsigned long long)r.peak_device_bytes, r.max_submit_ms);
        else
            fprintf(f,
                    "%-4s batch %-3u encoder %9.1f tok/s  decoder %8.1f tok/s (%.1f ms/step)  first token %8.1f ms  "
                    "peak device memory %.1f MiB  longest submission %.1f ms\n",
                    fv_wtype_name(m->wtype), r.batch, r.encoder_tokens_per_s, r.decoder_tokens_per_s, r.ms_per_step,
                    r.first_token_ms, r.peak_device_bytes / 1048576.0, r.max_submit_ms);
        fflush(f);
        if (opt->profile)
            rc = fv_bench_profile_decode(m, r.batch, opt->prompt_len, opt->new_tokens + 1, r.ms_per_step, r.ms_prefill,
                                         r.graph_best_ms, r.graph_mean_ms, f, json);
    }
    fv_t5_free(m);
    return rc;
}

int fv_bench_generate(fv_dev *d, const fv_bench_gen_opts *o, FILE *f, int json) {
    fv_bench_gen_opts opt = *o;
    if (!opt.prompt_len) opt.prompt_len = 128;
    if (!opt.new_tokens) opt.new_tokens = 64;
    static const uint32_t default_batches[] = {1, 16};
    const uint32_t *batches = opt.nbatches ? opt.batches : default_batches;
    uint32_t nb = opt.nbatches ? opt.nbatches : 2;
    int types[8], nt;
    FV_TRY(weight_list(opt.weights, types, &nt));
    for (int i = 0; i < nt; i++) FV_TRY(bench_one(d, &opt, types[i], batches, nb, f, json));
    return 0;
}
