/* safetensors checkpoints (https://github.com/huggingface/safetensors, format section of README):
 * u64 little-endian header length N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets}} plus
 * an optional "__metadata__" object of strings, then the raw little-endian tensor bytes.
 *
 * fv_st_open maps each file once and validates the whole header up front (bounds, overlaps, sizes,
 * duplicates), so later reads cannot fail on bad offsets. A model directory is opened transparently:
 * model.safetensors, or model.safetensors.index.json with several shards; the caller sees one
 * namespace of tensors sorted by name. Every error is one line naming the file and tensor/key. */
#ifndef FV_IO_SAFETENSORS_H
#define FV_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

/* F32 = 0 so zero-initialised writer entries default to float32. */
typedef enum {
    FV_DT_F32 = 0, FV_DT_F16, FV_DT_BF16, FV_DT_F64,
    FV_DT_I64, FV_DT_I32, FV_DT_I16, FV_DT_I8,
    FV_DT_U64, FV_DT_U32, FV_DT_U16, FV_DT_U8,
    FV_DT_BOOL, FV_DT_F8_E4M3, FV_DT_F8_E5M2,
    FV_DT_COUNT
} fv_dtype;

const char *fv_dtype_name(fv_dtype d); /* the safetensors spelling: "F32", "BF16", ... */
size_t fv_dtype_size(fv_dtype d);
int fv_dtype_parse(const char *s, fv_dtype *out); /* 0 if known */
/* 1 for the dtypes this reader converts to float32/float16: F32, F16, BF16. */
int fv_dtype_convertible(fv_dtype d);

#define FV_ST_MAX_DIMS 8

typedef struct {
    const char *name;
    fv_dtype dtype;
    int ndim;
    int64_t shape[FV_ST_MAX_DIMS];
    uint64_t numel;
    uint64_t nbytes;
    const unsigned char *data; /* inside the mapping; not aligned in general */
    int shard;                 /* index of the file holding it */
} fv_st_tensor;

typedef struct fv_safetensors fv_safetensors;

/* path: a .safetensors file, a model.safetensors.index.json, or a directory holding either. */
int fv_st_open(fv_safetensors **out, const char *path);
void fv_st_close(fv_safetensors *st);

const char *fv_st_path(const fv_safetensors *st); /* the opened file or index */
size_t fv_st_count(const fv_safetensors *st);
const fv_st_tensor *fv_st_at(const fv_safetensors *st, size_t i); /* sorted by name */
const fv_st_tensor *fv_st_find(const fv_safetensors *st, const char *name);
const char *fv_st_file(const fv_safetensors *st, const fv_st_tensor *t); /* file holding t */
/* A string from "__metadata__" (of the first shard), or NULL. */
const char *fv_st_meta(const fv_safetensors *st, const char *key);

/* Format a shape as "[a, b]" into buf. */
const char *fv_st_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);

/* Check t's shape equals [shape[0..ndim)]; error "FILE: tensor 'X' has shape [..], expected [..]". */
int fv_st_check_shape(const fv_safetensors *st, const fv_st_tensor *t, int ndim, const int64_t *shape);

/* Copy tensor `name` converted to float32 (or to fp16 bits) into dst, which holds numel elements.
 * If ndim >= 0 the shape must equal shape[0..ndim); ndim < 0 skips the check. F32, F16 and BF16
 * are converted; other dtypes are an "unsupported dtype" error naming the tensor. */
int fv_st_read_f32(const fv_safetensors *st, const char *name, float *dst, int ndim, const int64_t *shape);
int fv_st_read_f16(const fv_safetensors *st, const char *name, uint16_t *dst, int ndim, const int64_t *shape);
/* Same on an already-found tensor, without a shape check. */
int fv_st_tensor_f32(const fv_safetensors *st, const fv_st_tensor *t, float *dst);
int fv_st_tensor_f16(const fv_safetensors *st, const fv_st_tensor *t, uint16_t *dst);

/* Writer. data holds numel elements of src_dtype; the file stores dtype: F32, F16 and BF16 convert
 * into each other (float32 sources rounded to nearest even), and any dtype (I8 included) is
 * written as it is when src_dtype == dtype. */
typedef struct {
    const char *name;
    int ndim;
    const int64_t *shape;
    const void *data;
    fv_dtype src_dtype;
    fv_dtype dtype;
} fv_st_out;

/* Write n tensors atomically (temp file + rename). "__metadata__" gets {"format": "pt"} plus the
 * optional NULL-terminated key, value, key, value, ... list meta_kv. Offsets are contiguous, data
 * laid out widest dtype first so every tensor is aligned to its element size, header padded with
 * spaces to a multiple of 8, as the safetensors library writes it. */
int fv_st_write(const char *path, const fv_st_out *t, size_t n, const char *const *meta_kv);

/* Streaming writer, for files larger than memory (model conversion): the header comes from the
 * names, shapes and dtypes alone; then produce(user, i, sink) is called once per tensor i, in the
 * order of the data (widest dtype first, as fv_st_write), and passes exactly that tensor's
 * numel * size bytes to fv_st_sink_write in as many pieces as it likes. A non-zero return from
 * produce (its message set) or a byte count that differs aborts the write; the file appears only
 * complete (temp file + rename, as fv_st_write). */
typedef struct {
    const char *name;
    int ndim;
    const int64_t *shape;
    fv_dtype dtype;
} fv_st_entry;
typedef struct fv_st_sink fv_st_sink;
typedef int (*fv_st_produce_fn)(void *user, size_t i, fv_st_sink *sink);
int fv_st_sink_write(fv_st_sink *s, const void *p, size_t n);
int fv_st_write_stream(const char *path, const fv_st_entry *t, size_t n, const char *const *meta_kv,
                       fv_st_produce_fn produce, void *user);

#endif
