/* RMSNorm: shader vs reference (forward, backward, accumulate), reference backward vs finite
 * differences, bad input rejected. Tolerances: fwd 1e-5, bwd 1e-4 (fp32 row reductions of up to
 * a few thousand terms), finite differences 1e-2 (central step 1e-2 on O(1) inputs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check/check.h"
#include "ops/rmsnorm.h"
#include "ref/rmsnorm.h"

typedef struct {
    const float *w, *r;  /* weight, random projection of the output */
    size_t rows, dim;
    float eps;
    int wrt_w;           /* differentiate with respect to w instead of x */
    const float *x;
} fd_ctx;

/* loss = sum(r * rmsnorm(x, w)), in double through the float reference. */
static double fd_loss(void *vctx, const float *v) {
    fd_ctx *f = vctx;
    size_t n = f->rows * f->dim;
    float *y = malloc(n * sizeof *y);
    if (!y) return NAN;
    fv_ref_rmsnorm(f->wrt_w ? f->x : v, f->wrt_w ? v : f->w, y, f->rows, f->dim, f->eps);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)f->r[i] * y[i];
    free(y);
    return s;
}

static int one(fv_check *c, uint32_t rows, uint32_t dim) {
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u", rows, dim);
    size_t n = (size_t)rows * dim;
    const float eps = 1e-6f;
    float *x = fv_check_rand(c, n, -2, 2), *w = fv_check_rand(c, dim, 0.5f, 1.5f), *dy = fv_check_rand(c, n, -1, 1);
    float *dx0 = fv_check_rand(c, n, -1, 1), *dw0 = fv_check_rand(c, dim, -1, 1);
    fv_buf *bx = fv_check_upload(c, x, n), *bw = fv_check_upload(c, w, dim), *by = fv_check_upload(c, NULL, n);
    fv_buf *bdy = fv_check_upload(c, dy, n), *bdx = fv_check_upload(c, NULL, n), *bdw = fv_check_upload(c, dw0, dim);
    fv_buf *bdx2 = fv_check_upload(c, dx0, n), *bdw2 = fv_check_upload(c, dw0, dim), *scr = fv_check_upload(c, NULL, rows);
    if (!bx || !bw || !by || !bdy || !bdx || !bdw || !bdx2 || !bdw2 || !scr) return fv_check_fail(c, "rmsnorm", shape, fv_last_error());

    if (fv_check_begin(c) || fv_rmsnorm(c->g, fv_tensor(bx, 0), fv_tensor(bw, 0), fv_tensor(by, 0), rows, dim, eps) ||
        fv_rmsnorm_back(c->g, fv_tensor(bx, 0), fv_tensor(bw, 0), fv_tensor(bdy, 0), fv_tensor(bdx, 0), fv_tensor(bdw, 0),
                        fv_tensor(scr, 0), rows, dim, eps, 0) ||
        fv_rmsnorm_back(c->g, fv_tensor(bx, 0), fv_tensor(bw, 0), fv_tensor(bdy, 0), fv_tensor(bdx2, 0),
                        fv_tensor(bdw2, 0), fv_tensor(scr, 0), rows, dim, eps, 1) ||
        fv_check_run(c))
        return fv_check_fail(c, "rmsnorm", shape, fv_last_error());

    float *y = fv_check_alloc(c, n), *dx = fv_check_alloc(c, n), *dw = fv_check_copy(c, dw0, dim);
    float *dx2 = fv_check_copy(c, dx0, n), *dw2 = fv_check_copy(c, dw0, dim);
    fv_ref_rmsnorm(x, w, y, rows, dim, eps);
    fv_ref_rmsnorm_back(x, w, dy, dx, dw, rows, dim, eps, 0);
    fv_ref_rmsnorm_back(x, w, dy, dx2, dw2, rows, dim, eps, 1);
    int bad = 0;
    bad |= fv_check_compare(c, "rmsnorm fwd", shape, fv_check_download(c, by, n), y, n, 1e-5);
    bad |= fv_check_compare(c, "rmsnorm bwd dx", shape, fv_check_download(c, bdx, n), dx, n, 1e-4);
    bad |= fv_check_compare(c, "rmsnorm bwd dw (+=)", shape, fv_check_download(c, bdw, dim), dw, dim, 1e-4);
    bad |= fv_check_compare(c, "rmsnorm bwd dx (+=)", shape, fv_check_download(c, bdx2, n), dx2, n, 1e-4);
    bad |= fv_check_compare(c, "rmsnorm bwd dw (+= twice)", shape, fv_check_download(c, bdw2, dim), dw2, dim, 1e-4);
    return bad;
}

static int finite_differences(fv_check *c, uint32_t rows, uint32_t dim) {
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u", rows, dim);
    size_t n = (size_t)rows * dim;
    float *x = fv_check_rand(c, n, -2, 2), *w = fv_check_rand(c, dim, 0.5f, 1.5f), *r = fv_check_rand(c, n, -1, 1);
    float *dx = fv_check_alloc(c, n), *dw = fv_check_alloc(c, dim);
    fv_ref_rmsnorm_back(x, w, r, dx, dw, rows, dim, 1e-6f, 0);
    fd_ctx f = {w, r, rows, dim, 1e-6f, 0, x};
    int bad = fv_check_fd(c, "rmsnorm ref dx vs finite diff", shape, fd_loss, &f, x, n, dx, 24, 1e-2, 1e-2);
    f.wrt_w = 1;
    bad |= fv_check_fd(c, "rmsnorm ref dw vs finite diff", shape, fd_loss, &f, w, dim, dw, 24, 1e-2, 1e-2);
    return bad;
}

static int bad_input(fv_check *c) {
    fv_buf *small = fv_check_upload(c, NULL, 10);
    if (!small) return fv_check_fail(c, "rmsnorm", "bad input", fv_last_error());
    int rc1 = fv_check_begin(c) ? 0 : fv_rmsnorm(c->g, fv_tensor(small, 0), fv_tensor(small, 0), fv_tensor(small, 0), 4, 4, 1e-6f);
    int rc2 = fv_rmsnorm(c->g, fv_tensor(NULL, 0), fv_tensor(small, 0), fv_tensor(small, 0), 1, 4, 1e-6f);
    fv_graph_end(c->g);
    if (rc1 == 0 || rc2 == 0) return fv_check_fail(c, "rmsnorm", "bad input", "a wrong shape or null buffer was accepted");
    fv_check_pass(c, "rmsnorm", "bad input", "shape mismatch and null buffer rejected");
    return 0;
}

int fv_check_op_rmsnorm(fv_check *c) {
    static const uint32_t shapes[][2] = {{1, 5}, {7, 33}, {33, 7}, {5, 512}, {64, 1000}, {1031, 512}, {3, 4099}};
    int bad = 0, count = c->quick ? 5 : 7;
    for (int i = 0; i < count; i++) bad |= one(c, shapes[i][0], shapes[i][1]);
    bad |= finite_differences(c, 3, 17);
    bad |= bad_input(c);
    return bad;
}
