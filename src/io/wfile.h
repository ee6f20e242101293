/* Low-bit weights on disk: which storage type each T5 tensor gets, the q8 file format, and a reader
 * that turns whatever a checkpoint holds into the packed words of io/wpack.h. The model loader asks
 * for "tensor X as type T" and never looks at the file's dtype; `convert` writes files with the
 * same reader, so a converted file and a converted-on-load model hold the same words.
 *
 * The q8 file format (safetensors; every other tensor is an ordinary F32/F16/BF16 tensor):
 *   - a q8 matrix W [N, K] is the tensor NAME, dtype I8, shape [N, K], row-major, NOT padded
 *     (q of row n, column k at byte n * K + k), plus the companion tensor NAME + ".scales"
 *     (FV_WFILE_SCALES_SUFFIX), dtype F16, shape [N, ceil(K / 32)]: the scale of row n, block b
 *     (columns 32b .. 32b + 31) at [n, b]. w[n, k] = float(scale[n, k / 32]) * q[n, k], one fp32
 *     product. Only 2-D tensors may be I8.
 *   - "__metadata__" holds "format": "pt" (tooling expects it), "flanvk_weights": "q8" and
 *     "flanvk_q8": "int8-block32-f16-scales" (FV_WFILE_Q8_LAYOUT). A file with an I8 tensor and
 *     without these two values is refused, as is a file naming another flanvk_weights or
 *     flanvk_q8 value (a later layout must not be read as this one).
 *   - q = -128 is accepted and read as -128 * scale (the kernels compute it like any other q);
 *     flanvk's quantizer never writes it (q in [-127, 127], io/wpack.h).
 * `convert` also writes "flanvk_weights": "f16" / "bf16" / "f32" into its other outputs; those
 * files are ordinary Hugging Face checkpoints and the key is only informative (the default type).
 * For K a multiple of 32 (every T5 width) the file bytes are exactly the packed words. */
#ifndef FV_IO_WFILE_H
#define FV_IO_WFILE_H

#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "io/wpack.h"

#define FV_WFILE_SCALES_SUFFIX ".scales"
#define FV_WFILE_META_WEIGHTS "flanvk_weights"
#define FV_WFILE_META_Q8 "flanvk_q8"
#define FV_WFILE_Q8_LAYOUT "int8-block32-f16-scales"

/* The storage type HF tensor hf_name (ndim dimensions) gets when the model is asked for
 * `requested`: the 2-D linear weights of the blocks (q, k, v, o of SelfAttention and
 * EncDecAttention; wi, wi_0, wi_1, wo) take `requested`; the token embedding (shared,
 * encoder/decoder.embed_tokens) and lm_head take it too except that q8 gives f16 for them; layer
 * norms (1-D), relative_attention_bias and anything else stay f32. The one place that decides. */
enum fv_wtype fv_wfile_tensor_type(const char *hf_name, int ndim, enum fv_wtype requested);

/* The companion scale tensor's name of a q8 tensor: name + ".scales" into out (n bytes). */
int fv_wfile_scales_name(char *out, size_t n, const char *name);

/* Validate the file's flanvk metadata: an unknown flanvk_weights or flanvk_q8 value is an error
 * naming the file and the key. */
int fv_wfile_check_meta(const fv_safetensors *st);

/* Check one stored tensor can be read as weights: F32, F16 or BF16, or (2-D only) I8 with q8
 * metadata and a F16 [N, ceil(K / 32)] scale companion. One line naming the file, the tensor and
 * the problem otherwise. */
int fv_wfile_check_tensor(const fv_safetensors *st, const fv_st_tensor *t);

/* The tensor's storage type as stored: F32 -> f32, F16 -> f16, BF16 -> bf16, I8 (+ scales) -> q8. */
int fv_wfile_stored_type(const fv_safetensors *st, const fv_st_tensor *t, enum fv_wtype *out);

/* The checkpoint's own storage type (the default of --weights): "q8" when the metadata says so,
 * else the stored type of the first linear weight (encoder.block.0.layer.0.SelfAttention.q.weight,
 * or the first 2-D tensor of the file when that is absent). */
int fv_wfile_default_type(const fv_safetensors *st, enum fv_wtype *out);

/* Fill the packed words (fv_wpack_data_words(type, N, K) words in data; for q8 also
 * fv_wpack_scale_words words in scales, else scales may be NULL) of the 2-D tensor `name`, which
 * must have shape [N, K], in storage type `type`, whatever the file holds:
 *   F32 -> f32, F16 -> f16, BF16 -> bf16 and I8 -> q8 are raw copies (bit-exact; q8 rows repadded
 *   to whole blocks with q = 0 when K % 32 != 0, the scale array copied as it is);
 *   every other pair goes through fp32 (I8 dequantized as float(scale) * q) and fv_wpack (round
 *   to nearest even for f16/bf16, the q8 quantizer; a value beyond the type's range is an error). */
int fv_wfile_read(const fv_safetensors *st, const char *name, enum fv_wtype type, uint32_t N, uint32_t K, uint32_t *data,
                  uint32_t *scales);

/* Tensor `name` as float32 into dst (numel floats): F32/F16/BF16 converted, I8 + scales
 * dequantized. If ndim >= 0 the shape must equal shape[0..ndim). */
int fv_wfile_read_f32(const fv_safetensors *st, const char *name, float *dst, int ndim, const int64_t *shape);

#endif
