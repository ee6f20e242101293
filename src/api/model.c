/* Public model API (include/flanvk/model.h) over src/model/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "base/file.h"
#include "flanvk/model.h"
#include "io/safetensors.h"
#include "io/t5_config.h"
#include "io/t5_tensors.h"
#include "io/wfile.h"
#include "io/wpack.h"
#include "model/t5.h"
#include "model/t5_lora.h"
#include "model/t5_generate.h"
#include "model/t5_score.h"
#include "api/model_internal.h"

struct flanvk_model {
    flanvk_ctx *ctx;
    fv_t5 *t5;
    flanvk_tokenizer *tok;
    char dir[512];
    char stored_dtype[8];
};

/* The longest prompt one row can take: its attention probabilities (heads x T x T floats) must
 * fit one storage buffer. */
static uint32_t max_tokens(const fv_dev *d, int heads) {
    uint64_t range = d->props.limits.maxStorageBufferRange / 4 / (uint64_t)heads;
    uint32_t t = 1;
    while ((uint64_t)(t + 1) * (t + 1) <= range) t++;
    return t;
}

static void fill_info(const fv_t5_config *c, flanvk_model_info *o) {
    memset(o, 0, sizeof *o);
    o->vocab_size = c->vocab_size;
    o->d_model = c->d_model;
    o->d_kv = c->d_kv;
    o->d_ff = c->d_ff;
    o->num_layers = c->num_layers;
    o->num_decoder_layers = c->num_decoder_layers;
    o->num_heads = c->num_heads;
    o->relative_attention_num_buckets = c->relative_attention_num_buckets;
    o->relative_attention_max_distance = c->relative_attention_max_distance;
    snprintf(o->feed_forward_proj, sizeof o->feed_forward_proj, "%s", c->feed_forward_proj);
    o->tie_word_embeddings = c->tie_word_embeddings;
    o->layer_norm_epsilon = c->layer_norm_epsilon;
    o->decoder_start_token_id = c->decoder_start_token_id;
    o->eos_token_id = c->eos_token_id;
    o->pad_token_id = c->pad_token_id;
    o->parameters = (uint64_t)fv_t5_param_count(c);
    o->weight_bytes = fv_t5_weight_bytes_of(c, FV_WT_F32);
    snprintf(o->weights, sizeof o->weights, "f32");
}

int flanvk_check_weights_name(const char *weights) {
    enum fv_wtype t;
    return fv_wtype_parse(weights, &t);
}

int flanvk_check_kv_cache_name(const char *kv) {
    if (kv && (!strcmp(kv, "f32") || !strcmp(kv, "f16"))) return 0;
    return fv_err("unknown KV-cache type '%s' (expected f32 or f16)", kv ? kv : "(null)");
}

/* -1 (the checkpoint's own) for NULL or "", else the parsed type. */
static int weights_arg(const char *weights, int *out) {
    *out = FV_T5_WTYPE_FILE;
    if (!weights || !*weights) return 0;
    enum fv_wtype t;
    FV_TRY(fv_wtype_parse(weights, &t));
    *out = (int)t;
    return 0;
}

static int has_tokenizer_files(const char *dir) {
    char p[1024];
    if (!fv_path_join(p, sizeof p, dir, "spiece.model") && fv_file_exists(p)) return 1;
    return !fv_path_join(p, sizeof p, dir, "tokenizer.json") && fv_file_exists(p);
}

static void stored_dtype(const fv_safetensors *st, char *out, size_t n) {
    const char *name = "";
    for (size_t i = 0; i < fv_st_count(st); i++) {
        const char *dn = fv_dtype_name(fv_st_at(st, i)->dtype);
        if (!*name) name = dn;
        else if (strcmp(name, dn)) {
            /* norms kept in F32 beside 16-bit or q8 matrices: name the matrices' storage */
            static const char *dt[4] = {"F32", "F16", "BF16", "q8"};
            enum fv_wtype t;
            name = fv_wfile_default_type(st, &t) ? "mixed" : dt[t];
            break;
        }
    }
    snprintf(out, n, "%s", name);
}

int flanvk_model_inspect(const char *dir, flanvk_model_info *out) { return flanvk_model_inspect_as(dir, NULL, out); }

int flanvk_model_inspect_as(const char *dir, const char *weights, flanvk_model_info *out) {
    fv_t5_config c;
    int wt;
    FV_TRY(weights_arg(weights, &wt));
    FV_TRY(fv_t5_config_load(&c, dir));
    fill_info(&c, out);
    if (wt < 0) {
        enum fv_wtype t;
        FV_TRY(fv_t5_file_wtype(dir, &t));
        wt = (int)t;
    }
    out->weight_bytes = fv_t5_weight_bytes_of(&c, (enum fv_wtype)wt);
    snprintf(out->weights, sizeof out->weights, "%s", fv_wtype_name((enum fv_wtype)wt));
    fv_safetensors *st;
    FV_TRY(fv_st_open(&st, dir));
    stored_dtype(st, out->stored_dtype, sizeof out->stored_dtype); /* first: the check's message is the one kept */
    int rc = fv_t5_check_tensors(&c, st, 0);
    fv_st_close(st);
    out->has_tokenizer = has_tokenizer_files(dir);
    return rc;
}

int flanvk_model_load(flanvk_ctx *ctx, const char *dir, flanvk_progress_fn progress, void *user, flanvk_model **out) {
    return flanvk_model_load_with(ctx, dir, NULL, progress, user, out);
}

int flanvk_model_load_with(flanvk_ctx *ctx, const char *dir, const flanvk_load_opts *opts, flanvk_progress_fn progress,
                           void *user, flanvk_model **out) {
    *out = NULL;
    int wt;
    FV_TRY(weights_arg(opts ? opts->weights : NULL, &wt));
    const char *kv = opts && opts->kv_cache && *opts->kv_cache ? opts->kv_cache : NULL;
    if (kv) FV_TRY(flanvk_check_kv_cache_name(kv));
    flanvk_model *m = calloc(1, sizeof *m);
    if (!m) return fv_err("out of host memory");
    m->ctx = ctx;
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    int rc = fv_t5_load_typed(ctx->dev, dir, &wt, &m->t5, progress, user);
    if (!rc) rc = fv_t5_set_kv_cache(m->t5, kv);
    if (!rc && opts && opts->adapter && *opts->adapter) rc = fv_t5_lora_attach(m->t5, opts->adapter, dir);
    if (!rc && has_tokenizer_files(dir)) rc = flanvk_tokenizer_load(dir, &m->tok);
    if (!rc) {
        fv_safetensors *st;
        if (!fv_st_open(&st, dir)) {
            stored_dtype(st, m->stored_dtype, sizeof m->stored_dtype);
            fv_st_close(st);
        }
    }
    if (rc) {
        flanvk_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void flanvk_model_free(flanvk_model *m) {
    if (!m) return;
    fv_t5_free(m->t5);
    flanvk_tokenizer_free(m->tok);
    free(m);
}

void flanvk_model_get_info(const flanvk_model *m, flanvk_model_info *out) {
    fill_info(&m->t5->cfg, out);
    out->parameters = m->t5->nvalues;
    out->weight_bytes = m->t5->weight_bytes;
    snprintf(out->weights, sizeof out->weights, "%s", fv_wtype_name(m->t5->wtype));
    snprintf(out->kv_cache, sizeof out->kv_cache, "%s", m->t5->kv_f16 ? "f16" : "f32");
    out->has_tokenizer = m->tok != NULL;
    snprintf(out->stored_dtype, sizeof out->stored_dtype, "%s", m->stored_dtype);
    out->max_input_tokens = max_tokens(m->t5->d, m->t5->cfg.num_heads);
}

const flanvk_tokenizer *flanvk_model_tokenizer(const flanvk_model *m) { return m->tok; }

void flanvk_gen_params_default(flanvk_gen_params *p) {
    fv_gen_opts o; /* the generation defaults live in one place (model/gen_opts.c) */
    fv_gen_opts_default(&o);
    memset(p, 0, sizeof *p);
    p->max_new_tokens = o.max_new_tokens;
    p->num_beams = o.num_beams;
    p->length_penalty = o.length_penalty;
    p->temperature = o.temperature;
    p->top_p = o.top_p;
    p->batch_size = 16;
}

static int check_lengths(const flanvk_model *m, const uint32_t *lens, uint32_t n, const char *what) {
    uint32_t limit = max_tokens(m->t5->d, m->t5->cfg.num_heads);
    for (uint32_t i = 0; i < n; i++) {
        if (lens[i] == 0) return fv_err("%s %u is empty", what, i);
        if (lens[i] > limit)
            return fv_err("%s %u has %u tokens: too long for this model on this device (at most %u)", what, i, lens[i], limit);
    }
    return 0;
}

static int check_ids(const flanvk_model *m, const uint32_t *const *ids, const uint32_t *lens, uint32_t n, const char *what) {
    uint32_t V = (uint32_t)m->t5->cfg.vocab_size;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t t = 0; t < lens[i]; t++)
            if (ids[i][t] >= V) return fv_err("%s %u: token id %u is outside the vocabulary (%u)", what, i, ids[i][t], V);
    return 0;
}

int flanvk_generate(flanvk_model *m, const uint32_t *const *prompts, const uint32_t *lens, uint32_t n,
                    const flanvk_gen_params *p, uint32_t **out_ids, uint32_t *out_lens) {
    FV_TRY(check_lengths(m, lens, n, "prompt"));
    FV_TRY(check_ids(m, prompts, lens, n, "prompt"));
    if (p->num_beams > 64) return fv_err("num_beams %u is more than 64", p->num_beams);
    if (p->do_sample && !(p->temperature > 0)) return fv_err("temperature must be > 0 when sampling");
    if (!(p->top_p > 0 && p->top_p <= 1)) return fv_err("top_p must be in (0, 1]");
    fv_gen_opts o = {
        .max_new_tokens = p->max_new_tokens, .num_beams = p->num_beams, .length_penalty = p->length_penalty,
        .early_stopping = p->early_stopping, .do_sample = p->do_sample, .temperature = p->temperature,
        .top_k = p->top_k, .top_p = p->top_p, .seed = p->seed,
    };
    uint32_t bs = p->batch_size ? p->batch_size : 16;
    fv_gen_out *out = calloc(n ? n : 1, sizeof *out);
    if (!out) return fv_err("out of host memory");
    int rc = 0;
    for (uint32_t i = 0; !rc && i < n; i += bs) {
        uint32_t k = n - i < bs ? n - i : bs;
        o.seed = p->seed + i; /* each batch samples from its own stream, seeded by its position */
        rc = fv_t5_generate(m->t5, prompts + i, lens + i, k, &o, out + i);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (rc) {
            free(out[i].ids);
            out_ids[i] = NULL;
            out_lens[i] = 0;
        } else {
            out_ids[i] = out[i].ids;
            out_lens[i] = out[i].n;
        }
    }
    free(out);
    return rc;
}

int flanvk_score(flanvk_model *m, const uint32_t *const *inputs, const uint32_t *in_lens,
                 const uint32_t *const *targets, const uint32_t *tgt_lens, uint32_t n, uint32_t batch_size,
                 double *logprob) {
    FV_TRY(check_lengths(m, in_lens, n, "input"));
    FV_TRY(check_lengths(m, tgt_lens, n, "target"));
    FV_TRY(check_ids(m, inputs, in_lens, n, "input"));
    FV_TRY(check_ids(m, targets, tgt_lens, n, "target"));
    return fv_t5_score(m->t5, inputs, in_lens, targets, tgt_lens, n, batch_size, logprob);
}

fv_t5 *fv_api_model_t5(flanvk_model *m) { return m ? m->t5 : NULL; }
