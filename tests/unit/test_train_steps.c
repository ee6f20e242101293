/* Training trajectories against the PyTorch reference (tests/fixtures/reference/train_steps):
 * 20 AdamW steps (torch.optim.AdamW, lr 1e-3, weight decay 0.01 on every parameter) and 20 Adafactor
 * steps (transformers' Adafactor, lr 1e-3, no parameter scaling, relative step or warmup init) on the
 * packed batch of packed_grads, dropout 0: the loss before each step's update (relative error
 * <= 1e-3, as the issue states; fp32 against float64 truth) and three tensors after steps 1 and 20
 * (<= 1e-3 relative to each tensor's largest value). The step is the recorded graph replayed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "model/t5.h"
#include "model/t5_train_step.h"
#include "support/fixture.h"
#include "train/optimizer.h"
#include "vk/memory.h"

static int passed, failed;

static void report(const char *what, double err, double tol) {
    int ok = err <= tol;
    printf("%-60s max rel err %.2e (tol %.0e) %s\n", what, err, tol, ok ? "OK" : "FAIL");
    ok ? passed++ : failed++;
}

static void fail_error(const char *what) {
    printf("%-60s FAIL: %s\n", what, fv_last_error());
    failed++;
}

static void check_tensors(const fv_fixture *ref, const fv_t5 *m, const char *opt, int step) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s.after_step%d.", opt, step);
    const cJSON *arrays = cJSON_GetObjectItemCaseSensitive(ref->json, "arrays"), *a;
    cJSON_ArrayForEach(a, arrays) {
        if (strncmp(a->string, prefix, strlen(prefix))) continue;
        const char *name = a->string + strlen(prefix);
        const fv_t5_param *p = fv_t5_find(m, name);
        size_t n;
        const float *want = fv_fixture_array(ref, a->string, &n);
        float *got = malloc(n * sizeof *got);
        char what[160];
        snprintf(what, sizeof what, "%s %s", a->string, "");
        if (!p || !want || !got || fv_t5_param_read(m->d, p, got)) fail_error(what);
        else report(what, fv_rel_err(got, want, n), 1e-3);
        free(got);
    }
}

static void run(fv_dev *d, const fv_fixture *batchf, const fv_fixture *ref, const char *dir, fv_opt_kind kind) {
    const char *name = kind == FV_OPT_ADAMW ? "adamw" : "adafactor";
    fv_t5 *m = NULL;
    fv_t5_grads *gr = NULL;
    fv_t5_train *tr = NULL;
    fv_optimizer *opt = NULL;
    fv_graph *g_step = NULL, *g_update = NULL;
    fv_hbatch h;
    fv_fixture_packed_batch(batchf, &h);
    fv_optimizer_cfg oc = {.kind = kind};
    oc.adamw = fv_adamw_defaults();
    oc.adamw.lr = 1e-3;
    oc.adamw.weight_decay = 0.01;
    oc.adafactor = fv_adafactor_defaults();
    oc.adafactor.lr = 1e-3;
    oc.adafactor.scale_parameter = oc.adafactor.relative_step = oc.adafactor.warmup_init = 0;
    fv_t5_host_batch hb;
    fv_hbatch_view(&h, &hb);
    int rc = fv_t5_load(d, dir, &m, NULL, NULL) || fv_t5_grads_create(m, &gr) ||
             fv_t5_train_create(m, gr, h.B, h.Te, h.Td, 0.0f, &tr) ||
             fv_optimizer_create(d, &oc, m->params, gr->params, m->nparams, &opt) ||
             fv_t5_batch_upload(m, &tr->in, &hb) || fv_graph_create(d, &g_step) || fv_graph_begin(g_step) ||
             fv_t5_train_record(g_step, tr, 1) || fv_graph_end(g_step) || fv_graph_create(d, &g_update) ||
             fv_graph_begin(g_update) || fv_optimizer_record(opt, g_update) || fv_graph_end(g_update);
    const cJSON *losses = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ref->json, name), "losses");
    int steps = cJSON_GetArraySize(losses);
    float got[64], want[64];
    for (int s = 0; !rc && s < steps && s < 64; s++) {
        double sum;
        uint32_t count;
        rc = fv_graph_run(g_step) || fv_t5_train_read_loss(tr, &sum, &count) ||
             fv_optimizer_set_step(opt, (uint32_t)s + 1, 1e-3) || fv_graph_run(g_update);
        got[s] = (float)(sum / count);
        want[s] = (float)cJSON_GetArrayItem(losses, s)->valuedouble;
        if (!rc && s == 0) check_tensors(ref, m, name, 1);
    }
    char what[96];
    snprintf(what, sizeof what, "%s: loss before each of %d steps (%.4f -> %.4f)", name, steps, want[0], want[steps - 1]);
    if (rc) fail_error(what);
    else {
        double worst = 0;
        for (int s = 0; s < steps; s++) {
            double e = fv_rel_err(&got[s], &want[s], 1);
            worst = e > worst ? e : worst;
        }
        report(what, worst, 1e-3);
        check_tensors(ref, m, name, steps);
    }
    fv_graph_destroy(g_step);
    fv_graph_destroy(g_update);
    fv_optimizer_free(opt);
    fv_t5_train_free(tr);
    fv_t5_grads_free(gr);
    fv_t5_free(m);
    fv_hbatch_free(&h);
}

int main(void) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    fv_fixture batchf, ref;
    char dir[64];
    if (fv_fixture_load(&batchf, "packed_grads") || fv_fixture_load(&ref, "train_steps") ||
        fv_fixture_det_model(&batchf, d, dir)) {
        fail_error("fixtures");
    } else {
        run(d, &batchf, &ref, dir, FV_OPT_ADAMW);
        run(d, &batchf, &ref, dir, FV_OPT_ADAFACTOR);
        fv_fixture_rmdir(dir);
        fv_fixture_free(&batchf);
        fv_fixture_free(&ref);
    }
    /* Under a profile with a device-local host-visible window (amd-windows) the per-step inputs
     * and read-backs went through it, written directly (vk/memory.h FV_MEM_UPLOAD). */
    fv_mem_counts mc;
    fv_mem_counters(d, &mc);
    if (mc.window_budget) {
        int ok = mc.window_direct >= 80;
        printf("%-60s %llu direct accesses, %llu fallbacks %s\n", "per-step buffers in the device-local host-visible window",
               (unsigned long long)mc.window_direct, (unsigned long long)mc.window_fallbacks, ok ? "OK" : "FAIL");
        ok ? passed++ : failed++;
    }
    if (d->validation_messages) {
        printf("validation layer messages: %d FAIL\n", d->validation_messages);
        failed++;
    }
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
