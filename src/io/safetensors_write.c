/* safetensors writer (see safetensors.h). The header is built in memory first (offsets are known
 * from the shapes and dtypes), then each tensor's bytes are streamed from a producer, so writing a
 * model never needs a second full copy of it: fv_st_write's producer converts an in-memory tensor
 * in blocks, `convert`'s produces one tensor at a time from another file. */
#define _POSIX_C_SOURCE 200809L
#include "base/error.h"
#include "base/file.h"
#include "io/half.h"
#include "io/json_util.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

struct fv_st_sink {
    fv_awrite *w;
    uint64_t left; /* bytes the current tensor still owes */
    const char *path, *name;
};

int fv_st_sink_write(fv_st_sink *s, const void *p, size_t n) {
    if (n > s->left)
        return fv_err("%s: tensor '%s': %zu bytes more than its shape and dtype hold", s->path, s->name, n - (size_t)s->left);
    if (fv_awrite_put(s->w, p, n))
        return fv_err("%s: write failed (tensor '%s'): %s", s->path, s->name, strerror(s->w->err));
    s->left -= n;
    return 0;
}

static int check_entry(const char *path, const fv_st_entry *t, uint64_t *numel) {
    if (!t->name || !t->name[0]) return fv_err("%s: tensor with an empty name", path);
    if (strcmp(t->name, "__metadata__") == 0) return fv_err("%s: '__metadata__' is not a valid tensor name", path);
    if (t->ndim < 0 || t->ndim > FV_ST_MAX_DIMS || (t->ndim && !t->shape))
        return fv_err("%s: tensor '%s': bad number of dimensions %d", path, t->name, t->ndim);
    if (fv_dtype_size(t->dtype) == 0) return fv_err("%s: tensor '%s': unknown dtype %d", path, t->name, (int)t->dtype);
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0 || (t->shape[i] && n > (UINT64_MAX >> 4) / (uint64_t)t->shape[i]))
            return fv_err("%s: tensor '%s': bad dimension %lld", path, t->name, (long long)t->shape[i]);
        n *= (uint64_t)t->shape[i];
    }
    *numel = n;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The JSON header, padded with spaces to a multiple of 8, into a malloc'd *hdr. */
static int build_header(const char *path, const fv_st_entry *t, size_t n, const uint64_t *numel, const uint64_t *begin,
                        const char *const *meta_kv, char **hdr, size_t *hlen) {
    FILE *h = open_memstream(hdr, hlen);
    if (!h) return fv_err("%s: out of memory", path);
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
    if (fclose(h) != 0) {
        free(*hdr);
        *hdr = NULL;
        return fv_err("%s: out of memory building the header", path);
    }
    return 0;
}

int fv_st_write_stream(const char *path, const fv_st_entry *t, size_t n, const char *const *meta_kv,
                       fv_st_produce_fn produce, void *user) {
    uint64_t *numel = calloc(n + 1, sizeof *numel);
    uint64_t *begin = calloc(n + 1, sizeof *begin);
    size_t *order = calloc(n + 1, sizeof *order);
    const char **names = calloc(n + 1, sizeof *names);
    char *hdr = NULL;
    size_t hlen = 0;
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
        for (size_t sz = 8; sz >= 1; sz /= 2)
            for (size_t i = 0; i < n; i++)
                if (fv_dtype_size(t[i].dtype) == sz) order[k++] = i;
        uint64_t off = 0;
        for (size_t j = 0; j < n; j++) {
            begin[order[j]] = off;
            off += numel[order[j]] * fv_dtype_size(t[order[j]].dtype);
        }
        rc = build_header(path, t, n, numel, begin, meta_kv, &hdr, &hlen);
    }
    if (!rc) rc = fv_awrite_open(&w, path);
    if (!rc) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
        rc = fv_awrite_put(&w, len8, 8);
        if (!rc) rc = fv_awrite_put(&w, hdr, hlen);
        for (size_t j = 0; j < n && !rc; j++) {
            size_t i = order[j];
            fv_st_sink sink = {&w, numel[i] * fv_dtype_size(t[i].dtype), path, t[i].name};
            rc = produce(user, i, &sink);
            if (!rc && sink.left)
                rc = fv_err("%s: tensor '%s': %llu bytes fewer than its shape and dtype hold", path, t[i].name,
                            (unsigned long long)sink.left);
        }
        if (rc) fv_awrite_abort(&w);
        else rc = fv_awrite_commit(&w);
    }
    free(hdr);
    free(numel);
    free(begin);
    free(order);
    free(names);
    return rc;
}

/* ---- fv_st_write: in-memory tensors through the streaming writer ---- */

static int convertible(fv_dtype d) { return d == FV_DT_F32 || d == FV_DT_F16 || d == FV_DT_BF16; }

static float load_f32(const void *p, fv_dtype src, uint64_t i) {
    if (src == FV_DT_F32) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    return src == FV_DT_F16 ? fv_f16_to_f32(h) : fv_bf16_to_f32(h);
}

static int produce_out(void *user, size_t i, fv_st_sink *sink) {
    const fv_st_out *t = (const fv_st_out *)user + i;
    uint64_t numel = sink->left / fv_dtype_size(t->dtype);
    if (numel == 0) return 0;
    if (t->src_dtype == t->dtype) return fv_st_sink_write(sink, t->data, (size_t)sink->left);
    enum { BLOCK = 4096 };
    union {
        float f[BLOCK];
        uint16_t h[BLOCK];
    } buf;
    for (uint64_t i0 = 0; i0 < numel; i0 += BLOCK) {
        size_t k = numel - i0 < BLOCK ? (size_t)(numel - i0) : BLOCK;
        for (size_t j = 0; j < k; j++) {
            float v = load_f32(t->data, t->src_dtype, i0 + j);
            if (t->dtype == FV_DT_F32) buf.f[j] = v;
            else buf.h[j] = t->dtype == FV_DT_F16 ? fv_f32_to_f16(v) : fv_f32_to_bf16(v);
        }
        FV_TRY(fv_st_sink_write(sink, &buf, k * fv_dtype_size(t->dtype)));
    }
    return 0;
}

int fv_st_write(const char *path, const fv_st_out *t, size_t n, const char *const *meta_kv) {
    fv_st_entry *e = calloc(n + 1, sizeof *e);
    if (!e) return fv_err("%s: out of memory", path);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        e[i] = (fv_st_entry){t[i].name, t[i].ndim, t[i].shape, t[i].dtype};
        const char *nm = t[i].name ? t[i].name : "";
        if (t[i].src_dtype != t[i].dtype && !(convertible(t[i].src_dtype) && convertible(t[i].dtype)))
            rc = fv_err("%s: tensor '%s': unsupported dtype conversion %s -> %s (F32, F16 and BF16 convert; other "
                        "dtypes are written as they are)", path, nm, fv_dtype_name(t[i].src_dtype), fv_dtype_name(t[i].dtype));
        uint64_t numel = 1;
        for (int d = 0; t[i].ndim <= FV_ST_MAX_DIMS && d < t[i].ndim && t[i].shape; d++) numel *= (uint64_t)(t[i].shape[d] > 0 ? t[i].shape[d] : 0);
        if (!rc && numel && !t[i].data) rc = fv_err("%s: tensor '%s': no data", path, nm);
    }
    if (!rc) rc = fv_st_write_stream(path, e, n, meta_kv, produce_out, (void *)t);
    free(e);
    return rc;
}
