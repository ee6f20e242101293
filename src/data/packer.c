/* Greedy packer (see pack.h): an example goes into the current row if both its input and its
 * target fit in the space left, else the row is closed and a new one started. Greedy first-fit in
 * arrival order (as seqio's trim_and_pack does per batch) keeps the stream order, which is what
 * makes unpacking give back every example in order. */
#include "data/pack.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

int fv_packer_init(fv_packer *p, uint32_t L, uint32_t L2, uint32_t eos_id) {
    memset(p, 0, sizeof *p);
    if (L == 0 || L2 == 0 || L > (1u << 24) || L2 > (1u << 24))
        return fv_err("packer: bad sequence lengths %u / %u", L, L2);
    p->L = L;
    p->L2 = L2;
    p->eos_id = eos_id;
    uint32_t ntag = (L < L2 ? L : L2);
    if (ntag > FV_PACK_TAG_MAX) ntag = FV_PACK_TAG_MAX;
    p->cur_in = calloc(L, 4);
    p->done_in = calloc(L, 4);
    p->cur_iseg = calloc(L, 4);
    p->done_iseg = calloc(L, 4);
    p->cur_tg = calloc(L2, 4);
    p->done_tg = calloc(L2, 4);
    p->cur_tseg = calloc(L2, 4);
    p->done_tseg = calloc(L2, 4);
    p->cur_tags = calloc(ntag, 4);
    p->done_tags = calloc(ntag, 4);
    if (!p->cur_in || !p->done_in || !p->cur_iseg || !p->done_iseg || !p->cur_tg || !p->done_tg || !p->cur_tseg ||
        !p->done_tseg || !p->cur_tags || !p->done_tags) {
        fv_packer_free(p);
        return fv_err("packer: out of memory for rows of %u / %u tokens", L, L2);
    }
    return 0;
}

void fv_packer_free(fv_packer *p) {
    free(p->cur_in);
    free(p->done_in);
    free(p->cur_iseg);
    free(p->done_iseg);
    free(p->cur_tg);
    free(p->done_tg);
    free(p->cur_tseg);
    free(p->done_tseg);
    free(p->cur_tags);
    free(p->done_tags);
    memset(p, 0, sizeof *p);
}

/* Swap the current row into `done` and clear the new current row. */
static void close_row(fv_packer *p) {
    uint32_t *t;
    int32_t *s;
    t = p->done_in, p->done_in = p->cur_in, p->cur_in = t;
    t = p->done_tg, p->done_tg = p->cur_tg, p->cur_tg = t;
    s = p->done_iseg, p->done_iseg = p->cur_iseg, p->cur_iseg = s;
    s = p->done_tseg, p->done_tseg = p->cur_tseg, p->cur_tseg = s;
    s = p->done_tags, p->done_tags = p->cur_tags, p->cur_tags = s;
    p->done_n_seg = p->n_seg;
    memset(p->cur_in, 0, 4 * (size_t)p->L);
    memset(p->cur_iseg, 0, 4 * (size_t)p->L);
    memset(p->cur_tg, 0, 4 * (size_t)p->L2);
    memset(p->cur_tseg, 0, 4 * (size_t)p->L2);
    p->used_in = p->used_tg = p->n_seg = 0;
    p->n_rows++;
}

/* Copy n tokens (truncated to cap, keeping a final </s>) into dst; returns the count copied. */
static uint32_t put_trunc(uint32_t *dst, const uint32_t *src, size_t n, uint32_t cap, uint32_t eos, int *trunc) {
    if (n <= cap) {
        memcpy(dst, src, n * 4);
        return (uint32_t)n;
    }
    *trunc = 1;
    if (src[n - 1] == eos) {
        memcpy(dst, src, (size_t)(cap - 1) * 4);
        dst[cap - 1] = eos;
    } else {
        memcpy(dst, src, (size_t)cap * 4);
    }
    return cap;
}

int fv_packer_push(fv_packer *p, const uint32_t *in, size_t n_in, const uint32_t *tg, size_t n_tg, int32_t tag,
                   int *truncated) {
    if (n_in == 0 || n_tg == 0 || !in || !tg)
        return fv_err("packer: example %llu has an empty %s (every example needs >= 1 token on each side)",
                      (unsigned long long)p->n_examples, n_in == 0 || !in ? "input" : "target");
    size_t ni = n_in < p->L ? n_in : p->L, nt = n_tg < p->L2 ? n_tg : p->L2;
    int closed = 0;
    uint32_t ntag = p->L < p->L2 ? p->L : p->L2;
    if (ntag > FV_PACK_TAG_MAX) ntag = FV_PACK_TAG_MAX;
    if (p->n_seg > 0 && (p->used_in + ni > p->L || p->used_tg + nt > p->L2 || p->n_seg == ntag)) {
        close_row(p);
        closed = 1;
    }
    int tr = 0;
    int32_t seg = (int32_t)++p->n_seg;
    uint32_t a = put_trunc(p->cur_in + p->used_in, in, n_in, p->L, p->eos_id, &tr);
    uint32_t b = put_trunc(p->cur_tg + p->used_tg, tg, n_tg, p->L2, p->eos_id, &tr);
    for (uint32_t i = 0; i < a; i++) p->cur_iseg[p->used_in + i] = seg;
    for (uint32_t i = 0; i < b; i++) p->cur_tseg[p->used_tg + i] = seg;
    p->cur_tags[seg - 1] = tag;
    p->used_in += a;
    p->used_tg += b;
    p->tokens_in += a;
    p->tokens_tg += b;
    p->n_examples++;
    p->n_truncated += (uint64_t)tr;
    if (truncated) *truncated = tr;
    return closed;
}

int fv_packer_flush(fv_packer *p) {
    if (p->n_seg == 0) return 0;
    close_row(p);
    return 1;
}

fv_pack_row fv_packer_done(const fv_packer *p, uint32_t *n_seg, const int32_t **tags) {
    fv_pack_row r = {p->done_in, p->done_iseg, p->done_tg, p->done_tseg};
    if (n_seg) *n_seg = p->done_n_seg;
    if (tags) *tags = p->done_tags;
    return r;
}
