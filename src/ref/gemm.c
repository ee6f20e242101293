/* Reference GEMM: the definition in ops/gemm.h, one double dot product per output. */
#include "ref/gemm.h"

#include <stddef.h>

void fv_ref_gemm(const fv_gemm_desc *p, const float *a, uint32_t a_off, const float *b, uint32_t b_off, float *c,
                 uint32_t c_off) {
    uint32_t batch = p->batch ? p->batch : 1, inner = p->batch_inner ? p->batch_inner : 1;
    size_t lda = p->lda ? p->lda : (p->trans_a ? p->M : p->K);
    size_t ldb = p->ldb ? p->ldb : (p->trans_b ? p->K : p->N);
    size_t ldc = p->ldc ? p->ldc : p->N;
    for (uint32_t z = 0; z < batch; z++) {
        size_t zo = z / inner, zi = z % inner;
        const float *az = a + a_off + zo * p->stride_a_outer + zi * p->stride_a_inner;
        const float *bz = b + b_off + zo * p->stride_b_outer + zi * p->stride_b_inner;
        float *cz = c + c_off + zo * p->stride_c_outer + zi * p->stride_c_inner;
        for (size_t m = 0; m < p->M; m++)
            for (size_t n = 0; n < p->N; n++) {
                double s = 0;
                for (size_t k = 0; k < p->K; k++) {
                    double x = p->trans_a ? az[k * lda + m] : az[m * lda + k];
                    double y = p->trans_b ? bz[n * ldb + k] : bz[k * ldb + n];
                    s += x * y;
                }
                double v = (double)p->alpha * s;
                if (p->beta != 0.0f) v += (double)p->beta * cz[m * ldc + n];
                cz[m * ldc + n] = (float)v;
            }
    }
}
