/* The communicator of data-parallel training: which process of the job this is, and the few
 * collectives the trainer needs (sums of float/double buffers, broadcast, "is this value the same
 * everywhere", a global OR, agreeing on a failure). One per process, as MPI is.
 *
 * Two implementations behind the same functions: MPI (Open MPI from Debian) when flanvk was built
 * with it (FLANVK_HAVE_MPI) and the process was started by mpirun with more than one rank; the
 * one-process communicator otherwise. The latter is the real path of every single-device run, not
 * a placeholder: its sums are the identity, its checks compare a value with itself, its failures are the
 * process's own. A job of one rank under mpirun also takes it (no MPI call per step).
 *
 * Failures. A collective only completes when every rank enters it, so a rank that fails alone must
 * not leave the others waiting: failures every rank can see (settings that differ, a checkpoint of
 * another model) are agreed with fv_dist_agree, after which every rank returns the error and rank 0
 * alone prints it; a failure one rank meets mid-step (device lost, out of memory) is printed by
 * that rank and ends the whole job with MPI_Abort (fv_dist_end). A rank that dies outright is
 * Open MPI's to notice: mpirun then kills the other ranks (tests/e2e/mpi.sh checks both). */
#ifndef FV_DIST_COMM_H
#define FV_DIST_COMM_H

#include <stddef.h>
#include <stdint.h>

typedef struct fv_dist {
    int rank, size;             /* in the job (0 and 1 alone) */
    int local_rank, local_size; /* among the ranks of this machine (MPI_COMM_TYPE_SHARED) */
    int mpi;                    /* collectives go through MPI (size > 1) */
    int agreed_failure;         /* the last failure was agreed by all ranks (fv_dist_agree) */
    /* all-reduce bookkeeping since the last fv_dist_reset_timers (train/bench figures) */
    double reduce_s;            /* wall time of the all-reduce: from its first bucket's start until the
                                 * summed gradients are back on the device */
    double wait_s;              /* of which blocked waiting for MPI */
    double exposed_s;           /* of which after the step graph had finished: what the all-reduce adds
                                 * to the step (all of reduce_s unless overlapped, dist/overlap.h) */
    uint64_t reduce_bytes;      /* bytes summed (per rank) */
} fv_dist;

/* Join the job: MPI_Init when built with MPI and started by mpirun (its environment says so),
 * else the one-process communicator. Idempotent. */
int fv_dist_init(void);
/* The process's communicator (the one-process one before or without fv_dist_init). */
fv_dist *fv_dist_get(void);
/* Leave the job. rc != 0 on a failure the other ranks do not share (not agreed): print nothing more,
 * end every rank now (MPI_Abort), do not return. Otherwise MPI_Finalize. Nothing alone. */
void fv_dist_end(int rc);
/* "built with Open MPI x.y" or why not, for `train --help` and `devices`. */
const char *fv_dist_build_info(void);

/* In-place sums over all ranks. */
int fv_dist_sum_f64(double *x, size_t n);
int fv_dist_sum_f32(float *x, size_t n);
/* Non-blocking in-place sum in one of the slots (FV_DIST_SLOTS, or as many as fv_dist_slots made);
 * fv_dist_wait completes it (and adds the time blocked to wait_s). fv_dist_progress lets MPI
 * advance the sums in flight without blocking: Open MPI moves a non-blocking collective on only
 * inside MPI calls, so a host that waits for something else calls it now and then. */
#define FV_DIST_SLOTS 2
int fv_dist_slots(size_t n);
int fv_dist_isum_f32(float *x, size_t n, int slot);
int fv_dist_wait(int slot);
int fv_dist_progress(void);
/* Global OR of flag (the non-finite-step skip). */
int fv_dist_any(int flag, int *out);
/* Whether v is the same on every rank (settings hash, checksum). */
int fv_dist_same_u64(uint64_t v, int *same);
int fv_dist_bcast(void *buf, size_t bytes, int root);

/* Agree on a failure that every rank reaches this call with: returns 0 if rc is 0 on every rank;
 * else non-zero everywhere, the message of the lowest failing rank (prefixed "rank R: " when R is
 * not 0) on every rank, and agreed_failure set so that only rank 0 prints it. */
int fv_dist_agree(int rc);
/* Whether this process should print the error of a failed call: rank 0, or a failure of its own. */
int fv_dist_reports_error(void);

/* The device of this rank: `requested` >= 0 (--device), else FLANVK_DEVICE, else, in a job of
 * several ranks, the node-local rank modulo the devices of the preferred kind; -1 alone without
 * either (the default device). */
int fv_dist_pick_device(int requested, int *device);

void fv_dist_reset_timers(void);

#endif
