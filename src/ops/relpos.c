/* Host side of the T5 relative position bias: the bucket LUT and the table-gradient reduction
 * (shaders/relpos_grad.comp). See relpos.h. */
#include "ops/relpos.h"

#include <math.h>
#include <stdlib.h>

int32_t fv_relpos_bucket(int32_t rel, int bidirectional, uint32_t num_buckets, uint32_t max_distance) {
    int32_t nb = (int32_t)num_buckets, ret = 0, n;
    if (bidirectional) {
        nb /= 2;
        if (rel > 0) ret += nb;
        n = rel < 0 ? -rel : rel;
    } else {
        n = rel < 0 ? -rel : 0;
    }
    int32_t me = nb / 2;
    if (n < me) return ret + n;
    /* torch: float32 tensor / int, torch.log in float32, / Python float (cast to float32), * int */
    float ratio = (float)n / (float)me;
    float den = (float)log((double)max_distance / (double)me);
    float v = logf(ratio) / den * (float)(nb - me);
    int32_t large = me + (int32_t)v;
    if (large > nb - 1) large = nb - 1;
    return ret + large;
}

int fv_relpos_lut_fill(int32_t *lut, uint32_t L, int bidirectional, uint32_t num_buckets, uint32_t max_distance) {
    uint32_t half = bidirectional ? num_buckets / 2 : num_buckets;
    if (half < 2 || num_buckets > 65536) return fv_err("relpos: %u buckets is not supported", num_buckets);
    if (max_distance <= half / 2) return fv_err("relpos: max_distance %u must exceed max_exact %u", max_distance, half / 2);
    if (L < max_distance || L > (1u << 24))
        return fv_err("relpos: LUT radius %u must be in [max_distance %u, 2^24]", L, max_distance);
    for (int64_t r = -(int64_t)L; r <= (int64_t)L; r++)
        lut[r + L] = fv_relpos_bucket((int32_t)r, bidirectional, num_buckets, max_distance);
    return 0;
}

int fv_relpos_lut_create(fv_dev *d, uint32_t L, int bidirectional, uint32_t num_buckets, uint32_t max_distance,
                         fv_buf **out) {
    size_t n = 2 * (size_t)L + 1;
    if (L > (1u << 24)) return fv_err("relpos: LUT radius %u too large", L);
    int32_t *lut = malloc(n * sizeof *lut);
    if (!lut) return fv_err("relpos: out of memory for a LUT of %zu entries", n);
    int rc = fv_relpos_lut_fill(lut, L, bidirectional, num_buckets, max_distance);
    fv_buf *b = NULL;
    if (!rc) rc = fv_buf_alloc(d, n * sizeof *lut, FV_MEM_DEVICE, "relpos bucket LUT", &b);
    if (!rc) rc = fv_buf_write(d, b, 0, lut, n * sizeof *lut);
    free(lut);
    if (rc) {
        if (b) fv_buf_free(d, b);
        return rc;
    }
    *out = b;
    return 0;
}

int fv_relpos_grad(fv_graph *g, fv_t hist, fv_t dtable, uint32_t B, uint32_t H, uint32_t Tq, uint32_t nb) {
    const char *op = "relpos_grad";
    if (!B || !H || !Tq || !nb) return fv_err("%s: empty shape B=%u H=%u Tq=%u buckets=%u", op, B, H, Tq, nb);
    uint64_t rows = (uint64_t)B * H * Tq;
    if (rows * nb >= (1ull << 32)) return fv_err("%s: %llu histogram entries exceed 2^32", op, (unsigned long long)(rows * nb));
    FV_TRY(fv_op_check(op, "hist", hist, rows * nb, 4));
    FV_TRY(fv_op_check(op, "dtable", dtable, (uint64_t)nb * H, 4));
    if (hist.buf == dtable.buf) return fv_err("%s: hist and dtable share buffer '%s'", op, hist.buf->what);
    fv_dev *d = fv_graph_dev(g);
    struct { uint32_t B, H, Tq, nb, ho, dto; } pc = {B, H, Tq, nb, hist.off, dtable.off};
    fv_pipe_desc desc;
    fv_op_desc(&desc, "relpos_grad", 2, 1u << 1, sizeof pc);
    desc.nspec = 1;
    desc.spec[0] = fv_op_row_threads(d, 64);
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    fv_buf *b[] = {hist.buf, dtable.buf};
    return fv_graph_dispatch(g, p, b, &pc, fv_div_up(nb * H, desc.spec[0]), 1, 1);
}
