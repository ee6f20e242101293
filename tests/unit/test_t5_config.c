/* T5 config.json parsing/writing (against published Flan-T5 and T5 configs), presets, the T5 tensor
 * list (parameter counts of the published models), and checking checkpoints against a config. */
#define _POSIX_C_SOURCE 200809L
#include "base/error.h"
#include "io/safetensors.h"
#include "io/t5_config.h"
#include "io/t5_tensors.h"
#include "support/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static const char *P(const char *name) { return unit_path(dir, name); }

/* google/flan-t5-small config.json as published (task_specific_params trimmed). */
static const char *flan_small =
    "{\"architectures\": [\"T5ForConditionalGeneration\"], \"d_ff\": 1024, \"d_kv\": 64, \"d_model\": 512,"
    " \"decoder_start_token_id\": 0, \"dense_act_fn\": \"gelu_new\", \"dropout_rate\": 0.1, \"eos_token_id\": 1,"
    " \"feed_forward_proj\": \"gated-gelu\", \"initializer_factor\": 1.0, \"is_encoder_decoder\": true,"
    " \"is_gated_act\": true, \"layer_norm_epsilon\": 1e-06, \"model_type\": \"t5\", \"n_positions\": 512,"
    " \"num_decoder_layers\": 8, \"num_heads\": 6, \"num_layers\": 8, \"output_past\": true, \"pad_token_id\": 0,"
    " \"relative_attention_max_distance\": 128, \"relative_attention_num_buckets\": 32,"
    " \"task_specific_params\": {\"summarization\": {\"prefix\": \"summarize: \"}}, \"tie_word_embeddings\": false,"
    " \"torch_dtype\": \"float32\", \"transformers_version\": \"4.23.1\", \"use_cache\": true, \"vocab_size\": 32128}";

/* t5-small (original T5): no feed_forward_proj, no tie_word_embeddings, no num_decoder_layers. */
static const char *t5_small =
    "{\"architectures\": [\"T5ForConditionalGeneration\"], \"d_ff\": 2048, \"d_kv\": 64, \"d_model\": 512,"
    " \"decoder_start_token_id\": 0, \"dropout_rate\": 0.1, \"eos_token_id\": 1, \"initializer_factor\": 1.0,"
    " \"is_encoder_decoder\": true, \"layer_norm_epsilon\": 1e-06, \"model_type\": \"t5\", \"n_positions\": 512,"
    " \"num_heads\": 8, \"num_layers\": 6, \"output_past\": true, \"pad_token_id\": 0,"
    " \"relative_attention_num_buckets\": 32, \"vocab_size\": 32128}";

static int same(const fv_t5_config *a, const fv_t5_config *b) {
    return a->vocab_size == b->vocab_size && a->d_model == b->d_model && a->d_kv == b->d_kv && a->d_ff == b->d_ff &&
           a->num_layers == b->num_layers && a->num_decoder_layers == b->num_decoder_layers &&
           a->num_heads == b->num_heads && a->relative_attention_num_buckets == b->relative_attention_num_buckets &&
           a->relative_attention_max_distance == b->relative_attention_max_distance &&
           !strcmp(a->feed_forward_proj, b->feed_forward_proj) && !strcmp(a->dense_act_fn, b->dense_act_fn) &&
           a->is_gated_act == b->is_gated_act && a->act == b->act && a->tie_word_embeddings == b->tie_word_embeddings &&
           a->layer_norm_epsilon == b->layer_norm_epsilon && a->decoder_start_token_id == b->decoder_start_token_id &&
           a->eos_token_id == b->eos_token_id && a->pad_token_id == b->pad_token_id &&
           a->dropout_rate == b->dropout_rate && a->initializer_factor == b->initializer_factor &&
           a->is_encoder_decoder == b->is_encoder_decoder;
}

static void test_parse(void) {
    fv_t5_config c, p;
    int rc = fv_t5_config_parse(&c, flan_small, strlen(flan_small), "flan/config.json");
    CHECK(rc == 0, "flan-t5-small: %s", fv_last_error());
    CHECK(c.d_model == 512 && c.d_kv == 64 && c.d_ff == 1024 && c.num_layers == 8 && c.num_decoder_layers == 8 &&
               c.num_heads == 6 && c.vocab_size == 32128 && c.is_gated_act && c.act == FV_T5_ACT_GELU_TANH &&
               !strcmp(c.dense_act_fn, "gelu_new") && !c.tie_word_embeddings && c.layer_norm_epsilon == 1e-6,
           "flan-t5-small fields");
    CHECK(fv_t5_config_preset(&p, "small") == 0 && same(&c, &p), "preset small == published flan-t5-small config");
    rc = fv_t5_config_parse(&c, t5_small, strlen(t5_small), "t5/config.json");
    CHECK(rc == 0 && c.num_decoder_layers == 6 && !c.is_gated_act && c.act == FV_T5_ACT_RELU && c.tie_word_embeddings &&
               c.relative_attention_max_distance == 128,
           "t5-small defaults: %s", fv_last_error());
    const char *gelu = "{\"vocab_size\":10,\"d_model\":8,\"d_kv\":4,\"d_ff\":16,\"num_layers\":1,\"num_heads\":3,"
                       "\"feed_forward_proj\":\"gated-silu\",\"eos_token_id\":[1,2],\"decoder_start_token_id\":null}";
    rc = fv_t5_config_parse(&c, gelu, strlen(gelu), "x.json");
    CHECK(rc == 0 && c.is_gated_act && c.act == FV_T5_ACT_SILU && c.eos_token_id == 1 && c.num_heads * c.d_kv != c.d_model,
           "gated-silu, eos list, inner_dim != d_model: %s", fv_last_error());
    const char *plain = "{\"vocab_size\":10,\"d_model\":8,\"d_kv\":4,\"d_ff\":16,\"num_layers\":1,\"num_heads\":2,"
                        "\"feed_forward_proj\":\"gelu\"}";
    rc = fv_t5_config_parse(&c, plain, strlen(plain), "x.json");
    CHECK(rc == 0 && !c.is_gated_act && c.act == FV_T5_ACT_GELU, "plain gelu is erf gelu: %s", fv_last_error());
}

static void bad(const char *json, const char *needle) {
    fv_t5_config c;
    fv_clear_error();
    int rc = fv_t5_config_parse(&c, json, strlen(json), "m/config.json");
    const char *e = fv_last_error();
    CHECK(rc && strstr(e, "m/config.json") && strstr(e, needle), "expected error with '%s' for %s, got: %s", needle, json,
           rc ? e : "success");
    if (rc) printf("  %s\n", e);
}

#define BASE "\"vocab_size\":100,\"d_kv\":4,\"d_ff\":16,\"num_layers\":1,\"num_heads\":2"

static void test_bad(void) {
    bad("[1]", "not an object");
    bad("{\"d_model\": 8,", "malformed JSON");
    bad("{" BASE "}", "missing key 'd_model'");
    bad("{" BASE ",\"d_model\":0}", "key 'd_model' = 0 is out of range");
    bad("{" BASE ",\"d_model\":\"512\"}", "key 'd_model' must be an integer");
    bad("{" BASE ",\"d_model\":8.5}", "key 'd_model' must be an integer");
    bad("{" BASE ",\"d_model\":1e12}", "key 'd_model' = 1000000000000 is out of range");
    bad("{\"vocab_size\":0,\"d_kv\":4,\"d_ff\":16,\"num_layers\":1,\"num_heads\":2,\"d_model\":8}", "'vocab_size' = 0");
    bad("{\"vocab_size\":100,\"d_kv\":4,\"d_ff\":16,\"num_layers\":1,\"num_heads\":-2,\"d_model\":8}", "'num_heads' = -2");
    bad("{" BASE ",\"d_model\":8,\"num_decoder_layers\":0}", "'num_decoder_layers' = 0");
    bad("{" BASE ",\"d_model\":8,\"layer_norm_epsilon\":0}", "'layer_norm_epsilon'");
    bad("{" BASE ",\"d_model\":8,\"layer_norm_epsilon\":\"1e-6\"}", "'layer_norm_epsilon' must be a number");
    bad("{" BASE ",\"d_model\":8,\"feed_forward_proj\":\"gated-gelu-x\"}", "'feed_forward_proj'");
    bad("{" BASE ",\"d_model\":8,\"feed_forward_proj\":\"fancy-gelu\"}", "'feed_forward_proj'");
    bad("{" BASE ",\"d_model\":8,\"feed_forward_proj\":\"mish\"}", "not a supported activation");
    bad("{" BASE ",\"d_model\":8,\"feed_forward_proj\":7}", "'feed_forward_proj' must be a string");
    bad("{" BASE ",\"d_model\":8,\"tie_word_embeddings\":1}", "'tie_word_embeddings' must be true or false");
    bad("{" BASE ",\"d_model\":8,\"model_type\":\"bert\"}", "'model_type' is 'bert'");
    bad("{" BASE ",\"d_model\":8,\"eos_token_id\":100}", "'eos_token_id' = 100 is out of range");
    bad("{" BASE ",\"d_model\":8,\"relative_attention_num_buckets\":2}", "'relative_attention_num_buckets'");
    bad("{" BASE ",\"d_model\":8,\"relative_attention_max_distance\":4}", "'relative_attention_max_distance'");
    bad("{" BASE ",\"d_model\":8,\"dropout_rate\":1.5}", "'dropout_rate'");
    fv_t5_config c;
    CHECK(fv_t5_config_load(&c, P("nothing_here")) && strstr(fv_last_error(), "nothing_here"), "load missing file");
}

static void test_presets_and_save(void) {
    /* Published parameter counts of google/flan-t5-{small,base,large} (untied lm_head). */
    const struct {
        const char *n;
        int64_t params;
    } want[] = {{"small", 76961152}, {"base", 247577856}, {"large", 783150080}};
    for (int i = 0; i < 3; i++) {
        fv_t5_config c;
        int rc = fv_t5_config_preset(&c, want[i].n);
        int64_t got = rc ? -1 : fv_t5_param_count(&c);
        CHECK(got == want[i].params, "%s: %lld parameters, expected %lld", want[i].n, (long long)got,
               (long long)want[i].params);
        printf("preset %-5s d_model %4d heads %2d x %d d_ff %4d layers %d+%d: %lld parameters\n", want[i].n, c.d_model,
               c.num_heads, c.d_kv, c.d_ff, c.num_layers, c.num_decoder_layers, (long long)got);
        fv_t5_config back;
        rc = fv_t5_config_save(&c, P("config.json"));
        rc = rc ? rc : fv_t5_config_load(&back, dir);
        CHECK(rc == 0 && same(&c, &back), "%s: save/load round trip: %s", want[i].n, fv_last_error());
    }
    fv_t5_config c;
    CHECK(fv_t5_config_preset(&c, "tiny") == 0 && c.d_model == 64 && c.num_heads * c.d_kv == 64, "tiny");
    CHECK(fv_t5_config_preset(&c, "huge") && strstr(fv_last_error(), "huge"), "unknown preset");
    /* The JSON written holds the fields transformers expects. */
    char *text = NULL;
    FILE *f = fopen(P("config.json"), "rb");
    if (f) {
        text = calloc(1, 8192);
        if (text && fread(text, 1, 8191, f) == 0) text[0] = 0;
        fclose(f);
    }
    const char *keys[] = {"\"T5ForConditionalGeneration\"", "\"model_type\":\t\"t5\"", "\"is_gated_act\":\ttrue",
                          "\"dense_act_fn\":\t\"gelu_new\"", "\"tie_word_embeddings\":\tfalse",
                          "\"layer_norm_epsilon\":\t1e-06"};
    for (int i = 0; i < 6; i++) CHECK(text && strstr(text, keys[i]), "config.json lacks %s", keys[i]);
    free(text);
    fv_t5_tensor_spec *s;
    size_t n;
    fv_t5_config_preset(&c, "small");
    CHECK(fv_t5_tensor_specs(&c, &s, &n) == 0, "specs");
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(s[i].name, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"))
            found += s[i].shape[0] == 32 && s[i].shape[1] == 6;
        if (!strcmp(s[i].name, "decoder.block.7.layer.2.DenseReluDense.wi_1.weight"))
            found += s[i].shape[0] == 1024 && s[i].shape[1] == 512;
        if (!strcmp(s[i].name, "encoder.block.3.layer.0.SelfAttention.o.weight"))
            found += s[i].shape[0] == 512 && s[i].shape[1] == 384;
        if (!strcmp(s[i].name, "lm_head.weight")) found += !s[i].optional;
        found -= strstr(s[i].name, "EncDecAttention.relative_attention_bias") != NULL;
        found -= strstr(s[i].name, "block.1.layer.0.SelfAttention.relative_attention_bias") != NULL;
    }
    CHECK(found == 4, "spec names/shapes (%d of 4)", found);
    printf("flan-t5-small: %zu named tensors\n", n);
    free(s);
}

/* Write every tensor of cfg (required ones; with_embed adds the embed_tokens copies), optionally
 * skipping one name, changing one shape, or adding one extra tensor. */
static int write_model(const char *path, const fv_t5_config *cfg, const char *skip, const char *reshape, int with_embed,
                       const char *extra, int shared_as_embed) {
    fv_t5_tensor_spec *s;
    size_t n;
    if (fv_t5_tensor_specs(cfg, &s, &n)) return -1;
    fv_st_out *t = calloc(n + 1, sizeof *t);
    int64_t (*shapes)[2] = calloc(n + 1, sizeof *shapes);
    size_t maxel = 1, k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t el = (size_t)(s[i].shape[0] * (s[i].ndim == 2 ? s[i].shape[1] : 1));
        if (el > maxel) maxel = el;
    }
    float *zeros = calloc(2 * maxel + 8, sizeof *zeros); /* room for the enlarged shape */
    for (size_t i = 0; i < n; i++) {
        if (skip && !strcmp(s[i].name, skip)) continue;
        if (s[i].optional && !(with_embed && strstr(s[i].name, "embed_tokens"))) continue;
        if (shared_as_embed && !strcmp(s[i].name, "shared.weight")) continue;
        shapes[k][0] = s[i].shape[0];
        shapes[k][1] = s[i].shape[1];
        if (reshape && !strcmp(s[i].name, reshape)) shapes[k][0] += 1;
        t[k] = (fv_st_out){.name = s[i].name, .ndim = s[i].ndim, .shape = shapes[k], .data = zeros, .dtype = FV_DT_BF16};
        k++;
    }
    static const int64_t one[1] = {1};
    if (extra) t[k++] = (fv_st_out){.name = extra, .ndim = 1, .shape = one, .data = zeros};
    int rc = fv_st_write(path, t, k, NULL);
    free(zeros);
    free(shapes);
    free(t);
    free(s);
    return rc;
}

static void check_file(const fv_t5_config *cfg, const char *name, int flags, const char *needle) {
    fv_safetensors *st = NULL;
    int rc = fv_st_open(&st, P(name));
    if (!rc) rc = fv_t5_check_tensors(cfg, st, flags);
    const char *e = fv_last_error();
    if (!needle) CHECK(rc == 0, "%s should pass: %s", name, e);
    else {
        CHECK(rc && strstr(e, name) && strstr(e, needle), "%s: expected '%s', got: %s", name, needle, rc ? e : "success");
        if (rc) printf("  %s\n", strrchr(e, '/') ? strrchr(e, '/') + 1 : e);
    }
    fv_st_close(st);
}

static void test_check(void) {
    fv_t5_config c;
    fv_t5_config_preset(&c, "tiny");
    c.vocab_size = 100;
    int rc = write_model(P("ok.safetensors"), &c, NULL, NULL, 0, NULL, 0);
    rc |= write_model(P("embed.safetensors"), &c, NULL, NULL, 1, NULL, 0);
    rc |= write_model(P("noshared.safetensors"), &c, NULL, NULL, 1, NULL, 1);
    rc |= write_model(P("missing.safetensors"), &c, "decoder.block.1.layer.1.EncDecAttention.k.weight", NULL, 0, NULL, 0);
    rc |= write_model(P("shape.safetensors"), &c, NULL, "encoder.block.0.layer.1.DenseReluDense.wi_0.weight", 0, NULL, 0);
    rc |= write_model(P("extra.safetensors"), &c, NULL, NULL, 0, "encoder.block.9.layer.0.SelfAttention.q.weight", 0);
    rc |= write_model(P("nohead.safetensors"), &c, "lm_head.weight", NULL, 0, NULL, 0);
    CHECK(rc == 0, "write models: %s", fv_last_error());
    check_file(&c, "ok.safetensors", FV_T5_CHECK_STRICT, NULL);
    check_file(&c, "embed.safetensors", FV_T5_CHECK_STRICT, NULL);
    check_file(&c, "noshared.safetensors", 0, NULL);
    check_file(&c, "missing.safetensors", 0, "missing tensor 'decoder.block.1.layer.1.EncDecAttention.k.weight' (shape [64, 64])");
    check_file(&c, "shape.safetensors", 0,
               "tensor 'encoder.block.0.layer.1.DenseReluDense.wi_0.weight' has shape [129, 64], expected [128, 64]");
    check_file(&c, "extra.safetensors", 0, NULL);
    check_file(&c, "extra.safetensors", FV_T5_CHECK_STRICT, "'encoder.block.9.layer.0.SelfAttention.q.weight' is not used");
    check_file(&c, "nohead.safetensors", 0, "missing tensor 'lm_head.weight'");
    fv_t5_config tied = c;
    tied.tie_word_embeddings = 1;
    check_file(&tied, "nohead.safetensors", FV_T5_CHECK_STRICT, NULL);
    fv_t5_config relu = c;
    CHECK(fv_t5_config_set_ffn(&relu, "relu") == 0, "set relu");
    check_file(&relu, "ok.safetensors", 0, "missing tensor 'encoder.block.0.layer.1.DenseReluDense.wi.weight'");
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/flanvk_t5_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        printf("cannot create a temporary directory\n0 passed, 1 failed\n");
        return 1;
    }
    test_parse();
    test_bad();
    test_presets_and_save();
    test_check();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("note: could not remove %s\n", dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
