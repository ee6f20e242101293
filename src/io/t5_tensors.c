/* T5 tensor names and shapes, and the checkpoint checker (see t5_tensors.h). Names follow
 * transformers/models/t5/modeling_t5.py: T5Stack.block[i].layer[j] with T5LayerSelfAttention,
 * T5LayerCrossAttention (decoder only) and T5LayerFF (DenseReluDense = T5DenseActDense with wi, wo
 * or T5DenseGatedActDense with wi_0, wi_1, wo). */
#include "io/t5_tensors.h"

#include "base/error.h"
#include "io/wfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fv_t5_tensor_spec *v;
    size_t n, cap;
    int oom;
} list;

static void add(list *l, int optional, int64_t a, int64_t b, const char *fmt, ...) FV_PRINTF(5, 6);
static void add(list *l, int optional, int64_t a, int64_t b, const char *fmt, ...) {
    if (l->oom) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        fv_t5_tensor_spec *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    fv_t5_tensor_spec *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->ndim = b ? 2 : 1;
    s->shape[0] = a;
    s->shape[1] = b;
    s->optional = optional;
}

static void attention(list *l, const fv_t5_config *c, const char *stack, int i, int layer, const char *kind) {
    int64_t inner = (int64_t)c->num_heads * c->d_kv;
    add(l, 0, inner, c->d_model, "%s.block.%d.layer.%d.%s.q.weight", stack, i, layer, kind);
    add(l, 0, inner, c->d_model, "%s.block.%d.layer.%d.%s.k.weight", stack, i, layer, kind);
    add(l, 0, inner, c->d_model, "%s.block.%d.layer.%d.%s.v.weight", stack, i, layer, kind);
    add(l, 0, c->d_model, inner, "%s.block.%d.layer.%d.%s.o.weight", stack, i, layer, kind);
    if (i == 0 && strcmp(kind, "SelfAttention") == 0)
        add(l, 0, c->relative_attention_num_buckets, c->num_heads, "%s.block.0.layer.%d.%s.relative_attention_bias.weight",
            stack, layer, kind);
    add(l, 0, c->d_model, 0, "%s.block.%d.layer.%d.layer_norm.weight", stack, i, layer);
}

static void ffn(list *l, const fv_t5_config *c, const char *stack, int i, int layer) {
    if (c->is_gated_act) {
        add(l, 0, c->d_ff, c->d_model, "%s.block.%d.layer.%d.DenseReluDense.wi_0.weight", stack, i, layer);
        add(l, 0, c->d_ff, c->d_model, "%s.block.%d.layer.%d.DenseReluDense.wi_1.weight", stack, i, layer);
    } else {
        add(l, 0, c->d_ff, c->d_model, "%s.block.%d.layer.%d.DenseReluDense.wi.weight", stack, i, layer);
    }
    add(l, 0, c->d_model, c->d_ff, "%s.block.%d.layer.%d.DenseReluDense.wo.weight", stack, i, layer);
    add(l, 0, c->d_model, 0, "%s.block.%d.layer.%d.layer_norm.weight", stack, i, layer);
}

int fv_t5_tensor_specs(const fv_t5_config *c, fv_t5_tensor_spec **out, size_t *n) {
    list l = {0};
    add(&l, 0, c->vocab_size, c->d_model, "shared.weight");
    add(&l, 1, c->vocab_size, c->d_model, "encoder.embed_tokens.weight");
    for (int i = 0; i < c->num_layers; i++) {
        attention(&l, c, "encoder", i, 0, "SelfAttention");
        ffn(&l, c, "encoder", i, 1);
    }
    add(&l, 0, c->d_model, 0, "encoder.final_layer_norm.weight");
    add(&l, 1, c->vocab_size, c->d_model, "decoder.embed_tokens.weight");
    for (int i = 0; i < c->num_decoder_layers; i++) {
        attention(&l, c, "decoder", i, 0, "SelfAttention");
        attention(&l, c, "decoder", i, 1, "EncDecAttention");
        ffn(&l, c, "decoder", i, 2);
    }
    add(&l, 0, c->d_model, 0, "decoder.final_layer_norm.weight");
    add(&l, c->tie_word_embeddings, c->vocab_size, c->d_model, "lm_head.weight");
    if (l.oom) {
        free(l.v);
        return fv_err("T5 tensor list: out of memory");
    }
    *out = l.v;
    *n = l.n;
    return 0;
}

int64_t fv_t5_param_count(const fv_t5_config *c) {
    fv_t5_tensor_spec *s;
    size_t n;
    if (fv_t5_tensor_specs(c, &s, &n)) return -1;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (!s[i].optional) total += s[i].shape[0] * (s[i].ndim == 2 ? s[i].shape[1] : 1);
    free(s);
    return total;
}

const char *fv_t5_embedding_name(const fv_safetensors *st) {
    static const char *names[] = {"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
    for (int i = 0; i < 3; i++)
        if (fv_st_find(st, names[i])) return names[i];
    return NULL;
}

int fv_t5_check_tensors(const fv_t5_config *c, const fv_safetensors *st, int flags) {
    fv_t5_tensor_spec *s;
    size_t n;
    FV_TRY(fv_t5_tensor_specs(c, &s, &n));
    int rc = fv_wfile_check_meta(st);
    for (size_t i = 0; i < n && !rc; i++) {
        const fv_st_tensor *t = fv_st_find(st, s[i].name);
        if (!t && i == 0 && fv_t5_embedding_name(st)) continue; /* shared.weight stored as an embed_tokens copy */
        if (!t && s[i].optional) continue;
        if (!t) {
            char sb[64];
            rc = fv_err("%s: missing tensor '%s' (shape %s) required by the config", fv_st_path(st), s[i].name,
                        fv_st_shape_str(sb, sizeof sb, s[i].ndim, s[i].shape));
            break;
        }
        rc = fv_st_check_shape(st, t, s[i].ndim, s[i].shape);
        if (!rc) rc = fv_wfile_check_tensor(st, t); /* dtype; for q8 (I8) also its scales and metadata */
    }
    if (!rc && (flags & FV_T5_CHECK_STRICT)) {
        for (size_t j = 0; j < fv_st_count(st) && !rc; j++) {
            const fv_st_tensor *t = fv_st_at(st, j);
            int known = 0;
            for (size_t i = 0; i < n && !known; i++) {
                known = strcmp(s[i].name, t->name) == 0;
                /* the scales of a q8 tensor (checked with it above) */
                size_t len = strlen(s[i].name);
                if (!known && !strncmp(s[i].name, t->name, len) && !strcmp(t->name + len, FV_WFILE_SCALES_SUFFIX)) {
                    const fv_st_tensor *w = fv_st_find(st, s[i].name);
                    known = w && w->dtype == FV_DT_I8;
                }
            }
            if (!known) rc = fv_err("%s: tensor '%s' is not used by a T5 model with this config", fv_st_file(st, t), t->name);
        }
    }
    free(s);
    return rc;
}
