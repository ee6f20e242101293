/* Data-parallel training, the trainer's side (see data_parallel.h). */
#include "train/data_parallel.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"

/* FNV-1a, 64-bit, over the settings fed to it one field at a time (never a struct's bytes: its
 * padding is not ours to hash). */
typedef struct { uint64_t h; } hasher;
static void hbytes(hasher *s, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) s->h = (s->h ^ b[i]) * 0x100000001b3ull;
}
static void hu64(hasher *s, uint64_t v) { hbytes(s, &v, sizeof v); }
static void hf64(hasher *s, double v) { hbytes(s, &v, sizeof v); }
static void hstr(hasher *s, const char *v) {
    if (v) hbytes(s, v, strlen(v) + 1);
    else hu64(s, 0x6e756c6cull);
}

static int add_spans(const fv_t5_param *p, size_t n, fv_dist_span **out, size_t *count) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += p[i].split ? p[i].split->n : 1;
    fv_dist_span *s = calloc(k ? k : 1, sizeof *s);
    if (!s) return fv_err("out of host memory");
    k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].split) {
            for (uint32_t j = 0; j < p[i].split->n; j++)
                s[k++] = (fv_dist_span){p[i].split->piece[j], 0, p[i].split->piece[j]->size / 4};
        } else {
            /* vectors (norm weights) have cols 0 */
            s[k++] = (fv_dist_span){p[i].buf, p[i].off, (uint64_t)p[i].rows * (p[i].cols ? p[i].cols : 1)};
        }
    }
    *out = s;
    *count = k;
    return 0;
}

int fv_dp_create(fv_dp *dp, const fv_t5_param *params, const fv_t5_param *grads, size_t n) {
    memset(dp, 0, sizeof *dp);
    dp->c = fv_dist_get();
    const char *e = getenv("FLANVK_DIST_CHECK");
    dp->check = e && *e && strcmp(e, "0");
    e = getenv("FLANVK_DIST_OVERLAP");
    dp->overlap = !(e && *e && !strcmp(e, "0"));
    FV_TRY(add_spans(grads, n, &dp->grads, &dp->ngrads));
    return add_spans(params, n, &dp->params, &dp->nparams);
}

void fv_dp_free(fv_dp *dp) {
    fv_dist_overlap_free(dp->ov);
    free(dp->grads);
    free(dp->params);
    memset(dp, 0, sizeof *dp);
}

static uint64_t settings_hash(const fv_train_cfg *c, const fv_t5 *m) {
    hasher s = {0xcbf29ce484222325ull};
    hstr(&s, c->model_dir);
    hstr(&s, c->tokenizer_dir);
    hstr(&s, c->data);
    hstr(&s, c->out);
    hstr(&s, c->resume);
    hstr(&s, c->log_csv);
    hstr(&s, c->eval_data);
    uint64_t u[] = {c->steps, c->batch_size, c->seq_in, c->seq_out, c->accum, c->save_every,
                    (uint64_t)c->grad_checkpointing, (uint64_t)c->mixed_precision, c->seed, c->eval_every,
                    c->eval_batches, (uint64_t)c->keep_best, c->early_stop, c->opt.kind, c->sched.kind,
                    c->sched.warmup, (uint64_t)c->opt.adafactor.use_beta1, (uint64_t)c->opt.adafactor.scale_parameter,
                    (uint64_t)c->opt.adafactor.relative_step, (uint64_t)c->opt.adafactor.warmup_init};
    for (size_t i = 0; i < sizeof u / sizeof *u; i++) hu64(&s, u[i]);
    double f[] = {c->dropout, c->clip, c->sched.lr, c->opt.adamw.lr, c->opt.adamw.beta1, c->opt.adamw.beta2,
                  c->opt.adamw.eps, c->opt.adamw.weight_decay, c->opt.adafactor.lr, c->opt.adafactor.eps1,
                  c->opt.adafactor.eps2, c->opt.adafactor.clip_threshold, c->opt.adafactor.decay_rate,
                  c->opt.adafactor.beta1, c->opt.adafactor.weight_decay};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) hf64(&s, f[i]);
    /* LoRA: the adapters every rank builds must be the same ones */
    hu64(&s, (uint64_t)(int64_t)c->lora_rank);
    hf64(&s, c->lora_alpha);
    hf64(&s, c->lora_dropout);
    hstr(&s, c->lora_targets);
    hstr(&s, c->adapter_dir);
    hu64(&s, (uint64_t)(int64_t)c->weights);
    const fv_t5_config *k = &m->cfg;
    int64_t shape[] = {k->vocab_size, k->d_model, k->d_kv, k->d_ff, k->num_layers, k->num_decoder_layers, k->num_heads,
                       k->relative_attention_num_buckets, k->relative_attention_max_distance, k->is_gated_act,
                       k->act, k->tie_word_embeddings};
    for (size_t i = 0; i < sizeof shape / sizeof *shape; i++) hu64(&s, (uint64_t)shape[i]);
    return s.h;
}

/* The data as the ranks see it: row count, lengths, and up to 64 rows spread over the file (a
 * different file of the same size differs there; hashing all of a large file would take longer
 * than the run's first step). */
static uint64_t data_hash(const fv_train_data *d) {
    hasher s = {0xcbf29ce484222325ull};
    hu64(&s, d->rows);
    hu64(&s, d->L);
    hu64(&s, d->L2);
    uint64_t n = d->rows < 64 ? d->rows : 64;
    for (uint64_t j = 0; j < n; j++) {
        fv_pack_row r = fv_train_data_row(d, j * d->rows / n);
        hbytes(&s, r.enc_ids, (size_t)d->L * 4);
        hbytes(&s, r.enc_seg, (size_t)d->L * 4);
        hbytes(&s, r.dec_tg, (size_t)d->L2 * 4);
        hbytes(&s, r.dec_seg, (size_t)d->L2 * 4);
    }
    return s.h;
}

int fv_dp_check_start(fv_dp *dp, fv_dev *d, const fv_train_cfg *cfg, const fv_t5 *m, const fv_train_data *data) {
    fv_dist *c = dp->c;
    if (c->size == 1) return 0;
    int same;
    FV_TRY(fv_dist_same_u64(settings_hash(cfg, m), &same));
    if (!same)
        return fv_err("the %d ranks were not given the same training flags or model (their settings hashes differ): "
                      "every rank must run the same `flanvk train` command", c->size);
    FV_TRY(fv_dist_same_u64(data_hash(data), &same));
    if (!same)
        return fv_err("%s: the ranks read different data (row count or contents differ): every rank must read "
                      "the same file", data->path);
    uint64_t global = (uint64_t)c->size * cfg->batch_size;
    if (data->rows <= global - cfg->batch_size)
        return fv_err("%s: %llu rows, but %d ranks x --batch-size %u leave rank %d without any: use fewer ranks "
                      "(at most %llu) or a smaller --batch-size", data->path, (unsigned long long)data->rows, c->size,
                      cfg->batch_size, c->size - 1,
                      (unsigned long long)((data->rows + cfg->batch_size - 1) / cfg->batch_size));
    if (dp->check) {
        uint64_t h;
        FV_TRY(fv_dist_checksum(d, dp->params, dp->nparams, &h));
        FV_TRY(fv_dist_same_u64(h, &same));
        if (!same) return fv_err("the ranks start from different weights (FLANVK_DIST_CHECK)");
        fv_info("dist check: start weights identical on %d ranks (checksum %016llx)", c->size, (unsigned long long)h);
    }
    return 0;
}

uint64_t fv_dp_row_of(const fv_dist *c, uint64_t rows, uint32_t b, uint32_t B, uint64_t pos, uint32_t k, uint32_t i,
                      int rank) {
    uint32_t s = b / B, a = k / s, j = k % s;
    uint64_t global = (uint64_t)c->size * b, in_batch = (uint64_t)rank * b + (uint64_t)j * B + i;
    if (rows <= global) return in_batch < rows ? in_batch : UINT64_MAX; /* every step: all rows, then padding */
    return (pos + (uint64_t)a * global + in_batch) % rows;
}

uint64_t fv_dp_step_rows(const fv_dist *c, uint32_t B, uint32_t micro_batches) {
    return (uint64_t)c->size * B * micro_batches;
}

int fv_dp_reduce(fv_dp *dp, fv_dev *d) { return fv_dist_reduce_bufs(d, dp->grads, dp->ngrads); }

int fv_dp_overlap(fv_dp *dp, fv_dev *d, fv_graph *g) {
    if (dp->c->size == 1 || !dp->overlap) return 0;
    fv_dist_overlap_free(dp->ov);
    dp->ov = NULL;
    dp->ov_graph = g;
    return fv_dist_overlap_create(d, g, dp->grads, dp->ngrads, &dp->ov);
}

int fv_dp_run_last(fv_dp *dp, fv_dev *d, fv_graph *g) {
    if (dp->ov && g == dp->ov_graph) return fv_dist_overlap_run(dp->ov);
    FV_TRY(fv_graph_run(g));
    return dp->c->size > 1 ? fv_dp_reduce(dp, d) : 0;
}

int fv_dp_check_params(fv_dp *dp, fv_dev *d, uint32_t step) {
    if (!dp->check) return 0;
    uint64_t h;
    int same;
    FV_TRY(fv_dist_checksum(d, dp->params, dp->nparams, &h));
    FV_TRY(fv_dist_same_u64(h, &same));
    if (!same)
        return fv_err("FLANVK_DIST_CHECK: the parameters differ across the %d ranks after step %u", dp->c->size, step);
    dp->checked++;
    fv_info("dist check: step %u parameters identical on %d ranks (checksum %016llx)", step, dp->c->size,
            (unsigned long long)h);
    return 0;
}
