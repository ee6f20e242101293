/* Greedy, sampling and beam search on top of the replayed decode step; see t5_generate.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "model/t5_decode.h"
#include "model/t5_generate.h"

static int push(fv_gen_out *o, uint32_t id, uint32_t cap) {
    if (!o->ids) {
        o->ids = malloc((cap ? cap : 1) * sizeof *o->ids);
        if (!o->ids) return fv_err("out of host memory");
    }
    o->ids[o->n++] = id;
    return 0;
}

/* log_softmax in place (float results, double accumulation). */
static void log_softmax(float *x, uint32_t n) {
    float mx = x[fv_t5_argmax(x, n)];
    double s = 0;
    for (uint32_t j = 0; j < n; j++) s += exp((double)x[j] - mx);
    float lse = (float)(mx + log(s));
    for (uint32_t j = 0; j < n; j++) x[j] -= lse;
}

typedef fv_gen_scored scored;

static int by_value_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? 1 : -1;
    return x->i < y->i ? -1 : (x->i > y->i);
}

uint32_t fv_gen_sample(const float *x, uint32_t n, const fv_gen_opts *o, fv_rng *rng, fv_gen_scored *tmp) {
    float t = o->temperature > 0 ? o->temperature : 1.0f;
    for (uint32_t j = 0; j < n; j++) tmp[j] = (scored){x[j] / t, j};
    qsort(tmp, n, sizeof *tmp, by_value_desc);
    uint32_t keep = n;
    if (o->top_k > 0 && o->top_k < keep) keep = o->top_k;
    double mx = tmp[0].v, total = 0;
    for (uint32_t j = 0; j < keep; j++) total += exp(tmp[j].v - mx);
    if (o->top_p < 1.0f) { /* smallest prefix whose probability reaches top_p (at least one token) */
        double cum = 0;
        uint32_t k = 0;
        while (k < keep) {
            cum += exp(tmp[k].v - mx) / total;
            k++;
            if (cum >= o->top_p) break;
        }
        keep = k;
        total = 0;
        for (uint32_t j = 0; j < keep; j++) total += exp(tmp[j].v - mx);
    }
    double u = fv_rng_uniform_d(rng) * total, acc = 0;
    for (uint32_t j = 0; j < keep; j++) {
        acc += exp(tmp[j].v - mx);
        if (u < acc) return tmp[j].i;
    }
    return tmp[keep - 1].i;
}

static int greedy_or_sample(fv_t5 *m, fv_t5_dec *s, uint32_t n, const fv_gen_opts *o, fv_gen_out *out) {
    uint32_t V = (uint32_t)m->cfg.vocab_size, eos = (uint32_t)m->cfg.eos_token_id;
    float *logits = malloc((size_t)n * V * sizeof *logits);
    uint32_t *tok = malloc(n * sizeof *tok);
    char *done = calloc(n, 1);
    scored *tmp = o->do_sample ? malloc(V * sizeof *tmp) : NULL;
    fv_rng rng;
    fv_rng_seed(&rng, o->seed);
    int rc = (!logits || !tok || !done || (o->do_sample && !tmp)) ? fv_err("out of host memory") : 0;
    for (uint32_t r = 0; r < n; r++) tok[r] = (uint32_t)m->cfg.decoder_start_token_id;
    uint32_t open = n;
    for (uint32_t step = 0; !rc && step < o->max_new_tokens && open; step++) {
        rc = fv_t5_dec_step(s, step, tok, NULL, logits);
        for (uint32_t r = 0; !rc && r < n; r++) {
            if (done[r]) {
                tok[r] = (uint32_t)m->cfg.pad_token_id;
                continue;
            }
            float *x = logits + (size_t)r * V;
            uint32_t next = o->do_sample ? fv_gen_sample(x, V, o, &rng, tmp) : fv_t5_argmax(x, V);
            rc = push(&out[r], next, o->max_new_tokens);
            tok[r] = next;
            if (next == eos) {
                done[r] = 1;
                open--;
            }
        }
    }
    free(logits);
    free(tok);
    free(done);
    free(tmp);
    return rc;
}

/* ---- beam search ---------------------------------------------------------------------------- */

typedef struct {
    float score;
    uint32_t *ids; /* generated tokens, without </s> */
    uint32_t n;
    int eos;
} hyp;

typedef struct {
    hyp *h;
    uint32_t n;
    float worst;
    int done;
} hyp_set;

static int hyp_add(hyp_set *set, uint32_t beams, float lp, const uint32_t *ids, uint32_t n, float sum_logprobs,
                   uint32_t generated_len, int eos) {
    float score = sum_logprobs / powf((float)generated_len, lp);
    if (set->n == beams && !(score > set->worst)) return 0;
    uint32_t *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy) return fv_err("out of host memory");
    memcpy(copy, ids, n * sizeof *copy);
    set->h[set->n++] = (hyp){score, copy, n, eos};
    if (set->n > beams) { /* drop the worst; the new worst is the second worst */
        uint32_t w = 0;
        for (uint32_t i = 1; i < set->n; i++)
            if (set->h[i].score < set->h[w].score) w = i;
        free(set->h[w].ids);
        memmove(&set->h[w], &set->h[w + 1], (set->n - w - 1) * sizeof *set->h);
        set->n--;
        set->worst = set->h[0].score;
        for (uint32_t i = 1; i < set->n; i++)
            if (set->h[i].score < set->worst) set->worst = set->h[i].score;
    } else {
        set->worst = set->n == 1 ? score : fminf(score, set->worst);
    }
    return 0;
}

static int hyp_is_done(const hyp_set *set, uint32_t beams, const fv_gen_opts *o, float best_sum, uint32_t cur_len,
                       uint32_t max_len) {
    if (set->n < beams) return 0;
    if (o->early_stopping == 1) return 1;
    float lp = o->length_penalty;
    uint32_t len = (o->early_stopping == 2 && lp > 0) ? max_len : cur_len;
    return set->worst >= best_sum / powf((float)len, lp);
}

static int beam_search(fv_t5 *m, fv_t5_dec *s, uint32_t n, const fv_gen_opts *o, fv_gen_out *out) {
    const uint32_t K = o->num_beams, R = n * K, V = (uint32_t)m->cfg.vocab_size, eos = (uint32_t)m->cfg.eos_token_id;
    const uint32_t T = o->max_new_tokens, cand = 2 * K;
    float *logits = malloc((size_t)R * V * sizeof *logits), *bscore = malloc(R * sizeof *bscore);
    uint32_t *tok = malloc(R * sizeof *tok), *parent = malloc(R * sizeof *parent);
    uint32_t *seq = calloc((size_t)R * (T + 1), sizeof *seq), *nseq = calloc((size_t)R * (T + 1), sizeof *nseq);
    scored *top = malloc((size_t)K * V * sizeof *top);
    hyp_set *sets = calloc(n, sizeof *sets);
    int rc = (!logits || !bscore || !tok || !parent || !seq || !nseq || !top || !sets) ? fv_err("out of host memory") : 0;
    for (uint32_t b = 0; !rc && b < n; b++) {
        sets[b].h = calloc(K + 1, sizeof *sets[b].h);
        sets[b].worst = 1e9f;
        if (!sets[b].h) rc = fv_err("out of host memory");
    }
    for (uint32_t r = 0; r < R; r++) {
        tok[r] = (uint32_t)m->cfg.decoder_start_token_id;
        bscore[r] = (r % K) ? -1e9f : 0.0f;
        parent[r] = r;
    }
    uint32_t len = 0; /* tokens generated so far in every open beam */
    for (uint32_t step = 0; !rc && step < T; step++) {
        rc = fv_t5_dec_step(s, step, tok, step ? parent : NULL, logits);
        if (rc) break;
        uint32_t cur_len = len + 1; /* HF: input length (start + generated) + 1 */
        int all_done = 1;
        for (uint32_t b = 0; b < n; b++) {
            if (sets[b].done) { /* finished batch: keep feeding pad to its rows */
                for (uint32_t k = 0; k < K; k++) {
                    uint32_t r = b * K + k;
                    parent[r] = r;
                    tok[r] = (uint32_t)m->cfg.pad_token_id;
                    memcpy(nseq + (size_t)r * (T + 1), seq + (size_t)r * (T + 1), len * sizeof *seq);
                }
                continue;
            }
            for (uint32_t k = 0; k < K; k++) {
                float *x = logits + (size_t)(b * K + k) * V;
                log_softmax(x, V);
                for (uint32_t j = 0; j < V; j++) top[(size_t)k * V + j] = (scored){x[j] + bscore[b * K + k], k * V + j};
            }
            /* the best 2K of K*V candidates, ties to the lower index as torch.topk on CPU tends to */
            for (uint32_t c = 0; c < cand && c < K * V; c++) {
                uint32_t best = c;
                for (uint32_t j = c + 1; j < K * V; j++)
                    if (top[j].v > top[best].v) best = j;
                scored t = top[c];
                top[c] = top[best];
                top[best] = t;
            }
            uint32_t filled = 0;
            for (uint32_t c = 0; c < cand && filled < K && !rc; c++) {
                uint32_t from = b * K + top[c].i / V, id = top[c].i % V;
                if (id == eos) {
                    if (c >= K) continue;
                    rc = hyp_add(&sets[b], K, o->length_penalty, seq + (size_t)from * (T + 1), len, top[c].v, cur_len, 1);
                    continue;
                }
                uint32_t r = b * K + filled++;
                parent[r] = from;
                tok[r] = id;
                bscore[r] = top[c].v;
                memcpy(nseq + (size_t)r * (T + 1), seq + (size_t)from * (T + 1), len * sizeof *seq);
                nseq[(size_t)r * (T + 1) + len] = id;
            }
            sets[b].done = hyp_is_done(&sets[b], K, o, top[0].v, cur_len, T);
            if (!sets[b].done) all_done = 0;
        }
        uint32_t *swap = seq;
        seq = nseq;
        nseq = swap;
        len++;
        if (all_done) break;
    }
    /* finalize: open beams of unfinished batches become hypotheses, then the best is returned */
    for (uint32_t b = 0; !rc && b < n; b++) {
        if (!sets[b].done)
            for (uint32_t k = 0; k < K && !rc; k++) {
                uint32_t r = b * K + k;
                rc = hyp_add(&sets[b], K, o->length_penalty, seq + (size_t)r * (T + 1), len, bscore[r], len, 0);
            }
        if (rc || !sets[b].n) continue;
        uint32_t best = 0;
        for (uint32_t i = 1; i < sets[b].n; i++)
            if (sets[b].h[i].score >= sets[b].h[best].score) best = i;
        const hyp *h = &sets[b].h[best];
        for (uint32_t i = 0; !rc && i < h->n; i++) rc = push(&out[b], h->ids[i], T + 1);
        if (!rc && h->n < T) rc = push(&out[b], eos, T + 1); /* HF appends </s> when there is room */
    }
    for (uint32_t b = 0; sets && b < n; b++) {
        for (uint32_t i = 0; sets[b].h && i < sets[b].n; i++) free(sets[b].h[i].ids);
        free(sets[b].h);
    }
    free(sets);
    free(logits);
    free(bscore);
    free(tok);
    free(parent);
    free(seq);
    free(nseq);
    free(top);
    return rc;
}

/* n prompts in one decode state. */
static int generate_group(fv_t5 *m, const uint32_t *const *prompts, const uint32_t *lens, uint32_t n, const fv_gen_opts *opts,
                          fv_gen_out *out) {
    fv_gen_opts o = *opts;
    uint32_t K = o.num_beams, Te = 0;
    for (uint32_t i = 0; i < n; i++) Te = lens[i] > Te ? lens[i] : Te;
    const uint32_t **rows = malloc((size_t)n * K * sizeof *rows);
    uint32_t *rlens = malloc((size_t)n * K * sizeof *rlens);
    if (!rows || !rlens) {
        free(rows);
        free(rlens);
        return fv_err("out of host memory");
    }
    for (uint32_t i = 0; i < n * K; i++) {
        rows[i] = prompts[i / K];
        rlens[i] = lens[i / K];
    }
    fv_t5_dec *s;
    int rc = fv_t5_dec_create(m, n * K, Te, o.max_new_tokens, K > 1, &s);
    if (!rc) {
        rc = fv_t5_dec_prefill(s, (const uint32_t *const *)rows, rlens);
        if (!rc) rc = K > 1 ? beam_search(m, s, n, &o, out) : greedy_or_sample(m, s, n, &o, out);
        fv_t5_dec_free(s);
    }
    free(rows);
    free(rlens);
    return rc;
}

int fv_t5_generate(fv_t5 *m, const uint32_t *const *prompts, const uint32_t *lens, uint32_t n, const fv_gen_opts *opts,
                   fv_gen_out *out) {
    fv_gen_opts o = *opts;
    if (!o.max_new_tokens) o.max_new_tokens = 20;
    if (!o.num_beams) o.num_beams = 1;
    if (o.num_beams > 1 && o.do_sample) return fv_err("generate: beam sampling is not supported; use --num-beams 1 with --sample");
    memset(out, 0, n * sizeof *out);
    if (!n) return 0;
    /* Prompts in groups whose decode state has every buffer within the device's storage-buffer
     * range (each row's results do not depend on the others'; sampling draws in another order). */
    uint32_t Te = 0, group = n;
    for (uint32_t i = 0; i < n; i++) Te = lens[i] > Te ? lens[i] : Te;
    uint64_t range = m->d->props.limits.maxStorageBufferRange, row = fv_t5_dec_row_bytes(m, Te, o.max_new_tokens);
    uint64_t fit = range / row / o.num_beams;
    if (fit == 0)
        return fv_err("generate: one prompt of %u tokens with %u beams needs %llu-byte buffers, beyond the device's storage "
                      "buffer range of %llu bytes", Te, o.num_beams, (unsigned long long)(row * o.num_beams),
                      (unsigned long long)range);
    if (fit < group) group = (uint32_t)fit;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < n; i += group)
        rc = generate_group(m, prompts + i, lens + i, n - i < group ? n - i : group, &o, out + i);
    if (rc)
        for (uint32_t i = 0; i < n; i++) {
            free(out[i].ids);
            out[i].ids = NULL;
            out[i].n = 0;
        }
    return rc;
}
