/* T5 relative-position buckets and the bias-table gradient:
 * - the host bucket function and LUT (with clamping) vs PyTorch's HF _relative_position_bucket
 *   for every rel in [-2048, 2048], 32 buckets, max distance 128, encoder and decoder (the torch
 *   values are below as run-length change points, from /usr/bin/python3 with torch);
 * - the per-row bucket histograms of attn_softmax_back + relpos_grad (dtable +=) vs the reference
 *   (tol 1e-4: fp32 sums of a few thousand terms);
 * - bad parameters and shapes rejected. */
#include <stdio.h>

#include "check/check.h"
#include "ops/attention.h"
#include "ops/relpos.h"
#include "ref/attention.h"
#include "ref/relpos.h"

/* {first rel of a run, bucket}: torch buckets for rel = -2048 .. 2048 */
static const int32_t torch_bidir[][2] = {
    {-2048, 15}, {-90, 14}, {-63, 13}, {-45, 12}, {-31, 11}, {-22, 10}, {-15, 9}, {-11, 8}, {-7, 7}, {-6, 6}, {-5, 5},
    {-4, 4}, {-3, 3}, {-2, 2}, {-1, 1}, {0, 0}, {1, 17}, {2, 18}, {3, 19}, {4, 20}, {5, 21}, {6, 22}, {7, 23}, {8, 24},
    {12, 25}, {16, 26}, {23, 27}, {32, 28}, {46, 29}, {64, 30}, {91, 31}};
static const int32_t torch_causal[][2] = {
    {-2048, 31}, {-112, 30}, {-98, 29}, {-86, 28}, {-76, 27}, {-66, 26}, {-58, 25}, {-51, 24}, {-45, 23}, {-39, 22},
    {-34, 21}, {-30, 20}, {-26, 19}, {-23, 18}, {-20, 17}, {-18, 16}, {-15, 15}, {-14, 14}, {-13, 13}, {-12, 12},
    {-11, 11}, {-10, 10}, {-9, 9}, {-8, 8}, {-7, 7}, {-6, 6}, {-5, 5}, {-4, 4}, {-3, 3}, {-2, 2}, {-1, 1}, {0, 0}};

static int32_t torch_bucket(const int32_t (*runs)[2], int nruns, int32_t rel) {
    int32_t v = runs[0][1];
    for (int r = 0; r < nruns && runs[r][0] <= rel; r++) v = runs[r][1];
    return v;
}

static int lut_vs_torch(fv_check *c, int bidir) {
    const int32_t (*runs)[2] = bidir ? torch_bidir : torch_causal;
    int nruns = bidir ? (int)(sizeof torch_bidir / sizeof *torch_bidir) : (int)(sizeof torch_causal / sizeof *torch_causal);
    const char *what = bidir ? "relpos buckets bidirectional vs torch" : "relpos buckets causal vs torch";
    enum { L = 160 };
    int32_t lut[2 * L + 1];
    if (fv_relpos_lut_fill(lut, L, bidir, 32, 128)) return fv_check_fail(c, what, "32/128", fv_last_error());
    for (int32_t rel = -2048; rel <= 2048; rel++) {
        int32_t want = torch_bucket(runs, nruns, rel);
        int32_t direct = fv_relpos_bucket(rel, bidir, 32, 128), via = fv_ref_relpos_lookup(lut, L, rel);
        if (direct != want || via != want) {
            char why[128];
            snprintf(why, sizeof why, "rel %d: torch %d, host %d, LUT %d", rel, want, direct, via);
            return fv_check_fail(c, what, "32/128", why);
        }
    }
    fv_check_pass(c, what, "32/128", "rel -2048..2048 (direct and clamped LUT of radius 160) identical");
    return 0;
}

/* dS and the bias-table gradient through the histogram path. */
static int table_grad(fv_check *c, uint32_t B, uint32_t H, uint32_t Tq, uint32_t Tk, int bidir) {
    char shape[64];
    snprintf(shape, sizeof shape, "B%u H%u %ux%u %s", B, H, Tq, Tk, bidir ? "bidir" : "causal");
    const uint32_t nb = 32, L = 128;
    fv_attn_desc a = {.B = B, .Tq = Tq, .Tk = Tk, .H = H, .dk = 1, .use_bias = 1, .num_buckets = nb, .lut_radius = L};
    size_t ns = (size_t)B * H * Tq * Tk, rows = (size_t)B * H * Tq;
    float *p = fv_check_rand(c, ns, 0, 1), *dp = fv_check_rand(c, ns, -1, 1), *dt0 = fv_check_rand(c, nb * H, -1, 1);
    uint32_t *pq = fv_check_alloc_u32(c, B * Tq), *pk = fv_check_alloc_u32(c, B * Tk), *lut = fv_check_alloc_u32(c, 2 * L + 1);
    if (!p || !dp || !dt0 || !pq || !pk || !lut) return fv_check_fail(c, "relpos grad", shape, "out of memory");
    for (size_t i = 0; i < (size_t)B * Tq; i++) pq[i] = (uint32_t)fv_rng_below(&c->rng, 300);
    for (size_t i = 0; i < (size_t)B * Tk; i++) pk[i] = (uint32_t)fv_rng_below(&c->rng, 300);
    if (fv_relpos_lut_fill((int32_t *)lut, L, bidir, nb, 128)) return fv_check_fail(c, "relpos grad", shape, fv_last_error());
    fv_buf *bp = fv_check_upload(c, p, ns), *bdp = fv_check_upload(c, dp, ns), *bh = fv_check_upload(c, NULL, rows * nb);
    fv_buf *bdt = fv_check_upload(c, dt0, nb * H), *bpq = fv_check_upload_u32(c, pq, B * Tq);
    fv_buf *bpk = fv_check_upload_u32(c, pk, B * Tk), *blut = fv_check_upload_u32(c, lut, 2 * L + 1);
    if (!bp || !bdp || !bh || !bdt || !bpq || !bpk || !blut) return fv_check_fail(c, "relpos grad", shape, fv_last_error());
    if (fv_check_begin(c) ||
        fv_attn_softmax_back(c->g, &a, fv_tensor(bp, 0), fv_tensor(bdp, 0), fv_tensor(bpq, 0), fv_tensor(bpk, 0),
                             fv_tensor(blut, 0), fv_tensor(bh, 0)) ||
        fv_relpos_grad(c->g, fv_tensor(bh, 0), fv_tensor(bdt, 0), B, H, Tq, nb) || fv_check_run(c))
        return fv_check_fail(c, "relpos grad", shape, fv_last_error());
    float *ds = fv_check_copy(c, dp, ns), *dt = fv_check_copy(c, dt0, nb * H);
    fv_ref_attn_softmax_back(&a, p, ds);
    fv_ref_relpos_grad(ds, (int32_t *)pq, (int32_t *)pk, (int32_t *)lut, L, B, H, Tq, Tk, nb, dt);
    int bad = fv_check_compare(c, "relpos softmax_back dS", shape, fv_check_download(c, bdp, ns), ds, ns, 1e-4);
    bad |= fv_check_compare(c, "relpos dtable (+=)", shape, fv_check_download(c, bdt, nb * H), dt, nb * H, 1e-4);
    return bad;
}

static int bad_input(fv_check *c) {
    int32_t lut[300];
    int rc1 = fv_relpos_lut_fill(lut, 100, 1, 32, 128); /* radius below max_distance */
    int rc2 = fv_relpos_lut_fill(lut, 130, 1, 2, 128);  /* too few buckets */
    fv_buf *small = fv_check_upload(c, NULL, 10);
    if (!small) return fv_check_fail(c, "relpos", "bad input", fv_last_error());
    int rc3 = fv_check_begin(c) ? 0 : fv_relpos_grad(c->g, fv_tensor(small, 0), fv_tensor(small, 0), 1, 2, 3, 32);
    int rc4 = fv_relpos_grad(c->g, fv_tensor(NULL, 0), fv_tensor(small, 0), 1, 1, 1, 1);
    fv_graph_end(c->g);
    if (!rc1 || !rc2 || !rc3 || !rc4) return fv_check_fail(c, "relpos", "bad input", "a bad parameter or buffer was accepted");
    fv_check_pass(c, "relpos", "bad input", "short LUT radius, 2 buckets, small and null buffers rejected");
    return 0;
}

int fv_check_op_relpos(fv_check *c) {
    int bad = lut_vs_torch(c, 1);
    bad |= lut_vs_torch(c, 0);
    bad |= table_grad(c, 1, 1, 1, 7, 1);
    bad |= table_grad(c, 2, 3, 33, 130, 0);
    if (!c->quick) bad |= table_grad(c, 1, 8, 200, 257, 1);
    bad |= bad_input(c);
    return bad;
}
