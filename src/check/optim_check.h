/* Helpers shared by the optimizer checks (op_adamw.c, op_adafactor.c): the GPU runs several steps
 * by replaying one recorded graph while the reference steps alongside; errors are tracked per
 * quantity over all steps and reported once. The parameter change per step (delta) is compared
 * as well as the parameter, since p ~ 1 hides an update of ~1e-3; its tolerance is kept above the
 * float rounding of p (4 ulp of max|p| relative to max|delta|), which neither side resolves.
 * Quantities that can cancel to ~0 in one step (momentum, the change of p) are measured relative
 * to their largest size over the steps. */
#ifndef FV_CHECK_OPTIM_CHECK_H
#define FV_CHECK_OPTIM_CHECK_H

#include <float.h>
#include <math.h>
#include <stdio.h>

#include "check/check.h"

static inline double fv_optc_maxabs(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    return m;
}

/* worst = max(worst, rel_err(got, ref)); a NaN counts as infinite. */
static inline void fv_optc_track(double *worst, const float *got, const float *ref, size_t n) {
    double e = got && ref ? fv_rel_err(got, ref, n) : INFINITY;
    if (!(e <= *worst)) *worst = isnan(e) ? INFINITY : e;
}

/* For quantities that can cancel to ~0 in one step: *diff = max |got - ref| over the steps and
 * *scale = max |ref| over the steps; report diff / scale. A non-finite got makes diff infinite. */
static inline void fv_optc_track_abs(double *diff, double *scale, const float *got, const float *ref, size_t n) {
    if (!got || !ref) {
        *diff = INFINITY;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double e = isfinite(got[i]) ? fabs((double)got[i] - ref[i]) : INFINITY;
        if (!(e <= *diff)) *diff = e;
    }
    *scale = fmax(*scale, fv_optc_maxabs(ref, n));
}

static inline double fv_optc_scaled(double diff, double scale) { return diff / fmax(scale, 1e-30); }

/* Track the step's parameter change, got = gp1 - gp0 against ref = rp1 - rp0, with
 * fv_optc_track_abs (weight decay and momentum can cancel one step's change to ~0). */
static inline void fv_optc_track_delta(double *diff, double *scale, const float *gp0, const float *gp1, const float *rp0,
                                       const float *rp1, float *tmp_got, float *tmp_ref, size_t n) {
    for (size_t i = 0; i < n; i++) {
        tmp_got[i] = gp1[i] - gp0[i];
        tmp_ref[i] = rp1[i] - rp0[i];
    }
    fv_optc_track_abs(diff, scale, tmp_got, tmp_ref, n);
}

/* Tolerance for the change of p: base, or the float rounding of p when that is coarser (4 ulp of
 * max|p| relative to the largest change). */
static inline double fv_optc_delta_tol(double base, const float *p, size_t n, double scale) {
    double floor_tol = scale > 0 ? 4.0 * FLT_EPSILON * fv_optc_maxabs(p, n) / scale : 0;
    return fmax(base, floor_tol);
}

static inline int fv_optc_report(fv_check *c, const char *what, const char *shape, double worst, double tol,
                                 int steps) {
    char detail[160];
    snprintf(detail, sizeof detail, "max rel err over %d steps %.2e (tol %.1e)", steps, worst, tol);
    if (worst <= tol) {
        fv_check_pass(c, what, shape, detail);
        return 0;
    }
    return fv_check_fail(c, what, shape, detail);
}

/* Deterministic inputs shared with tools/optim_reference.py (exact in float). */
static inline float fv_optc_p0(size_t i) { return (float)((double)((int)((i * 37) % 17) - 8) / 8.0); }
static inline float fv_optc_grad(size_t i, unsigned s) { return (float)((double)((int)((i * 13 + s * 7) % 11) - 5) / 5.0); }

#endif
