/* safetensors reader: header validation, shard merging, conversions (see safetensors.h).
 * Assumes a little-endian host (as the format's byte order). */
#define _POSIX_C_SOURCE 200809L
#include "io/safetensors.h"

#include "base/error.h"
#include "base/file.h"
#include "io/half.h"
#include "io/json_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors reader assumes a little-endian host"
#endif

/* The safetensors library refuses headers above 100 MB; so do we. */
#define MAX_HEADER ((uint64_t)100000000)

struct fv_safetensors {
    char path[1024];
    int nshards;
    fv_map *maps;
    cJSON **headers;  /* parsed header per shard; tensor names point into these */
    fv_st_tensor *t;  /* sorted by name */
    size_t n;
    const cJSON *meta; /* __metadata__ of shard 0 */
};

static const char *dt_names[FV_DT_COUNT] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8",
                                            "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2"};
static const unsigned char dt_sizes[FV_DT_COUNT] = {4, 2, 2, 8, 8, 4, 2, 1, 8, 4, 2, 1, 1, 1, 1};

const char *fv_dtype_name(fv_dtype d) { return (unsigned)d < FV_DT_COUNT ? dt_names[d] : "?"; }
size_t fv_dtype_size(fv_dtype d) { return (unsigned)d < FV_DT_COUNT ? dt_sizes[d] : 0; }
int fv_dtype_convertible(fv_dtype d) { return d == FV_DT_F32 || d == FV_DT_F16 || d == FV_DT_BF16; }

int fv_dtype_parse(const char *s, fv_dtype *out) {
    for (int i = 0; i < FV_DT_COUNT; i++)
        if (strcmp(s, dt_names[i]) == 0) {
            *out = (fv_dtype)i;
            return 0;
        }
    return -1;
}

const char *fv_st_shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* ---- one file ---- */

/* A JSON number that is an integer in [0, 2^53] (what a double holds exactly). The range is checked
 * before any conversion: casting an out-of-range double to an integer is undefined behaviour. */
static int json_index(const cJSON *e, uint64_t *out) {
    if (!cJSON_IsNumber(e)) return -1;
    double d = e->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int parse_tensor(fv_st_tensor *t, const cJSON *v, const char *file, uint64_t dsize) {
    const char *nm = t->name;
    if (!cJSON_IsObject(v)) return fv_err("%s: tensor '%s': header entry is not an object", file, nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(v, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(v, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(v, "data_offsets");
    if (!dt) return fv_err("%s: tensor '%s': missing 'dtype'", file, nm);
    if (!sh) return fv_err("%s: tensor '%s': missing 'shape'", file, nm);
    if (!off) return fv_err("%s: tensor '%s': missing 'data_offsets'", file, nm);
    if (!cJSON_IsString(dt)) return fv_err("%s: tensor '%s': 'dtype' is not a string", file, nm);
    if (fv_dtype_parse(dt->valuestring, &t->dtype))
        return fv_err("%s: tensor '%s': unknown dtype '%s'", file, nm, dt->valuestring);
    if (!cJSON_IsArray(sh)) return fv_err("%s: tensor '%s': 'shape' is not an array", file, nm);
    int nd = cJSON_GetArraySize(sh);
    if (nd > FV_ST_MAX_DIMS) return fv_err("%s: tensor '%s': %d dimensions (at most %d supported)", file, nm, nd, FV_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    int i = 0;
    for (const cJSON *e = sh->child; e; e = e->next, i++) {
        uint64_t s;
        if (json_index(e, &s)) return fv_err("%s: tensor '%s': shape entry %d is not a non-negative integer", file, nm, i);
        t->shape[i] = (int64_t)s;
        if (s && numel > UINT64_MAX / 8 / s) return fv_err("%s: tensor '%s': shape is too large", file, nm);
        numel *= s;
    }
    t->numel = numel;
    t->nbytes = numel * fv_dtype_size(t->dtype);
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return fv_err("%s: tensor '%s': 'data_offsets' is not a pair [begin, end]", file, nm);
    uint64_t be[2];
    i = 0;
    for (const cJSON *e = off->child; e; e = e->next, i++) {
        if (json_index(e, &be[i]))
            return fv_err("%s: tensor '%s': data_offsets entry %d is not a non-negative integer", file, nm, i);
    }
    if (be[1] < be[0])
        return fv_err("%s: tensor '%s': data_offsets [%llu, %llu) end before they begin", file, nm,
                      (unsigned long long)be[0], (unsigned long long)be[1]);
    if (be[1] > dsize)
        return fv_err("%s: tensor '%s': data_offsets [%llu, %llu) run past the end of the file (%llu bytes of data)", file,
                      nm, (unsigned long long)be[0], (unsigned long long)be[1], (unsigned long long)dsize);
    if (be[1] - be[0] != t->nbytes) {
        char sb[160];
        return fv_err("%s: tensor '%s': shape %s of %s needs %llu bytes but data_offsets [%llu, %llu) hold %llu", file, nm,
                      fv_st_shape_str(sb, sizeof sb, t->ndim, t->shape), fv_dtype_name(t->dtype),
                      (unsigned long long)t->nbytes, (unsigned long long)be[0], (unsigned long long)be[1],
                      (unsigned long long)(be[1] - be[0]));
    }
    /* begin is stashed in data until the shard's base pointer is known (parse_shard) */
    t->data = (const unsigned char *)(uintptr_t)be[0];
    return 0;
}

static int cmp_begin(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const fv_st_tensor *)a)->data, y = (uintptr_t)((const fv_st_tensor *)b)->data;
    return x < y ? -1 : x > y;
}

/* Parse shard s of st (already mapped); appends its tensors to st->t. */
static int parse_shard(fv_safetensors *st, int s) {
    const fv_map *m = &st->maps[s];
    const char *file = m->path;
    if (m->size < 8) return fv_err("%s: file too short for a safetensors header (%zu bytes)", file, m->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | m->data[i];
    if (hlen > m->size - 8)
        return fv_err("%s: header length %llu runs past the end of the file (%zu bytes)", file, (unsigned long long)hlen, m->size);
    if (hlen > MAX_HEADER) return fv_err("%s: header length %llu exceeds the 100 MB limit", file, (unsigned long long)hlen);
    if (hlen < 2) return fv_err("%s: header length %llu is too small for a JSON header", file, (unsigned long long)hlen);
    cJSON *root;
    FV_TRY(fv_json_parse_object(&root, (const char *)m->data + 8, (size_t)hlen, file));
    st->headers[s] = root;
    const unsigned char *base = m->data + 8 + hlen;
    uint64_t dsize = m->size - 8 - hlen;
    size_t count = 0;
    for (const cJSON *e = root->child; e; e = e->next) count++;
    fv_st_tensor *nt = realloc(st->t, (st->n + count + 1) * sizeof *nt);
    if (!nt) return fv_err("%s: out of memory", file);
    st->t = nt;
    fv_st_tensor *mine = st->t + st->n;
    size_t k = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) return fv_err("%s: '__metadata__' is not an object", file);
            for (const cJSON *kv = e->child; kv; kv = kv->next)
                if (!cJSON_IsString(kv)) return fv_err("%s: __metadata__ key '%s' is not a string", file, kv->string);
            if (s == 0) st->meta = e;
            continue;
        }
        fv_st_tensor *t = &mine[k];
        memset(t, 0, sizeof *t);
        t->name = e->string;
        t->shard = s;
        FV_TRY(parse_tensor(t, e, file, dsize));
        k++;
    }
    /* Overlap check on data ranges sorted by begin; empty tensors occupy nothing. */
    qsort(mine, k, sizeof *mine, cmp_begin);
    uint64_t reach = 0;
    const char *reach_name = NULL;
    for (size_t i = 0; i < k; i++) {
        uint64_t b = (uintptr_t)mine[i].data;
        if (mine[i].nbytes == 0) continue;
        if (reach_name && b < reach)
            return fv_err("%s: tensor '%s': data_offsets [%llu, %llu) overlap tensor '%s' (ends at %llu)", file, mine[i].name,
                          (unsigned long long)b, (unsigned long long)(b + mine[i].nbytes), reach_name,
                          (unsigned long long)reach);
        reach = b + mine[i].nbytes;
        reach_name = mine[i].name;
    }
    for (size_t i = 0; i < k; i++) mine[i].data = base + (uintptr_t)mine[i].data;
    st->n += k;
    return 0;
}

/* ---- model (one or more shards) ---- */

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const fv_st_tensor *)a)->name, ((const fv_st_tensor *)b)->name);
}

/* Sort by name and reject a name that appears twice (in one header or in two shards). */
static int sort_and_check(fv_safetensors *st) {
    qsort(st->t, st->n, sizeof *st->t, cmp_name);
    for (size_t i = 1; i < st->n; i++) {
        if (strcmp(st->t[i - 1].name, st->t[i].name)) continue;
        const fv_st_tensor *a = &st->t[i - 1], *b = &st->t[i];
        if (a->shard == b->shard) return fv_err("%s: duplicate tensor '%s' in the header", st->maps[a->shard].path, a->name);
        return fv_err("%s: tensor '%s' appears in two shards: %s and %s", st->path, a->name, st->maps[a->shard].path,
                      st->maps[b->shard].path);
    }
    return 0;
}

static int add_shards(fv_safetensors *st, int n) {
    fv_map *m = realloc(st->maps, (size_t)(st->nshards + n) * sizeof *m);
    if (m) st->maps = m;
    cJSON **h = realloc(st->headers, (size_t)(st->nshards + n) * sizeof *h);
    if (h) st->headers = h;
    if (!m || !h) return fv_err("%s: out of memory", st->path);
    memset(st->maps + st->nshards, 0, (size_t)n * sizeof *m);
    memset(st->headers + st->nshards, 0, (size_t)n * sizeof *h);
    return 0;
}

static int open_shard(fv_safetensors *st, const char *file) {
    FV_TRY(add_shards(st, 1));
    int s = st->nshards++;
    FV_TRY(fv_map_open(&st->maps[s], file));
    return parse_shard(st, s);
}

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int open_index(fv_safetensors *st, const char *index) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", index);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    char *text;
    size_t len;
    FV_TRY(fv_read_file(index, &text, &len));
    cJSON *root;
    int rc = fv_json_parse_object(&root, text, len, index);
    free(text);
    FV_TRY(rc);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    rc = -1;
    if (!wm) fv_err("%s: missing key 'weight_map'", index);
    else if (!cJSON_IsObject(wm)) fv_err("%s: key 'weight_map' is not an object", index);
    else if (!wm->child) fv_err("%s: 'weight_map' is empty", index);
    else rc = 0;
    /* Open each distinct shard once, in order of first mention. */
    for (const cJSON *e = rc ? NULL : wm->child; e; e = e->next) {
        if (!cJSON_IsString(e)) {
            rc = fv_err("%s: weight_map entry '%s' is not a string", index, e->string);
            break;
        }
        const char *f = e->valuestring;
        if (!f[0] || f[0] == '/' || strstr(f, "..")) {
            rc = fv_err("%s: weight_map entry '%s' names an invalid shard file '%s'", index, e->string, f);
            break;
        }
        int seen = 0;
        for (const cJSON *p = wm->child; p != e && !seen; p = p->next) seen = strcmp(p->valuestring, f) == 0;
        if (seen) continue;
        char path[1024];
        if ((rc = fv_path_join(path, sizeof path, dir, f))) break;
        if (!fv_file_exists(path)) {
            rc = fv_err("%s: shard '%s' (holding tensor '%s') is missing", index, path, e->string);
            break;
        }
        if ((rc = open_shard(st, path))) break;
    }
    /* Every listed tensor must be in the named shard. */
    if (!rc) rc = sort_and_check(st);
    if (!rc) {
        for (const cJSON *e = wm->child; e; e = e->next) {
            const fv_st_tensor *t = fv_st_find(st, e->string);
            const char *want = e->valuestring;
            char wpath[1024];
            if ((rc = fv_path_join(wpath, sizeof wpath, dir, want))) break;
            if (!t || strcmp(st->maps[t->shard].path, wpath) != 0) {
                rc = fv_err("%s: tensor '%s' is listed in shard '%s' but absent from it", index, e->string, want);
                break;
            }
        }
    }
    cJSON_Delete(root);
    return rc;
}

int fv_st_open(fv_safetensors **out, const char *path) {
    *out = NULL;
    fv_safetensors *st = calloc(1, sizeof *st);
    if (!st) return fv_err("%s: out of memory", path);
    int rc;
    char p[1024];
    if (is_dir(path)) {
        rc = fv_path_join(p, sizeof p, path, "model.safetensors");
        if (!rc && !fv_file_exists(p)) {
            rc = fv_path_join(p, sizeof p, path, "model.safetensors.index.json");
            if (!rc && !fv_file_exists(p))
                rc = fv_err("%s: no model.safetensors or model.safetensors.index.json in this directory", path);
        }
    } else {
        rc = snprintf(p, sizeof p, "%s", path) >= (int)sizeof p ? fv_err("%s: path too long", path) : 0;
    }
    if (!rc) {
        snprintf(st->path, sizeof st->path, "%s", p);
        rc = ends_with(p, ".json") ? open_index(st, p) : open_shard(st, p);
    }
    if (!rc) rc = sort_and_check(st);
    if (rc) {
        fv_st_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void fv_st_close(fv_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->nshards; i++) {
        fv_map_close(&st->maps[i]);
        cJSON_Delete(st->headers[i]);
    }
    free(st->maps);
    free(st->headers);
    free(st->t);
    free(st);
}

const char *fv_st_path(const fv_safetensors *st) { return st->path; }
size_t fv_st_count(const fv_safetensors *st) { return st->n; }
const fv_st_tensor *fv_st_at(const fv_safetensors *st, size_t i) { return i < st->n ? &st->t[i] : NULL; }
const char *fv_st_file(const fv_safetensors *st, const fv_st_tensor *t) { return st->maps[t->shard].path; }

const fv_st_tensor *fv_st_find(const fv_safetensors *st, const char *name) {
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->t[mid].name, name);
        if (c == 0) return &st->t[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *fv_st_meta(const fv_safetensors *st, const char *key) {
    const cJSON *v = st->meta ? cJSON_GetObjectItemCaseSensitive(st->meta, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int fv_st_check_shape(const fv_safetensors *st, const fv_st_tensor *t, int ndim, const int64_t *shape) {
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (same) return 0;
    char a[160], b[160];
    return fv_err("%s: tensor '%s' has shape %s, expected %s", fv_st_file(st, t), t->name,
                  fv_st_shape_str(a, sizeof a, t->ndim, t->shape), fv_st_shape_str(b, sizeof b, ndim, shape));
}

/* Convert in blocks through an aligned bounce buffer: the mapped data is not aligned in general. */
#define BLOCK 4096

int fv_st_tensor_f32(const fv_safetensors *st, const fv_st_tensor *t, float *dst) {
    if (t->dtype == FV_DT_F32) {
        memcpy(dst, t->data, t->nbytes);
        return 0;
    }
    if (t->dtype != FV_DT_F16 && t->dtype != FV_DT_BF16)
        return fv_err("%s: tensor '%s': unsupported dtype %s (F32, F16 or BF16 expected)", fv_st_file(st, t), t->name,
                      fv_dtype_name(t->dtype));
    uint16_t tmp[BLOCK];
    for (uint64_t i = 0; i < t->numel; i += BLOCK) {
        size_t k = t->numel - i < BLOCK ? (size_t)(t->numel - i) : BLOCK;
        memcpy(tmp, t->data + i * 2, k * 2);
        if (t->dtype == FV_DT_F16) fv_f16_to_f32_n(dst + i, tmp, k);
        else fv_bf16_to_f32_n(dst + i, tmp, k);
    }
    return 0;
}

int fv_st_tensor_f16(const fv_safetensors *st, const fv_st_tensor *t, uint16_t *dst) {
    if (t->dtype == FV_DT_F16) {
        memcpy(dst, t->data, t->nbytes);
        return 0;
    }
    if (t->dtype != FV_DT_F32 && t->dtype != FV_DT_BF16)
        return fv_err("%s: tensor '%s': unsupported dtype %s (F32, F16 or BF16 expected)", fv_st_file(st, t), t->name,
                      fv_dtype_name(t->dtype));
    float tmp[BLOCK];
    uint16_t b[BLOCK];
    for (uint64_t i = 0; i < t->numel; i += BLOCK) {
        size_t k = t->numel - i < BLOCK ? (size_t)(t->numel - i) : BLOCK;
        if (t->dtype == FV_DT_F32) memcpy(tmp, t->data + i * 4, k * 4);
        else {
            memcpy(b, t->data + i * 2, k * 2);
            fv_bf16_to_f32_n(tmp, b, k);
        }
        fv_f32_to_f16_n(dst + i, tmp, k);
    }
    return 0;
}

static const fv_st_tensor *find_checked(const fv_safetensors *st, const char *name, int ndim, const int64_t *shape) {
    const fv_st_tensor *t = fv_st_find(st, name);
    if (!t) {
        fv_err("%s: tensor '%s' not found", st->path, name);
        return NULL;
    }
    if (ndim >= 0 && fv_st_check_shape(st, t, ndim, shape)) return NULL;
    return t;
}

int fv_st_read_f32(const fv_safetensors *st, const char *name, float *dst, int ndim, const int64_t *shape) {
    const fv_st_tensor *t = find_checked(st, name, ndim, shape);
    return t ? fv_st_tensor_f32(st, t, dst) : -1;
}

int fv_st_read_f16(const fv_safetensors *st, const char *name, uint16_t *dst, int ndim, const int64_t *shape) {
    const fv_st_tensor *t = find_checked(st, name, ndim, shape);
    return t ? fv_st_tensor_f16(st, t, dst) : -1;
}
