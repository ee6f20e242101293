/* The shape description of one T5 attention call, shared by the Vulkan op (ops/attention.h) and
 * its plain-C reference (ref/attention.h); kept apart so the reference needs no Vulkan header.
 *
 * Layout: Q is [B, Tq, H, dk], K and V are [B, Tk, H, dk], O is [B, Tq, H, dk], each with its own
 * token stride (elements between consecutive tokens, >= H*dk; 0 means H*dk) so Q, K and V can be
 * slices of one fused QKV buffer. Segment ids and positions are int32 [B, Tq] / [B, Tk]. The
 * relative-position bias table is [num_buckets, H] (HF relative_attention_bias.weight) and the
 * bucket LUT holds 2*lut_radius+1 int32 buckets for rel = pos_k - pos_q in [-L, L] (clamped). */
#ifndef FV_OPS_ATTN_DESC_H
#define FV_OPS_ATTN_DESC_H

#include <stdint.h>

typedef struct fv_attn_desc {
    uint32_t B, Tq, Tk, H, dk;
    uint32_t q_stride, k_stride, v_stride, o_stride; /* elements per token; 0 = H*dk */
    int causal;           /* key j visible to query i only if j <= i (token indices) */
    int pad_mask_only;    /* 1: ignore seg_q, key j visible iff seg_k[j] != 0 (plain padded cross-attention) */
    int use_bias;         /* add table[bucket(pos_k[j] - pos_q[i]) * H + h] */
    uint32_t num_buckets; /* rows of the bias table (with use_bias) */
    uint32_t lut_radius;  /* L of the bucket LUT (with use_bias) */
    int kv_f16;           /* forward only: K and V stored as fp16 (offsets, strides in fp16 elements) */
} fv_attn_desc;

/* Token strides with the 0 = packed default applied. */
static inline uint32_t fv_attn_stride(const fv_attn_desc *a, uint32_t s) { return s ? s : a->H * a->dk; }

#endif
