/* Host side of the low-bit linear layer: validation, path and variant choice, push constants and
 * workgroups for shaders/wgemv.comp and shaders/wgemm.comp (ops/wlinear.h). */
#include "ops/wlinear.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/wtile.h"
#include "ops/gemm.h"

typedef struct {
    uint32_t M, N, K, xo, ldx, yo, ldy, wo, rw, so, nb;
    float beta, alpha;
    uint32_t go; /* the fused norm's weight (wgemv.comp NORM): first element, and epsilon */
    float eps;
    uint32_t tile; /* W's rows per group of the tiled layout (io/wtile.h); 0: row-major */
} wl_push;

/* Few-rows kernel: columns per workgroup (K split over the invocations), or per invocation with
 * COLS (CPU devices: invocations own columns, workgroups of COLS_WG, COLS_NQ 4-word texels of each
 * column per step; q8 needs it even: whole blocks). COLS_NC = 8 measured on lavapipe against 2
 * and 4 (interleaved runs, decode shapes): 8 fastest in 13 of 15 shapes. Then (loaded 2-core
 * machine, best process CPU time of 40 runs, flan-t5-base/large decode shapes): 16 columns x 2
 * texels beat 8 x 1 for f16 (K = 2048: 0.61-0.90 ms vs 0.82-0.87 for 1x2048->768; LM head
 * 1x768->32128 7.2 ms vs 7.7-8.5) and matched 8 x 2 for q8; 4 texels per column spilled (LM head
 * 2x slower). COLS_WG = 8 (one AVX2 vector) leaves 6 workgroups at N = 768 for 2 threads, where
 * 32 x 16 columns would leave 2 (one half empty); CPU time at 8, 16 and 32 was the same. */
enum { ROWS_NC = 4, COLS_NC = 16, COLS_WG = 8, COLS_NQ = 2 };
/* A tiled weight's group is one COLS workgroup's columns and its chunk one COLS step (io/wtile.h). */
_Static_assert(COLS_WG * COLS_NC == FV_WTILE_ROWS && 4 * COLS_NQ == FV_WTILE_CHUNK, "COLS reads whole tiles");

uint32_t fv_wlinear_tile(const fv_dev *d, enum fv_wtype t, uint32_t K) {
    const char *e = getenv("FLANVK_WTILE");
    if (!d->use_texel || !fv_wtile_fits(t, K) || (e && !strcmp(e, "0"))) return 0;
    return FV_WTILE_ROWS;
}

uint64_t fv_weight_bytes(enum fv_wtype t, uint32_t rows, uint32_t cols) {
    return 4 * (fv_wpack_data_words(t, rows, cols) + fv_wpack_scale_words(t, rows, cols));
}

static int overlaps(fv_t a, uint64_t an, uint32_t ab, fv_t b, uint64_t bn, uint32_t bb) {
    if (a.buf != b.buf) return 0;
    uint64_t a0 = (uint64_t)a.off * ab, a1 = a0 + an * ab, b0 = (uint64_t)b.off * bb, b1 = b0 + bn * bb;
    return a0 < b1 && b0 < a1;
}

static int validate(fv_graph *g, fv_t x, const fv_weight *w, fv_t y, uint32_t rows, uint32_t ldy) {
    if (!g || !w) return fv_err("linear_w: null graph or weight");
    if ((unsigned)w->type > FV_WT_Q8) return fv_err("linear_w: unknown weight type %d", (int)w->type);
    if (!x.buf || !y.buf || !w->data.buf)
        return fv_err("linear_w: %s is a null buffer", !x.buf ? "x" : !y.buf ? "y" : "the weight's data");
    if (w->type == FV_WT_Q8 && !w->scales.buf) return fv_err("linear_w: q8 weight without its scales buffer");
    if (w->tile && !fv_wtile_fits(w->type, w->cols))
        return fv_err("linear_w: a %s weight of %u columns has no tiled layout", fv_wtype_name(w->type), w->cols);
    if (rows == 0 || w->rows == 0 || w->cols == 0)
        return fv_err("linear_w: empty product %ux%u -> %u", rows, w->cols, w->rows);
    uint64_t dw = fv_wpack_data_words(w->type, w->rows, w->cols), sw = fv_wpack_scale_words(w->type, w->rows, w->cols);
    FV_TRY(fv_op_check("linear_w", "x", x, (uint64_t)rows * w->cols, 4));
    if (ldy < w->rows) return fv_err("linear_w: y's row stride %u is below its %u columns", ldy, w->rows);
    uint64_t yn = (uint64_t)(rows - 1) * ldy + w->rows; /* y's span */
    FV_TRY(fv_op_check("linear_w", "y", y, yn, 4));
    FV_TRY(fv_op_check("linear_w", "weight data", w->data, dw, 4));
    if (sw) FV_TRY(fv_op_check("linear_w", "weight scales", w->scales, sw, 4));
    if (overlaps(y, yn, 4, x, (uint64_t)rows * w->cols, 4) || overlaps(y, yn, 4, w->data, dw, 4) ||
        (sw && overlaps(y, yn, 4, w->scales, sw, 4)))
        return fv_err("linear_w: y overlaps an input in buffer '%s'", y.buf->what);
    if ((uint64_t)w->data.off + dw > UINT32_MAX || 2ull * w->scales.off + 2 * sw > UINT32_MAX ||
        (uint64_t)x.off + (uint64_t)rows * w->cols > UINT32_MAX || (uint64_t)y.off + yn > UINT32_MAX)
        return fv_err("linear_w: an operand spans more than 2^32 elements");
    return 0;
}

/* The fused norm: K weights, not written by the product, on a low-bit weight (an f32 weight takes
 * the fp32 GEMM, which has no norm). */
static int validate_norm(const fv_wlinear_opts *o, const fv_weight *w, fv_t y, uint32_t rows, uint32_t ldy) {
    if (w->type == FV_WT_F32) return fv_err("linear_w: the fused norm needs a low-bit weight, not f32");
    if (!(o->norm_eps >= 0.0f)) return fv_err("linear_w: the norm's epsilon %g is not >= 0", (double)o->norm_eps);
    FV_TRY(fv_op_check("linear_w", "norm weight", o->norm_w, w->cols, 4));
    if (overlaps(y, (uint64_t)(rows - 1) * ldy + w->rows, 4, o->norm_w, w->cols, 4))
        return fv_err("linear_w: y overlaps the norm weight in buffer '%s'", y.buf->what);
    return 0;
}

/* Texel views are usable when every buffer's words fit the device's texel-buffer limit. */
static int use_texel(const fv_dev *d, fv_t x, const fv_weight *w) {
    uint64_t lim = d->info.max_texel_buffer_elements;
    fv_buf *b[3] = {x.buf, w->data.buf, w->type == FV_WT_Q8 ? w->scales.buf : w->data.buf};
    if (!d->use_texel) return 0;
    for (int i = 0; i < 3; i++)
        if (b[i]->size / 4 > lim) return 0;
    return 1;
}

static void shader_name(char *out, size_t n, const char *base, enum fv_wtype t, int texel) {
    snprintf(out, n, "%s%s%s", base, t == FV_WT_BF16 ? "_bf16" : t == FV_WT_Q8 ? "_q8" : "", texel ? "_texel" : "");
}

static void bind_desc(fv_pipe_desc *desc, const char *name, int texel) {
    fv_op_desc(desc, name, 4, 1u << 3, sizeof(wl_push));
    if (texel) {
        desc->bind_kind[0] = desc->bind_kind[1] = desc->bind_kind[2] = FV_BIND_TEXEL;
        desc->bind_fmt[0] = FV_TEXEL_R32F;
        desc->bind_fmt[1] = desc->bind_fmt[2] = FV_TEXEL_R32UI;
    }
}

/* The COLS layout of wgemv.comp reads whole 4-word texels of W and 4-float texels of x: every
 * row must start on a multiple of 4 words (elements of x), as T5's widths give. */
static int cols_ok(const wl_push *pc) {
    return pc->wo % 4 == 0 && pc->rw % 4 == 0 && pc->xo % 4 == 0 && pc->K % 4 == 0 && pc->go % 4 == 0;
}

/* bufs: x, W's data, W's scales, y, and the fused norm's weight (x when there is no norm) */
static int record_rows(fv_graph *g, fv_dev *d, const wl_push *pc, fv_buf **bufs, enum fv_wtype t, int texel, int norm) {
    char name[48];
    shader_name(name, sizeof name, "wgemv", t, texel);
    uint32_t mr = pc->M < FV_WL_ROWS_MAX ? pc->M : FV_WL_ROWS_MAX;
    fv_pipe_desc desc;
    bind_desc(&desc, name, texel);
    desc.nbind = 5;
    if (texel) { /* the norm weight is read as x is */
        desc.bind_kind[4] = FV_BIND_TEXEL;
        desc.bind_fmt[4] = FV_TEXEL_R32F;
    }
    int cols = texel && cols_ok(pc);
    if (cols) {
        desc.bind_fmt[0] = desc.bind_fmt[4] = FV_TEXEL_RGBA32F;
        desc.bind_fmt[1] = FV_TEXEL_RGBA32UI;
    }
    desc.nspec = 6;
    desc.spec[5] = (uint32_t)norm;
    desc.spec[0] = cols ? COLS_WG : fv_op_row_threads(d, (pc->K + 3) / 4);
    desc.spec[1] = mr;
    desc.spec[2] = cols ? COLS_NC : ROWS_NC;
    desc.spec[3] = (uint32_t)cols;
    desc.spec[4] = COLS_NQ;
    fv_pipeline *pipe;
    FV_TRY(fv_pipeline_get(d, &desc, &pipe));
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up(pc->N, cols ? COLS_WG * COLS_NC : ROWS_NC), &gx, &gy); /* columns per workgroup */
    return fv_graph_dispatch(g, pipe, bufs, pc, gx, gy, fv_div_up(pc->M, mr));
}

static int record_tiled(fv_graph *g, fv_dev *d, const wl_push *pc, fv_buf **bufs, enum fv_wtype t, int texel) {
    char name[48];
    shader_name(name, sizeof name, "wgemm", t, texel);
    /* 64 x 64 tiles, 4 x 4 per invocation (256 invocations) where the limits allow, else 32 x 32
     * with 64; BK = 32 (one q8 block) makes the shared use 16.6 KB / 8.4 KB. */
    uint32_t BM = 64, TM = 4, BK = 32;
    if (d->info.max_workgroup_invocations < 256 || d->max_shared < BK * (2 * BM + 2) * 4) BM = 32;
    fv_pipe_desc desc;
    bind_desc(&desc, name, texel);
    desc.nspec = 5;
    uint32_t spec[5] = {(BM / TM) * (BM / TM), BM, BM, TM, TM};
    memcpy(desc.spec, spec, sizeof spec);
    fv_pipeline *pipe;
    FV_TRY(fv_pipeline_get(d, &desc, &pipe));
    return fv_graph_dispatch(g, pipe, bufs, pc, fv_div_up(pc->N, BM), fv_div_up(pc->M, BM), 1);
}

/* The wdequant.comp pipeline for weights of type t. */
static int dequant_pipe(fv_dev *d, enum fv_wtype t, int texel, fv_pipeline **pipe) {
    char name[48];
    shader_name(name, sizeof name, "wdequant", t, texel);
    fv_pipe_desc desc;
    fv_op_desc(&desc, name, 3, 1u << 0, 10 * 4);
    if (texel) {
        desc.bind_kind[1] = desc.bind_kind[2] = FV_BIND_TEXEL;
        desc.bind_fmt[1] = desc.bind_fmt[2] = FV_TEXEL_R32UI;
    }
    desc.nspec = 1;
    desc.spec[0] = 64;
    return fv_pipeline_get(d, &desc, pipe);
}

/* Rows n0 .. n0 + rows - 1 of W (pc's layout, bufs[1] data, bufs[2] scales) as fp32 [rows, K] at scratch. */
static int dequant_rows(fv_graph *g, fv_dev *d, fv_pipeline *pipe, const wl_push *pc, fv_buf **bufs, fv_t scratch,
                        uint32_t n0, uint32_t rows) {
    fv_buf *dq[3] = {scratch.buf, bufs[1], bufs[2]};
    uint32_t push[10] = {rows, pc->K, pc->wo, pc->rw, pc->so + n0 * pc->nb, pc->nb, scratch.off, n0, pc->N, pc->tile};
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up(rows * fv_div_up(pc->K, 4), 64), &gx, &gy);
    return fv_graph_dispatch(g, pipe, dq, push, gx, gy, 1);
}

/* The scratch of a dequantizing product: present, a row at least, and apart from the operands
 * (x [M, K] and y [M, ldy], or dy and dx for the input gradient). */
static int check_scratch(const wl_push *pc, fv_buf **bufs, enum fv_wtype t, fv_t x, fv_t y, fv_t scratch,
                         uint32_t scratch_floats) {
    if (!scratch.buf) return fv_err("the dequantizing path needs a scratch buffer");
    if (scratch_floats < pc->K) return fv_err("scratch of %u floats holds no row of %u weights", scratch_floats, pc->K);
    FV_TRY(fv_op_check("linear_w", "scratch", scratch, scratch_floats, 4));
    fv_t bf[4] = {x, {bufs[1], pc->wo}, {bufs[2], pc->so / 2}, y};
    uint64_t len[4] = {(uint64_t)pc->M * pc->K, (uint64_t)pc->N * pc->rw, (pc->N * (uint64_t)pc->nb + 1) / 2,
                       (uint64_t)(pc->M - 1) * pc->ldy + pc->N};
    for (int i = 0; i < 4; i++)
        if ((i != 2 || t == FV_WT_Q8) && overlaps(scratch, scratch_floats, 4, bf[i], len[i], 4))
            return fv_err("scratch overlaps %s in buffer '%s'", i == 0 ? "x" : i == 3 ? "y" : "the weight",
                          scratch.buf->what);
    return 0;
}

static int record_dequant(fv_graph *g, fv_dev *d, const wl_push *pc, fv_buf **bufs, enum fv_wtype t, int texel,
                          fv_t x, fv_t y, const fv_wlinear_opts *o) {
    FV_TRY(check_scratch(pc, bufs, t, x, y, o->scratch, o->scratch_floats));
    fv_pipeline *pipe;
    FV_TRY(dequant_pipe(d, t, texel, &pipe));
    uint64_t n = o->scratch_floats;
    uint32_t chunk = (uint32_t)(n / pc->K < pc->N ? n / pc->K : pc->N);
    for (uint32_t n0 = 0; n0 < pc->N; n0 += chunk) {
        uint32_t rows = pc->N - n0 < chunk ? pc->N - n0 : chunk;
        FV_TRY(dequant_rows(g, d, pipe, pc, bufs, o->scratch, n0, rows));
        fv_gemm_desc gd = {.M = pc->M, .N = rows, .K = pc->K, .trans_b = 1, .ldc = pc->ldy, .alpha = pc->alpha, .beta = pc->beta};
        FV_TRY(fv_gemm(g, &gd, x, o->scratch, fv_tensor(y.buf, y.off + n0)));
    }
    return 0;
}

int fv_linear_w_dx(fv_graph *g, fv_t dy, uint32_t ldy, const fv_weight *w, fv_t dx, uint32_t rows, float alpha,
                   float beta, fv_t scratch, uint32_t scratch_floats) {
    if (!ldy && w) ldy = w->rows;
    /* dx plays x's part [rows, K] and dy y's [rows, ldy] in the shape and overlap checks */
    if (validate(g, dx, w, dy, rows, ldy))
        return fv_err_wrap("linear_w_dx %s %ux%u -> %u", w ? fv_wtype_name(w->type) : "?", rows, w ? w->rows : 0,
                           w ? w->cols : 0);
    if (w->type == FV_WT_F32) { /* dx = alpha dy W: one NN product */
        fv_gemm_desc gd = {.M = rows, .N = w->cols, .K = w->rows, .lda = ldy, .alpha = alpha, .beta = beta};
        if (fv_gemm(g, &gd, dy, w->data, dx)) return fv_err_wrap("linear_w_dx f32 %ux%u -> %u", rows, w->rows, w->cols);
        return 0;
    }
    fv_dev *d = fv_graph_dev(g);
    wl_push pc = {rows, w->rows, w->cols, dx.off, w->cols, dy.off, ldy, w->data.off,
                  fv_wpack_row_words(w->type, w->cols), 2 * w->scales.off, fv_q8_blocks(w->cols), beta, alpha, 0, 0.0f, w->tile};
    if (w->type != FV_WT_Q8) pc.so = pc.nb = 0;
    fv_buf *bufs[4] = {dx.buf, w->data.buf, w->type == FV_WT_Q8 ? w->scales.buf : w->data.buf, dy.buf};
    fv_pipeline *pipe;
    int rc = check_scratch(&pc, bufs, w->type, dx, dy, scratch, scratch_floats) ||
             dequant_pipe(d, w->type, use_texel(d, dx, w), &pipe);
    /* chunks of W's rows (dy's columns): dx = beta dx + alpha sum over chunks of dy[:, chunk] W[chunk, :] */
    uint32_t chunk = scratch_floats / w->cols < w->rows ? scratch_floats / w->cols : w->rows;
    for (uint32_t n0 = 0; !rc && n0 < w->rows; n0 += chunk) {
        uint32_t n = w->rows - n0 < chunk ? w->rows - n0 : chunk;
        fv_gemm_desc gd = {.M = rows, .N = w->cols, .K = n, .lda = ldy, .alpha = alpha, .beta = n0 ? 1.0f : beta};
        rc = dequant_rows(g, d, pipe, &pc, bufs, scratch, n0, n) ||
             fv_gemm(g, &gd, fv_tensor(dy.buf, dy.off + n0), scratch, dx);
    }
    if (rc) return fv_err_wrap("linear_w_dx %s %ux%u -> %u", fv_wtype_name(w->type), rows, w->rows, w->cols);
    return 0;
}

/* Many rows on texel devices: the fp32 texel GEMM with W's words as B, widened in registers. */
static int record_gemm(fv_graph *g, const wl_push *pc, fv_t x, const fv_weight *w, fv_t y) {
    fv_gemm_desc gd = {.M = pc->M, .N = pc->N, .K = pc->K, .trans_b = 1, .ldb = pc->rw, .ldc = pc->ldy,
                       .alpha = pc->alpha, .beta = pc->beta, .wtype_b = w->type, .scales_b = w->scales, .tile_b = w->tile};
    return fv_gemm(g, &gd, x, w->data, y);
}

int fv_linear_w(fv_graph *g, fv_t x, const fv_weight *w, fv_t y, uint32_t rows, float alpha, float beta,
                const fv_wlinear_opts *opts) {
    fv_wlinear_opts none = {0};
    const fv_wlinear_opts *o = opts ? opts : &none;
    uint32_t ldy = o->ldy ? o->ldy : w ? w->rows : 0;
    if (validate(g, x, w, y, rows, ldy) || (o->norm_w.buf && validate_norm(o, w, y, rows, ldy)))
        return fv_err_wrap("linear_w %s %ux%u -> %u", w ? fv_wtype_name(w->type) : "?", rows, w ? w->cols : 0,
                           w ? w->rows : 0);
    if (w->type == FV_WT_F32) {
        if (alpha == 1.0f && ldy == w->rows) return fv_linear(g, x, w->data, y, rows, w->cols, w->rows, beta);
        fv_gemm_desc gd = {.M = rows, .N = w->rows, .K = w->cols, .trans_b = 1, .ldc = ldy, .alpha = alpha, .beta = beta};
        if (fv_gemm(g, &gd, x, w->data, y)) return fv_err_wrap("linear_w f32 %ux%u -> %u", rows, w->cols, w->rows);
        return 0;
    }
    fv_dev *d = fv_graph_dev(g);
    wl_push pc = {rows, w->rows, w->cols, x.off, w->cols, y.off, ldy, w->data.off,
                  fv_wpack_row_words(w->type, w->cols), 2 * w->scales.off, fv_q8_blocks(w->cols), beta, alpha, 0, 0.0f, w->tile};
    if (w->type != FV_WT_Q8) pc.so = pc.nb = 0;
    int texel = use_texel(d, x, w), norm = o->norm_w.buf != NULL;
    fv_buf *bufs[5] = {x.buf, w->data.buf, w->type == FV_WT_Q8 ? w->scales.buf : w->data.buf, y.buf,
                       norm ? o->norm_w.buf : x.buf};
    if (norm) {
        pc.go = o->norm_w.off;
        pc.eps = o->norm_eps;
        if (texel && o->norm_w.buf->size / 4 > d->info.max_texel_buffer_elements) texel = 0;
    }
    enum fv_wlinear_path path = o->path;
    if (path == FV_WL_AUTO)
        path = rows <= FV_WL_ROWS_MAX                   ? FV_WL_ROWS
               : texel && fv_gemm_wb_supported(d) ? FV_WL_GEMM
               : o->scratch.buf                         ? FV_WL_DEQUANT
               : texel                                  ? FV_WL_ROWS
                                                        : FV_WL_TILED;
    if (norm && path != FV_WL_ROWS)
        return fv_err("linear_w %s %ux%u -> %u: the fused norm is on the few-rows path only (at most %u rows)",
                      fv_wtype_name(w->type), rows, w->cols, w->rows, FV_WL_ROWS_MAX);
    int rc = path == FV_WL_ROWS      ? record_rows(g, d, &pc, bufs, w->type, texel, norm)
             : path == FV_WL_TILED   ? record_tiled(g, d, &pc, bufs, w->type, texel)
             : path == FV_WL_GEMM    ? record_gemm(g, &pc, x, w, y)
                                     : record_dequant(g, d, &pc, bufs, w->type, texel, x, y, o);
    if (rc) return fv_err_wrap("linear_w %s %ux%u -> %u", fv_wtype_name(w->type), rows, w->cols, w->rows);
    return 0;
}
