/* Mixed-precision training (model/t5_train_step.h): fp16 shadows of the projection weights in the
 * GEMMs, fp32 master weights and optimizer state.
 *  1. The trainer, fp32 vs mixed, from the same init and data (tiny config, tests/e2e/qa.jsonl,
 *     AdamW lr 1e-3, dropout 0, 20 steps): every step's loss within 1% relative of the fp32
 *     run's (the bound), the runs not bit-identical (fp16 really used), and the mixed
 *     run's checkpoint all F32 (master weights), no weight further from the fp32 run's than
 *     AdamW can move one in 20 steps of lr 1e-3 (its update is about lr per element whatever the
 *     gradient's size, so elements with near-zero gradients may drift apart by ~lr a step).
 *  2. The recorded step directly: after updates, each shadow equals the RNE fp16 rounding of its
 *     master (refreshed by the recorded cast), the rounding is not the identity, wo has none.
 *     With gradient checkpointing the recompute reads the same shadows: loss and gradients
 *     bit-identical to the stored run's.
 *  3. FLANVK_DISABLE_F16=1: mixed precision asked for, fp32 run (with a warning). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/half.h"
#include "io/safetensors.h"
#include "model/t5_train_step.h"
#include "support/fixture.h"
#include "support/unit.h"
#include "train/trainer.h"

#define STEPS 20
#define LOSS_TOL 1e-2
#define LR 1e-3

static int read_csv_losses(const char *path, double *loss, int max) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        unsigned step;
        double l;
        if (sscanf(line, "%u,%lf,", &step, &l) == 2) loss[n++] = l;
    }
    fclose(f);
    return n;
}

static int train_run(fv_dev *d, const char *dir, const char *name, int mixed, double *loss) {
    char out[128], csv[160];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    snprintf(csv, sizeof csv, "%s/%s.csv", dir, name);
    fv_train_cfg c;
    memset(&c, 0, sizeof c);
    if (fv_t5_config_preset(&c.config, "tiny")) return -1;
    const char *src = getenv("FLANVK_SOURCE_DIR");
    char tok[512], data[512];
    snprintf(tok, sizeof tok, "%s/assets/tokenizer", src ? src : ".");
    snprintf(data, sizeof data, "%s/tests/e2e/qa.jsonl", src ? src : ".");
    c.tokenizer_dir = tok;
    c.data = data;
    c.out = out;
    c.log_csv = csv;
    c.steps = STEPS;
    c.batch_size = 8;
    c.accum = 1;
    c.dropout = 0.0f;
    c.seed = 1;
    c.mixed_precision = mixed;
    c.opt.kind = FV_OPT_ADAMW;
    c.opt.adamw = fv_adamw_defaults();
    c.opt.adamw.lr = LR;
    c.opt.adafactor = fv_adafactor_defaults();
    c.sched.kind = FV_SCHED_CONSTANT;
    c.sched.lr = LR;
    fv_train_result r;
    if (fv_train(d, &c, &r)) {
        printf("train %s: %s\n", name, fv_last_error());
        return -1;
    }
    printf("train %-6s %u steps: loss %.5f -> %.5f, peak device memory %.2f MiB\n", name, r.steps_done, r.first_loss,
           r.last_loss, r.peak_device_bytes / 1048576.0);
    return read_csv_losses(csv, loss, STEPS) == STEPS ? 0 : -1;
}

/* Every tensor of the mixed run's checkpoint is F32 and within a small distance of the fp32 run's. */
static void check_checkpoints(const char *dir) {
    char a[160], b[160];
    snprintf(a, sizeof a, "%s/fp32/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/mixed/model.safetensors", dir);
    fv_safetensors *sa = NULL, *sb = NULL;
    int ok = !fv_st_open(&sa, a) && !fv_st_open(&sb, b);
    CHECK(ok, "open checkpoints: %s", fv_last_error());
    if (!ok) goto done;
    size_t n = fv_st_count(sb), nf32 = 0, differ = 0;
    double worst = 0, bound = 2.0 * STEPS * LR;
    CHECK(n == fv_st_count(sa) && n > 0, "tensor counts %zu vs %zu", n, fv_st_count(sa));
    for (size_t i = 0; i < n; i++) {
        const fv_st_tensor *tb = fv_st_at(sb, i), *ta = fv_st_find(sa, tb->name);
        if (tb->dtype != FV_DT_F32 || !ta || ta->numel != tb->numel) continue;
        nf32++;
        double maxdiff = 0;
        for (uint64_t j = 0; j < tb->numel; j++) {
            float x, y;
            memcpy(&x, ta->data + 4 * j, 4);
            memcpy(&y, tb->data + 4 * j, 4);
            maxdiff = fmax(maxdiff, fabs((double)x - y));
        }
        differ += maxdiff > 0;
        worst = fmax(worst, maxdiff);
    }
    printf("mixed checkpoint: %zu of %zu tensors F32; %zu differ from the fp32 run's, max abs diff %.2e "
           "(bound 2 * steps * lr = %.0e)\n", nf32, n, differ, worst, bound);
    CHECK(nf32 == n, "%zu of %zu tensors are F32 master weights", nf32, n);
    CHECK(differ > 0, "the mixed run's weights are bit-identical to the fp32 run's: fp16 was not used");
    CHECK(worst <= bound, "weights after %d steps differ by %.2e relative", STEPS, worst);
done:
    fv_st_close(sa);
    fv_st_close(sb);
}

static void trainer_runs(fv_dev *d) {
    char dir[] = "/tmp/flanvk-mp-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    double l32[STEPS], l16[STEPS];
    int rc = train_run(d, dir, "fp32", 0, l32) || train_run(d, dir, "mixed", 1, l16);
    CHECK(!rc, "training runs: %s", fv_last_error());
    if (!rc) {
        double worst = 0;
        int same = 0;
        for (int s = 0; s < STEPS; s++) {
            worst = fmax(worst, fabs(l16[s] - l32[s]) / fabs(l32[s]));
            same += l16[s] == l32[s];
        }
        printf("loss per step, mixed vs fp32 (%d steps, %.4f -> %.4f): max rel diff %.2e (tol %.0e); %d of %d "
               "identical to the printed digits\n", STEPS, l32[0], l32[STEPS - 1], worst, LOSS_TOL, same, STEPS);
        CHECK(worst <= LOSS_TOL, "a mixed step's loss is %.2e away from the fp32 run's", worst);
        CHECK(same < STEPS, "every loss identical: fp16 was not used");
        CHECK(l32[STEPS - 1] < l32[0] && l16[STEPS - 1] < l16[0], "both runs learn");
        check_checkpoints(dir);
    }
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) printf("note: could not remove %s\n", dir);
}

/* A shadow equals RNE(master) element for element; returns how many masters fp16 cannot hold. */
static int64_t shadow_matches(fv_dev *d, fv_buf *master, fv_buf *shadow, const char *what) {
    uint64_t n = master->size / 4;
    float *w = malloc(n * 4);
    uint16_t *h = malloc(n * 2);
    int64_t inexact = -1;
    if (w && h && !fv_buf_read(d, master, 0, w, n * 4) && !fv_buf_read(d, shadow, 0, h, n * 2)) {
        uint64_t bad = 0;
        inexact = 0;
        for (uint64_t i = 0; i < n; i++) {
            bad += h[i] != fv_f32_to_f16(w[i]);
            inexact += fv_f16_to_f32(h[i]) != w[i];
        }
        printf("shadow %-10s %llu values: %llu differ from RNE(master); %lld masters not fp16-exact\n", what,
               (unsigned long long)n, (unsigned long long)bad, (long long)inexact);
        CHECK(bad == 0, "%s: shadow stale or wrongly rounded", what);
    } else CHECK(0, "%s: read back: %s", what, fv_last_error());
    free(w);
    free(h);
    return inexact;
}

/* The same mixed step with gradient checkpointing (its own gradients): same loss and gradients. */
static void checkpointed_same(fv_dev *d, fv_t5 *m, fv_t5_train *tr, fv_graph *gs, const fv_t5_host_batch *hb,
                              uint32_t B, uint32_t Te, uint32_t Td) {
    fv_t5_grads *gr2 = NULL;
    fv_t5_train *tr2 = NULL;
    fv_graph *g2 = NULL;
    fv_t5_train_opts to = {.dropout = 0.0f, .checkpointing = 1, .mixed_precision = 1};
    double s1 = 0, s2 = 0;
    uint32_t c1 = 0, c2 = 0;
    int rc = fv_graph_run(gs) || fv_t5_train_read_loss(tr, &s1, &c1) || fv_t5_grads_create(m, &gr2) ||
             fv_t5_train_create_ex(m, gr2, B, Te, Td, &to, &tr2) || fv_t5_batch_upload(m, &tr2->in, hb) ||
             fv_graph_create(d, &g2) || fv_graph_begin(g2) || fv_t5_train_record(g2, tr2, 1) || fv_graph_end(g2) ||
             fv_graph_run(g2) || fv_t5_train_read_loss(tr2, &s2, &c2);
    CHECK(!rc, "checkpointed mixed step: %s", fv_last_error());
    if (!rc) {
        size_t differ = 0, n = tr->gr->nparams;
        for (size_t i = 0; i < n; i++) {
            const fv_t5_param *p = &tr->gr->params[i], *q = &gr2->params[i];
            uint64_t k = (uint64_t)p->rows * (p->cols ? p->cols : 1);
            float *a = malloc(k * 4), *b = malloc(k * 4);
            if (!a || !b || fv_buf_read(d, p->buf, (uint64_t)p->off * 4, a, k * 4) ||
                fv_buf_read(d, q->buf, (uint64_t)q->off * 4, b, k * 4) || memcmp(a, b, k * 4))
                differ++;
            free(a);
            free(b);
        }
        printf("mixed + gradient checkpointing: loss %.6f vs %.6f, %zu of %zu gradients differ (want bit-identical)\n",
               s2 / c2, s1 / c1, differ, n);
        CHECK(s1 == s2 && c1 == c2 && differ == 0, "checkpointed recompute does not match the stored mixed step");
    }
    fv_graph_destroy(g2);
    fv_t5_train_free(tr2);
    fv_t5_grads_free(gr2);
}

static void step_shadows(fv_dev *d) {
    fv_fixture f;
    char dir[64];
    if (fv_fixture_load(&f, "packed_grads") || fv_fixture_det_model(&f, d, dir)) {
        CHECK(0, "fixture: %s", fv_last_error());
        return;
    }
    fv_hbatch h;
    fv_fixture_packed_batch(&f, &h);
    fv_t5_host_batch hb;
    fv_hbatch_view(&h, &hb);
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    fv_t5_train *tr = NULL;
    fv_optimizer *opt = NULL;
    fv_graph *gs = NULL, *gu = NULL;
    fv_optimizer_cfg oc = {.kind = FV_OPT_ADAMW, .adamw = fv_adamw_defaults(), .adafactor = fv_adafactor_defaults()};
    fv_t5_train_opts to = {.dropout = 0.0f, .mixed_precision = 1};
    int rc = fv_t5_load(d, dir, &m, NULL, NULL) || fv_t5_grads_create(m, &gr) ||
             fv_t5_train_create_ex(m, gr, h.B, h.Te, h.Td, &to, &tr) ||
             fv_optimizer_create(d, &oc, m->params, gr->params, m->nparams, &opt) ||
             fv_t5_batch_upload(m, &tr->in, &hb) || fv_graph_create(d, &gs) || fv_graph_begin(gs) ||
             fv_t5_train_record(gs, tr, 1) || fv_graph_end(gs) || fv_graph_create(d, &gu) || fv_graph_begin(gu) ||
             fv_optimizer_record(opt, gu) || fv_t5_train_refresh_shadows(gu, tr) || fv_graph_end(gu);
    CHECK(!rc, "mixed step setup: %s", fv_last_error());
    if (!rc) checkpointed_same(d, m, tr, gs, &hb, h.B, h.Te, h.Td);
    if (!rc) {
        CHECK(tr->mixed, "mixed precision not in use on a device with fp16");
        for (int s = 1; !rc && s <= 3; s++)
            rc = fv_graph_run(gs) || fv_optimizer_set_step(opt, (uint32_t)s, 1e-3) || fv_graph_run(gu);
        CHECK(!rc, "3 mixed steps: %s", fv_last_error());
        int Ld = m->cfg.num_decoder_layers;
        int64_t inexact = 0;
        inexact += shadow_matches(d, m->enc[0].qkv, tr->enc16[0].qkv, "enc0 qkv");
        inexact += shadow_matches(d, m->enc[1].wi, tr->enc16[1].wi, "enc1 wi");
        inexact += shadow_matches(d, m->dec[Ld - 1].ckv, tr->dec16[Ld - 1].ckv, "dec ckv");
        inexact += shadow_matches(d, m->dec[0].co, tr->dec16[0].co, "dec0 co");
        CHECK(inexact > 0, "every master is fp16-exact: the shadows test nothing");
        CHECK(!tr->enc16[0].wo && !tr->dec16[0].wo && !tr->enc16[0].cq,
              "wo (and the encoder's cross weights) have no shadow");
    }
    fv_graph_destroy(gs);
    fv_graph_destroy(gu);
    fv_optimizer_free(opt);
    fv_t5_train_free(tr);
    fv_t5_grads_free(gr);
    fv_t5_free(m);
    fv_hbatch_free(&h);
    fv_fixture_rmdir(dir);
    fv_fixture_free(&f);
}

static void fallback(void) {
    setenv("FLANVK_DISABLE_F16", "1", 1);
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        CHECK(0, "device: %s", fv_last_error());
        return;
    }
    fv_t5_config cfg;
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    fv_t5_train *tr = NULL;
    fv_t5_train_opts to = {.dropout = 0.0f, .mixed_precision = 1};
    int rc = fv_t5_config_preset(&cfg, "tiny") || fv_t5_create(d, &cfg, &m) || fv_t5_init_weights(m, 1) ||
             fv_t5_grads_create(m, &gr) || fv_t5_train_create_ex(m, gr, 1, 8, 8, &to, &tr);
    printf("FLANVK_DISABLE_F16=1: fp16 %d, mixed precision asked, in use %d (fp32 with a warning)\n", d->fp16,
           tr ? tr->mixed : -1);
    CHECK(!rc && !d->fp16 && !tr->mixed && !tr->enc16, "no fp16: %s", rc ? fv_last_error() : "shadows made");
    fv_t5_train_free(tr);
    fv_t5_grads_free(gr);
    fv_t5_free(m);
    CHECK(!d->validation_messages, "validation layer messages: %d", d->validation_messages);
    fv_dev_close(d);
    unsetenv("FLANVK_DISABLE_F16");
}

int main(void) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    if (!d->fp16) printf("device without 16-bit storage: the fp16 parts are skipped\n");
    else {
        trainer_runs(d);
        step_shadows(d);
    }
    CHECK(!d->validation_messages, "validation layer messages: %d", d->validation_messages);
    fv_dev_close(d);
    fallback();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
