/* The server's insides (include/flanvk/serve.h is the public face): the jobs the HTTP threads hand
 * to the scheduler, the queue, and the state both sides share under one lock.
 *
 * Threads: libmicrohttpd runs a thread per connection; each parses its request, queues a job and
 * waits for it (or streams it); one scheduler thread owns the device: it admits queued sequences
 * into free decode slots (encoding them together), runs one decode step for all busy slots, samples
 * each row on the host with its own settings, and wakes the waiting connections. Scoring and beam
 * search run on the scheduler thread too, between two steps, through the model's batched
 * fv_t5_score / fv_t5_generate (slots hold one sequence each, beams would need several). */
#ifndef FV_SERVE_SERVE_H
#define FV_SERVE_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "flanvk/serve.h"
#include "flanvk/tokenizer.h"
#include "model/t5.h"
#include "model/t5_generate.h"
#include "serve/metrics.h"

enum fv_job_kind { FV_JOB_DECODE, FV_JOB_BEAMS, FV_JOB_SCORE };
enum fv_finish { FV_FIN_NONE, FV_FIN_STOP, FV_FIN_LENGTH };

typedef struct fv_job fv_job;

/* One sequence: a prompt and its generated ids. */
typedef struct fv_seq {
    fv_job *job;
    uint32_t *prompt, plen;
    fv_gen_opts o;          /* max_new_tokens and the sampling settings of this sequence */
    fv_rng rng;
    uint32_t *out, n;       /* generated ids (room for o.max_new_tokens); written under the lock */
    int ignore_eos;         /* keep going after </s> (benchmarks: fixed-length answers) */
    int slot;               /* -1: not admitted */
    int running, done;
    enum fv_finish finish;
    long stop_at;           /* a stop string matched: the text is cut at this byte; -1 none */
} fv_seq;

struct fv_job {
    enum fv_job_kind kind;
    uint32_t nseq;
    fv_seq *seq;
    char **stop;            /* stop strings (completions) */
    uint32_t nstop;
    uint32_t admitted;      /* sequences given a slot so far */
    uint32_t finished;      /* sequences done */
    /* scoring: n (input, target) pairs */
    uint32_t nscore, **in_ids, *in_lens, **tgt_ids, *tgt_lens;
    double *logprob;
    int score_shared;       /* one input, several targets: scored as eval's rank classification */
    int cancelled, done, failed, status;
    char err[256];
    double t_arrive, t_first; /* seconds (monotonic); t_first 0 until the first token */
    uint64_t prompt_tokens;
    int refs;               /* the connection and the scheduler */
    uint32_t in_slots;      /* sequences holding a decode slot: the scheduler keeps its reference
                             * until the job is done and this is 0 */
    int released;           /* the scheduler's reference is dropped */
    fv_job *next;           /* queue link */
};

typedef struct fv_server fv_server;
struct fv_server {
    fv_t5 *m;
    const flanvk_tokenizer *tok;
    flanvk_model *model;
    flanvk_serve_opts o;
    char name[128];
    uint32_t Te, tmax, R, vocab;
    uint32_t Rp;             /* prompts one prefill encodes together (within one storage buffer) */
    pthread_mutex_t mu;
    pthread_cond_t work;     /* scheduler: a job arrived or stop */
    pthread_cond_t progress; /* connections: some job advanced */
    fv_job *qhead, *qtail;
    uint32_t queued;         /* jobs in the queue */
    uint32_t active;         /* busy slots */
    int stopping;
    pthread_t sched;
    int sched_started;
    struct MHD_Daemon *http;
    uint16_t port;
    fv_metrics metrics;
    uint64_t next_id;
    struct fv_t5_dec *slots; /* the decode slots (model/t5_slots.h), made before the scheduler starts */
};

double fv_serve_now(void);

/* Scheduler (sched.c). */
int fv_sched_start(fv_server *s);
/* Let the scheduler finish the running sequences, fail the queued ones with 503, and join it. */
void fv_sched_stop(fv_server *s);
/* Queue a job (takes a reference); 503 when the queue is full or the server stops. Locked inside. */
int fv_sched_submit(fv_server *s, fv_job *j);
/* Drop a reference (locked by the caller); the last one frees the job. */
void fv_job_unref(fv_job *j);
fv_job *fv_job_new(enum fv_job_kind kind, uint32_t nseq);

/* HTTP (http.c). */
int fv_http_start(fv_server *s);
void fv_http_quiesce(fv_server *s);
void fv_http_stop(fv_server *s);

#endif
