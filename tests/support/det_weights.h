/* Deterministic T5 weights shared bit-for-bit with tools/t5_reference.py (det_uniform, det_scale_offset).
 * The C tests cannot run PyTorch and a real checkpoint is too big to commit, so both sides generate the
 * same weights from a tensor's name: value[i] = offset + scale * u_i with
 *   h   = FNV-1a 64 of the name's bytes,
 *   z   = splitmix64(h ^ (i * 0x9E3779B97F4A7C15)),
 *   u_i = (float)(z >> 40) * 2^-23 - 1   (exact in float32, in [-1, 1)).
 * Arithmetic is float32 (scale * u, then + offset), so results are identical on any IEEE machine. */
#ifndef FV_TESTS_DET_WEIGHTS_H
#define FV_TESTS_DET_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

/* Only the sizes the scales depend on (HF config.json names). */
typedef struct fv_det_cfg {
    int d_model, d_kv, num_heads, d_ff;
} fv_det_cfg;

uint64_t fv_det_fnv1a64(const char *s);
uint64_t fv_det_splitmix64(uint64_t x);
/* u in [-1, 1) for flat index i of tensor `name`. */
float fv_det_u(uint64_t name_hash, uint64_t i);

/* out[i] = scale * u_i, i = 0..n-1. */
void fv_det_weights(const char *name, float *out, size_t n, float scale);

/* Scale and offset for a Hugging Face T5 tensor name (e.g. "encoder.block.0.layer.0.SelfAttention.q.weight").
 * Returns 0, or -1 (with fv_err) for a name that is not a T5 parameter. */
int fv_det_scale(const char *name, const fv_det_cfg *cfg, float *scale, float *offset);

/* Fill a whole tensor: out[i] = offset + scale * u_i. Returns 0 or -1 (unknown name). */
int fv_det_tensor(const char *name, const fv_det_cfg *cfg, float *out, size_t n);

#endif
