/* Sum float tensors on the device across all ranks of the job: the gradient all-reduce of
 * data-parallel training. The caller gives the tensors to reduce as a list of spans (the
 * trainable gradients: every gradient buffer of a full finetune, only the adapters' with LoRA).
 *
 * Path: device -> host staging -> MPI_Iallreduce -> device, in buckets of FLANVK_DIST_BUCKET_MB
 * (default 4) MiB packed from consecutive spans. Two staging buckets alternate, so the copy of
 * bucket k+1 off the device (and the copy of bucket k-1 back) runs while bucket k is on the
 * network. This path starts after the step graph has finished; dist/overlap.h starts each
 * bucket as soon as the backward has finished writing it (the default under mpirun;
 * FLANVK_DIST_OVERLAP=0 selects this one). With one rank nothing is copied. */
#ifndef FV_DIST_REDUCE_H
#define FV_DIST_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "vk/memory.h"

typedef struct fv_dist_span {
    fv_buf *buf;
    uint64_t off, count; /* floats */
} fv_dist_span;

/* Floats per bucket: FLANVK_DIST_BUCKET_MB (default 4) MiB, at least 1024. */
uint64_t fv_dist_bucket_floats(void);

/* Sum the spans over all ranks in place. Times and bytes go to fv_dist_get()'s counters. */
int fv_dist_reduce_bufs(fv_dev *d, const fv_dist_span *spans, size_t n);

/* FNV-1a of the bytes of the spans (reads them back): the debug comparison of parameters across
 * ranks. */
int fv_dist_checksum(fv_dev *d, const fv_dist_span *spans, size_t n, uint64_t *out);

#endif
