/* The T5 training step (model/t5_train_step.h) against the PyTorch reference gradients of the
 * packed_grads fixture (tests/fixtures/reference): deterministic weights loaded from a HF
 * checkpoint, a packed batch of 2 rows (encoder 32, decoder 16); the loss (rel err <= 1e-4) and
 * the gradient of every parameter (max|got-ref| / max|ref| <= 1e-3 per tensor; the two vocab-sized
 * matrices by their stored rows and full Frobenius norm). Then: the same five examples unpacked
 * and padded give the same loss and gradients; replaying the recorded step is bit-identical; with
 * dropout, a new seed changes the gradients and the same seed reproduces them; gradient
 * checkpointing (recomputing each block in the backward) gives bit-identical loss and gradients,
 * without and with dropout (which includes the attention probabilities' dropout); with dropout at
 * a fixed seed, directional finite differences along the gradient.
 *
 * `test_t5_grads bench [small|base|... [B [Te [Td [ckpt]]]]]` instead times one step of a preset
 * (default flan-t5-small, B=8, 512 input / 128 target tokens, random init) and prints the peak
 * device memory; `ckpt` turns gradient checkpointing on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "check/check.h"
#include "model/t5_train_step.h"
#include "support/fixture.h"

static int passed, failed;

static void report(const char *what, double err, double tol) {
    int ok = err <= tol;
    printf("%-66s rel err %.2e (tol %.0e) %s\n", what, err, tol, ok ? "OK" : "FAIL");
    ok ? passed++ : failed++;
}

static void expect(int ok, const char *what) {
    printf("%-66s %s\n", what, ok ? "OK" : "FAIL");
    ok ? passed++ : failed++;
}

static void fail_error(const char *what) {
    printf("%-66s FAIL: %s\n", what, fv_last_error());
    failed++;
}

/* The same examples, one per row, padded (HF layout: decoder inputs = targets shifted right). */
static void padded_batch(const fv_fixture *f, fv_hbatch *h) {
    const cJSON *row, *ex;
    uint32_t B = 0, Te = 0, Td = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(f->json, "examples")) cJSON_ArrayForEach(ex, row) {
        uint32_t a = (uint32_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ex, "inputs"));
        uint32_t b = (uint32_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ex, "targets"));
        Te = a > Te ? a : Te, Td = b > Td ? b : Td, B++;
    }
    fv_hbatch_alloc(h, B, Te, Td);
    uint32_t r = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(f->json, "examples")) cJSON_ArrayForEach(ex, row) {
        size_t ni, nt;
        uint32_t *in = fv_fixture_ids(cJSON_GetObjectItemCaseSensitive(ex, "inputs"), &ni);
        uint32_t *tg = fv_fixture_ids(cJSON_GetObjectItemCaseSensitive(ex, "targets"), &nt);
        for (uint32_t t = 0; t < Te; t++) {
            h->eid[r * Te + t] = t < ni ? in[t] : 0;
            h->eseg[r * Te + t] = t < ni;
            h->epos[r * Te + t] = (int32_t)t;
        }
        for (uint32_t t = 0; t < Td; t++) {
            int real = t < nt;
            h->did[r * Td + t] = real && t ? tg[t - 1] : 0;
            h->dseg[r * Td + t] = real;
            h->dpos[r * Td + t] = (int32_t)t;
            h->lab[r * Td + t] = real ? (int32_t)tg[t] : -100;
        }
        free(in), free(tg), r++;
    }
}

/* Every tensor of a table (parameters or gradients), concatenated in table order. */
static float *read_table(fv_dev *d, const fv_t5_param *params, size_t nparams, uint64_t total) {
    float *all = malloc(total * 4), *p = all;
    for (size_t i = 0; all && i < nparams; i++) {
        const fv_t5_param *q = &params[i];
        uint64_t n = (uint64_t)q->rows * (q->cols ? q->cols : 1);
        if (fv_t5_param_read(d, q, p)) {
            free(all);
            return NULL;
        }
        p += n;
    }
    return all;
}

static float *read_grads(const fv_t5_grads *gr, uint64_t total) {
    return read_table(gr->m->d, gr->params, gr->nparams, total);
}

typedef struct {
    fv_t5_train *t;
    fv_graph *g;
} step;

static int step_make_ex(fv_t5 *m, fv_t5_grads *gr, const fv_hbatch *h, float dropout, int ckpt, step *s) {
    memset(s, 0, sizeof *s);
    fv_t5_host_batch hb;
    fv_hbatch_view(h, &hb);
    fv_t5_train_opts o = {.dropout = dropout, .checkpointing = ckpt};
    FV_TRY(fv_t5_train_create_ex(m, gr, h->B, h->Te, h->Td, &o, &s->t));
    FV_TRY(fv_t5_batch_upload(m, &s->t->in, &hb));
    FV_TRY(fv_graph_create(m->d, &s->g));
    FV_TRY(fv_graph_begin(s->g));
    FV_TRY(fv_t5_train_record(s->g, s->t, 1));
    return fv_graph_end(s->g);
}

static int step_make(fv_t5 *m, fv_t5_grads *gr, const fv_hbatch *h, float dropout, step *s) {
    return step_make_ex(m, gr, h, dropout, 0, s);
}

static void step_free(step *s) {
    fv_graph_destroy(s->g);
    fv_t5_train_free(s->t);
}

/* Replay and read loss + all gradients. */
static float *run(step *s, const fv_t5_grads *gr, uint64_t total, uint32_t seed, double *loss) {
    double sum;
    uint32_t count;
    if (fv_t5_train_set_seed(s->t, seed) || fv_graph_run(s->g) || fv_t5_train_read_loss(s->t, &sum, &count)) return NULL;
    *loss = count ? sum / count : 0;
    return read_grads(gr, total);
}

static int is_vocab(const char *name) { return !strcmp(name, "shared.weight") || !strcmp(name, "lm_head.weight"); }

/* Compare every tensor with the fixture; print one line per tensor. */
static void check_reference(const fv_fixture *f, const fv_t5_grads *gr, const float *got) {
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(f->json, "embedding_grad_rows");
    const cJSON *norms = cJSON_GetObjectItemCaseSensitive(f->json, "grad_frobenius_norm");
    double worst = 0;
    const char *worst_name = "";
    const float *p = got;
    for (size_t i = 0; i < gr->nparams; i++) {
        const fv_t5_param *q = &gr->params[i];
        size_t n = (size_t)q->rows * (q->cols ? q->cols : 1), nref;
        char key[160], what[200];
        if (is_vocab(q->name)) {
            snprintf(key, sizeof key, "grad.%s.rows", q->name);
            const float *ref = fv_fixture_array(f, key, &nref);
            size_t nr = (size_t)cJSON_GetArraySize(rows);
            float *sel = malloc(nr * q->cols * 4);
            for (size_t r = 0; r < nr; r++)
                memcpy(sel + r * q->cols, p + (size_t)cJSON_GetArrayItem(rows, (int)r)->valuedouble * q->cols, q->cols * 4);
            snprintf(what, sizeof what, "grad %s (%zu rows)", q->name, nr);
            double e = ref && nref == nr * q->cols ? fv_rel_err(sel, ref, nref) : INFINITY;
            report(what, e, 1e-3);
            free(sel);
            double ss = 0;
            for (size_t k = 0; k < n; k++) ss += (double)p[k] * p[k];
            float gn = (float)sqrt(ss), rn = (float)cJSON_GetObjectItemCaseSensitive(norms, q->name)->valuedouble;
            snprintf(what, sizeof what, "grad %s Frobenius norm %.6f vs %.6f", q->name, gn, rn);
            report(what, fv_rel_err(&gn, &rn, 1), 1e-4);
            if (e > worst) worst = e, worst_name = q->name;
        } else {
            snprintf(key, sizeof key, "grad.%s", q->name);
            const float *ref = fv_fixture_array(f, key, &nref);
            double e = ref && nref == n ? fv_rel_err(p, ref, n) : INFINITY;
            snprintf(what, sizeof what, "grad %s", q->name);
            report(what, e, 1e-3);
            if (e > worst) worst = e, worst_name = q->name;
        }
        p += n;
    }
    printf("worst gradient: %s, rel err %.2e\n", worst_name, worst);
}

/* Per-tensor relative error of b against a; the worst one. */
static double worst_diff(const fv_t5_grads *gr, const float *a, const float *b, const char **name) {
    double worst = 0;
    size_t o = 0;
    for (size_t i = 0; i < gr->nparams; i++) {
        const fv_t5_param *q = &gr->params[i];
        size_t n = (size_t)q->rows * (q->cols ? q->cols : 1);
        double e = fv_rel_err(b + o, a + o, n);
        if (!(e <= worst)) worst = e, *name = q->name;
        o += n;
    }
    return worst;
}

/* Directional derivative along the gradient restricted to tensors whose name contains `filter`
 * (all if NULL): (L(w + e u) - L(w - e u)) / 2e against |g_sel| with u = g_sel / |g_sel|. Covers
 * the configurations the fixture does not (tied head with its d_model^-0.5 scale, ReLU). */
static void check_direction(fv_t5 *m, const fv_t5_grads *gr, step *s, const float *g, const char *filter,
                            const char *label) {
    uint64_t total = m->nvalues;
    float *w = read_table(m->d, m->params, m->nparams, total);
    float *wp = malloc(total * 4);
    double norm2 = 0, lp = 0, lm = 0, e = 1e-2;
    size_t o = 0;
    for (size_t i = 0; i < gr->nparams; i++) {
        size_t n = (size_t)gr->params[i].rows * (gr->params[i].cols ? gr->params[i].cols : 1);
        if (!filter || strstr(gr->params[i].name, filter))
            for (size_t k = 0; k < n; k++) norm2 += (double)g[o + k] * g[o + k];
        o += n;
    }
    double norm = sqrt(norm2);
    int rc = !w || !wp || norm == 0;
    for (int sign = -1; !rc && sign <= 1; sign += 2) {
        o = 0;
        for (size_t i = 0; !rc && i < m->nparams; i++) {
            const fv_t5_param *q = &m->params[i];
            size_t n = (size_t)q->rows * (q->cols ? q->cols : 1);
            int sel = !filter || strstr(q->name, filter);
            for (size_t k = 0; k < n; k++) wp[o + k] = w[o + k] + (sel ? (float)(sign * e * g[o + k] / norm) : 0.0f);
            rc = fv_t5_param_write(m->d, q, wp + o);
            o += n;
        }
        double sum;
        uint32_t count;
        if (!rc) rc = fv_graph_run(s->g) || fv_t5_train_read_loss(s->t, &sum, &count);
        if (!rc) *(sign < 0 ? &lm : &lp) = sum / count;
    }
    o = 0; /* restore */
    for (size_t i = 0; w && i < m->nparams; i++) {
        const fv_t5_param *q = &m->params[i];
        size_t n = (size_t)q->rows * (q->cols ? q->cols : 1);
        fv_t5_param_write(m->d, q, w + o);
        o += n;
    }
    char what[160];
    float fd = (float)((lp - lm) / (2 * e)), an = (float)norm;
    snprintf(what, sizeof what, "%s: dL/du %.5f (finite diff) vs |g| %.5f", label, fd, an);
    if (rc) fail_error(what);
    else report(what, fv_rel_err(&fd, &an, 1), 1e-2);
    free(w);
    free(wp);
}

/* tiny_relu_tied (det weights) on the packed batch: finite differences along the gradient. */
static void run_tied(fv_dev *d, const fv_hbatch *h) {
    fv_fixture f;
    char dir[64] = "";
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    step s = {0};
    float *g = NULL;
    double loss;
    if (fv_fixture_load(&f, "tiny_relu_tied")) {
        fail_error("tiny_relu_tied fixture");
        return;
    }
    if (fv_fixture_det_model(&f, d, dir) || fv_t5_load(d, dir, &m, NULL, NULL) || fv_t5_grads_create(m, &gr) ||
        step_make(m, gr, h, 0.0f, &s) || !(g = run(&s, gr, m->nvalues, 0, &loss))) {
        fail_error("tiny_relu_tied step");
    } else {
        check_direction(m, gr, &s, g, NULL, "relu tied, all tensors");
        check_direction(m, gr, &s, g, "shared", "relu tied, shared.weight (head + embeddings)");
        check_direction(m, gr, &s, g, "DenseReluDense.wi.", "relu tied, wi");
        check_direction(m, gr, &s, g, "relative_attention_bias", "relu tied, relative_attention_bias");
    }
    free(g);
    step_free(&s);
    fv_t5_grads_free(gr);
    fv_t5_free(m);
    if (dir[0]) fv_fixture_rmdir(dir);
    fv_fixture_free(&f);
}

/* The gradient norm plan over the table against the host's norm of the same gradients; then
 * micro-batches (one row each, host-written scale 1 / all target tokens, gradients accumulated)
 * against the whole batch. */
static void check_norm_and_accumulation(fv_t5 *m, fv_t5_grads *gr, const fv_hbatch *h, const float *g1, double want) {
    fv_gradnorm_plan *plan = NULL;
    fv_buf *scratch = NULL, *norm = NULL;
    fv_graph *gn = NULL, *gz = NULL, *gs = NULL;
    fv_t5_train *t = NULL;
    float got = 0;
    double ss = 0;
    for (uint64_t i = 0; i < m->nvalues; i++) ss += (double)g1[i] * g1[i];
    float ref = (float)sqrt(ss);
    if (fv_t5_grads_norm_plan(gr, &plan) ||
        fv_buf_alloc(m->d, 4ull * fv_gradnorm_scratch_size(plan), FV_MEM_DEVICE, "norm scratch", &scratch) ||
        fv_buf_alloc(m->d, 4, FV_MEM_HOST, "norm", &norm) || fv_graph_create(m->d, &gn) || fv_graph_begin(gn) ||
        fv_gradnorm(gn, plan, fv_tensor(scratch, 0), fv_tensor(norm, 0)) || fv_graph_end(gn) || fv_graph_run(gn) ||
        fv_buf_read(m->d, norm, 0, &got, 4)) {
        fail_error("gradient norm over the table");
    } else {
        char what[128];
        snprintf(what, sizeof what, "gradient norm (gradnorm plan) %.6f vs host %.6f", got, ref);
        report(what, fv_rel_err(&got, &ref, 1), 1e-5);
    }
    uint32_t total = 0;
    for (size_t i = 0; i < (size_t)h->B * h->Td; i++) total += h->lab[i] >= 0;
    double sum = 0, s1;
    uint32_t c1;
    int rc = fv_t5_train_create(m, gr, 1, h->Te, h->Td, 0.0f, &t);
    if (!rc) {
        t->host_scale = 1;
        rc = fv_t5_train_set_scale(t, 1.0f / (float)total) || fv_graph_create(m->d, &gz) || fv_graph_begin(gz) ||
             fv_t5_grads_zero(gz, gr) || fv_graph_end(gz) || fv_graph_create(m->d, &gs) || fv_graph_begin(gs) ||
             fv_t5_train_record(gs, t, 0) || fv_graph_end(gs) || fv_graph_run(gz);
    }
    for (uint32_t r = 0; !rc && r < h->B; r++) {
        size_t e = (size_t)r * h->Te, d = (size_t)r * h->Td;
        fv_t5_host_batch hb = {h->eid + e, h->did + d, h->eseg + e, h->epos + e, h->dseg + d, h->dpos + d, h->lab + d};
        rc = fv_t5_batch_upload(m, &t->in, &hb) || fv_graph_run(gs) || fv_t5_train_read_loss(t, &s1, &c1);
        sum += s1;
    }
    float *ga = rc ? NULL : read_grads(gr, m->nvalues);
    if (!ga) {
        fail_error("micro-batches");
    } else {
        const char *wn = "";
        char what[160];
        float lf = (float)(sum / total), wf = (float)want;
        snprintf(what, sizeof what, "%u micro-batches of 1 row: loss %.6f", h->B, sum / total);
        report(what, fv_rel_err(&lf, &wf, 1), 1e-4);
        double e = worst_diff(gr, g1, ga, &wn);
        snprintf(what, sizeof what, "%u micro-batches: accumulated gradients, worst %s", h->B, wn);
        report(what, e, 1e-4);
    }
    free(ga);
    fv_graph_destroy(gn), fv_graph_destroy(gz), fv_graph_destroy(gs);
    fv_t5_train_free(t);
    fv_buf_free(m->d, scratch), fv_buf_free(m->d, norm);
    fv_gradnorm_plan_destroy(m->d, plan);
}

/* Gradient checkpointing against the stored-activation step: without dropout (g0, loss0) and
 * with dropout 0.1 at seed 1 (gd, lossd): loss and every gradient bit-identical. */
static void check_checkpointing(fv_t5 *m, fv_t5_grads *gr, const fv_hbatch *h, const float *g0, double loss0,
                                const float *gd, double lossd) {
    step s0 = {0}, s1 = {0};
    float *c0 = NULL, *c1 = NULL;
    double l0 = 0, l1 = 0, want0 = 0;
    /* the stored run's loss of g0 (loss0 is the fixture's): rerun it for an exact comparison */
    step sr = {0};
    float *r0 = NULL;
    if (step_make(m, gr, h, 0.0f, &sr) || !(r0 = run(&sr, gr, m->nvalues, 0, &want0)) ||
        step_make_ex(m, gr, h, 0.0f, 1, &s0) || !(c0 = run(&s0, gr, m->nvalues, 0, &l0)) ||
        step_make_ex(m, gr, h, 0.1f, 1, &s1) || !(c1 = run(&s1, gr, m->nvalues, 1, &l1))) {
        fail_error("checkpointed step");
    } else {
        const char *wn = "";
        char what[160];
        double e0 = worst_diff(gr, g0, c0, &wn);
        snprintf(what, sizeof what, "checkpointing: loss %.6f (ref %.6f), grads bit-identical (worst %.1e)", l0, loss0, e0);
        expect(l0 == want0 && !memcmp(g0, c0, m->nvalues * 4), what);
        double e1 = worst_diff(gr, gd, c1, &wn);
        snprintf(what, sizeof what, "checkpointing, dropout 0.1: loss %.6f, grads bit-identical (worst %.1e)", l1, e1);
        expect(l1 == lossd && !memcmp(gd, c1, m->nvalues * 4), what);
    }
    free(r0), free(c0), free(c1);
    step_free(&sr), step_free(&s0), step_free(&s1);
}

static void run_reference(fv_dev *d) {
    fv_fixture f;
    char dir[64] = "";
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    step s = {0}, sp = {0}, sd = {0};
    fv_hbatch hp = {0}, hq = {0};
    float *g1 = NULL, *g2 = NULL, *gpad = NULL, *d1 = NULL, *d2 = NULL, *d3 = NULL;
    if (fv_fixture_load(&f, "packed_grads")) {
        fail_error("packed_grads fixture");
        return;
    }
    if (fv_fixture_det_model(&f, d, dir) || fv_t5_load(d, dir, &m, NULL, NULL) || fv_t5_grads_create(m, &gr)) {
        fail_error("packed_grads model");
        goto out;
    }
    uint64_t total = m->nvalues;
    double want = cJSON_GetObjectItemCaseSensitive(f.json, "loss")->valuedouble, loss, loss2;
    char what[160];
    fv_fixture_packed_batch(&f, &hp);
    if (step_make(m, gr, &hp, 0.0f, &s) || !(g1 = run(&s, gr, total, 0, &loss))) {
        fail_error("packed step");
        goto out;
    }
    snprintf(what, sizeof what, "packed loss %.6f vs %.6f (B=%u, %u/%u)", loss, want, hp.B, hp.Te, hp.Td);
    float lf = (float)loss, wf = (float)want;
    report(what, fv_rel_err(&lf, &wf, 1), 1e-4);
    check_reference(&f, gr, g1);

    if (!(g2 = run(&s, gr, total, 0, &loss2))) {
        fail_error("packed step replay");
        goto out;
    }
    expect(loss2 == loss && !memcmp(g1, g2, total * 4), "replay: loss and every gradient bit-identical");
    check_norm_and_accumulation(m, gr, &hp, g1, want);

    padded_batch(&f, &hq);
    if (step_make(m, gr, &hq, 0.0f, &sp) || !(gpad = run(&sp, gr, total, 0, &loss2))) {
        fail_error("padded step");
        goto out;
    }
    lf = (float)loss2;
    snprintf(what, sizeof what, "padded loss %.6f vs reference (B=%u, %u/%u)", loss2, hq.B, hq.Te, hq.Td);
    report(what, fv_rel_err(&lf, &wf, 1), 1e-4);
    const char *wn = "";
    double e = worst_diff(gr, g1, gpad, &wn);
    snprintf(what, sizeof what, "padded vs packed gradients, worst %s", wn);
    report(what, e, 1e-4);

    if (step_make(m, gr, &hp, 0.1f, &sd) || !(d1 = run(&sd, gr, total, 1, &loss)) ||
        !(d2 = run(&sd, gr, total, 2, &loss2))) {
        fail_error("dropout step");
        goto out;
    }
    double l3;
    d3 = run(&sd, gr, total, 1, &l3);
    e = worst_diff(gr, d1, d2, &wn);
    snprintf(what, sizeof what, "dropout 0.1: seeds 1/2 losses %.5f/%.5f, grads differ (%.1e)", loss, loss2, e);
    expect(loss != loss2 && e > 1e-3, what);
    expect(d3 && l3 == loss && !memcmp(d1, d3, total * 4), "dropout 0.1: seed 1 again bit-identical");
    e = worst_diff(gr, g1, d1, &wn);
    check_checkpointing(m, gr, &hp, g1, want, d1, loss);
    /* the step with dropout (attention probabilities included) at a fixed seed is a fixed
     * function of the weights: its gradient against finite differences */
    if (!fv_t5_train_set_seed(sd.t, 1)) {
        check_direction(m, gr, &sd, d1, NULL, "dropout 0.1 seed 1, all tensors");
        check_direction(m, gr, &sd, d1, "Attention", "dropout 0.1 seed 1, attention tensors");
    }
    run_tied(d, &hp);
    printf("dropout 0.1 vs no dropout: loss %.5f vs %.5f, gradients differ by %.1e (%s)\n", loss, want, e, wn);
out:
    free(g1), free(g2), free(gpad), free(d1), free(d2), free(d3);
    fv_hbatch_free(&hp), fv_hbatch_free(&hq);
    step_free(&s), step_free(&sp), step_free(&sd);
    fv_t5_grads_free(gr);
    fv_t5_free(m);
    if (dir[0]) fv_fixture_rmdir(dir);
    fv_fixture_free(&f);
}

/* flan-t5-small, B packed rows of Te/Td tokens (4 segments per row), random init and tokens. */
static void run_bench(fv_dev *d, const char *preset, uint32_t B, uint32_t Te, uint32_t Td, int ckpt) {
    fv_t5_config cfg;
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    step s = {0};
    fv_hbatch h = {0};
    fv_mem_reset_peak(d);
    if (fv_t5_config_preset(&cfg, preset) || fv_t5_create(d, &cfg, &m) || fv_t5_init_weights(m, 1) ||
        fv_t5_grads_create(m, &gr)) {
        fail_error("bench model");
        goto out;
    }
    fv_hbatch_alloc(&h, B, Te, Td);
    uint64_t x = 12345;
    for (uint32_t r = 0; r < B; r++) {
        for (uint32_t t = 0; t < Te; t++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            h.eid[r * Te + t] = (uint32_t)(x >> 33) % (uint32_t)cfg.vocab_size;
            h.eseg[r * Te + t] = 1 + (int32_t)(t / (Te / 4));
            h.epos[r * Te + t] = (int32_t)(t % (Te / 4));
        }
        for (uint32_t t = 0; t < Td; t++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            h.did[r * Td + t] = (uint32_t)(x >> 33) % (uint32_t)cfg.vocab_size;
            h.lab[r * Td + t] = (int32_t)((x >> 13) % (uint32_t)cfg.vocab_size);
            h.dseg[r * Td + t] = 1 + (int32_t)(t / (Td / 4));
            h.dpos[r * Td + t] = (int32_t)(t % (Td / 4));
        }
    }
    double t0 = fv_bench_now(), loss;
    if (step_make_ex(m, gr, &h, 0.1f, ckpt, &s)) {
        fail_error("bench step");
        goto out;
    }
    double t1 = fv_bench_now();
    for (int i = 0; i < 3; i++) {
        double a = fv_bench_now();
        uint32_t count;
        double sum;
        if (fv_t5_train_set_seed(s.t, (uint32_t)i) || fv_graph_run(s.g) || fv_t5_train_read_loss(s.t, &sum, &count)) {
            fail_error("bench replay");
            goto out;
        }
        loss = sum / count;
        printf("%s B=%u %u/%u: step %d %.3f s, loss %.4f (%u tokens)\n", preset, B, Te, Td, i, fv_bench_now() - a, loss,
               count);
    }
    fv_graph *fg = NULL; /* the blocks' forward alone, to split the step's time */
    if (!fv_graph_create(d, &fg) && !fv_graph_begin(fg) && !fv_t5_train_forward(fg, s.t) && !fv_graph_end(fg)) {
        double a = fv_bench_now();
        if (!fv_graph_run(fg)) printf("%s: forward through the blocks alone %.3f s\n", preset, fv_bench_now() - a);
    }
    fv_graph_destroy(fg);
    printf("%s%s: record %.2f s, %u dispatches, %u barriers, peak device memory %.1f MiB (params %.1f MiB)\n", preset,
           ckpt ? " (gradient checkpointing)" : "", t1 - t0, fv_graph_num_dispatches(s.g), fv_graph_num_barriers(s.g), fv_mem_peak(d) / 1048576.0,
           m->nvalues * 4 / 1048576.0);
    expect(loss == loss && loss > 0, "bench step loss is finite");
out:
    fv_hbatch_free(&h);
    step_free(&s);
    fv_t5_grads_free(gr);
    fv_t5_free(m);
}

int main(int argc, char **argv) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    if (argc > 1 && !strcmp(argv[1], "bench"))
        run_bench(d, argc > 2 ? argv[2] : "small", argc > 3 ? (uint32_t)atoi(argv[3]) : 8,
                  argc > 4 ? (uint32_t)atoi(argv[4]) : 512, argc > 5 ? (uint32_t)atoi(argv[5]) : 128,
                  argc > 6 && !strcmp(argv[6], "ckpt"));
    else
        run_reference(d);
    if (d->validation_messages) {
        printf("validation layer messages: %d FAIL\n", d->validation_messages);
        failed++;
    }
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
