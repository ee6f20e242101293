/* Host side of the feed-forward activations; see ops/gelu.h and shaders/gelu_gated*.comp. */
#include "ops/gelu.h"

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

static int act_pipeline(fv_dev *d, const char *shader, uint32_t nbind, uint32_t wmask, uint32_t push, enum fv_ff_act act,
                        int gated, uint32_t cols, fv_pipeline **p) {
    fv_pipe_desc desc;
    fv_op_desc(&desc, shader, nbind, wmask, push);
    desc.nspec = 3;
    desc.spec[0] = fv_op_row_threads(d, cols);
    desc.spec[1] = (uint32_t)act;
    desc.spec[2] = gated != 0;
    return fv_pipeline_get(d, &desc, p);
}

/* The vec4 path (shaders/gelu_gated4.comp): when cols, every row stride and every offset are
 * multiples of 4. Returns 1 (and records it) when taken, 0 when the scalar shader must run. `u` are
 * the push constants in elements (rows, cols, then offset/stride pairs); they become vec4 counts. */
static int try_vec4(fv_graph *g, int back, enum fv_ff_act act, int gated, uint32_t *u, uint32_t nu, fv_buf **bufs,
                    uint32_t nbind, uint32_t ninputs, int *rc) {
    fv_dev *d = fv_graph_dev(g);
    *rc = 0;
    if (u[0] > d->props.limits.maxComputeWorkGroupCount[1] || !fv_elem_vec4_ok(d, u[1], nu - 2, u + 2)) return 0;
    if (u[1] % 4) return 0;
    int texel = d->use_texel;
    for (uint32_t i = 0; i < ninputs; i++) texel = texel && fv_elem_texel_ok(d, bufs[i]);
    for (uint32_t i = 1; i < nu; i++) u[i] /= 4;
    static const char *names[2][2] = {{"gelu_gated4", "gelu_gated4_texel"}, {"gelu_gated4_back", "gelu_gated4_back_texel"}};
    fv_pipe_desc desc;
    fv_op_desc(&desc, names[back][texel], nbind, back ? (1u << 3) | (1u << 4) : 1u << 2, nu * 4);
    fv_elem_vec4_spec(d, &desc);
    desc.nspec = 4;
    desc.spec[2] = (uint32_t)act;
    desc.spec[3] = gated != 0;
    for (uint32_t i = 0; texel && i < ninputs; i++) {
        desc.bind_kind[i] = FV_BIND_TEXEL;
        desc.bind_fmt[i] = FV_TEXEL_RGBA32F;
    }
    fv_pipeline *p;
    *rc = fv_pipeline_get(d, &desc, &p);
    if (!*rc) *rc = fv_graph_dispatch(g, p, bufs, u, fv_div_up(u[1], desc.spec[0] * desc.spec[1]), u[0], 1);
    return 1;
}

int fv_ff_act_fwd(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t out, uint32_t ldo,
               uint32_t rows, uint32_t cols) {
    const char *op = act == FV_FF_RELU ? "relu" : act == FV_FF_SILU ? "silu" : "gelu";
    if ((unsigned)act > FV_FF_SILU) return fv_err("act: unknown activation %d", (int)act);
    int gated = b.buf != NULL;
    FV_TRY(shape_ok(op, rows, cols));
    if (!lda) lda = cols;
    if (!ldb) ldb = cols;
    if (!ldo) ldo = cols;
    FV_TRY(check_mat(op, "a", a, lda, rows, cols));
    if (gated) FV_TRY(check_mat(op, "b", b, ldb, rows, cols));
    FV_TRY(check_mat(op, "out", out, ldo, rows, cols));
    fv_dev *d = fv_graph_dev(g);
    struct { uint32_t rows, cols, ao, lda, bo, ldb, oo, ldo; } pc = {rows, cols, a.off, lda, gated ? b.off : 0, ldb,
                                                                       out.off, ldo};
    fv_buf *bufs[] = {a.buf, gated ? b.buf : a.buf, out.buf};
    int rc;
    uint32_t u[8];
    memcpy(u, &pc, sizeof u);
    if (try_vec4(g, 0, act, gated, u, 8, bufs, 3, 2, &rc)) return rc;
    fv_pipeline *p;
    FV_TRY(act_pipeline(d, "gelu_gated", 3, 1u << 2, sizeof pc, act, gated, cols, &p));
    uint32_t gx, gy;
    fv_op_grid(d, rows, &gx, &gy);
    return fv_graph_dispatch(g, p, bufs, &pc, gx, gy, 1);
}

int fv_ff_act_back(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t dout, uint32_t ldg,
                fv_t da, uint32_t ldda, fv_t db, uint32_t lddb, uint32_t rows, uint32_t cols) {
    const char *op = act == FV_FF_RELU ? "relu_back" : act == FV_FF_SILU ? "silu_back" : "gelu_back";
    if ((unsigned)act > FV_FF_SILU) return fv_err("act_back: unknown activation %d", (int)act);
    int gated = b.buf != NULL;
    if (gated != (db.buf != NULL)) return fv_err("%s: b and db must both be given (gated) or both be null", op);
    FV_TRY(shape_ok(op, rows, cols));
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
    fv_dev *d = fv_graph_dev(g);
    struct { uint32_t rows, cols, ao, lda, bo, ldb, go, ldg, dao, ldda, dbo, lddb; } pc = {
        rows, cols, a.off, lda, gated ? b.off : 0, ldb, dout.off, ldg, da.off, ldda, gated ? db.off : 0, lddb};
    fv_buf *bufs[] = {a.buf, gated ? b.buf : a.buf, dout.buf, da.buf, gated ? db.buf : da.buf};
    int rc;
    uint32_t u[12];
    memcpy(u, &pc, sizeof u);
    if (try_vec4(g, 1, act, gated, u, 12, bufs, 5, 3, &rc)) return rc;
    fv_pipeline *p;
    FV_TRY(act_pipeline(d, "gelu_gated_back", 5, (1u << 3) | (1u << 4), sizeof pc, act, gated, cols, &p));
    uint32_t gx, gy;
    fv_op_grid(d, rows, &gx, &gy);
    return fv_graph_dispatch(g, p, bufs, &pc, gx, gy, 1);
}

int fv_gelu_gated(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t out, uint32_t rows, uint32_t cols) {
    if (!b.buf) return fv_err("gelu: b is a null buffer");
    return fv_ff_act_fwd(g, FV_FF_GELU_TANH, a, ld_ab, b, ld_ab, out, 0, rows, cols);
}

int fv_gelu_gated_back(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t dout, fv_t da, fv_t db, uint32_t ld_dab,
                       uint32_t rows, uint32_t cols) {
    if (!b.buf || !db.buf) return fv_err("gelu_back: b or db is a null buffer");
    return fv_ff_act_back(g, FV_FF_GELU_TANH, a, ld_ab, b, ld_ab, dout, 0, da, ld_dab, db, ld_dab, rows, cols);
}

int fv_relu(fv_graph *g, fv_t a, fv_t out, uint32_t rows, uint32_t cols) {
    return fv_ff_act_fwd(g, FV_FF_RELU, a, 0, (fv_t){0}, 0, out, 0, rows, cols);
}

int fv_relu_back(fv_graph *g, fv_t a, fv_t dout, fv_t da, uint32_t rows, uint32_t cols) {
    return fv_ff_act_back(g, FV_FF_RELU, a, 0, (fv_t){0}, 0, dout, 0, da, 0, (fv_t){0}, 0, rows, cols);
}
