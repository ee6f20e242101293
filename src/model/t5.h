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
 * table entry names the split, and loading and saving read and write the whole HF tensor.
 * A block's linear group that does not fit one buffer either (flan-t5-xxl's fused wi is 335 MB)
 * is stored as row splits of its HF tensors instead of the fused buffer (model/t5_wsplit.h), and
 * its table entries name those splits the same way.
 *
 * Storage types (io/wpack.h, issue #12): for inference the blocks' linear weights may be held as
 * f16, bf16 or q8 words (wtype) and the vocabulary tables as f16 or bf16 (vtype); layer norms,
 * relative-position biases, activations and every sum stay fp32. A typed group is the same rows
 * packed row by row (so q, k, v stay consecutive row ranges of the fused matrix), with q8's fp16
 * scales in a buffer of their own (block->scales). On devices whose decode kernel streams the
 * tiled layout best (fv_wlinear_tile: CPU devices) the typed words are held tiled (io/wtile.h,
 * groups of 128 rows) where q, k, v and wi_0, wi_1 stay whole groups; the table's entries still
 * read and write plain row-major words. The model never names a kernel: it asks
 * fv_t5_linear for "the linear layer over this weight" and fv_t5_embed for a lookup. Training
 * builds f32 models only (fv_t5_create / fv_t5_load). */
#ifndef FV_MODEL_T5_H
#define FV_MODEL_T5_H

#include <stddef.h>
#include <stdint.h>

#include "io/t5_config.h"
#include "io/wpack.h"
#include "ops/op.h"
#include "ops/rowsplit.h"
#include "ops/wlinear.h"

/* The linear layers of a block (fv_t5_block_weight). */
enum fv_t5_lin { FV_T5_QKV, FV_T5_O, FV_T5_CQ, FV_T5_CKV, FV_T5_CO, FV_T5_WI, FV_T5_WO, FV_T5_NLIN };

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
    fv_buf *scales[FV_T5_NLIN]; /* q8: each linear's fp16 block scales; NULL otherwise */
    /* A linear too large for one storage buffer (model/t5_wsplit.h): its field above is NULL and
     * its HF tensors (q, k, v; k, v; wi_0, wi_1; or the one) are row splits here, in row order;
     * part[w][0].n = 0 when the fused buffer holds it. */
    fv_rowsplit part[FV_T5_NLIN][3];
} fv_t5_block;

/* One HF tensor: shape [rows, cols] (cols = 0: a vector of rows) at buf + off 32-bit words:
 * floats when type is f32, else packed rows (io/wpack.h) with q8 scales from fp16 index soff. */
typedef struct fv_t5_param {
    char name[96];
    uint32_t rows, cols;
    fv_buf *buf;
    uint32_t off;
    enum fv_wtype type;
    fv_buf *scales;    /* q8 */
    uint32_t soff;     /* q8: first scale, in fp16 elements */
    int matrix;        /* factored by Adafactor */
    const fv_rowsplit *split; /* a split tensor (vocabulary tables, block linears larger than the
                               * range): these pieces (buf = piece 0, off 0) */
    uint32_t tile;     /* typed words held tiled (io/wtile.h), this many rows per group (each
                        * piece of a split on its own); 0: row-major */
} fv_t5_param;

typedef struct fv_t5_lora fv_t5_lora;

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
    enum fv_wtype wtype;     /* the blocks' linear weights */
    enum fv_wtype vtype;     /* the vocabulary tables (shared, lm_head): f32, f16 or bf16; typed
                              * tables are row splits of packed words (cols = words per row) */
    uint64_t weight_bytes;   /* device bytes of every parameter (data and scales) */
    uint32_t wtile, vtile;   /* rows per tile group of the typed block linears and vocabulary
                              * tables where the device prefers tiles (fv_t5_lin_tile); 0: none */
    fv_buf *wscratch;        /* fp32 scratch of the dequantizing many-row products (typed models on
                              * devices whose GEMM cannot read low-bit weights; else NULL) */
    int kv_f16;              /* decode states hold their K/V caches in fp16 (set by the loader) */
    struct fv_t5_lora *lora; /* an attached LoRA adapter (model/t5_lora.h), or NULL */
    uint32_t wscratch_floats;
} fv_t5;

/* Allocate a model of this config on the device with uninitialised weights (fp32: trainable). */
int fv_t5_create(fv_dev *d, const fv_t5_config *cfg, fv_t5 **out);
/* The same with the linear weights stored as wtype (vocabulary tables: fv_t5_vocab_type). */
int fv_t5_create_typed(fv_dev *d, const fv_t5_config *cfg, enum fv_wtype wtype, fv_t5 **out);
/* The vocabulary tables' type for blocks of type wtype: q8 keeps them 16-bit (see README). */
enum fv_wtype fv_t5_vocab_type(enum fv_wtype wtype);
/* Device bytes of a model's parameters with linear weights of type wtype (no device needed). */
uint64_t fv_t5_weight_bytes_of(const fv_t5_config *cfg, enum fv_wtype wtype);
void fv_t5_free(fv_t5 *m);

/* Load weights from a HF checkpoint (model.safetensors or a sharded index, or a directory).
 * Every tensor of the table must be present with the right shape; encoder/decoder.embed_tokens
 * may be absent (they are shared.weight). progress(done, total, user) is called as it goes. */
int fv_t5_load_weights(fv_t5 *m, const char *path, void (*progress)(uint64_t done, uint64_t total, void *user),
                       void *user);
/* Load config.json and weights from a model directory (fp32, whatever the file holds). */
int fv_t5_load(fv_dev *d, const char *dir, fv_t5 **out, void (*progress)(uint64_t, uint64_t, void *), void *user);
/* The same for inference with the linear weights stored as *wtype; *wtype < 0 (FV_T5_WTYPE_FILE):
 * the checkpoint's own type, written back to *wtype. */
#define FV_T5_WTYPE_FILE (-1)
int fv_t5_load_typed(fv_dev *d, const char *dir, int *wtype, fv_t5 **out, void (*progress)(uint64_t, uint64_t, void *),
                     void *user);
/* The KV cache's type for later decode states: "f32", "f16", or NULL for the default (f16 when
 * the weights are not f32 and the device can hold fp16 caches). An explicit "f16" on a device
 * that cannot is an error. */
int fv_t5_set_kv_cache(fv_t5 *m, const char *kv);
/* The checkpoint's own storage type (that of its linear weights). */
int fv_t5_file_wtype(const char *dir, enum fv_wtype *out);
/* T5's initialisation (HF T5PreTrainedModel._init_weights, factor initializer_factor), seeded. */
int fv_t5_init_weights(fv_t5 *m, uint64_t seed);
/* Random weights with T5's init std from a uniform distribution and a cheap generator: for
 * benchmarks on large shapes (the normal sampler takes minutes for flan-t5-xl); not T5's init. */
int fv_t5_init_weights_fast(fv_t5 *m, uint64_t seed);
/* Write model.safetensors (HF names, float32) into dir, atomically. */
int fv_t5_save_weights(const fv_t5 *m, const char *dir);
/* The same with metadata (NULL-terminated key, value pairs; "format": "pt" is always written):
 * checkpoints stamp the step, so a model and a training state from different saves are told apart. */
int fv_t5_save_weights_meta(const fv_t5 *m, const char *dir, const char *const *meta_kv);

const fv_t5_param *fv_t5_find(const fv_t5 *m, const char *name);
/* A block's linear weight as the ops see it (fv_linear_w). */
fv_weight fv_t5_block_weight(const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which);
/* Rows per tile group of a block's fused linear `which` (0: row-major): m->wtile where its rows
 * are whole chunks and its HF tensors (q, k, v; k, v; wi_0, wi_1) whole groups. */
uint32_t fv_t5_lin_tile(const fv_t5 *m, enum fv_t5_lin which);
/* y[rows, out] = x[rows, in] W^T + beta * y over that weight, whatever its storage type (f32:
 * the fp32 GEMM exactly as before; typed: ops/wlinear.h with the model's scratch). */
int fv_t5_linear(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t y,
                 uint32_t rows, float beta);
/* The block's linear over RMSNorm(x) with norm weight ln (HF T5LayerNorm, the model's epsilon):
 * one dispatch where the few-rows low-bit kernel takes the product whole (a low-bit weight, at
 * most FV_WL_ROWS_MAX rows, not row-split, no adapter on it, which would read the normalised rows;
 * ops/wlinear.h norm_w), h not written; otherwise the norm into h [rows, d_model], then the linear. */
int fv_t5_norm_linear(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t ln, fv_t h,
                      fv_t y, uint32_t rows, float beta);
/* The same without an attached adapter's term: the base layer only (LoRA training adds its own). */
int fv_t5_linear_base(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t y,
                      uint32_t rows, float beta);
/* The LM head's input gradient dh[rows, d] = s dlogits W (s as fv_t5_logits; dlogits [rows, vocab]
 * packed), for a frozen head of any vocabulary type: typed pieces through ops/wlinear.h
 * fv_linear_w_dx with the given fp32 scratch. */
int fv_t5_logits_back(fv_graph *g, const fv_t5 *m, fv_t dlogits, fv_t dh, uint32_t rows, fv_t scratch,
                      uint32_t scratch_floats);
/* out[t, :] = shared[ids[t], :] (any vocabulary type). */
int fv_t5_embed(fv_graph *g, const fv_t5 *m, fv_t ids, fv_t out, uint32_t ntok);
/* Blocking copies of a whole table entry (HF tensor) between the device and rows*cols host floats,
 * whether it is a slice of a fused buffer or a row-split table (also for gradient tables). */
int fv_t5_param_read(fv_dev *d, const fv_t5_param *p, float *dst);
int fv_t5_param_write(fv_dev *d, const fv_t5_param *p, const float *src);

#endif
