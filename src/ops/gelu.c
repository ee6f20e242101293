/* Host side of the feed-forward activations; see ops/gelu.h and shaders/gelu_gated*.comp.
 * Each entry point fills the push constants in elements (rows, cols, then offset/stride pairs,
 * then the dropout words when fused); the vec4 path divides the element counts by 4. */
#include "ops/gelu.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/elem_vec4.h"

/* A [rows, cols] matrix with row stride ld fits in t's buffer; ld >= cols. */
static int check_mat(const char *op, const char *arg, fv_t t, uint32_t ld, uint32_t rows, uint32_t cols) {
    if (ld < cols) return fv_err("%s: %s row stride %u is smaller than cols %u", op, arg, ld, cols);
    uint64_t n = rows ? (uint64_t)(rows - 1) * ld + cols : 0;
    return fv_op_check(op, arg, t, n, 4);
}

static int shape_ok(const char *op, uint32_t rows, uint32_t cols) {
    if (!rows || !cols) return fv_err("%s: empty shape %ux%u", op, rows, cols);
    if ((uint64_t)rows * cols > UINT32_MAX) return fv_err("%s: %ux%u has more than 2^32 elements", op, rows, cols);
    return 0;
}

static int drop_ok(const char *op, fv_ff_drop dp) {
    if (!(dp.rate >= 0.0f && dp.rate < 1.0f)) return fv_err("%s: dropout rate %g is outside [0, 1)", op, dp.rate);
    return dp.rate > 0.0f ? fv_op_check(op, "seed", dp.seed, 1, 4) : 0;
}

/* The dropout words that end the push constants of the DROP variants: salt, the keep threshold
 * ceil(rate * 2^24) on the hash's top 24 bits (exactly fv_dropout's float test, see
 * shaders/common/gelu_act.glsl), scale, seed index. */
static uint32_t drop_words(fv_ff_drop dp, uint32_t *u) {
    float scale = 1.0f / (1.0f - dp.rate);
    u[0] = dp.salt;
    u[1] = (uint32_t)ceil((double)dp.rate * 16777216.0);
    memcpy(&u[2], &scale, 4);
    u[3] = dp.seed.off;
    return 4;
}

/* One dispatch of shader family `base` ("gelu_gated" or "gelu_gated_back"): u holds nu push words
 * of which the first nel are element counts/offsets, bufs the nbind bindings (the seed last when
 * dropping), the first ninputs of them read-only inputs, wmask the written ones. The vec4 path
 * (shaders/gelu_gated4.comp) when cols, every stride and every offset are multiples of 4. */
static int dispatch(fv_graph *g, int back, enum fv_ff_act act, int gated, int drop, uint32_t *u, uint32_t nu,
                    uint32_t nel, fv_buf **bufs, uint32_t nbind, uint32_t ninputs, uint32_t wmask) {
    fv_dev *d = fv_graph_dev(g);
    fv_pipe_desc desc;
    char name[48];
    fv_pipeline *p;
    if (u[0] <= d->props.limits.maxComputeWorkGroupCount[1] && u[1] % 4 == 0 && fv_elem_vec4_ok(d, u[1], nel - 2, u + 2)) {
        int texel = d->use_texel;
        for (uint32_t i = 0; i < ninputs; i++) texel = texel && fv_elem_texel_ok(d, bufs[i]);
        for (uint32_t i = 1; i < nel; i++) u[i] /= 4;
        snprintf(name, sizeof name, "gelu_gated4%s%s%s", back ? "_back" : "", drop ? "_drop" : "", texel ? "_texel" : "");
        fv_op_desc(&desc, name, nbind, wmask, nu * 4);
        fv_elem_vec4_spec(d, &desc);
        /* CPU devices: one vec4 per invocation in the backward (its five streams with 4 per
         * invocation ran 1.6x slower on lavapipe, 2x with the dropout fused; measured) */
        if (back && d->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) desc.spec[1] = 1;
        desc.nspec = 4;
        desc.spec[2] = (uint32_t)act;
        desc.spec[3] = gated != 0;
        for (uint32_t i = 0; texel && i < ninputs; i++) {
            desc.bind_kind[i] = FV_BIND_TEXEL;
            desc.bind_fmt[i] = FV_TEXEL_RGBA32F;
        }
        FV_TRY(fv_pipeline_get(d, &desc, &p));
        return fv_graph_dispatch(g, p, bufs, u, fv_div_up(u[1], desc.spec[0] * desc.spec[1]), u[0], 1);
    }
    snprintf(name, sizeof name, "gelu_gated%s%s", back ? "_back" : "", drop ? "_drop" : "");
    fv_op_desc(&desc, name, nbind, wmask, nu * 4);
    desc.nspec = 3;
    desc.spec[0] = fv_op_row_threads(d, u[1]);
    desc.spec[1] = (uint32_t)act;
    desc.spec[2] = gated != 0;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    uint32_t gx, gy;
    fv_op_grid(d, u[0], &gx, &gy);
    return fv_graph_dispatch(g, p, bufs, u, gx, gy, 1);
}

int fv_ff_act_fwd_drop(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t out, uint32_t ldo,
                       uint32_t rows, uint32_t cols, fv_ff_drop dp) {
    const char *op = act == FV_FF_RELU ? "relu" : act == FV_FF_SILU ? "silu" : "gelu";
    if ((unsigned)act > FV_FF_SILU) return fv_err("act: unknown activation %d", (int)act);
    int gated = b.buf != NULL, drop = dp.rate > 0.0f;
    FV_TRY(shape_ok(op, rows, cols));
    FV_TRY(drop_ok(op, dp));
    if (!lda) lda = cols;
    if (!ldb) ldb = cols;
    if (!ldo) ldo = cols;
    FV_TRY(check_mat(op, "a", a, lda, rows, cols));
    if (gated) FV_TRY(check_mat(op, "b", b, ldb, rows, cols));
    FV_TRY(check_mat(op, "out", out, ldo, rows, cols));
    uint32_t u[12] = {rows, cols, a.off, lda, gated ? b.off : 0, ldb, out.off, ldo}, nu = 8;
    if (drop) nu += drop_words(dp, u + 8);
    fv_buf *bufs[] = {a.buf, gated ? b.buf : a.buf, out.buf, dp.seed.buf};
    return dispatch(g, 0, act, gated, drop, u, nu, 8, bufs, drop ? 4 : 3, 2, 1u << 2);
}

int fv_ff_act_back_drop(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t dout,
                        uint32_t ldg, fv_t da, uint32_t ldda, fv_t db, uint32_t lddb, uint32_t rows, uint32_t cols,
                        fv_ff_drop dp) {
    const char *op = act == FV_FF_RELU ? "relu_back" : act == FV_FF_SILU ? "silu_back" : "gelu_back";
    if ((unsigned)act > FV_FF_SILU) return fv_err("act_back: unknown activation %d", (int)act);
    int gated = b.buf != NULL, drop = dp.rate > 0.0f;
    if (gated != (db.buf != NULL)) return fv_err("%s: b and db must both be given (gated) or both be null", op);
    FV_TRY(shape_ok(op, rows, cols));
    FV_TRY(drop_ok(op, dp));
    if (!lda) lda = cols;
    if (!ldb) ldb = cols;
    if (!ldg) ldg = cols;
    if (!ldda) ldda = cols;
    if (!lddb) lddb = cols;
    FV_TRY(check_mat(op, "a", a, lda, rows, cols));
    FV_TRY(check_mat(op, "dout", dout, ldg, rows, cols));
    FV_TRY(check_mat(op, "da", da, ldda, rows, cols));
    if (gated) {
        FV_TRY(check_mat(op, "b", b, ldb, rows, cols));
        FV_TRY(check_mat(op, "db", db, lddb, rows, cols));
    }
    uint32_t u[16] = {rows, cols, a.off, lda, gated ? b.off : 0, ldb, dout.off, ldg, da.off, ldda, gated ? db.off : 0, lddb};
    uint32_t nu = 12;
    if (drop) nu += drop_words(dp, u + 12);
    fv_buf *bufs[] = {a.buf, gated ? b.buf : a.buf, dout.buf, da.buf, gated ? db.buf : da.buf, dp.seed.buf};
    return dispatch(g, 1, act, gated, drop, u, nu, 12, bufs, drop ? 6 : 5, 3, (1u << 3) | (1u << 4));
}

int fv_ff_act_fwd(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t out, uint32_t ldo,
                  uint32_t rows, uint32_t cols) {
    return fv_ff_act_fwd_drop(g, act, a, lda, b, ldb, out, ldo, rows, cols, (fv_ff_drop){0});
}

int fv_ff_act_back(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t dout, uint32_t ldg,
                   fv_t da, uint32_t ldda, fv_t db, uint32_t lddb, uint32_t rows, uint32_t cols) {
    return fv_ff_act_back_drop(g, act, a, lda, b, ldb, dout, ldg, da, ldda, db, lddb, rows, cols, (fv_ff_drop){0});
}

int fv_gelu_gated_drop(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t out, uint32_t rows, uint32_t cols, fv_t seed,
                       uint32_t salt, float rate) {
    if (!b.buf) return fv_err("gelu: b is a null buffer");
    return fv_ff_act_fwd_drop(g, FV_FF_GELU_TANH, a, ld_ab, b, ld_ab, out, 0, rows, cols, (fv_ff_drop){seed, salt, rate});
}

int fv_gelu_gated_back_drop(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t dout, fv_t da, fv_t db, uint32_t ld_dab,
                            uint32_t rows, uint32_t cols, fv_t seed, uint32_t salt, float rate) {
    if (!b.buf || !db.buf) return fv_err("gelu_back: b or db is a null buffer");
    return fv_ff_act_back_drop(g, FV_FF_GELU_TANH, a, ld_ab, b, ld_ab, dout, 0, da, ld_dab, db, ld_dab, rows, cols,
                               (fv_ff_drop){seed, salt, rate});
}

int fv_gelu_gated(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t out, uint32_t rows, uint32_t cols) {
    return fv_gelu_gated_drop(g, a, b, ld_ab, out, rows, cols, (fv_t){0}, 0, 0.0f);
}

int fv_gelu_gated_back(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t dout, fv_t da, fv_t db, uint32_t ld_dab,
                       uint32_t rows, uint32_t cols) {
    return fv_gelu_gated_back_drop(g, a, b, ld_ab, dout, da, db, ld_dab, rows, cols, (fv_t){0}, 0, 0.0f);
}

int fv_relu(fv_graph *g, fv_t a, fv_t out, uint32_t rows, uint32_t cols) {
    return fv_ff_act_fwd(g, FV_FF_RELU, a, 0, (fv_t){0}, 0, out, 0, rows, cols);
}

int fv_relu_back(fv_graph *g, fv_t a, fv_t dout, fv_t da, uint32_t rows, uint32_t cols) {
    return fv_ff_act_back(g, FV_FF_RELU, a, 0, (fv_t){0}, 0, dout, 0, da, 0, (fv_t){0}, 0, rows, cols);
}
