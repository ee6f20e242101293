/* Small ops of the decode loop, all driven by device buffers so that one recorded decode step is
 * replayed for every token: append this step's K/V rows to a cache at the position held in a
 * buffer, greedy argmax over the vocabulary, and gathering rows by index (beam reordering). */
#ifndef FV_OPS_DECODE_H
#define FV_OPS_DECODE_H

#include "ops/op.h"

/* cache[b, step[0], 0:width] = src[b, 0:width] for b < batch. The cache holds batch x tmax rows
 * (row stride row_stride, batch stride batch_stride); src rows have stride src_stride. A step
 * >= tmax writes nothing. */
int fv_kv_append(fv_graph *g, fv_t src, fv_t step, fv_t cache, uint32_t batch, uint32_t width, uint32_t src_stride,
                 uint32_t row_stride, uint32_t batch_stride, uint32_t tmax);
/* The same into an fp16 cache (cache offset and strides count fp16 elements; src stays fp32),
 * each value rounded to nearest even as fv_cast_f16 rounds it. Needs 16-bit storage
 * (fv_attn_kv_f16_supported, ops/attention.h). */
int fv_kv_append_f16(fv_graph *g, fv_t src, fv_t step, fv_t cache, uint32_t batch, uint32_t width,
                     uint32_t src_stride, uint32_t row_stride, uint32_t batch_stride, uint32_t tmax);

/* Either of the above with a position per row: cache[b, steps[b], :] = src[b, :] (continuous
 * batching, rows at different positions); f16 selects the fp16 cache. */
int fv_kv_append_rows(fv_graph *g, fv_t src, fv_t steps, fv_t cache, uint32_t batch, uint32_t width, uint32_t src_stride,
                      uint32_t row_stride, uint32_t batch_stride, uint32_t tmax, int f16);

/* out[r] = argmax_j x[r * stride + j], j < cols (first index on ties). out is uint32. */
int fv_argmax(fv_graph *g, fv_t x, fv_t out, uint32_t rows, uint32_t cols, uint32_t stride);

/* dst[i, :] = src[idx[i], :], rows of width 32-bit words; an index >= src_rows gives a zero row.
 * The words are copied as bits (no float arithmetic), so any 32-bit data moves unchanged: rows of
 * fp16 data (an fp16 KV cache) are reordered by passing offsets and width in words, i.e. the
 * fp16 counts halved (they must be even). */
int fv_gather_rows(fv_graph *g, fv_t src, fv_t idx, fv_t dst, uint32_t rows, uint32_t width, uint32_t src_rows);

#endif
