/* The op-check harness: each op's shader compared with its plain-C reference on random, odd-sized
 * inputs, and each reference backward compared with finite differences of the reference forward.
 * The checks live in the library (not only in tests/) so that `flanvk test-ops` runs exactly what
 * ctest runs, on the user's own device.
 *
 * A check file src/check/op_NAME.c defines `int fv_check_op_NAME(fv_check *c)`; the build
 * registers every such file (cmake/checks.cmake), so adding an op's check touches no shared file.
 *
 * Error measure, used everywhere: rel_err = max_i |got_i - ref_i| / max(max_i |ref_i|, 1e-30);
 * a NaN or infinity in `got` makes it infinite. Output buffers start filled with NaN, so an
 * element the shader forgot to write fails. Every comparison prints one line:
 *   "rmsnorm fwd 1000x512: max rel err 3.1e-07 (tol 1e-05) OK" */
#ifndef FV_CHECK_CHECK_H
#define FV_CHECK_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/rng.h"
#include "vk/device.h"
#include "vk/graph.h"
#include "vk/memory.h"

/* The results of op checks, kept for reports (flanvk_op_results). */
typedef struct {
    flanvk_op_result *r;
    size_t n, cap;
} fv_check_log;
void fv_check_log_free(fv_check_log *log);

typedef struct fv_check {
    fv_dev *d;
    fv_check_log *log;  /* where every result is also kept (NULL: nowhere) */
    const char *name;   /* the check running now */
    fv_graph *g;
    fv_rng rng;
    FILE *out;          /* where result lines go (NULL: silent) */
    int passed, failed;
    int quick;          /* smaller shapes (FLANVK_CHECK_QUICK=1) */
    fv_buf **bufs;      /* device buffers made by this check, freed by fv_check_release */
    void **mem;         /* host arrays made by this check */
    size_t nbufs, nmem, capbufs, capmem;
} fv_check;

typedef struct {
    const char *name;
    int (*fn)(fv_check *c);
} fv_check_entry;

extern const fv_check_entry fv_check_registry[]; /* generated; ends with {0} */

/* Host arrays owned by the check (freed by fv_check_release). */
float *fv_check_alloc(fv_check *c, size_t n);
float *fv_check_rand(fv_check *c, size_t n, float lo, float hi);
float *fv_check_copy(fv_check *c, const float *src, size_t n);
uint32_t *fv_check_alloc_u32(fv_check *c, size_t n);

/* Device buffers owned by the check: one with these n floats, or n NaNs when data is NULL. */
fv_buf *fv_check_upload(fv_check *c, const float *data, size_t n);
fv_buf *fv_check_upload_u32(fv_check *c, const uint32_t *data, size_t n);
/* Read n floats back into a new host array (NULL on failure, with the error recorded). */
float *fv_check_download(fv_check *c, fv_buf *b, size_t n);

/* fp16 data (an fp16 KV cache): a buffer of n halves (with data: its values rounded to fp16 by
 * ref/cast.h; NULL: NaNs), writing n rounded values at element 0, reading n halves back as
 * their float values. */
fv_buf *fv_check_upload_f16(fv_check *c, const float *data, size_t n);
int fv_check_write_f16(fv_check *c, fv_buf *b, const float *x, size_t n);
float *fv_check_download_f16(fv_check *c, fv_buf *b, size_t n);

/* Record nothing else: begin + callback records + end + run, reporting Vulkan/op errors. */
int fv_check_begin(fv_check *c);
int fv_check_run(fv_check *c);

double fv_rel_err(const float *got, const float *ref, size_t n);
/* Compare and print one line; returns 0 if within tol, counts pass/fail. */
int fv_check_compare(fv_check *c, const char *what, const char *shape, const float *got, const float *ref, size_t n,
                     double tol);
/* Report a failure that is not a comparison (an op returned an error). */
int fv_check_fail(fv_check *c, const char *what, const char *shape, const char *why);
/* Report a passing non-numeric check (e.g. "bad input rejected"). */
void fv_check_pass(fv_check *c, const char *what, const char *shape, const char *detail);
/* The bad-input verdict: every rcs[i] of n recorded calls must be an error. Fails naming the
 * first call that was accepted, else passes with `rejected` (what the calls were) as the detail. */
int fv_check_rejected(fv_check *c, const char *what, const int *rcs, int n, const char *rejected);

/* Finite differences: loss(ctx, x) is a scalar function of x (n floats); grad is its analytic
 * gradient. Checks up to `samples` random coordinates with central differences of step h. */
typedef double (*fv_loss_fn)(void *ctx, const float *x);
int fv_check_fd(fv_check *c, const char *what, const char *shape, fv_loss_fn loss, void *ctx, float *x, size_t n,
                const float *grad, int samples, double h, double tol);

/* Free everything the check allocated so far. */
void fv_check_release(fv_check *c);

/* Run the registered check named `filter` (NULL or "": all); results are also appended to log
 * (NULL: not kept). */
int fv_check_run_all(fv_dev *d, const char *filter, FILE *out, fv_check_log *log, int *passed, int *failed);

#endif
