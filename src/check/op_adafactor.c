/* Adafactor: the shader passes against the C reference over several steps of one recorded graph,
 * replayed with new gradients and a new hyper struct each step, on factored matrices (1x1, 7x33,
 * 33x1000, 1031x40 with several rows per chunk) and vectors (7, 1031, 4099), for several settings, once
 * with unaligned offsets (scalar shaders) and once with offsets multiple of 4 (factored vec4 path);
 * the C reference against an independent torch re-implementation of transformers' Adafactor
 * (tools/optim_reference.py); a matrix split into 2-3 row pieces against the whole one (split_vs_whole:
 * bit-identical); bad input rejected.
 * Tolerances: p 1e-6; second moments and momentum 1e-5 (float state, ordered float sums of up to a
 * few thousand terms; momentum relative to its largest size over the steps, since it can cancel); the per-step change of p 1e-4, or 4 ulp of max|p| relative to the largest change when that is
 * coarser (warmup_init's steps of ~1e-6 * t * RMS(p) are a few ulp of p; there the momentum m,
 * which holds the lr-scaled update, carries the check). Against the torch re-implementation: the
 * change of p after 10 steps 1e-4 (3e-2 for warmup_init, a change of ~1e-6 on p ~ 1). */
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "check/optim_check.h"
#include "ops/optim.h"
#include "ref/optim.h"

enum { MAXT = 8 };

typedef struct {
    uint32_t rows, cols;
    int factored;
    uint32_t n, po, so, ns; /* elements, offset in p/g/m, offset and size of the second moment state */
    float *rp, *rs, *rm, *gp0;
} tens;

/* aligned: every p/g/m offset a multiple of 4 and mostly cols % 4 == 0, so the factored vec4 path
 * runs (one or two subgroups per row chunk, chunks of 16+ rows); otherwise the scalar shaders. */
static int steps_vs_ref(fv_check *c, const char *label, const fv_adafactor_cfg *cfg, double delta_tol, int aligned) {
    static const uint32_t unal[][3] = {{1, 1, 1}, {7, 33, 1}, {1, 7, 0}, {1, 1031, 0}, {33, 1000, 1}, {1031, 40, 1}, {1, 4099, 0}};
    static const uint32_t al[][3] = {{1, 4, 1}, {7, 36, 1}, {1031, 40, 1}, {5, 2000, 1}, {33, 1000, 1}, {9, 33, 1}, {1, 1032, 0}};
    const uint32_t(*shapes)[3] = aligned ? al : unal;
    int nt = c->quick ? 5 : 7, steps = c->quick ? 4 : 6;
    tens t[MAXT];
    uint32_t total = aligned ? 4 : 3, stotal = 1;
    uint64_t scratch = 0;
    for (int i = 0; i < nt; i++) {
        t[i].rows = shapes[i][0];
        t[i].cols = shapes[i][1];
        t[i].factored = (int)shapes[i][2];
        t[i].n = t[i].rows * t[i].cols;
        if (aligned) total = (total + 3) & ~3u;
        t[i].po = total;
        total += t[i].n + 5;
        t[i].so = stotal;
        t[i].ns = (uint32_t)fv_adafactor_state_size(t[i].rows, t[i].cols, t[i].factored, 0);
        stotal += t[i].ns + 3;
        uint64_t sc = fv_adafactor_scratch_size(t[i].rows, t[i].cols, t[i].factored);
        if (sc > scratch) scratch = sc;
    }
    float *p = fv_check_rand(c, total, -2, 2), *zeros = fv_check_alloc(c, total > stotal ? total : stotal);
    if (!p || !zeros) return fv_check_fail(c, label, "", "out of memory");
    memset(zeros, 0, (total > stotal ? total : stotal) * sizeof *zeros);
    fv_buf *bh = fv_check_upload(c, NULL, 2 * FV_OPT_HYPER_WORDS), *bp = fv_check_upload(c, p, total);
    fv_buf *bg = fv_check_upload(c, NULL, total), *bs = fv_check_upload(c, zeros, stotal);
    fv_buf *bm = cfg->use_beta1 ? fv_check_upload(c, zeros, total) : NULL;
    fv_buf *bx = fv_check_upload(c, NULL, (size_t)scratch + 2);
    if (!bh || !bp || !bg || !bs || !bx || (cfg->use_beta1 && !bm)) return fv_check_fail(c, label, "", fv_last_error());
    fv_t h = fv_tensor(bh, FV_OPT_HYPER_WORDS);
    int rc = fv_check_begin(c);
    for (int i = 0; i < nt && !rc; i++)
        rc = fv_adafactor(c->g, h, fv_tensor(bp, t[i].po), fv_tensor(bg, t[i].po), fv_tensor(bs, t[i].so),
                          fv_tensor(bm, t[i].po), fv_tensor(bx, 2), t[i].rows, t[i].cols, t[i].factored);
    if (rc || fv_graph_end(c->g)) return fv_check_fail(c, label, "record", fv_last_error());
    for (int i = 0; i < nt; i++) {
        t[i].rp = fv_check_copy(c, p + t[i].po, t[i].n);
        t[i].gp0 = fv_check_copy(c, p + t[i].po, t[i].n);
        t[i].rs = fv_check_copy(c, zeros, t[i].ns);
        t[i].rm = fv_check_copy(c, zeros, t[i].n);
        if (!t[i].rp || !t[i].gp0 || !t[i].rs || !t[i].rm) return fv_check_fail(c, label, "", "out of memory");
    }
    double dscale[MAXT] = {0}, wp[MAXT] = {0}, wd[MAXT] = {0}, ws[MAXT] = {0}, wm[MAXT] = {0}, mscale[MAXT] = {0};
    float *tg = fv_check_alloc(c, total), *tr = fv_check_alloc(c, total), *rp0 = fv_check_alloc(c, total);
    if (!tg || !tr || !rp0) return fv_check_fail(c, label, "", "out of memory");
    for (int s = 1; s <= steps; s++) {
        fv_adafactor_hyper hy;
        float *g = fv_check_rand(c, total, -1, 1);
        if (!g || fv_adafactor_hyper_fill(cfg, (uint32_t)s, &hy) ||
            fv_buf_write(c->d, bh, FV_OPT_HYPER_WORDS * 4, &hy, sizeof hy) || fv_buf_write(c->d, bg, 0, g, total * 4) ||
            fv_graph_run(c->g))
            return fv_check_fail(c, label, "step", fv_last_error());
        float *gp = fv_check_download(c, bp, total), *gs = fv_check_download(c, bs, stotal);
        float *gm = bm ? fv_check_download(c, bm, total) : NULL;
        if (!gp || !gs || (bm && !gm)) return fv_check_fail(c, label, "download", fv_last_error());
        for (int i = 0; i < nt; i++) {
            uint32_t n = t[i].n, o = t[i].po;
            memcpy(rp0, t[i].rp, n * sizeof(float));
            if (fv_ref_adafactor(t[i].rp, g + o, t[i].rs, t[i].rm, t[i].rows, t[i].cols, t[i].factored, cfg,
                                 (uint32_t)s))
                return fv_check_fail(c, label, "reference", "out of memory");
            fv_optc_track(&wp[i], gp + o, t[i].rp, n);
            fv_optc_track_delta(&wd[i], &dscale[i], t[i].gp0, gp + o, rp0, t[i].rp, tg, tr, n);
            fv_optc_track(&ws[i], gs + t[i].so, t[i].rs, t[i].ns);
            if (gm) fv_optc_track_abs(&wm[i], &mscale[i], gm + o, t[i].rm, n);
            memcpy(t[i].gp0, gp + o, n * sizeof(float));
        }
    }
    int bad = 0;
    char what[128], shape[48];
    for (int i = 0; i < nt; i++) {
        if (t[i].factored) snprintf(shape, sizeof shape, "%ux%u", t[i].rows, t[i].cols);
        else snprintf(shape, sizeof shape, "vector %u", t[i].n);
        snprintf(what, sizeof what, "adafactor %s p", label);
        bad |= fv_optc_report(c, what, shape, wp[i], 1e-6, steps);
        snprintf(what, sizeof what, "adafactor %s step change of p", label);
        double dtol = fv_optc_delta_tol(delta_tol, t[i].rp, t[i].n, dscale[i]);
        bad |= fv_optc_report(c, what, shape, fv_optc_scaled(wd[i], dscale[i]), dtol, steps);
        snprintf(what, sizeof what, "adafactor %s %s", label, t[i].factored ? "row+col" : "v");
        bad |= fv_optc_report(c, what, shape, ws[i], 1e-5, steps);
        if (bm) {
            snprintf(what, sizeof what, "adafactor %s m", label);
            bad |= fv_optc_report(c, what, shape, fv_optc_scaled(wm[i], mscale[i]), 1e-5, steps);
        }
    }
    return bad;
}

/* Final p after 10 steps of tools/optim_reference.py's torch re-implementation of HF Adafactor. */
static const float af_default_3x5[] = {-1.01465869f, -0.631795764f, -0.254503578f, 0.125482649f, 0.504900396f,
                                       0.883873045f, -0.881446779f, -0.500513136f, -0.125757068f, 0.257464528f,
                                       0.636871815f, 0.994424224f, -0.751977503f, -0.376237273f, 0.00703508034f};
static const float af_lr_b1_wd_3x5[] = {-1.00482619f, -0.621629238f, -0.248859912f, 0.127597526f, 0.498198807f,
                                        0.86849761f, -0.868554711f, -0.499496281f, -0.11877235f, 0.247049034f,
                                        0.62907815f, 0.983746588f, -0.741050363f, -0.370125473f, 0.00992356148f};
static const float af_warmup_b1_7[] = {-1.00000095f, -0.624999464f, -0.250001281f, 0.125001594f,
                                       0.499999851f, 0.875002384f, -0.875001073f};
static const float af_default_7[] = {-1.00797546f, -0.630274534f, -0.253780216f, 0.128775463f,
                                     0.511802733f, 0.884306669f, -0.882346272f};
static const float af_noscale_1x1[] = {-1.00953758f};

static int vs_torch(fv_check *c, const char *label, const fv_adafactor_cfg *cfg, uint32_t rows, uint32_t cols,
                    int factored, const float *expect, double tol) {
    enum { N = 15 };
    float p[N], s[N + 8] = {0}, m[N] = {0}, g[N], d_ref[N], d_got[N];
    uint32_t n = rows * cols;
    for (size_t i = 0; i < n; i++) p[i] = fv_optc_p0(i);
    for (unsigned st = 1; st <= 10; st++) {
        for (size_t i = 0; i < n; i++) g[i] = fv_optc_grad(i, st);
        if (fv_ref_adafactor(p, g, s, m, rows, cols, factored, cfg, st)) return fv_check_fail(c, label, "", "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        d_got[i] = p[i] - fv_optc_p0(i);
        d_ref[i] = expect[i] - fv_optc_p0(i);
    }
    char what[128], shape[32];
    snprintf(what, sizeof what, "adafactor ref vs torch re-implementation %s: change of p after 10 steps", label);
    if (factored) snprintf(shape, sizeof shape, "%ux%u", rows, cols);
    else snprintf(shape, sizeof shape, "vector %u", n);
    return fv_check_compare(c, what, shape, d_got, d_ref, n, tol);
}

/* The same step twice from the same inputs gives bit-identical results (ordered reductions only). */
static int deterministic(fv_check *c, uint32_t rows, uint32_t cols, int factored) {
    char shape[48];
    snprintf(shape, sizeof shape, "%ux%u%s", rows, cols, factored ? "" : " unfactored");
    uint32_t n = rows * cols, ns = (uint32_t)fv_adafactor_state_size(rows, cols, factored, 0);
    float *p = fv_check_rand(c, n, -2, 2), *g = fv_check_rand(c, n, -1, 1), *z = fv_check_alloc(c, n > ns ? n : ns);
    if (!p || !g || !z) return fv_check_fail(c, "adafactor determinism", shape, "out of memory");
    memset(z, 0, (n > ns ? n : ns) * sizeof *z);
    fv_adafactor_cfg cfg = fv_adafactor_defaults();
    fv_adafactor_hyper hy;
    fv_buf *bh = fv_check_upload(c, NULL, FV_OPT_HYPER_WORDS), *bp = fv_check_upload(c, p, n);
    fv_buf *bg = fv_check_upload(c, g, n), *bs = fv_check_upload(c, z, ns);
    fv_buf *bx = fv_check_upload(c, NULL, (size_t)fv_adafactor_scratch_size(rows, cols, factored));
    if (!bh || !bp || !bg || !bs || !bx || fv_adafactor_hyper_fill(&cfg, 3, &hy) || fv_buf_write(c->d, bh, 0, &hy, sizeof hy) ||
        fv_check_begin(c) ||
        fv_adafactor(c->g, fv_tensor(bh, 0), fv_tensor(bp, 0), fv_tensor(bg, 0), fv_tensor(bs, 0), fv_tensor(NULL, 0),
                     fv_tensor(bx, 0), rows, cols, factored) ||
        fv_check_run(c))
        return fv_check_fail(c, "adafactor determinism", shape, fv_last_error());
    float *p1 = fv_check_download(c, bp, n);
    if (!p1 || fv_buf_write(c->d, bp, 0, p, n * 4) || fv_buf_write(c->d, bs, 0, z, ns * 4) || fv_graph_run(c->g))
        return fv_check_fail(c, "adafactor determinism", shape, fv_last_error());
    float *p2 = fv_check_download(c, bp, n);
    if (!p2 || memcmp(p1, p2, n * sizeof *p1))
        return fv_check_fail(c, "adafactor determinism", shape, "two runs of the same step differ");
    fv_check_pass(c, "adafactor determinism", shape, "two runs of the same step are bit-identical");
    return 0;
}

/* A factored matrix split into row pieces (each its own buffer, at offset off) against the same
 * matrix whole, several steps of one recorded graph: p, row+col state and momentum bit-identical
 * (fv_adafactor_split keeps the unsplit summation order, carrying a chunk's partial sums across a
 * piece boundary), and p against fv_ref_adafactor_split within 1e-6 (which itself equals the whole
 * reference bit for bit). Pieces cut chunks mid-way, and one piece lies inside a single chunk. */
static int split_vs_whole(fv_check *c, const char *label, const fv_adafactor_cfg *cfg, uint32_t cols, uint32_t off,
                          const uint32_t *prows, uint32_t np) {
    enum { MAXP = 3, STEPS = 3 };
    uint32_t rows = 0;
    for (uint32_t k = 0; k < np; k++) rows += prows[k];
    uint32_t n = rows * cols, ns = (uint32_t)fv_adafactor_state_size(rows, cols, 1, 0);
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u in %u pieces%s", rows, cols, np, off % 4 ? " (unaligned)" : "");
    float *p0 = fv_check_rand(c, n, -2, 2), *z = fv_check_alloc(c, n > ns ? n : ns);
    if (!p0 || !z) return fv_check_fail(c, label, shape, "out of memory");
    memset(z, 0, (n > ns ? n : ns) * sizeof *z);
    uint64_t sc = fv_adafactor_scratch_size(rows, cols, 1);
    fv_buf *bh = fv_check_upload(c, NULL, FV_OPT_HYPER_WORDS), *wp = fv_check_upload(c, p0, n);
    fv_buf *wg = fv_check_upload(c, NULL, n), *ws = fv_check_upload(c, z, ns), *wx = fv_check_upload(c, NULL, sc);
    fv_buf *wm = cfg->use_beta1 ? fv_check_upload(c, z, n) : NULL;
    fv_buf *ss = fv_check_upload(c, z, ns), *sx = fv_check_upload(c, NULL, sc + fv_adafactor_carry_size(c->d));
    fv_buf *sp[MAXP], *sg[MAXP], *sm[MAXP];
    fv_adafactor_piece pcs[MAXP];
    float *rp[MAXP], *rm[MAXP], *rs = fv_check_copy(c, z, ns);
    const float *rg[MAXP];
    size_t rrows[MAXP];
    int ok = bh && wp && wg && ws && wx && ss && sx && rs && (!cfg->use_beta1 || wm);
    for (uint32_t k = 0, r0 = 0; ok && k < np; r0 += prows[k], k++) {
        uint32_t pn = prows[k] * cols;
        float *pad = fv_check_alloc(c, pn + off);
        if (!pad) return fv_check_fail(c, label, shape, "out of memory");
        memset(pad, 0, (pn + off) * sizeof *pad);
        memcpy(pad + off, p0 + (size_t)r0 * cols, pn * sizeof *pad);
        sp[k] = fv_check_upload(c, pad, pn + off);
        sg[k] = fv_check_upload(c, NULL, pn + off);
        memset(pad, 0, (pn + off) * sizeof *pad);
        sm[k] = cfg->use_beta1 ? fv_check_upload(c, pad, pn + off) : NULL;
        rp[k] = fv_check_copy(c, p0 + (size_t)r0 * cols, pn);
        rm[k] = fv_check_copy(c, z, pn);
        rrows[k] = prows[k];
        ok = sp[k] && sg[k] && (!cfg->use_beta1 || sm[k]) && rp[k] && rm[k];
        pcs[k] = (fv_adafactor_piece){fv_tensor(sp[k], off), fv_tensor(sg[k], off), fv_tensor(sm[k], off), prows[k]};
    }
    if (!ok) return fv_check_fail(c, label, shape, fv_last_error());
    fv_t h = fv_tensor(bh, 0);
    if (fv_check_begin(c) ||
        fv_adafactor(c->g, h, fv_tensor(wp, 0), fv_tensor(wg, 0), fv_tensor(ws, 0), fv_tensor(wm, 0), fv_tensor(wx, 0),
                     rows, cols, 1) ||
        fv_adafactor_split(c->g, h, pcs, np, fv_tensor(ss, 0), fv_tensor(sx, 0), rows, cols) || fv_graph_end(c->g))
        return fv_check_fail(c, label, shape, fv_last_error());
    int same = 1;
    double worst = 0;
    for (uint32_t s = 1; s <= STEPS; s++) {
        fv_adafactor_hyper hy;
        float *g = fv_check_rand(c, n, -1, 1);
        if (!g || fv_adafactor_hyper_fill(cfg, s, &hy) || fv_buf_write(c->d, bh, 0, &hy, sizeof hy) ||
            fv_buf_write(c->d, wg, 0, g, (size_t)n * 4))
            return fv_check_fail(c, label, shape, fv_last_error());
        for (uint32_t k = 0, r0 = 0; k < np; r0 += prows[k], k++) {
            rg[k] = g + (size_t)r0 * cols;
            if (fv_buf_write(c->d, sg[k], (size_t)off * 4, rg[k], (size_t)prows[k] * cols * 4))
                return fv_check_fail(c, label, shape, fv_last_error());
        }
        if (fv_graph_run(c->g) || fv_ref_adafactor_split(rp, rg, rs, rm, rrows, np, cols, cfg, s))
            return fv_check_fail(c, label, shape, fv_last_error());
        float *gwp = fv_check_download(c, wp, n), *gws = fv_check_download(c, ws, ns), *gss = fv_check_download(c, ss, ns);
        float *gwm = wm ? fv_check_download(c, wm, n) : NULL;
        if (!gwp || !gws || !gss || (wm && !gwm)) return fv_check_fail(c, label, shape, fv_last_error());
        same &= !memcmp(gws, gss, (size_t)ns * 4);
        for (uint32_t k = 0, r0 = 0; k < np; r0 += prows[k], k++) {
            size_t pn = (size_t)prows[k] * cols, o = (size_t)r0 * cols;
            float *gp = fv_check_download(c, sp[k], pn + off), *gm = wm ? fv_check_download(c, sm[k], pn + off) : NULL;
            if (!gp || (wm && !gm)) return fv_check_fail(c, label, shape, fv_last_error());
            same &= !memcmp(gp + off, gwp + o, pn * 4) && (!wm || !memcmp(gm + off, gwm + o, pn * 4));
            double e = fv_rel_err(gp + off, rp[k], pn);
            if (e > worst) worst = e;
        }
    }
    char what[128], detail[160];
    snprintf(what, sizeof what, "adafactor split %s", label);
    if (!same) return fv_check_fail(c, what, shape, "split update differs from the whole-matrix update");
    if (!(worst <= 1e-6)) {
        snprintf(detail, sizeof detail, "p vs split reference: rel err %.3g > 1e-6", worst);
        return fv_check_fail(c, what, shape, detail);
    }
    snprintf(detail, sizeof detail, "%d steps: p, row+col%s bit-identical to whole; p vs split reference rel err %.3g",
             STEPS, wm ? ", m" : "", worst);
    fv_check_pass(c, what, shape, detail);
    return 0;
}

static int bad_input(fv_check *c) {
    fv_buf *b = fv_check_upload(c, NULL, 64), *x = fv_check_upload(c, NULL, 9);
    if (!b || !x) return fv_check_fail(c, "adafactor", "bad input", fv_last_error());
    fv_t t = fv_tensor(b, 0), none = fv_tensor(NULL, 0);
    int rc1 = fv_check_begin(c) ? 0 : fv_adafactor(c->g, t, t, t, t, none, fv_tensor(x, 0), 4, 8, 1); /* scratch short */
    int rc2 = fv_adafactor(c->g, t, t, none, t, none, t, 4, 8, 1);                                     /* null grad */
    int rc3 = fv_adafactor(c->g, t, t, t, fv_tensor(b, 40), none, t, 1, 32, 0);                         /* state short */
    int rc4 = fv_adafactor(c->g, t, t, t, t, none, t, 0, 8, 1);                                         /* empty */
    fv_graph_end(c->g);
    fv_adafactor_cfg cfg = fv_adafactor_defaults();
    fv_adafactor_hyper hy;
    int rc5 = fv_adafactor_hyper_fill(&cfg, 0, &hy);
    cfg.relative_step = 0;
    cfg.warmup_init = 1;
    int rc6 = fv_adafactor_hyper_fill(&cfg, 1, &hy);
    if (!rc1 || !rc2 || !rc3 || !rc4 || !rc5 || !rc6)
        return fv_check_fail(c, "adafactor", "bad input", "a short/null/empty tensor or an invalid setting was accepted");
    fv_check_pass(c, "adafactor", "bad input",
                  "short scratch/state, null grad, empty tensor, step 0, warmup_init without relative_step rejected");
    return 0;
}

int fv_check_op_adafactor(fv_check *c) {
    int bad = 0;
    fv_adafactor_cfg def = fv_adafactor_defaults();
    fv_adafactor_cfg lr_b1_wd = def;
    lr_b1_wd.lr = 1e-2;
    lr_b1_wd.relative_step = 0;
    lr_b1_wd.scale_parameter = 0;
    lr_b1_wd.use_beta1 = 1;
    lr_b1_wd.beta1 = 0.9;
    lr_b1_wd.weight_decay = 0.1;
    fv_adafactor_cfg warm_b1 = def;
    warm_b1.warmup_init = 1;
    warm_b1.use_beta1 = 1;
    warm_b1.beta1 = 0.9;
    fv_adafactor_cfg noscale = def;
    noscale.scale_parameter = 0;
    fv_adafactor_cfg clip = def; /* clipping active, decay, relative step without parameter scale */
    clip.scale_parameter = 0;
    clip.clip_threshold = 0.5;
    clip.weight_decay = 0.01;

    for (int al = 0; al < 2; al++) {
        bad |= steps_vs_ref(c, al ? "defaults vec4" : "defaults", &def, 1e-4, al);
        bad |= steps_vs_ref(c, al ? "lr=1e-2 beta1=0.9 wd=0.1 vec4" : "lr=1e-2 beta1=0.9 wd=0.1", &lr_b1_wd, 1e-4, al);
        bad |= steps_vs_ref(c, al ? "warmup_init beta1=0.9 vec4" : "warmup_init beta1=0.9", &warm_b1, 1e-4, al);
        if (!c->quick) bad |= steps_vs_ref(c, al ? "no scale clip=0.5 wd=0.01 vec4" : "no scale clip=0.5 wd=0.01", &clip, 1e-4, al);
    }

    bad |= vs_torch(c, "defaults", &def, 3, 5, 1, af_default_3x5, 1e-4);
    bad |= vs_torch(c, "lr=1e-2 beta1=0.9 wd=0.1", &lr_b1_wd, 3, 5, 1, af_lr_b1_wd_3x5, 1e-4);
    bad |= vs_torch(c, "warmup_init beta1=0.9", &warm_b1, 1, 7, 0, af_warmup_b1_7, 3e-2);
    bad |= vs_torch(c, "defaults", &def, 1, 7, 0, af_default_7, 1e-4);
    bad |= vs_torch(c, "no scale", &noscale, 1, 1, 1, af_noscale_1x1, 1e-4);
    bad |= deterministic(c, 1031, 40, 1);
    bad |= deterministic(c, 1031, 400, 1);
    bad |= deterministic(c, 1, 4099, 0);
    static const uint32_t cut3[] = {503, 300, 228}, tiny[] = {502, 2, 527}, two[] = {30, 47};
    bad |= split_vs_whole(c, "defaults", &def, 40, 4, cut3, 3);      /* vec4 path */
    bad |= split_vs_whole(c, "defaults", &def, 33, 1, cut3, 3);      /* scalar path */
    bad |= split_vs_whole(c, "lr=1e-2 beta1=0.9 wd=0.1", &lr_b1_wd, 40, 0, tiny, 3);
    bad |= split_vs_whole(c, "lr=1e-2 beta1=0.9 wd=0.1", &lr_b1_wd, 37, 3, tiny, 3);
    bad |= split_vs_whole(c, "warmup_init beta1=0.9", &warm_b1, 36, 4, two, 2);
    bad |= split_vs_whole(c, "warmup_init beta1=0.9", &warm_b1, 7, 2, two, 2);
    bad |= bad_input(c);
    return bad;
}
