/* Deterministic T5 test weights; see det_weights.h and tests/fixtures/reference/README.md. */
#include "det_weights.h"

#include <math.h>
#include <string.h>

#include "base/error.h"

#define FV_DET_GOLDEN 0x9E3779B97F4A7C15ull

uint64_t fv_det_fnv1a64(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001B3ull;
    }
    return h;
}

uint64_t fv_det_splitmix64(uint64_t x)
{
    uint64_t z = x + FV_DET_GOLDEN;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float fv_det_u(uint64_t name_hash, uint64_t i)
{
    uint64_t z = fv_det_splitmix64(name_hash ^ (i * FV_DET_GOLDEN));
    return (float)(uint32_t)(z >> 40) * 0x1p-23f - 1.0f;
}

void fv_det_weights(const char *name, float *out, size_t n, float scale)
{
    uint64_t h = fv_det_fnv1a64(name);
    for (size_t i = 0; i < n; i++) out[i] = scale * fv_det_u(h, (uint64_t)i);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* Std as HF's T5 init, except lm_head (d_model^-0.5: O(1) untied logits) and relative_attention_bias (1:
 * a wrong bucket must show); layer norms are 1 + U(-0.25, 0.25). Uniform scale = sqrt(3) * std. */
int fv_det_scale(const char *name, const fv_det_cfg *cfg, float *scale, float *offset)
{
    double d = cfg->d_model, x;
    *offset = 0.0f;
    if (ends_with(name, "layer_norm.weight")) {
        *scale = 0.25f;
        *offset = 1.0f;
        return 0;
    }
    if (strcmp(name, "shared.weight") == 0 || ends_with(name, "relative_attention_bias.weight")) x = 1.0;
    else if (strcmp(name, "lm_head.weight") == 0) x = d;
    else if (ends_with(name, ".q.weight")) x = d * cfg->d_kv;
    else if (ends_with(name, ".k.weight") || ends_with(name, ".v.weight")) x = d;
    else if (ends_with(name, ".o.weight")) x = (double)cfg->num_heads * cfg->d_kv;
    else if (ends_with(name, ".wi.weight") || ends_with(name, ".wi_0.weight") || ends_with(name, ".wi_1.weight"))
        x = d;
    else if (ends_with(name, ".wo.weight")) x = cfg->d_ff;
    else return fv_err("det_weights: %s is not a T5 parameter name", name);
    *scale = (float)(sqrt(3.0) * (1.0 / sqrt(x)));
    return 0;
}

int fv_det_tensor(const char *name, const fv_det_cfg *cfg, float *out, size_t n)
{
    float scale, offset;
    FV_TRY(fv_det_scale(name, cfg, &scale, &offset));
    fv_det_weights(name, out, n, scale);
    if (offset != 0.0f)
        for (size_t i = 0; i < n; i++) out[i] += offset;
    return 0;
}
