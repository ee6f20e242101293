/* PEFT LoRA adapters (io/peft.h): target lists ("q,v", "all" per FFN kind, unknown names), PEFT's
 * init (A uniform on +-1/sqrt(in) with its mean and variance, B = 0, seeded), the write/read round
 * trip (bit-exact A and B, every config field, PEFT's key names and JSON keys), F16/BF16 tensors read
 * into fp32, the delta s * B A against a direct sum (and rslora's scaling), and every bad input: each
 * one error line naming the file and the problem. */
#define _POSIX_C_SOURCE 200809L
#include "base/error.h"
#include "base/file.h"
#include "base/rng.h"
#include "io/half.h"
#include "io/peft.h"
#include "io/safetensors.h"
#include "io/t5_config.h"
#include "support/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];
static const char *P(const char *name) { return unit_path(dir, name); }

static fv_t5_config tiny(void) {
    fv_t5_config m;
    fv_t5_config_preset(&m, "tiny"); /* d_model 64, inner 64, d_ff 128, 2 + 2 blocks, gated */
    return m;
}

static void test_targets(void) {
    fv_t5_config g = tiny(), r = tiny();
    fv_t5_config_set_ffn(&r, "relu");
    fv_peft_config c;
    fv_peft_config_defaults(&c);
    CHECK(c.n_targets == 2 && !strcmp(c.targets[0], "q") && !strcmp(c.targets[1], "v"), "default targets q, v");
    CHECK(fv_peft_set_targets(&c, "all", &g, "--lora-targets") == 0 && c.n_targets == 7 && !strcmp(c.targets[4], "wi_0"),
          "all (gated): %d targets", c.n_targets);
    CHECK(fv_peft_set_targets(&c, "all", &r, "--lora-targets") == 0 && c.n_targets == 6 && !strcmp(c.targets[4], "wo") &&
              !strcmp(c.targets[5], "wi"),
          "all (relu): %d targets", c.n_targets);
    CHECK(fv_peft_set_targets(&c, "q,k,v,o,wi_0,wi_1,wo", &g, "x") == 0 && c.n_targets == 7, "explicit list");
    CHECK(fv_peft_set_targets(&c, "EncDecAttention.q", &g, "x") == 0, "dotted suffix");
    fv_peft_module *mods;
    size_t n;
    CHECK(fv_peft_plan(&c, &g, &mods, &n) == 0 && n == 2 && !strcmp(mods[0].name, "decoder.block.0.layer.1.EncDecAttention.q"),
          "EncDecAttention.q names the 2 cross-attention q layers: %zu", n);
    free(mods);
    CHECK(fv_peft_set_targets(&c, "q,foo", &g, "--lora-targets") != 0 &&
              strstr(fv_last_error(), "--lora-targets: unknown LoRA target 'foo'"),
          "unknown: %s", fv_last_error());
    printf("  unknown target: %s\n", fv_last_error());
    CHECK(fv_peft_set_targets(&c, "wi", &g, "--lora-targets") != 0 && strstr(fv_last_error(), "names no linear layer"),
          "wi on a gated model: %s", fv_last_error());
    CHECK(fv_peft_set_targets(&c, "all,q", &g, "x") != 0, "all with others");
    CHECK(fv_peft_set_targets(&c, "q,,v", &g, "x") != 0, "empty name");
    CHECK(fv_peft_name_matches("q", "encoder.block.0.layer.0.SelfAttention.q") &&
              !fv_peft_name_matches("q", "encoder.block.0.layer.0.SelfAttention.qq") &&
              !fv_peft_name_matches("wi", "decoder.block.0.layer.2.DenseReluDense.wi_0"),
          "PEFT's suffix rule");
    printf("targets: q,v default; all = 7 (gated) / 6 (relu) layers; suffix rule; unknown names refused\n");
}

static void test_init(void) {
    fv_t5_config m = tiny();
    fv_peft_config c;
    fv_peft_config_defaults(&c);
    c.r = 8;
    c.lora_alpha = 16;
    fv_peft_adapter a, b, d;
    CHECK(fv_peft_init(&a, &c, &m, 42) == 0, "init: %s", fv_last_error());
    CHECK(a.n_mods == 12, "q, v of 2 encoder + 2x2 decoder attentions = 12 modules: %zu", a.n_mods);
    double bound = 1 / sqrt(64.0), sum = 0, sq = 0, amax = 0;
    size_t cnt = 0, bnz = 0;
    for (size_t i = 0; i < a.n_mods; i++) {
        for (size_t j = 0; j < (size_t)c.r * a.mods[i].in; j++, cnt++) {
            double v = a.mods[i].A[j];
            sum += v;
            sq += v * v;
            if (fabs(v) > amax) amax = fabs(v);
        }
        for (size_t j = 0; j < (size_t)c.r * a.mods[i].out; j++) bnz += a.mods[i].B[j] != 0;
    }
    double mean = sum / cnt, var = sq / cnt - mean * mean, want = bound * bound / 3;
    CHECK(amax <= bound && amax > 0.99 * bound, "max |A| %g within bound %g", amax, bound);
    CHECK(fabs(mean) < 0.02 * bound && fabs(var / want - 1) < 0.03, "mean %g, variance %g vs %g", mean, var, want);
    CHECK(bnz == 0, "B zeros: %zu non-zero", bnz);
    printf("init: %zu values of A: max |a| %.5f (bound 1/sqrt(64) = %.5f), mean %.2e, var/(bound^2/3) %.4f; B all 0\n", cnt,
           amax, bound, mean, var / want);
    CHECK(fv_peft_init(&b, &c, &m, 42) == 0 && !memcmp(a.mods[5].A, b.mods[5].A, (size_t)c.r * 64 * 4), "same seed");
    CHECK(fv_peft_init(&d, &c, &m, 43) == 0 && memcmp(a.mods[5].A, d.mods[5].A, (size_t)c.r * 64 * 4), "another seed");
    fv_peft_free(&a);
    fv_peft_free(&b);
    fv_peft_free(&d);
    c.r = 0;
    CHECK(fv_peft_init(&a, &c, &m, 1) != 0 && strstr(fv_last_error(), "must be > 0"), "r 0: %s", fv_last_error());
}

/* A saved adapter with random non-zero A and B (r 4, alpha 8, dropout 0.05, targets q, v, wo). */
static void make_adapter(fv_peft_adapter *a, const fv_t5_config *m, const char *path) {
    fv_peft_config c;
    fv_peft_config_defaults(&c);
    c.r = 4;
    c.lora_alpha = 8;
    c.lora_dropout = 0.05;
    fv_peft_set_targets(&c, "q,v,wo", m, "test");
    snprintf(c.base_model_name_or_path, sizeof c.base_model_name_or_path, "google/flan-t5-tiny");
    CHECK(fv_peft_init(a, &c, m, 5) == 0, "init: %s", fv_last_error());
    fv_rng rng;
    fv_rng_seed(&rng, 9);
    for (size_t i = 0; i < a->n_mods; i++)
        for (size_t j = 0; j < (size_t)c.r * a->mods[i].out; j++) a->mods[i].B[j] = (float)fv_rng_normal(&rng) * 0.1f;
    if (path) CHECK(fv_peft_save(a, path) == 0, "save: %s", fv_last_error());
}

static void test_round_trip(void) {
    fv_t5_config m = tiny();
    fv_peft_adapter a, b, c;
    make_adapter(&a, &m, P("rt"));
    CHECK(fv_peft_load(&b, P("rt"), &m, "tiny") == 0, "load: %s", fv_last_error());
    int same = b.n_mods == a.n_mods && b.cfg.r == 4 && b.cfg.lora_alpha == 8 && b.cfg.lora_dropout == 0.05 &&
               b.cfg.n_targets == 3 && !strcmp(b.cfg.targets[2], "wo") && !strcmp(b.cfg.bias, "none") &&
               !strcmp(b.cfg.task_type, "SEQ_2_SEQ_LM") && !strcmp(b.cfg.peft_type, "LORA") &&
               !strcmp(b.cfg.base_model_name_or_path, "google/flan-t5-tiny") && !b.cfg.fan_in_fan_out;
    for (size_t i = 0; same && i < a.n_mods; i++)
        same = !strcmp(a.mods[i].name, b.mods[i].name) && a.mods[i].in == b.mods[i].in && a.mods[i].out == b.mods[i].out &&
               !memcmp(a.mods[i].A, b.mods[i].A, (size_t)4 * a.mods[i].in * 4) &&
               !memcmp(a.mods[i].B, b.mods[i].B, (size_t)4 * a.mods[i].out * 4);
    CHECK(same, "round trip with the model");
    CHECK(fv_peft_load(&c, P("rt"), NULL, NULL) == 0 && c.n_mods == a.n_mods && c.mods[0].in == 64, "load without a model: %s",
          fv_last_error());
    fv_peft_free(&c);
    /* PEFT's names and JSON */
    fv_safetensors *st;
    CHECK(fv_st_open(&st, P("rt/adapter_model.safetensors")) == 0, "open");
    const fv_st_tensor *ta = fv_st_find(st, "base_model.model.decoder.block.1.layer.2.DenseReluDense.wo.lora_A.weight"),
                       *tb = fv_st_find(st, "base_model.model.decoder.block.1.layer.2.DenseReluDense.wo.lora_B.weight");
    CHECK(ta && tb && ta->shape[0] == 4 && ta->shape[1] == 128 && tb->shape[0] == 64 && tb->shape[1] == 4 &&
              ta->dtype == FV_DT_F32 && fv_st_count(st) == 2 * a.n_mods,
          "PEFT key names, A [r, in], B [out, r]");
    CHECK(fv_st_meta(st, "format") && !strcmp(fv_st_meta(st, "format"), "pt"), "format pt");
    fv_st_close(st);
    char *text;
    size_t len;
    CHECK(fv_read_file(P("rt/adapter_config.json"), &text, &len) == 0, "read config");
    static const char *keys[] = {"\"peft_type\": \"LORA\"", "\"task_type\": \"SEQ_2_SEQ_LM\"", "\"r\": 4,", "\"lora_alpha\": 8,",
                                 "\"lora_dropout\": 0.05,", "\"bias\": \"none\"", "\"fan_in_fan_out\": false",
                                 "\"target_modules\": [\n    \"q\",\n    \"v\",\n    \"wo\"\n  ]", "\"use_rslora\": false",
                                 "\"base_model_name_or_path\": \"google/flan-t5-tiny\"", "\"use_dora\": false"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CHECK(strstr(text, keys[i]), "config has %s:\n%s", keys[i], text);
    free(text);
    printf("round trip: %zu modules bit-exact, config fields equal; PEFT key names and adapter_config.json keys\n", a.n_mods);

    /* delta = s B A */
    const fv_peft_module *mod = fv_peft_find(&b, "encoder.block.1.layer.0.SelfAttention.v");
    CHECK(mod != NULL, "find");
    float *d = malloc((size_t)mod->out * mod->in * 4);
    fv_peft_delta(&b, mod, d);
    double worst = 0;
    for (uint32_t o = 0; o < mod->out; o++)
        for (uint32_t i = 0; i < mod->in; i++) {
            double s = 0;
            for (int k = 0; k < 4; k++) s += (double)mod->B[o * 4 + k] * mod->A[k * mod->in + i];
            worst = fmax(worst, fabs(2.0 * s - d[o * mod->in + i]) / fmax(fabs(2.0 * s), 1e-30));
        }
    CHECK(worst < 1e-7, "delta rel err %g", worst);
    b.cfg.use_rslora = 1;
    CHECK(fv_peft_scaling(&b.cfg) == 8 / 2.0, "rslora scaling alpha / sqrt(r)");
    printf("delta: s * B A (s = 8 / 4) max rel err %.1e vs a direct double sum; rslora scaling 8 / sqrt(4)\n", worst);
    free(d);
    fv_peft_free(&b);

    /* F16 and BF16 tensors read into fp32 */
    size_t n = 2 * a.n_mods;
    fv_st_out *t = calloc(n, sizeof *t);
    char(*names)[128] = calloc(n, sizeof *names);
    int64_t(*shapes)[2] = calloc(n, sizeof *shapes);
    for (size_t i = 0; i < a.n_mods; i++)
        for (int f = 0; f < 2; f++) {
            size_t k = 2 * i + f;
            snprintf(names[k], sizeof names[k], "base_model.model.%s.lora_%c.weight", a.mods[i].name, f ? 'B' : 'A');
            shapes[k][0] = f ? a.mods[i].out : 4;
            shapes[k][1] = f ? 4 : a.mods[i].in;
            t[k] = (fv_st_out){names[k], 2, shapes[k], f ? a.mods[i].B : a.mods[i].A, FV_DT_F32, f ? FV_DT_BF16 : FV_DT_F16};
        }
    fv_mkdirs(P("half"));
    CHECK(fv_st_write(P("half/adapter_model.safetensors"), t, n, NULL) == 0, "write half");
    fv_peft_config_save(&a.cfg, P("half/adapter_config.json"));
    CHECK(fv_peft_load(&c, P("half"), &m, "tiny") == 0, "load F16/BF16: %s", fv_last_error());
    int ok = 1;
    for (size_t i = 0; i < a.n_mods && ok; i++) {
        for (uint32_t j = 0; j < 4 * a.mods[i].in; j++) ok &= c.mods[i].A[j] == fv_f16_to_f32(fv_f32_to_f16(a.mods[i].A[j]));
        for (uint32_t j = 0; j < 4 * a.mods[i].out; j++) ok &= c.mods[i].B[j] == fv_bf16_to_f32(fv_f32_to_bf16(a.mods[i].B[j]));
    }
    CHECK(ok, "F16 A and BF16 B read as their fp32 values");
    printf("F16 lora_A and BF16 lora_B read into fp32 exactly\n");
    fv_peft_free(&c);
    free(t);
    free(names);
    free(shapes);
    fv_peft_free(&a);
}

/* Copy adapter rt to NAME with its config text edited (from -> to) and/or its tensors rewritten
 * without `drop` and with module `rename_from` renamed to `rename_to`, or at rank `rank`. */
static const char *variant(const char *name, const char *from, const char *to, const char *drop, const char *rename_from,
                           const char *rename_to, int rank) {
    char d[300];
    snprintf(d, sizeof d, "%s", P(name));
    fv_mkdirs(d);
    char *text;
    size_t len;
    fv_read_file(P("rt/adapter_config.json"), &text, &len);
    char out[8192];
    char *at = from ? strstr(text, from) : NULL;
    if (at) snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    else snprintf(out, sizeof out, "%s", text);
    if (from && !at) printf("test bug: '%s' not in the config\n", from);
    free(text);
    FILE *f = fopen(unit_path(d, "adapter_config.json"), "w");
    fputs(out, f);
    fclose(f);
    fv_safetensors *st;
    fv_st_open(&st, P("rt/adapter_model.safetensors"));
    size_t n = fv_st_count(st), k = 0;
    fv_st_out *t = calloc(n, sizeof *t);
    char(*names)[160] = calloc(n, sizeof *names);
    int64_t(*shapes)[2] = calloc(n, sizeof *shapes);
    float **bufs = calloc(n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        const fv_st_tensor *s = fv_st_at(st, i);
        if (drop && !strcmp(s->name, drop)) continue;
        const char *hit = rename_from ? strstr(s->name, rename_from) : NULL;
        if (hit) snprintf(names[k], sizeof names[k], "%.*s%s%s", (int)(hit - s->name), s->name, rename_to, hit + strlen(rename_from));
        else snprintf(names[k], sizeof names[k], "%s", s->name);
        shapes[k][0] = s->shape[0];
        shapes[k][1] = s->shape[1];
        if (rank && strstr(s->name, "lora_A")) shapes[k][0] = rank;
        if (rank && strstr(s->name, "lora_B")) shapes[k][1] = rank;
        bufs[k] = calloc((size_t)shapes[k][0] * shapes[k][1], 4);
        if (!rank) fv_st_tensor_f32(st, s, bufs[k]);
        t[k] = (fv_st_out){names[k], 2, shapes[k], bufs[k], FV_DT_F32, FV_DT_F32};
        k++;
    }
    fv_st_write(unit_path(d, "adapter_model.safetensors"), t, k, NULL);
    for (size_t i = 0; i < k; i++) free(bufs[i]);
    free(bufs);
    free(t);
    free(names);
    free(shapes);
    fv_st_close(st);
    return P(name);
}

static void expect_bad(const char *label, const char *d, const fv_t5_config *m, const char *want) {
    fv_peft_adapter a;
    fv_clear_error();
    int rc = fv_peft_load(&a, d, m, "the model tiny");
    const char *e = fv_last_error();
    CHECK(rc != 0 && strstr(e, want) && strstr(e, d) && !strchr(e, '\n'), "%s: want '%s', got '%s'", label, want, e);
    if (!rc) fv_peft_free(&a);
    printf("  %-18s %s\n", label, e);
}

static void test_bad(void) {
    fv_t5_config m = tiny();
    fv_peft_adapter a;
    make_adapter(&a, &m, P("rt"));
    fv_peft_free(&a);
    const char *q0 = "base_model.model.encoder.block.0.layer.0.SelfAttention.q";
    char qb[200];
    snprintf(qb, sizeof qb, "%s.lora_B.weight", q0);
    printf("bad adapters (one line each):\n");
    expect_bad("r = 0", variant("r0", "\"r\": 4", "\"r\": 0", NULL, NULL, NULL, 0), &m, "r = 0: the LoRA rank must be > 0");
    expect_bad("r < 0", variant("rneg", "\"r\": 4", "\"r\": -2", NULL, NULL, NULL, 0), &m, "r = -2");
    expect_bad("alpha = 0", variant("a0", "\"lora_alpha\": 8", "\"lora_alpha\": 0", NULL, NULL, NULL, 0), &m,
               "lora_alpha = 0: must be > 0");
    expect_bad("alpha < 0", variant("aneg", "\"lora_alpha\": 8", "\"lora_alpha\": -16", NULL, NULL, NULL, 0), &m, "lora_alpha = -16");
    expect_bad("rank mismatch", variant("rank", NULL, NULL, NULL, NULL, NULL, 8), &m, "rank 8, but r = 4 in adapter_config.json");
    expect_bad("missing lora_B", variant("nob", NULL, NULL, qb, NULL, NULL, 0), &m, "lora_B.weight' is missing (its lora_A is present)");
    expect_bad("unknown target", variant("unk", "\"wo\"", "\"wx\"", NULL, NULL, NULL, 0), &m, "unknown LoRA target 'wx'");
    expect_bad("target not in model", variant("wi", "\"wo\"", "\"wi\"", NULL, NULL, NULL, 0), &m,
               "LoRA target 'wi' names no linear layer of this model");
    expect_bad("module not in model", variant("blk", NULL, NULL, NULL, "encoder.block.1.", "encoder.block.7.", 0), &m,
               "'encoder.block.7.layer.0.SelfAttention.q' is not a linear layer of the model tiny");
    expect_bad("not targeted", variant("nt", "\"wo\"", "\"k\"", NULL, NULL, NULL, 0), &m, "is not named by target_modules [q, v, k]");
    expect_bad("regex", variant("re", "\"target_modules\": [\n    \"q\",\n    \"v\",\n    \"wo\"\n  ]", "\"target_modules\": \".*q$\"",
                                NULL, NULL, NULL, 0),
               &m, "regex string");
    expect_bad("dora", variant("dora", "\"use_dora\": false", "\"use_dora\": true", NULL, NULL, NULL, 0), &m, "'use_dora' is set");
    expect_bad("rank_pattern", variant("rp", "\"rank_pattern\": {}", "\"rank_pattern\": {\"q\": 2}", NULL, NULL, NULL, 0), &m,
               "'rank_pattern' is set");
    expect_bad("pissa", variant("pissa", "\"init_lora_weights\": true", "\"init_lora_weights\": \"pissa_niter_4\"", NULL, NULL,
                                NULL, 0),
               &m, "init_lora_weights is \"pissa_niter_4\"");
    expect_bad("bias", variant("bias", "\"bias\": \"none\"", "\"bias\": \"all\"", NULL, NULL, NULL, 0), &m, "bias is \"all\"");
    expect_bad("fan_in_fan_out", variant("fifo", "\"fan_in_fan_out\": false", "\"fan_in_fan_out\": true", NULL, NULL, NULL, 0), &m,
               "fan_in_fan_out is true");
    expect_bad("peft_type", variant("ia3", "\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\"", NULL, NULL, NULL, 0), &m,
               "peft_type is \"IA3\"");
    expect_bad("not LoRA tensor", variant("nl", NULL, NULL, NULL, "lora_B", "lora_C", 0), &m, "is not a LoRA weight");
    expect_bad("bad JSON", variant("json", "\"r\": 4,", "\"r\": 4", NULL, NULL, NULL, 0), &m, "malformed JSON");
    /* made for another model: other widths, one more block */
    fv_t5_config wide = m, deep = m;
    wide.d_model = 96;
    deep.num_layers = 3;
    expect_bad("other widths", P("rt"), &wide, "made for another model?");
    expect_bad("other depth", P("rt"), &deep, "no lora_A/lora_B for 'encoder.block.2.layer.0.SelfAttention.q'");
    expect_bad("no directory", P("nothere"), &m, "no adapter_config.json");
    unlink(unit_path(P("r0"), "adapter_model.safetensors"));
    variant("now", NULL, NULL, NULL, NULL, NULL, 0);
    unlink(unit_path(P("now"), "adapter_model.safetensors"));
    expect_bad("no weights", P("now"), &m, "no adapter_model.safetensors");
    /* "all-linear" is read as every linear layer of the model */
    fv_peft_config c;
    fv_peft_config_defaults(&c);
    c.r = 2;
    fv_peft_set_targets(&c, "all", &m, "x");
    fv_peft_init(&a, &c, &m, 1);
    fv_peft_save(&a, P("alllin"));
    fv_peft_free(&a);
    variant("alllin2", NULL, NULL, NULL, NULL, NULL, 0);
    char *text;
    size_t len;
    fv_read_file(P("alllin/adapter_config.json"), &text, &len);
    char *s = strstr(text, "\"target_modules\": ["), *e = s ? strstr(s, "]") : NULL;
    if (s && e) {
        char out[8192];
        snprintf(out, sizeof out, "%.*s\"target_modules\": \"all-linear\"%s", (int)(s - text), text, e + 1);
        FILE *f = fopen(P("alllin/adapter_config.json"), "w");
        fputs(out, f);
        fclose(f);
    }
    free(text);
    CHECK(fv_peft_load(&a, P("alllin"), &m, "tiny") == 0 && a.n_mods == 4 * 2 + 8 * 2 + 6 * 2,
          "all-linear: %zu modules (%s)", a.n_mods, fv_last_error());
    fv_peft_free(&a);
    printf("target_modules \"all-linear\": every linear layer (36 of the tiny model)\n");
}

/* PEFT_KEEP="MODEL:OUT": write a flanvk adapter for MODEL's config (r 4, alpha 8, dropout 0.05,
 * targets q,v,wo, PEFT's init for A, random B so it is not the identity) into OUT and exit: the
 * manual check against PEFT itself (README, "LoRA adapters") loads it with PeftModel.from_pretrained. */
static int keep(const char *spec) {
    char model[512];
    const char *colon = strchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof model) return printf("PEFT_KEEP=MODEL:OUT\n"), 1;
    snprintf(model, sizeof model, "%.*s", (int)(colon - spec), spec);
    fv_t5_config m;
    if (fv_t5_config_load(&m, model)) return printf("%s\n", fv_last_error()), 1;
    fv_peft_adapter a;
    make_adapter(&a, &m, colon + 1);
    snprintf(a.cfg.base_model_name_or_path, sizeof a.cfg.base_model_name_or_path, "%s", model);
    int rc = fv_peft_save(&a, colon + 1);
    printf("wrote %s: %zu modules (%s)\n", colon + 1, a.n_mods, rc ? fv_last_error() : "ok");
    fv_peft_free(&a);
    return rc != 0 || failed;
}

int main(void) {
    if (getenv("PEFT_KEEP")) return keep(getenv("PEFT_KEEP"));
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/flanvk_peft_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        printf("cannot create a temporary directory\n0 passed, 1 failed\n");
        return 1;
    }
    test_targets();
    test_init();
    test_round_trip();
    test_bad();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("note: could not remove %s\n", dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
