/* flanvk's T5 against the independent PyTorch reference (tests/fixtures/reference, made by
 * tools/make_reference_vectors.py): deterministic weights written as a HF checkpoint and loaded by
 * the real loader; then encoder output, logits, per-token log-probabilities and the loss of a
 * padded batch (relative error <= 1e-4: fp32 against float64 truth, where an fp32 PyTorch run
 * itself differs by ~1e-6), and greedy and beam-search ids (identical).
 *
 * --weights f16|bf16|q8: the same model with its linear weights stored in that type (issue #12's
 * fidelity check against the f32 truth). Tolerances (max relative error of every compared array)
 * from the rounding of the weights: f16 (2^-11 per weight) 3e-3, bf16 (2^-8) 2e-2, q8 (half a
 * scale step, ~1/254 of a block's largest weight) 3e-2; measured worst 1.4e-3, 1.0e-2 and 1.1e-2
 * (small_gated's encoder rows). Generated ids: f16 and bf16 identical to the f32 truth; q8 changes
 * an argmax where the reference's two best tokens are close (these are random weights, whose
 * logits are nearly flat), so q8 requires >= 80% of the sequences identical and prints the rest.
 * The KV cache is f16 with 16-bit weights where the device allows (--kv-cache f32|f16 forces it):
 * generation then also reads fp16 keys and values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "model/t5.h"
#include "model/t5_forward.h"
#include "model/t5_generate.h"
#include "support/fixture.h"
#include "vk/memory.h"

static int passed, failed;
static double TOL = 1e-4;
static int wtype = FV_WT_F32; /* --weights TYPE: the model's linear weights stored as TYPE */
static const char *kv_cache;  /* --kv-cache f32|f16 (NULL: the default for the weights and device) */
static const double TYPE_TOL[4] = {1e-4, 3e-3, 2e-2, 3e-2};

static void report(const char *what, double err, double tol) {
    int ok = err <= tol;
    printf("%-44s max rel err %.2e (tol %.0e) %s\n", what, err, tol, ok ? "OK" : "FAIL");
    ok ? passed++ : failed++;
}

static void expect(int ok, const char *what, const char *detail) {
    printf("%-44s %s %s\n", what, detail, ok ? "OK" : "FAIL");
    ok ? passed++ : failed++;
}

/* Generated sequences: identical for f32, f16, bf16; for q8 counted (see the top comment). */
static int gen_total, gen_same;
static void expect_ids(int same, const char *what) {
    gen_total++;
    gen_same += same;
    if (wtype != FV_WT_Q8) expect(same, what, "ids identical");
    else printf("%-44s ids %s\n", what, same ? "identical" : "differ (q8: counted)");
}

static void fail_error(const char *what) {
    printf("%-44s FAIL: %s\n", what, fv_last_error());
    failed++;
}

typedef struct {
    uint32_t n;
    uint32_t **ids, *lens;
} id_lists;

static id_lists lists(const cJSON *arr) {
    id_lists l = {0};
    l.n = (uint32_t)cJSON_GetArraySize(arr);
    l.ids = calloc(l.n, sizeof *l.ids);
    l.lens = calloc(l.n, sizeof *l.lens);
    for (uint32_t i = 0; i < l.n; i++) {
        size_t k;
        l.ids[i] = fv_fixture_ids(cJSON_GetArrayItem(arr, (int)i), &k);
        l.lens[i] = (uint32_t)k;
    }
    return l;
}

static void lists_free(id_lists *l) {
    for (uint32_t i = 0; i < l->n; i++) free(l->ids[i]);
    free(l->ids);
    free(l->lens);
}

/* Compare generated ids with a reference sequence that starts with the decoder start token. */
static int same_ids(const fv_gen_out *o, const uint32_t *ref, size_t nref) {
    if (o->n + 1 != nref) return 0;
    for (uint32_t i = 0; i < o->n; i++)
        if (o->ids[i] != ref[i + 1]) return 0;
    return 1;
}

static void check_generation(const char *name, fv_t5 *m, const fv_fixture *f, const id_lists *in) {
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(f->json, "generation");
    fv_gen_opts o;
    fv_gen_opts_default(&o);
    o.max_new_tokens = (uint32_t)cJSON_GetObjectItemCaseSensitive(gen, "max_new_tokens")->valuedouble;
    char what[128];
    fv_gen_out *out = calloc(in->n, sizeof *out);
    /* greedy, the whole batch at once (rows of different lengths) */
    if (fv_t5_generate(m, (const uint32_t *const *)in->ids, in->lens, in->n, &o, out)) {
        snprintf(what, sizeof what, "%s greedy", name);
        fail_error(what);
    } else {
        const cJSON *greedy = cJSON_GetObjectItemCaseSensitive(gen, "greedy");
        for (uint32_t i = 0; i < in->n; i++) {
            size_t nref;
            uint32_t *ref = fv_fixture_ids(cJSON_GetArrayItem(greedy, (int)i), &nref);
            snprintf(what, sizeof what, "%s greedy (batch of %u) #%u", name, in->n, i);
            expect_ids(same_ids(&out[i], ref, nref), what);
            free(ref);
            free(out[i].ids);
        }
    }
    const cJSON *beam;
    cJSON_ArrayForEach(beam, cJSON_GetObjectItemCaseSensitive(gen, "beam")) {
        o.num_beams = (uint32_t)cJSON_GetObjectItemCaseSensitive(beam, "num_beams")->valuedouble;
        o.length_penalty = (float)cJSON_GetObjectItemCaseSensitive(beam, "length_penalty")->valuedouble;
        o.early_stopping = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(beam, "early_stopping"));
        const cJSON *seqs = cJSON_GetObjectItemCaseSensitive(beam, "sequences");
        for (uint32_t i = 0; i < in->n; i++) { /* the reference ran each example alone */
            snprintf(what, sizeof what, "%s beam k%u lp%.1f es%d #%u", name, o.num_beams, o.length_penalty,
                     o.early_stopping, i);
            fv_gen_out one = {0};
            if (fv_t5_generate(m, (const uint32_t *const *)&in->ids[i], &in->lens[i], 1, &o, &one)) {
                fail_error(what);
                continue;
            }
            size_t nref;
            uint32_t *ref = fv_fixture_ids(cJSON_GetArrayItem(seqs, (int)i), &nref);
            expect_ids(same_ids(&one, ref, nref), what);
            free(ref);
            free(one.ids);
        }
    }
    free(out);
}

/* The padded batch through the teacher-forced forward. */
static void check_forward(const char *name, fv_t5 *m, const fv_fixture *f, const id_lists *in, const id_lists *tg) {
    uint32_t B = in->n, Te = 0, Td = 0, V = (uint32_t)m->cfg.vocab_size, D = (uint32_t)m->cfg.d_model;
    for (uint32_t i = 0; i < B; i++) {
        Te = in->lens[i] > Te ? in->lens[i] : Te;
        Td = tg->lens[i] > Td ? tg->lens[i] : Td;
    }
    size_t ne = (size_t)B * Te, nd = (size_t)B * Td;
    fv_hbatch h;
    fv_hbatch_alloc(&h, B, Te, Td);
    uint32_t *eid = h.eid, *did = h.did;
    int32_t *eseg = h.eseg, *epos = h.epos, *dseg = h.dseg, *dpos = h.dpos, *lab = h.lab;
    for (uint32_t b = 0; b < B; b++) {
        for (uint32_t t = 0; t < in->lens[b]; t++) {
            eid[b * Te + t] = in->ids[b][t];
            eseg[b * Te + t] = 1;
            epos[b * Te + t] = (int32_t)t;
        }
        for (uint32_t t = 0; t < Td; t++) {
            int real = t < tg->lens[b];
            did[b * Td + t] = real ? (t ? tg->ids[b][t - 1] : 0) : 0;
            dseg[b * Td + t] = real;
            dpos[b * Td + t] = (int32_t)t;
            lab[b * Td + t] = real ? (int32_t)tg->ids[b][t] : -100;
        }
    }
    fv_t5_fwd *fw = NULL;
    fv_graph *g = NULL;
    char what[128];
    snprintf(what, sizeof what, "%s forward", name);
    fv_t5_host_batch hb = fv_t5_host_arrays_view(&h);
    if (fv_t5_fwd_create(m, B, Te, Td, 1, &fw) || fv_t5_batch_upload(m, &fw->in, &hb) || fv_graph_create(m->d, &g) ||
        fv_graph_begin(g) || fv_t5_fwd_record(g, fw) || fv_graph_end(g) || fv_graph_run(g)) {
        fail_error(what);
        goto out;
    }
    float *enc = malloc(ne * D * 4), *logits = malloc(nd * V * 4), *loss = malloc(nd * 4);
    if (fv_buf_read(m->d, fw->enc_out, 0, enc, ne * D * 4) || fv_rowsplit_read(m->d, &fw->logits, 0, logits, nd * V) ||
        fv_buf_read(m->d, fw->loss, 0, loss, nd * 4)) {
        fail_error(what);
    } else {
        size_t n;
        for (uint32_t b = 0; b < B; b++) {
            char key[64];
            snprintf(key, sizeof key, "encoder_out.%u", b);
            const float *ref = fv_fixture_array(f, key, &n);
            if (ref) {
                snprintf(what, sizeof what, "%s encoder output #%u", name, b);
                report(what, fv_rel_err(enc + (size_t)b * Te * D, ref, n), TOL);
            }
            snprintf(key, sizeof key, "target_logprob.%u", b);
            ref = fv_fixture_array(f, key, &n);
            if (ref) {
                float *lp = malloc(n * 4);
                for (size_t t = 0; t < n; t++) lp[t] = -loss[b * Td + t];
                snprintf(what, sizeof what, "%s target log-probs #%u", name, b);
                report(what, fv_rel_err(lp, ref, n), TOL);
                free(lp);
            }
        }
        const float *ref = fv_fixture_array(f, "logits.1", &n);
        if (ref) {
            snprintf(what, sizeof what, "%s logits #1 [%u x %u]", name, tg->lens[1], V);
            report(what, fv_rel_err(logits + (size_t)Td * V, ref, n), TOL);
        }
        double sum = 0;
        uint32_t count = 0;
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t t = 0; t < tg->lens[b]; t++, count++) sum += loss[b * Td + t];
        float got = (float)(sum / count), want = (float)cJSON_GetObjectItemCaseSensitive(f->json, "loss")->valuedouble;
        snprintf(what, sizeof what, "%s loss %.6f vs %.6f", name, got, want);
        report(what, fv_rel_err(&got, &want, 1), TOL);
        /* flan-t5-small shapes: the stored rows and top-20 logits */
        const float *first = fv_fixture_array(f, "encoder_out.first_row", &n);
        if (first) {
            snprintf(what, sizeof what, "%s encoder output first row", name);
            report(what, fv_rel_err(enc, first, n), TOL);
            const float *last = fv_fixture_array(f, "encoder_out.last_row", &n);
            snprintf(what, sizeof what, "%s encoder output last row", name);
            report(what, fv_rel_err(enc + (size_t)(in->lens[0] - 1) * D, last, n), TOL);
            const float *top = fv_fixture_array(f, "top20_logit", &n);
            const int32_t *top_id = fv_fixture_array(f, "top20_id", NULL);
            const cJSON *pos = cJSON_GetObjectItemCaseSensitive(f->json, "top20_positions");
            int k = 0;
            const cJSON *p;
            float got20[20 * 8];
            cJSON_ArrayForEach(p, pos) {
                for (int j = 0; j < 20 && k * 20 + j < (int)(sizeof got20 / 4); j++)
                    got20[k * 20 + j] = logits[(size_t)p->valuedouble * V + (uint32_t)top_id[k * 20 + j]];
                k++;
            }
            snprintf(what, sizeof what, "%s top-20 logits at %d positions", name, k);
            report(what, fv_rel_err(got20, top, (size_t)k * 20), TOL);
        }
    }
    free(enc);
    free(logits);
    free(loss);
out:
    fv_graph_destroy(g);
    fv_t5_fwd_free(fw);
    fv_hbatch_free(&h);
}

static void run_case(fv_dev *d, const char *name) {
    fv_fixture f;
    char dir[64];
    if (fv_fixture_load(&f, name)) {
        fail_error(name);
        return;
    }
    fv_t5 *m = NULL;
    int wt = wtype;
    if (fv_fixture_det_model(&f, d, dir) || fv_t5_load_typed(d, dir, &wt, &m, NULL, NULL) ||
        fv_t5_set_kv_cache(m, kv_cache)) {
        fail_error(name);
    } else {
        id_lists in = lists(cJSON_GetObjectItemCaseSensitive(f.json, "inputs"));
        id_lists tg = lists(cJSON_GetObjectItemCaseSensitive(f.json, "targets"));
        check_forward(name, m, &f, &in, &tg);
        check_generation(name, m, &f, &in);
        lists_free(&in);
        lists_free(&tg);
    }
    fv_t5_free(m);
    fv_fixture_rmdir(dir);
    fv_fixture_free(&f);
}

int main(int argc, char **argv) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    const char *cases[] = {"tiny_gated", "tiny_relu_tied", "tiny_gated_v40", "small_gated"};
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
            enum fv_wtype t;
            if (fv_wtype_parse(argv[++i], &t)) {
                printf("%s\n", fv_last_error());
                return 2;
            }
            wtype = (int)t;
            TOL = TYPE_TOL[t];
        } else if (!strcmp(argv[i], "--kv-cache") && i + 1 < argc) {
            kv_cache = argv[++i];
        } else only = argv[i];
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!only || strstr(cases[i], only)) run_case(d, cases[i]);
    if (wtype != FV_WT_F32 || kv_cache) {
        fv_t5 *probe = NULL;
        fv_t5_config pc;
        int kv16 = -1;
        if (!fv_t5_config_preset(&pc, "tiny") && !fv_t5_create_typed(d, &pc, (enum fv_wtype)wtype, &probe) &&
            !fv_t5_set_kv_cache(probe, kv_cache))
            kv16 = probe->kv_f16;
        fv_t5_free(probe);
        printf("weights %s, KV cache %s, decode attention %s\n", fv_wtype_name((enum fv_wtype)wtype),
               kv16 < 0 ? "?" : kv16 ? "f16" : "f32", getenv("FLANVK_DISABLE_ATTN_DECODE") ? "general (fallback)" : "fused where available");
    }
    if (wtype == FV_WT_Q8 && gen_total) {
        char detail[64];
        snprintf(detail, sizeof detail, "%d of %d sequences identical (>= 80%%)", gen_same, gen_total);
        expect(gen_same * 5 >= gen_total * 4, "q8 generated ids", detail);
    }
    /* Under a profile with a device-local host-visible window (amd-windows) the decode steps'
     * tokens, positions and masks went through it, written directly (vk/memory.h FV_MEM_UPLOAD). */
    fv_mem_counts mc;
    fv_mem_counters(d, &mc);
    if (mc.window_budget) {
        char detail[96];
        snprintf(detail, sizeof detail, "%llu direct accesses, %llu fallbacks", (unsigned long long)mc.window_direct,
                 (unsigned long long)mc.window_fallbacks);
        expect(mc.window_direct >= 20 && mc.window_fallbacks == 0, "per-step inputs in the device-local host-visible window", detail);
    }
    if (d->validation_messages) {
        printf("validation layer messages: %d FAIL\n", d->validation_messages);
        failed++;
    }
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
