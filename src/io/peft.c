/* PEFT LoRA adapters on disk and on the host (see peft.h): adapter_config.json, the lora_A/lora_B
 * tensors of adapter_model.safetensors, the checks against a T5 config, and PEFT's initialisation. */
#define _POSIX_C_SOURCE 200809L
#include "io/peft.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "base/rng.h"
#include "io/json_util.h"
#include "io/safetensors.h"
#include "io/t5_tensors.h"

#define KEY_PREFIX "base_model.model."
#define SUFFIX_A ".lora_A.weight"
#define SUFFIX_B ".lora_B.weight"

/* The linear layers of a T5 block, by the last component of their module path. */
static const char *const linear_names[] = {"q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo"};

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int fv_peft_name_matches(const char *t, const char *p) {
    size_t a = strlen(p), b = strlen(t);
    if (!strcmp(t, p)) return 1;
    return a > b && p[a - b - 1] == '.' && !strcmp(p + a - b, t);
}

/* 1 if HF tensor name (without ".weight") is a linear layer of a T5 block. */
static int is_block_linear(const char *mod) {
    const char *dot = strrchr(mod, '.');
    if (!dot || (!strstr(mod, ".SelfAttention.") && !strstr(mod, ".EncDecAttention.") && !strstr(mod, ".DenseReluDense.")))
        return 0;
    for (size_t i = 0; i < sizeof linear_names / sizeof *linear_names; i++)
        if (!strcmp(dot + 1, linear_names[i])) return 1;
    return 0;
}

/* Every linear layer of the blocks of m, in state_dict order (A = B = NULL). */
static int model_linears(const fv_t5_config *m, fv_peft_module **out, size_t *n) {
    fv_t5_tensor_spec *s;
    size_t ns, k = 0;
    FV_TRY(fv_t5_tensor_specs(m, &s, &ns));
    fv_peft_module *v = calloc(ns + 1, sizeof *v);
    if (!v) {
        free(s);
        return fv_err("LoRA modules: out of memory");
    }
    for (size_t i = 0; i < ns; i++) {
        if (s[i].ndim != 2 || !ends_with(s[i].name, ".weight")) continue;
        char mod[96];
        snprintf(mod, sizeof mod, "%.*s", (int)(strlen(s[i].name) - strlen(".weight")), s[i].name);
        if (!is_block_linear(mod)) continue;
        snprintf(v[k].name, sizeof v[k].name, "%s", mod);
        v[k].out = (uint32_t)s[i].shape[0];
        v[k].in = (uint32_t)s[i].shape[1];
        k++;
    }
    free(s);
    *out = v;
    *n = k;
    return 0;
}

static int targeted(const fv_peft_config *c, const char *mod) {
    for (int t = 0; t < c->n_targets; t++)
        if (fv_peft_name_matches(c->targets[t], mod)) return 1;
    return 0;
}

static void targets_str(const fv_peft_config *c, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (int t = 0; t < c->n_targets && k < n; t++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", t ? ", " : "", c->targets[t]);
}

void fv_peft_config_defaults(fv_peft_config *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->peft_type, "LORA");
    strcpy(c->task_type, "SEQ_2_SEQ_LM");
    c->r = 8;
    c->lora_alpha = 8;
    c->n_targets = 2;
    strcpy(c->targets[0], "q");
    strcpy(c->targets[1], "v");
    strcpy(c->bias, "none");
    c->inference_mode = 1;
}

double fv_peft_scaling(const fv_peft_config *c) {
    return c->use_rslora ? c->lora_alpha / sqrt((double)c->r) : c->lora_alpha / (double)c->r;
}

/* A target name must end in one of the T5 linear names (PEFT's suffix rule would otherwise match
 * nothing, or a non-linear module it cannot adapt). */
static int check_target_name(const char *t, const char *what) {
    const char *last = strrchr(t, '.');
    last = last ? last + 1 : t;
    for (size_t i = 0; i < sizeof linear_names / sizeof *linear_names; i++)
        if (!strcmp(last, linear_names[i]) && t[0] && t[strlen(t) - 1] != '.') return 0;
    return fv_err("%s: unknown LoRA target '%s' (T5 linear layers: q, k, v, o, wi, wi_0, wi_1, wo, or all)", what, t);
}

/* Each target names at least one module of m. */
static int check_targets_in_model(const fv_peft_config *c, const fv_t5_config *m, const char *what) {
    fv_peft_module *lin;
    size_t n;
    FV_TRY(model_linears(m, &lin, &n));
    int rc = 0;
    for (int t = 0; t < c->n_targets && !rc; t++) {
        int hit = 0;
        for (size_t i = 0; i < n && !hit; i++) hit = fv_peft_name_matches(c->targets[t], lin[i].name);
        if (!hit)
            rc = fv_err("%s: LoRA target '%s' names no linear layer of this model (its feed-forward is %s)", what,
                        c->targets[t], m->is_gated_act ? "gated: wi_0, wi_1, wo" : "wi, wo");
    }
    free(lin);
    return rc;
}

static int add_target(fv_peft_config *c, const char *t, size_t len, const char *what) {
    if (len == 0) return fv_err("%s: empty LoRA target name", what);
    if (len >= sizeof c->targets[0]) return fv_err("%s: LoRA target name '%.*s...' is too long", what, 40, t);
    for (int i = 0; i < c->n_targets; i++)
        if (strlen(c->targets[i]) == len && !strncmp(c->targets[i], t, len)) return 0; /* PEFT keeps a set */
    if (c->n_targets == FV_PEFT_MAX_TARGETS) return fv_err("%s: more than %d LoRA targets", what, FV_PEFT_MAX_TARGETS);
    memcpy(c->targets[c->n_targets], t, len);
    c->targets[c->n_targets][len] = 0;
    return check_target_name(c->targets[c->n_targets++], what);
}

static int set_all(fv_peft_config *c, const fv_t5_config *m, const char *what) {
    static const char *gated[] = {"q", "k", "v", "o", "wi_0", "wi_1", "wo"}, *plain[] = {"q", "k", "v", "o", "wi", "wo"};
    c->n_targets = 0;
    /* without a model, both FFN spellings: each names the layers the model has */
    int g = m ? m->is_gated_act : -1;
    for (size_t i = 0; i < 7; i++)
        if (g != 0 || i < 4 || i == 6) FV_TRY(add_target(c, gated[i], strlen(gated[i]), what));
    if (g != 1) FV_TRY(add_target(c, plain[4], 2, what));
    return 0;
}

int fv_peft_set_targets(fv_peft_config *c, const char *list, const fv_t5_config *m, const char *what) {
    if (!list || !list[0]) return fv_err("%s: empty LoRA target list", what);
    if (!strcmp(list, "all") || !strcmp(list, "all-linear")) return set_all(c, m, what);
    c->n_targets = 0;
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 3 && !strncmp(p, "all", 3)) return fv_err("%s: 'all' cannot be combined with other targets", what);
        FV_TRY(add_target(c, p, len, what));
        if (!e) break;
        p = e + 1;
    }
    return m ? check_targets_in_model(c, m, what) : 0;
}

/* ---- adapter_config.json ----------------------------------------------------------------------- */

/* 1 if v is absent or holds PEFT's "off" value: null, false, "", [] or {}. */
static int unset(const cJSON *v) {
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return 1;
    if (cJSON_IsString(v)) return v->valuestring[0] == 0;
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) return cJSON_GetArraySize(v) == 0;
    return 0;
}

static int parse_targets(fv_peft_config *c, const cJSON *root, const char *file) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "target_modules");
    if (!t || cJSON_IsNull(t)) return 0; /* PEFT's default for model_type t5: q, v (already set) */
    if (cJSON_IsString(t)) {
        if (!strcmp(t->valuestring, "all-linear")) {
            c->all_linear = 1;
            return set_all(c, NULL, file);
        }
        return fv_err("%s: target_modules is the regex string \"%.60s\": flanvk reads a list of module names (or "
                      "\"all-linear\")",
                      file, t->valuestring);
    }
    if (!cJSON_IsArray(t)) return fv_err("%s: key 'target_modules' must be a list of module names", file);
    if (cJSON_GetArraySize(t) == 0) return fv_err("%s: target_modules is empty: the adapter adapts nothing", file);
    c->n_targets = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, t) {
        if (!cJSON_IsString(e)) return fv_err("%s: target_modules must hold strings", file);
        FV_TRY(add_target(c, e->valuestring, strlen(e->valuestring), file));
    }
    return 0;
}

int fv_peft_config_parse(fv_peft_config *c, const char *json, size_t len, const char *file) {
    fv_peft_config_defaults(c);
    c->inference_mode = 0; /* LoraConfig's default when the key is absent */
    cJSON *root;
    FV_TRY(fv_json_parse_object(&root, json, len, file));
    int64_t r = c->r;
    c->task_type[0] = 0;
    int rc = fv_json_str(root, "peft_type", 1, c->peft_type, sizeof c->peft_type, file);
    if (!rc && strcmp(c->peft_type, "LORA"))
        rc = fv_err("%s: peft_type is \"%s\": flanvk reads LORA adapters only", file, c->peft_type);
    if (!rc) rc = fv_json_str(root, "task_type", 0, c->task_type, sizeof c->task_type, file);
    if (!rc) rc = fv_json_int(root, "r", 0, INT32_MIN, INT32_MAX, &r, file);
    if (!rc && r <= 0) rc = fv_err("%s: r = %lld: the LoRA rank must be > 0", file, (long long)r);
    c->r = (int)r;
    if (!rc) rc = fv_json_num(root, "lora_alpha", 0, &c->lora_alpha, file);
    if (!rc && !(c->lora_alpha > 0)) rc = fv_err("%s: lora_alpha = %g: must be > 0", file, c->lora_alpha);
    if (!rc) rc = fv_json_num(root, "lora_dropout", 0, &c->lora_dropout, file);
    if (!rc && !(c->lora_dropout >= 0 && c->lora_dropout < 1))
        rc = fv_err("%s: lora_dropout = %g: must be in [0, 1)", file, c->lora_dropout);
    if (!rc) rc = fv_json_bool(root, "use_rslora", 0, &c->use_rslora, file);
    if (!rc) rc = fv_json_bool(root, "fan_in_fan_out", 0, &c->fan_in_fan_out, file);
    if (!rc && c->fan_in_fan_out)
        rc = fv_err("%s: fan_in_fan_out is true: T5's nn.Linear weights are [out, in] (PEFT itself resets it to false "
                    "for them)",
                    file);
    if (!rc) rc = fv_json_bool(root, "inference_mode", 0, &c->inference_mode, file);
    if (!rc) rc = fv_json_str(root, "bias", 0, c->bias, sizeof c->bias, file);
    if (!rc && strcmp(c->bias, "none"))
        rc = fv_err("%s: bias is \"%s\": flanvk reads adapters with bias \"none\" only", file, c->bias);
    if (!rc) rc = fv_json_str(root, "base_model_name_or_path", 0, c->base_model_name_or_path,
                              sizeof c->base_model_name_or_path, file);
    if (!rc) rc = parse_targets(c, root, file);
    /* options that change what the tensors mean or which exist: refused rather than misread */
    static const char *const refused[] = {
        "use_dora",         "lora_bias",         "rank_pattern",       "alpha_pattern",           "layers_to_transform",
        "layers_pattern",   "exclude_modules",   "modules_to_save",    "layer_replication",       "target_parameters",
        "trainable_token_indices", "use_qalora", "use_bdlora",         "alora_invocation_tokens", "arrow_config",
        "velora_config",    "kasa_config",       "monteclora_config"};
    for (size_t i = 0; !rc && i < sizeof refused / sizeof *refused; i++)
        if (!unset(cJSON_GetObjectItemCaseSensitive(root, refused[i])))
            rc = fv_err("%s: '%s' is set: flanvk does not support it (plain LoRA only)", file, refused[i]);
    /* PiSSA, OLoRA, CorDA and LoftQ initialisations change the base weights too: such an adapter
     * only fits its residual base (PEFT rewrites the config to `true` when it converts one back) */
    const cJSON *init = cJSON_GetObjectItemCaseSensitive(root, "init_lora_weights");
    static const char *const residual[] = {"pissa", "olora", "corda", "loftq"};
    for (size_t i = 0; !rc && cJSON_IsString(init) && i < sizeof residual / sizeof *residual; i++)
        if (!strncmp(init->valuestring, residual[i], strlen(residual[i])))
            rc = fv_err("%s: init_lora_weights is \"%s\": such an adapter fits a modified base model, not the original",
                        file, init->valuestring);
    cJSON_Delete(root);
    return rc;
}

/* The shortest decimal that reads back as v (Python's repr does the same for json.dumps). */
static void put_num(FILE *f, double v) {
    char buf[40];
    if (v == floor(v) && fabs(v) < 1e15) {
        fprintf(f, "%lld", (long long)v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

static void put_str_or_null(FILE *f, const char *s) {
    if (s && s[0]) fv_json_put_string(f, s);
    else fputs("null", f);
}

int fv_peft_config_save(const fv_peft_config *c, const char *path) {
    fv_awrite w;
    FV_TRY(fv_awrite_open(&w, path));
    FILE *f = w.f;
    /* PEFT's keys (LoraConfig.to_dict through json.dumps(indent=2, sort_keys=True)); the ones
     * flanvk does not use at their defaults */
    fputs("{\n  \"alpha_pattern\": {},\n  \"auto_mapping\": null,\n  \"base_model_name_or_path\": ", f);
    put_str_or_null(f, c->base_model_name_or_path);
    fputs(",\n  \"bias\": ", f);
    fv_json_put_string(f, c->bias[0] ? c->bias : "none");
    fprintf(f, ",\n  \"fan_in_fan_out\": %s,\n  \"inference_mode\": %s,\n", c->fan_in_fan_out ? "true" : "false",
            c->inference_mode ? "true" : "false");
    fputs("  \"init_lora_weights\": true,\n  \"layer_replication\": null,\n  \"layers_pattern\": null,\n"
          "  \"layers_to_transform\": null,\n  \"loftq_config\": {},\n  \"lora_alpha\": ",
          f);
    put_num(f, c->lora_alpha);
    fputs(",\n  \"lora_dropout\": ", f);
    put_num(f, c->lora_dropout);
    fputs(",\n  \"megatron_config\": null,\n  \"megatron_core\": \"megatron.core\",\n  \"modules_to_save\": null,\n"
          "  \"peft_type\": \"LORA\",\n",
          f);
    fprintf(f, "  \"r\": %d,\n  \"rank_pattern\": {},\n  \"revision\": null,\n  \"target_modules\": [", c->r);
    for (int t = 0; t < c->n_targets; t++) {
        fputs(t ? ",\n    " : "\n    ", f);
        fv_json_put_string(f, c->targets[t]);
    }
    fputs(c->n_targets ? "\n  ],\n  \"task_type\": " : "],\n  \"task_type\": ", f);
    put_str_or_null(f, c->task_type);
    fprintf(f, ",\n  \"use_dora\": false,\n  \"use_rslora\": %s\n}", c->use_rslora ? "true" : "false");
    if (ferror(f)) {
        int rc = fv_write_failed(path);
        fv_awrite_abort(&w);
        return rc;
    }
    return fv_awrite_commit(&w);
}

/* ---- modules and tensors ---------------------------------------------------------------------- */

int fv_peft_plan(const fv_peft_config *c, const fv_t5_config *m, fv_peft_module **out, size_t *n) {
    fv_peft_module *lin;
    size_t nl, k = 0;
    FV_TRY(model_linears(m, &lin, &nl));
    for (size_t i = 0; i < nl; i++)
        if (targeted(c, lin[i].name)) lin[k++] = lin[i];
    *out = lin;
    *n = k;
    return 0;
}

static int alloc_module(fv_peft_module *mod, int r) {
    mod->A = calloc((size_t)r * mod->in, sizeof *mod->A);
    mod->B = calloc((size_t)mod->out * r, sizeof *mod->B);
    return mod->A && mod->B ? 0 : fv_err("LoRA module '%s': out of memory", mod->name);
}

int fv_peft_init(fv_peft_adapter *a, const fv_peft_config *c, const fv_t5_config *m, uint64_t seed) {
    memset(a, 0, sizeof *a);
    if (c->r <= 0) return fv_err("LoRA rank r = %d: must be > 0", c->r);
    if (!(c->lora_alpha > 0)) return fv_err("LoRA alpha = %g: must be > 0", c->lora_alpha);
    FV_TRY(check_targets_in_model(c, m, "LoRA targets"));
    a->cfg = *c;
    FV_TRY(fv_peft_plan(c, m, &a->mods, &a->n_mods));
    fv_rng rng;
    fv_rng_seed(&rng, seed);
    for (size_t i = 0; i < a->n_mods; i++) {
        fv_peft_module *mod = &a->mods[i];
        if (alloc_module(mod, c->r)) {
            fv_peft_free(a);
            return -1;
        }
        /* torch.nn.init.kaiming_uniform_(A, a=sqrt(5)): fan_in = A.size(1) = in,
         * gain = sqrt(2 / (1 + 5)), bound = sqrt(3) * gain / sqrt(fan_in) = 1 / sqrt(in) */
        double bound = 1.0 / sqrt((double)mod->in);
        for (size_t j = 0; j < (size_t)c->r * mod->in; j++)
            mod->A[j] = (float)((2.0 * fv_rng_uniform_d(&rng) - 1.0) * bound);
    }
    return 0;
}

const fv_peft_module *fv_peft_find(const fv_peft_adapter *a, const char *module) {
    for (size_t i = 0; i < a->n_mods; i++)
        if (!strcmp(a->mods[i].name, module)) return &a->mods[i];
    return NULL;
}

void fv_peft_delta(const fv_peft_adapter *a, const fv_peft_module *mod, float *delta) {
    double s = fv_peft_scaling(&a->cfg);
    int r = a->cfg.r;
    for (uint32_t o = 0; o < mod->out; o++) {
        const float *b = mod->B + (size_t)o * r;
        for (uint32_t i = 0; i < mod->in; i++) {
            double acc = 0;
            for (int k = 0; k < r; k++) acc += (double)b[k] * mod->A[(size_t)k * mod->in + i];
            delta[(size_t)o * mod->in + i] = (float)(s * acc);
        }
    }
}

void fv_peft_free(fv_peft_adapter *a) {
    for (size_t i = 0; i < a->n_mods; i++) {
        free(a->mods[i].A);
        free(a->mods[i].B);
    }
    free(a->mods);
    a->mods = NULL;
    a->n_mods = 0;
}

/* Split a tensor key into its module path and which factor it is ('A' or 'B'). */
static int parse_key(const char *key, char *mod, size_t n, char *which, const char *file) {
    size_t len = strlen(key), lp = strlen(KEY_PREFIX), ls = strlen(SUFFIX_A);
    int a = ends_with(key, SUFFIX_A), b = ends_with(key, SUFFIX_B);
    if (strncmp(key, KEY_PREFIX, lp) || !(a || b) || len <= lp + ls)
        return fv_err("%s: tensor '%s' is not a LoRA weight (base_model.model.<module>.lora_A.weight or .lora_B.weight "
                      "expected)",
                      file, key);
    if (len - lp - ls >= n) return fv_err("%s: tensor '%s': module path too long", file, key);
    snprintf(mod, n, "%.*s", (int)(len - lp - ls), key + lp);
    *which = a ? 'A' : 'B';
    return 0;
}

static fv_peft_module *find_mod(fv_peft_module *v, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name)) return &v[i];
    return NULL;
}

/* Read one factor: shape [rows, cols] where a 0 means "take it from the file" (no model). */
static int read_factor(const fv_safetensors *st, const fv_st_tensor *t, fv_peft_module *mod, char which, int r,
                       const char *model_label) {
    const char *file = fv_st_file(st, t);
    char got[64];
    fv_st_shape_str(got, sizeof got, t->ndim, t->shape);
    if (t->ndim != 2) return fv_err("%s: tensor '%s' has shape %s: LoRA factors are 2-D", file, t->name, got);
    int64_t want[2] = {which == 'A' ? (int64_t)r : (int64_t)mod->out, which == 'A' ? (int64_t)mod->in : (int64_t)r};
    if (!want[0]) want[0] = t->shape[0];
    if (!want[1]) want[1] = t->shape[1];
    if (t->shape[0] != want[0] || t->shape[1] != want[1]) {
        char exp[64];
        fv_st_shape_str(exp, sizeof exp, 2, want);
        int rank_dim = which == 'A' ? 0 : 1;
        if (t->shape[rank_dim] != r)
            return fv_err("%s: tensor '%s' has shape %s, expected %s: rank %lld, but r = %d in %s", file, t->name, got, exp,
                          (long long)t->shape[rank_dim], r, FV_PEFT_CONFIG_FILE);
        return fv_err("%s: tensor '%s' has shape %s, expected %s for the layer [%u, %u] of %s: made for another model?",
                      file, t->name, got, exp, mod->out, mod->in, model_label ? model_label : "the adapter's other factor");
    }
    if (t->shape[0] > (1 << 24) || t->shape[1] > (1 << 24)) return fv_err("%s: tensor '%s' is too large", file, t->name);
    if (which == 'A') mod->in = (uint32_t)t->shape[1];
    else mod->out = (uint32_t)t->shape[0];
    float **dst = which == 'A' ? &mod->A : &mod->B;
    if (*dst) return fv_err("%s: tensor '%s' appears twice", file, t->name);
    *dst = malloc((size_t)t->numel * sizeof **dst);
    if (!*dst) return fv_err("%s: tensor '%s': out of memory", file, t->name);
    FV_TRY(fv_st_tensor_f32(st, t, *dst));
    for (uint64_t i = 0; i < t->numel; i++)
        if (!isfinite((*dst)[i])) return fv_err("%s: tensor '%s' holds a non-finite value at %llu", file, t->name, (unsigned long long)i);
    return 0;
}

/* The tensors of st into a->mods (allocated here when m is NULL, from the model's plan otherwise). */
static int load_tensors(fv_peft_adapter *a, const fv_safetensors *st, const fv_t5_config *m, const char *model_label,
                        const char *cfg_file) {
    const char *file = fv_st_path(st);
    fv_peft_module *lin = NULL;
    size_t nl = 0;
    char tl[400];
    targets_str(&a->cfg, tl, sizeof tl);
    if (m) {
        FV_TRY(model_linears(m, &lin, &nl));
        FV_TRY(fv_peft_plan(&a->cfg, m, &a->mods, &a->n_mods));
    } else {
        a->mods = calloc(fv_st_count(st) + 1, sizeof *a->mods);
        if (!a->mods) return fv_err("%s: out of memory", file);
    }
    int rc = 0;
    if (fv_st_count(st) == 0) rc = fv_err("%s: no tensors: the adapter is empty", file);
    for (size_t i = 0; !rc && i < fv_st_count(st); i++) {
        const fv_st_tensor *t = fv_st_at(st, i);
        char mod[96], which = 0;
        if ((rc = parse_key(t->name, mod, sizeof mod, &which, file))) break;
        fv_peft_module *pm = find_mod(a->mods, a->n_mods, mod);
        if (!pm && m && !find_mod(lin, nl, mod))
            rc = fv_err("%s: tensor '%s': '%s' is not a linear layer of %s: made for another model?", file, t->name, mod,
                        model_label);
        else if (!targeted(&a->cfg, mod))
            rc = fv_err("%s: tensor '%s': module '%s' is not named by target_modules [%s] of %s", file, t->name, mod, tl,
                        cfg_file);
        else if (!pm && m) rc = fv_err("%s: tensor '%s': internal: module not planned", file, t->name);
        if (rc) break;
        if (!pm) { /* no model: modules as the file has them */
            pm = &a->mods[a->n_mods++];
            snprintf(pm->name, sizeof pm->name, "%s", mod);
        }
        rc = read_factor(st, t, pm, which, a->cfg.r, m ? model_label : NULL);
    }
    for (size_t i = 0; !rc && i < a->n_mods; i++) {
        const fv_peft_module *pm = &a->mods[i];
        if (!pm->A && !pm->B)
            rc = fv_err("%s: no lora_A/lora_B for '%s', which target_modules [%s] names in %s: made for another model?",
                        file, pm->name, tl, model_label ? model_label : "the model");
        else if (!pm->A || !pm->B)
            rc = fv_err("%s: tensor '" KEY_PREFIX "%s%s' is missing (its %s is present)", file, pm->name,
                        pm->A ? SUFFIX_B : SUFFIX_A, pm->A ? "lora_A" : "lora_B");
    }
    free(lin);
    return rc;
}

int fv_peft_load(fv_peft_adapter *a, const char *dir, const fv_t5_config *m, const char *model_label) {
    memset(a, 0, sizeof *a);
    char cpath[1024], wpath[1024];
    if (fv_path_join(cpath, sizeof cpath, dir, FV_PEFT_CONFIG_FILE) ||
        fv_path_join(wpath, sizeof wpath, dir, FV_PEFT_WEIGHTS_FILE))
        return fv_err("%s: adapter path too long", dir);
    if (!fv_file_exists(cpath)) return fv_err("%s: no %s: not a PEFT adapter directory", dir, FV_PEFT_CONFIG_FILE);
    if (!fv_file_exists(wpath)) {
        char bin[1024];
        if (!fv_path_join(bin, sizeof bin, dir, "adapter_model.bin") && fv_file_exists(bin))
            return fv_err("%s: adapter_model.bin (a pickle) is not read: save the adapter with safe_serialization=True", bin);
        return fv_err("%s: no %s", dir, FV_PEFT_WEIGHTS_FILE);
    }
    char *text;
    size_t len;
    FV_TRY(fv_read_file(cpath, &text, &len));
    int rc = fv_peft_config_parse(&a->cfg, text, len, cpath);
    free(text);
    if (!rc && m && a->cfg.all_linear) rc = set_all(&a->cfg, m, cpath);
    if (!rc && m) rc = check_targets_in_model(&a->cfg, m, cpath);
    if (rc) return rc;
    fv_safetensors *st;
    FV_TRY(fv_st_open(&st, wpath));
    rc = load_tensors(a, st, m, model_label ? model_label : "the model", cpath);
    fv_st_close(st);
    if (rc) fv_peft_free(a);
    return rc;
}

int fv_peft_save(const fv_peft_adapter *a, const char *dir) {
    if (a->cfg.r <= 0 || !a->n_mods) return fv_err("%s: refusing to save an empty adapter", dir);
    char path[1024];
    FV_TRY(fv_mkdirs(dir));
    if (fv_path_join(path, sizeof path, dir, FV_PEFT_WEIGHTS_FILE)) return fv_err("%s: path too long", dir);
    size_t n = 2 * a->n_mods;
    fv_st_out *t = calloc(n, sizeof *t);
    char(*names)[128] = calloc(n, sizeof *names);
    int64_t(*shapes)[2] = calloc(n, sizeof *shapes);
    int rc = t && names && shapes ? 0 : fv_err("%s: out of memory", dir);
    for (size_t i = 0; !rc && i < a->n_mods; i++) {
        const fv_peft_module *mod = &a->mods[i];
        for (int f = 0; f < 2; f++) {
            size_t k = 2 * i + f;
            snprintf(names[k], sizeof names[k], KEY_PREFIX "%s%s", mod->name, f ? SUFFIX_B : SUFFIX_A);
            shapes[k][0] = f ? (int64_t)mod->out : (int64_t)a->cfg.r;
            shapes[k][1] = f ? (int64_t)a->cfg.r : (int64_t)mod->in;
            t[k] = (fv_st_out){names[k], 2, shapes[k], f ? mod->B : mod->A, FV_DT_F32, FV_DT_F32};
        }
    }
    /* the weights first: a config beside weights it does not describe is the worse half-state */
    if (!rc) rc = fv_st_write(path, t, n, NULL);
    if (!rc && fv_path_join(path, sizeof path, dir, FV_PEFT_CONFIG_FILE)) rc = fv_err("%s: path too long", dir);
    if (!rc) rc = fv_peft_config_save(&a->cfg, path);
    free(t);
    free(names);
    free(shapes);
    return rc;
}
