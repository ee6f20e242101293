/* Reference attention block ranges: see ref/attn_ranges.h. */
#include "ref/attn_ranges.h"

enum { R = 16 };

int fv_ref_attn_visible(const fv_attn_desc *a, const int32_t *seg_q, const int32_t *seg_k, uint32_t b, uint32_t i,
                        uint32_t j) {
    int32_t sk = seg_k[(uint64_t)b * a->Tk + j], sq = seg_q[(uint64_t)b * a->Tq + i];
    if (sk == 0) return 0;
    if (!a->pad_mask_only && sk != sq) return 0;
    return !a->causal || j <= i;
}

double fv_ref_attn_pairs(const fv_attn_desc *a, const int32_t *seg_q, const int32_t *seg_k) {
    double n = 0;
    for (uint32_t b = 0; b < a->B; b++)
        for (uint32_t i = 0; i < a->Tq; i++)
            for (uint32_t j = 0; j < a->Tk; j++) n += fv_ref_attn_visible(a, seg_q, seg_k, b, i, j);
    return n;
}

void fv_ref_attn_ranges(const fv_attn_desc *a, const int32_t *seg_q, const int32_t *seg_k, uint32_t *ranges) {
    uint32_t qb = (a->Tq + R - 1) / R, kb = (a->Tk + R - 1) / R;
    uint32_t *kr = ranges, *qr = ranges + 2ull * a->B * qb;
    for (uint64_t n = 0; n < 2ull * a->B * qb; n++) kr[n] = 0;
    for (uint64_t n = 0; n < 2ull * a->B * kb; n++) qr[n] = 0;
    for (uint32_t b = 0; b < a->B; b++)
        for (uint32_t i = 0; i < a->Tq; i++)
            for (uint32_t j = 0; j < a->Tk; j++) {
                if (!fv_ref_attn_visible(a, seg_q, seg_k, b, i, j)) continue;
                uint32_t *k = kr + 2 * ((uint64_t)b * qb + i / R), *q = qr + 2 * ((uint64_t)b * kb + j / R);
                if (k[0] == k[1]) k[0] = j, k[1] = j + 1; /* empty so far: visible j are never (0, 0)'s hull */
                else {
                    if (j < k[0]) k[0] = j;
                    if (j + 1 > k[1]) k[1] = j + 1;
                }
                if (q[0] == q[1]) q[0] = i, q[1] = i + 1;
                else {
                    if (i < q[0]) q[0] = i;
                    if (i + 1 > q[1]) q[1] = i + 1;
                }
            }
}
