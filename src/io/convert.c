/* `flanvk convert` (see convert.h): the tensor list comes from the config (io/t5_tensors.h), each
 * output tensor is produced from the source by the weight reader (io/wfile.h) and streamed into
 * the new model.safetensors one at a time. A q8 matrix is two entries (I8 data, F16 scales) and the
 * writer puts every F16 entry before every I8 one (alignment), so a q8 matrix read from a float
 * source is quantized twice, once per entry: the quantizer is deterministic, and holding the
 * quantized model in memory to save the second pass is what conversion must not do. */
#define _POSIX_C_SOURCE 200809L
#include "io/convert.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file.h"
#include "base/log.h"
#include "io/safetensors.h"
#include "io/t5_config.h"
#include "io/t5_tensors.h"
#include "io/wfile.h"

typedef struct {
    char name[112];  /* output tensor */
    const char *src; /* source tensor */
    int ndim;
    int64_t shape[2]; /* of the output tensor */
    uint32_t N, K;    /* of the matrix read (2-D) */
    enum fv_wtype wt; /* storage type (2-D); f32 for 1-D */
    int scales;       /* the F16 scale companion of a q8 matrix */
} job;

typedef struct {
    const fv_safetensors *st;
    const fv_convert_hook *hook;
    job *jobs;
    fv_convert_stats *stats;
    void (*progress)(uint64_t, uint64_t, void *);
    void *user;
    uint64_t done, total;
} ctx;

static fv_dtype out_dtype(const job *j) {
    if (j->scales) return FV_DT_F16;
    static const fv_dtype d[4] = {FV_DT_F32, FV_DT_F16, FV_DT_BF16, FV_DT_I8};
    return j->ndim == 2 ? d[j->wt] : FV_DT_F32;
}

static uint64_t out_bytes(const job *j) {
    uint64_t n = (uint64_t)j->shape[0] * (uint64_t)(j->ndim == 2 ? j->shape[1] : 1);
    return n * fv_dtype_size(out_dtype(j));
}

/* ||W - W'|| / ||W|| with W' unpacked 64 rows at a time (an even row count keeps the q8 scale
 * array of a chunk word-aligned). W is `truth` when given (a hook's result), else read again. */
static int rel_error(const ctx *c, const job *j, const uint32_t *data, const uint32_t *scales, const float *truth,
                     double *out) {
    uint32_t N = j->N, K = j->K;
    float *w = truth ? NULL : malloc((size_t)N * K * sizeof *w), *u = malloc((size_t)64 * K * sizeof *u);
    int rc = ((!truth && !w) || !u) ? fv_err("%s: tensor '%s': out of memory", fv_st_path(c->st), j->src) : 0;
    if (!rc && !truth) rc = fv_wfile_read_f32(c->st, j->src, w, -1, NULL);
    const float *W = truth ? truth : w;
    double num = 0, den = 0;
    for (uint32_t r0 = 0; !rc && r0 < N; r0 += 64) {
        uint32_t rows = N - r0 < 64 ? N - r0 : 64;
        const uint32_t *sc = scales ? scales + (uint64_t)r0 * fv_q8_blocks(K) / 2 : NULL;
        fv_wunpack(j->wt, data + (uint64_t)r0 * fv_wpack_row_words(j->wt, K), sc, rows, K, u);
        for (uint64_t i = 0; i < (uint64_t)rows * K; i++) {
            double a = W[(uint64_t)r0 * K + i], d = a - u[i];
            num += d * d;
            den += a * a;
        }
    }
    *out = den > 0 ? sqrt(num / den) : (num > 0 ? INFINITY : 0);
    free(w);
    free(u);
    return rc;
}

static void record(ctx *c, const job *j, double e) {
    fv_convert_type_stats *s = &c->stats->by_type[j->wt];
    s->tensors++;
    s->sum_rel_err += e;
    if (s->tensors == 1 || e > s->worst_rel_err) {
        s->worst_rel_err = e;
        snprintf(s->worst_tensor, sizeof s->worst_tensor, "%s", j->src);
    }
    fv_info("convert: %s as %s: relative error %.3e", j->src, fv_wtype_name(j->wt), e);
}

/* The packed words of a matrix the hook changes: read as fp32, adjusted, packed; *truth keeps the
 * adjusted fp32 matrix for the error (the caller frees it). */
static int read_adjusted(const ctx *c, const job *j, uint32_t *data, uint32_t *scales, float **truth) {
    float *w = malloc((size_t)j->N * j->K * sizeof *w);
    *truth = w;
    if (!w) return fv_err("%s: tensor '%s': out of memory", fv_st_path(c->st), j->src);
    FV_TRY(fv_wfile_read_f32(c->st, j->src, w, -1, NULL));
    FV_TRY(c->hook->adjust(c->hook->user, j->src, w, j->N, j->K));
    char what[400];
    snprintf(what, sizeof what, "%s: tensor '%s' (adjusted) as %s", fv_st_path(c->st), j->src, fv_wtype_name(j->wt));
    return fv_wpack(j->wt, w, j->N, j->K, data, scales, what);
}

/* Write `rows` rows of `bytes` bytes from padded rows of `row_words` words. */
static int put_rows(fv_st_sink *sink, const uint32_t *data, uint32_t rows, size_t bytes, uint32_t row_words) {
    for (uint32_t n = 0; n < rows; n++) FV_TRY(fv_st_sink_write(sink, data + (uint64_t)n * row_words, bytes));
    return 0;
}

static int produce(void *user, size_t i, fv_st_sink *sink) {
    ctx *c = user;
    const job *j = &c->jobs[i];
    int rc = 0;
    if (j->ndim == 1) {
        float *v = malloc((size_t)j->shape[0] * sizeof *v);
        rc = v ? fv_wfile_read_f32(c->st, j->src, v, 1, j->shape) : fv_err("out of memory");
        if (!rc) rc = fv_st_sink_write(sink, v, (size_t)j->shape[0] * 4);
        free(v);
    } else {
        uint32_t N = j->N, K = j->K;
        uint64_t dw = fv_wpack_data_words(j->wt, N, K), sw = fv_wpack_scale_words(j->wt, N, K);
        uint32_t *data = malloc(dw * 4), *scales = sw ? malloc(sw * 4) : NULL;
        if (!data || (sw && !scales)) rc = fv_err("%s: tensor '%s': out of memory", fv_st_path(c->st), j->src);
        float *truth = NULL;
        if (!rc && c->hook && c->hook->wants(c->hook->user, j->src)) rc = read_adjusted(c, j, data, scales, &truth);
        else if (!rc) rc = fv_wfile_read(c->st, j->src, j->wt, N, K, data, scales);
        if (!rc && j->scales) rc = fv_st_sink_write(sink, scales, (size_t)N * fv_q8_blocks(K) * 2);
        else if (!rc) rc = put_rows(sink, data, N, (size_t)K * fv_dtype_size(out_dtype(j)), fv_wpack_row_words(j->wt, K));
        /* the error once per matrix: on its scales entry for q8, else on its data */
        double e;
        if (!rc && (j->wt != FV_WT_Q8 || j->scales) && !(rc = rel_error(c, j, data, scales, truth, &e))) record(c, j, e);
        free(truth);
        free(data);
        free(scales);
    }
    if (rc) return rc;
    c->done += out_bytes(j);
    if (c->progress) c->progress(c->done, c->total, c->user);
    return 0;
}

/* The output tensors: every tensor the config needs, shared.weight from whichever embedding copy the
 * source stores, lm_head only when untied; embed_tokens copies and unknown tensors are dropped. */
static int plan(const fv_t5_config *cfg, const fv_safetensors *st, enum fv_wtype type, job **out, size_t *n_out) {
    fv_t5_tensor_spec *s;
    size_t n;
    FV_TRY(fv_t5_tensor_specs(cfg, &s, &n));
    job *jobs = calloc(2 * n + 1, sizeof *jobs);
    if (!jobs) {
        free(s);
        return fv_err("out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].optional) continue;
        job *j = &jobs[k++];
        snprintf(j->name, sizeof j->name, "%s", s[i].name);
        const fv_st_tensor *t = fv_st_find(st, s[i].name);
        if (!t && !strcmp(s[i].name, "shared.weight")) t = fv_st_find(st, fv_t5_embedding_name(st));
        j->src = t->name; /* present: fv_t5_check_tensors passed */
        j->ndim = s[i].ndim;
        j->shape[0] = s[i].shape[0];
        j->shape[1] = s[i].ndim == 2 ? s[i].shape[1] : 1;
        j->N = (uint32_t)j->shape[0];
        j->K = (uint32_t)j->shape[1];
        j->wt = fv_wfile_tensor_type(s[i].name, s[i].ndim, type);
        if (j->wt == FV_WT_Q8) {
            job *q = &jobs[k++];
            *q = *j;
            memcpy(q->name + strlen(q->name), FV_WFILE_SCALES_SUFFIX, sizeof FV_WFILE_SCALES_SUFFIX); /* 95 + 8 <= 112 */
            q->scales = 1;
            q->shape[1] = fv_q8_blocks((uint32_t)j->shape[1]);
        }
    }
    free(s);
    *out = jobs;
    *n_out = k;
    return 0;
}

/* Through the atomic writer: synced before the directory's rename publishes it, and a full disk
 * is reported with the file's name. */
static int copy_file(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb");
    if (!in) return fv_err("%s: cannot open: %s", src, strerror(errno));
    fv_awrite o;
    if (fv_awrite_open(&o, dst)) {
        fclose(in);
        return -1;
    }
    static char buf[1 << 16];
    size_t r;
    int rc = 0;
    while (!rc && (r = fread(buf, 1, sizeof buf, in)) > 0) rc = fv_awrite_put(&o, buf, r);
    if (!rc && ferror(in)) rc = fv_err("%s: read error", src);
    fclose(in);
    if (rc) fv_awrite_abort(&o);
    else rc = fv_awrite_commit(&o);
    return rc;
}

static int copy_side_files(const char *from, const char *to) {
    static const char *files[] = {"config.json", "spiece.model", "tokenizer.json", "tokenizer_config.json",
                                  "special_tokens_map.json", "generation_config.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char a[1024], b[1024];
        if (fv_path_join(a, sizeof a, from, files[i]) || fv_path_join(b, sizeof b, to, files[i]))
            return fv_err("%s: path too long", from);
        if (i > 0 && !fv_file_exists(a)) continue; /* config.json is required, the rest optional */
        FV_TRY(copy_file(a, b));
    }
    return 0;
}

/* 1 if path is a directory with entries, or a file; 0 if absent or an empty directory. */
static int occupied(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
    if (!S_ISDIR(sb.st_mode)) return 1;
    DIR *d = opendir(path);
    if (!d) return 1;
    struct dirent *e;
    int any = 0;
    while (!any && (e = readdir(d))) any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return any;
}

int fv_convert(const char *model_dir, const char *out_dir, enum fv_wtype type,
               void (*progress)(uint64_t done, uint64_t total, void *user), void *user, fv_convert_stats *stats) {
    return fv_convert_with(model_dir, out_dir, type, NULL, "convert", progress, user, stats);
}

int fv_convert_with(const char *model_dir, const char *out_dir, enum fv_wtype type, const fv_convert_hook *hook,
                    const char *label, void (*progress)(uint64_t done, uint64_t total, void *user), void *user,
                    fv_convert_stats *stats) {
    memset(stats, 0, sizeof *stats);
    if ((unsigned)type > FV_WT_Q8) return fv_err("%s: unknown weight type %d", label, (int)type);
    char out[1024], tmp[1100], path[1200];
    if (!out_dir || !out_dir[0] || strlen(out_dir) >= sizeof out) return fv_err("%s: bad output directory", label);
    snprintf(out, sizeof out, "%s", out_dir);
    for (size_t l = strlen(out); l > 1 && out[l - 1] == '/'; l--) out[l - 1] = 0;
    if (occupied(out)) return fv_err("%s: already exists and is not an empty directory (%s does not overwrite)", out, label);
    fv_t5_config cfg;
    FV_TRY(fv_t5_config_load(&cfg, model_dir));
    fv_safetensors *st;
    FV_TRY(fv_st_open(&st, model_dir));
    job *jobs = NULL;
    size_t n = 0;
    int rc = fv_t5_check_tensors(&cfg, st, 0);
    if (!rc) rc = plan(&cfg, st, type, &jobs, &n);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    {   /* the temporary directories of converts killed before their rename: each is a model's size */
        char parent[1024];
        const char *slash = strrchr(out, '/');
        snprintf(parent, sizeof parent, "%.*s", slash ? (slash == out ? 1 : (int)(slash - out)) : 1, slash ? out : ".");
        if (!rc) fv_remove_stale(parent, slash ? slash + 1 : out, ".tmp.");
    }
    int made = 0;
    if (!rc && !(rc = fv_mkdirs(tmp))) made = 1;
    if (!rc) rc = copy_side_files(model_dir, tmp);
    if (!rc) {
        fv_st_entry *e = calloc(n + 1, sizeof *e);
        ctx c = {st, hook, jobs, stats, progress, user, 0, 0};
        for (size_t i = 0; i < n; i++) c.total += out_bytes(&jobs[i]);
        for (size_t i = 0; e && i < n; i++) e[i] = (fv_st_entry){jobs[i].name, jobs[i].ndim, jobs[i].shape, out_dtype(&jobs[i])};
        const char *meta[] = {FV_WFILE_META_WEIGHTS, fv_wtype_name(type), type == FV_WT_Q8 ? FV_WFILE_META_Q8 : NULL,
                              FV_WFILE_Q8_LAYOUT, NULL};
        snprintf(path, sizeof path, "%s/model.safetensors", tmp);
        rc = e ? fv_st_write_stream(path, e, n, meta, produce, &c) : fv_err("out of memory");
        stats->tensors = (uint32_t)n;
        stats->bytes_out = c.total;
        free(e);
    }
    /* rename(2) replaces an empty directory, so an empty OUT is taken over */
    if (!rc && rename(tmp, out) != 0) rc = fv_err("%s: cannot rename %s into place: %s", out, tmp, strerror(errno));
    if (!rc) fv_fsync_parent(out);
    if (rc && made) fv_rmdir_files(tmp);
    free(jobs);
    fv_st_close(st);
    return rc;
}
