/* The decode state's insides, shared by the lockstep decoder (t5_decode.c) and the slot decoder
 * of continuous batching (t5_slots.c), which reuses its buffers and its recorded step. */
#ifndef FV_MODEL_T5_DECODE_IMPL_H
#define FV_MODEL_T5_DECODE_IMPL_H

#include "model/t5_decode.h"
#include "model/t5_forward.h"
#include "ops/rowsplit.h"

enum { FV_DEC_MAX_GRAPHS = 16 };

struct fv_t5_dec {
    fv_t5 *m;
    uint32_t R, Te, tmax, beams;
    uint32_t Rp;                   /* prompts one prefill encodes (= R but for slot states) */
    int slots;                     /* slot state (t5_slots.h): a step position per row, no lockstep prefill */
    int fused;                     /* attention via fv_attn_decode (one dispatch, appends K/V itself) */
    fv_graph *prefill, *step;
    fv_t5_batch enc;               /* encoder inputs (R x Te) */
    fv_buf *x, *h, *qkv, *ao, *p, *ff, *ffo, *enc_out;   /* prefill activations */
    fv_buf **kc, **vc, **ckv;      /* per decoder layer: self K and V caches [R, tmax, inner], cross K|V [R, Te, 2 inner] */
    int kv16;                      /* the caches hold fp16 (model kv_f16): offsets count halves */
    fv_buf *ckv32;                 /* kv16: one layer's fp32 cross K|V before its cast */
    fv_buf *ckvh;                  /* slots with kv16: the prefill's fp16 cross K|V before the copy to slots */
    fv_buf *cross_seg;             /* the step's cross-attention mask [R, Te] (= enc.enc_seg unless slots) */
    fv_graph *rstep[FV_DEC_MAX_GRAPHS]; /* slots: steps recorded for rstep_rows[i] rows */
    uint32_t rstep_rows[FV_DEC_MAX_GRAPHS];
    fv_buf *tmp;                   /* cache reordering */
    /* step inputs, written by the host each step */
    fv_buf *ids, *stepbuf, *pos_q, *pos_k, *ones, *self_seg, *parent;
    /* step activations */
    fv_buf *y, *sh, *sqkv, *sao, *sq, *sp, *sff, *sffo;
    fv_rowsplit logits;  /* [R, vocab] in row chunks that each fit one storage buffer */
    uint32_t *host_seg;            /* R x tmax */
    int32_t *host_pos;
};


/* fv_t5_dec_create with slots = 1: a state for t5_slots.c (stepbuf holds one position per row),
 * whose encoder takes Rp prompts at a time (0: R). */
int fv_t5_dec_create_mode(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, int beams, int slots, uint32_t Rp,
                          fv_t5_dec **out);
/* Record the step over the first R rows of s into g. */
int fv_t5_dec_record_step(fv_t5_dec *s, fv_graph *g, uint32_t R);
/* Zero every cache and cross mask (masked slots must hold finite values). */
int fv_t5_dec_clear(fv_t5_dec *s);

#endif
