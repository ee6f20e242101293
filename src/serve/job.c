/* A job's life outside the scheduler: making one (the request side, src/serve/request.c) and
 * dropping references to it. Kept apart from sched.c so the request validation links without the
 * device (the fuzz harness tests/fuzz/fuzz_serve_request.c). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdlib.h>
#include <time.h>

#include "serve/serve.h"

double fv_serve_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

fv_job *fv_job_new(enum fv_job_kind kind, uint32_t nseq) {
    fv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->kind = kind;
    j->nseq = nseq;
    j->seq = calloc(nseq ? nseq : 1, sizeof *j->seq);
    if (!j->seq) {
        free(j);
        return NULL;
    }
    for (uint32_t i = 0; i < nseq; i++) {
        j->seq[i].job = j;
        j->seq[i].slot = -1;
        j->seq[i].stop_at = -1;
    }
    j->refs = 1;
    j->t_arrive = fv_serve_now();
    return j;
}

void fv_job_unref(fv_job *j) {
    if (!j || --j->refs > 0) return;
    for (uint32_t i = 0; i < j->nseq; i++) {
        free(j->seq[i].prompt);
        free(j->seq[i].out);
    }
    for (uint32_t i = 0; i < j->nstop; i++) free(j->stop[i]);
    for (uint32_t i = 0; i < j->nscore; i++) {
        free(j->in_ids[i]);
        free(j->tgt_ids[i]);
    }
    free(j->stop);
    free(j->in_ids);
    free(j->in_lens);
    free(j->tgt_ids);
    free(j->tgt_lens);
    free(j->logprob);
    free(j->seq);
    free(j);
}
