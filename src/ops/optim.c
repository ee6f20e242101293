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

/* The slowest rate of one Adafactor pass flanvk expects on any device, elements per ms. Each pass
 * touches at most as many arrays per element as AdamW does (the factored row pass reads the
 * gradient twice and the parameters once; the update reads four and writes two), so AdamW's floor
 * serves. Every chunked pass runs a workgroup per chunk of rows (or of a vector's elements) that
 * depends on no other workgroup of its dispatch and finds its chunk by k0 + gl_WorkGroupID.x; the
 * elementwise update indexes by workgroup too. So each pass is cut into workgroup ranges
 * (fv_op_dispatch_bounded) that run the same sums in the same order as one dispatch. A chunk is at
 * most 1/256 of a tensor (fv_adafactor_chunks), so the largest Flan-T5 tensor (xxl's embedding,
 * 131.6 M values) has chunks of 0.5 M values, about 26 ms at this floor. */
#define ADAFACTOR_FLOOR_PER_MS ADAMW_FLOOR_PER_MS

enum { FLAG_FACTORED = 1, FLAG_MOMENTUM = 2 };
enum { B_P = 1u << 1, B_S = 1u << 3, B_M = 1u << 4, B_X = 1u << 5 };

typedef struct { uint32_t rows, cols, po, go, so, mo, ho, xo, nch, per, flags, r0, r1, k0, cin, cout; } af_push;

uint32_t fv_adafactor_carry_size(const fv_dev *d) { return 8 * d->info.max_workgroup_invocations; }

/* Push constants of piece j (rows r0..r1): p/g/m offsets shifted back by r0 rows (unsigned wrap, see
 * shaders/common/opt_adafactor.glsl; unit = 1 or 4 floats), chunks from the one holding r0, and the
 * two carry areas used alternately so a piece never reads the area its own tail writes. */
static af_push piece_push(const af_push *base, const fv_adafactor_piece *pc, uint32_t r0, uint32_t j, uint32_t unit,
                          uint32_t carry0, uint32_t half) {
    af_push q = *base;
    uint32_t shift = r0 * (base->cols / unit);
    q.po = pc->p.off / unit - shift;
    q.go = pc->grad.off / unit - shift;
    q.mo = pc->m.buf ? pc->m.off / unit - shift : 0;
    q.r0 = r0;
    q.r1 = r0 + pc->rows;
    q.k0 = r0 / base->per;
    q.cin = carry0 + (j % 2) * half;
    q.cout = carry0 + ((j + 1) % 2) * half;
    return q;
}

static uint32_t piece_chunks(const af_push *q) { return (q->r1 - 1) / q->per - q->k0 + 1; }

/* The column pass (shaders/opt_adafactor_cols.comp): a workgroup per ct columns sums nch chunk
 * partials of each, the extra last one the row statistic; workgroups are independent. */
static int cols_pass(fv_graph *g, fv_pipeline *pl, fv_buf *const *b, const af_push *base, uint32_t ct) {
    double work = (double)ct * base->nch > base->rows ? (double)ct * base->nch : base->rows;
    return fv_op_dispatch_bounded(g, pl, b, base, fv_div_up(base->cols, ct) + 1, work, ADAFACTOR_FLOOR_PER_MS);
}

/* The factored vec4 path (shaders/opt_adafactor_{rows,usq,apply}4.comp, plus the scalar cols and
 * scalars passes): each workgroup takes a chunk of whole rows, each invocation CA column vec4s of
 * every row. It uses at most as many chunks as fv_adafactor_chunks (at least 16 rows each, so the
 * column partials stay small), hence fits the same scratch. *done = 0 when it does not apply (to
 * any piece: every piece takes the same path, so a split matrix sums in the unsplit order). */
static int adafactor_vec4(fv_graph *g, fv_t hyper, const fv_adafactor_piece *pcs, uint32_t np, fv_t state,
                          fv_t scratch, uint32_t rows, uint32_t cols, uint32_t api_per, uint32_t carry0, int *done) {
    fv_dev *d = fv_graph_dev(g);
    *done = 0;
    if (cols % 4) return 0;
    int texel = d->use_texel;
    for (uint32_t j = 0; j < np; j++) {
        const fv_adafactor_piece *pc = &pcs[j];
        uint32_t offs[] = {pc->p.off, pc->grad.off, pc->m.buf ? pc->m.off : 0};
        if (!fv_elem_vec4_ok(d, cols, 3, offs)) return 0;
        texel = texel && fv_elem_texel_ok(d, pc->p.buf) && fv_elem_texel_ok(d, pc->grad.buf) &&
                (!pc->m.buf || fv_elem_texel_ok(d, pc->m.buf));
    }
    uint32_t c4 = cols / 4, wg = fv_op_row_threads(d, c4), ca = fv_div_up(c4, wg);
    while (ca > 32 && wg * 2 <= d->info.max_workgroup_invocations) wg *= 2, ca = fv_div_up(c4, wg);
    if (ca > 32) return 0;
    uint32_t per = api_per < 16 ? 16 : api_per, nch = fv_div_up(rows, per);
    int mom = pcs[0].m.buf != NULL;
    af_push base = {rows, cols, 0, 0, state.off, 0, hyper.off, scratch.off, nch, per, mom ? FLAG_MOMENTUM : 0,
                    0, rows, 0, 0, 0};
    static const char *names[][2] = {{"opt_adafactor_rows4", "opt_adafactor_rows4_texel"},
                                     {"opt_adafactor_usq4", "opt_adafactor_usq4_texel"},
                                     {"opt_adafactor_apply4", "opt_adafactor_apply4_texel"}};
    uint32_t writes[] = {B_S | B_X, B_X, B_P | (mom ? B_M : 0)};
    fv_pipeline *pl[3];
    for (int k = 0; k < 3; k++) {
        fv_pipe_desc desc;
        fv_op_desc(&desc, names[k][texel], texel ? 8 : 6, writes[k], sizeof base);
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
    FV_TRY(pipeline(d, "opt_adafactor_cols", 6, B_S | B_X, sizeof base, ct, &cols_pl));
    FV_TRY(pipeline(d, "opt_adafactor_scalars", 6, B_X, sizeof base, fv_op_row_threads(d, nch), &scal_pl));
    uint32_t half = fv_adafactor_carry_size(d) / 2;
    for (int pass = 0; pass < 3; pass++) {
        uint32_t r0 = 0;
        for (uint32_t j = 0; j < np; r0 += pcs[j].rows, j++) {
            const fv_adafactor_piece *pc = &pcs[j];
            af_push q = piece_push(&base, pc, r0, j, 4, carry0, half);
            fv_buf *b[] = {hyper.buf, pc->p.buf, pc->grad.buf, state.buf, mom ? pc->m.buf : pc->grad.buf, scratch.buf,
                           pc->p.buf, mom ? pc->m.buf : pc->grad.buf};
            FV_TRY(fv_op_dispatch_bounded(g, pl[pass], b, &q, piece_chunks(&q), (double)per * cols,
                                          ADAFACTOR_FLOOR_PER_MS));
        }
        if (pass == 2) break;
        fv_buf *b[] = {hyper.buf, pcs[0].p.buf, pcs[0].grad.buf, state.buf, pcs[0].grad.buf, scratch.buf};
        if (pass == 0) FV_TRY(cols_pass(g, cols_pl, b, &base, ct));
        else FV_TRY(fv_graph_dispatch(g, scal_pl, b, &base, 1, 1, 1));
    }
    *done = 1;
    return 0;
}

/* One scalar-path pass over every piece: a workgroup per chunk, or (elementwise) a grid over the
 * piece's elements. Without momentum the m binding is never touched; the gradient is bound there. */
static int each_piece(fv_graph *g, fv_pipeline *pl, fv_t hyper, const fv_adafactor_piece *pcs, uint32_t np, fv_t state,
                      fv_t scratch, const af_push *base, uint32_t carry0, int elementwise) {
    fv_dev *d = fv_graph_dev(g);
    uint32_t half = fv_adafactor_carry_size(d) / 2;
    for (uint32_t j = 0, r0 = 0; j < np; r0 += pcs[j].rows, j++) {
        const fv_adafactor_piece *pc = &pcs[j];
        af_push q = piece_push(base, pc, r0, j, 1, carry0, half);
        fv_buf *b[] = {hyper.buf, pc->p.buf, pc->grad.buf, state.buf, pc->m.buf ? pc->m.buf : pc->grad.buf, scratch.buf};
        uint32_t groups = elementwise ? fv_div_up(pc->rows * base->cols, pl->desc.spec[0]) : piece_chunks(&q);
        double work = elementwise ? pl->desc.spec[0] : base->flags & FLAG_FACTORED ? (double)base->per * base->cols : base->per;
        FV_TRY(fv_op_dispatch_bounded(g, pl, b, &q, groups, work, ADAFACTOR_FLOOR_PER_MS));
    }
    return 0;
}

static int adafactor_pieces(fv_graph *g, fv_t hyper, const fv_adafactor_piece *pcs, uint32_t np, fv_t state,
                            fv_t scratch, uint32_t rows, uint32_t cols, int factored) {
    const char *op = "adafactor";
    uint64_t n = (uint64_t)rows * cols;
    if (n == 0) return fv_err("%s: empty tensor %ux%u", op, rows, cols);
    if (n > UINT32_MAX) return fv_err("%s: tensor %ux%u has more than 2^32 elements", op, rows, cols);
    if (np == 0) return fv_err("%s: no pieces given for %ux%u", op, rows, cols);
    if (np > 1 && !factored) return fv_err("%s: only a factored matrix can be split into row pieces", op);
    fv_dev *d = fv_graph_dev(g);
    uint64_t covered = 0, scratch_need = fv_adafactor_scratch_size(rows, cols, factored);
    int mom = pcs[0].m.buf != NULL;
    for (uint32_t j = 0; j < np; j++) {
        const fv_adafactor_piece *pc = &pcs[j];
        uint64_t pn = (uint64_t)pc->rows * cols;
        if (pc->rows == 0) return fv_err("%s: row piece %u of %ux%u is empty", op, j, rows, cols);
        if (!pc->m.buf != !mom) return fv_err("%s: momentum given for some row pieces of %ux%u only", op, rows, cols);
        FV_TRY(fv_op_check(op, "p", pc->p, pn, 4));
        FV_TRY(fv_op_check(op, "grad", pc->grad, pn, 4));
        if (mom) FV_TRY(fv_op_check(op, "m", pc->m, pn, 4));
        covered += pc->rows;
    }
    if (covered != rows) return fv_err("%s: row pieces cover %llu of %u rows", op, (unsigned long long)covered, rows);
    FV_TRY(fv_op_check(op, "hyper", hyper, FV_OPT_HYPER_WORDS, 4));
    FV_TRY(fv_op_check(op, "state", state, fv_adafactor_state_size(rows, cols, factored, 0), 4));
    FV_TRY(fv_op_check(op, "scratch", scratch, scratch_need + (np > 1 ? fv_adafactor_carry_size(d) : 0), 4));
    uint32_t carry0 = scratch.off + (uint32_t)scratch_need;
    uint32_t per, nch = fv_adafactor_chunks(rows, cols, factored, &per);
    if (factored) {
        int done;
        FV_TRY(adafactor_vec4(g, hyper, pcs, np, state, scratch, rows, cols, per, carry0, &done));
        if (done) return 0;
    }
    uint32_t flags = (factored ? FLAG_FACTORED : 0) | (mom ? FLAG_MOMENTUM : 0);
    af_push base = {rows, cols, 0, 0, state.off, 0, hyper.off, scratch.off, nch, per, flags, 0, rows, 0, 0, 0};
    uint32_t red = fv_op_row_threads(d, factored ? cols : per); /* threads of the reduction passes */
    fv_pipeline *pl;
    /* Without momentum the m binding is never touched; bind the (read-only) gradient there. */
    fv_buf *b0[] = {hyper.buf, pcs[0].p.buf, pcs[0].grad.buf, state.buf, mom ? pcs[0].m.buf : pcs[0].grad.buf,
                    scratch.buf};
    if (factored) {
        FV_TRY(pipeline(d, "opt_adafactor_rows", 6, B_S | B_X, sizeof base, red, &pl));
        FV_TRY(each_piece(g, pl, hyper, pcs, np, state, scratch, &base, carry0, 0));
        uint32_t ct = fv_op_row_threads(d, 256);
        if (fv_div_up(cols, ct) + 1 > d->props.limits.maxComputeWorkGroupCount[0])
            return fv_err("%s: %u columns exceed the device's workgroup count limit", op, cols);
        FV_TRY(pipeline(d, "opt_adafactor_cols", 6, B_S | B_X, sizeof base, ct, &pl));
        FV_TRY(cols_pass(g, pl, b0, &base, ct));
        FV_TRY(pipeline(d, "opt_adafactor_usq", 6, B_X, sizeof base, red, &pl));
        FV_TRY(each_piece(g, pl, hyper, pcs, np, state, scratch, &base, carry0, 0));
    } else {
        base.po = pcs[0].p.off, base.go = pcs[0].grad.off, base.mo = mom ? pcs[0].m.off : 0;
        FV_TRY(pipeline(d, "opt_adafactor_vec", 6, B_S | B_X, sizeof base, red, &pl));
        FV_TRY(fv_op_dispatch_bounded(g, pl, b0, &base, nch, per, ADAFACTOR_FLOOR_PER_MS));
    }
    FV_TRY(pipeline(d, "opt_adafactor_scalars", 6, B_X, sizeof base, fv_op_row_threads(d, nch), &pl));
    FV_TRY(fv_graph_dispatch(g, pl, b0, &base, 1, 1, 1));
    FV_TRY(pipeline(d, "opt_adafactor_apply", 6, B_P | (mom ? B_M : 0), sizeof base, fv_op_row_threads(d, 256), &pl));
    FV_TRY(each_piece(g, pl, hyper, pcs, np, state, scratch, &base, carry0, 1));
    return 0;
}

int fv_adafactor(fv_graph *g, fv_t hyper, fv_t p, fv_t grad, fv_t state, fv_t m, fv_t scratch, uint32_t rows,
                 uint32_t cols, int factored) {
    fv_adafactor_piece whole = {p, grad, m, rows};
    return adafactor_pieces(g, hyper, &whole, 1, state, scratch, rows, cols, factored);
}

int fv_adafactor_split(fv_graph *g, fv_t hyper, const fv_adafactor_piece *pieces, uint32_t npieces, fv_t state,
                       fv_t scratch, uint32_t rows, uint32_t cols) {
    return adafactor_pieces(g, hyper, pieces, npieces, state, scratch, rows, cols, 1);
}
