/* A T5 encoder-decoder on the device: its config, its parameters, and the table that maps every
 * Hugging Face tensor name to where it lives.
 *
 * Parameter layout: one fv_buf per weight group, sub-allocated from large memory blocks. Two
 * groups are fused so that each is one GEMM: the self-attention q, k, v weights of a block form
 * one [3*inner, d_model] matrix (rows q, then k, then v), the cross-attention k, v one
 * [2*inner, d_model] matrix, and the gated feed-forward wi_0, wi_1 one [2*d_ff, d_model] matrix.
 * The table keeps HF's logical tensors (each a slice of its group) for loading, saving, the
 * optimizer (which must see q, k and v as separate tensors, as Adafactor factors each) and
 * gradient norms. Gradients, when training, mirror the same layout (see model/t5_grads.h).
 *
 * The vocabulary tables (shared embedding, untied lm_head) are row-split (ops/rowsplit.h): one
 * buffer when they fit the device's storage-buffer range, else pieces along the vocabulary; their
 * table entry names the split, and loading and saving read and write the whole HF tensor. */
#ifndef FV_MODEL_T5_H
#define FV_MODEL_T5_H

#include <stddef.h>
#include <stdint.h>

#include "io/t5_config.h"
#include "ops/op.h"
#include "ops/rowsplit.h"

typedef struct fv_t5_block {
    /* self-attention (encoder and decoder) */
    fv_buf *ln_self;  /* [d] */
    fv_buf *qkv;      /* [3*inner, d] */
    fv_buf *o;        /* [d, inner] */
    /* cross-attention (decoder only) */
    fv_buf *ln_cross; /* [d] */
    fv_buf *cq;       /* [inner, d] */
    fv_buf *ckv;      /* [2*inner, d] */
    fv_buf *co;       /* [d, inner] */
    /* feed-forward */
    fv_buf *ln_ff;    /* [d] */
    fv_buf *wi;       /* [2*d_ff, d] gated (wi_0 then wi_1), [d_ff, d] otherwise */
    fv_buf *wo;       /* [d, d_ff] */
} fv_t5_block;

/* One HF tensor: shape [rows, cols] (cols = 0: a vector of rows) at buf + off. */
typedef struct fv_t5_param {
    char name[96];
    uint32_t rows, cols;
    fv_buf *buf;
    uint32_t off;
    int matrix;        /* factored by Adafactor */
    const fv_rowsplit *split; /* the vocabulary tables: the tensor is these pieces (buf = piece 0, off 0) */
} fv_t5_param;

typedef struct fv_t5 {
    fv_dev *d;
    fv_t5_config cfg;
    uint32_t inner;          /* num_heads * d_kv */
    fv_rowsplit shared;      /* [vocab, d] */
    fv_rowsplit lm_head;     /* [vocab, d]; n = 0 when tied (shared is used, output scaled) */
    fv_buf *enc_rel, *dec_rel;        /* [num_buckets, heads] */
    fv_buf *enc_final, *dec_final;    /* [d] */
    fv_t5_block *enc, *dec;
    fv_buf *enc_lut, *dec_lut;        /* relative-position bucket LUTs */
    uint32_t lut_radius;
    fv_t5_param *params;
    size_t nparams;
    uint64_t nvalues;        /* parameter count */
} fv_t5;

/* Allocate a model of this config on the device with uninitialised weights. */
int fv_t5_create(fv_dev *d, const fv_t5_config *cfg, fv_t5 **out);
void fv_t5_free(fv_t5 *m);

/* Load weights from a HF checkpoint (model.safetensors or a sharded index, or a directory).
 * Every tensor of the table must be present with the right shape; encoder/decoder.embed_tokens
 * may be absent (they are shared.weight). progress(done, total, user) is called as it goes. */
int fv_t5_load_weights(fv_t5 *m, const char *path, void (*progress)(uint64_t done, uint64_t total, void *user),
                       void *user);
/* Load config.json and weights from a model directory. */
int fv_t5_load(fv_dev *d, const char *dir, fv_t5 **out, void (*progress)(uint64_t, uint64_t, void *), void *user);
/* T5's initialisation (HF T5PreTrainedModel._init_weights, factor initializer_factor), seeded. */
int fv_t5_init_weights(fv_t5 *m, uint64_t seed);
/* Write model.safetensors (HF names, float32) into dir, atomically. */
int fv_t5_save_weights(const fv_t5 *m, const char *dir);

const fv_t5_param *fv_t5_find(const fv_t5 *m, const char *name);
/* Blocking copies of a whole table entry (HF tensor) between the device and rows*cols host floats,
 * whether it is a slice of a fused buffer or a row-split table (also for gradient tables). */
int fv_t5_param_read(fv_dev *d, const fv_t5_param *p, float *dst);
int fv_t5_param_write(fv_dev *d, const fv_t5_param *p, const float *src);

#endif
