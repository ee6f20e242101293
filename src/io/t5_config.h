/* T5 model configuration as Hugging Face transformers' T5Config reads and writes config.json.
 * Defaults follow T5Config.__init__ / PretrainedConfig where transformers has one for a field
 * (num_decoder_layers = num_layers, 32 buckets, max distance 128, eps 1e-6, feed_forward_proj
 * "relu", tie_word_embeddings true, ...). The architecture sizes (vocab_size, d_model, d_kv, d_ff,
 * num_layers, num_heads) are required here even though transformers would silently default them:
 * a config without them is almost surely not the checkpoint's.
 *
 * feed_forward_proj is "ACT" or "gated-ACT" (T5Config's rule); ACT is one of relu, gelu (erf),
 * gelu_new / gelu_pytorch_tanh / gelu_fast (tanh approximation), silu / swish. As in transformers,
 * "gated-gelu" means the tanh approximation (dense_act_fn "gelu_new"): that is Flan-T5 / T5 v1.1.
 * When tie_word_embeddings is true, T5 scales the decoder output by d_model^-0.5 before lm_head
 * (which is shared.weight); Flan-T5 is untied and has its own lm_head.weight. */
#ifndef FV_IO_T5_CONFIG_H
#define FV_IO_T5_CONFIG_H

#include <stddef.h>

typedef enum { FV_T5_ACT_RELU, FV_T5_ACT_GELU, FV_T5_ACT_GELU_TANH, FV_T5_ACT_SILU } fv_t5_act;

typedef struct {
    int vocab_size;
    int d_model;
    int d_kv; /* per-head size; inner_dim = num_heads * d_kv need not equal d_model */
    int d_ff;
    int num_layers; /* encoder blocks */
    int num_decoder_layers;
    int num_heads;
    int relative_attention_num_buckets;
    int relative_attention_max_distance;
    char feed_forward_proj[32]; /* as written, e.g. "gated-gelu" */
    char dense_act_fn[32];      /* derived as transformers does, e.g. "gelu_new" */
    int is_gated_act;
    fv_t5_act act;
    int tie_word_embeddings;
    double layer_norm_epsilon;
    int decoder_start_token_id;
    int eos_token_id;
    int pad_token_id;
    double dropout_rate;
    double initializer_factor;
    int is_encoder_decoder;
    int n_positions; /* informational only (relative attention has no length limit); 512 */
} fv_t5_config;

/* T5Config() defaults (t5-small shape with relu). */
void fv_t5_config_defaults(fv_t5_config *c);

/* Built-in presets: "tiny" (test model), "small", "base", "large", "xl", "xxl" (= google/flan-t5-*). */
int fv_t5_config_preset(fv_t5_config *c, const char *name);

/* Parse config.json text; file names the source in messages. */
int fv_t5_config_parse(fv_t5_config *c, const char *json, size_t len, const char *file);
/* Load from a config.json path or a directory holding config.json. */
int fv_t5_config_load(fv_t5_config *c, const char *path);
/* Set feed_forward_proj and derive is_gated_act, dense_act_fn and act from it as T5Config does. */
int fv_t5_config_set_ffn(fv_t5_config *c, const char *feed_forward_proj);
/* Check every field's range and the feed_forward_proj syntax; sets act from dense_act_fn (which,
 * as in transformers, may be overridden in config.json independently of feed_forward_proj). */
int fv_t5_config_validate(fv_t5_config *c, const char *file);
/* Write a config.json that transformers' T5ForConditionalGeneration.from_pretrained loads. Atomic. */
int fv_t5_config_save(const fv_t5_config *c, const char *path);

#endif
