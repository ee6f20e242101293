/* Host side of the optimizer steps: argument checks, pipelines, workgroup counts; see ops/optim.h
 * and shaders/opt_adamw.comp, shaders/opt_adafactor_*.comp. */
#include "ops/optim.h"
#include "ops/elem_vec4.h"

static int pipeline(fv_dev *d, const char *shader, uint32_t nbind, uint32_t write_mask, uint32_t push,
                    uint32_t threads, fv_pipeline **p) {
    fv_pipe_desc desc;
    fv_op_desc(&desc, shader, nbind, write_mask, push);
    desc.nspec = 1;
    desc.spec[0] = threads;
    return fv_pipeline_get(d, &desc, p);
}

/* The vec4 path (shaders/opt_adamw4.comp) over the first n & ~3 elements when every offset is a
 * multiple of 4; the scalar shader takes the rest (and everything when unaligned). */
static int adamw_vec4(fv_graph *g, fv_t hyper, fv_t p, fv_t grad, fv_t m, fv_t v, uint32_t n4) {
    fv_dev *d = fv_graph_dev(g);
    int texel = d->use_texel && fv_elem_texel_ok(d, p.buf) && fv_elem_texel_ok(d, grad.buf) &&
                fv_elem_texel_ok(d, m.buf) && fv_elem_texel_ok(d, v.buf);
    struct { uint32_t n, po, go, mo, vo, ho; } pc = {n4, p.off / 4, grad.off / 4, m.off / 4, v.off / 4, hyper.off};
    fv_pipe_desc desc;
    fv_op_desc(&desc, texel ? "opt_adamw4_texel" : "opt_adamw4", texel ? 8 : 5, (1u << 1) | (1u << 3) | (1u << 4),
               sizeof pc);
    fv_elem_vec4_spec(d, &desc);
    if (texel)
        for (int i = 2; i < 8; i += (i == 2 ? 3 : 1)) {
            desc.bind_kind[i] = FV_BIND_TEXEL;
            desc.bind_fmt[i] = FV_TEXEL_RGBA32F;
        }
    fv_pipeline *pl;
    FV_TRY(fv_pipeline_get(d, &desc, &pl));
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up(n4, desc.spec[0] * desc.spec[1]), &gx, &gy);
    fv_buf *b[] = {hyper.buf, p.buf, grad.buf, m.buf, v.buf, p.buf, m.buf, v.buf};
    return fv_graph_dispatch(g, pl, b, &pc, gx, gy, 1);
}

/* The slowest AdamW rate flanvk expects on any device, elements per ms: a seventh of lavapipe's on
 * the project's 2-core build machine (143 M elements/s by `bench ops --op adamw`; 28 M/s seen in a
 * training step while four jobs shared the cores), so a piece of fv_graph_max_work elements stays
 * inside the submission bound anywhere. */
#define ADAMW_FLOOR_PER_MS 2e4

static int adamw_piece(fv_graph *g, fv_t hyper, fv_t p, fv_t grad, fv_t m, fv_t v, uint32_t n) {
    fv_dev *d = fv_graph_dev(g);
    uint32_t done = 0;
    if (fv_elem_vec4_ok(d, n, 4, (uint32_t[]){p.off, grad.off, m.off, v.off})) {
        done = n & ~3u;
        FV_TRY(adamw_vec4(g, hyper, p, grad, m, v, done / 4));
        if (done == n) return 0;
        p.off += done, grad.off += done, m.off += done, v.off += done;
    }
    n -= done;
    struct { uint32_t n, po, go, mo, vo, ho; } pc = {n, p.off, grad.off, m.off, v.off, hyper.off};
    fv_pipeline *pl;
    FV_TRY(pipeline(d, "opt_adamw", 5, (1u << 1) | (1u << 3) | (1u << 4), sizeof pc, fv_op_row_threads(d, 256), &pl));
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up(n, pl->desc.spec[0]), &gx, &gy);
    fv_buf *b[] = {hyper.buf, p.buf, grad.buf, m.buf, v.buf};
    return fv_graph_dispatch(g, pl, b, &pc, gx, gy, 1);
}

/* Elementwise, so it runs as pieces of at most fv_graph_max_work elements (a multiple of 4, so
 * every piece keeps the vec4 path's alignment): each element's update is the same arithmetic in
 * whichever piece it falls, hence results are identical to one dispatch. */
int fv_adamw(fv_graph *g, fv_t hyper, fv_t p, fv_t grad, fv_t m, fv_t v, uint32_t n) {
    const char *op = "adamw";
    if (n == 0) return fv_err("%s: empty tensor", op);
    FV_TRY(fv_op_check(op, "hyper", hyper, FV_OPT_HYPER_WORDS, 4));
    FV_TRY(fv_op_check(op, "p", p, n, 4));
    FV_TRY(fv_op_check(op, "grad", grad, n, 4));
    FV_TRY(fv_op_check(op, "m", m, n, 4));
    FV_TRY(fv_op_check(op, "v", v, n, 4));
    uint64_t cap = fv_graph_max_work(g, ADAMW_FLOOR_PER_MS);
    uint32_t piece = cap >= n ? n : cap < 4 ? 4 : (uint32_t)cap & ~3u;
    for (uint32_t i = 0; i < n; i += piece) {
        uint32_t k = n - i < piece ? n - i : piece;
        FV_TRY(adamw_piece(g, hyper, fv_tensor(p.buf, p.off + i), fv_tensor(grad.buf, grad.off + i),
                           fv_tensor(m.buf, m.off + i), fv_tensor(v.buf, v.off + i), k));
    }
    return 0;
}

enum { FLAG_FACTORED = 1, FLAG_MOMENTUM = 2 };
enum { B_P = 1u << 1, B_S = 1u << 3, B_M = 1u << 4, B_X = 1u << 5 };

/* The factored vec4 path (shaders/opt_adafactor_{rows,usq,apply}4.comp, plus the scalar cols and
 * scalars passes): each workgroup takes a chunk of whole rows, each invocation CA column vec4s of
 * every row. It uses at most as many chunks as fv_adafactor_chunks (at least 16 rows each, so the
 * column partials stay small), hence fits the same scratch. *done = 0 when it does not apply. */
static int adafactor_vec4(fv_graph *g, fv_t hyper, fv_t p, fv_t grad, fv_t state, fv_t m, fv_t scratch,
                          uint32_t rows, uint32_t cols, uint32_t api_per, int *done) {
    fv_dev *d = fv_graph_dev(g);
    *done = 0;
    uint32_t offs[] = {p.off, grad.off, m.buf ? m.off : 0};
    if (cols % 4 || !fv_elem_vec4_ok(d, cols, 3, offs)) return 0;
    uint32_t c4 = cols / 4, wg = fv_op_row_threads(d, c4), ca = fv_div_up(c4, wg);
    while (ca > 32 && wg * 2 <= d->info.max_workgroup_invocations) wg *= 2, ca = fv_div_up(c4, wg);
    if (ca > 32) return 0;
    uint32_t per = api_per < 16 ? 16 : api_per, nch = fv_div_up(rows, per);
    int texel = d->use_texel && fv_elem_texel_ok(d, p.buf) && fv_elem_texel_ok(d, grad.buf) &&
                (!m.buf || fv_elem_texel_ok(d, m.buf));
    struct { uint32_t rows, cols, po, go, so, mo, ho, xo, nch, per, flags; } pc = {
        rows, cols, p.off / 4, grad.off / 4, state.off, m.buf ? m.off / 4 : 0, hyper.off, scratch.off, nch, per,
        m.buf ? FLAG_MOMENTUM : 0};
    fv_buf *b[] = {hyper.buf, p.buf, grad.buf, state.buf, m.buf ? m.buf : grad.buf, scratch.buf, p.buf,
                   m.buf ? m.buf : grad.buf};
    static const char *names[][2] = {{"opt_adafactor_rows4", "opt_adafactor_rows4_texel"},
                                     {"opt_adafactor_usq4", "opt_adafactor_usq4_texel"},
                                     {"opt_adafactor_apply4", "opt_adafactor_apply4_texel"}};
    uint32_t writes[] = {B_S | B_X, B_X, B_P | (m.buf ? B_M : 0)};
    fv_pipeline *pl[3];
    for (int k = 0; k < 3; k++) {
        fv_pipe_desc desc;
        fv_op_desc(&desc, names[k][texel], texel ? 8 : 6, writes[k], sizeof pc);
        desc.nspec = 2;
        desc.spec[0] = wg;
        desc.spec[1] = ca;
        if (texel)
            for (int i = 2; i < 8; i += (i == 2 ? 4 : 1)) {
                desc.bind_kind[i] = FV_BIND_TEXEL;
                desc.bind_fmt[i] = FV_TEXEL_RGBA32F;
            }
        FV_TRY(fv_pipeline_get(d, &desc, &pl[k]));
    }
    /* the scalar passes only read rows, cols, so, ho, xo, nch of the push constants */
    fv_pipeline *cols_pl, *scal_pl;
    uint32_t ct = fv_op_row_threads(d, 256);
    if (fv_div_up(cols, ct) + 1 > d->props.limits.maxComputeWorkGroupCount[0])
        return fv_err("adafactor: %u columns exceed the device's workgroup count limit", cols);
    FV_TRY(pipeline(d, "opt_adafactor_cols", 6, B_S | B_X, sizeof pc, ct, &cols_pl));
    FV_TRY(pipeline(d, "opt_adafactor_scalars", 6, B_X, sizeof pc, fv_op_row_threads(d, nch), &scal_pl));
    FV_TRY(fv_graph_dispatch(g, pl[0], b, &pc, nch, 1, 1));
    FV_TRY(fv_graph_dispatch(g, cols_pl, b, &pc, fv_div_up(cols, ct) + 1, 1, 1));
    FV_TRY(fv_graph_dispatch(g, pl[1], b, &pc, nch, 1, 1));
    FV_TRY(fv_graph_dispatch(g, scal_pl, b, &pc, 1, 1, 1));
    FV_TRY(fv_graph_dispatch(g, pl[2], b, &pc, nch, 1, 1));
    *done = 1;
    return 0;
}

int fv_adafactor(fv_graph *g, fv_t hyper, fv_t p, fv_t grad, fv_t state, fv_t m, fv_t scratch, uint32_t rows,
                 uint32_t cols, int factored) {
    const char *op = "adafactor";
    uint64_t n = (uint64_t)rows * cols;
    if (n == 0) return fv_err("%s: empty tensor %ux%u", op, rows, cols);
    if (n > UINT32_MAX) return fv_err("%s: tensor %ux%u has more than 2^32 elements", op, rows, cols);
    FV_TRY(fv_op_check(op, "hyper", hyper, FV_OPT_HYPER_WORDS, 4));
    FV_TRY(fv_op_check(op, "p", p, n, 4));
    FV_TRY(fv_op_check(op, "grad", grad, n, 4));
    FV_TRY(fv_op_check(op, "state", state, fv_adafactor_state_size(rows, cols, factored, 0), 4));
    if (m.buf) FV_TRY(fv_op_check(op, "m", m, n, 4));
    FV_TRY(fv_op_check(op, "scratch", scratch, fv_adafactor_scratch_size(rows, cols, factored), 4));
    fv_dev *d = fv_graph_dev(g);
    uint32_t per, nch = fv_adafactor_chunks(rows, cols, factored, &per);
    if (factored) {
        int done;
        FV_TRY(adafactor_vec4(g, hyper, p, grad, state, m, scratch, rows, cols, per, &done));
        if (done) return 0;
    }
    uint32_t flags = (factored ? FLAG_FACTORED : 0) | (m.buf ? FLAG_MOMENTUM : 0);
    struct { uint32_t rows, cols, po, go, so, mo, ho, xo, nch, per, flags; } pc = {
        rows, cols, p.off, grad.off, state.off, m.buf ? m.off : 0, hyper.off, scratch.off, nch, per, flags};
    /* Without momentum the m binding is never touched; bind the (read-only) gradient there. */
    fv_buf *b[] = {hyper.buf, p.buf, grad.buf, state.buf, m.buf ? m.buf : grad.buf, scratch.buf};
    uint32_t red = fv_op_row_threads(d, factored ? cols : per); /* threads of the reduction passes */
    fv_pipeline *pl;
    if (factored) {
        FV_TRY(pipeline(d, "opt_adafactor_rows", 6, B_S | B_X, sizeof pc, red, &pl));
        FV_TRY(fv_graph_dispatch(g, pl, b, &pc, nch, 1, 1));
        uint32_t ct = fv_op_row_threads(d, 256);
        if (fv_div_up(cols, ct) + 1 > d->props.limits.maxComputeWorkGroupCount[0])
            return fv_err("%s: %u columns exceed the device's workgroup count limit", op, cols);
        FV_TRY(pipeline(d, "opt_adafactor_cols", 6, B_S | B_X, sizeof pc, ct, &pl));
        FV_TRY(fv_graph_dispatch(g, pl, b, &pc, fv_div_up(cols, ct) + 1, 1, 1));
        FV_TRY(pipeline(d, "opt_adafactor_usq", 6, B_X, sizeof pc, red, &pl));
        FV_TRY(fv_graph_dispatch(g, pl, b, &pc, nch, 1, 1));
    } else {
        FV_TRY(pipeline(d, "opt_adafactor_vec", 6, B_S | B_X, sizeof pc, red, &pl));
        FV_TRY(fv_graph_dispatch(g, pl, b, &pc, nch, 1, 1));
    }
    FV_TRY(pipeline(d, "opt_adafactor_scalars", 6, B_X, sizeof pc, fv_op_row_threads(d, nch), &pl));
    FV_TRY(fv_graph_dispatch(g, pl, b, &pc, 1, 1, 1));
    FV_TRY(pipeline(d, "opt_adafactor_apply", 6, B_P | (m.buf ? B_M : 0), sizeof pc, fv_op_row_threads(d, 256), &pl));
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up((uint32_t)n, pl->desc.spec[0]), &gx, &gy);
    return fv_graph_dispatch(g, pl, b, &pc, gx, gy, 1);
}
