/* Linear layers with an fp16 or fp32 weight; see linear_mixed.h. */
#include "ops/linear_mixed.h"

static const char *dt_name(enum fv_dtype t) { return t == FV_F16 ? "fp16" : "fp32"; }

int fv_linear_wt(fv_graph *g, fv_t x, fv_t w, enum fv_dtype w_dtype, fv_t y, uint32_t rows, uint32_t in, uint32_t out,
                 float beta) {
    fv_gemm_desc p = {.M = rows, .N = out, .K = in, .trans_b = 1, .alpha = 1.0f, .beta = beta, .dtype_b = w_dtype};
    if (fv_gemm(g, &p, x, w, y)) return fv_err_wrap("linear %ux%u -> %u (%s weight)", rows, in, out, dt_name(w_dtype));
    return 0;
}

int fv_linear_wt_tr(fv_graph *g, fv_t x, fv_t wt, enum fv_dtype w_dtype, fv_t y, uint32_t rows, uint32_t in,
                    uint32_t out, float beta) {
    fv_gemm_desc p = {.M = rows, .N = out, .K = in, .alpha = 1.0f, .beta = beta, .dtype_b = w_dtype};
    if (fv_gemm(g, &p, x, wt, y))
        return fv_err_wrap("linear %ux%u -> %u (%s weight, stored transposed)", rows, in, out, dt_name(w_dtype));
    return 0;
}

int fv_linear_back_wt(fv_graph *g, fv_t x, fv_t w, enum fv_dtype w_dtype, fv_t dy, fv_t dx, fv_t dw, uint32_t rows,
                      uint32_t in, uint32_t out, int accumulate_dx) {
    if (dx.buf) {
        fv_gemm_desc p = {.M = rows, .N = in, .K = out, .alpha = 1.0f, .beta = accumulate_dx ? 1.0f : 0.0f,
                          .dtype_b = w_dtype};
        if (fv_gemm(g, &p, dy, w, dx))
            return fv_err_wrap("linear_back dx %ux%u <- %u (%s weight)", rows, in, out, dt_name(w_dtype));
    }
    if (dw.buf) {
        fv_gemm_desc p = {.M = out, .N = in, .K = rows, .trans_a = 1, .alpha = 1.0f, .beta = 1.0f};
        if (fv_gemm(g, &p, dy, x, dw)) return fv_err_wrap("linear_back dW %ux%u", out, in);
    }
    return 0;
}
