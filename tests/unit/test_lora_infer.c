/* LoRA adapters at inference (model/t5_lora.h, issue #13's inference half) against the PyTorch
 * reference (tests/fixtures/reference lora_qv, lora_all: PEFT semantics, det base and adapter,
 * the packed batch of packed_grads): the adapter is written as a PEFT directory (io/peft.h) and
 * attached through the real loader; then the teacher-forced forward's logits at the recorded
 * columns, target log-probs and loss (max relative error <= 1e-4, fp32 against float64 truth),
 * `flanvk merge`'s checkpoint against the unmerged model (logits within 1e-5, as the issue asks),
 * greedy ids of the unmerged and the merged model (identical: the decode step applies the
 * adapter too), and the adapter on a q8 base (the loss within the q8 tolerance of
 * test_t5_reference, 3e-2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "io/merge.h"
#include "io/peft.h"
#include "model/t5.h"
#include "model/t5_forward.h"
#include "model/t5_generate.h"
#include "model/t5_lora.h"
#include "support/fixture.h"

static int passed, failed;

static void report(const char *what, double err, double tol) {
    int ok = err <= tol;
    printf("%-52s max rel err %.2e (tol %.0e) %s\n", what, err, tol, ok ? "OK" : "FAIL");
    ok ? passed++ : failed++;
}

static void fail_error(const char *what) {
    printf("%-52s FAIL: %s\n", what, fv_last_error());
    failed++;
}

/* The case's adapter as a PEFT directory. */
static int write_adapter(const fv_fixture *f, const fv_t5_config *mc, const char *dir) {
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(f->json, "lora");
    fv_peft_config c;
    fv_peft_config_defaults(&c);
    c.r = (int)cJSON_GetObjectItemCaseSensitive(l, "r")->valuedouble;
    c.lora_alpha = cJSON_GetObjectItemCaseSensitive(l, "lora_alpha")->valuedouble;
    FV_TRY(fv_peft_set_targets(&c, cJSON_GetObjectItemCaseSensitive(l, "targets_arg")->valuestring, mc, f->name));
    fv_peft_adapter a;
    FV_TRY(fv_peft_init(&a, &c, mc, 1));
    int rc = 0;
    for (size_t i = 0; !rc && i < a.n_mods; i++) {
        fv_peft_module *p = &a.mods[i];
        char key[192];
        size_t n;
        snprintf(key, sizeof key, "adapter.base_model.model.%s.lora_A.weight", p->name);
        const float *A = fv_fixture_array(f, key, &n);
        if (!A || n != (size_t)c.r * p->in) rc = fv_err("%s: no array %s of %u values", f->name, key, c.r * p->in);
        else memcpy(p->A, A, n * 4);
        snprintf(key, sizeof key, "adapter.base_model.model.%s.lora_B.weight", p->name);
        const float *B = rc ? NULL : fv_fixture_array(f, key, &n);
        if (!rc && (!B || n != (size_t)c.r * p->out)) rc = fv_err("%s: no array %s", f->name, key);
        else if (!rc) memcpy(p->B, B, n * 4);
    }
    if (!rc) rc = fv_peft_save(&a, dir);
    fv_peft_free(&a);
    return rc;
}

/* The packed batch's logits [B*Td, V] and per-token losses through the teacher-forced forward. */
static int forward(fv_t5 *m, const fv_fixture *f, fv_hbatch *h, float **logits, float **loss) {
    fv_t5_fwd *fw = NULL;
    fv_graph *g = NULL;
    uint32_t nd = h->B * h->Td, V = (uint32_t)m->cfg.vocab_size;
    fv_t5_host_batch hb = fv_t5_host_arrays_view(h);
    *logits = malloc((size_t)nd * V * 4);
    *loss = malloc((size_t)nd * 4);
    int rc = !*logits || !*loss ? fv_err("out of host memory") : 0;
    rc = rc || fv_t5_fwd_create(m, h->B, h->Te, h->Td, 1, &fw) || fv_t5_batch_upload(m, &fw->in, &hb) ||
         fv_graph_create(m->d, &g) || fv_graph_begin(g) || fv_t5_fwd_record(g, fw) || fv_graph_end(g) ||
         fv_graph_run(g) || fv_rowsplit_read(m->d, &fw->logits, 0, *logits, (uint64_t)nd * V) ||
         fv_buf_read(m->d, fw->loss, 0, *loss, (uint64_t)nd * 4);
    (void)f;
    fv_graph_destroy(g);
    fv_t5_fwd_free(fw);
    return rc;
}

/* got[B*Td, V] at the case's columns, real tokens only, against ref [B, Td, ncols]. */
static double column_err(const fv_fixture *f, const fv_hbatch *h, const float *got, uint32_t V, const char *key) {
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(f->json, "logit_columns");
    size_t nc = (size_t)cJSON_GetArraySize(cols), n;
    const float *ref = fv_fixture_array(f, key, &n);
    if (!ref || n != (size_t)h->B * h->Td * nc) return INFINITY;
    float *a = malloc(n * 4), *b = malloc(n * 4);
    size_t k = 0;
    for (size_t t = 0; t < (size_t)h->B * h->Td; t++) {
        if (!h->dseg[t]) continue;
        for (size_t c = 0; c < nc; c++, k++) {
            a[k] = got[t * V + (uint32_t)cJSON_GetArrayItem(cols, (int)c)->valuedouble];
            b[k] = ref[t * nc + c];
        }
    }
    double e = fv_rel_err(a, b, k);
    free(a);
    free(b);
    return e;
}

static double mean_loss(const fv_hbatch *h, const float *loss) {
    double s = 0;
    uint32_t n = 0;
    for (size_t t = 0; t < (size_t)h->B * h->Td; t++)
        if (h->lab[t] >= 0) s += loss[t], n++;
    return s / (n ? n : 1);
}

static void greedy(fv_t5 *m, const fv_hbatch *h, fv_gen_out *out) {
    /* the first example of each packed row as a prompt: its encoder tokens up to the first </s> */
    fv_gen_opts o;
    fv_gen_opts_default(&o);
    o.max_new_tokens = 8;
    const uint32_t *ids[2];
    uint32_t lens[2];
    for (uint32_t b = 0; b < 2 && b < h->B; b++) {
        ids[b] = h->eid + (size_t)b * h->Te;
        lens[b] = 0;
        while (lens[b] < h->Te && h->eseg[(size_t)b * h->Te + lens[b]] == 1) lens[b]++;
    }
    if (fv_t5_generate(m, ids, lens, h->B < 2 ? h->B : 2, &o, out)) fail_error("generate");
}

static void run_case(fv_dev *d, const char *name) {
    fv_fixture f;
    char dir[64], adir[96], mdir[96];
    if (fv_fixture_load(&f, name)) return fail_error(name);
    fv_hbatch h;
    fv_fixture_packed_batch(&f, &h);
    fv_t5 *m = NULL, *mm = NULL, *mq = NULL;
    float *lg = NULL, *ls = NULL, *lg2 = NULL, *ls2 = NULL, *lg3 = NULL, *ls3 = NULL;
    char what[128];
    if (fv_fixture_det_model(&f, d, dir) || fv_t5_load(d, dir, &m, NULL, NULL)) {
        fail_error(name);
        goto out;
    }
    snprintf(adir, sizeof adir, "%s/adapter", dir);
    snprintf(mdir, sizeof mdir, "%s/merged", dir);
    uint32_t V = (uint32_t)m->cfg.vocab_size;
    if (write_adapter(&f, &m->cfg, adir) || fv_t5_lora_attach(m, adir, dir) || forward(m, &f, &h, &lg, &ls)) {
        fail_error(name);
        goto out;
    }
    snprintf(what, sizeof what, "%s unmerged logits at %d columns", name,
             cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f.json, "logit_columns")));
    report(what, column_err(&f, &h, lg, V, "logits.columns"), 1e-4);
    size_t n;
    const float *tlp = fv_fixture_array(&f, "target_logprob", &n);
    float *got = malloc(n * 4), *ref = malloc(n * 4);
    size_t k = 0;
    for (size_t t = 0; tlp && t < n; t++)
        if (h.lab[t] >= 0) got[k] = -ls[t], ref[k++] = tlp[t];
    snprintf(what, sizeof what, "%s target log-probs", name);
    report(what, tlp ? fv_rel_err(got, ref, k) : INFINITY, 1e-4);
    free(got);
    free(ref);
    float want = (float)cJSON_GetObjectItemCaseSensitive(f.json, "loss")->valuedouble, have = (float)mean_loss(&h, ls);
    snprintf(what, sizeof what, "%s loss %.6f vs %.6f", name, have, want);
    report(what, fv_rel_err(&have, &want, 1), 1e-4);
    /* merged checkpoint = unmerged model */
    fv_merge_stats mst;
    if (fv_merge(dir, adir, mdir, -1, NULL, NULL, &mst) || fv_t5_load(d, mdir, &mm, NULL, NULL) ||
        forward(mm, &f, &h, &lg2, &ls2)) {
        fail_error("merge");
        goto out;
    }
    snprintf(what, sizeof what, "%s merged vs unmerged logits (all)", name);
    report(what, fv_rel_err(lg2, lg, (size_t)h.B * h.Td * V), 1e-5);
    snprintf(what, sizeof what, "%s merged logits vs reference", name);
    report(what, column_err(&f, &h, lg2, V, "merged_logits.columns"), 1e-4);
    fv_gen_out g1[2] = {{0}}, g2[2] = {{0}};
    greedy(m, &h, g1);
    greedy(mm, &h, g2);
    for (int b = 0; b < 2; b++) {
        int same = g1[b].n == g2[b].n && (!g1[b].n || !memcmp(g1[b].ids, g2[b].ids, g1[b].n * 4));
        snprintf(what, sizeof what, "%s greedy, adapter vs merged #%d", name, b);
        printf("%-52s %s\n", what, same ? "ids identical OK" : "ids differ FAIL");
        same ? passed++ : failed++;
        free(g1[b].ids);
        free(g2[b].ids);
    }
    /* the adapter on a q8 base */
    int wt = FV_WT_Q8;
    if (fv_t5_load_typed(d, dir, &wt, &mq, NULL, NULL) || fv_t5_lora_attach(mq, adir, dir) || forward(mq, &f, &h, &lg3, &ls3)) {
        fail_error("q8 base");
        goto out;
    }
    have = (float)mean_loss(&h, ls3);
    snprintf(what, sizeof what, "%s q8 base + adapter loss %.6f", name, have);
    report(what, fv_rel_err(&have, &want, 1), 3e-2);
out:
    free(lg), free(ls), free(lg2), free(ls2), free(lg3), free(ls3);
    fv_t5_free(m);
    fv_t5_free(mm);
    fv_t5_free(mq);
    fv_fixture_rmdir(dir);
    fv_hbatch_free(&h);
    fv_fixture_free(&f);
}

int main(void) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    run_case(d, "lora_qv");
    run_case(d, "lora_all");
    if (d->validation_messages) {
        printf("validation layer messages: %d FAIL\n", d->validation_messages);
        failed++;
    }
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
