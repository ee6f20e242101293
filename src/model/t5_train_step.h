/* One T5 training step on the device, recorded once per batch shape and replayed: batch inputs
 * (written by the host before each replay, fv_t5_batch_upload), the training forward that keeps
 * every activation the backward needs, the loss with Hugging Face's normalisation (mean over all
 * non-ignored target tokens of the batch), and the backward from the loss to every parameter
 * gradient (model/t5_grads.h). No optimizer step: the caller records it after this.
 *
 * Activations (llm.c style, all sized up front for (B, Te, Td)): per layer, one buffer per kind
 * (the residual stream entering each sublayer, its RMSNorm output, the fused projections, the
 * attention probabilities, the attention output, the feed-forward pre-activation and the
 * activated product). Per-layer buffers rather than one [L, ...] array each: a single stacked
 * buffer would exceed maxStorageBufferRange at flan-t5-small sizes, and separate buffers let the
 * graph skip barriers between independent reads.
 *
 * Gradient checkpointing (opts.checkpointing, chosen at creation): only each block's input
 * residual (x_sa) is kept per layer; every other activation of a block lives in one set of
 * shared scratch buffers sized for the larger block (`scratch`), which the forward overwrites
 * block after block and the backward refills by recomputing the block's forward (norms,
 * projections, attention P, feed-forward activations; not its output residual) right before
 * that block's backward. The recompute runs the same kernels on the same inputs with the same
 * dropout masks (same seed and salts), so the gradients are bit-identical to the stored run's.
 * The last decoder block needs no recompute: the scratch still holds it after the forward.
 *
 * Dropout (HF T5 sites): the embedding output of each stack, every sublayer output before its
 * residual add (fused: ops/dropout.h fv_dropout_add), the attention probabilities of every
 * self- and cross-attention (ops/attention.h fv_attention_drop), inside the feed-forward after
 * the activation, after each final RMSNorm. The masks are recomputed from (seed, site salt,
 * index) with the seed in a device buffer, so each replay draws fresh masks
 * (fv_t5_train_set_seed) and the backward (and a checkpointed recompute) applies the same ones.
 * The attention's dropped probabilities are kept (pd_sa, pd_ca: per layer, or in the shared
 * scratch with checkpointing, whose recompute writes them again) so the backward's dV product
 * reads them instead of recomputing them with a dropout pass over P (ops/attention.h pd_kept).
 * Cost: one more P-sized buffer per attention; flan-t5-small (6 heads, 8 + 8 layers) at batch
 * 8 x (512 in + 128 out), fp32: 8 x (50.3 + 3.1 + 12.6) MB = 528 MB, or 63 MB with checkpointing.
 *
 * Mixed precision (opts.mixed_precision, on a device with 16-bit storage): the GEMMs of the
 * projections q|k|v, o, cross q, cross k|v, cross o and wi read fp16 shadow copies of those
 * weights (t->enc16 / t->dec16, made by ops/cast.h) in the forward, in the input-gradient
 * products of the backward and in a checkpointed recompute. Everything else stays fp32: the
 * master weights, their gradients (dW += dy^T x reads no weight) and the optimizer state; all
 * activations and GEMM outputs; every accumulation. Three weight kinds keep no shadow:
 *  - wo: T5's feed-forward output (d_ff -> d_model) is the path known to overflow fp16 (HF keeps
 *    it in fp32, `_keep_in_fp32_modules = ["wo"]`), so its weight stays fp32 with its product;
 *  - the shared embedding / lm_head: the same table feeds the embedding lookup and the logits,
 *    whose softmax is the loss itself; [vocab, d] rounding there moves the loss most for the
 *    least work (the head is one GEMM of dozens per step);
 *  - RMSNorm weights and the relative-position tables: not GEMM operands.
 * The shadows must mirror the masters: fv_t5_train_create_ex fills them from the weights as
 * they are then, and the caller records fv_t5_train_refresh_shadows after every optimizer
 * update (or runs fv_t5_train_sync_shadows after writing the weights any other way). Without
 * 16-bit storage a one-line warning is logged and the step runs in fp32.
 *
 * Transposed forward copies (texel devices only, fv_dev.use_texel): there a GEMM with B stored
 * N x K (y = x W^T, every forward projection) is 7-28% slower than with B stored K x N, so the
 * forward products read W^T [in, out] copies of qkv, o, cq, ckv, co, wi, wo of every block and
 * of the LM head weight (lm_head, or the shared embedding when tied) as NN GEMMs
 * (t5_train_copies.c). fv_t5_train_forward records their transposes (ops/transpose.h) from the
 * fp32 masters first, so they always match the weights of that replay: nothing to refresh. They
 * are fp16 for the shadowed fields under mixed precision (the same rounding as the shadows),
 * fp32 otherwise (wo and the head always). Cost: one more copy of those weights in device memory
 * (flan-t5-small fp32: ~59M floats, 236 MB) and the transposes each step. The backward's
 * input-gradient products keep reading the masters / shadows (already NN). Other devices make
 * no copies, nor does FLANVK_FWD_TRANSPOSE=0 (kill switch, A/B comparisons). */
#ifndef FV_MODEL_T5_TRAIN_STEP_H
#define FV_MODEL_T5_TRAIN_STEP_H

#include "model/t5_forward.h"
#include "model/t5_grads.h"

/* Saved activations of one block (decoder-only fields NULL in the encoder). */
typedef struct fv_t5_acts {
    fv_buf *x_sa, *h_sa, *qkv, *p_sa, *ao_sa;          /* self-attention: input, normed, q|k|v, P, output */
    fv_buf *x_ca, *h_ca, *q_c, *ckv, *p_ca, *ao_ca;    /* cross-attention */
    fv_buf *x_ff, *h_ff, *ff, *ffo;                    /* feed-forward: input, normed, wi out, act (after dropout) */
    fv_buf *pd_sa, *pd_ca; /* with dropout: the dropped attention P (self, cross) the forward wrote, read by dV */
} fv_t5_acts;

typedef struct fv_t5_train_opts {
    float dropout;     /* < 0 takes the config's dropout_rate; 0 records no dropout at all */
    int checkpointing; /* keep only block inputs; recompute each block in the backward */
    int mixed_precision; /* fp16 shadows of the projection weights for the GEMMs (see above) */
    struct fv_t5_lora_train *lora; /* LoRA adapters to train (model/t5_lora_train.h), or NULL */
} fv_t5_train_opts;

typedef struct fv_t5_train {
    fv_t5 *m;
    fv_t5_grads *gr;               /* NULL: the base is frozen (LoRA): no weight gradients */
    struct fv_t5_lora_train *lora; /* trained adapters (opts.lora), or NULL */
    fv_buf *sink;                  /* frozen base: where the norm and bias gradients the ops always
                                      produce go (a few hundred floats, never read) */
    fv_buf *wdx;                   /* low-bit frozen base: fp32 scratch of the input-gradient products
                                      through its weights (ops/wlinear.h fv_linear_w_dx) */
    uint32_t wdx_floats;
    fv_t5_batch in;
    float dropout;
    int checkpointing;
    int mixed;                     /* fp16 shadows in use (asked for, and the device has fp16) */
    fv_t5_block *enc16, *dec16;    /* with mixed: fp16 copies of qkv, o, cq, ckv, co, wi (others NULL) */
    fv_t5_block *enc_t, *dec_t;    /* texel devices: W^T copies [in, out] of qkv, o, cq, ckv, co, wi, wo
                                      for the forward, remade by every forward (others NULL; see above) */
    fv_buf *head_t;                /* texel devices: W^T [d_model, vocab] of lm_head / the tied embedding */
    fv_t5_acts scratch;            /* with checkpointing: the shared block buffers (x_sa unused) */
    int host_scale;                /* set before recording: the host writes the loss scale (fv_t5_train_set_scale) */
    uint32_t logit_rows;
    uint64_t largest;              /* bytes of its largest buffer (all but a few grow with B) */
    char largest_what[48];
    fv_t5_acts *enc, *dec;
    fv_buf *enc_end, *enc_out;     /* encoder residual after the last block; final norm (+dropout) */
    fv_buf *dec_end, *dec_h;       /* decoder residual after the last block; final norm (+dropout) */
    fv_buf *logits, *loss;         /* logits chunk [logit_rows, V] (dlogits in place); per-token loss [B*Td] */
    fv_buf *count;                 /* [2]: target tokens, 1 / max(count, 1) (the xent scale) */
    fv_buf *stats;                 /* [3]: loss sum, count, mean (fv_xent_sum) */
    fv_buf *seed;                  /* uint32 [1], host-visible */
    fv_buf *rng_self[2], *rng_cross; /* attention block ranges (ops/attn_ranges.h) of the encoder and
                                        decoder self-attention and the cross-attention, computed from
                                        the batch's segment ids at the start of the forward */
    fv_buf *tmp;                   /* [nmax, D] sublayer output before dropout / dropped gradient */
    /* backward scratch */
    fv_buf *gx, *gy, *genc, *gh, *gao, *gqkv, *gq, *gckv, *gff, *gffo, *gp, *hist, *rms;
    /* without dropout gp is only the backward's dS scratch (the dropped P lives in pd_sa / pd_ca) */
} fv_t5_train;

/* Allocate inputs, activations and scratch for batches of B rows of Te encoder / Td decoder
 * tokens. dropout < 0 takes the config's dropout_rate; 0 records no dropout at all.
 *
 * LoRA (opts.lora, issue #13): the adapters' terms join every targeted product of the forward
 * and their gradients the backward (model/t5_lora_train.h); with gr NULL the base is frozen: its
 * input gradients flow, no weight gradient is computed, fv_t5_train_record zeroes only the
 * adapters' gradients and fv_t5_train_refresh_shadows records nothing (shadows never go stale);
 * the transposed forward copies of an f32 frozen base are made once, here, not by every forward.
 * A frozen base may hold its linear weights as f16, bf16 or q8 (fv_t5_create_typed): the forward
 * asks fv_t5_linear / fv_t5_embed / fv_t5_logits for its products, the backward's input gradients
 * go through fv_linear_w_dx (dequantized chunks of W, fp32 GEMM) with the scratch t->wdx; such a
 * model has no fp16 shadows (mixed precision is moot: the weights are 16-bit or less already) and
 * no transposed forward copies (they would be fp32 copies of every weight). */
int fv_t5_train_create(fv_t5 *m, fv_t5_grads *gr, uint32_t B, uint32_t Te, uint32_t Td, float dropout,
                       fv_t5_train **out);
/* The same with options (dropout rate, gradient checkpointing). */
int fv_t5_train_create_ex(fv_t5 *m, fv_t5_grads *gr, uint32_t B, uint32_t Te, uint32_t Td,
                          const fv_t5_train_opts *opts, fv_t5_train **out);
void fv_t5_train_free(fv_t5_train *t);

/* Record the whole step: [zero gradients], forward, loss, backward. With zero_grads = 0 the
 * gradients accumulate over replays (micro-batches: see host_scale and fv_t5_train_set_scale). */
int fv_t5_train_record(fv_graph *g, fv_t5_train *t, int zero_grads);
/* The pieces (fv_t5_train_record calls them in this order). */
int fv_t5_train_forward(fv_graph *g, fv_t5_train *t);
int fv_t5_train_loss_and_head(fv_graph *g, fv_t5_train *t);
int fv_t5_train_backward(fv_graph *g, fv_t5_train *t);

/* Mixed precision: record the fp32 -> fp16 refresh of every shadow from its master weight
 * (records nothing without mixed precision). Record it after the optimizer update. */
int fv_t5_train_refresh_shadows(fv_graph *g, fv_t5_train *t);
/* The same, run now (blocking): after writing the master weights outside the recorded update. */
int fv_t5_train_sync_shadows(fv_t5_train *t);
/* Whether the step's forward products read transposed weight copies on device d (texel devices,
 * unless FLANVK_FWD_TRANSPOSE=0): then they are NN products, else NT (bench profile uses this). */
int fv_t5_train_fwd_transposed(const fv_dev *d);
/* Record the transposes that remake those copies from the current weights (nothing without
 * copies); fv_t5_train_forward records it first, so a forward graph never reads stale copies. */
int fv_t5_train_fwd_copies(fv_graph *g, fv_t5_train *t);

/* With t->host_scale set before recording, the gradient is scaled by this instead of 1 / (target
 * tokens of this batch): for micro-batches, 1 / (target tokens of the whole accumulated batch)
 * gives HF's mean over all of them. */
int fv_t5_train_set_scale(fv_t5_train *t, float scale);
/* Set the dropout seed for the next replay. */
int fv_t5_train_set_seed(fv_t5_train *t, uint32_t seed);
/* After a replay: the summed loss over target tokens and their count (mean = sum / count). */
int fv_t5_train_read_loss(fv_t5_train *t, double *sum, uint32_t *count);

#endif
