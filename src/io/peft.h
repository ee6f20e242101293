/* A PEFT LoRA adapter as data (Hugging Face PEFT, https://github.com/huggingface/peft, LoraConfig in
 * src/peft/tuners/lora/config.py, the scaling and init in tuners/lora/layer.py): the config of
 * adapter_config.json and, per targeted T5 linear layer, A [r, in] and B [out, r] in fp32 on the
 * host, keyed by the Hugging Face module path ("encoder.block.0.layer.0.SelfAttention.q"). The layer
 * computes y = W x + s * B A dropout(x) with s = lora_alpha / r (lora_alpha / sqrt(r) with use_rslora).
 *
 * On disk, exactly as PEFT's save_pretrained writes it:
 *   adapter_config.json        peft_type "LORA", task_type, r, lora_alpha, lora_dropout,
 *                              target_modules (a list of names), bias "none", fan_in_fan_out false,
 *                              base_model_name_or_path, plus the other keys PEFT writes, at their
 *                              defaults (sorted, indent 2, as json.dumps(sort_keys=True, indent=2))
 *   adapter_model.safetensors  base_model.model.<module>.lora_A.weight [r, in] and
 *                              base_model.model.<module>.lora_B.weight [out, r], F32 when written by
 *                              flanvk; F32, F16 and BF16 are read (into fp32). No adapter name
 *                              ("default") in the keys: PEFT removes it when saving.
 *
 * target_modules: PEFT matches a name t against a module path p when p == t or p ends with "." + t,
 * so "q" names every SelfAttention.q and EncDecAttention.q, "EncDecAttention.q" only the latter. The
 * T5 names are q, k, v, o (both attentions), wi (relu FFN) or wi_0, wi_1 (gated FFN), and wo. PEFT
 * also takes a regex string (re.fullmatch on the module path); flanvk refuses one with an error, except
 * the string "all-linear", which for T5 means every linear layer of the blocks (as our "all").
 *
 * What is refused because this reader would otherwise misread the adapter: peft_type other than
 * LORA, bias other than "none", fan_in_fan_out true, use_dora, lora_bias, non-empty rank_pattern or
 * alpha_pattern, layers_to_transform, layers_pattern, exclude_modules, modules_to_save,
 * layer_replication, target_parameters, trainable_token_indices and the newer variants (use_qalora,
 * use_bdlora, alora_invocation_tokens, arrow/velora/kasa/monteclora configs), init_lora_weights
 * "pissa*", "olora", "corda" or "loftq" (the base was changed too), and tensors other than
 * lora_A/lora_B weights. Other keys (PEFT versions add some) are ignored, as PEFT ignores unknown ones. Every error is one line naming the
 * file (and tensor or key) and the problem. */
#ifndef FV_IO_PEFT_H
#define FV_IO_PEFT_H

#include <stddef.h>
#include <stdint.h>

#include "io/t5_config.h"

#define FV_PEFT_CONFIG_FILE "adapter_config.json"
#define FV_PEFT_WEIGHTS_FILE "adapter_model.safetensors"
#define FV_PEFT_MAX_TARGETS 32

typedef struct {
    char peft_type[16];  /* "LORA" */
    char task_type[32];  /* "SEQ_2_SEQ_LM"; "" when the file has null */
    int r;               /* rank, > 0 */
    double lora_alpha;   /* > 0 (PEFT types it int; a float is read as it is) */
    double lora_dropout; /* in [0, 1) */
    int use_rslora;      /* scaling alpha / sqrt(r) instead of alpha / r */
    int n_targets;
    char targets[FV_PEFT_MAX_TARGETS][96]; /* target_modules names, e.g. "q", "v" */
    int all_linear;                        /* target_modules was "all-linear": targets hold its expansion
                                              (for the model when read against one); saved as the list */
    char bias[16];                         /* "none" */
    int fan_in_fan_out;                    /* false */
    int inference_mode;                    /* PEFT writes true from save_pretrained */
    char base_model_name_or_path[512];     /* "" when null */
} fv_peft_config;

typedef struct {
    char name[96];    /* HF module path, e.g. "decoder.block.1.layer.1.EncDecAttention.v" */
    uint32_t in, out; /* of the base linear layer (its weight is [out, in]) */
    float *A;         /* [r, in], row-major */
    float *B;         /* [out, r], row-major */
} fv_peft_module;

typedef struct {
    fv_peft_config cfg;
    fv_peft_module *mods; /* in the model's state_dict order when read against a model config */
    size_t n_mods;
} fv_peft_adapter;

/* PEFT's LoraConfig defaults for T5 seq2seq: r 8, lora_alpha 8, dropout 0, targets q, v (PEFT's
 * default for model_type t5), bias "none", task_type "SEQ_2_SEQ_LM". */
void fv_peft_config_defaults(fv_peft_config *c);

/* Set c's targets from a comma-separated list of names ("q,v", "q,k,v,o,wi_0,wi_1,wo"), "all" (every
 * linear layer of the blocks of model m: q, k, v, o, then wi or wi_0, wi_1, then wo) or "all-linear"
 * (the same). Each name must match some module of m (when m is not NULL); an unknown name is an error
 * naming it and the choices; `what` names the source in messages (e.g. "--lora-targets"). */
int fv_peft_set_targets(fv_peft_config *c, const char *list, const fv_t5_config *m, const char *what);

/* 1 if target name t names module path p (PEFT's rule: p == t or p ends with "." t). */
int fv_peft_name_matches(const char *t, const char *p);

/* The scaling s of y = W x + s * B A x. */
double fv_peft_scaling(const fv_peft_config *c);

/* Parse adapter_config.json text (file names it in messages) / write one (atomic). */
int fv_peft_config_parse(fv_peft_config *c, const char *json, size_t len, const char *file);
int fv_peft_config_save(const fv_peft_config *c, const char *path);

/* The linear layers of model m that c's targets name: a malloc'd array of *n modules with name, in
 * and out set and A = B = NULL (free with free()). */
int fv_peft_plan(const fv_peft_config *c, const fv_t5_config *m, fv_peft_module **out, size_t *n);

/* A fresh adapter for model m with config c: A from PEFT's init, nn.init.kaiming_uniform_(A,
 * a = sqrt(5)), i.e. uniform on [-1/sqrt(in), 1/sqrt(in)] (gain sqrt(2 / (1 + a^2)) = sqrt(1/3),
 * bound = sqrt(3) * gain / sqrt(fan_in), fan_in = in), drawn from flanvk's RNG (base/rng.h) seeded
 * with `seed`, modules in state_dict order, A row-major: the distribution is PEFT's, the values are
 * not torch's. B = 0, so the adapted model starts equal to the base. */
int fv_peft_init(fv_peft_adapter *a, const fv_peft_config *c, const fv_t5_config *m, uint64_t seed);

/* Read an adapter directory (adapter_config.json + adapter_model.safetensors). With m (the base
 * model's config; model_label names it in messages, e.g. its directory) every check against the model
 * is made: each tensor's module is a linear layer of m named by target_modules, A is [r, in] and B is
 * [out, r] with m's in/out, both exist for each module, every module the targets name has them, and
 * each target names some module. With m NULL, only the adapter's own consistency is checked and
 * in/out come from the tensors. */
int fv_peft_load(fv_peft_adapter *a, const char *dir, const fv_t5_config *m, const char *model_label);

/* Write the adapter into dir (created if needed): adapter_model.safetensors (F32) and then
 * adapter_config.json, each to a temporary name renamed over the old file, so a reader sees either
 * the old file or the new one, never a half-written one. */
int fv_peft_save(const fv_peft_adapter *a, const char *dir);

const fv_peft_module *fv_peft_find(const fv_peft_adapter *a, const char *module);

/* delta (out x in, row-major, fp32) = s * B A, accumulated in double. */
void fv_peft_delta(const fv_peft_adapter *a, const fv_peft_module *mod, float *delta);

void fv_peft_free(fv_peft_adapter *a);

#endif
