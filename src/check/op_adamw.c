/* AdamW: the shader against the C reference over several steps of one recorded graph replayed with
 * new gradients and a new hyper struct (step count) each time; the C reference against numbers
 * from torch.optim.AdamW (tools/optim_reference.py); bad input rejected.
 * Tolerances: p 1e-6; m and v 1e-5 (float state, one rounding apart; m, which can cancel, relative
 * to its largest size over the steps); the per-step change of p 2e-4 (lr 1e-2: one ulp of p ~ 1 is
 * 1e-5 of the change), or 4 ulp of max|p| relative to it when coarser; torch vectors: the change
 * after 10 steps 1e-4. */
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "check/optim_check.h"
#include "ops/optim.h"
#include "ref/optim.h"

enum { MAXT = 8 };

typedef struct {
    uint32_t n, off;  /* elements, offset in the shared buffers */
    float *rp, *rm, *rv, *gp0;
} tens;

/* aligned != 0: tensors start at multiples of 4 elements (the vec4 path, with a scalar tail for
 * n % 4 != 0); otherwise at odd offsets (the scalar path). */
static int steps_vs_ref(fv_check *c, const char *label, const fv_adamw_cfg *cfg, int aligned) {
    static const uint32_t sizes[] = {1, 7, 33, 1031, 33000};
    int nt = c->quick ? 4 : 5, steps = c->quick ? 4 : 6;
    tens t[MAXT];
    uint32_t total = aligned ? 4 : 3; /* leading gap */
    for (int i = 0; i < nt; i++) {
        t[i].n = sizes[i];
        t[i].off = total;
        total += sizes[i] + 5;
        if (aligned) total = (total + 3) & ~3u;
    }
    float *p = fv_check_rand(c, total, -2, 2), *zeros = fv_check_alloc(c, total), *gr = fv_check_alloc(c, total);
    if (!p || !zeros || !gr) return fv_check_fail(c, label, "", "out of memory");
    memset(zeros, 0, total * sizeof *zeros);
    fv_buf *bh = fv_check_upload(c, NULL, 2 * FV_OPT_HYPER_WORDS), *bp = fv_check_upload(c, p, total);
    fv_buf *bg = fv_check_upload(c, NULL, total), *bm = fv_check_upload(c, zeros, total), *bv = fv_check_upload(c, zeros, total);
    if (!bh || !bp || !bg || !bm || !bv) return fv_check_fail(c, label, "", fv_last_error());
    /* hyper struct at word 16 to exercise the offset */
    fv_t h = fv_tensor(bh, FV_OPT_HYPER_WORDS);
    int rc = fv_check_begin(c);
    for (int i = 0; i < nt && !rc; i++)
        rc = fv_adamw(c->g, h, fv_tensor(bp, t[i].off), fv_tensor(bg, t[i].off), fv_tensor(bm, t[i].off),
                      fv_tensor(bv, t[i].off), t[i].n);
    if (rc || fv_graph_end(c->g)) return fv_check_fail(c, label, "record", fv_last_error());
    for (int i = 0; i < nt; i++) {
        t[i].rp = fv_check_copy(c, p + t[i].off, t[i].n);
        t[i].rm = fv_check_alloc(c, t[i].n);
        t[i].rv = fv_check_alloc(c, t[i].n);
        t[i].gp0 = fv_check_copy(c, p + t[i].off, t[i].n);
        if (!t[i].rp || !t[i].rm || !t[i].rv || !t[i].gp0) return fv_check_fail(c, label, "", "out of memory");
        memset(t[i].rm, 0, t[i].n * sizeof(float));
        memset(t[i].rv, 0, t[i].n * sizeof(float));
    }
    double dscale[MAXT] = {0}, mscale[MAXT] = {0}, wp[MAXT] = {0}, wd[MAXT] = {0}, wm[MAXT] = {0}, wv[MAXT] = {0};
    float *tg = fv_check_alloc(c, total), *tr = fv_check_alloc(c, total), *rp0 = fv_check_alloc(c, total);
    if (!tg || !tr || !rp0) return fv_check_fail(c, label, "", "out of memory");
    for (int s = 1; s <= steps; s++) {
        fv_adamw_hyper hy;
        float *g = fv_check_rand(c, total, -1, 1);
        if (!g || fv_adamw_hyper_fill(cfg, (uint32_t)s, &hy) ||
            fv_buf_write(c->d, bh, FV_OPT_HYPER_WORDS * 4, &hy, sizeof hy) || fv_buf_write(c->d, bg, 0, g, total * 4) ||
            fv_graph_run(c->g))
            return fv_check_fail(c, label, "step", fv_last_error());
        float *gp = fv_check_download(c, bp, total), *gm = fv_check_download(c, bm, total);
        float *gv = fv_check_download(c, bv, total);
        if (!gp || !gm || !gv) return fv_check_fail(c, label, "download", fv_last_error());
        for (int i = 0; i < nt; i++) {
            uint32_t n = t[i].n, o = t[i].off;
            memcpy(rp0, t[i].rp, n * sizeof(float));
            fv_ref_adamw(t[i].rp, g + o, t[i].rm, t[i].rv, n, cfg, (uint32_t)s);
            fv_optc_track(&wp[i], gp + o, t[i].rp, n);
            fv_optc_track_delta(&wd[i], &dscale[i], t[i].gp0, gp + o, rp0, t[i].rp, tg, tr, n);
            fv_optc_track_abs(&wm[i], &mscale[i], gm + o, t[i].rm, n);
            fv_optc_track(&wv[i], gv + o, t[i].rv, n);
            memcpy(t[i].gp0, gp + o, n * sizeof(float));
        }
    }
    int bad = 0;
    char what[96], shape[32];
    for (int i = 0; i < nt; i++) {
        snprintf(shape, sizeof shape, "n=%u", t[i].n);
        snprintf(what, sizeof what, "adamw %s p", label);
        bad |= fv_optc_report(c, what, shape, wp[i], 1e-6, steps);
        snprintf(what, sizeof what, "adamw %s step change of p", label);
        double dtol = fv_optc_delta_tol(2e-4, t[i].rp, t[i].n, dscale[i]);
        bad |= fv_optc_report(c, what, shape, fv_optc_scaled(wd[i], dscale[i]), dtol, steps);
        snprintf(what, sizeof what, "adamw %s m", label);
        bad |= fv_optc_report(c, what, shape, fv_optc_scaled(wm[i], mscale[i]), 1e-5, steps);
        snprintf(what, sizeof what, "adamw %s v", label);
        bad |= fv_optc_report(c, what, shape, wv[i], 1e-5, steps);
    }
    return bad;
}

/* Final p after 10 steps of torch.optim.AdamW on 15 elements (tools/optim_reference.py). */
static const float adamw_wd[] = {-1.03113043f, -0.639918029f, -0.236243039f, 0.141512573f, 0.525013626f,
                                 0.872250736f, -0.887613237f, -0.530270398f, -0.101199627f, 0.244055063f,
                                 0.645682871f, 0.96687007f, -0.764793098f, -0.361118048f, 0.0166375451f};
static const float adamw_nowd[] = {-1.00888014f, -0.628850043f, -0.247088328f, 0.129870862f, 0.506523252f,
                                   0.87513864f, -0.879127145f, -0.507401288f, -0.119156979f, 0.248919114f,
                                   0.630746305f, 0.991119862f, -0.753850043f, -0.372088313f, 0.00487086782f};

static int vs_torch(fv_check *c, const char *label, const fv_adamw_cfg *cfg, const float *expect) {
    enum { N = 15 };
    float p[N], m[N] = {0}, v[N] = {0}, g[N], d_ref[N], d_got[N];
    for (size_t i = 0; i < N; i++) p[i] = fv_optc_p0(i);
    for (unsigned s = 1; s <= 10; s++) {
        for (size_t i = 0; i < N; i++) g[i] = fv_optc_grad(i, s);
        fv_ref_adamw(p, g, m, v, N, cfg, s);
    }
    for (size_t i = 0; i < N; i++) {
        d_got[i] = p[i] - fv_optc_p0(i);
        d_ref[i] = expect[i] - fv_optc_p0(i);
    }
    char what[96];
    snprintf(what, sizeof what, "adamw ref vs torch.optim.AdamW %s: change of p after 10 steps", label);
    return fv_check_compare(c, what, "n=15", d_got, d_ref, N, 1e-4);
}

static int bad_input(fv_check *c) {
    fv_buf *small = fv_check_upload(c, NULL, 16), *big = fv_check_upload(c, NULL, 64);
    if (!small || !big) return fv_check_fail(c, "adamw", "bad input", fv_last_error());
    fv_t h = fv_tensor(small, 0), b = fv_tensor(big, 0);
    int rc1 = fv_check_begin(c) ? 0 : fv_adamw(c->g, h, b, b, b, fv_tensor(small, 8), 32);
    int rc2 = fv_adamw(c->g, h, b, fv_tensor(NULL, 0), b, b, 32);
    int rc3 = fv_adamw(c->g, fv_tensor(small, 4), b, b, b, b, 32);
    fv_graph_end(c->g);
    fv_adamw_hyper hy;
    fv_adamw_cfg cfg = fv_adamw_defaults();
    int rc4 = fv_adamw_hyper_fill(&cfg, 0, &hy);
    if (!rc1 || !rc2 || !rc3 || !rc4)
        return fv_check_fail(c, "adamw", "bad input", "a short tensor, null buffer, short hyper or step 0 was accepted");
    fv_check_pass(c, "adamw", "bad input", "short tensor, null buffer, short hyper struct and step 0 rejected");
    return 0;
}

int fv_check_op_adamw(fv_check *c) {
    fv_adamw_cfg wd = {1e-2, 0.9, 0.999, 1e-8, 0.01}, nowd = {3e-3, 0.8, 0.99, 1e-6, 0.0};
    int bad = 0;
    bad |= steps_vs_ref(c, "wd=0.01", &wd, 0);
    bad |= steps_vs_ref(c, "wd=0", &nowd, 0);
    bad |= steps_vs_ref(c, "wd=0.01 aligned", &wd, 1);
    bad |= vs_torch(c, "wd=0.01", &wd, adamw_wd);
    bad |= vs_torch(c, "wd=0", &nowd, adamw_nowd);
    bad |= bad_input(c);
    return bad;
}
