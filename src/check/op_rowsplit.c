/* A linear layer over a row-split weight (ops/rowsplit.h: the LM head over vocabulary pieces) vs
 * the reference GEMM and vs the same product over the whole weight on the device: forward
 * y = alpha x W^T into column ranges of y, and the backward dx = alpha dy W (pieces summed in
 * turn) and dW += alpha dy^T x per piece. The forward and dW must be bit-identical to the
 * whole-weight GEMMs (each element has the same K and kernel); all three within 1e-5 of the
 * double-precision reference (fp32 sums of up to a few hundred terms). Piece counts from 1 to 5,
 * a last piece shorter than the others, and odd widths. The same over a matrix of three row
 * parts split each (a fused q|k|v too large for one buffer, model/t5_wsplit.h) with beta = 1 and
 * an accumulated dx: forward and dW bit-identical to the whole-weight GEMMs, all within 1e-5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "ops/gemm.h"
#include "ops/rowsplit.h"
#include "ref/gemm.h"

/* The forward, dx and dW of a split linear against the double reference (1e-5) and against the
 * same product over the whole weight (bit-identical). got = {y, dx, dW}, ref = {y, dx, dW},
 * whole = {y, dW}. */
static int compare_linear(fv_check *c, const char *what, const char *acc, const char *shape, float *const got[3],
                          const float *const ref[3], float *const whole[2], uint32_t M, uint32_t V, uint32_t K) {
    char l[5][96];
    snprintf(l[0], sizeof l[0], "%s fwd%s vs ref", what, acc);
    snprintf(l[1], sizeof l[1], "%s fwd vs whole weight", what);
    snprintf(l[2], sizeof l[2], "%s dx vs ref", what);
    snprintf(l[3], sizeof l[3], "%s dW (+=) vs ref", what);
    snprintf(l[4], sizeof l[4], "%s dW vs whole weight", what);
    int bad = fv_check_compare(c, l[0], shape, got[0], ref[0], (size_t)M * V, 1e-5);
    bad |= fv_check_compare(c, l[1], shape, got[0], whole[0], (size_t)M * V, 0);
    bad |= fv_check_compare(c, l[2], shape, got[1], ref[1], (size_t)M * K, 1e-5);
    bad |= fv_check_compare(c, l[3], shape, got[2], ref[2], (size_t)V * K, 1e-5);
    bad |= fv_check_compare(c, l[4], shape, got[2], whole[1], (size_t)V * K, 0);
    return bad;
}

static int one(fv_check *c, uint32_t M, uint32_t V, uint32_t K, uint32_t piece_rows, float alpha) {
    char shape[80];
    snprintf(shape, sizeof shape, "%ux%u W[%u,%u] in pieces of %u rows", M, K, V, K, piece_rows);
    uint32_t np = (V + piece_rows - 1) / piece_rows;
    float *x = fv_check_rand(c, (size_t)M * K, -1, 1), *w = fv_check_rand(c, (size_t)V * K, -1, 1);
    float *dy = fv_check_rand(c, (size_t)M * V, -1, 1), *dw0 = fv_check_rand(c, (size_t)V * K, -1, 1);
    fv_buf **pw = calloc(np, sizeof *pw), **pd = calloc(np, sizeof *pd);
    if (!x || !w || !dy || !dw0 || !pw || !pd) {
        free(pw), free(pd);
        return fv_check_fail(c, "rowsplit linear", shape, "out of memory");
    }
    fv_rowsplit W = {V, K, piece_rows, np, pw}, dW = {V, K, piece_rows, np, pd};
    int rc = 0;
    for (uint32_t i = 0; !rc && i < np; i++) {
        size_t o = (size_t)i * piece_rows * K, n = (size_t)fv_rowsplit_count(&W, i) * K;
        pw[i] = fv_check_upload(c, w + o, n);
        pd[i] = fv_check_upload(c, dw0 + o, n);
        rc = !pw[i] || !pd[i];
    }
    fv_buf *bx = fv_check_upload(c, x, (size_t)M * K), *bdy = fv_check_upload(c, dy, (size_t)M * V);
    fv_buf *by = fv_check_upload(c, NULL, (size_t)M * V), *bdx = fv_check_upload(c, NULL, (size_t)M * K);
    fv_buf *bw = fv_check_upload(c, w, (size_t)V * K), *bdw = fv_check_upload(c, dw0, (size_t)V * K);
    fv_buf *wy = fv_check_upload(c, NULL, (size_t)M * V), *wdx = fv_check_upload(c, NULL, (size_t)M * K);
    rc = rc || !bx || !bdy || !by || !bdx || !bw || !bdw || !wy || !wdx || fv_check_begin(c);
    /* pieces, then the whole weight with the same GEMM descriptors as before the split */
    fv_gemm_desc fy = {.M = M, .N = V, .K = K, .trans_b = 1, .alpha = alpha};
    fv_gemm_desc fdx = {.M = M, .N = K, .K = V, .alpha = alpha};
    fv_gemm_desc fdw = {.M = V, .N = K, .K = M, .trans_a = 1, .alpha = alpha, .beta = 1.0f};
    rc = rc || fv_rowsplit_linear(c->g, fv_tensor(bx, 0), &W, fv_tensor(by, 0), M, alpha) ||
         fv_rowsplit_linear_back(c->g, fv_tensor(bx, 0), &W, fv_tensor(bdy, 0), fv_tensor(bdx, 0), &dW, M, alpha) ||
         fv_gemm(c->g, &fy, fv_tensor(bx, 0), fv_tensor(bw, 0), fv_tensor(wy, 0)) ||
         fv_gemm(c->g, &fdx, fv_tensor(bdy, 0), fv_tensor(bw, 0), fv_tensor(wdx, 0)) ||
         fv_gemm(c->g, &fdw, fv_tensor(bdy, 0), fv_tensor(bx, 0), fv_tensor(bdw, 0)) || fv_check_run(c);
    if (rc) {
        free(pw), free(pd);
        return fv_check_fail(c, "rowsplit linear", shape, fv_last_error());
    }
    float *ry = fv_check_alloc(c, (size_t)M * V), *rdx = fv_check_alloc(c, (size_t)M * K);
    float *rdw = fv_check_copy(c, dw0, (size_t)V * K), *gdw = fv_check_alloc(c, (size_t)V * K);
    if (!ry || !rdx || !rdw || !gdw) {
        free(pw), free(pd);
        return fv_check_fail(c, "rowsplit linear", shape, "out of memory");
    }
    fv_ref_gemm(&fy, x, 0, w, 0, ry, 0);
    fv_ref_gemm(&fdx, dy, 0, w, 0, rdx, 0);
    fv_ref_gemm(&fdw, dy, 0, x, 0, rdw, 0);
    for (uint32_t i = 0; i < np; i++) {
        size_t o = (size_t)i * piece_rows * K, n = (size_t)fv_rowsplit_count(&W, i) * K;
        float *p = fv_check_download(c, pd[i], n);
        if (p) memcpy(gdw + o, p, n * sizeof *p);
    }
    float *gy = fv_check_download(c, by, (size_t)M * V), *gdx = fv_check_download(c, bdx, (size_t)M * K);
    float *hy = fv_check_download(c, wy, (size_t)M * V), *hdw = fv_check_download(c, bdw, (size_t)V * K);
    int bad = compare_linear(c, "rowsplit linear", "", shape, (float *const[]){gy, gdx, gdw}, (const float *const[]){ry, rdx, rdw},
                             (float *const[]){hy, hdw}, M, V, K);
    free(pw), free(pd);
    return bad;
}

/* W [3 * P, K] as three parts of P rows in pieces of piece_rows; y and dx start non-zero. */
static int parts(fv_check *c, uint32_t M, uint32_t P, uint32_t K, uint32_t piece_rows, float alpha) {
    char shape[96];
    snprintf(shape, sizeof shape, "%ux%u W[3x%u,%u] parts in pieces of %u rows", M, K, P, K, piece_rows);
    uint32_t V = 3 * P, np = (P + piece_rows - 1) / piece_rows;
    float *x = fv_check_rand(c, (size_t)M * K, -1, 1), *w = fv_check_rand(c, (size_t)V * K, -1, 1);
    float *dy = fv_check_rand(c, (size_t)M * V, -1, 1), *dw0 = fv_check_rand(c, (size_t)V * K, -1, 1);
    float *y0 = fv_check_rand(c, (size_t)M * V, -1, 1), *dx0 = fv_check_rand(c, (size_t)M * K, -1, 1);
    fv_buf **pw = calloc(3 * np, sizeof *pw), **pd = calloc(3 * np, sizeof *pd);
    if (!x || !w || !dy || !dw0 || !y0 || !dx0 || !pw || !pd) {
        free(pw), free(pd);
        return fv_check_fail(c, "rowsplit parts", shape, "out of memory");
    }
    fv_rowsplit W[3], dW[3];
    int rc = 0;
    for (uint32_t k = 0; k < 3; k++) {
        W[k] = (fv_rowsplit){P, K, piece_rows, np, pw + k * np};
        dW[k] = (fv_rowsplit){P, K, piece_rows, np, pd + k * np};
        for (uint32_t i = 0; !rc && i < np; i++) {
            size_t o = ((size_t)k * P + (size_t)i * piece_rows) * K, n = (size_t)fv_rowsplit_count(&W[k], i) * K;
            W[k].piece[i] = fv_check_upload(c, w + o, n);
            dW[k].piece[i] = fv_check_upload(c, dw0 + o, n);
            rc = !W[k].piece[i] || !dW[k].piece[i];
        }
    }
    fv_buf *bx = fv_check_upload(c, x, (size_t)M * K), *bdy = fv_check_upload(c, dy, (size_t)M * V);
    fv_buf *by = fv_check_upload(c, y0, (size_t)M * V), *bdx = fv_check_upload(c, dx0, (size_t)M * K);
    fv_buf *bw = fv_check_upload(c, w, (size_t)V * K), *bdw = fv_check_upload(c, dw0, (size_t)V * K);
    fv_buf *wy = fv_check_upload(c, y0, (size_t)M * V);
    rc = rc || !bx || !bdy || !by || !bdx || !bw || !bdw || !wy || fv_check_begin(c);
    fv_gemm_desc fy = {.M = M, .N = V, .K = K, .trans_b = 1, .alpha = alpha, .beta = 1.0f};
    fv_gemm_desc fdx = {.M = M, .N = K, .K = V, .alpha = alpha, .beta = 1.0f};
    fv_gemm_desc fdw = {.M = V, .N = K, .K = M, .trans_a = 1, .alpha = alpha, .beta = 1.0f};
    rc = rc || fv_rowsplit_linear_parts(c->g, fv_tensor(bx, 0), W, 3, fv_tensor(by, 0), M, alpha, 1.0f) ||
         fv_rowsplit_linear_back_parts(c->g, fv_tensor(bx, 0), W, 3, fv_tensor(bdy, 0), fv_tensor(bdx, 0), dW, M, alpha, 1) ||
         fv_gemm(c->g, &fy, fv_tensor(bx, 0), fv_tensor(bw, 0), fv_tensor(wy, 0)) ||
         fv_gemm(c->g, &fdw, fv_tensor(bdy, 0), fv_tensor(bx, 0), fv_tensor(bdw, 0)) || fv_check_run(c);
    if (rc) {
        free(pw), free(pd);
        return fv_check_fail(c, "rowsplit parts", shape, fv_last_error());
    }
    float *ry = fv_check_copy(c, y0, (size_t)M * V), *rdx = fv_check_copy(c, dx0, (size_t)M * K);
    float *rdw = fv_check_copy(c, dw0, (size_t)V * K), *gdw = fv_check_alloc(c, (size_t)V * K);
    if (!ry || !rdx || !rdw || !gdw) {
        free(pw), free(pd);
        return fv_check_fail(c, "rowsplit parts", shape, "out of memory");
    }
    fv_ref_gemm(&fy, x, 0, w, 0, ry, 0);
    fv_ref_gemm(&fdx, dy, 0, w, 0, rdx, 0);
    fv_ref_gemm(&fdw, dy, 0, x, 0, rdw, 0);
    for (uint32_t k = 0; k < 3; k++)
        for (uint32_t i = 0; i < np; i++) {
            size_t o = ((size_t)k * P + (size_t)i * piece_rows) * K, n = (size_t)fv_rowsplit_count(&W[k], i) * K;
            float *p = fv_check_download(c, dW[k].piece[i], n);
            if (p) memcpy(gdw + o, p, n * sizeof *p);
        }
    float *gy = fv_check_download(c, by, (size_t)M * V), *gdx = fv_check_download(c, bdx, (size_t)M * K);
    float *hy = fv_check_download(c, wy, (size_t)M * V), *hdw = fv_check_download(c, bdw, (size_t)V * K);
    int bad = compare_linear(c, "rowsplit parts", " (+y/+dx)", shape, (float *const[]){gy, gdx, gdw},
                             (const float *const[]){ry, rdx, rdw}, (float *const[]){hy, hdw}, M, V, K);
    free(pw), free(pd);
    return bad;
}

int fv_check_op_rowsplit(fv_check *c) {
    static const struct { uint32_t M, V, K, piece; float alpha; } s[] = {
        {7, 300, 33, 300, 1.0f},  {7, 300, 33, 64, 1.0f},    {16, 1000, 64, 256, 0.125f},
        {3, 517, 20, 128, 1.0f},  {40, 2500, 64, 512, 1.0f}, {130, 4100, 48, 1024, 0.5f},
    };
    int bad = 0, n = c->quick ? 4 : 6;
    for (int i = 0; i < n; i++) bad |= one(c, s[i].M, s[i].V, s[i].K, s[i].piece, s[i].alpha);
    bad |= parts(c, 9, 70, 40, 32, 1.0f);
    if (!c->quick) bad |= parts(c, 20, 129, 64, 64, 0.5f);
    return bad;
}
