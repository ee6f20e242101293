/* Bounded submissions (FLANVK_MAX_SUBMIT_MS, vk/graph_submit.c): with a small bound a training
 * step (with its AdamW update) and a greedy decode give bit-identical results to the unbounded
 * run; the graph really is submitted in several segments, one per unit while it measures and
 * grouped after; the single-dispatch splits (AdamW over many elements, the LM head's three GEMMs
 * as column ranges; Adafactor's passes, cross-entropy, the row softmax and decode attention as
 * workgroup ranges, counted by fv_op_cut_count) are exact, in Adafactor training steps and a
 * decode over the 32128-token vocabulary too. The bound is read when a graph is created, so the
 * test sets the variable before creating each graph (and each decode session, whose graphs it
 * creates).
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
#include "ops/attn_decode.h"
#include "ops/gemm.h"
#include "ops/optim.h"
#include "support/fixture.h"
#include "support/unit.h"
#include "train/data_parallel.h"
#include "train/optimizer.h"

/* NULL: no bound at all ("0"), also under a GPU profile, whose default bound is 1000 ms. */
static void set_bound(const char *ms) { setenv("FLANVK_MAX_SUBMIT_MS", ms ? ms : "0", 1); }

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

/* One Adafactor step (with momentum) on a rows x cols tensor under `bound`; out = p, state, m. */
static int adafactor_run(fv_dev *d, const char *bound, uint32_t rows, uint32_t cols, int factored, float *out,
                         uint32_t *dispatches) {
    size_t n = (size_t)rows * cols, ns = fv_adafactor_state_size(rows, cols, factored, 0);
    size_t nx = fv_adafactor_scratch_size(rows, cols, factored);
    float *x = calloc(n > nx ? n : nx, 4);
    fv_buf *b[6] = {0};
    fv_graph *g = NULL;
    fv_adafactor_cfg c = fv_adafactor_defaults();
    c.use_beta1 = 1, c.beta1 = 0.9;
    fv_adafactor_hyper h;
    int rc = !x || fv_adafactor_hyper_fill(&c, 2, &h);
    const char *names[3] = {"p", "grad", "m"};
    for (int i = 0; !rc && i < 3; i++) {
        fill_random(x, n, 51 + i, -1.0f, 1.0f);
        rc = upload(d, x, n, names[i], &b[i]);
    }
    if (!rc) fill_random(x, ns, 61, 0.0f, 0.01f), rc = upload(d, x, ns, "state", &b[3]);
    if (!rc) memset(x, 0, nx * 4), rc = upload(d, x, nx, "scratch", &b[4]);
    if (!rc) rc = upload(d, (const float *)&h, FV_OPT_HYPER_WORDS, "hyper", &b[5]);
    set_bound(bound);
    if (!rc) rc = fv_graph_create(d, &g) || fv_graph_begin(g) ||
                  fv_adafactor(g, fv_tensor(b[5], 0), fv_tensor(b[0], 0), fv_tensor(b[1], 0), fv_tensor(b[3], 0),
                               fv_tensor(b[2], 0), fv_tensor(b[4], 0), rows, cols, factored) ||
                  fv_graph_end(g) || fv_graph_run(g);
    set_bound(NULL);
    if (!rc) *dispatches = fv_graph_num_dispatches(g);
    if (!rc) rc = fv_buf_read(d, b[0], 0, out, n * 4) || fv_buf_read(d, b[3], 0, out + n, ns * 4) ||
                  fv_buf_read(d, b[2], 0, out + n + ns, n * 4);
    fv_graph_destroy(g);
    for (int i = 0; i < 6; i++) fv_buf_free(d, b[i]);
    free(x);
    return rc;
}

/* Each pass of the factored update on the vec4 path (cols % 4 == 0) and the scalar one, and of the
 * vector update, cut into chunk ranges: p, the second moments and the momentum bit-identical. */
static void test_adafactor_split(fv_dev *d) {
    static const struct { uint32_t rows, cols; int factored; const char *what; } cases[] = {
        {300, 64, 1, "factored 300x64 (vec4 passes)"},
        {300, 30, 1, "factored 300x30 (scalar passes)"},
        {1, 70001, 0, "vector of 70001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t r = cases[i].rows, c = cases[i].cols;
        size_t n = (size_t)r * c, total = 2 * n + fv_adafactor_state_size(r, c, cases[i].factored, 0);
        float *whole = malloc(total * 4), *split = malloc(total * 4);
        uint32_t nd_whole = 0, nd_split = 0;
        uint64_t cuts = fv_op_cut_count(d, "opt_adafactor");
        int rc = !whole || !split || adafactor_run(d, NULL, r, c, cases[i].factored, whole, &nd_whole) ||
                 adafactor_run(d, "0.05", r, c, cases[i].factored, split, &nd_split);
        CHECK(!rc, "adafactor %s: %s", cases[i].what, fv_last_error());
        if (!rc) {
            cuts = fv_op_cut_count(d, "opt_adafactor") - cuts;
            CHECK(nd_split > 2 * nd_whole && cuts >= 2, "Adafactor %s under a 0.05 ms bound: %u dispatches (%llu passes cut), unbounded %u",
                  cases[i].what, nd_split, (unsigned long long)cuts, nd_whole);
            CHECK(same_bits(whole, split, total * 4), "Adafactor %s in chunk ranges is bit-identical", cases[i].what);
        }
        free(whole);
        free(split);
    }
}

/* Decode attention (cross over an encoder cache, or self with the new key and value written at
 * slot Tk - 1 and relative-position bias) for B rows x H heads under `bound`; out = o (and the
 * caches, self). */
static int decode_attn_run(fv_dev *d, const char *bound, int self, float *out, uint32_t *dispatches) {
    enum { B = 4, H = 8, DK = 64, TK = 256, NB = 32, L = 128 };
    const uint32_t hd = H * DK, kvs = self ? hd : 2 * hd;
    const size_t nkv = (size_t)B * TK * kvs;
    float *x = malloc(nkv * 4);
    fv_buf *bq = NULL, *bk = NULL, *bv = NULL, *bo = NULL, *bn = NULL, *bseg = NULL, *bstep = NULL, *btab = NULL,
           *blut = NULL;
    fv_graph *g = NULL;
    int rc = !x;
    if (!rc) fill_random(x, (size_t)B * hd, 71, -1, 1), rc = upload(d, x, (size_t)B * hd, "q", &bq);
    if (!rc) fill_random(x, nkv, 72, -1, 1), rc = upload(d, x, nkv, "k", &bk);
    if (!rc && self) fill_random(x, nkv, 73, -1, 1), rc = upload(d, x, nkv, "v", &bv);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)B * hd * 4, FV_MEM_DEVICE, "o", &bo);
    if (!rc) fill_random(x, (size_t)B * 2 * hd, 74, -1, 1), rc = upload(d, x, (size_t)B * 2 * hd, "new kv", &bn);
    if (!rc) fill_random(x, (size_t)NB * H, 75, -1, 1), rc = upload(d, x, (size_t)NB * H, "table", &btab);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)B * TK * 4, FV_MEM_DEVICE, "seg", &bseg) || fv_buf_fill_u32(d, bseg, 1);
    if (!rc) rc = fv_buf_alloc(d, 4, FV_MEM_DEVICE, "step", &bstep) || fv_buf_fill_u32(d, bstep, TK - 1);
    if (!rc) {
        uint32_t lut[2 * L + 1];
        for (uint32_t i = 0; i < 2 * L + 1; i++) lut[i] = i % NB;
        rc = fv_buf_alloc(d, sizeof lut, FV_MEM_DEVICE, "lut", &blut) || fv_buf_write(d, blut, 0, lut, sizeof lut);
    }
    fv_attn_dec_desc a = {.B = B, .H = H, .dk = DK, .Tk = TK, .k_stride = kvs, .v_stride = kvs, .new_stride = 2 * hd,
                          .self = self, .use_bias = self, .num_buckets = NB, .lut_radius = L};
    fv_t q = fv_tensor(bq, 0), k = fv_tensor(bk, 0), v = self ? fv_tensor(bv, 0) : fv_tensor(bk, hd);
    fv_t o = fv_tensor(bo, 0), kn = fv_tensor(bn, 0), vn = fv_tensor(bn, hd), none = fv_tensor(NULL, 0);
    if (!rc && !fv_attn_decode_ok(d, &a, q, k, v, o, kn, vn)) rc = fv_err("decode attention does not serve the test shape");
    set_bound(bound);
    if (!rc) rc = fv_graph_create(d, &g) || fv_graph_begin(g) ||
                  fv_attn_decode(g, &a, q, k, v, o, self ? none : fv_tensor(bseg, 0), self ? fv_tensor(bstep, 0) : none,
                                 self ? kn : none, self ? vn : none, self ? fv_tensor(btab, 0) : none,
                                 self ? fv_tensor(blut, 0) : none) ||
                  fv_graph_end(g) || fv_graph_run(g);
    set_bound(NULL);
    if (!rc) *dispatches = fv_graph_num_dispatches(g);
    if (!rc) rc = fv_buf_read(d, bo, 0, out, (size_t)B * hd * 4);
    if (!rc && self) rc = fv_buf_read(d, bk, 0, out + B * hd, nkv * 4) || fv_buf_read(d, bv, 0, out + B * hd + nkv, nkv * 4);
    fv_graph_destroy(g);
    fv_buf *all[] = {bq, bk, bv, bo, bn, bseg, bstep, btab, blut};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) fv_buf_free(d, all[i]);
    free(x);
    return rc;
}

static void test_decode_attn_split(fv_dev *d) {
    const char *why = fv_attn_decode_unavailable(d);
    if (why) {
        printf("  (decode attention kernel not on this device: %s)\n", why);
        return;
    }
    size_t n = 4 * 512 + 2 * (size_t)4 * 256 * 512;
    float *whole = calloc(n, 4), *split = calloc(n, 4);
    for (int self = 0; whole && split && self < 2; self++) {
        uint32_t nd_whole = 0, nd_split = 0;
        uint64_t cuts = fv_op_cut_count(d, "attn_decode");
        int rc = decode_attn_run(d, NULL, self, whole, &nd_whole) || decode_attn_run(d, "1", self, split, &nd_split);
        CHECK(!rc, "decode attention (%s): %s", self ? "self" : "cross", fv_last_error());
        if (rc) continue;
        cuts = fv_op_cut_count(d, "attn_decode") - cuts;
        CHECK(nd_split > nd_whole && cuts == 1, "decode %s-attention over 256 keys, 4 rows x 8 heads under a 1 ms bound: %u ranges",
              self ? "self" : "cross", nd_split);
        CHECK(same_bits(whole, split, n * 4), "decode %s-attention in (row, head) ranges is bit-identical%s", self ? "self" : "cross",
              self ? " (output and caches)" : "");
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
    uint64_t cut_xent, cut_opt, cut_softmax; /* dispatches cut into ranges (fv_op_cut_count) */
} train_result;

/* Two training steps (step graph + update graph) of the det model on the fixture batch;
 * bucket_mb: run the step through the overlapped all-reduce's marks, buckets of that size. */
static int train_run(fv_dev *d, const char *dir, const fv_hbatch *h, const char *bound, int kind, const char *bucket_mb,
                     train_result *res) {
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    fv_t5_train *tr = NULL;
    fv_optimizer *opt = NULL;
    fv_graph *gs = NULL, *gu = NULL;
    fv_optimizer_cfg oc = {.kind = kind, .adamw = fv_adamw_defaults(), .adafactor = fv_adafactor_defaults()};
    fv_t5_host_batch hb;
    fv_hbatch_view(h, &hb);
    int rc = fv_t5_load(d, dir, &m, NULL, NULL) || fv_t5_grads_create(m, &gr) ||
             fv_t5_train_create(m, gr, h->B, h->Te, h->Td, 0.1f, &tr) ||
             fv_optimizer_create(d, &oc, m->params, gr->params, m->nparams, &opt) || fv_t5_batch_upload(m, &tr->in, &hb) ||
             fv_t5_train_set_seed(tr, 7);
    uint64_t cx = fv_op_cut_count(d, "xent"), co = fv_op_cut_count(d, "opt_"), cs = fv_op_cut_count(d, "attn_softmax");
    set_bound(bound);
    if (!rc) rc = fv_graph_create(d, &gs) || fv_graph_begin(gs) || fv_t5_train_record(gs, tr, 1) || fv_graph_end(gs) ||
                  fv_graph_create(d, &gu) || fv_graph_begin(gu) || fv_optimizer_record(opt, gu) || fv_graph_end(gu);
    set_bound(NULL);
    res->cut_xent = fv_op_cut_count(d, "xent") - cx;
    res->cut_opt = fv_op_cut_count(d, "opt_") - co;
    res->cut_softmax = fv_op_cut_count(d, "attn_softmax") - cs;
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
    int rc = train_run(d, dir, h, NULL, FV_OPT_ADAMW, NULL, &a) || train_run(d, dir, h, "1", FV_OPT_ADAMW, NULL, &b) ||
             train_run(d, dir, h, "600000", FV_OPT_ADAMW, NULL, &c) || train_run(d, dir, h, NULL, FV_OPT_ADAMW, "0.01", &e) ||
             train_run(d, dir, h, "1", FV_OPT_ADAMW, "0.01", &f);
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
        CHECK(a.cut_xent == 0 && b.cut_xent > 0, "cross-entropy over 32128 tokens cut into row ranges under a 1 ms bound (%llu dispatches), none unbounded",
              (unsigned long long)b.cut_xent);
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

/* Two Adafactor steps (momentum off, HF's default): unbounded and under a 1 ms bound, where every
 * pass over a large tensor and cross-entropy are cut into workgroup ranges. */
static void test_train_adafactor(fv_dev *d, const char *dir, const fv_hbatch *h) {
    train_result a = {0}, b = {0};
    int rc = train_run(d, dir, h, NULL, FV_OPT_ADAFACTOR, NULL, &a) || train_run(d, dir, h, "1", FV_OPT_ADAFACTOR, NULL, &b);
    CHECK(!rc, "Adafactor training runs: %s", fv_last_error());
    if (!rc) {
        CHECK(a.cut_opt == 0 && b.cut_opt > 0, "Adafactor passes cut into chunk ranges under a 1 ms bound: %llu dispatches",
              (unsigned long long)b.cut_opt);
        CHECK(b.cut_xent > 0, "cross-entropy cut under a 1 ms bound: %llu dispatches", (unsigned long long)b.cut_xent);
        /* the fused attention kernels need texel loads; without them the row softmax runs */
        if (d->use_texel) printf("  (row softmax dispatches cut: %llu; none where the fused kernels serve attention)\n",
                                 (unsigned long long)b.cut_softmax);
        else CHECK(a.cut_softmax == 0 && b.cut_softmax > 0, "attention row softmax (and its gradient) cut into row ranges: %llu dispatches",
                   (unsigned long long)b.cut_softmax);
        CHECK(same_bits(a.loss, b.loss, sizeof a.loss), "Adafactor losses bit-identical (%.9g %.9g / %.9g %.9g)", a.loss[0],
              a.loss[1], b.loss[0], b.loss[1]);
        CHECK(a.nvalues == b.nvalues && same_bits(a.params, b.params, a.nvalues * 4),
              "every parameter after two Adafactor steps bit-identical under a 1 ms bound (%zu values)", a.nvalues);
    }
    free(a.params);
    free(b.params);
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
    uint64_t sa = 0, sb = 0, c0 = fv_op_cut_count(d, ""), c1 = 0;
    int rc = !a || !b || decode_run(d, dir, NULL, steps, a, n, &sa);
    if (!rc) c1 = fv_op_cut_count(d, "");
    rc = rc || decode_run(d, dir, "1", steps, b, n, &sb);
    CHECK(!rc, "decode runs: %s", fv_last_error());
    if (!rc) {
        CHECK(sa == steps + 1, "unbounded decode: one submission for the prefill and one per step (%llu)", (unsigned long long)sa);
        CHECK(sb > 4 * sa, "1 ms bound: prefill and %u steps in %llu submissions", steps, (unsigned long long)sb);
        CHECK(same_bits(a, b, n * 4), "logits of prefill + %u greedy steps over 32128 tokens bit-identical under a 1 ms bound", steps);
        CHECK(c1 == c0, "unbounded decode: no dispatch cut into ranges");
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
    test_adafactor_split(d);
    test_decode_attn_split(d);
    fv_fixture batchf;
    char dir[64];
    if (fv_fixture_load(&batchf, "packed_grads") || fv_fixture_det_model(&batchf, d, dir)) {
        CHECK(0, "fixtures: %s", fv_last_error());
    } else {
        fv_hbatch h;
        fv_fixture_packed_batch(&batchf, &h);
        test_train(d, dir, &h);
        test_train_adafactor(d, dir, &h);
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
