/* Weight storage types of T5 tensors, the q8 file format's checks, and the reader from any stored
 * dtype to packed words (see wfile.h). */
#include "io/wfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/half.h"

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int is_linear(const char *name) {
    static const char *attn[] = {".q.weight", ".k.weight", ".v.weight", ".o.weight"};
    static const char *ffn[] = {".wi.weight", ".wi_0.weight", ".wi_1.weight", ".wo.weight"};
    if (strstr(name, ".SelfAttention.") || strstr(name, ".EncDecAttention."))
        for (int i = 0; i < 4; i++)
            if (ends_with(name, attn[i])) return 1;
    if (strstr(name, ".DenseReluDense."))
        for (int i = 0; i < 4; i++)
            if (ends_with(name, ffn[i])) return 1;
    return 0;
}

static int is_vocab_table(const char *name) {
    return !strcmp(name, "shared.weight") || !strcmp(name, "encoder.embed_tokens.weight") ||
           !strcmp(name, "decoder.embed_tokens.weight") || !strcmp(name, "lm_head.weight");
}

enum fv_wtype fv_wfile_tensor_type(const char *hf_name, int ndim, enum fv_wtype requested) {
    if (ndim != 2 || !hf_name) return FV_WT_F32;
    if (is_linear(hf_name)) return requested;
    /* The embedding and the LM head stay 16-bit under q8 (issue #12 allows it): the embedding is
     * read a row at a time, so its bytes barely matter for speed, and the LM head's error goes
     * straight into every logit. Change here, and only here, if measurement says otherwise. */
    if (is_vocab_table(hf_name)) return requested == FV_WT_Q8 ? FV_WT_F16 : requested;
    return FV_WT_F32;
}

int fv_wfile_scales_name(char *out, size_t n, const char *name) {
    if ((size_t)snprintf(out, n, "%s%s", name, FV_WFILE_SCALES_SUFFIX) >= n)
        return fv_err("tensor name '%s' is too long", name);
    return 0;
}

/* The metadata check, naming the tensor being read when there is one. */
static int check_meta(const fv_safetensors *st, const char *tensor) {
    char who[400] = "";
    if (tensor) snprintf(who, sizeof who, " tensor '%s':", tensor);
    const char *w = fv_st_meta(st, FV_WFILE_META_WEIGHTS);
    enum fv_wtype t;
    if (w && fv_wtype_parse(w, &t))
        return fv_err("%s:%s __metadata__ \"%s\" is \"%s\": unknown weight format (f32, f16, bf16 or q8 expected)",
                      fv_st_path(st), who, FV_WFILE_META_WEIGHTS, w);
    const char *q = fv_st_meta(st, FV_WFILE_META_Q8);
    if (q && strcmp(q, FV_WFILE_Q8_LAYOUT))
        return fv_err("%s:%s __metadata__ \"%s\" is \"%s\": unknown q8 layout (this flanvk reads \"%s\")", fv_st_path(st),
                      who, FV_WFILE_META_Q8, q, FV_WFILE_Q8_LAYOUT);
    return 0;
}

int fv_wfile_check_meta(const fv_safetensors *st) { return check_meta(st, NULL); }

/* The scale companion of I8 tensor t, checked (metadata, dtype, shape); NULL after an error. */
static const fv_st_tensor *q8_scales(const fv_safetensors *st, const fv_st_tensor *t) {
    const char *file = fv_st_file(st, t);
    if (check_meta(st, t->name)) return NULL;
    const char *w = fv_st_meta(st, FV_WFILE_META_WEIGHTS), *q = fv_st_meta(st, FV_WFILE_META_Q8);
    if (!w || strcmp(w, "q8") || !q) {
        fv_err("%s: tensor '%s' is I8 but __metadata__ lacks \"%s\": \"q8\" and \"%s\": \"%s\" (not a flanvk q8 file)",
               file, t->name, FV_WFILE_META_WEIGHTS, FV_WFILE_META_Q8, FV_WFILE_Q8_LAYOUT);
        return NULL;
    }
    if (t->ndim != 2) {
        fv_err("%s: tensor '%s' is I8 with %d dimensions: only 2-D weights may be q8", file, t->name, t->ndim);
        return NULL;
    }
    char sname[300];
    if (fv_wfile_scales_name(sname, sizeof sname, t->name)) return NULL;
    const fv_st_tensor *s = fv_st_find(st, sname);
    if (!s) {
        fv_err("%s: tensor '%s' is q8 (I8) but its scales '%s' are missing", file, t->name, sname);
        return NULL;
    }
    if (s->dtype != FV_DT_F16) {
        fv_err("%s: tensor '%s': scales '%s' have dtype %s, expected F16", fv_st_file(st, s), t->name, sname,
               fv_dtype_name(s->dtype));
        return NULL;
    }
    int64_t want[2] = {t->shape[0], (int64_t)fv_q8_blocks((uint32_t)t->shape[1])};
    if (s->ndim != 2 || s->shape[0] != want[0] || s->shape[1] != want[1]) {
        char a[64], b[64];
        fv_err("%s: tensor '%s': scales '%s' have shape %s, expected %s (one per row and block of 32)",
               fv_st_file(st, s), t->name, sname, fv_st_shape_str(a, sizeof a, s->ndim, s->shape),
               fv_st_shape_str(b, sizeof b, 2, want));
        return NULL;
    }
    return s;
}

int fv_wfile_check_tensor(const fv_safetensors *st, const fv_st_tensor *t) {
    if (fv_dtype_convertible(t->dtype)) return 0;
    if (t->dtype == FV_DT_I8) {
        if (t->ndim == 2 && (t->shape[1] > UINT32_MAX || t->shape[0] > UINT32_MAX))
            return fv_err("%s: tensor '%s' is too large", fv_st_file(st, t), t->name);
        return q8_scales(st, t) ? 0 : -1;
    }
    return fv_err("%s: tensor '%s': unsupported dtype %s (F32, F16, BF16, or I8 with q8 scales expected)",
                  fv_st_file(st, t), t->name, fv_dtype_name(t->dtype));
}

int fv_wfile_stored_type(const fv_safetensors *st, const fv_st_tensor *t, enum fv_wtype *out) {
    FV_TRY(fv_wfile_check_tensor(st, t));
    *out = t->dtype == FV_DT_F32 ? FV_WT_F32 : t->dtype == FV_DT_F16 ? FV_WT_F16 : t->dtype == FV_DT_BF16 ? FV_WT_BF16 : FV_WT_Q8;
    return 0;
}

int fv_wfile_default_type(const fv_safetensors *st, enum fv_wtype *out) {
    FV_TRY(fv_wfile_check_meta(st));
    const char *w = fv_st_meta(st, FV_WFILE_META_WEIGHTS);
    if (w && !strcmp(w, "q8")) {
        *out = FV_WT_Q8;
        return 0;
    }
    const fv_st_tensor *t = fv_st_find(st, "encoder.block.0.layer.0.SelfAttention.q.weight");
    for (size_t i = 0; !t && i < fv_st_count(st); i++)
        if (fv_st_at(st, i)->ndim == 2) t = fv_st_at(st, i);
    if (!t) return fv_err("%s: no 2-D weight to take the storage type from", fv_st_path(st));
    return fv_wfile_stored_type(st, t, out);
}

/* fp16 element i of unaligned little-endian data. */
static uint16_t half_at(const unsigned char *p, uint64_t i) { return (uint16_t)(p[2 * i] | p[2 * i + 1] << 8); }

static void dequant(const fv_st_tensor *t, const fv_st_tensor *s, float *dst) {
    uint32_t N = (uint32_t)t->shape[0], K = (uint32_t)t->shape[1], nb = fv_q8_blocks(K);
    for (uint32_t n = 0; n < N; n++) {
        const int8_t *q = (const int8_t *)t->data + (uint64_t)n * K;
        float *d = dst + (uint64_t)n * K;
        for (uint32_t b = 0; b < nb; b++) {
            float sc = fv_f16_to_f32(half_at(s->data, (uint64_t)n * nb + b));
            uint32_t k1 = (b + 1) * FV_Q8_BLOCK < K ? (b + 1) * FV_Q8_BLOCK : K;
            for (uint32_t k = b * FV_Q8_BLOCK; k < k1; k++) d[k] = (float)q[k] * sc; /* the kernels' one fp32 product */
        }
    }
}

static const fv_st_tensor *find_shaped(const fv_safetensors *st, const char *name, int ndim, const int64_t *shape) {
    const fv_st_tensor *t = fv_st_find(st, name);
    if (!t) {
        fv_err("%s: tensor '%s' not found", fv_st_path(st), name);
        return NULL;
    }
    if (ndim >= 0 && fv_st_check_shape(st, t, ndim, shape)) return NULL;
    return t;
}

int fv_wfile_read_f32(const fv_safetensors *st, const char *name, float *dst, int ndim, const int64_t *shape) {
    const fv_st_tensor *t = find_shaped(st, name, ndim, shape);
    if (!t) return -1;
    if (t->dtype != FV_DT_I8) return fv_st_tensor_f32(st, t, dst);
    const fv_st_tensor *s = q8_scales(st, t);
    if (!s) return -1;
    dequant(t, s, dst);
    return 0;
}

/* Rows of `bytes` bytes each from src into rows of `row_words` words, zero-padded. */
static void copy_rows(uint32_t *data, const unsigned char *src, uint32_t N, size_t bytes, uint32_t row_words) {
    for (uint32_t n = 0; n < N; n++) {
        unsigned char *row = (unsigned char *)(data + (uint64_t)n * row_words);
        memcpy(row, src + (uint64_t)n * bytes, bytes);
        memset(row + bytes, 0, (size_t)row_words * 4 - bytes);
    }
}

int fv_wfile_read(const fv_safetensors *st, const char *name, enum fv_wtype type, uint32_t N, uint32_t K, uint32_t *data,
                  uint32_t *scales) {
    if ((unsigned)type > FV_WT_Q8) return fv_err("%s: tensor '%s': unknown weight type %d", fv_st_path(st), name, (int)type);
    int64_t shape[2] = {N, K};
    const fv_st_tensor *t = find_shaped(st, name, 2, shape);
    if (!t) return -1;
    FV_TRY(fv_wfile_check_tensor(st, t));
    if (N == 0 || K == 0) return fv_err("%s: tensor '%s' is empty", fv_st_file(st, t), name);
    uint32_t rw = fv_wpack_row_words(type, K);
    int raw = (type == FV_WT_F32 && t->dtype == FV_DT_F32) || (type == FV_WT_F16 && t->dtype == FV_DT_F16) ||
              (type == FV_WT_BF16 && t->dtype == FV_DT_BF16) || (type == FV_WT_Q8 && t->dtype == FV_DT_I8);
    if (raw) {
        copy_rows(data, t->data, N, (size_t)K * fv_dtype_size(t->dtype), rw);
        if (type == FV_WT_Q8) {
            const fv_st_tensor *s = q8_scales(st, t);
            if (!s) return -1;
            uint64_t words = fv_wpack_scale_words(type, N, K);
            scales[words - 1] = 0; /* the half-word padding of an odd count */
            memcpy(scales, s->data, s->nbytes);
        }
        return 0;
    }
    float *tmp = malloc((size_t)N * K * sizeof *tmp);
    if (!tmp) return fv_err("%s: tensor '%s': out of memory (%u x %u floats)", fv_st_file(st, t), name, N, K);
    int rc = fv_wfile_read_f32(st, name, tmp, -1, NULL);
    if (!rc) {
        char what[400];
        snprintf(what, sizeof what, "%s: tensor '%s' as %s", fv_st_file(st, t), name, fv_wtype_name(type));
        rc = fv_wpack(type, tmp, N, K, data, scales, what);
    }
    free(tmp);
    return rc;
}
