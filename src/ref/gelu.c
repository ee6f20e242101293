/* Reference feed-forward activations; gelu_tanh as in HF NewGELUActivation:
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); gelu (erf) as HF GELUActivation; silu. */
#include "ref/gelu.h"

#include <math.h>

#include "ref/dropout.h"

static const double K = 0.7978845608028654, C = 0.044715;

double fv_ref_gelu_tanh(double x) { return 0.5 * x * (1.0 + tanh(K * (x + C * x * x * x))); }

double fv_ref_gelu_tanh_d(double x) {
    double t = tanh(K * (x + C * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * K * (1.0 + 3.0 * C * x * x);
}

/* act numbering as enum fv_ff_act: 0 relu, 1 gelu (erf, HF GELUActivation), 2 gelu_tanh, 3 silu. */
double fv_ref_act1(int act, double x) {
    switch (act) {
    case 0: return x > 0 ? x : 0;
    case 1: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case 3: return x / (1.0 + exp(-x));
    default: return fv_ref_gelu_tanh(x);
    }
}

double fv_ref_act1_d(int act, double x) {
    switch (act) {
    case 0: return x > 0 ? 1 : 0;
    case 1: return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) * 0.3989422804014327; /* 1/sqrt(2 pi) */
    case 3: {
        double s = 1.0 / (1.0 + exp(-x));
        return s * (1.0 + x * (1.0 - s));
    }
    default: return fv_ref_gelu_tanh_d(x);
    }
}

static double act_f(int act, double x) { return fv_ref_act1(act, x); }
static double act_d(int act, double x) { return fv_ref_act1_d(act, x); }

void fv_ref_act(int act, const float *a, const float *b, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)(act_f(act, a[i]) * (b ? (double)b[i] : 1.0));
}

void fv_ref_act_back(int act, const float *a, const float *b, const float *g, float *da, float *db, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double x = a[i];
        da[i] = (float)((double)g[i] * (b ? (double)b[i] : 1.0) * act_d(act, x));
        if (b && db) db[i] = (float)((double)g[i] * act_f(act, x));
    }
}

static void mask(const float *x, float *y, size_t n, uint32_t seed, uint32_t salt, float rate) {
    float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < n; i++) y[i] = fv_ref_dropout_keep(seed, salt, (uint32_t)i, rate) ? x[i] * scale : 0.0f;
}

void fv_ref_act_drop(int act, const float *a, const float *b, float *out, size_t n, uint32_t seed, uint32_t salt,
                     float rate) {
    fv_ref_act(act, a, b, out, n);
    mask(out, out, n, seed, salt, rate);
}

void fv_ref_act_back_drop(int act, const float *a, const float *b, const float *g, float *gd, float *da, float *db,
                          size_t n, uint32_t seed, uint32_t salt, float rate) {
    mask(g, gd, n, seed, salt, rate);
    fv_ref_act_back(act, a, b, gd, da, db, n);
}
