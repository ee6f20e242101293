/* Teacher-forced T5 forward on the device for one batch shape: encoder over [B, Te] tokens,
 * decoder over [B, Td] tokens, logits and the per-token loss. Used for scoring and as the first
 * half of a training step. The graph is recorded once per shape and replayed with new inputs.
 *
 * Inputs (device buffers, host-written before each replay; see fv_t5_batch_upload):
 * enc_ids, dec_ids uint32; enc_seg, dec_seg int32 segment ids (0 = padding, 1.. = example of a
 * packed row, or 1 for every token of a padded row); enc_pos, dec_pos int32 positions within the
 * segment; labels int32 (-100 = ignored). Decoder inputs are already shifted right
 * (decoder_start_token_id first in each segment). */
#ifndef FV_MODEL_T5_FORWARD_H
#define FV_MODEL_T5_FORWARD_H

#include "model/t5.h"

typedef struct fv_t5_batch {
    uint32_t B, Te, Td;
    fv_buf *enc_ids, *enc_seg, *enc_pos;
    fv_buf *dec_ids, *dec_seg, *dec_pos, *labels;
} fv_t5_batch;

typedef struct fv_t5_fwd {
    fv_t5 *m;
    fv_t5_batch in;
    uint32_t logit_rows;   /* rows of logits computed at once (a chunk of B*Td within one buffer) */
    int keep_logits;       /* logits holds all B*Td rows (small batches, tests), in pieces of
                            * logit_rows; else one piece that each chunk overwrites */
    int shared_input;      /* every row has the same encoder input (the choices of one question):
                            * encode row 0 once and copy its cross-attention K/V to the others */
    /* activations */
    fv_buf *x, *enc_out, *y, *h, *qkv, *ao, *q, *ckv, *p, *ff, *ffo, *loss;
    fv_rowsplit logits;    /* [B*Td or logit_rows, vocab] */
} fv_t5_fwd;

/* Allocate inputs and activations for batches of B rows of Te encoder and Td decoder tokens. */
int fv_t5_fwd_create(fv_t5 *m, uint32_t B, uint32_t Te, uint32_t Td, int keep_logits, fv_t5_fwd **out);
void fv_t5_fwd_free(fv_t5_fwd *f);

/* Record encoder + decoder + logits + per-row loss (f->loss, B*Td floats, 0 for ignored rows). */
int fv_t5_fwd_record(fv_graph *g, fv_t5_fwd *f);
/* Record just the encoder: f->enc_out = encoder output [B*Te, d]. */
int fv_t5_record_encoder(fv_graph *g, fv_t5 *m, const fv_t5_batch *in, fv_buf *x, fv_buf *h, fv_buf *qkv, fv_buf *ao,
                         fv_buf *p, fv_buf *ff, fv_buf *ffo, fv_buf *enc_out);

/* Host-side batch description: plain arrays of B*Te / B*Td values. Validates ids and labels
 * against the vocabulary and writes them to the device buffers. */
typedef struct fv_t5_host_batch {
    const uint32_t *enc_ids, *dec_ids;
    const int32_t *enc_seg, *enc_pos, *dec_seg, *dec_pos, *labels;
} fv_t5_host_batch;
int fv_t5_batch_upload(fv_t5 *m, const fv_t5_batch *in, const fv_t5_host_batch *h);

/* Owned host arrays for such a batch (B rows of Te encoder / Td decoder tokens), zero-filled. */
typedef struct fv_t5_host_arrays {
    uint32_t B, Te, Td;
    uint32_t *eid, *did;
    int32_t *eseg, *epos, *dseg, *dpos, *lab;
} fv_t5_host_arrays;
int fv_t5_host_arrays_alloc(fv_t5_host_arrays *h, uint32_t B, uint32_t Te, uint32_t Td);
void fv_t5_host_arrays_free(fv_t5_host_arrays *h);
/* Back to an all-padding batch: ids, segments and positions 0, labels -100 (ignored by the loss). */
void fv_t5_host_arrays_clear(fv_t5_host_arrays *h);
fv_t5_host_batch fv_t5_host_arrays_view(const fv_t5_host_arrays *h);

#endif
