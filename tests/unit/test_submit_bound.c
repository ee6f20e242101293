/* Bounded submissions (FLANVK_MAX_SUBMIT_MS, vk/graph_submit.c): with a small bound a training
 * step (with its AdamW update) and a greedy decode give bit-identical results to the unbounded
 * run; the graph really is submitted in several segments, one per unit while it measures and
 * grouped after; the single-dispatch splits (AdamW over many elements, the LM head's three GEMMs
 * as column ranges) are exact. The bound is read when a graph is created, so the test sets the
 * variable before creating each graph (and each decode session, whose graphs it creates).
 *
 * Marks (vk/graph_mark.c) through the overlapped all-reduce's plan (dist/overlap.h) with the
 * one-process communicator: the step graph copies each bucket of gradients to host staging at
 * the mark after its last write and a second graph copies it back, so a mark placed before a
 * gradient is complete would bring back a partial one; the parameters after two steps must be
 * bit-identical to the unmarked run's, unbounded and in segments. Under FLANVK_VALIDATION=3
 * (ctest validation_strict_train) synchronization validation checks the marks' barriers. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "dist/overlap.h"
#include "model/t5.h"
#include "model/t5_decode.h"
#include "model/t5_train_step.h"
#include "ops/gemm.h"
#include "ops/optim.h"
#include "support/fixture.h"
#include "support/unit.h"
#include "train/data_parallel.h"
#include "train/optimizer.h"

static void set_bound(const char *ms) {
    if (ms) setenv("FLANVK_MAX_SUBMIT_MS", ms, 1);
    else unsetenv("FLANVK_MAX_SUBMIT_MS");
}

static int same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

static void fill_random(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = lo + (hi - lo) * (float)((s >> 40) / (double)(1u << 24));
    }
}

static int upload(fv_dev *d, const float *x, size_t n, const char *what, fv_buf **b) {
    FV_TRY(fv_buf_alloc(d, n * 4, FV_MEM_DEVICE, what, b));
    return fv_buf_write(d, *b, 0, x, n * 4);
}

/* One AdamW step over n elements (state p, m, v) under `bound`; out = p, m, v after it. */
static int adamw_run(fv_dev *d, const char *bound, uint32_t n, float *out, uint32_t *dispatches) {
    float *x = malloc((size_t)n * 4);
    fv_buf *b[5] = {0};
    fv_graph *g = NULL;
    fv_adamw_cfg c = fv_adamw_defaults();
    fv_adamw_hyper h;
    int rc = !x || fv_adamw_hyper_fill(&c, 3, &h);
    const char *names[4] = {"p", "grad", "m", "v"};
    for (int i = 0; !rc && i < 4; i++) {
        fill_random(x, n, 11 + i, i == 3 ? 0.0f : -1.0f, 1.0f);
        rc = upload(d, x, n, names[i], &b[i]);
    }
    if (!rc) rc = upload(d, (const float *)&h, FV_OPT_HYPER_WORDS, "hyper", &b[4]);
    set_bound(bound);
    if (!rc) rc = fv_graph_create(d, &g) || fv_graph_begin(g) ||
                  fv_adamw(g, fv_tensor(b[4], 0), fv_tensor(b[0], 0), fv_tensor(b[1], 0), fv_tensor(b[2], 0),
                           fv_tensor(b[3], 0), n) ||
                  fv_graph_end(g) || fv_graph_run(g);
    set_bound(NULL);
    if (!rc) *dispatches = fv_graph_num_dispatches(g);
    for (int i = 0, k = 0; !rc && i < 4; i++)
        if (i != 1) rc = fv_buf_read(d, b[i], 0, out + (size_t)k++ * n, (size_t)n * 4);
    fv_graph_destroy(g);
    for (int i = 0; i < 5; i++) fv_buf_free(d, b[i]);
    free(x);
    return rc;
}

static void test_adamw_split(fv_dev *d) {
    const uint32_t n = (1u << 20) + 3; /* an odd tail: the scalar shader takes it */
    float *whole = malloc((size_t)n * 12), *split = malloc((size_t)n * 12);
    uint32_t nd_whole = 0, nd_split = 0;
    int rc = !whole || !split || adamw_run(d, NULL, n, whole, &nd_whole) || adamw_run(d, "1", n, split, &nd_split);
    CHECK(!rc, "adamw runs: %s", fv_last_error());
    if (!rc) {
        CHECK(nd_split > 8 * nd_whole, "AdamW over %u elements under a 1 ms bound: %u dispatches, unbounded %u", n,
              nd_split, nd_whole);
        CHECK(same_bits(whole, split, (size_t)n * 12), "AdamW split into %u dispatches is bit-identical", nd_split);
    }
    free(whole);
    free(split);
}

/* The LM head's products at a vocabulary that is no multiple of 256: logits = h W^T (and the
 * transposed copy's NN form), dh = dlogits W, dW += dlogits^T h. */
static int gemm_run(fv_dev *d, const char *bound, int which, float *out, uint32_t *dispatches) {
    const uint32_t R = 48, V = 4000, D = 256;
    fv_gemm_desc p = {.alpha = 0.5f};
    uint32_t na, nb, nc;
    if (which == 0) p.M = R, p.N = V, p.K = D, p.trans_b = 1;         /* logits = h W^T */
    else if (which == 1) p.M = R, p.N = V, p.K = D;                  /* logits = h W^T (W^T stored) */
    else if (which == 2) p.M = R, p.N = D, p.K = V;                  /* dh = dlogits W */
    else p.M = V, p.N = D, p.K = R, p.trans_a = 1, p.beta = 1.0f;    /* dW += dlogits^T h */
    na = p.M * p.K, nb = p.K * p.N, nc = p.M * p.N;
    float *x = malloc((size_t)(na > nb ? (na > nc ? na : nc) : (nb > nc ? nb : nc)) * 4);
    fv_buf *a = NULL, *b = NULL, *c = NULL;
    fv_graph *g = NULL;
    int rc = !x;
    if (!rc) fill_random(x, na, 21 + which, -1, 1), rc = upload(d, x, na, "A", &a);
    if (!rc) fill_random(x, nb, 31 + which, -1, 1), rc = upload(d, x, nb, "B", &b);
    if (!rc) fill_random(x, nc, 41 + which, -1, 1), rc = upload(d, x, nc, "C", &c);
    set_bound(bound);
    if (!rc) rc = fv_graph_create(d, &g) || fv_graph_begin(g) || fv_gemm(g, &p, fv_tensor(a, 0), fv_tensor(b, 0), fv_tensor(c, 0)) ||
                  fv_graph_end(g) || fv_graph_run(g);
    set_bound(NULL);
    if (!rc) *dispatches = fv_graph_num_dispatches(g);
    if (!rc) rc = fv_buf_read(d, c, 0, out, (size_t)nc * 4);
    fv_graph_destroy(g);
    fv_buf_free(d, a);
    fv_buf_free(d, b);
    fv_buf_free(d, c);
    free(x);
    return rc;
}

static void test_gemm_split(fv_dev *d) {
    static const char *what[4] = {"logits h W^T", "logits h (W^T)", "dh = dlogits W", "dW += dlogits^T h"};
    size_t n = 4000 * 256;
    float *whole = malloc(n * 4), *split = malloc(n * 4);
    for (int w = 0; whole && split && w < 4; w++) {
        uint32_t nd_whole = 0, nd_split = 0;
        size_t nc = w < 2 ? 48 * 4000 : w == 2 ? 48 * 256 : 4000 * 256;
        int rc = gemm_run(d, NULL, w, whole, &nd_whole) || gemm_run(d, "1", w, split, &nd_split);
        CHECK(!rc, "%s: %s", what[w], fv_last_error());
        if (rc) continue;
        CHECK(nd_split > nd_whole, "%s under a 1 ms bound: %u dispatches, unbounded %u", what[w], nd_split, nd_whole);
        CHECK(same_bits(whole, split, nc * 4), "%s as %u column ranges is bit-identical", what[w], nd_split);
    }
    free(whole);
    free(split);
}

typedef struct {
    double loss[2];
    float *params;   /* every parameter after the steps, in the model's order */
    size_t nvalues;
    uint32_t first_submits, segments, units, buckets, marks;
} train_result;

/* Two training steps (step graph + AdamW update graph) of the det model on the fixture batch;
 * bucket_mb: run the step through the overlapped all-reduce's marks, buckets of that size. */
static int train_run(fv_dev *d, const char *dir, const fv_hbatch *h, const char *bound, const char *bucket_mb,
                     train_result *res) {
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    fv_t5_train *tr = NULL;
    fv_optimizer *opt = NULL;
    fv_graph *gs = NULL, *gu = NULL;
    fv_optimizer_cfg oc = {.kind = FV_OPT_ADAMW, .adamw = fv_adamw_defaults(), .adafactor = fv_adafactor_defaults()};
    fv_t5_host_batch hb;
    fv_hbatch_view(h, &hb);
    int rc = fv_t5_load(d, dir, &m, NULL, NULL) || fv_t5_grads_create(m, &gr) ||
             fv_t5_train_create(m, gr, h->B, h->Te, h->Td, 0.1f, &tr) ||
             fv_optimizer_create(d, &oc, m->params, gr->params, m->nparams, &opt) || fv_t5_batch_upload(m, &tr->in, &hb) ||
             fv_t5_train_set_seed(tr, 7);
    set_bound(bound);
    if (!rc) rc = fv_graph_create(d, &gs) || fv_graph_begin(gs) || fv_t5_train_record(gs, tr, 1) || fv_graph_end(gs) ||
                  fv_graph_create(d, &gu) || fv_graph_begin(gu) || fv_optimizer_record(opt, gu) || fv_graph_end(gu);
    set_bound(NULL);
    fv_dp dp = {0};
    fv_dist_overlap *ov = NULL;
    if (!rc && bucket_mb) {
        setenv("FLANVK_DIST_BUCKET_MB", bucket_mb, 1);
        rc = fv_dp_create(&dp, m->params, gr->params, m->nparams) ||
             fv_dist_overlap_create(d, gs, dp.grads, dp.ngrads, &ov);
        unsetenv("FLANVK_DIST_BUCKET_MB");
        if (!rc) fv_dist_overlap_size(ov, &res->buckets, &res->marks);
    }
    for (int s = 0; !rc && s < 2; s++) {
        double sum;
        uint32_t count;
        rc = (ov ? fv_dist_overlap_run(ov) : fv_graph_run(gs)) || fv_t5_train_read_loss(tr, &sum, &count) ||
             fv_optimizer_set_step(opt, (uint32_t)s + 1, 1e-3) || fv_graph_run(gu);
        res->loss[s] = count ? sum / count : -1;
        if (s == 0) res->first_submits = (uint32_t)fv_graph_num_submits(gs);
    }
    if (!rc) {
        res->segments = fv_graph_num_segments(gs);
        res->units = fv_graph_num_dispatches(gs);
        res->nvalues = 0;
        for (size_t i = 0; i < m->nparams; i++) res->nvalues += (size_t)m->params[i].rows * m->params[i].cols;
        res->params = malloc(res->nvalues * 4);
        rc = !res->params;
        size_t at = 0;
        for (size_t i = 0; !rc && i < m->nparams; i++) {
            const fv_t5_param *p = &m->params[i];
            size_t k = (size_t)p->rows * p->cols;
            rc = fv_buf_read(d, p->buf, (uint64_t)p->off * 4, res->params + at, k * 4);
            at += k;
        }
    }
    fv_dist_overlap_free(ov);
    fv_dp_free(&dp);
    fv_graph_destroy(gs);
    fv_graph_destroy(gu);
    fv_optimizer_free(opt);
    fv_t5_train_free(tr);
    fv_t5_grads_free(gr);
    fv_t5_free(m);
    return rc;
}

static void test_train(fv_dev *d, const char *dir, const fv_hbatch *h) {
    train_result a = {0}, b = {0}, c = {0}, e = {0}, f = {0};
    int rc = train_run(d, dir, h, NULL, NULL, &a) || train_run(d, dir, h, "1", NULL, &b) ||
             train_run(d, dir, h, "600000", NULL, &c) || train_run(d, dir, h, NULL, "0.01", &e) ||
             train_run(d, dir, h, "1", "0.01", &f);
    CHECK(!rc, "training runs: %s", fv_last_error());
    if (!rc) {
        CHECK(a.segments == 1 && a.first_submits == 1, "unbounded: one submission per replay (%u, %u)", a.segments,
              a.first_submits);
        CHECK(b.first_submits > b.units / 2, "1 ms bound: the measuring replay submits every unit alone (%u submissions, %u dispatches)",
              b.first_submits, b.units);
        CHECK(b.segments > 1 && b.segments <= b.first_submits, "1 ms bound: the step is %u segments after measuring (%u units)",
              b.segments, b.first_submits);
        CHECK(c.first_submits > 1 && c.segments == 1, "600 s bound: measured per unit (%u), then grouped into %u segment",
              c.first_submits, c.segments);
        CHECK(same_bits(a.loss, b.loss, sizeof a.loss) && same_bits(a.loss, c.loss, sizeof a.loss),
              "losses bit-identical (%.9g %.9g / %.9g %.9g)", a.loss[0], a.loss[1], b.loss[0], b.loss[1]);
        CHECK(a.nvalues == b.nvalues && same_bits(a.params, b.params, a.nvalues * 4),
              "every parameter after two steps bit-identical under a 1 ms bound (%zu values)", a.nvalues);
        CHECK(e.marks > 4 && e.buckets >= e.marks && (e.segments == e.marks || e.segments == e.marks + 1),
              "marks: %u buckets of gradients at %u marks, the unbounded step in %u segments", e.buckets, e.marks,
              e.segments);
        CHECK(same_bits(a.loss, e.loss, sizeof a.loss) && a.nvalues == e.nvalues &&
                  same_bits(a.params, e.params, a.nvalues * 4),
              "every gradient copied out at its mark and back: parameters after two steps bit-identical");
        CHECK(f.segments > b.segments / 2 && same_bits(a.loss, f.loss, sizeof a.loss) && a.nvalues == f.nvalues &&
                  same_bits(a.params, f.params, a.nvalues * 4),
              "marks with a 1 ms bound (%u segments): parameters bit-identical", f.segments);
    }
    free(e.params);
    free(f.params);
    free(a.params);
    free(b.params);
    free(c.params);
}

/* Prefill and `steps` greedy decode steps of R rows; logits of every step into out. */
static int decode_run(fv_dev *d, const char *dir, const char *bound, uint32_t steps, float *out, size_t cap,
                      uint64_t *submits) {
    enum { R = 2, TE = 12 };
    fv_t5 *m = NULL;
    fv_t5_dec *s = NULL;
    int rc = fv_t5_load(d, dir, &m, NULL, NULL);
    uint32_t ids[R][TE], tok[R], lens[R] = {TE, TE - 3};
    const uint32_t *rows[R] = {ids[0], ids[1]};
    uint32_t V = rc ? 0 : (uint32_t)m->cfg.vocab_size;
    for (uint32_t r = 0; !rc && r < R; r++)
        for (uint32_t t = 0; t < TE; t++) ids[r][t] = t + 1 == lens[r] ? (uint32_t)m->cfg.eos_token_id : 3 + (r * 31 + t * 7) % (V - 3);
    if (!rc && (size_t)steps * R * V > cap) rc = fv_err("decode test: vocabulary %u larger than the test's buffer", V);
    set_bound(bound);
    if (!rc) rc = fv_t5_dec_create(m, R, TE, steps + 1, 0, &s);
    set_bound(NULL);
    uint64_t before = d->graph_submits;
    if (!rc) rc = fv_t5_dec_prefill(s, rows, lens);
    for (uint32_t r = 0; r < R; r++) tok[r] = rc ? 0 : (uint32_t)m->cfg.decoder_start_token_id;
    for (uint32_t k = 0; !rc && k < steps; k++) {
        float *lg = out + (size_t)k * R * V;
        rc = fv_t5_dec_step(s, k, tok, NULL, lg);
        for (uint32_t r = 0; !rc && r < R; r++) tok[r] = fv_t5_argmax(lg + (size_t)r * V, V);
    }
    *submits = d->graph_submits - before;
    fv_t5_dec_free(s);
    fv_t5_free(m);
    return rc;
}

static void test_decode(fv_dev *d, const char *dir) {
    const uint32_t steps = 5;
    size_t n = (size_t)steps * 2 * 32128;
    float *a = calloc(n, 4), *b = calloc(n, 4);
    uint64_t sa = 0, sb = 0;
    int rc = !a || !b || decode_run(d, dir, NULL, steps, a, n, &sa) || decode_run(d, dir, "1", steps, b, n, &sb);
    CHECK(!rc, "decode runs: %s", fv_last_error());
    if (!rc) {
        CHECK(sa == steps + 1, "unbounded decode: one submission for the prefill and one per step (%llu)", (unsigned long long)sa);
        CHECK(sb > 4 * sa, "1 ms bound: prefill and %u steps in %llu submissions", steps, (unsigned long long)sb);
        CHECK(same_bits(a, b, n * 4), "logits of prefill + %u greedy steps bit-identical under a 1 ms bound", steps);
    }
    free(a);
    free(b);
}

int main(void) {
    fv_dev *d;
    set_bound(NULL);
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    test_adamw_split(d);
    test_gemm_split(d);
    fv_fixture batchf;
    char dir[64];
    if (fv_fixture_load(&batchf, "packed_grads") || fv_fixture_det_model(&batchf, d, dir)) {
        CHECK(0, "fixtures: %s", fv_last_error());
    } else {
        fv_hbatch h;
        fv_fixture_packed_batch(&batchf, &h);
        test_train(d, dir, &h);
        test_decode(d, dir);
        fv_hbatch_free(&h);
        fv_fixture_rmdir(dir);
        fv_fixture_free(&batchf);
    }
    if (d->validation_messages) CHECK(0, "validation layer messages: %d", d->validation_messages);
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
