/* The trainer's side of data-parallel training (src/dist does the communication): which tensors
 * are reduced, the start-of-run checks that every rank runs the same job, and the debug
 * comparison of parameters across ranks. Kept out of trainer.c so the loop reads as the one-device
 * loop plus a few calls.
 *
 * Rows: rank r of N, per-rank batch b split into micro-batches of B rows, takes of global
 * micro-batch a (a = 0..accum-1, each of N*b rows) the rows [r*b, (r+1)*b): so N ranks x batch b
 * see exactly the rows, in the same order, that one rank with batch N*b sees (fv_dp_row). */
#ifndef FV_TRAIN_DATA_PARALLEL_H
#define FV_TRAIN_DATA_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#include "dist/comm.h"
#include "dist/overlap.h"
#include "dist/reduce.h"
#include "model/t5.h"
#include "train/train_data.h"
#include "train/trainer.h"

typedef struct fv_dp {
    fv_dist *c;                  /* the process's communicator */
    fv_dist_span *grads;         /* the trainable gradients, reduced every step */
    size_t ngrads;
    fv_dist_span *params;        /* the trainable parameters (FLANVK_DIST_CHECK compares them) */
    size_t nparams;
    int check;                   /* FLANVK_DIST_CHECK=1: compare parameter checksums after every update */
    uint32_t checked;            /* steps compared */
    int overlap;                 /* overlap the all-reduce with the backward (FLANVK_DIST_OVERLAP, default 1) */
    fv_dist_overlap *ov;         /* its plan, on the last micro-batch's graph (fv_dp_overlap) */
    fv_graph *ov_graph;          /* that graph */
} fv_dp;

/* Spans over the trainable tensors: parallel lists of gradients and parameters (a full finetune
 * passes every parameter; LoRA passes its adapters). Row-split tables count piece by piece. */
int fv_dp_create(fv_dp *dp, const fv_t5_param *params, const fv_t5_param *grads, size_t n);
void fv_dp_free(fv_dp *dp);

/* Collective, at the start: every rank must have the same settings (flags, model shape, data
 * file: rows and a sample of their contents) and, when the data is smaller than the global
 * batch, at least one row; with FLANVK_DIST_CHECK also the same starting weights. The error is
 * the same on every rank. */
int fv_dp_check_start(fv_dp *dp, fv_dev *d, const fv_train_cfg *cfg, const fv_t5 *m, const fv_train_data *data);

/* Row of the data that row i of micro-batch k of this rank takes in the step starting at pos
 * (per-rank batch b of micro-batches of B rows); UINT64_MAX for padding (data smaller than
 * the global batch). The step then advances pos by fv_dp_step_rows. */
uint64_t fv_dp_row_of(const fv_dist *c, uint64_t rows, uint32_t b, uint32_t B, uint64_t pos, uint32_t k, uint32_t i,
                      int rank);
uint64_t fv_dp_step_rows(const fv_dist *c, uint32_t B, uint32_t micro_batches);

/* Sum the trainable gradients over the ranks after the step graph (nothing alone). */
int fv_dp_reduce(fv_dp *dp, fv_dev *d);
/* Several ranks with overlap on: plan the all-reduce overlapped with the backward of g, the
 * recorded graph of a step's last micro-batch (dist/overlap.h). Nothing otherwise. */
int fv_dp_overlap(fv_dp *dp, fv_dev *d, fv_graph *g);
/* Run the last micro-batch's graph g and sum the trainable gradients over the ranks: overlapped
 * when fv_dp_overlap planned it for g, else after the graph; alone, only run g. */
int fv_dp_run_last(fv_dp *dp, fv_dev *d, fv_graph *g);
/* FLANVK_DIST_CHECK: parameters identical on every rank after this step's update, else an error
 * (the same on every rank). */
int fv_dp_check_params(fv_dp *dp, fv_dev *d, uint32_t step);

#endif
