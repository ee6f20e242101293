/* Model conversion (`flanvk convert`): a T5 checkpoint directory rewritten with its weights in
 * another storage type (io/wfile.h decides which tensor gets which type and defines the q8
 * format). Host only. The output directory is built under "<OUT>.tmp.<pid>" and renamed to OUT at
 * the end, so OUT never exists half-written; an existing non-empty OUT is refused. Memory: one
 * tensor at a time (about 2.5 x the largest tensor in fp32), never the whole model. */
#ifndef FV_IO_CONVERT_H
#define FV_IO_CONVERT_H

#include <stdint.h>

#include "io/wpack.h"

/* Relative error ||W - W'|| / ||W|| (Frobenius, in double) of the matrices stored in one type,
 * W as read from the source (fp32), W' what the kernels will read from the output. */
typedef struct {
    uint32_t tensors;
    double sum_rel_err, worst_rel_err;
    char worst_tensor[112];
} fv_convert_type_stats;

typedef struct {
    fv_convert_type_stats by_type[4]; /* indexed by enum fv_wtype */
    uint32_t tensors;                 /* entries written (a q8 matrix's scales are one of them) */
    uint64_t bytes_out;               /* of model.safetensors's tensor data */
} fv_convert_stats;

/* progress(done, total, user): bytes of tensor data written so far; may be NULL. */
int fv_convert(const char *model_dir, const char *out_dir, enum fv_wtype type,
               void (*progress)(uint64_t done, uint64_t total, void *user), void *user, fv_convert_stats *stats);

/* A change to some matrices on their way through (`flanvk merge` adds a LoRA delta): for every 2-D
 * source tensor for which wants(user, name) is 1, the matrix is read as fp32 (whatever its stored
 * dtype), adjust(user, name, w, N, K) modifies w [N, K] in place, and the result is stored in the
 * output type as any fp32 source would be; the relative errors are then against the adjusted w. */
typedef struct {
    int (*wants)(void *user, const char *name);
    int (*adjust)(void *user, const char *name, float *w, uint32_t N, uint32_t K);
    void *user;
} fv_convert_hook;

/* fv_convert with a hook (NULL: none) and a label for messages ("convert", "merge"). */
int fv_convert_with(const char *model_dir, const char *out_dir, enum fv_wtype type, const fv_convert_hook *hook,
                    const char *label, void (*progress)(uint64_t done, uint64_t total, void *user), void *user,
                    fv_convert_stats *stats);

#endif
