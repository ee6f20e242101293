/* GEMM: shader vs the double reference over odd sizes, all transpose combinations, two-level
 * batches with padded strides, alpha/beta (beta = 0 over a NaN-filled C, beta = 1 accumulating),
 * fp16 operands where the device has them; the linear-layer helpers and their backward
 * identities (dx = dy W, dW += dy^T x) against direct loops and finite differences; bad input.
 *
 * Tolerance: rel err <= 1e-5 * max(1, sqrt(K / 16)). The shader sums K fp32 products in a
 * blocked order; with random-sign inputs the rounding errors of the partial sums (each of the
 * size of the result) add like a random walk, so the error is about u * sqrt(K) * |C| with
 * u = 6e-8: 2e-6 at K = 1024, against a tolerance of 8e-5. fp16 operands are rounded on the
 * host and the reference gets the rounded values; an fp16 x fp16 product is exact in fp32, so
 * the same tolerance applies. Every element outside the written region must be untouched.
 *
 * K ranges (krange): A zeroed outside random per-(outer batch, 16-row block) ranges, some empty,
 * some with ends off the K step and in the K tail; the ranged product must equal the unranged one
 * bit for bit and the reference within the tolerance above; also where the ranges are ignored
 * (M <= 4, K passes over 2048). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "ops/gemm.h"
#include "ref/gemm.h"

static uint16_t to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
    int e = (int)((x >> 23) & 0xff) - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) { /* subnormal: shift with round to nearest even */
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e), h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static float from_half(uint16_t h) {
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? INFINITY : ldexpf((float)(m | 0x400), (int)e - 25);
    return (h & 0x8000) ? -v : v;
}

/* Upload n values as fp16 (after rounding `v` in place to what the device will see). */
static fv_buf *upload_half(fv_check *c, float *v, size_t n) {
    uint32_t *w = fv_check_alloc_u32(c, n / 2 + 1);
    if (!w) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = to_half(v[i]);
        v[i] = from_half(h);
        w[i / 2] |= (uint32_t)h << (16 * (i % 2));
    }
    return fv_check_upload_u32(c, w, n / 2 + 1);
}

typedef struct {
    fv_gemm_desc p;
    uint32_t ao, bo, co;   /* element offsets */
    uint32_t pad;          /* extra elements per row beyond the packed stride */
    const char *what;
} gcase;

/* Size of an operand's storage and its strides, with `pad` extra per row and a gap between batches. */
static size_t layout(uint32_t rows, uint32_t cols, uint32_t pad, uint32_t batch, uint32_t inner, uint32_t *ld,
                     uint32_t *so, uint32_t *si) {
    *ld = cols + pad;
    /* matrices not packed back to back; gaps keep 4-alignment when the padding does */
    uint32_t mat = rows * *ld + (pad % 4 ? 3 : 4);
    *si = mat;
    *so = mat * inner + (pad % 4 ? 5 : 8);
    uint32_t outer = fv_div_up(batch, inner);
    return (size_t)(*so) * outer;
}

static int one(fv_check *c, gcase t) {
    fv_gemm_desc *p = &t.p;
    uint32_t batch = p->batch ? p->batch : 1, inner = p->batch_inner ? p->batch_inner : 1;
    if (p->dtype_a == FV_F16 || p->dtype_b == FV_F16) {
        if (!c->d->fp16) return 0;
    }
    char shape[128];
    snprintf(shape, sizeof shape, "%ux%ux%u %c%c b%u/%u a=%g b=%g%s%s%s", p->M, p->N, p->K, p->trans_a ? 'T' : 'N',
             p->trans_b ? 'T' : 'N', batch, inner, p->alpha, p->beta, t.pad ? " ld+pad" : "",
             p->dtype_a == FV_F16 ? " A16" : "", p->dtype_b == FV_F16 ? " B16" : "");
    uint32_t ar = p->trans_a ? p->K : p->M, ac = p->trans_a ? p->M : p->K;
    uint32_t br = p->trans_b ? p->N : p->K, bc = p->trans_b ? p->K : p->N;
    size_t na = t.ao + layout(ar, ac, t.pad, batch, inner, &p->lda, &p->stride_a_outer, &p->stride_a_inner);
    size_t nb = t.bo + layout(br, bc, t.pad, batch, inner, &p->ldb, &p->stride_b_outer, &p->stride_b_inner);
    size_t nc = t.co + layout(p->M, p->N, t.pad, batch, inner, &p->ldc, &p->stride_c_outer, &p->stride_c_inner);
    if (batch == 1) p->stride_a_outer = p->stride_b_outer = p->stride_c_outer = 0;
    float *a = fv_check_rand(c, na, -1, 1), *b = fv_check_rand(c, nb, -1, 1);
    float *c0 = p->beta != 0 ? fv_check_rand(c, nc, -1, 1) : NULL;
    if (!a || !b) return fv_check_fail(c, t.what, shape, "out of host memory");
    fv_buf *ba = p->dtype_a == FV_F16 ? upload_half(c, a, na) : fv_check_upload(c, a, na);
    fv_buf *bb = p->dtype_b == FV_F16 ? upload_half(c, b, nb) : fv_check_upload(c, b, nb);
    fv_buf *bc_ = fv_check_upload(c, c0, nc);
    if (!ba || !bb || !bc_) return fv_check_fail(c, t.what, shape, fv_last_error());
    if (fv_check_begin(c) || fv_gemm(c->g, p, fv_tensor(ba, t.ao), fv_tensor(bb, t.bo), fv_tensor(bc_, t.co)) ||
        fv_check_run(c))
        return fv_check_fail(c, t.what, shape, fv_last_error());
    float *got = fv_check_download(c, bc_, nc);
    float *ref = c0 ? fv_check_copy(c, c0, nc) : fv_check_alloc(c, nc);
    if (!got || !ref) return fv_check_fail(c, t.what, shape, fv_last_error());
    if (!c0)
        for (size_t i = 0; i < nc; i++) ref[i] = NAN;
    fv_ref_gemm(p, a, t.ao, b, t.bo, ref, t.co);

    /* Written elements into packed arrays; the rest must be bit-identical to the start. */
    size_t nw = (size_t)batch * p->M * p->N, w = 0;
    float *gw = fv_check_alloc(c, nw), *rw = fv_check_alloc(c, nw);
    char *mark = calloc(nc, 1);
    if (!gw || !rw || !mark) {
        free(mark);
        return fv_check_fail(c, t.what, shape, "out of host memory");
    }
    for (uint32_t z = 0; z < batch; z++)
        for (uint32_t m = 0; m < p->M; m++)
            for (uint32_t n = 0; n < p->N; n++) {
                size_t i = t.co + (size_t)(z / inner) * p->stride_c_outer + (size_t)(z % inner) * p->stride_c_inner +
                           (size_t)m * p->ldc + n;
                mark[i] = 1;
                gw[w] = got[i];
                rw[w++] = ref[i];
            }
    size_t stray = 0;
    for (size_t i = 0; i < nc; i++)
        if (!mark[i] && memcmp(&got[i], &ref[i], 4) != 0) stray++;
    free(mark);
    if (stray) {
        char why[96];
        snprintf(why, sizeof why, "%zu elements outside C's region were written", stray);
        return fv_check_fail(c, t.what, shape, why);
    }
    double tol = 1e-5 * fmax(1.0, sqrt(p->K / 16.0));
    return fv_check_compare(c, t.what, shape, gw, rw, nw, tol);
}

static gcase plain(const char *what, uint32_t M, uint32_t N, uint32_t K, int ta, int tb) {
    gcase t = {.p = {.M = M, .N = N, .K = K, .trans_a = ta, .trans_b = tb, .alpha = 1.0f}, .what = what};
    return t;
}

/* Linear layer: y = x W^T, dx = dy W (+ dx), dW += dy^T x, against direct loops. */
typedef struct {
    const float *x, *w, *r;
    size_t rows, in, out;
    int wrt_w;
} lin_ctx;

static double lin_loss(void *vctx, const float *v) {
    lin_ctx *f = vctx;
    const float *x = f->wrt_w ? f->x : v, *w = f->wrt_w ? v : f->w;
    double s = 0;
    for (size_t i = 0; i < f->rows; i++)
        for (size_t o = 0; o < f->out; o++) {
            double y = 0;
            for (size_t k = 0; k < f->in; k++) y += (double)x[i * f->in + k] * w[o * f->in + k];
            s += y * f->r[i * f->out + o];
        }
    return s;
}

static int linear(fv_check *c, uint32_t rows, uint32_t in, uint32_t out) {
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u->%u", rows, in, out);
    size_t nx = (size_t)rows * in, nw = (size_t)out * in, ny = (size_t)rows * out;
    float *x = fv_check_rand(c, nx, -1, 1), *w = fv_check_rand(c, nw, -1, 1), *dy = fv_check_rand(c, ny, -1, 1);
    float *dx0 = fv_check_rand(c, nx, -1, 1), *dw0 = fv_check_rand(c, nw, -1, 1);
    fv_buf *bx = fv_check_upload(c, x, nx), *bw = fv_check_upload(c, w, nw), *by = fv_check_upload(c, NULL, ny);
    fv_buf *bdy = fv_check_upload(c, dy, ny), *bdx = fv_check_upload(c, NULL, nx), *bdx2 = fv_check_upload(c, dx0, nx);
    fv_buf *bdw = fv_check_upload(c, dw0, nw);
    if (!bx || !bw || !by || !bdy || !bdx || !bdx2 || !bdw) return fv_check_fail(c, "linear", shape, fv_last_error());
    fv_t none = fv_tensor(NULL, 0);
    if (fv_check_begin(c) || fv_linear(c->g, fv_tensor(bx, 0), fv_tensor(bw, 0), fv_tensor(by, 0), rows, in, out, 0) ||
        fv_linear_back(c->g, fv_tensor(bx, 0), fv_tensor(bw, 0), fv_tensor(bdy, 0), fv_tensor(bdx, 0), fv_tensor(bdw, 0),
                       rows, in, out, 0) ||
        fv_linear_back(c->g, fv_tensor(bx, 0), fv_tensor(bw, 0), fv_tensor(bdy, 0), fv_tensor(bdx2, 0), none, rows, in,
                       out, 1) ||
        fv_check_run(c))
        return fv_check_fail(c, "linear", shape, fv_last_error());
    float *y = fv_check_alloc(c, ny), *dx = fv_check_alloc(c, nx), *dx2 = fv_check_alloc(c, nx);
    float *dw = fv_check_alloc(c, nw);
    if (!y || !dx || !dx2 || !dw) return fv_check_fail(c, "linear", shape, "out of host memory");
    for (size_t i = 0; i < rows; i++)
        for (size_t o = 0; o < out; o++) {
            double s = 0;
            for (size_t k = 0; k < in; k++) s += (double)x[i * in + k] * w[o * in + k];
            y[i * out + o] = (float)s;
        }
    for (size_t i = 0; i < rows; i++)
        for (size_t k = 0; k < in; k++) {
            double s = 0;
            for (size_t o = 0; o < out; o++) s += (double)dy[i * out + o] * w[o * in + k];
            dx[i * in + k] = (float)s;
            dx2[i * in + k] = (float)(s + dx0[i * in + k]);
        }
    for (size_t o = 0; o < out; o++)
        for (size_t k = 0; k < in; k++) {
            double s = dw0[o * in + k];
            for (size_t i = 0; i < rows; i++) s += (double)dy[i * out + o] * x[i * in + k];
            dw[o * in + k] = (float)s;
        }
    double tin = 1e-5 * fmax(1.0, sqrt(in / 16.0)), tout = 1e-5 * fmax(1.0, sqrt(out / 16.0));
    double trows = 1e-5 * fmax(1.0, sqrt(rows / 16.0));
    int bad = 0;
    bad |= fv_check_compare(c, "linear fwd y = x W^T", shape, fv_check_download(c, by, ny), y, ny, tin);
    bad |= fv_check_compare(c, "linear bwd dx = dy W", shape, fv_check_download(c, bdx, nx), dx, nx, tout);
    bad |= fv_check_compare(c, "linear bwd dx += dy W", shape, fv_check_download(c, bdx2, nx), dx2, nx, tout);
    bad |= fv_check_compare(c, "linear bwd dW += dy^T x", shape, fv_check_download(c, bdw, nw), dw, nw, trows);

    /* The identities themselves: finite differences of sum(dy * y) against the loops above. */
    if (nx <= 4096 && nw <= 4096) {
        float *gx = fv_check_alloc(c, nx), *gw = fv_check_alloc(c, nw);
        if (!gx || !gw) return fv_check_fail(c, "linear", shape, "out of host memory");
        for (size_t i = 0; i < nx; i++) gx[i] = dx[i];
        for (size_t i = 0; i < nw; i++) gw[i] = dw[i] - dw0[i];
        lin_ctx f = {x, w, dy, rows, in, out, 0};
        bad |= fv_check_fd(c, "linear dx vs finite diff", shape, lin_loss, &f, x, nx, gx, 16, 1e-2, 1e-3);
        f.wrt_w = 1;
        bad |= fv_check_fd(c, "linear dW vs finite diff", shape, lin_loss, &f, w, nw, gw, 16, 1e-2, 1e-3);
    }
    return bad;
}

static int bad_input(fv_check *c) {
    fv_buf *small = fv_check_upload(c, NULL, 64), *big = fv_check_upload(c, NULL, 4096);
    if (!small || !big) return fv_check_fail(c, "gemm", "bad input", fv_last_error());
    fv_gemm_desc ok = {.M = 8, .N = 8, .K = 8, .alpha = 1};
    fv_t s = fv_tensor(small, 0), bg = fv_tensor(big, 0);
    if (fv_check_begin(c)) return fv_check_fail(c, "gemm", "bad input", fv_last_error());
    int accepted = 0;
    fv_gemm_desc p = ok;
    p.M = 9;  /* A no longer fits */
    accepted += fv_gemm(c->g, &p, s, bg, bg) == 0;
    accepted += fv_gemm(c->g, &ok, fv_tensor(NULL, 0), bg, s) == 0;
    p = ok;
    p.lda = 4;  /* row stride below the row length */
    accepted += fv_gemm(c->g, &p, bg, s, s) == 0;
    p = ok;
    p.batch = 3;
    p.stride_c_outer = 64;  /* the third C runs past the buffer */
    accepted += fv_gemm(c->g, &p, bg, bg, fv_tensor(small, 0)) == 0;
    accepted += fv_gemm(c->g, &ok, bg, s, fv_tensor(big, 32)) == 0;  /* C overlaps A */
    p = ok;
    p.K = 0;
    accepted += fv_gemm(c->g, &p, bg, s, s) == 0;
    if (!c->d->fp16) {
        p = ok;
        p.dtype_a = FV_F16;
        accepted += fv_gemm(c->g, &p, bg, s, s) == 0;
    }
    fv_graph_end(c->g);
    if (accepted) return fv_check_fail(c, "gemm", "bad input", "a wrong shape, null buffer or overlap was accepted");
    fv_check_pass(c, "gemm", "bad input", "misfit, null, short stride, batch overrun, overlap, K=0 rejected");
    return 0;
}

/* A few tokens (M <= 4: decoding, the gemm_m4 variant on texel devices): every M, odd N and K,
 * whole texels and element fetches (K % 4 != 0, unaligned offsets), batches with strides like
 * decode attention's Q K^T over a cache, fp16 operands, beta != 0, an LM-head-wide N. Same tolerance. */
static int small_m_cases(fv_check *c) {
    int bad = 0;
    static const uint32_t sizes[][3] = {{1, 1, 4}, {1, 1031, 512}, {2, 33, 68}, {3, 7, 129}, {4, 45, 1000}, {1, 65, 7}};
    for (int s = 0; s < 6; s++) bad |= one(c, plain("small-M", sizes[s][0], sizes[s][1], sizes[s][2], 0, 1));
    if (!c->quick) bad |= one(c, plain("small-M", 4, 2049, 1024, 0, 1));
    for (uint32_t m = 1; m <= 4; m += 3) {
        gcase t = plain("small-M batched", m, 65, 64, 0, 1);  /* decode Q K^T: heads x cache */
        t.p.batch = 6;
        t.p.batch_inner = 3;
        t.p.alpha = 0.125f;
        t.p.beta = 1.0f;
        t.pad = 4;
        t.ao = 4;
        t.bo = 8;
        t.co = 1;
        bad |= one(c, t);
        t.pad = 1;  /* unaligned: element fetches */
        t.ao = 1;
        t.bo = 3;
        t.p.beta = 0.0f;
        bad |= one(c, t);
    }
    {
        gcase t = plain("small-M fp16", 1, 77, 96, 0, 1);
        t.p.dtype_b = FV_F16;
        t.p.beta = -0.5f;
        bad |= one(c, t);
        t.p.M = 2;
        t.p.K = 37;
        t.p.dtype_a = FV_F16;
        bad |= one(c, t);
    }
    return bad;
}

/* A ranged product (see the header): batch / inner batches of M x N x K, A packed, B packed. */
static int ranged(fv_check *c, uint32_t M, uint32_t N, uint32_t K, int ta, int tb, uint32_t batch, uint32_t inner,
                  float beta) {
    char shape[96];
    snprintf(shape, sizeof shape, "%ux%ux%u %c%c b%u/%u beta=%g", M, N, K, ta ? 'T' : 'N', tb ? 'T' : 'N', batch, inner,
             beta);
    uint32_t outer = fv_div_up(batch, inner), nblk = fv_div_up(M, FV_GEMM_KRANGE_ROWS);
    size_t na = (size_t)batch * M * K, nb = (size_t)batch * K * N, nc = (size_t)batch * M * N, nr = 2ull * outer * nblk;
    float *a = fv_check_rand(c, na, -1, 1), *b = fv_check_rand(c, nb, -1, 1);
    float *c0 = beta != 0 ? fv_check_rand(c, nc, -1, 1) : NULL;
    uint32_t *r3 = fv_check_alloc_u32(c, nr + 3), *r = r3 ? r3 + 3 : NULL; /* 3 words of other data first */
    if (!a || !b || !r || (beta != 0 && !c0)) return fv_check_fail(c, "gemm ranged", shape, "out of host memory");
    for (size_t e = 0; e < nr; e += 2) {
        uint32_t kind = (uint32_t)fv_rng_below(&c->rng, 6), lo = (uint32_t)fv_rng_below(&c->rng, K + 1);
        uint32_t hi = lo + (uint32_t)fv_rng_below(&c->rng, K - lo + 1);
        if (kind == 0) lo = hi = 0;       /* empty block row */
        else if (kind == 1) lo = 0, hi = K; /* everything */
        r[e] = lo, r[e + 1] = hi;
    }
    /* op(A)(m, k) = 0 outside its block's range */
    for (uint32_t z = 0; z < batch; z++)
        for (uint32_t m = 0; m < M; m++)
            for (uint32_t k = 0; k < K; k++) {
                const uint32_t *pr = r + 2 * ((z / inner) * nblk + m / FV_GEMM_KRANGE_ROWS);
                if (k < pr[0] || k >= pr[1]) a[(size_t)z * M * K + (ta ? (size_t)k * M + m : (size_t)m * K + k)] = 0;
            }
    fv_gemm_desc p = {.M = M, .N = N, .K = K, .trans_a = ta, .trans_b = tb, .batch = batch, .batch_inner = inner,
                      .stride_a_outer = M * K * inner, .stride_a_inner = M * K, .stride_b_outer = K * N * inner,
                      .stride_b_inner = K * N, .stride_c_outer = M * N * inner, .stride_c_inner = M * N,
                      .alpha = 1.0f, .beta = beta};
    fv_buf *ba = fv_check_upload(c, a, na), *bb = fv_check_upload(c, b, nb), *b1 = fv_check_upload(c, c0, nc);
    fv_buf *b2 = fv_check_upload(c, c0, nc), *br = fv_check_upload_u32(c, r3, nr + 3);
    if (!ba || !bb || !b1 || !b2 || !br) return fv_check_fail(c, "gemm ranged", shape, fv_last_error());
    fv_gemm_desc q = p;
    q.krange = fv_tensor(br, 3); /* at an offset: the rest of the buffer is other data */
    if (fv_check_begin(c) || fv_gemm(c->g, &p, fv_tensor(ba, 0), fv_tensor(bb, 0), fv_tensor(b1, 0)) ||
        fv_gemm(c->g, &q, fv_tensor(ba, 0), fv_tensor(bb, 0), fv_tensor(b2, 0)) || fv_check_run(c))
        return fv_check_fail(c, "gemm ranged", shape, fv_last_error());
    float *g1 = fv_check_download(c, b1, nc), *g2 = fv_check_download(c, b2, nc);
    float *ref = c0 ? fv_check_copy(c, c0, nc) : fv_check_alloc(c, nc);
    if (!g1 || !g2 || !ref) return fv_check_fail(c, "gemm ranged", shape, fv_last_error());
    fv_ref_gemm(&p, a, 0, b, 0, ref, 0);
    size_t diff = 0;
    for (size_t i = 0; i < nc; i++) diff += memcmp(g1 + i, g2 + i, 4) != 0;
    if (diff) {
        char why[128];
        snprintf(why, sizeof why, "%zu of %zu values differ from the unranged product", diff, nc);
        return fv_check_fail(c, "gemm ranged", shape, why);
    }
    fv_check_pass(c, "gemm ranged == unranged", shape, "bit-identical");
    return fv_check_compare(c, "gemm ranged", shape, g2, ref, nc, 1e-5 * fmax(1.0, sqrt(K / 16.0)));
}

int fv_check_op_gemm(fv_check *c) {
    int bad = 0;
    /* Small and odd: every transpose combination, on the element-wise and the 4-wide texel path. */
    static const uint32_t sizes[][3] = {{1, 1, 1}, {7, 33, 5}, {33, 7, 1}, {37, 45, 67}, {64, 48, 128}, {9, 20, 12}, {3, 40, 64}};
    for (int s = 0; s < 7; s++)
        for (int tr = 0; tr < 4; tr++) {
            if (s == 0 && (tr == 1 || tr == 2)) continue;  /* 1x1x1: NN and TT suffice (each pipeline JITs ~1 s) */
            bad |= one(c, plain("gemm", sizes[s][0], sizes[s][1], sizes[s][2], tr & 1, tr >> 1));
        }
    bad |= small_m_cases(c);
    /* 1000+ sizes, not multiples of any tile. */
    bad |= one(c, plain("gemm", 1031, 67, 1000, 0, 1));
    bad |= one(c, plain("gemm", 45, 1029, 1024, 1, 0));
    if (!c->quick) {
        bad |= one(c, plain("gemm", 257, 1001, 513, 0, 0));
        bad |= one(c, plain("gemm", 33, 40, 2051, 1, 1));
        bad |= one(c, plain("gemm", 1000, 1000, 64, 0, 1));
    }
    /* Long K runs as several passes accumulating into C (texel path): every transpose, a K that
     * is not a multiple of 4 (element-fetch tail pass), alpha and beta, batched with offsets. */
    for (int tr = 0; tr < 4; tr++) {
        gcase t = plain("gemm long-K", 21, 37, tr == 3 ? 4103 : 4100, tr & 1, tr >> 1);
        t.p.alpha = 0.75f;
        t.p.beta = tr == 2 ? 0.0f : -1.0f;
        if (tr == 1) {
            t.p.batch = 2;
            t.pad = 4;
            t.ao = 4;
            t.bo = 8;
            t.co = 3;
        }
        bad |= one(c, t);
    }
    /* Offsets, padded strides, two-level batches, alpha / beta. */
    for (int tr = 0; tr < 4; tr++) {
        gcase t = plain("gemm batched", 19, 26, 35, tr & 1, tr >> 1);
        t.p.batch = 7;
        t.p.batch_inner = 3;
        t.p.alpha = 0.5f;
        t.p.beta = 1.0f;
        t.pad = 3;
        t.ao = 1;
        t.bo = 2;
        t.co = 3;
        bad |= one(c, t);
        t.p.beta = 0.0f;  /* over a NaN C */
        t.p.alpha = -2.0f;
        t.pad = 4;
        t.ao = 8;
        t.bo = 4;
        t.co = 0;
        t.p.K = 32;
        bad |= one(c, t);
    }
    /* A transposed and 4-aligned (weight gradients): read as texels along M; batched with a
     * padded stride, M not a multiple of the 16-row block, the K tail, K passes and fp16. */
    {
        gcase t = plain("gemm TA texel", 44, 50, 130, 1, 0);
        t.pad = 4;
        t.ao = 4;
        t.p.batch = 2;
        t.p.beta = 0.5f;
        bad |= one(c, t);
        bad |= one(c, plain("gemm TA texel long-K", 44, 29, 4100, 1, 0));
        t = plain("gemm TA texel fp16", 40, 24, 67, 1, 1);
        t.p.dtype_a = FV_F16;
        bad |= one(c, t);
    }
    {
        gcase t = plain("gemm beta", 70, 90, 100, 0, 1);
        t.p.beta = -0.75f;
        bad |= one(c, t);
    }
    /* fp16 operands (skipped without 16-bit storage). */
    /* Each transpose once, fp16 A, B or both (every view format makes its own pipeline). */
    static const int h16[4] = {1, 2, 3, 3};
    for (int tr = 0; tr < 4; tr++) {
        gcase t = plain("gemm fp16", 37, 68, 130 - (tr & 1) * 2, tr & 1, tr >> 1);
        t.p.dtype_a = (h16[tr] & 1) ? FV_F16 : FV_F32;
        t.p.dtype_b = (h16[tr] & 2) ? FV_F16 : FV_F32;
        bad |= one(c, t);
    }
    {
        gcase t = plain("gemm fp16 batched", 21, 12, 64, 0, 1);
        t.p.dtype_a = t.p.dtype_b = FV_F16;
        t.p.batch = 4;
        t.p.batch_inner = 2;
        t.p.beta = 1.0f;
        t.pad = 4;
        bad |= one(c, t);
    }
    bad |= linear(c, 5, 7, 3);
    bad |= linear(c, 37, 64, 48);
    if (!c->quick) bad |= linear(c, 129, 512, 200);
    /* K ranges: every transpose of A (the attention products are NN and TN), odd sizes and K
     * tails, two-level batches, beta; then the paths that ignore them. */
    bad |= ranged(c, 1, 1, 1, 0, 0, 1, 1, 0.0f);
    bad |= ranged(c, 33, 7, 45, 0, 0, 6, 3, 0.0f);
    bad |= ranged(c, 45, 40, 33, 1, 0, 4, 2, 1.0f);
    bad |= ranged(c, 130, 64, 131, 0, 0, 2, 1, 0.0f);
    bad |= ranged(c, 131, 64, 130, 1, 0, 2, 2, 0.0f);
    bad |= ranged(c, 37, 20, 29, 0, 1, 3, 1, 0.5f);
    bad |= ranged(c, 3, 9, 50, 0, 0, 2, 1, 0.0f);                 /* M <= 4: ignored */
    if (!c->quick) bad |= ranged(c, 1000, 64, 1031, 0, 0, 1, 1, 0.0f);
    bad |= ranged(c, 20, 16, c->quick ? 2100 : 4100, 1, 0, 1, 1, 0.0f); /* K passes: ignored */
    {
        fv_buf *x = fv_check_upload(c, NULL, 4096), *y = fv_check_upload(c, NULL, 4096);
        fv_gemm_desc q = {.M = 40, .N = 8, .K = 8, .alpha = 1.0f, .batch = 2, .krange = fv_tensor(x, 4090)};
        int acc = !x || !y || fv_check_begin(c);
        acc += !acc && fv_gemm(c->g, &q, fv_tensor(x, 0), fv_tensor(x, 0), fv_tensor(y, 0)) == 0; /* short */
        q.krange = fv_tensor(y, 0);
        acc += !acc && fv_gemm(c->g, &q, fv_tensor(x, 0), fv_tensor(x, 0), fv_tensor(y, 0)) == 0; /* in C */
        fv_graph_end(c->g);
        if (acc) bad |= fv_check_fail(c, "gemm ranged", "bad input", "a short or aliased krange was accepted");
        else fv_check_pass(c, "gemm ranged", "bad input", "short krange and krange in C rejected");
    }
    bad |= bad_input(c);
    return bad;
}
