/* flanvk multi-process training: `mpirun -np N flanvk train ...` runs N ranks of data-parallel
 * training over MPI (Open MPI), one device each. A program joins the job before opening its
 * context (the rank decides the device) and leaves it at the end. Without MPI at build time, or
 * when not started by mpirun, these describe a job of one process and cost nothing. */
#ifndef FLANVK_DIST_H
#define FLANVK_DIST_H

#include "flanvk/flanvk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Join the job (MPI_Init under mpirun); idempotent. 0 on success. */
int flanvk_dist_init(void);
int flanvk_dist_rank(void);
int flanvk_dist_size(void);
int flanvk_dist_local_rank(void); /* among the ranks on this machine */
/* The device index for this rank, for flanvk_open: `requested` >= 0 as given (--device); else -1
 * (the default: FLANVK_DEVICE, else the preferred device) alone or with FLANVK_DEVICE set; else
 * the node-local rank modulo the number of devices of the preferred kind. */
int flanvk_dist_device(int requested, int *device);
/* After a call failed: whether this process should print flanvk_last_error() (one message per
 * job for failures every rank saw: rank 0 prints it). */
int flanvk_dist_reports_error(void);
/* Leave the job. A failure (rc != 0) the other ranks have not seen ends every rank now
 * (MPI_Abort, does not return); otherwise MPI_Finalize. */
void flanvk_dist_end(int rc);
/* One line: the MPI flanvk was built with and how to run it, or how to get it. */
const char *flanvk_dist_info(void);

#ifdef __cplusplus
}
#endif

#endif
