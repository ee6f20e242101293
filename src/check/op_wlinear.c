/* Linear layers over f16 / bf16 / q8 weights (ops/wlinear.h): every path (few rows, tiled,
 * dequantize + GEMM, and on texel devices the GEMM reading the weight's words) against the
 * double reference of ref/wlinear.h.
 *  - Dequantization: x = rows of the identity, so y[i, n] = W(n, k_i) exactly as io/wpack.c
 *    unpacks it (f16/bf16 widened, q8 = float(q) * scale rounded once); compared with ==
 *    (bit-exact up to the sign of zero: the sums start at +0), on a ragged K (not a multiple of
 *    4 or 32) and weights spread over 1e-3 .. 1e3 (fp16 subnormals among them).
 *  - Products on odd shapes (M = 1, 3, 16, 17, 70; K and N odd, not multiples of 32) and T5
 *    shapes, with offsets into every buffer, beta = 0 over NaN-filled y and beta = 1 accumulating,
 *    on the three paths (the dequantizing one with a scratch of 7 rows: several chunks).
 *    Tolerance as the fp32 GEMM's (op_gemm.c): rel err <= 1e-5 * max(1, sqrt(K/16)),
 *    since the reference gets the dequantized weights and only the fp32 summation order differs.
 *  - f32 weights (served by the fp32 GEMM) through the same entry point; bad input.
 *  - The input gradient dx = alpha dy W + beta dx (fv_linear_w_dx: dequantize chunks + fp32 NN
 *    GEMM; LoRA over a frozen low-bit base) on odd shapes, dy strided (a slice of a fused group's
 *    gradient), offsets everywhere, scratches of 1, 7 and all rows, beta 0 over NaN and beta 1,
 *    f32 included; same tolerance; bad input (no scratch, scratch < a row, scratch over dy). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "ops/gemm.h"
#include "io/wtile.h"
#include "ops/wlinear.h"
#include "ref/rmsnorm.h"
#include "ref/wlinear.h"

static const enum fv_wtype types[3] = {FV_WT_F16, FV_WT_BF16, FV_WT_Q8};
static const char *path_name(enum fv_wlinear_path p) {
    return p == FV_WL_ROWS ? "rows" : p == FV_WL_TILED ? "tiled" : p == FV_WL_GEMM ? "gemm" : "dequant";
}

/* The options for a path: DEQUANT gets a scratch of 7 rows of W at offset 5 (several chunks). */
static int path_opts(fv_check *c, enum fv_wlinear_path path, uint32_t K, fv_wlinear_opts *o) {
    *o = (fv_wlinear_opts){.path = path};
    if (path != FV_WL_DEQUANT) return 0;
    fv_buf *b = fv_check_upload(c, NULL, 5 + 7 * (size_t)K);
    if (!b) return -1;
    o->scratch = fv_tensor(b, 5);
    o->scratch_floats = 7 * K;
    return 0;
}

typedef struct {
    uint32_t *data, *scales;
    fv_weight w;
} packed;

/* Pack w [N, K] as type t and upload it at word offsets doff / soff (the words before are junk);
 * with tile > 0 the device gets the words in the tiled layout (io/wtile.h), out->data stays row-major
 * for the reference. */
static int upload_weight_tiled(fv_check *c, enum fv_wtype t, const float *w, uint32_t N, uint32_t K, uint32_t doff,
                               uint32_t soff, uint32_t tile, packed *out) {
    uint64_t dw = fv_wpack_data_words(t, N, K), sw = fv_wpack_scale_words(t, N, K);
    uint32_t *data = fv_check_alloc_u32(c, doff + dw), *sc = fv_check_alloc_u32(c, soff + sw + 1);
    if (!data || !sc) return fv_err("out of host memory");
    for (uint32_t i = 0; i < doff; i++) data[i] = 0x7fc00000u + i;
    for (uint32_t i = 0; i < soff; i++) sc[i] = 0x7e007e00u;
    FV_TRY(fv_wpack(t, w, N, K, data + doff, t == FV_WT_Q8 ? sc + soff : NULL, "check weight"));
    uint32_t *dev = data;
    if (tile) {
        if (!(dev = fv_check_alloc_u32(c, doff + dw))) return fv_err("out of host memory");
        memcpy(dev, data, doff * 4ull);
        fv_wtile(data + doff, dev + doff, N, fv_wpack_row_words(t, K), tile);
    }
    fv_buf *bd = fv_check_upload_u32(c, dev, doff + dw);
    fv_buf *bs = t == FV_WT_Q8 ? fv_check_upload_u32(c, sc, soff + sw) : NULL;
    if (!bd || (t == FV_WT_Q8 && !bs)) return -1;
    out->data = data + doff;
    out->scales = sc + soff;
    out->w = (fv_weight){.type = t, .rows = N, .cols = K, .data = fv_tensor(bd, doff), .scales = fv_tensor(bs, soff),
                         .tile = tile};
    return 0;
}

static int upload_weight(fv_check *c, enum fv_wtype t, const float *w, uint32_t N, uint32_t K, uint32_t doff,
                         uint32_t soff, packed *out) {
    return upload_weight_tiled(c, t, w, N, K, doff, soff, 0, out);
}

/* Identity rows: y[i, n] must be W(n, k0 + i) for i < M. */
static int dequant_case(fv_check *c, enum fv_wtype t, enum fv_wlinear_path path, uint32_t N, uint32_t K, uint32_t k0,
                        uint32_t M, uint32_t tile) {
    char what[48], shape[80];
    snprintf(what, sizeof what, "wlinear %s dequant", fv_wtype_name(t));
    snprintf(shape, sizeof shape, "%ux%u->%u %s tile=%u", M, K, N, path_name(path), tile);
    float *w = fv_check_alloc(c, (size_t)N * K), *x = fv_check_alloc(c, (size_t)M * K);
    float *deq = fv_check_alloc(c, (size_t)N * K);
    if (!w || !x || !deq) return fv_check_fail(c, what, shape, "out of host memory");
    for (size_t i = 0; i < (size_t)N * K; i++)
        w[i] = (float)(fv_rng_normal(&c->rng) * pow(10.0, 6.0 * fv_rng_uniform_d(&c->rng) - 3.0));
    for (uint32_t i = 0; i < M; i++) x[(size_t)i * K + k0 + i] = 1.0f;
    packed p;
    if (upload_weight_tiled(c, t, w, N, K, tile ? 4 : 3, 1, tile, &p)) return fv_check_fail(c, what, shape, fv_last_error());
    fv_wunpack(t, p.data, p.scales, N, K, deq);
    fv_buf *bx = fv_check_upload(c, x, (size_t)M * K), *by = fv_check_upload(c, NULL, (size_t)M * N);
    if (!bx || !by) return fv_check_fail(c, what, shape, fv_last_error());
    fv_wlinear_opts o;
    if (path_opts(c, path, K, &o) || fv_check_begin(c) ||
        fv_linear_w(c->g, fv_tensor(bx, 0), &p.w, fv_tensor(by, 0), M, 1.0f, 0.0f, &o) || fv_check_run(c))
        return fv_check_fail(c, what, shape, fv_last_error());
    float *y = fv_check_download(c, by, (size_t)M * N);
    if (!y) return fv_check_fail(c, what, shape, fv_last_error());
    size_t wrong = 0;
    for (uint32_t i = 0; i < M; i++)
        for (uint32_t n = 0; n < N; n++)
            if (!(y[(size_t)i * N + n] == deq[(size_t)n * K + k0 + i])) wrong++;
    if (wrong) {
        char why[128];
        snprintf(why, sizeof why, "%zu of %zu values differ from the unpacked weight", wrong, (size_t)M * N);
        return fv_check_fail(c, what, shape, why);
    }
    fv_check_pass(c, what, shape, "every value == the C unpacker's");
    return 0;
}

typedef struct {
    uint32_t M, K, N;
    float beta;
    uint32_t xo, yo, doff, soff;
    float alpha;  /* 0 read as 1 */
    uint32_t ypad; /* y's row stride is N + ypad (a piece of a row-split LM head) */
    uint32_t tile; /* the weight in the tiled layout, this many rows per group (0: row-major) */
} pcase;

static int product_case(fv_check *c, enum fv_wtype t, enum fv_wlinear_path path, pcase s) {
    char what[48], shape[128];
    float alpha = s.alpha != 0 ? s.alpha : 1.0f;
    uint32_t ldy = s.N + s.ypad;
    snprintf(what, sizeof what, "wlinear %s", fv_wtype_name(t));
    snprintf(shape, sizeof shape, "%ux%u->%u %s alpha=%g beta=%g ldy=%u off=%u/%u/%u/%u tile=%u", s.M, s.K, s.N,
             path_name(path), alpha, s.beta, ldy, s.xo, s.yo, s.doff, s.soff, s.tile);
    size_t nx = s.xo + (size_t)s.M * s.K, ny = s.yo + (size_t)s.M * ldy, nout = (size_t)s.M * s.N;
    float *w = fv_check_rand(c, (size_t)s.N * s.K, -1, 1), *x = fv_check_rand(c, nx, -1, 1);
    float *y0 = s.beta != 0 || s.ypad ? fv_check_rand(c, ny, -1, 1) : NULL, *ref = fv_check_alloc(c, nout);
    float *got = fv_check_alloc(c, nout);
    if (!w || !x || !ref || !got || ((s.beta != 0 || s.ypad) && !y0)) return fv_check_fail(c, what, shape, "out of host memory");
    packed p;
    if (upload_weight_tiled(c, t, w, s.N, s.K, s.doff, s.soff, s.tile, &p))
        return fv_check_fail(c, what, shape, fv_last_error());
    fv_buf *bx = fv_check_upload(c, x, nx), *by = fv_check_upload(c, y0, ny);
    if (!bx || !by) return fv_check_fail(c, what, shape, fv_last_error());
    fv_wlinear_opts o;
    if (path_opts(c, path, s.K, &o)) return fv_check_fail(c, what, shape, fv_last_error());
    o.ldy = s.ypad ? ldy : 0;
    if (fv_check_begin(c) || fv_linear_w(c->g, fv_tensor(bx, s.xo), &p.w, fv_tensor(by, s.yo), s.M, alpha, s.beta, &o) ||
        fv_check_run(c))
        return fv_check_fail(c, what, shape, fv_last_error());
    float *y = fv_check_download(c, by, ny);
    if (!y) return fv_check_fail(c, what, shape, fv_last_error());
    for (uint32_t m = 0; m < s.M; m++) {
        if (y0) memcpy(ref + (size_t)m * s.N, y0 + s.yo + (size_t)m * ldy, (size_t)s.N * 4);
        memcpy(got + (size_t)m * s.N, y + s.yo + (size_t)m * ldy, (size_t)s.N * 4);
        for (uint32_t j = s.N; m + 1 < s.M && j < ldy; j++) /* the gap between rows is untouched */
            if (memcmp(&y[s.yo + (size_t)m * ldy + j], &y0[s.yo + (size_t)m * ldy + j], 4) != 0)
                return fv_check_fail(c, what, shape, "an element between y's rows was written");
    }
    fv_ref_linear_w(t, p.data, p.scales, s.N, s.K, x + s.xo, ref, s.M, alpha, s.beta);
    for (uint32_t i = 0; i < s.yo; i++)
        if (y0 ? memcmp(&y[i], &y0[i], 4) != 0 : !isnan(y[i])) return fv_check_fail(c, what, shape, "an element before y's offset was written");
    return fv_check_compare(c, what, shape, got, ref, nout, 1e-5 * fmax(1.0, sqrt(s.K / 16.0)));
}

/* The norm fused into the few-rows product (opts.norm_w): y = alpha rmsnorm(x) W^T + beta y against
 * the C RMSNorm (double sums) followed by the C product. x is the residual stream (values up to
 * +-8, rows of different scale), g at an offset; under the texel layout K % 4 == 0 and the offsets
 * % 4 == 0 take the column kernel, the others the K-split one. The norm's sum of squares is
 * ordered differently from rmsnorm.comp's, so the tolerance is the product's plus a few ulps. */
static int norm_case(fv_check *c, enum fv_wtype t, uint32_t M, uint32_t K, uint32_t N, uint32_t xo, uint32_t go,
                     float beta, uint32_t tile) {
    char what[48], shape[96];
    snprintf(what, sizeof what, "wlinear %s + rmsnorm", fv_wtype_name(t));
    snprintf(shape, sizeof shape, "%ux%u->%u rows beta=%g off x=%u g=%u tile=%u", M, K, N, beta, xo, go, tile);
    size_t nx = xo + (size_t)M * K, ny = (size_t)M * N;
    float *w = fv_check_rand(c, (size_t)N * K, -1, 1), *x = fv_check_rand(c, nx, -8, 8), *gw = fv_check_rand(c, go + K, 0.5, 1.5);
    float *y0 = fv_check_rand(c, ny, -1, 1), *h = fv_check_alloc(c, (size_t)M * K), *ref = fv_check_alloc(c, ny);
    if (!w || !x || !gw || !y0 || !h || !ref) return fv_check_fail(c, what, shape, "out of host memory");
    for (uint32_t m = 0; m < M; m++) /* rows of different scale: the norm must use each row's own */
        for (uint32_t k = 0; k < K; k++) x[xo + (size_t)m * K + k] *= (float)(m + 1) / (float)M;
    packed p;
    if (upload_weight_tiled(c, t, w, N, K, 4, 4, tile, &p)) return fv_check_fail(c, what, shape, fv_last_error());
    fv_buf *bx = fv_check_upload(c, x, nx), *bg = fv_check_upload(c, gw, go + K), *by = fv_check_upload(c, y0, ny);
    if (!bx || !bg || !by) return fv_check_fail(c, what, shape, fv_last_error());
    fv_wlinear_opts o = {.path = FV_WL_ROWS, .norm_w = fv_tensor(bg, go), .norm_eps = 1e-6f};
    if (fv_check_begin(c) || fv_linear_w(c->g, fv_tensor(bx, xo), &p.w, fv_tensor(by, 0), M, 1.0f, beta, &o) ||
        fv_check_run(c))
        return fv_check_fail(c, what, shape, fv_last_error());
    float *y = fv_check_download(c, by, ny);
    if (!y) return fv_check_fail(c, what, shape, fv_last_error());
    fv_ref_rmsnorm(x + xo, gw + go, h, M, K, 1e-6f);
    memcpy(ref, y0, ny * 4);
    fv_ref_linear_w(t, p.data, p.scales, N, K, h, ref, M, 1.0f, beta);
    return fv_check_compare(c, what, shape, y, ref, ny, 2e-5 * fmax(1.0, sqrt(K / 16.0)));
}

/* The fused norm's refusals: an f32 weight, a path other than ROWS, a short norm weight, y over it. */
static int norm_bad_input(fv_check *c) {
    const char *what = "wlinear + rmsnorm bad input";
    float *w = fv_check_rand(c, 8 * 32, -1, 1);
    packed p;
    if (!w || upload_weight(c, FV_WT_Q8, w, 8, 32, 0, 0, &p)) return fv_check_fail(c, what, "", "setup");
    fv_buf *bx = fv_check_upload(c, NULL, 17 * 32), *bg = fv_check_upload(c, NULL, 64), *by = fv_check_upload(c, NULL, 17 * 8);
    fv_buf *bf = fv_check_upload(c, w, 8 * 32);
    if (!bx || !bg || !by || !bf) return fv_check_fail(c, what, "", "setup");
    fv_weight f32w = {.type = FV_WT_F32, .rows = 8, .cols = 32, .data = fv_tensor(bf, 0)};
    fv_wlinear_opts ok = {.norm_w = fv_tensor(bg, 0), .norm_eps = 1e-6f}, tiled = ok, shortg = ok, overy = ok;
    tiled.path = FV_WL_TILED;
    shortg.norm_w = fv_tensor(bg, 40);
    overy.norm_w = fv_tensor(by, 0);
    struct { const fv_weight *w; uint32_t rows; const fv_wlinear_opts *o; const char *name; } bad[] = {
        {&f32w, 1, &ok, "f32 weight"}, {&p.w, 1, &tiled, "tiled path"}, {&p.w, 17, &ok, "17 rows"},
        {&p.w, 1, &shortg, "norm weight past its buffer"}, {&p.w, 1, &overy, "y over the norm weight"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (fv_check_begin(c)) return fv_check_fail(c, what, "", fv_last_error());
        int rc = fv_linear_w(c->g, fv_tensor(bx, 0), bad[i].w, fv_tensor(by, 0), bad[i].rows, 1.0f, 0.0f, bad[i].o);
        fv_graph_end(c->g);
        if (!rc) return fv_check_fail(c, what, bad[i].name, "accepted");
    }
    fv_check_pass(c, what, "", "f32 weight, tiled path, 17 rows, short norm weight, y over it: refused");
    return 0;
}

/* f32 weights go to the fp32 GEMM through the same entry point. */
static int f32_case(fv_check *c) {
    pcase s = {5, 37, 29, 0, 0, 0, 0, 0, 0, 0, 0};
    const char *shape = "5x37->29";
    float *w = fv_check_rand(c, (size_t)s.N * s.K, -1, 1), *x = fv_check_rand(c, (size_t)s.M * s.K, -1, 1);
    float *ref = fv_check_alloc(c, (size_t)s.M * s.N);
    fv_buf *bw = w ? fv_check_upload(c, w, (size_t)s.N * s.K) : NULL, *bx = x ? fv_check_upload(c, x, (size_t)s.M * s.K) : NULL;
    fv_buf *by = fv_check_upload(c, NULL, (size_t)s.M * s.N);
    if (!ref || !bw || !bx || !by) return fv_check_fail(c, "wlinear f32", shape, fv_last_error());
    fv_weight wt = {.type = FV_WT_F32, .rows = s.N, .cols = s.K, .data = fv_tensor(bw, 0)};
    if (fv_check_begin(c) || fv_linear_w(c->g, fv_tensor(bx, 0), &wt, fv_tensor(by, 0), s.M, 1.0f, 0.0f, NULL) || fv_check_run(c))
        return fv_check_fail(c, "wlinear f32", shape, fv_last_error());
    uint32_t *bitsw = fv_check_alloc_u32(c, (size_t)s.N * s.K);
    if (!bitsw) return fv_check_fail(c, "wlinear f32", shape, "out of host memory");
    memcpy(bitsw, w, (size_t)s.N * s.K * 4);
    fv_ref_linear_w(FV_WT_F32, bitsw, NULL, s.N, s.K, x, ref, s.M, 1.0f, 0.0f);
    return fv_check_compare(c, "wlinear f32", shape, fv_check_download(c, by, (size_t)s.M * s.N), ref,
                            (size_t)s.M * s.N, 1e-5 * sqrt(s.K / 16.0));
}

static int bad_input(fv_check *c) {
    float w[16 * 40];
    for (int i = 0; i < 16 * 40; i++) w[i] = 0.5f;
    packed q, h;
    fv_buf *bx = fv_check_upload(c, NULL, 8 * 40), *by = fv_check_upload(c, NULL, 8 * 16);
    fv_buf *bsc = fv_check_upload(c, NULL, 100);
    if (!bx || !by || !bsc || upload_weight(c, FV_WT_Q8, w, 16, 40, 0, 0, &q) || upload_weight(c, FV_WT_F16, w, 16, 40, 0, 0, &h))
        return fv_check_fail(c, "wlinear", "bad input", fv_last_error());
    if (fv_check_begin(c)) return fv_check_fail(c, "wlinear", "bad input", fv_last_error());
    fv_t x = fv_tensor(bx, 0), y = fv_tensor(by, 0);
    int rcs[16], n = 0;
    fv_weight t = q.w;
    t.scales.buf = NULL; /* q8 without scales */
    rcs[n++] = fv_linear_w(c->g, x, &t, y, 8, 1, 0, NULL);
    t = q.w;
    t.scales.off = 1; /* scales run past their buffer */
    rcs[n++] = fv_linear_w(c->g, x, &t, y, 8, 1, 0, NULL);
    t = h.w;
    t.rows = 17; /* more rows than the data holds */
    rcs[n++] = fv_linear_w(c->g, x, &t, y, 8, 1, 0, NULL);
    rcs[n++] = fv_linear_w(c->g, x, &h.w, y, 9, 1, 0, NULL);                      /* x too short */
    rcs[n++] = fv_linear_w(c->g, fv_tensor(NULL, 0), &h.w, y, 8, 1, 0, NULL);     /* null x */
    rcs[n++] = fv_linear_w(c->g, x, &h.w, fv_tensor(bx, 0), 8, 1, 0, NULL);       /* y over x */
    rcs[n++] = fv_linear_w(c->g, x, &h.w, y, 0, 1, 0, NULL);                      /* no rows */
    rcs[n++] = fv_linear_w(c->g, x, NULL, y, 8, 1, 0, NULL);                      /* null weight */
    t = h.w;
    t.type = (enum fv_wtype)9;
    rcs[n++] = fv_linear_w(c->g, x, &t, y, 8, 1, 0, NULL);
    t = h.w;
    t.data.buf = NULL;
    rcs[n++] = fv_linear_w(c->g, x, &t, y, 8, 1, 0, NULL);
    fv_wlinear_opts o = {.path = FV_WL_DEQUANT};
    rcs[n++] = fv_linear_w(c->g, x, &h.w, y, 8, 1, 0, &o); /* dequant without scratch */
    o.scratch = fv_tensor(bsc, 0);
    o.scratch_floats = 39;
    rcs[n++] = fv_linear_w(c->g, x, &h.w, y, 8, 1, 0, &o); /* scratch < a row */
    o.scratch_floats = 101;
    rcs[n++] = fv_linear_w(c->g, x, &h.w, y, 8, 1, 0, &o); /* scratch past its buffer */
    o.scratch = fv_tensor(bx, 0);
    o.scratch_floats = 80;
    rcs[n++] = fv_linear_w(c->g, x, &h.w, y, 8, 1, 0, &o); /* scratch over x */
    int gemm = fv_gemm_wb_supported(c->d);
    o = (fv_wlinear_opts){.path = FV_WL_GEMM};
    if (!gemm) rcs[n++] = fv_linear_w(c->g, x, &h.w, y, 8, 1, 0, &o); /* the GEMM path off the texel path */
    fv_graph_end(c->g);
    return fv_check_rejected(c, "wlinear", rcs, n,
                             gemm ? "no scales, scales overrun, rows overrun, short x, null x, overlap, M=0, null weight, "
                                    "unknown type, null data, no scratch, scratch < a row, scratch overrun, scratch over x"
                                  : "no scales, scales overrun, rows overrun, short x, null x, overlap, M=0, null weight, "
                                    "unknown type, null data, no scratch, scratch < a row, scratch overrun, scratch over x, "
                                    "gemm path without texel GEMM");
}

typedef struct {
    uint32_t M, K, N, ldy_pad, dyo, dxo, doff, soff, scratch_rows;
    float alpha, beta;
    uint32_t tile; /* the weight tiled (io/wtile.h), rows per group; 0: row-major */
} dxcase;

static int dx_case(fv_check *c, enum fv_wtype t, dxcase s) {
    char what[48], shape[128];
    uint32_t ldy = s.N + s.ldy_pad;
    snprintf(what, sizeof what, "wlinear dx %s", fv_wtype_name(t));
    snprintf(shape, sizeof shape, "%ux%u<-%u alpha=%g beta=%g ldy=%u off=%u/%u/%u/%u scratch %u rows tile=%u", s.M, s.K,
             s.N, s.alpha, s.beta, ldy, s.dyo, s.dxo, s.doff, s.soff, s.scratch_rows, s.tile);
    size_t ndy = s.dyo + (size_t)s.M * ldy, ndx = s.dxo + (size_t)s.M * s.K, nout = (size_t)s.M * s.K;
    float *w = fv_check_rand(c, (size_t)s.N * s.K, -1, 1), *dy = fv_check_rand(c, ndy, -1, 1);
    float *dx0 = s.beta != 0 ? fv_check_rand(c, ndx, -1, 1) : NULL, *ref = fv_check_alloc(c, nout);
    float *dyp = fv_check_alloc(c, (size_t)s.M * s.N);
    if (!w || !dy || !ref || !dyp || (s.beta != 0 && !dx0)) return fv_check_fail(c, what, shape, "out of host memory");
    packed p;
    if (t == FV_WT_F32) {
        uint32_t *bits = fv_check_alloc_u32(c, s.doff + (size_t)s.N * s.K);
        if (!bits) return fv_check_fail(c, what, shape, "out of host memory");
        memcpy(bits + s.doff, w, (size_t)s.N * s.K * 4);
        fv_buf *bw = fv_check_upload_u32(c, bits, s.doff + (size_t)s.N * s.K);
        if (!bw) return fv_check_fail(c, what, shape, fv_last_error());
        p = (packed){bits + s.doff, NULL, {.type = t, .rows = s.N, .cols = s.K, .data = fv_tensor(bw, s.doff)}};
    } else if (upload_weight_tiled(c, t, w, s.N, s.K, s.doff, s.soff, s.tile, &p)) {
        return fv_check_fail(c, what, shape, fv_last_error());
    }
    fv_buf *bdy = fv_check_upload(c, dy, ndy), *bdx = fv_check_upload(c, dx0, ndx);
    fv_buf *bsc = fv_check_upload(c, NULL, 3 + (size_t)s.scratch_rows * s.K);
    if (!bdy || !bdx || !bsc) return fv_check_fail(c, what, shape, fv_last_error());
    if (fv_check_begin(c) ||
        fv_linear_w_dx(c->g, fv_tensor(bdy, s.dyo), ldy, &p.w, fv_tensor(bdx, s.dxo), s.M, s.alpha, s.beta,
                       fv_tensor(bsc, 3), s.scratch_rows * s.K) ||
        fv_check_run(c))
        return fv_check_fail(c, what, shape, fv_last_error());
    float *got = fv_check_download(c, bdx, ndx);
    if (!got) return fv_check_fail(c, what, shape, fv_last_error());
    for (uint32_t i = 0; i < s.dxo; i++)
        if (dx0 ? memcmp(&got[i], &dx0[i], 4) != 0 : !isnan(got[i]))
            return fv_check_fail(c, what, shape, "an element before dx's offset was written");
    for (uint32_t m = 0; m < s.M; m++) memcpy(dyp + (size_t)m * s.N, dy + s.dyo + (size_t)m * ldy, (size_t)s.N * 4);
    if (dx0) memcpy(ref, dx0 + s.dxo, nout * 4);
    fv_ref_linear_w_dx(t, p.data, p.scales, s.N, s.K, dyp, ref, s.M, s.alpha, s.beta);
    return fv_check_compare(c, what, shape, got + s.dxo, ref, nout, 1e-5 * fmax(1.0, sqrt(s.N / 16.0)));
}

static int dx_bad_input(fv_check *c) {
    float w[16 * 40];
    for (int i = 0; i < 16 * 40; i++) w[i] = 0.25f;
    packed h;
    fv_buf *bdy = fv_check_upload(c, NULL, 8 * 16), *bdx = fv_check_upload(c, NULL, 8 * 40);
    fv_buf *bsc = fv_check_upload(c, NULL, 100);
    if (!bdy || !bdx || !bsc || upload_weight(c, FV_WT_BF16, w, 16, 40, 0, 0, &h) || fv_check_begin(c))
        return fv_check_fail(c, "wlinear dx", "bad input", fv_last_error());
    fv_t dy = fv_tensor(bdy, 0), dx = fv_tensor(bdx, 0), none = {NULL, 0};
    int rcs[6], n = 0;
    rcs[n++] = fv_linear_w_dx(c->g, dy, 0, &h.w, dx, 8, 1, 0, none, 0);                   /* no scratch */
    rcs[n++] = fv_linear_w_dx(c->g, dy, 0, &h.w, dx, 8, 1, 0, fv_tensor(bsc, 0), 39);     /* < a row */
    rcs[n++] = fv_linear_w_dx(c->g, dy, 0, &h.w, dx, 8, 1, 0, fv_tensor(bdy, 0), 40);     /* over dy */
    rcs[n++] = fv_linear_w_dx(c->g, dy, 0, &h.w, dx, 9, 1, 0, fv_tensor(bsc, 0), 80);     /* dx too short */
    rcs[n++] = fv_linear_w_dx(c->g, dy, 15, &h.w, dx, 8, 1, 0, fv_tensor(bsc, 0), 80);    /* ldy < N */
    rcs[n++] = fv_linear_w_dx(c->g, dy, 0, NULL, dx, 8, 1, 0, fv_tensor(bsc, 0), 80);     /* null weight */
    fv_graph_end(c->g);
    return fv_check_rejected(c, "wlinear dx", rcs, n,
                             "no scratch, scratch < a row, scratch over dy, short dx, ldy < N, null weight");
}

/* The tiled layout (io/wtile.h) on every path: groups of 128 rows (the model's: one column
 * kernel workgroup each, N = 300 ends in a partial group of 44) and of 8 (many groups, the last of
 * 3 rows at N = 75), aligned (the column kernel on CPU devices) and with x off by one (the K-split
 * kernel), many rows (the GEMM, its K passes, tiles, dequantization) and input gradients. Only
 * shapes whose rows are whole chunks: q8 any K, f16/bf16 K % 16 == 0 here. */
static int tiled_cases(fv_check *c, int gemm) {
    static const pcase tp[] = {
        {1, 64, 300, 0, 0, 0, 0, 0, 0, 0, 128}, {3, 96, 45, 1, 1, 2, 4, 1, 0, 0, 8},  {16, 64, 200, 1, 0, 0, 8, 2, 0, 0, 128},
        {17, 64, 33, 0, 0, 4, 0, 0, 0.5f, 3, 8}, {70, 128, 75, 0, 3, 1, 5, 2, 0, 0, 8}, {1, 45, 130, 0, 1, 0, 4, 1, 0, 0, 128},
    };
    static const pcase tlong = {18, 2112, 137, 1, 1, 3, 4, 3, 0.5f, 2, 128}; /* the GEMM's K passes */
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        for (size_t s = 0; s < sizeof tp / sizeof tp[0]; s++) {
            if (!fv_wtile_fits(types[i], tp[s].K) || (c->quick && s % 2)) continue; /* quick: every other shape */
            bad |= product_case(c, types[i], FV_WL_ROWS, tp[s]);
            /* the shared-memory kernel serves GPUs, which keep row-major weights: on CPU devices
             * (25-50x slower there) its tiled reads are checked on the small shapes only */
            if (!c->d->use_texel || tp[s].M * tp[s].N < 1000) bad |= product_case(c, types[i], FV_WL_TILED, tp[s]);
            bad |= product_case(c, types[i], FV_WL_DEQUANT, tp[s]);
            if (gemm) bad |= product_case(c, types[i], FV_WL_GEMM, tp[s]);
        }
        if (gemm && !c->quick) bad |= product_case(c, types[i], FV_WL_GEMM, tlong);
        bad |= dequant_case(c, types[i], FV_WL_ROWS, 150, 64, 0, 16, 128);
        if (gemm) bad |= dequant_case(c, types[i], FV_WL_GEMM, 75, 64, 0, 64, 8);
        bad |= dequant_case(c, types[i], FV_WL_DEQUANT, 75, 64, 0, 64, 8);
        static const dxcase td[] = {{3, 64, 150, 0, 1, 2, 4, 1, 7, 1.0f, 1.0f, 128}, {17, 64, 75, 5, 0, 0, 0, 0, 75, 0.5f, 0.0f, 8}};
        for (size_t s = 0; s < 2; s++) bad |= dx_case(c, types[i], td[s]);
    }
    /* a tiled weight whose rows are not whole chunks is refused */
    float w[40 * 3];
    for (int i = 0; i < 40 * 3; i++) w[i] = 0.5f;
    packed h;
    fv_buf *bx = fv_check_upload(c, NULL, 40), *by = fv_check_upload(c, NULL, 3);
    if (!bx || !by || upload_weight(c, FV_WT_F16, w, 3, 40, 0, 0, &h) || fv_check_begin(c))
        return fv_check_fail(c, "wlinear tiled", "bad input", "setup");
    h.w.tile = 8;
    int rcs[1] = {fv_linear_w(c->g, fv_tensor(bx, 0), &h.w, fv_tensor(by, 0), 1, 1.0f, 0.0f, NULL)};
    fv_graph_end(c->g);
    return bad | fv_check_rejected(c, "wlinear tiled", rcs, 1, "f16 rows of 40 weights tiled");
}

int fv_check_op_wlinear(fv_check *c) {
    int bad = 0, gemm = fv_gemm_wb_supported(c->d); /* FV_WL_GEMM runs here (else it is rejected) */
    for (int i = 0; i < 3; i++) {
        bad |= dequant_case(c, types[i], FV_WL_ROWS, 37, 45, 3, 10, 0);
        bad |= dequant_case(c, types[i], FV_WL_ROWS, 37, 45, 0, 45, 0); /* three blocks of 16 rows */
        bad |= dequant_case(c, types[i], FV_WL_TILED, 37, 45, 0, 45, 0);
        bad |= dequant_case(c, types[i], FV_WL_DEQUANT, 37, 45, 0, 45, 0);
        if (gemm) bad |= dequant_case(c, types[i], FV_WL_GEMM, 37, 45, 0, 45, 0);
        if (gemm) bad |= dequant_case(c, types[i], FV_WL_GEMM, 70, 64, 0, 64, 0); /* whole texels of words */
    }
    static const pcase odd[] = {
        {1, 33, 17, 0, 0, 0, 0, 0, 0, 0, 0},    {3, 45, 29, 1, 5, 3, 2, 3, 0, 0, 0},   {16, 97, 61, 0, 1, 0, 1, 1, 0, 0, 0},
        {17, 65, 33, 1, 2, 7, 0, 0, 0, 0, 0},   {70, 131, 75, 0, 3, 1, 5, 2, 0, 0, 0}, {2, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0},
        {1, 512, 1024, 0, 0, 0, 0, 0, 0, 0, 0}, {5, 1024, 512, 1, 4, 4, 8, 4, 0, 0, 0},
        {3, 45, 29, 0, 2, 0, 0, 0, 0.125f, 7, 0}, {19, 64, 40, 1, 1, 4, 0, 2, -0.5f, 3, 0}, /* scaled, strided y */
        /* CPU devices' column layout (K % 8 == 0, offsets % 4 == 0): f16/bf16 rows of K / 2 words end
         * in a partial step of 2 texels (K % 16 == 8), M = 16 and 3, several workgroups (N > 128) */
        {3, 72, 45, 1, 4, 3, 8, 2, 0.5f, 5, 0}, {16, 40, 19, 0, 0, 0, 4, 0, 0, 0, 0}, {1, 104, 300, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (int i = 0; i < 3; i++)
        for (size_t s = 0; s < sizeof odd / sizeof odd[0]; s++) {
            bad |= product_case(c, types[i], FV_WL_ROWS, odd[s]);
            bad |= product_case(c, types[i], FV_WL_TILED, odd[s]);
            bad |= product_case(c, types[i], FV_WL_DEQUANT, odd[s]);
            if (gemm) bad |= product_case(c, types[i], FV_WL_GEMM, odd[s]);
        }
    /* the GEMM path's K passes (K > 2048: passes of ~1024 starting on q8 blocks), aligned or not */
    static const pcase longk[] = {{18, 2100, 37, 0, 0, 0, 0, 0, 0, 0, 0}, {33, 4104, 24, 1, 1, 3, 4, 3, 0.5f, 2, 0}};
    for (int i = 0; gemm && i < 3; i++)
        for (size_t s = c->quick ? 1 : 0; s < 2; s++) bad |= product_case(c, types[i], FV_WL_GEMM, longk[s]);
    if (!c->quick) {
        static const pcase big[] = {{64, 512, 384, 0, 0, 0, 0, 0, 0, 0, 0}, {13, 2048, 1031, 1, 0, 0, 0, 0, 0, 0, 0}, {300, 1024, 257, 0, 0, 0, 0, 0, 0, 0, 0}};
        for (int i = 0; i < 3; i++)
            for (size_t s = 0; s < 3; s++) {
                /* the tiled kernel (GPUs) at these sizes only where it is the many-row path: on
                 * CPU devices it is 25-50x slower than there and its odd shapes above check it */
                if (s == 1 || !c->d->use_texel) bad |= product_case(c, types[i], s == 1 ? FV_WL_ROWS : FV_WL_TILED, big[s]);
                bad |= product_case(c, types[i], FV_WL_DEQUANT, big[s]);
                if (gemm && s != 1) bad |= product_case(c, types[i], FV_WL_GEMM, big[s]);
            }
    }
    /* the fused norm: column kernel (K % 4 == 0, aligned offsets; one row, and the 16 of a block)
     * and K-split (odd K and offsets); few shapes, as each row count compiles its own pipeline */
    for (int i = 0; i < 3; i++) {
        bad |= norm_case(c, types[i], 1, 64, 200, 0, 0, 0.0f, 0);
        bad |= norm_case(c, types[i], 16, 40, 19, 4, 8, 1.0f, 0);
        bad |= norm_case(c, types[i], 2, 37, 29, 1, 3, 1.0f, 0);
        bad |= norm_case(c, types[i], 1, 64, 300, 0, 0, 1.0f, FV_WTILE_ROWS); /* tiled: the decode step's */
    }
    bad |= tiled_cases(c, gemm);
    bad |= norm_bad_input(c);
    bad |= f32_case(c);
    bad |= bad_input(c);
    /* input gradients through a typed weight (M, K, N, ldy pad, offsets dy/dx/data/scales, scratch
     * rows, alpha, beta) */
    static const dxcase dxs[] = {
        {1, 33, 17, 0, 0, 0, 0, 0, 17, 1.0f, 0.0f, 0},     {3, 45, 29, 5, 3, 2, 3, 1, 7, 1.0f, 1.0f, 0},
        {17, 65, 33, 64, 1, 7, 1, 2, 1, 0.5f, 0.0f, 0},    {70, 131, 75, 0, 2, 1, 5, 2, 7, -2.0f, 1.0f, 0},
        {16, 64, 192, 128, 0, 0, 4, 0, 64, 1.0f, 0.0f, 0}, {5, 40, 3, 0, 0, 0, 0, 0, 1, 1.0f, 1.0f, 0},
    };
    static const enum fv_wtype all4[4] = {FV_WT_F32, FV_WT_F16, FV_WT_BF16, FV_WT_Q8};
    for (int i = 0; i < 4; i++)
        for (size_t s = 0; s < sizeof dxs / sizeof dxs[0]; s++) bad |= dx_case(c, all4[i], dxs[s]);
    bad |= dx_bad_input(c);
    return bad;
}
