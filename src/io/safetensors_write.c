/* safetensors writer (see safetensors.h). The header is built in memory first (offsets are known
 * from the shapes), then the tensors are converted and streamed in blocks, so writing a model
 * never needs a second full copy of it. */
#define _POSIX_C_SOURCE 200809L
#include "base/error.h"
#include "base/file.h"
#include "io/half.h"
#include "io/json_util.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

static int storable(fv_dtype d) { return d == FV_DT_F32 || d == FV_DT_F16 || d == FV_DT_BF16; }

static int check_entry(const char *path, const fv_st_out *t, uint64_t *numel) {
    if (!t->name || !t->name[0]) return fv_err("%s: tensor with an empty name", path);
    if (strcmp(t->name, "__metadata__") == 0) return fv_err("%s: '__metadata__' is not a valid tensor name", path);
    if (t->ndim < 0 || t->ndim > FV_ST_MAX_DIMS || (t->ndim && !t->shape))
        return fv_err("%s: tensor '%s': bad number of dimensions %d", path, t->name, t->ndim);
    if (!storable(t->dtype) || !storable(t->src_dtype))
        return fv_err("%s: tensor '%s': unsupported dtype (F32, F16 or BF16 only)", path, t->name);
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0 || (t->shape[i] && n > (UINT64_MAX >> 4) / (uint64_t)t->shape[i]))
            return fv_err("%s: tensor '%s': bad dimension %lld", path, t->name, (long long)t->shape[i]);
        n *= (uint64_t)t->shape[i];
    }
    if (n && !t->data) return fv_err("%s: tensor '%s': no data", path, t->name);
    *numel = n;
    return 0;
}

static float load_f32(const void *p, fv_dtype src, uint64_t i) {
    if (src == FV_DT_F32) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    return src == FV_DT_F16 ? fv_f16_to_f32(h) : fv_bf16_to_f32(h);
}

static int write_data(FILE *f, const fv_st_out *t, uint64_t numel) {
    if (numel == 0) return 0;
    if (t->src_dtype == t->dtype)
        return fwrite(t->data, fv_dtype_size(t->dtype), (size_t)numel, f) == numel ? 0 : -1;
    enum { BLOCK = 4096 };
    union {
        float f[BLOCK];
        uint16_t h[BLOCK];
    } buf;
    for (uint64_t i = 0; i < numel; i += BLOCK) {
        size_t k = numel - i < BLOCK ? (size_t)(numel - i) : BLOCK;
        for (size_t j = 0; j < k; j++) {
            float v = load_f32(t->data, t->src_dtype, i + j);
            if (t->dtype == FV_DT_F32) buf.f[j] = v;
            else buf.h[j] = t->dtype == FV_DT_F16 ? fv_f32_to_f16(v) : fv_f32_to_bf16(v);
        }
        if (fwrite(&buf, fv_dtype_size(t->dtype), k, f) != k) return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int fv_st_write(const char *path, const fv_st_out *t, size_t n, const char *const *meta_kv) {
    uint64_t *numel = calloc(n + 1, sizeof *numel);
    uint64_t *begin = calloc(n + 1, sizeof *begin);
    size_t *order = calloc(n + 1, sizeof *order);
    const char **names = calloc(n + 1, sizeof *names);
    char *hdr = NULL;
    size_t hlen = 0;
    FILE *h = NULL;
    fv_awrite w = {0};
    int rc = (!numel || !begin || !order || !names) ? fv_err("%s: out of memory", path) : 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = check_entry(path, &t[i], &numel[i]);
        names[i] = t[i].name;
    }
    if (!rc && n > 1) {
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 1; i < n && !rc; i++)
            if (strcmp(names[i - 1], names[i]) == 0) rc = fv_err("%s: duplicate tensor '%s'", path, names[i]);
    }
    /* Data order: element size descending (stable), so each tensor is aligned to its element size
     * given the 8-aligned data start. */
    if (!rc) {
        size_t k = 0;
        for (size_t sz = 4; sz >= 2; sz /= 2)
            for (size_t i = 0; i < n; i++)
                if (fv_dtype_size(t[i].dtype) == sz) order[k++] = i;
        uint64_t off = 0;
        for (size_t j = 0; j < n; j++) {
            begin[order[j]] = off;
            off += numel[order[j]] * fv_dtype_size(t[order[j]].dtype);
        }
    }
    if (!rc && !(h = open_memstream(&hdr, &hlen))) rc = fv_err("%s: out of memory", path);
    if (!rc) {
        fputs("{\"__metadata__\":{\"format\":\"pt\"", h);
        for (const char *const *kv = meta_kv; kv && kv[0] && kv[1]; kv += 2) {
            if (strcmp(kv[0], "format") == 0) continue;
            fputc(',', h);
            fv_json_put_string(h, kv[0]);
            fputc(':', h);
            fv_json_put_string(h, kv[1]);
        }
        fputc('}', h);
        for (size_t i = 0; i < n; i++) {
            fputc(',', h);
            fv_json_put_string(h, t[i].name);
            fprintf(h, ":{\"dtype\":\"%s\",\"shape\":[", fv_dtype_name(t[i].dtype));
            for (int d = 0; d < t[i].ndim; d++) fprintf(h, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
            uint64_t nb = numel[i] * fv_dtype_size(t[i].dtype);
            fprintf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)begin[i], (unsigned long long)(begin[i] + nb));
        }
        fputc('}', h);
        while (ftell(h) % 8) fputc(' ', h);
        if (fclose(h) != 0) rc = fv_err("%s: out of memory building the header", path);
        h = NULL;
    }
    if (!rc) rc = fv_awrite_open(&w, path);
    if (!rc) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
        int bad = fwrite(len8, 1, 8, w.f) != 8 || fwrite(hdr, 1, hlen, w.f) != hlen;
        for (size_t j = 0; j < n && !bad; j++) bad = write_data(w.f, &t[order[j]], numel[order[j]]) != 0;
        if (bad) {
            fv_awrite_abort(&w);
            rc = fv_err("%s: write failed", path);
        } else {
            rc = fv_awrite_commit(&w);
        }
    }
    if (h) fclose(h);
    free(hdr);
    free(numel);
    free(begin);
    free(order);
    free(names);
    return rc;
}
