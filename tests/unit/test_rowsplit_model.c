/* A model whose vocabulary tables are larger than the device's storage-buffer range (ops/rowsplit.h)
 * against the same model on the unclamped device, in one process: devices are opened unclamped
 * and with FLANVK_MAX_BUFFER_RANGE = 2 MiB and 256 KiB, below the tiny fixtures' 8.2 MB
 * [32128, 64] embedding and LM head (4 and 32 pieces) and below the logits of their batches (row
 * chunks of 16 and 2 rows in the forward and the training step; 2-row chunks in each decode step
 * at 256 KiB), but above every other tensor. All load the same HF checkpoint.
 * Compared: the teacher-forced forward's logits and per-token losses, greedy ids, one training
 * step's loss and every gradient (the packed_grads batch), and the safetensors the models write
 * (byte-identical); and a buffer beyond the range bound to a dispatch is refused, naming it and
 * the limit. Forward, greedy and the embedding are expected bit-identical (the pieces do
 * the same arithmetic per element); the training step's gradients within 1e-5 relative, since
 * the LM head's input gradient sums its vocabulary pieces one after another and the unclamped run
 * on a texel device uses the transposed head copy.
 * Adafactor (ops/optim.h fv_adafactor_split over the split tables, momentum on): one update from
 * the same gradients gives every weight bit-identical; three more training steps give losses and
 * weights within 1e-5 relative (the gradients differ by the LM head's input gradient, as above).
 * "wide" (ctest test_rowsplit_model_wide): a model whose block weights (q|k|v, wi, wo) exceed the
 * range too, stored as row pieces of their HF tensors (model/t5_wsplit.h): the same comparisons at
 * 576 KiB (gradients within 1e-5: every split product's input gradient sums its pieces in turn),
 * greedy with f32, f16 and q8 weights at 64 KiB, and one LoRA step over a frozen f32 base at
 * 128 KiB (loss within 1e-6, adapter gradients within 1e-5). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "check/check.h"
#include "model/t5_forward.h"
#include "model/t5_generate.h"
#include "model/t5_lora_train.h"
#include "model/t5_train_step.h"
#include "ops/embedding.h"
#include "support/fixture.h"
#include "train/optimizer.h"

static int passed, failed;

static void expect(int ok, const char *what, const char *detail) {
    printf("%-52s %s %s\n", what, detail, ok ? "OK" : "FAIL");
    ok ? passed++ : failed++;
}

static void fail_error(const char *what) {
    printf("%-52s FAIL: %s\n", what, fv_last_error());
    failed++;
}

/* max |a - b| / max |b|, and whether the bytes are equal */
static void compare(const char *what, const float *a, const float *b, size_t n, double tol) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]), m = fabs((double)b[i]);
        num = e > num ? e : num;
        den = m > den ? m : den;
    }
    double err = den > 0 ? num / den : num;
    int same = !memcmp(a, b, n * sizeof *a);
    char detail[96];
    snprintf(detail, sizeof detail, "%s, rel err %.2e (tol %.0e)", same ? "bit-identical" : "differs", err, tol);
    expect(err <= tol, what, detail);
}

typedef struct {
    fv_dev *d;
    fv_t5 *m;
} side;

/* Forward over the packed batch with every logit kept: logits [B*Td, V] and losses [B*Td]. */
static int forward(side *s, const fv_hbatch *h, float **logits, float **loss) {
    fv_t5_fwd *fw = NULL;
    fv_graph *g = NULL;
    fv_t5_host_batch hb;
    fv_hbatch_view(h, &hb);
    size_t nd = (size_t)h->B * h->Td, V = (size_t)s->m->cfg.vocab_size;
    *logits = malloc(nd * V * 4);
    *loss = malloc(nd * 4);
    int rc = (!*logits || !*loss) ? fv_err("out of memory") : 0;
    rc = rc || fv_t5_fwd_create(s->m, h->B, h->Te, h->Td, 1, &fw) || fv_t5_batch_upload(s->m, &fw->in, &hb) ||
         fv_graph_create(s->d, &g) || fv_graph_begin(g) || fv_t5_fwd_record(g, fw) || fv_graph_end(g) || fv_graph_run(g) ||
         fv_rowsplit_read(s->d, &fw->logits, 0, *logits, nd * V) || fv_buf_read(s->d, fw->loss, 0, *loss, nd * 4);
    fv_graph_destroy(g);
    fv_t5_fwd_free(fw);
    return rc;
}

/* One training step (no dropout): loss and every gradient of the table, concatenated. */
static int train_step(side *s, const fv_hbatch *h, double *loss, float **grads, size_t *n) {
    fv_t5_grads *gr = NULL;
    fv_t5_train *t = NULL;
    fv_graph *g = NULL;
    fv_t5_host_batch hb;
    fv_hbatch_view(h, &hb);
    fv_t5_train_opts o = {.dropout = 0};
    *n = (size_t)s->m->nvalues;
    *grads = malloc(*n * 4);
    double sum = 0;
    uint32_t count = 0;
    int rc = !*grads ? fv_err("out of memory") : 0;
    rc = rc || fv_t5_grads_create(s->m, &gr) || fv_t5_train_create_ex(s->m, gr, h->B, h->Te, h->Td, &o, &t) ||
         fv_t5_batch_upload(s->m, &t->in, &hb) || fv_graph_create(s->d, &g) || fv_graph_begin(g) ||
         fv_t5_train_record(g, t, 1) || fv_graph_end(g) || fv_graph_run(g) || fv_t5_train_read_loss(t, &sum, &count);
    float *p = *grads;
    for (size_t i = 0; !rc && i < gr->nparams; i++) {
        const fv_t5_param *q = &gr->params[i];
        rc = fv_t5_param_read(s->d, q, p);
        p += (size_t)q->rows * (q->cols ? q->cols : 1);
    }
    *loss = count ? sum / count : 0;
    fv_graph_destroy(g);
    fv_t5_train_free(t);
    fv_t5_grads_free(gr);
    return rc;
}

static int same_file(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int same = !fv_read_file(a, &x, &nx) && !fv_read_file(b, &y, &ny) && nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

/* Every value of the n tensors, in order, into one host array. */
static int read_all(fv_dev *d, const fv_t5_param *params, size_t n, size_t total, float **out) {
    float *p = *out = malloc(total * 4);
    if (!p) return fv_err("out of memory");
    for (size_t i = 0; i < n; i++) {
        FV_TRY(fv_t5_param_read(d, &params[i], p));
        p += (size_t)params[i].rows * (params[i].cols ? params[i].cols : 1);
    }
    return 0;
}

typedef struct {
    fv_t5_grads *gr;
    fv_t5_train *t;
    fv_optimizer *o;
    fv_graph *step, *update; /* training step + update; the update alone */
} opt_side;

static int opt_open(side *s, const fv_hbatch *h, opt_side *o) {
    fv_t5_host_batch hb;
    fv_hbatch_view(h, &hb);
    fv_t5_train_opts to = {.dropout = 0};
    fv_optimizer_cfg cfg = {.kind = FV_OPT_ADAFACTOR, .adafactor = fv_adafactor_defaults()};
    cfg.adafactor.use_beta1 = 1; /* momentum: split like the tables */
    cfg.adafactor.beta1 = 0.9;
    FV_TRY(fv_t5_grads_create(s->m, &o->gr));
    FV_TRY(fv_t5_train_create_ex(s->m, o->gr, h->B, h->Te, h->Td, &to, &o->t));
    FV_TRY(fv_t5_batch_upload(s->m, &o->t->in, &hb));
    FV_TRY(fv_optimizer_create(s->d, &cfg, s->m->params, o->gr->params, s->m->nparams, &o->o));
    FV_TRY(fv_graph_create(s->d, &o->step));
    FV_TRY(fv_graph_begin(o->step));
    FV_TRY(fv_t5_train_record(o->step, o->t, 1));
    FV_TRY(fv_optimizer_record(o->o, o->step));
    FV_TRY(fv_graph_end(o->step));
    FV_TRY(fv_graph_create(s->d, &o->update));
    FV_TRY(fv_graph_begin(o->update));
    FV_TRY(fv_optimizer_record(o->o, o->update));
    return fv_graph_end(o->update);
}

static void opt_close(opt_side *o) {
    fv_graph_destroy(o->step);
    fv_graph_destroy(o->update);
    fv_optimizer_free(o->o);
    fv_t5_train_free(o->t);
    fv_t5_grads_free(o->gr);
}

static int opt_step(opt_side *o, uint32_t t, double *loss) {
    double sum = 0;
    uint32_t count = 0;
    FV_TRY(fv_optimizer_set_step(o->o, t, 0));
    FV_TRY(fv_graph_run(o->step));
    FV_TRY(fv_t5_train_read_loss(o->t, &sum, &count));
    *loss = count ? sum / count : 0;
    return 0;
}

/* Adafactor on both models (changes their weights: run last). Step 1 trains the unclamped model
 * and updates the clamped one from the unclamped gradients (same weights and zero state on both
 * sides): every weight must agree bit for bit. Steps 2-4 train both sides on their own gradients. */
static void adafactor_case(side *full, side *clamped, const char *name, const fv_hbatch *h) {
    enum { STEPS = 4 };
    char what[128];
    opt_side a = {0}, b = {0};
    float *wa = NULL, *wb = NULL, *gra = NULL;
    size_t nv = (size_t)full->m->nvalues;
    double la, lb;
    snprintf(what, sizeof what, "%s adafactor update from the same gradients", name);
    int rc = opt_open(full, h, &a) || opt_open(clamped, h, &b) || opt_step(&a, 1, &la) ||
             read_all(full->d, a.gr->params, a.gr->nparams, nv, &gra);
    const float *pg = gra;
    for (size_t i = 0; !rc && i < full->m->nparams; i++) {
        rc = fv_t5_param_write(clamped->d, &b.gr->params[i], pg);
        pg += (size_t)full->m->params[i].rows * (full->m->params[i].cols ? full->m->params[i].cols : 1);
    }
    rc = rc || fv_optimizer_set_step(b.o, 1, 0) || fv_graph_run(b.update) ||
         read_all(full->d, full->m->params, full->m->nparams, nv, &wa) ||
         read_all(clamped->d, clamped->m->params, clamped->m->nparams, nv, &wb);
    if (rc) {
        fail_error(what);
        goto out;
    }
    compare(what, wb, wa, nv, 0);
    for (uint32_t t = 2; t <= STEPS; t++) {
        snprintf(what, sizeof what, "%s adafactor step %u", name, t);
        if (opt_step(&a, t, &la) || opt_step(&b, t, &lb)) {
            fail_error(what);
            goto out;
        }
        snprintf(what, sizeof what, "%s adafactor step %u loss %.6f vs %.6f", name, t, lb, la);
        float fa = (float)la, fb = (float)lb;
        compare(what, &fb, &fa, 1, 1e-5);
    }
    free(wa), free(wb);
    wa = wb = NULL;
    snprintf(what, sizeof what, "%s adafactor weights after %d steps", name, STEPS);
    if (read_all(full->d, full->m->params, full->m->nparams, nv, &wa) ||
        read_all(clamped->d, clamped->m->params, clamped->m->nparams, nv, &wb))
        fail_error(what);
    else
        compare(what, wb, wa, nv, 1e-5);
out:
    free(wa), free(wb), free(gra);
    opt_close(&a);
    opt_close(&b);
}

/* Split tensors of a model other than the vocabulary tables (model/t5_wsplit.h), and their pieces. */
static uint32_t block_splits(const fv_t5 *m, uint32_t *pieces) {
    uint32_t n = 0;
    *pieces = 0;
    for (size_t i = 0; i < m->nparams; i++)
        if (m->params[i].split && m->params[i].split != &m->shared && m->params[i].split != &m->lm_head)
            n++, *pieces += m->params[i].split->n;
    return n;
}

/* Greedy over the prompts (as one call: generate groups them by the range) on both sides. */
static void greedy_case(side *full, side *clamped, const char *name, const cJSON *inputs) {
    char what[128], detail[160];
    uint32_t n = (uint32_t)cJSON_GetArraySize(inputs), V = (uint32_t)full->m->cfg.vocab_size;
    uint32_t **ids = calloc(n, sizeof *ids), *lens = calloc(n, sizeof *lens);
    fv_gen_out *ga = calloc(n, sizeof *ga), *gb = calloc(n, sizeof *gb);
    for (uint32_t i = 0; ids && lens && i < n; i++) {
        size_t k;
        ids[i] = fv_fixture_ids(cJSON_GetArrayItem(inputs, (int)i), &k);
        lens[i] = (uint32_t)k;
        for (size_t j = 0; ids[i] && j < k; j++) ids[i][j] %= V; /* the wide model's small vocabulary */
    }
    fv_gen_opts o;
    fv_gen_opts_default(&o);
    o.max_new_tokens = 12;
    snprintf(what, sizeof what, "%s greedy (batch of %u)", name, n);
    if (!ids || !lens || !ga || !gb || fv_t5_generate(full->m, (const uint32_t *const *)ids, lens, n, &o, ga) ||
        fv_t5_generate(clamped->m, (const uint32_t *const *)ids, lens, n, &o, gb)) {
        fail_error(what);
    } else {
        int same = 1;
        uint32_t total = 0;
        for (uint32_t i = 0; i < n; i++) {
            same &= ga[i].n == gb[i].n && !memcmp(ga[i].ids, gb[i].ids, ga[i].n * 4);
            total += ga[i].n;
        }
        snprintf(detail, sizeof detail, "%u generated ids %s", total, same ? "identical" : "differ");
        expect(same, what, detail);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (ids) free(ids[i]);
        if (ga) free(ga[i].ids);
        if (gb) free(gb[i].ids);
    }
    free(ids), free(lens), free(ga), free(gb);
}

/* Load the checkpoint in dir on both devices and compare everything (see the top of the file).
 * blocks: the clamp must split weights other than the vocabulary tables too. */
static void compare_case(side *full, side *clamped, const char *name, const char *dir, const fv_hbatch *h,
                         const cJSON *inputs, int blocks) {
    char what[128], detail[160];
    full->m = clamped->m = NULL;
    if (fv_t5_load(full->d, dir, &full->m, NULL, NULL) || fv_t5_load(clamped->d, dir, &clamped->m, NULL, NULL)) {
        snprintf(what, sizeof what, "%s load", name);
        fail_error(what);
        goto out;
    }
    const fv_rowsplit *head = clamped->m->lm_head.n ? &clamped->m->lm_head : &clamped->m->shared;
    uint32_t bp, fp, bs = block_splits(clamped->m, &bp), fs = block_splits(full->m, &fp);
    snprintf(what, sizeof what, "%s load", name);
    snprintf(detail, sizeof detail, "%.1f MB vocabulary tables in %u pieces of %u rows (unclamped: %u); "
             "%u other tensors in %u pieces",
             clamped->m->shared.rows * (double)clamped->m->shared.cols * 4 / 1e6, head->n, head->piece_rows,
             full->m->shared.n, bs, bp);
    expect(clamped->m->shared.n > 1 && head->n > 1 && full->m->shared.n == 1 && fs == 0 && (!blocks || bp > bs),
           what, detail);

    float *la = NULL, *lb = NULL, *sa = NULL, *sb = NULL;
    size_t nd = (size_t)h->B * h->Td, V = (size_t)full->m->cfg.vocab_size;
    snprintf(what, sizeof what, "%s forward", name);
    if (forward(full, h, &la, &sa) || forward(clamped, h, &lb, &sb)) {
        fail_error(what);
    } else {
        snprintf(what, sizeof what, "%s logits [%zu, %zu]", name, nd, V);
        compare(what, lb, la, nd * V, 0);
        snprintf(what, sizeof what, "%s per-token loss", name);
        compare(what, sb, sa, nd, 0);
    }
    free(la), free(lb), free(sa), free(sb);

    greedy_case(full, clamped, name, inputs);

    double lossa, lossb;
    float *gra = NULL, *grb = NULL;
    size_t ng;
    snprintf(what, sizeof what, "%s training step", name);
    if (train_step(full, h, &lossa, &gra, &ng) || train_step(clamped, h, &lossb, &grb, &ng)) {
        fail_error(what);
    } else {
        snprintf(what, sizeof what, "%s training loss %.6f vs %.6f", name, lossb, lossa);
        float fa = (float)lossa, fb = (float)lossb;
        compare(what, &fb, &fa, 1, 1e-6);
        size_t off = 0;
        for (size_t i = 0; i < full->m->nparams; i++) {
            const fv_t5_param *p = &full->m->params[i];
            size_t k = (size_t)p->rows * (p->cols ? p->cols : 1);
            if (p->split || i == 0 || i + 1 == full->m->nparams) { /* the tables, and the first and last tensor */
                snprintf(what, sizeof what, "%s grad %.40s", name, p->name);
                compare(what, grb + off, gra + off, k, 1e-5);
            }
            off += k;
        }
        snprintf(what, sizeof what, "%s every gradient (%zu values)", name, ng);
        compare(what, grb, gra, ng, 1e-5);
    }
    free(gra), free(grb);

    /* checkpoint writing: the split tables are written as the same HF tensors */
    char da[80], db[80], pa[160], pb[160];
    snprintf(da, sizeof da, "%s/full", dir);
    snprintf(db, sizeof db, "%s/clamped", dir);
    snprintf(pa, sizeof pa, "%s/model.safetensors", da);
    snprintf(pb, sizeof pb, "%s/model.safetensors", db);
    snprintf(what, sizeof what, "%s save", name);
    if (fv_mkdirs(da) || fv_mkdirs(db) || fv_t5_save_weights(full->m, da) || fv_t5_save_weights(clamped->m, db)) {
        fail_error(what);
    } else {
        expect(same_file(pa, pb), what, "model.safetensors byte-identical");
    }
    remove(pa), remove(pb), remove(da), remove(db);
    adafactor_case(full, clamped, name, h);
out:
    fv_t5_free(full->m);
    fv_t5_free(clamped->m);
    full->m = clamped->m = NULL;
}

static void run_case(side *full, side *clamped, const char *name, const fv_hbatch *h) {
    fv_fixture f;
    char dir[64];
    if (fv_fixture_load(&f, name) || fv_fixture_det_model(&f, full->d, dir)) {
        fail_error(name);
        return;
    }
    compare_case(full, clamped, name, dir, h, cJSON_GetObjectItemCaseSensitive(f.json, "inputs"), 0);
    fv_fixture_rmdir(dir);
    fv_fixture_free(&f);
}

/* A buffer beyond the range bound whole to a dispatch is an error naming it and the limit. */
static void binding_error(side *s) {
    uint32_t range = s->d->props.limits.maxStorageBufferRange;
    fv_buf *big = NULL, *ids = NULL, *out = NULL;
    fv_graph *g = NULL;
    int rc = fv_buf_alloc(s->d, (uint64_t)range + 1024, FV_MEM_DEVICE, "oversized table", &big) ||
             fv_buf_alloc(s->d, 4, FV_MEM_DEVICE, "ids", &ids) || fv_buf_alloc(s->d, 1024, FV_MEM_DEVICE, "out", &out) ||
             fv_graph_create(s->d, &g) || fv_graph_begin(g);
    if (rc) {
        fail_error("binding beyond the range");
    } else {
        int refused = fv_embedding(g, fv_tensor(big, 0), fv_tensor(ids, 0), fv_tensor(out, 0), 1, 256, 256) != 0;
        char limit[32];
        snprintf(limit, sizeof limit, "%u", range);
        const char *msg = refused ? fv_last_error() : "";
        expect(refused && strstr(msg, "oversized table") && strstr(msg, limit), "binding beyond the range refused", msg);
        fv_graph_end(g);
    }
    fv_graph_destroy(g);
    fv_buf_free(s->d, big);
    fv_buf_free(s->d, ids);
    fv_buf_free(s->d, out);
}

/* The wide model: d_model 512, d_ff 384 (gated), 4 heads of 32, one block per stack and a
 * 512-token vocabulary. Under a 576 KiB range its fused q|k|v (768 KiB) and wi (1.5 MiB) and its wo
 * (768 KiB) are split: q, k and v one piece each, wi_0 and wi_1 two (256 + 128 rows), wo two
 * (384 + 128 rows), the vocabulary tables two; the packed batch's activations and Adafactor's
 * scratch (256 chunks of column sums) still fit. Written by the unclamped device to a temporary
 * checkpoint (dir, at least 64 bytes). */
static int wide_model(fv_dev *d, char *dir) {
    fv_t5_config c;
    fv_t5 *m = NULL;
    char path[512];
    snprintf(dir, 64, "/tmp/flanvk-test-XXXXXX");
    if (!mkdtemp(dir)) return fv_err("cannot create a temporary directory");
    FV_TRY(fv_t5_config_preset(&c, "tiny"));
    c.vocab_size = 512, c.d_model = 512, c.d_kv = 32, c.num_heads = 4, c.d_ff = 384;
    c.num_layers = c.num_decoder_layers = 1;
    FV_TRY(fv_path_join(path, sizeof path, dir, "config.json"));
    FV_TRY(fv_t5_config_save(&c, path));
    int rc = fv_t5_create(d, &c, &m) || fv_t5_init_weights(m, 11) || fv_t5_save_weights(m, dir);
    fv_t5_free(m);
    return rc;
}

/* The packed batch with every id taken modulo the wide model's vocabulary (0 and 1 stay pad / EOS). */
static void wide_batch(const fv_hbatch *h, uint32_t V, fv_hbatch *out) {
    size_t ne = (size_t)h->B * h->Te, nd = (size_t)h->B * h->Td;
    fv_hbatch_alloc(out, h->B, h->Te, h->Td);
    for (size_t i = 0; i < ne; i++)
        out->eid[i] = h->eid[i] % V, out->eseg[i] = h->eseg[i], out->epos[i] = h->epos[i];
    for (size_t i = 0; i < nd; i++) {
        out->did[i] = h->did[i] % V, out->dseg[i] = h->dseg[i], out->dpos[i] = h->dpos[i];
        out->lab[i] = h->lab[i] < 0 ? h->lab[i] : (int32_t)((uint32_t)h->lab[i] % V);
    }
}

static int open_clamped(uint32_t range, fv_dev **out) {
    char v[32];
    snprintf(v, sizeof v, "%u", range);
    setenv("FLANVK_MAX_BUFFER_RANGE", v, 1);
    int rc = fv_dev_open(-1, out);
    unsetenv("FLANVK_MAX_BUFFER_RANGE");
    return rc;
}

/* The first Te / Td tokens of the packed batch's first row (a prefix of a packed row is one). */
static void small_batch(const fv_hbatch *h, uint32_t Te, uint32_t Td, fv_hbatch *out) {
    fv_hbatch_alloc(out, 1, Te, Td);
    memcpy(out->eid, h->eid, Te * 4), memcpy(out->eseg, h->eseg, Te * 4), memcpy(out->epos, h->epos, Te * 4);
    memcpy(out->did, h->did, Td * 4), memcpy(out->dseg, h->dseg, Td * 4), memcpy(out->dpos, h->dpos, Td * 4);
    memcpy(out->lab, h->lab, Td * 4);
}

/* One LoRA training step over a frozen base of type wt (every linear adapted, r 4, B non-zero so
 * every adapter's gradient passes the base's input gradients): loss and adapter gradients. */
static int lora_step(fv_dev *d, const char *dir, int wt, const fv_hbatch *h, double *loss, float **grads, size_t *n,
                     uint32_t *pieces) {
    fv_t5 *m = NULL;
    fv_peft_adapter a = {0};
    fv_peft_config c;
    fv_t5_lora_train *lt = NULL;
    fv_t5_train *tr = NULL;
    fv_graph *g = NULL;
    fv_peft_config_defaults(&c);
    c.r = 4, c.lora_alpha = 8, c.lora_dropout = 0;
    int rc = fv_t5_load_typed(d, dir, &wt, &m, NULL, NULL) || fv_peft_set_targets(&c, "all", &m->cfg, "test") ||
             fv_peft_init(&a, &c, &m->cfg, 5);
    for (size_t i = 0; !rc && i < a.n_mods; i++)
        for (size_t k = 0; k < (size_t)c.r * a.mods[i].out; k++) a.mods[i].B[k] = 0.01f * sinf((float)(k + 7 * i + 1));
    fv_t5_train_opts o = {.dropout = 0};
    fv_t5_host_batch hb = fv_t5_host_arrays_view(h);
    double sum = 0;
    uint32_t count = 0;
    rc = rc || fv_t5_lora_train_create(m, &a, &lt);
    o.lora = lt;
    rc = rc || fv_t5_train_create_ex(m, NULL, h->B, h->Te, h->Td, &o, &tr) || fv_t5_batch_upload(m, &tr->in, &hb) ||
         fv_graph_create(d, &g) || fv_graph_begin(g) || fv_t5_train_record(g, tr, 1) || fv_graph_end(g) ||
         fv_graph_run(g) || fv_t5_train_read_loss(tr, &sum, &count);
    const fv_t5_param *ps, *gs;
    size_t np = 0;
    if (!rc) fv_t5_lora_train_tensors(lt, &ps, &gs, &np);
    *n = 0;
    for (size_t i = 0; i < np; i++) *n += (size_t)gs[i].rows * gs[i].cols;
    float *p = *grads = malloc(*n * 4 + 4);
    for (size_t i = 0; !rc && i < np; i++) {
        rc = fv_t5_param_read(d, &gs[i], p);
        p += (size_t)gs[i].rows * gs[i].cols;
    }
    if (!rc) block_splits(m, pieces);
    *loss = count ? sum / count : 0;
    fv_graph_destroy(g);
    fv_t5_train_free(tr);
    fv_t5_lora_train_free(lt);
    fv_peft_free(&a);
    fv_t5_free(m);
    return rc;
}

static void lora_case(side *full, side *clamped, const char *dir, int wt, const fv_hbatch *h) {
    char what[128];
    double la, lb;
    float *ga = NULL, *gb = NULL;
    size_t n;
    uint32_t pa, pb;
    snprintf(what, sizeof what, "wide@128KiB LoRA over a frozen %s base", fv_wtype_name((enum fv_wtype)wt));
    if (lora_step(full->d, dir, wt, h, &la, &ga, &n, &pa) || lora_step(clamped->d, dir, wt, h, &lb, &gb, &n, &pb)) {
        fail_error(what);
    } else {
        char w2[192];
        snprintf(w2, sizeof w2, "%s (%u pieces): loss %.6f vs %.6f", what, pb, lb, la);
        float fa = (float)la, fb = (float)lb;
        compare(w2, &fb, &fa, 1, 1e-6);
        snprintf(w2, sizeof w2, "%s: adapter gradients (%zu values)", what, n);
        compare(w2, gb, ga, n, 1e-5);
        if (!pb || pa) expect(0, what, "the clamp split no base weight");
    }
    free(ga), free(gb);
}

/* Weights other than the vocabulary tables beyond the range: at 576 KiB everything run_case
 * compares (fp32: forward, greedy, gradients, save, Adafactor); at 64 KiB greedy with the weights
 * stored f32, f16 and q8 (typed pieces through ops/wlinear.h, many per tensor). */
static void wide_cases(side *full, const fv_hbatch *h) {
    fv_fixture f;
    char dir[64];
    fv_hbatch hw;
    if (fv_fixture_load(&f, "tiny_gated") || wide_model(full->d, dir)) {
        fail_error("wide model");
        return;
    }
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(f.json, "inputs");
    wide_batch(h, 512, &hw);
    side clamped = {0};
    if (open_clamped(576u << 10, &clamped.d)) {
        fail_error("open the clamped device (576 KiB)");
    } else {
        compare_case(full, &clamped, "wide@576KiB", dir, &hw, inputs, 1);
        fv_dev_close(clamped.d);
    }
    if (open_clamped(64u << 10, &clamped.d)) {
        fail_error("open the clamped device (64 KiB)");
    } else {
        static const enum fv_wtype types[] = {FV_WT_F32, FV_WT_F16, FV_WT_Q8};
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
            char what[96], detail[128];
            int wt = (int)types[k];
            snprintf(what, sizeof what, "wide@64KiB %s load", fv_wtype_name(types[k]));
            full->m = clamped.m = NULL;
            if (fv_t5_load_typed(full->d, dir, &wt, &full->m, NULL, NULL) ||
                fv_t5_load_typed(clamped.d, dir, &wt, &clamped.m, NULL, NULL)) {
                fail_error(what);
            } else {
                uint32_t bp, fp, bs = block_splits(clamped.m, &bp), fs = block_splits(full->m, &fp);
                snprintf(detail, sizeof detail, "%u tensors other than the vocabulary tables in %u pieces", bs, bp);
                expect(fs == 0 && bp > bs, what, detail);
                snprintf(what, sizeof what, "wide@64KiB %s", fv_wtype_name(types[k]));
                greedy_case(full, &clamped, what, inputs);
            }
            fv_t5_free(full->m);
            fv_t5_free(clamped.m);
            full->m = clamped.m = NULL;
        }
        if (clamped.d->validation_messages) {
            printf("validation layer messages: %d FAIL\n", clamped.d->validation_messages);
            failed++;
        }
        fv_dev_close(clamped.d);
    }
    /* LoRA over a frozen split base (its fp32 masters) on a short batch */
    fv_hbatch hs;
    small_batch(&hw, 16, 8, &hs);
    if (open_clamped(128u << 10, &clamped.d)) {
        fail_error("open the clamped device (128 KiB)");
    } else {
        lora_case(full, &clamped, dir, FV_WT_F32, &hs);
        fv_dev_close(clamped.d);
    }
    fv_hbatch_free(&hs);
    fv_hbatch_free(&hw);
    fv_fixture_rmdir(dir);
    fv_fixture_free(&f);
}

/* No argument or "vocab": the tiny models' cases (vocabulary tables split); "wide": the wide
 * model's (block weights split too); "all": both. ctest runs the two as separate entries. */
int main(int argc, char **argv) {
    static const uint32_t clamps[] = {2u << 20, 256u << 10};
    const char *only = argc > 1 ? argv[1] : "vocab";
    if (strcmp(only, "vocab") && strcmp(only, "wide") && strcmp(only, "all")) {
        fprintf(stderr, "usage: test_rowsplit_model [vocab|wide|all]\n");
        return 2;
    }
    side full = {0};
    unsetenv("FLANVK_MAX_BUFFER_RANGE");
    if (fv_dev_open(-1, &full.d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    fv_fixture pk;
    if (fv_fixture_load(&pk, "packed_grads")) {
        fail_error("packed_grads");
        fv_dev_close(full.d);
        return 1;
    }
    fv_hbatch h;
    fv_fixture_packed_batch(&pk, &h);
    for (size_t k = 0; strcmp(only, "wide") && k < sizeof clamps / sizeof clamps[0]; k++) {
        side clamped = {0};
        char v[32], detail[96];
        snprintf(v, sizeof v, "%u", clamps[k]);
        setenv("FLANVK_MAX_BUFFER_RANGE", v, 1);
        int rc = fv_dev_open(-1, &clamped.d);
        unsetenv("FLANVK_MAX_BUFFER_RANGE");
        if (rc) {
            fail_error("open the clamped device");
            continue;
        }
        snprintf(detail, sizeof detail, "%u bytes (device: %u)", clamped.d->props.limits.maxStorageBufferRange,
                 full.d->props.limits.maxStorageBufferRange);
        expect(clamped.d->props.limits.maxStorageBufferRange == clamps[k], "FLANVK_MAX_BUFFER_RANGE clamp", detail);
        binding_error(&clamped);
        run_case(&full, &clamped, "tiny_gated", &h);
        run_case(&full, &clamped, "tiny_relu_tied", &h);
        if (clamped.d->validation_messages) {
            printf("validation layer messages: %d FAIL\n", clamped.d->validation_messages);
            failed++;
        }
        fv_dev_close(clamped.d);
    }
    if (strcmp(only, "vocab")) wide_cases(&full, &h);
    fv_hbatch_free(&h);
    fv_fixture_free(&pk);
    if (full.d->validation_messages) {
        printf("validation layer messages: %d FAIL\n", full.d->validation_messages);
        failed++;
    }
    fv_dev_close(full.d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
