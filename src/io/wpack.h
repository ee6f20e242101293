/* Low-bit weight storage: the storage types of a weight matrix W [N rows = out features, K = in
 * features] and their layout in 32-bit words, plus the host-side packer (the quantizer `convert`
 * uses) and unpacker (what the kernels must reproduce). No Vulkan here: io writes these words to
 * files, ops hands them to the dequantizing kernels (ops/wlinear.h), ref checks them.
 *
 * Layout (every row starts on a 32-bit word, so kernels on devices without 8- or 16-bit storage
 * read whole words and unpack them in registers):
 *   f32   K floats per row, packed (the layout every fp32 weight already has).
 *   f16   IEEE binary16, two per word, element k in the low half when k is even; a row holds
 *         2 * ceil(K / 4) words (padded with zeros to a whole number of 4-weight units).
 *   bf16  the same with bfloat16 (the high 16 bits of a float32).
 *   q8    int8 q, four per word, element k in byte k % 4 (little-endian: word = the I8 bytes as a
 *         file stores them); a row holds 8 * ceil(K / 32) words: blocks of 32 weights along K, the
 *         last one padded with q = 0. Scales in a separate array: one fp16 per (row, block),
 *         index n * ceil(K / 32) + b, two per word like f16, the array padded to a whole word.
 *         w = scale * q exactly in fp32 (q in [-127, 127]; q = -128 is never produced).
 * For K a multiple of 32 (every T5 width) no row is padded and the words are byte for byte the
 * plain row-major tensors: F16/BF16 [N, K], and I8 [N, K] with F16 scales [N, K / 32].
 *
 * Why separate scales rather than ggml's interleaved 34-byte blocks: a 34-byte block leaves the
 * int8 data 2-byte aligned, so a 32-bit-word reader would need two loads and a shift per word;
 * with the scales apart each block is 8 aligned words (two 16-byte vectors) and the scale array
 * (1/16 of the data) stays in cache. Bytes per weight: 1.0625 (0.266 x f32).
 *
 * Quantizer (deterministic on every platform): per block, amax = max |w|; the scale is the
 * smallest fp16 value >= amax / 127 (rounded up, not to nearest, so that |w| / scale <= 127 and
 * no q needs clamping); q = round(w / scale) with halves away from zero, computed in double.
 * Hence |w - scale * q| <= scale / 2 for every weight, against the scale the kernels use. An
 * all-zero block has scale 0 and q = 0. ggml's Q8_0 rounds the scale to nearest instead, which
 * can make |q| reach 127.06 -> clamped; the difference is at most 1 fp16 ulp of the scale. */
#ifndef FV_IO_WPACK_H
#define FV_IO_WPACK_H

#include <stddef.h>
#include <stdint.h>

enum fv_wtype { FV_WT_F32 = 0, FV_WT_F16 = 1, FV_WT_BF16 = 2, FV_WT_Q8 = 3 };

#define FV_Q8_BLOCK 32u

/* "f32", "f16", "bf16", "q8"; parse returns nonzero with a message for anything else. */
const char *fv_wtype_name(enum fv_wtype t);
int fv_wtype_parse(const char *s, enum fv_wtype *out);

/* q8 blocks per row: ceil(K / 32). */
static inline uint32_t fv_q8_blocks(uint32_t K) { return (K + FV_Q8_BLOCK - 1) / FV_Q8_BLOCK; }

/* 32-bit words of one row of data, of all N rows, and of the q8 scale array (0 for other types). */
uint32_t fv_wpack_row_words(enum fv_wtype t, uint32_t K);
uint64_t fv_wpack_data_words(enum fv_wtype t, uint32_t N, uint32_t K);
uint64_t fv_wpack_scale_words(enum fv_wtype t, uint32_t N, uint32_t K);

/* Pack w [N, K] (row-major floats) into `data` (fv_wpack_data_words words) and, for q8, `scales`
 * (fv_wpack_scale_words words; NULL otherwise). `what` names the tensor in errors. Rejects a
 * non-finite weight and, for f16 and q8, one beyond the type's range (|w| > 65504, or a q8 block
 * scale above it), naming the tensor, row and column: a weight that would become infinite is an
 * error, not a silent inf. f16/bf16 round to nearest, ties to even (torch's .half()/.bfloat16());
 * bf16 subnormals (|w| < 2^-126) are stored as zero, what a device flushing fp32 denormals reads. */
int fv_wpack(enum fv_wtype t, const float *w, uint32_t N, uint32_t K, uint32_t *data, uint32_t *scales,
             const char *what);

/* Dequantize rows [0, N) back to floats out [N, K]: exactly the values the kernels use
 * (f16/bf16 widened, q8 as the fp32 product float(q) * float(scale)). */
void fv_wunpack(enum fv_wtype t, const uint32_t *data, const uint32_t *scales, uint32_t N, uint32_t K, float *out);

/* The q8 scale of row n, block b, as a float (for error bounds in checks). */
float fv_q8_scale(const uint32_t *scales, uint32_t K, uint32_t n, uint32_t b);

#endif
