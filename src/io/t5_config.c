/* config.json <-> fv_t5_config (see t5_config.h for the rules taken from transformers' T5Config). */
#define _POSIX_C_SOURCE 200809L
#include "io/t5_config.h"

#include "base/error.h"
#include "base/file.h"
#include "io/json_util.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void fv_t5_config_defaults(fv_t5_config *c) {
    memset(c, 0, sizeof *c);
    c->vocab_size = 32128;
    c->d_model = 512;
    c->d_kv = 64;
    c->d_ff = 2048;
    c->num_layers = 6;
    c->num_decoder_layers = 6;
    c->num_heads = 8;
    c->relative_attention_num_buckets = 32;
    c->relative_attention_max_distance = 128;
    strcpy(c->feed_forward_proj, "relu");
    strcpy(c->dense_act_fn, "relu");
    c->act = FV_T5_ACT_RELU;
    c->tie_word_embeddings = 1;
    c->layer_norm_epsilon = 1e-6;
    c->decoder_start_token_id = 0;
    c->eos_token_id = 1;
    c->pad_token_id = 0;
    c->dropout_rate = 0.1;
    c->initializer_factor = 1.0;
    c->is_encoder_decoder = 1;
    c->n_positions = 512;
}

static const struct {
    const char *name;
    int d_model, d_kv, d_ff, layers, heads;
} presets[] = {
    /* google/flan-t5-{small,base,large,xl,xxl} config.json */
    {"tiny", 64, 16, 128, 2, 4},      {"small", 512, 64, 1024, 8, 6},    {"base", 768, 64, 2048, 12, 12},
    {"large", 1024, 64, 2816, 24, 16}, {"xl", 2048, 64, 5120, 24, 32}, {"xxl", 4096, 64, 10240, 24, 64},
};

int fv_t5_config_preset(fv_t5_config *c, const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(name, presets[i].name) != 0) continue;
        fv_t5_config_defaults(c);
        c->d_model = presets[i].d_model;
        c->d_kv = presets[i].d_kv;
        c->d_ff = presets[i].d_ff;
        c->num_layers = c->num_decoder_layers = presets[i].layers;
        c->num_heads = presets[i].heads;
        c->tie_word_embeddings = 0;
        FV_TRY(fv_t5_config_set_ffn(c, "gated-gelu"));
        return fv_t5_config_validate(c, name);
    }
    return fv_err("unknown model preset '%s' (tiny, small, base, large, xl, xxl)", name);
}

static int act_from_name(const char *s, fv_t5_act *out) {
    static const struct {
        const char *n;
        fv_t5_act a;
    } acts[] = {{"relu", FV_T5_ACT_RELU},          {"gelu", FV_T5_ACT_GELU},
                {"gelu_new", FV_T5_ACT_GELU_TANH}, {"gelu_pytorch_tanh", FV_T5_ACT_GELU_TANH},
                {"gelu_fast", FV_T5_ACT_GELU_TANH}, {"silu", FV_T5_ACT_SILU},
                {"swish", FV_T5_ACT_SILU}};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(s, acts[i].n) == 0) {
            *out = acts[i].a;
            return 0;
        }
    return -1;
}

/* T5Config.__init__: split feed_forward_proj on '-'; "gated-ACT" or "ACT"; "gated-gelu" is gelu_new. */
static int derive_act(fv_t5_config *c, const char *file) {
    const char *f = c->feed_forward_proj;
    const char *dash = strchr(f, '-');
    if (!f[0] || (dash && (strncmp(f, "gated-", 6) != 0 || strchr(dash + 1, '-') || !dash[1])))
        return fv_err("%s: key 'feed_forward_proj' = '%s' is not of the form 'gated-ACT' or 'ACT'", file, f);
    c->is_gated_act = dash != NULL;
    snprintf(c->dense_act_fn, sizeof c->dense_act_fn, "%s", dash ? dash + 1 : f);
    if (strcmp(f, "gated-gelu") == 0) strcpy(c->dense_act_fn, "gelu_new");
    return 0;
}

int fv_t5_config_set_ffn(fv_t5_config *c, const char *feed_forward_proj) {
    if (strlen(feed_forward_proj) >= sizeof c->feed_forward_proj)
        return fv_err("feed_forward_proj '%s' is too long", feed_forward_proj);
    strcpy(c->feed_forward_proj, feed_forward_proj);
    FV_TRY(derive_act(c, "config"));
    if (act_from_name(c->dense_act_fn, &c->act))
        return fv_err("feed_forward_proj '%s': activation '%s' is not supported", feed_forward_proj, c->dense_act_fn);
    return 0;
}

int fv_t5_config_validate(fv_t5_config *c, const char *file) {
    fv_t5_config tmp = *c;
    FV_TRY(derive_act(&tmp, file)); /* syntax check only; dense_act_fn / is_gated_act stay as set */
    if (act_from_name(c->dense_act_fn, &c->act))
        return fv_err("%s: key 'dense_act_fn' = '%s' (from feed_forward_proj '%s') is not a supported activation (relu, "
                      "gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, silu, swish)", file, c->dense_act_fn,
                      c->feed_forward_proj);
    const struct {
        const char *k;
        int v, lo, hi;
    } r[] = {
        {"vocab_size", c->vocab_size, 1, 1 << 22},
        {"d_model", c->d_model, 1, 1 << 16},
        {"d_kv", c->d_kv, 1, 1 << 12},
        {"d_ff", c->d_ff, 1, 1 << 18},
        {"num_layers", c->num_layers, 1, 1024},
        {"num_decoder_layers", c->num_decoder_layers, 1, 1024},
        {"num_heads", c->num_heads, 1, 1024},
        /* bidirectional bucketing halves the buckets and then halves again for the exact range */
        {"relative_attention_num_buckets", c->relative_attention_num_buckets, 4, 1 << 16},
        {"relative_attention_max_distance", c->relative_attention_max_distance, c->relative_attention_num_buckets / 2 + 1,
         1 << 24},
        {"decoder_start_token_id", c->decoder_start_token_id, 0, c->vocab_size - 1},
        {"eos_token_id", c->eos_token_id, 0, c->vocab_size - 1},
        {"pad_token_id", c->pad_token_id, 0, c->vocab_size - 1},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return fv_err("%s: key '%s' = %d is out of range [%d, %d]", file, r[i].k, r[i].v, r[i].lo, r[i].hi);
    if (!(c->layer_norm_epsilon > 0 && c->layer_norm_epsilon < 1))
        return fv_err("%s: key 'layer_norm_epsilon' = %g must be in (0, 1)", file, c->layer_norm_epsilon);
    if (!(c->dropout_rate >= 0 && c->dropout_rate < 1))
        return fv_err("%s: key 'dropout_rate' = %g must be in [0, 1)", file, c->dropout_rate);
    if (!(c->initializer_factor > 0))
        return fv_err("%s: key 'initializer_factor' = %g must be positive", file, c->initializer_factor);
    if (!c->is_encoder_decoder) return fv_err("%s: key 'is_encoder_decoder' is false; only encoder-decoder T5 is supported", file);
    return 0;
}

static int get_int(const cJSON *o, const char *k, int req, int *v, const char *file) {
    int64_t x = *v;
    FV_TRY(fv_json_int(o, k, req, INT32_MIN, INT32_MAX, &x, file));
    *v = (int)x;
    return 0;
}

int fv_t5_config_parse(fv_t5_config *c, const char *json, size_t len, const char *file) {
    cJSON *o;
    fv_t5_config_defaults(c);
    FV_TRY(fv_json_parse_object(&o, json, len, file));
    char mt[32] = "t5";
    int rc = fv_json_str(o, "model_type", 0, mt, sizeof mt, file);
    if (!rc && strcmp(mt, "t5") != 0) rc = fv_err("%s: key 'model_type' is '%s', expected 't5'", file, mt);
    c->num_decoder_layers = INT_MIN; /* absent: same as num_layers */
    if (!rc) rc = get_int(o, "vocab_size", 1, &c->vocab_size, file);
    if (!rc) rc = get_int(o, "d_model", 1, &c->d_model, file);
    if (!rc) rc = get_int(o, "d_kv", 1, &c->d_kv, file);
    if (!rc) rc = get_int(o, "d_ff", 1, &c->d_ff, file);
    if (!rc) rc = get_int(o, "num_layers", 1, &c->num_layers, file);
    if (!rc) rc = get_int(o, "num_decoder_layers", 0, &c->num_decoder_layers, file);
    if (!rc) rc = get_int(o, "num_heads", 1, &c->num_heads, file);
    if (!rc) rc = get_int(o, "relative_attention_num_buckets", 0, &c->relative_attention_num_buckets, file);
    if (!rc) rc = get_int(o, "relative_attention_max_distance", 0, &c->relative_attention_max_distance, file);
    if (!rc) rc = get_int(o, "decoder_start_token_id", 0, &c->decoder_start_token_id, file);
    if (!rc) rc = get_int(o, "pad_token_id", 0, &c->pad_token_id, file);
    if (!rc) rc = get_int(o, "n_positions", 0, &c->n_positions, file);
    /* eos_token_id may be a list in transformers; the first entry is the one T5 generation uses. */
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(o, "eos_token_id");
    if (!rc && cJSON_IsArray(eos)) {
        /* range before the cast: converting an out-of-range double to int is undefined behaviour */
        if (!eos->child || !cJSON_IsNumber(eos->child) || !(fabs(eos->child->valuedouble) <= INT_MAX) ||
            eos->child->valuedouble != floor(eos->child->valuedouble))
            rc = fv_err("%s: key 'eos_token_id' must be an integer or a list of integers", file);
        else c->eos_token_id = (int)eos->child->valuedouble;
    } else if (!rc) {
        rc = get_int(o, "eos_token_id", 0, &c->eos_token_id, file);
    }
    if (!rc) rc = fv_json_str(o, "feed_forward_proj", 0, c->feed_forward_proj, sizeof c->feed_forward_proj, file);
    if (!rc) rc = fv_json_bool(o, "tie_word_embeddings", 0, &c->tie_word_embeddings, file);
    if (!rc) rc = fv_json_bool(o, "is_encoder_decoder", 0, &c->is_encoder_decoder, file);
    if (!rc) rc = fv_json_num(o, "layer_norm_epsilon", 0, &c->layer_norm_epsilon, file);
    if (!rc) rc = fv_json_num(o, "dropout_rate", 0, &c->dropout_rate, file);
    if (!rc) rc = fv_json_num(o, "initializer_factor", 0, &c->initializer_factor, file);
    if (!rc && c->num_decoder_layers == INT_MIN) c->num_decoder_layers = c->num_layers;
    if (!rc) rc = derive_act(c, file);
    /* transformers sets the JSON's dense_act_fn / is_gated_act after deriving them, so they win. */
    if (!rc) rc = fv_json_str(o, "dense_act_fn", 0, c->dense_act_fn, sizeof c->dense_act_fn, file);
    if (!rc) rc = fv_json_bool(o, "is_gated_act", 0, &c->is_gated_act, file);
    if (!rc) rc = fv_t5_config_validate(c, file);
    cJSON_Delete(o);
    return rc;
}

int fv_t5_config_load(fv_t5_config *c, const char *path) {
    char p[1024];
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) FV_TRY(fv_path_join(p, sizeof p, path, "config.json"));
    else if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) return fv_err("%s: path too long", path);
    char *text;
    size_t len;
    FV_TRY(fv_read_file(p, &text, &len));
    int rc = fv_t5_config_parse(c, text, len, p);
    free(text);
    return rc;
}

int fv_t5_config_save(const fv_t5_config *c, const char *path) {
    fv_t5_config v = *c;
    FV_TRY(fv_t5_config_validate(&v, path));
    cJSON *o = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("T5ForConditionalGeneration"));
    cJSON_AddNumberToObject(o, "d_ff", v.d_ff);
    cJSON_AddNumberToObject(o, "d_kv", v.d_kv);
    cJSON_AddNumberToObject(o, "d_model", v.d_model);
    cJSON_AddNumberToObject(o, "decoder_start_token_id", v.decoder_start_token_id);
    cJSON_AddStringToObject(o, "dense_act_fn", v.dense_act_fn);
    cJSON_AddNumberToObject(o, "dropout_rate", v.dropout_rate);
    cJSON_AddNumberToObject(o, "eos_token_id", v.eos_token_id);
    cJSON_AddStringToObject(o, "feed_forward_proj", v.feed_forward_proj);
    cJSON_AddNumberToObject(o, "initializer_factor", v.initializer_factor);
    cJSON_AddBoolToObject(o, "is_encoder_decoder", v.is_encoder_decoder);
    cJSON_AddBoolToObject(o, "is_gated_act", v.is_gated_act);
    cJSON_AddNumberToObject(o, "layer_norm_epsilon", v.layer_norm_epsilon);
    cJSON_AddStringToObject(o, "model_type", "t5");
    cJSON_AddNumberToObject(o, "n_positions", v.n_positions);
    cJSON_AddNumberToObject(o, "num_decoder_layers", v.num_decoder_layers);
    cJSON_AddNumberToObject(o, "num_heads", v.num_heads);
    cJSON_AddNumberToObject(o, "num_layers", v.num_layers);
    cJSON_AddNumberToObject(o, "pad_token_id", v.pad_token_id);
    cJSON_AddNumberToObject(o, "relative_attention_max_distance", v.relative_attention_max_distance);
    cJSON_AddNumberToObject(o, "relative_attention_num_buckets", v.relative_attention_num_buckets);
    cJSON_AddBoolToObject(o, "tie_word_embeddings", v.tie_word_embeddings);
    cJSON_AddStringToObject(o, "torch_dtype", "float32");
    cJSON_AddBoolToObject(o, "use_cache", 1);
    cJSON_AddNumberToObject(o, "vocab_size", v.vocab_size);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return fv_err("%s: out of memory", path);
    fv_awrite w;
    int rc = fv_awrite_open(&w, path);
    if (!rc) {
        if ((rc = fv_awrite_put(&w, text, strlen(text))) || (rc = fv_awrite_put(&w, "\n", 1))) {
            fv_awrite_abort(&w);
        } else {
            rc = fv_awrite_commit(&w);
        }
    }
    free(text);
    return rc;
}
